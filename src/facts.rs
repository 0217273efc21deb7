//! Facts: what a push is, as plain values, with no repository handle in sight.
//!
//! The repository layer (`repo`) produces these; the policy layer (`policy::eval`) judges them.
//! Keeping them plain data is what lets every rule be unit-tested without a repository, and what
//! makes the data flow one way: ref updates → new commits → facts per commit → decisions.

use std::collections::HashMap;

use serde::Serialize;

use crate::hook::host::HostEnv;
use crate::hook::{Oid, RefUpdate};

/// A git tree entry mode, as git writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileMode {
    /// 100644
    File,
    /// 100755
    Executable,
    /// 120000: the blob holds the link target.
    Symlink,
    /// 160000: a submodule commit.
    Gitlink,
}

impl FileMode {
    pub fn octal(self) -> &'static str {
        match self {
            FileMode::File => "100644",
            FileMode::Executable => "100755",
            FileMode::Symlink => "120000",
            FileMode::Gitlink => "160000",
        }
    }
}

/// One side of a change: a tree entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub mode: FileMode,
    pub id: Oid,
}

/// A commit's author or committer line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: String,
    pub email: String,
    /// Seconds since the epoch, as the commit claims.
    pub time: i64,
}

/// What pushguard knows about one commit.
#[derive(Clone, Debug, Serialize)]
pub struct CommitFacts {
    pub id: Oid,
    pub parents: Vec<Oid>,
    pub author: Person,
    pub committer: Person,
    /// The first line of the message.
    pub subject: String,
    pub message: String,
    /// What the commit changes against its first parent; filled only when the policy has
    /// rules about paths or files.
    pub changes: Vec<FileChange>,
    /// The verdict on the commit's signature; None when no rule needs it.
    pub signature: Option<SignatureFacts>,
    /// What the `[[manifests]]` blocks found in the objects this commit changes, by block.
    #[serde(skip)]
    pub manifest_findings: Vec<ManifestFinding>,
}

/// A manifest rule's finding on one commit, for the block (by index) that asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestFinding {
    pub block: usize,
    pub finding: pushguard_manifest::Finding,
}

/// What a signature check found, as plain values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum SignatureFacts {
    Unsigned,
    /// A trusted key made it and it passed every check (time, expiry, revocation, hash).
    Good {
        /// `openpgp:<FPR>` or `ssh:SHA256:<b64>`, as groups name keys.
        key_id: String,
        /// The (sub)key that signed.
        signing_key: String,
        /// The key's user ids (OpenPGP) or principals (SSH).
        user_ids: Vec<String>,
        /// The committer's (tagger's) email is one of the key's identities.
        binds_committer: bool,
    },
    /// Why it does not count, naming the key when known.
    Bad {
        reason: String,
    },
}

impl SignatureFacts {
    pub fn key_id(&self) -> Option<&str> {
        match self {
            SignatureFacts::Good { key_id, .. } => Some(key_id),
            _ => None,
        }
    }

    /// The emails of the signing key's identities (user ids `Name <email>`, SSH principals),
    /// lower-cased: what makes two keys one person.
    pub fn emails(&self) -> std::collections::BTreeSet<String> {
        let SignatureFacts::Good { user_ids, .. } = self else {
            return Default::default();
        };
        user_ids
            .iter()
            .filter_map(|uid| {
                let email = match (uid.rfind('<'), uid.rfind('>')) {
                    (Some(a), Some(b)) if a < b => &uid[a + 1..b],
                    _ => uid.as_str(),
                };
                let email = email.trim().to_lowercase();
                email.contains('@').then_some(email)
            })
            .collect()
    }

    /// Whether two good signatures were made by one person: the same key, or keys that share
    /// an identity email (a laptop key and a token of one user). A person is not a key.
    pub fn same_person(&self, other: &SignatureFacts) -> bool {
        match (self.key_id(), other.key_id()) {
            (Some(a), Some(b)) if a == b => true,
            (Some(_), Some(_)) => !self.emails().is_disjoint(&other.emails()),
            _ => false,
        }
    }
}

/// A signed push's certificate, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PushCertFacts {
    pub signature: SignatureFacts,
    /// `GIT_PUSH_CERT_NONCE_STATUS`: `OK` when the nonce is the one this server issued.
    pub nonce_status: Option<String>,
    /// How the certificate's ref lines differ from the updates actually pushed, if they do.
    pub mismatch: Option<String>,
    /// The certificate was used before (`[signatures] push_cert_log`).
    pub replayed: bool,
}

