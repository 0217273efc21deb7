//! Helm values, judged where they will land in pod specs.
//!
//! pushguard does not render Helm charts, yet the values that turn dangerous settings on are in
//! Git: a Flux `HelmRelease` (`spec.values`, `spec.valuesFrom[].targetPath`, post-renderer
//! kustomize patches and images) and an Argo CD `Application` or `ApplicationSet` template
//! (`helm.values` as a YAML string, `helm.valuesObject`, `helm.parameters` as `--set`,
//! `helm.fileParameters`, in `spec.source` and every `spec.sources[]`). Without this module
//! `privileged: true` in a release's values passes, because no rule sees a pod spec.
//!
//! What a chart does with a value is in its templates, which are not read; so the well-known
//! security fields are looked for *wherever they appear* in the values tree (`privileged`,
//! `hostNetwork`/`hostPID`/`hostIPC`, `allowPrivilegeEscalation`, `runAsUser: 0`,
//! `runAsNonRoot: false`, `capabilities.add`, `hostPath`, `hostPort`, images), and reported under
//! the rule ids the pod rules use, so a policy that names `privileged` refuses a privileged
//! container whether it comes as a Deployment or as a release's values. Values a template
//! renders as text are read the way the rendered manifest will be: the string `"yes"` is true.
//!
//! Each values source is judged on its own and merged in Helm's order (a value a later source
//! overrides is still reported: fail closed). A value that cannot be read (a values string that
//! is not unambiguous YAML, a `--set` line Helm's parser would read differently) is a finding,
//! as is a security field whose value comes from outside the object (`valuesFrom` with a
//! `targetPath`, `fileParameters`) or from a template (`{{ … }}`). Whole values documents kept
//! elsewhere (`valuesFrom` without `targetPath`, Argo CD `valueFiles`) are listed by
//! [`external_values`] so the caller can load them and judge them with [`judge_values`].

use std::cell::Cell;
use std::collections::HashSet;

use crate::object::{self, Object};
use crate::rules::{self, Hit};
use crate::settings::{PodSecurityLevel, RuleId, Settings};
use crate::yaml::{self, Key, Limits, LoadError, LoadStats, Node, Value};

/// Said in every message: a hit here is about a value, not about a rendered pod spec.
pub const NOTE: &str = "in Helm values (the chart's templates are not rendered)";

/// Said instead for the overlay of a Flux `Kustomization` whose source is outside the
/// repository: its patches and images are judged, what they apply to is not seen.
pub const OUTSIDE_NOTE: &str =
    "in a Flux Kustomization whose source is an OCIRepository or Bucket (what the source holds is not in this repository, so only the Kustomization's own patches and images are judged)";

/// Rules this module reports under; the first enabled one also carries "cannot be read".
const HELM_RULES: [RuleId; 9] = [
    RuleId::Privileged,
    RuleId::HostNamespaces,
    RuleId::PrivilegeEscalation,
    RuleId::RunAsRoot,
    RuleId::DangerousCapabilities,
    RuleId::HostPath,
    RuleId::SensitiveHostMounts,
    RuleId::HostPorts,
    RuleId::ImageRegistries,
];

/// Highest list index a `--set` path may name (Helm's own limit is 65536; a pushed index
/// allocates a list that long).
pub const MAX_SET_INDEX: usize = 1000;

/// Most segments a `--set` path may have (the loader's default depth limit).
pub const MAX_SET_PATH: usize = 100;

/// Most nodes the `--set` parameters of one source may create (list padding included).
const MAX_SET_NODES: usize = 100_000;

/// How deep post-renderer patches may nest (a patch holding a HelmRelease with patches...).
const MAX_NESTING: usize = 4;

/// Replaces each character of an ApplicationSet `{{ … }}` expression before its values string
/// is parsed, so the string stays YAML and positions stay put; a value holding it is unknown.
const TEMPLATE_MARK: char = '\u{FFFC}';

thread_local! {
    static NESTING: Cell<usize> = const { Cell::new(0) };
}

/// Why a `--set` line cannot be read the way Helm reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    #[error("key `{0}` has no value")]
    NoValue(String),
    #[error("list index `{0}` is not a number from 0 to {MAX_SET_INDEX}")]
    BadIndex(String),
    #[error("unexpected `{0}` after a list index")]
    AfterIndex(String),
    #[error("a list value `{{…` does not end with `}}`")]
    UnterminatedList,
    #[error("an empty key in `{0}` (Helm drops the value)")]
    EmptyKey(String),
    #[error("a path of more than {MAX_SET_PATH} segments")]
    TooDeep,
}

/// One step of a `--set` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetSegment {
    Key(String),
    Index(usize),
}

/// One `path=value` of a `--set` line, typed as Helm types it.
#[derive(Debug, Clone)]
pub struct SetAssignment {
    pub path: Vec<SetSegment>,
    /// `Value::Seq` for a `{a,b}` list (its items at position 0:0).
    pub value: Value,
}

