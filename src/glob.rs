//! The policy's glob dialect, shared with the manifest rules: see the `pushguard-glob` crate.

pub use pushguard_glob::{Glob, GlobError, GlobSet};
