//! Per-path and per-file rules through real pushes: who may change which paths (by the pusher
//! the host names), renames, deletions, mode changes, symlinks, submodules, merges, forbidden
//! files, private keys and large blobs.

mod common;

use common::*;

const POLICY: &str = r#"version = 1
[host]
pusher_variable = "REMOTE_USER"

[files]
forbid_default_secrets = true
deny_private_keys = true
deny_escaping_symlinks = true
max_size = 100000

[[path]]
match = ["clusters/prod/**"]
refs = "refs/heads/main"
pushers = ["sre-anna"]

[[path]]
match = ".sops.yaml"
forbid = true
"#;

fn fixture() -> Fixture {
    let f = Fixture::new(POLICY);
    f.commit("apps/web.yaml", "kind: Deployment\n", "apps");
    f.commit("clusters/prod/app.yaml", "kind: Deployment\n", "prod");
    assert_accepted(&f.push_as(&[("REMOTE_USER", "sre-anna")], &["origin", "main"]));
    f
}

fn as_dev(f: &Fixture) -> Run {
    f.push_as(&[("REMOTE_USER", "dev-bob")], &["origin", "HEAD:main"])
}

fn assert_path_rejected(r: &Run, path: &str) {
    assert_rejected(r);
    assert!(
        r.out.contains("error[path.pushers] refs/heads/main"),
        "{r:?}"
    );
    assert!(r.out.contains(&format!("  path:   {path}")), "{r:?}");
    assert!(r.flat().contains("not pusher \"dev-bob\""), "{r:?}");
}

#[test]
fn a_developer_may_change_apps_but_not_prod() {
    let f = fixture();
    f.commit(
        "apps/web.yaml",
        "kind: Deployment\nreplicas: 2\n",
        "scale web",
    );
    assert_accepted(&as_dev(&f));
    f.commit(
        "clusters/prod/app.yaml",
        "kind: Deployment\nreplicas: 0\n",
        "scale prod to zero",
    );
    assert_path_rejected(&as_dev(&f), "clusters/prod/app.yaml");
    // The same commit pushed by the SRE lands; pushing it to another branch is not judged by
    // the main-only block.
    assert_accepted(&f.push_as(&[("REMOTE_USER", "dev-bob")], &["origin", "HEAD:feature/x"]));
    assert_accepted(&f.push_as(&[("REMOTE_USER", "sre-anna")], &["origin", "HEAD:main"]));
}

#[test]
fn an_unnamed_pusher_is_not_an_allowed_one() {
    let f = fixture();
    f.commit("clusters/prod/app.yaml", "x", "change");
    let r = f.push(&["origin", "HEAD:main"]);
    assert_rejected(&r);
    assert!(r.out.contains("an unnamed pusher"), "{r:?}");
}

#[test]
fn renames_deletes_and_mode_changes_count() {
    let f = fixture();
    f.git(&["mv", "clusters/prod/app.yaml", "apps/moved.yaml"]);
    f.git(&["commit", "-q", "-s", "-m", "move out of prod"]);
    assert_path_rejected(&as_dev(&f), "clusters/prod/app.yaml");
    f.git(&["reset", "-q", "--hard", "origin/main"]);

    f.git(&["mv", "apps/web.yaml", "clusters/prod/web.yaml"]);
    f.git(&["commit", "-q", "-s", "-m", "move into prod"]);
    assert_path_rejected(&as_dev(&f), "clusters/prod/web.yaml");
    f.git(&["reset", "-q", "--hard", "origin/main"]);

    f.git(&["rm", "-q", "clusters/prod/app.yaml"]);
    f.git(&["commit", "-q", "-s", "-m", "delete prod"]);
    let r = as_dev(&f);
    assert_path_rejected(&r, "clusters/prod/app.yaml");
    assert!(r.out.contains("deletes clusters/prod/app.yaml"), "{r:?}");
    f.git(&["reset", "-q", "--hard", "origin/main"]);

    f.git(&["update-index", "--chmod=+x", "clusters/prod/app.yaml"]);
    f.git(&["commit", "-q", "-s", "-m", "chmod"]);
    let r = as_dev(&f);
    assert_path_rejected(&r, "clusters/prod/app.yaml");
    assert!(r.out.contains("changes the mode of"), "{r:?}");
}

#[test]
fn symlinks_into_prod_and_out_of_the_repository() {
    let f = fixture();
    std::os::unix::fs::symlink("../clusters/prod/app.yaml", f.work.join("apps/alias.yaml"))
        .unwrap();
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-s", "-m", "alias"]);
    let r = as_dev(&f);
    assert_path_rejected(&r, "apps/alias.yaml");
    assert!(
        r.flat()
            .contains("through the symlink apps/alias.yaml -> clusters/prod/app.yaml"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);

    std::os::unix::fs::symlink(
        "../../../etc/kubernetes/admin.conf",
        f.work.join("apps/admin.conf"),
    )
    .unwrap();
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-s", "-m", "escape"]);
    let r = as_dev(&f);
    assert_rejected(&r);
    assert!(r.out.contains("error[files.symlink-escape]"), "{r:?}");
}

#[test]
fn a_submodule_added_in_prod() {
    let f = fixture();
    let head = f.git(&["rev-parse", "HEAD"]);
    f.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{head},clusters/prod/vendor"),
    ]);
    f.git(&["commit", "-q", "-s", "-m", "submodule"]);
    assert_path_rejected(&as_dev(&f), "clusters/prod/vendor");
}

