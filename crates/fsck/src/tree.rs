//! Trees: entries `<mode> SP <name> NUL <binary id>`, sorted, unique.

use std::cmp::Ordering;

use crate::dotgit::{is_dotgit_anywhere, is_special_anywhere, Special};
use crate::error::{escape, Malformed, ObjectKind, Rule};
use crate::HashKind;

/// The five modes git writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryMode {
    /// `100644`
    File,
    /// `100755`
    Executable,
    /// `120000`
    Symlink,
    /// `40000` (a tree object spells it without a leading zero)
    Tree,
    /// `160000`, a gitlink
    Submodule,
}

impl EntryMode {
    /// The mode as a tree object spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryMode::File => "100644",
            EntryMode::Executable => "100755",
            EntryMode::Symlink => "120000",
            EntryMode::Tree => "40000",
            EntryMode::Submodule => "160000",
        }
    }

    pub fn is_tree(self) -> bool {
        self == EntryMode::Tree
    }
}

/// One entry of a tree that passed [`check_tree`], borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeEntry<'a> {
    pub mode: EntryMode,
    /// The name: not empty, no `/`, no NUL, not `.`, `..` or any form of
    /// `.git`, and (unless allowed) no control characters.
    pub name: &'a [u8],
    /// The object id, binary (20 or 32 bytes).
    pub oid: &'a [u8],
}

/// What [`check_tree_with`] may let through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeOptions {
    /// Accept control characters (bytes below 0x20, and 0x7f) in entry
    /// names, as git does. Off by default: a newline or an escape sequence
    /// in a path defeats line-based path matching and terminal output.
    pub allow_control_chars: bool,
}

/// git fsck refuses longer entry names (`largePathname`, 4096 by default).
const MAX_NAME_LEN: usize = 4096;

/// Checks a tree object's content (without the `tree <len>\0` prefix) with
/// the default [`TreeOptions`] and returns its entries in order.
pub fn check_tree(raw: &[u8], hash: HashKind) -> Result<Vec<TreeEntry<'_>>, Malformed> {
    check_tree_with(raw, hash, TreeOptions::default())
}

