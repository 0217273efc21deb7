//! Flux `ExternalArtifact`s made from this repository by an `ArtifactGenerator`.
//!
//! Flux 2.7's source-watcher splits a monorepo into artifacts: an `ArtifactGenerator`
//! (`source.extensions.fluxcd.io`) copies paths of its sources into each artifact it names, and a
//! Flux `Kustomization` with `sourceRef.kind: ExternalArtifact` builds its `spec.path` inside
//! that artifact (fluxcd/flux2-kustomize-helm-example deploys `./production` from an artifact
//! made of `apps/base/**` and `apps/production/**`). Rendered from the repository's own tree,
//! such a root reads the wrong directory; not rendered, what it deploys would go unjudged and
//! unprotected. So the artifact is rebuilt here as a view of the repository: each copy operation
//! is a *mount* of a repository path at an artifact path, and the view reads through the
//! repository's [`Tree`], so everything the rendering reads is recorded at its repository path
//! (the root's closure, which decides what a push affects and what a protected root protects).
//!
//! Modelled (source-watcher's `cp`-like semantics, read in its `internal/builder`):
//! `@alias/dir/**` copies the contents of `dir` into the destination; `@alias/dir/` and
//! `@alias/dir` copy `dir` as a subdirectory of the destination; `@alias/file` copies one file,
//! into a destination ending in `/` or as the destination. Files are copied by content, read
//! through symlinks inside the source (Go's `os.Root`), as the view reads them here. Sources are `GitRepository`s, read as this repository (the assumption made for
//! a `Kustomization` whose source is a `GitRepository`). Anything else — another source kind,
//! `pathPattern`, `exclude`, a `Merge` or `Extract` strategy, other globs, copies that overlap
//! (a later one overwrites or merges into an earlier one), no generator or several for the
//! artifact — is a reason the root cannot be rendered, which the caller reports.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::tree::{join, join_relative, RawKind, RawTree, Resolved, Tree, TreeError};
use crate::yaml::{Node, Value};

/// A file of the repository that Flux sources are made from: an `ArtifactGenerator` or a
/// `GitRepository` object, with the file that defines it, or a `.sourceignore` file (its
/// `object` null: it is read at its path).
#[derive(Debug, Clone)]
pub struct Generator {
    pub file: String,
    pub object: Arc<Node>,
}

impl Generator {
    /// A `.sourceignore` file at `path`.
    pub fn ignore_file(path: &str) -> Generator {
        Generator {
            file: path.to_string(),
            object: Arc::new(Node {
                value: Value::Null,
                line: 1,
                column: 1,
            }),
        }
    }

    pub(crate) fn is_ignore_file(&self) -> bool {
        self.object.is_null()
    }

    pub(crate) fn kind(&self) -> &str {
        self.object.get("kind").and_then(Node::as_str).unwrap_or("")
    }

    pub(crate) fn name(&self) -> &str {
        self.object
            .path(&["metadata", "name"])
            .and_then(Node::as_str)
            .unwrap_or("")
    }

    pub(crate) fn namespace(&self) -> &str {
        self.object
            .path(&["metadata", "namespace"])
            .and_then(Node::as_str)
            .unwrap_or("")
    }
}

/// One copy operation: the repository path `repo` seen at the artifact path `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub at: String,
    pub repo: String,
}

