//! The administrator's policy: loading, validation with file:line:key errors, and evaluation.
//!
//! The policy lives on the server, never in the pushed repository (the pushed repository is what
//! we distrust). [`Policy::load`] turns the TOML file into compiled rules (globs, regular
//! expressions) and refuses anything it does not understand; [`eval`] judges plain facts and
//! never touches a repository.

pub mod eval;
pub mod groups;
pub mod schema;

use std::path::{Path, PathBuf};

use regex::Regex;
use toml::Spanned;

use crate::glob::GlobSet;
pub use schema::{KeyValidity, Mode, Severity};

/// Repositories a policy does not apply to unless its `repos` names them: gitolite's own
/// configuration repository (a GitOps policy would lock the administrator out) and wikis
/// (Gitea/Forgejo `<owner>/<name>.wiki`).
pub const DEFAULT_EXCLUDED_REPOS: &[&str] = &[
    "gitolite-admin",
    "**/gitolite-admin.git",
    "**/*.wiki",
    "**/*.wiki.git",
];

/// Where the policy is read from when no `--policy` is given and `PUSHGUARD_POLICY` is unset.
pub const DEFAULT_POLICY_PATH: &str = "/etc/pushguard/policy.toml";

/// A policy error, always with the file, line, column and key it is about.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{}: cannot read the policy file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: key `{key}`: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
    /// More than one problem: each an `Invalid`, in file order, one per line.
    #[error("{}", lines(.0))]
    Many(Vec<PolicyError>),
}

impl PolicyError {
    /// Each problem on its own (one for `Read` and `Invalid`).
    pub fn problems(&self) -> Vec<&PolicyError> {
        match self {
            PolicyError::Many(list) => list.iter().collect(),
            one => vec![one],
        }
    }
}

fn lines(list: &[PolicyError]) -> String {
    list.iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where a rule was written, for messages ("policy.toml:12").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A compiled `[[ref]]` block.
#[derive(Clone, Debug)]
pub struct RefRule {
    pub patterns: GlobSet,
    pub pattern_text: Vec<String>,
    pub force_push: bool,
    pub delete: bool,
    pub immutable: bool,
    pub require_signed: bool,
    pub signers: Option<Signers>,
    pub require_signed_tag: bool,
    pub require_signed_push: bool,
    /// `target_on`: full ref names.
    pub target_on: Vec<String>,
    /// `trusted_base`: commits taken as judged.
    pub trusted_base: Vec<crate::hook::Oid>,
    pub severity: Severity,
    pub origin: Origin,
}

impl RefRule {
    /// A release-tag block: it says what a published tag must be.
    pub fn is_release_block(&self) -> bool {
        self.require_signed_tag || self.immutable || !self.target_on.is_empty()
    }
}

/// The keys a rule trusts: the group names as written, and the key ids they resolve to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signers {
    pub groups: Vec<String>,
    pub keys: std::collections::BTreeSet<String>,
}

impl Signers {
    pub fn allows(&self, key_id: &str) -> bool {
        self.keys.contains(key_id)
    }
}

/// A compiled `[[manifests]]` block.
#[derive(Clone, Debug)]
pub struct ManifestBlock {
    pub settings: pushguard_manifest::Settings,
    pub files: GlobSet,
    pub refs: Option<GlobSet>,
    /// Who may change objects in protected namespaces.
    pub signers: Option<Signers>,
    pub severity: Severity,
    pub origin: Origin,
}

impl ManifestBlock {
    pub fn applies_to_ref(&self, name: &str) -> bool {
        self.refs.as_ref().is_none_or(|r| r.is_match(name))
    }
}

/// How signatures are verified (the verifier's options, from the policy).
#[derive(Clone, Debug)]
pub struct SignatureSettings {
    pub key_validity: KeyValidity,
    pub allow_sha1: bool,
    pub max_future_skew: std::time::Duration,
    /// `allow_nonce_slop`: a push certificate with nonce status `SLOP` counts (used once).
    pub allow_nonce_slop: bool,
    /// `push_cert_log`: where used push certificates are remembered.
    pub push_cert_log: Option<PathBuf>,
}

/// The trust roots the policy names.
#[derive(Clone)]
pub struct Trust {
    pub store: std::sync::Arc<pushguard_sign::TrustStore>,
    pub openpgp_files: Vec<PathBuf>,
    pub allowed_signers: Option<PathBuf>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("openpgp_files", &self.openpgp_files)
            .field("allowed_signers", &self.allowed_signers)
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct IdentityRule {
    pub allow: GlobSet,
    pub allow_text: Vec<String>,
    pub severity: Severity,
    pub origin: Origin,
}

#[derive(Clone, Debug)]
pub struct CommitRules {
    pub message_pattern: Option<(Regex, Origin)>,
    pub signed_off_by: Option<Origin>,
    pub severity: Severity,
}

#[derive(Clone, Debug)]
pub struct NameRules {
    pub branches: Option<(Regex, Origin)>,
    pub tags: Option<(Regex, Origin)>,
    pub severity: Severity,
}

/// A compiled `[[path]]` block.
#[derive(Clone, Debug)]
pub struct PathRule {
    pub patterns: GlobSet,
    pub pattern_text: Vec<String>,
    /// None: every ref.
    pub refs: Option<GlobSet>,
    pub forbid: bool,
    pub pushers: Option<Vec<String>>,
    pub signers: Option<Signers>,
    pub two_person: bool,
    pub severity: Severity,
    pub origin: Origin,
}

impl PathRule {
    pub fn applies_to_ref(&self, name: &str) -> bool {
        self.refs.as_ref().is_none_or(|r| r.is_match(name))
    }
}

/// The compiled `[files]` table.
#[derive(Clone, Debug, Default)]
pub struct FileRules {
    /// Globs on the full path, and globs on the file name alone (patterns without `/`).
    pub forbidden_paths: GlobSet,
    pub forbidden_names: GlobSet,
    pub max_size: Option<u64>,
    pub deny_escaping_symlinks: bool,
    pub deny_private_keys: bool,
    /// `allow_control_chars`: tree entry names may hold control characters.
    pub allow_control_chars: bool,
    pub severity: Severity,
    pub origin: Option<Origin>,
}

impl FileRules {
    /// Whether a path is a forbidden file, and the glob that says so.
    pub fn forbidden(&self, path: &str) -> Option<&str> {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.forbidden_paths
            .matching(path)
            .or_else(|| self.forbidden_names.matching(name))
            .map(|g| g.as_str())
    }

    pub fn is_active(&self) -> bool {
        !self.forbidden_paths.is_empty()
            || !self.forbidden_names.is_empty()
            || self.max_size.is_some()
            || self.deny_escaping_symlinks
            || self.deny_private_keys
    }
}

/// File names that hold secrets, forbidden by `forbid_default_secrets = true`. Modelled on the
/// kinds GitLab's push-rule denylist covers: SSH and TLS private keys, key stores, credentials
/// of cloud CLIs, package managers and git itself, dotenv files.
pub const DEFAULT_SECRET_FILES: &[&str] = &[
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "id_ecdsa_sk",
    "id_ed25519_sk",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "secring.*",
    ".env",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    "**/.aws/credentials",
    "**/.docker/config.json",
    "**/.kube/config",
    "**/.ssh/*",
    "terraform.tfstate",
    "*.tfstate",
];

/// A loaded, validated policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, recorded in every audit line.
    pub digest: String,
    pub mode: Mode,
    pub audit_log: Option<PathBuf>,
    /// `repos`: the policy applies only to repositories these match (all when None).
    pub repos: Option<GlobSet>,
    /// `exclude_repos`: the policy does not apply to repositories these match.
    pub exclude_repos: GlobSet,
    /// `repos` and `exclude_repos` as written, for `policy check`.
    pub repos_text: Option<Vec<String>>,
    pub exclude_repos_text: Vec<String>,
    pub pusher_variable: Option<String>,
    pub identities: Option<IdentityRule>,
    pub commits: CommitRules,
    pub names: NameRules,
    pub refs: Vec<RefRule>,
    pub paths: Vec<PathRule>,
    pub files: FileRules,
    pub trust: Option<Trust>,
    pub groups: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    pub signatures: SignatureSettings,
    /// `[identities] bind_to_signer`.
    pub bind_to_signer: Option<Origin>,
    /// `[host] forge_group`, resolved.
    pub forge: Option<Signers>,
    pub manifests: Vec<ManifestBlock>,
    /// `[limits]`: the budgets of one push (defaults for unset keys).
    pub limits: crate::limits::Limits,
    /// Where `[limits]` is written, when it is.
    pub limits_origin: Option<Origin>,
}