/// Checks a tree object's content and returns its entries in order.
///
/// git fsck's rules in strict mode: entries parse; modes are exactly
/// `100644`, `100755`, `120000`, `40000`, `160000` (no zero padding, no
/// legacy `100664`, no other mode); names are not empty, have no `/`, are
/// not `.` or `..`, are no more than 4096 bytes, and are not `.git` as
/// HFS+ or NTFS may read it (also after a backslash); no entry points at
/// the all-zero id; `.gitmodules`, `.gitattributes`, `.gitignore` and
/// `.mailmap` (in any of those spellings) are not symbolic links, and
/// `.gitmodules` / `.gitattributes` are not directories or submodules;
/// entries are sorted in git's order (a directory sorts as its name plus
/// `/`) with no name twice, a file and a directory included. Stricter than
/// git: control characters in names (unless allowed), and modes compared as
/// written (git reads `1100644` as `100644` after overflow).
pub fn check_tree_with(
    raw: &[u8],
    hash: HashKind,
    options: TreeOptions,
) -> Result<Vec<TreeEntry<'_>>, Malformed> {
    let id_len = hash.raw_len();
    let mut entries: Vec<TreeEntry> = Vec::new();
    let mut pos = 0usize;
    while pos < raw.len() {
        let number = entries.len() + 1;
        let rest = &raw[pos..];
        let Some(space) = rest.iter().position(|&b| b == b' ' || b == 0) else {
            return Err(bad_tree(format!("entry {number} ends inside its mode")));
        };
        if rest[space] == 0 {
            return Err(bad_tree(format!(
                "entry {number} has no space after its mode `{}`",
                escape(&rest[..space])
            )));
        }
        let mode_bytes = &rest[..space];
        let after_mode = &rest[space + 1..];
        let Some(nul) = after_mode.iter().position(|&b| b == 0) else {
            return Err(bad_tree(format!(
                "entry {number} `{}` has no NUL after its name",
                escape(after_mode)
            )));
        };
        let name = &after_mode[..nul];
        let id_start = nul + 1;
        if after_mode.len() < id_start + id_len {
            return Err(bad_tree(format!(
                "entry {number} `{}` is cut short: {} of {id_len} id bytes",
                escape(name),
                after_mode.len() - id_start
            )));
        }
        let oid = &after_mode[id_start..id_start + id_len];
        pos += space + 1 + id_start + id_len;

        let entry_err = |rule: Rule, what: &str| {
            Malformed::new(
                ObjectKind::Tree,
                rule,
                format!("entry {number} `{}` {what}", escape(name)),
            )
        };

        let mode = match mode_bytes {
            b"100644" => EntryMode::File,
            b"100755" => EntryMode::Executable,
            b"120000" => EntryMode::Symlink,
            b"40000" => EntryMode::Tree,
            b"160000" => EntryMode::Submodule,
            _ => {
                let shown = escape(mode_bytes);
                let (rule, what) = if mode_bytes.is_empty()
                    || !mode_bytes.iter().all(|b| (b'0'..=b'7').contains(b))
                {
                    (
                        Rule::BadTree,
                        format!("has a mode `{shown}` that is not octal"),
                    )
                } else if mode_bytes[0] == b'0' {
                    (
                        Rule::ZeroPaddedFilemode,
                        format!("has a zero-padded mode `{shown}`"),
                    )
                } else if mode_bytes == b"100664" {
                    (
                        Rule::BadFilemode,
                        "has the legacy mode `100664`".to_string(),
                    )
                } else {
                    (Rule::BadFilemode, format!("has the unknown mode `{shown}`"))
                };
                return Err(entry_err(rule, &what));
            }
        };

        // One pass over the name for the byte-level rules.
        let mut slash = false;
        let mut control = false;
        let mut backslash = false;
        for &b in name {
            match b {
                b'/' => slash = true,
                b'\\' => backslash = true,
                0..=0x1f | 0x7f => control = true,
                _ => {}
            }
        }
        if name.is_empty() {
            return Err(Malformed::new(
                ObjectKind::Tree,
                Rule::EmptyName,
                format!("entry {number} has an empty name"),
            ));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(entry_err(
                Rule::LargePathname,
                &format!(
                    "has a name of {} bytes (at most {MAX_NAME_LEN})",
                    name.len()
                ),
            ));
        }
        if slash {
            return Err(entry_err(Rule::FullPathname, "has a `/` in its name"));
        }
        if name == b"." {
            return Err(entry_err(Rule::HasDot, "is `.`"));
        }
        if name == b".." {
            return Err(entry_err(Rule::HasDotdot, "is `..`"));
        }
        if control && !options.allow_control_chars {
            return Err(entry_err(
                Rule::ControlCharInName,
                "has a control character in its name",
            ));
        }
        let dotgit = if backslash {
            is_dotgit_anywhere(name)
        } else {
            crate::dotgit::is_hfs_dotgit(name) || crate::dotgit::is_ntfs_dotgit(name)
        };
        if dotgit {
            return Err(entry_err(
                Rule::HasDotgit,
                "is a name a filesystem may read as `.git`",
            ));
        }
        if oid.iter().all(|&b| b == 0) {
            return Err(entry_err(
                Rule::NullObjectId,
                "points at the all-zero object id",
            ));
        }
        // Special files only matter as symlinks, directories or submodules.
        if mode != EntryMode::File && mode != EntryMode::Executable {
            for special in Special::ALL {
                if !is_special_anywhere(name, special) {
                    continue;
                }
                let shown = std::str::from_utf8(special.name()).expect("ASCII");
                let rule = match (mode, special) {
                    (EntryMode::Symlink, Special::Gitmodules) => Rule::GitmodulesSymlink,
                    (EntryMode::Symlink, Special::Gitattributes) => Rule::GitattributesSymlink,
                    (EntryMode::Symlink, Special::Gitignore) => Rule::GitignoreSymlink,
                    (EntryMode::Symlink, Special::Mailmap) => Rule::MailmapSymlink,
                    (_, Special::Gitmodules) => Rule::GitmodulesNotBlob,
                    (_, Special::Gitattributes) => Rule::GitattributesNotBlob,
                    _ => continue,
                };
                let what = if mode == EntryMode::Symlink {
                    format!("is `.{shown}` (as a filesystem may read it) and a symbolic link")
                } else {
                    format!(
                        "is `.{shown}` (as a filesystem may read it) and a {}",
                        if mode.is_tree() {
                            "directory"
                        } else {
                            "submodule"
                        }
                    )
                };
                return Err(entry_err(rule, &what));
            }
        }

        if let Some(prev) = entries.last() {
            if prev.name == name {
                return Err(entry_err(
                    Rule::DuplicateEntries,
                    &format!("has the same name as entry {}", number - 1),
                ));
            }
            if cmp_key(prev.name, prev.mode.is_tree(), name, mode.is_tree()) != Ordering::Less {
                return Err(entry_err(
                    Rule::TreeNotSorted,
                    &format!(
                        "sorts before entry {} `{}` (directories sort as `name/`)",
                        number - 1,
                        escape(prev.name)
                    ),
                ));
            }
            // A file of the same name sorts before the directory but need
            // not be next to it (`a`, `a.b`, `a/`): look it up.
            if mode.is_tree() {
                if let Ok(i) =
                    entries.binary_search_by(|e| cmp_key(e.name, e.mode.is_tree(), name, false))
                {
                    return Err(entry_err(
                        Rule::DuplicateEntries,
                        &format!("is a directory with the same name as entry {}", i + 1),
                    ));
                }
            }
        }
        entries.push(TreeEntry { mode, name, oid });
    }
    Ok(entries)
}

