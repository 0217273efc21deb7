//! What Flux's kustomize-controller applies: a path built with kustomize (a kustomization
//! generated for a directory without one), a `Kustomization` object's overlay, and post-build
//! variable substitution.
//!
//! Semantics follow `fluxcd/pkg/kustomize` and `kustomize-controller`:
//! - A directory without a kustomization gets a generated one listing every `.yaml`/`.yml`
//!   file under it, recursively in lexical order, and every subdirectory holding its own
//!   kustomization (not descended into). Symlinked directories are not walked (Go's
//!   `filepath.Walk`). Kustomize then builds it with `LoadRestrictionsNone`.
//! - The overlay is written into the root kustomization: `targetNamespace` (kustomize's
//!   `namespace`), `namePrefix`, `nameSuffix`, `patches` (appended), `patchesStrategicMerge`
//!   and `patchesJson6902` (v1beta2), `images` (merged by name), `components` (appended;
//!   `ignoreMissingComponents` drops missing ones).
//! - After the build: `spec.postBuild` substitution on every object not annotated or labelled
//!   `kustomize.toolkit.fluxcd.io/substitute: disabled`, when any variable is defined
//!   (`substitute`, `substituteFrom`) or `substituteStrategy: Always`; then
//!   `spec.commonMetadata` labels and annotations on every object's metadata.
//!
//! Variables from `substituteFrom` live in the cluster (ConfigMaps, Secrets) and are unknown
//! here: they render as Flux renders a variable without a value (empty, so `${var:=default}`
//! and `${var:-default}` take the default). Substitution works on the YAML text in Flux; here
//! it works on each string, re-read as the plain scalar kustomize would have written
//! (`privileged: "${priv:=true}"` becomes the boolean `true`), and a result that would change
//! the YAML structure is a problem.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::artifact::{self, Generator};
use super::kustomize::{
    build_root, components_field, finalize, find_kustomization, marked_patches, rendered, Overlay,
    OverlayOp, RootKustomization,
};
use super::nodes::{entry, map_node, scalar_text, set, str_node, string_map};
use super::resources::{Ctx, Res, MAX_DEPTH};
use super::sourceignore::{Ignore, SourceArtifact};
use super::tree::{join, join_relative, Resolved, Tree, TreeError};
use super::Rendered;
use crate::object::Origin;
use crate::yaml::{self, Key, Limits, Node, Value};

const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// What kustomize-controller applies from `dir` with no overlay.
pub fn flux_build(tree: &Tree, dir: &str, limits: &Limits) -> Result<Rendered, TreeError> {
    let mut ctx = Ctx::new(tree, limits);
    let root = Arc::new(Origin {
        root: format!("flux build {}", if dir.is_empty() { "." } else { dir }),
        changed_by: Vec::new(),
    });
    let mut resources = flux_resources(&mut ctx, dir, &Overlay::default())?;
    finalize(&mut ctx, &mut resources, dir);
    Ok(rendered(ctx, resources, &root))
}

/// Builds `dir` as Flux does (generating a kustomization when there is none).
fn flux_resources(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
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
    if !find_kustomization(ctx, &real)?.is_empty() {
        return build_root(ctx, &real, RootKustomization::Find, overlay);
    }
    let mut found = Vec::new();
    scan(ctx, &real, &real, 0, &from, &mut found)?;
    let (line, column) = (1, 1);
    let mut kust = map_node(line, column);
    let list: Vec<Node> = found
        .iter()
        .map(|p| str_node(&format!("./{p}"), line, column))
        .collect();
    set(
        &mut kust,
        "resources",
        Node {
            value: Value::Seq(list),
            line,
            column,
        },
    );
    let file = if real.is_empty() {
        ".".to_string()
    } else {
        real.clone()
    };
    build_root(ctx, &real, RootKustomization::Given(file, kust), overlay)
}

/// Flux's manifest scan: `.yaml`/`.yml` files and kustomization directories, relative to `base`.
fn scan(
    ctx: &mut Ctx<'_, '_>,
    base: &str,
    dir: &str,
    depth: usize,
    from: &str,
    out: &mut Vec<String>,
) -> Result<(), TreeError> {
    let at = Node {
        value: Value::Null,
        line: 1,
        column: 1,
    };
    if depth > MAX_DEPTH {
        ctx.too_deep(from, &at);
        return Ok(());
    }
    if !ctx.follow(from, &at) {
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
        let is_manifest = name.ends_with(".yaml") || name.ends_with(".yml");
        match resolved {
            Resolved::Dir(real) if real == path => {
                if find_kustomization(ctx, &path)?.is_empty() {
                    scan(ctx, base, &path, depth + 1, from, out)?;
                } else {
                    out.push(rel);
                }
            }
            Resolved::File(_) if is_manifest => out.push(rel),
            Resolved::Gitlink(_) | Resolved::File(_) => {}
            // A symlinked directory is not walked; named like a manifest, Flux fails reading it.
            Resolved::Dir(_) if !is_manifest => {}
            other if is_manifest => ctx.unreachable(&other, &path, from, &at),
            _ => {}
        }
    }
    Ok(())
}

