//! Helm values judged as the pod settings they will become: Flux HelmRelease values, valuesFrom
//! target paths and post-renderers; Argo CD Application and ApplicationSet helm sources
//! (values strings, valuesObject, `--set` parameters, fileParameters, multiple sources).

mod common;

use common::*;
use pushguard_manifest::helm::{self, ExternalValues, SetSegment};
use pushguard_manifest::object::objects_of;
use pushguard_manifest::yaml::{self, LoadStats};
use pushguard_manifest::{Finding, Limits, RuleId, Settings};

const NOTE: &str = "in Helm values (the chart's templates are not rendered)";

fn all_helm_rules() -> Settings {
    Settings {
        rules: vec![
            RuleId::Privileged,
            RuleId::PrivilegeEscalation,
            RuleId::HostNamespaces,
            RuleId::HostPath,
            RuleId::SensitiveHostMounts,
            RuleId::HostPorts,
            RuleId::DangerousCapabilities,
            RuleId::RunAsRoot,
            RuleId::ImageRegistries,
        ],
        image_registries: vec!["ghcr.io/acme/".to_string()],
        ..Settings::default()
    }
}

/// 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let i = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in the fixture"));
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}

fn only<'a>(f: &'a [Finding], rule: &str) -> &'a Finding {
    assert_eq!(rules_of(f), [rule], "{f:#?}");
    &f[0]
}

fn helm_release(values: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ingress
  namespace: prod
spec:
  interval: 10m
  chart:
    spec:
      chart: ingress-nginx
      sourceRef: {{kind: HelmRepository, name: ingress-nginx}}
  values:
{values}"
    )
}

fn argo_app(helm: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ingress
  namespace: argocd
spec:
  project: default
  destination: {{server: https://kubernetes.default.svc, namespace: prod}}
  source:
    repoURL: https://github.com/acme/charts
    path: charts/ingress
    helm:
{helm}"
    )
}

// ------------------------------------------------------------------ Flux spec.values

#[test]
fn flux_values_privileged_is_refused_nested_at_its_line() {
    let text = helm_release(
        "    controller:
      podSecurityContext: {runAsNonRoot: true}
      containerSecurityContext:
        privileged: true
",
    );
    let f = judge_added("rel.yaml", &text, &settings(&[RuleId::Privileged]));
    let hit = only(&f, "privileged");
    assert_eq!(hit.line, line_of(&text, "privileged: true"));
    assert_eq!(hit.column, 21);
    assert!(hit.message.contains(NOTE), "{}", hit.message);
    assert!(
        hit.message
            .contains("controller.containerSecurityContext.privileged"),
        "{}",
        hit.message
    );
    assert_eq!(hit.object.as_deref(), Some("HelmRelease prod/ingress"));

    let control = helm_release(
        "    controller:
      containerSecurityContext:
        privileged: false
      securityContext: {}
",
    );
    assert!(judge_added("rel.yaml", &control, &all_helm_rules()).is_empty());
}

#[test]
fn flux_values_host_namespaces_read_as_yaml_1_1_and_as_rendered_text() {
    for (value, refused) in [
        ("yes", true),
        ("on", true),
        ("\"true\"", true),
        ("'True'", true),
        ("false", false),
        ("\"no\"", false),
        ("null", false),
    ] {
        let text = helm_release(&format!("    hostNetwork: {value}\n    hostPID: false\n"));
        let f = judge_added("rel.yaml", &text, &settings(&[RuleId::HostNamespaces]));
        if refused {
            let hit = only(&f, "host-namespaces");
            assert_eq!(hit.line, line_of(&text, "hostNetwork"), "{value}");
        } else {
            assert!(f.is_empty(), "{value}: {f:#?}");
        }
    }
    let text = helm_release("    daemonset:\n      hostPID: true\n      hostIPC: true\n");
    let f = judge_added("rel.yaml", &text, &settings(&[RuleId::HostNamespaces]));
    assert_eq!(rules_of(&f), ["host-namespaces", "host-namespaces"]);
    assert_eq!(f[0].line, line_of(&text, "hostPID"));
    assert_eq!(f[1].line, line_of(&text, "hostIPC"));
}

#[test]
fn flux_values_escalation_root_capabilities() {
    let text = helm_release(
        "    securityContext:
      allowPrivilegeEscalation: true
      runAsUser: 0
      capabilities:
        add: [NET_BIND_SERVICE, cap_sys_admin]
    podSecurityContext:
      runAsNonRoot: false
",
    );
    let f = judge_added("rel.yaml", &text, &all_helm_rules());
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            (
                "privilege-escalation",
                line_of(&text, "allowPrivilegeEscalation")
            ),
            ("run-as-root", line_of(&text, "runAsUser")),
            ("dangerous-capabilities", line_of(&text, "add:")),
            ("run-as-root", line_of(&text, "runAsNonRoot")),
        ]
    );
    assert!(f[2].message.contains("cap_sys_admin"), "{}", f[2].message);

    // A chart's safe settings, and an empty securityContext (absence is not judged in values).
    let control = helm_release(
        "    securityContext:
      allowPrivilegeEscalation: false
      runAsUser: 1000
      runAsNonRoot: true
      capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}
    sidecar:
      securityContext: {}
