//! `configMapGenerator` and `secretGenerator`, and the content-hash name suffix.
//!
//! A generated Secret is as dangerous as a written one (an admin token, a registry
//! credential), and its name carries kustomize's content hash, which the workloads' references
//! are rewritten to: both must come out exactly as kustomize makes them. Sources are read in
//! kustomize's order (env files, literals, files); the hash is kustomize's `api/hasher`: SHA-256
//! of the JSON (Go's `encoding/json`, keys sorted) of kind, name, data (and type for Secrets),
//! the first ten hex digits with `0 1 3 a e` replaced by `g h k m t`.

use sha2::{Digest, Sha256};

use super::nodes::{get_mut, map_node, scalar_text, set, set_meta_str, str_node, string_map};
use super::resources::{Behavior, Ctx, Res};
use super::tree::{join_relative, TreeError};
use crate::yaml::{Key, Node, Value};

/// Most bytes of generator input (files, env files) read for one root.
const MAX_GENERATED_BYTES: usize = 16 * 1024 * 1024;

/// Runs the kustomization's generators into `acc`.
pub(crate) fn run(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    kust: &Node,
    acc: &mut Vec<Res>,
) -> Result<(), TreeError> {
    let global = kust.get("generatorOptions");
    for (key, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        for args in kust.get(key).map(Node::as_seq).unwrap_or(&[]) {
            if !ctx.follow(file, args) {
                return Ok(());
            }
            if let Some(res) = generate(ctx, dir, file, args, kind, global)? {
                absorb(ctx, acc, res, file, args);
            }
        }
    }
    Ok(())
}

/// Options: the generator's own over the kustomization's `generatorOptions` (labels and
/// annotations merged, the flags or-ed as kustomize's `MergeGlobalOptionsIntoLocal` does).
struct Options {
    labels: Vec<(String, String)>,
    annotations: Vec<(String, String)>,
    disable_hash: bool,
    immutable: bool,
}

fn options(local: Option<&Node>, global: Option<&Node>) -> Options {
    let flag = |n: Option<&Node>, k: &str| {
        n.and_then(|n| n.get(k))
            .and_then(Node::as_bool)
            .unwrap_or(false)
    };
    let merged = |k: &str| {
        let mut out = string_map(global.and_then(|g| g.get(k)));
        for (key, v) in string_map(local.and_then(|l| l.get(k))) {
            match out.iter_mut().find(|(k2, _)| *k2 == key) {
                Some(slot) => slot.1 = v,
                None => out.push((key, v)),
            }
        }
        out.sort();
        out
    };
    Options {
        labels: merged("labels"),
        annotations: merged("annotations"),
        disable_hash: flag(local, "disableNameSuffixHash") || flag(global, "disableNameSuffixHash"),
        immutable: flag(local, "immutable") || flag(global, "immutable"),
    }
}

