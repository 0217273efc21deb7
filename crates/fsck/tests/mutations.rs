//! A small, deterministic mutation fuzzer over the corpus and a few
//! well-formed objects: no input makes a check panic, and whatever is
//! accepted keeps the promises of the returned values.

use std::path::PathBuf;

use pushguard_fsck::{check_commit, check_tag, check_tree, HashKind};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes that matter to the parsers.
const INTERESTING: &[u8] = b"\n \0<>/.:~\\-+0123456789abcdefABCDEF\x1b\x7f\x80\xc0\xe2\xef\xff";

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = if out.is_empty() {
            0
        } else {
            rng.below(out.len())
        };
        match rng.below(6) {
            0 if !out.is_empty() => out[at] = INTERESTING[rng.below(INTERESTING.len())],
            1 => out.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 if !out.is_empty() => {
                out.remove(at);
            }
            3 => out.truncate(at),
            4 if !out.is_empty() => {
                // Duplicate a line.
                let start = out[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                let end = out[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(out.len(), |i| at + i + 1);
                let line = out[start..end].to_vec();
                out.splice(end..end, line);
            }
            _ if !out.is_empty() => out[at] ^= 1 << rng.below(8),
            _ => {}
        }
    }
    out
}

fn seeds(kind: &str) -> Vec<(HashKind, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(kind);
    let mut seeds: Vec<(HashKind, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let hash = if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("sha256-")
            {
                HashKind::Sha256
            } else {
                HashKind::Sha1
            };
            (hash, std::fs::read(path).unwrap())
        })
        .collect();
    let t = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    let good: Vec<u8> = match kind {
        "commit" => format!(
            "tree {t}\nparent {t}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 -0100\n\
             encoding latin1\nmergetag object {t}\n type commit\n\
             gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nmsg\n"
        )
        .into_bytes(),
        "tag" => format!(
            "object {t}\ntype commit\ntag v1\ntagger T <t@x> 1 +0000\ngpgsig a\n b\n\n\
             msg\n-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n"
        )
        .into_bytes(),
        _ => {
            let mut raw = Vec::new();
            for (mode, name) in [
                ("100644", "a"),
                ("100644", "a.b"),
                ("40000", "a0"),
                ("120000", "b"),
                ("160000", "c"),
                ("100755", "d"),
            ] {
                raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
                raw.extend_from_slice(&[0x11; 20]);
            }
            raw
        }
    };
    seeds.push((HashKind::Sha1, good));
    seeds
}

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