",
    );
    assert!(judge_added("rel.yaml", &control, &all_helm_rules()).is_empty());
}

#[test]
fn flux_values_host_paths_and_ports() {
    let text = helm_release(
        "    extraVolumes:
      - name: docker
        hostPath:
          path: /var/run/docker.sock
    logs:
      hostPath: /var/log/app
    controller:
      hostPort: {enabled: true}
",
    );
    let f = judge_added("rel.yaml", &text, &all_helm_rules());
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            ("host-path", line_of(&text, "docker.sock")),
            ("sensitive-host-mounts", line_of(&text, "docker.sock")),
            ("host-path", line_of(&text, "/var/log/app")),
            ("host-ports", line_of(&text, "hostPort")),
        ]
    );
    let control = helm_release(
        "    extraVolumes:
      - name: data
        emptyDir: {}
    logs:
      hostPath: {enabled: false, path: /var/log}
    controller:
      hostPort: {enabled: false}
",
    );
    assert!(judge_added("rel.yaml", &control, &all_helm_rules()).is_empty());
}

#[test]
fn flux_values_sidecar_lists_are_walked() {
    let text = helm_release(
        "    sidecars:
      - name: ok
        securityContext: {privileged: false}
      - name: bad
        securityContext:
          privileged: On
",
    );
    let f = judge_added("rel.yaml", &text, &settings(&[RuleId::Privileged]));
    let hit = only(&f, "privileged");
    assert_eq!(hit.line, line_of(&text, "privileged: On"));
    assert!(
        hit.message
            .contains("sidecars[1].securityContext.privileged"),
        "{}",
        hit.message
    );
}

