//! What the pusher, CI and the administrator see: the message in `git push` output, the JSON
//! form of a decision, and the audit record.
//!
//! The message is built for the `remote:` lines of `git push`: a summary first, then one block
//! per violation (ref, commit, path, object, rule, what, fix, where the rule is written). On
//! GitLab every line carries `GL-HOOK-ERR: ` so the web UI shows it too. No colour: hook output
//! is never a terminal.

pub mod audit;

use std::fmt::Write;

use serde::Serialize;

use crate::facts::{PushFacts, UpdateKind};
use crate::policy::eval::{Decision, Violation};
use crate::policy::{Mode, Severity};

/// Renders the decision for the pusher.
pub fn human(decision: &Decision, facts: &PushFacts, policy_path: &str, prefix: &str) -> String {
    let mut s = String::new();
    let n_commits: usize = facts.updates.iter().map(|u| u.new_commits.len()).sum();
    let n_updates = facts.updates.len();
    let denials = decision.denials();
    let warnings = decision.violations.len() - denials;
    let scope = format!(
        "{n_updates} ref update{}, {n_commits} new commit{} checked",
        plural(n_updates),
        plural(n_commits)
    );
    if decision.violations.is_empty() {
        let _ = writeln!(s, "pushguard: push accepted ({scope})");
        return prefixed(&s, prefix);
    }
    if !decision.accepted {
        let _ = writeln!(
            s,
            "pushguard: push REJECTED: {denials} violation{} of policy {policy_path} ({scope})",
            plural(denials)
        );
    } else if decision.mode == Mode::Audit && denials > 0 {
        let _ = writeln!(
            s,
            "pushguard: AUDIT MODE, push accepted: {denials} violation{} would reject it once the policy is enforced ({scope})",
            plural(denials)
        );
    } else {
        let _ = writeln!(
            s,
            "pushguard: push accepted with {warnings} warning{} ({scope})",
            plural(warnings)
        );
    }
    for v in &decision.violations {
        s.push('\n');
        block(&mut s, v);
    }
    if !decision.accepted {
        let _ = writeln!(
            s,
            "\nNothing was updated: fix what is listed above and push again."
        );
    }
    prefixed(&s, prefix)
}

fn block(s: &mut String, v: &Violation) {
    let level = match v.severity {
        Severity::Deny => "error",
        Severity::Warn => "warning",
    };
    let _ = writeln!(s, "{level}[{}] {}", v.rule, v.ref_name);
    if let Some(c) = &v.commit {
        let short = c.get(..10).unwrap_or(c);
        let subject = v.subject.as_deref().unwrap_or("");
        let _ = writeln!(s, "  commit: {short} {subject:?}");
    }
    if let Some(p) = &v.path {
        let _ = writeln!(s, "  path:   {p}");
    }
    if let Some(o) = &v.object {
        match &v.container {
            Some(c) => {
                let _ = writeln!(s, "  object: {o}, container {c}");
            }
            None => {
                let _ = writeln!(s, "  object: {o}");
            }
        }
    }
    let _ = writeln!(s, "  what:   {}", v.what);
    let _ = writeln!(s, "  fix:    {}", v.fix);
    if let Some(p) = &v.policy {
        let _ = writeln!(s, "  rule:   {p}");
    }
}

/// The message when pushguard could not decide: the push is rejected (fail closed).
pub fn failure(error: &str, prefix: &str) -> String {
    let s = format!(
        "pushguard: push REJECTED: pushguard could not check this push, and rejects what it cannot check.\n  error: {error}\n  fix:   if the error names your push (a ref, a commit, a file), fix that and push again; otherwise tell the Git administrator, quoting this message.\n"
    );
    prefixed(&s, prefix)
}

fn prefixed(s: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        return s.to_string();
    }
    s.lines().map(|l| format!("{prefix}{l}\n")).collect()
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The JSON form of a decision (for `check --format json` and the audit record).
#[derive(Serialize)]
pub struct JsonReport<'a> {
    pub accepted: bool,
    pub mode: Mode,
    pub updates: Vec<JsonUpdate<'a>>,
    pub violations: &'a [Violation],
}

#[derive(Serialize)]
pub struct JsonUpdate<'a> {
    #[serde(rename = "ref")]
    pub name: &'a str,
    pub old: &'a str,
    pub new: &'a str,
    /// Absent when the push was not judged (the policy does not apply to the repository).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<UpdateKind>,
    pub commits: Vec<&'a str>,
}

pub fn json_updates(facts: &PushFacts) -> Vec<JsonUpdate<'_>> {
    facts
        .updates
        .iter()
        .map(|u| JsonUpdate {
            name: &u.update.name,
            old: u.update.old.as_str(),
            new: u.update.new.as_str(),
            kind: Some(u.kind),
            commits: u.new_commits.iter().map(|c| c.as_str()).collect(),
        })
        .collect()
}

pub fn json(decision: &Decision, facts: &PushFacts) -> String {
    let report = JsonReport {
        accepted: decision.accepted,
        mode: decision.mode,
        updates: json_updates(facts),
        violations: &decision.violations,
    };
    serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// SARIF 2.1.0, for CI systems that show code-scanning results (GitLab, GitHub, Gitea).
pub fn sarif(decision: &Decision) -> String {
    let mut rule_ids: Vec<&str> = decision
        .violations
        .iter()
        .map(|v| v.rule.as_str())
        .collect();
    rule_ids.sort();
    rule_ids.dedup();
    let results: Vec<serde_json::Value> = decision
        .violations
        .iter()
        .map(|v| {
            let mut text = format!("{} ({})", v.what, v.ref_name);
            if let Some(c) = &v.commit {
                text.push_str(&format!(" in commit {}", c.get(..10).unwrap_or(c)));
            }
            text.push_str(&format!(". Fix: {}", v.fix));
            let mut r = serde_json::json!({
                "ruleId": v.rule,
                "level": match v.severity { Severity::Deny => "error", Severity::Warn => "warning" },
                "message": { "text": text },
            });
            if let Some(p) = &v.path {
                r["locations"] = serde_json::json!([{
                    "physicalLocation": {
                        "artifactLocation": { "uri": p },
                        "region": { "startLine": v.line.unwrap_or(1), "startColumn": v.column.unwrap_or(1) }
                    }
                }]);
            }
            r
        })
        .collect();
    let doc = serde_json::json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": { "driver": {
                "name": "pushguard",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_ids.iter().map(|id| serde_json::json!({"id": id, "shortDescription": {"text": id}})).collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_prefix_is_on_every_line() {
        let out = failure("boom", "GL-HOOK-ERR: ");
        assert!(out.lines().count() >= 3);
        assert!(out.lines().all(|l| l.starts_with("GL-HOOK-ERR: ")));
        assert!(out.contains("boom"));
    }
}
