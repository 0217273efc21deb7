//! Argo CD renderer bypasses, through real pushes: what Argo CD's repo-server reads where
//! pushguard used to read something else. Override files (`.argocd-source*.yaml`) are decoded
//! with Go's encoding/json, which matches field names case-insensitively (`Kustomize`, a Kelvin
//! sign, a long s); a directory source reads every `.yaml`/`.yml`/`.json` file with a more
//! lenient YAML reader than pushguard's, CI-looking names included. Each attack has a control
//! push that must land.

mod common;

use common::*;

const POLICY: &str = r#"version = 1
[host]
pusher_variable = "REMOTE_USER"

[[manifests]]
match = ["**/*.yaml", "**/*.yml", "**/*.json"]
rules = ["privileged", "image-registries", "host-namespaces", "gitops-sources"]
source_urls = ["https://git.example.com/"]
image_registries = ["registry.example.com"]
"#;

fn push(f: &Fixture) -> Run {
    f.push_as(&[("REMOTE_USER", "dev-bob")], &["origin", "HEAD:main"])
}

/// An Application `name` in `argocd`, deploying `path` to `shop`; `extra` is indented for
/// `source:`.
fn application(name: &str, path: &str, extra: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: {name}
  namespace: argocd
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: shop
  source:
    repoURL: https://git.example.com/ops/fleet
    path: {path}
    targetRevision: main
{extra}"
    )
}

/// A kustomize app `apps/api` (the Deployment) and its Application `api`, accepted.
fn kustomize_fixture() -> Fixture {
    let f = Fixture::new(POLICY);
    write(&f, "apps/api/deploy.yaml", DEPLOY);
    write(
        &f,
        "apps/api/kustomization.yaml",
        "resources:\n- deploy.yaml\n",
    );
    write(&f, "argocd/api.yaml", &application("api", "apps/api", ""));
    commit_all(&f, "api");
    assert_accepted(&push(&f));
    f
}

const OVERRIDE: &str = "apps/api/.argocd-source-api.yaml";
const EVIL_IMAGE: &str = "registry.example.com/api=evil.example.net/api:1";
const HOST_NETWORK: &str =
    "[{\"op\": \"add\", \"path\": \"/spec/template/spec/hostNetwork\", \"value\": true}]";

#[test]
fn override_keys_in_another_case_are_applied_as_argo_cd_applies_them() {
    let f = kustomize_fixture();
    // The red team's file: JSON, Go field names.
    write(
        &f,
        OVERRIDE,
        &format!("{{\"Kustomize\": {{\"Images\": [\"{EVIL_IMAGE}\"]}}}}\n"),
    );
    commit_all(&f, "override, capitalised");
    let r = push(&f);
    assert_rule(&r, "image-registries", "evil.example.net/api");
    assert!(r.flat().contains(OVERRIDE), "{r:?}");
    reset(&f);

    let patch = serde_json::to_string(HOST_NETWORK).unwrap();
    write(
        &f,
        OVERRIDE,
        &format!(
            "{{\"Kustomize\": {{\"Patches\": [{{\"Patch\": {patch}, \"Target\": {{\"Kind\": \"Deployment\"}}}}]}}}}\n"
        ),
    );
    commit_all(&f, "override patch, capitalised");
    let r = push(&f);
    assert_rule(&r, "host-namespaces", "Deployment shop/api");
    assert!(r.flat().contains(OVERRIDE), "{r:?}");
    reset(&f);

    // U+212A KELVIN SIGN and U+017F LONG S fold to `k` and `s` in Go.
    for key in ["\"\\u212Austomize\"", "Kuſtomize", "kustomize:\n  IMAGEſ"] {
        let text = if key.contains('\n') {
            format!("{key}: [\"{EVIL_IMAGE}\"]\n")
        } else {
            format!("{key}:\n  images: [\"{EVIL_IMAGE}\"]\n")
        };
        write(&f, OVERRIDE, &text);
        commit_all(&f, "override, folded");
        let r = push(&f);
        assert_rule(&r, "image-registries", "evil.example.net/api");
        reset(&f);
    }

    // Control: the same overrides, harmless, in either case, land.
    write(
        &f,
        OVERRIDE,
        "kustomize:\n  images: [\"registry.example.com/api=registry.example.com/api:2\"]\n",
    );
    commit_all(&f, "image bump");
    assert_accepted(&push(&f));
    write(
        &f,
        OVERRIDE,
        "Kustomize:\n  Images: [\"registry.example.com/api=registry.example.com/api:3\"]\n",
    );
    commit_all(&f, "image bump, capitalised");
    assert_accepted(&push(&f));
}

