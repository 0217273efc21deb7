//! What the controllers apply, through real pushes: kustomize roots, Flux `Kustomization`s and
//! Argo CD `Application`s are rendered at the old and the new tip and judged object against
//! object. Each attack changes what the cluster gets without a dangerous-looking file (a patch
//! in its own file, an image rewrite, a generator, a resource of another extension, a namespace
//! set elsewhere, a pruned object, a base a protected root renders); each has a control push
//! that must land.

mod common;

use common::*;

const POLICY: &str = r#"version = 1
[host]
pusher_variable = "REMOTE_USER"

[[path]]
match = ["clusters/prod/**"]
refs = "refs/heads/main"
pushers = ["sre-anna"]

[[manifests]]
match = ["**/*.yaml", "**/*.yml", "**/*.json", "**/Kustomization"]
rules = ["privileged", "plaintext-secrets", "image-registries", "deny-delete", "protected-namespaces", "host-namespaces", "gitops-sources"]
source_urls = ["https://git.example.com/"]
image_registries = ["registry.example.com"]
deny_delete = ["Namespace"]
protected_namespaces = ["kube-system"]
"#;

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n";

/// `apps/base` (a Deployment) rendered by `clusters/prod` into namespace `shop`, with the
/// Namespace; pushed by the SRE.
fn fixture() -> Fixture {
    let f = Fixture::new(POLICY);
    write(&f, "apps/base/deploy.yaml", DEPLOY);
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(&f, "apps/other/note.yaml", "note: not rendered by prod\n");
    write(&f, "clusters/prod/namespace.yaml", NAMESPACE);
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\n",
    );
    f.git(&["add", "-A"]);
    f.git(&["commit", "-q", "-s", "-m", "layout"]);
    assert_accepted(&as_sre(&f));
    f
}

fn as_sre(f: &Fixture) -> Run {
    f.push_as(&[("REMOTE_USER", "sre-anna")], &["origin", "HEAD:main"])
}

fn as_dev(f: &Fixture) -> Run {
    f.push_as(&[("REMOTE_USER", "dev-bob")], &["origin", "HEAD:main"])
}

#[test]
fn a_json6902_patch_in_its_own_file_is_judged_on_the_object_it_patches() {
    let f = fixture();
    write(
        &f,
        "clusters/prod/debug.json6902",
        "- op: add\n  path: /spec/template/spec/containers/0/securityContext\n  value: {privileged: true}\n",
    );
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\npatches:\n- path: debug.json6902\n  target: {kind: Deployment, name: api}\n",
    );
    commit_all(&f, "debug the api");
    assert_rule(&as_sre(&f), "privileged", "Deployment shop/api");
    reset(&f);

    // Control: the same patch turning it off lands.
    write(
        &f,
        "clusters/prod/debug.json6902",
        "- op: add\n  path: /spec/template/spec/containers/0/securityContext\n  value: {privileged: false}\n",
    );
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\npatches:\n- path: debug.json6902\n  target: {kind: Deployment, name: api}\n",
    );
    commit_all(&f, "harden the api");
    assert_accepted(&as_sre(&f));
}

#[test]
fn an_images_rewrite_to_an_unlisted_registry_is_rejected() {
    let f = fixture();
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\nimages:\n- name: registry.example.com/api\n  newName: evil.example.net/api\n",
    );
    commit_all(&f, "mirror");
    assert_rule(&as_sre(&f), "image-registries", "evil.example.net/api");
    reset(&f);

    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\nimages:\n- name: registry.example.com/api\n  newTag: \"1.1\"\n",
    );
    commit_all(&f, "bump");
    assert_accepted(&as_sre(&f));
}

#[test]
fn a_secret_generator_with_literals_is_a_plaintext_secret() {
    let f = fixture();
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\nsecretGenerator:\n- name: db\n  literals:\n  - password=hunter2\n",
    );
    commit_all(&f, "db password");
    assert_rule(&as_sre(&f), "plaintext-secrets", "Secret shop/db-");
    reset(&f);

    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\nconfigMapGenerator:\n- name: settings\n  literals:\n  - mode=fast\n",
    );
    commit_all(&f, "settings");
    assert_accepted(&as_sre(&f));
}

#[test]
fn a_resource_of_any_extension_is_rendered() {
    let f = fixture();
    write(
        &f,
        "clusters/prod/debug.pod",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\nspec:\n  hostPID: true\n  containers:\n  - name: sh\n    image: registry.example.com/sh:1\n",
    );
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\n- debug.pod\n",
    );
    commit_all(&f, "debug pod");
    assert_rule(&as_sre(&f), "host-namespaces", "Pod shop/debug");
    reset(&f);

    write(
        &f,
        "clusters/prod/debug.pod",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\nspec:\n  containers:\n  - name: sh\n    image: registry.example.com/sh:1\n",
    );
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\n- debug.pod\n",
    );
    commit_all(&f, "plain debug pod");
    assert_accepted(&as_sre(&f));
}

#[test]
fn a_namespace_set_by_an_unchanged_kustomization_is_protected() {
    let f = Fixture::new(POLICY);
    write(
        &f,
        "system/kustomization.yaml",
        "namespace: kube-system\nresources:\n- cm.yaml\n",
    );
    write(
        &f,
        "system/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {a: b}\n",
    );
    commit_all(&f, "system, before pushguard judged namespaces");
    f.set_policy("version = 1\n");
    assert_accepted(&as_sre(&f));
    f.set_policy(POLICY);

    // Only the ConfigMap file changes; the kustomization that puts it in kube-system does not.
    write(
        &f,
        "system/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {a: c}\n",
    );
    commit_all(&f, "edit");
    assert_rule(
        &as_sre(&f),
        "protected-namespaces",
        "ConfigMap kube-system/x",
    );
    reset(&f);

    // Control: the same edit in a namespace nobody protects.
    write(
        &f,
        "system/kustomization.yaml",
        "namespace: tools\nresources:\n- cm.yaml\n",
    );
    f.set_policy("version = 1\n");
    commit_all(&f, "move to tools");
    assert_accepted(&as_sre(&f));
    f.set_policy(POLICY);
    write(
        &f,
        "system/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata: {a: d}\n",
    );
    commit_all(&f, "edit in tools");
    assert_accepted(&as_sre(&f));
}

