//! The built-in rules that look at one object at a time.
//!
//! Each check returns hits with a *location key* (rule + container + field + the class of the
//! offending value) that does not depend on line numbers, so the judge can tell a violation the
//! commit introduced from one that was already in the old version of the same object.
//! Rules about transitions (protected namespaces, deletions, a removed Flux service account)
//! need both versions and live in `judge.rs`.

use crate::object::Object;
use crate::settings::{RuleId, Settings};
use crate::yaml::{Node, Value};

/// One violation found in one object.
#[derive(Debug, Clone)]
pub struct Hit {
    pub rule: RuleId,
    pub key: String,
    pub line: u32,
    pub column: u32,
    pub container: Option<String>,
    pub message: String,
    pub fix: String,
}

struct Ctx<'s> {
    settings: &'s Settings,
    hits: Vec<Hit>,
}

impl Ctx<'_> {
    fn on(&self, rule: RuleId) -> bool {
        self.settings.rules.contains(&rule)
    }

    fn hit(
        &mut self,
        rule: RuleId,
        key: String,
        at: &Node,
        container: Option<&str>,
        message: String,
        fix: impl Into<String>,
    ) {
        self.hits.push(Hit {
            rule,
            key,
            line: at.line,
            column: at.column,
            container: container.map(str::to_string),
            message,
            fix: fix.into(),
        });
    }
}

/// Kinds whose objects are cluster-scoped (`cluster-scoped`): Kubernetes' own and those of the
/// controllers GitOps repositories commonly hold. Matched by kind alone (any API group), so a
/// wrong `apiVersion` does not get one past the rule. The one list: docs/rules.md names it.
pub const CLUSTER_SCOPED_KINDS: &[&str] = &[
    // Kubernetes
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "APIService",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "StorageClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "IPAddress",
    "ServiceCIDR",
    "CertificateSigningRequest",
    "ClusterTrustBundle",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "PodSecurityPolicy",
    "DeviceClass",
    "ResourceSlice",
    "VolumeSnapshotClass",
    "GatewayClass",
    // cert-manager, External Secrets
    "ClusterIssuer",
    "ClusterSecretStore",
    "ClusterExternalSecret",
    "ClusterGenerator",
    "ClusterPushSecret",
    // policy engines and CNIs
    "ClusterPolicy",
    "ClusterCleanupPolicy",
    "ConstraintTemplate",
    "CiliumClusterwideNetworkPolicy",
    "GlobalNetworkPolicy",
];

/// True when objects of `kind` are cluster-scoped (see [`CLUSTER_SCOPED_KINDS`]).
pub fn is_cluster_scoped(kind: &str) -> bool {
    CLUSTER_SCOPED_KINDS.contains(&kind)
}

/// Runs every enabled single-object rule on `obj`.
pub fn check(obj: &Object, settings: &Settings) -> Vec<Hit> {
    let mut ctx = Ctx {
        settings,
        hits: Vec::new(),
    };
    if obj.kustomization_file {
        if ctx.on(RuleId::GitopsSources) {
            kustomization_sources(&mut ctx, obj);
        }
        return ctx.hits;
    }
    let pods = pod_specs(obj);
    for pod in &pods {
        pod_rules(&mut ctx, pod);
        if let Some(ps) = settings.pod_security {
            crate::pod_security::check(pod, ps, &mut ctx.hits);
        }
    }
    // Pod specs and containers other kinds embed (KEDA's ScaledJob, Tekton's steps, Argo
    // Workflows' templates): their controllers run them, so they are judged as pods too.
    for spec in embedded_pods(obj, &pods) {
        let pod = PodSpec {
            spec: &spec,
            metadata: None,
            path: "(embedded pod spec)",
            metadata_path: "(embedded pod spec)",
        };
        pod_rules(&mut ctx, &pod);
        if let Some(ps) = settings.pod_security {
            crate::pod_security::check(&pod, ps, &mut ctx.hits);
        }
    }
    rbac_rules(&mut ctx, obj);
    if ctx.on(RuleId::PlaintextSecrets) {
        secret_rules(&mut ctx, obj);
    }
    if ctx.on(RuleId::IngressSnippets) && obj.kind() == "Ingress" {
        ingress_snippets(&mut ctx, obj);
    }
    if ctx.on(RuleId::GitopsSources) {
        gitops_sources(&mut ctx, obj);
    }
    if ctx.on(RuleId::SecretStores) && obj.identity.group == "external-secrets.io" {
        secret_store_refs(&mut ctx, obj);
    }
    if ctx.on(RuleId::ExternalEndpoints) {
        ctx.hits.extend(crate::endpoints::check(obj, settings));
    }
    // FQDN egress, Argo CD notifications and destinations, controller exposure, image
    // automation pushes.
    ctx.hits.extend(crate::network::check(obj, settings));
    ctx.hits.extend(crate::secrets::check(obj, settings));
    // Helm values of a HelmRelease or an Argo CD Application, judged as pod settings.
    ctx.hits.extend(crate::helm::check(obj, settings));
    if obj.patch.is_some() {
        // A patch holds only what it changes: a field it leaves out is not "unset".
        ctx.hits.retain(|h| !is_absence_key(&h.key));
    }
    ctx.hits
}

/// Hits that report a missing field rather than a present value.
fn is_absence_key(key: &str) -> bool {
    key.ends_with("=unset")
        || key.ends_with("=maybe")
        || key == "flux/serviceAccountName"
        || key == "source/spec.url/"
        || key == "source/spec.endpoint/"
}

/// A pod spec found inside an object, with the metadata that carries its annotations.
pub struct PodSpec<'a> {
    pub spec: &'a Node,
    pub metadata: Option<&'a Node>,
    /// Where `spec` sits in the object (`spec.template.spec`), for messages.
    pub path: &'static str,
    /// Where `metadata` sits (`spec.template.metadata`).
    pub metadata_path: &'static str,
}

