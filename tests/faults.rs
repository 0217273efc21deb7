//! Faults injected through the real hook: each must reject the push with a message that names
//! the fault, and a control push after the fault is gone must land (so a hook that rejects
//! everything fails these tests). Part of the hardening work; fuzzing and load come separately.
//!
//! Most faults are injected by a wrapper around the installed hook: a shell script that breaks
//! something (the quarantine's pack, the file size limit, the clock) and then runs pushguard
//! exactly as the installed shim does. The later tests also check that nothing is left behind:
//! git's quarantine (`objects/tmp_objdir-incoming-*`) and pushguard's own directories under a
//! private `TMPDIR`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::*;

const POLICY: &str = r#"version = 1
audit_log = "audit.jsonl"
[identities]
allow = ["*@example.com"]
[[ref]]
match = "refs/heads/main"
force_push = false
[[manifests]]
match = ["**/*.yaml"]
rules = ["privileged"]
"#;

fn fixture() -> Fixture {
    let f = Fixture::new(POLICY);
    f.commit("README", "base\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    f
}

fn assert_fails_closed(r: &Run, names: &str) {
    assert_rejected(r);
    assert!(
        r.out.contains("pushguard: push REJECTED"),
        "the pusher is told: {r:?}"
    );
    assert!(r.out.contains(names), "expected {names:?} in {r:?}");
}

/// The alternates workaround needs a temporary directory: with `TMPDIR` unwritable the push is
/// rejected, saying so, never accepted unchecked.
#[test]
fn an_unwritable_tmpdir_rejects_with_a_message() {
    let f = fixture();
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    let r = f.push_as(
        &[("TMPDIR", "/nonexistent/pushguard-tmp")],
        &["origin", "main"],
    );
    assert_fails_closed(&r, "quarantine");
    assert_accepted(&f.push(&["origin", "main"]));
}

/// The policy file replaced by a directory, made unreadable, or cut in half by an editor.
#[test]
fn a_policy_that_cannot_be_read_rejects_with_its_path() {
    let f = fixture();
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    // Half-written: the file ends inside a table.
    std::fs::write(&f.policy, &POLICY[..POLICY.len() / 2]).unwrap();
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, f.policy.to_str().unwrap());
    // A directory where the file was.
    std::fs::remove_file(&f.policy).unwrap();
    std::fs::create_dir(&f.policy).unwrap();
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, "cannot read the policy file");
    std::fs::remove_dir(&f.policy).unwrap();
    // Missing altogether.
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, "cannot read the policy file");
    f.set_policy(POLICY);
    assert_accepted(&f.push(&["origin", "main"]));
}

/// A key file that stops parsing (a routine edit gone wrong): every push is rejected, naming
/// the file, until it is fixed.
#[test]
fn a_key_file_that_stops_parsing_rejects() {
    let f = fixture();
    let keys = f.dir.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let signers = keys.join("allowed_signers");
    std::fs::write(&signers, "# no keys yet\n").unwrap();
    let with_keys = POLICY.replacen(
        "[identities]",
        "[keys]\nssh_allowed_signers = \"keys/allowed_signers\"\n[identities]",
        1,
    );
    f.set_policy(&with_keys);
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    assert_accepted(&f.push(&["origin", "main"]));
    std::fs::write(&signers, "dana@example.com ssh-ed25519 not-base64!\n").unwrap();
    f.commit("apps/a.yaml", "kind: ConfigMap\ndata: {}\n", "b");
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, "allowed_signers");
    std::fs::write(&signers, "# no keys yet\n").unwrap();
    assert_accepted(&f.push(&["origin", "main"]));
}

/// The audit log made a directory, or read-only: an unaudited push is not an accepted one.
#[test]
fn an_audit_log_that_cannot_be_written_rejects() {
    let f = fixture();
    let log = f.dir.path().join("audit.jsonl");
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap();
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, "cannot write the audit record");
    std::fs::remove_dir(&log).unwrap();
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o444)).unwrap();
    // root ignores file modes; make the file immutable to the test instead when running as root.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        let r = f.push(&["origin", "main"]);
        assert_fails_closed(&r, "cannot write the audit record");
    }
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_accepted(&f.push(&["origin", "main"]));
}