#[test]
fn what_leaves_the_rendered_set_is_pruned_and_judged() {
    let f = fixture();
    // Dropping the Namespace from resources deletes it: the file stays.
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- ../../apps/base\n",
    );
    commit_all(&f, "tidy");
    assert_rule(&as_sre(&f), "deny-delete", "Namespace shop");
    reset(&f);

    // local-config: kustomize drops it from the output.
    write(
        &f,
        "clusters/prod/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n",
    );
    commit_all(&f, "local");
    assert_rule(&as_sre(&f), "deny-delete", "Namespace shop");
    reset(&f);

    // Control: a label on the Namespace keeps it.
    write(
        &f,
        "clusters/prod/namespace.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {team: shop}\n",
    );
    commit_all(&f, "label");
    assert_accepted(&as_sre(&f));
}

#[test]
fn a_base_a_protected_root_renders_is_protected() {
    let f = fixture();
    write(
        &f,
        "apps/base/deploy.yaml",
        &DEPLOY.replace("api:1.0", "api:1.1"),
    );
    commit_all(&f, "bump the base prod renders");
    let r = as_dev(&f);
    assert_rule(&r, "path.pushers", "apps/base/deploy.yaml");
    assert!(
        r.flat()
            .contains("the protected root clusters/prod/kustomization.yaml renders it"),
        "{r:?}"
    );
    reset(&f);

    // A new file in the base directory is read by a root that lists it only if named; a new
    // kustomization entry in the base is.
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n- extra.yaml\n",
    );
    write(
        &f,
        "apps/base/extra.yaml",
        NAMESPACE.replace("shop", "extra").as_str(),
    );
    commit_all(&f, "extra");
    assert_rule(&as_dev(&f), "path.pushers", "apps/base/kustomization.yaml");
    reset(&f);

    // Control: what no protected root renders stays the developers'.
    write(&f, "apps/other/note.yaml", "note: changed\n");
    commit_all(&f, "note");
    assert_accepted(&as_dev(&f));
}

#[test]
fn a_symlinked_manifest_is_read_through() {
    let f = fixture();
    write(
        &f,
        "shared/debug.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\nspec:\n  hostNetwork: true\n  containers:\n  - name: sh\n    image: registry.example.com/sh:1\n",
    );
    std::os::unix::fs::symlink(
        "../../shared/debug.yaml",
        f.work.join("clusters/prod/debug.yaml"),
    )
    .unwrap();
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\n- debug.yaml\n",
    );
    commit_all(&f, "debug through a link");
    assert_rule(&as_sre(&f), "host-namespaces", "Pod shop/debug");
    reset(&f);

    write(
        &f,
        "shared/debug.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: debug\nspec:\n  containers:\n  - name: sh\n    image: registry.example.com/sh:1\n",
    );
    std::os::unix::fs::symlink(
        "../../shared/debug.yaml",
        f.work.join("clusters/prod/debug.yaml"),
    )
    .unwrap();
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\n- debug.yaml\n",
    );
    commit_all(&f, "plain pod through a link");
    assert_accepted(&as_sre(&f));
}

const FLUX_KS: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/base
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
";

/// A Flux `Kustomization` with `spec.patches` that turn on `hostNetwork` for every Deployment
/// it applies.
fn with_host_network_patch(flux: &str) -> String {
    format!(
        "{flux}  patches:\n  - target: {{kind: Deployment}}\n    patch: |\n      - op: add\n        path: /spec/template/spec/hostNetwork\n        value: true\n"
    )
}

#[test]
fn a_flux_kustomization_is_rendered_with_its_patches_and_substitutions() {
    let f = Fixture::new(POLICY);
    write(&f, "apps/base/deploy.yaml", DEPLOY);
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(&f, "clusters/dev/apps.yaml", FLUX_KS);
    commit_all(&f, "flux");
    assert_accepted(&as_sre(&f));

    // spec.patches in the Flux object.
    write(
        &f,
        "clusters/dev/apps.yaml",
        &with_host_network_patch(FLUX_KS),
    );
    commit_all(&f, "flux patch");
    assert_rule(&as_sre(&f), "host-namespaces", "Deployment");
    reset(&f);

    // A postBuild default turned on in the base, with no variable set.
    write(
        &f,
        "apps/base/deploy.yaml",
        &DEPLOY.replace(
            "        image: registry.example.com/api:1.0\n",
            "        image: registry.example.com/api:1.0\n        securityContext:\n          privileged: ${debug:=true}\n",
        ),
    );
    write(
        &f,
        "clusters/dev/apps.yaml",
        &format!("{FLUX_KS}  postBuild:\n    substitute:\n      tier: dev\n"),
    );
    commit_all(&f, "substitution");
    assert_rule(&as_sre(&f), "privileged", "Deployment");
    reset(&f);

    // Control: a substitution that turns it off.
    write(
        &f,
        "apps/base/deploy.yaml",
        &DEPLOY.replace(
            "        image: registry.example.com/api:1.0\n",
            "        image: registry.example.com/api:1.0\n        securityContext:\n          privileged: ${debug:=false}\n",
        ),
    );
    write(
        &f,
        "clusters/dev/apps.yaml",
        &format!("{FLUX_KS}  postBuild:\n    substitute:\n      tier: dev\n"),
    );
    commit_all(&f, "substitution off");
    assert_accepted(&as_sre(&f));
}

/// A controller object whose API group is spelled with escapes (YAML `\x2e`, `\u002e`, an
/// escaped line break; JSON `\u002e`) is the same object to the API server: it is found and
/// rendered like the plain spelling.
#[test]
fn a_controller_spelled_with_escapes_is_still_rendered() {
    let patched = with_host_network_patch(FLUX_KS);
    let spellings = [
        (
            "clusters/dev/apps.yaml",
            patched.replace(
                "apiVersion: kustomize.toolkit.fluxcd.io/v1",
                "apiVersion: \"kustomize.toolkit.fluxcd\\x2eio/v1\"",
            ),
        ),
        (
            "clusters/dev/apps.yaml",
            patched.replace(
                "apiVersion: kustomize.toolkit.fluxcd.io/v1",
                "apiVersion: \"kustomize.toolkit.\\\n  fluxcd.io/v1\"",
            ),
        ),
        (
            "clusters/dev/apps.json",
            r#"{"apiVersion": "kustomize.toolkit.fluxcd\u002eio/v1", "kind": "Kustomization",
 "metadata": {"name": "apps", "namespace": "flux-system"},
 "spec": {"interval": "10m", "path": "./apps/base", "prune": true,
  "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
  "patches": [{"target": {"kind": "Deployment"},
   "patch": "- op: add\n  path: /spec/template/spec/hostNetwork\n  value: true\n"}]}}
"#
            .to_string(),
        ),
    ];
    for (path, text) in spellings {
        let f = Fixture::new(POLICY);
        write(&f, "apps/base/deploy.yaml", DEPLOY);
        write(
            &f,
            "apps/base/kustomization.yaml",
            "resources:\n- deploy.yaml\n",
        );
        commit_all(&f, "base");
        assert_accepted(&as_sre(&f));
        // Control: the same object without the patch lands.
        let plain = text
            .split("  patches:")
            .next()
            .unwrap_or_default()
            .to_string();
        if path.ends_with(".yaml") {
            write(&f, path, &plain);
            commit_all(&f, "flux, escaped");
            assert_accepted(&as_sre(&f));
        }
        write(&f, path, &text);
        commit_all(&f, "flux patch, escaped");
        assert_rule(&as_sre(&f), "host-namespaces", "Deployment");
    }
}

