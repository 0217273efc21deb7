//! pushguard's kustomize renderer against the real kustomize, root by root.
//!
//! pushguard judges what Flux and Argo CD apply, and both apply what kustomize builds. A
//! renderer that builds something else is a bypass (a check passes on objects the cluster never
//! gets), so the oracle is the real thing: `kubectl kustomize` (kubectl v1.37.1, kustomize
//! v5.8.1, the same library the controllers use), installed by `tests/install-deps.sh` into
//! `$HOME/.cache/pushguard-test/kubectl-venv` (`PUSHGUARD_KUBECTL` names another binary).
//!
//! Every directory under `tests/fixtures/kustomize` holding a kustomization file is a root:
//! `own/` has one small root per kustomize feature plus the attack forms and roots kustomize
//! itself refuses; `vendored/` has real roots from public GitOps example repositories (each
//! with its `LICENSE` and a `SOURCE.md` naming the commit). Each root is built by kubectl with
//! `--load-restrictor LoadRestrictionsNone` (Flux's setting) and by
//! `render::kustomize_build` over the fixture directory as the repository tree, and the two
//! results are compared as multisets of canonical objects (order is not part of what the
//! cluster gets). Per root the outcome is:
//! - `equal`: the same objects;
//! - `refused`: pushguard refused (an error, or `problems`), whatever kubectl did — failing
//!   closed is allowed;
//! - `differ`: pushguard rendered objects without a problem and they are not kubectl's (or
//!   kubectl failed on the root): this fails the test, with a field diff.
//!
//! A renderer that refuses everything must not pass: the roots in [`MUST_RENDER`] (the plain
//! feature cases) fail the test when kubectl renders them and pushguard refuses them. The roots
//! in [`KUBECTL_FAILS`] must stay roots kustomize refuses, so that their `refused` means
//! something.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use pushguard_manifest::render::{self, RawKind, RawTree, Tree, TreeError};
use pushguard_manifest::yaml::{self, Node, Value};
use pushguard_manifest::Limits;

/// Roots (relative to the fixture directory) pushguard must render, not merely refuse.
const MUST_RENDER: &[&str] = &[
    "own/resources",
    "own/resources/extra",
    "own/nested/core",
    "own/nested/base",
    "own/nested/overlay",
    "own/components/app",
    "own/namespace",
    "own/name-references",
    "own/name-references-rbac",
    "own/custom-resources",
    "own/labels",
    "own/images",
    "own/replicas",
    "own/patches",
    "own/legacy-patches",
    "own/patch-targets",
    "own/patch-semantics",
    "own/images-registries",
    "own/yaml-forms",
    "own/custom-resource-patch",
    "own/images-everywhere",
    "own/generator-merge-secret/base",
    "own/generator-merge-secret/overlay",
    "own/generator-env-lookup",
    "own/diamond",
    "own/namespace-references",
    "own/selector-labels",
    "own/prefix-kinds",
    "own/patch-namespaces",
    "own/images-tags",
    "own/kustomization-types-ok",
    "own/kustomization-scalars",
    "own/json6902-forms",
    "own/json6902-annotations",
    "own/transformer-order",
    "own/smp-metadata-values",
    "own/generators",
    "own/generator-behavior/base",
    "own/generator-behavior/overlay",
    "own/local-config",
    "own/symlinks",
    "own/file-names/yml",
    "own/file-names/capital",
];

/// Roots kustomize itself refuses (each says why in its kustomization file).
const KUBECTL_FAILS: &[&str] = &[
    "own/errors/helm-chart",
    "own/errors/missing-resource",
    "own/errors/replicas-absent",
    "own/errors/two-kustomization-files",
    "own/errors/duplicate-ids",
    "own/yaml-duplicate-key",
    "own/components/as-resource",
    "own/errors/unknown-field",
    "own/errors/patch-ambiguous",
    "own/errors/patch-wrong-namespace",
    "own/errors/patch-no-namespace",
    "own/errors/cycle/a",
    "own/errors/cycle/b",
    "own/errors/self-include",
    "own/errors/label-not-string",
    "own/errors/namespace-rename-conflict",
    "own/errors/namespace-merge-conflict",
    "own/errors/prefix-conflict",
    "own/errors/generate-name",
    "own/errors/json6902/annotations-bool-key",
    "own/errors/json6902/labels-missing",
    "own/errors/json6902/move-missing",
    "own/errors/json6902/op-case",
    "own/errors/json6902/remove-missing",
    "own/errors/json6902/test-fails",
    "own/errors/kustomization-types/annotation-bool",
    "own/errors/kustomization-types/count-string",
    "own/errors/kustomization-types/image-tag-number",
    "own/errors/kustomization-types/label-yes",
    "own/errors/kustomization-types/namespace-number",
    "own/errors/kustomization-types/prefix-bool",
];

