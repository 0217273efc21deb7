//! Test fixtures built with the real `git`: a bare repository with the hook installed by
//! `pushguard install`, a work clone, and pushes whose real output the tests read.
#![allow(dead_code)]

pub mod gpg;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_pushguard");

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub bare: PathBuf,
    pub work: PathBuf,
    pub policy: PathBuf,
    pub home: PathBuf,
}

/// The result of a command: status and everything it printed.
pub struct Run {
    pub ok: bool,
    pub code: i32,
    pub out: String,
}

impl Run {
    /// Everything printed as one line of words: git's `remote: ` and GitLab's `GL-HOOK-ERR: `
    /// prefixes dropped and the message's wrapping undone, to assert on a sentence wherever
    /// the 80-column wrapping broke it.
    pub fn flat(&self) -> String {
        self.out
            .lines()
            .map(|l| {
                let l = l.strip_prefix("remote:").unwrap_or(l).trim_start();
                l.strip_prefix("GL-HOOK-ERR:").unwrap_or(l).trim()
            })
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}:\n{}", self.code, self.out)
    }
}

pub fn run_of(o: Output) -> Run {
    let mut out = String::from_utf8_lossy(&o.stdout).into_owned();
    out.push_str(&String::from_utf8_lossy(&o.stderr));
    Run {
        ok: o.status.success(),
        code: o.status.code().unwrap_or(-1),
        out,
    }
}

/// A Deployment every policy in the tests accepts: one container from the listed registry,
/// no security settings at all.
pub const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: registry.example.com/api:1.0
";

pub const BASIC_POLICY: &str = r#"version = 1
audit_log = "audit.jsonl"

[identities]
allow = ["*@example.com"]

[[ref]]
match = "refs/heads/main"
force_push = false
delete = false

[[ref]]
match = "refs/tags/v*"
immutable = true
"#;

impl Fixture {
    /// A SHA-1 repository with `policy` installed through `pushguard install`.
    pub fn new(policy: &str) -> Fixture {
        Fixture::with_format(policy, "sha1", "")
    }

    /// `object_format` is `sha1` or `sha256`; `subdir` puts the repositories below an extra
    /// directory (to test paths git must quote).
    pub fn with_format(policy: &str, object_format: &str, subdir: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join(subdir);
        std::fs::create_dir_all(&root).unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let bare = root.join("remote.git");
        let work = root.join("work");
        let policy_path = dir.path().join("policy.toml");
        std::fs::write(&policy_path, policy).unwrap();
        let f = Fixture {
            dir,
            bare,
            work,
            policy: policy_path,
            home,
        };
        f.git_in(
            &root,
            &[
                "init",
                "-q",
                "--bare",
                "--initial-branch=main",
                &format!("--object-format={object_format}"),
                "remote.git",
            ],
        );
        let r = f.pushguard(&[
            "install",
            "--host",
            "git",
            "--repo",
            f.bare.to_str().unwrap(),
            "--policy",
            f.policy.to_str().unwrap(),
        ]);
        assert!(r.ok, "install failed: {r:?}");
        f.git_in(&root, &["clone", "-q", "remote.git", "work"]);
        f.git(&["config", "user.name", "Dana Example"]);
        f.git(&["config", "user.email", "dana@example.com"]);
        f
    }

    pub fn cmd(&self, program: &str, cwd: &Path) -> Command {
        let mut c = Command::new(program);
        c.current_dir(cwd)
            .env("HOME", &self.home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_DIR")
            .env_remove("PUSHGUARD_POLICY")
            .env_remove("GIT_AUTHOR_EMAIL")
            .env_remove("GIT_COMMITTER_EMAIL")
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null());
        c
    }

    /// Runs git in `cwd` and asserts it succeeded; returns stdout.
    pub fn git_in(&self, cwd: &Path, args: &[&str]) -> String {
        let r = run_of(self.cmd("git", cwd).args(args).output().unwrap());
        assert!(r.ok, "git {args:?} failed: {r:?}");
        r.out
    }

