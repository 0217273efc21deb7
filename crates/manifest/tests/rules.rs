//! Built-in rules beyond the checkov corpus: GitOps sources, secrets, every pod-spec location.

mod common;

use common::*;
use pushguard_manifest::{RuleId, Settings};

fn gitops() -> Settings {
    Settings {
        rules: vec![RuleId::GitopsSources],
        source_urls: vec![
            "https://github.com/acme/".to_string(),
            "oci://ghcr.io/acme".to_string(),
            "minio.acme.internal/manifests".to_string(),
        ],
        ..Settings::default()
    }
}

fn gitrepo(url: &str) -> String {
    format!("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: {url}\n")
}

#[test]
fn source_prefixes_do_not_end_on_user_information() {
    let s = Settings {
        rules: vec![RuleId::GitopsSources],
        source_urls: vec![
            "https://git.example.com".to_string(),
            "ssh://git@git.example.com/".to_string(),
        ],
        ..Settings::default()
    };
    for bad in [
        "https://git.example.com@evil.test/fleet",
        "https://git.example.com:pw@evil.test/fleet",
    ] {
        let f = judge_added("gr.yaml", &gitrepo(bad), &s);
        assert_eq!(rules_of(&f), ["gitops-sources"], "{bad}");
        assert!(
            f[0].message.contains("user information"),
            "{}",
            f[0].message
        );
    }
    for good in [
        "https://git.example.com/fleet",
        "https://git.example.com",
        "ssh://git@git.example.com/fleet",
    ] {
        assert!(
            judge_added("gr.yaml", &gitrepo(good), &s).is_empty(),
            "{good}"
        );
    }
    let short = Settings {
        source_urls: vec!["https://git".to_string()],
        ..s.clone()
    };
    assert_eq!(
        judge_added("gr.yaml", &gitrepo("https://git@evil.test/fleet"), &short).len(),
        1
    );
}

#[test]
fn flux_sources_must_be_allow_listed() {
    let s = gitops();
    assert!(judge_added("gr.yaml", &gitrepo("https://github.com/acme/fleet"), &s).is_empty());
    let old = gitrepo("https://github.com/acme/fleet");
    let new = gitrepo("https://github.com/evil/fleet");
    let f = judge_modified("gr.yaml", &old, &new, &s);
    assert_eq!(rules_of(&f), ["gitops-sources"]);
    assert_eq!((f[0].line, f[0].column), (8, 8));
    assert_eq!(
        f[0].object.as_deref(),
        Some("GitRepository flux-system/fleet")
    );
    assert!(
        f[0].message.contains("https://github.com/evil/fleet"),
        "{}",
        f[0].message
    );
    for bad in [
        "https://github.com/acme/../evil/x",
        "https://github.com/acme/%2e%2e/evil/x",
        "https://github.com.evil.io/acme/x",
        "ssh://git@github.com/acme/x",
        "\"https://github.com/acme/{{ .repo }}\"",
    ] {
        assert_eq!(judge_added("gr.yaml", &gitrepo(bad), &s).len(), 1, "{bad}");
    }
    let oci = "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: OCIRepository\nmetadata: {name: o, namespace: team}\nspec:\n  url: oci://ghcr.io/acme/manifests\n";
    assert!(judge_added("o.yaml", oci, &s).is_empty());
    let evil = oci.replace("ghcr.io/acme/", "ghcr.io/acme-evil/");
    assert_eq!(judge_added("o.yaml", &evil, &s).len(), 1);
    let helm = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: h}\nspec: {url: 'https://charts.example.com'}\n";
    assert_eq!(judge_added("h.yaml", helm, &s).len(), 1);
    let bucket = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: b}\nspec: {endpoint: minio.acme.internal, bucketName: manifests}\n";
    assert!(judge_added("b.yaml", bucket, &s).is_empty());
    assert_eq!(
        judge_added(
            "b.yaml",
            &bucket.replace("bucketName: manifests", "bucketName: other"),
            &s
        )
        .len(),
        1
    );
    // A source without any URL is refused too.
    let none = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: g}\nspec: {interval: 1m}\n";
    assert_eq!(judge_added("g.yaml", none, &s).len(), 1);
}

#[test]
fn argo_sources_and_projects() {
    let s = gitops();
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a, namespace: argocd}\nspec:\n  sources:\n  - repoURL: https://github.com/acme/apps\n  - repoURL: https://evil.example.com/x.git\n";
    let f = judge_added("app.yaml", app, &s);
    assert_eq!(rules_of(&f), ["gitops-sources"]);
    assert_eq!(f[0].line, 7);
    let appset = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: s}\nspec:\n  generators:\n  - git: {repoURL: 'https://github.com/evil/gen', revision: HEAD}\n  template:\n    spec:\n      source: {repoURL: 'https://github.com/acme/apps.git'}\n";
    let f = judge_added("set.yaml", appset, &s);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].line, 6);
    let scm = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: s}\nspec:\n  generators:\n  - matrix:\n      generators:\n      - scmProvider: {github: {organization: someone}}\n";
    let f = judge_added("scm.yaml", scm, &s);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("`scmProvider` generator"),
        "{}",
        f[0].message
    );
    let project = "apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata: {name: p}\nspec:\n  sourceRepos: ['*', 'https://github.com/acme/apps']\n  destinations:\n  - {server: '*', namespace: prod}\n  sourceNamespaces: ['*']\n";
    let f = judge_added("p.yaml", project, &s);
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(f.iter().any(|f| f.message.contains("sourceNamespaces")));
    assert!(f.iter().any(|f| f.message.contains("wildcard")));
    assert!(f.iter().any(|f| f.message.contains("server: `*`")));
}