/// Differing objects explained field by field, per root.
const MAX_EXPLAINED: usize = 5;

/// Deepest fixture directory walked (the fixtures are a few levels deep).
const MAX_WALK_DEPTH: usize = 16;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kustomize")
}

/// The kubectl binary: `PUSHGUARD_KUBECTL`, else the venv `tests/install-deps.sh` makes.
fn kubectl() -> PathBuf {
    if let Some(path) = std::env::var_os("PUSHGUARD_KUBECTL") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "PUSHGUARD_KUBECTL={} is not a file: unset it, or run `sh tests/install-deps.sh`",
            path.display()
        );
        return path;
    }
    let home = std::env::var_os("HOME")
        .expect("HOME is not set: cannot find the kubectl of `sh tests/install-deps.sh`");
    let path = PathBuf::from(home).join(".cache/pushguard-test/kubectl-venv/bin/kubectl");
    assert!(
        path.is_file(),
        "kubectl (the kustomize oracle) is missing at {}: run `sh tests/install-deps.sh` \
         (or set PUSHGUARD_KUBECTL to a kubectl v1.37 binary)",
        path.display()
    );
    path
}

/// The fixture directory as a repository tree: what `git checkout` would have written.
struct FsTree {
    root: PathBuf,
}

impl FsTree {
    fn full(&self, path: &str) -> PathBuf {
        if path.is_empty() {
            self.root.clone()
        } else {
            self.root.join(path)
        }
    }

    fn error(path: &str, e: std::io::Error) -> TreeError {
        TreeError {
            path: path.to_string(),
            message: e.to_string(),
        }
    }

    fn kind(meta: &std::fs::Metadata) -> RawKind {
        let t = meta.file_type();
        if t.is_symlink() {
            RawKind::Symlink
        } else if t.is_dir() {
            RawKind::Dir
        } else {
            RawKind::File
        }
    }
}

impl RawTree for FsTree {
    fn lookup(&self, path: &str) -> Result<Option<RawKind>, TreeError> {
        match std::fs::symlink_metadata(self.full(path)) {
            Ok(meta) => Ok(Some(FsTree::kind(&meta))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FsTree::error(path, e)),
        }
    }

    fn read(&self, path: &str) -> Result<Arc<Vec<u8>>, TreeError> {
        let full = self.full(path);
        let meta = std::fs::symlink_metadata(&full).map_err(|e| FsTree::error(path, e))?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&full).map_err(|e| FsTree::error(path, e))?;
            return Ok(Arc::new(target.to_string_lossy().into_owned().into_bytes()));
        }
        std::fs::read(&full)
            .map(Arc::new)
            .map_err(|e| FsTree::error(path, e))
    }

    fn list(&self, dir: &str) -> Result<Vec<(String, RawKind)>, TreeError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.full(dir)).map_err(|e| FsTree::error(dir, e))? {
            let entry = entry.map_err(|e| FsTree::error(dir, e))?;
            let meta =
                std::fs::symlink_metadata(entry.path()).map_err(|e| FsTree::error(dir, e))?;
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                FsTree::kind(&meta),
            ));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// Every directory under `dir` holding a kustomization file, as `/`-separated paths relative
/// to `base`, sorted.
fn roots(base: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) {
    assert!(
        depth <= MAX_WALK_DEPTH,
        "fixtures nest too deep at {}",
        dir.display()
    );
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .collect();
    entries.sort();
    let is_root = entries.iter().any(|p| {
        p.is_file()
            && matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
            )
    });
    if is_root {
        let rel = dir.strip_prefix(base).unwrap_or(dir);
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        out.push(parts.join("/"));
    }
    for p in entries {
        if p.is_dir() && !p.is_symlink() {
            roots(base, &p, depth + 1, out);
        }
    }
}

