//! What a Flux `GitRepository` artifact holds of the repository.
//!
//! source-controller does not hand the checkout to kustomize-controller: it archives it
//! (fluxcd/pkg `artifact/storage`, `Archive`), and the archive leaves out
//! - every symlink (the walk keeps regular files and directories only, and does not enter a
//!   symlinked directory), and
//! - every path the ignore rules exclude (`SourceIgnoreFilter`): the `.sourceignore` file of each
//!   directory, scoped to that directory, then the GitRepository's `spec.ignore`, in the
//!   `.gitignore` dialect of fluxcd/pkg `sourceignore/gitignore` (the last pattern that matches
//!   decides; `!` re-includes). When there is no pattern at all, Flux's default exclusions apply
//!   (CI files, images, archives, `.sops.yaml`…); once any pattern exists anywhere, only the
//!   version-control ones do.
//!
//! A Kustomization renders from that artifact, so what the ignore rules drop is pruned from the
//! cluster. [`SourceArtifact`] is the artifact as a [`RawTree`] over the repository's [`Tree`]: reads go
//! through the outer tree, so every `.sourceignore` consulted (or looked for) is in the root's
//! closure, and so is the object that set `spec.ignore`. Patterns this module cannot match
//! exactly (character classes, escapes, over-long lines, text that is not UTF-8) are refused:
//! guessing would either hide objects from the judge or hide a prune.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use super::tree::{join, RawKind, RawTree, Tree, TreeError};

/// The ignore file source-controller reads in every directory.
pub const IGNORE_FILE: &str = ".sourceignore";

/// fluxcd/pkg `sourceignore`: always excluded.
const EXCLUDE_VCS: &str = ".git/,.gitignore,.gitmodules,.gitattributes";
/// fluxcd/pkg `sourceignore`: excluded only when no pattern is set anywhere.
const EXCLUDE_DEFAULT: &str = "*.jpg,*.jpeg,*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip,\
.github/,.circleci/,.travis.yml,.gitlab-ci.yml,appveyor.yml,.drone.yml,cloudbuild.yaml,\
codeship-services.yml,codeship-steps.yml,**/.goreleaser.yml,**/.sops.yaml,**/.flux.yaml";

/// Go's `bufio.Scanner` stops at a line this long (and source-controller reads no pattern
/// after it): such a file is refused.
const MAX_LINE: usize = 64 * 1024 - 1;

/// One pattern, as fluxcd/pkg `gitignore.ParsePattern` reads it.
#[derive(Debug, Clone)]
struct Pattern {
    /// The directory the pattern was read in (components).
    domain: Vec<String>,
    parts: Vec<Part>,
    inclusion: bool,
    dir_only: bool,
    is_glob: bool,
}

/// What a pattern says of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Exclude,
    Include,
}

impl Pattern {
    fn parse(text: &str, domain: &[String]) -> Result<Pattern, String> {
        let mut p = text;
        let inclusion = p.starts_with('!');
        if inclusion {
            p = &p[1..];
        }
        if !p.ends_with("\\ ") {
            p = p.trim_end_matches(' ');
        }
        let dir_only = p.ends_with('/');
        if dir_only {
            p = &p[..p.len() - 1];
        }
        if p.contains(['[', '\\']) {
            return Err(format!(
                "the pattern `{text}` uses a character class or an escape, which pushguard does not match"
            ));
        }
        Ok(Pattern {
            domain: domain.to_vec(),
            parts: p.split('/').map(Part::new).collect(),
            inclusion,
            dir_only,
            is_glob: p.contains('/'),
        })
    }

    fn verdict(&self, path: &[&str], is_dir: bool) -> Option<Verdict> {
        if path.len() <= self.domain.len() || self.domain.iter().zip(path).any(|(d, p)| d != p) {
            return None;
        }
        let rest = &path[self.domain.len()..];
        let hit = if self.is_glob {
            self.glob_match(rest, is_dir)
        } else {
            self.name_match(rest, is_dir)
        };
        hit.then_some(if self.inclusion {
            Verdict::Include
        } else {
            Verdict::Exclude
        })
    }