/// Every pod spec of a workload: Pod, templates (Deployment, StatefulSet, DaemonSet,
/// ReplicaSet, Job, ReplicationController and look-alikes such as Argo Rollouts or
/// OpenShift DeploymentConfig), CronJob job templates, PodTemplate.
pub fn pod_specs(obj: &Object) -> Vec<PodSpec<'_>> {
    let root = &obj.root;
    let mut out = Vec::new();
    let is_map = |n: &Node| matches!(n.value, Value::Map(_));
    match obj.kind() {
        "Pod" => {
            if let Some(spec) = root.get("spec").filter(|n| is_map(n)) {
                out.push(PodSpec {
                    spec,
                    metadata: root.get("metadata"),
                    path: "spec",
                    metadata_path: "metadata",
                });
            }
        }
        "PodTemplate" => {
            if let Some(spec) = root.path(&["template", "spec"]).filter(|n| is_map(n)) {
                out.push(PodSpec {
                    spec,
                    metadata: root.path(&["template", "metadata"]),
                    path: "template.spec",
                    metadata_path: "template.metadata",
                });
            }
        }
        _ => {
            let templates: [(&[&str], &str, &str); 2] = [
                (
                    &["spec", "template"],
                    "spec.template.spec",
                    "spec.template.metadata",
                ),
                (
                    &["spec", "jobTemplate", "spec", "template"],
                    "spec.jobTemplate.spec.template.spec",
                    "spec.jobTemplate.spec.template.metadata",
                ),
            ];
            for (keys, path, metadata_path) in templates {
                if let Some(template) = root.path(keys) {
                    if let Some(spec) = template.get("spec").filter(|n| is_map(n)) {
                        out.push(PodSpec {
                            spec,
                            metadata: template.get("metadata"),
                            path,
                            metadata_path,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Kinds whose pod specs [`pod_specs`] finds, or that hold no pods of their own (Helm values
/// and controller objects are judged elsewhere; image automation only scans registries).
const NO_EMBEDDED_PODS: [&str; 14] = [
    "Pod",
    "PodTemplate",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "HelmRelease",
    "Application",
    "ApplicationSet",
    "ImageRepository",
    "ImagePolicy",
];

/// Pod specs embedded anywhere else in an object, as owned pod specs: every mapping that holds
/// `containers`, `initContainers` or `ephemeralContainers` (a list) or sets `hostNetwork`,
/// `hostPID` or `hostIPC`, outside the ones `found` already holds; and every other mapping
/// with a string `image` (a container written on its own: Tekton steps, Argo Workflows
/// templates), gathered as the containers of one more pod spec.
pub fn embedded_pods(obj: &Object, found: &[PodSpec<'_>]) -> Vec<Node> {
    // Schemas and policy engines' patterns describe pods without running any.
    let group = obj.identity.group.as_str();
    if obj.identity.kind.is_empty()
        || NO_EMBEDDED_PODS.contains(&obj.kind())
        || obj.kind() == "CustomResourceDefinition"
        || group.ends_with("kyverno.io")
        || group.ends_with("gatekeeper.sh")
    {
        return Vec::new();
    }
    let mut pods = Vec::new();
    let mut loose = Vec::new();
    for (k, v) in obj.root.as_map() {
        if !matches!(
            k.name.as_str(),
            "metadata" | "status" | "apiVersion" | "kind"
        ) {
            find_pods(v, found, &mut pods, &mut loose, 0);
        }
    }
    if let Some(first) = loose.first() {
        let (line, column) = (first.line, first.column);
        pods.push(Node {
            value: Value::Map(vec![(
                crate::yaml::Key {
                    name: "containers".to_string(),
                    line,
                    column,
                },
                Node {
                    value: Value::Seq(loose),
                    line,
                    column,
                },
            )]),
            line,
            column,
        });
    }
    pods
}

fn find_pods(
    node: &Node,
    found: &[PodSpec<'_>],
    pods: &mut Vec<Node>,
    loose: &mut Vec<Node>,
    depth: usize,
) {
    if depth > crate::yaml::MAX_DEPTH_CAP || found.iter().any(|p| std::ptr::eq(p.spec, node)) {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            let pod_like = entries.iter().any(|(k, v)| match k.name.as_str() {
                "containers" | "initContainers" | "ephemeralContainers" => {
                    matches!(&v.value, Value::Seq(items) if items.iter().any(|i| matches!(i.value, Value::Map(_))))
                }
                "hostNetwork" | "hostPID" | "hostIPC" => v.as_bool().is_some(),
                _ => false,
            });
            if pod_like {
                pods.push(node.clone());
                return;
            }
            if node.get("image").and_then(Node::as_str).is_some() {
                loose.push(node.clone());
                return;
            }
            for (_, v) in entries {
                find_pods(v, found, pods, loose, depth + 1);
            }
        }
        Value::Seq(items) => {
            for i in items {
                find_pods(i, found, pods, loose, depth + 1);
            }
        }
        _ => {}
    }
}

/// A container of a pod spec.
pub struct Container<'a> {
    pub list: &'static str,
    pub name: String,
    pub node: &'a Node,
}

pub fn containers<'a>(spec: &'a Node) -> Vec<Container<'a>> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(items) = spec.get(list) {
            for (i, node) in items.as_seq().iter().enumerate() {
                let name = node
                    .get("name")
                    .and_then(Node::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("#{i}"));
                out.push(Container { list, name, node });
            }
        }
    }
    out
}

fn is_true(n: Option<&Node>) -> bool {
    n.and_then(Node::as_bool) == Some(true)
}

const SENSITIVE_PATHS: [&str; 22] = [
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/home",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd",
    "/run/containerd",
    "/var/run/crio",
    "/run/crio",
    "/var/run/cri-dockerd.sock",
    "/var/lib/kubelet",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/etc/kubernetes",
    "/var/lib/etcd",
    "/var/run",
    "/run",
];

/// Normalises `.`, `..`, repeated and trailing slashes, as the kubelet's mount would.
pub(crate) fn normalize_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

pub(crate) fn is_sensitive(path: &str) -> bool {
    let p = normalize_path(path);
    SENSITIVE_PATHS.iter().any(|s| {
        if *s == "/" {
            p == "/"
        } else if matches!(*s, "/var/run" | "/run") {
            // The runtime sockets live here; mounting the whole directory exposes them.
            p == *s
        } else {
            p == *s || p.starts_with(&format!("{s}/"))
        }
    })
}

/// Capabilities whose `add` breaks isolation (`dangerous-capabilities`). None of them is in the
/// Pod Security baseline's allowed list (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID,
/// KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT: the container
/// runtimes' default set, minus NET_RAW), so adding back a default capability after
/// `drop: [ALL]` is hardening, not a finding. NET_RAW is here although containerd grants it by
/// default: baseline forbids adding it, CRI-O leaves it out of its default set, and with it a
/// container forges packets (ARP and DNS spoofing).
pub(crate) const DANGEROUS_CAPS: [&str; 13] = [
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "DAC_READ_SEARCH",
    "BPF",
    "PERFMON",
    "NET_RAW",
    "MAC_ADMIN",
];

const SAFE_SYSCTLS: [&str; 10] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

fn pod_rules(ctx: &mut Ctx<'_>, pod: &PodSpec<'_>) {
    let spec = pod.spec;
    let pod_sc = spec.get("securityContext");
    if ctx.on(RuleId::HostNamespaces) {
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            if let Some(n) = spec.get(field).filter(|n| is_true(Some(n))) {
                ctx.hit(
                    RuleId::HostNamespaces,
                    format!("pod/{field}"),
                    n,
                    None,
                    format!("pod spec sets {field}: true (shares the node's namespace)"),
                    format!("remove {field} or set it to false"),
                );
            }
        }
    }
    for vol in spec.get("volumes").map(Node::as_seq).unwrap_or(&[]) {
        let Some(hp) = vol.get("hostPath") else {
            continue;
        };
        let vname = vol.get("name").and_then(Node::as_str).unwrap_or("?");
        let hpath = hp.get("path").and_then(Node::as_str).unwrap_or("");
        if ctx.on(RuleId::HostPath) {
            ctx.hit(
                RuleId::HostPath,
                format!("volume/{vname}/{hpath}"),
                hp,
                None,
                format!("volume `{vname}` mounts hostPath `{hpath}` from the node"),
                "use a PersistentVolumeClaim, emptyDir, ConfigMap or Secret volume instead of hostPath",
            );
        }
        if ctx.on(RuleId::SensitiveHostMounts) && is_sensitive(hpath) {
            let at = hp.get("path").unwrap_or(hp);
            ctx.hit(
                RuleId::SensitiveHostMounts,
                format!("volume/{vname}/{}", normalize_path(hpath)),
                at,
                None,
                format!(
                    "volume `{vname}` mounts the sensitive host path `{hpath}` (node takeover)"
                ),
                "do not mount node system paths or container runtime sockets into pods",
            );
        }
    }
    if ctx.on(RuleId::UnsafeSysctls) {
        for s in pod_sc
            .and_then(|sc| sc.get("sysctls"))
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            let name = s.get("name").and_then(Node::as_str).unwrap_or("");
            if !SAFE_SYSCTLS.contains(&name) {
                ctx.hit(
                    RuleId::UnsafeSysctls,
                    format!("sysctl/{name}"),
                    s.get("name").unwrap_or(s),
                    None,
                    format!("pod sets the unsafe sysctl `{name}`"),
                    "use only the sysctls Kubernetes lists as safe, or set node-level sysctls outside the workload",
                );
            }
        }
    }
    if ctx.on(RuleId::SeccompUnconfined) {
        seccomp_pod(ctx, pod);
    }
    if ctx.on(RuleId::HostProcess) {
        if let Some(n) = pod_sc
            .and_then(|sc| sc.path(&["windowsOptions", "hostProcess"]))
            .filter(|n| is_true(Some(n)))
        {
            ctx.hit(
                RuleId::HostProcess,
                "pod/hostProcess".to_string(),
                n,
                None,
                "pod sets securityContext.windowsOptions.hostProcess: true".to_string(),
                "remove windowsOptions.hostProcess",
            );
        }
    }
    for c in containers(spec) {
        container_rules(ctx, pod, &c);
    }
}

fn seccomp_pod(ctx: &mut Ctx<'_>, pod: &PodSpec<'_>) {
    let pod_sc = pod.spec.get("securityContext");
    for (field, what) in [
        ("seccompProfile", "seccomp"),
        ("appArmorProfile", "AppArmor"),
    ] {
        if let Some(t) = pod_sc.and_then(|sc| sc.path(&[field, "type"])) {
            if t.as_str() == Some("Unconfined") {
                ctx.hit(
                    RuleId::SeccompUnconfined,
                    format!("pod/{field}"),
                    t,
                    None,
                    format!("pod sets securityContext.{field}.type: Unconfined (no {what} filter)"),
                    format!("set {field}.type to RuntimeDefault (or Localhost with a profile)"),
                );
            }
        }
    }
    let annotations = pod.metadata.and_then(|m| m.get("annotations"));
    for (k, v) in annotations.map(Node::as_map).unwrap_or(&[]) {
        let key = k.name.as_str();
        let relevant = key == "seccomp.security.alpha.kubernetes.io/pod"
            || key.starts_with("container.seccomp.security.alpha.kubernetes.io/")
            || key.starts_with("container.apparmor.security.beta.kubernetes.io/");
        if relevant && v.as_str().map(str::to_ascii_lowercase).as_deref() == Some("unconfined") {
            ctx.hit(
                RuleId::SeccompUnconfined,
                format!("annotation/{key}"),
                v,
                None,
                format!("annotation `{key}` is `unconfined`"),
                "use runtime/default (or a localhost profile), or remove the annotation",
            );
        }
    }
}

fn container_rules(ctx: &mut Ctx<'_>, pod: &PodSpec<'_>, c: &Container<'_>) {
    let sc = c.node.get("securityContext");
    let pod_sc = pod.spec.get("securityContext");
    let name = c.name.as_str();
    let cname = Some(name);
    let ckey = format!("{}/{}", c.list, name);
    if ctx.on(RuleId::Privileged) {
        if let Some(n) = sc
            .and_then(|s| s.get("privileged"))
            .filter(|n| is_true(Some(n)))
        {
            ctx.hit(
                RuleId::Privileged,
                format!("{ckey}/privileged"),
                n,
                cname,
                format!("container `{name}` sets securityContext.privileged: true"),
                "remove securityContext.privileged or set it to false",
            );
        }
    }
    if ctx.on(RuleId::PrivilegeEscalation) {
        match sc.and_then(|s| s.get("allowPrivilegeEscalation")) {
            Some(n) if n.as_bool() == Some(false) => {}
            Some(n) if n.as_bool() == Some(true) => ctx.hit(
                RuleId::PrivilegeEscalation,
                format!("{ckey}/allowPrivilegeEscalation=true"),
                n,
                cname,
                format!("container `{name}` sets securityContext.allowPrivilegeEscalation: true"),
                "set securityContext.allowPrivilegeEscalation: false",
            ),
            _ => ctx.hit(
                RuleId::PrivilegeEscalation,
                format!("{ckey}/allowPrivilegeEscalation=unset"),
                sc.unwrap_or(c.node),
                cname,
                format!(
                    "container `{name}` does not set securityContext.allowPrivilegeEscalation: false (it defaults to true)"
                ),
                "set securityContext.allowPrivilegeEscalation: false",
            ),
        }
    }
    if ctx.on(RuleId::HostPorts) {
        for p in c.node.get("ports").map(Node::as_seq).unwrap_or(&[]) {
            if let Some(hp) = p.get("hostPort") {
                if hp.as_int().is_some_and(|v| v != 0) {
                    ctx.hit(
                        RuleId::HostPorts,
                        format!("{ckey}/hostPort/{}", hp.display()),
                        hp,
                        cname,
                        format!("container `{name}` binds hostPort {}", hp.display()),
                        "remove hostPort and expose the port through a Service",
                    );
                }
            }
        }
    }
    if ctx.on(RuleId::DangerousCapabilities) {
        for cap in sc
            .and_then(|s| s.path(&["capabilities", "add"]))
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            let raw = cap.as_str().unwrap_or("");
            let upper = raw.to_ascii_uppercase();
            let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
            if DANGEROUS_CAPS.contains(&bare) {
                ctx.hit(
                    RuleId::DangerousCapabilities,
                    format!("{ckey}/cap/{bare}"),
                    cap,
                    cname,
                    format!("container `{name}` adds the capability {raw}"),
                    "drop the capability from securityContext.capabilities.add",
                );
            }
        }
    }
    if ctx.on(RuleId::RunAsRoot) {
        let user_node = sc
            .and_then(|s| s.get("runAsUser"))
            .or_else(|| pod_sc.and_then(|s| s.get("runAsUser")));
        let non_root = sc
            .and_then(|s| s.get("runAsNonRoot"))
            .or_else(|| pod_sc.and_then(|s| s.get("runAsNonRoot")));
        let user = user_node.and_then(Node::as_int);
        if let (Some(0), Some(n)) = (user, user_node) {
            ctx.hit(
                RuleId::RunAsRoot,
                format!("{ckey}/runAsUser=0"),
                n,
                cname,
                format!("container `{name}` runs as root (runAsUser: 0)"),
                "set runAsUser to a non-zero UID and runAsNonRoot: true",
            );
        } else if user.is_none_or(|u| u <= 0) && !is_true(non_root) {
            ctx.hit(
                RuleId::RunAsRoot,
                format!("{ckey}/runAsRoot=maybe"),
                sc.unwrap_or(c.node),
                cname,
                format!(
                    "container `{name}` may run as root: neither runAsNonRoot: true nor a non-zero runAsUser is set"
                ),
                "set securityContext.runAsNonRoot: true (or a non-zero runAsUser) on the pod or container",
            );
        }
    }
    if ctx.on(RuleId::ProcMount) {
        if let Some(n) = sc
            .and_then(|s| s.get("procMount"))
            .filter(|n| n.as_str() == Some("Unmasked"))
        {
            ctx.hit(
                RuleId::ProcMount,
                format!("{ckey}/procMount"),
                n,
                cname,
                format!("container `{name}` sets procMount: Unmasked"),
                "remove procMount or set it to Default",
            );
        }
    }
    if ctx.on(RuleId::SeccompUnconfined) {
        for (field, what) in [
            ("seccompProfile", "seccomp"),
            ("appArmorProfile", "AppArmor"),
        ] {
            if let Some(t) = sc.and_then(|s| s.path(&[field, "type"])) {
                if t.as_str() == Some("Unconfined") {
                    ctx.hit(
                        RuleId::SeccompUnconfined,
                        format!("{ckey}/{field}"),
                        t,
                        cname,
                        format!(
                            "container `{name}` sets securityContext.{field}.type: Unconfined (no {what} filter)"
                        ),
                        format!("set {field}.type to RuntimeDefault (or Localhost with a profile)"),
                    );
                }
            }
        }
    }
    if ctx.on(RuleId::HostProcess) {
        if let Some(n) = sc
            .and_then(|s| s.path(&["windowsOptions", "hostProcess"]))
            .filter(|n| is_true(Some(n)))
        {
            ctx.hit(
                RuleId::HostProcess,
                format!("{ckey}/hostProcess"),
                n,
                cname,
                format!("container `{name}` sets windowsOptions.hostProcess: true"),
                "remove windowsOptions.hostProcess",
            );
        }
    }
    image_rules(ctx, c, &ckey);
}

/// An image reference split the way container runtimes read it.
pub struct ImageRef {
    /// Registry host, with `docker.io` for Docker Hub.
    pub registry: String,
    /// `registry/repository`, with `library/` added for Docker Hub official images.
    pub full_name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

pub fn parse_image(image: &str) -> ImageRef {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_string())),
        _ => (rest, None),
    };
    let (registry, repo) = match name.split_once('/') {
        Some((first, repo))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), repo.to_string())
        }
        Some(_) => ("docker.io".to_string(), name.to_string()),
        None => ("docker.io".to_string(), format!("library/{name}")),
    };
    ImageRef {
        full_name: format!("{registry}/{repo}"),
        registry,
        tag,
        digest,
    }
}

