//! Names that a filesystem may treat as `.git`, `.gitmodules`, ...
//!
//! The rules follow git's `is_hfs_dotgit` (utf8.c) and `is_ntfs_dotgit`
//! (path.c): HFS+ ignores some Unicode code points and folds case; NTFS
//! folds case, drops trailing spaces and dots, reads `name:stream` as
//! `name`, and has 8.3 short names (`GIT~1`, `GITMOD~1`, `GI7EBA~1`, ...).
//! Input is an entry name without its terminating NUL; a byte past the end
//! reads as 0, as git's C strings do.

/// The special files we know, with the prefix of their 8.3 fallback short
/// name (derived by git from a hash of the long name; see path.c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    Gitmodules,
    Gitattributes,
    Gitignore,
    Mailmap,
}

impl Special {
    pub(crate) const ALL: [Special; 4] = [
        Special::Gitmodules,
        Special::Gitattributes,
        Special::Gitignore,
        Special::Mailmap,
    ];

    /// Name without the leading dot.
    pub(crate) fn name(self) -> &'static [u8] {
        match self {
            Special::Gitmodules => b"gitmodules",
            Special::Gitattributes => b"gitattributes",
            Special::Gitignore => b"gitignore",
            Special::Mailmap => b"mailmap",
        }
    }

    fn ntfs_short_prefix(self) -> &'static [u8; 6] {
        match self {
            Special::Gitmodules => b"gi7eba",
            Special::Gitattributes => b"gi7d29",
            Special::Gitignore => b"gi250a",
            Special::Mailmap => b"maba30",
        }
    }
}

#[inline]
fn at(name: &[u8], i: usize) -> u8 {
    name.get(i).copied().unwrap_or(0)
}

/// `.git` as NTFS may read it: `.git`, `git~1` in any case, followed by
/// nothing, or by spaces and dots up to the end, a `:` or a slash/backslash.
pub(crate) fn is_ntfs_dotgit(name: &[u8]) -> bool {
    let mut i = match at(name, 0) {
        b'.' => {
            if !(at(name, 1).eq_ignore_ascii_case(&b'g')
                && at(name, 2).eq_ignore_ascii_case(&b'i')
                && at(name, 3).eq_ignore_ascii_case(&b't'))
            {
                return false;
            }
            4
        }
        b'g' | b'G' => {
            if !(at(name, 1).eq_ignore_ascii_case(&b'i')
                && at(name, 2).eq_ignore_ascii_case(&b't')
                && at(name, 3) == b'~'
                && at(name, 4) == b'1')
            {
                return false;
            }
            5
        }
        _ => return false,
    };
    loop {
        match at(name, i) {
            0 | b'/' | b'\\' | b':' => return true,
            b'.' | b' ' => i += 1,
            _ => return false,
        }
    }
}

/// From `i` on, only spaces and dots up to the end or a `:`.
fn only_spaces_and_dots(name: &[u8], mut i: usize) -> bool {
    loop {
        match at(name, i) {
            0 | b':' => return true,
            b' ' | b'.' => i += 1,
            _ => return false,
        }
    }
}

/// `.gitmodules` (and the others) as NTFS may read it, git's
/// `is_ntfs_dot_generic`.
pub(crate) fn is_ntfs_dot(name: &[u8], special: Special) -> bool {
    let long = special.name();
    let len = long.len();
    // `.gitmodules` in any case, then only spaces and dots.
    if at(name, 0) == b'.' && name.len() > len && name[1..=len].eq_ignore_ascii_case(long) {
        return only_spaces_and_dots(name, len + 1);
    }
    // The regular short name: the first six characters, `~1` .. `~4`.
    if name.len() >= 8
        && name[..6].eq_ignore_ascii_case(&long[..6])
        && name[6] == b'~'
        && (b'1'..=b'4').contains(&name[7])
    {
        return only_spaces_and_dots(name, 8);
    }
    // The fall-back short name: up to six characters of a prefix git
    // derives from a hash, `~`, a digit 1-9, more digits, eight in all.
    let prefix = special.ntfs_short_prefix();
    let mut saw_tilde = false;
    let mut i = 0;
    while i < 8 {
        let c = at(name, i);
        if c == 0 {
            return false;
        } else if saw_tilde {
            if !c.is_ascii_digit() {
                return false;
            }
        } else if c == b'~' {
            i += 1;
            if !(b'1'..=b'9').contains(&at(name, i)) {
                return false;
            }
            saw_tilde = true;
        } else if i >= 6 || c & 0x80 != 0 || c.to_ascii_lowercase() != prefix[i] {
            return false;
        }
        i += 1;
    }
    only_spaces_and_dots(name, i)
}

