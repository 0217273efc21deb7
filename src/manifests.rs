//! Manifest facts: what each `[[manifests]]` block finds in the Kubernetes objects a commit, or
//! a whole update, changes.
//!
//! Two stages, so judging never runs while the repository is read:
//! - [`read`] (repository stage): for a list of changes, the files that match a block's `match`
//!   globs (old and new side, so a file moved out of a watched directory is still seen), with
//!   their blobs read once into a shared map;
//! - [`judge`] (pure): hands them to `pushguard-manifest` in one call per block, which pairs
//!   objects across files (a moved object is not a removal plus an addition) and reports only
//!   what the change introduced.
//!
//! A symlink under a manifest glob that leaves the repository is a finding too: Flux and Argo CD
//! would read whatever it points at on the server.

use std::collections::HashMap;

use pushguard_manifest::{ChangeKind, FileChange as MChange, FileVersion, Finding, Limits};

use crate::facts::{Entry, FileChange, FileMode, ManifestFinding};
use crate::hook::Oid;
use crate::policy::eval::resolve_link;
use crate::policy::Policy;
use crate::repo::{Repo, RepoError};

/// One side of a changed file: its path and blob, when it is a regular file.
type Side = Option<(String, Oid)>;

/// What one block must judge in one change set.
#[derive(Clone, Debug, Default)]
pub struct BlockInput {
    pub block: usize,
    pub files: Vec<(Side, Side)>,
    /// Findings that need no parsing (a symlink leaving the repository).
    pub findings: Vec<ManifestFinding>,
}

/// Blobs read for manifests, by id (each read once per push).
pub type Blobs = HashMap<Oid, Vec<u8>>;

/// Selects, for each block, the changed files it judges, and reads their blobs.
pub fn read(
    repo: &Repo,
    policy: &Policy,
    changes: &[FileChange],
    blocks: &[usize],
    blobs: &mut Blobs,
) -> Result<Vec<BlockInput>, RepoError> {
    let mut out = Vec::new();
    for &index in blocks {
        let Some(block) = policy.manifests.get(index) else {
            continue;
        };
        let mut input = BlockInput {
            block: index,
            ..BlockInput::default()
        };
        for ch in changes {
            let matches = |e: &Option<Entry>| e.is_some() && block.files.is_match(&ch.path);
            if !(matches(&ch.old) || matches(&ch.new)) {
                continue;
            }
            if let (
                Some(Entry {
                    mode: FileMode::Symlink,
                    ..
                }),
                Some(target),
            ) = (&ch.new, &ch.new_link)
            {
                if resolve_link(&ch.path, target).is_none() {
                    input.findings.push(ManifestFinding {
                        block: index,
                        finding: Finding {
                            rule: "manifest-symlink".into(),
                            path: ch.path.clone(),
                            line: 1,
                            column: 1,
                            object: None,
                            container: None,
                            message: format!("{} is a symlink to {target:?}, outside the repository, where manifests are read", ch.path),
                            fix: "commit the manifest itself, not a link to a file on the server".into(),
                            change: ChangeKind::Added,
                        },
                    });
                }
            }
            for e in [&ch.old, &ch.new].into_iter().flatten() {
                if matches!(e.mode, FileMode::File | FileMode::Executable)
                    && !blobs.contains_key(&e.id)
                {
                    let bytes = repo.blob(&e.id).map_err(|err| err.at_path(&ch.path))?;
                    blobs.insert(e.id.clone(), bytes);
                }
            }
            let version = |e: &Option<Entry>| -> Side {
                match e {
                    Some(e) if matches!(e.mode, FileMode::File | FileMode::Executable) => {
                        Some((ch.path.clone(), e.id.clone()))
                    }
                    _ => None,
                }
            };
            input.files.push((version(&ch.old), version(&ch.new)));
        }
        if !input.files.is_empty() || !input.findings.is_empty() {
            out.push(input);
        }
    }
    Ok(out)
}

/// Judges what [`read`] selected. Pure: no repository, the day is given.
pub fn judge(
    policy: &Policy,
    inputs: &[BlockInput],
    blobs: &Blobs,
    today: i64,
) -> Vec<ManifestFinding> {
    let mut out = Vec::new();
    for input in inputs {
        out.extend(input.findings.iter().cloned());
        let Some(block) = policy.manifests.get(input.block) else {
            continue;
        };
        if input.files.is_empty() {
            continue;
        }
        let changes: Vec<MChange<'_>> = input
            .files
            .iter()
            .map(|(old, new)| MChange {
                old: side(old, blobs),
                new: side(new, blobs),
            })
            .collect();
        for finding in
            pushguard_manifest::judge(&changes, &block.settings, &Limits::default(), today)
        {
            out.push(ManifestFinding {
                block: input.block,
                finding,
            });
        }
    }
    out
}

fn side<'a>(v: &'a Side, blobs: &'a Blobs) -> Option<FileVersion<'a>> {
    let (path, id) = v.as_ref()?;
    Some(FileVersion {
        path: path.as_str(),
        bytes: blobs.get(id).map(|b| b.as_slice()).unwrap_or(&[]),
    })
}
