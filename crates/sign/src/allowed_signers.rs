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
    /// `no-touch-required`: security-key signatures need not show user presence.
    pub no_touch_required: bool,
    /// `verify-required`: security-key signatures must show user verification (PIN).
    pub verify_required: bool,
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

/// Splits off the first token, honouring double quotes (as OpenSSH's `strdelimw`).
fn next_token(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('"') {
        let end = rest.find('"')?;
        let tok = rest.get(..end)?.to_string();
        return Some((tok, rest.get(end + 1..)?));
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((s.get(..end)?.to_string(), s.get(end..)?))
}

/// Splits off an options field: up to the first whitespace outside double quotes.
fn options_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return Some((s.get(..i)?, s.get(i..)?)),
            _ => {}
        }
    }
    None
}

#[derive(Default)]
struct Options {
    namespaces: Option<String>,
    valid_after: Option<SystemTime>,
    valid_before: Option<SystemTime>,
    no_touch_required: bool,
    verify_required: bool,
}

fn unquote(v: &str) -> Result<String, String> {
    match v.strip_prefix('"') {
        Some(inner) => inner
            .strip_suffix('"')
            .map(str::to_string)
            .ok_or_else(|| format!("unterminated quote in {v}")),
        None => Ok(v.to_string()),
    }
}

fn parse_options(opts: &str) -> Result<Options, String> {
    let mut out = Options::default();
    let mut items = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in opts.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(opts.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err("unterminated quote in the options".into());
    }
    items.push(opts.get(start..).unwrap_or_default());
    for item in items {
        let (name, value) = match item.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (item, None),
        };
        let name = name.to_ascii_lowercase();
        let time = |v: Option<&str>| -> Result<SystemTime, String> {
            let v = unquote(v.ok_or_else(|| format!("option {name} needs a value"))?)?;
            parse_ssh_time(&v)
                .ok_or_else(|| format!("{name}={v} is not a time (YYYYMMDD[HHMM[SS]][Z])"))
        };
        match name.as_str() {
            "cert-authority" => {
                return Err(
                    "cert-authority lines (SSH certificates) are not supported; \
                     list the signers' own keys instead"
                        .into(),
                )
            }
            "namespaces" => {
                let v = unquote(value.ok_or("option namespaces needs a value")?)?;
                out.namespaces = Some(v);
            }
            "valid-after" => out.valid_after = Some(time(value)?),
            "valid-before" => out.valid_before = Some(time(value)?),
            "no-touch-required" => out.no_touch_required = true,
            "verify-required" => out.verify_required = true,
            "" => return Err("empty option".into()),
            other => return Err(format!("unsupported option {other}")),
        }
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<Option<SshEntry>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (principals, rest) = next_token(line).ok_or("missing principals")?;
    if principals.is_empty() {
        return Err("empty principals".into());
    }
    let rest = rest.trim_start();
    let first = rest.split_whitespace().next().ok_or("missing key")?;
    let (opts, key_text) = if ssh_key::Algorithm::new(first).is_ok() {
        (Options::default(), rest)
    } else {
        let (opts, key_text) = options_token(rest).ok_or("missing key after the options")?;
        (parse_options(opts)?, key_text.trim_start())
    };
    let key = PublicKey::from_openssh(key_text.trim())
        .map_err(|e| format!("cannot read the public key: {e}"))?;
    let backend = backend_key(key.key_data())?;
    Ok(Some(SshEntry {
        line: 0,
        backend,
        key_id: ssh_key_id(key.key_data()),
        principals,
        namespaces: opts.namespaces,
        valid_after: opts.valid_after,
        valid_before: opts.valid_before,
        no_touch_required: opts.no_touch_required,
        verify_required: opts.verify_required,
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
    fn parses_options_quotes_and_comments() {
        let text = format!(
            "# team\n\nalice@example.com,bob@example.com {KEY} alice laptop\n\
             \"carol@example.com\" namespaces=\"git,file\",valid-after=20240101,valid-before=\"20300101000000Z\" {KEY}\n"
        );
        let e = parse(&text, Path::new("as")).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].line, 3);
        assert_eq!(e[0].principals, "alice@example.com,bob@example.com");
        assert!(e[0].key_id.starts_with("ssh:SHA256:"));
        assert_eq!(e[1].principals, "carol@example.com");
        assert_eq!(e[1].namespaces.as_deref(), Some("git,file"));
        assert_eq!(
            crate::time::to_unix(e[1].valid_after.unwrap()),
            1_704_067_200
        );
        assert!(e[1].valid_before.is_some());
        assert!(!e[0].no_touch_required && !e[0].verify_required);
        let sk = parse(
            &format!("a@x no-touch-required,verify-required {KEY}\n"),
            Path::new("as"),
        )
        .unwrap();
        assert!(sk[0].no_touch_required && sk[0].verify_required);
    }

    #[test]
    fn errors_name_the_line() {
        for (bad, needle) in [
            (format!("a@x cert-authority {KEY}"), "cert-authority"),
            (format!("a@x valid-after=2024 {KEY}"), "not a time"),
            (format!("a@x frobnicate {KEY}"), "unsupported option"),
            ("a@x ssh-ed25519 AAAAnotbase64".to_string(), "public key"),
            ("a@x".to_string(), "missing key"),
        ] {
            let text = format!("# c\n{bad}\n");
            let err = parse(&text, Path::new("/etc/allowed"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("/etc/allowed:2: "), "{err}");
            assert!(err.contains(needle), "{err}");
        }
    }
}
