//! The hook reads pushed objects inside git's quarantine, as each host runs it: git's own
//! environment, GitLab's filtered one (only `GIT_OBJECT_DIRECTORY` and
//! `GIT_ALTERNATE_OBJECT_DIRECTORIES`, no `GIT_QUARANTINE_PATH`), relative entries, and C-quoted
//! alternates (a repository path with `:` in it). A wrapper hook checks that pushguard never
//! writes into the quarantine.

mod common;

use common::*;

/// Replaces the installed shim with a wrapper that runs pushguard in an environment rewritten
/// by `env_setup` (shell code that sets OBJ and ALT and the extra variables), and fails the
/// push with exit 99 if the quarantine directory changed while pushguard ran.
fn wrap_hook(f: &Fixture, env_setup: &str, extra_env: &str) {
    let script = format!(
        r#"#!/bin/sh
snapshot() {{ find "$GIT_OBJECT_DIRECTORY" -type f -exec ls -l {{}} + 2>/dev/null | sort; }}
before=$(snapshot)
OBJ="$GIT_OBJECT_DIRECTORY"
ALT="$GIT_ALTERNATE_OBJECT_DIRECTORIES"
{env_setup}
env -i PATH="$PATH" HOME="$HOME" GIT_DIR="$GIT_DIR" GIT_OBJECT_DIRECTORY="$OBJ" GIT_ALTERNATE_OBJECT_DIRECTORIES="$ALT" {extra_env} '{bin}' pre-receive --policy '{policy}'
status=$?
after=$(snapshot)
if [ "$before" != "$after" ]; then echo "QUARANTINE MODIFIED"; exit 99; fi
exit $status
"#,
        bin = BIN,
        policy = f.policy.display()
    );
    let hook = f.bare.join("hooks/pre-receive");
    std::fs::write(&hook, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn good_then_bad(f: &Fixture, expect_prefix: &str) {
    f.commit("a.txt", "1", "first");
    let r = f.push(&["origin", "main"]);
    assert_accepted(&r);
    assert!(
        r.out
            .contains(&format!("remote: {expect_prefix}pushguard: push accepted")),
        "{r:?}"
    );
    f.commit_as("eve@elsewhere.test", "a.txt", "2", "outsider");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(!r.out.contains("QUARANTINE MODIFIED"), "{r:?}");
    assert!(
        r.out.contains(&format!(
            "remote: {expect_prefix}error[identities.allow] refs/heads/main"
        )),
        "the new commit was read from the quarantine: {r:?}"
    );
}

#[test]
fn gitlab_filtered_environment_without_quarantine_path() {
    let f = Fixture::new(BASIC_POLICY);
    wrap_hook(
        &f,
        "",
        "GL_ID=user-1 GL_USERNAME=dana GL_PROTOCOL=ssh GL_REPOSITORY=project-1 GL_PROJECT_PATH=ops/fleet",
    );
    good_then_bad(&f, "GL-HOOK-ERR: ");
    let lines = f.audit_lines();
    assert_eq!(lines.last().unwrap()["host"]["host"], "gitlab");
    assert_eq!(lines.last().unwrap()["host"]["pusher"], "dana");
    assert_eq!(lines.last().unwrap()["repository"], "ops/fleet");
}

#[test]
fn relative_object_directories() {
    let f = Fixture::new(BASIC_POLICY);
    // git runs the hook in the repository with GIT_DIR=.; make both entries relative to it.
    wrap_hook(&f, r#"OBJ="${OBJ#$PWD/}"; ALT="${ALT#$PWD/}""#, "");
    good_then_bad(&f, "");
}

#[test]
fn c_quoted_alternates_in_a_path_with_a_colon() {
    let f = Fixture::with_format(BASIC_POLICY, "sha1", "team:ops");
    wrap_hook(
        &f,
        r#"case "$ALT" in \"*) ;; *) echo "ALT not quoted: $ALT"; exit 98;; esac"#,
        "",
    );
    good_then_bad(&f, "");
}

#[test]
fn without_the_quarantine_the_push_is_rejected_not_accepted() {
    let f = Fixture::new(BASIC_POLICY);
    // A broken host that passes no object directories: the pushed commit cannot be read.
    wrap_hook(&f, "OBJ=; ALT=", "");
    f.commit("a.txt", "1", "first");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("could not check this push"), "{r:?}");
    assert!(r.out.contains("missing or unreadable"), "{r:?}");
}
