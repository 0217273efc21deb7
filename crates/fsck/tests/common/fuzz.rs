//! Deterministic mutation of objects, shared by the mutation and the
//! differential tests.

use std::path::PathBuf;

use pushguard_fsck::HashKind;

/// xorshift64*: deterministic, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes that matter to the parsers.
const INTERESTING: &[u8] = b"\n \0<>/.:~\\-+0123456789abcdefABCDEF\x1b\x7f\x80\xc0\xe2\xef\xff";

pub fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
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

pub fn seeds(kind: &str) -> Vec<(HashKind, Vec<u8>)> {
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
    // Ids of objects that exist nowhere, so that git, in the differential
    // test, has no object whose type could disagree with the header.
    let p = "0123456789abcdef0123456789abcdef01234567";
    let good: Vec<u8> = match kind {
        "commit" => format!(
            "tree {t}\nparent {p}\nauthor A <a@x> 1 +0000\ncommitter C <c@x> 2 -0100\n\
             encoding latin1\nmergetag object {t}\n type commit\n\
             gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\nmsg\n"
        )
        .into_bytes(),
        "tag" => format!(
            "object {p}\ntype commit\ntag v1\ntagger T <t@x> 1 +0000\ngpgsig a\n b\n\n\
             msg\n-----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n"
        )
        .into_bytes(),
        _ => {
            let mut raw = Vec::new();
            // A different id per entry: one id as a blob and as a tree
            // would be a type clash in git's eyes.
            for (mode, name, id) in [
                ("100644", "a", 0x11),
                ("100644", "a.b", 0x12),
                ("40000", "a0", 0x13),
                ("120000", "b", 0x14),
                ("160000", "c", 0x15),
                ("100755", "d", 0x16),
            ] {
                raw.extend_from_slice(format!("{mode} {name}\0").as_bytes());
                raw.extend_from_slice(&[id; 20]);
            }
            raw
        }
    };
    seeds.push((HashKind::Sha1, good));
    seeds
}
