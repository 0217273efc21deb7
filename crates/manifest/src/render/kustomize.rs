//! `kustomize build`, over a [`Tree`], with kustomize v5's semantics.
//!
//! The order is kustomize's (`api/internal/target/kusttarget.go`): resources (files of any
//! extension, directories holding a kustomization, `bases`), then generators, then components
//! (which add to and transform the parent's resources), then the transformers in kustomize's
//! fixed order — strategic-merge patches, `patches`, namespace, name prefix, name suffix,
//! labels, annotations, JSON 6902 patches, replicas, images. Only at the top: content-hash
//! suffixes on generated names, name references fixed to the new names, and objects marked
//! `config.kubernetes.io/local-config` dropped.
//!
//! Whatever the renderer does not interpret (remote bases, helm charts, plugins, `vars`,
//! `replacements`, an unknown field) is a `manifest-render` problem at the entry, never
//! skipped: the root fails closed. kustomize's own load restrictor is taken as
//! `LoadRestrictionsNone` (as Flux runs it): files above the kustomization are read, inside
//! the repository only.

use std::sync::Arc;

use super::generate;
use super::nodes::{set, str_list, str_node, string_map};
use super::patches::{self, OVERLAY_MARK};
use super::resources::{append_all, id_key, resources_of, Ctx, IdKey, Res};
use super::transform;
use super::tree::{join, join_relative, Resolved, Tree, TreeError};
use super::Rendered;
use crate::object::Origin;
use crate::yaml::{Limits, Node, Value};

/// The kustomization file names kustomize recognises, in its order.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Fields of a kustomization this renderer applies.
const RENDERED_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "imageTags",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "sortOptions",
];

/// Fields kustomize knows that are not rendered here, with the reason given to the pusher.
const REFUSED_FIELDS: &[(&str, &str)] = &[
    ("helmCharts", "helm charts are not rendered"),
    ("helmGlobals", "helm charts are not rendered"),
    (
        "helmChartInflationGenerator",
        "helm charts are not rendered",
    ),
    ("generators", "generator plugins are not rendered"),
    ("transformers", "transformer plugins are not rendered"),
    ("validators", "validator plugins are not rendered"),
    ("vars", "`vars` substitution is not rendered"),
    ("replacements", "`replacements` are not rendered"),
    (
        "configurations",
        "custom transformer configurations are not rendered",
    ),
    ("crds", "CRD transformer configurations are not rendered"),
    ("openapi", "custom OpenAPI schemas are not rendered"),
    ("buildMetadata", "`buildMetadata` is not rendered"),
];

/// `kustomize build <dir>`.
pub fn kustomize_build(tree: &Tree, dir: &str, limits: &Limits) -> Result<Rendered, TreeError> {
    let mut ctx = Ctx::new(tree, limits);
    let root = Arc::new(Origin {
        root: format!("kustomize build {}", if dir.is_empty() { "." } else { dir }),
        changed_by: Vec::new(),
    });
    let mut resources = build_root(&mut ctx, dir, RootKustomization::Find, &Overlay::default())?;
    finalize(&mut ctx, &mut resources, dir);
    Ok(rendered(ctx, resources, &root))
}

/// How a controller's overlay field combines with the root kustomization's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OverlayOp {
    /// Replaces the field (`namespace`, `namePrefix`).
    Set,
    /// Appended to the list (`patches`, `components`).
    Append,
    /// Merged into the mapping, overlay wins (`commonLabels`).
    MergeMap,
    /// List entries replace the entry with the same `name`, others are appended (`images`,
    /// `replicas`); the fields the overlay entry sets win.
    MergeByName,
    /// `kustomize edit set image`: an entry replaces the one with the same `name` whole (a
    /// field `*` keeps the old value), and the list ends sorted by name.
    ReplaceByName,
}

/// Fields a controller adds to the root kustomization before building it (Flux's
/// `Kustomization` overlay, Argo CD's kustomize overrides): both controllers write them into
/// the root kustomization file, so they behave exactly as if written there.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overlay {
    pub fields: Vec<(String, OverlayOp, Node)>,
    /// The file the overlay came from (a Flux Kustomization, an Argo CD Application).
    pub file: String,
}