/// A corrupt loose object in the quarantine (a truncated zlib stream): rejected, naming the
/// object, not a crash and not an acceptance.
#[test]
fn a_corrupt_object_in_the_quarantine_rejects() {
    let f = fixture();
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    let blob = f.git(&["rev-parse", "HEAD:apps/a.yaml"]);
    // A wrapper hook truncates that blob's loose file in the quarantine, then runs pushguard.
    let hook = f.bare.join("hooks/pre-receive");
    let shim = std::fs::read_to_string(&hook).unwrap();
    let (dir, file) = blob.split_at(2);
    let corrupt = format!(
        "#!/bin/sh\nobj=\"$GIT_OBJECT_DIRECTORY/{dir}/{file}\"\nif [ -f \"$obj\" ]; then chmod u+w \"$obj\"; head -c 10 \"$obj\" > \"$obj.cut\" && mv \"$obj.cut\" \"$obj\"; fi\n"
    );
    std::fs::write(&hook, shim.replacen("#!/bin/sh\n", &corrupt, 1)).unwrap();
    let r = f.push(&["origin", "main"]);
    assert_fails_closed(&r, &blob[..7]);
    std::fs::write(&hook, &shim).unwrap();
    assert_accepted(&f.push(&["origin", "main"]));
}

/// A private `TMPDIR` for the hook (passed through `git push`), so leftovers can be counted.
fn private_tmp(f: &Fixture) -> PathBuf {
    let tmp = f.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    tmp
}

/// git's quarantine directories left in the repository's `objects/`, and pushguard's
/// temporary directories left in `tmp`.
fn leftovers(f: &Fixture, tmp: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(f.bare.join("objects")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("tmp_objdir") || name.contains("incoming") {
            out.push(e.path());
        }
    }
    for e in std::fs::read_dir(tmp).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("pushguard") {
            out.push(e.path());
        }
    }
    out
}

fn assert_nothing_left(f: &Fixture, tmp: &Path) {
    assert_eq!(leftovers(f, tmp), Vec::<PathBuf>::new(), "left behind");
}

/// Neither a crash nor a panic reached the pusher.
fn assert_no_crash(r: &Run) {
    for bad in [
        "panicked",
        "internal error",
        "died of signal",
        "RUST_BACKTRACE",
    ] {
        assert!(!r.out.contains(bad), "{bad:?} in {r:?}");
    }
}

/// The shim `pushguard install` wrote, and the command it runs
/// (`'…/pushguard' pre-receive --policy '…'`). Kept aside the first time, so that a wrapper
/// installed over it never wraps another wrapper.
fn shim(f: &Fixture) -> (String, String) {
    let kept = f.bare.join("hooks/pushguard-shim");
    if !kept.exists() {
        std::fs::copy(f.bare.join("hooks/pre-receive"), &kept).unwrap();
    }
    let text = std::fs::read_to_string(&kept).unwrap();
    assert!(
        text.contains("pushguard-managed"),
        "the installed shim: {text}"
    );
    let command = text
        .lines()
        .find_map(|l| l.strip_prefix("exec "))
        .unwrap_or_else(|| panic!("the shim has an exec line: {text}"))
        .to_string();
    (text, command)
}

/// Installs `script` as the hook, with `@PUSHGUARD@` replaced by the shim's command.
fn wrap_hook(f: &Fixture, script: &str) {
    let (_, command) = shim(f);
    let hook = f.bare.join("hooks/pre-receive");
    std::fs::write(&hook, script.replace("@PUSHGUARD@", &command)).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Puts the installed shim back.
fn restore_hook(f: &Fixture) {
    let (text, _) = shim(f);
    std::fs::write(f.bare.join("hooks/pre-receive"), text).unwrap();
}

/// Every line of the audit log at `log`, each one complete JSON record.
fn audit_records(log: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(log).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "the log ends with a complete line"
    );
    text.lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not one JSON record ({e}): {l:.300}"))
        })
        .collect()
}

