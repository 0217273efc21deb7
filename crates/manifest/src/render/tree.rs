//! The repository tree a renderer reads, with symlinks followed the way a checkout follows them.
//!
//! kustomize, Flux and Argo CD read a *checkout*: a symlink to a file or a directory inside the
//! repository is read through, one that leaves it is refused (Flux and Argo CD both refuse
//! out-of-repository links), and a gitlink (submodule) is an empty directory unless the
//! controller clones submodules. The caller supplies the raw tree ([`RawTree`]: the hook's git
//! trees, or [`MemTree`] in tests); [`Tree`] resolves paths over it, caches what it read and
//! records every path it was asked about, which is the closure of whatever was rendered.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::yaml::{self, Limits, LoadError, LoadStats, Node};

/// What a raw tree holds at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawKind {
    File,
    Dir,
    Symlink,
    Gitlink,
}

/// Why the tree could not be read (a missing object, an oversized blob): the caller fails
/// closed on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TreeError {
    pub path: String,
    pub message: String,
}

/// A tree without symlink resolution. Paths are `/`-separated, relative, normalized (no `.`,
/// `..` or empty components); `""` is the root. Directory components of the paths passed in
/// are never symlinks ([`Tree`] resolves them first).
pub trait RawTree {
    /// The kind of entry at `path`, or None.
    fn lookup(&self, path: &str) -> Result<Option<RawKind>, TreeError>;
    /// The bytes of a file, or the target text of a symlink.
    fn read(&self, path: &str) -> Result<Arc<Vec<u8>>, TreeError>;
    /// The entries of a directory, sorted by name.
    fn list(&self, dir: &str) -> Result<Vec<(String, RawKind)>, TreeError>;
}

/// Where a path leads once symlinks are followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A regular file at this real path.
    File(String),
    /// A directory at this real path.
    Dir(String),
    /// A gitlink (submodule) at this real path: its content is not in the repository.
    Gitlink(String),
    /// Nothing there.
    Missing,
    /// A symlink on the way leads out of the repository (absolute, or above the root); the
    /// symlink's path and target.
    Outside { link: String, target: String },
    /// Too many symlinks (a loop).
    Loop(String),
}

/// Most symlinks followed for one path (Linux allows 40).
const MAX_LINKS: usize = 40;

/// A resolving, caching, recording view of a [`RawTree`].
pub struct Tree<'a> {
    raw: &'a dyn RawTree,
    files: RefCell<HashMap<String, Arc<Vec<u8>>>>,
    reads: RefCell<BTreeSet<String>>,
    parsed: Option<&'a ParseCache>,
}

/// One parse: the documents (or the error) and the nodes it counted.
type Parsed = (Result<Vec<Node>, LoadError>, usize);

/// One parse as the cache keeps it: each document shared, so a reader that only reads (the
/// per-file judge, discovery) takes it without a copy.
pub type SharedParse = (Result<Vec<Arc<Node>>, LoadError>, usize);

/// Files parsed in one push, by content: shared by the trees of the push (the old and the new
/// tip hold mostly the same files, and roots share bases) and by the per-file judge, so each
/// content is parsed once. Keyed by a hash with a random key, and the bytes compared on a hit,
/// so a pusher cannot make two files share an entry. Thread-safe: the engine parses a push's
/// changed files into it in parallel before rendering.
#[derive(Default)]
pub struct ParseCache {
    // foldhash: a keyed hash many times faster than SipHash over file-sized keys; a
    // collision costs only a byte comparison, as the bytes decide a hit.
    state: foldhash::quality::RandomState,
    #[allow(clippy::type_complexity)]
    entries: std::sync::Mutex<HashMap<u64, Vec<(Vec<u8>, Limits, Arc<SharedParse>)>>>,
}

impl ParseCache {
    /// `yaml::load_with_stats` of `bytes`, once per content and limits: documents of its own
    /// for a caller that changes them (the renderer).
    pub fn load(&self, bytes: &[u8], limits: &Limits) -> Parsed {
        let shared = self.get(bytes, limits);
        // The copy is made outside the lock.
        let docs = match &shared.0 {
            Ok(docs) => Ok(docs.iter().map(|d| Node::clone(d)).collect()),
            Err(e) => Err(e.clone()),
        };
        (docs, shared.1)
    }

    /// The same parse, its documents shared with the cache (no copy).
    pub fn load_shared(&self, bytes: &[u8], limits: &Limits) -> SharedParse {
        let shared = self.get(bytes, limits);
        (shared.0.clone(), shared.1)
    }