/// The artifact `name` in `namespace`, as mounts of repository paths; or why it cannot be
/// modelled. The files of every generator making an artifact of that name are read through
/// `tree`, so they are in the root's closure (and the caller keys kept closures by every
/// generator of the tree, so a generator added anywhere has the root rendered again).
///
/// A repository for several clusters defines the same generator once per cluster directory
/// (`clusters/staging/artifacts.yaml`, `clusters/production/artifacts.yaml`: one object name,
/// each applied to its own cluster). So when several generators make the artifact, the one
/// nearest `file` (the Kustomization's file: the longest common directory) is taken, and a tie
/// is a reason.
pub(crate) fn mounts(
    tree: &Tree,
    generators: &[Generator],
    file: &str,
    namespace: &str,
    name: &str,
) -> Result<Result<Vec<Mount>, String>, TreeError> {
    let mut found = Vec::new();
    for g in generators
        .iter()
        .filter(|g| g.kind() == "ArtifactGenerator" && g.namespace() == namespace)
    {
        for a in g
            .object
            .path(&["spec", "artifacts"])
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            if a.get("name").and_then(Node::as_str) == Some(name) {
                found.push((g, a));
            }
        }
    }
    // Every generator that makes an artifact of this name is part of what the root renders,
    // not only the one taken: the cluster may get another (one a root it also applies defines
    // under the same name), so a change to any of them needs the root's signers.
    for (g, _) in &found {
        tree.resolve(&g.file)?;
    }
    let nearness = |g: &Generator| common_dirs(&g.file, file);
    if let Some(best) = found.iter().map(|(g, _)| nearness(g)).max() {
        found.retain(|(g, _)| nearness(g) == best);
    }
    let (g, artifact) = match found.as_slice() {
        [] => {
            return Ok(Err(format!(
                "no ArtifactGenerator in this repository makes the ExternalArtifact `{namespace}/{name}`, so what it holds is not known"
            )))
        }
        [one] => *one,
        _ => {
            let files: Vec<&str> = found.iter().map(|(g, _)| g.file.as_str()).collect();
            return Ok(Err(format!(
                "{} ArtifactGenerators as near the Kustomization make the ExternalArtifact `{namespace}/{name}` ({}): which one the cluster keeps is not known",
                found.len(),
                files.join(", ")
            )));
        }
    };
    Ok(copies(tree, g, artifact))
}

/// The `GitRepository` sources (`namespace`, `name`) of every generator making the artifact
/// `name` in `namespace`: what it copies from is their artifacts.
pub(crate) fn git_sources(
    generators: &[Generator],
    namespace: &str,
    name: &str,
) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for g in generators
        .iter()
        .filter(|g| g.kind() == "ArtifactGenerator" && g.namespace() == namespace)
    {
        let makes = g
            .object
            .path(&["spec", "artifacts"])
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .any(|a| a.get("name").and_then(Node::as_str) == Some(name));
        if !makes {
            continue;
        }
        for s in g
            .object
            .path(&["spec", "sources"])
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            if s.get("kind").and_then(Node::as_str) != Some("GitRepository") {
                continue;
            }
            let ns = s
                .get("namespace")
                .and_then(Node::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(namespace);
            let repo = s.get("name").and_then(Node::as_str).unwrap_or("");
            out.insert((ns.to_string(), repo.to_string()));
        }
    }
    out
}

