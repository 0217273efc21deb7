//! `pod_security`: the setting, the version gates of each control, how values are read, the
//! rule ids, and the diff/exception/patch semantics. (The PSA fixtures are run by
//! `pod_security_fixtures.rs`.)

mod common;

use common::*;
use pushguard_manifest::{
    Date, Exception, Finding, PodSecurity, PodSecurityLevel, PodSecurityVersion, Settings,
};

fn policy(level: PodSecurityLevel, version: &str) -> Settings {
    Settings {
        pod_security: Some(PodSecurity {
            level,
            version: PodSecurityVersion::parse(version).unwrap(),
        }),
        ..Settings::default()
    }
}

fn baseline(version: &str) -> Settings {
    policy(PodSecurityLevel::Baseline, version)
}

fn restricted(version: &str) -> Settings {
    policy(PodSecurityLevel::Restricted, version)
}

/// A Pod: `spec` is the pod spec's extra fields (flow YAML entries, may be empty), `sc` the
/// container's securityContext.
fn pod(spec: &str, sc: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: prod}}\nspec:\n  {spec}\n  containers:\n  - name: app\n    image: ghcr.io/acme/app:1.0\n    securityContext: {sc}\n"
    )
}

/// A Pod that satisfies restricted at every version, with `spec` and `sc` added.
fn good_pod(spec: &str, sc: &str) -> String {
    let sc = if sc.is_empty() {
        String::new()
    } else {
        format!(", {sc}")
    };
    pod(
        &format!("securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}\n  {spec}"),
        &format!("{{allowPrivilegeEscalation: false, capabilities: {{drop: [ALL]}}{sc}}}"),
    )
}

/// A Pod with restricted's pod-level settings and the container securityContext `sc`.
fn pod_with(sc: &str) -> String {
    pod(
        "securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}",
        sc,
    )
}

fn judged(text: &str, s: &Settings) -> Vec<Finding> {
    judge_added("clusters/prod/p.yaml", text, s)
}

fn fails(text: &str, s: &Settings) -> bool {
    let f = judged(text, s);
    assert!(
        f.iter().all(|f| f.rule.starts_with("pod-security.")),
        "{f:#?}"
    );
    !f.is_empty()
}

#[test]
fn the_setting() {
    let s: Settings =
        toml::from_str("pod_security = { level = \"restricted\", version = \"v1.35\" }").unwrap();
    assert_eq!(
        s.pod_security,
        Some(PodSecurity {
            level: PodSecurityLevel::Restricted,
            version: PodSecurityVersion::V1(35)
        })
    );
    let s: Settings =
        toml::from_str("pod_security = { level = \"baseline\", version = \"latest\" }").unwrap();
    assert_eq!(s.pod_security.unwrap().version.minor(), 37);
    assert_eq!(
        PodSecurityVersion::parse("v1.0"),
        Ok(PodSecurityVersion::V1(0))
    );
    for (text, error) in [
        (
            "{ level = \"privileged\", version = \"v1.35\" }",
            "unknown variant",
        ),
        ("{ level = \"restricted\" }", "missing field `version`"),
        (
            "{ level = \"restricted\", version = \"v1.38\" }",
            "newer than v1.37",
        ),
        ("{ level = \"restricted\", version = \"1.35\" }", "must be"),
        (
            "{ level = \"restricted\", version = \"v1.035\" }",
            "must be",
        ),
        ("{ level = \"restricted\", version = \"v2.1\" }", "must be"),
        (
            "{ level = \"restricted\", version = \"v1.99999999999\" }",
            "must be",
        ),
        (
            "{ level = \"restricted\", version = \"v1.35\", mode = \"x\" }",
            "unknown field",
        ),
        ("\"restricted:v1.35\"", "invalid type"),
    ] {
        let e = toml::from_str::<Settings>(&format!("pod_security = {text}")).unwrap_err();
        assert!(e.to_string().contains(error), "{text}: {e}");
    }
    // The pod-security ids are not rules one can list.
    let e = toml::from_str::<Settings>("rules = [\"pod-security.baseline\"]").unwrap_err();
    assert!(e.to_string().contains("unknown variant"), "{e}");
    let e = toml::from_str::<Settings>("rules = [\"pod-security-baseline\"]").unwrap_err();
    assert!(e.to_string().contains("unknown variant"), "{e}");
}

