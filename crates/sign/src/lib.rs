//! Signature verification for pushguard: commits, annotated tags and push certificates,
//! signed with OpenPGP (via Sequoia) or SSH keys (git `gpg.format=ssh`).
//!
//! The crate knows nothing about repositories or the policy file. The caller hands it raw
//! objects (bytes exactly as `git cat-file` prints them) and a [`TrustStore`] built from the
//! policy's `[keys]`; it answers with a [`Verdict`]: who signed ([`Signer`], whose
//! [`Signer::key_id`] is what the policy's `[groups]` name), or why the signature does not
//! count ([`Problem`], whose `Display` is one sentence meant for the pusher).
//!
//! Nothing here shells out to `gpg` or `ssh-keygen`: the hook must be fast and must not depend
//! on a keyring in some user's home directory.

mod allowed_signers;
mod armor;
mod object;
mod pgp;
mod pushcert;
mod ssh;
mod sshsig;
mod store;
mod time;

use std::fmt;
use std::time::{Duration, SystemTime};

pub use object::{
    commit_signature, commit_signature_for, committer, detect_format, header, parse_ident,
    tag_signature, tagger, Format, Ident, ObjectHash, Signed,
};
pub use pushcert::{parse_push_cert, PushCert, PushCertError, PushCertUpdate};
pub use store::{
    normalize_key_id, KeyInfo, LoadError, Revocation, TrustStore, MAX_ALLOWED_SIGNERS_BYTES,
    MAX_OPENPGP_FILE_BYTES,
};
pub use time::Utc;

/// Against which time a key's validity (expiry, revocation) is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyValidity {
    /// Valid when the signature was made **and** now: a key that has since expired or been
    /// revoked (softly or hard) no longer vouches for anything new. The policy default.
    #[default]
    Now,
    /// Valid when the signature was made; for importing history signed by retired keys.
    /// A hard revocation (key compromised, or no reason given) still rejects every signature;
    /// a soft one (superseded, retired, user id no longer valid) only those made after it.
    SignatureTime,
}

/// How [`verify`] judges a signature beyond its mathematics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// See [`KeyValidity`].
    pub key_validity: KeyValidity,
    /// Accept SHA-1 signatures. SHA-1 collisions are practical (SHAttered, 2017), so a SHA-1
    /// signature may have been made for a different object; off by default.
    pub allow_sha1: bool,
    /// A signature dated later than `now + max_future_skew` is rejected: a signer picks the
    /// creation time, and a future date would let a key outlive its own expiry.
    pub max_future_skew: Duration,
    /// The verification time (injected so tests and replays are deterministic).
    pub now: SystemTime,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            key_validity: KeyValidity::Now,
            allow_sha1: false,
            max_future_skew: Duration::from_secs(5 * 60),
            now: SystemTime::now(),
        }
    }
}

/// A trusted key as messages name it: its policy key id and, when known, its user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    /// `openpgp:<FINGERPRINT>` or `ssh:SHA256:<base64>`.
    pub key_id: String,
    /// The primary OpenPGP user id, or the SSH principals of the `allowed_signers` line.
    pub user_id: Option<String>,
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.user_id {
            Some(uid) => write!(f, "{} ({uid})", self.key_id),
            None => f.write_str(&self.key_id),
        }
    }
}

/// Who made a good signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The signature scheme.
    pub format: Format,
    /// The trusted key's id as the policy names it: the OpenPGP primary-key fingerprint
    /// (`openpgp:<FPR>`) or the SSH key (`ssh:SHA256:<base64>`).
    pub key_id: String,
    /// The key that made the signature: an OpenPGP subkey's fingerprint (upper-case hex),
    /// the primary fingerprint when the primary signed, or the SSH key id.
    pub signing_key: String,
    /// OpenPGP: the certificate's valid, unrevoked user ids. SSH: the principal patterns of
    /// the `allowed_signers` lines that accepted the signature.
    pub user_ids: Vec<String>,
    /// OpenPGP: the signature's creation time. SSH (which carries no time): the claimed time.
    pub created: SystemTime,
    /// The signature's hash algorithm, e.g. `SHA512`.
    pub hash: String,
    /// Lower-cased emails of `user_ids` (OpenPGP) used by [`Signer::binds`].
    emails: Vec<String>,
}

