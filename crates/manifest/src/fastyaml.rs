//! A fast reader for the block YAML that manifests are nearly always written in, giving the
//! same events as `saphyr-parser`, or nothing.
//!
//! A typical push parses a few small manifests on both sides, and saphyr spends about 300
//! instructions a byte on them (most of a typical push's YAML cost, and three quarters of a
//! commit that changes a thousand manifests). This reader accepts only a strict subset, line by
//! line: block mappings with simple plain keys, block sequences, and single-line scalars (plain,
//! or quoted without escapes), `{}` and `[]`, comments. Anything else in a document (a tab, a
//! carriage return, a byte outside printable ASCII, an anchor, alias, tag, block or flow
//! scalar, a multi-line scalar, a quoted key, indentation it cannot place) makes it give up,
//! and the whole document is read by saphyr instead. What it accepts it turns into exactly the
//! events saphyr gives (kinds, text, style, positions), so the loader above it cannot tell
//! which reader ran: `tests` hold it to saphyr on every manifest of the corpora, on generated
//! documents, and the `yaml_fast` fuzz target does the same with any bytes.
//!
//! It never decides validity: a document it accepts can still be refused by the loader
//! (a repeated key, a non-string key), and then the loader reads it again with saphyr, so an
//! error message is always saphyr's.

use std::borrow::Cow;

use saphyr_parser::{Event, Marker, ScalarStyle, Span};

/// One event and where it starts (saphyr's `Span`, start and end at the same place).
pub(crate) type Spanned<'a> = (Event<'a>, Span);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

struct Open {
    kind: Kind,
    indent: usize,
    /// A map whose last key still waits for its value, and where that key's `:` is (the
    /// position saphyr gives an empty value).
    pending: Option<(usize, usize)>,
}

fn at(line: usize, col: usize) -> Span {
    let m = Marker::new(0, line, col);
    Span::new(m, m)
}

/// The events of one `---`-separated document, or None when it is outside the subset.
pub(crate) fn events(text: &str) -> Option<Vec<Spanned<'_>>> {
    let bytes = text.as_bytes();
    if bytes
        .iter()
        .any(|&b| !(b == b'\n' || (0x20..0x7f).contains(&b)))
    {
        return None;
    }
    let mut out: Vec<Spanned<'_>> = Vec::with_capacity(text.len() / 8);
    let mut stack: Vec<Open> = Vec::new();
    let mut started = false;
    let mut last_line = 1usize;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let indent = raw.bytes().take_while(|&b| b == b' ').count();
        let content = &raw[indent..];
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        last_line = line_no;
        if !started {
            out.push((Event::StreamStart, at(1, 0)));
            out.push((Event::DocumentStart(false), at(line_no, indent)));
            started = true;
        }
        close_deeper(&mut stack, &mut out, indent, line_no)?;
        if content == "-" || content.starts_with("- ") {
            seq_item(&mut stack, &mut out, raw, indent, line_no)?;
        } else {
            key_line(&mut stack, &mut out, raw, indent, line_no)?;
        }
    }
    if !started {
        return Some(vec![
            (Event::StreamStart, at(1, 0)),
            (Event::StreamEnd, at(last_line, 0)),
        ]);
    }
    while let Some(open) = stack.pop() {
        close(open, &mut out, last_line + 1)?;
    }
    out.push((Event::DocumentEnd, at(last_line + 1, 0)));
    out.push((Event::StreamEnd, at(last_line + 1, 0)));
    Some(out)
}

/// Ends every collection deeper than `indent`.
fn close_deeper<'a>(
    stack: &mut Vec<Open>,
    out: &mut Vec<Spanned<'a>>,
    indent: usize,
    line_no: usize,
) -> Option<()> {
    while stack.last().is_some_and(|o| o.indent > indent) {
        let open = stack.pop()?;
        close(open, out, line_no)?;
    }
    Some(())
}

