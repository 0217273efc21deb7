//! How many commits, trees and tags per second the checks take, on
//! synthetic objects shaped like a GitOps push (signed commits, trees of
//! manifests). Run: `cargo run --release -p pushguard-fsck --example throughput`.

use std::time::Instant;

use pushguard_fsck::{check_commit, check_tag, check_tree, HashKind};

fn hex(n: usize) -> String {
    format!("{:040x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
}

fn main() {
    let n = 10_000;
    let signature: String = (0..12)
        .map(|i| format!(" {}\n", "A".repeat(60 + i)))
        .collect();
    let commits: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            format!(
                "tree {}\nparent {}\nauthor Dev {i} <dev{i}@example.com> {} +0100\n\
                 committer Dev {i} <dev{i}@example.com> {} +0100\n\
                 gpgsig -----BEGIN PGP SIGNATURE-----\n \n{signature} -----END PGP SIGNATURE-----\n\n\
                 Update deployment {i}\n\nSome longer description of the change.\n",
                hex(i),
                hex(i + 1),
                1_700_000_000 + i,
                1_700_000_000 + i
            )
            .into_bytes()
        })
        .collect();
    let trees: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut raw = Vec::new();
            let mut names: Vec<String> = (0..20).map(|k| format!("app-{i}-{k:02}.yaml")).collect();
            names.sort();
            for name in names {
                raw.extend_from_slice(format!("100644 {name}\0").as_bytes());
                raw.extend_from_slice(&[0x5a; 20]);
            }
            raw
        })
        .collect();
    let tags: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            format!(
                "object {}\ntype commit\ntag v1.{i}\ntagger Rel <rel@example.com> 1700000000 +0000\n\n\
                 Release 1.{i}\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n",
                hex(i)
            )
            .into_bytes()
        })
        .collect();

    let rounds = 20;
    let time = |what: &str, f: &dyn Fn() -> usize| {
        let start = Instant::now();
        let mut checked = 0;
        for _ in 0..rounds {
            checked += f();
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(checked, rounds * n, "{what}: every sample is well-formed");
        println!(
            "{what}: {:.0} per second ({:.2} us each)",
            checked as f64 / secs,
            secs * 1e6 / checked as f64
        );
    };
    time("commits", &|| {
        commits
            .iter()
            .filter(|c| check_commit(c, HashKind::Sha1).is_ok())
            .count()
    });
    time("trees of 20 entries", &|| {
        trees
            .iter()
            .filter(|t| check_tree(t, HashKind::Sha1).is_ok())
            .count()
    });
    time("tags", &|| {
        tags.iter()
            .filter(|t| check_tag(t, HashKind::Sha1).is_ok())
            .count()
    });
}
