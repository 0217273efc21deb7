//! OpenPGP signatures, verified with Sequoia.
//!
//! Sequoia's `DetachedVerifier` is the authority: it checks the key's binding, liveness,
//! revocation and signing capability at the signature's creation time, and the maths. This
//! module adds what pushguard's policy asks beyond that (SHA-1, future dates, validity *now*)
//! and, when Sequoia says no, works out which of those reasons
//! applies so the pusher reads "expired at …" rather than a library error.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use openpgp::cert::amalgamation::ValidAmalgamation;
use openpgp::packet::signature::subpacket::{SubpacketTag, SubpacketValue};
use openpgp::packet::Signature;
use openpgp::parse::stream::{
    DetachedVerifierBuilder, MessageLayer, MessageStructure, VerificationError, VerificationHelper,
};
use openpgp::parse::Parse;
use openpgp::policy::Policy;
use openpgp::types::{HashAlgorithm, RevocationStatus, RevocationType, SignatureType};
use openpgp::{Cert, Fingerprint, KeyHandle, KeyID, Packet, PacketPile};
use sequoia_openpgp as openpgp;

use crate::object::{Format, Signed};
use crate::store::{KeyInfo, Revocation, TrustStore};
use crate::time::Utc;
use crate::{KeyRef, KeyValidity, Problem, Signer, Verdict, VerifyOptions};

pub(crate) fn verify(store: &TrustStore, signed: &Signed, opts: &VerifyOptions) -> Verdict {
    match verify_inner(store, signed, opts) {
        Ok(s) => Verdict::Good(s),
        Err(p) => Verdict::Bad(p),
    }
}

/// The policy key id of a certificate.
fn cert_key_id(cert: &Cert) -> String {
    format!("openpgp:{}", cert.fingerprint().to_hex())
}

fn primary_uid(cert: &Cert, policy: &dyn Policy, t: SystemTime) -> Option<String> {
    let uid = cert
        .with_policy(policy, t)
        .ok()
        .and_then(|vc| vc.primary_userid().ok().map(|u| u.userid().clone()))
        .or_else(|| cert.userids().next().map(|u| u.userid().clone()))?;
    Some(String::from_utf8_lossy(uid.value()).into_owned())
}

fn key_ref(cert: &Cert, policy: &dyn Policy, t: SystemTime) -> KeyRef {
    KeyRef {
        key_id: cert_key_id(cert),
        user_id: primary_uid(cert, policy, t),
    }
}

fn describe_issuer(h: &KeyHandle) -> String {
    match h {
        KeyHandle::Fingerprint(f) => format!("openpgp:{}", f.to_hex()),
        KeyHandle::KeyID(id) => format!("openpgp key id {}", id.to_hex()),
    }
}

fn revocation_of(sig: &Signature) -> Revocation {
    let (hard, reason) = match sig.reason_for_revocation() {
        Some((code, msg)) => {
            let msg = String::from_utf8_lossy(msg);
            let reason = if msg.trim().is_empty() {
                code.to_string()
            } else {
                format!("{code}: {}", msg.trim())
            };
            (code.revocation_type() == RevocationType::Hard, reason)
        }
        // RFC 9580: a revocation without a reason is treated as hard.
        None => (true, "no reason given".to_string()),
    };
    Revocation {
        hard,
        at: sig.signature_creation_time().unwrap_or(UNIX_EPOCH),
        reason,
    }
}

fn revoked(key: &KeyRef, r: Revocation, what: &str) -> Problem {
    Problem::Revoked {
        key: key.clone(),
        hard: r.hard,
        at: r.at,
        reason: format!("{what}{}", r.reason),
    }
}