/// A manifest of `lines` lines of pseudo-random text (a fixed seed): its blob compresses
/// poorly, so it fills most of a pack.
fn noisy_manifest(lines: usize) -> String {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: noisy\ndata:\n");
    for i in 0..lines {
        s.push_str(&format!("  k{i}: \""));
        for _ in 0..60 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push(char::from(
                b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize],
            ));
        }
        s.push_str("\"\n");
    }
    s
}

/// A pack kept in the quarantine (`receive.unpackLimit = 1`) that a wrapper cuts in half, or
/// overwrites in the middle, before pushguard reads it (a disk or filesystem fault after git
/// indexed it): rejected, naming the object that cannot be read and the pack's problem.
#[test]
fn a_truncated_or_corrupt_pack_in_the_quarantine_rejects() {
    let f = fixture();
    let tmp = private_tmp(&f);
    assert!(f
        .remote_git(&["config", "receive.unpackLimit", "1"])
        .is_some());
    let before = f.remote_ref("refs/heads/main");
    // The blob is most of the pack, so the middle of the pack is inside it.
    let tip = f.commit("apps/noisy.yaml", &noisy_manifest(400), "noisy");
    let blob = f.git(&["rev-parse", "HEAD:apps/noisy.yaml"]);
    let faults = [
        (
            "size=$(wc -c < \"$p\"); truncate -s $((size / 2)) \"$p\"; echo \"fault: cut $(basename \"$p\") to $((size / 2)) of $size bytes\" >&2",
            "pack entry is truncated",
        ),
        (
            "size=$(wc -c < \"$p\"); printf 'XXXXXXXXXXXXXXXX' | dd of=\"$p\" bs=1 seek=$((size / 2)) conv=notrunc status=none; echo \"fault: overwrote 16 bytes of $(basename \"$p\") at $((size / 2))\" >&2",
            "failed to decompress pack entry",
        ),
    ];
    for (fault, problem) in faults {
        wrap_hook(
            &f,
            &format!(
                "#!/bin/sh\nfor p in \"$GIT_OBJECT_DIRECTORY\"/pack/*.pack; do\n  [ -f \"$p\" ] || continue\n  chmod u+w \"$p\"\n  {fault}\ndone\nexec @PUSHGUARD@\n"
            ),
        );
        let r = f.push_as(&[("TMPDIR", tmp.to_str().unwrap())], &["origin", "main"]);
        assert!(
            r.out.contains("fault: "),
            "a pack was kept and broken: {r:?}"
        );
        assert_fails_closed(&r, &blob);
        let flat = r.flat().to_lowercase();
        assert!(flat.contains("apps/noisy.yaml"), "names the file: {r:?}");
        assert!(flat.contains("is missing or unreadable"), "{r:?}");
        assert!(
            flat.contains(problem),
            "names the problem {problem:?}: {r:?}"
        );
        assert_no_crash(&r);
        assert_eq!(f.remote_ref("refs/heads/main"), before, "unchanged");
        assert_nothing_left(&f, &tmp);
    }
    restore_hook(&f);
    let r = f.push_as(&[("TMPDIR", tmp.to_str().unwrap())], &["origin", "main"]);
    assert_accepted(&r);
    assert_eq!(
        f.remote_ref("refs/heads/main").as_deref(),
        Some(tip.as_str())
    );
    assert_nothing_left(&f, &tmp);
}

/// The audit log reaches the file size limit (RLIMIT_FSIZE, as a host may set for its hooks)
/// half-way through a record. By default that raises SIGXFSZ, which killed the hook with no
/// message and left half a record in the log; pushguard ignores the signal, so the write fails
/// with EFBIG, the partial record is cut back off, and the push is rejected naming the log.
#[test]
fn an_audit_log_over_the_file_size_limit_rejects_and_stays_whole() {
    let f = fixture();
    let tmp = private_tmp(&f);
    let log = f.dir.path().join("audit.jsonl");
    let size = std::fs::metadata(&log).unwrap().len();
    let before = f.remote_ref("refs/heads/main");
    let tip = f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    // Room for 100 bytes more: the record is several hundred. No `trap '' XFSZ` here.
    wrap_hook(
        &f,
        &format!(
            "#!/bin/sh\nexec prlimit --fsize={} -- @PUSHGUARD@\n",
            size + 100
        ),
    );
    let r = f.push_as(&[("TMPDIR", tmp.to_str().unwrap())], &["origin", "main"]);
    assert_fails_closed(&r, "cannot write the audit record");
    assert!(
        r.flat().contains(log.to_str().unwrap()),
        "names the log: {r:?}"
    );
    assert!(r.out.contains("File too large"), "says why: {r:?}");
    assert_no_crash(&r);
    assert_eq!(f.remote_ref("refs/heads/main"), before, "unchanged");
    assert_eq!(std::fs::metadata(&log).unwrap().len(), size, "cut back");
    assert_eq!(audit_records(&log).len(), 1);
    assert_nothing_left(&f, &tmp);
    restore_hook(&f);
    assert_accepted(&f.push_as(&[("TMPDIR", tmp.to_str().unwrap())], &["origin", "main"]));
    assert_eq!(
        f.remote_ref("refs/heads/main").as_deref(),
        Some(tip.as_str())
    );
    let records = audit_records(&log);
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["decision"], "accept");
}