/// A controller's patch list as an overlay field: each patch marked as the controller's (so
/// problems name the controller object, not the root kustomization).
pub(crate) fn marked_patches(items: &[Node], at: &Node) -> Node {
    let list = items
        .iter()
        .map(|p| {
            let mut p = p.clone();
            let (l, c) = (p.line, p.column);
            set(&mut p, OVERLAY_MARK, str_node("", l, c));
            p
        })
        .collect();
    Node {
        value: Value::Seq(list),
        line: at.line,
        column: at.column,
    }
}

/// A controller's `components` as an overlay field (Flux `spec.components`, Argo CD
/// `kustomize.components`). With `ignoreMissingComponents` a component missing from the tree
/// is dropped, as both controllers drop it; `keep` decides each remaining one (Flux refuses
/// absolute and remote ones).
pub(crate) fn components_field(
    ctx: &mut Ctx<'_, '_>,
    spec: &Node,
    dir: &str,
    mut keep: impl FnMut(&mut Ctx<'_, '_>, &Node, &str) -> bool,
) -> Result<Option<(String, OverlayOp, Node)>, TreeError> {
    let Some(components) = spec.get("components").filter(|n| !n.as_seq().is_empty()) else {
        return Ok(None);
    };
    let ignore_missing = spec
        .get("ignoreMissingComponents")
        .and_then(Node::as_bool)
        .unwrap_or(false);
    let mut kept = Vec::new();
    for c in components.as_seq() {
        let Some(text) = c.as_str() else { continue };
        if ignore_missing {
            let exists = join_relative(dir, text)
                .map(|p| ctx.tree.resolve(&p))
                .transpose()?
                .is_some_and(|r| !matches!(r, Resolved::Missing));
            if !exists {
                continue;
            }
        }
        if keep(ctx, c, text) {
            kept.push(c.clone());
        }
    }
    Ok(Some((
        "components".into(),
        OverlayOp::Append,
        Node {
            value: Value::Seq(kept),
            line: components.line,
            column: components.column,
        },
    )))
}

/// How the root's kustomization is found.
pub(crate) enum RootKustomization {
    /// Its kustomization file.
    Find,
    /// Generated by the controller (Flux, for a directory without one): the node, and the
    /// path to name in problems.
    Given(String, Node),
}

/// Builds a root directory with an overlay; hashes, name references and local-config are
/// left to [`finalize`].
pub(crate) fn build_root(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    kustomization: RootKustomization,
    overlay: &Overlay,
) -> Result<Vec<Res>, TreeError> {
    let at = Node {
        value: Value::Null,
        line: 1,
        column: 1,
    };
    let from = if overlay.file.is_empty() {
        dir.to_string()
    } else {
        overlay.file.clone()
    };
    let real = match ctx.tree.resolve(dir)? {
        Resolved::Dir(real) => real,
        other => {
            ctx.unreachable(&other, dir, &from, &at);
            return Ok(Vec::new());
        }
    };
    let mut acc = Vec::new();
    match kustomization {
        RootKustomization::Find => {
            build_dir(ctx, &real, false, &mut acc, Some(overlay), &from, &at)?
        }
        RootKustomization::Given(file, mut kust) => {
            apply_overlay(&mut kust, overlay);
            ctx.stack.push(real.clone());
            build_kustomization(ctx, &real, &file, &kust, false, &mut acc, Some(overlay))?;
            ctx.stack.pop();
        }
    }
    Ok(acc)
}

/// The final steps of a top-level build (kustomize's `makeCustomizedResMap`): content hashes,
/// name references, local-config objects dropped.
pub(crate) fn finalize(ctx: &mut Ctx<'_, '_>, resources: &mut Vec<Res>, from: &str) {
    generate::add_hashes(resources);
    let at = Node {
        value: Value::Null,
        line: 1,
        column: 1,
    };
    for message in transform::fix_name_references(resources) {
        ctx.problem(from, &at, message, "give the objects distinct names");
    }
    resources.retain(|r| !r.is_local_config());
}