/// Is the certificate (and the signing key, when given) valid at `t`? The error says why not.
fn judge_key_at(
    cert: &Cert,
    signing: Option<&Fingerprint>,
    policy: &dyn Policy,
    t: SystemTime,
    key: &KeyRef,
) -> Result<(), Problem> {
    let created = cert.primary_key().key().creation_time();
    if created > t {
        return Err(Problem::NotYetValid {
            key: key.clone(),
            from: created,
            judged_at: t,
        });
    }
    let vc = cert
        .with_policy(policy, t)
        .map_err(|e| Problem::InvalidKey {
            key: key.clone(),
            reason: format!("no valid self-signature at {}: {e}", Utc(t)),
        })?;
    if let RevocationStatus::Revoked(revs) = vc.revocation_status() {
        if let Some(r) = revs.first() {
            return Err(revoked(key, revocation_of(r), ""));
        }
    }
    if let Err(e) = vc.alive() {
        return Err(match vc.primary_key().key_expiration_time() {
            Some(at) if at <= t => Problem::Expired {
                key: key.clone(),
                at,
                judged_at: t,
            },
            _ => Problem::InvalidKey {
                key: key.clone(),
                reason: format!("not alive at {}: {e}", Utc(t)),
            },
        });
    }
    let Some(fpr) = signing else { return Ok(()) };
    let ka = vc
        .keys()
        .key_handle(fpr.clone())
        .next()
        .ok_or_else(|| Problem::InvalidKey {
            key: key.clone(),
            reason: format!("subkey {} is not validly bound at {}", fpr.to_hex(), Utc(t)),
        })?;
    if let RevocationStatus::Revoked(revs) = ka.revocation_status() {
        if let Some(r) = revs.first() {
            return Err(revoked(
                key,
                revocation_of(r),
                &format!("subkey {}: ", fpr.to_hex()),
            ));
        }
    }
    let sub_created = ka.key().creation_time();
    if sub_created > t {
        return Err(Problem::NotYetValid {
            key: key.clone(),
            from: sub_created,
            judged_at: t,
        });
    }
    if let Err(e) = ka.alive() {
        return Err(match ka.key_expiration_time() {
            Some(at) if at <= t => Problem::Expired {
                key: key.clone(),
                at,
                judged_at: t,
            },
            _ => Problem::InvalidKey {
                key: key.clone(),
                reason: format!("subkey {} not alive at {}: {e}", fpr.to_hex(), Utc(t)),
            },
        });
    }
    if !ka.for_signing() {
        return Err(Problem::NotSigningCapable {
            key: key.clone(),
            signing_key: fpr.to_hex(),
        });
    }
    Ok(())
}

/// What Sequoia concluded about the one signature, in owned form.
enum Outcome {
    Good {
        cert: Fingerprint,
        signing: Fingerprint,
    },
    MissingKey,
    Unbound {
        cert: Fingerprint,
        error: String,
    },
    BadKey {
        cert: Fingerprint,
        signing: Fingerprint,
        error: String,
    },
    BadSignature {
        cert: Fingerprint,
        error: String,
    },
    Malformed(String),
}

struct Helper {
    certs: Vec<Cert>,
    outcome: Option<Outcome>,
}

impl VerificationHelper for Helper {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(std::mem::take(&mut self.certs))
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure {
            let MessageLayer::SignatureGroup { results } = layer else {
                continue;
            };
            for result in results {
                let outcome = match result {
                    // The digest prefix (the hash's left 16 bits, stored in the clear and
                    // not signed) must match the hash. Neither Sequoia nor gpg 2.2 compares
                    // them; a mismatch means the packet was altered after signing, and
                    // without the check one signature has 65,536 spellings that verify.
                    Ok(good)
                        if good.sig.computed_digest().and_then(|d| d.get(..2))
                            != Some(&good.sig.digest_prefix()[..]) =>
                    {
                        Outcome::BadSignature {
                            cert: good.ka.cert().fingerprint(),
                            error: format!(
                                "the digest prefix {} does not match the computed hash {}",
                                openpgp::fmt::hex::encode(good.sig.digest_prefix()),
                                good.sig
                                    .computed_digest()
                                    .and_then(|d| d.get(..2))
                                    .map_or_else(
                                        || "(none)".to_string(),
                                        openpgp::fmt::hex::encode
                                    )
                            ),
                        }
                    }
                    Ok(good) => Outcome::Good {
                        cert: good.ka.cert().fingerprint(),
                        signing: good.ka.key().fingerprint(),
                    },
                    Err(VerificationError::MissingKey { .. }) => Outcome::MissingKey,
                    Err(VerificationError::UnboundKey { cert, error, .. }) => Outcome::Unbound {
                        cert: cert.fingerprint(),
                        error: error.to_string(),
                    },
                    Err(VerificationError::BadKey { ka, error, .. }) => Outcome::BadKey {
                        cert: ka.cert().fingerprint(),
                        signing: ka.key().fingerprint(),
                        error: error.to_string(),
                    },
                    Err(VerificationError::BadSignature { ka, error, .. }) => {
                        Outcome::BadSignature {
                            cert: ka.cert().fingerprint(),
                            error: error.to_string(),
                        }
                    }
                    Err(e) => Outcome::Malformed(e.to_string()),
                };
                // The caller made sure there is exactly one signature; keep the first.
                self.outcome.get_or_insert(outcome);
            }
        }
        // Never fail here: the verdict is built from `outcome`, so that an error means
        // "could not run", not "bad signature".
        Ok(())
    }
}