const ARGO_APP: &str = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: api
  namespace: argocd
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: shop
  source:
    repoURL: https://git.example.com/ops/fleet
    path: apps/base
    targetRevision: main
";

#[test]
fn an_argo_cd_application_is_rendered_with_its_overrides() {
    let f = Fixture::new(POLICY);
    write(&f, "apps/base/deploy.yaml", DEPLOY);
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(&f, "argocd/api.yaml", ARGO_APP);
    commit_all(&f, "argo");
    assert_accepted(&as_sre(&f));

    write(
        &f,
        "argocd/api.yaml",
        &format!("{ARGO_APP}    kustomize:\n      images:\n      - registry.example.com/api=evil.example.net/api:1\n"),
    );
    commit_all(&f, "argo image override");
    assert_rule(&as_sre(&f), "image-registries", "evil.example.net/api");
    reset(&f);

    write(
        &f,
        "argocd/api.yaml",
        &format!("{ARGO_APP}    kustomize:\n      images:\n      - registry.example.com/api=registry.example.com/api:2\n"),
    );
    commit_all(&f, "argo image bump");
    assert_accepted(&as_sre(&f));
}

#[test]
fn ci_files_and_chart_templates_are_not_manifests() {
    let f = fixture();
    let workflow = "name: ci\non:\n  push: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n    - run: make\n";
    write(&f, ".github/workflows/ci.yml", workflow);
    write(
        &f,
        "charts/api/templates/deployment.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
    );
    write(
        &f,
        "charts/api/Chart.yaml",
        "apiVersion: v2\nname: api\nversion: 1.0.0\n",
    );
    commit_all(&f, "ci and chart");
    assert_accepted(&as_sre(&f));

    // Control: the same unreadable YAML where manifests live is refused.
    write(&f, "clusters/prod/ci.yml", workflow);
    commit_all(&f, "misplaced");
    assert_rule(&as_sre(&f), "manifest-parse", "clusters/prod/ci.yml");
}

/// Adds a gitlink at `path` (to `id`, a commit of another repository) with its .gitmodules entry.
fn add_submodule(f: &Fixture, path: &str, url: &str) {
    let id = "1111111111111111111111111111111111111111";
    f.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{id},{path}"),
    ]);
    f.git(&[
        "config",
        "-f",
        ".gitmodules",
        &format!("submodule.{path}.path"),
        path,
    ]);
    f.git(&[
        "config",
        "-f",
        ".gitmodules",
        &format!("submodule.{path}.url"),
        url,
    ]);
    f.git(&["add", ".gitmodules"]);
    f.git(&["commit", "-q", "-s", "-m", &format!("submodule {path}")]);
}

#[test]
fn submodules_are_sources_and_protected_paths() {
    let f = fixture();
    // A gitlink where manifests live: its content is never judged.
    add_submodule(&f, "apps/vendor", "https://git.example.com/ops/vendor");
    assert_rule(&as_dev(&f), "manifest-submodule", "apps/vendor");
    reset(&f);

    // Allowed by the block, its URL is still a source like any other.
    let mut policy = POLICY.replace("rules = [", "allow_submodules = true\nrules = [");
    policy.push('\n');
    f.set_policy(&policy);
    add_submodule(&f, "tools/lib", "https://evil.example.net/lib");
    assert_rule(&as_dev(&f), "gitops-sources", "evil.example.net/lib");
    reset(&f);

    // Control: an allowed submodule from an allowed host.
    add_submodule(&f, "tools/lib", "https://git.example.com/ops/lib");
    assert_accepted(&as_dev(&f));

    // A protected submodule: only prod's pushers may re-point it.
    add_submodule(
        &f,
        "clusters/prod/lib",
        "https://git.example.com/ops/prod-lib",
    );
    assert_accepted(&as_sre(&f));
    f.git(&[
        "config",
        "-f",
        ".gitmodules",
        "submodule.clusters/prod/lib.url",
        "https://git.example.com/ops/other",
    ]);
    commit_all(&f, "re-point prod's lib");
    let r = as_dev(&f);
    assert_rule(&r, "path.pushers", ".gitmodules");
    assert!(
        r.flat().contains("protected submodule clusters/prod/lib"),
        "{r:?}"
    );
    assert_accepted(&as_sre(&f));
}

/// Every fact file of the discovery store (`$GIT_DIR/pushguard/cache`).
fn fact_files(f: &Fixture) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![f.bare.join("pushguard/cache")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "swept") {
                out.push(p);
            }
        }
    }
    out
}

