//! pushguard: a pre-receive hook that stands between a Git host and a GitOps cluster.
//!
//! Data flows one way, and each module has one job:
//! - [`hook`]: the ref updates on stdin and the host's environment;
//! - [`repo`]: the repository inside git's quarantine, new-commit walks, commit facts;
//! - [`facts`]: the plain values that flow from `repo` to `policy`;
//! - [`policy`]: the TOML policy (loading with file:line:key errors) and pure evaluation;
//! - [`manifests`]: Kubernetes manifest findings per commit (`pushguard-manifest`);
//! - [`verify`]: signature facts (commits, tags, push certificates), in parallel;
//! - [`engine`]: the pipeline that joins them, shared by `pre-receive` and `check`;
//! - [`report`]: the message for the pusher, JSON, and the audit record;
//! - [`limits`]: the budgets of one push (`[limits]`), and the error a tripped one is;
//! - [`install`], [`demo`], [`commands`], [`access`]: the command line.

pub mod access;
pub mod commands;
pub mod demo;
pub mod engine;
pub mod facts;
pub mod gitmodules;
pub mod glob;
pub mod hook;
pub mod install;
pub mod limits;
pub mod manifests;
pub mod plan;
pub mod policy;
pub mod repo;
pub mod report;
pub mod verify;
