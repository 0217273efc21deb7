//! Diff semantics, custom rules, exceptions and the policy's TOML shape.

mod common;

use common::*;
use pushguard_manifest::{
    judge, ChangeKind, Date, FileChange, FileVersion, JudgeMode, Limits, RuleId, Settings,
};

fn policy(toml_text: &str) -> Settings {
    toml::from_str(toml_text).unwrap()
}

#[test]
fn old_violation_and_unrelated_change_is_not_reported() {
    let s = settings(&[RuleId::Privileged, RuleId::ImageLatest]);
    let old = deployment("api", "{privileged: true}");
    let new = old.replace("replicas", "x").replace(
        "name: api\n  namespace",
        "name: api\n  labels: {a: b}\n  namespace",
    );
    assert_ne!(old, new);
    assert!(judge_modified("d.yaml", &old, &new, &s).is_empty());
    // judge = "all" reports it again.
    let all = Settings {
        judge: JudgeMode::All,
        ..s.clone()
    };
    let f = judge_modified("d.yaml", &old, &new, &all);
    assert_eq!(rules_of(&f), ["privileged"]);
    assert_eq!(f[0].change, ChangeKind::Changed);
    // Turning it on is reported, once, as a change.
    let f = judge_modified(
        "d.yaml",
        &deployment("api", "{privileged: false}"),
        &old,
        &s,
    );
    assert_eq!(rules_of(&f), ["privileged"]);
    assert_eq!(f[0].change, ChangeKind::Changed);
    assert_eq!(
        f[0].message,
        "container `api` sets securityContext.privileged: true"
    );
    assert_eq!(
        f[0].to_string().split(':').take(3).collect::<Vec<_>>(),
        ["d.yaml", "12", "41"]
    );
}

#[test]
fn a_second_violation_in_another_container_is_new() {
    let s = settings(&[RuleId::Privileged]);
    let old = deployment("api", "{privileged: true}");
    let new = format!("{old}        - name: sidecar\n          image: x:1\n          securityContext: {{privileged: true}}\n");
    let f = judge_modified("d.yaml", &old, &new, &s);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].container.as_deref(), Some("sidecar"));
}

#[test]
fn moved_object_across_files_is_not_a_change() {
    let s = settings(&[
        RuleId::Privileged,
        RuleId::DenyDelete,
        RuleId::ProtectedNamespaces,
    ]);
    let d = deployment("api", "{privileged: true}");
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n";
    let old_a = format!("{ns}---\n{d}");
    let changes = [
        FileChange {
            old: Some(FileVersion {
                path: "a.yaml",
                bytes: old_a.as_bytes(),
            }),
            new: None,
        },
        FileChange {
            old: None,
            new: Some(FileVersion {
                path: "b/ns.yaml",
                bytes: ns.as_bytes(),
            }),
        },
        FileChange {
            old: None,
            new: Some(FileVersion {
                path: "b/deploy.yaml",
                bytes: d.as_bytes(),
            }),
        },
    ];
    let f = judge(&changes, &s, &Limits::default(), TODAY);
    assert!(f.is_empty(), "{f:?}");
    // Without the new files the same commit deletes a Namespace.
    let f = judge(&changes[..1], &s, &Limits::default(), TODAY);
    assert_eq!(rules_of(&f), ["deny-delete"]);
    assert_eq!(f[0].change, ChangeKind::Removed);
    assert_eq!((f[0].path.as_str(), f[0].line), ("a.yaml", 4));
    assert_eq!(f[0].object.as_deref(), Some("Namespace prod"));
}

#[test]
fn deny_delete_only_for_listed_kinds() {
    let s = policy("rules = [\"deny-delete\"]\ndeny_delete = [\"PersistentVolume\"]\n");
    let pv = "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: data}\n";
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
    for (text, want) in [(pv, 1), (cm, 0)] {
        let changes = [FileChange {
            old: Some(FileVersion {
                path: "x.yaml",
                bytes: text.as_bytes(),
            }),
            new: Some(FileVersion {
                path: "x.yaml",
                bytes: b"",
            }),
        }];
        assert_eq!(
            judge(&changes, &s, &Limits::default(), TODAY).len(),
            want,
            "{text}"
        );
    }
}

