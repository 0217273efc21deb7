use super::*;
use crate::yaml::{load, Limits};

fn doc(text: &str) -> Node {
    load(text.as_bytes(), &Limits::default())
        .expect("test yaml")
        .remove(0)
}

fn node(value: Value) -> Node {
    Node {
        value,
        line: 1,
        column: 1,
    }
}

fn key(name: &str) -> Key {
    Key {
        name: name.to_string(),
        line: 1,
        column: 1,
    }
}

fn str_node(s: &str) -> Node {
    node(Value::Str(s.to_string()))
}

#[test]
fn smp_merges_containers_by_name() {
    let mut target = doc("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: a}, {name: b, image: b}]\n");
    let patch = doc("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers: [{name: b, securityContext: {privileged: true}}]\n");
    strategic_merge(&mut target, &patch).expect("applies");
    let c = target
        .path(&["spec", "template", "spec", "containers"])
        .map(Node::as_seq)
        .unwrap_or(&[]);
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].get("name").and_then(Node::as_str), Some("b"));
    assert_eq!(
        c[0].path(&["securityContext", "privileged"])
            .and_then(Node::as_bool),
        Some(true)
    );
    assert_eq!(c[0].get("image").and_then(Node::as_str), Some("b"));
    assert_eq!(c[1].get("name").and_then(Node::as_str), Some("a"));
}

#[test]
fn schema_knows_the_merge_keys_of_built_in_kinds() {
    let pod_spec = |api: &str, kind: &str, path: &[&str]| {
        let mut s = Schema::for_type(api, kind)?;
        for p in path {
            s = s.field(p)?;
        }
        Some(s)
    };
    let spec = pod_spec("apps/v1", "Deployment", &["spec", "template", "spec"]).expect("known");
    let keys = |f: &str| spec.field(f).map(Schema::strategy_and_keys);
    assert_eq!(keys("containers"), Some(("merge", &["name"][..])));
    assert_eq!(keys("volumes"), Some(("merge,retainKeys", &["name"][..])));
    assert_eq!(keys("tolerations").map(|k| k.0), Some(""), "replaced");
    let ports = spec
        .field("containers")
        .and_then(Schema::elements)
        .and_then(|c| c.field("ports"))
        .map(Schema::strategy_and_keys);
    assert_eq!(ports, Some(("merge", &["containerPort", "protocol"][..])));
    let cron = pod_spec(
        "batch/v1",
        "CronJob",
        &[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "spec",
            "initContainers",
        ],
    );
    assert_eq!(
        cron.map(Schema::strategy_and_keys),
        Some(("merge", &["name"][..]))
    );
    // Kinds kustomize v5.8.1's schema (Kubernetes v1.21) does not have: no schema at all.
    assert!(Schema::for_type("apps/v1beta1", "Deployment").is_none());
    assert!(Schema::for_type("example.com/v1", "Widget").is_none());
    let rules = Schema::for_type("rbac.authorization.k8s.io/v1", "ClusterRole")
        .and_then(|s| s.field("rules"))
        .map(Schema::strategy_and_keys);
    assert_eq!(rules.map(|k| k.0), Some(""));
    assert!(schema::is_cluster_scoped(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole"
    ));
    assert!(schema::is_cluster_scoped("v1", "Namespace"));
    assert!(!schema::is_cluster_scoped("apps/v1", "Deployment"));
    assert!(!schema::is_cluster_scoped("example.com/v1", "Widget"));
}

#[test]
fn directives_apimachinery_knows_and_kyaml_does_not_are_refused() {
    for patch in [
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {$retainKeys: [a]}\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, $deleteFromPrimitiveList/finalizers: [x]}\n",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {$setElementOrder/containers: [{name: a}]}\n",
    ] {
        let mut target = doc("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n");
        let err = strategic_merge(&mut target, &doc(patch)).expect_err(patch);
        assert!(err.message.contains("refused"), "{}", err.message);
    }
}

