//! What Argo CD applies for an `Application`: each source with a path in this repository,
//! rendered as Argo CD's repo-server renders it.
//!
//! Semantics follow `argoproj/argo-cd` (`reposerver/repository`, `util/kustomize`,
//! `util/app/discovery`):
//! - `.argocd-source.yaml`, then `.argocd-source-<app name>.yaml`, in the source path are
//!   merged over the source as `mergeSourceParameters` (`reposerver/repository/repository.go`)
//!   does it: the source is marshalled to JSON, the file (YAML to JSON) is applied as a JSON
//!   merge patch (evanphx/json-patch: keys compared exactly, lists replaced, `null` members
//!   dropped), and the result is `json.Unmarshal`ed back *into the same struct*. So field names
//!   match as Go's `encoding/json` matches them, case-insensitively (`Kustomize`, `\u212Austomize`
//!   with a Kelvin sign and `Kuſtomize` with a long s all set `kustomize`), `null` never removes
//!   anything, and a list is decoded element by element into the elements already there (Go
//!   keeps the fields an element does not set, and the elements a shorter list dropped stay in
//!   the slice's backing array for the next file). See `Overrides`. Two names for one field
//!   in one mapping (or one in the file for a field the Application sets) are refused: Argo CD
//!   decodes both into it, one over the other.
//!   `.argocd-source-<namespace>_<app name>.yaml` (what Argo CD reads for an Application outside
//!   its own namespace) is refused: pushguard does not know Argo CD's namespace.
//! - The Application itself goes through the Kubernetes API server (a CRD with a structural
//!   schema): its keys are matched exactly and unknown ones pruned, so pushguard reads its
//!   fields by their exact names.
//! - The source type is the one the source names (`kustomize`, `helm`, `directory`,
//!   `plugin`), else discovered: `Chart.yaml` is helm, a kustomization is kustomize, anything
//!   else a plain directory.
//! - kustomize: `kustomize build` after Argo CD's `kustomize edit` overrides, which land in
//!   the root kustomization: `namePrefix`, `nameSuffix`, `namespace` (set), `images` (set by
//!   name, `name=newName:tag` / `name:tag` / `name@digest`), `commonLabels` (merged, or a
//!   `labels` entry without selectors with `labelWithoutSelector`), `commonAnnotations`
//!   (merged), `replicas` (set by name), `patches` and `components` (appended).
//! - directory (`findManifests`): `*.yaml`, `*.yml`, `*.json` files, or every file with
//!   `directory.disableExtensionFilter` (recursively with `directory.recurse`, hidden files and
//!   directories included, submodules checked out), filtered by `directory.include` / `exclude`
//!   globs over the path relative to the source path; a file holding
//!   `+argocd:skip-file-rendering` is skipped. Argo CD decodes a file document by document and
//!   ignores it only when the first document is not an object (no `kind`) and the bytes lack
//!   one of `apiVersion:`, `kind:`, `metadata:`. pushguard's loader is stricter than Argo CD's
//!   (repeated keys, merge keys, encodings), so a file it cannot load is ignored only when the
//!   first document it can read is not an object and the bytes fail that test; any other is a
//!   problem (CI-looking names such as `.gitlab-ci.yml` included: Argo CD reads them).
//! - Namespaced objects without a namespace get `spec.destination.namespace`.
//!
//! Helm charts, plugins and jsonnet are not rendered: each is a `manifest-render` problem
//! (chart values are judged as files of their own).

use std::collections::HashMap;
use std::sync::Arc;

use super::kustomize::{
    build_root, components_field, finalize, find_kustomization, marked_patches, rendered, Overlay,
    OverlayOp, RootKustomization,
};
use super::nodes::{entry, get_mut, map_node, set, set_meta_str, str_node, string_map};
use super::resources::{problem, resources_of, Ctx, Res, MAX_DEPTH};
use super::transform::is_cluster_scoped;
use super::tree::{join, join_relative, Resolved, Tree, TreeError};
use super::Rendered;
use crate::object::Origin;
use crate::yaml::{Key, Limits, Node, Value};

const SKIP_MARKER: &str = "+argocd:skip-file-rendering";
const HELM_FIX: &str = "chart templates are not rendered; values are judged separately";

/// What Argo CD applies for the Application `app`, read from `file`.
pub fn argo_application(
    tree: &Tree,
    app: &Node,
    file: &str,
    limits: &Limits,
) -> Result<Rendered, TreeError> {
    let mut ctx = Ctx::new(tree, limits);
    let name = app
        .path(&["metadata", "name"])
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let namespace = app
        .path(&["metadata", "namespace"])
        .and_then(Node::as_str)
        .unwrap_or("");
    let root = Arc::new(Origin {
        root: format!("Argo CD Application {namespace}/{name} ({file})"),
        changed_by: Vec::new(),
    });
    let empty = map_node(app.line, app.column);
    let spec = app.get("spec").unwrap_or(&empty);
    let dest_ns = spec
        .path(&["destination", "namespace"])
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let sources: Vec<&Node> = match spec.get("sources").map(Node::as_seq) {
        Some(list) if !list.is_empty() => list.iter().collect(),
        _ => spec.get("source").into_iter().collect(),
    };
    if sources.is_empty() {
        ctx.problem(
            file,
            spec,
            "an Application without a source",
            "add spec.source",
        );
    }
    let mut all: Vec<Res> = Vec::new();
    for source in sources {
        let mut out = render_source(&mut ctx, source, file, &name)?;
        for r in out.iter_mut() {
            let id = r.cur();
            if id.namespace.is_empty()
                && !dest_ns.is_empty()
                && !cluster_scoped_in_cluster(&id.group, &id.kind)
            {
                set_meta_str(&mut r.node, "namespace", &dest_ns);
            }
        }
        all.extend(out);
    }
    let mut out = rendered(ctx, all, &root);
    sync_hooks(&mut out);
    Ok(out)
}

