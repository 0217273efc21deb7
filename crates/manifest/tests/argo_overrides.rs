//! Argo CD `Application`s rendered the way the repo-server renders them, where pushguard used
//! to differ: override-file keys matched case-insensitively (Go's encoding/json), `null` and
//! list elements decoded into what is there, and directory-source files pushguard cannot load.

use pushguard_manifest::object::Object;
use pushguard_manifest::render::{argo_application, MemTree, Rendered, Tree, RENDER_RULE};
use pushguard_manifest::yaml::{self, Node};
use pushguard_manifest::Limits;

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
  - name: main
    image: registry.example.com/busybox:1.36
";

fn doc(text: &str) -> Node {
    yaml::load(text.as_bytes(), &Limits::default())
        .unwrap()
        .remove(0)
}

/// An Application named `web` in `argocd`, its source at `apps/web` with `extra` below it
/// (indented for `source:`).
fn app(extra: &str) -> Node {
    doc(&format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web, namespace: argocd}}
spec:
  destination: {{namespace: prod}}
  source:
    repoURL: https://git.example.com/repo.git
    path: apps/web
{extra}"
    ))
}

fn render(tree: &MemTree, app: &Node) -> Rendered {
    argo_application(&Tree::new(tree), app, "argo/web.yaml", &Limits::default()).unwrap()
}

fn kustomize_app() -> MemTree {
    MemTree::new()
        .file("apps/web/kustomization.yaml", "resources: [pod.yaml]\n")
        .file("apps/web/pod.yaml", POD)
}

fn pod(r: &Rendered) -> &Object {
    let pods: Vec<&Object> = r
        .objects
        .iter()
        .filter(|o| o.identity.kind == "Pod")
        .collect();
    assert_eq!(pods.len(), 1, "{:#?}", r.objects);
    pods[0]
}

fn image(o: &Object) -> &str {
    o.root.path(&["spec", "containers"]).unwrap().as_seq()[0]
        .get("image")
        .and_then(Node::as_str)
        .unwrap()
}

fn host_network(o: &Object) -> Option<bool> {
    o.root
        .path(&["spec", "hostNetwork"])
        .and_then(Node::as_bool)
}

fn problems(r: &Rendered) -> Vec<String> {
    r.problems
        .iter()
        .map(|p| format!("{} {}:{}: {}", p.rule, p.path, p.line, p.message))
        .collect()
}

#[test]
fn override_keys_in_any_case_are_applied() {
    for key in ["Kustomize", "KUSTOMIZE", "\"\\u212Austomize\"", "Kuſtomize"] {
        let tree = kustomize_app().file(
            "apps/web/.argocd-source-web.yaml",
            &format!(
                "{key}:\n  Images: [\"registry.example.com/busybox=evil.example.net/busybox:1\"]\n  Patches:\n  - Patch: '{{apiVersion: v1, kind: Pod, metadata: {{name: debug}}, spec: {{hostNetwork: true}}}}'\n"
            ),
        );
        let r = render(&tree, &app(""));
        assert!(r.problems.is_empty(), "{key}: {:?}", problems(&r));
        let p = pod(&r);
        assert_eq!(image(p), "evil.example.net/busybox:1", "{key}");
        assert_eq!(host_network(p), Some(true), "{key}");
    }
}

#[test]
fn two_spellings_of_one_field_are_refused() {
    let tree = kustomize_app().file(
        "apps/web/.argocd-source.yaml",
        "kustomize:\n  images: [\"registry.example.com/busybox:2\"]\nKustomize:\n  images: [\"registry.example.com/busybox=evil.example.net/busybox:1\"]\n",
    );
    let r = render(&tree, &app(""));
    let found = problems(&r);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(r.problems[0].rule, RENDER_RULE);
    assert!(
        found[0].starts_with("manifest-render apps/web/.argocd-source.yaml:3: `Kustomize` and `kustomize` (line 1) both set `kustomize`"),
        "{found:?}"
    );
    assert!(r.problems[0].fix.contains("exact name"));

    // One spelling in the file, the other in the Application.
    let tree = kustomize_app().file(
        "apps/web/.argocd-source-web.yaml",
        "KUSTOMIZE:\n  images: [\"registry.example.com/busybox=evil.example.net/busybox:1\"]\n",
    );
    let r = render(&tree, &app("    kustomize: {namePrefix: a-}\n"));
    assert!(
        problems(&r)
            .iter()
            .any(|p| p.contains(".argocd-source-web.yaml:1: `KUSTOMIZE` sets `kustomize`")),
        "{:?}",
        problems(&r)
    );
}

