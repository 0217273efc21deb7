//! Applying a kustomization's `patchesStrategicMerge`, `patches` and `patchesJson6902` to the
//! resource map: which resources each patch reaches (kustomize's `Select` over original and
//! current ids, or the patch's own id), where the patch text comes from (inline, a file of any
//! name), and the bookkeeping (former names, which file changed what). The merge and the
//! operations themselves are [`super::patch`].

use super::nodes::{map_node, set, str_node};
use super::patch::{json6902, selects, strategic_merge, strategic_merge_selected};
use super::resources::{Ctx, Res, ResId};
use super::tree::{join_relative, TreeError};
use crate::yaml::{Node, Value};

/// Most (target, object) selector evaluations in one render: each may compile regexes.
const MAX_SELECTS: usize = 100_000;

/// A loaded patch: its documents, and the file to name as having changed what it patches.
struct Loaded {
    docs: Vec<Node>,
    source: String,
}

/// `patchesStrategicMerge`: each entry is inline YAML or a file; each document patches the one
/// resource whose (original, former or current) id is the document's.
pub(crate) fn strategic_merge_entries(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    kust: &Node,
    acc: &mut Vec<Res>,
    overlay_file: Option<&str>,
) -> Result<(), TreeError> {
    for entry in kust
        .get("patchesStrategicMerge")
        .map(Node::as_seq)
        .unwrap_or(&[])
    {
        if !ctx.follow(file, entry) {
            return Ok(());
        }
        if let (Some(of), true) = (overlay_file, is_overlay_node(entry)) {
            // A Flux v1beta2 overlay patch: the object itself.
            let mut doc = entry.clone();
            super::nodes::remove(&mut doc, OVERLAY_MARK);
            apply_by_id(ctx, of, entry, &doc, of, acc, Allow::default());
            continue;
        }
        let Some(text) = entry.as_str() else {
            ctx.problem(
                file,
                entry,
                "a `patchesStrategicMerge` entry that is not a string",
                "write a path or inline YAML",
            );
            continue;
        };
        let Some(loaded) = load_patch_text(ctx, dir, file, text, entry, true)? else {
            continue;
        };
        for doc in &loaded.docs {
            if matches!(doc.value, Value::Seq(_)) {
                ctx.problem(
                    file,
                    entry,
                    "a JSON 6902 patch under `patchesStrategicMerge`: kustomize fails",
                    "move it to `patches` with a target",
                );
                continue;
            }
            apply_by_id(ctx, file, entry, doc, &loaded.source, acc, Allow::default());
        }
    }
    Ok(())
}

/// `patches`: `path` or `patch`, optional `target` and `options`; JSON 6902 when the text is a
/// list of operations, strategic merge otherwise.
pub(crate) fn patch_entries(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    kust: &Node,
    acc: &mut Vec<Res>,
    overlay_file: Option<&str>,
) -> Result<(), TreeError> {
    for entry in kust.get("patches").map(Node::as_seq).unwrap_or(&[]) {
        if !ctx.follow(file, entry) {
            return Ok(());
        }
        // An overlay's entries (Flux, Argo CD) were written in the controller's object.
        let file = match overlay_file {
            Some(of) if is_overlay_node(entry) => of,
            _ => file,
        };
        let Some(loaded) = load_entry(ctx, dir, file, entry)? else {
            continue;
        };
        let options = entry.get("options");
        let flag = |k: &str| {
            options
                .and_then(|o| o.get(k))
                .and_then(Node::as_bool)
                .unwrap_or(false)
        };
        let (allow_name, allow_kind) = (flag("allowNameChange"), flag("allowKindChange"));
        let target = entry.get("target").filter(|t| !t.is_null());
        let is_json =
            loaded.docs.len() == 1 && loaded.docs.iter().all(|d| matches!(d.value, Value::Seq(_)));
        if loaded.docs.iter().any(|d| matches!(d.value, Value::Seq(_))) && !is_json {
            ctx.problem(
                file,
                entry,
                "a patch mixing JSON 6902 operations and objects: kustomize fails",
                "split it",
            );
            continue;
        }
        if is_json {
            let Some(target) = target else {
                ctx.problem(
                    file,
                    entry,
                    "a JSON 6902 patch without `target`: kustomize fails",
                    "add a target",
                );
                continue;
            };
            if let Some(ops) = loaded.docs.first() {
                apply_json_to_selected(ctx, file, entry, target, ops, &loaded.source, acc);
            }
            continue;
        }
        let allow = Allow {
            name: allow_name,
            kind: allow_kind,
            targeted: target.is_some(),
        };
        for doc in loaded.docs {
            match target {
                Some(t) => {
                    apply_smp_to_selected(ctx, file, entry, t, &doc, &loaded.source, acc, allow)
                }
                None => apply_by_id(ctx, file, entry, &doc, &loaded.source, acc, allow),
            }
        }
    }
    Ok(())
}

