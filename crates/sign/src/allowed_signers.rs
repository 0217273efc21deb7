//! A parser for OpenSSH `allowed_signers` files (see ssh-keygen(1), "ALLOWED SIGNERS").
//!
//! `ssh-key` reads keys and signatures but not this file, and git's own check shells out to
//! `ssh-keygen`, which a fast hook must not do. The format per line is
//! `principals [options] keytype base64 [comment]`. Unlike `ssh-keygen`, which skips a line
//! it cannot read, a line that does not parse is a load error: an administrator who mistypes
//! a trust root should hear about it, not find a key silently ignored.

use std::path::Path;
use std::time::SystemTime;

use sequoia_openpgp as openpgp;
use ssh_key::public::KeyData;
use ssh_key::{HashAlg, PublicKey};

use crate::store::LoadError;
use crate::time::parse_ssh_time;

/// A public key in the form Sequoia's crypto backend verifies with.
pub(crate) type BackendKey =
    openpgp::packet::Key<openpgp::packet::key::PublicParts, openpgp::packet::key::UnspecifiedRole>;

/// OpenSSH accepts 1024-bit RSA keys; a push gate should not.
const MIN_RSA_BITS: usize = 2048;

/// RSA and NIST ECDSA keys as OpenPGP key packets, so that their maths runs on Sequoia's
/// OpenSSL backend: measured ~10x (RSA) and ~4x (P-256) faster than the pure-Rust
/// implementations behind `ssh-key`. Ed25519 (already fast) and FIDO keys stay on `ssh-key`.
fn backend_key(key: &KeyData) -> Result<Option<BackendKey>, String> {
    use openpgp::crypto::mpi;
    use openpgp::types::{Curve, PublicKeyAlgorithm};
    let (algo, mpis) = match key {
        KeyData::Rsa(rsa) => {
            let (Some(e), Some(n)) = (rsa.e.as_positive_bytes(), rsa.n.as_positive_bytes()) else {
                return Err("the RSA key has a negative exponent or modulus".into());
            };
            let bits = n
                .iter()
                .position(|&b| b != 0)
                .and_then(|i| n.get(i..))
                .map_or(0, |n| {
                    n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize)
                });
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
                ));
            }
            let mpis = mpi::PublicKey::RSA {
                e: mpi::MPI::new(e),
                n: mpi::MPI::new(n),
            };
            (PublicKeyAlgorithm::RSAEncryptSign, mpis)
        }
        KeyData::Ecdsa(ec) => {
            let curve = match ec.curve() {
                ssh_key::EcdsaCurve::NistP256 => Curve::NistP256,
                ssh_key::EcdsaCurve::NistP384 => Curve::NistP384,
                ssh_key::EcdsaCurve::NistP521 => Curve::NistP521,
            };
            let mpis = mpi::PublicKey::ECDSA {
                curve,
                q: mpi::MPI::new(ec.as_sec1_bytes()),
            };
            (PublicKeyAlgorithm::ECDSA, mpis)
        }
        _ => return Ok(None),
    };
    let key = openpgp::packet::key::Key4::new(std::time::UNIX_EPOCH, algo, mpis)
        .map_err(|e| format!("cannot use the key: {e}"))?;
    Ok(Some(key.into()))
}

/// One usable line of an `allowed_signers` file.
#[derive(Debug, Clone)]
pub(crate) struct SshEntry {
    pub line: usize,
    /// The principal pattern list, as written (without quotes).
    pub principals: String,
    pub namespaces: Option<String>,
    pub valid_after: Option<SystemTime>,
    pub valid_before: Option<SystemTime>,
    pub key: PublicKey,
    /// RSA and ECDSA keys for Sequoia's backend (see [`backend_key`]).
    pub backend: Option<BackendKey>,
    /// `ssh:SHA256:<base64>`.
    pub key_id: String,
}

/// The policy key id of an SSH public key.
pub(crate) fn ssh_key_id(key: &ssh_key::public::KeyData) -> String {
    format!("ssh:{}", key.fingerprint(HashAlg::Sha256))
}

