//! Loose objects read in one pass: the file opened once, its size taken from the header the
//! moment it is inflated, and the rest inflated straight into a buffer of that size.
//!
//! A push's own objects are loose (git unpacks a push of fewer than `receive.unpackLimit`
//! objects, 100 by default, into the quarantine), and they are most of what a typical push
//! reads. Through gix each was opened and inflated twice: once for its header (the size is
//! checked against the budgets before anything is allocated) and once for its body. Here the
//! header check stays where it was, between the first bytes and the body, at half the cost.
//!
//! Anything unusual (an object that is not loose in the directories given, a file larger than
//! any object the budget admits, an unreadable file) is left to gix: `None`. An object whose
//! bytes contradict its header (longer, shorter, not zlib) is an error here, as it is in gix.

use std::io::Read;
use std::path::PathBuf;

use gix::zlib::{Decompress, FlushDecompress, Status};
use gix::ObjectId;

use super::RepoError;

/// Where a push's loose objects live, and one inflater reused across them (making one
/// allocates and fills its tables).
pub(super) struct Loose {
    dirs: Vec<Dir>,
    inflater: std::sync::Mutex<Option<Decompress>>,
}

/// One object directory and, once asked, the loose objects it holds: most objects a push
/// reads are packed, and trying to open each one as a loose file first cost a failed `open`
/// per object (a first push reads every tree of the repository).
struct Dir {
    path: PathBuf,
    /// `None` inside: the directory holds more loose objects than [`LIST_MAX`], so each is
    /// tried by opening it.
    listed: std::sync::OnceLock<Option<std::collections::HashSet<ObjectId>>>,
}

/// Most loose objects listed per directory (a quarantine holds a push's, fewer than
/// `receive.unpackLimit`, 100 by default).
const LIST_MAX: usize = 4096;

impl Dir {
    /// Whether `id` may be a loose object here.
    fn may_hold(&self, id: &ObjectId) -> bool {
        match self.listed.get_or_init(|| list(&self.path)) {
            Some(ids) => ids.contains(id),
            None => true,
        }
    }
}