/// The mounts of one artifact entry of generator `g` (paths copied are looked up in `tree`,
/// so what they are is part of the closure).
fn copies(tree: &Tree, g: &Generator, artifact: &Node) -> Result<Vec<Mount>, String> {
    let spec = g.object.get("spec");
    let at = format!("ArtifactGenerator in {}", g.file);
    if spec
        .and_then(|s| s.get("pathPattern"))
        .is_some_and(|p| !p.is_null())
    {
        return Err(format!(
            "{at} uses `pathPattern`, which pushguard does not model"
        ));
    }
    let mut kinds: BTreeMap<&str, &str> = BTreeMap::new();
    for s in spec
        .and_then(|s| s.get("sources"))
        .map(Node::as_seq)
        .unwrap_or(&[])
    {
        let alias = s.get("alias").and_then(Node::as_str).unwrap_or("");
        let kind = s.get("kind").and_then(Node::as_str).unwrap_or("");
        if kinds.insert(alias, kind).is_some() {
            return Err(format!("{at} names the source alias `{alias}` twice"));
        }
    }
    let mut out: Vec<Mount> = Vec::new();
    for c in artifact.get("copy").map(Node::as_seq).unwrap_or(&[]) {
        let from = c.get("from").and_then(Node::as_str).unwrap_or("");
        let to = c.get("to").and_then(Node::as_str).unwrap_or("");
        let what = format!("{at}: copy `{from}` to `{to}`");
        if let Some(s) = c.get("strategy").and_then(Node::as_str) {
            if s != "Overwrite" {
                return Err(format!(
                    "{what} uses the `{s}` strategy, which pushguard does not model"
                ));
            }
        }
        if let Some(e) = c.get("exclude").filter(|e| !e.is_null()) {
            if !matches!(&e.value, Value::Seq(s) if s.is_empty()) {
                return Err(format!(
                    "{what} has `exclude`, which pushguard does not model"
                ));
            }
        }
        let Some((alias, rest)) = from
            .strip_prefix('@')
            .map(|f| f.split_once('/').unwrap_or((f, "")))
        else {
            return Err(format!("{what}: `from` does not start with `@alias/`"));
        };
        match kinds.get(alias) {
            Some(&"GitRepository") => {}
            Some(kind) => {
                return Err(format!(
                    "{what} copies from a {kind}, whose content is not in this repository"
                ))
            }
            None => return Err(format!("{what}: no source has the alias `{alias}`")),
        }
        let Some(dest) = to
            .strip_prefix("@artifact/")
            .or((to == "@artifact").then_some(""))
        else {
            return Err(format!("{what}: `to` does not start with `@artifact/`"));
        };
        let into_dir = dest.is_empty() || dest.ends_with('/');
        let Some(dest) = join_relative("", dest) else {
            return Err(format!("{what}: `to` leads out of the artifact"));
        };
        let glob = |s: &str| s.contains(['*', '?', '[', '{']);
        let (repo, at_path) = if let Some(dir) = rest
            .strip_suffix("**")
            .filter(|d| d.is_empty() || d.ends_with('/'))
        {
            // The contents of `dir`, into the destination.
            (dir.trim_end_matches('/').to_string(), dest)
        } else if glob(rest) {
            return Err(format!(
                "{what}: only `dir/**`, `dir/` and single paths are modelled, not other globs"
            ));
        } else {
            // source-watcher stats the path: a directory is always copied as a subdirectory
            // of the destination (`cp -r dir dest` makes `dest/dir`), a file into a
            // destination ending in `/` or as the destination.
            let path = rest.trim_end_matches('/');
            let base = path.rsplit('/').next().unwrap_or("");
            let is_dir = match join_relative("", path) {
                Some(p) => matches!(tree.resolve(&p), Ok(Resolved::Dir(_))),
                None => false,
            };
            let at_path = if is_dir || into_dir || rest.ends_with('/') {
                join(&dest, base)
            } else {
                dest
            };
            (path.to_string(), at_path)
        };
        let Some(repo) = join_relative("", &repo) else {
            return Err(format!("{what}: `from` leads out of the source"));
        };
        let at_path = at_path.trim_end_matches('/').to_string();
        if let Some(other) = out.iter().find(|m| overlaps(&m.at, &at_path)) {
            return Err(format!(
                "{what} lands on `{}` where another copy lands (`{}`): overlapping copies overwrite one another, which pushguard does not model",
                display(&at_path),
                display(&other.at)
            ));
        }
        out.push(Mount { at: at_path, repo });
    }
    if out.is_empty() {
        return Err(format!("{at}: the artifact copies nothing"));
    }
    Ok(out)
}

/// How many leading directories two file paths share.
pub(crate) fn common_dirs(a: &str, b: &str) -> usize {
    let dirs = |p: &str| -> Vec<String> {
        let mut parts: Vec<String> = p.split('/').map(str::to_string).collect();
        parts.pop();
        parts
    };
    dirs(a)
        .iter()
        .zip(dirs(b).iter())
        .take_while(|(x, y)| x == y)
        .count()
}

fn display(p: &str) -> &str {
    if p.is_empty() {
        "."
    } else {
        p
    }
}

/// Whether one artifact path is the other or below it.
fn overlaps(a: &str, b: &str) -> bool {
    let below = |x: &str, y: &str| x.is_empty() || y == x || y.starts_with(&format!("{x}/"));
    below(a, b) || below(b, a)
}