/// OpenSSH separates the fields of a line with spaces and tabs (nothing else).
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits off the principals: a double-quoted token, or a run of non-blank characters
/// (OpenSSH's `strdelimw`). Stricter than OpenSSH: a quote inside an unquoted token, and a
/// closing quote not followed by a blank, are refused rather than spliced.
fn principals_token(s: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = s.strip_prefix('"') {
        let end = rest
            .find('"')
            .ok_or("unterminated quote in the principals")?;
        let (tok, after) = (rest.get(..end), rest.get(end + 1..));
        let (Some(tok), Some(after)) = (tok, after) else {
            return Err("unterminated quote in the principals".into());
        };
        if !after.starts_with(is_blank) {
            return Err("the quoted principals must be followed by a space".into());
        }
        return Ok((tok, after));
    }
    let end = s.find(is_blank).ok_or("missing key after the principals")?;
    let (tok, after) = s.split_at(end);
    if tok.contains('"') {
        return Err("a quote inside the principals; quote the whole field or none".into());
    }
    Ok((tok, after))
}

/// Splits off an options field: up to the first blank outside double quotes (OpenSSH's
/// `sshkey_advance_past_options`).
fn options_token(s: &str) -> Result<(&str, &str), String> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            // OpenSSH skips `\"` when looking for the end (parse_options then refuses it).
            '"' if escaped => {}
            '"' => quoted = !quoted,
            c if is_blank(c) && !quoted => {
                return Ok((
                    s.get(..i).unwrap_or_default(),
                    s.get(i..).unwrap_or_default(),
                ))
            }
            _ => {}
        }
        escaped = c == '\\';
    }
    Err(if quoted {
        "unterminated quote in the options".into()
    } else {
        "missing key after the options".into()
    })
}

#[derive(Default)]
struct Options {
    namespaces: Option<String>,
    valid_after: Option<SystemTime>,
    valid_before: Option<SystemTime>,
}

/// `name=` at the start of `s`, the name case-insensitive (OpenSSH's `opt_match`).
fn strip_option<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let head = s.get(..name.len())?;
    let rest = s.get(name.len()..)?;
    (head.eq_ignore_ascii_case(name))
        .then(|| rest.strip_prefix('='))
        .flatten()
}

/// A double-quoted option value (OpenSSH's `opt_dequote`, which demands the quotes).
fn dequote<'a>(s: &'a str, name: &str) -> Result<(&'a str, &'a str), String> {
    let Some(inner) = s.strip_prefix('"') else {
        return Err(format!(
            "the value of {name} must be in double quotes ({name}=\"...\"); \
             ssh-keygen skips the line otherwise"
        ));
    };
    let end = inner
        .find('"')
        .ok_or_else(|| format!("unterminated quote in the value of {name}"))?;
    Ok((
        inner.get(..end).unwrap_or_default(),
        inner.get(end + 1..).unwrap_or_default(),
    ))
}

/// `valid-after`/`valid-before`: `YYYYMMDD[HHMM[SS]]` and `Z` or `UTC`.
fn ssh_time(v: &str, name: &str) -> Result<SystemTime, String> {
    let digits = v
        .strip_suffix(['Z', 'z'])
        .or_else(|| {
            let cut = v.len().checked_sub(3)?;
            v.get(cut..)
                .filter(|s| s.eq_ignore_ascii_case("UTC"))
                .and_then(|_| v.get(..cut))
        })
        .ok_or_else(|| {
            format!(
                "{name}=\"{v}\" has no time zone: ssh-keygen reads it in the server's local \
                 time; write {v}Z for UTC"
            )
        })?;
    let t = parse_ssh_time(digits)
        .ok_or_else(|| format!("{name}=\"{v}\" is not a time (YYYYMMDD[HHMM[SS]]Z)"))?;
    if t <= std::time::UNIX_EPOCH {
        return Err(format!("{name}=\"{v}\" is not after 1970-01-01"));
    }
    Ok(t)
}

