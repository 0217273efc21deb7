//! OpenPGP commit and tag signatures made by gpg, sq and sqop, judged by `pushguard_sign`.

mod common;

use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use common::*;
use pushguard_sign::*;

fn store(certs: &[std::path::PathBuf]) -> TrustStore {
    TrustStore::load(certs, None).unwrap()
}

fn commit_verdict(repo: &Repo, store: &TrustStore, oid: &str, o: &VerifyOptions) -> Verdict {
    let raw = repo.cat("commit", oid);
    let signed = commit_signature(&raw).expect("signed");
    assert_eq!(signed.format, Format::OpenPgp);
    verify(store, &signed, committer(&raw).unwrap().time, o)
}

#[test]
fn good_ed25519_and_rsa3072_signatures_name_the_key() {
    let env = Env::new();
    let ed = env.gen_key("Alice <alice@example.com>", "ed25519", "sign", "0", None);
    let rsa = env.gen_key("Bob <bob@example.com>", "rsa3072", "sign", "0", None);
    let repo = env.repo("r");
    let c1 = repo.commit("one", &[], &[&format!("-S{ed}")], now_secs());
    let c2 = repo.commit("two", &[], &[&format!("-S{rsa}")], now_secs());
    let store = store(&[env.export(&ed), env.export(&rsa)]);
    let o = opts(KeyValidity::Now);

    let v = commit_verdict(&repo, &store, &c1, &o);
    let s = v.signer().unwrap_or_else(|| panic!("{v:?}"));
    assert_eq!(s.key_id, format!("openpgp:{ed}"));
    assert_eq!(s.signing_key, ed);
    assert_eq!(s.user_ids, ["Alice <alice@example.com>"]);
    assert!(s.binds("alice@example.com") && s.binds("ALICE@Example.com"));
    assert!(!s.binds("bob@example.com"));
    assert!(!s.hash.is_empty() && s.hash != "SHA1", "{}", s.hash);

    let v = commit_verdict(&repo, &store, &c2, &o);
    let s = v.signer().unwrap_or_else(|| panic!("{v:?}"));
    assert_eq!(s.key_id, format!("openpgp:{rsa}"));
    assert!(s.binds("bob@example.com"));

    // One store, shared by verification threads.
    let (raw1, raw2) = (repo.cat("commit", &c1), repo.cat("commit", &c2));
    std::thread::scope(|scope| {
        for raw in [&raw1, &raw2, &raw1, &raw2] {
            let (store, o) = (&store, &o);
            scope.spawn(move || {
                let signed = commit_signature(raw).unwrap();
                assert!(verify(store, &signed, at(0), o).signer().is_some());
            });
        }
    });

    // A second signature header (git concatenates them) is refused, not ignored.
    let text = String::from_utf8(raw1.clone()).unwrap();
    let start = text.find("gpgsig ").unwrap();
    let end = text.find("-----END PGP SIGNATURE-----\n").unwrap() + 28;
    let doubled = format!("{}{}{}", &text[..end], &text[start..end], &text[end..]);
    let signed = commit_signature(doubled.as_bytes()).unwrap();
    let v = verify(&store, &signed, at(0), &o);
    assert!(matches!(v, Verdict::Bad(Problem::Malformed(_))), "{v:?}");
    assert_eq!(
        normalize_key_id(&rsa.to_lowercase()).as_deref(),
        Some(s.key_id.as_str())
    );
    assert!(store.has_key(&rsa.to_lowercase()) && store.has_key(&format!("openpgp:{ed}")));
    assert!(!store.has_key(&"A".repeat(40)) && !store.has_key("group:x"));
    let infos = store.keys();
    assert_eq!(infos.len(), 2);
    for k in &infos {
        assert!(
            k.problems.is_empty() && k.revoked.is_none() && k.expires.is_none(),
            "{k:?}"
        );
        assert_eq!(k.signing_keys.len(), 1, "{k:?}");
        assert_eq!(k.user_ids.len(), 1, "{k:?}");
    }
}

#[test]
fn signing_subkey_is_reported_under_its_primary() {
    let env = Env::new();
    let primary = env.gen_key("Carol <carol@example.com>", "ed25519", "cert", "0", None);
    let sub = env.add_subkey(&primary, "ed25519", "sign");
    assert_ne!(primary, sub);
    let repo = env.repo("r");
    let c = repo.commit("sub", &[], &[&format!("-S{primary}")], now_secs());
    let v = commit_verdict(
        &repo,
        &store(&[env.export(&primary)]),
        &c,
        &opts(KeyValidity::Now),
    );
    let s = v.signer().unwrap_or_else(|| panic!("{v:?}"));
    assert_eq!(s.key_id, format!("openpgp:{primary}"));
    assert_eq!(s.signing_key, sub);
}

