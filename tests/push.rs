//! Real pushes with the real `git` client to bare repositories whose pre-receive hook was
//! installed by `pushguard install`: ref rules, identity and commit rules, several refs, modes.

mod common;

use common::*;

#[test]
fn create_and_fast_forward_are_accepted() {
    let f = Fixture::new(BASIC_POLICY);
    let c1 = f.commit("a.txt", "1", "first");
    let r = f.push(&["origin", "main"]);
    assert_accepted(&r);
    assert!(
        r.out
            .contains("remote: pushguard: push accepted (1 ref update, 1 new commit checked)"),
        "{r:?}"
    );
    assert_eq!(
        f.remote_ref("refs/heads/main").as_deref(),
        Some(c1.as_str())
    );
    f.commit("a.txt", "2", "second");
    let c3 = f.commit("a.txt", "3", "third");
    let r = f.push(&["origin", "main"]);
    assert_accepted(&r);
    assert!(
        r.out.contains("2 new commits checked"),
        "only the new commits are walked: {r:?}"
    );
    assert_eq!(
        f.remote_ref("refs/heads/main").as_deref(),
        Some(c3.as_str())
    );
}

#[test]
fn force_push_to_a_protected_branch_is_rejected() {
    let f = Fixture::new(BASIC_POLICY);
    let c1 = f.commit("a.txt", "1", "first");
    assert_accepted(&f.push(&["origin", "main"]));
    f.git(&["commit", "-q", "--amend", "-s", "-m", "rewritten"]);
    let r = f.push(&["--force", "origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[ref.force-push] refs/heads/main"),
        "{r:?}"
    );
    assert!(r.out.contains("not a fast-forward"), "{r:?}");
    assert!(
        r.out.contains("policy.toml:8"),
        "names the rule's line: {r:?}"
    );
    assert_eq!(
        f.remote_ref("refs/heads/main").as_deref(),
        Some(c1.as_str()),
        "main did not move"
    );

    // An unprotected branch may be rewritten.
    f.git(&["checkout", "-q", "-b", "topic"]);
    f.commit("b.txt", "1", "topic");
    assert_accepted(&f.push(&["origin", "topic"]));
    f.git(&["commit", "-q", "--amend", "-s", "-m", "topic again"]);
    assert_accepted(&f.push(&["--force", "origin", "topic"]));
}

#[test]
fn deleting_a_protected_branch_is_rejected() {
    let f = Fixture::new(BASIC_POLICY);
    f.commit("a.txt", "1", "first");
    assert_accepted(&f.push(&["origin", "main", "main:topic"]));
    let r = f.push(&["origin", ":main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[ref.delete] refs/heads/main"), "{r:?}");
    assert!(f.remote_ref("refs/heads/main").is_some());
    assert_accepted(&f.push(&["origin", ":topic"]));
    assert!(f.remote_ref("refs/heads/topic").is_none());
}