impl Policy {
    /// Reads and validates the policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let bytes = std::fs::read(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            invalid(path, &text, offset, "", "the file is not valid UTF-8")
        })?;
        Policy::from_text(path, &text)
    }

    /// Validates policy text as if it were read from `path` (relative paths resolve against
    /// the directory of `path`). Every problem is reported, not just the first: a
    /// [`PolicyError::Many`] holds them in file order.
    pub fn from_text(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let mut bad = Problems::default();
        let Some((file, damage)) = schema_pass(path, text, &mut bad) else {
            return Err(bad.into_error());
        };
        let policy = build(path, text, &file, &damage, &mut bad);
        if bad.is_empty() {
            Ok(policy)
        } else {
            Err(bad.into_error())
        }
    }

    /// Things that load but are probably not what the administrator meant.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.mode == Mode::Audit {
            w.push(
                "mode = \"audit\": violations are reported and recorded, but no push is rejected"
                    .to_string(),
            );
        }
        if self.audit_log.is_none() {
            w.push("no audit_log: decisions are not recorded".to_string());
        }
        let nothing = self.refs.is_empty()
            && self.paths.is_empty()
            && self.manifests.is_empty()
            && !self.files.is_active()
            && self.identities.is_none()
            && self.commits.message_pattern.is_none()
            && self.commits.signed_off_by.is_none()
            && self.names.branches.is_none()
            && self.names.tags.is_none();
        if nothing {
            w.push("the policy has no rules: every push is accepted".to_string());
        }
        w
    }

    /// Whether the policy applies to the repository the host names `name`: `Err` says why not.
    /// The built-in exclusions ([`DEFAULT_EXCLUDED_REPOS`]) hold unless `repos` names the
    /// repository.
    pub fn applies_to_repo(&self, name: &str) -> Result<(), String> {
        if let Some(g) = self.exclude_repos.matching(name) {
            return Err(format!("exclude_repos matches it ({:?})", g.as_str()));
        }
        match &self.repos {
            Some(set) => match set.matching(name) {
                Some(_) => Ok(()),
                None => Err("`repos` does not name it".to_string()),
            },
            None => match DEFAULT_EXCLUDED_REPOS.iter().find(|p| {
                crate::glob::Glob::new(p).is_ok_and(|g| g.is_match(name))
            }) {
                Some(p) => Err(format!(
                    "excluded by default ({p:?}: gitolite's admin repository and wikis); name it in `repos` to guard it"
                )),
                None => Ok(()),
            },
        }
    }

    /// Which repositories the policy guards, in one line (`policy check`).
    pub fn repo_scope(&self) -> String {
        let mut out = match &self.repos_text {
            Some(r) => format!("applies to repositories {}", r.join(", ")),
            None => format!(
                "applies to every repository except {} (built in)",
                DEFAULT_EXCLUDED_REPOS.join(", ")
            ),
        };
        if !self.exclude_repos_text.is_empty() {
            out.push_str(&format!(
                "; exclude_repos: {}",
                self.exclude_repos_text.join(", ")
            ));
        }
        out
    }

    /// The `[[manifests]]` blocks that apply on ref `name`, with their index.
    pub fn manifest_blocks<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (usize, &'a ManifestBlock)> + 'a {
        self.manifests
            .iter()
            .enumerate()
            .filter(move |(_, b)| b.applies_to_ref(name))
    }

    /// The `[[path]]` blocks that apply on ref `name`.
    pub fn path_rules<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a PathRule> + 'a {
        self.paths.iter().filter(move |r| r.applies_to_ref(name))
    }

    /// The `[[ref]]` blocks that apply to `name` (all of them, in file order).
    pub fn ref_rules<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a RefRule> + 'a {
        self.refs.iter().filter(move |r| r.patterns.is_match(name))
    }
}

/// A path glob ending in `/` matches nothing (git paths never end with one), so a block written
/// `match = ["clusters/prod/"]` would protect nothing: refuse it and say what was meant.
fn no_trailing_slash<S: AsRef<str>>(patterns: &[S]) -> Result<(), String> {
    match patterns.iter().map(AsRef::as_ref).find(|p| p.ends_with('/')) {
        Some(p) => Err(format!(
            "{p:?} ends with `/` and matches no path (git paths never end with one): write {:?} for everything below it",
            format!("{p}**")
        )),
        None => Ok(()),
    }
}

/// Expands `[keys]` (relative to the policy file; `*` and `?` in the file name only) and loads
/// the trust store. None when the policy names no key.
fn load_trust(path: &Path, text: &str, keys: &schema::Keys) -> Result<Option<Trust>, PolicyError> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut openpgp_files = Vec::new();
    if let Some(list) = &keys.openpgp {
        for pattern in list.get_ref() {
            let found = expand_key_glob(base, pattern)
                .map_err(|m| invalid(path, text, list.span().start, "keys.openpgp", &m))?;
            openpgp_files.extend(found);
        }
    }
    let allowed_signers = keys
        .ssh_allowed_signers
        .as_ref()
        .map(|p| base.join(p.get_ref()));
    if openpgp_files.is_empty() && allowed_signers.is_none() {
        return Ok(None);
    }
    let store = pushguard_sign::TrustStore::load(&openpgp_files, allowed_signers.as_deref())
        .map_err(|e| {
            let (span, key) = match (&keys.ssh_allowed_signers, &keys.openpgp) {
                (Some(s), _) if e.to_string().contains(&s.get_ref().to_string()) => {
                    (s.span(), "keys.ssh_allowed_signers")
                }
                (_, Some(o)) => (o.span(), "keys.openpgp"),
                (Some(s), None) => (s.span(), "keys.ssh_allowed_signers"),
                (None, None) => (0..0, "keys"),
            };
            invalid(path, text, span.start, key, &e.to_string())
        })?;
    Ok(Some(Trust {
        store: std::sync::Arc::new(store),
        openpgp_files,
        allowed_signers,
    }))
}

fn expand_key_glob(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let full = base.join(pattern);
    let name = full
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{pattern:?} names no file"))?;
    if !name.contains(['*', '?', '[']) {
        return if full.is_file() {
            Ok(vec![full])
        } else {
            Err(format!(
                "{} does not exist or is not a file",
                full.display()
            ))
        };
    }
    let dir = full.parent().unwrap_or(base);
    let glob = crate::glob::Glob::new(&name).map_err(|e| e.to_string())?;
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .is_some_and(|n| glob.is_match(&n.to_string_lossy()))
        })
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(format!("{pattern:?} matches no file in {}", dir.display()));
    }
    Ok(out)
}

