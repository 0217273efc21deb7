//! The CI examples of `docs/ci.md`, run as written: each example's commands are read from the
//! doc, the CI's expressions filled in, and run with `sh -e` in a checkout shaped like that CI's,
//! made with the real `git`:
//! - GitLab: the runner fetches only the pipeline's ref (`origin/<default branch>` is absent
//!   until the job fetches it) and checks out `$CI_COMMIT_SHA` detached;
//! - GitHub and Forgejo Actions on `pull_request`: `actions/checkout` with `fetch-depth: 0`
//!   fetches every branch and checks out the forge's test merge commit, committed by the forge.
//!
//! The binary comes from `$PUSHGUARD_URL` (a `file://` URL of the built binary) checked against
//! `$PUSHGUARD_SHA256`; the policy and its keys are in the repository's `ci/`.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_pushguard");

const POLICY: &str = r#"version = 1
[keys]
openpgp = ["keys/*.asc"]
[identities]
allow = ["*@example.com"]
[[ref]]
match = "refs/heads/main"
force_push = false
"#;

fn git(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "Dana")
        .env("GIT_AUTHOR_EMAIL", "dana@example.com")
        .env("GIT_COMMITTER_NAME", "Dana")
        .env("GIT_COMMITTER_EMAIL", "dana@example.com")
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The commands of one example in docs/ci.md: the `- run:` steps of a workflow, or the
/// `script:` items of a GitLab job.
fn commands(section: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ci.md"))
        .expect("docs/ci.md");
    let start = doc
        .find(&format!("\n## {section}\n"))
        .unwrap_or_else(|| panic!("no section {section}"));
    let body = &doc[start + 1..];
    let body = &body[body.find("```yaml").expect("a yaml block")..];
    let body = &body[..body[7..].find("```").expect("closed") + 7];
    let mut out = Vec::new();
    let mut in_script = false;
    for line in body.lines() {
        let t = line.trim_start();
        if let Some(cmd) = t.strip_prefix("- run: ") {
            out.push(cmd.to_string());
        } else if t == "script:" {
            in_script = true;
        } else if in_script {
            match t.strip_prefix("- ") {
                Some(cmd) if line.starts_with("    - ") => out.push(cmd.to_string()),
                _ => in_script = false,
            }
        }
    }
    assert!(out.len() >= 2, "{section}: {out:?}");
    out
}

struct Origin {
    dir: tempfile::TempDir,
    bare: PathBuf,
    main: String,
    good: String,
    bad: String,
}

/// A server repository: main holds the policy and its keys in `ci/`; `feature` adds a clean
/// commit, `evil` one by an identity the policy refuses. `refs/pull/1/merge` and
/// `refs/pull/2/merge` are the forge's test merges of each into main, committed by the forge.
fn origin() -> Origin {
    // Under the target directory, not $TMPDIR: each checkout downloads the debug binary, and
    // a small tmpfs /tmp on a CI machine does not hold several copies of it.
    let dir = tempfile::Builder::new()
        .prefix("ci-examples")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir");
    let bare = dir.path().join("origin.git");
    let work = dir.path().join("seed");
    git(
        dir.path(),
        &["init", "-q", "--initial-branch=main", "seed"],
        &[],
    );
    std::fs::create_dir_all(work.join("ci/keys")).expect("ci/keys");
    std::fs::write(work.join("ci/pushguard-policy.toml"), POLICY).expect("policy");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/keys/dev-dana.asc"),
        work.join("ci/keys/dev-dana.asc"),
    )
    .expect("key");
    std::fs::write(work.join("app.yaml"), "a: 1\n").expect("file");
    git(&work, &["add", "-A"], &[]);
    git(&work, &["commit", "-q", "-m", "base"], &[]);
    let main = git(&work, &["rev-parse", "HEAD"], &[]);
    git(&work, &["checkout", "-q", "-b", "feature"], &[]);
    std::fs::write(work.join("app.yaml"), "a: 2\n").expect("file");
    git(&work, &["commit", "-q", "-am", "feature"], &[]);
    let good = git(&work, &["rev-parse", "HEAD"], &[]);
    git(&work, &["checkout", "-q", "-b", "evil", "main"], &[]);
    std::fs::write(work.join("app.yaml"), "a: 3\n").expect("file");
    git(
        &work,
        &["commit", "-q", "-am", "evil"],
        &[
            ("GIT_AUTHOR_EMAIL", "mallory@evil.test"),
            ("GIT_COMMITTER_EMAIL", "mallory@evil.test"),
        ],
    );
    let bad = git(&work, &["rev-parse", "HEAD"], &[]);
    git(
        dir.path(),
        &["clone", "-q", "--bare", "seed", "origin.git"],
        &[],
    );
    for (n, head) in [(1, &good), (2, &bad)] {
        let tree = git(&bare, &["rev-parse", &format!("{head}^{{tree}}")], &[]);
        let merge = git(
            &bare,
            &[
                "commit-tree",
                &tree,
                "-p",
                &main,
                "-p",
                head,
                "-m",
                "Merge into main",
            ],
            &[
                ("GIT_COMMITTER_NAME", "GitHub"),
                ("GIT_COMMITTER_EMAIL", "noreply@github.com"),
            ],
        );
        git(
            &bare,
            &["update-ref", &format!("refs/pull/{n}/merge"), &merge],
            &[],
        );
    }
    Origin {
        dir,
        bare,
        main,
        good,
        bad,
    }
}

