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
    let r =
        flux_kustomization(&t, &ks, "clusters/prod/apps.yaml", &Limits::default(), &[]).unwrap();
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
    let r = flux_kustomization(&t, &ks, "ks.yaml", &Limits::default(), &[]).unwrap();
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
    let r = flux_kustomization(&t, &ks, "ks.yaml", &Limits::default(), &[]).unwrap();
    assert_eq!(
        text(one(&r, "Pod"), &["spec", "hostNetwork"]),
        Some("${net:=true}")
    );
    // substituteFrom: unknown values render as empty, so the default applies; but the cluster
    // may set `net`, so a judged field that takes it is refused.
    let ks = doc("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec:\n  path: apps\n  postBuild:\n    substituteFrom:\n    - {kind: ConfigMap, name: vars}\n");
    let r = flux_kustomization(&t, &ks, "ks.yaml", &Limits::default(), &[]).unwrap();
    assert!(matches!(
        one(&r, "Pod")
            .root
            .path(&["spec", "hostNetwork"])
            .map(|n| &n.value),
        Some(Value::Bool(true))
    ));
    assert_eq!(render_rules(&r), [RENDER_RULE]);
    assert!(
        r.problems[0]
            .message
            .contains("`hostNetwork` takes `${net}`"),
        "{:?}",
        r.problems
    );
}

#[test]
fn values_only_the_cluster_sets_go_only_where_no_rule_judges() {
    let ks = |substitute: &str| {
        doc(&format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: a}}\nspec:\n  path: apps\n  postBuild:\n    substitute: {{{substitute}}}\n    substituteFrom:\n    - {{kind: ConfigMap, name: cluster-vars}}\n"))
    };
    let render = |pod: &str, substitute: &str| {
        let tree = MemTree::new().file("apps/pod.yaml", pod);
        let t = Tree::new(&tree);
        flux_kustomization(&t, &ks(substitute), "ks.yaml", &Limits::default(), &[]).unwrap()
    };
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {env: \"${cluster_env}\"}\nspec:\n  containers:\n  - name: c\n    image: registry.example.com/app:${tag:=1.0}\n";
    // Controls: a label, an image's tag, an environment value and a host name may come from
    // the cluster.
    clean(&render(pod, ""));
    clean(&render(
        &format!("{pod}    env:\n    - name: CLUSTER\n      value: ${{cluster_name}}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: i}}\nspec:\n  rules:\n  - host: app.${{domain}}\n"),
        "",
    ));
    for (field, attack) in [
        ("image", pod.replace("registry.example.com/app:${tag:=1.0}", "${registry:=registry.example.com}/app:1.0")),
        ("privileged", format!("{pod}    securityContext:\n      privileged: ${{debug:=false}}\n")),
        ("add", format!("{pod}    securityContext:\n      capabilities:\n        add:\n        - ${{cap:=CHOWN}}\n")),
        ("namespace", pod.replace("  name: p\n", "  name: p\n  namespace: ${tenant}\n")),
        ("key", pod.replace("  labels:", "  ${meta_key:=labels}:")),
        ("sysctls", format!("{pod}  securityContext:\n    sysctls:\n    - name: ${{sysctl:=net.ipv4.ping_group_range}}\n      value: \"0 1\"\n")),
        ("externalName", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: ExternalName\n  externalName: ${target:=db.internal}\n".to_string()),
        ("address", "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata: {name: p}\nspec:\n  type: generic\n  address: ${hook:=https://hooks.example.com/}\n".to_string()),
        ("branch", "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: g}\nspec:\n  url: https://git.example.com/fleet\n  ref:\n    branch: ${branch:=main}\n".to_string()),
    ] {
        let r = render(&attack, "");
        assert_eq!(render_rules(&r), [RENDER_RULE], "{field}: {:#?}", r.problems);
        assert!(r.problems[0].message.contains("only `substituteFrom`"), "{field}");
        // Set by the Kustomization itself, the value is known and judged as usual.
        let known = "registry: registry.example.com, debug: \"false\", cap: CHOWN, tenant: shop, meta_key: labels, sysctl: net.ipv4.ping_group_range, target: db.internal, hook: \"https://hooks.example.com/\", branch: main";
        clean(&render(&attack, known));
    }
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

fn privileged(o: &Object, spec: &[&str]) -> Option<bool> {
    container(o, spec, "containers", 0)
        .path(&["securityContext", "privileged"])
        .and_then(Node::as_bool)
}

#[test]
fn json6902_patch_in_its_own_file_makes_the_container_privileged() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "resources: [deploy.yaml]\npatches:\n- path: patches/escalate.json\n  target: {kind: Deployment, name: api}\n",
        )
        .file("app/deploy.yaml", DEPLOY)
        .file(
            "app/patches/escalate.json",
            r#"[{"op": "add", "path": "/spec/template/spec/containers/0/securityContext", "value": {"privileged": true}}]"#,
        );
    let r = build(&tree, "app");
    clean(&r);
    let d = one(&r, "Deployment");
    assert_eq!(privileged(d, &["spec", "template", "spec"]), Some(true));
    let origin = d.origin.as_ref().unwrap();
    assert_eq!(origin.changed_by, ["app/patches/escalate.json"]);
    assert_eq!(d.path, "app/deploy.yaml");
}