/// Marks a patch entry added by a controller's overlay (see [`is_overlay_node`]).
pub(crate) const OVERLAY_MARK: &str = "$pushguard-overlay";

/// Entries an overlay (Flux, Argo CD) added carry [`OVERLAY_MARK`].
fn is_overlay_node(entry: &Node) -> bool {
    entry.get(OVERLAY_MARK).is_some()
}

/// `patchesJson6902`: `target` and `path` or `patch`.
pub(crate) fn json6902_entries(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    kust: &Node,
    acc: &mut [Res],
    overlay_file: Option<&str>,
) -> Result<(), TreeError> {
    for entry in kust.get("patchesJson6902").map(Node::as_seq).unwrap_or(&[]) {
        if !ctx.follow(file, entry) {
            return Ok(());
        }
        let file = match overlay_file {
            Some(of) if is_overlay_node(entry) => of,
            _ => file,
        };
        let Some(target) = entry.get("target").filter(|t| !t.is_null()) else {
            ctx.problem(
                file,
                entry,
                "a `patchesJson6902` entry without `target`: kustomize fails",
                "add a target",
            );
            continue;
        };
        let Some(loaded) = load_entry(ctx, dir, file, entry)? else {
            continue;
        };
        match loaded.docs.as_slice() {
            [ops] if matches!(ops.value, Value::Seq(_)) => {
                apply_json_to_selected(ctx, file, entry, target, ops, &loaded.source, acc)
            }
            _ => ctx.problem(
                file,
                entry,
                "a `patchesJson6902` patch that is not a list of operations: kustomize fails",
                "write JSON 6902 operations",
            ),
        }
    }
    Ok(())
}

/// The text of a `patches`/`patchesJson6902` entry: `patch` inline or `path` to a file.
fn load_entry(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    entry: &Node,
) -> Result<Option<Loaded>, TreeError> {
    let inline = entry.get("patch").filter(|n| !n.is_null());
    let path = entry.get("path").filter(|n| !n.is_null());
    match (inline, path) {
        (Some(p), None) if matches!(p.value, Value::Seq(_)) && is_overlay_node(entry) => {
            // A Flux v1beta2 overlay's JSON 6902 operations, already a list.
            Ok(Some(Loaded {
                docs: vec![p.clone()],
                source: file.to_string(),
            }))
        }
        (Some(p), None) => {
            let Some(text) = p.as_str() else {
                ctx.problem(
                    file,
                    p,
                    "`patch` is not a string",
                    "write the patch as a string",
                );
                return Ok(None);
            };
            let docs = load_inline(ctx, file, p, text);
            Ok(docs.map(|docs| Loaded {
                docs,
                source: file.to_string(),
            }))
        }
        (None, Some(p)) => {
            let Some(text) = p.as_str() else {
                ctx.problem(file, p, "`path` is not a string", "write a path");
                return Ok(None);
            };
            load_patch_text(ctx, dir, file, text, p, false)
        }
        (Some(_), Some(_)) => {
            ctx.problem(
                file,
                entry,
                "a patch with both `patch` and `path`: kustomize fails",
                "keep one",
            );
            Ok(None)
        }
        (None, None) => {
            ctx.problem(
                file,
                entry,
                "a patch with neither `patch` nor `path`: kustomize fails",
                "add one",
            );
            Ok(None)
        }
    }
}

/// A `patchesStrategicMerge` entry (inline YAML, or a path) or a `path`: the documents.
fn load_patch_text(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    text: &str,
    at: &Node,
    may_be_inline: bool,
) -> Result<Option<Loaded>, TreeError> {
    if may_be_inline && (text.contains('\n') || text.trim_start().starts_with('{')) {
        let docs = load_inline(ctx, file, at, text);
        return Ok(docs.map(|docs| Loaded {
            docs,
            source: file.to_string(),
        }));
    }
    let Some(full) = join_relative(dir, text) else {
        ctx.problem(
            file,
            at,
            format!("`{text}` leads out of the repository"),
            "keep patches inside the repository",
        );
        return Ok(None);
    };
    let Some(bytes) = ctx.read_file(&full, file, at)? else {
        return Ok(None);
    };
    let real = match ctx.tree.resolve(&full)? {
        super::tree::Resolved::File(real) => real,
        _ => full,
    };
    let docs = ctx
        .load_docs(&real, &bytes)
        .map(|docs| patch_values(docs, &bytes));
    Ok(docs.map(|docs| Loaded { docs, source: real }))
}

