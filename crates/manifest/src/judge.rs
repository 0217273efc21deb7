//! Judging one commit: object-level diff across all its changed files, rules, exceptions.
//!
//! The diff is by object identity across every file the commit changes, so an object moved to
//! another file is neither removed nor added. A changed object is judged on what the change
//! introduces: a hit whose location key the old version already had is not reported (unless
//! `judge = "all"`), which is how the caller reports each violation once, at the commit that
//! introduced it. "The old version" is the one in the same file, or in the file(s) the object
//! moved from: never a same-named object of another file, which would let one file's
//! violation (or an exception scoped to it) excuse another's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::custom;
use crate::object::{objects_of, objects_of_shared, Identity, Object};
use crate::render::ParseCache;
use crate::rules::{self, Hit};
use crate::settings::{JudgeMode, On, RuleId, Settings};
use crate::yaml::{self, Limits, Node};
use crate::{ChangeKind, FileChange, Finding};

struct Loaded {
    objects: Vec<Object>,
}

/// Why a version yields no objects.
enum VersionError {
    /// The file itself is unreadable or over a per-file budget.
    Load(yaml::LoadError),
    /// The commit as a whole is over `max_commit_nodes` (fails closed for old versions too:
    /// skipping an old version would hide a removal).
    CommitBudget(String),
}

/// Objects of each document text of one version, for reuse by the other version.
type ChunkObjects<'b> = HashMap<&'b str, Vec<Object>>;

/// Loads one version. With `reuse` (the objects of the old version of the same file, by
/// document text), documents identical to an old one are not parsed again: their objects are
/// shared. With `keep`, the objects are also returned by document text.
fn load_version<'b>(
    path: &str,
    bytes: &'b [u8],
    limits: &Limits,
    commit_nodes: &AtomicUsize,
    reuse: Option<&ChunkObjects<'_>>,
    keep: bool,
    cache: Option<&ParseCache>,
) -> Result<(Loaded, ChunkObjects<'b>), VersionError> {
    let mut stats = yaml::LoadStats::default();
    if let Some(cache) = cache {
        // The push's shared parse: the renderer reads the same contents.
        let (docs, nodes) = cache.load_shared(bytes, limits);
        let docs = docs.map_err(VersionError::Load)?;
        stats.nodes += nodes;
        let objects =
            objects_of_shared(path, docs, limits, &mut stats).map_err(VersionError::Load)?;
        commit_budget(limits, commit_nodes, stats.nodes)?;
        return Ok((Loaded { objects }, HashMap::new()));
    }
    let skip = |text: &str| reuse.is_some_and(|r| r.contains_key(text));
    let chunks = yaml::load_chunks(bytes, limits, &mut stats, &skip).map_err(VersionError::Load)?;
    let mut objects = Vec::new();
    let mut by_text: ChunkObjects<'b> = HashMap::new();
    for chunk in chunks {
        let objs = if chunk.skipped {
            reuse
                .and_then(|r| r.get(chunk.text))
                .cloned()
                .unwrap_or_default()
        } else if let Some(doc) = chunk.doc {
            objects_of(path, vec![doc], limits, &mut stats).map_err(VersionError::Load)?
        } else {
            Vec::new()
        };
        if keep {
            by_text.insert(chunk.text, objs.clone());
        }
        objects.extend(objs);
    }
    commit_budget(limits, commit_nodes, stats.nodes)?;
    Ok((Loaded { objects }, by_text))
}

/// Adds a file's nodes to the commit's count: over `max_commit_nodes` in all is an error.
fn commit_budget(
    limits: &Limits,
    commit_nodes: &AtomicUsize,
    nodes: usize,
) -> Result<(), VersionError> {
    let total = commit_nodes.fetch_add(nodes, Ordering::Relaxed) + nodes;
    if total > limits.max_commit_nodes {
        return Err(VersionError::CommitBudget(format!(
            "the commit's manifests hold more than {} nodes in total (limit); this file brings the total to {total}",
            limits.max_commit_nodes
        )));
    }
    Ok(())
}

