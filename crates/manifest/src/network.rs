//! Egress and exposure: the ways out of the cluster that are not a URL field.
//!
//! Kubernetes NetworkPolicies cannot name a domain, so CNIs add their own: Cilium's
//! `toFQDNs` (`matchName`, `matchPattern`) and Calico's `destination.domains` (and the
//! `allowedEgressDomains` of its network sets). Such a rule opens a name to every port and path,
//! so `external-endpoints` allows it only through a *host* entry of `allowed_endpoints`
//! (`name`, or `*.domain` for a pattern: every name the pattern can match must be allowed).
//! The same rule reads the URLs hidden inside Argo CD's notification services (a YAML document
//! in a ConfigMap value) and an Application's destination API server.
//!
//! `controller-exposure` flags what makes a GitOps controller reachable from outside: a
//! LoadBalancer, NodePort or `externalIPs` Service or an Ingress in a controller namespace, a
//! Gateway API route whose backend is in one, and an ExternalName Service that aliases one (an
//! Ingress elsewhere can then forward to it).
//!
//! `gitops-sources` holds a Flux `ImageUpdateAutomation` to the refs `automation_push_refs`
//! names: its commits do not come through review unless they land where a person merges them.
//!
//! Every value here comes from a push: nothing is indexed or unwrapped, recursion is bounded,
//! and a value that cannot be read one way is a finding.

use crate::endpoints::{endpoint_problem, is_ip_literal};
use crate::object::Object;
use crate::rules::Hit;
use crate::settings::{RuleId, Settings};
use crate::yaml::{self, Limits, Node, Value};

/// Namespaces where a GitOps controller runs: the block's `protected_namespaces` and always
/// Flux's and Argo CD's defaults.
pub fn controller_namespaces(settings: &Settings) -> Vec<&str> {
    let mut out = vec!["flux-system", "argocd"];
    for ns in &settings.protected_namespaces {
        if !out.contains(&ns.as_str()) {
            out.push(ns.as_str());
        }
    }
    out
}

/// The hits of this module's rules on one object (each rule only when the block enables it).
pub fn check(obj: &Object, settings: &Settings) -> Vec<Hit> {
    let mut hits = Vec::new();
    if obj.kustomization_file {
        return hits;
    }
    let on = |r: RuleId| settings.rules.contains(&r);
    if on(RuleId::ExternalEndpoints) {
        fqdn_egress(obj, settings, &mut hits);
        argo_notifications(obj, settings, &mut hits);
        argo_destination(obj, settings, &mut hits);
    }
    if on(RuleId::ControllerExposure) {
        exposure(obj, settings, &mut hits);
    }
    if on(RuleId::GitopsSources) {
        automation_push(obj, settings, &mut hits);
    }
    hits
}

fn seq(n: Option<&Node>) -> &[Node] {
    n.map(Node::as_seq).unwrap_or(&[])
}

const ENDPOINT_FIX: &str = "name an allowed host, or add it to allowed_endpoints (reviewed change of the policy): a host entry `name` for a name, `*.domain` for a pattern";

// ---------------------------------------------------------------------------------------------
// FQDN egress rules

/// One domain name or pattern an egress rule allows.
struct Fqdn<'a> {
    path: String,
    /// The field without positions, for the location key: a name keeps its key when the list
    /// around it changes.
    field: &'static str,
    node: &'a Node,
    /// Cilium `matchPattern`, Calico domains: `*` is a wildcard.
    pattern: bool,
}

