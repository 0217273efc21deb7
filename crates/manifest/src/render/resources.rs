//! The resource map a kustomize build works on: resources with their original and current
//! ids, and the bounded context every renderer shares (the tree, the problems found, the work
//! budget).
//!
//! kustomize keys everything by resource id (group, version, kind, namespace, name) and
//! remembers the ids a resource had before a transformer renamed it: patches without a target,
//! generator `behavior: merge`, and the name references fixed at the end all match any of
//! them. [`Res`] keeps the same history.

use std::sync::Arc;

use super::nodes::meta_str;
use super::tree::{Resolved, Tree, TreeError};
use super::RENDER_RULE;
use crate::object::{Identity, Object, Origin};
use crate::yaml::{self, Limits, Node, Value};
use crate::{ChangeKind, Finding};

/// Most resource, component and file entries followed in one render.
pub(crate) const MAX_FOLLOWED: usize = 5_000;
/// Most objects one render may produce.
pub(crate) const MAX_OBJECTS: usize = 20_000;
/// Deepest nesting of kustomizations (bases of bases, components).
pub(crate) const MAX_DEPTH: usize = 40;

/// The shared state of one render.
pub(crate) struct Ctx<'t, 'a> {
    pub tree: &'t Tree<'a>,
    pub limits: &'t Limits,
    pub problems: Vec<Finding>,
    /// Entries followed so far (against [`MAX_FOLLOWED`]).
    pub followed: usize,
    /// Nodes loaded so far (against `limits.max_commit_nodes`).
    pub nodes: usize,
    /// Kustomization directories being built, outermost first (cycles).
    pub stack: Vec<String>,
    /// Set once a budget is exhausted: everything after is skipped, once reported.
    pub exhausted: bool,
    /// Patch-target evaluations so far.
    pub selects: usize,
}

impl<'t, 'a> Ctx<'t, 'a> {
    pub fn new(tree: &'t Tree<'a>, limits: &'t Limits) -> Ctx<'t, 'a> {
        Ctx {
            tree,
            limits,
            problems: Vec::new(),
            followed: 0,
            nodes: 0,
            stack: Vec::new(),
            exhausted: false,
            selects: 0,
        }
    }

    /// Records a render problem.
    pub fn problem(&mut self, path: &str, at: &Node, message: impl Into<String>, fix: &str) {
        self.problems
            .push(problem(path, at.line, at.column, message.into(), fix));
    }

    /// Counts one followed entry; false (and one problem) once the budget is spent.
    pub fn follow(&mut self, path: &str, at: &Node) -> bool {
        if self.exhausted {
            return false;
        }
        self.followed += 1;
        if self.followed > MAX_FOLLOWED || self.stack.len() > MAX_DEPTH {
            self.exhausted = true;
            self.ctx_limit(path, at);
            return false;
        }
        true
    }

    /// A directory walk nested deeper than [`MAX_DEPTH`]: reported once, never skipped
    /// silently.
    pub fn too_deep(&mut self, path: &str, at: &Node) {
        if !self.exhausted {
            self.exhausted = true;
            self.ctx_limit(path, at);
        }
    }

    fn ctx_limit(&mut self, path: &str, at: &Node) {
        self.problems.push(Finding {
            rule: "manifest-limits".to_string(),
            path: path.to_string(),
            line: at.line,
            column: at.column,
            object: None,
            container: None,
            message: format!(
                "rendering this root follows more than {MAX_FOLLOWED} entries or nests more than {MAX_DEPTH} kustomizations (limit)"
            ),
            fix: "split the root; pushguard refuses what it cannot render cheaply".to_string(),
            change: ChangeKind::Added,
            signable: false,
        });
    }

    /// Reads a file's bytes, following symlinks; a problem (and None) for what is not a
    /// regular file inside the repository.
    pub fn read_file(
        &mut self,
        path: &str,
        from: &str,
        at: &Node,
    ) -> Result<Option<Arc<Vec<u8>>>, TreeError> {
        match self.tree.resolve(path)? {
            Resolved::File(_) => self.tree.read(path),
            other => {
                self.unreachable(&other, path, from, at);
                Ok(None)
            }
        }
    }

