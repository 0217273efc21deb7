//! Secrets flow only where the policy says: which remote keys a namespace's External Secrets
//! read or write (`secret-stores` with `secret_keys`), who can decrypt a SOPS-encrypted
//! document (`sops-recipients` with `sops_recipients`), and who may turn off or re-point a Flux
//! `Kustomization`'s decryption (`sops-recipients`, signable).
//!
//! The store a namespace reads through is judged in `rules.rs` (`secret_stores`); a store
//! serves every key its credentials reach, so the keys are judged here too: a team namespace
//! allowed the shared ClusterSecretStore must not read `team-a/…` through it. A SOPS file can
//! be re-encrypted by anyone who can decrypt it, and `sops updatekeys` adds a reader without
//! touching one value: the recipients in the `sops` metadata are the file's readers, so they
//! are held to a list written in the policy. What cannot be read with certainty (an unknown
//! recipient type, a malformed entry, a remote key computed at run time) is a finding.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::object::Object;
use crate::rules::Hit;
use crate::settings::{RuleId, Settings};
use crate::yaml::{Node, Value};
use crate::{ChangeKind, Finding};

/// Most recipients (over all types and key groups) one `sops` block may name before it is
/// refused as unreadable.
pub const MAX_SOPS_RECIPIENTS: usize = 256;

/// Most remote keys one External Secrets object may name before it is refused.
pub const MAX_REMOTE_KEYS: usize = 1024;

/// One reader the policy allows in `sops_recipients`, written `<type>:<id>`:
/// - `age:<recipient>`: an age X25519 recipient (`age1…`, plugin recipients included) or an
///   SSH public key (`ssh-ed25519 AAAA…`, `ssh-rsa AAAA…`), compared exactly;
/// - `pgp:<fingerprint>`: a full OpenPGP fingerprint (40 or 64 hex digits, case and spaces
///   ignored); a short key id in a file never matches;
/// - `awskms:<arn>`: an AWS KMS key ARN (`arn:aws:kms:…:key/…` or an alias ARN), compared
///   exactly (`role`, `context` and `aws_profile` of the file's entry are not part of it: the
///   key decides who decrypts);
/// - `gcpkms:<resource id>`: `projects/P/locations/L/keyRings/R/cryptoKeys/K`, exactly;
/// - `azurekv:<url>`: `https://VAULT/keys/NAME` (any version of the key, or none) or
///   `https://VAULT/keys/NAME/VERSION` (that version only);
/// - `hcvault:<uri>`: `ADDRESS/v1/ENGINE_PATH/keys/KEY_NAME`, as `sops --hc-vault-transit`
///   takes it (`https://vault.example.com:8200/v1/sops/keys/firstkey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SopsRecipient {
    Age(String),
    Pgp(String),
    AwsKms(String),
    GcpKms(String),
    /// `https://VAULT/keys/NAME` and, when the policy names one, the version.
    AzureKv {
        key: String,
        version: Option<String>,
    },
    HcVault(String),
}

/// Why a `sops_recipients` entry was refused when the policy was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipientError {
    #[error("sops_recipients entry `{0}` has no known type prefix (age:, pgp:, awskms:, gcpkms:, azurekv:, hcvault:)")]
    UnknownType(String),
    #[error("sops_recipients entry `{entry}`: {why}")]
    Invalid { entry: String, why: &'static str },
}

