//! Stage 5: what changes. Three questions, each answered only where the plan asks:
//!
//! - what each new commit changes against its first parent (per-commit rules);
//! - what each whole update changes: the tree the ref will hold against the tree it held (its
//!   *net effect*). A merge whose first parent is an old commit, or whose tree differs from
//!   every parent, can roll back or rewrite anything while every per-commit diff looks
//!   harmless; the net effect is what the cluster ends up with;
//! - for each protected path of the net effect, which new commits are answerable for its new
//!   state ([`answerable`]).

use std::collections::{HashMap, HashSet};

use crate::facts::{
    Alias, AliasVia, CommitFacts, Entry, FileChange, FileMode, NetEffect, UpdateFacts, UpdateKind,
};
use crate::hook::Oid;
use crate::manifests::{Blobs, BlockInput};
use crate::plan::UpdatePlan;
use crate::policy::eval::{resolve_link, touched_in};
use crate::policy::Policy;
use crate::repo::{Entries, Repo, RepoError};

use super::{at_ref, has_private_key, EngineError};

/// What the manifest stage must judge: per commit, and per update (by index).
#[derive(Default)]
pub struct Inputs {
    pub commits: HashMap<Oid, Vec<BlockInput>>,
    pub updates: Vec<(usize, Vec<BlockInput>)>,
}

/// Per-commit changes (and their manifest inputs) for every commit an update's plan diffs.
pub fn commits(
    repo: &Repo,
    policy: &Policy,
    updates: &[UpdateFacts],
    plans: &[UpdatePlan],
    commits: &mut HashMap<Oid, CommitFacts>,
    blobs: &mut Blobs,
    inputs: &mut Inputs,
) -> Result<(), EngineError> {
    // Which manifest blocks judge each commit: those of every ref it is new on.
    let mut blocks: HashMap<Oid, Vec<usize>> = HashMap::new();
    let mut wanted: Vec<Oid> = Vec::new();
    for (f, plan) in updates.iter().zip(plans) {
        if !plan.changes {
            continue;
        }
        for id in &f.new_commits {
            let b = blocks.entry(id.clone()).or_insert_with(|| {
                wanted.push(id.clone());
                Vec::new()
            });
            for &i in &plan.manifest_blocks {
                if !b.contains(&i) {
                    b.push(i);
                }
            }
        }
    }
    for id in wanted {
        let Some(c) = commits.get_mut(&id) else {
            continue;
        };
        let at = |source: RepoError| EngineError::Commit {
            commit: id.to_string(),
            source,
        };
        c.changes = file_changes(repo, policy, &id, c.parents.first()).map_err(at)?;
        let mut b = blocks.remove(&id).unwrap_or_default();
        b.sort_unstable();
        if !b.is_empty() {
            let input = crate::manifests::read(repo, policy, &c.changes, &b, blobs).map_err(at)?;
            inputs.commits.insert(id.clone(), input);
        }
    }
    Ok(())
}

/// The net effect of one update, when its plan asks for it.
#[allow(clippy::too_many_arguments)]
pub fn net_effect(
    repo: &Repo,
    policy: &Policy,
    f: &mut UpdateFacts,
    plan: &UpdatePlan,
    commits: &HashMap<Oid, CommitFacts>,
    blobs: &mut Blobs,
    inputs: &mut Inputs,
    index: usize,
) -> Result<(), EngineError> {
    if !plan.net_effect || matches!(f.kind, UpdateKind::Delete | UpdateKind::Unchanged) {
        return Ok(());
    }
    let Some(tip) = f.tip.clone() else {
        return Ok(());
    };
    let at = at_ref(&f.update.name);
    let new: HashSet<&Oid> = f.new_commits.iter().collect();
    let base = if f.update.is_create() {
        // The last already-judged commit on the tip's first-parent line (None: a root).
        let mut cur = Some(tip.clone());
        while let Some(c) = cur.clone() {
            if !new.contains(&c) {
                break;
            }
            cur = commits.get(&c).and_then(|c| c.parents.first().cloned());
        }
        cur
    } else {
        repo.target(&f.update.old).map_err(&at)?.1
    };
    let mut net = NetEffect {
        base: base.clone(),
        ..NetEffect::default()
    };
    let one = match commits.get(&tip) {
        Some(c) if f.new_commits.len() == 1 && f.new_commits[0] == tip => {
            (c.parents.first() == base.as_ref() || (c.parents.is_empty() && base.is_none()))
                .then(|| c.changes.clone())
        }
        _ => None,
    };
    if let Some(changes) = one {
        // The commit's own diff is the net effect: reuse it, and judge its manifests once.
        net.changes = changes;
        net.one_commit = true;
    } else if base.as_ref() != Some(&tip) {
        net.changes = file_changes(repo, policy, &tip, base.as_ref()).map_err(&at)?;
    }
    if plan.attribution {
        let protected: Vec<&FileChange> = net
            .changes
            .iter()
            .filter(|ch| {
                touched_in(f, ch).iter().any(|p| {
                    plan.path_blocks.iter().any(|&i| {
                        let r = &policy.paths[i];
                        r.signers.is_some() && r.patterns.is_match(p)
                    })
                })
            })
            .collect();
        let mut trees = HashMap::new();
        for ch in protected {
            let who = answerable(repo, commits, &new, &tip, &ch.path, &mut trees).map_err(&at)?;
            let mut who: Vec<Oid> = who.into_iter().collect();
            let order: HashMap<&Oid, usize> = f
                .new_commits
                .iter()
                .enumerate()
                .map(|(i, c)| (c, i))
                .collect();
            who.sort_by_key(|c| order.get(c).copied().unwrap_or(usize::MAX));
            net.answerable.insert(ch.path.clone(), who);
        }
    }
    if !plan.manifest_blocks.is_empty() && !net.changes.is_empty() && !net.one_commit {
        let input =
            crate::manifests::read(repo, policy, &net.changes, &plan.manifest_blocks, blobs)
                .map_err(&at)?;
        inputs.updates.push((index, input));
    }
    f.net = Some(net);
    Ok(())
}