#[test]
fn flux_service_account() {
    let ks = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  serviceAccountName: tenant\n  path: ./apps\n";
    let without = ks.replace("  serviceAccountName: tenant\n", "");
    // Removing it is a violation even when the policy does not demand one.
    let s = gitops();
    let f = judge_modified("ks.yaml", ks, &without, &s);
    assert_eq!(rules_of(&f), ["gitops-sources"]);
    assert!(
        f[0].message.contains("removes spec.serviceAccountName"),
        "{}",
        f[0].message
    );
    assert!(judge_added("ks.yaml", &without, &s).is_empty());
    // Demanded: missing on a new object, and still reported (once) on removal.
    let demand = Settings {
        flux_service_account: true,
        ..gitops()
    };
    assert_eq!(judge_added("ks.yaml", &without, &demand).len(), 1);
    assert_eq!(judge_modified("ks.yaml", ks, &without, &demand).len(), 1);
    assert!(judge_added("ks.yaml", ks, &demand).is_empty());
    let hr = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: r}\nspec: {chart: {spec: {chart: x}}}\n";
    assert_eq!(judge_added("hr.yaml", hr, &demand).len(), 1);
}

#[test]
fn kustomization_remote_bases() {
    let s = Settings {
        source_refs: vec!["main".to_string(), "HEAD".to_string(), "v*".to_string()],
        ..gitops()
    };
    let k = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\n- ../base\n- https://github.com/acme/base//deploy?ref=v1\n- github.com/evil/base//x?ref=main\ncomponents:\n- git::https://evil.example.com/c.git\n";
    let f = judge_added("apps/kustomization.yaml", k, &s);
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!((f[0].line, f[1].line), (7, 9));
    assert_eq!(
        f[0].object.as_deref(),
        Some("Kustomization file apps/kustomization.yaml")
    );
    // Without apiVersion/kind it is still a kustomization by its file name.
    let bare = "bases:\n- https://evil.example.com/x\n";
    assert_eq!(judge_added("kustomization.yml", bare, &s).len(), 1);
    assert!(judge_added("other.yml", bare, &s).is_empty());
}

#[test]
fn plaintext_secrets() {
    let s = settings(&[RuleId::PlaintextSecrets]);
    let plain =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  password: hunter2\n";
    let f = judge_added("s.yaml", plain, &s);
    assert!(
        f.iter()
            .any(|f| f.line == 5 && f.message.contains("`password`")),
        "{f:?}"
    );
    let enc = "ENC[AES256_GCM,data:Zm9v,iv:aXY=,tag:dGFn,type:str]";
    let sops = format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: db}}\ndata:\n  password: {enc}\nsops:\n  version: 3.8.1\n");
    assert!(judge_added("s.yaml", &sops, &s).is_empty());
    // A sops stanza alone proves nothing.
    let half = format!("{sops}stringData:\n  token: plain\n");
    assert_eq!(judge_added("s.yaml", &half, &s).len(), 1);
    // ENC values without the stanza.
    let no_stanza = sops.replace("sops:\n  version: 3.8.1\n", "");
    assert_eq!(judge_added("s.yaml", &no_stanza, &s).len(), 1);
    let sealed = "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: x}\nspec:\n  encryptedData: {a: AgB...}\n  template:\n    data: {b: plaintext, c: '{{ index . \"a\" }}'}\n";
    let f = judge_added("ss.yaml", sealed, &s);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("`b`"));
    let key = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: k}\ndata:\n  key: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    abc\n";
    assert_eq!(
        rules_of(&judge_added("k.yaml", key, &s)),
        ["plaintext-secrets"]
    );
}

#[test]
fn every_pod_spec_location() {
    let s = settings(&[RuleId::Privileged]);
    let cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers:\n          - {name: init, image: 'x:1', securityContext: {privileged: true}}\n          ephemeralContainers:\n          - {name: debug, image: 'x:1', securityContext: {privileged: true}}\n          containers:\n          - {name: main, image: 'x:1'}\n";
    let f = judge_added("c.yaml", cron, &s);
    let names: Vec<_> = f.iter().map(|f| f.container.as_deref().unwrap()).collect();
    assert_eq!(names, ["init", "debug"]);
    for kind in [
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "ReplicationController",
    ] {
        let d = deployment("x", "{privileged: true}").replace("Deployment", kind);
        assert_eq!(judge_added("d.yaml", &d, &s).len(), 1, "{kind}");
    }
}

#[test]
fn container_and_pod_security_contexts() {
    let s = settings(&[
        RuleId::RunAsRoot,
        RuleId::SeccompUnconfined,
        RuleId::HostProcess,
        RuleId::ProcMount,
    ]);
    let pod = |pod_sc: &str, c_sc: &str| {
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  securityContext: {pod_sc}\n  containers:\n  - name: c\n    image: x:1\n    securityContext: {c_sc}\n")
    };
    // Pod-level runAsNonRoot covers the container; a container-level runAsUser: 0 overrides it.
    assert!(judge_added("p.yaml", &pod("{runAsNonRoot: true}", "{}"), &s).is_empty());
    let f = judge_added(
        "p.yaml",
        &pod("{runAsNonRoot: true, runAsUser: 1000}", "{runAsUser: 0}"),
        &s,
    );
    assert_eq!(rules_of(&f), ["run-as-root"]);
    let f = judge_added(
        "p.yaml",
        &pod(
            "{runAsNonRoot: true, seccompProfile: {type: Unconfined}}",
            "{procMount: Unmasked, windowsOptions: {hostProcess: true}}",
        ),
        &s,
    );
    let mut r = rules_of(&f);
    r.sort();
    assert_eq!(r, ["host-process", "proc-mount", "seccomp-unconfined"]);
}

