//! Installing the hook shim where each host runs it (see `docs/hosts.md`).
//!
//! The shims in `hooks/` are one `exec` line that passes the policy path; everything else is in
//! the binary. Installing is idempotent (the same shim twice changes nothing), recognises its own
//! earlier versions by the `pushguard-managed` marker, and never replaces someone else's hook
//! unless told to with `--force` (the old hook is then kept beside it, and put back by
//! `uninstall`). Every install says what it changed and how to undo it.
//!
//! | host | where |
//! |---|---|
//! | git | `<repo>/hooks/pre-receive` (or `core.hooksPath`) |
//! | gitea, forgejo | `<repo>.git/hooks/pre-receive.d/pushguard`, one repository or every one under a root |
//! | gitlab | `<repo>/custom_hooks/pre-receive.d/pushguard`, `<custom_hooks_dir>/pre-receive.d/pushguard`, or a tarball for `gitaly hooks set` |
//! | gitolite | `<LOCAL_CODE or ~/.gitolite>/hooks/common/pre-receive`, then `gitolite setup --hooks-only` |

use std::path::{Path, PathBuf};

/// Marks a hook file as ours.
pub const MARKER: &str = "pushguard-managed";
const GIT_SHIM: &str = include_str!("../hooks/git/pre-receive");
const GITEA_SHIM: &str = include_str!("../hooks/gitea/pushguard");
const GITLAB_SHIM: &str = include_str!("../hooks/gitlab/pushguard");
const GITOLITE_SHIM: &str = include_str!("../hooks/gitolite/pre-receive");

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0} is not a git repository (no HEAD and objects/ in it or in its .git/)")]
    NotARepo(PathBuf),
    #[error("{path} already exists and was not installed by pushguard; rerun with --force to replace it (it will be kept as {backup})")]
    Foreign { path: PathBuf, backup: PathBuf },
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
}

/// The hosts pushguard installs for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    Git,
    Gitea,
    Gitlab,
    Gitolite,
}

impl Host {
    pub fn parse(s: &str) -> Result<Host, InstallError> {
        match s {
            "git" => Ok(Host::Git),
            "gitea" | "forgejo" => Ok(Host::Gitea),
            "gitlab" => Ok(Host::Gitlab),
            "gitolite" => Ok(Host::Gitolite),
            other => Err(InstallError::Usage(format!(
                "unknown host {other:?}: use git, gitea, forgejo, gitlab or gitolite"
            ))),
        }
    }

    fn shim(self) -> &'static str {
        match self {
            Host::Git => GIT_SHIM,
            Host::Gitea => GITEA_SHIM,
            Host::Gitlab => GITLAB_SHIM,
            Host::Gitolite => GITOLITE_SHIM,
        }
    }
}

/// Where to install, as given on the command line.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// One repository (`--repo`).
    pub repo: Option<PathBuf>,
    /// Gitea/Forgejo: every repository under this root (`--all`).
    pub all: Option<PathBuf>,
    /// Gitea/Forgejo: a git template directory (`--template`), whose `hooks/` every repository
    /// `git init` or `git clone` makes afterwards gets.
    pub template: Option<PathBuf>,
    /// GitLab: the global `custom_hooks_dir` (`--global`).
    pub global: Option<PathBuf>,
    /// GitLab: write a tarball for `gitaly hooks set` instead (`--tarball`).
    pub tarball: Option<PathBuf>,
    /// gitolite: the hosting user's home (`--gitolite-home`), and optionally `LOCAL_CODE`.
    pub gitolite_home: Option<PathBuf>,
    pub local_code: Option<PathBuf>,
}

impl Target {
    /// The command-line options that name this target (for the undo hint).
    pub fn args(&self) -> String {
        let mut out = Vec::new();
        let mut add = |flag: &str, v: &Option<PathBuf>| {
            if let Some(p) = v {
                out.push(format!("{flag} {}", shell_quote(&p.to_string_lossy())));
            }
        };
        add("--repo", &self.repo);
        add("--all", &self.all);
        add("--template", &self.template);
        add("--global", &self.global);
        add("--gitolite-home", &self.gitolite_home);
        add("--local-code", &self.local_code);
        out.join(" ")
    }
}

