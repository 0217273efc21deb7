//! Benchmarks, against the peer measured in the same run (`cargo bench --bench push`).
//!
//! Every case prints a line as it finishes; the run ends with one markdown table (case |
//! pushguard | peer | ratio | max RSS) that the README's Speed section takes verbatim.
//!
//! - signatures, ed25519 and RSA-3072: a repository of N real gpg-signed commits (made once
//!   with `git commit-tree -S` by a key from `gpg --quick-gen-key … ed25519|rsa3072 sign 0`,
//!   cached under target/bench-fixtures), judged by `pushguard check` with a policy that
//!   requires every commit to be signed by that key, against
//!   `git rev-list | xargs git verify-commit` with the same key in gpg's keyring. N is 2,000
//!   and 10,000 for ed25519 and the largest size (10,000) for RSA; the git run of a size over
//!   5,000 is made once (RSA takes minutes).
//! - manifests: one commit that changes 1,000 manifests (about 5 MB), judged by
//!   `pushguard check` with every built-in rule on: time per push and MB/s; once as plain files,
//!   once as the resources of a kustomize root (the rendered set is judged too). No peer.
//! - typical push, with the example policy in enforce mode: on the 10,000-commit ed25519
//!   repository, one more commit adds 5,000 manifests (the repository's state), then a push of
//!   3 signed commits each changing 2 of them; the whole `pushguard pre-receive` from process
//!   start to exit, fed the push's stdin line, median of 21 runs, against one
//!   `git verify-commit` of the push's tip (median of 21). The policy is a copy of
//!   `config/policy.example.toml` in which exactly these lines differ (asserted): `mode =
//!   "enforce"`, `audit_log` pointing into the fixture directory, and the `sre`, `devs` and
//!   `forge` groups, whose OpenPGP fingerprints (keys whose secret halves we do not have) are
//!   replaced one for one by ed25519 keys the bench makes (`sre1`, `sre2`, `devs1`, `forge1`,
//!   all `@example.com`); the ssh entry and `group:sre` stay. `keys/` next to it holds
//!   `config/keys/*` plus those keys' public halves. The push's commits are signed by `devs1`.
//!   A push of one unsigned commit is checked to be refused (enforce mode is on).
//!   pushguard keeps facts between pushes in `$GIT_DIR/pushguard/cache` (which files of each
//!   tree define kustomize, Flux and Argo CD roots): each timed run starts with the facts the
//!   push that made the base would have left (made by judging that push once, then restored
//!   before every run), never the tip's own. A second row times the same push with nothing
//!   kept (the first push after install), median of 5.
//! - first release tag: `refs/tags/v1.0.0`, an annotated tag signed by `sre1` on the tip of
//!   main, pushed onto that repository with the example policy's tag rules; same timing,
//!   against one `git verify-tag`. It must not walk history: `pushguard check` of the tag
//!   must judge no commit (asserted).
//! - max RSS: the peak resident memory of the measured process (and, for the peer, of the
//!   children it waited for: git and gpg), from `wait4`, the largest over the runs.
//!
//! - gitops: a Flux repository of 300 applications (602 rendered roots), one application's
//!   image changed, judged by the whole hook with the facts of the base kept, and with none.
//!   No peer.
//!
//! `PUSHGUARD_BENCH_CASES=typical,manifests` runs only those cases (of `typical`, `ed25519`,
//! `rsa`, `manifests`, `gitops`; the release tag is measured with `typical`).
//! `PUSHGUARD_BENCH_SIZES=2000` limits the sizes (the RSA and typical-push repositories then
//! have 2,000 commits too). `PUSHGUARD_BENCH_BASELINE=/path/to/an/older/pushguard` measures
//! that binary too, in the same run on the same fixtures, and prints the ratio (how a change
//! moved each figure): a row under each case.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pushguard");
const ZERO: &str = "0000000000000000000000000000000000000000";

/// The binaries to measure: this build, and a baseline build when one is given.
fn binaries() -> Vec<(&'static str, PathBuf)> {
    let mut out = vec![("pushguard", PathBuf::from(BIN))];
    if let Some(b) = std::env::var_os("PUSHGUARD_BENCH_BASELINE") {
        out.push(("baseline", PathBuf::from(b)));
    }
    out
}

/// One row of the final table.
struct Row {
    case: String,
    ours: String,
    peer: String,
    ratio: String,
    rss: String,
}

