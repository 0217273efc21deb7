//! kustomize's built-in transformers: namespace, name prefix/suffix, labels, annotations,
//! replicas, images, and the name references fixed once names have changed.
//!
//! The field lists are kustomize's defaults (`api/internal/konfig/builtinpluginconsts`): which
//! kinds get selector labels, which fields hold images, which fields name a ConfigMap, Secret,
//! ServiceAccount or Role. A path segment is a mapping key; sequences met on the way are walked
//! element by element, as kustomize's field specs do.

use super::nodes::{entry, get_mut, map_node, scalar_text, set, set_meta_str, str_node};
use super::resources::{Ctx, Res};
use crate::yaml::{Node, Value};

/// A field spec: (group, kind) it applies to ("" = any), the path, and whether missing
/// mappings on the way are created.
struct Spec {
    group: &'static str,
    kind: &'static str,
    path: &'static str,
    create: bool,
}

const fn spec(group: &'static str, kind: &'static str, path: &'static str, create: bool) -> Spec {
    Spec {
        group,
        kind,
        path,
        create,
    }
}

impl Spec {
    fn selects(&self, r: &Res) -> bool {
        let id = r.cur();
        (self.kind.is_empty() || self.kind == id.kind)
            && (self.group.is_empty() || self.group == id.group)
    }
}

/// kustomize's `commonLabels` field specs besides `metadata/labels` (selectors and templates).
const COMMON_LABEL_SPECS: &[Spec] = &[
    spec("", "Service", "spec/selector", true),
    spec("", "ReplicationController", "spec/selector", true),
    spec("", "Deployment", "spec/selector/matchLabels", true),
    spec("apps", "Deployment", "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels", false),
    spec("apps", "Deployment", "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels", false),
    spec("apps", "Deployment", "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels", false),
    spec("apps", "Deployment", "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels", false),
    spec("apps", "Deployment", "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels", false),
    spec("", "ReplicaSet", "spec/selector/matchLabels", true),
    spec("", "DaemonSet", "spec/selector/matchLabels", true),
    spec("apps", "StatefulSet", "spec/selector/matchLabels", true),
    spec("apps", "StatefulSet", "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels", false),
    spec("apps", "StatefulSet", "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels", false),
    spec("apps", "StatefulSet", "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels", false),
    spec("apps", "StatefulSet", "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels", false),
    spec("apps", "StatefulSet", "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels", false),
    spec("batch", "Job", "spec/selector/matchLabels", false),
    spec("batch", "CronJob", "spec/jobTemplate/spec/selector/matchLabels", false),
    spec("policy", "PodDisruptionBudget", "spec/selector/matchLabels", false),
    spec("networking.k8s.io", "NetworkPolicy", "spec/podSelector/matchLabels", false),
    spec("networking.k8s.io", "NetworkPolicy", "spec/ingress/from/podSelector/matchLabels", false),
    spec("networking.k8s.io", "NetworkPolicy", "spec/egress/to/podSelector/matchLabels", false),
];

/// `metadata/labels` and the pod-template labels (kustomize's `templateLabels`).
const TEMPLATE_LABEL_SPECS: &[Spec] = &[
    spec("", "", "metadata/labels", true),
    spec(
        "",
        "ReplicationController",
        "spec/template/metadata/labels",
        true,
    ),
    spec("", "Deployment", "spec/template/metadata/labels", true),
    spec("", "ReplicaSet", "spec/template/metadata/labels", true),
    spec("", "DaemonSet", "spec/template/metadata/labels", true),
    spec("apps", "StatefulSet", "spec/template/metadata/labels", true),
    spec("batch", "Job", "spec/template/metadata/labels", true),
    spec("batch", "CronJob", "spec/jobTemplate/metadata/labels", true),
    spec(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ),
    // kustomize v5.8.1 counts StatefulSet claim templates as templates.
    spec(
        "apps",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ),
];