/// Decodes one UTF-8 character at `*i` as git's `pick_one_utf8_char`
/// does (no overlongs, no surrogates, no U+FFFE/U+FFFF, at most U+10FFFF).
/// `None` for invalid UTF-8; `Some(0)` at the end.
fn next_utf8(name: &[u8], i: &mut usize) -> Option<u32> {
    let s = &name[(*i).min(name.len())..];
    let Some(&b0) = s.first() else {
        return Some(0);
    };
    let cont = |k: usize| s.get(k).is_some_and(|b| b & 0xc0 == 0x80);
    let (ch, len) = if b0 < 0x80 {
        (u32::from(b0), 1)
    } else if b0 & 0xe0 == 0xc0 {
        if !cont(1) || b0 & 0xfe == 0xc0 {
            return None;
        }
        ((u32::from(b0 & 0x1f) << 6) | u32::from(s[1] & 0x3f), 2)
    } else if b0 & 0xf0 == 0xe0 {
        if !cont(1)
            || !cont(2)
            || (b0 == 0xe0 && s[1] & 0xe0 == 0x80)
            || (b0 == 0xed && s[1] & 0xe0 == 0xa0)
            || (b0 == 0xef && s[1] == 0xbf && s[2] & 0xfe == 0xbe)
        {
            return None;
        }
        (
            (u32::from(b0 & 0x0f) << 12) | (u32::from(s[1] & 0x3f) << 6) | u32::from(s[2] & 0x3f),
            3,
        )
    } else if b0 & 0xf8 == 0xf0 {
        if !cont(1)
            || !cont(2)
            || !cont(3)
            || (b0 == 0xf0 && s[1] & 0xf0 == 0x80)
            || (b0 == 0xf4 && s[1] > 0x8f)
            || b0 > 0xf4
        {
            return None;
        }
        (
            (u32::from(b0 & 0x07) << 18)
                | (u32::from(s[1] & 0x3f) << 12)
                | (u32::from(s[2] & 0x3f) << 6)
                | u32::from(s[3] & 0x3f),
            4,
        )
    } else {
        return None;
    };
    *i += len;
    Some(ch)
}

/// Code points HFS+ ignores when it compares names.
fn hfs_ignorable(c: u32) -> bool {
    matches!(c, 0x200c..=0x200f | 0x202a..=0x202e | 0x206a..=0x206f | 0xfeff)
}

/// The next character HFS+ would compare: ignorable code points skipped,
/// invalid UTF-8 read as 0 (git: "good enough to realize it cannot be .git").
fn next_hfs_char(name: &[u8], i: &mut usize) -> u32 {
    loop {
        match next_utf8(name, i) {
            None => return 0,
            Some(c) if hfs_ignorable(c) => continue,
            Some(c) => return c,
        }
    }
}

/// `.<needle>` as HFS+ may read it: ignorable code points anywhere, any
/// ASCII case, then the end (or a slash).
fn is_hfs_dot_str(name: &[u8], needle: &[u8]) -> bool {
    let mut i = 0;
    if next_hfs_char(name, &mut i) != u32::from(b'.') {
        return false;
    }
    for &n in needle {
        let c = next_hfs_char(name, &mut i);
        if c > 127 || (c as u8).to_ascii_lowercase() != n {
            return false;
        }
    }
    let c = next_hfs_char(name, &mut i);
    c == 0 || c == u32::from(b'/')
}

pub(crate) fn is_hfs_dotgit(name: &[u8]) -> bool {
    is_hfs_dot_str(name, b"git")
}

pub(crate) fn is_hfs_dot(name: &[u8], special: Special) -> bool {
    is_hfs_dot_str(name, special.name())
}

