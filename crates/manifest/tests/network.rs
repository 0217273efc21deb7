//! Egress and exposure (`network.rs`): FQDN egress rules of Cilium and Calico, Argo CD
//! notification services and destinations judged by `external-endpoints`; controllers exposed
//! outside the cluster (`controller-exposure`); image automation pushes (`gitops-sources`).
//! Manifests are shaped like the Cilium, Calico, Gateway API, Argo CD and Flux docs' examples.

mod common;

use common::*;
use pushguard_manifest::network::name_problem;
use pushguard_manifest::{Endpoint, RuleId, Settings};

fn endpoints(entries: &[&str]) -> Settings {
    let mut s = settings(&[RuleId::ExternalEndpoints]);
    s.allowed_endpoints = entries
        .iter()
        .map(|e| Endpoint::parse(e).unwrap())
        .collect();
    s
}

#[test]
fn names_and_patterns_against_host_entries() {
    let s = endpoints(&[
        "api.github.com",
        "*.example.com",
        "https://hooks.slack.com/services/",
        "vault.example.org:8200",
    ]);
    let ok = |v: &str, pattern: bool| name_problem(&s, v, pattern).is_none();
    // Names: exact host entries, or under a `*.domain` entry.
    assert!(ok("api.github.com", false));
    assert!(ok("API.GitHub.com.", false));
    assert!(ok(" api.github.com ", false));
    assert!(ok("a.example.com", false));
    assert!(ok("a.b.example.com", false));
    assert!(!ok("example.com", false));
    assert!(!ok("github.com", false));
    assert!(!ok("evilexample.com", false));
    // URL entries and entries with a port allow less than an egress rule opens.
    assert!(!ok("hooks.slack.com", false));
    assert!(!ok("vault.example.org", false));
    // A wildcard is not a name.
    assert!(!ok("*.example.com", false));
    // Patterns: every name matched must be allowed.
    assert!(ok("*.example.com", true));
    assert!(ok("**.example.com", true));
    assert!(ok("api-*.example.com", true));
    assert!(ok("*.ci.example.com", true));
    assert!(ok("api.github.com", true));
    assert!(!ok("*.github.com", true));
    assert!(!ok("*example.com", true));
    assert!(!ok("*", true));
    assert!(!ok("**", true));
    assert!(!ok("*.com", true));
    assert!(!ok("www.*.com", true));
    assert!(!ok("*.example.*", true));
    assert!(!ok("a..example.com", false));
    assert!(!ok("", false));
    assert!(!ok("exa$mple.com", true));
    // `*.com` never passes, even when the list is that wide.
    let wide = endpoints(&["*.com"]);
    assert!(name_problem(&wide, "*.com", true).is_some());
    assert!(name_problem(&wide, "*.example.com", true).is_none());
    // An IP-looking name passes a wildcard entry only when listed exactly.
    let ips = endpoints(&["*.example.com", "10.0.0.5"]);
    assert!(name_problem(&ips, "10.0.0.5", false).is_none());
    assert!(name_problem(&ips, "10.0.0.6", false).is_some());
}

/// Cilium's docs: DNS-based egress (`toFQDNs`) beside the DNS proxy rule that lets pods resolve.
fn cilium(kind: &str, fqdns: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v2
kind: {kind}
metadata:
  name: to-fqdn
  namespace: team-a
spec:
  endpointSelector:
    matchLabels:
      app: test-app
  egress:
    - toEndpoints:
      - matchLabels:
          "k8s:io.kubernetes.pod.namespace": kube-system
          "k8s:k8s-app": kube-dns
      toPorts:
        - ports:
           - port: "53"
             protocol: ANY
          rules:
            dns:
              - matchPattern: "*"
    - toFQDNs:
{fqdns}
"#
    )
}

