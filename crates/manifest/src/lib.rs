//! pushguard-manifest: judges the Kubernetes objects one commit changes.
//!
//! The caller (the hook) knows git: for each new commit it hands over every changed file that
//! matches a `[[manifests]] match` glob, old and new bytes. This crate loads them the way the
//! cluster will (see `yaml`), pairs objects by identity across all files of the commit
//! (`object`), runs the built-in rules (`rules`, with the Pod Security Standards in
//! `pod_security`, Helm values in `helm`, secrets' flow in `secrets`) and custom rules (`custom`)
//! on what changed,
//! and drops findings covered by live exceptions (`judge`).

pub mod custom;
pub mod endpoints;
mod fastyaml;
pub mod helm;
mod judge;
pub mod network;
pub mod object;
pub mod pod_security;
pub mod render;
pub mod rules;
pub mod secrets;
pub mod settings;
pub mod yaml;

pub use custom::{FieldPath, FieldPathError, Segment};
pub use endpoints::Endpoint;
pub use judge::glob_matches;
pub use secrets::SopsRecipient;
pub use settings::{
    CustomRule, Date, Exception, JudgeMode, Literal, On, Pattern, PodSecurity, PodSecurityLevel,
    PodSecurityVersion, RuleId, Settings, Severity,
};
pub use yaml::{Limits, LoadError};

/// One version of one file.
#[derive(Debug, Clone, Copy)]
pub struct FileVersion<'a> {
    pub path: &'a str,
    pub bytes: &'a [u8],
}

/// One changed file of a commit: add (`old: None`), delete (`new: None`), modify or rename.
#[derive(Debug, Clone, Copy)]
pub struct FileChange<'a> {
    pub old: Option<FileVersion<'a>>,
    pub new: Option<FileVersion<'a>>,
}

/// What happened to the object a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    Added,
    Changed,
    Removed,
}

impl ChangeKind {
    /// The verb a finding's message uses for the change: `adds`, `changes`, `removes`.
    pub fn verb(self) -> &'static str {
        match self {
            ChangeKind::Added => "adds",
            ChangeKind::Changed => "changes",
            ChangeKind::Removed => "removes",
        }
    }
}

/// One violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Built-in rule id, custom rule id, or `manifest-parse` / `manifest-limits`.
    pub rule: String,
    pub path: String,
    /// 1-based position of the offending value.
    pub line: u32,
    pub column: u32,
    /// `Deployment prod/api`, `ClusterRole admin`, `Kustomization file <path>`.
    pub object: Option<String>,
    pub container: Option<String>,
    pub message: String,
    pub fix: String,
    pub change: ChangeKind,
    /// True when the block's `signers` may make this change: the caller drops the finding for
    /// a commit one of them signed. Set where the finding is made, by the rule that knows the
    /// change is one a trusted signer may sign off (a protected namespace, a ClusterSecretStore,
    /// a Flux Kustomization's `spec.decryption`), never inferred from rule ids or labels.
    pub signable: bool,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: [{}]",
            self.path, self.line, self.column, self.rule
        )?;
        if let Some(o) = &self.object {
            write!(f, " {o}")?;
        }
        if let Some(c) = &self.container {
            write!(f, " (container {c})")?;
        }
        write!(f, ": {} — fix: {}", self.message, self.fix)
    }
}

/// Judges what ONE commit changes: all its changed manifest files at once, so an object moved
/// from one file to another is a move, not remove + add. `today` is days since 1970-01-01
/// (exception expiry). Findings are sorted by path, line, column, rule.
pub fn judge(
    changes: &[FileChange<'_>],
    settings: &Settings,
    limits: &Limits,
    today: i64,
) -> Vec<Finding> {
    judge::judge(changes, settings, limits, today, None)
}

/// [`judge`], parsing through a push's shared [`render::ParseCache`]: a content the renderer
/// (or another commit) already parsed is not parsed again.
pub fn judge_cached(
    changes: &[FileChange<'_>],
    settings: &Settings,
    limits: &Limits,
    today: i64,
    cache: &render::ParseCache,
) -> Vec<Finding> {
    judge::judge(changes, settings, limits, today, Some(cache))
}

/// Judges objects old against new, as [`judge`] does once it has loaded a commit's files: the
/// objects a root rendered before and after an update. `findings` are problems found on the way
/// (rendering); the result holds them too, sorted, with exceptions applied.
pub fn judge_objects(
    findings: Vec<Finding>,
    old: &[object::Object],
    new: &[object::Object],
    settings: &Settings,
    today: i64,
) -> Vec<Finding> {
    judge::judge_pairs(findings, old, new, settings, today)
}
