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

mod argo;
mod flux;
mod generate;
mod kustomize;
mod nodes;
pub mod patch;
mod patches;
mod resources;
mod transform;
pub mod tree;

pub use argo::argo_application;
pub use flux::{flux_build, flux_kustomization};
pub use generate::content_hash;
pub use kustomize::{kustomize_build, KUSTOMIZATION_FILES};
pub use transform::is_cluster_scoped;
pub use tree::{join, join_relative, MemTree, RawKind, RawTree, Resolved, Tree, TreeError};

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