/// Opens a block collection whose entries sit at `indent`, saphyr placing it at `col`.
fn start(
    stack: &mut Vec<Open>,
    out: &mut Vec<Spanned<'_>>,
    kind: Kind,
    indent: usize,
    line_no: usize,
    col: usize,
) {
    let event = match kind {
        Kind::Map => Event::MappingStart(0, None),
        Kind::Seq => Event::SequenceStart(0, None),
    };
    out.push((event, at(line_no, col)));
    stack.push(Open {
        kind,
        indent,
        pending: None,
    });
}

fn close<'a>(open: Open, out: &mut Vec<Spanned<'a>>, line_no: usize) -> Option<()> {
    if let Some((l, c)) = open.pending {
        out.push((
            Event::Scalar(Cow::Borrowed(""), ScalarStyle::Plain, 0, None),
            at(l, c),
        ));
    }
    let end = match open.kind {
        Kind::Map => Event::MappingEnd,
        Kind::Seq => Event::SequenceEnd,
    };
    out.push((end, at(line_no, 0)));
    Some(())
}

/// `- ...` at `indent`.
fn seq_item<'a>(
    stack: &mut Vec<Open>,
    out: &mut Vec<Spanned<'a>>,
    raw: &'a str,
    indent: usize,
    line_no: usize,
) -> Option<()> {
    // Where the item's content starts.
    let after = &raw[indent + 1..];
    let gap = after.bytes().take_while(|&b| b == b' ').count();
    let col = indent + 1 + gap;
    let content = &raw[col..];
    if content.is_empty() || content.starts_with('#') || content == "-" || content.starts_with("- ")
    {
        return None;
    }
    match stack.last_mut() {
        Some(o) if o.kind == Kind::Seq && o.indent == indent => {}
        Some(o) if o.kind == Kind::Map && o.pending.is_some() && o.indent <= indent => {
            // The value of the map's pending key: indentless when at the key's own indent
            // (saphyr then places the sequence at the first item's content).
            let compact = o.indent == indent;
            o.pending = None;
            let at_col = if compact { col } else { indent };
            start(stack, out, Kind::Seq, indent, line_no, at_col);
        }
        None if out.len() == 2 => {
            start(stack, out, Kind::Seq, indent, line_no, indent);
        }
        _ => return None,
    }
    if let Some((key, key_end)) = key_of(content) {
        start(stack, out, Kind::Map, col, line_no, col);
        return entry(stack, out, raw, col, key, key_end, line_no);
    }
    if let Some(kind) = empty_flow(content) {
        push_empty_flow(out, kind, line_no, col);
        return Some(());
    }
    let (value, style, vcol) = scalar(raw, col)?;
    out.push((Event::Scalar(value, style, 0, None), at(line_no, vcol)));
    Some(())
}

fn push_empty_flow(out: &mut Vec<Spanned<'_>>, kind: Kind, line_no: usize, col: usize) {
    let (start, end) = match kind {
        Kind::Map => (Event::MappingStart(0, None), Event::MappingEnd),
        Kind::Seq => (Event::SequenceStart(0, None), Event::SequenceEnd),
    };
    out.push((start, at(line_no, col)));
    out.push((end, at(line_no, col + 1)));
}

/// `key: ...` at `indent`.
fn key_line<'a>(
    stack: &mut Vec<Open>,
    out: &mut Vec<Spanned<'a>>,
    raw: &'a str,
    indent: usize,
    line_no: usize,
) -> Option<()> {
    let content = &raw[indent..];
    let (key, key_end) = key_of(content)?;
    // An indentless sequence at this indent was the value of the key before: it ends here.
    if stack
        .last()
        .is_some_and(|o| o.kind == Kind::Seq && o.indent == indent)
    {
        let open = stack.pop()?;
        let below_is_map_here = stack
            .last()
            .is_some_and(|o| o.kind == Kind::Map && o.indent == indent);
        if !below_is_map_here {
            return None;
        }
        close(open, out, line_no)?;
    }
    match stack.last_mut() {
        Some(o) if o.kind == Kind::Map && o.indent == indent => {
            if let Some((l, c)) = o.pending.take() {
                out.push((
                    Event::Scalar(Cow::Borrowed(""), ScalarStyle::Plain, 0, None),
                    at(l, c),
                ));
            }
        }
        Some(o) if o.kind == Kind::Map && o.indent < indent && o.pending.is_some() => {
            o.pending = None;
            start(stack, out, Kind::Map, indent, line_no, indent);
        }
        None if out.len() == 2 => {
            start(stack, out, Kind::Map, indent, line_no, indent);
        }
        _ => return None,
    }
    entry(stack, out, raw, indent, key, key_end, line_no)
}

