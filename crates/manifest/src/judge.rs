//! Judging one commit: object-level diff across all its changed files, rules, exceptions.
//!
//! The diff is by object identity across every file the commit changes, so an object moved to
//! another file is neither removed nor added. A changed object is judged on what the change
//! introduces: a hit whose location key the old version already had is not reported (unless
//! `judge = "all"`), which is how the caller reports each violation once, at the commit that
//! introduced it.

use std::collections::{BTreeMap, HashSet};

use crate::custom;
use crate::object::{objects_of, Identity, Object};
use crate::rules::{self, Hit};
use crate::settings::{JudgeMode, On, RuleId, Settings};
use crate::yaml::{self, Limits, Node};
use crate::{ChangeKind, FileChange, Finding};

struct Loaded {
    objects: Vec<Object>,
}

fn load_version(path: &str, bytes: &[u8], limits: &Limits) -> Result<Loaded, yaml::LoadError> {
    let docs = yaml::load(bytes, limits)?;
    Ok(Loaded {
        objects: objects_of(path, docs),
    })
}

fn finding_from_hit(obj: &Object, hit: Hit, change: ChangeKind) -> Finding {
    Finding {
        rule: hit.rule.as_str().to_string(),
        path: obj.path.clone(),
        line: hit.line,
        column: hit.column,
        object: Some(obj.label()),
        container: hit.container,
        message: hit.message,
        fix: hit.fix,
        change,
    }
}

/// What happened to one identity in this commit.
struct Pair<'a> {
    old: Vec<&'a Object>,
    new: Vec<&'a Object>,
}

