//! SSH signatures (git `gpg.format=ssh`): parsed with `ssh-key`, verified by `ssh-key`
//! (Ed25519, FIDO keys) or by Sequoia's OpenSSL backend (RSA, NIST ECDSA; much faster).
//!
//! An SSH signature carries no creation time, so, like git, the `allowed_signers` validity
//! window is judged at the time the object claims (committer, tagger or pusher time). The
//! namespace must be `git`: a signature made with `ssh-keygen -Y sign -n file` over the same
//! bytes must not turn into a commit signature.

use std::time::SystemTime;

use sequoia_openpgp::crypto::mpi;
use sequoia_openpgp::types::HashAlgorithm;
use ssh_key::{Algorithm, EcdsaCurve, HashAlg, SshSig};

use crate::allowed_signers::{match_pattern_list_exact, ssh_key_id, SshEntry};
use crate::object::{Format, Signed};
use crate::store::TrustStore;
use crate::{KeyRef, KeyValidity, Problem, Signer, Verdict, VerifyOptions};

const NAMESPACE: &str = "git";

pub(crate) fn verify(
    store: &TrustStore,
    signed: &Signed,
    claimed_time: SystemTime,
    opts: &VerifyOptions,
) -> Verdict {
    match verify_inner(store, signed, claimed_time, opts) {
        Ok(s) => Verdict::Good(s),
        Err(p) => Verdict::Bad(p),
    }
}

fn key_ref(e: &SshEntry) -> KeyRef {
    KeyRef {
        key_id: e.key_id.clone(),
        user_id: Some(e.principals.clone()),
    }
}

/// Does this `allowed_signers` line accept a `git` signature judged at `t`?
fn judge_entry(e: &SshEntry, t: SystemTime) -> Result<(), Problem> {
    if let Some(ns) = &e.namespaces {
        if !match_pattern_list_exact(NAMESPACE, ns) {
            return Err(Problem::NamespaceNotAllowed {
                key: key_ref(e),
                namespaces: ns.clone(),
            });
        }
    }
    if let Some(from) = e.valid_after {
        if t < from {
            return Err(Problem::NotYetValid {
                key: key_ref(e),
                from,
                judged_at: t,
            });
        }
    }
    // As ssh-keygen: valid up to and including the valid-before second.
    if let Some(at) = e.valid_before {
        if t > at {
            return Err(Problem::Expired {
                key: key_ref(e),
                at,
                judged_at: t,
            });
        }
    }
    Ok(())
}

/// Splits an SSH ECDSA signature blob (`mpint r`, `mpint s`).
fn ecdsa_scalars(blob: &[u8]) -> Option<(&[u8], &[u8])> {
    fn mpint(b: &[u8]) -> Option<(&[u8], &[u8])> {
        let len = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as usize;
        let end = len.checked_add(4)?;
        Some((b.get(4..end)?, b.get(end..)?))
    }
    let (r, rest) = mpint(blob)?;
    let (s, rest) = mpint(rest)?;
    rest.is_empty().then_some((r, s))
}

/// The cryptographic check. The caller has matched the key and the namespace already.
fn check_maths(entry: &SshEntry, sig: &SshSig, payload: &[u8]) -> Result<(), String> {
    let Some(key) = &entry.backend else {
        return entry
            .key
            .verify(NAMESPACE, payload, sig)
            .map_err(|e| e.to_string());
    };
    // The signature algorithm fixes the hash over the SSHSIG blob. Plain `ssh-rsa` (SHA-1)
    // is refused, as OpenSSH refuses it for SSHSIG.
    let raw = sig.signature_bytes();
    let (hash, mpi_sig) = match sig.algorithm() {
        Algorithm::Rsa { hash: Some(h) } => {
            let hash = match h {
                HashAlg::Sha256 => HashAlgorithm::SHA256,
                HashAlg::Sha512 => HashAlgorithm::SHA512,
                other => return Err(format!("unsupported RSA hash {other}")),
            };
            let s = mpi::MPI::new(raw);
            (hash, mpi::Signature::RSA { s })
        }
        Algorithm::Ecdsa { curve } => {
            let hash = match curve {
                EcdsaCurve::NistP256 => HashAlgorithm::SHA256,
                EcdsaCurve::NistP384 => HashAlgorithm::SHA384,
                EcdsaCurve::NistP521 => HashAlgorithm::SHA512,
            };
            let (r, s) = ecdsa_scalars(raw).ok_or("malformed ECDSA signature")?;
            let (r, s) = (mpi::MPI::new(r), mpi::MPI::new(s));
            (hash, mpi::Signature::ECDSA { r, s })
        }
        other => return Err(format!("{other} signatures are not accepted for this key")),
    };
    let blob =
        SshSig::signed_data(NAMESPACE, sig.hash_alg(), payload).map_err(|e| e.to_string())?;
    let mut ctx = hash.context().map_err(|e| e.to_string())?.for_digest();
    ctx.update(&blob);
    let digest = ctx.into_digest().map_err(|e| e.to_string())?;
    key.verify(&mpi_sig, hash, &digest)
        .map_err(|e| e.to_string())
}

