//! Budgets (`[limits]`) through the real hook: a push too large in commits, objects, bytes read
//! or wall time is refused quickly, with `push.limits` naming the budget and its key, and an
//! audit record; never accepted. Each refusal has a control that lands (the budget raised, or
//! a push under it), so a hook that refuses everything fails these tests.
//!
//! The hook runs under `/usr/bin/time` (when it exists) so the tests can assert the hook's own
//! peak memory and time, not git's.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

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

fn fixture(policy: &str) -> Fixture {
    let f = Fixture::new(policy);
    f.commit("README", "base\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    f
}

/// What `/usr/bin/time` measured for the last hook run: peak RSS in KiB and wall seconds.
struct Measured {
    max_rss_kib: u64,
    seconds: f64,
}

/// Wraps the installed hook in `/usr/bin/time`, writing to `out`. False when there is no
/// `/usr/bin/time` (the tests then assert on the push's own wall time only).
fn measure_hook(f: &Fixture, out: &Path) -> bool {
    if !Path::new("/usr/bin/time").exists() {
        return false;
    }
    let hook = f.bare.join("hooks/pre-receive");
    let shim = std::fs::read_to_string(&hook).unwrap();
    let timed = shim.replacen(
        "exec ",
        &format!("exec /usr/bin/time -f '%M %e' -o '{}' ", out.display()),
        1,
    );
    assert_ne!(shim, timed, "the shim has an exec line: {shim}");
    std::fs::write(&hook, timed).unwrap();
    true
}

fn measured(out: &Path) -> Option<Measured> {
    let text = std::fs::read_to_string(out).ok()?;
    // `time` prints "Command exited with non-zero status N" first when the hook refused.
    let last = text.lines().last()?;
    let mut parts = last.split_whitespace();
    let max_rss_kib = parts.next()?.parse().ok()?;
    let seconds = parts.next()?.parse().ok()?;
    Some(Measured {
        max_rss_kib,
        seconds,
    })
}

/// Writes `n` commits on top of `main` to `refs/heads/<branch>` of the work clone with
/// `git fast-import` (seconds for 100,000): each commit has the tree of `main`, so the pack
/// holds commit objects only.
fn fast_import_commits(f: &Fixture, branch: &str, n: usize) {
    let mut stream = String::with_capacity(n * 120);
    for i in 0..n {
        let msg =
            format!("commit {i} on {branch}\n\nSigned-off-by: Dana Example <dana@example.com>\n");
        stream.push_str(&format!(
            "commit refs/heads/{branch}\ncommitter Dana Example <dana@example.com> {} +0000\ndata {}\n{msg}",
            1_700_000_000 + i,
            msg.len()
        ));
        if i == 0 {
            stream.push_str("from refs/heads/main^0\n");
        }
        stream.push('\n');
    }
    let mut cmd = f.cmd("git", &f.work);
    cmd.args(["fast-import", "--quiet"]);
    let r = run_with_stdin(&mut cmd, stream.as_bytes());
    assert!(r.ok, "fast-import: {r:?}");
}

fn last_audit(f: &Fixture) -> serde_json::Value {
    f.audit_lines().pop().expect("an audit record")
}

fn assert_budget_refusal(r: &Run, key: &str) {
    assert_rejected(r);
    let flat = r.flat();
    assert!(flat.contains("push.limits"), "{r:?}");
    assert!(
        flat.contains(&format!("budget `{key}` exceeded")),
        "names the budget {key}: {r:?}"
    );
    assert!(
        flat.contains(&format!("`[limits] {key}`")),
        "names the key to raise: {r:?}"
    );
}

fn assert_budget_audit(f: &Fixture, key: &str) {
    let rec = last_audit(f);
    assert_eq!(rec["decision"], "reject", "{rec}");
    let v = &rec["violations"][0];
    assert_eq!(v["rule"], "push.limits", "{rec}");
    assert!(
        v["what"].as_str().unwrap().contains(key),
        "the record names {key}: {rec}"
    );
}

/// Object directories git left in the bare repository's `objects/` (a quarantine that was not
/// removed), and pushguard's own temporary directories in `tmp`.
fn leftovers(bare: &Path, tmp: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(bare.join("objects")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("tmp_objdir") || name.starts_with("incoming") {
            out.push(e.path());
        }
    }
    if let Ok(dir) = std::fs::read_dir(tmp) {
        for e in dir.flatten() {
            if e.file_name().to_string_lossy().starts_with("pushguard") {
                out.push(e.path());
            }
        }
    }
    out
}

/// 100,000 new commits against the default `max_commits` (50,000): refused within seconds and
/// with bounded memory (the walk stops at the budget; nothing past it is read). The same push
/// lands once the budget is raised: it is the budget that refused it.
#[test]
fn a_hundred_thousand_commit_push_is_refused_by_max_commits() {
    let f = fixture(POLICY);
    fast_import_commits(&f, "big", 100_000);
    let timing = f.dir.path().join("time.txt");
    let timed = measure_hook(&f, &timing);

    let t = Instant::now();
    let r = f.push(&["origin", "big"]);
    let push_time = t.elapsed();
    assert_budget_refusal(&r, "max_commits");
    assert!(
        r.flat()
            .contains("the push brings more than 50000 new commits"),
        "{r:?}"
    );
    assert_eq!(f.remote_ref("refs/heads/big"), None);
    assert_budget_audit(&f, "max_commits");
    assert!(push_time < Duration::from_secs(60), "{push_time:?}");
    if timed {
        let m = measured(&timing).expect("the hook was timed");
        eprintln!(
            "100,000-commit push refused by max_commits: hook {:.2} s, peak RSS {} MiB (whole push {:.2} s)",
            m.seconds,
            m.max_rss_kib / 1024,
            push_time.as_secs_f64()
        );
        assert!(m.seconds < 20.0, "the hook took {} s", m.seconds);
        assert!(
            m.max_rss_kib < 256 * 1024,
            "the hook's peak RSS was {} KiB",
            m.max_rss_kib
        );
    }

    // Control: the budget raised, the same push lands.
    f.set_policy(&format!("{POLICY}[limits]\nmax_commits = 150000\n"));
    let t = Instant::now();
    let r = f.push(&["origin", "big"]);
    assert_accepted(&r);
    assert!(f.remote_ref("refs/heads/big").is_some());
    if timed {
        let m = measured(&timing).expect("the hook was timed");
        eprintln!(
            "100,000-commit push under a raised budget: hook {:.2} s, peak RSS {} MiB (whole push {:.2} s)",
            m.seconds,
            m.max_rss_kib / 1024,
            t.elapsed().as_secs_f64()
        );
    }
    assert_eq!(last_audit(&f)["decision"], "accept");
}

/// The budget is per push: two refs of 30 new commits each, against `max_commits = 40`, are
/// refused together though each alone fits; the same commits on both refs count once.
#[test]
fn max_commits_counts_the_whole_push() {
    let f = fixture(&format!("{POLICY}[limits]\nmax_commits = 40\n"));
    fast_import_commits(&f, "a", 30);
    fast_import_commits(&f, "b", 30);
    let r = f.push(&["origin", "a", "b"]);
    assert_budget_refusal(&r, "max_commits");
    assert_eq!(f.remote_ref("refs/heads/a"), None);
    // The same 30 commits under two new names count once; then the other ref alone fits.
    assert_accepted(&f.push(&["origin", "a:refs/heads/a1", "a:refs/heads/a2"]));
    assert_accepted(&f.push(&["origin", "b"]));
}

/// A 50 MB manifest: refused from its object header, never inflated (time and peak memory say
/// so) — by `max_manifest_bytes` (a `manifest-limits` finding at its path) with the defaults,
/// and by `max_object_bytes` (`push.limits`) when that is the smaller budget.
#[test]
fn a_fifty_megabyte_manifest_is_refused_without_inflating_it() {
    let f = fixture(POLICY);
    let timing = f.dir.path().join("time.txt");
    let timed = measure_hook(&f, &timing);
    let line = "key: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n";
    let big = line.repeat(50_000_000 / line.len() + 1);
    assert!(big.len() > 50_000_000);
    f.commit("apps/huge.yaml", &big, "a 50 MB manifest");

    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    let flat = r.flat();
    assert!(flat.contains("manifest-limits"), "{r:?}");
    assert!(
        flat.contains(&format!("apps/huge.yaml is {} bytes", big.len())),
        "{r:?}"
    );
    assert!(flat.contains("max_manifest_bytes"), "{r:?}");
    let baseline = if timed {
        let m = measured(&timing).expect("timed");
        eprintln!(
            "50 MB manifest refused by max_manifest_bytes: hook {:.2} s, peak RSS {} MiB",
            m.seconds,
            m.max_rss_kib / 1024
        );
        // Inflating it would take 50 MB at least (twice that with a copy).
        assert!(m.max_rss_kib < 40 * 1024, "peak RSS {} KiB", m.max_rss_kib);
        assert!(m.seconds < 5.0, "{} s", m.seconds);
        Some(m)
    } else {
        None
    };

    // The manifest budget raised past it, the object budget is what stops it.
    f.set_policy(&format!(
        "{POLICY}[limits]\nmax_manifest_bytes = 100000000\nmax_object_bytes = 10000000\n"
    ));
    let r = f.push(&["origin", "main"]);
    assert_budget_refusal(&r, "max_object_bytes");
    assert!(
        r.flat()
            .contains(&format!("is {} bytes (the limit is 10000000)", big.len())),
        "{r:?}"
    );
    assert_budget_audit(&f, "max_object_bytes");
    if let (true, Some(base)) = (timed, baseline) {
        let m = measured(&timing).expect("timed");
        eprintln!(
            "50 MB manifest refused by max_object_bytes: hook {:.2} s, peak RSS {} MiB",
            m.seconds,
            m.max_rss_kib / 1024
        );
        assert!(m.max_rss_kib < 40 * 1024, "peak RSS {} KiB", m.max_rss_kib);
        assert!(m.seconds < 5.0 && base.seconds < 5.0);
    }
    assert_eq!(f.remote_ref("refs/heads/main"), f.remote_ref("HEAD"));

    // Control: a manifest of ordinary size lands.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit("apps/small.yaml", "kind: ConfigMap\n", "small");
    assert_accepted(&f.push(&["origin", "main"]));
}

/// `max_read_bytes` bounds everything read for one push, however it is split into objects.
#[test]
fn max_read_bytes_bounds_all_objects_together() {
    let f = fixture(&format!("{POLICY}[limits]\nmax_read_bytes = 100000\n"));
    for i in 0..8 {
        let body = format!(
            "kind: ConfigMap\ndata:\n  k{i}: \"{}\"\n",
            "x".repeat(20_000)
        );
        f.commit(&format!("apps/cm{i}.yaml"), &body, &format!("cm {i}"));
    }
    let r = f.push(&["origin", "main"]);
    assert_budget_refusal(&r, "max_read_bytes");
    assert_budget_audit(&f, "max_read_bytes");
    f.set_policy(&format!("{POLICY}[limits]\nmax_read_bytes = 10000000\n"));
    assert_accepted(&f.push(&["origin", "main"]));
}

/// YAML budgets come from the policy: a file with more aliases than `max_yaml_aliases`, or more
/// nodes than `max_yaml_nodes`, is a `manifest-limits` finding naming the keys.
#[test]
fn yaml_node_and_alias_budgets_come_from_the_policy() {
    let f = fixture(&format!(
        "{POLICY}[limits]\nmax_yaml_aliases = 5\nmax_yaml_nodes = 200\n"
    ));
    let mut aliased = String::from("kind: ConfigMap\nbase: &b x\ndata:\n");
    for i in 0..6 {
        aliased.push_str(&format!("  k{i}: *b\n"));
    }
    f.commit("apps/aliases.yaml", &aliased, "aliases");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    let flat = r.flat();
    assert!(flat.contains("manifest-limits"), "{r:?}");
    assert!(flat.contains("more than 5 aliases"), "{r:?}");
    assert!(flat.contains("max_yaml_aliases"), "{r:?}");

    f.git(&["reset", "-q", "--hard", "origin/main"]);
    let mut many = String::from("kind: ConfigMap\ndata:\n");
    for i in 0..300 {
        many.push_str(&format!("  k{i}: v\n"));
    }
    f.commit("apps/nodes.yaml", &many, "nodes");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.flat().contains("manifest-limits"), "{r:?}");
    assert!(r.flat().contains("200 nodes"), "{r:?}");

    // Control: the defaults let both through.
    f.set_policy(POLICY);
    f.commit("apps/aliases.yaml", &aliased, "aliases");
    assert_accepted(&f.push(&["origin", "main"]));
}