#[test]
fn null_in_an_override_file_keeps_the_application_value() {
    let tree = kustomize_app().file(
        "apps/web/.argocd-source-web.yaml",
        "kustomize:\n  images: null\n  patches: null\n",
    );
    let r = render(
        &tree,
        &app("    kustomize:\n      images: [\"registry.example.com/busybox=evil.example.net/busybox:1\"]\n"),
    );
    assert!(r.problems.is_empty(), "{:?}", problems(&r));
    assert_eq!(image(pod(&r)), "evil.example.net/busybox:1");
}

#[test]
fn a_patch_element_keeps_the_target_the_override_does_not_set() {
    // The override replaces the patch text, Go keeps the Application's target: the new patch
    // lands on the Pod.
    let tree = kustomize_app().file(
        "apps/web/.argocd-source-web.yaml",
        "kustomize:\n  patches:\n  - patch: '[{\"op\": \"add\", \"path\": \"/spec/hostNetwork\", \"value\": true}]'\n",
    );
    let r = render(
        &tree,
        &app("    kustomize:\n      patches:\n      - patch: '[{\"op\": \"add\", \"path\": \"/metadata/labels\", \"value\": {a: b}}]'\n        target: {kind: Pod, name: debug}\n"),
    );
    assert!(r.problems.is_empty(), "{:?}", problems(&r));
    assert_eq!(host_network(pod(&r)), Some(true));
}

#[test]
fn an_override_file_for_a_namespaced_instance_is_refused() {
    let tree = kustomize_app().file(
        "apps/web/.argocd-source-team-a_web.yaml",
        "kustomize: {images: [\"registry.example.com/busybox=evil.example.net/busybox:1\"]}\n",
    );
    let r = render(&tree, &app(""));
    let found = problems(&r);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("manifest-render apps/web/.argocd-source-team-a_web.yaml:1: Argo CD reads `.argocd-source-team-a_web.yaml` instead of `.argocd-source-web.yaml`"),
        "{found:?}"
    );
}

const SPACED_POD: &str = "apiVersion : v1
kind : Pod
metadata :
  name: ci
spec:
  hostNetwork: false
  hostNetwork: true
  containers:
  - name: main
    image: registry.example.com/busybox:1.36
";

fn directory_app(files: &[(&str, &str)], directory: &str) -> Rendered {
    let mut tree = MemTree::new().file("apps/web/pod.yaml", POD);
    for (path, text) in files {
        tree = tree.file(path, text);
    }
    let extra = if directory.is_empty() {
        String::new()
    } else {
        format!("    directory: {directory}\n")
    };
    render(&tree, &app(&extra))
}

#[test]
fn a_directory_file_pushguard_cannot_load_is_refused() {
    let r = directory_app(&[("apps/web/.gitlab-ci.yml", SPACED_POD)], "");
    let found = problems(&r);
    assert_eq!(found.len(), 1, "{found:?}");
    let p = &r.problems[0];
    assert_eq!(p.rule, RENDER_RULE);
    assert_eq!(p.path, "apps/web/.gitlab-ci.yml");
    assert_eq!(p.line, 7);
    assert!(
        p.message.starts_with("Argo CD reads every `.yaml`, `.yml` and `.json` file in the Application's path `apps/web`"),
        "{found:?}"
    );
    assert!(p.message.contains("`.gitlab-ci.yml`"), "{found:?}");
    assert!(p.fix.contains("directory.exclude"));

    // A merge key (go-yaml v2 merges it), a JSON file with a repeated key (encoding/json
    // keeps the last).
    let r = directory_app(
        &[
            ("apps/web/a.json", "{\"kind\": \"Pod\", \"kind\": \"Pod2\"}"),
            (
                "apps/web/b.yaml",
                "pod: &pod {kind: Pod, metadata: {name: m}}\n<<: *pod\n",
            ),
        ],
        "",
    );
    assert_eq!(r.problems.len(), 2, "{:?}", problems(&r));
    assert!(r.problems.iter().all(|p| p.rule == RENDER_RULE));

    // Excluded, it is not read.
    let r = directory_app(
        &[("apps/web/.gitlab-ci.yml", SPACED_POD)],
        "{exclude: '.gitlab-ci.yml'}",
    );
    assert!(r.problems.is_empty(), "{:?}", problems(&r));
}

