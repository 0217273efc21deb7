//! Controls: objects made by real git commands (commits, merges, an
//! `encoding` header, annotated and signed tags, a merged signed tag, trees
//! with every mode) pass `git fsck --strict` and pass this crate, with the
//! values git itself reads. Also: ref names agree with
//! `git check-ref-format`, and a push with `receive.fsckObjects` shows the
//! gap this crate closes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{unhex, Repo};
use pushguard_fsck::{
    check_commit, check_ref_name, check_tag, check_tree, EntryMode, HashKind, TargetType,
};

fn write(repo: &Repo, path: &str, contents: &[u8]) {
    let full = repo.path().join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, contents).unwrap();
}

/// What the walk over every object saw.
#[derive(Default, Debug)]
struct Seen {
    counts: BTreeMap<&'static str, usize>,
}

impl Seen {
    fn note(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    fn at_least(&self, what: &str, n: usize) {
        let got = self.counts.get(what).copied().unwrap_or(0);
        assert!(
            got >= n,
            "saw {got} `{what}`, expected at least {n}: {self:?}"
        );
    }
}

/// Checks every commit, tag and tree in the repository with this crate.
fn check_every_object(repo: &Repo) -> Seen {
    let mut seen = Seen::default();
    for (kind, oid, content) in repo.all_objects() {
        match kind.as_str() {
            "commit" => {
                let h = check_commit(&content, repo.hash)
                    .unwrap_or_else(|e| panic!("commit {oid} refused: {e}"));
                seen.note("commit");
                if h.parents.len() >= 2 {
                    seen.note("merge");
                }
                if h.encoding.is_some() {
                    seen.note("encoding");
                }
                if h.gpgsig.is_some() || h.gpgsig_sha256.is_some() {
                    seen.note("signed commit");
                }
                for mergetag in &h.mergetags {
                    seen.note("mergetag");
                    let tag = mergetag.unfold();
                    let t = check_tag(&tag, repo.hash)
                        .unwrap_or_else(|e| panic!("mergetag in {oid} refused: {e}"));
                    assert!(t.signature.is_some(), "git merges signed tags only");
                }
                // The values git reads are the values we return.
                let fmt = repo.ok(&[
                    "log",
                    "-1",
                    "--format=%T%n%P%n%an%n%ae%n%at%n%cn%n%ce%n%ct",
                    &oid,
                ]);
                let lines: Vec<&str> = fmt.split('\n').collect();
                assert_eq!(h.tree, lines[0]);
                assert_eq!(h.parents.join(" "), lines[1]);
                // %an is re-encoded to UTF-8 by git: compare ASCII names only.
                if h.encoding.is_none() {
                    assert_eq!(h.author.name, lines[2].as_bytes());
                    assert_eq!(h.committer.name, lines[5].as_bytes());
                }
                assert_eq!(h.author.email, lines[3].as_bytes());
                assert_eq!(h.author.time.to_string(), lines[4]);
                assert_eq!(h.committer.email, lines[6].as_bytes());
                assert_eq!(h.committer.time.to_string(), lines[7]);
            }
            "tag" => {
                let h = check_tag(&content, repo.hash)
                    .unwrap_or_else(|e| panic!("tag {oid} refused: {e}"));
                seen.note("tag");
                seen.note(match h.target_type {
                    TargetType::Commit => "tag of commit",
                    TargetType::Tree => "tag of tree",
                    TargetType::Blob => "tag of blob",
                    TargetType::Tag => "tag of tag",
                });
                if h.signature.is_some() {
                    seen.note("signed tag");
                }
                let target = repo.ok(&["rev-parse", &format!("{oid}^{{}}")]);
                let direct = repo.ok(&["cat-file", "-p", &oid]);
                assert!(direct.starts_with(&format!("object {}\n", h.object)));
                if h.target_type != TargetType::Tag {
                    assert_eq!(h.object, target);
                }
            }
            "tree" => {
                let entries = check_tree(&content, repo.hash)
                    .unwrap_or_else(|e| panic!("tree {oid} refused: {e}"));
                seen.note("tree");
                // Compare with `git ls-tree`.
                let listing = repo.ok(&["ls-tree", "-z", "--full-tree", &oid]);
                let listed: Vec<&str> = listing.split('\0').filter(|s| !s.is_empty()).collect();
                assert_eq!(entries.len(), listed.len(), "tree {oid}");
                for (entry, line) in entries.iter().zip(&listed) {
                    let (meta, name) = line.split_once('\t').unwrap();
                    let mut meta = meta.split(' ');
                    let mode = meta.next().unwrap();
                    meta.next();
                    let id = meta.next().unwrap();
                    let mode_as_listed = match entry.mode {
                        EntryMode::Tree => "040000",
                        m => m.as_str(),
                    };
                    assert_eq!(mode_as_listed, mode, "tree {oid}");
                    assert_eq!(entry.name, name.as_bytes(), "tree {oid}");
                    assert_eq!(entry.oid, unhex(id).as_slice(), "tree {oid}");
                    seen.note(match entry.mode {
                        EntryMode::File => "file",
                        EntryMode::Executable => "executable",
                        EntryMode::Symlink => "symlink",
                        EntryMode::Tree => "directory",
                        EntryMode::Submodule => "submodule",
                    });
                }
            }
            _ => {}
        }
    }
    seen
}

/// A history with every kind of object git makes in daily use.
fn build_history(repo: &Repo) {
    use std::os::unix::fs::PermissionsExt;
    write(repo, "README.md", b"hello\n");
    write(repo, "a", b"a\n");
    write(repo, "a.b", b"a.b\n");
    write(repo, "a-b", b"a-b\n");
    write(repo, "a0", b"a0\n");
    // A directory sorts as `b/`: after `b-c` and `b.txt`.
    write(repo, "b/x.yaml", b"x: 1\n");
    write(repo, "b.txt", b"b\n");
    write(repo, "b-c", b"b-c\n");
    write(repo, "dir/sub/deep.txt", b"deep\n");
    write(repo, "with space.txt", b"space\n");
    write(repo, "caf\u{e9}.txt", b"utf-8 name\n");
    write(repo, ".gitignore", b"*.tmp\n");
    write(repo, ".gitattributes", b"*.bin binary\n");
    write(
        repo,
        ".gitmodules",
        b"[submodule \"sub\"]\n\tpath = sub\n\turl = ./sub\n",
    );
    write(repo, "run.sh", b"#!/bin/sh\n");
    let script = repo.path().join("run.sh");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink("README.md", repo.path().join("link")).unwrap();
    repo.ok(&["add", "-A"]);
    // A submodule entry (gitlink) pointing at some commit.
    let some_commit = repo.ok(&["commit-tree", "-m", "sub", &empty_tree(repo)]);
    repo.ok(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{some_commit},sub"),
    ]);
    repo.ok(&["commit", "-q", "-m", "Initial commit"]);