fn bad_tree(detail: String) -> Malformed {
    Malformed::new(ObjectKind::Tree, Rule::BadTree, detail)
}

/// git's tree order: names compared bytewise, a directory as if its name
/// ended with `/`.
fn cmp_key(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => {}
        other => return other,
    }
    let ka = a[n..].iter().copied().chain(a_dir.then_some(b'/'));
    let kb = b[n..].iter().copied().chain(b_dir.then_some(b'/'));
    ka.cmp(kb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order() {
        assert_eq!(cmp_key(b"a", false, b"a.c", false), Ordering::Less);
        assert_eq!(cmp_key(b"a.c", false, b"a", true), Ordering::Less);
        assert_eq!(cmp_key(b"a", true, b"a0", false), Ordering::Less);
        assert_eq!(cmp_key(b"a", false, b"a", true), Ordering::Less);
        assert_eq!(cmp_key(b"b", false, b"a", true), Ordering::Greater);
    }
}

#[cfg(test)]
mod rule_tests {
    use super::*;

    const ID: [u8; 20] = [0xab; 20];

    /// Builds a tree from `(mode, name)` pairs, every entry pointing at ID.
    fn tree(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut raw = Vec::new();
        for (mode, name) in entries {
            raw.extend_from_slice(mode.as_bytes());
            raw.push(b' ');
            raw.extend_from_slice(name);
            raw.push(0);
            raw.extend_from_slice(&ID);
        }
        raw
    }

    fn rule(entries: &[(&str, &[u8])]) -> Rule {
        check_tree(&tree(entries), HashKind::Sha1)
            .expect_err("should be refused")
            .rule()
    }

    #[test]
    fn parses_entries_in_git_order() {
        let raw = tree(&[
            ("100644", b"a"),
            ("100755", b"a.sh"),
            ("40000", b"a0"),
            ("100644", b"b.txt"),
            ("40000", b"b"),
            ("120000", b"c"),
            ("100644", "caf\u{e9}".as_bytes()),
            ("160000", b"d"),
        ]);
        let entries = check_tree(&raw, HashKind::Sha1).unwrap();
        let names: Vec<&[u8]> = entries.iter().map(|e| e.name).collect();
        assert_eq!(names.len(), 8);
        assert_eq!(entries[2].mode, EntryMode::Tree);
        assert_eq!(entries[4].mode, EntryMode::Tree);
        assert_eq!(entries[5].mode, EntryMode::Symlink);
        assert_eq!(entries[7].mode, EntryMode::Submodule);
        assert_eq!(entries[0].oid, &ID);
        assert!(check_tree(b"", HashKind::Sha1).unwrap().is_empty());
    }

