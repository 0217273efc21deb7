//! Commits: `tree`, `parent`*, `author`, `committer`, then optional
//! `encoding`, `mergetag`*, `gpgsig`, `gpgsig-sha256`, a blank line, the
//! message.

use crate::error::{escape, Malformed, ObjectKind, Rule};
use crate::header::{show_key, At, HeaderBlock, HeaderLines, Line};
use crate::ident::{parse_ident, Ident};
use crate::{check_hex, HashKind};

/// The headers of a commit that passed [`check_commit`], borrowed from it.
/// These are the only values a caller should read: each appears exactly
/// once (or, for parents and merge tags, in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitHeaders<'a> {
    /// The `tree` id, lowercase hex.
    pub tree: &'a str,
    /// The `parent` ids in order, lowercase hex.
    pub parents: Vec<&'a str>,
    pub author: Ident<'a>,
    pub committer: Ident<'a>,
    /// The `encoding` value, if any.
    pub encoding: Option<&'a [u8]>,
    /// The `change-id` value Jujutsu and GitButler write, if any (one line, at most once).
    pub change_id: Option<&'a [u8]>,
    /// `mergetag` headers in order (each holds a whole tag object, folded).
    pub mergetags: Vec<HeaderBlock<'a>>,
    /// The `gpgsig` header: the signature made with the repository's SHA-1
    /// object format (or the only signature of a SHA-1 repository).
    pub gpgsig: Option<HeaderBlock<'a>>,
    /// The `gpgsig-sha256` header.
    pub gpgsig_sha256: Option<HeaderBlock<'a>>,
    /// Offset of the message: just past the blank line.
    pub message_offset: usize,
    /// The message (may be empty).
    pub message: &'a [u8],
}

/// Which optional multi-line header the following continuation lines extend.
#[derive(Clone, Copy)]
enum Open {
    None,
    Mergetag,
    Gpgsig,
    GpgsigSha256,
}

fn err(rule: Rule, detail: String) -> Malformed {
    Malformed::new(ObjectKind::Commit, rule, detail)
}