/// gitops-engine splits hooks from what it syncs and prunes (`splitHooks` in `Reconcile`): an
/// object annotated `argocd.argoproj.io/hook: Skip` is not applied at all, and any other
/// `argocd.argoproj.io/hook` or `helm.sh/hook` object is a hook, created at its phase and not
/// tracked as a resource. So an object that becomes a hook is pruned as the resource it was:
/// a hook keeps its judging under another identity (it still runs), and a skipped object is
/// left out.
fn sync_hooks(out: &mut Rendered) {
    let annotation = |o: &crate::object::Object, key: &str| {
        o.root
            .path(&["metadata", "annotations", key])
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    out.objects.retain(|o| {
        annotation(o, "argocd.argoproj.io/hook")
            .is_none_or(|h| !h.split(',').any(|p| p.trim() == "Skip"))
    });
    for o in out.objects.iter_mut() {
        let argo = annotation(o, "argocd.argoproj.io/hook").filter(|h| !h.trim().is_empty());
        let helm = annotation(o, "helm.sh/hook").filter(|h| h.trim() != "crd-install");
        if argo.is_some() || helm.is_some() {
            o.identity.name = format!("{} [Argo CD sync hook]", o.identity.name);
        }
    }
}

/// Cluster-scoped kinds as the API server knows them (Argo CD asks the cluster), beyond the
/// ones kustomize knows.
fn cluster_scoped_in_cluster(group: &str, kind: &str) -> bool {
    const MORE: &[(&str, &str)] = &[
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        (
            "admissionregistration.k8s.io",
            "ValidatingAdmissionPolicyBinding",
        ),
        ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
        (
            "admissionregistration.k8s.io",
            "MutatingAdmissionPolicyBinding",
        ),
        ("authentication.k8s.io", "TokenReview"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("internal.apiserver.k8s.io", "StorageVersion"),
        ("storagemigration.k8s.io", "StorageVersionMigration"),
    ];
    is_cluster_scoped(group, kind) || MORE.iter().any(|(g, k)| *g == group && *k == kind)
}

fn render_source(
    ctx: &mut Ctx<'_, '_>,
    source: &Node,
    file: &str,
    app_name: &str,
) -> Result<Vec<Res>, TreeError> {
    if source.get("chart").is_some_and(|c| !c.is_null()) {
        ctx.problem(
            file,
            source,
            "a helm chart source: chart templates are not rendered",
            HELM_FIX,
        );
        return Ok(Vec::new());
    }
    let Some(path_node) = source.get("path").filter(|p| !p.is_null()) else {
        if source.get("ref").is_some() {
            // A values-only source (`ref:`): nothing of its own is applied.
            return Ok(Vec::new());
        }
        ctx.problem(
            file,
            source,
            "a source without a path",
            "add spec.source.path",
        );
        return Ok(Vec::new());
    };
    let path = path_node.as_str().unwrap_or("");
    let Some(dir) = join_relative("", path) else {
        ctx.problem(
            file,
            path_node,
            format!("source path `{path}` leads out of the repository"),
            "use a path inside the repository",
        );
        return Ok(Vec::new());
    };
    let real = match ctx.tree.resolve(&dir)? {
        Resolved::Dir(real) => real,
        other => {
            ctx.unreachable(&other, &dir, file, path_node);
            return Ok(Vec::new());
        }
    };
    // Override files, decoded over the source as Argo CD decodes them (see `Overrides`). The
    // source itself is read with exact key names: the Application reaches Argo CD through the
    // API server, whose structural CRD schema matches keys exactly and prunes unknown ones
    // (`Kustomize:` in an Application is dropped, not read as `kustomize`).
    let mut src = source.clone();
    let mut override_files = Vec::new();
    let mut names = vec![".argocd-source.yaml".to_string()];
    if !app_name.is_empty() {
        names.push(format!(".argocd-source-{app_name}.yaml"));
    }
    let mut stale = HashMap::new();
    for name in names {
        let p = join(&real, &name);
        match ctx.tree.resolve(&p)? {
            Resolved::File(_) => {}
            // Argo CD's `os.Stat` and `os.ReadFile` follow the link (or fail on a loop).
            other @ (Resolved::Outside { .. } | Resolved::Loop(_)) => {
                ctx.unreachable(&other, &p, file, path_node);
                continue;
            }
            // Missing, a directory or a submodule: Argo CD goes on without it.
            _ => continue,
        }
        let Some(bytes) = ctx.tree.read(&p)? else {
            continue;
        };
        // A file the loader refuses stays a problem: Argo CD's reader may accept it.
        let Some(docs) = ctx.load_docs(&p, &bytes) else {
            continue;
        };
        // sigs.k8s.io/yaml's YAMLToJSON reads the first document only.
        if let Some(doc) = docs.into_iter().next() {
            Overrides {
                ctx: &mut *ctx,
                file: &p,
                stale: &mut stale,
            }
            .file(&mut src, &doc);
            override_files.push(p);
        }
    }
    instance_overrides(ctx, &real, app_name)?;
    let present = |k: &str| src.get(k).is_some_and(|n| !n.is_null());
    if present("plugin") {
        ctx.problem(
            file,
            source,
            "a config-management-plugin source: its output is not rendered",
            "render the manifests into the repository",
        );
        return Ok(Vec::new());
    }
    let explicit = ["helm", "kustomize", "directory"]
        .iter()
        .filter(|k| present(k))
        .count();
    let has_chart = matches!(
        ctx.tree.resolve(&join(&real, "Chart.yaml"))?,
        Resolved::File(_)
    );
    let has_kustomization = !find_kustomization(ctx, &real)?.is_empty();
    let is_helm = present("helm") || (explicit == 0 && has_chart);
    let is_kustomize = present("kustomize") || (explicit == 0 && !has_chart && has_kustomization);
    let mut out = if is_helm {
        ctx.problem(
            file,
            path_node,
            format!("`{dir}` is a helm chart: chart templates are not rendered"),
            HELM_FIX,
        );
        Vec::new()
    } else if is_kustomize {
        if !has_kustomization {
            ctx.problem(
                file,
                path_node,
                format!("`{dir}` has kustomize overrides but no kustomization: Argo CD fails"),
                "add a kustomization",
            );
            return Ok(Vec::new());
        }
        let overlay = overlay_of(ctx, src.get("kustomize"), file, &real)?;
        let mut res = build_root(ctx, &real, RootKustomization::Find, &overlay)?;
        finalize(ctx, &mut res, file);
        res
    } else {
        directory(ctx, &real, src.get("directory"), file, path_node)?
    };
    for r in out.iter_mut() {
        for f in &override_files {
            r.changed(f);
        }
    }
    Ok(out)
}

/// RFC 7386 JSON merge patch: what a `runtime.RawExtension` (helm `valuesObject`) ends up
/// holding after Argo CD merges an override file over it.
fn merge_patch(target: &mut Node, patch: &Node, depth: usize) {
    if depth > crate::yaml::MAX_DEPTH_CAP {
        return;
    }
    let Value::Map(entries) = &patch.value else {
        *target = patch.clone();
        return;
    };
    if !matches!(target.value, Value::Map(_)) {
        target.value = Value::Map(Vec::new());
    }
    for (k, v) in entries {
        if v.is_null() {
            super::nodes::remove(target, &k.name);
            continue;
        }
        match get_mut(target, &k.name) {
            Some(slot) => merge_patch(slot, v, depth + 1),
            None => {
                let mut fresh = Node {
                    value: Value::Null,
                    line: v.line,
                    column: v.column,
                };
                merge_patch(&mut fresh, v, depth + 1);
                set(target, &k.name, fresh);
            }
        }
    }
}

/// The Go type of an `ApplicationSource` field (argo-cd `pkg/apis/application/v1alpha1/
/// types.go`), as far as `encoding/json` decoding into it goes.
#[derive(Debug)]
enum Ty {
    /// `string`.
    Str,
    /// `bool`.
    Bool,
    /// `intstr.IntOrString` (a number or a string).
    IntOrStr,
    /// `*runtime.RawExtension` (helm `valuesObject`): what the merge patch left, kept as is.
    Raw,
    /// A struct or a pointer to one: object members matched to fields by name (exact match
    /// first, else case-insensitive), decoded into the value already there.
    Struct(&'static [Field]),
    /// A slice: element `i` decoded into the element already at `i`.
    List(&'static Ty),
    /// `map[string]T`: entries added to the map already there (none removed).
    Map(&'static Ty),
}

/// A field with its JSON name (the `json:` tag; embedded structs without a name promoted).
#[derive(Debug)]
struct Field {
    name: &'static str,
    ty: Ty,
}

const fn field(name: &'static str, ty: Ty) -> Field {
    Field { name, ty }
}

/// `ApplicationSource`: every field, so that a name is "unknown" (ignored, as `encoding/json`
/// ignores it) only when Argo CD has no such field either.
const SOURCE: &[Field] = &[
    field("repoURL", Ty::Str),
    field("path", Ty::Str),
    field("targetRevision", Ty::Str),
    field("helm", Ty::Struct(HELM)),
    field("kustomize", Ty::Struct(KUSTOMIZE)),
    field("directory", Ty::Struct(DIRECTORY)),
    field("plugin", Ty::Struct(PLUGIN)),
    field("chart", Ty::Str),
    field("ref", Ty::Str),
    field("name", Ty::Str),
    field("tagPrefix", Ty::Str),
];

const HELM: &[Field] = &[
    field("valueFiles", Ty::List(&Ty::Str)),
    field("parameters", Ty::List(&Ty::Struct(HELM_PARAMETER))),
    field("releaseName", Ty::Str),
    field("values", Ty::Str),
    field("fileParameters", Ty::List(&Ty::Struct(HELM_FILE_PARAMETER))),
    field("version", Ty::Str),
    field("passCredentials", Ty::Bool),
    field("ignoreMissingValueFiles", Ty::Bool),
    field("skipCrds", Ty::Bool),
    field("valuesObject", Ty::Raw),
    field("namespace", Ty::Str),
    field("kubeVersion", Ty::Str),
    field("apiVersions", Ty::List(&Ty::Str)),
    field("skipTests", Ty::Bool),
    field("skipSchemaValidation", Ty::Bool),
];

const HELM_PARAMETER: &[Field] = &[
    field("name", Ty::Str),
    field("value", Ty::Str),
    field("forceString", Ty::Bool),
];

const HELM_FILE_PARAMETER: &[Field] = &[field("name", Ty::Str), field("path", Ty::Str)];

const KUSTOMIZE: &[Field] = &[
    field("namePrefix", Ty::Str),
    field("nameSuffix", Ty::Str),
    field("images", Ty::List(&Ty::Str)),
    field("commonLabels", Ty::Map(&Ty::Str)),
    field("version", Ty::Str),
    field("commonAnnotations", Ty::Map(&Ty::Str)),
    field("forceCommonLabels", Ty::Bool),
    field("forceCommonAnnotations", Ty::Bool),
    field("namespace", Ty::Str),
    field("commonAnnotationsEnvsubst", Ty::Bool),
    field("replicas", Ty::List(&Ty::Struct(KUSTOMIZE_REPLICA))),
    field("patches", Ty::List(&Ty::Struct(KUSTOMIZE_PATCH))),
    field("components", Ty::List(&Ty::Str)),
    field("ignoreMissingComponents", Ty::Bool),
    field("labelWithoutSelector", Ty::Bool),
    field("kubeVersion", Ty::Str),
    field("apiVersions", Ty::List(&Ty::Str)),
    field("labelIncludeTemplates", Ty::Bool),
];

const KUSTOMIZE_REPLICA: &[Field] = &[field("name", Ty::Str), field("count", Ty::IntOrStr)];

const KUSTOMIZE_PATCH: &[Field] = &[
    field("path", Ty::Str),
    field("patch", Ty::Str),
    field("target", Ty::Struct(KUSTOMIZE_SELECTOR)),
    field("options", Ty::Map(&Ty::Bool)),
];

/// `KustomizeSelector`, with `KustomizeResId` and `KustomizeGvk` (embedded, no JSON name)
/// promoted.
const KUSTOMIZE_SELECTOR: &[Field] = &[
    field("group", Ty::Str),
    field("version", Ty::Str),
    field("kind", Ty::Str),
    field("name", Ty::Str),
    field("namespace", Ty::Str),
    field("annotationSelector", Ty::Str),
    field("labelSelector", Ty::Str),
];

const DIRECTORY: &[Field] = &[
    field("recurse", Ty::Bool),
    field("jsonnet", Ty::Struct(JSONNET)),
    field("exclude", Ty::Str),
    field("include", Ty::Str),
    field("disableExtensionFilter", Ty::Bool),
];

const JSONNET: &[Field] = &[
    field("extVars", Ty::List(&Ty::Struct(JSONNET_VAR))),
    field("tlas", Ty::List(&Ty::Struct(JSONNET_VAR))),
    field("libs", Ty::List(&Ty::Str)),
];

const JSONNET_VAR: &[Field] = &[
    field("name", Ty::Str),
    field("value", Ty::Str),
    field("code", Ty::Bool),
];

/// `ApplicationSourcePlugin` (`Env` is embedded under the JSON name `env`).
const PLUGIN: &[Field] = &[
    field("name", Ty::Str),
    field("env", Ty::List(&Ty::Struct(PLUGIN_ENV))),
    field("parameters", Ty::List(&Ty::Struct(PLUGIN_PARAMETER))),
];

const PLUGIN_ENV: &[Field] = &[field("name", Ty::Str), field("value", Ty::Str)];

/// `ApplicationSourcePluginParameter`, with `OptionalMap` and `OptionalArray` (embedded, no
/// JSON name) promoted.
const PLUGIN_PARAMETER: &[Field] = &[
    field("name", Ty::Str),
    field("string", Ty::Str),
    field("map", Ty::Map(&Ty::Str)),
    field("array", Ty::List(&Ty::Str)),
];

/// A JSON object member name as Go's `encoding/json` compares it with field names when no
/// field has exactly that name (`foldName` in `encoding/json/fold.go`, the same in the
/// json/v2-based implementation with v1 options: case folded, `-` and `_` kept): ASCII letters
/// upper-cased, any other rune replaced by the smallest rune of its `unicode.SimpleFold`
/// orbit. The only non-ASCII runes whose orbit holds an ASCII letter are U+212A KELVIN SIGN
/// (`K`) and U+017F LATIN SMALL LETTER LONG S (`S`) (Go's `unicode.caseOrbit`; dotted and
/// dotless i, U+0130 and U+0131, fold to themselves), and every field name is ASCII, so any
/// other rune is kept: a name holding one matches no field.
fn fold_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            '\u{212A}' => 'K',
            '\u{17F}' => 'S',
            other => other,
        })
        .collect()
}

/// The field a JSON member name sets, as `encoding/json` picks it: the field with exactly that
/// name, else the one whose name folds alike. None for a name Argo CD ignores.
fn field_named<'f>(fields: &'f [Field], name: &str) -> Option<&'f Field> {
    fields.iter().find(|f| f.name == name).or_else(|| {
        let folded = fold_name(name);
        fields.iter().find(|f| fold_name(f.name) == folded)
    })
}