impl Signer {
    /// Whether `email` (a committer's) belongs to this signer: one of the OpenPGP user-id
    /// emails, or matched by the SSH principal patterns (with `*`, `?` and `!` negation) of an
    /// `allowed_signers` line that accepted the signature. Case-insensitive, like email
    /// domains and like every mail server pushguard is likely to meet.
    pub fn binds(&self, email: &str) -> bool {
        let email = email.trim().to_lowercase();
        if email.is_empty() {
            return false;
        }
        match self.format {
            Format::Ssh => self
                .user_ids
                .iter()
                .any(|p| allowed_signers::match_pattern_list(&email, p)),
            _ => self.emails.contains(&email),
        }
    }
}

/// Why a signature does not count. `Display` gives one sentence naming the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// X.509 (gpgsm) or an unknown armor: reported as unsupported, never as unsigned.
    UnsupportedFormat(Format),
    /// The issuer is not among the trusted keys (`openpgp:<FPR>`, `openpgp key id <ID>`
    /// when the signature names only a key id, or `ssh:SHA256:…`).
    UnknownKey {
        /// The issuer as the signature names it.
        issuer: String,
    },
    /// The signature does not match the signed bytes, or fails its own checks.
    BadSignature {
        /// The key the signature claims.
        key: KeyRef,
        /// What the cryptographic library said.
        reason: String,
    },
    /// The key (or the signing subkey, or the SSH `valid-before`) had expired.
    Expired {
        /// The key.
        key: KeyRef,
        /// When it expired.
        at: SystemTime,
        /// The time it was judged at: the signature time or now.
        judged_at: SystemTime,
    },
    /// The key was not valid yet (created after the signature's date, or SSH `valid-after`).
    NotYetValid {
        /// The key.
        key: KeyRef,
        /// From when it is valid.
        from: SystemTime,
        /// The time it was judged at.
        judged_at: SystemTime,
    },
    /// The certificate or the signing subkey is revoked.
    Revoked {
        /// The key.
        key: KeyRef,
        /// Hard (compromised, or no reason): every signature is rejected.
        /// Soft (superseded, retired): only signatures made after `at`.
        hard: bool,
        /// When the revocation was made.
        at: SystemTime,
        /// The reason code and text from the revocation.
        reason: String,
    },
    /// SHA-1 without `allow_sha1`, or MD5/RIPEMD-160.
    WeakHash {
        /// The key.
        key: KeyRef,
        /// The hash algorithm.
        algo: String,
    },
    /// The signature (OpenPGP) or the claimed time (SSH) is later than now plus the skew.
    FutureTime {
        /// The key, when known.
        key: Option<KeyRef>,
        /// The claimed creation time.
        created: SystemTime,
        /// The verification time.
        now: SystemTime,
    },
    /// The clock (the verification time, or the process's own clock that Sequoia's policy
    /// reads) is outside what an OpenPGP timestamp can hold (1970 to 2106-02-07): no OpenPGP
    /// signature can be judged until the server's clock is right.
    ClockOutOfRange {
        /// The time that cannot be expressed.
        now: SystemTime,
    },
    /// An SSH signature made for another namespace than `git` (e.g. a file signature
    /// replayed onto a commit).
    WrongNamespace {
        /// The namespace in the signature.
        found: String,
    },
    /// The `allowed_signers` line for the key restricts it to namespaces that exclude `git`.
    NamespaceNotAllowed {
        /// The key.
        key: KeyRef,
        /// The `namespaces=` option.
        namespaces: String,
    },
    /// The signing (sub)key is not marked for signing.
    NotSigningCapable {
        /// The certificate.
        key: KeyRef,
        /// The (sub)key fingerprint that signed.
        signing_key: String,
    },
    /// The certificate or subkey is not validly bound under the standard policy at the
    /// judged time (e.g. self-signatures with a rejected algorithm).
    InvalidKey {
        /// The key.
        key: KeyRef,
        /// Why.
        reason: String,
    },
    /// The signature cannot be parsed, or has several signatures, or lacks required fields.
    Malformed(String),
}