    /// A pattern without `/`: the first component it matches decides.
    fn name_match(&self, path: &[&str], is_dir: bool) -> bool {
        let Some(first) = self.parts.first() else {
            return false;
        };
        for (i, name) in path.iter().enumerate() {
            if !first.matches(name) {
                continue;
            }
            return !(self.dir_only && !is_dir && i == path.len() - 1);
        }
        false
    }

    /// A pattern with `/`: matched from the domain on, `**` spanning directories.
    fn glob_match(&self, mut path: &[&str], is_dir: bool) -> bool {
        let mut matched = false;
        let mut traverse = false;
        for (i, part) in self.parts.iter().enumerate() {
            let text = part.text.as_str();
            if text.is_empty() {
                traverse = false;
                continue;
            }
            if text == "**" {
                if i == self.parts.len() - 1 {
                    break;
                }
                traverse = true;
                continue;
            }
            if text.contains("**") {
                return false;
            }
            if path.is_empty() {
                return false;
            }
            if traverse {
                traverse = false;
                while let Some((first, rest)) = path.split_first() {
                    path = rest;
                    if part.matches(first) {
                        matched = true;
                        break;
                    } else if path.is_empty() {
                        matched = false;
                    }
                }
            } else {
                if !part.matches(path[0]) {
                    return false;
                }
                matched = true;
                path = &path[1..];
            }
        }
        if matched && self.dir_only && !is_dir && path.is_empty() {
            matched = false;
        }
        matched
    }
}

/// One `/`-separated part of a pattern, with how it matches a name worked out once.
#[derive(Debug, Clone)]
struct Part {
    text: String,
    how: How,
}

#[derive(Debug, Clone)]
enum How {
    /// No wildcard: the name itself.
    Literal,
    /// `*` then no wildcard: a name ending so.
    Suffix(String),
    General,
}

impl Part {
    fn new(text: &str) -> Part {
        let how = if !text.contains(['*', '?']) {
            How::Literal
        } else {
            match text.strip_prefix('*').filter(|s| !s.contains(['*', '?'])) {
                Some(suffix) => How::Suffix(suffix.to_string()),
                None => How::General,
            }
        };
        Part {
            text: text.to_string(),
            how,
        }
    }

    fn matches(&self, name: &str) -> bool {
        match &self.how {
            How::Literal => self.text == name,
            How::Suffix(s) => name.ends_with(s.as_str()),
            How::General => wildcard(&self.text, name),
        }
    }
}

/// Go's `filepath.Match` for a pattern without classes or escapes: `*` any run of characters,
/// `?` one character.
pub(crate) fn wildcard(pattern: &str, name: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return pattern == name;
    }
    if let Some(suffix) = pattern
        .strip_prefix('*')
        .filter(|s| !s.contains(['*', '?']))
    {
        return name.ends_with(suffix);
    }
    if pattern.is_ascii() && name.is_ascii() {
        return wildcard_of(pattern.as_bytes(), name.as_bytes());
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    wildcard_of(&p, &n)
}

/// [`wildcard`] over characters (or bytes, when both are ASCII).
fn wildcard_of<C: Copy + PartialEq + From<u8>>(p: &[C], n: &[C]) -> bool {
    let (star, any) = (C::from(b'*'), C::from(b'?'));
    let (mut pi, mut ni) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(c) if *c == star => {
                back = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == any || *c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match back {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    back = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == star)
}

/// Patterns of one ignore text (fluxcd/pkg `ReadPatterns`): a line starting with `#` and a
/// blank line are skipped; a `\r` before the line break is dropped.
fn read_patterns(bytes: &[u8], domain: &[String], what: &str) -> Result<Vec<Pattern>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("{what} is not UTF-8 text"))?;
    let mut out = Vec::new();
    for line in text.split('\n') {
        if line.len() > MAX_LINE {
            return Err(format!(
                "{what} has a line over {MAX_LINE} bytes (source-controller stops reading there)"
            ));
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        out.push(Pattern::parse(line, domain).map_err(|e| format!("{what}: {e}"))?);
    }
    Ok(out)
}