/// Which files define roots is kept between pushes, by tree id, in the repository. Those facts
/// are computed from content, so they can only ever be true: a refused push's facts stay and
/// say what its trees hold, a damaged or missing store is a miss, and a store that cannot be
/// written changes nothing but speed. Each push below would land if the store hid a root.
#[test]
fn the_facts_kept_between_pushes_never_hide_a_root() {
    let f = fixture();
    assert!(!fact_files(&f).is_empty(), "the first push keeps its facts");
    let patched = with_host_network_patch(&FLUX_KS.replace("./apps/base", "./apps/team"));
    write(
        &f,
        "apps/team/deploy.yaml",
        &DEPLOY.replace("name: api", "name: other"),
    );
    commit_all(&f, "other app");
    assert_accepted(&as_dev(&f));

    // A Flux Kustomization added beside files whose facts are kept.
    write(&f, "clusters/dev/team.yaml", &patched);
    commit_all(&f, "flux with a patch");
    assert_rule(&as_dev(&f), "host-namespaces", "Deployment");
    // The same trees again, in another commit: the refused push's facts say what they hold.
    f.git(&["commit", "-q", "--amend", "-m", "again"]);
    assert_rule(&as_dev(&f), "host-namespaces", "Deployment");

    // Every fact damaged (cut short, or emptied): the same decision.
    for (i, p) in fact_files(&f).iter().enumerate() {
        let bytes = std::fs::read(p).unwrap();
        let keep = if i % 2 == 0 { 0 } else { bytes.len() / 2 };
        std::fs::write(p, &bytes[..keep]).unwrap();
    }
    assert_rule(&as_dev(&f), "host-namespaces", "Deployment");

    // A store that cannot be written or read (a file where its directory goes): the same.
    std::fs::remove_dir_all(f.bare.join("pushguard")).unwrap();
    std::fs::write(f.bare.join("pushguard"), b"not a directory").unwrap();
    assert_rule(&as_dev(&f), "host-namespaces", "Deployment");
    std::fs::remove_file(f.bare.join("pushguard")).unwrap();

    // Turned off for troubleshooting: the same.
    let off = f.push_as(
        &[("REMOTE_USER", "dev-bob"), ("PUSHGUARD_NO_CACHE", "1")],
        &["origin", "HEAD:main"],
    );
    assert_rule(&off, "host-namespaces", "Deployment");
    assert!(fact_files(&f).is_empty(), "nothing kept when turned off");

    // Control: the Flux Kustomization without the patch lands, and its facts are kept.
    write(
        &f,
        "clusters/dev/team.yaml",
        &FLUX_KS.replace("./apps/base", "./apps/team"),
    );
    commit_all(&f, "flux without a patch");
    assert_accepted(&as_dev(&f));
    assert!(!fact_files(&f).is_empty());
    // With the store warm, a patch added later to that file is refused.
    write(&f, "clusters/dev/team.yaml", &patched);
    commit_all(&f, "patch later");
    assert_rule(&as_dev(&f), "host-namespaces", "Deployment");
}

/// What a root rendered is kept between pushes with what each path it read held; a later push
/// uses it only where the tree still holds the same at every one of those paths. Here the
/// protected root's own file never changes, but a base it renders starts rendering one more
/// directory: that directory is protected from then on.
#[test]
fn a_kept_closure_follows_what_the_root_renders_now() {
    let f = fixture();
    write(
        &f,
        "apps/extra/deploy.yaml",
        &DEPLOY.replace("name: api", "name: extra"),
    );
    write(
        &f,
        "apps/extra/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n- ../extra\n",
    );
    commit_all(&f, "base renders extra");
    assert_accepted(&as_sre(&f));

    write(
        &f,
        "apps/extra/deploy.yaml",
        &DEPLOY
            .replace("name: api", "name: extra")
            .replace("api:1.0", "api:2.0"),
    );
    commit_all(&f, "edit extra");
    let r = as_dev(&f);
    assert_rule(&r, "path.pushers", "apps/extra/deploy.yaml");
    assert!(r.out.contains("clusters/prod/kustomization.yaml"), "{r:?}");
    reset(&f);

    // Control: a file no protected root renders.
    write(
        &f,
        "apps/other/note.yaml",
        "note: still not rendered by prod\n",
    );
    commit_all(&f, "note");
    assert_accepted(&as_dev(&f));
}

/// A Flux `Kustomization` is a root where the cluster gets it: in what another root renders,
/// not only in a file pushguard can find. Two ways to hide one: a file of another extension
/// that a kustomization lists (`resources: [flux.txt]`), and a kustomize patch on the
/// Kustomization object that adds `spec.patches` the file does not have. Either way the
/// controller applies the patched object and then builds `apps/base` with the patch.
#[test]
fn a_controller_object_a_root_renders_is_rendered_as_the_cluster_gets_it() {
    let patched = with_host_network_patch(FLUX_KS);
    let base = |f: &Fixture| {
        write(f, "apps/base/deploy.yaml", DEPLOY);
        write(
            f,
            "apps/base/kustomization.yaml",
            "resources:\n- deploy.yaml\n",
        );
    };

    // 1. Listed under another extension.
    let f = Fixture::new(POLICY);
    base(&f);
    write(&f, "clusters/dev/flux.txt", FLUX_KS);
    write(
        &f,
        "clusters/dev/kustomization.yaml",
        "resources:\n- flux.txt\n",
    );
    commit_all(&f, "flux under .txt");
    assert_accepted(&as_sre(&f));
    write(&f, "clusters/dev/flux.txt", &patched);
    commit_all(&f, "patch under .txt");
    assert_rule(&as_dev(&f), "host-namespaces", "Deployment");

    // 2. Patched by the kustomization that applies it.
    let f = Fixture::new(POLICY);
    base(&f);
    write(&f, "clusters/dev/apps.yaml", FLUX_KS);
    write(
        &f,
        "clusters/dev/kustomization.yaml",
        "resources:\n- apps.yaml\n",
    );
    commit_all(&f, "flux");
    assert_accepted(&as_sre(&f));
    write(
        &f,
        "clusters/dev/kustomization.yaml",
        "resources:\n- apps.yaml\npatches:\n- target: {kind: Kustomization}\n  patch: |\n    - op: add\n      path: /spec/patches\n      value:\n      - target: {kind: Deployment}\n        patch: |\n          - op: add\n            path: /spec/template/spec/hostNetwork\n            value: true\n",
    );
    commit_all(&f, "patch the Flux object");
    assert_rule(&as_dev(&f), "host-namespaces", "Deployment");

    // Control: a kustomize patch on the Flux object that changes nothing dangerous lands.
    reset(&f);
    write(
        &f,
        "clusters/dev/kustomization.yaml",
        "resources:\n- apps.yaml\npatches:\n- target: {kind: Kustomization}\n  patch: |\n    - op: replace\n      path: /spec/interval\n      value: 5m\n",
    );
    commit_all(&f, "interval");
    assert_accepted(&as_dev(&f));

    // 3. What such an object deploys is protected like the root that applies it.
    let f = fixture();
    write(
        &f,
        "apps/team/deploy.yaml",
        &DEPLOY.replace("name: api", "name: team"),
    );
    write(
        &f,
        "clusters/prod/flux.txt",
        &FLUX_KS.replace("./apps/base", "./apps/team"),
    );
    write(
        &f,
        "clusters/prod/kustomization.yaml",
        "namespace: shop\nresources:\n- namespace.yaml\n- ../../apps/base\n- flux.txt\n",
    );
    commit_all(&f, "prod applies team through flux.txt");
    assert_accepted(&as_sre(&f));
    write(
        &f,
        "apps/team/deploy.yaml",
        &DEPLOY
            .replace("name: api", "name: team")
            .replace("api:1.0", "api:2.0"),
    );
    commit_all(&f, "edit team");
    assert_rule(&as_dev(&f), "path.pushers", "apps/team/deploy.yaml");
    reset(&f);
    write(
        &f,
        "apps/other/note.yaml",
        "note: not rendered by prod\nagain: true\n",
    );
    commit_all(&f, "control");
    assert_accepted(&as_dev(&f));

    // 4. The object re-pointed by the SRE, the file that lists it unchanged: what it deploys
    // now is protected, not what it deployed before.
    write(
        &f,
        "apps/next/deploy.yaml",
        &DEPLOY.replace("name: api", "name: next"),
    );
    write(
        &f,
        "clusters/prod/flux.txt",
        &FLUX_KS.replace("./apps/base", "./apps/next"),
    );
    commit_all(&f, "prod applies next instead of team");
    assert_accepted(&as_sre(&f));
    write(
        &f,
        "apps/next/deploy.yaml",
        &DEPLOY
            .replace("name: api", "name: next")
            .replace("api:1.0", "api:2.0"),
    );
    commit_all(&f, "edit next");
    assert_rule(&as_dev(&f), "path.pushers", "apps/next/deploy.yaml");
    reset(&f);
    // Control: what it no longer deploys is no longer protected through it.
    write(
        &f,
        "apps/team/deploy.yaml",
        &DEPLOY
            .replace("name: api", "name: team")
            .replace("api:1.0", "api:3.0"),
    );
    commit_all(&f, "edit team");
    assert_accepted(&as_dev(&f));
}