/// Removes the ASCII armor, strictly (see `armor.rs`). Done once here because parsing
/// through Sequoia's armor auto-detection cost ~22–27 µs per signature against ~5 µs for this
/// plus a binary parse (measured), and the bytes are parsed twice (for the diagnosis and by
/// the verifier); Sequoia's tolerant reader also ignored a wrong CRC-24.
fn dearmor(armored: &[u8]) -> Result<Vec<u8>, Problem> {
    crate::armor::dearmor_openpgp(armored).map_err(Problem::Malformed)
}

/// Subpackets whose meaning pushguard (with Sequoia) applies to a document signature, and so
/// may be marked critical. RFC 9580 §5.2.3.7: a critical subpacket the verifier does not
/// understand makes the signature invalid. Sequoia's `StandardPolicy` enforces this only in
/// the hashed area (and accepts some tags that mean nothing for a document signature); gpg
/// checks both areas and says BAD. So: both areas, this list only, and no critical notation.
const UNDERSTOOD_CRITICAL: [SubpacketTag; 4] = [
    SubpacketTag::SignatureCreationTime,
    SubpacketTag::SignatureExpirationTime,
    SubpacketTag::Issuer,
    SubpacketTag::IssuerFingerprint,
];

fn critical_subpacket_problem(sig: &Signature) -> Result<(), Problem> {
    for (area, name) in [
        (sig.hashed_area(), "hashed"),
        (sig.unhashed_area(), "unhashed"),
    ] {
        for sp in area.iter().filter(|sp| sp.critical()) {
            if !UNDERSTOOD_CRITICAL.contains(&sp.tag()) {
                let what = match sp.tag() {
                    SubpacketTag::Unknown(n) => format!("unknown subpacket type {n}"),
                    SubpacketTag::Private(n) => format!("private subpacket type {n}"),
                    SubpacketTag::NotationData => match sp.value() {
                        SubpacketValue::NotationData(n) => format!("notation {:?}", n.name()),
                        _ => "notation".to_string(),
                    },
                    other => format!("{other:?} subpacket"),
                };
                return Err(Problem::Malformed(format!(
                    "a critical {what} in the {name} area, which pushguard does not \
                     understand (RFC 9580: such a signature is invalid)"
                )));
            }
        }
    }
    Ok(())
}

fn only_signature(binary: &[u8]) -> Result<Signature, Problem> {
    let pile = PacketPile::from_bytes(binary)
        .map_err(|e| Problem::Malformed(format!("cannot parse the OpenPGP signature: {e}")))?;
    let mut sigs = Vec::new();
    for packet in pile.into_children() {
        match packet {
            Packet::Signature(s) => sigs.push(s),
            Packet::Marker(_) => {}
            other => {
                return Err(Problem::Malformed(format!(
                    "unexpected {} packet where a detached signature belongs",
                    other.tag()
                )))
            }
        }
    }
    if sigs.len() != 1 {
        return Err(Problem::Malformed(format!(
            "{} signatures where git objects carry exactly one",
            sigs.len()
        )));
    }
    let sig = sigs
        .pop()
        .ok_or_else(|| Problem::Malformed("no signature".into()))?;
    critical_subpacket_problem(&sig)?;
    if !matches!(sig.typ(), SignatureType::Binary | SignatureType::Text) {
        return Err(Problem::Malformed(format!(
            "a {} signature, not a document signature",
            sig.typ()
        )));
    }
    Ok(sig)
}

