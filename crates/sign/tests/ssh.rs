//! SSH commit signatures (git `gpg.format=ssh`) made by ssh-keygen, judged by `pushguard_sign`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use pushguard_sign::*;

fn ssh_config(key: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("gpg.format", "ssh".to_string()),
        ("user.signingkey", key.display().to_string()),
    ]
}

fn ssh_commit(repo: &Repo, msg: &str, key: &Path, time: u64) -> Vec<u8> {
    let cfg = ssh_config(key);
    let cfg: Vec<(&str, &str)> = cfg.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let oid = repo.commit(msg, &cfg, &["-S"], time);
    repo.cat("commit", &oid)
}

fn write_allowed(env: &Env, lines: &[String]) -> PathBuf {
    let path = env.path("allowed_signers");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn judge(store: &TrustStore, raw: &[u8], o: &VerifyOptions) -> Verdict {
    let signed = commit_signature(raw).expect("signed");
    assert_eq!(signed.format, Format::Ssh);
    verify(store, &signed, committer(raw).unwrap().time, o)
}

#[test]
fn ed25519_rsa_and_ecdsa_commits_are_good() {
    let env = Env::new();
    let repo = env.repo("r");
    let keys = [
        env.ssh_key("ed", &["-t", "ed25519"]),
        env.ssh_key("rsa", &["-t", "rsa", "-b", "3072"]),
        env.ssh_key("p256", &["-t", "ecdsa", "-b", "256"]),
        env.ssh_key("p384", &["-t", "ecdsa", "-b", "384"]),
    ];
    let lines: Vec<String> = keys
        .iter()
        .map(|k| {
            format!(
                "alice@example.com,*@ops.example.com,!eve@ops.example.com {}",
                env.pubkey(k)
            )
        })
        .collect();
    let store = TrustStore::load(&[], Some(&write_allowed(&env, &lines))).unwrap();
    for key in &keys {
        let raw = ssh_commit(&repo, &format!("by {}", key.display()), key, now_secs());
        let v = judge(&store, &raw, &opts(KeyValidity::Now));
        let s = v.signer().unwrap_or_else(|| panic!("{key:?}: {v:?}"));
        assert_eq!(s.key_id, env.ssh_fingerprint(key));
        assert_eq!(
            normalize_key_id(&s.key_id).as_deref(),
            Some(s.key_id.as_str())
        );
        assert!(store.has_key(&s.key_id));
        assert!(s.binds("alice@example.com") && s.binds("bob@ops.example.com"));
        assert!(!s.binds("eve@ops.example.com") && !s.binds("mallory@example.com"));
        assert_eq!(s.created, committer(&raw).unwrap().time);
    }
    let infos = store.keys();
    assert_eq!(infos.len(), 4);
    assert!(
        infos
            .iter()
            .all(|k| k.format == Format::Ssh && k.problems.is_empty()),
        "{infos:?}"
    );
}

#[test]
fn wrong_namespace_is_rejected() {
    let env = Env::new();
    let repo = env.repo("r");
    let key = env.ssh_key("ed", &["-t", "ed25519"]);
    let store = TrustStore::load(
        &[],
        Some(&write_allowed(
            &env,
            &[format!("alice@example.com {}", env.pubkey(&key))],
        )),
    )
    .unwrap();
    let oid = repo.commit("payload", &[], &[], now_secs());
    let raw = repo.cat("commit", &oid);
    for ns in ["file", "other"] {
        let sig = run_stdin(
            Command::new("ssh-keygen")
                .args(["-q", "-Y", "sign", "-n", ns, "-f"])
                .arg(&key),
            &raw,
        )
        .stdout;
        let forged = insert_gpgsig(&raw, &sig);
        match judge(&store, &forged, &opts(KeyValidity::Now)) {
            Verdict::Bad(p @ Problem::WrongNamespace { .. }) => {
                assert!(p.to_string().contains(ns), "{p}")
            }
            other => panic!("{other:?}"),
        }
    }
    // The same bytes signed for "git" are good: the namespace alone made the difference.
    let sig = run_stdin(
        Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", "git", "-f"])
            .arg(&key),
        &raw,
    )
    .stdout;
    assert!(
        judge(&store, &insert_gpgsig(&raw, &sig), &opts(KeyValidity::Now))
            .signer()
            .is_some()
    );
}

#[test]
fn unknown_and_tampered_are_bad() {
    let env = Env::new();
    let repo = env.repo("r");
    let trusted = env.ssh_key("trusted", &["-t", "ed25519"]);
    let stranger = env.ssh_key("stranger", &["-t", "ed25519"]);
    let store = TrustStore::load(
        &[],
        Some(&write_allowed(
            &env,
            &[format!("alice@example.com {}", env.pubkey(&trusted))],
        )),
    )
    .unwrap();
    let raw = ssh_commit(&repo, "by stranger", &stranger, now_secs());
    assert!(!store.has_key(&env.ssh_fingerprint(&stranger)));
    match judge(&store, &raw, &opts(KeyValidity::Now)) {
        Verdict::Bad(Problem::UnknownKey { issuer }) => {
            assert_eq!(issuer, env.ssh_fingerprint(&stranger))
        }
        other => panic!("{other:?}"),
    }
    let raw = ssh_commit(&repo, "deploy v1", &trusted, now_secs());
    let forged = tamper(&raw, "deploy v1", "deploy v2");
    assert!(matches!(
        judge(&store, &forged, &opts(KeyValidity::Now)),
        Verdict::Bad(Problem::BadSignature { .. })
    ));

    // RSA and ECDSA go through Sequoia's OpenSSL backend rather than ssh-key: same verdicts.
    for (name, keytype, bits, hash) in [
        ("rsa512", "rsa", "3072", "sha512"),
        ("rsa256", "rsa", "3072", "sha256"),
        ("p256", "ecdsa", "256", "sha512"),
        ("p384", "ecdsa", "384", "sha256"),
        ("p521", "ecdsa", "521", "sha512"),
    ] {
        let rsa = env.ssh_key(name, &["-t", keytype, "-b", bits]);
        let line = format!("alice@example.com {}", env.pubkey(&rsa));
        let store = TrustStore::load(&[], Some(&write_allowed(&env, &[line]))).unwrap();
        let unsigned = repo.cat("commit", &repo.commit(name, &[], &[], now_secs()));
        let hashalg = format!("hashalg={hash}");
        let mut sign = Command::new("ssh-keygen");
        sign.args(["-q", "-Y", "sign", "-n", "git", "-O", &hashalg, "-f"])
            .arg(&rsa);
        let good = insert_gpgsig(&unsigned, &run_stdin(&mut sign, &unsigned).stdout);
        let v = judge(&store, &good, &opts(KeyValidity::Now));
        assert!(
            v.signer().is_some_and(|s| s.hash == hash.to_uppercase()),
            "{v:?}"
        );
        let forged = tamper(&good, &format!("\n\n{name}\n"), "\n\nforged\n");
        let v = judge(&store, &forged, &opts(KeyValidity::Now));
        assert!(
            matches!(v, Verdict::Bad(Problem::BadSignature { .. })),
            "{v:?}"
        );
    }
    let weak = env.ssh_key("weak", &["-t", "rsa", "-b", "1024"]);
    let line = format!("alice@example.com {}", env.pubkey(&weak));
    let err = TrustStore::load(&[], Some(&write_allowed(&env, &[line]))).unwrap_err();
    assert!(err.to_string().contains("1024 bits"), "{err}");
}

#[test]
fn validity_window_is_judged_at_commit_time_and_now() {
    let env = Env::new();
    let repo = env.repo("r");
    let key = env.ssh_key("ed", &["-t", "ed25519"]);
    let n = now_secs();
    let old = ssh_commit(&repo, "old", &key, n - 2 * YEAR);
    let fresh = ssh_commit(&repo, "fresh", &key, n - 60);
    let pk = env.pubkey(&key);
    let day = |t: u64| {
        stdout(run(Command::new("date").args([
            "-u",
            "-d",
            &format!("@{t}"),
            "+%Y%m%d%H%M%SZ",
        ])))
    };

    // Retired a year ago: the old commit was made inside the window.
    let retired = TrustStore::load(
        &[],
        Some(&write_allowed(
            &env,
            &[format!(
                "alice@example.com valid-before=\"{}\" {pk}",
                day(n - YEAR)
            )],
        )),
    )
    .unwrap();
    assert!(judge(&retired, &old, &opts(KeyValidity::SignatureTime))
        .signer()
        .is_some());
    match judge(&retired, &old, &opts(KeyValidity::Now)) {
        Verdict::Bad(Problem::Expired { judged_at, .. }) => assert!(unix(judged_at) >= n),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        judge(&retired, &fresh, &opts(KeyValidity::SignatureTime)),
        Verdict::Bad(Problem::Expired { .. })
    ));

    // Valid only from a year ago: the old commit predates it.
    let newer = TrustStore::load(
        &[],
        Some(&write_allowed(
            &env,
            &[format!(
                "alice@example.com valid-after=\"{}\" {pk}",
                day(n - YEAR)
            )],
        )),
    )
    .unwrap();
    assert!(matches!(
        judge(&newer, &old, &opts(KeyValidity::SignatureTime)),
        Verdict::Bad(Problem::NotYetValid { .. })
    ));
    assert!(judge(&newer, &fresh, &opts(KeyValidity::Now))
        .signer()
        .is_some());

    // A far-future committer date cannot stretch a window.
    let future = ssh_commit(&repo, "future", &key, n + 24 * 3600);
    assert!(matches!(
        judge(&newer, &future, &opts(KeyValidity::Now)),
        Verdict::Bad(Problem::FutureTime { .. })
    ));
}

