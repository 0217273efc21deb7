//! Where a pre-receive hook finds the pushed objects: git's object quarantine.
//!
//! git sets `GIT_OBJECT_DIRECTORY` to the quarantine (`objects/tmp_objdir-incoming-*`) and
//! `GIT_ALTERNATE_OBJECT_DIRECTORIES` to the repository's own `objects`; GitLab passes only
//! these two (no `GIT_QUARANTINE_PATH`), and other hosts may pass relative entries. git C-quotes
//! an alternate that contains the separator or a quote (`"/srv/a:b/objects"`), which
//! `std::env::split_paths` would cut in two. This module parses both variables exactly and turns
//! them into an object directory gix can open.
//!
//! That object directory is pushguard's own, under `$TMPDIR`, and removed when the hook ends
//! (or by the watchdog at a timeout). A hook killed outright (a host's timeout sending
//! SIGKILL) removes nothing, so each hook first sweeps away the directories such hooks left:
//! only its own kind, only its own user's, and only ones older than any live hook can be.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The name every private alternates directory starts with (under `$TMPDIR`).
pub const TEMP_PREFIX: &str = "pushguard-objects-";

/// How old a private alternates directory must be before another hook removes it: older than
/// any hook process can live (the largest `timeout_seconds` plus the watchdog's grace, after
/// which the watchdog ends the process), with an hour to spare. So a directory this old
/// belongs to a process that is gone, never to a push still being decided.
pub const STALE_AFTER: Duration = Duration::from_secs(
    crate::limits::MAX_TIMEOUT.as_secs() + crate::hook::watchdog::GRACE.as_secs() + 3_600,
);

/// At most this many leftovers are removed by one hook: the work done for others is bounded.
const SWEEP_MAX: usize = 64;

/// The object directories git told the hook about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectDirs {
    /// The quarantine, read first.
    pub primary: PathBuf,
    /// Alternates, in order.
    pub alternates: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum QuarantineError {
    #[error("GIT_OBJECT_DIRECTORY {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("GIT_ALTERNATE_OBJECT_DIRECTORIES has a badly quoted entry: {0:?}")]
    BadQuoting(String),
    #[error("cannot create the private alternates directory: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the temporary directory {tmp} is inside the quarantine {quarantine}: set TMPDIR elsewhere"
    )]
    TempInsideQuarantine { tmp: PathBuf, quarantine: PathBuf },
}

impl ObjectDirs {
    /// Reads the two variables; `None` when `GIT_OBJECT_DIRECTORY` is unset (not in a push).
    /// Relative paths are taken relative to `cwd`, as git does for these variables.
    pub fn from_vars(
        object_dir: Option<&str>,
        alternates: Option<&str>,
        cwd: &Path,
    ) -> Result<Option<ObjectDirs>, QuarantineError> {
        let Some(primary) = object_dir.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let abs = |p: &str| {
            let p = Path::new(p);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                cwd.join(p)
            }
        };
        let primary = abs(primary);
        if !primary.is_dir() {
            return Err(QuarantineError::NotADirectory(primary));
        }
        let alternates = match alternates {
            Some(list) => split_alternates(list)?.iter().map(|p| abs(p)).collect(),
            None => Vec::new(),
        };
        Ok(Some(ObjectDirs {
            primary,
            alternates,
        }))
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Option<ObjectDirs>, QuarantineError> {
        let cwd = std::env::current_dir()?;
        let dir = std::env::var("GIT_OBJECT_DIRECTORY").ok();
        let alt = std::env::var("GIT_ALTERNATE_OBJECT_DIRECTORIES").ok();
        ObjectDirs::from_vars(dir.as_deref(), alt.as_deref(), &cwd)
    }

