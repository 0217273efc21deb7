//! The fuzz harness of pushguard: one function per fuzz target, each feeding arbitrary bytes
//! to a parser that reads pushed or configured bytes.
//!
//! The property every target checks is the same: no panic, and no hang past libFuzzer's
//! `-timeout` bound. A parser returning an error is the expected outcome for most inputs; the
//! functions here ignore results on purpose and only make sure every parsed value is touched
//! (formatted), so lazily computed parts run too.
//!
//! This file is shared: the fuzz targets in `fuzz_targets/` call it through the
//! `pushguard-fuzz` crate, and the main repository's `tests/fuzz_corpus.rs` includes it with
//! `#[path]` and runs every stored corpus file through it, so CI replays the corpora (the smoke
//! run of the fuzzers) without nightly or cargo-fuzz.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use pushguard_fsck::{HashKind, TreeOptions};
use pushguard_manifest::render::{kustomize_build, MemTree, Tree};
use pushguard_manifest::{
    FileChange, FileVersion, JudgeMode, Limits, PodSecurity, PodSecurityLevel, PodSecurityVersion,
    RuleId, Settings,
};
use pushguard_sign::{ObjectHash, Signed, TrustStore, VerifyOptions};

/// A harness function: feeds one input to the parsers of one target.
pub type Target = fn(&[u8]);

/// Every target, by the name of its corpus directory (`fuzz/corpus/<name>/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("ref_lines", ref_lines),
    ("git_object", git_object),
    ("allowed_signers", allowed_signers),
    ("openpgp_keys", openpgp_keys),
    ("signature", signature),
    ("policy_toml", policy_toml),
    ("yaml_load", yaml_load),
    ("push_cert", push_cert),
    ("manifest_judge", manifest_judge),
    ("kustomize_render", kustomize_render),
];

/// stdin of the pre-receive hook: `<old> <new> <ref>` lines, then every ref name through the
/// ref-name check the hook applies.
pub fn ref_lines(data: &[u8]) {
    if let Ok(updates) = pushguard::hook::parse_updates(data) {
        for u in &updates {
            let _ = pushguard_fsck::check_ref_name(&u.name);
            let _ = format!("{u:?}");
        }
    }
}

/// A commit, tag or tree object as `git cat-file` prints it: the fsck checks for all three
/// kinds and both hash kinds, and pushguard-sign's header and signature extraction.
pub fn git_object(data: &[u8]) {
    for hash in [HashKind::Sha1, HashKind::Sha256] {
        if let Ok(h) = pushguard_fsck::check_commit(data, hash) {
            let _ = format!("{h:?}");
        }
        if let Ok(h) = pushguard_fsck::check_tag(data, hash) {
            let _ = format!("{h:?}");
        }
        for allow_control_chars in [false, true] {
            let options = TreeOptions {
                allow_control_chars,
            };
            if let Ok(entries) = pushguard_fsck::check_tree_with(data, hash, options) {
                let _ = format!("{entries:?}");
            }
        }
    }
    for hash in [ObjectHash::Sha1, ObjectHash::Sha256] {
        let _ = pushguard_sign::commit_signature_for(data, hash);
    }
    let _ = pushguard_sign::tag_signature(data);
    let _ = pushguard_sign::committer(data);
    let _ = pushguard_sign::tagger(data);
    let _ = pushguard_sign::header(data, "author");
    let _ = pushguard_sign::parse_ident(data);
    let _ = pushguard_sign::detect_format(data);
}

/// An OpenSSH `allowed_signers` file.
pub fn allowed_signers(data: &[u8]) {
    if let Ok(store) = TrustStore::from_bytes(&[], Some((Path::new("allowed_signers"), data))) {
        let _ = store.keys();
    }
}

/// An OpenPGP key file: armored or binary, one certificate, a keyring or a revocation.
pub fn openpgp_keys(data: &[u8]) {
    if let Ok(store) = TrustStore::from_bytes(&[(Path::new("key.asc"), data)], None) {
        let _ = store.keys();
    }
}

/// The fixed trust store of the `signature` target: the example keys in `config/keys/` and
/// the fuzz keys in `fuzz/keys/` (whose secret halves made the seed signatures).
fn store() -> &'static TrustStore {
    static STORE: OnceLock<TrustStore> = OnceLock::new();
    STORE.get_or_init(|| {
        let pgp: [(&Path, &[u8]); 5] = [
            (
                Path::new("dev-dana.asc"),
                include_bytes!("../../config/keys/dev-dana.asc"),
            ),
            (
                Path::new("forge-gitea.asc"),
                include_bytes!("../../config/keys/forge-gitea.asc"),
            ),
            (
                Path::new("sre-anna.asc"),
                include_bytes!("../../config/keys/sre-anna.asc"),
            ),
            (
                Path::new("sre-ravi.asc"),
                include_bytes!("../../config/keys/sre-ravi.asc"),
            ),
            (Path::new("fuzz.asc"), include_bytes!("../keys/fuzz.asc")),
        ];
        let signers = [
            include_str!("../../config/keys/allowed_signers"),
            include_str!("../keys/allowed_signers"),
        ]
        .concat();
        match TrustStore::from_bytes(
            &pgp,
            Some((Path::new("allowed_signers"), signers.as_bytes())),
        ) {
            Ok(store) => store,
            Err(e) => panic!("the fuzz trust store does not load: {e}"),
        }
    })
}