#[test]
fn a_merge_that_brings_prod_changes() {
    let f = fixture();
    f.git(&["checkout", "-q", "-b", "side"]);
    f.commit(
        "clusters/prod/app.yaml",
        "kind: Deployment\nreplicas: 9\n",
        "side change",
    );
    assert_accepted(&f.push_as(&[("REMOTE_USER", "dev-bob")], &["origin", "side"]));
    f.git(&["checkout", "-q", "main"]);
    f.commit("apps/other.yaml", "x", "unrelated");
    f.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
    let r = as_dev(&f);
    assert_path_rejected(&r, "clusters/prod/app.yaml");
    assert!(
        r.out.contains("\"merge side\""),
        "the merge answers for what it brings: {r:?}"
    );
    assert!(
        r.out.contains("\"side change\""),
        "and the side commit is judged too: {r:?}"
    );
}

#[test]
fn forbidden_files_private_keys_and_large_blobs() {
    let f = fixture();
    f.commit(".sops.yaml", "creation_rules: []\n", "sops");
    let r = as_dev(&f);
    assert_rejected(&r);
    assert!(r.out.contains("error[path.forbid]"), "{r:?}");
    f.git(&["reset", "-q", "--hard", "origin/main"]);

    f.commit("deploy/.env", "TOKEN=1\n", "env");
    let r = as_dev(&f);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[files.forbidden]") && r.out.contains("deploy/.env"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);

    f.commit(
        "apps/notes.txt",
        "x\n-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n",
        "key",
    );
    let r = as_dev(&f);
    assert_rejected(&r);
    assert!(r.out.contains("error[files.private-key]"), "{r:?}");
    f.git(&["reset", "-q", "--hard", "origin/main"]);

    f.commit("apps/big.bin", &"x".repeat(100_001), "big");
    let r = as_dev(&f);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[files.max-size]") && r.out.contains("100001 bytes"),
        "{r:?}"
    );
}

#[test]
fn policy_explain_names_the_rules_that_apply() {
    let f = fixture();
    let policy = f.policy.to_str().unwrap();
    let r = f.pushguard(&[
        "policy",
        "explain",
        policy,
        "--ref",
        "refs/heads/main",
        "--path",
        "clusters/prod/app.yaml",
        "--pusher",
        "dev-bob",
    ]);
    assert!(r.ok, "{r:?}");
    assert!(
        r.out.contains("[[path]]")
            && r.out
                .contains("only pushers sre-anna may push changes (dev-bob may NOT)"),
        "{r:?}"
    );
    let r = f.pushguard(&[
        "policy",
        "explain",
        policy,
        "--ref",
        "refs/heads/dev",
        "--path",
        "clusters/prod/app.yaml",
    ]);
    assert!(
        !r.out.contains("only pushers"),
        "the block is scoped to main: {r:?}"
    );
    let r = f.pushguard(&[
        "policy",
        "explain",
        policy,
        "--ref",
        "refs/heads/dev",
        "--path",
        "x/.env",
    ]);
    assert!(
        r.out.contains("[files] forbidden: x/.env matches .env"),
        "{r:?}"
    );
    assert!(r.out.contains("forbidden file patterns"), "{r:?}");
    // The header keeps the ref as written, and a short name is refused, not read as a ref.
    let r = f.pushguard(&["policy", "explain", policy, "--ref", "refs/heads/MAIN"]);
    assert!(r.out.contains("ref refs/heads/MAIN"), "{r:?}");
    let r = f.pushguard(&["policy", "explain", policy, "--ref", "main"]);
    assert!(!r.ok && r.out.contains("not a full ref name"), "{r:?}");
    // [names] is part of what a ref demands.
    f.set_policy(&format!(
        "{POLICY}[names]\nbranches = \"^(main|feature/.+)$\"\n"
    ));
    let r = f.pushguard(&["policy", "explain", policy, "--ref", "refs/heads/Bad"]);
    assert!(
        r.out.contains("branch names must match") && r.out.contains("does NOT"),
        "{r:?}"
    );
}

/// A symlink under a protected path makes its target protected too (transitively, at the new
/// tip): editing `apps/shared/` changes what the cluster reads at `clusters/prod/shared/`.
#[test]
fn a_symlink_inside_prod_protects_its_target() {
    let f = fixture();
    f.commit("apps/shared/config.yaml", "a: 1\n", "shared config");
    f.commit("apps/shared/deep/link-target.yaml", "b: 1\n", "deep");
    f.commit("apps/other.yaml", "c: 1\n", "other");
    std::fs::create_dir_all(f.work.join("clusters/prod")).unwrap();
    std::os::unix::fs::symlink("../../apps/shared", f.work.join("clusters/prod/shared")).unwrap();
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-s", "-m", "prod reads the shared config"]);
    assert_accepted(&f.push_as(&[("REMOTE_USER", "sre-anna")], &["origin", "HEAD:main"]));

    f.commit(
        "apps/shared/config.yaml",
        "a: 2\n",
        "edit the shared config",
    );
    let r = as_dev(&f);
    assert_path_rejected(&r, "apps/shared/config.yaml");
    assert!(
        r.flat()
            .contains("read as clusters/prod/shared/config.yaml through a symlink"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);

    // Transitively: a symlink inside the target reaches further.
    std::os::unix::fs::symlink("../../infra", f.work.join("apps/shared/infra")).unwrap();
    f.commit("infra/net.yaml", "d: 1\n", "infra and a link to it");
    assert_accepted(&f.push_as(&[("REMOTE_USER", "sre-anna")], &["origin", "HEAD:main"]));
    f.commit("infra/net.yaml", "d: 2\n", "edit infra");
    assert_path_rejected(&as_dev(&f), "infra/net.yaml");
    f.git(&["reset", "-q", "--hard", "origin/main"]);

    // Control: what no protected path reaches stays the developers'.
    f.commit("apps/other.yaml", "c: 2\n", "edit other");
    assert_accepted(&as_dev(&f));
}