#[test]
fn images() {
    let s = Settings {
        rules: vec![
            RuleId::ImageLatest,
            RuleId::ImageDigest,
            RuleId::ImageRegistries,
        ],
        image_registries: vec![
            "ghcr.io/acme/".to_string(),
            "docker.io/library/".to_string(),
        ],
        ..Settings::default()
    };
    let with = |img: &str| deployment("x", "{}").replace("ghcr.io/acme/api:1.0", img);
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    assert!(judge_added(
        "d.yaml",
        &with(&format!("ghcr.io/acme/api:1.0@{digest}")),
        &s
    )
    .is_empty());
    assert!(judge_added("d.yaml", &with(&format!("nginx@{digest}")), &s).is_empty());
    let mut r = rules_of(&judge_added("d.yaml", &with("ghcr.io/acme-evil/api"), &s))
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    r.sort();
    assert_eq!(r, ["image-digest", "image-latest", "image-registries"]);
    let f = judge_added("d.yaml", &with("localhost:5000/api:latest"), &s);
    assert!(f
        .iter()
        .any(|f| f.rule == "image-latest" && f.message.contains(":latest")));
}

#[test]
fn rbac_bindings() {
    let s = settings(&[RuleId::ClusterAdminBinding, RuleId::RbacSystemGroups]);
    let b = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n- {kind: Group, name: 'system:authenticated', apiGroup: rbac.authorization.k8s.io}\n";
    let f = judge_added("b.yaml", b, &s);
    let mut r = rules_of(&f);
    r.sort();
    assert_eq!(r, ["cluster-admin-binding", "rbac-system-groups"]);
    let ok = b
        .replace("cluster-admin", "view")
        .replace("system:authenticated", "sre");
    assert!(judge_added("b.yaml", &ok, &s).is_empty());
}

#[test]
fn inline_kustomize_patches_are_judged() {
    let s = Settings {
        rules: vec![
            RuleId::Privileged,
            RuleId::PrivilegeEscalation,
            RuleId::GitopsSources,
            RuleId::DenyDelete,
        ],
        source_urls: vec!["https://github.com/acme/".to_string()],
        ..Settings::default()
    };
    let k = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [deploy.yaml]
patches:
  - target: {kind: Deployment, name: api}
    patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: api}
      spec:
        template:
          spec:
            containers:
            - name: api
              securityContext: {privileged: true}
  - target: {group: apps, version: v1, kind: DaemonSet, name: agent}
    patch: |-
      - op: add
        path: /spec/template/spec/containers/0/securityContext
        value: {privileged: true}
  - patch: |-
      apiVersion: source.toolkit.fluxcd.io/v1
      kind: GitRepository
      metadata: {name: fleet, namespace: flux-system}
      spec: {url: https://github.com/evil/fleet}
patchesStrategicMerge:
  - |-
    apiVersion: source.toolkit.fluxcd.io/v1
    kind: GitRepository
    metadata: {name: other}
    spec: {interval: 5m}
";
    let f = judge_added("apps/kustomization.yaml", k, &s);
    let got: Vec<(&str, u32, u32)> = f
        .iter()
        .map(|f| (f.rule.as_str(), f.line, f.column))
        .collect();
    // The SMP patch's privileged value, the JSON 6902 value, the re-pointed URL; the patches
    // leave allowPrivilegeEscalation and the URL of `other` out, which is not a violation.
    assert_eq!(
        got,
        [
            ("privileged", 15, 45),
            ("privileged", 20, 29),
            ("gitops-sources", 25, 19)
        ],
        "{f:#?}"
    );
    assert_eq!(
        f[0].object.as_deref(),
        Some("Deployment api [patch 1 in apps/kustomization.yaml] (kustomize patch)")
    );
    assert_eq!(
        f[1].object.as_deref(),
        Some("DaemonSet agent [patch 2 in apps/kustomization.yaml] (kustomize patch)")
    );
    // An unreadable inline patch fails closed, at its position in the file.
    let bad = "patches:\n  - patch: |-\n      a: 1\n      a: 2\n";
    let f = judge_added("kustomization.yaml", bad, &s);
    assert_eq!(rules_of(&f), ["manifest-parse"]);
    assert_eq!((f[0].line, f[0].column), (4, 7));
    // Removing a kustomization with a Namespace patch is not a Namespace deletion.
    let ns_patch = "patches:\n  - patch: |-\n      apiVersion: v1\n      kind: Namespace\n      metadata: {name: prod, labels: {a: b}}\n";
    let changes = [pushguard_manifest::FileChange {
        old: Some(pushguard_manifest::FileVersion {
            path: "kustomization.yaml",
            bytes: ns_patch.as_bytes(),
        }),
        new: None,
    }];
    assert!(
        pushguard_manifest::judge(&changes, &s, &pushguard_manifest::Limits::default(), TODAY)
            .is_empty()
    );
}

#[test]
fn cluster_scoped_objects_are_refused_added_or_changed() {
    let s = settings(&[RuleId::ClusterScoped]);
    let cr = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: team-a-reader}\nrules:\n- {apiGroups: [''], resources: [pods], verbs: [get]}\n";
    let f = judge_added("tenants/team-a/rbac.yaml", cr, &s);
    assert_eq!(rules_of(&f), ["cluster-scoped"]);
    assert_eq!((f[0].line, f[0].column), (2, 7));
    assert_eq!(f[0].object.as_deref(), Some("ClusterRole team-a-reader"));
    // A change counts even though the old version was cluster-scoped too.
    let f = judge_modified(
        "tenants/team-a/rbac.yaml",
        cr,
        &cr.replace("verbs: [get]", "verbs: [get, list]"),
        &s,
    );
    assert_eq!(rules_of(&f), ["cluster-scoped"]);
    // Unchanged (moved) and removed objects are not findings; namespaced kinds pass.
    assert!(judge_modified("tenants/team-a/rbac.yaml", cr, cr, &s).is_empty());
    let role = cr
        .replace("ClusterRole", "Role")
        .replace("{name: team-a-reader}", "{name: reader, namespace: team-a}");
    assert!(judge_added("tenants/team-a/rbac.yaml", &role, &s).is_empty());
    for (kind, extra) in [
        ("ValidatingWebhookConfiguration", "webhooks: []\n"),
        ("Namespace", ""),
        ("ClusterSecretStore", "spec: {}\n"),
        ("CustomResourceDefinition", "spec: {}\n"),
        ("ClusterIssuer", "spec: {}\n"),
    ] {
        let text = format!("apiVersion: x/v1\nkind: {kind}\nmetadata: {{name: n}}\n{extra}");
        assert_eq!(
            rules_of(&judge_added("t.yaml", &text, &s)),
            ["cluster-scoped"],
            "{kind}"
        );
    }
    // Off unless named in `rules`.
    assert!(judge_added("t.yaml", cr, &settings(&[])).is_empty());
}

