//! Pushed bytes must never make the judge panic: every checkov fixture, cut and mutated in
//! many deterministic ways, is judged with every rule and `pod_security` (restricted) on.

use std::path::{Path, PathBuf};

use pushguard_manifest::{
    judge, FileChange, FileVersion, Limits, PodSecurity, PodSecurityLevel, PodSecurityVersion,
    RuleId, Settings,
};

fn corpus_files() -> Vec<PathBuf> {
    let dir = match std::env::var_os("PUSHGUARD_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    }
    .join("checkov");
    let mut files = Vec::new();
    for folder in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let folder = folder.unwrap().path();
        if folder.is_dir() {
            for f in std::fs::read_dir(&folder).unwrap() {
                files.push(f.unwrap().path());
            }
        }
    }
    files.sort();
    files
}

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"---\n",
    b"...\n",
    b"&a ",
    b"*a",
    b"<<: ",
    b"!!binary ",
    b"? ",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"'",
    b"|\n",
    b">-\n",
    b"\t",
    b"\xff",
    b"yes",
    b"0x10",
    b"~",
    b": ",
    b"#",
    b"\n  ",
    b"items:\n- ",
    b"kind: List\n",
];

#[test]
fn mutated_fixtures_never_panic() {
    let settings = Settings {
        rules: RuleId::ALL.to_vec(),
        pod_security: Some(PodSecurity {
            level: PodSecurityLevel::Restricted,
            version: PodSecurityVersion::Latest,
        }),
        source_urls: vec!["https://github.com/acme/".to_string()],
        ..Settings::default()
    };
    let limits = Limits::default();
    let files = corpus_files();
    assert!(files.len() > 50, "{} fixtures", files.len());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut judged = 0usize;
    let mut refused = 0usize;
    for file in &files {
        let original = std::fs::read(file).unwrap();
        for _ in 0..40 {
            let mut bytes = original.clone();
            for _ in 0..=rng.below(3) {
                let at = rng.below(bytes.len() + 1);
                match rng.below(3) {
                    0 => bytes.truncate(at),
                    1 => {
                        let token = TOKENS[rng.below(TOKENS.len())];
                        bytes.splice(at..at, token.iter().copied());
                    }
                    _ => {
                        let end = (at + rng.below(20)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                }
            }
            let changes = [FileChange {
                old: Some(FileVersion {
                    path: "f.yaml",
                    bytes: &original,
                }),
                new: Some(FileVersion {
                    path: "f.yaml",
                    bytes: &bytes,
                }),
            }];
            let findings = judge(&changes, &settings, &limits, 20_000);
            judged += 1;
            refused += usize::from(findings.iter().any(|f| f.rule == "manifest-parse"));
            for f in &findings {
                assert!(f.line >= 1 && f.column >= 1, "{f:?}");
            }
        }
    }
    println!("{judged} mutated files judged, {refused} refused as unreadable");
    assert!(refused > 0 && refused < judged);
}