/// Loads an inline patch string, positions shifted into the kustomization file.
fn load_inline(ctx: &mut Ctx<'_, '_>, file: &str, at: &Node, text: &str) -> Option<Vec<Node>> {
    let before = ctx.problems.len();
    let docs = ctx
        .load_docs(file, text.as_bytes())
        .map(|docs| patch_values(docs, text.as_bytes()));
    // Load errors of inline text: point at the entry.
    for p in ctx.problems.iter_mut().skip(before) {
        p.line = p.line.saturating_add(at.line.saturating_sub(1));
    }
    let mut docs = docs?;
    for d in docs.iter_mut() {
        shift(d, at.line.saturating_sub(1), 0);
    }
    Some(docs)
}

/// Strategic-merge patches are read as kustomize reads manifests (go-yaml v3, see
/// [`super::resources::kyaml_values`]); JSON 6902 operations go through `YAMLToJSON`
/// (go-yaml v2: `value: on` is `true`), which is how the loader reads them already.
fn patch_values(mut docs: Vec<Node>, bytes: &[u8]) -> Vec<Node> {
    super::resources::with_source_lines(bytes, |lines| {
        for d in docs.iter_mut() {
            if matches!(d.value, Value::Map(_)) {
                super::resources::kyaml_values(d, lines);
            }
        }
    });
    docs
}

fn shift(node: &mut Node, lines: u32, depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    node.line = node.line.saturating_add(lines);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|i| shift(i, lines, depth + 1)),
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                k.line = k.line.saturating_add(lines);
                shift(v, lines, depth + 1);
            }
        }
        _ => {}
    }
}

/// `options.allowNameChange` / `allowKindChange` of a `patches` entry: the patch's name or
/// kind replaces the target's (otherwise kustomize keeps them).
#[derive(Debug, Clone, Copy, Default)]
struct Allow {
    name: bool,
    kind: bool,
    /// The patch came with a `target:` (kustomize rewrites its metadata first).
    targeted: bool,
}