/// Where a Flux `Kustomization` takes its files from (`spec.sourceRef.kind`).
enum Source {
    /// A `GitRepository` (or no kind): read as the repository being pushed.
    Repository,
    /// An `OCIRepository` or `Bucket`: content built outside this repository, which pushguard
    /// cannot see (its URL is held to `source_urls`; the overlay is judged on its own).
    Outside,
    /// An `ExternalArtifact`, made by an `ArtifactGenerator` (see [`super::artifact`]).
    Artifact { namespace: String, name: String },
}

fn source_of(spec: &Node, namespace: &str) -> Source {
    let r = spec.get("sourceRef");
    let s = |k: &str| {
        r.and_then(|r| r.get(k))
            .and_then(Node::as_str)
            .unwrap_or("")
    };
    match s("kind") {
        "OCIRepository" | "Bucket" => Source::Outside,
        "ExternalArtifact" => Source::Artifact {
            namespace: if s("namespace").is_empty() {
                namespace.to_string()
            } else {
                s("namespace").to_string()
            },
            name: s("name").to_string(),
        },
        _ => Source::Repository,
    }
}

/// Whether a Flux `Kustomization` object deploys from a source outside this repository (an
/// `OCIRepository` or a `Bucket`): then nothing of it is rendered from this repository, and its
/// overlay (patches, images) is judged on its own (`helm::check`).
pub fn deploys_from_outside(ks: &Node) -> bool {
    let empty = map_node(ks.line, ks.column);
    let spec = ks.get("spec").unwrap_or(&empty);
    matches!(source_of(spec, ""), Source::Outside)
}