#[test]
fn legacy_patch_fields_from_files_and_inline() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "resources: [deploy.yaml, debug.pod]\n\
             patchesStrategicMerge: [smp.yaml]\n\
             patchesJson6902:\n- target: {version: v1, kind: Pod, name: debug}\n  path: pod-ops.yaml\n\
             patches:\n- patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: api}\n    spec:\n      template:\n        spec:\n          hostPID: true\n",
        )
        .file("app/deploy.yaml", DEPLOY)
        .file("app/debug.pod", POD)
        .file(
            "app/smp.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  template:\n    spec:\n      containers:\n      - name: main\n        securityContext: {privileged: true}\n",
        )
        .file(
            "app/pod-ops.yaml",
            "- op: add\n  path: /spec/hostNetwork\n  value: true\n",
        );
    let r = build(&tree, "app");
    clean(&r);
    let d = one(&r, "Deployment");
    assert_eq!(privileged(d, &["spec", "template", "spec"]), Some(true));
    assert_eq!(
        d.root
            .path(&["spec", "template", "spec", "hostPID"])
            .and_then(Node::as_bool),
        Some(true)
    );
    let changed = &d.origin.as_ref().unwrap().changed_by;
    assert_eq!(changed, &["app/smp.yaml", "app/kustomization.yaml"]);
    let p = one(&r, "Pod");
    assert_eq!(
        p.root
            .path(&["spec", "hostNetwork"])
            .and_then(Node::as_bool),
        Some(true)
    );
}

#[test]
fn patch_targets_select_by_labels_and_regex_and_reach_renamed_objects() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "namePrefix: x-\nresources: [base]\npatches:\n- target: {kind: Deployment, name: \"a.*\"}\n  patch: |\n    - {op: add, path: /metadata/labels, value: {hit: name}}\n- target: {labelSelector: app=web}\n  patch: |\n    - {op: add, path: /metadata/annotations, value: {hit: label}}\n",
        )
        .file("app/base/kustomization.yaml", "namePrefix: b-\nresources: [deploy.yaml, pod.yaml]\n")
        .file("app/base/deploy.yaml", DEPLOY)
        .file("app/base/pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {app: web}\n");
    let r = build(&tree, "app");
    clean(&r);
    // `a.*` matches the original name `api` (kustomize tries original and current names).
    let d = one(&r, "Deployment");
    assert_eq!(d.identity.name, "x-b-api");
    assert_eq!(text(d, &["metadata", "labels", "hit"]), Some("name"));
    assert_eq!(text(d, &["metadata", "annotations", "hit"]), None);
    assert_eq!(
        text(one(&r, "Pod"), &["metadata", "annotations", "hit"]),
        Some("label")
    );
}

#[test]
fn a_patch_that_matches_nothing_or_cannot_apply_is_a_problem() {
    let tree = MemTree::new()
        .file(
            "app/kustomization.yaml",
            "resources: [pod.yaml]\npatches:\n- patch: |\n    apiVersion: v1\n    kind: Pod\n    metadata: {name: other}\n- target: {kind: Pod}\n  patch: |\n    - {op: replace, path: /spec/nothing/here, value: 1}\n- patch: |\n    - {op: add, path: /x, value: 1}\n",
        )
        .file("app/pod.yaml", POD);
    let r = build(&tree, "app");
    assert_eq!(render_rules(&r), [RENDER_RULE, RENDER_RULE, RENDER_RULE]);
    let lines: Vec<u32> = r.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [3, 7, 10]);
}

