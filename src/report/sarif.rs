//! SARIF 2.1.0 for code scanning (GitHub's `upload-sarif`, GitLab, Gitea).
//!
//! GitHub documents which properties it needs ("SARIF support for code scanning"): every rule
//! a `reportingDescriptor` with `shortDescription`, `fullDescription` and `help`; every result a
//! `message.text`, at least one `location` whose `physicalLocation` has an
//! `artifactLocation.uri` (a URI relative to the repository root, or an absolute `file:` URI)
//! and a `region` (`startLine`, `startColumn`, `endLine`, `endColumn`), and `partialFingerprints`
//! (only `primaryLocationLineHash` is used). A result without a location is dropped.
//!
//! - A finding in a file (path rules, file rules, manifest rules) is located in that file, at the
//!   line and column of the object or key when the rule knows them.
//! - A finding about a ref, a commit, a signature or a push certificate is in no file. Its
//!   location is the policy rule that refused it (`policy.toml` line 12): a relative URI when the
//!   policy file was named by a relative path (CI keeps it in the repository), else an absolute
//!   `file:` URI, which GitHub keeps as it is. A `logicalLocations` entry names the ref and the
//!   commit, and the message says them too.
//! - `partialFingerprints.primaryLocationLineHash` is pushguard's own, not a hash of the line's
//!   text: the same finding must be the same alert across runs whether or not a line moved, and a
//!   ref finding has no line of its own. It hashes the rule with what the finding is about: the
//!   file, object and container for a file finding (not the line: lines move, and not the
//!   commit: the same object judged again is the same alert), the commit for a commit finding,
//!   the ref for a ref finding. Results with the same subject are numbered in order (`:1`, `:2`).

use crate::policy::eval::{Decision, Violation};
use crate::policy::Severity;
use crate::report::rules::{self, RuleDoc};

/// Where the documentation is published, for `helpUri`: the environment variable
/// `PUSHGUARD_DOCS_URL` at run time, else the same variable when pushguard was built. It is the
/// URL that `docs/` sits under (`https://git.example.com/ops/pushguard/-/blob/main`).
pub const DOCS_URL_VAR: &str = "PUSHGUARD_DOCS_URL";

/// What the SARIF log depends on besides the decision.
#[derive(Clone, Debug, Default)]
pub struct SarifOptions {
    /// The URL that `docs/` is published under; no `helpUri` without it (SARIF wants an
    /// absolute URI there).
    pub docs_url: Option<String>,
    /// The directory relative paths are relative to (the checkout, in CI).
    pub base_dir: Option<std::path::PathBuf>,
}

impl SarifOptions {
    pub fn from_env() -> SarifOptions {
        let docs_url = std::env::var(DOCS_URL_VAR)
            .ok()
            .or_else(|| option_env!("PUSHGUARD_DOCS_URL").map(String::from))
            .filter(|u| u.contains("://"))
            .map(|u| u.trim_end_matches('/').to_string());
        SarifOptions {
            docs_url,
            base_dir: std::env::current_dir().ok(),
        }
    }
}

/// The SARIF log of a decision, with options read from the environment.
pub fn sarif(decision: &Decision) -> String {
    sarif_with(decision, &SarifOptions::from_env())
}

pub fn sarif_with(decision: &Decision, options: &SarifOptions) -> String {
    let mut rule_ids: Vec<&str> = decision
        .violations
        .iter()
        .map(|v| v.rule.as_str())
        .collect();
    rule_ids.sort_unstable();
    rule_ids.dedup();
    let docs: Vec<RuleDoc> = rule_ids.iter().map(|id| rules::describe(id)).collect();
    let descriptors: Vec<serde_json::Value> = docs
        .iter()
        .map(|d| descriptor(d, decision, options))
        .collect();
    // Two results with the same subject (a commit's author and committer, two findings in one
    // container) are told apart by their order, as CodeQL numbers them: `hash:1`, `hash:2`.
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let results: Vec<serde_json::Value> = decision
        .violations
        .iter()
        .map(|v| {
            let index = rule_ids.binary_search(&v.rule.as_str()).unwrap_or(0);
            let hash = fingerprint(v);
            let n = seen.entry(hash.clone()).or_insert(0);
            *n += 1;
            result(v, index, &hash, *n, options)
        })
        .collect();
    let doc = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "pushguard",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Deny => "error",
        Severity::Warn => "warning",
    }
}

