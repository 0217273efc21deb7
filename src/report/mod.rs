//! What the pusher, CI and the administrator see: the message in `git push` output, the
//! message of `pushguard check`, the JSON form of a decision, SARIF, and the audit record.
//!
//! The message is built for the `remote:` lines of `git push`: a summary first, then one block
//! per violation (ref, commit, path, object, rule, what, fix, where the rule is written).
//! Identical violations (same rule, ref, file, object and text, commits aside) are one block
//! with a count and the first few commits: a refused push of 100,000 unsigned commits is one
//! block, not 100,000. Free text is wrapped so that a line, with git's `remote: ` and GitLab's
//! `GL-HOOK-ERR: ` in front, fits 80 columns. On GitLab every line carries `GL-HOOK-ERR: ` so
//! the web UI shows it too. No colour: hook output is never a terminal.

pub mod audit;
pub mod rules;
mod sarif;

pub use sarif::{encode_path, fingerprint, sarif, sarif_with, SarifOptions, DOCS_URL_VAR};

use std::collections::HashMap;
use std::fmt::Write;

use serde::ser::SerializeMap;
use serde::Serialize;

use crate::facts::{PushFacts, UpdateKind};
use crate::policy::eval::{Decision, Violation};
use crate::policy::{Mode, Severity};

/// The width a reader's terminal is assumed to have.
pub const WIDTH: usize = 80;
/// What git prints before each line of hook output.
const REMOTE: &str = "remote: ";
/// How many commits a grouped block names before "… and N more".
pub const GROUP_COMMITS_SHOWN: usize = 3;
/// How many blocks a message shows; the rest is counted in one line (the JSON output and the
/// audit record keep them all).
pub const MAX_BLOCKS: usize = 25;

/// Who reads the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// The pusher, in `git push` output: the push itself was refused.
    Push,
    /// `pushguard check` (CI, a dry run): nothing was pushed; it says what a push would get.
    Check,
}

/// Renders the hook's decision for the pusher (`remote:` lines; `prefix` is the host's).
pub fn human(decision: &Decision, facts: &PushFacts, policy_path: &str, prefix: &str) -> String {
    render(decision, facts, policy_path, prefix, Audience::Push)
}

/// Renders `pushguard check`'s verdict: what a push of the range would get.
pub fn human_check(decision: &Decision, facts: &PushFacts, policy_path: &str) -> String {
    render(decision, facts, policy_path, "", Audience::Check)
}

/// The columns left for text once git's `remote: ` and the host's prefix are in front.
fn width_for(prefix: &str, audience: Audience) -> usize {
    match audience {
        Audience::Push => WIDTH.saturating_sub(REMOTE.len() + prefix.chars().count()),
        Audience::Check => WIDTH,
    }
    .max(40)
}