const ARTIFACTS: &str = "apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: flux-system
  namespace: flux-system
spec:
  sources:
  - alias: monorepo
    kind: GitRepository
    name: flux-system
  artifacts:
  - name: apps
    originRevision: \"@monorepo\"
    copy:
    - from: \"@monorepo/apps/base/**\"
      to: \"@artifact/base/\"
    - from: \"@monorepo/apps/production/**\"
      to: \"@artifact/production/\"
";

const ARTIFACT_KS: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 1h
  path: ./production
  prune: true
  sourceRef:
    kind: ExternalArtifact
    name: apps
";

/// fluxcd/flux2-kustomize-helm-example's layout (Flux 2.7): an `ArtifactGenerator` copies
/// `apps/base` and `apps/production` into the artifact `apps`, and prod's Kustomization builds
/// `./production` inside it. What it deploys is rendered from the copied paths, judged there,
/// and protected by prod's path rule.
#[test]
fn a_kustomization_over_an_external_artifact_renders_and_protects_what_it_copies() {
    let f = Fixture::new(POLICY);
    write(&f, "apps/base/podinfo/deploy.yaml", DEPLOY);
    write(
        &f,
        "apps/base/podinfo/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(
        &f,
        "apps/production/kustomization.yaml",
        "namespace: shop\nresources:\n- ../base/podinfo\n",
    );
    write(&f, "apps/other/note.yaml", "note: not copied\n");
    write(&f, "clusters/prod/artifacts.yaml", ARTIFACTS);
    write(&f, "clusters/prod/apps.yaml", ARTIFACT_KS);
    commit_all(&f, "flux 2.7 layout");
    // Rendered from this repository's root, `./production` does not exist: this lands only
    // because the artifact is built.
    assert_accepted(&as_sre(&f));

    // The Kustomization's own patches apply to the artifact's objects.
    write(
        &f,
        "clusters/prod/apps.yaml",
        &with_host_network_patch(ARTIFACT_KS),
    );
    commit_all(&f, "patch the artifact");
    let r = as_sre(&f);
    assert_rule(&r, "host-namespaces", "Deployment shop/api");
    assert!(r.out.contains("apps/base/podinfo/deploy.yaml"), "{r:?}");
    reset(&f);

    // A namespace set in the copied overlay: the rendered objects land in kube-system.
    write(
        &f,
        "apps/production/kustomization.yaml",
        "namespace: kube-system\nresources:\n- ../base/podinfo\n",
    );
    commit_all(&f, "move to kube-system");
    assert_rule(&as_sre(&f), "protected-namespaces", "kube-system");
    reset(&f);

    // What prod's root copies and renders is protected by prod's rule.
    write(
        &f,
        "apps/base/podinfo/deploy.yaml",
        &DEPLOY.replace("api:1.0", "api:1.1"),
    );
    commit_all(&f, "bump what prod deploys");
    let r = as_dev(&f);
    assert_rule(&r, "path.pushers", "apps/base/podinfo/deploy.yaml");
    assert!(
        r.flat()
            .contains("the protected root clusters/prod/apps.yaml renders it"),
        "{r:?}"
    );
    reset(&f);

    // Re-pointing the generator's copy at another directory changes what prod deploys: the
    // generator is prod's.
    write(
        &f,
        "clusters/prod/artifacts.yaml",
        &ARTIFACTS.replace("apps/production/**", "apps/other/**"),
    );
    commit_all(&f, "re-point the artifact");
    assert_rejected(&as_dev(&f));
    reset(&f);

    // Another directory's generator of the same name (another cluster's, or one an unprotected
    // root applies under that name) can decide what prod gets: it is prod's too. Named apart,
    // it is not.
    let other = ARTIFACTS.replace("apps/production/**", "apps/other/**");
    write(&f, "clusters/staging/artifacts.yaml", &other);
    commit_all(&f, "a same-named generator elsewhere");
    assert_rule(
        &as_dev(&f),
        "path.pushers",
        "clusters/staging/artifacts.yaml",
    );
    reset(&f);
    write(
        &f,
        "clusters/staging/artifacts.yaml",
        &other.replace("- name: apps", "- name: apps-staging"),
    );
    commit_all(&f, "staging's own artifact");
    assert_accepted(&as_dev(&f));

    // Controls: what the artifact does not copy stays the developers'; the SRE's bump lands.
    write(&f, "apps/other/note.yaml", "note: changed\n");
    commit_all(&f, "note");
    assert_accepted(&as_dev(&f));
    write(
        &f,
        "apps/base/podinfo/deploy.yaml",
        &DEPLOY.replace("api:1.0", "api:1.1"),
    );
    commit_all(&f, "bump");
    assert_accepted(&as_sre(&f));
}