    /// Writes a private, empty object directory (outside the repository) whose
    /// `info/alternates` lists the quarantine and then the alternates. gix follows alternates
    /// recursively, so the repository's own `objects/info/alternates` (relative entries
    /// included) keeps working.
    pub fn materialize(&self) -> Result<tempfile::TempDir, QuarantineError> {
        let tmp = std::env::temp_dir();
        sweep_stale(&tmp, SystemTime::now(), STALE_AFTER);
        let dir = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempdir_in(&tmp)?;
        let canon_tmp = std::fs::canonicalize(dir.path())?;
        let canon_q = std::fs::canonicalize(&self.primary)?;
        if canon_tmp.starts_with(&canon_q) {
            return Err(QuarantineError::TempInsideQuarantine {
                tmp: canon_tmp,
                quarantine: canon_q,
            });
        }
        std::fs::create_dir_all(dir.path().join("info"))?;
        std::fs::create_dir_all(dir.path().join("pack"))?;
        let mut f = std::fs::File::create(dir.path().join("info").join("alternates"))?;
        for p in std::iter::once(&self.primary).chain(self.alternates.iter()) {
            writeln!(f, "{}", quote_entry(&p.to_string_lossy()))?;
        }
        // No fsync: the file is read by this process only, and a crash loses the directory.
        Ok(dir)
    }
}

/// Removes the private alternates directories killed hooks left in `tmp`: entries named
/// [`TEMP_PREFIX`]… that are directories themselves (a symlink is never followed, nor is one
/// inside: `remove_dir_all` removes links, not what they point to), owned by this process's
/// effective user, and last modified more than `stale_after` before `now` (a directory's time
/// in the future is not stale). Best effort: a leftover that cannot be removed costs a few KB,
/// never a push. Returns how many were removed, at most [`SWEEP_MAX`].
pub fn sweep_stale(tmp: &Path, now: SystemTime, stale_after: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return 0;
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mut removed = 0;
    for entry in entries.flatten() {
        if removed == SWEEP_MAX {
            break;
        }
        let name = entry.file_name();
        if !name.as_encoded_bytes().starts_with(TEMP_PREFIX.as_bytes()) {
            continue;
        }
        let path = entry.path();
        // lstat: a symlink named like ours is a symlink here, not the directory it names.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let stale = meta
            .modified()
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > stale_after);
        if meta.file_type().is_dir()
            && meta.uid() == me
            && stale
            && std::fs::remove_dir_all(&path).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

/// Splits `GIT_ALTERNATE_OBJECT_DIRECTORIES` like git's `parse_alt_odb_entry`: entries are
/// separated by `:`; an entry that starts with `"` is C-quoted and may contain `:`.
pub fn split_alternates(list: &str) -> Result<Vec<String>, QuarantineError> {
    let mut out = Vec::new();
    let mut rest = list;
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let (entry, used) =
                unquote_c(rest).ok_or_else(|| QuarantineError::BadQuoting(rest.to_string()))?;
            out.push(entry);
            rest = &rest[used..];
            rest = rest.strip_prefix(':').unwrap_or(rest);
        } else {
            let end = rest.find(':').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest.get(end + 1..).unwrap_or("");
        }
    }
    Ok(out.into_iter().filter(|e| !e.is_empty()).collect())
}

