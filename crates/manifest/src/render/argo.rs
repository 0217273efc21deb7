//! What Argo CD applies for an `Application`: each source with a path in this repository,
//! rendered as Argo CD's repo-server renders it.
//!
//! Semantics follow `argoproj/argo-cd` (`reposerver/repository`, `util/kustomize`,
//! `util/app/discovery`):
//! - `.argocd-source.yaml`, then `.argocd-source-<app name>.yaml`, in the source path are
//!   JSON-merge-patched over the source (lists replaced, `null` deletes).
//! - The source type is the one the source names (`kustomize`, `helm`, `directory`,
//!   `plugin`), else discovered: `Chart.yaml` is helm, a kustomization is kustomize, anything
//!   else a plain directory.
//! - kustomize: `kustomize build` after Argo CD's `kustomize edit` overrides, which land in
//!   the root kustomization: `namePrefix`, `nameSuffix`, `namespace` (set), `images` (set by
//!   name, `name=newName:tag` / `name:tag` / `name@digest`), `commonLabels` (merged, or a
//!   `labels` entry without selectors with `labelWithoutSelector`), `commonAnnotations`
//!   (merged), `replicas` (set by name), `patches` and `components` (appended).
//! - directory: `*.yaml`, `*.yml`, `*.json` files (recursively with `directory.recurse`),
//!   filtered by `directory.include` / `exclude` globs over the path relative to the source
//!   path; a file holding `+argocd:skip-file-rendering` is skipped; YAML that does not parse
//!   and does not look like a manifest is ignored, as Argo CD ignores it.
//! - Namespaced objects without a namespace get `spec.destination.namespace`.
//!
//! Helm charts, plugins and jsonnet are not rendered: each is a `manifest-render` problem
//! (chart values are judged as files of their own).

use std::sync::Arc;

use super::kustomize::{
    build_root, components_field, finalize, find_kustomization, marked_patches, rendered, Overlay,
    OverlayOp, RootKustomization,
};
use super::nodes::{get_mut, map_node, set, set_meta_str, str_node, string_map};
use super::resources::{resources_of, Ctx, Res, MAX_DEPTH};
use super::transform::is_cluster_scoped;
use super::tree::{join, join_relative, Resolved, Tree, TreeError};
use super::Rendered;
use crate::object::Origin;
use crate::yaml::{Limits, Node, Value};

const SKIP_MARKER: &str = "+argocd:skip-file-rendering";
const HELM_FIX: &str = "chart templates are not rendered; values are judged separately";

/// What Argo CD applies for the Application `app`, read from `file`.
pub fn argo_application(
    tree: &Tree,
    app: &Node,
    file: &str,
    limits: &Limits,
) -> Result<Rendered, TreeError> {
    let mut ctx = Ctx::new(tree, limits);
    let name = app
        .path(&["metadata", "name"])
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let namespace = app
        .path(&["metadata", "namespace"])
        .and_then(Node::as_str)
        .unwrap_or("");
    let root = Arc::new(Origin {
        root: format!("Argo CD Application {namespace}/{name} ({file})"),
        changed_by: Vec::new(),
    });
    let empty = map_node(app.line, app.column);
    let spec = app.get("spec").unwrap_or(&empty);
    let dest_ns = spec
        .path(&["destination", "namespace"])
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let sources: Vec<&Node> = match spec.get("sources").map(Node::as_seq) {
        Some(list) if !list.is_empty() => list.iter().collect(),
        _ => spec.get("source").into_iter().collect(),
    };
    if sources.is_empty() {
        ctx.problem(
            file,
            spec,
            "an Application without a source",
            "add spec.source",
        );
    }
    let mut all: Vec<Res> = Vec::new();
    for source in sources {
        let mut out = render_source(&mut ctx, source, file, &name)?;
        for r in out.iter_mut() {
            let id = r.cur();
            if id.namespace.is_empty()
                && !dest_ns.is_empty()
                && !cluster_scoped_in_cluster(&id.group, &id.kind)
            {
                set_meta_str(&mut r.node, "namespace", &dest_ns);
            }
        }
        all.extend(out);
    }
    Ok(rendered(ctx, all, &root))
}