/// What kustomize-controller applies for a Flux `Kustomization` object (`ks`, read from
/// `file`): its `spec.path` taken in this repository, or in the `ExternalArtifact` one of
/// `generators` makes from it; nothing for a source outside the repository.
pub fn flux_kustomization(
    tree: &Tree,
    ks: &Node,
    file: &str,
    limits: &Limits,
    generators: &[Generator],
) -> Result<Rendered, TreeError> {
    let name = ks
        .path(&["metadata", "name"])
        .and_then(Node::as_str)
        .unwrap_or("");
    let namespace = ks
        .path(&["metadata", "namespace"])
        .and_then(Node::as_str)
        .unwrap_or("");
    let root = Arc::new(Origin {
        root: format!("Flux Kustomization {namespace}/{name} ({file})"),
        changed_by: Vec::new(),
    });
    let empty = map_node(ks.line, ks.column);
    let spec = ks.get("spec").unwrap_or(&empty);
    match source_of(spec, namespace) {
        Source::Repository => {
            // What source-controller archives of the repository: no symlinks, and not what
            // the ignore rules leave out (see `super::sourceignore`).
            let source = spec
                .path(&["sourceRef", "name"])
                .and_then(Node::as_str)
                .unwrap_or("");
            let source_ns = spec
                .path(&["sourceRef", "namespace"])
                .and_then(Node::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(namespace);
            let repos = BTreeSet::from([(source_ns.to_string(), source.to_string())]);
            let ignore = match git_ignore(tree, generators, file, &repos)? {
                Ok(ignore) => ignore,
                Err(why) => return Ok(unmodelled(tree, limits, ks, spec, file, &root, &why)),
            };
            let view = SourceArtifact::new(tree, ignore);
            let inner = match tree.cache() {
                Some(cache) => Tree::with_cache(&view, cache),
                None => Tree::new(&view),
            };
            // A path missing here is most often a GitRepository of another repository or
            // branch (a tenant's): say so, rather than only "does not exist".
            let path = spec.get("path");
            let text = path.and_then(Node::as_str).unwrap_or("");
            if let Some(dir) = join_relative("", text) {
                if inner.resolve(&dir)? == Resolved::Missing {
                    let mut ctx = Ctx::new(tree, limits);
                    ctx.problem(
                        file,
                        path.unwrap_or(ks),
                        format!(
                            "spec.path `{text}` does not exist in this repository, where pushguard reads a Kustomization whose source is the GitRepository `{source}`"
                        ),
                        "fix the path; if that GitRepository deploys another repository or branch, what it deploys is not in this push and cannot be rendered here (docs/rules.md, Flux sources)",
                    );
                    return Ok(rendered(ctx, Vec::new(), &root));
                }
            }
            let out = overlay_build(&inner, ks, spec, file, limits, &root)?;
            match view.refused() {
                Some(why) => Ok(unmodelled(tree, limits, ks, spec, file, &root, &why)),
                None => Ok(out),
            }
        }
        Source::Outside => Ok(Rendered::default()),
        Source::Artifact {
            namespace: art_ns,
            name: art_name,
        } => {
            // The generator copies from its GitRepositories' artifacts: filtered as those are.
            let repos = artifact::git_sources(generators, &art_ns, &art_name);
            let ignore = match git_ignore(tree, generators, file, &repos)? {
                Ok(ignore) => ignore,
                Err(why) => return Ok(unmodelled(tree, limits, ks, spec, file, &root, &why)),
            };
            let filtered = SourceArtifact::new(tree, ignore);
            let source = match tree.cache() {
                Some(cache) => Tree::with_cache(&filtered, cache),
                None => Tree::new(&filtered),
            };
            let out = external_artifact(
                &source, ks, spec, file, limits, generators, &art_ns, &art_name, &root,
            )?;
            match filtered.refused() {
                Some(why) => Ok(unmodelled(tree, limits, ks, spec, file, &root, &why)),
                None => Ok(out),
            }
        }
    }
}

/// A Kustomization over the `ExternalArtifact` `art_ns/art_name`, built from `tree` (the
/// GitRepository artifact its generator copies from).
#[allow(clippy::too_many_arguments)]
fn external_artifact(
    tree: &Tree,
    ks: &Node,
    spec: &Node,
    file: &str,
    limits: &Limits,
    generators: &[Generator],
    art_ns: &str,
    art_name: &str,
    root: &Arc<Origin>,
) -> Result<Rendered, TreeError> {
    match artifact::mounts(tree, generators, file, art_ns, art_name)? {
        Ok(mounts) => {
            let view = artifact::Mounted {
                repo: tree,
                mounts: mounts.clone(),
            };
            let inner = match tree.cache() {
                Some(cache) => Tree::with_cache(&view, cache),
                None => Tree::new(&view),
            };
            let mut out = overlay_build(&inner, ks, spec, file, limits, root)?;
            let place = |p: &mut String| {
                if p != file {
                    if let Some(repo) = artifact::to_repo(&mounts, p) {
                        *p = repo;
                    }
                }
            };
            for o in out.objects.iter_mut() {
                place(&mut o.path);
                if let Some(origin) = o.origin.as_mut() {
                    let mut changed = origin.changed_by.clone();
                    changed.iter_mut().for_each(place);
                    if changed != origin.changed_by {
                        Arc::make_mut(origin).changed_by = changed;
                    }
                }
            }
            for p in out.problems.iter_mut() {
                place(&mut p.path);
            }
            Ok(out)
        }
        Err(why) => {
            let mut ctx = Ctx::new(tree, limits);
            let at = spec.get("sourceRef").unwrap_or(ks);
            ctx.problem(
                    file,
                    at,
                    format!("spec.sourceRef: {why}"),
                    "make the artifact with one ArtifactGenerator in this repository, from GitRepository sources, with copies of the form `@alias/dir/**`, `@alias/dir/` or `@alias/file` that do not overlap",
                );
            Ok(rendered(ctx, Vec::new(), root))
        }
    }
}

/// The ignore rules of the artifacts of the GitRepositories `repos` (all read as this
/// repository): every `.sourceignore` of the tree, and their `spec.ignore`, which must agree.
fn git_ignore(
    tree: &Tree,
    generators: &[Generator],
    file: &str,
    repos: &BTreeSet<(String, String)>,
) -> Result<Result<Ignore, String>, TreeError> {
    let mut spec: BTreeSet<Option<String>> = BTreeSet::new();
    for (ns, name) in repos {
        match spec_ignore(tree, generators, file, ns, name)? {
            Ok(s) => {
                spec.insert(s);
            }
            Err(why) => return Ok(Err(why)),
        }
    }
    if spec.len() > 1 {
        return Ok(Err(
            "the GitRepositories it copies from set different `spec.ignore`".to_string(),
        ));
    }
    let files: Vec<String> = generators
        .iter()
        .filter(|g| g.is_ignore_file())
        .map(|g| g.file.clone())
        .collect();
    Ignore::read(tree, &files, spec.into_iter().next().flatten().as_deref())
}

/// The root refused: what source-controller archives of the repository cannot be modelled.
fn unmodelled(
    tree: &Tree,
    limits: &Limits,
    ks: &Node,
    spec: &Node,
    file: &str,
    root: &Arc<Origin>,
    why: &str,
) -> Rendered {
    let mut ctx = Ctx::new(tree, limits);
    ctx.problem(
        file,
        spec.get("sourceRef").unwrap_or(ks),
        format!("what the GitRepository artifact holds cannot be modelled: {why}"),
        "deploy from a branch or tag of this repository, and write ignore patterns with `*`, `?`, `**` and `!` only, in regular files (docs/rules.md, Flux sources)",
    );
    rendered(ctx, Vec::new(), root)
}

/// The `spec.ignore` of the `GitRepository` `namespace/name` as this repository defines it
/// (None when it sets none, or when the repository does not define it). Every definition of
/// that name is read (it is in the root's closure); as for `ArtifactGenerator`s, the one
/// nearest the Kustomization's file is the cluster's, and equally near ones that disagree are
/// refused.
fn spec_ignore(
    tree: &Tree,
    generators: &[Generator],
    file: &str,
    namespace: &str,
    name: &str,
) -> Result<Result<Option<String>, String>, TreeError> {
    let mut found: Vec<&Generator> = generators
        .iter()
        .filter(|g| g.kind() == "GitRepository" && g.name() == name)
        .filter(|g| g.namespace() == namespace || g.namespace().is_empty())
        .collect();
    for g in &found {
        tree.resolve(&g.file)?;
    }
    let nearness = |g: &Generator| artifact::common_dirs(&g.file, file);
    if let Some(best) = found.iter().map(|g| nearness(g)).max() {
        found.retain(|g| nearness(g) == best);
    }
    // A commit (or a ref that is no branch or tag) is deployed as it is, whatever the branch
    // holds now: its tree was never judged as the tip of a ref (a commit inside a push, one
    // from another repository's history), so pushguard cannot render it from this push.
    for g in &found {
        if let Some(pin) = pinned_ref(&g.object) {
            return Ok(Err(format!(
                "the GitRepository `{namespace}/{name}` ({}) deploys {pin}, not a branch or tag of this repository: pushguard renders the tip of the pushed branch, and judges a tag's tree when the tag is pushed, but a pinned commit's tree is not judged as it will be applied",
                g.file
            )));
        }
    }
    // Every definition of that name decides `spec.ignore` together, near or not: a decoy no
    // root applies, put nearer, must not choose what pushguard leaves out.
    let mut all: Vec<&Generator> = generators
        .iter()
        .filter(|g| g.kind() == "GitRepository" && g.name() == name)
        .filter(|g| g.namespace() == namespace || g.namespace().is_empty())
        .collect();
    all.extend(found.iter().copied());
    let found = all;
    let ignores: BTreeSet<Option<String>> = found
        .iter()
        .map(|g| {
            g.object
                .path(&["spec", "ignore"])
                .and_then(Node::as_str)
                .map(str::to_string)
        })
        .collect();
    match ignores.len() {
        0 => Ok(Ok(None)),
        1 => Ok(Ok(ignores.into_iter().next().flatten())),
        _ => {
            let files: Vec<&str> = found.iter().map(|g| g.file.as_str()).collect();
            Ok(Err(format!(
                "the definitions of the GitRepository `{namespace}/{name}` set different `spec.ignore` ({}): which one the cluster holds is not known",
                files.join(", ")
            )))
        }
    }
}

/// What a `GitRepository` deploys when it is pinned to something that is no branch or tag of
/// the repository (`spec.ref.commit`, a `spec.ref.name` outside `refs/heads/` and
/// `refs/tags/`): its tree is not the pushed tip, nor one judged as the tip of a ref.
pub fn pinned_ref(git_repository: &Node) -> Option<String> {
    let field = |k: &str| {
        git_repository
            .path(&["spec", "ref", k])
            .and_then(Node::as_str)
            .filter(|v| !v.is_empty())
    };
    match (field("commit"), field("name")) {
        (Some(c), _) => Some(format!("the commit `{c}`")),
        (None, Some(n)) if !n.starts_with("refs/heads/") && !n.starts_with("refs/tags/") => {
            Some(format!("the ref `{n}`"))
        }
        _ => None,
    }
}

/// `spec.path` built in `tree` with the Kustomization's overlay, post-build substitution and
/// common metadata.
fn overlay_build(
    tree: &Tree,
    ks: &Node,
    spec: &Node,
    file: &str,
    limits: &Limits,
    root: &Arc<Origin>,
) -> Result<Rendered, TreeError> {
    let mut ctx = Ctx::new(tree, limits);
    let path_node = spec.get("path");
    let path_text = path_node.and_then(Node::as_str).unwrap_or("");
    let Some(dir) = join_relative("", path_text) else {
        ctx.problem(
            file,
            path_node.unwrap_or(ks),
            format!("spec.path `{path_text}` leads out of the repository"),
            "use a path inside the repository",
        );
        return Ok(rendered(ctx, Vec::new(), root));
    };
    let overlay = overlay_of(&mut ctx, spec, file, &dir)?;
    let mut resources = flux_resources(&mut ctx, &dir, &overlay)?;
    finalize(&mut ctx, &mut resources, file);
    if let Some(post) = spec.get("postBuild").filter(|p| !p.is_null()) {
        post_build(&mut ctx, post, file, &mut resources);
    }
    if let Some(decryption) = spec.get("decryption").filter(|d| !d.is_null()) {
        encrypted_objects(&mut ctx, decryption, file, &resources);
    }
    if let Some(meta) = spec.get("commonMetadata") {
        let labels = string_map(meta.get("labels"));
        let annotations = string_map(meta.get("annotations"));
        for r in resources.iter_mut() {
            for (field, pairs) in [("labels", &labels), ("annotations", &annotations)] {
                if pairs.is_empty() {
                    continue;
                }
                let (line, column) = (meta.line, meta.column);
                let Some(m) = entry(&mut r.node, "metadata", || map_node(line, column)) else {
                    continue;
                };
                let Some(target) = entry(m, field, || map_node(line, column)) else {
                    continue;
                };
                for (k, v) in pairs.iter() {
                    set(target, k, str_node(v, line, column));
                }
                r.changed(file);
            }
        }
    }
    Ok(rendered(ctx, resources, root))
}

/// kustomize-controller decrypts every object that carries SOPS metadata (`sops:`), of any
/// kind, before it applies it: what it applies is not what the repository shows, so only a
/// Secret whose encrypted values are its `data` or `stringData` is judged as it is (what a
/// Secret holds is not judged anyway); any other encrypted object, or a Secret with another
/// field encrypted (`type`, its metadata), is a problem.
fn encrypted_objects(ctx: &mut Ctx<'_, '_>, at: &Node, file: &str, resources: &[Res]) {
    for r in resources {
        if r.node.get("sops").is_none_or(Node::is_null) {
            continue;
        }
        let secret = r.node.get("kind").and_then(Node::as_str) == Some("Secret")
            && r.node.get("apiVersion").and_then(Node::as_str) == Some("v1");
        let hidden = r.node.as_map().iter().any(|(k, v)| {
            !matches!(k.name.as_str(), "data" | "stringData" | "sops") && holds_ciphertext(v, 0)
        });
        if secret && !hidden {
            continue;
        }
        let label = r.cur().label();
        ctx.problem(
            file,
            at,
            format!(
                "{label} is SOPS-encrypted{}: Flux decrypts it (spec.decryption) before applying it, so pushguard cannot judge what the cluster gets",
                if secret { " outside `data` and `stringData`" } else { "" }
            ),
            "keep only Secrets' `data`/`stringData` encrypted (`encrypted_regex: ^(data|stringData)$`); write other objects in clear",
        );
    }
}

/// Whether a value holds a SOPS ciphertext (`ENC[...]`).
fn holds_ciphertext(node: &Node, depth: usize) -> bool {
    if depth > yaml::MAX_DEPTH_CAP {
        return true;
    }
    match &node.value {
        Value::Str(s) => s.contains("ENC["),
        Value::Seq(items) => items.iter().any(|i| holds_ciphertext(i, depth + 1)),
        Value::Map(entries) => entries
            .iter()
            .any(|(k, v)| k.name.contains("ENC[") || holds_ciphertext(v, depth + 1)),
        _ => false,
    }
}

/// The root-kustomization fields a Flux Kustomization's spec adds.
fn overlay_of(
    ctx: &mut Ctx<'_, '_>,
    spec: &Node,
    file: &str,
    dir: &str,
) -> Result<Overlay, TreeError> {
    let mut fields: Vec<(String, OverlayOp, Node)> = Vec::new();
    for (from, to) in [
        ("targetNamespace", "namespace"),
        ("namePrefix", "namePrefix"),
        ("nameSuffix", "nameSuffix"),
    ] {
        if let Some(n) = spec.get(from).filter(|n| n.as_str().is_some()) {
            fields.push((to.to_string(), OverlayOp::Set, n.clone()));
        }
    }
    for key in ["patches", "patchesStrategicMerge", "patchesJson6902"] {
        if let Some(items) = spec.get(key).map(Node::as_seq).filter(|s| !s.is_empty()) {
            fields.push((
                key.to_string(),
                OverlayOp::Append,
                marked_patches(items, spec),
            ));
        }
    }
    if let Some(images) = spec.get("images").filter(|n| !n.as_seq().is_empty()) {
        // Flux sets newTag and digest as one: setting either clears the other.
        let list = images
            .as_seq()
            .iter()
            .map(|i| {
                let mut i = i.clone();
                let has = |n: &Node, k: &str| {
                    n.get(k)
                        .and_then(Node::as_str)
                        .is_some_and(|s| !s.is_empty())
                };
                if has(&i, "newTag") || has(&i, "digest") {
                    for k in ["newTag", "digest"] {
                        if !has(&i, k) {
                            let (l, c) = (i.line, i.column);
                            set(&mut i, k, str_node("", l, c));
                        }
                    }
                }
                i
            })
            .collect();
        fields.push((
            "images".into(),
            OverlayOp::MergeByName,
            Node {
                value: Value::Seq(list),
                line: images.line,
                column: images.column,
            },
        ));
    }
    let field = components_field(ctx, spec, dir, |ctx, c, text| {
        if text.starts_with('/') || text.contains("://") {
            ctx.problem(
                file,
                c,
                format!("component `{text}` must be a local relative path: Flux fails"),
                "use a relative path",
            );
            return false;
        }
        true
    })?;
    fields.extend(field);
    Ok(Overlay {
        fields,
        file: file.to_string(),
    })
}

/// `spec.postBuild`: variable substitution on every object.
fn post_build(ctx: &mut Ctx<'_, '_>, post: &Node, file: &str, resources: &mut [Res]) {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (k, v) in post.get("substitute").map(Node::as_map).unwrap_or(&[]) {
        let valid = {
            let mut chars = k.name.chars();
            matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        };
        if !valid {
            let at = Node {
                value: Value::Null,
                line: k.line,
                column: k.column,
            };
            ctx.problem(
                file,
                &at,
                format!("variable name `{}` is invalid: Flux fails", k.name),
                "use letters, digits and `_`",
            );
            return;
        }
        let value = scalar_text(v).unwrap_or_default().replace('\n', "");
        vars.push((k.name.clone(), value));
    }
    let from_cluster = !post
        .get("substituteFrom")
        .map(Node::as_seq)
        .unwrap_or(&[])
        .is_empty();
    let always = post.get("substituteStrategy").and_then(Node::as_str) == Some("Always");
    if vars.is_empty() && !from_cluster && !always {
        return;
    }
    for r in resources.iter_mut() {
        let disabled = |field: &str| {
            r.node
                .path(&["metadata", field, SUBSTITUTE_KEY])
                .and_then(Node::as_str)
                == Some("disabled")
        };
        if disabled("labels") || disabled("annotations") {
            continue;
        }
        let mut changed = false;
        let mut errors = Vec::new();
        let subst = Subst {
            vars: &vars,
            from_cluster,
        };
        substitute_node(&mut r.node, &subst, ["", ""], &mut changed, &mut errors, 0);
        for e in errors {
            let label = r.cur().label();
            ctx.problem(
                file,
                post,
                format!("postBuild substitution in {label}: {e}"),
                "write the variable as `${name}` or `${name:=default}` in a plain value",
            );
        }
        if changed {
            r.changed(file);
        }
    }
}

/// The variables of one Kustomization's substitution.
struct Subst<'v> {
    vars: &'v [(String, String)],
    /// `substituteFrom` is set: a variable `substitute` does not set may have a value in the
    /// cluster, which pushguard cannot see.
    from_cluster: bool,
}

