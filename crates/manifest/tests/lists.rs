//! Lists, as the cluster's clients expand them.
//!
//! The fixtures in `tests/fixtures/lists/` are read three ways: by pushguard, by a real kubectl
//! (`kubectl annotate --local -f FILE`: the decoding `kubectl apply` does, offline) and by
//! kustomize (`kubectl kustomize` over a kustomization naming the file, as Flux and Argo CD
//! build). pushguard must judge every object either of them would send (the union), and each
//! fixture states what each reader yields, so a change in kubectl shows up here.
//!
//! kubectl is looked up as `PUSHGUARD_KUBECTL`, then
//! `$HOME/.cache/pushguard-test/kubectl-venv/bin/kubectl` (what `tests/install-deps.sh`
//! installs), then `/work/kubectl-venv/bin/kubectl`. Without one the comparison is skipped
//! with a message, unless `CI` is set: there it must run.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use pushguard_manifest::object::{objects_of, MAX_LIST_DEPTH};
use pushguard_manifest::yaml::{load, LoadStats};
use pushguard_manifest::{Limits, RuleId};

/// One fixture: what pushguard judges, what kubectl sends (None: it refuses the file) and what
/// kustomize builds (None: it refuses), each as `Kind namespace/name`.
struct Fixture {
    file: &'static str,
    pushguard: &'static [&'static str],
    kubectl: Option<&'static [&'static str]>,
    kustomize: Option<&'static [&'static str]>,
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        file: "plain-list.yaml",
        pushguard: &["ConfigMap prod/one", "Pod prod/two", "ConfigMap prod/three"],
        kubectl: Some(&["ConfigMap prod/one", "Pod prod/two", "ConfigMap prod/three"]),
        kustomize: Some(&["ConfigMap prod/one", "Pod prod/two", "ConfigMap prod/three"]),
    },
    Fixture {
        file: "list-without-apiversion.yaml",
        pushguard: &["Pod prod/hidden"],
        kubectl: Some(&["Pod prod/hidden"]),
        kustomize: Some(&["Pod prod/hidden"]),
    },
    Fixture {
        file: "list-in-list.yaml",
        pushguard: &["ConfigMap prod/outer", "Pod prod/nested"],
        kubectl: None,
        kustomize: Some(&["ConfigMap prod/outer", "Pod prod/nested"]),
    },
    Fixture {
        file: "kind-with-items.yaml",
        pushguard: &["Pod prod/in-bundle", "Bundle prod/bundle"],
        kubectl: Some(&["Pod prod/in-bundle"]),
        kustomize: Some(&["Bundle prod/bundle"]),
    },
    Fixture {
        file: "inferred-kind.yaml",
        pushguard: &["Deployment prod/inferred"],
        kubectl: Some(&["Deployment prod/inferred"]),
        kustomize: None,
    },
    Fixture {
        file: "null-items.yaml",
        pushguard: &[],
        kubectl: Some(&[]),
        kustomize: Some(&[]),
    },
];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lists")
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn pushguard_objects(file: &str, text: &str) -> BTreeSet<String> {
    let limits = Limits::default();
    let docs = load(text.as_bytes(), &limits).unwrap();
    let objects = objects_of(file, docs, &limits, &mut LoadStats::default()).unwrap();
    objects
        .iter()
        .map(|o| {
            format!(
                "{} {}/{}",
                o.identity.kind, o.identity.namespace, o.identity.name
            )
        })
        .collect()
}

#[test]
fn fixtures_yield_the_union_of_what_the_readers_send() {
    for f in FIXTURES {
        let text = std::fs::read_to_string(fixture_dir().join(f.file)).unwrap();
        let got = pushguard_objects(f.file, &text);
        assert_eq!(got, set(f.pushguard), "{}", f.file);
        for reader in [f.kubectl, f.kustomize].into_iter().flatten() {
            assert!(set(reader).is_subset(&got), "{}: {reader:?}", f.file);
        }
    }
}

#[test]
fn hidden_list_items_are_judged() {
    for file in [
        "list-without-apiversion.yaml",
        "list-in-list.yaml",
        "kind-with-items.yaml",
        "inferred-kind.yaml",
    ] {
        let text = std::fs::read_to_string(fixture_dir().join(file)).unwrap();
        let f = judge_added(file, &text, &settings(&[RuleId::Privileged]));
        assert_eq!(rules_of(&f), ["privileged"], "{file}: {f:?}");
    }
}