#[test]
fn flux_spec_patches_apply_after_the_build() {
    let tree = MemTree::new()
        .file("apps/kustomization.yaml", "resources: [deploy.yaml]\n")
        .file("apps/deploy.yaml", DEPLOY);
    let ks = doc("apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  path: ./apps
  patches:
  - target: {kind: Deployment}
    patch: |
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: not-used}
      spec:
        template:
          spec:
            containers:
            - name: main
              securityContext:
                privileged: ${priv:=true}
  postBuild:
    substitute: {unused: x}
");
    let t = Tree::new(&tree);
    let r =
        flux_kustomization(&t, &ks, "clusters/prod/apps.yaml", &Limits::default(), &[]).unwrap();
    clean(&r);
    let d = one(&r, "Deployment");
    assert_eq!(d.identity.name, "api");
    assert_eq!(privileged(d, &["spec", "template", "spec"]), Some(true));
    assert_eq!(
        d.origin.as_ref().unwrap().changed_by,
        ["clusters/prod/apps.yaml"]
    );
}

#[test]
fn argo_patches_override() {
    let tree = MemTree::new()
        .file("apps/web/kustomization.yaml", "resources: [deploy.yaml]\n")
        .file("apps/web/deploy.yaml", DEPLOY);
    let app = doc("apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  destination: {namespace: kube-system}
  source:
    path: apps/web
    kustomize:
      namespace: kube-system
      patches:
      - target: {kind: Deployment, name: api}
        patch: |
          - {op: add, path: /spec/template/spec/hostNetwork, value: true}
");
    let t = Tree::new(&tree);
    let r = argo_application(&t, &app, "argo/web.yaml", &Limits::default()).unwrap();
    clean(&r);
    let d = one(&r, "Deployment");
    assert_eq!(d.identity.namespace, "kube-system");
    assert_eq!(
        d.root
            .path(&["spec", "template", "spec", "hostNetwork"])
            .and_then(Node::as_bool),
        Some(true)
    );
    assert_eq!(d.origin.as_ref().unwrap().changed_by, ["argo/web.yaml"]);
}

#[test]
fn generator_behavior_merge_and_replace_from_an_overlay() {
    let tree = MemTree::new()
        .file(
            "base/kustomization.yaml",
            "configMapGenerator:\n- {name: conf, literals: [a=1, b=2]}\nsecretGenerator:\n- {name: token, literals: [t=old]}\n",
        )
        .file(
            "overlay/kustomization.yaml",
            "resources: [../base]\nconfigMapGenerator:\n- {name: conf, behavior: merge, literals: [b=3, c=4]}\nsecretGenerator:\n- {name: token, behavior: replace, literals: [admin=yes]}\n",
        );
    let r = build(&tree, "overlay");
    clean(&r);
    let cm = one(&r, "ConfigMap");
    assert_eq!(text(cm, &["data", "a"]), Some("1"));
    assert_eq!(text(cm, &["data", "b"]), Some("3"));
    assert_eq!(text(cm, &["data", "c"]), Some("4"));
    let s = one(&r, "Secret");
    assert_eq!(text(s, &["data", "t"]), None);
    assert_eq!(text(s, &["data", "admin"]), Some("eWVz"));
    assert!(s
        .origin
        .as_ref()
        .unwrap()
        .changed_by
        .iter()
        .any(|f| f == "overlay/kustomization.yaml"));
}

#[test]
fn many_objects_patches_and_references_stay_cheap() {
    // 8000 pods in one file, each referring to a generated ConfigMap, 50 regex-targeted
    // patches, a prefix: must finish quickly and render everything.
    let mut pods = String::new();
    for i in 0..8000 {
        pods.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, labels: {{idx: \"{i}\"}}}}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    envFrom: [{{configMapRef: {{name: conf}}}}]\n"
        ));
    }
    let mut kust = String::from("namePrefix: x-\nresources: [pods.yaml]\nconfigMapGenerator:\n- {name: conf, literals: [a=b]}\npatches:\n");
    for i in 0..50 {
        kust.push_str(&format!(
            "- target: {{kind: Pod, name: \"p{i}.*\"}}\n  patch: |\n    - {{op: add, path: /metadata/annotations, value: {{p: \"{i}\"}}}}\n"
        ));
    }
    let tree = MemTree::new()
        .file("app/kustomization.yaml", &kust)
        .file("app/pods.yaml", &pods);
    let started = std::time::Instant::now();
    let r = build(&tree, "app");
    let took = started.elapsed();
    clean(&r);
    assert_eq!(find(&r, "Pod").len(), 8000);
    let cm = one(&r, "ConfigMap").identity.name.clone();
    let p = r
        .objects
        .iter()
        .find(|o| o.identity.name == "x-p7999")
        .unwrap();
    assert_eq!(
        container(p, &["spec"], "containers", 0)
            .path(&["envFrom"])
            .unwrap()
            .as_seq()[0]
            .path(&["configMapRef", "name"])
            .and_then(Node::as_str),
        Some(cm.as_str())
    );
    assert!(took.as_secs() < 60, "took {took:?}");
}

#[test]
fn flux_images_set_tag_and_digest_together_and_missing_components_are_skipped() {
    let tree = MemTree::new()
        .file(
            "apps/kustomization.yaml",
            "resources: [pod.yaml]\nimages:\n- {name: busybox, digest: \"sha256:1111\"}\n",
        )
        .file("apps/pod.yaml", POD)
        .file(
            "comp/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamespace: kube-system\n",
        );
    let ks = doc("apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps}
spec:
  path: apps
  images:
  - {name: busybox, newTag: \"9.9\"}
  components: [../comp, ../absent]
  ignoreMissingComponents: true
");
    let t = Tree::new(&tree);
    let r = flux_kustomization(&t, &ks, "ks.yaml", &Limits::default(), &[]).unwrap();
    clean(&r);
    let p = one(&r, "Pod");
    // The Kustomization's newTag clears the kustomization's digest, as Flux merges them.
    assert_eq!(
        container(p, &["spec"], "containers", 0)
            .get("image")
            .and_then(Node::as_str),
        Some("busybox:9.9")
    );
    assert_eq!(p.identity.namespace, "kube-system");
    // Without ignoreMissingComponents the missing one fails the build.
    let ks = doc("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps}\nspec:\n  path: apps\n  components: [../absent]\n");
    let r = flux_kustomization(&t, &ks, "ks.yaml", &Limits::default(), &[]).unwrap();
    assert_eq!(render_rules(&r), [RENDER_RULE]);
}

#[test]
fn flux_does_not_walk_symlinked_directories_and_reads_yml_kustomizations() {
    let tree = MemTree::new()
        .file("shared/pod.yaml", POD)
        .symlink("apps/linked", "../shared")
        .file(
            "apps/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        )
        .file(
            "other/kustomization.yml",
            "resources: [../shared/pod.yaml]\nnamespace: x\n",
        );
    let t = Tree::new(&tree);
    let r = flux_build(&t, "apps", &Limits::default()).unwrap();
    clean(&r);
    assert_eq!(names(&r), ["ConfigMap /c"]);
    let r = flux_build(&t, "other", &Limits::default()).unwrap();
    clean(&r);
    assert_eq!(names(&r), ["Pod x/debug"]);
}

#[test]
fn argo_app_specific_source_file_wins_over_the_generic_one() {
    let tree = MemTree::new()
        .file("apps/web/kustomization.yaml", "resources: [pod.yaml]\n")
        .file("apps/web/pod.yaml", POD)
        .file(
            "apps/web/.argocd-source.yaml",
            "kustomize:\n  namePrefix: generic-\n  namespace: kube-system\n",
        )
        .file(
            "apps/web/.argocd-source-web.yaml",
            "kustomize:\n  namePrefix: web-\n",
        );
    let app = doc("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: web}\nspec:\n  destination: {namespace: prod}\n  source: {path: apps/web}\n");
    let t = Tree::new(&tree);
    let r = argo_application(&t, &app, "app.yaml", &Limits::default()).unwrap();
    clean(&r);
    let p = one(&r, "Pod");
    assert_eq!(p.identity.name, "web-debug");
    assert_eq!(p.identity.namespace, "kube-system");
    let changed = &p.origin.as_ref().unwrap().changed_by;
    assert!(
        changed.contains(&"apps/web/.argocd-source.yaml".to_string()),
        "{changed:?}"
    );
    assert!(
        changed.contains(&"apps/web/.argocd-source-web.yaml".to_string()),
        "{changed:?}"
    );
}

#[test]
fn kustomization_fields_spelled_otherwise_still_apply() {
    // encoding/json matches field names case-insensitively: `NewName` is `newName`.
    let tree = MemTree::new()
        .file("app/kustomization.yaml", "Resources: [pod.yaml]\nImages:\n- Name: busybox\n  NewName: evil.example.com/busybox\n")
        .file("app/pod.yaml", POD);
    let r = build(&tree, "app");
    clean(&r);
    let p = one(&r, "Pod");
    assert_eq!(
        container(p, &["spec"], "containers", 0)
            .get("image")
            .and_then(Node::as_str),
        Some("evil.example.com/busybox:1.36")
    );
}

#[test]
fn deep_directories_are_a_limits_problem_not_a_silent_skip() {
    let mut tree = MemTree::new();
    let mut path = String::from("apps");
    for i in 0..60 {
        path.push_str(&format!("/d{i}"));
    }
    tree = tree.file(&format!("{path}/pod.yaml"), POD).file(
        "apps/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    let t = Tree::new(&tree);
    let r = flux_build(&t, "apps", &Limits::default()).unwrap();
    assert!(
        r.problems.iter().any(|p| p.rule == "manifest-limits"),
        "{:#?}",
        r.problems
    );
    let app = doc("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n  source: {path: apps, directory: {recurse: true}}\n");
    let r = argo_application(&t, &app, "app.yaml", &Limits::default()).unwrap();
    assert!(
        r.problems.iter().any(|p| p.rule == "manifest-limits"),
        "{:#?}",
        r.problems
    );
}

#[test]
fn an_overlay_that_moves_or_rewrites_a_base_object_is_named_as_its_changer() {
    let tree = MemTree::new()
        .file("base/kustomization.yaml", "resources: [pod.yaml]\n")
        .file("base/pod.yaml", POD)
        .file(
            "overlay/kustomization.yaml",
            "resources: [../base]\nnamespace: kube-system\nimages:\n- {name: busybox, newName: evil.example.com/busybox}\n",
        );
    let r = build(&tree, "overlay");
    clean(&r);
    let p = one(&r, "Pod");
    assert_eq!(p.path, "base/pod.yaml");
    assert_eq!(
        p.origin.as_ref().unwrap().changed_by,
        ["overlay/kustomization.yaml"]
    );
    assert!(
        p.label().contains("changed by overlay/kustomization.yaml"),
        "{}",
        p.label()
    );
    // A Flux targetNamespace names the Flux Kustomization, not the root's kustomization.
    let ks = doc("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: a}\nspec:\n  path: base\n  targetNamespace: kube-system\n");
    let t = Tree::new(&tree);
    let r = flux_kustomization(&t, &ks, "clusters/a.yaml", &Limits::default(), &[]).unwrap();
    clean(&r);
    assert_eq!(
        one(&r, "Pod").origin.as_ref().unwrap().changed_by,
        ["clusters/a.yaml"]
    );
}

#[test]
fn hostile_shapes_are_problems_never_panics() {
    let kusts = [
        "resources: {a: b}\n",
        "resources: [[x]]\npatches: x\nimages: 5\nreplicas: [1]\n",
        "configMapGenerator: [[]]\nsecretGenerator: [{name: s, literals: [5, \"=x\", novalue], files: [\"a=b=c\", \"=p\", \"k=\"], envs: [missing.env]}]\n",
        "labels: [{pairs: [1]}, 7]\nnamespace: []\ncommonLabels: []\ncomponents: {}\n",
        "patchesJson6902: [{target: 5, patch: 5}, {target: {kind: Pod}, patch: \"- {op: add}\"}]\npatchesStrategicMerge: [5, \"{kind: Pod\"]\n",
        "patches: [{patch: \"- op: add\\n  path: /a\\n---\\nkind: Pod\"}, {path: ../../../../etc/passwd}, {path: kustomization.yaml, target: {kind: \"(\"}}]\n",
        "kind: Component\nresources: [pod.yaml]\n",
        "kind: Weird\n",
        "- just\n- a list\n",
        "images: [{name: \"[\", newName: x}, {name: busybox, newTag: \"${x}\"}]\nreplicas: [{name: debug, count: -1}]\nresources: [pod.yaml]\n",
    ];
    for k in kusts {
        let tree = MemTree::new()
            .file("app/kustomization.yaml", k)
            .file("app/pod.yaml", POD);
        let r = build(&tree, "app");
        let _ = r.objects.len();
        if k.starts_with("kind: Component") {
            // A Component is a valid root (kustomize builds it on an empty resource map).
            assert_eq!(r.objects.len(), 1, "{:#?}", r.problems);
        } else if !k.starts_with("images") {
            assert!(!r.problems.is_empty(), "no problem for {k:?}");
        }
    }
    let specs = [
        "spec: 5\n",
        "spec: {path: [x], patches: 5, images: {a: b}, components: [5], postBuild: {substitute: [1]}, commonMetadata: {labels: [x]}}\n",
        "spec: {path: ../../x}\n",
        "spec: {path: app, postBuild: {substitute: {\"bad-name\": x}}}\n",
        "spec: {path: app, postBuild: {substitute: {a: b}}, patches: [{patch: \"kind: Pod\\nmetadata: {name: debug}\\nspec: {x: \\\"${a\\\"}\"}]}\n",
    ];
    let tree = MemTree::new().file("app/pod.yaml", POD);
    let t = Tree::new(&tree);
    for s in specs {
        let ks = doc(&format!("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: a}}\n{s}"));
        let _ = flux_kustomization(&t, &ks, "ks.yaml", &Limits::default(), &[]).unwrap();
        let app = doc(&format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: a}}\n{s}"
        ));
        let _ = argo_application(&t, &app, "app.yaml", &Limits::default()).unwrap();
    }
    let app = doc("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n  source: {path: app, kustomize: {images: [5, \"=\"], replicas: [{name: x, count: y}], commonLabels: [1], patches: 3, components: [[]]}, directory: {include: \"[\", exclude: \"{\"}}\n");
    let r = argo_application(&t, &app, "app.yaml", &Limits::default()).unwrap();
    let _ = r.objects.len();
}

#[test]
fn argo_image_overrides_replace_the_kustomization_entry_whole() {
    // `kustomize edit set image busybox:2` replaces the entry: its newName goes.
    let tree = MemTree::new()
        .file(
            "apps/web/kustomization.yaml",
            "resources: [pod.yaml]\nimages:\n- {name: busybox, newName: mirror.example.com/busybox, newTag: \"1\"}\n",
        )
        .file("apps/web/pod.yaml", POD);
    let t = Tree::new(&tree);
    let image_of = |images: &str| {
        let app = doc(&format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: web}}\nspec:\n  source:\n    path: apps/web\n    kustomize: {{images: [{images}]}}\n"));
        let r = argo_application(&t, &app, "app.yaml", &Limits::default()).unwrap();
        clean(&r);
        container(one(&r, "Pod"), &["spec"], "containers", 0)
            .get("image")
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    assert_eq!(image_of("\"busybox:2\"").as_deref(), Some("busybox:2"));
    assert_eq!(
        image_of("\"busybox=*:3\"").as_deref(),
        Some("mirror.example.com/busybox:3")
    );
}

const GENERATOR: &str = "apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: flux-system
  namespace: flux-system
spec:
  sources:
  - alias: monorepo
    kind: GitRepository
    name: flux-system
  - alias: chart
    kind: OCIRepository
    name: chart
  artifacts:
  - name: apps
    copy:
    - from: \"@monorepo/apps/base/**\"
      to: \"@artifact/base/\"
    - from: \"@monorepo/apps/production/**\"
      to: \"@artifact/production/\"
    - from: \"@monorepo/extra/\"
      to: \"@artifact/more/\"
    - from: \"@monorepo/one.yaml\"
      to: \"@artifact/single.yaml\"
";

const ARTIFACT_KS: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  path: ./production
  prune: true
  sourceRef:
    kind: ExternalArtifact
    name: apps
";

fn generators(text: &str) -> Vec<pushguard_manifest::render::Generator> {
    vec![pushguard_manifest::render::Generator {
        file: "clusters/prod/artifacts.yaml".into(),
        object: std::sync::Arc::new(doc(text)),
    }]
}

/// A Kustomization whose source is an `ExternalArtifact` is built inside the artifact its
/// `ArtifactGenerator` copies together (flux2-kustomize-helm-example's layout), read through the
/// repository: objects and the closure are at their repository paths.
#[test]
fn flux_kustomization_over_an_external_artifact() {
    let tree = MemTree::new()
        .file("apps/base/podinfo/deploy.yaml", DEPLOY)
        .file(
            "apps/base/podinfo/kustomization.yaml",
            "resources: [deploy.yaml]\n",
        )
        .file(
            "apps/production/kustomization.yaml",
            "namespace: prod\nresources: [../base/podinfo, ../more/extra/pod.yaml, ../single.yaml]\n",
        )
        .file("extra/pod.yaml", POD)
        .file("one.yaml", &POD.replace("debug", "renamed"))
        .file("production/kustomization.yaml", "resources: [wrong.yaml]\n")
        .file("clusters/prod/artifacts.yaml", GENERATOR);
    let t = Tree::new(&tree);
    let ks = doc(ARTIFACT_KS);
    let prod = |gens: &[pushguard_manifest::render::Generator]| {
        flux_kustomization(&t, &ks, "clusters/prod/apps.yaml", &Limits::default(), gens).unwrap()
    };
    let r = prod(&generators(GENERATOR));
    clean(&r);
    let mut got = names(&r);
    got.sort();
    assert_eq!(
        got,
        ["Deployment prod/api", "Pod prod/debug", "Pod prod/renamed"]
    );
    assert_eq!(one(&r, "Deployment").path, "apps/base/podinfo/deploy.yaml");
    let reads = t.take_reads();
    for p in [
        "apps/base/podinfo/deploy.yaml",
        "apps/production/kustomization.yaml",
        "extra/pod.yaml",
        "one.yaml",
        "clusters/prod/artifacts.yaml",
    ] {
        assert!(reads.contains(p), "{p} not in {reads:?}");
    }
    assert!(
        !reads.iter().any(|p| p.starts_with("production")),
        "{reads:?}"
    );

    // A directory named without a trailing slash is still copied as a subdirectory (what
    // source-watcher does after a stat); the same artifact comes out.
    let no_slash = GENERATOR.replace(
        "from: \"@monorepo/extra/\"\n      to: \"@artifact/more/\"",
        "from: \"@monorepo/extra\"\n      to: \"@artifact/more\"",
    );
    assert_ne!(no_slash, GENERATOR);
    let r = prod(&generators(&no_slash));
    clean(&r);
    assert_eq!(r.objects.len(), 3);

    // One generator per cluster directory, of one name: the one beside the Kustomization is
    // the one its cluster applies. Equally near ones are refused.
    let mut per_cluster = generators(GENERATOR);
    per_cluster.push(pushguard_manifest::render::Generator {
        file: "clusters/staging/artifacts.yaml".into(),
        object: std::sync::Arc::new(doc(&GENERATOR.replace("apps/production", "apps/staging"))),
    });
    let r = prod(&per_cluster);
    clean(&r);
    assert_eq!(r.objects.len(), 3);
    per_cluster[1].file = "clusters/prod/more-artifacts.yaml".into();
    let r = prod(&per_cluster);
    assert!(
        r.problems[0].message.contains("2 ArtifactGenerators"),
        "{:#?}",
        r.problems
    );

    // The same Kustomization over the repository's own `production/` reads another directory:
    // the control that the artifact, not the repository root, was built.
    let own = ARTIFACT_KS.replace("ExternalArtifact", "GitRepository");
    let r = flux_kustomization(
        &t,
        &doc(&own),
        "clusters/prod/apps.yaml",
        &Limits::default(),
        &[],
    )
    .unwrap();
    assert!(render_rules(&r).contains(&RENDER_RULE), "{:#?}", r.problems);
}

/// What the artifact view does not model is a finding at the Kustomization's `sourceRef`,
/// never a guess; an OCIRepository or Bucket source renders nothing from this repository.
#[test]
fn external_artifacts_pushguard_cannot_model_are_refused() {
    let tree = MemTree::new()
        .file("apps/production/kustomization.yaml", "resources: []\n")
        .file("clusters/prod/artifacts.yaml", GENERATOR);
    let t = Tree::new(&tree);
    let ks = doc(ARTIFACT_KS);
    let base_copy = "    - from: \"@monorepo/apps/base/**\"\n      to: \"@artifact/base/\"\n";
    for (what, generator) in [
        (
            "from an OCIRepository",
            GENERATOR.replace(
                base_copy,
                "    - from: \"@chart/**\"\n      to: \"@artifact/base/\"\n",
            ),
        ),
        (
            "overlapping copies",
            GENERATOR.replace("@artifact/base/", "@artifact/production/x/"),
        ),
        (
            "a glob",
            GENERATOR.replace("apps/base/**", "apps/base/*.yaml"),
        ),
        (
            "exclude",
            GENERATOR.replace(
                base_copy,
                &format!("{base_copy}      exclude: [\"*.md\"]\n"),
            ),
        ),
        (
            "a Merge strategy",
            GENERATOR.replace(base_copy, &format!("{base_copy}      strategy: Merge\n")),
        ),
        (
            "no generator for it",
            GENERATOR.replace("- name: apps", "- name: other"),
        ),
        (
            "another namespace",
            GENERATOR.replace("namespace: flux-system", "namespace: apps"),
        ),
        (
            "pathPattern",
            GENERATOR.replace(
                "spec:\n",
                "spec:\n  pathPattern: \"@monorepo/apps/{app}\"\n",
            ),
        ),
    ] {
        let r = flux_kustomization(
            &t,
            &ks,
            "k.yaml",
            &Limits::default(),
            &generators(&generator),
        )
        .unwrap();
        assert!(r.objects.is_empty(), "{what}");
        assert_eq!(render_rules(&r), [RENDER_RULE], "{what}: {:#?}", r.problems);
        assert!(
            r.problems[0].message.starts_with("spec.sourceRef: "),
            "{what}"
        );
    }
    // Two generators making the same artifact.
    let mut two = generators(GENERATOR);
    two.push(pushguard_manifest::render::Generator {
        file: "other.yaml".into(),
        object: two[0].object.clone(),
    });
    let r = flux_kustomization(&t, &ks, "k.yaml", &Limits::default(), &two).unwrap();
    assert!(
        r.problems[0].message.contains("2 ArtifactGenerators"),
        "{:#?}",
        r.problems
    );

    for kind in ["OCIRepository", "Bucket"] {
        let r = flux_kustomization(
            &t,
            &doc(&ARTIFACT_KS.replace("ExternalArtifact", kind)),
            "k.yaml",
            &Limits::default(),
            &[],
        )
        .unwrap();
        assert!(r.objects.is_empty() && r.problems.is_empty(), "{kind}");
        assert!(pushguard_manifest::render::deploys_from_outside(&doc(
            &ARTIFACT_KS.replace("ExternalArtifact", kind)
        )));
    }
    assert!(!pushguard_manifest::render::deploys_from_outside(&ks));
}

/// A Kustomization whose GitRepository is another repository (a tenant's) has its path
/// missing here: refused, and the finding says where pushguard looked and why.
#[test]
fn a_missing_path_of_a_git_source_says_where_it_was_read() {
    let tree = MemTree::new().file("apps/prod/kustomization.yaml", "resources: []\n");
    let t = Tree::new(&tree);
    let tenant = ARTIFACT_KS
        .replace("ExternalArtifact", "GitRepository")
        .replace("name: apps\n", "name: dev-team\n")
        .replace("./production", "./apps/staging");
    let r = flux_kustomization(
        &t,
        &doc(&tenant),
        "tenants/dev-team/sync.yaml",
        &Limits::default(),
        &[],
    )
    .unwrap();
    assert_eq!(render_rules(&r), [RENDER_RULE], "{:#?}", r.problems);
    let p = &r.problems[0];
    assert!(
        p.message
            .contains("`./apps/staging` does not exist in this repository")
            && p.message.contains("the GitRepository `dev-team`")
            && p.fix.contains("another repository or branch"),
        "{p:#?}"
    );
    assert_eq!((p.path.as_str(), p.line), ("tenants/dev-team/sync.yaml", 7));
    // Control: the path that exists renders.
    let own = tenant.replace("./apps/staging", "./apps/prod");
    let r = flux_kustomization(&t, &doc(&own), "k.yaml", &Limits::default(), &[]).unwrap();
    clean(&r);
}
