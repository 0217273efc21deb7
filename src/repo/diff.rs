//! What a commit changes: the tree diff against its first parent (every path for a root commit).
//!
//! Our own recursive diff rather than gix's: it needs no extra gix features, it reports exactly
//! what path rules need (file modes, symlinks, gitlinks, type changes) and nothing they do not
//! (no rename guessing: a rename is a deletion of the old path and an addition of the new one,
//! so both paths are judged), and it does not trust the pushed trees to be sorted: entries are
//! matched by name, and a tree with two entries of one name is an error, not a guess.

use std::collections::BTreeMap;

use gix::ObjectId;
use serde::Serialize;

use super::{Repo, RepoError};
use crate::facts::{Entry, FileMode};
use crate::hook::Oid;

/// A mode as git writes it, in the few kinds path rules tell apart.
fn mode_from_raw(mode: u16) -> Option<FileMode> {
    match mode {
        0o100644 | 0o100664 | 0o100600 => Some(FileMode::File),
        0o100755 => Some(FileMode::Executable),
        0o120000 => Some(FileMode::Symlink),
        0o160000 => Some(FileMode::Gitlink),
        _ => None,
    }
}

/// A path whose content, mode or existence differs between the parent and the commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub path: String,
    pub old: Option<Entry>,
    pub new: Option<Entry>,
}

pub(crate) const TREE: u16 = 0o040000;

pub type Entries = BTreeMap<Vec<u8>, (u16, ObjectId)>;

/// Trees parsed lately, by id, up to [`TREE_CACHE_BYTES`] of tree objects: consecutive
/// commits share most of their trees (a commit's tree is the next commit's parent tree), and a
/// wide directory re-read for every commit of a long push is most of its cost.
#[derive(Debug, Default)]
pub(crate) struct TreeCache {
    trees: std::collections::HashMap<ObjectId, (std::sync::Arc<Entries>, u64)>,
    order: std::collections::VecDeque<ObjectId>,
    bytes: u64,
}

/// How many bytes of tree objects [`TreeCache`] keeps (the parsed form takes a few times more).
const TREE_CACHE_BYTES: u64 = 16 << 20;

impl TreeCache {
    fn get(&self, id: &ObjectId) -> Option<std::sync::Arc<Entries>> {
        self.trees.get(id).map(|(e, _)| e.clone())
    }

    fn insert(&mut self, id: ObjectId, entries: std::sync::Arc<Entries>, size: u64) {
        if size > TREE_CACHE_BYTES || self.trees.contains_key(&id) {
            return;
        }
        while self.bytes + size > TREE_CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, n)) = self.trees.remove(&old) {
                self.bytes -= n;
            }
        }
        self.trees.insert(id, (entries, size));
        self.order.push_back(id);
        self.bytes += size;
    }

    pub(crate) fn clear(&mut self) {
        *self = TreeCache::default();
    }
}