#[test]
fn a_file_argo_cd_ignores_is_ignored() {
    let r = directory_app(
        &[
            (
                "apps/web/.gitlab-ci.yml",
                "stages: [test]\ntest:\n  script: [make]\n",
            ),
            // Unreadable for pushguard, but its first document is not an object and it lacks
            // `apiVersion:`: Argo CD stops there and ignores the file.
            (
                "apps/web/values.yaml",
                "replicas: 2\n---\nkind : Pod\nx: 1\nx: 2\n",
            ),
            // A first document that is not an object: the rest is never read.
            (
                "apps/web/notes.yaml",
                &format!(
                    "note: hi\n---\n{}",
                    SPACED_POD.replace("  hostNetwork: false\n", "")
                ),
            ),
        ],
        "",
    );
    assert!(r.problems.is_empty(), "{:?}", problems(&r));
    assert_eq!(r.objects.len(), 1);

    // With `apiVersion:`, `kind:` and `metadata:` in it, Argo CD fails the render instead.
    let r = directory_app(
        &[("apps/web/notes.yaml", &format!("note: hi\n---\n{POD}"))],
        "",
    );
    assert_eq!(r.problems.len(), 1, "{:?}", problems(&r));
}

#[test]
fn ci_files_and_hidden_directories_are_read_like_any_file() {
    let loadable = SPACED_POD.replace("  hostNetwork: false\n", "");
    let r = directory_app(&[("apps/web/.gitlab-ci.yml", &loadable)], "");
    assert!(r.problems.is_empty(), "{:?}", problems(&r));
    let ci: Vec<&Object> = r
        .objects
        .iter()
        .filter(|o| o.identity.name == "ci")
        .collect();
    assert_eq!(ci.len(), 1);
    assert_eq!(host_network(ci[0]), Some(true));

    let files = [("apps/web/.github/workflows/deploy.yml", loadable.as_str())];
    assert_eq!(directory_app(&files, "").objects.len(), 1);
    let r = directory_app(&files, "{recurse: true}");
    assert_eq!(r.objects.len(), 2, "{:?}", problems(&r));

    // An object, then a document that is not one: Argo CD fails the render; judged here.
    let r = directory_app(
        &[("apps/web/two.yaml", &format!("{loadable}---\nnote: hi\n"))],
        "",
    );
    assert_eq!(r.objects.len(), 2);
    assert_eq!(r.problems.len(), 1, "{:?}", problems(&r));
}

#[test]
fn disable_extension_filter_reads_every_file() {
    let files = [(
        "apps/web/pod.txt",
        SPACED_POD.replace("  hostNetwork: false\n", ""),
    )];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (*p, t.as_str())).collect();
    assert_eq!(directory_app(&files, "").objects.len(), 1);
    let r = directory_app(&files, "{disableExtensionFilter: true}");
    assert_eq!(r.objects.len(), 2, "{:?}", problems(&r));
    // Through an override file, with another spelling.
    let tree = MemTree::new().file("apps/web/pod.txt", files[0].1).file(
        "apps/web/.argocd-source.yaml",
        "directory: {DisableExtensionFilter: true}\n",
    );
    assert_eq!(render(&tree, &app("")).objects.len(), 1);
}

#[test]
fn a_submodule_in_a_recursive_directory_source_is_refused() {
    let tree = MemTree::new()
        .file("apps/web/pod.yaml", POD)
        .gitlink("apps/web/vendor");
    assert!(render(&tree, &app("")).problems.is_empty());
    let r = render(&tree, &app("    directory: {recurse: true}\n"));
    assert_eq!(r.problems.len(), 1, "{:?}", problems(&r));
    assert!(r.problems[0].message.contains("submodule"));
}