/// Prefix match that ends on a boundary, so `ghcr.io/acme` does not allow `ghcr.io/acme-evil`.
pub fn prefix_allows(prefix: &str, value: &str) -> bool {
    let Some(rest) = value.strip_prefix(prefix) else {
        return false;
    };
    prefix.ends_with('/')
        || rest.is_empty()
        || rest.starts_with(['/', ':', '@', '?', '#'])
        || rest == ".git"
        || rest.starts_with(".git/")
        || rest.starts_with(".git?")
}

fn image_rules(ctx: &mut Ctx<'_>, c: &Container<'_>, ckey: &str) {
    let Some(img_node) = c.node.get("image") else {
        return;
    };
    let image = img_node.as_str().unwrap_or("");
    let name = c.name.as_str();
    let parsed = parse_image(image);
    if ctx.on(RuleId::ImageLatest) && parsed.digest.is_none() {
        match parsed.tag.as_deref() {
            None => ctx.hit(
                RuleId::ImageLatest,
                format!("{ckey}/image/untagged"),
                img_node,
                Some(name),
                format!("container `{name}` uses image `{image}` without a tag (means :latest)"),
                "pin the image to a version tag or a digest",
            ),
            Some("latest") => ctx.hit(
                RuleId::ImageLatest,
                format!("{ckey}/image/latest"),
                img_node,
                Some(name),
                format!("container `{name}` uses image `{image}` with the :latest tag"),
                "pin the image to a version tag or a digest",
            ),
            _ => {}
        }
    }
    if ctx.on(RuleId::ImageDigest)
        && !parsed
            .digest
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:") || d.starts_with("sha512:"))
    {
        ctx.hit(
            RuleId::ImageDigest,
            format!("{ckey}/image/no-digest"),
            img_node,
            Some(name),
            format!("container `{name}` uses image `{image}` not pinned by digest"),
            "reference the image as name@sha256:<digest>",
        );
    }
    if ctx.on(RuleId::ImageRegistries) {
        let allowed = ctx
            .settings
            .image_registries
            .iter()
            .any(|p| prefix_allows(p, image) || prefix_allows(p, &parsed.full_name));
        if !allowed {
            ctx.hit(
                RuleId::ImageRegistries,
                format!("{ckey}/image/registry/{}", parsed.full_name),
                img_node,
                Some(name),
                format!(
                    "container `{name}` uses image `{image}` from `{}`, which is not in image_registries",
                    parsed.full_name
                ),
                "use an image from an allowed registry, or add the registry to image_registries",
            );
        }
    }
}