fn endpoints() -> Settings {
    Settings {
        rules: vec![RuleId::ExternalEndpoints],
        allowed_endpoints: [
            "https://hooks.slack.com/services/",
            "vault.example.com",
            "*.svc.cluster.local",
            "https://acme-v02.api.letsencrypt.org/directory",
        ]
        .iter()
        .map(|e| pushguard_manifest::Endpoint::parse(e).unwrap())
        .collect(),
        source_urls: vec!["https://github.com/acme/".to_string()],
        image_registries: vec!["ghcr.io/acme/".to_string()],
        ..Settings::default()
    }
}

#[test]
fn external_endpoints_of_every_known_kind() {
    let s = endpoints();
    let one = |text: &str| -> Vec<String> {
        judge_added("e.yaml", text, &s)
            .into_iter()
            .map(|f| {
                assert_eq!(f.rule, "external-endpoints");
                f.message
            })
            .collect()
    };
    // (object, allowed value, refused value)
    let cases = [
        (
            "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata: {name: slack, namespace: team-a}\nspec:\n  type: slack\n  channel: general\n  address: VALUE\n",
            "https://hooks.slack.com/services/T0/B0/x",
            "https://hooks.slack.com.evil.test/services/x",
        ),
        (
            "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata: {name: gh, namespace: team-a}\nspec:\n  type: github\n  address: https://github.com/acme/app\n  proxy: VALUE\n",
            "http://proxy.egress.svc.cluster.local:3128",
            "http://proxy.evil.test:3128",
        ),
        (
            "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\nmetadata: {name: app, namespace: team-a}\nspec:\n  image: VALUE\n  interval: 5m\n",
            "ghcr.io/acme/app",
            "docker.io/evil/app",
        ),
        (
            "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: policy}\nwebhooks:\n- name: a.example.com\n  clientConfig:\n    service: {name: policy, namespace: policy}\n- name: b.example.com\n  clientConfig:\n    url: VALUE\n",
            "https://policy.policy.svc.cluster.local/validate",
            "https://evil.test/validate",
        ),
        (
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  conversion:\n    strategy: Webhook\n    webhook:\n      clientConfig:\n        url: VALUE\n",
            "https://conv.widgets.svc.cluster.local/convert",
            "https://203.0.113.9/convert",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: team-a}\nspec:\n  type: ExternalName\n  externalName: VALUE\n",
            "db.team-a.svc.cluster.local",
            "db.evil.test",
        ),
        (
            "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: vault}\nspec:\n  provider:\n    vault:\n      server: VALUE\n      path: secret\n      version: v2\n      auth:\n        kubernetes: {mountPath: kubernetes, role: eso}\n",
            "https://vault.example.com:8200",
            "https://vault.example.com@evil.test:8200",
        ),
        (
            "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: kv, namespace: team-a}\nspec:\n  provider:\n    azurekv:\n      vaultUrl: VALUE\n",
            "https://vault.example.com/",
            "https://team-a.vault.azure.net",
        ),
        (
            "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: le}\nspec:\n  acme:\n    server: VALUE\n    privateKeySecretRef: {name: le}\n    solvers: [{http01: {ingress: {ingressClassName: nginx}}}]\n",
            "https://acme-v02.api.letsencrypt.org/directory",
            "https://acme.evil.test/directory",
        ),
        (
            "apiVersion: cert-manager.io/v1\nkind: Issuer\nmetadata: {name: vault, namespace: team-a}\nspec:\n  vault:\n    server: VALUE\n    path: pki/sign/team-a\n",
            "https://vault.example.com",
            "http://vault.evil.test",
        ),
        (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: repo\n  namespace: argocd\n  labels: {argocd.argoproj.io/secret-type: repository}\nstringData:\n  type: git\n  url: VALUE\n",
            "https://github.com/acme/app",
            "https://github.com/evil/app",
        ),
    ];
    for (text, good, bad) in cases {
        assert_eq!(
            one(&text.replace("VALUE", good)),
            Vec::<String>::new(),
            "{text}"
        );
        let msgs = one(&text.replace("VALUE", bad));
        assert_eq!(msgs.len(), 1, "{text}: {msgs:?}");
        assert!(msgs[0].contains(bad), "{}", msgs[0]);
    }
    // The message names the field path; base64 `data` is decoded.
    let repo = |url: &str| {
        let b64 = match url {
            "https://github.com/acme/app" => "aHR0cHM6Ly9naXRodWIuY29tL2FjbWUvYXBw",
            _ => "aHR0cHM6Ly9ldmlsLnRlc3QvYXBw", // https://evil.test/app
        };
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: repo\n  namespace: argocd\n  labels:\n    argocd.argoproj.io/secret-type: repository\ndata:\n  url: {b64}\n")
    };
    assert!(judge_added("r.yaml", &repo("https://github.com/acme/app"), &s).is_empty());
    let f = judge_added("r.yaml", &repo("evil"), &s);
    assert_eq!(rules_of(&f), ["external-endpoints"]);
    assert!(
        f[0].message.contains("`data.url (base64)`")
            && f[0].message.contains("https://evil.test/app"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].object.as_deref(), Some("Secret argocd/repo"));
    assert_eq!((f[0].line, f[0].column), (9, 8));
    let junk = repo("evil").replace("aHR0cHM6Ly9ldmlsLnRlc3QvYXBw", "not-base64!");
    let f = judge_added("r.yaml", &junk, &s);
    assert!(f[0].message.contains("is not base64"), "{}", f[0].message);
    // An Argo CD cluster Secret: the API server it deploys to.
    let cluster = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: prod\n  namespace: argocd\n  labels: {argocd.argoproj.io/secret-type: cluster}\nstringData:\n  name: prod\n  server: https://prod.k8s.evil.test:6443\n";
    let f = judge_added("c.yaml", cluster, &s);
    assert!(
        f[0].message.contains("`stringData.server`"),
        "{}",
        f[0].message
    );
    let inside = cluster.replace(
        "https://prod.k8s.evil.test:6443",
        "https://kubernetes.default.svc.cluster.local",
    );
    assert!(judge_added("c.yaml", &inside, &s).is_empty());
    // A Secret without the Argo CD label, and an APIService (in-cluster), are not endpoints.
    let plain = repo("evil").replace("argocd.argoproj.io/secret-type: repository", "app: x");
    assert!(judge_added("r.yaml", &plain, &s).is_empty());
    let api = "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1beta1.metrics.k8s.io}\nspec:\n  service: {name: metrics-server, namespace: kube-system}\n  group: metrics.k8s.io\n  version: v1beta1\n";
    assert!(judge_added("a.yaml", api, &s).is_empty());
    // Changed objects: an endpoint the old version had already is not reported again.
    let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: team-a}\nspec:\n  type: ExternalName\n  externalName: db.evil.test\n";
    let f = judge_modified(
        "s.yaml",
        svc,
        &format!("{svc}  ports: [{{port: 5432}}]\n"),
        &s,
    );
    assert!(f.is_empty(), "{f:?}");
    // Off unless named in `rules`.
    assert!(judge_added("s.yaml", svc, &settings(&[])).is_empty());
}