/// Whether an OpenPGP timestamp (32 bits of seconds since 1970) can hold `t`.
fn expressible(t: SystemTime) -> bool {
    t.duration_since(UNIX_EPOCH)
        .is_ok_and(|d| d.as_secs() <= u64::from(u32::MAX))
}

fn verify_inner(
    store: &TrustStore,
    signed: &Signed,
    opts: &VerifyOptions,
) -> Result<Signer, Problem> {
    // Sequoia's standard policy reads the process's clock for its cut-offs, and panics when
    // OpenPGP cannot express it (a server clock set past 2106 or before 1970); the judged time
    // must be expressible too. Neither is a signature's fault, but nothing can be verified.
    for now in [opts.now, SystemTime::now()] {
        if !expressible(now) {
            return Err(Problem::ClockOutOfRange { now });
        }
    }
    let binary = dearmor(&signed.signature)?;
    let sig = only_signature(&binary)?;
    let issuers = sig.get_issuers();
    let first_issuer = issuers
        .first()
        .ok_or_else(|| Problem::Malformed("the signature names no issuer".into()))?;
    let mut candidates: Vec<&Cert> = Vec::new();
    for h in &issuers {
        for cert in store.certs_for(&KeyID::from(h)) {
            let holds_it = cert.keys().any(|k| k.key().key_handle().aliases(h));
            if holds_it
                && !candidates
                    .iter()
                    .any(|c| c.fingerprint() == cert.fingerprint())
            {
                candidates.push(cert);
            }
        }
    }
    let Some(&first_cert) = candidates.first() else {
        return Err(Problem::UnknownKey {
            issuer: describe_issuer(first_issuer),
        });
    };
    let policy: &dyn Policy = if opts.allow_sha1 {
        &store.sha1_ok
    } else {
        &store.strict
    };
    let cert_ref = |fpr: &Fingerprint| -> (&Cert, KeyRef) {
        let cert = candidates
            .iter()
            .copied()
            .find(|c| &c.fingerprint() == fpr)
            .unwrap_or(first_cert);
        (cert, key_ref(cert, policy, opts.now))
    };

    let algo = sig.hash_algo();
    let weak = match algo {
        HashAlgorithm::SHA1 => !opts.allow_sha1,
        HashAlgorithm::MD5 | HashAlgorithm::RipeMD => true,
        _ => false,
    };
    if weak {
        return Err(Problem::WeakHash {
            key: cert_ref(&first_cert.fingerprint()).1,
            algo: algo.to_string(),
        });
    }
    let created = sig
        .signature_creation_time()
        .ok_or_else(|| Problem::Malformed("the signature has no creation time".into()))?;
    let limit = opts
        .now
        .checked_add(opts.max_future_skew)
        .unwrap_or(opts.now);
    if created > limit {
        return Err(Problem::FutureTime {
            key: Some(cert_ref(&first_cert.fingerprint()).1),
            created,
            now: opts.now,
        });
    }

    let helper = Helper {
        certs: candidates.iter().map(|c| (*c).clone()).collect(),
        outcome: None,
    };
    let mut verifier = DetachedVerifierBuilder::from_bytes(&binary)
        .and_then(|b| b.with_policy(policy, Some(limit), helper))
        .map_err(|e| Problem::Malformed(format!("cannot read the OpenPGP signature: {e}")))?;
    verifier
        .verify_bytes(&signed.payload)
        .map_err(|e| Problem::Malformed(format!("verification could not run: {e}")))?;
    let outcome = verifier
        .into_helper()
        .outcome
        .ok_or_else(|| Problem::Malformed("no signature was checked".into()))?;

    let (cert, signing) = match outcome {
        Outcome::Good { cert, signing } => (cert, signing),
        Outcome::MissingKey => {
            return Err(Problem::UnknownKey {
                issuer: describe_issuer(first_issuer),
            })
        }
        Outcome::Unbound { cert, error } => {
            let (c, key) = cert_ref(&cert);
            judge_key_at(c, None, policy, created, &key)?;
            return Err(Problem::InvalidKey { key, reason: error });
        }
        Outcome::BadKey {
            cert,
            signing,
            error,
        } => {
            let (c, key) = cert_ref(&cert);
            judge_key_at(c, Some(&signing), policy, created, &key)?;
            return Err(Problem::InvalidKey { key, reason: error });
        }
        Outcome::BadSignature { cert, error } => {
            let key = cert_ref(&cert).1;
            return Err(Problem::BadSignature { key, reason: error });
        }
        Outcome::Malformed(e) => return Err(Problem::Malformed(e)),
    };

    let (cert, key) = cert_ref(&cert);
    let judged_at = match opts.key_validity {
        KeyValidity::Now => {
            judge_key_at(cert, Some(&signing), policy, opts.now, &key)?;
            opts.now
        }
        KeyValidity::SignatureTime => created,
    };
    let (user_ids, emails) = valid_user_ids(cert, policy, judged_at);
    Ok(Signer {
        format: Format::OpenPgp,
        key_id: key.key_id,
        signing_key: signing.to_hex(),
        user_ids,
        created,
        hash: algo.to_string(),
        emails,
    })
}

