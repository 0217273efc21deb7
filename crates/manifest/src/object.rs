//! Kubernetes objects out of loaded documents, and their identity.
//!
//! Identity is what the cluster uses: (API group, kind, namespace, name). The version is left
//! out (`apps/v1` and `apps/v1beta2` name the same object) and an absent namespace stays ""
//! (guessing `default` would merge objects that Flux's `targetNamespace` keeps apart).
//! `kustomization.yaml` files are recognised by name: they are not always objects with an
//! apiVersion, yet they decide what is applied.

use std::sync::Arc;

use crate::yaml::{self, Key, Limits, LoadError, LoadStats, Node, Value};

/// (group, kind, namespace, name) — or, for kustomization files, the file path as name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// One object of one file version.
#[derive(Debug, Clone)]
pub struct Object {
    pub identity: Identity,
    pub api_version: String,
    pub path: String,
    /// Shared: an identical document in the old and new version of a file is loaded once.
    pub root: Arc<Node>,
    /// True for a kustomize `kustomization.yaml` file (recognised by its name).
    pub kustomization_file: bool,
    /// For an inline kustomize patch: its index among the file's inline patches.
    pub patch: Option<usize>,
    /// For a rendered object: the root that rendered it and what changed it on the way.
    pub origin: Option<Arc<Origin>>,
}

/// How a rendered object came to be: the root (a kustomization directory, a Flux
/// `Kustomization`, an Argo CD `Application`) and the files that changed it after its document
/// was read (patches, a Flux or Argo CD overlay), so a finding can name all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// `kustomize build clusters/prod`, `Flux Kustomization flux-system/apps (clusters/prod/apps.yaml)`.
    pub root: String,
    /// Files whose patches or overrides changed the object, in the order applied.
    pub changed_by: Vec<String>,
}

impl Object {
    /// `Deployment prod/api`, or `ClusterRole admin` without a namespace.
    pub fn label(&self) -> String {
        if self.kustomization_file {
            return format!("Kustomization file {}", self.path);
        }
        if self.patch.is_some() {
            // The identity name carries the patch marker already.
            return format!(
                "{} {} (kustomize patch)",
                self.identity.kind, self.identity.name
            );
        }
        let mut label = if self.identity.namespace.is_empty() {
            format!("{} {}", self.identity.kind, self.identity.name)
        } else {
            format!(
                "{} {}/{}",
                self.identity.kind, self.identity.namespace, self.identity.name
            )
        };
        if let Some(origin) = &self.origin {
            label.push_str(&format!(" (rendered by {}", origin.root));
            if !origin.changed_by.is_empty() {
                label.push_str(&format!(", changed by {}", origin.changed_by.join(", ")));
            }
            label.push(')');
        }
        label
    }

    pub fn kind(&self) -> &str {
        &self.identity.kind
    }
}

/// True when the file is a kustomize kustomization file.
pub fn is_kustomization_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    matches!(
        file,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

fn group_of(api_version: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((group, _)) => group.to_string(),
        None => String::new(),
    }
}

/// Objects of one loaded file: documents with `kind` and `apiVersion`, `items` of lists
/// expanded. Documents that are not objects (Helm values, other config) are skipped. A
/// kustomization file is one object, plus one per inline patch (see [`inline_patches`]).
pub fn objects_of(
    path: &str,
    docs: Vec<Node>,
    limits: &Limits,
    stats: &mut LoadStats,
) -> Result<Vec<Object>, LoadError> {
    let mut out = Vec::new();
    if is_kustomization_path(path) {
        for doc in docs {
            out.extend(inline_patches(path, &doc, limits, stats)?);
            out.push(Object {
                identity: Identity {
                    group: "kustomize.config.k8s.io".to_string(),
                    kind: "Kustomization".to_string(),
                    namespace: String::new(),
                    name: path.to_string(),
                },
                api_version: doc
                    .get("apiVersion")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_string(),
                path: path.to_string(),
                root: Arc::new(doc),
                kustomization_file: true,
                patch: None,
                origin: None,
            });
        }
        return Ok(out);
    }
    for doc in docs {
        push_object(path, doc, &mut out, 0, None)?;
    }
    Ok(out)
}

/// [`objects_of`] over documents shared with a parse cache: a plain object keeps its document
/// without a copy; a kustomization file and a list are taken apart from a copy.
pub fn objects_of_shared(
    path: &str,
    docs: Vec<Arc<Node>>,
    limits: &Limits,
    stats: &mut LoadStats,
) -> Result<Vec<Object>, LoadError> {
    if is_kustomization_path(path) {
        return objects_of(
            path,
            docs.iter().map(|d| Node::clone(d)).collect(),
            limits,
            stats,
        );
    }
    let mut out = Vec::new();
    for doc in docs {
        if doc.get("items").is_some() {
            push_object(path, Node::clone(&doc), &mut out, 0, None)?;
        } else {
            out.extend(object_of(path, doc, None));
        }
    }
    Ok(out)
}