/// `timeout_seconds = 1` on a push made slow (100,000 commits with the commit budget raised):
/// the watchdog rejects it, writes the audit record, and leaves no temporary directory of
/// pushguard's and no quarantine behind.
#[test]
fn a_push_past_timeout_seconds_is_rejected_and_recorded() {
    let f = fixture(&format!(
        "{POLICY}[limits]\nmax_commits = 1000000\ntimeout_seconds = 1\n"
    ));
    fast_import_commits(&f, "slow", 100_000);
    let tmp = f.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let before = f.audit_lines().len();
    let t = Instant::now();
    let r = f.push_as(&[("TMPDIR", tmp.to_str().unwrap())], &["origin", "slow"]);
    let took = t.elapsed();
    assert_budget_refusal(&r, "timeout_seconds");
    assert!(r.flat().contains("no decision within 1 s"), "{r:?}");
    assert_eq!(f.remote_ref("refs/heads/slow"), None);
    let lines = f.audit_lines();
    assert_eq!(lines.len(), before + 1, "one record for the push");
    assert_budget_audit(&f, "timeout_seconds");
    let rec = last_audit(&f);
    assert_eq!(rec["updates"][0]["ref"], "refs/heads/slow", "{rec}");
    let ms = rec["duration_ms"].as_u64().unwrap();
    assert!(
        (1000..10_000).contains(&ms),
        "recorded at the deadline: {ms} ms"
    );
    assert!(took < Duration::from_secs(60), "{took:?}");
    assert_eq!(leftovers(&f.bare, &tmp), Vec::<PathBuf>::new());
    eprintln!(
        "timeout_seconds = 1: rejected after {ms} ms of hook time (whole push {:.2} s)",
        took.as_secs_f64()
    );
}

