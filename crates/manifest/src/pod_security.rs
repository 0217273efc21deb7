//! The Pod Security Standards, checked as Pod Security Admission (PSA) checks one version.
//!
//! `pod_security = { level, version }` holds every pod spec (see [`crate::rules::pod_specs`])
//! to the controls of the level at that version. Each control below follows the check of the
//! same name in k8s.io/pod-security-admission (`policy/check_*.go`): the same fields, the same
//! allowed values, the same version in which a check starts or changes, and the same
//! *overrides* (a restricted check that replaces a baseline one at the restricted level).
//!
//! Findings carry the id of the lowest level whose controls forbid what was found:
//! `pod-security.baseline` for a baseline control, `pod-security.restricted` for what only the
//! restricted level forbids. Where a restricted check replaces a baseline one (capabilities,
//! volume types, seccomp, /proc mount type), each violation is attributed to baseline when the
//! baseline check of the same version would have forbidden it too, so an exception for
//! `pod-security.restricted` leaves an object held to baseline exactly.
//!
//! Values are read the way the API server decodes them: `null` is unset, YAML 1.1 booleans are
//! booleans. A value of the wrong type (`privileged: "true"`) would make the API server refuse
//! the object; it is reported here as a violation of the control (fail closed), as is a volume
//! with a key that is not a known safe volume source. These two choices are the only places
//! where the result can differ from PSA's, and only on objects the cluster would refuse or on
//! volume types newer than this code.

use crate::rules::{Hit, PodSpec};
use crate::settings::{PodSecurity, PodSecurityLevel as Level};
use crate::yaml::{Node, Value};

/// Control names as the Pod Security Standards write them.
mod control {
    pub const HOST_PROCESS: &str = "HostProcess";
    pub const HOST_NAMESPACES: &str = "Host Namespaces";
    pub const PRIVILEGED: &str = "Privileged Containers";
    pub const CAPABILITIES: &str = "Capabilities";
    pub const HOST_PATH: &str = "HostPath Volumes";
    pub const HOST_PORTS: &str = "Host Ports";
    pub const HOST_PROBES: &str = "Host Probes / Lifecycle Hooks";
    pub const APPARMOR: &str = "AppArmor";
    pub const SELINUX: &str = "SELinux";
    pub const PROC_MOUNT: &str = "/proc Mount Type";
    pub const SECCOMP: &str = "Seccomp";
    pub const SYSCTLS: &str = "Sysctls";
    pub const VOLUME_TYPES: &str = "Volume Types";
    pub const PRIVILEGE_ESCALATION: &str = "Privilege Escalation";
    pub const RUN_AS_NON_ROOT: &str = "Running as Non-root";
    pub const RUN_AS_NON_ROOT_USER: &str = "Running as Non-root user";
}

/// Capabilities baseline allows to add (PSA `capabilities_allowed_1_0`).
pub(crate) const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Volume sources the restricted level allows.
const RESTRICTED_VOLUME_SOURCES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Volume sources PSA names when it refuses them (any other key is reported as unknown).
const KNOWN_RESTRICTED_VOLUME_SOURCES: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

/// Safe sysctls by the version that added them.
const SYSCTLS: [(u32, &str); 14] = [
    (0, "kernel.shm_rmid_forced"),
    (0, "net.ipv4.ip_local_port_range"),
    (0, "net.ipv4.tcp_syncookies"),
    (0, "net.ipv4.ping_group_range"),
    (0, "net.ipv4.ip_unprivileged_port_start"),
    (27, "net.ipv4.ip_local_reserved_ports"),
    (29, "net.ipv4.tcp_keepalive_time"),
    (29, "net.ipv4.tcp_fin_timeout"),
    (29, "net.ipv4.tcp_keepalive_intvl"),
    (29, "net.ipv4.tcp_keepalive_probes"),
    (32, "net.ipv4.tcp_rmem"),
    (32, "net.ipv4.tcp_wmem"),
    (37, "net.ipv4.tcp_slow_start_after_idle"),
    (37, "net.ipv4.tcp_notsent_lowat"),
];

/// The safe sysctls of policy version v1.`minor`.
pub fn safe_sysctls(minor: u32) -> Vec<&'static str> {
    SYSCTLS
        .iter()
        .filter(|(since, _)| *since <= minor)
        .map(|(_, name)| *name)
        .collect()
}

const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";
const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

/// A field's value, `null` read as unset (the API server's decoding does the same).
fn field<'a>(node: Option<&'a Node>, key: &str) -> Option<&'a Node> {
    node?.get(key).filter(|n| !n.is_null())
}

