//! Every built-in rule against the checkov fixtures that test the same thing.
//!
//! Each `-FAILED`/`-PASSED` file of a mapped folder is judged as a newly added file with only
//! that rule enabled; the verdict must match checkov's unless the file is in `DIFFERENCES`,
//! where it must differ (so the list stays honest). The agreement figure is printed.

use std::path::{Path, PathBuf};

use pushguard_manifest::{judge, FileChange, FileVersion, Limits, RuleId, Settings};

fn corpus() -> PathBuf {
    let dir = match std::env::var_os("PUSHGUARD_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    };
    assert!(
        dir.join("checkov").is_dir(),
        "checkov corpus missing at {} (set PUSHGUARD_CORPUS)",
        dir.display()
    );
    dir.join("checkov")
}

/// Built-in rule -> checkov folder testing the same property, and for rules broader than one
/// checkov check, the facet (a text of the finding's message) that folder tests.
const MAPPING: &[(RuleId, &str, Option<&str>)] = &[
    (RuleId::Privileged, "PrivilegedContainers", None),
    (
        RuleId::PrivilegeEscalation,
        "AllowPrivilegeEscalation",
        None,
    ),
    (RuleId::HostNamespaces, "ShareHost", None),
    (RuleId::SensitiveHostMounts, "DockerSocketVolume", None),
    (RuleId::HostPorts, "HostPort", None),
    (RuleId::DangerousCapabilities, "AllowedCapabilities", None),
    (
        RuleId::DangerousCapabilities,
        "AllowedCapabilitiesSysAdmin",
        None,
    ),
    (RuleId::RunAsRoot, "RootContainers", None),
    (RuleId::SeccompUnconfined, "Seccomp", None),
    (RuleId::ImageLatest, "ImageTagFixed", None),
    (RuleId::ImageDigest, "ImageDigest", None),
    (RuleId::RbacWildcards, "WildcardRoles", None),
    (
        RuleId::RbacEscalation,
        "RbacEscalateRoles",
        Some("`escalate`"),
    ),
    (
        RuleId::RbacEscalation,
        "RbacBindRoleBindings",
        Some("`bind`"),
    ),
    (
        RuleId::RbacEscalation,
        "RbacControlWebhooks",
        Some("admission webhooks"),
    ),
    (
        RuleId::RbacEscalation,
        "RbacApproveCertificateSigningRequests",
        Some("certificate signing"),
    ),
    (RuleId::IngressSnippets, "NginxIngressCVE202125742", None),
];

/// (folder, file, why pushguard deliberately judges differently).
const DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "AllowedCapabilities",
        "cassandra-FAILED.yaml",
        "checkov flags any added capability; dangerous-capabilities flags only those that break \
         isolation (SYS_ADMIN, NET_ADMIN, ALL, ...), not IPC_LOCK",
    ),
    (
        "AllowedCapabilitiesSysAdmin",
        "pod-FAILED2.yaml",
        "the Pod has no containers at all (the API server rejects it); there is nothing to flag",
    ),
    (
        "RootContainers",
        "rootContainersFAILED-malformed-spec.yaml",
        "spec is a list, not a pod spec: the API server rejects the object, no container exists",
    ),
    (
        "Seccomp",
        "cronjob-seccomp-FAILED.yaml",
        "seccomp-unconfined flags an explicit Unconfined profile; checkov also demands one be set",
    ),
    (
        "Seccomp",
        "pod-seccomp-FAILED.yaml",
        "seccomp-unconfined flags an explicit Unconfined profile; checkov also demands one be set",
    ),
    (
        "Seccomp",
        "pod-seccomp-FAILED2.yaml",
        "seccomp-unconfined flags an explicit Unconfined profile; checkov also demands one be set",
    ),
    (
        "Seccomp",
        "pod-seccomp-FAILED3.yaml",
        "seccomp-unconfined flags an explicit Unconfined profile; checkov also demands one be set",
    ),
    (
        "ImageTagFixed",
        "kafka-ImageWithRepo-PASSED.yaml",
        "a double-quoted scalar continues on lines indented less than its sequence item: YAML \
         1.2 (saphyr) refuses it, go-yaml v2 accepts it; pushguard fails closed (manifest-parse)",
    ),
    (
        "ImageDigest",
        "kafka-withrepo-PASSED.yaml",
        "same under-indented quoted scalar as kafka-ImageWithRepo: refused as manifest-parse",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Failed,
    Passed,
}

fn expected(file: &str) -> Option<Verdict> {
    let upper = file.to_ascii_uppercase();
    if upper.contains("FAIL") {
        Some(Verdict::Failed)
    } else if upper.contains("PASS") {
        Some(Verdict::Passed)
    } else {
        None
    }
}

fn verdict(rule: RuleId, facet: Option<&str>, path: &str, bytes: &[u8]) -> (Verdict, Vec<String>) {
    let settings = Settings {
        rules: vec![rule],
        ..Settings::default()
    };
    let changes = [FileChange {
        old: None,
        new: Some(FileVersion { path, bytes }),
    }];
    let findings = judge(&changes, &settings, &Limits::default(), 20_000);
    let relevant: Vec<String> = findings
        .iter()
        .filter(|f| {
            (f.rule == rule.as_str() && facet.is_none_or(|t| f.message.contains(t)))
                || f.rule.starts_with("manifest-")
        })
        .map(|f| f.to_string())
        .collect();
    let v = if relevant.is_empty() {
        Verdict::Passed
    } else {
        Verdict::Failed
    };
    (v, relevant)
}

#[test]
fn checkov_agreement() {
    let root = corpus();
    let mut total = 0usize;
    let mut agree = 0usize;
    let mut problems = Vec::new();
    let mut per_folder: std::collections::BTreeMap<String, (usize, usize, &str)> =
        std::collections::BTreeMap::new();
    for (rule, folder, facet) in MAPPING {
        let dir = root.join(folder);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{folder} is empty");
        for file in files {
            let Some(want) = expected(&file) else {
                continue;
            };
            let bytes = std::fs::read(dir.join(&file)).unwrap();
            let (got, why) = verdict(*rule, *facet, &format!("{folder}/{file}"), &bytes);
            total += 1;
            let entry = per_folder
                .entry(folder.to_string())
                .or_insert((0, 0, rule.as_str()));
            entry.0 += usize::from(got == want);
            entry.1 += 1;
            let listed = DIFFERENCES
                .iter()
                .find(|(d, f, _)| *d == *folder && *f == file);
            if got == want {
                agree += 1;
                if listed.is_some() {
                    problems.push(format!(
                        "{folder}/{file}: listed as a difference but agrees ({got:?})"
                    ));
                }
            } else if listed.is_none() {
                problems.push(format!(
                    "{rule}: {folder}/{file}: checkov {want:?}, pushguard {got:?} {why:?}"
                ));
            }
        }
    }
    for (folder, (a, t, rule)) in &per_folder {
        println!("  {rule:<24} {folder:<40} {a}/{t}");
    }
    for (folder, file, why) in DIFFERENCES {
        println!("  difference: {folder}/{file}: {why}");
    }
    let pct = 100.0 * agree as f64 / total as f64;
    println!(
        "checkov agreement: {agree}/{total} files ({pct:.1}%), {} deliberate differences",
        DIFFERENCES.len()
    );
    assert!(
        problems.is_empty(),
        "disagreements:\n{}",
        problems.join("\n")
    );
    assert!(total >= 60, "only {total} fixtures scored");
    assert!(pct >= 85.0, "agreement {pct:.1}% below 85%");
}
