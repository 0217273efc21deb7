//! Facts about objects, kept between pushes in the repository's own directory.
//!
//! Some answers cost a walk of a whole tree (which files define a Flux `Kustomization`, an Argo
//! CD `Application` or a kustomization): a push that changes one file must not pay for the 5,000
//! it leaves alone. An object's id names its content, so a fact computed from an object's
//! content is true for as long as the id exists, whoever pushed it and whether or not that push
//! landed: a pusher can add facts only by making pushguard compute them from content, never
//! choose what they say. That is what makes the store safe to share between pushes.
//!
//! Layout: `$GIT_DIR/pushguard/cache/<table>-<version>/<2 hex>/<rest of the id>`, one small
//! file per object, written to a temporary file and renamed into place (concurrent pushes
//! write the same bytes). Each file carries a checksum: a torn or altered file is a miss, never
//! a wrong answer read back. Files untouched for [`KEEP_DAYS`] days are removed, at most once a
//! day. Every failure here (a read-only repository, a full disk) only makes the store miss:
//! the caller computes the fact again.
//!
//! The version is part of the directory name, so a new pushguard never reads facts an older
//! one computed with other rules; the other versions' directories are removed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use gix::ObjectId;

const MAGIC: &[u8; 4] = b"PGC1";
/// Files older than this are removed by the daily sweep (a fact still used is made again).
pub const KEEP_DAYS: u64 = 30;
/// The environment variable that turns the store off (for troubleshooting: every fact is
/// computed from the objects, as on a first push).
pub const DISABLE_VAR: &str = "PUSHGUARD_NO_CACHE";

/// One table of facts, by object id.
pub struct FactStore {
    dir: Option<PathBuf>,
}