/// A tmpfs mounted for one test, unmounted when dropped (also when the test fails).
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// `None` (and why, printed) when this machine does not let the tests mount one: mounting
    /// needs root (CAP_SYS_ADMIN), which CI containers often lack.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs(dir.to_path_buf())),
            Ok(o) => {
                eprintln!(
                    "skipped: cannot mount a tmpfs here: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A really full disk under the audit log (a 64 KiB tmpfs, filled up). The push's record (40
/// branches at once: over 4 KiB, more than the slack of the log's last page) fails half-way
/// with ENOSPC: the push is rejected naming the log, and the log keeps only complete records.
/// Needs permission to mount a tmpfs (root in a container that allows it); where that is
/// refused the test says so and checks nothing (the file size limit test above covers the
/// same path in pushguard without mounting anything).
#[test]
fn a_full_disk_under_the_audit_log_rejects_and_leaves_it_whole() {
    let f = fixture();
    let tmp = private_tmp(&f);
    let disk = f.dir.path().join("disk");
    let Some(_mounted) = Tmpfs::mount(&disk, "64k") else {
        return;
    };
    f.set_policy(&POLICY.replace("audit.jsonl", "disk/audit.jsonl"));
    let log = disk.join("audit.jsonl");
    let env = [("TMPDIR", tmp.to_str().unwrap())];
    f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    assert_accepted(&f.push_as(&env, &["origin", "main"]));
    let size = std::fs::metadata(&log).unwrap().len();
    // Forty new branches, in one push.
    let branches: Vec<String> = (0..40).map(|i| format!("b{i}")).collect();
    for b in &branches {
        f.git(&["branch", b]);
    }
    let mut args = vec!["origin"];
    args.extend(branches.iter().map(String::as_str));
    // Fill the disk.
    let filler = disk.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = [b'x'; 4096];
        while file.write_all(&chunk).is_ok() {}
    }
    let r = f.push_as(&env, &args);
    assert_fails_closed(&r, "cannot write the audit record");
    assert!(
        r.flat().contains(log.to_str().unwrap()),
        "names the log: {r:?}"
    );
    assert!(r.out.contains("No space left on device"), "says why: {r:?}");
    assert_no_crash(&r);
    for b in &branches {
        assert_eq!(f.remote_ref(&format!("refs/heads/{b}")), None, "{b}");
    }
    assert_eq!(std::fs::metadata(&log).unwrap().len(), size, "cut back");
    assert_eq!(audit_records(&log).len(), 1);
    assert_nothing_left(&f, &tmp);
    // Room again: the same push lands, and its record is the size that could not fit before.
    std::fs::remove_file(&filler).unwrap();
    assert_accepted(&f.push_as(&env, &args));
    let records = audit_records(&log);
    assert_eq!(records.len(), 2);
    assert!(records[1].to_string().len() > 4096, "{}", records[1]);
    assert_nothing_left(&f, &tmp);
}

/// Sets a path's modification time `secs` seconds back, the path itself when it is a symlink.
fn age(path: &Path, secs: u64) {
    let when = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - secs;
    let o = Command::new("touch")
        .args(["-h", "-d", &format!("@{when}")])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The host's timeout ends the hook with SIGKILL half-way through reading objects (a wrapper
/// makes the quarantine's `info/alternates` a FIFO, waits until pushguard opens it, then kills
/// it: no timing involved). The push is rejected and git removes its quarantine, but the
/// private alternates directory pushguard made under `TMPDIR` stays: nothing runs after
/// SIGKILL. The next hook sweeps it away once it is older than any live hook can be
/// (`STALE_AFTER`, 25 hours), and leaves alone a fresh one (a push still running), a symlink
/// named like one, and what a link inside a stale one points to.
#[test]
fn a_hook_killed_half_way_rejects_and_its_leftovers_are_swept_later() {
    let f = fixture();
    let tmp = private_tmp(&f);
    let env = [("TMPDIR", tmp.to_str().unwrap())];
    let before = f.remote_ref("refs/heads/main");
    let tip = f.commit("apps/a.yaml", "kind: ConfigMap\n", "a");
    wrap_hook(
        &f,
        r#"#!/bin/sh
mkdir -p "$GIT_OBJECT_DIRECTORY/info"
fifo="$GIT_OBJECT_DIRECTORY/info/alternates"
mkfifo "$fifo"
exec 3<&0
@PUSHGUARD@ <&3 3<&- &
pid=$!
# Should pushguard never open the FIFO, stop waiting after 10 s: the test fails, it does not hang.
(sleep 10; exec 5<"$fifo") </dev/null >/dev/null 2>&1 3<&- &
timer=$!
# Opening the FIFO for writing returns once pushguard has opened it for reading.
exec 4>"$fifo"
kill -9 "$pid"
wait "$pid"
echo "fault: pushguard killed (status $?)" >&2
kill "$timer" 2>/dev/null
exit 1
"#,
    );
    let r = f.push_as(&env, &["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("fault: pushguard killed (status 137)"),
        "{r:?}"
    );
    assert!(!r.out.contains("push accepted"), "{r:?}");
    assert_eq!(f.remote_ref("refs/heads/main"), before, "unchanged");
    let left = leftovers(&f, &tmp);
    assert_eq!(left.len(), 1, "the killed hook's directory alone: {left:?}");
    let killed = left[0].clone();
    assert!(
        killed
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("pushguard-objects-"),
        "{left:?}"
    );
    assert!(killed.join("info/alternates").is_file());
    restore_hook(&f);

    // Young, it belongs to a push that may still be running: the next push leaves it.
    assert_accepted(&f.push_as(&env, &["origin", "main"]));
    assert_eq!(
        f.remote_ref("refs/heads/main").as_deref(),
        Some(tip.as_str())
    );
    assert_eq!(leftovers(&f, &tmp), vec![killed.clone()]);

    // A day and two hours later it is stale, and so is one planted beside it with a link
    // inside; a fresh one, and an old symlink named like one, are not directories to sweep.
    let day = 24 * 3600;
    age(&killed, day + 2 * 3600);
    let victim = f.dir.path().join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("keep"), "x").unwrap();
    let planted = tmp.join("pushguard-objects-planted");
    std::fs::create_dir_all(planted.join("info")).unwrap();
    std::os::unix::fs::symlink(&victim, planted.join("info/link")).unwrap();
    age(&planted, day + 2 * 3600);
    let fresh = tmp.join("pushguard-objects-fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    let link = tmp.join("pushguard-objects-link");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    age(&link, day + 2 * 3600);
    age(&victim, day + 2 * 3600);
    f.commit("apps/b.yaml", "kind: ConfigMap\n", "b");
    assert_accepted(&f.push_as(&env, &["origin", "main"]));
    let mut left = leftovers(&f, &tmp);
    left.sort();
    assert_eq!(left, vec![fresh, link], "the stale ones are gone");
    assert!(victim.join("keep").is_file(), "nothing followed a link");
}

/// The hook's clock far in the future and far in the past (libfaketime preloaded into the
/// hook alone: git and the signing keep the real time), with a policy where time matters:
/// `main` needs a signature by a key that expires in ten years, judged `key_validity = "now"`
/// (the default). In 2100 the key has expired; in 1990 the signature claims a time later than
/// the server allows (`max_future_skew`); in 2200 OpenPGP cannot express the time at all. Each
/// is rejected naming the key and the time (or the clock), never accepted, and each audit
/// record carries the hook's (fake) time. With the real clock the same push lands.
#[test]
fn a_clock_far_in_the_future_or_the_past_rejects_signed_pushes() {
    let faketime = Command::new("faketime")
        .args(["2100-01-01 00:00:00", "date", "+%Y"])
        .output();
    match faketime {
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "2100" => {}
        other => panic!(
            "this test needs faketime (Debian package faketime; tests/install-deps.sh installs it): {other:?}"
        ),
    }
    let s = common::gpg::Setup::new("version = 1\n");
    s.gpg.run(&[
        "--quick-gen-key",
        "Dana Dev <dana@example.com>",
        "ed25519",
        "sign",
        "10y",
    ]);
    let listing = s.gpg.run(&[
        "--with-colons",
        "--list-keys",
        "=Dana Dev <dana@example.com>",
    ]);
    let fpr = listing
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .unwrap()
        .to_string();
    s.gpg.export(&fpr, &s.keys.join("dana.asc"));
    s.f.set_policy(&format!(
        r#"version = 1
audit_log = "audit.jsonl"
[keys]
openpgp = ["{keys}/*.asc"]
[groups]
devs = ["openpgp:{fpr}"]
[[ref]]
match = "refs/heads/main"
signers = ["devs"]
force_push = false
"#,
        keys = s.keys.display()
    ));
    s.sign_with(&fpr);
    let tip = s.commit_signed("apps/a.yaml", "kind: ConfigMap\n", "signed");
    let f = &s.f;
    let tmp = private_tmp(f);
    let key_short = &fpr[fpr.len() - 16..];
    let clocks = [
        (
            "1990-01-01 00:00:00",
            "1990-01-01T00:0",
            "later than the server time 1990-01-01",
        ),
        ("2100-01-01 00:00:00", "2100-01-01T00:0", "expired at"),
        // Past what OpenPGP can express: Sequoia panicked here, on a verification thread.
        (
            "2200-01-01 00:00:00",
            "2200-01-01T00:0",
            "a time OpenPGP cannot express",
        ),
    ];
    for (clock, recorded, problem) in clocks {
        // The clock runs on from the fake time; the monotonic clock (the watchdog's) stays real.
        wrap_hook(
            f,
            &format!("#!/bin/sh\nexec faketime -m --exclude-monotonic '{clock}' @PUSHGUARD@\n"),
        );
        let mut cmd = f.cmd("git", &f.work);
        cmd.env("GNUPGHOME", &s.gpg.home)
            .env("TMPDIR", &tmp)
            .args(["push", "origin", "main"]);
        let r = run_of(cmd.output().unwrap());
        assert_rejected(&r);
        assert_no_crash(&r);
        let flat = r.flat();
        assert!(flat.contains("error[signature.invalid]"), "{clock}: {r:?}");
        // A clock OpenPGP cannot hold is no key's problem: the message names the clock.
        assert!(
            clock.starts_with("2200") || flat.to_uppercase().contains(key_short),
            "{clock}: names the key: {r:?}"
        );
        assert!(flat.contains(problem), "{clock}: names {problem:?}: {r:?}");
        assert_eq!(f.remote_ref("refs/heads/main"), None, "{clock}: unchanged");
        assert_nothing_left(f, &tmp);
        let rec = f.audit_lines().pop().expect("an audit record");
        assert_eq!(rec["decision"], "reject", "{clock}: {rec}");
        assert!(
            rec["time"].as_str().unwrap().starts_with(recorded),
            "{clock}: recorded at the hook's time: {rec}"
        );
        assert_eq!(rec["violations"][0]["rule"], "signature.invalid", "{rec}");
    }
    restore_hook(f);
    assert_accepted(&s.push(&["origin", "main"]));
    assert_eq!(
        f.remote_ref("refs/heads/main").as_deref(),
        Some(tip.as_str())
    );
    assert_eq!(f.audit_lines().len(), 4);
}

/// Two valid policies that differ in whom they allow: both allow `*@example.com`, A also
/// `*@a.example`, B also `*@b.example`. Their text is the same up to the second glob.
const POLICY_A: &str = r#"version = 1
audit_log = "audit.jsonl"
[identities]
allow = ["*@example.com", "*@a.example"]
[[ref]]
match = "refs/heads/main"
force_push = false
"#;

const POLICY_B: &str = r#"version = 1
audit_log = "audit.jsonl"
[identities]
allow = ["*@example.com", "*@b.example"]
[[ref]]
match = "refs/heads/main"
force_push = false
"#;

/// Who pushes push `i`: allowed by both policies, by A only, by B only, by neither.
fn pusher(i: usize) -> &'static str {
    [
        "dana@example.com",
        "ana@a.example",
        "bo@b.example",
        "mallory@evil.test",
    ][i % 4]
}

/// Whether `policy` (A or B) accepts push `i`.
fn accepts(policy: char, i: usize) -> bool {
    match i % 4 {
        0 => true,
        1 => policy == 'A',
        2 => policy == 'B',
        _ => false,
    }
}

/// How the policy file is replaced while the pushes run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Writer {
    /// Written to a temporary file beside it and renamed over it (rename(2)).
    Atomic,
    /// Truncated, then written in two pieces (an editor or `cat >` in place): readers can see
    /// it empty, or cut inside a string; both are policy errors.
    InPlace,
}

/// Replaces `path` with A and B in turn until `stop`; returns how many times.
fn replace_policy(path: &Path, writer: Writer, stop: &std::sync::atomic::AtomicBool) -> usize {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    let pause = std::time::Duration::from_micros(300);
    // Both texts agree up to here, and a file cut here does not parse.
    let cut = POLICY_A.find("*@exa").unwrap() + 4;
    assert_eq!(POLICY_A[..cut], POLICY_B[..cut]);
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let text = if n % 2 == 0 { POLICY_A } else { POLICY_B };
        match writer {
            Writer::Atomic => {
                let tmp = path.with_extension(format!("toml.tmp{n}"));
                std::fs::write(&tmp, text).unwrap();
                std::fs::rename(&tmp, path).unwrap();
                std::thread::sleep(pause);
            }
            Writer::InPlace => {
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(path)
                    .unwrap();
                std::thread::sleep(pause);
                file.write_all(&text.as_bytes()[..cut]).unwrap();
                std::thread::sleep(pause);
                file.write_all(&text.as_bytes()[cut..]).unwrap();
                // As long whole as it was broken, so both kinds of read are common.
                std::thread::sleep(4 * pause);
            }
        }
        n += 1;
    }
    n
}