#[test]
fn findings_name_the_control_the_level_and_the_field_to_fix() {
    let d = deployment("api", "{privileged: true}");
    let f = judged(&d, &baseline("v1.35"));
    assert_eq!(rules_of(&f), ["pod-security.baseline"]);
    assert_eq!(
        f[0].message,
        "Privileged Containers (Pod Security Standards baseline v1.35): container `api` sets securityContext.privileged: true"
    );
    assert_eq!(
        f[0].fix,
        "remove spec.template.spec.containers[0].securityContext.privileged or set it to false"
    );
    assert_eq!((f[0].line, f[0].column), (12, 41));
    assert_eq!(f[0].container.as_deref(), Some("api"));
    // Under restricted, the same container is a baseline violation plus restricted ones.
    let f = judged(&d, &restricted("latest"));
    let mut ids = rules_of(&f);
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids,
        ["pod-security.baseline", "pod-security.restricted"],
        "{f:#?}"
    );
    let messages: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
    assert!(messages.iter().any(|m| m.starts_with(
        "Privileged Containers (Pod Security Standards restricted latest, a baseline control)"
    )));
    for control in [
        "Privilege Escalation",
        "Running as Non-root",
        "Seccomp",
        "Capabilities",
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(&format!(
                "{control} (Pod Security Standards restricted latest)"
            ))),
            "{control}: {messages:#?}"
        );
    }
}

#[test]
fn every_pod_bearing_kind() {
    let s = baseline("v1.35");
    let sc = "{privileged: true}";
    for kind in [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
        "ReplicationController",
    ] {
        let d = deployment("x", sc).replace("Deployment", kind);
        assert_eq!(
            rules_of(&judged(&d, &s)),
            ["pod-security.baseline"],
            "{kind}"
        );
    }
    let cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        metadata:\n          annotations: {container.apparmor.security.beta.kubernetes.io/main: unconfined}\n        spec:\n          containers:\n          - {name: main, image: 'x:1', securityContext: {privileged: true}}\n";
    let f = judged(cron, &s);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f[0].fix.contains(
        "spec.jobTemplate.spec.template.metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/main\"]"
    ));
    assert!(f[1]
        .fix
        .contains("spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"));
    let template = "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: t}\ntemplate:\n  spec:\n    hostNetwork: true\n    containers:\n    - {name: main, image: 'x:1'}\n";
    let f = judged(template, &s);
    assert_eq!(rules_of(&f), ["pod-security.baseline"]);
    assert!(f[0].message.starts_with("Host Namespaces"));
    assert!(f[0].fix.contains("template.spec.hostNetwork"));
}