/// The semantic checks and the compiling of a policy whose schema passed (or of what is left
/// of it once the schema pass dropped its bad parts): every problem goes into `bad`, and the
/// checks that depend on a dropped part stay quiet.
fn build(
    path: &Path,
    text: &str,
    file: &schema::PolicyFile,
    damage: &Damage,
    bad: &mut Problems,
) -> Policy {
    let err = |span: std::ops::Range<usize>, key: &str, msg: String| {
        invalid(path, text, span.start, key, &msg)
    };
    let origin_of = |span: &std::ops::Range<usize>| Origin {
        file: path.display().to_string(),
        line: line_col(text, span.start).0,
    };

    if *file.version.get_ref() != 1 {
        bad.push(err(
            file.version.span(),
            "version",
            format!(
                "unsupported policy version {}: this pushguard reads version 1",
                file.version.get_ref()
            ),
        ));
    }

    let base = path.parent().unwrap_or(Path::new("."));
    let audit_log = file.audit_log.as_ref().map(|p| base.join(p.get_ref()));
    let repo_globs =
        |list: &Option<Spanned<Vec<String>>>, key: &str| -> Result<Option<GlobSet>, PolicyError> {
            match list {
                None => Ok(None),
                Some(l) => GlobSet::new(l.get_ref())
                    .map(Some)
                    .map_err(|e| err(l.span(), key, e.to_string())),
            }
        };
    let repos = bad.keep(repo_globs(&file.repos, "repos")).flatten();
    if let Some(l) = &file.repos {
        if l.get_ref().is_empty() {
            bad.push(err(
                l.span(),
                "repos",
                "an empty list would apply the policy to no repository; remove the key to apply it to every one".into(),
            ));
        }
    }
    let exclude_repos = bad
        .keep(repo_globs(&file.exclude_repos, "exclude_repos"))
        .flatten()
        .unwrap_or_default();

    let identities = match &file.identities.allow {
        None => None,
        Some(allow) => {
            let lowered: Vec<String> = allow.get_ref().iter().map(|s| s.to_lowercase()).collect();
            let set = bad.keep(
                GlobSet::new(&lowered)
                    .map_err(|e| err(allow.span(), "identities.allow", e.to_string())),
            );
            if lowered.is_empty() {
                bad.push(err(
                    allow.span(),
                    "identities.allow",
                    "an empty allow list would reject every commit; remove the key to allow any email".into(),
                ));
            }
            set.map(|set| IdentityRule {
                allow: set,
                allow_text: allow.get_ref().clone(),
                severity: file.identities.severity,
                origin: origin_of(&allow.span()),
            })
        }
    };

    let regex =
        |s: &Option<Spanned<String>>, key: &str| -> Result<Option<(Regex, Origin)>, PolicyError> {
            match s {
                None => Ok(None),
                Some(v) => Regex::new(v.get_ref())
                    .map(|re| Some((re, origin_of(&v.span()))))
                    .map_err(|e| {
                        // regex's syntax errors draw the pattern and a caret over three lines:
                        // keep one line per problem, the last (what is wrong).
                        let text = e.to_string();
                        let what = text.lines().last().unwrap_or_default();
                        let what = what.strip_prefix("error: ").unwrap_or(what);
                        err(
                            v.span(),
                            key,
                            format!("not a valid regular expression: {what}"),
                        )
                    }),
            }
        };

    let commits = CommitRules {
        message_pattern: bad
            .keep(regex(
                &file.commits.message_pattern,
                "commits.message_pattern",
            ))
            .flatten(),
        signed_off_by: file.commits.signed_off_by.then(|| Origin {
            file: path.display().to_string(),
            line: find_key_line(text, "signed_off_by"),
        }),
        severity: file.commits.severity,
    };
    let names = NameRules {
        branches: bad
            .keep(regex(&file.names.branches, "names.branches"))
            .flatten(),
        tags: bad.keep(regex(&file.names.tags, "names.tags")).flatten(),
        severity: file.names.severity,
    };

    // Groups first: rules below name them. When `[groups]` lost a part to a schema error, a
    // group a rule names may be the dropped one: say nothing about undefined groups then.
    let groups_whole = !damage.touched("groups");
    let group_lists: std::collections::BTreeMap<String, Vec<String>> = file
        .groups
        .iter()
        .map(|(k, v)| (k.clone(), v.get_ref().clone()))
        .collect();
    let (groups, groups_whole) = match groups::resolve(&group_lists) {
        Ok(g) => (g, groups_whole),
        Err(e) => {
            let span = file.groups.get(&e.group).map(|v| v.span()).unwrap_or(0..0);
            bad.push(err(span, &format!("groups.{}", e.group), e.message));
            (Default::default(), false)
        }
    };
    let signers_of =
        |list: &Option<Spanned<Vec<String>>>, key: &str, bad: &mut Problems| -> Option<Signers> {
            let list = list.as_ref()?;
            let mut keys = std::collections::BTreeSet::new();
            for g in list.get_ref() {
                let name = g.strip_prefix("group:").unwrap_or(g);
                match groups.get(name) {
                    Some(members) => keys.extend(members.iter().cloned()),
                    None if groups_whole => bad.push(err(
                        list.span(),
                        key,
                        format!("group {name:?} is not defined in [groups]"),
                    )),
                    None => {}
                }
            }
            if list.get_ref().is_empty() {
                bad.push(err(
                    list.span(),
                    key,
                    "an empty signers list would reject every commit".into(),
                ));
            }
            Some(Signers {
                groups: list.get_ref().clone(),
                keys,
            })
        };
    let forge = file.host.forge_group.as_ref().and_then(|g| {
        let as_list = Some(Spanned::new(g.span(), vec![g.get_ref().clone()]));
        signers_of(&as_list, "host.forge_group", bad)
    });

    // When `[keys]` lost a part or does not load, "no key" complaints would be consequences.
    let keys_whole = !damage.touched("keys");
    let (trust, keys_whole) = match load_trust(path, text, &file.keys) {
        Ok(t) => (t, keys_whole),
        Err(e) => {
            bad.push(e);
            (None, false)
        }
    };
    let no_trust = trust.is_none() && keys_whole;
    // A group member whose key is not loaded can never sign: the rules that name the group
    // would quietly need one key fewer than the administrator thinks (or none at all).
    if keys_whole {
        for (name, members) in &groups {
            let span = file.groups.get(name).map(|v| v.span()).unwrap_or(0..0);
            for id in members {
                let loaded = trust.as_ref().is_some_and(|t| t.store.has_key(id));
                if !loaded {
                    bad.push(err(
                        span.clone(),
                        &format!("groups.{name}"),
                        format!(
                            "{id} is not among the keys [keys] loads: add its certificate (or allowed_signers line), or remove it from the group"
                        ),
                    ));
                }
            }
        }
    }

    let mut refs = Vec::new();
    for (i, block) in file.refs.iter().enumerate() {
        let n = damage.number("ref", block.span().start, i + 1);
        let before = bad.list.len();
        let key = format!("ref[{n}].match");
        let r = block.get_ref();
        let patterns = r.matches.get_ref().to_vec();
        if patterns.is_empty() {
            bad.push(err(r.matches.span(), &key, "no pattern given".into()));
        }
        for p in &patterns {
            if !p.starts_with("refs/") {
                bad.push(err(
                    r.matches.span(),
                    &key,
                    format!("{p:?} must be a full ref name or glob starting with refs/ (e.g. \"refs/heads/main\")"),
                ));
            }
        }
        if let Some(p) = patterns.iter().find(|p| p.ends_with('/')) {
            bad.push(err(
                r.matches.span(),
                &key,
                format!(
                    "{p:?} ends with `/` and matches no ref: write {:?} for every ref below it",
                    format!("{p}**")
                ),
            ));
        }
        let set = bad
            .keep(GlobSet::new(&patterns).map_err(|e| err(r.matches.span(), &key, e.to_string())));
        let signers = signers_of(&r.signers, &format!("ref[{n}].signers"), bad);
        let needs_signers = r.require_signed_tag || r.require_signed_push;
        if needs_signers && signers.is_none() {
            bad.push(err(
                r.matches.span(),
                &format!("ref[{n}]"),
                "require_signed_tag and require_signed_push need `signers = [...]`: which keys may sign".into(),
            ));
        }
        if signers.is_some() && no_trust {
            bad.push(err(
                r.matches.span(),
                &format!("ref[{n}].signers"),
                "signers are named but [keys] loads no key to verify them with".into(),
            ));
        }
        // On a tag block with `require_signed_tag`, `signers` are the tag's signers.
        let require_signed = r.require_signed || (signers.is_some() && !r.require_signed_tag);
        if require_signed && no_trust && signers.is_none() {
            bad.push(err(
                r.matches.span(),
                &format!("ref[{n}]"),
                "signatures are required but [keys] names no key".into(),
            ));
        }
        let mut target_on = Vec::new();
        if let Some(t) = &r.target_on {
            let key = format!("ref[{n}].target_on");
            for name in t.get_ref().to_vec() {
                let exact = name.starts_with("refs/")
                    && !name.contains(['*', '?', '[', '\\'])
                    && crate::hook::valid_ref_name(&name);
                if !exact {
                    bad.push(err(
                        t.span(),
                        &key,
                        format!("{name:?} must be a full ref name without wildcards (e.g. \"refs/heads/main\")"),
                    ));
                }
                target_on.push(name);
            }
            if target_on.is_empty() {
                bad.push(err(t.span(), &key, "no ref given".into()));
            }
        }
        let mut trusted_base = Vec::new();
        if let Some(t) = &r.trusted_base {
            let key = format!("ref[{n}].trusted_base");
            for id in t.get_ref().to_vec() {
                let parsed = crate::hook::Oid::parse(&id).filter(|o| !o.is_zero());
                match parsed {
                    Some(o) if o.as_str() == id => trusted_base.push(o),
                    _ => bad.push(err(
                        t.span(),
                        &key,
                        format!("{id:?} is not a full, lower-case commit id (40 or 64 hex digits): `git rev-parse <commit>` prints one"),
                    )),
                }
            }
        }
        let Some(set) = set.filter(|_| bad.list.len() == before) else {
            continue;
        };
        refs.push(RefRule {
            target_on,
            trusted_base,
            patterns: set,
            pattern_text: patterns,
            force_push: r.force_push.unwrap_or(true) && !r.immutable,
            delete: r.delete.unwrap_or(true) && !r.immutable,
            immutable: r.immutable,
            require_signed,
            signers,
            require_signed_tag: r.require_signed_tag,
            require_signed_push: r.require_signed_push,
            severity: r.severity,
            origin: origin_of(&r.matches.span()),
        });
    }

    let mut paths = Vec::new();
    for (i, block) in file.paths.iter().enumerate() {
        let n = damage.number("path", block.span().start, i + 1);
        let before = bad.list.len();
        let r = block.get_ref();
        let key = format!("path[{n}].match");
        let patterns = r.matches.get_ref().to_vec();
        if patterns.is_empty() {
            bad.push(err(r.matches.span(), &key, "no pattern given".into()));
        }
        if let Some(p) = patterns.iter().find(|p| p.starts_with('/')) {
            bad.push(err(
                r.matches.span(),
                &key,
                format!("{p:?}: paths are relative to the repository root, without a leading /"),
            ));
        }
        if let Err(m) = no_trailing_slash(&patterns) {
            bad.push(err(r.matches.span(), &key, m));
        }
        let set = bad
            .keep(GlobSet::new(&patterns).map_err(|e| err(r.matches.span(), &key, e.to_string())));
        let refs = match &r.refs {
            None => None,
            Some(refs) => {
                let key = format!("path[{n}].refs");
                let list = refs.get_ref().to_vec();
                bad.keep(GlobSet::new(&list).map_err(|e| err(refs.span(), &key, e.to_string())))
            }
        };
        let signers = signers_of(&r.signers, &format!("path[{n}].signers"), bad);
        if !r.forbid && r.pushers.is_none() && signers.is_none() {
            bad.push(err(
                r.matches.span(),
                &format!("path[{n}]"),
                "the block sets no rule: give it `forbid = true`, `pushers = [...]` or `signers = [...]`".into(),
            ));
        }
        if r.two_person && signers.is_none() {
            bad.push(err(
                r.matches.span(),
                &format!("path[{n}].two_person"),
                "two_person needs `signers = [...]`: the two people are two keys of these groups"
                    .into(),
            ));
        }
        if signers.is_some() && no_trust {
            bad.push(err(
                r.matches.span(),
                &format!("path[{n}].signers"),
                "signatures are required but [keys] names no key".into(),
            ));
        }
        let Some(set) = set.filter(|_| bad.list.len() == before) else {
            continue;
        };
        paths.push(PathRule {
            patterns: set,
            pattern_text: patterns,
            refs,
            forbid: r.forbid,
            pushers: r.pushers.as_ref().map(|p| p.get_ref().clone()),
            signers,
            two_person: r.two_person,
            severity: r.severity,
            origin: origin_of(&r.matches.span()),
        });
    }

    let mut manifests = Vec::new();
    for (i, block) in file.manifests.iter().enumerate() {
        let n = damage.number("manifests", block.span().start, i + 1);
        let before = bad.list.len();
        let m = block.get_ref();
        let key = format!("manifests[{n}]");
        if let Err(msg) = no_trailing_slash(&m.match_globs) {
            bad.push(err(block.span(), &format!("{key}.match"), msg));
        }
        let files = bad.keep(
            GlobSet::new(&m.match_globs)
                .map_err(|e| err(block.span(), &format!("{key}.match"), e.to_string())),
        );
        let refs = match &m.refs {
            None => None,
            Some(list) => bad.keep(
                GlobSet::new(list)
                    .map_err(|e| err(block.span(), &format!("{key}.refs"), e.to_string())),
            ),
        };
        let signers_list = m
            .signers
            .as_ref()
            .map(|l| Spanned::new(block.span(), l.clone()));
        let signers = signers_of(&signers_list, &format!("{key}.signers"), bad);
        let Some(files) = files.filter(|_| bad.list.len() == before) else {
            continue;
        };
        manifests.push(ManifestBlock {
            settings: m.clone(),
            files,
            refs,
            signers,
            severity: match m.severity {
                pushguard_manifest::Severity::Deny => Severity::Deny,
                pushguard_manifest::Severity::Warn => Severity::Warn,
            },
            origin: origin_of(&block.span()),
        });
    }

    let mut forbidden: Vec<String> = Vec::new();
    if file.files.forbid_default_secrets {
        forbidden.extend(DEFAULT_SECRET_FILES.iter().map(|s| s.to_string()));
    }
    let mut files_origin = None;
    if let Some(list) = &file.files.forbidden {
        files_origin = Some(origin_of(&list.span()));
        forbidden.extend(list.get_ref().iter().cloned());
        if let Err(m) = no_trailing_slash(list.get_ref()) {
            bad.push(err(list.span(), "files.forbidden", m));
        }
    }
    let (with_slash, bare_names): (Vec<String>, Vec<String>) =
        forbidden.into_iter().partition(|p| p.contains('/'));
    let forbidden_span = file
        .files
        .forbidden
        .as_ref()
        .map(|f| f.span())
        .unwrap_or(0..0);
    let mut globs = |list: &[String]| {
        bad.keep(
            GlobSet::new(list)
                .map_err(|e| err(forbidden_span.clone(), "files.forbidden", e.to_string())),
        )
        .unwrap_or_default()
    };
    let files = FileRules {
        forbidden_paths: globs(&with_slash),
        forbidden_names: globs(&bare_names),
        max_size: file.files.max_size.as_ref().map(|m| *m.get_ref()),
        deny_escaping_symlinks: file.files.deny_escaping_symlinks,
        deny_private_keys: file.files.deny_private_keys,
        allow_control_chars: file.files.allow_control_chars,
        severity: file.files.severity,
        origin: files_origin
            .or_else(|| file.files.max_size.as_ref().map(|m| origin_of(&m.span())))
            .or_else(|| {
                Some(Origin {
                    file: path.display().to_string(),
                    line: find_key_line(text, "[files]"),
                })
            }),
    };

    let bind_to_signer = match &file.identities.bind_to_signer {
        Some(b) if *b.get_ref() => {
            if no_trust {
                bad.push(err(
                    b.span(),
                    "identities.bind_to_signer",
                    "binding needs keys: [keys] names none".into(),
                ));
            }
            Some(origin_of(&b.span()))
        }
        _ => None,
    };
    let allow_nonce_slop = match &file.signatures.allow_nonce_slop {
        Some(b) if *b.get_ref() => {
            if file.signatures.push_cert_log.is_none() && !damage.touched("signatures") {
                bad.push(err(
                    b.span(),
                    "signatures.allow_nonce_slop",
                    "a certificate accepted with a SLOP nonce can be replayed within the slop: set `push_cert_log = \"push-certs.log\"` so each is used once".into(),
                ));
            }
            true
        }
        _ => false,
    };

    let limits = build_limits(&file.limits, &err, bad);
    let limits_origin = text
        .lines()
        .any(|l| l.trim_start().starts_with("[limits]"))
        .then(|| Origin {
            file: path.display().to_string(),
            line: find_key_line(text, "[limits]"),
        });

    Policy {
        limits,
        limits_origin,
        path: path.to_path_buf(),
        digest: sha256_hex(text.as_bytes()),
        mode: file.mode,
        audit_log,
        repos,
        exclude_repos,
        repos_text: file.repos.as_ref().map(|l| l.get_ref().clone()),
        exclude_repos_text: file
            .exclude_repos
            .as_ref()
            .map(|l| l.get_ref().clone())
            .unwrap_or_default(),
        pusher_variable: file.host.pusher_variable.clone(),
        identities,
        commits,
        names,
        refs,
        paths,
        files,
        bind_to_signer,
        trust,
        groups,
        signatures: SignatureSettings {
            key_validity: file.identities.key_validity,
            allow_sha1: file.signatures.allow_sha1,
            max_future_skew: std::time::Duration::from_secs(
                file.signatures.max_future_skew.unwrap_or(300),
            ),
            allow_nonce_slop,
            push_cert_log: file
                .signatures
                .push_cert_log
                .as_ref()
                .map(|p| base.join(p.get_ref())),
        },
        forge,
        manifests,
    }
}