impl Subst<'_> {
    /// The variables `text` uses that only the cluster may set.
    fn unseen(&self, text: &str) -> Vec<String> {
        if !self.from_cluster {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            rest = &rest[i + 2..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !self.vars.iter().any(|(k, _)| *k == name) {
                out.push(name);
            }
        }
        out
    }
}

/// Where a value the cluster sets (a variable only `substituteFrom` sets) may go: fields no
/// rule judges. Anywhere else pushguard cannot judge what the cluster will apply, so the value
/// is refused: the rules judge pod security, images, RBAC, namespaces, endpoints, sources and
/// more fields than a list of them would stay true to, so this lists what is harmless instead.
fn cluster_value_allowed(at: [&str; 2]) -> bool {
    let [parent, key] = at;
    match parent {
        // Label and annotation values (not the ingress controllers' configuration snippets,
        // which `ingress-snippets` judges), and what a ConfigMap holds.
        "labels" => return true,
        "annotations" => return !key.ends_with("-snippet") && !key.contains("snippet"),
        "data" | "binaryData" => return true,
        "metadata" => return matches!(key, "name" | "generateName"),
        _ => {}
    }
    matches!(
        key,
        "value"
            | "host"
            | "hosts"
            | "dnsNames"
            | "commonName"
            | "replicas"
            | "minReplicas"
            | "maxReplicas"
            | "cpu"
            | "memory"
            | "ephemeral-storage"
            | "storage"
            | "interval"
            | "timeout"
            | "retryInterval"
            | "schedule"
            | "description"
            | "displayName"
    )
}