    /// A problem for a path that does not lead to what was expected.
    pub fn unreachable(&mut self, resolved: &Resolved, path: &str, from: &str, at: &Node) {
        let (message, fix) = match resolved {
            Resolved::Missing => (
                format!("`{path}` does not exist in the repository"),
                "fix the path; kustomize fails on a missing file",
            ),
            Resolved::Outside { link, target } => (
                format!("`{path}` leads out of the repository (symlink `{link}` -> `{target}`)"),
                "keep everything a root reads inside the repository",
            ),
            Resolved::Loop(link) => (
                format!("`{path}`: too many symlinks (a loop at `{link}`)"),
                "remove the symlink loop",
            ),
            Resolved::Gitlink(p) => (
                format!("`{path}` is a submodule (`{p}`): its content is not in this repository"),
                "vendor the content into the repository instead of a submodule",
            ),
            Resolved::Dir(_) => (
                format!("`{path}` is a directory where a file was expected"),
                "name a file",
            ),
            Resolved::File(_) => (
                format!("`{path}` is a file where a directory was expected"),
                "name a directory holding a kustomization",
            ),
        };
        self.problem(from, at, message, fix);
    }

    /// [`Ctx::load_docs`] for what kustomize reads as manifests: values as kustomize hands
    /// them on (see [`kyaml_values`]).
    pub fn load_kyaml_docs(&mut self, path: &str, bytes: &[u8]) -> Option<Vec<Node>> {
        let mut docs = self.load_docs(path, bytes)?;
        with_source_lines(bytes, |lines| {
            for d in docs.iter_mut() {
                kyaml_values(d, lines);
            }
        });
        Some(docs)
    }

    /// Loads every document of a file, with load errors and the node budget as findings.
    pub fn load_docs(&mut self, path: &str, bytes: &[u8]) -> Option<Vec<Node>> {
        let (loaded, nodes) = self.tree.parse(bytes, self.limits);
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > self.limits.max_commit_nodes {
            if !self.exhausted {
                self.exhausted = true;
                self.problems.push(Finding {
                    rule: "manifest-limits".to_string(),
                    path: path.to_string(),
                    line: 1,
                    column: 1,
                    object: None,
                    container: None,
                    message: format!(
                        "the files this root reads hold more than {} nodes in total (limit)",
                        self.limits.max_commit_nodes
                    ),
                    fix: "split the root; pushguard refuses what it cannot render cheaply"
                        .to_string(),
                    change: ChangeKind::Added,
                    signable: false,
                });
            }
            return None;
        }
        match loaded {
            Ok(docs) => Some(docs),
            Err(e) => {
                self.problems.push(load_finding(path, &e));
                None
            }
        }
    }
}

/// Calls `f` with the lines of a file's text (a byte-order mark dropped), as the loader
/// numbers them.
pub(crate) fn with_source_lines<R>(bytes: &[u8], f: impl FnOnce(&[&str]) -> R) -> R {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    f(&source_lines(text))
}

/// The lines of a text as `str::lines` splits them (a `\r` before a `\n` dropped), found
/// with `memchr`: every manifest the renderer reads is split so.
fn source_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
        let line = text.get(start..nl).unwrap_or("");
        out.push(line.strip_suffix('\r').unwrap_or(line));
        start = nl + 1;
    }
    if let Some(rest) = text.get(start..).filter(|r| !r.is_empty()) {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod lines_tests {
    #[test]
    fn source_lines_split_as_str_lines_does() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\n",
            "a\r",
            "a\rb\n",
            "a\n\nb",
            "a\r\n\r\nb\r",
            "\r\n",
            "é\nü\r\nx",
        ] {
            let ours = super::source_lines(text);
            let std: Vec<&str> = text.lines().collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }
}

