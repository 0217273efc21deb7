//! One `[[manifests]]` block of the policy, as serde reads it.
//!
//! Every field name here is part of the policy contract. Rule ids are an enum and unknown keys
//! are refused, so a typo in the policy is a load error with a line number (from `toml`) rather
//! than a rule that silently never runs. Regexes, field paths and dates are checked while
//! deserializing for the same reason.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::custom::FieldPath;
use crate::endpoints::Endpoint;
use crate::secrets::SopsRecipient;

/// A built-in rule id, as written in the policy (`rules = ["privileged", ...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleId {
    Privileged,
    PrivilegeEscalation,
    HostNamespaces,
    HostPath,
    SensitiveHostMounts,
    HostPorts,
    DangerousCapabilities,
    RunAsRoot,
    ProcMount,
    UnsafeSysctls,
    SeccompUnconfined,
    HostProcess,
    ImageLatest,
    ImageDigest,
    ImageRegistries,
    ClusterAdminBinding,
    RbacWildcards,
    RbacEscalation,
    RbacSystemGroups,
    PlaintextSecrets,
    IngressSnippets,
    ProtectedNamespaces,
    DenyDelete,
    GitopsSources,
    ExternalEndpoints,
    ClusterScoped,
    SecretStores,
    ControllerExposure,
    SopsRecipients,
    /// A Pod Security Standards control of the baseline level (`pod_security`); not nameable
    /// in `rules`.
    #[serde(skip)]
    PodSecurityBaseline,
    /// A control of the restricted level only (`pod_security`); not nameable in `rules`.
    #[serde(skip)]
    PodSecurityRestricted,
}

impl RuleId {
    /// Every built-in rule that `rules` can name, in documentation order. The two
    /// `pod-security.*` ids are not here: the `pod_security` setting turns them on.
    pub const ALL: [RuleId; 29] = [
        RuleId::Privileged,
        RuleId::PrivilegeEscalation,
        RuleId::HostNamespaces,
        RuleId::HostPath,
        RuleId::SensitiveHostMounts,
        RuleId::HostPorts,
        RuleId::DangerousCapabilities,
        RuleId::RunAsRoot,
        RuleId::ProcMount,
        RuleId::UnsafeSysctls,
        RuleId::SeccompUnconfined,
        RuleId::HostProcess,
        RuleId::ImageLatest,
        RuleId::ImageDigest,
        RuleId::ImageRegistries,
        RuleId::ClusterAdminBinding,
        RuleId::RbacWildcards,
        RuleId::RbacEscalation,
        RuleId::RbacSystemGroups,
        RuleId::PlaintextSecrets,
        RuleId::IngressSnippets,
        RuleId::ProtectedNamespaces,
        RuleId::DenyDelete,
        RuleId::GitopsSources,
        RuleId::ExternalEndpoints,
        RuleId::ClusterScoped,
        RuleId::SecretStores,
        RuleId::ControllerExposure,
        RuleId::SopsRecipients,
    ];

    /// The id as written in the policy and in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::Privileged => "privileged",
            RuleId::PrivilegeEscalation => "privilege-escalation",
            RuleId::HostNamespaces => "host-namespaces",
            RuleId::HostPath => "host-path",
            RuleId::SensitiveHostMounts => "sensitive-host-mounts",
            RuleId::HostPorts => "host-ports",
            RuleId::DangerousCapabilities => "dangerous-capabilities",
            RuleId::RunAsRoot => "run-as-root",
            RuleId::ProcMount => "proc-mount",
            RuleId::UnsafeSysctls => "unsafe-sysctls",
            RuleId::SeccompUnconfined => "seccomp-unconfined",
            RuleId::HostProcess => "host-process",
            RuleId::ImageLatest => "image-latest",
            RuleId::ImageDigest => "image-digest",
            RuleId::ImageRegistries => "image-registries",
            RuleId::ClusterAdminBinding => "cluster-admin-binding",
            RuleId::RbacWildcards => "rbac-wildcards",
            RuleId::RbacEscalation => "rbac-escalation",
            RuleId::RbacSystemGroups => "rbac-system-groups",
            RuleId::PlaintextSecrets => "plaintext-secrets",
            RuleId::IngressSnippets => "ingress-snippets",
            RuleId::ProtectedNamespaces => "protected-namespaces",
            RuleId::DenyDelete => "deny-delete",
            RuleId::GitopsSources => "gitops-sources",
            RuleId::ExternalEndpoints => "external-endpoints",
            RuleId::ClusterScoped => "cluster-scoped",
            RuleId::SecretStores => "secret-stores",
            RuleId::ControllerExposure => "controller-exposure",
            RuleId::SopsRecipients => "sops-recipients",
            RuleId::PodSecurityBaseline => "pod-security.baseline",
            RuleId::PodSecurityRestricted => "pod-security.restricted",
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `pod_security = { level = "restricted", version = "v1.35" }`: the Pod Security Standards
/// at one level, checked as Pod Security Admission checks that version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodSecurity {
    pub level: PodSecurityLevel,
    pub version: PodSecurityVersion,
}

