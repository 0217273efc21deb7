//! One function per command of the binary. Each returns the process exit status; `main` only
//! parses arguments and calls them.
//!
//! Exit status (documented in the README): 0 accepted / valid, 1 rejected by the policy,
//! 2 error (bad usage, unreadable policy or repository: for the hook, a rejection too).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::Context;

use crate::engine;
use crate::facts::PushFacts;
use crate::hook::host::HostEnv;
use crate::hook::watchdog::Watchdog;
use crate::hook::{self, Oid, RefUpdate};
use crate::policy::eval::{self, Decision};
use crate::policy::{Policy, DEFAULT_POLICY_PATH};
use crate::repo::quarantine::ObjectDirs;
use crate::repo::Repo;
use crate::report::{self, audit};

pub const ACCEPTED: i32 = 0;
pub const REJECTED: i32 = 1;
pub const ERROR: i32 = 2;

/// `--policy`, else `$PUSHGUARD_POLICY`, else the default path.
pub fn policy_path(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("PUSHGUARD_POLICY").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_POLICY_PATH))
}

/// `pushguard pre-receive`: the hook. Reads the updates on stdin, decides, prints the verdict
/// for the pusher, writes the audit record, and returns the exit status git acts on.
///
/// A decision that takes longer than `[limits] timeout_seconds` (the default until the policy
/// is read) is a rejection written by the [watchdog](hook::watchdog), with its audit record.
pub fn pre_receive(policy_flag: Option<PathBuf>) -> i32 {
    let start = Instant::now();
    let policy_file = policy_path(policy_flag);
    let early_host = HostEnv::from_env(None);
    let prefix = early_host.line_prefix();

    let watchdog = Watchdog::start(
        start,
        crate::limits::DEFAULT.timeout,
        Box::new(move |allowed| {
            eprint!(
                "{}",
                report::failure(
                    &format!(
                        "no decision within {} s (the policy could not be read in that time)",
                        allowed.as_secs()
                    ),
                    prefix
                )
            );
            ERROR
        }),
    );

    let mut stdin = Vec::new();
    let read = std::io::stdin().read_to_end(&mut stdin);

    let policy = Policy::load(&policy_file);
    if let Ok(policy) = &policy {
        let host = HostEnv::from_env(policy.pusher_variable.as_deref());
        let repository = repository_name(&host);
        watchdog.set_allowed(policy.limits.timeout);
        let (p, h, r, input) = (
            policy.clone(),
            host.clone(),
            repository.clone(),
            stdin.clone(),
        );
        watchdog.on_timeout(Box::new(move |allowed| {
            let exceeded = crate::limits::Exceeded {
                budget: crate::limits::Budget::Timeout,
                limit: allowed.as_secs(),
                what: format!("no decision within {} s", allowed.as_secs()),
            };
            let updates = hook::parse_updates(&input).unwrap_or_default();
            budget_verdict(&p, &h, r, &updates, None, &exceeded, start, prefix)
        }));
        if let Err(why) = policy.applies_to_repo(&repository) {
            watchdog.claim();
            return not_applicable(policy, &host, &repository, &why, &stdin, start, prefix);
        }
    }
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(
        || -> anyhow::Result<(Decision, PushFacts)> {
            read.context("reading the ref updates from stdin")?;
            let policy = policy.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            let host = HostEnv::from_env(policy.pusher_variable.as_deref());
            let updates = hook::parse_updates(&stdin)?;
            let objects = ObjectDirs::from_env()?;
            let git_dir = std::env::var_os("GIT_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."));
            let mut repo = Repo::open(&git_dir, objects.as_ref())?;
            if let Some(dir) = repo.temp_dir() {
                watchdog.remove_on_timeout(dir.to_path_buf());
            }
            repo.allow_control_chars(policy.files.allow_control_chars);
            repo.set_limits(&policy.limits);
            let ctx = engine::Context {
                now: SystemTime::now(),
                push_cert: std::env::var("GIT_PUSH_CERT")
                    .ok()
                    .and_then(|s| Oid::parse(&s)),
                push_cert_nonce_status: std::env::var("GIT_PUSH_CERT_NONCE_STATUS").ok(),
                exits_after: true,
            };
            let mut facts = match engine::gather(&repo, policy, &updates, host.clone(), &ctx) {
                Ok(facts) => facts,
                Err(e) => match e.budget() {
                    // A budget is a verdict, not a failure to decide: nothing more is read.
                    Some((ref_name, exceeded)) => {
                        let decision = eval::over_budget(policy, ref_name, &exceeded);
                        return Ok((decision, unjudged(host)));
                    }
                    None => return Err(e.into()),
                },
            };
            // A certificate is used once (checked and remembered in one locked step).
            if let (Some(log), Some(cert), Some(facts_cert)) = (
                &policy.signatures.push_cert_log,
                &ctx.push_cert,
                facts.push_cert.as_mut(),
            ) {
                facts_cert.replayed = hook::replay::consume(log, cert.as_str())?;
            }
            let decision = eval::evaluate(policy, &facts);
            Ok((decision, facts))
        },
    ));
    let outcome = match outcome {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(anyhow::anyhow!(
                "internal error (a bug in pushguard): {what}"
            ))
        }
    };
    // From here on the verdict is this thread's (or, past the deadline, the watchdog's).
    watchdog.claim();

    let (status, message) = match &outcome {
        Ok((decision, facts)) => (
            if decision.accepted {
                ACCEPTED
            } else {
                REJECTED
            },
            report::human(decision, facts, &policy_file.display().to_string(), prefix),
        ),
        Err(e) => (ERROR, report::failure(&format!("{e:#}"), prefix)),
    };

    if let Ok(policy) = &policy {
        if let Some(log) = &policy.audit_log {
            let host = match &outcome {
                Ok((_, f)) => f.host.clone(),
                Err(_) => early_host.clone(),
            };
            let repository = repository_name(&host);
            let error_text = outcome.as_ref().err().map(|e| format!("{e:#}"));
            let parsed = hook::parse_updates(&stdin).unwrap_or_default();
            let (decision_word, violations, updates) = match &outcome {
                Ok((d, f)) => (
                    if !d.accepted {
                        "reject"
                    } else if d.violations.is_empty() {
                        "accept"
                    } else {
                        "accept-with-violations"
                    },
                    d.violations.as_slice(),
                    // A push stopped by a budget was not gathered: its updates as git sent them.
                    if f.updates.is_empty() {
                        unjudged_updates(&parsed)
                    } else {
                        report::json_updates(f)
                    },
                ),
                Err(_) => ("error", &[][..], Vec::new()),
            };
            let record = audit::Record {
                time: audit::rfc3339(SystemTime::now()),
                repository,
                host: &host,
                updates,
                decision: decision_word,
                violations,
                error: error_text.as_deref(),
                policy: policy.path.display().to_string(),
                policy_digest: Some(&policy.digest),
                pushguard_version: env!("CARGO_PKG_VERSION"),
                duration_ms: start.elapsed().as_millis(),
            };
            if let Err(e) = audit::append(log, &record) {
                eprint!("{message}");
                eprint!("{}", report::failure(&e.to_string(), prefix));
                return ERROR;
            }
        }
    }
    eprint!("{message}");
    status
}