/// Where a binary's figure stands: the peer ratio, and for the baseline also how this build's
/// time compares with it.
fn ratio_cell(
    label: &str,
    ours: Duration,
    peer: Option<Duration>,
    first: Option<Duration>,
) -> String {
    let mut s = match peer {
        Some(p) => format!("{:.1}×", p.as_secs_f64() / ours.as_secs_f64()),
        None => "—".to_string(),
    };
    if let ("baseline", Some(this)) = (label, first) {
        s.push_str(&format!(
            " (this build takes {:.2}× the baseline's time)",
            this.as_secs_f64() / ours.as_secs_f64()
        ));
    }
    s
}

/// The case name for a binary's row: the case itself, or "… (baseline)".
fn case_cell(case: &str, label: &str) -> String {
    if label == "pushguard" {
        case.to_string()
    } else {
        format!("↳ same, {label} binary")
    }
}

fn dur(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 10.0 {
        format!("{s:.1} s")
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 0.1 {
        format!("{:.0} ms", s * 1e3)
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// 11860.4 -> "11,860".
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
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
    git_as(dir, gnupg, "Bench", "bench@example.com")
}

/// git in `dir` with `name <email>` as author, committer and tagger.
fn git_as(dir: &Path, gnupg: &Path, name: &str, email: &str) -> Command {
    let mut c = Command::new("git");
    c.current_dir(dir)
        .env("GNUPGHOME", gnupg)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .args([
            "-c",
            &format!("user.name={name}"),
            "-c",
            &format!("user.email={email}"),
        ]);
    c
}

fn gpg(gnupg: &Path, args: &[&str]) -> String {
    run(Command::new("gpg")
        .env("GNUPGHOME", gnupg)
        .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args))
}

fn new_gnupg_home(gnupg: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(gnupg).unwrap();
    std::fs::set_permissions(gnupg, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// Makes a signing key for `Name <email>` (`algo`: ed25519, rsa3072) and returns its fingerprint.
fn gen_key(gnupg: &Path, name: &str, email: &str, algo: &str) -> String {
    gpg(
        gnupg,
        &[
            "--quick-gen-key",
            &format!("{name} <{email}>"),
            algo,
            "sign",
            "0",
        ],
    );
    gpg(
        gnupg,
        &["--with-colons", "--list-keys", &format!("<{email}>")],
    )
    .lines()
    .find(|l| l.starts_with("fpr:"))
    .unwrap()
    .split(':')
    .nth(9)
    .unwrap()
    .to_string()
}

/// Copies a directory tree (the facts pushguard keeps).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs a command, writing `stdin` to it first (the pre-receive hook's ref lines), and returns
/// (wall time, peak RSS in KiB of that child and of the children it waited for).
// The child is reaped by wait4 (which also reports its peak memory), not by Child::wait.
#[allow(clippy::zombie_processes)]
fn timed_stdin(cmd: &mut Command, stdin: Option<&[u8]>) -> (Duration, u64) {
    let start = Instant::now();
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(bytes).unwrap();
    }
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

/// `runs` timed runs: (median time, largest max RSS).
fn measure(runs: usize, make: impl FnMut() -> Command, stdin: Option<&[u8]>) -> (Duration, u64) {
    measure_after(runs, || {}, make, stdin)
}

/// `runs` timed runs, each after `prepare` (not timed): (median time, largest max RSS).
fn measure_after(
    runs: usize,
    mut prepare: impl FnMut(),
    mut make: impl FnMut() -> Command,
    stdin: Option<&[u8]>,
) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut rss = 0;
    for _ in 0..runs {
        prepare();
        let (t, m) = timed_stdin(&mut make(), stdin);
        times.push(t);
        rss = rss.max(m);
    }
    (median(times), rss)
}

#[derive(Clone, Copy)]
enum Algo {
    Ed25519,
    Rsa3072,
}

impl Algo {
    fn gpg_name(self) -> &'static str {
        match self {
            Algo::Ed25519 => "ed25519",
            Algo::Rsa3072 => "rsa3072",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Algo::Ed25519 => "ed25519",
            Algo::Rsa3072 => "RSA-3072",
        }
    }
    /// The fixture's directory name (ed25519 keeps the name it had before RSA was added).
    fn dir(self, n: usize) -> String {
        match self {
            Algo::Ed25519 => format!("signed-{n}"),
            Algo::Rsa3072 => format!("signed-rsa3072-{n}"),
        }
    }
}

struct SignedRepo {
    dir: PathBuf,
    gnupg: PathBuf,
    policy: PathBuf,
    n: usize,
}

fn fixtures() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn signed_repo(n: usize, algo: Algo) -> SignedRepo {
    let root = fixtures().join(algo.dir(n));
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
            };
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    new_gnupg_home(&gnupg);
    let fpr = gen_key(&gnupg, "Bench", "bench@example.com", algo.gpg_name());
    std::fs::write(
        root.join("bench.asc"),
        gpg(&gnupg, &["--armor", "--export", &fpr]),
    )
    .unwrap();
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
        "making {n} gpg-signed ({}) commits (once; cached in {})",
        algo.label(),
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
    }
}

