//! Repository access: the pushed objects inside git's quarantine, new-commit walks, commit facts.
//!
//! During pre-receive the pushed objects are not in the repository yet: git (and GitLab's
//! Gitaly) put them in a quarantine directory named only by `GIT_OBJECT_DIRECTORY`, with the
//! repository's own objects listed in `GIT_ALTERNATE_OBJECT_DIRECTORIES`. gix reads neither
//! variable, so [`Repo::open`] builds the object database itself: a private directory *outside*
//! the repository whose `info/alternates` lists the quarantine first, then each alternate.
//! Nothing is ever written into the quarantine (git moves all of it into the repository when the
//! push is accepted) and no ref is ever written. The one thing written into the repository is
//! [`cache`]: facts computed from objects' content, under `$GIT_DIR/pushguard/cache/`.
//!
//! This is the only module that touches a repository. It answers questions with plain values
//! from [`crate::facts`].

pub mod cache;
pub mod diff;
mod loose;
pub mod quarantine;
pub mod tree;
mod walk;

pub use diff::Entries;
pub use walk::Objects;

use std::path::{Path, PathBuf};

use gix::ObjectId;

use crate::facts::{CommitFacts, Person, TargetKind};
use crate::hook::Oid;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("cannot open the repository at {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("cannot set up the object database for git's quarantine: {0}")]
    Quarantine(String),
    #[error("object {id} ({context}) is missing or unreadable: {message}")]
    Object {
        id: String,
        context: String,
        message: String,
    },
    #[error("object {id} is a {found}, expected a {expected}")]
    WrongKind {
        id: String,
        found: String,
        expected: &'static str,
    },
    #[error("commit {id} cannot be parsed: {message}")]
    BadCommit { id: String, message: String },
    /// git's fsck rules (and ours) refuse the object: it is never judged, the push is refused.
    #[error("object {id} ({context}): {message}")]
    Malformed {
        id: String,
        context: String,
        message: String,
    },
    /// An object over `[limits] max_object_bytes`, refused from its header (never inflated).
    #[error("object {id} ({context}) is {size} bytes, more than pushguard reads ({max} bytes, `[limits] max_object_bytes`): keep files this large out of the repository")]
    TooLarge {
        id: String,
        context: String,
        size: u64,
        max: u64,
    },
    /// Another budget of `[limits]` tripped (commits, bytes read).
    #[error("{0}")]
    Budget(crate::limits::Exceeded),
    #[error("cannot list the repository's refs: {0}")]
    Refs(String),
    #[error("walking the history from {from} failed: {message}")]
    Walk { from: String, message: String },
    #[error("{0:?} is not a full object id or a ref of this repository")]
    Unresolved(String),
    #[error("the id {id} has {len} hex digits but this repository uses {expected}")]
    HashKind {
        id: String,
        len: usize,
        expected: usize,
    },
}

impl RepoError {
    /// The budget this error is, when it is one (`push.limits`).
    pub fn budget(&self) -> Option<crate::limits::Exceeded> {
        use crate::limits::{Budget, Exceeded};
        match self {
            RepoError::Budget(e) => Some(e.clone()),
            RepoError::TooLarge {
                id,
                context,
                size,
                max,
            } => Some(Exceeded {
                budget: Budget::ObjectBytes,
                limit: *max,
                what: format!("object {id} ({context}) is {size} bytes"),
            }),
            _ => None,
        }
    }

    /// The same error, saying which path of the tree the object was read for.
    pub fn at_path(self, path: &str) -> RepoError {
        match self {
            RepoError::Object {
                id,
                context,
                message,
            } => RepoError::Object {
                id,
                context: format!("{context} at {path}"),
                message,
            },
            RepoError::TooLarge {
                id,
                context,
                size,
                max,
            } => RepoError::TooLarge {
                id,
                context: format!("{context} at {path}"),
                size,
                max,
            },
            RepoError::WrongKind {
                id,
                found,
                expected,
            } => RepoError::WrongKind {
                id: format!("{id} at {path}"),
                found,
                expected,
            },
            other => other,
        }
    }
}