/// One changed path of a commit, with what file rules need to know about the new content.
#[derive(Clone, Debug, Serialize)]
pub struct FileChange {
    pub path: String,
    pub old: Option<Entry>,
    pub new: Option<Entry>,
    /// Size of the new blob, when it was read.
    pub new_size: Option<u64>,
    /// Symlink targets (old and new side), as stored in the link blob.
    pub old_link: Option<String>,
    pub new_link: Option<String>,
    /// The new content holds a PEM private key.
    pub private_key: bool,
    /// For a `.gitattributes` file: the attributes it sets that make a checkout write other
    /// bytes than the blob holds (`working-tree-encoding`, `filter`, `ident`, `eol=crlf`).
    pub rewrites: Vec<String>,
}

/// How a ref moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpdateKind {
    Create,
    Delete,
    FastForward,
    /// The old tip is not an ancestor of the new one: history is rewritten (a force-push).
    NonFastForward,
    /// old == new (git sends this for a ref the client re-sends unchanged).
    Unchanged,
}

/// What an annotated or lightweight ref points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Commit,
    Tag,
    Tree,
    Blob,
}

/// One ref update with what the repository says about it.
#[derive(Clone, Debug, Serialize)]
pub struct UpdateFacts {
    pub update: RefUpdate,
    pub kind: UpdateKind,
    /// The kind of object the new id names (None for a delete).
    pub target: Option<TargetKind>,
    /// Commits this update brings to the ref that must be judged for it, oldest first
    /// (parents before children).
    pub new_commits: Vec<Oid>,
    /// For a non-fast-forward: how many commits of the old tip's history the ref loses.
    pub lost_commits: usize,
    /// The annotated tag's signature, when a rule needs it.
    pub tag_signature: Option<SignatureFacts>,
    /// The commit the new id peels to (None for deletes and non-commit targets).
    pub tip: Option<Oid>,
    /// The `tag` header of the annotated tag the new id names (the name it was made for).
    pub tag_name: Option<String>,
    /// `target_on`: each ref the tag's commit must already be on, and whether it is.
    pub target_on: Vec<(String, bool)>,
    /// What the update changes in the tree the ref holds, when a rule needs it.
    pub net: Option<NetEffect>,
    /// When the pushed name is a symbolic ref on the server: the ref git would really write.
    pub symbolic_target: Option<String>,
    /// The branch (for a tag) or tag (for a branch) of the same short name, when one exists on
    /// the server or is created by this push.
    pub twin: Option<String>,
    /// Paths that protected paths reach through symlinks at the new tip.
    pub aliases: Vec<Alias>,
}

/// `link` is a symlink under a protected path (at the new tip) that resolves to `target`: a
/// change at or below `target` changes what the cluster reads at or below `link`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alias {
    pub target: String,
    pub link: String,
    pub via: AliasVia,
}

/// How a protected path reaches another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AliasVia {
    /// `link` is a symlink (or lies below one) resolving to `target`.
    Symlink,
    /// `link` is a protected root (a kustomization file, or the file of a Flux or Argo CD
    /// object) whose rendering reads `target`.
    Rendered,
    /// `link` is a protected submodule whose URL `target` (`.gitmodules`) sets.
    Submodule,
}

/// The net effect of one update: the tree the ref will hold against the tree it held (for a
/// created ref: against the last already-judged commit of the new tip's first-parent line,
/// or nothing). Whatever the commits in between did, this is what the cluster ends up with.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NetEffect {
    /// The commit whose tree is the base (None: the empty tree).
    pub base: Option<Oid>,
    /// The update is one new commit on top of the base: the net effect is that commit's own
    /// change, already judged by the per-commit file and manifest rules.
    pub one_commit: bool,
    pub changes: Vec<FileChange>,
    /// For each changed path a `[[path]]` block with signers protects: the new commits
    /// answerable for its new state (the one that made it, and every merge that chose it over
    /// another parent's), oldest first.
    pub answerable: std::collections::BTreeMap<String, Vec<Oid>>,
    /// What the `[[manifests]]` blocks find in the objects the net effect changes.
    #[serde(skip)]
    pub manifest_findings: Vec<ManifestFinding>,
    /// What the `[[manifests]]` blocks find in the rendered roots the update affects (judged
    /// even for a one-commit update: no commit's own files show what is rendered).
    #[serde(skip)]
    pub rendered_findings: Vec<ManifestFinding>,
}

/// Everything the policy needs to decide on one push.
#[derive(Clone, Debug)]
pub struct PushFacts {
    pub updates: Vec<UpdateFacts>,
    pub commits: HashMap<Oid, CommitFacts>,
    pub host: HostEnv,
    /// The push certificate of a signed push (`git push --signed`), when a rule needs it and
    /// one was sent.
    pub push_cert: Option<PushCertFacts>,
}