/// Undoes git's C quoting of `"..."` at the start of `s`; returns the text and the bytes used.
fn unquote_c(s: &str) -> Option<(String, usize)> {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut out: Vec<u8> = Vec::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return String::from_utf8(out).ok().map(|t| (t, i + 1)),
            b'\\' => {
                let c = *bytes.get(i + 1)?;
                i += 2;
                match c {
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'\\' | b'"' => out.push(c),
                    b'0'..=b'3' => {
                        let d2 = *bytes.get(i)?;
                        let d3 = *bytes.get(i + 1)?;
                        if !(b'0'..=b'7').contains(&d2) || !(b'0'..=b'7').contains(&d3) {
                            return None;
                        }
                        out.push(((c - b'0') << 6) | ((d2 - b'0') << 3) | (d3 - b'0'));
                        i += 2;
                    }
                    _ => return None,
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// Quotes an entry for an `info/alternates` file when it needs it.
fn quote_entry(p: &str) -> String {
    if !p.contains(['"', '\\', '\n']) && !p.starts_with('#') {
        return p.to_string();
    }
    let mut s = String::from("\"");
    for c in p.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_plain_and_quoted_entries() {
        assert_eq!(split_alternates("/a/objects").unwrap(), vec!["/a/objects"]);
        assert_eq!(
            split_alternates("/a/objects:/b/objects").unwrap(),
            vec!["/a/objects", "/b/objects"]
        );
        assert_eq!(
            split_alternates("\"/srv/a:b/objects\":/c").unwrap(),
            vec!["/srv/a:b/objects", "/c"]
        );
        assert_eq!(
            split_alternates("\"/x\\\"y\\\\z\\101\"").unwrap(),
            vec!["/x\"y\\zA"]
        );
        assert!(split_alternates("\"/unterminated").is_err());
        assert!(split_alternates("").unwrap().is_empty());
    }

    #[test]
    fn relative_entries_are_resolved_against_cwd() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("objects/incoming")).unwrap();
        let dirs = ObjectDirs::from_vars(Some("objects/incoming"), Some("objects"), tmp.path())
            .unwrap()
            .unwrap();
        assert_eq!(dirs.primary, tmp.path().join("objects/incoming"));
        assert_eq!(dirs.alternates, vec![tmp.path().join("objects")]);
        assert!(ObjectDirs::from_vars(None, Some("x"), tmp.path())
            .unwrap()
            .is_none());
        assert!(ObjectDirs::from_vars(Some("nope"), None, tmp.path()).is_err());
    }

    #[test]
    fn quoting_round_trips() {
        assert_eq!(quote_entry("/plain"), "/plain");
        let q = quote_entry("/a\"b");
        assert_eq!(unquote_c(&q).unwrap().0, "/a\"b");
    }

    #[test]
    fn the_sweep_removes_only_stale_directories_of_ours() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path();
        let victim = tempfile::tempdir().unwrap();
        std::fs::write(victim.path().join("keep"), "x").unwrap();
        let ours = t.join(format!("{TEMP_PREFIX}stale"));
        std::fs::create_dir_all(ours.join("info")).unwrap();
        // A link inside a stale directory: removed as a link, its target untouched.
        symlink(victim.path(), ours.join("info").join("link")).unwrap();
        symlink(victim.path(), t.join(format!("{TEMP_PREFIX}link"))).unwrap();
        std::fs::write(t.join(format!("{TEMP_PREFIX}file")), "x").unwrap();
        std::fs::create_dir(t.join("other-dir")).unwrap();
        let hour = Duration::from_secs(3_600);
        // Fresh: nothing is old enough.
        assert_eq!(sweep_stale(t, SystemTime::now(), hour), 0);
        assert!(ours.is_dir());
        // Two hours on: only the directory named like ours goes.
        let later = SystemTime::now() + 2 * hour;
        assert_eq!(sweep_stale(t, later, hour), 1);
        assert!(!ours.exists());
        assert!(victim.path().join("keep").is_file());
        assert!(t.join(format!("{TEMP_PREFIX}link")).is_symlink());
        assert!(t.join(format!("{TEMP_PREFIX}file")).is_file());
        assert!(t.join("other-dir").is_dir());
        // Another user's directory is left alone (only root can make one here).
        if unsafe { libc::geteuid() } == 0 {
            let theirs = t.join(format!("{TEMP_PREFIX}theirs"));
            std::fs::create_dir(&theirs).unwrap();
            std::os::unix::fs::chown(&theirs, Some(65_534), Some(65_534)).unwrap();
            assert_eq!(sweep_stale(t, later, hour), 0);
            assert!(theirs.is_dir());
        }
        // Bounded: one hook removes at most SWEEP_MAX.
        for i in 0..SWEEP_MAX + 6 {
            std::fs::create_dir(t.join(format!("{TEMP_PREFIX}{i}"))).unwrap();
        }
        assert_eq!(sweep_stale(t, later, hour), SWEEP_MAX);
        assert_eq!(sweep_stale(t, later, hour), 6);
    }
}
