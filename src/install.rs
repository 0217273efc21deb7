//! Installing the hook shim where a host runs it.
//!
//! The shims in `hooks/` are one `exec` line that passes the policy path; everything else is in
//! the binary. Installing is idempotent (the same shim twice changes nothing), recognises its own
//! earlier versions by the `pushguard-managed` marker, and never replaces someone else's hook
//! unless told to with `--force` (the old hook is then kept beside it).

use std::path::{Path, PathBuf};

/// Marks a hook file as ours.
pub const MARKER: &str = "pushguard-managed";
const GIT_SHIM: &str = include_str!("../hooks/git/pre-receive");

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0} is not a git repository (no HEAD and objects/ in it or in its .git/)")]
    NotARepo(PathBuf),
    #[error("{path} already exists and was not installed by pushguard; rerun with --force to replace it (it will be kept as {backup})")]
    Foreign { path: PathBuf, backup: PathBuf },
    #[error("host {0:?} is not supported yet: use --host git")]
    UnsupportedHost(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
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
    },
    NotInstalled {
        hook: PathBuf,
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
                write!(
                    f,
                    "\nto undo: pushguard uninstall --host git --repo {}",
                    repo_of(hook).display()
                )
            }
            Outcome::Updated { hook } => write!(f, "updated {}", hook.display()),
            Outcome::Unchanged { hook } => {
                write!(
                    f,
                    "{} is already installed; nothing changed",
                    hook.display()
                )
            }
            Outcome::Removed { hook } => write!(f, "removed {}", hook.display()),
            Outcome::NotInstalled { hook } => {
                write!(
                    f,
                    "no pushguard hook at {}; nothing changed",
                    hook.display()
                )
            }
        }
    }
}

fn repo_of(hook: &Path) -> PathBuf {
    hook.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
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

/// The shim text for plain git.
pub fn git_shim(binary: &Path, policy: &Path) -> String {
    GIT_SHIM
        .replace("@PUSHGUARD@", &shell_quote(&binary.to_string_lossy()))
        .replace("@POLICY@", &shell_quote(&policy.to_string_lossy()))
}

/// Installs the plain-git shim as `hooks/pre-receive` of `repo`.
pub fn install_git(
    repo: &Path,
    binary: &Path,
    policy: &Path,
    force: bool,
) -> Result<Outcome, InstallError> {
    let hooks = git_dir(repo)?.join("hooks");
    let hook = hooks.join("pre-receive");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InstallError::Io { path, source }
    };
    let text = git_shim(binary, policy);
    let mut saved = None;
    let mut updating = false;
    match std::fs::read(&hook) {
        Ok(existing) if existing == text.as_bytes() => return Ok(Outcome::Unchanged { hook }),
        Ok(existing) if String::from_utf8_lossy(&existing).contains(MARKER) => updating = true,
        Ok(_) => {
            let backup = hooks.join("pre-receive.pushguard-saved");
            if !force {
                return Err(InstallError::Foreign { path: hook, backup });
            }
            std::fs::rename(&hook, &backup).map_err(io(&hook))?;
            saved = Some(backup);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(InstallError::Io {
                path: hook,
                source: e,
            })
        }
    }
    std::fs::create_dir_all(&hooks).map_err(io(&hooks))?;
    // Write beside and rename, so git never runs a half-written hook.
    let tmp = hooks.join(".pre-receive.pushguard-tmp");
    std::fs::write(&tmp, &text).map_err(io(&tmp))?;
    set_executable(&tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &hook).map_err(io(&hook))?;
    Ok(if updating {
        Outcome::Updated { hook }
    } else {
        Outcome::Installed { hook, saved }
    })
}

/// Removes our shim (and puts back a hook `--force` had set aside).
pub fn uninstall_git(repo: &Path) -> Result<Outcome, InstallError> {
    let hooks = git_dir(repo)?.join("hooks");
    let hook = hooks.join("pre-receive");
    match std::fs::read(&hook) {
        Ok(existing) if String::from_utf8_lossy(&existing).contains(MARKER) => {
            std::fs::remove_file(&hook).map_err(|source| InstallError::Io {
                path: hook.clone(),
                source,
            })?;
            let backup = hooks.join("pre-receive.pushguard-saved");
            if backup.is_file() {
                std::fs::rename(&backup, &hook).map_err(|source| InstallError::Io {
                    path: backup.clone(),
                    source,
                })?;
            }
            Ok(Outcome::Removed { hook })
        }
        _ => Ok(Outcome::NotInstalled { hook }),
    }
}

#[cfg(unix)]
fn set_executable(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn set_executable(_p: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Single-quotes a string for sh.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::create_dir_all(d.path().join("objects")).unwrap();
        d
    }

    #[test]
    fn install_is_idempotent_and_respects_foreign_hooks() {
        let d = bare();
        let bin = Path::new("/usr/local/bin/pushguard");
        let pol = Path::new("/etc/pushguard/it's.toml");
        let first = install_git(d.path(), bin, pol, false).unwrap();
        assert!(matches!(first, Outcome::Installed { saved: None, .. }));
        let text = std::fs::read_to_string(d.path().join("hooks/pre-receive")).unwrap();
        assert!(text.contains(
            "exec '/usr/local/bin/pushguard' pre-receive --policy '/etc/pushguard/it'\\''s.toml'"
        ));
        assert!(matches!(
            install_git(d.path(), bin, pol, false).unwrap(),
            Outcome::Unchanged { .. }
        ));
        assert!(matches!(
            install_git(d.path(), bin, Path::new("/other.toml"), false).unwrap(),
            Outcome::Updated { .. }
        ));
        assert!(matches!(
            uninstall_git(d.path()).unwrap(),
            Outcome::Removed { .. }
        ));
        assert!(!d.path().join("hooks/pre-receive").exists());

        std::fs::write(d.path().join("hooks/pre-receive"), "#!/bin/sh\nexit 0\n").unwrap();
        assert!(matches!(
            install_git(d.path(), bin, pol, false),
            Err(InstallError::Foreign { .. })
        ));
        let forced = install_git(d.path(), bin, pol, true).unwrap();
        assert!(matches!(forced, Outcome::Installed { saved: Some(_), .. }));
        uninstall_git(d.path()).unwrap();
        let restored = std::fs::read_to_string(d.path().join("hooks/pre-receive")).unwrap();
        assert_eq!(
            restored, "#!/bin/sh\nexit 0\n",
            "the foreign hook is put back"
        );
    }

    #[test]
    fn refuses_non_repositories() {
        let d = tempfile::tempdir().unwrap();
        assert!(matches!(
            install_git(d.path(), Path::new("/x"), Path::new("/y"), false),
            Err(InstallError::NotARepo(_))
        ));
    }
}
