//! `render::patch` against real kustomize, and on the patches a GitOps repository really
//! carries.
//!
//! `patch_baseline/` holds cases (resources, a strategic-merge or JSON 6902 patch, maybe a
//! `target:` selector) and what `kubectl kustomize` (kustomize v5.8.1) made of each, written by
//! `patch_baseline/make_baseline.sh`. Every case is replayed here the way kustomize's
//! PatchTransformer runs it (select or match by id, then patch each object) and the objects
//! must come out equal to kustomize's, or both must fail. Where pushguard refuses what
//! kustomize accepts, `REFUSED` says why (and the test asserts the refusal).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pushguard_manifest::render::patch::{
    json6902, selects, smp_matches, strategic_merge, strategic_merge_selected, PatchError,
};
use pushguard_manifest::yaml::{load, Node};
use pushguard_manifest::Limits;

/// Cases kustomize accepts and pushguard refuses, and why.
const REFUSED: &[(&str, &str)] = &[
    (
        "smp-retain-keys",
        "kyaml copies `$retainKeys` into the object as a field",
    ),
    (
        "smp-delete-from-primitive-list",
        "kyaml copies `$deleteFromPrimitiveList/…` into the object as a field",
    ),
    (
        "smp-set-element-order",
        "kyaml copies `$setElementOrder/…` into the object as a field",
    ),
    (
        "smp-pod-element-without-key",
        "kyaml empties the whole list when an element lacks its merge key",
    ),
    (
        "smp-pod-new-list-directive",
        "kyaml keeps a list directive as an element when the target has no such list",
    ),
    (
        "smp-selected-null-label",
        "with a target, kustomize turns a null label into the string its YAML spelled (here \
         \"null\"), which the loaded value does not keep",
    ),
    (
        "smp-unknown-directive-new-map",
        "kyaml keeps an unknown `$patch` value as a field in a map the target lacks (and fails \
         the build on one in a map the target has)",
    ),
];

/// The cases: `tests/patch_baseline`, or another directory made the same way (say, generated
/// cases) named by `PUSHGUARD_PATCH_BASELINE`.
fn dir() -> PathBuf {
    match std::env::var_os("PUSHGUARD_PATCH_BASELINE") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/patch_baseline"),
    }
}

fn load_all(path: &Path) -> Vec<Node> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    load(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load_one(path: &Path) -> Node {
    load_all(path)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("{}: empty", path.display()))
}

fn id(node: &Node) -> (String, String) {
    let s = |keys: &[&str]| {
        node.path(keys)
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s(&["kind"]), s(&["metadata", "name"]))
}

/// What kustomize's PatchTransformer does with one `patches` entry.
fn replay(case: &Path) -> Result<Vec<Node>, PatchError> {
    let objects = load_all(&case.join("target.yaml"));
    let selector = case
        .join("selector.yaml")
        .exists()
        .then(|| load_one(&case.join("selector.yaml")));
    let smp = case
        .join("patch.yaml")
        .exists()
        .then(|| load_one(&case.join("patch.yaml")));
    let ops = case
        .join("ops.yaml")
        .exists()
        .then(|| load_one(&case.join("ops.yaml")));
    let mut out = Vec::new();
    let mut matched = 0;
    for mut object in objects {
        let chosen = match (&selector, &smp) {
            (Some(sel), _) => selects(sel, &object)?,
            (None, Some(patch)) => smp_matches(patch, &object),
            (None, None) => panic!("{}: a JSON patch needs a selector", case.display()),
        };
        if chosen {
            matched += 1;
            match (&smp, &ops) {
                (Some(patch), _) if selector.is_some() => {
                    strategic_merge_selected(&mut object, patch)?
                }
                (Some(patch), _) => strategic_merge(&mut object, patch)?,
                (None, Some(ops)) => json6902(&mut object, ops)?,
                (None, None) => panic!("{}: no patch", case.display()),
            }
        }
        if !object.is_null() {
            out.push(object);
        }
    }
    if selector.is_none() && matched != 1 {
        return Err(PatchError {
            line: 0,
            column: 0,
            message: format!("{matched} objects match the patch's id"),
        });
    }
    Ok(out)
}