#[test]
fn protected_namespaces() {
    let s = settings(&[RuleId::ProtectedNamespaces]);
    let gr = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://github.com/acme/fleet\n";
    let f = judge_added("gr.yaml", gr, &s);
    assert_eq!(rules_of(&f), ["protected-namespaces"]);
    assert_eq!((f[0].line, f[0].column), (5, 14));
    assert!(f[0].message.contains("signers"), "{}", f[0].message);
    let changed = gr.replace("fleet", "fleet2");
    assert_eq!(
        judge_modified("gr.yaml", gr, &changed, &s)[0].change,
        ChangeKind::Changed
    );
    // An unchanged object in a changed file is not a change.
    let two = format!(
        "{gr}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: prod}}\n"
    );
    assert!(judge_modified("gr.yaml", gr, &two, &s).is_empty());
    // The Namespace object itself.
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n";
    assert_eq!(
        rules_of(&judge_added("ns.yaml", ns, &s)),
        ["protected-namespaces"]
    );
    // Removal.
    let changes = [FileChange {
        old: Some(FileVersion {
            path: "gr.yaml",
            bytes: gr.as_bytes(),
        }),
        new: None,
    }];
    let f = judge(&changes, &s, &Limits::default(), TODAY);
    assert_eq!(f[0].change, ChangeKind::Removed);
    // Other namespaces are free.
    assert!(judge_added(
        "gr.yaml",
        &gr.replace("namespace: flux-system", "namespace: team-a"),
        &s
    )
    .is_empty());
}

#[test]
fn broken_new_version_fails_closed_but_broken_old_version_holds_nothing() {
    let s = settings(&[RuleId::Privileged]);
    let good = deployment("api", "{privileged: true}");
    let broken = "a: [\n";
    let f = judge_modified("d.yaml", &good, broken, &s);
    assert_eq!(rules_of(&f), ["manifest-parse"]);
    assert_eq!(f[0].change, ChangeKind::Changed);
    assert_eq!(f[0].object, None);
    // From a broken old version every object is new.
    let f = judge_modified("d.yaml", broken, &good, &s);
    assert_eq!(rules_of(&f), ["privileged"]);
    assert_eq!(f[0].change, ChangeKind::Added);
}

#[test]
fn custom_rules() {
    let s = policy(
        r#"
rules = []
[[deny]]
id = "no-public-registry"
kinds = ["Deployment"]
field = "spec.template.spec.containers[*].image"
pattern = "(?i)^docker\\.io/\\w+/\\w+:\\d"
message = "images must come from the internal mirror"

[[deny]]
id = "no-zero-replicas"
kinds = ["Deployment"]
field = "spec.replicas"
equals = 0
on = "changed"
message = "protected workloads may not be scaled to zero"
fix = "keep replicas above zero"

[[deny]]
id = "needs-owner"
field = "metadata.labels.owner"
exists = false
on = "added"
message = "every object needs an owner label"

[[deny]]
id = "tier"
field = 'metadata.labels["acme.io/tier"]'
one_of = ["gold", "platinum"]
on = "removed"
message = "gold objects may not be removed"
"#,
    );
    let d = deployment("api", "{}").replace("ghcr.io/acme", "docker.io/acme");
    let f = judge_added("d.yaml", &d, &s);
    let mut ids = rules_of(&f);
    ids.sort();
    assert_eq!(ids, ["needs-owner", "no-public-registry"]);
    let img = f.iter().find(|f| f.rule == "no-public-registry").unwrap();
    assert_eq!((img.line, img.column), (11, 18));
    assert!(
        img.message
            .contains("spec.template.spec.containers[0].image"),
        "{}",
        img.message
    );

    // `on = "changed"`: replicas 0 on an existing object, not on a new one.
    let with_owner = d.replace(
        "  namespace: prod\n",
        "  namespace: prod\n  labels: {owner: sre}\n",
    );
    let zero = with_owner.replace("spec:\n  template", "spec:\n  replicas: 0\n  template");
    let f = judge_modified("d.yaml", &with_owner, &zero, &s);
    assert_eq!(rules_of(&f), ["no-zero-replicas"]);
    assert_eq!(f[0].fix, "keep replicas above zero");
    assert!(!rules_of(&judge_added("d.yaml", &zero, &s)).contains(&"no-zero-replicas"));

    // `on = "removed"` with a quoted key.
    let gold = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels: {owner: x, acme.io/tier: gold}\n";
    let changes = [FileChange {
        old: Some(FileVersion {
            path: "c.yaml",
            bytes: gold.as_bytes(),
        }),
        new: None,
    }];
    let f = judge(&changes, &s, &Limits::default(), TODAY);
    assert_eq!(rules_of(&f), ["tier"]);
    assert_eq!(f[0].change, ChangeKind::Removed);
}

