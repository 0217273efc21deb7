//! Kubernetes manifest rules through real pushes: what a commit changes in the objects Flux or
//! Argo CD will apply is judged, with file:line:column, the object and the rule.

mod common;

use common::gpg::*;
use common::*;

const POLICY: &str = r#"version = 1
[[manifests]]
match = ["clusters/**/*.yaml", "apps/**/*.yaml"]
rules = ["privileged", "plaintext-secrets", "gitops-sources", "deny-delete", "protected-namespaces"]
source_urls = ["https://git.example.com/"]
protected_namespaces = ["flux-system"]
deny_delete = ["Namespace"]
"#;

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
spec:
  template:
    spec:
      containers:
      - name: api
        image: registry.example.com/api:1.0
        securityContext:
          privileged: false
";

const SOURCE: &str = "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: prod
spec:
  url: https://git.example.com/ops/fleet
  interval: 1m
";

fn fixture() -> Fixture {
    let f = Fixture::new(POLICY);
    f.commit("apps/api.yaml", DEPLOYMENT, "api");
    f.commit("clusters/prod/source.yaml", SOURCE, "source");
    assert_accepted(&f.push(&["origin", "main"]));
    f
}

#[test]
fn turning_on_privileged_is_rejected_with_its_location() {
    let f = fixture();
    // YAML 1.1: `yes` is true to the cluster.
    f.commit(
        "apps/api.yaml",
        &DEPLOYMENT.replace("privileged: false", "privileged: yes"),
        "debug",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[privileged] refs/heads/main"), "{r:?}");
    assert!(r.out.contains("path:   apps/api.yaml:13:"), "{r:?}");
    assert!(
        r.out.contains("object: Deployment prod/api, container api"),
        "{r:?}"
    );
}

#[test]
fn a_plaintext_secret_is_rejected() {
    let f = fixture();
    f.commit(
        "clusters/prod/db.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: prod\nstringData:\n  password: hunter2\n",
        "db secret",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[plaintext-secrets]") && r.out.contains("Secret prod/db"),
        "{r:?}"
    );
}

#[test]
fn re_pointing_flux_at_another_repository_is_rejected() {
    let f = fixture();
    f.commit(
        "clusters/prod/source.yaml",
        &SOURCE.replace(
            "https://git.example.com/ops/fleet",
            "https://evil.example.net/fleet",
        ),
        "mirror",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[gitops-sources]") && r.out.contains("GitRepository prod/fleet"),
        "{r:?}"
    );
}

#[test]
fn an_old_violation_does_not_block_an_unrelated_change() {
    let f = Fixture::new("version = 1\n");
    f.commit(
        "apps/api.yaml",
        &DEPLOYMENT.replace("privileged: false", "privileged: true"),
        "old violation",
    );
    assert_accepted(&f.push(&["origin", "main"]));
    f.set_policy(POLICY);
    f.commit(
        "apps/api.yaml",
        &DEPLOYMENT
            .replace("privileged: false", "privileged: true")
            .replace(":1.0", ":1.1"),
        "bump image",
    );
    let r = f.push(&["origin", "main"]);
    assert_accepted(&r);
    // With judge = "all" the old violation counts again.
    f.set_policy(&POLICY.replace(
        "deny_delete = [\"Namespace\"]",
        "deny_delete = [\"Namespace\"]\njudge = \"all\"",
    ));
    f.commit(
        "apps/api.yaml",
        &DEPLOYMENT
            .replace("privileged: false", "privileged: true")
            .replace(":1.0", ":1.2"),
        "bump again",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[privileged]"), "{r:?}");
}

#[test]
fn unreadable_manifests_fail_closed_and_deletes_of_namespaces_are_refused() {
    let f = fixture();
    f.commit(
        "apps/broken.yaml",
        "kind: Deployment\nmetadata:\n  name: a\n  name: b\n",
        "duplicate key",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[manifest-parse]") && r.out.contains("apps/broken.yaml:4:"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "clusters/prod/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n",
        "ns",
    );
    assert_accepted(&f.push(&["origin", "main"]));
    f.git(&["rm", "-q", "clusters/prod/ns.yaml"]);
    f.git(&["commit", "-q", "-s", "-m", "drop ns"]);
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[deny-delete]") && r.out.contains("Namespace prod"),
        "{r:?}"
    );
}

#[test]
fn protected_namespaces() {
    let f = fixture();
    f.commit(
        "clusters/prod/flux.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps\n",
        "flux",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[protected-namespaces]")
            && r.out.contains("Kustomization flux-system/apps"),
        "{r:?}"
    );
}

/// `pod_security` through the hook: the Pod Security Standards as Pod Security Admission
/// checks them, on every pod-bearing kind. A baseline-level pod lands under baseline and not
/// under restricted; SELinux `spc_t` (unconfined) and a probe aimed at another host are
/// baseline violations the older per-rule list missed.
#[test]
fn pod_security_levels_through_the_hook() {
    let policy = |level: &str| {
        format!(
            "version = 1\n[[manifests]]\nmatch = [\"apps/**/*.yaml\"]\npod_security = {{ level = \"{level}\", version = \"v1.35\" }}\n"
        )
    };
    let f = Fixture::new(&policy("baseline"));
    f.commit("README", "base\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    f.commit("apps/api.yaml", DEPLOYMENT, "api");
    f.set_policy(&policy("restricted"));
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("error[pod-security.restricted]"), "{r:?}");
    f.set_policy(&policy("baseline"));
    assert_accepted(&f.push(&["origin", "main"]));

    for (what, insert) in [
        (
            "SELinux",
            "          seLinuxOptions:\n            type: spc_t\n",
        ),
        (
            "probe host",
            "        livenessProbe:\n          httpGet:\n            host: 169.254.169.254\n            port: 80\n",
        ),
    ] {
        let text = if what == "SELinux" {
            DEPLOYMENT.replace("          privileged: false\n", &format!("          privileged: false\n{insert}"))
        } else {
            DEPLOYMENT.replace("        securityContext:\n", &format!("{insert}        securityContext:\n"))
        };
        f.commit("apps/api.yaml", &text, what);
        let r = f.push(&["origin", "main"]);
        assert_rejected(&r);
        assert!(r.out.contains("error[pod-security.baseline]"), "{what}: {r:?}");
        assert!(r.out.contains("object: Deployment prod/api"), "{what}: {r:?}");
        f.git(&["reset", "-q", "--hard", "origin/main"]);
    }
}

/// Flux multi-tenancy at push time: a tenant's path may hold namespaced objects only; the
/// same ClusterRoleBinding in the platform's path is accepted.
#[test]
fn a_cluster_scoped_object_in_a_tenant_path_is_rejected() {
    let policy = format!(
        "{POLICY}\n[[manifests]]\nmatch = [\"tenants/**/*.yaml\"]\nrules = [\"cluster-scoped\"]\n"
    );
    let f = Fixture::new(&policy);
    f.commit("apps/api.yaml", DEPLOYMENT, "api");
    assert_accepted(&f.push(&["origin", "main"]));
    let binding = "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: team-a-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: team-a
  namespace: team-a
";
    f.commit("tenants/team-a/rbac.yaml", binding, "tenant rbac");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[cluster-scoped] refs/heads/main"),
        "{r:?}"
    );
    assert!(
        r.out.contains("path:   tenants/team-a/rbac.yaml:2:"),
        "{r:?}"
    );
    assert!(r.out.contains("ClusterRoleBinding team-a-admin"), "{r:?}");
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    // Control: a RoleBinding in the tenant's namespace, and the platform's own binding.
    let role_binding = binding
        .replace("kind: ClusterRoleBinding", "kind: RoleBinding")
        .replace(
            "name: team-a-admin\n",
            "name: team-a-admin\n  namespace: team-a\n",
        )
        .replace("name: cluster-admin", "name: admin");
    f.commit("tenants/team-a/rbac.yaml", &role_binding, "tenant rbac");
    f.commit("clusters/prod/team-a.yaml", binding, "platform rbac");
    assert_accepted(&f.push(&["origin", "main"]));
}