const OVERRIDE_FIX: &str =
    "write each field once, with its exact name (`kustomize`, `images`, `namePrefix`, ...)";

/// Decodes override files over a source the way Argo CD's `mergeSourceParameters` does:
/// `json.Unmarshal(MergePatch(json.Marshal(merged), yamlToJSON(file)), &merged)`.
///
/// The merge patch compares member names exactly, so `Kustomize` lands next to `kustomize`;
/// `json.Unmarshal` then matches both to the field `kustomize` and decodes one after the other
/// into it, in key order. Decoding goes *into* the value already there: a member the JSON does
/// not hold keeps its value, so a `null` (the merge patch drops it) removes nothing, a map
/// keeps its entries, and a list element keeps the fields the new element does not set. A
/// slice shortened by one file keeps the dropped elements in its backing array, and a later
/// file that lengthens it again decodes into them (`stale`). A value of the wrong JSON type
/// makes Argo CD fail the render: a problem here too.
struct Overrides<'c, 't, 'a> {
    ctx: &'c mut Ctx<'t, 'a>,
    /// The override file.
    file: &'c str,
    /// Elements past a slice's length still in its backing array, by field path.
    stale: &'c mut HashMap<String, Vec<Node>>,
}

impl Overrides<'_, '_, '_> {
    /// One override file's first document, decoded over `src`.
    fn file(&mut self, src: &mut Node, doc: &Node) {
        if !matches!(doc.value, Value::Map(_)) {
            self.ctx.problem(
                self.file,
                doc,
                "an override file that is not a mapping: Argo CD fails to merge it",
                "write the overrides as a mapping of Application source fields",
            );
            return;
        }
        self.decode(src, doc, &Ty::Struct(SOURCE), "", true);
    }

    fn mistyped(&mut self, at: &Node, path: &str, want: &str) {
        self.ctx.problem(
            self.file,
            at,
            format!("`{path}` must be {want}: Argo CD fails to decode this override file"),
            "give the field the type it has in an Argo CD Application source",
        );
    }

    /// Decodes `patch` into `target` (of type `ty`, at `path`). `merged`: `target`'s JSON is
    /// what the merge patch merged the file's mapping with, so a member of another spelling
    /// of one of its fields sits next to it in the JSON that is decoded.
    fn decode(&mut self, target: &mut Node, patch: &Node, ty: &Ty, path: &str, merged: bool) {
        // JSON null into a non-pointer is a no-op; the merge patch already dropped null
        // members, and a null list element leaves the element where it lands.
        if patch.is_null() {
            return;
        }
        match ty {
            Ty::Str => match patch.value {
                Value::Str(_) => *target = patch.clone(),
                _ => self.mistyped(patch, path, "a string"),
            },
            Ty::Bool => match patch.value {
                Value::Bool(_) => *target = patch.clone(),
                _ => self.mistyped(patch, path, "true or false"),
            },
            Ty::IntOrStr => match patch.value {
                Value::Str(_) | Value::Int(_) => *target = patch.clone(),
                Value::Float(f) if f.fract() == 0.0 => *target = patch.clone(),
                _ => self.mistyped(patch, path, "a number or a string"),
            },
            // Merged with the JSON already there only when the merge patch saw it.
            Ty::Raw => {
                if !merged {
                    target.value = Value::Null;
                }
                merge_patch(target, patch, 0);
            }
            Ty::Map(value) => {
                let Value::Map(entries) = &patch.value else {
                    return self.mistyped(patch, path, "a mapping");
                };
                if !matches!(target.value, Value::Map(_)) {
                    *target = map_node(patch.line, patch.column);
                }
                for (k, v) in entries {
                    let mut slot = target.get(&k.name).cloned().unwrap_or(Node {
                        value: Value::Null,
                        line: v.line,
                        column: v.column,
                    });
                    self.decode(&mut slot, v, value, &format!("{path}.{}", k.name), false);
                    if !slot.is_null() {
                        set(target, &k.name, slot);
                    }
                }
            }
            Ty::Struct(fields) => {
                let Value::Map(entries) = &patch.value else {
                    return self.mistyped(patch, path, "a mapping");
                };
                if !matches!(target.value, Value::Map(_)) {
                    *target = map_node(patch.line, patch.column);
                }
                let mut seen: Vec<(&'static str, &Key)> = Vec::new();
                for (k, v) in entries {
                    if v.is_null() {
                        continue;
                    }
                    let Some(f) = field_named(fields, &k.name) else {
                        continue;
                    };
                    let sub = if path.is_empty() {
                        f.name.to_string()
                    } else {
                        format!("{path}.{}", f.name)
                    };
                    let at = Node {
                        value: Value::Null,
                        line: k.line,
                        column: k.column,
                    };
                    if let Some((_, first)) = seen.iter().find(|(name, _)| *name == f.name) {
                        let message = format!(
                            "`{}` and `{}` (line {}) both set `{sub}`: Argo CD matches these field names case-insensitively, like Go's encoding/json, and decodes both, one over the other",
                            k.name, first.name, first.line
                        );
                        self.ctx.problem(self.file, &at, message, OVERRIDE_FIX);
                        continue;
                    }
                    seen.push((f.name, k));
                    let exact = k.name == f.name;
                    let there = target.get(f.name).is_some_and(|n| !n.is_null());
                    if merged && !exact && there {
                        let message = format!(
                            "`{}` sets `{sub}`, which the Application or an earlier override file already sets: Argo CD matches these field names case-insensitively, like Go's encoding/json, and decodes both, one over the other",
                            k.name
                        );
                        self.ctx.problem(self.file, &at, message, OVERRIDE_FIX);
                        continue;
                    }
                    let null = || Node {
                        value: Value::Null,
                        line: v.line,
                        column: v.column,
                    };
                    if let Some(slot) = entry(target, f.name, null) {
                        self.decode(slot, v, &f.ty, &sub, merged && exact && there);
                    }
                }
            }
            Ty::List(elem) => {
                let Value::Seq(items) = &patch.value else {
                    return self.mistyped(patch, path, "a list");
                };
                let old: Vec<Node> = target.as_seq().to_vec();
                let tail = self.stale.remove(path).unwrap_or_default();
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let mut e = old
                        .get(i)
                        .or_else(|| i.checked_sub(old.len()).and_then(|j| tail.get(j)))
                        .cloned()
                        .unwrap_or(Node {
                            value: Value::Null,
                            line: item.line,
                            column: item.column,
                        });
                    self.decode(&mut e, item, elem, &format!("{path}[{i}]"), false);
                    out.push(e);
                }
                // What the backing array holds past the new length: the elements this list
                // dropped, then those already there; nothing once it was reallocated (grown
                // past its capacity) or replaced (an empty list).
                let n = items.len();
                let rest: Vec<Node> = if n == 0 {
                    Vec::new()
                } else if n <= old.len() {
                    old.get(n..)
                        .unwrap_or_default()
                        .iter()
                        .chain(tail.iter())
                        .cloned()
                        .collect()
                } else {
                    tail.get(n - old.len()..)
                        .map(<[Node]>::to_vec)
                        .unwrap_or_default()
                };
                if !rest.is_empty() {
                    self.stale.insert(path.to_string(), rest);
                }
                *target = Node {
                    value: Value::Seq(out),
                    line: patch.line,
                    column: patch.column,
                };
            }
        }
    }
}

