//! The trust roots: OpenPGP certificates and the SSH `allowed_signers` file.
//!
//! Loaded once per push and shared (read-only) by the threads that verify commits in
//! parallel, so everything needed to find a signer's key is indexed up front.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use openpgp::cert::CertParser;
use openpgp::packet::Signature;
use openpgp::parse::Parse;
use openpgp::policy::{HashAlgoSecurity, StandardPolicy};
use openpgp::types::{HashAlgorithm, SignatureType};
use openpgp::{Cert, KeyID, Packet, PacketPile};
use sequoia_openpgp as openpgp;
use thiserror::Error;

use crate::allowed_signers::{self, SshEntry};
use crate::object::Format;
use crate::pgp;

/// The largest `allowed_signers` file [`TrustStore::load`] reads: 16 MiB, some 100,000 keys.
/// A larger file (or `/dev/zero`, or a file that grows while it is read) is a load error, not
/// a hook that reads until memory runs out.
pub const MAX_ALLOWED_SIGNERS_BYTES: u64 = 16 << 20;

/// The largest OpenPGP certificate or keyring file [`TrustStore::load`] reads, per file:
/// 16 MiB (a certificate with many signatures is tens of KiB).
pub const MAX_OPENPGP_FILE_BYTES: u64 = 16 << 20;

/// Reads a trust-root file: a regular file (after following symlinks) of at most `limit`
/// bytes. Checked before opening (so a FIFO is not opened, which would block), again on the
/// open handle, and the read itself stops at `limit + 1` bytes, so a file that grows or is
/// swapped between the check and the read is still bounded.
fn read_bounded(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, LoadError> {
    use std::io::{Error, ErrorKind};
    let io = |source: Error| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let check = |meta: &std::fs::Metadata| -> Result<(), Error> {
        if !meta.is_file() {
            let kind = if meta.is_dir() {
                "a directory"
            } else {
                "not a regular file (a device, FIFO or socket)"
            };
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{kind}; {what} must be a regular file"),
            ));
        }
        if meta.len() > limit {
            return Err(too_large(meta.len(), limit, what));
        }
        Ok(())
    };
    check(&std::fs::metadata(path).map_err(io)?).map_err(io)?;
    let file = std::fs::File::open(path).map_err(io)?;
    check(&file.metadata().map_err(io)?).map_err(io)?;
    read_at_most(file, limit, what).map_err(io)
}

/// Reads to the end, but never more than `limit` bytes: one byte more is an error.
fn read_at_most(r: impl std::io::Read, limit: u64, what: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    r.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit, what));
    }
    Ok(bytes)
}

fn too_large(size: u64, limit: u64, what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!(
            "{what} is larger than the {} MiB pushguard reads ({size} bytes or more)",
            limit >> 20
        ),
    )
}

/// Why the trust roots could not be loaded. Each variant names the file (and line).
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be read: missing, unreadable, not a regular file
    /// (`ErrorKind::InvalidInput`), larger than [`MAX_ALLOWED_SIGNERS_BYTES`] or
    /// [`MAX_OPENPGP_FILE_BYTES`] (`ErrorKind::FileTooLarge`), or (allowed_signers) not UTF-8.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not an OpenPGP certificate or keyring.
    #[error("{}: not an OpenPGP certificate or keyring: {reason}", path.display())]
    OpenPgp {
        /// The file.
        path: PathBuf,
        /// What Sequoia said.
        reason: String,
    },
    /// The file parsed but holds no certificate.
    #[error("{}: contains no OpenPGP certificate", path.display())]
    NoCerts {
        /// The file.
        path: PathBuf,
    },
    /// A line of the `allowed_signers` file is not understood.
    #[error("{}:{line}: {reason}", path.display())]
    AllowedSigners {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// A revocation, as `policy check` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// Hard (compromised or unspecified) revocations reject every signature.
    pub hard: bool,
    /// When the revocation was made.
    pub at: SystemTime,
    /// Reason code and text.
    pub reason: String,
}