/// `$PUSHGUARD_URL` and `$PUSHGUARD_SHA256` for the built binary (hashed once: a debug build
/// is large).
fn binary_env() -> Vec<(String, String)> {
    static SUM: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sum = SUM.get_or_init(sha256_of_binary);
    vec![
        ("PUSHGUARD_URL".into(), format!("file://{BIN}")),
        ("PUSHGUARD_SHA256".into(), sum.clone()),
    ]
}

fn sha256_of_binary() -> String {
    let out = Command::new("sha256sum")
        .arg(BIN)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a sum")
        .to_string()
}

/// Runs the commands in `dir` as a CI runs them: each in its own `sh -e`, stopping at the
/// first that fails (a step's `a && b && c` fails the job when any of them fails, which one
/// `sh -e` script of all the steps would not do). Returns (exit status, output).
fn run_steps(dir: &Path, steps: &[String], env: &[(String, String)]) -> (i32, String) {
    let mut all = String::new();
    for step in steps {
        let out = Command::new("sh")
            .args(["-e", "-c", step])
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .env_remove("PUSHGUARD_POLICY")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("sh runs");
        all.push_str(&String::from_utf8_lossy(&out.stdout));
        all.push_str(&String::from_utf8_lossy(&out.stderr));
        let code = out.status.code().unwrap_or(-1);
        if code != 0 {
            return (code, format!("{all}\n(the step that failed: {step})"));
        }
    }
    (0, all)
}

/// Removes a checkout's downloaded copy of the binary once its steps ran: a debug build is
/// tens of megabytes, and the tests make nine checkouts.
fn drop_binary(dir: &Path) {
    let _ = std::fs::remove_file(dir.join("pushguard"));
}

/// A GitLab runner's checkout for a pipeline on `branch` at `sha`.
fn gitlab_checkout(o: &Origin, name: &str, branch: &str, sha: &str) -> PathBuf {
    let dir = o.dir.path().join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    git(&dir, &["init", "-q"], &[]);
    git(
        &dir,
        &["remote", "add", "origin", o.bare.to_str().expect("utf-8")],
        &[],
    );
    git(
        &dir,
        &[
            "fetch",
            "-q",
            "--no-tags",
            "origin",
            &format!("+refs/heads/{branch}:refs/remotes/origin/{branch}"),
        ],
        &[],
    );
    git(&dir, &["checkout", "-q", "--detach", sha], &[]);
    dir
}

