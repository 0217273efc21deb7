//! `external-endpoints`: every URL or host a manifest makes the cluster contact, against one
//! allowlist (`allowed_endpoints`, plus the `source_urls` prefixes).
//!
//! An allowlist entry is either a URL (`https://hooks.example.com/alerts/`: scheme, host, port
//! and a path prefix ending on a segment boundary) or a host (`vault.example.com`,
//! `vault.example.com:8200`, `*.example.com` for every subdomain), any scheme. Hosts are
//! compared lowercased and without a trailing dot; an IP literal matches only when listed as
//! such. A value is refused before any matching when it cannot be read one way only: user
//! information other than a plain user name (`https://good.example.com@evil.test/`, a
//! password), backslashes, whitespace, dot segments or encoded dots and slashes, a non-ASCII or
//! malformed host, a template in the host.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::object::Object;
use crate::rules::{parse_image, prefix_allows, Hit};
use crate::settings::{RuleId, Settings};
use crate::yaml::{Node, Value};

/// The host part of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`, kept as `.example.com`.
    Subdomains(String),
}

/// One `allowed_endpoints` entry, checked when the policy is read.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub text: String,
    scheme: Option<String>,
    host: HostPattern,
    port: Option<u16>,
    /// URL entries only: the path prefix (at least `/`).
    path: Option<String>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({:?})", self.text)
    }
}

impl<'de> Deserialize<'de> for Endpoint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Endpoint::parse(&s).map_err(de::Error::custom)
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" | "oci" => Some(443),
        "ssh" => Some(22),
        "git" => Some(9418),
        _ => None,
    }
}

fn valid_scheme(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

/// Lowercases and checks a host name or IP literal; drops one trailing dot.
fn normalise_host(host: &str) -> Result<String, String> {
    if host.starts_with('[') {
        let inner = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .filter(|h| {
                !h.is_empty()
                    && h.bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            })
            .ok_or_else(|| format!("has a malformed IPv6 literal `{host}`"))?;
        return Ok(format!("[{}]", inner.to_ascii_lowercase()));
    }
    let lower = host.to_ascii_lowercase();
    let h = lower.strip_suffix('.').unwrap_or(&lower);
    if h.is_empty() {
        return Err("has no host".to_string());
    }
    if !h
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err(format!(
            "has the host `{host}`, with characters other than letters, digits, `-` and `.`"
        ));
    }
    if h.split('.').any(str::is_empty) {
        return Err(format!("has the host `{host}`, with an empty label"));
    }
    Ok(h.to_string())
}

/// An IP literal in any of the forms resolvers accept (`10.0.0.1`, `0x7f.1`, `2130706433`,
/// `[::1]`): the last label is numeric.
pub(crate) fn is_ip_literal(host: &str) -> bool {
    if host.starts_with('[') {
        return true;
    }
    let last = host.rsplit('.').next().unwrap_or(host);
    last.bytes().all(|b| b.is_ascii_digit())
        || (last.starts_with("0x") && last[2..].bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Splits `host[:port]` (`[v6]:port` too).
fn split_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(i) => {
                let rest = &authority[i + 1..];
                match rest.strip_prefix(':') {
                    Some(p) => (&authority[..=i], Some(p)),
                    None if rest.is_empty() => (authority, None),
                    None => return Err(format!("has a malformed host `{authority}`")),
                }
            }
            None => return Err(format!("has a malformed host `{authority}`")),
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|n| *n > 0 && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    format!("has the port `{p}`, which is not a number from 1 to 65535")
                })?,
        ),
    };
    Ok((host, port))
}

fn path_tricks(s: &str) -> bool {
    let lowered = s.to_ascii_lowercase();
    s.contains("/../")
        || s.ends_with("/..")
        || s.contains("/./")
        || s.ends_with("/.")
        || lowered.contains("%2e")
        || lowered.contains("%2f")
        || lowered.contains("%5c")
        || s.contains('\\')
        || s.chars().any(|c| c.is_whitespace() || c.is_control())
}