impl Repo {
    pub(crate) fn tree_entries(
        &self,
        id: ObjectId,
        path: &str,
    ) -> Result<std::sync::Arc<Entries>, RepoError> {
        let cache = |f: &mut dyn FnMut(&mut TreeCache)| {
            if let Ok(mut c) = self.trees.lock() {
                f(&mut c);
            }
        };
        let mut hit = None;
        cache(&mut |c| hit = c.get(&id));
        if let Some(entries) = hit {
            return Ok(entries);
        }
        let (kind, data) = self.read(
            id,
            &format!("tree {}", if path.is_empty() { "/" } else { path }),
        )?;
        if kind != gix::object::Kind::Tree {
            return Err(RepoError::WrongKind {
                id: id.to_string(),
                found: kind.to_string(),
                expected: "tree",
            });
        }
        // git's fsck rules on every tree a rule reads: no `.git` in any spelling, no `.`/`..`,
        // no `/` or NUL, no control characters (unless allowed), sorted, no duplicate names.
        let entries = pushguard_fsck::check_tree_with(&data, self.fsck_hash(), self.tree_options)
            .map_err(|e| RepoError::Malformed {
            id: id.to_string(),
            context: format!("tree {}", if path.is_empty() { "/" } else { path }),
            message: e.to_string(),
        })?;
        // Collected, then built in one go: git's order is nearly bytewise (a directory sorts as
        // `name/`), so the sort is a pass, and a bulk build costs a fraction of inserts.
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let mode = match e.mode {
                pushguard_fsck::EntryMode::File => 0o100644,
                pushguard_fsck::EntryMode::Executable => 0o100755,
                pushguard_fsck::EntryMode::Symlink => 0o120000,
                pushguard_fsck::EntryMode::Tree => TREE,
                pushguard_fsck::EntryMode::Submodule => 0o160000,
            };
            let oid = ObjectId::try_from(e.oid).map_err(|err| RepoError::Malformed {
                id: id.to_string(),
                context: format!("tree {path}"),
                message: format!("malformed tree: entry id: {err}"),
            })?;
            out.push((e.name.to_vec(), (mode, oid)));
        }
        let shared = std::sync::Arc::new(Entries::from_iter(out));
        let size = data.len() as u64;
        cache(&mut |c| c.insert(id, shared.clone(), size));
        Ok(shared)
    }

    /// The changes a commit makes to its first parent (or to nothing, for a root commit).
    pub fn changes(
        &self,
        commit: &Oid,
        first_parent: Option<&Oid>,
    ) -> Result<Vec<Change>, RepoError> {
        let new_tree = self.tree_of(commit)?;
        let old_tree = match first_parent {
            Some(p) => Some(self.tree_of(p)?),
            None => None,
        };
        let mut out = Vec::new();
        self.diff_trees(old_tree, Some(new_tree), "", &mut out)?;
        Ok(out)
    }

    /// The changes between two commits' trees (`None`: the empty tree): the net effect of an
    /// update, whatever lies between.
    pub fn changes_between(&self, base: Option<&Oid>, tip: &Oid) -> Result<Vec<Change>, RepoError> {
        self.changes(tip, base)
    }

    /// What a commit's tree holds at `path`: `(mode, id)` of the entry (a tree's mode is
    /// 040000), or None. `trees` caches tree objects across calls.
    pub fn entry_at(
        &self,
        commit: &Oid,
        path: &str,
        trees: &mut std::collections::HashMap<ObjectId, std::sync::Arc<Entries>>,
    ) -> Result<Option<(u16, Oid)>, RepoError> {
        let mut current = self.tree_of(commit)?;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            let entries = match trees.entry(current) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(self.tree_entries(current, path)?)
                }
            };
            let Some(&(mode, id)) = entries.get(part.as_bytes()) else {
                return Ok(None);
            };
            if parts.peek().is_none() {
                return Ok(Some((mode, Oid::from(id))));
            }
            if mode != TREE {
                return Ok(None);
            }
            current = id;
        }
        Ok(None)
    }

    /// Every symlink at or below `prefix` (a path; empty for the whole tree) in a commit's
    /// tree, with its blob. Reads at most `budget` entries, and says so rather than stop short.
    pub fn symlinks_under(
        &self,
        commit: &Oid,
        prefix: &str,
        budget: usize,
        trees: &mut std::collections::HashMap<ObjectId, std::sync::Arc<Entries>>,
    ) -> Result<Vec<(String, Oid)>, RepoError> {
        Ok(self
            .entries_under(commit, prefix, budget, trees)?
            .into_iter()
            .filter(|(_, mode, _)| *mode == 0o120000)
            .map(|(path, _, id)| (path, id))
            .collect())
    }

    /// Every entry (files, symlinks, gitlinks and directories) at or below `prefix` in a
    /// commit's tree: `(path, mode, id)`. Reads at most `budget` entries.
    pub fn entries_under(
        &self,
        commit: &Oid,
        prefix: &str,
        budget: usize,
        trees: &mut std::collections::HashMap<ObjectId, std::sync::Arc<Entries>>,
    ) -> Result<Vec<(String, u16, Oid)>, RepoError> {
        let mut out = Vec::new();
        let mut stack: Vec<(String, ObjectId)> = Vec::new();
        if prefix.is_empty() {
            stack.push((String::new(), self.tree_of(commit)?));
        } else {
            match self.entry_at(commit, prefix, trees)? {
                Some((TREE, id)) => {
                    out.push((prefix.to_string(), TREE, id.clone()));
                    stack.push((prefix.to_string(), self.oid(&id)?));
                }
                Some((mode, id)) => out.push((prefix.to_string(), mode, id)),
                None => {}
            }
        }
        let mut seen = 0usize;
        while let Some((dir, id)) = stack.pop() {
            let entries = match trees.entry(id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(self.tree_entries(id, &dir)?)
                }
            };
            seen += entries.len();
            if seen > budget {
                return Err(RepoError::Object {
                    id: id.to_string(),
                    context: format!("tree {dir}"),
                    message: format!(
                        "more than {budget} entries below a protected path: too many to look for symlinks"
                    ),
                });
            }
            for (name, &(mode, child)) in entries.iter() {
                let name = String::from_utf8_lossy(name);
                let path = if dir.is_empty() {
                    name.into_owned()
                } else {
                    format!("{dir}/{name}")
                };
                if mode == TREE {
                    stack.push((path.clone(), child));
                }
                out.push((path, mode, Oid::from(child)));
            }
        }
        Ok(out)
    }

    pub(crate) fn tree_of(&self, commit: &Oid) -> Result<ObjectId, RepoError> {
        let oid = self.oid(commit)?;
        let (kind, data) = self.read(oid, "commit")?;
        if kind != gix::object::Kind::Commit {
            return Err(RepoError::WrongKind {
                id: commit.to_string(),
                found: kind.to_string(),
                expected: "commit",
            });
        }
        let c = gix::objs::CommitRef::from_bytes(&data, self.repo.object_hash()).map_err(|e| {
            RepoError::BadCommit {
                id: commit.to_string(),
                message: e.to_string(),
            }
        })?;
        Ok(c.tree())
    }

    fn diff_trees(
        &self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        prefix: &str,
        out: &mut Vec<Change>,
    ) -> Result<(), RepoError> {
        if old == new {
            return Ok(());
        }
        let old_entries = match old {
            Some(id) => self.tree_entries(id, prefix)?,
            None => Default::default(),
        };
        let new_entries = match new {
            Some(id) => self.tree_entries(id, prefix)?,
            None => Default::default(),
        };
        // Both listings are sorted by name: walk them side by side.
        let mut olds = old_entries.iter().peekable();
        let mut news = new_entries.iter().peekable();
        loop {
            let order = match (olds.peek(), news.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some((a, _)), Some((b, _))) => a.cmp(b),
            };
            let (name, o, n) = match order {
                std::cmp::Ordering::Less => match olds.next() {
                    Some((k, v)) => (k, Some(*v), None),
                    None => break,
                },
                std::cmp::Ordering::Greater => match news.next() {
                    Some((k, v)) => (k, None, Some(*v)),
                    None => break,
                },
                std::cmp::Ordering::Equal => match (olds.next(), news.next()) {
                    (Some((k, o)), Some((_, n))) => (k, Some(*o), Some(*n)),
                    _ => break,
                },
            };
            if o == n {
                continue;
            }
            let name_str = std::str::from_utf8(name).map_err(|_| RepoError::Object {
                id: new.or(old).map(|i| i.to_string()).unwrap_or_default(),
                context: format!("tree {prefix}"),
                message: format!(
                    "the entry name {:?} is not UTF-8",
                    String::from_utf8_lossy(name)
                ),
            })?;
            let path = if prefix.is_empty() {
                name_str.to_string()
            } else {
                format!("{prefix}/{name_str}")
            };
            let (o_tree, o_file) = split(o);
            let (n_tree, n_file) = split(n);
            if o_tree.is_some() || n_tree.is_some() {
                self.diff_trees(o_tree, n_tree, &path, out)?;
            }
            let o_file = o_file.map(|m| file_entry(m, &path)).transpose()?;
            let n_file = n_file.map(|m| file_entry(m, &path)).transpose()?;
            if o_file.is_some() || n_file.is_some() {
                if o_file == n_file {
                    continue;
                }
                out.push(Change {
                    path,
                    old: o_file,
                    new: n_file,
                });
            }
        }
        Ok(())
    }

    /// A blob's bytes (for manifests and symlink targets).
    pub fn blob(&self, id: &Oid) -> Result<Vec<u8>, RepoError> {
        let oid = self.oid(id)?;
        let (kind, data) = self.read(oid, "blob")?;
        if kind != gix::object::Kind::Blob {
            return Err(RepoError::WrongKind {
                id: id.to_string(),
                found: kind.to_string(),
                expected: "blob",
            });
        }
        Ok(data)
    }
}

