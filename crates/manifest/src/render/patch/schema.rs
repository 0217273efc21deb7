//! The slice of kustomize's built-in OpenAPI (Kubernetes v1.21.2) that decides how a strategic
//! merge treats a field: which fields are lists merged by key, which kinds are cluster-scoped.

/// A resolved schema node (a field's or a list element's).
#[derive(Debug, Clone, Copy)]
pub(super) struct Schema(u16);

struct SNode {
    /// Object properties: (name, node).
    props: &'static [(&'static str, u16)],
    /// The node of a map's values (`additionalProperties`).
    additional: Option<u16>,
    /// For an array: its element node (None when the elements have no schema).
    items: Option<u16>,
    is_array: bool,
    strategy: &'static str,
    keys: &'static [&'static str],
}

include!("schema_data.rs");

impl Schema {
    /// The schema of a built-in kind, by exact apiVersion and kind.
    pub(super) fn for_type(api_version: &str, kind: &str) -> Option<Schema> {
        TYPES
            .iter()
            .find(|(a, k, _)| *a == api_version && *k == kind)
            .map(|(_, _, n)| Schema(*n))
    }

    fn node(self) -> Option<&'static SNode> {
        NODES.get(usize::from(self.0))
    }

    /// A field's schema (a map's value schema when the node is a map).
    pub(super) fn field(self, name: &str) -> Option<Schema> {
        let node = self.node()?;
        node.props
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, i)| Schema(*i))
            .or(node.additional.map(Schema))
    }

    /// The schema of a list's elements.
    pub(super) fn elements(self) -> Option<Schema> {
        let node = self.node()?;
        if !node.is_array {
            return None;
        }
        node.items.map(Schema)
    }

    /// `x-kubernetes-patch-strategy` and the merge keys (`x-kubernetes-list-map-keys`, else
    /// `x-kubernetes-patch-merge-key`).
    pub(super) fn strategy_and_keys(self) -> (&'static str, &'static [&'static str]) {
        match self.node() {
            Some(n) => (n.strategy, n.keys),
            None => ("", &[]),
        }
    }
}

/// Whether kustomize knows `kind` at `api_version` as cluster-scoped.
pub(super) fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    CLUSTER_SCOPED
        .iter()
        .any(|(a, k)| *a == api_version && *k == kind)
}