fn generate(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    args: &Node,
    kind: &str,
    global: Option<&Node>,
) -> Result<Option<Res>, TreeError> {
    let text = |k: &str| args.get(k).and_then(scalar_text).unwrap_or_default();
    let name = text("name");
    if name.is_empty() {
        ctx.problem(
            file,
            args,
            format!("a {kind} generator without `name`: kustomize fails"),
            "name it",
        );
        return Ok(None);
    }
    let behavior = match text("behavior").as_str() {
        "" | "create" => Behavior::Create,
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        other => {
            ctx.problem(
                file,
                args,
                format!("unknown generator behavior `{other}`"),
                "use create, merge or replace",
            );
            return Ok(None);
        }
    };
    let mut pairs: Vec<(String, Vec<u8>, Node)> = Vec::new();
    // Env files (`envs`, and the legacy `env`), literals, files: kustomize's order.
    let mut envs: Vec<&Node> = args
        .get("envs")
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .collect();
    if let Some(e) = args
        .get("env")
        .filter(|e| e.as_str().is_some_and(|s| !s.is_empty()))
    {
        envs.push(e);
    }
    let mut read_budget = 0usize;
    for e in envs {
        let Some(p) = e.as_str() else { continue };
        let Some(bytes) = read_source(ctx, dir, file, p, e, &mut read_budget)? else {
            continue;
        };
        match env_pairs(&bytes) {
            Ok(list) => pairs.extend(
                list.into_iter()
                    .map(|(k, v)| (k, v.into_bytes(), e.clone())),
            ),
            Err(message) => ctx.problem(
                file,
                e,
                format!("env file `{p}`: {message}"),
                "fix the env file",
            ),
        }
    }
    for l in args.get("literals").map(Node::as_seq).unwrap_or(&[]) {
        let Some(source) = scalar_text(l) else {
            continue;
        };
        match source.split_once('=') {
            Some((k, v)) if !k.is_empty() => pairs.push((
                k.to_string(),
                remove_quotes(v).as_bytes().to_vec(),
                l.clone(),
            )),
            _ => ctx.problem(
                file,
                l,
                format!("literal `{source}` is not key=value: kustomize fails"),
                "write key=value",
            ),
        }
    }
    for f in args.get("files").map(Node::as_seq).unwrap_or(&[]) {
        let Some(source) = f.as_str() else { continue };
        let (key, path) = match source.matches('=').count() {
            0 => (
                source.rsplit('/').next().unwrap_or(source).to_string(),
                source,
            ),
            1 => match source.split_once('=') {
                Some((k, p)) if !k.is_empty() && !p.is_empty() => (k.to_string(), p),
                _ => {
                    ctx.problem(
                        file,
                        f,
                        format!("file source `{source}` lacks a key or a path"),
                        "write key=path",
                    );
                    continue;
                }
            },
            _ => {
                ctx.problem(
                    file,
                    f,
                    format!("file source `{source}` holds more than one `=`"),
                    "write key=path",
                );
                continue;
            }
        };
        if let Some(bytes) = read_source(ctx, dir, file, path, f, &mut read_budget)? {
            pairs.push((key, bytes, f.clone()));
        }
    }
    // Keys: valid and unique.
    let mut data: Vec<(String, Vec<u8>)> = Vec::new();
    for (k, v, at) in pairs {
        if !valid_key(&k) {
            ctx.problem(
                file,
                &at,
                format!("`{k}` is not a valid {kind} key: kustomize fails"),
                "use letters, digits, `-`, `_` and `.`",
            );
            continue;
        }
        if data.iter().any(|(k2, _)| *k2 == k) {
            ctx.problem(
                file,
                &at,
                format!("{kind} {name} repeats the key `{k}`: kustomize fails"),
                "use each key once",
            );
            continue;
        }
        data.push((k, v));
    }
    data.sort_by(|a, b| a.0.cmp(&b.0));
    let opts = options(args.get("options"), global);
    let (line, column) = (args.line, args.column);
    let mut node = map_node(line, column);
    set(&mut node, "apiVersion", str_node("v1", line, column));
    set(&mut node, "kind", str_node(kind, line, column));
    set_meta_str(&mut node, "name", &name);
    let namespace = text("namespace");
    if !namespace.is_empty() {
        set_meta_str(&mut node, "namespace", &namespace);
    }
    if kind == "Secret" {
        let t = text("type");
        set(
            &mut node,
            "type",
            str_node(if t.is_empty() { "Opaque" } else { &t }, line, column),
        );
    }
    let mut text_data = Vec::new();
    let mut binary_data = Vec::new();
    for (k, v) in data {
        let key = Key {
            name: k,
            line,
            column,
        };
        if kind == "Secret" {
            text_data.push((key, str_node(&kyaml_base64(&v), line, column)));
        } else {
            match String::from_utf8(v) {
                Ok(s) => text_data.push((key, str_node(&s, line, column))),
                Err(e) => {
                    binary_data.push((key, str_node(&kyaml_base64(e.as_bytes()), line, column)))
                }
            }
        }
    }
    // kyaml creates a Secret's `data` even when empty, a ConfigMap's only with a key.
    if !text_data.is_empty() || kind == "Secret" {
        set(
            &mut node,
            "data",
            Node {
                value: Value::Map(text_data),
                line,
                column,
            },
        );
    }
    if !binary_data.is_empty() {
        set(
            &mut node,
            "binaryData",
            Node {
                value: Value::Map(binary_data),
                line,
                column,
            },
        );
    }
    for (field, pairs) in [("labels", &opts.labels), ("annotations", &opts.annotations)] {
        if pairs.is_empty() {
            continue;
        }
        if let Some(meta) = get_mut(&mut node, "metadata") {
            let mut m = map_node(line, column);
            for (k, v) in pairs {
                set(&mut m, k, str_node(v, line, column));
            }
            set(meta, field, m);
        }
    }
    if opts.immutable {
        set(
            &mut node,
            "immutable",
            Node {
                value: Value::Bool(true),
                line,
                column,
            },
        );
    }
    let mut res = Res::new(node, file);
    res.needs_hash = !opts.disable_hash;
    res.behavior = behavior;
    Ok(Some(res))
}