    fn get(&self, bytes: &[u8], limits: &Limits) -> Arc<SharedParse> {
        let key = self.state.hash_one(bytes);
        if let Some(hit) = self.lookup(key, bytes, limits) {
            return hit;
        }
        let parsed = Arc::new(parse_shared(bytes, limits));
        self.insert(key, bytes, limits, Arc::clone(&parsed));
        parsed
    }

    /// Parses `bytes` into the cache ahead of use (a no-op when it is there already).
    pub fn warm(&self, bytes: &[u8], limits: &Limits) {
        let key = self.state.hash_one(bytes);
        if self.lookup(key, bytes, limits).is_none() {
            // Parsed outside the lock: other threads go on parsing other files meanwhile.
            self.insert(key, bytes, limits, Arc::new(parse_shared(bytes, limits)));
        }
    }

    fn lookup(&self, key: u64, bytes: &[u8], limits: &Limits) -> Option<Arc<SharedParse>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .and_then(|v| v.iter().find(|(b, l, _)| b == bytes && l == limits))
            .map(|hit| Arc::clone(&hit.2))
    }

    fn insert(&self, key: u64, bytes: &[u8], limits: &Limits, parsed: Arc<SharedParse>) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = entries.entry(key).or_default();
        if !bucket.iter().any(|(b, l, _)| b == bytes && l == limits) {
            bucket.push((bytes.to_vec(), *limits, parsed));
        }
    }
}

fn parse(bytes: &[u8], limits: &Limits) -> Parsed {
    let mut stats = LoadStats::default();
    let docs = yaml::load_with_stats(bytes, limits, &mut stats);
    (docs, stats.nodes)
}

fn parse_shared(bytes: &[u8], limits: &Limits) -> SharedParse {
    let (docs, nodes) = parse(bytes, limits);
    (docs.map(|d| d.into_iter().map(Arc::new).collect()), nodes)
}

impl<'a> Tree<'a> {
    pub fn new(raw: &'a dyn RawTree) -> Tree<'a> {
        Tree {
            raw,
            files: RefCell::new(HashMap::new()),
            reads: RefCell::new(BTreeSet::new()),
            parsed: None,
        }
    }

    /// A tree whose parses go through `cache` (shared with the other trees of a push).
    pub fn with_cache(raw: &'a dyn RawTree, cache: &'a ParseCache) -> Tree<'a> {
        Tree {
            parsed: Some(cache),
            ..Tree::new(raw)
        }
    }