/// Budgets on what one push may make the repository read: `[limits]` of the policy, set with
/// [`Repo::set_limits`] (the defaults until then).
#[derive(Debug)]
struct ReadBudget {
    /// `max_object_bytes`, or less when `PUSHGUARD_MAX_OBJECT_SIZE` asks for less (never more).
    max_object: u64,
    /// `max_read_bytes`.
    max_read: u64,
    /// `max_commits`: new commits one walk may find.
    max_commits: usize,
    /// Bytes of the objects read so far (each inflation counts, from the object's header).
    read: std::sync::atomic::AtomicU64,
}

/// An open repository, reading objects through the quarantine when there is one.
pub struct Repo {
    repo: gix::Repository,
    /// The repository's commit-graph, when it has one: generation numbers make walks exact.
    graph: Option<gix::commitgraph::Graph>,
    path: PathBuf,
    /// Keeps the private alternates directory alive as long as the object database uses it.
    _alternates: Option<tempfile::TempDir>,
    /// What tree entry names may hold (control characters only when the policy allows them).
    tree_options: pushguard_fsck::TreeOptions,
    budget: ReadBudget,
    /// Trees parsed lately (checked with `tree_options`), so a long push does not re-read them.
    trees: std::sync::Mutex<diff::TreeCache>,
    /// Objects inflated lately: the walk, the diff, root discovery and the renderer each read
    /// the tip commit and the changed blobs; one inflation serves them all.
    objects: std::sync::Mutex<ObjectCache>,
    /// The push's loose objects, read in one pass.
    loose: loose::Loose,
}

/// The bytes of objects read lately, first in first out, up to [`OBJECT_CACHE_BYTES`].
#[derive(Default)]
struct ObjectCache {
    map: std::collections::HashMap<ObjectId, (gix::object::Kind, std::sync::Arc<[u8]>)>,
    order: std::collections::VecDeque<ObjectId>,
    bytes: usize,
}

/// How many bytes of objects [`ObjectCache`] keeps.
const OBJECT_CACHE_BYTES: usize = 32 << 20;
/// Objects larger than this are not kept (a push rarely reads one twice).
const OBJECT_CACHE_ENTRY: usize = 1 << 20;

impl ObjectCache {
    fn get(&self, id: &ObjectId) -> Option<(gix::object::Kind, std::sync::Arc<[u8]>)> {
        self.map.get(id).cloned()
    }

    fn insert(&mut self, id: ObjectId, kind: gix::object::Kind, data: &[u8]) {
        let size = data.len();
        // Trees are kept parsed, in `TreeCache`.
        if kind == gix::object::Kind::Tree
            || size > OBJECT_CACHE_ENTRY
            || self.map.contains_key(&id)
        {
            return;
        }
        while self.bytes + size > OBJECT_CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, d)) = self.map.remove(&old) {
                self.bytes -= d.len();
            }
        }
        self.map.insert(id, (kind, data.into()));
        self.order.push_back(id);
        self.bytes += size;
    }
}