#[test]
fn policy_errors_are_serde_errors() {
    for (bad, why) in [
        (
            "rules = [\"privileged\", \"no-such-rule\"]\n",
            "no-such-rule",
        ),
        ("colour = 1\n", "colour"),
        (
            "[[deny]]\nid='x'\nfield='a..b'\nmessage='m'\n",
            "field path",
        ),
        (
            "[[deny]]\nid='x'\nfield='a'\npattern='('\nmessage='m'\n",
            "pattern",
        ),
        (
            "[[exception]]\nrule='x'\nobject='*'\nreason='r'\nexpires='2026-13-01'\n",
            "YYYY-MM-DD",
        ),
        (
            "[[exception]]\nrule='x'\nobject='*'\nexpires='2026-12-01'\n",
            "reason",
        ),
        ("judge = \"sometimes\"\n", "sometimes"),
    ] {
        let e = toml::from_str::<Settings>(bad).unwrap_err().to_string();
        assert!(e.contains(why), "{bad}: {e}");
        assert!(e.contains("line"), "{bad}: {e}");
    }
    let s = policy("match = [\"clusters/**/*.yaml\"]\nrefs = [\"refs/heads/main\"]\nsigners = [\"sre\"]\nseverity = \"warn\"\nrules = [\"privileged\"]\n");
    assert_eq!(s.match_globs, ["clusters/**/*.yaml"]);
    assert_eq!(s.signers.as_deref(), Some(&["sre".to_string()][..]));
    assert_eq!(
        s.protected_namespaces,
        ["flux-system", "argocd", "kube-system"]
    );
    let every: Vec<String> = RuleId::ALL.iter().map(|r| format!("\"{r}\"")).collect();
    let s = policy(&format!("rules = [{}]\n", every.join(",")));
    assert_eq!(s.rules.len(), RuleId::ALL.len());
}

#[test]
fn exceptions_apply_until_they_expire() {
    let text = |expires: &str, object: &str| {
        format!(
            "rules = [\"privileged\"]\n[[exception]]\nrule = \"privileged\"\nobject = \"{object}\"\npath = \"apps/**/*.yaml\"\nreason = \"cilium needs it\"\nexpires = \"{expires}\"\n"
        )
    };
    let d = deployment("api", "{privileged: true}");
    assert_eq!(Date::parse("2026-06-01"), Some(Date(TODAY)));
    // Still valid on the expiry day itself.
    assert!(judge_added(
        "apps/prod/d.yaml",
        &d,
        &policy(&text("2026-06-01", "Deployment prod/api"))
    )
    .is_empty());
    assert!(judge_added(
        "apps/prod/d.yaml",
        &d,
        &policy(&text("2027-01-01", "Deployment prod/*"))
    )
    .is_empty());
    // Expired yesterday.
    assert_eq!(
        judge_added(
            "apps/prod/d.yaml",
            &d,
            &policy(&text("2026-05-31", "Deployment prod/api"))
        )
        .len(),
        1
    );
    // Other object, other path.
    assert_eq!(
        judge_added(
            "apps/prod/d.yaml",
            &d,
            &policy(&text("2027-01-01", "Deployment staging/*"))
        )
        .len(),
        1
    );
    assert_eq!(
        judge_added(
            "other/d.yaml",
            &d,
            &policy(&text("2027-01-01", "Deployment prod/api"))
        )
        .len(),
        1
    );
}

