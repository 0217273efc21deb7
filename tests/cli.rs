//! The command line as a user meets it: per-subcommand help, `--opt=value`, suggestions for
//! typos, `install` without `--host`, what `check` says it judged and hid, shell completions
//! and the man page, a closed pipe, and `policy check` reporting every error.

mod common;

use std::process::{Command, Stdio};

use common::*;

/// Runs the binary outside any fixture; (exit code, stdout, stderr).
fn pg(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BIN)
        .args(args)
        .env_remove("PUSHGUARD_POLICY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn every_subcommand_has_help() {
    for (args, wants) in [
        (
            &["check", "--help"][..],
            &["--ref <REF>", "--format", "OLD..NEW", "--policy"][..],
        ),
        (&["policy", "check", "--help"], &["<FILE>", "--repo <DIR>"]),
        (
            &["policy", "explain", "--help"],
            &["--ref <REF>", "--path", "--pusher"],
        ),
        (
            &["install", "--help"],
            &["--host <HOST>", "gitolite", "--gitolite-home", "--force"],
        ),
        (
            &["pre-receive", "--help"],
            &["--policy <FILE>", "PUSHGUARD_POLICY"],
        ),
        (&["help", "check"], &["--ref <REF>"]),
        (&["demo", "--help"], &["--keep"]),
    ] {
        let (code, out, err) = pg(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        for want in wants {
            assert!(out.contains(want), "{args:?} help lacks {want:?}:\n{out}");
        }
    }
    let (code, out, _) = pg(&["--version"]);
    assert_eq!(
        (code, out.trim()),
        (0, concat!("pushguard ", env!("CARGO_PKG_VERSION")))
    );
    let (code, out, _) = pg(&["version"]);
    assert_eq!(
        (code, out.trim()),
        (0, concat!("pushguard ", env!("CARGO_PKG_VERSION")))
    );
    // No command at all: the usage, and the error status.
    let (code, out, err) = pg(&[]);
    assert_eq!(code, 2);
    assert!(
        format!("{out}{err}").contains("Usage: pushguard"),
        "{out}{err}"
    );
}

#[test]
fn typos_get_suggestions_and_usage_errors_exit_2() {
    let (code, _, err) = pg(&["chek"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("'check'"), "no suggestion: {err}");
    let (code, _, err) = pg(&[
        "check",
        "--polcy",
        "p.toml",
        "--ref",
        "refs/heads/main",
        "..HEAD",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("'--policy'"), "no suggestion: {err}");
    let (code, _, err) = pg(&[
        "check",
        "--ref",
        "refs/heads/main",
        "--format",
        "xml",
        "..HEAD",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("human") && err.contains("sarif"), "{err}");
    let (code, _, err) = pg(&["check", "..HEAD"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--ref <REF>"), "{err}");
}

#[test]
fn install_without_host_names_the_choices() {
    let f = Fixture::new(BASIC_POLICY);
    let repo = f.dir.path().join("plain.git");
    f.git_in(f.dir.path(), &["init", "-q", "--bare", "plain.git"]);
    for command in ["install", "uninstall"] {
        let (code, _, err) = pg(&[command, "--repo", repo.to_str().unwrap()]);
        assert_eq!(code, 2, "{command}: {err}");
        assert!(
            err.contains("--host") && err.contains("git, gitea, forgejo, gitlab, gitolite"),
            "{command}: {err}"
        );
    }
    assert!(
        !repo.join("hooks/pre-receive").exists(),
        "nothing may be installed without a host"
    );
    let (code, _, err) = pg(&[
        "install",
        "--host",
        "github",
        "--repo",
        repo.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("gitolite"), "{err}");
    // `--opt=value` works like `--opt value`.
    let policy = format!("--policy={}", f.policy.display());
    let (code, out, err) = pg(&[
        "install",
        "--host=git",
        &format!("--repo={}", repo.display()),
        &policy,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(repo.join("hooks/pre-receive").exists(), "{out}");
}

/// The notes `check` prints on what it judged (human format: on stdout, before the report).
fn check(f: &Fixture, range: &str, format: &str) -> Run {
    let policy = format!("--policy={}", f.policy.display());
    let repo = format!("--repo={}", f.work.display());
    f.pushguard(&[
        "check",
        &policy,
        &repo,
        "--ref=refs/heads/main",
        &format!("--format={format}"),
        range,
    ])
}

#[test]
fn check_says_what_it_judged_and_what_other_refs_hid() {
    // No requirement on commits: every other ref's rules cover main's, so a created main
    // hides whatever they hold.
    let f = Fixture::new("version = 1\n[[ref]]\nmatch = \"refs/heads/main\"\nforce_push = false\n");
    f.commit("a.txt", "1", "one");
    let two = f.commit("b.txt", "2", "two");
    f.commit("c.txt", "3", "three");
    assert_accepted(&f.push(&["origin", "main"]));
    f.git(&["fetch", "-q", "origin"]);

    // A single revision: said to be judged as a created ref, and that nothing was judged.
    let r = check(&f, "HEAD", "human");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.out
            .contains("one revision given: judging HEAD as if refs/heads/main were created"),
        "{r:?}"
    );
    assert!(
        r.out.contains("judged 0 of the 3 commits")
            && r.out
                .contains("3 taken as already judged, being on refs/remotes/origin/main (3)"),
        "{r:?}"
    );
    assert!(r.out.contains("no commit was judged"), "{r:?}");

    // The zero id as OLD: the same, without the single-revision note.
    let zero = "0".repeat(40);
    let r = check(&f, &format!("{zero}..HEAD"), "human");
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!r.out.contains("one revision given"), "{r:?}");
    assert!(r.out.contains("judged 0 of the 3 commits"), "{r:?}");

    // A new local commit is judged; the pushed ones are still hidden, and said so.
    f.commit("d.txt", "4", "four");
    let r = check(&f, "..HEAD", "human");
    assert!(
        r.out.contains("judged 1 of the 4 commits")
            && r.out.contains("being on refs/remotes/origin/main (3)"),
        "{r:?}"
    );
    assert!(!r.out.contains("no commit was judged"), "{r:?}");

    // A range: how many commits, nothing hidden.
    let r = check(&f, "origin/main..HEAD", "human");
    assert!(
        r.out.contains("judged 1 commit for refs/heads/main"),
        "{r:?}"
    );

    // Machine formats keep stdout one document; the note goes to stderr (below).

    // Without other refs, a trusted_base is what hides, and it is named.
    f.git(&["update-ref", "-d", "refs/remotes/origin/main"]);
    f.set_policy(&format!(
        "version = 1\n[[ref]]\nmatch = \"refs/heads/main\"\ntrusted_base = \"{two}\"\n"
    ));
    let r = check(&f, "..HEAD", "human");
    assert!(
        r.out.contains("judged 2 of the 4 commits")
            && r.out
                .contains(&format!("being on trusted_base {} (2)", &two[..7])),
        "{r:?}"
    );
    f.set_policy("version = 1\n[[ref]]\nmatch = \"refs/heads/main\"\nforce_push = false\n");
    f.git(&["update-ref", "refs/remotes/origin/main", &two]);

    let o = Command::new(BIN)
        .args([
            "check",
            "--policy",
            f.policy.to_str().unwrap(),
            "--repo",
            f.work.to_str().unwrap(),
            "--ref",
            "refs/heads/main",
            "--format",
            "json",
            "HEAD",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["accepted"], true);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("judged 2 of the 4 commits") && err.contains("refs/remotes/origin/main (2)"),
        "{err}"
    );
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = pg(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for word in [
            "pre-receive",
            "check",
            "policy",
            "explain",
            "install",
            "gitolite-home",
        ] {
            assert!(out.contains(word), "{shell} completion lacks {word}");
        }
    }
    let (code, _, err) = pg(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{err}");

    let (code, page, err) = pg(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(page.starts_with(".ie") || page.contains("\n.TH"), "{page}");
    assert!(page.contains(".TH pushguard 1"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = pg(&["man", "--dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for page in [
        "pushguard.1",
        "pushguard-check.1",
        "pushguard-policy-check.1",
        "pushguard-install.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    // Rendered by man itself, where it is installed.
    let rendered = Command::new("man")
        .args(["-P", "cat", "-l"])
        .arg(dir.path().join("pushguard-check.1"))
        .env("MANWIDTH", "100")
        .output();
    match rendered {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(text.contains("--ref"), "{text}");
            assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
        }
        Ok(o) => panic!("man -l failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => eprintln!("man is not installed ({e}): rendering not checked"),
    }
}

/// `pushguard policy check FILE | head -1`: a reader that goes away ends pushguard quietly
/// (SIGPIPE, as any Unix tool), not with a panic and a backtrace.
#[test]
fn a_closed_pipe_is_quiet() {
    use std::os::unix::process::ExitStatusExt;
    let f = Fixture::new(BASIC_POLICY);
    // The reader is gone before pushguard starts: its first write hits the closed pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = Command::new(BIN)
        .args(["policy", "check", f.policy.to_str().unwrap()])
        .env("RUST_BACKTRACE", "1")
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        o.status.signal(),
        Some(libc::SIGPIPE),
        "{:?} {err}",
        o.status
    );

    // And as a shell runs it.
    let o = Command::new("sh")
        .args(["-c", "\"$0\" policy check \"$1\" | head -1", BIN])
        .arg(&f.policy)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(out.contains(": OK (version 1"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!err.contains("panicked"), "{err}");
}

/// `policy check` reports every error, each as FILE:LINE:COL: key `KEY`: MESSAGE: schema
/// errors in independent blocks, and the semantic checks of the blocks that passed.
#[test]
fn policy_check_reports_every_error() {
    let policy = "\
version = 1

[identities]
allow = \"*@example.com\"

[[ref]]
match = \"refs/heads/main\"
force-push = false

[[ref]]
match = \"main\"

[[path]]
match = [\"clusters/prod/\"]
forbid = true

[commits]
message_pattern = \"(unclosed\"
";
    let f = Fixture::new(BASIC_POLICY);
    f.set_policy(policy);
    let r = f.pushguard(&["policy", "check", f.policy.to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    let file = f.policy.display().to_string();
    let errors: Vec<&str> = r.out.lines().filter(|l| l.starts_with("error: ")).collect();
    let expected = [
        format!("error: {file}:4:9: key `identities.allow`: invalid type"),
        format!("error: {file}:8:1: key `ref[1].force-push`: unknown field `force-push`"),
        format!("error: {file}:11:9: key `ref[2].match`: \"main\" must be a full ref name"),
        format!("error: {file}:14:9: key `path[1].match`: \"clusters/prod/\" ends with `/`"),
        format!("error: {file}:18:19: key `commits.message_pattern`: not a valid regular expression: unclosed group"),
    ];
    assert_eq!(errors.len(), expected.len(), "{r:?}");
    for (line, want) in errors.iter().zip(&expected) {
        assert!(
            line.starts_with(want.as_str()),
            "{line}\n  wanted {want}\n{r:?}"
        );
    }
    assert!(r.out.contains("5 problems"), "{r:?}");
}

/// The README's commands that install the completions and man pages, run as written with
/// `/usr` moved into a temporary root: bash loads the script, man renders the page.
#[test]
fn readme_completion_and_man_commands_install() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let at = readme
        .find("pushguard completions bash >")
        .expect("README installs completions");
    let start = readme[..at].rfind("```sh\n").unwrap() + "```sh\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let root = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(BIN, bin.path().join("pushguard")).unwrap();
    let mut ran = 0;
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let cmd = line.replace(" /usr/", &format!(" {}/usr/", root.path().display()));
        assert_ne!(cmd, line, "a command outside /usr: {line}");
        let o = Command::new("sh")
            .args(["-ec", &cmd])
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.path().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "`{cmd}`: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        ran += 1;
    }
    assert!(ran >= 3, "{block}");
    let bash = root
        .path()
        .join("usr/share/bash-completion/completions/pushguard");
    let o = Command::new("bash")
        .args(["-c", "source \"$0\" && complete -p pushguard"])
        .arg(&bash)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("pushguard"));
    assert!(root
        .path()
        .join("usr/local/share/zsh/site-functions/_pushguard")
        .is_file());
    let man1 = root.path().join("usr/local/share/man/man1");
    for page in [
        "pushguard.1",
        "pushguard-check.1",
        "pushguard-completions.1",
    ] {
        assert!(man1.join(page).is_file(), "{page}");
    }
}

/// `pushguard demo` shows the real job with keys it makes itself (no gpg): a signed change
/// lands, a production change signed by the developer's key and a privileged Deployment are
/// refused with their rules, and the SRE's signed production change lands.
#[test]
fn the_demo_signs_pushes_and_judges_manifests() {
    let (code, out, err) = pg(&["demo"]);
    assert_eq!(code, 0, "demo failed:\n{out}\n{err}");
    let accepted = out.matches("pushguard: push accepted").count();
    let rejected = out.matches("pushguard: push REJECTED").count();
    assert_eq!((accepted, rejected), (2, 2), "{out}");
    let step = |n: &str| {
        let start = out.find(&format!("\n{n}) ")).expect("step");
        let rest = &out[start + 1..];
        rest[..rest.find("(git push exited").expect("push")].to_string()
    };
    assert!(step("1").contains("push accepted"), "{out}");
    assert!(step("2").contains("error[path.signers]"), "{out}");
    assert!(step("2").contains("dana@example.com"), "{out}");
    assert!(step("3").contains("error[privileged]"), "{out}");
    assert!(
        step("3").contains("object: Deployment apps/podinfo"),
        "{out}"
    );
    assert!(step("4").contains("push accepted"), "{out}");
    assert!(out.contains("now has 4 record(s)"), "{out}");
}

/// `policy check --as-user` checks as the hook's account: a policy or key made unreadable by a
/// routine edit as root, or an audit log directory it cannot write, is an error naming the
/// file and its mode — before it becomes an outage. `--repo` checks as the repository's owner.
#[test]
fn policy_check_as_the_hooks_account() {
    use std::os::unix::fs::PermissionsExt;
    let chmod = |p: &std::path::Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    chmod(root, 0o755);
    std::fs::create_dir_all(root.join("keys")).unwrap();
    std::fs::create_dir_all(root.join("log")).unwrap();
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/keys/sre-anna.asc"),
        root.join("keys/sre-anna.asc"),
    )
    .unwrap();
    let policy = root.join("policy.toml");
    std::fs::write(
        &policy,
        "version = 1\naudit_log = \"log/audit.jsonl\"\n[keys]\nopenpgp = [\"keys/*.asc\"]\n",
    )
    .unwrap();
    for p in [&policy, &root.join("keys/sre-anna.asc")] {
        chmod(p, 0o644);
    }
    chmod(&root.join("keys"), 0o755);
    chmod(&root.join("log"), 0o777);
    let check = |extra: &[&str]| {
        let mut args = vec!["policy", "check", policy.to_str().unwrap()];
        args.extend_from_slice(extra);
        pg(&args)
    };
    let (code, out, err) = check(&["--as-user", "nobody"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("the hook's account nobody can read the policy"),
        "{out}"
    );

    chmod(&policy, 0o600);
    let (code, _, err) = check(&["--as-user", "nobody"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("nobody cannot read") && err.contains("policy.toml (mode 600"),
        "{err}"
    );
    chmod(&policy, 0o644);

    chmod(&root.join("keys/sre-anna.asc"), 0o600);
    let (code, _, err) = check(&["--as-user", "nobody"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("sre-anna.asc (mode 600"), "{err}");
    chmod(&root.join("keys/sre-anna.asc"), 0o644);

    chmod(&root.join("log"), 0o755);
    let (code, _, err) = check(&["--as-user", "nobody"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot create") && err.contains("audit.jsonl"),
        "{err}"
    );

    // --repo: the repository's owner is the hook's account (here, whoever runs the test,
    // who owns everything above); an unknown account is an error, not a silent pass.
    let repo = root.join("fleet.git");
    std::fs::create_dir_all(&repo).unwrap();
    let out = std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(&repo)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (code, out, err) = check(&["--repo", repo.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("the hook's account"), "{out}");
    let (code, _, err) = check(&["--as-user", "no-such-user-pushguard"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no account named"), "{err}");
}
