//! Objects and names the pushed repository hands over are distrusted: hand-made objects
//! (`git hash-object --literally`, `git mktree -z`) that a normal client would never write,
//! pushed to a bare repository whose git does not check them (`receive.fsckObjects` off, the
//! default). Each attack has a control push that must land.

mod common;

use common::*;

const POLICY: &str = r#"version = 1
[identities]
allow = ["*@example.com"]
[[ref]]
match = "refs/heads/main"
force_push = false
[[path]]
match = "clusters/prod/**"
forbid = true
"#;

fn literally(f: &Fixture, kind: &str, bytes: &[u8]) -> String {
    let mut cmd = f.cmd("git", &f.work);
    cmd.args(["hash-object", "-t", kind, "-w", "--stdin", "--literally"]);
    let r = run_with_stdin(&mut cmd, bytes);
    assert!(r.ok, "{r:?}");
    r.out.trim().to_string()
}

/// `git mktree -z` from `(mode, type, id, name)` entries.
fn mktree(f: &Fixture, entries: &[(&str, &str, &str, &[u8])]) -> String {
    let mut input = Vec::new();
    for (mode, kind, id, name) in entries {
        input.extend_from_slice(format!("{mode} {kind} {id}\t").as_bytes());
        input.extend_from_slice(name);
        input.push(0);
    }
    let mut cmd = f.cmd("git", &f.work);
    cmd.args(["mktree", "-z", "--missing"]);
    let r = run_with_stdin(&mut cmd, &input);
    assert!(r.ok, "{r:?}");
    r.out.trim().to_string()
}

fn blob(f: &Fixture, content: &str) -> String {
    literally(f, "blob", content.as_bytes())
}

fn commit_of(f: &Fixture, tree: &str, parent: &str, message: &str) -> String {
    f.git(&["commit-tree", tree, "-p", parent, "-m", message])
}