/// Loads both versions of one change. When both have the same path, the new version reuses
/// the old version's identical documents (most of a modified file, usually). Reused objects
/// keep the old positions, which only matter for `judge = "all"`, where reuse is off.
fn load_change(
    c: &FileChange<'_>,
    limits: &Limits,
    commit_nodes: &AtomicUsize,
    reuse_allowed: bool,
    cache: Option<&ParseCache>,
) -> (LoadResult, LoadResult) {
    let same_path = matches!((c.old, c.new), (Some(o), Some(n)) if o.path == n.path);
    // With a shared cache both versions are parsed whole (the renderer needs them whole).
    let keep = reuse_allowed && same_path && cache.is_none();
    let old = c
        .old
        .map(|v| load_version(v.path, v.bytes, limits, commit_nodes, None, keep, cache));
    let reuse = match &old {
        Some(Ok((_, by_text))) if keep => Some(by_text),
        _ => None,
    };
    let new = c
        .new
        .map(|v| load_version(v.path, v.bytes, limits, commit_nodes, reuse, false, cache));
    (
        old.map(|r| r.map(|(loaded, _)| loaded)),
        new.map(|r| r.map(|(loaded, _)| loaded)),
    )
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
        signable: false,
    }
}

type LoadResult = Option<Result<Loaded, VersionError>>;

/// Loads old and new versions of every change, on up to 4 threads when there is enough work
/// (parsing dominates the cost of a big push). Results keep the order of `changes`.
fn load_all(
    changes: &[FileChange<'_>],
    limits: &Limits,
    reuse_allowed: bool,
    cache: Option<&ParseCache>,
) -> Vec<(LoadResult, LoadResult)> {
    let commit_nodes = AtomicUsize::new(0);
    let commit_nodes = &commit_nodes;
    let load_one = |c: &FileChange<'_>| load_change(c, limits, commit_nodes, reuse_allowed, cache);
    let total: usize = changes
        .iter()
        .flat_map(|c| [c.old, c.new])
        .flatten()
        .map(|v| v.bytes.len())
        .sum();
    // Small pushes are loaded here: below ~512 KiB threads cost more than they save (and
    // asking the system for its cores reads cgroup files).
    if total < 512 * 1024 || changes.len() < 2 {
        return changes.iter().map(load_one).collect();
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4);
    if threads < 2 {
        return changes.iter().map(load_one).collect();
    }
    let per = changes.len().div_ceil(threads);
    let mut out = Vec::with_capacity(changes.len());
    std::thread::scope(|scope| {
        // Builder::spawn_scoped reports a thread that cannot be created instead of panicking;
        // such a part is loaded here, as is the part of a worker that panicked.
        let handles: Vec<_> = changes
            .chunks(per)
            .map(|part| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || part.iter().map(load_one).collect::<Vec<_>>())
                    .ok()
            })
            .collect();
        for (handle, part) in handles.into_iter().zip(changes.chunks(per)) {
            match handle.map(|h| h.join()) {
                Some(Ok(results)) => out.extend(results),
                _ => out.extend(part.iter().map(load_one)),
            }
        }
    });
    out
}

fn budget_finding(path: &str, message: String, change: ChangeKind) -> Finding {
    Finding {
        rule: "manifest-limits".to_string(),
        path: path.to_string(),
        line: 1,
        column: 1,
        object: None,
        container: None,
        message,
        fix: "split the change into smaller commits or pushes".to_string(),
        change,
        signable: false,
    }
}