impl Repo {
    /// Opens the repository at `git_dir`; when `objects` is given (the quarantine setting from
    /// the environment), reads objects from it and its alternates instead of the repository's
    /// own object directory.
    pub fn open(
        git_dir: &Path,
        objects: Option<&quarantine::ObjectDirs>,
    ) -> Result<Repo, RepoError> {
        let open_err = |e: &dyn std::fmt::Display| RepoError::Open {
            path: git_dir.to_path_buf(),
            message: e.to_string(),
        };
        // A work tree (for `check`) has its git directory in .git/; a hook gets the git dir.
        let dot_git = git_dir.join(".git");
        let git_dir = if dot_git.exists() {
            dot_git.as_path()
        } else {
            git_dir
        };
        let opts = gix::open::Options::isolated().open_path_as_is(true);
        let mut repo = gix::open_opts(git_dir, opts).map_err(|e| open_err(&e))?;
        // The commit-graph lives in the repository's own objects/info; load it before the object
        // database is replaced, and use it for every walk (it makes hidden walks exact).
        let graph = repo.commit_graph_if_enabled().ok().flatten();
        let mut alternates = None;
        let loose_dirs = match objects {
            Some(dirs) => std::iter::once(dirs.primary.clone())
                .chain(dirs.alternates.iter().cloned())
                .collect(),
            None => vec![git_dir.join("objects")],
        };
        if let Some(dirs) = objects {
            let hash = repo.object_hash();
            let dir = dirs
                .materialize()
                .map_err(|e| RepoError::Quarantine(e.to_string()))?;
            let store = gix::odb::at(dir.path(), hash).map_err(|e| {
                RepoError::Quarantine(format!("opening {}: {e}", dir.path().display()))
            })?;
            repo.objects = gix::OdbHandle::new(store, hash);
            alternates = Some(dir);
        }
        let path = std::fs::canonicalize(git_dir).unwrap_or_else(|_| git_dir.to_path_buf());
        Ok(Repo {
            repo,
            graph,
            path,
            _alternates: alternates,
            tree_options: pushguard_fsck::TreeOptions::default(),
            budget: ReadBudget {
                max_object: max_object(crate::limits::DEFAULT.max_object_bytes),
                max_read: crate::limits::DEFAULT.max_read_bytes,
                max_commits: crate::limits::DEFAULT.max_commits,
                read: std::sync::atomic::AtomicU64::new(0),
            },
            trees: std::sync::Mutex::new(diff::TreeCache::default()),
            objects: std::sync::Mutex::new(ObjectCache::default()),
            loose: loose::Loose::new(loose_dirs),
        })
    }

    /// Applies the policy's budgets (`[limits]`) to every read and walk from now on.
    pub fn set_limits(&mut self, limits: &crate::limits::Limits) {
        self.budget.max_object = max_object(limits.max_object_bytes);
        self.budget.max_read = limits.max_read_bytes;
        self.budget.max_commits = limits.max_commits;
    }

