//! The policy reference stays true to the code: every key the loader accepts is documented, every
//! documented key is accepted, and every example policy in `config/` loads.
//!
//! The accepted keys are read from the loader itself: a policy with an unknown key in a table is
//! refused with "unknown field `…`, expected one of `a`, `b`, …" (every table is
//! `deny_unknown_fields`), so the list is exactly what the schema takes, with no list kept by hand.

use std::collections::BTreeSet;
use std::path::Path;

use pushguard::policy::Policy;

const BOGUS: &str = "zz_not_a_key";

/// The keys the loader accepts in the table a policy text puts `BOGUS` into.
fn accepted(text: &str) -> BTreeSet<String> {
    let err = match Policy::from_text(Path::new("drift.toml"), text) {
        Ok(_) => panic!("a policy with `{BOGUS}` loaded:\n{text}"),
        Err(e) => e.to_string(),
    };
    let line = err
        .lines()
        .find(|l| l.contains(BOGUS))
        .unwrap_or_else(|| panic!("no error names `{BOGUS}`:\n{err}"));
    let (_, expected) = line
        .split_once("expected one of")
        .or_else(|| line.split_once("expected"))
        .unwrap_or_else(|| panic!("the error does not list the keys: {line}"));
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The keys a section of `docs/policy.md` documents: the first column of its `| key |` table.
fn documented(doc: &str, heading: &str) -> BTreeSet<String> {
    // The heading, possibly with an anchor (`## `[limits]` {#limits}`).
    let start = doc
        .find(&format!("\n{heading}"))
        .unwrap_or_else(|| panic!("docs/policy.md has no `{heading}`"));
    let body = &doc[start + heading.len() + 1..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut keys = BTreeSet::new();
    let mut in_key_table = false;
    for line in body.lines() {
        if line.starts_with("| key |") {
            in_key_table = true;
            continue;
        }
        if !line.starts_with('|') {
            in_key_table = false;
            continue;
        }
        if in_key_table && !line.starts_with("|---") {
            let first = line.split('|').nth(1).unwrap_or("");
            // `| <a id="…"></a>`key` |` and `| `key` |` both name `key`.
            if let Some(key) = first.split('`').nth(1) {
                keys.insert(key.to_string());
            }
        }
    }
    keys
}

fn policy_doc() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/policy.md"))
        .expect("docs/policy.md")
}

#[test]
fn every_table_key_is_documented_and_every_documented_key_accepted() {
    let doc = policy_doc();
    // (heading in docs/policy.md, a policy putting BOGUS into that table)
    let v = "version = 1\n";
    let sections: &[(&str, String)] = &[
        ("## Top level", format!("{v}{BOGUS} = 1\n")),
        ("## `[keys]`", format!("{v}[keys]\n{BOGUS} = 1\n")),
        (
            "## `[signatures]`",
            format!("{v}[signatures]\n{BOGUS} = 1\n"),
        ),
        ("## `[host]`", format!("{v}[host]\n{BOGUS} = 1\n")),
        (
            "## `[identities]`",
            format!("{v}[identities]\n{BOGUS} = 1\n"),
        ),
        ("## `[commits]`", format!("{v}[commits]\n{BOGUS} = 1\n")),
        ("## `[names]`", format!("{v}[names]\n{BOGUS} = 1\n")),
        ("## `[files]`", format!("{v}[files]\n{BOGUS} = 1\n")),
        ("## `[limits]`", format!("{v}[limits]\n{BOGUS} = 1\n")),
        (
            "## `[[ref]]`",
            format!("{v}[[ref]]\nmatch = \"refs/heads/main\"\n{BOGUS} = 1\n"),
        ),
        (
            "## `[[path]]`",
            format!("{v}[[path]]\nmatch = \"a/**\"\n{BOGUS} = 1\n"),
        ),
    ];
    let mut problems = Vec::new();
    for (heading, text) in sections {
        let mut code = accepted(text);
        let docs = documented(&doc, heading);
        if *heading == "## Top level" {
            // A table of its own is documented under its own heading.
            code.retain(|k| {
                !doc.contains(&format!("\n## `[{k}]`")) && !doc.contains(&format!("\n## `[[{k}]]`"))
            });
        }
        assert!(
            code.len() >= 2,
            "{heading}: too few keys read from the loader: {code:?}"
        );
        for k in code.difference(&docs) {
            problems.push(format!(
                "{heading}: `{k}` is accepted but not in the key table"
            ));
        }
        for k in docs.difference(&code) {
            problems.push(format!(
                "{heading}: `{k}` is documented but the loader refuses it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_manifests_key_is_documented() {
    let policy = policy_doc();
    let rules =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md"))
            .expect("docs/rules.md");
    let v = "version = 1\n";
    let tables = [
        ("[[manifests]]", format!("{v}[[manifests]]\n{BOGUS} = 1\n")),
        (
            "[[manifests.deny]]",
            format!("{v}[[manifests]]\n[[manifests.deny]]\n{BOGUS} = 1\n"),
        ),
        (
            "[[manifests.exception]]",
            format!("{v}[[manifests]]\n[[manifests.exception]]\n{BOGUS} = 1\n"),
        ),
    ];
    let mut problems = Vec::new();
    for (table, text) in tables {
        let keys = accepted(&text);
        assert!(keys.len() >= 3, "{table}: {keys:?}");
        for k in keys {
            // Named in backquotes, set in a TOML example (`key = …`, also commented out), or a
            // table of its own (`[[manifests.exception]]`).
            let named = |doc: &str| {
                doc.contains(&format!("`{k}`"))
                    || doc.contains(&format!("\n{k} = "))
                    || doc.contains(&format!("\n# {k} = "))
                    || doc.contains(&format!("[[manifests.{k}]]"))
            };
            if !named(&rules) && !named(&policy) {
                problems.push(format!("{table}: `{k}` is accepted but documented nowhere"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The other example policies are loaded by `push::config_examples_load_and_docs_name_every_rule`
/// with `pushguard policy check`; the demo's needs the keys the demo makes.
#[test]
fn the_demo_policy_loads_with_the_keys_the_demo_makes() {
    if let Err(e) = load_demo_policy() {
        panic!("config/demo-policy.toml does not load:\n{e}");
    }
}

/// The demo policy names keys the demo makes at run time: load it as the demo does, with two
/// fresh keys in `keys/` beside it and their fingerprints in place.
fn load_demo_policy() -> Result<Policy, pushguard::policy::PolicyError> {
    use pushguard::demo::{policy_text, DemoKey};
    let dir = tempfile::tempdir().expect("tempdir");
    let dev = DemoKey::generate("Dev", "dev@example.com").expect("key");
    let sre = DemoKey::generate("Sre", "sre@example.com").expect("key");
    std::fs::create_dir_all(dir.path().join("keys")).expect("keys/");
    std::fs::write(dir.path().join("keys/dev.asc"), dev.public().expect("cert")).expect("write");
    std::fs::write(dir.path().join("keys/sre.asc"), sre.public().expect("cert")).expect("write");
    let path = dir.path().join("policy.toml");
    let text = policy_text(&dev, &sre);
    assert!(
        !text.contains("@DEV@") && !text.contains("@SRE@"),
        "placeholders replaced"
    );
    std::fs::write(&path, text).expect("write");
    Policy::load(&path)
}

#[test]
fn the_key_reader_sees_a_real_difference() {
    // The reader itself: a table's key list is what the loader says, not an empty set that
    // would make every comparison above pass.
    let keys = accepted(&format!("version = 1\n[names]\n{BOGUS} = 1\n"));
    assert_eq!(
        keys,
        ["branches", "severity", "tags"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}