/// `.argocd-source-<namespace>_<app name>.yaml` in the source path: Argo CD reads it instead
/// of `.argocd-source-<app name>.yaml` when the Application is not in Argo CD's own namespace
/// (`Application.InstanceName`). pushguard does not know that namespace, so it cannot tell
/// which of the two Argo CD reads.
fn instance_overrides(ctx: &mut Ctx<'_, '_>, dir: &str, app_name: &str) -> Result<(), TreeError> {
    if app_name.is_empty() {
        return Ok(());
    }
    let Some(entries) = ctx.tree.list(dir)? else {
        return Ok(());
    };
    let suffix = format!("_{app_name}.yaml");
    for (name, resolved) in entries {
        let Some(ns) = name
            .strip_prefix(".argocd-source-")
            .and_then(|rest| rest.strip_suffix(&suffix))
        else {
            continue;
        };
        // Argo CD skips what is not there and directories (a checked-out submodule is one).
        if ns.is_empty()
            || matches!(
                resolved,
                Resolved::Missing | Resolved::Dir(_) | Resolved::Gitlink(_)
            )
        {
            continue;
        }
        let at = Node {
            value: Value::Null,
            line: 1,
            column: 1,
        };
        ctx.problem(
            &join(dir, &name),
            &at,
            format!(
                "Argo CD reads `{name}` instead of `.argocd-source-{app_name}.yaml` when the Application is in namespace `{ns}` and that is not Argo CD's own namespace: pushguard does not know Argo CD's namespace, so it cannot tell which override file applies"
            ),
            "move these overrides into the Application itself",
        );
    }
    Ok(())
}

