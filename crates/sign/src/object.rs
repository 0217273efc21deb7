//! Splitting raw git objects into the signature and the bytes it signs.
//!
//! This must agree with git byte for byte: if pushguard verified a different payload than git
//! does, a signature could be "good" here for a commit git considers tampered, or the other
//! way round. The rules mirror git's `parse_buffer_signed_by_header` (commits) and
//! `parse_signed_buffer` (tags and push certificates).

use std::fmt;
use std::time::SystemTime;

use crate::time::from_unix;

/// Which signature scheme an armored signature uses, from its first line (as git decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `-----BEGIN PGP SIGNATURE-----` (or `PGP MESSAGE`).
    OpenPgp,
    /// `-----BEGIN SSH SIGNATURE-----` (git `gpg.format=ssh`).
    Ssh,
    /// `-----BEGIN SIGNED MESSAGE-----` (gpgsm, git `gpg.format=x509`): recognised, not verified.
    X509,
    /// A signature header whose content git would not recognise either.
    Unknown,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::OpenPgp => "OpenPGP",
            Format::Ssh => "SSH",
            Format::X509 => "X.509",
            Format::Unknown => "unknown",
        })
    }
}

const ARMOR_STARTS: [(&[u8], Format); 4] = [
    (b"-----BEGIN PGP SIGNATURE-----", Format::OpenPgp),
    (b"-----BEGIN PGP MESSAGE-----", Format::OpenPgp),
    (b"-----BEGIN SSH SIGNATURE-----", Format::Ssh),
    (b"-----BEGIN SIGNED MESSAGE-----", Format::X509),
];

/// The format of an armored signature, judged by its first bytes as git does.
pub fn detect_format(signature: &[u8]) -> Format {
    ARMOR_STARTS
        .iter()
        .find(|(start, _)| signature.starts_with(start))
        .map(|(_, f)| *f)
        .unwrap_or(Format::Unknown)
}

/// A signature and the exact bytes it claims to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The format named by the signature's armor header line.
    pub format: Format,
    /// The armored signature (continuation-line indentation removed).
    pub signature: Vec<u8>,
    /// The signed bytes: the object without its signature.
    pub payload: Vec<u8>,
}

/// Which object hash the repository uses; it decides which header carries the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ObjectHash {
    /// SHA-1 repositories sign with the `gpgsig` header.
    #[default]
    Sha1,
    /// SHA-256 repositories sign with the `gpgsig-sha256` header.
    Sha256,
}

/// The signature of a commit in a SHA-1 repository; see [`commit_signature_for`].
pub fn commit_signature(raw_commit: &[u8]) -> Option<Signed> {
    commit_signature_for(raw_commit, ObjectHash::Sha1)
}

/// Splits a raw commit (bytes as `git cat-file commit` prints them) into signature and payload.
///
/// Like git, every header whose name starts with `gpgsig` is removed from the payload together
/// with its continuation lines, but only the header of the repository's hash is the signature.
/// Two headers of that name are concatenated as git does; [`crate::verify`] then rejects the
/// result as malformed. `None` means unsigned.
pub fn commit_signature_for(raw_commit: &[u8], hash: ObjectHash) -> Option<Signed> {
    let sig_header: &[u8] = match hash {
        ObjectHash::Sha1 => b"gpgsig",
        ObjectHash::Sha256 => b"gpgsig-sha256",
    };
    let mut payload = Vec::with_capacity(raw_commit.len());
    let mut signature = Vec::new();
    let (mut in_signature, mut saw_signature, mut other_signature) = (false, false, false);
    let mut rest = raw_commit;
    while !rest.is_empty() {
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        let (line, next) = rest.split_at(len);
        let mut sig_part = None;
        if in_signature && line.first() == Some(&b' ') {
            sig_part = line.get(1..);
        } else if let Some(after) = line.strip_prefix(sig_header) {
            if after.first() == Some(&b' ') {
                sig_part = after.get(1..);
                other_signature = false;
            } else if line.starts_with(b"gpgsig") {
                other_signature = true;
            }
        } else if line.starts_with(b"gpgsig") {
            other_signature = true;
        } else if other_signature && line.first() != Some(&b' ') {
            other_signature = false;
        }
        match sig_part {
            Some(part) => {
                signature.extend_from_slice(part);
                saw_signature = true;
                in_signature = true;
                rest = next;
            }
            None => {
                if line.first() == Some(&b'\n') {
                    // The end of the headers: the message is copied whole.
                    payload.extend_from_slice(rest);
                    break;
                }
                if !other_signature {
                    payload.extend_from_slice(line);
                }
                in_signature = false;
                rest = next;
            }
        }
    }
    saw_signature.then(|| Signed {
        format: detect_format(&signature),
        signature,
        payload,
    })
}