#[test]
fn protected_namespaces_as_deployment_targets() {
    let s = settings(&[RuleId::ProtectedNamespaces]);
    let ks = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: t, namespace: team-a}\nspec: {targetNamespace: kube-system, path: ./x}\n";
    let f = judge_added("ks.yaml", ks, &s);
    assert_eq!(rules_of(&f), ["protected-namespaces"]);
    assert!(
        f[0].message
            .contains("deploys into the protected namespace `kube-system`"),
        "{}",
        f[0].message
    );
    let app = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a, namespace: team-a}\nspec:\n  destination: {server: 'https://kubernetes.default.svc', namespace: argocd}\n";
    assert_eq!(judge_added("app.yaml", app, &s).len(), 1);
    let kfile = "resources: [a.yaml]\nnamespace: flux-system\n";
    let f = judge_added("apps/kustomization.yaml", kfile, &s);
    assert_eq!(rules_of(&f), ["protected-namespaces"]);
    assert_eq!(f[0].line, 2);
    assert!(judge_added(
        "apps/kustomization.yaml",
        "resources: [a.yaml]\nnamespace: team-a\n",
        &s
    )
    .is_empty());
}

#[test]
fn crlf_and_bom() {
    let s = settings(&[RuleId::Privileged]);
    let d = deployment("api", "{privileged: true}").replace('\n', "\r\n");
    let text =
        format!("\u{feff}apiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {{name: c}}\r\n---\r\n{d}");
    let f = judge_added("d.yaml", &text, &s);
    assert_eq!(rules_of(&f), ["privileged"]);
    assert_eq!(f[0].line, 16);
}

