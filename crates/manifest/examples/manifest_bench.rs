//! Benchmark: one push changing 1,000 manifests (about 5 MB), every built-in rule on.
//!
//! `cargo run --release -p pushguard-manifest --example manifest_bench` prints, for three commits, the size, MB/s and ms per
//! push (median of 7 runs) and the CPU time per push (independent of other load). Each file is
//! a multi-document workload (Deployment, Service, ConfigMap, ~5 KB): A modifies the
//! Deployment of every file, B every document of every file (nothing can be shared between the
//! old and new versions), C adds the 1,000 files.

use std::time::Instant;

use pushguard_manifest::{judge, FileChange, FileVersion, Limits, RuleId, Settings};

fn manifest(i: usize, image_tag: &str) -> String {
    let mut s = format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: team-{ns}
  labels: {{app: app-{i}, owner: team-{ns}}}
spec:
  replicas: 3
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}}}
      annotations:
        prometheus.io/scrape: \"true\"
    spec:
      serviceAccountName: app-{i}
      securityContext:
        runAsNonRoot: true
        seccompProfile: {{type: RuntimeDefault}}
      containers:
        - name: app
          image: ghcr.io/acme/app-{i}:{image_tag}
          ports:
            - containerPort: 8080
          env:
",
        ns = i % 20
    );
    for e in 0..25 {
        s.push_str(&format!(
            "            - name: SETTING_{e}\n              value: \"value-{e}-for-app-{i}\"\n"
        ));
    }
    s.push_str(
        "          resources:
            limits: {cpu: 500m, memory: 256Mi}
            requests: {cpu: 100m, memory: 128Mi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
",
    );
    s.push_str(&format!(
        "---
apiVersion: v1
kind: Service
metadata:
  name: app-{i}
  namespace: team-{ns}
spec:
  selector: {{app: app-{i}}}
  ports:
    - port: 80
      targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-{i}-config
  namespace: team-{ns}
data:
",
        ns = i % 20
    ));
    for k in 0..40 {
        s.push_str(&format!(
            "  key-{k}.properties: \"some.setting.{k}=value-{k}-{i}\"\n"
        ));
    }
    s
}

/// User + system CPU time of this process (all threads), from /proc (Linux only): a figure
/// that does not depend on what else the machine is doing.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on Linux.
    Some((utime + stime) / 100.0)
}

/// One scenario: judges `changes` 7 times and prints the median and the CPU time per push.
fn run(name: &str, changes: &[FileChange<'_>], settings: &Settings, limits: &Limits) {
    let new_bytes: usize = changes
        .iter()
        .filter_map(|c| c.new)
        .map(|v| v.bytes.len())
        .sum();
    let old_bytes: usize = changes
        .iter()
        .filter_map(|c| c.old)
        .map(|v| v.bytes.len())
        .sum();
    let mut times = Vec::new();
    let mut findings = 0;
    let cpu_start = cpu_seconds();
    for _ in 0..7 {
        let start = Instant::now();
        let f = judge(changes, settings, limits, 20_000);
        times.push(start.elapsed().as_secs_f64());
        findings = f.len();
    }
    let cpu_per_push = cpu_seconds()
        .zip(cpu_start)
        .map(|(end, start)| (end - start) / 7.0);
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
    let mb = new_bytes as f64 / 1e6;
    println!(
        "{name}: {} files, new {:.2} MB, old {:.2} MB, {findings} findings",
        changes.len(),
        mb,
        old_bytes as f64 / 1e6
    );
    println!(
        "  per push: median {:.1} ms (min {:.1}, max {:.1}, 7 runs); {:.1} MB/s of new manifests",
        median * 1e3,
        times.first().copied().unwrap_or(f64::NAN) * 1e3,
        times.last().copied().unwrap_or(f64::NAN) * 1e3,
        mb / median
    );
    if let Some(cpu) = cpu_per_push {
        println!(
            "  CPU time per push (all threads): {:.0} ms; {:.1} MB/s of new manifests per CPU second",
            cpu * 1e3,
            mb / cpu
        );
    }
}

fn make<'a>(
    paths: &'a [String],
    old: &'a [String],
    new: &'a [String],
    with_old: bool,
) -> Vec<FileChange<'a>> {
    paths
        .iter()
        .zip(old.iter().zip(new))
        .map(|(path, (old, new))| FileChange {
            old: with_old.then(|| FileVersion {
                path,
                bytes: old.as_bytes(),
            }),
            new: Some(FileVersion {
                path,
                bytes: new.as_bytes(),
            }),
        })
        .collect()
}

fn main() {
    let n = 1000;
    let old: Vec<String> = (0..n).map(|i| manifest(i, "1.0.0")).collect();
    // A: the image tag changes in the Deployment of each file (Service, ConfigMap unchanged).
    let tag: Vec<String> = (0..n).map(|i| manifest(i, "1.0.1")).collect();
    // B: every document of every file changes (the owner namespace is renamed).
    let all: Vec<String> = tag.iter().map(|t| t.replace("team-", "squad-")).collect();
    let paths: Vec<String> = (0..n)
        .map(|i| format!("clusters/prod/app-{i}.yaml"))
        .collect();
    let settings = Settings {
        rules: RuleId::ALL.to_vec(),
        image_registries: vec!["ghcr.io/acme/".to_string()],
        source_urls: vec!["https://github.com/acme/".to_string()],
        ..Settings::default()
    };
    let limits = Limits::default();
    run(
        "A. image tag bumped in 1,000 files",
        &make(&paths, &old, &tag, true),
        &settings,
        &limits,
    );
    run(
        "B. every document of 1,000 files changed",
        &make(&paths, &old, &all, true),
        &settings,
        &limits,
    );
    run(
        "C. 1,000 files added",
        &make(&paths, &old, &tag, false),
        &settings,
        &limits,
    );
    let peak_rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        })
        .unwrap_or_else(|| "?".to_string());
    println!("peak RSS: {peak_rss}");
}
