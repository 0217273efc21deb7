#![no_main]
//! Fuzz target `openpgp_keys`: see `pushguard_fuzz::openpgp_keys` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::openpgp_keys(data));