/// What an install or uninstall did, for the administrator.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Installed {
        hook: PathBuf,
        saved: Option<PathBuf>,
    },
    Updated {
        hook: PathBuf,
    },
    Unchanged {
        hook: PathBuf,
    },
    Removed {
        hook: PathBuf,
        restored: bool,
    },
    NotInstalled {
        hook: PathBuf,
    },
    Wrote {
        file: PathBuf,
    },
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Installed { hook, saved } => {
                write!(f, "installed {}", hook.display())?;
                if let Some(s) = saved {
                    write!(f, " (the previous hook is kept as {})", s.display())?;
                }
                Ok(())
            }
            Outcome::Updated { hook } => write!(f, "updated {}", hook.display()),
            Outcome::Unchanged { hook } => {
                write!(
                    f,
                    "{} is already installed; nothing changed",
                    hook.display()
                )
            }
            Outcome::Removed { hook, restored } => {
                write!(f, "removed {}", hook.display())?;
                if *restored {
                    write!(f, " (and put back the hook it had replaced)")?;
                }
                Ok(())
            }
            Outcome::NotInstalled { hook } => {
                write!(
                    f,
                    "no pushguard hook at {}; nothing changed",
                    hook.display()
                )
            }
            Outcome::Wrote { file } => write!(f, "wrote {}", file.display()),
        }
    }
}

/// The git directory of a repository path (bare, or a work tree with `.git/`).
pub fn git_dir(repo: &Path) -> Result<PathBuf, InstallError> {
    let is_git_dir = |p: &Path| p.join("HEAD").is_file() && p.join("objects").is_dir();
    if is_git_dir(repo) {
        Ok(repo.to_path_buf())
    } else if is_git_dir(&repo.join(".git")) {
        Ok(repo.join(".git"))
    } else {
        Err(InstallError::NotARepo(repo.to_path_buf()))
    }
}

/// The shim text for a host.
pub fn shim(host: Host, binary: &Path, policy: &Path) -> String {
    host.shim()
        .replace("@PUSHGUARD@", &shell_quote(&binary.to_string_lossy()))
        .replace("@POLICY@", &shell_quote(&policy.to_string_lossy()))
}

/// The hook files a host and target name (one, or one per repository for `--all`).
pub fn hook_paths(host: Host, target: &Target) -> Result<Vec<PathBuf>, InstallError> {
    let need_repo = |what: &str| {
        InstallError::Usage(format!(
            "--host {what} needs {}",
            match what {
                "gitea" => "--repo DIR, --all ROOT or --template DIR",
                "gitlab" => "--repo DIR, --global CUSTOM_HOOKS_DIR or --tarball FILE",
                "gitolite" =>
                    "--gitolite-home DIR (and --local-code DIR if the rc sets LOCAL_CODE)",
                _ => "--repo DIR",
            }
        ))
    };
    match host {
        Host::Git => {
            let repo = target.repo.as_ref().ok_or_else(|| need_repo("git"))?;
            Ok(vec![git_dir(repo)?.join("hooks").join("pre-receive")])
        }
        Host::Gitea => {
            if let Some(dir) = &target.template {
                return Ok(vec![dir
                    .join("hooks")
                    .join("pre-receive.d")
                    .join("pushguard")]);
            }
            if let Some(root) = &target.all {
                let repos = find_repositories(root)?;
                return Ok(repos
                    .into_iter()
                    .map(|r| r.join("hooks").join("pre-receive.d").join("pushguard"))
                    .collect());
            }
            let repo = target.repo.as_ref().ok_or_else(|| need_repo("gitea"))?;
            Ok(vec![git_dir(repo)?
                .join("hooks")
                .join("pre-receive.d")
                .join("pushguard")])
        }
        Host::Gitlab => {
            if let Some(dir) = &target.global {
                return Ok(vec![dir.join("pre-receive.d").join("pushguard")]);
            }
            let repo = target.repo.as_ref().ok_or_else(|| need_repo("gitlab"))?;
            Ok(vec![git_dir(repo)?
                .join("custom_hooks")
                .join("pre-receive.d")
                .join("pushguard")])
        }
        Host::Gitolite => {
            let home = target
                .gitolite_home
                .as_ref()
                .ok_or_else(|| need_repo("gitolite"))?;
            let code = target
                .local_code
                .clone()
                .unwrap_or_else(|| home.join(".gitolite"));
            Ok(vec![code.join("hooks").join("common").join("pre-receive")])
        }
    }
}

