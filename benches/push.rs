//! Benchmarks, against the peer measured in the same run (`cargo bench --bench push`).
//!
//! - signatures: a repository of N real gpg-signed commits (N = 2,000 and 10,000, made once
//!   with `git commit-tree -S` and cached under target/bench-fixtures), judged by
//!   `pushguard check` with a policy that requires every commit to be signed by that key,
//!   against `git rev-list | xargs git verify-commit` with the same key in gpg's keyring.
//!   Reports commits/s, the ratio, and pushguard's peak memory (max RSS).
//! - manifests: one commit that changes 1,000 manifests (about 5 MB), judged by
//!   `pushguard check` with every built-in rule on: time per push and MB/s; once as plain files,
//!   once as the resources of a kustomize root (the rendered set is judged too).
//! - typical push: one small commit on a repository of 10,000 commits, the whole hook from
//!   process start to exit, against one `git verify-commit`.
//!
//! Each figure is the median of several runs. `PUSHGUARD_BENCH_SIZES=2000` limits the sizes.
//! `PUSHGUARD_BENCH_BASELINE=/path/to/an/older/pushguard` measures that binary too, in the same
//! run on the same fixtures, and prints the ratio (how a change moved each figure).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pushguard");

/// The binaries to measure: this build, and a baseline build when one is given.
fn binaries() -> Vec<(&'static str, PathBuf)> {
    let mut out = vec![("pushguard", PathBuf::from(BIN))];
    if let Some(b) = std::env::var_os("PUSHGUARD_BENCH_BASELINE") {
        out.push(("baseline", PathBuf::from(b)));
    }
    out
}

/// " | this build / baseline: 0.98x the time" on the baseline's line, when one was measured.
fn versus(label: &str, t: Duration, first: Option<Duration>) -> String {
    match (label, first) {
        ("baseline", Some(ours)) => format!(
            " | this build / baseline: {:.2}x the time",
            ours.as_secs_f64() / t.as_secs_f64()
        ),
        _ => String::new(),
    }
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn git(dir: &Path, gnupg: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GNUPGHOME", gnupg)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .args([
            "-c",
            "user.name=Bench",
            "-c",
            "user.email=bench@example.com",
        ]);
    c
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs a command and returns (wall time, peak RSS in KiB of that child).
// The child is reaped by wait4 (which also reports its peak memory), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn timed(cmd: &mut Command) -> (Duration, u64) {
    let start = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, with valid pointers to locals.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    assert!(ok, "{cmd:?} failed (status {status})");
    (start.elapsed(), usage.ru_maxrss as u64)
}

struct SignedRepo {
    dir: PathBuf,
    gnupg: PathBuf,
    policy: PathBuf,
    n: usize,
    fpr: String,
}

fn fixtures() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn signed_repo(n: usize) -> SignedRepo {
    let root = fixtures().join(format!("signed-{n}"));
    let dir = root.join("repo.git");
    let gnupg = root.join("gnupg");
    let policy = root.join("policy.toml");
    // `done` holds the key's fingerprint once the fixture is complete.
    if let Ok(fpr) = std::fs::read_to_string(root.join("done")) {
        if !fpr.is_empty() {
            return SignedRepo {
                dir,
                gnupg,
                policy,
                n,
                fpr,
            };
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&gnupg).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
    let gpg = |args: &[&str]| {
        run(Command::new("gpg")
            .env("GNUPGHOME", &gnupg)
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args))
    };
    gpg(&[
        "--quick-gen-key",
        "Bench <bench@example.com>",
        "ed25519",
        "sign",
        "0",
    ]);
    let fpr = gpg(&["--with-colons", "--list-keys", "bench@example.com"])
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .unwrap()
        .split(':')
        .nth(9)
        .unwrap()
        .to_string();
    std::fs::write(root.join("bench.asc"), gpg(&["--armor", "--export", &fpr])).unwrap();
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[keys]\nopenpgp = [\"bench.asc\"]\n[groups]\nbench = [\"openpgp:{fpr}\"]\n[identities]\nbind_to_signer = true\n[[ref]]\nmatch = \"refs/heads/main\"\nsigners = [\"bench\"]\n"
        ),
    )
    .unwrap();
    run(Command::new("git")
        .args(["init", "-q", "--bare", "--initial-branch=main"])
        .arg(&dir));
    let tree = run(git(&dir, &gnupg).args(["mktree"]).stdin(Stdio::null()));
    let mut parent: Option<String> = None;
    eprintln!(
        "making {n} gpg-signed commits (once; cached in {})",
        root.display()
    );
    for i in 0..n {
        let mut c = git(&dir, &gnupg);
        c.args([
            "commit-tree",
            &format!("-S{fpr}"),
            "-m",
            &format!("commit {i}"),
        ]);
        if let Some(p) = &parent {
            c.args(["-p", p]);
        }
        c.arg(&tree);
        // Distinct timestamps: distinct signatures (sequoia caches verification results).
        let date = format!("{} +0000", 1_700_000_000 + i);
        c.env("GIT_COMMITTER_DATE", &date)
            .env("GIT_AUTHOR_DATE", &date);
        parent = Some(run(&mut c));
    }
    run(git(&dir, &gnupg).args(["update-ref", "refs/heads/main", parent.as_deref().unwrap()]));
    // A push arrives as a pack, not as loose objects.
    run(git(&dir, &gnupg).args(["repack", "-adq"]));
    std::fs::write(root.join("done"), &fpr).unwrap();
    SignedRepo {
        dir,
        gnupg,
        policy,
        n,
        fpr,
    }
}

