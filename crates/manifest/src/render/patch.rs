//! kustomize's `patches`, applied to loaded values the way kustomize v5 applies them.
//!
//! A kustomization can rewrite any object it renders: a strategic-merge patch can add
//! `privileged: true` to one container by name, a JSON 6902 patch can flip `hostNetwork`, a
//! selector can aim either at every Deployment in the tree. pushguard judges what the cluster
//! gets, so it must apply those patches exactly as `kustomize build` does — including kustomize's
//! surprises (a strategic-merge patch moves the containers it names to the front of the list; an
//! element-level `$patch: replace` leaves the element as it was; a list in a custom resource is
//! replaced whole) — or refuse with a [`PatchError`] when it cannot be sure.
//!
//! What is modelled, and where from:
//! - [`strategic_merge`]: kyaml's `merge2` walker as `api/filters/patchstrategicmerge` drives it
//!   (lists grow at the front), then `Resource.ApplySmPatch` (name, kind and namespace restored).
//!   Lists merge by key only where kustomize's built-in OpenAPI (Kubernetes v1.21.2) gives the
//!   field `x-kubernetes-patch-strategy: merge`; everything else, every list of an unknown kind
//!   included, is replaced.
//! - [`json6902`]: `gopkg.in/evanphx/json-patch.v4`, the library kustomize applies them with.
//! - [`selects`] and [`smp_matches`]: `types.SelectorRegex`, the label-selector parser kyaml
//!   copied from apimachinery, and `ResId.Equals`.
//!
//! Values a patch adds keep the patch's positions, so a finding on them points into the patch
//! file; which file changed an object is for the caller to record (`object::Origin`). The input
//! is hostile: recursion is capped at [`MAX_DEPTH_CAP`], lists and copies are capped, and
//! selector regexes are compiled with a size limit.

mod schema;

use std::collections::HashMap;

use regex::RegexBuilder;

use crate::yaml::{Key, Node, Value, MAX_DEPTH_CAP};

use schema::Schema;

/// Why a patch could not be applied (or a selector not evaluated), at the position in the
/// patch (or the target) that decided it. kustomize fails the build in every such case, or
/// pushguard cannot be sure what kustomize would produce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct PatchError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

fn err_at(node: &Node, message: impl Into<String>) -> PatchError {
    PatchError {
        line: node.line,
        column: node.column,
        message: message.into(),
    }
}

/// Most elements of one list that a strategic merge matches up by key (both sides counted).
pub const MAX_MERGE_LIST: usize = 10_000;
/// Most nodes that JSON 6902 `copy` operations may create in one call.
pub const MAX_COPY_NODES: usize = 200_000;
/// Most operations in one JSON 6902 patch.
pub const MAX_OPERATIONS: usize = 10_000;
/// Size limit of one compiled selector regex, in bytes of compiled program.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// kustomize's build annotations that let a patch change a name or kind (set by a patch's
/// `options.allowNameChange`/`allowKindChange`, or written into the patch; removed from the
/// output).
pub const ALLOW_NAME_CHANGE: &str = "internal.config.kubernetes.io/allowNameChange";
pub const ALLOW_KIND_CHANGE: &str = "internal.config.kubernetes.io/allowKindChange";

// ---------------------------------------------------------------------------------------------
// Strategic merge
// ---------------------------------------------------------------------------------------------

/// kustomize's strategic merge patch: `target` is an object (its schema is known from its
/// apiVersion and kind), `patch` a partial object.
///
/// Maps merge, `null` deletes a key, scalars and lists without a merge strategy are replaced,
/// lists with one (containers by `name`, ports by `containerPort`+`protocol`, ...) merge by key
/// with the patch's elements first. `$patch: delete|replace|merge` is honoured in maps and as a
/// lone list element, as kyaml honours it (an element's `$patch: replace` keeps the target's
/// element, as kustomize does). `$retainKeys`, `$deleteFromPrimitiveList/…`,
/// `$setElementOrder/…` are refused: kustomize would copy them into the object as fields.
///
/// Afterwards the target's kind, name and namespace are restored (kind and name stay changed
/// only when the patch carries kustomize's allow-kind/name-change annotation). When the patch
/// deletes the whole object (`$patch: delete` at the top, or every field), `target` becomes
/// [`Value::Null`]: the caller drops the object.
pub fn strategic_merge(target: &mut Node, patch: &Node) -> Result<(), PatchError> {
    if !matches!(target.value, Value::Map(_)) {
        return Err(err_at(target, "the patch target is not an object"));
    }
    if !matches!(patch.value, Value::Map(_)) {
        return Err(err_at(patch, "a strategic-merge patch must be a mapping"));
    }
    let kind = target.get("kind").cloned();
    let name = target.path(&["metadata", "name"]).cloned();
    let namespace = target.path(&["metadata", "namespace"]).cloned();
    let allow_name = annotation_enabled(patch, ALLOW_NAME_CHANGE);
    let allow_kind = annotation_enabled(patch, ALLOW_KIND_CHANGE);

    // kustomize sets the patch's apiVersion to the target's before merging
    // (`resWrangler.ApplySmPatch`), so the apiVersion never changes.
    let mut patch = patch.clone();
    if let Some(api_version) = target.get("apiVersion") {
        set_field(&mut patch, "apiVersion", api_version.clone());
    }

    let dest = std::mem::replace(
        target,
        Node {
            value: Value::Null,
            line: target.line,
            column: target.column,
        },
    );
    let merged = walk(Some(dest), Some(&patch), None, 0)?;
    let mut merged = match merged {
        Some(node) if !is_empty_map(&node) && !node.is_null() => node,
        Some(node) => {
            *target = Node {
                value: Value::Null,
                line: node.line,
                column: node.column,
            };
            return Ok(());
        }
        None => {
            *target = Node {
                value: Value::Null,
                line: patch.line,
                column: patch.column,
            };
            return Ok(());
        }
    };
    if !allow_kind {
        restore(&mut merged, &["kind"], kind);
    }
    if !allow_name {
        restore(&mut merged, &["metadata", "name"], name);
    }
    restore(&mut merged, &["metadata", "namespace"], namespace);
    strip_build_annotations(&mut merged);
    *target = merged;
    Ok(())
}

fn annotation_enabled(node: &Node, key: &str) -> bool {
    node.path(&["metadata", "annotations", key])
        .and_then(Node::as_str)
        == Some("enabled")
}