/// A Kustomization whose source is an `OCIRepository` deploys what that artifact holds, which
/// is not in this repository: nothing is rendered from this tree (so files no controller applies,
/// such as a CI workflow, are not refused as its manifests), and its own patches and images are
/// judged on their own.
#[test]
fn a_kustomization_over_an_oci_repository_judges_its_own_overlay() {
    let f = Fixture::new(POLICY);
    write(
        &f,
        ".github/workflows/ci.yaml",
        "on: [push]\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n    - run: \"true\"\n",
    );
    let oci = ARTIFACT_KS
        .replace("ExternalArtifact", "OCIRepository")
        .replace("./production", "./");
    write(&f, "clusters/prod/infra.yaml", &oci);
    commit_all(&f, "oci source");
    assert_accepted(&as_sre(&f));

    write(
        &f,
        "clusters/prod/infra.yaml",
        &with_host_network_patch(&oci),
    );
    commit_all(&f, "patch what the artifact holds");
    assert_rule(
        &as_sre(&f),
        "host-namespaces",
        "whose source is an OCIRepository or Bucket",
    );
    reset(&f);

    write(
        &f,
        "clusters/prod/infra.yaml",
        &format!("{oci}  images:\n  - name: api\n    newName: evil.example.net/api\n"),
    );
    commit_all(&f, "rewrite the artifact's images");
    assert_rule(&as_sre(&f), "image-registries", "evil.example.net/api");
    reset(&f);

    // Control: an image from the listed registry lands.
    write(
        &f,
        "clusters/prod/infra.yaml",
        &format!("{oci}  images:\n  - name: api\n    newName: registry.example.com/api\n"),
    );
    commit_all(&f, "pin the artifact's images");
    assert_accepted(&as_sre(&f));

    // Switching a Kustomization that renders a Namespace from this repository over to an
    // OCIRepository: what the artifact holds is not known, so the Namespace leaves the set
    // pushguard can see, and Flux prunes it unless the artifact happens to hold it.
    write(&f, "apps/base/ns.yaml", NAMESPACE);
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- ns.yaml\n",
    );
    write(&f, "clusters/dev/apps.yaml", FLUX_KS);
    commit_all(&f, "a Namespace from this repository");
    assert_accepted(&as_sre(&f));
    write(
        &f,
        "clusters/dev/apps.yaml",
        &FLUX_KS.replace("GitRepository", "OCIRepository"),
    );
    commit_all(&f, "deploy it from OCI instead");
    assert_rule(&as_sre(&f), "deny-delete", "Namespace shop");
}

/// Flux's usual layout has one `Kustomization` of the same name per cluster directory
/// (`clusters/staging/apps.yaml` and `clusters/production/apps.yaml` are both
/// `flux-system/apps`, each applied to its own cluster). Each is a root of its own: a patch in
/// either is judged.
#[test]
fn same_named_kustomizations_of_two_clusters_are_both_judged() {
    let f = Fixture::new(POLICY);
    write(&f, "apps/base/deploy.yaml", DEPLOY);
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(&f, "clusters/aaa/apps.yaml", FLUX_KS);
    write(&f, "clusters/zzz/apps.yaml", FLUX_KS);
    commit_all(&f, "two clusters");
    assert_accepted(&as_sre(&f));
    for cluster in ["aaa", "zzz"] {
        write(
            &f,
            &format!("clusters/{cluster}/apps.yaml"),
            &with_host_network_patch(FLUX_KS),
        );
        commit_all(&f, "patch one cluster");
        let r = as_sre(&f);
        assert_rule(&r, "host-namespaces", "Deployment");
        assert!(
            r.out.contains(&format!("clusters/{cluster}/apps.yaml")),
            "{r:?}"
        );
        reset(&f);
    }
    // Control: a harmless change to one of them lands.
    write(
        &f,
        "clusters/zzz/apps.yaml",
        &FLUX_KS.replace("interval: 10m", "interval: 5m"),
    );
    commit_all(&f, "slower");
    assert_accepted(&as_sre(&f));

    // Both render a Namespace (deny-delete). Removing one cluster's Kustomization prunes it
    // there; moving the file keeps the same object, so nothing is pruned.
    write(&f, "apps/base/ns.yaml", NAMESPACE);
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n- ns.yaml\n",
    );
    commit_all(&f, "namespace");
    assert_accepted(&as_sre(&f));
    f.git(&["rm", "-q", "clusters/zzz/apps.yaml"]);
    commit_all(&f, "drop zzz's apps");
    assert_rule(&as_sre(&f), "deny-delete", "Namespace shop");
    reset(&f);
    f.git(&["mv", "clusters/zzz/apps.yaml", "clusters/zzz/moved.yaml"]);
    commit_all(&f, "move zzz's apps");
    assert_accepted(&as_sre(&f));
}

/// Flux's own layout: `clusters/prod/flux-system` syncs `./clusters/prod`, whose `apps.yaml`
/// deploys `apps/base` (a Deployment and the Namespace `shop`), pruning what leaves.
fn flux_prod() -> Fixture {
    let f = Fixture::new(POLICY);
    write(&f, "apps/base/deploy.yaml", DEPLOY);
    write(&f, "apps/base/ns.yaml", NAMESPACE);
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- ns.yaml\n- deploy.yaml\n",
    );
    write(
        &f,
        "clusters/prod/flux-system/gotk-sync.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: https://git.example.com/fleet\n  ref: {branch: main}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./clusters/prod\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system}\n",
    );
    write(&f, "clusters/prod/apps.yaml", FLUX_KS);
    write(&f, "docs/readme.md", "fleet\n");
    commit_all(&f, "flux layout");
    assert_accepted(&as_sre(&f));
    f
}