/// `[limits]`: every key a whole number in its range, or its default.
fn build_limits(
    file: &schema::Limits,
    err: &dyn Fn(std::ops::Range<usize>, &str, String) -> PolicyError,
    bad: &mut Problems,
) -> crate::limits::Limits {
    use crate::limits::DEFAULT;
    // (value, key, unit, most): a budget of zero would refuse every push, and one past `most`
    // is a typo (or no budget at all, which is what the key exists to prevent).
    let mut get = |v: &Option<Spanned<i64>>, key: &str, unit: &str, most: u64, default: u64| {
        let Some(v) = v else { return default };
        let n = *v.get_ref();
        match u64::try_from(n) {
            Ok(n) if (1..=most).contains(&n) => n,
            _ => {
                bad.push(err(
                    v.span(),
                    &format!("limits.{key}"),
                    format!(
                        "{n} is not a budget: give a whole number of {unit} from 1 to {most} (the default is {default})"
                    ),
                ));
                default
            }
        }
    };
    const TIB: u64 = 1 << 40;
    let max_commits = get(
        &file.max_commits,
        "max_commits",
        "commits",
        100_000_000,
        DEFAULT.max_commits as u64,
    );
    let max_object_bytes = get(
        &file.max_object_bytes,
        "max_object_bytes",
        "bytes",
        4 << 30,
        DEFAULT.max_object_bytes,
    );
    let max_read_bytes = get(
        &file.max_read_bytes,
        "max_read_bytes",
        "bytes",
        TIB,
        DEFAULT.max_read_bytes,
    );
    let max_manifest_bytes = get(
        &file.max_manifest_bytes,
        "max_manifest_bytes",
        "bytes",
        1 << 30,
        DEFAULT.max_manifest_bytes,
    );
    let max_yaml_nodes = get(
        &file.max_yaml_nodes,
        "max_yaml_nodes",
        "nodes",
        100_000_000,
        DEFAULT.max_yaml_nodes as u64,
    );
    let max_yaml_aliases = get(
        &file.max_yaml_aliases,
        "max_yaml_aliases",
        "aliases",
        100_000_000,
        DEFAULT.max_yaml_aliases as u64,
    );
    let timeout = get(
        &file.timeout_seconds,
        "timeout_seconds",
        "seconds",
        crate::limits::MAX_TIMEOUT.as_secs(),
        DEFAULT.timeout.as_secs(),
    );
    crate::limits::Limits {
        max_commits: usize::try_from(max_commits).unwrap_or(usize::MAX),
        max_object_bytes,
        max_read_bytes,
        max_manifest_bytes,
        max_yaml_nodes: usize::try_from(max_yaml_nodes).unwrap_or(usize::MAX),
        max_yaml_aliases: usize::try_from(max_yaml_aliases).unwrap_or(usize::MAX),
        timeout: std::time::Duration::from_secs(timeout),
    }
}

