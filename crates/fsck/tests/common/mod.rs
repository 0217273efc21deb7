//! Shared by the integration tests: a temporary git repository driven by
//! the real `git`, and the table of malformed objects.
#![allow(dead_code)]

pub mod cases;
pub mod fuzz;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use pushguard_fsck::HashKind;

/// A directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("pushguard-fsck-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A repository in a temp dir, with git isolated from the user's and the
/// system's configuration.
pub struct Repo {
    dir: TempDir,
    pub hash: HashKind,
}

/// One `error in <type> <oid>: <msgId>: ...` or `warning in ...` line of
/// `git fsck`.
#[derive(Debug, Clone)]
pub struct FsckLine {
    pub error: bool,
    pub oid: String,
    pub msg_id: String,
}

#[derive(Debug)]
pub struct Fsck {
    pub success: bool,
    pub lines: Vec<FsckLine>,
    pub text: String,
}

impl Fsck {
    /// The message ids git reported as errors.
    pub fn errors(&self) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.error)
            .map(|l| l.msg_id.as_str())
            .collect()
    }

    pub fn has_error(&self, msg_id: &str) -> bool {
        self.errors().contains(&msg_id)
    }

    /// No error of any kind: exit status 0 and no `error` line.
    pub fn clean(&self) -> bool {
        self.success && !self.text.lines().any(|l| l.starts_with("error"))
    }
}

impl Repo {
    pub fn init(hash: HashKind) -> Repo {
        let dir = TempDir::new("repo");
        let repo = Repo { dir, hash };
        let format = match hash {
            HashKind::Sha1 => "--object-format=sha1",
            HashKind::Sha256 => "--object-format=sha256",
        };
        repo.ok(&["init", "-q", format, "-b", "main", "."]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.current_dir(self.dir.path())
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", self.dir.path())
            .env("GIT_AUTHOR_NAME", "A U Thor")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", "1700000000 +0100")
            .env("GIT_COMMITTER_NAME", "C O Mitter")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_COMMITTER_DATE", "1700000100 -0130")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_OBJECT_DIRECTORY")
            .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES");
        cmd
    }

    pub fn run(&self, args: &[&str], input: Option<&[u8]>) -> Output {
        let mut cmd = self.command(args);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("git is installed");
        if let Some(input) = input {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("piped");
            stdin.write_all(input).expect("write to git");
        }
        child.wait_with_output().expect("git runs")
    }

    /// Runs git, asserts success, returns stdout without the final newline.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, None)
    }

    pub fn ok_with(&self, args: &[&str], input: Option<&[u8]>) -> String {
        let out = self.run(args, input);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8 output")
            .trim_end()
            .to_string()
    }

    /// Writes an object as is (`hash-object --literally`), returns its id.
    pub fn write_literally(&self, kind: &str, bytes: &[u8]) -> String {
        self.ok_with(
            &["hash-object", "-t", kind, "--literally", "-w", "--stdin"],
            Some(bytes),
        )
    }

    /// Writes the objects every case may point at: the empty tree, the
    /// empty blob and a base commit. Their ids are fixed (see `cases`).
    pub fn write_base_objects(&self) {
        let ids = cases::Ids::of(self.hash);
        assert_eq!(self.write_literally("tree", b""), ids.tree);
        assert_eq!(self.write_literally("blob", b""), ids.blob);
        assert_eq!(
            self.write_literally("commit", &cases::base_commit(self.hash)),
            ids.commit
        );
    }

    /// `git fsck --strict` (the checks `receive.fsckObjects` runs), with
    /// more `-c fsck.<msgId>=<level>` settings if given.
    pub fn fsck(&self, config: &[String]) -> Fsck {
        let mut args: Vec<&str> = Vec::new();
        for c in config {
            args.push("-c");
            args.push(c);
        }
        args.extend(["fsck", "--strict", "--no-dangling", "--no-progress"]);
        let out = self.run(&args, None);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = text
            .lines()
            .filter_map(|l| {
                let (error, rest) = if let Some(r) = l.strip_prefix("error in ") {
                    (true, r)
                } else if let Some(r) = l.strip_prefix("warning in ") {
                    (false, r)
                } else {
                    return None;
                };
                // `<type> <oid>: <msgId>: text`
                let (_, rest) = rest.split_once(' ')?;
                let (oid, rest) = rest.split_once(": ")?;
                let (msg_id, _) = rest.split_once(": ").unwrap_or((rest, ""));
                Some(FsckLine {
                    error,
                    oid: oid.to_string(),
                    msg_id: msg_id.to_string(),
                })
            })
            .collect();
        Fsck {
            success: out.status.success(),
            lines,
            text,
        }
    }

    /// Every commit, tag and tree in the repository: (type, id, content).
    pub fn all_objects(&self) -> Vec<(String, String, Vec<u8>)> {
        let out = self.run(&["cat-file", "--batch-all-objects", "--batch"], None);
        assert!(out.status.success());
        let data = out.stdout;
        let mut objects = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let nl = pos + data[pos..].iter().position(|&b| b == b'\n').unwrap();
            let header = std::str::from_utf8(&data[pos..nl]).unwrap();
            let mut parts = header.split(' ');
            let oid = parts.next().unwrap().to_string();
            let kind = parts.next().unwrap().to_string();
            let size: usize = parts.next().unwrap().parse().unwrap();
            let content = data[nl + 1..nl + 1 + size].to_vec();
            pos = nl + 1 + size + 1;
            objects.push((kind, oid, content));
        }
        objects
    }
}

/// The fsck settings that raise every check git knows but does not enforce
/// by default (levels "info" and "ignore") to errors.
pub fn elevated_config() -> Vec<String> {
    [
        "badFilemode",
        "badTagName",
        "gitattributesSymlink",
        "gitignoreSymlink",
        "mailmapSymlink",
        "missingTaggerEntry",
        "extraHeaderEntry",
    ]
    .iter()
    .map(|id| format!("fsck.{id}=error"))
    .collect()
}

/// Hex to bytes (test helper; panics on bad input).
pub fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