fn bench_signatures(n: usize, algo: Algo, rows: &mut Vec<Row>) {
    let r = signed_repo(n, algo);
    let range = format!("{ZERO}..main");
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
    let (git_t, git_rss) = measure(
        git_runs,
        || {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg("git rev-list main | xargs git verify-commit")
                .current_dir(&r.dir)
                .env("GNUPGHOME", &r.gnupg)
                .env("GIT_DIR", &r.dir);
            c
        },
        None,
    );
    let rate = |t: Duration| n as f64 / t.as_secs_f64();
    let case = format!(
        "{} commits signed with {} keys: `pushguard check` vs `git rev-list | xargs git verify-commit`",
        thousands(n as f64),
        algo.label()
    );
    let mut first = None;
    for (label, bin) in binaries() {
        // Sanity: pushguard accepts, and judged all N commits.
        let out = run(&mut check(&bin));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["accepted"], true, "{out}");
        assert_eq!(v["updates"][0]["commits"].as_array().unwrap().len(), r.n);
        let (ours_t, rss) = measure(5, || check(&bin), None);
        println!(
            "signatures {} N={n:>6}: {label} {:>8.1} ms ({:>8.0} commits/s, max RSS {} MiB) | git verify-commit {:>9.1} ms ({:>6.0} commits/s) | ratio {:.0}x{}",
            algo.label(),
            ours_t.as_secs_f64() * 1e3,
            rate(ours_t),
            rss / 1024,
            git_t.as_secs_f64() * 1e3,
            rate(git_t),
            git_t.as_secs_f64() / ours_t.as_secs_f64(),
            ratio_cell(label, ours_t, None, first).trim_start_matches('—')
        );
        rows.push(Row {
            case: case_cell(&case, label),
            ours: format!("{}, {} commits/s", dur(ours_t), thousands(rate(ours_t))),
            peer: format!(
                "{}, {} commits/s{}",
                dur(git_t),
                thousands(rate(git_t)),
                if git_runs == 1 { " (one run)" } else { "" }
            ),
            ratio: ratio_cell(label, ours_t, Some(git_t), first),
            rss: format!("{} (git + gpg: {})", mib(rss), mib(git_rss)),
        });
        first.get_or_insert(ours_t);
    }
}

