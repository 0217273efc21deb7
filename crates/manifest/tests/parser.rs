//! The parsing contract of manifests.md §3, each case judged as the cluster would apply it,
//! and the budgets against hostile input (bounded by work counts, not by timing).

mod common;

use common::*;
use pushguard_manifest::yaml::{self, load, load_with_stats, resolve_plain, LoadStats, Value};
use pushguard_manifest::{Limits, RuleId};

fn pod(sc_line: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: prod\nspec:\n  containers:\n  - name: c\n    image: x:1\n    securityContext:\n      {sc_line}\n"
    )
}

#[test]
fn yaml11_booleans_are_booleans() {
    for t in [
        "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
    ] {
        assert!(matches!(resolve_plain(t), Value::Bool(true)), "{t}");
        let f = judge_added(
            "p.yaml",
            &pod(&format!("privileged: {t}")),
            &settings(&[RuleId::Privileged]),
        );
        assert_eq!(rules_of(&f), ["privileged"], "privileged: {t}");
        assert_eq!((f[0].line, f[0].column), (11, 19), "{t}");
        assert_eq!(f[0].container.as_deref(), Some("c"));
        assert_eq!(f[0].object.as_deref(), Some("Pod prod/p"));
    }
    for t in [
        "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
    ] {
        assert!(matches!(resolve_plain(t), Value::Bool(false)), "{t}");
        let f = judge_added(
            "p.yaml",
            &pod(&format!("privileged: {t}")),
            &settings(&[RuleId::Privileged]),
        );
        assert!(f.is_empty(), "privileged: {t} -> {f:?}");
    }
}

#[test]
fn quoted_scalars_stay_strings() {
    assert!(matches!(
        &load(b"a: \"yes\"\nb: '0644'\n", &Limits::default()).unwrap()[0]
            .get("a").unwrap().value,
        Value::Str(s) if s == "yes"
    ));
    // The API server refuses a string where a boolean belongs: nothing would run privileged.
    let f = judge_added(
        "p.yaml",
        &pod("privileged: \"yes\""),
        &settings(&[RuleId::Privileged]),
    );
    assert!(f.is_empty());
    let docs = load(b"a: !!str yes\nb: !!int \"12\"\n", &Limits::default()).unwrap();
    assert_eq!(docs[0].get("a").unwrap().as_str(), Some("yes"));
    assert_eq!(docs[0].get("b").unwrap().as_int(), Some(12));
}

#[test]
fn go_integers() {
    let cases: [(&str, i128); 9] = [
        ("0644", 420),
        ("1_000", 1000),
        ("0x1F", 31),
        ("0o17", 15),
        ("0b101", 5),
        ("+12", 12),
        ("-0x10", -16),
        ("0", 0),
        ("18446744073709551615", 18_446_744_073_709_551_615),
    ];
    for (text, want) in cases {
        match resolve_plain(text) {
            Value::Int(i) => assert_eq!(i, want, "{text}"),
            other => panic!("{text} -> {other:?}"),
        }
    }
    // Not Go integers: `08` is a float in go-yaml v2, `_1` and `1.2.3` are strings.
    assert!(matches!(resolve_plain("08"), Value::Float(f) if f == 8.0));
    assert!(matches!(resolve_plain("_1"), Value::Str(_)));
    assert!(matches!(resolve_plain("1.2.3"), Value::Str(_)));
    assert!(matches!(resolve_plain("1e3"), Value::Float(f) if f == 1000.0));
    // runAsUser: 0x0 is root; hostPort: 0x50 is 80.
    let f = judge_added(
        "p.yaml",
        &pod("runAsUser: 0x0"),
        &settings(&[RuleId::RunAsRoot]),
    );
    assert_eq!(rules_of(&f), ["run-as-root"]);
    assert!(f[0].message.contains("runAsUser: 0"), "{}", f[0].message);
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x:1\n    ports:\n    - containerPort: 80\n      hostPort: 0x50\n";
    let f = judge_added("p.yaml", text, &settings(&[RuleId::HostPorts]));
    assert_eq!(rules_of(&f), ["host-ports"]);
    assert!(f[0].message.contains("hostPort 80"), "{}", f[0].message);
}