/// Whether an RBAC rule item grants `verb` on `resource` in `group`.
fn grants(rule: &Node, group: &str, resource: &str, verb: &str) -> bool {
    let list = |k: &str| -> Vec<&str> {
        rule.get(k)
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .filter_map(Node::as_str)
            .collect()
    };
    let groups = list("apiGroups");
    let resources = list("resources");
    let verbs = list("verbs");
    let group_ok = groups.iter().any(|g| *g == "*" || *g == group);
    let res_ok = resources.iter().any(|r| {
        *r == "*"
            || *r == resource
            || match (r.split_once('/'), resource.split_once('/')) {
                (Some(("*", sub)), Some((_, want))) => sub == want,
                (Some((base, "*")), Some((want, _))) => base == want,
                _ => false,
            }
    });
    let verb_ok = verbs.iter().any(|v| *v == "*" || *v == verb);
    group_ok && res_ok && verb_ok
}

fn rbac_rules(ctx: &mut Ctx<'_>, obj: &Object) {
    let kind = obj.kind();
    let group = obj.identity.group.as_str();
    let is_rbac = group == "rbac.authorization.k8s.io";
    if is_rbac && (kind == "Role" || kind == "ClusterRole") {
        let rules = obj.root.get("rules").map(Node::as_seq).unwrap_or(&[]);
        if ctx.on(RuleId::RbacWildcards) {
            for r in rules {
                for field in ["verbs", "resources", "apiGroups"] {
                    if let Some(n) = r
                        .get(field)
                        .map(Node::as_seq)
                        .unwrap_or(&[])
                        .iter()
                        .find(|n| n.as_str() == Some("*"))
                    {
                        ctx.hit(
                            RuleId::RbacWildcards,
                            format!("rules/{field}/*/{}", r.canonical()),
                            n,
                            None,
                            format!("{kind} grants `*` in {field}"),
                            format!("list the {field} the role needs instead of `*`"),
                        );
                    }
                }
            }
        }
        if ctx.on(RuleId::RbacEscalation) {
            rbac_escalation(ctx, kind, rules);
        }
        if kind == "ClusterRole" && ctx.on(RuleId::RbacWildcards) {
            // The aggregation controller fills the role with the rules of every cluster role
            // whose labels the selectors match, in the cluster: `kubernetes.io/bootstrapping:
            // rbac-defaults` alone brings cluster-admin's `*`. What it grants is not in Git.
            if let Some(agg) = obj.root.get("aggregationRule").filter(|a| !a.is_null()) {
                ctx.hit(
                    RuleId::RbacWildcards,
                    "aggregationRule".to_string(),
                    agg,
                    None,
                    "ClusterRole has an `aggregationRule`: it grants whatever the cluster roles its selectors match grant (`kubernetes.io/bootstrapping: rbac-defaults` matches cluster-admin), which is not in Git".to_string(),
                    "list the rules the role needs instead of aggregating (or add a reviewed exception for this role)",
                );
            }
        }
        if kind == "ClusterRole" && ctx.on(RuleId::RbacSystemGroups) {
            // Kubernetes binds its bootstrap roles to broad groups itself (`system:basic-user`
            // and `system:discovery` to every authenticated user, `view`/`edit`/`admin` through
            // aggregation): redefining one grants its rules to all of them.
            let name = obj.identity.name.as_str();
            if name.starts_with("system:")
                || POWERFUL_CLUSTER_ROLES.contains(&name)
                || name == "view"
            {
                ctx.hit(
                    RuleId::RbacSystemGroups,
                    format!("bootstrap-role/{name}"),
                    obj.root.path(&["metadata", "name"]).unwrap_or(&obj.root),
                    None,
                    format!("ClusterRole `{name}` redefines a role Kubernetes creates and binds itself (to broad groups, or as the base of other roles): whatever it grants, those subjects get"),
                    "give the role a name of its own and bind it to named subjects",
                );
            }
        }
    }
    if is_rbac && (kind == "RoleBinding" || kind == "ClusterRoleBinding") {
        if ctx.on(RuleId::ClusterAdminBinding) {
            if let Some(n) = obj.root.path(&["roleRef", "name"]) {
                let ref_kind = obj.root.path(&["roleRef", "kind"]).and_then(Node::as_str);
                if n.as_str() == Some("cluster-admin") && ref_kind != Some("Role") {
                    ctx.hit(
                        RuleId::ClusterAdminBinding,
                        "roleRef/cluster-admin".to_string(),
                        n,
                        None,
                        format!("{kind} binds the cluster-admin ClusterRole"),
                        "bind a role with only the permissions the subjects need",
                    );
                } else if let Some(role) = n
                    .as_str()
                    .filter(|r| ref_kind != Some("Role") && is_control_plane_role(r))
                {
                    ctx.hit(
                        RuleId::ClusterAdminBinding,
                        format!("roleRef/{role}"),
                        n,
                        None,
                        format!("{kind} binds the control plane's ClusterRole `{role}` (the controllers' and nodes' own rights: deleting any object, escalating roles, reading every Secret)"),
                        "bind a role with only the permissions the subjects need",
                    );
                }
            }
        }
        if ctx.on(RuleId::RbacSystemGroups) {
            broad_subjects(ctx, obj);
        }
    }
}

/// Bootstrap ClusterRoles of the control plane (kube-controller-manager's controllers, the
/// scheduler, kubelets, the `system:masters` group's): several are cluster-admin in all but
/// name (`system:controller:generic-garbage-collector` deletes anything,
/// `system:controller:clusterrole-aggregation-controller` escalates). The ones workloads bind
/// on purpose (`system:auth-delegator`, `system:heapster`, `system:basic-user`…) are not here.
fn is_control_plane_role(name: &str) -> bool {
    name.starts_with("system:controller:")
        || matches!(
            name,
            "system:kube-controller-manager"
                | "system:kube-scheduler"
                | "system:node"
                | "system:masters"
                | "system:certificates.k8s.io:certificatesigningrequests:nodeclient"
        )
}

/// Built-in ClusterRoles that grant write access to workloads and secrets (`admin` and `edit`
/// in a namespace, `cluster-admin` everywhere).
const POWERFUL_CLUSTER_ROLES: [&str; 3] = ["cluster-admin", "admin", "edit"];

/// Who a broad subject is, or None for a named user, group or service account. Anyone
/// (anonymous, unauthenticated, authenticated) is broad whatever role it gets; the groups of
/// all service accounts (`system:serviceaccounts`, `system:serviceaccounts:<namespace>`) are
/// broad for a powerful role: any pod of any workload could act with it.
fn broad_subject(name: &str, powerful: bool) -> Option<String> {
    match name {
        "system:anonymous" => Some("every anonymous request".to_string()),
        "system:unauthenticated" => Some("every unauthenticated request".to_string()),
        "system:authenticated" => Some("every authenticated user and service account".to_string()),
        "system:serviceaccounts" if powerful => {
            Some("every service account of the cluster".to_string())
        }
        _ if powerful => name
            .strip_prefix("system:serviceaccounts:")
            .filter(|ns| !ns.is_empty())
            .map(|ns| format!("every service account of namespace `{ns}`")),
        _ => None,
    }
}

/// `rbac-system-groups`: a RoleBinding or ClusterRoleBinding that grants its role to everyone
/// (`system:anonymous`, `system:unauthenticated`, `system:authenticated`), or a powerful
/// built-in ClusterRole (`cluster-admin`, `admin`, `edit`) to every service account
/// (`system:serviceaccounts`, `system:serviceaccounts:<ns>`).
fn broad_subjects(ctx: &mut Ctx<'_>, obj: &Object) {
    let kind = obj.kind();
    let role = obj
        .root
        .path(&["roleRef", "name"])
        .and_then(Node::as_str)
        .unwrap_or("");
    let ref_kind = obj.root.path(&["roleRef", "kind"]).and_then(Node::as_str);
    // A namespaced Role that happens to be called `admin` is not the built-in one.
    let powerful = ref_kind != Some("Role") && POWERFUL_CLUSTER_ROLES.contains(&role);
    for s in obj.root.get("subjects").map(Node::as_seq).unwrap_or(&[]) {
        let name = s.get("name").and_then(Node::as_str).unwrap_or("");
        let Some(who) = broad_subject(name, powerful) else {
            continue;
        };
        ctx.hit(
            RuleId::RbacSystemGroups,
            format!("subject/{name}/{role}"),
            s.get("name").unwrap_or(s),
            None,
            format!("{kind} grants the role `{role}` to `{name}` ({who})"),
            "bind named users, groups or service accounts instead",
        );
    }
}

/// The resources of the escalation checks that are cluster-scoped (see [`rbac_escalation`]).
const CLUSTER_SCOPED_RESOURCES: [&str; 10] = [
    "clusterroles",
    "clusterrolebindings",
    "users",
    "groups",
    "userextras/scopes",
    "uids",
    "nodes/proxy",
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
    "certificatesigningrequests/approval",
];