/// FNV-1a, 64 bits: catches torn and altered files (the store is not written by pushers, see
/// the module docs; this is not a defence against someone who can write the repository).
fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl FactStore {
    /// The table `table` of the repository at `git_dir`, or a store that always misses when
    /// [`DISABLE_VAR`] is set. A table whose facts change form is renamed `<table>.<n>`: the
    /// directories of its earlier forms, and of other versions, are removed.
    pub fn open(git_dir: &Path, table: &str) -> FactStore {
        if std::env::var_os(DISABLE_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
            return FactStore::disabled();
        }
        let root = git_dir.join("pushguard").join("cache");
        let name = format!("{table}-{}", env!("CARGO_PKG_VERSION"));
        let dir = root.join(&name);
        if !dir.is_dir() {
            // Facts of other versions, or of the table's other forms, are of no use to this one.
            let base = |t: &str| t.split_once('.').map_or(t, |(b, _)| b).to_string();
            let ours = base(table);
            if let Ok(entries) = std::fs::read_dir(&root) {
                for e in entries.flatten() {
                    let n = e.file_name();
                    let n = n.to_string_lossy();
                    let same_table = n.split_once('-').is_some_and(|(t, _)| base(t) == ours);
                    if same_table && n != name {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        FactStore { dir: Some(dir) }
    }

    /// A store that remembers nothing.
    pub fn disabled() -> FactStore {
        FactStore { dir: None }
    }

    fn file(&self, id: &ObjectId) -> Option<PathBuf> {
        let hex = id.to_hex().to_string();
        let (fan, rest) = hex.split_at(2);
        self.dir.as_ref().map(|d| d.join(fan).join(rest))
    }

    /// The fact stored for `id`, if a whole, unaltered one is there. A damaged file (torn by
    /// a crash, or read while another push was still writing it) is a miss, and is removed so
    /// that a later push can store the fact again.
    pub fn get(&self, id: &ObjectId) -> Option<Vec<u8>> {
        let path = self.file(id)?;
        let bytes = std::fs::read(&path).ok()?;
        let whole = bytes
            .strip_prefix(MAGIC)
            .and_then(|b| b.split_first_chunk::<8>())
            .filter(|(sum, body)| u64::from_le_bytes(**sum) == checksum(body));
        match whole {
            Some((_, body)) => Some(body.to_vec()),
            None => {
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores `fact` for `id` (best effort: a failure only means a later miss).
    ///
    /// The file is created under its final name, never replaced: a reader that finds it half
    /// written sees a checksum that does not match (a miss), and two pushes storing the same
    /// fact at once write the same bytes, the second finding the file there. Creating in place
    /// costs a third of a temporary file and a rename, which matters at one file per directory
    /// a push changes.
    pub fn put(&self, id: &ObjectId, fact: &[u8]) {
        let Some(path) = self.file(id) else { return };
        let Some(dir) = path.parent() else { return };
        let create = || {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            o.open(&path)
        };
        let file = match create() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::fs::create_dir_all(dir).is_err() {
                    return;
                }
                create()
            }
            other => other,
        };
        // Already there: stored by an earlier or a concurrent push.
        let Ok(mut file) = file else { return };
        let mut out = Vec::with_capacity(fact.len() + 12);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&checksum(fact).to_le_bytes());
        out.extend_from_slice(fact);
        if file.write_all(&out).is_err() {
            drop(file);
            let _ = std::fs::remove_file(&path);
        }
    }

    /// Removes facts untouched for [`KEEP_DAYS`] days, and temporary files a killed process
    /// left; runs at most once a day (the `swept` file's time says when it last ran).
    pub fn sweep(&self) {
        let Some(dir) = &self.dir else { return };
        let stamp = dir.join("swept");
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let recent = std::fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age < day));
        if recent {
            return;
        }
        // A new store has nothing to sweep: its day starts now.
        let new = !dir.is_dir();
        if new && std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if std::fs::write(&stamp, b"").is_err() || new {
            return;
        }
        let keep = day * u32::try_from(KEEP_DAYS).unwrap_or(30);
        let Ok(fans) = std::fs::read_dir(dir) else {
            return;
        };
        for fan in fans.flatten().filter(|f| f.path().is_dir()) {
            let Ok(files) = std::fs::read_dir(fan.path()) else {
                continue;
            };
            for file in files.flatten() {
                let old = file
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > keep));
                let stale_tmp = file.file_name().to_string_lossy().starts_with(".tmp-")
                    && file
                        .metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > day));
                if old || stale_tmp {
                    let _ = std::fs::remove_file(file.path());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    #[test]
    fn a_fact_reads_back_and_a_damaged_one_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = FactStore::open(dir.path(), "t");
        assert_eq!(store.get(&id(1)), None);
        store.put(&id(1), b"hello");
        assert_eq!(store.get(&id(1)).as_deref(), Some(&b"hello"[..]));
        let file = store.file(&id(1)).unwrap();
        // Torn: cut short.
        let whole = std::fs::read(&file).unwrap();
        std::fs::write(&file, &whole[..whole.len() - 1]).unwrap();
        assert_eq!(store.get(&id(1)), None);
        // Altered: one byte of the fact changed.
        let mut altered = whole.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        std::fs::write(&file, &altered).unwrap();
        assert_eq!(store.get(&id(1)), None);
        // Empty, as after a crash before the data reached the disk.
        std::fs::write(&file, b"").unwrap();
        assert_eq!(store.get(&id(1)), None);
        // Written again, it reads back.
        store.put(&id(1), b"hello");
        assert_eq!(store.get(&id(1)).as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn other_versions_are_removed_and_a_read_only_store_only_misses() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("pushguard/cache/t-0.0.0-old");
        std::fs::create_dir_all(&old).unwrap();
        let other_table = dir.path().join("pushguard/cache/u-0.0.0-old");
        std::fs::create_dir_all(&other_table).unwrap();
        let earlier_form = dir.path().join("pushguard/cache/t.1-0.0.0");
        std::fs::create_dir_all(&earlier_form).unwrap();
        let similar_name = dir.path().join("pushguard/cache/tt-0.0.0");
        std::fs::create_dir_all(&similar_name).unwrap();
        let store = FactStore::open(dir.path(), "t.2");
        assert!(!old.exists());
        assert!(!earlier_form.exists());
        assert!(other_table.exists());
        assert!(similar_name.exists());
        // A store whose directory cannot be made (a file is in the way) misses quietly.
        let blocked = tempfile::tempdir().unwrap();
        std::fs::write(blocked.path().join("pushguard"), b"").unwrap();
        let store2 = FactStore::open(blocked.path(), "t");
        store2.put(&id(2), b"x");
        assert_eq!(store2.get(&id(2)), None);
        store.put(&id(2), b"x");
        assert_eq!(store.get(&id(2)).as_deref(), Some(&b"x"[..]));
        assert_eq!(FactStore::disabled().get(&id(2)), None);
    }

    #[test]
    fn the_sweep_removes_old_facts_and_left_over_temporary_files_once_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = FactStore::open(dir.path(), "t");
        store.put(&id(3), b"old");
        store.put(&id(4), b"new");
        let old = store.file(&id(3)).unwrap();
        let tmp = old.parent().unwrap().join(".tmp-left");
        std::fs::write(&tmp, b"partial").unwrap();
        let long_ago = SystemTime::now() - Duration::from_secs(86_400 * (KEEP_DAYS + 1));
        for p in [&old, &tmp] {
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        store.sweep();
        assert_eq!(store.get(&id(3)), None);
        assert!(!tmp.exists());
        assert_eq!(store.get(&id(4)).as_deref(), Some(&b"new"[..]));
        // Once a day: a second sweep today does not look.
        store.put(&id(5), b"x");
        let f5 = store.file(&id(5)).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&f5)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        store.sweep();
        assert_eq!(store.get(&id(5)).as_deref(), Some(&b"x"[..]));
    }
}
