//! Differential test against git: mutate objects until this crate accepts a
//! few hundred of them, write them all into one repository, and check that
//! `git fsck --strict`, with every optional check raised to an error, finds
//! nothing wrong. Whatever git refuses, this crate must have refused.

mod common;

use common::fuzz::{mutate, seeds, Rng};
use common::{elevated_config, Repo, TempDir};
use pushguard_fsck::{check_commit, check_tag, check_tree, HashKind};

/// Accepted objects to collect per kind; `PUSHGUARD_FSCK_DIFF_WANTED`
/// for a longer run.
fn wanted() -> usize {
    std::env::var("PUSHGUARD_FSCK_DIFF_WANTED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150)
}

fn accepted_mutations(kind: &str, seed: u64) -> Vec<Vec<u8>> {
    let wanted = wanted();
    let mut rng = Rng(seed);
    // SHA-1 seeds only: the repository is SHA-1.
    let seeds: Vec<Vec<u8>> = seeds(kind)
        .into_iter()
        .filter(|(hash, _)| *hash == HashKind::Sha1)
        .map(|(_, bytes)| bytes)
        .collect();
    let mut accepted = Vec::new();
    for _ in 0..wanted * 2000 {
        if accepted.len() == wanted {
            break;
        }
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        let ok = match kind {
            "commit" => check_commit(&input, HashKind::Sha1).is_ok(),
            "tag" => check_tag(&input, HashKind::Sha1).is_ok(),
            _ => check_tree(&input, HashKind::Sha1).is_ok(),
        };
        if ok && !accepted.contains(&input) {
            accepted.push(input);
        }
    }
    assert_eq!(accepted.len(), wanted, "{kind}: too few accepted mutations");
    accepted
}

#[test]
fn git_accepts_what_we_accept() {
    let repo = Repo::init(HashKind::Sha1);
    let files = TempDir::new("mutations");
    for (kind, seed) in [
        ("commit", 0x1234_5678_9abc_def1),
        ("tag", 0x2345_6789_abcd_ef12),
        ("tree", 0x3456_789a_bcde_f123),
    ] {
        let mut paths = String::new();
        for (i, bytes) in accepted_mutations(kind, seed).iter().enumerate() {
            let path = files.path().join(format!("{kind}-{i}"));
            std::fs::write(&path, bytes).unwrap();
            paths.push_str(path.to_str().unwrap());
            paths.push('\n');
        }
        let written = repo.ok_with(
            &[
                "hash-object",
                "-t",
                kind,
                "--literally",
                "-w",
                "--stdin-paths",
            ],
            Some(paths.as_bytes()),
        );
        assert_eq!(written.lines().count(), wanted());
    }
    // Every optional check raised, but `extraHeaderEntry`: git before 2.52
    // reports a tag's in-header `gpgsig` as an extra header; later git
    // expects it, and so does this crate.
    let config: Vec<String> = elevated_config()
        .into_iter()
        .filter(|c| !c.contains("extraHeaderEntry"))
        .collect();
    let fsck = repo.fsck(&config);
    // Object-type mismatches between a tree entry and the object its id
    // names ("broken links") are link checks, out of reach of a check of
    // one object's bytes; everything else counts.
    let refused: Vec<&str> = fsck
        .text
        .lines()
        .filter(|l| {
            (l.starts_with("error in ") && !l.ends_with(": broken links"))
                || l.contains("could not be parsed")
        })
        .collect();
    assert!(
        refused.is_empty(),
        "git refuses objects this crate accepts:\n{}",
        refused.join("\n")
    );
}
