#![no_main]
//! Fuzz target `manifest_judge`: see `pushguard_fuzz::manifest_judge` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::manifest_judge(data));
