//! What each rule id means, for the SARIF rule descriptors (`shortDescription`,
//! `fullDescription`, `help`, `helpUri`).
//!
//! The text is not written twice: it is read, at compile time, from the documentation the
//! administrator reads — the "Rule ids" table of `docs/policy.md` for the policy's rules, and
//! the `### \`id\`` sections of `docs/rules.md` for the manifest rules — so the descriptions a
//! code-scanning alert shows cannot drift from the docs (a test checks that every rule id the
//! code can report has its entry).

const POLICY_MD: &str = include_str!("../../docs/policy.md");
const RULES_MD: &str = include_str!("../../docs/rules.md");

/// GitHub limits `shortDescription` and `fullDescription` to 1024 characters.
const MAX_DESCRIPTION: usize = 1024;

/// The documentation of one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleDoc {
    pub id: String,
    /// One sentence.
    pub short: String,
    /// A paragraph.
    pub full: String,
    /// Where the rule is set in the policy (`[[ref]] force_push = false`), when known.
    pub written_in: Option<String>,
    /// The documentation file, relative to the project root (`docs/policy.md`).
    pub file: &'static str,
    /// The anchor in that file (`rule-ref.force-push`).
    pub anchor: String,
    /// Whether the docs have an entry for this very id (false: a custom rule, or an unknown id).
    pub documented: bool,
}

impl RuleDoc {
    /// `docs/policy.md#rule-ref.force-push`.
    pub fn reference(&self) -> String {
        format!("{}#{}", self.file, self.anchor)
    }
}

/// The documentation of `id`. Every id gets one: an id the docs do not name (a custom
/// `[[manifests.deny]]` rule) gets a description that says where such rules are written.
pub fn describe(id: &str) -> RuleDoc {
    if let Some(doc) = policy_rule(id) {
        return doc;
    }
    let fixed = |full: &str, anchor: &str| RuleDoc {
        id: id.to_string(),
        short: first_sentence(full),
        full: cap(full),
        written_in: Some("[[manifests]]".into()),
        file: "docs/rules.md",
        anchor: anchor.to_string(),
        documented: true,
    };
    match id {
        "manifest-parse" => {
            return fixed(
                "A changed manifest file that cannot be read unambiguously (YAML syntax, duplicate keys, tags the cluster reads otherwise): what cannot be read cannot be judged.",
                "how-a-commit-is-judged",
            )
        }
        "manifest-limits" => {
            return fixed(
                "A changed manifest file over the size budgets (bytes, documents, alias expansion, depth).",
                "how-a-commit-is-judged",
            )
        }
        "manifest-render" => {
            return fixed(
                "A kustomization or GitOps source that could not be rendered, or was rendered with a doubt: the objects it makes cannot be judged.",
                "how-a-commit-is-judged",
            )
        }
        "pod-security.baseline" => {
            return fixed(
                "A pod spec that fails a control of the Kubernetes Pod Security Standards at the baseline level (`pod_security`), judged as the cluster's Pod Security Admission would.",
                &slug("`pod-security.baseline`"),
            )
        }
        "pod-security.restricted" => {
            return fixed(
                "A pod spec that fails a control of the Kubernetes Pod Security Standards that only the restricted level has (`pod_security`), judged as the cluster's Pod Security Admission would.",
                &slug("`pod-security.restricted`"),
            )
        }
        _ => {}
    }
    if let Some(full) = manifest_section(id) {
        return RuleDoc {
            id: id.to_string(),
            short: first_sentence(&full),
            full: cap(&full),
            written_in: Some("[[manifests]] rules".into()),
            file: "docs/rules.md",
            anchor: slug(&format!("`{id}`")),
            documented: true,
        };
    }
    let full = format!(
        "The manifest rule `{id}`: a custom rule of the policy's `[[manifests.deny]]` blocks (its message says what it refuses), or a rule this version of pushguard does not document."
    );
    RuleDoc {
        id: id.to_string(),
        short: first_sentence(&full),
        full,
        written_in: Some("[[manifests.deny]]".into()),
        file: "docs/rules.md",
        anchor: slug("Custom rules: `[[manifests.deny]]`"),
        documented: false,
    }
}

/// A row of the "Rule ids" table in `docs/policy.md`:
/// `| <a id="rule-ID"></a>\`ID\` | what it refuses | written in |`.
fn policy_rule(id: &str) -> Option<RuleDoc> {
    let marker = format!("<a id=\"rule-{id}\"></a>");
    let line = POLICY_MD
        .lines()
        .find(|l| l.starts_with("| ") && l.contains(&marker))?;
    let cells: Vec<&str> = line
        .trim()
        .trim_matches('|')
        .split(" | ")
        .map(str::trim)
        .collect();
    let full = cells.get(1)?.to_string();
    Some(RuleDoc {
        id: id.to_string(),
        short: first_sentence(&full),
        full: cap(&full),
        written_in: cells.get(2).map(|c| strip_links(c)),
        file: "docs/policy.md",
        anchor: format!("rule-{id}"),
        documented: true,
    })
}

