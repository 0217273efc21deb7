//! Signatures through real pushes: keys made by `gpg` and `ssh-keygen` at test time, commits
//! signed by git itself (`commit -S`, `gpg.format=ssh`), tags by `git tag -s`, pushes by
//! `git push --signed`. Each attack the product must stop is its own test.

mod common;

use std::path::Path;
use std::process::Command;

use common::gpg::*;
use common::*;

fn policy(keys: &Path, groups: &str, extra: &str) -> String {
    format!(
        r#"version = 1
[keys]
openpgp = ["{keys}/*.asc"]
ssh_allowed_signers = "{keys}/allowed_signers"
[groups]
{groups}
[identities]
bind_to_signer = true
[[ref]]
match = "refs/heads/main"
signers = ["devs"]
force_push = false
{extra}"#,
        keys = keys.display()
    )
}

/// Dana (developer) and Sam (SRE) with gpg keys, Eve with a key nobody trusts; an empty
/// allowed_signers file.
fn team() -> (Setup, String, String, String) {
    let s = Setup::new("version = 1\n");
    let dana = s.gpg.key("Dana Dev <dana@example.com>", "ed25519");
    let sam = s.gpg.key("Sam Sre <sam@example.com>", "rsa3072");
    let eve = s.gpg.key("Eve <eve@example.com>", "ed25519");
    s.gpg.export(&dana, &s.keys.join("dana.asc"));
    s.gpg.export(&sam, &s.keys.join("sam.asc"));
    std::fs::write(s.keys.join("allowed_signers"), "").unwrap();
    let groups = format!("devs = [\"openpgp:{dana}\", \"group:sre\"]\nsre = [\"openpgp:{sam}\"]");
    s.f.set_policy(&policy(&s.keys, &groups, ""));
    s.f.git(&["config", "user.email", "dana@example.com"]);
    (s, dana, sam, eve)
}

#[test]
fn signed_by_a_trusted_key_lands_and_unsigned_does_not() {
    let (s, dana, _sam, _eve) = team();
    s.sign_with(&dana);
    s.commit_signed("a.txt", "1", "signed");
    let r = s.push(&["origin", "main"]);
    assert_accepted(&r);
    s.f.commit("a.txt", "2", "unsigned");
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[signature.missing] refs/heads/main"),
        "{r:?}"
    );
    assert!(r.out.contains("\"unsigned\""), "{r:?}");
}

#[test]
fn a_key_nobody_trusts_is_rejected_even_with_a_trusted_email() {
    let (s, _dana, _sam, eve) = team();
    // The stolen-account attack: a trusted person's email, the attacker's own key.
    s.sign_with(&eve);
    s.commit_signed("a.txt", "1", "looks like dana");
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[signature.invalid]"), "{r:?}");
    let eve_short = &eve[eve.len() - 16..];
    assert!(
        r.out.to_uppercase().contains(eve_short),
        "names the unknown key: {r:?}"
    );
}

#[test]
fn a_trusted_key_outside_the_refs_groups_is_rejected() {
    let (s, _dana, sam, _eve) = team();
    // main allows devs; a block for release/* allows only sre.
    let policy = std::fs::read_to_string(&s.f.policy).unwrap()
        + "[[ref]]\nmatch = \"refs/heads/release/*\"\nsigners = [\"sre\"]\n";
    s.f.set_policy(&policy);
    let dana_fpr = s.gpg.key("Dana Two <dana@example.com>", "ed25519");
    s.gpg.export(&dana_fpr, &s.keys.join("dana2.asc"));
    let policy = policy.replace("devs = [\"", &format!("devs = [\"openpgp:{dana_fpr}\", \""));
    s.f.set_policy(&policy);
    s.sign_with(&dana_fpr);
    s.commit_signed("a.txt", "1", "dev change");
    assert_accepted(&s.push(&["origin", "main"]));
    let r = s.push(&["origin", "main:release/1"]);
    assert_rejected(&r);
    assert!(
        r.out
            .contains("error[signature.signer] refs/heads/release/1"),
        "{r:?}"
    );
    assert!(
        r.flat()
            .contains("not in the groups allowed to sign for this ref (sre)"),
        "{r:?}"
    );
    s.f.git(&["config", "user.email", "sam@example.com"]);
    s.sign_with(&sam);
    s.git_signed(&[
        "commit",
        "-q",
        "--amend",
        "-S",
        "--no-edit",
        "--reset-author",
    ]);
    assert_accepted(&s.push(&["origin", "HEAD:release/1"]));
}

