//! Rendered roots: what the controllers apply from the tree a ref will hold, judged against
//! what they applied from the tree it held.
//!
//! Files are not what the cluster gets. A root — a Flux `Kustomization`, an Argo CD
//! `Application`, or (as a fallback) a directory with a kustomization file that no other root
//! renders — is built the way its controller builds it (`pushguard_manifest::render`), at the
//! update's new tip and at its base, and the two rendered sets are judged object against object.
//! Three things follow from a root's rendering:
//! - its *closure* (every path the rendering read) decides whether the update affects it: only
//!   affected roots are rendered at the base and judged;
//! - a root a `[[path]]` block protects extends that protection to its closure (as an alias, like
//!   a symlink does), so editing `apps/base` that `clusters/prod` renders needs prod's signers;
//! - what leaves the rendered set is pruned by the controller: `deny_delete` judges that.
//!
//! Which files define roots is found by `discover`, from facts kept per tree between pushes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pushguard_manifest::object::Object;
use pushguard_manifest::render::{
    self, Generator, ParseCache, Rendered, Tree, TreeError, RENDER_RULE,
};
use pushguard_manifest::yaml::Node;
use pushguard_manifest::{ChangeKind, Finding, Limits};

use super::discover::{Discovery, MAX_ROOTS};
use super::{at_ref, EngineError};
use crate::facts::{Alias, AliasVia, ManifestFinding, UpdateFacts, UpdateKind};
use crate::plan::UpdatePlan;
use crate::policy::Policy;
use crate::repo::cache::FactStore;
use crate::repo::tree::{BlobCache, GitTree};
use crate::repo::{Repo, RepoError};
use gix::ObjectId;

/// Most closure paths turned into protection aliases per update.
const MAX_ALIASES: usize = 20_000;

/// What makes a root.
#[derive(Clone, Debug)]
pub(super) enum Kind {
    /// A directory with a kustomization file, built by `kustomize build`.
    Kustomize { dir: String },
    /// A Flux `Kustomization` object.
    Flux(Arc<Node>),
    /// An Argo CD `Application` object.
    Argo(Arc<Node>),
}

/// A root in one tree.
#[derive(Clone, Debug)]
pub(super) struct Root {
    /// Pairs a root across the two trees: `kustomize build <dir>`, `Kustomization ns/name in
    /// <file>`. The file is part of it: Flux's usual layout defines one `flux-system/apps` per
    /// cluster directory, and each is a root of its own.
    pub(super) key: String,
    /// The key without the file (`Kustomization ns/name`): pairs a root whose file moved.
    pub(super) plain: String,
    /// The file that defines it (the kustomization file, or the file holding the object).
    pub(super) path: String,
    /// The defining file's blob.
    pub(super) blob: ObjectId,
    pub(super) kind: Kind,
    /// For a controller object another root applies (see [`derived_roots`]): that root's key.
    pub(super) via: Option<String>,
}

/// One root rendered in one tree.
struct Built {
    root: Root,
    /// None when the rendering was not needed yet: the closure came from the facts kept for
    /// this root (see [`closure_from_facts`]); rendered when the update turns out to affect it.
    rendered: Option<Rendered>,
    /// Paths read (see [`Tree::take_reads`]), plus the defining file.
    closure: BTreeSet<String>,
}

/// What one push reads and parses for rendering, shared by every tree of it (old and new tips
/// hold mostly the same files).
pub struct Caches {
    blobs: BlobCache,
    parsed: ParseCache,
    /// Whether the push's manifest blobs were parsed into `parsed` (once a root is found).
    warmed: std::cell::Cell<bool>,
    /// Which files define roots, by tree (kept between pushes).
    discovery: Discovery,
    /// What each root's rendering read, and what those paths held (kept between pushes).
    closures: FactStore,
}

impl Caches {
    pub fn new(repo: &Repo) -> Caches {
        Caches {
            blobs: BlobCache::default(),
            parsed: ParseCache::default(),
            warmed: std::cell::Cell::new(false),
            discovery: Discovery::new(repo),
            closures: {
                let store = FactStore::open(repo.path(), "closures");
                store.sweep();
                store
            },
        }
    }

    /// The push's parse cache, for the per-file judge, when rendering used it: then the judge
    /// takes its parses from there. Without roots to render, the judge parses on its own (and
    /// skips the documents a file's old version already had).
    pub fn parsed_if_rendering(&self) -> Option<&ParseCache> {
        self.warmed.get().then_some(&self.parsed)
    }

    /// Parses the push's manifest blobs into the cache on every core, once.
    fn warm(&self, blobs: &crate::manifests::Blobs, limits: &Limits) {
        if !self.warmed.replace(true) {
            crate::manifests::warm(blobs, &self.parsed, limits);
        }
    }
}