/// A boolean field as the API server decodes it.
enum Flag<'a> {
    Unset,
    Is(bool, &'a Node),
    /// Not a boolean: the API server would refuse the object.
    Invalid(&'a Node),
}

fn flag<'a>(node: Option<&'a Node>, key: &str) -> Flag<'a> {
    match field(node, key) {
        None => Flag::Unset,
        Some(n) => match n.as_bool() {
            Some(b) => Flag::Is(b, n),
            None => Flag::Invalid(n),
        },
    }
}

/// A string field: `Ok("")` when unset, `Err` when it holds something else than a string.
fn text<'a>(node: Option<&'a Node>, key: &str) -> Result<&'a str, &'a Node> {
    match field(node, key) {
        None => Ok(""),
        Some(n) => n.as_str().ok_or(n),
    }
}

/// `value` rendered for a message.
fn shown(n: &Node) -> String {
    match &n.value {
        Value::Str(s) => format!("\"{s}\""),
        _ => n.display(),
    }
}

struct Container<'a> {
    name: String,
    node: &'a Node,
    /// `spec.template.spec.containers[0]`.
    path: String,
    /// `initContainers/app`, for location keys.
    key: String,
}

impl<'a> Container<'a> {
    fn sc(&self) -> Option<&'a Node> {
        field(Some(self.node), "securityContext")
    }

    /// What a finding about a missing field points at.
    fn anchor(&self) -> &'a Node {
        self.sc().unwrap_or(self.node)
    }
}

/// Every container PSA visits: init, regular and ephemeral containers.
fn containers<'a>(pod: &PodSpec<'a>) -> Vec<Container<'a>> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for (i, node) in pod
            .spec
            .get(list)
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let name = node
                .get("name")
                .and_then(Node::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("#{i}"));
            out.push(Container {
                path: format!("{}.{list}[{i}]", pod.path),
                key: format!("{list}/{name}"),
                name,
                node,
            });
        }
    }
    out
}

struct Checker<'p, 'a> {
    pod: &'p PodSpec<'a>,
    /// The policy's level.
    level: Level,
    version: String,
    minor: u32,
    windows: bool,
    /// `hostUsers: false`: the pod runs in a user namespace.
    user_namespace: bool,
    containers: Vec<Container<'a>>,
    hits: &'p mut Vec<Hit>,
}

/// Checks one pod spec against `policy`, appending a hit per violation.
pub fn check(pod: &PodSpec<'_>, policy: PodSecurity, hits: &mut Vec<Hit>) {
    let spec = pod.spec;
    let mut c = Checker {
        pod,
        level: policy.level,
        version: policy.version.to_string(),
        minor: policy.version.minor(),
        windows: matches!(text(field(Some(spec), "os"), "name"), Ok("windows")),
        user_namespace: matches!(flag(Some(spec), "hostUsers"), Flag::Is(false, _)),
        containers: containers(pod),
        hits,
    };
    let restricted = c.level == Level::Restricted;
    let v = c.minor;

    // Baseline controls (also part of restricted unless a restricted check replaces them).
    c.host_process();
    c.host_namespaces();
    c.privileged();
    if restricted && v >= 22 {
        if !(v >= 25 && c.windows) {
            c.capabilities_restricted();
        }
    } else {
        c.capabilities_baseline();
    }
    if restricted {
        c.volume_types();
    } else {
        c.host_path_volumes();
    }
    c.host_ports();
    c.apparmor();
    c.selinux();
    if restricted && v >= 35 {
        c.proc_mount(false);
    } else if !(v >= 35 && c.user_namespace) {
        c.proc_mount(true);
    }
    if restricted && v >= 19 {
        if !(v >= 25 && c.windows) {
            c.seccomp_restricted();
        }
    } else if v >= 19 {
        c.seccomp_baseline();
    } else {
        c.seccomp_annotations();
    }
    c.sysctls();
    if v >= 34 {
        c.host_probes();
    }

    // Restricted only.
    if restricted {
        if v >= 8 && !(v >= 25 && c.windows) {
            c.privilege_escalation();
        }
        if !(v >= 35 && c.user_namespace) {
            c.run_as_non_root();
            if v >= 23 {
                c.run_as_non_root_user();
            }
        }
    }
}

