#![no_main]
//! Fuzz target `kustomize_render`: see `pushguard_fuzz::kustomize_render` and docs/fuzzing.md.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| pushguard_fuzz::kustomize_render(data));