#[test]
fn namespaces_option_and_several_lines_for_one_key() {
    let env = Env::new();
    let repo = env.repo("r");
    let key = env.ssh_key("ed", &["-t", "ed25519"]);
    let pk = env.pubkey(&key);
    let raw = ssh_commit(&repo, "x", &key, now_secs());
    let file_only = TrustStore::load(
        &[],
        Some(&write_allowed(
            &env,
            &[format!("alice@example.com namespaces=\"file\" {pk}")],
        )),
    )
    .unwrap();
    match judge(&file_only, &raw, &opts(KeyValidity::Now)) {
        Verdict::Bad(p @ Problem::NamespaceNotAllowed { .. }) => {
            assert!(p.to_string().contains("alice@example.com"), "{p}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!file_only.keys()[0].problems.is_empty());
    // The principals of every accepting line count; a refusing line's do not.
    let two = TrustStore::load(
        &[],
        Some(&write_allowed(
            &env,
            &[
                format!("alice@example.com namespaces=\"git,file\" {pk}"),
                format!("ops@example.com namespaces=\"file\" {pk}"),
                format!("alice@corp.example {pk}"),
            ],
        )),
    )
    .unwrap();
    let v = judge(&two, &raw, &opts(KeyValidity::Now));
    let s = v.signer().unwrap_or_else(|| panic!("{v:?}"));
    assert!(s.binds("alice@example.com") && s.binds("alice@corp.example"));
    assert!(!s.binds("ops@example.com"));
}

#[test]
fn cert_authority_lines_are_refused_with_the_line() {
    let env = Env::new();
    let key = env.ssh_key("ca", &["-t", "ed25519"]);
    let path = write_allowed(
        &env,
        &[
            "# CA".to_string(),
            format!("*@example.com cert-authority {}", env.pubkey(&key)),
        ],
    );
    let err = TrustStore::load(&[], Some(&path)).unwrap_err().to_string();
    assert!(
        err.contains("allowed_signers:2:") && err.contains("cert-authority"),
        "{err}"
    );
}