/// Values as kustomize hands them on. kustomize reads manifests with go-yaml v3 (YAML 1.2:
/// `yes`, `on`, `y` are strings, only `true`/`false` in any case are booleans), rewrites every
/// `metadata.annotations` value as a string of its text (`010` stays "010", `~` is "~"), and
/// its output goes through JSON (`1e3` is the integer 1000). The loader reads with go-yaml v2
/// rules, so the scalars are corrected here from their source text.
pub(crate) fn kyaml_values(doc: &mut Node, lines: &[&str]) {
    fix_scalars(doc, lines, 0);
    if let Some(ann) =
        super::nodes::get_mut(doc, "metadata").and_then(|m| super::nodes::get_mut(m, "annotations"))
    {
        if let Value::Map(entries) = &mut ann.value {
            for (_, v) in entries.iter_mut() {
                if matches!(v.value, Value::Str(_) | Value::Seq(_) | Value::Map(_)) {
                    continue;
                }
                let token = token_at(lines, v.line, v.column);
                let text = match (&v.value, token.as_str()) {
                    (Value::Null, "~" | "null" | "Null" | "NULL") => token.clone(),
                    (Value::Null, _) => String::new(),
                    (Value::Int(i), "") => i.to_string(),
                    _ => token.clone(),
                };
                v.value = Value::Str(text);
            }
        }
    }
}

fn fix_scalars(node: &mut Node, lines: &[&str], depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    match &mut node.value {
        Value::Bool(_) => {
            let token = token_at(lines, node.line, node.column);
            if !matches!(
                token.as_str(),
                "true" | "True" | "TRUE" | "false" | "False" | "FALSE" | ""
            ) {
                node.value = Value::Str(token);
            }
        }
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e21 => {
            node.value = Value::Int(*f as i128);
        }
        Value::Seq(items) => items
            .iter_mut()
            .for_each(|i| fix_scalars(i, lines, depth + 1)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| fix_scalars(v, lines, depth + 1)),
        _ => {}
    }
}

/// The plain-scalar text starting at a 1-based position (anchors and tags skipped).
fn token_at(lines: &[&str], line: u32, column: u32) -> String {
    let Some(text) = lines.get((line as usize).saturating_sub(1)) else {
        return String::new();
    };
    let rest: String = text
        .chars()
        .skip((column as usize).saturating_sub(1))
        .collect();
    let mut rest = rest.as_str();
    while rest.starts_with('&') || rest.starts_with('!') {
        rest = rest
            .split_once(' ')
            .map(|(_, r)| r.trim_start())
            .unwrap_or("");
    }
    let mut out = String::new();
    let mut prev = ' ';
    for c in rest.chars() {
        if matches!(c, ',' | ']' | '}') || (c == '#' && prev == ' ') {
            break;
        }
        out.push(c);
        prev = c;
    }
    out.trim_end().to_string()
}

/// A `manifest-render` finding.
pub(crate) fn problem(path: &str, line: u32, column: u32, message: String, fix: &str) -> Finding {
    Finding {
        rule: RENDER_RULE.to_string(),
        path: path.to_string(),
        line,
        column,
        object: None,
        container: None,
        message,
        fix: fix.to_string(),
        change: ChangeKind::Added,
        signable: false,
    }
}

/// A load error of a file read while rendering, as `judge` reports one.
pub(crate) fn load_finding(path: &str, e: &yaml::LoadError) -> Finding {
    let (line, column) = e.position();
    let limits_hit = e.is_limits();
    Finding {
        rule: if limits_hit {
            "manifest-limits"
        } else {
            "manifest-parse"
        }
        .to_string(),
        path: path.to_string(),
        line,
        column,
        object: None,
        container: None,
        message: e.message().to_string(),
        fix: if limits_hit {
            "split the file or remove the oversized content; pushguard refuses what it cannot judge cheaply".to_string()
        } else {
            "make the file unambiguous, valid YAML/JSON; pushguard refuses what it cannot read the way the cluster would".to_string()
        },
        change: ChangeKind::Added,
        signable: false,
    }
}