#[test]
fn duplicate_keys_are_rejected_with_position() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  name: b\n";
    let f = judge_added("d.yaml", text, &settings(&[]));
    assert_eq!(rules_of(&f), ["manifest-parse"]);
    assert_eq!((f[0].line, f[0].column), (5, 3));
    assert!(
        f[0].message.contains("duplicate key `name`"),
        "{}",
        f[0].message
    );
    // Quoted and plain spellings are the same key.
    let e = load(b"a: 1\n\"a\": 2\n", &Limits::default()).unwrap_err();
    assert!(e.message().contains("duplicate"), "{e}");
}

/// A key repeated with the same value: kubectl and Argo CD (go-yaml v2, last value wins) read
/// that value, kustomize (Flux) refuses the file, the API server never sees the repetition
/// (kubectl sends JSON). No reader reads another value, so it is accepted; a repeated key with
/// another value stays refused, in maps of every size.
#[test]
fn duplicate_keys_with_the_same_value_are_accepted() {
    for same in [
        "a: 1\na: 1\n",
        "a: \"x\"\na: 'x'\n",
        "a: yes\na: true\n",
        "a: 0x10\na: 16\n",
        "a: {b: [1, 2]}\na:\n  b:\n  - 1\n  - 2\n",
        "{\"a\": 1, \"a\": 1}\n",
    ] {
        let docs =
            load(same.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{same}: {e}"));
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].as_map().len(), 1, "{same}");
    }
    for differs in [
        "a: 1\na: 2\n",
        "a: 1\na: \"1\"\n",
        "a: {b: 1}\na: {b: 1, c: 2}\n",
        "a: [1, 2]\na: [2, 1]\n",
        "a: null\na: ~\na: 0\n",
    ] {
        let e = load(differs.as_bytes(), &Limits::default()).unwrap_err();
        assert!(e.message().contains("different value"), "{differs}: {e}");
    }
    // Large maps (hashed keys) behave the same, and the position is the repeated key's.
    let mut big: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
    big.push_str("k7: 7\n");
    assert_eq!(
        load(big.as_bytes(), &Limits::default()).unwrap()[0]
            .as_map()
            .len(),
        40
    );
    big.push_str("k8: 9\n");
    let e = load(big.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(e.position(), (42, 1));
    // Judged: the privileged flag repeated with the same value is still seen.
    let text = pod("{privileged: true, privileged: true}");
    let f = judge_added("p.yaml", &text, &settings(&[RuleId::Privileged]));
    assert_eq!(rules_of(&f), ["privileged"]);
    let text = pod("{privileged: false, privileged: true}");
    let f = judge_added("p.yaml", &text, &settings(&[RuleId::Privileged]));
    assert_eq!(rules_of(&f), ["manifest-parse"]);
}

#[test]
fn merge_keys_are_rejected() {
    let text = "base: &b {privileged: false}\nsc:\n  <<: *b\n  privileged: true\n";
    let e = load(text.as_bytes(), &Limits::default()).unwrap_err();
    assert!(e.message().contains("merge key"), "{e}");
    assert_eq!(e.position(), (3, 3));
    // A quoted "<<" is an ordinary key.
    assert!(load(b"\"<<\": 1\n", &Limits::default()).is_ok());
}

#[test]
fn aliases_are_expanded() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nx-sc: &sc {privileged: true}\nspec:\n  containers:\n  - name: c\n    image: x:1\n    securityContext: *sc\n";
    let f = judge_added("p.yaml", text, &settings(&[RuleId::Privileged]));
    assert_eq!(rules_of(&f), ["privileged"]);
}

#[test]
fn non_string_keys_are_rejected() {
    for text in [
        "yes: 1\n",
        "1: a\n",
        "~: a\n",
        "1.5: a\n",
        "? [a]\n: b\n",
        "? {a: 1}\n: b\n",
    ] {
        let e = load(text.as_bytes(), &Limits::default()).unwrap_err();
        assert!(!e.is_limits(), "{text}");
        assert_eq!(e.position().0, 1, "{text}: {e}");
    }
    assert!(load(b"\"yes\": 1\n'1': a\n", &Limits::default()).is_ok());
}

#[test]
fn unknown_tags_are_rejected() {
    for text in [
        "a: !!binary aGVsbG8=\n",
        "a: !custom x\n",
        "a: !!set {x: null}\n",
        "a: !!int yes\n",
    ] {
        let e = load(text.as_bytes(), &Limits::default()).unwrap_err();
        assert!(e.message().contains("tag"), "{text}: {e}");
    }
}

