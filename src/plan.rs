//! The per-update plan: what a ref update must prove, decided from the policy alone.
//!
//! Every later stage follows the plan and nothing else: the walk hides only what the plan says
//! is already judged, the reader reads only what the plan's rules need, the verifier verifies
//! only when a rule looks at signatures, the diff stage diffs commits and the net effect only
//! when a path, file or manifest rule applies. One pure function decides all of it, so the
//! stages can never disagree about which rules apply to a ref (they once did: `[[path]]` and
//! `[[manifests]]` blocks scoped with `refs = …` were ignored when a ref was created, and
//! `[[manifests]] signers` never got the signatures they judge).
//!
//! The plan is tested with plain values: no repository, no clock, no environment.

use std::collections::BTreeSet;

use crate::hook::Oid;
use crate::policy::Policy;

/// One thing a commit on a ref must satisfy, as far as the walk's "already judged" question
/// is concerned. Rules that apply to every ref (identities, commit messages, `[files]`, binding
/// to the signer) are the same on every ref and need no entry.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    /// Every commit signed by one of these keys (`None`: any trusted key).
    Signed(Option<BTreeSet<String>>),
    /// The `[[path]]` block with this index applies.
    Path(usize),
    /// The `[[manifests]]` block with this index applies.
    Manifests(usize),
}

/// What one ref update must prove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdatePlan {
    /// False for refs the host writes itself and pushguard does not judge (Gitea's own
    /// `refs/pull/*` pushes): they are never taken as proof that a commit was judged.
    pub judged: bool,
    /// Indices of the `[[ref]]`, `[[path]]` and `[[manifests]]` blocks that apply.
    pub ref_blocks: Vec<usize>,
    pub path_blocks: Vec<usize>,
    pub manifest_blocks: Vec<usize>,
    /// What commits must satisfy on this ref (see [`Requirement`]).
    pub requirements: BTreeSet<Requirement>,
    /// Verify the signatures of the new commits.
    pub signatures: bool,
    /// Diff every new commit against its first parent (and each merge against every parent).
    pub changes: bool,
    /// Diff the tree the ref will hold against the tree it held (or the trusted base).
    pub net_effect: bool,
    /// Find, for each protected path the net effect changes, the commits answerable for it.
    pub attribution: bool,
    /// Verify an annotated tag's signature.
    pub tag_signature: bool,
    /// The tag's commit must already be on one of these refs (`target_on`).
    pub target_on: Vec<String>,
    /// Commits reachable from these are taken as judged (`trusted_base`).
    pub trusted_bases: Vec<Oid>,
}

impl UpdatePlan {
    /// Whether commits already on a ref with plan `other` were judged by at least everything
    /// this plan requires, so a created ref need not judge them again.
    pub fn covered_by(&self, other: &UpdatePlan) -> bool {
        other.judged
            && self.requirements.iter().all(|need| match need {
                Requirement::Signed(keys) => other.requirements.iter().any(|have| match have {
                    Requirement::Signed(have_keys) => match (have_keys, keys) {
                        (_, None) => true,
                        (Some(h), Some(k)) => h.is_subset(k),
                        (None, Some(_)) => false,
                    },
                    _ => false,
                }),
                other_need => other.requirements.contains(other_need),
            })
    }
}

/// The plan for an update of `ref_name`. `internal` is the host's word that it is pushing its
/// own refs (see [`crate::hook::host::HostEnv::internal`]).
pub fn plan(policy: &Policy, ref_name: &str, internal: bool) -> UpdatePlan {
    let judged = !(internal && ref_name.starts_with("refs/pull/"));
    let ref_blocks: Vec<usize> = policy
        .refs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.patterns.is_match(ref_name))
        .map(|(i, _)| i)
        .collect();
    let path_blocks: Vec<usize> = policy
        .paths
        .iter()
        .enumerate()
        .filter(|(_, r)| r.applies_to_ref(ref_name))
        .map(|(i, _)| i)
        .collect();
    let manifest_blocks: Vec<usize> = policy
        .manifests
        .iter()
        .enumerate()
        .filter(|(_, b)| b.applies_to_ref(ref_name))
        .map(|(i, _)| i)
        .collect();
    let mut requirements = BTreeSet::new();
    for &i in &ref_blocks {
        let r = &policy.refs[i];
        if r.require_signed {
            let keys = r.signers.as_ref().map(|s| s.keys.clone());
            requirements.insert(Requirement::Signed(keys));
        }
    }
    requirements.extend(path_blocks.iter().map(|&i| Requirement::Path(i)));
    requirements.extend(manifest_blocks.iter().map(|&i| Requirement::Manifests(i)));

    let has_trust = policy.trust.is_some();
    let signatures = has_trust
        && (policy.bind_to_signer.is_some()
            || ref_blocks.iter().any(|&i| policy.refs[i].require_signed)
            || path_blocks
                .iter()
                .any(|&i| policy.paths[i].signers.is_some())
            || manifest_blocks
                .iter()
                .any(|&i| policy.manifests[i].signers.is_some()));
    let content_rules =
        !path_blocks.is_empty() || !manifest_blocks.is_empty() || policy.files.is_active();
    let attribution = path_blocks
        .iter()
        .any(|&i| policy.paths[i].signers.is_some());
    let tag_signature = has_trust
        && ref_name.starts_with("refs/tags/")
        && ref_blocks
            .iter()
            .any(|&i| policy.refs[i].require_signed_tag);
    let mut target_on = Vec::new();
    let mut trusted_bases = Vec::new();
    for &i in &ref_blocks {
        for t in &policy.refs[i].target_on {
            if !target_on.contains(t) {
                target_on.push(t.clone());
            }
        }
        for b in &policy.refs[i].trusted_base {
            if !trusted_bases.contains(b) {
                trusted_bases.push(b.clone());
            }
        }
    }
    UpdatePlan {
        judged,
        ref_blocks,
        path_blocks,
        manifest_blocks,
        requirements,
        signatures: judged && signatures,
        changes: judged && content_rules,
        net_effect: judged && content_rules,
        attribution: judged && attribution,
        tag_signature: judged && tag_signature,
        target_on,
        trusted_bases,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> Policy {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("k.asc"),
            include_str!("../config/keys/sre-anna.asc"),
        )
        .unwrap();
        let text = format!("version = 1\n[keys]\nopenpgp = [\"k.asc\"]\n[groups]\nsre = [\"openpgp:DDEFA97A83E37ADDF358D2FE210F52F12BA4B224\"]\n{text}");
        Policy::from_text(&dir.path().join("policy.toml"), &text).unwrap()
    }

    const EXAMPLE: &str = r#"