/// The mount `path` is in, and the repository path it is there.
pub(crate) fn to_repo(mounts: &[Mount], path: &str) -> Option<String> {
    mounts.iter().find_map(|m| {
        if m.at.is_empty() {
            return Some(join(&m.repo, path).trim_end_matches('/').to_string());
        }
        let rest = if path == m.at {
            ""
        } else {
            path.strip_prefix(&format!("{}/", m.at))?
        };
        Some(if rest.is_empty() {
            m.repo.clone()
        } else {
            join(&m.repo, rest)
        })
    })
}

/// The artifact as a raw tree: mounted paths read through the repository's [`Tree`] (symlinks
/// followed there, reads recorded there), and the directories above the mounts.
pub(crate) struct Mounted<'t, 'a> {
    pub repo: &'t Tree<'a>,
    pub mounts: Vec<Mount>,
}

impl Mounted<'_, '_> {
    fn kind(&self, path: &str, r: Resolved) -> Result<Option<RawKind>, TreeError> {
        match r {
            Resolved::File(_) => Ok(Some(RawKind::File)),
            Resolved::Dir(_) => Ok(Some(RawKind::Dir)),
            Resolved::Gitlink(_) => Ok(Some(RawKind::Gitlink)),
            Resolved::Missing => Ok(None),
            Resolved::Outside { link, target } => Err(TreeError {
                path: link,
                message: format!(
                    "a symlink to `{target}` leaves the repository, and the ExternalArtifact copies it (as `{path}`)"
                ),
            }),
            Resolved::Loop(at) => Err(TreeError {
                path: at,
                message: "too many symlinks (a loop), copied into an ExternalArtifact".into(),
            }),
        }
    }

    /// Names directly below `dir` that lead towards a mount, and whether each is the mount.
    fn above(&self, dir: &str) -> BTreeMap<String, Option<&Mount>> {
        let mut out = BTreeMap::new();
        for m in &self.mounts {
            let rest = if dir.is_empty() {
                Some(m.at.as_str())
            } else {
                m.at.strip_prefix(&format!("{dir}/"))
            };
            let Some(rest) = rest.filter(|r| !r.is_empty()) else {
                continue;
            };
            match rest.split_once('/') {
                Some((first, _)) => {
                    out.entry(first.to_string()).or_insert(None);
                }
                None => {
                    out.insert(rest.to_string(), Some(m));
                }
            }
        }
        out
    }
}

impl RawTree for Mounted<'_, '_> {
    fn lookup(&self, path: &str) -> Result<Option<RawKind>, TreeError> {
        if let Some(repo) = to_repo(&self.mounts, path) {
            let r = self.repo.resolve(&repo)?;
            return self.kind(path, r);
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        Ok(self
            .above(dir)
            .contains_key(name)
            .then_some(RawKind::Dir)
            .or_else(|| (path.is_empty() && !self.mounts.is_empty()).then_some(RawKind::Dir)))
    }

    fn read(&self, path: &str) -> Result<Arc<Vec<u8>>, TreeError> {
        let bytes = match to_repo(&self.mounts, path) {
            Some(repo) => self.repo.read(&repo)?,
            None => None,
        };
        bytes.ok_or_else(|| TreeError {
            path: path.to_string(),
            message: "not a file in the ExternalArtifact".into(),
        })
    }

    fn list(&self, dir: &str) -> Result<Vec<(String, RawKind)>, TreeError> {
        if let Some(repo) = to_repo(&self.mounts, dir) {
            let mut out = Vec::new();
            for (name, r) in self.repo.list(&repo)?.unwrap_or_default() {
                let path = join(dir, &name);
                if let Some(kind) = self.kind(&path, r)? {
                    out.push((name, kind));
                }
            }
            return Ok(out);
        }
        let mut out = Vec::new();
        for (name, mount) in self.above(dir) {
            let kind = match mount {
                None => Some(RawKind::Dir),
                Some(m) => {
                    let r = self.repo.resolve(&m.repo)?;
                    self.kind(&m.at, r)?
                }
            };
            if let Some(kind) = kind {
                out.push((name, kind));
            }
        }
        Ok(out)
    }
}