fn bench_signatures(n: usize) {
    let r = signed_repo(n);
    let zero = "0".repeat(40);
    let range = format!("{zero}..main");
    let check = |bin: &Path| {
        let mut c = Command::new(bin);
        c.args(["check", "--policy"])
            .arg(&r.policy)
            .arg("--repo")
            .arg(&r.dir)
            .args(["--ref", "refs/heads/main", "--format", "json", &range]);
        c
    };
    let git_runs = if n > 5_000 { 1 } else { 3 };
    let mut git_times = Vec::new();
    for _ in 0..git_runs {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("git rev-list main | xargs git verify-commit")
            .current_dir(&r.dir)
            .env("GNUPGHOME", &r.gnupg)
            .env("GIT_DIR", &r.dir);
        let (t, _) = timed(&mut c);
        git_times.push(t);
    }
    let git_t = median(git_times);
    let rate = |t: Duration| n as f64 / t.as_secs_f64();
    let mut first = None;
    for (label, bin) in binaries() {
        // Sanity: pushguard accepts, and judged all N commits.
        let out = run(&mut check(&bin));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["accepted"], true, "{out}");
        assert_eq!(v["updates"][0]["commits"].as_array().unwrap().len(), r.n);
        let mut times = Vec::new();
        let mut rss = 0;
        for _ in 0..5 {
            let (t, m) = timed(&mut check(&bin));
            times.push(t);
            rss = rss.max(m);
        }
        let ours_t = median(times);
        println!(
            "signatures N={n:>6}: {label} {:>8.1} ms ({:>8.0} commits/s, max RSS {} MiB) | git verify-commit {:>9.1} ms ({:>6.0} commits/s) | ratio {:.0}x{}",
            ours_t.as_secs_f64() * 1e3,
            rate(ours_t),
            rss / 1024,
            git_t.as_secs_f64() * 1e3,
            rate(git_t),
            git_t.as_secs_f64() / ours_t.as_secs_f64(),
            versus(label, ours_t, first)
        );
        first.get_or_insert(ours_t);
    }
}

/// `rendered`: the manifests are the resources of kustomizations (one per team directory, all
/// under `apps/kustomization.yaml`), so the push is also judged on what that root renders.
fn bench_manifests(rendered: bool) {
    let root = fixtures().join(if rendered {
        "manifests-rendered"
    } else {
        "manifests"
    });
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let work = root.join("work");
    run(Command::new("git")
        .args(["init", "-q", "--initial-branch=main"])
        .arg(&work));
    let empty = root.join("gnupg");
    std::fs::create_dir_all(&empty).unwrap();
    let write_all = |tag: &str| {
        let mut bytes = 0;
        for i in 0..1000 {
            let dir = work.join(format!("apps/team{}", i % 20));
            std::fs::create_dir_all(&dir).unwrap();
            let text = manifest(i, tag);
            bytes += text.len();
            std::fs::write(dir.join(format!("app{i}.yaml")), text).unwrap();
        }
        bytes
    };
    write_all("1.0.0");
    if rendered {
        let mut teams = String::from("resources:\n");
        for t in 0..20 {
            teams.push_str(&format!("- team{t}\n"));
            let mut apps = String::from("resources:\n");
            for i in (t..1000).step_by(20) {
                apps.push_str(&format!("- app{i}.yaml\n"));
            }
            std::fs::write(work.join(format!("apps/team{t}/kustomization.yaml")), apps).unwrap();
        }
        std::fs::write(work.join("apps/kustomization.yaml"), teams).unwrap();
    }
    run(git(&work, &empty).args(["add", "-A"]));
    run(git(&work, &empty).args(["commit", "-q", "-m", "base"]));
    let bytes = write_all("1.0.1");
    run(git(&work, &empty).args(["commit", "-q", "-a", "-m", "bump every image"]));
    let policy = root.join("policy.toml");
    std::fs::write(
        &policy,
        r#"version = 1
[[manifests]]
match = ["apps/**/*.yaml"]
rules = ["privileged", "privilege-escalation", "host-namespaces", "host-path", "sensitive-host-mounts",
         "host-ports", "dangerous-capabilities", "run-as-root", "proc-mount", "unsafe-sysctls",
         "seccomp-unconfined", "host-process", "image-latest", "image-digest", "image-registries",
         "cluster-admin-binding", "rbac-wildcards", "rbac-escalation", "rbac-system-groups",
         "plaintext-secrets", "ingress-snippets", "protected-namespaces", "deny-delete", "gitops-sources"]
image_registries = ["registry.example.com/"]
source_urls = ["https://git.example.com/"]
"#,
    )
    .unwrap();
    let old = run(git(&work, &empty).args(["rev-parse", "HEAD~1"]));
    let new = run(git(&work, &empty).args(["rev-parse", "HEAD"]));
    let range = format!("{old}..{new}");
    let check = |bin: &Path| {
        let mut c = Command::new(bin);
        c.args(["check", "--policy"])
            .arg(&policy)
            .arg("--repo")
            .arg(&work)
            .args(["--ref", "refs/heads/main", "--format", "json", &range]);
        c
    };
    let mut first = None;
    for (label, bin) in binaries() {
        // Sanity: one commit judged, the push accepted (every image stays in the registry).
        let out = run(&mut check(&bin));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["accepted"], true, "{out}");
        assert_eq!(v["updates"][0]["commits"].as_array().unwrap().len(), 1);
        let mut times = Vec::new();
        for _ in 0..7 {
            times.push(timed(&mut check(&bin)).0);
        }
        let t = median(times);
        println!(
            "manifests{}: {label}: 1 commit changing 1,000 manifests ({:.1} MB new + old): {:.0} ms per push, {:.1} MB/s (both sides){}",
            if rendered { " (one kustomize root renders them)" } else { "" },
            bytes as f64 / 1e6,
            t.as_secs_f64() * 1e3,
            2.0 * bytes as f64 / 1e6 / t.as_secs_f64(),
            versus(label, t, first)
        );
        first.get_or_insert(t);
    }
}