fn render(
    decision: &Decision,
    facts: &PushFacts,
    policy_path: &str,
    prefix: &str,
    audience: Audience,
) -> String {
    let width = width_for(prefix, audience);
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
    let target = match facts.updates.as_slice() {
        [one] => format!("to {}", one.update.name),
        _ => "of these refs".to_string(),
    };
    let header = match (audience, decision.violations.is_empty()) {
        (Audience::Push, true) => format!("pushguard: push accepted ({scope})"),
        (Audience::Check, true) => format!(
            "pushguard check: accepted: a push {target} satisfies policy {policy_path} ({scope})"
        ),
        (Audience::Push, false) if !decision.accepted => format!(
            "pushguard: push REJECTED: {denials} violation{} of policy {policy_path} ({scope})",
            plural(denials)
        ),
        (Audience::Check, false) if !decision.accepted => format!(
            "pushguard check: REJECTED: a push {target} would be refused: {denials} violation{} of policy {policy_path} ({scope})",
            plural(denials)
        ),
        (Audience::Push, false) if decision.mode == Mode::Audit && denials > 0 => format!(
            "pushguard: AUDIT MODE, push accepted: {denials} violation{} would reject it once the policy is enforced ({scope})",
            plural(denials)
        ),
        (Audience::Check, false) if decision.mode == Mode::Audit && denials > 0 => format!(
            "pushguard check: accepted (the policy is in audit mode): {denials} violation{} would refuse a push {target} once the policy is enforced ({scope})",
            plural(denials)
        ),
        (Audience::Push, false) => format!(
            "pushguard: push accepted with {warnings} warning{} ({scope})",
            plural(warnings)
        ),
        (Audience::Check, false) => format!(
            "pushguard check: accepted with {warnings} warning{} ({scope})",
            plural(warnings)
        ),
    };
    wrap_into(&mut s, "", "  ", &header, width);
    if decision.violations.is_empty() {
        return prefixed(&s, prefix);
    }
    let groups = group(&decision.violations);
    for g in groups.iter().take(MAX_BLOCKS) {
        s.push('\n');
        block(&mut s, g, width);
    }
    if groups.len() > MAX_BLOCKS {
        let hidden: usize = groups[MAX_BLOCKS..].iter().map(|g| g.members.len()).sum();
        let where_all = match audience {
            Audience::Push => "the administrators' audit log records every one",
            Audience::Check => "`--format json` lists every one",
        };
        s.push('\n');
        wrap_into(
            &mut s,
            "",
            "  ",
            &format!(
                "… and {hidden} more violation{} in {} more block{} not shown; {where_all}.",
                plural(hidden),
                groups.len() - MAX_BLOCKS,
                plural(groups.len() - MAX_BLOCKS)
            ),
            width,
        );
    }
    if !decision.accepted {
        s.push('\n');
        wrap_into(&mut s, "", "", &closing(decision, facts, audience), width);
    }
    prefixed(&s, prefix)
}

/// The last line of a refusal: what the reader does next, for what was refused.
fn closing(decision: &Decision, facts: &PushFacts, audience: Audience) -> String {
    let denied = || {
        decision
            .violations
            .iter()
            .filter(|v| v.severity == Severity::Deny)
    };
    let on_commits = denied().any(|v| v.commit.is_some());
    let kind_of = |v: &Violation| {
        facts
            .updates
            .iter()
            .find(|u| u.update.name == v.ref_name)
            .map(|u| u.kind)
    };
    let only_deletions = denied().all(|v| kind_of(v) == Some(UpdateKind::Delete));
    match audience {
        Audience::Check => "pushguard check pushed nothing and changed nothing: it says what a push would get. Exit status 1: fix what is listed above before you push.".to_string(),
        Audience::Push if on_commits => {
            "Nothing was updated: fix the commits listed above (each `fix:` says how) and push again.".to_string()
        }
        Audience::Push if only_deletions => {
            "Nothing was updated: no ref was deleted, and each ref is as it was; the `fix:` above says what to do instead of deleting it.".to_string()
        }
        Audience::Push => {
            "Nothing was updated: no ref moved; each `fix:` above says what to change before you push again.".to_string()
        }
    }
}

/// Identical violations: everything but the commit is the same.
struct Group<'a> {
    members: Vec<&'a Violation>,
}

/// Groups violations that differ only in their commit, keeping the order of first appearance.
fn group(violations: &[Violation]) -> Vec<Group<'_>> {
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    for v in violations {
        let key = GroupKey::of(v);
        match index.get(&key) {
            // Only commit-level violations merge: a ref-level one has nothing to count.
            Some(&i) if v.commit.is_some() => groups[i].members.push(v),
            _ => {
                index.insert(key, groups.len());
                groups.push(Group { members: vec![v] });
            }
        }
    }
    groups
}

#[derive(Hash, PartialEq, Eq)]
struct GroupKey {
    rule: String,
    deny: bool,
    ref_name: String,
    has_commit: bool,
    path: Option<String>,
    line: Option<u32>,
    column: Option<u32>,
    object: Option<String>,
    container: Option<String>,
    what: String,
    fix: String,
    policy: Option<String>,
}