/// The facts of a push that was not gathered (a budget stopped it): no update, no commit.
fn unjudged(host: HostEnv) -> PushFacts {
    PushFacts {
        updates: Vec::new(),
        commits: std::collections::HashMap::new(),
        host,
        push_cert: None,
    }
}

/// The updates as git sent them, for the audit record of a push that was not judged.
fn unjudged_updates(updates: &[RefUpdate]) -> Vec<report::JsonUpdate<'_>> {
    updates
        .iter()
        .map(|u| report::JsonUpdate {
            name: &u.name,
            old: u.old.as_str(),
            new: u.new.as_str(),
            kind: None,
            commits: Vec::new(),
        })
        .collect()
}

/// A budget's rejection, printed and recorded (the watchdog's timeout): returns the status.
#[allow(clippy::too_many_arguments)]
fn budget_verdict(
    policy: &Policy,
    host: &HostEnv,
    repository: String,
    updates: &[RefUpdate],
    ref_name: Option<&str>,
    exceeded: &crate::limits::Exceeded,
    start: Instant,
    prefix: &str,
) -> i32 {
    let decision = eval::over_budget(policy, ref_name, exceeded);
    let facts = unjudged(host.clone());
    let message = report::human(
        &decision,
        &facts,
        &policy.path.display().to_string(),
        prefix,
    );
    if let Some(log) = &policy.audit_log {
        let record = audit::Record {
            time: audit::rfc3339(SystemTime::now()),
            repository,
            host,
            updates: unjudged_updates(updates),
            decision: "reject",
            violations: &decision.violations,
            error: None,
            policy: policy.path.display().to_string(),
            policy_digest: Some(&policy.digest),
            pushguard_version: env!("CARGO_PKG_VERSION"),
            duration_ms: start.elapsed().as_millis(),
        };
        if let Err(e) = audit::append(log, &record) {
            eprint!("{message}");
            eprint!("{}", report::failure(&e.to_string(), prefix));
            return ERROR;
        }
    }
    eprint!("{message}");
    REJECTED
}