#[test]
fn flux_values_images_against_image_registries() {
    let s = settings(&[RuleId::ImageRegistries]);
    let s = Settings {
        image_registries: vec!["ghcr.io/acme/".to_string()],
        ..s
    };
    // registry + repository (+ tag and digest)
    let text = helm_release(
        "    image:
      registry: docker.io
      repository: bitnami/nginx
      tag: 1.25.0
      digest: sha256:0123
",
    );
    let hit = only(&judge_added("rel.yaml", &text, &s), "image-registries").clone();
    assert_eq!(hit.line, line_of(&text, "registry: docker.io"));
    assert!(
        hit.message
            .contains("docker.io/bitnami/nginx:1.25.0@sha256:0123"),
        "{}",
        hit.message
    );
    // repository alone, normalised as the pod rule does
    let text = helm_release("    image:\n      repository: nginx\n      tag: '1.25'\n");
    let hit = only(&judge_added("rel.yaml", &text, &s), "image-registries").clone();
    assert!(
        hit.message.contains("docker.io/library/nginx"),
        "{}",
        hit.message
    );
    // an image string, under any key ending in `image`
    let text = helm_release("    init:\n      busyboxImage: 'busybox:1.36'\n");
    let hit = only(&judge_added("rel.yaml", &text, &s), "image-registries").clone();
    assert_eq!(hit.line, line_of(&text, "busyboxImage"));
    // global.imageRegistry: alone, and as the registry of every image map
    let text = helm_release(
        "    global:
      imageRegistry: quay.io
    image:
      registry: ghcr.io
      repository: acme/nginx
",
    );
    let f = judge_added("rel.yaml", &text, &s);
    assert_eq!(
        rules_of(&f),
        ["image-registries", "image-registries"],
        "{f:#?}"
    );
    assert_eq!(f[0].line, line_of(&text, "imageRegistry: quay.io"));
    assert!(
        f[1].message.contains("quay.io/acme/nginx"),
        "{}",
        f[1].message
    );
    // ingress-nginx's shape: {registry, image, tag}
    let text = helm_release(
        "    controller:
      image:
        registry: registry.k8s.io
        image: ingress-nginx/controller
        tag: v1.11.0
",
    );
    let hit = only(&judge_added("rel.yaml", &text, &s), "image-registries").clone();
    assert!(
        hit.message
            .contains("registry.k8s.io/ingress-nginx/controller"),
        "{}",
        hit.message
    );

    // Controls: the same shapes from the allowed registry.
    for values in [
        "    image:\n      registry: ghcr.io\n      repository: acme/nginx\n      tag: 1.25.0\n",
        "    image:\n      repository: ghcr.io/acme/nginx\n      pullPolicy: Always\n",
        "    init:\n      busyboxImage: ghcr.io/acme/busybox:1.36\n",
        "    global:\n      imageRegistry: ghcr.io/acme\n    image:\n      repository: nginx\n",
        "    controller:\n      image: {registry: ghcr.io/acme, image: ingress-nginx/controller, tag: v1}\n",
        "    imagePullSecrets: [{name: regcred}]\n    image: {pullPolicy: IfNotPresent}\n",
    ] {
        let f = judge_added("rel.yaml", &helm_release(values), &s);
        assert!(f.is_empty(), "{values}: {f:#?}");
    }
}

#[test]
fn flux_rules_not_enabled_report_nothing_and_old_violations_are_not_new() {
    let text = helm_release("    securityContext: {privileged: true}\n");
    assert!(judge_added("rel.yaml", &text, &settings(&[RuleId::HostPath])).is_empty());
    let s = settings(&[RuleId::Privileged]);
    let changed = helm_release("    securityContext: {privileged: true}\n    replicaCount: 2\n");
    assert!(judge_modified("rel.yaml", &text, &changed, &s).is_empty());
    let added = helm_release(
        "    securityContext: {privileged: true}\n    sidecar: {securityContext: {privileged: true}}\n",
    );
    let f = judge_modified("rel.yaml", &text, &added, &s);
    assert!(
        only(&f, "privileged")
            .message
            .contains("sidecar.securityContext"),
        "{f:#?}"
    );
}

// ------------------------------------------------------------------ Flux valuesFrom

#[test]
fn flux_values_from_target_paths_at_security_fields_are_unknown() {
    let text = "apiVersion: helm.toolkit.fluxcd.io/v2beta2
kind: HelmRelease
metadata: {name: api, namespace: prod}
spec:
  chart: {spec: {chart: api, sourceRef: {kind: GitRepository, name: fleet}}}
  valuesFrom:
    - kind: ConfigMap
      name: api-values
    - kind: Secret
      name: api-flags
      valuesKey: priv
      targetPath: sidecars[0].securityContext.privileged
    - kind: ConfigMap
      name: api-replicas
      targetPath: replicaCount
";
    let f = judge_added("rel.yaml", text, &all_helm_rules());
    let hit = only(&f, "privileged");
    assert_eq!(hit.line, line_of(text, "targetPath: sidecars"));
    assert!(
        hit.message.contains("Secret `api-flags`"),
        "{}",
        hit.message
    );
    assert!(hit.message.contains("cannot be judged"), "{}", hit.message);

    // The whole values documents taken from elsewhere are listed for the caller.
    let objs = objects_of(
        "rel.yaml",
        yaml::load(text.as_bytes(), &Limits::default()).unwrap_or_default(),
        &Limits::default(),
        &mut LoadStats::default(),
    )
    .unwrap_or_default();
    let ext: Vec<ExternalValues> = objs.iter().flat_map(helm::external_values).collect();
    let names: Vec<(&str, &str, Option<&str>, Option<&str>)> = ext
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.name.as_str(),
                e.key.as_deref(),
                e.target_path.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("ConfigMap", "api-values", Some("values.yaml"), None),
            (
                "Secret",
                "api-flags",
                Some("priv"),
                Some("sidecars[0].securityContext.privileged")
            ),
            (
                "ConfigMap",
                "api-replicas",
                Some("values.yaml"),
                Some("replicaCount")
            ),
        ]
    );
    assert!(ext.iter().all(|e| e.namespace == "prod" && !e.optional));
    assert_eq!(ext[0].line, line_of(text, "kind: ConfigMap"));
}

