//! Mutated objects never panic, and no mutation of the signed content verifies as good.

mod common;

use common::*;
use pushguard_sign::*;

/// xorshift64*: deterministic, so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, raw: &[u8]) -> Vec<u8> {
    let mut out = raw.to_vec();
    for _ in 0..1 + rng.below(3) {
        let i = rng.below(out.len());
        match rng.below(3) {
            0 => out[i] ^= 1 << rng.below(8),
            1 => {
                out.remove(i);
            }
            _ => out.insert(i, b"\n -=:A0\xff"[rng.below(8)]),
        }
        if out.is_empty() {
            break;
        }
    }
    out
}

#[test]
fn mutations_never_panic_nor_verify_changed_content() {
    let env = Env::new();
    let fpr = env.gen_key("Alice <alice@example.com>", "ed25519", "sign", "0", None);
    let ssh = env.ssh_key("ed", &["-t", "ed25519"]);
    let ssh_rsa = env.ssh_key("rsa", &["-t", "rsa", "-b", "2048"]);
    let allowed = env.path("allowed_signers");
    let lines = format!(
        "alice@example.com {}\nalice@example.com {}\n",
        env.pubkey(&ssh),
        env.pubkey(&ssh_rsa)
    );
    std::fs::write(&allowed, lines).unwrap();
    let repo = env.repo("r");
    let pgp_commit = repo.cat(
        "commit",
        &repo.commit("pgp", &[], &[&format!("-S{fpr}")], now_secs()),
    );
    let ssh_cfg = [
        ("gpg.format", "ssh"),
        ("user.signingkey", ssh.to_str().unwrap()),
    ];
    let ssh_commit = repo.cat("commit", &repo.commit("ssh", &ssh_cfg, &["-S"], now_secs()));
    let rsa_cfg = [
        ("gpg.format", "ssh"),
        ("user.signingkey", ssh_rsa.to_str().unwrap()),
    ];
    let rsa_commit = repo.cat("commit", &repo.commit("rsa", &rsa_cfg, &["-S"], now_secs()));
    let store = TrustStore::load(&[env.export(&fpr)], Some(&allowed)).unwrap();
    let o = opts(KeyValidity::Now);

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut judged = 0;
    for original in [&pgp_commit, &ssh_commit, &rsa_commit] {
        let good = commit_signature(original).unwrap();
        assert!(verify(&store, &good, committer(original).unwrap().time, &o)
            .signer()
            .is_some());
        for _ in 0..1000 {
            let raw = mutate(&mut rng, original);
            let _ = tag_signature(&raw);
            let _ = parse_push_cert(&raw);
            let _ = committer(&raw);
            let Some(signed) = commit_signature(&raw) else {
                continue;
            };
            judged += 1;
            if let Verdict::Good(_) = verify(&store, &signed, at(0), &o) {
                assert_eq!(
                    signed.payload,
                    good.payload,
                    "a changed payload verified:\n{}",
                    String::from_utf8_lossy(&raw)
                );
            }
        }
    }
    assert!(judged > 1500, "{judged}");
}