#[test]
fn cases_agree_with_kustomize() {
    let mut cases: Vec<PathBuf> = fs::read_dir(dir())
        .expect("patch_baseline")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "baseline cases missing");
    let mut failures = Vec::new();
    let mut agreed = 0;
    let mut refused_count = 0;
    for case in &cases {
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let result = replay(case);
        let refused = REFUSED.iter().find(|(n, _)| *n == name);
        if let Some((_, why)) = refused {
            match result {
                Err(_) => refused_count += 1,
                Ok(_) => failures.push(format!("{name}: accepted, but listed as refused ({why})")),
            }
            continue;
        }
        let expected_error = case.join("expected.error");
        if expected_error.exists() {
            match result {
                Err(_) => agreed += 1,
                Ok(_) => failures.push(format!(
                    "{name}: kustomize fails ({}) but the patch applied",
                    fs::read_to_string(&expected_error)
                        .unwrap_or_default()
                        .lines()
                        .next()
                        .unwrap_or("")
                )),
            }
            continue;
        }
        let expected = load_all(&case.join("expected.yaml"));
        let got = match result {
            Ok(got) => got,
            Err(e) => {
                failures.push(format!(
                    "{name}: kustomize applies it, pushguard fails: {e}"
                ));
                continue;
            }
        };
        let want: BTreeMap<_, _> = expected.iter().map(|n| (id(n), n)).collect();
        let have: BTreeMap<_, _> = got.iter().map(|n| (id(n), n)).collect();
        if want.len() != have.len() || want.keys().ne(have.keys()) {
            failures.push(format!(
                "{name}: objects differ: kustomize {:?}, pushguard {:?}",
                want.keys().collect::<Vec<_>>(),
                have.keys().collect::<Vec<_>>()
            ));
            continue;
        }
        let mut same = true;
        for (k, w) in &want {
            if let Some(h) = have.get(k) {
                if !w.same_as(h) {
                    same = false;
                    failures.push(format!(
                        "{name}: {k:?} differs\n  kustomize: {}\n  pushguard: {}",
                        w.canonical(),
                        h.canonical()
                    ));
                }
            }
        }
        if same {
            agreed += 1;
        }
    }
    println!(
        "patch baseline: {agreed}/{} cases agree with kustomize, {refused_count} refused as listed",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// --- The patches GitOps repositories carry, with their values asserted. ---

fn yaml(text: &str) -> Node {
    load(text.as_bytes(), &Limits::default())
        .expect("test yaml")
        .into_iter()
        .next()
        .expect("a document")
}

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  labels: {app: web}
spec:
  template:
    spec:
      hostNetwork: false
      containers:
      - name: app
        image: app:1
      - name: sidecar
        image: side:1
";

fn containers(object: &Node) -> &[Node] {
    object
        .path(&["spec", "template", "spec", "containers"])
        .map(Node::as_seq)
        .unwrap_or(&[])
}

fn names(object: &Node) -> Vec<&str> {
    containers(object)
        .iter()
        .filter_map(|c| c.get("name").and_then(Node::as_str))
        .collect()
}

fn container<'a>(object: &'a Node, name: &str) -> &'a Node {
    containers(object)
        .iter()
        .find(|c| c.get("name").and_then(Node::as_str) == Some(name))
        .unwrap_or_else(|| panic!("no container {name}"))
}