/// FIDO security keys (`sk-*`) append flags and a counter to the signature; `ssh-key` checks
/// the maths but not the flags. pushguard demands user presence (a touch). `ssh-keygen -Y
/// verify` checks no flag at all, and its `allowed_signers` has no option to relax or
/// tighten this (`no-touch-required` and `verify-required` are `authorized_keys` options
/// that make it skip the line), so this is stricter than git.
fn security_key_problem(algorithm: &Algorithm, signature: &[u8]) -> Option<String> {
    const USER_PRESENT: u8 = 0x01;
    if !matches!(
        algorithm,
        Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256
    ) {
        return None;
    }
    // flags (1 byte) then counter (4 bytes) end the signature.
    let Some(&flags) = signature
        .len()
        .checked_sub(5)
        .and_then(|i| signature.get(i))
    else {
        return Some("the security-key signature is truncated".into());
    };
    if flags & USER_PRESENT == 0 {
        return Some("the security key was not touched (no user presence)".into());
    }
    None
}

fn verify_inner(
    store: &TrustStore,
    signed: &Signed,
    claimed_time: SystemTime,
    opts: &VerifyOptions,
) -> Result<Signer, Problem> {
    // Not `SshSig::from_pem`: it does not hold length fields to their data (see sshsig.rs).
    let sig = crate::sshsig::parse_armored(&signed.signature)
        .map_err(|e| Problem::Malformed(format!("the SSH signature is not well-formed: {e}")))?;
    if sig.namespace() != NAMESPACE {
        return Err(Problem::WrongNamespace {
            found: sig.namespace().to_string(),
        });
    }
    let key_id = ssh_key_id(sig.public_key());
    let entries: Vec<&SshEntry> = store
        .ssh_entries(&key_id)
        .filter(|e| e.key.key_data() == sig.public_key())
        .collect();
    let Some(&first) = entries.first() else {
        return Err(Problem::UnknownKey { issuer: key_id });
    };
    let limit = opts
        .now
        .checked_add(opts.max_future_skew)
        .unwrap_or(opts.now);
    if claimed_time > limit {
        return Err(Problem::FutureTime {
            key: Some(key_ref(first)),
            created: claimed_time,
            now: opts.now,
        });
    }
    // The line(s) that accept the signature; the first refusal explains a rejection.
    let mut accepted = Vec::new();
    let mut refusal = None;
    for e in &entries {
        let mut verdict = judge_entry(e, claimed_time);
        if verdict.is_ok() && opts.key_validity == KeyValidity::Now {
            verdict = judge_entry(e, opts.now);
        }
        match verdict {
            Ok(()) => accepted.push(*e),
            Err(p) => {
                refusal.get_or_insert(p);
            }
        }
    }
    if accepted.is_empty() {
        return Err(refusal.unwrap_or(Problem::UnknownKey { issuer: key_id }));
    }
    check_maths(first, &sig, &signed.payload).map_err(|reason| Problem::BadSignature {
        key: key_ref(first),
        reason,
    })?;
    if let Some(reason) = security_key_problem(&sig.algorithm(), sig.signature_bytes()) {
        return Err(Problem::BadSignature {
            key: key_ref(first),
            reason,
        });
    }
    Ok(Signer {
        format: Format::Ssh,
        signing_key: key_id.clone(),
        key_id,
        user_ids: accepted.iter().map(|e| e.principals.clone()).collect(),
        created: claimed_time,
        hash: match sig.hash_alg() {
            HashAlg::Sha256 => "SHA256",
            HashAlg::Sha512 => "SHA512",
            _ => "unknown",
        }
        .to_string(),
        emails: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_blob_is_two_mpints_and_nothing_else() {
        let blob = [0, 0, 0, 2, 1, 2, 0, 0, 0, 1, 3];
        assert_eq!(ecdsa_scalars(&blob), Some((&[1u8, 2][..], &[3u8][..])));
        assert_eq!(ecdsa_scalars(&blob[..10]), None);
        assert_eq!(ecdsa_scalars(&[&blob[..], &[0]].concat()), None);
        assert_eq!(ecdsa_scalars(&[255, 255, 255, 255, 0]), None);
    }

    #[test]
    fn security_keys_must_show_user_presence() {
        let sig = |flags: u8| {
            let mut s = vec![7u8; 64];
            s.push(flags);
            s.extend_from_slice(&[0, 0, 0, 9]);
            s
        };
        let sk = Algorithm::SkEd25519;
        assert_eq!(security_key_problem(&sk, &sig(0x01)), None);
        assert_eq!(security_key_problem(&sk, &sig(0x05)), None);
        assert!(security_key_problem(&sk, &sig(0x00)).is_some());
        assert!(security_key_problem(&sk, &sig(0x04)).is_some());
        assert!(security_key_problem(&Algorithm::SkEcdsaSha2NistP256, &[1, 2]).is_some());
        assert_eq!(security_key_problem(&Algorithm::Ed25519, &sig(0x00)), None);
    }
}