/// Splits an entry into its tree part or its file part.
fn split(e: Option<(u16, ObjectId)>) -> (Option<ObjectId>, Option<(u16, ObjectId)>) {
    match e {
        Some((TREE, id)) => (Some(id), None),
        Some(other) => (None, Some(other)),
        None => (None, None),
    }
}

fn file_entry((mode, id): (u16, ObjectId), path: &str) -> Result<Entry, RepoError> {
    let mode = mode_from_raw(mode).ok_or_else(|| RepoError::Object {
        id: id.to_string(),
        context: format!("tree entry {path}"),
        message: format!("unknown file mode {mode:o}"),
    })?;
    Ok(Entry {
        mode,
        id: Oid::from(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    #[test]
    fn the_tree_cache_keeps_the_latest_trees_within_its_bytes() {
        let id = |n: u8| ObjectId::from_bytes_or_panic(&[n; 20]);
        let mut c = TreeCache::default();
        let third = TREE_CACHE_BYTES / 3 + 1;
        for n in 0..3 {
            c.insert(id(n), std::sync::Arc::new(Entries::new()), third);
        }
        assert!(c.get(&id(0)).is_none(), "the oldest is dropped");
        assert!(c.get(&id(1)).is_some() && c.get(&id(2)).is_some());
        assert!(c.bytes <= TREE_CACHE_BYTES);
        c.insert(
            id(9),
            std::sync::Arc::new(Entries::new()),
            TREE_CACHE_BYTES + 1,
        );
        assert!(
            c.get(&id(9)).is_none(),
            "a tree larger than the cache is not kept"
        );
        c.clear();
        assert!(c.get(&id(2)).is_none());
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        let o = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Our changes against `git diff-tree -r --no-renames --raw`, for every commit of a history
    /// made of adds, deletes, modifications, renames, chmod, symlinks, a submodule, and files
    /// turning into directories and back.
    #[test]
    fn changes_match_git_diff_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        git(d, &["init", "-q", "--initial-branch=main", "."]);
        let w = |p: &str, c: &str| {
            let p = d.join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        };
        let commit = |m: &str| {
            git(d, &["add", "-A"]);
            git(d, &["commit", "-q", "--allow-empty", "-m", m]);
        };
        w("clusters/prod/app.yaml", "a");
        w("apps/x.yaml", "x");
        w("README", "r");
        commit("root");
        w("clusters/prod/app.yaml", "b");
        git(d, &["mv", "apps/x.yaml", "apps/y.yaml"]);
        commit("modify and rename");
        git(d, &["update-index", "--chmod=+x", "README"]);
        std::os::unix::fs::symlink("../clusters/prod", d.join("apps/link")).unwrap();
        commit("chmod and symlink");
        std::fs::remove_file(d.join("README")).unwrap();
        w("README/inside", "now a directory");
        let sub = git(d, &["rev-parse", "HEAD"]);
        git(
            d,
            &[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("160000,{sub},vendor/sub"),
            ],
        );
        commit("file to directory, gitlink");
        std::fs::remove_dir_all(d.join("README")).unwrap();
        w("README", "file again");
        std::fs::remove_dir_all(d.join("clusters")).unwrap();
        commit("directory to file, delete a tree");

        let repo = Repo::open(&d.join(".git"), None).unwrap();
        let commits = git(d, &["rev-list", "--reverse", "HEAD"]);
        let mut checked = 0;
        for (i, c) in commits.lines().enumerate() {
            let id = Oid::parse(c).unwrap();
            let parent = (i > 0).then(|| Oid::parse(commits.lines().nth(i - 1).unwrap()).unwrap());
            let ours: Vec<String> = repo
                .changes(&id, parent.as_ref())
                .unwrap()
                .into_iter()
                .map(|ch| {
                    let side = |e: &Option<Entry>, zero: &str| match e {
                        Some(e) => (e.mode.octal().to_string(), e.id.to_string()),
                        None => ("000000".to_string(), zero.to_string()),
                    };
                    let z = "0".repeat(40);
                    let (om, oi) = side(&ch.old, &z);
                    let (nm, ni) = side(&ch.new, &z);
                    format!("{om} {nm} {oi} {ni} {}", ch.path)
                })
                .collect();
            let mut ours = ours;
            ours.sort();
            let raw = if i == 0 {
                git(
                    d,
                    &[
                        "diff-tree",
                        "-r",
                        "--root",
                        "--no-renames",
                        "--raw",
                        "--no-abbrev",
                        "--no-commit-id",
                        c,
                    ],
                )
            } else {
                git(
                    d,
                    &[
                        "diff-tree",
                        "-r",
                        "--no-renames",
                        "--raw",
                        "--no-abbrev",
                        "--no-commit-id",
                        c,
                    ],
                )
            };
            let mut theirs: Vec<String> = raw
                .lines()
                .map(|l| {
                    let (meta, path) = l.split_once('\t').unwrap();
                    let f: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
                    format!("{} {} {} {} {path}", f[0], f[1], f[2], f[3])
                })
                .collect();
            theirs.sort();
            assert_eq!(ours, theirs, "commit {i}");
            checked += ours.len();
        }
        assert!(
            checked >= 12,
            "the history exercises many kinds of change ({checked})"
        );
    }
}