#[test]
fn commit_node_budget_covers_all_versions() {
    let s = settings(&[RuleId::DenyDelete]);
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: payments}\n";
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{{}}}\n",
        (0..500)
            .map(|i| format!("k{i}: v"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let limits = Limits {
        max_commit_nodes: 600,
        ..Limits::default()
    };
    // The old Namespace is over the budget once the big new file is counted: rather than
    // silently missing its removal, the commit is refused.
    let changes = [
        FileChange {
            old: None,
            new: Some(FileVersion {
                path: "big.yaml",
                bytes: big.as_bytes(),
            }),
        },
        FileChange {
            old: Some(FileVersion {
                path: "ns.yaml",
                bytes: ns.as_bytes(),
            }),
            new: None,
        },
    ];
    let f = judge(&changes, &s, &limits, TODAY);
    assert!(
        f.iter()
            .any(|f| f.rule == "manifest-limits" && f.message.contains("600 nodes")),
        "{f:?}"
    );
    // Within budget the removal itself is reported.
    let f = judge(&changes[1..], &s, &limits, TODAY);
    assert_eq!(rules_of(&f), ["deny-delete"]);
}

#[test]
fn exported_glob_matching() {
    use pushguard_manifest::glob_matches;
    assert!(glob_matches(
        "clusters/**/*.yaml",
        "clusters/a/b/c.yaml",
        false
    ));
    assert!(glob_matches("clusters/**/*.yaml", "clusters/c.yaml", false));
    assert!(!glob_matches("clusters/*.yaml", "clusters/a/c.yaml", false));
    assert!(glob_matches(
        "Deployment prod/*",
        "Deployment prod/api",
        true
    ));
    assert!(!glob_matches(
        "Deployment prod/*",
        "StatefulSet prod/api",
        true
    ));
}

#[test]
fn large_commits_are_loaded_in_parallel_with_the_same_result() {
    let s = settings(&[RuleId::Privileged, RuleId::DenyDelete]);
    let filler = format!(
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: filler}}\ndata: {{f: \"{}\"}}\n",
        "x".repeat(4000)
    );
    let texts: Vec<String> = (0..300)
        .map(|i| {
            let d = deployment(
                &format!("app-{i}"),
                if i % 3 == 0 {
                    "{privileged: true}"
                } else {
                    "{}"
                },
            );
            // Distinct filler names so identities do not collide across files.
            format!(
                "{d}{}",
                filler.replace("name: filler", &format!("name: filler-{i}"))
            )
        })
        .collect();
    let paths: Vec<String> = (0..300).map(|i| format!("apps/{i:03}.yaml")).collect();
    let changes: Vec<FileChange<'_>> = texts
        .iter()
        .zip(&paths)
        .map(|(t, p)| FileChange {
            old: None,
            new: Some(FileVersion {
                path: p,
                bytes: t.as_bytes(),
            }),
        })
        .collect();
    let total: usize = texts.iter().map(String::len).sum();
    assert!(total > 1024 * 1024, "{total}");
    let together = judge(&changes, &s, &Limits::default(), TODAY);
    let mut one_by_one = Vec::new();
    for c in &changes {
        one_by_one.extend(judge(
            std::slice::from_ref(c),
            &s,
            &Limits::default(),
            TODAY,
        ));
    }
    assert_eq!(together.len(), 100);
    assert_eq!(together, one_by_one);
}

#[test]
fn identical_documents_are_shared_without_changing_results() {
    let s = settings(&[RuleId::Privileged]);
    let a = deployment("a", "{privileged: true}");
    let b = deployment("b", "{privileged: false}");
    let old = format!("{a}---\n{b}");
    // b turns privileged, a is untouched but moves down by two lines.
    let new = format!("# header\n# more\n{a}---\n{}", b.replace("false", "true"));
    let f = judge_modified("d.yaml", &old, &new, &s);
    assert_eq!(rules_of(&f), ["privileged"]);
    assert_eq!(f[0].object.as_deref(), Some("Deployment prod/b"));
    assert_eq!(f[0].line, 27);
    // judge = "all" reports a as well, at its new position.
    let all = Settings {
        judge: JudgeMode::All,
        ..s.clone()
    };
    let f = judge_modified("d.yaml", &old, &new, &all);
    let lines: Vec<u32> = f.iter().map(|f| f.line).collect();
    assert_eq!(lines, [14, 27]);
    // A rename: the objects carry the new path.
    let changes = [FileChange {
        old: Some(FileVersion {
            path: "old.yaml",
            bytes: old.as_bytes(),
        }),
        new: Some(FileVersion {
            path: "new.yaml",
            bytes: new.as_bytes(),
        }),
    }];
    let f = judge(&changes, &s, &Limits::default(), TODAY);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].path.as_str(), f[0].line), ("new.yaml", 27));
    // An old version that does not load shares nothing: the broken document is reported.
    let broken = format!("{a}---\nx: [\n");
    let f = judge_modified("d.yaml", &broken, &broken, &s);
    assert_eq!(rules_of(&f), ["manifest-parse"]);
}

#[test]
fn unreadable_new_version_is_not_also_a_deletion() {
    let s = settings(&[RuleId::DenyDelete, RuleId::ProtectedNamespaces]);
    let old = "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n";
    let f = judge_modified(
        "ns.yaml",
        old,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system, name: x}\n",
        &s,
    );
    assert_eq!(rules_of(&f), ["manifest-parse"]);
}

