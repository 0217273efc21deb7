//! Manifest facts: what each `[[manifests]]` block finds in the Kubernetes objects a commit, or
//! a whole update, changes.
//!
//! Two stages, so judging never runs while the repository is read:
//! - [`read`] (repository stage): for a list of changes, the files that match a block's `match`
//!   globs (old and new side, so a file moved out of a watched directory is still seen), with
//!   their blobs read once into a shared map;
//! - [`judge`] (pure): hands them to `pushguard-manifest` in one call per block, which pairs
//!   objects across files (a moved object is not a removal plus an addition) and reports only
//!   what the change introduced.
//!
//! A symlink under a manifest glob that leaves the repository is a finding too: Flux and Argo CD
//! would read whatever it points at on the server.

use std::collections::HashMap;

use pushguard_manifest::{ChangeKind, FileChange as MChange, FileVersion, Finding};

use crate::facts::{Entry, FileChange, FileMode, ManifestFinding};
use crate::hook::Oid;
use crate::policy::eval::resolve_link;
use crate::policy::Policy;
use crate::repo::{Repo, RepoError};

/// One side of a changed file: its path and blob, when it is a regular file.
type Side = Option<(String, Oid)>;

/// What one block must judge in one change set.
#[derive(Clone, Debug, Default)]
pub struct BlockInput {
    pub block: usize,
    pub files: Vec<(Side, Side)>,
    /// Findings that need no parsing (a symlink leaving the repository).
    pub findings: Vec<ManifestFinding>,
}

/// Blobs read for manifests, by id (each read once per push).
pub type Blobs = HashMap<Oid, Vec<u8>>;

/// Selects, for each block, the changed files it judges, and reads their blobs.
pub fn read(
    repo: &Repo,
    policy: &Policy,
    changes: &[FileChange],
    blocks: &[usize],
    blobs: &mut Blobs,
) -> Result<Vec<BlockInput>, RepoError> {
    let mut out = Vec::new();
    for &index in blocks {
        let Some(block) = policy.manifests.get(index) else {
            continue;
        };
        let mut input = BlockInput {
            block: index,
            ..BlockInput::default()
        };
        for ch in changes {
            if ch.path == ".gitmodules" {
                gitmodules_findings(repo, index, &block.settings, ch, &mut input.findings)?;
            }
            let gitlink = matches!(&ch.new, Some(e) if e.mode == FileMode::Gitlink);
            let matches = |e: &Option<Entry>| {
                e.is_some()
                    && (block.files.is_match(&ch.path) || (gitlink && under_block(block, &ch.path)))
            };
            if !(matches(&ch.old) || matches(&ch.new)) {
                continue;
            }
            if let Some(Entry {
                mode: FileMode::Gitlink,
                ..
            }) = &ch.new
            {
                if !block.settings.allow_submodules {
                    input.findings.push(finding(
                        index,
                        "manifest-submodule",
                        &ch.path,
                        1,
                        format!("{} is a gitlink (submodule): what it holds is another repository's, never judged here, yet a controller that clones submodules deploys it", ch.path),
                        "commit the manifests themselves; or, if the policy's reviewers accept submodules here, set `allow_submodules = true` in this [[manifests]] block",
                    ));
                }
            }
            if let (
                Some(Entry {
                    mode: FileMode::Symlink,
                    ..
                }),
                Some(target),
            ) = (&ch.new, &ch.new_link)
            {
                if resolve_link(&ch.path, target).is_none() {
                    input.findings.push(finding(
                        index,
                        "manifest-symlink",
                        &ch.path,
                        1,
                        format!("{} is a symlink to {target:?}, outside the repository, where manifests are read", ch.path),
                        "commit the manifest itself, not a link to a file on the server",
                    ));
                }
            }
            // A version over `max_manifest_bytes` is judged from its header alone: never
            // inflated. The new one is a finding (what cannot be read is not judged); an old one
            // is left out, so everything in the new version counts as introduced.
            let max = policy.limits.max_manifest_bytes;
            let mut oversized = [false, false];
            for (side, e) in [&ch.old, &ch.new].into_iter().enumerate() {
                let Some(e) = e else { continue };
                if !matches!(e.mode, FileMode::File | FileMode::Executable)
                    || blobs.contains_key(&e.id)
                {
                    continue;
                }
                let size = repo.size_of(&e.id).map_err(|err| err.at_path(&ch.path))?;
                if size > max {
                    oversized[side] = true;
                    if side == 1 {
                        input.findings.push(finding(
                            index,
                            "manifest-limits",
                            &ch.path,
                            1,
                            format!("{} is {size} bytes, more than the limit of {max} bytes for one manifest (`[limits] max_manifest_bytes`): it is not read, so it cannot be judged", ch.path),
                            "split the file, or keep data this large out of the manifests; if files this large are expected, ask the Git administrator to raise `[limits] max_manifest_bytes`",
                        ));
                    }
                    continue;
                }
                let bytes = repo.blob(&e.id).map_err(|err| err.at_path(&ch.path))?;
                blobs.insert(e.id.clone(), bytes);
            }
            if oversized[1] {
                continue;
            }
            let version = |e: &Option<Entry>, too_big: bool| -> Side {
                match e {
                    Some(e)
                        if !too_big && matches!(e.mode, FileMode::File | FileMode::Executable) =>
                    {
                        Some((ch.path.clone(), e.id.clone()))
                    }
                    _ => None,
                }
            };
            input
                .files
                .push((version(&ch.old, oversized[0]), version(&ch.new, false)));
        }
        if !input.files.is_empty() || !input.findings.is_empty() {
            out.push(input);
        }
    }
    Ok(out)
}