/// Puts back `value` at `path` (or removes the field when there was none).
fn restore(node: &mut Node, path: &[&str], value: Option<Node>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = node;
    for key in parents {
        let Value::Map(entries) = &mut cur.value else {
            return;
        };
        match entries.iter().position(|(k, _)| k.name == *key) {
            Some(i) => cur = &mut entries[i].1,
            None => {
                if value.is_none() {
                    return;
                }
                let line = cur.line;
                let column = cur.column;
                entries.push((
                    Key {
                        name: (*key).to_string(),
                        line,
                        column,
                    },
                    Node {
                        value: Value::Map(Vec::new()),
                        line,
                        column,
                    },
                ));
                let n = entries.len() - 1;
                cur = &mut entries[n].1;
            }
        }
    }
    match value {
        Some(v) => {
            if !matches!(cur.value, Value::Map(_)) {
                cur.value = Value::Map(Vec::new());
            }
            set_field(cur, last, v);
        }
        None => remove_field(cur, last),
    }
}

fn strip_build_annotations(node: &mut Node) {
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    let Some((_, meta)) = entries.iter_mut().find(|(k, _)| k.name == "metadata") else {
        return;
    };
    let Value::Map(meta_entries) = &mut meta.value else {
        return;
    };
    let Some(ai) = meta_entries
        .iter()
        .position(|(k, _)| k.name == "annotations")
    else {
        return;
    };
    if let Value::Map(ann) = &mut meta_entries[ai].1.value {
        ann.retain(|(k, _)| k.name != ALLOW_NAME_CHANGE && k.name != ALLOW_KIND_CHANGE);
        if ann.is_empty() {
            meta_entries.remove(ai);
        }
    }
}

fn set_field(node: &mut Node, name: &str, value: Node) {
    if let Value::Map(entries) = &mut node.value {
        if let Some(entry) = entries.iter_mut().find(|(k, _)| k.name == name) {
            entry.1 = value;
        } else {
            entries.push((
                Key {
                    name: name.to_string(),
                    line: value.line,
                    column: value.column,
                },
                value,
            ));
        }
    }
}

fn remove_field(node: &mut Node, name: &str) {
    if let Value::Map(entries) = &mut node.value {
        entries.retain(|(k, _)| k.name != name);
    }
}

fn is_empty_map(node: &Node) -> bool {
    matches!(&node.value, Value::Map(e) if e.is_empty())
}

fn is_missing_or_null(node: Option<&Node>) -> bool {
    node.is_none_or(Node::is_null)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Map,
    Seq,
    Scalar,
}

fn kind_of(node: &Node) -> NodeKind {
    match node.value {
        Value::Map(_) => NodeKind::Map,
        Value::Seq(_) => NodeKind::Seq,
        _ => NodeKind::Scalar,
    }
}

fn kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Map => "a mapping",
        NodeKind::Seq => "a list",
        NodeKind::Scalar => "a scalar",
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

const DIRECTIVE_KEY: &str = "$patch";

/// Reads (and removes) a map's `$patch` directive. An unknown value is an error, as in kyaml.
fn map_directive(patch: &mut Node) -> Result<Directive, PatchError> {
    let Some(value) = patch.get(DIRECTIVE_KEY) else {
        return Ok(Directive::Merge);
    };
    let directive = parse_directive(value)?;
    remove_field(patch, DIRECTIVE_KEY);
    Ok(directive)
}

fn parse_directive(value: &Node) -> Result<Directive, PatchError> {
    match value.as_str() {
        Some("merge") => Ok(Directive::Merge),
        Some("replace") => Ok(Directive::Replace),
        Some("delete") => Ok(Directive::Delete),
        _ => Err(err_at(
            value,
            format!("unknown patch strategy '{}'", value.display()),
        )),
    }
}

/// A list's directive: kyaml looks at the first element that has a `$patch` field, and takes
/// it as the list's directive only when that is its only field; the directive element is then
/// removed.
fn list_directive(patch: &mut Node) -> Result<Directive, PatchError> {
    let Value::Seq(items) = &mut patch.value else {
        return Ok(Directive::Merge);
    };
    let Some(first) = items.iter().find(|item| item.get(DIRECTIVE_KEY).is_some()) else {
        return Ok(Directive::Merge);
    };
    if first.as_map().len() > 1 {
        return Ok(Directive::Merge);
    }
    let Some(value) = first.get(DIRECTIVE_KEY) else {
        return Ok(Directive::Merge);
    };
    let directive = parse_directive(value)?;
    let text = value.as_str().unwrap_or_default().to_string();
    // kyaml removes every element whose `$patch` equals the directive (an ElementSetter
    // deletion, which also drops null and empty-map elements).
    element_setter(items, None, &[DIRECTIVE_KEY.to_string()], &[text]);
    Ok(directive)
}

/// Refuses the apimachinery directives kyaml does not know (it would copy them into the object
/// as ordinary fields, which the API server then rejects or drops: pushguard cannot tell).
fn refuse_unknown_directives(patch: &Node) -> Result<(), PatchError> {
    for (key, _) in patch.as_map() {
        let name = key.name.as_str();
        if name == "$retainKeys"
            || name.starts_with("$deleteFromPrimitiveList/")
            || name.starts_with("$setElementOrder/")
        {
            return Err(PatchError {
                line: key.line,
                column: key.column,
                message: format!(
                    "strategic-merge directive '{name}' is not applied by kustomize (it would \
                     be copied into the object); refused"
                ),
            });
        }
    }
    Ok(())
}

fn depth_check(depth: usize, at: &Node) -> Result<(), PatchError> {
    if depth >= MAX_DEPTH_CAP {
        return Err(err_at(at, "patch nesting too deep"));
    }
    Ok(())
}

/// One step of kyaml's walker over the sources (dest, patch). `None` is a missing field;
/// the result `None` means the field is cleared.
fn walk(
    dest: Option<Node>,
    patch: Option<&Node>,
    schema: Option<Schema>,
    depth: usize,
) -> Result<Option<Node>, PatchError> {
    if let Some(at) = patch.or(dest.as_ref()) {
        depth_check(depth, at)?;
    }
    let schema = schema.or_else(|| {
        [dest.as_ref(), patch]
            .into_iter()
            .flatten()
            .find_map(schema_of_object)
    });
    // The node kind is that of the first source that is neither missing nor null; every other
    // non-null source must have the same kind.
    let kind = [dest.as_ref(), patch]
        .into_iter()
        .flatten()
        .find(|n| !n.is_null())
        .map(kind_of);
    if let Some(kind) = kind {
        for source in [dest.as_ref(), patch].into_iter().flatten() {
            if !source.is_null() && kind_of(source) != kind {
                return Err(err_at(
                    source,
                    format!(
                        "wrong node kind: expected {} but got {}",
                        kind_name(kind),
                        kind_name(kind_of(source))
                    ),
                ));
            }
        }
    }
    match kind {
        None => walk_null(dest, patch),
        Some(NodeKind::Map) => walk_map(dest, patch, schema, depth),
        Some(NodeKind::Seq) => walk_seq(dest, patch, schema, depth),
        Some(NodeKind::Scalar) => Ok(match patch {
            Some(p) if p.is_null() => None,
            Some(p) => Some(p.clone()),
            None => dest,
        }),
    }
}