fn substitute_node(
    node: &mut Node,
    subst: &Subst,
    at: [&str; 2],
    changed: &mut bool,
    errors: &mut Vec<String>,
    depth: usize,
) {
    if depth > yaml::MAX_DEPTH_CAP {
        return;
    }
    let vars = subst.vars;
    match &mut node.value {
        Value::Str(s) => {
            if !s.contains('$') {
                return;
            }
            let unseen = subst.unseen(s);
            // An image whose tag alone comes from the cluster keeps the registry it names.
            let tag_only = at[1] == "image"
                && s.find("${").is_some_and(|v| {
                    let head = &s[..v];
                    head.rfind(':')
                        .is_some_and(|c| c > head.rfind('/').unwrap_or(0) && head.contains('/'))
                });
            if !unseen.is_empty() && !cluster_value_allowed(at) && !tag_only {
                errors.push(format!(
                    "`{}` takes `${{{}}}`, which only `substituteFrom` (the cluster) may set: pushguard cannot judge a value it cannot see (set it in `postBuild.substitute`, or write the value)",
                    at[1], unseen[0]
                ));
            }
            match envsubst(s, vars, 0) {
                Ok(new) if new != *s => {
                    *changed = true;
                    node.value = reread(s, new, errors);
                }
                Ok(_) => {}
                Err(e) => errors.push(e),
            }
        }
        Value::Seq(items) => {
            for i in items.iter_mut() {
                substitute_node(i, subst, at, changed, errors, depth + 1);
            }
        }
        Value::Map(entries) => {
            let mut renamed = false;
            for (k, v) in entries.iter_mut() {
                if let Some(var) = subst.unseen(&k.name).first() {
                    errors.push(format!(
                        "the key `{}` takes `${{{var}}}`, which only `substituteFrom` (the cluster) may set: pushguard cannot judge a field it cannot name",
                        k.name
                    ));
                }
                let before = *changed;
                *changed = false;
                substitute_key(k, vars, changed, errors);
                renamed |= *changed;
                *changed |= before;
                substitute_node(v, subst, [at[1], &k.name], changed, errors, depth + 1);
            }
            if renamed {
                // Flux substitutes the YAML text and reads it again with go-yaml v2: a key
                // that becomes `<<` merges the mapping under it into this one, and a key that
                // becomes another key's name is a repeated key, whose last value wins.
                let mut seen = BTreeSet::new();
                for (k, _) in entries.iter() {
                    if k.name == "<<" {
                        errors.push(
                            "a key becomes `<<`, which Flux reads as a merge of the mapping under it"
                                .to_string(),
                        );
                    } else if !seen.insert(k.name.as_str()) {
                        errors.push(format!(
                            "the key `{}` appears twice once substituted, and Flux keeps whichever it writes last",
                            k.name
                        ));
                    }
                }
            }
        }
        _ => {}
    }
}