/// Bare repositories below `root` (Gitea keeps `<owner>/<name>.git`), sorted.
pub fn find_repositories(root: &Path) -> Result<Vec<PathBuf>, InstallError> {
    let io = |source| InstallError::Io {
        path: root.to_path_buf(),
        source,
    };
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        if git_dir(&dir).is_ok() && dir.extension().is_some_and(|e| e == "git") {
            out.push(dir);
            continue;
        }
        if depth >= 3 {
            continue;
        }
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            if entry.file_type().map_err(io)?.is_dir() {
                stack.push((entry.path(), depth + 1));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Installs the host's shim at every hook path the target names.
pub fn install(
    host: Host,
    target: &Target,
    binary: &Path,
    policy: &Path,
    force: bool,
) -> Result<Vec<Outcome>, InstallError> {
    let text = shim(host, binary, policy);
    if host == Host::Gitlab {
        if let Some(out) = &target.tarball {
            write_tarball(out, "custom_hooks/pre-receive.d/pushguard", text.as_bytes())?;
            return Ok(vec![Outcome::Wrote { file: out.clone() }]);
        }
    }
    let mut outcomes = Vec::new();
    for hook in hook_paths(host, target)? {
        outcomes.push(install_file(&hook, &text, force)?);
    }
    if host == Host::Gitolite {
        if let Some(home) = &target.gitolite_home {
            run_gitolite_hooks_only(home)?;
        }
    }
    Ok(outcomes)
}

/// Removes the shim from every hook path the target names.
pub fn uninstall(host: Host, target: &Target) -> Result<Vec<Outcome>, InstallError> {
    let mut outcomes = Vec::new();
    for hook in hook_paths(host, target)? {
        outcomes.push(uninstall_file(&hook)?);
    }
    if host == Host::Gitolite {
        if let Some(home) = &target.gitolite_home {
            // The repositories' pre-receive links now dangle; gitolite skips missing hooks, but
            // tidy them: `--hooks-only` re-links what is left.
            run_gitolite_hooks_only(home)?;
        }
    }
    Ok(outcomes)
}

/// A directory owned by the account the host runs the hook as: the gitolite home, the
/// repository, the root of `--all`, or GitLab's global hooks directory.
pub fn hook_owner_dir(target: &Target) -> Option<PathBuf> {
    target
        .gitolite_home
        .clone()
        .or_else(|| target.repo.clone())
        .or_else(|| target.all.clone())
        .or_else(|| target.global.clone())
}

/// Makes sure the hook can write the audit log: creates its directory when missing, owned like
/// `owner_dir` (the hook's account). Returns what it did, or exactly what to run when it could
/// not, one line each.
#[cfg(unix)]
pub fn prepare_audit_dir(log: &Path, owner_dir: Option<&Path>) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let Some(dir) = log.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Vec::new();
    };
    let owner = owner_dir
        .and_then(|d| std::fs::metadata(d).ok())
        .map(|m| (m.uid(), m.gid()));
    let quoted = shell_quote(&dir.to_string_lossy());
    let chown_hint = |(uid, gid): (u32, u32)| format!("chown {uid}:{gid} {quoted}");
    let mut out = Vec::new();
    if !dir.is_dir() {
        if let Err(e) = std::fs::create_dir_all(dir) {
            let mut run = format!("mkdir -p {quoted}");
            if let Some(o) = owner {
                run.push_str(&format!(" && {}", chown_hint(o)));
            }
            out.push(format!(
                "warning: cannot create the audit log's directory {}: {e}; every push is rejected until it exists and the hook can write it: run `{run}`",
                dir.display()
            ));
            return out;
        }
        out.push(format!(
            "created the audit log's directory {}",
            dir.display()
        ));
    }
    let Some((uid, gid)) = owner else {
        return out;
    };
    let Ok(meta) = std::fs::metadata(dir) else {
        return out;
    };
    if meta.uid() == uid || meta.mode() & 0o002 != 0 {
        return out;
    }
    if std::os::unix::fs::chown(dir, Some(uid), Some(gid)).is_ok() {
        out.push(format!(
            "gave {} to the hook's account ({uid}:{gid}, the owner of {})",
            dir.display(),
            owner_dir
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        ));
    } else {
        out.push(format!(
            "warning: the hook runs as the owner of {} ({uid}:{gid}), which may not write {}: run `{}`",
            owner_dir.map(|d| d.display().to_string()).unwrap_or_default(),
            dir.display(),
            chown_hint((uid, gid))
        ));
    }
    out
}

