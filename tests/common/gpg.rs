//! Real OpenPGP keys for tests: a private `gpg` home, and a fixture whose work clone signs
//! commits, merges and tags with them through git itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;

/// A gpg home with keys, killed (its agent) when dropped.
pub struct Gpg {
    pub home: PathBuf,
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "all"])
            .status();
    }
}

impl Gpg {
    pub fn new(dir: &Path) -> Gpg {
        let home = dir.join("gnupg");
        std::fs::create_dir_all(&home).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        Gpg { home }
    }

    pub fn run(&self, args: &[&str]) -> String {
        let o = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Makes a key (`algo`: ed25519 or rsa3072) and returns its fingerprint.
    pub fn key(&self, uid: &str, algo: &str) -> String {
        self.run(&["--quick-gen-key", uid, algo, "sign", "0"]);
        let out = self.run(&["--with-colons", "--list-keys", &format!("={uid}")]);
        out.lines()
            .find(|l| l.starts_with("fpr:"))
            .unwrap()
            .split(':')
            .nth(9)
            .unwrap()
            .to_string()
    }

    pub fn export(&self, fpr: &str, to: &Path) {
        let armored = self.run(&["--armor", "--export", fpr]);
        std::fs::write(to, armored).unwrap();
    }
}

pub struct Setup {
    pub f: Fixture,
    pub gpg: Gpg,
    pub keys: PathBuf,
}

impl Setup {
    /// A fixture whose policy is `policy` with `@KEYS@` replaced by the keys directory.
    pub fn new(policy: &str) -> Setup {
        let f = Fixture::new("version = 1\n");
        let gpg = Gpg::new(f.dir.path());
        let keys = f.dir.path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        let s = Setup { f, gpg, keys };
        s.f.set_policy(policy);
        s
    }

    /// Signs with `fpr` from now on (in the work clone).
    pub fn sign_with(&self, fpr: &str) {
        self.f.git(&["config", "gpg.format", "openpgp"]);
        self.f.git(&["config", "user.signingkey", fpr]);
    }

    pub fn git_signed(&self, args: &[&str]) -> String {
        let o = self
            .f
            .cmd("git", &self.f.work)
            .env("GNUPGHOME", &self.gpg.home)
            .args(args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    pub fn commit_signed(&self, path: &str, content: &str, message: &str) -> String {
        let p = self.f.work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self.f.git(&["add", "-A"]);
        self.git_signed(&["commit", "-q", "-S", "-s", "-m", message]);
        self.f.git(&["rev-parse", "HEAD"])
    }

    /// A signed, no-fast-forward merge of `branch` into the current branch.
    pub fn merge_signed(&self, message: &str, branch: &str) {
        self.git_signed(&["merge", "-q", "--no-ff", "-S", "-m", message, branch]);
    }

    pub fn push(&self, args: &[&str]) -> Run {
        let mut a = vec!["push"];
        a.extend_from_slice(args);
        let mut cmd = self.f.cmd("git", &self.f.work);
        run_of(
            cmd.env("GNUPGHOME", &self.gpg.home)
                .args(&a)
                .output()
                .unwrap(),
        )
    }
}