/// A GitOps repository as Flux users lay it out: `clusters/prod/flux-system` syncs
/// `clusters/prod`, whose `apps.yaml` holds one Flux `Kustomization` per application, each
/// building `apps/appN` (a kustomization and the application's Deployment and Service): 300 applications, 602
/// roots. The push is one commit changing one application's image; `clusters/prod/**` is
/// protected, so the application's files are protected through what prod renders, and the
/// pusher is the SRE. The base was made by a push like it (another application's image). `pushguard pre-receive`, whole process, median of 21, from the facts the
/// push that made the base left (and, a second row, from none).
fn bench_gitops(rows: &mut Vec<Row>) {
    const APPS: usize = 300;
    let root = fixtures().join("gitops");
    let bare = root.join("repo.git");
    let done = root.join("done");
    let work = root.join("work");
    let empty = root.join("gnupg");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&empty).unwrap();
        run(Command::new("git")
            .args(["init", "-q", "--initial-branch=main"])
            .arg(&work));
        let mut flux = String::new();
        for i in 0..APPS {
            let dir = work.join(format!("apps/app{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("kustomization.yaml"),
                "resources:\n- deploy.yaml\n",
            )
            .unwrap();
            std::fs::write(dir.join("deploy.yaml"), manifest(i, "1.0.0", 5)).unwrap();
            flux.push_str(&format!(
                "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app{i}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/app{i}\n  prune: true\n  targetNamespace: team{}\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
                i % 10
            ));
        }
        std::fs::create_dir_all(work.join("clusters/prod/flux-system")).unwrap();
        std::fs::write(work.join("clusters/prod/apps.yaml"), flux).unwrap();
        std::fs::write(
            work.join("clusters/prod/flux-system/gotk-sync.yaml"),
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://git.example.com/ops/fleet\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./clusters/prod\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n",
        )
        .unwrap();
        run(git(&work, &empty).args(["add", "-A"]));
        run(git(&work, &empty).args(["commit", "-q", "-m", "fleet"]));
        // The push that made the base: another application's image.
        std::fs::write(work.join("apps/app3/deploy.yaml"), manifest(3, "1.0.1", 5)).unwrap();
        run(git(&work, &empty).args(["commit", "-q", "-a", "-m", "bump app3"]));
        run(Command::new("git")
            .args(["clone", "-q", "--bare"])
            .arg(&work)
            .arg(&bare));
        std::fs::write(work.join("apps/app7/deploy.yaml"), manifest(7, "1.0.1", 5)).unwrap();
        run(git(&work, &empty).args(["commit", "-q", "-a", "-m", "bump app7"]));
        run(git(&work, &empty)
            .args(["push", "-q"])
            .arg(&bare)
            .arg("HEAD:refs/heads/next"));
        std::fs::write(
            root.join("policy.toml"),
            r#"version = 1
[host]
pusher_variable = "REMOTE_USER"

[[path]]
match = ["clusters/prod/**"]
refs = "refs/heads/main"
pushers = ["sre"]

[[manifests]]
match = ["**/*.yaml"]
rules = ["privileged", "privilege-escalation", "host-namespaces", "host-path", "dangerous-capabilities",
         "image-registries", "plaintext-secrets", "protected-namespaces", "deny-delete", "gitops-sources"]
image_registries = ["registry.example.com/"]
source_urls = ["https://git.example.com/"]
deny_delete = ["Namespace"]
"#,
        )
        .unwrap();
        std::fs::write(&done, "").unwrap();
    }
    let policy = root.join("policy.toml");
    let old = run(git(&bare, &empty).args(["rev-parse", "main"]));
    let new = run(git(&bare, &empty).args(["rev-parse", "next"]));
    let push = format!("{old} {new} refs/heads/main\n");
    let hook_as = |bin: &Path, user: &str| {
        let mut c = Command::new(bin);
        c.args(["pre-receive", "--policy"])
            .arg(&policy)
            .current_dir(&bare)
            .env("GIT_DIR", ".")
            .env("REMOTE_USER", user);
        c
    };
    let feed = |bin: &Path, user: &str, stdin: &str| {
        let o = hook_as(bin, user)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child.stdin.take().unwrap().write_all(stdin.as_bytes())?;
                child.wait_with_output()
            })
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let accepts = |bin: &Path, user: &str| feed(bin, user, &push);
    let case = format!(
        "GitOps repository: Flux syncs `clusters/prod`, whose `apps.yaml` holds {APPS} Flux Kustomizations each building `apps/appN` ({} roots); 1 commit changing one application's image, which `clusters/prod/**` protects through what prod renders: `pushguard pre-receive`, process start to exit",
        2 * APPS + 2
    );
    let cold_case =
        "the same push with nothing kept in `$GIT_DIR/pushguard` (every root rendered)".to_string();
    let store = bare.join("pushguard");
    let (mut first, mut first_cold) = (None, None);
    let mut cold_rows = Vec::new();
    for (label, bin) in binaries() {
        // Sanity: the SRE's push lands, a developer's is refused (prod renders the app).
        let (ok, err) = accepts(&bin, "sre");
        assert!(ok, "{label}: the SRE's push was refused: {err}");
        let (ok, err) = accepts(&bin, "dev");
        assert!(
            !ok && err.contains("path.pushers"),
            "{label}: a developer changed what prod renders: {err}"
        );
        let base_facts = fixtures().join(format!("gitops-facts-{}", label.replace(' ', "-")));
        let _ = std::fs::remove_dir_all(&store);
        let _ = std::fs::remove_dir_all(&base_facts);
        // The facts the push that made the base left: that push judged again.
        let before = run(git(&bare, &empty).args(["rev-parse", "main~1"]));
        let (ok, err) = feed(&bin, "sre", &format!("{before} {old} refs/heads/main\n"));
        assert!(
            ok,
            "{label}: the push that made the base was refused: {err}"
        );
        copy_dir(&store, &base_facts);
        let (t, rss) = measure_after(
            21,
            || {
                let _ = std::fs::remove_dir_all(&store);
                copy_dir(&base_facts, &store);
            },
            || hook_as(&bin, "sre"),
            Some(push.as_bytes()),
        );
        let (t_cold, rss_cold) = measure_after(
            5,
            || {
                let _ = std::fs::remove_dir_all(&store);
            },
            || hook_as(&bin, "sre"),
            Some(push.as_bytes()),
        );
        println!(
            "gitops: {label}: one application changed among {APPS}: whole hook {:.1} ms (max RSS {} MiB); nothing kept: {:.1} ms (max RSS {} MiB)",
            t.as_secs_f64() * 1e3,
            rss / 1024,
            t_cold.as_secs_f64() * 1e3,
            rss_cold / 1024
        );
        rows.push(Row {
            case: case_cell(&case, label),
            ours: dur(t),
            peer: "—".into(),
            ratio: ratio_cell(label, t, None, first),
            rss: mib(rss),
        });
        cold_rows.push(Row {
            case: case_cell(&cold_case, label),
            ours: dur(t_cold),
            peer: "—".into(),
            ratio: ratio_cell(label, t_cold, None, first_cold),
            rss: mib(rss_cold),
        });
        first.get_or_insert(t);
        first_cold.get_or_insert(t_cold);
    }
    rows.extend(cold_rows);
}