/// Deepest nesting of lists inside lists that is expanded. kubectl (1.37) refuses a List
/// inside a List, kustomize flattens any depth; deeper nesting than this is refused.
pub const MAX_LIST_DEPTH: usize = 4;

/// Pushes the object `doc` is, or the objects of the list it is.
///
/// Lists are expanded as the union of what the three readers would send:
/// - apimachinery's unstructured decoder (kubectl) reads any document with an `items` field as
///   a list, whatever its kind and with or without `apiVersion`, and gives an item that has
///   neither `kind` nor `apiVersion` the list's `apiVersion` and kind minus `List`;
/// - Argo CD expands any object whose `items` is a sequence (one level);
/// - kustomize expands kinds ending in `List` (recursively) and keeps any other kind as an
///   object even when it holds `items`.
///
/// So a document with an `items` sequence yields its items (recursively, at most
/// [`MAX_LIST_DEPTH`] deep; `depth` counts the lists around `doc`), and when its kind does not end in `List` also itself. An item
/// that is not a mapping is refused: every reader fails on it.
pub(crate) fn push_object(
    path: &str,
    mut doc: Node,
    out: &mut Vec<Object>,
    depth: usize,
    patch: Option<usize>,
) -> Result<(), LoadError> {
    let kind = doc.get("kind").and_then(Node::as_str).map(str::to_string);
    let api_version = doc
        .get("apiVersion")
        .and_then(Node::as_str)
        .map(str::to_string);
    let list_kind = kind.as_deref().unwrap_or("");
    // kustomize sends a `kind: Foo` holding `items` as the object it is, too.
    let keep_outer = !list_kind.is_empty() && !list_kind.ends_with("List");
    if list_kind.ends_with("List") && doc.get("items").is_some_and(Node::is_null) {
        // An empty list to kubectl, kustomize and Argo CD alike.
        return Ok(());
    }
    if let Some(items) = list_items(&mut doc, keep_outer) {
        if depth >= MAX_LIST_DEPTH {
            return Err(LoadError::Limits {
                line: doc.line,
                column: doc.column,
                message: format!(
                    "lists nested more than {MAX_LIST_DEPTH} deep (kubectl refuses a List inside a List, kustomize flattens them)"
                ),
            });
        }
        let item_kind = list_kind.strip_suffix("List").unwrap_or(list_kind);
        for mut item in items {
            match item.value {
                Value::Map(_) => {}
                // apimachinery decodes a null item to an empty object: nothing is sent.
                Value::Null => continue,
                // A document that is no object (Helm values holding `items`): only Argo CD
                // would read it as a list, and it fails on such an item.
                _ if kind.is_none() => continue,
                _ => {
                    return Err(LoadError::Parse {
                        line: item.line,
                        column: item.column,
                        message: format!(
                            "an item of the list `{list_kind}` is not an object (kubectl, Argo CD and kustomize refuse it)"
                        ),
                    })
                }
            }
            if item.get("kind").is_none()
                && item.get("apiVersion").is_none()
                && !item_kind.is_empty()
            {
                infer_kind(&mut item, item_kind, api_version.as_deref().unwrap_or(""));
            }
            push_object(path, item, out, depth + 1, patch)?;
        }
        if !keep_outer {
            return Ok(());
        }
    }
    if kind.is_some() && api_version.is_some() {
        out.extend(object_of(path, Arc::new(doc), patch));
    }
    Ok(())
}

/// The object a document with no list in it is, when it has a kind and an `apiVersion`.
fn object_of(path: &str, doc: Arc<Node>, patch: Option<usize>) -> Option<Object> {
    let kind = doc.get("kind").and_then(Node::as_str)?.to_string();
    let api_version = doc.get("apiVersion").and_then(Node::as_str)?.to_string();
    let namespace = doc
        .path(&["metadata", "namespace"])
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let mut name = doc
        .path(&["metadata", "name"])
        .and_then(Node::as_str)
        .or_else(|| {
            doc.path(&["metadata", "generateName"])
                .and_then(Node::as_str)
        })
        .unwrap_or("")
        .to_string();
    if let Some(i) = patch {
        // Patches are their own objects: they must not pair with the object they patch.
        name = format!("{name} [patch {i} in {path}]");
    }
    Some(Object {
        identity: Identity {
            group: group_of(&api_version),
            kind,
            namespace,
            name,
        },
        api_version,
        path: path.to_string(),
        root: doc,
        kustomization_file: false,
        patch,
        origin: None,
    })
}