impl Endpoint {
    /// Parses `scheme://host[:port][/path]`, `host[:port]` or `*.domain[:port]`.
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        let bad = |why: &str| Err(format!("allowed_endpoints entry `{s}` {why}"));
        if path_tricks(s) || s.contains('?') || s.contains('#') || s.contains('@') {
            return bad("has user information, a query, a fragment, dot segments, encoded characters or whitespace");
        }
        let (scheme, rest) = match s.split_once("://") {
            Some((sch, rest)) => {
                if !valid_scheme(sch) {
                    return bad("has an invalid scheme");
                }
                (Some(sch.to_ascii_lowercase()), rest)
            }
            None => (None, s),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        if scheme.is_none() && path.is_some() {
            return bad("has a path but no scheme: write `https://host/path/` or a bare host");
        }
        let (host, port) = match split_port(authority) {
            Ok(x) => x,
            Err(e) => return bad(&e),
        };
        let host = match host.strip_prefix("*.") {
            Some(suffix) => {
                let suffix = match normalise_host(suffix) {
                    Ok(h) => h,
                    Err(e) => return bad(&e),
                };
                if is_ip_literal(&suffix) {
                    return bad("puts a wildcard before an IP address");
                }
                HostPattern::Subdomains(format!(".{suffix}"))
            }
            None => {
                if host.contains('*') {
                    return bad("may only use a wildcard as its first label (`*.example.com`)");
                }
                match normalise_host(host) {
                    Ok(h) => HostPattern::Exact(h),
                    Err(e) => return bad(&e),
                }
            }
        };
        let path = scheme.as_ref().map(|_| path.unwrap_or("/").to_string());
        Ok(Endpoint {
            text: s.to_string(),
            scheme,
            host,
            port,
            path,
        })
    }

    /// What a host entry (no scheme, no port) allows, for values that open a name to every port
    /// and path (FQDN egress rules): `(host, false)` that host, `(".domain", true)` every
    /// subdomain. URL entries and entries with a port allow less than such a value asks for.
    pub(crate) fn host_entry(&self) -> Option<(&str, bool)> {
        if self.scheme.is_some() || self.port.is_some() {
            return None;
        }
        Some(match &self.host {
            HostPattern::Exact(h) => (h.as_str(), false),
            HostPattern::Subdomains(s) => (s.as_str(), true),
        })
    }

    /// Whether this entry allows `t`.
    fn allows(&self, t: &Target) -> bool {
        let host_ok = match &self.host {
            HostPattern::Exact(h) => *h == t.host,
            HostPattern::Subdomains(suffix) => {
                t.host.ends_with(suffix.as_str()) && !is_ip_literal(&t.host)
            }
        };
        if !host_ok {
            return false;
        }
        let Some(scheme) = &self.scheme else {
            // A host entry: any scheme, any port unless it names one.
            return self.port.is_none_or(|p| t.port == Some(p));
        };
        if t.scheme.as_deref() != Some(scheme.as_str()) {
            return false;
        }
        let effective = t.port.or_else(|| default_port(scheme));
        let wanted = self.port.or_else(|| default_port(scheme));
        if effective != wanted {
            return false;
        }
        let prefix = self.path.as_deref().unwrap_or("/");
        let Some(rest) = t.path.strip_prefix(prefix) else {
            return false;
        };
        prefix.ends_with('/')
            || rest.starts_with(['/', '?', '#'])
            || (rest.is_empty() && !t.templated)
    }
}

/// A URL or host a manifest names, as the cluster will read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// From the first `/`, `?` or `#` after the host; `/` when there is none.
    pub path: String,
    /// The value continues with a template after `path` (the static part).
    pub templated: bool,
}

/// Reads a URL (`https://h:8200/x`), an scp-like Git address (`git@h:org/repo`) or a bare
/// `host[:port]`. Errors say why the value cannot be judged.
pub fn parse_target(value: &str) -> Result<Target, String> {
    let template = [value.find("{{"), value.find("${")]
        .into_iter()
        .flatten()
        .min();
    let fixed = &value[..template.unwrap_or(value.len())];
    if path_tricks(fixed) {
        return Err(
            "contains path tricks (dot segments, encoded dots or slashes, backslashes, whitespace)"
                .to_string(),
        );
    }
    let (scheme, rest, scp) = match fixed.split_once("://") {
        Some((sch, rest)) if valid_scheme(sch) => (Some(sch.to_ascii_lowercase()), rest, false),
        Some(_) => return Err("has an invalid scheme".to_string()),
        None => {
            // scp-like `user@host:path` (Git over SSH), when what follows `:` is not a port.
            match fixed.split_once(':') {
                Some((before, after))
                    if before.contains('@')
                        && !before.contains('/')
                        && !after.bytes().next().is_some_and(|b| b.is_ascii_digit()) =>
                {
                    (Some("ssh".to_string()), fixed, true)
                }
                _ => (None, fixed, false),
            }
        }
    };
    let end = if scp {
        rest.find(':')
    } else {
        rest.find(['/', '?', '#'])
    };
    let (authority, path) = match end {
        Some(i) if scp => (&rest[..i], format!("/{}", &rest[i + 1..])),
        Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None if template.is_some() => {
            return Err("is templated in its host, so its target cannot be checked".to_string())
        }
        None => (rest, "/".to_string()),
    };
    let host_port = match authority.rsplit_once('@') {
        Some((user, hp)) => {
            if user.is_empty()
                || !user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(format!(
                    "carries the user information `{user}@` (a password, or a host name in front of the real one)"
                ));
            }
            hp
        }
        None => authority,
    };
    let (host, port) = split_port(host_port)?;
    if host.contains('*') {
        return Err("has a wildcard in its host".to_string());
    }
    let host = normalise_host(host)?;
    Ok(Target {
        scheme,
        host,
        port,
        path,
        templated: template.is_some(),
    })
}

