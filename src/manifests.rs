//! Manifest facts: what each `[[manifests]]` block finds in the Kubernetes objects a commit
//! changes.
//!
//! For every new commit, the changed files that match a block's `match` globs (old and new
//! side, so a file moved out of a watched directory is still seen) are read and handed to
//! `pushguard-manifest` in one call, which pairs objects across files (a moved object is not a
//! removal plus an addition) and reports only what this commit introduced. A symlink under a
//! manifest glob that leaves the repository is a finding too: Flux and Argo CD would read
//! whatever it points at on the server.

use std::collections::{BTreeSet, HashMap};

use pushguard_manifest::{ChangeKind, FileChange as MChange, FileVersion, Finding, Limits};

use crate::facts::{CommitFacts, Entry, FileMode, ManifestFinding};
use crate::hook::Oid;
use crate::policy::eval::resolve_link;
use crate::policy::Policy;
use crate::repo::{Repo, RepoError};

/// One side of a changed file: its path and blob, when it is a regular file.
type Side = Option<(String, Oid)>;

/// Judges one commit for the given blocks.
pub fn findings(
    repo: &Repo,
    policy: &Policy,
    commit: &CommitFacts,
    blocks: &BTreeSet<usize>,
    today: i64,
) -> Result<Vec<ManifestFinding>, RepoError> {
    let mut blobs: HashMap<Oid, Vec<u8>> = HashMap::new();
    let mut out = Vec::new();
    for &index in blocks {
        let Some(block) = policy.manifests.get(index) else {
            continue;
        };
        let mut selected = Vec::new();
        for ch in &commit.changes {
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
                    out.push(ManifestFinding {
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
                    blobs.insert(e.id.clone(), repo.blob(&e.id)?);
                }
            }
            selected.push(ch);
        }
        if selected.is_empty() {
            continue;
        }
        let version = |e: &Option<Entry>, path: &'_ str| -> Side {
            match e {
                Some(e) if matches!(e.mode, FileMode::File | FileMode::Executable) => {
                    Some((path.to_string(), e.id.clone()))
                }
                _ => None,
            }
        };
        let pairs: Vec<(Side, Side)> = selected
            .iter()
            .map(|ch| (version(&ch.old, &ch.path), version(&ch.new, &ch.path)))
            .collect();
        let changes: Vec<MChange<'_>> = pairs
            .iter()
            .map(|(old, new)| MChange {
                old: side(old, &blobs),
                new: side(new, &blobs),
            })
            .collect();
        for finding in
            pushguard_manifest::judge(&changes, &block.settings, &Limits::default(), today)
        {
            out.push(ManifestFinding {
                block: index,
                finding,
            });
        }
    }
    Ok(out)
}

fn side<'a>(
    v: &'a Option<(String, Oid)>,
    blobs: &'a HashMap<Oid, Vec<u8>>,
) -> Option<FileVersion<'a>> {
    let (path, id) = v.as_ref()?;
    Some(FileVersion {
        path: path.as_str(),
        bytes: blobs.get(id).map(|b| b.as_slice()).unwrap_or(&[]),
    })
}
