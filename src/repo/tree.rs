//! A commit's tree as the manifest renderer reads it.
//!
//! The renderer (`pushguard_manifest::render`) asks for paths, directory listings and file
//! bytes the way kustomize reads a checkout; this is that view over one commit's git tree,
//! without a checkout. Trees are read once per view, and blobs once per push (the cache is
//! shared by the views of the old and the new tip, which hold mostly the same files).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use gix::ObjectId;
use pushguard_manifest::render::{RawKind, RawTree, TreeError};

use super::diff::{Entries, TREE};
use super::{Repo, RepoError};
use crate::hook::Oid;

/// Blobs read for rendering, by id, shared across the views of one push.
pub type BlobCache = RefCell<HashMap<ObjectId, Arc<Vec<u8>>>>;

/// One commit's tree, read lazily.
pub struct GitTree<'r> {
    repo: &'r Repo,
    root: ObjectId,
    trees: RefCell<HashMap<ObjectId, Arc<Entries>>>,
    blobs: &'r BlobCache,
    /// The largest file read (`[limits] max_manifest_bytes`), checked on the object header.
    max_file: u64,
}

fn tree_error(path: &str, e: RepoError) -> TreeError {
    TreeError {
        path: path.to_string(),
        message: anyhow_like(&e),
    }
}

/// The error and its sources on one line.
fn anyhow_like(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

impl<'r> GitTree<'r> {
    /// The tree of `commit`; files over `max_file` bytes are refused from their header.
    pub fn new(
        repo: &'r Repo,
        commit: &Oid,
        blobs: &'r BlobCache,
        max_file: u64,
    ) -> Result<Self, RepoError> {
        Ok(GitTree {
            repo,
            root: repo.tree_of(commit)?,
            trees: RefCell::new(HashMap::new()),
            blobs,
            max_file,
        })
    }

    fn entries(&self, id: ObjectId, path: &str) -> Result<Arc<Entries>, TreeError> {
        if let Some(e) = self.trees.borrow().get(&id) {
            return Ok(e.clone());
        }
        let entries = self
            .repo
            .tree_entries(id, path)
            .map_err(|e| tree_error(path, e))?;
        self.trees.borrow_mut().insert(id, entries.clone());
        Ok(entries)
    }

    /// The entry at `path`: `(mode, id)`, or None. The root is a tree. Symlinks are not
    /// followed: this is what the tree itself holds at that path.
    pub fn entry(&self, path: &str) -> Result<Option<(u16, ObjectId)>, TreeError> {
        let mut current = (TREE, self.root);
        let mut at = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if current.0 != TREE {
                return Ok(None);
            }
            let entries = self.entries(current.1, &at)?;
            let Some(&next) = entries.get(part.as_bytes()) else {
                return Ok(None);
            };
            current = next;
            if !at.is_empty() {
                at.push('/');
            }
            at.push_str(part);
        }
        Ok(Some(current))
    }
}

fn kind_of(mode: u16) -> RawKind {
    match mode {
        TREE => RawKind::Dir,
        0o120000 => RawKind::Symlink,
        0o160000 => RawKind::Gitlink,
        _ => RawKind::File,
    }
}

impl RawTree for GitTree<'_> {
    fn lookup(&self, path: &str) -> Result<Option<RawKind>, TreeError> {
        Ok(self.entry(path)?.map(|(mode, _)| kind_of(mode)))
    }

    fn read(&self, path: &str) -> Result<Arc<Vec<u8>>, TreeError> {
        let Some((mode, id)) = self.entry(path)? else {
            return Err(TreeError {
                path: path.to_string(),
                message: "no such file in the tree".into(),
            });
        };
        if mode == TREE || mode == 0o160000 {
            return Err(TreeError {
                path: path.to_string(),
                message: "not a file".into(),
            });
        }
        if let Some(bytes) = self.blobs.borrow().get(&id) {
            return Ok(bytes.clone());
        }
        let size = self
            .repo
            .size_of(&Oid::from(id))
            .map_err(|e| tree_error(path, e.at_path(path)))?;
        if size > self.max_file {
            return Err(TreeError {
                path: path.to_string(),
                message: format!(
                    "the file is {size} bytes, more than the limit of {} bytes (`[limits] max_manifest_bytes`): not read",
                    self.max_file
                ),
            });
        }
        let bytes = Arc::new(
            self.repo
                .blob(&Oid::from(id))
                .map_err(|e| tree_error(path, e.at_path(path)))?,
        );
        self.blobs.borrow_mut().insert(id, bytes.clone());
        Ok(bytes)
    }

    fn list(&self, dir: &str) -> Result<Vec<(String, RawKind)>, TreeError> {
        let Some((TREE, id)) = self.entry(dir)? else {
            return Err(TreeError {
                path: dir.to_string(),
                message: "not a directory".into(),
            });
        };
        let entries = self.entries(id, dir)?;
        let mut out = Vec::with_capacity(entries.len());
        for (name, &(mode, _)) in entries.iter() {
            let name = std::str::from_utf8(name).map_err(|_| TreeError {
                path: dir.to_string(),
                message: format!(
                    "the entry name {:?} is not UTF-8",
                    String::from_utf8_lossy(name)
                ),
            })?;
            out.push((name.to_string(), kind_of(mode)));
        }
        Ok(out)
    }
}