/// The rendered result of a finished resource list.
pub(crate) fn rendered(mut ctx: Ctx<'_, '_>, resources: Vec<Res>, root: &Arc<Origin>) -> Rendered {
    let objects = resources.into_iter().map(|r| r.into_object(root)).collect();
    Rendered {
        objects,
        problems: std::mem::take(&mut ctx.problems),
    }
}

/// Finds the kustomization file of a real directory. Ok(None) with a problem when there is
/// none or more than one.
pub(crate) fn find_kustomization(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
) -> Result<Vec<String>, TreeError> {
    let mut found = Vec::new();
    for name in KUSTOMIZATION_FILES {
        let path = join(dir, name);
        if let Resolved::File(_) = ctx.tree.resolve(&path)? {
            found.push(path);
        }
    }
    Ok(found)
}

/// Accumulates one kustomization directory (`real`: symlinks resolved) into `acc`: for a
/// kustomization `acc` is empty and becomes its result; a component works on its parent's.
fn build_dir(
    ctx: &mut Ctx<'_, '_>,
    real: &str,
    is_component: bool,
    acc: &mut Vec<Res>,
    overlay: Option<&Overlay>,
    from: &str,
    at: &Node,
) -> Result<(), TreeError> {
    // kustomize refuses a root that contains (or is) one being built: a cycle.
    if let Some(visited) = ctx
        .stack
        .iter()
        .find(|v| *v == real || real.is_empty() || v.starts_with(&format!("{real}/")))
    {
        let message = format!(
            "`{}` is (or contains) `{}`, which is being built: a cycle, kustomize fails",
            shown(real),
            shown(visited)
        );
        ctx.problem(from, at, message, "remove the cyclic reference");
        return Ok(());
    }
    let files = find_kustomization(ctx, real)?;
    let file = match files.as_slice() {
        [one] => one.clone(),
        [] => {
            ctx.problem(
                from,
                at,
                format!("`{}` holds no kustomization.yaml, kustomization.yml or Kustomization: kustomize fails", shown(real)),
                "add a kustomization file or name the files themselves",
            );
            return Ok(());
        }
        _ => {
            ctx.problem(
                from,
                at,
                format!(
                    "`{}` holds more than one kustomization file: kustomize fails",
                    shown(real)
                ),
                "keep one kustomization file per directory",
            );
            return Ok(());
        }
    };
    let Some(bytes) = ctx.read_file(&file, from, at)? else {
        return Ok(());
    };
    let Some(docs) = ctx.load_docs(&file, &bytes) else {
        return Ok(());
    };
    let mut kust = match docs.into_iter().next() {
        Some(doc) if matches!(doc.value, Value::Map(_)) => doc,
        Some(doc) => {
            ctx.problem(
                &file,
                &doc,
                "the kustomization is not a mapping",
                "write a kustomization",
            );
            return Ok(());
        }
        None => Node {
            value: Value::Map(Vec::new()),
            line: 1,
            column: 1,
        },
    };
    for e in super::decode::canonicalize(&mut kust) {
        let at = Node {
            value: Value::Null,
            line: e.line,
            column: e.column,
        };
        ctx.problem(
            &file,
            &at,
            e.message,
            "fix the kustomization; kustomize fails on it",
        );
    }
    if let Some(overlay) = overlay {
        apply_overlay(&mut kust, overlay);
    }
    ctx.stack.push(real.to_string());
    let result = build_kustomization(ctx, real, &file, &kust, is_component, acc, overlay);
    ctx.stack.pop();
    result
}

