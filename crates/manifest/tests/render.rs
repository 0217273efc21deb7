//! Rendering roots into the objects a controller applies: one case per kustomize, Flux and
//! Argo CD feature, and one per form of the attack run that got privileged pods onto `main`
//! through features pushguard did not interpret.

use pushguard_manifest::object::Object;
use pushguard_manifest::render::{
    argo_application, flux_build, flux_kustomization, kustomize_build, MemTree, Rendered, Tree,
    RENDER_RULE,
};
use pushguard_manifest::yaml::{self, Node, Value};
use pushguard_manifest::Limits;

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
  - name: main
    image: busybox:1.36
";

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 1
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      serviceAccountName: runner
      containers:
      - name: main
        image: nginx:1.25
        envFrom:
        - configMapRef: {name: settings}
      initContainers:
      - name: init
        image: nginx
      volumes:
      - name: creds
        secret: {secretName: creds}
";

fn build(tree: &MemTree, dir: &str) -> Rendered {
    let t = Tree::new(tree);
    kustomize_build(&t, dir, &Limits::default()).unwrap()
}

fn find<'a>(r: &'a Rendered, kind: &str) -> Vec<&'a Object> {
    r.objects
        .iter()
        .filter(|o| o.identity.kind == kind)
        .collect()
}

fn one<'a>(r: &'a Rendered, kind: &str) -> &'a Object {
    let found = find(r, kind);
    assert_eq!(found.len(), 1, "{kind} in {:#?}", names(r));
    found[0]
}

fn names(r: &Rendered) -> Vec<String> {
    r.objects
        .iter()
        .map(|o| {
            format!(
                "{} {}/{}",
                o.identity.kind, o.identity.namespace, o.identity.name
            )
        })
        .collect()
}

fn text<'a>(o: &'a Object, path: &[&str]) -> Option<&'a str> {
    o.root.path(path).and_then(Node::as_str)
}

fn clean(r: &Rendered) {
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
}

fn render_rules(r: &Rendered) -> Vec<&str> {
    r.problems.iter().map(|p| p.rule.as_str()).collect()
}

fn container<'a>(o: &'a Object, spec: &[&str], list: &str, index: usize) -> &'a Node {
    let seq = o
        .root
        .path(spec)
        .and_then(|s| s.get(list))
        .map(Node::as_seq)
        .unwrap_or(&[]);
    &seq[index]
}

fn doc(text: &str) -> Node {
    yaml::load(text.as_bytes(), &Limits::default())
        .unwrap()
        .remove(0)
}

#[test]
fn resources_of_any_extension_and_nested_directories() {
    let tree = MemTree::new()
        .file("app/kustomization.yaml", "resources: [debug.pod, base]\n")
        .file("app/debug.pod", POD)
        .file("app/base/kustomization.yaml", "resources: [deploy.yaml]\n")
        .file("app/base/deploy.yaml", DEPLOY);
    let r = build(&tree, "app");
    clean(&r);
    let pod = one(&r, "Pod");
    assert_eq!(pod.path, "app/debug.pod");
    assert_eq!(one(&r, "Deployment").path, "app/base/deploy.yaml");
    let origin = pod.origin.as_ref().unwrap();
    assert_eq!(origin.root, "kustomize build app");
    assert!(!pod.kustomization_file && pod.patch.is_none());
}

#[test]
fn namespace_moves_objects_renames_namespaces_and_default_subjects() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "namespace: kube-system\nresources: [all.yaml]\n",
        )
        .file(
            "app/all.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: admin2}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: crb}\n\
             roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin2}\n\
             subjects:\n- {kind: ServiceAccount, name: default, namespace: x}\n- {kind: ServiceAccount, name: other, namespace: x}\n---\n"
                .to_string()
                .as_str(),
        )
        .file("app/pod.yaml", POD);
    let tree = tree.file(
        "app/kustomization.yaml",
        "namespace: kube-system\nresources: [all.yaml, pod.yaml]\n",
    );
    let r = build(&tree, "app");
    clean(&r);
    assert_eq!(one(&r, "Pod").identity.namespace, "kube-system");
    assert_eq!(one(&r, "Namespace").identity.name, "kube-system");
    assert_eq!(one(&r, "ClusterRole").identity.namespace, "");
    let crb = one(&r, "ClusterRoleBinding");
    let subjects = crb.root.get("subjects").unwrap().as_seq();
    assert_eq!(
        subjects[0].get("namespace").and_then(Node::as_str),
        Some("kube-system")
    );
    assert_eq!(
        subjects[1].get("namespace").and_then(Node::as_str),
        Some("x")
    );
}