    /// The parse cache this tree shares, if any (a view built over this tree shares it too).
    pub fn cache(&self) -> Option<&'a ParseCache> {
        self.parsed
    }

    /// Parses file bytes (through the shared cache when there is one): the documents or the
    /// error, and the nodes counted.
    pub fn parse(&self, bytes: &[u8], limits: &Limits) -> (Result<Vec<Node>, LoadError>, usize) {
        match self.parsed {
            Some(cache) => cache.load(bytes, limits),
            None => parse(bytes, limits),
        }
    }

    /// [`Tree::parse`] for a caller that only reads: the documents shared with the cache.
    pub fn parse_shared(&self, bytes: &[u8], limits: &Limits) -> SharedParse {
        match self.parsed {
            Some(cache) => cache.load_shared(bytes, limits),
            None => parse_shared(bytes, limits),
        }
    }

    fn note(&self, path: &str) {
        self.reads.borrow_mut().insert(path.to_string());
    }

    /// What was read since the last call, then forgets it: every path a lookup ended at (a
    /// file, a gitlink, the first missing component, a link leading out), every symlink passed on
    /// the way, and every directory listed, written with a trailing `/`. Whatever changes at one
    /// of these paths (or, for a listed directory, directly below it) can change what was
    /// rendered from them.
    pub fn take_reads(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.reads.borrow_mut())
    }

    /// What the raw tree holds at `path`, a symlink not followed, recorded as [`Tree::resolve`]
    /// records a lookup (a directory passed is not: what is read below it is). For a view over
    /// this tree, which asks only about paths below real directories.
    pub fn raw_kind(&self, path: &str) -> Result<Option<RawKind>, TreeError> {
        let kind = self.raw.lookup(path)?;
        if kind != Some(RawKind::Dir) {
            self.note(path);
        }
        Ok(kind)
    }

    /// The raw entries of the real directory `dir`, recorded as a listing (see
    /// [`Tree::raw_kind`]).
    pub fn raw_list(&self, dir: &str) -> Result<Vec<(String, RawKind)>, TreeError> {
        self.note(&format!("{dir}/"));
        self.raw.list(dir)
    }

    /// Follows `path` (relative to the root, may hold `.` and `..`) to what it names.
    pub fn resolve(&self, path: &str) -> Result<Resolved, TreeError> {
        let Some(mut pending) = normalize_parts(path) else {
            return Ok(Resolved::Outside {
                link: path.to_string(),
                target: path.to_string(),
            });
        };
        pending.reverse(); // a stack: the next component is last
        let mut done: Vec<String> = Vec::new();
        let mut links = 0usize;
        while let Some(part) = pending.pop() {
            if part == ".." {
                if done.pop().is_none() {
                    return Ok(Resolved::Outside {
                        link: path.to_string(),
                        target: path.to_string(),
                    });
                }
                continue;
            }
            done.push(part);
            let here = done.join("/");
            match self.raw.lookup(&here)? {
                None => {
                    self.note(&here);
                    return Ok(Resolved::Missing);
                }
                Some(RawKind::Symlink) => {
                    self.note(&here);
                    links += 1;
                    if links > MAX_LINKS {
                        return Ok(Resolved::Loop(here));
                    }
                    let target = String::from_utf8_lossy(&self.raw.read(&here)?).into_owned();
                    if target.starts_with('/') || target.is_empty() {
                        return Ok(Resolved::Outside { link: here, target });
                    }
                    done.pop();
                    let mut parts: Vec<String> = target
                        .split('/')
                        .filter(|p| !p.is_empty() && *p != ".")
                        .map(str::to_string)
                        .collect();
                    parts.reverse();
                    // `..` above the root is caught as the parts are taken.
                    pending.extend(parts);
                }
                Some(RawKind::Gitlink) => {
                    self.note(&here);
                    if pending.is_empty() {
                        return Ok(Resolved::Gitlink(here));
                    }
                    return Ok(Resolved::Missing);
                }
                Some(RawKind::File) => {
                    self.note(&here);
                    if !pending.is_empty() {
                        return Ok(Resolved::Missing);
                    }
                    return Ok(Resolved::File(here));
                }
                Some(RawKind::Dir) => {}
            }
        }
        Ok(Resolved::Dir(done.join("/")))
    }

    /// The bytes of the regular file `path` leads to. Ok(None) when it leads to no file.
    pub fn read(&self, path: &str) -> Result<Option<Arc<Vec<u8>>>, TreeError> {
        let Resolved::File(real) = self.resolve(path)? else {
            return Ok(None);
        };
        if let Some(bytes) = self.files.borrow().get(&real) {
            return Ok(Some(bytes.clone()));
        }
        let bytes = self.raw.read(&real)?;
        self.files.borrow_mut().insert(real, bytes.clone());
        Ok(Some(bytes))
    }

    /// The entries of the directory `dir` leads to, each resolved: `(name, where it leads)`.
    /// Ok(None) when `dir` is not a directory.
    pub fn list(&self, dir: &str) -> Result<Option<Vec<(String, Resolved)>>, TreeError> {
        let Resolved::Dir(real) = self.resolve(dir)? else {
            return Ok(None);
        };
        self.note(&format!("{real}/"));
        let mut out = Vec::new();
        for (name, _) in self.raw.list(&real)? {
            let path = join(&real, &name);
            out.push((name, self.resolve(&path)?));
        }
        Ok(Some(out))
    }
}

/// `dir/name`, or `name` at the root.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// Splits a path into components, dropping empty and `.` ones; None for an absolute path.
fn normalize_parts(path: &str) -> Option<Vec<String>> {
    if path.starts_with('/') {
        return None;
    }
    Some(
        path.split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_string)
            .collect(),
    )
}

