//! The smoke run of the fuzzers inside CI: every stored corpus file (`fuzz/corpus/<target>/`)
//! goes through the same function its fuzz target calls (`fuzz/src/lib.rs`, included here), so
//! an input that once made a parser panic, and was kept, keeps being checked on every build,
//! without nightly Rust or cargo-fuzz. How to run the fuzzers themselves: docs/fuzzing.md.

#[allow(dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

#[test]
fn every_stored_corpus_input_runs_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut total = 0;
    for (name, target) in harness::TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target keeps a corpus)", dir.display()));
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        assert!(!files.is_empty(), "{} is empty", dir.display());
        for file in &files {
            let bytes = std::fs::read(file).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&bytes));
            assert!(
                outcome.is_ok(),
                "fuzz target {name} panics on {}",
                file.display()
            );
            total += 1;
        }
    }
    assert!(total > 0);
}

#[test]
fn the_fixed_trust_store_verifies_the_seed_signatures() {
    // The `signature` target is only as deep as its trust store: the seed signatures made
    // with the fuzz keys must verify, or the fuzzer never reaches the post-verification checks.
    use pushguard_sign::{Signed, Verdict};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/keys");
    let payload = std::fs::read(root.join("payload")).unwrap();
    for seed in ["seed-ed25519.asc", "seed-ssh.sig"] {
        let signature = std::fs::read(root.join(seed)).unwrap();
        let signed = Signed {
            format: pushguard_sign::detect_format(&signature),
            signature,
            payload: payload.clone(),
        };
        let verdict = harness::verify_fixed(&signed);
        assert!(matches!(verdict, Verdict::Good(_)), "{seed}: {verdict:?}");
    }
}