#[test]
fn a_values_document_found_elsewhere_is_judged_by_the_public_function() {
    // What a caller does with a ConfigMap named by valuesFrom.
    let cm = "apiVersion: v1
kind: ConfigMap
metadata: {name: api-values, namespace: prod}
data:
  values.yaml: |
    controller:
      securityContext:
        privileged: true
    image:
      repository: ghcr.io/acme/api
";
    let docs = yaml::load(cm.as_bytes(), &Limits::default()).unwrap_or_default();
    let node = docs[0]
        .path(&["data", "values.yaml"])
        .expect("the fixture has values");
    let values = helm::load_values_string(node, &Limits::default()).unwrap_or_default();
    assert_eq!(values.len(), 1);
    let hits = helm::judge_values(&values[0], "ConfigMap prod/api-values", &all_helm_rules());
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(hits[0].rule, RuleId::Privileged);
    assert_eq!(hits[0].line, line_of(cm, "privileged: true"));
    assert_eq!(hits[0].column, 21);
    assert!(hits[0].key.starts_with("helm/ConfigMap prod/api-values/"));

    let safe = values[0].clone();
    let control = helm::judge_values(
        safe.get("image").expect("image in the fixture"),
        "ConfigMap prod/api-values",
        &all_helm_rules(),
    );
    assert!(control.is_empty(), "{control:#?}");
}

// ------------------------------------------------------------------ Flux post-renderers

#[test]
fn flux_post_renderer_patches_are_judged_as_objects() {
    let text = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: api, namespace: prod}
spec:
  chart: {spec: {chart: api, sourceRef: {kind: HelmRepository, name: acme}}}
  postRenderers:
    - kustomize:
        patches:
          - target: {kind: Deployment, name: api}
            patch: |
              apiVersion: apps/v1
              kind: Deployment
              metadata: {name: api}
              spec:
                template:
                  spec:
                    hostNetwork: true
        patchesStrategicMerge:
          - apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: agent}
            spec:
              template:
                spec:
                  containers:
                    - name: agent
                      securityContext: {privileged: true}
        patchesJson6902:
          - target: {group: apps, version: v1, kind: Deployment, name: api}
            patch:
              - op: add
                path: /spec/template/spec/hostPID
                value: true
        images:
          - name: api
            newName: docker.io/evil/api
            newTag: '1.0'
";
    let f = judge_added("rel.yaml", text, &all_helm_rules());
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            ("host-namespaces", line_of(text, "hostNetwork: true")),
            ("privileged", line_of(text, "privileged: true")),
            ("host-namespaces", line_of(text, "value: true")),
            ("image-registries", line_of(text, "newName")),
        ],
        "{f:#?}"
    );
    assert_eq!(f[1].container.as_deref(), Some("agent"));
    assert!(
        f[1].message
            .contains("spec.postRenderers[0].kustomize patch of DaemonSet `agent`"),
        "{}",
        f[1].message
    );
    assert!(
        f[3].message.contains("docker.io/evil/api:1.0"),
        "{}",
        f[3].message
    );

    let control = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: api, namespace: prod}
spec:
  chart: {spec: {chart: api, sourceRef: {kind: HelmRepository, name: acme}}}
  postRenderers:
    - kustomize:
        patches:
          - target: {kind: Deployment, name: api}
            patch: |
              - op: add
                path: /spec/replicas
                value: 3
        patchesStrategicMerge:
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {name: api}
            spec:
              template:
                spec:
                  containers:
                    - name: api
                      securityContext: {privileged: false, allowPrivilegeEscalation: false}
        images:
          - name: api
            newName: ghcr.io/acme/api
            newTag: '1.1'