/// Cluster-scoped kinds as the API server knows them (Argo CD asks the cluster), beyond the
/// ones kustomize knows.
fn cluster_scoped_in_cluster(group: &str, kind: &str) -> bool {
    const MORE: &[(&str, &str)] = &[
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        (
            "admissionregistration.k8s.io",
            "ValidatingAdmissionPolicyBinding",
        ),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        (
            "admissionregistration.k8s.io",
            "MutatingAdmissionPolicyBinding",
        ),
        ("authentication.k8s.io", "TokenReview"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("internal.apiserver.k8s.io", "StorageVersion"),
        ("storagemigration.k8s.io", "StorageVersionMigration"),
    ];
    is_cluster_scoped(group, kind) || MORE.iter().any(|(g, k)| *g == group && *k == kind)
}

fn render_source(
    ctx: &mut Ctx<'_, '_>,
    source: &Node,
    file: &str,
    app_name: &str,
) -> Result<Vec<Res>, TreeError> {
    if source.get("chart").is_some_and(|c| !c.is_null()) {
        ctx.problem(
            file,
            source,
            "a helm chart source: chart templates are not rendered",
            HELM_FIX,
        );
        return Ok(Vec::new());
    }
    let Some(path_node) = source.get("path").filter(|p| !p.is_null()) else {
        if source.get("ref").is_some() {
            // A values-only source (`ref:`): nothing of its own is applied.
            return Ok(Vec::new());
        }
        ctx.problem(
            file,
            source,
            "a source without a path",
            "add spec.source.path",
        );
        return Ok(Vec::new());
    };
    let path = path_node.as_str().unwrap_or("");
    let Some(dir) = join_relative("", path) else {
        ctx.problem(
            file,
            path_node,
            format!("source path `{path}` leads out of the repository"),
            "use a path inside the repository",
        );
        return Ok(Vec::new());
    };
    let real = match ctx.tree.resolve(&dir)? {
        Resolved::Dir(real) => real,
        other => {
            ctx.unreachable(&other, &dir, file, path_node);
            return Ok(Vec::new());
        }
    };
    // Override files, merged over the source.
    let mut src = source.clone();
    let mut override_files = Vec::new();
    for name in [
        ".argocd-source.yaml".to_string(),
        format!(".argocd-source-{app_name}.yaml"),
    ] {
        let p = join(&real, &name);
        if !matches!(ctx.tree.resolve(&p)?, Resolved::File(_)) {
            continue;
        }
        let Some(bytes) = ctx.tree.read(&p)? else {
            continue;
        };
        let Some(docs) = ctx.load_docs(&p, &bytes) else {
            continue;
        };
        if let Some(doc) = docs.into_iter().next() {
            merge_patch(&mut src, &doc, 0);
            override_files.push(p);
        }
    }
    let present = |k: &str| src.get(k).is_some_and(|n| !n.is_null());
    if present("plugin") {
        ctx.problem(
            file,
            source,
            "a config-management-plugin source: its output is not rendered",
            "render the manifests into the repository",
        );
        return Ok(Vec::new());
    }
    let explicit = ["helm", "kustomize", "directory"]
        .iter()
        .filter(|k| present(k))
        .count();
    let has_chart = matches!(
        ctx.tree.resolve(&join(&real, "Chart.yaml"))?,
        Resolved::File(_)
    );
    let has_kustomization = !find_kustomization(ctx, &real)?.is_empty();
    let is_helm = present("helm") || (explicit == 0 && has_chart);
    let is_kustomize = present("kustomize") || (explicit == 0 && !has_chart && has_kustomization);
    let mut out = if is_helm {
        ctx.problem(
            file,
            path_node,
            format!("`{dir}` is a helm chart: chart templates are not rendered"),
            HELM_FIX,
        );
        Vec::new()
    } else if is_kustomize {
        if !has_kustomization {
            ctx.problem(
                file,
                path_node,
                format!("`{dir}` has kustomize overrides but no kustomization: Argo CD fails"),
                "add a kustomization",
            );
            return Ok(Vec::new());
        }
        let overlay = overlay_of(ctx, src.get("kustomize"), file, &real)?;
        let mut res = build_root(ctx, &real, RootKustomization::Find, &overlay)?;
        finalize(ctx, &mut res, file);
        res
    } else {
        directory(ctx, &real, src.get("directory"), file, path_node)?
    };
    for r in out.iter_mut() {
        for f in &override_files {
            r.changed(f);
        }
    }
    Ok(out)
}

/// RFC 7386 JSON merge patch (what Argo CD applies the override files with).
fn merge_patch(target: &mut Node, patch: &Node, depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    let Value::Map(entries) = &patch.value else {
        *target = patch.clone();
        return;
    };
    if !matches!(target.value, Value::Map(_)) {
        target.value = Value::Map(Vec::new());
    }
    for (k, v) in entries {
        if v.is_null() {
            super::nodes::remove(target, &k.name);
            continue;
        }
        match get_mut(target, &k.name) {
            Some(slot) => merge_patch(slot, v, depth + 1),
            None => {
                let mut fresh = Node {
                    value: Value::Null,
                    line: v.line,
                    column: v.column,
                };
                merge_patch(&mut fresh, v, depth + 1);
                set(target, &k.name, fresh);
            }
        }
    }
}

/// Argo CD's kustomize overrides as root-kustomization fields.
fn overlay_of(
    ctx: &mut Ctx<'_, '_>,
    k: Option<&Node>,
    file: &str,
    dir: &str,
) -> Result<Overlay, TreeError> {
    let mut fields: Vec<(String, OverlayOp, Node)> = Vec::new();
    let Some(k) = k.filter(|k| !k.is_null()) else {
        return Ok(Overlay {
            fields,
            file: file.to_string(),
        });
    };
    for key in ["namePrefix", "nameSuffix", "namespace"] {
        if let Some(n) = k
            .get(key)
            .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
        {
            fields.push((key.to_string(), OverlayOp::Set, n.clone()));
        }
    }
    if let Some(images) = k.get("images").filter(|n| !n.as_seq().is_empty()) {
        let mut list = Vec::new();
        for img in images.as_seq() {
            let Some(text) = img.as_str() else {
                ctx.problem(
                    file,
                    img,
                    "an image override that is not a string",
                    "write name=newName:tag",
                );
                continue;
            };
            list.push(image_override(text, img));
        }
        fields.push((
            "images".into(),
            OverlayOp::ReplaceByName,
            Node {
                value: Value::Seq(list),
                line: images.line,
                column: images.column,
            },
        ));
    }
    if let Some(labels) = k.get("commonLabels").filter(|n| !n.as_map().is_empty()) {
        let flag = |f: &str| k.get(f).and_then(Node::as_bool).unwrap_or(false);
        if flag("labelWithoutSelector") {
            let (l, c) = (labels.line, labels.column);
            let mut e = map_node(l, c);
            set(&mut e, "pairs", labels.clone());
            set(
                &mut e,
                "includeSelectors",
                Node {
                    value: Value::Bool(false),
                    line: l,
                    column: c,
                },
            );
            if flag("labelIncludeTemplates") {
                set(
                    &mut e,
                    "includeTemplates",
                    Node {
                        value: Value::Bool(true),
                        line: l,
                        column: c,
                    },
                );
            }
            fields.push((
                "labels".into(),
                OverlayOp::Append,
                Node {
                    value: Value::Seq(vec![e]),
                    line: l,
                    column: c,
                },
            ));
        } else {
            fields.push(("commonLabels".into(), OverlayOp::MergeMap, labels.clone()));
        }
    }
    if let Some(ann) = k
        .get("commonAnnotations")
        .filter(|n| !n.as_map().is_empty())
    {
        if k.get("commonAnnotationsEnvsubst").and_then(Node::as_bool) == Some(true)
            && string_map(Some(ann)).iter().any(|(_, v)| v.contains('$'))
        {
            ctx.problem(
                file,
                ann,
                "commonAnnotationsEnvsubst: Argo CD's build environment is not rendered",
                "write the annotation values out",
            );
        }
        fields.push(("commonAnnotations".into(), OverlayOp::MergeMap, ann.clone()));
    }
    if let Some(replicas) = k.get("replicas").filter(|n| !n.as_seq().is_empty()) {
        let mut list = Vec::new();
        for r in replicas.as_seq() {
            let mut e = r.clone();
            if let Some(count) = r
                .get("count")
                .and_then(Node::as_str)
                .and_then(|s| s.parse::<i128>().ok())
            {
                set(
                    &mut e,
                    "count",
                    Node {
                        value: Value::Int(count),
                        line: r.line,
                        column: r.column,
                    },
                );
            }
            list.push(e);
        }
        fields.push((
            "replicas".into(),
            OverlayOp::MergeByName,
            Node {
                value: Value::Seq(list),
                line: replicas.line,
                column: replicas.column,
            },
        ));
    }
    if let Some(patches) = k.get("patches").filter(|n| !n.as_seq().is_empty()) {
        let list = marked_patches(patches.as_seq(), patches);
        fields.push(("patches".into(), OverlayOp::Append, list));
    }
    fields.extend(components_field(ctx, k, dir, |_, _, _| true)?);
    Ok(Overlay {
        fields,
        file: file.to_string(),
    })
}

/// `kustomize edit set image` argument: `name=newName:tag`, `name=newName@digest`,
/// `name:tag`, `name@digest`, `name=newName`, `*` keeping a field of the entry it replaces.
fn image_override(text: &str, at: &Node) -> Node {
    let (l, c) = (at.line, at.column);
    let mut e = map_node(l, c);
    let (name, rest) = match text.split_once('=') {
        Some((name, rest)) => (name.to_string(), Some(rest)),
        None => (String::new(), None),
    };
    let (name, new_name, tag, digest) = match rest {
        Some(rest) => {
            let (n, t, d) = split_reference(rest);
            (name, n, t, d)
        }
        None => {
            let (n, t, d) = split_reference(text);
            (n, String::new(), t, d)
        }
    };
    set(&mut e, "name", str_node(&name, l, c));
    if !new_name.is_empty() && new_name != name {
        set(&mut e, "newName", str_node(&new_name, l, c));
    }
    if !tag.is_empty() {
        set(&mut e, "newTag", str_node(&tag, l, c));
    }
    if !digest.is_empty() {
        set(&mut e, "digest", str_node(&digest, l, c));
    }
    e
}

fn split_reference(image: &str) -> (String, String, String) {
    let (rest, digest) = match image.split_once('@') {
        Some((n, d)) => (n, d.to_string()),
        None => (image, String::new()),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest.get(slash..).and_then(|tail| tail.rfind(':')) {
        Some(i) => (
            rest.get(..slash + i).unwrap_or(rest).to_string(),
            rest.get(slash + i + 1..).unwrap_or("").to_string(),
            digest,
        ),
        None => (rest.to_string(), String::new(), digest),
    }
}

/// A plain directory source.
fn directory(
    ctx: &mut Ctx<'_, '_>,
    real: &str,
    opts: Option<&Node>,
    file: &str,
    at: &Node,
) -> Result<Vec<Res>, TreeError> {
    let text = |k: &str| {
        opts.and_then(|o| o.get(k))
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string()
    };
    let recurse = opts
        .and_then(|o| o.get("recurse"))
        .and_then(Node::as_bool)
        .unwrap_or(false);
    let include = glob_regex(&text("include"));
    let exclude = glob_regex(&text("exclude"));
    if opts
        .and_then(|o| o.get("jsonnet"))
        .is_some_and(|j| !j.as_map().is_empty())
    {
        ctx.problem(
            file,
            at,
            "jsonnet options: jsonnet is not rendered",
            "render the manifests into the repository",
        );
    }
    let mut files = Vec::new();
    walk(ctx, real, real, recurse, 0, file, at, &mut files)?;
    let mut out = Vec::new();
    for (rel, path) in files {
        if exclude
            .as_ref()
            .is_some_and(|re| re.as_ref().is_some_and(|re| re.is_match(&rel)))
        {
            continue;
        }
        if include
            .as_ref()
            .is_some_and(|re| !re.as_ref().is_some_and(|re| re.is_match(&rel)))
        {
            continue;
        }
        if rel.ends_with(".jsonnet") {
            ctx.problem(
                file,
                at,
                format!("`{rel}` is jsonnet: it is not rendered"),
                "render the manifests into the repository",
            );
            continue;
        }
        let Some(bytes) = ctx.tree.read(&path)? else {
            continue;
        };
        if bytes
            .windows(SKIP_MARKER.len())
            .any(|w| w == SKIP_MARKER.as_bytes())
        {
            continue;
        }
        let looks_like_manifest = ["apiVersion:", "kind:", "metadata:"]
            .iter()
            .all(|m| bytes.windows(m.len()).any(|w| w == m.as_bytes()));
        let before = ctx.problems.len();
        let Some(docs) = ctx.load_docs(&path, &bytes) else {
            if !looks_like_manifest && !rel.ends_with(".json") {
                // Argo CD ignores YAML it cannot read unless it looks like a manifest.
                ctx.problems.truncate(before);
            }
            continue;
        };
        let objects: Vec<Node> = docs.into_iter().filter(|d| !d.is_null()).collect();
        let all_objects = objects
            .iter()
            .all(|d| d.get("kind").is_some() && d.get("apiVersion").is_some());
        if !all_objects && !looks_like_manifest {
            continue;
        }
        out.extend(resources_of(ctx, &path, objects));
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn walk(
    ctx: &mut Ctx<'_, '_>,
    base: &str,
    dir: &str,
    recurse: bool,
    depth: usize,
    file: &str,
    at: &Node,
    out: &mut Vec<(String, String)>,
) -> Result<(), TreeError> {
    if depth > MAX_DEPTH {
        ctx.too_deep(file, at);
        return Ok(());
    }
    if !ctx.follow(file, at) {
        return Ok(());
    }
    let Some(entries) = ctx.tree.list(dir)? else {
        return Ok(());
    };
    for (name, resolved) in entries {
        let path = join(dir, &name);
        let rel = path
            .strip_prefix(base)
            .map(|p| p.trim_start_matches('/'))
            .unwrap_or(&path)
            .to_string();
        let manifest = [".yaml", ".yml", ".json", ".jsonnet"]
            .iter()
            .any(|e| name.ends_with(e));
        match resolved {
            Resolved::Dir(real) if real == path && recurse => {
                walk(ctx, base, &path, recurse, depth + 1, file, at, out)?;
            }
            Resolved::File(real) if manifest => out.push((rel, real)),
            Resolved::Outside { .. } if manifest => ctx.unreachable(&resolved, &path, file, at),
            _ => {}
        }
    }
    Ok(())
}

/// A gobwas-style glob (`*` and `?` cross `/`, `{a,b}`, `[...]`) as an anchored regex: None
/// for an empty pattern, Some(None) for one that matches nothing.
fn glob_regex(glob: &str) -> Option<Option<regex::Regex>> {
    if glob.is_empty() {
        return None;
    }
    let mut re = String::from("^");
    let mut depth = 0usize;
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                re.push(')');
            }
            ',' if depth > 0 => re.push('|'),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    re.push('^');
                }
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    if d == '\\' || d == '[' {
                        re.push('\\');
                    }
                    re.push(d);
                }
                re.push(']');
            }
            '\\' => {
                if let Some(d) = chars.next() {
                    re.push_str(&regex::escape(&d.to_string()));
                }
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    // A pattern that does not compile matches nothing, as an invalid glob does in Argo CD.
    Some(regex::Regex::new(&re).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_argo() {
        let re = glob_regex("{a.yaml,sub/*.yml}").unwrap().unwrap();
        assert!(re.is_match("a.yaml"));
        assert!(re.is_match("sub/x.yml"));
        assert!(!re.is_match("b.yaml"));
        assert!(glob_regex("*.yaml")
            .unwrap()
            .unwrap()
            .is_match("deep/x.yaml"));
        assert!(glob_regex("").is_none());
    }

    #[test]
    fn image_overrides_parse_like_kustomize_edit() {
        let at = Node {
            value: Value::Null,
            line: 1,
            column: 1,
        };
        let e = image_override("nginx=evil.io/nginx:1.0", &at);
        assert_eq!(e.get("name").and_then(Node::as_str), Some("nginx"));
        assert_eq!(
            e.get("newName").and_then(Node::as_str),
            Some("evil.io/nginx")
        );
        assert_eq!(e.get("newTag").and_then(Node::as_str), Some("1.0"));
        let e = image_override("registry:5000/app:2", &at);
        assert_eq!(
            e.get("name").and_then(Node::as_str),
            Some("registry:5000/app")
        );
        assert_eq!(e.get("newTag").and_then(Node::as_str), Some("2"));
    }
}
