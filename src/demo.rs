//! `pushguard demo`: the product's main job on a built-in example, for real.
//!
//! A throwaway bare repository gets the hook (installed by the same code as `pushguard install`)
//! and the example policy `config/demo-policy.toml`. Two OpenPGP keys — Dana, a developer, and
//! Sam, an SRE — are made in-process with sequoia (no `gpg` needed on a fresh machine), and
//! their certificates are what the policy trusts. Commits are made by the real `git` and signed
//! by this module exactly as `git commit -S` would sign them (a detached OpenPGP signature over
//! the commit, in its `gpgsig` header); every push is a real `git push`, and what is printed is
//! exactly what the developer sees.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::serialize::SerializeInto;

const POLICY: &str = include_str!("../config/demo-policy.toml");

/// A throwaway signing identity.
pub struct DemoKey {
    pub name: &'static str,
    pub email: &'static str,
    cert: Cert,
}

impl DemoKey {
    /// Makes an ed25519 key for `name <email>`.
    pub fn generate(name: &'static str, email: &'static str) -> anyhow::Result<DemoKey> {
        let (cert, _revocation) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::Cv25519)
            .add_userid(format!("{name} <{email}>"))
            .add_signing_subkey()
            .generate()
            .context("generating a demo key")?;
        Ok(DemoKey { name, email, cert })
    }

    /// The primary key's fingerprint, as the policy's groups name it.
    pub fn fingerprint(&self) -> String {
        self.cert.fingerprint().to_hex()
    }

    /// The public certificate, armored.
    pub fn public(&self) -> anyhow::Result<Vec<u8>> {
        self.cert.armored().to_vec()
    }

    /// An armored detached signature over `payload`.
    pub fn sign(&self, payload: &[u8]) -> anyhow::Result<String> {
        let policy = StandardPolicy::new();
        let keypair = self
            .cert
            .keys()
            .with_policy(&policy, None)
            .supported()
            .alive()
            .revoked(false)
            .for_signing()
            .secret()
            .next()
            .context("the demo key has no signing subkey")?
            .key()
            .clone()
            .into_keypair()?;
        let mut sink = Vec::new();
        {
            let message = Message::new(&mut sink);
            let message = Armorer::new(message)
                .kind(openpgp::armor::Kind::Signature)
                .build()?;
            let mut signer = Signer::new(message, keypair)?.detached().build()?;
            signer.write_all(payload)?;
            signer.finalize()?;
        }
        Ok(String::from_utf8(sink)?)
    }
}

/// The demo policy with the keys' fingerprints in place of `@DEV@` and `@SRE@`.
pub fn policy_text(dev: &DemoKey, sre: &DemoKey) -> String {
    POLICY
        .replace("@DEV@", &dev.fingerprint())
        .replace("@SRE@", &sre.fingerprint())
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: apps
spec:
  replicas: 2
  selector:
    matchLabels: {app: podinfo}
  template:
    metadata:
      labels: {app: podinfo}
    spec:
      containers:
      - name: podinfo
        image: ghcr.io/stefanprodan/podinfo:6.7.0
";

/// Runs the demo; exit status 0 when every push had the outcome the policy says.
pub fn run(keep: bool) -> anyhow::Result<i32> {
    let dir = tempfile::Builder::new()
        .prefix("pushguard-demo-")
        .tempdir()?;
    let root = dir.path();
    let bare = root.join("fleet.git");
    let work = root.join("work");
    let policy = root.join("policy.toml");
    let home = root.join("home");
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(root.join("keys"))?;

    let dana = DemoKey::generate("Dana Developer", "dana@example.com")?;
    let sam = DemoKey::generate("Sam SRE", "sam@example.com")?;
    std::fs::write(root.join("keys/dana.asc"), dana.public()?)?;
    std::fs::write(root.join("keys/sam.asc"), sam.public()?)?;
    let text = policy_text(&dana, &sam);
    std::fs::write(&policy, &text)?;

    say(&format!(
        "A throwaway bare repository {} with pushguard as its pre-receive hook.",
        bare.display()
    ));
    say(&format!(
        "Two keys made just now: Dana Developer ({}) and Sam SRE ({}),",
        short(&dana.fingerprint()),
        short(&sam.fingerprint())
    ));
    say(&format!(
        "trusted by the example policy {} (config/demo-policy.toml):",
        policy.display()
    ));
    for l in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        println!("    {l}");
    }
    git(
        &home,
        root,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "fleet.git",
        ],
    )?;
    let binary = std::env::current_exe()?;
    let outcome = crate::install::install_git(&bare, &binary, &policy, false)?;
    say(&format!(
        "pushguard install --host git {}: {}",
        bare.display(),
        first_line(&outcome.to_string())
    ));
    git(&home, root, &["clone", "--quiet", "fleet.git", "work"])?;
    git(&home, &work, &["config", "commit.gpgsign", "false"])?;

    say("\n1) Dana signs a new app deployment with her key and pushes:");
    commit_signed(
        &home,
        &work,
        &dana,
        &[
            ("apps/podinfo/deployment.yaml", DEPLOYMENT),
            (
                "apps/podinfo/kustomization.yaml",
                "resources:\n- deployment.yaml\n",
            ),
        ],
        "Deploy podinfo",
    )?;
    let first = push(&home, &work)?;

    say("\n2) Dana signs a change to production (which needs an SRE's key) and pushes:");
    let prod = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../apps/podinfo\n";
    commit_signed(
        &home,
        &work,
        &dana,
        &[("clusters/prod/kustomization.yaml", prod)],
        "Ship podinfo to prod",
    )?;
    let second = push(&home, &work)?;
    git(&home, &work, &["reset", "--quiet", "--hard", "origin/main"])?;

    say("\n3) Dana signs a Deployment that runs a privileged container and pushes:");
    let privileged = DEPLOYMENT.replace(
        "        image: ghcr.io/stefanprodan/podinfo:6.7.0\n",
        "        image: ghcr.io/stefanprodan/podinfo:6.7.0\n        securityContext: {privileged: true}\n",
    );
    commit_signed(
        &home,
        &work,
        &dana,
        &[("apps/podinfo/deployment.yaml", &privileged)],
        "Debug podinfo",
    )?;
    let third = push(&home, &work)?;
    git(&home, &work, &["reset", "--quiet", "--hard", "origin/main"])?;

    say("\n4) Sam the SRE signs the production change and pushes:");
    commit_signed(
        &home,
        &work,
        &sam,
        &[("clusters/prod/kustomization.yaml", prod)],
        "Ship podinfo to prod",
    )?;
    let fourth = push(&home, &work)?;

    let log = std::fs::read_to_string(root.join("audit.jsonl")).unwrap_or_default();
    say(&format!(
        "\nThe audit log {} now has {} record(s), one per push.",
        root.join("audit.jsonl").display(),
        log.lines().count()
    ));
    if keep {
        let kept = dir.keep();
        say(&format!("Kept {} (--keep).", kept.display()));
    }
    let ok = first && !second && !third && fourth;
    say(if ok {
        "\ndemo: pushes 1 and 4 landed, 2 and 3 were rejected, as the policy says."
    } else {
        "\ndemo: UNEXPECTED outcome (see above)."
    });
    Ok(if ok { 0 } else { 1 })
}