impl GroupKey {
    fn of(v: &Violation) -> GroupKey {
        let norm = |text: &str| match &v.commit {
            Some(c) => {
                let t = text.replace(c.as_str(), "<commit>");
                match c.get(..7) {
                    Some(short) => t.replace(short, "<commit>"),
                    None => t,
                }
            }
            None => text.to_string(),
        };
        GroupKey {
            rule: v.rule.clone(),
            deny: v.severity == Severity::Deny,
            ref_name: v.ref_name.clone(),
            has_commit: v.commit.is_some(),
            path: v.path.clone(),
            line: v.line,
            column: v.column,
            object: v.object.clone(),
            container: v.container.clone(),
            what: norm(&v.what),
            fix: norm(&v.fix),
            policy: v.policy.clone(),
        }
    }
}

fn block(s: &mut String, g: &Group<'_>, width: usize) {
    let Some(v) = g.members.first() else { return };
    let level = match v.severity {
        Severity::Deny => "error",
        Severity::Warn => "warning",
    };
    let n = g.members.len();
    if n > 1 {
        let _ = writeln!(s, "{level}[{}] {}: {n} commits", v.rule, v.ref_name);
    } else {
        let _ = writeln!(s, "{level}[{}] {}", v.rule, v.ref_name);
    }
    for m in g.members.iter().take(GROUP_COMMITS_SHOWN) {
        if let Some(c) = &m.commit {
            let short = c.get(..10).unwrap_or(c);
            let subject = truncate(m.subject.as_deref().unwrap_or(""), width.saturating_sub(24));
            let _ = writeln!(s, "  commit: {short} {subject:?}");
        }
    }
    if n > GROUP_COMMITS_SHOWN {
        let _ = writeln!(
            s,
            "          … and {} more commit{} with the same violation",
            n - GROUP_COMMITS_SHOWN,
            plural(n - GROUP_COMMITS_SHOWN)
        );
    }
    if let Some(p) = &v.path {
        match (v.line, v.column) {
            (Some(l), Some(c)) => {
                let _ = writeln!(s, "  path:   {p}:{l}:{c}");
            }
            (Some(l), None) => {
                let _ = writeln!(s, "  path:   {p}:{l}");
            }
            _ => {
                let _ = writeln!(s, "  path:   {p}");
            }
        }
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
    let what = if n > 1 && g.members.iter().any(|m| m.what != v.what) {
        format!("{} (as worded for the first commit)", v.what)
    } else {
        v.what.clone()
    };
    wrap_into(s, "  what:   ", "          ", &what, width);
    wrap_into(s, "  fix:    ", "          ", &v.fix, width);
    if let Some(p) = &v.policy {
        let _ = writeln!(s, "  rule:   {p}");
    }
}

/// At most `max` characters of `text`, with `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max.max(1) {
        return text.to_string();
    }
    let mut t: String = text.chars().take(max.max(2) - 1).collect();
    t.push('…');
    t
}

/// Appends `text` wrapped to `width` columns: the first line after `first`, the next ones
/// after `rest`. A `code span` is kept on one line when it fits one; a word longer than a line
/// stays whole (a path or a URL is not cut).
pub fn wrap_into(s: &mut String, first: &str, rest: &str, text: &str, width: usize) {
    let mut lead = first;
    let mut line = String::new();
    let avail = |lead: &str| width.saturating_sub(lead.chars().count()).max(20);
    for unit in units(text, avail(rest)) {
        let len = line.chars().count();
        let add = unit.chars().count();
        if len > 0 && len + 1 + add > avail(lead) {
            let _ = writeln!(s, "{lead}{line}");
            lead = rest;
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&unit);
    }
    let _ = writeln!(s, "{lead}{line}");
}