#[cfg(not(unix))]
pub fn prepare_audit_dir(log: &Path, _owner_dir: Option<&Path>) -> Vec<String> {
    match log.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            match std::fs::create_dir_all(dir) {
                Ok(()) => vec![format!(
                    "created the audit log's directory {}",
                    dir.display()
                )],
                Err(e) => vec![format!("warning: cannot create {}: {e}", dir.display())],
            }
        }
        _ => Vec::new(),
    }
}

/// What to do next, and how to undo an install, for the message after it.
pub fn after_install(host: Host, host_name: &str, target: &Target) -> Vec<String> {
    if host == Host::Gitlab {
        if let Some(tar) = &target.tarball {
            let tar = shell_quote(&tar.to_string_lossy());
            let gitaly = "sudo -u git -- /opt/gitlab/embedded/bin/gitaly hooks set --storage <storage> --repository <@hashed/…/….git> --config /var/opt/gitlab/gitaly/config.toml";
            return vec![
                format!("next: {gitaly} < {tar}"),
                "warning: `gitaly hooks set` replaces every server hook the repository has: add the repository's other hooks to the archive first (`tar -rf` them in under custom_hooks/), or they are removed".to_string(),
                format!("to undo: tar -cf /tmp/no-hooks.tar -T /dev/null && {gitaly} < /tmp/no-hooks.tar   (removes every server hook of that repository: hand gitaly an archive with the others to keep them)"),
            ];
        }
        if target.repo.is_some() {
            return vec![
                "warning: GitLab 15.11 and later set a repository's server hooks only through `gitaly hooks set` (hooks written on disk keep working where they already were, but GitLab no longer supports making new ones that way, and Gitaly Cluster does not replicate them): use `--tarball FILE` and `gitaly hooks set` instead, or `--global` for every repository".to_string(),
                undo_hint(host_name, &target.args()),
            ];
        }
    }
    vec![undo_hint(host_name, &target.args())]
}

/// How to undo an install with pushguard itself.
pub fn undo_hint(host: &str, args: &str) -> String {
    format!("to undo: pushguard uninstall --host {host} {args}")
}

