//! A small, deterministic mutation fuzzer over the corpus and a few
//! well-formed objects: no input makes a check panic, and whatever is
//! accepted keeps the promises of the returned values.

mod common;

use common::fuzz::{mutate, seeds, Rng};
use pushguard_fsck::{check_commit, check_tag, check_tree};

/// Mutations per test; `PUSHGUARD_FSCK_ROUNDS=1000000` for a longer run.
fn rounds() -> usize {
    std::env::var("PUSHGUARD_FSCK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000)
}

#[test]
fn mutated_commits_never_panic_and_accepted_ones_are_consistent() {
    let mut rng = Rng(0x5eed_c0de_1234_5678);
    let seeds = seeds("commit");
    let mut accepted = 0usize;
    for _ in 0..rounds() {
        let (hash, seed) = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        if let Ok(h) = check_commit(&input, *hash) {
            accepted += 1;
            assert_eq!(h.tree.len(), hash.hex_len());
            assert!(h.parents.iter().all(|p| p.len() == hash.hex_len()));
            assert!(!input.contains(&0));
            assert_eq!(&input[h.message_offset..], h.message);
            assert!(input[..h.message_offset].ends_with(b"\n\n"));
            for id in [&h.author, &h.committer] {
                assert!(!id.email.iter().any(|b| b"<>\n".contains(b)));
                assert!(!id.name.iter().any(|b| b"<>\n".contains(b)));
            }
            for block in h.gpgsig.iter().chain(&h.mergetags) {
                assert!(input[block.span.clone()].ends_with(b"\n"));
                let _ = block.unfold();
            }
        }
    }
    assert!(
        accepted > 0,
        "no mutation was accepted: the fuzzer explores nothing valid"
    );
    eprintln!("accepted {accepted} of {} mutations", rounds());
}

#[test]
fn mutated_tags_never_panic_and_accepted_ones_are_consistent() {
    let mut rng = Rng(0x0ddb_a11c_afef_00d1);
    let seeds = seeds("tag");
    let mut accepted = 0usize;
    for _ in 0..rounds() {
        let (hash, seed) = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        if let Ok(h) = check_tag(&input, *hash) {
            accepted += 1;
            assert_eq!(h.object.len(), hash.hex_len());
            assert!(!h.name.is_empty());
            assert!(!input.contains(&0));
            let end = h.signature_offset.unwrap_or(input.len());
            assert_eq!(&input[h.message_offset..end], h.message);
        }
    }
    assert!(
        accepted > 0,
        "no mutation was accepted: the fuzzer explores nothing valid"
    );
    eprintln!("accepted {accepted} of {} mutations", rounds());
}

#[test]
fn mutated_trees_never_panic_and_accepted_ones_are_consistent() {
    let mut rng = Rng(0x7ee5_eed0_0000_0001);
    let seeds = seeds("tree");
    let mut accepted = 0usize;
    for _ in 0..rounds() {
        let (hash, seed) = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        if let Ok(entries) = check_tree(&input, *hash) {
            accepted += 1;
            for pair in entries.windows(2) {
                assert_ne!(pair[0].name, pair[1].name);
            }
            for e in &entries {
                assert!(!e.name.is_empty());
                assert!(!e.name.iter().any(|&b| b == b'/' || b < 0x20 || b == 0x7f));
                assert_ne!(e.name, b".");
                assert_ne!(e.name, b"..");
                assert!(!e.name.eq_ignore_ascii_case(b".git"));
                assert_eq!(e.oid.len(), hash.raw_len());
                assert!(e.oid.iter().any(|&b| b != 0));
            }
        }
    }
    assert!(
        accepted > 0,
        "no mutation was accepted: the fuzzer explores nothing valid"
    );
    eprintln!("accepted {accepted} of {} mutations", rounds());
}