#[test]
fn cilium_fqdn_egress() {
    let s = endpoints(&["api.github.com", "*.example.com"]);
    // The DNS proxy's `matchPattern: "*"` is not egress; allowed names pass.
    let good = cilium(
        "CiliumNetworkPolicy",
        "        - matchName: \"api.github.com\"\n        - matchPattern: \"*.example.com\"",
    );
    assert!(judge_added("np.yaml", &good, &s).is_empty());
    let bad = cilium(
        "CiliumNetworkPolicy",
        "        - matchName: \"api.github.com\"\n        - matchPattern: \"*.evil.test\"",
    );
    let f = judge_added("np.yaml", &bad, &s);
    assert_eq!(rules_of(&f), ["external-endpoints"]);
    assert!(
        f[0].message
            .contains("spec.egress[1].toFQDNs[1].matchPattern")
            && f[0].message.contains("*.evil.test"),
        "{}",
        f[0].message
    );
    assert_eq!(
        f[0].object.as_deref(),
        Some("CiliumNetworkPolicy team-a/to-fqdn")
    );
    assert_eq!(f[0].line, 24);
    // `*` alone is every name.
    let all = cilium("CiliumNetworkPolicy", "        - matchPattern: \"*\"");
    assert_eq!(
        rules_of(&judge_added("np.yaml", &all, &s)),
        ["external-endpoints"]
    );
    // The clusterwide kind, and rules under `specs[]`.
    let clusterwide = "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: egress}\nspecs:\n- endpointSelector: {}\n  egress:\n  - toFQDNs: [{matchName: api.github.com}]\n- endpointSelector: {}\n  egress:\n  - toFQDNs: [{matchName: exfil.evil.test}]\n";
    let f = judge_added("ccnp.yaml", clusterwide, &s);
    assert_eq!(rules_of(&f), ["external-endpoints"]);
    assert!(
        f[0].message
            .contains("specs[1].egress[0].toFQDNs[0].matchName"),
        "{}",
        f[0].message
    );
    // A name the old version already allowed is not reported again.
    let more = bad.replace(
        "        - matchName: \"api.github.com\"\n",
        "        - matchName: \"api.github.com\"\n        - matchName: \"a.example.com\"\n",
    );
    assert!(judge_modified("np.yaml", &bad, &more, &s).is_empty());
    // Off unless the rule is on.
    assert!(judge_added("np.yaml", &bad, &settings(&[])).is_empty());
}

#[test]
fn calico_domains() {
    let s = endpoints(&["*.example.com"]);
    // Calico's DNS policy docs: an egress allow rule with domains.
    let policy = |kind: &str, ns: &str, domain: &str| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: {kind}\nmetadata:\n  name: allow-egress-to-domains\n{ns}spec:\n  order: 1\n  selector: my-pod-label == 'my-value'\n  types:\n  - Egress\n  egress:\n  - action: Allow\n    protocol: UDP\n    destination:\n      ports:\n      - 53\n  - action: Allow\n    destination:\n      domains:\n      - api.example.com\n      - \"{domain}\"\n"
        )
    };
    for kind in ["NetworkPolicy", "GlobalNetworkPolicy"] {
        let ns = if kind == "NetworkPolicy" {
            "  namespace: team-a\n"
        } else {
            ""
        };
        assert!(
            judge_added("p.yaml", &policy(kind, ns, "*.ci.example.com"), &s).is_empty(),
            "{kind}"
        );
        let f = judge_added("p.yaml", &policy(kind, ns, "update.*.example.com"), &s);
        assert!(f.is_empty(), "{kind}: {f:?}");
        let f = judge_added("p.yaml", &policy(kind, ns, "www.*.com"), &s);
        assert_eq!(rules_of(&f), ["external-endpoints"], "{kind}");
        assert!(f[0]
            .message
            .contains("spec.egress[1].destination.domains[1]"));
    }
    // The Kubernetes NetworkPolicy of the same kind name is not Calico's.
    let k8s = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: team-a}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n";
    assert!(judge_added("p.yaml", k8s, &s).is_empty());
    // Network sets hold domains too.
    let set = "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkSet\nmetadata:\n  name: external\n  labels: {role: external}\nspec:\n  nets: [198.51.100.0/28]\n  allowedEgressDomains:\n  - db.example.com\n  - '*.db.evil.test'\n";
    let f = judge_added("s.yaml", set, &s);
    assert_eq!(rules_of(&f), ["external-endpoints"]);
    assert!(f[0].message.contains("spec.allowedEgressDomains[1]"));
}

/// Argo CD's notification docs: services are YAML documents inside the ConfigMap.
const NOTIFICATIONS: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-notifications-cm
  namespace: argocd
data:
  service.slack: |
    token: $slack-token
    apiURL: https://slack.example.com/api/
  service.webhook.github: |
    url: https://api.github.com
    headers:
    - name: Authorization
      value: token $github-token
  service.teams: |
    recipientUrls:
      channelName: https://hooks.example.com/teams/x
  template.app-sync-succeeded: |
    message: "Application {{.app.metadata.name}} has been synced: https://evil.test/"
"#;