/// The words of `text`, with a `code span` that fits `max` columns joined into one unit.
fn units(text: &str, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut span: Vec<&str> = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let ticks = word.matches('`').count();
        if span.is_empty() {
            if ticks % 2 == 1 {
                span.push(word);
            } else {
                out.push(word.to_string());
            }
            continue;
        }
        span.push(word);
        if ticks % 2 == 1 {
            let joined = span.join(" ");
            if joined.chars().count() <= max {
                out.push(joined);
            } else {
                out.extend(span.iter().map(|w| w.to_string()));
            }
            span.clear();
        }
    }
    out.extend(span.iter().map(|w| w.to_string()));
    out
}

/// The message when pushguard could not decide: the push is rejected (fail closed).
pub fn failure(error: &str, prefix: &str) -> String {
    let width = width_for(prefix, Audience::Push);
    let mut s = String::new();
    wrap_into(
        &mut s,
        "",
        "  ",
        "pushguard: push REJECTED: pushguard could not check this push, and rejects what it cannot check.",
        width,
    );
    // The error stays one line: the administrator searches for it, and quotes it whole.
    let _ = writeln!(s, "  error: {error}");
    wrap_into(
        &mut s,
        "  fix:   ",
        "         ",
        "if the error names your push (a ref, a commit, a file), fix that and push again; otherwise tell the Git administrator, quoting this message.",
        width,
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

/// Serializes violations for the JSON output and the audit record: every field of
/// [`Violation`] (`path` the file alone, `line` and `column` apart), plus `location`, the
/// `path:line:col` text that `path` carried before record version 2 (for readers that show it).
pub fn serialize_violations<S: serde::Serializer>(
    violations: &[Violation],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(violations.iter().map(JsonViolation))
}

struct JsonViolation<'a>(&'a Violation);

impl Serialize for JsonViolation<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("rule", &v.rule)?;
        m.serialize_entry("severity", &v.severity)?;
        m.serialize_entry("ref", &v.ref_name)?;
        m.serialize_entry("commit", &v.commit)?;
        m.serialize_entry("subject", &v.subject)?;
        m.serialize_entry("path", &v.path)?;
        m.serialize_entry("line", &v.line)?;
        m.serialize_entry("column", &v.column)?;
        let location = v.path.as_ref().map(|p| match (v.line, v.column) {
            (Some(l), Some(c)) => format!("{p}:{l}:{c}"),
            (Some(l), None) => format!("{p}:{l}"),
            _ => p.clone(),
        });
        m.serialize_entry("location", &location)?;
        m.serialize_entry("object", &v.object)?;
        m.serialize_entry("container", &v.container)?;
        m.serialize_entry("what", &v.what)?;
        m.serialize_entry("fix", &v.fix)?;
        m.serialize_entry("policy", &v.policy)?;
        m.end()
    }
}