/// The repository as the host names it, else the repository's path (`GIT_DIR`, canonical).
fn repository_name(host: &HostEnv) -> String {
    host.repository.clone().unwrap_or_else(|| {
        std::fs::canonicalize(std::env::var_os("GIT_DIR").unwrap_or_else(|| ".".into()))
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    })
}

/// The policy does not apply to this repository (`repos`, `exclude_repos`, or the built-in
/// exclusions): accept, say so in one line, and record it.
fn not_applicable(
    policy: &Policy,
    host: &HostEnv,
    repository: &str,
    why: &str,
    stdin: &[u8],
    start: Instant,
    prefix: &str,
) -> i32 {
    let line = format!(
        "{prefix}pushguard: policy {} does not apply to repository {repository}: {why}; push accepted\n",
        policy.path.display()
    );
    if let Some(log) = &policy.audit_log {
        let updates = hook::parse_updates(stdin).unwrap_or_default();
        let record = audit::Record {
            time: audit::rfc3339(SystemTime::now()),
            repository: repository.to_string(),
            host,
            updates: updates
                .iter()
                .map(|u| report::JsonUpdate {
                    name: &u.name,
                    old: u.old.as_str(),
                    new: u.new.as_str(),
                    kind: None,
                    commits: Vec::new(),
                })
                .collect(),
            decision: "not-applicable",
            violations: &[],
            error: None,
            policy: policy.path.display().to_string(),
            policy_digest: Some(&policy.digest),
            pushguard_version: env!("CARGO_PKG_VERSION"),
            duration_ms: start.elapsed().as_millis(),
        };
        if let Err(e) = audit::append(log, &record) {
            eprint!("{line}");
            eprint!("{}", report::failure(&e.to_string(), prefix));
            return ERROR;
        }
    }
    eprint!("{line}");
    ACCEPTED
}

/// Output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

/// `pushguard check`: the hook's decision on an existing range, as if `ref_name` moved from
/// `old` to `new` (CI, dry runs, and the tests' window into which commits are judged).
pub fn check(
    policy_flag: Option<PathBuf>,
    repo_dir: &Path,
    ref_name: &str,
    range: &str,
    format: Format,
) -> anyhow::Result<i32> {
    let policy_file = policy_path(policy_flag);
    let policy = Policy::load(&policy_file)?;
    let mut repo = Repo::open(repo_dir, None)?;
    repo.allow_control_chars(policy.files.allow_control_chars);
    repo.set_limits(&policy.limits);
    if range.contains("...") {
        anyhow::bail!(
            "{range:?}: OLD...NEW (three dots) is not supported; write OLD..NEW (two dots): the commits of NEW that OLD does not have"
        );
    }
    let (old, new, single) = match range.split_once("..") {
        Some((o, n)) => (o, n, false),
        None => ("", range, true),
    };
    let resolve = |s: &str| -> anyhow::Result<Oid> {
        if s.is_empty() || s.bytes().all(|b| b == b'0') {
            Ok(Oid::zero(repo.hex_len()))
        } else {
            Ok(repo.resolve(s)?)
        }
    };
    let update = RefUpdate {
        old: resolve(old)?,
        new: resolve(new)?,
        name: ref_name.to_string(),
    };
    let host = HostEnv::from_env(policy.pusher_variable.as_deref());
    let gathered = engine::gather(
        &repo,
        &policy,
        &[update],
        host.clone(),
        &engine::Context {
            exits_after: true,
            ..engine::Context::now()
        },
    );
    let (facts, decision) = match gathered {
        Ok(facts) => {
            let decision = eval::evaluate(&policy, &facts);
            (facts, decision)
        }
        Err(e) => match e.budget() {
            Some((ref_name, exceeded)) => (
                unjudged(host),
                eval::over_budget(&policy, ref_name, &exceeded),
            ),
            None => return Err(e.into()),
        },
    };
    let mut notes = Vec::new();
    if single {
        notes.push(format!(
            "one revision given: judging {new} as if {ref_name} were created there (OLD..NEW judges a range)"
        ));
    }
    let mut hidden = 0;
    if let Some(u) = facts.updates.first() {
        let (scope, h) = judged_scope(&repo, &policy, u, facts.host.internal)?;
        notes.extend(scope);
        hidden = h;
    }
    match format {
        // Beside the report, which is what a person reads.
        Format::Human => notes.iter().for_each(|n| println!("pushguard: {n}")),
        // The report on stdout stays one document (CI redirects it into a file); the log
        // says what it is about when that is not the whole range.
        Format::Json | Format::Sarif if single || hidden > 0 => {
            notes.iter().for_each(|n| eprintln!("pushguard: {n}"))
        }
        Format::Json | Format::Sarif => {}
    }
    match format {
        Format::Human => print!(
            "{}",
            report::human_check(&decision, &facts, &policy_file.display().to_string())
        ),
        Format::Json => println!("{}", report::json(&decision, &facts)),
        Format::Sarif => println!("{}", report::sarif(&decision)),
    }
    Ok(if decision.accepted {
        ACCEPTED
    } else {
        REJECTED
    })
}