#[test]
fn allowed_endpoints_are_checked_when_the_policy_is_read() {
    let e = toml::from_str::<Settings>(
        "allowed_endpoints = [\"https://good.example.com@evil.test/\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("allowed_endpoints entry") && e.contains("line"),
        "{e}"
    );
    let s: Settings = toml::from_str(
        "rules = [\"external-endpoints\"]\nallowed_endpoints = [\"https://hooks.example.com/\", \"vault.example.com\", \"*.example.com\"]\n",
    )
    .unwrap();
    assert_eq!(s.allowed_endpoints.len(), 3);
}

#[test]
fn external_secrets_read_only_the_stores_their_namespace_may_use() {
    let mut s = settings(&[RuleId::SecretStores]);
    s.secret_stores
        .insert("team-a".into(), vec!["vault-team-a".into()]);
    s.secret_stores.insert("*".into(), vec!["shared".into()]);
    let es = |ns: &str, store_ref: &str| {
        format!("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: db, namespace: {ns}}}\nspec:\n  refreshInterval: 1h\n  secretStoreRef: {store_ref}\n  target: {{name: db}}\n  data:\n  - secretKey: password\n    remoteRef: {{key: db, property: password}}\n")
    };
    for (ns, r) in [
        ("team-a", "{name: vault-team-a, kind: ClusterSecretStore}"),
        ("team-b", "{name: shared, kind: ClusterSecretStore}"),
        ("team-b", "{name: own-store}"),
        ("team-b", "{name: own-store, kind: SecretStore}"),
    ] {
        assert!(
            judge_added("es.yaml", &es(ns, r), &s).is_empty(),
            "{ns} {r}"
        );
    }
    let f = judge_added(
        "es.yaml",
        &es("team-b", "{name: vault-team-a, kind: ClusterSecretStore}"),
        &s,
    );
    assert_eq!(rules_of(&f), ["secret-stores"]);
    assert!(
        f[0].message.contains("spec.secretStoreRef") && f[0].message.contains("`team-b`"),
        "{}",
        f[0].message
    );
    assert_eq!((f[0].line, f[0].column), (6, 26));
    // Per-item sourceRef.storeRef, and a PushSecret's stores.
    let per_item = es("team-b", "{name: own}").replace(
        "    remoteRef:",
        "    sourceRef: {storeRef: {name: vault-team-a, kind: ClusterSecretStore}}\n    remoteRef:",
    );
    assert_eq!(
        rules_of(&judge_added("es.yaml", &per_item, &s)),
        ["secret-stores"]
    );
    let push = "apiVersion: external-secrets.io/v1alpha1\nkind: PushSecret\nmetadata: {name: p, namespace: team-b}\nspec:\n  secretStoreRefs:\n  - {name: vault-team-a, kind: ClusterSecretStore}\n  selector: {secret: {name: db}}\n";
    assert_eq!(
        rules_of(&judge_added("p.yaml", push, &s)),
        ["secret-stores"]
    );
    // A ClusterSecretStore added, changed or removed is a finding (signers may).
    let css = "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec:\n  provider:\n    vault: {server: 'https://vault.example.com', path: secret}\n";
    assert_eq!(rules_of(&judge_added("c.yaml", css, &s)), ["secret-stores"]);
    let changed = css.replace("path: secret", "path: other");
    let f = judge_modified("c.yaml", css, &changed, &s);
    assert_eq!(rules_of(&f), ["secret-stores"]);
    assert_eq!(f[0].object.as_deref(), Some("ClusterSecretStore shared"));
    assert!(judge_modified("c.yaml", css, css, &s).is_empty());
    let removed = pushguard_manifest::judge(
        &[pushguard_manifest::FileChange {
            old: Some(pushguard_manifest::FileVersion {
                path: "c.yaml",
                bytes: css.as_bytes(),
            }),
            new: None,
        }],
        &s,
        &pushguard_manifest::Limits::default(),
        TODAY,
    );
    assert_eq!(rules_of(&removed), ["secret-stores"]);
    // Off unless named in `rules`.
    assert!(judge_added("c.yaml", css, &settings(&[])).is_empty());
}