/// Normalizes `base_dir/relative` lexically (`..` pops a component), as kustomize joins a
/// resource path to its kustomization's directory. None when it climbs above the root or is
/// absolute.
pub fn join_relative(base_dir: &str, relative: &str) -> Option<String> {
    if relative.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = base_dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in relative.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// An in-memory tree for tests: files, symlinks and gitlinks by path; directories implied.
#[derive(Debug, Clone, Default)]
pub struct MemTree {
    entries: BTreeMap<String, (RawKind, Arc<Vec<u8>>)>,
}

impl MemTree {
    pub fn new() -> MemTree {
        MemTree::default()
    }

    pub fn file(mut self, path: &str, text: &str) -> MemTree {
        self.entries.insert(
            path.to_string(),
            (RawKind::File, Arc::new(text.as_bytes().to_vec())),
        );
        self
    }

    pub fn symlink(mut self, path: &str, target: &str) -> MemTree {
        self.entries.insert(
            path.to_string(),
            (RawKind::Symlink, Arc::new(target.as_bytes().to_vec())),
        );
        self
    }

    pub fn gitlink(mut self, path: &str) -> MemTree {
        self.entries
            .insert(path.to_string(), (RawKind::Gitlink, Arc::new(Vec::new())));
        self
    }

    fn is_dir(&self, path: &str) -> bool {
        if path.is_empty() {
            return !self.entries.is_empty();
        }
        let prefix = format!("{path}/");
        self.entries
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }
}

impl RawTree for MemTree {
    fn lookup(&self, path: &str) -> Result<Option<RawKind>, TreeError> {
        if let Some((kind, _)) = self.entries.get(path) {
            return Ok(Some(*kind));
        }
        Ok(self.is_dir(path).then_some(RawKind::Dir))
    }

    fn read(&self, path: &str) -> Result<Arc<Vec<u8>>, TreeError> {
        self.entries
            .get(path)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| TreeError {
                path: path.to_string(),
                message: "no such file".into(),
            })
    }

    fn list(&self, dir: &str) -> Result<Vec<(String, RawKind)>, TreeError> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: BTreeMap<String, RawKind> = BTreeMap::new();
        for (path, (kind, _)) in self.entries.range(prefix.clone()..) {
            let Some(rest) = path.strip_prefix(&prefix) else {
                break;
            };
            match rest.split_once('/') {
                Some((name, _)) => {
                    out.insert(name.to_string(), RawKind::Dir);
                }
                None => {
                    out.insert(rest.to_string(), *kind);
                }
            }
        }
        Ok(out.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> MemTree {
        MemTree::new()
            .file("apps/base/deploy.yaml", "kind: Deployment")
            .file("apps/base/kustomization.yaml", "resources: [deploy.yaml]")
            .symlink("clusters/prod/base", "../../apps/base")
            .symlink("clusters/prod/loop", "loop")
            .symlink("clusters/prod/out", "../../../etc")
            .symlink("clusters/prod/abs", "/etc/passwd")
            .gitlink("vendor/lib")
    }

    #[test]
    fn symlinks_inside_are_followed_and_recorded() {
        let raw = tree();
        let t = Tree::new(&raw);
        assert_eq!(
            t.resolve("clusters/prod/base/deploy.yaml").unwrap(),
            Resolved::File("apps/base/deploy.yaml".into())
        );
        let reads = t.take_reads();
        assert!(reads.contains("clusters/prod/base"), "{reads:?}");
        assert!(reads.contains("apps/base/deploy.yaml"), "{reads:?}");
        assert!(!reads.contains("clusters"), "{reads:?}");
        assert!(t.take_reads().is_empty());
        assert_eq!(
            t.read("clusters/prod/./base/../base/deploy.yaml")
                .unwrap()
                .as_deref(),
            Some(&b"kind: Deployment".to_vec())
        );
    }

    #[test]
    fn links_out_loops_and_gitlinks_are_named() {
        let raw = tree();
        let t = Tree::new(&raw);
        assert!(matches!(
            t.resolve("clusters/prod/out/x").unwrap(),
            Resolved::Outside { .. }
        ));
        assert!(matches!(
            t.resolve("clusters/prod/abs").unwrap(),
            Resolved::Outside { .. }
        ));
        assert!(matches!(
            t.resolve("clusters/prod/loop").unwrap(),
            Resolved::Loop(_)
        ));
        assert_eq!(
            t.resolve("vendor/lib").unwrap(),
            Resolved::Gitlink("vendor/lib".into())
        );
        assert_eq!(
            t.resolve("../x").unwrap(),
            Resolved::Outside {
                link: "../x".into(),
                target: "../x".into()
            }
        );
        assert_eq!(t.resolve("nope").unwrap(), Resolved::Missing);
        t.take_reads();
        let listed = t.list("clusters/prod").unwrap().unwrap();
        assert_eq!(listed.len(), 4);
        assert!(t.take_reads().contains("clusters/prod/"));
    }

    #[test]
    fn join_relative_climbs_within_the_root() {
        assert_eq!(
            join_relative("clusters/prod", "../../apps/base").as_deref(),
            Some("apps/base")
        );
        assert_eq!(join_relative("a", "../../x"), None);
        assert_eq!(join_relative("", "./a/./b").as_deref(), Some("a/b"));
    }
}