#[test]
fn privileged_added_to_one_container_by_name() {
    let mut object = yaml(DEPLOYMENT);
    let patch = yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\n\
         spec:\n  template:\n    spec:\n      containers:\n      - name: sidecar\n        \
         securityContext:\n          privileged: true\n",
    );
    assert!(smp_matches(&patch, &object));
    strategic_merge(&mut object, &patch).expect("applies");
    let sidecar = container(&object, "sidecar");
    let privileged = sidecar
        .path(&["securityContext", "privileged"])
        .expect("added");
    assert_eq!(privileged.as_bool(), Some(true));
    // The value carries the patch's position (line 10 of the patch), for the finding.
    assert_eq!((privileged.line, privileged.column), (10, 23));
    assert_eq!(
        sidecar.get("image").and_then(Node::as_str),
        Some("side:1"),
        "the rest of the container stays"
    );
    assert!(container(&object, "app").get("securityContext").is_none());
    // kustomize moves the patched container to the front.
    assert_eq!(names(&object), ["sidecar", "app"]);
}

#[test]
fn host_network_replaced() {
    let mut object = yaml(DEPLOYMENT);
    let patch = yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\n\
         spec: {template: {spec: {hostNetwork: true}}}\n",
    );
    strategic_merge(&mut object, &patch).expect("applies");
    let host_network = object
        .path(&["spec", "template", "spec", "hostNetwork"])
        .expect("kept");
    assert_eq!(host_network.as_bool(), Some(true));
    assert_eq!(host_network.line, 4);
    assert_eq!(names(&object), ["app", "sidecar"]);
}

#[test]
fn container_deleted_by_directive() {
    let mut object = yaml(DEPLOYMENT);
    let patch = yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\n\
         spec:\n  template:\n    spec:\n      containers:\n      - {name: app, $patch: delete}\n",
    );
    strategic_merge(&mut object, &patch).expect("applies");
    assert_eq!(names(&object), ["sidecar"]);
}

#[test]
fn whole_object_deleted() {
    let mut object = yaml(DEPLOYMENT);
    let patch = yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\n\
         $patch: delete\n",
    );
    strategic_merge(&mut object, &patch).expect("applies");
    assert!(object.is_null(), "the caller drops a Null object");
}

#[test]
fn name_and_namespace_restored_after_merge() {
    let mut object = yaml(DEPLOYMENT);
    let patch = yaml("apiVersion: v1\nkind: Other\nmetadata: {name: x, namespace: y}\n");
    strategic_merge(&mut object, &patch).expect("applies");
    assert_eq!(
        object.path(&["metadata", "name"]).and_then(Node::as_str),
        Some("web")
    );
    assert_eq!(
        object
            .path(&["metadata", "namespace"])
            .and_then(Node::as_str),
        Some("prod")
    );
    assert_eq!(
        object.get("kind").and_then(Node::as_str),
        Some("Deployment")
    );
    assert_eq!(
        object.get("apiVersion").and_then(Node::as_str),
        Some("apps/v1")
    );
}

#[test]
fn custom_resource_lists_are_replaced() {
    let mut object = yaml(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n\
         spec: {containers: [{name: a, image: a}, {name: b, image: b}]}\n",
    );
    let patch = yaml(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n\
         spec: {containers: [{name: b, privileged: true}]}\n",
    );
    strategic_merge(&mut object, &patch).expect("applies");
    let list = object
        .path(&["spec", "containers"])
        .map(Node::as_seq)
        .unwrap_or(&[]);
    assert_eq!(list.len(), 1);
    assert!(list[0].get("image").is_none());
    assert_eq!(
        list[0].get("privileged").and_then(Node::as_bool),
        Some(true)
    );
}

#[test]
fn json_patch_adds_privileged_to_first_container() {
    let mut object = yaml(DEPLOYMENT);
    let ops = yaml(
        "- op: add\n  path: /spec/template/spec/containers/0/securityContext\n  value: {}\n\
         - op: add\n  path: /spec/template/spec/containers/0/securityContext/privileged\n  value: true\n",
    );
    let selector = yaml("kind: Deployment\nname: web\n");
    assert!(selects(&selector, &object).expect("valid selector"));
    json6902(&mut object, &ops).expect("applies");
    let privileged = container(&object, "app")
        .path(&["securityContext", "privileged"])
        .expect("added");
    assert_eq!(privileged.as_bool(), Some(true));
    assert_eq!(privileged.line, 6);
}