/// A SealedSecret template value is sealed only when its actions render keys of
/// `encryptedData`; a Go-template constant is plaintext in Git.
#[test]
fn sealed_secret_templates_must_render_encrypted_data() {
    let s = settings(&[RuleId::PlaintextSecrets]);
    let sealed = |data: &str| {
        format!("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {{name: x, namespace: prod}}\nspec:\n  encryptedData: {{password: AgBy3i4OJSWK, user: AgC9sd}}\n  template:\n    data:\n      {data}\n")
    };
    for bad in [
        r#"password: '{{ "hunter2" }}'"#,
        r#"password: '{{- "hunter2" -}}'"#,
        r#"password: '{{ printf "%s" "hunter2" }}'"#,
        r#"password: '{{ index . "password" }}{{ "hunter2" }}'"#,
        r#"password: '{{ $p := "hunter2" }}{{ $p }}'"#,
        r#"password: '{{ .unsealed }}'"#,
        r#"password: '{{ index . "other" }}'"#,
        r#"password: '{{ .password | printf "%s-hunter2" }}'"#,
        r#"password: '{{ index . "password" '"#,
        r#"password: hunter2"#,
        r#"password: 12345"#,
    ] {
        let f = judge_added("ss.yaml", &sealed(bad), &s);
        assert_eq!(rules_of(&f), ["plaintext-secrets"], "{bad}: {f:?}");
        assert_eq!(f[0].line, 8, "{bad}");
        assert!(f[0].message.contains("`password`"), "{}", f[0].message);
    }
    let stringdata = sealed("password: '{{ .password }}'").replace("    data:", "    stringData:");
    assert_eq!(
        rules_of(&judge_added("ss.yaml", &stringdata, &s)),
        ["plaintext-secrets"]
    );
    // Controls: references to encrypted keys, with structure around them and filters.
    for good in [
        r#"password: '{{ index . "password" }}'"#,
        r#"password: '{{- index . `password` -}}'"#,
        r#"password: '{{ .password }}'"#,
        r#"dsn: 'postgres://{{ .user }}:{{ index . "password" }}@db:5432/app'"#,
        r#"password: '{{ .password | b64dec }}'"#,
        r#"password: null"#,
    ] {
        let f = judge_added("ss.yaml", &sealed(good), &s);
        assert!(f.is_empty(), "{good}: {f:?}");
    }
}

/// Powerful built-in ClusterRoles granted to every service account (or everyone), by a
/// ClusterRoleBinding or a RoleBinding.
#[test]
fn powerful_roles_bound_to_broad_groups() {
    let s = settings(&[RuleId::RbacSystemGroups]);
    let binding = |kind: &str, ref_kind: &str, role: &str, subject: &str| {
        let ns = if kind == "RoleBinding" {
            ", namespace: team-a"
        } else {
            ""
        };
        format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: b{ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {ref_kind}, name: {role}}}\nsubjects:\n- {{apiGroup: rbac.authorization.k8s.io, kind: Group, name: '{subject}'}}\n")
    };
    for kind in ["ClusterRoleBinding", "RoleBinding"] {
        for role in ["admin", "edit", "cluster-admin"] {
            for subject in [
                "system:serviceaccounts",
                "system:serviceaccounts:team-a",
                "system:authenticated",
                "system:unauthenticated",
                "system:anonymous",
            ] {
                let f = judge_added("b.yaml", &binding(kind, "ClusterRole", role, subject), &s);
                assert_eq!(
                    rules_of(&f),
                    ["rbac-system-groups"],
                    "{kind} {role} {subject}"
                );
                assert_eq!((f[0].line, f[0].column), (6, 60), "{kind} {role} {subject}");
                assert!(f[0].message.contains(role), "{}", f[0].message);
            }
        }
        // Controls: `view` for every service account, a named group, a namespaced Role that
        // is merely called `admin`.
        for (ref_kind, role, subject) in [
            ("ClusterRole", "view", "system:serviceaccounts"),
            ("ClusterRole", "admin", "team-a-admins"),
            ("ClusterRole", "edit", "system:serviceaccounts-not"),
            ("Role", "admin", "system:serviceaccounts:team-a"),
        ] {
            let f = judge_added("b.yaml", &binding(kind, ref_kind, role, subject), &s);
            assert!(f.is_empty(), "{kind} {ref_kind} {role} {subject}: {f:?}");
        }
        // Anyone is broad whatever the role.
        let f = judge_added(
            "b.yaml",
            &binding(kind, "ClusterRole", "view", "system:authenticated"),
            &s,
        );
        assert_eq!(rules_of(&f), ["rbac-system-groups"]);
    }
    // Raising the role of an existing broad binding is a new violation.
    let old = binding(
        "ClusterRoleBinding",
        "ClusterRole",
        "view",
        "system:serviceaccounts",
    );
    let new = binding(
        "ClusterRoleBinding",
        "ClusterRole",
        "edit",
        "system:serviceaccounts",
    );
    assert_eq!(
        rules_of(&judge_modified("b.yaml", &old, &new, &s)),
        ["rbac-system-groups"]
    );
}

