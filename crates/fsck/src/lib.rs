//! Strict validation of the git objects a pusher sends.
//!
//! pushguard reads commits, tags and trees from a repository it does not
//! trust. Before any rule judges an object, this crate checks that the object
//! has exactly one reading: everything `git fsck` refuses under
//! `receive.fsckObjects` (git's strict mode) is refused here too, and so are
//! a few things git lets through but that different readers could read
//! differently (a second `committer` header, unknown headers, control
//! characters in path names, ...). See the crate's README for each rule.
//!
//! Pure functions over bytes: no repository access, no regex, one pass over
//! the input, no allocation besides the returned value (and the message of
//! an error).
//!
//! ```text
//! check_commit(raw, HashKind::Sha1)  -> Result<CommitHeaders, Malformed>
//! check_tag(raw, HashKind::Sha1)     -> Result<TagHeaders, Malformed>
//! check_tree(raw, HashKind::Sha1)    -> Result<Vec<TreeEntry>, Malformed>
//! check_ref_name("refs/heads/main")  -> Result<(), Malformed>
//! ```
//!
//! `raw` is the object's content without git's `<type> <size>\0` prefix.

mod commit;
mod dotgit;
mod error;
mod header;
mod ident;
mod refname;
mod tag;
mod tree;

pub use commit::{check_commit, CommitHeaders};
pub use error::{escape, Malformed, ObjectKind, Rule};
pub use header::HeaderBlock;
pub use ident::Ident;
pub use refname::check_ref_name;
pub use tag::{check_tag, TagHeaders, TargetType};
pub use tree::{check_tree, check_tree_with, EntryMode, TreeEntry, TreeOptions};

/// The object format of the repository: it fixes the length of object ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashKind {
    Sha1,
    Sha256,
}

impl HashKind {
    /// Length of an object id in hex: 40 or 64.
    pub const fn hex_len(self) -> usize {
        match self {
            HashKind::Sha1 => 40,
            HashKind::Sha256 => 64,
        }
    }

    /// Length of an object id in binary (as in tree entries): 20 or 32.
    pub const fn raw_len(self) -> usize {
        match self {
            HashKind::Sha1 => 20,
            HashKind::Sha256 => 32,
        }
    }
}

/// Why a hex object id was refused.
pub(crate) enum HexError {
    Length(usize),
    NotHex(u8),
    Uppercase,
}

impl HexError {
    pub(crate) fn describe(&self, hash: HashKind) -> String {
        match self {
            HexError::Length(n) => format!(
                "{} characters where a {} id has {}",
                n,
                match hash {
                    HashKind::Sha1 => "SHA-1",
                    HashKind::Sha256 => "SHA-256",
                },
                hash.hex_len()
            ),
            HexError::NotHex(b) => {
                format!("`{}` is not a hex digit", escape(std::slice::from_ref(b)))
            }
            HexError::Uppercase => "uppercase hex digits".to_string(),
        }
    }
}

/// Checks a full-length, lowercase hex object id and returns it as `&str`.
pub(crate) fn check_hex(value: &[u8], hash: HashKind) -> Result<&str, HexError> {
    for &b in value {
        match b {
            b'0'..=b'9' | b'a'..=b'f' => {}
            b'A'..=b'F' => return Err(HexError::Uppercase),
            _ => return Err(HexError::NotHex(b)),
        }
    }
    if value.len() != hash.hex_len() {
        return Err(HexError::Length(value.len()));
    }
    // Only ASCII hex digits: valid UTF-8.
    Ok(std::str::from_utf8(value).expect("hex digits are ASCII"))
}
