//! Issue 14: pushguard refuses at least what the reference tools refuse. Each input is built
//! from what the real tools wrote (ssh-keygen, gpg, git), spoiled in one place; each test
//! asserts that the reference tool (`ssh-keygen -Y verify`, `git verify-commit`, i.e. gpg)
//! refuses it, and that pushguard refuses it with a message naming what is malformed. Where
//! pushguard is deliberately stricter than the tool, the test says so and checks both sides.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use pushguard_sign::*;

fn write_allowed(env: &Env, name: &str, lines: &[String]) -> PathBuf {
    let path = env.path(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn malformed(v: &Verdict) -> &str {
    match v {
        Verdict::Bad(Problem::Malformed(why)) => why,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

/// An SSH-signed commit: (unsigned payload, armored signature, store, allowed_signers path).
struct SshFixture {
    env: Env,
    payload: Vec<u8>,
    sig: Vec<u8>,
    allowed: PathBuf,
    store: TrustStore,
    time: std::time::SystemTime,
}

fn ssh_fixture(keytype: &[&str]) -> SshFixture {
    let env = Env::new();
    let repo = env.repo("r");
    let key = env.ssh_key("k", keytype);
    let cfg = [
        ("gpg.format", "ssh"),
        ("user.signingkey", key.to_str().unwrap()),
    ];
    let oid = repo.commit("ssh", &cfg, &["-S"], now_secs());
    let raw = repo.cat("commit", &oid);
    let signed = commit_signature(&raw).unwrap();
    let allowed = write_allowed(
        &env,
        "allowed_signers",
        &[format!("alice@example.com {}", env.pubkey(&key))],
    );
    let store = TrustStore::load(&[], Some(&allowed)).unwrap();
    SshFixture {
        payload: signed.payload,
        sig: signed.signature,
        time: committer(&raw).unwrap().time,
        env,
        allowed,
        store,
    }
}

impl SshFixture {
    fn ours(&self, sig: &[u8]) -> Verdict {
        let signed = Signed {
            format: detect_format(sig),
            signature: sig.to_vec(),
            payload: self.payload.clone(),
        };
        verify(&self.store, &signed, self.time, &opts(KeyValidity::Now))
    }

    fn ssh_keygen(&self, sig: &[u8]) -> bool {
        ssh_keygen_verifies(
            self.env.dir.path(),
            &self.allowed,
            "alice@example.com",
            sig,
            &self.payload,
        )
    }
}

/// Adds `delta` to the big-endian u32 at `at`.
fn bump(blob: &[u8], at: usize, delta: i64) -> Vec<u8> {
    let mut out = blob.to_vec();
    let v = u32::from_be_bytes(out[at..at + 4].try_into().unwrap());
    let v = (i64::from(v) + delta) as u32;
    out[at..at + 4].copy_from_slice(&v.to_be_bytes());
    out
}

#[test]
fn ssh_length_fields_are_held_to_their_data_like_ssh_keygen() {
    for keytype in [&["-t", "ed25519"][..], &["-t", "ecdsa", "-b", "256"][..]] {
        let f = ssh_fixture(keytype);
        assert!(f.ours(&f.sig).signer().is_some());
        assert!(f.ssh_keygen(&f.sig));
        let blob = ssh_dearmor(&f.sig);
        // The offsets of the outer length fields, read from the blob itself.
        let pk_at = 10;
        let pk_len = u32::from_be_bytes(blob[pk_at..pk_at + 4].try_into().unwrap()) as usize;
        let ns_at = pk_at + 4 + pk_len;
        let reserved_at = ns_at + 4 + 3;
        let hash_at = reserved_at + 4;
        let sig_at = hash_at + 4 + 6;
        let tag = keytype[1];
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            // The case of the issue: ssh-key 0.6 reads the key by its own length, ignores
            // the declared one, and the maths still verifies.
            ("pubkey-len-plus-1", bump(&blob, pk_at, 1), "public key"),
            ("pubkey-len-plus-4", bump(&blob, pk_at, 4), "public key"),
            ("pubkey-len-minus-1", bump(&blob, pk_at, -1), "public key"),
            (
                "keytype-len-plus-1",
                bump(&blob, pk_at + 4, 1),
                "public key",
            ),
            ("namespace-len-plus-1", bump(&blob, ns_at, 1), "namespace"),
            (
                "reserved-len-plus-1",
                bump(&blob, reserved_at, 1),
                "reserved",
            ),
            ("hashalg-len-minus-1", bump(&blob, hash_at, -1), "hash"),
            (
                "signature-len-minus-1",
                bump(&blob, sig_at, -1),
                "signature",
            ),
            ("signature-len-plus-1", bump(&blob, sig_at, 1), "signature"),
            (
                "sigtype-len-plus-1",
                bump(&blob, sig_at + 4, 1),
                "signature",
            ),
            (
                "trailing-byte",
                [&blob[..], &[0]].concat(),
                "after the signature",
            ),
            (
                "version-2",
                [&blob[..9], &[2], &blob[10..]].concat(),
                "version",
            ),
        ];
        for (name, bad, needle) in cases {
            let armored = ssh_armor(&bad);
            assert!(
                !f.ssh_keygen(armored.as_bytes()),
                "{tag} {name}: ssh-keygen -Y verify accepted it"
            );
            let v = f.ours(armored.as_bytes());
            let why = malformed(&v);
            assert!(
                why.contains("SSH signature is not well-formed") && why.contains(needle),
                "{tag} {name}: {why}"
            );
            corpus_seed(
                "ssh-signature",
                &format!("{tag}-{name}.sig"),
                armored.as_bytes(),
            );
        }
        if tag == "ed25519" {
            // Why the check exists: ssh-key alone takes the first case.
            let armored = ssh_armor(&bump(&blob, pk_at, 1));
            assert!(ssh_key::SshSig::from_pem(&armored).is_ok());
        }
    }
}

#[test]
fn ssh_armor_is_strict() {
    let f = ssh_fixture(&["-t", "ed25519"]);
    let text = String::from_utf8(f.sig.clone()).unwrap();
    let first_data = text.lines().nth(1).unwrap().to_string();
    let blob = ssh_dearmor(&f.sig);
    let b64 = b64_encode(&blob);
    // Non-zero bits in the padding: the same bytes, a different text.
    let last = b64.trim_end_matches('=');
    let pad = b64.len() - last.len();
    assert!(pad > 0, "this key's signature has padding");
    let bumped_char = {
        let c = last.as_bytes()[last.len() - 1];
        let i = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            .iter()
            .position(|&b| b == c)
            .unwrap();
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i + 1] as char
    };
    let noncanonical = text.replacen(
        &format!("{}{}", &last[last.len() - 1..], "=".repeat(pad)),
        &format!("{bumped_char}{}", "=".repeat(pad)),
        1,
    );
    // (name, input, does ssh-keygen refuse it?, what our message says)
    let cases: Vec<(&str, String, bool, &str)> = vec![
        (
            "begin-extra-bytes",
            text.replacen("SIGNATURE-----\n", "SIGNATURE-----x\n", 1),
            true,
            "extra bytes",
        ),
        (
            "begin-trailing-space",
            text.replacen("SIGNATURE-----\n", "SIGNATURE----- \n", 1),
            true,
            "extra bytes",
        ),
        (
            "bad-base64-char",
            text.replacen(&first_data, &format!("*{}", &first_data[1..]), 1),
            true,
            "base64",
        ),
        ("padding-bits", noncanonical, true, "padding"),
        // Stricter than ssh-keygen (README, "Parsing strictness"):
        (
            "text-after-end",
            format!("{text}trailing words\n"),
            false,
            "after its END",
        ),
        (
            "space-in-base64",
            text.replacen(
                &first_data,
                &format!("{} {}", &first_data[..10], &first_data[10..]),
                1,
            ),
            false,
            "base64",
        ),
        ("crlf", text.replace('\n', "\r\n"), true, "carriage return"),
    ];
    for (name, bad, ssh_keygen_refuses, needle) in cases {
        assert_eq!(
            !f.ssh_keygen(bad.as_bytes()),
            ssh_keygen_refuses,
            "{name}: ssh-keygen"
        );
        let v = f.ours(bad.as_bytes());
        let why = malformed(&v);
        assert!(why.contains(needle), "{name}: {why}");
        corpus_seed(
            "ssh-signature",
            &format!("armor-{name}.sig"),
            bad.as_bytes(),
        );
    }
}

/// A gpg-signed commit, its trusted certificate, and a way to put another signature on it.
struct PgpFixture {
    /// Keeps the temporary directory (and the GnuPG home) alive.
    _env: Env,
    repo: Repo,
    payload: Vec<u8>,
    sig: Vec<u8>,
    store: TrustStore,
}

fn pgp_fixture(extra_gpg_args: &str) -> PgpFixture {
    let env = Env::new();
    let fpr = env.gen_key("Alice <alice@example.com>", "ed25519", "sign", "0", None);
    let repo = env.repo("r");
    let wrapper = env.gpg_wrapper("gpg-extra", extra_gpg_args);
    let oid = repo.commit(
        "pgp",
        &[("gpg.program", wrapper.to_str().unwrap())],
        &[&format!("-S{fpr}")],
        now_secs(),
    );
    let raw = repo.cat("commit", &oid);
    let signed = commit_signature(&raw).unwrap();
    let store = TrustStore::load(&[env.export(&fpr)], None).unwrap();
    PgpFixture {
        payload: signed.payload,
        sig: signed.signature,
        repo,
        _env: env,
        store,
    }
}

impl PgpFixture {
    /// The commit with `sig` instead of its signature: (git verify-commit's verdict, ours).
    fn judge(&self, sig: &[u8]) -> (bool, Verdict) {
        let raw = insert_gpgsig(&self.payload, sig);
        let oid = self.repo.write_object("commit", &raw);
        let git = self.repo.verify_commit(&oid, &[]);
        let signed = commit_signature(&raw).unwrap();
        assert_eq!(
            signed.signature, sig,
            "the signature survives the round trip"
        );
        let ours = verify(
            &self.store,
            &signed,
            committer(&raw).unwrap().time,
            &opts(KeyValidity::Now),
        );
        (git, ours)
    }
}

#[test]
fn openpgp_critical_subpackets_we_do_not_understand_are_refused_like_gpg() {
    // Hashed area: gpg itself writes a critical notation when asked; gpg then says BAD.
    let f = pgp_fixture("--sig-notation !audit@example.com=1");
    let (git, v) = f.judge(&f.sig.clone());
    assert!(!git, "git verify-commit accepted it");
    let why = malformed(&v);
    assert!(
        why.contains("critical notation") && why.contains("hashed area"),
        "{why}"
    );
    corpus_seed("openpgp-signature", "critical-notation-hashed.asc", &f.sig);

    // Unhashed area: an unknown subpacket type marked critical, added after signing (the
    // unhashed area is not covered by the signature, so the maths still holds).
    let f = pgp_fixture("");
    let (git, v) = f.judge(&f.sig.clone());
    assert!(git && v.signer().is_some(), "{v:?}");
    let (tag, body) = pgp_packet(&pgp_dearmor(&f.sig));
    assert_eq!(tag, 2, "a signature packet");
    let (unhashed_at, _) = pgp_sig4_offsets(&body);
    for (name, sub_tag) in [("unknown-99", 99u8), ("private-105", 105)] {
        let len = u16::from_be_bytes([body[unhashed_at], body[unhashed_at + 1]]);
        let sub = [3u8, 0x80 | sub_tag, 0xAB, 0xCD];
        let mut spoiled = body[..unhashed_at].to_vec();
        spoiled.extend_from_slice(&(len + sub.len() as u16).to_be_bytes());
        spoiled.extend_from_slice(&sub);
        spoiled.extend_from_slice(&body[unhashed_at + 2..]);
        let armored = PgpArmor::new(&pgp_packet_bytes(2, &spoiled)).text();
        let (git, ours) = f.judge(armored.as_bytes());
        assert!(!git, "{name}: git verify-commit accepted it");
        let why = malformed(&ours);
        assert!(
            why.contains("critical") && why.contains("unhashed area"),
            "{name}: {why}"
        );
        corpus_seed(
            "openpgp-signature",
            &format!("critical-{name}-unhashed.asc"),
            armored.as_bytes(),
        );
        // The same subpacket, not critical, is ignored by both.
        let mut benign = spoiled.clone();
        let at = unhashed_at + 2 + 1;
        benign[at] &= 0x7f;
        let armored = PgpArmor::new(&pgp_packet_bytes(2, &benign)).text();
        let (git, ours) = f.judge(armored.as_bytes());
        assert!(
            git && ours.signer().is_some(),
            "{name} non-critical: {ours:?}"
        );
    }
}

#[test]
fn openpgp_armor_and_digest_prefix_are_checked_like_gpg() {
    let f = pgp_fixture("");
    let bin = pgp_dearmor(&f.sig);
    // Our armor of the same packets is accepted by both: the spoiling below is the only
    // change.
    let good = PgpArmor::new(&bin);
    let (git, ours) = f.judge(good.text().as_bytes());
    assert!(git && ours.signer().is_some(), "{ours:?}");
    let mut no_crc = PgpArmor::new(&bin);
    no_crc.crc = None;
    let (git, ours) = f.judge(no_crc.text().as_bytes());
    assert!(
        git && ours.signer().is_some(),
        "a missing CRC is allowed: {ours:?}"
    );
    let mut headers = PgpArmor::new(&bin);
    headers.headers = vec!["Version: GnuPG v1".into(), "Comment: hello".into()];
    let (git, ours) = f.judge(headers.text().as_bytes());
    assert!(
        git && ours.signer().is_some(),
        "headers are allowed: {ours:?}"
    );

    let mut bad_crc = PgpArmor::new(&bin);
    bad_crc.crc = Some(crc24(&bin) ^ 1);
    let mut no_blank = PgpArmor::new(&bin);
    no_blank.blank = false;
    let mut begin_extra = PgpArmor::new(&bin);
    begin_extra.begin.push_str("xyz");
    let (tag, body) = pgp_packet(&bin);
    let (_, prefix_at) = pgp_sig4_offsets(&body);
    let mut prefix = body.clone();
    prefix[prefix_at] ^= 0x01;
    let prefix = PgpArmor::new(&pgp_packet_bytes(tag, &prefix));
    for (name, armor, needle) in [
        ("bad-crc", &bad_crc, "CRC-24"),
        ("no-blank-line", &no_blank, "no blank line"),
        ("begin-extra-bytes", &begin_extra, "extra bytes"),
    ] {
        let text = armor.text();
        let (git, ours) = f.judge(text.as_bytes());
        assert!(!git, "{name}: git verify-commit accepted it");
        let why = malformed(&ours);
        assert!(why.contains(needle), "{name}: {why}");
        corpus_seed(
            "openpgp-signature",
            &format!("armor-{name}.asc"),
            text.as_bytes(),
        );
    }
    // The digest prefix (the hash's left 16 bits, in the clear) is not covered by the
    // signature. gpg 2.2 does not compare it with the hash (the issue thought it did; only
    // gpg 1.0 did, for RSA): git verify-commit accepts the altered packet. pushguard calls it
    // a bad signature: a legitimate signer always writes the right prefix, and otherwise one
    // signature has 65,536 spellings that all verify. Stricter than gpg (README).
    let text = prefix.text();
    let (git, ours) = f.judge(text.as_bytes());
    assert!(git, "digest prefix: gpg is expected to accept this");
    match ours {
        Verdict::Bad(Problem::BadSignature { reason, .. }) => {
            assert!(reason.contains("digest prefix"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // Kept with its certificate: the prefix is only wrong against the key's signature.
    corpus_seed(
        "openpgp-signature",
        "keyed-digest-prefix.asc",
        text.as_bytes(),
    );

    // Stricter than gpg (README, "Parsing strictness"): gpg accepts these.
    let mut end_other = PgpArmor::new(&bin);
    end_other.end = "-----END PGP MESSAGE-----".into();
    let mut unknown_header = PgpArmor::new(&bin);
    unknown_header.headers = vec!["Foo: bar".into()];
    let trailing = format!("{}junk after the armor\n", good.text());
    let space = good.text().replacen("-----\n\n", "----- \n\n", 1);
    for (name, text, needle) in [
        ("end-mismatch", end_other.text(), "END"),
        ("unknown-header", unknown_header.text(), "unknown header"),
        ("text-after-end", trailing, "after its END"),
        ("begin-trailing-space", space, "extra bytes"),
    ] {
        let (git, ours) = f.judge(text.as_bytes());
        assert!(git, "{name}: gpg is expected to accept this");
        let why = malformed(&ours);
        assert!(why.contains(needle), "{name}: {why}");
        corpus_seed(
            "openpgp-signature",
            &format!("armor-{name}.asc"),
            text.as_bytes(),
        );
    }
}

#[test]
fn allowed_signers_lines_ssh_keygen_skips_are_load_errors() {
    let f = ssh_fixture(&["-t", "ed25519"]);
    let pk = std::fs::read_to_string(&f.allowed)
        .unwrap()
        .trim()
        .strip_prefix("alice@example.com ")
        .unwrap()
        .to_string();
    let check = |name: &str, line: String, needle: &str| {
        // The same file for both: ssh-keygen skips the line, so the signature has no signer.
        let path = write_allowed(&f.env, "as-check", &["# first".to_string(), line.clone()]);
        assert!(
            !ssh_keygen_verifies(
                f.env.dir.path(),
                &path,
                "alice@example.com",
                &f.sig,
                &f.payload
            ),
            "{name}: ssh-keygen accepted {line}"
        );
        let err = TrustStore::load(&[], Some(&path)).unwrap_err().to_string();
        assert!(
            err.contains("as-check:2: ") && err.contains(needle),
            "{name}: {err}"
        );
        corpus_seed("allowed-signers", name, format!("{line}\n").as_bytes());
    };
    let a = "alice@example.com";
    check(
        "namespaces-unquoted",
        format!("{a} namespaces=git {pk}"),
        "double quotes",
    );
    check(
        "namespaces-twice",
        format!("{a} namespaces=\"file\",namespaces=\"git\" {pk}"),
        "twice",
    );
    check(
        "unknown-option",
        format!("{a} frobnicate {pk}"),
        "unsupported option",
    );
    check(
        "no-touch-required",
        format!("{a} no-touch-required {pk}"),
        "authorized_keys",
    );
    check(
        "verify-required",
        format!("{a} verify-required {pk}"),
        "authorized_keys",
    );
    check(
        "valid-after-unquoted",
        format!("{a} valid-after=20200101Z {pk}"),
        "double quotes",
    );
    check(
        "valid-after-twice",
        format!("{a} valid-after=\"20200101Z\",valid-after=\"20210101Z\" {pk}"),
        "twice",
    );
    check(
        "valid-before-not-after-valid-after",
        format!("{a} valid-after=\"20300101Z\",valid-before=\"20200101Z\" {pk}"),
        "not after valid-after",
    );
    check(
        "valid-after-epoch",
        format!("{a} valid-after=\"19700101Z\" {pk}"),
        "1970",
    );
    check(
        "trailing-comma",
        format!("{a} namespaces=\"git\", {pk}"),
        "comma",
    );
    check(
        "text-after-value",
        format!("{a} namespaces=\"git\"x {pk}"),
        "unexpected text",
    );
    check(
        "cert-authority",
        format!("{a} cert-authority {pk}"),
        "cert-authority",
    );

    // Accepted by both, read the same way.
    for line in [
        format!("{a} namespaces=\"git\" {pk}"),
        format!("{a} Namespaces=\"file,git\",valid-after=\"20200101Z\" {pk}"),
        format!("{a} ,namespaces=\"git\",,valid-before=\"20991231UTC\" {pk} comment"),
        format!("\t\"{a}\"  {pk}"),
    ] {
        let path = write_allowed(&f.env, "as-ok", std::slice::from_ref(&line));
        assert!(
            ssh_keygen_verifies(f.env.dir.path(), &path, a, &f.sig, &f.payload),
            "ssh-keygen refused {line}"
        );
        let store = TrustStore::load(&[], Some(&path)).unwrap();
        let signed = Signed {
            format: Format::Ssh,
            signature: f.sig.clone(),
            payload: f.payload.clone(),
        };
        let v = verify(&store, &signed, f.time, &opts(KeyValidity::Now));
        assert!(v.signer().is_some(), "{line}: {v:?}");
    }

    // Stricter than ssh-keygen (README): it reads a time without a zone in the server's
    // local time zone, so the same line could mean another instant here; refused.
    let line = format!("{a} valid-after=\"20200101\" {pk}");
    let path = write_allowed(&f.env, "as-local", &[line]);
    assert!(ssh_keygen_verifies(
        f.env.dir.path(),
        &path,
        a,
        &f.sig,
        &f.payload
    ));
    let err = TrustStore::load(&[], Some(&path)).unwrap_err().to_string();
    assert!(err.contains("local time"), "{err}");
    corpus_seed(
        "allowed-signers",
        "valid-after-local-time",
        format!("{a} valid-after=\"20200101\" {pk}\n").as_bytes(),
    );
}

#[test]
fn namespaces_match_exactly_like_ssh_keygen() {
    let f = ssh_fixture(&["-t", "ed25519"]);
    let pk = std::fs::read_to_string(&f.allowed)
        .unwrap()
        .trim()
        .strip_prefix("alice@example.com ")
        .unwrap()
        .to_string();
    let a = "alice@example.com";
    let signed = Signed {
        format: Format::Ssh,
        signature: f.sig.clone(),
        payload: f.payload.clone(),
    };
    // These lines parse in both; ssh-keygen's namespace match is case-sensitive and keeps
    // spaces, so none of them admits "git". Before issue 14 pushguard lower-cased and trimmed.
    for ns in ["GIT", "file, git", "Git,file", " git"] {
        let path = write_allowed(&f.env, "as-ns", &[format!("{a} namespaces=\"{ns}\" {pk}")]);
        assert!(
            !ssh_keygen_verifies(f.env.dir.path(), &path, a, &f.sig, &f.payload),
            "ssh-keygen accepted namespaces=\"{ns}\""
        );
        let store = TrustStore::load(&[], Some(&path)).unwrap();
        match verify(&store, &signed, f.time, &opts(KeyValidity::Now)) {
            Verdict::Bad(Problem::NamespaceNotAllowed { namespaces, .. }) => {
                assert_eq!(namespaces, ns)
            }
            other => panic!("namespaces=\"{ns}\": {other:?}"),
        }
        assert!(!store.keys()[0].problems.is_empty());
    }
}

#[test]
fn trust_files_must_be_regular_files_within_the_limits() {
    let env = Env::new();
    let zero = env.path("zero");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for load in [
        TrustStore::load(&[], Some(&zero)),
        TrustStore::load(std::slice::from_ref(&zero), None),
        TrustStore::load(&[], Some(Path::new("/dev/null"))),
    ] {
        let err = load.unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }
    // A FIFO would block a plain open until someone writes; it is refused without opening.
    let fifo = env.path("fifo");
    run(Command::new("mkfifo").arg(&fifo));
    let err = TrustStore::load(&[], Some(&fifo)).unwrap_err().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    // Sparse files one byte over each limit.
    let big = env.path("big");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(MAX_ALLOWED_SIGNERS_BYTES + 1).unwrap();
    let err = TrustStore::load(&[], Some(&big)).unwrap_err().to_string();
    assert!(
        err.contains("big: cannot read") && err.contains("16 MiB"),
        "{err}"
    );
    file.set_len(MAX_OPENPGP_FILE_BYTES + 1).unwrap();
    let err = TrustStore::load(std::slice::from_ref(&big), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("16 MiB"), "{err}");
}

/// The committed seeds (tests/corpus/) stay refused.
#[test]
fn corpus_seeds_are_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let empty = TrustStore::load(&[], None).unwrap();
    let mut seen = 0;
    for (target, dir) in [
        ("ssh-signature", root.join("ssh-signature")),
        ("openpgp-signature", root.join("openpgp-signature")),
        ("allowed-signers", root.join("allowed-signers")),
    ] {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            seen += 1;
            let bytes = std::fs::read(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if target == "allowed-signers" {
                let err = TrustStore::load(&[], Some(&path)).unwrap_err();
                assert!(
                    matches!(err, LoadError::AllowedSigners { line: 1, .. }),
                    "{name}: {err}"
                );
                continue;
            }
            let signed = Signed {
                format: detect_format(&bytes),
                signature: bytes,
                payload: b"tree 0\n\nx\n".to_vec(),
            };
            let v = verify(
                &empty,
                &signed,
                std::time::SystemTime::now(),
                &opts(KeyValidity::Now),
            );
            if name.starts_with("keyed-") {
                assert!(v.signer().is_none(), "{name}");
            } else {
                malformed(&v);
            }
        }
    }
    assert!(seen >= 30, "only {seen} seeds");
}