fn patterns_of(list: &str) -> Vec<Pattern> {
    list.split(',')
        .filter_map(|p| Pattern::parse(p, &[]).ok())
        .collect()
}

/// The ignore settings of one GitRepository artifact.
pub struct Ignore {
    /// `spec.ignore` of the GitRepository, read with the root as its domain.
    spec: Vec<Pattern>,
    /// Whether any pattern is set (a `.sourceignore` anywhere, or `spec.ignore`): then Flux's
    /// default exclusions are off.
    any: bool,
}

impl Ignore {
    /// Reads every `.sourceignore` of the tree (`files`, as discovery found them) through
    /// `tree` (so each is in the closure) and `spec_ignore`. `Err` says why the artifact
    /// cannot be modelled.
    pub fn read(
        tree: &Tree,
        files: &[String],
        spec_ignore: Option<&str>,
    ) -> Result<Result<Ignore, String>, TreeError> {
        let spec = match spec_ignore {
            Some(text) => match read_patterns(text.as_bytes(), &[], "spec.ignore") {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            },
            None => Vec::new(),
        };
        let mut any = !spec.is_empty();
        for file in files {
            let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
            match ignore_file(tree, dir)? {
                Ok(p) => any |= !p.is_empty(),
                Err(e) => return Ok(Err(e)),
            }
        }
        Ok(Ok(Ignore { spec, any }))
    }
}

/// The patterns of `dir/.sourceignore` (none when there is no such file), read through `tree`.
fn ignore_file(tree: &Tree, dir: &str) -> Result<Result<Vec<Pattern>, String>, TreeError> {
    let path = join(dir, IGNORE_FILE);
    let domain: Vec<String> = if dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/').map(str::to_string).collect()
    };
    match tree.raw_kind(&path)? {
        None => Ok(Ok(Vec::new())),
        Some(RawKind::File) => {
            let bytes = tree.read(&path)?.unwrap_or_default();
            Ok(read_patterns(&bytes, &domain, &format!("`{path}`")))
        }
        Some(_) => Ok(Err(format!(
            "`{path}` is not a regular file (source-controller would read it through the link or fail)"
        ))),
    }
}

/// A Flux `GitRepository` artifact of the repository: see the module docs.
pub struct SourceArtifact<'t, 'a> {
    repo: &'t Tree<'a>,
    ignore: Ignore,
    vcs: Vec<Pattern>,
    defaults: Vec<Pattern>,
    /// The patterns of each directory's `.sourceignore`, as read.
    dirs: RefCell<HashMap<String, Arc<Vec<Pattern>>>>,
    /// Why a pattern file met on the way cannot be modelled (the first one).
    refused: RefCell<Option<String>>,
    /// What [`SourceArtifact::holds`] said of each path (a lookup passes each directory above).
    held: RefCell<HashMap<String, bool>>,
}

impl<'t, 'a> SourceArtifact<'t, 'a> {
    pub fn new(repo: &'t Tree<'a>, ignore: Ignore) -> SourceArtifact<'t, 'a> {
        SourceArtifact {
            repo,
            ignore,
            vcs: patterns_of(EXCLUDE_VCS),
            defaults: patterns_of(EXCLUDE_DEFAULT),
            dirs: RefCell::new(HashMap::new()),
            refused: RefCell::new(None),
            held: RefCell::new(HashMap::new()),
        }
    }

    /// Why the artifact could not be modelled, if a pattern file met while reading it cannot be.
    pub fn refused(&self) -> Option<String> {
        self.refused.borrow().clone()
    }

