//! Pure policy evaluation: facts in, violations out.
//!
//! Nothing here reads a repository, the environment or a clock, so every rule is tested with
//! plain values (see the tests below) and the same push always gets the same verdict.

use serde::Serialize;

use super::{Mode, Origin, PathRule, Policy, Severity};
use crate::facts::{
    AliasVia, CommitFacts, FileChange, PushCertFacts, PushFacts, SignatureFacts, UpdateFacts,
    UpdateKind,
};
use crate::hook::RefClass;

/// Every rule id this module can report; `docs/policy.md` documents each (a test checks).
pub const RULE_IDS: &[&str] = &[
    "ref.force-push",
    "ref.delete",
    "ref.immutable",
    "names.branch",
    "names.tag",
    "identities.allow",
    "commits.message-pattern",
    "commits.signed-off-by",
    "path.forbid",
    "path.pushers",
    "files.forbidden",
    "files.max-size",
    "files.private-key",
    "files.symlink-escape",
    "signature.missing",
    "signature.invalid",
    "signature.signer",
    "identities.bind-to-signer",
    "path.signers",
    "path.two-person",
    "tag.unsigned",
    "tag.invalid",
    "tag.signer",
    "push.unsigned",
    "push.nonce",
    "push.invalid",
    "push.signer",
    "push.mismatch",
    "ref.target",
    "tag.name",
    "tag.target-on",
    "tag.version-name",
    "ref.namespace",
    "ref.ambiguous",
    "ref.symbolic",
    "files.gitattributes",
    "push.replay",
    "push.limits",
];

/// One broken rule, with everything the pusher needs to find and fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Stable rule id, e.g. `ref.force-push` (listed in `docs/policy.md`).
    pub rule: String,
    pub severity: Severity,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub commit: Option<String>,
    pub subject: Option<String>,
    /// The file in the repository, as git names it (no `:line:col`: those are the next fields).
    pub path: Option<String>,
    /// Line and column in `path` (manifest rules).
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub object: Option<String>,
    /// The container, for pod-spec rules.
    pub container: Option<String>,
    /// What is wrong, in one sentence.
    pub what: String,
    /// How to fix it.
    pub fix: String,
    /// Where the rule is written in the policy (`/etc/pushguard/policy.toml:12`).
    pub policy: Option<String>,
}

/// The verdict on a push.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    pub accepted: bool,
    pub mode: Mode,
    pub violations: Vec<Violation>,
}

impl Decision {
    pub fn denials(&self) -> usize {
        self.violations
            .iter()
            .filter(|v| v.severity == Severity::Deny)
            .count()
    }
}

/// Judges a push.
pub fn evaluate(policy: &Policy, facts: &PushFacts) -> Decision {
    let mut out = Vec::new();
    for u in &facts.updates {
        // Gitea's own pull-request refs: Gitea creates them itself on behalf of the PR author,
        // and its own hook lets them through; the commits are judged when they reach a branch.
        if facts.host.internal && u.update.name.starts_with("refs/pull/") {
            continue;
        }
        let mut found = Vec::new();
        namespace_rules(policy, u, &mut found);
        symbolic_rules(u, &mut found);
        ref_rules(policy, u, &mut found);
        target_rules(u, &mut found);
        name_rules(policy, u, &mut found);
        tag_rules(policy, u, &mut found);
        let pusher = facts.host.pusher.as_deref();
        for id in &u.new_commits {
            if let Some(c) = facts.commits.get(id) {
                commit_rules(policy, u, c, &mut found);
                signature_rules(policy, u, c, facts.host.web, &mut found);
                path_rules(policy, u, c, pusher, &mut found);
                file_rules(policy, u, c, &mut found);
                manifest_rules(policy, u, c, &mut found);
            }
        }
        two_person_rules(policy, u, &facts.commits, &mut found);
        net_rules(policy, u, &facts.commits, pusher, &mut found);
        out.extend(found);
    }
    push_rules(policy, facts, &mut out);
    let accepted = policy.mode == Mode::Audit || !out.iter().any(|v| v.severity == Severity::Deny);
    Decision {
        accepted,
        mode: policy.mode,
        violations: out,
    }
}

/// The verdict when a budget of `[limits]` stopped the gathering (or the clock did): a
/// rejection with one `push.limits` violation, in every mode. What was not read was not
/// judged, so even `mode = "audit"` does not accept it.
pub fn over_budget(
    policy: &Policy,
    ref_name: Option<&str>,
    exceeded: &crate::limits::Exceeded,
) -> Decision {
    let policy_at = policy
        .limits_origin
        .as_ref()
        .map(|o| o.to_string())
        .unwrap_or_else(|| format!("{} (default budgets)", policy.path.display()));
    Decision {
        accepted: false,
        mode: policy.mode,
        violations: vec![Violation {
            rule: crate::limits::RULE.to_string(),
            severity: Severity::Deny,
            ref_name: ref_name.unwrap_or("(push)").to_string(),
            commit: None,
            subject: None,
            path: None,
            line: None,
            column: None,
            object: None,
            container: None,
            what: exceeded.to_string(),
            fix: exceeded.fix(),
            policy: Some(policy_at),
        }],
    }
}

fn violation(
    rule: &str,
    severity: Severity,
    u: &UpdateFacts,
    commit: Option<&CommitFacts>,
    what: String,
    fix: String,
    origin: Option<&Origin>,
) -> Violation {
    Violation {
        rule: rule.to_string(),
        severity,
        ref_name: u.update.name.clone(),
        commit: commit.map(|c| c.id.to_string()),
        subject: commit.map(|c| c.subject.clone()),
        path: None,
        line: None,
        column: None,
        object: None,
        container: None,
        what,
        fix,
        policy: origin.map(|o| o.to_string()),
    }
}

fn ref_rules(policy: &Policy, u: &UpdateFacts, out: &mut Vec<Violation>) {
    let name = &u.update.name;
    let range = format!("{}..{}", u.update.old.short(), u.update.new.short());
    for rule in policy.ref_rules(name) {
        let patterns = rule.pattern_text.join(", ");
        let moved = !u.update.old.is_zero() && u.kind != UpdateKind::Unchanged;
        if rule.immutable && moved {
            let what = if u.kind == UpdateKind::Delete {
                format!("{name} is immutable (matches {patterns}) and cannot be deleted")
            } else {
                format!("{name} is immutable (matches {patterns}) and cannot be moved ({range})")
            };
            let fix = match u.update.class() {
                RefClass::Tag => "a published tag never moves: create a new tag (the next version) for the new commit, and delete your local copy with `git tag -d`".to_string(),
                _ => format!("{name} never changes once created: push your work to a new ref instead"),
            };
            out.push(violation(
                "ref.immutable",
                rule.severity,
                u,
                None,
                what,
                fix,
                Some(&rule.origin),
            ));
            continue;
        }
        if u.kind == UpdateKind::Delete && !rule.delete && !u.update.old.is_zero() {
            out.push(violation(
                "ref.delete",
                rule.severity,
                u,
                None,
                format!("{name} may not be deleted (protected by {patterns})"),
                "protected refs cannot be deleted with git push; ask an administrator if this ref really must go".into(),
                Some(&rule.origin),
            ));
        }
        if u.kind == UpdateKind::NonFastForward && !rule.force_push {
            out.push(violation(
                "ref.force-push",
                rule.severity,
                u,
                None,
                format!(
                    "the update {range} is not a fast-forward: it would drop {} commit(s) from {name}, and {patterns} may not be rewritten",
                    u.lost_commits
                ),
                format!(
                    "fetch, rebase your commits onto the current {name} (`git pull --rebase`), and push without --force; to undo a commit, push a `git revert` instead"
                ),
                Some(&rule.origin),
            ));
        }
    }
}

