//! Stage 2: classify each update (create, delete, fast-forward, rewrite) and find the commits
//! it must judge, hiding only what its plan says is already judged.

use crate::facts::{TargetKind, UpdateFacts, UpdateKind};
use crate::hook::{Oid, RefUpdate};
use crate::plan::UpdatePlan;
use crate::policy::Policy;
use crate::repo::{Objects, Repo};

use super::{at_ref, EngineError};

pub struct Walker<'a> {
    repo: &'a Repo,
    policy: &'a Policy,
    /// Existing refs (before the push) with the commit each peels to and its plan; read once,
    /// on the first created ref.
    tips: Option<Vec<(String, Oid, UpdatePlan)>>,
    /// Commit objects the walks already read, so each is read once.
    objects: Objects,
    /// Every new commit found so far, over all updates: `[limits] max_commits` is per push.
    seen: std::collections::HashSet<Oid>,
}

impl<'a> Walker<'a> {
    pub fn new(repo: &'a Repo, policy: &'a Policy) -> Walker<'a> {
        Walker {
            repo,
            policy,
            tips: None,
            objects: Objects::new(),
            seen: std::collections::HashSet::new(),
        }
    }

    pub fn into_objects(self) -> Objects {
        self.objects
    }

    fn facts(u: &RefUpdate, kind: UpdateKind) -> UpdateFacts {
        UpdateFacts {
            update: u.clone(),
            kind,
            target: None,
            new_commits: vec![],
            lost_commits: 0,
            tag_signature: None,
            tip: None,
            tag_name: None,
            target_on: vec![],
            net: None,
            symbolic_target: None,
            twin: None,
            aliases: vec![],
        }
    }

    pub fn update(&mut self, u: &RefUpdate, plan: &UpdatePlan) -> Result<UpdateFacts, EngineError> {
        let at = at_ref(&u.name);
        let mut f = self.classify(u, plan)?;
        f.symbolic_target = self.repo.symbolic_target(&u.name).map_err(&at)?;
        // Each walk stops at the budget; the updates together must stay within it too.
        self.seen.extend(f.new_commits.iter().cloned());
        let max = self.repo.max_commits();
        if self.seen.len() > max {
            return Err(at(crate::repo::RepoError::Budget(
                crate::limits::Exceeded {
                    budget: crate::limits::Budget::Commits,
                    limit: max as u64,
                    what: format!(
                        "the push brings {} new commits over its refs, more than {max}",
                        self.seen.len()
                    ),
                },
            )));
        }
        Ok(f)
    }

    fn classify(&mut self, u: &RefUpdate, plan: &UpdatePlan) -> Result<UpdateFacts, EngineError> {
        let at = at_ref(&u.name);
        if u.old == u.new {
            return Ok(Self::facts(u, UpdateKind::Unchanged));
        }
        if u.is_delete() {
            return Ok(Self::facts(u, UpdateKind::Delete));
        }
        let repo = self.repo;
        let (target, new_commit) = repo.target(&u.new).map_err(&at)?;
        let mut f = Self::facts(u, UpdateKind::Create);
        f.target = Some(target);
        f.tip = new_commit.clone();
        if u.is_create() {
            if let Some(c) = &new_commit {
                let mut hidden = self.covering_tips(u, plan)?;
                hidden.extend(plan.trusted_bases.iter().cloned());
                let (ids, objects) = repo
                    .walk_with_objects(std::slice::from_ref(c), &hidden)
                    .map_err(&at)?;
                self.objects.extend(objects);
                f.new_commits = ids;
            }
            return Ok(f);
        }
        let (_, old_commit) = repo.target(&u.old).map_err(&at)?;
        let (kind, lost, new_commits) = match (&old_commit, &new_commit) {
            (Some(old), Some(new)) => {
                let mut lost = repo
                    .walk(std::slice::from_ref(old), std::slice::from_ref(new))
                    .map_err(&at)?
                    .len();
                // Before a rule rejects a rewrite, make sure it is one.
                let rule_cares = self.policy.ref_rules(&u.name).any(|r| !r.force_push);
                if lost > 0 && rule_cares && repo.is_ancestor(old, new).map_err(&at)? {
                    lost = 0;
                }
                let mut hidden = vec![old.clone()];
                hidden.extend(plan.trusted_bases.iter().cloned());
                let (new_commits, objects) = repo
                    .walk_with_objects(std::slice::from_ref(new), &hidden)
                    .map_err(&at)?;
                self.objects.extend(objects);
                let kind = if lost == 0 {
                    UpdateKind::FastForward
                } else {
                    UpdateKind::NonFastForward
                };
                (kind, lost, new_commits)
            }
            // A ref moved to or from something that is not a commit (a tree, a blob): there is
            // no history to fast-forward along.
            (_, Some(new)) => {
                let hidden = plan.trusted_bases.clone();
                let (ids, objects) = repo
                    .walk_with_objects(std::slice::from_ref(new), &hidden)
                    .map_err(&at)?;
                self.objects.extend(objects);
                (UpdateKind::NonFastForward, 0, ids)
            }
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
        f.kind = kind;
        f.lost_commits = lost;
        f.new_commits = new_commits;
        Ok(f)
    }

    /// The tips of existing refs whose plan covers everything `plan` requires: what they hold
    /// was judged by at least the new ref's rules.
    fn covering_tips(&mut self, u: &RefUpdate, plan: &UpdatePlan) -> Result<Vec<Oid>, EngineError> {
        if self.tips.is_none() {
            let all = self.repo.ref_tips().map_err(at_ref(&u.name))?;
            self.tips = Some(
                all.into_iter()
                    .map(|(name, id)| {
                        // Existing `refs/pull/*` may have been written by the forge unjudged:
                        // they never vouch for a commit, whoever pushes now.
                        let p = crate::plan::plan(self.policy, &name, true);
                        (name, id, p)
                    })
                    .collect(),
            );
        }
        Ok(self
            .tips
            .iter()
            .flatten()
            .filter(|(name, _, other)| *name != u.name && plan.covered_by(other))
            .map(|(_, id, _)| id.clone())
            .collect())
    }
}