/// The `items` of a document that holds an `items` sequence: moved out, or copied when the
/// document is kept as an object too.
fn list_items(doc: &mut Node, copy: bool) -> Option<Vec<Node>> {
    let Value::Map(entries) = &mut doc.value else {
        return None;
    };
    let (_, items) = entries.iter_mut().find(|(k, _)| k.name == "items")?;
    let Value::Seq(list) = &mut items.value else {
        return None;
    };
    Some(if copy {
        list.clone()
    } else {
        std::mem::take(list)
    })
}

/// Gives a list item without `kind` and `apiVersion` the ones apimachinery's unstructured
/// decoder infers from its list (`DeploymentList` items become `Deployment`s).
fn infer_kind(item: &mut Node, kind: &str, api_version: &str) {
    let (line, column) = (item.line, item.column);
    if let Value::Map(entries) = &mut item.value {
        for (name, value) in [("apiVersion", api_version), ("kind", kind)] {
            entries.insert(
                0,
                (
                    Key {
                        name: name.to_string(),
                        line,
                        column,
                    },
                    Node {
                        value: Value::Str(value.to_string()),
                        line,
                        column,
                    },
                ),
            );
        }
    }
}

/// Maps positions inside a patch string back to the file (exact for `|` block scalars,
/// where saphyr reports the start of the content).
pub(crate) fn shift_positions(node: &mut Node, base: &Node, depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    node.column = node.column.saturating_add(base.column.saturating_sub(1));
    node.line = node.line.saturating_add(base.line.saturating_sub(1));
    match &mut node.value {
        Value::Seq(items) => {
            for i in items {
                shift_positions(i, base, depth + 1);
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                k.line = k.line.saturating_add(base.line.saturating_sub(1));
                k.column = k.column.saturating_add(base.column.saturating_sub(1));
                shift_positions(v, base, depth + 1);
            }
        }
        _ => {}
    }
}

/// Inline patches of a kustomization file change what is applied as much as the objects they
/// patch: strategic-merge patches (`patchesStrategicMerge` entries holding YAML, `patches[].patch`
/// holding an object) become objects of their own; JSON 6902 patches (`patchesJson6902[].patch`,
/// `patches[].patch` holding a list of operations) become a synthetic object of the target's
/// kind holding the `add`/`replace` values at their paths. Patches referenced by file name are
/// judged as files of their own.
pub fn inline_patches(
    path: &str,
    doc: &Node,
    limits: &Limits,
    stats: &mut LoadStats,
) -> Result<Vec<Object>, LoadError> {
    let mut out = Vec::new();
    let mut texts: Vec<(&Node, Option<&Node>)> = Vec::new();
    for n in doc
        .get("patchesStrategicMerge")
        .map(Node::as_seq)
        .unwrap_or(&[])
    {
        if n.as_str().is_some_and(|s| s.contains('\n')) {
            texts.push((n, None));
        }
    }
    for key in ["patches", "patchesJson6902"] {
        for p in doc.get(key).map(Node::as_seq).unwrap_or(&[]) {
            if let Some(n) = p.get("patch").filter(|n| n.as_str().is_some()) {
                texts.push((n, p.get("target")));
            }
        }
    }
    for (index, (node, target)) in texts.into_iter().enumerate() {
        let text = node.as_str().unwrap_or("");
        let mut patch_stats = LoadStats::default();
        let loaded = yaml::load_with_stats(text.as_bytes(), limits, &mut patch_stats);
        stats.nodes = stats.nodes.saturating_add(patch_stats.nodes);
        let docs = loaded.map_err(|e| {
            let (line, column) = e.position();
            let message = format!("inline kustomize patch: {}", e.message());
            let line = line.saturating_add(node.line.saturating_sub(1));
            let column = column.saturating_add(node.column.saturating_sub(1));
            if e.is_limits() {
                LoadError::Limits {
                    line,
                    column,
                    message,
                }
            } else {
                LoadError::Parse {
                    line,
                    column,
                    message,
                }
            }
        })?;
        for mut d in docs {
            shift_positions(&mut d, node, 0);
            if matches!(d.value, Value::Seq(_)) {
                if let Some(obj) = json6902_object(path, index, &d, target) {
                    out.push(obj);
                }
            } else {
                push_object(path, d, &mut out, 0, Some(index))?;
            }
        }
    }
    Ok(out)
}

/// Most list items a JSON 6902 path may create: indexes come from the pusher.
const MAX_PATCH_INDEX: usize = 1000;

