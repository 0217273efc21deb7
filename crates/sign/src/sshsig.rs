//! A strict reader for SSH signatures (PROTOCOL.sshsig), in front of `ssh-key`.
//!
//! `ssh-key` 0.6's `SshSig::from_pem` does not hold a length-prefixed field to its declared
//! length: a public key whose length prefix claims more bytes than the key uses still parses,
//! and the signature verifies, where `ssh-keygen -Y verify` refuses it. So the blob is read
//! here, field by field:
//!
//! ```text
//! byte[6]  "SSHSIG"
//! uint32   1                    (the only version; OpenSSH also takes 0)
//! string   public key           (parsed whole, nothing left over)
//! string   namespace            (UTF-8, no NUL)
//! string   reserved             (must be empty; OpenSSH ignores it)
//! string   hash algorithm       ("sha256" or "sha512")
//! string   signature            (algorithm name, blob, and for FIDO keys flags and counter)
//! ```
//!
//! with no bytes after the last field, every length within what is left; then the parsed
//! values are encoded again and must give back the same bytes.

use ssh_key::public::KeyData;
use ssh_key::{Algorithm, HashAlg, PublicKey, Signature, SshSig};

/// Reads `uint32` then that many bytes.
fn string<'a>(r: &mut &'a [u8], what: &str) -> Result<&'a [u8], String> {
    let Some((len, rest)) = r.split_first_chunk::<4>() else {
        return Err(format!(
            "the {what}'s length field is cut short ({} bytes left)",
            r.len()
        ));
    };
    let len = u32::from_be_bytes(*len);
    let Some(value) = usize::try_from(len).ok().and_then(|l| rest.get(..l)) else {
        return Err(format!(
            "the {what}'s length field says {len} bytes but only {} follow",
            rest.len()
        ));
    };
    *r = rest.get(value.len()..).unwrap_or_default();
    Ok(value)
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) -> Result<(), String> {
    let len = u32::try_from(s.len()).map_err(|_| "a field is too long".to_string())?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s);
    Ok(())
}

/// The part of a FIDO signature after its blob: flags (1 byte) and counter (4 bytes).
const SK_TRAILER: usize = 5;

/// Parses the signature field: `string algorithm`, `string blob`, and for FIDO keys
/// `byte flags`, `uint32 counter`. Returns the signature and its canonical encoding.
fn signature(field: &[u8]) -> Result<(Signature, Vec<u8>), String> {
    let mut r = field;
    let name = string(&mut r, "signature algorithm")?;
    let name = std::str::from_utf8(name)
        .map_err(|_| "the signature algorithm name is not UTF-8".to_string())?;
    let algorithm =
        Algorithm::new(name).map_err(|e| format!("unknown signature algorithm {name:?}: {e}"))?;
    if algorithm == (Algorithm::Rsa { hash: None }) {
        return Err(
            "an ssh-rsa (RSA with SHA-1) signature, which OpenSSH refuses for \
                    SSHSIG too"
                .into(),
        );
    }
    let blob = string(&mut r, "signature blob")?;
    let mut data = blob.to_vec();
    let sk = matches!(
        algorithm,
        Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256
    );
    if sk {
        let trailer = r
            .get(..SK_TRAILER)
            .ok_or("the security-key signature lacks its flags and counter")?;
        data.extend_from_slice(trailer);
        r = r.get(SK_TRAILER..).unwrap_or_default();
    }
    if !r.is_empty() {
        return Err(format!(
            "the signature field has {} bytes after its end",
            r.len()
        ));
    }
    let sig = Signature::new(algorithm.clone(), data)
        .map_err(|e| format!("the {name} signature is malformed: {e}"))?;
    let mut encoded = Vec::with_capacity(field.len());
    put_string(&mut encoded, algorithm.as_str().as_bytes())?;
    let bytes = sig.as_bytes();
    let core = bytes
        .get(..bytes.len() - if sk { SK_TRAILER } else { 0 })
        .unwrap_or_default();
    put_string(&mut encoded, core)?;
    encoded.extend_from_slice(bytes.get(core.len()..).unwrap_or_default());
    Ok((sig, encoded))
}