#[test]
fn argo_cd_notification_services() {
    let s = endpoints(&[
        "https://slack.example.com/api/",
        "https://api.github.com/",
        "https://hooks.example.com/",
    ]);
    assert!(judge_added("cm.yaml", NOTIFICATIONS, &s).is_empty());
    // A webhook elsewhere, in a key the old version did not have.
    let evil = NOTIFICATIONS.replace(
        "    url: https://api.github.com\n",
        "    url: https://collector.evil.test/argo\n",
    );
    let f = judge_modified("cm.yaml", NOTIFICATIONS, &evil, &s);
    assert_eq!(rules_of(&f), ["external-endpoints"]);
    assert!(
        f[0].message.contains("data.service.webhook.github")
            && f[0].message.contains("key `url`")
            && f[0].message.contains("collector.evil.test"),
        "{}",
        f[0].message
    );
    assert_eq!(
        f[0].object.as_deref(),
        Some("ConfigMap argocd/argocd-notifications-cm")
    );
    // A map of URLs (Teams recipientUrls), a host taken from the secret, unreadable YAML.
    for (what, text) in [
        (
            "recipientUrls",
            NOTIFICATIONS.replace("https://hooks.example.com/teams/x", "https://evil.test/t"),
        ),
        (
            "secret host",
            NOTIFICATIONS.replace("https://api.github.com", "https://$webhook-host/x"),
        ),
        (
            "unparsable",
            NOTIFICATIONS.replace("    url: https://api.github.com\n", "    url: [unclosed\n"),
        ),
        (
            "duplicate key",
            NOTIFICATIONS.replace(
                "    url: https://api.github.com\n",
                "    url: https://api.github.com\n    url: https://evil.test/\n",
            ),
        ),
        (
            "slack apiURL",
            NOTIFICATIONS.replace(
                "https://slack.example.com/api/",
                "https://slack.example.com@evil.test/api/",
            ),
        ),
    ] {
        let f = judge_added("cm.yaml", &text, &s);
        assert_eq!(rules_of(&f), ["external-endpoints"], "{what}: {f:?}");
    }
    // What the old version already named is not reported again when something else changes.
    let more = evil.replace(
        "  template.app-sync-succeeded:",
        "  service.webhook.ok: |\n    url: https://hooks.example.com/ok\n  template.app-sync-succeeded:",
    );
    assert!(judge_modified("cm.yaml", &evil, &more, &s).is_empty());
    // A service value over the budget (an alias bomb, or just large) is a finding, not work.
    let bomb = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: argocd-notifications-cm, namespace: argocd}}\ndata:\n  service.webhook.big: |\n    a: &a [{}]\n    b: [*a, *a, *a, *a, *a, *a, *a, *a]\n    c: [*b, *b, *b, *b, *b, *b, *b, *b]\n    d: [*c, *c, *c, *c, *c, *c, *c, *c]\n    url: https://hooks.example.com/x\n",
        vec!["x"; 100].join(", ")
    );
    let f = judge_added("cm.yaml", &bomb, &s);
    assert_eq!(rules_of(&f), ["external-endpoints"], "{f:?}");
    assert!(f[0].message.contains("cannot be read"), "{}", f[0].message);
    // Other ConfigMaps are not notification services.
    let other = NOTIFICATIONS.replace("argocd-notifications-cm", "team-settings");
    assert!(judge_added("cm.yaml", &other.replace("api.github.com", "evil.test"), &s).is_empty());
}