fn base() -> (Fixture, String) {
    let f = Fixture::new(POLICY);
    f.commit("README", "base\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    let head = f.git(&["rev-parse", "HEAD"]);
    (f, head)
}

fn assert_malformed(r: &Run, what: &str) {
    assert_rejected(r);
    assert!(r.out.contains(what), "expected {what:?}: {r:?}");
    assert_eq!(
        r.out.matches("malformed").count(),
        1,
        "say it once, and say malformed: {r:?}"
    );
    assert!(!r.out.contains("missing"), "malformed, not missing: {r:?}");
}

/// Two `committer` headers: identity rules read one, signature binding another. git's own
/// fsck lets it through; pushguard refuses it.
#[test]
fn a_commit_with_two_committers_is_malformed() {
    let (f, head) = base();
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let person = "Dana Example <dana@example.com> 1700000000 +0000";
    let evil = format!(
        "tree {tree}\nparent {head}\nauthor {person}\ncommitter Eve <eve@elsewhere.test> 1700000000 +0000\ncommitter {person}\n\ntwo committers\n"
    );
    let id = literally(&f, "commit", evil.as_bytes());
    // git itself, with fsck on, does not see a problem.
    assert!(f
        .cmd("git", &f.work)
        .args(["fsck", "--strict", "--no-dangling"])
        .status()
        .unwrap()
        .success());
    let r = f.push(&["origin", &format!("{id}:refs/heads/main")]);
    assert_malformed(&r, "malformed commit: duplicate `committer` header");
    assert!(r.out.contains("refs/heads/main"), "names the ref: {r:?}");

    let good = format!(
        "tree {tree}\nparent {head}\nauthor {person}\ncommitter {person}\n\none committer\n"
    );
    let id = literally(&f, "commit", good.as_bytes());
    assert_accepted(&f.push(&["origin", &format!("{id}:refs/heads/main")]));
}

/// Unknown headers and a bad identity, each on its own.
#[test]
fn headers_git_would_not_write_are_refused() {
    let (f, head) = base();
    let tree = f.git(&["rev-parse", "HEAD^{tree}"]);
    let person = "Dana Example <dana@example.com> 1700000000 +0000";
    for (text, expect) in [
        (
            format!("tree {tree}\nparent {head}\nauthor {person}\ncommitter {person}\nx-extra something\n\nx\n"),
            "malformed commit",
        ),
        (
            format!("tree {tree}\nparent {head}\nauthor Dana <dana@example.com 1700000000 +0000\ncommitter {person}\n\nx\n"),
            "malformed commit",
        ),
        (
            format!("tree {tree}\nparent {head}\nauthor {person}\ncommitter Dana Example <dana@example.com> 1700000000 +00\n\nx\n"),
            "malformed commit",
        ),
    ] {
        let id = literally(&f, "commit", text.as_bytes());
        let r = f.push(&["origin", &format!("{id}:refs/heads/main")]);
        assert_malformed(&r, expect);
    }
    f.commit("README", "next\n", "an ordinary commit");
    assert_accepted(&f.push(&["origin", "main"]));
}

/// A newline in a path name slipped past every glob. Refused as malformed by default; with
/// control characters allowed, the glob still sees the whole name.
#[test]
fn names_with_control_characters() {
    let (f, head) = base();
    let b = blob(&f, "kind: Pod\n");
    let readme = f.git(&["rev-parse", "HEAD:README"]);
    let prod = mktree(&f, &[("100644", "blob", &b, b"app\n.yaml")]);
    let clusters = mktree(&f, &[("040000", "tree", &prod, b"prod")]);
    let root = mktree(
        &f,
        &[
            ("100644", "blob", &readme, b"README"),
            ("040000", "tree", &clusters, b"clusters"),
        ],
    );
    let id = commit_of(&f, &root, &head, "a newline in prod");
    let r = f.push(&["origin", &format!("{id}:refs/heads/main")]);
    assert_malformed(&r, "control character");

    f.set_policy(&format!("{POLICY}[files]\nallow_control_chars = true\n"));
    let r = f.push(&["origin", &format!("{id}:refs/heads/main")]);
    assert_rejected(&r);
    assert!(r.out.contains("error[path.forbid]"), "{r:?}");

    // Control: the same name outside the protected directory lands when allowed.
    let other = mktree(&f, &[("040000", "tree", &prod, b"dev")]);
    let root = mktree(
        &f,
        &[
            ("100644", "blob", &readme, b"README"),
            ("040000", "tree", &other, b"clusters"),
        ],
    );
    let id = commit_of(&f, &root, &head, "a newline in dev");
    assert_accepted(&f.push(&["origin", &format!("{id}:refs/heads/main")]));
}

/// `.git` in any spelling, `..`, and a duplicate entry: what git's fsck refuses.
#[test]
fn tree_entries_git_fsck_refuses_are_refused() {
    let (f, head) = base();
    let b = blob(&f, "x\n");
    let readme = f.git(&["rev-parse", "HEAD:README"]);
    let inner = mktree(&f, &[("100644", "blob", &b, b"config")]);
    for name in [&b".GIT"[..], b"git~1", b".git ", b"..", b".git\xe2\x80\x8c"] {
        let root = mktree(
            &f,
            &[
                ("100644", "blob", &readme, b"README"),
                ("040000", "tree", &inner, name),
            ],
        );
        // mktree sorts its input; the name is the attack.
        let id = commit_of(&f, &root, &head, "dot git");
        let r = f.push(&["origin", &format!("{id}:refs/heads/main")]);
        assert_malformed(&r, "malformed tree");
    }
    let root = mktree(
        &f,
        &[
            ("100644", "blob", &readme, b"README"),
            ("040000", "tree", &inner, b"dotgit-is-fine"),
        ],
    );
    let id = commit_of(&f, &root, &head, "an ordinary directory");
    assert_accepted(&f.push(&["origin", &format!("{id}:refs/heads/main")]));
}

/// `clusters/prod/**` protects `clusters/prod` itself: replacing the directory by a symlink to
/// another directory changes everything the cluster reads from it.
#[test]
fn a_protected_directory_turned_into_a_symlink_is_a_change_to_it() {
    let f = Fixture::new(POLICY);
    f.commit("README", "base\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    // prod does not exist yet: creating it as a symlink to dev adds nothing below prod/.
    f.commit("clusters/dev/app.yaml", "kind: Pod\n", "dev");
    std::os::unix::fs::symlink("dev", f.work.join("clusters/prod")).unwrap();
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-s", "-m", "prod is dev"]);
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[path.forbid]"), "{r:?}");
    assert!(r.out.contains("clusters/prod"), "{r:?}");
    f.git(&["reset", "-q", "--hard", "HEAD~1"]);
    assert_accepted(&f.push(&["origin", "main"]));
}

/// Only branches and tags, unless the policy names more: `refs/replace/*` changes what some
/// tools show for a commit, `refs/notes/*` and the forge's `refs/pull/*` are nobody's to push,
/// and a tag named like a protected branch makes `main` mean two things.
#[test]
fn refs_the_policy_never_names_are_refused() {
    let (f, head) = base();
    f.commit("README", "next\n", "next");
    let next = f.git(&["rev-parse", "HEAD"]);
    for (target, rule) in [
        (format!("refs/replace/{head}"), "ref.namespace"),
        ("refs/notes/commits".to_string(), "ref.namespace"),
        ("refs/pull/1/head".to_string(), "ref.namespace"),
        ("refs/tags/main".to_string(), "ref.ambiguous"),
        ("refs/heads/HEAD".to_string(), "ref.ambiguous"),
    ] {
        let r = f.push(&["origin", &format!("{next}:{target}")]);
        assert_rejected(&r);
        assert!(
            r.out.contains(&format!("error[{rule}] {target}")),
            "{target}: {r:?}"
        );
        assert!(f.remote_ref(&target).is_none() || target == "refs/heads/HEAD");
    }
    // Controls: a branch, and a namespace the policy names.
    assert_accepted(&f.push(&["origin", "HEAD:refs/heads/feature/x"]));
    f.set_policy(&format!("{POLICY}[[ref]]\nmatch = \"refs/notes/*\"\n"));
    assert_accepted(&f.push(&["origin", &format!("{next}:refs/notes/commits")]));
}

/// `refs/heads/master` is a symbolic ref to `refs/heads/main` on the server: a push to master
/// writes main, past every rule written for main.
#[test]
fn a_push_to_a_symbolic_ref_is_refused() {
    let (f, _) = base();
    f.remote_git(&["symbolic-ref", "refs/heads/master", "refs/heads/main"])
        .unwrap();
    f.commit("README", "next\n", "next");
    let r = f.push(&["origin", "HEAD:refs/heads/master"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[ref.symbolic] refs/heads/master"),
        "{r:?}"
    );
    assert!(r.out.contains("refs/heads/main"), "{r:?}");
    assert_accepted(&f.push(&["origin", "HEAD:refs/heads/main"]));
}

/// A policy that would protect nothing is an error, with file, line and key.
#[test]
fn a_policy_that_protects_nothing_does_not_load() {
    let f = Fixture::new(POLICY);
    f.set_policy(&POLICY.replace("clusters/prod/**", "clusters/prod/"));
    let r = f.pushguard(&["policy", "check", f.policy.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.out.contains(":8:") && r.out.contains("path[1].match"),
        "{r:?}"
    );
    assert!(
        r.out.contains("clusters/prod/**"),
        "says what was meant: {r:?}"
    );
    // The hook refuses every push while the policy does not load.
    f.commit("README", "x\n", "x");
    assert_rejected(&f.push(&["origin", "main"]));
    f.set_policy(POLICY);
    assert_accepted(&f.push(&["origin", "main"]));
}

/// `.gitattributes` can make `git checkout` (Argo CD) write other bytes than the blob judged.
#[test]
fn attributes_that_rewrite_checkouts_are_refused() {
    let (f, _) = base();
    for attrs in [
        "clusters/** working-tree-encoding=UTF-16\n",
        "*.yaml filter=lfs diff=lfs merge=lfs\n",
        "[attr]evil ident\n*.yaml evil\n",
        "* eol=crlf\n",
    ] {
        f.commit("apps/.gitattributes", attrs, "attributes");
        let r = f.push(&["origin", "main"]);
        assert_rejected(&r);
        assert!(
            r.out.contains("error[files.gitattributes]"),
            "{attrs}: {r:?}"
        );
        f.git(&["reset", "-q", "--hard", "origin/main"]);
    }
    f.commit(
        ".gitattributes",
        "* text=auto eol=lf\n*.png -text binary\n",
        "line endings",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

/// An object larger than pushguard reads is refused from its header, before anything is
/// inflated (a 1.3 GB blob once aborted the process). The limit is `[limits] max_object_bytes`;
/// `PUSHGUARD_MAX_OBJECT_SIZE` can only lower it, and stands in for it here.
#[test]
fn an_object_too_large_to_read_is_refused_with_a_message() {
    let f = Fixture::new(&format!(
        "{POLICY}[[manifests]]\nmatch = [\"**/*.yaml\"]\nrules = [\"privileged\"]\n"
    ));
    f.commit("README", "base\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    f.commit(
        "apps/big.yaml",
        &"# padding\n".repeat(1000),
        "a big manifest",
    );
    let limit = [("PUSHGUARD_MAX_OBJECT_SIZE", "4096")];
    let r = f.push_as(&limit, &["origin", "main"]);
    assert_rejected(&r);
    let flat = r.flat();
    assert!(flat.contains("push.limits"), "{r:?}");
    assert!(flat.contains("is 10000 bytes (the limit is 4096)"), "{r:?}");
    assert!(flat.contains("max_object_bytes"), "names the key: {r:?}");
    assert!(flat.contains("at apps/big.yaml"), "names the path: {r:?}");
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit("apps/big.yaml", "kind: ConfigMap\n", "a small manifest");
    assert_accepted(&f.push_as(&limit, &["origin", "main"]));
}

/// `policy check --repo`: a ref glob with a typo (`refs/heads/mian`) loads, but protects
/// nothing; against the repository, pushguard says so, and names the unprotected default branch.
#[test]
fn policy_check_against_a_repository_names_globs_that_match_nothing() {
    let (f, _) = base();
    f.set_policy("version = 1\n");
    f.commit("clusters/prod/app.yaml", "kind: Pod\n", "prod");
    assert_accepted(&f.push(&["origin", "main"]));
    let typo = POLICY
        .replace("refs/heads/main", "refs/heads/mian")
        .replace("clusters/prod/**", "cluster/prod/**");
    f.set_policy(&typo);
    let bare = f.bare.to_str().unwrap();
    let r = f.pushguard(&[
        "policy",
        "check",
        f.policy.to_str().unwrap(),
        "--repo",
        bare,
    ]);
    assert!(r.ok, "warnings, not errors: {r:?}");
    assert!(
        r.out.contains("\"refs/heads/mian\" matches no ref"),
        "{r:?}"
    );
    assert!(r.out.contains("default branch refs/heads/main"), "{r:?}");
    assert!(
        r.out.contains("\"cluster/prod/**\" matches no path"),
        "{r:?}"
    );
    f.set_policy(&POLICY.replace(
        "force_push = false\n",
        &format!(
            "force_push = false\ntrusted_base = \"{}\"\n",
            "1".repeat(40)
        ),
    ));
    let r = f.pushguard(&[
        "policy",
        "check",
        f.policy.to_str().unwrap(),
        "--repo",
        bare,
    ]);
    assert!(
        r.out
            .contains("trusted_base 1111111111111111111111111111111111111111 is not a commit"),
        "{r:?}"
    );
    f.set_policy(POLICY);
    let r = f.pushguard(&[
        "policy",
        "check",
        f.policy.to_str().unwrap(),
        "--repo",
        bare,
    ]);
    assert!(r.ok && !r.out.contains("warning: /"), "{r:?}");
    assert!(!r.out.contains("matches no"), "{r:?}");
}