/// An exception scoped to one file (`path`) covers that file's object only: a same-named
/// object in another file is judged on its own, even when the commit also touches the
/// excepted file (whose old version must not excuse the other file's object).
#[test]
fn an_exception_scoped_to_a_file_does_not_cover_a_same_named_object_elsewhere() {
    let s = policy(
        "rules = [\"privileged\"]\n[[exception]]\nrule = \"privileged\"\nobject = \"Deployment prod/api\"\npath = \"apps/cilium.yaml\"\nreason = \"cilium needs it\"\nexpires = \"2027-01-01\"\n",
    );
    let excepted = deployment("api", "{privileged: true}");
    let touched = excepted.replace(
        "name: api\n  namespace",
        "name: api\n  labels: {a: b}\n  namespace",
    );
    assert_ne!(excepted, touched);
    for copy in [excepted.clone(), touched.clone()] {
        let changes = [
            FileChange {
                old: Some(FileVersion {
                    path: "apps/cilium.yaml",
                    bytes: excepted.as_bytes(),
                }),
                new: Some(FileVersion {
                    path: "apps/cilium.yaml",
                    bytes: touched.as_bytes(),
                }),
            },
            FileChange {
                old: None,
                new: Some(FileVersion {
                    path: "apps/evil.yaml",
                    bytes: copy.as_bytes(),
                }),
            },
        ];
        let f = judge(&changes, &s, &Limits::default(), TODAY);
        assert_eq!(rules_of(&f), ["privileged"], "{f:?}");
        assert_eq!(f[0].path, "apps/evil.yaml");
        assert_eq!(f[0].change, ChangeKind::Added);
        // Control: the excepted file alone passes.
        let f = judge(&changes[..1], &s, &Limits::default(), TODAY);
        assert!(f.is_empty(), "{f:?}");
    }
}

/// An old violation in one file does not excuse a same-named object in another file either
/// (no exception involved).
#[test]
fn old_violations_are_not_pooled_across_files() {
    let s = settings(&[RuleId::Privileged]);
    let old = deployment("api", "{privileged: true}");
    let touched = old.replace(
        "name: api\n  namespace",
        "name: api\n  labels: {a: b}\n  namespace",
    );
    let changes = [
        FileChange {
            old: Some(FileVersion {
                path: "a.yaml",
                bytes: old.as_bytes(),
            }),
            new: Some(FileVersion {
                path: "a.yaml",
                bytes: touched.as_bytes(),
            }),
        },
        FileChange {
            old: None,
            new: Some(FileVersion {
                path: "b.yaml",
                bytes: old.as_bytes(),
            }),
        },
    ];
    let f = judge(&changes, &s, &Limits::default(), TODAY);
    assert_eq!(rules_of(&f), ["privileged"], "{f:?}");
    assert_eq!(f[0].path, "b.yaml");
}

/// A move is still a move: an object that leaves one file for another, with its violation, is
/// not new — by rename, or by deleting one file and adding another, changed on the way too.
#[test]
fn a_moved_object_keeps_its_old_violations() {
    let s = settings(&[RuleId::Privileged]);
    let old = deployment("api", "{privileged: true}");
    let changed = old.replace(
        "name: api\n  namespace",
        "name: api\n  labels: {a: b}\n  namespace",
    );
    for new in [old.clone(), changed.clone()] {
        let rename = [FileChange {
            old: Some(FileVersion {
                path: "a.yaml",
                bytes: old.as_bytes(),
            }),
            new: Some(FileVersion {
                path: "b.yaml",
                bytes: new.as_bytes(),
            }),
        }];
        assert!(judge(&rename, &s, &Limits::default(), TODAY).is_empty());
        // The object leaves a file that keeps other content.
        let other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: prod}\n";
        let old_a = format!("{other}---\n{old}");
        let split = [
            FileChange {
                old: Some(FileVersion {
                    path: "a.yaml",
                    bytes: old_a.as_bytes(),
                }),
                new: Some(FileVersion {
                    path: "a.yaml",
                    bytes: other.as_bytes(),
                }),
            },
            FileChange {
                old: None,
                new: Some(FileVersion {
                    path: "b.yaml",
                    bytes: new.as_bytes(),
                }),
            },
        ];
        assert!(judge(&split, &s, &Limits::default(), TODAY).is_empty());
        // Control: a move that also adds a violation reports that one.
        let worse = new.replace(
            "{privileged: true}",
            "{privileged: true, procMount: Unmasked}",
        );
        let s2 = settings(&[RuleId::Privileged, RuleId::ProcMount]);
        let moved = [FileChange {
            old: Some(FileVersion {
                path: "a.yaml",
                bytes: old.as_bytes(),
            }),
            new: Some(FileVersion {
                path: "b.yaml",
                bytes: worse.as_bytes(),
            }),
        }];
        assert_eq!(
            rules_of(&judge(&moved, &s2, &Limits::default(), TODAY)),
            ["proc-mount"]
        );
    }
    // Moved into two files at once: one of them is a copy, and which cannot be told, so both
    // are judged as added.
    let two = [
        FileChange {
            old: Some(FileVersion {
                path: "a.yaml",
                bytes: old.as_bytes(),
            }),
            new: Some(FileVersion {
                path: "b.yaml",
                bytes: old.as_bytes(),
            }),
        },
        FileChange {
            old: None,
            new: Some(FileVersion {
                path: "c.yaml",
                bytes: old.as_bytes(),
            }),
        },
    ];
    let f = judge(&two, &s, &Limits::default(), TODAY);
    assert_eq!(rules_of(&f), ["privileged", "privileged"], "{f:?}");
}