impl Problem {
    /// The trusted key the problem is about, when a trusted key was identified.
    pub fn key(&self) -> Option<&KeyRef> {
        match self {
            Problem::BadSignature { key, .. }
            | Problem::Expired { key, .. }
            | Problem::NotYetValid { key, .. }
            | Problem::Revoked { key, .. }
            | Problem::WeakHash { key, .. }
            | Problem::NamespaceNotAllowed { key, .. }
            | Problem::NotSigningCapable { key, .. }
            | Problem::InvalidKey { key, .. } => Some(key),
            Problem::FutureTime { key, .. } => key.as_ref(),
            Problem::UnsupportedFormat(_)
            | Problem::ClockOutOfRange { .. }
            | Problem::UnknownKey { .. }
            | Problem::WrongNamespace { .. }
            | Problem::Malformed(_) => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnsupportedFormat(fmt) => write!(
                f,
                "the signature is in {fmt} format, which pushguard does not verify (only OpenPGP and SSH)"
            ),
            Problem::UnknownKey { issuer } => {
                write!(f, "the signature was made by {issuer}, which is not a trusted key")
            }
            Problem::BadSignature { key, reason } => write!(
                f,
                "the signature by {key} does not verify against the signed content ({reason})"
            ),
            Problem::Expired { key, at, judged_at } => write!(
                f,
                "key {key} expired at {}, before {} when it was judged",
                Utc(*at),
                Utc(*judged_at)
            ),
            Problem::NotYetValid {
                key,
                from,
                judged_at,
            } => write!(
                f,
                "key {key} is valid only from {}, after the signature time {}",
                Utc(*from),
                Utc(*judged_at)
            ),
            Problem::Revoked {
                key,
                hard,
                at,
                reason,
            } => write!(
                f,
                "key {key} was revoked at {} ({} revocation: {reason})",
                Utc(*at),
                if *hard { "hard" } else { "soft" }
            ),
            Problem::WeakHash { key, algo } => write!(
                f,
                "the signature by {key} uses the weak hash {algo}, which the policy does not accept"
            ),
            Problem::FutureTime { key, created, now } => {
                write!(f, "the signature")?;
                if let Some(key) = key {
                    write!(f, " by {key}")?;
                }
                write!(
                    f,
                    " claims the time {}, later than the server time {} allows",
                    Utc(*created),
                    Utc(*now)
                )
            }
            Problem::ClockOutOfRange { now } => write!(
                f,
                "the server's clock reads {}, a time OpenPGP cannot express (it holds times from 1970 to 2106-02-07): no OpenPGP signature can be judged until the clock is set right",
                Utc(*now)
            ),
            Problem::WrongNamespace { found } => write!(
                f,
                "the SSH signature was made for the namespace \"{found}\", not \"git\""
            ),
            Problem::NamespaceNotAllowed { key, namespaces } => write!(
                f,
                "key {key} may sign only namespaces=\"{namespaces}\" in allowed_signers, which excludes \"git\""
            ),
            Problem::NotSigningCapable { key, signing_key } => write!(
                f,
                "the signature was made by {signing_key} of {key}, which is not a signing key"
            ),
            Problem::InvalidKey { key, reason } => write!(f, "key {key} is not valid: {reason}"),
            Problem::Malformed(why) => write!(f, "the signature is malformed: {why}"),
        }
    }
}

impl std::error::Error for Problem {}

/// The outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A trusted key made the signature and it passed every check.
    Good(Signer),
    /// Why it does not count.
    Bad(Problem),
}

impl Verdict {
    /// The signer, when the signature is good.
    pub fn signer(&self) -> Option<&Signer> {
        match self {
            Verdict::Good(s) => Some(s),
            Verdict::Bad(_) => None,
        }
    }

    /// The problem, when the signature is bad.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Verdict::Good(_) => None,
            Verdict::Bad(p) => Some(p),
        }
    }
}

/// Verifies `signed` against the trusted keys.
///
/// The format is taken from the signature's armor, not from `signed.format`, so a caller
/// cannot route an SSH signature into the OpenPGP path by mistake. `claimed_time` is the
/// committer (tagger, pusher) time: SSH signatures carry no time, so, like git, the
/// `allowed_signers` validity window is judged at it; OpenPGP signatures use their own
/// creation time and ignore it.
pub fn verify(
    store: &TrustStore,
    signed: &Signed,
    claimed_time: SystemTime,
    opts: &VerifyOptions,
) -> Verdict {
    // git concatenates repeated signature headers; judging only the first block would
    // silently ignore the rest, so several blocks are refused outright.
    let blocks = signed
        .signature
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"-----BEGIN "))
        .count();
    if blocks > 1 {
        return Verdict::Bad(Problem::Malformed(format!(
            "{blocks} signature blocks where git objects carry one"
        )));
    }
    match detect_format(&signed.signature) {
        Format::OpenPgp => pgp::verify(store, signed, opts),
        Format::Ssh => ssh::verify(store, signed, claimed_time, opts),
        other => Verdict::Bad(Problem::UnsupportedFormat(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<TrustStore>();
        check::<Verdict>();
    }
}
