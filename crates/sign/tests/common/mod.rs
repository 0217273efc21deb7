//! Test fixtures made with the real tools: gpg, sq, sqop, ssh-keygen and git, each in a
//! private temporary directory so tests can run in parallel.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pushguard_sign::{KeyValidity, VerifyOptions};

pub const YEAR: u64 = 365 * 24 * 3600;

pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

pub fn now_secs() -> u64 {
    unix(SystemTime::now())
}

pub fn opts(validity: KeyValidity) -> VerifyOptions {
    VerifyOptions {
        key_validity: validity,
        ..VerifyOptions::default()
    }
}

pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn run_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(out: Output) -> String {
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A temporary workspace with its own GnuPG home.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", self.gnupghome())
            .output();
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new().prefix("pg-").tempdir().unwrap();
        let env = Env { dir };
        std::fs::create_dir(env.gnupghome()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(env.gnupghome(), std::fs::Permissions::from_mode(0o700))
                .unwrap();
        }
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn gnupghome(&self) -> PathBuf {
        self.path("gnupg")
    }

    pub fn gpg_cmd(&self) -> Command {
        let mut c = Command::new("gpg");
        c.env("GNUPGHOME", self.gnupghome()).args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        c
    }

    pub fn gpg(&self, args: &[&str]) -> Output {
        run(self.gpg_cmd().args(args))
    }

    /// Generates a key (optionally at a faked time) and returns its fingerprint.
    pub fn gen_key(
        &self,
        uid: &str,
        algo: &str,
        usage: &str,
        expire: &str,
        time: Option<u64>,
    ) -> String {
        let mut c = self.gpg_cmd();
        if let Some(t) = time {
            c.arg("--faked-system-time").arg(format!("{t}!"));
        }
        run(c.args(["--quick-gen-key", uid, algo, usage, expire]));
        self.fingerprint(uid)
    }

    pub fn add_subkey(&self, fpr: &str, algo: &str, usage: &str) -> String {
        self.gpg(&["--quick-add-key", fpr, algo, usage, "0"]);
        let out = stdout(self.gpg(&[
            "--with-colons",
            "--with-subkey-fingerprints",
            "--list-keys",
            fpr,
        ]));
        let lines: Vec<&str> = out.lines().collect();
        let sub = lines
            .iter()
            .position(|l| l.starts_with("sub:"))
            .expect("a subkey");
        lines[sub + 1].split(':').nth(9).unwrap().to_string()
    }

    pub fn fingerprint(&self, uid: &str) -> String {
        let out = stdout(self.gpg(&["--with-colons", "--list-keys", uid]));
        out.lines()
            .find(|l| l.starts_with("fpr:"))
            .and_then(|l| l.split(':').nth(9))
            .unwrap()
            .to_string()
    }

    /// Exports a certificate (public part, armored) to a file.
    pub fn export(&self, fpr: &str) -> PathBuf {
        let path = self.path(&format!("{fpr}.asc"));
        let out = self.gpg(&["--armor", "--export", fpr]);
        std::fs::write(&path, out.stdout).unwrap();
        path
    }

    /// Imports gpg's pre-made (hard, "no reason") revocation certificate for `fpr`.
    pub fn revoke_hard(&self, fpr: &str) {
        let rev = self.gnupghome().join(format!("openpgp-revocs.d/{fpr}.rev"));
        let text = std::fs::read_to_string(rev).unwrap();
        // gpg guards the file against accidental import by prefixing the armor with ':'.
        let text = text.replace(
            ":-----BEGIN PGP PUBLIC KEY BLOCK-----",
            "-----BEGIN PGP PUBLIC KEY BLOCK-----",
        );
        let path = self.path(&format!("{fpr}.rev"));
        std::fs::write(&path, text).unwrap();
        self.gpg(&["--import", path.to_str().unwrap()]);
    }

    /// A `gpg.program` wrapper that runs gpg with extra arguments (faked time, digest).
    pub fn gpg_wrapper(&self, name: &str, extra: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, format!("#!/bin/sh\nexec gpg {extra} \"$@\"\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    pub fn repo(&self, name: &str) -> Repo {
        let dir = self.path(name);
        run(Command::new("git")
            .args(["init", "-q", "-b", "main"])
            .arg(&dir));
        let repo = Repo {
            dir,
            gnupghome: self.gnupghome(),
        };
        repo.git(&["config", "user.name", "Alice"]);
        repo.git(&["config", "user.email", "alice@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    /// An SSH key pair; returns the private key path (the public key is `<path>.pub`).
    pub fn ssh_key(&self, name: &str, args: &[&str]) -> PathBuf {
        let path = self.path(name);
        run(Command::new("ssh-keygen")
            .args(["-q", "-N", "", "-C", name, "-f"])
            .arg(&path)
            .args(args));
        path
    }

    pub fn ssh_fingerprint(&self, key: &Path) -> String {
        let out = stdout(run(Command::new("ssh-keygen")
            .arg("-lf")
            .arg(key.with_extension("pub"))));
        format!("ssh:{}", out.split_whitespace().nth(1).unwrap())
    }

    pub fn pubkey(&self, key: &Path) -> String {
        let p = PathBuf::from(format!("{}.pub", key.display()));
        std::fs::read_to_string(p).unwrap().trim().to_string()
    }
}

pub struct Repo {
    pub dir: PathBuf,
    gnupghome: PathBuf,
}

impl Repo {
    pub fn cmd(&self) -> Command {
        let mut c = Command::new("git");
        c.current_dir(&self.dir)
            .env("GNUPGHOME", &self.gnupghome)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.dir.parent().unwrap());
        c
    }

    pub fn git(&self, args: &[&str]) -> String {
        stdout(run(self.cmd().args(args)))
    }

    /// Makes a commit changing `file`; `sign` is e.g. `["-S<fpr>"]`, `time` the commit time.
    pub fn commit(&self, msg: &str, config: &[(&str, &str)], sign: &[&str], time: u64) -> String {
        std::fs::write(self.dir.join("file"), format!("{msg}\n")).unwrap();
        self.git(&["add", "file"]);
        let mut c = self.cmd();
        for (k, v) in config {
            c.arg("-c").arg(format!("{k}={v}"));
        }
        let date = format!("{time} +0000");
        run(c
            .args(["commit", "-q", "-m", msg])
            .args(sign)
            .env("GIT_COMMITTER_DATE", &date)
            .env("GIT_AUTHOR_DATE", &date));
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn cat(&self, kind: &str, oid: &str) -> Vec<u8> {
        run(self.cmd().args(["cat-file", kind, oid])).stdout
    }

    pub fn write_object(&self, kind: &str, raw: &[u8]) -> String {
        stdout(run_stdin(
            self.cmd()
                .args(["hash-object", "-t", kind, "-w", "--stdin"]),
            raw,
        ))
    }

    /// `git verify-commit` with plain gpg (no wrappers) and the given extra config.
    pub fn verify_commit(&self, oid: &str, config: &[(&str, &str)]) -> bool {
        self.verify_commit_in(oid, &self.gnupghome, config)
    }

    /// `git verify-commit` against another GnuPG home (holding only the trusted certs).
    pub fn verify_commit_in(&self, oid: &str, gnupghome: &Path, config: &[(&str, &str)]) -> bool {
        let mut c = self.cmd();
        c.env("GNUPGHOME", gnupghome);
        c.args(["-c", "gpg.program=gpg"]);
        for (k, v) in config {
            c.arg("-c").arg(format!("{k}={v}"));
        }
        c.args(["verify-commit", oid])
            .output()
            .unwrap()
            .status
            .success()
    }
}

/// Inserts `sig` (armored) as the `gpgsig` header of an unsigned raw commit, as git does.
pub fn insert_gpgsig(raw: &[u8], sig: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    let (headers, message) = text.split_once("\n\n").unwrap();
    let sig = String::from_utf8(sig.to_vec()).unwrap();
    let mut header = String::from("gpgsig");
    for line in sig.trim_end_matches('\n').split('\n') {
        header.push(' ');
        header.push_str(line);
        header.push('\n');
    }
    format!("{headers}\n{header}\n{message}").into_bytes()
}

/// Replaces the first occurrence of `from` in a raw object.
pub fn tamper(raw: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}