/// Why `value` is not an allowed endpoint, or None when it is. `source_urls` prefixes allow it
/// too (only a value that parses, so user-information tricks do not pass a prefix).
pub fn endpoint_problem(settings: &Settings, value: &str) -> Option<String> {
    let t = match parse_target(value) {
        Ok(t) => t,
        Err(e) => return Some(e),
    };
    if settings.allowed_endpoints.iter().any(|e| e.allows(&t)) {
        return None;
    }
    // A source prefix counts for its own host only (`https://git` must not allow
    // `https://git@evil.test/`).
    let by_source =
        |p: &String| prefix_allows(p, value) && parse_target(p).is_ok_and(|pt| pt.host == t.host);
    if !t.templated && settings.source_urls.iter().any(by_source) {
        return None;
    }
    Some("is not in allowed_endpoints (nor under a source_urls prefix)".to_string())
}

/// One value to judge: where it is, what it says.
struct Field<'a> {
    path: String,
    node: &'a Node,
    value: String,
    /// An image reference (Flux ImageRepository): its registry is the endpoint.
    image: bool,
    /// Secret `data` that is not base64: nothing to judge, which is the finding.
    undecodable: bool,
}

fn push_str<'a>(out: &mut Vec<Field<'a>>, path: String, node: Option<&'a Node>) {
    if let Some(n) = node {
        if let Some(s) = n.as_str().filter(|s| !s.is_empty()) {
            out.push(Field {
                path,
                node: n,
                value: s.to_string(),
                image: false,
                undecodable: false,
            });
        }
    }
}

/// Keys under an External Secrets provider that name where the store lives.
fn is_endpoint_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "url", "uri", "endpoint", "server", "host", "address", "hostapi",
    ]
    .iter()
    .any(|s| k.ends_with(s))
}

