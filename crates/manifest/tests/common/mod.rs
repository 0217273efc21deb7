#![allow(dead_code)]
//! Helpers shared by the integration tests.

use pushguard_manifest::{judge, FileChange, FileVersion, Finding, Limits, RuleId, Settings};

/// Days since 1970-01-01 for 2026-06-01, the "today" of the tests.
pub const TODAY: i64 = 20_605;

pub fn settings(rules: &[RuleId]) -> Settings {
    Settings {
        rules: rules.to_vec(),
        ..Settings::default()
    }
}

/// Judges one newly added file.
pub fn judge_added(path: &str, text: &str, settings: &Settings) -> Vec<Finding> {
    let changes = [FileChange {
        old: None,
        new: Some(FileVersion {
            path,
            bytes: text.as_bytes(),
        }),
    }];
    judge(&changes, settings, &Limits::default(), TODAY)
}

/// Judges one modified file.
pub fn judge_modified(path: &str, old: &str, new: &str, settings: &Settings) -> Vec<Finding> {
    let changes = [FileChange {
        old: Some(FileVersion {
            path,
            bytes: old.as_bytes(),
        }),
        new: Some(FileVersion {
            path,
            bytes: new.as_bytes(),
        }),
    }];
    judge(&changes, settings, &Limits::default(), TODAY)
}

pub fn rules_of(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

/// A Deployment with one container whose securityContext is `sc` (flow YAML).
pub fn deployment(name: &str, sc: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: prod
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:1.0
          securityContext: {sc}
"
    )
}