/// Small pushes are verified on the hook's own thread, larger ones by a worker per core
/// (`verify::INLINE_MAX`): either way, one commit signed by an untrusted key among good ones is
/// found and named, and the same push signed throughout lands.
#[test]
fn one_bad_signature_among_many_is_found_however_the_push_is_verified() {
    let (s, dana, _sam, eve) = team();
    let inline = pushguard::verify::INLINE_MAX;
    s.sign_with(&dana);
    s.commit_signed("a.txt", "0", "first");
    assert_accepted(&s.push(&["origin", "main"]));
    for n in [1, inline, inline + 1, 3 * inline] {
        let base = s.f.git(&["rev-parse", "HEAD"]);
        let base = base.trim();
        let mut bad = String::new();
        for i in 0..n {
            let key = if i == n / 2 { &eve } else { &dana };
            s.sign_with(key);
            let id = s.commit_signed("a.txt", &format!("{n}-{i}"), &format!("{n} commit {i}"));
            if i == n / 2 {
                bad = id;
            }
        }
        let r = s.push(&["origin", "main"]);
        assert_rejected(&r);
        assert!(r.out.contains("error[signature.invalid]"), "{n}: {r:?}");
        assert!(r.out.contains(&bad[..7]), "{n}: names {bad}: {r:?}");
        assert_eq!(
            r.out.matches("error[signature.invalid]").count(),
            1,
            "{n}: only the one bad commit: {r:?}"
        );
        // The control: the same number of commits, every one signed by Dana.
        s.f.git(&["reset", "--hard", base]);
        s.sign_with(&dana);
        for i in 0..n {
            s.commit_signed("a.txt", &format!("{n}-{i}-good"), &format!("{n} good {i}"));
        }
        assert_accepted(&s.push(&["origin", "main"]));
    }
}

#[test]
fn a_copied_signature_on_a_changed_commit_is_bad() {
    let (s, dana, _sam, _eve) = team();
    s.sign_with(&dana);
    s.commit_signed("a.txt", "1", "original message");
    let raw = s.f.git(&["cat-file", "commit", "HEAD"]);
    for (what, from, to) in [
        ("message", "original message", "malicious message"),
        ("tree", "tree ", "tree "),
    ] {
        let forged = if what == "tree" {
            // Point the signed header block at another tree.
            let other = s.f.git(&["mktree"]);
            let mut lines: Vec<String> = raw.lines().map(str::to_string).collect();
            lines[0] = format!("tree {other}");
            lines.join("\n") + "\n"
        } else {
            raw.replace(from, to) + "\n"
        };
        let id = s.f.hash_commit(&forged);
        let r = s.push(&["origin", &format!("{id}:refs/heads/main")]);
        assert_rejected(&r);
        assert!(r.out.contains("error[signature.invalid]"), "{what}: {r:?}");
    }
}

#[test]
fn bind_to_signer_rejects_a_committer_the_key_does_not_name() {
    let (s, dana, _sam, _eve) = team();
    s.sign_with(&dana);
    s.f.git(&["config", "user.email", "someone.else@example.com"]);
    s.commit_signed("a.txt", "1", "x");
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[identities.bind-to-signer]"), "{r:?}");
    assert!(
        r.flat()
            .contains("<someone.else@example.com> is not an identity of the signing key"),
        "{r:?}"
    );
}

#[test]
fn a_revoked_key_is_rejected() {
    let (s, dana, _sam, _eve) = team();
    s.sign_with(&dana);
    s.commit_signed("a.txt", "1", "signed before the key was revoked");
    // The administrators learn the key was compromised and publish its revocation.
    let rev = s
        .gpg
        .home
        .join("openpgp-revocs.d")
        .join(format!("{dana}.rev"));
    let text = std::fs::read_to_string(&rev)
        .unwrap()
        .replace(":-----BEGIN", "-----BEGIN");
    let cert = s.gpg.home.join("rev.asc");
    std::fs::write(&cert, text).unwrap();
    s.gpg.run(&["--import", cert.to_str().unwrap()]);
    s.gpg.export(&dana, &s.keys.join("dana.asc"));
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[signature.invalid]"), "{r:?}");
    assert!(r.out.to_lowercase().contains("revoked"), "{r:?}");
}