/// Parses a `--set` (or, with `force_string`, `--set-string`) line as Helm's `strvals` does:
/// `a.b=1,c[0].d=x`; `\` makes the next character literal (`a\.b` is the key `a.b`); `{x,y}`
/// is a list; `true`/`false` (any case), `null`, and integers without a leading zero are typed.
pub fn parse_set(line: &str, force_string: bool) -> Result<Vec<SetAssignment>, SetError> {
    let mut chars = line.chars().peekable();
    let mut out = Vec::new();
    'assignments: loop {
        let mut path = Vec::new();
        loop {
            let (k, stop) = until(&mut chars, &['=', '[', ',', '.']);
            match stop {
                None if k.is_empty() && path.is_empty() => return Ok(out),
                None | Some(',') => return Err(SetError::NoValue(render(&path, &k))),
                Some('.') => path.push(key_segment(&path, k)?),
                Some('=') => {
                    path.push(key_segment(&path, k)?);
                    let value = set_value(&mut chars, force_string)?;
                    out.push(SetAssignment { path, value });
                    continue 'assignments;
                }
                _ => {
                    // '[': one or more list indexes, then `.`, `[` or `=`.
                    path.push(key_segment(&path, k)?);
                    loop {
                        let (index, stop) = until(&mut chars, &[']']);
                        if stop.is_none() {
                            return Err(SetError::BadIndex(index));
                        }
                        if path.len() >= MAX_SET_PATH {
                            return Err(SetError::TooDeep);
                        }
                        match index.parse::<usize>() {
                            Ok(i) if i <= MAX_SET_INDEX => path.push(SetSegment::Index(i)),
                            _ => return Err(SetError::BadIndex(index)),
                        }
                        let (rest, stop) = until(&mut chars, &['[', '.', '=']);
                        if !rest.is_empty() {
                            return Err(SetError::AfterIndex(rest));
                        }
                        match stop {
                            Some('[') => continue,
                            Some('.') => break,
                            Some(_) => {
                                let value = set_value(&mut chars, force_string)?;
                                out.push(SetAssignment { path, value });
                                continue 'assignments;
                            }
                            None => return Err(SetError::NoValue(render(&path, ""))),
                        }
                    }
                }
            }
        }
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Reads up to one of `stop` (consumed and returned; `None` at the end), `\` escaping.
fn until(chars: &mut Chars<'_>, stop: &[char]) -> (String, Option<char>) {
    let mut out = String::new();
    while let Some(c) = chars.next() {
        if stop.contains(&c) {
            return (out, Some(c));
        }
        if c == '\\' {
            match chars.next() {
                Some(next) => out.push(next),
                None => return (out, None),
            }
        } else {
            out.push(c);
        }
    }
    (out, None)
}

fn key_segment(path: &[SetSegment], k: String) -> Result<SetSegment, SetError> {
    if path.len() >= MAX_SET_PATH {
        return Err(SetError::TooDeep);
    }
    if k.is_empty() {
        return Err(SetError::EmptyKey(render(path, "")));
    }
    Ok(SetSegment::Key(k))
}

fn set_value(chars: &mut Chars<'_>, force_string: bool) -> Result<Value, SetError> {
    if chars.peek() == Some(&'{') {
        chars.next();
        let mut items = Vec::new();
        loop {
            let (item, stop) = until(chars, &[',', '}']);
            match stop {
                None => return Err(SetError::UnterminatedList),
                Some(c) => {
                    items.push(Node {
                        value: typed(&item, force_string),
                        line: 0,
                        column: 0,
                    });
                    if c == '}' {
                        if chars.peek() == Some(&',') {
                            chars.next();
                        }
                        return Ok(Value::Seq(items));
                    }
                }
            }
        }
    }
    let (text, _) = until(chars, &[',']);
    Ok(typed(&text, force_string))
}

/// Helm's `typedVal`.
fn typed(text: &str, force_string: bool) -> Value {
    if force_string {
        return Value::Str(text.to_string());
    }
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if text.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if text == "0" {
        return Value::Int(0);
    }
    if !text.starts_with('0') {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Int(i128::from(i));
        }
    }
    Value::Str(text.to_string())
}

fn render(path: &[SetSegment], last: &str) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            SetSegment::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(&k.replace('.', "\\."));
            }
            SetSegment::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    if !last.is_empty() {
        if !s.is_empty() {
            s.push('.');
        }
        s.push_str(last);
    }
    s
}

/// Puts `value` at `path` in `root`, creating maps and lists (padded with nulls) on the way and
/// replacing what is in the way, as `--set` does. Positions: `at` for what is created.
fn set_at(root: &mut Node, path: &[SetSegment], value: Node, at: &Node) {
    let Some((first, rest)) = path.split_first() else {
        *root = value;
        return;
    };
    let empty = |kind: &SetSegment| Node {
        value: match kind {
            SetSegment::Index(_) => Value::Seq(Vec::new()),
            SetSegment::Key(_) => Value::Map(Vec::new()),
        },
        line: at.line,
        column: at.column,
    };
    let slot: Option<&mut Node> = match first {
        SetSegment::Key(k) => {
            if !matches!(root.value, Value::Map(_)) {
                *root = empty(first);
            }
            match &mut root.value {
                Value::Map(entries) => {
                    let pos = match entries.iter().position(|(key, _)| &key.name == k) {
                        Some(p) => p,
                        None => {
                            entries.push((
                                Key {
                                    name: k.clone(),
                                    line: at.line,
                                    column: at.column,
                                },
                                null_at(at),
                            ));
                            entries.len() - 1
                        }
                    };
                    entries.get_mut(pos).map(|(_, v)| v)
                }
                _ => None,
            }
        }
        SetSegment::Index(i) => {
            if !matches!(root.value, Value::Seq(_)) {
                *root = empty(first);
            }
            match &mut root.value {
                Value::Seq(items) => {
                    while items.len() <= *i {
                        items.push(null_at(at));
                    }
                    items.get_mut(*i)
                }
                _ => None,
            }
        }
    };
    if let Some(slot) = slot {
        set_at(slot, rest, value, at);
    }
}

fn null_at(at: &Node) -> Node {
    Node {
        value: Value::Null,
        line: at.line,
        column: at.column,
    }
}

/// Helm's coalescing of a later values source over an earlier one: maps merge key by key, a
/// `null` deletes, anything else replaces.
fn merge(dst: &mut Node, src: &Node, depth: usize) {
    if depth > yaml::MAX_DEPTH_CAP {
        return;
    }
    match (&mut dst.value, &src.value) {
        (Value::Map(d), Value::Map(s)) => {
            for (k, v) in s {
                let existing = d.iter().position(|(dk, _)| dk.name == k.name);
                match (existing, v.is_null()) {
                    (Some(p), true) => {
                        d.remove(p);
                    }
                    (Some(p), false) => {
                        if let Some((_, dv)) = d.get_mut(p) {
                            merge(dv, v, depth + 1);
                        }
                    }
                    (None, true) => {}
                    (None, false) => d.push((k.clone(), v.clone())),
                }
            }
        }
        _ => *dst = src.clone(),
    }
}

/// Loads a YAML values string held by `node` (an Argo CD `helm.values`, a ConfigMap's
/// `data["values.yaml"]`), positions mapped back to the file that holds `node` (exact for `|`
/// block scalars). Every document is returned; a document that is not a mapping is dropped.
pub fn load_values_string(node: &Node, limits: &Limits) -> Result<Vec<Node>, LoadError> {
    load_string(node, limits, false)
}

fn load_string(node: &Node, limits: &Limits, templated: bool) -> Result<Vec<Node>, LoadError> {
    let raw = node.as_str().unwrap_or("");
    let text = if templated {
        mask_templates(raw)
    } else {
        raw.to_string()
    };
    let shift = |e: LoadError| {
        let (line, column) = e.position();
        let line = line.saturating_add(node.line.saturating_sub(1));
        let column = column.saturating_add(node.column.saturating_sub(1));
        let message = format!("Helm values string: {}", e.message());
        if e.is_limits() {
            LoadError::Limits {
                line,
                column,
                message,
            }
        } else {
            LoadError::Parse {
                line,
                column,
                message,
            }
        }
    };
    let docs =
        yaml::load_with_stats(text.as_bytes(), limits, &mut LoadStats::default()).map_err(shift)?;
    Ok(docs
        .into_iter()
        .filter(|d| matches!(d.value, Value::Map(_)))
        .map(|mut d| {
            object::shift_positions(&mut d, node, 0);
            d
        })
        .collect())
}

/// `{{ … }}` spans replaced character by character (newlines kept) with [`TEMPLATE_MARK`].
fn mask_templates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest.get(start..).and_then(|r| r.find("}}")) else {
            break;
        };
        out.push_str(rest.get(..start).unwrap_or(""));
        for c in rest.get(start..start + len + 2).unwrap_or("").chars() {
            out.push(if c == '\n' { c } else { TEMPLATE_MARK });
        }
        rest = rest.get(start + len + 2..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// Where a whole values document comes from outside the object: the caller may load it and
/// judge it with [`judge_values`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalValues {
    /// `ConfigMap`, `Secret` (Flux `valuesFrom`), `ValuesFile` (Argo CD `valueFiles`, relative to
    /// the source's `path`; `$ref/…` for multi-source), `ChartValuesFile` (Flux
    /// `spec.chart.spec.valuesFiles`, relative to the chart's source).
    pub kind: String,
    /// The object's namespace for a ConfigMap or Secret; empty otherwise.
    pub namespace: String,
    /// The ConfigMap or Secret name, or the file path.
    pub name: String,
    /// The data key (`valuesKey`, default `values.yaml`).
    pub key: Option<String>,
    /// `targetPath`: the value is put at this `--set` path instead of merged at the root.
    pub target_path: Option<String>,
    /// `optional: true`: a missing object is not an error for Flux.
    pub optional: bool,
    /// `spec`, `spec.source`, `spec.sources[1]`: the release the values belong to.
    pub scope: String,
    pub line: u32,
    pub column: u32,
}

/// The values documents `obj` (a Flux HelmRelease, an Argo CD Application or ApplicationSet)
/// takes from elsewhere.
pub fn external_values(obj: &Object) -> Vec<ExternalValues> {
    let mut out = Vec::new();
    let root = &obj.root;
    let entry = |kind: &str, name: &str, scope: &str, at: &Node| ExternalValues {
        kind: kind.to_string(),
        namespace: String::new(),
        name: name.to_string(),
        key: None,
        target_path: None,
        optional: false,
        scope: scope.to_string(),
        line: at.line,
        column: at.column,
    };
    if is_helm_release(obj) {
        for v in root
            .path(&["spec", "valuesFrom"])
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            let s = |k: &str| v.get(k).and_then(Node::as_str).filter(|s| !s.is_empty());
            let mut e = entry(s("kind").unwrap_or(""), s("name").unwrap_or(""), "spec", v);
            e.namespace = obj.identity.namespace.clone();
            e.key = Some(s("valuesKey").unwrap_or("values.yaml").to_string());
            e.target_path = s("targetPath").map(str::to_string);
            e.optional = v.get("optional").and_then(Node::as_bool) == Some(true);
            out.push(e);
        }
        let chart = root.path(&["spec", "chart", "spec"]);
        for n in chart
            .and_then(|c| c.get("valuesFiles"))
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .chain(chart.and_then(|c| c.get("valuesFile")))
        {
            if let Some(p) = n.as_str() {
                out.push(entry("ChartValuesFile", p, "spec", n));
            }
        }
    }
    for (scope, source) in argo_sources(obj) {
        for n in source
            .path(&["helm", "valueFiles"])
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            if let Some(p) = n.as_str() {
                out.push(entry("ValuesFile", p, &scope, n));
            }
        }
    }
    out
}

/// A kustomize patch whose target names no group patches objects of every group.
fn group_is(obj: &Object, group: impl Fn(&str) -> bool) -> bool {
    group(&obj.identity.group) || (obj.patch.is_some() && obj.identity.group.is_empty())
}

fn is_helm_release(obj: &Object) -> bool {
    obj.kind() == "HelmRelease" && group_is(obj, |g| g.ends_with("fluxcd.io"))
}

fn is_flux_kustomization(obj: &Object) -> bool {
    obj.kind() == "Kustomization" && group_is(obj, |g| g == "kustomize.toolkit.fluxcd.io")
}

fn is_argo(obj: &Object) -> bool {
    matches!(obj.kind(), "Application" | "ApplicationSet") && group_is(obj, |g| g == "argoproj.io")
}

/// Judges one values document (`values` is its root mapping) as the values of a release:
/// what [`check`] does with `spec.values`, for values the caller found elsewhere (a ConfigMap
/// named by `valuesFrom`, a `valueFiles` file). `source` names it in messages
/// (`ConfigMap prod/api-values values.yaml`); hit keys start with `helm/<source>/`.
pub fn judge_values(values: &Node, source: &str, settings: &Settings) -> Vec<Hit> {
    let mut j = Judge::new(settings, source.to_string());
    j.values(values, source);
    j.hits
}

/// The hit for values that cannot be read (judged under the first Helm rule the settings turn
/// on), as [`judge_values`] reports them for an unreadable document.
pub fn unreadable_values(at: &Node, source: &str, why: String, settings: &Settings) -> Vec<Hit> {
    let mut j = Judge::new(settings, source.to_string());
    j.unreadable(at, why);
    j.hits
}

/// Runs the Helm values checks on `obj` (called by [`rules::check`] for every object).
pub fn check(obj: &Object, settings: &Settings) -> Vec<Hit> {
    let helm_release = is_helm_release(obj);
    let outside = is_flux_kustomization(obj) && crate::render::deploys_from_outside(&obj.root);
    if !(helm_release || outside || is_argo(obj))
        || (settings.rules.is_empty() && settings.pod_security.is_none())
    {
        return Vec::new();
    }
    let depth = NESTING.with(Cell::get);
    let mut j = Judge::new(settings, String::new());
    if depth >= MAX_NESTING {
        j.scope = "spec".to_string();
        j.unreadable(
            &obj.root,
            format!(
                "{} patches nest deeper than {MAX_NESTING} levels",
                obj.kind()
            ),
        );
        return j.hits;
    }
    NESTING.with(|n| n.set(depth + 1));
    if helm_release {
        j.flux(obj);
    } else if outside {
        j.note = OUTSIDE_NOTE;
        j.scope = "spec".to_string();
        if let Some(spec) = obj.root.get("spec") {
            j.kustomize(obj, "spec", spec);
        }
    } else {
        j.argo(obj);
    }
    NESTING.with(|n| n.set(depth));
    j.hits
}

/// What a value decides, read the way a template renders it.
enum Reading {
    True,
    False,
    Int(i128),
    Other,
    /// A `{{ … }}` expression: only rendering would tell.
    Templated,
}

fn read(n: &Node) -> Reading {
    match &n.value {
        Value::Bool(true) => Reading::True,
        Value::Bool(false) => Reading::False,
        Value::Str(s) if s.contains("{{") || s.contains(TEMPLATE_MARK) => Reading::Templated,
        Value::Str(s) => match yaml::resolve_plain(s.trim()) {
            Value::Bool(true) => Reading::True,
            Value::Bool(false) => Reading::False,
            Value::Int(i) => Reading::Int(i),
            _ => Reading::Other,
        },
        _ => match n.as_int() {
            Some(i) => Reading::Int(i),
            None => Reading::Other,
        },
    }
}

fn child_path(path: &str, key: &str) -> String {
    let key = key.replace('.', "\\.");
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

struct Judge<'s> {
    settings: &'s Settings,
    /// What every message says about where the hit is ([`NOTE`], [`OUTSIDE_NOTE`]).
    note: &'static str,
    /// The release the values belong to (`spec`, `spec.sources[1]`): part of every hit key.
    scope: String,
    hits: Vec<Hit>,
    seen: HashSet<(RuleId, String)>,
}

impl<'s> Judge<'s> {
    fn new(settings: &'s Settings, scope: String) -> Self {
        Judge {
            settings,
            note: NOTE,
            scope,
            hits: Vec::new(),
            seen: HashSet::new(),
        }
    }

    fn on(&self, rule: RuleId) -> bool {
        self.settings.rules.contains(&rule)
    }

    /// A hit under `rule` when the policy names it, and under the Pod Security Standards
    /// control it belongs to when `pod_security` holds pod specs to that control.
    fn hit(&mut self, rule: RuleId, key: String, at: &Node, message: String, fix: &str) {
        if let Some(pss) = self.pss_rule(rule) {
            let level = self.pss_label();
            self.push(pss, &key, at, format!("{message} ({level})"), fix);
        }
        if self.on(rule) {
            self.push(rule, &key, at, message, fix);
        }
    }

    /// The Pod Security Standards rule id that sees what `rule` sees, under the policy's level.
    fn pss_rule(&self, rule: RuleId) -> Option<RuleId> {
        let ps = self.settings.pod_security?;
        match rule {
            RuleId::Privileged | RuleId::HostNamespaces | RuleId::HostPath | RuleId::HostPorts => {
                Some(RuleId::PodSecurityBaseline)
            }
            RuleId::PrivilegeEscalation | RuleId::RunAsRoot
                if ps.level == PodSecurityLevel::Restricted =>
            {
                Some(RuleId::PodSecurityRestricted)
            }
            _ => None,
        }
    }

    fn pss_label(&self) -> String {
        match self.settings.pod_security {
            Some(ps) => format!(
                "Pod Security Standards {} {}",
                ps.level.as_str(),
                ps.version
            ),
            None => String::new(),
        }
    }

    /// Records a hit (once per rule and key), whatever the policy enables.
    fn push(&mut self, rule: RuleId, key: &str, at: &Node, message: String, fix: &str) {
        let key = format!("helm/{}/{key}", self.scope);
        if !self.seen.insert((rule, key.clone())) {
            return;
        }
        self.hits.push(Hit {
            rule,
            key,
            line: at.line,
            column: at.column,
            container: None,
            message,
            fix: fix.to_string(),
        });
    }

    /// What cannot be read is reported under the first enabled Helm rule.
    fn unreadable(&mut self, at: &Node, why: String) {
        let rule = HELM_RULES
            .iter()
            .copied()
            .find(|r| self.on(*r))
            .or_else(|| {
                self.settings
                    .pod_security
                    .map(|_| RuleId::PodSecurityBaseline)
            });
        if let Some(rule) = rule {
            self.push(
                rule,
                "unreadable",
                at,
                format!("{why}: the values cannot be judged {}", self.note),
                "make the values plain, unambiguous YAML (or --set syntax) that pushguard can judge",
            );
        }
    }

    /// A security field whose value is not in the object (a file, a ConfigMap key, a template).
    fn unknown(&mut self, rule: RuleId, path: &str, at: &Node, whence: &str) {
        self.hit(
            rule,
            format!("{path}=unknown"),
            at,
            format!(
                "`{path}` is set from {whence} {}: its value cannot be judged",
                self.note
            ),
            "set the value literally in the release's values, where it can be judged",
        );
    }

    // ---------------------------------------------------------------- Flux

    fn flux(&mut self, obj: &Object) {
        let Some(spec) = obj.root.get("spec") else {
            return;
        };
        self.scope = "spec".to_string();
        if let Some(values) = spec.get("values").filter(|v| !v.is_null()) {
            self.values(values, "spec.values");
        }
        for v in spec.get("valuesFrom").map(Node::as_seq).unwrap_or(&[]) {
            let Some(target) = v.get("targetPath") else {
                continue;
            };
            let kind = v.get("kind").and_then(Node::as_str).unwrap_or("?");
            let name = v.get("name").and_then(Node::as_str).unwrap_or("?");
            let line = target.as_str().unwrap_or("");
            match parse_set(&format!("{line}=x"), true) {
                Ok(assignments) => {
                    for a in assignments {
                        self.external_field(&a.path, target, &format!("{kind} `{name}`"));
                    }
                }
                Err(e) => {
                    self.unreadable(target, format!("valuesFrom targetPath `{line}`: {e}"));
                }
            }
        }
        for (i, pr) in spec
            .get("postRenderers")
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            if let Some(k) = pr.get("kustomize") {
                self.kustomize(obj, &format!("spec.postRenderers[{i}].kustomize"), k);
            }
        }
    }

    /// A `--set` path whose value comes from elsewhere: unknown when it names a security field.
    fn external_field(&mut self, path: &[SetSegment], at: &Node, whence: &str) {
        let keys: Vec<&str> = path
            .iter()
            .filter_map(|s| match s {
                SetSegment::Key(k) => Some(k.as_str()),
                SetSegment::Index(_) => None,
            })
            .collect();
        let Some(last) = keys.last() else {
            return;
        };
        let parent = keys.len().checked_sub(2).and_then(|i| keys.get(i)).copied();
        if let Some(rule) = field_rule(last, parent) {
            self.unknown(rule, &render(path, ""), at, whence);
        }
    }

    /// A Flux post-renderer's or an Argo CD source's `kustomize` (`label` says which): its
    /// patches become objects the rules check, as the inline patches of a kustomization file
    /// do; the new names of its `images` are checked as images.
    fn kustomize(&mut self, obj: &Object, label: &str, k: &Node) {
        let limits = Limits::default();
        let mut objects =
            match object::inline_patches(&obj.path, k, &limits, &mut LoadStats::default()) {
                Ok(v) => v,
                Err(e) => {
                    let (line, column) = e.position();
                    let at = Node {
                        value: Value::Null,
                        line,
                        column,
                    };
                    self.unreadable(&at, format!("{label} patch: {}", e.message()));
                    Vec::new()
                }
            };
        // Flux also takes patches as objects (patchesStrategicMerge) and operations as lists
        // (patchesJson6902[].patch), which a kustomization file holds as strings.
        let mut next = objects.len() + 1000;
        for p in k
            .get("patchesStrategicMerge")
            .map(Node::as_seq)
            .unwrap_or(&[])
        {
            if matches!(p.value, Value::Map(_)) {
                if let Err(e) =
                    object::push_object(&obj.path, p.clone(), &mut objects, 0, Some(next))
                {
                    self.unreadable(p, format!("{label} patch: {}", e.message()));
                }
                next += 1;
            }
        }
        for p in k.get("patchesJson6902").map(Node::as_seq).unwrap_or(&[]) {
            if let Some(ops) = p.get("patch").filter(|n| matches!(n.value, Value::Seq(_))) {
                objects.extend(object::json6902_object(
                    &obj.path,
                    next,
                    ops,
                    p.get("target"),
                ));
                next += 1;
            }
        }
        // JSON 6902 operations that move or copy a value out of the object they patch put
        // something pushguard does not see (a harmless field moved onto `hostNetwork`).
        for key in ["patches", "patchesJson6902"] {
            for p in k.get(key).map(Node::as_seq).unwrap_or(&[]) {
                let ops: Vec<Node> = match p.get("patch") {
                    Some(n) if matches!(n.value, Value::Seq(_)) => vec![n.clone()],
                    Some(n) => n
                        .as_str()
                        .and_then(|t| yaml::load(t.as_bytes(), &limits).ok())
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|d| matches!(d.value, Value::Seq(_)))
                        .collect(),
                    None => Vec::new(),
                };
                for o in &ops {
                    if let Some(why) = object::unseen_sources(o) {
                        self.unreadable(p, format!("{label} patch: {why}"));
                    }
                }
            }
        }
        for o in &objects {
            let name = o
                .root
                .path(&["metadata", "name"])
                .and_then(Node::as_str)
                .unwrap_or("");
            // A patch that moves what it targets into a protected namespace (Helm installs an
            // object where its metadata says).
            if let Some(ns) = o
                .root
                .path(&["metadata", "namespace"])
                .filter(|n| {
                    n.as_str().is_some_and(|ns| {
                        self.settings.protected_namespaces.iter().any(|p| p == ns)
                    })
                })
                .filter(|_| self.on(RuleId::ProtectedNamespaces))
            {
                let message = format!(
                    "{label} patch puts what it targets into the protected namespace `{}`",
                    ns.display()
                );
                self.push(
                    RuleId::ProtectedNamespaces,
                    &format!("{label}/namespace/{}", ns.display()),
                    ns,
                    message,
                    "leave the namespace alone, or have the change signed by the block's signers",
                );
            }
            for h in rules::check(o, self.settings) {
                let key = format!("{label}/{}/{name}/{}", o.kind(), h.key);
                let target = if name.is_empty() {
                    format!("every {} it targets", o.kind())
                } else {
                    format!("{} `{name}`", o.kind())
                };
                let mut message = format!("{label} patch of {target}: {}", h.message);
                if self.note == OUTSIDE_NOTE {
                    message.push_str(&format!(" ({OUTSIDE_NOTE})"));
                }
                let at = Node {
                    value: Value::Null,
                    line: h.line,
                    column: h.column,
                };
                // rules::check ran only the enabled rules: record what it found as it is.
                let before = self.hits.len();
                self.push(h.rule, &key, &at, message, &h.fix);
                if let Some(added) = self.hits.get_mut(before) {
                    added.container = h.container;
                }
            }
        }
        let path = format!("{label}.images");
        for img in k.get("images").map(Node::as_seq).unwrap_or(&[]) {
            // Argo CD: `name=newName:tag` (a bare `name:tag` only re-tags the chart's image).
            if let Some((_, new)) = img.as_str().and_then(|s| s.split_once('=')) {
                self.image(&path, new.trim(), img);
                continue;
            }
            let Some(new_name) = img.get("newName").filter(|n| n.as_str().is_some()) else {
                continue;
            };
            let mut reference = new_name.as_str().unwrap_or("").to_string();
            if let Some(t) = img.get("newTag").filter(|n| !n.is_null()) {
                reference.push_str(&format!(":{}", t.display()));
            }
            if let Some(d) = img.get("digest").and_then(Node::as_str) {
                reference.push_str(&format!("@{d}"));
            }
            self.image(&path, &reference, new_name);
        }
    }

    // ---------------------------------------------------------------- Argo CD

    fn argo(&mut self, obj: &Object) {
        let templated = obj.kind() == "ApplicationSet";
        for (scope, source) in argo_sources(obj) {
            self.scope = scope.clone();
            if let Some(k) = source.get("kustomize") {
                self.kustomize(obj, &format!("{scope}.kustomize"), k);
            }
            let Some(helm) = source.get("helm") else {
                continue;
            };
            let mut merged = Node {
                value: Value::Map(Vec::new()),
                line: helm.line,
                column: helm.column,
            };
            if let Some(v) = helm.get("values") {
                if v.as_str().is_some() {
                    match load_string(v, &Limits::default(), templated) {
                        Ok(docs) => {
                            for d in &docs {
                                self.values(d, &format!("{scope}.helm.values"));
                                merge(&mut merged, d, 0);
                            }
                        }
                        Err(e) => {
                            let (line, column) = e.position();
                            let at = Node {
                                value: Value::Null,
                                line,
                                column,
                            };
                            self.unreadable(&at, e.message().to_string());
                        }
                    }
                } else if !v.is_null() {
                    // Argo CD takes a mapping here too (older manifests).
                    self.values(v, &format!("{scope}.helm.values"));
                    merge(&mut merged, v, 0);
                }
            }
            if let Some(v) = helm.get("valuesObject").filter(|v| !v.is_null()) {
                self.values(v, &format!("{scope}.helm.valuesObject"));
                merge(&mut merged, v, 0);
            }
            let params = self.parameters(helm);
            if let Some(p) = &params {
                self.values(p, &format!("{scope}.helm.parameters"));
                merge(&mut merged, p, 0);
            }
            for f in helm.get("fileParameters").map(Node::as_seq).unwrap_or(&[]) {
                let name = f.get("name").and_then(Node::as_str).unwrap_or("");
                let file = f.get("path").and_then(Node::as_str).unwrap_or("?");
                let at = f.get("name").unwrap_or(f);
                match parse_set(&format!("{name}=x"), true) {
                    Ok(assignments) => {
                        for a in assignments {
                            self.external_field(&a.path, at, &format!("the file `{file}`"));
                        }
                    }
                    Err(e) => self.unreadable(at, format!("fileParameters name `{name}`: {e}")),
                }
            }
            // Registry and repository may come from different sources: judge them together.
            self.values(&merged, &format!("{scope}.helm (merged)"));
        }
    }

    /// `helm.parameters` as the values tree `--set`/`--set-string` builds, each value at the
    /// position of its parameter's `value`.
    fn parameters(&mut self, helm: &Node) -> Option<Node> {
        let params = helm.get("parameters").map(Node::as_seq).unwrap_or(&[]);
        if params.is_empty() {
            return None;
        }
        let mut root = Node {
            value: Value::Map(Vec::new()),
            line: helm.line,
            column: helm.column,
        };
        let mut cost = 0usize;
        for p in params {
            let name = p.get("name").and_then(Node::as_str).unwrap_or("");
            let value_node = p.get("value");
            let value = value_node.map(Node::display).unwrap_or_default();
            let force = p
                .get("forceString")
                .is_some_and(|n| matches!(read(n), Reading::True));
            // Argo CD escapes the value's commas (not a `{…}` list) and passes the name as is.
            let value = if value.starts_with('{') && value.ends_with('}') {
                value
            } else {
                escape_commas(&value)
            };
            let at = value_node.or(p.get("name")).unwrap_or(p);
            match parse_set(&format!("{name}={value}"), force) {
                Ok(assignments) => {
                    for a in assignments {
                        cost = cost.saturating_add(set_cost(&a));
                        if cost > MAX_SET_NODES {
                            self.unreadable(
                                p,
                                format!("helm parameters create more than {MAX_SET_NODES} values"),
                            );
                            return Some(root);
                        }
                        let leaf = Node {
                            value: position_items(a.value, at),
                            line: at.line,
                            column: at.column,
                        };
                        set_at(&mut root, &a.path, leaf, at);
                    }
                }
                Err(e) => self.unreadable(
                    p.get("name").unwrap_or(p),
                    format!("helm parameter `{name}`: {e}"),
                ),
            }
        }
        Some(root)
    }

    // ---------------------------------------------------------------- the values tree

    /// Walks one values tree; `source` names it in messages.
    fn values(&mut self, root: &Node, source: &str) {
        let global_registry = root
            .path(&["global", "imageRegistry"])
            .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()));
        let mut w = Walk {
            source,
            global_registry,
        };
        self.walk(&mut w, root, "", "", 0);
    }

    fn walk(&mut self, w: &mut Walk<'_>, node: &Node, path: &str, key: &str, depth: usize) {
        if depth > yaml::MAX_DEPTH_CAP {
            self.unreadable(node, format!("{} nests too deep", w.source));
            return;
        }
        match &node.value {
            Value::Map(entries) => {
                let parts = self.image_map(w, node, path, key);
                for (k, v) in entries {
                    let p = child_path(path, &k.name);
                    if !(parts && k.name == "image") {
                        self.field(w, &k.name, v, &p);
                    }
                    self.walk(w, v, &p, &k.name, depth + 1);
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk(w, item, &format!("{path}[{i}]"), key, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// The checks of one `key: value` of the values tree.
    fn field(&mut self, w: &Walk<'_>, key: &str, v: &Node, path: &str) {
        let reading = read(v);
        let shown = v.display();
        let src = w.source;
        let flag = |j: &mut Self, rule: RuleId, class: &str, what: &str, fix: &str| {
            j.hit(
                rule,
                format!("{path}={class}"),
                v,
                format!("{src} sets `{path}: {shown}` {}: {what}", j.note),
                fix,
            );
        };
        match key {
            "privileged" | "hostNetwork" | "hostPID" | "hostIPC" | "allowPrivilegeEscalation" => {
                let (rule, what) = match key {
                    "privileged" => (RuleId::Privileged, "a privileged container"),
                    "allowPrivilegeEscalation" => (
                        RuleId::PrivilegeEscalation,
                        "a container allowed to gain privileges",
                    ),
                    _ => (RuleId::HostNamespaces, "a pod sharing the node's namespace"),
                };
                match reading {
                    Reading::True => flag(
                        self,
                        rule,
                        "true",
                        what,
                        &format!("set `{path}` to false, or leave it to the chart's default"),
                    ),
                    Reading::Templated => self.unknown(rule, path, v, "a template"),
                    _ => {}
                }
            }
            "runAsUser" => match reading {
                Reading::Int(0) => flag(
                    self,
                    RuleId::RunAsRoot,
                    "0",
                    "a container running as root",
                    "set a non-zero runAsUser and runAsNonRoot: true",
                ),
                Reading::Templated => self.unknown(RuleId::RunAsRoot, path, v, "a template"),
                _ => {}
            },
            "runAsNonRoot" => match reading {
                Reading::False => flag(
                    self,
                    RuleId::RunAsRoot,
                    "false",
                    "a container allowed to run as root",
                    "set runAsNonRoot: true (and a non-zero runAsUser)",
                ),
                Reading::Templated => self.unknown(RuleId::RunAsRoot, path, v, "a template"),
                _ => {}
            },
            "capabilities" => {
                for (i, cap) in v
                    .get("add")
                    .map(Node::as_seq)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                {
                    let cap_path = format!("{path}.add[{i}]");
                    if matches!(read(cap), Reading::Templated) {
                        self.unknown(RuleId::DangerousCapabilities, &cap_path, cap, "a template");
                        continue;
                    }
                    let raw = cap.as_str().unwrap_or("");
                    self.pss_capability(src, &cap_path, raw, cap);
                    let upper = raw.trim().to_ascii_uppercase();
                    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
                    if rules::DANGEROUS_CAPS.contains(&bare) {
                        self.hit(
                            RuleId::DangerousCapabilities,
                            format!("{path}.add/{bare}"),
                            cap,
                            format!(
                                "{src} adds the capability {raw} at `{cap_path}` {}",
                                self.note
                            ),
                            "drop the capability from capabilities.add in the values",
                        );
                    }
                }
            }
            "hostPath" => self.host_path(w, v, path),
            "hostPort" => {
                let on = match (&v.value, &reading) {
                    (Value::Map(_), _) => v.get("enabled").map(read),
                    _ => Some(reading),
                };
                match on {
                    Some(Reading::True) => flag(
                        self,
                        RuleId::HostPorts,
                        "enabled",
                        "a container bound to a port of the node",
                        "remove the hostPort and expose the port through a Service",
                    ),
                    Some(Reading::Int(p)) if p != 0 => flag(
                        self,
                        RuleId::HostPorts,
                        &p.to_string(),
                        "a container bound to a port of the node",
                        "remove the hostPort and expose the port through a Service",
                    ),
                    Some(Reading::Templated) => {
                        self.unknown(RuleId::HostPorts, path, v, "a template")
                    }
                    _ => {}
                }
            }
            _ => self.image_field(w, key, v, path),
        }
    }

    /// The Capabilities control: baseline allows adding only its list (exact names), restricted
    /// only `NET_BIND_SERVICE`.
    fn pss_capability(&mut self, src: &str, path: &str, raw: &str, at: &Node) {
        let Some(ps) = self.settings.pod_security else {
            return;
        };
        let rule = if !crate::pod_security::BASELINE_CAPABILITIES.contains(&raw) {
            RuleId::PodSecurityBaseline
        } else if ps.level == PodSecurityLevel::Restricted && raw != "NET_BIND_SERVICE" {
            RuleId::PodSecurityRestricted
        } else {
            return;
        };
        let level = self.pss_label();
        self.push(
            rule,
            &format!("{path}/pss-cap/{raw}"),
            at,
            format!(
                "{src} adds the capability {raw} at `{path}` {} ({level}: Capabilities)",
                self.note
            ),
            "add only the capabilities the Pod Security Standards level allows",
        );
    }

    /// `hostPath: /x`, `hostPath: {path: /x}`, `hostPath: {enabled: true}`, `hostPath: true`.
    fn host_path(&mut self, w: &Walk<'_>, v: &Node, path: &str) {
        let src = w.source;
        let (target, at): (Option<&str>, &Node) = match &v.value {
            Value::Str(s) if s.starts_with('/') => (Some(s.as_str()), v),
            Value::Str(s) if s.contains("{{") => {
                self.unknown(RuleId::HostPath, path, v, "a template");
                return;
            }
            Value::Map(_) => {
                if v.get("enabled")
                    .is_some_and(|e| matches!(read(e), Reading::False))
                {
                    return;
                }
                match v.get("path") {
                    Some(p) if p.as_str().is_some_and(|s| !s.is_empty()) => (p.as_str(), p),
                    _ if v
                        .get("enabled")
                        .is_some_and(|e| matches!(read(e), Reading::True)) =>
                    {
                        (None, v)
                    }
                    _ => return,
                }
            }
            _ if matches!(read(v), Reading::True) => (None, v),
            _ => return,
        };
        let shown = target.unwrap_or("(the chart's default path)");
        self.hit(
            RuleId::HostPath,
            format!("{path}/hostPath/{}", target.unwrap_or("")),
            at,
            format!("{src} mounts hostPath `{shown}` at `{path}` {}", self.note),
            "use a PersistentVolumeClaim, emptyDir, ConfigMap or Secret volume instead of hostPath",
        );
        if let Some(t) = target.filter(|t| rules::is_sensitive(t)) {
            self.hit(
                RuleId::SensitiveHostMounts,
                format!("{path}/hostPath/{}", rules::normalize_path(t)),
                at,
                format!(
                    "{src} mounts the sensitive host path `{t}` at `{path}` {} (node takeover)",
                    self.note
                ),
                "do not mount node system paths or container runtime sockets into pods",
            );
        }
    }

    /// `image: reg/x:1`, `initImage: …` (a string under a key ending in `image`), and
    /// `imageRegistry: reg` (a registry for images the values do not name).
    fn image_field(&mut self, w: &Walk<'_>, key: &str, v: &Node, path: &str) {
        if !self.on(RuleId::ImageRegistries) {
            return;
        }
        let Some(s) = v.as_str().filter(|s| !s.trim().is_empty()) else {
            return;
        };
        let lower = key.to_ascii_lowercase();
        if lower.contains("image") && lower.ends_with("registry") {
            if matches!(read(v), Reading::Templated) {
                self.unknown(RuleId::ImageRegistries, path, v, "a template");
            } else {
                self.registry(w.source, path, s.trim(), v);
            }
        } else if lower.ends_with("image") {
            if matches!(read(v), Reading::Templated) {
                self.unknown(RuleId::ImageRegistries, path, v, "a template");
            } else {
                self.image(&format!("{} `{path}`", w.source), s.trim(), v);
            }
        }
    }

    /// An image given as parts: `{registry, repository, tag, digest}` (also `image` for the
    /// repository, as ingress-nginx does), with `global.imageRegistry` as an alternative
    /// registry (Bitnami's charts let it win). True when its `image` key was read as the
    /// repository (not an image reference of its own).
    fn image_map(&mut self, w: &Walk<'_>, m: &Node, path: &str, key: &str) -> bool {
        if !self.on(RuleId::ImageRegistries) {
            return false;
        }
        let text = |k: &str| {
            m.get(k)
                .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
        };
        let under_image = key.to_ascii_lowercase().contains("image");
        let has_parts = ["tag", "registry", "digest"]
            .iter()
            .any(|k| m.get(k).is_some());
        let repository = text("repository")
            .filter(|_| under_image || has_parts)
            // `repository: https://…` next to a `tag` is a Git or chart repository.
            .filter(|n| !n.as_str().unwrap_or("").contains("://"))
            .or_else(|| text("image").filter(|_| under_image && m.get("registry").is_some()));
        let registry = text("registry").filter(|_| under_image || repository.is_some());
        let image_is_repository = repository.is_some() && text("repository").is_none();
        let parts: Vec<&Node> = [repository, registry].into_iter().flatten().collect();
        if parts.iter().any(|n| matches!(read(n), Reading::Templated)) {
            for n in parts {
                self.unknown(RuleId::ImageRegistries, path, n, "a template");
            }
            return image_is_repository;
        }
        let Some(repo) = repository else {
            if let Some(r) = registry {
                let reg = r.as_str().unwrap_or("").trim();
                self.registry(w.source, &format!("{path}.registry"), reg, r);
            }
            return false;
        };
        let repo_s = repo.as_str().unwrap_or("").trim();
        let mut suffix = String::new();
        if let Some(t) = m
            .get("tag")
            .filter(|n| !n.is_null() && !n.display().is_empty())
        {
            suffix.push_str(&format!(":{}", t.display()));
        }
        if let Some(d) = text("digest") {
            suffix.push_str(&format!("@{}", d.display()));
        }
        let mut candidates: Vec<(String, &Node)> = Vec::new();
        if let Some(r) = registry {
            let reg = r.as_str().unwrap_or("").trim().trim_end_matches('/');
            candidates.push((format!("{reg}/{repo_s}{suffix}"), r));
        }
        if let Some(g) = w.global_registry {
            let reg = g.as_str().unwrap_or("").trim().trim_end_matches('/');
            candidates.push((format!("{reg}/{repo_s}{suffix}"), g));
        }
        if candidates.is_empty() {
            candidates.push((format!("{repo_s}{suffix}"), repo));
        }
        for (reference, at) in candidates {
            self.image(&format!("{} `{path}`", w.source), &reference, at);
        }
        image_is_repository
    }

    /// `image-registries` for one image reference, as the pod rule checks a container image.
    fn image(&mut self, whence: &str, reference: &str, at: &Node) {
        let parsed = rules::parse_image(reference);
        let allowed = self.settings.image_registries.iter().any(|p| {
            rules::prefix_allows(p, reference) || rules::prefix_allows(p, &parsed.full_name)
        });
        if !allowed {
            self.hit(
                RuleId::ImageRegistries,
                format!("image/{}", parsed.full_name),
                at,
                format!(
                    "{whence} uses image `{reference}` from `{}` {}, which is not in image_registries",
                    parsed.full_name, self.note
                ),
                "use an image from an allowed registry, or add the registry to image_registries",
            );
        }
    }

    /// A registry alone: allowed when a prefix allows every image under it.
    fn registry(&mut self, source: &str, path: &str, registry: &str, at: &Node) {
        let under = format!("{}/", registry.trim_end_matches('/'));
        let allowed = self
            .settings
            .image_registries
            .iter()
            .any(|p| rules::prefix_allows(p, &under));
        if !allowed {
            self.hit(
                RuleId::ImageRegistries,
                format!("registry/{under}"),
                at,
                format!(
                    "{source} sets `{path}: {registry}` {}: the chart's images would come from `{registry}`, which image_registries does not allow as a whole",
                    self.note
                ),
                "use a registry that image_registries allows, or add it (reviewed change of the policy)",
            );
        }
    }
}

