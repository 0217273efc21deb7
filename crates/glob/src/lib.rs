//! The one glob dialect of the policy file: ref names, repository paths and object names.
//!
//! Administrators write `refs/tags/v*`, `clusters/prod/**` and, in a manifest exception,
//! `Deployment team-a/*`; each must mean exactly what the docs say, on every host, and the same
//! thing in the hook and in the manifest rules, so the dialect is ours, small, and lives in this
//! one crate that both use (see `docs/policy.md#globs`):
//!
//! - `*` matches any run of characters except `/`; `?` one character except `/`;
//! - `**` as a whole path component matches zero or more components (`a/**/b` matches `a/b`
//!   and `a/x/y/b`; `clusters/**` matches `clusters` itself and everything below it;
//!   `**/*.yaml` any depth);
//!   elsewhere it is the same as `*`;
//! - `[abc]`, `[a-z]`, `[!a-z]` match one character of (not of) the class, never `/`;
//! - `\` makes the next character literal;
//! - matching is case-sensitive and covers every character of a name, control characters
//!   (a newline) included, like git's own paths.
//!
//! [`Glob::name`] compiles the same syntax for names that have no components (a manifest
//! exception's `Kind namespace/name`): there `/` is an ordinary character, so `*` and `?`
//! match it too.
//!
//! A glob is compiled to an anchored regular expression, so matching is linear in the input.

use regex::bytes::Regex;

/// A run of any bytes. Runs (`*`, `**`) are matched byte by byte: `/` is one byte in UTF-8 and
/// never part of another character, so a run of non-`/` bytes over a `&str` is a run of
/// non-`/` characters, and the compiled program is a few states instead of a UTF-8 automaton
/// (that made compiling a policy's globs most of a push's time). `?` and classes match one
/// whole character.
const ANY_BYTES: &str = "(?s-u:.)*";
/// A run of bytes other than `/`.
const NOT_SLASH_BYTES: &str = "(?-u:[^/])*";

#[derive(Clone, Debug)]
pub struct Glob {
    source: String,
    /// None for a glob without `*`, `?`, `[` or `\`: it matches exactly itself, compared as a
    /// string (most of a policy's refs, emails and repository names; compiling a program for
    /// each was most of the time a policy took to load).
    re: Option<Regex>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GlobError {
    #[error("unclosed `[` in glob {0:?}")]
    UnclosedClass(String),
    #[error("glob {0:?} ends with a lone `\\`")]
    TrailingEscape(String),
    #[error("empty glob")]
    Empty,
}

impl Glob {
    /// A glob over `/`-separated names (refs, repository paths).
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        Glob::compile(pattern, true)
    }

    /// A glob over names without components: `/` is an ordinary character, which `*` and `?`
    /// match like any other.
    pub fn name(pattern: &str) -> Result<Glob, GlobError> {
        Glob::compile(pattern, false)
    }