#[test]
fn gitlab_example_runs_as_written() {
    let o = origin();
    let steps = commands("GitLab CI");
    for (name, branch, sha, status) in [
        ("gl-good", "feature", &o.good, 0),
        ("gl-bad", "evil", &o.bad, 1),
    ] {
        let dir = gitlab_checkout(&o, name, branch, sha);
        let mut env = binary_env();
        env.push(("CI_DEFAULT_BRANCH".into(), "main".into()));
        env.push(("CI_COMMIT_SHA".into(), sha.to_string()));
        let (code, out) = run_steps(&dir, &steps, &env);
        drop_binary(&dir);
        assert_eq!(code, status, "{name}: {out}");
        let sarif: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join("gl-pushguard.sarif")).expect("the SARIF file"),
        )
        .unwrap_or_else(|e| panic!("{name}: the SARIF is not JSON: {e}"));
        let results = sarif["runs"][0]["results"].as_array().map_or(0, Vec::len);
        assert_eq!(results > 0, status == 1, "{name}: {sarif}");
    }
    // The checkout really is GitLab's shape: without the example's fetch, the range does not
    // resolve (the failure the example avoids).
    let dir = gitlab_checkout(&o, "gl-nofetch", "feature", &o.good);
    let check: Vec<String> = steps
        .iter()
        .filter(|s| s.starts_with("./pushguard"))
        .cloned()
        .collect();
    let mut env = binary_env();
    env.push(("CI_DEFAULT_BRANCH".into(), "main".into()));
    env.push(("CI_COMMIT_SHA".into(), o.good.clone()));
    std::fs::copy(BIN, dir.join("pushguard")).expect("binary");
    let (code, out) = run_steps(&dir, &check, &env);
    drop_binary(&dir);
    assert_eq!(code, 2, "{out}");
}

/// An Actions runner's checkout on `pull_request`: every branch fetched, the test merge
/// commit checked out.
fn actions_checkout(o: &Origin, name: &str, pr: u32) -> PathBuf {
    let dir = o.dir.path().join(name);
    std::fs::create_dir_all(&dir).expect("dir");
    git(&dir, &["init", "-q"], &[]);
    git(
        &dir,
        &["remote", "add", "origin", o.bare.to_str().expect("utf-8")],
        &[],
    );
    git(
        &dir,
        &[
            "fetch",
            "-q",
            "--no-tags",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
            &format!("+refs/pull/{pr}/merge:refs/remotes/pull/{pr}/merge"),
        ],
        &[],
    );
    git(
        &dir,
        &[
            "checkout",
            "-q",
            "--detach",
            &format!("refs/remotes/pull/{pr}/merge"),
        ],
        &[],
    );
    dir
}

/// Fills in the workflow expressions the examples use.
fn fill(steps: &[String], head: &str, merge: &str) -> Vec<String> {
    steps
        .iter()
        .map(|s| {
            s.replace("${{ github.base_ref }}", "main")
                .replace("${{ github.event.pull_request.head.sha }}", head)
                .replace("${{ github.sha }}", merge)
        })
        .collect()
}

#[test]
fn github_and_forgejo_examples_run_as_written() {
    let o = origin();
    for section in ["GitHub Actions", "Forgejo / Gitea Actions"] {
        let steps = commands(section);
        assert!(
            !steps.iter().any(|s| s.contains("github.sha")),
            "{section}: the merge commit is not what was pushed"
        );
        for (pr, head, status) in [(1, &o.good, 0), (2, &o.bad, 1)] {
            let dir = actions_checkout(&o, &format!("{section}-{pr}"), pr);
            let merge = git(&dir, &["rev-parse", "HEAD"], &[]);
            let (code, out) = run_steps(&dir, &fill(&steps, head, &merge), &binary_env());
            drop_binary(&dir);
            assert_eq!(code, status, "{section} PR {pr}: {out}");
        }
        // Judging the forge's merge commit (`github.sha`) instead reports its committer, whom
        // nobody pushed: the false violation the example avoids.
        let dir = actions_checkout(&o, &format!("{section}-merge"), 1);
        let merge = git(&dir, &["rev-parse", "HEAD"], &[]);
        let wrong: Vec<String> = fill(&steps, &merge, &merge);
        let (code, out) = run_steps(&dir, &wrong, &binary_env());
        drop_binary(&dir);
        assert_eq!(code, 1, "{section}: {out}");
        assert!(
            out.contains("noreply@github.com") || section.starts_with("GitHub"),
            "{out}"
        );
    }
    assert_ne!(o.main, o.good);
}
