#![no_main]
//! Fuzz target `git_object`: see `pushguard_fuzz::git_object` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::git_object(data));