/// How many tree entries below protected paths the symlink search may read per update.
const ALIAS_BUDGET: usize = 200_000;

/// The paths protected paths reach through symlinks at the new tip: for every symlink a
/// `[[path]]` block's globs match, its in-repository target, and transitively the targets of
/// symlinks found there. Editing a target changes what the cluster reads at the protected path.
pub fn aliases(
    repo: &Repo,
    policy: &Policy,
    f: &mut UpdateFacts,
    plan: &UpdatePlan,
) -> Result<(), EngineError> {
    if plan.path_blocks.is_empty() || matches!(f.kind, UpdateKind::Delete | UpdateKind::Unchanged) {
        return Ok(());
    }
    let Some(tip) = f.tip.clone() else {
        return Ok(());
    };
    let at = at_ref(&f.update.name);
    let mut prefixes: Vec<String> = Vec::new();
    for &i in &plan.path_blocks {
        for glob in &policy.paths[i].pattern_text {
            let literal: Vec<&str> = glob
                .split('/')
                .take_while(|c| !c.contains(['*', '?', '[', '\\']))
                .collect();
            let prefix = literal.join("/");
            if !prefixes.contains(&prefix) {
                prefixes.push(prefix);
            }
        }
    }
    let mut trees = HashMap::new();
    // A protected submodule is fetched from the URL `.gitmodules` gives it.
    if let Some((_, blob)) = repo
        .entry_at(&tip, ".gitmodules", &mut trees)
        .map_err(&at)?
    {
        let bytes = repo.blob(&blob).map_err(|e| at(e.at_path(".gitmodules")))?;
        // Unreadable here (git may still read it): every gitlink is taken as named in it.
        let paths: Vec<String> = match crate::gitmodules::parse(&bytes) {
            Ok(subs) => subs.into_iter().filter_map(|s| s.path).collect(),
            Err(_) => repo
                .entries_under(&tip, "", ALIAS_BUDGET, &mut trees)
                .map_err(&at)?
                .into_iter()
                .filter(|(_, mode, _)| *mode == 0o160000)
                .map(|(path, _, _)| path)
                .collect(),
        };
        for path in paths {
            if plan
                .path_blocks
                .iter()
                .any(|&i| policy.paths[i].patterns.is_match(&path))
            {
                f.aliases.push(Alias {
                    target: ".gitmodules".into(),
                    link: path,
                    via: AliasVia::Submodule,
                });
            }
        }
    }
    let mut budget = ALIAS_BUDGET;
    let mut queue: Vec<(String, String)> = Vec::new(); // (symlink path at tip, path it stands for)
    for prefix in &prefixes {
        for (link, _) in repo
            .symlinks_under(&tip, prefix, budget, &mut trees)
            .map_err(&at)?
        {
            let protected = plan
                .path_blocks
                .iter()
                .any(|&i| policy.paths[i].patterns.is_match(&link));
            if protected {
                queue.push((link.clone(), link));
            }
        }
        budget = budget.saturating_sub(trees.values().map(|t| t.len()).sum::<usize>().min(budget));
    }
    let mut seen = HashSet::new();
    while let Some((real, stands_for)) = queue.pop() {
        if f.aliases.len() >= 256 || !seen.insert(real.clone()) {
            continue;
        }
        let Some((_, blob)) = repo.entry_at(&tip, &real, &mut trees).map_err(&at)? else {
            continue;
        };
        let bytes = repo.blob(&blob).map_err(&at)?;
        let Some(target) = resolve_link(&real, &String::from_utf8_lossy(&bytes)) else {
            continue; // leaves the repository: `files.symlink-escape` / `manifest-symlink`
        };
        for (inner, _) in repo
            .symlinks_under(&tip, &target, ALIAS_BUDGET, &mut trees)
            .map_err(&at)?
        {
            let rest = inner.strip_prefix(target.as_str()).unwrap_or("");
            queue.push((inner.clone(), format!("{stands_for}{rest}")));
        }
        f.aliases.push(Alias {
            target,
            link: stands_for,
            via: AliasVia::Symlink,
        });
    }
    Ok(())
}