/// What the pushes of a run read: decided under A, under B, or stopped by a broken file.
#[derive(Default)]
struct Seen {
    under_a: usize,
    under_b: usize,
    broken: usize,
}

/// Twenty pushes at once (each to its own new branch, by four kinds of pusher) while the
/// policy file is replaced, A and B in turn, as fast as the writer can. Each push must be
/// decided right under A or under B, whichever the hook read: its audit record names the
/// policy by digest, and the decision, the record and the ref must agree with that policy. A
/// push both refuse is never accepted; a push both accept lands, unless (in place only) the
/// hook read a broken file, and then it is rejected by a policy error naming the file. No
/// crash, no panic, nothing left behind. The hooks read the policy in bursts (they start
/// together), so a wave can miss a version: waves run until each kind of read was seen (at
/// most five).
fn pushes_while_the_policy_is_replaced(writer: Writer) {
    let f = fixture();
    f.set_policy(POLICY_A);
    let tmp = private_tmp(&f);
    let mut seen = Seen::default();
    for wave in 0..5 {
        push_wave(&f, &tmp, writer, wave, &mut seen);
        eprintln!(
            "{writer:?}, after wave {wave}: {} decided under A, {} under B, {} read a broken file",
            seen.under_a, seen.under_b, seen.broken
        );
        let broken_seen = writer == Writer::Atomic || seen.broken > 0;
        if seen.under_a > 0 && seen.under_b > 0 && broken_seen {
            break;
        }
    }
    assert!(
        seen.under_a > 0 && seen.under_b > 0,
        "both versions were read"
    );
    match writer {
        Writer::Atomic => assert_eq!(seen.broken, 0, "a renamed file is never seen broken"),
        Writer::InPlace => assert!(seen.broken > 0, "the broken file was read"),
    }
    assert_nothing_left(&f, &tmp);
}

