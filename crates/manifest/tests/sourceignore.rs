//! What a Flux `GitRepository` artifact holds: source-controller archives the repository
//! without symlinks and without what `.sourceignore` files, `spec.ignore` or Flux's default
//! exclusions leave out, so a Kustomization renders (and prunes to) exactly that.

use std::sync::Arc;

use pushguard_manifest::render::{flux_kustomization, Generator, MemTree, Rendered, Tree};
use pushguard_manifest::yaml::{self, Node};
use pushguard_manifest::Limits;

const SYNC: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  path: ./clusters/prod
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
";

fn doc(text: &str) -> Node {
    yaml::load(text.as_bytes(), &Limits::default())
        .expect("yaml")
        .remove(0)
}

fn prod() -> MemTree {
    MemTree::new()
        .file(
            "clusters/prod/apps.yaml",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec: {path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n",
        )
        .file(
            "clusters/prod/ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: podinfo}\n",
        )
}

fn render(tree: &MemTree, generators: &[Generator]) -> (Rendered, Vec<String>) {
    let t = Tree::new(tree);
    let r = flux_kustomization(
        &t,
        &doc(SYNC),
        "clusters/prod/sync.yaml",
        &Limits::default(),
        generators,
    )
    .expect("render");
    (r, t.take_reads().into_iter().collect())
}

fn names(r: &Rendered) -> Vec<String> {
    assert!(r.problems.is_empty(), "{:#?}", r.problems);
    let mut out: Vec<String> = r
        .objects
        .iter()
        .map(|o| format!("{} {}", o.identity.kind, o.identity.name))
        .collect();
    out.sort();
    out
}

fn ignore_files(paths: &[&str]) -> Vec<Generator> {
    paths.iter().map(|p| Generator::ignore_file(p)).collect()
}

#[test]
fn a_sourceignore_anywhere_above_leaves_a_file_out_and_is_in_the_closure() {
    let (r, reads) = render(&prod(), &[]);
    assert_eq!(names(&r), ["Kustomization apps", "Namespace podinfo"]);
    // Looked for even where there is none: adding one changes the root.
    assert!(reads.contains(&".sourceignore".to_string()), "{reads:?}");
    assert!(
        reads.contains(&"clusters/prod/.sourceignore".to_string()),
        "{reads:?}"
    );

    for (at, pattern) in [
        (".sourceignore", "clusters/prod/apps.yaml"),
        (".sourceignore", "/clusters/prod/apps.yaml"),
        (".sourceignore", "apps.yaml"),
        (".sourceignore", "**/apps.yaml"),
        ("clusters/.sourceignore", "prod/apps.yaml"),
        ("clusters/prod/.sourceignore", "apps.*"),
    ] {
        let tree = prod().file(at, &format!("# hide it\n\n{pattern}\n"));
        let (r, reads) = render(&tree, &ignore_files(&[at]));
        assert_eq!(names(&r), ["Namespace podinfo"], "{at}: {pattern}");
        assert!(reads.contains(&at.to_string()), "{reads:?}");
    }
    // Scoped to its directory: a file elsewhere does not reach prod.
    let tree = prod().file("apps/.sourceignore", "apps.yaml\n");
    let (r, _) = render(&tree, &ignore_files(&["apps/.sourceignore"]));
    assert_eq!(names(&r), ["Kustomization apps", "Namespace podinfo"]);
}

#[test]
fn a_negation_takes_a_file_back_from_a_directory_left_out() {
    let tree = prod().file(".sourceignore", "clusters/prod/\n!clusters/prod/ns.yaml\n");
    let (r, _) = render(&tree, &ignore_files(&[".sourceignore"]));
    assert_eq!(names(&r), ["Namespace podinfo"]);
    let tree = prod().file(".sourceignore", "!clusters/prod/ns.yaml\nclusters/prod/\n");
    let (r, _) = render(&tree, &ignore_files(&[".sourceignore"]));
    let why = &r.problems[0].message;
    assert!(why.contains("does not exist"), "{why}");
}

#[test]
fn symlinks_are_not_in_the_artifact() {
    let tree = prod()
        .file(
            "shared/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n",
        )
        .symlink("clusters/prod/cm.yaml", "../../shared/cm.yaml")
        .symlink("clusters/prod/more", "../../shared");
    let (r, _) = render(&tree, &[]);
    assert_eq!(names(&r), ["Kustomization apps", "Namespace podinfo"]);
}

#[test]
fn flux_default_exclusions_hold_only_while_no_pattern_is_set() {
    let tree = prod().file(
        "clusters/prod/cloudbuild.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ci}\n",
    );
    let (r, _) = render(&tree, &[]);
    assert_eq!(names(&r), ["Kustomization apps", "Namespace podinfo"]);
    // Any pattern anywhere turns the defaults off (source-controller's SourceIgnoreFilter).
    let tree = tree.file("docs/.sourceignore", "*.md\n");
    let (r, reads) = render(&tree, &ignore_files(&["docs/.sourceignore"]));
    assert_eq!(
        names(&r),
        ["ConfigMap ci", "Kustomization apps", "Namespace podinfo"]
    );
    assert!(
        reads.contains(&"docs/.sourceignore".to_string()),
        "{reads:?}"
    );
    // A file of comments only sets no pattern.
    let tree = tree.file("docs/.sourceignore", "# nothing\n");
    let (r, _) = render(&tree, &ignore_files(&["docs/.sourceignore"]));
    assert_eq!(names(&r), ["Kustomization apps", "Namespace podinfo"]);
}

#[test]
fn the_git_repositorys_spec_ignore_counts_and_its_file_is_read() {
    let repo = |ignore: &str| {
        Generator {
        file: "clusters/prod/gotk-sync.yaml".into(),
        object: Arc::new(doc(&format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {{name: flux-system, namespace: flux-system}}\nspec:\n  url: ssh://git@example.com/fleet\n  ignore: |\n    {ignore}\n"
        ))),
    }
    };
    let (r, reads) = render(&prod(), &[repo("clusters/prod/ns.yaml")]);
    assert_eq!(names(&r), ["Kustomization apps"]);
    assert!(
        reads.contains(&"clusters/prod/gotk-sync.yaml".to_string()),
        "{reads:?}"
    );
    // Another GitRepository's does not.
    let other = Generator {
        object: Arc::new(doc("apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: other, namespace: flux-system}\nspec:\n  ignore: \"clusters/prod/ns.yaml\"\n")),
        ..repo("")
    };
    let (r, _) = render(&prod(), &[other]);
    assert_eq!(names(&r), ["Kustomization apps", "Namespace podinfo"]);
}

#[test]
fn ignore_files_pushguard_cannot_match_exactly_refuse_the_root() {
    for (at, text) in [
        (".sourceignore", "clusters/prod/[a]pps.yaml\n".to_string()),
        ("clusters/.sourceignore", "\\#apps.yaml\n".to_string()),
        (
            "other/.sourceignore",
            format!("{}\napps.yaml\n", "x".repeat(70_000)),
        ),
    ] {
        let tree = prod().file(at, &text);
        let (r, _) = render(&tree, &ignore_files(&[at]));
        assert_eq!(r.problems.len(), 1, "{at}: {:#?}", r.problems);
        let why = &r.problems[0].message;
        assert!(why.contains("cannot be modelled"), "{why}");
        assert!(r.objects.is_empty());
    }
    // A .sourceignore that is a symlink is read through it by source-controller: refused.
    let tree = prod()
        .file("shared/ignore", "apps.yaml\n")
        .symlink(".sourceignore", "shared/ignore");
    let (r, _) = render(&tree, &ignore_files(&[".sourceignore"]));
    assert_eq!(r.problems.len(), 1, "{:#?}", r.problems);
}
