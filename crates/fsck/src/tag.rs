//! Annotated tags: `object`, `type`, `tag`, `tagger`, optional `gpgsig` /
//! `gpgsig-sha256`, a blank line, the message, an optional signature.

use crate::error::{escape, Malformed, ObjectKind, Rule};
use crate::header::{show_key, At, HeaderBlock, HeaderLines, Line};
use crate::ident::{parse_ident, Ident};
use crate::refname::check_components;
use crate::{check_hex, HashKind};

/// The type of the object a tag points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TargetType {
    Commit,
    Tree,
    Blob,
    Tag,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Commit => "commit",
            TargetType::Tree => "tree",
            TargetType::Blob => "blob",
            TargetType::Tag => "tag",
        }
    }
}

/// The headers of a tag that passed [`check_tag`], borrowed from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagHeaders<'a> {
    /// The `object` id, lowercase hex.
    pub object: &'a str,
    /// The `type` value.
    pub target_type: TargetType,
    /// The `tag` value: a valid name under `refs/tags/`.
    pub name: &'a [u8],
    pub tagger: Ident<'a>,
    /// An in-header `gpgsig` signature (git writes one for the SHA-1 format
    /// when a tag is signed in two object formats).
    pub gpgsig: Option<HeaderBlock<'a>>,
    /// An in-header `gpgsig-sha256` signature.
    pub gpgsig_sha256: Option<HeaderBlock<'a>>,
    /// Offset of the message: just past the blank line.
    pub message_offset: usize,
    /// The message without the trailing signature (may be empty).
    pub message: &'a [u8],
    /// The trailing signature, from its `-----BEGIN ...` line to the end.
    pub signature: Option<&'a [u8]>,
    /// Offset of the trailing signature; the signed payload is
    /// `raw[..signature_offset]`.
    pub signature_offset: Option<usize>,
}

/// The first lines of the signatures git recognises after a tag's message
/// (`gpg-interface.c`): OpenPGP, X.509 and SSH.
const SIGNATURE_STARTS: [&[u8]; 4] = [
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
];

fn err(rule: Rule, detail: String) -> Malformed {
    Malformed::new(ObjectKind::Tag, rule, detail)
}

#[derive(Clone, Copy)]
enum Open {
    None,
    Gpgsig,
    GpgsigSha256,
}