pub(crate) fn judge(
    changes: &[FileChange<'_>],
    settings: &Settings,
    limits: &Limits,
    today: i64,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut old_objects = Vec::new();
    let mut new_objects = Vec::new();
    for change in changes {
        if let Some(old) = &change.old {
            // An old version that does not load holds no objects: the commit that broke it
            // was judged (and refused) when it came in.
            if let Ok(loaded) = load_version(old.path, old.bytes, limits) {
                old_objects.extend(loaded.objects);
            }
        }
        if let Some(new) = &change.new {
            match load_version(new.path, new.bytes, limits) {
                Ok(loaded) => new_objects.extend(loaded.objects),
                Err(e) => {
                    let (line, column) = e.position();
                    let limits_hit = e.is_limits();
                    findings.push(Finding {
                        rule: if limits_hit {
                            "manifest-limits"
                        } else {
                            "manifest-parse"
                        }
                        .to_string(),
                        path: new.path.to_string(),
                        line,
                        column,
                        object: None,
                        container: None,
                        message: e.message().to_string(),
                        fix: if limits_hit {
                            "split the file or remove the oversized content; pushguard refuses what it cannot judge cheaply".to_string()
                        } else {
                            "make the file unambiguous, valid YAML/JSON; pushguard refuses what it cannot read the way the cluster would".to_string()
                        },
                        change: if change.old.is_some() {
                            ChangeKind::Changed
                        } else {
                            ChangeKind::Added
                        },
                    });
                }
            }
        }
    }

    let mut pairs: BTreeMap<&Identity, Pair<'_>> = BTreeMap::new();
    for o in &old_objects {
        pairs
            .entry(&o.identity)
            .or_insert_with(|| Pair {
                old: Vec::new(),
                new: Vec::new(),
            })
            .old
            .push(o);
    }
    for o in &new_objects {
        pairs
            .entry(&o.identity)
            .or_insert_with(|| Pair {
                old: Vec::new(),
                new: Vec::new(),
            })
            .new
            .push(o);
    }

    let all = settings.judge == JudgeMode::All;
    for pair in pairs.values() {
        let old_canon: Vec<String> = pair.old.iter().map(|o| o.root.canonical()).collect();
        if pair.new.is_empty() {
            for old in &pair.old {
                removed(&mut findings, old, settings);
            }
            continue;
        }
        // Old keys: what the old versions already violated.
        let mut old_keys: HashSet<(RuleId, String)> = HashSet::new();
        let mut old_custom: HashSet<(String, String)> = HashSet::new();
        if !all {
            for old in &pair.old {
                for h in rules::check(old, settings) {
                    old_keys.insert((h.rule, h.key));
                }
                for rule in &settings.deny {
                    if applies_to_kind(rule, old) {
                        for hit in custom::evaluate(rule, &old.root) {
                            old_custom.insert((rule.id.clone(), hit.path));
                        }
                    }
                }
            }
        }
        for new in &pair.new {
            let change = if pair.old.is_empty() {
                ChangeKind::Added
            } else {
                ChangeKind::Changed
            };
            let unchanged =
                change == ChangeKind::Changed && old_canon.contains(&new.root.canonical());
            if unchanged && !all {
                continue;
            }
            for hit in rules::check(new, settings) {
                if old_keys.contains(&(hit.rule, hit.key.clone())) {
                    continue;
                }
                findings.push(finding_from_hit(new, hit, change));
            }
            for rule in &settings.deny {
                let wanted = match rule.on {
                    On::Any => true,
                    On::Added => change == ChangeKind::Added,
                    On::Changed => change == ChangeKind::Changed,
                    On::Removed => false,
                };
                if !wanted || !applies_to_kind(rule, new) {
                    continue;
                }
                for hit in custom::evaluate(rule, &new.root) {
                    if old_custom.contains(&(rule.id.clone(), hit.path.clone())) {
                        continue;
                    }
                    findings.push(custom_finding(rule, new, &hit, change));
                }
            }
            if unchanged {
                continue;
            }
            protected(&mut findings, new, settings, change);
            if change == ChangeKind::Changed {
                service_account_removed(&mut findings, &pair.old, new, settings);
            }
        }
    }

    findings.retain(|f| !excepted(f, settings, today));
    findings.sort_by(|a, b| {
        (a.path.as_str(), a.line, a.column, a.rule.as_str()).cmp(&(
            b.path.as_str(),
            b.line,
            b.column,
            b.rule.as_str(),
        ))
    });
    findings.dedup_by(|a, b| {
        a.path == b.path
            && a.line == b.line
            && a.column == b.column
            && a.rule == b.rule
            && a.message == b.message
    });
    findings
}

fn applies_to_kind(rule: &crate::settings::CustomRule, obj: &Object) -> bool {
    rule.kinds.is_empty() || rule.kinds.iter().any(|k| k == obj.kind())
}

fn custom_finding(
    rule: &crate::settings::CustomRule,
    obj: &Object,
    hit: &custom::CustomHit<'_>,
    change: ChangeKind,
) -> Finding {
    let detail = match &hit.value {
        Some(v) => format!(" (`{}` = `{}`)", hit.path, v),
        None => format!(" (`{}` is absent)", rule.field.text),
    };
    Finding {
        rule: rule.id.clone(),
        path: obj.path.clone(),
        line: hit.node.line,
        column: hit.node.column,
        object: Some(obj.label()),
        container: None,
        message: format!("{}{}", rule.message, detail),
        fix: rule.fix.clone().unwrap_or_else(|| {
            format!(
                "change `{}` so that custom rule `{}` no longer matches",
                rule.field.text, rule.id
            )
        }),
        change,
    }
}

fn position_of_namespace(obj: &Object) -> &Node {
    obj.root
        .path(&["metadata", "namespace"])
        .or_else(|| obj.root.path(&["metadata", "name"]))
        .unwrap_or(&obj.root)
}

fn in_protected_namespace(obj: &Object, settings: &Settings) -> Option<String> {
    let ns = &obj.identity.namespace;
    if settings.protected_namespaces.iter().any(|p| p == ns) {
        return Some(ns.clone());
    }
    if obj.identity.kind == "Namespace"
        && obj.identity.group.is_empty()
        && settings
            .protected_namespaces
            .iter()
            .any(|p| *p == obj.identity.name)
    {
        return Some(obj.identity.name.clone());
    }
    None
}

fn protected(findings: &mut Vec<Finding>, obj: &Object, settings: &Settings, change: ChangeKind) {
    if !settings.rules.contains(&RuleId::ProtectedNamespaces) || obj.kustomization_file {
        return;
    }
    let Some(ns) = in_protected_namespace(obj, settings) else {
        return;
    };
    let at = position_of_namespace(obj);
    let verb = match change {
        ChangeKind::Added => "adds",
        ChangeKind::Changed => "changes",
        ChangeKind::Removed => "removes",
    };
    findings.push(Finding {
        rule: RuleId::ProtectedNamespaces.as_str().to_string(),
        path: obj.path.clone(),
        line: at.line,
        column: at.column,
        object: Some(obj.label()),
        container: None,
        message: format!(
            "the commit {verb} {} in the protected namespace `{ns}`; only the block's signers may do that",
            obj.label()
        ),
        fix: "have the change signed by one of the signers named in this [[manifests]] block (the caller drops this finding for them)".to_string(),
        change,
    });
}

fn removed(findings: &mut Vec<Finding>, old: &Object, settings: &Settings) {
    protected(findings, old, settings, ChangeKind::Removed);
    if settings.rules.contains(&RuleId::DenyDelete)
        && !old.kustomization_file
        && settings.deny_delete.iter().any(|k| *k == old.identity.kind)
    {
        let at = old.root.path(&["metadata", "name"]).unwrap_or(&old.root);
        findings.push(Finding {
            rule: RuleId::DenyDelete.as_str().to_string(),
            path: old.path.clone(),
            line: at.line,
            column: at.column,
            object: Some(old.label()),
            container: None,
            message: format!(
                "the commit removes {}; objects of kind {} may not be deleted through Git (the cluster would prune it)",
                old.label(),
                old.identity.kind
            ),
            fix: "restore the object; delete it by a reviewed procedure outside this repository".to_string(),
            change: ChangeKind::Removed,
        });
    }
    for rule in &settings.deny {
        if matches!(rule.on, On::Removed | On::Any) && applies_to_kind(rule, old) {
            for hit in custom::evaluate(rule, &old.root) {
                findings.push(custom_finding(rule, old, &hit, ChangeKind::Removed));
            }
        }
    }
}

fn service_account_removed(
    findings: &mut Vec<Finding>,
    old: &[&Object],
    new: &Object,
    settings: &Settings,
) {
    if !settings.rules.contains(&RuleId::GitopsSources) || settings.flux_service_account {
        // With flux_service_account the single-object rule already reports a missing one.
        return;
    }
    let g = new.identity.group.as_str();
    let k = new.identity.kind.as_str();
    let flux = (g == "kustomize.toolkit.fluxcd.io" && k == "Kustomization")
        || (g == "helm.toolkit.fluxcd.io" && k == "HelmRelease");
    if !flux {
        return;
    }
    let sa = |o: &Object| {
        o.root
            .path(&["spec", "serviceAccountName"])
            .and_then(Node::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if old.iter().any(|o| sa(o)) && !sa(new) {
        let at = new.root.get("spec").unwrap_or(&new.root);
        findings.push(Finding {
            rule: RuleId::GitopsSources.as_str().to_string(),
            path: new.path.clone(),
            line: at.line,
            column: at.column,
            object: Some(new.label()),
            container: None,
            message: format!(
                "the commit removes spec.serviceAccountName from {}: Flux would apply it with the controller's own (cluster-admin) rights",
                new.label()
            ),
            fix: "keep spec.serviceAccountName".to_string(),
            change: ChangeKind::Changed,
        });
    }
}

/// Glob to regex: in paths `*` stays within a directory and `**` crosses them; in object
/// names (`cross_slash`) `*` matches anything.
fn glob_regex(glob: &str, cross_slash: bool) -> Option<regex::Regex> {
    let mut re = String::from("^");
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    while let Some(c) = chars.get(i) {
        match c {
            '*' if chars.get(i + 1) == Some(&'*') => {
                if chars.get(i + 2) == Some(&'/') {
                    re.push_str("(?:.*/)?");
                    i += 3;
                } else {
                    re.push_str(".*");
                    i += 2;
                }
                continue;
            }
            '*' => re.push_str(if cross_slash { ".*" } else { "[^/]*" }),
            '?' => re.push_str(if cross_slash { "." } else { "[^/]" }),
            other => re.push_str(&regex::escape(&other.to_string())),
        }
        i += 1;
    }
    re.push('$');
    regex::Regex::new(&re).ok()
}

/// Whether `glob` matches `text` (paths: `*` within a directory, `**` across).
pub fn glob_matches(glob: &str, text: &str, cross_slash: bool) -> bool {
    glob_regex(glob, cross_slash).is_some_and(|r| r.is_match(text))
}

fn excepted(f: &Finding, settings: &Settings, today: i64) -> bool {
    settings.exceptions.iter().any(|e| {
        if today > e.expires.0 {
            return false;
        }
        if e.rule != "*" && e.rule != f.rule {
            return false;
        }
        let object_ok = match &f.object {
            Some(o) => glob_matches(&e.object, o, true),
            None => e.object == "*",
        };
        let path_ok = e
            .path
            .as_ref()
            .is_none_or(|p| glob_matches(p, &f.path, false));
        object_ok && path_ok
    })
}