/// Argo CD's kustomize overrides as root-kustomization fields.
fn overlay_of(
    ctx: &mut Ctx<'_, '_>,
    k: Option<&Node>,
    file: &str,
    dir: &str,
) -> Result<Overlay, TreeError> {
    let mut fields: Vec<(String, OverlayOp, Node)> = Vec::new();
    let Some(k) = k.filter(|k| !k.is_null()) else {
        return Ok(Overlay {
            fields,
            file: file.to_string(),
        });
    };
    for key in ["namePrefix", "nameSuffix", "namespace"] {
        if let Some(n) = k
            .get(key)
            .filter(|n| n.as_str().is_some_and(|s| !s.is_empty()))
        {
            fields.push((key.to_string(), OverlayOp::Set, n.clone()));
        }
    }
    if let Some(images) = k.get("images").filter(|n| !n.as_seq().is_empty()) {
        let mut list = Vec::new();
        for img in images.as_seq() {
            let Some(text) = img.as_str() else {
                ctx.problem(
                    file,
                    img,
                    "an image override that is not a string",
                    "write name=newName:tag",
                );
                continue;
            };
            list.push(image_override(text, img));
        }
        fields.push((
            "images".into(),
            OverlayOp::ReplaceByName,
            Node {
                value: Value::Seq(list),
                line: images.line,
                column: images.column,
            },
        ));
    }
    if let Some(labels) = k.get("commonLabels").filter(|n| !n.as_map().is_empty()) {
        let flag = |f: &str| k.get(f).and_then(Node::as_bool).unwrap_or(false);
        if flag("labelWithoutSelector") {
            let (l, c) = (labels.line, labels.column);
            let mut e = map_node(l, c);
            set(&mut e, "pairs", labels.clone());
            set(
                &mut e,
                "includeSelectors",
                Node {
                    value: Value::Bool(false),
                    line: l,
                    column: c,
                },
            );
            if flag("labelIncludeTemplates") {
                set(
                    &mut e,
                    "includeTemplates",
                    Node {
                        value: Value::Bool(true),
                        line: l,
                        column: c,
                    },
                );
            }
            fields.push((
                "labels".into(),
                OverlayOp::Append,
                Node {
                    value: Value::Seq(vec![e]),
                    line: l,
                    column: c,
                },
            ));
        } else {
            fields.push(("commonLabels".into(), OverlayOp::MergeMap, labels.clone()));
        }
    }
    if let Some(ann) = k
        .get("commonAnnotations")
        .filter(|n| !n.as_map().is_empty())
    {
        if k.get("commonAnnotationsEnvsubst").and_then(Node::as_bool) == Some(true)
            && string_map(Some(ann)).iter().any(|(_, v)| v.contains('$'))
        {
            ctx.problem(
                file,
                ann,
                "commonAnnotationsEnvsubst: Argo CD's build environment is not rendered",
                "write the annotation values out",
            );
        }
        fields.push(("commonAnnotations".into(), OverlayOp::MergeMap, ann.clone()));
    }
    if let Some(replicas) = k.get("replicas").filter(|n| !n.as_seq().is_empty()) {
        let mut list = Vec::new();
        for r in replicas.as_seq() {
            let mut e = r.clone();
            if let Some(count) = r
                .get("count")
                .and_then(Node::as_str)
                .and_then(|s| s.parse::<i128>().ok())
            {
                set(
                    &mut e,
                    "count",
                    Node {
                        value: Value::Int(count),
                        line: r.line,
                        column: r.column,
                    },
                );
            }
            list.push(e);
        }
        fields.push((
            "replicas".into(),
            OverlayOp::MergeByName,
            Node {
                value: Value::Seq(list),
                line: replicas.line,
                column: replicas.column,
            },
        ));
    }
    if let Some(patches) = k.get("patches").filter(|n| !n.as_seq().is_empty()) {
        let list = marked_patches(patches.as_seq(), patches);
        fields.push(("patches".into(), OverlayOp::Append, list));
    }
    fields.extend(components_field(ctx, k, dir, |_, _, _| true)?);
    Ok(Overlay {
        fields,
        file: file.to_string(),
    })
}

/// `kustomize edit set image` argument: `name=newName:tag`, `name=newName@digest`,
/// `name:tag`, `name@digest`, `name=newName`, `*` keeping a field of the entry it replaces.
fn image_override(text: &str, at: &Node) -> Node {
    let (l, c) = (at.line, at.column);
    let mut e = map_node(l, c);
    let (name, rest) = match text.split_once('=') {
        Some((name, rest)) => (name.to_string(), Some(rest)),
        None => (String::new(), None),
    };
    let (name, new_name, tag, digest) = match rest {
        Some(rest) => {
            let (n, t, d) = split_reference(rest);
            (name, n, t, d)
        }
        None => {
            let (n, t, d) = split_reference(text);
            (n, String::new(), t, d)
        }
    };
    set(&mut e, "name", str_node(&name, l, c));
    if !new_name.is_empty() && new_name != name {
        set(&mut e, "newName", str_node(&new_name, l, c));
    }
    if !tag.is_empty() {
        set(&mut e, "newTag", str_node(&tag, l, c));
    }
    if !digest.is_empty() {
        set(&mut e, "digest", str_node(&digest, l, c));
    }
    e
}

fn split_reference(image: &str) -> (String, String, String) {
    let (rest, digest) = match image.split_once('@') {
        Some((n, d)) => (n, d.to_string()),
        None => (image, String::new()),
    };
    let slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    match rest.get(slash..).and_then(|tail| tail.rfind(':')) {
        Some(i) => (
            rest.get(..slash + i).unwrap_or(rest).to_string(),
            rest.get(slash + i + 1..).unwrap_or("").to_string(),
            digest,
        ),
        None => (rest.to_string(), String::new(), digest),
    }
}