/// One trusted key, for `pushguard policy check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The policy key id (`openpgp:<FPR>` or `ssh:SHA256:<base64>`).
    pub key_id: String,
    /// OpenPGP or SSH.
    pub format: Format,
    /// OpenPGP user ids, or the SSH principal patterns.
    pub user_ids: Vec<String>,
    /// Where it was loaded from: a file, or `file:line` for `allowed_signers`.
    pub source: String,
    /// OpenPGP: the primary key's creation time.
    pub created: Option<SystemTime>,
    /// OpenPGP: the primary key's expiry. SSH: `valid-before`.
    pub expires: Option<SystemTime>,
    /// SSH: `valid-after`.
    pub valid_after: Option<SystemTime>,
    /// SSH: the `namespaces=` restriction.
    pub namespaces: Option<String>,
    /// OpenPGP: the certificate's revocation, if any.
    pub revoked: Option<Revocation>,
    /// OpenPGP: fingerprints of the keys that can sign now (primary and subkeys).
    pub signing_keys: Vec<String>,
    /// Warnings: why the key cannot sign now (expired, invalid under the policy, …).
    pub problems: Vec<String>,
}

/// The trusted keys. `Send + Sync`: one store is shared by all verification threads.
pub struct TrustStore {
    pub(crate) certs: Vec<Cert>,
    cert_sources: Vec<PathBuf>,
    /// Every key id (primary and subkeys) to the certificates holding it.
    by_keyid: HashMap<KeyID, Vec<usize>>,
    pub(crate) ssh: Vec<SshEntry>,
    ssh_by_id: HashMap<String, Vec<usize>>,
    ssh_path: Option<PathBuf>,
    pub(crate) strict: StandardPolicy<'static>,
    pub(crate) sha1_ok: StandardPolicy<'static>,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("openpgp_certs", &self.certs.len())
            .field("ssh_entries", &self.ssh.len())
            .finish()
    }
}

impl TrustStore {
    /// Loads certificates (armored or binary, single certs or keyrings; the caller has already
    /// expanded globs) and an optional OpenSSH `allowed_signers` file. Secret key material is
    /// dropped; a certificate listed twice is merged.
    pub fn load(
        openpgp: &[PathBuf],
        allowed_signers: Option<&Path>,
    ) -> Result<TrustStore, LoadError> {
        let mut files = Vec::with_capacity(openpgp.len());
        for path in openpgp {
            let bytes = read_bounded(path, MAX_OPENPGP_FILE_BYTES, "an OpenPGP key file")?;
            files.push((path.clone(), bytes));
        }
        let signers = match allowed_signers {
            Some(path) => Some((
                path.to_path_buf(),
                read_bounded(path, MAX_ALLOWED_SIGNERS_BYTES, "allowed_signers")?,
            )),
            None => None,
        };
        let borrowed: Vec<(&Path, &[u8])> = files
            .iter()
            .map(|(p, b)| (p.as_path(), b.as_slice()))
            .collect();
        TrustStore::from_bytes(
            &borrowed,
            signers.as_ref().map(|(p, b)| (p.as_path(), b.as_slice())),
        )
    }