impl SopsRecipient {
    /// Parses one `sops_recipients` entry (see [`SopsRecipient`]).
    pub fn parse(entry: &str) -> Result<SopsRecipient, RecipientError> {
        let invalid = |why| RecipientError::Invalid {
            entry: entry.to_string(),
            why,
        };
        let (kind, id) = entry
            .split_once(':')
            .ok_or_else(|| RecipientError::UnknownType(entry.to_string()))?;
        if id.is_empty() || id.trim() != id {
            return Err(invalid("the id is empty or has surrounding blanks"));
        }
        match kind {
            "age" => {
                let bech32 = |s: &str| {
                    s.len() > 4
                        && s.starts_with("age1")
                        && s.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                };
                let ssh = ["ssh-ed25519 ", "ssh-rsa "].iter().any(|p| {
                    id.strip_prefix(p).is_some_and(|k| {
                        !k.is_empty()
                            && k.bytes().all(|b| {
                                b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
                            })
                    })
                });
                if bech32(id) || ssh {
                    Ok(SopsRecipient::Age(id.to_string()))
                } else {
                    Err(invalid(
                        "an age recipient is `age1…` (lowercase) or `ssh-ed25519 AAAA…`/`ssh-rsa AAAA…` without a comment",
                    ))
                }
            }
            "pgp" => {
                let fp = normalize_fingerprint(id);
                if (fp.len() == 40 || fp.len() == 64) && fp.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(SopsRecipient::Pgp(fp))
                } else {
                    Err(invalid(
                        "a PGP recipient is a full fingerprint of 40 or 64 hex digits",
                    ))
                }
            }
            "awskms" => {
                let parts: Vec<&str> = id.split(':').collect();
                let ok = parts.len() >= 6
                    && parts.first() == Some(&"arn")
                    && parts.get(1).is_some_and(|p| p.starts_with("aws"))
                    && parts.get(2) == Some(&"kms")
                    && parts
                        .get(5)
                        .is_some_and(|r| r.starts_with("key/") || r.starts_with("alias/"));
                if ok {
                    Ok(SopsRecipient::AwsKms(id.to_string()))
                } else {
                    Err(invalid(
                        "an AWS KMS recipient is a key or alias ARN (`arn:aws:kms:REGION:ACCOUNT:key/ID`)",
                    ))
                }
            }
            "gcpkms" => {
                let parts: Vec<&str> = id.split('/').collect();
                let ok = parts.len() == 8
                    && parts.iter().all(|p| !p.is_empty())
                    && [
                        (0, "projects"),
                        (2, "locations"),
                        (4, "keyRings"),
                        (6, "cryptoKeys"),
                    ]
                    .iter()
                    .all(|(i, w)| parts.get(*i) == Some(w));
                if ok {
                    Ok(SopsRecipient::GcpKms(id.to_string()))
                } else {
                    Err(invalid(
                        "a GCP KMS recipient is `projects/P/locations/L/keyRings/R/cryptoKeys/K`",
                    ))
                }
            }
            "azurekv" => {
                let rest = id
                    .strip_prefix("https://")
                    .ok_or_else(|| invalid("an Azure Key Vault recipient is an https:// URL"))?;
                let parts: Vec<&str> = rest.split('/').collect();
                match parts.as_slice() {
                    [host, "keys", name] if !host.is_empty() && !name.is_empty() => {
                        Ok(SopsRecipient::AzureKv {
                            key: format!("https://{host}/keys/{name}"),
                            version: None,
                        })
                    }
                    [host, "keys", name, version]
                        if !host.is_empty() && !name.is_empty() && !version.is_empty() =>
                    {
                        Ok(SopsRecipient::AzureKv {
                            key: format!("https://{host}/keys/{name}"),
                            version: Some(version.to_string()),
                        })
                    }
                    _ => Err(invalid(
                        "an Azure Key Vault recipient is `https://VAULT/keys/NAME` or `https://VAULT/keys/NAME/VERSION`",
                    )),
                }
            }
            "hcvault" => {
                let ok = (id.starts_with("https://") || id.starts_with("http://"))
                    && split_vault_uri(id).is_some();
                if ok {
                    Ok(SopsRecipient::HcVault(id.to_string()))
                } else {
                    Err(invalid(
                        "a Vault transit recipient is `https://ADDRESS/v1/ENGINE_PATH/keys/KEY_NAME`",
                    ))
                }
            }
            _ => Err(RecipientError::UnknownType(entry.to_string())),
        }
    }
}

impl fmt::Display for SopsRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SopsRecipient::Age(s) => write!(f, "age:{s}"),
            SopsRecipient::Pgp(s) => write!(f, "pgp:{s}"),
            SopsRecipient::AwsKms(s) => write!(f, "awskms:{s}"),
            SopsRecipient::GcpKms(s) => write!(f, "gcpkms:{s}"),
            SopsRecipient::AzureKv { key, version: None } => write!(f, "azurekv:{key}"),
            SopsRecipient::AzureKv {
                key,
                version: Some(v),
            } => write!(f, "azurekv:{key}/{v}"),
            SopsRecipient::HcVault(s) => write!(f, "hcvault:{s}"),
        }
    }
}

