//! Which commits are judged: baseline tests against `git rev-list` on a history with merges and
//! skewed committer dates, and the protected-ref cases from `docs/policy.md#which-commits`.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::*;

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Builds a history of `n` commits on several branches with merges, and committer dates that
/// jump backwards and forwards; pushes every branch. Returns all commit ids.
fn skewed_history(f: &Fixture, n: usize, seed: u64) -> Vec<String> {
    let mut rng = Lcg(seed);
    let mut ids = Vec::new();
    let branches = ["main", "b1", "b2", "b3"];
    f.git(&["commit", "-q", "--allow-empty", "-s", "-m", "root"]);
    for b in &branches[1..] {
        f.git(&["branch", b]);
    }
    let mut time: i64 = 1_700_000_000;
    for i in 0..n {
        let b = branches[rng.next(4) as usize];
        f.git(&["checkout", "-q", b]);
        // Dates skew: mostly forward, sometimes days backwards.
        time += if rng.next(5) == 0 {
            -(rng.next(5 * 86_400) as i64)
        } else {
            600
        };
        let date = format!("{time} +0000");
        let mut cmd = f.cmd("git", &f.work);
        cmd.env("GIT_COMMITTER_DATE", &date)
            .env("GIT_AUTHOR_DATE", &date);
        if rng.next(4) == 0 {
            let other = branches[rng.next(4) as usize];
            if other != b {
                cmd.args([
                    "merge",
                    "-q",
                    "--no-ff",
                    "-m",
                    &format!("merge {other} into {b} {i}"),
                    other,
                ]);
                let o = cmd.output().unwrap();
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                ids.push(f.git(&["rev-parse", "HEAD"]));
                continue;
            }
        }
        std::fs::write(f.work.join(format!("{b}.txt")), format!("{i}")).unwrap();
        f.git(&["add", "-A"]);
        cmd.args(["commit", "-q", "-s", "-m", &format!("c{i} on {b}")]);
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        ids.push(f.git(&["rev-parse", "HEAD"]));
    }
    let mut args = vec!["origin"];
    args.extend(branches);
    assert_accepted(&f.push(&args));
    ids
}

fn judged(f: &Fixture, ref_name: &str, range: &str) -> BTreeSet<String> {
    let r = f.pushguard(&[
        "check",
        "--policy",
        f.policy.to_str().unwrap(),
        "--repo",
        f.bare.to_str().unwrap(),
        "--ref",
        ref_name,
        "--format",
        "json",
        range,
    ]);
    // The JSON document, then (on stderr) what `check` says the walk hid.
    let v: serde_json::Value = serde_json::Deserializer::from_str(&r.out)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no JSON: {r:?}"))
        .unwrap_or_else(|e| panic!("{e}: {r:?}"));
    v["updates"][0]["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

fn rev_list(f: &Fixture, args: &[&str]) -> BTreeSet<String> {
    let mut a = vec!["rev-list", "--topo-order"];
    a.extend_from_slice(args);
    f.remote_git(&a)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The exact answer, computed from the whole DAG as git lists it: reachable from `new` and not
/// from `old`. (git's own `rev-list` is exact only with a commit-graph: without one, clock skew
/// makes it list extra commits too.)
fn truth(dag: &HashMap<String, Vec<String>>, new: &str, old: &str) -> BTreeSet<String> {
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.to_string()];
        while let Some(c) = stack.pop() {
            if seen.insert(c.clone()) {
                stack.extend(dag[&c].iter().cloned());
            }
        }
        seen
    };
    reach(new).difference(&reach(old)).cloned().collect()
}

fn dag(f: &Fixture) -> HashMap<String, Vec<String>> {
    f.remote_git(&["rev-list", "--parents", "--all"])
        .unwrap()
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(str::to_string);
            let c = it.next().unwrap();
            (c, it.collect())
        })
        .collect()
}

