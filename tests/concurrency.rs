//! Many pushes at once, through the real `git push` over the local transport and the installed
//! hook: 30 branches of one repository, 30 pushes to one branch, and 30 repositories sharing
//! one policy and one audit log. Good and bad pushes are mixed, so a hook that accepts (or
//! refuses) everything fails. After each run: every decision is right, the audit log has one
//! complete JSON line per push (bad pushes write records of several KiB, larger than
//! `PIPE_BUF`, so interleaved writes would show), and neither git's quarantine nor pushguard's
//! own temporary directories are left behind.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;

const N: usize = 30;

const POLICY: &str = r#"version = 1
audit_log = "audit.jsonl"
[identities]
allow = ["*@example.com"]
[[ref]]
match = "refs/heads/main"
force_push = false
[[manifests]]
match = ["**/*.yaml"]
rules = ["privileged"]
"#;

/// A privileged pod: refused by the `privileged` rule.
const PRIVILEGED: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: nginx\n    securityContext:\n      privileged: true\n";

/// Pushes number `i` makes bad (every third, so both kinds run side by side).
fn is_bad(i: usize) -> bool {
    i % 3 == 1
}

/// Commits for push `i` in `work` on top of what is checked out: one good commit, or several
/// bad ones (a disallowed author and a privileged pod in each: many violations, a large
/// audit record). Returns the last commit.
fn make_commits(f: &Fixture, work: &Path, i: usize) -> String {
    let git = |args: &[&str]| f.git_in(work, args);
    if is_bad(i) {
        git(&["config", "user.email", "mallory@attacker.test"]);
        for k in 0..6 {
            let dir = work.join(format!("apps/bad{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join(format!("pod{k}.yaml")),
                PRIVILEGED.replace("name: p", &format!("name: p{i}-{k}")),
            )
            .unwrap();
            git(&["add", "-A"]);
            git(&[
                "commit",
                "-q",
                "-m",
                &format!("bad {i}.{k}: {}", "x".repeat(200)),
            ]);
        }
        git(&["config", "user.email", "dana@example.com"]);
    } else {
        let dir = work.join(format!("apps/good{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\n"),
        )
        .unwrap();
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", &format!("good {i}")]);
    }
    f.git_in(work, &["rev-parse", "HEAD"]).trim().to_string()
}

/// Starts `git push <url> <refspec>` in `work`, with `TMPDIR` set to `tmp`.
fn spawn_push(f: &Fixture, work: &Path, url: &Path, refspec: &str, tmp: &Path) -> Child {
    let mut c: Command = f.cmd("git", work);
    c.args(["push", url.to_str().unwrap(), refspec])
        .env("TMPDIR", tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().unwrap()
}

fn wait_all(children: Vec<Child>) -> Vec<Run> {
    let t = std::time::Instant::now();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| run_of(c.wait_with_output().unwrap()))
        .collect();
    eprintln!(
        "{} concurrent pushes done in {:.2} s",
        runs.len(),
        t.elapsed().as_secs_f64()
    );
    runs
}

/// Every line of the audit log: complete, one JSON object each, with the fields a reader needs.
fn audit_records(log: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.ends_with('\n'), "the log ends with a complete line");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not one JSON record ({e}): {l:.300}"));
            for field in ["time", "repository", "updates", "decision", "policy_digest"] {
                assert!(v.get(field).is_some(), "{field} missing: {l:.300}");
            }
            v
        })
        .collect()
}

/// git's quarantine directories left in a repository's `objects/`, and pushguard's temporary
/// directories left in `tmp`.
fn leftovers(bare: &Path, tmp: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(bare.join("objects")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("tmp_objdir") || name.starts_with("incoming") {
            out.push(e.path());
        }
    }
    for e in std::fs::read_dir(tmp).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("pushguard") {
            out.push(e.path());
        }
    }
    out
}