const ANNOTATION_SPECS: &[Spec] = &[
    spec("", "", "metadata/annotations", true),
    spec(
        "",
        "ReplicationController",
        "spec/template/metadata/annotations",
        true,
    ),
    spec("", "Deployment", "spec/template/metadata/annotations", true),
    spec("", "ReplicaSet", "spec/template/metadata/annotations", true),
    spec("", "DaemonSet", "spec/template/metadata/annotations", true),
    spec(
        "",
        "StatefulSet",
        "spec/template/metadata/annotations",
        true,
    ),
    spec("batch", "Job", "spec/template/metadata/annotations", true),
    spec(
        "batch",
        "CronJob",
        "spec/jobTemplate/metadata/annotations",
        true,
    ),
    spec(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/annotations",
        true,
    ),
];

const IMAGE_SPECS: &[&str] = &[
    "spec/containers[]/image",
    "spec/initContainers[]/image",
    "spec/volumes[]/image/reference",
    "spec/template/spec/containers[]/image",
    "spec/template/spec/initContainers[]/image",
    "spec/template/spec/volumes[]/image/reference",
];

const REPLICA_KINDS: &[&str] = &[
    "Deployment",
    "ReplicationController",
    "ReplicaSet",
    "StatefulSet",
];

/// Kinds kustomize knows as cluster-scoped (its built-in OpenAPI schema, checked against
/// `kubectl kustomize`): it sets no namespace on them. Kinds it does not know (CRDs, newer
/// built-ins such as ValidatingAdmissionPolicy, the review kinds) get one.
const CLUSTER_SCOPED: &[(&str, &str)] = &[
    ("", "Namespace"),
    ("", "Node"),
    ("", "PersistentVolume"),
    ("", "ComponentStatus"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
    ("storage.k8s.io", "StorageClass"),
    ("storage.k8s.io", "CSIDriver"),
    ("storage.k8s.io", "CSINode"),
    ("storage.k8s.io", "VolumeAttachment"),
    ("scheduling.k8s.io", "PriorityClass"),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("node.k8s.io", "RuntimeClass"),
    ("networking.k8s.io", "IngressClass"),
    ("policy", "PodSecurityPolicy"),
    ("certificates.k8s.io", "CertificateSigningRequest"),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
];

/// True for a kind kustomize treats as cluster-scoped.
pub fn is_cluster_scoped(group: &str, kind: &str) -> bool {
    CLUSTER_SCOPED
        .iter()
        .any(|(g, k)| *g == group && *k == kind)
}

/// Applies `f` to every node at `path` (segments `/`-separated, `\/` an escaped slash; a
/// segment ending `[]` or any sequence met on the way is walked element by element). With
/// `create`, missing mappings on the way are created (never through sequences).
fn walk_path(node: &mut Node, path: &[String], create: bool, f: &mut dyn FnMut(&mut Node)) {
    let Some((first, rest)) = path.split_first() else {
        f(node);
        return;
    };
    if let Value::Seq(items) = &mut node.value {
        for item in items.iter_mut() {
            walk_path(item, path, create, f);
        }
        return;
    }
    let (key, is_seq) = match first.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (first.as_str(), false),
    };
    let child = if create && !is_seq {
        let (line, column) = (node.line, node.column);
        if matches!(node.value, Value::Map(_)) {
            entry(node, key, || map_node(line, column))
        } else {
            None
        }
    } else {
        get_mut(node, key)
    };
    let Some(child) = child else { return };
    if is_seq {
        if let Value::Seq(items) = &mut child.value {
            for item in items.iter_mut() {
                walk_path(item, rest, create, f);
            }
        }
        return;
    }
    walk_path(child, rest, create, f);
}

fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'/') {
            cur.push('/');
            chars.next();
        } else if c == '/' {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Sets string entries in every mapping at the specs' paths.
fn set_entries(r: &mut Res, specs: &[Spec], pairs: &[(String, String)]) {
    for s in specs {
        if !s.selects(r) {
            continue;
        }
        let path = split_path(s.path);
        walk_path(&mut r.node, &path, s.create, &mut |m: &mut Node| {
            if m.is_null() {
                m.value = Value::Map(Vec::new());
            }
            if !matches!(m.value, Value::Map(_)) {
                return;
            }
            let (line, column) = (m.line, m.column);
            for (k, v) in pairs {
                set(m, k, str_node(v, line, column));
            }
        });
    }
}

/// `namespace:`: sets metadata.namespace on namespaced kinds, renames `v1` Namespace objects,
/// and sets the namespace of RoleBinding/ClusterRoleBinding subjects named `default`
/// (kustomize's defaults).
pub(crate) fn namespace(acc: &mut [Res], ns: &str, by: &[&str]) {
    for r in acc.iter_mut() {
        let before = r.cur();
        let api_version = r
            .node
            .get("apiVersion")
            .and_then(Node::as_str)
            .unwrap_or("");
        if before.kind == "Namespace" && api_version == "v1" {
            set_meta_str(&mut r.node, "name", ns);
        }
        if !is_cluster_scoped(&before.group, &before.kind) {
            set_meta_str(&mut r.node, "namespace", ns);
        }
        if matches!(before.kind.as_str(), "RoleBinding" | "ClusterRoleBinding") {
            if let Some(Value::Seq(subjects)) =
                get_mut(&mut r.node, "subjects").map(|n| &mut n.value)
            {
                for s in subjects.iter_mut() {
                    if s.get("name").and_then(Node::as_str) == Some("default") {
                        let (l, c) = (s.line, s.column);
                        set(s, "namespace", str_node(ns, l, c));
                    }
                }
            }
        }
        if before.kind == "APIService" && before.group == "apiregistration.k8s.io" {
            let path = split_path("spec/service/namespace");
            set_scalar_at(&mut r.node, &path, ns, true);
        }
        if before.kind == "CustomResourceDefinition" && before.group == "apiextensions.k8s.io" {
            let path = split_path("spec/conversion/webhook/clientConfig/service/namespace");
            set_scalar_at(&mut r.node, &path, ns, false);
        }
        let after = r.cur();
        if after.namespace != before.namespace || after.name != before.name {
            // Moving an object (into kube-system, say) is what the file did to it.
            for f in by {
                r.changed(f);
            }
        }
        r.note_former(&before.namespace, &before.name);
    }
}

fn set_scalar_at(node: &mut Node, path: &[String], value: &str, create: bool) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    walk_path(node, parents, create, &mut |m: &mut Node| {
        if !matches!(m.value, Value::Map(_)) {
            return;
        }
        if create || m.get(last).is_some() {
            let (l, c) = (m.line, m.column);
            set(m, last, str_node(value, l, c));
        }
    });
}

/// `namePrefix` / `nameSuffix`: every name but CRDs', APIServices' and Namespaces'.
pub(crate) fn prefix_suffix(acc: &mut [Res], affix: &str, prefix: bool) {
    for r in acc.iter_mut() {
        let id = r.cur();
        let skip = (id.kind == "CustomResourceDefinition" && id.group == "apiextensions.k8s.io")
            || (id.kind == "APIService" && id.group == "apiregistration.k8s.io")
            || (id.kind == "Namespace" && id.group.is_empty());
        if skip {
            continue;
        }
        let name = if prefix {
            format!("{affix}{}", id.name)
        } else {
            format!("{}{affix}", id.name)
        };
        set_meta_str(&mut r.node, "name", &name);
        if prefix {
            r.prefixes.push(affix.to_string());
        } else {
            r.suffixes.push(affix.to_string());
        }
        r.note_former(&id.namespace, &id.name);
    }
}

/// `labels:` entries then `commonLabels` (kustomize's LabelTransformer configuration).
pub(crate) fn labels(ctx: &mut Ctx<'_, '_>, file: &str, kust: &Node, acc: &mut [Res]) {
    for l in kust.get("labels").map(Node::as_seq).unwrap_or(&[]) {
        let pairs = super::nodes::string_map(l.get("pairs"));
        if l.get("fields").is_some() {
            ctx.problem(
                file,
                l,
                "`labels[].fields` (custom field specs) are not rendered",
                "use includeSelectors/includeTemplates, or plain manifests",
            );
        }
        if pairs.is_empty() {
            continue;
        }
        let flag = |k: &str| l.get(k).and_then(Node::as_bool).unwrap_or(false);
        let mut specs: Vec<&Spec> = Vec::new();
        if flag("includeSelectors") {
            specs.extend(TEMPLATE_LABEL_SPECS.iter());
            specs.extend(COMMON_LABEL_SPECS.iter());
        } else if flag("includeTemplates") {
            specs.extend(TEMPLATE_LABEL_SPECS.iter());
        } else {
            specs.extend(TEMPLATE_LABEL_SPECS.iter().take(1));
        }
        apply_specs(acc, &specs, &pairs);
    }
    let common = super::nodes::string_map(kust.get("commonLabels"));
    if !common.is_empty() {
        let specs: Vec<&Spec> = TEMPLATE_LABEL_SPECS
            .iter()
            .chain(COMMON_LABEL_SPECS.iter())
            .collect();
        apply_specs(acc, &specs, &common);
    }
}