/// The options field, as OpenSSH's `sshsigopt_parse` reads it: comma-separated
/// `namespaces="…"`, `valid-after="…"`, `valid-before="…"` (names in any case, values in
/// double quotes, each at most once) and `cert-authority`. Anything else makes ssh-keygen
/// skip the line, so it is an error here.
fn parse_options(opts: &str) -> Result<Options, String> {
    let mut out = Options::default();
    if opts.contains('\\') {
        return Err("backslashes in the options are not supported".into());
    }
    let mut s = opts;
    while !s.is_empty() {
        if s.get(..14)
            .is_some_and(|h| h.eq_ignore_ascii_case("cert-authority"))
        {
            return Err(
                "cert-authority lines (SSH certificates) are not supported; \
                        list the signers' own keys instead"
                    .into(),
            );
        } else if let Some(rest) = strip_option(s, "namespaces") {
            if out.namespaces.is_some() {
                return Err("namespaces is given twice; ssh-keygen skips such a line".into());
            }
            let (v, rest) = dequote(rest, "namespaces")?;
            out.namespaces = Some(v.to_string());
            s = rest;
        } else if let Some(rest) = strip_option(s, "valid-after") {
            if out.valid_after.is_some() {
                return Err("valid-after is given twice; ssh-keygen skips such a line".into());
            }
            let (v, rest) = dequote(rest, "valid-after")?;
            out.valid_after = Some(ssh_time(v, "valid-after")?);
            s = rest;
        } else if let Some(rest) = strip_option(s, "valid-before") {
            if out.valid_before.is_some() {
                return Err("valid-before is given twice; ssh-keygen skips such a line".into());
            }
            let (v, rest) = dequote(rest, "valid-before")?;
            out.valid_before = Some(ssh_time(v, "valid-before")?);
            s = rest;
        } else if !s.starts_with(',') {
            // OpenSSH skips empty options (`,,`), so a comma here is fine.
            let name = s.split([',', '=']).next().unwrap_or(s);
            let hint = match name.to_ascii_lowercase().as_str() {
                "no-touch-required" | "verify-required" => {
                    " (an authorized_keys option; ssh-keygen -Y verify does not know it)"
                }
                _ => "",
            };
            return Err(format!(
                "unsupported option {name:?}{hint}; ssh-keygen skips such a line"
            ));
        }
        // After an option: the end, or a comma and another option.
        match s.strip_prefix(',') {
            None if s.is_empty() => break,
            None => {
                return Err(format!(
                    "unexpected text {s:?} after an option; ssh-keygen skips such a line"
                ))
            }
            Some("") => {
                return Err("the options end with a comma; ssh-keygen skips such a line".into())
            }
            Some(rest) => s = rest,
        }
    }
    if let (Some(after), Some(before)) = (out.valid_after, out.valid_before) {
        if before <= after {
            return Err("valid-before is not after valid-after".into());
        }
    }
    Ok(out)
}

/// Reads `keytype base64 [comment]`: the base64 strictly, the key blob whole and in canonical
/// form, the type named in front equal to the blob's.
fn parse_key(text: &str) -> Result<PublicKey, String> {
    let (keytype, rest) = text.split_at(text.find(is_blank).unwrap_or(text.len()));
    let rest = rest.trim_start_matches(is_blank);
    let (b64, comment) = rest.split_at(rest.find(is_blank).unwrap_or(rest.len()));
    if b64.is_empty() {
        return Err(format!("missing key data after {keytype:?}"));
    }
    if keytype.ends_with("-cert-v01@openssh.com") {
        return Err("SSH certificates are not supported; list the signers' own keys".into());
    }
    let mut blob = Vec::new();
    crate::armor::base64_decode_strict(b64.as_bytes(), &mut blob)
        .map_err(|e| format!("cannot read the public key: {e}"))?;
    let key =
        PublicKey::from_bytes(&blob).map_err(|e| format!("cannot read the public key: {e}"))?;
    if key.to_bytes().ok().as_deref() != Some(&blob[..]) {
        return Err("cannot read the public key: its encoding is not canonical".into());
    }
    let algorithm = key.algorithm();
    if algorithm.as_str() != keytype {
        return Err(format!(
            "the key type {keytype:?} does not match the key data ({})",
            algorithm.as_str()
        ));
    }
    Ok(PublicKey::new(
        key.key_data().clone(),
        comment.trim_matches(is_blank),
    ))
}

/// Whether a field names an OpenSSH key type (`sshkey_read` tries the field as a key before
/// it tries it as options): the plain names, and every `…@openssh.com` one (security keys,
/// certificates, post-quantum hybrids).
fn is_key_type(field: &str) -> bool {
    const PLAIN: [&str; 8] = [
        "ssh-ed25519",
        "ssh-rsa",
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "rsa-sha2-256",
        "rsa-sha2-512",
    ];
    PLAIN.contains(&field) || field.ends_with("@openssh.com")
}