#[test]
fn tags_create_move_delete() {
    let f = Fixture::new(BASIC_POLICY);
    f.commit("a.txt", "1", "first");
    f.git(&["tag", "-a", "-m", "release 1", "v1.0.0"]);
    f.git(&["tag", "scratch"]);
    let r = f.push(&["origin", "main", "v1.0.0", "scratch"]);
    assert_accepted(&r);
    let v1 = f.remote_ref("refs/tags/v1.0.0").unwrap();

    f.commit("a.txt", "2", "second");
    assert_accepted(&f.push(&["origin", "main"]));
    f.git(&["tag", "-f", "-a", "-m", "release 1 again", "v1.0.0"]);
    let r = f.push(&["--force", "origin", "v1.0.0"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[ref.immutable] refs/tags/v1.0.0"),
        "{r:?}"
    );
    assert!(r.out.contains("create a new tag"), "{r:?}");
    assert_eq!(
        f.remote_ref("refs/tags/v1.0.0"),
        Some(v1),
        "the tag did not move"
    );

    let r = f.push(&["origin", ":refs/tags/v1.0.0"]);
    assert_rejected(&r);
    assert!(r.out.contains("cannot be deleted"), "{r:?}");

    // A tag no rule protects moves and goes freely.
    f.git(&["tag", "-f", "scratch"]);
    assert_accepted(&f.push(&["--force", "origin", "scratch"]));
    assert_accepted(&f.push(&["origin", ":refs/tags/scratch"]));
}

#[test]
fn one_bad_ref_rejects_the_whole_push_atomic_or_not() {
    let f = Fixture::new(BASIC_POLICY);
    f.commit("a.txt", "1", "first");
    assert_accepted(&f.push(&["origin", "main"]));
    let base = f.remote_ref("refs/heads/main").unwrap();
    f.git(&["checkout", "-q", "-b", "good"]);
    f.commit("g.txt", "1", "good");
    f.git(&["checkout", "-q", "-b", "bad"]);
    f.commit_as("eve@elsewhere.test", "b.txt", "1", "bad identity");
    for atomic in [false, true] {
        let mut args = vec!["origin", "good", "bad"];
        if atomic {
            args.insert(0, "--atomic");
        }
        let r = f.push(&args);
        assert_rejected(&r);
        assert!(
            r.out.contains("error[identities.allow] refs/heads/bad"),
            "{r:?}"
        );
        assert!(
            r.out
                .contains("author email <eve@elsewhere.test> is not allowed"),
            "{r:?}"
        );
        assert!(
            f.remote_ref("refs/heads/good").is_none(),
            "pre-receive refuses every ref"
        );
        assert!(f.remote_ref("refs/heads/bad").is_none());
    }
    assert_eq!(f.remote_ref("refs/heads/main"), Some(base));
    assert_accepted(&f.push(&["origin", "good"]));
}

#[test]
fn sha256_repositories_work() {
    let f = Fixture::with_format(BASIC_POLICY, "sha256", "");
    let c1 = f.commit("a.txt", "1", "first");
    assert_eq!(c1.len(), 64);
    let r = f.push(&["origin", "main"]);
    assert_accepted(&r);
    f.commit("a.txt", "2", "second");
    assert_accepted(&f.push(&["origin", "main"]));
    f.git(&["commit", "-q", "--amend", "-s", "-m", "rewrite"]);
    let r = f.push(&["--force", "origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[ref.force-push]"), "{r:?}");
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit_as("eve@elsewhere.test", "b.txt", "1", "bad");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[identities.allow]"), "{r:?}");
}

#[test]
fn commit_rules_message_sign_off_and_branch_names() {
    let f = Fixture::new(
        r#"version = 1
[commits]
message_pattern = "^(feat|fix|docs|chore)(\\(.+\\))?: "
signed_off_by = true
[names]
branches = "^(main|feature/[a-z0-9-]+)$"
"#,
    );
    f.commit("a.txt", "1", "feat: first");
    assert_accepted(&f.push(&["origin", "main"]));
    f.commit("a.txt", "2", "no prefix here");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[commits.message-pattern]"), "{r:?}");
    assert!(
        r.out.contains("\"no prefix here\""),
        "names the commit subject: {r:?}"
    );
    f.git(&[
        "commit",
        "-q",
        "--amend",
        "-m",
        "fix: with prefix, no sign-off",
    ]);
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[commits.signed-off-by]"), "{r:?}");
    f.git(&["commit", "-q", "--amend", "-s", "--no-edit"]);
    assert_accepted(&f.push(&["origin", "main"]));
    let r = f.push(&["origin", "main:Feature_X"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[names.branch] refs/heads/Feature_X"),
        "{r:?}"
    );
    assert_accepted(&f.push(&["origin", "main:feature/x"]));
}

#[test]
fn audit_mode_and_warnings_accept_but_report_and_record() {
    let f = Fixture::new(&BASIC_POLICY.replace("version = 1", "version = 1\nmode = \"audit\""));
    f.commit_as("eve@elsewhere.test", "a.txt", "1", "outsider");
    let r = f.push(&["origin", "main"]);
    assert_accepted(&r);
    assert!(
        r.out
            .contains("AUDIT MODE, push accepted: 2 violations would reject it"),
        "{r:?}"
    );
    let lines = f.audit_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["decision"], "accept-with-violations");
    assert_eq!(lines[0]["violations"][0]["rule"], "identities.allow");

    let f = Fixture::new(&BASIC_POLICY.replace(
        "allow = [\"*@example.com\"]",
        "allow = [\"*@example.com\"]\nseverity = \"warn\"",
    ));
    f.commit_as("eve@elsewhere.test", "a.txt", "1", "outsider");
    let r = f.push(&["origin", "main"]);
    assert_accepted(&r);
    assert!(r.out.contains("push accepted with 2 warnings"), "{r:?}");
    assert!(r.out.contains("warning[identities.allow]"), "{r:?}");
}

#[test]
fn every_push_is_audited_and_an_unwritable_log_rejects() {
    let f = Fixture::new(BASIC_POLICY);
    f.commit("a.txt", "1", "first");
    assert_accepted(&f.push(&["origin", "main"]));
    f.git(&["commit", "-q", "--amend", "-s", "-m", "x"]);
    assert_rejected(&f.push(&["--force", "origin", "main"]));
    let lines = f.audit_lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["decision"], "accept");
    assert_eq!(lines[1]["decision"], "reject");
    assert_eq!(lines[1]["updates"][0]["ref"], "refs/heads/main");
    assert_eq!(lines[1]["updates"][0]["kind"], "non-fast-forward");
    assert_eq!(lines[1]["policy_digest"].as_str().unwrap().len(), 64);
    assert!(lines[1]["time"].as_str().unwrap().ends_with('Z'));

    f.set_policy(&BASIC_POLICY.replace("audit.jsonl", "no/such/dir/audit.jsonl"));
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit("a.txt", "2", "second");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("cannot write the audit record"), "{r:?}");
}