/// A kustomize resource id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ResId {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ResId {
    pub fn of(node: &Node) -> ResId {
        let api_version = node.get("apiVersion").and_then(Node::as_str).unwrap_or("");
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        ResId {
            group,
            version,
            kind: node
                .get("kind")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            namespace: meta_str(node, "namespace").to_string(),
            name: meta_str(node, "name").to_string(),
        }
    }

    /// The namespace kustomize compares: "" and `default` are the same.
    pub fn effective_namespace(&self) -> &str {
        if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// kustomize's `ResId.Equals`: same group, version, kind, name and effective namespace.
    pub fn same(&self, other: &ResId) -> bool {
        self.group == other.group
            && self.version == other.version
            && self.kind == other.kind
            && self.name == other.name
            && self.effective_namespace() == other.effective_namespace()
    }

    /// `Kind namespace/name` for messages.
    pub fn label(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Generator behaviour against an existing resource of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behavior {
    Create,
    Merge,
    Replace,
}

/// One resource of a kustomize resource map.
#[derive(Debug, Clone)]
pub(crate) struct Res {
    pub node: Node,
    /// The file the document came from (a generator's: its kustomization file).
    pub path: String,
    /// The id when first read or generated.
    pub org: ResId,
    /// Earlier (namespace, name) pairs, oldest first, not counting `org`.
    pub prev: Vec<(String, String)>,
    /// Name prefixes and suffixes applied, innermost first (kustomize uses them to pick
    /// between name-reference candidates).
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// A generated ConfigMap/Secret whose name gets the content hash at the end.
    pub needs_hash: bool,
    pub behavior: Behavior,
    /// Files whose patches or overrides changed it.
    pub changed_by: Vec<String>,
}

impl Res {
    pub fn new(node: Node, path: &str) -> Res {
        let org = ResId::of(&node);
        Res {
            node,
            path: path.to_string(),
            org,
            prev: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            changed_by: Vec::new(),
        }
    }

    pub fn cur(&self) -> ResId {
        ResId::of(&self.node)
    }

    /// Remembers `(namespace, name)` as a former name when the current one differs.
    pub fn note_former(&mut self, namespace: &str, name: &str) {
        let cur = self.cur();
        if cur.namespace == namespace && cur.name == name {
            return;
        }
        let former = (namespace.to_string(), name.to_string());
        if !self.prev.contains(&former) {
            self.prev.push(former);
        }
    }

    /// Every id the resource had: original, former, current (kustomize's "any id").
    pub fn any_id_matches(&self, id: &ResId) -> bool {
        let cur = self.cur();
        if cur.same(id) || self.org.same(id) {
            return true;
        }
        self.prev.iter().any(|(ns, name)| {
            ResId {
                namespace: ns.clone(),
                name: name.clone(),
                ..cur.clone()
            }
            .same(id)
        })
    }

    /// Every name the resource had, original first.
    pub fn names(&self) -> Vec<String> {
        let mut out = vec![self.org.name.clone()];
        for (_, n) in &self.prev {
            if !out.contains(n) {
                out.push(n.clone());
            }
        }
        out
    }

    pub fn changed(&mut self, by: &str) {
        if !self.changed_by.iter().any(|b| b == by) {
            self.changed_by.push(by.to_string());
        }
    }

    /// The annotation `config.kubernetes.io/local-config: "true"`.
    pub fn is_local_config(&self) -> bool {
        self.node
            .path(&[
                "metadata",
                "annotations",
                "config.kubernetes.io/local-config",
            ])
            .and_then(Node::as_str)
            == Some("true")
    }

    pub fn into_object(self, root: &Arc<Origin>) -> Object {
        let id = self.cur();
        let api_version = self
            .node
            .get("apiVersion")
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string();
        let origin = if self.changed_by.is_empty() {
            root.clone()
        } else {
            Arc::new(Origin {
                root: root.root.clone(),
                changed_by: self.changed_by,
            })
        };
        Object {
            identity: Identity {
                group: id.group,
                kind: id.kind,
                namespace: id.namespace,
                name: id.name,
            },
            api_version,
            path: self.path,
            root: Arc::new(self.node),
            kustomization_file: false,
            patch: None,
            origin: Some(origin),
        }
    }
}

/// Objects of one resource file: each document, `items` of lists expanded, as kustomize
/// reads them. Documents that are not objects are problems (kustomize fails on them).
pub(crate) fn resources_of(ctx: &mut Ctx<'_, '_>, path: &str, docs: Vec<Node>) -> Vec<Res> {
    let mut out = Vec::new();
    for doc in docs {
        let is_list = doc
            .get("kind")
            .and_then(Node::as_str)
            .is_some_and(|k| k.ends_with("List"))
            && matches!(doc.get("items").map(|n| &n.value), Some(Value::Seq(_)));
        if is_list {
            let Value::Map(entries) = doc.value else {
                continue;
            };
            for (k, v) in entries {
                if k.name != "items" {
                    continue;
                }
                if let Value::Seq(items) = v.value {
                    for item in items {
                        push_resource(ctx, path, item, &mut out);
                    }
                }
            }
        } else {
            push_resource(ctx, path, doc, &mut out);
        }
    }
    out
}

fn push_resource(ctx: &mut Ctx<'_, '_>, path: &str, doc: Node, out: &mut Vec<Res>) {
    if !matches!(doc.value, Value::Map(_)) {
        ctx.problem(
            path,
            &doc,
            "a document that is not a mapping: kustomize cannot read it as a resource",
            "keep only Kubernetes objects in resource files",
        );
        return;
    }
    let kind = doc.get("kind").and_then(Node::as_str).unwrap_or("");
    let name = meta_str(&doc, "name");
    if kind.is_empty() || name.is_empty() {
        ctx.problem(
            path,
            &doc,
            "a document without `kind` or `metadata.name`: kustomize fails on it",
            "give every resource a kind and a name",
        );
        return;
    }
    out.push(Res::new(doc, path));
}

/// The key two resources conflict on (kustomize's `ResId.Equals`).
pub(crate) type IdKey = (String, String, String, String, String);

pub(crate) fn id_key(id: &ResId) -> IdKey {
    (
        id.group.clone(),
        id.version.clone(),
        id.kind.clone(),
        id.effective_namespace().to_string(),
        id.name.clone(),
    )
}

/// Appends resources, reporting id conflicts as kustomize does (it fails the build; here both
/// are kept, so both are judged). `seen` holds the ids of `acc` (the caller builds it once).
pub(crate) fn append_all(
    ctx: &mut Ctx<'_, '_>,
    acc: &mut Vec<Res>,
    seen: &mut std::collections::HashSet<IdKey>,
    more: Vec<Res>,
    from: &str,
    at: &Node,
) {
    for r in more {
        if acc.len() >= MAX_OBJECTS {
            if !ctx.exhausted {
                ctx.exhausted = true;
                ctx.problems.push(Finding {
                    rule: "manifest-limits".to_string(),
                    path: from.to_string(),
                    line: at.line,
                    column: at.column,
                    object: None,
                    container: None,
                    message: format!("this root renders more than {MAX_OBJECTS} objects (limit)"),
                    fix: "split the root".to_string(),
                    change: ChangeKind::Added,
                    signable: false,
                });
            }
            return;
        }
        let id = r.cur();
        if !seen.insert(id_key(&id)) {
            ctx.problem(
                from,
                at,
                format!(
                    "{} is included twice (from `{}`): kustomize refuses a resource id it already holds",
                    id.label(),
                    r.path
                ),
                "include each resource once",
            );
        }
        acc.push(r);
    }
}