#[test]
fn unknown_directive_values_fail() {
    let mut target = doc("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {a: {b: 1}}\n");
    let patch = doc("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {a: {$patch: drop}}\n");
    let err = strategic_merge(&mut target, &patch).expect_err("unknown");
    assert_eq!(err.message, "unknown patch strategy 'drop'");
    assert_eq!((err.line, err.column), (4, 20), "at the value");
}

#[test]
fn deep_patches_are_refused_not_overflowing() {
    // A patch nested deeper than MAX_PATCH_DEPTH, built without the loader's own depth limit;
    // the test thread's 2 MiB stack must survive the walk down to the cap (debug build).
    let mut patch = str_node("leaf");
    for _ in 0..(MAX_PATCH_DEPTH + 20) {
        patch = node(Value::Map(vec![(key("a"), patch)]));
    }
    let mut target = doc("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
    if let Value::Map(entries) = &mut patch.value {
        entries.push((key("apiVersion"), str_node("v1")));
        entries.push((key("kind"), str_node("ConfigMap")));
    }
    let err = strategic_merge(&mut target, &patch).expect_err("too deep");
    assert!(err.message.contains("too deep"), "{}", err.message);

    // Just under the cap, on both sides (the target is walked too): merged, no overflow.
    let chain = |leaf: &str| {
        let mut n = str_node(leaf);
        for _ in 0..(MAX_PATCH_DEPTH - 3) {
            n = node(Value::Map(vec![(key("a"), n)]));
        }
        node(Value::Map(vec![
            (key("apiVersion"), str_node("v1")),
            (key("kind"), str_node("ConfigMap")),
            (key("data"), n),
        ]))
    };
    let mut target = chain("old");
    strategic_merge(&mut target, &chain("new")).expect("within the cap");
    let mut leaf = target.get("data");
    while let Some(n) = leaf.and_then(|n| n.get("a")) {
        leaf = Some(n);
    }
    assert_eq!(leaf.and_then(Node::as_str), Some("new"));
}

#[test]
fn long_keyed_lists_are_refused() {
    let items: Vec<Node> = (0..MAX_MERGE_LIST + 1)
        .map(|i| node(Value::Map(vec![(key("name"), str_node(&format!("c{i}")))])))
        .collect();
    let mut patch = doc("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n");
    if let Value::Map(entries) = &mut patch.value {
        if let Some((_, spec)) = entries.iter_mut().find(|(k, _)| k.name == "spec") {
            spec.value = Value::Map(vec![(key("containers"), node(Value::Seq(items)))]);
        }
    }
    let mut target =
        doc("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: x}]}\n");
    let err = strategic_merge(&mut target, &patch).expect_err("too long");
    assert!(err.message.contains("too long"), "{}", err.message);
}

#[test]
fn merge_keys_kyaml_compares_by_text() {
    // A string "80" and an integer 80 are the same port to kyaml (it compares YAML text).
    let mut target = doc("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n\
         spec: {containers: [{name: a, ports: [{containerPort: 80}]}]}\n");
    let patch = doc("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n\
         spec: {containers: [{name: a, ports: [{containerPort: \"80\", name: web}]}]}\n");
    strategic_merge(&mut target, &patch).expect("applies");
    let ports = target
        .path(&["spec", "containers"])
        .and_then(|c| c.as_seq().first())
        .and_then(|c| c.get("ports"))
        .map(Node::as_seq)
        .unwrap_or(&[]);
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].get("name").and_then(Node::as_str), Some("web"));
    // A boolean merge key has no text pushguard can recover: refused.
    let patch = doc("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n\
         spec: {containers: [{name: true}]}\n");
    assert!(strategic_merge(&mut target, &patch).is_err());
}