";
    let f = judge_added("rel.yaml", control, &all_helm_rules());
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn a_kustomize_patch_of_a_helm_release_is_judged_as_values() {
    let text = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [release.yaml]
patches:
  - target: {kind: HelmRelease, name: api}
    patch: |
      apiVersion: helm.toolkit.fluxcd.io/v2
      kind: HelmRelease
      metadata: {name: api}
      spec:
        values:
          securityContext:
            privileged: true
";
    let f = judge_added("apps/kustomization.yaml", text, &all_helm_rules());
    let hit = only(&f, "privileged");
    assert_eq!(hit.line, line_of(text, "privileged: true"));
}

// ------------------------------------------------------------------ Argo CD

#[test]
fn argo_values_string_is_parsed_with_positions_in_the_file() {
    let text = argo_app(
        "      values: |
        controller:
          podSecurityContext:
            runAsUser: 0
          hostNetwork: true
",
    );
    let f = judge_added("app.yaml", &text, &all_helm_rules());
    let got: Vec<(&str, u32, u32)> = f
        .iter()
        .map(|f| (f.rule.as_str(), f.line, f.column))
        .collect();
    assert_eq!(
        got,
        [
            ("run-as-root", line_of(&text, "runAsUser"), 24),
            ("host-namespaces", line_of(&text, "hostNetwork"), 24),
        ]
    );
    assert!(
        f[0].message.contains("spec.source.helm.values"),
        "{}",
        f[0].message
    );

    let control = argo_app(
        "      values: |
        controller:
          podSecurityContext: {runAsUser: 1000, runAsNonRoot: true}
          hostNetwork: false
          securityContext: {}
",
    );
    assert!(judge_added("app.yaml", &control, &all_helm_rules()).is_empty());
}

#[test]
fn argo_unreadable_values_string_is_refused() {
    let text = argo_app("      values: |\n        a: 1\n        a: 2\n");
    let f = judge_added("app.yaml", &text, &settings(&[RuleId::Privileged]));
    let hit = only(&f, "privileged");
    assert_eq!(hit.line, line_of(&text, "a: 2"));
    assert!(hit.message.contains("cannot be judged"), "{}", hit.message);
}

#[test]
fn argo_values_object_and_multiple_sources() {
    let text = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: mon, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: monitoring}
  sources:
    - repoURL: https://github.com/acme/values
      ref: values
    - repoURL: https://github.com/acme/charts
      path: charts/node-exporter
      helm:
        valueFiles: [$values/node-exporter/prod.yaml]
        valuesObject:
          hostPID: true
          image:
            repository: quay.io/prometheus/node-exporter
";
    let f = judge_added("app.yaml", text, &all_helm_rules());
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            ("host-namespaces", line_of(text, "hostPID")),
            ("image-registries", line_of(text, "quay.io")),
        ]
    );
    assert!(f[0].message.contains("spec.sources[1].helm.valuesObject"));

    let objs = objects_of(
        "app.yaml",
        yaml::load(text.as_bytes(), &Limits::default()).unwrap_or_default(),
        &Limits::default(),
        &mut LoadStats::default(),
    )
    .unwrap_or_default();
    let ext: Vec<ExternalValues> = objs.iter().flat_map(helm::external_values).collect();
    assert_eq!(ext.len(), 1);
    assert_eq!(
        (
            ext[0].kind.as_str(),
            ext[0].name.as_str(),
            ext[0].scope.as_str()
        ),
        (
            "ValuesFile",
            "$values/node-exporter/prod.yaml",
            "spec.sources[1]"
        )
    );

    let control = text
        .replace("hostPID: true", "hostPID: false")
        .replace("quay.io/prometheus", "ghcr.io/acme");
    assert!(judge_added("app.yaml", &control, &all_helm_rules()).is_empty());
}