#[test]
fn prefix_suffix_and_name_references() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "namePrefix: p-\nnameSuffix: -s\nresources: [deploy.yaml, refs.yaml]\n",
        )
        .file("app/deploy.yaml", DEPLOY)
        .file(
            "app/refs.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n---\n\
             apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: runner}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb}\n\
             roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\n\
             subjects:\n- {kind: ServiceAccount, name: runner}\n",
        );
    let r = build(&tree, "app");
    clean(&r);
    let d = one(&r, "Deployment");
    assert_eq!(d.identity.name, "p-api-s");
    let spec = ["spec", "template", "spec"];
    assert_eq!(
        text(d, &["spec", "template", "spec", "serviceAccountName"]),
        Some("p-runner-s")
    );
    let main = container(d, &spec, "containers", 0);
    assert_eq!(
        main.path(&["envFrom"]).unwrap().as_seq()[0]
            .path(&["configMapRef", "name"])
            .and_then(Node::as_str),
        Some("p-settings-s")
    );
    let vol = &d
        .root
        .path(&["spec", "template", "spec", "volumes"])
        .unwrap()
        .as_seq()[0];
    assert_eq!(
        vol.path(&["secret", "secretName"]).and_then(Node::as_str),
        Some("p-creds-s")
    );
    let rb = one(&r, "RoleBinding");
    assert_eq!(text(rb, &["roleRef", "name"]), Some("p-r-s"));
    assert_eq!(
        rb.root.get("subjects").unwrap().as_seq()[0]
            .get("name")
            .and_then(Node::as_str),
        Some("p-runner-s")
    );
}

#[test]
fn common_labels_reach_selectors_labels_without_selectors_do_not() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "commonLabels: {team: a}\nlabels:\n- pairs: {tier: web}\n  includeTemplates: true\ncommonAnnotations: {note: x}\nresources: [deploy.yaml]\n",
        )
        .file("app/deploy.yaml", DEPLOY);
    let r = build(&tree, "app");
    clean(&r);
    let d = one(&r, "Deployment");
    assert_eq!(text(d, &["metadata", "labels", "team"]), Some("a"));
    assert_eq!(
        text(d, &["spec", "selector", "matchLabels", "team"]),
        Some("a")
    );
    assert_eq!(
        text(d, &["spec", "template", "metadata", "labels", "team"]),
        Some("a")
    );
    assert_eq!(text(d, &["metadata", "labels", "tier"]), Some("web"));
    assert_eq!(
        text(d, &["spec", "template", "metadata", "labels", "tier"]),
        Some("web")
    );
    assert_eq!(text(d, &["spec", "selector", "matchLabels", "tier"]), None);
    assert_eq!(
        text(d, &["spec", "template", "metadata", "annotations", "note"]),
        Some("x")
    );
}

#[test]
fn images_rewrite_every_container_and_init_container() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "images:\n- name: nginx\n  newName: evil.example.com/nginx\n  newTag: pwn\nresources: [deploy.yaml]\n",
        )
        .file("app/deploy.yaml", DEPLOY);
    let r = build(&tree, "app");
    clean(&r);
    let d = one(&r, "Deployment");
    let spec = ["spec", "template", "spec"];
    assert_eq!(
        container(d, &spec, "containers", 0)
            .get("image")
            .and_then(Node::as_str),
        Some("evil.example.com/nginx:pwn")
    );
    assert_eq!(
        container(d, &spec, "initContainers", 0)
            .get("image")
            .and_then(Node::as_str),
        Some("evil.example.com/nginx:pwn")
    );
}

#[test]
fn replicas_set_by_name() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "replicas:\n- {name: api, count: 5}\nresources: [deploy.yaml]\n",
        )
        .file("app/deploy.yaml", DEPLOY);
    let r = build(&tree, "app");
    clean(&r);
    assert_eq!(
        one(&r, "Deployment")
            .root
            .path(&["spec", "replicas"])
            .and_then(Node::as_int),
        Some(5)
    );
}