#[test]
fn ssh_signatures_and_their_namespace() {
    let (s, _dana, _sam, _eve) = team();
    let key = s.keys.join("ravi");
    let o = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ravi", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    std::fs::write(
        s.keys.join("allowed_signers"),
        format!("ravi@example.com {public}"),
    )
    .unwrap();
    let fp = String::from_utf8(
        Command::new("ssh-keygen")
            .args(["-l", "-E", "sha256", "-f"])
            .arg(key.with_extension("pub"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let fp = fp.split_whitespace().nth(1).unwrap().to_string();
    let policy = std::fs::read_to_string(&s.f.policy)
        .unwrap()
        .replace("devs = [\"", &format!("devs = [\"ssh:{fp}\", \""));
    s.f.set_policy(&policy);
    s.f.git(&["config", "gpg.format", "ssh"]);
    s.f.git(&[
        "config",
        "user.signingkey",
        key.with_extension("pub").to_str().unwrap(),
    ]);
    s.f.git(&["config", "user.email", "ravi@example.com"]);
    s.commit_signed("a.txt", "1", "ssh signed");
    assert_accepted(&s.push(&["origin", "main"]));

    // A signature made for another namespace ("file") on the same payload is refused.
    s.commit_signed("a.txt", "2", "ssh signed again");
    let raw = s.f.git(&["cat-file", "commit", "HEAD"]);
    let payload: String = {
        let mut out = String::new();
        let mut in_sig = false;
        for line in raw.lines() {
            if line.starts_with("gpgsig ") {
                in_sig = true;
                continue;
            }
            if in_sig && line.starts_with(' ') {
                continue;
            }
            in_sig = false;
            out.push_str(line);
            out.push('\n');
        }
        out
    };
    let payload_file = s.f.dir.path().join("payload");
    std::fs::write(&payload_file, &payload).unwrap();
    let o = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "file", "-f"])
        .arg(&key)
        .arg(&payload_file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sig = std::fs::read_to_string(payload_file.with_extension("sig")).unwrap();
    let mut forged = String::new();
    for (i, line) in payload.lines().enumerate() {
        forged.push_str(line);
        forged.push('\n');
        if line.starts_with("committer ") && i < 6 {
            let mut it = sig.lines();
            forged.push_str(&format!("gpgsig {}\n", it.next().unwrap()));
            for l in it {
                forged.push_str(&format!(" {l}\n"));
            }
        }
    }
    let id = s.f.hash_commit(&forged);
    let r = s.push(&["origin", &format!("{id}:refs/heads/main")]);
    assert_rejected(&r);
    assert!(r.out.contains("error[signature.invalid]"), "{r:?}");
    assert!(r.out.contains("namespace"), "{r:?}");
}

#[test]
fn release_tags_must_be_signed_annotated_tags() {
    let (s, dana, sam, _eve) = team();
    let policy = std::fs::read_to_string(&s.f.policy).unwrap()
        + "[[ref]]\nmatch = \"refs/tags/v*\"\nrequire_signed_tag = true\nsigners = [\"sre\"]\nimmutable = true\n";
    s.f.set_policy(&policy);
    s.sign_with(&dana);
    s.commit_signed("a.txt", "1", "release me");
    assert_accepted(&s.push(&["origin", "main"]));
    s.f.git(&["tag", "v1.0.0"]);
    let r = s.push(&["origin", "v1.0.0"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[tag.unsigned] refs/tags/v1.0.0") && r.out.contains("lightweight"),
        "{r:?}"
    );
    s.f.git(&["tag", "-d", "v1.0.0"]);
    s.git_signed(&["tag", "-s", "-u", &dana, "-m", "v1.0.0", "v1.0.0"]);
    let r = s.push(&["origin", "v1.0.0"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[tag.signer]"),
        "dana is not sre: {r:?}"
    );
    s.f.git(&["tag", "-d", "v1.0.0"]);
    s.git_signed(&["tag", "-s", "-u", &sam, "-m", "v1.0.0", "v1.0.0"]);
    let r = s.push(&["origin", "v1.0.0"]);
    assert_accepted(&r);
}

#[test]
fn signed_pushes_are_verified_against_the_updates() {
    let (s, dana, _sam, _eve) = team();
    let policy = std::fs::read_to_string(&s.f.policy).unwrap() + "require_signed_push = true\n";
    s.f.set_policy(&policy);
    s.f.remote_git(&["config", "receive.certNonceSeed", "test-seed"])
        .unwrap();
    // Record the certificate of each push, to replay it below.
    let recorder = s.f.dir.path().join("cert-env");
    let hook = s.f.bare.join("hooks/pre-receive");
    let shim = std::fs::read_to_string(&hook).unwrap();
    std::fs::write(
        &hook,
        shim.replace(
            "exec ",
            &format!(
                "env | grep '^GIT_PUSH_CERT' > '{}'\nexec ",
                recorder.display()
            ),
        ),
    )
    .unwrap();
    s.sign_with(&dana);
    s.commit_signed("a.txt", "1", "x");
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[push.unsigned]"), "{r:?}");
    let r = s.push(&["--signed", "origin", "main"]);
    assert_accepted(&r);
    let env: Vec<(String, String)> = std::fs::read_to_string(&recorder)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let cert = env
        .iter()
        .find(|(k, _)| k == "GIT_PUSH_CERT")
        .unwrap()
        .1
        .clone();
    // The certificate survives in the repository: replay it for another update.
    let main = s.f.remote_ref("refs/heads/main").unwrap();
    let zero = "0".repeat(40);
    let run_hook = |input: String, nonce: &str| {
        let r = s.f.run_hook(
            &[
                ("GIT_PUSH_CERT", &cert),
                ("GIT_PUSH_CERT_NONCE_STATUS", nonce),
            ],
            &input,
        );
        (Some(r.code), r.out)
    };
    let (code, err) = run_hook(format!("{zero} {main} refs/heads/main\n"), "BAD");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error[push.nonce]"), "a replayed nonce: {err}");
    let (code, err) = run_hook(format!("{main} {zero} refs/heads/main\n"), "OK");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("error[push.mismatch]"),
        "other updates than signed: {err}"
    );
    // Within the nonce slop (stateless HTTP, receive.certNonceSlop) git says SLOP: refused
    // unless allowed, and when allowed, each certificate counts once.
    let create = format!("{zero} {main} refs/heads/main\n");
    let (code, err) = run_hook(create.clone(), "SLOP");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error[push.nonce]"), "{err}");
    s.f.set_policy(&policy.replace(
        "[keys]",
        "[signatures]\nallow_nonce_slop = true\npush_cert_log = \"push-certs.log\"\n[keys]",
    ));
    let (code, err) = run_hook(create.clone(), "SLOP");
    assert_eq!(code, Some(0), "first use within the slop: {err}");
    let (code, err) = run_hook(create, "SLOP");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error[push.replay]"), "a replay: {err}");
}

#[test]
fn two_person_changes_need_a_merge_by_another_key() {
    let (s, _dana, sam, _eve) = team();
    let sam2 = s.gpg.key("Sam Two <sam2@example.com>", "ed25519");
    s.gpg.export(&sam2, &s.keys.join("sam2.asc"));
    let policy = std::fs::read_to_string(&s.f.policy)
        .unwrap()
        .replace("sre = [\"", &format!("sre = [\"openpgp:{sam2}\", \""))
        + "[[path]]\nmatch = \"clusters/prod/**\"\nrefs = \"refs/heads/main\"\nsigners = [\"sre\"]\ntwo_person = true\n";
    s.f.set_policy(&policy);
    s.f.git(&["config", "user.email", "sam@example.com"]);
    s.sign_with(&sam);
    s.commit_signed("README", "base", "base");
    assert_accepted(&s.push(&["origin", "main"]));
    // Sam changes prod on a branch; Sam2 merges it: accepted.
    s.f.git(&["checkout", "-q", "-b", "change"]);
    s.commit_signed("clusters/prod/app.yaml", "replicas: 3\n", "scale prod");
    s.f.git(&["checkout", "-q", "main"]);
    s.f.git(&["config", "user.email", "sam2@example.com"]);
    s.sign_with(&sam2);
    s.merge_signed("merge scale prod", "change");
    let r = s.push(&["origin", "main"]);
    assert_accepted(&r);
    // The same key twice: rejected.
    s.f.git(&["config", "user.email", "sam@example.com"]);
    s.sign_with(&sam);
    s.f.git(&["checkout", "-q", "-b", "change2"]);
    s.commit_signed(
        "clusters/prod/app.yaml",
        "replicas: 4\n",
        "scale prod again",
    );
    s.f.git(&["checkout", "-q", "main"]);
    s.merge_signed("merge my own change", "change2");
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[path.two-person]") && r.flat().contains("signed by the same key"),
        "{r:?}"
    );
    // A direct commit on main: no second person at all.
    s.f.git(&["reset", "-q", "--hard", "origin/main"]);
    s.commit_signed("clusters/prod/app.yaml", "replicas: 5\n", "direct");
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("not brought in by a merge"), "{r:?}");
}

