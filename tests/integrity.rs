//! What the ref will hold: attacks by someone holding one developer's account and key, against
//! a policy in the shape of `config/policy.example.toml`, through real pushes to a bare
//! repository with the hook installed by `pushguard install`. Every attack has a control push
//! that must land, so a hook that refused everything would fail these tests.

mod common;

use common::gpg::*;
use common::*;

/// The team: two SREs (Anna has two keys: a laptop key and a token, one person) and a
/// developer, Dana, whose account and key the attacker holds.
struct Team {
    s: Setup,
    anna: String,
    anna_token: String,
    ravi: String,
    dana: String,
}

const PERMISSIVE: &str = "version = 1\n";

fn policy(t: &Team, extra: &str) -> String {
    format!(
        r#"version = 1
audit_log = "audit.jsonl"
[keys]
openpgp = ["{keys}/*.asc"]
[groups]
sre = ["openpgp:{anna}", "openpgp:{anna_token}", "openpgp:{ravi}"]
devs = ["openpgp:{dana}", "group:sre"]
[identities]
allow = ["*@example.com"]

[[ref]]
match = ["refs/heads/main", "refs/heads/release/*", "refs/heads/staging"]
signers = ["devs"]
force_push = false
delete = false
{extra}
[[ref]]
match = "refs/tags/v*"
require_signed_tag = true
signers = ["sre"]
immutable = true
target_on = "refs/heads/main"

[[path]]
match = ["clusters/prod/**"]
refs = ["refs/heads/main", "refs/heads/release/*"]
signers = ["sre"]
two_person = true

[[manifests]]
match = ["clusters/**/*.yaml", "apps/**/*.yaml"]
rules = ["privileged"]
refs = ["refs/heads/main", "refs/heads/release/*"]
"#,
        keys = t.s.keys.display(),
        anna = t.anna,
        anna_token = t.anna_token,
        ravi = t.ravi,
        dana = t.dana,
    )
}

impl Team {
    fn new() -> Team {
        let s = Setup::new(PERMISSIVE);
        let anna = s.gpg.key("Anna SRE <anna@example.com>", "ed25519");
        let anna_token = s.gpg.key("Anna SRE (token) <anna@example.com>", "ed25519");
        let ravi = s.gpg.key("Ravi SRE <ravi@example.com>", "ed25519");
        let dana = s.gpg.key("Dana Dev <dana@example.com>", "ed25519");
        for (name, fpr) in [
            ("anna", &anna),
            ("anna-token", &anna_token),
            ("ravi", &ravi),
            ("dana", &dana),
        ] {
            s.gpg.export(fpr, &s.keys.join(format!("{name}.asc")));
        }
        Team {
            s,
            anna,
            anna_token,
            ravi,
            dana,
        }
    }

    /// Pushes `main` with prod and apps files under the permissive policy, then installs the
    /// strict one (with `extra` in the main `[[ref]]` block).
    fn with_history(extra: &str) -> Team {
        let t = Team::new();
        t.f().commit("clusters/prod/app.yaml", POD_V1, "prod v1");
        t.f().commit("apps/web.yaml", "kind: ConfigMap\n", "apps");
        t.f().commit("clusters/prod/app.yaml", POD_V2, "prod v2");
        assert_accepted(&t.s.push(&["-q", "origin", "main"]));
        t.strict(extra);
        t
    }

    fn strict(&self, extra: &str) {
        self.f().set_policy(&policy(self, extra));
    }

    fn f(&self) -> &Fixture {
        &self.s.f
    }

    fn as_(&self, fpr: &str) -> &Self {
        self.s.sign_with(fpr);
        self
    }

    fn head(&self) -> String {
        self.f().git(&["rev-parse", "HEAD"])
    }

    /// A signed commit object with the given tree and parents (what a hand-made merge is).
    fn commit_tree(&self, tree_of: &str, parents: &[&str], message: &str) -> String {
        let tree = format!("{tree_of}^{{tree}}");
        let mut args = vec!["commit-tree", "-S", tree.as_str(), "-m", message];
        for p in parents {
            args.push("-p");
            args.push(p);
        }
        self.s.git_signed(&args)
    }
}

const POD_V1: &str =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: prod\nspec:\n  containers:\n  - name: app\n    image: registry.example.com/app:1\n    securityContext:\n      privileged: true\n";
const POD_V2: &str =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: prod\nspec:\n  containers:\n  - name: app\n    image: registry.example.com/app:2\n";

fn assert_rule(r: &Run, rule: &str, needle: &str) {
    assert_rejected(r);
    assert!(
        r.out.lines().any(|l| l.contains(&format!("error[{rule}]"))),
        "expected {rule}: {r:?}"
    );
    assert!(r.out.contains(needle), "expected {needle:?} in {r:?}");
}

