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
    json6902, selects, smp_matches, strategic_merge, PatchError,
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
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/patch_baseline")
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
    assert!(cases.len() > 50, "baseline cases missing");
    let mut failures = Vec::new();
    let mut agreed = 0;
    for case in &cases {
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let result = replay(case);
        let refused = REFUSED.iter().find(|(n, _)| *n == name);
        if let Some((_, why)) = refused {
            match result {
                Err(_) => agreed += 1,
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
        "patch baseline: {agreed}/{} cases agree with kustomize",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