#[test]
fn tampered_message_or_tree_under_a_copied_signature_is_bad() {
    let env = Env::new();
    let fpr = env.gen_key("Alice <alice@example.com>", "ed25519", "sign", "0", None);
    let repo = env.repo("r");
    let c = repo.commit("deploy v1", &[], &[&format!("-S{fpr}")], now_secs());
    let raw = repo.cat("commit", &c);
    let store = store(&[env.export(&fpr)]);
    let o = opts(KeyValidity::Now);
    let empty_tree = repo.write_object("tree", b"");

    let tree_line = String::from_utf8_lossy(&raw)
        .lines()
        .next()
        .unwrap()
        .to_string();
    for forged in [
        tamper(&raw, "deploy v1", "deploy v2"),
        tamper(&raw, &tree_line, &format!("tree {empty_tree}")),
    ] {
        // The forgery is a real object git accepts.
        let oid = repo.write_object("commit", &forged);
        assert!(!repo.verify_commit(&oid, &[]), "git accepted the forgery");
        let signed = commit_signature(&forged).unwrap();
        match verify(&store, &signed, committer(&forged).unwrap().time, &o) {
            Verdict::Bad(p @ Problem::BadSignature { .. }) => {
                let key = p.key().unwrap();
                assert_eq!(key.key_id, format!("openpgp:{fpr}"));
                assert_eq!(key.user_id.as_deref(), Some("Alice <alice@example.com>"));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn unknown_key_is_named_by_fingerprint() {
    let env = Env::new();
    let trusted = env.gen_key("Alice <alice@example.com>", "ed25519", "sign", "0", None);
    let stranger = env.gen_key("Mallory <alice@example.com>", "ed25519", "sign", "0", None);
    let repo = env.repo("r");
    let c = repo.commit("evil", &[], &[&format!("-S{stranger}")], now_secs());
    let v = commit_verdict(
        &repo,
        &store(&[env.export(&trusted)]),
        &c,
        &opts(KeyValidity::Now),
    );
    match v {
        Verdict::Bad(p @ Problem::UnknownKey { .. }) => {
            assert!(p.to_string().contains(&stranger), "{p}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn expired_key_is_rejected_now_but_accepted_at_signature_time() {
    let env = Env::new();
    let t0 = now_secs() - 3 * YEAR;
    let fpr = env.gen_key("Old <old@example.com>", "ed25519", "sign", "1y", Some(t0));
    let signed_at = t0 + YEAR / 2;
    let gpg_then = env.gpg_wrapper("gpg-then", &format!("--faked-system-time {signed_at}!"));
    let repo = env.repo("r");
    let c = repo.commit(
        "then",
        &[("gpg.program", gpg_then.to_str().unwrap())],
        &[&format!("-S{fpr}")],
        signed_at,
    );
    let store = store(&[env.export(&fpr)]);

    match commit_verdict(&repo, &store, &c, &opts(KeyValidity::Now)) {
        Verdict::Bad(p @ Problem::Expired { at: expired, .. }) => {
            assert!(
                unix(expired) > signed_at && unix(expired) < now_secs(),
                "{p}"
            );
            let msg = p.to_string();
            assert!(
                msg.contains(&fpr) && msg.contains("old@example.com"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    let v = commit_verdict(&repo, &store, &c, &opts(KeyValidity::SignatureTime));
    assert_eq!(
        unix(v.signer().unwrap_or_else(|| panic!("{v:?}")).created),
        signed_at
    );
    // git judges expiry now, like key_validity = "now".
    assert!(!repo.verify_commit(&c, &[]));

    let info = store.keys();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].key_id, format!("openpgp:{fpr}"));
    assert!(unix(info[0].expires.unwrap()) > t0);
    assert!(!info[0].problems.is_empty(), "{info:?}");
}

#[test]
fn hard_revoked_key_rejects_every_signature() {
    let env = Env::new();
    let fpr = env.gen_key(
        "Rev <rev@example.com>",
        "ed25519",
        "sign",
        "0",
        Some(now_secs() - YEAR),
    );
    let repo = env.repo("r");
    let c = repo.commit(
        "before revocation",
        &[],
        &[&format!("-S{fpr}")],
        now_secs() - 60,
    );
    env.revoke_hard(&fpr);
    let store = store(&[env.export(&fpr)]);
    for validity in [KeyValidity::Now, KeyValidity::SignatureTime] {
        match commit_verdict(&repo, &store, &c, &opts(validity)) {
            Verdict::Bad(p @ Problem::Revoked { hard: true, .. }) => {
                assert!(p.to_string().contains(&fpr), "{p}")
            }
            other => panic!("{validity:?}: {other:?}"),
        }
    }
    let info = store.keys();
    assert!(info[0].revoked.as_ref().is_some_and(|r| r.hard), "{info:?}");
}

/// Soft revocation ("superseded") made with `sq` at a chosen time: signatures made before it
/// stay good under `signature-time`, later ones do not; `now` rejects both.
#[test]
fn soft_revocation_only_rejects_later_signatures() {
    let env = Env::new();
    let n = now_secs();
    let stamp = |t: u64| {
        let out = run(Command::new("date").args(["-u", "-d", &format!("@{t}"), "+%Y%m%dT%H%M%SZ"]));
        stdout(out)
    };
    let key = env.path("dana.pgp");
    run(Command::new("sq")
        .args(["key", "generate", "-u", "Dana <dana@example.com>"])
        .args(["--creation-time", &stamp(n - 3 * YEAR)])
        .arg("-e")
        .arg(&key));
    let repo = env.repo("r");
    let unsigned = |msg: &str| -> Vec<u8> {
        let oid = repo.commit(msg, &[], &[], n - YEAR);
        repo.cat("commit", &oid)
    };
    let sign_at = |raw: &[u8], t: u64| -> Vec<u8> {
        let sig = run_stdin(
            Command::new("sq")
                .args(["sign", "--detached", "--time", &stamp(t), "--signer-key"])
                .arg(&key),
            raw,
        )
        .stdout;
        insert_gpgsig(raw, &sig)
    };
    let early = sign_at(&unsigned("early"), n - 2 * YEAR);
    let late = sign_at(&unsigned("late"), n - YEAR / 2);

    let cert = env.path("dana.cert");
    run(Command::new("sq")
        .args(["key", "extract-cert", "--output"])
        .arg(&cert)
        .arg(&key));
    let plain = TrustStore::load(std::slice::from_ref(&cert), None).unwrap();
    let v = verify(
        &plain,
        &commit_signature(&early).unwrap(),
        at(0),
        &opts(KeyValidity::Now),
    );
    let signer = v.signer().unwrap_or_else(|| panic!("{v:?}")).clone();
    // sq signs with a subkey: the subkey revocation cases below rely on it.
    assert_ne!(format!("openpgp:{}", signer.signing_key), signer.key_id);

    for (what, reason, hard) in [
        ("certificate", "superseded", false),
        ("certificate", "compromised", true),
        ("subkey", "retired", false),
        ("subkey", "compromised", true),
    ] {
        let revoked = env.path(&format!("dana-{what}-{reason}.pgp"));
        let mut cmd = Command::new("sq");
        cmd.args(["revoke", what, "--time", &stamp(n - YEAR), "--certificate"])
            .arg(&key);
        if what == "subkey" {
            cmd.arg(&signer.signing_key);
        }
        let rev = run(cmd.args([reason, "replaced by a new key"])).stdout;
        std::fs::write(&revoked, rev).unwrap();
        // The revocation is merged into the certificate by the store.
        let store = TrustStore::load(&[cert.clone(), revoked], None).unwrap();
        let judge = |raw: &[u8], validity| {
            verify(
                &store,
                &commit_signature(raw).unwrap(),
                committer(raw).unwrap().time,
                &opts(validity),
            )
        };
        let early_sig_time = judge(&early, KeyValidity::SignatureTime);
        if hard {
            assert!(
                matches!(
                    early_sig_time,
                    Verdict::Bad(Problem::Revoked { hard: true, .. })
                ),
                "{what} {reason}: {early_sig_time:?}"
            );
        } else {
            let s = early_sig_time
                .signer()
                .unwrap_or_else(|| panic!("{what} {reason}: {early_sig_time:?}"));
            assert!(s.binds("dana@example.com"));
        }
        match judge(&late, KeyValidity::SignatureTime) {
            Verdict::Bad(Problem::Revoked {
                hard: h, reason: r, ..
            }) => {
                assert_eq!(h, hard);
                assert!(r.contains("replaced by a new key"), "{r}");
            }
            other => panic!("{what} {reason}: {other:?}"),
        }
        let now = judge(&early, KeyValidity::Now);
        assert!(
            matches!(now, Verdict::Bad(Problem::Revoked { .. })),
            "{what} {reason}: {now:?}"
        );
    }
}

#[test]
fn sha1_signatures_need_allow_sha1() {
    let env = Env::new();
    let fpr = env.gen_key("Sha <sha@example.com>", "rsa3072", "sign", "0", None);
    let gpg_sha1 = env.gpg_wrapper("gpg-sha1", "--digest-algo SHA1");
    let repo = env.repo("r");
    let c = repo.commit(
        "sha1",
        &[("gpg.program", gpg_sha1.to_str().unwrap())],
        &[&format!("-S{fpr}")],
        now_secs(),
    );
    let store = store(&[env.export(&fpr)]);
    match commit_verdict(&repo, &store, &c, &opts(KeyValidity::Now)) {
        Verdict::Bad(p @ Problem::WeakHash { .. }) => {
            assert!(p.to_string().contains("SHA1"), "{p}")
        }
        other => panic!("{other:?}"),
    }
    let allow = VerifyOptions {
        allow_sha1: true,
        ..opts(KeyValidity::Now)
    };
    let v = commit_verdict(&repo, &store, &c, &allow);
    assert_eq!(v.signer().unwrap_or_else(|| panic!("{v:?}")).hash, "SHA1");
    // Deliberate difference: gpg (and so git) still accepts SHA-1 document signatures.
    assert!(repo.verify_commit(&c, &[]));
}

#[test]
fn future_dated_signature_is_rejected_beyond_the_skew() {
    let env = Env::new();
    let fpr = env.gen_key(
        "Fut <fut@example.com>",
        "ed25519",
        "sign",
        "0",
        Some(now_secs() - YEAR),
    );
    let future = now_secs() + 24 * 3600;
    let gpg_future = env.gpg_wrapper("gpg-future", &format!("--faked-system-time {future}!"));
    let repo = env.repo("r");
    let c = repo.commit(
        "future",
        &[("gpg.program", gpg_future.to_str().unwrap())],
        &[&format!("-S{fpr}")],
        future,
    );
    let store = store(&[env.export(&fpr)]);
    match commit_verdict(&repo, &store, &c, &opts(KeyValidity::Now)) {
        Verdict::Bad(Problem::FutureTime { created, .. }) => assert_eq!(unix(created), future),
        other => panic!("{other:?}"),
    }
    let lax = VerifyOptions {
        max_future_skew: Duration::from_secs(2 * 24 * 3600),
        ..opts(KeyValidity::Now)
    };
    assert!(commit_verdict(&repo, &store, &c, &lax).signer().is_some());
}

/// A verification time OpenPGP cannot express (a server clock set past 2106, or before 1970)
/// is a problem named as the clock's, never a panic inside Sequoia and never a good signature.
#[test]
fn a_clock_openpgp_cannot_express_is_a_problem_not_a_panic() {
    let env = Env::new();
    let fpr = env.gen_key("Clock <clock@example.com>", "ed25519", "sign", "0", None);
    let repo = env.repo("r");
    let c = repo.commit("signed", &[], &[&format!("-S{fpr}")], now_secs());
    let store = store(&[env.export(&fpr)]);
    let late = at(u64::from(u32::MAX) + 1);
    let early = UNIX_EPOCH - Duration::from_secs(1);
    for now in [late, early] {
        let o = VerifyOptions {
            now,
            ..opts(KeyValidity::Now)
        };
        match commit_verdict(&repo, &store, &c, &o) {
            Verdict::Bad(p @ Problem::ClockOutOfRange { .. }) => {
                assert!(
                    p.to_string().contains("a time OpenPGP cannot express"),
                    "{p}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let o = opts(KeyValidity::Now);
    assert!(commit_verdict(&repo, &store, &c, &o).signer().is_some());
    let last = VerifyOptions {
        now: at(u64::from(u32::MAX)),
        ..opts(KeyValidity::Now)
    };
    let v = commit_verdict(&repo, &store, &c, &last);
    assert!(
        !matches!(v, Verdict::Bad(Problem::ClockOutOfRange { .. })),
        "{v:?}"
    );
}

/// Commits signed by Sequoia's own tools, built by hand as git would.
#[test]
fn sq_and_sqop_signatures_built_by_hand() {
    let env = Env::new();
    let repo = env.repo("r");
    let base = repo.commit("payload", &[], &[], now_secs());
    let raw = repo.cat("commit", &base);

    let erin_key = env.path("erin.key");
    let key = run(Command::new("sqop").args(["generate-key", "Erin <erin@example.com>"])).stdout;
    std::fs::write(&erin_key, &key).unwrap();
    let erin_cert = env.path("erin.cert");
    std::fs::write(
        &erin_cert,
        run_stdin(Command::new("sqop").arg("extract-cert"), &key).stdout,
    )
    .unwrap();
    let sig = run_stdin(Command::new("sqop").arg("sign").arg(&erin_key), &raw).stdout;
    let by_sqop = insert_gpgsig(&raw, &sig);

    let dana_key = env.path("dana.pgp");
    run(Command::new("sq")
        .args(["key", "generate", "-u", "<dana@example.com>", "-e"])
        .arg(&dana_key));
    let dana_cert = env.path("dana.cert");
    run(Command::new("sq")
        .args(["key", "extract-cert", "--output"])
        .arg(&dana_cert)
        .arg(&dana_key));
    let sig = run_stdin(
        Command::new("sq")
            .args(["sign", "--detached", "--signer-key"])
            .arg(&dana_key),
        &raw,
    )
    .stdout;
    let by_sq = insert_gpgsig(&raw, &sig);

    let store = store(&[erin_cert.clone(), dana_cert.clone()]);
    env.gpg(&[
        "--import",
        erin_cert.to_str().unwrap(),
        dana_cert.to_str().unwrap(),
    ]);
    for (forged, email) in [(by_sqop, "erin@example.com"), (by_sq, "dana@example.com")] {
        let oid = repo.write_object("commit", &forged);
        assert!(
            repo.verify_commit(&oid, &[]),
            "git rejects the hand-made commit"
        );
        let raw = repo.cat("commit", &oid);
        let v = verify(
            &store,
            &commit_signature(&raw).unwrap(),
            committer(&raw).unwrap().time,
            &opts(KeyValidity::Now),
        );
        assert!(v.signer().unwrap_or_else(|| panic!("{v:?}")).binds(email));
    }
}

#[test]
fn signed_annotated_tag_and_tampered_tag() {
    let env = Env::new();
    let fpr = env.gen_key("Alice <alice@example.com>", "ed25519", "sign", "0", None);
    let repo = env.repo("r");
    repo.commit("c", &[], &[], now_secs());
    repo.git(&["tag", "-s", "-u", &fpr, "-m", "release 1", "v1"]);
    let raw = repo.cat("tag", "v1");
    let store = store(&[env.export(&fpr)]);
    let when = tagger(&raw).unwrap().time;
    let signed = tag_signature(&raw).unwrap();
    let v = verify(&store, &signed, when, &opts(KeyValidity::Now));
    assert_eq!(
        v.signer().unwrap_or_else(|| panic!("{v:?}")).key_id,
        format!("openpgp:{fpr}")
    );
    let forged = tamper(&raw, "release 1", "release 2");
    let v = verify(
        &store,
        &tag_signature(&forged).unwrap(),
        when,
        &opts(KeyValidity::Now),
    );
    assert!(
        matches!(v, Verdict::Bad(Problem::BadSignature { .. })),
        "{v:?}"
    );
}

#[test]
fn unsupported_and_malformed_signatures_are_not_unsigned() {
    let env = Env::new();
    let repo = env.repo("r");
    let c = repo.commit("x", &[], &[], now_secs());
    let raw = repo.cat("commit", &c);
    let store = store(&[]);
    let x509 = insert_gpgsig(&raw, b"-----BEGIN SIGNED MESSAGE-----\nMIAGCSqGSIb3DQEHAqCAMIACAQExDTALBglghkgBZQMEAgEw\n-----END SIGNED MESSAGE-----\n");
    let s = commit_signature(&x509).unwrap();
    assert_eq!(s.format, Format::X509);
    assert_eq!(
        verify(&store, &s, at(0), &opts(KeyValidity::Now)),
        Verdict::Bad(Problem::UnsupportedFormat(Format::X509))
    );
    let junk = insert_gpgsig(
        &raw,
        b"-----BEGIN PGP SIGNATURE-----\n\nnot base64 at all!!\n-----END PGP SIGNATURE-----\n",
    );
    let v = verify(
        &store,
        &commit_signature(&junk).unwrap(),
        at(0),
        &opts(KeyValidity::Now),
    );
    assert!(matches!(v, Verdict::Bad(Problem::Malformed(_))), "{v:?}");
    assert!(commit_signature(&raw).is_none());
}