#[test]
fn json_pointer_indexes_as_go_atoi() {
    let op = doc("op: add\npath: /x\n");
    assert_eq!(parse_index("01", &op), Ok(1));
    assert_eq!(parse_index("+2", &op), Ok(2));
    assert_eq!(parse_index("-0", &op), Ok(0));
    assert_eq!(parse_index("-3", &op), Ok(-3));
    assert!(parse_index("", &op).is_err());
    assert!(parse_index("1e3", &op).is_err());
    assert!(parse_index(" 1", &op).is_err());
    assert!(parse_index("99999999999999999999", &op).is_err());
    // Negative indexes count from the end; inserting has one more slot.
    assert_eq!(normalize_index(-1, 3, false, &op), Ok(2));
    assert_eq!(normalize_index(-1, 3, true, &op), Ok(3));
    assert_eq!(normalize_index(3, 3, true, &op), Ok(3));
    assert!(normalize_index(3, 3, false, &op).is_err());
    assert!(normalize_index(-4, 3, false, &op).is_err());
    assert_eq!(decode_segment("a~1b~0c~01"), "a/b~c~1");
}

#[test]
fn json_copies_are_budgeted() {
    // Each copy doubles the list: 2^18 nodes after 18 ops, over the budget.
    let mut target = doc("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: [1]}\n");
    let mut ops = String::new();
    for _ in 0..24 {
        ops.push_str("- {op: copy, from: /data/a, path: /data/a/-}\n");
    }
    let err = json6902(&mut target, &doc(&ops)).expect_err("budget");
    assert!(err.message.contains("copies too much"), "{}", err.message);
}

#[test]
fn json_test_compares_as_json() {
    let mut target = doc("a: {num: 2, f: 1.5, s: x, z: null, l: [1, {b: true}]}\n");
    let ok = |t: &mut Node, v: &str| {
        json6902(t, &doc(&format!("- {{op: test, path: /a, value: {v}}}\n"))).is_ok()
    };
    assert!(ok(
        &mut target,
        "{num: 2.0, f: 1.5, s: x, z: null, l: [1, {b: true}]}"
    ));
    assert!(
        !ok(&mut target, "{num: 2, f: 1.5, s: x, l: [1, {b: true}]}"),
        "null member counts"
    );
    assert!(!ok(
        &mut target,
        "{num: 2, f: 1.5, s: x, z: null, l: [{b: true}, 1]}"
    ));
    let missing = doc("- {op: test, path: /nope, value: null}\n");
    assert!(
        json6902(&mut target, &missing).is_ok(),
        "missing equals null"
    );
}