#[test]
fn argo_parameters_follow_helm_set_syntax() {
    let text = argo_app(
        "      parameters:
        - name: sidecars[0].securityContext.privileged
          value: 'true'
        - name: controller.podSecurityContext.runAsUser
          value: '0'
        - name: podAnnotations.container\\.apparmor\\.security\\.beta\\.kubernetes\\.io/app
          value: runtime/default
",
    );
    let f = judge_added("app.yaml", &text, &all_helm_rules());
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            ("privileged", line_of(&text, "value: 'true'")),
            ("run-as-root", line_of(&text, "value: '0'")),
        ]
    );
    assert!(
        f[0].message
            .contains("sidecars[0].securityContext.privileged"),
        "{}",
        f[0].message
    );

    // An escaped dot makes one key: `securityContext.privileged` is not the field.
    let escaped = argo_app(
        "      parameters:
        - name: podLabels.securityContext\\.privileged
          value: 'true'
        - name: nodeSelector.kubernetes\\.io/os
          value: linux
        - name: controller.hostNetwork
          value: 'false'
",
    );
    let f = judge_added("app.yaml", &escaped, &all_helm_rules());
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn argo_parameter_names_cannot_smuggle_assignments() {
    // Argo CD passes the name unescaped: `--set x=1,hostNetwork=true`.
    let text = argo_app(
        "      parameters:
        - name: x=1,hostNetwork
          value: 'true'
        - name: tolerations
          value: '{a,b}'
        - name: forced.privileged
          value: 'TRUE'
          forceString: true
",
    );
    let f = judge_added("app.yaml", &text, &all_helm_rules());
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            ("host-namespaces", line_of(&text, "value: 'true'")),
            ("privileged", line_of(&text, "value: 'TRUE'")),
        ],
        "{f:#?}"
    );
    let broken = argo_app("      parameters:\n        - name: a[x].b\n          value: '1'\n");
    let f = judge_added("app.yaml", &broken, &settings(&[RuleId::Privileged]));
    assert_eq!(only(&f, "privileged").line, line_of(&broken, "name: a[x]"));
}

#[test]
fn argo_file_parameters_at_security_fields_are_unknown() {
    let text = argo_app(
        "      fileParameters:
        - name: securityContext.privileged
          path: flags/privileged.txt
        - name: config
          path: files/config.json
",
    );
    let f = judge_added("app.yaml", &text, &all_helm_rules());
    let hit = only(&f, "privileged");
    assert_eq!(hit.line, line_of(&text, "name: securityContext"));
    assert!(
        hit.message.contains("flags/privileged.txt"),
        "{}",
        hit.message
    );
}

#[test]
fn argo_application_set_templates_and_generators() {
    let text = "apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: agents, namespace: argocd}
spec:
  goTemplate: true
  generators:
    - list:
        elements: [{cluster: a}]
        template:
          metadata: {}
          spec:
            project: default
            source:
              repoURL: https://github.com/acme/charts
              helm:
                valuesObject: {hostIPC: true}
  template:
    metadata: {name: 'agent-{{.cluster}}'}
    spec:
      project: default
      destination: {server: https://kubernetes.default.svc, namespace: agents}
      source:
        repoURL: https://github.com/acme/charts
        path: charts/agent
        helm:
          values: |
            replicaCount: {{ .replicas }}
            nameOverride: agent-{{.cluster}}
            securityContext:
              privileged: {{ .privileged }}
";
    let f = judge_added("appset.yaml", text, &all_helm_rules());
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            ("host-namespaces", line_of(text, "hostIPC")),
            ("privileged", line_of(text, "privileged: {{")),
        ],
        "{f:#?}"
    );
    assert!(f[1].message.contains("template"), "{}", f[1].message);

    let control = text
        .replace("{hostIPC: true}", "{hostIPC: false}")
        .replace("privileged: {{ .privileged }}", "privileged: false");
    assert!(judge_added("appset.yaml", &control, &all_helm_rules()).is_empty());
}

#[test]
fn parse_set_is_public_and_escapes_like_helm() {
    let a = helm::parse_set(r"a\.b[2].c=1", false).unwrap_or_default();
    assert_eq!(
        a.first().map(|a| a.path.clone()),
        Some(vec![
            SetSegment::Key("a.b".to_string()),
            SetSegment::Index(2),
            SetSegment::Key("c".to_string()),
        ])
    );
}