/// Parsing through a push's shared cache (the renderer's) gives the findings of a plain
/// judge: on additions, edits of multi-document files (where the plain judge reuses unchanged
/// documents), moves, deletions, a file that does not parse, and with `judge = "all"`; and a
/// cache already holding the contents (warmed, or from an earlier judge) changes nothing.
#[test]
fn the_shared_parse_cache_gives_the_same_findings() {
    use pushguard_manifest::render::ParseCache;
    let mut s = settings(&[
        RuleId::Privileged,
        RuleId::DenyDelete,
        RuleId::HostNamespaces,
    ]);
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n";
    let old_multi = format!("{}---\n{}", deployment("a", "{}"), deployment("b", "{}"));
    let new_multi = format!(
        "{}---\n{}",
        deployment("a", "{}"),
        deployment("b", "{privileged: true}")
    );
    let v = |path: &'static str, text: &'static str| {
        Some(FileVersion {
            path,
            bytes: text.as_bytes(),
        })
    };
    let old_multi: &'static str = Box::leak(old_multi.into_boxed_str());
    let new_multi: &'static str = Box::leak(new_multi.into_boxed_str());
    let priv_c: &'static str = Box::leak(deployment("c", "{privileged: true}").into_boxed_str());
    let changes = [
        FileChange {
            old: v("apps/multi.yaml", old_multi),
            new: v("apps/multi.yaml", new_multi),
        },
        FileChange {
            old: None,
            new: v("apps/c.yaml", priv_c),
        },
        FileChange {
            old: v("apps/ns.yaml", ns),
            new: None,
        },
        FileChange {
            old: v("apps/old-name.yaml", old_multi),
            new: v("apps/new-name.yaml", old_multi),
        },
        FileChange {
            old: None,
            new: v("apps/broken.yaml", "a: [\n"),
        },
    ];
    let show = |f: &[pushguard_manifest::Finding]| {
        f.iter()
            .map(|f| {
                format!(
                    "{} {}:{}:{} {}",
                    f.rule, f.path, f.line, f.column, f.message
                )
            })
            .collect::<Vec<_>>()
    };
    for mode in [JudgeMode::Changes, JudgeMode::All] {
        s.judge = mode;
        let plain = show(&judge(&changes, &s, &Limits::default(), TODAY));
        assert!(plain.len() >= 3, "{plain:#?}");
        let cache = ParseCache::default();
        let cold = show(&pushguard_manifest::judge_cached(
            &changes,
            &s,
            &Limits::default(),
            TODAY,
            &cache,
        ));
        let warm = show(&pushguard_manifest::judge_cached(
            &changes,
            &s,
            &Limits::default(),
            TODAY,
            &cache,
        ));
        assert_eq!(plain, cold, "{mode:?}");
        assert_eq!(plain, warm, "{mode:?}");
    }
}