struct Walk<'a> {
    source: &'a str,
    global_registry: Option<&'a Node>,
}

/// The rule a values field belongs to, by its key (and its parent's, for `capabilities.add`).
fn field_rule(last: &str, parent: Option<&str>) -> Option<RuleId> {
    let lower = last.to_ascii_lowercase();
    Some(match last {
        "privileged" => RuleId::Privileged,
        "hostNetwork" | "hostPID" | "hostIPC" => RuleId::HostNamespaces,
        "allowPrivilegeEscalation" => RuleId::PrivilegeEscalation,
        "runAsUser" | "runAsNonRoot" => RuleId::RunAsRoot,
        "capabilities" => RuleId::DangerousCapabilities,
        "add" if parent == Some("capabilities") => RuleId::DangerousCapabilities,
        "hostPath" => RuleId::HostPath,
        "path" if parent == Some("hostPath") => RuleId::HostPath,
        "hostPort" => RuleId::HostPorts,
        "repository" => RuleId::ImageRegistries,
        _ if (lower.contains("image") || lower.contains("registry")) && !lower.contains("pull") => {
            RuleId::ImageRegistries
        }
        _ => return None,
    })
}

/// An upper bound of the nodes an assignment adds to a tree.
fn set_cost(a: &SetAssignment) -> usize {
    let indexes: usize = a
        .path
        .iter()
        .map(|s| match s {
            SetSegment::Index(i) => i.saturating_add(1),
            SetSegment::Key(_) => 1,
        })
        .fold(0, usize::saturating_add);
    let items = match &a.value {
        Value::Seq(items) => items.len(),
        _ => 1,
    };
    indexes.saturating_add(items)
}

