//! The policy file as written: version 1 of the TOML contract, exactly as `docs/policy.md`
//! documents it. Unknown keys are errors (`deny_unknown_fields` everywhere), so a typo such as
//! `force-push = false` can never silently leave a ref unprotected.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Must be 1.
    pub version: Spanned<i64>,
    /// `enforce` (default) rejects; `audit` prints and records violations and accepts.
    #[serde(default)]
    pub mode: Mode,
    /// Where the JSON audit lines go (relative to the policy file). No audit log when unset.
    pub audit_log: Option<Spanned<String>>,
    /// Globs on the repository name as the host names it: the policy applies only to these.
    pub repos: Option<Spanned<Vec<String>>>,
    /// Globs on the repository name the policy does not apply to (besides the built-in
    /// `gitolite-admin` and `*.wiki`).
    pub exclude_repos: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub keys: Keys,
    /// Named sets of keys: `sre = ["openpgp:<FPR>", "ssh:SHA256:<b64>", "group:other"]`.
    #[serde(default)]
    pub groups: std::collections::BTreeMap<String, Spanned<Vec<String>>>,
    #[serde(default)]
    pub signatures: Signatures,
    #[serde(default)]
    pub host: HostSection,
    #[serde(default)]
    pub identities: Identities,
    #[serde(default)]
    pub commits: Commits,
    #[serde(default)]
    pub names: Names,
    #[serde(default)]
    pub files: Files,
    /// Budgets on the work one push may cause (`crate::limits`).
    #[serde(default)]
    pub limits: Limits,
    #[serde(default, rename = "ref")]
    pub refs: Vec<Spanned<RefRule>>,
    #[serde(default, rename = "path")]
    pub paths: Vec<Spanned<PathRule>>,
    /// Kubernetes manifest rules (the keys are documented in `docs/rules.md`).
    #[serde(default)]
    pub manifests: Vec<Spanned<pushguard_manifest::Settings>>,
}

/// Rules on every file a commit adds or changes, whatever its path.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Files {
    /// Globs on the path (a glob without `/` matches the file name in any directory) of files
    /// that may never be added or changed: private keys, `.env`, credentials.
    #[serde(default)]
    pub forbidden: Option<Spanned<Vec<String>>>,
    /// Also forbid pushguard's built-in list of secret file names (GitLab's denylist and more).
    #[serde(default)]
    pub forbid_default_secrets: bool,
    /// Largest blob a commit may add, in bytes.
    pub max_size: Option<Spanned<u64>>,
    /// A symlink whose target leaves the repository is refused.
    #[serde(default)]
    pub deny_escaping_symlinks: bool,
    /// A file that contains a PEM private key (`-----BEGIN … PRIVATE KEY-----`) is refused.
    #[serde(default)]
    pub deny_private_keys: bool,
    /// Tree entry names may hold control characters (a newline, an escape). Off by default:
    /// such names defeat line-based tools and terminal output.
    #[serde(default)]
    pub allow_control_chars: bool,
    #[serde(default)]
    pub severity: Severity,
}

/// `[limits]`: each key raises (or lowers) one budget; unset keys keep their defaults
/// (`crate::limits::DEFAULT`). Integers here, so that zero and negative values get a
/// file:line:key error of their own rather than serde's.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// New commits per push (all refs together).
    pub max_commits: Option<Spanned<i64>>,
    /// The largest object read, in bytes (from its header, before inflating).
    pub max_object_bytes: Option<Spanned<i64>>,
    /// All objects read for one push, in bytes.
    pub max_read_bytes: Option<Spanned<i64>>,
    /// The largest manifest file loaded, in bytes.
    pub max_manifest_bytes: Option<Spanned<i64>>,
    /// YAML nodes in one manifest file (alias expansions counted in full).
    pub max_yaml_nodes: Option<Spanned<i64>>,
    /// Alias uses in one manifest file.
    pub max_yaml_aliases: Option<Spanned<i64>>,
    /// Wall time for the whole decision, in seconds.
    pub timeout_seconds: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    /// One glob or a list of globs on repository paths.
    #[serde(rename = "match")]
    pub matches: Spanned<OneOrMany>,
    /// Refs this block applies to (globs); all refs when absent.
    pub refs: Option<Spanned<OneOrMany>>,
    /// Nobody may change these paths (with any commit, by any pusher).
    #[serde(default)]
    pub forbid: bool,
    /// Host user names that may push changes to these paths.
    pub pushers: Option<Spanned<Vec<String>>>,
    /// Groups whose keys must sign every commit that changes these paths.
    pub signers: Option<Spanned<Vec<String>>>,
    /// Every change must be signed by one member of `signers` and reach the ref through a merge,
    /// in the same push, signed by a different member.
    #[serde(default)]
    pub two_person: bool,
    #[serde(default)]
    pub severity: Severity,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Enforce,
    Audit,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Deny,
    Warn,
}