fn apply_specs(acc: &mut [Res], specs: &[&Spec], pairs: &[(String, String)]) {
    for r in acc.iter_mut() {
        // A path named by two specs is set once (kustomize merges duplicate specs).
        let mut seen: Vec<&str> = Vec::new();
        for s in specs {
            if !s.selects(r) || seen.contains(&s.path) {
                continue;
            }
            seen.push(s.path);
            set_entries(r, std::slice::from_ref(*s), pairs);
        }
    }
}

/// `commonAnnotations`.
pub(crate) fn annotations(acc: &mut [Res], pairs: &[(String, String)]) {
    for r in acc.iter_mut() {
        set_entries(r, ANNOTATION_SPECS, pairs);
    }
}

/// `replicas:`: `spec.replicas` of the named Deployments, ReplicationControllers,
/// ReplicaSets and StatefulSets (matched by any name they had, as kustomize matches any id).
pub(crate) fn replicas(
    ctx: &mut Ctx<'_, '_>,
    file: &str,
    kust: &Node,
    acc: &mut [Res],
    by: &[&str],
) {
    // kustomize fails on an entry that names nothing of a kind it scales.
    for item in kust.get("replicas").map(Node::as_seq).unwrap_or(&[]) {
        let name = item.get("name").and_then(Node::as_str).unwrap_or("");
        let found = acc.iter().any(|r| {
            let id = r.cur();
            REPLICA_KINDS.contains(&id.kind.as_str())
                && (id.name == name || r.names().iter().any(|n| n == name))
        });
        if !found {
            ctx.problem(
                file,
                item,
                format!("`replicas` names `{name}`, which is no Deployment, ReplicationController, ReplicaSet or StatefulSet here: kustomize fails"),
                "fix the name",
            );
        }
    }
    for item in kust.get("replicas").map(Node::as_seq).unwrap_or(&[]) {
        let name = item.get("name").and_then(Node::as_str).unwrap_or("");
        let Some(count) = item.get("count").and_then(Node::as_int) else {
            ctx.problem(
                file,
                item,
                "a `replicas` entry without an integer `count`",
                "add `count`",
            );
            continue;
        };
        for r in acc.iter_mut() {
            let id = r.cur();
            if !REPLICA_KINDS.contains(&id.kind.as_str())
                || (id.name != name && !r.names().iter().any(|n| n == name))
            {
                continue;
            }
            let (line, column) = (item.line, item.column);
            if let Some(spec) = entry(&mut r.node, "spec", || map_node(line, column)) {
                set(
                    spec,
                    "replicas",
                    Node {
                        value: Value::Int(count),
                        line,
                        column,
                    },
                );
                for f in by {
                    r.changed(f);
                }
            }
        }
    }
}

/// `images:`: every `image` of every `containers`/`initContainers` list anywhere in an
/// object (kustomize's legacy filter, CRDs excepted) and image volume references.
pub(crate) fn images(ctx: &mut Ctx<'_, '_>, file: &str, kust: &Node, acc: &mut [Res], by: &[&str]) {
    let mut list: Vec<&Node> = Vec::new();
    for key in ["images", "imageTags"] {
        list.extend(kust.get(key).map(Node::as_seq).unwrap_or(&[]));
    }
    for item in list {
        let text = |k: &str| item.get(k).and_then(scalar_text).unwrap_or_default();
        let name = text("name");
        if name.is_empty() {
            ctx.problem(
                file,
                item,
                "an `images` entry without `name`",
                "add the image name",
            );
            continue;
        }
        let Ok(pattern) = regex::Regex::new(&format!(
            "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{{}}-]*)?$"
        )) else {
            // kustomize: an invalid pattern matches nothing.
            continue;
        };
        let image = ImageRule {
            pattern,
            new_name: text("newName"),
            new_tag: text("newTag"),
            digest: text("digest"),
            tag_suffix: text("tagSuffix"),
        };
        for r in acc.iter_mut() {
            let id = r.cur();
            // kustomize runs its legacy filter (every containers/initContainers list) and then
            // the field specs, so a pod spec's images are transformed twice (a `tagSuffix` is
            // appended twice, as kustomize does).
            let mut changed = false;
            if id.kind != "CustomResourceDefinition" {
                update_containers(&mut r.node, &image, 0, &mut changed);
            }
            for p in IMAGE_SPECS {
                let path = split_path(p);
                walk_path(&mut r.node, &path, false, &mut |n: &mut Node| {
                    if let Some(s) = n.as_str().and_then(|s| image.apply(s)) {
                        changed |= n.as_str() != Some(s.as_str());
                        n.value = Value::Str(s);
                    }
                });
            }
            if changed {
                // An image rewrite (to another registry, say) is what the file did to it.
                for f in by {
                    r.changed(f);
                }
            }
        }
    }
}