#[test]
fn json_patch_on_a_missing_parent_fails_like_kustomize() {
    let mut object = yaml(DEPLOYMENT);
    let before = object.clone();
    let ops = yaml(
        "- op: replace\n  path: /spec/template/spec/hostNetwork\n  value: true\n\
         - op: add\n  path: /spec/template/spec/containers/0/securityContext/privileged\n  value: true\n",
    );
    let err = json6902(&mut object, &ops).expect_err("no securityContext to add into");
    assert_eq!((err.line, err.column), (4, 3), "points at the failing op");
    assert!(err.message.contains("missing path"), "{}", err.message);
    // The build fails: what the object became is of no use, but the first op did run.
    assert!(!object.same_as(&before));
}

#[test]
fn json_patch_index_bounds() {
    let ops = |path: &str| {
        yaml(&format!(
            "- op: add\n  path: {path}\n  value: {{name: x}}\n"
        ))
    };
    let mut object = yaml(DEPLOYMENT);
    assert!(json6902(&mut object, &ops("/spec/template/spec/containers/3")).is_err());
    json6902(&mut object, &ops("/spec/template/spec/containers/2")).expect("at the end");
    json6902(&mut object, &ops("/spec/template/spec/containers/-")).expect("appended");
    assert_eq!(names(&object), ["app", "sidecar", "x", "x"]);
    assert!(json6902(
        &mut object,
        &ops("/spec/template/spec/containers/99999999999999999999")
    )
    .is_err());
}

#[test]
fn selector_matches_labels_and_regexes() {
    let object = yaml(DEPLOYMENT);
    let sel = |text: &str| selects(&yaml(text), &object);
    assert_eq!(sel("labelSelector: app in (web, api)\n"), Ok(true));
    assert_eq!(sel("labelSelector: app notin (web)\n"), Ok(false));
    assert_eq!(sel("labelSelector: '!tier'\n"), Ok(true));
    assert_eq!(sel("kind: Deploy\n"), Ok(false), "anchored");
    assert_eq!(sel("kind: Deploy.*\ngroup: apps\nversion: v1\n"), Ok(true));
    assert_eq!(sel("namespace: prod|dev\nname: w.b\n"), Ok(true));
    assert_eq!(
        sel("group: \"\"\nkind: Deployment\n"),
        Ok(true),
        "empty matches all"
    );
    assert!(sel("name: '('\n").is_err());
    assert!(sel("labelSelector: 'app in'\n").is_err());
    assert!(sel("apiVersion: apps/v1\n").is_err(), "unknown field");
}

#[test]
fn a_null_label_deletes_by_id_and_is_refused_with_a_target() {
    let namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    \
                     pod-security.kubernetes.io/enforce: restricted\n";
    let patch = yaml(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    \
         pod-security.kubernetes.io/enforce: null\n    team: 7\n",
    );
    let mut by_id = yaml(namespace);
    strategic_merge(&mut by_id, &patch).expect("applies");
    let labels = by_id.path(&["metadata", "labels"]).expect("labels");
    assert!(labels.get("pod-security.kubernetes.io/enforce").is_none());
    assert_eq!(labels.get("team").and_then(Node::as_int), Some(7));
    // With a target, kustomize would set the label to the string "null" (or "~", or ""): an
    // invalid Pod Security level, spelled as in the file. Refused.
    let mut selected = yaml(namespace);
    let err = strategic_merge_selected(&mut selected, &patch).expect_err("refused");
    assert_eq!((err.line, err.column), (6, 41), "at the null");
    // Without the null, the integer label becomes a string, as kustomize writes it.
    let patch =
        yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels: {team: 7}\n");
    strategic_merge_selected(&mut selected, &patch).expect("applies");
    assert_eq!(
        selected
            .path(&["metadata", "labels", "team"])
            .and_then(Node::as_str),
        Some("7")
    );
}