/// `pod_security.level`. (`privileged` checks nothing and is not accepted.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PodSecurityLevel {
    Baseline,
    Restricted,
}

impl PodSecurityLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PodSecurityLevel::Baseline => "baseline",
            PodSecurityLevel::Restricted => "restricted",
        }
    }

    /// The rule id of the findings of this level's controls.
    pub fn rule(self) -> RuleId {
        match self {
            PodSecurityLevel::Baseline => RuleId::PodSecurityBaseline,
            PodSecurityLevel::Restricted => RuleId::PodSecurityRestricted,
        }
    }
}

/// `pod_security.version`: `v1.N` or `latest`, as in the `pod-security.kubernetes.io/*-version`
/// namespace labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PodSecurityVersion {
    /// The newest version pushguard knows ([`PodSecurityVersion::NEWEST_KNOWN`]).
    Latest,
    /// `v1.N`, holding N.
    V1(u32),
}

impl PodSecurityVersion {
    /// The newest policy version whose checks pushguard implements (v1.37). Pod Security
    /// Admission evaluates later versions as its newest one; pushguard refuses them instead,
    /// since it cannot know what a later version adds.
    pub const NEWEST_KNOWN: u32 = 37;

    /// Parses `latest` or `v1.N` (no leading zeros, N at most [`Self::NEWEST_KNOWN`]).
    pub fn parse(s: &str) -> Result<PodSecurityVersion, String> {
        if s == "latest" {
            return Ok(PodSecurityVersion::Latest);
        }
        let minor = s
            .strip_prefix("v1.")
            .filter(|m| {
                !m.is_empty()
                    && m.len() <= 9
                    && m.bytes().all(|b| b.is_ascii_digit())
                    && (m.len() == 1 || !m.starts_with('0'))
            })
            .and_then(|m| m.parse::<u32>().ok())
            .ok_or_else(|| format!("pod_security version `{s}` must be \"latest\" or \"v1.N\""))?;
        if minor > Self::NEWEST_KNOWN {
            return Err(format!(
                "pod_security version `{s}` is newer than v1.{} (the newest version pushguard knows); name a known version or \"latest\"",
                Self::NEWEST_KNOWN
            ));
        }
        Ok(PodSecurityVersion::V1(minor))
    }

    /// The minor version whose checks apply.
    pub fn minor(self) -> u32 {
        match self {
            PodSecurityVersion::Latest => Self::NEWEST_KNOWN,
            PodSecurityVersion::V1(m) => m,
        }
    }
}

impl fmt::Display for PodSecurityVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PodSecurityVersion::Latest => f.write_str("latest"),
            PodSecurityVersion::V1(m) => write!(f, "v1.{m}"),
        }
    }
}

impl<'de> Deserialize<'de> for PodSecurityVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PodSecurityVersion::parse(&s).map_err(de::Error::custom)
    }
}

/// `severity`: interpreted by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[default]
    Deny,
    Warn,
}

/// `judge`: whether violations already present before the commit are reported again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JudgeMode {
    /// Only what the commit introduces.
    #[default]
    Changes,
    /// Every violation in every object of the changed files.
    All,
}

/// `on` of a custom rule: which object changes it looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum On {
    Added,
    Changed,
    Removed,
    #[default]
    Any,
}

/// A literal in `equals` / `one_of`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Literal {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// A regex checked when the policy is read.
#[derive(Clone)]
pub struct Pattern(pub regex::Regex);

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        regex::RegexBuilder::new(&s)
            .size_limit(1 << 20)
            .build()
            .map(Pattern)
            .map_err(|e| de::Error::custom(format!("invalid pattern: {e}")))
    }
}