/// `rendered`: the manifests are the resources of kustomizations (one per team directory, all
/// under `apps/kustomization.yaml`), so the push is also judged on what that root renders.
fn bench_manifests(rendered: bool, rows: &mut Vec<Row>) {
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
            let text = manifest(i, tag, 60);
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
    let case = format!(
        "1 commit changing 1,000 manifests ({:.1} MB, old and new both parsed), every built-in rule{}: `pushguard check`",
        bytes as f64 / 1e6,
        if rendered {
            ", as the resources of one kustomize root (the rendered set judged too)"
        } else {
            ""
        }
    );
    let mut first = None;
    for (label, bin) in binaries() {
        // Sanity: one commit judged, the push accepted (every image stays in the registry).
        let out = run(&mut check(&bin));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["accepted"], true, "{out}");
        assert_eq!(v["updates"][0]["commits"].as_array().unwrap().len(), 1);
        let (t, rss) = measure(7, || check(&bin), None);
        let mb_s = 2.0 * bytes as f64 / 1e6 / t.as_secs_f64();
        println!(
            "manifests{}: {label}: 1 commit changing 1,000 manifests ({:.1} MB new + old): {:.0} ms per push, {:.1} MB/s (both sides), max RSS {} MiB{}",
            if rendered { " (one kustomize root renders them)" } else { "" },
            bytes as f64 / 1e6,
            t.as_secs_f64() * 1e3,
            mb_s,
            rss / 1024,
            ratio_cell(label, t, None, first).trim_start_matches('—')
        );
        rows.push(Row {
            case: case_cell(&case, label),
            ours: format!("{} per push, {mb_s:.1} MB/s", dur(t)),
            peer: "—".into(),
            ratio: ratio_cell(label, t, None, first),
            rss: mib(rss),
        });
        first.get_or_insert(t);
    }
}