/// Checks a commit object's content (without the `commit <len>\0` prefix)
/// and returns its headers.
///
/// git fsck's rules: one `tree` first, then `parent`s, exactly one `author`,
/// exactly one `committer` (identities checked as git's `fsck_ident` does),
/// no NUL byte anywhere, full-length hex ids. Stricter than git: the
/// headers after `committer` are limited to `encoding`, `mergetag`,
/// `gpgsig`, `gpgsig-sha256` (each but `mergetag` at most once, in any
/// order), so a second `committer` or an unknown header is refused; hex ids
/// must be lowercase; continuation lines may only follow `mergetag` and the
/// signatures; a blank line must end the headers; exactly one space before
/// an identity's date.
pub fn check_commit(raw: &[u8], hash: HashKind) -> Result<CommitHeaders<'_>, Malformed> {
    let mut lines = HeaderLines::new(raw, ObjectKind::Commit);
    let mut tree: Option<&str> = None;
    let mut parents: Vec<&str> = Vec::new();
    let mut author: Option<Ident> = None;
    let mut committer: Option<Ident> = None;
    let mut encoding: Option<&[u8]> = None;
    let mut change_id: Option<&[u8]> = None;
    let mut mergetags: Vec<HeaderBlock> = Vec::new();
    let mut gpgsig: Option<HeaderBlock> = None;
    let mut gpgsig_sha256: Option<HeaderBlock> = None;
    let mut open = Open::None;

    let body = loop {
        let line = match lines.next_line() {
            Err(e) if e.rule() == Rule::MissingBlankLine && raw.is_empty() => {
                return Err(err(Rule::MissingTree, "empty object".into()))
            }
            other => other?,
        };
        let (key, value, spaced, start, next, number) = match line {
            Line::End { body } => {
                if tree.is_none() {
                    return Err(err(Rule::MissingTree, "no `tree` header".into()));
                }
                break body;
            }
            Line::Continuation { next, number } => {
                let (block, key_len) = match open {
                    Open::None => (None, 0),
                    Open::Mergetag => (mergetags.last_mut(), "mergetag".len()),
                    Open::Gpgsig => (gpgsig.as_mut(), "gpgsig".len()),
                    Open::GpgsigSha256 => (gpgsig_sha256.as_mut(), "gpgsig-sha256".len()),
                };
                let Some(block) = block else {
                    return Err(err(
                        Rule::BadHeaderContinuation,
                        format!(
                            "continuation line {number} does not follow \
                             `mergetag`, `gpgsig` or `gpgsig-sha256`"
                        ),
                    ));
                };
                block.span.end = next;
                block.folded = &raw[block.span.start + key_len + 1..next - 1];
                continue;
            }
            Line::Header {
                key,
                value,
                spaced,
                start,
                next,
                number,
            } => (key, value, spaced, start, next, number),
        };
        open = Open::None;
        let at = At(number);

        if tree.is_none() {
            if key != b"tree" {
                return Err(err(
                    Rule::MissingTree,
                    format!("first header is {}, not `tree` {at}", show_key(key)),
                ));
            }
            tree = Some(hex(value, hash, Rule::BadTreeHex, "tree", at)?);
            continue;
        }
        match key {
            b"tree" => {
                return Err(err(
                    Rule::DuplicateHeader,
                    format!("duplicate `tree` header {at}"),
                ))
            }
            b"parent" => {
                if author.is_some() {
                    return Err(err(
                        Rule::HeaderOutOfOrder,
                        format!("`parent` header after `author` {at}"),
                    ));
                }
                parents.push(hex(value, hash, Rule::BadParentHex, "parent", at)?);
            }
            b"author" => {
                if author.is_some() {
                    return Err(err(
                        Rule::DuplicateHeader,
                        format!("duplicate `author` header {at}"),
                    ));
                }
                author = Some(ident(value, "author", at)?);
            }
            b"committer" => {
                if author.is_none() {
                    return Err(err(
                        Rule::MissingAuthor,
                        format!("`committer` header before any `author` header {at}"),
                    ));
                }
                if committer.is_some() {
                    return Err(err(
                        Rule::DuplicateHeader,
                        format!("duplicate `committer` header {at}"),
                    ));
                }
                committer = Some(ident(value, "committer", at)?);
            }
            b"encoding" | b"change-id" | b"mergetag" | b"gpgsig" | b"gpgsig-sha256" => {
                let name = std::str::from_utf8(key).expect("matched ASCII");
                if author.is_none() {
                    return Err(err(
                        Rule::MissingAuthor,
                        format!("`{name}` header before any `author` header {at}"),
                    ));
                }
                if committer.is_none() {
                    return Err(err(
                        Rule::MissingCommitter,
                        format!("`{name}` header before the `committer` header {at}"),
                    ));
                }
                if !spaced || value.is_empty() {
                    return Err(err(
                        Rule::EmptyHeaderValue,
                        format!("empty `{name}` header {at}"),
                    ));
                }
                let block = || HeaderBlock {
                    line: number,
                    span: start..next,
                    folded: value,
                };
                match key {
                    b"encoding" => {
                        if encoding.is_some() {
                            return Err(err(
                                Rule::DuplicateHeader,
                                format!("duplicate `encoding` header {at}"),
                            ));
                        }
                        encoding = Some(value);
                    }
                    b"change-id" => {
                        if change_id.is_some() {
                            return Err(err(
                                Rule::DuplicateHeader,
                                format!("duplicate `change-id` header {at}"),
                            ));
                        }
                        change_id = Some(value);
                    }
                    b"mergetag" => {
                        mergetags.push(block());
                        open = Open::Mergetag;
                    }
                    b"gpgsig" => {
                        if gpgsig.is_some() {
                            return Err(err(
                                Rule::DuplicateHeader,
                                format!(
                                    "duplicate `gpgsig` header {at}: a commit carries \
                                     at most one signature per object format"
                                ),
                            ));
                        }
                        gpgsig = Some(block());
                        open = Open::Gpgsig;
                    }
                    _ => {
                        if gpgsig_sha256.is_some() {
                            return Err(err(
                                Rule::DuplicateHeader,
                                format!(
                                    "duplicate `gpgsig-sha256` header {at}: a commit \
                                     carries at most one signature per object format"
                                ),
                            ));
                        }
                        gpgsig_sha256 = Some(block());
                        open = Open::GpgsigSha256;
                    }
                }
            }
            _ => {
                return Err(err(
                    Rule::UnknownHeader,
                    format!("unknown header {} {at}", show_key(key)),
                ))
            }
        }
    };

    let (Some(author), Some(committer)) = (author, committer) else {
        let (rule, name) = if author.is_none() {
            (Rule::MissingAuthor, "author")
        } else {
            (Rule::MissingCommitter, "committer")
        };
        return Err(err(
            rule,
            format!(
                "no `{name}` header (headers end at line {})",
                lines.number()
            ),
        ));
    };
    let message = &raw[body..];
    if let Some(i) = message.iter().position(|&b| b == 0) {
        return Err(err(
            Rule::NulByte,
            format!("NUL byte in the message (byte {} of the object)", body + i),
        ));
    }
    Ok(CommitHeaders {
        tree: tree.expect("checked at the blank line"),
        parents,
        author,
        committer,
        encoding,
        change_id,
        mergetags,
        gpgsig,
        gpgsig_sha256,
        message_offset: body,
        message,
    })
}