/// A Role's rules on cluster-scoped resources grant nothing (a RoleBinding only grants
/// requests within its namespace): they are not escalation there, while the same rules in a
/// ClusterRole are.
#[test]
fn role_rules_on_cluster_scoped_resources_grant_nothing() {
    let s = settings(&[RuleId::RbacEscalation]);
    let role = |kind: &str, rule: &str| {
        let ns = if kind == "Role" {
            ", namespace: team-a"
        } else {
            ""
        };
        format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {{name: r{ns}}}\nrules:\n- {rule}\n")
    };
    let cluster_only = [
        "{apiGroups: [admissionregistration.k8s.io], resources: [mutatingwebhookconfigurations], verbs: [create, update]}",
        "{apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [patch]}",
        "{apiGroups: [''], resources: [nodes/proxy], verbs: [get]}",
        "{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate, bind]}",
        "{apiGroups: [''], resources: [users, groups], verbs: [impersonate]}",
        "{apiGroups: [admissionregistration.k8s.io, certificates.k8s.io], resources: ['*'], verbs: [create, update, approve]}",
    ];
    for rule in cluster_only {
        let f = judge_added("r.yaml", &role("Role", rule), &s);
        assert!(f.is_empty(), "Role {rule}: {f:?}");
        let f = judge_added("r.yaml", &role("ClusterRole", rule), &s);
        assert!(!f.is_empty(), "ClusterRole {rule}");
        assert!(f.iter().all(|f| f.rule == "rbac-escalation"), "{f:?}");
    }
    // CSR approval needs both resources, both cluster-scoped.
    let csr = "{apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval, signers], verbs: [update, approve]}";
    assert!(judge_added("r.yaml", &role("Role", csr), &s).is_empty());
    assert_eq!(
        rules_of(&judge_added("r.yaml", &role("ClusterRole", csr), &s)),
        ["rbac-escalation"]
    );
    // Controls: namespaced escalations stay findings in a Role, explicit or through `*`.
    for rule in [
        "{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate]}",
        "{apiGroups: [''], resources: [pods/exec], verbs: [create]}",
        "{apiGroups: [''], resources: [serviceaccounts], verbs: [impersonate]}",
        "{apiGroups: ['*'], resources: ['*'], verbs: ['*']}",
    ] {
        let f = judge_added("r.yaml", &role("Role", rule), &s);
        assert!(
            rules_of(&f).contains(&"rbac-escalation"),
            "Role {rule}: {f:?}"
        );
    }
    let everything = judge_added(
        "r.yaml",
        &role("Role", "{apiGroups: ['*'], resources: ['*'], verbs: ['*']}"),
        &s,
    );
    assert!(
        everything.iter().all(|f| !f.message.contains("webhooks")
            && !f.message.contains("certificate")
            && !f.message.contains("kubelet")),
        "{everything:?}"
    );
}

/// Adding back a capability of the runtime's default set (the Pod Security baseline list)
/// after dropping ALL is hardening; capabilities beyond it are dangerous whatever is dropped.
#[test]
fn default_capabilities_added_back_are_not_dangerous() {
    let s = settings(&[RuleId::DangerousCapabilities]);
    for cap in [
        "NET_BIND_SERVICE",
        "DAC_OVERRIDE",
        "CHOWN",
        "SETUID",
        "CAP_KILL",
    ] {
        let d = deployment(
            "api",
            &format!("{{capabilities: {{drop: [ALL], add: [{cap}]}}}}"),
        );
        assert!(judge_added("d.yaml", &d, &s).is_empty(), "{cap}");
    }
    for cap in ["SYS_ADMIN", "NET_ADMIN", "NET_RAW", "ALL", "CAP_SYS_PTRACE"] {
        let d = deployment(
            "api",
            &format!("{{capabilities: {{drop: [ALL], add: [{cap}]}}}}"),
        );
        assert_eq!(
            rules_of(&judge_added("d.yaml", &d, &s)),
            ["dangerous-capabilities"],
            "{cap}"
        );
    }
}

/// Sources pinned by URL only: the ref they deploy must be one `source_refs` allows.
#[test]
fn flux_git_repository_refs() {
    let s = gitops();
    let with_ref = |r: &str| format!("{}  ref: {r}\n", gitrepo("https://github.com/acme/fleet"));
    let sha = "0123456789abcdef0123456789abcdef01234567";
    // Allowed by the default (main, master, HEAD), or pinned.
    for ok in [
        "{branch: main}".to_string(),
        "{branch: master}".to_string(),
        "{name: refs/heads/main}".to_string(),
        format!("{{commit: {sha}}}"),
        format!("{{branch: feature-x, commit: {sha}}}"),
    ] {
        let f = judge_added("gr.yaml", &with_ref(&ok), &s);
        assert!(f.is_empty(), "{ok}: {f:?}");
    }
    // No ref: Flux deploys `master`.
    assert!(judge_added("gr.yaml", &gitrepo("https://github.com/acme/fleet"), &s).is_empty());
    for (bad, named) in [
        ("{branch: feature-x}", "`feature-x`"),
        ("{tag: v1.2.0}", "`v1.2.0`"),
        ("{semver: '>=1.0.0'}", "`>=1.0.0`"),
        ("{name: refs/pull/7/head}", "`refs/pull/7/head`"),
        ("{commit: abc1234}", "`abc1234`"),
        ("{branch: '{{ .branch }}'}", "templated"),
        ("{branch: main, tag: v9}", "`v9`"),
    ] {
        let f = judge_added("gr.yaml", &with_ref(bad), &s);
        assert_eq!(rules_of(&f), ["gitops-sources"], "{bad}");
        assert_eq!(f[0].line, 9, "{bad}");
        assert!(f[0].message.contains(named), "{bad}: {}", f[0].message);
        assert!(
            f[0].fix.contains("source_refs") || f[0].fix.contains("commit SHA"),
            "{}",
            f[0].fix
        );
    }
    // Tags allowed by a glob over the full name; a semver range only by one admitting every tag.
    let tags = Settings {
        source_refs: vec!["main".to_string(), "refs/tags/v*".to_string()],
        ..gitops()
    };
    assert!(judge_added("gr.yaml", &with_ref("{tag: v1.2.0}"), &tags).is_empty());
    assert!(judge_added("gr.yaml", &with_ref("{name: refs/tags/v1.2.0}"), &tags).is_empty());
    assert_eq!(
        judge_added("gr.yaml", &with_ref("{semver: '>=1.0.0'}"), &tags).len(),
        1
    );
    assert_eq!(
        judge_added("gr.yaml", &with_ref("{tag: x1}"), &tags).len(),
        1
    );
    let all_tags = Settings {
        source_refs: vec!["refs/tags/*".to_string()],
        ..gitops()
    };
    assert!(judge_added("gr.yaml", &with_ref("{semver: '>=1.0.0'}"), &all_tags).is_empty());
    // Without master in the list, no ref at all is a finding; a patch without ref is not.
    let main_only = Settings {
        source_refs: vec!["main".to_string()],
        ..gitops()
    };
    let f = judge_added(
        "gr.yaml",
        &gitrepo("https://github.com/acme/fleet"),
        &main_only,
    );
    assert_eq!(rules_of(&f), ["gitops-sources"]);
    assert!(f[0].message.contains("`master`"), "{}", f[0].message);
    let patch = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\npatches:\n- patch: |\n    apiVersion: source.toolkit.fluxcd.io/v1\n    kind: GitRepository\n    metadata: {name: fleet}\n    spec: {interval: 5m}\n";
    assert!(judge_added("kustomization.yaml", patch, &main_only).is_empty());
    // Switching an existing source to another branch is new.
    let f = judge_modified(
        "gr.yaml",
        &with_ref("{branch: main}"),
        &with_ref("{branch: dev}"),
        &s,
    );
    assert_eq!(rules_of(&f), ["gitops-sources"]);
}