/// Trust roots, relative to the policy file.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// OpenPGP certificates or keyrings (armored or binary); `*`/`?` allowed in the file name.
    #[serde(default)]
    pub openpgp: Option<Spanned<Vec<String>>>,
    /// An OpenSSH `allowed_signers` file.
    pub ssh_allowed_signers: Option<Spanned<String>>,
}

/// How signatures are judged.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Signatures {
    /// Accept SHA-1 OpenPGP signatures (collisions are practical: off by default).
    #[serde(default)]
    pub allow_sha1: bool,
    /// How far in the future a signature's creation time may be, in seconds (default 300).
    pub max_future_skew: Option<u64>,
    /// Accept a push certificate whose nonce git calls `SLOP` (stateless HTTP, or
    /// `receive.certNonceSlop`). Needs `push_cert_log`: each certificate is then used once.
    #[serde(default)]
    pub allow_nonce_slop: Option<Spanned<bool>>,
    /// Where the ids of used push certificates are kept (relative to the policy file).
    pub push_cert_log: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum KeyValidity {
    /// Valid when it signed and still valid now (not expired, not revoked, still trusted).
    #[default]
    Now,
    /// Valid when it signed (for importing history signed with keys that expired since).
    SignatureTime,
}

/// How the host is read.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HostSection {
    /// Plain git only: the environment variable that names the authenticated pusher
    /// (e.g. `REMOTE_USER` behind a web server). Forges are recognised on their own.
    pub pusher_variable: Option<String>,
    /// The group holding the forge's own signing key (web merges and edits). A commit signed
    /// by it is made on behalf of the pusher the host names, and path rules judge that pusher.
    pub forge_group: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Identities {
    /// Globs on author and committer emails (`*@example.com`), matched case-insensitively.
    #[serde(default)]
    pub allow: Option<Spanned<Vec<String>>>,
    /// The committer email must be a user id (OpenPGP) or principal (SSH) of the signing key.
    #[serde(default)]
    pub bind_to_signer: Option<Spanned<bool>>,
    #[serde(default)]
    pub key_validity: KeyValidity,
    #[serde(default)]
    pub severity: Severity,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Commits {
    /// A regular expression every commit message must match (`(?m)` for line anchors).
    pub message_pattern: Option<Spanned<String>>,
    /// Every commit needs a `Signed-off-by:` trailer naming its author's email (DCO).
    #[serde(default)]
    pub signed_off_by: bool,
    #[serde(default)]
    pub severity: Severity,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Names {
    /// A regular expression on the branch name after `refs/heads/`, checked when a branch is
    /// created or updated (deleting a badly named branch is always allowed).
    pub branches: Option<Spanned<String>>,
    /// The same for tags, after `refs/tags/`.
    pub tags: Option<Spanned<String>>,
    #[serde(default)]
    pub severity: Severity,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefRule {
    /// One glob or a list of globs on the full ref name.
    #[serde(rename = "match")]
    pub matches: Spanned<OneOrMany>,
    /// May the ref be rewritten (a non-fast-forward update)? Default true.
    pub force_push: Option<bool>,
    /// May the ref be deleted? Default true.
    pub delete: Option<bool>,
    /// Once created, the ref may never move or be deleted (release tags).
    #[serde(default)]
    pub immutable: bool,
    /// Every new commit on the ref must carry a valid signature by a trusted key.
    #[serde(default)]
    pub require_signed: bool,
    /// Groups whose keys may sign the new commits (implies `require_signed`) and tags.
    pub signers: Option<Spanned<Vec<String>>>,
    /// A tag matching this block must be an annotated tag signed by a `signers` key.
    #[serde(default)]
    pub require_signed_tag: bool,
    /// The push must be signed (`git push --signed`) by a `signers` key.
    #[serde(default)]
    pub require_signed_push: bool,
    /// A tag's commit must already be on one of these refs (full names, e.g.
    /// `refs/heads/main`), before the push or as the same push leaves it.
    pub target_on: Option<Spanned<OneOrMany>>,
    /// Commits reachable from these commits (full ids) are taken as judged for the refs this
    /// block matches: the adoption point of a repository whose history predates pushguard.
    pub trusted_base: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub severity: Severity,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}