/// The payload every fuzzed signature claims to sign: the commit the seed signatures sign.
const PAYLOAD: &[u8] = include_bytes!("../keys/payload");

/// The verification time of the `signature` target (2027-01-15), fixed so runs reproduce.
const NOW_SECS: u64 = 1_800_000_000;

/// Verifies against the fixed trust store at the fixed time.
pub fn verify_fixed(signed: &Signed) -> pushguard_sign::Verdict {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS);
    let opts = VerifyOptions {
        now,
        ..VerifyOptions::default()
    };
    pushguard_sign::verify(store(), signed, now, &opts)
}

/// An armored or binary OpenPGP signature, or an SSH signature, over a fixed payload, through
/// pushguard-sign's single verify entry point (which routes by the armor); then the same bytes
/// as a whole commit, whose extracted signature (if any) is verified over its own payload.
pub fn signature(data: &[u8]) {
    let signed = Signed {
        format: pushguard_sign::detect_format(data),
        signature: data.to_vec(),
        payload: PAYLOAD.to_vec(),
    };
    let _ = format!("{:?}", verify_fixed(&signed));
    if let Some(signed) = pushguard_sign::commit_signature(data) {
        let _ = format!("{:?}", verify_fixed(&signed));
    }
}

/// The policy file. Keys are looked up next to a path that does not exist, so `[keys]`
/// fails quickly instead of reading the machine's files.
pub fn policy_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/nonexistent-pushguard-fuzz/policy.toml");
    match pushguard::policy::Policy::from_text(path, text) {
        Ok(p) => {
            let _ = format!("{p:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// The YAML/JSON manifest loader with the hook's default limits, held to saphyr alone.
pub fn yaml_load(data: &[u8]) {
    let limits = Limits::default();
    let loaded = pushguard_manifest::yaml::load(data, &limits);
    // The fast reader (for the block YAML subset) must read exactly as saphyr does: the same
    // documents, values and positions, or the same error.
    let saphyr = pushguard_manifest::yaml::load_saphyr_only(data, &limits);
    assert_eq!(
        format!("{loaded:?}"),
        format!("{saphyr:?}"),
        "the fast YAML reader and saphyr disagree"
    );
    if let Ok(docs) = loaded {
        for d in &docs {
            let _ = d.canonical();
        }
    }
}

/// A signed push certificate (`GIT_PUSH_CERT`'s blob).
pub fn push_cert(data: &[u8]) {
    if let Ok(cert) = pushguard_sign::parse_push_cert(data) {
        let _ = format!("{cert:?}");
    }
}

/// Splits the input at the first `\n#####\n` (old, new).
fn halves(data: &[u8]) -> (&[u8], &[u8]) {
    const SEP: &[u8] = b"\n#####\n";
    match data.windows(SEP.len()).position(|w| w == SEP) {
        Some(i) => (&data[..i], &data[i + SEP.len()..]),
        None => (&[], data),
    }
}

/// Settings that switch every built-in rule on, with the restricted Pod Security level and
/// the `all` judge mode, so every rule sees every object.
fn every_rule() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| Settings {
        rules: RuleId::ALL.to_vec(),
        pod_security: Some(PodSecurity {
            level: PodSecurityLevel::Restricted,
            version: PodSecurityVersion::Latest,
        }),
        judge: JudgeMode::All,
        image_registries: vec!["ghcr.io/acme/".to_string()],
        source_urls: vec!["https://github.com/acme/".to_string()],
        ..Settings::default()
    })
}

/// The manifest judge on two versions of one file (old and new, split at `\n#####\n`), every
/// rule on.
pub fn manifest_judge(data: &[u8]) {
    let (old, new) = halves(data);
    let change = FileChange {
        old: (!old.is_empty()).then_some(FileVersion {
            path: "apps/app.yaml",
            bytes: old,
        }),
        new: Some(FileVersion {
            path: "apps/app.yaml",
            bytes: new,
        }),
    };
    let findings = pushguard_manifest::judge(&[change], every_rule(), &Limits::default(), 20_000);
    for f in &findings {
        let _ = f.to_string();
    }
}

/// kustomize rendering of a small in-memory tree: the input is files separated by lines
/// `%%% <path>` (paths under `app/`), rendered from `app/`.
pub fn kustomize_render(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut tree = MemTree::new();
    let mut path: Option<&str> = None;
    let mut body = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(p) = line.strip_prefix("%%% ") {
            if let Some(prev) = path {
                tree = tree.file(&format!("app/{prev}"), &body);
            }
            path = Some(p.trim_end());
            body.clear();
        } else {
            body.push_str(line);
        }
    }
    match path {
        Some(prev) => tree = tree.file(&format!("app/{prev}"), &body),
        None => tree = tree.file("app/kustomization.yaml", &body),
    }
    let t = Tree::new(&tree);
    if let Ok(rendered) = kustomize_build(&t, "app", &Limits::default()) {
        let _ = format!("{rendered:?}");
    }
}