/// Parses a decoded SSHSIG blob strictly (see the module documentation).
pub(crate) fn parse_blob(blob: &[u8]) -> Result<SshSig, String> {
    let rest = blob
        .strip_prefix(b"SSHSIG")
        .ok_or("the blob does not start with the SSHSIG magic")?;
    let (version, mut r) = rest
        .split_first_chunk::<4>()
        .ok_or("the blob ends before its version")?;
    let version = u32::from_be_bytes(*version);
    if version != 1 {
        return Err(format!("version {version}; only version 1 exists"));
    }
    // Each field is judged as soon as it is read, so the message names the first bad one.
    let key_field = string(&mut r, "public key")?;
    let key = PublicKey::from_bytes(key_field)
        .map_err(|e| format!("the public key field does not parse exactly: {e}"))?;
    let key_again = key
        .to_bytes()
        .map_err(|e| format!("the public key cannot be encoded: {e}"))?;
    if key_again != key_field {
        return Err("the public key field is not in canonical form".into());
    }
    let namespace = string(&mut r, "namespace")?;
    let namespace = std::str::from_utf8(namespace)
        .ok()
        .filter(|ns| !ns.is_empty() && !ns.contains('\0'))
        .ok_or("the namespace is empty, not UTF-8 or holds a NUL byte")?;
    let reserved = string(&mut r, "reserved field")?;
    if !reserved.is_empty() {
        return Err(format!(
            "the reserved field holds {} bytes; ssh-keygen writes it empty",
            reserved.len()
        ));
    }
    let hash = string(&mut r, "hash algorithm")?;
    let hash_alg = match hash {
        b"sha256" => HashAlg::Sha256,
        b"sha512" => HashAlg::Sha512,
        other => {
            return Err(format!(
                "the hash algorithm {:?} is not sha256 or sha512",
                String::from_utf8_lossy(other)
            ))
        }
    };
    let sig_field = string(&mut r, "signature")?;
    let (signature, sig_again) = signature(sig_field)?;
    if sig_again != sig_field {
        return Err("the signature field is not in canonical form".into());
    }
    if !r.is_empty() {
        return Err(format!(
            "{} bytes after the signature, the blob's last field",
            r.len()
        ));
    }
    let key_data: KeyData = key.key_data().clone();
    let sig = SshSig::new(key_data, namespace, hash_alg, signature)
        .map_err(|e| format!("the signature does not assemble: {e}"))?;

    // Everything was read from exactly its own bytes; as a last check, the parsed values
    // encode back to the blob we were given.
    let mut again = Vec::with_capacity(blob.len());
    again.extend_from_slice(b"SSHSIG");
    again.extend_from_slice(&1u32.to_be_bytes());
    put_string(&mut again, &key_again)?;
    put_string(&mut again, sig.namespace().as_bytes())?;
    put_string(&mut again, sig.reserved())?;
    put_string(&mut again, sig.hash_alg().as_str().as_bytes())?;
    put_string(&mut again, &sig_again)?;
    if again != blob {
        return Err("the blob does not re-encode to the same bytes".into());
    }
    Ok(sig)
}