struct ImageRule {
    pattern: regex::Regex,
    new_name: String,
    new_tag: String,
    digest: String,
    tag_suffix: String,
}

impl ImageRule {
    /// The new image reference, or None when `image` does not match.
    fn apply(&self, image: &str) -> Option<String> {
        if !self.pattern.is_match(image) {
            return None;
        }
        let (mut name, mut tag, mut digest) = split_image(image);
        if !self.new_name.is_empty() {
            name = self.new_name.clone();
        }
        if !self.new_tag.is_empty() && !self.digest.is_empty() {
            tag = self.new_tag.clone();
            digest = self.digest.clone();
        } else if !self.new_tag.is_empty() {
            tag = self.new_tag.clone();
            digest.clear();
        } else if !self.digest.is_empty() {
            tag.clear();
            digest = self.digest.clone();
        } else if !self.tag_suffix.is_empty() {
            tag.push_str(&self.tag_suffix);
            digest.clear();
        }
        let mut out = name;
        if !tag.is_empty() {
            out.push(':');
            out.push_str(&tag);
        }
        if !digest.is_empty() {
            out.push('@');
            out.push_str(&digest);
        }
        Some(out)
    }
}

/// kustomize's `image.Split`: name, tag, digest (a registry port is not a tag).
fn split_image(image: &str) -> (String, String, String) {
    let slash = image.find('/').filter(|i| *i > 0).unwrap_or(0);
    let search = image.get(slash..).unwrap_or("");
    let at = search.find('@').map(|i| i + slash);
    let colon = search.find(':').map(|i| i + slash);
    let part = |a: usize, b: usize| image.get(a..b).unwrap_or("").to_string();
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (c, Some(d)) if c.is_none_or(|c| d < c) => {
            (part(0, d), String::new(), part(d + 1, image.len()))
        }
        (Some(c), Some(d)) => (part(0, c), part(c + 1, d), part(d + 1, image.len())),
        (Some(c), None) => (part(0, c), part(c + 1, image.len()), String::new()),
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

fn update_containers(node: &mut Node, image: &ImageRule, depth: usize, changed: &mut bool) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    match &mut node.value {
        Value::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                update_containers(v, image, depth + 1, changed);
                if k.name == "containers" || k.name == "initContainers" {
                    if let Value::Seq(items) = &mut v.value {
                        for c in items.iter_mut() {
                            if let Some(img) = get_mut(c, "image") {
                                if let Some(s) = img.as_str().and_then(|s| image.apply(s)) {
                                    *changed |= img.as_str() != Some(s.as_str());
                                    img.value = Value::Str(s);
                                }
                            }
                        }
                    }
                }
            }
        }
        Value::Seq(items) => {
            for i in items.iter_mut() {
                update_containers(i, image, depth + 1, changed);
            }
        }
        _ => {}
    }
}