#[test]
fn documents_split_by_line() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n--- # second\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n---   \n\n---\n# only a comment\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: c}\n";
    let docs = load(text.as_bytes(), &Limits::default()).unwrap();
    let names: Vec<_> = docs
        .iter()
        .map(|d| d.path(&["metadata", "name"]).unwrap().as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    // Positions are file positions, not chunk positions.
    assert_eq!(docs[1].line, 5);
    assert_eq!(docs[2].path(&["metadata", "name"]).unwrap().line, 15);
    // `---` followed by content is an error for Kubernetes' reader.
    let e = load(b"a: 1\n--- b: 2\n", &Limits::default()).unwrap_err();
    assert_eq!(e.position().0, 2);
    assert!(e.message().contains("separator"), "{e}");
    // A line starting with `---` inside a block scalar still splits, as in Kubernetes.
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata:\n  x: |\n    text\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: 'x:1', securityContext: {privileged: true}}\n";
    let f = judge_added("m.yaml", text, &settings(&[RuleId::Privileged]));
    assert_eq!(rules_of(&f), ["privileged"]);
    assert_eq!(f[0].line, 13);
}

#[test]
fn second_document_after_end_marker_is_ambiguous() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n...\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n";
    let f = judge_added("m.yaml", text, &settings(&[]));
    assert_eq!(rules_of(&f), ["manifest-parse"]);
    assert_eq!(f[0].line, 5);
}

#[test]
fn lists_are_expanded() {
    let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: prod}\n  spec:\n    containers:\n    - {name: c, image: 'x:1', securityContext: {privileged: on}}\n";
    let f = judge_added("l.yaml", text, &settings(&[RuleId::Privileged]));
    assert_eq!(rules_of(&f), ["privileged"]);
    assert_eq!(f[0].object.as_deref(), Some("Pod prod/p"));
    let text = text.replace("kind: List", "kind: PodList");
    assert_eq!(
        judge_added("l.yaml", &text, &settings(&[RuleId::Privileged])).len(),
        1
    );
}

#[test]
fn json_manifests() {
    let text = "{\n\t\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n\t\"metadata\": {\"name\": \"p\"},\n\t\"spec\": {\"containers\": [{\"name\": \"c\", \"image\": \"x:1\",\n\t\t\"securityContext\": {\"privileged\": true}}]}\n}\n";
    let f = judge_added("p.json", text, &settings(&[RuleId::Privileged]));
    assert_eq!(rules_of(&f), ["privileged"]);
    assert_eq!((f[0].line, f[0].column), (5, 37));
    let dup = "{\"kind\": \"Pod\", \"kind\": \"Secret\"}";
    assert_eq!(
        rules_of(&judge_added("p.json", dup, &settings(&[]))),
        ["manifest-parse"]
    );
}

#[test]
fn non_objects_and_empty_documents_are_skipped() {
    let text = "# just a comment\n---\n~\n---\nreplicas: 3\nimage: {tag: latest}\n";
    assert!(judge_added("values.yaml", text, &settings(&RuleId::ALL)).is_empty());
}

#[test]
fn invalid_utf8_and_syntax_errors_fail_closed() {
    let f = judge_added("x.yaml", "a: 1\nb: \u{0}\n", &settings(&[]));
    assert_eq!(rules_of(&f), ["manifest-parse"]);
    let e = load(b"a: 1\nb: \xff\n", &Limits::default()).unwrap_err();
    assert_eq!(e.position(), (2, 4));
    let f = judge_added("x.yaml", "a: [1, 2\n", &settings(&[]));
    assert_eq!(rules_of(&f), ["manifest-parse"]);
}

// ---- budgets -------------------------------------------------------------------------------

#[test]
fn alias_bomb_is_refused_within_the_node_budget() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 10].join(", ")));
    }
    let limits = Limits::default();
    let mut stats = LoadStats::default();
    let e = load_with_stats(text.as_bytes(), &limits, &mut stats).unwrap_err();
    assert!(e.is_limits(), "{e}");
    assert!(e.message().contains("alias"), "{e}");
    // 10^10 nodes if expanded; refused before exceeding the budget.
    assert!(stats.nodes <= limits.max_nodes, "{stats:?}");
    assert!(stats.events < 200, "{stats:?}");
    let f = judge_added("bomb.yaml", &text, &settings(&[]));
    assert_eq!(rules_of(&f), ["manifest-limits"]);
}