fn substitute_key(
    k: &mut Key,
    vars: &[(String, String)],
    changed: &mut bool,
    errors: &mut Vec<String>,
) {
    if !k.name.contains('$') {
        return;
    }
    match envsubst(&k.name, vars, 0) {
        Ok(new) if new != k.name => {
            if !plain_safe(&new) {
                errors.push(format!(
                    "key `{}` becomes `{new}`, which changes the YAML structure",
                    k.name
                ));
            }
            k.name = new;
            *changed = true;
        }
        Ok(_) => {}
        Err(e) => errors.push(e),
    }
}

/// The value a substituted string has once Flux re-reads the YAML text kustomize wrote: a
/// string written plain is re-resolved (`true` becomes a boolean); a quoted or block one stays
/// a string.
fn reread(old: &str, new: String, errors: &mut Vec<String>) -> Value {
    if old.contains('\n') {
        return Value::Str(new);
    }
    let written_plain = plain_safe(old) && matches!(yaml::resolve_plain(old), Value::Str(_));
    if written_plain {
        if new.is_empty() {
            return Value::Null;
        }
        if !plain_safe(&new) {
            errors.push(format!(
                "`{old}` becomes `{new}`, which changes the YAML structure"
            ));
            return Value::Str(new);
        }
        return yaml::resolve_plain(&new);
    }
    if new.contains(['"', '\'', '\\', '\n']) {
        errors.push(format!(
            "`{old}` becomes `{new}` inside a quoted string, which Flux re-reads differently"
        ));
    }
    Value::Str(new)
}