#[test]
fn install_creates_the_audit_logs_directory_and_policy_check_warns() {
    // The administrator's first day: the audit log goes in a directory nobody created yet.
    let policy = BASIC_POLICY.replace("audit.jsonl", "log/pushguard/audit.jsonl");
    let f = Fixture::new(&policy);
    let log_dir = f.dir.path().join("log/pushguard");
    assert!(log_dir.is_dir(), "install created the directory");
    f.commit("a.txt", "1", "first");
    let r = f.push(&["origin", "main"]);
    assert_accepted(&r);
    let audit = std::fs::read_to_string(log_dir.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"decision\":\"accept\""), "{audit}");

    // policy check says when the directory is missing, and install says it created it.
    f.set_policy(&BASIC_POLICY.replace("audit.jsonl", "var/log/audit.jsonl"));
    let r = f.pushguard(&["policy", "check", f.policy.to_str().unwrap()]);
    assert!(r.ok, "{r:?}");
    assert!(
        r.out.contains("warning: the audit log's directory")
            && r.out.contains("var/log does not exist"),
        "{r:?}"
    );
    let r = f.pushguard(&[
        "install",
        "--host",
        "git",
        "--repo",
        f.bare.to_str().unwrap(),
        "--policy",
        f.policy.to_str().unwrap(),
    ]);
    assert!(r.ok, "{r:?}");
    assert!(r.out.contains("created the audit log's directory"), "{r:?}");
    let r = f.pushguard(&["policy", "check", f.policy.to_str().unwrap()]);
    assert!(!r.out.contains("audit log"), "{r:?}");
}

#[test]
fn policy_errors_reject_with_file_line_and_key() {
    let f = Fixture::new(BASIC_POLICY);
    f.commit("a.txt", "1", "first");
    f.set_policy("version = 1\n\n[[ref]]\nmatch = \"refs/heads/main\"\nforce-push = false\n");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out
            .contains("policy.toml:5:1: key `ref[1].force-push`: unknown field"),
        "{r:?}"
    );
    assert!(r.out.contains("rejects what it cannot check"), "{r:?}");
    assert!(f.remote_ref("refs/heads/main").is_none());

    std::fs::remove_file(&f.policy).unwrap();
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("cannot read the policy file"), "{r:?}");
}