fn base() -> (Fixture, PathBuf) {
    let f = Fixture::new(POLICY);
    f.commit("README", "base\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    let tmp = f.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    (f, tmp)
}

/// 30 pushes at once, each to its own new branch of one repository: each gets its own
/// decision, and the audit log one complete line each.
#[test]
fn thirty_pushes_to_thirty_branches_at_once() {
    let (f, tmp) = base();
    let mut tips = Vec::new();
    for i in 0..N {
        f.git(&["checkout", "-q", "-b", &format!("b{i}"), "main"]);
        tips.push(make_commits(&f, &f.work, i));
    }
    let before = audit_records(&f.dir.path().join("audit.jsonl")).len();
    let children: Vec<Child> = (0..N)
        .map(|i| spawn_push(&f, &f.work, &f.bare, &format!("b{i}:refs/heads/b{i}"), &tmp))
        .collect();
    let runs = wait_all(children);
    for (i, r) in runs.iter().enumerate() {
        let remote = f.remote_ref(&format!("refs/heads/b{i}"));
        if is_bad(i) {
            assert_rejected(r);
            assert!(r.out.contains("identities.allow"), "push {i}: {r:?}");
            assert_eq!(remote, None, "push {i}");
        } else {
            assert_accepted(r);
            assert_eq!(remote.as_deref(), Some(tips[i].as_str()), "push {i}");
        }
    }
    let records = audit_records(&f.dir.path().join("audit.jsonl"));
    assert_eq!(records.len() - before, N, "one record per push");
    let by_ref: BTreeMap<String, &serde_json::Value> = records[before..]
        .iter()
        .map(|r| (r["updates"][0]["ref"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(by_ref.len(), N, "each push recorded once");
    for i in 0..N {
        let rec = by_ref[&format!("refs/heads/b{i}")];
        let want = if is_bad(i) { "reject" } else { "accept" };
        assert_eq!(rec["decision"], want, "push {i}: {rec}");
    }
    let large = records[before..]
        .iter()
        .filter(|r| r.to_string().len() > 4096)
        .count();
    assert!(large >= N / 3, "bad pushes write records over PIPE_BUF");
    assert_eq!(leftovers(&f.bare, &tmp), Vec::<PathBuf>::new());
}

/// 30 pushes at once to the same branch, each one commit (or several bad ones) on the same
/// base, forced so that each reaches the hook whatever it saw: git's ref lock lets one
/// fast-forward win. pushguard decides each push on its own (every hook runs and records),
/// refuses every bad one (and a good one that arrives after another landed, as the rewrite it
/// then is), and the branch ends on a good commit.
#[test]
fn thirty_pushes_to_one_branch_at_once() {
    let (f, tmp) = base();
    let base_tip = f.git(&["rev-parse", "main"]);
    let mut tips = Vec::new();
    for i in 0..N {
        f.git(&["checkout", "-q", "--detach", &base_tip]);
        tips.push(make_commits(&f, &f.work, i));
    }
    f.git(&["checkout", "-q", "main"]);
    let before = audit_records(&f.dir.path().join("audit.jsonl")).len();
    let children: Vec<Child> = (0..N)
        .map(|i| {
            spawn_push(
                &f,
                &f.work,
                &f.bare,
                &format!("+{}:refs/heads/main", tips[i]),
                &tmp,
            )
        })
        .collect();
    let runs = wait_all(children);
    let mut landed = 0;
    let mut good_declined = 0;
    for (i, r) in runs.iter().enumerate() {
        if is_bad(i) {
            assert_rejected(r);
            assert!(r.out.contains("identities.allow"), "push {i}: {r:?}");
        } else if r.ok {
            landed += 1;
        } else if r.out.contains("pre-receive hook declined") {
            // Started after another push landed: from there, this one is a rewrite of main.
            good_declined += 1;
            assert!(
                r.out.contains("ref.force-push") && !r.out.contains("identities.allow"),
                "a good push refused for another reason: {r:?}"
            );
        } else {
            // Lost the race after the hook: git's ref update refused a stale old value.
            assert!(
                r.out.contains("lock") || r.out.contains("failed to update"),
                "push {i}: {r:?}"
            );
        }
    }
    assert!(landed >= 1, "one good push wins the ref lock");
    let main = f.remote_ref("refs/heads/main").unwrap();
    let winner = tips
        .iter()
        .position(|t| *t == main)
        .expect("main is a pushed tip");
    assert!(!is_bad(winner), "main ended on a bad commit: push {winner}");
    let records = audit_records(&f.dir.path().join("audit.jsonl"));
    assert_eq!(records.len() - before, N, "every hook ran and recorded");
    let rejected = records[before..]
        .iter()
        .filter(|r| r["decision"] == "reject")
        .count();
    // The bad pushes, and the good ones the hook saw as rewrites of a main another push moved.
    assert_eq!(
        rejected,
        (0..N).filter(|i| is_bad(*i)).count() + good_declined
    );
    assert_eq!(leftovers(&f.bare, &tmp), Vec::<PathBuf>::new());
}

/// 30 repositories sharing one policy and one audit log, one push each, all at once.
#[test]
fn thirty_repositories_share_one_policy_and_one_audit_log() {
    let (f, tmp) = base();
    let root = f.dir.path().join("many");
    std::fs::create_dir_all(&root).unwrap();
    let mut repos = Vec::new();
    for i in 0..N {
        let bare = root.join(format!("repo{i}.git"));
        f.git_in(
            &root,
            &[
                "init",
                "-q",
                "--bare",
                "--initial-branch=main",
                bare.to_str().unwrap(),
            ],
        );
        let r = f.pushguard(&[
            "install",
            "--host",
            "git",
            "--repo",
            bare.to_str().unwrap(),
            "--policy",
            f.policy.to_str().unwrap(),
        ]);
        assert!(r.ok, "{r:?}");
        let work = root.join(format!("work{i}"));
        f.git_in(
            &root,
            &[
                "clone",
                "-q",
                bare.to_str().unwrap(),
                work.to_str().unwrap(),
            ],
        );
        f.git_in(&work, &["config", "user.name", "Dana Example"]);
        f.git_in(&work, &["config", "user.email", "dana@example.com"]);
        std::fs::write(work.join("README"), format!("repo {i}\n")).unwrap();
        f.git_in(&work, &["add", "-A"]);
        f.git_in(&work, &["commit", "-q", "-m", "base"]);
        let tip = make_commits(&f, &work, i);
        repos.push((bare, work, tip));
    }
    let log = f.dir.path().join("audit.jsonl");
    let before = audit_records(&log).len();
    let children: Vec<Child> = repos
        .iter()
        .map(|(bare, work, _)| spawn_push(&f, work, bare, "HEAD:refs/heads/main", &tmp))
        .collect();
    let runs = wait_all(children);
    for (i, (r, (bare, work, tip))) in runs.iter().zip(&repos).enumerate() {
        let remote = run_of(
            f.cmd("git", bare)
                .args(["rev-parse", "--verify", "-q", "refs/heads/main"])
                .output()
                .unwrap(),
        );
        if is_bad(i) {
            assert_rejected(r);
            assert!(!remote.ok, "repo {i}: nothing landed");
        } else {
            assert_accepted(r);
            assert_eq!(remote.out.trim(), tip, "repo {i}");
        }
        assert_eq!(leftovers(bare, &tmp), Vec::<PathBuf>::new(), "repo {i}");
        let _ = work;
    }
    let records = audit_records(&log);
    assert_eq!(records.len() - before, N, "one record per push");
    let by_repo: BTreeMap<String, &serde_json::Value> = records[before..]
        .iter()
        .map(|r| (r["repository"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(by_repo.len(), N, "each repository recorded once");
    for (i, (bare, _, _)) in repos.iter().enumerate() {
        let name = std::fs::canonicalize(bare).unwrap().display().to_string();
        let rec = by_repo
            .get(&name)
            .unwrap_or_else(|| panic!("no record for {name}"));
        let want = if is_bad(i) { "reject" } else { "accept" };
        assert_eq!(rec["decision"], want, "repo {i}: {rec}");
    }
}

/// A record cut short by a full disk (here a file size limit, with `SIGXFSZ` ignored so the
/// write fails with `EFBIG` instead of killing the hook): the push is refused, and the partial
/// line is cut back off, so the log stays one complete record per line for the next push.
#[test]
fn a_record_cut_short_leaves_no_broken_line() {
    let (f, _tmp) = base();
    let log = f.dir.path().join("audit.jsonl");
    let size = std::fs::metadata(&log).unwrap().len();
    f.git(&["checkout", "-q", "-b", "big", "main"]);
    make_commits(&f, &f.work, 1);
    assert!(is_bad(1));
    let hook = f.bare.join("hooks/pre-receive");
    let shim = std::fs::read_to_string(&hook).unwrap();
    // Room for about 1 KiB more than the log holds: the bad push's record is several KiB.
    let blocks = (size + 1024) / 512 + 1;
    let limited = shim.replacen(
        "exec ",
        &format!("trap '' XFSZ\nulimit -f {blocks}\nexec "),
        1,
    );
    std::fs::write(&hook, limited).unwrap();
    let r = f.push(&["origin", "big"]);
    assert_rejected(&r);
    assert!(r.out.contains("cannot write the audit record"), "{r:?}");
    assert_eq!(std::fs::metadata(&log).unwrap().len(), size, "cut back");
    std::fs::write(&hook, &shim).unwrap();
    f.git(&["checkout", "-q", "main"]);
    f.commit("apps/ok.yaml", "kind: ConfigMap\n", "ok");
    assert_accepted(&f.push(&["origin", "main"]));
    let records = audit_records(&log);
    assert_eq!(records.len(), 2, "the first record and the last push's");
}
