//! The decision pipeline, shared by `pre-receive` and `check`:
//! ref updates → classification and new commits → facts per commit → evaluation.
//!
//! Which commits are judged for a ref (see `docs/policy.md#which-commits`):
//! - an update judges every commit reachable from the new tip and not from the ref's old tip,
//!   even if another ref already has it: a commit accepted on a weaker branch is judged again
//!   when it reaches a protected one;
//! - a created ref judges every commit reachable from its tip and from no existing ref that the
//!   same or stricter commit rules protect;
//! - a delete judges no commit (the ref rules decide whether it may happen).

use std::collections::HashMap;

use crate::facts::{
    Entry, FileChange, FileMode, PushFacts, SignatureFacts, TargetKind, UpdateFacts, UpdateKind,
};
use crate::hook::host::HostEnv;
use crate::hook::{Oid, RefUpdate};
use crate::policy::Policy;
use crate::repo::{Repo, RepoError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{ref_name}: {source}")]
    Repo {
        ref_name: String,
        #[source]
        source: RepoError,
    },
    #[error("commit {commit}: {source}")]
    Commit {
        commit: String,
        #[source]
        source: RepoError,
    },
    #[error("{ref_name}: the push uses {found}-digit ids but the repository uses {expected}")]
    HashKind {
        ref_name: String,
        found: usize,
        expected: usize,
    },
}

/// What the caller knows beyond the updates: the time to verify at, and a signed push's
/// certificate (`GIT_PUSH_CERT`, `GIT_PUSH_CERT_NONCE_STATUS`).
#[derive(Clone, Debug)]
pub struct Context {
    pub now: std::time::SystemTime,
    pub push_cert: Option<Oid>,
    pub push_cert_nonce_status: Option<String>,
}

impl Context {
    pub fn now() -> Context {
        Context {
            now: std::time::SystemTime::now(),
            push_cert: None,
            push_cert_nonce_status: None,
        }
    }
}