fn read_source(
    ctx: &mut Ctx<'_, '_>,
    dir: &str,
    file: &str,
    path: &str,
    at: &Node,
    budget: &mut usize,
) -> Result<Option<Vec<u8>>, TreeError> {
    let Some(full) = join_relative(dir, path) else {
        ctx.problem(
            file,
            at,
            format!("`{path}` leads out of the repository"),
            "keep generator sources inside the repository",
        );
        return Ok(None);
    };
    let Some(bytes) = ctx.read_file(&full, file, at)? else {
        return Ok(None);
    };
    *budget = budget.saturating_add(bytes.len());
    if *budget > MAX_GENERATED_BYTES || bytes.len() > ctx.limits.max_bytes {
        ctx.problem(
            file,
            at,
            format!(
                "generator sources exceed {} bytes (limit)",
                ctx.limits.max_bytes.min(MAX_GENERATED_BYTES)
            ),
            "make the generated objects smaller",
        );
        return Ok(None);
    }
    Ok(Some(bytes.to_vec()))
}

/// kustomize's env-file reader: `KEY=value` lines, `#` comments, blank lines; a line without
/// `=` has an empty value (kustomize v5.8).
fn env_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "invalid UTF-8".to_string())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        if !valid_env_name(key) {
            return Err(format!(
                "line {}: `{key}` is not a valid environment variable name",
                i + 1
            ));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

fn valid_env_name(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key != "."
        && key != ".."
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// kustomize's `removeQuotes`: one pair of matching surrounding quotes goes.
fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b.first() == b.last() && matches!(b.first(), Some(b'"') | Some(b'\'')) {
        s.get(1..s.len() - 1).unwrap_or(s)
    } else {
        s
    }
}

/// Adds a generated resource per its behavior (kustomize's `appendReplaceOrMerge`).
fn absorb(ctx: &mut Ctx<'_, '_>, acc: &mut Vec<Res>, mut res: Res, file: &str, at: &Node) {
    let id = res.cur();
    let matches: Vec<usize> = acc
        .iter()
        .enumerate()
        .filter(|(_, r)| r.any_id_matches(&id))
        .map(|(i, _)| i)
        .collect();
    match (matches.as_slice(), res.behavior) {
        ([], Behavior::Create) => acc.push(res),
        ([], _) => ctx.problem(
            file,
            at,
            format!(
                "{} does not exist: kustomize cannot merge or replace it",
                id.label()
            ),
            "generate it with behavior create, or include the base that makes it",
        ),
        ([i], Behavior::Merge | Behavior::Replace) => {
            let Some(old) = acc.get(*i) else { return };
            let merge = res.behavior == Behavior::Merge;
            merge_into(&mut res, old, merge);
            if let Some(slot) = acc.get_mut(*i) {
                *slot = res;
            }
        }
        ([_], Behavior::Create) => ctx.problem(
            file,
            at,
            format!(
                "{} already exists: kustomize wants behavior merge or replace",
                id.label()
            ),
            "set behavior: merge or replace",
        ),
        (_, _) => ctx.problem(
            file,
            at,
            format!(
                "{} matches more than one resource: kustomize fails",
                id.label()
            ),
            "make the generator's name unambiguous",
        ),
    }
}

/// kustomize's `CopyMergeMetaDataFieldsFrom` (and for merge, the data maps): the old name,
/// namespace and history; labels and annotations merged (new wins).
fn merge_into(new: &mut Res, old: &Res, merge_data: bool) {
    let old_id = old.cur();
    for field in ["labels", "annotations"] {
        let mut merged = string_map(old.node.path(&["metadata", field]));
        for (k, v) in string_map(new.node.path(&["metadata", field])) {
            match merged.iter_mut().find(|(k2, _)| *k2 == k) {
                Some(slot) => slot.1 = v,
                None => merged.push((k, v)),
            }
        }
        if merged.is_empty() {
            continue;
        }
        let (line, column) = (new.node.line, new.node.column);
        let mut m = map_node(line, column);
        for (k, v) in merged {
            set(&mut m, &k, str_node(&v, line, column));
        }
        if let Some(meta) = get_mut(&mut new.node, "metadata") {
            set(meta, field, m);
        }
    }
    set_meta_str(&mut new.node, "name", &old_id.name);
    if old_id.namespace.is_empty() {
        if let Some(meta) = get_mut(&mut new.node, "metadata") {
            super::nodes::remove(meta, "namespace");
        }
    } else {
        set_meta_str(&mut new.node, "namespace", &old_id.namespace);
    }
    if merge_data {
        for field in ["data", "binaryData"] {
            let Some(old_data) = old.node.get(field) else {
                continue;
            };
            let (line, column) = (new.node.line, new.node.column);
            let mut merged = old_data.clone();
            if let Some(new_data) = new.node.get(field) {
                for (k, v) in new_data.as_map() {
                    set(&mut merged, &k.name, v.clone());
                }
            }
            if matches!(merged.value, Value::Map(_)) {
                merged.line = line;
                merged.column = column;
                set(&mut new.node, field, merged);
            }
        }
    }
    new.org = old.org.clone();
    new.prev = old.prev.clone();
    new.prefixes = old.prefixes.clone();
    new.suffixes = old.suffixes.clone();
    let by = std::mem::replace(&mut new.path, old.path.clone());
    new.changed_by = old.changed_by.clone();
    new.changed(&by);
}

/// Appends the content hash to the names of generated ConfigMaps and Secrets.
pub(crate) fn add_hashes(acc: &mut [Res]) {
    for r in acc.iter_mut() {
        if !r.needs_hash {
            continue;
        }
        let id = r.cur();
        let Some(hash) = content_hash(&r.node) else {
            continue;
        };
        set_meta_str(&mut r.node, "name", &format!("{}-{hash}", id.name));
        r.note_former(&id.namespace, &id.name);
    }
}

/// kustomize's hash of a ConfigMap or Secret. The name is always empty in what is hashed:
/// kustomize looks it up as one field called `metadata/name`, which never exists (checked
/// against `kubectl kustomize`: `literals: [a=b]` hashes to `4h2mbtbbt6` whatever the name).
pub fn content_hash(node: &Node) -> Option<String> {
    let kind = node.get("kind").and_then(Node::as_str)?;
    let name = "";
    let field = |k: &str| -> String {
        match node.get(k) {
            None => "\"\"".to_string(),
            Some(n) if matches!(n.value, Value::Map(_)) => go_json(n),
            Some(n) => go_json_str(&scalar_text(n).unwrap_or_default()),
        }
    };
    let mut parts: Vec<(String, String)> = Vec::new();
    match kind {
        "ConfigMap" => {
            parts.push(("data".into(), field("data")));
            parts.push(("kind".into(), go_json_str("ConfigMap")));
            parts.push(("name".into(), go_json_str(name)));
            if matches!(
                node.get("binaryData").map(|n| &n.value),
                Some(Value::Map(_))
            ) {
                parts.push(("binaryData".into(), field("binaryData")));
            }
        }
        "Secret" => {
            parts.push(("data".into(), field("data")));
            parts.push(("kind".into(), go_json_str("Secret")));
            parts.push(("name".into(), go_json_str(name)));
            parts.push(("type".into(), field("type")));
            if matches!(
                node.get("stringData").map(|n| &n.value),
                Some(Value::Map(_))
            ) {
                parts.push(("stringData".into(), field("stringData")));
            }
        }
        _ => return None,
    }
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    let mut json = String::from("{");
    for (i, (k, v)) in parts.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(&go_json_str(k));
        json.push(':');
        json.push_str(v);
    }
    json.push('}');
    let digest = Sha256::digest(json.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    Some(
        hex.chars()
            .map(|c| match c {
                '0' => 'g',
                '1' => 'h',
                '3' => 'k',
                'a' => 'm',
                'e' => 't',
                other => other,
            })
            .collect(),
    )
}

/// Go's `json.Marshal` of a decoded YAML value (maps with sorted keys).
fn go_json(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => go_json_str(s),
        Value::Seq(items) => format!(
            "[{}]",
            items.iter().map(go_json).collect::<Vec<_>>().join(",")
        ),
        Value::Map(entries) => {
            let mut sorted: Vec<&(Key, Node)> = entries.iter().collect();
            sorted.sort_by(|a, b| a.0.name.cmp(&b.0.name));
            let body: Vec<String> = sorted
                .iter()
                .map(|(k, v)| format!("{}:{}", go_json_str(&k.name), go_json(v)))
                .collect();
            format!("{{{}}}", body.join(","))
        }
    }
}