#[test]
fn policy_check_command() {
    let f = Fixture::new(BASIC_POLICY);
    let r = f.pushguard(&["policy", "check", f.policy.to_str().unwrap()]);
    assert!(r.ok, "{r:?}");
    assert!(
        r.out.contains(": OK (version 1, mode enforce, 2 ref rules"),
        "{r:?}"
    );
    assert!(
        r.out
            .contains("applies to every repository except gitolite-admin, "),
        "{r:?}"
    );
    f.set_policy("version = 1\n[identities]\nallow = \"x\"\n");
    let r = f.pushguard(&["policy", "check", f.policy.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.out.contains("policy.toml:3:9: key `identities.allow`"),
        "{r:?}"
    );
}

#[test]
fn malformed_stdin_is_rejected_not_crashed() {
    let f = Fixture::new(BASIC_POLICY);
    for input in ["garbage\n", "", "1234 5678 refs/heads/main\n"] {
        let r = f.run_hook(&[], input);
        let err = &r.out;
        assert_eq!(r.code, 2, "{err}");
        assert!(err.contains("push REJECTED"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn install_refuses_a_foreign_hook_without_force() {
    let f = Fixture::new(BASIC_POLICY);
    let repo = f.bare.to_str().unwrap();
    let policy = f.policy.to_str().unwrap();
    let r = f.pushguard(&[
        "install", "--host", "git", "--repo", repo, "--policy", policy,
    ]);
    assert!(
        r.ok && r.out.contains("already installed; nothing changed"),
        "{r:?}"
    );
    std::fs::write(f.bare.join("hooks/pre-receive"), "#!/bin/sh\nexit 0\n").unwrap();
    let r = f.pushguard(&[
        "install", "--host", "git", "--repo", repo, "--policy", policy,
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.out.contains("--force"), "{r:?}");
    let r = f.pushguard(&[
        "install", "--host", "git", "--repo", repo, "--policy", policy, "--force",
    ]);
    assert!(
        r.ok && r.out.contains("pre-receive.pushguard-saved"),
        "{r:?}"
    );
    f.commit_as("eve@elsewhere.test", "a.txt", "1", "x");
    assert_rejected(&f.push(&["origin", "main"]));
    let r = f.pushguard(&["uninstall", "--host", "git", "--repo", repo]);
    assert!(r.ok && r.out.contains("removed"), "{r:?}");
    assert_accepted(&f.push(&["origin", "main"]));
}

#[test]
fn config_examples_load_and_docs_name_every_rule() {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut files: Vec<_> = std::fs::read_dir(&config)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        // The demo's policy names keys the demo makes at run time: `docs_drift` loads it with
        // two such keys, and `cli::the_demo_signs_pushes_and_judges_manifests` runs it.
        .filter(|p| !p.ends_with("demo-policy.toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for path in files {
        let file = path.display().to_string();
        let r = std::process::Command::new(BIN)
            .args(["policy", "check"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            r.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/policy.md"),
    )
    .unwrap();
    for id in pushguard::policy::eval::RULE_IDS {
        assert!(
            docs.contains(&format!("`{id}`")),
            "docs/policy.md does not document {id}"
        );
    }
}

#[test]
fn check_formats_and_exit_codes() {
    let f = Fixture::new(&format!(
        "{BASIC_POLICY}\n[files]\nforbidden = [\"*.pem\"]\n"
    ));
    let base = f.commit("a.txt", "1", "first");
    let bad = f.commit_as("eve@elsewhere.test", "tls/key.pem", "k", "add key");
    let policy = f.policy.to_str().unwrap();
    let work = f.work.to_str().unwrap();
    let range = format!("{base}..{bad}");
    let check = |format: &str| {
        f.pushguard(&[
            "check",
            "--policy",
            policy,
            "--repo",
            work,
            "--ref",
            "refs/heads/main",
            "--format",
            format,
            &range,
        ])
    };
    let r = check("human");
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.out.contains("error[files.forbidden] refs/heads/main"),
        "{r:?}"
    );
    let r = check("json");
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["accepted"], false);
    assert_eq!(v["updates"][0]["commits"][0], bad.as_str());
    let r = check("sarif");
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    let file = results
        .iter()
        .find(|r| r["ruleId"] == "files.forbidden")
        .unwrap();
    assert_eq!(
        file["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "tls/key.pem"
    );
    assert_eq!(file["level"], "error");
    // A clean range exits 0; a range that does not resolve is an error (2).
    let r = f.pushguard(&[
        "check",
        "--policy",
        policy,
        "--repo",
        work,
        "--ref",
        "refs/heads/main",
        &format!("..{base}"),
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let r = f.pushguard(&[
        "check",
        "--policy",
        policy,
        "--repo",
        work,
        "--ref",
        "refs/heads/main",
        "nope..main",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
}