impl<'de> Deserialize<'de> for SopsRecipient {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SopsRecipient::parse(&s).map_err(de::Error::custom)
    }
}

/// Uppercase hex without blanks (GnuPG prints fingerprints in groups).
fn normalize_fingerprint(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `ADDRESS/v1/ENGINE_PATH/keys/KEY_NAME` split into its three parts.
fn split_vault_uri(uri: &str) -> Option<(&str, &str, &str)> {
    let (address, rest) = uri.split_once("/v1/")?;
    let (engine, key) = rest.rsplit_once("/keys/")?;
    let host = address.split_once("://").map(|(_, h)| h).unwrap_or("");
    (!host.is_empty() && !engine.is_empty() && !key.is_empty() && !key.contains('/'))
        .then_some((address, engine, key))
}

/// Runs the single-object checks of this module on `obj` (called by `rules::check`).
pub(crate) fn check(obj: &Object, settings: &Settings) -> Vec<Hit> {
    let mut hits = Vec::new();
    let on = |r: RuleId| settings.rules.contains(&r);
    if on(RuleId::SecretStores)
        && !settings.secret_keys.is_empty()
        && obj.identity.group == "external-secrets.io"
    {
        remote_keys(obj, settings, &mut hits);
    }
    if on(RuleId::SopsRecipients) {
        sops_recipients(obj, settings, &mut hits);
    }
    hits
}

fn hit(rule: RuleId, key: String, at: &Node, message: String, fix: &str) -> Hit {
    Hit {
        rule,
        key,
        line: at.line,
        column: at.column,
        container: None,
        message,
        fix: fix.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Remote keys (`secret-stores`, `secret_keys`)

/// What one entry of `secret_keys` allows. An entry ending in `/` is a prefix: every key that
/// starts with it. Any other entry is a glob over the whole key: `*` any characters but `/`,
/// `**` any characters (`/` included), `?` one character but `/`, anything else literally.
pub fn key_allowed(entry: &str, key: &str) -> bool {
    KeyEntry::new(entry).allows(key)
}

/// One `secret_keys` entry, its glob compiled once per object.
struct KeyEntry<'s> {
    text: &'s str,
    /// None for a prefix entry, or for a glob that does not compile (which allows nothing).
    glob: Option<pushguard_glob::Glob>,
}

impl<'s> KeyEntry<'s> {
    fn new(text: &'s str) -> KeyEntry<'s> {
        let glob = if text.ends_with('/') {
            None
        } else {
            pushguard_glob::Glob::new(text).ok()
        };
        KeyEntry { text, glob }
    }

    fn allows(&self, key: &str) -> bool {
        if self.text.ends_with('/') {
            return key.len() > self.text.len() && key.starts_with(self.text);
        }
        self.glob.as_ref().is_some_and(|g| g.is_match(key))
    }
}

/// Whether every key starting with `path` (a `find.path`: providers read the keys under it,
/// and some compare names as plain string prefixes) is allowed by `entry`: only an entry that
/// is a prefix (`team-b/`, or `team-b/**`) without wildcards before its end, which `path`
/// starts with.
pub fn find_path_allowed(entry: &str, path: &str) -> bool {
    let prefix = entry.strip_suffix("**").unwrap_or(entry);
    prefix.ends_with('/') && !prefix.contains(['*', '?']) && path.starts_with(prefix)
}

/// Why a remote key cannot be judged as written, whatever the policy: providers differ on how
/// they clean paths, so a key that a provider might read as another one is refused.
fn key_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        return Some("is empty");
    }
    if key.contains(['%', '\\']) || key.chars().any(char::is_control) {
        return Some("holds `%`, `\\` or a control character, which providers decode differently");
    }
    // A leading `/` (AWS SSM parameter names) and a trailing one are fine; `//` is not.
    let inner = key.strip_prefix('/').unwrap_or(key);
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    if !inner.is_empty()
        && inner
            .split('/')
            .any(|seg| seg == "." || seg == ".." || seg.is_empty())
    {
        return Some("holds a `.`/`..` segment or `//`, which providers clean differently");
    }
    None
}

/// The `secret_keys` entries that apply to `namespace` ("" for a ClusterExternalSecret or an
/// object whose namespace is not written: only `"*"`), or None when none is written for it
/// and the setting does not hold it to `"*"`.
fn entries_for<'s>(settings: &'s Settings, namespace: &str) -> Option<Vec<&'s str>> {
    let all = settings.secret_keys.get("*");
    let own = (!namespace.is_empty())
        .then(|| settings.secret_keys.get(namespace))
        .flatten();
    if all.is_none() && own.is_none() && !namespace.is_empty() {
        return None;
    }
    // A namespace that is not written could be any: only `"*"` can allow its keys.
    Some(
        all.into_iter()
            .chain(own)
            .flatten()
            .map(String::as_str)
            .collect(),
    )
}