    repo.ok(&["checkout", "-q", "-b", "feature"]);
    write(repo, "feature.txt", b"feature\n");
    repo.ok(&["add", "feature.txt"]);
    repo.ok(&["commit", "-q", "-m", "Feature"]);
    repo.ok(&["checkout", "-q", "main"]);
    write(repo, "main.txt", b"main\n");
    repo.ok(&["add", "main.txt"]);
    repo.ok(&["commit", "-q", "-m", "Main"]);
    repo.ok(&["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"]);

    // A commit whose message is Latin-1, with an `encoding` header.
    write(repo, "msg", b"Caf\xe9\n");
    repo.ok(&[
        "-c",
        "i18n.commitEncoding=ISO-8859-1",
        "commit",
        "-q",
        "--allow-empty",
        "-F",
        "msg",
    ]);
    std::fs::remove_file(repo.path().join("msg")).unwrap();

    repo.ok(&["tag", "-a", "v1.0", "-m", "Release 1.0"]);
    repo.ok(&["tag", "-a", "tree-tag", "-m", "A tree", "HEAD^{tree}"]);
    repo.ok(&["tag", "-a", "blob-tag", "-m", "A blob", "HEAD:README.md"]);
    repo.ok(&["tag", "-a", "nested", "-m", "A tag of a tag", "v1.0"]);
}

fn empty_tree(repo: &Repo) -> String {
    repo.ok_with(&["hash-object", "-t", "tree", "-w", "--stdin"], Some(b""))
}

/// SSH signing: a signed commit, a signed tag, and a merge of a signed tag
/// (which records a `mergetag` header).
fn add_signed_objects(repo: &Repo, key_dir: &Path) {
    let key = key_dir.join("key");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "signer", "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen is installed (openssh-client, tests/install-deps.sh)");
    assert!(out.status.success(), "ssh-keygen failed");
    let key = key.to_str().unwrap().to_string();
    repo.ok(&["config", "gpg.format", "ssh"]);
    repo.ok(&["config", "user.signingkey", &key]);

    repo.ok(&["commit", "-q", "-S", "--allow-empty", "-m", "Signed commit"]);
    repo.ok(&["checkout", "-q", "-b", "side"]);
    repo.ok(&["commit", "-q", "--allow-empty", "-m", "Side"]);
    repo.ok(&["tag", "-s", "signed-side", "-m", "Signed side"]);
    repo.ok(&["checkout", "-q", "main"]);
    repo.ok(&["commit", "-q", "--allow-empty", "-m", "Main again"]);
    repo.ok(&[
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge signed tag",
        "signed-side",
    ]);
}