    /// [`TrustStore::load`] on contents already read: each OpenPGP file and the
    /// `allowed_signers` file as bytes, with the path they came from (used only in errors and
    /// in [`KeyInfo`]). The size caps of `load` are the caller's business here. Used by the
    /// fuzz targets and by anything that holds key material in memory.
    pub fn from_bytes(
        openpgp: &[(&Path, &[u8])],
        allowed_signers: Option<(&Path, &[u8])>,
    ) -> Result<TrustStore, LoadError> {
        let mut certs: Vec<Cert> = Vec::new();
        let mut cert_sources = Vec::new();
        let mut by_fpr: HashMap<openpgp::Fingerprint, usize> = HashMap::new();
        let mut revocations: Vec<(PathBuf, Signature)> = Vec::new();
        for &(path, bytes) in openpgp {
            let path = &path.to_path_buf();
            let parsed = match parse_certs(bytes) {
                Ok(found) => found,
                Err(cert_error) => match parse_revocations(bytes) {
                    Some(sigs) => {
                        revocations.extend(sigs.into_iter().map(|s| (path.clone(), s)));
                        continue;
                    }
                    None => {
                        return Err(LoadError::OpenPgp {
                            path: path.clone(),
                            reason: cert_error,
                        })
                    }
                },
            };
            if parsed.is_empty() {
                return Err(LoadError::NoCerts { path: path.clone() });
            }
            for cert in parsed {
                match by_fpr
                    .get(&cert.fingerprint())
                    .and_then(|&i| certs.get_mut(i))
                {
                    Some(slot) => {
                        *slot =
                            slot.clone()
                                .merge_public(cert)
                                .map_err(|e| LoadError::OpenPgp {
                                    path: path.clone(),
                                    reason: e.to_string(),
                                })?;
                    }
                    None => {
                        by_fpr.insert(cert.fingerprint(), certs.len());
                        certs.push(cert);
                        cert_sources.push(path.clone());
                    }
                }
            }
        }
        // Bare revocation certificates (gpg's `openpgp-revocs.d/*.rev`, `sq revoke`) attach
        // to the certificate they revoke; one that revokes nothing loaded is an error, since
        // the administrator evidently meant to revoke something.
        for (path, sig) in revocations {
            let target = sig
                .get_issuers()
                .iter()
                .find_map(|h| certs.iter().position(|c| c.key_handle().aliases(h)));
            let not_loaded = || LoadError::OpenPgp {
                path: path.clone(),
                reason: "a revocation certificate for a key that is not loaded".to_string(),
            };
            let i = target.ok_or_else(not_loaded)?;
            let cert = certs.get(i).cloned().ok_or_else(not_loaded)?;
            let (revoked, _) =
                cert.insert_packets(std::iter::once(sig))
                    .map_err(|e| LoadError::OpenPgp {
                        path: path.clone(),
                        reason: e.to_string(),
                    })?;
            if let Some(slot) = certs.get_mut(i) {
                *slot = revoked;
            }
        }
        let mut by_keyid: HashMap<KeyID, Vec<usize>> = HashMap::new();
        for (i, cert) in certs.iter().enumerate() {
            for key in cert.keys() {
                let ids = by_keyid.entry(key.key().keyid()).or_default();
                if !ids.contains(&i) {
                    ids.push(i);
                }
            }
        }

        let mut ssh = Vec::new();
        if let Some((path, bytes)) = allowed_signers {
            let text = std::str::from_utf8(bytes).map_err(|e| LoadError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })?;
            ssh = allowed_signers::parse(text, path)?;
        }
        let mut ssh_by_id: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in ssh.iter().enumerate() {
            ssh_by_id.entry(e.key_id.clone()).or_default().push(i);
        }

        let mut sha1_ok = StandardPolicy::new();
        sha1_ok.accept_hash_property(HashAlgorithm::SHA1, HashAlgoSecurity::CollisionResistance);
        sha1_ok.accept_hash_property(
            HashAlgorithm::SHA1,
            HashAlgoSecurity::SecondPreImageResistance,
        );