/// One remote key an External Secrets object reads or writes.
enum Remote<'a> {
    /// A key read or written exactly (`remoteRef.key`, `extract.key`, `remoteKey`).
    Key(&'a Node),
    /// A `find.path`: every key under it.
    Path(&'a Node),
    /// Something reading or writing keys that cannot be known from the manifest.
    Unknowable(&'a Node, &'static str),
}

/// `secret-stores` with `secret_keys`: every remote key an ExternalSecret or PushSecret reads
/// or writes must match an entry for its namespace (or `"*"`); a ClusterExternalSecret's or
/// ClusterPushSecret's only an entry of `"*"`.
fn remote_keys(obj: &Object, settings: &Settings, hits: &mut Vec<Hit>) {
    let root = &obj.root;
    let ns = obj.identity.namespace.as_str();
    let (namespace, spec_path, spec, push) = match obj.kind() {
        "ExternalSecret" => (ns, "spec", root.get("spec"), false),
        "PushSecret" => (ns, "spec", root.get("spec"), true),
        "ClusterExternalSecret" => (
            "",
            "spec.externalSecretSpec",
            root.path(&["spec", "externalSecretSpec"]),
            false,
        ),
        "ClusterPushSecret" => (
            "",
            "spec.pushSecretSpec",
            root.path(&["spec", "pushSecretSpec"]),
            true,
        ),
        _ => return,
    };
    let Some(spec) = spec else {
        return;
    };
    let Some(entries) = entries_for(settings, namespace) else {
        return;
    };
    let compiled: Vec<KeyEntry<'_>> = entries.iter().map(|e| KeyEntry::new(e)).collect();
    let mut remotes: Vec<(String, Remote<'_>)> = Vec::new();
    let items = |k: &str| spec.get(k).map(Node::as_seq).unwrap_or(&[]);
    if push {
        for (i, d) in items("data").iter().enumerate() {
            let at = format!("{spec_path}.data[{i}].match.remoteRef.remoteKey");
            match d.path(&["match", "remoteRef", "remoteKey"]) {
                Some(k) => remotes.push((at, Remote::Key(k))),
                None => remotes.push((at, Remote::Unknowable(d, "names no remoteKey"))),
            }
        }
        for (i, d) in items("dataTo").iter().enumerate() {
            let at = format!("{spec_path}.dataTo[{i}].remoteKey");
            match d.get("remoteKey") {
                Some(k) => remotes.push((at, Remote::Key(k))),
                None => remotes.push((
                    at,
                    Remote::Unknowable(
                        d,
                        "pushes each key of the Secret under a name computed from it (no remoteKey)",
                    ),
                )),
            }
        }
    } else {
        for (i, d) in items("data").iter().enumerate() {
            let at = format!("{spec_path}.data[{i}].remoteRef.key");
            match d.path(&["remoteRef", "key"]) {
                Some(k) => remotes.push((at, Remote::Key(k))),
                None => remotes.push((at, Remote::Unknowable(d, "names no remoteRef.key"))),
            }
        }
        for (i, d) in items("dataFrom").iter().enumerate() {
            let extract = d.get("extract").filter(|n| !n.is_null());
            let find = d.get("find").filter(|n| !n.is_null());
            if let Some(e) = extract {
                let at = format!("{spec_path}.dataFrom[{i}].extract.key");
                match e.get("key") {
                    Some(k) => remotes.push((at, Remote::Key(k))),
                    None => remotes.push((at, Remote::Unknowable(e, "names no key"))),
                }
            }
            if let Some(f) = find {
                let at = format!("{spec_path}.dataFrom[{i}].find.path");
                match f.get("path").filter(|n| !n.is_null()) {
                    Some(p) => remotes.push((at, Remote::Path(p))),
                    None => remotes.push((
                        at,
                        Remote::Unknowable(
                            f,
                            "finds secrets by name or tags without a path, so it reads any key the store reaches",
                        ),
                    )),
                }
            }
            let generator = d.path(&["sourceRef", "generatorRef"]).is_some();
            if extract.is_none() && find.is_none() && !generator {
                remotes.push((
                    format!("{spec_path}.dataFrom[{i}]"),
                    Remote::Unknowable(d, "has neither extract, find nor a generatorRef"),
                ));
            }
        }
    }
    let label = obj.label();
    let whom = if namespace.is_empty() {
        if matches!(obj.kind(), "ClusterExternalSecret" | "ClusterPushSecret") {
            "every namespace (`\"*\"`)".to_string()
        } else {
            "an object whose namespace is not written (only `\"*\"` applies)".to_string()
        }
    } else {
        format!("namespace `{namespace}`")
    };
    let verb = if push { "writes" } else { "reads" };
    const FIX: &str = "read and write only the remote keys secret_keys allows for the namespace, or add the key to secret_keys (reviewed change of the policy)";
    if remotes.len() > MAX_REMOTE_KEYS {
        hits.push(hit(
            RuleId::SecretStores,
            "keys/too-many".to_string(),
            spec,
            format!(
                "{label} names more than {MAX_REMOTE_KEYS} remote keys (limit); pushguard refuses what it cannot judge cheaply"
            ),
            "split the object",
        ));
        return;
    }
    for (at, remote) in remotes {
        let (node, problem) = match remote {
            Remote::Unknowable(node, why) => (node, Some(why.to_string())),
            Remote::Key(node) | Remote::Path(node) => {
                let is_path = matches!(remote, Remote::Path(_));
                match node.as_str() {
                    None => (node, Some("is not a string".to_string())),
                    Some(key) => {
                        if let Some(p) = key_problem(key) {
                            (node, Some(format!("`{key}` {p}")))
                        } else if is_path {
                            let ok = entries.iter().any(|e| find_path_allowed(e, key));
                            (
                                node,
                                (!ok).then(|| {
                                    format!(
                                        "reads every key under `{key}`, which secret_keys does not allow for {whom} (a find.path is allowed only by a prefix entry it starts with)"
                                    )
                                }),
                            )
                        } else {
                            let ok = compiled.iter().any(|e| e.allows(key));
                            (
                                node,
                                (!ok).then(|| {
                                    format!(
                                        "{verb} the remote key `{key}`, which secret_keys does not allow for {whom}"
                                    )
                                }),
                            )
                        }
                    }
                }
            }
        };
        if let Some(problem) = problem {
            hits.push(hit(
                RuleId::SecretStores,
                format!("keys/{at}/{}", node.display()),
                node,
                format!("{label} `{at}` {problem}"),
                FIX,
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SOPS recipients (`sops-recipients`)

/// Fields of SOPS metadata that name no reader (sops `stores.Metadata`).
const SOPS_FIELDS: &[&str] = &[
    "shamir_threshold",
    "lastmodified",
    "mac",
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
    "mac_only_encrypted",
    "version",
];

/// The recipient lists of SOPS metadata (top level and in each of `key_groups`).
const SOPS_KEY_TYPES: &[&str] = &["age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault"];

/// One reader named in a `sops` block, as the policy spells it (with the node of its id), or
/// why it cannot be read.
fn recipient_of<'n>(kind: &str, entry: &'n Node) -> Result<(String, &'n Node), String> {
    let field = |k: &str| -> Result<&str, String> {
        entry
            .get(k)
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("a `{kind}` entry has no `{k}` string"))
    };
    // Parts joined with `/` into one id: a `/` inside one would give the id two readings.
    let part = |k: &str| -> Result<&str, String> {
        let v = field(k)?;
        if v.contains('/') {
            return Err(format!("a `{kind}` entry's `{k}` holds a `/`"));
        }
        Ok(v)
    };
    if !matches!(entry.value, Value::Map(_)) {
        return Err(format!("a `{kind}` entry is not a mapping"));
    }
    let id_field = match kind {
        "age" => "recipient",
        "pgp" => "fp",
        "kms" => "arn",
        "gcp_kms" => "resource_id",
        "azure_kv" => "name",
        "hc_vault" => "key_name",
        other => return Err(format!("`{other}` is not a recipient type pushguard knows")),
    };
    let id = match kind {
        "age" => format!("age:{}", field("recipient")?),
        "pgp" => format!("pgp:{}", normalize_fingerprint(field("fp")?)),
        "kms" => format!("awskms:{}", field("arn")?),
        "gcp_kms" => format!("gcpkms:{}", field("resource_id")?),
        "azure_kv" => {
            let key = format!(
                "azurekv:{}/keys/{}",
                field("vault_url")?.trim_end_matches('/'),
                part("name")?
            );
            // No version: whichever is current; only an entry without a version allows it.
            match entry.get("version").and_then(Node::as_str) {
                Some(v) if !v.is_empty() => format!("{key}/{}", part("version")?),
                _ => key,
            }
        }
        _ => format!(
            "hcvault:{}/v1/{}/keys/{}",
            field("vault_address")?.trim_end_matches('/'),
            field("engine_path")?.trim_matches('/'),
            part("key_name")?
        ),
    };
    Ok((id, entry.get(id_field).unwrap_or(entry)))
}

/// Whether the policy's `allowed` admits `recipient` (as [`recipient_of`] spells it).
fn recipient_allowed(allowed: &[SopsRecipient], recipient: &str) -> bool {
    allowed.iter().any(|a| match a {
        // The key (vault URL, `/keys/`, name) in any version, or without one.
        SopsRecipient::AzureKv { key, version: None } => recipient
            .strip_prefix("azurekv:")
            .is_some_and(|r| r == key || r.rsplit_once('/').is_some_and(|(k, _)| k == key)),
        _ => a.to_string() == recipient,
    })
}

/// `sops-recipients`: a document carrying a `sops` key must hold SOPS metadata whose every
/// recipient (top level and `key_groups`) the policy allows; an unknown field, an unknown
/// recipient type, a malformed entry or no recipient at all is a finding.
fn sops_recipients(obj: &Object, settings: &Settings, hits: &mut Vec<Hit>) {
    let Some(sops) = obj.root.get("sops") else {
        return;
    };
    let label = obj.label();
    const FIX: &str = "encrypt the file only for the recipients sops_recipients allows (`sops updatekeys` with the repository's .sops.yaml), or add the recipient to sops_recipients (reviewed change of the policy)";
    let malformed = |at: &Node, key: String, why: String| {
        hit(
            RuleId::SopsRecipients,
            format!("sops/malformed/{key}"),
            at,
            format!("{label} carries SOPS metadata pushguard cannot read: {why}"),
            FIX,
        )
    };
    let Value::Map(fields) = &sops.value else {
        hits.push(malformed(
            sops,
            "not-a-map".into(),
            "`sops` is not a mapping".into(),
        ));
        return;
    };
    // (list name, where, node) of every recipient list, top level and in key groups.
    let mut lists: Vec<(&str, String, &Node)> = Vec::new();
    for (k, v) in fields {
        let name = k.name.as_str();
        if SOPS_FIELDS.contains(&name) {
            continue;
        }
        if SOPS_KEY_TYPES.contains(&name) {
            lists.push((name, format!("sops.{name}"), v));
        } else if name == "key_groups" {
            if !matches!(v.value, Value::Seq(_) | Value::Null) {
                hits.push(malformed(
                    v,
                    "key_groups".into(),
                    "`key_groups` is not a list".into(),
                ));
                continue;
            }
            for (i, group) in v.as_seq().iter().enumerate() {
                let Value::Map(group_fields) = &group.value else {
                    hits.push(malformed(
                        group,
                        format!("key_groups[{i}]"),
                        format!("`sops.key_groups[{i}]` is not a mapping"),
                    ));
                    continue;
                };
                for (gk, gv) in group_fields {
                    if SOPS_KEY_TYPES.contains(&gk.name.as_str()) {
                        lists.push((
                            gk.name.as_str(),
                            format!("sops.key_groups[{i}].{}", gk.name),
                            gv,
                        ));
                    } else {
                        hits.push(malformed(
                            gv,
                            format!("key_groups[{i}].{}", gk.name),
                            format!(
                                "`sops.key_groups[{i}].{}` is not a recipient type pushguard knows (an unknown reader is refused)",
                                gk.name
                            ),
                        ));
                    }
                }
            }
        } else {
            hits.push(malformed(
                v,
                format!("field/{name}"),
                format!(
                    "`sops.{name}` is not a SOPS metadata field or recipient type pushguard knows (an unknown reader is refused)"
                ),
            ));
        }
    }
    let mut count = 0usize;
    for (kind, at, list) in lists {
        if !matches!(list.value, Value::Seq(_) | Value::Null) {
            hits.push(malformed(list, at.clone(), format!("`{at}` is not a list")));
            continue;
        }
        for (i, entry) in list.as_seq().iter().enumerate() {
            count += 1;
            if count > MAX_SOPS_RECIPIENTS {
                hits.push(malformed(
                    entry,
                    "too-many".into(),
                    format!("more than {MAX_SOPS_RECIPIENTS} recipients (limit)"),
                ));
                return;
            }
            match recipient_of(kind, entry) {
                Err(why) => hits.push(malformed(
                    entry,
                    format!("{at}[{i}]"),
                    format!("`{at}[{i}]`: {why}"),
                )),
                Ok((r, _)) if recipient_allowed(&settings.sops_recipients, &r) => {}
                Ok((r, node)) => {
                    hits.push(hit(
                        RuleId::SopsRecipients,
                        format!("sops/recipient/{r}"),
                        node,
                        format!(
                            "{label} is SOPS-encrypted for `{r}` (`{at}[{i}]`), a reader sops_recipients does not allow: whoever holds that key can decrypt it"
                        ),
                        FIX,
                    ));
                }
            }
        }
    }
    if count == 0 {
        hits.push(malformed(
            sops,
            "no-recipient".into(),
            "the `sops` metadata names no recipient".into(),
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Flux decryption (`sops-recipients`, signable)

fn is_flux_kustomization(obj: &Object) -> bool {
    !obj.kustomization_file
        && obj.identity.group == "kustomize.toolkit.fluxcd.io"
        && obj.identity.kind == "Kustomization"
}

fn decryption(obj: &Object) -> Option<&Node> {
    obj.root
        .path(&["spec", "decryption"])
        .filter(|n| !n.is_null())
}

/// `sops-recipients`: a Flux `Kustomization` whose `spec.decryption` the commit removes or
/// changes (provider, `secretRef`, any field) against the old versions it came from. Adding
/// decryption where none was is not reported. A kustomize patch of a Flux Kustomization that
/// touches `spec.decryption` is reported too: what it patches is not known here. The block's
/// signers may make the change (the finding is `signable`).
pub(crate) fn decryption_changed(
    olds: &[&Object],
    new: &Object,
    settings: &Settings,
    change: ChangeKind,
) -> Option<Finding> {
    if !settings.rules.contains(&RuleId::SopsRecipients) || !is_flux_kustomization(new) {
        return None;
    }
    let label = new.label();
    let (at, message) = if new.patch.is_some() {
        let key = new.root.path(&["spec", "decryption"])?;
        (
            key,
            format!(
                "the commit {} {label}, which patches spec.decryption of a Flux Kustomization: only the block's signers may change how Flux decrypts",
                change.verb()
            ),
        )
    } else {
        let old_decryptions: Vec<&Node> = olds.iter().filter_map(|o| decryption(o)).collect();
        if old_decryptions.is_empty() {
            return None;
        }
        match decryption(new) {
            None => (
                new.root.get("spec").unwrap_or(&new.root),
                format!(
                    "the commit removes spec.decryption from {label}: Flux would stop decrypting its SOPS files; only the block's signers may do that"
                ),
            ),
            Some(d) if old_decryptions.iter().any(|o| o.same_as(d)) => return None,
            Some(d) => (
                d,
                format!(
                    "the commit changes spec.decryption of {label} (provider, secretRef or how it authenticates): Flux would decrypt with another key; only the block's signers may do that"
                ),
            ),
        }
    };
    Some(Finding {
        rule: RuleId::SopsRecipients.as_str().to_string(),
        path: new.path.clone(),
        line: at.line,
        column: at.column,
        object: Some(label),
        container: None,
        message,
        fix: "keep spec.decryption as it was, or have the change signed by one of the signers named in this [[manifests]] block (the caller drops this finding for them)".to_string(),
        change,
        signable: true,
    })
}
