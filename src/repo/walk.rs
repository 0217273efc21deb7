//! The new-commit walk: commits reachable from some tips and from none of the hidden ones.
//!
//! This is the security boundary of the whole hook (a commit left out is a commit never
//! judged), so it is ours rather than a library's, and it is written so that it can only err
//! towards judging *more*:
//!
//! - both sides are painted in one priority queue, newest first: by commit-graph generation
//!   number when the commit is in the graph (exact topological order), else by committer time;
//! - `HIDDEN` reaches a commit only by following parent links from a hidden tip, so a commit
//!   is never left out unless it really is reachable from a hidden tip;
//! - the walk stops when every queued commit is hidden. Without generation numbers, clock skew
//!   can stop it before a hidden flag reaches a commit already seen as new: that commit is then
//!   judged although it did not need to be (extra, never missing). With a commit-graph the
//!   result equals `git rev-list TIPS --not HIDDEN` (tested against git).
//!
//! The cost follows the push: hidden history is walked only as far as it is newer than the
//! oldest new commit. A walk for new commits stops as soon as more commits than
//! `[limits] max_commits` are new (not hidden) at once, so a push of a million commits costs
//! the budget, not the million. Painting can take a commit for new before the hidden side
//! reaches it (clock skew without a commit-graph): such a push is refused a little early,
//! never accepted.

use std::collections::{BinaryHeap, HashMap};

use gix::ObjectId;

use super::{Repo, RepoError};
use crate::hook::Oid;

/// Commit objects by id.
pub type Objects = HashMap<Oid, Vec<u8>>;

/// Parents, queue key, and the object bytes when they were read.
type WalkNode = (Vec<ObjectId>, (u32, i64), Option<Vec<u8>>);

const NEW: u8 = 1;
const HIDDEN: u8 = 2;
/// How far (seconds) the walk looks past the oldest new commit for hidden paths, when it has
/// only committer times to go by.
const SKEW_SLACK: i64 = 86_400;

struct Node {
    flags: u8,
    /// Queue entries for this node counted in `Walker::unhidden`.
    queued_unhidden: u32,
    parents: Vec<ObjectId>,
    key: (u32, i64),
    /// Order of discovery, for a deterministic result.
    seq: usize,
    /// The commit object, when the walk had to read it (not in the commit-graph): handed to
    /// the caller so no commit of the push is read twice.
    raw: Option<Vec<u8>>,
}

struct Walker<'a> {
    repo: &'a Repo,
    nodes: HashMap<ObjectId, Node>,
    heap: BinaryHeap<(u32, i64, std::cmp::Reverse<usize>, ObjectId)>,
    /// Queue entries whose commit is not hidden: the walk goes on while there are any.
    unhidden: usize,
    /// Commits flagged new and not hidden, now.
    new_only: usize,
    /// The most `new_only` may reach (`max_commits`); None for walks that count lost commits.
    limit: Option<usize>,
}