fn parse_line(line: &str) -> Result<Option<SshEntry>, String> {
    // `lines()` already removed "\n" and "\r\n"; OpenSSH reads other control characters
    // as part of a field, which is never what an administrator meant.
    if let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t') {
        return Err(format!("control character {c:?} in the line"));
    }
    let line = line.trim_start_matches(is_blank);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (principals, rest) = principals_token(line)?;
    if principals.is_empty() {
        return Err("empty principals".into());
    }
    let rest = rest.trim_start_matches(is_blank);
    let first = rest.split(is_blank).next().unwrap_or_default();
    if first.is_empty() {
        return Err("missing key".into());
    }
    // Like OpenSSH: a key type first means no options.
    let (opts, key_text) = if is_key_type(first) {
        (Options::default(), rest)
    } else {
        let (opts, key_text) = options_token(rest)?;
        (parse_options(opts)?, key_text.trim_start_matches(is_blank))
    };
    if key_text.is_empty() {
        return Err("missing key after the options".into());
    }
    let key = parse_key(key_text)?;
    let backend = backend_key(key.key_data())?;
    Ok(Some(SshEntry {
        line: 0,
        backend,
        key_id: ssh_key_id(key.key_data()),
        principals: principals.to_string(),
        namespaces: opts.namespaces,
        valid_after: opts.valid_after,
        valid_before: opts.valid_before,
        key,
    }))
}

/// Parses a whole file; errors carry the file and the 1-based line.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Vec<SshEntry>, LoadError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(Some(mut e)) => {
                e.line = i + 1;
                out.push(e);
            }
            Ok(None) => {}
            Err(reason) => {
                return Err(LoadError::AllowedSigners {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason,
                })
            }
        }
    }
    Ok(out)
}