/// Every source missing or null: a null in the patch clears the field, a null in the target
/// stays when the patch does not mention it.
fn walk_null(dest: Option<Node>, patch: Option<&Node>) -> Result<Option<Node>, PatchError> {
    match patch {
        Some(_) => Ok(None),
        None => Ok(dest),
    }
}

fn schema_of_object(node: &Node) -> Option<Schema> {
    let api_version = node.get("apiVersion")?.as_str()?;
    let kind = node.get("kind")?.as_str()?;
    if api_version.is_empty() || kind.is_empty() {
        return None;
    }
    if let Some(meta) = node.get("metadata") {
        if !matches!(meta.value, Value::Map(_) | Value::Null) {
            return None;
        }
    }
    Schema::for_type(api_version, kind)
}

fn walk_map(
    dest: Option<Node>,
    patch: Option<&Node>,
    schema: Option<Schema>,
    depth: usize,
) -> Result<Option<Node>, PatchError> {
    let mut patch = patch.cloned();
    if let Some(p) = &patch {
        if matches!(p.value, Value::Map(_)) {
            refuse_unknown_directives(p)?;
        }
    }
    // The node the fields are merged into, and the patch merged into it.
    let Some(p) = patch.as_mut() else {
        return Ok(dest);
    };
    if p.is_null() {
        return Ok(None);
    }
    let dest_missing = is_missing_or_null(dest.as_ref());
    let directive = map_directive(p)?;
    let (mut base, patch) = match (directive, dest) {
        (Directive::Delete, _) => return Ok(None),
        (Directive::Merge, Some(d)) if !dest_missing => (d, p.clone()),
        // Replaced, or added: the patch merged with itself (its nested directives applied).
        _ => (p.clone(), p.clone()),
    };
    let Value::Map(patch_entries) = patch.value else {
        return Ok(Some(base));
    };
    for (key, pvalue) in patch_entries {
        let field_schema = schema.and_then(|s| s.field(&key.name));
        let Value::Map(entries) = &mut base.value else {
            break;
        };
        let pos = entries.iter().position(|(k, _)| k.name == key.name);
        let dvalue = pos.map(|i| {
            std::mem::replace(
                &mut entries[i].1,
                Node {
                    value: Value::Null,
                    line: 0,
                    column: 0,
                },
            )
        });
        let merged = walk(dvalue, Some(&pvalue), field_schema, depth + 1)?;
        let Value::Map(entries) = &mut base.value else {
            break;
        };
        match (pos, merged) {
            (Some(i), Some(v)) => entries[i].1 = v,
            (Some(i), None) => {
                entries.remove(i);
            }
            (None, Some(v)) => entries.push((key, v)),
            (None, None) => {}
        }
    }
    Ok(Some(base))
}

/// What a list element's merge left behind in kyaml's aliasing terms.
enum ElementMerge {
    /// The element is gone (deleted, or merged to nothing).
    Cleared,
    /// The target's element was merged in place: it is now this value.
    InPlace(Node),
    /// The patch's element (a new one, or a `$patch: replace`): the target's stays as it was.
    FromPatch(Node),
}

fn walk_seq(
    dest: Option<Node>,
    patch: Option<&Node>,
    schema: Option<Schema>,
    depth: usize,
) -> Result<Option<Node>, PatchError> {
    let strategy = schema.map(|s| s.strategy_and_keys());
    let associative = strategy
        .as_ref()
        .is_some_and(|(strategy, _)| strategy.split(',').any(|s| s == "merge"));
    if !associative {
        // Replaced whole, without looking inside (a `$patch` in it stays literal).
        return Ok(match patch {
            Some(p) if p.is_null() => None,
            Some(p) => Some(p.clone()),
            None => dest,
        });
    }
    let keys: Vec<String> = strategy
        .map(|(_, keys)| keys.iter().map(|k| k.to_string()).collect())
        .unwrap_or_default();
    let elem_schema = schema.and_then(Schema::elements);

    let mut patch = match patch {
        None => return Ok(dest),
        Some(p) if p.is_null() => return Ok(None),
        Some(p) => p.clone(),
    };
    let (dest_list, patch_list) = if is_missing_or_null(dest.as_ref()) {
        // kyaml takes the patch as the list and merges it with itself (its directive element,
        // if any, is not interpreted then).
        if patch
            .as_seq()
            .iter()
            .any(|item| item.get(DIRECTIVE_KEY).is_some() && item.as_map().len() == 1)
        {
            return Err(err_at(
                &patch,
                "a list-level $patch directive on a list the target does not have is refused \
                 (kustomize keeps it as an element)",
            ));
        }
        (patch.clone(), patch)
    } else {
        let Some(dest) = dest else {
            return Ok(None);
        };
        match list_directive(&mut patch)? {
            Directive::Delete => return Ok(None),
            Directive::Replace => (patch.clone(), patch),
            Directive::Merge => (dest, patch),
        }
    };
    let line = dest_list.line;
    let column = dest_list.column;
    let Value::Seq(dest_items) = dest_list.value else {
        return Ok(Some(dest_list));
    };
    let Value::Seq(patch_items) = patch_list.value else {
        return Ok(None);
    };
    if dest_items.len() + patch_items.len() > MAX_MERGE_LIST {
        return Err(PatchError {
            line,
            column,
            message: format!("list too long to merge (more than {MAX_MERGE_LIST} elements)"),
        });
    }
    let merged = if keys.is_empty() {
        merge_primitive_list(dest_items, &patch_items)?
    } else {
        merge_keyed_list(dest_items, &patch_items, &keys, elem_schema, depth)?
    };
    Ok(Some(Node {
        value: Value::Seq(merged),
        line,
        column,
    }))
}

/// The text kyaml compares a merge key or list value by (the YAML text of a scalar). Values
/// whose text cannot be recovered from the loaded value are refused.
fn key_text(node: &Node) -> Result<String, PatchError> {
    match &node.value {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(i) => Ok(i.to_string()),
        _ => Err(err_at(
            node,
            "a merge key that is not a string or an integer is refused (kustomize compares \
             its YAML text)",
        )),
    }
}

/// A list with merge strategy and no key (`finalizers`): the union, patch values first; a
/// value in both keeps the target's node, as kyaml's final pass puts the target's back.
fn merge_primitive_list(dest: Vec<Node>, patch: &[Node]) -> Result<Vec<Node>, PatchError> {
    let mut out: Vec<Node> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (from_patch, item) in patch
        .iter()
        .map(|n| (true, n))
        .chain(dest.iter().map(|n| (false, n)))
    {
        if item.is_null() {
            continue;
        }
        let text = match &item.value {
            Value::Str(_) | Value::Int(_) => key_text(item)?,
            _ => {
                return Err(err_at(
                    item,
                    "only strings and integers are merged in a list of plain values; refused",
                ))
            }
        };
        if let Some(&i) = seen.get(&text) {
            if !from_patch {
                if let Some(slot) = out.get_mut(i) {
                    *slot = item.clone();
                }
            }
            continue;
        }
        seen.insert(text, out.len());
        out.push(item.clone());
    }
    Ok(out)
}