/// The user ids valid (bound and not revoked) at `t`, and their lower-cased emails.
fn valid_user_ids(cert: &Cert, policy: &dyn Policy, t: SystemTime) -> (Vec<String>, Vec<String>) {
    let (mut uids, mut emails) = (Vec::new(), Vec::new());
    let Ok(vc) = cert.with_policy(policy, t) else {
        return (uids, emails);
    };
    for u in vc.userids() {
        if matches!(u.revocation_status(), RevocationStatus::Revoked(_)) {
            continue;
        }
        let text = String::from_utf8_lossy(u.userid().value()).into_owned();
        if let Some(email) = std::str::from_utf8(u.userid().value())
            .ok()
            .and_then(user_id_email)
        {
            emails.push(email.to_lowercase());
        }
        uids.push(text);
    }
    (uids, emails)
}

/// The email address of a User ID written by the usual convention (`Name (comment) <addr>`,
/// `<addr>`, or a bare `addr`), as `UserID::email` of sequoia reads it, or `None`.
///
/// Sequoia parses with a regular expression it compiles on first use, which cost more than
/// verifying the signatures of a typical push; this is the same grammar, written out. A test
/// holds the two to agreeing on hand-picked and generated User IDs.
pub(crate) fn user_id_email(uid: &str) -> Option<&str> {
    if is_addr_spec(uid) {
        return Some(uid);
    }
    let body = uid.strip_suffix('>')?;
    let open = body.rfind('<')?;
    let (prefix, addr) = (body.get(..open)?, body.get(open + 1..)?);
    if !is_addr_spec(addr) {
        return None;
    }
    // Before the address: spaces, an optional name, spaces, an optional `(comment)`, spaces.
    let mut rest = prefix.trim_end_matches(' ');
    if let Some(inner) = rest.strip_suffix(')') {
        if let Some(i) = inner.rfind('(') {
            let comment = inner.get(i + 1..)?;
            if comment
                .chars()
                .all(|c| printable(c) && c != '(' && c != ')')
            {
                rest = inner.get(..i)?;
            }
        }
    }
    rest.chars()
        .all(|c| printable(c) && c != '<' && c != '>')
        .then_some(addr)
}

/// A character the User ID grammar allows in names and comments (less their own exclusions):
/// printable ASCII, space, and anything beyond ASCII.
fn printable(c: char) -> bool {
    matches!(c, ' '..='~') || c >= '\u{80}'
}

/// RFC 5322 `dot-atom-text "@" dot-atom-text`, with any non-ASCII character as text.
fn is_addr_spec(s: &str) -> bool {
    let atext =
        |c: char| c.is_ascii_alphanumeric() || "-!#$%&'*+/=?^_`{|}~".contains(c) || c >= '\u{80}';
    let dot_atom = |part: &str| {
        !part.is_empty()
            && part
                .split('.')
                .all(|a| !a.is_empty() && a.chars().all(atext))
    };
    match s.split_once('@') {
        Some((local, domain)) => dot_atom(local) && dot_atom(domain),
        None => false,
    }
}

