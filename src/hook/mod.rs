//! What git hands a pre-receive hook: the ref updates on stdin, and the host's environment.
//!
//! This module exists so that everything the pusher (or the host) controls is parsed in one
//! place, strictly, before any decision is made. A line that does not parse is an error that
//! rejects the push: the hook never guesses what an update meant.

pub mod host;
pub mod replay;
pub mod watchdog;

use std::fmt;

/// An object id as git printed it: 40 hex digits (SHA-1) or 64 (SHA-256), lower case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oid(String);

impl Oid {
    /// Parses a full hex object id of either hash kind.
    pub fn parse(s: &str) -> Option<Oid> {
        let ok = (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Oid(s.to_ascii_lowercase()))
    }

    /// The all-zero id that stands for "no object" in a repository with ids of `len` hex digits.
    pub fn zero(len: usize) -> Oid {
        Oid("0".repeat(len))
    }

    pub fn is_zero(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first seven digits, as git abbreviates ids in messages.
    pub fn short(&self) -> &str {
        self.0.get(..7).unwrap_or(&self.0)
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Oid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({})", self.short())
    }
}

/// One `<old> SP <new> SP <ref>` line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RefUpdate {
    pub old: Oid,
    pub new: Oid,
    pub name: String,
}

/// What kind of ref the update touches; rules are written per kind (tags are immutable, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RefClass {
    Branch,
    Tag,
    Other,
}

impl RefUpdate {
    pub fn class(&self) -> RefClass {
        if self.name.starts_with("refs/heads/") {
            RefClass::Branch
        } else if self.name.starts_with("refs/tags/") {
            RefClass::Tag
        } else {
            RefClass::Other
        }
    }

    /// The name without `refs/heads/` or `refs/tags/`.
    pub fn short_name(&self) -> &str {
        self.name
            .strip_prefix("refs/heads/")
            .or_else(|| self.name.strip_prefix("refs/tags/"))
            .unwrap_or(&self.name)
    }

    pub fn is_create(&self) -> bool {
        self.old.is_zero() && !self.new.is_zero()
    }

    pub fn is_delete(&self) -> bool {
        self.new.is_zero()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("stdin line {line}: expected `<old-id> <new-id> <ref>`, got {got:?}")]
    Malformed { line: usize, got: String },
    #[error("stdin line {line}: {what} id {id:?} is not a 40- or 64-digit hex object id")]
    BadId {
        line: usize,
        what: &'static str,
        id: String,
    },
    #[error("stdin line {line}: ids of {found} digits, but earlier lines used {expected}: one push uses one hash kind")]
    MixedHashKinds {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("stdin line {line}: {name:?} is not a valid ref name")]
    BadRefName { line: usize, name: String },
    #[error("stdin line {line}: ref {name} is updated twice in one push")]
    Duplicate { line: usize, name: String },
    #[error("stdin is not valid UTF-8 text")]
    NotUtf8,
    #[error("no ref updates on stdin: git always sends at least one line to pre-receive")]
    Empty,
}

/// Parses the whole of pre-receive's stdin.
pub fn parse_updates(input: &[u8]) -> Result<Vec<RefUpdate>, InputError> {
    let text = std::str::from_utf8(input).map_err(|_| InputError::NotUtf8)?;
    let mut updates: Vec<RefUpdate> = Vec::new();
    let mut hex_len: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let mut parts = raw.splitn(3, ' ');
        let (Some(old), Some(new), Some(name)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(InputError::Malformed {
                line,
                got: raw.to_string(),
            });
        };
        let old_id = Oid::parse(old).ok_or_else(|| InputError::BadId {
            line,
            what: "old",
            id: old.to_string(),
        })?;
        let new_id = Oid::parse(new).ok_or_else(|| InputError::BadId {
            line,
            what: "new",
            id: new.to_string(),
        })?;
        for len in [old.len(), new.len()] {
            match hex_len {
                None => hex_len = Some(len),
                Some(expected) if expected != len => {
                    return Err(InputError::MixedHashKinds {
                        line,
                        expected,
                        found: len,
                    })
                }
                Some(_) => {}
            }
        }
        if !valid_ref_name(name) {
            return Err(InputError::BadRefName {
                line,
                name: name.to_string(),
            });
        }
        if updates.iter().any(|u| u.name == name) {
            return Err(InputError::Duplicate {
                line,
                name: name.to_string(),
            });
        }
        updates.push(RefUpdate {
            old: old_id,
            new: new_id,
            name: name.to_string(),
        });
    }
    if updates.is_empty() {
        return Err(InputError::Empty);
    }
    Ok(updates)
}

/// The subset of `git check-ref-format` that matters here: a full name under `refs/` with no
/// characters git itself refuses. git has already checked the name; this guards against a hook
/// being fed something else (a test harness, a host bug) and against names that would confuse
/// glob matching or the messages we print.
pub fn valid_ref_name(name: &str) -> bool {
    name.starts_with("refs/")
        && !name.ends_with('/')
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("//")
        && !name.contains("@{")
        && !name
            .bytes()
            .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn parses_sha1_and_sha256_lines() {
        let z64 = "0".repeat(64);
        let b64 = "ab".repeat(32);
        let u = parse_updates(format!("{A} {B} refs/heads/main\n").as_bytes()).unwrap();
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].class(), RefClass::Branch);
        assert!(!u[0].is_create());
        let u = parse_updates(format!("{z64} {b64} refs/tags/v1\n").as_bytes()).unwrap();
        assert!(u[0].is_create());
        assert_eq!(u[0].class(), RefClass::Tag);
        assert_eq!(u[0].short_name(), "v1");
    }

    #[test]
    fn zero_to_zero_is_a_delete() {
        let z = "0".repeat(40);
        let u = parse_updates(format!("{z} {z} refs/heads/gone").as_bytes()).unwrap();
        assert!(u[0].is_delete());
        assert!(!u[0].is_create());
    }

    #[test]
    fn rejects_malformed_input() {
        assert!(matches!(
            parse_updates(b"hello\n"),
            Err(InputError::Malformed { line: 1, .. })
        ));
        assert!(matches!(
            parse_updates(format!("{A} xyz refs/heads/main").as_bytes()),
            Err(InputError::BadId { what: "new", .. })
        ));
        let b64 = "ab".repeat(32);
        assert!(matches!(
            parse_updates(format!("{A} {b64} refs/heads/main").as_bytes()),
            Err(InputError::MixedHashKinds { .. })
        ));
        assert!(matches!(
            parse_updates(format!("{A} {B} main").as_bytes()),
            Err(InputError::BadRefName { .. })
        ));
        assert!(matches!(
            parse_updates(format!("{A} {B} refs/heads/a..b").as_bytes()),
            Err(InputError::BadRefName { .. })
        ));
        assert_eq!(parse_updates(b"\n"), Err(InputError::Empty));
        assert_eq!(parse_updates(&[0xff, 0xfe]), Err(InputError::NotUtf8));
        assert!(matches!(
            parse_updates(format!("{A} {B} refs/heads/x\n{A} {B} refs/heads/x\n").as_bytes()),
            Err(InputError::Duplicate { line: 2, .. })
        ));
    }
}