fn rbac_escalation(ctx: &mut Ctx<'_>, kind: &str, rules: &[Node]) {
    type Check = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static [&'static str],
        &'static str,
    );
    const CHECKS: [Check; 9] = [
        (
            "escalate",
            &[
                ("rbac.authorization.k8s.io", "roles"),
                ("rbac.authorization.k8s.io", "clusterroles"),
                ("rbac.authorization.k8s.io", "rolebindings"),
                ("rbac.authorization.k8s.io", "clusterrolebindings"),
            ],
            &["escalate"],
            "the `escalate` verb on roles lets it grant permissions it does not have",
        ),
        (
            "bind",
            &[
                ("rbac.authorization.k8s.io", "roles"),
                ("rbac.authorization.k8s.io", "clusterroles"),
                ("rbac.authorization.k8s.io", "rolebindings"),
                ("rbac.authorization.k8s.io", "clusterrolebindings"),
            ],
            &["bind"],
            "the `bind` verb on roles lets it bind any role, cluster-admin included",
        ),
        (
            "impersonate",
            &[
                ("", "users"),
                ("", "groups"),
                ("", "serviceaccounts"),
                ("authentication.k8s.io", "userextras/scopes"),
                ("authentication.k8s.io", "uids"),
            ],
            &["impersonate"],
            "the `impersonate` verb lets it act as any user, group or service account",
        ),
        (
            "exec",
            &[("", "pods/exec"), ("", "pods/attach")],
            &["create", "get"],
            "pods/exec or pods/attach lets it run commands in other workloads",
        ),
        (
            "nodes-proxy",
            &[("", "nodes/proxy")],
            &["create", "get"],
            "nodes/proxy gives access to the kubelet API",
        ),
        (
            "create-pods",
            &[("", "pods")],
            &["create"],
            "creating pods lets it mount any service account or secret of the namespace",
        ),
        (
            "webhooks",
            &[
                (
                    "admissionregistration.k8s.io",
                    "mutatingwebhookconfigurations",
                ),
                (
                    "admissionregistration.k8s.io",
                    "validatingwebhookconfigurations",
                ),
            ],
            &["create", "update", "patch"],
            "controlling admission webhooks lets it rewrite or wave through every object",
        ),
        (
            "token",
            &[("", "serviceaccounts/token")],
            &["create"],
            "creating service account tokens lets it act as any service account",
        ),
        (
            "csr-approve",
            &[("certificates.k8s.io", "certificatesigningrequests/approval")],
            &["update", "patch"],
            "approving certificate signing requests lets it mint client certificates",
        ),
    ];
    // A RoleBinding grants only requests within its namespace: a Role's rules on
    // cluster-scoped resources (webhooks, CSR approval, nodes/proxy, ClusterRoles, users and
    // groups to impersonate) grant nothing, explicitly or through `*`.
    let namespaced_only = kind == "Role";
    for (id, targets, verbs, why) in CHECKS {
        let found = rules.iter().find(|r| {
            targets
                .iter()
                .filter(|(_, res)| !(namespaced_only && CLUSTER_SCOPED_RESOURCES.contains(res)))
                .any(|(g, res)| verbs.iter().any(|v| grants(r, g, res, v)))
        });
        let Some(rule) = found else { continue };
        if id == "csr-approve" {
            // (Unreachable for a Role: both resources are cluster-scoped.)
            let approves = rules
                .iter()
                .any(|r| grants(r, "certificates.k8s.io", "signers", "approve"));
            if !approves {
                continue;
            }
        }
        let at = rule.get("verbs").unwrap_or(rule);
        ctx.hit(
            RuleId::RbacEscalation,
            format!("escalation/{id}"),
            at,
            None,
            format!("{kind} can escalate privileges: {why}"),
            "remove the permission, or grant it only through a reviewed, narrowly scoped role",
        );
    }
}

fn is_sops_value(s: &str) -> bool {
    let Some(inner) = s
        .strip_prefix("ENC[AES256_GCM,data:")
        .and_then(|r| r.strip_suffix(']'))
    else {
        return false;
    };
    // data:.+,iv:.+,tag:.+,type:.+
    let Some((data, rest)) = inner.split_once(",iv:") else {
        return false;
    };
    let Some((iv, rest)) = rest.split_once(",tag:") else {
        return false;
    };
    let Some((tag, ty)) = rest.split_once(",type:") else {
        return false;
    };
    !data.is_empty() && !iv.is_empty() && !tag.is_empty() && !ty.is_empty()
}

fn secret_rules(ctx: &mut Ctx<'_>, obj: &Object) {
    let root = &obj.root;
    if obj.kind() == "Secret" && obj.identity.group.is_empty() {
        let has_sops = matches!(root.get("sops").map(|n| &n.value), Some(Value::Map(_)));
        let mut any_leaf = false;
        for field in ["data", "stringData"] {
            for (k, v) in root.get(field).map(Node::as_map).unwrap_or(&[]) {
                any_leaf = true;
                let encrypted = v.as_str().is_some_and(is_sops_value);
                if !encrypted {
                    ctx.hit(
                        RuleId::PlaintextSecrets,
                        format!("secret/{field}/{}", k.name),
                        v,
                        None,
                        format!("Secret {field} `{}` is not SOPS-encrypted (plaintext in Git)", k.name),
                        "encrypt the Secret with SOPS (every value ENC[AES256_GCM,...]) or use a SealedSecret",
                    );
                }
            }
        }
        if any_leaf && !has_sops {
            ctx.hit(
                RuleId::PlaintextSecrets,
                "secret/no-sops".to_string(),
                root,
                None,
                "Secret has data but no `sops` stanza: its values are not SOPS-encrypted"
                    .to_string(),
                "encrypt the file with sops so it carries the sops metadata",
            );
        }
    }
    if obj.kind() == "SealedSecret" && obj.identity.group == "bitnami.com" {
        sealed_secret_template(ctx, root);
    }
    private_keys(ctx, root, 0);
}

/// `spec.template.data` of a SealedSecret is rendered by the controller as Go templates over
/// the decrypted `spec.encryptedData` (newer controllers also expose the template's own
/// plaintext keys). A value is sealed only when every `{{ }}` action of it renders a key of
/// `encryptedData` (`{{ .key }}`, `{{ index . "key" }}`, optionally piped through functions
/// without arguments); a value without actions, an action holding a constant
/// (`{{ "hunter2" }}`, `{{ printf "%s" "x" }}`) or one naming a key outside `encryptedData`
/// is plaintext in Git. Text around the actions (`postgres://{{ .user }}@db`) is structure,
/// not a secret, and passes. `stringData` is not a template field: any value there is
/// plaintext too. A null value removes the key and passes.
fn sealed_secret_template(ctx: &mut Ctx<'_>, root: &Node) {
    let sealed: Vec<&str> = root
        .path(&["spec", "encryptedData"])
        .map(Node::as_map)
        .unwrap_or(&[])
        .iter()
        .map(|(k, _)| k.name.as_str())
        .collect();
    for field in ["data", "stringData"] {
        for (k, v) in root
            .path(&["spec", "template", field])
            .map(Node::as_map)
            .unwrap_or(&[])
        {
            if v.is_null() {
                continue;
            }
            let problem = match v.as_str() {
                Some(text) if field == "data" => template_problem(text, &sealed),
                _ => Some("is plaintext".to_string()),
            };
            if let Some(problem) = problem {
                ctx.hit(
                    RuleId::PlaintextSecrets,
                    format!("sealed/template/{}", k.name),
                    v,
                    None,
                    format!(
                        "SealedSecret spec.template.{field} `{}` {problem} (only spec.encryptedData is encrypted)",
                        k.name
                    ),
                    "move the value to spec.encryptedData with kubeseal and render it with {{ index . \"key\" }}",
                );
            }
        }
    }
}

/// Most `{{ }}` actions a template value may hold before it is refused as unreadable.
const MAX_TEMPLATE_ACTIONS: usize = 64;

/// Why a SealedSecret template value is not sealed, or None when every action renders a key of
/// `sealed` (see [`sealed_secret_template`]).
fn template_problem(text: &str, sealed: &[&str]) -> Option<String> {
    let mut rest = text;
    let mut actions = 0;
    while let Some(start) = rest.find("{{") {
        let after = rest.get(start + 2..).unwrap_or("");
        let Some(end) = after.find("}}") else {
            return Some("holds an unterminated `{{` template action".to_string());
        };
        actions += 1;
        if actions > MAX_TEMPLATE_ACTIONS {
            return Some(format!(
                "holds more than {MAX_TEMPLATE_ACTIONS} template actions"
            ));
        }
        let inner = after.get(..end).unwrap_or("");
        let inner = inner.strip_prefix('-').unwrap_or(inner);
        let inner = inner.strip_suffix('-').unwrap_or(inner).trim();
        match sealed_reference(inner) {
            Some(key) if sealed.contains(&key) => {}
            Some(key) => {
                return Some(format!(
                    "renders `{key}`, which is not a key of spec.encryptedData"
                ))
            }
            None => {
                return Some(format!(
                    "holds the template action `{{{{ {inner} }}}}`, which does not render only a key of spec.encryptedData (a constant in a template is plaintext)"
                ))
            }
        }
        rest = after.get(end + 2..).unwrap_or("");
    }
    if actions == 0 {
        return Some("is plaintext".to_string());
    }
    None
}