/// What kubectl made of a root.
enum Kubectl {
    Built(Vec<Node>),
    Failed(String),
}

fn kubectl_build(kubectl: &Path, dir: &Path) -> Kubectl {
    let out = Command::new(kubectl)
        .args(["kustomize", "--load-restrictor", "LoadRestrictionsNone"])
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", kubectl.display()));
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Kubectl::Failed(format!("{} ({})", last.trim(), out.status));
    }
    match yaml::load(&out.stdout, &Limits::default()) {
        Ok(docs) => Kubectl::Built(docs),
        // kubectl's own output must load: if it does not, the loader is the thing to fix.
        Err(e) => panic!(
            "{}: kubectl's output does not load: {e}\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout)
        ),
    }
}

/// What pushguard made of a root.
enum Pushguard {
    Built(Vec<Arc<Node>>),
    Refused(String),
}

fn pushguard_build(raw: &FsTree, dir: &str) -> Pushguard {
    let tree = Tree::new(raw);
    match render::kustomize_build(&tree, dir, &Limits::default()) {
        Err(e) => Pushguard::Refused(format!("error: {e}")),
        Ok(r) if !r.problems.is_empty() => Pushguard::Refused(format!(
            "{} problem(s), first: {}",
            r.problems.len(),
            r.problems[0]
        )),
        Ok(r) => Pushguard::Built(r.objects.iter().map(|o| o.root.clone()).collect()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Equal,
    Refused,
    Differ,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Equal => "equal",
            Outcome::Refused => "refused",
            Outcome::Differ => "differ",
        }
    }
}

/// `kind namespace/name` of a document, for messages and pairing.
fn label(node: &Node) -> String {
    let s = |keys: &[&str]| {
        node.path(keys)
            .map(|n| n.display())
            .unwrap_or_else(|| "?".into())
    };
    let ns = node
        .path(&["metadata", "namespace"])
        .map(|n| format!("{}/", n.display()))
        .unwrap_or_default();
    format!("{} {}{}", s(&["kind"]), ns, s(&["metadata", "name"]))
}

fn counts<'a>(nodes: impl Iterator<Item = &'a Node>) -> BTreeMap<String, (usize, &'a Node)> {
    let mut out: BTreeMap<String, (usize, &Node)> = BTreeMap::new();
    for n in nodes {
        out.entry(n.canonical()).or_insert((0, n)).0 += 1;
    }
    out
}

/// Those of `a` (with multiplicity) that `b` lacks.
fn missing<'a>(
    a: &BTreeMap<String, (usize, &'a Node)>,
    b: &BTreeMap<String, (usize, &'a Node)>,
) -> Vec<&'a Node> {
    let mut out = Vec::new();
    for (key, (n, node)) in a {
        let have = b.get(key).map_or(0, |(m, _)| *m);
        for _ in have..*n {
            out.push(*node);
        }
    }
    out
}

/// A value on one line: its canonical text with line breaks shown as `\n`.
fn shown(node: &Node) -> String {
    node.canonical().replace('\n', "\\n")
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Str(_) => "string",
        Value::Seq(_) => "list",
        Value::Map(_) => "map",
    }
}