/// A key (at column `col` of `raw`, `key_end` bytes long) and its value on the same line, or
/// the key alone waiting for a nested value.
fn entry<'a>(
    stack: &mut [Open],
    out: &mut Vec<Spanned<'a>>,
    raw: &'a str,
    col: usize,
    key: &'a str,
    key_end: usize,
    line_no: usize,
) -> Option<()> {
    out.push((
        Event::Scalar(Cow::Borrowed(key), ScalarStyle::Plain, 0, None),
        at(line_no, col),
    ));
    let colon = col + key_end;
    let rest = &raw[colon + 1..];
    let gap = rest.bytes().take_while(|&b| b == b' ').count();
    let vcol = colon + 1 + gap;
    let value = &raw[vcol..];
    if value.is_empty() || value.starts_with('#') {
        if !value.is_empty() && gap == 0 {
            return None;
        }
        let open = stack.last_mut()?;
        open.pending = Some((line_no, colon));
        return Some(());
    }
    if let Some(kind) = empty_flow(value) {
        push_empty_flow(out, kind, line_no, vcol);
        return Some(());
    }
    let (text, style, scol) = scalar(raw, vcol)?;
    out.push((Event::Scalar(text, style, 0, None), at(line_no, scol)));
    Some(())
}

/// `{}` or `[]`, alone or before a comment.
fn empty_flow(value: &str) -> Option<Kind> {
    let kind = if value.starts_with("{}") {
        Kind::Map
    } else if value.starts_with("[]") {
        Kind::Seq
    } else {
        return None;
    };
    let rest = &value[2..];
    let trimmed = rest.trim_start_matches(' ');
    (trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())).then_some(kind)
}

fn is_key_start(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/')
}

/// `name:` followed by a space or the end of the line: the key and the length of its name.
fn key_of(content: &str) -> Option<(&str, usize)> {
    let bytes = content.as_bytes();
    if !bytes.first().is_some_and(|&b| is_key_start(b)) {
        return None;
    }
    let len = bytes.iter().take_while(|&&b| is_key_byte(b)).count();
    if bytes.get(len) != Some(&b':') {
        return None;
    }
    match bytes.get(len + 1) {
        None | Some(b' ') => Some((&content[..len], len)),
        _ => None,
    }
}

/// A scalar that starts at column `col` and ends on this line: its text, style and the column
/// saphyr reports for it.
fn scalar(raw: &str, col: usize) -> Option<(Cow<'_, str>, ScalarStyle, usize)> {
    let value = &raw[col..];
    let first = *value.as_bytes().first()?;
    match first {
        b'"' | b'\'' => {
            let body = &value[1..];
            let close = body.find(first as char)?;
            let inner = &body[..close];
            if first == b'"' && inner.contains('\\') {
                return None;
            }
            let after = &body[close + 1..];
            // `''` inside single quotes is an escaped quote.
            if first == b'\'' && after.starts_with('\'') {
                return None;
            }
            if !comment_or_nothing(after) {
                return None;
            }
            let style = if first == b'"' {
                ScalarStyle::DoubleQuoted
            } else {
                ScalarStyle::SingleQuoted
            };
            Some((Cow::Borrowed(inner), style, col))
        }
        b'-' | b'?' | b':' => {
            // An indicator starts a plain scalar only before a character that is not a space.
            if first != b'-' {
                return None;
            }
            let next = value.as_bytes().get(1).copied();
            if next.is_none() || next == Some(b' ') {
                return None;
            }
            plain(value).map(|t| (Cow::Borrowed(t), ScalarStyle::Plain, col))
        }
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%'
        | b'@' | b'`' => None,
        _ => plain(value).map(|t| (Cow::Borrowed(t), ScalarStyle::Plain, col)),
    }
}