fn descriptor(d: &RuleDoc, decision: &Decision, options: &SarifOptions) -> serde_json::Value {
    // The rule's level is that of its first result: one policy can set a rule to warn on one
    // ref and deny on another, and each result carries its own level.
    let default_level = decision
        .violations
        .iter()
        .find(|v| v.rule == d.id)
        .map_or("error", |v| level(v.severity));
    let written = d
        .written_in
        .as_deref()
        .map(|w| format!(" Set in the policy by {w}."))
        .unwrap_or_default();
    let reference = d.reference();
    let link = match &options.docs_url {
        Some(base) => format!("[{reference}]({base}/{reference})"),
        None => format!("`{reference}`"),
    };
    let mut r = serde_json::json!({
        "id": d.id,
        "name": d.id,
        "shortDescription": { "text": d.short },
        "fullDescription": { "text": d.full },
        "defaultConfiguration": { "level": default_level },
        "help": {
            "text": format!("{}{written} Each result says how to fix it. Reference: {reference}.", d.full),
            "markdown": format!("**`{}`**: {}{written}\n\nEach result says how to fix it. Reference: {link}.", d.id, d.full),
        },
        "properties": { "tags": ["pushguard", "gitops"] },
    });
    if let Some(base) = &options.docs_url {
        r["helpUri"] = serde_json::Value::String(format!("{base}/{}", d.reference()));
    }
    r
}

fn result(
    v: &Violation,
    index: usize,
    hash: &str,
    occurrence: usize,
    options: &SarifOptions,
) -> serde_json::Value {
    let mut text = v.what.clone();
    if !text.ends_with('.') {
        text.push('.');
    }
    text.push_str(&format!(" Ref {}", v.ref_name));
    if let Some(c) = &v.commit {
        text.push_str(&format!(", commit {}", c.get(..10).unwrap_or(c)));
    }
    if let Some(o) = &v.object {
        text.push_str(&format!(", object {o}"));
    }
    if let Some(c) = &v.container {
        text.push_str(&format!(", container {c}"));
    }
    text.push_str(&format!(". Fix: {}", v.fix));

    let (uri, line, column, what) = match &v.path {
        Some(p) => (
            encode_path(p),
            v.line.unwrap_or(1),
            v.column.unwrap_or(1),
            None,
        ),
        None => {
            let (file, line) = policy_location(v.policy.as_deref());
            (
                policy_uri(&file, options),
                line,
                1,
                Some("the policy rule that refused this"),
            )
        }
    };
    let mut location = serde_json::json!({
        "physicalLocation": {
            "artifactLocation": { "uri": uri },
            "region": {
                "startLine": line.max(1),
                "startColumn": column.max(1),
                "endLine": line.max(1),
                "endColumn": column.max(1) + 1,
            }
        },
        "logicalLocations": [logical(v)],
    });
    if let Some(what) = what {
        location["message"] = serde_json::json!({ "text": what });
    }
    let mut properties = serde_json::json!({ "ref": v.ref_name, "fix": v.fix });
    for (key, value) in [
        ("commit", &v.commit),
        ("object", &v.object),
        ("container", &v.container),
        ("policy", &v.policy),
    ] {
        if let Some(value) = value {
            properties[key] = serde_json::Value::String(value.clone());
        }
    }
    serde_json::json!({
        "ruleId": v.rule,
        "ruleIndex": index,
        "level": level(v.severity),
        "message": { "text": text },
        "locations": [location],
        "partialFingerprints": {
            "primaryLocationLineHash": format!("{}:{occurrence}", hash.get(..16).unwrap_or(hash)),
            "pushguard/v1": format!("{hash}:{occurrence}"),
        },
        "properties": properties,
    })
}

