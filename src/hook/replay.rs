//! Push certificates are used once.
//!
//! git's nonce check (`GIT_PUSH_CERT_NONCE_STATUS`) is `OK` only for the nonce this very
//! session issued. Over stateless HTTP, and with `receive.certNonceSlop`, a certificate made
//! for a nearby nonce is `SLOP`, so a recorded certificate can be replayed within the slop
//! window. When the policy allows `SLOP`, every certificate's id is remembered in a log, and a
//! certificate seen before is a replay. Checking and remembering are one step under an
//! exclusive lock, so two pushes of one certificate cannot both pass.

use std::io::{Read, Seek, Write};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("cannot use the push-certificate log {path}: {source}")]
pub struct ReplayError {
    path: String,
    source: std::io::Error,
}

/// Records `cert` (the certificate's object id) in the log at `path`; returns whether it was
/// there already (a replay).
pub fn consume(path: &Path, cert: &str) -> Result<bool, ReplayError> {
    let fail = |source: std::io::Error| ReplayError {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    f.lock().map_err(fail)?;
    let result = (|| -> std::io::Result<bool> {
        let mut text = String::new();
        f.rewind()?;
        f.read_to_string(&mut text)?;
        if text.lines().any(|l| l.split(' ').next() == Some(cert)) {
            return Ok(true);
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        f.write_all(format!("{cert} {now}\n").as_bytes())?;
        f.flush()?;
        Ok(false)
    })();
    let unlocked = f.unlock();
    let seen = result.map_err(fail)?;
    unlocked.map_err(fail)?;
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_used_once() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("certs");
        let a = "a".repeat(40);
        assert!(!consume(&log, &a).unwrap());
        assert!(consume(&log, &a).unwrap());
        assert!(!consume(&log, &"b".repeat(40)).unwrap());
        assert!(consume(&log, &a).unwrap());
    }

    #[test]
    fn concurrent_uses_of_one_certificate_let_one_through() {
        let dir = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(dir.path().join("certs"));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let log = log.clone();
                std::thread::spawn(move || consume(&log, &"c".repeat(40)).unwrap())
            })
            .collect();
        let fresh = handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|seen| !seen)
            .count();
        assert_eq!(fresh, 1);
    }
}
