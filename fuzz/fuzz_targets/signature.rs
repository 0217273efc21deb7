#![no_main]
//! Fuzz target `signature`: see `pushguard_fuzz::signature` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::signature(data));