#[test]
fn version_gates() {
    // Sysctls: the safe set grows.
    let sysctl = |name: &str| {
        pod(
            &format!("securityContext: {{sysctls: [{{name: {name}, value: '1'}}]}}"),
            "{}",
        )
    };
    for (name, first) in [
        ("kernel.shm_rmid_forced", 0),
        ("net.ipv4.ip_local_reserved_ports", 27),
        ("net.ipv4.tcp_keepalive_time", 29),
        ("net.ipv4.tcp_rmem", 32),
        ("net.ipv4.tcp_wmem", 32),
        ("net.ipv4.tcp_slow_start_after_idle", 37),
        ("net.ipv4.tcp_notsent_lowat", 37),
        ("kernel.msgmax", 99),
    ] {
        for v in [0, 26, 27, 28, 29, 31, 32, 36, 37] {
            assert_eq!(
                fails(&sysctl(name), &baseline(&format!("v1.{v}"))),
                v < first,
                "{name} at v1.{v}"
            );
        }
    }
    // SELinux: container_engine_t from v1.31.
    let engine = pod("", "{seLinuxOptions: {type: container_engine_t}}");
    assert!(fails(&engine, &baseline("v1.30")));
    assert!(!fails(&engine, &baseline("v1.31")));
    // Host probes and lifecycle hooks: from v1.34.
    let probe = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    image: x:1\n    readinessProbe: {tcpSocket: {host: 10.0.0.1, port: 80}}\n";
    assert!(!fails(probe, &baseline("v1.33")));
    assert!(fails(probe, &baseline("v1.34")));
    // /proc mount type: baseline exempts a pod in a user namespace from v1.35 on; restricted
    // (v1.35+) does not.
    let unmasked = pod("hostUsers: false", "{procMount: Unmasked}");
    assert!(fails(&unmasked, &baseline("v1.34")));
    assert!(!fails(&unmasked, &baseline("v1.35")));
    let unmasked = good_pod("hostUsers: false", "procMount: Unmasked");
    let f = judged(&unmasked, &restricted("v1.35"));
    assert_eq!(rules_of(&f), ["pod-security.restricted"], "{f:#?}");
    assert!(fails(&unmasked, &restricted("v1.34")));
    // With hostUsers: true (or unset) it is a baseline violation under restricted too.
    let f = judged(
        &good_pod("hostUsers: true", "procMount: Unmasked"),
        &restricted("v1.35"),
    );
    assert_eq!(rules_of(&f), ["pod-security.baseline"]);
    // runAsNonRoot / runAsUser: a pod in a user namespace is exempt from v1.35 on.
    let root = pod(
        "hostUsers: false\n  securityContext: {runAsUser: 0, seccompProfile: {type: RuntimeDefault}}",
        "{allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}",
    );
    assert!(fails(&root, &restricted("v1.34")));
    assert!(!fails(&root, &restricted("v1.35")));
    // Running as Non-root user starts at v1.23.
    let user0 = good_pod("", "runAsUser: 0");
    assert!(!fails(&user0, &restricted("v1.22")));
    assert!(fails(&user0, &restricted("v1.23")));
    // Restricted capabilities start at v1.22; before, baseline's check applies.
    let no_drop = pod(
        "securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}",
        "{allowPrivilegeEscalation: false, capabilities: {add: [CHOWN]}}",
    );
    assert!(!fails(&no_drop, &restricted("v1.21")));
    let f = judged(&no_drop, &restricted("v1.22"));
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(f.iter().all(|f| f.rule == "pod-security.restricted"));
    // Privilege Escalation starts at v1.8.
    let escalation = pod("securityContext: {runAsNonRoot: true}", "{}");
    assert!(!fails(&escalation, &restricted("v1.7")));
    assert!(fails(&escalation, &restricted("v1.8")));
    // Seccomp: annotations before v1.19, fields from v1.19 (restricted requires one).
    let annotated = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {seccomp.security.alpha.kubernetes.io/pod: unconfined}\nspec:\n  containers:\n  - {name: app, image: 'x:1'}\n";
    assert!(fails(annotated, &baseline("v1.18")));
    assert!(!fails(annotated, &baseline("v1.19")));
    let container_annotation = annotated.replace(
        "seccomp.security.alpha.kubernetes.io/pod: unconfined",
        "container.seccomp.security.alpha.kubernetes.io/app: ''",
    );
    assert!(fails(&container_annotation, &baseline("v1.18")));
    let other_container = annotated.replace(
        "seccomp.security.alpha.kubernetes.io/pod: unconfined",
        "container.seccomp.security.alpha.kubernetes.io/other: unconfined",
    );
    assert!(!fails(&other_container, &baseline("v1.18")));
    let docker = annotated.replace("unconfined", "docker/default");
    assert!(!fails(&docker, &baseline("v1.18")));
    let field = pod(
        "securityContext: {seccompProfile: {type: Unconfined}}",
        "{}",
    );
    assert!(!fails(&field, &baseline("v1.18")));
    assert!(fails(&field, &baseline("v1.19")));
    let unset = pod(
        "securityContext: {runAsNonRoot: true}",
        "{allowPrivilegeEscalation: false}",
    );
    assert!(!fails(&unset, &restricted("v1.18")));
    assert!(fails(&unset, &restricted("v1.19")));
}

#[test]
fn windows_pods_under_restricted() {
    // From v1.25 restricted skips capabilities, privilege escalation and seccomp for Windows
    // pods (and so does not run baseline's versions of the first and last either).
    let windows = pod(
        "os: {name: windows}\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: Unconfined}}",
        "{}",
    );
    assert!(!fails(&windows, &restricted("v1.25")));
    let f = judged(&windows, &restricted("v1.24"));
    let mut controls: Vec<&str> = f
        .iter()
        .map(|f| f.message.split(" (").next().unwrap())
        .collect();
    controls.sort();
    controls.dedup();
    assert_eq!(
        controls,
        ["Capabilities", "Privilege Escalation", "Seccomp"],
        "{f:#?}"
    );
    // Baseline still refuses the Unconfined profile.
    assert!(fails(&windows, &baseline("v1.25")));
    // `os.name: Windows` is not `windows`.
    assert!(fails(
        &windows.replace("windows", "Windows"),
        &restricted("v1.25")
    ));
}