/// The new commits answerable for the state `path` has at `tip`.
///
/// Starting at the tip, a commit whose state of `path` differs from every parent's made that
/// state: it is answerable. A commit that has the state of some parents but not of others (a
/// merge that chose one side) is answerable for the choice, and the walk follows every parent
/// that has the same state. A commit that is not new ends the walk: the state existed before
/// (a rollback to it is answered for by the merge that chose it). When the walk finds no one
/// (a state carried unchanged from old history), the tip answers for it.
pub fn answerable(
    repo: &Repo,
    commits: &HashMap<Oid, CommitFacts>,
    new: &HashSet<&Oid>,
    tip: &Oid,
    path: &str,
    trees: &mut HashMap<gix::ObjectId, std::sync::Arc<Entries>>,
) -> Result<HashSet<Oid>, RepoError> {
    let mut states: HashMap<Oid, Option<(u16, Oid)>> = HashMap::new();
    let mut state = |id: &Oid| -> Result<Option<(u16, Oid)>, RepoError> {
        if let Some(s) = states.get(id) {
            return Ok(s.clone());
        }
        let s = repo.entry_at(id, path, trees)?;
        states.insert(id.clone(), s.clone());
        Ok(s)
    };
    let mut out = HashSet::new();
    let mut seen = HashSet::new();
    let mut stack = vec![tip.clone()];
    while let Some(id) = stack.pop() {
        if !new.contains(&id) || !seen.insert(id.clone()) {
            continue;
        }
        let Some(c) = commits.get(&id) else {
            out.insert(id);
            continue;
        };
        let mine = state(&id)?;
        let mut same = Vec::new();
        let mut differs = false;
        for p in &c.parents {
            if state(p)? == mine {
                same.push(p.clone());
            } else {
                differs = true;
            }
        }
        if same.is_empty() || differs {
            out.insert(id.clone());
        }
        stack.extend(same);
    }
    if out.is_empty() {
        out.insert(tip.clone());
    }
    Ok(out)
}

/// The changes between a commit and a base commit (its first parent, or an update's old tip),
/// with the blob facts file rules need.
fn file_changes(
    repo: &Repo,
    policy: &Policy,
    id: &Oid,
    base: Option<&Oid>,
) -> Result<Vec<FileChange>, RepoError> {
    let read_content = policy.files.max_size.is_some() || policy.files.deny_private_keys;
    let mut out = Vec::new();
    for ch in repo.changes(id, base)? {
        let link = |e: &Option<Entry>| -> Result<Option<String>, RepoError> {
            match e {
                Some(e) if e.mode == FileMode::Symlink => {
                    let bytes = repo.blob(&e.id).map_err(|err| err.at_path(&ch.path))?;
                    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
                }
                _ => Ok(None),
            }
        };
        let old_link = link(&ch.old)?;
        let new_link = link(&ch.new)?;
        let (mut new_size, mut private_key, mut rewrites) = (None, false, Vec::new());
        let is_attributes = ch.path.rsplit('/').next() == Some(".gitattributes");
        if let Some(e) = &ch.new {
            if read_content && matches!(e.mode, FileMode::File | FileMode::Executable) {
                let size = repo.size_of(&e.id).map_err(|err| err.at_path(&ch.path))?;
                new_size = Some(size);
                // A blob over max_size is refused for its size; its content need not be read.
                let over = policy.files.max_size.is_some_and(|m| size > m);
                if policy.files.deny_private_keys && !over {
                    private_key =
                        has_private_key(&repo.blob(&e.id).map_err(|err| err.at_path(&ch.path))?);
                }
            }
            if is_attributes && matches!(e.mode, FileMode::File | FileMode::Executable) {
                rewrites =
                    checkout_rewrites(&repo.blob(&e.id).map_err(|err| err.at_path(&ch.path))?);
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
            rewrites,
        });
    }
    Ok(out)
}

/// The attributes a `.gitattributes` file sets that make `git checkout` (and so Argo CD, which
/// checks out with the git CLI) write other bytes than the blob pushguard judged: a
/// `working-tree-encoding`, a `filter` (LFS and friends fetch content from elsewhere), `ident`
/// (expands `$Id$`), and CRLF line endings. `text` and `eol=lf` change nothing on the Linux
/// hosts controllers run on, and are not listed.
pub fn checkout_rewrites(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // The first token is the pattern (or `[attr]name` for a macro); the rest are attributes.
        for attr in line.split_whitespace().skip(1) {
            if attr.starts_with(['-', '!']) {
                continue;
            }
            let (name, value) = attr.split_once('=').unwrap_or((attr, ""));
            let rewrites = match name {
                "working-tree-encoding" | "filter" | "ident" => true,
                "eol" => value.eq_ignore_ascii_case("crlf"),
                "crlf" => true,
                _ => false,
            };
            if rewrites && !out.iter().any(|a: &String| a == attr) {
                out.push(attr.to_string());
            }
        }
    }
    out
}