/// True when a string can be written as a plain YAML scalar (roughly go-yaml's rule).
fn plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.starts_with(' ') || s.ends_with(' ') || s.contains('\n') || s.contains('\t') {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    !(s.contains(": ") || s.contains(" #") || s.ends_with(':'))
}

/// Flux's envsubst: `${var}`, `${var:=d}`, `${var:-d}`, `${var=d}`, `${var-d}` and the other
/// default forms (Flux treats them all as "the default when empty"); `$$` escapes.
fn envsubst(s: &str, vars: &[(String, String)], depth: usize) -> Result<String, String> {
    if depth > 16 {
        return Err("nested substitutions too deep".into());
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars.get(i).copied().unwrap_or('\0');
        let next = chars.get(i + 1).copied();
        if c == '$' && next == Some('$') {
            // `$$` drops one `$`.
            i += 1;
            if chars.get(i + 1) != Some(&'{') {
                out.push('$');
                i += 1;
            }
            continue;
        }
        if c != '$' || next != Some('{') {
            out.push(c);
            i += 1;
            continue;
        }
        // Find the matching brace.
        let mut level = 0usize;
        let mut end = None;
        let mut j = i + 1;
        while j < chars.len() {
            match chars.get(j) {
                Some('{') => level += 1,
                Some('}') => {
                    level -= 1;
                    if level == 0 {
                        end = Some(j);
                        break;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        let Some(end) = end else {
            return Err(format!("missing closing brace in `{s}`"));
        };
        let body: String = chars
            .get(i + 2..end)
            .map(|b| b.iter().collect())
            .unwrap_or_default();
        let name_len = body
            .char_indices()
            .take_while(|(k, ch)| {
                ch.is_alphabetic() || *ch == '_' || (*k > 0 && ch.is_ascii_digit())
            })
            .count();
        let name: String = body.chars().take(name_len).collect();
        if name.is_empty() {
            return Err(format!("bad substitution `${{{body}}}`"));
        }
        let rest: String = body.chars().skip(name_len).collect();
        let value = vars
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let default = ["::=", ":=", ":-", ":?", ":+", "=", "-", "+", "?"]
            .iter()
            .find_map(|op| rest.strip_prefix(op));
        let result = if rest.is_empty() {
            value
        } else if let Some(d) = default {
            if value.is_empty() {
                envsubst(d, vars, depth + 1)?
            } else {
                value
            }
        } else {
            return Err(format!(
                "`${{{body}}}` uses a string operation pushguard does not render"
            ));
        };
        out.push_str(&result);
        i = end + 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(String, String)> {
        vec![
            ("env".into(), "prod".into()),
            ("empty".into(), String::new()),
        ]
    }

    #[test]
    fn envsubst_defaults_like_flux() {
        assert_eq!(envsubst("${env}", &vars(), 0).unwrap(), "prod");
        assert_eq!(envsubst("a-${env}-b", &vars(), 0).unwrap(), "a-prod-b");
        assert_eq!(envsubst("${nope:=true}", &vars(), 0).unwrap(), "true");
        assert_eq!(envsubst("${empty:-x}", &vars(), 0).unwrap(), "x");
        assert_eq!(envsubst("${env:=x}", &vars(), 0).unwrap(), "prod");
        assert_eq!(envsubst("${nope}", &vars(), 0).unwrap(), "");
        assert_eq!(envsubst("$env", &vars(), 0).unwrap(), "$env");
        assert_eq!(envsubst("$$x", &vars(), 0).unwrap(), "$x");
        assert!(envsubst("${env", &vars(), 0).is_err());
        assert!(envsubst("${env/a/b}", &vars(), 0).is_err());
    }

    #[test]
    fn substituted_plain_strings_are_reread() {
        let mut errors = Vec::new();
        assert!(matches!(
            reread("${p:=true}", "true".into(), &mut errors),
            Value::Bool(true)
        ));
        assert!(matches!(
            reread("${n}", "3".into(), &mut errors),
            Value::Int(3)
        ));
        assert!(errors.is_empty());
        assert!(matches!(
            reread("${x}", "a: b".into(), &mut errors),
            Value::Str(_)
        ));
        assert_eq!(errors.len(), 1);
    }
}