/// OpenSSH `match_pattern`: `*` matches any run, `?` any one character.
fn match_pattern(s: &[char], p: &[char]) -> bool {
    let (mut si, mut pi) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some('*') => {
                backtrack = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == s.get(si) => {
                pi += 1;
                si += 1;
            }
            _ => match backtrack {
                Some((bp, bs)) => {
                    pi = bp + 1;
                    si = bs + 1;
                    backtrack = Some((bp, bs + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|&c| c == '*')
}

/// OpenSSH `match_pattern_list(s, list, 0)` exactly: case-sensitive, nothing trimmed, a
/// pattern of 1023 bytes or more fails the whole list. What `ssh-keygen -Y verify` applies
/// to `namespaces=`, so `namespaces="GIT"` or `"file, git"` does not admit `git` here either.
pub(crate) fn match_pattern_list_exact(s: &str, list: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let mut positive = false;
    for pat in list.split(',') {
        let (negated, pat) = match pat.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, pat),
        };
        if pat.len() >= 1023 {
            return false;
        }
        let pat: Vec<char> = pat.chars().collect();
        if match_pattern(&s, &pat) {
            if negated {
                return false;
            }
            positive = true;
        }
    }
    positive
}

/// OpenSSH `match_pattern_list`, case-insensitive: true when some pattern matches and no
/// negated (`!`) pattern does.
pub(crate) fn match_pattern_list(s: &str, list: &str) -> bool {
    let s: Vec<char> = s.to_lowercase().chars().collect();
    let mut positive = false;
    for pat in list.split(',') {
        let pat = pat.trim().to_lowercase();
        let (negated, pat) = match pat.strip_prefix('!') {
            Some(p) => (true, p.to_string()),
            None => (false, pat),
        };
        let pat: Vec<char> = pat.chars().collect();
        if match_pattern(&s, &pat) {
            if negated {
                return false;
            }
            positive = true;
        }
    }
    positive
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAKZn801ihmvTRPPpUv8W0SfzF7EIOVBeVjSqyoHzoWJ";

    #[test]
    fn patterns_follow_openssh() {
        assert!(match_pattern_list("alice@example.com", "*@example.com"));
        assert!(match_pattern_list("Alice@Example.com", "alice@example.com"));
        assert!(!match_pattern_list(
            "mallory@example.com",
            "*@example.com,!mallory@*"
        ));
        assert!(match_pattern_list(
            "bob@example.com",
            "*@example.com,!mallory@*"
        ));
        assert!(match_pattern_list("ab@x", "a?@x"));
        assert!(!match_pattern_list("abc@x", "a?@x"));
        assert!(!match_pattern_list("alice@example.org", "*@example.com"));
        assert!(!match_pattern_list("x", "!x"));
        assert!(match_pattern_list("a.b.c", "a*c"));
    }

    #[test]
    fn namespace_patterns_are_exact_as_in_ssh_keygen() {
        assert!(match_pattern_list_exact("git", "git"));
        assert!(match_pattern_list_exact("git", "file,git"));
        assert!(match_pattern_list_exact("git", "g*"));
        assert!(!match_pattern_list_exact("git", "GIT"));
        assert!(!match_pattern_list_exact("git", "file, git"));
        assert!(!match_pattern_list_exact("git", "*,!git"));
        assert!(!match_pattern_list_exact("git", ""));
        assert!(!match_pattern_list_exact(
            "git",
            &format!("git,{}", "x".repeat(1023))
        ));
    }

    #[test]
    fn parses_options_quotes_and_comments() {
        let text = format!(
            "# team\n\nalice@example.com,bob@example.com {KEY} alice laptop\n\
             \"carol@example.com\" namespaces=\"git,file\",valid-after=\"20240101Z\",VALID-BEFORE=\"20300101000000UTC\" {KEY}\n\
             \t dave@example.com\t,namespaces=\"git\",,valid-after=\"202401010000z\"  {KEY}\r\n"
        );
        let e = parse(&text, Path::new("as")).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].line, 3);
        assert_eq!(e[0].principals, "alice@example.com,bob@example.com");
        assert!(e[0].key_id.starts_with("ssh:SHA256:"));
        assert_eq!(e[0].key.comment(), "alice laptop");
        assert_eq!(e[1].principals, "carol@example.com");
        assert_eq!(e[1].namespaces.as_deref(), Some("git,file"));
        assert_eq!(
            crate::time::to_unix(e[1].valid_after.unwrap()),
            1_704_067_200
        );
        assert!(e[1].valid_before.is_some());
        assert_eq!(e[2].principals, "dave@example.com");
        assert_eq!(e[2].namespaces.as_deref(), Some("git"));
        assert_eq!(e[2].valid_after, e[1].valid_after);
    }

    #[test]
    fn errors_name_the_line() {
        for (bad, needle) in [
            (format!("a@x cert-authority {KEY}"), "cert-authority"),
            (format!("a@x valid-after=\"2024Z\" {KEY}"), "not a time"),
            (format!("a@x valid-after=\"20240230Z\" {KEY}"), "not a time"),
            (format!("a@x valid-after=\"20240101\" {KEY}"), "local time"),
            (format!("a@x valid-after=\"19700101Z\" {KEY}"), "1970"),
            (format!("a@x valid-after=20240101Z {KEY}"), "double quotes"),
            (format!("a@x namespaces=git {KEY}"), "double quotes"),
            (
                format!("a@x namespaces=\"file\",namespaces=\"git\" {KEY}"),
                "namespaces is given twice",
            ),
            (
                format!("a@x valid-after=\"20240101Z\",valid-after=\"20250101Z\" {KEY}"),
                "valid-after is given twice",
            ),
            (
                format!("a@x valid-before=\"20240101Z\",valid-before=\"20250101Z\" {KEY}"),
                "valid-before is given twice",
            ),
            (
                format!("a@x valid-after=\"20250101Z\",valid-before=\"20240101Z\" {KEY}"),
                "not after valid-after",
            ),
            (format!("a@x frobnicate {KEY}"), "unsupported option"),
            (format!("a@x no-touch-required {KEY}"), "authorized_keys"),
            (format!("a@x verify-required {KEY}"), "authorized_keys"),
            (format!("a@x namespaces=\"git\", {KEY}"), "end with a comma"),
            (format!("a@x namespaces=\"git\"x {KEY}"), "unexpected text"),
            (format!("a@x namespaces=\"g\\\"it\" {KEY}"), "backslash"),
            (format!("a@x namespaces=\"git {KEY}"), "unterminated quote"),
            (format!("a\"@x\" {KEY}"), "quote inside"),
            (format!("\"a@x\"{KEY}"), "followed by a space"),
            (format!("a@x {KEY}\x0b"), "control character"),
            ("a@x ssh-ed25519 AAAAnotbase64".to_string(), "public key"),
            (
                // A valid ed25519 blob announced as RSA.
                format!("a@x ssh-rsa {}", &KEY[12..]),
                "does not match",
            ),
            (
                // The same blob with one byte more than the key: not read whole.
                "a@x ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAKZn801ihmvTRPPpUv8W0SfzF7EIOVBeVjSqyoHzoWJAA==".to_string(),
                "public key",
            ),
            ("a@x".to_string(), "missing key"),
            ("a@x namespaces=\"git\"".to_string(), "missing key"),
        ] {
            let text = format!("# c\n{bad}\n");
            let err = parse(&text, Path::new("/etc/allowed"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("/etc/allowed:2: "), "{bad}: {err}");
            assert!(err.contains(needle), "{bad}: {err}");
        }
    }
}
