//! The Applications an Argo CD `ApplicationSet` makes from this repository's directories.
//!
//! A git `directories` generator turns every directory of the repository that matches its
//! paths into parameters (`path`, `path.basename`, …) and the template into one Application
//! each. Whoever can add a directory there chooses an Application, and often its destination
//! namespace (`destination.namespace: '{{path.basename}}'`): a directory named `kube-system`
//! deploys into `kube-system`. So such a set is a root: each generated Application is rendered
//! and judged, and the directories listed are in the closure (a directory added is a change
//! to the root). What this module does not expand exactly — the `files` generator, the other
//! generators next to a git one, globs beyond `*` and `?` in whole components, template syntax
//! it does not know — is a `manifest-render` problem.

use super::argo::argo_application;
use super::resources::problem;
use super::tree::{join, Resolved, Tree, TreeError};
use super::Rendered;
use crate::yaml::{Key, Limits, Node, Value};

/// Whether an `ApplicationSet` takes parameters from this repository (a `git` generator), so
/// it is rendered as a root.
pub fn uses_repository(set: &Node) -> bool {
    set.path(&["spec", "generators"])
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .any(|g| g.get("git").is_some_and(|g| !g.is_null()))
}

/// Most Applications one set may make here.
const MAX_APPS: usize = 500;