/// Checks a tag object's content (without the `tag <len>\0` prefix) and
/// returns its headers.
///
/// git fsck's rules: `object <hex>`, `type <commit|tree|blob|tag>`,
/// `tag <name>` (valid as `refs/tags/<name>`), `tagger <ident>`, in this
/// order, no NUL in the headers. Stricter than git: `tagger` is required
/// and the tag name is checked (git only notes both, at level "info"); the
/// only headers allowed after `tagger` are `gpgsig` and `gpgsig-sha256`
/// (once each); a blank line must end the headers; no NUL in the message;
/// at most one signature block after the message (git reads the last one,
/// so two would let a signed payload carry a second, unchecked signature).
pub fn check_tag(raw: &[u8], hash: HashKind) -> Result<TagHeaders<'_>, Malformed> {
    const ORDER: [&[u8]; 4] = [b"object", b"type", b"tag", b"tagger"];
    let mut lines = HeaderLines::new(raw, ObjectKind::Tag);
    let mut object: Option<&str> = None;
    let mut target_type: Option<TargetType> = None;
    let mut name: Option<&[u8]> = None;
    let mut tagger: Option<Ident> = None;
    let mut gpgsig: Option<HeaderBlock> = None;
    let mut gpgsig_sha256: Option<HeaderBlock> = None;
    let mut open = Open::None;
    // How many of ORDER have been read.
    let mut seen = 0usize;

    let body = loop {
        let line = match lines.next_line() {
            Err(e) if e.rule() == Rule::MissingBlankLine && raw.is_empty() => {
                return Err(err(Rule::MissingObject, "empty object".into()))
            }
            other => other?,
        };
        let (key, value, spaced, start, next, number) = match line {
            Line::End { body } => {
                if seen < ORDER.len() {
                    return Err(missing(seen, None, lines.number()));
                }
                break body;
            }
            Line::Continuation { next, number } => {
                let (block, key_len) = match open {
                    Open::None => (None, 0),
                    Open::Gpgsig => (gpgsig.as_mut(), "gpgsig".len()),
                    Open::GpgsigSha256 => (gpgsig_sha256.as_mut(), "gpgsig-sha256".len()),
                };
                let Some(block) = block else {
                    return Err(err(
                        Rule::BadHeaderContinuation,
                        format!(
                            "continuation line {number} does not follow \
                             `gpgsig` or `gpgsig-sha256`"
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

        if let Some(i) = ORDER.iter().position(|k| *k == key) {
            if i < seen {
                return Err(err(
                    Rule::DuplicateHeader,
                    format!("duplicate {} header {at}", show_key(key)),
                ));
            }
            if i > seen {
                return Err(missing(seen, Some(key), number));
            }
        } else if seen < ORDER.len() {
            return Err(missing(seen, Some(key), number));
        }

        match key {
            b"object" => {
                object = Some(check_hex(value, hash).map_err(|e| {
                    err(
                        Rule::BadObjectHex,
                        format!(
                            "bad `object` id `{}`: {} {at}",
                            escape(value),
                            e.describe(hash)
                        ),
                    )
                })?);
            }
            b"type" => {
                target_type = Some(match value {
                    b"commit" => TargetType::Commit,
                    b"tree" => TargetType::Tree,
                    b"blob" => TargetType::Blob,
                    b"tag" => TargetType::Tag,
                    _ => {
                        return Err(err(
                            Rule::BadType,
                            format!("bad `type` `{}` {at}", escape(value)),
                        ))
                    }
                });
            }
            b"tag" => {
                let why = if value.is_empty() {
                    Some("is empty")
                } else {
                    check_components(value).err()
                };
                if let Some(why) = why {
                    return Err(err(
                        Rule::BadTagName,
                        format!(
                            "bad tag name `{}` {at}: `refs/tags/<name>` {why}",
                            escape(value)
                        ),
                    ));
                }
                name = Some(value);
            }
            b"tagger" => {
                tagger = Some(parse_ident(value).map_err(|(rule, what)| {
                    err(rule, format!("bad `tagger` header: {what} {at}"))
                })?);
            }
            b"gpgsig" | b"gpgsig-sha256" => {
                let key_name = std::str::from_utf8(key).expect("matched ASCII");
                if !spaced || value.is_empty() {
                    return Err(err(
                        Rule::EmptyHeaderValue,
                        format!("empty `{key_name}` header {at}"),
                    ));
                }
                let (slot, state) = if key == b"gpgsig" {
                    (&mut gpgsig, Open::Gpgsig)
                } else {
                    (&mut gpgsig_sha256, Open::GpgsigSha256)
                };
                if slot.is_some() {
                    return Err(err(
                        Rule::DuplicateHeader,
                        format!("duplicate `{key_name}` header {at}"),
                    ));
                }
                *slot = Some(HeaderBlock {
                    line: number,
                    span: start..next,
                    folded: value,
                });
                open = state;
            }
            _ => {
                return Err(err(
                    Rule::UnknownHeader,
                    format!("unknown header {} {at}", show_key(key)),
                ))
            }
        }
        if seen < ORDER.len() {
            seen += 1;
        }
    };

    let rest = &raw[body..];
    if let Some(i) = rest.iter().position(|&b| b == 0) {
        return Err(err(
            Rule::NulByte,
            format!("NUL byte in the message (byte {} of the object)", body + i),
        ));
    }
    // git takes the last line that starts a signature; refuse two.
    let mut signature_at: Option<usize> = None;
    let mut line_start = 0usize;
    while line_start < rest.len() {
        let line = &rest[line_start..];
        if SIGNATURE_STARTS.iter().any(|s| line.starts_with(s)) {
            if let Some(first) = signature_at {
                return Err(err(
                    Rule::DuplicateSignature,
                    format!(
                        "two signature blocks after the message (bytes {} and {} of the object)",
                        body + first,
                        body + line_start
                    ),
                ));
            }
            signature_at = Some(line_start);
        }
        line_start += match line.iter().position(|&b| b == b'\n') {
            Some(i) => i + 1,
            None => line.len(),
        };
    }
    let (message, signature) = match signature_at {
        Some(at) => (&rest[..at], Some(&rest[at..])),
        None => (rest, None),
    };

    Ok(TagHeaders {
        object: object.expect("all four headers seen"),
        target_type: target_type.expect("all four headers seen"),
        name: name.expect("all four headers seen"),
        tagger: tagger.expect("all four headers seen"),
        gpgsig,
        gpgsig_sha256,
        message_offset: body,
        message,
        signature,
        signature_offset: signature_at.map(|at| body + at),
    })
}

/// The header at position `seen` of `object`, `type`, `tag`, `tagger` is
/// missing: `found` came instead (or the headers ended).
fn missing(seen: usize, found: Option<&[u8]>, line: usize) -> Malformed {
    let (rule, want) = match seen {
        0 => (Rule::MissingObject, "object"),
        1 => (Rule::MissingType, "type"),
        2 => (Rule::MissingTagName, "tag"),
        _ => (Rule::MissingTagger, "tagger"),
    };
    let detail = match found {
        Some(key) => format!(
            "expected `{want}` header, found {} (line {line})",
            show_key(key)
        ),
        None => format!("no `{want}` header (headers end at line {line})"),
    };
    err(rule, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    const O: &str = "0123456789abcdef0123456789abcdef01234567";
    const TAGGER: &str = "tagger T A Gger <t@example.com> 1700000000 +0000\n";

    fn tag(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\n{body}").into_bytes()
    }

    fn std_headers() -> String {
        format!("object {O}\ntype commit\ntag v1.0\n{TAGGER}")
    }

    fn rule(headers: &str) -> Rule {
        check_tag(&tag(headers, "msg\n"), HashKind::Sha1)
            .expect_err("should be refused")
            .rule()
    }

    const SIG: &str = "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";

    #[test]
    fn parses_a_signed_tag() {
        let raw = tag(&std_headers(), &format!("Release 1.0\n{SIG}"));
        let h = check_tag(&raw, HashKind::Sha1).unwrap();
        assert_eq!(h.object, O);
        assert_eq!(h.target_type, TargetType::Commit);
        assert_eq!(h.name, b"v1.0");
        assert_eq!(h.tagger.email, b"t@example.com");
        assert_eq!(h.message, b"Release 1.0\n");
        assert_eq!(h.signature, Some(SIG.as_bytes()));
        let at = h.signature_offset.unwrap();
        assert_eq!(&raw[at..], SIG.as_bytes());
        assert!(raw[..at].ends_with(b"Release 1.0\n"));
    }

    #[test]
    fn parses_every_target_type_and_header_signatures() {
        for (t, want) in [
            ("commit", TargetType::Commit),
            ("tree", TargetType::Tree),
            ("blob", TargetType::Blob),
            ("tag", TargetType::Tag),
        ] {
            let raw = tag(&format!("object {O}\ntype {t}\ntag x\n{TAGGER}"), "");
            assert_eq!(check_tag(&raw, HashKind::Sha1).unwrap().target_type, want);
        }
        let raw = tag(
            &format!("{}gpgsig-sha256 a\n b\ngpgsig c\n", std_headers()),
            "m\n",
        );
        let h = check_tag(&raw, HashKind::Sha1).unwrap();
        assert_eq!(h.gpgsig_sha256.unwrap().unfold(), b"a\nb\n");
        assert_eq!(h.gpgsig.unwrap().folded, b"c");
        assert_eq!(h.signature, None);
        assert_eq!(h.message, b"m\n");
    }

    #[test]
    fn ssh_and_x509_signatures_are_found() {
        for begin in [
            "-----BEGIN SSH SIGNATURE-----",
            "-----BEGIN SIGNED MESSAGE-----",
        ] {
            let raw = tag(&std_headers(), &format!("m\n{begin}\nx\n"));
            let h = check_tag(&raw, HashKind::Sha1).unwrap();
            assert!(h.signature.unwrap().starts_with(begin.as_bytes()));
        }
    }

    #[test]
    fn refuses_two_signatures() {
        let raw = tag(&std_headers(), &format!("m\n{SIG}{SIG}"));
        let e = check_tag(&raw, HashKind::Sha1).unwrap_err();
        assert_eq!(e.rule(), Rule::DuplicateSignature);
        // Not at the start of a line: just text.
        let raw = tag(&std_headers(), &format!("m  {}\n{SIG}", &SIG[..29]));
        assert!(check_tag(&raw, HashKind::Sha1).is_ok());
    }

    #[test]
    fn refuses_missing_headers() {
        assert_eq!(
            rule(&format!("type commit\ntag v\n{TAGGER}")),
            Rule::MissingObject
        );
        assert_eq!(
            rule(&format!("object {O}\ntag v\n{TAGGER}")),
            Rule::MissingType
        );
        assert_eq!(
            rule(&format!("object {O}\ntype commit\n{TAGGER}")),
            Rule::MissingTagName
        );
        assert_eq!(
            rule(&format!("object {O}\ntype commit\ntag v\n")),
            Rule::MissingTagger
        );
        assert_eq!(
            rule(&format!("object {O}\ntype commit\ntag v\ngpgsig x\n")),
            Rule::MissingTagger
        );
        let e = check_tag(b"", HashKind::Sha1).unwrap_err();
        assert_eq!(e.rule(), Rule::MissingObject);
    }

    #[test]
    fn refuses_duplicate_and_unknown_headers() {
        assert_eq!(
            rule(&format!(
                "object {O}\nobject {O}\ntype commit\ntag v\n{TAGGER}"
            )),
            Rule::DuplicateHeader
        );
        assert_eq!(
            rule(&format!("{}{TAGGER}", std_headers())),
            Rule::DuplicateHeader
        );
        assert_eq!(
            rule(&format!("{}tag v2\n", std_headers())),
            Rule::DuplicateHeader
        );
        assert_eq!(
            rule(&format!("{}type blob\n", std_headers())),
            Rule::DuplicateHeader
        );
        assert_eq!(
            rule(&format!("{}gpgsig a\ngpgsig b\n", std_headers())),
            Rule::DuplicateHeader
        );
        assert_eq!(
            rule(&format!("{}x-extra y\n", std_headers())),
            Rule::UnknownHeader
        );
        assert_eq!(
            rule(&format!("{}encoding y\n", std_headers())),
            Rule::UnknownHeader
        );
        assert_eq!(
            rule(&format!("{} cont\n", std_headers())),
            Rule::BadHeaderContinuation
        );
        assert_eq!(
            rule(&format!("{}gpgsig\n", std_headers())),
            Rule::EmptyHeaderValue
        );
        let e = check_tag(
            &tag(&format!("{}{TAGGER}", std_headers()), ""),
            HashKind::Sha1,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed tag: duplicate `tagger` header (line 5)"
        );
    }

    #[test]
    fn refuses_bad_values() {
        assert_eq!(
            rule(&format!("object {}\ntype commit\ntag v\n{TAGGER}", &O[1..])),
            Rule::BadObjectHex
        );
        assert_eq!(
            rule(&format!("object {O}\ntype Commit\ntag v\n{TAGGER}")),
            Rule::BadType
        );
        assert_eq!(
            rule(&format!("object {O}\ntype commit \ntag v\n{TAGGER}")),
            Rule::BadType
        );
        assert_eq!(
            rule(&format!("object {O}\ntype \ntag v\n{TAGGER}")),
            Rule::BadType
        );
        for name in [
            "", "a..b", "a b", ".x", "x.lock", "x/", "a\tb", "a~1", "a@{1}", "x.",
        ] {
            assert_eq!(
                rule(&format!("object {O}\ntype commit\ntag {name}\n{TAGGER}")),
                Rule::BadTagName,
                "{name:?}"
            );
        }
        // `refs/tags/@` is a valid ref name.
        assert!(check_tag(
            &tag(&format!("object {O}\ntype commit\ntag @\n{TAGGER}"), ""),
            HashKind::Sha1
        )
        .is_ok());
        assert_eq!(
            rule(&format!(
                "object {O}\ntype commit\ntag v\ntagger T <t> 1 +00\n"
            )),
            Rule::BadTimezone
        );
    }

    #[test]
    fn refuses_nul_and_missing_blank_line() {
        assert_eq!(
            check_tag(
                format!("{}\nmsg\0\n", std_headers()).as_bytes(),
                HashKind::Sha1
            )
            .unwrap_err()
            .rule(),
            Rule::NulByte
        );
        assert_eq!(
            check_tag(
                format!("object {O}\ntype com\0mit\n").as_bytes(),
                HashKind::Sha1
            )
            .unwrap_err()
            .rule(),
            Rule::NulByte
        );
        assert_eq!(
            check_tag(std_headers().as_bytes(), HashKind::Sha1)
                .unwrap_err()
                .rule(),
            Rule::MissingBlankLine
        );
    }
}