/// A plain scalar that runs to the end of the line or to a comment: its text, trailing spaces
/// removed. None when it holds `: ` or ends in `:` (a mapping where a value should be).
fn plain(value: &str) -> Option<&str> {
    let end = value.find(" #").unwrap_or(value.len());
    let text = value[..end].trim_end_matches(' ');
    if text.contains(": ") || text.ends_with(':') {
        return None;
    }
    Some(text)
}

fn comment_or_nothing(after: &str) -> bool {
    let trimmed = after.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < after.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use saphyr_parser::Parser;
    use std::path::{Path, PathBuf};

    /// An event as the loader reads it: kind, text, style, anchor, tag, and where it starts
    /// (the loader takes no position from an end or a document marker).
    fn shown(ev: &Event<'_>, span: &Span) -> String {
        let p = format!("@{}:{}", span.start.line(), span.start.col());
        match ev {
            Event::Scalar(t, style, anchor, tag) => {
                format!("S {t:?} {style:?} {anchor} {tag:?} {p}")
            }
            Event::MappingStart(a, tag) => format!("M {a} {tag:?} {p}"),
            Event::SequenceStart(a, tag) => format!("Q {a} {tag:?} {p}"),
            Event::MappingEnd => "m".into(),
            Event::SequenceEnd => "q".into(),
            Event::DocumentStart(explicit) => format!("D {explicit}"),
            Event::DocumentEnd => "d".into(),
            Event::StreamStart => "T".into(),
            Event::StreamEnd => "t".into(),
            Event::Alias(a) => format!("A {a} {p}"),
            Event::Nothing => "N".into(),
        }
    }

    fn saphyr(text: &str) -> Result<Vec<String>, String> {
        let mut p = Parser::new_from_str(text);
        let mut out = Vec::new();
        while let Some(ev) = p.next_event() {
            let (ev, span) = ev.map_err(|e| e.to_string())?;
            out.push(shown(&ev, &span));
        }
        Ok(out)
    }

    /// Whether the fast reader took `text`; panics when it took it and saphyr reads it
    /// otherwise (or refuses it).
    fn agrees(text: &str, what: &str) -> bool {
        let Some(fast) = events(text) else {
            return false;
        };
        let fast: Vec<String> = fast.iter().map(|(e, s)| shown(e, s)).collect();
        let slow = saphyr(text);
        match slow {
            Ok(slow) if slow == fast => true,
            Ok(slow) => {
                let at = slow.iter().zip(&fast).position(|(a, b)| a != b);
                panic!(
                    "{what}: the fast reader and saphyr disagree at event {at:?}\nfast:   {fast:?}\nsaphyr: {slow:?}\ntext:\n{text}"
                )
            }
            Err(e) => {
                panic!("{what}: the fast reader took a document saphyr refuses ({e}):\n{text}")
            }
        }
    }

    fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else {
                out.push(p);
            }
        }
    }

    #[test]
    fn small_cases_agree_with_saphyr() {
        let taken = [
            "a: 1\nb:\nc:\n  - x\n  - \"q\"\nd:\n- e: f\n  g:\n  h: 'i'\nj: {}\nk: []\n# c\nl: v # comment\nm:   spaced\n",
            "# lead\na:\n- x\n- y\nb:\n  -   k: 1\n      l: 2\n  - m\nc:\n  d:\n  - e\n  f: g\n",
            "- a\n- b: c\n  d:\n  - e\n",
            "  a: 1\n  b: x:y\n",
            "a:\n  b:\n    c:\n",
            "a: http://x:80/y#z\nb: -1\nc: --flag\nd: a,b[c]{d}\n",
            "a: 'x # y'\nb: \"x # y\"  # z\nc: x#y\n",
            "a: {}  # e\nb: []\n",
            "- {}\n- []  # c\n- x\n",
        ];
        for (i, text) in taken.iter().enumerate() {
            assert!(
                agrees(text, &format!("case {i}")),
                "case {i} not taken:\n{text}"
            );
        }
        // Outside the subset: saphyr reads these.
        let refused = [
            "a: |\n  x\n",
            "a: >\n  x\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: [1, 2]\n",
            "a: {b: 1}\n",
            "a: b\n  c\n",
            "a:\n  b\n",
            "\"a\": 1\n",
            "a: \"x\\ny\"\n",
            "a: 'it''s'\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: caf\u{e9}\n",
            "a: b: c\n",
            "a: b:\n",
            "? a\n: b\n",
            "a : b\n",
            "- - a\n",
            "-\n  a: b\n",
            "a: 1\n b: 2\n",
            "  a: 1\nb: 2\n",
            "a\n",
            "{\"a\": 1}\n",
            "a: - b\n",
            "- {a: 1}\n",
            "a: \"x\n  y\"\n",
            "- a\n  - b\n",
            "a: 1\n...\n",
            "%YAML 1.2\n",
        ];
        for (i, text) in refused.iter().enumerate() {
            assert!(
                events(text).is_none(),
                "refused case {i} was taken:\n{text}"
            );
        }
    }

    /// Every document of every YAML and JSON file the project holds: the corpora of real
    /// repositories, the rule fixtures, the fuzzers' corpora. The fast reader must take most
    /// real manifests, and read each it takes as saphyr does.
    #[test]
    fn every_corpus_document_agrees_with_saphyr() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in [
            root.join("tests/fixtures"),
            root.join("../../fuzz/corpus/yaml_load"),
            root.join("../../fuzz/corpus/manifest_judge"),
            root.join("../../fuzz/corpus/kustomize_render"),
            root.join("../../config"),
            root.join("../../../shared/corpus"),
        ] {
            files_under(&dir, &mut files);
        }
        let (mut docs, mut taken, mut real_docs, mut real_taken) = (0, 0, 0, 0);
        for f in &files {
            let Ok(bytes) = std::fs::read(f) else {
                continue;
            };
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            let Ok(chunks) = crate::yaml::split_documents(text) else {
                continue;
            };
            let real = f.extension().is_some_and(|e| e == "yaml" || e == "yml");
            for c in chunks {
                docs += 1;
                real_docs += usize::from(real);
                if agrees(c.text, &f.display().to_string()) {
                    taken += 1;
                    real_taken += usize::from(real);
                }
            }
        }
        println!("fast reader: {taken} of {docs} documents ({real_taken} of {real_docs} in .yaml/.yml files)");
        assert!(docs > 3_000, "corpora missing: {docs} documents");
        assert!(
            real_taken * 2 > real_docs,
            "the fast reader took only {real_taken} of {real_docs} real manifests"
        );
    }

    /// Generated documents mixing the subset with everything near its edges.
    #[test]
    fn generated_documents_agree_with_saphyr() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| -> usize {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        const KEYS: &[&str] = &[
            "a",
            "name",
            "app.kubernetes.io/name",
            "x-y",
            "on",
            "yes",
            "1",
            "_k",
            "a.b",
            "k8s",
            "a b",
            "\"q\"",
            "'q'",
            "a#b",
            "-a",
            ".a",
            "a/b/",
            "image",
        ];
        const VALUES: &[&str] = &[
            "",
            "1",
            "-1",
            "0x1F",
            "0644",
            "1e3",
            ".inf",
            "~",
            "null",
            "yes",
            "No",
            "on",
            "true",
            "x",
            "a b",
            "a #c",
            "a# b",
            "a:b",
            "a: b",
            "a:",
            "http://h:1/p",
            "'q'",
            "\"q\"",
            "'a''b'",
            "\"a\\\"b\"",
            "\"a # b\"",
            "' x '",
            "{}",
            "[]",
            "{} # c",
            "[a]",
            "{a: 1}",
            "&x a",
            "*x",
            "!!str a",
            "!x a",
            "|",
            ">-",
            "%x",
            "@x",
            "`x",
            "?x",
            ":x",
            "-",
            "- a",
            "--a",
            "#c",
            "a ",
            "a  ",
            "\"unterminated",
            "'x' y",
            "a,b",
            "[",
            "]",
            "}",
            "-.5",
            "+1",
            "1_000",
            "0o7",
            "=",
            "<<",
        ];
        // Mostly keys and values of the subset, so that most documents are taken, with the
        // edges mixed in.
        const SAFE_KEYS: &[&str] = &["a", "name", "app.kubernetes.io/name", "x-y", "image"];
        const SAFE_VALUES: &[&str] = &["", "1", "x", "a b", "true", "{}", "'q'", "\"q\"", "a:b"];
        let mut taken = 0;
        for case in 0..30_000 {
            let mut text = String::new();
            // Indents a line may take (the open collections'), and the deeper one a key with
            // no value on its line opens: mostly valid documents, with a wrong indent now and
            // then.
            let mut levels: Vec<usize> = vec![0];
            let mut deeper: Option<usize> = None;
            let lines = 1 + next(12);
            // Half the documents stay inside the subset's keys and values.
            let edges = if next(2) == 0 { 0 } else { 4 };
            for _ in 0..lines {
                let r = next(100);
                if r < 5 {
                    text.push_str(&" ".repeat(next(6)));
                    text.push_str("# comment\n");
                    continue;
                }
                if r < 8 {
                    text.push('\n');
                    continue;
                }
                let mut indent = match deeper.take() {
                    Some(d) if next(4) != 0 => {
                        levels.push(d);
                        d
                    }
                    _ => {
                        let pick = next(levels.len());
                        levels.truncate(pick + 1);
                        levels[pick]
                    }
                };
                if next(40) == 0 {
                    indent += 1 + next(2);
                }
                let seq = next(3) == 0;
                text.push_str(&" ".repeat(indent));
                let mut col = indent;
                if seq {
                    text.push('-');
                    let gap = 1 + usize::from(next(8) == 0) * next(3);
                    text.push_str(&" ".repeat(gap));
                    col += 1 + gap;
                }
                if !seq || next(3) != 0 {
                    text.push_str(if next(5) < edges {
                        KEYS[next(KEYS.len())]
                    } else {
                        SAFE_KEYS[next(SAFE_KEYS.len())]
                    });
                    text.push(':');
                    let v = if next(16) < edges {
                        VALUES[next(VALUES.len())]
                    } else {
                        SAFE_VALUES[next(SAFE_VALUES.len())]
                    };
                    if !v.is_empty() {
                        text.push_str(&" ".repeat(1 + usize::from(next(6) == 0)));
                        text.push_str(v);
                    } else {
                        deeper = Some(col + if next(3) == 0 { 0 } else { 2 });
                    }
                    if next(10) == 0 {
                        text.push_str(" # c");
                    }
                    if seq {
                        levels.push(col);
                    }
                } else if next(16) < edges {
                    text.push_str(VALUES[next(VALUES.len())]);
                } else {
                    text.push_str(SAFE_VALUES[1 + next(SAFE_VALUES.len() - 1)]);
                }
                text.push('\n');
            }
            if agrees(&text, &format!("generated case {case}")) {
                taken += 1;
            }
        }
        println!("fast reader took {taken} of 30000 generated documents");
        assert!(
            taken > 4_000,
            "too few generated documents in the subset: {taken}"
        );
    }
}