/// The items of a `{a,b}` list at `at`'s position.
fn position_items(value: Value, at: &Node) -> Value {
    match value {
        Value::Seq(items) => Value::Seq(
            items
                .into_iter()
                .map(|n| Node {
                    value: n.value,
                    line: at.line,
                    column: at.column,
                })
                .collect(),
        ),
        other => other,
    }
}

/// Argo CD's escaping of a parameter value: a `,` not preceded by `\` becomes `\,`.
fn escape_commas(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut prev = None;
    for c in value.chars() {
        if c == ',' && prev != Some('\\') {
            out.push_str("\\,");
        } else {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// The sources of an Application (`spec.source`, `spec.sources[i]`) or of an ApplicationSet's
/// template (`spec.template.spec…`) and of its generators' templates.
fn argo_sources(obj: &Object) -> Vec<(String, &Node)> {
    let mut specs: Vec<(String, &Node)> = Vec::new();
    if !is_argo(obj) {
        return Vec::new();
    }
    let root = &obj.root;
    if obj.kind() == "Application" {
        if let Some(spec) = root.get("spec") {
            specs.push(("spec".to_string(), spec));
        }
    } else {
        if let Some(spec) = root.path(&["spec", "template", "spec"]) {
            specs.push(("spec.template.spec".to_string(), spec));
        }
        if let Some(g) = root.path(&["spec", "generators"]) {
            generator_templates(g, "spec.generators", &mut specs, 0);
        }
    }
    let mut out = Vec::new();
    for (p, spec) in specs {
        if let Some(s) = spec.get("source") {
            out.push((format!("{p}.source"), s));
        }
        for (i, s) in spec
            .get("sources")
            .map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            out.push((format!("{p}.sources[{i}]"), s));
        }
    }
    out
}

/// `template.spec` of every generator (matrix and merge generators nest them).
fn generator_templates<'a>(
    node: &'a Node,
    path: &str,
    out: &mut Vec<(String, &'a Node)>,
    depth: usize,
) {
    if depth > yaml::MAX_DEPTH_CAP {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                let p = format!("{path}.{}", k.name);
                if k.name == "template" {
                    if let Some(spec) = v.get("spec") {
                        out.push((format!("{p}.spec"), spec));
                    }
                } else {
                    generator_templates(v, &p, out, depth + 1);
                }
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                generator_templates(item, &format!("{path}[{i}]"), out, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(line: &str) -> Vec<(Vec<SetSegment>, String)> {
        parse_set(line, false)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .into_iter()
            .map(|a| (a.path, format!("{:?}", a.value)))
            .collect()
    }

    fn k(s: &str) -> SetSegment {
        SetSegment::Key(s.to_string())
    }

    #[test]
    fn set_lines_parse_like_helm() {
        assert_eq!(
            keys("a.b=true"),
            [(vec![k("a"), k("b")], "Bool(true)".to_string())]
        );
        assert_eq!(
            keys(r"a\.b.c=TRUE,d[1].e=0"),
            [
                (vec![k("a.b"), k("c")], "Bool(true)".to_string()),
                (
                    vec![k("d"), SetSegment::Index(1), k("e")],
                    "Int(0)".to_string()
                ),
            ]
        );
        assert_eq!(keys("a=007"), [(vec![k("a")], "Str(\"007\")".to_string())]);
        assert_eq!(keys(r"a=x\,y").len(), 1);
        assert_eq!(keys("a={1,b}").len(), 1);
        assert_eq!(keys("a[0][1]=x").len(), 1);
        assert!(matches!(parse_set("a", false), Err(SetError::NoValue(_))));
        assert!(matches!(
            parse_set("a,b=1", false),
            Err(SetError::NoValue(_))
        ));
        assert!(matches!(
            parse_set("a[99999]=1", false),
            Err(SetError::BadIndex(_))
        ));
        assert!(matches!(
            parse_set("a[0]x=1", false),
            Err(SetError::AfterIndex(_))
        ));
        assert!(matches!(
            parse_set("a={1", false),
            Err(SetError::UnterminatedList)
        ));
        assert!(matches!(
            parse_set("a..b=1", false),
            Err(SetError::EmptyKey(_))
        ));
        let forced = parse_set("a=true", true).unwrap_or_default();
        assert!(matches!(
            forced.first().map(|a| &a.value),
            Some(Value::Str(_))
        ));
    }

    #[test]
    fn templates_are_masked_in_place() {
        let masked = mask_templates("a: {{ .x }}\nb: 1");
        assert_eq!(masked.chars().count(), "a: {{ .x }}\nb: 1".chars().count());
        assert!(masked.ends_with("\nb: 1"));
        assert!(!masked.contains('{'));
        assert_eq!(mask_templates("a: {{ open"), "a: {{ open");
    }

    #[test]
    fn argo_escapes_commas_it_did_not_see_escaped() {
        assert_eq!(escape_commas(r"a,b\,c"), r"a\,b\,c");
    }
}