fn compare_updates(f: &Fixture, ids: &[String], with_graph: bool) -> (usize, usize) {
    let dag = dag(f);
    let mut rng = Lcg(7);
    let (mut pairs, mut extra_total) = (0, 0);
    for _ in 0..60 {
        let old = &ids[rng.next(ids.len() as u64) as usize];
        let new = &ids[rng.next(ids.len() as u64) as usize];
        let ours = judged(f, "refs/heads/x", &format!("{old}..{new}"));
        let exact = truth(&dag, new, old);
        assert!(
            ours.is_superset(&exact),
            "missing commits for {old}..{new} (commit-graph: {with_graph}): {:?}",
            exact.difference(&ours).collect::<Vec<_>>()
        );
        if with_graph {
            assert_eq!(ours, exact, "{old}..{new} with a commit-graph");
            // …and git agrees, given the same commit-graph.
            assert_eq!(
                ours,
                rev_list(f, &[new, &format!("^{old}")]),
                "{old}..{new} vs git"
            );
        }
        extra_total += ours.difference(&exact).count();
        pairs += 1;
    }
    (pairs, extra_total)
}

#[test]
fn new_commits_match_git_rev_list_on_a_skewed_history() {
    let f = Fixture::new("version = 1\n");
    let ids = skewed_history(&f, 120, 42);
    // Without a commit-graph a date-ordered walk may judge a few extra commits: never fewer.
    let (pairs, extra) = compare_updates(&f, &ids, false);
    assert_eq!(pairs, 60);
    eprintln!("without commit-graph: {extra} extra commits over {pairs} ranges");
    // With a commit-graph the walk is exact.
    f.remote_git(&["commit-graph", "write", "--reachable"])
        .unwrap();
    compare_updates(&f, &ids, true);
}

#[test]
fn creating_a_ref_hides_commits_on_refs_at_least_as_protected() {
    // prod has a path block no other branch has; every branch shares the [[ref]] blocks.
    let policy = "version = 1\n[[ref]]\nmatch = \"refs/heads/prod\"\nforce_push = false\n[[ref]]\nmatch = \"refs/heads/*\"\ndelete = false\n[[path]]\nmatch = \"secrets/**\"\nrefs = \"refs/heads/prod\"\nforbid = true\n";
    let f = Fixture::new(policy);
    let ids = skewed_history(&f, 30, 9);
    let tip = ids.last().unwrap();
    let zero = "0".repeat(40);
    // A branch without prod's path block: every branch's commits were judged by at least its
    // requirements.
    let ours = judged(&f, "refs/heads/new", &format!("{zero}..{tip}"));
    assert!(
        ours.is_empty(),
        "every commit is already on a branch as protected: {ours:?}"
    );
    // Creating prod: no existing ref is as protected, so the whole history is judged.
    let ours = judged(&f, "refs/heads/prod", &format!("{zero}..{tip}"));
    assert_eq!(ours, rev_list(&f, &[tip]));
}

#[test]
fn a_commit_accepted_on_a_weaker_branch_is_judged_again_on_a_protected_one() {
    // The outsider's commit lands on a topic branch while identities are only audited for it…
    let f = Fixture::new(
        "version = 1\n[identities]\nallow = [\"*@example.com\"]\nseverity = \"warn\"\n[[ref]]\nmatch = \"refs/heads/main\"\nforce_push = false\n",
    );
    f.commit("a.txt", "1", "base");
    assert_accepted(&f.push(&["origin", "main"]));
    f.git(&["checkout", "-q", "-b", "topic"]);
    let bad = f.commit_as("eve@elsewhere.test", "b.txt", "1", "outsider");
    assert_accepted(&f.push(&["origin", "topic"]));
    // …then the policy is enforced: fast-forwarding main to it, or creating a protected
    // release branch at it, judges the commit again.
    f.set_policy(
        "version = 1\n[identities]\nallow = [\"*@example.com\"]\n[[ref]]\nmatch = [\"refs/heads/main\", \"refs/heads/release/*\"]\nforce_push = false\n[[path]]\nmatch = \"secrets/**\"\nrefs = [\"refs/heads/main\", \"refs/heads/release/*\"]\nforbid = true\n",
    );
    let r = f.push(&["origin", "topic:main"]);
    assert_rejected(&r);
    assert!(r.out.contains(&format!("commit: {}", &bad[..10])), "{r:?}");
    let r = f.push(&["origin", "topic:release/1"]);
    assert_rejected(&r);
    assert!(
        r.out
            .contains("error[identities.allow] refs/heads/release/1"),
        "{r:?}"
    );
    // Creating another unprotected branch at the same commit judges nothing new.
    let r = f.push(&["origin", "topic:topic2"]);
    assert_accepted(&r);
    assert!(r.out.contains("0 new commits checked"), "{r:?}");
}
