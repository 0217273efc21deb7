//! One function per command of the binary. Each returns the process exit status; `main` only
//! parses arguments and calls them.
//!
//! Exit status (documented in the README): 0 accepted / valid, 1 rejected by the policy,
//! 2 error (bad usage, unreadable policy or repository: for the hook, a rejection too).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;

use crate::engine;
use crate::facts::PushFacts;
use crate::hook::host::HostEnv;
use crate::hook::{self, Oid, RefUpdate};
use crate::policy::eval::{self, Decision};
use crate::policy::{Policy, DEFAULT_POLICY_PATH};
use crate::repo::quarantine::ObjectDirs;
use crate::repo::Repo;
use crate::report::{self, audit};

pub const ACCEPTED: i32 = 0;
pub const REJECTED: i32 = 1;
pub const ERROR: i32 = 2;

/// How long the hook may take before it gives up and rejects the push.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

/// `--policy`, else `$PUSHGUARD_POLICY`, else the default path.
pub fn policy_path(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("PUSHGUARD_POLICY").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_POLICY_PATH))
}

/// `pushguard pre-receive`: the hook. Reads the updates on stdin, decides, prints the verdict
/// for the pusher, writes the audit record, and returns the exit status git acts on.
pub fn pre_receive(policy_flag: Option<PathBuf>) -> i32 {
    let start = Instant::now();
    let policy_file = policy_path(policy_flag);
    let early_host = HostEnv::from_env(None);
    let prefix = early_host.line_prefix();

    // A decision that takes too long is a rejection, not a hung push.
    std::thread::spawn(move || {
        std::thread::sleep(HOOK_TIMEOUT);
        eprint!(
            "{}",
            report::failure(
                &format!("no decision within {} s", HOOK_TIMEOUT.as_secs()),
                prefix
            )
        );
        std::process::exit(ERROR);
    });

    let mut stdin = Vec::new();
    let read = std::io::stdin().read_to_end(&mut stdin);

    let policy = Policy::load(&policy_file);
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
            let repo = Repo::open(&git_dir, objects.as_ref())?;
            let facts = engine::gather(&repo, policy, &updates, host)?;
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
            let repository = host.repository.clone().unwrap_or_else(|| {
                std::fs::canonicalize(std::env::var_os("GIT_DIR").unwrap_or_else(|| ".".into()))
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            });
            let error_text = outcome.as_ref().err().map(|e| format!("{e:#}"));
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
                    report::json_updates(f),
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

/// Output formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
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
    let repo = Repo::open(repo_dir, None)?;
    let (old, new) = match range.split_once("..") {
        Some((o, n)) => (o, n),
        None => ("", range),
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
    let facts = engine::gather(&repo, &policy, &[update], host)?;
    let decision = eval::evaluate(&policy, &facts);
    match format {
        Format::Human => print!(
            "{}",
            report::human(&decision, &facts, &policy_file.display().to_string(), "")
        ),
        Format::Json => println!("{}", report::json(&decision, &facts)),
    }
    Ok(if decision.accepted {
        ACCEPTED
    } else {
        REJECTED
    })
}

/// `pushguard policy check FILE`.
pub fn policy_check(file: &Path) -> i32 {
    match Policy::load(file) {
        Ok(p) => {
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
            for w in p.warnings() {
                println!("warning: {w}");
            }
            ACCEPTED
        }
        Err(e) => {
            eprintln!("error: {e}");
            ERROR
        }
    }
}