fn install_file(hook: &Path, text: &str, force: bool) -> Result<Outcome, InstallError> {
    let dir = hook.parent().ok_or_else(|| {
        InstallError::Usage(format!("{} has no parent directory", hook.display()))
    })?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InstallError::Io { path, source }
    };
    let backup = saved_path(hook);
    let mut saved = None;
    let mut updating = false;
    match std::fs::read(hook) {
        Ok(existing) if existing == text.as_bytes() => {
            return Ok(Outcome::Unchanged {
                hook: hook.to_path_buf(),
            })
        }
        Ok(existing) if String::from_utf8_lossy(&existing).contains(MARKER) => updating = true,
        Ok(_) => {
            if !force {
                return Err(InstallError::Foreign {
                    path: hook.to_path_buf(),
                    backup,
                });
            }
            std::fs::rename(hook, &backup).map_err(io(hook))?;
            // In Gitea's pre-receive.d every executable file runs: the kept hook must not.
            set_execute_bits(&backup, false).map_err(io(&backup))?;
            saved = Some(backup);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(InstallError::Io {
                path: hook.to_path_buf(),
                source: e,
            })
        }
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    // Write beside and rename, so the host never runs a half-written hook. The temporary name
    // starts with a dot and ends with `~`, which both Gitea's and GitLab's runners skip.
    let tmp = dir.join(".pushguard-tmp~");
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    set_executable(&tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, hook).map_err(io(hook))?;
    Ok(if updating {
        Outcome::Updated {
            hook: hook.to_path_buf(),
        }
    } else {
        Outcome::Installed {
            hook: hook.to_path_buf(),
            saved,
        }
    })
}

fn saved_path(hook: &Path) -> PathBuf {
    let name = hook
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Gitea's `.d` runner runs every executable file whatever its name (GitLab's skips names
    // ending in `~`), so the saved copy also loses its execute bits (see install_file); uninstall
    // gives them back.
    hook.with_file_name(format!("{name}.pushguard-saved"))
}

fn uninstall_file(hook: &Path) -> Result<Outcome, InstallError> {
    match std::fs::read(hook) {
        Ok(existing) if String::from_utf8_lossy(&existing).contains(MARKER) => {
            std::fs::remove_file(hook).map_err(|source| InstallError::Io {
                path: hook.to_path_buf(),
                source,
            })?;
            let backup = saved_path(hook);
            let restored = backup.is_file();
            if restored {
                std::fs::rename(&backup, hook).map_err(|source| InstallError::Io {
                    path: backup.clone(),
                    source,
                })?;
                set_execute_bits(hook, true).map_err(|source| InstallError::Io {
                    path: hook.to_path_buf(),
                    source,
                })?;
            }
            Ok(Outcome::Removed {
                hook: hook.to_path_buf(),
                restored,
            })
        }
        _ => Ok(Outcome::NotInstalled {
            hook: hook.to_path_buf(),
        }),
    }
}

