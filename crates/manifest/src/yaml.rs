//! The manifest loader: YAML and JSON bytes to a small value tree, read the way the cluster
//! reads them.
//!
//! Argo CD and kubectl decode through sigs.k8s.io/yaml (go-yaml v2) and Flux decodes kustomize's
//! output with go-yaml v2 again, so the values a rule sees must be the ones go-yaml v2 would
//! produce: YAML 1.1 booleans (`yes`, `on`), Go integers (`0644` is octal, `1_000` is 1000),
//! documents split by `---` lines before any YAML parsing, only the first document of each chunk.
//! `saphyr-parser` gives events with positions (YAML 1.2 syntax); plain scalars are resolved
//! here, quoted ones stay strings. Anything two readers could read differently (a key repeated
//! with another value — repeated with the same value it is read alike, and kept once —
//! merge keys, non-string keys, unknown tags) is rejected with a position, and budgets on bytes,
//! documents, nodes (after alias expansion) and depth keep a hostile push cheap to refuse.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

/// Budgets applied to every file version that is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Most `---`-separated documents in one file.
    pub max_documents: usize,
    /// Most nodes in one file, counting every alias expansion in full.
    pub max_nodes: usize,
    /// Most alias uses (`*name`) in one file: each is a copy, so many of them are work even
    /// when the nodes they copy are few.
    pub max_aliases: usize,
    /// Most nodes over all file versions (old and new) of one commit: what a judge call
    /// holds in memory at once.
    pub max_commit_nodes: usize,
    /// Deepest nesting of mappings and sequences (aliases included). Values above
    /// [`MAX_DEPTH_CAP`] are treated as that cap: the rules walk trees recursively.
    pub max_depth: usize,
}

/// Hard ceiling on `max_depth`, whatever the caller asks for, to keep recursion bounded.
pub const MAX_DEPTH_CAP: usize = 512;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_documents: 10_000,
            max_nodes: 500_000,
            max_aliases: 10_000,
            max_commit_nodes: 2_000_000,
            max_depth: 100,
        }
    }
}

/// Why a file could not be loaded. Line and column are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file is not valid, or is ambiguous, YAML/JSON.
    #[error("{line}:{column}: {message}")]
    Parse {
        line: u32,
        column: u32,
        message: String,
    },
    /// The file breaks one of the [`Limits`].
    #[error("{line}:{column}: {message}")]
    Limits {
        line: u32,
        column: u32,
        message: String,
    },
}

impl LoadError {
    /// Line and column (1-based) of the error.
    pub fn position(&self) -> (u32, u32) {
        match self {
            LoadError::Parse { line, column, .. } | LoadError::Limits { line, column, .. } => {
                (*line, *column)
            }
        }
    }

    /// The message without the position.
    pub fn message(&self) -> &str {
        match self {
            LoadError::Parse { message, .. } | LoadError::Limits { message, .. } => message,
        }
    }

    /// True for budget errors (`manifest-limits`), false for parse errors (`manifest-parse`).
    pub fn is_limits(&self) -> bool {
        matches!(self, LoadError::Limits { .. })
    }
}

fn parse_err(line: u32, column: u32, message: impl Into<String>) -> LoadError {
    LoadError::Parse {
        line,
        column,
        message: message.into(),
    }
}

fn limit_err(line: u32, column: u32, message: impl Into<String>) -> LoadError {
    LoadError::Limits {
        line,
        column,
        message: message.into(),
    }
}

/// A mapping key with its position.
#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    pub line: u32,
    pub column: u32,
}

/// A loaded value with the position (1-based) where it starts in the file.
#[derive(Debug, Clone)]
pub struct Node {
    pub value: Value,
    pub line: u32,
    pub column: u32,
}