impl Walker<'_> {
    fn load(&mut self, id: ObjectId) -> Result<(), RepoError> {
        if self.nodes.contains_key(&id) {
            return Ok(());
        }
        let (parents, key, raw) = self.repo.walk_node(id)?;
        let seq = self.nodes.len();
        self.nodes.insert(
            id,
            Node {
                flags: 0,
                queued_unhidden: 0,
                parents,
                key,
                seq,
                raw,
            },
        );
        Ok(())
    }

    /// Adds `flags` to a commit and queues it if that changed anything.
    fn mark(&mut self, id: ObjectId, flags: u8) -> Result<(), RepoError> {
        self.load(id)?;
        let Some(node) = self.nodes.get_mut(&id) else {
            return Ok(());
        };
        let old = node.flags;
        let new = old | flags;
        if new == old {
            return Ok(());
        }
        node.flags = new;
        if old == 0 && new == NEW {
            self.new_only += 1;
            if let Some(max) = self.limit.filter(|max| self.new_only > *max) {
                return Err(RepoError::Budget(crate::limits::Exceeded {
                    budget: crate::limits::Budget::Commits,
                    limit: max as u64,
                    what: format!("the push brings more than {max} new commits"),
                }));
            }
        } else if old == NEW {
            self.new_only = self.new_only.saturating_sub(1);
        }
        if new & HIDDEN != 0 && old & HIDDEN == 0 {
            self.unhidden -= node.queued_unhidden as usize;
            node.queued_unhidden = 0;
        }
        if new & HIDDEN == 0 {
            node.queued_unhidden += 1;
            self.unhidden += 1;
        }
        self.heap
            .push((node.key.0, node.key.1, std::cmp::Reverse(node.seq), id));
        Ok(())
    }

    fn run(&mut self) -> Result<(), RepoError> {
        while self.unhidden > 0 {
            self.step()?;
        }
        // Every queued commit is hidden now. Hidden commits queued with a key no lower than a
        // commit we saw as new can still reach it (commits made in the same second; clock skew
        // up to a day): let them finish, so ordinary histories come out exact.
        let floor = self
            .nodes
            .values()
            .filter(|n| n.flags == NEW)
            .map(|n| n.key)
            .min();
        if let Some((generation, time)) = floor {
            let slack = if generation == u32::MAX {
                SKEW_SLACK
            } else {
                0
            };
            while let Some(&(g, t, _, _)) = self.heap.peek() {
                if (g, t) < (generation, time.saturating_sub(slack)) {
                    break;
                }
                self.step()?;
            }
        }
        Ok(())
    }

    /// Pops one queued commit and passes its flags to its parents.
    fn step(&mut self) -> Result<(), RepoError> {
        {
            let Some((_, _, _, id)) = self.heap.pop() else {
                self.unhidden = 0;
                return Ok(());
            };
            let Some(node) = self.nodes.get_mut(&id) else {
                return Ok(());
            };
            if node.flags & HIDDEN == 0 {
                node.queued_unhidden = node.queued_unhidden.saturating_sub(1);
                self.unhidden -= 1;
            }
            let flags = node.flags;
            let parents = node.parents.clone();
            for p in parents {
                self.mark(p, flags)?;
            }
        }
        Ok(())
    }
}

impl Repo {
    /// Parents and queue key of a commit: from the commit-graph when it has the commit, else
    /// from the object (generation "infinite": such commits are newer than every graph commit).
    fn walk_node(&self, id: ObjectId) -> Result<WalkNode, RepoError> {
        if let Some(graph) = &self.graph {
            if let Some(c) = graph.commit_by_id(id) {
                let mut parents = Vec::new();
                for p in c.iter_parents() {
                    let pos = p.map_err(|e| RepoError::Walk {
                        from: id.to_string(),
                        message: format!("commit-graph: {e}"),
                    })?;
                    parents.push(graph.id_at(pos).to_owned());
                }
                let time = i64::try_from(c.committer_timestamp()).unwrap_or(i64::MAX);
                return Ok((parents, (c.generation(), time), None));
            }
        }
        let (kind, data) = self.read(id, "commit in history walk")?;
        if kind != gix::object::Kind::Commit {
            return Err(RepoError::WrongKind {
                id: id.to_string(),
                found: kind.to_string(),
                expected: "commit",
            });
        }
        // The same strict reading as the commit's facts, so the walk follows exactly the
        // parents the rules see. History that predates the push may hold commits other tools
        // wrote with headers we refuse: those are walked as git reads them (every new commit
        // is checked strictly when its facts are read, and a malformed one stops the push).
        let strict = pushguard_fsck::check_commit(&data, self.fsck_hash());
        let (time, parents) = {
            let c = match strict {
                Ok(c) => c,
                Err(e) => {
                    let Ok(c) = gix::objs::CommitRef::from_bytes(&data, self.repo.object_hash())
                    else {
                        return Err(RepoError::Malformed {
                            id: id.to_string(),
                            context: "commit".into(),
                            message: e.to_string(),
                        });
                    };
                    let time = c.committer().map(|s| s.seconds()).unwrap_or(0);
                    let parents = c.parents().collect();
                    drop(c);
                    return Ok((parents, (u32::MAX, time), Some(data)));
                }
            };
            let mut parents = Vec::with_capacity(c.parents.len());
            for p in &c.parents {
                parents.push(ObjectId::from_hex(p.as_bytes()).map_err(|e| {
                    RepoError::Malformed {
                        id: id.to_string(),
                        context: "commit".into(),
                        message: format!("malformed commit: parent {p:?}: {e}"),
                    }
                })?);
            }
            (c.committer.time, parents)
        };
        Ok((parents, (u32::MAX, time), Some(data)))
    }