fn walk_endpoint_keys<'a>(node: &'a Node, path: String, out: &mut Vec<Field<'a>>, depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                let p = format!("{path}.{}", k.name);
                if matches!(v.value, Value::Str(_)) && is_endpoint_key(&k.name) {
                    push_str(out, p, Some(v));
                } else {
                    walk_endpoint_keys(v, p, out, depth + 1);
                }
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_endpoint_keys(item, format!("{path}[{i}]"), out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Standard base64 with padding, as the API server decodes Secret `data`.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (ci, chunk) in b.chunks(4).enumerate() {
        let last = ci == b.len() / 4 - 1;
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = if i >= 4 - pad { 0 } else { val(*c)? };
            n = (n << 6) | v;
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

const ARGO_SECRET_TYPES: [&str; 3] = ["repository", "repo-creds", "repository-write"];

/// Every endpoint field of the kinds the rule knows.
fn fields(obj: &Object) -> Vec<Field<'_>> {
    let root = &obj.root;
    let group = obj.identity.group.as_str();
    let kind = obj.kind();
    let mut out = Vec::new();
    let at = |keys: &[&str]| root.path(keys);
    match (group, kind) {
        ("notification.toolkit.fluxcd.io", "Provider") => {
            push_str(&mut out, "spec.address".into(), at(&["spec", "address"]));
            push_str(&mut out, "spec.proxy".into(), at(&["spec", "proxy"]));
        }
        ("image.toolkit.fluxcd.io", "ImageRepository") => {
            if let Some(n) = at(&["spec", "image"]) {
                if let Some(s) = n.as_str().filter(|s| !s.is_empty()) {
                    out.push(Field {
                        path: "spec.image".into(),
                        node: n,
                        value: s.to_string(),
                        image: true,
                        undecodable: false,
                    });
                }
            }
        }
        (
            "admissionregistration.k8s.io",
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration",
        ) => {
            for (i, w) in at(&["webhooks"])
                .map(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                push_str(
                    &mut out,
                    format!("webhooks[{i}].clientConfig.url"),
                    w.path(&["clientConfig", "url"]),
                );
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            push_str(
                &mut out,
                "spec.conversion.webhook.clientConfig.url".into(),
                at(&["spec", "conversion", "webhook", "clientConfig", "url"]),
            );
            push_str(
                &mut out,
                "spec.conversion.webhookClientConfig.url".into(),
                at(&["spec", "conversion", "webhookClientConfig", "url"]),
            );
        }
        ("", "Service") => {
            push_str(
                &mut out,
                "spec.externalName".into(),
                at(&["spec", "externalName"]),
            );
        }
        ("external-secrets.io", "SecretStore" | "ClusterSecretStore") => {
            if let Some(p) = at(&["spec", "provider"]) {
                walk_endpoint_keys(p, "spec.provider".into(), &mut out, 0);
            }
        }
        ("generators.external-secrets.io", _) => {
            if let Some(p) = at(&["spec"]) {
                walk_endpoint_keys(p, "spec".into(), &mut out, 0);
            }
        }
        ("cert-manager.io", "Issuer" | "ClusterIssuer") => {
            for (path, keys) in [
                ("spec.acme.server", &["spec", "acme", "server"][..]),
                ("spec.vault.server", &["spec", "vault", "server"]),
                ("spec.venafi.tpp.url", &["spec", "venafi", "tpp", "url"]),
                ("spec.venafi.cloud.url", &["spec", "venafi", "cloud", "url"]),
            ] {
                push_str(&mut out, path.into(), at(keys));
            }
            let solvers = at(&["spec", "acme", "solvers"])
                .map(Node::as_seq)
                .unwrap_or(&[]);
            for (i, s) in solvers.iter().enumerate() {
                push_str(
                    &mut out,
                    format!("spec.acme.solvers[{i}].dns01.acmeDNS.host"),
                    s.path(&["dns01", "acmeDNS", "host"]),
                );
                push_str(
                    &mut out,
                    format!("spec.acme.solvers[{i}].dns01.rfc2136.nameserver"),
                    s.path(&["dns01", "rfc2136", "nameserver"]),
                );
            }
        }
        ("", "Secret") => {
            let secret_type = at(&["metadata", "labels", "argocd.argoproj.io/secret-type"])
                .and_then(Node::as_str)
                .unwrap_or("");
            // Repository Secrets name where Argo CD fetches from; cluster Secrets the API
            // server it deploys to (with the credentials of `config`).
            let keys: &[&str] = if ARGO_SECRET_TYPES.contains(&secret_type) {
                &["url", "proxy"]
            } else if secret_type == "cluster" {
                &["server"]
            } else {
                &[]
            };
            for &key in keys {
                push_str(
                    &mut out,
                    format!("stringData.{key}"),
                    at(&["stringData", key]),
                );
                if let Some(n) = at(&["data", key]) {
                    let raw = n.as_str().unwrap_or("");
                    let decoded = base64_decode(raw).and_then(|b| String::from_utf8(b).ok());
                    let undecodable = decoded.is_none();
                    let value = decoded.unwrap_or_else(|| raw.to_string());
                    if !value.is_empty() {
                        out.push(Field {
                            path: format!("data.{key} (base64)"),
                            node: n,
                            value,
                            image: false,
                            undecodable,
                        });
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// The hits of `external-endpoints` on one object.
pub fn check(obj: &Object, settings: &Settings) -> Vec<Hit> {
    let kind = obj.kind();
    let mut hits = Vec::new();
    for f in fields(obj) {
        let problem = if f.undecodable {
            Some("is not base64 of UTF-8 text, so its target cannot be checked".to_string())
        } else if f.image {
            let parsed = parse_image(&f.value);
            let by_registry = settings
                .image_registries
                .iter()
                .any(|p| prefix_allows(p, &f.value) || prefix_allows(p, &parsed.full_name));
            if by_registry {
                None
            } else {
                endpoint_problem(settings, &parsed.registry).map(|p| {
                    format!(
                        "comes from the registry `{}`, which {}",
                        parsed.registry,
                        p.replace(
                            "is not in allowed_endpoints",
                            "is not in image_registries or allowed_endpoints"
                        )
                    )
                })
            }
        } else {
            endpoint_problem(settings, &f.value)
        };
        if let Some(problem) = problem {
            hits.push(Hit {
                rule: RuleId::ExternalEndpoints,
                key: format!("endpoint/{}/{}", f.path, f.value),
                line: f.node.line,
                column: f.node.column,
                container: None,
                message: format!(
                    "{kind} `{}` makes the cluster contact `{}`, which {problem}",
                    f.path, f.value
                ),
                fix: "point it at an allowed endpoint (an in-cluster service reference where the field allows one), or add the endpoint to allowed_endpoints (reviewed change of the policy)".to_string(),
            });
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(entries: &[&str]) -> Settings {
        Settings {
            allowed_endpoints: entries
                .iter()
                .map(|e| Endpoint::parse(e).unwrap())
                .collect(),
            source_urls: vec!["https://git.example.com/fleet/".to_string()],
            ..Settings::default()
        }
    }

    #[test]
    fn entries_are_checked_when_read() {
        for bad in [
            "https://good.example.com@evil.test/",
            "https://hooks.example.com/?x=1",
            "hooks.example.com/path",
            "https://hooks.example.com/a/../b",
            "*",
            "*.10.0.0.1",
            "a.*.example.com",
            "https://hooks.example.com:99999/",
            "ex ample.com",
            "bücher.example",
            "a..example.com",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        for good in [
            "https://hooks.example.com/",
            "vault.example.com",
            "vault.example.com:8200",
            "*.example.com",
            "HTTPS://Hooks.Example.COM./alerts",
            "10.0.0.5",
            "https://[fd00::1]:8443/",
        ] {
            assert!(Endpoint::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn matching() {
        let s = settings(&[
            "https://hooks.example.com/alerts",
            "vault.example.com",
            "*.corp.example.com",
            "https://ntfy.example.com:8443/",
            "10.0.0.5",
        ]);
        let ok = |v: &str| endpoint_problem(&s, v).is_none();
        // URL entries: scheme, host, port, path prefix on a boundary.
        assert!(ok("https://hooks.example.com/alerts"));
        assert!(ok("https://hooks.example.com/alerts/team-a?x=1"));
        assert!(ok("https://HOOKS.example.com./alerts/x"));
        assert!(ok("https://hooks.example.com:443/alerts/x"));
        assert!(!ok("https://hooks.example.com/alertsevil"));
        assert!(!ok("https://hooks.example.com/other"));
        assert!(!ok("http://hooks.example.com/alerts"));
        assert!(!ok("https://hooks.example.com:8443/alerts"));
        assert!(ok("https://ntfy.example.com:8443/topic"));
        assert!(!ok("https://ntfy.example.com/topic"));
        // Host entries: any scheme and port.
        assert!(ok("https://vault.example.com:8200"));
        assert!(ok("vault.example.com"));
        assert!(ok("VAULT.EXAMPLE.COM."));
        assert!(!ok("https://vault.example.com.evil.test/"));
        assert!(!ok("https://evilvault.example.com/"));
        // Wildcards: subdomains at any depth, not the domain itself.
        assert!(ok("https://a.corp.example.com/x"));
        assert!(ok("https://a.b.corp.example.com/x"));
        assert!(!ok("https://corp.example.com/x"));
        assert!(!ok("https://evilcorp.example.com/x"));
        // IP literals only when listed.
        assert!(ok("http://10.0.0.5:8080/"));
        assert!(!ok("http://10.0.0.6/"));
        assert!(!ok("http://169.254.169.254/latest/meta-data"));
        assert!(!ok("http://0x7f.1/"));
        assert!(!ok("http://[::1]/"));
        // User information tricks, encodings, templates.
        assert!(!ok("https://vault.example.com@evil.test/"));
        assert!(!ok("https://vault.example.com:pw@evil.test/"));
        assert!(!ok("https://user:pass@vault.example.com/"));
        assert!(ok("https://token@vault.example.com/"));
        assert!(!ok("https://evil.test#@vault.example.com/"));
        assert!(!ok("https://evil.test\\@vault.example.com/"));
        assert!(!ok("https://hooks.example.com/alerts/%2e%2e/x"));
        assert!(!ok("https://hooks.example.com/alerts/../x"));
        assert!(!ok("https://{{ .host }}/alerts"));
        assert!(ok("https://hooks.example.com/alerts/{{ .remoteRef.key }}"));
        assert!(!ok("https://hooks.example.com/alerts{{ .x }}"));
        // source_urls prefixes are endpoints too, but only for values that parse.
        assert!(ok("https://git.example.com/fleet/app"));
        assert!(ok("git@vault.example.com:acme/app.git"));
        assert!(!ok("https://git.example.com/other"));
        assert!(!ok("https://git.example.com/fleet@evil.test/"));
        let mut short = settings(&[]);
        short.source_urls = vec!["https://git".to_string()];
        assert!(endpoint_problem(&short, "https://git@evil.test/x").is_some());
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("YWJj").unwrap(), b"abc");
        assert!(base64_decode("aGk").is_none());
        assert!(base64_decode("a=Gk").is_none());
    }
}