fn name_rules(policy: &Policy, u: &UpdateFacts, out: &mut Vec<Violation>) {
    if matches!(u.kind, UpdateKind::Delete | UpdateKind::Unchanged) {
        return;
    }
    let (rule, what) = match u.update.class() {
        RefClass::Branch => (&policy.names.branches, "branch"),
        RefClass::Tag => (&policy.names.tags, "tag"),
        RefClass::Other => return,
    };
    let Some((re, origin)) = rule else { return };
    let short = u.update.short_name();
    if !re.is_match(short) {
        out.push(violation(
            &format!("names.{what}"),
            policy.names.severity,
            u,
            None,
            format!(
                "{what} name {short:?} does not match the required pattern /{}/",
                re.as_str()
            ),
            if what == "tag" {
                format!(
                    "name the tag to match /{}/: `git tag <new-name> {short}`, `git tag -d {short}`, then `git push origin tag <new-name>` (`tag` keeps git from pushing a branch of that name)",
                    re.as_str()
                )
            } else {
                format!(
                    "push to a branch whose name matches /{}/ (`git push origin HEAD:<new-name>`)",
                    re.as_str()
                )
            },
            Some(origin),
        ));
    }
}

fn commit_rules(policy: &Policy, u: &UpdateFacts, c: &CommitFacts, out: &mut Vec<Violation>) {
    if let Some(rule) = &policy.identities {
        for (role, person) in [("author", &c.author), ("committer", &c.committer)] {
            if !rule.allow.is_match(&person.email.to_lowercase()) {
                out.push(violation(
                    "identities.allow",
                    rule.severity,
                    u,
                    Some(c),
                    format!(
                        "{role} email <{}> is not allowed (allowed: {})",
                        person.email,
                        rule.allow_text.join(", ")
                    ),
                    "set an allowed address (`git config user.email you@example.com`) and rewrite the commit: `git commit --amend --reset-author --no-edit`, or `git rebase -i --exec 'git commit --amend --reset-author --no-edit' <base>` for several".into(),
                    Some(&rule.origin),
                ));
            }
        }
    }
    if let Some((re, origin)) = &policy.commits.message_pattern {
        if !re.is_match(&c.message) {
            out.push(violation(
                "commits.message-pattern",
                policy.commits.severity,
                u,
                Some(c),
                format!("the commit message does not match the required pattern /{}/", re.as_str()),
                "reword the message (`git commit --amend`, or `git rebase -i` and `reword` for older commits)".into(),
                Some(origin),
            ));
        }
    }
    if let Some(origin) = &policy.commits.signed_off_by {
        if !has_sign_off(&c.message, &c.author.email) {
            out.push(violation(
                "commits.signed-off-by",
                policy.commits.severity,
                u,
                Some(c),
                format!(
                    "no `Signed-off-by:` trailer for the author <{}> (Developer Certificate of Origin)",
                    c.author.email
                ),
                "add your sign-off: `git commit --amend -s --no-edit` (or `git rebase --signoff <base>` for several commits)".into(),
                Some(origin),
            ));
        }
    }
}

/// Turns the manifest findings of the blocks that apply on this ref into violations. A finding
/// marked `signable` (a protected namespace, a ClusterSecretStore, a Flux Kustomization's
/// decryption) does not count when the commit is signed by one of the block's `signers`.
fn manifest_rules(policy: &Policy, u: &UpdateFacts, c: &CommitFacts, out: &mut Vec<Violation>) {
    for (index, block) in policy.manifest_blocks(&u.update.name) {
        for mf in c.manifest_findings.iter().filter(|m| m.block == index) {
            let f = &mf.finding;
            // The rule that made the finding says whether the block's signers may make it.
            if f.signable {
                let key = c.signature.as_ref().and_then(|s| s.key_id());
                if let (Some(signers), Some(key)) = (&block.signers, key) {
                    if signers.allows(key) {
                        continue;
                    }
                }
            }
            let mut v = violation(
                &f.rule,
                block.severity,
                u,
                Some(c),
                f.message.clone(),
                f.fix.clone(),
                Some(&block.origin),
            );
            v.container = f.container.clone();
            v.path = Some(f.path.clone());
            v.line = Some(f.line);
            v.column = Some(f.column);
            v.object = f.object.clone();
            out.push(v);
        }
    }
}

/// Whether a signature counts as the forge signing for a host user.
fn forge_signed(policy: &Policy, sig: Option<&SignatureFacts>) -> bool {
    match (&policy.forge, sig.and_then(|s| s.key_id())) {
        (Some(forge), Some(key)) => forge.allows(key),
        _ => false,
    }
}

fn describe_key(sig: &SignatureFacts) -> String {
    match sig {
        SignatureFacts::Good {
            key_id, user_ids, ..
        } => match user_ids.first() {
            Some(uid) => format!("{key_id} ({uid})"),
            None => key_id.clone(),
        },
        SignatureFacts::Unsigned => "no signature".into(),
        SignatureFacts::Bad { reason } => reason.clone(),
    }
}

const SIGN_FIX: &str = "sign your commits with a key the administrators trust for this ref (`git commit --amend -S --no-edit`, or `git rebase --exec 'git commit --amend -S --no-edit' <base>` for several); `git log --show-signature` shows what you signed with";

/// The fix for a commit the Git host made itself (a web merge or edit): the pusher cannot
/// `--amend -S` a commit they never had, so the advice is to merge locally or to trust the
/// host's own signing key.
const FORGE_SIGN_FIX: &str = "this commit was made by the Git host (a web merge or edit), so you cannot re-sign it: merge or rebase the change on your own machine, sign the result (`git commit -S`, `git merge -S`), and push that; or ask the administrators to trust the host's signing key (`[host] forge_group`, docs/hosts.md) and to list its group in this ref's `signers`";

/// Whether the Git host made the commit: the push came through its web UI, or the committer is
/// a `noreply@` address (GitHub's web-flow committer `noreply@github.com`, Gitea's default).
pub fn made_by_forge(c: &CommitFacts, web_push: bool) -> bool {
    web_push
        || c.committer
            .email
            .split_once('@')
            .is_some_and(|(local, _)| local.eq_ignore_ascii_case("noreply"))
}

fn signature_rules(
    policy: &Policy,
    u: &UpdateFacts,
    c: &CommitFacts,
    web_push: bool,
    out: &mut Vec<Violation>,
) {
    let sig = c.signature.as_ref();
    let sign_fix = if made_by_forge(c, web_push) {
        FORGE_SIGN_FIX
    } else {
        SIGN_FIX
    };
    for rule in policy
        .ref_rules(&u.update.name)
        .filter(|r| r.require_signed)
    {
        let v = match sig {
            None | Some(SignatureFacts::Unsigned) => Some((
                "signature.missing",
                "the commit is not signed, and every new commit on this ref must be".to_string(),
            )),
            Some(SignatureFacts::Bad { reason }) => Some(("signature.invalid", format!("the signature does not count: {reason}"))),
            Some(good @ SignatureFacts::Good { key_id, .. }) => match &rule.signers {
                Some(signers) if !signers.allows(key_id) => Some((
                    "signature.signer",
                    format!(
                        "signed by {}, which is not in the groups allowed to sign for this ref ({})",
                        describe_key(good),
                        signers.groups.join(", ")
                    ),
                )),
                _ => None,
            },
        };
        if let Some((id, what)) = v {
            out.push(violation(
                id,
                rule.severity,
                u,
                Some(c),
                what,
                sign_fix.into(),
                Some(&rule.origin),
            ));
        }
    }
    if let (
        Some(origin),
        Some(SignatureFacts::Good {
            binds_committer: false,
            user_ids,
            ..
        }),
    ) = (&policy.bind_to_signer, sig)
    {
        if !forge_signed(policy, sig) {
            out.push(violation(
                "identities.bind-to-signer",
                policy.identities.as_ref().map_or(Severity::Deny, |i| i.severity),
                u,
                Some(c),
                format!(
                    "the committer <{}> is not an identity of the signing key (its identities: {})",
                    c.committer.email,
                    if user_ids.is_empty() { "none".to_string() } else { user_ids.join(", ") }
                ),
                "commit with the email of your signing key (`git config user.email`), or add that email as a user id of your key and give the administrators the updated key".into(),
                Some(origin),
            ));
        }
    }
}