/// The most problems one policy check reports; past it, one more line says so.
const MAX_PROBLEMS: usize = 64;

/// The problems found so far (at most [`MAX_PROBLEMS`], then one that says the rest is cut).
#[derive(Default)]
struct Problems {
    list: Vec<PolicyError>,
    cut: bool,
}

impl Problems {
    fn push(&mut self, e: PolicyError) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(e);
        } else {
            self.cut = true;
        }
    }

    /// Keeps the value of `r`, or records its error.
    fn keep<T>(&mut self, r: Result<T, PolicyError>) -> Option<T> {
        r.map_err(|e| self.push(e)).ok()
    }

    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn full(&self) -> bool {
        self.list.len() >= MAX_PROBLEMS
    }

    fn into_error(mut self) -> PolicyError {
        self.list.sort_by_key(|e| match e {
            PolicyError::Invalid { line, column, .. } => (*line, *column),
            _ => (0, 0),
        });
        if self.cut {
            if let Some(PolicyError::Invalid {
                path, line, column, ..
            }) = self.list.last()
            {
                let (path, line, column) = (path.clone(), *line, *column);
                self.list.push(PolicyError::Invalid {
                    path,
                    line,
                    column,
                    key: "(policy)".into(),
                    message: format!("more than {MAX_PROBLEMS} problems: the rest are not listed"),
                });
            }
        }
        match self.list.len() {
            0 => PolicyError::Many(Vec::new()),
            1 => self.list.remove(0),
            _ => PolicyError::Many(self.list),
        }
    }
}