/// kyaml's `FieldMatcher` on a mapping element: the field exists and, unless `value` is empty,
/// its text equals `value`.
fn field_matches(item: &Node, key: &str, value: &str) -> bool {
    match item.get(key) {
        None => false,
        Some(_) if value.is_empty() => true,
        Some(field) => key_text(field).is_ok_and(|t| t == value),
    }
}

/// kyaml's `ElementMatcher`: the first element with every key matching.
fn find_element(items: &[Node], keys: &[String], values: &[String]) -> Option<usize> {
    items.iter().position(|item| {
        matches!(item.value, Value::Map(_))
            && keys
                .iter()
                .zip(values)
                .all(|(k, v)| field_matches(item, k, v))
    })
}

/// kyaml's `ElementSetter` on a list of mappings: drops null and empty-map elements, then
/// replaces every element matching `values` (keys past the values are not looked at) by
/// `element` — or, without one, removes them — and appends `element` when none matched. With
/// no values at all nothing matches and every element is dropped, as in kyaml.
fn element_setter(
    items: &mut Vec<Node>,
    element: Option<&Node>,
    keys: &[String],
    values: &[String],
) {
    let mut out = Vec::with_capacity(items.len() + 1);
    let mut found_any = false;
    for item in items.drain(..) {
        if item.is_null() || is_empty_map(&item) {
            continue;
        }
        let found = !values.is_empty()
            && keys
                .iter()
                .zip(values)
                .all(|(k, v)| field_matches(&item, k, v));
        if !found {
            if !values.is_empty() {
                out.push(item);
            }
            continue;
        }
        found_any = true;
        if let Some(e) = element {
            out.push(e.clone());
        }
    }
    if let Some(e) = element {
        if !found_any {
            out.push(e.clone());
        }
    }
    *items = out;
}

/// kyaml's `validateKeys`: the keys that have a value in some tuple (all keys when none has),
/// and this tuple's values for them.
fn valid_keys(
    tuples: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let has: Vec<bool> = (0..keys.len())
        .map(|i| {
            tuples
                .iter()
                .any(|t| t.get(i).is_some_and(|v| !v.is_empty()))
        })
        .collect();
    if !has.iter().any(|h| *h) {
        return (keys.to_vec(), values.to_vec());
    }
    let vk = keys
        .iter()
        .zip(&has)
        .filter(|(_, h)| **h)
        .map(|(k, _)| k.clone())
        .collect();
    let vv = values
        .iter()
        .zip(&has)
        .filter(|(v, h)| !v.is_empty() || **h)
        .map(|(v, _)| v.clone())
        .collect();
    (vk, vv)
}

/// kyaml's `mergeValues`: two tuples that share a value and do not conflict (one empty where
/// the other has a value) both become their union.
fn unify_tuples(tuples: &mut [Vec<String>]) {
    let n = tuples.len();
    for i in 0..n {
        for j in 0..n {
            let (a, b) = (&tuples[i], &tuples[j]);
            if a.len() != b.len() {
                continue;
            }
            let mut common = false;
            let mut res = Vec::with_capacity(a.len());
            let mut ok = true;
            for (x, y) in a.iter().zip(b) {
                if x == y {
                    common = true;
                    res.push(x.clone());
                } else if !x.is_empty() && !y.is_empty() {
                    ok = false;
                    break;
                } else if !x.is_empty() {
                    res.push(x.clone());
                } else {
                    res.push(y.clone());
                }
            }
            if ok && common {
                tuples[i] = res.clone();
                tuples[j] = res;
            }
        }
    }
}

/// The values of `keys` in one element ("" when absent), as kyaml's `ElementValuesList`.
fn tuple_of(item: &Node, keys: &[String]) -> Result<Vec<String>, PatchError> {
    keys.iter()
        .map(|k| match item.get(k) {
            Some(v) => key_text(v),
            None => Ok(String::new()),
        })
        .collect()
}

/// A list merged by key, as kyaml's `setAssociativeSequenceElements` with the list growing at
/// the front, then `appendListNode` putting the target's elements back. Elements that are not
/// mappings, lack the merge key, or have a key that is not a string or integer are refused:
/// kyaml's results for them are accidents (it empties the whole list for a nameless container).
fn merge_keyed_list(
    mut dest: Vec<Node>,
    patch: &[Node],
    keys: &[String],
    elem_schema: Option<Schema>,
    depth: usize,
) -> Result<Vec<Node>, PatchError> {
    let Some(first_key) = keys.first() else {
        return merge_primitive_list(dest, patch);
    };
    for item in patch.iter().chain(dest.iter()) {
        if !matches!(item.value, Value::Map(_)) {
            return Err(err_at(
                item,
                format!("a list merged by {first_key} may only hold mappings; refused"),
            ));
        }
        match item.get(first_key) {
            None => {
                return Err(err_at(
                    item,
                    format!("a list element without its merge key '{first_key}' is refused"),
                ))
            }
            Some(v) => {
                if key_text(v)?.is_empty() {
                    return Err(err_at(
                        v,
                        format!("an empty merge key '{first_key}' is refused"),
                    ));
                }
            }
        }
        for k in &keys[1..] {
            if let Some(v) = item.get(k) {
                key_text(v)?;
            }
        }
    }
    // Tuples of key values, the patch's first (kustomize grows lists at the front).
    let mut tuples: Vec<Vec<String>> = Vec::new();
    for item in patch.iter().chain(dest.iter()) {
        let t = tuple_of(item, keys)?;
        if !tuples.contains(&t) {
            tuples.push(t);
        }
    }
    if tuples.is_empty() {
        return Ok(dest);
    }
    if keys.len() > 1 {
        unify_tuples(&mut tuples);
    }
    let mut added: Vec<Node> = Vec::new();
    let mut list_keys: Vec<String> = keys.to_vec();
    for values in &tuples {
        let (vkeys, vvalues) = valid_keys(&tuples, values, keys);
        // The sources are looked up by the keys this tuple has a value for.
        let (skeys, svalues) = valid_keys(std::slice::from_ref(&vvalues), &vvalues, &vkeys);
        let dest_index = find_element(&dest, &skeys, &svalues);
        let patch_elem = find_element(patch, &skeys, &svalues).and_then(|i| patch.get(i));
        let outcome = merge_element(
            dest_index.and_then(|i| dest.get(i)).cloned(),
            patch_elem,
            elem_schema,
            depth + 1,
        )?;
        list_keys = vkeys.clone();
        match outcome {
            ElementMerge::InPlace(v) | ElementMerge::FromPatch(v)
                if is_empty_map(&v) || v.is_null() =>
            {
                element_setter(&mut dest, None, &vkeys, &vvalues);
            }
            ElementMerge::Cleared => element_setter(&mut dest, None, &vkeys, &vvalues),
            ElementMerge::InPlace(mut v) => {
                add_key_fields(&mut v, &vkeys, &vvalues);
                if let Some(slot) = dest_index.and_then(|i| dest.get_mut(i)) {
                    *slot = v.clone();
                }
                element_setter(&mut added, Some(&v), &vkeys, &vvalues);
            }
            ElementMerge::FromPatch(mut v) => {
                add_key_fields(&mut v, &vkeys, &vvalues);
                element_setter(&mut added, Some(&v), &vkeys, &vvalues);
            }
        }
    }
    // `appendListNode`: each target element goes back over its namesakes or at the end; one
    // missing a key is first appended as it is (once per missing key), as kyaml does.
    for item in dest {
        let mut values = Vec::with_capacity(list_keys.len());
        for k in &list_keys {
            match item.get(k) {
                None => added.push(item.clone()),
                Some(v) => values.push(key_text(v)?),
            }
        }
        if list_keys.len() > 1 {
            element_setter(&mut added, None, &list_keys, &values);
        }
        element_setter(&mut added, Some(&item), &list_keys, &values);
    }
    Ok(added)
}