/// A Go-encoded JSON string (HTML-safe escapes, as `encoding/json` writes them).
fn go_json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// kyaml's `encodeBase64`: standard base64, and once it is 70 characters or longer, cut into
/// lines of 70, each ending in a newline (the hash sees those newlines).
fn kyaml_base64(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = base64(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for chunk in encoded.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(ALPHABET.get(idx).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_go() {
        assert_eq!(base64(b"y"), "eQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn long_base64_is_cut_like_kyaml() {
        let short = kyaml_base64(&[b'a'; 51]); // 68 characters
        assert!(!short.contains('\n'));
        let long = kyaml_base64(&[b'a'; 60]); // 80 characters
        let lines: Vec<&str> = long.split_terminator('\n').collect();
        assert_eq!(lines.iter().map(|l| l.len()).collect::<Vec<_>>(), [70, 10]);
        assert!(long.ends_with('\n'));
        assert_eq!(kyaml_base64(&[b'a'; 54]).len(), 74); // 72 characters: 70 and 2, each ending a line
    }

    #[test]
    fn env_files_read_like_kustomize() {
        let pairs = env_pairs(b"# c\n\n  A=1\r\nB=x=y\nC\n").unwrap();
        assert_eq!(
            pairs,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "x=y".into()),
                ("C".into(), "".into())
            ]
        );
        assert!(env_pairs(b"1A=2").is_err());
    }
}
