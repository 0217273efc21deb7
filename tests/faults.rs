//! Faults injected through the real hook: each must reject the push with a message that names
//! the fault, and a control push after the fault is gone must land (so a hook that rejects
//! everything fails these tests). Part of the hardening work; fuzzing and load come separately.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

const POLICY: &str = r#"version = 1
audit_log = "audit.jsonl"
[identities]
allow = ["*@example.com"]
[[ref]]
match = "refs/heads/main"
force_push = false
[[manifests]]
match = ["**/*.yaml"]
rules = ["privileged"]
"#;

fn fixture() -> Fixture {
    let f = Fixture::new(POLICY);
    f.commit("README", "base\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    f
}

fn assert_fails_closed(r: &Run, names: &str) {
    assert_rejected(r);
    assert!(
        r.out.contains("pushguard: push REJECTED"),
        "the pusher is told: {r:?}"
    );
    assert!(r.out.contains(names), "expected {names:?} in {r:?}");
}

/// The alternates workaround needs a temporary directory: with `TMPDIR` unwritable the push is
/// rejected, saying so, never accepted unchecked.
#[test]
fn an_unwritable_tmpdir_rejects_with_a_message() {
    let f = fixture();
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    let r = f.push_as(
        &[("TMPDIR", "/nonexistent/pushguard-tmp")],
        &["origin", "main"],
    );
    assert_fails_closed(&r, "quarantine");
    assert_accepted(&f.push(&["origin", "main"]));
}

/// The policy file replaced by a directory, made unreadable, or cut in half by an editor.
#[test]
fn a_policy_that_cannot_be_read_rejects_with_its_path() {
    let f = fixture();
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    // Half-written: the file ends inside a table.
    std::fs::write(&f.policy, &POLICY[..POLICY.len() / 2]).unwrap();
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, f.policy.to_str().unwrap());
    // A directory where the file was.
    std::fs::remove_file(&f.policy).unwrap();
    std::fs::create_dir(&f.policy).unwrap();
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, "cannot read the policy file");
    std::fs::remove_dir(&f.policy).unwrap();
    // Missing altogether.
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, "cannot read the policy file");
    f.set_policy(POLICY);
    assert_accepted(&f.push(&["origin", "main"]));
}

/// A key file that stops parsing (a routine edit gone wrong): every push is rejected, naming
/// the file, until it is fixed.
#[test]
fn a_key_file_that_stops_parsing_rejects() {
    let f = fixture();
    let keys = f.dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let signers = keys.join("allowed_signers");
    std::fs::write(&signers, "# no keys yet\n").unwrap();
    let with_keys = POLICY.replacen(
        "[identities]",
        "[keys]\nssh_allowed_signers = \"keys/allowed_signers\"\n[identities]",
        1,
    );
    f.set_policy(&with_keys);
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    assert_accepted(&f.push(&["origin", "main"]));
    std::fs::write(&signers, "dana@example.com ssh-ed25519 not-base64!\n").unwrap();
    f.commit("apps/a.yaml", "kind: ConfigMap\ndata: {}\n", "b");
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, "allowed_signers");
    std::fs::write(&signers, "# no keys yet\n").unwrap();
    assert_accepted(&f.push(&["origin", "main"]));
}

/// The audit log made a directory, or read-only: an unaudited push is not an accepted one.
#[test]
fn an_audit_log_that_cannot_be_written_rejects() {
    let f = fixture();
    let log = f.dir.path().join("audit.jsonl");
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap();
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, "cannot write the audit record");
    std::fs::remove_dir(&log).unwrap();
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o444)).unwrap();
    // root ignores file modes; make the file immutable to the test instead when running as root.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        let r = f.push(&["origin", "main"]);
        assert_fails_closed(&r, "cannot write the audit record");
    }
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_accepted(&f.push(&["origin", "main"]));
}

/// A corrupt loose object in the quarantine (a truncated zlib stream): rejected, naming the
/// object, not a crash and not an acceptance.
#[test]
fn a_corrupt_object_in_the_quarantine_rejects() {
    let f = fixture();
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    let blob = f.git(&["rev-parse", "HEAD:apps/a.yaml"]);
    // A wrapper hook truncates that blob's loose file in the quarantine, then runs pushguard.
    let hook = f.bare.join("hooks/pre-receive");
    let shim = std::fs::read_to_string(&hook).unwrap();
    let (dir, file) = blob.split_at(2);
    let corrupt = format!(
        "#!/bin/sh\nobj=\"$GIT_OBJECT_DIRECTORY/{dir}/{file}\"\nif [ -f \"$obj\" ]; then chmod u+w \"$obj\"; head -c 10 \"$obj\" > \"$obj.cut\" && mv \"$obj.cut\" \"$obj\"; fi\n"
    );
    std::fs::write(&hook, shim.replacen("#!/bin/sh\n", &corrupt, 1)).unwrap();
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, &blob[..7]);
    std::fs::write(&hook, &shim).unwrap();
    assert_accepted(&f.push(&["origin", "main"]));
}