/// kyaml sets a key the merged element lacks from the tuple, as an untagged scalar: YAML
/// resolves its text again on output.
fn add_key_fields(v: &mut Node, keys: &[String], values: &[String]) {
    for (k, val) in keys.iter().zip(values) {
        if v.get(k).is_none() && !val.is_empty() {
            set_field(
                v,
                k,
                Node {
                    value: crate::yaml::resolve_plain(val),
                    line: v.line,
                    column: v.column,
                },
            );
        }
    }
}

fn merge_element(
    dest: Option<Node>,
    patch: Option<&Node>,
    schema: Option<Schema>,
    depth: usize,
) -> Result<ElementMerge, PatchError> {
    let Some(patch) = patch else {
        // Only in the target: merged with nothing, kept in place.
        return Ok(match dest {
            Some(d) => ElementMerge::InPlace(d),
            None => ElementMerge::Cleared,
        });
    };
    let mut probe = patch.clone();
    let directive = if matches!(probe.value, Value::Map(_)) {
        if dest.is_none() {
            // kyaml ignores an unknown value here (and keeps it as a field); refuse instead.
            map_directive(&mut probe)?
        } else {
            map_directive(&mut probe)?
        }
    } else {
        Directive::Merge
    };
    let in_place = dest.is_some() && directive == Directive::Merge;
    match walk(dest, Some(patch), schema, depth)? {
        None => Ok(ElementMerge::Cleared),
        Some(v) if in_place => Ok(ElementMerge::InPlace(v)),
        Some(v) => Ok(ElementMerge::FromPatch(v)),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON 6902
// ---------------------------------------------------------------------------------------------

/// RFC 6902 operations as kustomize applies them (evanphx/json-patch v4): `add`, `remove`,
/// `replace`, `move`, `copy`, `test`. Paths are JSON pointers with `~0`/`~1` escapes; `-`
/// appends; array indexes are bounds-checked (negative ones count from the end, as that
/// library allows); a failing operation or `test` is an error, as it fails the build.
///
/// Quirks kept from the library: the first pointer segment is not checked (`a/b` acts as
/// `/b`), `replace` of a missing object key adds it, a null value counts as missing.
pub fn json6902(target: &mut Node, ops: &Node) -> Result<(), PatchError> {
    let Value::Seq(list) = &ops.value else {
        return Err(err_at(ops, "a JSON patch must be a list of operations"));
    };
    if list.len() > MAX_OPERATIONS {
        return Err(err_at(ops, "too many JSON patch operations"));
    }
    let mut copied = 0usize;
    for op in list {
        if !matches!(op.value, Value::Map(_)) {
            return Err(err_at(op, "a JSON patch operation must be a mapping"));
        }
        apply_op(target, op, &mut copied)?;
    }
    Ok(())
}

fn op_string<'a>(op: &'a Node, field: &str) -> Result<&'a str, PatchError> {
    match op.get(field) {
        Some(v) => v
            .as_str()
            .ok_or_else(|| err_at(v, format!("operation '{field}' must be a string"))),
        None => Err(err_at(op, format!("operation missing {field} field"))),
    }
}

fn null_at(at: &Node) -> Node {
    Node {
        value: Value::Null,
        line: at.line,
        column: at.column,
    }
}

fn apply_op(doc: &mut Node, op: &Node, copied: &mut usize) -> Result<(), PatchError> {
    let kind = match op.get("op") {
        Some(v) => v.as_str().unwrap_or("unknown"),
        None => "unknown",
    };
    match kind {
        "add" => {
            let path = op_string(op, "path")?;
            let value = op.get("value").cloned().unwrap_or_else(|| null_at(op));
            let (parent, key) = find_parent(doc, path, op)?;
            container_add(parent, &key, value, op)
        }
        "remove" => {
            let path = op_string(op, "path")?;
            let (parent, key) = find_parent(doc, path, op)?;
            container_remove(parent, &key, op).map(|_| ())
        }
        "replace" => {
            let path = op_string(op, "path")?;
            let value = op.get("value").cloned().unwrap_or_else(|| null_at(op));
            let (parent, key) = find_parent(doc, path, op)?;
            container_get(parent, &key, op)?;
            container_set(parent, &key, value, op)
        }
        "move" => {
            let from = op_string(op, "from")?;
            let path = op_string(op, "path")?;
            let (parent, key) = find_parent(doc, from, op)?;
            let value = container_remove(parent, &key, op)?;
            let (parent, key) = find_parent(doc, path, op)?;
            container_add(parent, &key, value, op)
        }
        "copy" => {
            let from = op_string(op, "from")?;
            let path = op_string(op, "path")?;
            let (parent, key) = find_parent(doc, from, op)?;
            // A missing source copies null, as the library does.
            let value = match container_get(parent, &key, op)? {
                Some(v) => v.clone(),
                None => null_at(op),
            };
            *copied = copied.saturating_add(count_nodes(&value, 0));
            if *copied > MAX_COPY_NODES {
                return Err(err_at(op, "JSON patch copies too much"));
            }
            let (parent, key) = find_parent(doc, path, op)?;
            container_add(parent, &key, value, op)
        }
        "test" => {
            let path = op_string(op, "path")?;
            let Some(expected) = op.get("value") else {
                return Err(err_at(op, "test operation without a value"));
            };
            let (parent, key) = find_parent(doc, path, op)?;
            let actual = container_get(parent, &key, op)?;
            let ok = match actual {
                None => expected.is_null(),
                Some(v) if v.is_null() => expected.is_null(),
                Some(v) => json_equal(v, expected),
            };
            if ok {
                Ok(())
            } else {
                Err(err_at(op, format!("testing value {path} failed")))
            }
        }
        other => Err(err_at(
            op.get("op").unwrap_or(op),
            format!("Unexpected kind: {other}"),
        )),
    }
}

