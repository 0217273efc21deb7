//! The table of malformed objects (tests/common/cases.rs), checked three
//! ways: this crate refuses each with the expected rule; the corpus under
//! tests/corpus/ holds exactly these bytes (fuzzing seeds); and the real
//! `git fsck` refuses each the way the table says (or accepts it, where we
//! are stricter than git).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::cases::{self, Case, Git, Kind};
use common::{elevated_config, Repo};
use pushguard_fsck::{check_commit, check_tag, check_tree, HashKind, Malformed};

fn check(kind: Kind, bytes: &[u8], hash: HashKind) -> Result<(), Malformed> {
    match kind {
        Kind::Commit => check_commit(bytes, hash).map(drop),
        Kind::Tag => check_tag(bytes, hash).map(drop),
        Kind::Tree => check_tree(bytes, hash).map(drop),
    }
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn corpus_path(case: &Case) -> PathBuf {
    corpus_dir().join(case.kind.as_str()).join(case.name)
}

#[test]
fn case_names_are_unique() {
    let mut seen = BTreeSet::new();
    for case in cases::all() {
        assert!(
            seen.insert((case.kind.as_str(), case.name)),
            "two cases named {}/{}",
            case.kind.as_str(),
            case.name
        );
        assert_eq!(
            case.name.starts_with("sha256-"),
            case.hash == HashKind::Sha256,
            "{}: SHA-256 cases and only they start with `sha256-`",
            case.name
        );
    }
}

#[test]
fn every_case_is_refused_by_its_rule() {
    let mut failures = Vec::new();
    for case in cases::all() {
        match check(case.kind, &case.bytes, case.hash) {
            Ok(()) => failures.push(format!("{}/{}: accepted", case.kind.as_str(), case.name)),
            Err(e) => {
                if e.rule() != case.ours {
                    failures.push(format!(
                        "{}/{}: refused by {:?}, expected {:?}: {e}",
                        case.kind.as_str(),
                        case.name,
                        e.rule(),
                        case.ours
                    ));
                }
                let text = e.to_string();
                if !text.starts_with(&format!("malformed {}: ", case.kind.as_str()))
                    || text.matches("malformed").count() != 1
                {
                    failures.push(format!(
                        "{}/{}: message {text:?}",
                        case.kind.as_str(),
                        case.name
                    ));
                }
                if text.chars().any(|c| c.is_control()) {
                    failures.push(format!(
                        "{}/{}: control character in message {text:?}",
                        case.kind.as_str(),
                        case.name
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Set PUSHGUARD_FSCK_BLESS=1 to (re)write the corpus from the table.
#[test]
fn corpus_matches_the_table() {
    let bless = std::env::var_os("PUSHGUARD_FSCK_BLESS").is_some();
    let mut failures = Vec::new();
    for case in cases::all() {
        let path = corpus_path(&case);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &case.bytes).unwrap();
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) if bytes == case.bytes => {}
            Ok(_) => failures.push(format!("{} differs from the table", path.display())),
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n(run with PUSHGUARD_FSCK_BLESS=1 to rewrite the corpus)",
        failures.join("\n")
    );
}

/// Every file in the corpus is refused, including files added by hand or by
/// a fuzzer (a `sha256-` prefix selects SHA-256).
#[test]
fn every_corpus_file_is_refused() {
    let mut count = 0;
    for kind in [Kind::Commit, Kind::Tag, Kind::Tree] {
        let dir = corpus_dir().join(kind.as_str());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let hash = if name.starts_with("sha256-") {
                HashKind::Sha256
            } else {
                HashKind::Sha1
            };
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                check(kind, &bytes, hash).is_err(),
                "{} is accepted",
                path.display()
            );
            count += 1;
        }
    }
    assert!(count >= cases::all().len());
}

/// Each case in a fresh repository of its object format, then
/// `git fsck --strict` and, where the table says git only refuses when
/// asked, `git fsck --strict` with those checks raised to errors.
#[test]
fn git_fsck_agrees_with_the_table() {
    let elevated = elevated_config();
    let mut failures = Vec::new();
    let (mut refused, mut when_asked, mut accepted) = (0, 0, 0);
    for case in cases::all() {
        let repo = Repo::init(case.hash);
        repo.write_base_objects();
        let oid = repo.write_literally(case.kind.as_str(), &case.bytes);
        let strict = repo.fsck(&[]);
        let label = format!("{}/{} ({oid})", case.kind.as_str(), case.name);
        match case.git {
            Git::Refuses(id) => {
                refused += 1;
                if strict.success || !strict.has_error(id) {
                    failures.push(format!(
                        "{label}: expected git fsck --strict to refuse with {id}, got:\n{}",
                        strict.text
                    ));
                }
            }
            Git::CannotParse => {
                refused += 1;
                if strict.success || !strict.text.contains("could not be parsed") {
                    failures.push(format!(
                        "{label}: expected git fsck --strict to fail to parse it, got:\n{}",
                        strict.text
                    ));
                }
            }
            Git::RefusesWhenAsked(id) => {
                when_asked += 1;
                let asked = repo.fsck(&elevated);
                if !strict.clean() {
                    failures.push(format!(
                        "{label}: expected git fsck --strict to accept, got:\n{}",
                        strict.text
                    ));
                }
                if asked.success || !asked.has_error(id) {
                    failures.push(format!(
                        "{label}: expected git fsck with fsck.{id}=error to refuse with {id}, got:\n{}",
                        asked.text
                    ));
                }
            }
            Git::Accepts => {
                accepted += 1;
                let asked = repo.fsck(&elevated);
                if !asked.clean() {
                    failures.push(format!(
                        "{label}: expected git fsck to accept even with every check raised, got:\n{}",
                        asked.text
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!(
        "git refuses {refused}, refuses when asked {when_asked}, accepts {accepted} (we are stricter)"
    );
}
