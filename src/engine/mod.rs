//! The decision pipeline, shared by `pre-receive` and `check`. Each stage only follows the
//! per-update [plan](crate::plan), and data flows one way:
//!
//! 1. [`plan`](crate::plan::plan): what each update must prove (pure);
//! 2. [`walk`]: classify each update and find the commits it must judge;
//! 3. read: each new commit object once, into [`CommitFacts`];
//! 4. [`crate::verify`]: signatures, on every core while the rest is read (a small push on the
//!    hook's own thread);
//! 5. [`diff`]: what each commit changes, what each whole update changes (its net effect), and
//!    who is answerable for each protected path of it;
//! 6. [`crate::manifests::judge`]: the Kubernetes objects those changes touch (pure);
//!
//! then [`crate::policy::eval`] judges the facts (pure).
//!
//! Which commits are judged for a ref (see `docs/policy.md#which-commits`):
//! - an update judges every commit reachable from the new tip and not from the ref's old tip,
//!   even if another ref already has it: a commit accepted on a weaker branch is judged again
//!   when it reaches a protected one;
//! - a created ref judges every commit reachable from its tip and from no existing ref whose
//!   plan covers every requirement of the new ref's plan (signers, path and manifest blocks);
//! - commits reachable from a `trusted_base` of the ref are taken as judged;
//! - a delete judges no commit (the ref rules decide whether it may happen).

mod diff;
mod discover;
mod render;
mod walk;

use std::collections::{BTreeSet, HashMap};

use crate::facts::{CommitFacts, PushFacts, SignatureFacts, TargetKind, UpdateFacts};
use crate::hook::host::HostEnv;
use crate::hook::{Oid, RefUpdate};
use crate::plan::UpdatePlan;
use crate::policy::Policy;
use crate::repo::{Repo, RepoError};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    // The source is printed by the error chain (`{:#}`), not repeated here.
    #[error("{ref_name}")]
    Repo {
        ref_name: String,
        #[source]
        source: RepoError,
    },
    #[error("commit {commit}")]
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

impl EngineError {
    /// The budget that stopped the gathering, and the ref it stopped at (`push.limits`).
    pub fn budget(&self) -> Option<(Option<&str>, crate::limits::Exceeded)> {
        match self {
            EngineError::Repo { ref_name, source } => {
                source.budget().map(|b| (Some(ref_name.as_str()), b))
            }
            EngineError::Commit { source, .. } => source.budget().map(|b| (None, b)),
            EngineError::HashKind { .. } => None,
        }
    }
}

/// What the caller knows beyond the updates: the time to verify at, and a signed push's
/// certificate (`GIT_PUSH_CERT`, `GIT_PUSH_CERT_NONCE_STATUS`).
#[derive(Clone, Debug)]
pub struct Context {
    pub now: std::time::SystemTime,
    pub push_cert: Option<Oid>,
    pub push_cert_nonce_status: Option<String>,
    /// The process ends once this push is decided (the hook, `check`): the push's parsed
    /// manifests and rendered roots are then left to the exit instead of being freed one node
    /// at a time, which costs a large push about a tenth of its time.
    pub exits_after: bool,
}

impl Context {
    pub fn now() -> Context {
        Context {
            now: std::time::SystemTime::now(),
            push_cert: None,
            push_cert_nonce_status: None,
            exits_after: false,
        }
    }

    /// Days since 1970-01-01 (exception expiry).
    fn today(&self) -> i64 {
        self.now
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map_or(0, |d| (d.as_secs() / 86_400) as i64)
    }
}

fn at_ref(name: &str) -> impl Fn(RepoError) -> EngineError + '_ {
    move |source| EngineError::Repo {
        ref_name: name.to_string(),
        source,
    }
}