/// Gathers the facts for a set of ref updates.
pub fn gather(
    repo: &Repo,
    policy: &Policy,
    updates: &[RefUpdate],
    host: HostEnv,
    ctx: &Context,
) -> Result<PushFacts, EngineError> {
    let mut tips: Option<Vec<(String, Oid)>> = None;
    let mut out = Vec::with_capacity(updates.len());
    let mut commits = HashMap::new();
    // Commit objects the walks already read, so each is read once.
    let mut prefetched: HashMap<Oid, Vec<u8>> = HashMap::new();
    // Signatures are verified on every core while the rest of the push is read.
    let pool = policy.trust.as_ref().map(|trust| {
        let hash = if repo.hex_len() == 64 {
            pushguard_sign::ObjectHash::Sha256
        } else {
            pushguard_sign::ObjectHash::Sha1
        };
        crate::verify::Pool::new(trust, hash, &crate::verify::options(policy, ctx.now))
    });
    let mut to_verify: std::collections::BTreeSet<Oid> = std::collections::BTreeSet::new();
    for u in updates {
        let at = |source: RepoError| EngineError::Repo {
            ref_name: u.name.clone(),
            source,
        };
        for id in [&u.old, &u.new] {
            if id.as_str().len() != repo.hex_len() {
                return Err(EngineError::HashKind {
                    ref_name: u.name.clone(),
                    found: id.as_str().len(),
                    expected: repo.hex_len(),
                });
            }
        }
        let facts = if u.old == u.new {
            UpdateFacts {
                update: u.clone(),
                kind: UpdateKind::Unchanged,
                target: None,
                new_commits: vec![],
                lost_commits: 0,
                tag_signature: None,
                tip: None,
            }
        } else if u.is_delete() {
            UpdateFacts {
                update: u.clone(),
                kind: UpdateKind::Delete,
                target: None,
                new_commits: vec![],
                lost_commits: 0,
                tag_signature: None,
                tip: None,
            }
        } else {
            let (target, new_commit) = repo.target(&u.new).map_err(at)?;
            if u.is_create() {
                let all = match &tips {
                    Some(t) => t,
                    None => tips.insert(repo.ref_tips().map_err(at)?),
                };
                let wanted = policy.commit_rule_blocks(&u.name);
                let hidden: Vec<Oid> = all
                    .iter()
                    .filter(|(name, _)| {
                        *name != u.name && policy.commit_rule_blocks(name).is_superset(&wanted)
                    })
                    .map(|(_, id)| id.clone())
                    .collect();
                let new_commits = match &new_commit {
                    Some(c) => {
                        let (ids, objects) = repo
                            .walk_with_objects(std::slice::from_ref(c), &hidden)
                            .map_err(at)?;
                        prefetched.extend(objects);
                        ids
                    }
                    None => vec![],
                };
                UpdateFacts {
                    update: u.clone(),
                    kind: UpdateKind::Create,
                    target: Some(target),
                    new_commits,
                    lost_commits: 0,
                    tag_signature: None,
                    tip: new_commit,
                }
            } else {
                let (_, old_commit) = repo.target(&u.old).map_err(at)?;
                let (kind, lost, new_commits) = match (&old_commit, &new_commit) {
                    (Some(old), Some(new)) => {
                        let mut lost = repo
                            .walk(std::slice::from_ref(old), std::slice::from_ref(new))
                            .map_err(at)?
                            .len();
                        // Before a rule rejects a rewrite, make sure it is one.
                        let rule_cares = policy.ref_rules(&u.name).any(|r| !r.force_push);
                        if lost > 0 && rule_cares && repo.is_ancestor(old, new).map_err(at)? {
                            lost = 0;
                        }
                        let (new_commits, objects) = repo
                            .walk_with_objects(std::slice::from_ref(new), std::slice::from_ref(old))
                            .map_err(at)?;
                        prefetched.extend(objects);
                        let kind = if lost == 0 {
                            UpdateKind::FastForward
                        } else {
                            UpdateKind::NonFastForward
                        };
                        (kind, lost, new_commits)
                    }
                    // A ref moved to or from something that is not a commit (a tree, a blob):
                    // there is no history to fast-forward along.
                    (_, Some(new)) => (
                        UpdateKind::NonFastForward,
                        0,
                        repo.walk(std::slice::from_ref(new), &[]).map_err(at)?,
                    ),
                    (_, None) => (UpdateKind::NonFastForward, 0, vec![]),
                };
                // A tag that moves to a new tag object for the same commit is still a move.
                let kind = if kind == UpdateKind::FastForward
                    && target == TargetKind::Tag
                    && new_commits.is_empty()
                {
                    UpdateKind::NonFastForward
                } else {
                    kind
                };
                UpdateFacts {
                    update: u.clone(),
                    kind,
                    target: Some(target),
                    new_commits,
                    lost_commits: lost,
                    tag_signature: None,
                    tip: new_commit,
                }
            }
        };
        let want_signatures = policy.needs_signatures(&u.name);
        for id in &facts.new_commits {
            let mut raw = None;
            if !commits.contains_key(id) {
                let (c, data) = match prefetched.remove(id) {
                    Some(data) => repo.commit_from_raw(id, data),
                    None => repo.commit_and_raw(id),
                }
                .map_err(at)?;
                commits.insert(id.clone(), c);
                raw = Some(data);
            }
            if want_signatures && to_verify.insert(id.clone()) {
                if let (Some(pool), Some(c)) = (&pool, commits.get(id)) {
                    // Read again only for a commit an earlier, unsigned ref already brought.
                    let raw = match raw.take() {
                        Some(raw) => raw,
                        None => repo.raw(id).map_err(at)?,
                    };
                    pool.submit(crate::verify::Job {
                        id: id.clone(),
                        raw,
                        committer_time: c.committer.time,
                        committer_email: c.committer.email.clone(),
                    });
                }
            }
        }
        out.push(facts);
    }
    if let (Some(trust), Some(pool)) = (&policy.trust, pool) {
        let opts = crate::verify::options(policy, ctx.now);
        let mut verdicts = pool.finish();
        for id in &to_verify {
            if let Some(c) = commits.get_mut(id) {
                c.signature = Some(verdicts.remove(id).unwrap_or(SignatureFacts::Bad {
                    reason: "the commit could not be verified (internal error)".into(),
                }));
            }
        }
        for f in out.iter_mut() {
            let wants_tag = policy
                .ref_rules(&f.update.name)
                .any(|r| r.require_signed_tag);
            if wants_tag && f.target == Some(TargetKind::Tag) {
                let raw = repo
                    .raw(&f.update.new)
                    .map_err(|source| EngineError::Repo {
                        ref_name: f.update.name.clone(),
                        source,
                    })?;
                f.tag_signature = Some(crate::verify::tag(trust, &raw, &opts));
            }
        }
    }
    let wants_push_cert = updates
        .iter()
        .any(|u| policy.ref_rules(&u.name).any(|r| r.require_signed_push));
    let push_cert = match (&policy.trust, &ctx.push_cert, wants_push_cert) {
        (Some(trust), Some(blob), true) => {
            let bytes = repo.blob(blob).map_err(|source| EngineError::Repo {
                ref_name: "(push certificate)".into(),
                source,
            })?;
            let opts = crate::verify::options(policy, ctx.now);
            Some(crate::verify::push_cert(
                trust,
                &bytes,
                ctx.push_cert_nonce_status.clone(),
                updates,
                &opts,
            ))
        }
        _ => None,
    };
    if policy.needs_changes() {
        // Which manifest blocks judge each commit: those of every ref it is new on.
        let mut blocks: HashMap<Oid, std::collections::BTreeSet<usize>> = HashMap::new();
        for f in &out {
            for (i, _) in policy.manifest_blocks(&f.update.name) {
                for id in &f.new_commits {
                    blocks.entry(id.clone()).or_default().insert(i);
                }
            }
        }
        let today = ctx
            .now
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map_or(0, |d| (d.as_secs() / 86_400) as i64);
        for c in commits.values_mut() {
            c.changes = file_changes(repo, policy, &c.id, c.parents.first())?;
            if let Some(b) = blocks.get(&c.id) {
                c.manifest_findings = crate::manifests::findings(repo, policy, c, b, today)
                    .map_err(|source| EngineError::Commit {
                        commit: c.id.to_string(),
                        source,
                    })?;
            }
        }
    }
    Ok(PushFacts {
        updates: out,
        commits,
        host,
        push_cert,
    })
}

