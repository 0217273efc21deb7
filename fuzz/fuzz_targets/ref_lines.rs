#![no_main]
//! Fuzz target `ref_lines`: see `pushguard_fuzz::ref_lines` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::ref_lines(data));