/// One wave of [`pushes_while_the_policy_is_replaced`]: its branches are `w<wave>p<i>`.
fn push_wave(f: &Fixture, tmp: &Path, writer: Writer, wave: usize, seen: &mut Seen) {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    const N: usize = 20;
    let digest = |text: &str| pushguard::policy::sha256_hex(text.as_bytes());
    let (digest_a, digest_b) = (digest(POLICY_A), digest(POLICY_B));
    let log = f.dir.path().join("audit.jsonl");
    let before = audit_records(&log).len();
    let branch = |i: usize| format!("w{wave}p{i}");
    let mut tips = Vec::new();
    for i in 0..N {
        f.git(&["checkout", "-q", "-b", &branch(i), "main"]);
        tips.push(f.commit_as(
            pusher(i),
            &format!("apps/{}.txt", branch(i)),
            "x\n",
            &format!("push {i}"),
        ));
    }
    let stop = AtomicBool::new(false);
    let started = std::time::Instant::now();
    let (runs, swaps) = std::thread::scope(|scope| {
        let swapper = scope.spawn(|| replace_policy(&f.policy, writer, &stop));
        let children: Vec<Child> = (0..N)
            .map(|i| {
                let mut c = f.cmd("git", &f.work);
                c.args(["push", f.bare.to_str().unwrap()])
                    .arg(format!("{b}:refs/heads/{b}", b = branch(i)))
                    .env("TMPDIR", tmp)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                c.spawn().unwrap()
            })
            .collect();
        let runs: Vec<Run> = children
            .into_iter()
            .map(|c| run_of(c.wait_with_output().unwrap()))
            .collect();
        stop.store(true, Ordering::Relaxed);
        (runs, swapper.join().unwrap())
    });
    eprintln!(
        "{writer:?}, wave {wave}: {N} pushes in {:.2} s while the policy was replaced {swaps} times",
        started.elapsed().as_secs_f64()
    );
    f.set_policy(POLICY_A);
    let records = audit_records(&log);
    let by_ref: BTreeMap<String, &serde_json::Value> = records[before..]
        .iter()
        .map(|r| (r["updates"][0]["ref"].as_str().unwrap().to_string(), r))
        .collect();
    assert_eq!(by_ref.len(), records.len() - before, "one record per push");
    let policy_file = f.policy.to_str().unwrap();
    for (i, r) in runs.iter().enumerate() {
        assert_no_crash(r);
        let name = format!("refs/heads/{}", branch(i));
        let remote = f.remote_ref(&name);
        let Some(rec) = by_ref.get(&name) else {
            // No record: the hook could not read a policy, so it cannot know the log either.
            assert_eq!(writer, Writer::InPlace, "{name}: no record: {r:?}");
            assert_fails_closed(r, policy_file);
            assert!(r.flat().contains("error: "), "{name}: {r:?}");
            assert_eq!(remote, None, "{name}");
            seen.broken += 1;
            continue;
        };
        let policy = if rec["policy_digest"] == digest_a.as_str() {
            seen.under_a += 1;
            'A'
        } else if rec["policy_digest"] == digest_b.as_str() {
            seen.under_b += 1;
            'B'
        } else {
            panic!("{name} decided under neither policy: {rec}")
        };
        if accepts(policy, i) {
            assert_accepted(r);
            assert_eq!(rec["decision"], "accept", "{name} under {policy}: {rec}");
            assert_eq!(remote.as_deref(), Some(tips[i].as_str()), "{name}");
        } else {
            assert_rejected(r);
            assert!(r.out.contains("identities.allow"), "{name}: {r:?}");
            assert_eq!(rec["decision"], "reject", "{name} under {policy}: {rec}");
            assert_eq!(remote, None, "{name}");
        }
    }
}

#[test]
fn a_policy_replaced_atomically_while_pushes_run_decides_each_under_one_version() {
    pushes_while_the_policy_is_replaced(Writer::Atomic);
}

#[test]
fn a_policy_rewritten_in_place_while_pushes_run_never_lets_a_refused_push_in() {
    pushes_while_the_policy_is_replaced(Writer::InPlace);
}