/// The changes of one commit, with the blob facts file rules need.
fn file_changes(
    repo: &Repo,
    policy: &Policy,
    id: &Oid,
    first_parent: Option<&Oid>,
) -> Result<Vec<FileChange>, EngineError> {
    let at = |source: RepoError| EngineError::Commit {
        commit: id.to_string(),
        source,
    };
    let read_content = policy.files.max_size.is_some() || policy.files.deny_private_keys;
    let mut out = Vec::new();
    for ch in repo.changes(id, first_parent).map_err(at)? {
        let link = |e: &Option<Entry>| -> Result<Option<String>, EngineError> {
            match e {
                Some(e) if e.mode == FileMode::Symlink => {
                    let bytes = repo.blob(&e.id).map_err(at)?;
                    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
                }
                _ => Ok(None),
            }
        };
        let old_link = link(&ch.old)?;
        let new_link = link(&ch.new)?;
        let (mut new_size, mut private_key) = (None, false);
        if let Some(e) = &ch.new {
            if read_content && matches!(e.mode, FileMode::File | FileMode::Executable) {
                let bytes = repo.blob(&e.id).map_err(at)?;
                new_size = Some(bytes.len() as u64);
                private_key = policy.files.deny_private_keys && has_private_key(&bytes);
            }
        }
        out.push(FileChange {
            path: ch.path,
            old: ch.old,
            new: ch.new,
            new_size,
            old_link,
            new_link,
            private_key,
        });
    }
    Ok(out)
}

/// A PEM private key block: `-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED ]PRIVATE KEY-----`.
pub fn has_private_key(bytes: &[u8]) -> bool {
    const END: &[u8] = b"PRIVATE KEY-----";
    let mut rest = bytes;
    while let Some(i) = find(rest, END) {
        let line_start = rest[..i]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        if find(&rest[line_start..i], b"-----BEGIN ").is_some() {
            return true;
        }
        rest = &rest[i + END.len()..];
    }
    false
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
