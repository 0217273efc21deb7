//! Small editing helpers over [`Node`] trees, shared by the renderers.
//!
//! The loader's `Node` is read-only by design; rendering edits objects (names, namespaces,
//! labels, images). These helpers create, look up and replace mapping entries without ever
//! panicking on a shape the pusher chose (a sequence where a mapping was expected is left
//! alone, and the caller decides whether that is a problem).

use crate::yaml::{Key, Node, Value};

/// A string node at a position (positions of created nodes point at what created them).
pub(crate) fn str_node(s: &str, line: u32, column: u32) -> Node {
    Node {
        value: Value::Str(s.to_string()),
        line,
        column,
    }
}

/// An empty mapping at a position.
pub(crate) fn map_node(line: u32, column: u32) -> Node {
    Node {
        value: Value::Map(Vec::new()),
        line,
        column,
    }
}

/// The value under `key`, mutable.
pub(crate) fn get_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Map(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v),
        _ => None,
    }
}

/// The value under `key`, created as `make()` when missing (a null node becomes a mapping
/// first). None when `node` is neither a mapping nor null.
pub(crate) fn entry<'a>(
    node: &'a mut Node,
    key: &str,
    make: impl FnOnce() -> Node,
) -> Option<&'a mut Node> {
    if node.is_null() {
        node.value = Value::Map(Vec::new());
    }
    let (line, column) = (node.line, node.column);
    let Value::Map(entries) = &mut node.value else {
        return None;
    };
    let pos = match entries.iter().position(|(k, _)| k.name == key) {
        Some(p) => p,
        None => {
            entries.push((
                Key {
                    name: key.to_string(),
                    line,
                    column,
                },
                make(),
            ));
            entries.len() - 1
        }
    };
    entries.get_mut(pos).map(|(_, v)| v)
}

/// Sets `key` to `value` in a mapping (or a null node, which becomes one).
pub(crate) fn set(node: &mut Node, key: &str, value: Node) {
    if let Some(slot) = entry(node, key, || value.clone()) {
        *slot = value;
    }
}

/// Removes `key` from a mapping, returning its value.
pub(crate) fn remove(node: &mut Node, key: &str) -> Option<Node> {
    let Value::Map(entries) = &mut node.value else {
        return None;
    };
    let pos = entries.iter().position(|(k, _)| k.name == key)?;
    Some(entries.remove(pos).1)
}

/// `metadata.<field>` as a string ("" when absent).
pub(crate) fn meta_str<'a>(node: &'a Node, field: &str) -> &'a str {
    node.path(&["metadata", field])
        .and_then(Node::as_str)
        .unwrap_or("")
}

/// Sets `metadata.<field>` to a string, creating `metadata` when missing.
pub(crate) fn set_meta_str(node: &mut Node, field: &str, value: &str) {
    let (line, column) = (node.line, node.column);
    if let Some(meta) = entry(node, "metadata", || map_node(line, column)) {
        let (l, c) = get_mut(meta, field)
            .map(|n| (n.line, n.column))
            .unwrap_or((line, column));
        set(meta, field, str_node(value, l, c));
    }
}

/// The string entries of a mapping (labels, annotations); non-string values are skipped.
pub(crate) fn string_map(node: Option<&Node>) -> Vec<(String, String)> {
    node.map(Node::as_map)
        .unwrap_or(&[])
        .iter()
        .filter_map(|(k, v)| scalar_text(v).map(|s| (k.name.clone(), s)))
        .collect()
}

/// A scalar as the text a Go `map[string]string` would hold after YAML decoding (kustomize
/// reads `commonLabels: {a: 1}` as "1"). None for collections and null.
pub(crate) fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Null | Value::Seq(_) | Value::Map(_) => None,
    }
}

/// The strings of a sequence of strings; the entries that are not strings come back apart so
/// the caller can report them.
pub(crate) fn str_list(node: Option<&Node>) -> (Vec<(&str, &Node)>, Vec<&Node>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for item in node.map(Node::as_seq).unwrap_or(&[]) {
        match item.as_str() {
            Some(s) => ok.push((s, item)),
            None => bad.push(item),
        }
    }
    (ok, bad)
}