#[test]
fn policy_check_lists_keys_and_groups() {
    let (s, dana, sam, _eve) = team();
    let r =
        s.f.pushguard(&["policy", "check", s.f.policy.to_str().unwrap()]);
    assert!(r.ok, "{r:?}");
    assert!(r.out.contains("2 trusted keys"), "{r:?}");
    assert!(
        r.out.contains(&format!("openpgp:{dana}")) && r.out.contains("Dana Dev <dana@example.com>"),
        "{r:?}"
    );
    assert!(r.out.contains(&format!("openpgp:{sam}")), "{r:?}");
    assert!(r.out.contains("groups: devs, sre"), "{r:?}");
    // A cycle of groups is a policy error with its line.
    let bad = std::fs::read_to_string(&s.f.policy)
        .unwrap()
        .replace("sre = [\"", "sre = [\"group:devs\", \"");
    s.f.set_policy(&bad);
    let r =
        s.f.pushguard(&["policy", "check", s.f.policy.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        r.out.contains("cycle") && r.out.contains("key `groups."),
        "{r:?}"
    );
}

#[test]
fn an_expired_key_counts_only_with_key_validity_signature_time() {
    let (s, _dana, _sam, _eve) = team();
    // A key made in 2020 that expired after a year; the commit was signed while it was valid.
    let fpr = {
        s.gpg.run(&[
            "--faked-system-time",
            "20200101T000000",
            "--quick-gen-key",
            "Old Key <dana@example.com>",
            "ed25519",
            "sign",
            "1y",
        ]);
        let out = s.gpg.run(&["--with-colons", "--list-keys", "Old Key"]);
        out.lines()
            .find(|l| l.starts_with("fpr:"))
            .unwrap()
            .split(':')
            .nth(9)
            .unwrap()
            .to_string()
    };
    s.gpg.export(&fpr, &s.keys.join("old.asc"));
    let policy = std::fs::read_to_string(&s.f.policy)
        .unwrap()
        .replace("devs = [\"", &format!("devs = [\"openpgp:{fpr}\", \""));
    s.f.set_policy(&policy);
    let wrapper = s.f.dir.path().join("gpg-2020");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\nexec gpg --faked-system-time 20200601T000000 \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    s.sign_with(&fpr);
    s.f.git(&["config", "gpg.program", wrapper.to_str().unwrap()]);
    std::fs::write(s.f.work.join("a.txt"), "old").unwrap();
    s.f.git(&["add", "-A"]);
    let o =
        s.f.cmd("git", &s.f.work)
            .env("GNUPGHOME", &s.gpg.home)
            .env("GIT_COMMITTER_DATE", "1590969600 +0000")
            .env("GIT_AUTHOR_DATE", "1590969600 +0000")
            .args(["commit", "-q", "-S", "-m", "signed in 2020"])
            .output()
            .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[signature.invalid]") && r.out.to_lowercase().contains("expire"),
        "{r:?}"
    );
    // History imports may judge keys at signature time.
    s.f.set_policy(&policy.replace(
        "bind_to_signer = true",
        "bind_to_signer = true\nkey_validity = \"signature-time\"",
    ));
    assert_accepted(&s.push(&["origin", "main"]));
}