/// What the schema pass had to drop to get past errors: the top-level keys it removed or
/// removed something from (`groups`, `keys`, …), so that checks depending on them stay quiet
/// rather than report consequences (an undefined group, because `[groups]` was dropped), and
/// the source position of each `[[ref]]`, `[[path]]` and `[[manifests]]` block, so that a
/// block keeps its number (`ref[3]`) when one before it was dropped.
#[derive(Default)]
struct Damage {
    touched: std::collections::BTreeSet<String>,
    blocks: std::collections::BTreeMap<String, Vec<usize>>,
}

impl Damage {
    fn touched(&self, top: &str) -> bool {
        self.touched.contains(top)
    }

    /// The 1-based number of the `kind` block that starts at `start` in the file.
    fn number(&self, kind: &str, start: usize, fallback: usize) -> usize {
        self.blocks
            .get(kind)
            .and_then(|starts| starts.iter().position(|s| *s == start))
            .map(|i| i + 1)
            .unwrap_or(fallback)
    }
}

/// The policy's syntax and schema, with every error: the text is parsed once into a spanned
/// table (every syntax error, with recovery), then deserialized into [`schema::PolicyFile`];
/// serde stops at the first error, so the entry it names — a key of a table or of a block, a
/// whole block when a required key is missing — is dropped and the rest deserialized again,
/// until it passes. The result is the file without its bad parts, for the semantic checks.
fn schema_pass(
    path: &Path,
    text: &str,
    bad: &mut Problems,
) -> Option<(schema::PolicyFile, Damage)> {
    use serde::Deserialize;
    let (mut doc, syntax) = toml::de::DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        // A file that does not parse has no reliable structure to check further.
        for e in syntax {
            bad.push(toml_error(path, text, &e));
        }
        return None;
    }
    // `version` is the one key the schema requires at the top: without it serde would stop
    // before looking at anything else. Report it, and check the rest as version 1.
    if !doc.get_ref().contains_key("version") {
        bad.push(invalid(
            path,
            text,
            0,
            "version",
            "missing field `version`: a policy starts with `version = 1`",
        ));
        if let Ok(v) = toml::de::DeTable::parse("version = 1") {
            doc.get_mut().extend(v.into_inner());
        }
    }
    let mut damage = Damage::default();
    for (kind, value) in doc.get_ref().iter() {
        if let toml::de::DeValue::Array(items) = value.get_ref() {
            damage.blocks.insert(
                kind.get_ref().to_string(),
                items.iter().map(|i| i.span().start).collect(),
            );
        }
    }
    // Containers a key was already dropped from: their "missing field" is a consequence.
    let mut pruned_from: std::collections::BTreeSet<usize> = Default::default();
    while !bad.full() {
        let de = toml::de::Deserializer::from(doc.clone());
        let e = match schema::PolicyFile::deserialize(de) {
            Ok(file) => return Some((file, damage)),
            Err(e) => e,
        };
        let report = toml_error(path, text, &e);
        // An error about the file as a whole (a missing `version`): nothing to drop.
        let Some(span) = e.span().filter(|s| *s != doc.span()) else {
            bad.push(report);
            return None;
        };
        match prune(doc.get_mut(), &span) {
            Some(Pruned {
                top,
                container,
                whole,
            }) => {
                if !(whole && pruned_from.contains(&container)) {
                    bad.push(report);
                }
                if !whole {
                    pruned_from.insert(container);
                }
                damage.touched.insert(top);
            }
            // An error about the file as a whole (a missing `version`): nothing to drop.
            None => {
                bad.push(report);
                return None;
            }
        }
    }
    None
}

/// What [`prune`] dropped: under which top-level key, from which container (its start), and
/// whether it was the whole container (a table or block) rather than one key of it.
struct Pruned {
    top: String,
    container: usize,
    whole: bool,
}

/// Drops the entry of `doc` an error at `span` is about: a key of a top-level table or of an
/// array-of-tables block, the block or table itself when the error spans it exactly (a
/// missing required key), or a top-level key. None when the error is about the document.
fn prune(doc: &mut toml::de::DeTable<'_>, span: &std::ops::Range<usize>) -> Option<Pruned> {
    use toml::de::DeValue;
    enum Action<K> {
        Top,
        TableKey(K),
        Element(usize),
        ElementKey(usize, K),
    }
    let inside = |s: std::ops::Range<usize>| covers(&s, span);
    let hit = |k: &toml::Spanned<toml::de::DeString<'_>>, v: &toml::Spanned<DeValue<'_>>| {
        inside(k.span()) || inside(v.span())
    };
    let (top_key, value) = doc
        .iter()
        .find(|(k, v)| hit(k, v) || v.span() == *span || nested_hit(v.get_ref(), span))?;
    let top_key = top_key.clone();
    let top = top_key.get_ref().to_string();
    let value_span = value.span();
    let mut container = value_span.start;
    // An array of tables has the span of its first block's header: look at the blocks first.
    let action = match value.get_ref() {
        DeValue::Table(_) if value_span == *span => Action::Top,
        DeValue::Table(table) => match table.iter().find(|(k, v)| hit(k, v)) {
            Some((k, _)) => Action::TableKey(k.clone()),
            None => Action::Top,
        },
        DeValue::Array(items) if items.iter().all(|i| i.get_ref().is_table()) => {
            let found = items
                .iter()
                .enumerate()
                .find(|(_, i)| i.span() == *span)
                .or_else(|| {
                    items
                        .iter()
                        .enumerate()
                        .find(|(_, i)| inside(i.span()) || nested_hit(i.get_ref(), span))
                });
            match found {
                None => Action::Top,
                Some((at, element)) => {
                    container = element.span().start;
                    match element.get_ref() {
                        DeValue::Table(t) if element.span() != *span => {
                            match t.iter().find(|(k, v)| hit(k, v)) {
                                Some((k, _)) => Action::ElementKey(at, k.clone()),
                                None => Action::Element(at),
                            }
                        }
                        _ => Action::Element(at),
                    }
                }
            }
        }
        _ => Action::Top,
    };
    let whole = matches!(action, Action::Top | Action::Element(_));
    match action {
        Action::Top => {
            doc.remove(&top_key);
        }
        Action::TableKey(key) => {
            if let Some(DeValue::Table(t)) = doc.get_mut(&top_key).map(|v| v.get_mut()) {
                t.remove(&key);
            }
        }
        Action::Element(at) => {
            if let Some(DeValue::Array(items)) = doc.get_mut(&top_key).map(|v| v.get_mut()) {
                let kept: toml::de::DeArray<'_> = items
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != at)
                    .map(|(_, v)| v.clone())
                    .collect();
                *items = kept;
            }
        }
        Action::ElementKey(at, key) => {
            if let Some(DeValue::Array(items)) = doc.get_mut(&top_key).map(|v| v.get_mut()) {
                if let Some(DeValue::Table(t)) = items.get_mut(at).map(|e| e.get_mut()) {
                    t.remove(&key);
                }
            }
        }
    }
    Some(Pruned {
        top,
        container,
        whole,
    })
}

/// Whether the error position (the start of `span`) lies in `s` (an empty `s` counts its
/// start).
fn covers(s: &std::ops::Range<usize>, span: &std::ops::Range<usize>) -> bool {
    s.start <= span.start && span.start < s.end.max(s.start + 1)
}