/// The JSON-like value go-yaml v2 would hand to Kubernetes.
#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    /// Go's int64 and uint64 both fit.
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys are unique (a key repeated with another value is rejected while loading, one
    /// repeated with the same value is kept once); order is the file's.
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The key of `key` when this is a mapping (for positions of keys).
    pub fn key(&self, key: &str) -> Option<&Key> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k),
            _ => None,
        }
    }

    /// Follows a chain of mapping keys.
    pub fn path(&self, keys: &[&str]) -> Option<&Node> {
        let mut node = self;
        for key in keys {
            node = node.get(key)?;
        }
        Some(node)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Integers, and floats with an integral value (JSON decoding into int64 accepts `8.0`).
    pub fn as_int(&self) -> Option<i128> {
        match &self.value {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i128),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_map(&self) -> &[(Key, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A canonical JSON-like text with sorted keys, for comparing values regardless of
    /// positions and key order. Depth is bounded by the loader's `max_depth`.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        self.write_canonical(&mut out);
        out
    }

    fn write_canonical(&self, out: &mut String) {
        match &self.value {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&format!("{f:?}")),
            Value::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        _ => out.push(c),
                    }
                }
                out.push('"');
            }
            Value::Seq(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write_canonical(out);
                }
                out.push(']');
            }
            Value::Map(entries) => {
                let mut sorted: Vec<&(Key, Node)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.name.cmp(&b.0.name));
                out.push('{');
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    Node {
                        value: Value::Str(k.name.clone()),
                        line: 0,
                        column: 0,
                    }
                    .write_canonical(out);
                    out.push(':');
                    v.write_canonical(out);
                }
                out.push('}');
            }
        }
    }

    /// Same value, ignoring positions and key order (the cluster sees no difference).
    pub fn same_as(&self, other: &Node) -> bool {
        match (&self.value, &other.value) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Seq(a), Value::Seq(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                if a.len() != b.len() {
                    return false;
                }
                if a.iter().zip(b).all(|((ka, _), (kb, _))| ka.name == kb.name) {
                    return a.iter().zip(b).all(|((_, va), (_, vb))| va.same_as(vb));
                }
                let mut sa: Vec<&(Key, Node)> = a.iter().collect();
                let mut sb: Vec<&(Key, Node)> = b.iter().collect();
                sa.sort_by(|x, y| x.0.name.cmp(&y.0.name));
                sb.sort_by(|x, y| x.0.name.cmp(&y.0.name));
                sa.iter()
                    .zip(sb)
                    .all(|(x, y)| x.0.name == y.0.name && x.1.same_as(&y.1))
            }
            _ => false,
        }
    }

    /// A short human rendering for messages: strings as they are, anything else as JSON.
    pub fn display(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            _ => self.canonical(),
        }
    }
}

/// Loads every document of a file. Documents that are empty or null are dropped, as the
/// cluster drops them. JSON files go through the same reader (JSON is YAML flow syntax) and
/// get the same ambiguity checks (a key repeated with another value in JSON is refused too).
pub fn load(bytes: &[u8], limits: &Limits) -> Result<Vec<Node>, LoadError> {
    load_with_stats(bytes, limits, &mut LoadStats::default())
}

/// How much work a load did: lets tests bound the cost of hostile input by counts, not time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Parser events pulled.
    pub events: usize,
    /// Nodes built, alias expansions counted in full.
    pub nodes: usize,
    /// Non-empty documents seen.
    pub documents: usize,
}

/// [`load`], reporting the work done in `stats` (also when it fails).
pub fn load_with_stats(
    bytes: &[u8],
    limits: &Limits,
    stats: &mut LoadStats,
) -> Result<Vec<Node>, LoadError> {
    let chunks = load_chunks(bytes, limits, stats, &|_| false)?;
    Ok(chunks.into_iter().filter_map(|c| c.doc).collect())
}

/// One `---`-separated document of a file, as loaded.
#[derive(Debug)]
pub struct LoadedChunk<'a> {
    /// The document's text, exactly as in the file.
    pub text: &'a str,
    /// 1-based line where the text starts.
    pub first_line: u32,
    /// The document, or None when it is empty/null or was skipped.
    pub doc: Option<Node>,
    /// True when `skip` said the text need not be parsed.
    pub skipped: bool,
}