impl<'a> Checker<'_, 'a> {
    #[allow(clippy::too_many_arguments)]
    fn hit(
        &mut self,
        level: Level,
        control: &str,
        key: String,
        at: &Node,
        container: Option<&str>,
        problem: String,
        fix: String,
    ) {
        self.hits.push(Hit {
            rule: level.rule(),
            key: format!("pss/{key}"),
            line: at.line,
            column: at.column,
            container: container.map(str::to_string),
            message: if level == self.level {
                format!(
                    "{control} (Pod Security Standards {} {}): {problem}",
                    self.level.as_str(),
                    self.version
                )
            } else {
                format!(
                    "{control} (Pod Security Standards {} {}, a {} control): {problem}",
                    self.level.as_str(),
                    self.version,
                    level.as_str()
                )
            },
            fix,
        });
    }

    fn pod_sc(&self) -> Option<&'a Node> {
        field(Some(self.pod.spec), "securityContext")
    }

    /// Reports a baseline boolean that must not be true (unset and false are allowed):
    /// `parent` holds it at `{base}.{rel}` (`rel` empty for the pod spec itself).
    #[allow(clippy::too_many_arguments)]
    fn forbid_true(
        &mut self,
        control: &str,
        key: String,
        parent: Option<&Node>,
        name: &str,
        who: &str,
        container: Option<&str>,
        base: &str,
        rel: &str,
    ) {
        let (at, value) = match flag(parent, name) {
            Flag::Is(true, n) => (n, "true".to_string()),
            Flag::Invalid(n) => (n, shown(n)),
            _ => return,
        };
        let rel = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}.{name}")
        };
        self.hit(
            Level::Baseline,
            control,
            key,
            at,
            container,
            format!("{who} sets {rel}: {value}"),
            format!("remove {base}.{rel} or set it to false"),
        );
    }

    fn host_process(&mut self) {
        let pod_path = self.pod.path;
        self.forbid_true(
            control::HOST_PROCESS,
            "hostProcess/pod".to_string(),
            field(self.pod_sc(), "windowsOptions"),
            "hostProcess",
            "the pod",
            None,
            pod_path,
            "securityContext.windowsOptions",
        );
        for i in 0..self.containers.len() {
            let c = &self.containers[i];
            let (parent, who, key, path, name) = (
                field(c.sc(), "windowsOptions"),
                format!("container `{}`", c.name),
                format!("hostProcess/{}", c.key),
                c.path.clone(),
                c.name.clone(),
            );
            self.forbid_true(
                control::HOST_PROCESS,
                key,
                parent,
                "hostProcess",
                &who,
                Some(&name),
                &path,
                "securityContext.windowsOptions",
            );
        }
    }

    fn host_namespaces(&mut self) {
        for name in ["hostNetwork", "hostPID", "hostIPC"] {
            let (spec, pod_path) = (self.pod.spec, self.pod.path);
            self.forbid_true(
                control::HOST_NAMESPACES,
                format!("hostNamespaces/{name}"),
                Some(spec),
                name,
                "the pod",
                None,
                pod_path,
                "",
            );
        }
    }

    fn privileged(&mut self) {
        for i in 0..self.containers.len() {
            let c = &self.containers[i];
            let (parent, who, key, path, name) = (
                c.sc(),
                format!("container `{}`", c.name),
                format!("privileged/{}", c.key),
                c.path.clone(),
                c.name.clone(),
            );
            self.forbid_true(
                control::PRIVILEGED,
                key,
                parent,
                "privileged",
                &who,
                Some(&name),
                &path,
                "securityContext",
            );
        }
    }

    /// Added capabilities of a container: (item node, the name or None when not a string).
    fn added_capabilities(caps: Option<&Node>) -> Vec<(&Node, Option<&str>)> {
        match field(caps, "add") {
            None => Vec::new(),
            Some(list) => match &list.value {
                Value::Seq(items) => items.iter().map(|n| (n, n.as_str())).collect(),
                _ => vec![(list, None)],
            },
        }
    }

    fn capabilities_baseline(&mut self) {
        let mut found = Vec::new();
        for c in &self.containers {
            let caps = field(c.sc(), "capabilities");
            for (node, cap) in Self::added_capabilities(caps) {
                if cap.is_some_and(|cap| BASELINE_CAPABILITIES.contains(&cap)) {
                    continue;
                }
                found.push((c.name.clone(), c.key.clone(), c.path.clone(), node, cap));
            }
        }
        for (name, key, path, node, cap) in found {
            self.capability_hit(Level::Baseline, &name, &key, &path, node, cap);
        }
    }

    fn capability_hit(
        &mut self,
        level: Level,
        name: &str,
        key: &str,
        path: &str,
        node: &Node,
        cap: Option<&str>,
    ) {
        let shown_cap = cap.map(str::to_string).unwrap_or_else(|| shown(node));
        let allowed = if level == Level::Baseline {
            "baseline allows adding only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT (exact, upper-case names without CAP_)"
        } else {
            "restricted allows adding only NET_BIND_SERVICE"
        };
        self.hit(
            level,
            control::CAPABILITIES,
            format!("capabilities/{key}/add/{shown_cap}"),
            node,
            Some(name),
            format!("container `{name}` adds the capability {shown_cap}; {allowed}"),
            format!("remove {shown_cap} from {path}.securityContext.capabilities.add"),
        );
    }

    fn capabilities_restricted(&mut self) {
        struct Found<'n> {
            name: String,
            key: String,
            path: String,
            missing_drop: Option<(&'n Node, bool)>,
            adds: Vec<(&'n Node, Option<&'n str>)>,
        }
        let mut found = Vec::new();
        for c in &self.containers {
            let caps = field(c.sc(), "capabilities");
            let missing_drop = match caps {
                None => Some((c.anchor(), true)),
                Some(caps) => match field(Some(caps), "drop") {
                    None => Some((caps, true)),
                    Some(drop) => {
                        let all = drop.as_seq().iter().any(|n| n.as_str() == Some("ALL"));
                        (!all).then_some((drop, false))
                    }
                },
            };
            let adds: Vec<_> = Self::added_capabilities(caps)
                .into_iter()
                .filter(|(_, cap)| *cap != Some("NET_BIND_SERVICE"))
                .collect();
            found.push(Found {
                name: c.name.clone(),
                key: c.key.clone(),
                path: c.path.clone(),
                missing_drop,
                adds,
            });
        }
        for f in found {
            if let Some((at, unset)) = f.missing_drop {
                self.hit(
                    Level::Restricted,
                    control::CAPABILITIES,
                    format!(
                        "capabilities/{}/drop{}",
                        f.key,
                        if unset { "=unset" } else { "/without-ALL" }
                    ),
                    at,
                    Some(&f.name),
                    format!(
                        "container `{}` does not drop ALL capabilities{}",
                        f.name,
                        if unset {
                            ""
                        } else {
                            " (securityContext.capabilities.drop lacks \"ALL\")"
                        }
                    ),
                    format!(
                        "set {}.securityContext.capabilities.drop: [\"ALL\"]",
                        f.path
                    ),
                );
            }
            for (node, cap) in f.adds {
                // What baseline forbids too is a baseline violation.
                let level = if cap.is_some_and(|cap| BASELINE_CAPABILITIES.contains(&cap)) {
                    Level::Restricted
                } else {
                    Level::Baseline
                };
                self.capability_hit(level, &f.name, &f.key, &f.path, node, cap);
            }
        }
    }

    fn volumes(&self) -> Vec<(usize, &'a Node)> {
        self.pod
            .spec
            .get("volumes")
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .collect()
    }

    fn volume_name(vol: &Node, i: usize) -> String {
        vol.get("name")
            .and_then(Node::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{i}"))
    }

    fn host_path_volumes(&mut self) {
        let mut found = Vec::new();
        for (i, vol) in self.volumes() {
            if let Some(hp) = field(Some(vol), "hostPath") {
                found.push((i, Self::volume_name(vol, i), hp));
            }
        }
        for (i, name, hp) in found {
            self.host_path_hit(i, &name, hp);
        }
    }

    fn host_path_hit(&mut self, i: usize, name: &str, at: &Node) {
        let path = format!("{}.volumes[{i}]", self.pod.path);
        self.hit(
            Level::Baseline,
            control::HOST_PATH,
            format!("hostPath/{name}"),
            at,
            None,
            format!("volume `{name}` is a hostPath volume"),
            format!("replace the hostPath of {path} by a PersistentVolumeClaim, emptyDir, ConfigMap or Secret volume"),
        );
    }

    fn volume_types(&mut self) {
        let mut found = Vec::new();
        for (i, vol) in self.volumes() {
            // A volume without any source is defaulted to emptyDir by the API server.
            for (k, v) in vol.as_map() {
                if k.name == "name" || v.is_null() {
                    continue;
                }
                if !RESTRICTED_VOLUME_SOURCES.contains(&k.name.as_str()) {
                    found.push((i, Self::volume_name(vol, i), k.name.clone(), v));
                }
            }
        }
        for (i, name, source, at) in found {
            if source == "hostPath" {
                self.host_path_hit(i, &name, at);
                continue;
            }
            let what = if KNOWN_RESTRICTED_VOLUME_SOURCES.contains(&source.as_str()) {
                format!("the restricted volume type `{source}`")
            } else {
                format!("`{source}`, which is not a volume type restricted allows")
            };
            let path = format!("{}.volumes[{i}]", self.pod.path);
            self.hit(
                Level::Restricted,
                control::VOLUME_TYPES,
                format!("volumeTypes/{name}/{source}"),
                at,
                None,
                format!("volume `{name}` uses {what}"),
                format!("make {path} a configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected or secret volume"),
            );
        }
    }

    fn host_ports(&mut self) {
        let mut found = Vec::new();
        for c in &self.containers {
            for (j, p) in c
                .node
                .get("ports")
                .map(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                if let Some(hp) = field(Some(p), "hostPort") {
                    if hp.as_int() != Some(0) {
                        found.push((c.name.clone(), c.key.clone(), c.path.clone(), j, hp));
                    }
                }
            }
        }
        for (name, key, path, j, hp) in found {
            self.hit(
                Level::Baseline,
                control::HOST_PORTS,
                format!("hostPorts/{key}/{}", hp.display()),
                hp,
                Some(&name),
                format!("container `{name}` uses hostPort {}", shown(hp)),
                format!("remove {path}.ports[{j}].hostPort (or set it to 0) and expose the port through a Service"),
            );
        }
    }

    fn apparmor(&mut self) {
        let mut targets = vec![(
            None,
            "pod".to_string(),
            "the pod".to_string(),
            format!("{}.securityContext.appArmorProfile", self.pod.path),
            field(self.pod_sc(), "appArmorProfile"),
        )];
        for c in &self.containers {
            targets.push((
                Some(c.name.clone()),
                c.key.clone(),
                format!("container `{}`", c.name),
                format!("{}.securityContext.appArmorProfile", c.path),
                field(c.sc(), "appArmorProfile"),
            ));
        }
        let mut found = Vec::new();
        for (container, key, who, path, profile) in targets {
            let Some(profile) = profile else { continue };
            let (at, value) = match field(Some(profile), "type") {
                Some(t) if matches!(t.as_str(), Some("RuntimeDefault" | "Localhost")) => continue,
                Some(t) => (t, shown(t)),
                None => (profile, "(none)".to_string()),
            };
            found.push((container, key, who, path, at, value));
        }
        for (container, key, who, path, at, value) in found {
            self.hit(
                Level::Baseline,
                control::APPARMOR,
                format!("apparmor/{key}/{value}"),
                at,
                container.as_deref(),
                format!("{who} sets the AppArmor profile type {value}"),
                format!("set {path}.type to RuntimeDefault or Localhost, or remove the profile"),
            );
        }
        let annotations: Vec<(String, &Node)> = field(self.pod.metadata, "annotations")
            .map(Node::as_map)
            .unwrap_or(&[])
            .iter()
            .filter(|(k, _)| k.name.starts_with(APPARMOR_ANNOTATION_PREFIX))
            .filter(|(_, v)| {
                let ok = match &v.value {
                    Value::Null => true,
                    Value::Str(s) => {
                        s.is_empty() || s == "runtime/default" || s.starts_with("localhost/")
                    }
                    _ => false,
                };
                !ok
            })
            .map(|(k, v)| (k.name.clone(), v))
            .collect();
        for (key, v) in annotations {
            let path = format!("{}.annotations[\"{key}\"]", self.pod.metadata_path);
            self.hit(
                Level::Baseline,
                control::APPARMOR,
                format!("apparmor/annotation/{key}"),
                v,
                None,
                format!("annotation `{key}` is {}", shown(v)),
                format!("set {path} to runtime/default or localhost/<profile>, or remove it"),
            );
        }
    }

    fn selinux(&mut self) {
        let allowed_types: &[&str] = if self.minor >= 31 {
            &[
                "",
                "container_t",
                "container_init_t",
                "container_kvm_t",
                "container_engine_t",
            ]
        } else {
            &["", "container_t", "container_init_t", "container_kvm_t"]
        };
        let mut found = Vec::new();
        let mut targets = vec![(
            None,
            "pod".to_string(),
            "the pod".to_string(),
            format!("{}.securityContext.seLinuxOptions", self.pod.path),
            field(self.pod_sc(), "seLinuxOptions"),
        )];
        for c in &self.containers {
            targets.push((
                Some(c.name.clone()),
                c.key.clone(),
                format!("container `{}`", c.name),
                format!("{}.securityContext.seLinuxOptions", c.path),
                field(c.sc(), "seLinuxOptions"),
            ));
        }
        for (container, key, who, path, opts) in targets {
            let Some(opts) = opts else { continue };
            match text(Some(opts), "type") {
                Ok(t) if allowed_types.contains(&t) => {}
                t => {
                    let at = field(Some(opts), "type").unwrap_or(opts);
                    let value = match t {
                        Ok(t) => format!("\"{t}\""),
                        Err(n) => shown(n),
                    };
                    found.push((
                        container.clone(),
                        format!("{key}/type/{value}"),
                        at,
                        format!(
                            "{who} sets seLinuxOptions.type {value}; allowed: {}",
                            allowed_types[1..].join(", ")
                        ),
                        format!(
                            "set {path}.type to one of {} or remove it",
                            allowed_types[1..].join(", ")
                        ),
                    ));
                }
            }
            for part in ["user", "role"] {
                if !matches!(text(Some(opts), part), Ok("")) {
                    let at = field(Some(opts), part).unwrap_or(opts);
                    found.push((
                        container.clone(),
                        format!("{key}/{part}"),
                        at,
                        format!(
                            "{who} sets seLinuxOptions.{part} ({}), which may not be set",
                            shown(at)
                        ),
                        format!("remove {path}.{part}"),
                    ));
                }
            }
        }
        for (container, key, at, problem, fix) in found {
            self.hit(
                Level::Baseline,
                control::SELINUX,
                format!("selinux/{key}"),
                at,
                container.as_deref(),
                problem,
                fix,
            );
        }
    }

    /// `/proc` mount type. `baseline_check`: the baseline check of this version (a pod in a user
    /// namespace was exempted by the caller where the version says so); otherwise the
    /// restricted check (v1.35+), which does not exempt it, and whose violations are baseline
    /// ones unless the pod is in a user namespace.
    fn proc_mount(&mut self, baseline_check: bool) {
        let level = if baseline_check || !self.user_namespace || self.minor < 35 {
            Level::Baseline
        } else {
            Level::Restricted
        };
        let mut found = Vec::new();
        for c in &self.containers {
            if let Some(pm) = field(c.sc(), "procMount") {
                if pm.as_str() != Some("Default") {
                    found.push((c.name.clone(), c.key.clone(), c.path.clone(), pm));
                }
            }
        }
        for (name, key, path, pm) in found {
            let why = if level == Level::Restricted {
                " (restricted allows it even in a user namespace, hostUsers: false)"
            } else {
                ""
            };
            self.hit(
                level,
                control::PROC_MOUNT,
                format!("procMount/{key}"),
                pm,
                Some(&name),
                format!("container `{name}` sets procMount: {}{why}", pm.display()),
                format!("remove {path}.securityContext.procMount or set it to Default"),
            );
        }
    }

    /// Seccomp profile types both levels accept.
    fn valid_seccomp(profile: &Node) -> bool {
        matches!(
            text(Some(profile), "type"),
            Ok("RuntimeDefault" | "Localhost")
        )
    }

    fn seccomp_hit(
        &mut self,
        container: Option<&str>,
        key: &str,
        who: &str,
        path: &str,
        profile: &Node,
    ) {
        let at = field(Some(profile), "type").unwrap_or(profile);
        let value = if field(Some(profile), "type").is_some() {
            shown(at)
        } else {
            "(none)".to_string()
        };
        self.hit(
            Level::Baseline,
            control::SECCOMP,
            format!("seccomp/{key}/{}", at.display()),
            at,
            container,
            format!("{who} sets the seccomp profile type {value}"),
            format!(
                "set {path}.securityContext.seccompProfile.type to RuntimeDefault or Localhost"
            ),
        );
    }

    /// The pod's and each container's profile: (container, key, who, path, profile).
    #[allow(clippy::type_complexity)]
    fn seccomp_profiles(&self) -> Vec<(Option<String>, String, String, String, Option<&'a Node>)> {
        let mut out = vec![(
            None,
            "pod".to_string(),
            "the pod".to_string(),
            self.pod.path.to_string(),
            field(self.pod_sc(), "seccompProfile"),
        )];
        for c in &self.containers {
            out.push((
                Some(c.name.clone()),
                c.key.clone(),
                format!("container `{}`", c.name),
                c.path.clone(),
                field(c.sc(), "seccompProfile"),
            ));
        }
        out
    }

    fn seccomp_baseline(&mut self) {
        for (container, key, who, path, profile) in self.seccomp_profiles() {
            if let Some(profile) = profile.filter(|p| !Self::valid_seccomp(p)) {
                self.seccomp_hit(container.as_deref(), &key, &who, &path, profile);
            }
        }
    }

    fn seccomp_restricted(&mut self) {
        let profiles = self.seccomp_profiles();
        // An invalid pod-level profile is reported as such, which covers the containers that
        // leave theirs unset.
        let pod_set = profiles[0].4.is_some();
        for (i, (container, key, who, path, profile)) in profiles.into_iter().enumerate() {
            match profile {
                // An explicit type other than RuntimeDefault/Localhost: baseline forbids it too.
                Some(p) if !Self::valid_seccomp(p) => {
                    self.seccomp_hit(container.as_deref(), &key, &who, &path, p)
                }
                Some(_) => {}
                None if i > 0 && !pod_set => {
                    let at = self.containers[i - 1].anchor();
                    let pod_path = self.pod.path;
                    self.hit(
                        Level::Restricted,
                        control::SECCOMP,
                        format!("seccomp/{key}=unset"),
                        at,
                        container.as_deref(),
                        format!("neither the pod nor {who} sets a seccomp profile (RuntimeDefault or Localhost)"),
                        format!("set {pod_path}.securityContext.seccompProfile.type: RuntimeDefault (or on {path}.securityContext)"),
                    );
                }
                None => {}
            }
        }
    }

    /// Seccomp before v1.19: the annotations.
    fn seccomp_annotations(&mut self) {
        let annotations = field(self.pod.metadata, "annotations");
        let valid = |v: &Node| match v.as_str() {
            Some(s) => {
                s == "runtime/default" || s == "docker/default" || s.starts_with("localhost/")
            }
            None => false,
        };
        let mut keys = vec![(None, SECCOMP_POD_ANNOTATION.to_string())];
        for c in &self.containers {
            keys.push((
                Some(c.name.clone()),
                format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name),
            ));
        }
        let mut found = Vec::new();
        for (container, key) in keys {
            // Present, even empty or null, and not an allowed value.
            if let Some(v) = annotations.and_then(|a| a.get(&key)) {
                if !valid(v) {
                    found.push((container, key, v));
                }
            }
        }
        for (container, key, v) in found {
            let path = format!("{}.annotations[\"{key}\"]", self.pod.metadata_path);
            self.hit(
                Level::Baseline,
                control::SECCOMP,
                format!("seccomp/annotation/{key}"),
                v,
                container.as_deref(),
                format!("annotation `{key}` is {}", shown(v)),
                format!("set {path} to runtime/default, docker/default or localhost/<profile>, or remove it"),
            );
        }
    }

    fn sysctls(&mut self) {
        let safe = safe_sysctls(self.minor);
        let mut found = Vec::new();
        for (i, s) in field(self.pod_sc(), "sysctls")
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            match text(Some(s), "name") {
                Ok(name) if safe.contains(&name) => {}
                name => {
                    let at = field(Some(s), "name").unwrap_or(s);
                    let shown_name = match name {
                        Ok(n) => n.to_string(),
                        Err(n) => shown(n),
                    };
                    found.push((i, shown_name, at));
                }
            }
        }
        for (i, name, at) in found {
            let path = format!("{}.securityContext.sysctls[{i}]", self.pod.path);
            let version = self.version.clone();
            self.hit(
                Level::Baseline,
                control::SYSCTLS,
                format!("sysctls/{name}"),
                at,
                None,
                format!(
                    "the pod sets the sysctl `{name}`, which is not in the safe set of {version}"
                ),
                format!("remove {path}; allowed: {}", safe.join(", ")),
            );
        }
    }

    fn host_probes(&mut self) {
        let mut found = Vec::new();
        for c in &self.containers {
            let mut handlers = Vec::new();
            for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                handlers.push((probe.to_string(), field(Some(c.node), probe)));
            }
            let lifecycle = field(Some(c.node), "lifecycle");
            for hook in ["postStart", "preStop"] {
                handlers.push((format!("lifecycle.{hook}"), field(lifecycle, hook)));
            }
            for (what, handler) in handlers {
                for action in ["httpGet", "tcpSocket"] {
                    let action_node = field(handler, action);
                    if !matches!(text(action_node, "host"), Ok("")) {
                        let at = field(action_node, "host").unwrap_or(c.node);
                        found.push((
                            c.name.clone(),
                            c.key.clone(),
                            format!("{}.{what}.{action}.host", c.path),
                            format!("{what}.{action}.host"),
                            at,
                        ));
                    }
                }
            }
        }
        for (name, key, path, rel, at) in found {
            self.hit(
                Level::Baseline,
                control::HOST_PROBES,
                format!("hostProbes/{key}/{rel}"),
                at,
                Some(&name),
                format!("container `{name}` sets {rel}: {}", shown(at)),
                format!("remove {path} (probes and hooks then target the pod's own IP)"),
            );
        }
    }

    fn privilege_escalation(&mut self) {
        let mut found = Vec::new();
        for c in &self.containers {
            match flag(c.sc(), "allowPrivilegeEscalation") {
                Flag::Is(false, _) => {}
                Flag::Unset => found.push((
                    c.name.clone(),
                    c.key.clone(),
                    c.path.clone(),
                    c.anchor(),
                    None,
                )),
                Flag::Is(true, n) | Flag::Invalid(n) => found.push((
                    c.name.clone(),
                    c.key.clone(),
                    c.path.clone(),
                    n,
                    Some(shown(n)),
                )),
            }
        }
        for (name, key, path, at, value) in found {
            let (k, problem) = match &value {
                None => (
                    format!("privilegeEscalation/{key}=unset"),
                    format!("container `{name}` does not set securityContext.allowPrivilegeEscalation: false (it defaults to true)"),
                ),
                Some(v) => (
                    format!("privilegeEscalation/{key}"),
                    format!("container `{name}` sets securityContext.allowPrivilegeEscalation: {v}"),
                ),
            };
            self.hit(
                Level::Restricted,
                control::PRIVILEGE_ESCALATION,
                k,
                at,
                Some(&name),
                problem,
                format!("set {path}.securityContext.allowPrivilegeEscalation: false"),
            );
        }
    }

    fn run_as_non_root(&mut self) {
        let pod_path = format!("{}.securityContext.runAsNonRoot", self.pod.path);
        // `pod_set`: the pod sets it, to true or (reported here, which covers the containers
        // that leave it unset) to something else.
        let mut pod_set = false;
        match flag(self.pod_sc(), "runAsNonRoot") {
            Flag::Unset => {}
            Flag::Is(true, _) => pod_set = true,
            Flag::Is(false, n) | Flag::Invalid(n) => {
                pod_set = true;
                let value = shown(n);
                self.hit(
                    Level::Restricted,
                    control::RUN_AS_NON_ROOT,
                    "runAsNonRoot/pod".to_string(),
                    n,
                    None,
                    format!("the pod sets securityContext.runAsNonRoot: {value}"),
                    format!("set {pod_path}: true"),
                );
            }
        }
        let mut found = Vec::new();
        for c in &self.containers {
            match flag(c.sc(), "runAsNonRoot") {
                Flag::Is(true, _) => {}
                Flag::Unset if pod_set => {}
                Flag::Unset => found.push((
                    c.name.clone(),
                    c.key.clone(),
                    c.path.clone(),
                    c.anchor(),
                    None,
                )),
                Flag::Is(false, n) | Flag::Invalid(n) => found.push((
                    c.name.clone(),
                    c.key.clone(),
                    c.path.clone(),
                    n,
                    Some(shown(n)),
                )),
            }
        }
        for (name, key, path, at, value) in found {
            let (k, problem, fix) = match &value {
                None => (
                    format!("runAsNonRoot/{key}=unset"),
                    format!("neither the pod nor container `{name}` sets securityContext.runAsNonRoot: true"),
                    format!("set {pod_path}: true (or {path}.securityContext.runAsNonRoot: true)"),
                ),
                Some(v) => (
                    format!("runAsNonRoot/{key}"),
                    format!("container `{name}` sets securityContext.runAsNonRoot: {v}"),
                    format!("set {path}.securityContext.runAsNonRoot: true"),
                ),
            };
            self.hit(
                Level::Restricted,
                control::RUN_AS_NON_ROOT,
                k,
                at,
                Some(&name),
                problem,
                fix,
            );
        }
    }

    fn run_as_non_root_user(&mut self) {
        let mut found = Vec::new();
        let mut targets = vec![(
            None,
            "pod".to_string(),
            "the pod".to_string(),
            format!("{}.securityContext.runAsUser", self.pod.path),
            field(self.pod_sc(), "runAsUser"),
        )];
        for c in &self.containers {
            targets.push((
                Some(c.name.clone()),
                c.key.clone(),
                format!("container `{}`", c.name),
                format!("{}.securityContext.runAsUser", c.path),
                field(c.sc(), "runAsUser"),
            ));
        }
        for (container, key, who, path, user) in targets {
            if let Some(u) = user {
                if u.as_int().is_none_or(|u| u == 0) {
                    found.push((container, key, who, path, u));
                }
            }
        }
        for (container, key, who, path, u) in found {
            self.hit(
                Level::Restricted,
                control::RUN_AS_NON_ROOT_USER,
                format!("runAsUser/{key}"),
                u,
                container.as_deref(),
                format!("{who} sets securityContext.runAsUser: {}", shown(u)),
                format!("set {path} to a non-zero UID, or remove it"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctls_grow_by_version() {
        assert_eq!(safe_sysctls(0).len(), 5);
        assert_eq!(safe_sysctls(26).len(), 5);
        assert_eq!(safe_sysctls(27).len(), 6);
        assert_eq!(safe_sysctls(29).len(), 10);
        assert_eq!(safe_sysctls(32).len(), 12);
        assert_eq!(safe_sysctls(36).len(), 12);
        assert_eq!(safe_sysctls(37).len(), 14);
    }
}