/// Whether `span` lies in a key or value somewhere inside `v` (a table's header and its keys
/// can be far apart: the table's own span need not cover them).
fn nested_hit(v: &toml::de::DeValue<'_>, span: &std::ops::Range<usize>) -> bool {
    use toml::de::DeValue;
    let inside = |s: std::ops::Range<usize>| covers(&s, span);
    match v {
        DeValue::Table(t) => t
            .iter()
            .any(|(k, v)| inside(k.span()) || inside(v.span()) || nested_hit(v.get_ref(), span)),
        DeValue::Array(a) => a
            .iter()
            .any(|v| inside(v.span()) || nested_hit(v.get_ref(), span)),
        _ => false,
    }
}

/// A toml error as a policy error, at its position, named by the key found there.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> PolicyError {
    let offset = e.span().map(|s| s.start).unwrap_or(0);
    let key = key_at(text, offset);
    invalid(path, text, offset, &key, e.message().trim())
}

fn invalid(path: &Path, text: &str, offset: usize, key: &str, message: &str) -> PolicyError {
    let (line, column) = line_col(text, offset);
    // One problem, one line.
    let message = message.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    PolicyError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        key: if key.is_empty() {
            "(top level)".to_string()
        } else {
            key.to_string()
        },
        message,
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

/// The dotted key an offset in the file belongs to: the table header above it plus the key on
/// its line (`ref[2].force_push`), for errors that toml reports only by position.
pub fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let mut table = String::new();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if line_start > offset {
            break;
        }
        // `[[manifests.exception]]` is `manifests[N].exception[M]`: each dotted part that is an
        // array of tables takes the index of its current element.
        let indexed = |parts: &[&str], counts: &std::collections::HashMap<String, usize>| {
            let mut path = String::new();
            for part in parts {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(part.trim());
                if let Some(n) = counts.get(&path) {
                    path = format!("{path}[{n}]");
                }
            }
            path
        };
        if let Some(h) = trimmed
            .strip_prefix("[[")
            .and_then(|h| h.split("]]").next())
        {
            let parts: Vec<&str> = h.split('.').collect();
            let (last, parents) = parts.split_last().unwrap_or((&"", &[]));
            let parent = indexed(parents, &counts);
            let full = if parent.is_empty() {
                last.trim().to_string()
            } else {
                format!("{parent}.{}", last.trim())
            };
            let n = counts.entry(full.clone()).or_insert(0);
            *n += 1;
            table = format!("{full}[{n}]");
        } else if let Some(h) = trimmed.strip_prefix('[').and_then(|h| h.split(']').next()) {
            table = indexed(&h.split('.').collect::<Vec<_>>(), &counts);
        }
        let line_end = line_start + line.len();
        if offset >= line_start && offset < line_end.max(line_start + 1) {
            let key = trimmed
                .split_once('=')
                .map(|(k, _)| k.trim().trim_matches('"').to_string())
                .filter(|k| !k.starts_with('['))
                .unwrap_or_default();
            return match (table.is_empty(), key.is_empty()) {
                (true, _) => key,
                (false, true) => table,
                (false, false) => format!("{table}.{key}"),
            };
        }
        line_start = line_end;
    }
    table
}