    fn dir_patterns(&self, dir: &str) -> Result<Arc<Vec<Pattern>>, TreeError> {
        if let Some(p) = self.dirs.borrow().get(dir) {
            return Ok(p.clone());
        }
        let p = match ignore_file(self.repo, dir)? {
            Ok(p) => p,
            Err(why) => {
                self.refused.borrow_mut().get_or_insert(why);
                Vec::new()
            }
        };
        let p = Arc::new(p);
        self.dirs.borrow_mut().insert(dir.to_string(), p.clone());
        Ok(p)
    }

    /// Whether the archive leaves `path` out by its patterns (kind aside). The patterns that
    /// can match are the VCS ones, the defaults when no pattern is set, those of the
    /// `.sourceignore` of every directory above `path` (outermost first), then `spec.ignore`.
    fn excluded(&self, path: &str, is_dir: bool) -> Result<(bool, bool), TreeError> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut lists: Vec<Arc<Vec<Pattern>>> = Vec::new();
        for depth in 0..parts.len() {
            lists.push(self.dir_patterns(&parts[..depth].join("/"))?);
        }
        let mut verdict = None;
        let mut includes = false;
        let fixed: [&[Pattern]; 2] = [
            &self.vcs,
            if self.ignore.any { &[] } else { &self.defaults },
        ];
        let all = fixed
            .into_iter()
            .chain(lists.iter().map(|l| l.as_slice()))
            .chain(std::iter::once(self.ignore.spec.as_slice()));
        for list in all {
            for p in list {
                includes |= p.inclusion;
                if let Some(v) = p.verdict(&parts, is_dir) {
                    verdict = Some(v);
                }
            }
        }
        Ok((verdict == Some(Verdict::Exclude), includes))
    }

    /// Whether `path` is in the artifact, given its kind in the repository.
    fn holds(&self, path: &str, kind: RawKind) -> Result<bool, TreeError> {
        match kind {
            RawKind::Symlink => Ok(false),
            RawKind::File | RawKind::Gitlink => Ok(!self.excluded(path, false)?.0),
            RawKind::Dir => {
                let (out, includes) = self.excluded(path, true)?;
                if !out {
                    return Ok(true);
                }
                // The walk goes on below a directory it leaves out: a path a later `!`
                // pattern takes back is archived (its directory with it).
                Ok(includes && self.holds_below(path)?)
            }
        }
    }

    fn holds_below(&self, dir: &str) -> Result<bool, TreeError> {
        for (name, kind) in self.repo.raw_list(dir)? {
            let path = join(dir, &name);
            let held = match kind {
                RawKind::Dir => self.holds_below(&path)? || !self.excluded(&path, true)?.0,
                RawKind::Symlink => false,
                _ => !self.excluded(&path, false)?.0,
            };
            if held {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl RawTree for SourceArtifact<'_, '_> {
    fn lookup(&self, path: &str) -> Result<Option<RawKind>, TreeError> {
        let Some(kind) = self.repo.raw_kind(path)? else {
            return Ok(None);
        };
        if path.is_empty() {
            return Ok(Some(kind));
        }
        if let Some(&held) = self.held.borrow().get(path) {
            return Ok(held.then_some(kind));
        }
        let held = self.holds(path, kind)?;
        self.held.borrow_mut().insert(path.to_string(), held);
        Ok(held.then_some(kind))
    }

    fn read(&self, path: &str) -> Result<Arc<Vec<u8>>, TreeError> {
        self.repo.read(path)?.ok_or_else(|| TreeError {
            path: path.to_string(),
            message: "not a file in the GitRepository artifact".into(),
        })
    }

    fn list(&self, dir: &str) -> Result<Vec<(String, RawKind)>, TreeError> {
        let mut out = Vec::new();
        for (name, kind) in self.repo.raw_list(dir)? {
            if self.holds(&join(dir, &name), kind)? {
                out.push((name, kind));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(patterns: &[(&str, &str)], path: &str, is_dir: bool) -> bool {
        let mut verdict = None;
        for (dir, text) in patterns {
            let domain: Vec<String> = if dir.is_empty() {
                Vec::new()
            } else {
                dir.split('/').map(str::to_string).collect()
            };
            let p = Pattern::parse(text, &domain).expect("pattern");
            let parts: Vec<&str> = path.split('/').collect();
            if let Some(v) = p.verdict(&parts, is_dir) {
                verdict = Some(v);
            }
        }
        verdict == Some(Verdict::Exclude)
    }

    #[test]
    fn patterns_match_as_fluxcd_gitignore_does() {
        // Cases of fluxcd/pkg sourceignore/gitignore's pattern tests, and the anchoring rules.
        assert!(excluded(
            &[("", "/clusters/prod/apps.yaml")],
            "clusters/prod/apps.yaml",
            false
        ));
        assert!(excluded(
            &[("", "clusters/prod")],
            "clusters/prod/apps.yaml",
            false
        ));
        assert!(!excluded(
            &[("", "clusters/prod")],
            "apps/clusters/prod/x.yaml",
            false
        ));
        assert!(excluded(
            &[("", "apps.yaml")],
            "clusters/prod/apps.yaml",
            false
        ));
        assert!(excluded(&[("", "*.yaml")], "a/b.yaml", false));
        assert!(excluded(&[("", "prod/")], "clusters/prod/apps.yaml", false));
        assert!(!excluded(
            &[("", "apps.yaml/")],
            "clusters/apps.yaml",
            false
        ));
        assert!(excluded(&[("", "apps.yaml/")], "clusters/apps.yaml", true));
        assert!(excluded(&[("", "**/apps.yaml")], "a/b/c/apps.yaml", false));
        assert!(excluded(&[("", "a/**/c.yaml")], "a/b/x/c.yaml", false));
        assert!(excluded(&[("", "a/**")], "a/b/c.yaml", false));
        assert!(!excluded(&[("", "a/**")], "b/a/c.yaml", false));
        assert!(excluded(&[("", "a/?.yaml")], "a/b.yaml", false));
        assert!(!excluded(&[("", "a/?.yaml")], "a/bb.yaml", false));
        // Scoped to the directory of the file that holds it.
        assert!(excluded(&[("apps", "*.yaml")], "apps/x.yaml", false));
        assert!(!excluded(&[("apps", "*.yaml")], "clusters/x.yaml", false));
        // The last match decides; `!` takes back.
        assert!(!excluded(
            &[("", "*.yaml"), ("", "!keep.yaml")],
            "a/keep.yaml",
            false
        ));
        assert!(excluded(
            &[("", "!keep.yaml"), ("", "*.yaml")],
            "a/keep.yaml",
            false
        ));
        // Trailing spaces are dropped, leading ones are kept.
        assert!(excluded(&[("", "x.yaml  ")], "x.yaml", false));
        assert!(!excluded(&[("", " x.yaml")], "x.yaml", false));
    }

    #[test]
    fn wildcards_are_go_filepath_match() {
        assert!(wildcard("*", ""));
        assert!(wildcard("*.y*ml", "a.yaml"));
        assert!(wildcard("a*b*c", "aXbYbZc"));
        assert!(!wildcard("a*b*c", "aXbYbZ"));
        assert!(wildcard("é?", "éü"));
        assert!(!wildcard("?", ""));
    }

    #[test]
    fn what_cannot_be_matched_exactly_is_refused() {
        assert!(read_patterns(b"[ab].yaml\n", &[], "f").is_err());
        assert!(read_patterns(b"\\#x\n", &[], "f").is_err());
        assert!(read_patterns(b"\xff\n", &[], "f").is_err());
        let long = format!("{}\n", "a".repeat(MAX_LINE + 1));
        assert!(read_patterns(long.as_bytes(), &[], "f").is_err());
        let ok = read_patterns(b"# comment\n\n  \nx.yaml\r\n", &[], "f").expect("read");
        assert_eq!(ok.len(), 1);
    }
}