/// A plain directory source.
fn directory(
    ctx: &mut Ctx<'_, '_>,
    real: &str,
    opts: Option<&Node>,
    file: &str,
    at: &Node,
) -> Result<Vec<Res>, TreeError> {
    let text = |k: &str| {
        opts.and_then(|o| o.get(k))
            .and_then(Node::as_str)
            .unwrap_or("")
            .to_string()
    };
    let flag = |k: &str| {
        opts.and_then(|o| o.get(k))
            .and_then(Node::as_bool)
            .unwrap_or(false)
    };
    let recurse = flag("recurse");
    // Every file, not only `.yaml`, `.yml`, `.json` and `.jsonnet` ones.
    let all_files = flag("disableExtensionFilter");
    let include = glob_regex(&text("include"));
    let exclude = glob_regex(&text("exclude"));
    if opts
        .and_then(|o| o.get("jsonnet"))
        .is_some_and(|j| !j.as_map().is_empty())
    {
        ctx.problem(
            file,
            at,
            "jsonnet options: jsonnet is not rendered",
            "render the manifests into the repository",
        );
    }
    let mut files = Vec::new();
    let walked = Walk {
        base: real,
        recurse,
        all_files,
        file,
        at,
    };
    walked.walk(ctx, real, 0, &mut files)?;
    let mut out = Vec::new();
    for (rel, path) in files {
        if exclude
            .as_ref()
            .is_some_and(|re| re.as_ref().is_some_and(|re| re.is_match(&rel)))
        {
            continue;
        }
        if include
            .as_ref()
            .is_some_and(|re| !re.as_ref().is_some_and(|re| re.is_match(&rel)))
        {
            continue;
        }
        if rel.ends_with(".jsonnet") {
            ctx.problem(
                file,
                at,
                format!("`{rel}` is jsonnet: it is not rendered"),
                "render the manifests into the repository",
            );
            continue;
        }
        let Some(bytes) = ctx.tree.read(&path)? else {
            continue;
        };
        if bytes
            .windows(SKIP_MARKER.len())
            .any(|w| w == SKIP_MARKER.as_bytes())
        {
            continue;
        }
        let looks_like_manifest = ["apiVersion:", "kind:", "metadata:"]
            .iter()
            .all(|m| bytes.windows(m.len()).any(|w| w == m.as_bytes()));
        // `getObjsFromYAMLOrJSON`: the entry's name decides JSON (one value, encoding/json)
        // or YAML (k8s' YAMLOrJSONDecoder, document after document).
        let json = rel.ends_with(".json");
        let before = ctx.problems.len();
        let Some(docs) = ctx.load_docs(&path, &bytes) else {
            let unloadable = Unloadable {
                path: &path,
                rel: &rel,
                dir: real,
                recurse,
                all_files,
            };
            unloadable.judge(ctx, &bytes, before, json, looks_like_manifest);
            continue;
        };
        let objects: Vec<Node> = docs.into_iter().filter(|d| !d.is_null()).collect();
        // Argo CD stops at the first document that is not an object. With no object before it
        // the file is ignored, unless it looks like a manifest (then the render fails); after
        // one the render fails. Only the ignored case is skipped here: whatever makes Argo CD
        // fail is judged (and the documents that are not objects are problems).
        if objects.first().is_some_and(|d| !is_object(d)) && !looks_like_manifest {
            continue;
        }
        out.extend(resources_of(ctx, &path, objects));
    }
    Ok(out)
}

/// What Argo CD decodes as an object: a mapping with a non-empty string `kind`
/// (`unstructured.UnstructuredJSONScheme` fails without one; `apiVersion` it does not check).
fn is_object(doc: &Node) -> bool {
    doc.get("kind")
        .and_then(Node::as_str)
        .is_some_and(|k| !k.is_empty())
}

const UNLOADABLE_FIX: &str = "make the file load (valid YAML or JSON, each key once, no merge keys, UTF-8), or leave it out of the Application with `directory.exclude`";

/// A file of a directory source that pushguard's loader refused.
struct Unloadable<'p> {
    path: &'p str,
    rel: &'p str,
    dir: &'p str,
    recurse: bool,
    all_files: bool,
}

impl Unloadable<'_> {
    /// The loader's problems (from `before` on) become one `manifest-render` problem, unless
    /// Argo CD surely ignores the file too. Argo CD's reader accepts more than pushguard's
    /// (go-yaml v2 takes a repeated key's last value and merge keys; files are transcoded from
    /// UTF-16; budgets differ), so a file is ignored only when Argo CD ignores it whatever its
    /// reader makes of the rest: YAML (not `.json`: Argo CD fails on any JSON it cannot decode)
    /// without all of `apiVersion:`, `kind:` and `metadata:`, whose first document pushguard
    /// can read and is not an object, so Argo CD's decoding stops there with nothing read.
    fn judge(
        &self,
        ctx: &mut Ctx<'_, '_>,
        bytes: &[u8],
        before: usize,
        json: bool,
        looks_like_manifest: bool,
    ) {
        let found: Vec<_> = ctx.problems.drain(before..).collect();
        // Nothing (the push's node budget was already reported) or a budget: those stay.
        if found.is_empty() || found.iter().any(|p| p.rule != "manifest-parse") {
            ctx.problems.extend(found);
            return;
        }
        if !json && !looks_like_manifest && stops_before_an_object(bytes, ctx.limits) {
            return;
        }
        let (line, column, reason) = found
            .first()
            .map(|p| (p.line, p.column, p.message.clone()))
            .unwrap_or((1, 1, String::new()));
        let which = if self.all_files {
            "every file"
        } else {
            "every `.yaml`, `.yml` and `.json` file"
        };
        let dir = if self.dir.is_empty() { "." } else { self.dir };
        let below = if self.recurse { " and below it" } else { "" };
        ctx.problems.push(problem(
            self.path,
            line,
            column,
            format!(
                "Argo CD reads {which} in the Application's path `{dir}`{below}, CI files and hidden files included, so it reads `{}`, which pushguard cannot load ({reason}): Argo CD's reader is more lenient and may apply objects from it",
                self.rel
            ),
            UNLOADABLE_FIX,
        ));
    }
}

/// Whether Argo CD's YAML decoding of this file fails on its first document with no object
/// read: the first non-empty `---` chunk (split as k8s' YAMLReader splits) loads in pushguard
/// and is not an object. False when that is not certain (a JSON stream, which the decoder does
/// not split, or a first chunk pushguard cannot load either).
fn stops_before_an_object(bytes: &[u8], limits: &Limits) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return false;
    }
    let Ok(chunks) = crate::yaml::split_documents(text) else {
        return false;
    };
    for chunk in chunks {
        if chunk.text.trim().is_empty() {
            continue;
        }
        match crate::yaml::load(chunk.text.as_bytes(), limits) {
            Ok(docs) => {
                if let Some(doc) = docs.first() {
                    return !is_object(doc);
                }
                // A null document: the decoder goes on to the next.
            }
            Err(_) => return false,
        }
    }
    false
}

/// The files a directory source reads, as `getPotentiallyValidManifests` walks them
/// (`filepath.Walk`: hidden files and directories included, symlinked directories not entered).
struct Walk<'w> {
    /// The source path: entries are matched relative to it.
    base: &'w str,
    recurse: bool,
    /// `directory.disableExtensionFilter`: every file, whatever its name.
    all_files: bool,
    /// The Application's file and node, for problems.
    file: &'w str,
    at: &'w Node,
}

impl Walk<'_> {
    fn walk(
        &self,
        ctx: &mut Ctx<'_, '_>,
        dir: &str,
        depth: usize,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), TreeError> {
        let (file, at) = (self.file, self.at);
        if depth > MAX_DEPTH {
            ctx.too_deep(file, at);
            return Ok(());
        }
        if !ctx.follow(file, at) {
            return Ok(());
        }
        let Some(entries) = ctx.tree.list(dir)? else {
            return Ok(());
        };
        for (name, resolved) in entries {
            let path = join(dir, &name);
            let rel = path
                .strip_prefix(self.base)
                .map(|p| p.trim_start_matches('/'))
                .unwrap_or(&path)
                .to_string();
            let manifest = self.all_files
                || [".yaml", ".yml", ".json", ".jsonnet"]
                    .iter()
                    .any(|e| name.ends_with(e));
            match resolved {
                Resolved::Dir(real) if real == path && self.recurse => {
                    self.walk(ctx, &path, depth + 1, out)?;
                }
                // Argo CD checks submodules out (ARGOCD_GIT_MODULES_ENABLED, on by default)
                // and walks into them: their files are not in this repository.
                Resolved::Gitlink(_) if self.recurse => ctx.unreachable(&resolved, &path, file, at),
                Resolved::File(real) if manifest => out.push((rel, real)),
                Resolved::Outside { .. } if manifest => ctx.unreachable(&resolved, &path, file, at),
                _ => {}
            }
        }
        Ok(())
    }
}

