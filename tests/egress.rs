//! Egress and exposure through real pushes (issue 15, concern 3: the cluster's external
//! access): FQDN egress rules may name only allowed endpoints, a GitOps controller may not be
//! exposed outside the cluster, the controllers' own NetworkPolicies change only with the
//! signers, Argo CD notifications and destinations and Flux image automation stay on the
//! allowlists. Each attack is refused; its control push lands. Manifests follow the Cilium,
//! Calico, Flux, Argo CD and Gateway API docs' examples.

mod common;

use common::gpg::*;
use common::*;

const POLICY: &str = r#"version = 1
[[manifests]]
match = ["clusters/**/*.yaml", "apps/**/*.yaml"]
rules = ["external-endpoints", "controller-exposure", "gitops-sources"]
source_urls = ["https://git.example.com/"]
allowed_endpoints = ["api.github.com", "*.example.com", "https://hooks.example.com/",
                     "https://prod.k8s.example.com:6443/"]
automation_push_refs = ["image-updates/*"]
"#;

fn fixture() -> Fixture {
    let f = Fixture::new(POLICY);
    f.commit("README", "fleet\n", "base");
    assert_accepted(&f.push(&["-q", "origin", "main"]));
    f
}

/// Refused with the rule, the file (`path:` or `path:line:`) and the object in the output.
fn assert_refused(r: &Run, rule: &str, path: &str, object: &str) {
    assert_rejected(r);
    assert!(
        r.out.contains(&format!("error[{rule}] refs/heads/main")),
        "{r:?}"
    );
    assert!(r.out.contains(&format!("path:   {path}")), "{r:?}");
    assert!(r.out.contains(object), "{r:?}");
}