#[test]
fn deep_nesting_is_refused_early() {
    let limits = Limits::default();
    for text in [
        "[".repeat(100_000),
        "- ".repeat(100_000) + "x\n",
        "{a: ".repeat(100_000),
    ] {
        let mut stats = LoadStats::default();
        let e = load_with_stats(text.as_bytes(), &limits, &mut stats).unwrap_err();
        assert!(e.is_limits(), "{e}");
        assert!(e.message().contains("nesting"), "{e}");
        assert!(stats.events <= limits.max_depth + 10, "{stats:?}");
    }
}

#[test]
fn deep_nesting_through_aliases_is_refused() {
    // Each alias adds the depth of its anchor: depth doubles per line.
    let mut text = String::from("a0: &a0 [[[[[[[[[[x]]]]]]]]]]\n");
    for i in 1..12 {
        text.push_str(&format!("a{i}: &a{i} [[[[[[[[[[*a{}]]]]]]]]]]\n", i - 1));
    }
    let e = load(text.as_bytes(), &Limits::default()).unwrap_err();
    assert!(e.is_limits() && e.message().contains("nesting"), "{e}");
}

#[test]
fn huge_file_is_refused_before_parsing() {
    let text = "a: b\n".repeat(10 * 1024 * 1024); // 50 MB
    let mut stats = LoadStats::default();
    let e = load_with_stats(text.as_bytes(), &Limits::default(), &mut stats).unwrap_err();
    assert!(e.is_limits());
    assert!(e.message().contains("52428800 bytes"), "{e}");
    assert_eq!(stats.events, 0);
}

#[test]
fn many_documents_are_refused_at_the_limit() {
    let text = "a: 1\n---\n".repeat(100_000);
    let limits = Limits::default();
    let mut stats = LoadStats::default();
    let e = load_with_stats(text.as_bytes(), &limits, &mut stats).unwrap_err();
    assert!(e.is_limits());
    assert!(e.message().contains("10000 documents"), "{e}");
    assert_eq!(e.position().0, 20_001);
    assert_eq!(stats.documents, limits.max_documents + 1);
    assert!(stats.events <= 10 * limits.max_documents, "{stats:?}");
}

#[test]
fn node_budget_counts_plain_nodes() {
    let limits = Limits {
        max_nodes: 1000,
        ..Limits::default()
    };
    let text = format!("[{}]", vec!["1"; 2000].join(","));
    let e = yaml::load(text.as_bytes(), &limits).unwrap_err();
    assert!(e.is_limits() && e.message().contains("1000 nodes"), "{e}");
}

#[test]
fn nested_anchors_are_charged_to_the_node_budget() {
    // 50 nested anchored lists around 20,000 scalars: each anchor keeps a copy, so without
    // charging them this would hold ~1,000,000 nodes.
    let inner = vec!["x"; 20_000].join(",");
    let mut text = format!("[{inner}]");
    for i in 0..50 {
        text = format!("&a{i} [{text}]");
    }
    let text = format!("k: {text}\n");
    let limits = Limits::default();
    let mut stats = LoadStats::default();
    let e = load_with_stats(text.as_bytes(), &limits, &mut stats).unwrap_err();
    assert!(e.is_limits() && e.message().contains("anchors"), "{e}");
    assert!(stats.nodes <= limits.max_nodes, "{stats:?}");
}

#[test]
fn alias_bomb_of_long_strings_is_bounded_in_bytes() {
    // Few nodes, but each alias would copy a 100 KB string: 100,000 copies = 10 GB.
    let text = format!(
        "s: &s \"{}\"\nl: [{}]\n",
        "x".repeat(100_000),
        vec!["*s"; 100_000].join(",")
    );
    let limits = Limits::default();
    let mut stats = LoadStats::default();
    let e = load_with_stats(text.as_bytes(), &limits, &mut stats).unwrap_err();
    assert!(e.is_limits() && e.message().contains("bytes"), "{e}");
    // Stopped after about max_bytes / 100 KB copies.
    assert!(stats.nodes < 100, "{stats:?}");
}

#[test]
fn alias_uses_are_counted_against_max_aliases() {
    // Each alias copies one small node: cheap per copy, but 20,000 of them are work the budget
    // bounds on its own.
    let text = format!("s: &s x\nl: [{}]\n", vec!["*s"; 20_000].join(","));
    let e = yaml::load(text.as_bytes(), &Limits::default()).unwrap_err();
    assert!(
        e.is_limits() && e.message().contains("more than 10000 aliases"),
        "{e}"
    );
    let raised = Limits {
        max_aliases: 30_000,
        ..Limits::default()
    };
    let docs = yaml::load(text.as_bytes(), &raised).unwrap();
    assert_eq!(docs.len(), 1);
}
