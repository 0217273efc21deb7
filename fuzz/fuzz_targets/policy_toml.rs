#![no_main]
//! Fuzz target `policy_toml`: see `pushguard_fuzz::policy_toml` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::policy_toml(data));