/// A strategic-merge patch without a target: the one resource with the patch's id.
fn apply_by_id(
    ctx: &mut Ctx<'_, '_>,
    file: &str,
    at: &Node,
    patch: &Node,
    source: &str,
    acc: &mut Vec<Res>,
    allow: Allow,
) {
    let id = ResId::of(patch);
    let found: Vec<usize> = acc
        .iter()
        .enumerate()
        .filter(|(_, r)| r.any_id_matches(&id))
        .map(|(i, _)| i)
        .collect();
    match found.as_slice() {
        [i] => {
            let i = *i;
            apply_smp(ctx, file, at, i, patch, source, acc, allow);
        }
        [] => ctx.problem(
            file,
            at,
            format!(
                "the patch for {} matches no resource: kustomize fails",
                id.label()
            ),
            "fix the patch's apiVersion, kind, name and namespace",
        ),
        _ => ctx.problem(
            file,
            at,
            format!(
                "the patch for {} matches more than one resource: kustomize fails",
                id.label()
            ),
            "give the patch a namespace or a target",
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn apply_smp(
    ctx: &mut Ctx<'_, '_>,
    file: &str,
    at: &Node,
    i: usize,
    patch: &Node,
    source: &str,
    acc: &mut Vec<Res>,
    allow: Allow,
) {
    let Some(r) = acc.get_mut(i) else { return };
    let before = r.cur();
    let merged = if allow.targeted {
        strategic_merge_selected(&mut r.node, patch)
    } else {
        strategic_merge(&mut r.node, patch)
    };
    match merged {
        Ok(()) => {
            r.changed(source);
            if r.node.is_null() {
                acc.remove(i);
            } else {
                if allow.name {
                    if let Some(name) = patch.path(&["metadata", "name"]).and_then(Node::as_str) {
                        super::nodes::set_meta_str(&mut r.node, "name", name);
                    }
                }
                if allow.kind {
                    if let Some(kind) = patch.get("kind").filter(|k| k.as_str().is_some()) {
                        set(&mut r.node, "kind", kind.clone());
                    }
                }
                r.note_former(&before.namespace, &before.name);
            }
        }
        Err(e) => {
            let message = format!(
                "the patch from `{source}` cannot be applied to {}: {}",
                before.label(),
                e.message
            );
            ctx.problem(
                file,
                at,
                message,
                "fix the patch: kustomize fails on it, or pushguard cannot apply it exactly",
            );
        }
    }
}

/// The resources a target selects, as kustomize's `Select`: the original or current
/// namespace, and the original or current name.
fn selected(ctx: &mut Ctx<'_, '_>, file: &str, target: &Node, acc: &[Res]) -> Option<Vec<usize>> {
    // Literal kind and name in the target rule most resources out without a regex.
    let literal = |k: &str| {
        target
            .get(k)
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    };
    let (kind, name) = (literal("kind"), literal("name"));
    // A name regex is compiled once here (selects compiles it per object).
    let name_re = target
        .get("name")
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty())
        .and_then(|p| {
            regex::RegexBuilder::new(&format!("^(?:{p})$"))
                .size_limit(1 << 20)
                .build()
                .ok()
        });
    let mut out = Vec::new();
    for (i, r) in acc.iter().enumerate() {
        let cur = r.cur();
        if kind.is_some_and(|k| k != cur.kind)
            || name.is_some_and(|n| n != cur.name && n != r.org.name)
            || name_re
                .as_ref()
                .is_some_and(|re| !re.is_match(&cur.name) && !re.is_match(&r.org.name))
        {
            continue;
        }
        ctx.selects = ctx.selects.saturating_add(1);
        if ctx.selects > MAX_SELECTS {
            if !ctx.exhausted {
                ctx.exhausted = true;
                ctx.problem(file, target, format!("patch targets are matched against more than {MAX_SELECTS} objects in this root (limit)"), "use literal kinds and names in patch targets, or split the root");
            }
            return None;
        }
        let mut combos: Vec<(&str, &str)> = vec![(cur.namespace.as_str(), cur.name.as_str())];
        for c in [
            (r.org.namespace.as_str(), r.org.name.as_str()),
            (r.org.namespace.as_str(), cur.name.as_str()),
            (cur.namespace.as_str(), r.org.name.as_str()),
        ] {
            if !combos.contains(&c) {
                combos.push(c);
            }
        }
        let mut hit = false;
        for (ns, name) in combos {
            let probe = id_node(&r.node, ns, name);
            match selects(target, &probe) {
                Ok(true) => {
                    hit = true;
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    ctx.problem(
                        file,
                        target,
                        format!("patch target: {}", e.message),
                        "fix the target; kustomize fails on it",
                    );
                    return None;
                }
            }
        }
        if hit {
            out.push(i);
        }
    }
    Some(out)
}

/// The parts of an object a selector reads, with a given namespace and name.
fn id_node(obj: &Node, namespace: &str, name: &str) -> Node {
    let (line, column) = (obj.line, obj.column);
    let mut n = map_node(line, column);
    for k in ["apiVersion", "kind"] {
        if let Some(v) = obj.get(k) {
            set(&mut n, k, v.clone());
        }
    }
    let mut meta = map_node(line, column);
    set(&mut meta, "name", str_node(name, line, column));
    if !namespace.is_empty() {
        set(&mut meta, "namespace", str_node(namespace, line, column));
    }
    for k in ["labels", "annotations"] {
        if let Some(v) = obj.path(&["metadata", k]) {
            set(&mut meta, k, v.clone());
        }
    }
    set(&mut n, "metadata", meta);
    n
}

#[allow(clippy::too_many_arguments)]
fn apply_smp_to_selected(
    ctx: &mut Ctx<'_, '_>,
    file: &str,
    at: &Node,
    target: &Node,
    patch: &Node,
    source: &str,
    acc: &mut Vec<Res>,
    allow: Allow,
) {
    let Some(found) = selected(ctx, file, target, acc) else {
        return;
    };
    // Highest index first: a deleted resource does not shift the others.
    for i in found.into_iter().rev() {
        apply_smp(ctx, file, at, i, patch, source, acc, allow);
    }
}

fn apply_json_to_selected(
    ctx: &mut Ctx<'_, '_>,
    file: &str,
    at: &Node,
    target: &Node,
    ops: &Node,
    source: &str,
    acc: &mut [Res],
) {
    let Some(found) = selected(ctx, file, target, acc) else {
        return;
    };
    for i in found {
        let Some(r) = acc.get_mut(i) else { continue };
        let before = r.cur();
        // kustomize's objects always carry annotations while it works (its own, removed at
        // the end): a patch may add under /metadata/annotations of an object without any.
        let had_annotations = r.node.path(&["metadata", "annotations"]).is_some();
        if !had_annotations {
            let (line, column) = (r.node.line, r.node.column);
            if let Some(meta) =
                super::nodes::entry(&mut r.node, "metadata", || map_node(line, column))
            {
                set(meta, "annotations", map_node(line, column));
            }
        }
        let result = json6902(&mut r.node, ops);
        if !had_annotations {
            let empty = r
                .node
                .path(&["metadata", "annotations"])
                .is_some_and(|a| matches!(&a.value, Value::Map(m) if m.is_empty()));
            if empty {
                if let Some(meta) = super::nodes::get_mut(&mut r.node, "metadata") {
                    super::nodes::remove(meta, "annotations");
                }
            }
        }
        match result {
            Ok(()) => {
                r.changed(source);
                r.note_former(&before.namespace, &before.name);
            }
            Err(e) => {
                let message = format!(
                    "the JSON 6902 patch from `{source}` cannot be applied to {}: {}",
                    before.label(),
                    e.message
                );
                ctx.problem(
                    file,
                    at,
                    message,
                    "fix the patch: kustomize fails on it, or pushguard cannot apply it exactly",
                );
            }
        }
    }
}