/// A Deployment and its Service, with `envs` environment variables (60: about 5 KB).
fn manifest(i: usize, tag: &str, envs: usize) -> String {
    let mut s = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  namespace: team{}\n  labels:\n    app: app{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app{i}\n  template:\n    metadata:\n      labels:\n        app: app{i}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/app{i}:{tag}\n        securityContext:\n          runAsNonRoot: true\n          allowPrivilegeEscalation: false\n        env:\n",
        i % 20
    );
    for k in 0..envs {
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

/// The repository and example policy of the typical-push and release-tag cases.
struct Enforce {
    bare: PathBuf,
    gnupg: PathBuf,
    policy: PathBuf,
    /// The push's stdin: 3 signed commits on main.
    push: String,
    /// Its new tip.
    tip: String,
    /// The release tag's stdin.
    tag_push: String,
    /// The tag object.
    tag: String,
    /// The base commit (main's tip before the push).
    base: String,
    /// The devs key that signs the push (name, email, fingerprint).
    dev: (String, String, String),
}

const FILES: usize = 5_000;

/// The example policy with exactly the lines the module doc names changed; keys for the
/// groups are made in `gnupg` and exported to `root/keys`. Returns (text, group keys as
/// (group, name, email, fingerprint)).
fn enforce_policy(root: &Path, gnupg: &Path) -> (String, Vec<(String, String, String, String)>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let example = std::fs::read_to_string(src.join("policy.example.toml")).unwrap();
    let keys = root.join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for e in std::fs::read_dir(src.join("keys")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), keys.join(e.file_name())).unwrap();
    }
    let audit = root.join("audit.jsonl");
    let audit = audit.to_str().unwrap();
    assert!(!audit.contains(['"', '\\']), "{audit}");
    let mut made = Vec::new();
    let mut section = String::new();
    let mut changed = 0;
    let mut out = String::new();
    for line in example.lines() {
        let mut new = line.to_string();
        if line.starts_with('[') {
            section = line.trim().to_string();
        } else if line == "mode = \"audit\"" {
            new = "mode = \"enforce\"".into();
        } else if line.starts_with("audit_log = ") {
            new = format!("audit_log = \"{audit}\"");
        } else if section == "[groups]" {
            let group = line.split(" = ").next().unwrap_or("").to_string();
            if ["sre", "devs", "forge"].contains(&group.as_str()) {
                let mut rest = line;
                let mut k = 0;
                while let Some(at) = rest.find("openpgp:") {
                    let old = &rest[at + 8..at + 48];
                    assert!(old.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
                    k += 1;
                    let name = format!("Bench {group}{k}");
                    let email = format!("{group}{k}@example.com");
                    let fpr = gen_key(gnupg, &name, &email, "ed25519");
                    std::fs::write(
                        keys.join(format!("bench-{group}{k}.asc")),
                        gpg(gnupg, &["--armor", "--export", &fpr]),
                    )
                    .unwrap();
                    new = new.replace(old, &fpr);
                    made.push((group.clone(), name, email, fpr));
                    rest = &rest[at + 48..];
                }
            }
        }
        if new != line {
            changed += 1;
        }
        out.push_str(&new);
        out.push('\n');
    }
    // mode, audit_log, sre, devs, forge: nothing else differs.
    assert_eq!(changed, 5, "{out}");
    assert_eq!(out.lines().count(), example.lines().count());
    (out, made)
}

fn enforce_fixture(base: &SignedRepo) -> Enforce {
    let root = fixtures().join(format!("enforce-{}", base.n));
    let bare = root.join("repo.git");
    let gnupg = root.join("gnupg");
    let policy = root.join("policy.toml");
    let load = |v: &serde_json::Value| Enforce {
        bare: bare.clone(),
        gnupg: gnupg.clone(),
        policy: policy.clone(),
        push: v["push"].as_str().unwrap().into(),
        tip: v["tip"].as_str().unwrap().into(),
        tag_push: v["tag_push"].as_str().unwrap().into(),
        tag: v["tag"].as_str().unwrap().into(),
        base: v["base"].as_str().unwrap().into(),
        dev: (
            v["dev"][0].as_str().unwrap().into(),
            v["dev"][1].as_str().unwrap().into(),
            v["dev"][2].as_str().unwrap().into(),
        ),
    };
    if let Ok(text) = std::fs::read_to_string(root.join("done")) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            return load(&v);
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    new_gnupg_home(&gnupg);
    eprintln!(
        "making the typical-push repository ({} commits, {FILES} files; once; cached in {})",
        base.n,
        root.display()
    );
    let (text, made) = enforce_policy(&root, &gnupg);
    std::fs::write(&policy, text).unwrap();
    let pick = |g: &str| {
        made.iter()
            .find(|m| m.0 == g)
            .map(|m| (m.1.clone(), m.2.clone(), m.3.clone()))
            .unwrap()
    };
    let dev = pick("devs");
    let sre = pick("sre");
    run(Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(&base.dir)
        .arg(&bare));
    let history = run(git(&bare, &gnupg).args(["rev-parse", "main"]));
    // The repository's state: FILES manifests (about 1.3 KB each), in one signed commit.
    let work = root.join("work");
    let index = root.join("index");
    for i in 0..FILES {
        let dir = work.join(format!("apps/team{}", i % 50));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("app{i}.yaml")), manifest(i, "1.0.0", 5)).unwrap();
    }
    let as_dev = || {
        let mut c = git_as(&work, &gnupg, &dev.0, &dev.1);
        c.env("GIT_DIR", &bare)
            .env("GIT_INDEX_FILE", &index)
            .env("GIT_WORK_TREE", &work);
        c
    };
    let commit = |parent: &str, msg: &str| {
        run(as_dev().args(["add", "-A"]));
        let tree = run(as_dev().args(["write-tree"]));
        run(as_dev().args([
            "commit-tree",
            &format!("-S{}", dev.2),
            "-p",
            parent,
            "-m",
            msg,
            &tree,
        ]))
    };
    let base_commit = commit(&history, &format!("{FILES} manifests"));
    run(git(&bare, &gnupg).args(["update-ref", "refs/heads/main", &base_commit]));
    run(git(&bare, &gnupg).args(["repack", "-adq"]));
    run(git(&bare, &gnupg).args(["commit-graph", "write", "--reachable"]));
    // The push: 3 signed commits, each bumping the image of 2 manifests.
    let mut tip = base_commit.clone();
    for k in 0..3 {
        for i in [2 * k, 2 * k + 1] {
            let path = work.join(format!("apps/team{}/app{i}.yaml", i % 50));
            std::fs::write(path, manifest(i, &format!("1.0.{}", k + 1), 5)).unwrap();
        }
        tip = commit(&tip, &format!("bump app{} and app{}", 2 * k, 2 * k + 1));
    }
    // The first release tag, signed by an SRE, on main's tip; its ref is dropped again (the
    // push creates it).
    run(git_as(&bare, &gnupg, &sre.0, &sre.1).args([
        "tag",
        "-s",
        "-u",
        &sre.2,
        "-m",
        "release 1.0.0",
        "v1.0.0",
        &base_commit,
    ]));
    let tag = run(git(&bare, &gnupg).args(["rev-parse", "refs/tags/v1.0.0"]));
    run(git(&bare, &gnupg).args(["update-ref", "-d", "refs/tags/v1.0.0"]));
    let v = serde_json::json!({
        "push": format!("{base_commit} {tip} refs/heads/main\n"),
        "tip": tip,
        "tag_push": format!("{ZERO} {tag} refs/tags/v1.0.0\n"),
        "tag": tag,
        "base": base_commit,
        "dev": [dev.0, dev.1, dev.2],
    });
    std::fs::write(root.join("done"), v.to_string()).unwrap();
    load(&v)
}

