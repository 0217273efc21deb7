//! `.gitmodules`: where each submodule is fetched from.
//!
//! A gitlink is a commit id of another repository; what it deploys is decided by the URL in
//! `.gitmodules` (Flux's `recurseSubmodules`, a `git clone --recurse-submodules`). So a URL is a
//! source like a Flux `GitRepository`'s, and changing the URL of a protected submodule changes
//! what the protected path holds. This reads git's config syntax as far as `.gitmodules` uses it:
//! `[submodule "name"]` sections, `key = value` lines, quotes and backslash escapes, `#`/`;`
//! comments. What it cannot read is an error (the caller fails closed), never a guess.

/// One submodule entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Submodule {
    pub name: String,
    pub path: Option<String>,
    pub url: Option<String>,
    /// 1-based line of the `url` (or of the section when there is none).
    pub line: u32,
}

/// Why `.gitmodules` could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(".gitmodules:{line}: {message}")]
pub struct GitmodulesError {
    pub line: u32,
    pub message: String,
}

/// Parses `.gitmodules`.
pub fn parse(bytes: &[u8]) -> Result<Vec<Submodule>, GitmodulesError> {
    let text = std::str::from_utf8(bytes).map_err(|_| GitmodulesError {
        line: 1,
        message: "not UTF-8".into(),
    })?;
    let mut out: Vec<Submodule> = Vec::new();
    let mut in_submodule = false;
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let err = |message: &str| GitmodulesError {
            line,
            message: message.to_string(),
        };
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(rest) = l.strip_prefix('[') {
            let Some(end) = rest.find(']') else {
                return Err(err("a section header without `]`"));
            };
            let header = rest[..end].trim();
            let after = rest[end + 1..].trim();
            if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
                return Err(err("text after a section header"));
            }
            in_submodule = false;
            if let Some(name) = header.strip_prefix("submodule") {
                let name = name.trim();
                let Some(name) = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) else {
                    return Err(err("a submodule section without a quoted name"));
                };
                in_submodule = true;
                out.push(Submodule {
                    name: name.replace("\\\"", "\"").replace("\\\\", "\\"),
                    line,
                    ..Submodule::default()
                });
            }
            continue;
        }
        let (key, value) = match l.split_once('=') {
            Some((k, v)) => (
                k.trim(),
                value_of(v).ok_or_else(|| err("an unterminated quote or a bad escape"))?,
            ),
            None => (l, "true".to_string()),
        };
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(err("a key git would not read"));
        }
        if !in_submodule {
            continue;
        }
        let Some(sub) = out.last_mut() else {
            continue;
        };
        // git keys are case-insensitive; the last value wins, as git reads it.
        match key.to_ascii_lowercase().as_str() {
            "path" => sub.path = Some(value),
            "url" => {
                sub.url = Some(value);
                sub.line = line;
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A value: quotes joined, escapes resolved, an unquoted comment dropped, outer spaces trimmed.
fn value_of(v: &str) -> Option<String> {
    let mut out = String::new();
    let mut quoted = false;
    let mut chars = v.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'b' => {
                    out.pop();
                }
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                _ => return None,
            },
            '#' | ';' if !quoted => break,
            c => out.push(c),
        }
    }
    if quoted {
        return None;
    }
    Some(out.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_git_reads() {
        let subs = parse(
            b"# vendored\n[submodule \"lib\"]\n\tpath = clusters/prod/lib\n\turl = \"https://git.example.com/lib\" ; pinned\n[core]\n\tbare = false\n[submodule \"b\"]\n\tURL = ../b.git\n",
        )
        .unwrap();
        assert_eq!(subs.len(), 2);
        assert_eq!(subs[0].path.as_deref(), Some("clusters/prod/lib"));
        assert_eq!(subs[0].url.as_deref(), Some("https://git.example.com/lib"));
        assert_eq!(subs[0].line, 4);
        assert_eq!(subs[1].url.as_deref(), Some("../b.git"));
        assert!(parse(b"[submodule \"x\"\n").is_err());
        assert!(parse(b"[submodule \"x\"]\nurl = \"open\n").is_err());
    }
}