fn find_key_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// Hex SHA-256, via gix's hasher so no extra crate is needed.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let mut h = gix::hash::hasher(gix::hash::Kind::Sha256);
    h.update(bytes);
    match h.try_finalize() {
        Ok(id) => id.to_hex().to_string(),
        Err(_) => String::from("unavailable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_text(Path::new("/etc/pushguard/policy.toml"), text)
    }

    /// Every problem of a policy that must not load: (line, key, message), in file order.
    fn errors_of(text: &str) -> Vec<(usize, String, String)> {
        let e = match load(text) {
            Err(e) => e,
            Ok(_) => panic!("expected errors, it loaded:\n{text}"),
        };
        e.problems()
            .into_iter()
            .map(|p| match p {
                PolicyError::Invalid {
                    line, key, message, ..
                } => (*line, key.clone(), message.clone()),
                other => panic!("not a located error: {other:?}"),
            })
            .collect()
    }

    /// The only problem of a policy that must not load.
    fn error_of(text: &str) -> (usize, String, String) {
        let mut all = errors_of(text);
        assert_eq!(all.len(), 1, "expected one error, got {all:?}");
        all.remove(0)
    }

    #[test]
    fn unknown_keys_are_errors_with_line_and_key() {
        let (line, key, msg) =
            error_of("version = 1\n\n[[ref]]\nmatch = \"refs/heads/main\"\nforce-push = false\n");
        assert_eq!(line, 5);
        assert_eq!(key, "ref[1].force-push");
        assert!(msg.contains("unknown field"), "{msg}");
        let (line, key, _) = error_of("version = 1\nmod = \"audit\"\n");
        assert_eq!((line, key.as_str()), (2, "mod"));
    }

    #[test]
    fn wrong_types_and_values_name_the_key() {
        let (line, key, msg) =
            error_of("version = 1\n[[ref]]\nmatch = \"refs/heads/main\"\ndelete = \"no\"\n");
        assert_eq!((line, key.as_str()), (4, "ref[1].delete"));
        assert!(msg.contains("bool"), "{msg}");
        let (line, key, _) = error_of("version = 2\n");
        assert_eq!((line, key.as_str()), (1, "version"));
        let (line, key, msg) =
            error_of("version = 1\n[commits]\nmessage_pattern = \"(unclosed\"\n");
        assert_eq!((line, key.as_str()), (3, "commits.message_pattern"));
        assert!(msg.contains("regular expression"));
        let (line, key, _) = error_of("version = 1\n[[ref]]\nmatch = \"main\"\n");
        assert_eq!((line, key.as_str()), (3, "ref[1].match"));
        let (_, key, _) = error_of("version = 1\nmode = \"lenient\"\n");
        assert_eq!(key, "mode");
        // Manifest exceptions: globs and dates are checked when the policy is read.
        let exception = |object: &str, expires: &str| {
            format!("version = 1\n[[manifests]]\nrules = [\"privileged\"]\n[[manifests.exception]]\nrule = \"privileged\"\nobject = \"{object}\"\nreason = \"r\"\nexpires = \"{expires}\"\n")
        };
        let (line, key, msg) = error_of(&exception("Deployment a/[x", "2026-02-28"));
        assert_eq!(
            (line, key.as_str()),
            (6, "manifests[1].exception[1].object")
        );
        assert!(msg.contains("unclosed `[`"), "{msg}");
        let (line, key, msg) = error_of(&exception("*", "2026-02-30"));
        assert_eq!(
            (line, key.as_str()),
            (8, "manifests[1].exception[1].expires")
        );
        assert!(msg.contains("YYYY-MM-DD"), "{msg}");
        let all = errors_of("[identities]\nallow = []\n");
        assert_eq!(
            (all[0].0, all[0].1.as_str()),
            (1, "version"),
            "missing version: {all:?}"
        );
        assert_eq!(
            all[1].1, "identities.allow",
            "and the rest is checked: {all:?}"
        );
    }

    #[test]
    fn repository_scoping() {
        let p = load("version = 1\n").unwrap();
        assert!(p.applies_to_repo("fleet").is_ok());
        assert!(p.applies_to_repo("/srv/git/fleet.git").is_ok());
        for excluded in [
            "gitolite-admin",
            "/home/git/repositories/gitolite-admin.git",
            "ops/fleet.wiki",
            "/data/gitea/repositories/ops/fleet.wiki.git",
        ] {
            let why = p.applies_to_repo(excluded).unwrap_err();
            assert!(why.contains("excluded by default"), "{excluded}: {why}");
        }
        let p = load("version = 1\nrepos = [\"fleet\", \"infra/*\", \"gitolite-admin\"]\nexclude_repos = [\"infra/scratch\"]\n").unwrap();
        assert!(p.applies_to_repo("fleet").is_ok());
        assert!(p.applies_to_repo("infra/dns").is_ok());
        assert!(
            p.applies_to_repo("gitolite-admin").is_ok(),
            "named in repos: guarded"
        );
        assert!(p
            .applies_to_repo("infra/scratch")
            .unwrap_err()
            .contains("exclude_repos"));
        assert!(p.applies_to_repo("apps").unwrap_err().contains("`repos`"));
        let (line, key, _) = error_of("version = 1\nrepos = []\n");
        assert_eq!((line, key.as_str()), (2, "repos"));
    }

    #[test]
    fn loads_a_full_policy() {
        let p = load(
            "version = 1\nmode = \"audit\"\naudit_log = \"audit.jsonl\"\n[identities]\nallow = [\"*@Example.com\"]\n[[ref]]\nmatch = [\"refs/heads/main\", \"refs/heads/release/*\"]\nforce_push = false\ndelete = false\n[[ref]]\nmatch = \"refs/tags/v*\"\nimmutable = true\n",
        )
        .unwrap();
        assert_eq!(p.mode, Mode::Audit);
        assert_eq!(
            p.audit_log.as_deref(),
            Some(Path::new("/etc/pushguard/audit.jsonl"))
        );
        assert_eq!(p.refs.len(), 2);
        assert_eq!(p.refs[0].origin.line, 7);
        assert!(
            !p.refs[1].force_push && !p.refs[1].delete,
            "immutable implies both"
        );
        assert_eq!(p.ref_rules("refs/heads/release/1").count(), 1);
        assert_eq!(p.ref_rules("refs/heads/feature").count(), 0);
        assert!(p.identities.unwrap().allow.is_match("dana@example.com"));
        assert_eq!(p.digest.len(), 64);
    }

    #[test]
    fn signers_need_keys() {
        let (line, key, msg) = error_of(
            "version = 1\n[groups]\nsre = []\n[[ref]]\nmatch = \"refs/tags/v*\"\nrequire_signed_tag = true\nsigners = [\"sre\"]\n",
        );
        assert_eq!((line, key.as_str()), (5, "ref[1].signers"));
        assert!(msg.contains("[keys]"), "{msg}");
        // Both problems of that block: no key to verify with, and a group nobody defined.
        let all =
            errors_of("version = 1\n[[ref]]\nmatch = \"refs/heads/main\"\nsigners = [\"nope\"]\n");
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(
            all.iter().all(|(_, key, _)| key == "ref[1].signers"),
            "{all:?}"
        );
        assert!(all[0].2.contains("[keys]"), "{all:?}");
        assert!(all[1].2.contains("not defined"), "{all:?}");
    }

    #[test]
    fn every_error_is_reported_in_file_order() {
        // Three blocks, three independent errors: an unknown key (schema), a wrong type
        // (schema) and a semantic one in a block that is well formed.
        let all = errors_of(
            "version = 1\n\n[[ref]]\nmatch = \"refs/heads/main\"\nforse_push = false\n\n[files]\nmax_size = \"1MB\"\n\n[[path]]\nmatch = \"/etc/passwd\"\nforbid = true\n",
        );
        let got: Vec<(usize, &str)> = all.iter().map(|(l, k, _)| (*l, k.as_str())).collect();
        assert_eq!(
            got,
            [
                (5, "ref[1].forse_push"),
                (8, "files.max_size"),
                (11, "path[1].match")
            ],
            "{all:?}"
        );
        assert!(all[0].2.contains("unknown field"), "{all:?}");
        assert!(all[1].2.contains("invalid type"), "{all:?}");
        assert!(all[2].2.contains("without a leading /"), "{all:?}");
    }

    #[test]
    fn a_dropped_block_keeps_the_numbers_of_the_others() {
        // ref[1] lacks `match` (dropped by the schema pass); ref[2] is still ref[2].
        let all =
            errors_of("version = 1\n[[ref]]\nforce_push = false\n[[ref]]\nmatch = \"main\"\n");
        let got: Vec<(usize, &str)> = all.iter().map(|(l, k, _)| (*l, k.as_str())).collect();
        assert_eq!(got, [(2, "ref[1]"), (5, "ref[2].match")], "{all:?}");
        assert!(all[0].2.contains("missing field `match`"), "{all:?}");
    }

    #[test]
    fn consequences_of_a_dropped_part_are_not_reported() {
        // A bad `match` value is one error, not also "missing field match".
        let all = errors_of("version = 1\n[[ref]]\nmatch = 5\n");
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!((all[0].0, all[0].1.as_str()), (3, "ref[1].match"));
        // A `[groups]` entry that is dropped does not make every rule naming it "undefined".
        let all = errors_of(
            "version = 1\n[groups]\nsre = \"not-a-list\"\n[[ref]]\nmatch = \"refs/heads/main\"\nsigners = [\"sre\"]\n",
        );
        assert!(
            all.iter().all(|(_, _, m)| !m.contains("not defined")),
            "{all:?}"
        );
        assert_eq!((all[0].0, all[0].1.as_str()), (3, "groups.sre"), "{all:?}");
        // A missing version is reported with the others.
        let all = errors_of("mode = \"strict\"\n[[ref]]\nmatch = \"refs/heads/x/\"\n");
        let got: Vec<(usize, &str)> = all.iter().map(|(l, k, _)| (*l, k.as_str())).collect();
        assert_eq!(
            got,
            [(1, "version"), (1, "mode"), (3, "ref[1].match")],
            "{all:?}"
        );
        assert!(all[0].2.contains("version"), "{all:?}");
    }

    #[test]
    fn syntax_errors_are_all_reported() {
        let all = errors_of("version = 1\nmode = \n[files]\nmax_size = 1\nbroken line\n");
        let lines: Vec<usize> = all.iter().map(|(l, _, _)| *l).collect();
        assert!(lines.contains(&2) && lines.contains(&5), "{all:?}");
    }

    #[test]
    fn globs_that_match_nothing_are_errors() {
        let (line, key, msg) =
            error_of("version = 1\n[[path]]\nmatch = [\"clusters/prod/\"]\nforbid = true\n");
        assert_eq!((line, key.as_str()), (3, "path[1].match"));
        assert!(msg.contains("clusters/prod/**"), "{msg}");
        let (_, key, _) = error_of("version = 1\n[[ref]]\nmatch = \"refs/heads/\"\n");
        assert_eq!(key, "ref[1].match");
        let (_, key, _) = error_of("version = 1\n[files]\nforbidden = [\"secrets/\"]\n");
        assert_eq!(key, "files.forbidden");
    }

    #[test]
    fn group_members_need_a_loaded_key() {
        let (line, key, msg) = error_of(
            "version = 1\n[groups]\nsre = [\"openpgp:0123456789ABCDEF0123456789ABCDEF01234567\"]\n",
        );
        assert_eq!((line, key.as_str()), (3, "groups.sre"));
        assert!(msg.contains("not among the keys"), "{msg}");
    }

    #[test]
    fn line_col_and_key_at() {
        let t = "a = 1\n[x]\nb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 10), (3, 1));
        assert_eq!(line_col(t, 12), (3, 3));
        assert_eq!(key_at(t, 12), "x.b");
        assert_eq!(key_at(t, 2), "a");
        let t = "[[m]]\n[[m.e]]\nx = 1\n[[m]]\n[m.s]\ny = 2\n[[m.e]]\n[[m.e]]\nz = 3\n";
        assert_eq!(key_at(t, t.find("x =").unwrap()), "m[1].e[1].x");
        assert_eq!(key_at(t, t.find("y =").unwrap()), "m[2].s.y");
        assert_eq!(key_at(t, t.find("z =").unwrap()), "m[2].e[2].z");
    }
}