/// Adds a controller's overlay to the root kustomization.
fn apply_overlay(kust: &mut Node, overlay: &Overlay) {
    for (key, op, value) in &overlay.fields {
        let existing = super::nodes::get_mut(kust, key).filter(|n| !n.is_null());
        match (op, existing) {
            (OverlayOp::Append, Some(old)) if matches!(old.value, Value::Seq(_)) => {
                if let Value::Seq(list) = &mut old.value {
                    list.extend(value.as_seq().iter().cloned());
                }
            }
            (OverlayOp::MergeMap, Some(old)) if matches!(old.value, Value::Map(_)) => {
                for (k, v) in value.as_map() {
                    super::nodes::set(old, &k.name, v.clone());
                }
            }
            (OverlayOp::MergeByName, Some(old)) if matches!(old.value, Value::Seq(_)) => {
                if let Value::Seq(list) = &mut old.value {
                    for item in value.as_seq() {
                        let name = item.get("name").and_then(Node::as_str);
                        match list.iter_mut().find(|e| {
                            name.is_some() && e.get("name").and_then(Node::as_str) == name
                        }) {
                            Some(e) => {
                                for (k, v) in item.as_map() {
                                    super::nodes::set(e, &k.name, v.clone());
                                }
                            }
                            None => list.push(item.clone()),
                        }
                    }
                }
            }
            (OverlayOp::ReplaceByName, Some(old)) if matches!(old.value, Value::Seq(_)) => {
                if let Value::Seq(list) = &mut old.value {
                    for item in value.as_seq() {
                        let name = item.get("name").and_then(Node::as_str);
                        let existing = list.iter().position(|e| {
                            name.is_some() && e.get("name").and_then(Node::as_str) == name
                        });
                        let mut new = item.clone();
                        let keys: Vec<String> =
                            item.as_map().iter().map(|(k, _)| k.name.clone()).collect();
                        for k in keys {
                            if new.get(&k).and_then(Node::as_str) != Some("*") {
                                continue;
                            }
                            let kept = existing
                                .and_then(|i| list.get(i))
                                .and_then(|e| e.get(&k))
                                .cloned();
                            match kept {
                                Some(v) => super::nodes::set(&mut new, &k, v),
                                None => {
                                    super::nodes::remove(&mut new, &k);
                                }
                            }
                        }
                        match existing.and_then(|i| list.get_mut(i)) {
                            Some(slot) => *slot = new,
                            None => list.push(new),
                        }
                    }
                    list.sort_by(|a, b| {
                        let n = |x: &Node| {
                            x.get("name")
                                .and_then(Node::as_str)
                                .unwrap_or("")
                                .to_string()
                        };
                        n(a).cmp(&n(b))
                    });
                }
            }
            _ => super::nodes::set(kust, key, value.clone()),
        }
    }
}

/// True when the kustomization itself sets `key` (not only the overlay that was merged in; a
/// `Set` overlay field replaces the file's own value).
fn kust_has_own(kust: &Node, overlay: Option<&Overlay>, key: &str) -> bool {
    let Some(o) = overlay else {
        return kust.get(key).is_some_and(|n| !n.is_null());
    };
    match o.fields.iter().find(|(k, _, _)| k == key) {
        Some((_, OverlayOp::Set, _)) => false,
        Some((_, _, added)) => {
            let total = kust
                .get(key)
                .map(|n| n.as_seq().len() + n.as_map().len())
                .unwrap_or(0);
            total > added.as_seq().len() + added.as_map().len()
        }
        None => kust.get(key).is_some_and(|n| !n.is_null()),
    }
}

fn shown(dir: &str) -> &str {
    if dir.is_empty() {
        "."
    } else {
        dir
    }
}