/// A kind whose references kustomize follows: the referral, and where referrers name it.
struct Reference {
    kind: &'static str,
    group: &'static str,
    /// (referrer kind, path)
    fields: Vec<(&'static str, String)>,
}

/// Pod-spec locations in the workload kinds kustomize knows, as (kind, path to the pod spec).
const POD_SPECS: &[(&str, &str)] = &[
    ("Pod", "spec"),
    ("PodTemplate", "template/spec"),
    ("Deployment", "spec/template/spec"),
    ("ReplicaSet", "spec/template/spec"),
    ("DaemonSet", "spec/template/spec"),
    ("StatefulSet", "spec/template/spec"),
    ("Job", "spec/template/spec"),
    ("CronJob", "spec/jobTemplate/spec/template/spec"),
];

fn pod_refs(fields: &[&str], kinds: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for (kind, base) in kinds {
        for f in fields {
            out.push((*kind, format!("{base}/{f}")));
        }
    }
    out
}

fn references() -> Vec<Reference> {
    let with_rc: Vec<(&str, &str)> = POD_SPECS
        .iter()
        .filter(|(k, _)| *k != "PodTemplate")
        .copied()
        .chain([("ReplicationController", "spec/template/spec")])
        .collect();
    let mut config_map = pod_refs(
        &[
            "volumes/configMap/name",
            "containers/env/valueFrom/configMapKeyRef/name",
            "initContainers/env/valueFrom/configMapKeyRef/name",
            "containers/envFrom/configMapRef/name",
            "initContainers/envFrom/configMapRef/name",
            "volumes/projected/sources/configMap/name",
        ],
        POD_SPECS,
    );
    config_map.push(("Role", "rules/resourceNames".into()));
    config_map.push(("Node", "spec/configSource/configMap".into()));
    config_map.push((
        "Ingress",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap".into(),
    ));
    config_map.push(("ClusterRole", "rules/resourceNames".into()));
    let mut secret = pod_refs(
        &[
            "volumes/secret/secretName",
            "containers/env/valueFrom/secretKeyRef/name",
            "initContainers/env/valueFrom/secretKeyRef/name",
            "containers/envFrom/secretRef/name",
            "initContainers/envFrom/secretRef/name",
            "imagePullSecrets/name",
            "volumes/projected/sources/secret/name",
        ],
        POD_SPECS,
    );
    secret.extend([
        ("Ingress", "spec/tls/secretName".to_string()),
        ("ServiceAccount", "imagePullSecrets/name".to_string()),
        (
            "Ingress",
            "metadata/annotations/ingress.kubernetes.io\\/auth-secret".to_string(),
        ),
        (
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret".to_string(),
        ),
        (
            "Ingress",
            "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret".to_string(),
        ),
        ("StorageClass", "parameters/secretName".to_string()),
        ("StorageClass", "parameters/adminSecretName".to_string()),
        ("StorageClass", "parameters/userSecretName".to_string()),
        ("StorageClass", "parameters/secretRef".to_string()),
        ("PersistentVolume", "spec/azureFile/secretName".to_string()),
        ("Role", "rules/resourceNames".to_string()),
        ("ClusterRole", "rules/resourceNames".to_string()),
    ]);
    let mut service_account = pod_refs(&["serviceAccountName"], &with_rc);
    service_account.retain(|(k, _)| *k != "ReplicaSet");
    service_account.push(("RoleBinding", "subjects".into()));
    service_account.push(("ClusterRoleBinding", "subjects".into()));
    let mut pvc = pod_refs(&["volumes/persistentVolumeClaim/claimName"], &with_rc);
    pvc.retain(|(k, _)| *k != "ReplicaSet");
    let mut priority = pod_refs(&["priorityClassName"], &with_rc);
    priority.retain(|(k, _)| *k != "ReplicaSet");
    vec![
        Reference {
            kind: "ConfigMap",
            group: "",
            fields: config_map,
        },
        Reference {
            kind: "Secret",
            group: "",
            fields: secret,
        },
        Reference {
            kind: "ServiceAccount",
            group: "",
            fields: service_account,
        },
        Reference {
            kind: "PersistentVolumeClaim",
            group: "",
            fields: pvc,
        },
        Reference {
            kind: "Deployment",
            group: "apps",
            fields: vec![("HorizontalPodAutoscaler", "spec/scaleTargetRef/name".into())],
        },
        Reference {
            kind: "StatefulSet",
            group: "apps",
            fields: vec![("HorizontalPodAutoscaler", "spec/scaleTargetRef/name".into())],
        },
        Reference {
            kind: "ReplicaSet",
            group: "apps",
            fields: vec![("HorizontalPodAutoscaler", "spec/scaleTargetRef/name".into())],
        },
        Reference {
            kind: "ReplicationController",
            group: "",
            fields: vec![("HorizontalPodAutoscaler", "spec/scaleTargetRef/name".into())],
        },
        Reference {
            kind: "PersistentVolume",
            group: "",
            fields: vec![
                ("PersistentVolumeClaim", "spec/volumeName".into()),
                ("ClusterRole", "rules/resourceNames".into()),
            ],
        },
        Reference {
            kind: "StorageClass",
            group: "storage.k8s.io",
            fields: vec![
                ("PersistentVolume", "spec/storageClassName".into()),
                ("PersistentVolumeClaim", "spec/storageClassName".into()),
                (
                    "StatefulSet",
                    "spec/volumeClaimTemplates/spec/storageClassName".into(),
                ),
            ],
        },
        Reference {
            kind: "PriorityClass",
            group: "scheduling.k8s.io",
            fields: priority,
        },
        Reference {
            kind: "ValidatingAdmissionPolicy",
            group: "admissionregistration.k8s.io",
            fields: vec![("ValidatingAdmissionPolicyBinding", "spec/policyName".into())],
        },
        Reference {
            kind: "Role",
            group: "rbac.authorization.k8s.io",
            fields: vec![("RoleBinding", "roleRef/name".into())],
        },
        Reference {
            kind: "ClusterRole",
            group: "rbac.authorization.k8s.io",
            fields: vec![
                ("RoleBinding", "roleRef/name".into()),
                ("ClusterRoleBinding", "roleRef/name".into()),
            ],
        },
        Reference {
            kind: "Service",
            group: "",
            fields: vec![
                ("StatefulSet", "spec/serviceName".into()),
                (
                    "Ingress",
                    "spec/rules/http/paths/backend/service/name".into(),
                ),
                ("Ingress", "spec/defaultBackend/service/name".into()),
                (
                    "Ingress",
                    "spec/rules/http/paths/backend/serviceName".into(),
                ),
                ("Ingress", "spec/backend/serviceName".into()),
                ("APIService", "spec/service/name".into()),
                (
                    "ValidatingWebhookConfiguration",
                    "webhooks/clientConfig/service".into(),
                ),
                (
                    "MutatingWebhookConfiguration",
                    "webhooks/clientConfig/service".into(),
                ),
            ],
        },
    ]
}

/// A resource as a name-reference candidate.
struct Cand {
    kind: String,
    group: String,
    ns: String,
    name: String,
    /// kustomize's `OrgId` namespace (the current one when it never changed).
    org_ns: String,
    /// Names of its previous ids (none when it was never renamed or moved).
    prev_names: Vec<String>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

/// kustomize's `SameEndingSubSlice`.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long.ends_with(short)
}

fn affixes_equal(c: &Cand, prefixes: &[String], suffixes: &[String], allow_empty: bool) -> bool {
    let ok = |x: &[String], y: &[String]| {
        (allow_empty && (x.is_empty() || y.is_empty())) || same_ending(x, y)
    };
    ok(&c.prefixes, prefixes) && ok(&c.suffixes, suffixes)
}

fn eff(ns: &str) -> &str {
    if ns.is_empty() {
        "default"
    } else {
        ns
    }
}

/// After every rename (prefix, suffix, hash, patch, namespace), references to the old names are
/// pointed at the new ones, as kustomize's name-reference transformer does for its default
/// references (ConfigMaps, Secrets, ServiceAccounts, PVCs, Roles, ClusterRoles, Services,
/// workloads under HPAs, PVs, StorageClasses, PriorityClasses, admission policies), with its
/// candidate rules (`api/filters/nameref`). Ambiguous references (kustomize fails) come back as
/// messages.
pub(crate) fn fix_name_references(acc: &mut [Res]) -> Vec<String> {
    let refs = references();
    let cands: Vec<Cand> = acc
        .iter()
        .map(|r| {
            let id = r.cur();
            let changed = !r.prev.is_empty();
            Cand {
                org_ns: if changed {
                    r.org.namespace.clone()
                } else {
                    id.namespace.clone()
                },
                prev_names: if changed { r.names() } else { Vec::new() },
                kind: id.kind,
                group: id.group,
                ns: id.namespace,
                name: id.name,
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
            }
        })
        .collect();
    let per_reference: Vec<Vec<&Cand>> = refs
        .iter()
        .map(|reference| {
            cands
                .iter()
                .filter(|c| c.kind == reference.kind && c.group == reference.group)
                .collect()
        })
        .collect();
    let mut errors = Vec::new();
    for r in acc.iter_mut() {
        let me = r.cur();
        let my_prefixes = r.prefixes.clone();
        let my_suffixes = r.suffixes.clone();
        let role_ref_kind = r
            .node
            .path(&["roleRef", "kind"])
            .and_then(Node::as_str)
            .map(str::to_string);
        for (reference, all) in refs.iter().zip(&per_reference) {
            if !all.iter().any(|c| !c.prev_names.is_empty()) {
                continue;
            }
            for (kind, path) in &reference.fields {
                if *kind != me.kind {
                    continue;
                }
                let segments = split_path(path);
                let is_role_ref = path.ends_with("roleRef/name");
                // kustomize's `selectReferral`.
                let pick = |old: &str,
                            subject_ns: Option<Option<&str>>,
                            errors: &mut Vec<String>|
                 -> Option<(String, String)> {
                    let pool: Vec<&&Cand> = match subject_ns {
                        Some(Some(ns)) => {
                            let by_org: Vec<&&Cand> =
                                all.iter().filter(|c| c.org_ns == ns).collect();
                            if by_org.is_empty() {
                                all.iter().filter(|c| c.ns == ns).collect()
                            } else {
                                by_org
                            }
                        }
                        _ => all.iter().collect(),
                    };
                    let referrer_cluster = is_cluster_scoped(&me.group, &me.kind);
                    let mut found: Vec<&&Cand> = pool
                        .into_iter()
                        .filter(|c| c.prev_names.iter().any(|n| n == old))
                        .filter(|c| {
                            !is_role_ref || role_ref_kind.as_deref() == Some(c.kind.as_str())
                        })
                        .filter(|c| {
                            referrer_cluster
                                || is_cluster_scoped(&c.group, &c.kind)
                                || c.kind == "ServiceAccount"
                                || eff(&c.ns) == eff(&me.namespace)
                        })
                        .collect();
                    if found.len() > 1 {
                        found.retain(|c| affixes_equal(c, &my_prefixes, &my_suffixes, true));
                        if found.len() > 1 {
                            found.retain(|c| affixes_equal(c, &my_prefixes, &my_suffixes, false));
                        }
                    }
                    let first = found.first()?;
                    let identical = found.iter().all(|c| {
                        c.name == first.name && (subject_ns.is_none() || c.ns == first.ns)
                    });
                    if identical {
                        Some((first.ns.clone(), first.name.clone()))
                    } else {
                        errors.push(format!(
                            "{} refers to {} `{old}`, which more than one renamed object was: kustomize fails",
                            me.label(),
                            reference.kind
                        ));
                        None
                    }
                };
                let update = |n: &mut Node, errors: &mut Vec<String>| match &mut n.value {
                    Value::Str(s) => {
                        if let Some((_, name)) = pick(s, None, errors) {
                            *s = name;
                        }
                    }
                    Value::Map(_) => {
                        // A binding subject: name and namespace (kustomize renames a subject of
                        // any kind whose name was the ServiceAccount's).
                        let Some(old) = n.get("name").and_then(Node::as_str).map(str::to_string)
                        else {
                            return;
                        };
                        let ns = n
                            .get("namespace")
                            .and_then(Node::as_str)
                            .map(str::to_string);
                        if let Some((new_ns, name)) = pick(&old, Some(ns.as_deref()), errors) {
                            if name == old && new_ns.is_empty() {
                                return;
                            }
                            let (l, c) = (n.line, n.column);
                            set(n, "name", str_node(&name, l, c));
                            if !new_ns.is_empty() {
                                set(n, "namespace", str_node(&new_ns, l, c));
                            }
                        }
                    }
                    _ => {}
                };
                walk_path(&mut r.node, &segments, false, &mut |n: &mut Node| {
                    // A list at the end (subjects, resourceNames): each element.
                    if let Value::Seq(items) = &mut n.value {
                        for item in items.iter_mut() {
                            update(item, &mut errors);
                        }
                    } else {
                        update(n, &mut errors);
                    }
                });
            }
        }
    }
    errors
}