[[ref]]
match = ["refs/heads/main", "refs/heads/release/*"]
signers = ["sre"]
force_push = false
[[ref]]
match = "refs/tags/v*"
require_signed_tag = true
signers = ["sre"]
immutable = true
target_on = "refs/heads/main"
[[path]]
match = "clusters/prod/**"
refs = "refs/heads/main"
signers = ["sre"]
[[manifests]]
match = ["clusters/**/*.yaml"]
rules = ["privileged"]
refs = ["refs/heads/main", "refs/heads/release/*"]
signers = ["sre"]
"#;

    #[test]
    fn path_and_manifest_blocks_scoped_by_ref_are_requirements() {
        let p = policy(EXAMPLE);
        let main = plan(&p, "refs/heads/main", false);
        let release = plan(&p, "refs/heads/release/2", false);
        let feature = plan(&p, "refs/heads/feature/x", false);
        assert!(main.requirements.contains(&Requirement::Path(0)));
        assert!(main.requirements.contains(&Requirement::Manifests(0)));
        // release/* lacks main's path block: commits parked there are judged again on main.
        assert!(!main.covered_by(&release));
        assert!(release.covered_by(&main));
        assert!(!release.covered_by(&feature));
        assert!(feature.covered_by(&main) && feature.covered_by(&release));
    }

    #[test]
    fn tag_blocks_do_not_require_commit_signatures() {
        let p = policy(EXAMPLE);
        let tag = plan(&p, "refs/tags/v1.0.0", false);
        assert!(tag.tag_signature);
        assert_eq!(tag.target_on, ["refs/heads/main"]);
        assert!(
            tag.requirements.is_empty(),
            "the tag's signers sign the tag, not the commits: {:?}",
            tag.requirements
        );
        assert!(tag.covered_by(&plan(&p, "refs/heads/main", false)));
        assert!(!tag.signatures);
    }

    #[test]
    fn manifest_signers_get_signatures() {
        let p = policy("[[manifests]]\nmatch = [\"**/*.yaml\"]\nrules = [\"privileged\"]\nsigners = [\"sre\"]\n");
        let d = plan(&p, "refs/heads/dev", false);
        assert!(
            d.signatures,
            "protected-namespaces exceptions need the signer"
        );
        assert!(d.changes && d.net_effect && !d.attribution);
    }

    #[test]
    fn signer_sets_compare_by_keys() {
        let p = policy("[[ref]]\nmatch = \"refs/heads/a\"\nsigners = [\"sre\"]\n[[ref]]\nmatch = \"refs/heads/b\"\nrequire_signed = true\n");
        let a = plan(&p, "refs/heads/a", false);
        let b = plan(&p, "refs/heads/b", false);
        assert!(b.covered_by(&a), "a's signers are trusted keys");
        assert!(!a.covered_by(&b), "any trusted key is not enough for a");
    }

    #[test]
    fn host_internal_pull_refs_prove_nothing() {
        let p = policy(EXAMPLE);
        let pull = plan(&p, "refs/pull/1/head", true);
        assert!(!pull.judged && !pull.signatures && !pull.changes);
        let feature = plan(&p, "refs/heads/feature/x", false);
        assert!(!feature.covered_by(&pull));
        assert!(plan(&p, "refs/pull/1/head", false).judged);
    }

    #[test]
    fn trusted_bases_come_from_every_matching_block() {
        let base = "1".repeat(40);
        let p = policy(&format!(
            "[[ref]]\nmatch = \"refs/heads/*\"\ntrusted_base = \"{base}\"\n[[ref]]\nmatch = \"refs/heads/main\"\nforce_push = false\n"
        ));
        assert_eq!(
            plan(&p, "refs/heads/main", false).trusted_bases,
            [Oid::parse(&base).unwrap()]
        );
        assert!(plan(&p, "refs/tags/x", false).trusted_bases.is_empty());
    }
}