fn fqdn_fields(obj: &Object) -> Vec<Fqdn<'_>> {
    let root = &obj.root;
    let mut out = Vec::new();
    let group = obj.identity.group.as_str();
    match (group, obj.kind()) {
        ("cilium.io", "CiliumNetworkPolicy" | "CiliumClusterwideNetworkPolicy") => {
            let mut specs: Vec<(String, &Node)> = Vec::new();
            if let Some(spec) = root.get("spec") {
                specs.push(("spec".to_string(), spec));
            }
            for (i, spec) in seq(root.get("specs")).iter().enumerate() {
                specs.push((format!("specs[{i}]"), spec));
            }
            for (prefix, spec) in specs {
                for (j, rule) in seq(spec.get("egress")).iter().enumerate() {
                    for (k, sel) in seq(rule.get("toFQDNs")).iter().enumerate() {
                        for (field, pattern) in [("matchName", false), ("matchPattern", true)] {
                            if let Some(n) = sel.get(field) {
                                out.push(Fqdn {
                                    path: format!("{prefix}.egress[{j}].toFQDNs[{k}].{field}"),
                                    field,
                                    node: n,
                                    pattern,
                                });
                            }
                        }
                    }
                }
            }
        }
        (
            "projectcalico.org" | "crd.projectcalico.org",
            "NetworkPolicy" | "GlobalNetworkPolicy",
        ) => {
            for (j, rule) in seq(root.path(&["spec", "egress"])).iter().enumerate() {
                for (k, n) in seq(rule.path(&["destination", "domains"]))
                    .iter()
                    .enumerate()
                {
                    out.push(Fqdn {
                        path: format!("spec.egress[{j}].destination.domains[{k}]"),
                        field: "domains",
                        node: n,
                        pattern: true,
                    });
                }
            }
        }
        ("projectcalico.org" | "crd.projectcalico.org", "NetworkSet" | "GlobalNetworkSet") => {
            for (k, n) in seq(root.path(&["spec", "allowedEgressDomains"]))
                .iter()
                .enumerate()
            {
                out.push(Fqdn {
                    path: format!("spec.allowedEgressDomains[{k}]"),
                    field: "allowedEgressDomains",
                    node: n,
                    pattern: true,
                });
            }
        }
        _ => {}
    }
    out
}

/// Why an egress rule's domain name (or, with `pattern`, wildcard pattern) is not allowed, or
/// None when it is. Names are compared as the CNIs compare them: trimmed, lowercased, without
/// a trailing dot.
///
/// A name is allowed by a host entry naming it or a `*.domain` entry it is under. A pattern
/// matches infinitely many names, so only `*.domain` entries can allow it, and only when every
/// name it matches ends in `.domain`: the text after its last `*` must end with `.domain`
/// (Cilium's `*` stays within a label and `**.` spans labels; Calico's `*` spans labels: the
/// test holds for both). A pattern whose fixed part is shorter than two labels (`*`, `*.com`,
/// `www.*.com`) is never allowed.
pub fn name_problem(settings: &Settings, raw: &str, pattern: bool) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    if name.is_empty() {
        return Some("is empty".to_string());
    }
    let valid = |b: u8| {
        b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || b == b'-'
            || b == b'_'
            || b == b'.'
            || (pattern && b == b'*')
    };
    if !name.bytes().all(valid) {
        return Some(if pattern {
            "has characters other than letters, digits, `-`, `_`, `.` and `*`".to_string()
        } else {
            "has characters other than letters, digits, `-`, `_` and `.` (a wildcard belongs in a pattern)".to_string()
        });
    }
    let entries = settings
        .allowed_endpoints
        .iter()
        .filter_map(|e| e.host_entry());
    let Some(star) = name.rfind('*') else {
        if name.split('.').any(str::is_empty) {
            return Some("has an empty label".to_string());
        }
        let allowed = entries.clone().any(|(h, sub)| {
            if sub {
                name.ends_with(h) && !is_ip_literal(name)
            } else {
                h == name
            }
        });
        return (!allowed).then(|| {
            "is not allowed by a host entry of allowed_endpoints (`name` or `*.domain`; URL entries and entries with a port allow less than an egress rule opens)".to_string()
        });
    };
    let fixed = name.get(star + 1..).unwrap_or("");
    // The whole labels after the wildcard: all of `fixed` when it starts on a dot, else what
    // follows the rest of the wildcard's label.
    let whole = match fixed.strip_prefix('.') {
        Some(rest) => rest,
        None => fixed.split_once('.').map(|(_, r)| r).unwrap_or(""),
    };
    if whole.split('.').filter(|l| !l.is_empty()).count() < 2 {
        return Some(format!(
            "is a wildcard over {}: it matches names under a top-level domain or every name",
            if whole.is_empty() {
                "everything".to_string()
            } else {
                format!("`{whole}`")
            }
        ));
    }
    if whole.split('.').any(str::is_empty) {
        return Some("has an empty label".to_string());
    }
    let allowed = entries.clone().any(|(h, sub)| sub && fixed.ends_with(h));
    (!allowed).then(|| {
        format!(
            "matches names outside allowed_endpoints: a pattern needs a `*.domain` entry covering every name it matches (here `*.{whole}` or wider)"
        )
    })
}