/// Whether a gitlink at `path` stands where the block judges manifests: the block would judge
/// the path, or a manifest committed in its place.
fn under_block(block: &crate::policy::ManifestBlock, path: &str) -> bool {
    block.files.is_match(path)
        || [
            "kustomization.yaml",
            "manifest.yaml",
            "manifest.yml",
            "manifest.json",
        ]
        .iter()
        .any(|name| block.files.is_match(&format!("{path}/{name}")))
}

fn finding(
    block: usize,
    rule: &str,
    path: &str,
    line: u32,
    message: String,
    fix: &str,
) -> ManifestFinding {
    ManifestFinding {
        block,
        finding: Finding {
            rule: rule.into(),
            path: path.into(),
            line,
            column: 1,
            object: None,
            container: None,
            message,
            fix: fix.into(),
            change: ChangeKind::Added,
            signable: false,
        },
    }
}

/// `gitops-sources` on `.gitmodules`: each submodule URL the change adds or changes is a
/// source, held to `source_urls`. A file that does not parse fails closed.
fn gitmodules_findings(
    repo: &Repo,
    block: usize,
    settings: &pushguard_manifest::Settings,
    ch: &FileChange,
    out: &mut Vec<ManifestFinding>,
) -> Result<(), RepoError> {
    if !settings
        .rules
        .contains(&pushguard_manifest::RuleId::GitopsSources)
    {
        return Ok(());
    }
    let read = |e: &Option<Entry>| -> Result<Option<Vec<u8>>, RepoError> {
        match e {
            Some(e) if matches!(e.mode, FileMode::File | FileMode::Executable) => repo
                .blob(&e.id)
                .map(Some)
                .map_err(|err| err.at_path(".gitmodules")),
            _ => Ok(None),
        }
    };
    let Some(new) = read(&ch.new)? else {
        return Ok(());
    };
    let old = match read(&ch.old)? {
        Some(bytes) => crate::gitmodules::parse(&bytes).unwrap_or_default(),
        None => Vec::new(),
    };
    let subs = match crate::gitmodules::parse(&new) {
        Ok(subs) => subs,
        Err(e) => {
            out.push(finding(
                block,
                "manifest-parse",
                ".gitmodules",
                e.line,
                format!("{e}: the submodule URLs cannot be judged"),
                "write .gitmodules as `git config -f .gitmodules` does",
            ));
            return Ok(());
        }
    };
    for s in subs {
        let Some(url) = &s.url else { continue };
        if old
            .iter()
            .any(|o| o.name == s.name && o.url.as_ref() == Some(url))
        {
            continue;
        }
        if let Some(problem) = pushguard_manifest::rules::url_problem(settings, url) {
            out.push(finding(
                block,
                "gitops-sources",
                ".gitmodules",
                s.line,
                format!("submodule `{}` is fetched from `{url}`, which {problem}", s.name),
                "point the submodule at an allow-listed repository, or add the URL prefix to source_urls (reviewed change of the policy)",
            ));
        }
    }
    Ok(())
}