/// The first paragraph of the `### \`id\`` section of `docs/rules.md`.
fn manifest_section(id: &str) -> Option<String> {
    let heading = format!("### `{id}`");
    let mut lines = RULES_MD.lines().skip_while(|l| l.trim_end() != heading);
    lines.next()?;
    let para: Vec<&str> = lines
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("```") && !l.starts_with('#'))
        .map(str::trim)
        .collect();
    (!para.is_empty()).then(|| para.join(" "))
}

/// GitHub's anchor for a Markdown heading: lower case, letters, digits, `-` and `_` kept,
/// spaces to `-`, everything else dropped.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// The anchors a Markdown file defines: its headings' slugs and its `<a id="…">` tags.
pub fn anchors(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if let Some(h) = line.strip_prefix('#') {
            let text = h.trim_start_matches('#').trim();
            let text = text.split(" {#").next().unwrap_or(text);
            out.push(slug(text));
        }
        let mut rest = line;
        while let Some(i) = rest.find("<a id=\"") {
            let after = &rest[i + 7..];
            let Some(end) = after.find('"') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

/// `[\`[[ref]]\`](#ref) \`force_push = false\`` → `` `[[ref]]` `force_push = false` ``.
fn strip_links(cell: &str) -> String {
    let mut out = String::new();
    let mut rest = cell;
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](").map(|m| open + m) else {
            break;
        };
        let Some(close) = rest[mid..].find(')').map(|c| mid + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..mid]);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn first_sentence(text: &str) -> String {
    let end = text
        .match_indices(". ")
        .map(|(i, _)| i + 1)
        .next()
        .unwrap_or(text.len());
    cap(&text[..end])
}

fn cap(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION {
        return text.to_string();
    }
    let mut s: String = text.chars().take(MAX_DESCRIPTION - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use pushguard_manifest::settings::RuleId;

    #[test]
    fn every_policy_rule_id_has_a_table_row_and_the_table_no_stale_row() {
        let ids = crate::policy::eval::RULE_IDS;
        for id in ids {
            let d = describe(id);
            assert!(d.documented && d.file == "docs/policy.md", "{id}: {d:?}");
            assert!(d.short.len() > 15 && d.short.ends_with('.'), "{id}: {d:?}");
            assert!(d.written_in.as_deref().is_some_and(|w| !w.contains("](")));
        }
        let rows = POLICY_MD
            .lines()
            .filter(|l| l.starts_with("| <a id=\"rule-"))
            .count();
        assert_eq!(
            rows,
            ids.len(),
            "the Rule ids table has a row no code reports"
        );
    }

    #[test]
    fn every_manifest_rule_is_described_from_its_section() {
        for rule in RuleId::ALL {
            let id = rule.as_str();
            let d = describe(id);
            assert!(d.documented && d.file == "docs/rules.md", "{id}: {d:?}");
            assert!(d.full.len() > 20, "{id}: {d:?}");
            assert!(!d.full.contains("```"), "{id}: {d:?}");
        }
        let d = describe("privileged");
        assert!(d.full.contains("privileged: true"), "{d:?}");
        let custom = describe("no-team-b-nodeport");
        assert!(!custom.documented);
        assert!(custom.full.contains("[[manifests.deny]]"));
    }

    #[test]
    fn every_anchor_a_rule_links_to_exists() {
        let policy = anchors(POLICY_MD);
        let rules = anchors(RULES_MD);
        let mut ids: Vec<String> = crate::policy::eval::RULE_IDS
            .iter()
            .map(|s| s.to_string())
            .collect();
        ids.extend(RuleId::ALL.iter().map(|r| r.as_str().to_string()));
        ids.extend(
            [
                "manifest-parse",
                "manifest-limits",
                "manifest-render",
                "pod-security.baseline",
                "pod-security.restricted",
                "a-custom-rule",
            ]
            .map(String::from),
        );
        for id in ids {
            let d = describe(&id);
            let known = if d.file == "docs/policy.md" {
                &policy
            } else {
                &rules
            };
            assert!(
                known.contains(&d.anchor),
                "{id}: no anchor {}",
                d.reference()
            );
        }
    }

    #[test]
    fn slugs_and_links_read_as_github_renders_them() {
        assert_eq!(slug("`pod-security.baseline`"), "pod-securitybaseline");
        assert_eq!(
            slug("Custom rules: `[[manifests.deny]]`"),
            "custom-rules-manifestsdeny"
        );
        assert_eq!(
            strip_links("[`[[ref]]`](#ref) `force_push = false`"),
            "`[[ref]]` `force_push = false`"
        );
        assert_eq!(first_sentence("One. Two."), "One.");
        assert_eq!(cap(&"x".repeat(2000)).chars().count(), MAX_DESCRIPTION);
    }
}