#[test]
fn secret_generator_makes_the_secret_kustomize_makes() {
    // Names and hashes as `kubectl kustomize` (kustomize v5.8.1) prints them.
    let tree = MemTree::new().file(
        "app/kustomization.yaml",
        "namespace: kube-system\nconfigMapGenerator:\n- name: cm\n  literals: [\"a=b\", \"c='d'\"]\n- name: empty\nsecretGenerator:\n- name: s\n  literals: [\"x=y\"]\n",
    );
    let r = build(&tree, "app");
    clean(&r);
    let s = one(&r, "Secret");
    assert_eq!(s.identity.name, "s-t86b282gdf");
    assert_eq!(s.identity.namespace, "kube-system");
    assert_eq!(text(s, &["data", "x"]), Some("eQ=="));
    assert_eq!(text(s, &["type"]), Some("Opaque"));
    assert_eq!(s.path, "app/kustomization.yaml");
    let cms: Vec<&str> = find(&r, "ConfigMap")
        .iter()
        .map(|o| o.identity.name.as_str())
        .collect();
    assert!(cms.contains(&"cm-fh478f99mk"), "{cms:?}");
    assert!(cms.contains(&"empty-6ct58987ht"), "{cms:?}");
}

#[test]
fn generated_names_are_referenced_with_their_hash() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "resources: [deploy.yaml]\nconfigMapGenerator:\n- name: settings\n  literals: [a=b]\n",
        )
        .file("app/deploy.yaml", DEPLOY);
    let r = build(&tree, "app");
    clean(&r);
    let cm = one(&r, "ConfigMap");
    assert!(
        cm.identity.name.starts_with("settings-"),
        "{}",
        cm.identity.name
    );
    let d = one(&r, "Deployment");
    let main = container(d, &["spec", "template", "spec"], "containers", 0);
    assert_eq!(
        main.path(&["envFrom"]).unwrap().as_seq()[0]
            .path(&["configMapRef", "name"])
            .and_then(Node::as_str),
        Some(cm.identity.name.as_str())
    );
}

#[test]
fn local_config_is_dropped() {
    let tree = MemTree::new()
        .file("app/kustomization.yaml", "resources: [ns.yaml, pod.yaml]\n")
        .file(
            "app/ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n",
        )
        .file("app/pod.yaml", POD);
    let r = build(&tree, "app");
    clean(&r);
    assert!(find(&r, "Namespace").is_empty());
    assert_eq!(find(&r, "Pod").len(), 1);
}

#[test]
fn components_add_and_transform() {
    let tree = MemTree::new()
        .file("app/kustomization.yaml", "resources: [deploy.yaml]\ncomponents: [../comp]\n")
        .file("app/deploy.yaml", DEPLOY)
        .file(
            "comp/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [pod.yaml]\nnamespace: kube-system\n",
        )
        .file("comp/pod.yaml", POD);
    let r = build(&tree, "app");
    clean(&r);
    assert_eq!(one(&r, "Pod").identity.namespace, "kube-system");
    assert_eq!(one(&r, "Deployment").identity.namespace, "kube-system");
}

#[test]
fn refused_content_is_a_render_problem_at_the_entry() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "resources:\n- github.com/evil/repo//base?ref=main\n- https://example.com/x.yaml\n- missing.yaml\n- ../../../etc\nhelmCharts:\n- name: x\nvars: []\nfrobnicate: 1\n",
        )
        .symlink("app/out", "/etc")
        .gitlink("vendor/sub");
    let r = build(&tree, "app");
    assert!(r.objects.is_empty());
    let lines: Vec<u32> = r.problems.iter().map(|p| p.line).collect();
    assert!(
        r.problems
            .iter()
            .all(|p| p.rule == RENDER_RULE && p.path == "app/kustomization.yaml"),
        "{:#?}",
        r.problems
    );
    for line in [2, 3, 4, 5, 6, 9] {
        assert!(lines.contains(&line), "line {line} in {lines:?}");
    }
}

#[test]
fn cycles_conflicts_links_out_and_gitlinks_are_problems() {
    let tree = MemTree::new()
        .file(
            "a/kustomization.yaml",
            "resources: [../b, pod.yaml, pod.yaml, out, sub]\n",
        )
        .file("a/pod.yaml", POD)
        .symlink("a/out", "../../etc")
        .gitlink("a/sub")
        .file("b/kustomization.yaml", "resources: [../a]\n");
    let r = build(&tree, "a");
    let messages: Vec<&str> = r.problems.iter().map(|p| p.message.as_str()).collect();
    assert!(
        messages.iter().any(|m| m.contains("cycle")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("included twice")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("out of the repository")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("submodule")),
        "{messages:#?}"
    );
    assert!(render_rules(&r).iter().all(|r| *r == RENDER_RULE));
}

#[test]
fn load_errors_of_files_read_are_findings() {
    let tree = MemTree::new()
        .file("app/kustomization.yaml", "resources: [bad.yaml]\n")
        .file("app/bad.yaml", "a: [\n");
    let r = build(&tree, "app");
    assert_eq!(render_rules(&r), ["manifest-parse"]);
    assert_eq!(r.problems[0].path, "app/bad.yaml");
}