/// The key a template action renders when it is `.key` or `index . "key"` (quoted with `"` or
/// backquotes), optionally piped through argument-less functions (`| b64dec`).
fn sealed_reference(action: &str) -> Option<&str> {
    let mut stages = action.split('|').map(str::trim);
    let head = stages.next()?;
    let is_ident = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit())
    };
    if !stages.all(is_ident) {
        return None;
    }
    if let Some(field) = head.strip_prefix('.') {
        return is_ident(field).then_some(field);
    }
    let args = head.strip_prefix("index")?.trim_start();
    let quoted = args.strip_prefix('.')?.trim();
    ['"', '`'].iter().find_map(|q| {
        quoted
            .strip_prefix(*q)
            .and_then(|k| k.strip_suffix(*q))
            .filter(|k| !k.is_empty() && !k.contains(['"', '`', '\\']))
    })
}

/// Whether a string holds a PEM private key (`-----BEGIN … PRIVATE KEY-----`). Every string
/// of every object goes through here: the searchers are built once, and a string too short to
/// hold the two markers is not searched.
fn holds_private_key(s: &str) -> bool {
    static BEGIN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("-----BEGIN"));
    static END: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("PRIVATE KEY-----"));
    // The shortest text holding both: `PRIVATE KEY-----BEGIN` (they share the dashes).
    s.len() >= "PRIVATE KEY-----BEGIN".len()
        && BEGIN.find(s.as_bytes()).is_some()
        && END.find(s.as_bytes()).is_some()
}

fn private_keys(ctx: &mut Ctx<'_>, node: &Node, depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    match &node.value {
        Value::Str(s) if holds_private_key(s) => {
            ctx.hit(
                RuleId::PlaintextSecrets,
                format!("private-key/{}", s.len()),
                node,
                None,
                "a private key (-----BEGIN ... PRIVATE KEY-----) is stored in plaintext"
                    .to_string(),
                "remove the key from Git and rotate it; store it SOPS-encrypted or sealed",
            );
        }
        Value::Seq(items) => {
            for i in items {
                private_keys(ctx, i, depth + 1);
            }
        }
        Value::Map(entries) => {
            for (_, v) in entries {
                private_keys(ctx, v, depth + 1);
            }
        }
        _ => {}
    }
}

fn ingress_snippets(ctx: &mut Ctx<'_>, obj: &Object) {
    for (k, v) in obj
        .root
        .path(&["metadata", "annotations"])
        .map(Node::as_map)
        .unwrap_or(&[])
    {
        if k.name.ends_with("-snippet") {
            ctx.hit(
                RuleId::IngressSnippets,
                format!("annotation/{}", k.name),
                v,
                None,
                format!(
                    "Ingress sets the snippet annotation `{}` (raw NGINX configuration, CVE-2021-25742)",
                    k.name
                ),
                "remove the snippet annotation and use the controller's dedicated annotations",
            );
        }
    }
}

/// Why a source URL is refused, or None when an allow-listed prefix covers it.
pub fn url_problem(settings: &Settings, url: &str) -> Option<String> {
    if url.contains("{{") || url.contains("${") {
        return Some("is templated, so its target cannot be checked".to_string());
    }
    let lowered = url.to_ascii_lowercase();
    if url.contains("/../")
        || url.ends_with("/..")
        || url.contains("/./")
        || lowered.contains("%2e")
        || lowered.contains("%2f")
        || url.contains('\\')
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Some(
            "contains path tricks (dot segments, encoded dots or slashes, whitespace)".to_string(),
        );
    }
    // `https://git.example.com@evil.test/x` is `evil.test` to Git, yet a prefix without a
    // trailing slash (`https://git.example.com`) ends on `@`: only a plain user name may stand
    // before the host, and a prefix must reach past it (`https://git` does not allow
    // `https://git@evil.test/`).
    let mut host_start = 0;
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if let Some((user, _)) = authority.rsplit_once('@') {
            host_start = scheme.len() + 3 + user.len() + 1;
            if user.is_empty()
                || !user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Some(format!(
                    "carries the user information `{user}@` (a password, or a host name in front of the real one)"
                ));
            }
        }
    }
    if settings
        .source_urls
        .iter()
        .any(|p| p.len() >= host_start && prefix_allows(p, url))
    {
        None
    } else {
        Some("is not in source_urls".to_string())
    }
}

const FLUX_SOURCES: [&str; 4] = ["GitRepository", "OCIRepository", "HelmRepository", "Bucket"];

fn gitops_sources(ctx: &mut Ctx<'_>, obj: &Object) {
    let kind = obj.kind();
    let group = obj.identity.group.as_str();
    let root = &obj.root;
    let check_url = |ctx: &mut Ctx<'_>, what: &str, node: &Node, url: &str| {
        if let Some(problem) = url_problem(ctx.settings, url) {
            ctx.hit(
                RuleId::GitopsSources,
                format!("source/{what}/{url}"),
                node,
                None,
                format!("{kind} {what} points at `{url}`, which {problem}"),
                "point it at an allow-listed repository, or add the URL prefix to source_urls (reviewed change of the policy)",
            );
        }
    };
    if group == "source.toolkit.fluxcd.io" && FLUX_SOURCES.contains(&kind) {
        if kind == "Bucket" {
            let endpoint = root.path(&["spec", "endpoint"]);
            let bucket = root
                .path(&["spec", "bucketName"])
                .and_then(Node::as_str)
                .unwrap_or("");
            match endpoint {
                Some(n) => {
                    let e = n.as_str().unwrap_or("");
                    let url = format!("{}/{bucket}", e.trim_end_matches('/'));
                    check_url(ctx, "spec.endpoint", n, &url);
                }
                None => check_url(ctx, "spec.endpoint", root, ""),
            }
        } else {
            match root.path(&["spec", "url"]) {
                Some(n) => check_url(ctx, "spec.url", n, n.as_str().unwrap_or("")),
                None => check_url(ctx, "spec.url", root, ""),
            }
        }
    }
    if group == "source.toolkit.fluxcd.io" && kind == "GitRepository" {
        flux_git_refs(ctx, obj);
    }
    if group == "argoproj.io" && (kind == "Application" || kind == "ApplicationSet") {
        if let Some(spec) = root.get("spec") {
            let mut urls = Vec::new();
            collect_repo_urls(spec, &mut urls, 0);
            for n in urls {
                check_url(ctx, "repoURL", n, n.as_str().unwrap_or(""));
            }
            argo_revisions(ctx, kind, spec);
            if kind == "ApplicationSet" {
                let mut found = Vec::new();
                collect_keys(spec, &["scmProvider", "pullRequest"], &mut found, 0);
                for (key, n) in found {
                    ctx.hit(
                        RuleId::GitopsSources,
                        format!("generator/{key}"),
                        n,
                        None,
                        format!(
                            "the ApplicationSet uses a `{key}` generator: the repositories it deploys come from the SCM and cannot be checked against source_urls"
                        ),
                        "use git or list generators with allow-listed repoURLs",
                    );
                }
            }
        }
    }
    if group == "argoproj.io" && kind == "AppProject" {
        for n in root
            .path(&["spec", "sourceRepos"])
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            let url = n.as_str().unwrap_or("");
            if url.contains('*') && !url.ends_with("/*") || url == "*" {
                ctx.hit(
                    RuleId::GitopsSources,
                    format!("project/sourceRepos/{url}"),
                    n,
                    None,
                    format!("AppProject sourceRepos allows `{url}` (wildcard)"),
                    "list the allowed repositories explicitly",
                );
            } else {
                let prefix = url.strip_suffix('*').unwrap_or(url);
                check_url(ctx, "sourceRepos", n, prefix);
            }
        }
        for d in root
            .path(&["spec", "destinations"])
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            for field in ["server", "namespace", "name"] {
                if let Some(n) = d.get(field).filter(|n| n.as_str() == Some("*")) {
                    ctx.hit(
                        RuleId::GitopsSources,
                        format!("project/destinations/{field}/*"),
                        n,
                        None,
                        format!("AppProject opens destinations with {field}: `*`"),
                        "list the clusters and namespaces the project may deploy to",
                    );
                }
            }
        }
        for n in root
            .path(&["spec", "sourceNamespaces"])
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .filter(|n| n.as_str() == Some("*"))
        {
            ctx.hit(
                RuleId::GitopsSources,
                "project/sourceNamespaces/*".to_string(),
                n,
                None,
                "AppProject accepts Applications from every namespace (sourceNamespaces: `*`)"
                    .to_string(),
                "list the namespaces whose Applications may use the project",
            );
        }
    }
    let flux_deployer = (group == "kustomize.toolkit.fluxcd.io" && kind == "Kustomization")
        || (group == "helm.toolkit.fluxcd.io" && kind == "HelmRelease");
    if flux_deployer && ctx.settings.flux_service_account {
        let sa = root
            .path(&["spec", "serviceAccountName"])
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty());
        if sa.is_none() {
            ctx.hit(
                RuleId::GitopsSources,
                "flux/serviceAccountName".to_string(),
                root.get("spec").unwrap_or(root),
                None,
                format!(
                    "{kind} has no spec.serviceAccountName: Flux would apply it with the controller's cluster-admin rights"
                ),
                "set spec.serviceAccountName to the tenant's service account",
            );
        }
    }
    // A HelmRelease holds no URL itself: its chart comes through a source object
    // (spec.chart.spec.sourceRef, spec.chartRef), which is checked where it is defined.
}

