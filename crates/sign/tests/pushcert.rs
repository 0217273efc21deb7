//! Signed pushes: a real `git push --signed` to a bare repository whose pre-receive hook saves
//! the certificate blob, parsed and verified as the hook will.

mod common;

use std::path::Path;

use common::*;
use pushguard_sign::*;

/// A bare repository that accepts signed pushes and records `GIT_PUSH_CERT*`.
fn server(env: &Env) -> std::path::PathBuf {
    let bare = env.path("server.git");
    run(std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&bare));
    run(std::process::Command::new("git")
        .arg("-C")
        .arg(&bare)
        .args(["config", "receive.certNonceSeed", "test-seed"]));
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\ncat >\"$GIT_DIR/updates\"\n\
         git cat-file blob \"$GIT_PUSH_CERT\" >\"$GIT_DIR/cert\"\n\
         printf %s \"$GIT_PUSH_CERT_NONCE_STATUS\" >\"$GIT_DIR/nonce-status\"\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bare
}

fn push_signed(repo: &Repo, bare: &Path, config: &[(&str, &str)]) {
    let mut c = repo.cmd();
    for (k, v) in config {
        c.arg("-c").arg(format!("{k}={v}"));
    }
    run(c.args(["push", "-q", "--signed"]).arg(bare).arg("main"));
}

fn check_cert(bare: &Path, repo: &Repo, store: &TrustStore, want_key: &str) {
    let blob = std::fs::read(bare.join("cert")).unwrap();
    assert_eq!(
        std::fs::read_to_string(bare.join("nonce-status")).unwrap(),
        "OK"
    );
    let cert = parse_push_cert(&blob).unwrap();
    assert_eq!(cert.version, "0.1");
    assert!(!cert.nonce.is_empty());
    let head = repo.git(&["rev-parse", "HEAD"]);
    assert_eq!(
        cert.updates,
        [PushCertUpdate {
            old: "0".repeat(40),
            new: head,
            refname: "refs/heads/main".into()
        }]
    );
    // The hook's stdin and the certificate name the same update.
    let stdin = std::fs::read_to_string(bare.join("updates")).unwrap();
    let u = &cert.updates[0];
    assert_eq!(stdin.trim(), format!("{} {} {}", u.old, u.new, u.refname));

    let when = cert.pusher_time.unwrap();
    assert!(unix(when) + 600 > now_secs());
    let v = verify(store, &cert.signed, when, &opts(KeyValidity::Now));
    let s = v.signer().unwrap_or_else(|| panic!("{v:?}"));
    assert_eq!(s.key_id, want_key);
    assert!(s.binds("alice@example.com"));

    // A certificate edited to name another ref no longer verifies.
    let forged = String::from_utf8(blob)
        .unwrap()
        .replace("refs/heads/main", "refs/heads/prod");
    let forged = parse_push_cert(forged.as_bytes()).unwrap();
    assert_eq!(forged.updates[0].refname, "refs/heads/prod");
    let v = verify(store, &forged.signed, when, &opts(KeyValidity::Now));
    assert!(
        matches!(v, Verdict::Bad(Problem::BadSignature { .. })),
        "{v:?}"
    );
}

#[test]
fn openpgp_signed_push_certificate() {
    let env = Env::new();
    let fpr = env.gen_key("Alice <alice@example.com>", "ed25519", "sign", "0", None);
    let bare = server(&env);
    let repo = env.repo("r");
    repo.commit("c", &[], &[], now_secs());
    push_signed(&repo, &bare, &[("user.signingkey", &fpr)]);
    let store = TrustStore::load(&[env.export(&fpr)], None).unwrap();
    check_cert(&bare, &repo, &store, &format!("openpgp:{fpr}"));
}

#[test]
fn ssh_signed_push_certificate() {
    let env = Env::new();
    let key = env.ssh_key("ed", &["-t", "ed25519"]);
    let allowed = env.path("allowed_signers");
    std::fs::write(
        &allowed,
        format!("alice@example.com {}\n", env.pubkey(&key)),
    )
    .unwrap();
    let bare = server(&env);
    let repo = env.repo("r");
    repo.commit("c", &[], &[], now_secs());
    let k = key.display().to_string();
    push_signed(
        &repo,
        &bare,
        &[("gpg.format", "ssh"), ("user.signingkey", &k)],
    );
    let store = TrustStore::load(&[], Some(&allowed)).unwrap();
    check_cert(&bare, &repo, &store, &env.ssh_fingerprint(&key));
}