#[test]
fn argo_cd_destinations() {
    let s = endpoints(&["https://prod.k8s.example.com:6443/"]);
    let app = |server: &str| {
        format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {{name: guestbook, namespace: argocd}}\nspec:\n  project: default\n  source: {{repoURL: https://github.com/argoproj/argocd-example-apps.git, path: guestbook, targetRevision: HEAD}}\n  destination:\n    server: {server}\n    namespace: guestbook\n")
    };
    assert!(judge_added("a.yaml", &app("https://kubernetes.default.svc"), &s).is_empty());
    assert!(judge_added("a.yaml", &app("https://prod.k8s.example.com:6443"), &s).is_empty());
    let f = judge_added("a.yaml", &app("https://k8s.evil.test"), &s);
    assert_eq!(rules_of(&f), ["external-endpoints"]);
    assert!(f[0].message.contains("spec.destination.server"));
    assert_eq!(f[0].line, 8);
    let set = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: guestbook, namespace: argocd}\nspec:\n  generators:\n  - clusters: {}\n  template:\n    metadata: {name: '{{name}}-guestbook'}\n    spec:\n      project: default\n      source: {repoURL: https://github.com/argoproj/argocd-example-apps.git, path: guestbook, targetRevision: HEAD}\n      destination:\n        server: '{{server}}'\n        namespace: guestbook\n";
    let f = judge_added("as.yaml", set, &s);
    assert_eq!(rules_of(&f), ["external-endpoints"]);
    assert!(f[0]
        .message
        .contains("spec.template.spec.destination.server"));
    let by_name = set.replace("server: '{{server}}'", "name: '{{name}}'");
    assert!(judge_added("as.yaml", &by_name, &s).is_empty());
}

fn exposure_settings() -> Settings {
    let mut s = settings(&[RuleId::ControllerExposure]);
    s.protected_namespaces = vec!["platform".to_string()];
    s
}

#[test]
fn controllers_exposed_outside_the_cluster() {
    let s = exposure_settings();
    // Flux's webhook receiver docs: the Service in front of notification-controller.
    let receiver = |ns: &str, extra: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: receiver\n  namespace: {ns}\nspec:\n{extra}  selector:\n    app: notification-controller\n  ports:\n    - name: http\n      port: 80\n      protocol: TCP\n      targetPort: 9292\n")
    };
    assert!(judge_added("s.yaml", &receiver("flux-system", ""), &s).is_empty());
    assert!(judge_added("s.yaml", &receiver("team-a", "  type: LoadBalancer\n"), &s).is_empty());
    for ns in ["flux-system", "argocd", "platform"] {
        for extra in [
            "  type: LoadBalancer\n",
            "  type: NodePort\n",
            "  externalIPs: [203.0.113.10]\n",
        ] {
            let f = judge_added("s.yaml", &receiver(ns, extra), &s);
            assert_eq!(rules_of(&f), ["controller-exposure"], "{ns} {extra}");
            assert_eq!(f[0].line, 7, "{ns} {extra}");
        }
    }
    // Changing something else on an already exposed Service is not reported again.
    let old = receiver("flux-system", "  type: LoadBalancer\n");
    assert!(judge_modified("s.yaml", &old, &old.replace("port: 80", "port: 8080"), &s).is_empty());
    // An Ingress in a controller namespace; one elsewhere is fine.
    let ingress = |ns: &str| {
        format!("apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: webhook-receiver\n  namespace: {ns}\nspec:\n  rules:\n  - host: flux-webhook.example.com\n    http:\n      paths:\n      - pathType: Prefix\n        path: /\n        backend:\n          service:\n            name: webhook-receiver\n            port:\n              number: 80\n")
    };
    assert_eq!(
        rules_of(&judge_added("i.yaml", &ingress("flux-system"), &s)),
        ["controller-exposure"]
    );
    assert!(judge_added("i.yaml", &ingress("team-a"), &s).is_empty());
    // An ExternalName alias of a controller Service (an Ingress elsewhere forwards to it).
    let alias = |name: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata: {{name: hook, namespace: team-a}}\nspec:\n  type: ExternalName\n  externalName: {name}\n")
    };
    for name in [
        "webhook-receiver.flux-system",
        "webhook-receiver.flux-system.svc",
        "argocd-server.argocd.svc.cluster.local.",
    ] {
        assert_eq!(
            rules_of(&judge_added("x.yaml", &alias(name), &s)),
            ["controller-exposure"],
            "{name}"
        );
    }
    assert!(judge_added("x.yaml", &alias("db.team-a.svc.cluster.local"), &s).is_empty());
    assert!(judge_added("x.yaml", &alias("flux-system.example.com"), &s).is_empty());
}

#[test]
fn gateway_routes_to_controllers() {
    let s = exposure_settings();
    // Gateway API docs: an HTTPRoute attached to a shared Gateway.
    let route = |kind: &str, ns: &str, backend: &str| {
        format!("apiVersion: gateway.networking.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: argocd\n  namespace: {ns}\nspec:\n  parentRefs:\n  - name: shared-gateway\n    namespace: infra\n  hostnames: [argocd.example.com]\n  rules:\n  - backendRefs:\n    - {backend}\n")
    };
    for kind in ["HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute"] {
        let f = judge_added(
            "r.yaml",
            &route(
                kind,
                "team-a",
                "{name: argocd-server, namespace: argocd, port: 443}",
            ),
            &s,
        );
        assert_eq!(rules_of(&f), ["controller-exposure"], "{kind}");
        assert!(
            f[0].message.contains("spec.rules[0].backendRefs[0]"),
            "{}",
            f[0].message
        );
        // Its own namespace when the backend names none.
        let f = judge_added(
            "r.yaml",
            &route(kind, "argocd", "{name: argocd-server, port: 443}"),
            &s,
        );
        assert_eq!(rules_of(&f), ["controller-exposure"], "{kind}");
        assert!(judge_added(
            "r.yaml",
            &route(kind, "team-a", "{name: web, port: 80}"),
            &s
        )
        .is_empty());
    }
    let mirror = route("HTTPRoute", "team-a", "{name: web, port: 80}").replace(
        "  - backendRefs:\n",
        "  - filters:\n    - type: RequestMirror\n      requestMirror:\n        backendRef: {name: webhook-receiver, namespace: flux-system, port: 80}\n    backendRefs:\n",
    );
    let f = judge_added("r.yaml", &mirror, &s);
    assert_eq!(rules_of(&f), ["controller-exposure"]);
    assert!(f[0].message.contains("requestMirror.backendRef"));
}