/// A glob over repository paths, in the policy's one dialect (`pushguard-glob`), checked when
/// the policy is read.
#[derive(Debug, Clone)]
pub struct PathGlob(pub pushguard_glob::Glob);

/// A glob over names without components (a manifest exception's `Kind namespace/name`): the
/// same dialect, with `/` an ordinary character.
#[derive(Debug, Clone)]
pub struct NameGlob(pub pushguard_glob::Glob);

impl std::str::FromStr for PathGlob {
    type Err = pushguard_glob::GlobError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        pushguard_glob::Glob::new(s).map(PathGlob)
    }
}

impl std::str::FromStr for NameGlob {
    type Err = pushguard_glob::GlobError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        pushguard_glob::Glob::name(s).map(NameGlob)
    }
}

impl<'de> Deserialize<'de> for PathGlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        pushguard_glob::Glob::new(&s)
            .map(PathGlob)
            .map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for NameGlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        pushguard_glob::Glob::name(&s)
            .map(NameGlob)
            .map_err(de::Error::custom)
    }
}

/// A `YYYY-MM-DD` date, kept as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub i64);

impl Date {
    /// Parses `YYYY-MM-DD` (proleptic Gregorian), exactly that shape.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return None;
        }
        let date: jiff::civil::Date = s.parse().ok()?;
        let epoch = jiff::civil::date(1970, 1, 1);
        Some(Date(i64::from(date.since(epoch).ok()?.get_days())))
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).ok_or_else(|| de::Error::custom(format!("`{s}` is not a YYYY-MM-DD date")))
    }
}

/// `[[manifests.deny]]`: a custom rule. It reports every value at `field` (in objects of
/// `kinds`) that satisfies all the matchers given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRule {
    pub id: String,
    /// Kinds the rule applies to (`Deployment`, ...); empty = every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
    pub field: FieldPath,
    pub equals: Option<Literal>,
    pub one_of: Option<Vec<Literal>>,
    pub pattern: Option<Pattern>,
    /// `true`: the field being present is the violation; `false`: its absence is.
    pub exists: Option<bool>,
    #[serde(default)]
    pub on: On,
    pub message: String,
    /// How to fix it (shown with the finding); a generic text is used when absent.
    pub fix: Option<String>,
}

/// `[[manifests.exception]]`: lets findings of one rule pass for matching objects until a date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// A built-in or custom rule id, or `*` for every rule.
    pub rule: String,
    /// `Kind namespace/name` (or `Kind name` for cluster-scoped), a name glob: `*` matches
    /// anything, `/` included.
    pub object: NameGlob,
    /// Optional file glob (`*` within a directory, `**` across).
    pub path: Option<PathGlob>,
    pub reason: String,
    /// Last day the exception applies (inclusive).
    pub expires: Date,
}

fn default_match() -> Vec<String> {
    vec![
        "**/*.yaml".to_string(),
        "**/*.yml".to_string(),
        "**/*.json".to_string(),
    ]
}

fn default_source_refs() -> Vec<String> {
    vec!["main".to_string(), "master".to_string(), "HEAD".to_string()]
}

fn default_protected_namespaces() -> Vec<String> {
    vec![
        "flux-system".to_string(),
        "argocd".to_string(),
        "kube-system".to_string(),
    ]
}

fn default_deny_delete() -> Vec<String> {
    vec![
        "Namespace".to_string(),
        "CustomResourceDefinition".to_string(),
        "PersistentVolume".to_string(),
    ]
}