/// Field-level differences between two values, as `path: kubectl X, pushguard Y` lines (at
/// most `cap` of them).
fn diff(path: &str, k: &Node, p: &Node, out: &mut Vec<String>, cap: usize) {
    if out.len() >= cap || k.same_as(p) {
        return;
    }
    let here = if path.is_empty() { "." } else { path };
    match (&k.value, &p.value) {
        (Value::Map(km), Value::Map(pm)) => {
            let mut names: Vec<&str> = km
                .iter()
                .chain(pm.iter())
                .map(|(key, _)| key.name.as_str())
                .collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                let sub = format!("{path}.{name}");
                match (k.get(name), p.get(name)) {
                    (Some(a), Some(b)) => diff(&sub, a, b, out, cap),
                    (Some(a), None) => out.push(format!(
                        "{sub}: kubectl {}, pushguard has no such field",
                        shown(a)
                    )),
                    (None, Some(b)) => out.push(format!(
                        "{sub}: kubectl has no such field, pushguard {}",
                        shown(b)
                    )),
                    (None, None) => {}
                }
                if out.len() >= cap {
                    return;
                }
            }
        }
        (Value::Seq(ks), Value::Seq(ps)) if ks.len() == ps.len() => {
            for (i, (a, b)) in ks.iter().zip(ps).enumerate() {
                diff(&format!("{path}[{i}]"), a, b, out, cap);
            }
        }
        (Value::Seq(ks), Value::Seq(ps)) => out.push(format!(
            "{here}: kubectl has {} items, pushguard {}: kubectl {}, pushguard {}",
            ks.len(),
            ps.len(),
            shown(k),
            shown(p)
        )),
        (a, b) => out.push(format!(
            "{here}: kubectl {} {}, pushguard {} {}",
            kind_name(a),
            shown(k),
            kind_name(b),
            shown(p)
        )),
    }
}

/// A readable account of how two object sets differ: the unmatched objects of each side, and
/// the first few of kubectl's with a field diff against their counterpart in pushguard's.
fn explain(kubectl: &[Node], pushguard: &[Arc<Node>]) -> String {
    let k = counts(kubectl.iter());
    let p = counts(pushguard.iter().map(|n| n.as_ref()));
    let only_k = missing(&k, &p);
    let only_p = missing(&p, &k);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "    kubectl {} objects, pushguard {}; only kubectl's: [{}]; only pushguard's: [{}]",
        kubectl.len(),
        pushguard.len(),
        only_k
            .iter()
            .map(|n| label(n))
            .collect::<Vec<_>>()
            .join(", "),
        only_p
            .iter()
            .map(|n| label(n))
            .collect::<Vec<_>>()
            .join(", "),
    );
    // The first few differing objects, each against its counterpart: pushguard's object of
    // the same name, else the closest of its kind (a wrong name prefix or hash suffix is then
    // one of the differences shown).
    for first in only_k.iter().take(MAX_EXPLAINED) {
        let name = label(first);
        let kind = first.get("kind").map(|n| n.display());
        let counterpart = only_p.iter().find(|n| label(n) == name).or_else(|| {
            only_p
                .iter()
                .filter(|n| n.get("kind").map(|k| k.display()) == kind)
                .min_by_key(|n| {
                    let mut lines = Vec::new();
                    diff("", first, n, &mut lines, 50);
                    lines.len()
                })
        });
        match counterpart {
            Some(other) => {
                let mut lines = Vec::new();
                diff("", first, other, &mut lines, 20);
                let _ = writeln!(
                    out,
                    "    kubectl's {name} against pushguard's {}:",
                    label(other)
                );
                for l in lines {
                    let _ = writeln!(out, "      {l}");
                }
            }
            None => {
                let _ = writeln!(out, "    kubectl's {name}: {}", shown(first));
            }
        }
    }
    if only_k.is_empty() {
        if let Some(first) = only_p.first() {
            let _ = writeln!(
                out,
                "    pushguard's {}: {}",
                label(first),
                first.canonical()
            );
        }
    }
    out
}

struct Row {
    root: String,
    outcome: Outcome,
    kubectl_failed: bool,
    kubectl: String,
    pushguard: String,
    detail: String,
}

