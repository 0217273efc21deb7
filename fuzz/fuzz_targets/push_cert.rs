#![no_main]
//! Fuzz target `push_cert`: see `pushguard_fuzz::push_cert` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::push_cert(data));