/// The new tip's roots, rendered, kept between the alias stage and the judging stage.
#[derive(Default)]
pub struct NewSide {
    built: Vec<Built>,
    /// Every root found at the new tip, built or not.
    all: Vec<Root>,
    /// The new tip's `ArtifactGenerator`s.
    generators: Vec<Generator>,
}

pub(super) fn tree_err(e: TreeError) -> RepoError {
    RepoError::Object {
        id: String::new(),
        context: format!("path {}", e.path),
        message: e.message,
    }
}

/// A Flux Kustomization or Argo CD Application in the file whose blob is `blob`, as a root.
pub(super) fn controller_root(o: &Object, blob: ObjectId) -> Option<Root> {
    let id = &o.identity;
    let kind = match (id.group.as_str(), id.kind.as_str()) {
        ("kustomize.toolkit.fluxcd.io", "Kustomization") => Kind::Flux(o.root.clone()),
        ("argoproj.io", "Application") => Kind::Argo(o.root.clone()),
        // An ApplicationSet whose Applications come from this repository's directories.
        ("argoproj.io", "ApplicationSet") if render::application_set_uses_repository(&o.root) => {
            Kind::Argo(o.root.clone())
        }
        _ => return None,
    };
    let plain = format!("{} {}/{}", id.kind, id.namespace, id.name);
    Some(Root {
        key: format!("{plain} in {}", o.path),
        plain,
        path: o.path.clone(),
        blob,
        kind,
        via: None,
    })
}

/// Renders one root, with its closure. `generators` are the tree's `ArtifactGenerator`s.
fn build(
    tree: &Tree,
    root: &Root,
    limits: &Limits,
    generators: &[Generator],
) -> Result<Built, RepoError> {
    tree.take_reads();
    let rendered = match &root.kind {
        Kind::Kustomize { dir } => render::kustomize_build(tree, dir, limits),
        Kind::Flux(node) => render::flux_kustomization(tree, node, &root.path, limits, generators),
        Kind::Argo(node) if node.get("kind").and_then(Node::as_str) == Some("ApplicationSet") => {
            render::argo_application_set(tree, node, &root.path, limits)
        }
        Kind::Argo(node) => render::argo_application(tree, node, &root.path, limits),
    }
    .map_err(tree_err)?;
    let mut closure = tree.take_reads();
    closure.insert(root.path.clone());
    Ok(Built {
        root: root.clone(),
        rendered: Some(rendered),
        closure,
    })
}

const TREE_MODE: u16 = 0o040000;

/// Where a root's closure is kept: a digest of everything its rendering depends on besides
/// the paths it reads (what it is, where it is defined, with which blob and object, under which
/// budgets).
/// A symlinked defining file is read through its link, which is in the closure. A Flux root
/// also depends on the tree's `ArtifactGenerator`s (one added in a new file is in no closure).
fn closure_key(root: &Root, limits: &Limits, generators: &[u8]) -> Option<ObjectId> {
    let kind = match root.kind {
        Kind::Kustomize { .. } => "kustomize",
        Kind::Flux(_) => "flux",
        Kind::Argo(_) => "argo",
    };
    // A Flux or Argo CD root is its object: two objects of one name in one file, or the same
    // object as another root applies it (patched, substituted), are different roots.
    let object = match &root.kind {
        Kind::Flux(node) | Kind::Argo(node) => format!("{node:?}"),
        Kind::Kustomize { .. } => String::new(),
    };
    let mut h = gix::hash::hasher(gix::hash::Kind::Sha256);
    h.update(b"pushguard closure v4\0");
    for part in [kind, &root.key, &root.path, &format!("{limits:?}"), &object] {
        h.update(part.as_bytes());
        h.update(b"\0");
    }
    if matches!(root.kind, Kind::Flux(_)) {
        h.update(generators);
    }
    h.update(root.blob.as_bytes());
    h.try_finalize().ok()
}

/// A digest of the tree's Flux source files (`ArtifactGenerator`s, `GitRepository`s,
/// `.sourceignore` files), once per tree rather than once per root.
fn generators_digest(generators: &[Generator]) -> Vec<u8> {
    let mut h = gix::hash::hasher(gix::hash::Kind::Sha256);
    for g in generators {
        h.update(format!("{}\0{:?}\0", g.file, g.object).as_bytes());
    }
    h.try_finalize()
        .map(|id| id.as_bytes().to_vec())
        .unwrap_or_default()
}