fn say(s: &str) {
    println!("{s}");
}

fn short(fpr: &str) -> &str {
    fpr.get(fpr.len().saturating_sub(16)..).unwrap_or(fpr)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn base_command(home: &Path, cwd: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(cwd)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("PUSHGUARD_POLICY")
        .env("GIT_TERMINAL_PROMPT", "0");
    c
}

fn git_output(
    home: &Path,
    cwd: &Path,
    args: &[&str],
    input: Option<&[u8]>,
) -> anyhow::Result<Vec<u8>> {
    let mut child = base_command(home, cwd)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| "running git (is git installed?)")?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(bytes)?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.stdout)
}

fn git(home: &Path, cwd: &Path, args: &[&str]) -> anyhow::Result<()> {
    git_output(home, cwd, args, None).map(|_| ())
}

/// Writes `files`, commits them as `key`'s identity with the real `git`, and signs the commit
/// as `git commit -S` does: the signature covers the commit without the header and goes into
/// a `gpgsig` header after the others. HEAD (the branch) moves to the signed commit.
fn commit_signed(
    home: &Path,
    work: &Path,
    key: &DemoKey,
    files: &[(&str, &str)],
    message: &str,
) -> anyhow::Result<()> {
    for (path, content) in files {
        let path = work.join(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, content)?;
    }
    git(home, work, &["add", "."])?;
    git(
        home,
        work,
        &[
            "-c",
            &format!("user.name={}", key.name),
            "-c",
            &format!("user.email={}", key.email),
            "commit",
            "--quiet",
            "-m",
            message,
        ],
    )?;
    let unsigned = git_output(home, work, &["cat-file", "commit", "HEAD"], None)?;
    let signature = key.sign(&unsigned)?;
    let header_end = unsigned
        .windows(2)
        .position(|w| w == b"\n\n")
        .context("a commit without a message separator")?;
    let mut signed = unsigned[..=header_end].to_vec();
    signed.extend_from_slice(b"gpgsig ");
    signed.extend_from_slice(signature.trim_end().replace('\n', "\n ").as_bytes());
    signed.push(b'\n');
    signed.extend_from_slice(&unsigned[header_end + 1..]);
    let id = git_output(
        home,
        work,
        &["hash-object", "-t", "commit", "-w", "--stdin"],
        Some(&signed),
    )?;
    let id = String::from_utf8(id)?;
    git(home, work, &["update-ref", "HEAD", id.trim()])
}

/// Runs `git push origin main`, prints it as a terminal would show it, and says whether it
/// succeeded.
fn push(home: &Path, cwd: &Path) -> anyhow::Result<bool> {
    println!("\n$ git push origin main");
    let out = base_command(home, cwd)
        .args(["push", "origin", "main"])
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    print!("{}", String::from_utf8_lossy(&out.stderr));
    println!("(git push exited with {})", out.status.code().unwrap_or(-1));
    Ok(out.status.success())
}