fn tag_rules(policy: &Policy, u: &UpdateFacts, out: &mut Vec<Violation>) {
    tag_identity_rules(policy, u, out);
    if matches!(u.kind, UpdateKind::Delete | UpdateKind::Unchanged)
        || u.update.class() != RefClass::Tag
    {
        return;
    }
    for rule in policy
        .ref_rules(&u.update.name)
        .filter(|r| r.require_signed_tag)
    {
        let what = match (&u.target, &u.tag_signature) {
            (Some(crate::facts::TargetKind::Tag), Some(SignatureFacts::Good { key_id, .. })) => match &rule.signers {
                Some(signers) if !signers.allows(key_id) => Some((
                    "tag.signer",
                    format!(
                        "the tag is signed by {}, which is not in the groups allowed to sign these tags ({})",
                        u.tag_signature.as_ref().map(describe_key).unwrap_or_default(),
                        signers.groups.join(", ")
                    ),
                )),
                _ => None,
            },
            (Some(crate::facts::TargetKind::Tag), Some(SignatureFacts::Bad { reason })) => {
                Some(("tag.invalid", format!("the tag's signature does not count: {reason}")))
            }
            (Some(crate::facts::TargetKind::Tag), _) => Some(("tag.unsigned", "the annotated tag is not signed".to_string())),
            _ => Some(("tag.unsigned", "a lightweight tag carries no signature; this tag must be an annotated, signed tag".to_string())),
        };
        if let Some((id, what)) = what {
            out.push(violation(
                id,
                rule.severity,
                u,
                None,
                what,
                format!("make a signed tag with a trusted key: `git tag -s {} -m <message> <commit>`, then push it", u.update.short_name()),
                Some(&rule.origin),
            ));
        }
    }
}

/// Which refs a push may write at all. Branches and tags, and whatever a `[[ref]]` block names;
/// not `refs/replace/*` (it changes what some tools show for a commit), `refs/notes/*`, the
/// forge's `refs/pull/*` (only the forge's own pushes, which are skipped before this) or any
/// other namespace the policy never thought about. A branch or tag named `HEAD`, or a tag and
/// a branch sharing the short name of a protected ref, make `main` mean two things to the tools
/// that resolve short names (Argo CD's `targetRevision`, `git checkout`).
fn namespace_rules(policy: &Policy, u: &UpdateFacts, out: &mut Vec<Violation>) {
    if u.kind == UpdateKind::Unchanged {
        return;
    }
    let name = &u.update.name;
    let named = policy.ref_rules(name).next().is_some();
    let standard = name.starts_with("refs/heads/") || name.starts_with("refs/tags/");
    if !standard && !named {
        out.push(violation(
            "ref.namespace",
            Severity::Deny,
            u,
            None,
            format!(
                "{name} is outside refs/heads/ and refs/tags/, and no [[ref]] block of the policy names it"
            ),
            "push branches and tags only; if this namespace is meant to be written, an administrator adds a [[ref]] block that matches it".into(),
            None,
        ));
        return;
    }
    if u.kind == UpdateKind::Delete || !standard {
        return;
    }
    let short = u.update.short_name();
    if short == "HEAD" || short.starts_with("refs/") {
        out.push(violation(
            "ref.ambiguous",
            Severity::Deny,
            u,
            None,
            format!("{name}: a branch or tag named {short:?} is read as something else by git and the tools that resolve short names"),
            "choose another name".into(),
            None,
        ));
        return;
    }
    let Some(twin) = &u.twin else { return };
    let protecting = policy
        .refs
        .iter()
        .find(|r| r.patterns.is_match(twin) || r.patterns.is_match(name));
    if let Some(rule) = protecting {
        out.push(violation(
            "ref.ambiguous",
            Severity::Deny,
            u,
            None,
            format!(
                "{name} would share its short name {short:?} with {twin}, and one of them is protected: a controller or a person asking for {short:?} may get either"
            ),
            "choose a name that no other branch or tag uses".into(),
            Some(&rule.origin),
        ));
    }
}

/// A push to a symbolic ref on the server writes the ref it points at, under another name
/// than the one the rules were matched against.
fn symbolic_rules(u: &UpdateFacts, out: &mut Vec<Violation>) {
    if let Some(target) = &u.symbolic_target {
        out.push(violation(
            "ref.symbolic",
            Severity::Deny,
            u,
            None,
            format!(
                "{} is a symbolic ref to {target} on the server: the push would write {target}",
                u.update.name
            ),
            format!("push to {target} itself"),
            None,
        ));
    }
}

/// Refs judged by the policy point at commits (branches) or tags; a ref that names a tree or a
/// blob carries nothing a signature rule could judge.
fn target_rules(u: &UpdateFacts, out: &mut Vec<Violation>) {
    use crate::facts::TargetKind;
    if matches!(u.kind, UpdateKind::Delete | UpdateKind::Unchanged) {
        return;
    }
    let what = match u.target {
        Some(TargetKind::Tree) => Some("tree"),
        Some(TargetKind::Blob) => Some("blob"),
        // An annotated tag of a tree or a blob (or of such a tag): no commit at the end.
        Some(TargetKind::Tag) if u.tip.is_none() => Some("tag of no commit"),
        _ => None,
    };
    if let Some(kind) = what {
        out.push(violation(
            "ref.target",
            Severity::Deny,
            u,
            None,
            format!(
                "{} would point at a {kind} ({}); refs point at commits, or at tags of commits",
                u.update.name,
                u.update.new.short()
            ),
            "push a commit (or an annotated tag of one) to this ref".into(),
            None,
        ));
    }
}

