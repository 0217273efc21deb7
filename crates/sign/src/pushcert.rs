//! Push certificates (`git push --signed`).
//!
//! A stolen account can push, but it cannot sign: the certificate is the pusher's signed
//! statement of which refs move where, bound to a server-issued nonce. git hands the hook the
//! certificate blob (`GIT_PUSH_CERT`); this module splits it into the facts the caller compares
//! with the ref updates and the nonce status, and the [`Signed`] part for [`crate::verify`].

use thiserror::Error;

use std::time::SystemTime;

use crate::object::{tag_signature, Signed};
use crate::time::from_unix;

/// One `<old> <new> <ref>` line of a push certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushCertUpdate {
    /// Old object id (hex; all zeros when the ref is created).
    pub old: String,
    /// New object id (hex; all zeros when the ref is deleted).
    pub new: String,
    /// Full ref name.
    pub refname: String,
}

/// A parsed push certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushCert {
    /// The `certificate version` header (git writes `0.1`).
    pub version: String,
    /// The raw `pusher` header value: git writes the configured signing key
    /// (`user.signingkey`, or the SSH key fingerprint), then a timestamp and zone.
    pub pusher: String,
    /// The timestamp of the `pusher` header: the claimed signing time, which [`crate::verify`]
    /// needs for SSH signatures (and the caller may compare with the nonce's time).
    pub pusher_time: Option<SystemTime>,
    /// The `pushee` header (the URL pushed to), when present.
    pub pushee: Option<String>,
    /// The `nonce` header; git checks it and reports `GIT_PUSH_CERT_NONCE_STATUS`.
    pub nonce: String,
    /// `push-option` headers, in order.
    pub push_options: Vec<String>,
    /// The ref updates the pusher signed.
    pub updates: Vec<PushCertUpdate>,
    /// The signature and the bytes it signs.
    pub signed: Signed,
}

/// Why a push certificate could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PushCertError {
    /// The certificate carries no signature block.
    #[error("the push certificate is not signed")]
    Unsigned,
    /// A header the certificate must have is missing.
    #[error("the push certificate has no `{0}` header")]
    MissingHeader(&'static str),
    /// A line that is neither a known header nor an update line.
    #[error("the push certificate has a malformed line {line}: {text:?}")]
    Malformed {
        /// 1-based line number within the certificate.
        line: usize,
        /// The offending line (lossily decoded).
        text: String,
    },
}

fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `<key> <unix time> <zone>`: the time is the second-to-last field.
fn pusher_time(pusher: &str) -> Option<SystemTime> {
    let mut fields = pusher.split_whitespace().rev();
    let _zone = fields.next()?;
    Some(from_unix(fields.next()?.parse().ok()?))
}

/// Parses a push certificate blob (the content of the object named by `GIT_PUSH_CERT`).
pub fn parse_push_cert(blob: &[u8]) -> Result<PushCert, PushCertError> {
    let signed = tag_signature(blob).ok_or(PushCertError::Unsigned)?;
    let text = String::from_utf8_lossy(&signed.payload).into_owned();
    let (mut version, mut pusher, mut pushee, mut nonce) = (None, None, None, None);
    let mut push_options = Vec::new();
    let mut updates = Vec::new();
    let mut in_headers = true;
    for (i, line) in text.split_terminator('\n').enumerate() {
        let malformed = || PushCertError::Malformed {
            line: i + 1,
            text: line.to_string(),
        };
        if in_headers {
            if line.is_empty() {
                in_headers = false;
            } else if let Some(v) = line.strip_prefix("certificate version ") {
                version = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("pusher ") {
                pusher = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("pushee ") {
                pushee = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("nonce ") {
                nonce = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("push-option ") {
                push_options.push(v.to_string());
            } else {
                return Err(malformed());
            }
            continue;
        }
        let mut parts = line.splitn(3, ' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(old), Some(new), Some(refname))
                if is_object_id(old) && is_object_id(new) && !refname.is_empty() =>
            {
                updates.push(PushCertUpdate {
                    old: old.to_ascii_lowercase(),
                    new: new.to_ascii_lowercase(),
                    refname: refname.to_string(),
                })
            }
            _ => return Err(malformed()),
        }
    }
    let pusher = pusher.ok_or(PushCertError::MissingHeader("pusher"))?;
    Ok(PushCert {
        version: version.ok_or(PushCertError::MissingHeader("certificate version"))?,
        pusher_time: pusher_time(&pusher),
        pusher,
        pushee,
        nonce: nonce.ok_or(PushCertError::MissingHeader("nonce"))?,
        push_options,
        updates,
        signed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers_updates_and_signature() {
        let blob = format!(
            "certificate version 0.1\npusher SHA256:abc  1700000000 +0000\npushee /srv/r.git\n\
             nonce 1700000000-abc\npush-option ci.skip\n\n{} {} refs/heads/main\n\
             -----BEGIN PGP SIGNATURE-----\nx\n-----END PGP SIGNATURE-----\n",
            "0".repeat(40),
            "a".repeat(40)
        );
        let c = parse_push_cert(blob.as_bytes()).unwrap();
        assert_eq!(c.version, "0.1");
        assert_eq!(c.nonce, "1700000000-abc");
        assert_eq!(c.pushee.as_deref(), Some("/srv/r.git"));
        assert_eq!(c.push_options, ["ci.skip"]);
        assert_eq!(crate::time::to_unix(c.pusher_time.unwrap()), 1_700_000_000);
        assert_eq!(c.updates.len(), 1);
        assert_eq!(c.updates[0].refname, "refs/heads/main");
        assert!(c.signed.payload.ends_with(b"refs/heads/main\n"));

        let bad = blob.replace("refs/heads/main", "");
        assert!(matches!(
            parse_push_cert(bad.as_bytes()),
            Err(PushCertError::Malformed { line: 7, .. })
        ));
        let no_nonce = blob.replace("nonce 1700000000-abc\n", "");
        assert_eq!(
            parse_push_cert(no_nonce.as_bytes()),
            Err(PushCertError::MissingHeader("nonce"))
        );
        let unsigned = &blob[..blob.find("-----BEGIN").unwrap()];
        assert_eq!(
            parse_push_cert(unsigned.as_bytes()),
            Err(PushCertError::Unsigned)
        );
    }
}
