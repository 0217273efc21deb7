//! Finding a tree's roots without reading the whole tree on every push.
//!
//! A root is defined by a file: a kustomization file (by its name), or a manifest holding a
//! Flux `Kustomization` or an Argo CD `Application` (by its content); a manifest holding a Flux
//! `ArtifactGenerator` is kept with them, for the roots that read its artifacts. Which files of a tree
//! define roots is a fact of the tree's content, so it is computed once per tree id and kept
//! (`repo::cache`, table `roots`): for each tree, how many entries it holds below it (the
//! listing budget), the paths below it that define roots, and the same count for each of its
//! direct subtrees. A push reads only the trees it changed: a changed directory is compared
//! entry by entry with the same directory in the update's base, so only the files whose blob
//! changed are read and parsed, and a subdirectory it shares with the base is answered from the
//! base directory's facts (its count and the paths below it), without a lookup of its own. A
//! tree with no base to compare with is looked up by its id.
//!
//! Whether a blob defines a controller object is decided by parsing it, as the renderer reads
//! it, not by looking for the API group's bytes: YAML and JSON spell a string with escapes
//! (`fluxcd\x2eio`, `\u002e`, an escaped line break), so a byte search is used only to skip a
//! blob that holds neither the groups nor a backslash. A blob that cannot be classified now (over
//! the size budget, or not loadable) is kept as "look again" and decided on every push with that
//! push's budgets.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use gix::ObjectId;
use pushguard_manifest::object::objects_of_shared;
use pushguard_manifest::render::{Generator, Tree};
use pushguard_manifest::yaml;
use pushguard_manifest::Limits;

use super::render::{controller_root, tree_err, Kind, Root};
use crate::hook::Oid;
use crate::repo::cache::FactStore;
use crate::repo::diff::TREE;
use crate::repo::{Repo, RepoError};

/// Most roots rendered per tree: each costs a build.
pub const MAX_ROOTS: usize = 2_000;
/// Most tree entries a tree may hold for its roots to be found.
pub const LIST_BUDGET: u64 = 500_000;
const GITLINK: u16 = 0o160000;
const SYMLINK: u16 = 0o120000;

/// What a path below a tree is to discovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// A kustomization file (any entry but a directory or gitlink, by its name).
    Kustomization = 1,
    /// A manifest that holds at least one Flux or Argo CD root object, or an `ArtifactGenerator`.
    Controller = 2,
    /// A manifest that could not be classified from its content alone (too large, or not
    /// loadable): read again on every push.
    Unknown = 3,
    /// A `.sourceignore` file (any entry by that name): what a Flux `GitRepository` artifact
    /// leaves out.
    SourceIgnore = 4,
}

impl Class {
    fn from_byte(b: u8) -> Option<Class> {
        match b {
            1 => Some(Class::Kustomization),
            2 => Some(Class::Controller),
            3 => Some(Class::Unknown),
            4 => Some(Class::SourceIgnore),
            _ => None,
        }
    }
}

/// The facts of one tree.
#[derive(Clone, Debug, Default, PartialEq)]
struct Node {
    /// Entries at and below the tree (each listing counts once per place it appears).
    count: u64,
    /// Paths below the tree, relative to it, that define roots, in tree order, with their
    /// blob.
    items: Vec<(String, Class, ObjectId)>,
    /// Each direct subtree's name and its own `count`, in tree order: with `items`, the facts
    /// of every subtree, so a push answers for a directory it left alone from its parent's
    /// facts in the update's base, without a lookup of its own.
    dirs: Vec<(String, u64)>,
}

