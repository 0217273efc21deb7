//! The table of malformed objects: what this crate says, and what git says.
//!
//! To add a case, add a line to `all()` and run
//! `PUSHGUARD_FSCK_BLESS=1 cargo test -p pushguard-fsck --test baseline`
//! to write its corpus file under `tests/corpus/`.

use pushguard_fsck::{HashKind, Rule};

use super::unhex;

/// What `git fsck` does with a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Git {
    /// Refused by `git fsck --strict` (what `receive.fsckObjects` runs),
    /// reporting this message id.
    Refuses(&'static str),
    /// Reported at level "info" or "ignore" by default: refused only with
    /// `-c fsck.<msgId>=error`.
    RefusesWhenAsked(&'static str),
    /// git cannot even parse it (`object could not be parsed`), so fsck
    /// never names a rule; refused all the same.
    CannotParse,
    /// git has no rule against it: we are stricter.
    Accepts,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Commit,
    Tag,
    Tree,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Tag => "tag",
            Kind::Tree => "tree",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Case {
    /// File name under `tests/corpus/<kind>/`; SHA-256 cases start with
    /// `sha256-`.
    pub name: &'static str,
    pub kind: Kind,
    pub hash: HashKind,
    pub bytes: Vec<u8>,
    /// The rule this crate must report.
    pub ours: Rule,
    pub git: Git,
}

/// Objects every case may point at, written into each test repository.
pub struct Ids {
    pub tree: &'static str,
    pub blob: &'static str,
    pub commit: &'static str,
}

impl Ids {
    pub fn of(hash: HashKind) -> Ids {
        match hash {
            HashKind::Sha1 => Ids {
                tree: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                blob: "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
                commit: "1171e3bf414c32e7b945404b3ebeab1d0eb68c57",
            },
            HashKind::Sha256 => Ids {
                tree: "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
                blob: "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813",
                commit: "3259496c4548346e01acabf6dcc58861c7f66f1895ea56c2e65852a3daeb9257",
            },
        }
    }
}

pub fn base_commit(hash: HashKind) -> Vec<u8> {
    format!(
        "tree {}\nauthor Base <base@example.com> 1700000000 +0000\n\
         committer Base <base@example.com> 1700000000 +0000\n\nbase\n",
        Ids::of(hash).tree
    )
    .into_bytes()
}

/// A submodule commit id that need not exist.
const GITLINK: &str = "89abcdef0123456789abcdef0123456789abcdef";

const AUTHOR: &str = "author A U Thor <author@example.com> 1700000000 +0100\n";
const COMMITTER: &str = "committer C O Mitter <committer@example.com> 1700000100 -0130\n";
const TAGGER: &str = "tagger T A Gger <tagger@example.com> 1700000200 +0000\n";
const SIG: &str =
    "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----\n";
const GPGSIG: &str = "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n =abcd\n -----END PGP SIGNATURE-----\n";

fn commit(name: &'static str, hash: HashKind, headers: String, ours: Rule, git: Git) -> Case {
    Case {
        name,
        kind: Kind::Commit,
        hash,
        bytes: format!("{headers}\nA message.\n").into_bytes(),
        ours,
        git,
    }
}

fn tag(name: &'static str, hash: HashKind, headers: String, ours: Rule, git: Git) -> Case {
    Case {
        name,
        kind: Kind::Tag,
        hash,
        bytes: format!("{headers}\nA message.\n").into_bytes(),
        ours,
        git,
    }
}

fn raw(
    name: &'static str,
    kind: Kind,
    hash: HashKind,
    bytes: Vec<u8>,
    ours: Rule,
    git: Git,
) -> Case {
    Case {
        name,
        kind,
        hash,
        bytes,
        ours,
        git,
    }
}

/// A tree entry.
fn e(mode: &str, name: &[u8], hex: &str) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(mode.as_bytes());
    out.push(b' ');
    out.extend_from_slice(name);
    out.push(0);
    out.extend_from_slice(&unhex(hex));
    out
}

fn tree(name: &'static str, hash: HashKind, entries: Vec<Vec<u8>>, ours: Rule, git: Git) -> Case {
    Case {
        name,
        kind: Kind::Tree,
        hash,
        bytes: entries.concat(),
        ours,
        git,
    }
}

/// The table.
pub fn all() -> Vec<Case> {
    use Git::*;
    use HashKind::*;
    let s1 = Ids::of(Sha1);
    let s256 = Ids::of(Sha256);
    let t = s1.tree;
    let b = s1.blob;
    let p = s1.commit;
    let (a, c) = (AUTHOR, COMMITTER);
    // Headers of a well-formed commit / tag, to break one thing at a time.
    let ok_commit = format!("tree {t}\nparent {p}\n{a}{c}");
    let ok_tag = format!("object {p}\ntype commit\ntag v1.0\n{TAGGER}");
    let with_author = |author: &str| format!("tree {t}\nauthor {author}\n{c}");
    let with_committer = |committer: &str| format!("tree {t}\n{a}committer {committer}\n");

    let mut cases = vec![
        // ---------------- commits ----------------
        commit(
            "duplicate-committer",
            Sha1,
            format!("{ok_commit}committer Mallory <mallory@example.com> 1700000100 +0000\n"),
            Rule::DuplicateHeader,
            Accepts,
        ),
        commit(
            "duplicate-author",
            Sha1,
            format!("tree {t}\n{a}{a}{c}"),
            Rule::DuplicateHeader,
            Refuses("multipleAuthors"),
        ),
        commit(
            "duplicate-tree",
            Sha1,
            format!("tree {t}\ntree {t}\n{a}{c}"),
            Rule::DuplicateHeader,
            Refuses("missingAuthor"),
        ),
        commit(
            "duplicate-gpgsig",
            Sha1,
            format!("{ok_commit}{GPGSIG}{GPGSIG}"),
            Rule::DuplicateHeader,
            Accepts,
        ),
        commit(
            "duplicate-encoding",
            Sha1,
            format!("{ok_commit}encoding ISO-8859-1\nencoding UTF-8\n"),
            Rule::DuplicateHeader,
            Accepts,
        ),
        commit(
            "missing-tree",
            Sha1,
            format!("parent {p}\n{a}{c}"),
            Rule::MissingTree,
            CannotParse,
        ),
        commit(
            "tree-after-parent",
            Sha1,
            format!("parent {p}\ntree {t}\n{a}{c}"),
            Rule::MissingTree,
            CannotParse,
        ),
        commit(
            "missing-author",
            Sha1,
            format!("tree {t}\n{c}"),
            Rule::MissingAuthor,
            Refuses("missingAuthor"),
        ),
        commit(
            "missing-committer",
            Sha1,
            format!("tree {t}\n{a}"),
            Rule::MissingCommitter,
            Refuses("missingCommitter"),
        ),
        commit(
            "committer-before-author",
            Sha1,
            format!("tree {t}\n{c}{a}"),
            Rule::MissingAuthor,
            Refuses("missingAuthor"),
        ),
        commit(
            "parent-after-author",
            Sha1,
            format!("tree {t}\n{a}parent {p}\n{c}"),
            Rule::HeaderOutOfOrder,
            Refuses("missingCommitter"),
        ),
        commit(
            "parent-after-committer",
            Sha1,
            format!("tree {t}\n{a}{c}parent {p}\n"),
            Rule::HeaderOutOfOrder,
            Accepts,
        ),
        commit(
            "encoding-before-committer",
            Sha1,
            format!("tree {t}\n{a}encoding ISO-8859-1\n{c}"),
            Rule::MissingCommitter,
            Refuses("missingCommitter"),
        ),
        commit(
            "unknown-header",
            Sha1,
            format!("{ok_commit}x-approved-by someone\n"),
            Rule::UnknownHeader,
            Accepts,
        ),
        commit(
            "unknown-header-before-committer",
            Sha1,
            format!("tree {t}\n{a}x-approved-by someone\n{c}"),
            Rule::UnknownHeader,
            Refuses("missingCommitter"),
        ),
        commit(
            "capitalised-committer",
            Sha1,
            format!("{ok_commit}Committer Mallory <mallory@example.com> 1700000100 +0000\n"),
            Rule::UnknownHeader,
            Accepts,
        ),
        commit(
            "continuation-after-committer",
            Sha1,
            format!("{ok_commit} continued\n"),
            Rule::BadHeaderContinuation,
            Accepts,
        ),
        commit(
            "empty-encoding",
            Sha1,
            format!("{ok_commit}encoding \n"),
            Rule::EmptyHeaderValue,
            Accepts,
        ),
        commit(
            "tree-id-short",
            Sha1,
            format!("tree {}\n{a}{c}", &t[..39]),
            Rule::BadTreeHex,
            CannotParse,
        ),
        commit(
            "tree-id-uppercase",
            Sha1,
            format!("tree {}\n{a}{c}", t.to_uppercase()),
            Rule::BadTreeHex,
            Accepts,
        ),
        commit(
            "tree-id-trailing-space",
            Sha1,
            format!("tree {t} \n{a}{c}"),
            Rule::BadTreeHex,
            CannotParse,
        ),
        commit(
            "tree-id-sha256-in-sha1-repo",
            Sha1,
            format!("tree {}\n{a}{c}", s256.tree),
            Rule::BadTreeHex,
            CannotParse,
        ),
        commit(
            "parent-id-not-hex",
            Sha1,
            format!("tree {t}\nparent {}x\n{a}{c}", &p[..39]),
            Rule::BadParentHex,
            CannotParse,
        ),
        commit(
            "nul-in-header",
            Sha1,
            format!(
                "tree {t}\n{a}committer C O Mitter <committer@example.com>\0 1700000100 -0130\n"
            ),
            Rule::NulByte,
            Refuses("nulInHeader"),
        ),
        raw(
            "nul-in-message",
            Kind::Commit,
            Sha1,
            format!("{ok_commit}\nA message\0 with a NUL.\n").into_bytes(),
            Rule::NulByte,
            Refuses("nulInCommit"),
        ),
        raw(
            "unterminated-header",
            Kind::Commit,
            Sha1,
            ok_commit.trim_end().as_bytes().to_vec(),
            Rule::UnterminatedHeader,
            Refuses("unterminatedHeader"),
        ),
        raw(
            "no-blank-line",
            Kind::Commit,
            Sha1,
            ok_commit.clone().into_bytes(),
            Rule::MissingBlankLine,
            Accepts,
        ),
        // Identities.
        commit(
            "author-missing-name",
            Sha1,
            with_author("<author@example.com> 1700000000 +0000"),
            Rule::MissingNameBeforeEmail,
            Refuses("missingNameBeforeEmail"),
        ),
        commit(
            "author-missing-email",
            Sha1,
            with_author("A U Thor 1700000000 +0000"),
            Rule::MissingEmail,
            Refuses("missingEmail"),
        ),
        commit(
            "author-gt-in-name",
            Sha1,
            with_author("A U> Thor <author@example.com> 1700000000 +0000"),
            Rule::BadName,
            Refuses("badName"),
        ),
        commit(
            "author-no-space-before-email",
            Sha1,
            with_author("A U Thor<author@example.com> 1700000000 +0000"),
            Rule::MissingSpaceBeforeEmail,
            Refuses("missingSpaceBeforeEmail"),
        ),
        commit(
            "committer-lt-in-email",
            Sha1,
            with_committer("C O Mitter <committer<@example.com> 1700000100 -0130"),
            Rule::BadEmail,
            Refuses("badEmail"),
        ),
        commit(
            "committer-unterminated-email",
            Sha1,
            with_committer("C O Mitter <committer@example.com 1700000100 -0130"),
            Rule::BadEmail,
            Refuses("badEmail"),
        ),
        commit(
            "committer-no-space-before-date",
            Sha1,
            with_committer("C O Mitter <committer@example.com>1700000100 -0130"),
            Rule::MissingSpaceBeforeDate,
            Refuses("missingSpaceBeforeDate"),
        ),
        commit(
            "committer-date-not-digits",
            Sha1,
            with_committer("C O Mitter <committer@example.com> yesterday -0130"),
            Rule::BadDate,
            Refuses("badDate"),
        ),
        commit(
            "committer-two-spaces-before-date",
            Sha1,
            with_committer("C O Mitter <committer@example.com>  1700000100 -0130"),
            Rule::BadDate,
            Accepts,
        ),
        commit(
            "committer-zero-padded-date",
            Sha1,
            with_committer("C O Mitter <committer@example.com> 01700000100 -0130"),
            Rule::ZeroPaddedDate,
            Refuses("zeroPaddedDate"),
        ),
        commit(
            "committer-date-overflow",
            Sha1,
            with_committer("C O Mitter <committer@example.com> 99999999999999999999 -0130"),
            Rule::BadDateOverflow,
            Refuses("badDateOverflow"),
        ),
        commit(
            "committer-date-above-i64",
            Sha1,
            with_committer("C O Mitter <committer@example.com> 9223372036854775808 -0130"),
            Rule::BadDateOverflow,
            Refuses("badDateOverflow"),
        ),
        commit(
            "committer-zone-three-digits",
            Sha1,
            with_committer("C O Mitter <committer@example.com> 1700000100 -013"),
            Rule::BadTimezone,
            Refuses("badTimezone"),
        ),
        commit(
            "committer-zone-no-sign",
            Sha1,
            with_committer("C O Mitter <committer@example.com> 1700000100 0130"),
            Rule::BadTimezone,
            Refuses("badTimezone"),
        ),
        commit(
            "committer-zone-carriage-return",
            Sha1,
            with_committer("C O Mitter <committer@example.com> 1700000100 -0130\r"),
            Rule::BadTimezone,
            Refuses("badTimezone"),
        ),
        commit(
            "sha256-duplicate-committer",
            Sha256,
            format!("tree {}\nparent {}\n{a}{c}{c}", s256.tree, s256.commit),
            Rule::DuplicateHeader,
            Accepts,
        ),
        commit(
            "sha256-tree-id-sha1",
            Sha256,
            format!("tree {t}\n{a}{c}"),
            Rule::BadTreeHex,
            CannotParse,
        ),
        // ---------------- tags ----------------
        tag(
            "missing-object",
            Sha1,
            format!("type commit\ntag v1.0\n{TAGGER}"),
            Rule::MissingObject,
            CannotParse,
        ),
        tag(
            "object-id-short",
            Sha1,
            format!("object {}\ntype commit\ntag v1.0\n{TAGGER}", &p[..38]),
            Rule::BadObjectHex,
            CannotParse,
        ),
        tag(
            "duplicate-object",
            Sha1,
            format!("object {p}\nobject {t}\ntype commit\ntag v1.0\n{TAGGER}"),
            Rule::DuplicateHeader,
            CannotParse,
        ),
        tag(
            "missing-type",
            Sha1,
            format!("object {p}\ntag v1.0\n{TAGGER}"),
            Rule::MissingType,
            CannotParse,
        ),
        tag(
            "bad-type",
            Sha1,
            format!("object {p}\ntype changeset\ntag v1.0\n{TAGGER}"),
            Rule::BadType,
            CannotParse,
        ),
        tag(
            "missing-tag-name",
            Sha1,
            format!("object {p}\ntype commit\n{TAGGER}"),
            Rule::MissingTagName,
            CannotParse,
        ),
        tag(
            "tag-name-dotdot",
            Sha1,
            format!("object {p}\ntype commit\ntag v1..0\n{TAGGER}"),
            Rule::BadTagName,
            RefusesWhenAsked("badTagName"),
        ),
        tag(
            "tag-name-space",
            Sha1,
            format!("object {p}\ntype commit\ntag v1 0\n{TAGGER}"),
            Rule::BadTagName,
            RefusesWhenAsked("badTagName"),
        ),
        tag(
            "tag-name-escape",
            Sha1,
            format!("object {p}\ntype commit\ntag v1\x1b[2J\n{TAGGER}"),
            Rule::BadTagName,
            RefusesWhenAsked("badTagName"),
        ),
        tag(
            "missing-tagger",
            Sha1,
            format!("object {p}\ntype commit\ntag v1.0\n"),
            Rule::MissingTagger,
            RefusesWhenAsked("missingTaggerEntry"),
        ),
        tag(
            "tagger-bad-email",
            Sha1,
            format!("object {p}\ntype commit\ntag v1.0\ntagger T <t<@example.com> 1 +0000\n"),
            Rule::BadEmail,
            Refuses("badEmail"),
        ),
        tag(
            "duplicate-tagger",
            Sha1,
            format!("{ok_tag}tagger Mallory <mallory@example.com> 1700000200 +0000\n"),
            Rule::DuplicateHeader,
            RefusesWhenAsked("extraHeaderEntry"),
        ),
        tag(
            "unknown-header",
            Sha1,
            format!("{ok_tag}x-approved-by someone\n"),
            Rule::UnknownHeader,
            RefusesWhenAsked("extraHeaderEntry"),
        ),
        tag(
            "duplicate-gpgsig",
            Sha1,
            format!("{ok_tag}{GPGSIG}{GPGSIG}"),
            Rule::DuplicateHeader,
            RefusesWhenAsked("extraHeaderEntry"),
        ),
        tag(
            "nul-in-header",
            Sha1,
            format!("object {p}\ntype commit\ntag v1.0\0\n{TAGGER}"),
            Rule::NulByte,
            Refuses("nulInHeader"),
        ),
        raw(
            "nul-in-message",
            Kind::Tag,
            Sha1,
            format!("{ok_tag}\nA message\0 with a NUL.\n").into_bytes(),
            Rule::NulByte,
            Accepts,
        ),
        raw(
            "unterminated-header",
            Kind::Tag,
            Sha1,
            ok_tag.trim_end().as_bytes().to_vec(),
            Rule::UnterminatedHeader,
            Refuses("unterminatedHeader"),
        ),
        raw(
            "no-blank-line",
            Kind::Tag,
            Sha1,
            ok_tag.clone().into_bytes(),
            Rule::MissingBlankLine,
            Accepts,
        ),
        raw(
            "two-signatures",
            Kind::Tag,
            Sha1,
            format!("{ok_tag}\nA message.\n{SIG}{SIG}").into_bytes(),
            Rule::DuplicateSignature,
            Accepts,
        ),
        tag(
            "sha256-missing-tagger",
            Sha256,
            format!("object {}\ntype commit\ntag v1.0\n", s256.commit),
            Rule::MissingTagger,
            RefusesWhenAsked("missingTaggerEntry"),
        ),
        // ---------------- trees ----------------
        tree(
            "zero-padded-mode",
            Sha1,
            vec![e("040000", b"dir", t)],
            Rule::ZeroPaddedFilemode,
            Refuses("zeroPaddedFilemode"),
        ),
        tree(
            "legacy-mode-100664",
            Sha1,
            vec![e("100664", b"file", b)],
            Rule::BadFilemode,
            RefusesWhenAsked("badFilemode"),
        ),
        tree(
            "unknown-mode-100600",
            Sha1,
            vec![e("100600", b"file", b)],
            Rule::BadFilemode,
            RefusesWhenAsked("badFilemode"),
        ),
        tree(
            "overflowing-mode-1100644",
            Sha1,
            vec![e("1100644", b"file", b)],
            Rule::BadFilemode,
            Accepts,
        ),
        tree(
            "non-octal-mode",
            Sha1,
            vec![e("100648", b"file", b)],
            Rule::BadTree,
            Refuses("badTree"),
        ),
        tree(
            "empty-name",
            Sha1,
            vec![e("100644", b"", b)],
            Rule::EmptyName,
            Refuses("badTree"),
        ),
        tree(
            "slash-in-name",
            Sha1,
            vec![e("100644", b"dir/file", b)],
            Rule::FullPathname,
            Refuses("fullPathname"),
        ),
        tree(
            "dot",
            Sha1,
            vec![e("40000", b".", t)],
            Rule::HasDot,
            Refuses("hasDot"),
        ),
        tree(
            "dotdot",
            Sha1,
            vec![e("40000", b"..", t)],
            Rule::HasDotdot,
            Refuses("hasDotdot"),
        ),
        tree(
            "dotgit",
            Sha1,
            vec![e("40000", b".git", t)],
            Rule::HasDotgit,
            Refuses("hasDotgit"),
        ),
        tree(
            "dotgit-uppercase",
            Sha1,
            vec![e("40000", b".GIT", t)],
            Rule::HasDotgit,
            Refuses("hasDotgit"),
        ),
        tree(
            "dotgit-ntfs-short-name",
            Sha1,
            vec![e("40000", b"GIT~1", t)],
            Rule::HasDotgit,
            Refuses("hasDotgit"),
        ),
        tree(
            "dotgit-ntfs-trailing-dot-space",
            Sha1,
            vec![e("40000", b".git. ", t)],
            Rule::HasDotgit,
            Refuses("hasDotgit"),
        ),
        tree(
            "dotgit-ntfs-stream",
            Sha1,
            vec![e("40000", b".git::$INDEX_ALLOCATION", t)],
            Rule::HasDotgit,
            Refuses("hasDotgit"),
        ),
        tree(
            "dotgit-hfs-zero-width",
            Sha1,
            vec![e("40000", "\u{200c}.git".as_bytes(), t)],
            Rule::HasDotgit,
            Refuses("hasDotgit"),
        ),
        tree(
            "dotgit-hfs-inside",
            Sha1,
            vec![e("100644", ".g\u{feff}i\u{206f}t".as_bytes(), b)],
            Rule::HasDotgit,
            Refuses("hasDotgit"),
        ),
        tree(
            "dotgit-after-backslash",
            Sha1,
            vec![e("100644", b"a\\.git", b)],
            Rule::HasDotgit,
            Refuses("hasDotgit"),
        ),
        tree(
            "newline-in-name",
            Sha1,
            vec![e("100644", b"deploy.yaml\nprod.yaml", b)],
            Rule::ControlCharInName,
            Accepts,
        ),
        tree(
            "escape-in-name",
            Sha1,
            vec![e("100644", b"\x1b[2Jfile", b)],
            Rule::ControlCharInName,
            Accepts,
        ),
        tree(
            "tab-in-name",
            Sha1,
            vec![e("100644", b"a\tb", b)],
            Rule::ControlCharInName,
            Accepts,
        ),
        tree(
            "null-id",
            Sha1,
            vec![e("100644", b"file", &"0".repeat(40))],
            Rule::NullObjectId,
            Refuses("nullSha1"),
        ),
        tree(
            "large-name",
            Sha1,
            vec![e("100644", &[b'x'; 4097], b)],
            Rule::LargePathname,
            Refuses("largePathname"),
        ),
        tree(
            "gitmodules-symlink",
            Sha1,
            vec![e("120000", b".gitmodules", b)],
            Rule::GitmodulesSymlink,
            Refuses("gitmodulesSymlink"),
        ),
        tree(
            "gitmodules-symlink-ntfs-short-name",
            Sha1,
            vec![e("120000", b"GITMOD~1", b)],
            Rule::GitmodulesSymlink,
            Refuses("gitmodulesSymlink"),
        ),
        tree(
            "gitmodules-symlink-ntfs-fallback",
            Sha1,
            vec![e("120000", b"gi7eba~9", b)],
            Rule::GitmodulesSymlink,
            Refuses("gitmodulesSymlink"),
        ),
        tree(
            "gitmodules-symlink-hfs",
            Sha1,
            vec![e("120000", ".git\u{200d}modules".as_bytes(), b)],
            Rule::GitmodulesSymlink,
            Refuses("gitmodulesSymlink"),
        ),
        tree(
            "gitmodules-symlink-after-backslash",
            Sha1,
            vec![e("120000", b"x\\.gitmodules", b)],
            Rule::GitmodulesSymlink,
            Refuses("gitmodulesSymlink"),
        ),
        tree(
            "gitattributes-symlink",
            Sha1,
            vec![e("120000", b".gitattributes", b)],
            Rule::GitattributesSymlink,
            RefusesWhenAsked("gitattributesSymlink"),
        ),
        tree(
            "gitignore-symlink",
            Sha1,
            vec![e("120000", b".gitignore", b)],
            Rule::GitignoreSymlink,
            RefusesWhenAsked("gitignoreSymlink"),
        ),
        tree(
            "mailmap-symlink",
            Sha1,
            vec![e("120000", b".mailmap", b)],
            Rule::MailmapSymlink,
            RefusesWhenAsked("mailmapSymlink"),
        ),
        tree(
            "gitmodules-directory",
            Sha1,
            vec![e("40000", b".gitmodules", t)],
            Rule::GitmodulesNotBlob,
            Refuses("gitmodulesBlob"),
        ),
        tree(
            "gitmodules-submodule",
            Sha1,
            vec![e("160000", b".gitmodules", GITLINK)],
            Rule::GitmodulesNotBlob,
            Refuses("gitmodulesMissing"),
        ),
        tree(
            "gitattributes-directory",
            Sha1,
            vec![e("40000", b".gitattributes", t)],
            Rule::GitattributesNotBlob,
            Refuses("gitattributesBlob"),
        ),
        tree(
            "duplicate-file",
            Sha1,
            vec![e("100644", b"a", b), e("100644", b"a", b)],
            Rule::DuplicateEntries,
            Refuses("duplicateEntries"),
        ),
        tree(
            "file-and-directory",
            Sha1,
            vec![e("100644", b"a", b), e("40000", b"a", t)],
            Rule::DuplicateEntries,
            Refuses("duplicateEntries"),
        ),
        tree(
            "file-and-directory-apart",
            Sha1,
            vec![
                e("100644", b"foo", b),
                e("100644", b"foo.bar", b),
                e("40000", b"foo", t),
            ],
            Rule::DuplicateEntries,
            Refuses("duplicateEntries"),
        ),
        tree(
            "unsorted",
            Sha1,
            vec![e("100644", b"b", b), e("100644", b"a", b)],
            Rule::TreeNotSorted,
            Refuses("treeNotSorted"),
        ),
        tree(
            "directory-sorted-as-file",
            Sha1,
            vec![e("40000", b"b", t), e("100644", b"b.txt", b)],
            Rule::TreeNotSorted,
            Refuses("treeNotSorted"),
        ),
        raw(
            "truncated-id",
            Kind::Tree,
            Sha1,
            e("100644", b"file", b)[..20].to_vec(),
            Rule::BadTree,
            Refuses("badTree"),
        ),
        raw(
            "no-nul-after-name",
            Kind::Tree,
            Sha1,
            b"100644 file".to_vec(),
            Rule::BadTree,
            Refuses("badTree"),
        ),
        tree(
            "sha256-null-id",
            Sha256,
            vec![e("100644", b"file", &"0".repeat(64))],
            Rule::NullObjectId,
            Refuses("nullSha1"),
        ),
        tree(
            "sha256-sha1-ids",
            Sha256,
            vec![e("100644", b"file", b)],
            Rule::BadTree,
            Refuses("badTree"),
        ),
        tree(
            "sha256-newline-in-name",
            Sha256,
            vec![e("100644", b"a\nb", s256.blob)],
            Rule::ControlCharInName,
            Accepts,
        ),
    ];
    cases.sort_by_key(|c| (c.kind.as_str(), c.name));
    cases
}