#[test]
fn the_forge_key_signs_web_merges_for_the_pusher_the_host_names() {
    let (s, dana, _sam, _eve) = team();
    let forge = s.gpg.key("Gitea <gitea@git.example.com>", "ed25519");
    s.gpg.export(&forge, &s.keys.join("forge.asc"));
    let policy = std::fs::read_to_string(&s.f.policy)
        .unwrap()
        .replace("signers = [\"devs\"]", "signers = [\"devs\", \"forge\"]")
        .replace(
            "[identities]",
            "[host]\nforge_group = \"forge\"\n[identities]",
        )
        .replace(
            "sre = [\"",
            &format!("forge = [\"openpgp:{forge}\"]\nsre = [\""),
        )
        + "[[path]]\nmatch = \"clusters/prod/**\"\nsigners = [\"sre\"]\npushers = [\"sam\"]\n";
    s.f.set_policy(&policy);
    s.sign_with(&dana);
    s.commit_signed("README", "x", "base");
    assert_accepted(&s.push(&["origin", "main"]));
    // A web edit: Gitea commits as itself and signs with its key, on behalf of the clicking user.
    s.f.git(&["config", "user.email", "gitea@git.example.com"]);
    s.sign_with(&forge);
    s.commit_signed("clusters/prod/app.yaml", "replicas: 2\n", "Update app.yaml");
    let gitea = |pusher: &str| {
        vec![
            ("GITEA_REPO_USER_NAME".to_string(), "ops".to_string()),
            ("GITEA_REPO_NAME".to_string(), "fleet".to_string()),
            ("GITEA_PUSHER_NAME".to_string(), pusher.to_string()),
            (
                "SSH_ORIGINAL_COMMAND".to_string(),
                "gitea-internal".to_string(),
            ),
            ("GNUPGHOME".to_string(), s.gpg.home.display().to_string()),
        ]
    };
    let push_as = |pusher: &str| {
        let env = gitea(pusher);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        s.f.push_as(&env, &["origin", "main"])
    };
    let r = push_as("dana");
    assert_rejected(&r);
    assert!(
        r.out.contains("error[path.signers]") && r.out.contains("not pusher \"dana\""),
        "{r:?}"
    );
    let r = push_as("sam");
    assert_accepted(&r);
}