impl Node {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.items.len() * 40);
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&(self.items.len() as u64).to_le_bytes());
        for (path, class, id) in &self.items {
            out.push(*class as u8);
            out.push(id.as_bytes().len() as u8);
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(&(path.len() as u64).to_le_bytes());
            out.extend_from_slice(path.as_bytes());
        }
        out.extend_from_slice(&(self.dirs.len() as u64).to_le_bytes());
        for (name, count) in &self.dirs {
            out.extend_from_slice(&(name.len() as u64).to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&count.to_le_bytes());
        }
        out
    }

    fn decode(mut bytes: &[u8]) -> Option<Node> {
        fn u64_of(b: &mut &[u8]) -> Option<u64> {
            let (head, rest) = b.split_first_chunk::<8>()?;
            *b = rest;
            Some(u64::from_le_bytes(*head))
        }
        let count = u64_of(&mut bytes)?;
        let n = usize::try_from(u64_of(&mut bytes)?).ok()?;
        let mut items = Vec::with_capacity(n.min(MAX_ROOTS * 4));
        for _ in 0..n {
            let (&class, rest) = bytes.split_first()?;
            bytes = rest;
            let class = Class::from_byte(class)?;
            let (&id_len, rest) = bytes.split_first()?;
            let id_len = usize::from(id_len);
            if id_len > rest.len() {
                return None;
            }
            let (id, rest) = rest.split_at(id_len);
            let id = ObjectId::try_from(id).ok()?;
            bytes = rest;
            let len = usize::try_from(u64_of(&mut bytes)?).ok()?;
            if len > bytes.len() {
                return None;
            }
            let (path, rest) = bytes.split_at(len);
            bytes = rest;
            items.push((String::from_utf8(path.to_vec()).ok()?, class, id));
        }
        let n = usize::try_from(u64_of(&mut bytes)?).ok()?;
        let mut dirs = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            let len = usize::try_from(u64_of(&mut bytes)?).ok()?;
            if len > bytes.len() {
                return None;
            }
            let (name, rest) = bytes.split_at(len);
            bytes = rest;
            let name = String::from_utf8(name.to_vec()).ok()?;
            dirs.push((name, u64_of(&mut bytes)?));
        }
        bytes.is_empty().then_some(Node { count, items, dirs })
    }

    /// The facts of the subtree `name` (a direct child), as this node holds them: its count and
    /// its items, still prefixed with `name/`.
    fn subtree<'a>(
        &'a self,
        name: &'a str,
    ) -> Option<(
        u64,
        impl Iterator<Item = &'a (String, Class, ObjectId)> + 'a,
    )> {
        let count = self
            .dirs
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .and_then(|i| self.dirs.get(i))
            .map(|(_, c)| *c)?;
        let items = self.items.iter().filter(move |(p, _, _)| {
            p.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('/'))
        });
        Some((count, items))
    }
}