    #[test]
    fn sorting_follows_directory_slash() {
        // `b.txt` < `b/` but `b` (file) < `b.txt`.
        assert!(check_tree(
            &tree(&[("100644", b"b.txt"), ("40000", b"b")]),
            HashKind::Sha1
        )
        .is_ok());
        assert_eq!(
            rule(&[("40000", b"b"), ("100644", b"b.txt")]),
            Rule::TreeNotSorted
        );
        assert_eq!(
            rule(&[("100644", b"b"), ("100644", b"a")]),
            Rule::TreeNotSorted
        );
        assert_eq!(
            rule(&[("100644", b"ab"), ("100644", b"a")]),
            Rule::TreeNotSorted
        );
    }

    #[test]
    fn refuses_duplicates() {
        assert_eq!(
            rule(&[("100644", b"a"), ("100644", b"a")]),
            Rule::DuplicateEntries
        );
        assert_eq!(
            rule(&[("100644", b"a"), ("40000", b"a")]),
            Rule::DuplicateEntries
        );
        assert_eq!(
            rule(&[("40000", b"a"), ("100644", b"a")]),
            Rule::DuplicateEntries
        );
        // Not adjacent: `foo`, `foo.bar`, `foo.bar.baz`, `foo.bar/`, `foo/`.
        let e = check_tree(
            &tree(&[
                ("100644", b"foo"),
                ("100644", b"foo.bar"),
                ("100644", b"foo.bar.baz"),
                ("40000", b"foo.bar"),
            ]),
            HashKind::Sha1,
        )
        .unwrap_err();
        assert_eq!(e.rule(), Rule::DuplicateEntries);
        assert_eq!(
            e.to_string(),
            "malformed tree: entry 4 `foo.bar` is a directory with the same name as entry 2"
        );
        assert_eq!(
            rule(&[
                ("100644", b"foo"),
                ("100644", b"foo.bar"),
                ("40000", b"foo.bar.baz"),
                ("40000", b"foo"),
            ]),
            Rule::DuplicateEntries
        );
    }

    #[test]
    fn refuses_bad_modes() {
        assert_eq!(rule(&[("040000", b"a")]), Rule::ZeroPaddedFilemode);
        assert_eq!(rule(&[("0100644", b"a")]), Rule::ZeroPaddedFilemode);
        assert_eq!(rule(&[("100664", b"a")]), Rule::BadFilemode);
        assert_eq!(rule(&[("100600", b"a")]), Rule::BadFilemode);
        assert_eq!(rule(&[("1100644", b"a")]), Rule::BadFilemode);
        assert_eq!(rule(&[("100000", b"a")]), Rule::BadFilemode);
        assert_eq!(rule(&[("100648", b"a")]), Rule::BadTree);
        assert_eq!(rule(&[("", b"a")]), Rule::BadTree);
        assert_eq!(rule(&[("10064x", b"a")]), Rule::BadTree);
    }

    #[test]
    fn refuses_bad_names() {
        assert_eq!(rule(&[("100644", b"")]), Rule::EmptyName);
        assert_eq!(rule(&[("100644", b"a/b")]), Rule::FullPathname);
        assert_eq!(rule(&[("100644", b".")]), Rule::HasDot);
        assert_eq!(rule(&[("40000", b"..")]), Rule::HasDotdot);
        assert_eq!(rule(&[("40000", &[b'x'; 4097])]), Rule::LargePathname);
        assert!(check_tree(&tree(&[("100644", &[b'x'; 4096])]), HashKind::Sha1).is_ok());
        for name in [
            ".git",
            ".GIT",
            "git~1",
            ".git.",
            ".git  ",
            ".git::$INDEX_ALLOCATION",
            "\u{200c}.git",
            ".gi\u{200d}t",
            "a\\.git",
            "x\\GIT~1",
        ] {
            assert_eq!(
                rule(&[("40000", name.as_bytes())]),
                Rule::HasDotgit,
                "{name:?}"
            );
            assert_eq!(
                rule(&[("100644", name.as_bytes())]),
                Rule::HasDotgit,
                "{name:?}"
            );
        }
    }

