//! A kustomization file as kustomize decodes it: `sigs.k8s.io/yaml` into Go structs through
//! `encoding/json`.
//!
//! Two consequences matter for a guard. Field names match case-insensitively (`NewName` is
//! `newName`, `Namespace` is `namespace`, and when two spellings of one field appear the last
//! wins), so a renderer that only knows the exact spelling misses an image rewrite an attacker
//! spelled differently. And values are typed: `commonLabels: {a: yes}` is a boolean where a
//! string is wanted, which fails the build. [`canonicalize`] renames keys to kustomize's
//! spelling and reports typed errors and unknown fields (both fail `kustomize build`).

use crate::yaml::{Node, Value};

/// The Go type of a field.
#[derive(Clone, Copy)]
enum Ty {
    Str,
    Bool,
    Int,
    /// `map[string]string`.
    StrMap,
    /// `[]string`.
    StrList,
    /// Not checked (refused elsewhere, or free-form).
    Any,
    Obj(&'static [(&'static str, Ty)]),
    List(&'static [(&'static str, Ty)]),
}

const SELECTOR: &[(&str, Ty)] = &[
    ("group", Ty::Str),
    ("version", Ty::Str),
    ("kind", Ty::Str),
    ("name", Ty::Str),
    ("namespace", Ty::Str),
    ("labelSelector", Ty::Str),
    ("annotationSelector", Ty::Str),
];
const PATCH_OPTIONS: &[(&str, Ty)] =
    &[("allowNameChange", Ty::Bool), ("allowKindChange", Ty::Bool)];
const PATCH: &[(&str, Ty)] = &[
    ("path", Ty::Str),
    ("patch", Ty::Str),
    ("target", Ty::Obj(SELECTOR)),
    ("options", Ty::Obj(PATCH_OPTIONS)),
];
const IMAGE: &[(&str, Ty)] = &[
    ("name", Ty::Str),
    ("newName", Ty::Str),
    ("newTag", Ty::Str),
    ("digest", Ty::Str),
    ("tagSuffix", Ty::Str),
];
const REPLICA: &[(&str, Ty)] = &[("name", Ty::Str), ("count", Ty::Int)];
const LABEL: &[(&str, Ty)] = &[
    ("pairs", Ty::StrMap),
    ("includeSelectors", Ty::Bool),
    ("includeTemplates", Ty::Bool),
    ("fields", Ty::Any),
];
const GEN_OPTIONS: &[(&str, Ty)] = &[
    ("labels", Ty::StrMap),
    ("annotations", Ty::StrMap),
    ("disableNameSuffixHash", Ty::Bool),
    ("immutable", Ty::Bool),
];
const GENERATOR: &[(&str, Ty)] = &[
    ("name", Ty::Str),
    ("namespace", Ty::Str),
    ("behavior", Ty::Str),
    ("literals", Ty::StrList),
    ("files", Ty::StrList),
    ("envs", Ty::StrList),
    ("env", Ty::Str),
    ("options", Ty::Obj(GEN_OPTIONS)),
    ("type", Ty::Str),
];
const META: &[(&str, Ty)] = &[
    ("name", Ty::Str),
    ("namespace", Ty::Str),
    ("labels", Ty::StrMap),
    ("annotations", Ty::StrMap),
];
const KUSTOMIZATION: &[(&str, Ty)] = &[
    ("apiVersion", Ty::Str),
    ("kind", Ty::Str),
    ("metadata", Ty::Obj(META)),
    ("openapi", Ty::Any),
    ("namePrefix", Ty::Str),
    ("nameSuffix", Ty::Str),
    ("namespace", Ty::Str),
    ("commonLabels", Ty::StrMap),
    ("labels", Ty::List(LABEL)),
    ("commonAnnotations", Ty::StrMap),
    ("patchesStrategicMerge", Ty::StrList),
    ("patchesJson6902", Ty::List(PATCH)),
    ("patches", Ty::List(PATCH)),
    ("images", Ty::List(IMAGE)),
    ("imageTags", Ty::List(IMAGE)),
    ("replacements", Ty::Any),
    ("replicas", Ty::List(REPLICA)),
    ("vars", Ty::Any),
    ("sortOptions", Ty::Any),
    ("resources", Ty::StrList),
    ("components", Ty::StrList),
    ("crds", Ty::StrList),
    ("bases", Ty::StrList),
    ("configMapGenerator", Ty::List(GENERATOR)),
    ("secretGenerator", Ty::List(GENERATOR)),
    ("helmGlobals", Ty::Any),
    ("helmCharts", Ty::Any),
    ("helmChartInflationGenerator", Ty::Any),
    ("generatorOptions", Ty::Obj(GEN_OPTIONS)),
    ("configurations", Ty::StrList),
    ("generators", Ty::StrList),
    ("transformers", Ty::StrList),
    ("validators", Ty::StrList),
    ("buildMetadata", Ty::StrList),
];

/// A decoding error at a node: kustomize fails the build.
pub(crate) struct DecodeError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

/// Renames the kustomization's keys to kustomize's spelling (last spelling wins), and
/// returns the typed errors and unknown fields kustomize would fail on.
pub(crate) fn canonicalize(kust: &mut Node) -> Vec<DecodeError> {
    let mut errors = Vec::new();
    object(kust, KUSTOMIZATION, "", &mut errors);
    errors
}

fn err(node: &Node, message: String, errors: &mut Vec<DecodeError>) {
    errors.push(DecodeError {
        line: node.line,
        column: node.column,
        message,
    });
}