/// Gathers the facts for a set of ref updates, stage by stage.
pub fn gather(
    repo: &Repo,
    policy: &Policy,
    updates: &[RefUpdate],
    host: HostEnv,
    ctx: &Context,
) -> Result<PushFacts, EngineError> {
    for u in updates {
        for id in [&u.old, &u.new] {
            if id.as_str().len() != repo.hex_len() {
                return Err(EngineError::HashKind {
                    ref_name: u.name.clone(),
                    found: id.as_str().len(),
                    expected: repo.hex_len(),
                });
            }
        }
    }
    let plans: Vec<UpdatePlan> = updates
        .iter()
        .map(|u| crate::plan::plan(policy, &u.name, host.internal))
        .collect();

    // Walk: which commits each update must judge.
    let mut walker = walk::Walker::new(repo, policy);
    let mut out = Vec::with_capacity(updates.len());
    for (u, plan) in updates.iter().zip(&plans) {
        out.push(walker.update(u, plan)?);
    }
    let mut prefetched = walker.into_objects();

    // Read each commit once; verify signatures while the rest is read (on every core for a
    // large push, see `verify::INLINE_MAX`).
    let mut pool = policy.trust.as_ref().map(|trust| {
        let hash = if repo.hex_len() == 64 {
            pushguard_sign::ObjectHash::Sha256
        } else {
            pushguard_sign::ObjectHash::Sha1
        };
        crate::verify::Pool::new(trust, hash, &crate::verify::options(policy, ctx.now))
    });
    let mut commits: HashMap<Oid, CommitFacts> = HashMap::new();
    let mut to_verify: BTreeSet<Oid> = BTreeSet::new();
    for (f, plan) in out.iter().zip(&plans) {
        let at = at_ref(&f.update.name);
        // The tip is read even when it is not new (a ref moved back to an old commit): the net
        // effect's rules name it, and it answers for what it brings back.
        let tip = f
            .tip
            .iter()
            .filter(|t| plan.net_effect && !f.new_commits.contains(t));
        for id in f.new_commits.iter().chain(tip) {
            let mut raw = None;
            if !commits.contains_key(id) {
                let (c, data) = match prefetched.remove(id) {
                    Some(data) => repo.commit_from_raw(id, data),
                    None => repo.commit_and_raw(id),
                }
                .map_err(&at)?;
                commits.insert(id.clone(), c);
                raw = Some(data);
            }
            if plan.signatures && to_verify.insert(id.clone()) {
                if let (Some(pool), Some(c)) = (pool.as_mut(), commits.get(id)) {
                    // Read again only for a commit an earlier, unsigned ref already brought.
                    let raw = match raw.take() {
                        Some(raw) => raw,
                        None => repo.raw(id).map_err(&at)?,
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
    }
    drop(prefetched);
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
        for (f, plan) in out.iter_mut().zip(&plans) {
            if plan.tag_signature && f.target == Some(TargetKind::Tag) {
                let raw = repo.raw(&f.update.new).map_err(at_ref(&f.update.name))?;
                f.tag_signature = Some(crate::verify::tag(trust, &raw, &opts));
            }
        }
    }
    let push_cert = push_certificate(repo, policy, updates, ctx)?;

    // Names: the branch or tag of the same short name, if there is one.
    for f in out.iter_mut() {
        let u = &f.update;
        let twin = if let Some(short) = u.name.strip_prefix("refs/heads/") {
            format!("refs/tags/{short}")
        } else if let Some(short) = u.name.strip_prefix("refs/tags/") {
            format!("refs/heads/{short}")
        } else {
            continue;
        };
        if u.is_delete() {
            continue;
        }
        let in_push = updates.iter().find(|o| o.name == twin);
        let exists = match in_push {
            Some(o) => !o.new.is_zero(),
            None => repo.ref_tip(&twin).map_err(at_ref(&u.name))?.is_some(),
        };
        if exists {
            f.twin = Some(twin);
        }
    }

    // Tags: the name each tag object was made for, and where its commit already is.
    for (f, plan) in out.iter_mut().zip(&plans) {
        tag_facts(repo, updates, f, plan)?;
    }

    // Diffs: per commit, per update (net effect), and who answers for protected paths.
    let mut blobs = crate::manifests::Blobs::new();
    let mut inputs = diff::Inputs::default();
    diff::commits(
        repo,
        policy,
        &out,
        &plans,
        &mut commits,
        &mut blobs,
        &mut inputs,
    )?;
    // Rendered roots at the new tips: what protected roots render is protected too.
    let render_caches = render::Caches::new(repo);
    let mut new_sides = Vec::with_capacity(out.len());
    for (f, plan) in out.iter_mut().zip(&plans) {
        diff::aliases(repo, policy, f, plan)?;
        new_sides.push(render::new_side(
            repo,
            policy,
            f,
            plan,
            &render_caches,
            &blobs,
        )?);
    }
    for (i, (f, plan)) in out.iter_mut().zip(&plans).enumerate() {
        diff::net_effect(repo, policy, f, plan, &commits, &mut blobs, &mut inputs, i)?;
    }

    // Judge the manifests (pure: everything was read above), and the rendered roots the
    // updates affect (which reads the bases' roots as it goes).
    let today = ctx.today();
    for ((f, plan), side) in out.iter_mut().zip(&plans).zip(new_sides) {
        render::judge(repo, policy, f, plan, side, &render_caches, today)?;
    }
    // Parses go through the renderer's cache when it rendered; otherwise, when more than one
    // judge call reads the push's files (several commits, or a commit and its update's net
    // effect), through a cache of this push's own, so each content is parsed once. A lone
    // commit parses on its own, reusing its old version's unchanged documents.
    let own_cache = (render_caches.parsed_if_rendering().is_none()
        && inputs.commits.len() + inputs.updates.len() > 1)
        .then(pushguard_manifest::render::ParseCache::default);
    let parse_cache = render_caches.parsed_if_rendering().or(own_cache.as_ref());
    for (id, input) in &inputs.commits {
        if let Some(c) = commits.get_mut(id) {
            c.manifest_findings =
                crate::manifests::judge(policy, input, &blobs, today, parse_cache);
        }
    }
    for (i, input) in &inputs.updates {
        if let Some(net) = out.get_mut(*i).and_then(|f| f.net.as_mut()) {
            net.manifest_findings =
                crate::manifests::judge(policy, input, &blobs, today, parse_cache);
        }
    }
    if ctx.exits_after {
        // Nothing here outlives the process: see `Context::exits_after`.
        std::mem::forget(own_cache);
        std::mem::forget(render_caches);
        std::mem::forget(blobs);
        std::mem::forget(inputs);
    }
    Ok(PushFacts {
        updates: out,
        commits,
        host,
        push_cert,
    })
}

fn push_certificate(
    repo: &Repo,
    policy: &Policy,
    updates: &[RefUpdate],
    ctx: &Context,
) -> Result<Option<crate::facts::PushCertFacts>, EngineError> {
    let wants = updates
        .iter()
        .any(|u| policy.ref_rules(&u.name).any(|r| r.require_signed_push));
    let (Some(trust), Some(blob), true) = (&policy.trust, &ctx.push_cert, wants) else {
        return Ok(None);
    };
    let bytes = repo.blob(blob).map_err(at_ref("(push certificate)"))?;
    let opts = crate::verify::options(policy, ctx.now);
    Ok(Some(crate::verify::push_cert(
        trust,
        &bytes,
        ctx.push_cert_nonce_status.clone(),
        updates,
        &opts,
    )))
}

/// The tag object's own name, and `target_on`: is the tag's commit already on each named ref
/// (as the ref is before this push, or as this same push leaves it)?
fn tag_facts(
    repo: &Repo,
    updates: &[RefUpdate],
    f: &mut UpdateFacts,
    plan: &UpdatePlan,
) -> Result<(), EngineError> {
    if f.update.is_delete() || !f.update.name.starts_with("refs/tags/") {
        return Ok(());
    }
    let at = at_ref(&f.update.name);
    if f.target == Some(TargetKind::Tag) {
        f.tag_name = repo.tag_name(&f.update.new).map_err(&at)?;
    }
    for target in &plan.target_on {
        let on = match &f.tip {
            None => false,
            Some(commit) => {
                let tips: Vec<Oid> = match updates.iter().find(|o| &o.name == target) {
                    Some(o) if !o.new.is_zero() => vec![o.new.clone()],
                    Some(_) => vec![],
                    None => repo.ref_tip(target).map_err(&at)?.into_iter().collect(),
                };
                let mut on = false;
                for tip in tips {
                    let (_, peeled) = repo.target(&tip).map_err(&at)?;
                    if let Some(peeled) = peeled {
                        if repo.is_ancestor(commit, &peeled).map_err(&at)? {
                            on = true;
                            break;
                        }
                    }
                }
                on
            }
        };
        f.target_on.push((target.clone(), on));
    }
    Ok(())
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