    #[test]
    fn control_characters_need_the_option() {
        for name in [
            &b"a\nb"[..],
            b"a\x1b[31m",
            b"tab\there",
            b"cr\r",
            b"del\x7f",
        ] {
            let raw = tree(&[("100644", name)]);
            let e = check_tree(&raw, HashKind::Sha1).unwrap_err();
            assert_eq!(e.rule(), Rule::ControlCharInName);
            let options = TreeOptions {
                allow_control_chars: true,
            };
            assert!(check_tree_with(&raw, HashKind::Sha1, options).is_ok());
        }
        let e = check_tree(&tree(&[("100644", b"a\nb")]), HashKind::Sha1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed tree: entry 1 `a\\nb` has a control character in its name"
        );
        // Bytes above 0x7f are not control characters here.
        assert!(check_tree(&tree(&[("100644", b"\xff\x80")]), HashKind::Sha1).is_ok());
    }

    #[test]
    fn refuses_special_files_as_symlinks_or_directories() {
        assert_eq!(rule(&[("120000", b".gitmodules")]), Rule::GitmodulesSymlink);
        assert_eq!(rule(&[("120000", b"GITMOD~1")]), Rule::GitmodulesSymlink);
        assert_eq!(
            rule(&[("120000", b".gitmodules ")]),
            Rule::GitmodulesSymlink
        );
        assert_eq!(
            rule(&[("120000", "\u{200c}.gitmodules".as_bytes())]),
            Rule::GitmodulesSymlink
        );
        assert_eq!(
            rule(&[("120000", b"x\\.gitmodules")]),
            Rule::GitmodulesSymlink
        );
        assert_eq!(
            rule(&[("120000", b".gitattributes")]),
            Rule::GitattributesSymlink
        );
        assert_eq!(rule(&[("120000", b".GITIGNORE")]), Rule::GitignoreSymlink);
        assert_eq!(rule(&[("120000", b".mailmap")]), Rule::MailmapSymlink);
        assert_eq!(rule(&[("40000", b".gitmodules")]), Rule::GitmodulesNotBlob);
        assert_eq!(rule(&[("160000", b".gitmodules")]), Rule::GitmodulesNotBlob);
        assert_eq!(
            rule(&[("40000", b".gitattributes")]),
            Rule::GitattributesNotBlob
        );
        for (mode, name) in [
            ("100644", &b".gitmodules"[..]),
            ("100755", b".gitattributes"),
            ("40000", b".gitignore"),
            ("40000", b".mailmap"),
            ("120000", b".gitmodules2"),
            ("120000", b"gitmodules"),
        ] {
            assert!(
                check_tree(&tree(&[(mode, name)]), HashKind::Sha1).is_ok(),
                "{name:?}"
            );
        }
    }

    #[test]
    fn refuses_null_ids_and_truncation() {
        let mut raw = b"100644 a\0".to_vec();
        raw.extend_from_slice(&[0; 20]);
        assert_eq!(
            check_tree(&raw, HashKind::Sha1).unwrap_err().rule(),
            Rule::NullObjectId
        );
        let raw = tree(&[("100644", b"a")]);
        for cut in 1..raw.len() {
            let e = check_tree(&raw[..cut], HashKind::Sha1).unwrap_err();
            assert_eq!(e.rule(), Rule::BadTree, "cut at {cut}");
        }
        // A SHA-1 tree read as SHA-256: ids are too short.
        assert_eq!(
            check_tree(&raw, HashKind::Sha256).unwrap_err().rule(),
            Rule::BadTree
        );
        let e = check_tree(b"100644 a", HashKind::Sha1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed tree: entry 1 `a` has no NUL after its name"
        );
    }
}
