//! `pod_security` against the Pod Security Admission fixtures.
//!
//! The fixtures are the test data of k8s.io/pod-security-admission (Apache-2.0),
//! `test/testdata/<level>/v1.NN/{pass,fail}/*.yaml` at commit
//! 8f84a87c7f617f64a4ddc1aea24aeeb7a2e07cb8, for the three newest versions there (v1.35, v1.36,
//! v1.37). They are not kept in this repository: like the checkov corpus they live in the shared
//! corpus, as `pss/<level>/v1.NN/{pass,fail}/*.yaml` next to that repository's `LICENSE`, at
//! `$PUSHGUARD_CORPUS/pss` or `../../../shared/corpus/pss`. Developers may not commit fetched
//! data, so these tests are `#[ignore]`d; `.ci/run` runs them (`-- --ignored`) whenever the
//! shared corpus has them, and they fail if asked to run without them.
//!
//! Each fixture is a Pod that PSA admits (`pass`) or refuses (`fail`) at that level and
//! version. It is judged as a newly added file with only `pod_security` set, as it is and with
//! its metadata and spec wrapped in every other pod-bearing kind; a `fail` fixture must give at
//! least one `pod-security.*` finding, a `pass` fixture none. Differences must be listed in
//! `DIFFERENCES` with a reason (and are asserted to still differ). The agreement per level and
//! version is printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pushguard_manifest::{
    judge, FileChange, FileVersion, Finding, Limits, PodSecurity, PodSecurityLevel,
    PodSecurityVersion, Settings,
};

const VERSIONS: [u32; 3] = [35, 36, 37];

/// (level, version, pass|fail, file, kind): fixtures where pushguard's verdict differs, and why.
const DIFFERENCES: &[(&str, &str, &str, &str, &str, &str)] = &[];

fn corpus() -> PathBuf {
    let dir = match std::env::var_os("PUSHGUARD_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    };
    let pss = dir.join("pss");
    assert!(
        pss.join("baseline").is_dir() && pss.join("restricted").is_dir(),
        "Pod Security Admission fixtures missing at {} (set PUSHGUARD_CORPUS; see this file's header)",
        pss.display()
    );
    pss
}

/// The top-level blocks of a block-style fixture: key -> the lines under it.
fn blocks(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('-') {
            let (key, rest) = line.split_once(':').expect("top-level key");
            let rest = rest.trim();
            out.insert(key.to_string(), Vec::new());
            if rest.is_empty() {
                current = Some(key.to_string());
            } else {
                out.get_mut(key).unwrap().push(format!("  {rest}"));
                current = None;
            }
        } else {
            let key = current.as_ref().expect("nested line under a block key");
            out.get_mut(key).unwrap().push(line.to_string());
        }
    }
    out
}

fn indented(lines: &[String], by: usize) -> String {
    let pad = " ".repeat(by);
    lines.iter().map(|l| format!("{pad}{l}\n")).collect()
}

/// The pod-bearing kinds and how each wraps a pod's metadata and spec.
const KINDS: [&str; 9] = [
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
];

fn wrap(kind: &str, fixture: &str) -> String {
    if kind == "Pod" {
        return fixture.to_string();
    }
    let b = blocks(fixture);
    assert_eq!(
        b.keys().map(String::as_str).collect::<Vec<_>>(),
        ["apiVersion", "kind", "metadata", "spec"],
        "unexpected fixture layout"
    );
    let (meta, spec) = (&b["metadata"], &b["spec"]);
    let selector = "  selector:\n    matchLabels: {app: x}\n";
    match kind {
        "PodTemplate" => format!(
            "apiVersion: v1\nkind: PodTemplate\nmetadata:\n  name: wrapped\ntemplate:\n  metadata:\n{}  spec:\n{}",
            indented(meta, 2),
            indented(spec, 2)
        ),
        "CronJob" => format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: wrapped\nspec:\n  schedule: '@hourly'\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n{}        spec:\n{}",
            indented(meta, 8),
            indented(spec, 8)
        ),
        _ => {
            let api = match kind {
                "Job" => "batch/v1",
                "ReplicationController" => "v1",
                _ => "apps/v1",
            };
            let selector = if matches!(kind, "Job" | "ReplicationController") {
                ""
            } else {
                selector
            };
            format!(
                "apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: wrapped\nspec:\n{selector}  template:\n    metadata:\n{}    spec:\n{}",
                indented(meta, 4),
                indented(spec, 4)
            )
        }
    }
}

