//! Where a pre-receive hook finds the pushed objects: git's object quarantine.
//!
//! git sets `GIT_OBJECT_DIRECTORY` to the quarantine (`objects/tmp_objdir-incoming-*`) and
//! `GIT_ALTERNATE_OBJECT_DIRECTORIES` to the repository's own `objects`; GitLab passes only
//! these two (no `GIT_QUARANTINE_PATH`), and other hosts may pass relative entries. git C-quotes
//! an alternate that contains the separator or a quote (`"/srv/a:b/objects"`), which
//! `std::env::split_paths` would cut in two. This module parses both variables exactly and turns
//! them into an object directory gix can open.

use std::io::Write;
use std::path::{Path, PathBuf};

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
        let dir = tempfile::Builder::new()
            .prefix("pushguard-objects-")
            .tempdir()?;
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
        f.sync_all()?;
        Ok(dir)
    }
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
}