/// Flux's image automation docs: the ImageUpdateAutomation that commits new tags.
fn automation(git: &str) -> String {
    format!("apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageUpdateAutomation\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 30m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n{git}  update:\n    path: ./clusters/my-cluster\n    strategy: Setters\n")
}

#[test]
fn image_automation_pushes_only_to_listed_refs() {
    let mut s = settings(&[RuleId::GitopsSources]);
    s.automation_push_refs = vec!["image-updates/*".to_string()];
    let git = |push: &str| {
        format!("  git:\n    checkout:\n      ref:\n        branch: main\n    commit:\n      author:\n        email: fluxcdbot@users.noreply.github.com\n        name: fluxcdbot\n{push}")
    };
    let ok = |text: &str, s: &Settings| judge_added("a.yaml", text, s).is_empty();
    assert!(ok(
        &automation(&git("    push:\n      branch: image-updates/prod\n")),
        &s
    ));
    assert!(ok(
        &automation(&git(
            "    push:\n      refspec: refs/heads/main:refs/heads/image-updates/prod\n"
        )),
        &s
    ));
    for (what, push) in [
        ("branch", "    push:\n      branch: main\n"),
        (
            "refspec",
            "    push:\n      refspec: refs/heads/image-updates/x:refs/heads/main\n",
        ),
        ("forced refspec", "    push:\n      refspec: +HEAD:main\n"),
        (
            "delete",
            "    push:\n      refspec: :refs/heads/image-updates/x\n",
        ),
        (
            "wildcard",
            "    push:\n      refspec: refs/heads/*:refs/heads/*\n",
        ),
        ("checkout branch", ""),
    ] {
        let f = judge_added("a.yaml", &automation(&git(push)), &s);
        assert_eq!(rules_of(&f), ["gitops-sources"], "{what}: {f:?}");
        assert_eq!(
            f[0].object.as_deref(),
            Some("ImageUpdateAutomation flux-system/flux-system")
        );
    }
    // Pushing to the checkout branch is allowed when that branch is listed.
    let mut main = s.clone();
    main.automation_push_refs = vec!["main".to_string()];
    assert!(ok(&automation(&git("")), &main));
    // Nothing says where it pushes: the GitRepository's branch is not in this object.
    let f = judge_added("a.yaml", &automation(""), &main);
    assert_eq!(rules_of(&f), ["gitops-sources"]);
    assert!(
        f[0].message.contains("GitRepository `flux-system`"),
        "{}",
        f[0].message
    );
    // A kustomize patch holds only what it changes: a patched checkout branch without a push
    // branch says nothing about where the automation pushes; a patched push branch does.
    let patch = |git: &str| {
        format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [automation.yaml]\npatches:\n- patch: |\n    apiVersion: image.toolkit.fluxcd.io/v1beta2\n    kind: ImageUpdateAutomation\n    metadata: {{name: flux-system, namespace: flux-system}}\n    spec:\n      git:\n{git}")
    };
    assert!(judge_added(
        "clusters/kustomization.yaml",
        &patch("        checkout: {ref: {branch: release}}\n"),
        &s
    )
    .is_empty());
    assert_eq!(
        rules_of(&judge_added(
            "clusters/kustomization.yaml",
            &patch("        push: {branch: main}\n"),
            &s
        )),
        ["gitops-sources"]
    );
    // Default: empty, no automation may push.
    assert!(!ok(
        &automation(&git("    push:\n      branch: main\n")),
        &settings(&[RuleId::GitopsSources])
    ));
}

#[test]
fn the_settings_read_from_the_policy() {
    let s: Settings = toml::from_str(
        "rules = [\"controller-exposure\", \"gitops-sources\"]\nautomation_push_refs = [\"image-updates/*\"]\n",
    )
    .unwrap();
    assert_eq!(s.rules, [RuleId::ControllerExposure, RuleId::GitopsSources]);
    assert_eq!(s.automation_push_refs, ["image-updates/*"]);
    assert!(Settings::default().automation_push_refs.is_empty());
}