/// What `policy check` shows about one certificate.
pub(crate) fn key_info(
    cert: &Cert,
    source: &Path,
    policy: &dyn Policy,
    now: SystemTime,
) -> KeyInfo {
    let mut problems = Vec::new();
    let key = key_ref(cert, policy, now);
    let mut revoked = None;
    let mut expires = None;
    let mut signing_keys = Vec::new();
    match cert.with_policy(policy, now) {
        Ok(vc) => {
            if let RevocationStatus::Revoked(revs) = vc.revocation_status() {
                revoked = revs.first().map(|r| revocation_of(r));
            }
            expires = vc.primary_key().key_expiration_time();
            signing_keys = vc
                .keys()
                .for_signing()
                .alive()
                .revoked(false)
                .map(|k| k.key().fingerprint().to_hex())
                .collect();
        }
        Err(e) => problems.push(format!("not valid under the standard policy now: {e}")),
    }
    if let Err(p) = judge_key_at(cert, None, policy, now, &key) {
        problems.push(p.to_string());
    }
    if signing_keys.is_empty() && revoked.is_none() {
        problems.push("no key of this certificate can sign now".to_string());
    }
    KeyInfo {
        key_id: key.key_id,
        format: Format::OpenPgp,
        user_ids: cert
            .userids()
            .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
            .collect(),
        source: source.display().to_string(),
        created: Some(cert.primary_key().key().creation_time()),
        expires,
        valid_after: None,
        namespaces: None,
        revoked,
        signing_keys,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::user_id_email;
    use openpgp::packet::UserID;
    use sequoia_openpgp as openpgp;

    fn sequoia(uid: &str) -> Option<String> {
        UserID::from(uid).email().ok().flatten().map(str::to_string)
    }

    #[test]
    fn user_id_emails_are_read_as_sequoia_reads_them() {
        for uid in [
            "Dana Dev <dana@example.com>",
            "<dana@example.com>",
            "dana@example.com",
            "  Dana  (laptop)  <dana@example.com>",
            "Dana (x <evil@example.net>) <dana@example.com>",
            "Dana <evil@example.net> <dana@example.com>",
            "Dana <dana@example.com> ",
            " dana@example.com",
            "Dana <dana@example..com>",
            "Dana <.dana@example.com>",
            "Dana <dana@exa mple.com>",
            "Dana\t<dana@example.com>",
            "Dána Dév <dána@exämple.com>",
            "Dana (a (b) c) <dana@example.com>",
            "Dana (a <b) <dana@example.com>",
            "a <b (c) <dana@example.com>",
            "\"Dana, Dev\" <dana@example.com>",
            "Dana <dana@example.com",
            "Dana <>",
            "<@>",
            "Dana <a@b@c>",
            "",
        ] {
            assert_eq!(
                user_id_email(uid).map(str::to_string),
                sequoia(uid),
                "{uid:?}"
            );
        }
    }

    /// Generated User IDs over the characters the grammar cares about: every one must get the
    /// same answer from both readers (a wrong email would bind a signature to another person).
    #[test]
    fn generated_user_ids_agree_with_sequoia() {
        let alphabet: Vec<char> = " aZ9.@<>()\"\\:-_\t\u{1}é+,".chars().collect();
        let pieces = [
            "Dana",
            " ",
            "<",
            ">",
            "(",
            ")",
            "dana@example.com",
            "@",
            ".",
            "a",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut emails = 0;
        for i in 0..40_000 {
            let mut uid = String::new();
            let len = next(14);
            for _ in 0..len {
                if i % 3 == 0 {
                    uid.push(alphabet[next(alphabet.len())]);
                } else {
                    uid.push_str(pieces[next(pieces.len())]);
                }
            }
            if i % 3 == 2 {
                // A prefix as above, then a wrapped address with one character changed.
                let mut addr: Vec<char> = "dana.d@example.com".chars().collect();
                if next(2) == 0 {
                    let at = next(addr.len());
                    addr[at] = alphabet[next(alphabet.len())];
                }
                uid.push('<');
                uid.extend(addr);
                uid.push('>');
            }
            let ours = user_id_email(&uid).map(str::to_string);
            emails += usize::from(ours.is_some());
            assert_eq!(ours, sequoia(&uid), "{uid:?}");
        }
        // The generator reaches the interesting case often enough to mean something.
        assert!(
            emails > 2_000,
            "only {emails} generated User IDs held an email"
        );
    }
}
