#![no_main]
//! Fuzz target `allowed_signers`: see `pushguard_fuzz::allowed_signers` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::allowed_signers(data));