#[test]
fn hostile_fan_out_is_capped() {
    // Every level lists the next one twice: 2^40 paths without a cap.
    let mut tree = MemTree::new();
    for i in 0..40 {
        tree = tree.file(
            &format!("l{i}/kustomization.yaml"),
            &format!("resources: [../l{n}, ../l{n}/../l{n}]\n", n = i + 1),
        );
    }
    tree = tree
        .file("l40/kustomization.yaml", "resources: [pod.yaml]\n")
        .file("l40/pod.yaml", POD);
    let r = build(&tree, "l0");
    assert!(
        r.problems.iter().any(|p| p.rule == "manifest-limits"),
        "{:#?}",
        r.problems.len()
    );
}

#[test]
fn flux_generates_a_kustomization_for_a_plain_directory() {
    let tree = MemTree::new()
        .file("apps/pod.yaml", POD)
        .file("apps/notes.txt", "not yaml")
        .file("apps/deep/deploy.yml", DEPLOY)
        .file(
            "apps/base/kustomization.yaml",
            "resources: [cm.yaml]\nnamespace: kube-system\n",
        )
        .file(
            "apps/base/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        )
        .file("apps/base/ignored.yaml", POD);
    let t = Tree::new(&tree);
    let r = flux_build(&t, "apps", &Limits::default()).unwrap();
    clean(&r);
    let mut got = names(&r);
    got.sort();
    assert_eq!(
        got,
        ["ConfigMap kube-system/c", "Deployment /api", "Pod /debug"]
    );
}

const FLUX_KS: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  path: ./apps
  targetNamespace: kube-system
  namePrefix: x-
  images:
  - {name: busybox, newName: evil.example.com/busybox, newTag: latest}
  commonMetadata:
    labels: {owner: flux}
  patches:
  - target: {kind: Pod}
    patch: |
      - op: add
        path: /metadata/annotations
        value: {patched: \"yes\"}
  postBuild:
    substitute: {cluster: prod}
";

#[test]
fn flux_kustomization_overlay_and_substitution() {
    let pod = "apiVersion: v1
kind: Pod
metadata:
  name: debug-${cluster}
spec:
  containers:
  - name: main
    image: busybox:1.36
    securityContext:
      privileged: ${privileged:=true}
      runAsUser: \"${uid:=0}\"
";
    let tree = MemTree::new().file("apps/pod.yaml", pod);
    let t = Tree::new(&tree);
    let ks = doc(FLUX_KS);
    let r = flux_kustomization(&t, &ks, "clusters/prod/apps.yaml", &Limits::default()).unwrap();
    // The JSON patch needs the patch module; everything else must render.
    let p = one(&r, "Pod");
    assert_eq!(p.identity.name, "x-debug-prod");
    assert_eq!(p.identity.namespace, "kube-system");
    assert_eq!(text(p, &["metadata", "labels", "owner"]), Some("flux"));
    let c = container(p, &["spec"], "containers", 0);
    assert_eq!(
        c.get("image").and_then(Node::as_str),
        Some("evil.example.com/busybox:latest")
    );
    assert!(matches!(
        c.path(&["securityContext", "privileged"]).map(|n| &n.value),
        Some(Value::Bool(true))
    ));
    assert!(matches!(
        c.path(&["securityContext", "runAsUser"]).map(|n| &n.value),
        Some(Value::Int(0))
    ));
    let origin = p.origin.as_ref().unwrap();
    assert!(origin.root.contains("flux-system/apps"), "{}", origin.root);
    assert!(
        origin
            .changed_by
            .iter()
            .any(|f| f == "clusters/prod/apps.yaml"),
        "{:?}",
        origin.changed_by
    );
}

#[test]
fn flux_substitution_disabled_by_annotation_and_off_without_variables() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\nspec:\n  hostNetwork: ${net:=true}\n";
    let tree = MemTree::new().file("apps/pod.yaml", pod);
    let t = Tree::new(&tree);
    let ks = doc("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec:\n  path: apps\n  postBuild:\n    substitute: {x: y}\n");
    let r = flux_kustomization(&t, &ks, "ks.yaml", &Limits::default()).unwrap();
    clean(&r);
    assert_eq!(
        text(one(&r, "Pod"), &["spec", "hostNetwork"]),
        Some("${net:=true}")
    );
    // No variables at all: Flux leaves the text alone.
    let pod2 = pod.replace(
        "    kustomize.toolkit.fluxcd.io/substitute: disabled\n",
        "    a: b\n",
    );
    let tree = MemTree::new().file("apps/pod.yaml", &pod2);
    let t = Tree::new(&tree);
    let ks = doc("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec:\n  path: apps\n  postBuild: {}\n");
    let r = flux_kustomization(&t, &ks, "ks.yaml", &Limits::default()).unwrap();
    assert_eq!(
        text(one(&r, "Pod"), &["spec", "hostNetwork"]),
        Some("${net:=true}")
    );
    // substituteFrom: unknown values render as empty, so the default applies.
    let ks = doc("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec:\n  path: apps\n  postBuild:\n    substituteFrom:\n    - {kind: ConfigMap, name: vars}\n");
    let r = flux_kustomization(&t, &ks, "ks.yaml", &Limits::default()).unwrap();
    assert!(matches!(
        one(&r, "Pod")
            .root
            .path(&["spec", "hostNetwork"])
            .map(|n| &n.value),
        Some(Value::Bool(true))
    ));
}

#[test]
fn argo_kustomize_overrides_and_source_files() {
    let tree = MemTree::new()
        .file(
            "apps/web/kustomization.yaml",
            "resources: [deploy.yaml, pod.yaml]\n",
        )
        .file("apps/web/deploy.yaml", DEPLOY)
        .file("apps/web/pod.yaml", POD)
        .file(
            "apps/web/.argocd-source-web.yaml",
            "kustomize:\n  images: [\"busybox=evil.example.com/busybox:pwn\"]\n",
        );
    let app = doc("apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  destination: {namespace: prod}
  source:
    repoURL: https://git.example.com/repo.git
    path: apps/web
    kustomize:
      namePrefix: a-
      commonLabels: {team: web}
      replicas:
      - {name: api, count: \"3\"}
      images: [\"nginx:9\"]
");
    let t = Tree::new(&tree);
    let r = argo_application(&t, &app, "argo/web.yaml", &Limits::default()).unwrap();
    clean(&r);
    let d = one(&r, "Deployment");
    assert_eq!(d.identity.name, "a-api");
    assert_eq!(d.identity.namespace, "prod");
    assert_eq!(
        d.root.path(&["spec", "replicas"]).and_then(Node::as_int),
        Some(3)
    );
    assert_eq!(
        text(d, &["spec", "selector", "matchLabels", "team"]),
        Some("web")
    );
    // The override file replaced the Application's images list (JSON merge patch).
    let spec = ["spec", "template", "spec"];
    assert_eq!(
        container(d, &spec, "containers", 0)
            .get("image")
            .and_then(Node::as_str),
        Some("nginx:1.25")
    );
    let p = one(&r, "Pod");
    assert_eq!(
        container(p, &["spec"], "containers", 0)
            .get("image")
            .and_then(Node::as_str),
        Some("evil.example.com/busybox:pwn")
    );
    assert!(p
        .origin
        .as_ref()
        .unwrap()
        .changed_by
        .iter()
        .any(|f| f == "apps/web/.argocd-source-web.yaml"));
}

#[test]
fn argo_directory_helm_and_plugins() {
    let tree = MemTree::new()
        .file("plain/pod.yaml", POD)
        .file("plain/values.yaml", "replicaCount: 2\n")
        .file(
            "plain/skip.yaml",
            "# +argocd:skip-file-rendering\napiVersion: v1\nkind: Pod\nmetadata: {name: s}\n",
        )
        .file("plain/sub/deploy.yaml", DEPLOY)
        .file("chart/Chart.yaml", "name: c\n");
    let t = Tree::new(&tree);
    let app = doc("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: p}\nspec:\n  destination: {namespace: prod}\n  source: {path: plain, directory: {recurse: true, exclude: 'sub/*'}}\n");
    let r = argo_application(&t, &app, "app.yaml", &Limits::default()).unwrap();
    clean(&r);
    assert_eq!(names(&r), ["Pod prod/debug"]);
    let app = doc("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: c}\nspec:\n  sources:\n  - {path: chart}\n  - {chart: x, repoURL: https://charts.example.com}\n  - {path: plain, plugin: {name: x}}\n");
    let r = argo_application(&t, &app, "app.yaml", &Limits::default()).unwrap();
    assert!(r.objects.is_empty());
    assert_eq!(render_rules(&r), [RENDER_RULE, RENDER_RULE, RENDER_RULE]);
    assert!(r.problems[0].fix.contains("values are judged separately"));
}
