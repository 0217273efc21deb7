//! Baseline: the verdict agrees with `git verify-commit` (gpg and ssh-keygen) for the same
//! commits and the same trusted keys, good and bad alike. Where pushguard deliberately
//! differs from git (SHA-1, validity windows judged now), the other tests say so.

mod common;

use std::process::Command;

use common::*;
use pushguard_sign::*;

#[test]
fn verdicts_agree_with_git_verify_commit() {
    let signer = Env::new(); // holds every secret key
    let verifier = Env::new(); // holds only the trusted certificates, as the policy does
    let repo = signer.repo("r");
    let n = now_secs();
    let mut cases: Vec<(&str, String, bool)> = Vec::new(); // (label, commit, expected good)

    // OpenPGP.
    let ed = signer.gen_key("Alice <alice@example.com>", "ed25519", "sign", "0", None);
    let rsa = signer.gen_key("Bob <bob@example.com>", "rsa3072", "sign", "0", None);
    let prim = signer.gen_key("Carol <carol@example.com>", "ed25519", "cert", "0", None);
    signer.add_subkey(&prim, "ed25519", "sign");
    let stranger = signer.gen_key("Mallory <alice@example.com>", "ed25519", "sign", "0", None);
    let t0 = n - 3 * YEAR;
    let old = signer.gen_key("Old <old@example.com>", "ed25519", "sign", "1y", Some(t0));
    let rev = signer.gen_key(
        "Rev <rev@example.com>",
        "ed25519",
        "sign",
        "0",
        Some(n - YEAR),
    );

    let sign = |fpr: &str| format!("-S{fpr}");
    cases.push((
        "gpg ed25519",
        repo.commit("ed", &[], &[&sign(&ed)], n - 100),
        true,
    ));
    cases.push((
        "gpg rsa3072",
        repo.commit("rsa", &[], &[&sign(&rsa)], n - 90),
        true,
    ));
    cases.push((
        "gpg subkey",
        repo.commit("sub", &[], &[&sign(&prim)], n - 80),
        true,
    ));
    cases.push((
        "gpg unknown key",
        repo.commit("stranger", &[], &[&sign(&stranger)], n - 70),
        false,
    ));
    let then = signer.gpg_wrapper(
        "gpg-then",
        &format!("--faked-system-time {}!", t0 + YEAR / 2),
    );
    let then_cfg = [("gpg.program", then.to_str().unwrap())];
    cases.push((
        "gpg expired key",
        repo.commit("expired", &then_cfg, &[&sign(&old)], t0 + YEAR / 2),
        false,
    ));
    cases.push((
        "gpg revoked key",
        repo.commit("revoked", &[], &[&sign(&rev)], n - 60),
        false,
    ));
    signer.revoke_hard(&rev);
    let good = repo.commit("to tamper", &[], &[&sign(&ed)], n - 50);
    let forged = tamper(&repo.cat("commit", &good), "to tamper", "tampered");
    cases.push(("gpg tampered", repo.write_object("commit", &forged), false));

    let certs: Vec<_> = [&ed, &rsa, &prim, &old, &rev]
        .iter()
        .map(|f| signer.export(f))
        .collect();
    for c in &certs {
        verifier.gpg(&["--import", c.to_str().unwrap()]);
    }

    // SSH.
    let ssh_keys = [
        signer.ssh_key("ssh-ed", &["-t", "ed25519"]),
        signer.ssh_key("ssh-rsa", &["-t", "rsa", "-b", "3072"]),
        signer.ssh_key("ssh-ecdsa", &["-t", "ecdsa"]),
    ];
    let ssh_stranger = signer.ssh_key("ssh-stranger", &["-t", "ed25519"]);
    let allowed = signer.path("allowed_signers");
    let lines: Vec<String> = ssh_keys
        .iter()
        .map(|k| format!("alice@example.com {}", signer.pubkey(k)))
        .collect();
    std::fs::write(&allowed, lines.join("\n") + "\n").unwrap();
    let ssh_cfg = |k: &std::path::Path| {
        vec![
            ("gpg.format", "ssh".to_string()),
            ("user.signingkey", k.display().to_string()),
        ]
    };
    let mut t = n - 40;
    for (label, key, good) in [
        ("ssh ed25519", &ssh_keys[0], true),
        ("ssh rsa", &ssh_keys[1], true),
        ("ssh ecdsa", &ssh_keys[2], true),
        ("ssh unknown key", &ssh_stranger, false),
    ] {
        let cfg = ssh_cfg(key);
        let cfg: Vec<(&str, &str)> = cfg.iter().map(|(k, v)| (*k, v.as_str())).collect();
        t += 1;
        cases.push((label, repo.commit(label, &cfg, &["-S"], t), good));
    }
    let unsigned = repo.cat("commit", &repo.commit("namespace", &[], &[], n - 10));
    let sig = run_stdin(
        Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", "file", "-f"])
            .arg(&ssh_keys[0]),
        &unsigned,
    )
    .stdout;
    cases.push((
        "ssh wrong namespace",
        repo.write_object("commit", &insert_gpgsig(&unsigned, &sig)),
        false,
    ));
    let last_ssh = cases
        .iter()
        .find(|c| c.0 == "ssh ed25519")
        .unwrap()
        .1
        .clone();
    let forged = tamper(
        &repo.cat("commit", &last_ssh),
        "ssh ed25519",
        "ssh ed25519!",
    );
    cases.push(("ssh tampered", repo.write_object("commit", &forged), false));

    let store = TrustStore::load(&certs, Some(&allowed)).unwrap();
    let git_cfg = [("gpg.ssh.allowedSignersFile", allowed.to_str().unwrap())];
    let mut disagreements = Vec::new();
    for (label, oid, expected) in &cases {
        let raw = repo.cat("commit", oid);
        let signed = commit_signature(&raw).unwrap();
        let ours = verify(
            &store,
            &signed,
            committer(&raw).unwrap().time,
            &opts(KeyValidity::Now),
        );
        let git = repo.verify_commit_in(oid, &verifier.gnupghome(), &git_cfg);
        if ours.signer().is_some() != git || git != *expected {
            disagreements.push(format!(
                "{label}: ours {ours:?}, git {git}, expected {expected}"
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    assert!(cases.len() >= 13);
}