fn count_nodes(node: &Node, depth: usize) -> usize {
    if depth > MAX_DEPTH_CAP {
        return usize::MAX / 2;
    }
    1 + match &node.value {
        Value::Seq(items) => items
            .iter()
            .map(|n| count_nodes(n, depth + 1))
            .fold(0usize, usize::saturating_add),
        Value::Map(entries) => entries
            .iter()
            .map(|(_, n)| count_nodes(n, depth + 1))
            .fold(0usize, usize::saturating_add),
        _ => 0,
    }
}

/// JSON equality as the library compares: objects and arrays structurally, numbers by value.
fn json_equal(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            let xs: Vec<_> = x.iter().filter(|(_, v)| !v.is_null()).collect();
            let ys: Vec<_> = y.iter().filter(|(_, v)| !v.is_null()).collect();
            xs.len() == ys.len()
                && xs.iter().all(|(k, v)| {
                    ys.iter()
                        .find(|(k2, _)| k2.name == k.name)
                        .is_some_and(|(_, v2)| json_equal(v, v2))
                })
        }
        _ => a.same_as(b),
    }
}

fn decode_segment(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

/// The library's `findObject`: the container holding the pointer's last segment. The first
/// segment (before the first `/`) is skipped without a check.
fn find_parent<'a>(
    doc: &'a mut Node,
    path: &str,
    op: &Node,
) -> Result<(&'a mut Node, String), PatchError> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 2 {
        return Err(err_at(
            op,
            format!("operation does not apply: doc is missing path: \"{path}\""),
        ));
    }
    if parts.len() > MAX_DEPTH_CAP {
        return Err(err_at(op, "JSON pointer too deep"));
    }
    let (last, middle) = match parts[1..].split_last() {
        Some(x) => x,
        None => {
            return Err(err_at(op, format!("doc is missing path: \"{path}\"")));
        }
    };
    let mut cur = doc;
    for part in middle {
        let key = decode_segment(part);
        let next = match &mut cur.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.name == key)
                .map(|(_, v)| v),
            Value::Seq(items) => {
                let len = items.len();
                let idx = parse_index(&key, op)?;
                let idx = normalize_index(idx, len, false, op)?;
                items.get_mut(idx)
            }
            _ => None,
        };
        match next {
            Some(n) if matches!(n.value, Value::Map(_) | Value::Seq(_)) => cur = n,
            _ => {
                return Err(err_at(
                    op,
                    format!("operation does not apply: doc is missing path: \"{path}\""),
                ))
            }
        }
    }
    if !matches!(cur.value, Value::Map(_) | Value::Seq(_)) {
        return Err(err_at(
            op,
            format!("operation does not apply: doc is missing path: \"{path}\""),
        ));
    }
    Ok((cur, decode_segment(last)))
}

/// Go's `strconv.Atoi`: optional sign, decimal digits; capped to keep arithmetic safe.
fn parse_index(key: &str, op: &Node) -> Result<i64, PatchError> {
    let digits = key.strip_prefix(['+', '-']).unwrap_or(key);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err_at(op, format!("invalid array index '{key}'")));
    }
    key.parse::<i64>()
        .map_err(|_| err_at(op, format!("invalid array index '{key}'")))
}

/// Bounds-checks an index against `len` (`len + 1` slots when inserting); negative indexes count
/// from the end.
fn normalize_index(idx: i64, len: usize, insert: bool, op: &Node) -> Result<usize, PatchError> {
    let slots = if insert { len as i64 + 1 } else { len as i64 };
    if idx >= slots || idx < -slots {
        return Err(err_at(op, format!("Unable to access invalid index: {idx}")));
    }
    let idx = if idx < 0 { idx + slots } else { idx };
    usize::try_from(idx).map_err(|_| err_at(op, format!("Unable to access invalid index: {idx}")))
}

fn container_get<'a>(
    parent: &'a Node,
    key: &str,
    op: &Node,
) -> Result<Option<&'a Node>, PatchError> {
    match &parent.value {
        Value::Map(entries) => Ok(entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
            .filter(|v| !v.is_null())),
        Value::Seq(items) => {
            let idx = normalize_index(parse_index(key, op)?, items.len(), false, op)?;
            Ok(items.get(idx).filter(|v| !v.is_null()))
        }
        _ => Err(err_at(op, "operation does not apply: not a container")),
    }
}

fn container_add(parent: &mut Node, key: &str, value: Node, op: &Node) -> Result<(), PatchError> {
    match &mut parent.value {
        Value::Map(entries) => {
            if let Some(entry) = entries.iter_mut().find(|(k, _)| k.name == key) {
                entry.1 = value;
            } else {
                entries.push((
                    Key {
                        name: key.to_string(),
                        line: op.line,
                        column: op.column,
                    },
                    value,
                ));
            }
            Ok(())
        }
        Value::Seq(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let idx = normalize_index(parse_index(key, op)?, items.len(), true, op)?;
            items.insert(idx, value);
            Ok(())
        }
        _ => Err(err_at(op, "operation does not apply: not a container")),
    }
}

fn container_set(parent: &mut Node, key: &str, value: Node, op: &Node) -> Result<(), PatchError> {
    match &mut parent.value {
        Value::Map(_) => container_add(parent, key, value, op),
        Value::Seq(items) => {
            let idx = normalize_index(parse_index(key, op)?, items.len(), false, op)?;
            match items.get_mut(idx) {
                Some(slot) => {
                    *slot = value;
                    Ok(())
                }
                None => Err(err_at(op, format!("Unable to access invalid index: {idx}"))),
            }
        }
        _ => Err(err_at(op, "operation does not apply: not a container")),
    }
}

fn container_remove(parent: &mut Node, key: &str, op: &Node) -> Result<Node, PatchError> {
    match &mut parent.value {
        Value::Map(entries) => match entries.iter().position(|(k, _)| k.name == key) {
            Some(i) => Ok(entries.remove(i).1),
            None => Err(err_at(
                op,
                format!("Unable to remove nonexistent key: {key}: missing value"),
            )),
        },
        Value::Seq(items) => {
            let idx = normalize_index(parse_index(key, op)?, items.len(), false, op)?;
            if idx < items.len() {
                Ok(items.remove(idx))
            } else {
                Err(err_at(op, format!("Unable to access invalid index: {idx}")))
            }
        }
        _ => Err(err_at(op, "operation does not apply: not a container")),
    }
}

// ---------------------------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------------------------