/// The JSON form of a decision (for `check --format json` and the audit record).
#[derive(Serialize)]
pub struct JsonReport<'a> {
    pub accepted: bool,
    pub mode: Mode,
    pub updates: Vec<JsonUpdate<'a>>,
    #[serde(serialize_with = "serialize_violations")]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_prefix_is_on_every_line() {
        let out = failure("boom", "GL-HOOK-ERR: ");
        assert!(out.lines().count() >= 3);
        assert!(out.lines().all(|l| l.starts_with("GL-HOOK-ERR: ")));
        assert!(out.contains("boom"));
        // 80 columns once git's `remote: ` is in front (the error line aside: it stays whole).
        assert!(out
            .lines()
            .filter(|l| !l.contains("error: "))
            .all(|l| l.chars().count() <= WIDTH - REMOTE.len()));
    }

    #[test]
    fn wrapping_keeps_code_spans_whole_and_lines_short() {
        let text = "rewrite the commit: `git commit --amend --reset-author --no-edit`, or `git rebase -i --exec 'git commit --amend --reset-author --no-edit' <base>` for several; see https://example.com/a/very/long/path/that/cannot/be/broken/anywhere/at/all/x";
        let mut s = String::new();
        wrap_into(&mut s, "  fix:    ", "          ", text, 60);
        let lines: Vec<&str> = s.lines().collect();
        assert!(lines.len() >= 4, "{s}");
        assert!(lines[0].starts_with("  fix:    rewrite"));
        assert!(
            lines[1..].iter().all(|l| l.starts_with("          ")),
            "{s}"
        );
        for l in &lines {
            let long_word = l.split(' ').any(|w| w.chars().count() > 50);
            assert!(l.chars().count() <= 60 || long_word, "{l:?}");
        }
        assert!(
            lines
                .iter()
                .any(|l| l.contains("`git commit --amend --reset-author --no-edit`")),
            "{s}"
        );
        // A span longer than a line is broken at its spaces rather than overflowing.
        let tail = lines.iter().find(|l| l.contains("<base>`")).unwrap();
        assert!(tail.chars().count() <= 60, "{tail:?}");
        // Nothing is lost.
        let words: Vec<&str> = text.split(' ').collect();
        let back: Vec<&str> = s.split_whitespace().filter(|w| *w != "fix:").collect();
        assert_eq!(words, back);
    }

    fn v(rule: &str, commit: Option<&str>, what: &str) -> Violation {
        Violation {
            rule: rule.into(),
            severity: Severity::Deny,
            ref_name: "refs/heads/main".into(),
            commit: commit.map(String::from),
            subject: commit.map(|_| "s".into()),
            path: None,
            line: None,
            column: None,
            object: None,
            container: None,
            what: what.into(),
            fix: "f".into(),
            policy: Some("p.toml:3".into()),
        }
    }

    #[test]
    fn a_long_list_is_capped_with_a_count_and_check_speaks_for_itself() {
        let facts = PushFacts {
            updates: vec![],
            commits: HashMap::new(),
            host: crate::hook::host::HostEnv::from_vars(&[], None),
            push_cert: None,
        };
        // 40 violations on 40 different files: 40 blocks that cannot be grouped.
        let violations: Vec<Violation> = (0..40)
            .map(|i| {
                let mut x = v("files.forbidden", Some(&"c".repeat(40)), "a key");
                x.path = Some(format!("keys/{i}.pem"));
                x
            })
            .collect();
        let d = Decision {
            accepted: false,
            mode: Mode::Enforce,
            violations,
        };
        let out = human(&d, &facts, "p.toml", "");
        assert_eq!(out.matches("error[files.forbidden]").count(), MAX_BLOCKS);
        assert!(
            out.contains("… and 15 more violations in 15 more blocks not shown"),
            "{out}"
        );
        assert!(out.contains("push REJECTED: 40 violations"), "{out}");
        let out = human_check(&d, &facts, "p.toml");
        assert!(
            out.starts_with("pushguard check: REJECTED: a push of these refs would be refused"),
            "{out}"
        );
        assert!(out.contains("`--format json` lists"), "{out}");
        assert!(
            !out.contains("Nothing was updated") && !out.contains("push REJECTED"),
            "{out}"
        );
    }

    #[test]
    fn groups_differ_only_in_the_commit() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let list = vec![
            v("signature.missing", Some(&a), "not signed"),
            v("ref.force-push", None, "not a fast-forward"),
            v("signature.missing", Some(&b), "not signed"),
            // The text names the commit: still the same violation.
            v(
                "path.signers",
                Some(&a),
                &format!("commit {} has no key", &a[..7]),
            ),
            v(
                "path.signers",
                Some(&b),
                &format!("commit {} has no key", &b[..7]),
            ),
            // Another text: another block.
            v("signature.missing", Some(&b), "signed by a stranger"),
            v("ref.force-push", None, "not a fast-forward"),
        ];
        let groups = group(&list);
        let sizes: Vec<usize> = groups.iter().map(|g| g.members.len()).collect();
        assert_eq!(sizes, vec![2, 1, 2, 1, 1]);
        let mut s = String::new();
        block(&mut s, &groups[2], 72);
        assert!(
            s.contains("error[path.signers] refs/heads/main: 2 commits"),
            "{s}"
        );
        assert!(s.contains("(as worded for the first commit)"), "{s}");
    }
}