fn build_kustomization(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    kust: &Node,
    is_component: bool,
    acc: &mut Vec<Res>,
    overlay: Option<&Overlay>,
) -> Result<(), TreeError> {
    // Fields.
    for (key, value) in kust.as_map() {
        let at = Node {
            value: Value::Null,
            line: key.line,
            column: key.column,
        };
        if RENDERED_FIELDS.contains(&key.name.as_str()) {
            continue;
        }
        if let Some((_, why)) = REFUSED_FIELDS.iter().find(|(f, _)| *f == key.name) {
            let empty = value.is_null()
                || matches!(&value.value, Value::Seq(v) if v.is_empty())
                || matches!(&value.value, Value::Map(m) if m.is_empty());
            if !empty {
                ctx.problem(
                    file,
                    &at,
                    format!("`{}`: {why}, so pushguard cannot tell what this root applies", key.name),
                    "render it into plain manifests in the repository, or move the root out of the protected paths",
                );
            }
            continue;
        }
        // Unknown fields are reported when the file is decoded (`decode`).
    }
    let kind = kust
        .get("kind")
        .and_then(Node::as_str)
        .unwrap_or("Kustomization");
    let kind_at = kust.get("kind").unwrap_or(kust);
    match (kind, is_component) {
        ("Component", true) | ("Kustomization", false) => {}
        // A Component built as the root works on an empty resource map, as kustomize does.
        ("Component", false) if ctx.stack.len() == 1 => {}
        ("Component", false) => {
            ctx.problem(
                file,
                kind_at,
                "a Component used as a resource: kustomize fails",
                "list it under `components:`",
            );
            return Ok(());
        }
        ("Kustomization", true) => {
            ctx.problem(
                file,
                kind_at,
                "a Kustomization used as a component: kustomize fails",
                "set `kind: Component` or list it under `resources:`",
            );
            return Ok(());
        }
        (other, _) => {
            ctx.problem(
                file,
                kind_at,
                format!("kind `{other}`: kustomize wants Kustomization or Component"),
                "fix the kind",
            );
            return Ok(());
        }
    }

    // Resources, then the legacy bases (kustomize appends bases to resources).
    let mut entries: Vec<(String, Node)> = Vec::new();
    for key in ["resources", "bases"] {
        let (ok, bad) = str_list(kust.get(key));
        for b in bad {
            ctx.problem(
                file,
                b,
                format!("a `{key}` entry that is not a string"),
                "write a path",
            );
        }
        entries.extend(ok.into_iter().map(|(s, n)| (s.to_string(), n.clone())));
    }
    let mut seen: std::collections::HashSet<IdKey> = acc.iter().map(|r| id_key(&r.cur())).collect();
    for (entry, at) in &entries {
        if !ctx.follow(file, at) {
            break;
        }
        let more = load_resource_entry(ctx, dir, file, entry, at)?;
        append_all(ctx, acc, &mut seen, more, file, at);
    }

    // Generators.
    generate::run(ctx, dir, file, kust, acc)?;

    // Components work on this accumulator.
    let (components, bad) = str_list(kust.get("components"));
    for b in bad {
        ctx.problem(
            file,
            b,
            "a `components` entry that is not a string",
            "write a path",
        );
    }
    for (entry, at) in components {
        if !ctx.follow(file, at) {
            break;
        }
        if let Some(real) = resolve_dir_entry(ctx, dir, file, entry, at)? {
            build_dir(ctx, &real, true, acc, None, file, at)?;
        }
    }

    // Transformers, in kustomize's order.
    let changed_by = overlay
        .filter(|o| !o.file.is_empty())
        .map(|o| o.file.clone());
    // The files that set a field: the kustomization, and the controller's overlay when it
    // adds to (or, for a scalar, replaces) it.
    let own = |key: &str| kust_has_own(kust, overlay, key);
    let changers = |key: &str| -> Vec<&str> {
        let mut out = Vec::new();
        if own(key) {
            out.push(file);
        }
        if let Some(o) = overlay.filter(|o| !o.file.is_empty()) {
            if o.fields.iter().any(|(k, _, _)| k == key) {
                out.push(o.file.as_str());
            }
        }
        out
    };
    patches::strategic_merge_entries(ctx, dir, file, kust, acc, changed_by.as_deref())?;
    patches::patch_entries(ctx, dir, file, kust, acc, changed_by.as_deref())?;
    if let Some(ns) = kust.get("namespace") {
        match ns.as_str() {
            Some("") => {}
            Some(name) => {
                transform::namespace(acc, name, &changers("namespace"));
                // kustomize fails when the move makes two objects one id (two same-named objects
                // from different namespaces, two Namespaces renamed to one).
                let mut seen = std::collections::HashSet::new();
                for r in acc.iter() {
                    let id = r.cur();
                    if !seen.insert(id_key(&id)) {
                        ctx.problem(
                            file,
                            ns,
                            format!(
                                "`namespace: {name}` makes two objects one: {} (kustomize fails: the namespace transformation produces an id conflict)",
                                id.label()
                            ),
                            "rename one of the objects, or keep them in kustomizations of their own",
                        );
                        break;
                    }
                }
            }
            None if ns.is_null() => {}
            None => ctx.problem(file, ns, "`namespace` is not a string", "write a string"),
        }
    }
    for (key, prefix) in [("namePrefix", true), ("nameSuffix", false)] {
        if let Some(n) = kust.get(key) {
            match n.as_str() {
                Some("") => {}
                Some(s) => transform::prefix_suffix(acc, s, prefix),
                None if n.is_null() => {}
                None => ctx.problem(
                    file,
                    n,
                    format!("`{key}` is not a string"),
                    "write a string",
                ),
            }
        }
    }
    transform::labels(ctx, file, kust, acc);
    let annotations = string_map(kust.get("commonAnnotations"));
    if !annotations.is_empty() {
        transform::annotations(acc, &annotations);
    }
    patches::json6902_entries(ctx, dir, file, kust, acc, changed_by.as_deref())?;
    transform::replicas(ctx, file, kust, acc, &changers("replicas"));
    transform::images(ctx, file, kust, acc, &changers("images"));
    Ok(())
}

