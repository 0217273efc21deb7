//! Can the hook's account read the policy and keys and write the audit log?
//!
//! The hook runs as the account that owns the repositories (`git`), while administrators edit
//! the policy as root: one `chmod 600` by a routine edit, and every push is rejected. Root's
//! view (`access(2)` as root) says nothing about that account's, so `policy check --as-user`
//! (or `--repo`, whose owner is the hook's account) works it out from the files' owners and
//! mode bits, directory by directory, as the kernel would for that account.

use std::ffi::{CStr, CString};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A Unix account: its id, primary and supplementary groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gids: Vec<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("no account named {0:?} on this host")]
    NoSuchUser(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn passwd_buffer() -> Vec<u8> {
    vec![0u8; 16 * 1024]
}

/// The account named `who` (a name, or a numeric uid).
pub fn account(who: &str) -> Result<Account, AccessError> {
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = passwd_buffer();
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    let rc = if let Ok(uid) = who.parse::<u32>() {
        // SAFETY: valid pointers to a zeroed passwd, a buffer of the given length, and `found`.
        unsafe {
            libc::getpwuid_r(
                uid,
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        }
    } else {
        let name = CString::new(who).map_err(|_| AccessError::NoSuchUser(who.to_string()))?;
        // SAFETY: as above, with a NUL-terminated name.
        unsafe {
            libc::getpwnam_r(
                name.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        }
    };
    if rc != 0 || found.is_null() {
        return Err(AccessError::NoSuchUser(who.to_string()));
    }
    // SAFETY: getpw*_r succeeded, so pw_name points at a NUL-terminated string in `buf`.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) }
        .to_string_lossy()
        .into_owned();
    let gids = groups_of(&name, pwd.pw_gid);
    Ok(Account {
        name,
        uid: pwd.pw_uid,
        gids,
    })
}

/// The account owning `path` (the hook runs as the owner of the repository).
pub fn owner_of(path: &Path) -> Result<Account, AccessError> {
    let meta = std::fs::metadata(path).map_err(|source| AccessError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    account(&meta.uid().to_string()).or_else(|_| {
        Ok(Account {
            name: meta.uid().to_string(),
            uid: meta.uid(),
            gids: vec![meta.gid()],
        })
    })
}

fn groups_of(name: &str, primary: u32) -> Vec<u32> {
    let Ok(cname) = CString::new(name) else {
        return vec![primary];
    };
    let mut n: libc::c_int = 64;
    loop {
        let mut groups = vec![0 as libc::gid_t; usize::try_from(n).unwrap_or(64)];
        let mut count = n;
        // SAFETY: `groups` holds `count` entries; getgrouplist writes at most that many and
        // sets `count` to the number it needs when they do not fit.
        let rc =
            unsafe { libc::getgrouplist(cname.as_ptr(), primary, groups.as_mut_ptr(), &mut count) };
        if rc >= 0 {
            groups.truncate(usize::try_from(count).unwrap_or(0));
            if !groups.contains(&primary) {
                groups.push(primary);
            }
            return groups;
        }
        if count <= n || n > 65_536 {
            return vec![primary];
        }
        n = count;
    }
}

/// Which permission an access needs.
#[derive(Clone, Copy)]
enum Need {
    Read,
    Write,
    Search,
}

fn allowed(acct: &Account, meta: &std::fs::Metadata, need: Need) -> bool {
    if acct.uid == 0 {
        // Root reads and writes anything; it searches a directory with any x bit.
        return !matches!(need, Need::Search) || meta.mode() & 0o111 != 0;
    }
    let bits = match need {
        Need::Read => 0o4,
        Need::Write => 0o2,
        Need::Search => 0o1,
    };
    let mode = meta.mode();
    if meta.uid() == acct.uid {
        mode & (bits << 6) != 0
    } else if acct.gids.contains(&meta.gid()) {
        mode & (bits << 3) != 0
    } else {
        mode & bits != 0
    }
}

/// Every directory above `path` must be searchable by `acct`: the first that is not, if any.
fn blocked_ancestor(acct: &Account, path: &Path) -> Option<String> {
    let absolute = std::path::absolute(path).ok()?;
    let mut dir = PathBuf::new();
    let parent = absolute.parent()?;
    for part in parent.components() {
        dir.push(part);
        let meta = std::fs::metadata(&dir).ok()?;
        if !allowed(acct, &meta, Need::Search) {
            return Some(format!(
                "{} cannot enter {} (mode {:o}, owner {}:{})",
                acct.name,
                dir.display(),
                meta.mode() & 0o7777,
                meta.uid(),
                meta.gid()
            ));
        }
    }
    None
}

/// Why `acct` cannot read the file at `path`, if it cannot.
pub fn cannot_read(acct: &Account, path: &Path) -> Option<String> {
    if let Some(why) = blocked_ancestor(acct, path) {
        return Some(why);
    }
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    (!allowed(acct, &meta, Need::Read)).then(|| {
        format!(
            "{} cannot read {} (mode {:o}, owner {}:{})",
            acct.name,
            path.display(),
            meta.mode() & 0o7777,
            meta.uid(),
            meta.gid()
        )
    })
}

/// Why `acct` cannot append to the file at `path` (or create it, when it does not exist), if
/// it cannot.
pub fn cannot_append(acct: &Account, path: &Path) -> Option<String> {
    if let Some(why) = blocked_ancestor(acct, path) {
        return Some(why);
    }
    match std::fs::metadata(path) {
        Ok(meta) => (!allowed(acct, &meta, Need::Write)).then(|| {
            format!(
                "{} cannot write {} (mode {:o}, owner {}:{})",
                acct.name,
                path.display(),
                meta.mode() & 0o7777,
                meta.uid(),
                meta.gid()
            )
        }),
        Err(_) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            match std::fs::metadata(dir) {
                Ok(meta) if allowed(acct, &meta, Need::Write) => None,
                Ok(meta) => Some(format!(
                    "{} cannot create {} in {} (mode {:o}, owner {}:{})",
                    acct.name,
                    path.display(),
                    dir.display(),
                    meta.mode() & 0o7777,
                    meta.uid(),
                    meta.gid()
                )),
                Err(e) => Some(format!("{}: {e}", dir.display())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn mode_bits_decide_for_another_account() {
        let d = tempfile::tempdir().unwrap();
        chmod(d.path(), 0o755);
        let f = d.path().join("policy.toml");
        std::fs::write(&f, "version = 1\n").unwrap();
        let meta = std::fs::metadata(&f).unwrap();
        // Someone who is neither the owner nor in the group.
        let stranger = Account {
            name: "stranger".into(),
            uid: meta.uid().wrapping_add(4242),
            gids: vec![meta.gid().wrapping_add(4242)],
        };
        chmod(&f, 0o644);
        assert_eq!(cannot_read(&stranger, &f), None);
        chmod(&f, 0o600);
        let why = cannot_read(&stranger, &f).expect("refused");
        assert!(why.contains("cannot read") && why.contains("600"), "{why}");
        // In the file's group: the group bits decide.
        let member = Account {
            gids: vec![meta.gid()],
            ..stranger.clone()
        };
        chmod(&f, 0o640);
        assert_eq!(cannot_read(&member, &f), None);
        assert!(cannot_read(&stranger, &f).is_some());
        // A directory above that the account cannot enter.
        chmod(&f, 0o644);
        chmod(d.path(), 0o700);
        let why = cannot_read(&stranger, &f).expect("refused");
        assert!(why.contains("cannot enter"), "{why}");
        chmod(d.path(), 0o755);
        // Appending to a log that does not exist yet needs the directory's write bit.
        let log = d.path().join("audit.jsonl");
        assert!(cannot_append(&stranger, &log)
            .expect("refused")
            .contains("cannot create"));
        chmod(d.path(), 0o777);
        assert_eq!(cannot_append(&stranger, &log), None);
        chmod(d.path(), 0o755);
        // Root may do anything.
        let root = Account {
            name: "root".into(),
            uid: 0,
            gids: vec![0],
        };
        chmod(&f, 0o000);
        assert_eq!(cannot_read(&root, &f), None);
    }

    #[test]
    fn accounts_by_name_and_id() {
        let root = account("root").expect("root exists");
        assert_eq!(root.uid, 0);
        assert!(root.gids.contains(&0));
        assert_eq!(account("0").expect("by id").name, "root");
        assert!(matches!(
            account("no-such-user-pushguard"),
            Err(AccessError::NoSuchUser(_))
        ));
    }
}
