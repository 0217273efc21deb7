//! Judges files given on the command line as newly added, with every built-in rule on:
//! `cargo run --example judge_files -- path.yaml...` (a quick way to see findings).

use pushguard_manifest::{judge, FileChange, FileVersion, Limits, RuleId, Settings};

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    let contents: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();
    let changes: Vec<FileChange<'_>> = paths
        .iter()
        .zip(&contents)
        .map(|(path, bytes)| FileChange {
            old: None,
            new: Some(FileVersion { path, bytes }),
        })
        .collect();
    let settings = Settings {
        rules: RuleId::ALL.to_vec(),
        ..Settings::default()
    };
    for f in judge(&changes, &settings, &Limits::default(), 20_000) {
        println!("{f}");
    }
}