#[test]
fn argo_cd_target_revisions() {
    let s = gitops();
    let app = |source: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: a, namespace: argocd}}\nspec:\n  project: p\n  destination: {{server: https://kubernetes.default.svc, namespace: prod}}\n  {source}\n")
    };
    let sha = "0123456789abcdef0123456789abcdef01234567";
    for ok in [
        "source: {repoURL: https://github.com/acme/app, path: deploy, targetRevision: HEAD}".to_string(),
        "source: {repoURL: https://github.com/acme/app, path: deploy}".to_string(),
        "source: {repoURL: https://github.com/acme/app, path: deploy, targetRevision: main}".to_string(),
        "source: {repoURL: https://github.com/acme/app, path: deploy, targetRevision: refs/heads/main}".to_string(),
        format!("source: {{repoURL: https://github.com/acme/app, path: deploy, targetRevision: {sha}}}"),
        // A Helm chart's targetRevision is a chart version, not a Git ref.
        "source: {repoURL: https://github.com/acme/charts, chart: app, targetRevision: 1.2.3}".to_string(),
    ] {
        let f = judge_added("app.yaml", &app(&ok), &s);
        assert!(f.is_empty(), "{ok}: {f:?}");
    }
    let f = judge_added(
        "app.yaml",
        &app("source: {repoURL: https://github.com/acme/app, path: deploy, targetRevision: dev}"),
        &s,
    );
    assert_eq!(rules_of(&f), ["gitops-sources"]);
    assert!(f[0].message.contains("`dev`"), "{}", f[0].message);
    assert_eq!(f[0].line, 7);
    // Each of several sources.
    let multi = app("sources:\n  - {repoURL: https://github.com/acme/app, path: a, targetRevision: main}\n  - {repoURL: https://github.com/acme/values, targetRevision: feature/x, ref: values}");
    let f = judge_added("app.yaml", &multi, &s);
    assert_eq!(rules_of(&f), ["gitops-sources"], "{f:?}");
    assert!(f[0].message.contains("`feature/x`"), "{}", f[0].message);
    assert_eq!(f[0].line, 9);
    // ApplicationSet: the template and the git generator's revision.
    let appset = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: s, namespace: argocd}\nspec:\n  generators:\n  - git: {repoURL: https://github.com/acme/fleet, revision: dev, directories: [{path: apps/*}]}\n  template:\n    metadata: {name: '{{path.basename}}'}\n    spec:\n      project: p\n      source: {repoURL: https://github.com/acme/fleet, path: '{{path}}', targetRevision: staging}\n      destination: {server: https://kubernetes.default.svc, namespace: prod}\n";
    let f = judge_added("appset.yaml", appset, &s);
    let lines: Vec<u32> = f.iter().map(|f| f.line).collect();
    assert_eq!(rules_of(&f), ["gitops-sources", "gitops-sources"], "{f:?}");
    assert_eq!(lines, [6, 11]);
}

#[test]
fn kustomize_remote_refs() {
    let s = gitops();
    let k = |r: &str| {
        format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- https://github.com/acme/base//deploy{r}\n")
    };
    let sha = "0123456789abcdef0123456789abcdef01234567";
    for ok in [
        String::new(),
        "?ref=main".to_string(),
        format!("?ref={sha}"),
        "?timeout=90s&ref=master".to_string(),
    ] {
        assert!(
            judge_added("kustomization.yaml", &k(&ok), &s).is_empty(),
            "{ok}"
        );
    }
    for bad in ["?ref=dev", "?version=v2", "?timeout=9s&ref=feature/y"] {
        let f = judge_added("kustomization.yaml", &k(bad), &s);
        assert_eq!(rules_of(&f), ["gitops-sources"], "{bad}");
        assert_eq!(f[0].line, 4);
    }
}

#[test]
fn source_refs_in_the_policy() {
    let s: Settings = toml::from_str(
        "rules = [\"gitops-sources\"]\nsource_refs = [\"main\", \"refs/tags/v*\"]\n",
    )
    .unwrap();
    assert_eq!(s.source_refs, ["main", "refs/tags/v*"]);
    let default: Settings = toml::from_str("rules = [\"gitops-sources\"]\n").unwrap();
    assert_eq!(default.source_refs, ["main", "master", "HEAD"]);
}