#[test]
fn label_selector_syntax() {
    let at = doc("x: 1\n");
    let parse = |s: &str| parse_label_selector(s, &at);
    let labels = doc("app: web\ntier: front\nrank: \"5\"\nexample.com/team: a\n");
    let m = |s: &str| parse(s).map(|sel| sel.matches(Some(&labels)));
    assert_eq!(m(""), Ok(true));
    assert_eq!(m("app=web"), Ok(true));
    assert_eq!(m("app==web,tier=front"), Ok(true));
    assert_eq!(m("app!=web"), Ok(false));
    assert_eq!(m("missing!=x"), Ok(true));
    assert_eq!(m("app in (api, web)"), Ok(true));
    assert_eq!(m("app notin (api,web)"), Ok(false));
    assert_eq!(m("app in ()"), Ok(false), "() is the empty value");
    assert_eq!(m("app in (,web)"), Ok(true));
    assert_eq!(m("tier"), Ok(true));
    assert_eq!(m("!tier"), Ok(false));
    assert_eq!(m("!nope"), Ok(true));
    assert_eq!(m("rank>4,rank<6"), Ok(true));
    assert_eq!(m("rank>5"), Ok(false));
    assert_eq!(m("example.com/team=a"), Ok(true));
    assert_eq!(m("app="), Ok(false), "empty value");
    for bad in [
        "app in",
        "app in (a",
        "app in a",
        "=web",
        "app=web,",
        "app=(web)",
        "!app=web",
        "rank>x",
        "-bad=1",
        "a/b/c=1",
        "Example.com/x=1",
        "app=-bad-",
        "app==!",
    ] {
        assert!(parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn selector_regexes_are_size_limited() {
    let object = doc("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n");
    let selector = doc("name: '((a{1000}){1000}){1000}'\n");
    let err = selects(&selector, &object).expect_err("too big");
    assert!(err.message.contains("bad regex"), "{}", err.message);
}

#[test]
fn effective_namespaces() {
    let ns = |t: &str| effective_namespace(&doc(t));
    assert_eq!(
        ns("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"),
        "default"
    );
    assert_eq!(
        ns("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n"),
        "a"
    );
    assert_eq!(
        ns("apiVersion: v1\nkind: Namespace\nmetadata: {name: c, namespace: a}\n"),
        "_non_namespaceable_"
    );
    assert_eq!(
        ns("apiVersion: example.com/v1\nkind: Namespace\nmetadata: {name: c}\n"),
        "default",
        "a kind unknown at that apiVersion is namespaced"
    );
}

fn env_list(n: usize, value: &str) -> Node {
    node(Value::Seq(
        (0..n)
            .map(|i| {
                node(Value::Map(vec![
                    (key("name"), str_node(&format!("V{i}"))),
                    (key("value"), str_node(value)),
                ]))
            })
            .collect(),
    ))
}

fn pod_with_env(env: Node) -> Node {
    let mut pod =
        doc("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a}]}\n");
    if let Value::Map(entries) = &mut pod.value {
        if let Some((_, spec)) = entries.iter_mut().find(|(k, _)| k.name == "spec") {
            if let Value::Map(spec) = &mut spec.value {
                if let Some((_, c)) = spec.first_mut() {
                    if let Value::Seq(items) = &mut c.value {
                        if let Some(Value::Map(fields)) = items.first_mut().map(|c| &mut c.value) {
                            fields.push((key("env"), env));
                        }
                    }
                }
            }
        }
    }
    pod
}

#[test]
fn keyed_merges_are_budgeted() {
    // 1,000 variables on each side merge (kyaml's matching is quadratic: some 5 million steps).
    let mut target = pod_with_env(env_list(1000, "old"));
    strategic_merge(&mut target, &pod_with_env(env_list(1000, "new"))).expect("within budget");
    let env = target
        .path(&["spec", "containers"])
        .and_then(|c| c.as_seq().first())
        .and_then(|c| c.get("env"))
        .map(Node::as_seq)
        .unwrap_or(&[]);
    assert_eq!(env.len(), 1000);
    assert!(env
        .iter()
        .all(|e| e.get("value").and_then(Node::as_str) == Some("new")));
    // 5,000 on each side would take over a hundred million: refused, not run.
    let mut target = pod_with_env(env_list(5000, "old"));
    let err = strategic_merge(&mut target, &pod_with_env(env_list(5000, "new")))
        .expect_err("over budget");
    assert!(err.message.contains("too costly"), "{}", err.message);
}

#[test]
fn json_moves_cannot_nest_without_bound() {
    // Two chains 300 deep; moving one under the other's end nests it 600 deep: refused, as
    // each further move could add another 500 levels.
    let chain = || {
        let mut c = str_node("leaf");
        for _ in 0..300 {
            c = node(Value::Map(vec![(key("k"), c)]));
        }
        c
    };
    let mut target = node(Value::Map(vec![(key("a"), chain()), (key("b"), chain())]));
    let shallow = doc("- {op: move, from: /b, path: /c}\n");
    json6902(&mut target, &shallow).expect("same depth");
    assert!(deeper_than(&target, 300) && !deeper_than(&target, 302));
    let deep = doc(&format!(
        "- {{op: move, from: /c, path: /a{}/z}}\n",
        "/k".repeat(299)
    ));
    let err = json6902(&mut target, &deep).expect_err("too deep");
    assert!(err.message.contains("too deep"), "{}", err.message);
}
