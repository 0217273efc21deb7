//! The one error type: what is malformed, where, and which rule refused it.

use std::fmt;

/// What kind of thing was being checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Commit,
    Tag,
    Tree,
    RefName,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Commit => "commit",
            ObjectKind::Tag => "tag",
            ObjectKind::Tree => "tree",
            ObjectKind::RefName => "ref name",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rule an object broke. Stable names for callers and tests; the
/// human text is in [`Malformed`]'s message.
///
/// Where git fsck has a message id for the same defect, [`Rule::git_msg_id`]
/// names it (git may still report a different id for a given object, since it
/// stops at the first thing it does not expect).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    // ---- commit and tag headers ----
    /// A NUL byte anywhere in a commit or tag.
    NulByte,
    /// The last header line has no newline.
    UnterminatedHeader,
    /// The headers are not followed by a blank line (stricter than git).
    MissingBlankLine,
    /// A continuation line (leading space) that does not follow a
    /// multi-line header (`mergetag`, `gpgsig`, `gpgsig-sha256`).
    BadHeaderContinuation,
    /// A header this crate does not know (stricter than git).
    UnknownHeader,
    /// A header that may appear once appears twice.
    DuplicateHeader,
    /// Known headers in the wrong order.
    HeaderOutOfOrder,
    /// A header whose value must not be empty is empty.
    EmptyHeaderValue,
    MissingTree,
    BadTreeHex,
    BadParentHex,
    MissingAuthor,
    MissingCommitter,
    // ---- identities (author, committer, tagger) ----
    MissingNameBeforeEmail,
    BadName,
    MissingEmail,
    MissingSpaceBeforeEmail,
    BadEmail,
    MissingSpaceBeforeDate,
    BadDate,
    ZeroPaddedDate,
    BadDateOverflow,
    BadTimezone,
    // ---- tags ----
    MissingObject,
    BadObjectHex,
    MissingType,
    BadType,
    MissingTagName,
    BadTagName,
    /// No `tagger` header (git only notes it; we refuse).
    MissingTagger,
    /// More than one signature block in a tag's message (stricter than git).
    DuplicateSignature,
    // ---- trees ----
    /// The tree cannot be split into entries.
    BadTree,
    EmptyName,
    /// A `/` in an entry name.
    FullPathname,
    HasDot,
    HasDotdot,
    /// `.git` or a name a filesystem may treat as `.git`.
    HasDotgit,
    /// An entry name longer than 4096 bytes.
    LargePathname,
    /// A control character (byte < 0x20 or 0x7f) in an entry name.
    ControlCharInName,
    /// An entry pointing at the all-zero object id.
    NullObjectId,
    ZeroPaddedFilemode,
    BadFilemode,
    GitmodulesSymlink,
    GitattributesSymlink,
    GitignoreSymlink,
    MailmapSymlink,
    /// `.gitmodules` that is a directory or a submodule.
    GitmodulesNotBlob,
    /// `.gitattributes` that is a directory or a submodule.
    GitattributesNotBlob,
    DuplicateEntries,
    TreeNotSorted,
    // ---- ref names ----
    BadRefName,
}

impl Rule {
    /// git fsck's message id (as printed by `git fsck`, camelCase) for the
    /// same defect, if git has one.
    pub fn git_msg_id(self) -> Option<&'static str> {
        use Rule::*;
        Some(match self {
            NulByte => "nulInHeader",
            UnterminatedHeader => "unterminatedHeader",
            MissingBlankLine | UnknownHeader | DuplicateHeader | HeaderOutOfOrder
            | EmptyHeaderValue | ControlCharInName | DuplicateSignature => return None,
            BadHeaderContinuation => "badHeaderContinuation",
            MissingTree => "missingTree",
            BadTreeHex => "badTreeSha1",
            BadParentHex => "badParentSha1",
            MissingAuthor => "missingAuthor",
            MissingCommitter => "missingCommitter",
            MissingNameBeforeEmail => "missingNameBeforeEmail",
            BadName => "badName",
            MissingEmail => "missingEmail",
            MissingSpaceBeforeEmail => "missingSpaceBeforeEmail",
            BadEmail => "badEmail",
            MissingSpaceBeforeDate => "missingSpaceBeforeDate",
            BadDate => "badDate",
            ZeroPaddedDate => "zeroPaddedDate",
            BadDateOverflow => "badDateOverflow",
            BadTimezone => "badTimezone",
            MissingObject => "missingObject",
            BadObjectHex => "badObjectSha1",
            MissingType => "missingTypeEntry",
            BadType => "badType",
            MissingTagName => "missingTagEntry",
            BadTagName => "badTagName",
            MissingTagger => "missingTaggerEntry",
            BadTree => "badTree",
            EmptyName => "emptyName",
            FullPathname => "fullPathname",
            HasDot => "hasDot",
            HasDotdot => "hasDotdot",
            HasDotgit => "hasDotgit",
            LargePathname => "largePathname",
            NullObjectId => "nullSha1",
            ZeroPaddedFilemode => "zeroPaddedFilemode",
            BadFilemode => "badFilemode",
            GitmodulesSymlink => "gitmodulesSymlink",
            GitattributesSymlink => "gitattributesSymlink",
            GitignoreSymlink => "gitignoreSymlink",
            MailmapSymlink => "mailmapSymlink",
            GitmodulesNotBlob => "gitmodulesBlob",
            GitattributesNotBlob => "gitattributesBlob",
            DuplicateEntries => "duplicateEntries",
            TreeNotSorted => "treeNotSorted",
            BadRefName => "badRefName",
        })
    }
}