fn judge_root(kubectl_bin: &Path, raw: &FsTree, root: &str) -> Row {
    let k = kubectl_build(kubectl_bin, &raw.root.join(root));
    let p = pushguard_build(raw, root);
    let kubectl_col = match &k {
        Kubectl::Built(docs) => format!("{} objects", docs.len()),
        Kubectl::Failed(_) => "failed".into(),
    };
    let pushguard_col = match &p {
        Pushguard::Built(objs) => format!("{} objects", objs.len()),
        Pushguard::Refused(_) => "refused".into(),
    };
    let (outcome, detail) = match (&k, &p) {
        (_, Pushguard::Refused(why)) => {
            let mut d = format!("    pushguard: {why}\n");
            if let Kubectl::Failed(e) = &k {
                let _ = writeln!(d, "    kubectl: {e}");
            }
            (Outcome::Refused, d)
        }
        (Kubectl::Failed(e), Pushguard::Built(objs)) => (
            Outcome::Differ,
            format!(
                "    kubectl failed: {e}\n    pushguard rendered {} objects without a problem: [{}]\n",
                objs.len(),
                objs.iter().map(|n| label(n)).collect::<Vec<_>>().join(", ")
            ),
        ),
        (Kubectl::Built(docs), Pushguard::Built(objs)) => {
            let kc = counts(docs.iter());
            let pc = counts(objs.iter().map(|n| n.as_ref()));
            let same = kc.len() == pc.len()
                && kc
                    .iter()
                    .all(|(key, (n, _))| pc.get(key).is_some_and(|(m, _)| m == n));
            if same {
                (Outcome::Equal, String::new())
            } else {
                (Outcome::Differ, explain(docs, objs))
            }
        }
    };
    Row {
        root: root.to_string(),
        outcome,
        kubectl_failed: matches!(k, Kubectl::Failed(_)),
        kubectl: kubectl_col,
        pushguard: pushguard_col,
        detail,
    }
}

/// Judges every root, a few at a time (kubectl's start-up dominates), in the order given.
fn judge_all(kubectl_bin: &Path, raw: &FsTree, roots: &[String]) -> Vec<Row> {
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 4);
    let next = AtomicUsize::new(0);
    let mut rows: Vec<(usize, Row)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(root) = roots.get(i) else { break };
                        done.push((i, judge_root(kubectl_bin, raw, root)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn pushguard_renders_what_kustomize_renders() {
    let kubectl_bin = kubectl();
    let base = fixtures();
    let mut all = Vec::new();
    roots(&base, &base, 0, &mut all);
    for must in MUST_RENDER.iter().chain(KUBECTL_FAILS) {
        assert!(
            all.iter().any(|r| r == must),
            "{must} is listed in this test but is no root under {}",
            base.display()
        );
    }
    let raw = FsTree { root: base };
    let rows = judge_all(&kubectl_bin, &raw, &all);

    let width = rows.iter().map(|r| r.root.len()).max().unwrap_or(4);
    let mut report = String::new();
    let version = Command::new(&kubectl_bin)
        .args(["version", "--client"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).replace('\n', "; "))
        .unwrap_or_else(|e| format!("`kubectl version` failed: {e}"));
    let _ = writeln!(report, "oracle: {} ({version})", kubectl_bin.display());
    let _ = writeln!(
        report,
        "{:width$}  {:8}  {:12}  pushguard",
        "root", "outcome", "kubectl"
    );
    for r in &rows {
        let _ = writeln!(
            report,
            "{:width$}  {:8}  {:12}  {}",
            r.root,
            r.outcome.name(),
            r.kubectl,
            r.pushguard
        );
        if r.outcome != Outcome::Equal {
            report.push_str(&r.detail);
        }
    }
    let n = |o: Outcome| rows.iter().filter(|r| r.outcome == o).count();
    let _ = writeln!(
        report,
        "oracle: {} roots, {} equal, {} refused, {} differ",
        rows.len(),
        n(Outcome::Equal),
        n(Outcome::Refused),
        n(Outcome::Differ)
    );
    // Shown by cargo when the test fails, or with `-- --nocapture`.
    println!("{report}");

    let mut failures = Vec::new();
    for r in &rows {
        if r.outcome == Outcome::Differ {
            failures.push(format!(
                "{}: pushguard renders other objects than kustomize",
                r.root
            ));
        }
        let must = MUST_RENDER.contains(&r.root.as_str());
        if must && r.kubectl_failed {
            failures.push(format!(
                "{}: kubectl fails on a root listed as must-render (fixture broken)",
                r.root
            ));
        }
        if must && r.outcome == Outcome::Refused {
            failures.push(format!(
                "{}: a plain feature root pushguard must render was refused",
                r.root
            ));
        }
        if KUBECTL_FAILS.contains(&r.root.as_str()) && !r.kubectl_failed {
            failures.push(format!(
                "{}: kubectl renders a root listed as one it refuses",
                r.root
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(details in the table above)",
        failures.join("\n")
    );
}
