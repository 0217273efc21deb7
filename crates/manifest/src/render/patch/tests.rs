use super::*;
use crate::yaml::{load, Limits};

fn doc(text: &str) -> Node {
    load(text.as_bytes(), &Limits::default())
        .expect("test yaml")
        .remove(0)
}

#[test]
fn smp_merges_containers_by_name() {
    let mut target = doc("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: a}, {name: b, image: b}]\n");
    let patch = doc("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers: [{name: b, securityContext: {privileged: true}}]\n");
    strategic_merge(&mut target, &patch).unwrap();
    let c = target
        .path(&["spec", "template", "spec", "containers"])
        .unwrap()
        .as_seq();
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].get("name").and_then(Node::as_str), Some("b"));
    assert_eq!(
        c[0].path(&["securityContext", "privileged"])
            .and_then(Node::as_bool),
        Some(true)
    );
    assert_eq!(c[0].get("image").and_then(Node::as_str), Some("b"));
}
