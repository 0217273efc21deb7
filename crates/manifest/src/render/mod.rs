//! Rendering: the objects a GitOps controller applies from a repository tree.
//!
//! Flux and Argo CD do not apply files: they build each root with kustomize (Flux first
//! generates a kustomization for a directory without one), then apply their own overlay (Flux's
//! `Kustomization` patches, images, target namespace and variable substitution; Argo CD's
//! `Application` kustomize and helm overrides). What the cluster gets is the rendered set, so
//! that is what pushguard judges, old against new.
//!
//! Everything here is pure over a [`Tree`]: the hook hands in its git trees, the tests a
//! [`MemTree`]. What cannot be rendered (a remote base, a helm chart, a plugin, an unknown
//! field) is a [`Finding`] with rule `manifest-render`, which fails closed under a protected
//! root; it is never skipped silently.
//!
//! Entry points: [`kustomize_build`] (`kustomize build DIR`, kustomize v5.8.1 semantics, load
//! restrictor none), [`flux_build`] (a path as kustomize-controller builds it, generating a
//! kustomization when there is none), [`flux_kustomization`] (a Flux `Kustomization` object:
//! its overlay and post-build substitution), [`argo_application`] (an Argo CD `Application`:
//! override files, kustomize overrides, plain directories, destination namespace).
//!
//! Rendered, checked against `kubectl kustomize` (tests/kustomize_oracle.rs):
//! - resources (files of any extension, `List`s expanded, directories with a kustomization,
//!   `bases`), components (`kind: Component`, also as the root), id conflicts and cycles as
//!   kustomize reports them;
//! - `namespace` (cluster-scoped kinds as kustomize knows them, `v1` Namespace objects renamed,
//!   binding subjects named `default`, APIService and CRD webhook services), `namePrefix` /
//!   `nameSuffix` (CRDs, APIServices, Namespaces kept), `commonLabels` (with selectors),
//!   `labels` (`includeSelectors`, `includeTemplates`), `commonAnnotations`, `images` (newName,
//!   newTag, digest, tagSuffix; every containers/initContainers list, image volumes),
//!   `replicas`, `patches` / `patchesStrategicMerge` / `patchesJson6902` (inline or from files,
//!   with targets, `allowNameChange`/`allowKindChange`; the merge itself is [`patch`]);
//! - `configMapGenerator` / `secretGenerator` (literals, files, envs, behavior create/merge/
//!   replace, `generatorOptions`, kustomize's content hash), name references to renamed and
//!   generated objects (kustomize's default reference table and candidate rules),
//!   `config.kubernetes.io/local-config` objects dropped;
//! - the kustomization decoded as kustomize decodes it (case-insensitive field names, typed
//!   values), manifests read as kustomize reads them (YAML 1.2 booleans, annotation values as
//!   text), JSON 6902 values as YAML 1.1.
//!
//! Refused with a problem: remote resources and components, `helmCharts` / `helmGlobals` /
//! `helmChartInflationGenerator`, `generators` / `transformers` / `validators` plugins,
//! `vars`, `replacements`, `configurations`, `crds`, `openapi`, `buildMetadata`,
//! `labels[].fields`, unknown or mistyped kustomization fields, missing files, symlinks out of
//! the repository, submodules, anything kustomize itself fails on, and work over the budgets
//! (entries followed, objects, nesting, nodes loaded, selector evaluations).

mod appset;
mod argo;
mod artifact;
mod decode;
mod flux;
mod generate;
mod kustomize;
mod nodes;
pub mod patch;
mod patches;
mod resources;
mod sourceignore;
mod transform;
pub mod tree;

pub use appset::{argo_application_set, uses_repository as application_set_uses_repository};
pub use argo::argo_application;
pub use artifact::Generator;
pub use flux::{deploys_from_outside, flux_build, flux_kustomization, pinned_ref};
pub use generate::content_hash;
pub use kustomize::{kustomize_build, KUSTOMIZATION_FILES};
pub use sourceignore::IGNORE_FILE;
pub use transform::is_cluster_scoped;
pub use tree::{
    join, join_relative, MemTree, ParseCache, RawKind, RawTree, Resolved, Tree, TreeError,
};

use crate::object::Object;
use crate::Finding;

/// The rule id of everything that stops a root from being rendered faithfully.
pub const RENDER_RULE: &str = "manifest-render";

/// What one root renders to.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// The objects the controller would apply, each with `path` set to the file its document
    /// came from (a generator's objects: the kustomization file).
    pub objects: Vec<Object>,
    /// What could not be rendered, or was rendered with a doubt (rule [`RENDER_RULE`]), and
    /// load errors of the files read (`manifest-parse`, `manifest-limits`).
    pub problems: Vec<Finding>,
}