/// The ref, and the commit when there is one, as a logical location.
fn logical(v: &Violation) -> serde_json::Value {
    match &v.commit {
        Some(c) => serde_json::json!({
            "name": c,
            "fullyQualifiedName": format!("{}@{c}", v.ref_name),
            "kind": "resource",
        }),
        None => serde_json::json!({
            "name": v.ref_name,
            "fullyQualifiedName": v.ref_name,
            "kind": "resource",
        }),
    }
}

/// What makes two results the same alert; see the module docs.
pub fn fingerprint(v: &Violation) -> String {
    let subject = match (&v.path, &v.commit) {
        (Some(p), _) => format!(
            "path\0{p}\0{}\0{}",
            v.object.as_deref().unwrap_or(""),
            v.container.as_deref().unwrap_or("")
        ),
        (None, Some(c)) => format!("commit\0{c}"),
        (None, None) => format!("ref\0{}", v.ref_name),
    };
    crate::policy::sha256_hex(format!("pushguard/v1\0{}\0{subject}", v.rule).as_bytes())
}

/// `policy.toml:12` → (`policy.toml`, 12). No origin: the repository root, line 1.
fn policy_location(origin: Option<&str>) -> (String, u32) {
    let Some(origin) = origin else {
        return (String::new(), 1);
    };
    match origin.rsplit_once(':') {
        Some((file, line)) if line.bytes().all(|b| b.is_ascii_digit()) => {
            (file.to_string(), line.parse().unwrap_or(1))
        }
        _ => (origin.to_string(), 1),
    }
}

/// The policy file as a URI: relative when it lies inside `base_dir` (CI keeps it in the
/// checkout), else an absolute `file:` URI. No file at all: `.` (the repository root).
fn policy_uri(file: &str, options: &SarifOptions) -> String {
    use std::path::{Component, Path, PathBuf};
    if file.is_empty() {
        return ".".to_string();
    }
    let given = Path::new(file);
    let absolute = match (&options.base_dir, given.is_relative()) {
        (Some(base), true) => base.join(given),
        (None, true) => {
            // Nothing to resolve against: a plain relative path is kept as it is.
            if given
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
            {
                return encode_path(file.trim_start_matches("./"));
            }
            return format!("file://{}", encode_path(file));
        }
        (_, false) => given.to_path_buf(),
    };
    // `..` resolved by the text alone: the SARIF names the file the policy was read from.
    let mut clean = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other.as_os_str()),
        }
    }
    if let Some(base) = &options.base_dir {
        if let Ok(rel) = clean.strip_prefix(base) {
            if let Some(rel) = rel.to_str().filter(|r| !r.is_empty()) {
                return encode_path(rel);
            }
        }
    }
    format!("file://{}", encode_path(&clean.to_string_lossy()))
}

