//! Verification micro-benchmark: `cargo run --release -p pushguard-sign --example sign_bench [-- N]`.
//!
//! OpenPGP: N distinct commit-like payloads signed with an ed25519 and an rsa3072 key made by
//! Sequoia (distinct, because Sequoia caches verification results), verified through the
//! public `verify`, on one thread and then on two. SSH: one signature per key type made by
//! `ssh-keygen -Y sign`, verified repeatedly (ssh-key caches nothing).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

use openpgp::armor;
use openpgp::cert::{CertBuilder, CipherSuite};
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::serialize::SerializeInto;
use pushguard_sign::{verify, Format, Signed, TrustStore, Verdict, VerifyOptions};
use sequoia_openpgp as openpgp;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn payload(i: usize) -> Vec<u8> {
    format!(
        "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
         author Bench <bench@example.com> 1700000000 +0000\n\
         committer Bench <bench@example.com> 1700000000 +0000\n\ncommit number {i}\n"
    )
    .into_bytes()
}

fn make_cert(dir: &Path, suite: CipherSuite, name: &str) -> Result<(PathBuf, openpgp::Cert)> {
    let (cert, _) = CertBuilder::new()
        .set_cipher_suite(suite)
        .add_userid(format!("{name} <bench@example.com>"))
        .add_signing_subkey()
        .generate()?;
    let path = dir.join(format!("{name}.asc"));
    std::fs::write(&path, cert.armored().to_vec()?)?;
    Ok((path, cert))
}

fn sign_all(cert: &openpgp::Cert, n: usize, offset: usize) -> Result<Vec<Signed>> {
    let policy = StandardPolicy::new();
    let key = cert
        .keys()
        .unencrypted_secret()
        .with_policy(&policy, None)
        .for_signing()
        .next()
        .ok_or("no signing key")?
        .key()
        .clone()
        .into_keypair()?;
    let mut out = Vec::with_capacity(n);
    for i in offset..offset + n {
        let payload = payload(i);
        let mut sink = Vec::new();
        {
            let message = Armorer::new(Message::new(&mut sink))
                .kind(armor::Kind::Signature)
                .build()?;
            let mut signer = Signer::new(message, key.clone())?.detached().build()?;
            signer.write_all(&payload)?;
            signer.finalize()?;
        }
        out.push(Signed {
            format: Format::OpenPgp,
            signature: sink,
            payload,
        });
    }
    Ok(out)
}

fn check(store: &TrustStore, sigs: &[Signed], opts: &VerifyOptions) -> Result<()> {
    for s in sigs {
        if let Verdict::Bad(p) = verify(store, s, opts.now, opts) {
            return Err(format!("unexpected verdict: {p}").into());
        }
    }
    Ok(())
}

fn rate(n: usize, start: Instant) -> f64 {
    n as f64 / start.elapsed().as_secs_f64()
}

fn bench_openpgp(dir: &Path, n: usize) -> Result<()> {
    let opts = VerifyOptions::default();
    for (suite, name) in [
        (CipherSuite::Cv25519, "ed25519"),
        (CipherSuite::RSA3k, "rsa3072"),
    ] {
        let (path, cert) = make_cert(dir, suite, name)?;
        let store = TrustStore::load(&[path], None)?;
        let sigs = sign_all(&cert, 3 * n, 0)?;
        let (one, two) = sigs.split_at(n);

        let start = Instant::now();
        check(&store, one, &opts)?;
        let single = rate(n, start);

        let (a, b) = two.split_at(n);
        let start = Instant::now();
        std::thread::scope(|s| -> Result<()> {
            let h1 = s.spawn(|| check(&store, a, &opts).map_err(|e| e.to_string()));
            let h2 = s.spawn(|| check(&store, b, &opts).map_err(|e| e.to_string()));
            for h in [h1, h2] {
                h.join().map_err(|_| "thread panicked")??;
            }
            Ok(())
        })?;
        let double = rate(2 * n, start);

        // The same signatures again: Sequoia's process-wide cache answers the maths.
        let start = Instant::now();
        check(&store, one, &opts)?;
        let cached = rate(n, start);
        println!(
            "openpgp {name:8} {single:9.0} verif/s 1 thread   {double:9.0} verif/s 2 threads   ({cached:.0}/s repeated, cached)"
        );
    }
    Ok(())
}

fn bench_ssh(dir: &Path, n: usize) -> Result<()> {
    let opts = VerifyOptions::default();
    for (name, args) in [
        ("ed25519", &["-t", "ed25519"][..]),
        ("rsa3072", &["-t", "rsa", "-b", "3072"][..]),
        ("ecdsa256", &["-t", "ecdsa", "-b", "256"][..]),
    ] {
        let key = dir.join(format!("ssh-{name}"));
        let status = Command::new("ssh-keygen")
            .args(["-q", "-N", "", "-C", name, "-f"])
            .arg(&key)
            .args(args)
            .status()?;
        if !status.success() {
            return Err("ssh-keygen failed".into());
        }
        let pubkey = std::fs::read_to_string(key.with_extension("pub"))?;
        let allowed = dir.join(format!("allowed-{name}"));
        std::fs::write(&allowed, format!("bench@example.com {pubkey}"))?;
        let store = TrustStore::load(&[], Some(&allowed))?;
        let payload = payload(0);
        let mut child = Command::new("ssh-keygen")
            .args(["-q", "-Y", "sign", "-n", "git", "-f"])
            .arg(&key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        child.stdin.take().ok_or("stdin")?.write_all(&payload)?;
        let out = child.wait_with_output()?;
        let signed = Signed {
            format: Format::Ssh,
            signature: out.stdout,
            payload,
        };
        let sigs = vec![signed; n];
        let start = Instant::now();
        check(&store, &sigs, &opts)?;
        println!("ssh     {name:8} {:9.0} verif/s 1 thread", rate(n, start));
    }
    Ok(())
}

fn main() -> Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    println!("{n} verifications per row; started {:?}", SystemTime::now());
    bench_openpgp(dir.path(), n)?;
    bench_ssh(dir.path(), n)?;
    Ok(())
}