/// Cilium's DNS-based policy example: resolve through kube-dns, then reach the names listed.
fn cilium(fqdns: &str) -> String {
    format!(
        r#"apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
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
fn cilium_fqdn_egress_outside_the_allowlist_is_refused() {
    let f = fixture();
    // Attack: a pattern wider than any entry (every subdomain of a foreign domain), and `*`.
    for pattern in ["*.evil.test", "*"] {
        f.commit(
            "apps/team-a/egress.yaml",
            &cilium(&format!(
                "        - matchName: \"api.github.com\"\n        - matchPattern: \"{pattern}\""
            )),
            "egress",
        );
        let r = f.push(&["origin", "main"]);
        assert_refused(
            &r,
            "external-endpoints",
            "apps/team-a/egress.yaml:",
            "CiliumNetworkPolicy team-a/to-fqdn",
        );
        assert!(
            r.flat().contains("spec.egress[1].toFQDNs[1].matchPattern"),
            "{r:?}"
        );
        f.git(&["reset", "-q", "--hard", "origin/main"]);
    }
    // Control: the names and patterns the policy allows.
    f.commit(
        "apps/team-a/egress.yaml",
        &cilium(
            "        - matchName: \"api.github.com\"\n        - matchPattern: \"*.ci.example.com\"",
        ),
        "egress",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

/// Calico's DNS policy example: an egress allow rule by domain.
fn calico(domain: &str) -> String {
    format!(
        r#"apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata:
  name: allow-egress-to-domains
spec:
  order: 1
  selector: my-pod-label == 'my-value'
  types:
  - Egress
  egress:
  - action: Allow
    destination:
      domains:
      - api.github.com
      - "{domain}"
"#
    )
}

#[test]
fn calico_domain_egress_outside_the_allowlist_is_refused() {
    let f = fixture();
    f.commit("clusters/prod/egress.yaml", &calico("www.*.com"), "egress");
    let r = f.push(&["origin", "main"]);
    assert_refused(
        &r,
        "external-endpoints",
        "clusters/prod/egress.yaml:15:",
        "GlobalNetworkPolicy allow-egress-to-domains",
    );
    assert!(
        r.flat().contains("spec.egress[0].destination.domains[1]"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "clusters/prod/egress.yaml",
        &calico("*.example.com"),
        "egress",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

/// Flux's webhook receiver docs: the Service in front of notification-controller.
fn receiver(extra: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: receiver
  namespace: flux-system
spec:
{extra}  selector:
    app: notification-controller
  ports:
    - name: http
      port: 80
      protocol: TCP
      targetPort: 9292
"
    )
}

#[test]
fn exposing_a_controller_outside_the_cluster_is_refused() {
    let f = fixture();
    f.commit(
        "clusters/prod/receiver.yaml",
        &receiver("  type: LoadBalancer\n"),
        "receiver",
    );
    let r = f.push(&["origin", "main"]);
    assert_refused(
        &r,
        "controller-exposure",
        "clusters/prod/receiver.yaml:7:",
        "Service flux-system/receiver",
    );
    assert!(r.flat().contains("`spec.type` is LoadBalancer"), "{r:?}");
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    // Control: the receiver as Flux ships it, reachable in the cluster only.
    f.commit("clusters/prod/receiver.yaml", &receiver(""), "receiver");
    assert_accepted(&f.push(&["origin", "main"]));
    // A team's HTTPRoute on the shared Gateway pointing at argocd-server.
    let route = |backend: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
  namespace: team-a
spec:
  parentRefs:
  - name: shared-gateway
    namespace: infra
  hostnames:
  - web.example.com
  rules:
  - backendRefs:
    - {backend}
"
        )
    };
    f.commit(
        "apps/team-a/route.yaml",
        &route("{name: argocd-server, namespace: argocd, port: 443}"),
        "route",
    );
    let r = f.push(&["origin", "main"]);
    assert_refused(
        &r,
        "controller-exposure",
        "apps/team-a/route.yaml:14:",
        "HTTPRoute team-a/web",
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "apps/team-a/route.yaml",
        &route("{name: web, port: 80}"),
        "route",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

/// Flux's own `allow-webhooks` NetworkPolicy in flux-system (from the install manifests).
fn allow_webhooks(from: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-webhooks
  namespace: flux-system
spec:
  ingress:
  - from:
{from}
  podSelector:
    matchLabels:
      app: notification-controller
  policyTypes:
  - Ingress
"
    )
}

/// The controllers' NetworkPolicies are `protected-namespaces`' business: loosening the one in
/// flux-system is refused unsigned and signed by a developer, and lands signed by an SRE.
#[test]
fn loosening_flux_system_network_policy_needs_the_signers() {
    let s = Setup::new("version = 1\n");
    let sam = s.gpg.key("Sam Sre <sam@example.com>", "ed25519");
    let dana = s.gpg.key("Dana Example <dana@example.com>", "ed25519");
    s.gpg.export(&sam, &s.keys.join("sam.asc"));
    s.gpg.export(&dana, &s.keys.join("dana.asc"));
    s.f.set_policy(&format!(
        r#"version = 1
[keys]
openpgp = ["{keys}/*.asc"]
[groups]
sre = ["openpgp:{sam}"]
dev = ["openpgp:{dana}"]
[[manifests]]
match = ["clusters/**/*.yaml"]
rules = ["protected-namespaces", "controller-exposure"]
signers = ["sre"]
"#,
        keys = s.keys.display()
    ));
    let f = &s.f;
    let path = "clusters/prod/flux-system/network-policy.yaml";
    let at = format!("{path}:");
    let narrow = allow_webhooks("    - namespaceSelector:\n        matchLabels:\n          kubernetes.io/metadata.name: ingress-nginx");
    let open = allow_webhooks("    - ipBlock:\n        cidr: 0.0.0.0/0");
    s.sign_with(&sam);
    s.commit_signed(path, &narrow, "webhooks from the ingress only");
    assert_accepted(&s.push(&["origin", "main"]));
    // A developer's signature, then none.
    s.sign_with(&dana);
    s.commit_signed(path, &open, "open the receiver");
    let r = s.push(&["origin", "main"]);
    assert_refused(
        &r,
        "protected-namespaces",
        &at,
        "NetworkPolicy flux-system/allow-webhooks",
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(path, &open, "open the receiver");
    let r = f.push(&["origin", "main"]);
    assert_refused(
        &r,
        "protected-namespaces",
        &at,
        "NetworkPolicy flux-system/allow-webhooks",
    );
    // Removing it is a change too.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    s.sign_with(&dana);
    f.git(&["rm", "-q", path]);
    s.git_signed(&["commit", "-q", "-S", "-s", "-m", "drop the policy"]);
    let r = s.push(&["origin", "main"]);
    assert_refused(
        &r,
        "protected-namespaces",
        &at,
        "NetworkPolicy flux-system/allow-webhooks",
    );
    // Control: the same change signed by an SRE lands.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    s.sign_with(&sam);
    s.commit_signed(path, &open, "open the receiver");
    assert_accepted(&s.push(&["origin", "main"]));
}

/// Argo CD's notification docs: services are YAML inside `argocd-notifications-cm`.
fn notifications(url: &str) -> String {
    format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-notifications-cm
  namespace: argocd
data:
  service.slack: |
    token: $slack-token
  service.webhook.github: |
    url: {url}
    headers:
    - name: Authorization
      value: token $github-token
  trigger.on-sync-succeeded: |
    - when: app.status.operationState.phase in ['Succeeded']
      send: [github-commit-status]
"
    )
}

#[test]
fn argo_cd_notifications_and_destinations_outside_the_allowlist_are_refused() {
    let f = fixture();
    f.commit(
        "clusters/prod/argocd-notifications-cm.yaml",
        &notifications("https://collector.evil.test/argo"),
        "notifications",
    );
    let r = f.push(&["origin", "main"]);
    assert_refused(
        &r,
        "external-endpoints",
        "clusters/prod/argocd-notifications-cm.yaml:10:",
        "ConfigMap argocd/argocd-notifications-cm",
    );
    assert!(
        r.flat()
            .contains("data.service.webhook.github` (key `url`)"),
        "{r:?}"
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "clusters/prod/argocd-notifications-cm.yaml",
        &notifications("https://api.github.com"),
        "notifications",
    );
    assert_accepted(&f.push(&["origin", "main"]));
    // The guestbook Application of argocd-example-apps, deployed to a foreign API server.
    let app = |server: &str| {
        format!(
            "apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://git.example.com/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
  destination:
    server: {server}
    namespace: guestbook
"
        )
    };
    f.commit(
        "clusters/prod/guestbook.yaml",
        &app("https://k8s.evil.test:6443"),
        "app",
    );
    let r = f.push(&["origin", "main"]);
    assert_refused(
        &r,
        "external-endpoints",
        "clusters/prod/guestbook.yaml:13:",
        "Application argocd/guestbook",
    );
    assert!(r.flat().contains("spec.destination.server"), "{r:?}");
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    // The Application's path, which the hook renders.
    f.commit(
        "guestbook/ui.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: guestbook-ui\n  namespace: guestbook\ndata:\n  color: blue\n",
        "guestbook",
    );
    f.commit(
        "clusters/prod/guestbook.yaml",
        &app("https://kubernetes.default.svc"),
        "app",
    );
    f.commit(
        "clusters/prod/guestbook-prod.yaml",
        &app("https://prod.k8s.example.com:6443").replace(
            "name: guestbook\n  namespace: argocd",
            "name: guestbook-prod\n  namespace: argocd",
        ),
        "app in prod",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

/// Flux's image automation guide: the ImageUpdateAutomation that commits new image tags.
fn automation(push: &str) -> String {
    format!(
        "apiVersion: image.toolkit.fluxcd.io/v1beta2
kind: ImageUpdateAutomation
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 30m
  sourceRef:
    kind: GitRepository
    name: flux-system
  git:
    checkout:
      ref:
        branch: main
    commit:
      author:
        email: fluxcdbot@users.noreply.github.com
        name: fluxcdbot
      messageTemplate: '{{{{range .Changed.Changes}}}}{{{{print .OldValue}}}} -> {{{{println .NewValue}}}}{{{{end}}}}'
{push}  update:
    path: ./clusters/my-cluster
    strategy: Setters
"
    )
}

#[test]
fn image_automation_pushing_outside_automation_push_refs_is_refused() {
    let f = fixture();
    // Attack: the automation commits straight to main, past review; then by refspec.
    for push in [
        "    push:\n      branch: main\n",
        "    push:\n      refspec: refs/heads/main:refs/heads/main\n",
        "",
    ] {
        f.commit(
            "clusters/prod/automation.yaml",
            &automation(push),
            "automation",
        );
        let r = f.push(&["origin", "main"]);
        assert_refused(
            &r,
            "gitops-sources",
            "clusters/prod/automation.yaml:",
            "ImageUpdateAutomation flux-system/flux-system",
        );
        assert!(r.flat().contains("automation_push_refs"), "{push}: {r:?}");
        f.git(&["reset", "-q", "--hard", "origin/main"]);
    }
    // Control: a branch the policy lists (merged to main by a person).
    f.commit(
        "clusters/prod/automation.yaml",
        &automation("    push:\n      branch: image-updates/prod\n"),
        "automation",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}