fn hex<'a>(
    value: &'a [u8],
    hash: HashKind,
    rule: Rule,
    name: &str,
    at: At,
) -> Result<&'a str, Malformed> {
    check_hex(value, hash).map_err(|e| {
        err(
            rule,
            format!(
                "bad `{name}` id `{}`: {} {at}",
                escape(value),
                e.describe(hash)
            ),
        )
    })
}

fn ident<'a>(value: &'a [u8], name: &str, at: At) -> Result<Ident<'a>, Malformed> {
    parse_ident(value)
        .map_err(|(rule, what)| err(rule, format!("bad `{name}` header: {what} {at}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    const P: &str = "0123456789abcdef0123456789abcdef01234567";
    const A: &str = "author A U Thor <a@example.com> 1700000000 +0100\n";
    const C: &str = "committer C O Mitter <c@example.com> 1700000001 -0130\n";

    fn commit(headers: &str) -> Vec<u8> {
        format!("{headers}\nmessage\n").into_bytes()
    }

    fn refused(raw: &[u8]) -> Malformed {
        check_commit(raw, HashKind::Sha1).expect_err("should be refused")
    }

    fn rule(headers: &str) -> Rule {
        refused(&commit(headers)).rule()
    }

    #[test]
    fn parses_every_header() {
        let raw = commit(&format!(
            "tree {T}\nparent {P}\nparent {T}\n{A}{C}encoding ISO-8859-1\n\
             mergetag object {P}\n type commit\n tag v1\n tagger T <t@x> 1 +0000\n \n signed\n\
             gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n"
        ));
        let h = check_commit(&raw, HashKind::Sha1).unwrap();
        assert_eq!(h.tree, T);
        assert_eq!(h.parents, vec![P, T]);
        assert_eq!(h.author.name, b"A U Thor");
        assert_eq!(h.author.email, b"a@example.com");
        assert_eq!(h.author.time, 1_700_000_000);
        assert_eq!(h.author.zone, "+0100");
        assert_eq!(h.committer.name, b"C O Mitter");
        assert_eq!(h.committer.zone_offset_minutes(), -90);
        assert_eq!(h.encoding, Some(&b"ISO-8859-1"[..]));
        assert_eq!(h.mergetags.len(), 1);
        assert_eq!(
            h.mergetags[0].unfold(),
            format!("object {P}\ntype commit\ntag v1\ntagger T <t@x> 1 +0000\n\nsigned\n")
                .as_bytes()
        );
        let sig = h.gpgsig.as_ref().unwrap();
        assert_eq!(sig.line, 13);
        assert_eq!(
            sig.unfold(),
            b"-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n"
        );
        assert!(raw[sig.span.clone()].starts_with(b"gpgsig "));
        assert!(raw[sig.span.clone()].ends_with(b"-----END PGP SIGNATURE-----\n"));
        assert_eq!(
            raw[sig.span.end], b'\n',
            "the blank line follows the signature"
        );
        assert!(h.gpgsig_sha256.is_none());
        assert_eq!(h.message, b"message\n");
        assert_eq!(&raw[h.message_offset..], b"message\n");
    }

    #[test]
    fn optional_headers_in_any_order_after_committer() {
        // JGit writes `gpgsig` before `encoding`.
        let raw = commit(&format!(
            "tree {T}\n{A}{C}gpgsig-sha256 sig\n more\ngpgsig x\nencoding latin1\nmergetag a\nmergetag b\n"
        ));
        let h = check_commit(&raw, HashKind::Sha1).unwrap();
        assert_eq!(h.gpgsig_sha256.unwrap().folded, b"sig\n more");
        assert_eq!(h.mergetags.len(), 2);
    }

    #[test]
    fn root_commit_with_empty_message() {
        let raw = format!("tree {T}\n{A}{C}\n").into_bytes();
        let h = check_commit(&raw, HashKind::Sha1).unwrap();
        assert!(h.parents.is_empty());
        assert_eq!(h.message, b"");
    }

    #[test]
    fn sha256_ids() {
        let t = "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321";
        let raw = commit(&format!("tree {t}\n{A}{C}"));
        assert!(check_commit(&raw, HashKind::Sha256).is_ok());
        assert_eq!(
            check_commit(&raw, HashKind::Sha1).unwrap_err().rule(),
            Rule::BadTreeHex
        );
        let raw = commit(&format!("tree {T}\n{A}{C}"));
        assert_eq!(
            check_commit(&raw, HashKind::Sha256).unwrap_err().rule(),
            Rule::BadTreeHex
        );
    }

    #[test]
    fn refuses_missing_duplicate_and_misplaced_headers() {
        assert_eq!(rule(&format!("{A}{C}")), Rule::MissingTree);
        assert_eq!(
            rule(&format!("parent {P}\ntree {T}\n{A}{C}")),
            Rule::MissingTree
        );
        assert_eq!(
            rule(&format!("tree {T}\ntree {T}\n{A}{C}")),
            Rule::DuplicateHeader
        );
        assert_eq!(rule(&format!("tree {T}\n{C}")), Rule::MissingAuthor);
        assert_eq!(rule(&format!("tree {T}\n{A}")), Rule::MissingCommitter);
        assert_eq!(rule(&format!("tree {T}\n{A}{A}{C}")), Rule::DuplicateHeader);
        assert_eq!(rule(&format!("tree {T}\n{A}{C}{C}")), Rule::DuplicateHeader);
        assert_eq!(
            rule(&format!("tree {T}\n{A}parent {P}\n{C}")),
            Rule::HeaderOutOfOrder
        );
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}parent {P}\n")),
            Rule::HeaderOutOfOrder
        );
        assert_eq!(rule(&format!("tree {T}\n{A}{C}{A}")), Rule::DuplicateHeader);
        assert_eq!(
            rule(&format!("tree {T}\n{A}encoding x\n{C}")),
            Rule::MissingCommitter
        );
        assert_eq!(
            rule(&format!("tree {T}\ngpgsig x\n{A}{C}")),
            Rule::MissingAuthor
        );
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}encoding a\nencoding b\n")),
            Rule::DuplicateHeader
        );
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}gpgsig a\ngpgsig b\n")),
            Rule::DuplicateHeader
        );
        assert_eq!(
            rule(&format!(
                "tree {T}\n{A}{C}gpgsig-sha256 a\ngpgsig-sha256 b\n"
            )),
            Rule::DuplicateHeader
        );
    }

    #[test]
    fn messages_say_what_and_where() {
        let e = refused(&commit(&format!("tree {T}\nparent {P}\n{A}{C}{C}")));
        assert_eq!(
            e.to_string(),
            "malformed commit: duplicate `committer` header (line 5)"
        );
        let e = refused(&commit(&format!(
            "tree {T}\n{A}{C}gpgsig a\n b\ngpgsig c\n"
        )));
        assert!(e
            .to_string()
            .starts_with("malformed commit: duplicate `gpgsig` header (line 6): a commit carries"));
        let e = refused(&commit(&format!("tree {T}\n{A}{C}x-evil\x1b[2J yes\n")));
        assert_eq!(
            e.to_string(),
            "malformed commit: unknown header `x-evil\\x1b[2J` (line 4)"
        );
    }

    #[test]
    fn change_id_of_jujutsu_and_gitbutler_is_known() {
        let raw = format!("tree {T}\n{A}{C}change-id zzzzkqlsmxnnpwtowlnqzxyqvkpnrmvu\n\nm\n");
        let h = check_commit(raw.as_bytes(), HashKind::Sha1).unwrap();
        assert_eq!(h.change_id, Some(&b"zzzzkqlsmxnnpwtowlnqzxyqvkpnrmvu"[..]));
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}change-id a\nchange-id b\n")),
            Rule::DuplicateHeader
        );
    }

    #[test]
    fn refuses_unknown_headers() {
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}x-custom value\n")),
            Rule::UnknownHeader
        );
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}gpgsigx value\n")),
            Rule::UnknownHeader
        );
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}Committer X <x> 1 +0000\n")),
            Rule::UnknownHeader
        );
        assert_eq!(
            rule(&format!("tree {T}\nx {T}\n{A}{C}")),
            Rule::UnknownHeader
        );
    }

    #[test]
    fn refuses_bad_continuations_and_empty_values() {
        assert_eq!(
            rule(&format!("tree {T}\n more\n{A}{C}")),
            Rule::BadHeaderContinuation
        );
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C} more\n")),
            Rule::BadHeaderContinuation
        );
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}encoding x\n more\n")),
            Rule::BadHeaderContinuation
        );
        assert_eq!(refused(b" x\n\n").rule(), Rule::BadHeaderContinuation);
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}encoding \n")),
            Rule::EmptyHeaderValue
        );
        assert_eq!(
            rule(&format!("tree {T}\n{A}{C}gpgsig\n")),
            Rule::EmptyHeaderValue
        );
    }

    #[test]
    fn refuses_bad_hex() {
        let upper = T.to_uppercase();
        assert_eq!(rule(&format!("tree {upper}\n{A}{C}")), Rule::BadTreeHex);
        assert_eq!(
            rule(&format!("tree {}\n{A}{C}", &T[..39])),
            Rule::BadTreeHex
        );
        assert_eq!(rule(&format!("tree {T}0\n{A}{C}")), Rule::BadTreeHex);
        assert_eq!(rule(&format!("tree {T} \n{A}{C}")), Rule::BadTreeHex);
        assert_eq!(rule(&format!("tree  {T}\n{A}{C}")), Rule::BadTreeHex);
        assert_eq!(rule(&format!("tree\n{A}{C}")), Rule::BadTreeHex);
        assert_eq!(
            rule(&format!("tree {}g\n{A}{C}", &T[..39])),
            Rule::BadTreeHex
        );
        assert_eq!(
            rule(&format!("tree {T}\nparent {}\n{A}{C}", &P[1..])),
            Rule::BadParentHex
        );
        assert_eq!(
            rule(&format!("tree {T}\nparent {}\n{A}{C}", P.to_uppercase())),
            Rule::BadParentHex
        );
    }

    #[test]
    fn refuses_bad_identities() {
        let with = |author: &str| rule(&format!("tree {T}\nauthor {author}\n{C}"));
        assert_eq!(with("<a@b> 1 +0000"), Rule::MissingNameBeforeEmail);
        assert_eq!(with("A 1 +0000"), Rule::MissingEmail);
        assert_eq!(with("A <a@b> 01 +0000"), Rule::ZeroPaddedDate);
        assert_eq!(with("A <a@b> 1 +000"), Rule::BadTimezone);
        let e = refused(&commit(&format!(
            "tree {T}\n{A}committer C <c<@x> 1 +0000\n"
        )));
        assert_eq!(e.rule(), Rule::BadEmail);
        assert_eq!(
            e.to_string(),
            "malformed commit: bad `committer` header: `<` in the email in `C <c<@x> 1 +0000` (line 3)"
        );
    }

    #[test]
    fn refuses_nul_and_unterminated_headers() {
        assert_eq!(
            rule(&format!("tree {T}\n{A}committer C <c@x>\0 1 +0000\n")),
            Rule::NulByte
        );
        let mut raw = commit(&format!("tree {T}\n{A}{C}"));
        raw.extend_from_slice(b"tail\0");
        assert_eq!(refused(&raw).rule(), Rule::NulByte);
        assert_eq!(
            refused(format!("tree {T}\n{A}{}", C.trim_end()).as_bytes()).rule(),
            Rule::UnterminatedHeader
        );
        assert_eq!(
            refused(format!("tree {T}\n{A}{C}").as_bytes()).rule(),
            Rule::MissingBlankLine
        );
        assert_eq!(refused(b"").rule(), Rule::MissingTree);
        assert_eq!(refused(b"\n").rule(), Rule::MissingTree);
    }
}