/// Class 1: a merge whose first parent is an older `main` and whose second parent is the
/// current tip, with the old tree. Every per-commit diff is empty; the net effect rolls
/// `clusters/prod/app.yaml` back (and re-introduces a privileged container).
#[test]
fn a_merge_that_rolls_main_back_is_judged_on_its_net_effect() {
    let t = Team::with_history("");
    let f = t.f();
    let old = f.git(&["rev-parse", "HEAD~2"]);
    let tip = t.head();
    let m = t
        .as_(&t.dana)
        .commit_tree(&old, &[&old, &tip], "Merge branch 'main'");
    let r = t.s.push(&["origin", &format!("{m}:refs/heads/main")]);
    assert_rule(&r, "path.signers", "clusters/prod/app.yaml");
    assert!(r.out.contains("net effect of"), "{r:?}");
    assert!(
        r.out.contains("error[privileged]"),
        "the manifest rolls back too: {r:?}"
    );
    assert_eq!(
        f.remote_ref("refs/heads/main").as_deref(),
        Some(tip.as_str())
    );

    // Control: Dana merges her own apps change the ordinary way.
    f.git(&["checkout", "-q", "-b", "side"]);
    t.as_(&t.dana)
        .s
        .commit_signed("apps/web.yaml", "kind: ConfigMap\ndata: {}\n", "apps tweak");
    f.git(&["checkout", "-q", "main"]);
    t.s.merge_signed("Merge side", "side");
    assert_accepted(&t.s.push(&["origin", "main"]));
}

