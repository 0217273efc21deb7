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
    // A tool that refuses its input before reading it all closes the pipe: its verdict (the
    // exit status) is what counts, not the write.
    match child.stdin.take().unwrap().write_all(input) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.unwrap(),
    }
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

// ---- Byte-level helpers for building malformed signatures (tests/strictness.rs). ----

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard padded base64.
pub fn b64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= c.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Lenient base64 decoding (skips anything outside the alphabet), for reading what the
/// tools wrote.
pub fn b64_decode(text: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let Some(v) = B64.iter().position(|&b| b == c) else {
            continue;
        };
        bits = (bits << 6) | v as u32;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// CRC-24 (RFC 9580 §6.1), bit by bit.
pub fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xB704CE;
    for &b in data {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x1000000 != 0 {
                crc ^= 0x1864CFB;
            }
        }
    }
    crc & 0xFFFFFF
}

/// OpenPGP armor as gpg writes it (64-column base64, CRC line), from parts that a test may
/// spoil one at a time.
pub struct PgpArmor {
    pub begin: String,
    pub headers: Vec<String>,
    pub blank: bool,
    pub data: Vec<u8>,
    pub crc: Option<u32>,
    pub end: String,
}

impl PgpArmor {
    pub fn new(data: &[u8]) -> PgpArmor {
        PgpArmor {
            begin: "-----BEGIN PGP SIGNATURE-----".into(),
            headers: Vec::new(),
            blank: true,
            data: data.to_vec(),
            crc: Some(crc24(data)),
            end: "-----END PGP SIGNATURE-----".into(),
        }
    }

    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.begin);
        for h in &self.headers {
            out.push_str(h);
            out.push('\n');
        }
        if self.blank {
            out.push('\n');
        }
        let b = b64_encode(&self.data);
        for line in b.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap());
            out.push('\n');
        }
        if let Some(crc) = self.crc {
            out.push('=');
            out.push_str(&b64_encode(&crc.to_be_bytes()[1..]));
            out.push('\n');
        }
        out.push_str(&self.end);
        out.push('\n');
        out
    }
}

/// The binary packets inside an armored OpenPGP signature (lenient: what gpg wrote).
pub fn pgp_dearmor(armored: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(armored).unwrap();
    let body = text.split_once("\n\n").unwrap().1;
    let b64: String = body
        .lines()
        .take_while(|l| !l.starts_with('=') && !l.starts_with("-----"))
        .collect();
    b64_decode(&b64)
}

/// A single OpenPGP packet split into (tag, body); old or new format headers.
pub fn pgp_packet(bin: &[u8]) -> (u8, Vec<u8>) {
    let ctb = bin[0];
    assert!(ctb & 0x80 != 0, "not a packet");
    if ctb & 0x40 == 0 {
        let tag = (ctb >> 2) & 0x0f;
        let (len, start) = match ctb & 3 {
            0 => (bin[1] as usize, 2),
            1 => (u16::from_be_bytes([bin[1], bin[2]]) as usize, 3),
            2 => (
                u32::from_be_bytes([bin[1], bin[2], bin[3], bin[4]]) as usize,
                5,
            ),
            _ => panic!("indeterminate length"),
        };
        assert_eq!(start + len, bin.len(), "one packet");
        (tag, bin[start..].to_vec())
    } else {
        let tag = ctb & 0x3f;
        let (len, start) = match bin[1] {
            l @ 0..=191 => (l as usize, 2),
            l @ 192..=223 => (((l as usize - 192) << 8) + bin[2] as usize + 192, 3),
            255 => (
                u32::from_be_bytes([bin[2], bin[3], bin[4], bin[5]]) as usize,
                6,
            ),
            _ => panic!("partial length"),
        };
        assert_eq!(start + len, bin.len(), "one packet");
        (tag, bin[start..].to_vec())
    }
}

/// A new-format packet.
pub fn pgp_packet_bytes(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xC0 | tag, 0xff];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Offsets in a v4 signature packet body: (start of the unhashed area's length, start of
/// the digest prefix).
pub fn pgp_sig4_offsets(body: &[u8]) -> (usize, usize) {
    assert_eq!(body[0], 4, "a v4 signature");
    let hashed = u16::from_be_bytes([body[4], body[5]]) as usize;
    let unhashed_at = 6 + hashed;
    let unhashed = u16::from_be_bytes([body[unhashed_at], body[unhashed_at + 1]]) as usize;
    (unhashed_at, unhashed_at + 2 + unhashed)
}

/// SSH signature armor as ssh-keygen writes it (70 columns).
pub fn ssh_armor(blob: &[u8]) -> String {
    let b = b64_encode(blob);
    let mut out = String::from("-----BEGIN SSH SIGNATURE-----\n");
    for line in b.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str("-----END SSH SIGNATURE-----\n");
    out
}

/// The SSHSIG blob of an armored SSH signature.
pub fn ssh_dearmor(armored: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(armored).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    b64_decode(&b64)
}

/// `ssh-keygen -Y verify -n git` with an allowed_signers file, as git runs it.
pub fn ssh_keygen_verifies(
    dir: &Path,
    allowed: &Path,
    principal: &str,
    sig: &[u8],
    payload: &[u8],
) -> bool {
    use std::io::Write;
    let sig_path = dir.join(format!("check-{}.sig", std::process::id()));
    std::fs::write(&sig_path, sig).unwrap();
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "git", "-I", principal, "-f"])
        .arg(allowed)
        .arg("-s")
        .arg(&sig_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A tool that refuses its input before reading it all closes the pipe: its verdict (the
    // exit status) is what counts, not the write.
    match child.stdin.take().unwrap().write_all(payload) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.unwrap(),
    }
    child.wait_with_output().unwrap().status.success()
}

/// Writes a seed for the fuzzing corpus, `tests/corpus/<target>/<name>`, when
/// `PUSHGUARD_WRITE_CORPUS=1` (the committed seeds were made that way); otherwise nothing.
pub fn corpus_seed(target: &str, name: &str, bytes: &[u8]) {
    if std::env::var_os("PUSHGUARD_WRITE_CORPUS").is_none_or(|v| v != "1") {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}