// ------------------------------------------------------------------ Pod Security Standards

#[test]
fn pod_security_alone_sees_helm_values() {
    use pushguard_manifest::{PodSecurity, PodSecurityLevel, PodSecurityVersion};
    let policy = |level| Settings {
        pod_security: Some(PodSecurity {
            level,
            version: PodSecurityVersion::Latest,
        }),
        ..Settings::default()
    };
    let text = helm_release(
        "    securityContext:
      privileged: true
      runAsUser: 0
      capabilities: {add: [SYS_ADMIN, CHOWN]}
",
    );
    let f = judge_added("rel.yaml", &text, &policy(PodSecurityLevel::Baseline));
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            ("pod-security.baseline", line_of(&text, "privileged")),
            ("pod-security.baseline", line_of(&text, "capabilities")),
        ],
        "{f:#?}"
    );
    assert!(f[1].message.contains("SYS_ADMIN"), "{}", f[1].message);
    let f = judge_added("rel.yaml", &text, &policy(PodSecurityLevel::Restricted));
    let got: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(
        got,
        [
            "pod-security.baseline",
            "pod-security.restricted",
            "pod-security.baseline",
            "pod-security.restricted",
        ],
        "{f:#?}"
    );
    let control = helm_release(
        "    securityContext: {privileged: false, runAsUser: 1000, capabilities: {add: [NET_BIND_SERVICE]}}\n",
    );
    assert!(judge_added("rel.yaml", &control, &policy(PodSecurityLevel::Restricted)).is_empty());
}

#[test]
fn post_renderer_patches_run_every_enabled_rule() {
    let text = "apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: api, namespace: prod}
spec:
  postRenderers:
    - kustomize:
        patches:
          - patch: |
              apiVersion: apps/v1
              kind: Deployment
              metadata: {name: api}
              spec:
                template:
                  spec:
                    securityContext:
                      seccompProfile: {type: Unconfined}
";
    let f = judge_added("rel.yaml", text, &settings(&[RuleId::SeccompUnconfined]));
    assert_eq!(
        only(&f, "seccomp-unconfined").line,
        line_of(text, "Unconfined")
    );
}

#[test]
fn a_json6902_patch_of_a_helm_release_without_group_is_judged() {
    let text = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [release.yaml]
patches:
  - target: {kind: HelmRelease, name: api}
    patch: |
      - op: add
        path: /spec/values/controller/hostNetwork
        value: true
";
    let f = judge_added("apps/kustomization.yaml", text, &all_helm_rules());
    assert_eq!(
        only(&f, "host-namespaces").line,
        line_of(text, "value: true")
    );
}

#[test]
fn repositories_that_are_urls_are_not_images() {
    let text = helm_release(
        "    gitSync:\n      repository: https://github.com/acme/dags\n      tag: main\n",
    );
    assert!(judge_added("rel.yaml", &text, &all_helm_rules()).is_empty());
}

#[test]
fn hostile_parameters_are_bounded_and_refused() {
    let deep = vec!["a"; 300].join(".");
    let wide = (0..200).map(|_| "[1000]").collect::<String>();
    let many: String = (0..2000)
        .map(|i| format!("        - name: l{i}[1000]\n          value: x\n"))
        .collect();
    for params in [
        format!("        - name: {deep}\n          value: x\n"),
        format!("        - name: a{wide}\n          value: x\n"),
        many,
    ] {
        let text = argo_app(&format!("      parameters:\n{params}"));
        let start = std::time::Instant::now();
        let f = judge_added("app.yaml", &text, &settings(&[RuleId::Privileged]));
        assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
        let hit = only(&f, "privileged");
        assert!(hit.message.contains("cannot be judged"), "{}", hit.message);
    }
}