#[test]
fn what_a_sourceignore_leaves_out_of_the_artifact_is_pruned() {
    let f = flux_prod();
    // The attack: a `.sourceignore` outside every protected path hides prod's `apps.yaml` from
    // the artifact; Flux prunes the Kustomization and, with it, everything it applied.
    for (at, pattern) in [
        (".sourceignore", "clusters/prod/apps.yaml"),
        ("clusters/.sourceignore", "apps.yaml"),
        (".sourceignore", "**/apps.*"),
    ] {
        write(&f, at, &format!("{pattern}\n"));
        commit_all(&f, "ignore");
        let r = as_dev(&f);
        assert_rule(&r, "deny-delete", "Namespace shop");
        assert_rule(&r, "path.pushers", at);
        assert!(
            r.flat()
                .contains("no root applies Kustomization flux-system/apps"),
            "{r:?}"
        );
        assert!(
            r.flat().contains("(the protected root clusters/prod/"),
            "{r:?}"
        );
        // Signers do not make a prune of a protected kind acceptable.
        assert_rule(&as_sre(&f), "deny-delete", "Namespace shop");
        reset(&f);
    }
    // The same through the GitRepository's own `spec.ignore`, which needs prod's pushers anyway.
    let sync = std::fs::read_to_string(f.work.join("clusters/prod/flux-system/gotk-sync.yaml"))
        .unwrap()
        .replace(
            "  ref: {branch: main}\n",
            "  ref: {branch: main}\n  ignore: |\n    /apps/base/ns.yaml\n",
        );
    write(&f, "clusters/prod/flux-system/gotk-sync.yaml", &sync);
    commit_all(&f, "spec.ignore");
    assert_rule(&as_sre(&f), "manifest-render", "ns.yaml");
    reset(&f);

    // A symlink is not archived: swapping the Namespace's file for a link to the same text
    // breaks the build Flux runs (refused), where following the link would look unchanged.
    write(&f, "docs/ns.yaml", NAMESPACE);
    std::fs::remove_file(f.work.join("apps/base/ns.yaml")).unwrap();
    std::os::unix::fs::symlink("../../docs/ns.yaml", f.work.join("apps/base/ns.yaml")).unwrap();
    commit_all(&f, "ns through a link");
    assert_rule(&as_dev(&f), "manifest-render", "ns.yaml");
    reset(&f);

    // Moving the file where no root applies it prunes the same way; a move the sync still
    // reads (a subdirectory of `clusters/prod`) prunes nothing.
    std::fs::create_dir_all(f.work.join("unused")).unwrap();
    f.git(&["mv", "clusters/prod/apps.yaml", "unused/apps.yaml"]);
    commit_all(&f, "move out of reach");
    assert_rule(&as_sre(&f), "deny-delete", "Namespace shop");
    reset(&f);
    std::fs::create_dir_all(f.work.join("clusters/prod/apps")).unwrap();
    f.git(&[
        "mv",
        "clusters/prod/apps.yaml",
        "clusters/prod/apps/apps.yaml",
    ]);
    commit_all(&f, "move into a subdirectory");
    assert_accepted(&as_sre(&f));

    // Controls: a `.sourceignore` that leaves out only what no root renders lands with prod's
    // pushers (it changes every Flux root's artifact: Flux's default exclusions stop), and a
    // developer's change elsewhere lands.
    write(&f, ".sourceignore", "/docs/\n");
    commit_all(&f, "ignore docs");
    assert_rule(&as_dev(&f), "path.pushers", ".sourceignore");
    assert_accepted(&as_sre(&f));
    write(&f, "docs/readme.md", "fleet, documented\n");
    commit_all(&f, "docs");
    assert_accepted(&as_dev(&f));
}

/// `apps/base` (a Deployment) deployed by the Flux Kustomization `clusters/dev/apps.yaml`, its
/// spec ending in `extra`; pushed by the SRE.
fn dev_cluster(extra: &str) -> Fixture {
    let f = Fixture::new(POLICY);
    write(&f, "apps/base/deploy.yaml", DEPLOY);
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(&f, "clusters/dev/apps.yaml", &format!("{FLUX_KS}{extra}"));
    commit_all(&f, "dev cluster");
    assert_accepted(&as_sre(&f));
    f
}

#[test]
fn a_substitution_that_makes_a_merge_key_or_a_repeated_key_is_refused() {
    let f = dev_cluster("  postBuild:\n    substitute:\n      tier: dev\n");
    // Flux substitutes the YAML text and reads it again with go-yaml v2, where `<<` merges
    // and a repeated key keeps its last value: both end in a privileged container.
    for (context, text) in [
        (
            "merge",
            "        securityContext:\n          \"<<${unset}\": {privileged: true}\n",
        ),
        (
            "appears twice",
            "        securityContext:\n          privileged: false\n          privileged${unset}: true\n",
        ),
    ] {
        write(&f, "apps/base/deploy.yaml", &format!("{DEPLOY}{text}"));
        commit_all(&f, "substituted key");
        let r = as_dev(&f);
        assert_rule(&r, "manifest-render", "clusters/dev/apps.yaml");
        assert!(r.flat().contains("postBuild substitution in Deployment api"), "{r:?}");
        assert!(r.flat().contains(context), "{context}: {r:?}");
        reset(&f);
    }
    // Control: a substituted value and a substituted key that stays unique land.
    write(
        &f,
        "apps/base/deploy.yaml",
        &DEPLOY.replace(
            "      labels: {app: api}\n",
            "      labels:\n        app: api\n        tier: \"${tier}\"\n        team-${tier}: \"yes\"\n",
        ),
    );
    commit_all(&f, "labels");
    assert_accepted(&as_dev(&f));
}

#[test]
fn a_git_repository_pinned_to_a_commit_is_not_rendered_from_the_tip() {
    let f = flux_prod();
    let pod = |privileged: bool| {
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: dbg\nspec:\n  containers:\n  - name: c\n    image: registry.example.com/debug:1\n    securityContext:\n      privileged: {privileged}\n")
    };
    let source = |reference: &str| {
        format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: pinned\n  namespace: shop\nspec:\n  interval: 1m\n  url: https://git.example.com/fleet\n  ref: {{{reference}}}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: pinned\n  namespace: shop\nspec:\n  interval: 1m\n  path: ./apps/pinned\n  prune: true\n  sourceRef: {{kind: GitRepository, name: pinned}}\n")
    };
    // The attack: a commit inside the push holds a privileged pod (under an extension no glob
    // covers); the tip makes it harmless and deploys that commit through a pinned
    // GitRepository, so the cluster gets the commit's pod while the tip looks clean.
    write(
        &f,
        "apps/pinned/kustomization.yaml",
        "resources:\n- pod.txt\n",
    );
    write(&f, "apps/pinned/pod.txt", &pod(true));
    commit_all(&f, "evil commit");
    let evil = f.git(&["rev-parse", "HEAD"]).trim().to_string();
    write(&f, "apps/pinned/pod.txt", &pod(false));
    write(&f, "apps/source.yaml", &source(&format!("commit: {evil}")));
    commit_all(&f, "deploy the evil commit");
    let r = as_dev(&f);
    assert_rule(
        &r,
        "manifest-render",
        &format!("deploys the commit `{evil}`"),
    );
    // A kustomize patch pinning a GitRepository the file leaves on a branch: the same.
    reset(&f);
    write(
        &f,
        "apps/pinned/kustomization.yaml",
        "resources:\n- pod.txt\n",
    );
    write(&f, "apps/pinned/pod.txt", &pod(false));
    write(&f, "apps/source/source.yaml", &source("branch: main"));
    write(
        &f,
        "apps/source/kustomization.yaml",
        &format!("resources:\n- source.yaml\npatches:\n- target: {{kind: GitRepository}}\n  patch: |\n    - op: add\n      path: /spec/ref/commit\n      value: {evil}\n"),
    );
    commit_all(&f, "pin through a patch");
    assert_rule(
        &as_dev(&f),
        "manifest-render",
        "a root applies deploys the commit",
    );
    // Control: the same GitRepository on the branch lands.
    reset(&f);
    write(
        &f,
        "apps/pinned/kustomization.yaml",
        "resources:\n- pod.txt\n",
    );
    write(&f, "apps/pinned/pod.txt", &pod(false));
    write(&f, "apps/source.yaml", &source("branch: main"));
    commit_all(&f, "deploy the branch");
    assert_accepted(&as_dev(&f));
}