/// The directory holding `path` (a closure path; `dir/` for a listed directory), "" at the root.
fn parent_of(path: &str) -> &str {
    let at = path.strip_suffix('/').unwrap_or(path);
    at.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// What `git` holds at each path of a closure (`dir/` for a listed directory: the directory's
/// tree), and the tree of the directory holding it, encoded for the store: the closure's
/// fingerprint.
fn fingerprint(git: &GitTree, closure: &BTreeSet<String>) -> Result<Vec<u8>, RepoError> {
    let mut out = Vec::new();
    out.extend_from_slice(&(closure.len() as u64).to_le_bytes());
    let put_id = |out: &mut Vec<u8>, id: Option<&ObjectId>| {
        let id = id.map_or(&[][..], |id| id.as_bytes());
        out.push(id.len() as u8);
        out.extend_from_slice(id);
    };
    for path in closure {
        let at = path.strip_suffix('/').unwrap_or(path);
        let entry = git.entry(at).map_err(tree_err)?;
        let parent = git.entry(parent_of(path)).map_err(tree_err)?;
        out.extend_from_slice(&(path.len() as u64).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        let mode = entry.map_or(0u16, |(m, _)| m);
        out.extend_from_slice(&mode.to_le_bytes());
        put_id(&mut out, entry.as_ref().map(|(_, id)| id));
        put_id(&mut out, parent.as_ref().map(|(_, id)| id));
    }
    Ok(out)
}

/// The closure kept for `root`, when `git` holds at every path of it what the tree it was
/// rendered from held: rendering reads only those paths (a lookup through a directory that
/// changed kind changes the entry at the path it ended at), so the rendering would read the
/// same bytes and come out the same. A path whose directory is the same tree holds the same
/// entry, so most paths are checked without reading their directory.
fn closure_from_facts(
    git: &GitTree,
    store: &FactStore,
    key: &ObjectId,
) -> Result<Option<BTreeSet<String>>, RepoError> {
    let Some(bytes) = store.get(key) else {
        return Ok(None);
    };
    let mut b = &bytes[..];
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        (b.len() >= n).then(|| {
            let (head, rest) = b.split_at(n);
            *b = rest;
            head
        })
    }
    fn len(b: &mut &[u8]) -> Option<usize> {
        let head = take(b, 8)?;
        usize::try_from(u64::from_le_bytes(head.try_into().ok()?)).ok()
    }
    type Kept = (String, u16, Vec<u8>, Vec<u8>);
    let mut parse = || -> Option<Vec<Kept>> {
        let n = len(&mut b)?;
        let mut out = Vec::with_capacity(n.min(100_000));
        for _ in 0..n {
            let l = len(&mut b)?;
            let path = String::from_utf8(take(&mut b, l)?.to_vec()).ok()?;
            let mode = u16::from_le_bytes(take(&mut b, 2)?.try_into().ok()?);
            let idl = usize::from(*take(&mut b, 1)?.first()?);
            let id = take(&mut b, idl)?.to_vec();
            let pl = usize::from(*take(&mut b, 1)?.first()?);
            let parent = take(&mut b, pl)?.to_vec();
            out.push((path, mode, id, parent));
        }
        b.is_empty().then_some(out)
    };
    let Some(entries) = parse() else {
        return Ok(None);
    };
    let mut closure = BTreeSet::new();
    let same_as = |now: Option<(u16, ObjectId)>, mode: u16, id: &[u8]| match now {
        None => mode == 0 && id.is_empty(),
        Some((m, i)) => m == mode && i.as_bytes() == id,
    };
    for (path, mode, id, parent) in entries {
        let dir = git.entry(parent_of(&path)).map_err(tree_err)?;
        let same = (!parent.is_empty() && same_as(dir, TREE_MODE, &parent)) || {
            let at = path.strip_suffix('/').unwrap_or(&path);
            same_as(git.entry(at).map_err(tree_err)?, mode, &id)
        };
        if !same {
            return Ok(None);
        }
        closure.insert(path);
    }
    Ok(Some(closure))
}

/// Renders roots, controllers first, then kustomize directories from the shallowest: a
/// kustomize directory another root already rendered (its kustomization file is in that root's
/// closure) is part of that root and is not built again on its own — unless `keep` says its
/// defining file is protected, when its own closure is needed for the protection it extends.
///
/// With `facts`, a root whose kept closure still holds (see [`closure_from_facts`]) is not
/// rendered here: its `rendered` stays None until the update turns out to affect it.
fn build_all(
    tree: &Tree,
    mut roots: Vec<Root>,
    file_roots: &[Root],
    generators: &[Generator],
    limits: &Limits,
    keep: &dyn Fn(&str) -> bool,
    facts: Option<(&GitTree, &FactStore)>,
) -> Result<Vec<Built>, RepoError> {
    roots.sort_by_key(|r| match r.kind {
        Kind::Kustomize { .. } => (1, r.path.matches('/').count(), r.path.clone()),
        _ => (0, 0, r.path.clone()),
    });
    let mut covered: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(roots.len());
    // What every Flux root's kept closure is keyed by besides its own: the tree's source files.
    let generators_digest = match facts {
        Some(_) => generators_digest(generators),
        None => Vec::new(),
    };
    let mut queue: std::collections::VecDeque<Root> = roots.into();
    let mut made = 0usize;
    while let Some(root) = queue.pop_front() {
        if matches!(root.kind, Kind::Kustomize { .. })
            && covered.contains(&root.path)
            && !keep(&root.path)
        {
            continue;
        }
        let key = facts.and_then(|_| closure_key(&root, limits, &generators_digest));
        let kept = match (facts, &key) {
            (Some((git, store)), Some(key)) => closure_from_facts(git, store, key)?,
            _ => None,
        };
        let b = match kept {
            Some(closure) => Built {
                root,
                rendered: None,
                closure,
            },
            None => {
                let b = build(tree, &root, limits, generators)?;
                let derived = derived_roots(&b, file_roots);
                // Facts are kept only for a root that applies no controller object of its own
                // making: such a root is rendered on every push, so what it makes is found.
                if derived.is_empty() {
                    if let (Some((git, store)), Some(key)) = (facts, &key) {
                        store.put(key, &fingerprint(git, &b.closure)?);
                    }
                }
                made += derived.len();
                if made > MAX_ROOTS {
                    return Err(RepoError::Object {
                        id: String::new(),
                        context: format!("root {}", b.root.key),
                        message: format!(
                            "rendered roots apply more than {MAX_ROOTS} Flux Kustomizations and Argo CD Applications of their own making: too many to render"
                        ),
                    });
                }
                queue.extend(derived);
                b
            }
        };
        covered.extend(b.closure.iter().cloned());
        out.push(b);
    }
    Ok(out)
}

/// The controller objects a root applies that no file defines as they are applied (listed
/// under another extension, patched, renamed or substituted by the root): each is a root of
/// its own, keyed by the root that makes it, defined (for protection and `[[manifests]]`
/// blocks) by that root's file. One a file defines with the same name and `spec` is that
/// file's root already.
fn derived_roots(b: &Built, file_roots: &[Root]) -> Vec<Root> {
    let Some(rendered) = &b.rendered else {
        return Vec::new();
    };
    let spec_of = |k: &Kind| match k {
        Kind::Flux(n) | Kind::Argo(n) => n.get("spec").cloned(),
        Kind::Kustomize { .. } => None,
    };
    let mut out = Vec::new();
    for o in &rendered.objects {
        let Some(r) = controller_root(o, b.root.blob) else {
            continue;
        };
        let spec = spec_of(&r.kind);
        let known = file_roots.iter().any(|f| {
            f.plain == r.plain
                && match (spec_of(&f.kind), &spec) {
                    (Some(a), Some(b)) => a.same_as(b),
                    (None, None) => true,
                    _ => false,
                }
        });
        if known {
            continue;
        }
        out.push(Root {
            key: format!("{} (applied by {})", r.key, b.root.key),
            plain: format!("{} (applied by {})", r.plain, b.root.plain),
            path: b.root.path.clone(),
            blob: b.root.blob,
            kind: r.kind,
            via: Some(b.root.key.clone()),
        });
    }
    out
}

/// Whether the plan needs rendering at all.
fn wanted(plan: &UpdatePlan, f: &UpdateFacts) -> bool {
    (!plan.manifest_blocks.is_empty() || !plan.path_blocks.is_empty())
        && !matches!(f.kind, UpdateKind::Delete | UpdateKind::Unchanged)
}

/// Renders the roots of the new tip, and extends each protected root's protection to what it
/// renders from outside the protected paths (aliases, as for symlinks).
pub fn new_side(
    repo: &Repo,
    policy: &Policy,
    f: &mut UpdateFacts,
    plan: &UpdatePlan,
    caches: &Caches,
    blobs: &crate::manifests::Blobs,
) -> Result<NewSide, EngineError> {
    if !wanted(plan, f) {
        return Ok(NewSide::default());
    }
    let Some(tip) = f.tip.clone() else {
        return Ok(NewSide::default());
    };
    let at = at_ref(&f.update.name);
    let limits = policy.limits.yaml();
    let git =
        GitTree::new(repo, &tip, &caches.blobs, policy.limits.max_manifest_bytes).map_err(&at)?;
    let tree = Tree::with_cache(&git, &caches.parsed);
    // The ref's old tip shares most of the new one's tree.
    let hint = Some(&f.update.old).filter(|o| !o.is_zero());
    let found = caches
        .discovery
        .roots(repo, &tip, hint, &tree, &limits, None)
        .map_err(&at)?;
    let (roots, generators) = (found.roots, found.generators);
    if !roots.is_empty() {
        // Rendering is about to parse: parse what the push changed in parallel first.
        caches.warm(blobs, &limits);
    }
    let protected = |path: &str| {
        plan.path_blocks
            .iter()
            .any(|&i| policy.paths[i].patterns.is_match(path))
    };
    let built = build_all(
        &tree,
        roots.clone(),
        &roots,
        &generators,
        &limits,
        &protected,
        Some((&git, &caches.closures)),
    )
    .map_err(&at)?;
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for &i in &plan.path_blocks {
        let rule = &policy.paths[i];
        for b in built
            .iter()
            .filter(|b| rule.patterns.is_match(&b.root.path))
        {
            for p in &b.closure {
                let target = p.trim_end_matches('/');
                if target.is_empty() || rule.patterns.is_match(target) {
                    continue;
                }
                if seen.insert((target.to_string(), b.root.path.clone())) {
                    if seen.len() > MAX_ALIASES {
                        return Err(at(RepoError::Object {
                            id: tip.to_string(),
                            context: "rendered roots".into(),
                            message: format!(
                                "protected roots render more than {MAX_ALIASES} paths from outside their protection: too many to follow"
                            ),
                        }));
                    }
                    f.aliases.push(Alias {
                        target: target.to_string(),
                        link: b.root.path.clone(),
                        via: AliasVia::Rendered,
                    });
                }
            }
        }
    }
    Ok(NewSide {
        built,
        all: roots,
        generators,
    })
}

/// Whether a change at `changed` can change what was rendered from `closure`.
fn touches(closure: &BTreeSet<String>, changed: &str) -> bool {
    if closure.contains(changed) {
        return true;
    }
    // A listed directory: an entry added, removed or changed directly below it; and any path
    // at or below a read path (a file replaced by a directory).
    let mut cur = changed;
    while let Some((parent, _)) = cur.rsplit_once('/') {
        if closure.contains(&format!("{parent}/")) || closure.contains(parent) {
            return true;
        }
        cur = parent;
    }
    closure.contains("/")
}

/// Judges the rendered roots the update affects: each rendered at the base and at the tip,
/// object against object, by every `[[manifests]]` block whose `match` covers the root's
/// defining file. The findings go to the net effect, attributed to the tip.
pub fn judge(
    repo: &Repo,
    policy: &Policy,
    f: &mut UpdateFacts,
    plan: &UpdatePlan,
    mut new: NewSide,
    caches: &Caches,
    today: i64,
) -> Result<(), EngineError> {
    if plan.manifest_blocks.is_empty() || !wanted(plan, f) {
        return Ok(());
    }
    let Some(net) = f.net.as_ref() else {
        return Ok(());
    };
    let changed: Vec<String> = net.changes.iter().map(|c| c.path.clone()).collect();
    if changed.is_empty() {
        return Ok(());
    }
    let at = at_ref(&f.update.name);
    let limits = policy.limits.yaml();
    let affected = |b: &Built| changed.iter().any(|c| touches(&b.closure, c));

    // The base's roots: rendered only for roots the update affects, or that it removes.
    let mut old: BTreeMap<String, Built> = BTreeMap::new();
    // Every root key the base holds, rendered or not.
    let mut base_keys: BTreeSet<String> = BTreeSet::new();
    // The base's Flux source files (see `build`), for roots rendered at the base later on.
    let mut base_generators: Vec<Generator> = Vec::new();
    if let Some(base) = net.base.clone() {
        let git = GitTree::new(repo, &base, &caches.blobs, policy.limits.max_manifest_bytes)
            .map_err(&at)?;
        let tree = Tree::with_cache(&git, &caches.parsed);
        let new_keys: BTreeMap<&str, &Built> =
            new.built.iter().map(|b| (b.root.key.as_str(), b)).collect();
        // A Flux or Argo CD object in a file the update leaves alone is the same root in both
        // trees: only the changed files are searched again.
        let changed_set: BTreeSet<String> = changed.iter().cloned().collect();
        let found = caches
            .discovery
            .roots(repo, &base, None, &tree, &limits, Some(&changed_set))
            .map_err(&at)?;
        let mut roots = found.roots;
        // Likewise the ArtifactGenerators: the changed files' as the base held them, the
        // others' as the tip holds them.
        let mut generators = found.generators;
        generators.extend(
            new.generators
                .iter()
                .filter(|g| !changed_set.contains(&g.file))
                .cloned(),
        );
        base_generators.clone_from(&generators);
        roots.extend(
            new.all
                .iter()
                .filter(|r| !matches!(r.kind, Kind::Kustomize { .. }))
                .filter(|r| !changed_set.contains(&r.path))
                .cloned(),
        );
        // A root whose derived roots (controller objects it applies) the update affects is
        // rendered at the base too, so what it applied there is paired with them.
        let derived_affected = |key: &str| {
            new.built
                .iter()
                .any(|d| d.root.via.as_deref() == Some(key) && affected(d))
        };
        let file_roots = roots.clone();
        base_keys.extend(file_roots.iter().map(|r| r.key.clone()));
        let roots: Vec<Root> = roots
            .into_iter()
            .filter(|root| match new_keys.get(root.key.as_str()) {
                Some(b) => {
                    affected(b) || changed.contains(&root.path) || derived_affected(&root.key)
                }
                None => true,
            })
            .collect();
        let facts = Some((&git, &caches.closures));
        let all = build_all(
            &tree,
            roots,
            &file_roots,
            &generators,
            &limits,
            &|_: &str| false,
            facts,
        )
        .map_err(&at)?;
        for mut b in all {
            if new_keys.contains_key(b.root.key.as_str()) || affected(&b) {
                if b.rendered.is_none() {
                    let fresh = build(&tree, &b.root, &limits, &generators).map_err(&at)?;
                    b.rendered = fresh.rendered;
                    b.closure = fresh.closure;
                }
                old.insert(b.root.key.clone(), b);
            }
        }
    }
    // A root whose file moved keeps its name: paired by the name alone when exactly one root of
    // that name is gone from the base and exactly one is new at the tip.
    let new_keys: BTreeSet<&str> = new.built.iter().map(|b| b.root.key.as_str()).collect();
    // The base key of each root paired with a moved file, by its key at the tip.
    let mut moved_from: BTreeMap<String, String> = BTreeMap::new();
    let unpaired_old: Vec<String> = old
        .keys()
        .filter(|k| !new_keys.contains(k.as_str()))
        .cloned()
        .collect();
    for key in unpaired_old {
        let Some(plain) = old.get(&key).map(|b| b.root.plain.clone()) else {
            continue;
        };
        let olds = old
            .values()
            .filter(|b| b.root.plain == plain && !new_keys.contains(b.root.key.as_str()))
            .count();
        let news: Vec<&Built> = new
            .built
            .iter()
            .filter(|b| b.root.plain == plain && !base_keys.contains(&b.root.key))
            .collect();
        if let ([moved], 1) = (news.as_slice(), olds) {
            let to = moved.root.key.clone();
            if let Some(b) = old.remove(&key) {
                moved_from.insert(to.clone(), key.clone());
                old.insert(to, b);
            }
        }
    }
    // Roots whose closure came from the kept facts are rendered at the tip now, when the update
    // turns out to affect them.
    let needs = |b: &Built| b.rendered.is_none() && (affected(b) || old.contains_key(&b.root.key));
    if let Some(tip) = f.tip.clone().filter(|_| new.built.iter().any(needs)) {
        let git = GitTree::new(repo, &tip, &caches.blobs, policy.limits.max_manifest_bytes)
            .map_err(&at)?;
        let tree = Tree::with_cache(&git, &caches.parsed);
        for b in new.built.iter_mut() {
            if needs(b) {
                let fresh = build(&tree, &b.root, &limits, &new.generators).map_err(&at)?;
                b.rendered = fresh.rendered;
                b.closure = fresh.closure;
            }
        }
    }
    // A root that a root applied at the base and none applies at the tip, its own file left
    // alone (dropped from a `resources:` list, deleted by a `$patch: delete`, its applier
    // re-pointed), is rendered at the base too: the controller prunes it, and with it what it
    // applied, which is judged below.
    let dropped: BTreeSet<String> = {
        let applied_old = applied(old.values());
        let applied_new = applied(new.built.iter());
        new.built
            .iter()
            .filter(|b| b.root.via.is_none() && !old.contains_key(&b.root.key))
            .filter(|b| applied_old.contains(&b.root.key) && !applied_new.contains(&b.root.key))
            .map(|b| b.root.key.clone())
            .collect()
    };
    // Likewise a root a root now applies changed (patched, re-pointed: a derived root of a
    // file's root, new at the tip): what the file's root applied at the base is paired with
    // what the changed one applies now.
    let replaced: BTreeMap<String, String> = {
        let applied_old = applied(old.values());
        new.built
            .iter()
            .filter(|d| d.root.via.is_some() && !old.contains_key(&d.root.key))
            .filter_map(|d| {
                let file_key = d.root.key.split(" (applied by ").next()?;
                (applied_old.contains(file_key) && !old.contains_key(file_key))
                    .then(|| (d.root.key.clone(), file_key.to_string()))
            })
            .collect()
    };
    if let (Some(base), false) = (net.base.clone(), dropped.is_empty() && replaced.is_empty()) {
        let git = GitTree::new(repo, &base, &caches.blobs, policy.limits.max_manifest_bytes)
            .map_err(&at)?;
        let tree = Tree::with_cache(&git, &caches.parsed);
        for b in new.built.iter().filter(|b| dropped.contains(&b.root.key)) {
            let fresh = build(&tree, &b.root, &limits, &base_generators).map_err(&at)?;
            old.insert(b.root.key.clone(), fresh);
        }
        for (derived, file_key) in &replaced {
            if let Some(b) = new.built.iter().find(|b| &b.root.key == file_key) {
                let fresh = build(&tree, &b.root, &limits, &base_generators).map_err(&at)?;
                old.insert(derived.clone(), fresh);
            }
        }
        if let Some(tip) = f.tip.clone() {
            let git = GitTree::new(repo, &tip, &caches.blobs, policy.limits.max_manifest_bytes)
                .map_err(&at)?;
            let tree = Tree::with_cache(&git, &caches.parsed);
            for b in new.built.iter_mut() {
                if dropped.contains(&b.root.key) && b.rendered.is_none() {
                    let fresh = build(&tree, &b.root, &limits, &new.generators).map_err(&at)?;
                    b.rendered = fresh.rendered;
                    b.closure = fresh.closure;
                }
            }
        }
    }
    let nested_new = nested(&new.built.iter().collect::<Vec<_>>());
    let nested_old = nested(&old.values().collect::<Vec<_>>());
    // A Flux Kustomization or Argo CD Application a root applied at the base and no root
    // applies at the tip is pruned by the controller, and with it what it applied, even though
    // its file is still in the tree (left out of the artifact, moved out of reach).
    let applied_old = applied(old.values());
    let applied_new = applied(new.built.iter());
    let pinned_new = pinned_sources(new.built.iter());

    let mut findings = Vec::new();
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for b in &new.built {
        if affected(b) || old.contains_key(&b.root.key) {
            keys.insert(&b.root.key);
        }
    }
    for k in old.keys() {
        keys.insert(k);
    }
    for key in keys {
        let n = new.built.iter().find(|b| b.root.key == key);
        let o = old.get(key);
        let is_nested = match n {
            Some(_) => nested_new.contains(key),
            None => nested_old.contains(key),
        };
        if is_nested {
            continue;
        }
        let path = n.or(o).map(|b| b.root.path.as_str()).unwrap_or_default();
        let empty = Vec::new();
        let n_rendered = n.and_then(|b| b.rendered.as_ref());
        let o_rendered = o.and_then(|b| b.rendered.as_ref());
        let new_objects = n_rendered.map_or(&empty, |r| &r.objects);
        let old_objects = o_rendered.map_or(&empty, |r| &r.objects);
        let old_problems: BTreeSet<(&str, &str, &str)> = o_rendered
            .map(|r| {
                r.problems
                    .iter()
                    .map(|p| (p.rule.as_str(), p.path.as_str(), p.message.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let mut problems: Vec<Finding> = n_rendered
            .map(|r| {
                r.problems
                    .iter()
                    .filter(|p| {
                        !old_problems.contains(&(
                            p.rule.as_str(),
                            p.path.as_str(),
                            p.message.as_str(),
                        ))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if let Some(finding) = n.and_then(|n| pinned_source(n, &pinned_new)) {
            if !old_problems.contains(&(
                finding.rule.as_str(),
                finding.path.as_str(),
                finding.message.as_str(),
            )) {
                problems.push(finding);
            }
        }
        for &i in &plan.manifest_blocks {
            let block = &policy.manifests[i];
            // A kustomization spelled `Kustomization` (no extension) counts as its `.yaml` twin.
            let twin = path
                .strip_suffix("/Kustomization")
                .map(|d| format!("{d}/kustomization.yaml"))
                .or_else(|| (path == "Kustomization").then(|| "kustomization.yaml".to_string()));
            if !(block.files.is_match(path) || twin.is_some_and(|t| block.files.is_match(&t))) {
                continue;
            }
            // What the base rendered with problems cannot tell what this update prunes.
            if let Some((o, r)) = o.zip(o_rendered).filter(|(_, r)| !r.problems.is_empty()) {
                if !block.settings.deny_delete.is_empty()
                    && block
                        .settings
                        .rules
                        .contains(&pushguard_manifest::RuleId::DenyDelete)
                {
                    let p = &r.problems[0];
                    problems.push(Finding {
                        rule: RENDER_RULE.into(),
                        path: o.root.path.clone(),
                        line: 1,
                        column: 1,
                        object: None,
                        container: None,
                        message: format!(
                            "{} could not be rendered before this update ({}: {}), so what the update makes the controller prune cannot be judged",
                            o.root.key, p.path, p.message
                        ),
                        fix: "fix the root in a change of its own first (one that does not remove objects)".into(),
                        change: ChangeKind::Changed,
                        signable: false,
                    });
                }
            }
            for finding in pushguard_manifest::judge_objects(
                problems.clone(),
                old_objects,
                new_objects,
                &block.settings,
                today,
            ) {
                findings.push(ManifestFinding { block: i, finding });
            }
            let base_key = moved_from.get(key).map_or(key, String::as_str);
            let pruned = n.is_some_and(|n| n.root.via.is_none())
                && applied_old.contains(base_key)
                && !applied_new.contains(key);
            if pruned {
                // What it applied goes with it: judged as removed, whatever the tip renders
                // from its file.
                for mut finding in pushguard_manifest::judge_objects(
                    Vec::new(),
                    old_objects,
                    &empty,
                    &block.settings,
                    today,
                ) {
                    finding.message = format!(
                        "{} (no root applies {key} any more: its file is left out of what the controller reads, so the controller prunes it and what it applied)",
                        finding.message
                    );
                    findings.push(ManifestFinding { block: i, finding });
                }
            }
        }
    }
    if let Some(net) = f.net.as_mut() {
        net.rendered_findings = findings;
    }
    Ok(())
}

/// The keys of the Flux and Argo CD roots that rendered roots apply (as the roots defined by
/// the files they come from).
fn applied<'b>(built: impl Iterator<Item = &'b Built>) -> BTreeSet<String> {
    built
        .filter_map(|b| b.rendered.as_ref().map(|r| (b, r)))
        .flat_map(|(b, r)| {
            r.objects
                .iter()
                .filter_map(move |o| controller_root(o, b.root.blob))
                .map(|r| r.key)
        })
        .collect()
}

/// The `GitRepository` objects rendered roots apply pinned to a commit (or a ref that is no
/// branch or tag), by `namespace/name`: what the pin names. The file that defines such an
/// object is checked by the renderer; this catches one a root changes on the way (a kustomize
/// patch setting `spec.ref.commit`).
fn pinned_sources<'b>(built: impl Iterator<Item = &'b Built>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for r in built.filter_map(|b| b.rendered.as_ref()) {
        for o in &r.objects {
            if o.identity.group != "source.toolkit.fluxcd.io" || o.identity.kind != "GitRepository"
            {
                continue;
            }
            if let Some(pin) = render::pinned_ref(&o.root) {
                out.insert(format!("{}/{}", o.identity.namespace, o.identity.name), pin);
            }
        }
    }
    out
}

/// A Flux root rendered from this repository whose `GitRepository`, as a root applies it, is
/// pinned (see [`pinned_sources`]): its tree is not the one rendered, so the root is refused.
fn pinned_source(b: &Built, pinned: &BTreeMap<String, String>) -> Option<Finding> {
    let Kind::Flux(node) = &b.root.kind else {
        return None;
    };
    let source = node.get("spec").and_then(|s| s.get("sourceRef"))?;
    let text = |k: &str| source.get(k).and_then(Node::as_str).unwrap_or("");
    if !matches!(text("kind"), "" | "GitRepository") {
        return None;
    }
    let own_ns = node
        .path(&["metadata", "namespace"])
        .and_then(Node::as_str)
        .unwrap_or("");
    let ns = if text("namespace").is_empty() {
        own_ns
    } else {
        text("namespace")
    };
    let key = format!("{ns}/{}", text("name"));
    let pin = pinned.get(&key)?;
    Some(Finding {
        rule: RENDER_RULE.into(),
        path: b.root.path.clone(),
        line: source.line,
        column: source.column,
        object: None,
        container: None,
        message: format!(
            "{}: the GitRepository `{key}` a root applies deploys {pin}, not a branch or tag of this repository, so what the cluster gets is not what pushguard renders",
            b.root.key
        ),
        fix: "deploy from a branch or tag of this repository (spec.ref.branch, spec.ref.tag or spec.ref.semver)".into(),
        change: ChangeKind::Changed,
        signable: false,
    })
}

/// Keys of the kustomize roots another root renders (their kustomization file is in its
/// closure): they are judged as part of that root, not again on their own.
fn nested(built: &[&Built]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for b in built {
        if !matches!(b.root.kind, Kind::Kustomize { .. }) {
            continue;
        }
        if built
            .iter()
            .any(|other| other.root.key != b.root.key && other.closure.contains(&b.root.path))
        {
            out.insert(b.root.key.clone());
        }
    }
    out
}