fn manifest(i: usize, tag: &str) -> String {
    let mut s = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  namespace: team{}\n  labels:\n    app: app{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app{i}\n  template:\n    metadata:\n      labels:\n        app: app{i}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/app{i}:{tag}\n        securityContext:\n          runAsNonRoot: true\n          allowPrivilegeEscalation: false\n        env:\n",
        i % 20
    );
    for k in 0..60 {
        s.push_str(&format!(
            "        - name: SETTING_{k}\n          value: \"value-{k}-for-app-{i}\"\n"
        ));
    }
    s.push_str(&format!(
        "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app{i}\n  namespace: team{}\nspec:\n  selector:\n    app: app{i}\n  ports:\n  - port: 80\n",
        i % 20
    ));
    s
}

fn bench_typical() {
    let r = signed_repo(
        10_000.min(
            std::env::var("PUSHGUARD_BENCH_SIZES")
                .ok()
                .and_then(|s| s.split(',').filter_map(|x| x.parse().ok()).max())
                .unwrap_or(10_000),
        ),
    );
    let root = fixtures().join("typical");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let bare = root.join("repo.git");
    run(Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&r.dir)
        .arg(&bare));
    run(git(&bare, &r.gnupg).args(["commit-graph", "write", "--reachable"]));
    let tip = run(git(&bare, &r.gnupg).args(["rev-parse", "main"]));
    let fpr = &r.fpr;
    let tree = run(git(&bare, &r.gnupg).args(["mktree"]).stdin(Stdio::null()));
    let new = run(git(&bare, &r.gnupg).args([
        "commit-tree",
        &format!("-S{fpr}"),
        "-p",
        &tip,
        "-m",
        "typical",
        &tree,
    ]));
    let stdin = format!("{tip} {new} refs/heads/main\n");
    let mut theirs = Vec::new();
    for _ in 0..15 {
        theirs.push(timed(git(&bare, &r.gnupg).args(["verify-commit", &new])).0);
    }
    let t = median(theirs);
    let mut first = None;
    for (label, bin) in binaries() {
        let mut ours = Vec::new();
        for _ in 0..15 {
            let start = Instant::now();
            let mut child = Command::new(&bin)
                .args(["pre-receive", "--policy"])
                .arg(&r.policy)
                .current_dir(&bare)
                .env("GIT_DIR", ".")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(stdin.as_bytes())
                .unwrap();
            assert!(child.wait().unwrap().success());
            ours.push(start.elapsed());
        }
        let o = median(ours);
        println!(
            "typical push: {label}: 1 signed commit on {} commits, whole hook {:.1} ms | one git verify-commit {:.1} ms | ratio {:.1}x{}",
            r.n,
            o.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() / o.as_secs_f64(),
            versus(label, o, first)
        );
        first.get_or_insert(o);
    }
}

fn main() {
    // `cargo test --benches` and `cargo bench -- --list` pass arguments; run only on `cargo bench`.
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("PUSHGUARD_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![2_000, 10_000]);
    println!(
        "pushguard {} on {} cores",
        env!("CARGO_PKG_VERSION"),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for n in sizes {
        bench_signatures(n);
    }
    bench_manifests(false);
    bench_manifests(true);
    bench_typical();
}