#[test]
fn an_encrypted_object_flux_decrypts_is_refused_unless_a_secrets_data() {
    let f = dev_cluster("  decryption:\n    provider: sops\n    secretRef: {name: sops-age}\n");
    let sops = "sops:\n  age:\n  - recipient: age1helqcqsh9464r8chnwc2fzj8uv7vr5ntnsft0tn45v2xtz0hpfwq98cmsg\n    enc: x\n  lastmodified: \"2026-01-01T00:00:00Z\"\n  mac: ENC[AES256_GCM,data:x,iv:x,tag:x,type:str]\n  version: 3.9.0\n";
    // The attack: a ClusterRoleBinding whose role is a ciphertext the cluster decrypts (to
    // `cluster-admin`, for all pushguard can tell).
    write(
        &f,
        "apps/base/binding.yaml",
        &format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: ops}}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: ENC[AES256_GCM,data:abc,iv:x,tag:x,type:str]\nsubjects:\n- {{kind: ServiceAccount, name: ops, namespace: shop}}\n{sops}"),
    );
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n- binding.yaml\n",
    );
    commit_all(&f, "encrypted binding");
    assert_rule(
        &as_dev(&f),
        "manifest-render",
        "ClusterRoleBinding ops is SOPS-encrypted",
    );
    reset(&f);
    // Control: a Secret whose data alone is encrypted lands.
    write(
        &f,
        "apps/base/secret.yaml",
        &format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: creds}}\ntype: Opaque\ndata:\n  token: ENC[AES256_GCM,data:abc,iv:x,tag:x,type:str]\n{sops}"),
    );
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- deploy.yaml\n- secret.yaml\n",
    );
    commit_all(&f, "encrypted secret");
    assert_accepted(&as_dev(&f));
}

#[test]
fn a_decoy_git_repository_does_not_choose_what_the_artifact_leaves_out() {
    let f = flux_prod();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: dbg\nspec:\n  hostNetwork: true\n  containers:\n  - name: c\n    image: registry.example.com/debug:1\n";
    // The real source (applied by prod's apps) has no ignore; a decoy of the same name, nearer
    // the Kustomization and applied by nothing, ignores the directory the Kustomization builds.
    write(
        &f,
        "apps/team/kustomization.yaml",
        "resources:\n- pod.txt\n",
    );
    write(&f, "apps/team/pod.txt", pod);
    write(
        &f,
        "apps/base/team.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: team-src, namespace: shop}\nspec:\n  url: https://git.example.com/fleet\n  ref: {branch: main}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: team, namespace: shop}\nspec:\n  path: ./apps/team\n  prune: true\n  sourceRef: {kind: GitRepository, name: team-src}\n",
    );
    write(
        &f,
        "apps/base/kustomization.yaml",
        "resources:\n- ns.yaml\n- deploy.yaml\n- team.yaml\n",
    );
    write(
        &f,
        "apps/base/decoy/source.yaml",
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: team-src}\nspec:\n  url: https://git.example.com/fleet\n  ref: {branch: main}\n  ignore: /apps/team/\n",
    );
    commit_all(&f, "team with a decoy source");
    let r = as_sre(&f);
    assert_rejected(&r);
    assert!(r.flat().contains("set different `spec.ignore`"), "{r:?}");
    // Without the decoy the pod is rendered and judged; harmless, it lands.
    std::fs::remove_dir_all(f.work.join("apps/base/decoy")).unwrap();
    commit_all(&f, "no decoy");
    assert_rule(
        &as_sre(&f),
        "host-namespaces",
        "Pod dbg (rendered by Flux Kustomization shop/team",
    );
    write(
        &f,
        "apps/team/pod.txt",
        &pod.replace(
            "  hostNetwork: true
",
            "",
        ),
    );
    commit_all(&f, "harmless");
    assert_accepted(&as_sre(&f));
}

#[test]
fn a_kustomization_its_applier_drops_or_changes_is_pruned_as_the_cluster_prunes_it() {
    let f = flux_prod();
    write(
        &f,
        "apps/base/extra/ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: b, namespace: shop}\nspec:\n  interval: 10m\n  path: ./apps/b\n  prune: true\n  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}\n",
    );
    write(
        &f,
        "apps/b/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: teamb}\n",
    );
    write(
        &f,
        "apps/c/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: teamb}\n",
    );
    let listed = "resources:\n- ns.yaml\n- deploy.yaml\n- extra/ks.yaml\n";
    write(&f, "apps/base/kustomization.yaml", listed);
    commit_all(&f, "team b");
    assert_accepted(&as_sre(&f));
    // Each leaves `ks.yaml` untouched, yet the applier stops applying `b` as the file has it:
    // Flux prunes `b` (and Namespace teamb with it), or `b` re-pointed prunes it.
    for (how, kustomization) in [
        ("dropped from resources", "resources:\n- ns.yaml\n- deploy.yaml\n".to_string()),
        (
            "deleted by a patch",
            format!("{listed}patches:\n- patch: |\n    $patch: delete\n    apiVersion: kustomize.toolkit.fluxcd.io/v1\n    kind: Kustomization\n    metadata: {{name: b, namespace: shop}}\n"),
        ),
        (
            "re-pointed by a patch",
            format!("{listed}patches:\n- target: {{kind: Kustomization, name: b}}\n  patch: |\n    - op: replace\n      path: /spec/path\n      value: ./apps/c\n"),
        ),
    ] {
        write(&f, "apps/base/kustomization.yaml", &kustomization);
        commit_all(&f, how);
        let r = as_sre(&f);
        assert_rule(&r, "deny-delete", "Namespace teamb");
        reset(&f);
    }
    // Control: a patch on `b` that keeps what it applies lands.
    write(
        &f,
        "apps/base/kustomization.yaml",
        &format!("{listed}patches:\n- target: {{kind: Kustomization, name: b}}\n  patch: |\n    - op: replace\n      path: /spec/interval\n      value: 5m\n"),
    );
    commit_all(&f, "slower b");
    assert_accepted(&as_sre(&f));
}