/// How many refs `judged_scope` tries, one by one, to say which hid the commits not judged.
const MAX_HIDING_REFS_TRIED: usize = 16;

/// What `check` judged and what it took as already judged, in words (and how many commits
/// were hidden), so that a verdict on no commit never reads as a verdict on the range:
/// "judged 0 of the 230 commits of the history of 3f2a1b0 for refs/heads/main; 230 taken as
/// already judged, being on refs/remotes/origin/main (230)". Mirrors the engine's
/// rule (`engine::walk`): a created ref hides the commits of every other ref whose rules cover
/// its own (`UpdatePlan::covered_by`), and every update hides its `trusted_base` commits.
fn judged_scope(
    repo: &Repo,
    policy: &Policy,
    u: &crate::facts::UpdateFacts,
    internal: bool,
) -> anyhow::Result<(Vec<String>, usize)> {
    let Some(tip) = &u.tip else {
        return Ok((Vec::new(), 0));
    };
    let update = &u.update;
    let base: Vec<Oid> = if update.is_create() {
        Vec::new()
    } else {
        match repo.target(&update.old)? {
            (_, Some(old)) => vec![old],
            (_, None) => Vec::new(),
        }
    };
    let what = if update.is_create() {
        format!("the history of {}", tip.short())
    } else {
        format!("{}..{}", update.old.short(), tip.short())
    };
    let judged = u.new_commits.len();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    // What the engine may have hidden: the trusted bases, and for a created ref the tips of
    // the other refs whose rules cover its own.
    let plan = crate::plan::plan(policy, &update.name, internal);
    let mut candidates: Vec<(String, Oid)> = plan
        .trusted_bases
        .iter()
        .map(|id| (format!("trusted_base {}", id.short()), id.clone()))
        .collect();
    let mut covering: Vec<(String, Oid)> = Vec::new();
    if update.is_create() {
        covering = repo
            .ref_tips()?
            .into_iter()
            .filter(|(name, _)| *name != update.name)
            .filter(|(name, _)| plan.covered_by(&crate::plan::plan(policy, name, true)))
            .collect();
    }
    let all_judged = format!(
        "judged {judged} commit{} for {}: {what}",
        plural(judged),
        update.name
    );
    if candidates.is_empty() && covering.is_empty() {
        // Nothing can have been hidden: no second walk.
        return Ok((vec![all_judged], 0));
    }
    let total = repo.walk(std::slice::from_ref(tip), &base)?;
    let hidden = total.len().saturating_sub(judged);
    if hidden == 0 {
        return Ok((vec![all_judged], 0));
    }
    // Refs whose tip is among the commits first: they usually hide the most.
    let in_range: std::collections::HashSet<&Oid> = total.iter().collect();
    covering.sort_by_key(|(_, id)| !in_range.contains(id));
    candidates.extend(covering);
    let mut hiding = base.clone();
    let mut left = total.len();
    let mut by = Vec::new();
    for (label, id) in candidates.into_iter().take(MAX_HIDING_REFS_TRIED) {
        if left <= judged {
            break;
        }
        hiding.push(id);
        let now = repo.walk(std::slice::from_ref(tip), &hiding)?.len();
        if now < left {
            by.push(format!("{label} ({})", left - now));
            left = now;
        } else {
            hiding.pop();
        }
    }
    if left > judged {
        by.push(format!("other refs ({})", left - judged));
    }
    let mut notes = vec![format!(
        "judged {judged} of the {} commit{} of {what} for {}; {hidden} taken as already judged, being on {}",
        total.len(),
        plural(total.len()),
        update.name,
        by.join(", ")
    )];
    if judged == 0 {
        notes.push(format!(
            "no commit was judged, only the ref update itself: every commit is on a ref whose rules cover {}'s; to judge commits, give the range they add (e.g. origin/main..HEAD)",
            update.name
        ));
    }
    Ok((notes, hidden))
}