/// The offset of the last line that starts an armored signature (git's `parse_signed_buffer`).
fn signed_buffer_split(buf: &[u8]) -> Option<usize> {
    let mut found = None;
    let mut pos = 0;
    while pos < buf.len() {
        let line = buf.get(pos..).unwrap_or_default();
        if detect_format(line) != Format::Unknown {
            found = Some(pos);
        }
        pos += line
            .iter()
            .position(|&b| b == b'\n')
            .map_or(line.len(), |i| i + 1);
    }
    found
}

/// Splits a raw annotated tag into its payload and the signature appended to its message.
/// `None` means the tag is unsigned.
pub fn tag_signature(raw_tag: &[u8]) -> Option<Signed> {
    let at = signed_buffer_split(raw_tag)?;
    let (payload, signature) = raw_tag.split_at(at);
    Some(Signed {
        format: detect_format(signature),
        signature: signature.to_vec(),
        payload: payload.to_vec(),
    })
}

/// A git identity line: `Name <email> 1700000000 +0100`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name before `<`, trimmed.
    pub name: String,
    /// The text between `<` and `>`.
    pub email: String,
    /// The timestamp (the time zone offset does not change the instant).
    pub time: SystemTime,
}

/// Parses the value of an `author`, `committer`, `tagger` or `pusher` header.
pub fn parse_ident(value: &[u8]) -> Option<Ident> {
    let value = String::from_utf8_lossy(value);
    let lt = value.find('<')?;
    let gt = lt + value.get(lt..)?.find('>')?;
    let name = value.get(..lt)?.trim().to_string();
    let email = value.get(lt + 1..gt)?.to_string();
    let mut rest = value.get(gt + 1..)?.split_whitespace();
    let secs: i64 = rest.next()?.parse().ok()?;
    Some(Ident {
        name,
        email,
        time: from_unix(secs),
    })
}

/// The value of the first header named `name` in a raw commit or tag (headers end at the
/// first empty line; continuation lines are not part of the value).
pub fn header<'a>(raw: &'a [u8], name: &str) -> Option<&'a [u8]> {
    for line in raw.split(|&b| b == b'\n') {
        if line.is_empty() {
            return None;
        }
        if let Some(v) = line.strip_prefix(name.as_bytes()) {
            if let Some(v) = v.strip_prefix(b" ") {
                return Some(v);
            }
        }
    }
    None
}

/// The committer of a raw commit: whose email `bind_to_signer` compares, and whose time is the
/// claimed signing time for SSH signatures.
pub fn committer(raw_commit: &[u8]) -> Option<Ident> {
    parse_ident(header(raw_commit, "committer")?)
}

/// The tagger of a raw annotated tag.
pub fn tagger(raw_tag: &[u8]) -> Option<Ident> {
    parse_ident(header(raw_tag, "tagger")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &[u8] = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
author A <a@x> 1700000000 +0000\n\
committer A <a@x> 1700000000 +0000\n\
gpgsig -----BEGIN PGP SIGNATURE-----\n \n abc\n -----END PGP SIGNATURE-----\n\
gpgsig-sha256 -----BEGIN PGP SIGNATURE-----\n xyz\n -----END PGP SIGNATURE-----\n\
mergetag object 1\n type commit\n\n\
gpgsig in the message stays\n";

    #[test]
    fn strips_every_gpgsig_header_and_keeps_the_message() {
        let s = commit_signature(SIGNED).unwrap();
        assert_eq!(s.format, Format::OpenPgp);
        assert_eq!(
            s.signature,
            b"-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n"
        );
        let p = String::from_utf8(s.payload).unwrap();
        assert!(!p.contains("xyz") && !p.contains("abc"), "{p}");
        assert!(p.contains("mergetag object 1\n type commit\n"), "{p}");
        assert!(p.ends_with("\ngpgsig in the message stays\n"), "{p}");
        let s256 = commit_signature_for(SIGNED, ObjectHash::Sha256).unwrap();
        assert_eq!(
            s256.signature,
            b"-----BEGIN PGP SIGNATURE-----\nxyz\n-----END PGP SIGNATURE-----\n"
        );
        assert_eq!(
            commit_signature(b"tree 1\n\nmsg\ngpgsig -----BEGIN PGP SIGNATURE-----\n"),
            None
        );
    }

    #[test]
    fn tag_signature_is_the_last_armor_block() {
        let raw = b"object 1\ntype commit\ntag v1\n\nmsg\n-----BEGIN PGP SIGNATURE-----\nfake\n-----END PGP SIGNATURE-----\n-----BEGIN SSH SIGNATURE-----\nx\n-----END SSH SIGNATURE-----\n";
        let s = tag_signature(raw).unwrap();
        assert_eq!(s.format, Format::Ssh);
        assert!(s.payload.ends_with(b"-----END PGP SIGNATURE-----\n"));
        assert_eq!(tag_signature(b"object 1\n\nplain\n"), None);
    }

    #[test]
    fn parses_idents() {
        let c = committer(SIGNED).unwrap();
        assert_eq!(c.email, "a@x");
        assert_eq!(crate::time::to_unix(c.time), 1_700_000_000);
        assert!(parse_ident(b"A <a@x").is_none());
    }
}