pub(crate) fn json6902_object(
    path: &str,
    index: usize,
    ops: &Node,
    target: Option<&Node>,
) -> Option<Object> {
    let t = |k: &str| {
        target
            .and_then(|t| t.get(k))
            .and_then(Node::as_str)
            .unwrap_or("")
    };
    let kind = if t("kind").is_empty() {
        "Unknown"
    } else {
        t("kind")
    }
    .to_string();
    let group = t("group").to_string();
    let version = if t("version").is_empty() {
        "v1"
    } else {
        t("version")
    };
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut root = Node {
        value: Value::Map(Vec::new()),
        line: ops.line,
        column: ops.column,
    };
    for op in ops.as_seq() {
        let kind_of_op = op.get("op").and_then(Node::as_str).unwrap_or("");
        let Some(pointer) = op.get("path").and_then(Node::as_str) else {
            continue;
        };
        let value = match kind_of_op {
            "add" | "replace" => op.get("value").cloned(),
            // A value this patch put somewhere itself, moved or copied on: judged where it
            // lands. One it takes from the object patched is not seen ([`unseen_sources`]).
            "move" | "copy" => op
                .get("from")
                .and_then(Node::as_str)
                .and_then(|from| value_at(&root, from))
                .cloned(),
            _ => None,
        };
        if let Some(value) = value {
            insert_at(&mut root, pointer, value);
        }
    }
    Some(Object {
        identity: Identity {
            group,
            kind,
            namespace: t("namespace").to_string(),
            name: format!("{} [patch {index} in {path}]", t("name")),
        },
        api_version,
        path: path.to_string(),
        root: Arc::new(root),
        kustomization_file: false,
        patch: Some(index),
        origin: None,
    })
}

/// The value at a JSON pointer, if there is one.
fn value_at<'n>(root: &'n Node, pointer: &str) -> Option<&'n Node> {
    let mut cur = root;
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        cur = match &cur.value {
            Value::Map(_) => cur.get(&token)?,
            Value::Seq(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The JSON 6902 operations of `ops` whose value comes from the object they patch (a `move`
/// or `copy` from a path the operations did not set themselves): judged on its own, such a
/// patch cannot tell what it puts where.
pub fn unseen_sources(ops: &Node) -> Option<String> {
    let mut set: Vec<&str> = Vec::new();
    for op in ops.as_seq() {
        let kind_of_op = op.get("op").and_then(Node::as_str).unwrap_or("");
        let path = op.get("path").and_then(Node::as_str).unwrap_or("");
        match kind_of_op {
            "add" | "replace" => set.push(path),
            "move" | "copy" => {
                let from = op.get("from").and_then(Node::as_str).unwrap_or("");
                let own = set.iter().any(|s| {
                    from == *s || from.strip_prefix(s).is_some_and(|r| r.starts_with('/'))
                });
                if !own {
                    return Some(format!(
                        "`{kind_of_op}` from `{from}` to `{path}` takes a value from the object it patches, which is not seen here"
                    ));
                }
                set.push(path);
            }
            _ => {}
        }
    }
    None
}

/// Puts `value` at a JSON pointer, creating maps and lists on the way.
fn insert_at(root: &mut Node, pointer: &str, value: Node) {
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = segments.split_last() else {
        return;
    };
    let mut node = root;
    let mut nexts: Vec<&String> = parents.iter().collect();
    nexts.push(last);
    for (i, seg) in parents.iter().enumerate() {
        let next_is_index = nexts
            .get(i + 1)
            .is_some_and(|s| *s == "-" || s.parse::<usize>().is_ok());
        let empty = Node {
            value: if next_is_index {
                Value::Seq(Vec::new())
            } else {
                Value::Map(Vec::new())
            },
            line: value.line,
            column: value.column,
        };
        let Some(child) = child_slot(node, seg, empty) else {
            return;
        };
        node = child;
    }
    if let Some(slot) = child_slot(node, last, value.clone()) {
        *slot = value;
    }
}

/// The child of `node` at `seg`, created from `empty` when missing.
fn child_slot<'a>(node: &'a mut Node, seg: &str, empty: Node) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(entries) => {
            let pos = match entries.iter().position(|(k, _)| k.name == seg) {
                Some(p) => p,
                None => {
                    entries.push((
                        Key {
                            name: seg.to_string(),
                            line: empty.line,
                            column: empty.column,
                        },
                        empty,
                    ));
                    entries.len() - 1
                }
            };
            entries.get_mut(pos).map(|(_, v)| v)
        }
        Value::Seq(items) => {
            let idx = if seg == "-" {
                items.len()
            } else {
                seg.parse::<usize>().ok()?
            };
            if idx > MAX_PATCH_INDEX {
                return None;
            }
            while items.len() <= idx {
                items.push(empty.clone());
            }
            items.get_mut(idx)
        }
        _ => None,
    }
}