/// The loose objects of an object directory, or `None` past [`LIST_MAX`] or when it cannot
/// be listed.
fn list(path: &std::path::Path) -> Option<std::collections::HashSet<ObjectId>> {
    let mut ids = std::collections::HashSet::new();
    for fan in std::fs::read_dir(path).ok()? {
        let fan = fan.ok()?;
        let fan_name = fan.file_name();
        let Some(prefix) = fan_name
            .to_str()
            .filter(|n| n.len() == 2 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        else {
            continue;
        };
        for obj in std::fs::read_dir(fan.path()).ok()? {
            let name = obj.ok()?.file_name();
            let Some(rest) = name.to_str() else { continue };
            if let Ok(id) = ObjectId::from_hex(format!("{prefix}{rest}").as_bytes()) {
                ids.insert(id);
                if ids.len() > LIST_MAX {
                    return None;
                }
            }
        }
    }
    Some(ids)
}

/// The longest object header: `commit ` and a 20-digit size and the NUL.
const HEADER_MAX: usize = 32;

impl Loose {
    /// `dirs`: the object directories to look in, in order (the quarantine first).
    pub(super) fn new(dirs: Vec<PathBuf>) -> Loose {
        Loose {
            dirs: dirs
                .into_iter()
                .map(|path| Dir {
                    path,
                    listed: std::sync::OnceLock::new(),
                })
                .collect(),
            inflater: std::sync::Mutex::new(None),
        }
    }

    /// Reads `id` if it is a loose object in one of the directories. `admit` is called with
    /// the size the header states, before the body is inflated, and refuses with its error;
    /// `corrupt` makes the error for bytes that are not the object they claim to be.
    /// `max_file`: a file larger than this is left to gix (which refuses it from its header).
    pub(super) fn read(
        &self,
        id: &ObjectId,
        max_file: u64,
        admit: &dyn Fn(u64) -> Result<(), RepoError>,
        corrupt: &dyn Fn(String) -> RepoError,
    ) -> Result<Option<(gix::object::Kind, Vec<u8>)>, RepoError> {
        let hex = id.to_hex().to_string();
        let (Some(fan), Some(rest)) = (hex.get(..2), hex.get(2..)) else {
            return Ok(None);
        };
        let mut file = None;
        for dir in self.dirs.iter().filter(|d| d.may_hold(id)) {
            match std::fs::File::open(dir.path.join(fan).join(rest)) {
                Ok(f) => {
                    file = Some(f);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(_) => return Ok(None),
            }
        }
        let Some(mut file) = file else {
            return Ok(None);
        };
        let len = match file.metadata() {
            Ok(m) if m.is_file() && m.len() <= max_file => m.len(),
            _ => return Ok(None),
        };
        let mut input = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        if (&mut file).take(max_file).read_to_end(&mut input).is_err() {
            return Ok(None);
        }
        self.with_inflater(|z| inflate(z, &input, admit, corrupt))
            .map(Some)
    }

    /// Runs `f` with the shared inflater, reset (a new one if another thread holds it).
    fn with_inflater<T>(&self, f: impl FnOnce(&mut Decompress) -> T) -> T {
        let mut z = self
            .inflater
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .unwrap_or_default();
        z.reset();
        let out = f(&mut z);
        if let Ok(mut slot) = self.inflater.lock() {
            *slot = Some(z);
        }
        out
    }

    /// The kind and size `id`'s header states, if it is a loose object in one of the
    /// directories: only the first bytes are read and inflated. `None` leaves it to gix.
    pub(super) fn header(&self, id: &ObjectId) -> Option<(gix::object::Kind, u64)> {
        let hex = id.to_hex().to_string();
        let (fan, rest) = (hex.get(..2)?, hex.get(2..)?);
        let mut file = self
            .dirs
            .iter()
            .filter(|d| d.may_hold(id))
            .find_map(|dir| std::fs::File::open(dir.path.join(fan).join(rest)).ok())?;
        // A header is at most 32 bytes; zlib's stream header and first block header come
        // first, and a stored block or a Huffman table takes a few hundred bytes at most.
        let mut input = Vec::with_capacity(1024);
        (&mut file).take(1024).read_to_end(&mut input).ok()?;
        self.with_inflater(|z| {
            let mut head = [0u8; HEADER_MAX];
            z.decompress(&input, &mut head, FlushDecompress::None)
                .ok()?;
            let produced = usize::try_from(z.total_out()).ok()?;
            let got = head.get(..produced)?;
            let nul = got.iter().position(|&b| b == 0)?;
            parse_header(got.get(..nul)?)
        })
    }
}

fn inflate(
    z: &mut Decompress,
    input: &[u8],
    admit: &dyn Fn(u64) -> Result<(), RepoError>,
    corrupt: &dyn Fn(String) -> RepoError,
) -> Result<(gix::object::Kind, Vec<u8>), RepoError> {
    let zerr =
        |e: &dyn std::fmt::Display| corrupt(format!("the loose object does not inflate: {e}"));
    let mut head = [0u8; HEADER_MAX];
    let mut status = z
        .decompress(input, &mut head, FlushDecompress::None)
        .map_err(|e| zerr(&e))?;
    let produced = usize::try_from(z.total_out()).unwrap_or(usize::MAX);
    let got = head.get(..produced).unwrap_or(&head);
    let nul = got.iter().position(|&b| b == 0).ok_or_else(|| {
        corrupt("the loose object's header is not `<kind> <size>` and a NUL".into())
    })?;
    let (kind, size) = got.get(..nul).and_then(parse_header).ok_or_else(|| {
        corrupt("the loose object's header is not `<kind> <size>` and a NUL".into())
    })?;
    admit(size)?;
    let size = usize::try_from(size).map_err(|_| corrupt("the object is too large".into()))?;
    let first = got.get(nul + 1..).unwrap_or_default();
    if first.len() > size {
        return Err(corrupt(format!(
            "the loose object holds more than the {size} bytes its header states"
        )));
    }
    let mut out = vec![0u8; size];
    if let Some(dst) = out.get_mut(..first.len()) {
        dst.copy_from_slice(first);
    }
    let mut written = first.len();
    let mut scratch = [0u8; 1];
    while status != Status::StreamEnd {
        let (in_before, out_before) = (z.total_in(), z.total_out());
        let rest = usize::try_from(in_before)
            .ok()
            .and_then(|at| input.get(at..))
            .unwrap_or_default();
        let dst = match out.get_mut(written..) {
            Some(dst) if !dst.is_empty() => dst,
            _ => &mut scratch[..],
        };
        status = z
            .decompress(rest, dst, FlushDecompress::Finish)
            .map_err(|e| zerr(&e))?;
        let n = usize::try_from(z.total_out() - out_before).unwrap_or(usize::MAX);
        if written >= size && n > 0 {
            return Err(corrupt(format!(
                "the loose object holds more than the {size} bytes its header states"
            )));
        }
        written += n;
        if n == 0 && z.total_in() == in_before && status != Status::StreamEnd {
            return Err(corrupt(format!(
                "the loose object ends after {written} of the {size} bytes its header states"
            )));
        }
    }
    if written != size {
        return Err(corrupt(format!(
            "the loose object holds {written} bytes, its header states {size}"
        )));
    }
    Ok((kind, out))
}

/// `blob 123` → (Blob, 123), as git writes it (no sign, no leading zeros but `0` itself).
fn parse_header(h: &[u8]) -> Option<(gix::object::Kind, u64)> {
    let space = h.iter().position(|&b| b == b' ')?;
    let kind = gix::object::Kind::from_bytes(h.get(..space)?).ok()?;
    let digits = h.get(space + 1..)?;
    if digits.is_empty()
        || !digits.iter().all(u8::is_ascii_digit)
        || (digits.len() > 1 && digits.first() == Some(&b'0'))
    {
        return None;
    }
    let size = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((kind, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_loose(dir: &std::path::Path, header: &[u8], body: &[u8]) -> ObjectId {
        let id = ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap();
        let hex = id.to_hex().to_string();
        std::fs::create_dir_all(dir.join(&hex[..2])).unwrap();
        let mut data = header.to_vec();
        data.extend_from_slice(body);
        std::fs::write(dir.join(&hex[..2]).join(&hex[2..]), zlib_stored(&data)).unwrap();
        id
    }

    /// A zlib stream of stored (uncompressed) blocks, by hand (RFC 1950 header, RFC 1951
    /// stored blocks, Adler-32): git never writes an object whose bytes contradict its header,
    /// so the hostile ones are made here.
    fn zlib_stored(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x78, 0x01];
        let chunks: Vec<&[u8]> = if data.is_empty() {
            vec![&[][..]]
        } else {
            data.chunks(65535).collect()
        };
        for (i, c) in chunks.iter().enumerate() {
            out.push(u8::from(i + 1 == chunks.len()));
            let len = c.len() as u16;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(c);
        }
        let (mut a, mut b) = (1u32, 0u32);
        for &x in data {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        out.extend_from_slice(&((b << 16) | a).to_be_bytes());
        out
    }

    /// What `git hash-object -w` wrote reads back as `git cat-file` prints it.
    #[test]
    fn reads_objects_git_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str], input: Option<&[u8]>| {
            use std::io::Write;
            let mut c = std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = c.stdin.take().unwrap();
            stdin.write_all(input.unwrap_or_default()).unwrap();
            drop(stdin);
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success());
            o.stdout
        };
        git(&["init", "-q", "--bare", "."], None);
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let hex = git(&["hash-object", "-w", "--stdin"], Some(&text));
        let id = ObjectId::from_hex(String::from_utf8(hex).unwrap().trim().as_bytes()).unwrap();
        let loose = Loose::new(vec![dir.path().join("objects")]);
        let admit = |_: u64| Ok(());
        let corrupt = |m: String| RepoError::Quarantine(m);
        let (kind, data) = loose.read(&id, 1 << 30, &admit, &corrupt).unwrap().unwrap();
        assert_eq!(kind, gix::object::Kind::Blob);
        assert_eq!(data, text);
        assert_eq!(
            loose.header(&id),
            Some((gix::object::Kind::Blob, text.len() as u64))
        );
        // Read again with the same inflater.
        assert_eq!(
            loose
                .read(&id, 1 << 30, &admit, &corrupt)
                .unwrap()
                .unwrap()
                .1,
            text
        );
        // A file larger than any admissible object is left to gix.
        assert_eq!(loose.read(&id, 10, &admit, &corrupt).unwrap(), None);
    }

    fn read(
        dir: &std::path::Path,
        id: &ObjectId,
    ) -> Result<Option<(gix::object::Kind, Vec<u8>)>, String> {
        let loose = Loose::new(vec![dir.to_path_buf()]);
        let admit = |size: u64| {
            if size > 1000 {
                Err(RepoError::Quarantine(format!("too large: {size}")))
            } else {
                Ok(())
            }
        };
        let corrupt = |m: String| RepoError::Quarantine(m);
        loose
            .read(id, 1 << 20, &admit, &corrupt)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_what_the_header_states_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let id = write_loose(dir.path(), b"blob 5\0", b"hello");
        let (kind, data) = read(dir.path(), &id).unwrap().unwrap();
        assert_eq!(
            (kind, data.as_slice()),
            (gix::object::Kind::Blob, &b"hello"[..])
        );

        let body = vec![b'x'; 900];
        let id = write_loose(dir.path(), b"blob 900\0", &body);
        assert_eq!(read(dir.path(), &id).unwrap().unwrap().1, body);

        let id = write_loose(dir.path(), b"blob 0\0", b"");
        assert_eq!(read(dir.path(), &id).unwrap().unwrap().1, b"");

        for (header, body, want) in [
            (&b"blob 4\0"[..], &b"hello"[..], "more than"),
            (b"blob 6\0", b"hello", "header states 6"),
            (b"blob 05\0", b"hello", "header is not"),
            (b"blob 5", b"", "header is not"),
            (b"blob\x005", b"", "header is not"),
            (b"note 5\0", b"hello", "header is not"),
            (b"blob 5000\0", b"hello", "too large: 5000"),
            (b"blob 99999999999999999999999\0", b"", "header is not"),
        ] {
            let id = write_loose(dir.path(), header, body);
            let err = read(dir.path(), &id).unwrap_err();
            assert!(err.contains(want), "{header:?}: {err}");
        }
        // Not zlib at all.
        let hex = id.to_hex().to_string();
        std::fs::write(dir.path().join(&hex[..2]).join(&hex[2..]), b"not zlib").unwrap();
        assert!(read(dir.path(), &id)
            .unwrap_err()
            .contains("does not inflate"));
        // Not there: gix's business.
        let other = ObjectId::from_hex(b"1123456789abcdef0123456789abcdef01234567").unwrap();
        assert_eq!(read(dir.path(), &other).unwrap(), None);
    }
}
