//! Kubernetes objects out of loaded documents, and their identity.
//!
//! Identity is what the cluster uses: (API group, kind, namespace, name). The version is left
//! out (`apps/v1` and `apps/v1beta2` name the same object) and an absent namespace stays ""
//! (guessing `default` would merge objects that Flux's `targetNamespace` keeps apart).
//! `kustomization.yaml` files are recognised by name: they are not always objects with an
//! apiVersion, yet they decide what is applied.

use crate::yaml::Node;

/// (group, kind, namespace, name) — or, for kustomization files, the file path as name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identity {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// One object of one file version.
#[derive(Debug, Clone)]
pub struct Object {
    pub identity: Identity,
    pub api_version: String,
    pub path: String,
    pub root: Node,
    /// True for a kustomize `kustomization.yaml` file (recognised by its name).
    pub kustomization_file: bool,
}

impl Object {
    /// `Deployment prod/api`, or `ClusterRole admin` without a namespace.
    pub fn label(&self) -> String {
        if self.kustomization_file {
            return format!("Kustomization file {}", self.path);
        }
        if self.identity.namespace.is_empty() {
            format!("{} {}", self.identity.kind, self.identity.name)
        } else {
            format!(
                "{} {}/{}",
                self.identity.kind, self.identity.namespace, self.identity.name
            )
        }
    }

    pub fn kind(&self) -> &str {
        &self.identity.kind
    }
}

/// True when the file is a kustomize kustomization file.
pub fn is_kustomization_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    matches!(
        file,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    )
}

fn group_of(api_version: &str) -> String {
    match api_version.rsplit_once('/') {
        Some((group, _)) => group.to_string(),
        None => String::new(),
    }
}

/// Objects of one loaded file: documents with `kind` and `apiVersion`, `items` of lists
/// expanded. Documents that are not objects (Helm values, other config) are skipped.
pub fn objects_of(path: &str, docs: Vec<Node>) -> Vec<Object> {
    let mut out = Vec::new();
    if is_kustomization_path(path) {
        for doc in docs {
            out.push(Object {
                identity: Identity {
                    group: "kustomize.config.k8s.io".to_string(),
                    kind: "Kustomization".to_string(),
                    namespace: String::new(),
                    name: path.to_string(),
                },
                api_version: doc
                    .get("apiVersion")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_string(),
                path: path.to_string(),
                root: doc,
                kustomization_file: true,
            });
        }
        return out;
    }
    for doc in docs {
        push_object(path, doc, &mut out, true);
    }
    out
}

fn push_object(path: &str, doc: Node, out: &mut Vec<Object>, expand: bool) {
    let kind = doc.get("kind").and_then(Node::as_str).map(str::to_string);
    let api_version = doc
        .get("apiVersion")
        .and_then(Node::as_str)
        .map(str::to_string);
    let (Some(kind), Some(api_version)) = (kind, api_version) else {
        return;
    };
    if expand && kind.ends_with("List") {
        if let Some(items) = doc.get("items") {
            if let crate::yaml::Value::Seq(items) = items.value.clone() {
                for item in items {
                    push_object(path, item, out, false);
                }
                return;
            }
        }
    }
    let namespace = doc
        .path(&["metadata", "namespace"])
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let name = doc
        .path(&["metadata", "name"])
        .and_then(Node::as_str)
        .or_else(|| doc.path(&["metadata", "generateName"]).and_then(Node::as_str))
        .unwrap_or("")
        .to_string();
    out.push(Object {
        identity: Identity {
            group: group_of(&api_version),
            kind,
            namespace,
            name,
        },
        api_version,
        path: path.to_string(),
        root: doc,
        kustomization_file: false,
    });
}