/// Dearmors (strictly) and parses an SSH signature as git stores it.
pub(crate) fn parse_armored(armored: &[u8]) -> Result<SshSig, String> {
    let blob = crate::armor::dearmor_ssh(armored)?;
    parse_blob(&blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An SSHSIG blob made by `ssh-keygen -Y sign -n git` (ed25519), decoded.
    fn sample() -> Vec<u8> {
        let b64 = concat!(
            "U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgLb/JetBIwUm8w5w/rmYeh/LKPx",
            "Vbq/h8HdjcSxGatJwAAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5",
            "AAAAQHSG/NnSJ+6SSGrQQbg8ItKBSPuEO0ZTzJWEEVqRzmSq3vaVizK7F+fCF3dcGVBAly",
            "sFJApJMlHA8yIFdybo8As="
        );
        let mut out = Vec::new();
        crate::armor::base64_decode_strict(b64.as_bytes(), &mut out).unwrap();
        out
    }

    #[test]
    fn reads_a_real_signature() {
        let sig = parse_blob(&sample()).unwrap();
        assert_eq!(sig.namespace(), "git");
        assert_eq!(sig.hash_alg(), HashAlg::Sha512);
        assert_eq!(sig.algorithm(), Algorithm::Ed25519);
        // ssh-key reads the same blob to the same value.
        let theirs = SshSig::from_pem(
            SshSig::new(
                sig.public_key().clone(),
                "git",
                HashAlg::Sha512,
                sig.signature().clone(),
            )
            .unwrap()
            .to_pem(ssh_key::LineEnding::LF)
            .unwrap(),
        )
        .unwrap();
        assert_eq!(theirs, sig);
    }

    #[test]
    fn every_length_field_is_held_to_its_data() {
        let good = sample();
        // Offsets of the length fields: key (10), key type (14), key bytes (29),
        // namespace (65), reserved (72), hash (76), signature (86), sig type (90), blob (105).
        for (at, name) in [
            (10, "public key"),
            (14, "public key"),
            (29, "public key"),
            (65, "namespace"),
            (72, "reserved"),
            (76, "hash"),
            (86, "signature"),
            (90, "signature"),
            (105, "signature"),
        ] {
            for delta in [1u8, 0xff] {
                let mut bad = good.clone();
                bad[at + 3] = bad[at + 3].wrapping_add(delta);
                let err = parse_blob(&bad).expect_err(name);
                assert!(!err.is_empty(), "{name}");
            }
        }
        for (bad, needle) in [
            ([&good[..], b"x"].concat(), "after the signature"),
            (good[..good.len() - 1].to_vec(), "length field"),
            ([b"SSHSIH", &good[6..]].concat(), "magic"),
            ([&good[..9], &[2u8], &good[10..]].concat(), "only version 1"),
            ([&good[..9], &[0u8], &good[10..]].concat(), "only version 1"),
        ] {
            let err = parse_blob(&bad).unwrap_err();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn reserved_and_hash_fields_are_checked() {
        let good = sample();
        // reserved: "" -> "x"
        let mut bad = good[..72].to_vec();
        bad.extend_from_slice(&[0, 0, 0, 1, b'x']);
        bad.extend_from_slice(&good[76..]);
        assert!(parse_blob(&bad).unwrap_err().contains("reserved"));
        // hash: "sha512" -> "sha384"
        let mut bad = good.clone();
        bad[80..86].copy_from_slice(b"sha384");
        assert!(parse_blob(&bad).unwrap_err().contains("sha384"));
    }

    #[test]
    fn security_key_signatures_reencode_with_their_trailer() {
        // sk-ssh-ed25519: string alg, string sig(64), flags, counter.
        let mut field = Vec::new();
        put_string(&mut field, b"sk-ssh-ed25519@openssh.com").unwrap();
        put_string(&mut field, &[7u8; 64]).unwrap();
        field.extend_from_slice(&[1, 0, 0, 0, 9]);
        let (sig, again) = signature(&field).unwrap();
        assert_eq!(again, field);
        assert_eq!(sig.as_bytes().len(), 69);
        assert!(signature(&field[..field.len() - 1]).is_err());
        assert!(signature(&[&field[..], &[0]].concat()).is_err());
    }

    #[test]
    fn plain_ssh_rsa_signatures_are_refused() {
        let mut field = Vec::new();
        put_string(&mut field, b"ssh-rsa").unwrap();
        put_string(&mut field, &[7u8; 256]).unwrap();
        assert!(signature(&field).unwrap_err().contains("SHA-1"));
    }
}