/// Whether a tag name is one a version selector would pick (Flux's `ref.semver`, Argo CD's
/// `targetRevision` constraints, Renovate): `1`, `1.2`, `v1.2.3`, `V1.2.3-rc.1+build` …
pub fn looks_like_version(name: &str) -> bool {
    let rest = name
        .strip_prefix(['v', 'V'])
        .unwrap_or(name)
        .trim_start_matches('=');
    let core = rest.split(['-', '+']).next().unwrap_or("");
    core.starts_with(|c: char| c.is_ascii_digit())
        && core.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// A tag object's own name, `target_on`, and version-like names outside the release rules.
fn tag_identity_rules(policy: &Policy, u: &UpdateFacts, out: &mut Vec<Violation>) {
    if matches!(u.kind, UpdateKind::Delete | UpdateKind::Unchanged)
        || u.update.class() != RefClass::Tag
    {
        return;
    }
    let short = u.update.short_name();
    if let Some(made_for) = &u.tag_name {
        if made_for != short {
            out.push(violation(
                "tag.name",
                Severity::Deny,
                u,
                None,
                format!(
                    "the tag object was made for the name {made_for:?} but is pushed as {short:?}: a signed tag is valid only under its own name"
                ),
                format!("make a tag for this name: `git tag -s {short} -m <message> <commit>`"),
                None,
            ));
        }
    }
    for rule in policy
        .ref_rules(&u.update.name)
        .filter(|r| !r.target_on.is_empty())
    {
        let on = u
            .target_on
            .iter()
            .any(|(name, on)| *on && rule.target_on.contains(name));
        if !on {
            out.push(violation(
                "tag.target-on",
                rule.severity,
                u,
                None,
                format!(
                    "the tag points at {}, which is not on {} (tags matching {} may only name commits already there)",
                    u.tip.as_ref().map_or("no commit".to_string(), |t| t.short().to_string()),
                    rule.target_on.join(" or "),
                    rule.pattern_text.join(", ")
                ),
                format!(
                    "tag a commit of {} (push it there first), e.g. `git tag -s {short} -m <message> origin/{}`",
                    rule.target_on.join(" or "),
                    rule.target_on[0].trim_start_matches("refs/heads/")
                ),
                Some(&rule.origin),
            ));
        }
    }
    let release_blocks: Vec<&super::RefRule> = policy
        .refs
        .iter()
        .filter(|r| {
            r.is_release_block() && r.pattern_text.iter().any(|p| p.starts_with("refs/tags/"))
        })
        .collect();
    let covered = policy
        .ref_rules(&u.update.name)
        .any(|r| r.is_release_block());
    if !release_blocks.is_empty() && !covered && looks_like_version(short) {
        let patterns: Vec<&str> = release_blocks
            .iter()
            .flat_map(|r| r.pattern_text.iter().map(String::as_str))
            .collect();
        out.push(violation(
            "tag.version-name",
            Severity::Deny,
            u,
            None,
            format!(
                "{short:?} reads as a version, which Flux's semver selector and Argo CD's version constraints would deploy, but it is not a release tag ({})",
                patterns.join(", ")
            ),
            format!(
                "name release tags as the policy does ({}), and other tags with a name that is not a version",
                patterns.join(", ")
            ),
            release_blocks.first().map(|r| &r.origin),
        ));
    }
}

/// The file a violation is about (the path alone: the line and column are fields of their own).
fn base_path(v: &Violation) -> Option<&str> {
    v.path.as_deref()
}

/// Rules on an update's net effect: the tree the ref will hold against the tree it held.
/// What the per-commit rules already reported for this update is not reported again.
fn net_rules(
    policy: &Policy,
    u: &UpdateFacts,
    commits: &std::collections::HashMap<crate::hook::Oid, CommitFacts>,
    pusher: Option<&str>,
    out: &mut Vec<Violation>,
) {
    let Some(net) = &u.net else { return };
    let Some(tip) = u
        .tip
        .as_ref()
        .and_then(|t| commits.get(t))
        .or_else(|| u.new_commits.last().and_then(|t| commits.get(t)))
    else {
        return;
    };
    let range = match &net.base {
        Some(b) => format!("{}..{}", b.short(), tip.id.short()),
        None => format!("the empty tree..{}", tip.id.short()),
    };
    // A rendered object's label names its root: the same object judged in its file is the
    // same finding.
    let object = |v: &Violation| {
        v.object
            .as_deref()
            .map(|o| o.split(" (rendered by ").next().unwrap_or(o).to_string())
    };
    let reported = |out: &Vec<Violation>, v: &Violation, by_commit: bool| {
        out.iter().any(|o| {
            o.rule == v.rule
                && base_path(o) == base_path(v)
                && object(o) == object(v)
                && o.container == v.container
                && (!by_commit || o.commit == v.commit)
        })
    };
    let mut found: Vec<Violation> = Vec::new();
    let net_what = |what: String| format!("net effect of {range} on {}: {what}", u.update.name);
    for rule in policy.path_rules(&u.update.name) {
        for ch in &net.changes {
            let Some(hit) = touched_in(u, ch)
                .into_iter()
                .find(|p| rule.patterns.is_match(p))
            else {
                continue;
            };
            let via = if hit == ch.path {
                String::new()
            } else {
                via_text(u, ch, &hit)
            };
            let patterns = rule.pattern_text.join(", ");
            let mut push = |rule_id: &str, c: &CommitFacts, what: String, fix: &str| {
                let mut v = violation(
                    rule_id,
                    rule.severity,
                    u,
                    Some(c),
                    net_what(what),
                    fix.into(),
                    Some(&rule.origin),
                );
                v.path = Some(ch.path.clone());
                found.push(v);
            };
            if rule.forbid {
                push(
                    "path.forbid",
                    tip,
                    format!("{} {}{via}, and nobody may change {patterns} by push", change_verb(ch), ch.path),
                    "leave these paths as they are on the ref; they are changed only by the administrators, outside git push",
                );
                continue;
            }
            if let Some(allowed) = &rule.pushers {
                if !pusher.is_some_and(|p| allowed.iter().any(|a| a == p)) {
                    let who =
                        pusher.map_or("an unnamed pusher".to_string(), |p| format!("pusher {p:?}"));
                    push(
                        "path.pushers",
                        tip,
                        format!(
                            "{} {}{via}: only {} may push changes to {patterns}, not {who}",
                            change_verb(ch),
                            ch.path,
                            allowed.join(", ")
                        ),
                        "ask one of them to push this change (or open a merge request they merge)",
                    );
                }
            }
            let Some(signers) = &rule.signers else {
                continue;
            };
            let answerable: Vec<&CommitFacts> = net
                .answerable
                .get(&ch.path)
                .map(|ids| ids.iter().filter_map(|id| commits.get(id)).collect())
                .unwrap_or_else(|| vec![tip]);
            for c in &answerable {
                let sig = c.signature.as_ref();
                let by_forge = forge_signed(policy, sig)
                    && rule.pushers.as_ref().is_some_and(|allowed| {
                        pusher.is_some_and(|p| allowed.iter().any(|a| a == p))
                    });
                let ok = by_forge
                    || sig
                        .and_then(|s| s.key_id())
                        .is_some_and(|k| signers.allows(k));
                if !ok {
                    let by = sig
                        .map(describe_key)
                        .unwrap_or_else(|| "no signature".into());
                    push(
                        "path.signers",
                        c,
                        format!(
                            "{} {}{via}; commit {} is answerable for its new state (it made it, or a merge that chose it over {}'s), and only keys of {} may: it has {by}",
                            change_verb(ch),
                            ch.path,
                            c.id.short(),
                            u.update.name,
                            signers.groups.join(", ")
                        ),
                        "have a member of those groups make (and sign) this change; a merge must keep what the ref holds unless its signer may change it",
                    );
                }
            }
            if rule.two_person {
                let sigs: Vec<&crate::facts::SignatureFacts> = answerable
                    .iter()
                    .filter_map(|c| c.signature.as_ref())
                    .collect();
                let two = sigs.iter().enumerate().any(|(i, a)| {
                    sigs[i + 1..]
                        .iter()
                        .any(|b| a.key_id().is_some() && b.key_id().is_some() && !a.same_person(b))
                });
                if !two {
                    let names: Vec<String> = answerable
                        .iter()
                        .map(|c| c.id.short().to_string())
                        .collect();
                    push(
                        "path.two-person",
                        tip,
                        format!(
                            "{} {}{via}, and only one person answers for it (commits {}): a second member of {} must review it and sign the merge that brings it",
                            change_verb(ch),
                            ch.path,
                            names.join(", "),
                            signers.groups.join(", ")
                        ),
                        "push the change on a branch, and have a second member of the groups merge it with a signed merge commit (`git merge --no-ff -S`)",
                    );
                }
            }
        }
    }
    // One commit on top of the base: its own file and manifest rules judged exactly this change.
    if !net.one_commit {
        net_content_rules(policy, u, tip, net, &net_what, &mut found);
    }
    // What the controllers render from the tree, whatever the files look like.
    if !net.rendered_findings.is_empty() {
        let before = found.len();
        let mut as_commit = tip.clone();
        as_commit.changes = Vec::new();
        as_commit.manifest_findings = net.rendered_findings.clone();
        manifest_rules(policy, u, &as_commit, &mut found);
        for v in &mut found[before..] {
            v.what = net_what(std::mem::take(&mut v.what));
        }
    }
    for v in found {
        let by_commit = v.rule == "path.signers";
        if !reported(out, &v, by_commit) {
            out.push(v);
        }
    }
}

/// `[files]` and `[[manifests]]` rules on an update's net effect, as if one commit made it.
fn net_content_rules(
    policy: &Policy,
    u: &UpdateFacts,
    tip: &CommitFacts,
    net: &crate::facts::NetEffect,
    net_what: &dyn Fn(String) -> String,
    found: &mut Vec<Violation>,
) {
    let files_before = found.len();
    let mut as_commit = tip.clone();
    as_commit.changes = net.changes.clone();
    file_rules(policy, u, &as_commit, found);
    as_commit.changes = Vec::new();
    as_commit.manifest_findings = net.manifest_findings.clone();
    manifest_rules(policy, u, &as_commit, found);
    for v in &mut found[files_before..] {
        v.what = net_what(std::mem::take(&mut v.what));
    }
}

fn push_rules(policy: &Policy, facts: &PushFacts, out: &mut Vec<Violation>) {
    for u in &facts.updates {
        for rule in policy
            .ref_rules(&u.update.name)
            .filter(|r| r.require_signed_push)
        {
            let fix =
                "push with `git push --signed`, using a key the administrators trust for this ref"
                    .to_string();
            let v = match &facts.push_cert {
                None => Some(("push.unsigned", "the push is not signed (no push certificate)".to_string())),
                Some(cert) if cert.replayed => Some((
                    "push.replay",
                    "this push certificate was used before: a recorded signed push replayed".to_string(),
                )),
                Some(cert)
                    if !(cert.nonce_status.as_deref() == Some("OK")
                        || (policy.signatures.allow_nonce_slop
                            && cert.nonce_status.as_deref() == Some("SLOP"))) =>
                {
                    Some((
                    "push.nonce",
                    format!(
                        "the push certificate's nonce is {} (not the one this server issued: a replayed or stale certificate)",
                        cert.nonce_status.as_deref().unwrap_or("missing")
                    ),
                ))
                }
                Some(PushCertFacts { mismatch: Some(m), .. }) => {
                    Some(("push.mismatch", format!("the push certificate does not describe this push: {m}")))
                }
                Some(PushCertFacts { signature: SignatureFacts::Good { key_id, .. }, .. }) => match &rule.signers {
                    Some(signers) if !signers.allows(key_id) => Some((
                        "push.signer",
                        format!("the push is signed by {key_id}, not a key of {}", signers.groups.join(", ")),
                    )),
                    _ => None,
                },
                Some(PushCertFacts { signature: SignatureFacts::Bad { reason }, .. }) => {
                    Some(("push.invalid", format!("the push certificate's signature does not count: {reason}")))
                }
                Some(_) => Some(("push.unsigned", "the push certificate carries no signature".to_string())),
            };
            if let Some((id, what)) = v {
                out.push(violation(
                    id,
                    rule.severity,
                    u,
                    None,
                    what,
                    fix,
                    Some(&rule.origin),
                ));
            }
        }
    }
}

/// `two_person = true`: a commit that changes a protected path must be signed by a member of
/// the block's groups and reach the ref through a merge, in the same push, signed by a
/// *different* member. The merge's first-parent line is the ref's history; a protected change
/// made directly on that line (not brought by a merge) has no second person.
fn two_person_rules(
    policy: &Policy,
    u: &UpdateFacts,
    commits: &std::collections::HashMap<crate::hook::Oid, CommitFacts>,
    out: &mut Vec<Violation>,
) {
    let rules: Vec<&PathRule> = policy
        .path_rules(&u.update.name)
        .filter(|r| r.two_person)
        .collect();
    if rules.is_empty() || u.new_commits.is_empty() {
        return;
    }
    let new: std::collections::HashSet<&crate::hook::Oid> = u.new_commits.iter().collect();
    // The first-parent line of the new tip, within the new commits.
    let mut line = Vec::new();
    let mut next = u.tip.clone();
    while let Some(cur) = next.take() {
        if !new.contains(&cur) {
            break;
        }
        next = commits.get(&cur).and_then(|c| c.parents.first().cloned());
        line.push(cur);
    }
    // For every commit brought by a merge on the line: the merge that brings it.
    let mut merged_by: std::collections::HashMap<crate::hook::Oid, crate::hook::Oid> =
        std::collections::HashMap::new();
    for m in &line {
        let Some(mc) = commits.get(m) else { continue };
        let mut stack: Vec<crate::hook::Oid> = mc.parents.iter().skip(1).cloned().collect();
        while let Some(x) = stack.pop() {
            if !new.contains(&x) || line.contains(&x) || merged_by.contains_key(&x) {
                continue;
            }
            merged_by.insert(x.clone(), m.clone());
            if let Some(xc) = commits.get(&x) {
                stack.extend(xc.parents.iter().cloned());
            }
        }
    }
    for rule in rules {
        let Some(signers) = &rule.signers else {
            continue;
        };
        for id in &u.new_commits {
            let Some(c) = commits.get(id) else { continue };
            if c.parents.len() > 1 {
                continue; // a merge's own changes are judged by `signers`; it is the second person
            }
            let touches = c
                .changes
                .iter()
                .any(|ch| touched_in(u, ch).iter().any(|p| rule.patterns.is_match(p)));
            if !touches {
                continue;
            }
            let author = c.signature.as_ref();
            let what = match merged_by.get(id).and_then(|m| commits.get(m)) {
                None => Some(format!(
                    "the change to {} is not brought in by a merge in this push: a second member of {} must review it and sign the merge",
                    rule.pattern_text.join(", "),
                    signers.groups.join(", ")
                )),
                Some(m) => match (m.signature.as_ref(), author) {
                    (Some(ms), Some(a)) if ms.same_person(a) => Some(if ms.key_id() == a.key_id() {
                        format!(
                            "the change and the merge {} that brings it are signed by the same key {}: two different people must sign",
                            m.id.short(),
                            describe_key(a)
                        )
                    } else {
                        format!(
                            "the change and the merge {} that brings it are signed by two keys of one person ({} and {}): two different people must sign",
                            m.id.short(),
                            describe_key(a),
                            describe_key(ms)
                        )
                    }),
                    (Some(ms), _) if ms.key_id().is_some_and(|k| signers.allows(k)) => None,
                    _ => Some(format!(
                        "the merge {} that brings the change is not signed by a member of {}",
                        m.id.short(),
                        signers.groups.join(", ")
                    )),
                },
            };
            if let Some(what) = what {
                let mut v = violation(
                    "path.two-person",
                    rule.severity,
                    u,
                    Some(c),
                    what,
                    "push the change on a branch, and have a second member of the groups merge it with a signed merge commit (`git merge --no-ff -S`)".into(),
                    Some(&rule.origin),
                );
                v.path = c
                    .changes
                    .iter()
                    .find(|ch| touched_in(u, ch).iter().any(|p| rule.patterns.is_match(p)))
                    .map(|ch| ch.path.clone());
                out.push(v);
            }
        }
    }
}

/// The paths a change touches for path rules: its own path, and the in-repository targets of
/// a symlink on either side (a link into `clusters/prod/` protects as `clusters/prod/`).
pub fn touched_paths(ch: &FileChange) -> Vec<String> {
    let mut out = vec![ch.path.clone()];
    for target in [&ch.old_link, &ch.new_link].into_iter().flatten() {
        if let Some(resolved) = resolve_link(&ch.path, target) {
            if !out.contains(&resolved) {
                out.push(resolved);
            }
        }
    }
    out
}

/// How a change reaches the protected path `hit`: its own symlink, or a symlink under the
/// protected path that resolves to it.
fn via_text(u: &UpdateFacts, ch: &FileChange, hit: &str) -> String {
    for a in u.aliases.iter().filter(|a| a.link == hit) {
        match a.via {
            AliasVia::Rendered => {
                return format!(
                " (the protected root {hit} renders it: Flux or Argo CD apply it as part of {hit})"
            )
            }
            AliasVia::Submodule => {
                return format!(
                    " ({} says where the protected submodule {hit} is fetched from)",
                    a.target
                )
            }
            AliasVia::Symlink => {}
        }
    }
    if touched_paths(ch).iter().any(|p| p == hit) {
        format!(" (through the symlink {} -> {hit})", ch.path)
    } else {
        format!(" (read as {hit} through a symlink there)")
    }
}

/// [`touched_paths`], plus the protected paths that reach a touched path through a symlink at
/// the update's new tip (`clusters/prod/shared -> ../../apps/shared`: a change to
/// `apps/shared/x.yaml` is a change to `clusters/prod/shared/x.yaml`).
pub fn touched_in(u: &UpdateFacts, ch: &FileChange) -> Vec<String> {
    let mut out = touched_paths(ch);
    let mut i = 0;
    while i < out.len() {
        for a in &u.aliases {
            let p = &out[i];
            let rest = if p == &a.target {
                Some("")
            } else {
                p.strip_prefix(a.target.as_str())
                    .filter(|r| r.starts_with('/'))
            };
            if let Some(rest) = rest {
                // A rendered alias stands for its root's defining file, whatever it reads.
                let via = match a.via {
                    AliasVia::Symlink => format!("{}{rest}", a.link),
                    AliasVia::Rendered | AliasVia::Submodule => a.link.clone(),
                };
                if !out.contains(&via) && out.len() < 64 {
                    out.push(via);
                }
            }
        }
        i += 1;
    }
    out
}

/// Resolves a symlink target against the link's directory, inside the repository. None when
/// the target is absolute or climbs above the repository root.
pub fn resolve_link(link_path: &str, target: &str) -> Option<String> {
    if target.starts_with('/') || target.is_empty() {
        return None;
    }
    let mut parts: Vec<&str> = link_path.split('/').collect();
    parts.pop();
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn path_rules(
    policy: &Policy,
    u: &UpdateFacts,
    c: &CommitFacts,
    pusher: Option<&str>,
    out: &mut Vec<Violation>,
) {
    for rule in policy.path_rules(&u.update.name) {
        let Some((ch, hit)) = c.changes.iter().find_map(|ch| {
            touched_in(u, ch)
                .into_iter()
                .find(|p| rule.patterns.is_match(p))
                .map(|hit| (ch, hit))
        }) else {
            continue;
        };
        let patterns = rule.pattern_text.join(", ");
        let via = if hit == ch.path {
            String::new()
        } else {
            via_text(u, ch, &hit)
        };
        let with_path = |mut v: Violation| {
            v.path = Some(ch.path.clone());
            v
        };
        if rule.forbid {
            out.push(with_path(violation(
                "path.forbid",
                rule.severity,
                u,
                Some(c),
                format!("{} {}{via}, and nobody may change {patterns} by push", change_verb(ch), ch.path),
                "drop this change from the commit (`git rebase -i`, then `git restore --source=<base> -- <path>`); these paths are changed only by the administrators, outside git push".into(),
                Some(&rule.origin),
            )));
            continue;
        }
        if let Some(signers) = &rule.signers {
            let sig = c.signature.as_ref();
            let by_forge_for_allowed_pusher = forge_signed(policy, sig)
                && rule
                    .pushers
                    .as_ref()
                    .is_some_and(|allowed| pusher.is_some_and(|p| allowed.iter().any(|a| a == p)));
            let ok = by_forge_for_allowed_pusher
                || sig
                    .and_then(|s| s.key_id())
                    .is_some_and(|k| signers.allows(k));
            if !ok {
                let by = sig
                    .map(describe_key)
                    .unwrap_or_else(|| "no signature".into());
                out.push(with_path(violation(
                    "path.signers",
                    rule.severity,
                    u,
                    Some(c),
                    format!(
                        "{} {}{via}, which only keys of {} may sign; this commit has {by}",
                        change_verb(ch),
                        ch.path,
                        signers.groups.join(", ")
                    ),
                    "have a member of those groups make (and sign) this change, or split it out of your commit".into(),
                    Some(&rule.origin),
                )));
            }
        }
        if let Some(allowed) = &rule.pushers {
            let ok = pusher.is_some_and(|p| allowed.iter().any(|a| a == p));
            if !ok {
                let who = pusher.map_or(
                    "an unnamed pusher (the host did not say who pushed)".to_string(),
                    |p| format!("pusher {p:?}"),
                );
                out.push(with_path(violation(
                    "path.pushers",
                    rule.severity,
                    u,
                    Some(c),
                    format!(
                        "{} {}{via}: only {} may push changes to {patterns}, not {who}",
                        change_verb(ch),
                        ch.path,
                        allowed.join(", ")
                    ),
                    "ask one of them to push this change (or open a merge request they merge)"
                        .into(),
                    Some(&rule.origin),
                )));
            }
        }
    }
}

fn change_verb(ch: &FileChange) -> &'static str {
    match (&ch.old, &ch.new) {
        (None, Some(_)) => "adds",
        (Some(_), None) => "deletes",
        (Some(o), Some(n)) if o.mode != n.mode && o.id == n.id => "changes the mode of",
        _ => "changes",
    }
}

fn file_rules(policy: &Policy, u: &UpdateFacts, c: &CommitFacts, out: &mut Vec<Violation>) {
    let f = &policy.files;
    for ch in &c.changes {
        let Some(new) = &ch.new else { continue };
        let mut push = |rule: &str, what: String, fix: &str| {
            let mut v = violation(
                rule,
                f.severity,
                u,
                Some(c),
                what,
                fix.to_string(),
                f.origin.as_ref(),
            );
            v.path = Some(ch.path.clone());
            out.push(v);
        };
        if let Some(glob) = f.forbidden(&ch.path) {
            push(
                "files.forbidden",
                format!("{} {}: a file that must never be in the repository (matches {glob})", change_verb(ch), ch.path),
                "remove the file from every new commit (`git rm --cached <path>`, amend or rebase), and rotate the secret if it was one: it has left your machine",
            );
        }
        if let (Some(max), Some(size)) = (f.max_size, ch.new_size) {
            if size > max {
                push(
                    "files.max-size",
                    format!("{} is {size} bytes, more than the {max} bytes allowed", ch.path),
                    "keep large files out of the GitOps repository (an OCI artifact or a release asset), and remove it from every new commit",
                );
            }
        }
        if !ch.rewrites.is_empty() {
            push(
                "files.gitattributes",
                format!(
                    "{} sets {}: a checkout (Argo CD uses the git CLI) would write other bytes than the ones pushguard judged",
                    ch.path,
                    ch.rewrites.join(", ")
                ),
                "remove these attributes; commit files as the cluster should read them (UTF-8, LF, no filters)",
            );
        }
        if ch.private_key {
            push(
                "files.private-key",
                format!("{} contains a PEM private key", ch.path),
                "remove the key from every new commit and rotate it; commit it only encrypted (SOPS, SealedSecrets)",
            );
        }
        if f.deny_escaping_symlinks && new.mode == crate::facts::FileMode::Symlink {
            if let Some(target) = &ch.new_link {
                if resolve_link(&ch.path, target).is_none() {
                    push(
                        "files.symlink-escape",
                        format!("{} is a symlink to {target:?}, outside the repository", ch.path),
                        "replace the symlink by the file it should hold, or point it inside the repository",
                    );
                }
            }
        }
    }
}

/// A `Signed-off-by: Name <email>` line whose email is the author's (case-insensitive).
pub fn has_sign_off(message: &str, author_email: &str) -> bool {
    message.lines().any(|l| {
        let Some(rest) = l.trim_end().strip_prefix("Signed-off-by:") else {
            return false;
        };
        let Some(start) = rest.rfind('<') else {
            return false;
        };
        let Some(end) = rest.rfind('>') else {
            return false;
        };
        end > start && rest[start + 1..end].eq_ignore_ascii_case(author_email)
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;
    use crate::facts::{FileMode, Person, TargetKind};
    use crate::hook::host::HostEnv;
    use crate::hook::{Oid, RefUpdate};

    fn policy(text: &str) -> Policy {
        Policy::from_text(Path::new("/p/policy.toml"), &format!("version = 1\n{text}")).unwrap()
    }

    fn oid(n: u8) -> Oid {
        if n == 0 {
            Oid::zero(40)
        } else {
            Oid::parse(&format!("{:02x}", n).repeat(20)).unwrap()
        }
    }

    fn update(name: &str, old: u8, new: u8, kind: UpdateKind, commits: &[u8]) -> UpdateFacts {
        UpdateFacts {
            update: RefUpdate {
                old: oid(old),
                new: oid(new),
                name: name.into(),
            },
            kind,
            target: Some(TargetKind::Commit),
            new_commits: commits.iter().map(|&n| oid(n)).collect(),
            tag_signature: None,
            tip: commits.last().map(|&n| oid(n)),
            tag_name: None,
            target_on: vec![],
            net: None,
            symbolic_target: None,
            twin: None,
            aliases: vec![],
            lost_commits: if kind == UpdateKind::NonFastForward {
                2
            } else {
                0
            },
        }
    }

    fn commit(n: u8, email: &str, message: &str) -> CommitFacts {
        let p = Person {
            name: "X".into(),
            email: email.into(),
            time: 0,
        };
        CommitFacts {
            id: oid(n),
            parents: vec![],
            author: p.clone(),
            committer: p,
            subject: message.lines().next().unwrap_or("").into(),
            message: message.into(),
            changes: vec![],
            signature: None,
            manifest_findings: vec![],
        }
    }

    fn facts(updates: Vec<UpdateFacts>, commits: Vec<CommitFacts>) -> PushFacts {
        PushFacts {
            updates,
            commits: commits
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect::<HashMap<_, _>>(),
            host: HostEnv::from_vars(&[], None),
            push_cert: None,
        }
    }

    fn rules(d: &Decision) -> Vec<&str> {
        d.violations.iter().map(|v| v.rule.as_str()).collect()
    }

    const MAIN: &str = "[[ref]]\nmatch = \"refs/heads/main\"\nforce_push = false\ndelete = false\n";

    #[test]
    fn force_push_and_delete_are_judged_per_ref() {
        let p = policy(MAIN);
        let d = evaluate(
            &p,
            &facts(
                vec![update(
                    "refs/heads/main",
                    1,
                    2,
                    UpdateKind::NonFastForward,
                    &[],
                )],
                vec![],
            ),
        );
        assert_eq!(rules(&d), ["ref.force-push"]);
        assert!(!d.accepted);
        assert!(d.violations[0].what.contains("drop 2 commit"));
        assert_eq!(d.violations[0].policy.as_deref(), Some("/p/policy.toml:3"));
        let d = evaluate(
            &p,
            &facts(
                vec![update("refs/heads/main", 1, 0, UpdateKind::Delete, &[])],
                vec![],
            ),
        );
        assert_eq!(rules(&d), ["ref.delete"]);
        let d = evaluate(
            &p,
            &facts(
                vec![update(
                    "refs/heads/main",
                    1,
                    2,
                    UpdateKind::FastForward,
                    &[],
                )],
                vec![],
            ),
        );
        assert!(d.accepted && d.violations.is_empty());
        let d = evaluate(
            &p,
            &facts(
                vec![update(
                    "refs/heads/dev",
                    1,
                    2,
                    UpdateKind::NonFastForward,
                    &[],
                )],
                vec![],
            ),
        );
        assert!(d.accepted, "no rule for dev");
        let d = evaluate(
            &p,
            &facts(
                vec![update("refs/heads/main", 0, 0, UpdateKind::Unchanged, &[])],
                vec![],
            ),
        );
        assert!(d.accepted, "zero to zero deletes nothing");
    }

    #[test]
    fn immutable_tags_never_move() {
        let p = policy("[[ref]]\nmatch = \"refs/tags/v*\"\nimmutable = true\n");
        for kind in [UpdateKind::FastForward, UpdateKind::NonFastForward] {
            let d = evaluate(
                &p,
                &facts(vec![update("refs/tags/v1", 1, 2, kind, &[])], vec![]),
            );
            assert_eq!(rules(&d), ["ref.immutable"]);
        }
        let d = evaluate(
            &p,
            &facts(
                vec![update("refs/tags/v1", 1, 0, UpdateKind::Delete, &[])],
                vec![],
            ),
        );
        assert_eq!(rules(&d), ["ref.immutable"]);
        let d = evaluate(
            &p,
            &facts(
                vec![update("refs/tags/v1", 0, 2, UpdateKind::Create, &[])],
                vec![],
            ),
        );
        assert!(d.accepted);
    }

    #[test]
    fn severity_warn_and_audit_mode_accept_but_report() {
        let p = policy(
            "[[ref]]\nmatch = \"refs/heads/main\"\nforce_push = false\nseverity = \"warn\"\n",
        );
        let d = evaluate(
            &p,
            &facts(
                vec![update(
                    "refs/heads/main",
                    1,
                    2,
                    UpdateKind::NonFastForward,
                    &[],
                )],
                vec![],
            ),
        );
        assert!(d.accepted);
        assert_eq!(d.violations.len(), 1);
        assert_eq!(d.violations[0].severity, Severity::Warn);
        let p = policy(&format!("mode = \"audit\"\n{MAIN}"));
        let d = evaluate(
            &p,
            &facts(
                vec![update(
                    "refs/heads/main",
                    1,
                    2,
                    UpdateKind::NonFastForward,
                    &[],
                )],
                vec![],
            ),
        );
        assert!(d.accepted);
        assert_eq!(d.denials(), 1);
    }

    #[test]
    fn identities_are_checked_on_author_and_committer() {
        let p = policy("[identities]\nallow = [\"*@example.com\"]\n");
        let good = commit(3, "Dana@EXAMPLE.com", "ok");
        let mut bad = commit(4, "dana@example.com", "bad committer");
        bad.committer.email = "mallory@evil.test".into();
        let d = evaluate(
            &p,
            &facts(
                vec![update("refs/heads/x", 0, 4, UpdateKind::Create, &[3, 4])],
                vec![good, bad],
            ),
        );
        assert_eq!(rules(&d), ["identities.allow"]);
        assert!(d.violations[0]
            .what
            .contains("committer email <mallory@evil.test>"));
        assert_eq!(d.violations[0].commit.as_deref(), Some(oid(4).as_str()));
    }

    #[test]
    fn message_pattern_and_sign_off() {
        let p =
            policy("[commits]\nmessage_pattern = \"^(feat|fix|chore): \"\nsigned_off_by = true\n");
        let ok = commit(3, "a@x.org", "feat: thing\n\nSigned-off-by: A <A@x.org>\n");
        let no_pattern = commit(4, "a@x.org", "thing\n\nSigned-off-by: A <a@x.org>\n");
        let wrong_sob = commit(5, "a@x.org", "fix: y\n\nSigned-off-by: B <b@x.org>\n");
        let d = evaluate(
            &p,
            &facts(
                vec![update(
                    "refs/heads/x",
                    1,
                    5,
                    UpdateKind::FastForward,
                    &[3, 4, 5],
                )],
                vec![ok, no_pattern, wrong_sob],
            ),
        );
        assert_eq!(
            rules(&d),
            ["commits.message-pattern", "commits.signed-off-by"]
        );
        assert_eq!(d.violations[1].commit.as_deref(), Some(oid(5).as_str()));
    }

    #[test]
    fn refs_point_at_commits_or_tags_of_commits() {
        let p = policy("");
        let mut tree = update("refs/heads/x", 0, 2, UpdateKind::Create, &[]);
        tree.target = Some(TargetKind::Tree);
        let mut tag_of_tree = update("refs/tags/t", 0, 3, UpdateKind::Create, &[]);
        tag_of_tree.target = Some(TargetKind::Tag);
        tag_of_tree.tip = None;
        let mut tag = update("refs/tags/u", 0, 4, UpdateKind::Create, &[4]);
        tag.target = Some(TargetKind::Tag);
        let d = evaluate(&p, &facts(vec![tree, tag_of_tree, tag], vec![]));
        assert_eq!(rules(&d), ["ref.target", "ref.target"]);
        assert!(d.violations[1].what.contains("tag of no commit"));
    }

    #[test]
    fn branch_and_tag_names() {
        let p =
            policy("[names]\nbranches = \"^(main|feature/[a-z0-9-]+)$\"\ntags = \"^v[0-9]+\"\n");
        let d = evaluate(
            &p,
            &facts(
                vec![
                    update("refs/heads/feature/ok-1", 0, 2, UpdateKind::Create, &[]),
                    update("refs/heads/Bad_Name", 0, 2, UpdateKind::Create, &[]),
                    update("refs/heads/Bad_Old", 1, 0, UpdateKind::Delete, &[]),
                    update("refs/tags/release", 0, 2, UpdateKind::Create, &[]),
                    update("refs/notes/commits", 0, 2, UpdateKind::Create, &[]),
                ],
                vec![],
            ),
        );
        assert_eq!(rules(&d), ["names.branch", "names.tag", "ref.namespace"]);
    }

    fn change(path: &str, old: Option<(FileMode, u8)>, new: Option<(FileMode, u8)>) -> FileChange {
        let e =
            |x: Option<(FileMode, u8)>| x.map(|(mode, n)| crate::facts::Entry { mode, id: oid(n) });
        FileChange {
            path: path.into(),
            old: e(old),
            new: e(new),
            new_size: None,
            old_link: None,
            new_link: None,
            private_key: false,
            rewrites: vec![],
        }
    }

    fn with_changes(changes: Vec<FileChange>) -> CommitFacts {
        let mut c = commit(3, "a@example.com", "x");
        c.changes = changes;
        c
    }

    #[test]
    fn path_rules_forbid_and_pushers_follow_symlinks() {
        let p = policy("[host]\npusher_variable = \"REMOTE_USER\"\n[[path]]\nmatch = \".sops.yaml\"\nforbid = true\n[[path]]\nmatch = \"clusters/prod/**\"\nrefs = \"refs/heads/main\"\npushers = [\"sre-anna\"]\n");
        let f = FileMode::File;
        let mut link = change("apps/shortcut", None, Some((FileMode::Symlink, 9)));
        link.new_link = Some("../clusters/prod/app.yaml".into());
        let cases: Vec<(FileChange, &str, Option<&str>, Vec<&str>)> = vec![
            (
                change(".sops.yaml", Some((f, 1)), Some((f, 2))),
                "refs/heads/dev",
                Some("x"),
                vec!["path.forbid"],
            ),
            (
                change("clusters/prod/a.yaml", None, Some((f, 2))),
                "refs/heads/main",
                Some("dev-bob"),
                vec!["path.pushers"],
            ),
            (
                change("clusters/prod/a.yaml", None, Some((f, 2))),
                "refs/heads/main",
                None,
                vec!["path.pushers"],
            ),
            (
                change("clusters/prod/a.yaml", None, Some((f, 2))),
                "refs/heads/main",
                Some("sre-anna"),
                vec![],
            ),
            (
                change("clusters/prod/a.yaml", None, Some((f, 2))),
                "refs/heads/dev",
                Some("dev-bob"),
                vec![],
            ),
            (
                change(
                    "clusters/prod/a.yaml",
                    Some((f, 2)),
                    Some((FileMode::Executable, 2)),
                ),
                "refs/heads/main",
                Some("dev-bob"),
                vec!["path.pushers"],
            ),
            (
                change("clusters/prod/a.yaml", Some((f, 2)), None),
                "refs/heads/main",
                Some("dev-bob"),
                vec!["path.pushers"],
            ),
            (
                link,
                "refs/heads/main",
                Some("dev-bob"),
                vec!["path.pushers"],
            ),
        ];
        for (ch, r, pusher, expected) in cases {
            let desc = format!("{} on {r} by {pusher:?}", ch.path);
            let mut fx = facts(
                vec![update(r, 1, 3, UpdateKind::FastForward, &[3])],
                vec![with_changes(vec![ch])],
            );
            fx.host.pusher = pusher.map(str::to_string);
            let d = evaluate(&p, &fx);
            assert_eq!(rules(&d), expected, "{desc}");
        }
    }

    #[test]
    fn file_rules() {
        let p = policy("[files]\nforbidden = [\"*.pem\", \"secrets/**\"]\nforbid_default_secrets = true\nmax_size = 100\ndeny_private_keys = true\ndeny_escaping_symlinks = true\n");
        let f = FileMode::File;
        let mut big = change("data.bin", None, Some((f, 2)));
        big.new_size = Some(101);
        let mut key = change("notes.txt", None, Some((f, 2)));
        key.private_key = true;
        let mut esc = change("apps/l", None, Some((FileMode::Symlink, 2)));
        esc.new_link = Some("../../etc/passwd".into());
        let d = evaluate(
            &p,
            &facts(
                vec![update("refs/heads/x", 1, 3, UpdateKind::FastForward, &[3])],
                vec![with_changes(vec![
                    change("tls/server.pem", None, Some((f, 2))),
                    change("secrets/db.txt", None, Some((f, 2))),
                    change("deploy/id_ed25519", None, Some((f, 2))),
                    change(".env", Some((f, 1)), None),
                    change("README.md", None, Some((f, 2))),
                    big,
                    key,
                    esc,
                ])],
            ),
        );
        assert_eq!(
            rules(&d),
            [
                "files.forbidden",
                "files.forbidden",
                "files.forbidden",
                "files.max-size",
                "files.private-key",
                "files.symlink-escape"
            ]
        );
        assert_eq!(d.violations[2].path.as_deref(), Some("deploy/id_ed25519"));
    }

    #[test]
    fn symlink_resolution() {
        assert_eq!(
            resolve_link("apps/l", "../clusters/prod"),
            Some("clusters/prod".into())
        );
        assert_eq!(resolve_link("l", "./a/./b"), Some("a/b".into()));
        assert_eq!(resolve_link("apps/l", "../../x"), None);
        assert_eq!(resolve_link("l", "/etc/passwd"), None);
    }

    #[test]
    fn gitea_internal_pull_refs_pass() {
        let p = policy("[identities]\nallow = [\"*@example.com\"]\n");
        let mut f = facts(
            vec![update("refs/pull/3/head", 0, 3, UpdateKind::Create, &[3])],
            vec![commit(3, "x@elsewhere.org", "wip")],
        );
        assert!(!evaluate(&p, &f).accepted);
        f.host.internal = true;
        assert!(evaluate(&p, &f).accepted);
    }
}