/// One `[[manifests]]` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// File globs (matched by the caller).
    #[serde(default = "default_match", rename = "match")]
    pub match_globs: Vec<String>,
    /// Refs the block applies to (interpreted by the caller).
    pub refs: Option<Vec<String>>,
    /// Who may change protected namespaces (interpreted by the caller).
    pub signers: Option<Vec<String>>,
    #[serde(default)]
    pub severity: Severity,
    /// Built-in rules to run.
    #[serde(default)]
    pub rules: Vec<RuleId>,
    /// The Pod Security Standards level and version every pod spec is held to.
    #[serde(default)]
    pub pod_security: Option<PodSecurity>,
    #[serde(default)]
    pub judge: JudgeMode,
    /// `image-registries`: allowed image prefixes (`ghcr.io/acme/`, `docker.io/library/`).
    #[serde(default)]
    pub image_registries: Vec<String>,
    /// `gitops-sources`: allowed source URL prefixes.
    #[serde(default)]
    pub source_urls: Vec<String>,
    /// `gitops-sources`: the Git refs sources may deploy from (Flux `GitRepository`
    /// `spec.ref`, Argo CD `targetRevision`, a kustomization's remote `?ref=`), as globs (`*`
    /// within a `/`-separated segment, `**` across, `?` one character) matched against the ref
    /// as written and, where the source says it is a branch or a tag, its full name
    /// (`refs/heads/main`, `refs/tags/v1.2.0`). A full commit SHA is always allowed: it
    /// cannot move. Default `["main", "master", "HEAD"]`: the branches a repository's rules
    /// conventionally protect, and `HEAD` (the default branch, which Argo CD and kustomize
    /// use when no ref is given).
    #[serde(default = "default_source_refs")]
    pub source_refs: Vec<String>,
    /// `gitops-sources`: the refs a Flux `ImageUpdateAutomation` may push its commits to
    /// (`spec.git.push.branch`, the destination of `spec.git.push.refspec`, or, without
    /// `spec.git.push`, the checkout branch), as globs like `source_refs`. Default empty:
    /// no automation may push anywhere (its commits bypass review unless they land on a ref
    /// this hook guards and a person merges).
    #[serde(default)]
    pub automation_push_refs: Vec<String>,
    /// `external-endpoints`: URLs and hosts the cluster may be made to contact (the
    /// `source_urls` prefixes count too).
    #[serde(default)]
    pub allowed_endpoints: Vec<Endpoint>,
    /// `secret-stores`: the ClusterSecretStores the External Secrets of each namespace may read
    /// from (`"*"`: every namespace).
    #[serde(default)]
    pub secret_stores: BTreeMap<String, Vec<String>>,
    /// `secret-stores`: the remote keys the External Secrets of each namespace may read or
    /// write (`"*"`: every namespace; a ClusterExternalSecret/ClusterPushSecret only by `"*"`).
    /// An entry ending in `/` is a prefix; any other is a glob over the whole key (`*` within a
    /// `/`-separated segment, `**` across, `?` one character). A namespace without an entry
    /// (and no `"*"`) is not checked. See [`crate::secrets::key_allowed`].
    #[serde(default)]
    pub secret_keys: BTreeMap<String, Vec<String>>,
    /// `sops-recipients`: the readers a SOPS-encrypted document may be encrypted for,
    /// `<type>:<id>` (see [`SopsRecipient`]), checked when the policy is read.
    #[serde(default)]
    pub sops_recipients: Vec<SopsRecipient>,
    /// `protected-namespaces`.
    #[serde(default = "default_protected_namespaces")]
    pub protected_namespaces: Vec<String>,
    /// `deny-delete`: kinds that may not be removed.
    #[serde(default = "default_deny_delete")]
    pub deny_delete: Vec<String>,
    /// `gitops-sources`: Flux Kustomization/HelmRelease must set `serviceAccountName`.
    /// (Removing one that was set is reported whatever this says.)
    #[serde(default)]
    pub flux_service_account: bool,
    /// Allow gitlinks (submodules) in the block's files. Off by default: what a gitlink holds
    /// is another repository's, never judged here, yet Flux (`recurseSubmodules`) and a
    /// `--recurse-submodules` clone deploy it.
    #[serde(default)]
    pub allow_submodules: bool,
    /// Custom rules.
    #[serde(default)]
    pub deny: Vec<CustomRule>,
    /// Exceptions.
    #[serde(default, rename = "exception")]
    pub exceptions: Vec<Exception>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            match_globs: default_match(),
            refs: None,
            signers: None,
            severity: Severity::Deny,
            rules: Vec::new(),
            pod_security: None,
            judge: JudgeMode::Changes,
            image_registries: Vec::new(),
            source_urls: Vec::new(),
            source_refs: default_source_refs(),
            automation_push_refs: Vec::new(),
            allowed_endpoints: Vec::new(),
            secret_stores: BTreeMap::new(),
            secret_keys: BTreeMap::new(),
            sops_recipients: Vec::new(),
            protected_namespaces: default_protected_namespaces(),
            deny_delete: default_deny_delete(),
            flux_service_account: false,
            allow_submodules: false,
            deny: Vec::new(),
            exceptions: Vec::new(),
        }
    }
}