#[test]
fn argo_kustomize_source_patches_and_images() {
    let text = "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: api, namespace: argocd}
spec:
  project: default
  source:
    repoURL: https://github.com/acme/apps
    path: api/base
    kustomize:
      images:
        - api=docker.io/evil/api:1.0
        - ghcr.io/acme/api:1.1
      patches:
        - target: {kind: Deployment, name: api}
          patch: |-
            - op: replace
              path: /spec/template/spec/containers/0/securityContext
              value: {privileged: true}
";
    let f = judge_added("app.yaml", text, &all_helm_rules());
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            ("image-registries", line_of(text, "evil")),
            ("privileged", line_of(text, "privileged: true")),
        ],
        "{f:#?}"
    );
    let control = text
        .replace("docker.io/evil", "ghcr.io/acme")
        .replace("privileged: true", "privileged: false");
    assert!(judge_added("app.yaml", &control, &all_helm_rules()).is_empty());
}

#[test]
fn the_documented_examples_hold() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let section = doc
        .split("\n## Helm values\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/rules.md has a Helm values section");
    let blocks: Vec<&str> = section
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(blocks.len(), 2, "{blocks:#?}");
    let s = all_helm_rules();
    let f = judge_added("doc.yaml", blocks[0], &s);
    let got: Vec<(&str, u32)> = f.iter().map(|f| (f.rule.as_str(), f.line)).collect();
    assert_eq!(
        got,
        [
            ("privileged", line_of(blocks[0], "privileged: true")),
            ("host-namespaces", line_of(blocks[0], "hostNetwork")),
        ]
    );
    let said = format!(
        "# refused: privileged (line {}), host-namespaces (line {})",
        got[0].1, got[1].1
    );
    assert!(
        blocks[0].starts_with(&said),
        "the example says otherwise: {said}"
    );
    let f = judge_added("doc.yaml", blocks[1], &s);
    assert_eq!(
        only(&f, "privileged").line,
        line_of(blocks[1], "value: \"true\"")
    );
}

/// Helm's own syntax inside pushed values must never make the judge panic: fixtures of every
/// form, cut and with `--set` and template tokens inserted, judged with every rule and
/// `pod_security` restricted on.
#[test]
fn mutated_helm_fixtures_never_panic() {
    use pushguard_manifest::{PodSecurity, PodSecurityLevel, PodSecurityVersion};
    let fixtures = [
        helm_release(
            "    image: {registry: docker.io, repository: x/y, tag: 1}\n    sidecars:\n      - securityContext: {privileged: true, capabilities: {add: [SYS_ADMIN]}}\n",
        ),
        argo_app(
            "      values: |\n        hostPath: {path: /etc}\n        global: {imageRegistry: quay.io}\n      parameters:\n        - name: a\\.b[0].privileged\n          value: '{x,y}'\n      fileParameters:\n        - {name: image.registry, path: r.txt}\n",
        ),
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: a}\nspec:\n  valuesFrom: [{kind: Secret, name: s, targetPath: 'x[0].hostPID'}]\n  postRenderers:\n    - kustomize:\n        patches: [{patch: \"kind: Pod\\napiVersion: v1\\nspec: {hostPID: true}\\n\"}]\n        patchesJson6902: [{target: {kind: Pod}, patch: [{op: add, path: /spec/hostIPC, value: true}]}]\n        images: [{name: a, newName: b, newTag: 1}]\n".to_string(),
    ];
    let tokens: [&str; 12] = [
        "[99999]", "\\", "{{", "}}", ",", "=", ".", "[", "]", "\u{FFFC}", "'", "\n  ",
    ];
    let s = Settings {
        pod_security: Some(PodSecurity {
            level: PodSecurityLevel::Restricted,
            version: PodSecurityVersion::Latest,
        }),
        ..all_helm_rules()
    };
    let mut judged = 0usize;
    for text in &fixtures {
        let bytes = text.as_bytes();
        for cut in (0..bytes.len()).step_by(7) {
            let mut variants: Vec<Vec<u8>> = vec![bytes[..cut].to_vec()];
            for t in tokens {
                let mut v = bytes[..cut].to_vec();
                v.extend_from_slice(t.as_bytes());
                v.extend_from_slice(&bytes[cut..]);
                variants.push(v);
            }
            for v in variants {
                let text = String::from_utf8_lossy(&v);
                let _ = judge_added("m.yaml", &text, &s);
                judged += 1;
            }
        }
    }
    assert!(judged > 1000, "{judged}");
}