pub(crate) fn is_kustomization_name(name: &str) -> bool {
    matches!(
        name,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

fn has_manifest_extension(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.ends_with(".yaml") || lower.ends_with(".yml") || lower.ends_with(".json")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether bytes may spell a Flux or Argo CD API group (or source-watcher's, for
/// `ArtifactGenerator`s): literally, or with an escape.
fn may_name_a_controller(bytes: &[u8]) -> bool {
    bytes.contains(&b'\\')
        || contains(bytes, b"kustomize.toolkit.fluxcd.io")
        || contains(bytes, b"source.extensions.fluxcd.io")
        || contains(bytes, b"source.toolkit.fluxcd.io")
        || contains(bytes, b"argoproj.io")
}

/// What one manifest file defines for rendering: roots, and `ArtifactGenerator`s (what the
/// roots whose source is an `ExternalArtifact` read).
#[derive(Default)]
pub(super) struct Found {
    pub roots: Vec<Root>,
    pub generators: Vec<Generator>,
}

impl Found {
    fn is_empty(&self) -> bool {
        self.roots.is_empty() && self.generators.is_empty()
    }
}

/// What one manifest file defines, read with this push's budgets. A file over the size
/// budget, or one that does not load, defines none here: the file rules report it.
fn controllers_in(
    repo: &Repo,
    tree: &Tree,
    path: &str,
    id: &ObjectId,
    limits: &Limits,
) -> Result<Option<Found>, RepoError> {
    let size = repo.size_of(&Oid::from(*id)).map_err(|e| e.at_path(path))?;
    if size > u64::try_from(limits.max_bytes).unwrap_or(u64::MAX) {
        return Ok(None);
    }
    let Some(bytes) = tree.read(path).map_err(tree_err)? else {
        return Ok(Some(Found::default()));
    };
    if !may_name_a_controller(&bytes) {
        return Ok(Some(Found::default()));
    }
    let (Ok(docs), _) = tree.parse_shared(&bytes, limits) else {
        return Ok(None);
    };
    let mut stats = yaml::LoadStats::default();
    let Ok(objects) = objects_of_shared(path, docs, limits, &mut stats) else {
        return Ok(None);
    };
    Ok(Some(Found {
        roots: objects
            .iter()
            .filter_map(|o| controller_root(o, *id))
            .collect(),
        generators: objects
            .iter()
            .filter(|o| {
                matches!(
                    (o.identity.group.as_str(), o.identity.kind.as_str()),
                    ("source.extensions.fluxcd.io", "ArtifactGenerator")
                        | ("source.toolkit.fluxcd.io", "GitRepository")
                )
            })
            .map(|o| Generator {
                file: path.to_string(),
                object: o.root.clone(),
            })
            .collect(),
    }))
}

/// Discovery for one push: the trees' facts, in memory and in the repository's store.
pub struct Discovery {
    store: FactStore,
    nodes: std::cell::RefCell<HashMap<ObjectId, Arc<Node>>>,
}

impl Discovery {
    pub fn new(repo: &Repo) -> Discovery {
        // `.5`: files holding an ApplicationSet with a `git` generator are listed too (`.4`:
        // `.sourceignore` files and files holding a `GitRepository`; `.3`:
        // files holding an `ArtifactGenerator`; `.2`: the facts hold each subtree's count,
        // `Node::dirs`).
        let store = FactStore::open(repo.path(), "roots.5");
        store.sweep();
        Discovery {
            store,
            nodes: Default::default(),
        }
    }

    /// A tree's facts when they are known (this push, or a former one).
    fn known(&self, id: &ObjectId) -> Option<Arc<Node>> {
        if let Some(n) = self.nodes.borrow().get(id) {
            return Some(n.clone());
        }
        let node = Arc::new(Node::decode(&self.store.get(id)?)?);
        self.nodes.borrow_mut().insert(*id, node.clone());
        Some(node)
    }

    /// A tree's facts; `hint` is the tree at the same path in the update's base, whose facts
    /// answer for every entry the two share.
    fn node(
        &self,
        cx: &Cx,
        id: ObjectId,
        path: &str,
        hint: Option<ObjectId>,
        listed: &mut u64,
    ) -> Result<Arc<Node>, RepoError> {
        if let Some(n) = self.known(&id) {
            *listed += n.count;
            cx.check(*listed, &id, path)?;
            return Ok(n);
        }
        let entries = cx.repo.tree_entries(id, path)?;
        *listed += entries.len() as u64;
        cx.check(*listed, &id, path)?;
        // The base's facts for the entries the two trees share, by name.
        let hint = hint.and_then(|h| {
            let node = self.known(&h)?;
            let entries = cx.repo.tree_entries(h, path).ok()?;
            Some((node, entries))
        });
        let hinted: HashMap<&str, Class> = hint
            .as_ref()
            .map(|(n, _)| {
                n.items
                    .iter()
                    .filter(|(p, _, _)| !p.contains('/'))
                    .map(|(p, c, _)| (p.as_str(), *c))
                    .collect()
            })
            .unwrap_or_default();
        let mut node = Node {
            count: entries.len() as u64,
            items: Vec::new(),
            dirs: Vec::new(),
        };
        for (name, &(mode, child)) in entries.iter() {
            let name = String::from_utf8_lossy(name);
            // The same entry in the base: the base's facts say what it is.
            let same_in_base = hint
                .as_ref()
                .filter(|(_, e)| e.get(name.as_bytes()) == Some(&(mode, child)));
            if mode == TREE {
                // A directory the push left alone: its facts are in its parent's, in the base.
                if let Some((count, items)) = same_in_base.and_then(|(n, _)| n.subtree(&name)) {
                    *listed += count;
                    cx.check(*listed, &child, path)?;
                    node.count += count;
                    node.items.extend(items.cloned());
                    node.dirs.push((name.to_string(), count));
                    continue;
                }
                let child_path = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}/{name}")
                };
                let child_hint = hint.as_ref().and_then(|(_, e)| {
                    e.get(name.as_bytes())
                        .filter(|(m, _)| *m == TREE)
                        .map(|(_, id)| *id)
                });
                let sub = self.node(cx, child, &child_path, child_hint, listed)?;
                node.count += sub.count;
                node.items.extend(
                    sub.items
                        .iter()
                        .map(|(p, c, id)| (format!("{name}/{p}"), *c, *id)),
                );
                node.dirs.push((name.into_owned(), sub.count));
                continue;
            }
            if mode == GITLINK {
                continue;
            }
            if is_kustomization_name(&name) {
                node.items
                    .push((name.into_owned(), Class::Kustomization, child));
                continue;
            }
            if name == pushguard_manifest::render::IGNORE_FILE {
                node.items
                    .push((name.into_owned(), Class::SourceIgnore, child));
                continue;
            }
            if mode == SYMLINK || !has_manifest_extension(&name) {
                continue;
            }
            if same_in_base.is_some() {
                if let Some(c) = hinted.get(name.as_ref()) {
                    node.items.push((name.into_owned(), *c, child));
                }
                continue;
            }
            let child_path = if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}/{name}")
            };
            let class = match controllers_in(cx.repo, cx.tree, &child_path, &child, cx.limits)? {
                Some(found) if found.is_empty() => continue,
                Some(_) => Class::Controller,
                None => Class::Unknown,
            };
            node.items.push((name.into_owned(), class, child));
        }
        let node = Arc::new(node);
        self.store.put(&id, &node.encode());
        self.nodes.borrow_mut().insert(id, node.clone());
        Ok(node)
    }

    /// The roots of `commit`'s tree, whose reads go through `tree`. `hint` is a commit whose
    /// tree shares most of this one (the update's base). With `only`, files are searched for
    /// Flux and Argo CD objects only at those paths (the caller knows the roots the other files
    /// define).
    pub fn roots(
        &self,
        repo: &Repo,
        commit: &Oid,
        hint: Option<&Oid>,
        tree: &Tree,
        limits: &Limits,
        only: Option<&BTreeSet<String>>,
    ) -> Result<Found, RepoError> {
        let top = repo.tree_of(commit)?;
        let hint = hint.and_then(|h| repo.tree_of(h).ok());
        let cx = Cx {
            repo,
            tree,
            limits,
            commit,
        };
        let mut listed = 0;
        let node = self.node(&cx, top, "", hint, &mut listed)?;
        let mut roots = Vec::new();
        let mut generators = Vec::new();
        let mut dirs_done = BTreeSet::new();
        for (path, class, id) in &node.items {
            match class {
                Class::Kustomization => {
                    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                    // kustomize refuses a directory with two kustomization files; the renderer
                    // says so.
                    if dirs_done.insert(dir.to_string()) {
                        let key =
                            format!("kustomize build {}", if dir.is_empty() { "." } else { dir });
                        roots.push(Root {
                            plain: key.clone(),
                            key,
                            path: path.clone(),
                            blob: *id,
                            kind: Kind::Kustomize {
                                dir: dir.to_string(),
                            },
                            via: None,
                        });
                    }
                }
                Class::SourceIgnore => {
                    if only.is_some_and(|only| !only.contains(path)) {
                        continue;
                    }
                    generators.push(Generator::ignore_file(path));
                }
                Class::Controller | Class::Unknown => {
                    if only.is_some_and(|only| !only.contains(path)) {
                        continue;
                    }
                    if let Some(found) = controllers_in(repo, tree, path, id, limits)? {
                        roots.extend(found.roots);
                        generators.extend(found.generators);
                    }
                }
            }
            if roots.len() > MAX_ROOTS {
                return Err(RepoError::Object {
                    id: commit.to_string(),
                    context: "tree".into(),
                    message: format!(
                        "more than {MAX_ROOTS} kustomizations, Flux Kustomizations and Argo CD Applications: too many to render"
                    ),
                });
            }
        }
        Ok(Found { roots, generators })
    }
}