/// Whether a `patches[].target` selector selects `object`: `group`, `version`, `kind`, `name`,
/// `namespace` are regexes anchored at both ends (an empty or absent one selects everything),
/// `labelSelector` and `annotationSelector` use the Kubernetes label-selector syntax.
///
/// The namespace compared is kustomize's effective one: `default` for a namespaced object
/// without one, none for a kind its built-in schema knows as cluster-scoped. kustomize also
/// tries the object's names and namespaces from before earlier renames; that is the caller's.
/// An unknown selector field or a bad regex or selector is an error, as it fails the build.
pub fn selects(selector: &Node, object: &Node) -> Result<bool, PatchError> {
    let Value::Map(fields) = &selector.value else {
        return Err(err_at(selector, "a patch target must be a mapping"));
    };
    let mut group = "";
    let mut version = "";
    let mut kind = "";
    let mut name = "";
    let mut namespace = "";
    let mut labels = "";
    let mut annotations = "";
    for (key, value) in fields {
        let text = match &value.value {
            Value::Null => "",
            Value::Str(s) => s.as_str(),
            _ => {
                return Err(err_at(
                    value,
                    format!("target {} must be a string", key.name),
                ))
            }
        };
        match key.name.as_str() {
            "group" => group = text,
            "version" => version = text,
            "kind" => kind = text,
            "name" => name = text,
            "namespace" => namespace = text,
            "labelSelector" => labels = text,
            "annotationSelector" => annotations = text,
            other => {
                return Err(PatchError {
                    line: key.line,
                    column: key.column,
                    message: format!("unknown field '{other}' in patch target"),
                })
            }
        }
    }
    let api_version = object
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or("");
    let (obj_group, obj_version) = split_api_version(api_version);
    let obj_kind = object.get("kind").and_then(Node::as_str).unwrap_or("");
    let obj_name = object
        .path(&["metadata", "name"])
        .and_then(Node::as_str)
        .unwrap_or("");
    let obj_namespace = effective_namespace(object);

    let checks = [
        (namespace, obj_namespace.as_str()),
        (name, obj_name),
        (group, obj_group),
        (version, obj_version),
        (kind, obj_kind),
    ];
    // Compile all first: a bad regex fails the build even when an earlier field rejects.
    let mut compiled = Vec::with_capacity(checks.len());
    for (pattern, _) in &checks {
        compiled.push(anchored(pattern, selector)?);
    }
    for ((_, value), re) in checks.iter().zip(&compiled) {
        if let Some(re) = re {
            if !re.is_match(value) {
                return Ok(false);
            }
        }
    }
    let label_sel = parse_label_selector(labels, selector)?;
    let annotation_sel = parse_label_selector(annotations, selector)?;
    if !label_sel.matches(object.path(&["metadata", "labels"])) {
        return Ok(false);
    }
    Ok(annotation_sel.matches(object.path(&["metadata", "annotations"])))
}

fn anchored(pattern: &str, at: &Node) -> Result<Option<regex::Regex>, PatchError> {
    if pattern.is_empty() {
        return Ok(None);
    }
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(Some)
        .map_err(|e| err_at(at, format!("bad regex '{pattern}' in patch target: {e}")))
}

/// kustomize's `ParseGroupVersion`: the part before the first `/` is the group.
fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// kustomize's `EffectiveNamespace`.
fn effective_namespace(object: &Node) -> String {
    let api_version = object
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or("");
    let kind = object.get("kind").and_then(Node::as_str).unwrap_or("");
    if schema::is_cluster_scoped(api_version, kind) {
        return "_non_namespaceable_".to_string();
    }
    match object
        .path(&["metadata", "namespace"])
        .and_then(Node::as_str)
    {
        None | Some("") => "default".to_string(),
        Some(ns) => ns.to_string(),
    }
}

/// Whether a strategic-merge patch given without a target is aimed at `object`: kustomize
/// looks the patch up by its id, so group, version, kind, name and effective namespace must all
/// be equal (`ResId.Equals`). kustomize also matches earlier ids of a renamed object; that is
/// the caller's.
pub fn smp_matches(patch: &Node, object: &Node) -> bool {
    let id = |n: &Node| {
        let api_version = n.get("apiVersion").and_then(Node::as_str).unwrap_or("");
        let (g, v) = split_api_version(api_version);
        (
            g.to_string(),
            v.to_string(),
            n.get("kind")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            n.path(&["metadata", "name"])
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            effective_namespace(n),
        )
    };
    id(patch) == id(object)
}