/// `external-endpoints` next to `gitops-sources`: the allowlist of what the cluster may contact.
fn endpoints_fixture() -> Fixture {
    let policy = POLICY.replace(
        "\"gitops-sources\",",
        "\"gitops-sources\", \"external-endpoints\",",
    ) + "allowed_endpoints = [\"https://hooks.slack.com/services/\", \"https://vault.example.com:8200/\", \"*.svc.cluster.local\"]\n";
    let f = Fixture::new(&policy);
    f.commit("apps/api.yaml", DEPLOYMENT, "api");
    assert_accepted(&f.push(&["origin", "main"]));
    f
}

/// Flux's notification docs: a Slack Provider and the Alert that uses it.
const PROVIDER: &str = "apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: slack-bot
  namespace: prod
spec:
  type: slack
  channel: general
  address: https://hooks.slack.com/services/T000/B000/XXXX
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: slack
  namespace: prod
spec:
  providerRef:
    name: slack-bot
  eventSeverity: info
  eventSources:
    - kind: Kustomization
      name: '*'
";

#[test]
fn alerts_and_webhooks_to_outside_hosts_are_rejected() {
    let f = endpoints_fixture();
    // Control: the Slack webhook the policy allows.
    f.commit("clusters/prod/alerts.yaml", PROVIDER, "alerts");
    assert_accepted(&f.push(&["origin", "main"]));
    // Attack: the same host as user information in front of the real one.
    f.commit(
        "clusters/prod/alerts.yaml",
        &PROVIDER.replace(
            "https://hooks.slack.com/services/T000/B000/XXXX",
            "https://hooks.slack.com@collector.evil.test/services/x",
        ),
        "alerts elsewhere",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[external-endpoints] refs/heads/main"),
        "{r:?}"
    );
    assert!(
        r.out.contains("path:   clusters/prod/alerts.yaml:9:"),
        "{r:?}"
    );
    assert!(
        r.out.contains("Provider prod/slack-bot") && r.out.contains("spec.address"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    // An admission webhook that sends every reviewed object outside.
    let webhook = |client: &str| {
        format!(
            "apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: policy
webhooks:
- name: validate.policy.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  clientConfig:
    {client}
  rules:
  - apiGroups: ['*']
    apiVersions: ['*']
    operations: [CREATE, UPDATE]
    resources: ['*']
"
        )
    };
    f.commit(
        "clusters/prod/webhook.yaml",
        &webhook("url: https://audit.evil.test/review"),
        "webhook",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[external-endpoints]")
            && r.out.contains("webhooks[0].clientConfig.url"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "clusters/prod/webhook.yaml",
        &webhook("service: {name: policy, namespace: policy, path: /validate}"),
        "webhook",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

#[test]
fn secret_stores_and_external_names_outside_the_allowlist_are_rejected() {
    let f = endpoints_fixture();
    // External Secrets' Vault provider, as in its docs.
    let store = |server: &str| {
        format!(
            "apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: \"{server}\"
      path: secret
      version: v2
      auth:
        kubernetes:
          mountPath: kubernetes
          role: external-secrets
"
        )
    };
    f.commit(
        "clusters/prod/store.yaml",
        &store("https://vault.example.com:8200"),
        "store",
    );
    assert_accepted(&f.push(&["origin", "main"]));
    f.commit(
        "clusters/prod/store.yaml",
        &store("https://vault.evil.test:8200"),
        "store moved",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[external-endpoints]")
            && r.out.contains("ClusterSecretStore vault-backend")
            && r.out.contains("spec.provider.vault.server"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    let service = |name: &str| {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\n  namespace: prod\nspec:\n  type: ExternalName\n  externalName: {name}\n"
        )
    };
    f.commit("apps/db.yaml", &service("db.evil.test"), "external db");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[external-endpoints]")
            && r.out.contains("Service prod/db")
            && r.out.contains("spec.externalName"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "apps/db.yaml",
        &service("postgres.databases.svc.cluster.local"),
        "in-cluster db",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

/// `secret-stores`: a namespace's ExternalSecrets read only the ClusterSecretStores allowed for
/// it, and a ClusterSecretStore changes only with an SRE signature.
#[test]
fn external_secrets_and_cluster_secret_stores_through_the_hook() {
    let s = Setup::new("version = 1\n");
    let sam = s.gpg.key("Sam Sre <sam@example.com>", "ed25519");
    s.gpg.export(&sam, &s.keys.join("sam.asc"));
    s.f.set_policy(&format!(
        r#"version = 1
[keys]
openpgp = ["{keys}/*.asc"]
[groups]
sre = ["openpgp:{sam}"]
[[manifests]]
match = ["clusters/**/*.yaml", "apps/**/*.yaml"]
rules = ["secret-stores"]
secret_stores = {{ "team-a" = ["vault-backend"] }}
signers = ["sre"]
"#,
        keys = s.keys.display()
    ));
    let f = &s.f;
    f.commit("README", "fleet\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    // External Secrets' docs: a Vault ClusterSecretStore and an ExternalSecret reading from it.
    let store = |path: &str| {
        format!(
            "apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata:
  name: vault-backend
spec:
  provider:
    vault:
      server: https://vault.example.com:8200
      path: {path}
      version: v2
      auth:
        kubernetes: {{mountPath: kubernetes, role: external-secrets}}
"
        )
    };
    f.commit("clusters/prod/store.yaml", &store("secret"), "store");
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[secret-stores]")
            && r.out.contains("ClusterSecretStore vault-backend"),
        "{r:?}"
    );
    // Signed by an SRE: accepted.
    f.git(&["reset", "-q", "--hard", "HEAD~1"]);
    s.sign_with(&sam);
    s.commit_signed("clusters/prod/store.yaml", &store("secret"), "store");
    assert_accepted(&s.push(&["origin", "main"]));
    f.git(&["config", "--unset", "user.signingkey"]);
    let external = |ns: &str| {
        format!(
            "apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
  namespace: {ns}
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: vault-backend
    kind: ClusterSecretStore
  target:
    name: db
  data:
  - secretKey: password
    remoteRef:
      key: team-a/db
      property: password
"
        )
    };
    f.commit(
        "apps/team-b/db.yaml",
        &external("team-b"),
        "team-b reads team-a",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[secret-stores]")
            && r.out.contains("ExternalSecret team-b/db")
            && r.out.contains("path:   apps/team-b/db.yaml:9:"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "apps/team-a/db.yaml",
        &external("team-a"),
        "team-a reads its store",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

#[test]
fn aggregated_and_redefined_bootstrap_roles_are_refused() {
    let policy = POLICY.replace(
        "rules = [\"privileged\",",
        "rules = [\"rbac-wildcards\", \"rbac-system-groups\", \"cluster-admin-binding\", \"privileged\",",
    );
    let f = Fixture::new(&policy);
    f.commit("apps/api.yaml", DEPLOYMENT, "api");
    assert_accepted(&f.push(&["origin", "main"]));
    let binding = "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ops}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ops}\nsubjects:\n- {kind: ServiceAccount, name: ops, namespace: prod}\n";
    // The aggregation controller copies cluster-admin's `*` into a role that selects the
    // bootstrap roles' label: cluster-admin without the name.
    f.commit(
        "apps/ops.yaml",
        &format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: ops}}\naggregationRule:\n  clusterRoleSelectors:\n  - matchLabels: {{kubernetes.io/bootstrapping: rbac-defaults}}\nrules: []\n{binding}"),
        "aggregate",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[rbac-wildcards] refs/heads/main"),
        "{r:?}"
    );
    assert!(r.flat().contains("has an `aggregationRule`"), "{r:?}");
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    // Kubernetes binds `system:basic-user` to every authenticated user: redefining it grants
    // its rules to all of them.
    f.commit(
        "apps/basic.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: \"system:basic-user\"}\nrules:\n- apiGroups: [\"\"]\n  resources: [secrets]\n  verbs: [get, list, watch]\n",
        "basic user",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[rbac-system-groups] refs/heads/main"),
        "{r:?}"
    );
    assert!(
        r.flat()
            .contains("ClusterRole `system:basic-user` redefines"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    // Binding a controller's bootstrap role: cluster-admin in all but name.
    f.commit(
        "apps/gc.yaml",
        &binding
            .replace(
                "name: ops}\nsubjects",
                "name: \"system:controller:generic-garbage-collector\"}\nsubjects",
            )
            .replace("---\n", ""),
        "gc role",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out
            .contains("error[cluster-admin-binding] refs/heads/main"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    // Control: a role of its own, with its rules written out, bound to a named account.
    f.commit(
        "apps/ops.yaml",
        &format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: ops}}\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list]\n{binding}"),
        "ops role",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

#[test]
fn pods_other_kinds_embed_are_judged_as_pods() {
    let policy = r#"version = 1
[[manifests]]
match = ["apps/**/*.yaml"]
rules = ["privileged", "host-namespaces", "image-registries"]
image_registries = ["registry.example.com/"]
"#;
    let f = Fixture::new(policy);
    f.commit("apps/readme.yaml", "note: jobs\n", "start");
    assert_accepted(&f.push(&["origin", "main"]));
    let scaled_job = |privileged: bool| {
        format!("apiVersion: keda.sh/v1alpha1\nkind: ScaledJob\nmetadata: {{name: worker, namespace: jobs}}\nspec:\n  jobTargetRef:\n    template:\n      spec:\n        containers:\n        - name: w\n          image: registry.example.com/worker:1\n          securityContext: {{privileged: {privileged}}}\n")
    };
    let task_run = |image: &str, host: bool| {
        format!("apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {{name: build, namespace: jobs}}\nspec:\n  podTemplate:\n    hostNetwork: {host}\n  taskSpec:\n    steps:\n    - name: build\n      image: {image}\n")
    };
    let workflow = |privileged: bool| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: wf, namespace: jobs}}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    container:\n      image: registry.example.com/tool:1\n      securityContext: {{privileged: {privileged}}}\n")
    };
    for (rule, text) in [
        ("privileged", scaled_job(true)),
        (
            "host-namespaces",
            task_run("registry.example.com/build:1", true),
        ),
        (
            "image-registries",
            task_run("docker.io/evil/build:1", false),
        ),
        ("privileged", workflow(true)),
    ] {
        f.commit("apps/jobs.yaml", &text, "jobs");
        let r = f.push(&["origin", "main"]);
        assert_rejected(&r);
        assert!(
            r.out.contains(&format!("error[{rule}] refs/heads/main")),
            "{rule}: {r:?}"
        );
        f.git(&["reset", "-q", "--hard", "origin/main"]);
    }
    // Control: the same kinds, harmless.
    f.commit(
        "apps/jobs.yaml",
        &format!(
            "{}---\n{}---\n{}",
            scaled_job(false),
            task_run("registry.example.com/build:1", false),
            workflow(false)
        ),
        "jobs",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

#[test]
fn helm_values_a_release_takes_from_a_config_map_are_judged() {
    let policy = r#"version = 1
[[manifests]]
match = ["apps/**/*.yaml"]
rules = ["privileged", "host-namespaces"]
"#;
    let f = Fixture::new(policy);
    f.commit("apps/readme.yaml", "note: releases\n", "start");
    assert_accepted(&f.push(&["origin", "main"]));
    let release = |values: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: ingress, namespace: edge}}\nspec:\n  chart:\n    spec: {{chart: ingress-nginx, sourceRef: {{kind: HelmRepository, name: charts}}}}\n  valuesFrom:\n  - kind: ConfigMap\n    name: ingress-values\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ingress-values, namespace: edge}}\ndata:\n  values.yaml: |\n{values}")
    };
    f.commit(
        "apps/ingress.yaml",
        &release("    controller:\n      hostNetwork: true\n"),
        "values from a ConfigMap",
    );
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[host-namespaces] refs/heads/main"),
        "{r:?}"
    );
    assert!(
        r.flat()
            .contains("ConfigMap edge/ingress-values values.yaml"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    // Control: harmless values land.
    f.commit(
        "apps/ingress.yaml",
        &release("    controller:\n      replicaCount: 2\n"),
        "values from a ConfigMap",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

#[test]
fn post_renderer_patches_that_move_values_or_namespaces_are_judged() {
    let policy = r#"version = 1
[[manifests]]
match = ["apps/**/*.yaml"]
rules = ["privileged", "host-namespaces", "protected-namespaces"]
protected_namespaces = ["kube-system"]
"#;
    let f = Fixture::new(policy);
    f.commit("apps/readme.yaml", "note: releases\n", "start");
    assert_accepted(&f.push(&["origin", "main"]));
    let release = |ops: &str| {
        format!("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {{name: web, namespace: edge}}\nspec:\n  chart:\n    spec: {{chart: web, sourceRef: {{kind: HelmRepository, name: charts}}}}\n  postRenderers:\n  - kustomize:\n      patches:\n      - target: {{kind: Deployment}}\n        patch: |\n{ops}")
    };
    for (rule, ops) in [
        // A harmless field the patch adds, moved onto hostNetwork.
        (
            "host-namespaces",
            "          - op: add\n            path: /spec/template/spec/enableServiceLinks\n            value: true\n          - op: move\n            from: /spec/template/spec/enableServiceLinks\n            path: /spec/template/spec/hostNetwork\n",
        ),
        // A value taken from the rendered chart, which is not seen.
        (
            "privileged",
            "          - op: copy\n            from: /spec/template/spec/automountServiceAccountToken\n            path: /spec/template/spec/containers/0/securityContext/privileged\n",
        ),
        // The chart's objects moved into a protected namespace.
        (
            "protected-namespaces",
            "          - op: replace\n            path: /metadata/namespace\n            value: kube-system\n",
        ),
    ] {
        f.commit("apps/web.yaml", &release(ops), "post-renderer");
        let r = f.push(&["origin", "main"]);
        assert_rejected(&r);
        assert!(
            r.out.contains(&format!("error[{rule}] refs/heads/main")),
            "{rule}: {r:?}"
        );
        f.git(&["reset", "-q", "--hard", "origin/main"]);
    }
    // Control: a post-renderer that sets a label lands.
    f.commit(
        "apps/web.yaml",
        &release("          - op: add\n            path: /metadata/labels/team\n            value: web\n"),
        "post-renderer",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}