    fn compile(pattern: &str, components: bool) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        if !pattern.contains(['*', '?', '[', '\\']) {
            return Ok(Glob {
                source: pattern.to_string(),
                re: None,
            });
        }
        let chars: Vec<char> = pattern.chars().collect();
        // `(?s)`: every byte of a name is matched, a newline too (git allows one in a path).
        let mut re = String::from("(?s)^");
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' | '?' if !components => {
                    re.push_str(if c == '*' { ANY_BYTES } else { "." });
                    i += 1;
                }
                '*' if chars.get(i + 1) == Some(&'*') => {
                    let starts_component = i == 0 || chars[i - 1] == '/';
                    let next = chars.get(i + 2);
                    if starts_component && next == Some(&'/') {
                        // `**/`: zero or more whole components.
                        re.push_str("(?:(?-u:[^/])*/)*");
                        i += 3;
                        continue;
                    }
                    if starts_component && next.is_none() {
                        if i == 0 {
                            re.push_str(ANY_BYTES);
                        } else {
                            // `x/**`: `x` itself and everything below it. `x` may be replaced by
                            // a file or a symlink to elsewhere: that changes everything below.
                            re.pop();
                            re.push_str("(?:/(?s-u:.)*)?");
                        }
                        i += 2;
                        continue;
                    }
                    re.push_str(NOT_SLASH_BYTES);
                    i += 2;
                    while chars.get(i) == Some(&'*') {
                        i += 1;
                    }
                }
                '*' => {
                    re.push_str(NOT_SLASH_BYTES);
                    i += 1;
                }
                '?' => {
                    re.push_str("[^/]");
                    i += 1;
                }
                '[' => {
                    let mut j = i + 1;
                    let mut class = String::from("[");
                    if matches!(chars.get(j), Some('!') | Some('^')) {
                        class.push('^');
                        j += 1;
                    }
                    let body_start = j;
                    loop {
                        match chars.get(j) {
                            None => return Err(GlobError::UnclosedClass(pattern.to_string())),
                            Some(']') if j > body_start => break,
                            Some(&ch) => {
                                if ch == '\\' || ch == '[' || ch == '&' || ch == '~' || ch == '^' {
                                    class.push('\\');
                                }
                                class.push(ch);
                                j += 1;
                            }
                        }
                    }
                    class.push(']');
                    if components {
                        // Intersect with "not a slash" so a class never crosses components.
                        re.push_str("[[^/]&&");
                        re.push_str(&class);
                        re.push(']');
                    } else {
                        re.push_str(&class);
                    }
                    i = j + 1;
                }
                '\\' => {
                    let Some(&next) = chars.get(i + 1) else {
                        return Err(GlobError::TrailingEscape(pattern.to_string()));
                    };
                    re.push_str(&regex::escape(&next.to_string()));
                    i += 2;
                }
                other => {
                    re.push_str(&regex::escape(&other.to_string()));
                    i += 1;
                }
            }
        }
        re.push('$');
        // The pattern is built from escaped pieces, so it always compiles; keep the error anyway.
        let re = Regex::new(&re).map_err(|_| GlobError::UnclosedClass(pattern.to_string()))?;
        Ok(Glob {
            source: pattern.to_string(),
            re: Some(re),
        })
    }

    pub fn is_match(&self, text: &str) -> bool {
        match &self.re {
            Some(re) => re.is_match(text.as_bytes()),
            None => text == self.source,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Several globs; matches when any does.
#[derive(Clone, Debug, Default)]
pub struct GlobSet(Vec<Glob>);

impl GlobSet {
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<GlobSet, GlobError> {
        patterns
            .iter()
            .map(|p| Glob::new(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()
            .map(GlobSet)
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.0.iter().any(|g| g.is_match(text))
    }

    /// The first glob that matches, to name it in messages.
    pub fn matching(&self, text: &str) -> Option<&Glob> {
        self.0.iter().find(|g| g.is_match(text))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Glob::new(p).unwrap().is_match(t)
    }

    #[test]
    fn star_stays_in_one_component() {
        assert!(m("refs/heads/*", "refs/heads/main"));
        assert!(!m("refs/heads/*", "refs/heads/feature/x"));
        assert!(m("refs/tags/v*", "refs/tags/v1.2.3"));
        assert!(!m("refs/tags/v*", "refs/tags/release-1"));
        assert!(m("*.yaml", "a.yaml"));
        assert!(!m("*.yaml", "dir/a.yaml"));
    }

    #[test]
    fn double_star_crosses_components() {
        assert!(m("clusters/prod/**", "clusters/prod/a.yaml"));
        assert!(m("clusters/prod/**", "clusters/prod/x/y/z.yaml"));
        assert!(
            m("clusters/prod/**", "clusters/prod"),
            "x/** protects x itself: it may become a file or a symlink"
        );
        assert!(!m("clusters/prod/**", "clusters/prodx"));
        assert!(m("clusters/prod/**", "clusters/prod/evil\nname.yaml"));
        assert!(m("clusters/**/*.yaml", "clusters/a\n/b\x1b.yaml"));
        assert!(m("*.yaml", "new\nline.yaml"));
        assert!(m("**", "a\nb"));
        assert!(!m("clusters/prod/**", "clusters/production/a.yaml"));
        assert!(m("**/*.yaml", "a.yaml"));
        assert!(m("**/*.yaml", "a/b/c.yaml"));
        assert!(m("a/**/b", "a/b"));
        assert!(m("a/**/b", "a/x/y/b"));
        assert!(!m("a/**/b", "a/xb"));
        assert!(m("**", "anything/at/all"));
        assert!(m(
            "clusters/*/flux-system/**",
            "clusters/prod/flux-system/gotk.yaml"
        ));
    }

    #[test]
    fn classes_escapes_and_case() {
        assert!(m("v[0-9]*", "v1.0"));
        assert!(!m("v[!0-9]*", "v1.0"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(!m("Clusters/**", "clusters/a"));
        assert!(m("file?.txt", "file1.txt"));
        assert!(!m("file?.txt", "file/.txt"));
        assert!(m("a.b", "a.b") && !m("a.b", "axb"));
        assert_eq!(
            Glob::new("a[bc").unwrap_err(),
            GlobError::UnclosedClass("a[bc".into())
        );
        assert!(Glob::new("a\\").is_err());
        assert!(Glob::new("").is_err());
    }

    #[test]
    fn names_have_no_components() {
        let n = |p: &str, t: &str| Glob::name(p).unwrap().is_match(t);
        assert!(n("Deployment team-a/*", "Deployment team-a/api"));
        assert!(n("*", "DaemonSet kube-system/cilium"));
        assert!(n("DaemonSet */cil?um", "DaemonSet kube-system/cilium"));
        assert!(!n(
            "DaemonSet kube-system/*",
            "DaemonSet kube-systemx/cilium"
        ));
        assert!(n("Role [a-z]*/r", "Role team/r"));
        assert!(!n("Deployment a", "deployment a"));
        assert!(
            !m("*", "DaemonSet kube-system/cilium"),
            "paths keep components"
        );
    }

    /// The byte-run program matches exactly what the same glob compiled over characters
    /// matches (the form it had before), on every pattern of a generated set against names
    /// with multi-byte characters, newlines and slashes.
    #[test]
    fn byte_runs_match_what_character_runs_match() {
        let unicode_twin = |g: &Glob| {
            let Some(re) = &g.re else {
                return regex::Regex::new(&format!("(?s)^{}$", regex::escape(&g.source))).unwrap();
            };
            regex::Regex::new(
                &re.as_str()
                    .replace(ANY_BYTES, ".*")
                    .replace(NOT_SLASH_BYTES, "[^/]*")
                    .replace("(?s-u:.)", "."),
            )
            .unwrap()
        };
        let tokens = [
            "a", "é", "日", "*", "**", "?", "/", ".", "[a-z]", "[!é]", "\\*", "x",
        ];
        let names = [
            "",
            "a",
            "é",
            "a/é",
            "日/a/x",
            "aé/x",
            "a\nb/é.x",
            "é/é/é",
            "x/",
            "/x",
            "a.é",
            "*",
            "ab/cd/ef",
            "é日",
            "a/b/c/d/é",
            "x\u{1F600}a",
            "\u{1F600}/\u{1F600}",
        ];
        let mut patterns = Vec::new();
        for a in tokens {
            for b in tokens {
                for c in ["", "/", "*", "é", "/**", "?"] {
                    patterns.push(format!("{a}{b}{c}"));
                }
            }
        }
        let mut checked = 0;
        for p in &patterns {
            for (glob, is_name) in [(Glob::new(p), false), (Glob::name(p), true)] {
                let Ok(glob) = glob else { continue };
                let twin = unicode_twin(&glob);
                for n in names {
                    assert_eq!(
                        glob.is_match(n),
                        twin.is_match(n),
                        "pattern {p:?} (name glob: {is_name}) on {n:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 20_000, "{checked}");
    }
}