/// What a walk reads with.
struct Cx<'a> {
    repo: &'a Repo,
    tree: &'a Tree<'a>,
    limits: &'a Limits,
    commit: &'a Oid,
}

impl Cx<'_> {
    fn check(&self, listed: u64, id: &ObjectId, path: &str) -> Result<(), RepoError> {
        if listed <= LIST_BUDGET {
            return Ok(());
        }
        Err(RepoError::Object {
            id: id.to_string(),
            context: format!(
                "tree {} of commit {}",
                if path.is_empty() { "." } else { path },
                self.commit
            ),
            message: format!(
                "more than {LIST_BUDGET} tree entries: too many to look for kustomizations, Flux Kustomizations and Argo CD Applications"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    #[test]
    fn facts_read_back_and_damaged_ones_do_not() {
        let node = Node {
            count: 7,
            items: vec![
                ("a/kustomization.yaml".into(), Class::Kustomization, id(1)),
                ("b/flux.yaml".into(), Class::Controller, id(2)),
                ("c/big.json".into(), Class::Unknown, id(3)),
                ("c/d/kustomization.yaml".into(), Class::Kustomization, id(4)),
                ("cc/kustomization.yaml".into(), Class::Kustomization, id(5)),
            ],
            dirs: vec![
                ("a".into(), 2),
                ("b".into(), 1),
                ("c".into(), 3),
                ("cc".into(), 1),
            ],
        };
        let bytes = node.encode();
        assert_eq!(Node::decode(&bytes), Some(node.clone()));
        // A subtree's facts, from its parent's: its count and the paths below it, and only
        // those (`cc/` is not below `c/`).
        let (count, items) = node.subtree("c").unwrap();
        assert_eq!(count, 3);
        let paths: Vec<&str> = items.map(|(p, _, _)| p.as_str()).collect();
        assert_eq!(paths, ["c/big.json", "c/d/kustomization.yaml"]);
        assert!(node.subtree("d").is_none(), "not a direct subtree");
        for cut in 0..bytes.len() {
            assert_eq!(Node::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(Node::decode(&extra), None);
        let mut bad_class = bytes.clone();
        bad_class[16] = 9;
        assert_eq!(Node::decode(&bad_class), None);
    }

    #[test]
    fn escapes_may_name_a_controller() {
        assert!(may_name_a_controller(b"apiVersion: argoproj.io/v1alpha1"));
        assert!(may_name_a_controller(
            b"apiVersion: \"kustomize.toolkit.fluxcd\\x2eio/v1\""
        ));
        assert!(!may_name_a_controller(
            b"apiVersion: apps/v1\nkind: Deployment"
        ));
    }
}