/// What the Applications an `ApplicationSet` makes from this repository apply.
pub fn argo_application_set(
    tree: &Tree,
    set: &Node,
    file: &str,
    limits: &Limits,
) -> Result<Rendered, TreeError> {
    let mut out = Rendered::default();
    let refuse = |out: &mut Rendered, at: &Node, why: String| {
        out.problems.push(problem(
            file,
            at.line,
            at.column,
            format!("ApplicationSet: {why}, so the Applications it makes cannot be judged"),
            "list the Applications in the repository, or generate them from `git` `directories` with `*` globs and the `path` parameters only (docs/rules.md, Argo CD)",
        ));
    };
    let spec = set.get("spec");
    let generators = spec
        .and_then(|s| s.get("generators"))
        .map(Node::as_seq)
        .unwrap_or(&[]);
    let Some(template) = spec
        .and_then(|s| s.get("template"))
        .filter(|t| matches!(t.value, Value::Map(_)))
    else {
        refuse(&mut out, set, "no `template`".to_string());
        return Ok(out);
    };
    if spec.and_then(|s| s.get("templatePatch")).is_some() {
        refuse(&mut out, set, "a `templatePatch`".to_string());
        return Ok(out);
    }
    let go = spec
        .and_then(|s| s.get("goTemplate"))
        .and_then(Node::as_bool)
        == Some(true);
    let mut dirs: Vec<String> = Vec::new();
    for g in generators {
        let Some(git) = g.get("git").filter(|g| !g.is_null()) else {
            refuse(
                &mut out,
                g,
                "a generator other than `git` next to a `git` one".to_string(),
            );
            return Ok(out);
        };
        if git.get("files").is_some_and(|f| !f.is_null()) {
            refuse(&mut out, git, "a `git` `files` generator".to_string());
            return Ok(out);
        }
        let mut include: Vec<String> = Vec::new();
        let mut exclude: Vec<String> = Vec::new();
        for d in git.get("directories").map(Node::as_seq).unwrap_or(&[]) {
            let Some(pattern) = d.get("path").and_then(Node::as_str) else {
                continue;
            };
            if pattern.contains(['[', '\\', '{']) || pattern.contains("**") {
                refuse(&mut out, d, format!("the directory pattern `{pattern}`"));
                return Ok(out);
            }
            let found = matching_dirs(tree, pattern)?;
            if d.get("exclude").and_then(Node::as_bool) == Some(true) {
                exclude.extend(found);
            } else {
                include.extend(found);
            }
        }
        for d in include {
            if !exclude.contains(&d) && !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    if dirs.len() > MAX_APPS {
        refuse(&mut out, set, format!("more than {MAX_APPS} Applications"));
        return Ok(out);
    }
    for dir in dirs {
        let mut app = template.clone();
        let mut unknown = None;
        substitute(&mut app, &dir, go, &mut unknown, 0);
        if let Some(text) = unknown {
            refuse(&mut out, template, format!("the template text `{text}`"));
            return Ok(out);
        }
        let mut entries = match app.value {
            Value::Map(e) => e,
            _ => Vec::new(),
        };
        let key = |name: &str| Key {
            name: name.to_string(),
            line: template.line,
            column: template.column,
        };
        let scalar = |text: &str| Node {
            value: Value::Str(text.to_string()),
            line: template.line,
            column: template.column,
        };
        entries.retain(|(k, _)| k.name != "apiVersion" && k.name != "kind");
        entries.insert(0, (key("kind"), scalar("Application")));
        entries.insert(0, (key("apiVersion"), scalar("argoproj.io/v1alpha1")));
        let app = Node {
            value: Value::Map(entries),
            line: template.line,
            column: template.column,
        };
        let r = argo_application(tree, &app, file, limits)?;
        out.objects.extend(r.objects);
        out.problems.extend(r.problems);
    }
    Ok(out)
}

/// The directories of the tree a `directories` pattern matches (`*` and `?` within one
/// component), each listing read through `tree`.
fn matching_dirs(tree: &Tree, pattern: &str) -> Result<Vec<String>, TreeError> {
    let parts: Vec<&str> = pattern
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let mut current = vec![String::new()];
    for part in parts {
        let mut next = Vec::new();
        for dir in &current {
            let Some(entries) = tree.list(dir)? else {
                continue;
            };
            for (name, to) in entries {
                if matches!(to, Resolved::Dir(_)) && component_match(part, &name) {
                    next.push(join(dir, &name));
                }
            }
        }
        current = next;
    }
    Ok(current.into_iter().filter(|d| !d.is_empty()).collect())
}

/// `path.Match` for one component: `*` any run, `?` one character (the same matcher as the
/// ignore patterns', Go's `filepath.Match` without classes).
fn component_match(pattern: &str, name: &str) -> bool {
    super::sourceignore::wildcard(pattern, name)
}

/// Argo CD's `basenameNormalized`: lower case, anything but letters, digits, `-` and `.`
/// turned into `-`.
fn normalized(name: &str) -> String {
    name.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Fills the `path` parameters of `dir` into every string of `node`; the first template text
/// left over (another parameter, a function) goes to `unknown`.
fn substitute(node: &mut Node, dir: &str, go: bool, unknown: &mut Option<String>, depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    match &mut node.value {
        Value::Str(s) => {
            if !s.contains("{{") {
                return;
            }
            let base = dir.rsplit('/').next().unwrap_or(dir);
            let pairs: Vec<(String, String)> = if go {
                vec![
                    ("{{.path.path}}".into(), dir.to_string()),
                    ("{{.path.basename}}".into(), base.to_string()),
                    ("{{.path.basenameNormalized}}".into(), normalized(base)),
                ]
            } else {
                vec![
                    ("{{path}}".into(), dir.to_string()),
                    ("{{path.path}}".into(), dir.to_string()),
                    ("{{path.basename}}".into(), base.to_string()),
                    ("{{path.basenameNormalized}}".into(), normalized(base)),
                ]
            };
            let mut text = s.clone();
            for (from, to) in &pairs {
                text = text.replace(from.as_str(), to);
                text = text.replace(&from.replace("{{", "{{ ").replace("}}", " }}"), to);
            }
            if text.contains("{{") && unknown.is_none() {
                *unknown = Some(s.clone());
            }
            *s = text;
        }
        Value::Seq(items) => items
            .iter_mut()
            .for_each(|i| substitute(i, dir, go, unknown, depth + 1)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| substitute(v, dir, go, unknown, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_match_as_path_match() {
        assert!(component_match("*", "team-a"));
        assert!(component_match("team-?", "team-a"));
        assert!(!component_match("team-?", "team-ab"));
        assert!(component_match("*-a", "team-a"));
        assert_eq!(normalized("Team_A.x"), "team-a.x");
    }
}