        Ok(TrustStore {
            certs,
            cert_sources,
            by_keyid,
            ssh,
            ssh_by_id,
            ssh_path: allowed_signers.map(|(p, _)| p.to_path_buf()),
            strict: StandardPolicy::new(),
            sha1_ok,
        })
    }

    /// Certificates that hold a key with this key id.
    pub(crate) fn certs_for(&self, id: &KeyID) -> impl Iterator<Item = &Cert> {
        self.by_keyid
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.certs.get(i))
    }

    /// `allowed_signers` entries for an SSH key id.
    pub(crate) fn ssh_entries(&self, key_id: &str) -> impl Iterator<Item = &SshEntry> {
        self.ssh_by_id
            .get(key_id)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.ssh.get(i))
    }

    /// Whether a policy key id (any spelling [`normalize_key_id`] accepts) names a loaded key:
    /// for `policy check` to flag group members that match nothing.
    pub fn has_key(&self, key_id: &str) -> bool {
        let Some(id) = normalize_key_id(key_id) else {
            return false;
        };
        match id.strip_prefix("openpgp:") {
            Some(hex) => self.certs.iter().any(|c| c.fingerprint().to_hex() == hex),
            None => self.ssh_by_id.contains_key(&id),
        }
    }

    /// Every trusted key, judged now; see [`TrustStore::keys_at`].
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.keys_at(SystemTime::now())
    }

    /// Every trusted key with its user ids, expiry and revocation as of `now`.
    pub fn keys_at(&self, now: SystemTime) -> Vec<KeyInfo> {
        let mut out: Vec<KeyInfo> = self
            .certs
            .iter()
            .zip(&self.cert_sources)
            .map(|(cert, src)| pgp::key_info(cert, src, &self.strict, now))
            .collect();
        let path = self
            .ssh_path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        out.extend(self.ssh.iter().map(|e| {
            let mut problems = Vec::new();
            if e.valid_before.is_some_and(|t| t <= now) {
                problems.push("valid-before has passed".to_string());
            }
            if e.valid_after.is_some_and(|t| t > now) {
                problems.push("valid-after is in the future".to_string());
            }
            if let Some(ns) = &e.namespaces {
                if !allowed_signers::match_pattern_list_exact("git", ns) {
                    problems.push(format!("namespaces=\"{ns}\" excludes git"));
                }
            }
            KeyInfo {
                key_id: e.key_id.clone(),
                format: Format::Ssh,
                user_ids: vec![e.principals.clone()],
                source: format!("{path}:{}", e.line),
                created: None,
                expires: e.valid_before,
                valid_after: e.valid_after,
                namespaces: e.namespaces.clone(),
                revoked: None,
                signing_keys: vec![e.key_id.clone()],
                problems,
            }
        }));
        out
    }
}

/// Every certificate in an armored or binary file, secret key material dropped.
fn parse_certs(bytes: &[u8]) -> Result<Vec<Cert>, String> {
    // One armored certificate as gpg and sq export it: removed by hand, then parsed as binary
    // (the same packets Sequoia's armor reader would give, in a fraction of the time).
    // Anything else (keyrings of several blocks, text around the armor, binary) goes to
    // Sequoia whole.
    if let Ok(binary) = crate::armor::dearmor_openpgp_cert(bytes) {
        if let Ok(certs) = parse_binary_certs(&binary) {
            return Ok(certs);
        }
    }
    parse_binary_certs(bytes)
}