#[test]
fn path_signers_developer_keys_for_apps_sre_keys_for_prod() {
    let (s, dana, sam, _eve) = team();
    let policy = std::fs::read_to_string(&s.f.policy).unwrap()
        + "[[path]]\nmatch = \"clusters/prod/**\"\nrefs = \"refs/heads/main\"\nsigners = [\"sre\"]\n";
    s.f.set_policy(&policy);
    // The developer's key: apps/ lands, clusters/prod/ does not.
    s.sign_with(&dana);
    s.commit_signed("apps/web.yaml", "replicas: 1\n", "apps by dana");
    assert_accepted(&s.push(&["origin", "main"]));
    s.commit_signed("clusters/prod/app.yaml", "replicas: 1\n", "prod by dana");
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[path.signers] refs/heads/main"),
        "{r:?}"
    );
    assert!(
        r.out.contains("only keys of sre may sign") && r.out.contains("Dana Dev"),
        "{r:?}"
    );
    s.f.git(&["reset", "-q", "--hard", "origin/main"]);
    // The SRE's key: both land.
    s.f.git(&["config", "user.email", "sam@example.com"]);
    s.sign_with(&sam);
    s.commit_signed("apps/web.yaml", "replicas: 2\n", "apps by sam");
    s.commit_signed("clusters/prod/app.yaml", "replicas: 2\n", "prod by sam");
    assert_accepted(&s.push(&["origin", "main"]));
    // A merge signed by the developer that brings an SRE-signed prod change: the merge answers
    // for what it brings to main, and a developer's key may not.
    s.f.git(&["checkout", "-q", "-b", "sre-change"]);
    s.commit_signed(
        "clusters/prod/app.yaml",
        "replicas: 3\n",
        "prod by sam on a branch",
    );
    s.f.git(&["checkout", "-q", "main"]);
    s.commit_signed("apps/other.yaml", "x", "unrelated");
    s.f.git(&["config", "user.email", "dana@example.com"]);
    s.sign_with(&dana);
    s.merge_signed("merge by dana", "sre-change");
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[path.signers]") && r.out.contains("\"merge by dana\""),
        "{r:?}"
    );
    assert!(
        !r.out.contains("\"prod by sam on a branch\""),
        "the SRE's own commit is fine: {r:?}"
    );
}