fn kind_of(node: &Node) -> &'static str {
    match node.value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

fn object(node: &mut Node, fields: &[(&str, Ty)], at: &str, errors: &mut Vec<DecodeError>) {
    if node.is_null() {
        return;
    }
    let Value::Map(entries) = &mut node.value else {
        let message = format!(
            "`{at}` is {}; kustomize wants a mapping and fails",
            kind_of(node)
        );
        err(node, message, errors);
        return;
    };
    // encoding/json: an exact name first, else a case-insensitive one.
    let mut spelled: Vec<String> = Vec::with_capacity(entries.len());
    for (key, _) in entries.iter_mut() {
        spelled.push(key.name.clone());
        if fields.iter().any(|(f, _)| *f == key.name) {
            continue;
        }
        if let Some((f, _)) = fields
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(&key.name))
        {
            key.name = (*f).to_string();
        }
    }
    // Two spellings of one field: sigs.k8s.io/yaml hands encoding/json an object with sorted
    // keys, so the spelling that sorts last wins, wherever it is in the file.
    let mut keep = vec![true; entries.len()];
    for i in 0..entries.len() {
        for j in 0..entries.len() {
            let same = i != j
                && entries.get(i).map(|(k, _)| &k.name) == entries.get(j).map(|(k, _)| &k.name);
            if same && spelled.get(i) < spelled.get(j) {
                if let Some(k) = keep.get_mut(i) {
                    *k = false;
                }
            }
        }
    }
    let mut flags = keep.into_iter();
    entries.retain(|_| flags.next().unwrap_or(true));
    for (key, value) in entries.iter_mut() {
        let path = if at.is_empty() {
            key.name.clone()
        } else {
            format!("{at}.{}", key.name)
        };
        match fields.iter().find(|(f, _)| *f == key.name) {
            Some((_, ty)) => check(value, *ty, &path, errors),
            None => {
                let n = Node {
                    value: Value::Null,
                    line: key.line,
                    column: key.column,
                };
                err(
                    &n,
                    format!("unknown field `{path}`: kustomize fails on it"),
                    errors,
                );
            }
        }
    }
}

fn check(node: &mut Node, ty: Ty, at: &str, errors: &mut Vec<DecodeError>) {
    if node.is_null() {
        return;
    }
    let wrong = |node: &Node, want: &str, errors: &mut Vec<DecodeError>| {
        let message = format!(
            "`{at}` is {}; kustomize wants {want} and fails",
            kind_of(node)
        );
        err(node, message, errors);
    };
    match ty {
        Ty::Any => {}
        Ty::Str => {
            if node.as_str().is_none() {
                wrong(node, "a string", errors);
            }
        }
        Ty::Bool => {
            if node.as_bool().is_none() {
                wrong(node, "a boolean", errors);
            }
        }
        Ty::Int => {
            // YAML's `5.0` and `1e1` reach encoding/json as the JSON numbers 5 and 10.
            if node.as_int().is_none() {
                wrong(node, "an integer", errors);
            }
        }
        Ty::StrMap => match &node.value {
            Value::Map(entries) => {
                for (k, v) in entries {
                    if !(v.is_null() || v.as_str().is_some()) {
                        let message = format!(
                            "`{at}.{}` is {}; kustomize wants a string and fails",
                            k.name,
                            kind_of(v)
                        );
                        err(v, message, errors);
                    }
                }
            }
            _ => wrong(node, "a mapping of strings", errors),
        },
        Ty::StrList => match &node.value {
            Value::Seq(items) => {
                for item in items {
                    if item.as_str().is_none() {
                        let message = format!(
                            "an entry of `{at}` is {}; kustomize wants a string and fails",
                            kind_of(item)
                        );
                        err(item, message, errors);
                    }
                }
            }
            _ => wrong(node, "a list of strings", errors),
        },
        Ty::Obj(fields) => object(node, fields, at, errors),
        Ty::List(fields) => match &mut node.value {
            Value::Seq(items) => {
                for item in items.iter_mut() {
                    object(item, fields, at, errors);
                }
            }
            _ => wrong(node, "a list", errors),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{load, Limits};

    fn kust(text: &str) -> (Node, Vec<DecodeError>) {
        let mut doc = load(text.as_bytes(), &Limits::default()).unwrap().remove(0);
        let errors = canonicalize(&mut doc);
        (doc, errors)
    }

    #[test]
    fn field_names_match_case_insensitively_last_spelling_wins() {
        let (doc, errors) =
            kust("namespace: b\nNamespace: a\nimages:\n- {Name: x, NewName: evil/x}\n");
        assert!(
            errors.is_empty(),
            "{:?}",
            errors.iter().map(|e| &e.message).collect::<Vec<_>>()
        );
        assert_eq!(doc.get("namespace").and_then(Node::as_str), Some("b"));
        assert_eq!(doc.as_map().len(), 2);
        let image = &doc.get("images").unwrap().as_seq()[0];
        assert_eq!(image.get("newName").and_then(Node::as_str), Some("evil/x"));
    }

    #[test]
    fn typed_values_and_unknown_fields_fail() {
        let (_, errors) = kust("commonLabels: {a: yes}\nimages: [{name: x, newTag: 5}]\nreplicas: [{name: a, count: \"2\"}]\nfoo: 1\n");
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages.len(), 4, "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("commonLabels.a")));
        assert!(messages.iter().any(|m| m.contains("unknown field `foo`")));
    }
}