/// What the hook's account could not do with the policy, its key files and the audit log.
fn access_problems(p: &Policy, acct: &crate::access::Account) -> Vec<String> {
    let mut problems = Vec::new();
    problems.extend(crate::access::cannot_read(acct, &p.path));
    if let Some(trust) = &p.trust {
        let mut sources: Vec<String> = trust
            .store
            .keys_at(SystemTime::now())
            .iter()
            // An allowed_signers key's source is `FILE:LINE`.
            .map(|k| match k.source.rsplit_once(':') {
                Some((file, line))
                    if !Path::new(&k.source).exists()
                        && !line.is_empty()
                        && line.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    file.to_string()
                }
                _ => k.source.clone(),
            })
            .collect();
        sources.sort();
        sources.dedup();
        for source in sources {
            problems.extend(crate::access::cannot_read(acct, Path::new(&source)));
        }
    }
    if let Some(log) = &p.audit_log {
        problems.extend(crate::access::cannot_append(acct, log));
    }
    problems
}

/// `pushguard policy check FILE`.
pub fn policy_check(file: &Path, repo: Option<&Path>, as_user: Option<&str>) -> i32 {
    match Policy::load(file) {
        Ok(p) => {
            // As the hook's account: the one named, else the repository's owner.
            let account = match (as_user, repo) {
                (Some(who), _) => Some(crate::access::account(who)),
                (None, Some(dir)) => Some(crate::access::owner_of(dir)),
                (None, None) => None,
            };
            if let Some(account) = account {
                match account {
                    Ok(acct) => {
                        let problems = access_problems(&p, &acct);
                        for why in &problems {
                            eprintln!(
                                "error: {why}: the hook (running as {}) would reject every push",
                                acct.name
                            );
                        }
                        if !problems.is_empty() {
                            return ERROR;
                        }
                        println!(
                            "the hook's account {} can read the policy and its keys{}",
                            acct.name,
                            if p.audit_log.is_some() {
                                " and write the audit log"
                            } else {
                                ""
                            }
                        );
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ERROR;
                    }
                }
            }
            if let Some(dir) = repo {
                match globs_against_repo(&p, dir) {
                    Ok(warnings) => {
                        for w in warnings {
                            println!("warning: {w}");
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {}: {e:#}", dir.display());
                        return ERROR;
                    }
                }
            }
            println!(
                "{}: OK (version 1, mode {}, {} ref rule{}, digest {})",
                file.display(),
                match p.mode {
                    crate::policy::Mode::Enforce => "enforce",
                    crate::policy::Mode::Audit => "audit",
                },
                p.refs.len(),
                if p.refs.len() == 1 { "" } else { "s" },
                &p.digest[..12.min(p.digest.len())]
            );
            println!("{}", p.repo_scope());
            let l = &p.limits;
            println!(
                "limits: {} new commits a push, objects up to {} bytes, {} bytes read a push, manifests up to {} bytes, {} YAML nodes and {} aliases a file, {} s a decision{}",
                l.max_commits,
                l.max_object_bytes,
                l.max_read_bytes,
                l.max_manifest_bytes,
                l.max_yaml_nodes,
                l.max_yaml_aliases,
                l.timeout.as_secs(),
                if p.limits_origin.is_some() { "" } else { " (the defaults)" }
            );
            if let Some(trust) = &p.trust {
                let keys = trust.store.keys_at(SystemTime::now());
                println!(
                    "{} trusted key{}:",
                    keys.len(),
                    if keys.len() == 1 { "" } else { "s" }
                );
                for k in &keys {
                    let groups: Vec<&str> = p
                        .groups
                        .iter()
                        .filter(|(_, ids)| ids.contains(&k.key_id))
                        .map(|(g, _)| g.as_str())
                        .collect();
                    println!("  {}  {}", k.key_id, k.user_ids.join(", "));
                    println!(
                        "      from {}; groups: {}",
                        k.source,
                        if groups.is_empty() {
                            "none".to_string()
                        } else {
                            groups.join(", ")
                        }
                    );
                    if let Some(t) = k.expires {
                        println!("      expires {}", audit::rfc3339(t));
                    }
                    if let Some(r) = &k.revoked {
                        println!("      REVOKED: {r:?}");
                    }
                    for problem in &k.problems {
                        println!("      warning: {problem}");
                    }
                }
                for (g, ids) in &p.groups {
                    for id in ids {
                        if !keys.iter().any(|k| &k.key_id == id) {
                            println!(
                                "warning: group {g} names {id}, which is not among the loaded keys"
                            );
                        }
                    }
                }
            }
            for w in p.warnings() {
                println!("warning: {w}");
            }
            if let Some(w) = p.audit_log.as_deref().and_then(audit_log_problem) {
                println!("warning: {w}");
            }
            ACCEPTED
        }
        Err(e) => {
            let problems = e.problems();
            for p in &problems {
                eprintln!("error: {p}");
            }
            if problems.len() > 1 {
                eprintln!("{}: {} problems", file.display(), problems.len());
            }
            ERROR
        }
    }
}

/// Why the current user could not append to the audit log (every push would be rejected).
fn audit_log_problem(log: &Path) -> Option<String> {
    let dir = log
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Some(format!(
            "the audit log's directory {} does not exist: every push will be rejected until it does (`pushguard install` creates it, or run `mkdir -p {}`)",
            dir.display(),
            crate::install::shell_quote(&dir.to_string_lossy())
        ));
    }
    let result = if log.exists() {
        std::fs::OpenOptions::new().append(true).open(log).map(drop)
    } else {
        let probe = dir.join(format!(".pushguard-probe-{}~", std::process::id()));
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .map(|_| {
                let _ = std::fs::remove_file(&probe);
            })
    };
    result.err().map(|e| {
        format!(
            "the audit log {} is not writable by the current user ({e}): if the hook runs as this user, every push will be rejected",
            log.display()
        )
    })
}

/// `policy check --repo DIR`: globs of the policy that match nothing in that repository — a
/// typo such as `refs/heads/mian` would otherwise leave `main` unprotected without a word — and
/// the repository's default branch when no `[[ref]]` block protects it.
fn globs_against_repo(p: &Policy, dir: &Path) -> anyhow::Result<Vec<String>> {
    let repo = Repo::open(dir, None)?;
    let refs = repo.ref_tips()?;
    let mut out = Vec::new();
    for (i, r) in p.refs.iter().enumerate() {
        for pattern in &r.pattern_text {
            let glob = crate::glob::Glob::new(pattern)?;
            if !refs.iter().any(|(name, _)| glob.is_match(name)) {
                out.push(format!(
                    "{}: ref[{}].match {pattern:?} matches no ref of {} (a typo? it protects nothing until such a ref is pushed)",
                    r.origin,
                    i + 1,
                    dir.display()
                ));
            }
        }
    }
    for (i, r) in p.refs.iter().enumerate() {
        for base in &r.trusted_base {
            if !matches!(repo.target(base), Ok((_, Some(_)))) {
                out.push(format!(
                    "{}: ref[{}].trusted_base {base} is not a commit of {}: every push to these refs will be rejected until it is",
                    r.origin,
                    i + 1,
                    dir.display()
                ));
            }
        }
    }
    if let Some(head) = repo.symbolic_target("HEAD")? {
        if !p.refs.iter().any(|r| r.patterns.is_match(&head)) {
            out.push(format!(
                "the default branch {head} of {} is matched by no [[ref]] block",
                dir.display()
            ));
        }
    }
    let tip = match repo.symbolic_target("HEAD")? {
        Some(head) => repo.ref_tip(&head)?,
        None => None,
    };
    if let Some(tip) = tip {
        let (_, commit) = repo.target(&tip)?;
        if let Some(commit) = commit {
            let mut trees = std::collections::HashMap::new();
            let paths: Vec<String> = repo
                .entries_under(&commit, "", 1_000_000, &mut trees)?
                .into_iter()
                .map(|(path, _, _)| path)
                .collect();
            let mut check = |what: String, patterns: &[String]| -> anyhow::Result<()> {
                for pattern in patterns {
                    let glob = crate::glob::Glob::new(pattern)?;
                    if !paths.iter().any(|path| glob.is_match(path)) {
                        out.push(format!(
                            "{what} {pattern:?} matches no path of the default branch of {}",
                            dir.display()
                        ));
                    }
                }
                Ok(())
            };
            for (i, r) in p.paths.iter().enumerate() {
                check(
                    format!("{}: path[{}].match", r.origin, i + 1),
                    &r.pattern_text,
                )?;
            }
            for (i, m) in p.manifests.iter().enumerate() {
                check(
                    format!("{}: manifests[{}].match", m.origin, i + 1),
                    &m.settings.match_globs,
                )?;
            }
        }
    }
    Ok(out)
}

/// `pushguard policy explain FILE --ref REF [--path PATH] [--pusher NAME]`: which rules apply
/// to a change of PATH on REF pushed by NAME, and what they demand.
pub fn policy_explain(
    file: &Path,
    ref_name: &str,
    path: Option<&str>,
    pusher: Option<&str>,
) -> anyhow::Result<i32> {
    let p = Policy::load(file)?;
    if !crate::hook::valid_ref_name(ref_name) {
        anyhow::bail!(
            "--ref {ref_name:?} is not a full ref name: write refs/heads/{ref_name} for a branch or refs/tags/{ref_name} for a tag"
        );
    }
    let mode = match p.mode {
        crate::policy::Mode::Enforce => "enforce",
        crate::policy::Mode::Audit => "audit",
    };
    let mut s = format!("policy {} (mode {mode}), ref {ref_name}", file.display());
    if let Some(path) = path {
        s.push_str(&format!(", path {path}"));
    }
    if let Some(who) = pusher {
        s.push_str(&format!(", pusher {who}"));
    }
    println!("{s}\n");
    let mut any = false;
    for r in p.ref_rules(ref_name) {
        any = true;
        let mut demands = Vec::new();
        if r.immutable {
            demands.push("immutable: never moved or deleted once created".to_string());
        } else {
            if !r.force_push {
                demands.push("no force-push (non-fast-forward)".to_string());
            }
            if !r.delete {
                demands.push("no deletion".to_string());
            }
        }
        if r.require_signed {
            match &r.signers {
                Some(sg) => demands.push(format!(
                    "every new commit signed by a key of {}",
                    sg.groups.join(", ")
                )),
                None => demands.push("every new commit signed by a trusted key".into()),
            }
        }
        if r.require_signed_tag {
            let groups = r
                .signers
                .as_ref()
                .map(|s| s.groups.join(", "))
                .unwrap_or_default();
            demands.push(format!("tags annotated and signed by a key of {groups}"));
        }
        if r.require_signed_push {
            demands.push("a signed push (git push --signed)".into());
        }
        if !r.target_on.is_empty() {
            demands.push(format!(
                "the tag's commit already on {}",
                r.target_on.join(" or ")
            ));
        }
        if !r.trusted_base.is_empty() {
            let ids: Vec<&str> = r.trusted_base.iter().map(|o| o.short()).collect();
            demands.push(format!(
                "history up to {} taken as judged (trusted_base)",
                ids.join(", ")
            ));
        }
        if demands.is_empty() {
            demands.push("nothing beyond marking the ref as protected".into());
        }
        println!(
            "[[ref]] {} (match {}): {}",
            r.origin,
            r.pattern_text.join(", "),
            demands.join("; ")
        );
    }
    if let Some(path) = path {
        let change = crate::facts::FileChange {
            path: path.to_string(),
            old: None,
            new: None,
            new_size: None,
            old_link: None,
            new_link: None,
            private_key: false,
            rewrites: vec![],
        };
        let touched = eval::touched_paths(&change);
        for r in p.path_rules(ref_name) {
            if !touched.iter().any(|t| r.patterns.is_match(t)) {
                continue;
            }
            any = true;
            let mut demands = Vec::new();
            if r.forbid {
                demands.push("forbidden: nobody may change it by push".to_string());
            }
            if let Some(sg) = &r.signers {
                demands.push(format!(
                    "changes signed by a key of {}",
                    sg.groups.join(", ")
                ));
            }
            if r.two_person {
                demands.push(
                    "and merged in the same push by a second, different person of those groups"
                        .into(),
                );
            }
            if let Some(allowed) = &r.pushers {
                let verdict = match pusher {
                    Some(who) if allowed.iter().any(|a| a == who) => format!(" ({who} may)"),
                    Some(who) => format!(" ({who} may NOT)"),
                    None => String::new(),
                };
                demands.push(format!(
                    "only pushers {} may push changes{verdict}",
                    allowed.join(", ")
                ));
            }
            let what = demands.join("; ");
            println!(
                "[[path]] {} (match {}): {what}",
                r.origin,
                r.pattern_text.join(", ")
            );
        }
        for (_, m) in p.manifest_blocks(ref_name) {
            if m.files.is_match(path) {
                any = true;
                let rules: Vec<&str> = m.settings.rules.iter().map(|r| r.as_str()).collect();
                println!(
                    "[[manifests]] {}: judged as Kubernetes manifests; rules: {}{}",
                    m.origin,
                    if rules.is_empty() {
                        "(parse only)".to_string()
                    } else {
                        rules.join(", ")
                    },
                    if m.settings.deny.is_empty() {
                        String::new()
                    } else {
                        format!("; {} custom rule(s)", m.settings.deny.len())
                    }
                );
            }
        }
        if let Some(glob) = p.files.forbidden(path) {
            any = true;
            println!("[files] forbidden: {path} matches {glob}: it may never be added or changed");
        }
    }
    if p.files.is_active() {
        let mut f = Vec::new();
        if let Some(m) = p.files.max_size {
            f.push(format!("blobs up to {m} bytes"));
        }
        if p.files.deny_private_keys {
            f.push("no PEM private keys".into());
        }
        if p.files.deny_escaping_symlinks {
            f.push("no symlinks out of the repository".into());
        }
        let forbidden = p.files.forbidden_paths.len() + p.files.forbidden_names.len();
        if forbidden > 0 {
            f.push(format!(
                "none of {forbidden} forbidden file patterns (secrets, keys, credentials)"
            ));
        }
        if !f.is_empty() {
            println!("[files] every changed file: {}", f.join("; "));
        }
    }
    let name_rule = if ref_name.starts_with("refs/heads/") {
        p.names.branches.as_ref().map(|r| ("branch", r))
    } else if ref_name.starts_with("refs/tags/") {
        p.names.tags.as_ref().map(|r| ("tag", r))
    } else {
        None
    };
    if let Some((what, (re, origin))) = name_rule {
        let short = ref_name
            .strip_prefix("refs/heads/")
            .or_else(|| ref_name.strip_prefix("refs/tags/"))
            .unwrap_or(ref_name);
        println!(
            "[names] {origin}: {what} names must match /{}/ ({short:?} {})",
            re.as_str(),
            if re.is_match(short) {
                "does"
            } else {
                "does NOT"
            }
        );
    }
    if let Some(id) = &p.identities {
        println!(
            "[identities] {}: author and committer emails must match {}",
            id.origin,
            id.allow_text.join(", ")
        );
    }
    if let Some(o) = &p.bind_to_signer {
        println!("[identities] {o}: the committer email must be an identity of the signing key");
    }
    if let Some((re, o)) = &p.commits.message_pattern {
        println!("[commits] {o}: messages must match /{}/", re.as_str());
    }
    if let Some(o) = &p.commits.signed_off_by {
        println!("[commits] {o}: every commit needs its author's Signed-off-by");
    }
    if !any {
        println!("(no [[ref]] or [[path]] block applies here)");
    }
    Ok(ACCEPTED)
}