/// Loads a file document by document. Documents whose text `skip` accepts are not parsed (the
/// caller already holds an identical document) but still count against `max_documents`.
pub fn load_chunks<'a>(
    bytes: &'a [u8],
    limits: &Limits,
    stats: &mut LoadStats,
    skip: &dyn Fn(&str) -> bool,
) -> Result<Vec<LoadedChunk<'a>>, LoadError> {
    load_chunks_with(bytes, limits, stats, skip, Reader::Fast)
}

/// [`load`] with saphyr alone, never the fast reader: what the fast reader is held to (tests
/// and the `yaml_load` fuzz target compare the two).
#[doc(hidden)]
pub fn load_saphyr_only(bytes: &[u8], limits: &Limits) -> Result<Vec<Node>, LoadError> {
    let mut stats = LoadStats::default();
    let chunks = load_chunks_with(bytes, limits, &mut stats, &|_| false, Reader::Saphyr)?;
    Ok(chunks.into_iter().filter_map(|c| c.doc).collect())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// The fast reader for the documents in its subset, saphyr for the rest.
    Fast,
    Saphyr,
}

fn load_chunks_with<'a>(
    bytes: &'a [u8],
    limits: &Limits,
    stats: &mut LoadStats,
    skip: &dyn Fn(&str) -> bool,
    reader: Reader,
) -> Result<Vec<LoadedChunk<'a>>, LoadError> {
    if bytes.len() > limits.max_bytes {
        return Err(limit_err(
            1,
            1,
            format!(
                "file is {} bytes, more than the limit of {} bytes",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let (line, column) = position_of(bytes, e.valid_up_to());
            return Err(parse_err(line, column, "file is not valid UTF-8"));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut nodes_budget = Budget {
        used: 0,
        max: limits.max_nodes,
        copy_bytes: 0,
        max_copy_bytes: limits.max_bytes,
        aliases: 0,
        max_aliases: limits.max_aliases,
    };
    let mut count = 0usize;
    for chunk in split_documents(text)? {
        if chunk.text.trim().is_empty() {
            continue;
        }
        count += 1;
        stats.documents = count;
        if count > limits.max_documents {
            return Err(limit_err(
                chunk.first_line,
                1,
                format!(
                    "more than {} documents in one file (limit)",
                    limits.max_documents
                ),
            ));
        }
        if skip(chunk.text) {
            out.push(LoadedChunk {
                text: chunk.text,
                first_line: chunk.first_line,
                doc: None,
                skipped: true,
            });
            continue;
        }
        let loaded = load_chunk(&chunk, limits, &mut nodes_budget, &mut stats.events, reader);
        stats.nodes = nodes_budget.used;
        out.push(LoadedChunk {
            text: chunk.text,
            first_line: chunk.first_line,
            doc: loaded?.filter(|node| !node.is_null()),
            skipped: false,
        });
    }
    Ok(out)
}

fn position_of(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    (to_u32(line), to_u32(column))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(crate) struct Chunk<'a> {
    pub(crate) text: &'a str,
    /// 1-based line of the chunk's first line in the file.
    pub(crate) first_line: u32,
}

/// Splits like k8s.io/apimachinery's YAMLReader: a line starting with `---` ends a document
/// when only blanks or a comment follow; anything else after `---` is an error there, so it
/// is one here.
pub(crate) fn split_documents(text: &str) -> Result<Vec<Chunk<'_>>, LoadError> {
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    for (idx, line) in text.split_inclusive('\n').enumerate() {
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim();
            if rest.is_empty() || rest.starts_with('#') {
                chunks.push(Chunk {
                    text: text.get(start..offset).unwrap_or(""),
                    first_line: to_u32(start_line),
                });
                start = offset + line.len();
                start_line = idx + 2;
            } else {
                return Err(parse_err(
                    to_u32(idx + 1),
                    4,
                    format!(
                        "content after the document separator `---` (`{}`): Kubernetes' YAML reader rejects it",
                        truncate(rest, 40)
                    ),
                ));
            }
        }
        offset += line.len();
    }
    chunks.push(Chunk {
        text: text.get(start..).unwrap_or(""),
        first_line: to_u32(start_line),
    });
    Ok(chunks)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

#[derive(Clone)]
struct Budget {
    used: usize,
    max: usize,
    /// String bytes held by anchor copies and alias expansions.
    copy_bytes: usize,
    max_copy_bytes: usize,
    /// Alias uses so far, against `max_aliases`.
    aliases: usize,
    max_aliases: usize,
}

/// Bytes of the strings (keys and scalars) in a subtree; depth is bounded by the loader.
fn string_bytes(node: &Node, depth: usize) -> usize {
    if depth > MAX_DEPTH_CAP {
        return 0;
    }
    match &node.value {
        Value::Str(s) => s.len(),
        Value::Seq(items) => items.iter().map(|n| string_bytes(n, depth + 1)).sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| k.name.len() + string_bytes(v, depth + 1))
            .sum(),
        _ => 0,
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        anchor: usize,
        line: u32,
        column: u32,
        start_nodes: usize,
        height: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        /// Key name -> index in `entries`, filled once the map is large.
        seen: HashMap<String, usize>,
        pending: Option<Key>,
        /// For a pending key that repeats an earlier one: that entry's index.
        repeats: Option<usize>,
        anchor: usize,
        line: u32,
        column: u32,
        start_nodes: usize,
        height: usize,
    },
}

/// A finished node plus what the alias budget needs to know about it.
struct Done {
    node: Node,
    anchor: usize,
    size: usize,
    height: usize,
}

/// Loads one document: through the fast reader when the document is in its subset, else (or
/// when the fast reader's events are refused, so that every error is saphyr's) through saphyr.
fn load_chunk(
    chunk: &Chunk<'_>,
    limits: &Limits,
    budget: &mut Budget,
    events: &mut usize,
    reader: Reader,
) -> Result<Option<Node>, LoadError> {
    let fast = match reader {
        Reader::Fast => crate::fastyaml::events(chunk.text),
        Reader::Saphyr => None,
    };
    if let Some(fast) = fast {
        let (saved, counted) = (budget.clone(), *events);
        let mut it = fast.into_iter();
        match build(chunk, limits, budget, events, &mut || it.next().map(Ok)) {
            Ok(root) => return Ok(root),
            Err(_) => {
                *budget = saved;
                *events = counted;
            }
        }
    }
    let mut parser = Parser::new_from_str(chunk.text);
    build(chunk, limits, budget, events, &mut || parser.next_event())
}

/// saphyr's events, however they were read.
type NextEvent<'n, 'a> = dyn FnMut() -> Option<Result<(Event<'a>, Span), ScanError>> + 'n;

fn build<'a>(
    chunk: &Chunk<'a>,
    limits: &Limits,
    budget: &mut Budget,
    events: &mut usize,
    next_event: &mut NextEvent<'_, 'a>,
) -> Result<Option<Node>, LoadError> {
    let line_base = chunk.first_line.saturating_sub(1);
    let pos = |line: usize, col: usize| -> (u32, u32) {
        (
            line_base.saturating_add(to_u32(line)),
            to_u32(col).saturating_add(1),
        )
    };
    let max_depth = limits.max_depth.min(MAX_DEPTH_CAP);
    let mut stack: Vec<Frame> = Vec::new();
    // anchor id -> (copy, nodes, height, string bytes)
    let mut anchors: HashMap<usize, (Node, usize, usize, usize)> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut in_document = false;
    loop {
        *events += 1;
        let (event, span) = match next_event() {
            None => break,
            Some(Ok(ev)) => ev,
            Some(Err(e)) => {
                let (line, column) = pos(e.marker().line(), e.marker().col());
                if e.info().contains("recursion limit") {
                    // The scanner's own flow-nesting guard fired before ours.
                    return Err(limit_err(
                        line,
                        column,
                        format!("nesting too deep ({})", e.info()),
                    ));
                }
                return Err(parse_err(
                    line,
                    column,
                    format!("YAML syntax: {}", e.info()),
                ));
            }
        };
        let (line, column) = pos(span.start.line(), span.start.col());
        let is_map = matches!(event, Event::MappingStart(..));
        let done = match event {
            Event::StreamStart | Event::Nothing => continue,
            Event::DocumentStart(_) => {
                in_document = true;
                continue;
            }
            // go-yaml v2 (kubectl, Argo CD) decodes only the first document of a chunk, while
            // kustomize's reader decodes every one: a second document after `...` would be
            // applied by one and not the other, so it is refused.
            Event::DocumentEnd | Event::StreamEnd => {
                if in_document {
                    *events += 1;
                    if let Some(Ok((Event::DocumentStart(_), span))) = next_event() {
                        let (line, column) = pos(span.start.line(), span.start.col());
                        return Err(parse_err(
                            line,
                            column,
                            "a second document in the same `---` chunk (after `...`): kubectl and Argo CD ignore it, kustomize applies it; separate documents with `---`",
                        ));
                    }
                    break;
                }
                continue;
            }
            Event::Alias(id) => {
                let Some((node, size, height, bytes)) = anchors.get(&id) else {
                    return Err(parse_err(line, column, "alias to an unknown anchor"));
                };
                budget.aliases += 1;
                if budget.aliases > budget.max_aliases {
                    return Err(limit_err(
                        line,
                        column,
                        format!(
                            "more than {} aliases in one file (limit)",
                            budget.max_aliases
                        ),
                    ));
                }
                // Nodes are counted, but one node can be a long string: copies are also
                // bounded in bytes (at most the file's own size limit).
                budget.copy_bytes = budget.copy_bytes.saturating_add(*bytes);
                if budget.copy_bytes > budget.max_copy_bytes {
                    return Err(limit_err(
                        line,
                        column,
                        format!(
                            "alias expansion copies more than {} bytes (alias bomb?)",
                            budget.max_copy_bytes
                        ),
                    ));
                }
                if budget.used.saturating_add(*size) > budget.max {
                    return Err(limit_err(
                        line,
                        column,
                        format!(
                            "alias expansion exceeds the limit of {} nodes (alias bomb?)",
                            budget.max
                        ),
                    ));
                }
                if stack.len() + height > max_depth {
                    return Err(limit_err(
                        line,
                        column,
                        format!(
                            "nesting deeper than {} levels after alias expansion",
                            max_depth
                        ),
                    ));
                }
                budget.used += size;
                let mut node = node.clone();
                node.line = line;
                node.column = column;
                Done {
                    node,
                    anchor: 0,
                    size: *size,
                    height: *height,
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                take_node(budget, line, column)?;
                let in_key_position =
                    matches!(stack.last(), Some(Frame::Map { pending: None, .. }));
                let value = resolve_scalar(&text, style, tag.as_deref(), line, column)?;
                if in_key_position {
                    let name = match value {
                        Value::Str(s)
                            if s == "<<" && style == ScalarStyle::Plain && tag.is_none() =>
                        {
                            return Err(parse_err(
                                line,
                                column,
                                "merge key `<<`: go-yaml v2 and kustomize disagree on which value wins; write the keys out",
                            ));
                        }
                        Value::Str(s) => s,
                        _ => {
                            return Err(parse_err(
                                line,
                                column,
                                format!(
                                    "non-string key `{}`: Kubernetes would turn it into a string; quote it",
                                    truncate(&text, 40)
                                ),
                            ));
                        }
                    };
                    if let Some(Frame::Map {
                        pending,
                        seen,
                        entries,
                        repeats,
                        ..
                    }) = stack.last_mut()
                    {
                        // Small maps: a linear scan is cheaper than hashing every key. A
                        // repeated key is decided when its value is complete (see below).
                        *repeats = if entries.len() < 16 {
                            entries.iter().position(|(k, _)| k.name == name)
                        } else {
                            if seen.is_empty() {
                                seen.extend(
                                    entries
                                        .iter()
                                        .enumerate()
                                        .map(|(i, (k, _))| (k.name.clone(), i)),
                                );
                            }
                            match seen.get(&name) {
                                Some(i) => Some(*i),
                                None => {
                                    seen.insert(name.clone(), entries.len());
                                    None
                                }
                            }
                        };
                        *pending = Some(Key { name, line, column });
                    }
                    if anchor != 0 {
                        anchors.insert(
                            anchor,
                            (
                                Node {
                                    value: Value::Str(text.to_string()),
                                    line,
                                    column,
                                },
                                1,
                                0,
                                text.len(),
                            ),
                        );
                    }
                    continue;
                }
                Done {
                    node: Node {
                        value,
                        line,
                        column,
                    },
                    anchor,
                    size: 1,
                    height: 0,
                }
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                if matches!(stack.last(), Some(Frame::Map { pending: None, .. })) {
                    return Err(parse_err(
                        line,
                        column,
                        "a mapping or sequence used as a key: not valid in a manifest",
                    ));
                }
                check_collection_tag(tag.as_deref(), is_map, line, column)?;
                take_node(budget, line, column)?;
                if stack.len() + 1 > max_depth {
                    return Err(limit_err(
                        line,
                        column,
                        format!("nesting deeper than {max_depth} levels"),
                    ));
                }
                let start_nodes = budget.used;
                stack.push(if is_map {
                    Frame::Map {
                        entries: Vec::new(),
                        seen: HashMap::new(),
                        pending: None,
                        repeats: None,
                        anchor,
                        line,
                        column,
                        start_nodes,
                        height: 0,
                    }
                } else {
                    Frame::Seq {
                        items: Vec::new(),
                        anchor,
                        line,
                        column,
                        start_nodes,
                        height: 0,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = stack.pop() else {
                    return Err(parse_err(line, column, "unbalanced collection end"));
                };
                match frame {
                    Frame::Seq {
                        items,
                        anchor,
                        line,
                        column,
                        start_nodes,
                        height,
                    } => Done {
                        node: Node {
                            value: Value::Seq(items),
                            line,
                            column,
                        },
                        anchor,
                        size: budget.used - start_nodes + 1,
                        height: height + 1,
                    },
                    Frame::Map {
                        entries,
                        anchor,
                        line,
                        column,
                        start_nodes,
                        height,
                        ..
                    } => Done {
                        node: Node {
                            value: Value::Map(entries),
                            line,
                            column,
                        },
                        anchor,
                        size: budget.used - start_nodes + 1,
                        height: height + 1,
                    },
                }
            }
        };
        if done.anchor != 0 {
            // The kept copy costs memory like any node: nested anchors must not multiply it
            // outside the budget.
            if budget.used.saturating_add(done.size) > budget.max {
                return Err(limit_err(
                    line,
                    column,
                    format!(
                        "anchors and their copies exceed the limit of {} nodes",
                        budget.max
                    ),
                ));
            }
            budget.used += done.size;
            let bytes = string_bytes(&done.node, 0);
            budget.copy_bytes = budget.copy_bytes.saturating_add(bytes);
            if budget.copy_bytes > budget.max_copy_bytes {
                return Err(limit_err(
                    line,
                    column,
                    format!(
                        "anchors and their copies exceed {} bytes",
                        budget.max_copy_bytes
                    ),
                ));
            }
            anchors.insert(
                done.anchor,
                (done.node.clone(), done.size, done.height, bytes),
            );
        }
        match stack.last_mut() {
            None => {
                root = Some(done.node);
            }
            Some(Frame::Seq { items, height, .. }) => {
                *height = (*height).max(done.height);
                items.push(done.node);
            }
            Some(Frame::Map {
                entries,
                pending,
                repeats,
                height,
                ..
            }) => {
                *height = (*height).max(done.height);
                let Some(key) = pending.take() else {
                    return Err(parse_err(line, column, "a value used as a key"));
                };
                match repeats.take().and_then(|i| entries.get(i)) {
                    None => entries.push((key, done.node)),
                    // The same value again: kubectl and Argo CD (last value wins) read what
                    // the first one says, and kustomize refuses the file; keep the first.
                    Some((_, first)) if first.same_as(&done.node) => {}
                    Some(_) => {
                        return Err(parse_err(
                            key.line,
                            key.column,
                            format!(
                                "duplicate key `{}` with a different value: kubectl and Argo CD keep the last value, kustomize (Flux) fails; remove one",
                                truncate(&key.name, 60)
                            ),
                        ))
                    }
                }
            }
        }
    }
    Ok(root)
}

fn take_node(budget: &mut Budget, line: u32, column: u32) -> Result<(), LoadError> {
    budget.used += 1;
    if budget.used > budget.max {
        return Err(limit_err(
            line,
            column,
            format!("more than {} nodes in one file (limit)", budget.max),
        ));
    }
    Ok(())
}

/// The core-schema suffix of a `!!x` tag, or None for any other tag.
fn core_suffix(tag: &Tag) -> Option<&str> {
    if tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:" {
        Some(tag.suffix.as_str())
    } else if tag.handle.is_empty() {
        tag.suffix.strip_prefix("tag:yaml.org,2002:")
    } else {
        None
    }
}

fn describe_tag(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

fn check_collection_tag(
    tag: Option<&Tag>,
    is_map: bool,
    line: u32,
    column: u32,
) -> Result<(), LoadError> {
    let Some(tag) = tag else { return Ok(()) };
    match core_suffix(tag) {
        Some("map") if is_map => Ok(()),
        Some("seq") if !is_map => Ok(()),
        _ => Err(parse_err(
            line,
            column,
            format!(
                "tag `{}` on a collection: readers disagree on tags; remove it",
                describe_tag(tag)
            ),
        )),
    }
}

fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    line: u32,
    column: u32,
) -> Result<Value, LoadError> {
    if let Some(tag) = tag {
        // `!` alone is the non-specific tag: the scalar is a string.
        if tag.handle == "!" && tag.suffix.is_empty() {
            return Ok(Value::Str(text.to_string()));
        }
        let resolved = resolve_plain(text);
        let ok = match core_suffix(tag) {
            Some("str") => return Ok(Value::Str(text.to_string())),
            Some("bool") => matches!(resolved, Value::Bool(_)),
            Some("int") => matches!(resolved, Value::Int(_)),
            Some("float") => matches!(resolved, Value::Float(_) | Value::Int(_)),
            Some("null") => matches!(resolved, Value::Null),
            _ => {
                return Err(parse_err(
                    line,
                    column,
                    format!(
                        "tag `{}`: readers disagree on what it means; remove it",
                        describe_tag(tag)
                    ),
                ))
            }
        };
        if !ok {
            return Err(parse_err(
                line,
                column,
                format!(
                    "`{}` cannot be read as tag `{}`",
                    truncate(text, 40),
                    describe_tag(tag)
                ),
            ));
        }
        return Ok(match (core_suffix(tag), resolved) {
            (Some("float"), Value::Int(i)) => Value::Float(i as f64),
            (_, v) => v,
        });
    }
    if style == ScalarStyle::Plain {
        Ok(resolve_plain(text))
    } else {
        Ok(Value::Str(text.to_string()))
    }
}

/// Resolves a plain scalar as go-yaml v2 does (YAML 1.1 booleans, Go integers).
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            return Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            return Value::Bool(false)
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes().first().copied().unwrap_or(b' ');
    if !(first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'.') {
        return Value::Str(text.to_string());
    }
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    if let Some(i) = parse_go_int(&plain) {
        return Value::Int(i);
    }
    if is_yaml_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return Value::Float(f);
        }
    }
    Value::Str(text.to_string())
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`.
fn parse_go_int(s: &str) -> Option<i128> {
    let (negative, signed, body) = if let Some(b) = s.strip_prefix('-') {
        (true, true, b)
    } else if let Some(b) = s.strip_prefix('+') {
        (false, true, b)
    } else {
        (false, false, s)
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower.clone())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) || digits.len() > 70 {
        return None;
    }
    let magnitude = u128::from_str_radix(&digits, radix).ok()?;
    let value = if negative {
        -(i128::try_from(magnitude).ok()?)
    } else {
        i128::try_from(magnitude).ok()?
    };
    let fits_i64 = value >= i128::from(i64::MIN) && value <= i128::from(i64::MAX);
    let fits_u64 = !signed && value >= 0 && value <= i128::from(u64::MAX);
    if fits_i64 || fits_u64 {
        Some(value)
    } else {
        None
    }
}

/// go-yaml v2's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-') | Some(b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(|c| c.is_ascii_digit()) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e') | Some(b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-') | Some(b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}