/// Bad `[limits]` values are policy errors naming file:line:column and the key.
#[test]
fn bad_limits_are_policy_errors_with_file_line_and_key() {
    let f = fixture(POLICY);
    let bad = format!(
        "{POLICY}[limits]\nmax_commits = 0\ntimeout_seconds = -5\nmax_object_bytes = 99999999999999\n"
    );
    f.set_policy(&bad);
    let path = f.policy.to_str().unwrap().to_string();
    let r = f.pushguard(&["policy", "check", &path]);
    assert!(!r.ok, "{r:?}");
    let line_of = |key: &str| bad.lines().position(|l| l.starts_with(key)).unwrap() + 1;
    for (key, value) in [
        ("max_commits", "0"),
        ("timeout_seconds", "-5"),
        ("max_object_bytes", "99999999999999"),
    ] {
        let want = format!(
            "{path}:{}:{}: key `limits.{key}`: {value} is not a budget",
            line_of(key),
            key.len() + 4
        );
        assert!(r.out.contains(&want), "expected {want:?} in {r:?}");
    }
    // A wrong type and an unknown key are refused the same way.
    let typo = format!("{POLICY}[limits]\nmax_commits = \"many\"\nmax_comits = 5\n");
    f.set_policy(&typo);
    let r = f.pushguard(&["policy", "check", &path]);
    assert!(!r.ok, "{r:?}");
    let at = bad.lines().position(|l| l == "[limits]").unwrap() + 2;
    assert!(
        r.out.contains(&format!("{path}:{at}:")) && r.out.contains("limits.max_commits"),
        "{r:?}"
    );
    assert!(r.out.contains("max_comits"), "{r:?}");
    // The hook refuses rather than run without its budgets.
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    assert_rejected(&f.push(&["origin", "main"]));
    f.set_policy(&format!("{POLICY}[limits]\nmax_commits = 10\n"));
    let r = f.pushguard(&["policy", "check", &path]);
    assert!(r.ok, "{r:?}");
    assert!(r.out.contains("limits: 10 new commits a push"), "{r:?}");
    assert_accepted(&f.push(&["origin", "main"]));
}