/// How a `gitops-sources` ref finding is fixed.
const REF_FIX: &str = "deploy from a ref the repository's rules protect (source_refs), or pin a full commit SHA; or add the ref to source_refs (reviewed change of the policy)";

/// True for a full commit SHA (SHA-1 or SHA-256 object name): a pin that cannot move.
fn is_commit_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The names a ref written without saying what it is (Argo CD `targetRevision`, kustomize
/// `?ref=`) is matched by: as written, and its short name when written in full.
fn written_ref_names(r: &str) -> Vec<String> {
    let mut names = vec![r.to_string()];
    for prefix in ["refs/heads/", "refs/tags/"] {
        if let Some(short) = r.strip_prefix(prefix) {
            names.push(short.to_string());
        }
    }
    names
}

/// Why a ref (given by the names it is matched by) may not be deployed from, or None when a
/// `source_refs` glob allows one of its names. A full commit SHA is always allowed.
fn ref_problem(settings: &Settings, names: &[String]) -> Option<String> {
    let Some(first) = names.first() else {
        return Some("is empty".to_string());
    };
    if first.contains("{{") || first.contains("${") {
        return Some("is templated, so what it deploys cannot be checked".to_string());
    }
    if is_commit_sha(first) {
        return None;
    }
    let allowed = settings
        .source_refs
        .iter()
        .any(|g| names.iter().any(|n| crate::glob_matches(g, n, false)));
    if allowed {
        None
    } else {
        Some(format!(
            "is not in source_refs ({}): changes pushed there would be deployed without this repository's review",
            if settings.source_refs.is_empty() {
                "empty: only commit SHAs".to_string()
            } else {
                settings.source_refs.join(", ")
            }
        ))
    }
}

/// `gitops-sources` on a Flux `GitRepository`'s `spec.ref`. A commit SHA takes precedence
/// over every other field (Flux); otherwise every field that is set is checked (`name`,
/// `semver`, `tag`, `branch`: Flux uses the first, judging all of them needs no precedence
/// table), and with none the default branch `master` (Flux's default). A semver range picks
/// whichever tag matches, so only a glob admitting every tag (`*`, `refs/tags/*`) allows it.
fn flux_git_refs(ctx: &mut Ctx<'_>, obj: &Object) {
    let root = &obj.root;
    let kind = obj.kind();
    let r = root.path(&["spec", "ref"]);
    let field = |k: &str| r.and_then(|r| r.get(k));
    if let Some(commit) = field("commit") {
        let sha = commit.as_str().unwrap_or("");
        if is_commit_sha(sha) {
            return;
        }
        ctx.hit(
            RuleId::GitopsSources,
            format!("source-ref/spec.ref.commit/{sha}"),
            commit,
            None,
            format!(
                "{kind} spec.ref.commit `{}` is not a full commit SHA",
                commit.display()
            ),
            "write the full 40-character (or 64 for SHA-256) commit SHA",
        );
        return;
    }
    let mut checked = false;
    for (k, what) in [
        ("name", "ref"),
        ("semver", "semver range"),
        ("tag", "tag"),
        ("branch", "branch"),
    ] {
        let Some(n) = field(k) else { continue };
        checked = true;
        let text = n.as_str().unwrap_or("").to_string();
        let names = match k {
            "semver" => vec!["*".to_string(), "refs/tags/*".to_string()],
            "tag" => vec![text.clone(), format!("refs/tags/{text}")],
            "branch" => vec![text.clone(), format!("refs/heads/{text}")],
            _ => written_ref_names(&text),
        };
        let names = if k == "semver" && (text.contains("{{") || text.contains("${")) {
            vec![text.clone()]
        } else {
            names
        };
        if let Some(problem) = ref_problem(ctx.settings, &names) {
            ctx.hit(
                RuleId::GitopsSources,
                format!("source-ref/spec.ref.{k}/{text}"),
                n,
                None,
                format!("{kind} deploys from the {what} `{text}` (spec.ref.{k}), which {problem}"),
                REF_FIX,
            );
        }
    }
    if !checked {
        let names = vec!["master".to_string(), "refs/heads/master".to_string()];
        if let Some(problem) = ref_problem(ctx.settings, &names) {
            ctx.hit(
                RuleId::GitopsSources,
                "source-ref/spec.ref=unset".to_string(),
                r.or_else(|| root.get("spec")).unwrap_or(root),
                None,
                format!(
                    "{kind} sets no spec.ref, so Flux deploys from the branch `master`, which {problem}"
                ),
                REF_FIX,
            );
        }
    }
}

/// `gitops-sources` on the revisions of an Argo CD Application or ApplicationSet: every map
/// with a `repoURL` under `spec` (`source`, each of `sources`, the ApplicationSet template and
/// git generators) deploys its `targetRevision` (generators: `revision`), `HEAD` when absent.
/// A source with `chart` names a Helm chart version there, not a Git ref, and is skipped.
fn argo_revisions(ctx: &mut Ctx<'_>, kind: &str, spec: &Node) {
    let mut sources = Vec::new();
    collect_repo_maps(spec, &mut sources, 0);
    for source in sources {
        if source.get("chart").is_some() {
            continue;
        }
        let (field, node) = match (source.get("targetRevision"), source.get("revision")) {
            (Some(n), _) => ("targetRevision", Some(n)),
            (None, Some(n)) => ("revision", Some(n)),
            (None, None) => ("targetRevision", None),
        };
        let written = node.map(|n| n.display());
        let r = written
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("HEAD");
        let Some(problem) = ref_problem(ctx.settings, &written_ref_names(r)) else {
            continue;
        };
        let repo = source.get("repoURL").map(Node::display).unwrap_or_default();
        let (key, at, how) = match node {
            Some(n) => (
                format!("source-ref/{field}/{repo}/{r}"),
                n,
                format!("`{r}`"),
            ),
            None => (
                format!("source-ref/{repo}/{field}=unset"),
                source,
                format!("`{r}` (no {field})"),
            ),
        };
        ctx.hit(
            RuleId::GitopsSources,
            key,
            at,
            None,
            format!("{kind} deploys `{repo}` at {how}, which {problem}"),
            REF_FIX,
        );
    }
}

/// Maps holding a `repoURL` key, anywhere under `node`.
fn collect_repo_maps<'a>(node: &'a Node, out: &mut Vec<&'a Node>, depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            if entries.iter().any(|(k, _)| k.name == "repoURL") {
                out.push(node);
            }
            for (_, v) in entries {
                collect_repo_maps(v, out, depth + 1);
            }
        }
        Value::Seq(items) => {
            for i in items {
                collect_repo_maps(i, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// The ref a kustomize remote resource names (`?ref=` or the older `?version=`), if any.
fn remote_ref(url: &str) -> Option<&str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "ref" || *k == "version")
        .map(|(_, v)| v)
}

/// `secret-stores`: every store an ExternalSecret, PushSecret or ClusterExternalSecret names.
/// A SecretStore is the namespace's own; a ClusterSecretStore must be allowed for the namespace
/// by `secret_stores` (a ClusterExternalSecret, which writes into many namespaces, by `"*"`).
fn secret_store_refs(ctx: &mut Ctx<'_>, obj: &Object) {
    let root = &obj.root;
    let mut refs: Vec<(String, &Node)> = Vec::new();
    let (namespace, spec_path, spec) = match obj.kind() {
        "ExternalSecret" => (obj.identity.namespace.as_str(), "spec", root.get("spec")),
        "ClusterExternalSecret" => (
            "",
            "spec.externalSecretSpec",
            root.path(&["spec", "externalSecretSpec"]),
        ),
        "PushSecret" => (obj.identity.namespace.as_str(), "spec", root.get("spec")),
        "ClusterPushSecret" => (
            "",
            "spec.pushSecretSpec",
            root.path(&["spec", "pushSecretSpec"]),
        ),
        _ => return,
    };
    let Some(spec) = spec else {
        return;
    };
    if let Some(r) = spec.get("secretStoreRef") {
        refs.push((format!("{spec_path}.secretStoreRef"), r));
    }
    for field in ["data", "dataFrom"] {
        for (i, d) in spec
            .get(field)
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            if let Some(r) = d.path(&["sourceRef", "storeRef"]) {
                refs.push((format!("{spec_path}.{field}[{i}].sourceRef.storeRef"), r));
            }
        }
    }
    for (i, d) in spec
        .get("dataTo")
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        if let Some(r) = d.get("storeRef") {
            refs.push((format!("{spec_path}.dataTo[{i}].storeRef"), r));
        }
    }
    for (i, r) in spec
        .get("secretStoreRefs")
        .map(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        refs.push((format!("{spec_path}.secretStoreRefs[{i}]"), r));
    }
    let label = obj.label();
    for (path, r) in refs {
        let kind = r
            .get("kind")
            .and_then(Node::as_str)
            .unwrap_or("SecretStore");
        let name_node = r.get("name").unwrap_or(r);
        let name = name_node.as_str().unwrap_or("");
        if kind == "SecretStore" {
            // The namespace's own store (for a ClusterExternalSecret: each target namespace's).
            continue;
        }
        let allowed = kind == "ClusterSecretStore"
            && ["*", namespace]
                .iter()
                .filter(|ns| !ns.is_empty())
                .any(|ns| {
                    ctx.settings
                        .secret_stores
                        .get(*ns)
                        .is_some_and(|l| l.iter().any(|n| n == name))
                });
        if !allowed {
            let whom = if namespace.is_empty() {
                "every namespace (`\"*\"`)".to_string()
            } else {
                format!("namespace `{namespace}`")
            };
            ctx.hit(
                RuleId::SecretStores,
                format!("store/{path}/{kind}/{name}"),
                name_node,
                None,
                format!(
                    "{label} `{path}` reads from {kind} `{name}`, which secret_stores does not allow for {whom}"
                ),
                "use the namespace's own SecretStore or a ClusterSecretStore allowed for it, or add it to secret_stores (reviewed change of the policy)",
            );
        }
    }
}