fn judged(text: &str, level: PodSecurityLevel, version: PodSecurityVersion) -> Vec<Finding> {
    let settings = Settings {
        pod_security: Some(PodSecurity { level, version }),
        ..Settings::default()
    };
    let change = FileChange {
        old: None,
        new: Some(FileVersion {
            path: "fixture.yaml",
            bytes: text.as_bytes(),
        }),
    };
    judge(&[change], &settings, &Limits::default(), 20_605)
}

fn fixtures(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
#[ignore = "needs the PSA fixtures in shared/corpus/pss; .ci/run runs it when they are there"]
fn pod_security_admission_fixtures() {
    let root = corpus();
    let mut report = Vec::new();
    let mut unexpected = Vec::new();
    let mut listed_seen = 0;
    for (level, level_name) in [
        (PodSecurityLevel::Baseline, "baseline"),
        (PodSecurityLevel::Restricted, "restricted"),
    ] {
        for minor in VERSIONS {
            let version_name = format!("v1.{minor}");
            let mut versions = vec![PodSecurityVersion::V1(minor)];
            if minor == PodSecurityVersion::NEWEST_KNOWN {
                versions.push(PodSecurityVersion::Latest);
            }
            let (mut agree, mut total) = (0, 0);
            for outcome in ["pass", "fail"] {
                let dir = root.join(level_name).join(&version_name).join(outcome);
                let files = fixtures(&dir);
                assert!(!files.is_empty(), "no fixtures in {}", dir.display());
                for (file, text) in &files {
                    for kind in KINDS {
                        let wrapped = wrap(kind, text);
                        for version in &versions {
                            let findings = judged(&wrapped, level, *version);
                            assert!(
                                findings.iter().all(|f| f.rule.starts_with("pod-security.")),
                                "{level_name} {version_name} {outcome}/{file} as {kind}: {findings:#?}"
                            );
                            // Baseline findings only under a baseline policy.
                            if level == PodSecurityLevel::Baseline {
                                assert!(findings.iter().all(|f| f.rule == "pod-security.baseline"));
                            }
                            let fails = !findings.is_empty();
                            let agrees = fails == (outcome == "fail");
                            let listed = DIFFERENCES.iter().any(|d| {
                                (d.0, d.1, d.2, d.3, d.4)
                                    == (level_name, version_name.as_str(), outcome, file, kind)
                            });
                            if listed {
                                listed_seen += 1;
                                assert!(
                                    !agrees,
                                    "{level_name} {version_name} {outcome}/{file} as {kind} is listed as a difference but agrees"
                                );
                            } else if !agrees {
                                unexpected.push(format!(
                                    "{level_name} {version_name} {outcome}/{file} as {kind} ({version}): {findings:#?}"
                                ));
                            }
                            if *version == PodSecurityVersion::V1(minor) {
                                total += 1;
                                agree += usize::from(agrees);
                            }
                        }
                    }
                }
            }
            report.push(format!(
                "{level_name} {version_name}: {agree}/{total} judgements agree ({:.1}%)",
                100.0 * agree as f64 / total as f64
            ));
        }
    }
    println!("Pod Security Admission fixtures (each as Pod and wrapped in 8 workload kinds):");
    for line in &report {
        println!("  {line}");
    }
    assert!(
        unexpected.is_empty(),
        "{} unlisted differences:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert_eq!(
        listed_seen,
        DIFFERENCES.len(),
        "a listed difference was not seen"
    );
}

/// Under a restricted policy, a finding is `pod-security.baseline` exactly when the baseline
/// policy of the same version refuses the object too: an exception for
/// `pod-security.restricted` leaves the object held to baseline.
#[test]
#[ignore = "needs the PSA fixtures in shared/corpus/pss; .ci/run runs it when they are there"]
fn restricted_findings_name_the_lowest_level() {
    let root = corpus();
    for minor in VERSIONS {
        let version = PodSecurityVersion::V1(minor);
        for outcome in ["pass", "fail"] {
            let dir = root
                .join("restricted")
                .join(format!("v1.{minor}"))
                .join(outcome);
            for (file, text) in fixtures(&dir) {
                let restricted = judged(&text, PodSecurityLevel::Restricted, version);
                let baseline = judged(&text, PodSecurityLevel::Baseline, version);
                let as_baseline = restricted.iter().any(|f| f.rule == "pod-security.baseline");
                assert_eq!(
                    as_baseline,
                    !baseline.is_empty(),
                    "v1.{minor} {outcome}/{file}: restricted {restricted:#?} baseline {baseline:#?}"
                );
            }
        }
    }
}