fn run_gitolite_hooks_only(home: &Path) -> Result<(), InstallError> {
    let command = "gitolite setup --hooks-only";
    let out = std::process::Command::new("gitolite")
        .args(["setup", "--hooks-only"])
        .env("HOME", home)
        .output()
        .map_err(|e| InstallError::Command {
            command: command.into(),
            message: format!("{e} (is gitolite installed and on PATH?)"),
        })?;
    if !out.status.success() {
        return Err(InstallError::Command {
            command: command.into(),
            message: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

/// A one-file ustar archive with its parent directories, as `gitaly hooks set` takes it.
fn write_tarball(out: &Path, name: &str, content: &[u8]) -> Result<(), InstallError> {
    let mut tar = Vec::new();
    let parts: Vec<&str> = name.split('/').collect();
    for i in 1..parts.len() {
        let dir = format!("{}/", parts[..i].join("/"));
        tar.extend(tar_header(&dir, 0, 0o755, b'5'));
    }
    tar.extend(tar_header(name, content.len(), 0o755, b'0'));
    tar.extend_from_slice(content);
    let pad = (512 - content.len() % 512) % 512;
    tar.extend(std::iter::repeat_n(0u8, pad + 1024));
    std::fs::write(out, tar).map_err(|source| InstallError::Io {
        path: out.to_path_buf(),
        source,
    })
}

fn tar_header(name: &str, size: usize, mode: u32, kind: u8) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    let put = |h: &mut Vec<u8>, at: usize, s: &[u8]| h[at..at + s.len()].copy_from_slice(s);
    put(&mut h, 0, name.as_bytes());
    put(&mut h, 100, format!("{mode:07o}\0").as_bytes());
    put(&mut h, 108, b"0000000\0");
    put(&mut h, 116, b"0000000\0");
    put(&mut h, 124, format!("{size:011o}\0").as_bytes());
    put(&mut h, 136, b"00000000000\0");
    put(&mut h, 148, b"        ");
    h[156] = kind;
    put(&mut h, 257, b"ustar\0");
    put(&mut h, 263, b"00");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    h
}

#[cfg(unix)]
fn set_executable(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
}

/// Removes every execute bit, or gives execute to whoever may read (`0644` ↔ `0755`).
#[cfg(unix)]
fn set_execute_bits(p: &Path, on: bool) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p)?.permissions().mode() & 0o7777;
    let mode = if on {
        mode | ((mode & 0o444) >> 2)
    } else {
        mode & !0o111
    };
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_execute_bits(_p: &Path, _on: bool) -> std::io::Result<()> {
    Ok(())
}

#[cfg(not(unix))]
fn set_executable(_p: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Single-quotes a string for sh.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Installs the plain-git shim into one repository (used by the demo).
pub fn install_git(
    repo: &Path,
    binary: &Path,
    policy: &Path,
    force: bool,
) -> Result<Outcome, InstallError> {
    let target = Target {
        repo: Some(repo.to_path_buf()),
        ..Target::default()
    };
    let mut out = install(Host::Git, &target, binary, policy, force)?;
    out.pop()
        .ok_or_else(|| InstallError::Usage("nothing was installed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare_at(p: &Path) {
        std::fs::create_dir_all(p.join("objects")).unwrap();
        std::fs::write(p.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    }

    fn repo_target(p: &Path) -> Target {
        Target {
            repo: Some(p.to_path_buf()),
            ..Target::default()
        }
    }

    #[test]
    fn install_is_idempotent_and_respects_foreign_hooks() {
        let d = tempfile::tempdir().unwrap();
        bare_at(d.path());
        let bin = Path::new("/usr/local/bin/pushguard");
        let pol = Path::new("/etc/pushguard/it's.toml");
        let t = repo_target(d.path());
        let first = install(Host::Git, &t, bin, pol, false).unwrap();
        assert!(matches!(first[0], Outcome::Installed { saved: None, .. }));
        let text = std::fs::read_to_string(d.path().join("hooks/pre-receive")).unwrap();
        assert!(text.contains(
            "exec '/usr/local/bin/pushguard' pre-receive --policy '/etc/pushguard/it'\\''s.toml'"
        ));
        assert!(matches!(
            install(Host::Git, &t, bin, pol, false).unwrap()[0],
            Outcome::Unchanged { .. }
        ));
        assert!(matches!(
            install(Host::Git, &t, bin, Path::new("/other.toml"), false).unwrap()[0],
            Outcome::Updated { .. }
        ));
        assert!(matches!(
            uninstall(Host::Git, &t).unwrap()[0],
            Outcome::Removed {
                restored: false,
                ..
            }
        ));
        assert!(!d.path().join("hooks/pre-receive").exists());

        std::fs::write(d.path().join("hooks/pre-receive"), "#!/bin/sh\nexit 0\n").unwrap();
        set_executable(&d.path().join("hooks/pre-receive")).unwrap();
        assert!(matches!(
            install(Host::Git, &t, bin, pol, false),
            Err(InstallError::Foreign { .. })
        ));
        let forced = install(Host::Git, &t, bin, pol, true).unwrap();
        assert!(matches!(
            forced[0],
            Outcome::Installed { saved: Some(_), .. }
        ));
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode(&d.path().join("hooks/pre-receive.pushguard-saved")),
                0o644,
                "the kept hook does not run"
            );
            uninstall(Host::Git, &t).unwrap();
            assert_eq!(mode(&d.path().join("hooks/pre-receive")), 0o755);
        }
        let restored = std::fs::read_to_string(d.path().join("hooks/pre-receive")).unwrap();
        assert_eq!(
            restored, "#!/bin/sh\nexit 0\n",
            "the foreign hook is put back"
        );
    }

    #[test]
    fn gitea_all_repositories_and_gitlab_places() {
        let d = tempfile::tempdir().unwrap();
        for r in ["ops/fleet.git", "ops/apps.git", "dev/site.git"] {
            bare_at(&d.path().join(r));
        }
        std::fs::create_dir_all(d.path().join("ops/fleet.git/hooks/pre-receive.d")).unwrap();
        std::fs::write(
            d.path().join("ops/fleet.git/hooks/pre-receive.d/gitea"),
            "gitea's own",
        )
        .unwrap();
        let t = Target {
            all: Some(d.path().to_path_buf()),
            ..Target::default()
        };
        let out = install(
            Host::Gitea,
            &t,
            Path::new("/pg"),
            Path::new("/p.toml"),
            false,
        )
        .unwrap();
        assert_eq!(out.len(), 3);
        assert!(d
            .path()
            .join("dev/site.git/hooks/pre-receive.d/pushguard")
            .is_file());
        assert_eq!(
            std::fs::read_to_string(d.path().join("ops/fleet.git/hooks/pre-receive.d/gitea"))
                .unwrap(),
            "gitea's own"
        );
        // A repository created later is covered by running the same command again.
        bare_at(&d.path().join("dev/new.git"));
        let again = install(
            Host::Gitea,
            &t,
            Path::new("/pg"),
            Path::new("/p.toml"),
            false,
        )
        .unwrap();
        assert_eq!(
            again
                .iter()
                .filter(|o| matches!(o, Outcome::Installed { .. }))
                .count(),
            1
        );

        let g = repo_target(&d.path().join("ops/apps.git"));
        install(
            Host::Gitlab,
            &g,
            Path::new("/pg"),
            Path::new("/p.toml"),
            false,
        )
        .unwrap();
        assert!(d
            .path()
            .join("ops/apps.git/custom_hooks/pre-receive.d/pushguard")
            .is_file());
        let tarball = d.path().join("hooks.tar");
        let t = Target {
            tarball: Some(tarball.clone()),
            ..Target::default()
        };
        install(
            Host::Gitlab,
            &t,
            Path::new("/pg"),
            Path::new("/p.toml"),
            false,
        )
        .unwrap();
        let listing = std::process::Command::new("tar")
            .arg("-tvf")
            .arg(&tarball)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(
            listing.contains("custom_hooks/pre-receive.d/pushguard"),
            "{listing}"
        );
        assert!(listing.contains("-rwxr-xr-x"), "{listing}");
    }

    #[test]
    fn audit_directory_is_created_for_the_hooks_account() {
        use std::os::unix::fs::MetadataExt;
        let d = tempfile::tempdir().unwrap();
        let home = d.path().join("gitolite-home");
        std::fs::create_dir(&home).unwrap();
        let is_root = std::fs::metadata(d.path()).unwrap().uid() == 0
            && std::os::unix::fs::chown(&home, Some(65534), Some(65534)).is_ok();
        let log = d.path().join("var/log/pushguard/audit.jsonl");
        let lines = prepare_audit_dir(&log, Some(&home));
        let dir = log.parent().unwrap();
        assert!(dir.is_dir(), "{lines:?}");
        assert!(
            lines[0].starts_with("created the audit log's directory"),
            "{lines:?}"
        );
        if is_root {
            assert_eq!(std::fs::metadata(dir).unwrap().uid(), 65534, "{lines:?}");
            assert!(lines[1].contains("65534:65534"), "{lines:?}");
        }
        assert!(
            prepare_audit_dir(&log, Some(&home)).is_empty(),
            "nothing left to do"
        );
        // Where it cannot create the directory, it says what to run.
        std::fs::write(d.path().join("file"), "").unwrap();
        let lines = prepare_audit_dir(&d.path().join("file/sub/audit.jsonl"), Some(&home));
        assert!(lines[0].contains("run `mkdir -p "), "{lines:?}");
    }

    #[test]
    fn refuses_non_repositories() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            install(
                Host::Git,
                &repo_target(d.path()),
                Path::new("/x"),
                Path::new("/y"),
                false
            ),
            Err(InstallError::NotARepo(_))
        ));
    }
}