/// `pushguard pre-receive` in the repository, as git runs it.
fn hook(bin: &Path, e: &Enforce) -> Command {
    let mut c = Command::new(bin);
    c.args(["pre-receive", "--policy"])
        .arg(&e.policy)
        .current_dir(&e.bare)
        .env("GIT_DIR", ".");
    c
}

/// Whether the hook accepts `stdin` (exit status 0).
fn hook_accepts(bin: &Path, e: &Enforce, stdin: &str) -> (bool, String) {
    let mut child = hook(bin, e)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn bench_typical(n: usize, rows: &mut Vec<Row>) {
    let e = enforce_fixture(&signed_repo(n, Algo::Ed25519));
    // Enforce mode is on: one unsigned commit on main is refused.
    let tree = run(git(&e.bare, &e.gnupg).args(["rev-parse", &format!("{}^{{tree}}", e.tip)]));
    let unsigned = run(git_as(&e.bare, &e.gnupg, &e.dev.0, &e.dev.1).args([
        "commit-tree",
        "-p",
        &e.base,
        "-m",
        "unsigned",
        &tree,
    ]));
    let refused = format!("{} {unsigned} refs/heads/main\n", e.base);
    let typical = format!(
        "typical push: 3 signed commits changing 6 manifests, on {} commits and {} files, `config/policy.example.toml` in enforce mode: `pushguard pre-receive`, process start to exit, vs one `git verify-commit`",
        thousands(n as f64 + 1.0),
        thousands(FILES as f64)
    );
    let release = "first release tag (`refs/tags/v1.0.0`, annotated, signed by an `sre` key) on that repository, same policy: `pushguard pre-receive` vs one `git verify-tag`".to_string();
    let runs = 21;
    let (git_commit_t, git_commit_rss) = measure(
        runs,
        || {
            let mut c = git(&e.bare, &e.gnupg);
            c.args(["verify-commit", &e.tip]);
            c
        },
        None,
    );
    let (git_tag_t, git_tag_rss) = measure(
        runs,
        || {
            let mut c = git(&e.bare, &e.gnupg);
            c.args(["verify-tag", &e.tag]);
            c
        },
        None,
    );
    let mut typical_rows = Vec::new();
    let mut release_rows = Vec::new();
    let mut cold_rows = Vec::new();
    let (mut first_push, mut first_tag, mut first_cold) = (None, None, None);
    let cold = format!(
        "the same push as the first after install: nothing kept in `$GIT_DIR/pushguard` yet (every tree of the {} files read once)",
        thousands(FILES as f64)
    );
    for (label, bin) in binaries() {
        // Sanity: both pushes accepted, the unsigned one refused, and the tag judges no commit.
        let (ok, err) = hook_accepts(&bin, &e, &e.push);
        assert!(ok, "{label}: typical push refused: {err}");
        let (ok, err) = hook_accepts(&bin, &e, &e.tag_push);
        assert!(ok, "{label}: release tag refused: {err}");
        let (ok, _) = hook_accepts(&bin, &e, &refused);
        assert!(
            !ok,
            "{label}: an unsigned commit was accepted: not in enforce mode"
        );
        let out = run(Command::new(&bin)
            .args(["check", "--policy"])
            .arg(&e.policy)
            .arg("--repo")
            .arg(&e.bare)
            .args(["--ref", "refs/tags/v1.0.0", "--format", "json", &e.tag]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["accepted"], true, "{out}");
        let walked = v["updates"][0]["commits"].as_array().map_or(0, |c| c.len());
        assert_eq!(walked, 0, "the release tag walked history: {out}");

        // What pushguard keeps between pushes (`$GIT_DIR/pushguard/cache`) is what the push
        // that made the base left there: the base's facts, not the tip's. Each run starts from
        // that state (and the first-push row from none at all).
        let store = e.bare.join("pushguard");
        let base_facts = fixtures().join(format!("facts-of-base-{}", label.replace(' ', "-")));
        let _ = std::fs::remove_dir_all(&store);
        let _ = std::fs::remove_dir_all(&base_facts);
        let parent = run(git(&e.bare, &e.gnupg).args(["rev-parse", &format!("{}^", e.base)]));
        hook_accepts(&bin, &e, &format!("{parent} {} refs/heads/main\n", e.base));
        copy_dir(&store, &base_facts);
        let facts_of_base = || {
            let _ = std::fs::remove_dir_all(&store);
            copy_dir(&base_facts, &store);
        };
        let (t_cold, rss_cold) = measure_after(
            runs.min(5),
            || {
                let _ = std::fs::remove_dir_all(&store);
            },
            || hook(&bin, &e),
            Some(e.push.as_bytes()),
        );
        let (t, rss) = measure_after(
            runs,
            facts_of_base,
            || hook(&bin, &e),
            Some(e.push.as_bytes()),
        );
        println!(
            "typical push: {label}: first push after install (nothing kept yet), whole hook {:.1} ms (max RSS {} MiB)",
            t_cold.as_secs_f64() * 1e3,
            rss_cold / 1024,
        );
        cold_rows.push(Row {
            case: case_cell(&cold, label),
            ours: dur(t_cold),
            peer: dur(git_commit_t),
            ratio: ratio_cell(label, t_cold, Some(git_commit_t), first_cold),
            rss: format!("{} (git + gpg: {})", mib(rss_cold), mib(git_commit_rss)),
        });
        first_cold.get_or_insert(t_cold);
        println!(
            "typical push: {label}: 3 signed commits on {} commits, example policy enforced, whole hook {:.1} ms (max RSS {} MiB) | one git verify-commit {:.1} ms | ratio {:.1}x",
            n + 1,
            t.as_secs_f64() * 1e3,
            rss / 1024,
            git_commit_t.as_secs_f64() * 1e3,
            git_commit_t.as_secs_f64() / t.as_secs_f64(),
        );
        typical_rows.push(Row {
            case: case_cell(&typical, label),
            ours: dur(t),
            peer: dur(git_commit_t),
            ratio: ratio_cell(label, t, Some(git_commit_t), first_push),
            rss: format!("{} (git + gpg: {})", mib(rss), mib(git_commit_rss)),
        });
        first_push.get_or_insert(t);

        let (t, rss) = measure_after(
            runs,
            facts_of_base,
            || hook(&bin, &e),
            Some(e.tag_push.as_bytes()),
        );
        println!(
            "release tag: {label}: v1.0.0 on {} commits, whole hook {:.1} ms (max RSS {} MiB), {walked} commits walked | one git verify-tag {:.1} ms | ratio {:.1}x",
            n + 1,
            t.as_secs_f64() * 1e3,
            rss / 1024,
            git_tag_t.as_secs_f64() * 1e3,
            git_tag_t.as_secs_f64() / t.as_secs_f64(),
        );
        release_rows.push(Row {
            case: case_cell(&release, label),
            ours: format!("{} ({walked} commits walked)", dur(t)),
            peer: dur(git_tag_t),
            ratio: ratio_cell(label, t, Some(git_tag_t), first_tag),
            rss: format!("{} (git + gpg: {})", mib(rss), mib(git_tag_rss)),
        });
        first_tag.get_or_insert(t);
    }
    rows.extend(typical_rows);
    rows.extend(cold_rows);
    rows.extend(release_rows);
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
    let largest = sizes.iter().copied().max().unwrap_or(10_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("pushguard {} on {cores} cores", env!("CARGO_PKG_VERSION"));
    let cases = std::env::var("PUSHGUARD_BENCH_CASES").unwrap_or_default();
    let want = |case: &str| cases.is_empty() || cases.split(',').any(|c| c.trim() == case);
    let mut rows = Vec::new();
    if want("typical") {
        bench_typical(largest, &mut rows);
    }
    if want("ed25519") {
        for &n in &sizes {
            bench_signatures(n, Algo::Ed25519, &mut rows);
        }
    }
    if want("rsa") {
        bench_signatures(largest, Algo::Rsa3072, &mut rows);
    }
    if want("manifests") {
        bench_manifests(false, &mut rows);
        bench_manifests(true, &mut rows);
    }
    if want("gitops") {
        bench_gitops(&mut rows);
    }
    println!();
    println!(
        "| case | pushguard | peer | ratio (peer time / pushguard time) | max RSS: pushguard (peer) |"
    );
    println!("|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.case.replace('|', "\\|"),
            r.ours,
            r.peer,
            r.ratio,
            r.rss
        );
    }
}