// --- label selectors (apimachinery's `labels.Parse`, as kyaml copied it) ---

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Equals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Debug, Clone)]
struct Requirement {
    key: String,
    op: Op,
    values: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    fn matches(&self, labels: Option<&Node>) -> bool {
        let lookup = |key: &str| -> Option<String> {
            labels.and_then(|l| l.get(key)).map(|v| match &v.value {
                Value::Str(s) => s.clone(),
                Value::Null => String::new(),
                _ => v.display(),
            })
        };
        self.requirements.iter().all(|r| {
            let value = lookup(&r.key);
            match r.op {
                Op::In | Op::Equals => value.is_some_and(|v| r.values.contains(&v)),
                Op::NotIn | Op::NotEquals => value.is_none_or(|v| !r.values.contains(&v)),
                Op::Exists => value.is_some(),
                Op::DoesNotExist => value.is_none(),
                Op::GreaterThan | Op::LessThan => {
                    let Some(Ok(have)) = value.map(|v| v.parse::<i64>()) else {
                        return false;
                    };
                    let Some(Ok(want)) = r.values.first().map(|v| v.parse::<i64>()) else {
                        return false;
                    };
                    if r.op == Op::GreaterThan {
                        have > want
                    } else {
                        have < want
                    }
                }
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    DoesNotExist, // !
    Equals,       // =
    DoubleEquals, // ==
    NotEquals,    // !=
    Greater,      // >
    Less,         // <
    Open,         // (
    Close,        // )
    Comma,        // ,
    In,
    NotIn,
    Error(String),
}

fn lex(input: &str) -> Vec<Token> {
    let bytes = input.as_bytes();
    let special = |b: u8| matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<');
    let space = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if space(b) {
            i += 1;
            continue;
        }
        if special(b) {
            let start = i;
            while i < bytes.len() && special(bytes[i]) {
                i += 1;
            }
            // The lexer takes the longest run of symbols that is still a known token.
            let mut run = &input[start..i];
            let mut tok = None;
            while !run.is_empty() {
                tok = match run {
                    "!" => Some(Token::DoesNotExist),
                    "=" => Some(Token::Equals),
                    "==" => Some(Token::DoubleEquals),
                    "!=" => Some(Token::NotEquals),
                    ">" => Some(Token::Greater),
                    "<" => Some(Token::Less),
                    "(" => Some(Token::Open),
                    ")" => Some(Token::Close),
                    "," => Some(Token::Comma),
                    _ => None,
                };
                if tok.is_some() {
                    break;
                }
                run = &run[..run.len() - 1];
            }
            match tok {
                Some(t) => {
                    out.push(t);
                    i = start + run.len();
                }
                None => {
                    out.push(Token::Error(input[start..i].to_string()));
                }
            }
            continue;
        }
        let start = i;
        while i < bytes.len() && !special(bytes[i]) && !space(bytes[i]) {
            i += 1;
        }
        let word = &input[start..i];
        out.push(match word {
            "in" => Token::In,
            "notin" => Token::NotIn,
            _ => Token::Ident(word.to_string()),
        });
    }
    out
}

fn parse_label_selector(input: &str, at: &Node) -> Result<LabelSelector, PatchError> {
    let fail = |msg: String| err_at(at, format!("bad selector '{input}': {msg}"));
    let tokens = lex(input);
    if tokens.len() > 10_000 {
        return Err(fail("too long".into()));
    }
    let mut pos = 0;
    let mut reqs = Vec::new();
    if tokens.is_empty() {
        return Ok(LabelSelector::default());
    }
    loop {
        // A requirement: `!key`, `key`, `key op value`, `key in (..)`.
        let (key, mut op) = match tokens.get(pos) {
            Some(Token::DoesNotExist) => match tokens.get(pos + 1) {
                Some(Token::Ident(k)) => {
                    pos += 2;
                    (k.clone(), Some(Op::DoesNotExist))
                }
                // `in`/`notin` are identifiers in key position.
                Some(Token::In) => {
                    pos += 2;
                    ("in".to_string(), Some(Op::DoesNotExist))
                }
                Some(Token::NotIn) => {
                    pos += 2;
                    ("notin".to_string(), Some(Op::DoesNotExist))
                }
                _ => return Err(fail("expected: identifier after '!'".into())),
            },
            Some(Token::Ident(k)) => {
                pos += 1;
                (k.clone(), None)
            }
            Some(Token::In) => {
                pos += 1;
                ("in".to_string(), None)
            }
            Some(Token::NotIn) => {
                pos += 1;
                ("notin".to_string(), None)
            }
            _ => return Err(fail("expected: !, identifier, or 'end of string'".into())),
        };
        validate_label_key(&key).map_err(fail)?;
        let mut values = Vec::new();
        if op.is_none() {
            match tokens.get(pos) {
                None | Some(Token::Comma) => op = Some(Op::Exists),
                Some(t) => {
                    let o = match t {
                        Token::In => Op::In,
                        Token::NotIn => Op::NotIn,
                        Token::Equals | Token::DoubleEquals => Op::Equals,
                        Token::NotEquals => Op::NotEquals,
                        Token::Greater => Op::GreaterThan,
                        Token::Less => Op::LessThan,
                        _ => return Err(fail("expected: '=', '!=', '==', 'in', notin'".into())),
                    };
                    pos += 1;
                    match o {
                        Op::In | Op::NotIn => {
                            if tokens.get(pos) != Some(&Token::Open) {
                                return Err(fail("expected: '('".into()));
                            }
                            pos += 1;
                            // identifiers separated by commas; empty entries allowed.
                            let mut expect_value = true;
                            loop {
                                match tokens.get(pos) {
                                    Some(Token::Ident(v)) if expect_value => {
                                        values.push(v.clone());
                                        expect_value = false;
                                        pos += 1;
                                    }
                                    Some(Token::In) if expect_value => {
                                        values.push("in".into());
                                        expect_value = false;
                                        pos += 1;
                                    }
                                    Some(Token::NotIn) if expect_value => {
                                        values.push("notin".into());
                                        expect_value = false;
                                        pos += 1;
                                    }
                                    Some(Token::Comma) => {
                                        if expect_value {
                                            values.push(String::new());
                                        }
                                        expect_value = true;
                                        pos += 1;
                                    }
                                    Some(Token::Close) => {
                                        // `()` and a trailing `,` stand for the empty value.
                                        if expect_value {
                                            values.push(String::new());
                                        }
                                        pos += 1;
                                        break;
                                    }
                                    _ => {
                                        return Err(fail("expected: ',', ')' or identifier".into()))
                                    }
                                }
                            }
                            if values.is_empty() {
                                return Err(fail(
                                    "for 'in', 'notin' operators, values set can't be empty".into(),
                                ));
                            }
                        }
                        _ => match tokens.get(pos) {
                            Some(Token::Ident(v)) => {
                                values.push(v.clone());
                                pos += 1;
                            }
                            Some(Token::In) => {
                                values.push("in".into());
                                pos += 1;
                            }
                            Some(Token::NotIn) => {
                                values.push("notin".into());
                                pos += 1;
                            }
                            None | Some(Token::Comma) => values.push(String::new()),
                            _ => return Err(fail("expected: identifier".into())),
                        },
                    }
                    op = Some(o);
                }
            }
        }
        let op = op.unwrap_or(Op::Exists);
        if matches!(op, Op::GreaterThan | Op::LessThan)
            && values.first().is_none_or(|v| v.parse::<i64>().is_err())
        {
            return Err(fail(
                "for 'Gt', 'Lt' operators, the value must be an integer".into(),
            ));
        }
        for v in &values {
            validate_label_value(v).map_err(fail)?;
        }
        values.sort();
        values.dedup();
        reqs.push(Requirement { key, op, values });
        match tokens.get(pos) {
            None => break,
            Some(Token::Comma) => {
                pos += 1;
                if !matches!(
                    tokens.get(pos),
                    Some(Token::Ident(_) | Token::DoesNotExist | Token::In | Token::NotIn)
                ) {
                    return Err(fail("expected: identifier after ','".into()));
                }
            }
            Some(_) => return Err(fail("expected: ',' or 'end of string'".into())),
        }
    }
    Ok(LabelSelector { requirements: reqs })
}

/// A qualified name, optionally prefixed by a DNS subdomain and `/` (apimachinery's
/// `IsQualifiedName`).
fn validate_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if key.matches('/').count() > 1 {
        return Err(format!("invalid label key \"{key}\""));
    }
    if let Some(p) = prefix {
        if p.is_empty() || p.len() > 253 || !is_dns_subdomain(p) {
            return Err(format!("invalid label key \"{key}\": bad prefix"));
        }
    }
    if name.is_empty() || name.len() > 63 || !is_label_text(name) {
        return Err(format!("invalid label key \"{key}\""));
    }
    Ok(())
}

fn validate_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 || !is_label_text(value) {
        return Err(format!("invalid label value: \"{value}\""));
    }
    Ok(())
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_label_text(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_dns_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        match (b.first(), b.last()) {
            (Some(f), Some(l)) => {
                (f.is_ascii_lowercase() || f.is_ascii_digit())
                    && (l.is_ascii_lowercase() || l.is_ascii_digit())
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests;