#[test]
fn list_items_that_are_not_objects_are_refused_with_position() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- just a string\n";
    let f = judge_added("l.yaml", text, &settings(&[]));
    assert_eq!(rules_of(&f), ["manifest-parse"]);
    assert_eq!((f[0].line, f[0].column), (7, 3));
    // Control: a document that is no object (Helm values) may hold any `items`.
    let values = "replicas: 2\nitems: [a, b]\n";
    assert!(judge_added("values.yaml", values, &settings(&RuleId::ALL)).is_empty());
}

#[test]
fn nesting_beyond_the_cap_is_refused() {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\n");
    for _ in 0..=MAX_LIST_DEPTH {
        let indented: String = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 0 {
                    format!("- {l}\n")
                } else {
                    format!("  {l}\n")
                }
            })
            .collect();
        text = format!("apiVersion: v1\nkind: List\nitems:\n{indented}");
    }
    let f = judge_added("deep.yaml", &text, &settings(&[]));
    assert_eq!(rules_of(&f), ["manifest-limits"], "{f:?}");
    // Control: at the cap, the innermost object is found.
    let limits = Limits::default();
    let inner_start = text.find("- apiVersion").unwrap();
    let one_less: String = text[inner_start..]
        .lines()
        .map(|l| l.get(2..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let docs = load(one_less.as_bytes(), &limits).unwrap();
    let objects = objects_of("deep.yaml", docs, &limits, &mut LoadStats::default()).unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].identity.name, "deep");
}

/// The kubectl to compare with, or None (with the reason) when there is none outside CI.
fn kubectl() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("PUSHGUARD_KUBECTL") {
        candidates.push(PathBuf::from(p));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/pushguard-test/kubectl-venv/bin/kubectl"));
    }
    candidates.push(PathBuf::from("/work/kubectl-venv/bin/kubectl"));
    if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
        return Some(found);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "kubectl not found (PUSHGUARD_KUBECTL, ~/.cache/pushguard-test/kubectl-venv/bin/kubectl, /work/kubectl-venv/bin/kubectl): in CI the list comparison must run; run tests/install-deps.sh"
    );
    eprintln!("SKIPPED: kubectl not found; the list fixtures were not compared with kubectl");
    None
}

const TEMPLATE: &str =
    "go-template={{.kind}} {{.metadata.namespace}}/{{.metadata.name}}{{\"\\n\"}}";

/// Objects kubectl would send for the file `input`, or None if it refuses the file.
fn kubectl_objects(kubectl: &Path, input: &Path) -> Option<BTreeSet<String>> {
    let out = Command::new(kubectl)
        .args(["annotate", "--local", "-f"])
        .arg(input)
        .args(["x=y", "-o", TEMPLATE])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

#[test]
fn fixtures_match_a_real_kubectl_and_kustomize() {
    let Some(kubectl) = kubectl() else {
        return;
    };
    let dir = fixture_dir();
    for f in FIXTURES {
        let path = dir.join(f.file);
        let sent = kubectl_objects(&kubectl, &path);
        assert_eq!(sent, f.kubectl.map(set), "kubectl on {}", f.file);

        let tmp =
            std::env::temp_dir().join(format!("pushguard-lists-{}-{}", std::process::id(), f.file));
        std::fs::create_dir_all(&tmp).unwrap();
        std::fs::copy(&path, tmp.join("r.yaml")).unwrap();
        std::fs::write(tmp.join("kustomization.yaml"), "resources:\n- r.yaml\n").unwrap();
        let built = Command::new(&kubectl)
            .args(["kustomize"])
            .arg(&tmp)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&tmp).unwrap();
        // kustomize's output is plain YAML, one object per document: read as such (not
        // through kubectl again, which would expand `items` once more).
        let built = built.status.success().then(|| {
            load(&built.stdout, &Limits::default())
                .unwrap()
                .iter()
                .map(|d| {
                    let s = |keys: &[&str]| d.path(keys).and_then(|n| n.as_str()).unwrap_or("");
                    format!(
                        "{} {}/{}",
                        s(&["kind"]),
                        s(&["metadata", "namespace"]),
                        s(&["metadata", "name"])
                    )
                })
                .collect::<BTreeSet<String>>()
        });
        assert_eq!(built, f.kustomize.map(set), "kustomize on {}", f.file);
    }
}