    /// Runs git in the work clone and asserts success; returns stdout (trimmed).
    pub fn git(&self, args: &[&str]) -> String {
        let o = self.cmd("git", &self.work).args(args).output().unwrap();
        assert!(
            o.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    }

    /// Runs git in the bare repository; returns stdout (trimmed), or None if it failed.
    pub fn remote_git(&self, args: &[&str]) -> Option<String> {
        let o = self.cmd("git", &self.bare).args(args).output().unwrap();
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
    }

    /// The id a ref has in the bare repository, if it exists.
    pub fn remote_ref(&self, name: &str) -> Option<String> {
        self.remote_git(&["rev-parse", "--verify", "-q", name])
    }

    /// Runs a push from the work clone (not asserting anything).
    pub fn push(&self, args: &[&str]) -> Run {
        let mut a = vec!["push"];
        a.extend_from_slice(args);
        run_of(self.cmd("git", &self.work).args(&a).output().unwrap())
    }

    /// A push with extra environment (e.g. `REMOTE_USER`, which the hook inherits on a local push).
    pub fn push_as(&self, env: &[(&str, &str)], args: &[&str]) -> Run {
        let mut a = vec!["push"];
        a.extend_from_slice(args);
        let mut c = self.cmd("git", &self.work);
        c.envs(env.iter().copied());
        run_of(c.args(&a).output().unwrap())
    }

    pub fn pushguard(&self, args: &[&str]) -> Run {
        run_of(self.cmd(BIN, self.dir.path()).args(args).output().unwrap())
    }

    /// Writes a file in the work clone and commits it (with a DCO sign-off).
    pub fn commit(&self, path: &str, content: &str, message: &str) -> String {
        let p = self.work.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-s", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Commits as someone else (author and committer).
    pub fn commit_as(&self, email: &str, path: &str, content: &str, message: &str) -> String {
        let old = self.git(&["config", "user.email"]);
        self.git(&["config", "user.email", email]);
        let id = self.commit(path, content, message);
        self.git(&["config", "user.email", &old]);
        id
    }

    pub fn set_policy(&self, policy: &str) {
        std::fs::write(&self.policy, policy).unwrap();
    }

    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Runs a prepared command with `input` on its stdin and collects what it printed.
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Run {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A tool that refuses its input before reading it all closes the pipe: its verdict (the
    // exit status) is what counts, not the write.
    match child.stdin.take().unwrap().write_all(input) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => r.unwrap(),
    }
    run_of(child.wait_with_output().unwrap())
}

impl Fixture {
    /// Writes a commit object given as text into the work clone's repository; returns its id.
    pub fn hash_commit(&self, text: &str) -> String {
        let mut cmd = self.cmd("git", &self.work);
        cmd.args(["hash-object", "-t", "commit", "-w", "--stdin"]);
        let r = run_with_stdin(&mut cmd, text.as_bytes());
        assert!(r.ok, "{r:?}");
        r.out.trim().to_string()
    }

    /// Runs the hook binary by hand in the bare repository (as git would, plus `env`).
    pub fn run_hook(&self, env: &[(&str, &str)], input: &str) -> Run {
        let mut cmd = self.cmd(BIN, &self.bare);
        cmd.args(["pre-receive", "--policy", self.policy.to_str().unwrap()])
            .env("GIT_DIR", ".")
            .envs(env.iter().copied());
        run_with_stdin(&mut cmd, input.as_bytes())
    }
}

/// Asserts that a push was rejected by the hook, and every pushed ref with it.
pub fn assert_rejected(r: &Run) {
    assert!(!r.ok, "push should have been rejected: {r:?}");
    assert!(
        r.out.contains("(pre-receive hook declined)"),
        "not declined by the hook: {r:?}"
    );
}

pub fn assert_accepted(r: &Run) {
    assert!(r.ok, "push should have been accepted: {r:?}");
}

/// Writes `content` at `path` in the work clone, making its directories.
pub fn write(f: &Fixture, path: &str, content: &str) {
    write_bytes(f, path, content.as_bytes());
}

pub fn write_bytes(f: &Fixture, path: &str, content: &[u8]) {
    let p = f.work.join(path);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, content).unwrap();
}

/// Commits everything in the work clone (with a DCO sign-off).
pub fn commit_all(f: &Fixture, message: &str) {
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-s", "-m", message]);
}

/// Drops the work clone's unpushed commits.
pub fn reset(f: &Fixture) {
    f.git(&["reset", "-q", "--hard", "origin/main"]);
}

/// The push to `main` was rejected with `rule`, and its output holds `text` (wrapping undone).
pub fn assert_rule(r: &Run, rule: &str, text: &str) {
    assert_rejected(r);
    assert!(
        r.out.contains(&format!("error[{rule}] refs/heads/main")),
        "{rule}: {r:?}"
    );
    assert!(r.flat().contains(text), "{text}: {r:?}");
}