fn collect_keys<'a>(
    node: &'a Node,
    keys: &[&'static str],
    out: &mut Vec<(&'static str, &'a Node)>,
    depth: usize,
) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                if let Some(key) = keys.iter().find(|key| **key == k.name) {
                    out.push((key, v));
                }
                collect_keys(v, keys, out, depth + 1);
            }
        }
        Value::Seq(items) => {
            for i in items {
                collect_keys(i, keys, out, depth + 1);
            }
        }
        _ => {}
    }
}

fn collect_repo_urls<'a>(node: &'a Node, out: &mut Vec<&'a Node>, depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                if k.name == "repoURL" {
                    out.push(v);
                } else {
                    collect_repo_urls(v, out, depth + 1);
                }
            }
        }
        Value::Seq(items) => {
            for i in items {
                collect_repo_urls(i, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// True when a kustomize resource entry is fetched from elsewhere.
fn is_remote_resource(s: &str) -> bool {
    if s.contains("://")
        || s.starts_with("git@")
        || s.starts_with("git::")
        || s.contains("?ref=")
        || s.contains("?version=")
        || s.contains("?timeout=")
        || s.contains("?submodules=")
    {
        return true;
    }
    // `github.com/org/repo//path`: a host name as the first path element.
    match s.split_once('/') {
        Some((first, _)) => first.contains('.') && !first.starts_with('.') && first != "..",
        None => false,
    }
}

fn kustomization_sources(ctx: &mut Ctx<'_>, obj: &Object) {
    let root = &obj.root;
    for field in ["resources", "bases", "components"] {
        for n in root.get(field).map(Node::as_seq).unwrap_or(&[]) {
            let s = n.as_str().unwrap_or("");
            if is_remote_resource(s) {
                let written = remote_ref(s);
                let r = written.unwrap_or("HEAD");
                if let Some(problem) = ref_problem(ctx.settings, &written_ref_names(r)) {
                    let how = if written.is_some() {
                        format!("the ref `{r}`")
                    } else {
                        "the default branch (`HEAD`, no `?ref=`)".to_string()
                    };
                    ctx.hit(
                        RuleId::GitopsSources,
                        format!("source-ref/kustomization/{field}/{s}"),
                        n,
                        None,
                        format!(
                            "kustomization `{field}` pulls the remote base `{s}` at {how}, which {problem}"
                        ),
                        REF_FIX,
                    );
                }
                if let Some(problem) = url_problem(ctx.settings, s) {
                    ctx.hit(
                        RuleId::GitopsSources,
                        format!("kustomization/{field}/{s}"),
                        n,
                        None,
                        format!(
                            "kustomization `{field}` pulls the remote base `{s}`, which {problem}"
                        ),
                        "vendor the base into this repository, or use an allow-listed source",
                    );
                }
            }
        }
    }
    for chart in root.get("helmCharts").map(Node::as_seq).unwrap_or(&[]) {
        if let Some(n) = chart.get("repo") {
            let s = n.as_str().unwrap_or("");
            if let Some(problem) = url_problem(ctx.settings, s) {
                ctx.hit(
                    RuleId::GitopsSources,
                    format!("kustomization/helmCharts/{s}"),
                    n,
                    None,
                    format!("kustomization helmCharts pulls from `{s}`, which {problem}"),
                    "use an allow-listed chart repository",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        let i = parse_image("nginx");
        assert_eq!(
            (i.full_name.as_str(), i.tag, i.digest),
            ("docker.io/library/nginx", None, None)
        );
        let i = parse_image("localhost:5000/team/app:1.2@sha256:abc");
        assert_eq!(i.registry, "localhost:5000");
        assert_eq!(i.full_name, "localhost:5000/team/app");
        assert_eq!(i.tag.as_deref(), Some("1.2"));
        assert_eq!(i.digest.as_deref(), Some("sha256:abc"));
        let i = parse_image("registry:5000/app");
        assert_eq!((i.registry.as_str(), i.tag), ("registry:5000", None));
        let i = parse_image("acme/app:latest");
        assert_eq!(i.full_name, "docker.io/acme/app");
        assert_eq!(i.tag.as_deref(), Some("latest"));
    }

    #[test]
    fn prefixes_end_on_boundaries() {
        assert!(prefix_allows(
            "https://github.com/acme",
            "https://github.com/acme/x"
        ));
        assert!(prefix_allows(
            "https://github.com/acme",
            "https://github.com/acme.git"
        ));
        assert!(prefix_allows(
            "https://github.com/acme/",
            "https://github.com/acme/x"
        ));
        assert!(!prefix_allows(
            "https://github.com/acme",
            "https://github.com/acme-evil/x"
        ));
        assert!(!prefix_allows(
            "https://github.com/acme",
            "https://github.com/acme.evil.io"
        ));
        assert!(!prefix_allows(
            "https://github.com",
            "https://github.com.evil.io/x"
        ));
        assert!(prefix_allows("ghcr.io/acme/app", "ghcr.io/acme/app:1.0"));
        assert!(prefix_allows(
            "ghcr.io/acme/app",
            "ghcr.io/acme/app@sha256:00"
        ));
    }

    #[test]
    fn host_paths_are_normalised() {
        assert!(is_sensitive("/"));
        assert!(is_sensitive("//"));
        assert!(is_sensitive("/var/log/../../etc/shadow"));
        assert!(is_sensitive("/var/run/docker.sock"));
        assert!(is_sensitive("/proc/sys/kernel"));
        assert!(is_sensitive("/var/run"));
        assert!(!is_sensitive("/var/run/app"));
        assert!(!is_sensitive("/var/log/app"));
        assert!(!is_sensitive("/etcetera"));
    }

    #[test]
    fn remote_kustomize_resources() {
        for r in [
            "https://github.com/acme/x//base?ref=v1",
            "github.com/acme/x/base",
            "git@github.com:acme/x.git",
            "git::https://example.com/x",
            "ssh://git@example.com/x",
        ] {
            assert!(is_remote_resource(r), "{r}");
        }
        for r in [
            "deployment.yaml",
            "../base",
            "./overlays/prod",
            "base",
            ".hidden/x.yaml",
        ] {
            assert!(!is_remote_resource(r), "{r}");
        }
    }

    #[test]
    fn sops_values() {
        assert!(is_sops_value(
            "ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]"
        ));
        assert!(!is_sops_value(
            "ENC[AES256_GCM,data:,iv:def=,tag:ghi=,type:str]"
        ));
        assert!(!is_sops_value("ENC[AES256_GCM,data:abc]"));
        assert!(!is_sops_value("plaintext"));
    }
}