/// Class 1, content of its own: a merge whose tree differs from every parent ("evil merge")
/// by someone allowed to change prod is that signer's own work, and needs a second person.
#[test]
fn an_evil_merge_is_its_signers_own_work() {
    let t = Team::with_history("");
    let f = t.f();
    f.git(&["checkout", "-q", "-b", "side"]);
    t.as_(&t.anna)
        .s
        .commit_signed("apps/web.yaml", "kind: ConfigMap\ndata: {}\n", "apps tweak");
    f.git(&["checkout", "-q", "main"]);
    // Anna merges and slips a prod change into the merge itself.
    f.git(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
    std::fs::write(
        f.work.join("clusters/prod/app.yaml"),
        POD_V2.replace(":2", ":3"),
    )
    .unwrap();
    f.git(&["add", "-A"]);
    t.s.git_signed(&["commit", "-q", "-S", "-m", "Merge side"]);
    let r = t.s.push(&["origin", "main"]);
    assert_rule(&r, "path.two-person", "only one person answers for it");

    // Control: Ravi reviews Anna's prod change and merges it.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.git(&["checkout", "-q", "-b", "prod-bump"]);
    t.as_(&t.anna).s.commit_signed(
        "clusters/prod/app.yaml",
        &POD_V2.replace(":2", ":3"),
        "prod v3",
    );
    f.git(&["checkout", "-q", "main"]);
    t.as_(&t.ravi)
        .s
        .merge_signed("Merge prod-bump", "prod-bump");
    assert_accepted(&t.s.push(&["origin", "main"]));
}

/// Class 5: two keys of one person are one person, for the per-commit rule and for the net
/// effect alike.
#[test]
fn two_person_counts_people_not_keys() {
    let t = Team::with_history("");
    let f = t.f();
    f.git(&["checkout", "-q", "-b", "prod-bump"]);
    t.as_(&t.anna).s.commit_signed(
        "clusters/prod/app.yaml",
        &POD_V2.replace(":2", ":4"),
        "prod v4",
    );
    f.git(&["checkout", "-q", "main"]);
    t.as_(&t.anna_token)
        .s
        .merge_signed("Merge prod-bump", "prod-bump");
    let r = t.s.push(&["origin", "main"]);
    assert_rule(&r, "path.two-person", "two keys of one person");

    f.git(&["reset", "-q", "--hard", "origin/main"]);
    t.as_(&t.ravi)
        .s
        .merge_signed("Merge prod-bump", "prod-bump");
    assert_accepted(&t.s.push(&["origin", "main"]));
}

/// Class 2: creating a protected ref at a commit parked on a weaker branch judges it by the
/// new ref's path and manifest rules, not only its `[[ref]]` blocks.
#[test]
fn creating_a_protected_ref_at_a_parked_commit_judges_its_path_rules() {
    let t = Team::with_history("");
    let f = t.f();
    // staging shares main's [[ref]] block but no path or manifest block.
    f.git(&["checkout", "-q", "-b", "staging"]);
    t.as_(&t.dana)
        .s
        .commit_signed("clusters/prod/app.yaml", POD_V1, "prod: privileged again");
    assert_accepted(&t.s.push(&["origin", "staging"]));
    let r = t.s.push(&["origin", "staging:refs/heads/release/2"]);
    assert_rule(&r, "path.signers", "clusters/prod/app.yaml");
    assert!(r.out.contains("error[privileged]"), "{r:?}");
    assert!(f.remote_ref("refs/heads/release/2").is_none());

    // Control: a release branch at main's tip holds only what main's rules judged.
    assert_accepted(&t.s.push(&["origin", "origin/main:refs/heads/release/2"]));
}

/// Class 3: a trusted base adopts history that predates pushguard; what comes after it is
/// judged as usual.
#[test]
fn a_trusted_base_adopts_old_history_and_only_that() {
    let t = Team::new();
    let f = t.f();
    f.commit_as(
        "legacy@old.example.org",
        "README",
        "legacy\n",
        "legacy root",
    );
    f.commit_as(
        "legacy@old.example.org",
        "apps/a.yaml",
        "kind: ConfigMap\n",
        "legacy",
    );
    assert_accepted(&t.s.push(&["-q", "origin", "main:refs/heads/legacy"]));
    let legacy = t.head();
    t.as_(&t.dana).s.commit_signed(
        "apps/a.yaml",
        "kind: ConfigMap\ndata: {}\n",
        "first signed change",
    );

    t.strict("");
    let r = t.s.push(&["origin", "main"]);
    assert_rule(&r, "signature.missing", "legacy root");

    t.strict(&format!("trusted_base = \"{legacy}\""));
    assert_accepted(&t.s.push(&["origin", "main"]));

    // After the base, an unsigned commit is still refused.
    f.commit("apps/a.yaml", "kind: ConfigMap\ndata: {a: b}\n", "unsigned");
    assert_rule(
        &t.s.push(&["origin", "main"]),
        "signature.missing",
        "unsigned",
    );
}

/// Class 3: a release tag on a commit main already holds judges the tag and `target_on`, not
/// the history (here: history adopted through a trusted base, whose authors the identity rule
/// would refuse).
#[test]
fn a_first_release_tag_judges_the_tag_not_the_history() {
    let t = Team::new();
    let f = t.f();
    f.commit_as(
        "legacy@old.example.org",
        "README",
        "legacy\n",
        "legacy root",
    );
    assert_accepted(&t.s.push(&["-q", "origin", "main"]));
    let legacy = t.head();
    t.strict(&format!("trusted_base = \"{legacy}\""));
    t.as_(&t.dana)
        .s
        .commit_signed("apps/a.yaml", "kind: ConfigMap\n", "signed");
    assert_accepted(&t.s.push(&["origin", "main"]));

    t.as_(&t.anna)
        .s
        .git_signed(&["tag", "-s", "v1.0.0", "-m", "release 1.0.0"]);
    assert_accepted(&t.s.push(&["origin", "v1.0.0"]));

    // A tag on a commit that is not on main is refused (target_on), signed or not.
    f.git(&["checkout", "-q", "-b", "feature/x"]);
    t.as_(&t.dana)
        .s
        .commit_signed("apps/a.yaml", "kind: ConfigMap\ndata: {}\n", "unreviewed");
    assert_accepted(&t.s.push(&["origin", "feature/x"]));
    t.as_(&t.anna)
        .s
        .git_signed(&["tag", "-s", "v1.1.0", "-m", "release 1.1.0"]);
    assert_rule(
        &t.s.push(&["origin", "v1.1.0"]),
        "tag.target-on",
        "not on refs/heads/main",
    );
}

/// Class 4: a signed tag made for one version pushed under another name.
#[test]
fn a_signed_tag_replayed_under_another_name_is_refused() {
    let t = Team::with_history("");
    t.as_(&t.anna)
        .s
        .git_signed(&["tag", "-s", "v1.0.0", "-m", "release 1.0.0"]);
    let r = t.s.push(&["origin", "refs/tags/v1.0.0:refs/tags/v9.9.9"]);
    assert_rule(&r, "tag.name", "made for the name \"v1.0.0\"");
    assert!(t.f().remote_ref("refs/tags/v9.9.9").is_none());
    assert_accepted(&t.s.push(&["origin", "v1.0.0"]));
}

/// Class 6: a tag a version selector would pick cannot escape the release-tag rules by its
/// spelling (`9.9.9` as well as `v9.9.9`).
#[test]
fn version_spelled_tags_outside_the_release_rules_are_refused() {
    let t = Team::with_history("");
    let f = t.f();
    for name in ["9.9.9", "V9.9.9", "9.9"] {
        f.git(&["tag", name]);
        let r = t.s.push(&["origin", &format!("refs/tags/{name}")]);
        assert_rule(&r, "tag.version-name", "reads as a version");
    }
    // Control: a tag whose name is no version is not a release tag.
    f.git(&["tag", "build-42"]);
    assert_accepted(&t.s.push(&["origin", "build-42"]));
}

/// A ref may not point at a tree or a blob: nothing there is signed.
#[test]
fn a_ref_at_a_tree_or_a_blob_is_refused() {
    let t = Team::with_history("");
    let f = t.f();
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let blob = f.git(&["rev-parse", "HEAD:apps/web.yaml"]);
    let r = t.s.push(&["origin", &format!("{tree}:refs/other/x")]);
    assert_rule(&r, "ref.target", "would point at a tree");
    let r = t.s.push(&["origin", &format!("{blob}:refs/tags/blob")]);
    assert_rule(&r, "ref.target", "would point at a blob");
    t.as_(&t.dana)
        .s
        .commit_signed("apps/x.yaml", "kind: ConfigMap\n", "x");
    assert_accepted(&t.s.push(&["origin", "HEAD:refs/heads/feature/tree"]));
}
