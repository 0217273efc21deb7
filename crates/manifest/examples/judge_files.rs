//! Judges files given on the command line as newly added, with every built-in rule on:
//! `cargo run --example judge_files -- path.yaml...` (a quick way to see findings).
//! `PUSHGUARD_POD_SECURITY=restricted:v1.35` adds `pod_security` at that level and version.

use pushguard_manifest::{
    judge, FileChange, FileVersion, Limits, PodSecurity, PodSecurityLevel, PodSecurityVersion,
    RuleId, Settings,
};

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
    let pod_security = std::env::var("PUSHGUARD_POD_SECURITY").ok().map(|v| {
        let (level, version) = v.split_once(':').expect("level:version");
        PodSecurity {
            level: match level {
                "baseline" => PodSecurityLevel::Baseline,
                "restricted" => PodSecurityLevel::Restricted,
                other => panic!("unknown level {other}"),
            },
            version: PodSecurityVersion::parse(version).unwrap_or_else(|e| panic!("{e}")),
        }
    });
    let settings = Settings {
        rules: RuleId::ALL.to_vec(),
        pod_security,
        ..Settings::default()
    };
    for f in judge(&changes, &settings, &Limits::default(), 20_000) {
        println!("{f}");
    }
}