fn parse_binary_certs(bytes: &[u8]) -> Result<Vec<Cert>, String> {
    CertParser::from_bytes(bytes)
        .map_err(|e| e.to_string())?
        .map(|c| {
            c.map(Cert::strip_secret_key_material)
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// A file holding only key revocation signatures, or `None`.
fn parse_revocations(bytes: &[u8]) -> Option<Vec<Signature>> {
    let pile = PacketPile::from_bytes(bytes).ok()?;
    let mut sigs = Vec::new();
    for packet in pile.into_children() {
        match packet {
            Packet::Signature(s) if s.typ() == SignatureType::KeyRevocation => sigs.push(s),
            _ => return None,
        }
    }
    (!sigs.is_empty()).then_some(sigs)
}

/// Normalizes a key id as written in the policy's `[groups]`, or `None` if it is not one.
///
/// Accepted: `openpgp:` + a v4 (40 hex digits) or v6 (64) fingerprint in any case, with
/// spaces or a `0x` prefix; `ssh:SHA256:` + unpadded or padded base64, as `ssh-keygen -lf`
/// prints it. The prefixes may be omitted and are case-insensitive. Short OpenPGP key ids
/// (16 hex digits) are refused: they are cheap to collide.
pub fn normalize_key_id(s: &str) -> Option<String> {
    let compact: String = s.split_whitespace().collect();
    let lower = compact.to_ascii_lowercase();
    let (pgp_part, ssh_part) = if lower.starts_with("openpgp:") {
        (compact.get(8..), None)
    } else if lower.starts_with("ssh:") {
        (None, compact.get(4..))
    } else if lower.starts_with("sha256:") {
        (None, Some(compact.as_str()))
    } else {
        (Some(compact.as_str()), None)
    };
    if let Some(hex) = pgp_part {
        let hex = hex
            .strip_prefix("0x")
            .or_else(|| hex.strip_prefix("0X"))
            .unwrap_or(hex);
        return ((hex.len() == 40 || hex.len() == 64)
            && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| format!("openpgp:{}", hex.to_ascii_uppercase()));
    }
    let rest = ssh_part?;
    if !rest.get(..7)?.eq_ignore_ascii_case("sha256:") {
        return None;
    }
    let b64 = rest.get(7..)?.trim_end_matches('=');
    let ok = b64.len() == 43
        && b64
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    ok.then(|| format!("ssh:SHA256:{b64}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_policy_key_ids() {
        let fpr = "7A1B2C3D4E5F60718293A4B5C6D7E8F901234567";
        let want = Some(format!("openpgp:{fpr}"));
        assert_eq!(normalize_key_id(&format!("openpgp:{fpr}")), want);
        assert_eq!(normalize_key_id(&fpr.to_lowercase()), want);
        assert_eq!(
            normalize_key_id("OpenPGP: 7A1B 2C3D 4E5F 6071 8293  A4B5 C6D7 E8F9 0123 4567"),
            want
        );
        assert_eq!(normalize_key_id(&format!("openpgp:0x{fpr}")), want);
        assert_eq!(normalize_key_id("openpgp:7A1B2C3D4E5F6071"), None);
        assert_eq!(normalize_key_id(&format!("openpgp:{}", &fpr[..39])), None);
        let b64 = "uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";
        let want = Some(format!("ssh:SHA256:{b64}"));
        assert_eq!(normalize_key_id(&format!("ssh:SHA256:{b64}")), want);
        assert_eq!(normalize_key_id(&format!("SSH:sha256:{b64}=")), want);
        assert_eq!(normalize_key_id(&format!("SHA256:{b64}")), want);
        assert_eq!(normalize_key_id("ssh:SHA256:short"), None);
        assert_eq!(normalize_key_id("ssh:MD5:aa:bb"), None);
        assert_eq!(normalize_key_id("group:sre"), None);
    }

    /// The hand-removed armor of a key file gives the certificates Sequoia's own armor reader
    /// gives, and a file the strict reader refuses (CRLF lines, two blocks, text around the
    /// armor) is still read, by Sequoia.
    #[test]
    fn key_files_read_by_either_armor_reader_are_the_same() {
        let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/keys");
        let mut all = Vec::new();
        for name in [
            "dev-dana.asc",
            "sre-anna.asc",
            "sre-ravi.asc",
            "forge-gitea.asc",
        ] {
            let bytes = std::fs::read(keys.join(name)).unwrap();
            assert!(crate::armor::dearmor_openpgp_cert(&bytes).is_ok(), "{name}");
            let sequoia: Vec<Cert> = CertParser::from_bytes(&bytes)
                .unwrap()
                .map(|c| c.unwrap().strip_secret_key_material())
                .collect();
            assert_eq!(parse_certs(&bytes).unwrap(), sequoia, "{name}");
            let crlf = String::from_utf8(bytes.clone())
                .unwrap()
                .replace('\n', "\r\n");
            assert!(crate::armor::dearmor_openpgp_cert(crlf.as_bytes()).is_err());
            assert_eq!(
                parse_certs(crlf.as_bytes()).unwrap(),
                sequoia,
                "{name} CRLF"
            );
            let noted = format!(
                "exported by an admin\n{}",
                String::from_utf8(bytes.clone()).unwrap()
            );
            assert_eq!(
                parse_certs(noted.as_bytes()).unwrap(),
                sequoia,
                "{name} noted"
            );
            all.extend(bytes);
        }
        // Four blocks in one file: a keyring, read by Sequoia.
        assert_eq!(parse_certs(&all).unwrap().len(), 4);
    }

    #[test]
    fn from_bytes_loads_what_load_reads() {
        let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/keys");
        let asc = keys.join("sre-anna.asc");
        let signers = keys.join("allowed_signers");
        let from_files = TrustStore::load(std::slice::from_ref(&asc), Some(&signers)).unwrap();
        let asc_bytes = std::fs::read(&asc).unwrap();
        let signer_bytes = std::fs::read(&signers).unwrap();
        let from_bytes = TrustStore::from_bytes(
            &[(asc.as_path(), asc_bytes.as_slice())],
            Some((signers.as_path(), signer_bytes.as_slice())),
        )
        .unwrap();
        let ids = |s: &TrustStore| s.keys().into_iter().map(|k| k.key_id).collect::<Vec<_>>();
        assert!(!ids(&from_bytes).is_empty());
        assert_eq!(ids(&from_files), ids(&from_bytes));
        let bad = TrustStore::from_bytes(&[(Path::new("x.asc"), b"not a key")], None);
        assert!(bad.unwrap_err().to_string().contains("x.asc"));
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.asc");
        std::fs::write(&junk, "not a key").unwrap();
        let err = TrustStore::load(std::slice::from_ref(&junk), None).unwrap_err();
        assert!(err.to_string().contains("junk.asc"), "{err}");
        let missing = dir.path().join("missing.asc");
        let err = TrustStore::load(&[missing], None).unwrap_err();
        assert!(matches!(err, LoadError::Io { .. }), "{err}");
        assert!(err.to_string().contains("missing.asc"), "{err}");
    }

    #[test]
    fn trust_files_are_bounded_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        let kind = |r: Result<TrustStore, LoadError>| match r {
            Err(LoadError::Io { source, .. }) => source.kind(),
            other => panic!("{other:?}"),
        };
        // A directory, a device (after a symlink), and a file one byte over the limit.
        let d = dir.path().to_path_buf();
        assert_eq!(
            kind(TrustStore::load(&[], Some(&d))),
            std::io::ErrorKind::InvalidInput
        );
        assert_eq!(
            kind(TrustStore::load(std::slice::from_ref(&d), None)),
            std::io::ErrorKind::InvalidInput
        );
        #[cfg(unix)]
        {
            let link = dir.path().join("zero");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            assert_eq!(
                kind(TrustStore::load(&[], Some(&link))),
                std::io::ErrorKind::InvalidInput
            );
            assert_eq!(
                kind(TrustStore::load(std::slice::from_ref(&link), None)),
                std::io::ErrorKind::InvalidInput
            );
        }
        let big = dir.path().join("big");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_ALLOWED_SIGNERS_BYTES + 1).unwrap();
        let err = TrustStore::load(&[], Some(&big)).unwrap_err();
        assert!(err.to_string().contains("16 MiB"), "{err}");
        assert_eq!(
            kind(TrustStore::load(&[], Some(&big))),
            std::io::ErrorKind::FileTooLarge
        );
        assert_eq!(
            kind(TrustStore::load(std::slice::from_ref(&big), None)),
            std::io::ErrorKind::FileTooLarge
        );
        // At the limit the file is read (and then judged on its content).
        f.set_len(MAX_ALLOWED_SIGNERS_BYTES).unwrap();
        let err = TrustStore::load(&[], Some(&big)).unwrap_err();
        assert!(
            matches!(err, LoadError::AllowedSigners { line: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn the_read_itself_is_bounded() {
        // A file that grows after its size was checked reads like an endless source.
        let err = read_at_most(std::io::repeat(0), 1000, "x").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
        assert_eq!(
            read_at_most(&[1u8; 1000][..], 1000, "x").unwrap().len(),
            1000
        );
    }
}
