//! The four push scenarios of the issue, with inputs made by real git: each commit's changed
//! files (`git diff-tree -M`, renames included) and their old/new blobs (`git cat-file`) are
//! judged the way the hook will call the crate.

use std::path::PathBuf;
use std::process::Command;

use pushguard_manifest::{judge, FileChange, FileVersion, Finding, Limits, RuleId, Settings};

/// A path and the bytes of its blob.
type Blob = (String, Vec<u8>);

struct Repo {
    dir: PathBuf,
}

impl Repo {
    fn new(name: &str) -> Repo {
        let dir =
            std::env::temp_dir().join(format!("pushguard-manifest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let repo = Repo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Test"]);
        repo.git(&["config", "user.email", "test@example.com"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    fn git(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn write(&self, path: &str, text: &str) {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
        String::from_utf8(self.git(&["rev-parse", "HEAD"]))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Judges `commit` against its first parent, as the hook does.
    fn judge(&self, commit: &str, settings: &Settings) -> Vec<Finding> {
        let parent = format!("{commit}^");
        let diff = self.git(&[
            "diff-tree",
            "-r",
            "-M",
            "--no-commit-id",
            "--name-status",
            "-z",
            &parent,
            commit,
        ]);
        let fields: Vec<String> = diff
            .split(|b| *b == 0)
            .filter(|f| !f.is_empty())
            .map(|f| String::from_utf8(f.to_vec()).unwrap())
            .collect();
        // (old path, new path) per change.
        let mut pairs: Vec<(Option<String>, Option<String>)> = Vec::new();
        let mut i = 0;
        while i < fields.len() {
            let status = fields[i].as_str();
            match status.chars().next().unwrap() {
                'A' => pairs.push((None, Some(fields[i + 1].clone()))),
                'D' => pairs.push((Some(fields[i + 1].clone()), None)),
                'M' => pairs.push((Some(fields[i + 1].clone()), Some(fields[i + 1].clone()))),
                'R' => {
                    pairs.push((Some(fields[i + 1].clone()), Some(fields[i + 2].clone())));
                    i += 1;
                }
                other => panic!("status {other}"),
            }
            i += 2;
        }
        let blob =
            |rev: &str, path: &str| self.git(&["cat-file", "blob", &format!("{rev}:{path}")]);
        let contents: Vec<(Option<Blob>, Option<Blob>)> = pairs
            .into_iter()
            .map(|(o, n)| {
                (
                    o.map(|p| {
                        let b = blob(&parent, &p);
                        (p, b)
                    }),
                    n.map(|p| {
                        let b = blob(commit, &p);
                        (p, b)
                    }),
                )
            })
            .collect();
        let changes: Vec<FileChange<'_>> = contents
            .iter()
            .map(|(o, n)| FileChange {
                old: o.as_ref().map(|(p, b)| FileVersion { path: p, bytes: b }),
                new: n.as_ref().map(|(p, b)| FileVersion { path: p, bytes: b }),
            })
            .collect();
        judge(&changes, settings, &Limits::default(), 20_600)
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn policy() -> Settings {
    Settings {
        rules: vec![
            RuleId::Privileged,
            RuleId::PlaintextSecrets,
            RuleId::GitopsSources,
            RuleId::HostNamespaces,
        ],
        source_urls: vec!["https://github.com/acme/".to_string()],
        ..Settings::default()
    }
}

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: prod
spec:
  replicas: 2
  template:
    spec:
      hostNetwork: true
      containers:
        - name: api
          image: ghcr.io/acme/api:1.0
          securityContext:
            privileged: false
";

const SOURCE: &str = "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: fleet
  namespace: team-a
spec:
  interval: 1m
  url: https://github.com/acme/fleet
";

fn repo_with_base(name: &str) -> Repo {
    let repo = Repo::new(name);
    repo.write("clusters/prod/api.yaml", DEPLOY);
    repo.write("clusters/prod/source.yaml", SOURCE);
    repo.commit("base");
    repo
}

#[test]
fn a_commit_turning_on_privileged() {
    let repo = repo_with_base("privileged");
    repo.write(
        "clusters/prod/api.yaml",
        &DEPLOY.replace("privileged: false", "privileged: yes"),
    );
    let c = repo.commit("turn it on");
    let f = repo.judge(&c, &policy());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, "privileged");
    assert_eq!(
        (f[0].path.as_str(), f[0].line, f[0].column),
        ("clusters/prod/api.yaml", 15, 25)
    );
    assert_eq!(f[0].object.as_deref(), Some("Deployment prod/api"));
    assert_eq!(f[0].container.as_deref(), Some("api"));
}

#[test]
fn a_plaintext_secret() {
    let repo = repo_with_base("secret");
    repo.write("clusters/prod/db.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: prod}\nstringData:\n  password: hunter2\n");
    let c = repo.commit("add a secret");
    let f = repo.judge(&c, &policy());
    assert!(!f.is_empty());
    assert!(
        f.iter()
            .all(|f| f.rule == "plaintext-secrets" && f.path == "clusters/prod/db.yaml"),
        "{f:#?}"
    );
    assert!(f
        .iter()
        .any(|f| f.line == 5 && f.message.contains("`password`")));
}

#[test]
fn a_git_repository_re_pointed() {
    let repo = repo_with_base("source");
    // Re-pointed and moved to another file in the same commit.
    std::fs::remove_file(repo.dir.join("clusters/prod/source.yaml")).unwrap();
    repo.write(
        "clusters/prod/sources/fleet.yaml",
        &SOURCE.replace("acme/fleet", "evil/fleet"),
    );
    let c = repo.commit("re-point");
    let f = repo.judge(&c, &policy());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, "gitops-sources");
    assert_eq!(
        (f[0].path.as_str(), f[0].line),
        ("clusters/prod/sources/fleet.yaml", 8)
    );
    assert_eq!(f[0].change, pushguard_manifest::ChangeKind::Changed);
}

#[test]
fn an_unrelated_change_next_to_an_old_violation() {
    let repo = repo_with_base("unrelated");
    // hostNetwork: true was already there; the commit only scales the Deployment and renames
    // the file.
    std::fs::remove_file(repo.dir.join("clusters/prod/api.yaml")).unwrap();
    repo.write(
        "clusters/prod/api-deployment.yaml",
        &DEPLOY.replace("replicas: 2", "replicas: 3"),
    );
    let c = repo.commit("scale");
    assert!(repo.judge(&c, &policy()).is_empty());
    // The same history judged with judge = "all" reports the old violation.
    let all = Settings {
        judge: pushguard_manifest::JudgeMode::All,
        ..policy()
    };
    let f = repo.judge(&c, &all);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].rule, "host-namespaces");
}