    /// How many bytes of objects this repository has inflated so far.
    pub fn bytes_read(&self) -> u64 {
        self.budget.read.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The most new commits one walk may find (`[limits] max_commits`).
    pub fn max_commits(&self) -> usize {
        self.budget.max_commits
    }

    /// The private object directory made for git's quarantine, if any (under `$TMPDIR`): what
    /// a process that must exit early removes itself.
    pub fn temp_dir(&self) -> Option<&Path> {
        self._alternates.as_ref().map(|d| d.path())
    }

    /// Lets tree entry names hold control characters (`[files] allow_control_chars`).
    pub fn allow_control_chars(&mut self, allow: bool) {
        self.tree_options.allow_control_chars = allow;
        // Trees were checked with the old options.
        if let Ok(mut c) = self.trees.lock() {
            c.clear();
        }
    }

    pub(crate) fn fsck_hash(&self) -> pushguard_fsck::HashKind {
        if self.hex_len() == 64 {
            pushguard_fsck::HashKind::Sha256
        } else {
            pushguard_fsck::HashKind::Sha1
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many hex digits this repository's ids have (40 or 64).
    pub fn hex_len(&self) -> usize {
        self.repo.object_hash().len_in_hex()
    }

    pub(crate) fn oid(&self, id: &Oid) -> Result<ObjectId, RepoError> {
        if id.as_str().len() != self.hex_len() {
            return Err(RepoError::HashKind {
                id: id.to_string(),
                len: id.as_str().len(),
                expected: self.hex_len(),
            });
        }
        ObjectId::from_hex(id.as_str().as_bytes()).map_err(|e| RepoError::Unresolved(e.to_string()))
    }

    /// An object's size, from its header (nothing is inflated).
    pub fn size_of(&self, id: &Oid) -> Result<u64, RepoError> {
        let oid = self.oid(id)?;
        if let Some((_, data)) = self.objects.lock().ok().and_then(|c| c.get(&oid)) {
            return Ok(data.len() as u64);
        }
        if let Some((_, size)) = self.loose.header(&oid) {
            return Ok(size);
        }
        self.repo
            .find_header(oid)
            .map(|h| h.size())
            .map_err(|e| RepoError::Object {
                id: id.to_string(),
                context: "object header".into(),
                message: e.to_string(),
            })
    }

    /// Reads an object's kind and bytes. The size is read from the object's header first: an
    /// object larger than `max_object_bytes`, or one that would take the push past
    /// `max_read_bytes`, is refused before anything is inflated, so a huge blob is a message,
    /// never an allocation failure. An object read lately comes from [`ObjectCache`] and does
    /// not count against `max_read_bytes` again.
    fn read(&self, id: ObjectId, context: &str) -> Result<(gix::object::Kind, Vec<u8>), RepoError> {
        if let Some((kind, data)) = self.objects.lock().ok().and_then(|c| c.get(&id)) {
            return Ok((kind, data.to_vec()));
        }
        let admit = |size: u64| self.admit(id, context, size);
        let corrupt = |message: String| RepoError::Object {
            id: id.to_string(),
            context: context.to_string(),
            message,
        };
        // zlib adds at most 5 bytes per 64 KiB stored block, and the header is short.
        let max_file = self
            .budget
            .max_object
            .saturating_add(self.budget.max_object / 1024)
            .saturating_add(1024);
        let (kind, data) = match self.loose.read(&id, max_file, &admit, &corrupt)? {
            Some(found) => found,
            None => {
                let header = self.repo.find_header(id).map_err(|e| RepoError::Object {
                    id: id.to_string(),
                    context: context.to_string(),
                    message: e.to_string(),
                })?;
                admit(header.size())?;
                let obj = self.repo.find_object(id).map_err(|e| RepoError::Object {
                    id: id.to_string(),
                    context: context.to_string(),
                    message: e.to_string(),
                })?;
                (obj.kind, obj.data.clone())
            }
        };
        if let Ok(mut cache) = self.objects.lock() {
            cache.insert(id, kind, &data);
        }
        Ok((kind, data))
    }

    /// Checks an object's size, from its header, against `max_object_bytes` and what the push
    /// may still read (`max_read_bytes`), and counts it as read.
    fn admit(&self, id: ObjectId, context: &str, size: u64) -> Result<(), RepoError> {
        if size > self.budget.max_object {
            return Err(RepoError::TooLarge {
                id: id.to_string(),
                context: context.to_string(),
                size,
                max: self.budget.max_object,
            });
        }
        let total = self
            .budget
            .read
            .fetch_add(size, std::sync::atomic::Ordering::Relaxed)
            .saturating_add(size);
        if total > self.budget.max_read {
            return Err(RepoError::Budget(crate::limits::Exceeded {
                budget: crate::limits::Budget::ReadBytes,
                limit: self.budget.max_read,
                what: format!(
                    "reading object {id} ({context}, {size} bytes) takes what this push made pushguard read to {total} bytes"
                ),
            }));
        }
        Ok(())
    }

    /// The kind of object `id` names, and the commit it peels to (through annotated tags).
    pub fn target(&self, id: &Oid) -> Result<(TargetKind, Option<Oid>), RepoError> {
        let mut current = self.oid(id)?;
        let mut first = None;
        // Tags of tags exist; a chain longer than this is an attack, not a release process.
        for _ in 0..16 {
            let (kind, data) = self.read(current, "pushed ref target")?;
            let this = match kind {
                gix::object::Kind::Commit => TargetKind::Commit,
                gix::object::Kind::Tag => TargetKind::Tag,
                gix::object::Kind::Tree => TargetKind::Tree,
                gix::object::Kind::Blob => TargetKind::Blob,
            };
            let first_kind = *first.get_or_insert(this);
            match kind {
                gix::object::Kind::Commit => return Ok((first_kind, Some(Oid::from(current)))),
                gix::object::Kind::Tag => {
                    let tag = pushguard_fsck::check_tag(&data, self.fsck_hash()).map_err(|e| {
                        RepoError::Malformed {
                            id: current.to_string(),
                            context: "annotated tag".into(),
                            message: e.to_string(),
                        }
                    })?;
                    current = ObjectId::from_hex(tag.object.as_bytes()).map_err(|e| {
                        RepoError::Malformed {
                            id: current.to_string(),
                            context: "annotated tag".into(),
                            message: format!("malformed tag: bad object id: {e}"),
                        }
                    })?;
                }
                _ => return Ok((first_kind, None)),
            }
        }
        Err(RepoError::Object {
            id: id.to_string(),
            context: "annotated tag".into(),
            message: "more than 16 nested tags".into(),
        })
    }

    /// The `tag` header of an annotated tag object (the name it was made for); None when `id`
    /// is not a tag.
    pub fn tag_name(&self, id: &Oid) -> Result<Option<String>, RepoError> {
        let oid = self.oid(id)?;
        let (kind, data) = self.read(oid, "tag")?;
        if kind != gix::object::Kind::Tag {
            return Ok(None);
        }
        let tag = pushguard_fsck::check_tag(&data, self.fsck_hash()).map_err(|e| {
            RepoError::Malformed {
                id: id.to_string(),
                context: "annotated tag".into(),
                message: e.to_string(),
            }
        })?;
        Ok(Some(String::from_utf8_lossy(tag.name).into_owned()))
    }

    /// Every ref of the repository (as it is before this push) with the commit it peels to.
    /// Refs that do not lead to a commit are left out.
    pub fn ref_tips(&self) -> Result<Vec<(String, Oid)>, RepoError> {
        let platform = self
            .repo
            .references()
            .map_err(|e| RepoError::Refs(e.to_string()))?;
        let iter = platform.all().map_err(|e| RepoError::Refs(e.to_string()))?;
        let mut out = Vec::new();
        for r in iter {
            let r = r.map_err(|e| RepoError::Refs(e.to_string()))?;
            let name = r.name().as_bstr().to_string();
            let Some(id) = r.target().try_id().map(|id| id.to_owned()) else {
                continue; // symbolic refs (HEAD) point at refs listed on their own
            };
            if let Ok((_, Some(commit))) = self.target(&Oid::from(id)) {
                out.push((name, commit));
            }
        }
        Ok(out)
    }

    /// The id a ref of the repository (before this push) points at, following symbolic refs;
    /// None when there is no such ref.
    pub fn ref_tip(&self, name: &str) -> Result<Option<Oid>, RepoError> {
        match self.repo.try_find_reference(name) {
            Ok(Some(mut r)) => r
                .peel_to_id()
                .map(|id| Some(Oid::from(id.detach())))
                .map_err(|e| RepoError::Refs(format!("{name}: {e}"))),
            Ok(None) => Ok(None),
            Err(e) => Err(RepoError::Refs(format!("{name}: {e}"))),
        }
    }

    /// The ref a symbolic ref of the repository points at (`refs/heads/master` →
    /// `refs/heads/main`); None for a direct ref or no ref.
    pub fn symbolic_target(&self, name: &str) -> Result<Option<String>, RepoError> {
        match self.repo.try_find_reference(name) {
            Ok(Some(r)) => Ok(match r.target() {
                gix::refs::TargetRef::Symbolic(target) => Some(target.as_bstr().to_string()),
                gix::refs::TargetRef::Object(_) => None,
            }),
            Ok(None) => Ok(None),
            Err(e) => Err(RepoError::Refs(format!("{name}: {e}"))),
        }
    }

    /// Any object's bytes (a tag to verify).
    pub fn raw(&self, id: &Oid) -> Result<Vec<u8>, RepoError> {
        let oid = self.oid(id)?;
        self.read(oid, "object").map(|(_, data)| data)
    }

    /// Reads one commit: its facts, and the raw object for signature checks (read once).
    pub fn commit_and_raw(&self, id: &Oid) -> Result<(CommitFacts, Vec<u8>), RepoError> {
        let oid = self.oid(id)?;
        let (kind, data) = self.read(oid, "commit")?;
        if kind != gix::object::Kind::Commit {
            return Err(RepoError::WrongKind {
                id: id.to_string(),
                found: kind.to_string(),
                expected: "commit",
            });
        }
        self.commit_from_raw(id, data)
    }

    /// A commit's facts from its object bytes (already read, e.g. by the walk).
    pub fn commit_from_raw(
        &self,
        id: &Oid,
        data: Vec<u8>,
    ) -> Result<(CommitFacts, Vec<u8>), RepoError> {
        let malformed = |m: String| RepoError::Malformed {
            id: id.to_string(),
            context: "commit".into(),
            message: m,
        };
        // The facts are exactly what git's fsck rules validated: one tree, one author, one
        // committer, no header we do not understand (`pushguard-fsck`).
        let facts = {
            let c = pushguard_fsck::check_commit(&data, self.fsck_hash())
                .map_err(|e| malformed(e.to_string()))?;
            let person = |p: &pushguard_fsck::Ident<'_>, what: &str| -> Result<Person, RepoError> {
                let email = std::str::from_utf8(p.email).map_err(|_| {
                    malformed(format!(
                        "malformed commit: the {what} email {} is not UTF-8",
                        pushguard_fsck::escape(p.email)
                    ))
                })?;
                Ok(Person {
                    name: String::from_utf8_lossy(p.name).into_owned(),
                    email: email.to_string(),
                    time: p.time,
                })
            };
            let author = person(&c.author, "author")?;
            let committer = person(&c.committer, "committer")?;
            let message = String::from_utf8_lossy(c.message).into_owned();
            let subject = message.lines().next().unwrap_or("").to_string();
            let mut parents = Vec::with_capacity(c.parents.len());
            for p in &c.parents {
                parents.push(
                    Oid::parse(p).ok_or_else(|| {
                        malformed(format!("malformed commit: bad parent id {p:?}"))
                    })?,
                );
            }
            CommitFacts {
                id: id.clone(),
                parents,
                author,
                committer,
                subject,
                message,
                changes: Vec::new(),
                signature: None,
                manifest_findings: Vec::new(),
            }
        };
        Ok((facts, data))
    }

    /// Resolves what a user typed on the command line (`pushguard check`): a full id, or a ref.
    pub fn resolve(&self, spec: &str) -> Result<Oid, RepoError> {
        if let Some(id) = Oid::parse(spec) {
            return Ok(id);
        }
        let candidates = [
            spec.to_string(),
            format!("refs/{spec}"),
            format!("refs/heads/{spec}"),
            format!("refs/tags/{spec}"),
            format!("refs/remotes/{spec}"),
        ];
        for name in candidates {
            if let Ok(Some(mut r)) = self.repo.try_find_reference(name.as_str()) {
                if let Ok(id) = r.peel_to_id() {
                    return Ok(Oid::from(id.detach()));
                }
            }
        }
        Err(RepoError::Unresolved(spec.to_string()))
    }
}

/// `max_object_bytes`, or `PUSHGUARD_MAX_OBJECT_SIZE` when that asks for less (an override
/// for tests and emergencies that can only lower the budget).
fn max_object(policy: u64) -> u64 {
    std::env::var("PUSHGUARD_MAX_OBJECT_SIZE")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(policy, |v| v.min(policy))
}

impl From<ObjectId> for Oid {
    fn from(id: ObjectId) -> Oid {
        // A hex rendering of an object id is always a valid Oid.
        Oid::parse(&id.to_hex().to_string()).unwrap_or_else(|| Oid::zero(id.kind().len_in_hex()))
    }
}

impl From<&gix::oid> for Oid {
    fn from(id: &gix::oid) -> Oid {
        Oid::from(id.to_owned())
    }
}