    /// Whether `ancestor` is reachable from `descendant`, exactly. Used to confirm a
    /// non-fast-forward before a rule rejects it: the painted walk may, with clock skew, take a
    /// fast-forward for a rewrite. With a commit-graph, commits older (by generation) than
    /// `ancestor` are not explored; without one, this may read the history down to the root.
    pub fn is_ancestor(&self, ancestor: &Oid, descendant: &Oid) -> Result<bool, RepoError> {
        let target = self.oid(ancestor)?;
        let start = self.oid(descendant)?;
        let (_, (target_gen, _), _) = self.walk_node(target)?;
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![start];
        while let Some(id) = stack.pop() {
            if id == target {
                return Ok(true);
            }
            if !seen.insert(id) {
                continue;
            }
            let (parents, (generation, _), _) = self.walk_node(id)?;
            if target_gen != u32::MAX && generation != u32::MAX && generation <= target_gen {
                continue;
            }
            stack.extend(parents);
        }
        Ok(false)
    }

    /// Commits reachable from `tips` and from none of `hidden`, parents before children. No
    /// budget: for counting what a ref loses, and for `check`'s notes (history, not a push).
    pub fn walk(&self, tips: &[Oid], hidden: &[Oid]) -> Result<Vec<Oid>, RepoError> {
        self.walk_limited(tips, hidden, None).map(|(ids, _)| ids)
    }

    /// The new commits of a push: [`Repo::walk`] within `[limits] max_commits`, also
    /// returning the objects of the new commits it had to read.
    pub fn walk_with_objects(
        &self,
        tips: &[Oid],
        hidden: &[Oid],
    ) -> Result<(Vec<Oid>, Objects), RepoError> {
        self.walk_limited(tips, hidden, Some(self.max_commits()))
    }

    fn walk_limited(
        &self,
        tips: &[Oid],
        hidden: &[Oid],
        limit: Option<usize>,
    ) -> Result<(Vec<Oid>, Objects), RepoError> {
        let mut w = Walker {
            repo: self,
            nodes: HashMap::new(),
            heap: BinaryHeap::new(),
            unhidden: 0,
            new_only: 0,
            limit,
        };
        for t in tips {
            let id = self.oid(t)?;
            w.mark(id, NEW)?;
        }
        for h in hidden {
            let id = self.oid(h)?;
            w.mark(id, HIDDEN)?;
        }
        w.run()?;
        let mut objects = HashMap::new();
        let mut found: Vec<(usize, ObjectId, Vec<ObjectId>)> = Vec::new();
        for (id, n) in w.nodes.iter_mut().filter(|(_, n)| n.flags == NEW) {
            if let Some(raw) = n.raw.take() {
                objects.insert(Oid::from(*id), raw);
            }
            found.push((n.seq, *id, std::mem::take(&mut n.parents)));
        }
        found.sort_by_key(|(seq, _, _)| *seq);
        let ids = topo_oldest_first(found.into_iter().map(|(_, id, p)| (id, p)).collect());
        Ok((ids, objects))
    }
}

/// Orders commits so that each comes after those of its parents that are in the set (Kahn's
/// algorithm, seeded in reverse discovery order so the result is deterministic).
fn topo_oldest_first(found: Vec<(ObjectId, Vec<ObjectId>)>) -> Vec<Oid> {
    let in_set: std::collections::HashSet<ObjectId> = found.iter().map(|(id, _)| *id).collect();
    let mut pending: HashMap<ObjectId, usize> = HashMap::new();
    let mut children: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    for (id, parents) in &found {
        let inside: Vec<&ObjectId> = parents.iter().filter(|p| in_set.contains(*p)).collect();
        pending.insert(*id, inside.len());
        for p in inside {
            children.entry(*p).or_default().push(*id);
        }
    }
    let mut ready: Vec<ObjectId> = found
        .iter()
        .filter(|(id, _)| pending.get(id) == Some(&0))
        .map(|(id, _)| *id)
        .collect();
    ready.reverse();
    let mut out = Vec::with_capacity(found.len());
    while let Some(id) = ready.pop() {
        out.push(Oid::from(id));
        if let Some(kids) = children.get(&id) {
            for k in kids.iter().rev() {
                if let Some(n) = pending.get_mut(k) {
                    *n -= 1;
                    if *n == 0 {
                        ready.push(*k);
                    }
                }
            }
        }
    }
    out
}