#[test]
fn values_are_read_as_the_api_server_decodes_them() {
    let s = restricted("v1.35");
    // null is unset.
    assert!(!fails(
        &good_pod("hostNetwork: null", "privileged: null"),
        &s
    ));
    // YAML 1.1 booleans.
    assert!(fails(&good_pod("hostPID: yes", ""), &baseline("v1.35")));
    assert!(!fails(
        &pod_with("{allowPrivilegeEscalation: off, capabilities: {drop: [ALL]}}"),
        &s
    ));
    // A volume without a source is an emptyDir; a null source is no source.
    let volumes = |v: &str| good_pod(&format!("volumes: [{v}]"), "");
    assert!(!fails(&volumes("{name: a}"), &s));
    assert!(!fails(&volumes("{name: a, hostPath: null}"), &s));
    assert!(!fails(&volumes("{name: a, image: {reference: 'x:1'}}"), &s));
    let f = judged(&volumes("{name: a, nfs: {server: s, path: /}}"), &s);
    assert_eq!(rules_of(&f), ["pod-security.restricted"]);
    assert!(f[0].message.starts_with("Volume Types"), "{}", f[0].message);
    let f = judged(&volumes("{name: a, hostPath: {path: /a}}"), &s);
    assert_eq!(rules_of(&f), ["pod-security.baseline"]);
    assert!(f[0].message.starts_with("HostPath Volumes"));
    // Fail closed: a key that is not a safe volume source, a value of the wrong type.
    assert!(fails(&volumes("{name: a, fancyNewSource: {}}"), &s));
    assert!(fails(&good_pod("", "privileged: 'true'"), &s));
    assert!(fails(
        &pod_with("{allowPrivilegeEscalation: 'false', capabilities: {drop: [ALL]}}"),
        &s
    ));
    assert!(fails(&good_pod("", "runAsUser: '1000'"), &s));
    let port = |p: &str| {
        good_pod("", "").replace(
            "    securityContext:",
            &format!("    ports: [{{containerPort: 80, hostPort: {p}}}]\n    securityContext:"),
        )
    };
    assert!(!fails(&port("0"), &s));
    assert!(!fails(&port("null"), &s));
    assert!(fails(&port("8080"), &s));
    assert!(fails(&port("'8080'"), &s));
    // An empty profile has no type: refused, like PSA does.
    assert!(fails(
        &good_pod("", "seccompProfile: {}"),
        &baseline("v1.35")
    ));
    assert!(fails(
        &good_pod("", "appArmorProfile: {}"),
        &baseline("v1.35")
    ));
    assert!(!fails(
        &good_pod(
            "",
            "appArmorProfile: {type: Localhost, localhostProfile: p}"
        ),
        &s
    ));
    // Capabilities are exact names: case and the CAP_ prefix matter.
    assert!(!fails(
        &pod("", "{capabilities: {add: [DAC_OVERRIDE]}}"),
        &baseline("v1.35")
    ));
    assert!(fails(
        &pod("", "{capabilities: {add: [dac_override]}}"),
        &baseline("v1.35")
    ));
    assert!(fails(
        &pod("", "{capabilities: {add: [CAP_CHOWN]}}"),
        &baseline("v1.35")
    ));
    assert!(fails(
        &pod_with("{allowPrivilegeEscalation: false, capabilities: {drop: [all]}}"),
        &s
    ));
    // Ephemeral containers are judged too.
    let debug = good_pod("", "").replace(
        "  containers:",
        "  ephemeralContainers:\n  - {name: debug, image: 'x:1', securityContext: {privileged: true}}\n  containers:",
    );
    let f = judged(&debug, &baseline("v1.35"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].container.as_deref(), Some("debug"));
}

#[test]
fn an_old_violation_is_not_reported_again() {
    let s = restricted("v1.35");
    let old = deployment("api", "{privileged: true}");
    let new = old.replace("image: ghcr.io/acme/api:1.0", "image: ghcr.io/acme/api:1.1");
    assert!(judge_modified("d.yaml", &old, &new, &s).is_empty());
    let fixed = good_pod("", "");
    let broken = fixed.replace("runAsNonRoot: true", "runAsNonRoot: false");
    let f = judge_modified("p.yaml", &fixed, &broken, &s);
    assert_eq!(rules_of(&f), ["pod-security.restricted"]);
}

#[test]
fn an_exception_for_restricted_leaves_baseline() {
    let mut s = restricted("v1.35");
    s.exceptions = vec![Exception {
        rule: "pod-security.restricted".to_string(),
        object: "Deployment prod/legacy".parse().unwrap(),
        path: None,
        reason: "runs as root until the image is rebuilt".to_string(),
        expires: Date::parse("2099-01-01").unwrap(),
    }];
    let legacy = deployment("legacy", "{capabilities: {add: [SYS_ADMIN, CHOWN]}}");
    let f = judged(&legacy, &s);
    assert_eq!(rules_of(&f), ["pod-security.baseline"], "{f:#?}");
    assert!(f[0].message.contains("SYS_ADMIN"));
    assert!(judged(&deployment("legacy", "{}"), &s).is_empty());
}

#[test]
fn patches_are_judged_on_what_they_hold() {
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
              securityContext: {runAsUser: 0}
";
    // The patch sets runAsUser: 0; what it leaves out (runAsNonRoot, seccomp, ...) is not a
    // violation.
    let f = judge_added("apps/kustomization.yaml", k, &restricted("v1.35"));
    assert_eq!(rules_of(&f), ["pod-security.restricted"], "{f:#?}");
    assert!(f[0].message.starts_with("Running as Non-root user"));
}