#[test]
fn two_spellings_of_one_override_field_are_refused() {
    let f = kustomize_fixture();
    write(
        &f,
        OVERRIDE,
        &format!(
            "kustomize:\n  images: [\"registry.example.com/api=registry.example.com/api:2\"]\nKustomize:\n  images: [\"{EVIL_IMAGE}\"]\n"
        ),
    );
    commit_all(&f, "two spellings");
    let r = push(&f);
    assert_rule(&r, "manifest-render", OVERRIDE);
    assert!(r.flat().contains("case-insensitively"), "{r:?}");
    reset(&f);

    // The Application sets `kustomize`, the file `KUSTOMIZE`: both reach Argo CD's decoder.
    write(
        &f,
        "argocd/api.yaml",
        &application("api", "apps/api", "    kustomize:\n      namePrefix: a-\n"),
    );
    write(
        &f,
        ".argocd-source.yaml",
        "not the source path: never read\n",
    );
    write(
        &f,
        "apps/api/.argocd-source.yaml",
        &format!("KUSTOMIZE:\n  images: [\"{EVIL_IMAGE}\"]\n"),
    );
    commit_all(&f, "application and file");
    assert_rule(&push(&f), "manifest-render", "apps/api/.argocd-source.yaml");
    reset(&f);

    // Control: one spelling.
    write(
        &f,
        OVERRIDE,
        "kustomize:\n  images: [\"registry.example.com/api=registry.example.com/api:2\"]\n",
    );
    commit_all(&f, "one spelling");
    assert_accepted(&push(&f));
}

#[test]
fn null_in_an_override_file_does_not_remove_what_the_application_sets() {
    let f = kustomize_fixture();
    // pushguard used to delete the images on `null`; Argo CD decodes into the source it has.
    write(
        &f,
        "argocd/api.yaml",
        &application(
            "api",
            "apps/api",
            &format!("    kustomize:\n      images: [\"{EVIL_IMAGE}\"]\n"),
        ),
    );
    write(&f, OVERRIDE, "kustomize:\n  images: null\n");
    commit_all(&f, "images, nulled");
    assert_rule(&push(&f), "image-registries", "evil.example.net/api");
}

#[test]
fn an_override_file_for_a_namespaced_instance_is_refused() {
    let f = kustomize_fixture();
    write(
        &f,
        "apps/api/.argocd-source-team-a_api.yaml",
        &format!("kustomize:\n  images: [\"{EVIL_IMAGE}\"]\n"),
    );
    commit_all(&f, "instance override");
    assert_rule(
        &push(&f),
        "manifest-render",
        "apps/api/.argocd-source-team-a_api.yaml",
    );
}

/// A plain-directory app `teams/team-a` (the Deployment) and its Application `team-a`.
fn directory_fixture() -> Fixture {
    let f = Fixture::new(POLICY);
    write(&f, "teams/team-a/deploy.yaml", DEPLOY);
    write(
        &f,
        "argocd/team-a.yaml",
        &application("team-a", "teams/team-a", ""),
    );
    commit_all(&f, "team-a");
    assert_accepted(&push(&f));
    f
}

/// The red team's `.gitlab-ci.yml`: a Pod with a space before each colon (so the bytes lack
/// `apiVersion:` and friends) and `hostNetwork` twice. go-yaml v2 keeps the last value.
const SPACED_POD: &str = "apiVersion : v1
kind : Pod
metadata :
  name: ci
spec:
  hostNetwork: false
  hostNetwork: true
  containers:
  - name: main
    image: registry.example.com/api:1.0
";

const CI: &str = "stages: [test]\ntest:\n  stage: test\n  script: [make test]\n";

