//! The audit record: one JSON line per push, appended atomically.
//!
//! Many pushes can land at once (one hook process each), so every record is written with a
//! single `write` under an exclusive `flock` on the file opened with `O_APPEND`: lines never
//! interleave and none is lost (`tests/concurrency.rs` runs 30 hooks at once on one log). A
//! write that fails half-way is cut back off under the same lock, so no record ever continues
//! a broken line. A record that cannot be written rejects the push (fail closed):
//! an attacker who fills the disk must not get unaudited pushes.

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use crate::hook::host::HostEnv;
use crate::policy::eval::Violation;
use crate::report::JsonUpdate;

#[derive(Serialize)]
pub struct Record<'a> {
    pub time: String,
    pub repository: String,
    pub host: &'a HostEnv,
    pub updates: Vec<JsonUpdate<'a>>,
    /// `accept`, `reject`, `accept-audit` (violations, audit mode), or `error` (fail closed).
    pub decision: &'a str,
    /// Each with `path` (the file alone), `line`, `column`, and `location` (`path:line:col`).
    #[serde(serialize_with = "crate::report::serialize_violations")]
    pub violations: &'a [Violation],
    pub error: Option<&'a str>,
    pub policy: String,
    pub policy_digest: Option<&'a str>,
    pub pushguard_version: &'static str,
    pub duration_ms: u128,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write the audit record to {path}: {source}")]
pub struct AuditError {
    path: String,
    source: std::io::Error,
}

/// Appends one record as one line.
pub fn append(path: &Path, record: &Record<'_>) -> Result<(), AuditError> {
    let fail = |source: std::io::Error| AuditError {
        path: path.display().to_string(),
        source,
    };
    let mut line = serde_json::to_vec(record).map_err(|e| fail(std::io::Error::other(e)))?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    f.lock().map_err(fail)?;
    // Under the lock nobody else appends: a write that fails half-way (a full disk, a file
    // size limit) is cut back off, so the next record does not continue a broken line.
    let end = f.metadata().map(|m| m.len());
    let written = f.write_all(&line).and_then(|_| f.flush());
    if let (Err(_), Ok(end)) = (&written, end) {
        let _ = f.set_len(end);
    }
    let unlocked = f.unlock();
    written.map_err(fail)?;
    unlocked.map_err(fail)
}

/// RFC 3339 UTC time with seconds, e.g. `2026-11-27T02:27:18Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    match jiff::Timestamp::from_second(secs) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        // Past year 9999: the latest time jiff holds, rather than a wrong date.
        Err(_) => jiff::Timestamp::MAX
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc_times() {
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_746_438);
        assert_eq!(rfc3339(t), "2026-11-27T02:27:18Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(19_782 * 86_400);
        assert_eq!(rfc3339(leap), "2024-02-29T00:00:00Z");
    }

    #[test]
    fn concurrent_appends_never_interleave() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let host = HostEnv::from_vars(&[], None);
        std::thread::scope(|s| {
            for t in 0..8 {
                let path = &path;
                let host = &host;
                s.spawn(move || {
                    for i in 0..50 {
                        let rec = Record {
                            time: rfc3339(SystemTime::now()),
                            repository: format!("repo-{t}-{i}-{}", "x".repeat(5000)),
                            host,
                            updates: vec![],
                            decision: "accept",
                            violations: &[],
                            error: None,
                            policy: "p".into(),
                            policy_digest: None,
                            pushguard_version: "test",
                            duration_ms: 1,
                        };
                        append(path, &rec).unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        for l in lines {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["decision"], "accept");
        }
    }
}