fn fqdn_egress(obj: &Object, settings: &Settings, hits: &mut Vec<Hit>) {
    let kind = obj.kind();
    for f in fqdn_fields(obj) {
        let text = f.node.display();
        let problem = match f.node.as_str() {
            Some(s) => name_problem(settings, s, f.pattern),
            None => Some("is not a string".to_string()),
        };
        if let Some(problem) = problem {
            hits.push(Hit {
                rule: RuleId::ExternalEndpoints,
                key: format!("egress/{}/{text}", f.field),
                line: f.node.line,
                column: f.node.column,
                container: None,
                message: format!(
                    "{kind} `{}` lets pods reach `{text}`, which {problem}",
                    f.path
                ),
                fix: ENDPOINT_FIX.to_string(),
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Argo CD notifications and destinations

/// Budgets for one notification service's YAML (a ConfigMap value).
const SERVICE_LIMITS: Limits = Limits {
    max_bytes: 64 * 1024,
    max_documents: 2,
    max_nodes: 10_000,
    max_commit_nodes: 10_000,
    max_depth: 32,
    max_aliases: 1_000,
};

/// Keys whose string value is an endpoint (case-insensitive suffix): `url`, `apiURL`,
/// `serverUrl`, `host`, `address`, `server`.
fn is_address_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["url", "address", "server", "host"]
        .iter()
        .any(|s| k.ends_with(s))
}

/// Keys holding a list or map of endpoints: Teams `recipientUrls`, Google Chat `webhooks`,
/// Alertmanager `targets`.
fn is_address_list_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "urls",
        "addresses",
        "servers",
        "hosts",
        "targets",
        "webhooks",
    ]
    .iter()
    .any(|s| k.ends_with(s))
}

fn service_addresses<'a>(
    node: &'a Node,
    path: String,
    listed: bool,
    out: &mut Vec<(String, &'a Node)>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                let p = if path.is_empty() {
                    k.name.clone()
                } else {
                    format!("{path}.{}", k.name)
                };
                match &v.value {
                    Value::Str(_) if listed || is_address_key(&k.name) => out.push((p, v)),
                    _ => service_addresses(
                        v,
                        p,
                        listed || is_address_list_key(&k.name),
                        out,
                        depth + 1,
                    ),
                }
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                if listed && matches!(item.value, Value::Str(_)) {
                    out.push((p, item));
                } else {
                    service_addresses(item, p, listed, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

/// The host part of a URL or `host[:port]` value, roughly: enough to see a secret reference.
fn authority(value: &str) -> &str {
    let rest = value.split_once("://").map(|(_, r)| r).unwrap_or(value);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest.get(..end).unwrap_or(rest)
}

fn argo_notifications(obj: &Object, settings: &Settings, hits: &mut Vec<Hit>) {
    if !obj.identity.group.is_empty()
        || obj.kind() != "ConfigMap"
        || obj.identity.name != "argocd-notifications-cm"
    {
        return;
    }
    let Some(data) = obj.root.get("data") else {
        return;
    };
    let mut push = |key: String, at: &Node, message: String| {
        hits.push(Hit {
            rule: RuleId::ExternalEndpoints,
            key,
            line: at.line,
            column: at.column,
            container: None,
            message,
            fix: "write the service's address literally (tokens belong in argocd-notifications-secret, addresses here) and point it at an allowed endpoint, or add the endpoint to allowed_endpoints (reviewed change of the policy)".to_string(),
        });
    };
    for (k, v) in data.as_map() {
        if !k.name.starts_with("service.") {
            continue;
        }
        let field = format!("data.{}", k.name);
        let Some(text) = v.as_str() else {
            push(
                format!("notifications/{field}=not-a-string"),
                v,
                format!("ConfigMap `{field}` is not a string, so the service's endpoints cannot be checked"),
            );
            continue;
        };
        let docs = match yaml::load(text.as_bytes(), &SERVICE_LIMITS) {
            Ok(docs) if docs.len() <= 1 => docs,
            Ok(_) => {
                push(
                    format!("notifications/{field}=unreadable"),
                    v,
                    format!("ConfigMap `{field}` holds more than one YAML document, so the service's endpoints cannot be checked"),
                );
                continue;
            }
            Err(e) => {
                push(
                    format!("notifications/{field}=unreadable"),
                    v,
                    format!(
                        "ConfigMap `{field}` cannot be read as one YAML document ({e}), so the service's endpoints cannot be checked"
                    ),
                );
                continue;
            }
        };
        let mut found = Vec::new();
        for doc in &docs {
            service_addresses(doc, String::new(), false, &mut found, 0);
        }
        for (inner, n) in found {
            let value = n.as_str().unwrap_or("");
            if value.is_empty() {
                continue;
            }
            let problem = if authority(value).contains('$') {
                Some("takes its host from argocd-notifications-secret (a `$` reference), so its target cannot be checked".to_string())
            } else {
                endpoint_problem(settings, value)
            };
            if let Some(problem) = problem {
                push(
                    format!("endpoint/{field}/{inner}/{value}"),
                    v,
                    format!(
                        "ConfigMap `{field}` (key `{inner}`) makes Argo CD notifications contact `{value}`, which {problem}"
                    ),
                );
            }
        }
    }
}

/// The API server an Argo CD Application deploys to, when not the cluster it runs in.
const IN_CLUSTER: &str = "https://kubernetes.default.svc";

fn argo_destination(obj: &Object, settings: &Settings, hits: &mut Vec<Hit>) {
    if obj.identity.group != "argoproj.io" {
        return;
    }
    let (path, keys): (&str, &[&str]) = match obj.kind() {
        "Application" => (
            "spec.destination.server",
            &["spec", "destination", "server"],
        ),
        "ApplicationSet" => (
            "spec.template.spec.destination.server",
            &["spec", "template", "spec", "destination", "server"],
        ),
        _ => return,
    };
    let Some(n) = obj.root.path(keys) else {
        return;
    };
    let value = n.display();
    if value == IN_CLUSTER || value.is_empty() {
        return;
    }
    let problem = match n.as_str() {
        Some(s) => endpoint_problem(settings, s),
        None => Some("is not a string".to_string()),
    };
    if let Some(problem) = problem {
        hits.push(Hit {
            rule: RuleId::ExternalEndpoints,
            key: format!("endpoint/{path}/{value}"),
            line: n.line,
            column: n.column,
            container: None,
            message: format!(
                "{} `{path}` deploys to the API server `{value}`, which {problem}",
                obj.kind()
            ),
            fix: format!("deploy to `{IN_CLUSTER}` or to an API server listed in allowed_endpoints (reviewed change of the policy); a templated server (cluster generator) cannot be checked: use `destination.name`"),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// controller-exposure

const EXPOSURE_FIX: &str = "keep the GitOps controllers reachable from inside the cluster only (ClusterIP Services); expose a webhook receiver through a reviewed exception ([[manifests.exception]]) if you must";

fn exposure(obj: &Object, settings: &Settings, hits: &mut Vec<Hit>) {
    let controllers = controller_namespaces(settings);
    let is_controller = |ns: &str| !ns.is_empty() && controllers.contains(&ns);
    let root = &obj.root;
    let ns = obj.identity.namespace.as_str();
    let kind = obj.kind();
    let group = obj.identity.group.as_str();
    let mut hit = |key: String, at: &Node, message: String| {
        hits.push(Hit {
            rule: RuleId::ControllerExposure,
            key,
            line: at.line,
            column: at.column,
            container: None,
            message,
            fix: EXPOSURE_FIX.to_string(),
        });
    };
    match (group, kind) {
        ("", "Service") => {
            if is_controller(ns) {
                if let Some(t) = root
                    .path(&["spec", "type"])
                    .filter(|t| matches!(t.as_str(), Some("LoadBalancer" | "NodePort")))
                {
                    let ty = t.display();
                    hit(
                        format!("exposure/spec.type/{ty}"),
                        t,
                        format!("Service `spec.type` is {ty} in the controller namespace `{ns}`: the controller is reachable from outside the cluster"),
                    );
                }
                for ip in seq(root.path(&["spec", "externalIPs"])) {
                    let text = ip.display();
                    hit(
                        format!("exposure/spec.externalIPs/{text}"),
                        ip,
                        format!("Service `spec.externalIPs` routes `{text}` to a Service in the controller namespace `{ns}`"),
                    );
                }
            }
            if let Some(n) = root.path(&["spec", "externalName"]) {
                let name = n.display().trim().to_ascii_lowercase();
                let name = name.strip_suffix('.').unwrap_or(&name).to_string();
                let labels: Vec<&str> = name.split('.').collect();
                let target_ns = labels.get(1).copied().unwrap_or("");
                let in_cluster_form = match labels.get(2) {
                    None => true,
                    Some(l) => *l == "svc" || *l == "pod",
                };
                if labels.len() >= 2 && in_cluster_form && is_controller(target_ns) {
                    hit(
                        format!("exposure/spec.externalName/{name}"),
                        n,
                        format!("Service `spec.externalName` aliases `{name}` in the controller namespace `{target_ns}`: an Ingress or route elsewhere can forward to it"),
                    );
                }
            }
        }
        ("networking.k8s.io" | "extensions", "Ingress") if is_controller(ns) => {
            let at = root.path(&["metadata", "namespace"]).unwrap_or(root);
            hit(
                "exposure/ingress".to_string(),
                at,
                format!("an Ingress in the controller namespace `{ns}` exposes its Services outside the cluster"),
            );
        }
        (
            "gateway.networking.k8s.io",
            "HTTPRoute" | "GRPCRoute" | "TLSRoute" | "TCPRoute" | "UDPRoute",
        ) => {
            let mut refs: Vec<(String, &Node)> = Vec::new();
            for (i, rule) in seq(root.path(&["spec", "rules"])).iter().enumerate() {
                for (j, b) in seq(rule.get("backendRefs")).iter().enumerate() {
                    refs.push((format!("spec.rules[{i}].backendRefs[{j}]"), b));
                    for (k, f) in seq(b.get("filters")).iter().enumerate() {
                        if let Some(m) = f.path(&["requestMirror", "backendRef"]) {
                            refs.push((
                                format!("spec.rules[{i}].backendRefs[{j}].filters[{k}].requestMirror.backendRef"),
                                m,
                            ));
                        }
                    }
                }
                for (k, f) in seq(rule.get("filters")).iter().enumerate() {
                    if let Some(m) = f.path(&["requestMirror", "backendRef"]) {
                        refs.push((
                            format!("spec.rules[{i}].filters[{k}].requestMirror.backendRef"),
                            m,
                        ));
                    }
                }
            }
            for (path, b) in refs {
                let (target, at) = match b.get("namespace") {
                    Some(n) => (n.display(), n),
                    None => (ns.to_string(), b),
                };
                if is_controller(&target) {
                    let name = b.get("name").map(Node::display).unwrap_or_default();
                    hit(
                        format!("exposure/backendRef/{target}/{name}"),
                        at,
                        format!("{kind} `{path}` sends traffic from a Gateway to `{name}` in the controller namespace `{target}`"),
                    );
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// ImageUpdateAutomation push refs

const PUSH_FIX: &str = "push the automation's commits to a ref listed in automation_push_refs (a branch this repository's rules send through review), or add the ref there (reviewed change of the policy)";

/// Why pushing to a ref matched by `names` is not allowed, or None.
fn push_ref_problem(settings: &Settings, names: &[String]) -> Option<String> {
    let first = names.first().map(String::as_str).unwrap_or("");
    if first.is_empty() {
        return Some("is empty".to_string());
    }
    if first.contains("{{") || first.contains("${") {
        return Some("is templated, so where the automation pushes cannot be checked".to_string());
    }
    if first.contains('*') {
        return Some(
            "is a wildcard refspec, so where the automation pushes cannot be named".to_string(),
        );
    }
    let allowed = settings
        .automation_push_refs
        .iter()
        .any(|g| names.iter().any(|n| crate::glob_matches(g, n, false)));
    (!allowed).then(|| {
        format!(
            "is not in automation_push_refs ({})",
            if settings.automation_push_refs.is_empty() {
                "empty: no automation may push".to_string()
            } else {
                settings.automation_push_refs.join(", ")
            }
        )
    })
}

/// A branch name as Flux writes it, and its full name.
fn branch_names(b: &str) -> Vec<String> {
    match b.strip_prefix("refs/heads/") {
        Some(short) => vec![b.to_string(), short.to_string()],
        None => vec![b.to_string(), format!("refs/heads/{b}")],
    }
}

/// The source and destination of a push refspec (`[+]src:dst`; `src` alone pushes to the
/// same name; an empty source deletes the destination).
fn refspec_parts(spec: &str) -> (&str, &str) {
    let spec = spec.strip_prefix('+').unwrap_or(spec);
    spec.split_once(':').unwrap_or((spec, spec))
}

fn automation_push(obj: &Object, settings: &Settings, hits: &mut Vec<Hit>) {
    if obj.identity.group != "image.toolkit.fluxcd.io" || obj.kind() != "ImageUpdateAutomation" {
        return;
    }
    let root = &obj.root;
    let mut hit = |key: String, at: &Node, message: String| {
        hits.push(Hit {
            rule: RuleId::GitopsSources,
            key,
            line: at.line,
            column: at.column,
            container: None,
            message,
            fix: PUSH_FIX.to_string(),
        });
    };
    let git = root.path(&["spec", "git"]);
    let push = git.and_then(|g| g.get("push"));
    let mut named = false;
    if let Some(b) = push.and_then(|p| p.get("branch")) {
        named = true;
        let text = b.display();
        if let Some(problem) = push_ref_problem(settings, &branch_names(&text)) {
            hit(
                format!("automation-push/spec.git.push.branch/{text}"),
                b,
                format!("ImageUpdateAutomation pushes its commits to the branch `{text}` (spec.git.push.branch), which {problem}"),
            );
        }
    }
    if let Some(r) = push.and_then(|p| p.get("refspec")) {
        named = true;
        let text = r.display();
        let (src, dst) = refspec_parts(&text);
        let mut names = vec![dst.to_string()];
        if let Some(short) = dst.strip_prefix("refs/heads/") {
            names.push(short.to_string());
        }
        let problem = if src.is_empty() || dst.is_empty() {
            Some("deletes a ref (an empty source) or names none".to_string())
        } else {
            push_ref_problem(settings, &names)
        };
        if let Some(problem) = problem {
            hit(
                format!("automation-push/spec.git.push.refspec/{text}"),
                r,
                format!("ImageUpdateAutomation pushes its commits to `{dst}` (spec.git.push.refspec `{text}`), which {problem}"),
            );
        }
    }
    if named || obj.patch.is_some() {
        // A patch holds only what it changes: no push branch there says nothing.
        return;
    }
    // Without a push branch Flux pushes to the branch it checked out.
    match git.and_then(|g| g.path(&["checkout", "ref", "branch"])) {
        Some(b) => {
            let text = b.display();
            if let Some(problem) = push_ref_problem(settings, &branch_names(&text)) {
                hit(
                    format!("automation-push/spec.git.checkout.ref.branch/{text}"),
                    b,
                    format!("ImageUpdateAutomation sets no spec.git.push, so it pushes its commits to the checkout branch `{text}` (spec.git.checkout.ref.branch), which {problem}"),
                );
            }
        }
        None => {
            let source = root
                .path(&["spec", "sourceRef", "name"])
                .map(Node::display)
                .unwrap_or_default();
            hit(
                "automation-push/spec.git.push=unset".to_string(),
                git.or_else(|| root.get("spec")).unwrap_or(root),
                format!("ImageUpdateAutomation sets neither spec.git.push nor spec.git.checkout.ref.branch, so it pushes to the branch its GitRepository `{source}` checks out, which is not in this object and cannot be checked"),
            );
        }
    }
}