#[test]
fn a_directory_file_pushguard_cannot_load_is_refused() {
    let f = directory_fixture();
    write(&f, "teams/team-a/.gitlab-ci.yml", SPACED_POD);
    commit_all(&f, "ci");
    let r = push(&f);
    assert_rule(&r, "manifest-render", "teams/team-a/.gitlab-ci.yml");
    assert!(r.flat().contains("Argo CD reads every"), "{r:?}");
    reset(&f);

    // UTF-16 (Argo CD transcodes it) in a hidden directory of a recursive app: the per-file
    // judge takes it for a CI file; Argo CD reads it.
    let mut utf16 = vec![0xff, 0xfe];
    for u in SPACED_POD
        .replace("  hostNetwork: false\n", "")
        .encode_utf16()
    {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    write_bytes(&f, "teams/team-a/.github/workflows/pod.yml", &utf16);
    commit_all(&f, "utf-16, not read");
    assert_accepted(&push(&f));
    write(
        &f,
        "argocd/team-a.yaml",
        &application(
            "team-a",
            "teams/team-a",
            "    directory:\n      recurse: true\n",
        ),
    );
    commit_all(&f, "recurse");
    assert_rule(
        &push(&f),
        "manifest-render",
        "teams/team-a/.github/workflows/pod.yml",
    );
    reset(&f);

    // Control: excluded from the Application, it is not read.
    write(&f, "teams/team-a/.gitlab-ci.yml", SPACED_POD);
    write(
        &f,
        "argocd/team-a.yaml",
        &application(
            "team-a",
            "teams/team-a",
            "    directory:\n      exclude: .gitlab-ci.yml\n",
        ),
    );
    commit_all(&f, "ci, excluded");
    assert_accepted(&push(&f));
}

#[test]
fn a_ci_file_argo_cd_ignores_lands_and_one_it_applies_is_judged() {
    let f = directory_fixture();
    // Control: a real CI file (no `kind`): Argo CD ignores it.
    write(&f, "teams/team-a/.gitlab-ci.yml", CI);
    commit_all(&f, "ci");
    assert_accepted(&push(&f));

    // The same Pod, readable: Argo CD applies it, whatever the file is called.
    write(
        &f,
        "teams/team-a/.gitlab-ci.yml",
        &SPACED_POD.replace("  hostNetwork: false\n", ""),
    );
    commit_all(&f, "ci pod");
    assert_rule(&push(&f), "host-namespaces", "Pod shop/ci");
}

#[test]
fn an_object_turned_into_a_sync_hook_is_pruned_as_argo_cd_prunes_it() {
    let policy = POLICY.replace(
        "rules = [\"privileged\",",
        "deny_delete = [\"Namespace\"]\nrules = [\"deny-delete\", \"privileged\",",
    );
    let f = Fixture::new(&policy);
    let ns = |annotations: &str| {
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n{annotations}")
    };
    write(&f, "teams/team-a/deploy.yaml", DEPLOY);
    write(&f, "teams/team-a/namespace.yaml", &ns(""));
    write(
        &f,
        "argocd/team-a.yaml",
        &application("team-a", "teams/team-a", ""),
    );
    commit_all(&f, "team-a");
    assert_accepted(&push(&f));
    // gitops-engine takes hooks out of what it syncs and prunes: the Namespace Argo CD tracks
    // has nothing in Git any more, so auto-prune deletes it and all it holds.
    for hook in [
        "  annotations:\n    argocd.argoproj.io/hook: Skip\n",
        "  annotations:\n    argocd.argoproj.io/hook: PostSync\n    argocd.argoproj.io/hook-delete-policy: HookSucceeded\n",
        "  annotations:\n    helm.sh/hook: pre-install\n",
    ] {
        write(&f, "teams/team-a/namespace.yaml", &ns(hook));
        commit_all(&f, "namespace as a hook");
        assert_rule(&push(&f), "deny-delete", "Namespace team-a");
        reset(&f);
    }
    // A hook still runs: a privileged hook Pod is judged.
    write(
        &f,
        "teams/team-a/hook.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: migrate\n  annotations:\n    argocd.argoproj.io/hook: PreSync\nspec:\n  containers:\n  - name: m\n    image: registry.example.com/api:1.0\n    securityContext:\n      privileged: true\n",
    );
    commit_all(&f, "privileged hook");
    assert_rule(&push(&f), "privileged", "migrate");
    reset(&f);
    // Control: another annotation on the Namespace lands.
    write(
        &f,
        "teams/team-a/namespace.yaml",
        &ns("  annotations:\n    team: a\n"),
    );
    commit_all(&f, "annotate");
    assert_accepted(&push(&f));
}

#[test]
fn an_application_set_over_directories_is_rendered_for_each_directory() {
    let policy = POLICY.replace(
        "rules = [\"privileged\",",
        "protected_namespaces = [\"argocd\", \"kube-system\"]\nrules = [\"protected-namespaces\", \"privileged\",",
    );
    let f = Fixture::new(&policy);
    write(&f, "tenants/team-a/deploy.yaml", DEPLOY);
    write(
        &f,
        "argocd/tenants.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: tenants\n  namespace: sets\nspec:\n  generators:\n  - git:\n      repoURL: https://git.example.com/ops/fleet\n      revision: main\n      directories:\n      - path: tenants/*\n  template:\n    metadata:\n      name: 'tenant-{{path.basename}}'\n    spec:\n      project: default\n      source:\n        repoURL: https://git.example.com/ops/fleet\n        targetRevision: main\n        path: '{{path}}'\n      destination:\n        server: https://kubernetes.default.svc\n        namespace: '{{path.basename}}'\n      syncPolicy:\n        automated: {prune: true}\n",
    );
    commit_all(&f, "tenants");
    assert_accepted(&push(&f));
    // The attack: a directory named after a protected namespace makes an Application that
    // deploys into it.
    write(&f, "tenants/argocd/deploy.yaml", DEPLOY);
    commit_all(&f, "tenant argocd");
    assert_rule(
        &push(&f),
        "protected-namespaces",
        "tenants/argocd/deploy.yaml",
    );
    reset(&f);
    // Control: another tenant lands.
    write(&f, "tenants/team-c/deploy.yaml", DEPLOY);
    commit_all(&f, "tenant team-c");
    assert_accepted(&push(&f));
}
