//! Budgets: how much work one push may make pushguard do (`[limits]` in the policy).
//!
//! A pre-receive hook runs on every push, with the pusher choosing the input: a hundred
//! thousand commits, a 50 MB manifest, a YAML alias bomb, or just a push slow enough to hold
//! the ref locks. Each budget here bounds one of those, has a default an ordinary GitOps
//! repository never reaches, and is raised by one policy key. A budget that trips is never a
//! reason to accept: the push is refused with rule `push.limits` (whatever the policy's `mode`,
//! because what was not read was not judged), and the message names the budget and the key.
//!
//! The per-file manifest budgets (`max_manifest_bytes`, `max_yaml_nodes`, `max_yaml_aliases`)
//! feed the manifest loader's [`pushguard_manifest::Limits`]: a file over them is a
//! `manifest-limits` finding at its path, judged by its `[[manifests]]` block like a file that
//! does not parse (its size is read from the object header, so it is never inflated).

use std::time::Duration;

/// The rule id every tripped budget is reported under.
pub const RULE: &str = "push.limits";

/// The budgets of one policy (`[limits]`), with their defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `max_commits`: new commits one push may bring (all its refs together).
    pub max_commits: usize,
    /// `max_object_bytes`: the largest object (blob, tree, commit, tag) pushguard reads; read
    /// from the object's header, so a larger one is refused before it is inflated.
    pub max_object_bytes: u64,
    /// `max_read_bytes`: all objects pushguard reads for one push, inflated, together.
    pub max_read_bytes: u64,
    /// `max_manifest_bytes`: the largest manifest file loaded (per file version).
    pub max_manifest_bytes: u64,
    /// `max_yaml_nodes`: most YAML nodes in one manifest file, alias expansions counted in full.
    pub max_yaml_nodes: usize,
    /// `max_yaml_aliases`: most alias uses (`*name`) in one manifest file.
    pub max_yaml_aliases: usize,
    /// `timeout_seconds`: wall time for the whole decision, from the hook's start.
    pub timeout: Duration,
}

/// The most `timeout_seconds` may be (a day): with [`crate::hook::watchdog::GRACE`], the
/// longest a hook process can live, which is what makes its temporary directory stale after it
/// (`repo::quarantine::sweep_stale`).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

/// The defaults (`docs/policy.md#limits` says why each is what it is).
pub const DEFAULT: Limits = Limits {
    max_commits: 50_000,
    max_object_bytes: 100 << 20,
    max_read_bytes: 1 << 30,
    max_manifest_bytes: 4 << 20,
    max_yaml_nodes: 500_000,
    max_yaml_aliases: 10_000,
    timeout: Duration::from_secs(120),
};

impl Default for Limits {
    fn default() -> Self {
        DEFAULT
    }
}

impl Limits {
    /// The manifest loader's limits, with this policy's per-file budgets.
    pub fn yaml(&self) -> pushguard_manifest::Limits {
        let base = pushguard_manifest::Limits::default();
        pushguard_manifest::Limits {
            max_bytes: usize::try_from(self.max_manifest_bytes).unwrap_or(usize::MAX),
            max_nodes: self.max_yaml_nodes,
            max_aliases: self.max_yaml_aliases,
            // The whole commit may hold a few files at the per-file budget.
            max_commit_nodes: base
                .max_commit_nodes
                .max(self.max_yaml_nodes.saturating_mul(4)),
            ..base
        }
    }
}

/// Which budget tripped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    Commits,
    ObjectBytes,
    ReadBytes,
    Timeout,
}

impl Budget {
    /// The policy key that raises it.
    pub fn key(self) -> &'static str {
        match self {
            Budget::Commits => "max_commits",
            Budget::ObjectBytes => "max_object_bytes",
            Budget::ReadBytes => "max_read_bytes",
            Budget::Timeout => "timeout_seconds",
        }
    }
}

/// A tripped budget: what was over, by how much, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("budget `{key}` exceeded: {what} (the limit is {limit}); a larger push needs `[limits] {key}` raised in the policy", key = .budget.key())]
pub struct Exceeded {
    pub budget: Budget,
    pub limit: u64,
    /// What was over the budget, in words ("the push brings more than 50000 new commits").
    pub what: String,
}

impl Exceeded {
    /// The fix line for the pusher.
    pub fn fix(&self) -> String {
        match self.budget {
            Budget::Commits => format!(
                "push the history in smaller pieces (a few thousand commits at a time), or ask the Git administrator to raise `[limits] {}`",
                self.budget.key()
            ),
            Budget::ObjectBytes => format!(
                "keep files this large out of the repository (Git LFS, an artifact store), or ask the Git administrator to raise `[limits] {}`",
                self.budget.key()
            ),
            Budget::ReadBytes | Budget::Timeout => format!(
                "push in smaller pieces (fewer commits, fewer large files at once), or ask the Git administrator to raise `[limits] {}`",
                self.budget.key()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_budget_and_the_key() {
        let e = Exceeded {
            budget: Budget::Commits,
            limit: 10,
            what: "the push brings more than 10 new commits".into(),
        };
        let text = e.to_string();
        assert!(text.contains("budget `max_commits` exceeded"), "{text}");
        assert!(text.contains("`[limits] max_commits`"), "{text}");
        assert!(e.fix().contains("max_commits"));
    }

    #[test]
    fn yaml_limits_follow_the_policy() {
        let l = Limits {
            max_manifest_bytes: 1000,
            max_yaml_nodes: 7,
            max_yaml_aliases: 3,
            ..DEFAULT
        };
        let y = l.yaml();
        assert_eq!((y.max_bytes, y.max_nodes, y.max_aliases), (1000, 7, 3));
        let d = DEFAULT.yaml();
        assert_eq!(d.max_bytes, pushguard_manifest::Limits::default().max_bytes);
        assert_eq!(d.max_nodes, pushguard_manifest::Limits::default().max_nodes);
    }
}