/// A gobwas-style glob (`*` and `?` cross `/`, `{a,b}`, `[...]`) as an anchored regex: None
/// for an empty pattern, Some(None) for one that matches nothing.
fn glob_regex(glob: &str) -> Option<Option<regex::Regex>> {
    if glob.is_empty() {
        return None;
    }
    let mut re = String::from("^");
    let mut depth = 0usize;
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '{' => {
                depth += 1;
                re.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                re.push(')');
            }
            ',' if depth > 0 => re.push('|'),
            '[' => {
                re.push('[');
                if chars.peek() == Some(&'!') {
                    chars.next();
                    re.push('^');
                }
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    if d == '\\' || d == '[' {
                        re.push('\\');
                    }
                    re.push(d);
                }
                re.push(']');
            }
            '\\' => {
                if let Some(d) = chars.next() {
                    re.push_str(&regex::escape(&d.to_string()));
                }
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    // A pattern that does not compile matches nothing, as an invalid glob does in Argo CD.
    Some(regex::Regex::new(&re).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::MemTree;

    fn yaml(text: &str) -> Node {
        crate::yaml::load(text.as_bytes(), &Limits::default())
            .unwrap()
            .remove(0)
    }

    /// `files` decoded in order over the source `source`: the merged source and the problems
    /// (`file:line: message`).
    fn decode_all(source: &str, files: &[&str]) -> (Node, Vec<String>) {
        let mem = MemTree::new();
        let tree = Tree::new(&mem);
        let limits = Limits::default();
        let mut ctx = Ctx::new(&tree, &limits);
        let mut src = yaml(source);
        let mut stale = HashMap::new();
        for (i, text) in files.iter().enumerate() {
            let name = format!("f{i}.yaml");
            Overrides {
                ctx: &mut ctx,
                file: &name,
                stale: &mut stale,
            }
            .file(&mut src, &yaml(text));
        }
        let problems = ctx
            .problems
            .iter()
            .map(|p| format!("{}:{}: {}", p.path, p.line, p.message))
            .collect();
        (src, problems)
    }

    fn strs(n: Option<&Node>) -> Vec<String> {
        n.map(Node::as_seq)
            .unwrap_or(&[])
            .iter()
            .map(|s| s.as_str().unwrap_or("<not a string>").to_string())
            .collect()
    }

    #[test]
    fn names_fold_as_go_encoding_json_folds_them() {
        for name in [
            "kustomize",
            "Kustomize",
            "KUSTOMIZE",
            "\u{212A}ustomize",
            "Kuſtomize",
            "\u{212A}UſTOMIZE",
        ] {
            assert_eq!(
                field_named(SOURCE, name).map(|f| f.name),
                Some("kustomize"),
                "{name}"
            );
        }
        assert_eq!(
            field_named(KUSTOMIZE, "nameſuffix").map(|f| f.name),
            Some("nameSuffix")
        );
        assert_eq!(
            field_named(KUSTOMIZE, "ImAgEs").map(|f| f.name),
            Some("images")
        );
        assert_eq!(
            field_named(KUSTOMIZE_SELECTOR, "KIND").map(|f| f.name),
            Some("kind")
        );
        // Delimiters count (v1 semantics), and dotted / dotless i fold to themselves.
        for name in [
            "kus_tomize",
            "kus-tomize",
            "kustomize ",
            "\u{131}mages",
            "\u{130}mages",
            "Images\u{307}",
        ] {
            assert!(
                field_named(SOURCE, name).is_none() && field_named(KUSTOMIZE, name).is_none(),
                "{name}"
            );
        }
    }

    #[test]
    fn only_kelvin_and_long_s_fold_to_ascii_letters() {
        // Go's SimpleFold orbits that hold an ASCII letter: the case mappings of Unicode, less
        // U+0131 (dotless i, upper-cased to `I`), which Go's caseOrbit keeps to itself.
        let mut to_ascii = Vec::new();
        for c in (0x80u32..=0x10FFFF).filter_map(char::from_u32) {
            let single = |mapped: String| -> Option<char> {
                let mut it = mapped.chars();
                let first = it.next()?;
                it.next().is_none().then_some(first)
            };
            let lower = single(c.to_lowercase().collect());
            let upper = single(c.to_uppercase().collect());
            if [lower, upper]
                .iter()
                .flatten()
                .any(|m| m.is_ascii_alphabetic())
            {
                to_ascii.push(c);
            }
        }
        assert_eq!(to_ascii, ['\u{131}', '\u{17F}', '\u{212A}']);
        assert_eq!(fold_name("\u{131}"), "\u{131}");
        assert_eq!(fold_name("\u{17F}\u{212A}sk"), "SKSK");
    }

    #[test]
    fn every_field_folds_to_a_name_of_its_own() {
        for fields in [
            SOURCE,
            HELM,
            HELM_PARAMETER,
            HELM_FILE_PARAMETER,
            KUSTOMIZE,
            KUSTOMIZE_REPLICA,
            KUSTOMIZE_PATCH,
            KUSTOMIZE_SELECTOR,
            DIRECTORY,
            JSONNET,
            JSONNET_VAR,
            PLUGIN,
            PLUGIN_ENV,
            PLUGIN_PARAMETER,
        ] {
            let mut folded: Vec<String> = fields.iter().map(|f| fold_name(f.name)).collect();
            folded.sort();
            folded.dedup();
            assert_eq!(folded.len(), fields.len(), "{fields:?}");
        }
    }

    #[test]
    fn case_variants_set_the_field() {
        let (src, problems) = decode_all(
            "path: app\n",
            &["\"\\u212Austomize\":\n  Images: [evil.example.net/x:1]\n  NamePrefix: p-\n  PATCHES:\n  - Patch: hostNetwork\n    Target: {Kind: Pod}\n"],
        );
        assert!(problems.is_empty(), "{problems:?}");
        let k = src.get("kustomize").unwrap();
        assert_eq!(strs(k.get("images")), ["evil.example.net/x:1"]);
        assert_eq!(k.get("namePrefix").and_then(Node::as_str), Some("p-"));
        let patch = &k.get("patches").unwrap().as_seq()[0];
        assert_eq!(
            patch.get("patch").and_then(Node::as_str),
            Some("hostNetwork")
        );
        assert_eq!(
            patch.path(&["target", "kind"]).and_then(Node::as_str),
            Some("Pod")
        );
        let (src, problems) = decode_all("path: app\n", &["Directory: {Recurſe: true}\n"]);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            src.path(&["directory", "recurse"]).and_then(Node::as_bool),
            Some(true)
        );
    }

    #[test]
    fn two_names_for_one_field_are_refused() {
        let (_, problems) = decode_all(
            "path: app\n",
            &["kustomize: {images: [a]}\nKustomize: {images: [b]}\n"],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0]
            .starts_with("f0.yaml:2: `Kustomize` and `kustomize` (line 1) both set `kustomize`"));
        let (_, problems) = decode_all(
            "path: app\n",
            &["kustomize:\n  images: [a]\n  IMAGES: [b]\n"],
        );
        assert!(
            problems[0].starts_with(
                "f0.yaml:3: `IMAGES` and `images` (line 2) both set `kustomize.images`"
            ),
            "{problems:?}"
        );
        // Against a field the Application (or an earlier file) set: both are in the JSON.
        let (_, problems) = decode_all(
            "path: app\nkustomize: {namePrefix: a-}\n",
            &["Kustomize: {images: [evil]}\n"],
        );
        assert!(problems[0].contains("already sets"), "{problems:?}");
        let (_, problems) = decode_all(
            "path: app\n",
            &[
                "kustomize: {namePrefix: a-}\n",
                "kustomize: {NamePrefix: b-}\n",
            ],
        );
        assert!(problems[0].starts_with("f1.yaml:1:"), "{problems:?}");
        // In a list element only the element's own members are decoded: no clash.
        let (src, problems) = decode_all(
            "path: app\nkustomize: {replicas: [{name: web, count: 2}]}\n",
            &["kustomize: {replicas: [{Name: api}]}\n"],
        );
        assert!(problems.is_empty(), "{problems:?}");
        let r = &src.path(&["kustomize", "replicas"]).unwrap().as_seq()[0];
        assert_eq!(r.get("name").and_then(Node::as_str), Some("api"));
        assert_eq!(r.get("count").and_then(Node::as_int), Some(2));
    }

    #[test]
    fn null_removes_nothing() {
        let (src, problems) = decode_all(
            "path: app\nkustomize: {images: [a], commonLabels: {team: web}, namePrefix: p-}\n",
            &[
                "kustomize: {images: null, commonLabels: {team: null, x: z}, namePrefix: null}\n",
                "kustomize: null\n",
            ],
        );
        assert!(problems.is_empty(), "{problems:?}");
        let k = src.get("kustomize").unwrap();
        assert_eq!(strs(k.get("images")), ["a"]);
        assert_eq!(
            string_map(k.get("commonLabels")),
            [
                ("team".to_string(), "web".to_string()),
                ("x".to_string(), "z".to_string())
            ]
        );
        assert_eq!(k.get("namePrefix").and_then(Node::as_str), Some("p-"));
    }

    #[test]
    fn list_elements_are_decoded_into_the_elements_there() {
        let (src, problems) = decode_all(
            "path: app\nkustomize:\n  images: [a, b]\n  patches:\n  - {patch: P, target: {kind: Deployment, name: api}, options: {allowNameChange: true}}\n",
            &["kustomize:\n  images: [null, c, null]\n  patches: [{patch: Q}]\n"],
        );
        assert!(problems.is_empty(), "{problems:?}");
        let k = src.get("kustomize").unwrap();
        // A null element leaves the element there (a new one stays null: not a string).
        assert_eq!(strs(k.get("images")), ["a", "c", "<not a string>"]);
        let p = &k.get("patches").unwrap().as_seq()[0];
        assert_eq!(p.get("patch").and_then(Node::as_str), Some("Q"));
        assert_eq!(
            p.path(&["target", "name"]).and_then(Node::as_str),
            Some("api")
        );
        assert_eq!(
            p.path(&["options", "allowNameChange"])
                .and_then(Node::as_bool),
            Some(true)
        );
    }

    #[test]
    fn a_later_file_decodes_into_the_elements_an_earlier_one_dropped() {
        let app = "path: app\nkustomize:\n  patches:\n  - {patch: A, target: {kind: Service}}\n  - {patch: EVIL, target: {kind: Deployment}}\n";
        let (src, problems) = decode_all(
            app,
            &[
                "kustomize: {patches: [{patch: A2}]}\n",
                "kustomize: {patches: [{patch: A3}, {target: {name: api}}, {patch: C}]}\n",
            ],
        );
        assert!(problems.is_empty(), "{problems:?}");
        let list = src.path(&["kustomize", "patches"]).unwrap().as_seq();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].get("patch").and_then(Node::as_str), Some("A3"));
        assert_eq!(list[1].get("patch").and_then(Node::as_str), Some("EVIL"));
        assert_eq!(
            list[1].path(&["target", "kind"]).and_then(Node::as_str),
            Some("Deployment")
        );
        assert_eq!(
            list[1].path(&["target", "name"]).and_then(Node::as_str),
            Some("api")
        );
        // Past the old capacity: a fresh element.
        assert!(list[2].get("target").is_none());
        // An empty list gets a fresh slice: nothing to reuse.
        let (src, _) = decode_all(
            app,
            &[
                "kustomize: {patches: []}\n",
                "kustomize: {patches: [{patch: B}]}\n",
            ],
        );
        let list = src.path(&["kustomize", "patches"]).unwrap().as_seq();
        assert!(list[0].get("target").is_none());
    }

    #[test]
    fn mistyped_values_and_unknown_names() {
        let (_, problems) = decode_all(
            "path: app\n",
            &["kustomize: {images: evil}\ndirectory: {recurse: \"true\"}\n"],
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("`kustomize.images` must be a list"));
        assert!(problems[1].contains("`directory.recurse` must be true or false"));
        let (_, problems) = decode_all("path: app\n", &["- kustomize: {}\n"]);
        assert!(problems[0].contains("not a mapping"), "{problems:?}");
        // Names no field has are ignored, as encoding/json ignores them.
        let (src, problems) = decode_all(
            "path: app\n",
            &["kustomize: {imagez: [x], name_prefix: p}\nkustomise: {images: [y]}\n"],
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert!(src.path(&["kustomize", "images"]).is_none());
        assert!(src.get("kustomise").is_none());
    }

    #[test]
    fn argo_stops_on_a_first_document_that_is_not_an_object() {
        let limits = Limits::default();
        let stops = |text: &str| stops_before_an_object(text.as_bytes(), &limits);
        assert!(stops("stages: [test]\n"));
        assert!(stops(
            "# ci\n---\n---\nstages: [a]\n---\nkind: Pod\nx: 1\nx: 2\n"
        ));
        assert!(stops("- a\n- b\n"));
        // The first document pushguard cannot read, or it is an object: not sure.
        assert!(!stops("a: 1\na: 2\n"));
        assert!(!stops("kind: Pod\n---\nx: 1\nx: 2\n"));
        assert!(!stops(
            "kind : Pod\nspec:\n  hostNetwork: false\n  hostNetwork: true\n"
        ));
        // A JSON stream is not split on `---`; no document at all; not UTF-8.
        assert!(!stops("{\"a\": 1}\n---\nb: 2\n"));
        assert!(!stops("---\n\n---\n"));
        assert!(!stops_before_an_object(b"\xff\xfek\x00i\x00", &limits));
    }

    #[test]
    fn globs_match_like_argo() {
        let re = glob_regex("{a.yaml,sub/*.yml}").unwrap().unwrap();
        assert!(re.is_match("a.yaml"));
        assert!(re.is_match("sub/x.yml"));
        assert!(!re.is_match("b.yaml"));
        assert!(glob_regex("*.yaml")
            .unwrap()
            .unwrap()
            .is_match("deep/x.yaml"));
        assert!(glob_regex("").is_none());
    }

    #[test]
    fn image_overrides_parse_like_kustomize_edit() {
        let at = Node {
            value: Value::Null,
            line: 1,
            column: 1,
        };
        let e = image_override("nginx=evil.io/nginx:1.0", &at);
        assert_eq!(e.get("name").and_then(Node::as_str), Some("nginx"));
        assert_eq!(
            e.get("newName").and_then(Node::as_str),
            Some("evil.io/nginx")
        );
        assert_eq!(e.get("newTag").and_then(Node::as_str), Some("1.0"));
        let e = image_override("registry:5000/app:2", &at);
        assert_eq!(
            e.get("name").and_then(Node::as_str),
            Some("registry:5000/app")
        );
        assert_eq!(e.get("newTag").and_then(Node::as_str), Some("2"));
    }
}