/// Loads one `resources:` entry: a file (any extension) or a directory with a kustomization.
fn load_resource_entry(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    entry: &str,
    at: &Node,
) -> Result<Vec<Res>, TreeError> {
    if is_remote(entry) {
        ctx.problem(
            file,
            at,
            format!("remote resource `{entry}`: pushguard renders only what is in this repository"),
            "vendor the remote base into the repository",
        );
        return Ok(Vec::new());
    }
    let Some(path) = join_relative(dir, entry) else {
        ctx.problem(
            file,
            at,
            format!("`{entry}` leads out of the repository"),
            "keep resources inside the repository",
        );
        return Ok(Vec::new());
    };
    match ctx.tree.resolve(&path)? {
        Resolved::File(real) => {
            let Some(bytes) = ctx.tree.read(&real)? else {
                return Ok(Vec::new());
            };
            let Some(docs) = ctx.load_kyaml_docs(&real, &bytes) else {
                return Ok(Vec::new());
            };
            Ok(resources_of(ctx, &real, docs))
        }
        Resolved::Dir(real) => {
            let mut sub = Vec::new();
            build_dir(ctx, &real, false, &mut sub, None, file, at)?;
            Ok(sub)
        }
        Resolved::Missing if looks_remote(entry) => {
            ctx.problem(
                file,
                at,
                format!(
                    "remote resource `{entry}`: pushguard renders only what is in this repository"
                ),
                "vendor the remote base into the repository",
            );
            Ok(Vec::new())
        }
        other => {
            ctx.unreachable(&other, entry, file, at);
            Ok(Vec::new())
        }
    }
}

/// A component (or other directory) entry, resolved to its real directory.
fn resolve_dir_entry(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    entry: &str,
    at: &Node,
) -> Result<Option<String>, TreeError> {
    if is_remote(entry) {
        ctx.problem(
            file,
            at,
            format!(
                "remote component `{entry}`: pushguard renders only what is in this repository"
            ),
            "vendor the component into the repository",
        );
        return Ok(None);
    }
    let Some(path) = join_relative(dir, entry) else {
        ctx.problem(
            file,
            at,
            format!("`{entry}` leads out of the repository"),
            "keep components inside the repository",
        );
        return Ok(None);
    };
    match ctx.tree.resolve(&path)? {
        Resolved::Dir(real) => Ok(Some(real)),
        Resolved::Missing if looks_remote(entry) => {
            ctx.problem(
                file,
                at,
                format!(
                    "remote component `{entry}`: pushguard renders only what is in this repository"
                ),
                "vendor the component into the repository",
            );
            Ok(None)
        }
        other => {
            ctx.unreachable(&other, entry, file, at);
            Ok(None)
        }
    }
}

/// Unmistakably remote: a URL scheme or scp-like git address.
fn is_remote(entry: &str) -> bool {
    entry.contains("://") || entry.starts_with("git@") || entry.contains("?ref=")
}

/// Would be tried as a remote by kustomize when not found locally (`github.com/org/repo`).
fn looks_remote(entry: &str) -> bool {
    let first = entry.split('/').next().unwrap_or("");
    first.contains('.') && first != "." && first != ".." && entry.contains('/')
}