/// Judges what [`read`] selected. Pure: no repository, the day is given; parses go through the
/// push's shared `cache` when the renderer used one.
pub fn judge(
    policy: &Policy,
    inputs: &[BlockInput],
    blobs: &Blobs,
    today: i64,
    cache: Option<&pushguard_manifest::render::ParseCache>,
) -> Vec<ManifestFinding> {
    let mut out = Vec::new();
    for input in inputs {
        out.extend(input.findings.iter().cloned());
        let Some(block) = policy.manifests.get(input.block) else {
            continue;
        };
        if input.files.is_empty() {
            continue;
        }
        let changes: Vec<MChange<'_>> = input
            .files
            .iter()
            .map(|(old, new)| MChange {
                old: side(old, blobs),
                new: side(new, blobs),
            })
            .collect();
        let found = match cache {
            Some(cache) => pushguard_manifest::judge_cached(
                &changes,
                &block.settings,
                &policy.limits.yaml(),
                today,
                cache,
            ),
            None => {
                pushguard_manifest::judge(&changes, &block.settings, &policy.limits.yaml(), today)
            }
        };
        for finding in found {
            if finding.rule == "manifest-parse" && not_applied(&finding.path) {
                continue;
            }
            let mut finding = finding;
            if finding.rule == "manifest-limits" {
                finding.fix.push_str(LIMITS_FIX);
            }
            out.push(ManifestFinding {
                block: input.block,
                finding,
            });
        }
    }
    out
}

/// What the loader's budget findings add: which policy keys set those budgets.
const LIMITS_FIX: &str = "; if files like this are expected, ask the Git administrator to raise the budget in the policy's `[limits]` (`max_manifest_bytes`, `max_yaml_nodes`, `max_yaml_aliases`)";

fn side<'a>(v: &'a Side, blobs: &'a Blobs) -> Option<FileVersion<'a>> {
    let (path, id) = v.as_ref()?;
    Some(FileVersion {
        path: path.as_str(),
        bytes: blobs.get(id).map(|b| b.as_slice()).unwrap_or(&[]),
    })
}

/// YAML no controller applies as it is: CI files in hidden directories (`.github/workflows`,
/// `.gitlab/`), and Helm chart templates (`templates/` below a chart). A file there that does not
/// load is not a broken manifest; one that loads is judged like any other, and a root that
/// renders such a file reports its load error itself.
pub fn not_applied(path: &str) -> bool {
    let mut dirs: Vec<&str> = path.split('/').collect();
    dirs.pop();
    dirs.iter().any(|d| d.starts_with('.') || *d == "templates")
        || path == ".gitlab-ci.yml"
        || path.ends_with("/.gitlab-ci.yml")
}

/// Parses every manifest blob the push read into `cache`, on every core, before the renderer
/// and the per-file judge use them (the renderer parses one file at a time; this way the files
/// a push changes, usually most of its parsing, are parsed in parallel).
pub fn warm(
    blobs: &Blobs,
    cache: &pushguard_manifest::render::ParseCache,
    limits: &pushguard_manifest::Limits,
) {
    let limits = *limits;
    let all: Vec<&[u8]> = blobs.values().map(Vec::as_slice).collect();
    let bytes: usize = all.iter().map(|b| b.len()).sum();
    // Below ~256 KiB threads cost more than they save.
    let threads = if bytes < 256 << 10 {
        1
    } else {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(4)
    };
    if threads < 2 {
        for b in all {
            cache.warm(b, &limits);
        }
        return;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(b) = all.get(i) else { break };
                cache.warm(b, &limits);
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::not_applied;

    #[test]
    fn ci_files_and_chart_templates_are_not_applied() {
        assert!(not_applied(".github/workflows/ci.yml"));
        assert!(not_applied("charts/api/templates/deployment.yaml"));
        assert!(not_applied(".gitlab-ci.yml"));
        assert!(!not_applied("clusters/prod/deploy.yaml"));
        assert!(!not_applied("clusters/prod/.argocd-source.yaml"));
        assert!(!not_applied("templates.yaml"));
    }
}