fn load_finding(path: &str, e: &yaml::LoadError, had_old: bool) -> Finding {
    let (line, column) = e.position();
    let limits_hit = e.is_limits();
    Finding {
        rule: if limits_hit {
            "manifest-limits"
        } else {
            "manifest-parse"
        }
        .to_string(),
        path: path.to_string(),
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
        change: if had_old {
            ChangeKind::Changed
        } else {
            ChangeKind::Added
        },
        signable: false,
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
    cache: Option<&ParseCache>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut old_objects = Vec::new();
    let mut new_objects = Vec::new();
    for (change, (old, new)) in changes.iter().zip(load_all(
        changes,
        limits,
        settings.judge != JudgeMode::All,
        cache,
    )) {
        // A new version that does not load is reported as such; its old objects are left out
        // rather than reported as removed (that would only add noise to a refused commit).
        let new_failed = matches!(new, Some(Err(_)));
        // An old version that does not load holds no objects: the commit that broke it was
        // judged (and refused) when it came in.
        match old {
            Some(Ok(loaded)) if !new_failed => old_objects.extend(loaded.objects),
            Some(Ok(_)) => {}
            Some(Err(VersionError::CommitBudget(message))) => {
                let path = change.old.map(|v| v.path).unwrap_or_default();
                findings.push(budget_finding(path, message, ChangeKind::Changed));
            }
            Some(Err(VersionError::Load(_))) | None => {}
        }
        match new {
            Some(Ok(loaded)) => new_objects.extend(loaded.objects),
            Some(Err(VersionError::Load(e))) => {
                let path = change.new.map(|v| v.path).unwrap_or_default();
                findings.push(load_finding(path, &e, change.old.is_some()));
            }
            Some(Err(VersionError::CommitBudget(message))) => {
                let path = change.new.map(|v| v.path).unwrap_or_default();
                let kind = if change.old.is_some() {
                    ChangeKind::Changed
                } else {
                    ChangeKind::Added
                };
                findings.push(budget_finding(path, message, kind));
            }
            None => {}
        }
    }

    judge_pairs(findings, &old_objects, &new_objects, settings, today)
}

/// The Helm values hits of every ConfigMap a HelmRelease among `objects` names in its
/// `valuesFrom` (without `targetPath`), with the ConfigMap they belong to.
fn values_from_hits<'o>(objects: &'o [Object], settings: &Settings) -> Vec<(&'o Object, Hit)> {
    let mut out = Vec::new();
    for release in objects {
        for ext in crate::helm::external_values(release) {
            if ext.kind != "ConfigMap" || ext.target_path.is_some() {
                continue;
            }
            let key = ext.key.as_deref().unwrap_or("values.yaml");
            for cm in objects.iter().filter(|o| {
                o.identity.kind == "ConfigMap"
                    && o.identity.group.is_empty()
                    && o.identity.name == ext.name
                    && o.identity.namespace == ext.namespace
            }) {
                let Some(text) = cm.root.path(&["data", key]) else {
                    continue;
                };
                let source = format!("ConfigMap {}/{} {key}", ext.namespace, ext.name);
                match crate::helm::load_values_string(text, &Limits::default()) {
                    Ok(docs) => {
                        for doc in docs {
                            for hit in crate::helm::judge_values(&doc, &source, settings) {
                                out.push((cm, hit));
                            }
                        }
                    }
                    Err(e) => {
                        let why =
                            format!("{source}, which a HelmRelease takes its values from: {e}");
                        for hit in crate::helm::unreadable_values(text, &source, why, settings) {
                            out.push((cm, hit));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Judges objects old against new (what a commit's files held, or what a root rendered before
/// and after), adds the findings to `findings`, drops those live exceptions cover, and sorts.
pub(crate) fn judge_pairs(
    mut findings: Vec<Finding>,
    old_objects: &[Object],
    new_objects: &[Object],
    settings: &Settings,
    today: i64,
) -> Vec<Finding> {
    let mut pairs: BTreeMap<&Identity, Pair<'_>> = BTreeMap::new();
    for o in old_objects {
        pairs
            .entry(&o.identity)
            .or_insert_with(|| Pair {
                old: Vec::new(),
                new: Vec::new(),
            })
            .old
            .push(o);
    }
    for o in new_objects {
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
        if pair.new.is_empty() {
            for old in &pair.old {
                removed(&mut findings, old, settings);
            }
            continue;
        }
        // Each new object is judged against the old versions it came from: those in the same
        // file, or, for an object that moved, those of the files it left. Pooling the old
        // versions of all files would let a violation (or an exception scoped to one file)
        // excuse a same-named object in another file.
        let (mut bases, base_of) = old_versions_by_new(pair);
        let empty = OldKeys::default();
        for (new, b) in pair.new.iter().zip(base_of) {
            let unchanged = b
                .and_then(|b| bases.get_mut(b))
                .is_some_and(|b| b.holds_same(new, &pair.old));
            if unchanged && !all {
                continue;
            }
            let change = if b.is_none() {
                ChangeKind::Added
            } else {
                ChangeKind::Changed
            };
            let old_keys: &OldKeys = match b.and_then(|b| bases.get_mut(b)) {
                Some(base) if !all => base.keys(&pair.old, settings),
                _ => &empty,
            };
            for hit in rules::check(new, settings) {
                if old_keys.builtin.contains(&(hit.rule, hit.key.clone())) {
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
                    if old_keys
                        .custom
                        .contains(&(rule.id.clone(), hit.path.clone()))
                    {
                        continue;
                    }
                    findings.push(custom_finding(rule, new, &hit, change));
                }
            }
            if unchanged {
                continue;
            }
            protected(&mut findings, new, settings, change);
            cluster_scoped(&mut findings, new, settings, change);
            cluster_secret_store(&mut findings, new, settings, change);
            // The old versions this object came from (none when it is added).
            let olds: Vec<&Object> = b
                .and_then(|b| bases.get(b))
                .map(|base| {
                    base.olds
                        .iter()
                        .filter_map(|&i| pair.old.get(i).copied())
                        .collect()
                })
                .unwrap_or_default();
            if b.is_some() {
                service_account_removed(&mut findings, &olds, new, settings);
            }
            findings.extend(crate::secrets::decryption_changed(
                &olds, new, settings, change,
            ));
        }
    }

    // Values a HelmRelease takes from a ConfigMap (`valuesFrom`) judged as its values, when
    // the ConfigMap is among these objects (the same file, or what the same root applies);
    // only what the old objects did not already hold.
    let old_hits = values_from_hits(old_objects, settings);
    for (cm, hit) in values_from_hits(new_objects, settings) {
        if !old_hits
            .iter()
            .any(|(_, h)| h.rule == hit.rule && h.key == hit.key)
        {
            findings.push(finding_from_hit(cm, hit, ChangeKind::Changed));
        }
    }

    let live: Vec<LiveException<'_>> = settings
        .exceptions
        .iter()
        .filter(|e| today <= e.expires.0)
        .map(|e| LiveException {
            rule: &e.rule,
            object_any: e.object.0.as_str() == "*",
            object: &e.object.0,
            path: e.path.as_ref().map(|p| &p.0),
        })
        .collect();
    if !live.is_empty() {
        findings.retain(|f| !live.iter().any(|e| e.covers(f)));
    }
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

/// What old versions already violated (location keys of built-in and custom rules).
#[derive(Default)]
struct OldKeys {
    builtin: HashSet<(RuleId, String)>,
    custom: HashSet<(String, String)>,
}

/// The old versions (indexes into `Pair::old`) a group of new objects is judged against, with
/// what they violated and their canonical forms computed once, when first needed.
struct Base {
    olds: Vec<usize>,
    keys: Option<OldKeys>,
    canonical: Option<HashSet<String>>,
}

impl Base {
    fn new(olds: Vec<usize>) -> Base {
        Base {
            olds,
            keys: None,
            canonical: None,
        }
    }

    fn keys(&mut self, old: &[&Object], settings: &Settings) -> &OldKeys {
        let olds = &self.olds;
        self.keys.get_or_insert_with(|| {
            let mut keys = OldKeys::default();
            for o in olds.iter().filter_map(|&i| old.get(i)) {
                for h in rules::check(o, settings) {
                    keys.builtin.insert((h.rule, h.key));
                }
                for rule in &settings.deny {
                    if applies_to_kind(rule, o) {
                        for hit in custom::evaluate(rule, &o.root) {
                            keys.custom.insert((rule.id.clone(), hit.path));
                        }
                    }
                }
            }
            keys
        })
    }

    /// True when `new` is identical to one of these old versions.
    fn holds_same(&mut self, new: &Object, old: &[&Object]) -> bool {
        if self.olds.len() <= 1 {
            return self
                .olds
                .iter()
                .filter_map(|&i| old.get(i))
                .any(|o| Arc::ptr_eq(&o.root, &new.root) || o.root.same_as(&new.root));
        }
        // Many versions of one identity: compare canonical forms through a set so the cost
        // stays linear.
        let olds = &self.olds;
        self.canonical
            .get_or_insert_with(|| {
                olds.iter()
                    .filter_map(|&i| old.get(i))
                    .map(|o| o.root.canonical())
                    .collect()
            })
            .contains(&new.root.canonical())
    }
}

/// Groups the old versions of one identity by the new objects judged against them: a new
/// object is judged against the old versions in its own file; one whose file held none (it
/// moved in) against the old versions in the files that no longer hold the identity (the
/// files it left) — unless more files gained the identity than lost it (a copy is new, and
/// which one is the copy cannot be told), then against none: it is added. Returns the groups
/// and, for each new object, its group.
fn old_versions_by_new(pair: &Pair<'_>) -> (Vec<Base>, Vec<Option<usize>>) {
    let mut old_by_path: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, o) in pair.old.iter().enumerate() {
        old_by_path.entry(o.path.as_str()).or_default().push(i);
    }
    let new_paths: HashSet<&str> = pair.new.iter().map(|n| n.path.as_str()).collect();
    let left: Vec<usize> = old_by_path
        .iter()
        .filter(|(p, _)| !new_paths.contains(*p))
        .flat_map(|(_, v)| v.iter().copied())
        .collect();
    let files_left = old_by_path
        .keys()
        .filter(|p| !new_paths.contains(*p))
        .count();
    let files_gained = new_paths
        .iter()
        .filter(|p| !old_by_path.contains_key(*p))
        .count();
    let mut bases = Vec::new();
    let mut by_path: HashMap<&str, usize> = HashMap::new();
    let mut moved_in: Option<usize> = None;
    let mut base_of = Vec::with_capacity(pair.new.len());
    for n in &pair.new {
        let path = n.path.as_str();
        let b = if let Some(olds) = old_by_path.get(path) {
            Some(*by_path.entry(path).or_insert_with(|| {
                bases.push(Base::new(olds.clone()));
                bases.len() - 1
            }))
        } else if !left.is_empty() && files_gained <= files_left {
            Some(*moved_in.get_or_insert_with(|| {
                bases.push(Base::new(left.clone()));
                bases.len() - 1
            }))
        } else {
            None
        };
        base_of.push(b);
    }
    (bases, base_of)
}

fn applies_to_kind(rule: &crate::settings::CustomRule, obj: &Object) -> bool {
    // A patch holds only what it changes: "field is absent" means nothing there.
    if obj.patch.is_some() && rule.exists == Some(false) {
        return false;
    }
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
        signable: false,
    }
}

/// The protected namespace an object lives in or deploys into, where that is written, and how.
fn protected_target<'a>(
    obj: &'a Object,
    settings: &Settings,
) -> Option<(String, &'a Node, &'static str)> {
    let protected =
        |ns: &str| !ns.is_empty() && settings.protected_namespaces.iter().any(|p| p == ns);
    let root = &obj.root;
    let at_str = |keys: &[&str]| {
        root.path(keys)
            .filter(|n| n.as_str().is_some_and(protected))
    };
    if obj.kustomization_file {
        // kustomize moves every resource of the directory into this namespace.
        return at_str(&["namespace"])
            .map(|n| (n.display(), n, "sets the namespace of all its resources to"));
    }
    if protected(&obj.identity.namespace) {
        let at = root.path(&["metadata", "namespace"]).unwrap_or(root);
        return Some((obj.identity.namespace.clone(), at, "is in"));
    }
    if obj.identity.kind == "Namespace"
        && obj.identity.group.is_empty()
        && protected(&obj.identity.name)
    {
        let at = root.path(&["metadata", "name"]).unwrap_or(root);
        return Some((obj.identity.name.clone(), at, "is the namespace"));
    }
    let group = obj.identity.group.as_str();
    let kind = obj.identity.kind.as_str();
    let target = match (group, kind) {
        ("kustomize.toolkit.fluxcd.io", "Kustomization")
        | ("helm.toolkit.fluxcd.io", "HelmRelease") => at_str(&["spec", "targetNamespace"]),
        ("argoproj.io", "Application") => at_str(&["spec", "destination", "namespace"]),
        ("argoproj.io", "ApplicationSet") => {
            at_str(&["spec", "template", "spec", "destination", "namespace"])
        }
        _ => None,
    };
    target.map(|n| (n.display(), n, "deploys into"))
}

fn protected(findings: &mut Vec<Finding>, obj: &Object, settings: &Settings, change: ChangeKind) {
    if !settings.rules.contains(&RuleId::ProtectedNamespaces) {
        return;
    }
    let Some((ns, at, how)) = protected_target(obj, settings) else {
        return;
    };
    let verb = change.verb();
    findings.push(Finding {
        rule: RuleId::ProtectedNamespaces.as_str().to_string(),
        path: obj.path.clone(),
        line: at.line,
        column: at.column,
        object: Some(obj.label()),
        container: None,
        message: format!(
            "the commit {verb} {}, which {how} the protected namespace `{ns}`; only the block's signers may do that",
            obj.label()
        ),
        fix: "have the change signed by one of the signers named in this [[manifests]] block (the caller drops this finding for them)".to_string(),
        change,
        signable: true,
    });
}

/// `cluster-scoped`: an object of a cluster-scoped kind added or changed in the block's files
/// (a tenant's path), whatever the old version held: each such change is the finding.
fn cluster_scoped(
    findings: &mut Vec<Finding>,
    obj: &Object,
    settings: &Settings,
    change: ChangeKind,
) {
    if !settings.rules.contains(&RuleId::ClusterScoped)
        || obj.kustomization_file
        || !rules::is_cluster_scoped(obj.kind())
    {
        return;
    }
    let at = obj.root.get("kind").unwrap_or(&obj.root);
    let verb = change.verb();
    findings.push(Finding {
        rule: RuleId::ClusterScoped.as_str().to_string(),
        path: obj.path.clone(),
        line: at.line,
        column: at.column,
        object: Some(obj.label()),
        container: None,
        message: format!(
            "the commit {verb} {}, an object of the cluster-scoped kind {}, in files this block holds to namespaced objects only",
            obj.label(),
            obj.kind()
        ),
        fix: "keep cluster-scoped objects in the platform's paths (reviewed by the cluster admins); a tenant uses namespaced kinds (Role, RoleBinding, Issuer, SecretStore)".to_string(),
        change,
        signable: false,
    });
}

/// `secret-stores`: a ClusterSecretStore added, changed or removed. Every namespace the
/// store's `spec.conditions` admit may read through it, so like a protected namespace only the
/// block's `signers` may change one (the caller drops this finding for them).
fn cluster_secret_store(
    findings: &mut Vec<Finding>,
    obj: &Object,
    settings: &Settings,
    change: ChangeKind,
) {
    if !settings.rules.contains(&RuleId::SecretStores)
        || obj.kustomization_file
        || obj.identity.group != "external-secrets.io"
        || obj.kind() != "ClusterSecretStore"
    {
        return;
    }
    let at = obj.root.path(&["metadata", "name"]).unwrap_or(&obj.root);
    let verb = change.verb();
    findings.push(Finding {
        rule: RuleId::SecretStores.as_str().to_string(),
        path: obj.path.clone(),
        line: at.line,
        column: at.column,
        object: Some(obj.label()),
        container: None,
        message: format!(
            "the commit {verb} {}: a store every namespace its conditions admit reads secrets through; only the block's signers may do that",
            obj.label()
        ),
        fix: "have the change signed by one of the signers named in this [[manifests]] block (the caller drops this finding for them)".to_string(),
        change,
        signable: true,
    });
}

fn removed(findings: &mut Vec<Finding>, old: &Object, settings: &Settings) {
    protected(findings, old, settings, ChangeKind::Removed);
    cluster_secret_store(findings, old, settings, ChangeKind::Removed);
    if settings.rules.contains(&RuleId::DenyDelete)
        && !old.kustomization_file
        && old.patch.is_none()
        && settings.deny_delete.contains(&old.identity.kind)
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
            signable: false,
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
            signable: false,
        });
    }
}

/// Whether `glob` matches `text`, in the policy's one dialect (`pushguard-glob`): over paths
/// (`*` within a directory, `**` across), or over names (`names`: `*` matches `/` too). An
/// invalid glob matches nothing.
pub fn glob_matches(glob: &str, text: &str, names: bool) -> bool {
    let g = if names {
        pushguard_glob::Glob::name(glob)
    } else {
        pushguard_glob::Glob::new(glob)
    };
    g.is_ok_and(|g| g.is_match(text))
}

/// An exception that has not expired.
struct LiveException<'a> {
    rule: &'a str,
    object_any: bool,
    object: &'a pushguard_glob::Glob,
    /// None: no path restriction.
    path: Option<&'a pushguard_glob::Glob>,
}

impl LiveException<'_> {
    fn covers(&self, f: &Finding) -> bool {
        if self.rule != "*" && self.rule != f.rule {
            return false;
        }
        let object_ok = match &f.object {
            Some(o) => self.object.is_match(o),
            None => self.object_any,
        };
        let path_ok = match &self.path {
            None => true,
            Some(g) => g.is_match(&f.path),
        };
        object_ok && path_ok
    }
}
