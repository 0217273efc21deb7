//! Hosts' hook runners, reproduced faithfully (tests/hosts/): Gitea's pre-receive.d dispatcher
//! and GitLab's filtered-environment chain, with pushguard installed by `pushguard install`
//! exactly where each host looks for it, and real pushes through them.

mod common;

use std::path::Path;

use common::*;

const POLICY: &str = r#"version = 1
[identities]
allow = ["*@example.com"]
[[ref]]
match = "refs/heads/main"
force_push = false
[[path]]
match = "clusters/prod/**"
refs = "refs/heads/main"
pushers = ["anna"]
"#;

fn install_runner(f: &Fixture, runner: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/hosts")
        .join(runner);
    std::fs::copy(src, f.bare.join("hooks/pre-receive")).unwrap();
}

fn write_exec(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn gitea_env(pusher: &str) -> Vec<(&str, &str)> {
    vec![
        ("GITEA_REPO_USER_NAME", "ops"),
        ("GITEA_REPO_NAME", "fleet"),
        ("GITEA_PUSHER_NAME", pusher),
        ("GITEA_PUSHER_ID", "3"),
        ("GITEA_REPO_ID", "9"),
        ("GITEA_KEY_ID", "11"),
        ("GITEA_ROOT_URL", "https://git.example.com/"),
        ("SSH_ORIGINAL_COMMAND", "git-receive-pack 'ops/fleet.git'"),
    ]
}

fn gitea_fixture() -> Fixture {
    let f = Fixture::new(POLICY);
    std::fs::remove_file(f.bare.join("hooks/pre-receive")).unwrap();
    install_runner(&f, "gitea-pre-receive");
    // Gitea's own check, which the dispatcher runs first (glob order: gitea < pushguard).
    write_exec(
        &f.bare.join("hooks/pre-receive.d/gitea"),
        "#!/bin/sh\ncat >/dev/null\necho \"Gitea: checked\"\nexit 0\n",
    );
    let r = f.pushguard(&[
        "install",
        "--host",
        "gitea",
        "--repo",
        f.bare.to_str().unwrap(),
        "--policy",
        f.policy.to_str().unwrap(),
    ]);
    assert!(r.ok && r.out.contains("pre-receive.d/pushguard"), "{r:?}");
    assert!(
        r.out
            .contains("to undo: pushguard uninstall --host gitea --repo"),
        "{r:?}"
    );
    f
}

#[test]
fn gitea_dispatcher_runs_pushguard_beside_gitea() {
    let f = gitea_fixture();
    f.commit("apps/a.yaml", "a", "apps");
    let r = f.push_as(&gitea_env("dev-bob"), &["origin", "main"]);
    assert_accepted(&r);
    assert!(r.out.contains("remote: Gitea: checked"), "{r:?}");
    assert!(r.out.contains("remote: pushguard: push accepted"), "{r:?}");
    f.commit("clusters/prod/a.yaml", "a", "prod");
    let r = f.push_as(&gitea_env("dev-bob"), &["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("not pusher \"dev-bob\""),
        "Gitea's pusher is read: {r:?}"
    );
    assert!(!r.out.contains("GL-HOOK-ERR"), "{r:?}");
    assert_accepted(&f.push_as(&gitea_env("anna"), &["origin", "main"]));
}

#[test]
fn gitea_force_install_keeps_the_old_hook_where_it_no_longer_runs() {
    let f = Fixture::new(POLICY);
    std::fs::remove_file(f.bare.join("hooks/pre-receive")).unwrap();
    install_runner(&f, "gitea-pre-receive");
    let old = f.bare.join("hooks/pre-receive.d/pushguard");
    write_exec(
        &old,
        "#!/bin/sh\ncat >/dev/null\necho 'old hook: refused'\nexit 1\n",
    );
    let args = |cmd: &'static str| {
        vec![
            cmd,
            "--host",
            "gitea",
            "--repo",
            f.bare.to_str().unwrap(),
            "--policy",
            f.policy.to_str().unwrap(),
        ]
    };
    let mut install = args("install");
    install.push("--force");
    let r = f.pushguard(&install);
    assert!(r.ok && r.out.contains("pushguard-saved"), "{r:?}");
    f.commit("apps/a.yaml", "a", "apps");
    let r = f.push_as(&gitea_env("anna"), &["origin", "main"]);
    assert_accepted(&r);
    assert!(
        !r.out.contains("old hook"),
        "the saved hook in pre-receive.d must not run: {r:?}"
    );
    let mut uninstall = args("uninstall");
    uninstall.truncate(5);
    let r = f.pushguard(&uninstall);
    assert!(r.ok && r.out.contains("put back"), "{r:?}");
    f.commit("apps/b.yaml", "b", "apps");
    let r = f.push_as(&gitea_env("anna"), &["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("old hook: refused"), "runs again: {r:?}");
}

#[test]
fn gitea_wiki_is_not_guarded_by_default() {
    let f = gitea_fixture();
    f.commit_as("outsider@elsewhere.test", "Home.md", "hi", "wiki page");
    let mut env = gitea_env("anna");
    env.push(("GITEA_REPO_IS_WIKI", "true"));
    let r = f.push_as(&env, &["origin", "main"]);
    assert_accepted(&r);
    assert!(
        r.out
            .contains("does not apply to repository ops/fleet.wiki: excluded by default"),
        "{r:?}"
    );
    // The same repository, not as its wiki: guarded.
    f.commit_as("outsider@elsewhere.test", "apps/a.yaml", "a", "apps");
    let r = f.push_as(&gitea_env("anna"), &["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[identities.allow]"), "{r:?}");
}

#[test]
fn gitea_internal_pull_request_refs_pass() {
    let f = gitea_fixture();
    f.commit("apps/a.yaml", "a", "apps");
    assert_accepted(&f.push_as(&gitea_env("anna"), &["origin", "main"]));
    f.commit_as(
        "outsider@elsewhere.test",
        "apps/b.yaml",
        "b",
        "a contributor's PR",
    );
    // Not the forge's own push: the pull-request namespace is nobody else's to write.
    let r = f.push_as(&gitea_env("anna"), &["origin", "HEAD:refs/pull/5/head"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[ref.namespace] refs/pull/5/head"),
        "{r:?}"
    );
    let mut env = gitea_env("gitea");
    env.push(("GITEA_INTERNAL_PUSH", "true"));
    env.push(("GITEA_PR_ID", "5"));
    assert_accepted(&f.push_as(&env, &["origin", "HEAD:refs/pull/5/head"]));
    // The same commit is judged when it reaches a branch.
    let r = f.push_as(&gitea_env("anna"), &["origin", "HEAD:main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[identities.allow]"), "{r:?}");
}

#[test]
fn gitea_runs_every_hook_and_pushguard_still_rejects_when_another_hook_fails() {
    let f = gitea_fixture();
    write_exec(
        &f.bare.join("hooks/pre-receive.d/gitea"),
        "#!/bin/sh\ncat >/dev/null\necho 'Gitea: refused'\nexit 3\n",
    );
    f.commit_as("outsider@elsewhere.test", "apps/b.yaml", "b", "x");
    let r = f.push_as(&gitea_env("anna"), &["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("Gitea: refused"), "{r:?}");
    assert!(
        r.out.contains("error[identities.allow]"),
        "pushguard ran too: {r:?}"
    );
}

fn gitlab_fixture(global: bool) -> (Fixture, tempfile::TempDir) {
    let f = Fixture::new(POLICY);
    std::fs::remove_file(f.bare.join("hooks/pre-receive")).unwrap();
    install_runner(&f, "gitlab-pre-receive");
    let global_dir = tempfile::tempdir().unwrap();
    let policy = f.policy.to_str().unwrap();
    let r = if global {
        f.pushguard(&[
            "install",
            "--host",
            "gitlab",
            "--global",
            global_dir.path().to_str().unwrap(),
            "--policy",
            policy,
        ])
    } else {
        f.pushguard(&[
            "install",
            "--host",
            "gitlab",
            "--repo",
            f.bare.to_str().unwrap(),
            "--policy",
            policy,
        ])
    };
    assert!(r.ok, "{r:?}");
    (f, global_dir)
}

fn gitlab_env(global: &Path, user: &str) -> Vec<(String, String)> {
    vec![
        ("GITLAB_GLOBAL_HOOKS".into(), global.display().to_string()),
        ("GL_USERNAME".into(), user.into()),
    ]
}

fn push_gitlab(f: &Fixture, env: &[(String, String)], args: &[&str]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    f.push_as(&env, args)
}

#[test]
fn gitlab_per_repository_and_global_hooks_in_a_filtered_environment() {
    for global in [false, true] {
        let (f, dir) = gitlab_fixture(global);
        f.commit("apps/a.yaml", "a", "apps");
        let r = push_gitlab(&f, &gitlab_env(dir.path(), "dana"), &["origin", "main"]);
        assert_accepted(&r);
        f.commit("clusters/prod/a.yaml", "a", "prod");
        let r = push_gitlab(&f, &gitlab_env(dir.path(), "dana"), &["origin", "main"]);
        assert_rejected(&r);
        assert!(
            r.out.contains("not pusher \"dana\""),
            "GL_USERNAME is the pusher: {r:?}"
        );
        // GitLab's web UI shows only lines matching ^(GitLab:|GL-HOOK-ERR:)\s*(.+): every line
        // of our message does.
        let ours: Vec<&str> = r
            .out
            .lines()
            .filter_map(|l| l.strip_prefix("remote: "))
            .collect();
        assert!(ours.len() > 5, "{r:?}");
        assert!(ours.iter().all(|l| l.starts_with("GL-HOOK-ERR: ")), "{r:?}");
        assert!(
            r.out
                .contains("GL-HOOK-ERR: error[path.pushers] refs/heads/main"),
            "{r:?}"
        );
        assert_accepted(&push_gitlab(
            &f,
            &gitlab_env(dir.path(), "anna"),
            &["origin", "main"],
        ));
    }
}

#[test]
fn gitlab_stops_at_the_first_failing_hook() {
    let (f, dir) = gitlab_fixture(true);
    // A repository hook that fails runs before the global pushguard: the chain stops there.
    write_exec(
        &f.bare.join("custom_hooks/pre-receive"),
        "#!/bin/sh\ncat >/dev/null\necho 'GL-HOOK-ERR: repo hook says no'\nexit 1\n",
    );
    f.commit("apps/a.yaml", "a", "apps");
    let r = push_gitlab(&f, &gitlab_env(dir.path(), "anna"), &["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("repo hook says no"), "{r:?}");
    assert!(!r.out.contains("pushguard"), "pushguard did not run: {r:?}");
    // A backup file ending in ~ is skipped; with the failing hook gone pushguard decides.
    std::fs::rename(
        f.bare.join("custom_hooks/pre-receive"),
        f.bare.join("custom_hooks/pre-receive~"),
    )
    .unwrap();
    let r = push_gitlab(&f, &gitlab_env(dir.path(), "anna"), &["origin", "main"]);
    assert_accepted(&r);
    assert!(
        r.out.contains("GL-HOOK-ERR: pushguard: push accepted"),
        "{r:?}"
    );
}

/// Installed globally and in one repository with the same policy, pushguard judges a push once
/// (the repository's copy runs first); a repository copy with another policy still runs beside
/// the global one, so both policies hold.
#[test]
fn gitlab_global_and_repository_copies_judge_once_per_policy() {
    let (f, dir) = gitlab_fixture(true);
    let policy = f.policy.to_str().unwrap();
    let repo = f.bare.to_str().unwrap();
    let r = f.pushguard(&[
        "install", "--host", "gitlab", "--repo", repo, "--policy", policy,
    ]);
    assert!(r.ok, "{r:?}");
    assert!(r.out.contains("gitaly hooks set"), "the 15.11 note: {r:?}");
    f.commit("apps/a.yaml", "a", "apps");
    let r = push_gitlab(&f, &gitlab_env(dir.path(), "dana"), &["origin", "main"]);
    assert_accepted(&r);
    assert_eq!(
        r.out.matches("pushguard: push accepted").count(),
        1,
        "{r:?}"
    );
    f.commit("clusters/prod/a.yaml", "a", "prod");
    let r = push_gitlab(&f, &gitlab_env(dir.path(), "dana"), &["origin", "main"]);
    assert_rejected(&r);
    assert_eq!(r.out.matches("push REJECTED").count(), 1, "{r:?}");
    f.git(&["reset", "--hard", "HEAD~1"]);

    // The repository's copy names another policy file: both run.
    let other = f.policy.with_file_name("repo-policy.toml");
    std::fs::copy(&f.policy, &other).unwrap();
    let r = f.pushguard(&[
        "install",
        "--host",
        "gitlab",
        "--repo",
        repo,
        "--force",
        "--policy",
        other.to_str().unwrap(),
    ]);
    assert!(r.ok, "{r:?}");
    f.commit("apps/b.yaml", "b", "apps");
    let r = push_gitlab(&f, &gitlab_env(dir.path(), "dana"), &["origin", "main"]);
    assert_accepted(&r);
    assert_eq!(
        r.out.matches("pushguard: push accepted").count(),
        2,
        "{r:?}"
    );
}

/// `--tarball` says what to run next, warns that `gitaly hooks set` replaces the repository's
/// other hooks, and prints an undo that works (an empty archive), not a pushguard command that
/// cannot find the hook.
#[test]
fn gitlab_tarball_says_how_to_set_and_undo() {
    let f = Fixture::new(POLICY);
    let tar = f.dir.path().join("hooks.tar");
    let r = f.pushguard(&[
        "install",
        "--host",
        "gitlab",
        "--tarball",
        tar.to_str().unwrap(),
        "--policy",
        f.policy.to_str().unwrap(),
    ]);
    assert!(r.ok, "{r:?}");
    assert!(
        r.out
            .contains("next: sudo -u git -- /opt/gitlab/embedded/bin/gitaly hooks set"),
        "{r:?}"
    );
    assert!(r.out.contains("replaces every server hook"), "{r:?}");
    let undo = r
        .out
        .lines()
        .find(|l| l.starts_with("to undo: "))
        .expect("an undo line");
    assert!(!undo.contains("pushguard uninstall"), "{undo}");
    // The archive part of the undo runs as printed and makes an empty archive.
    let make = undo
        .strip_prefix("to undo: ")
        .and_then(|u| u.split(" && ").next())
        .unwrap()
        .replace(
            "/tmp/no-hooks.tar",
            f.dir.path().join("empty.tar").to_str().unwrap(),
        );
    let out = std::process::Command::new("sh")
        .args(["-c", &make])
        .output()
        .unwrap();
    assert!(out.status.success(), "{make}: {out:?}");
    let list = std::process::Command::new("tar")
        .arg("-tf")
        .arg(f.dir.path().join("empty.tar"))
        .output()
        .unwrap();
    assert!(list.status.success() && list.stdout.is_empty(), "{list:?}");
    // The archive itself holds the shim where gitaly extracts custom hooks.
    let list = std::process::Command::new("tar")
        .arg("-tvf")
        .arg(&tar)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains("custom_hooks/pre-receive.d/pushguard"),
        "{text}"
    );
}

/// Gitea: repositories made after the install get the hook when they are made, through a git
/// template directory (Gitea's `[git.config] init.templateDir`): `git init` copies its
/// `hooks/`, and Gitea then writes only its own delegate beside it. And `--all`, run from a
/// timer, prints nothing when nothing changed.
#[test]
fn gitea_new_repositories_get_the_hook_from_the_template_and_all_is_quiet() {
    let f = gitea_fixture();
    let template = f.dir.path().join("gitea-template");
    let r = f.pushguard(&[
        "install",
        "--host",
        "gitea",
        "--template",
        template.to_str().unwrap(),
        "--policy",
        f.policy.to_str().unwrap(),
    ]);
    assert!(r.ok, "{r:?}");
    // A repository Gitea creates now: `git init --bare` with the template, then its delegate.
    std::fs::remove_dir_all(&f.bare).unwrap();
    let init = std::process::Command::new("git")
        .arg("-c")
        .arg(format!("init.templateDir={}", template.display()))
        .args(["init", "--quiet", "--bare", "--initial-branch=main"])
        .arg(&f.bare)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    assert!(f.bare.join("hooks/pre-receive.d/pushguard").is_file());
    install_runner(&f, "gitea-pre-receive");
    f.commit("clusters/prod/a.yaml", "a", "prod");
    let r = f.push_as(&gitea_env("dev-bob"), &["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("not pusher \"dev-bob\""), "{r:?}");
    assert_accepted(&f.push_as(&gitea_env("anna"), &["origin", "main"]));

    // --all over a root: the first run says what it installed, the next says nothing.
    let root = f.dir.path().join("gitea-repositories");
    for repo in ["ops/fleet.git", "ops/fleet.wiki.git"] {
        let out = std::process::Command::new("git")
            .args(["init", "--quiet", "--bare"])
            .arg(root.join(repo))
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let all = |f: &Fixture| {
        f.pushguard(&[
            "install",
            "--host",
            "gitea",
            "--all",
            root.to_str().unwrap(),
            "--policy",
            f.policy.to_str().unwrap(),
        ])
    };
    let first = all(&f);
    assert!(
        first.ok && first.out.matches("installed ").count() == 2,
        "{first:?}"
    );
    let again = all(&f);
    assert!(again.ok && again.out.trim().is_empty(), "{again:?}");
}
