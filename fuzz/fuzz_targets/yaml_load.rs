#![no_main]
//! Fuzz target `yaml_load`: see `pushguard_fuzz::yaml_load` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::yaml_load(data));