/// A path as a URI path: each byte outside the unreserved set (and `/`) percent-encoded, so
/// that a space, `%`, `#`, `?`, a `:` (which would read as a scheme) or a non-ASCII name survives
/// as the same path.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Mode;

    fn v(rule: &str, path: Option<&str>, commit: Option<&str>) -> Violation {
        Violation {
            rule: rule.into(),
            severity: Severity::Deny,
            ref_name: "refs/heads/main".into(),
            commit: commit.map(String::from),
            subject: commit.map(|_| "subject".into()),
            path: path.map(String::from),
            line: path.map(|_| 7),
            column: path.map(|_| 3),
            object: None,
            container: None,
            what: "something is wrong".into(),
            fix: "fix it".into(),
            policy: Some("/etc/pushguard/policy.toml:12".into()),
        }
    }

    #[test]
    fn uris_are_percent_encoded_relative_paths() {
        assert_eq!(encode_path("apps/web.yaml"), "apps/web.yaml");
        assert_eq!(
            encode_path("a b/c:d#e?%ü.yaml"),
            "a%20b/c%3Ad%23e%3F%25%C3%BC.yaml"
        );
        let o = SarifOptions {
            docs_url: None,
            base_dir: Some("/ci/checkout".into()),
        };
        assert_eq!(policy_uri("./ci/p.toml", &o), "ci/p.toml");
        assert_eq!(policy_uri("../p.toml", &o), "file:///ci/p.toml");
        assert_eq!(policy_uri("ci/../x/p.toml", &o), "x/p.toml");
        assert_eq!(policy_uri("/ci/checkout/ci/p.toml", &o), "ci/p.toml");
        assert_eq!(
            policy_uri("/etc/push guard/p.toml", &o),
            "file:///etc/push%20guard/p.toml"
        );
    }

    #[test]
    fn fingerprints_follow_the_subject_not_the_line() {
        let a = v("privileged", Some("apps/a.yaml"), Some(&"1".repeat(40)));
        let mut moved = a.clone();
        moved.line = Some(40);
        moved.commit = Some("2".repeat(40));
        assert_eq!(fingerprint(&a), fingerprint(&moved));
        let other = v("privileged", Some("apps/b.yaml"), None);
        assert_ne!(fingerprint(&a), fingerprint(&other));
        let c1 = v("signature.missing", None, Some(&"1".repeat(40)));
        let c2 = v("signature.missing", None, Some(&"2".repeat(40)));
        assert_ne!(fingerprint(&c1), fingerprint(&c2));
        let r = v("ref.delete", None, None);
        assert_ne!(
            fingerprint(&r),
            fingerprint(&v("ref.force-push", None, None))
        );
    }

    #[test]
    fn every_result_has_a_location_and_every_rule_its_help() {
        let d = Decision {
            accepted: false,
            mode: Mode::Enforce,
            violations: vec![
                v("ref.delete", None, None),
                v("signature.missing", None, Some(&"a".repeat(40))),
                v(
                    "privileged",
                    Some("apps/my app.yaml"),
                    Some(&"b".repeat(40)),
                ),
            ],
        };
        let o = SarifOptions {
            docs_url: Some("https://docs.example.com/pushguard".into()),
            base_dir: None,
        };
        let log: serde_json::Value = serde_json::from_str(&sarif_with(&d, &o)).unwrap();
        let run = &log["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 3);
        for r in rules {
            for key in ["shortDescription", "fullDescription"] {
                assert!(!r[key]["text"].as_str().unwrap().is_empty(), "{r}");
            }
            assert!(r["help"]["markdown"]
                .as_str()
                .unwrap()
                .contains("](https://"));
            let uri = r["helpUri"].as_str().unwrap();
            assert!(
                uri.starts_with("https://docs.example.com/pushguard/docs/"),
                "{uri}"
            );
        }
        let results = run["results"].as_array().unwrap();
        for (i, res) in results.iter().enumerate() {
            let loc = &res["locations"][0]["physicalLocation"];
            assert!(loc["artifactLocation"]["uri"].is_string(), "{res}");
            assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
            let idx = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[idx]["id"], res["ruleId"], "result {i}");
            assert!(res["partialFingerprints"]["primaryLocationLineHash"].is_string());
        }
        let ref_loc = &results[0]["locations"][0];
        assert_eq!(
            ref_loc["physicalLocation"]["artifactLocation"]["uri"],
            "file:///etc/pushguard/policy.toml"
        );
        assert_eq!(ref_loc["physicalLocation"]["region"]["startLine"], 12);
        let file_loc = &results[2]["locations"][0]["physicalLocation"];
        assert_eq!(file_loc["artifactLocation"]["uri"], "apps/my%20app.yaml");
        assert_eq!(file_loc["region"]["startLine"], 7);
        assert_eq!(file_loc["region"]["startColumn"], 3);
        // Without a docs URL there is no helpUri (it must be absolute), the help names the file.
        let log: serde_json::Value =
            serde_json::from_str(&sarif_with(&d, &SarifOptions::default())).unwrap();
        let rule = &log["runs"][0]["tool"]["driver"]["rules"][1];
        assert_eq!(rule["id"], "ref.delete");
        assert!(rule.get("helpUri").is_none());
        assert!(rule["help"]["text"]
            .as_str()
            .unwrap()
            .contains("docs/policy.md#rule-ref.delete"));
    }
}