#[test]
fn objects_made_by_git_are_accepted_sha1() {
    let repo = Repo::init(HashKind::Sha1);
    build_history(&repo);
    let keys = common::TempDir::new("keys");
    add_signed_objects(&repo, keys.path());
    let fsck = repo.fsck(&[]);
    assert!(fsck.clean(), "git fsck --strict: {}", fsck.text);
    let seen = check_every_object(&repo);
    for what in [
        "merge",
        "encoding",
        "signed commit",
        "mergetag",
        "signed tag",
        "tag of commit",
        "tag of tree",
        "tag of blob",
        "tag of tag",
        "file",
        "executable",
        "symlink",
        "directory",
        "submodule",
    ] {
        seen.at_least(what, 1);
    }
    seen.at_least("commit", 8);
}

#[test]
fn objects_made_by_git_are_accepted_sha256() {
    let repo = Repo::init(HashKind::Sha256);
    build_history(&repo);
    let fsck = repo.fsck(&[]);
    assert!(fsck.clean(), "git fsck --strict: {}", fsck.text);
    let seen = check_every_object(&repo);
    for what in ["merge", "encoding", "tag of tag", "symlink", "submodule"] {
        seen.at_least(what, 1);
    }
}

/// `check_ref_name` agrees with `git check-ref-format` (no flags) both ways.
#[test]
fn ref_names_agree_with_git_check_ref_format() {
    let repo = Repo::init(HashKind::Sha1);
    let names = [
        "refs/heads/main",
        "refs/tags/v1.0",
        "refs/heads/feature/x",
        "refs/heads/caf\u{e9}",
        "refs/heads/@",
        "refs/heads/a@b",
        "refs/heads/{x}",
        "refs/heads/x.locked",
        "refs/heads/-dash",
        "refs/heads/a+b,c=d;e!f#g%h&i'j(k)l",
        "main",
        "HEAD",
        "@",
        "",
        "/refs/heads/x",
        "refs/heads/",
        "refs//heads/x",
        "refs/heads/a..b",
        "refs/heads/a@{1}",
        "refs/heads/.hidden",
        "refs/heads/x.lock",
        "refs/heads/x.lock/y",
        "refs/heads/x.",
        "refs/heads/a b",
        "refs/heads/a~1",
        "refs/heads/a^",
        "refs/heads/a:b",
        "refs/heads/a?",
        "refs/heads/a*",
        "refs/heads/a[b",
        "refs/heads/a\\b",
        "refs/heads/a\tb",
        "refs/heads/a\x1bb",
        "refs/heads/a\x7fb",
        "refs/heads/./x",
        "refs/heads/../x",
        "refs/heads/a\u{202e}b",
    ];
    let mut failures = Vec::new();
    for name in names {
        let git_ok = repo.run(&["check-ref-format", name], None).status.success();
        let ours_ok = check_ref_name(name).is_ok();
        if git_ok != ours_ok {
            failures.push(format!("{name:?}: git {git_ok}, ours {ours_ok}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The reason for this crate: a server with `receive.fsckObjects` accepts a
/// commit with two `committer` headers, while a commit without an author
/// is refused by both.
#[test]
fn receive_fsck_objects_lets_a_second_committer_through() {
    let server = Repo::init(HashKind::Sha1);
    server.ok(&["config", "core.bare", "true"]);
    server.ok(&["config", "receive.fsckObjects", "true"]);
    let client = Repo::init(HashKind::Sha1);
    let tree = empty_tree(&client);
    let push = |body: String| {
        let oid = client.write_literally("commit", body.as_bytes());
        client.ok(&["update-ref", "refs/heads/main", &oid]);
        let out = client.run(
            &["push", "-q", server.path().to_str().unwrap(), "+main:main"],
            None,
        );
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let two_committers = format!(
        "tree {tree}\nauthor A <a@example.com> 1700000000 +0000\n\
         committer Alice <alice@example.com> 1700000000 +0000\n\
         committer Mallory <mallory@example.com> 1700000000 +0000\n\nfix\n"
    );
    let (pushed, stderr) = push(two_committers.clone());
    assert!(pushed, "receive.fsckObjects accepts it: {stderr}");
    let e = check_commit(two_committers.as_bytes(), HashKind::Sha1).unwrap_err();
    assert_eq!(
        e.to_string(),
        "malformed commit: duplicate `committer` header (line 4)"
    );

    let no_author =
        format!("tree {tree}\ncommitter Alice <alice@example.com> 1700000000 +0000\n\nfix\n");
    let (pushed, stderr) = push(no_author.clone());
    assert!(!pushed, "receive.fsckObjects refuses it");
    assert!(stderr.contains("missingAuthor"), "{stderr}");
    assert!(check_commit(no_author.as_bytes(), HashKind::Sha1).is_err());
}