/// `.git` under any of the rules, also after a backslash (a directory
/// separator on Windows).
pub(crate) fn is_dotgit_anywhere(name: &[u8]) -> bool {
    if is_hfs_dotgit(name) || is_ntfs_dotgit(name) {
        return true;
    }
    backslash_tails(name).any(is_ntfs_dotgit)
}

/// `special` under either rule, also after a backslash.
pub(crate) fn is_special_anywhere(name: &[u8], special: Special) -> bool {
    if is_hfs_dot(name, special) || is_ntfs_dot(name, special) {
        return true;
    }
    backslash_tails(name).any(|tail| is_ntfs_dot(tail, special))
}

/// The parts of `name` after each backslash.
fn backslash_tails(name: &[u8]) -> impl Iterator<Item = &[u8]> {
    name.iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\\')
        .map(move |(i, _)| &name[i + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntfs_dotgit_variants() {
        for name in [
            ".git",
            ".GIT",
            ".Git",
            "git~1",
            "GIT~1",
            ".git.",
            ".git ",
            ".git. . ",
            ".git::$INDEX_ALLOCATION",
            ".git:stream",
            "git~1 .",
        ] {
            assert!(is_ntfs_dotgit(name.as_bytes()), "{name:?}");
        }
        for name in [
            ".gitx", ".gi", "git", "git~2", ".git~1", "x.git", ".git-x", "",
        ] {
            assert!(!is_ntfs_dotgit(name.as_bytes()), "{name:?}");
        }
    }

    #[test]
    fn hfs_dotgit_variants() {
        for name in [
            ".git",
            ".GIT",
            "\u{200c}.git",
            ".g\u{200d}it",
            ".gi\u{feff}t",
            ".git\u{200e}",
            ".\u{202e}GiT",
            ".git\u{206f}\u{206a}",
        ] {
            assert!(is_hfs_dotgit(name.as_bytes()), "{name:?}");
        }
        for name in [".gitx", ".gi", ".g\u{200b}it", "\u{2000}.git", "git"] {
            assert!(!is_hfs_dotgit(name.as_bytes()), "{name:?}");
        }
        // git reads invalid UTF-8 after `.git` as the end of the name.
        assert!(is_hfs_dotgit(b".git\xff"));
        assert!(!is_hfs_dotgit(b".gi\xfft"));
        // An overlong encoding of `.` is invalid, not a dot.
        assert!(!is_hfs_dotgit(b"\xc0\xaegit"));
    }

    #[test]
    fn special_files() {
        let m = Special::Gitmodules;
        for name in [
            ".gitmodules",
            ".GITMODULES",
            ".gitmodules ",
            ".gitmodules.",
            ".gitmodules::$DATA",
            "gitmod~1",
            "GITMOD~4",
            "gi7eba~1",
            "GI7EBA~9",
            "gi7eb~12",
            "gi7e~123",
            "\u{200c}.gitmodules",
        ] {
            assert!(is_special_anywhere(name.as_bytes(), m), "{name:?}");
        }
        for name in [
            ".gitmodulesx",
            "gitmod~5",
            "gitmod~0",
            "gi7eba~0",
            "gi7eba~1x",
            "gi7ebb~1",
            "gitmodules",
            ".gitmodule",
        ] {
            assert!(!is_special_anywhere(name.as_bytes(), m), "{name:?}");
        }
        assert!(is_special_anywhere(
            b".gitattributes",
            Special::Gitattributes
        ));
        assert!(is_special_anywhere(b"gi7d29~1", Special::Gitattributes));
        assert!(is_special_anywhere(b".GitIgnore", Special::Gitignore));
        assert!(is_special_anywhere(b"gi250a~1", Special::Gitignore));
        assert!(is_special_anywhere(b".mailmap ", Special::Mailmap));
        assert!(is_special_anywhere(b"maba30~1", Special::Mailmap));
    }

    #[test]
    fn after_backslash() {
        assert!(is_dotgit_anywhere(b"a\\.git"));
        assert!(is_dotgit_anywhere(b"a\\b\\GIT~1"));
        assert!(!is_dotgit_anywhere(b"a\\b"));
        assert!(is_special_anywhere(b"x\\.gitmodules", Special::Gitmodules));
    }
}