/// An object or ref name that the validator refuses.
///
/// `Display` gives one line, e.g.
/// ``malformed commit: duplicate `committer` header (line 4)``; bytes taken
/// from the object are escaped so that the line is safe to print on a
/// terminal (see [`escape`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed {
    object: ObjectKind,
    rule: Rule,
    detail: String,
}

impl Malformed {
    pub(crate) fn new(object: ObjectKind, rule: Rule, detail: String) -> Self {
        Malformed {
            object,
            rule,
            detail,
        }
    }

    /// What was being checked.
    pub fn object(&self) -> ObjectKind {
        self.object
    }

    /// Which rule refused it.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// What is wrong and where, without the `malformed <object>: ` prefix.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed {}: {}", self.object, self.detail)
    }
}

impl std::error::Error for Malformed {}

/// How many characters of a name or value an error message shows.
const MAX_SHOWN: usize = 120;

/// Renders bytes from an untrusted object so that printing them cannot move
/// the cursor, change colours, reorder text or hide characters: `\n`, `\r`,
/// `\t` and `\\` are shown as such, other control bytes as `\xNN`, invalid
/// UTF-8 as `\xNN`, and Unicode control, format and bidi characters as
/// `\u{NNNN}`. Long input is cut after 120 characters with `...`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().min(MAX_SHOWN) + 8);
    let mut shown = 0usize;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if shown == MAX_SHOWN {
                out.push_str("...");
                return out;
            }
            shown += 1;
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c == '\x7f' => {
                    out.push_str(&format!("\\x{:02x}", c as u32));
                }
                c if is_invisible(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
                c => out.push(c),
            }
        }
        for &b in chunk.invalid() {
            if shown == MAX_SHOWN {
                out.push_str("...");
                return out;
            }
            shown += 1;
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// C1 controls and the format characters that a terminal or editor may
/// render as nothing or use to reorder text.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x80..=0x9f
        | 0xad
        | 0x061c
        | 0x115f | 0x1160
        | 0x180e
        | 0x200b..=0x200f
        | 0x2028..=0x202e
        | 0x2060..=0x206f
        | 0x3164
        | 0xfeff
        | 0xffa0
        | 0xfff9..=0xfffb
        | 0xe0000..=0xe007f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_shows_control_characters() {
        assert_eq!(escape(b"a\nb"), "a\\nb");
        assert_eq!(escape(b"\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(escape(b"tab\there\r"), "tab\\there\\r");
        assert_eq!(escape(b"back\\slash"), "back\\\\slash");
        assert_eq!(escape(b"del\x7f"), "del\\x7f");
        assert_eq!(escape(b"\xff\xfe"), "\\xff\\xfe");
        assert_eq!(escape("caf\u{e9}".as_bytes()), "caf\u{e9}");
        assert_eq!(escape("a\u{202e}b".as_bytes()), "a\\u{202e}b");
        assert_eq!(escape("\u{200c}.git".as_bytes()), "\\u{200c}.git");
        assert_eq!(escape("\u{9b}".as_bytes()), "\\u{009b}");
    }

    #[test]
    fn escape_cuts_long_input() {
        let long = vec![b'a'; 1000];
        let shown = escape(&long);
        assert_eq!(shown.len(), MAX_SHOWN + 3);
        assert!(shown.ends_with("..."));
    }

    #[test]
    fn display_says_malformed_once() {
        let e = Malformed::new(
            ObjectKind::Commit,
            Rule::DuplicateHeader,
            "duplicate `committer` header (line 4)".into(),
        );
        assert_eq!(
            e.to_string(),
            "malformed commit: duplicate `committer` header (line 4)"
        );
        assert_eq!(e.to_string().matches("malformed").count(), 1);
    }
}
