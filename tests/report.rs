//! What people and machines read: the `git push` message (wrapped, grouped, with advice that
//! fits what was refused), `pushguard check`'s own wording, the JSON output and audit record
//! (path, line and column apart), and SARIF as GitHub's code scanning documents it.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::gpg::*;
use common::*;

/// A policy that wants every new commit on main signed by a key of `[keys]`.
fn signed_policy(keys: &std::path::Path) -> String {
    format!(
        r#"version = 1
audit_log = "audit.jsonl"
[keys]
openpgp = ["{}/*.asc"]
[[ref]]
match = "refs/heads/main"
require_signed = true
[[ref]]
match = "refs/heads/release/*"
delete = false
"#,
        keys.display()
    )
}

/// A fixture with one trusted key (never used to sign: every commit here is unsigned).
fn signed_setup() -> Setup {
    let s = Setup::new("version = 1\n");
    let key = s.gpg.key("Dana Dev <dana@example.com>", "ed25519");
    s.gpg.export(&key, &s.keys.join("dana.asc"));
    s.f.set_policy(&signed_policy(&s.keys));
    s
}

/// `n` unsigned commits on top of HEAD in the work clone, made in one `git fast-import`.
fn unsigned_commits(f: &Fixture, n: usize) {
    let head = f.git(&["rev-parse", "HEAD"]);
    let mut stream = String::new();
    for i in 0..n {
        let msg = format!("change {i}\n");
        let data = format!("{i}\n");
        stream.push_str("commit refs/heads/main\n");
        stream.push_str(&format!(
            "committer Dana Dev <dana@example.com> {} +0000\n",
            1_700_000_000 + i
        ));
        stream.push_str(&format!("data {}\n{msg}", msg.len()));
        if i == 0 {
            stream.push_str(&format!("from {head}\n"));
        }
        stream.push_str(&format!(
            "M 100644 inline n.txt\ndata {}\n{data}\n",
            data.len()
        ));
    }
    let mut child = f
        .cmd("git", &f.work)
        .args(["fast-import", "--quiet", "--force"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    f.git(&["reset", "-q", "--hard", "main"]);
}

/// The lines the hook printed, as the pusher sees them.
fn remote_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("remote:")).collect()
}

fn assert_fits(lines: &[&str]) {
    for l in lines {
        // git pads each `remote:` line with spaces (to overwrite progress output): not ours.
        let l = l.trim_end();
        // A line may only pass 80 columns where one word (a path, a long id) is longer.
        if l.chars().count() > 80 {
            let longest = l.split(' ').map(|w| w.chars().count()).max().unwrap_or(0);
            assert!(longest > 40, "line over 80 columns: {l:?}");
        }
    }
}

#[test]
fn hundreds_of_unsigned_commits_are_one_block_with_a_count() {
    let s = signed_setup();
    let f = &s.f;
    f.git(&["commit", "-q", "--allow-empty", "-m", "root"]);
    unsigned_commits(f, 300);
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    let lines = remote_lines(&r.out);
    assert!(lines.len() < 25, "{} lines: {r:?}", lines.len());
    assert!(
        r.out
            .contains("error[signature.missing] refs/heads/main: 301 commits"),
        "{r:?}"
    );
    assert!(
        r.out
            .contains("… and 298 more commits with the same violation"),
        "{r:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.contains("  commit: ")).count(),
        3,
        "{r:?}"
    );
    assert!(
        r.out.contains("push REJECTED: 301 violations"),
        "the header counts every violation: {r:?}"
    );
    assert_fits(&lines);
    assert!(
        r.out.contains("git commit --amend -S"),
        "a developer's own commits can be re-signed: {r:?}"
    );
    // The audit record keeps every one.
    let audit = f.audit_lines();
    assert_eq!(audit[0]["violations"].as_array().unwrap().len(), 301);
}

#[test]
fn gitlab_lines_keep_their_prefix_and_fit_80_columns_after_remote() {
    let f = Fixture::new(BASIC_POLICY);
    f.commit_as("eve@elsewhere.test", "a.txt", "1", "outsider");
    let r = f.push_as(
        &[
            ("GL_ID", "user-7"),
            ("GL_PROTOCOL", "ssh"),
            ("GL_REPOSITORY", "project-7"),
            ("GL_USERNAME", "eve"),
        ],
        &["origin", "main"],
    );
    assert_rejected(&r);
    let lines = remote_lines(&r.out);
    assert!(lines.len() > 8, "{r:?}");
    for l in &lines {
        let l = l.trim_end();
        assert!(l.starts_with("remote: GL-HOOK-ERR:"), "{l:?}");
        assert!(
            l.chars().count() <= 80,
            "{} columns: {l:?}",
            l.chars().count()
        );
    }
    // The long fix is wrapped, not cut: its last words are still there.
    assert!(r.out.contains("for several"), "{r:?}");
    // A wrapped command stays on one line.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("`git commit --amend --reset-author --no-edit`")),
        "{r:?}"
    );
}

#[test]
fn a_refused_deletion_is_not_told_to_fix_commits() {
    let s = signed_setup();
    let f = &s.f;
    f.git(&["commit", "-q", "--allow-empty", "-m", "root"]);
    f.git(&["branch", "release/1"]);
    assert_accepted(&s.push(&["origin", "release/1"]));
    let r = s.push(&["origin", ":release/1"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[ref.delete] refs/heads/release/1"),
        "{r:?}"
    );
    assert!(r.out.contains("no ref was deleted"), "{r:?}");
    assert!(!r.out.contains("fix the commits"), "{r:?}");
    assert!(!r.out.contains("push again"), "{r:?}");
    assert!(f.remote_ref("refs/heads/release/1").is_some());
}

/// A commit as GitHub's web UI makes it: committed by `GitHub <noreply@github.com>`, unsigned.
fn web_merge_commit(f: &Fixture) -> String {
    f.git(&["commit", "-q", "--allow-empty", "-m", "root"]);
    let o = f
        .cmd("git", &f.work)
        .env("GIT_COMMITTER_NAME", "GitHub")
        .env("GIT_COMMITTER_EMAIL", "noreply@github.com")
        .args([
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "Merge pull request #7",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    f.git(&["rev-parse", "HEAD"])
}

fn check(f: &Fixture, format: &str, range: &str, env: &[(&str, &str)]) -> Run {
    let mut cmd = f.cmd(BIN, &f.work);
    cmd.args(["check", "--policy"])
        .arg(&f.policy)
        .args([
            "--repo",
            ".",
            "--ref",
            "refs/heads/main",
            "--format",
            format,
            range,
        ])
        .envs(env.iter().copied());
    run_of(cmd.output().unwrap())
}

#[test]
fn a_web_merge_is_not_told_to_amend_and_check_does_not_say_push_rejected() {
    let s = signed_setup();
    let f = &s.f;
    let merge = web_merge_commit(f);
    let r = check(f, "human", &format!("..{merge}"), &[]);
    assert_eq!(r.code, 1, "{r:?}");
    // After check's note on what it judged (`pushguard: judged 2 commits …`).
    assert!(
        r.out.lines().any(|l| l
            .starts_with("pushguard check: REJECTED: a push to refs/heads/main would be refused")),
        "{r:?}"
    );
    assert!(!r.out.contains("push REJECTED"), "{r:?}");
    assert!(!r.out.contains("Nothing was updated"), "{r:?}");
    assert!(r.out.contains("pushguard check pushed nothing"), "{r:?}");
    // Two commits: the developer's root (amend it) and the web merge (merge locally instead).
    assert!(r.out.contains("made by the Git host"), "{r:?}");
    assert_eq!(r.out.matches("made by the Git host").count(), 1, "{r:?}");
    assert_eq!(
        r.out.matches("sign your commits with a key").count(),
        1,
        "{r:?}"
    );
    // Every line fits 80 columns: check output is a CI log, no `remote: ` in front.
    assert_fits(&r.out.lines().collect::<Vec<_>>());

    // The same advice through the real hook, for a web push on Gitea (the host says `web`).
    let r = s.push(&["origin", "main"]);
    assert_rejected(&r);
    assert_eq!(r.out.matches("made by the Git host").count(), 1, "{r:?}");
    let mut cmd = f.cmd("git", &f.work);
    cmd.env("GNUPGHOME", &s.gpg.home)
        .env("GITEA_REPO_NAME", "fleet")
        .env("GITEA_REPO_USER_NAME", "ops")
        .env("GITEA_PUSHER_NAME", "dana")
        .env("SSH_ORIGINAL_COMMAND", "gitea-internal")
        .args(["push", "origin", "main"]);
    let r = run_of(cmd.output().unwrap());
    assert_rejected(&r);
    assert!(!r.out.contains("--amend -S"), "{r:?}");
    assert!(r.out.contains("made by the Git host"), "{r:?}");
}

const MANIFEST_POLICY: &str = r#"version = 1
audit_log = "audit.jsonl"
[identities]
allow = ["*@example.com"]
[names]
branches = "^main$"
[files]
forbidden = ["*.pem"]
[[manifests]]
match = ["apps/**/*.yaml"]
rules = ["privileged"]
"#;

const PRIVILEGED: &str = "apiVersion: v1
kind: Pod
metadata: {name: p, namespace: prod}
spec:
  containers:
  - name: app
    image: ghcr.io/acme/app:1.0
    securityContext: {privileged: true}
";

/// A push with a manifest finding in a file whose name needs percent-encoding, a forbidden
/// file, and an outsider's commit.
fn manifest_fixture() -> (Fixture, String, String) {
    let f = Fixture::new(MANIFEST_POLICY);
    let base = f.commit("README", "x", "base");
    f.commit("apps/my app#1.yaml", PRIVILEGED, "privileged pod");
    f.commit("tls/key.pem", "k", "a key");
    let tip = f.commit_as("eve@elsewhere.test", "b.txt", "1", "outsider");
    (f, base, tip)
}

#[test]
fn json_and_audit_record_carry_path_line_and_column_apart() {
    let (f, base, tip) = manifest_fixture();
    let r = check(&f, "json", &format!("{base}..{tip}"), &[]);
    assert_eq!(r.code, 1, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    let privileged = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "privileged")
        .unwrap()
        .clone();
    assert_eq!(privileged["path"], "apps/my app#1.yaml");
    assert_eq!(privileged["line"], 8);
    assert!(privileged["column"].as_u64().unwrap() >= 1);
    let col = privileged["column"].as_u64().unwrap();
    assert_eq!(
        privileged["location"],
        format!("apps/my app#1.yaml:8:{col}")
    );
    let forbidden = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "files.forbidden")
        .unwrap()
        .clone();
    assert_eq!(forbidden["path"], "tls/key.pem");
    assert!(forbidden["line"].is_null());
    assert_eq!(forbidden["location"], "tls/key.pem");

    // The hook's audit record: the same fields, the old ones all still there.
    let r = f.push(&["origin", "main"]);
    assert_rejected(&r);
    assert!(r.out.contains("path:   apps/my app#1.yaml:8:"), "{r:?}");
    let audit = f.audit_lines();
    let rec = audit[0]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "privileged")
        .unwrap()
        .clone();
    assert_eq!(rec["path"], "apps/my app#1.yaml");
    assert_eq!(rec["line"], 8);
    for key in [
        "rule",
        "severity",
        "ref",
        "commit",
        "subject",
        "path",
        "line",
        "column",
        "location",
        "object",
        "container",
        "what",
        "fix",
        "policy",
    ] {
        assert!(rec.get(key).is_some(), "audit violation lacks {key}: {rec}");
    }
}

/// The SARIF 2.1.0 schema's constraints on what pushguard writes, read from
/// `sarif-schema-2.1.0.json` (the required properties and types of sarifLog, run, tool,
/// toolComponent, reportingDescriptor, multiformatMessageString, result, message, location,
/// physicalLocation, artifactLocation and region; `additionalProperties: false` on each), and
/// GitHub's own requirements on top (a location with a region on every result, the rule texts,
/// partialFingerprints).
fn assert_valid_sarif(log: &serde_json::Value, docs_url: Option<&str>) {
    use serde_json::Value;
    fn only(obj: &Value, allowed: &[&str], what: &str) {
        let map = obj
            .as_object()
            .unwrap_or_else(|| panic!("{what} is not an object: {obj}"));
        for key in map.keys() {
            assert!(
                allowed.contains(&key.as_str()),
                "{what} has no property {key} in SARIF 2.1.0"
            );
        }
    }
    fn text(v: &Value, what: &str) {
        only(
            v,
            &["text", "markdown", "id", "arguments", "properties"],
            what,
        );
        assert!(
            v["text"].as_str().is_some_and(|t| !t.is_empty()),
            "{what}.text: {v}"
        );
    }
    fn uri_reference(u: &str) {
        assert!(!u.is_empty());
        for c in u.chars() {
            assert!(
                c.is_ascii_alphanumeric() || "-._~/%:".contains(c),
                "{u:?}: {c:?} must be percent-encoded"
            );
        }
        let first = u.split('/').next().unwrap_or("");
        assert!(
            u.starts_with("file:///") || !first.contains(':'),
            "{u:?} would read as a scheme"
        );
        let bytes = u.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'%' {
                assert!(
                    bytes.len() > i + 2
                        && bytes[i + 1].is_ascii_hexdigit()
                        && bytes[i + 2].is_ascii_hexdigit(),
                    "{u:?}: bad escape"
                );
            }
        }
    }
    only(
        log,
        &[
            "$schema",
            "version",
            "runs",
            "inlineExternalProperties",
            "properties",
        ],
        "sarifLog",
    );
    assert_eq!(log["version"], "2.1.0");
    assert!(log["$schema"].as_str().unwrap().starts_with("https://"));
    let runs = log["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    only(
        run,
        &["tool", "results", "columnKind", "invocations", "properties"],
        "run",
    );
    only(
        &run["tool"],
        &["driver", "extensions", "properties"],
        "tool",
    );
    let driver = &run["tool"]["driver"];
    only(
        driver,
        &["name", "version", "semanticVersion", "rules", "properties"],
        "toolComponent",
    );
    assert_eq!(driver["name"], "pushguard");
    assert!(["unicodeCodePoints", "utf16CodeUnits"].contains(&run["columnKind"].as_str().unwrap()));
    let rules = driver["rules"].as_array().unwrap();
    let mut ids = Vec::new();
    for r in rules {
        only(
            r,
            &[
                "id",
                "name",
                "shortDescription",
                "fullDescription",
                "defaultConfiguration",
                "help",
                "helpUri",
                "properties",
            ],
            "reportingDescriptor",
        );
        let id = r["id"].as_str().unwrap();
        assert!(!ids.contains(&id), "rule {id} twice");
        ids.push(id);
        text(&r["shortDescription"], "shortDescription");
        text(&r["fullDescription"], "fullDescription");
        text(&r["help"], "help");
        assert!(
            r["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 1024
        );
        assert!(
            r["fullDescription"]["text"]
                .as_str()
                .unwrap()
                .chars()
                .count()
                <= 1024
        );
        assert!(r["help"]["markdown"]
            .as_str()
            .is_some_and(|m| m.contains(id)));
        assert!(["note", "warning", "error"]
            .contains(&r["defaultConfiguration"]["level"].as_str().unwrap()));
        match docs_url {
            Some(base) => {
                let uri = r["helpUri"].as_str().unwrap();
                assert!(uri.starts_with(&format!("{base}/docs/")), "{uri}");
                assert!(uri.contains('#'), "{uri}");
            }
            None => assert!(r.get("helpUri").is_none()),
        }
    }
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for res in results {
        only(
            res,
            &[
                "ruleId",
                "ruleIndex",
                "level",
                "message",
                "locations",
                "partialFingerprints",
                "properties",
            ],
            "result",
        );
        let id = res["ruleId"].as_str().unwrap();
        let index = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], id);
        assert!(["none", "note", "warning", "error"].contains(&res["level"].as_str().unwrap()));
        text(&res["message"], "result.message");
        let fp = res["partialFingerprints"].as_object().unwrap();
        assert!(fp.values().all(|v| v.is_string()));
        assert!(fp["primaryLocationLineHash"].as_str().unwrap().len() > 8);
        let locations = res["locations"].as_array().unwrap();
        assert_eq!(locations.len(), 1, "{res}");
        let loc = &locations[0];
        only(
            loc,
            &["physicalLocation", "logicalLocations", "message"],
            "location",
        );
        let phys = &loc["physicalLocation"];
        only(phys, &["artifactLocation", "region"], "physicalLocation");
        only(
            &phys["artifactLocation"],
            &["uri", "uriBaseId"],
            "artifactLocation",
        );
        uri_reference(phys["artifactLocation"]["uri"].as_str().unwrap());
        let region = &phys["region"];
        only(
            region,
            &["startLine", "startColumn", "endLine", "endColumn"],
            "region",
        );
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(
                region[key].as_u64().is_some_and(|n| n >= 1),
                "{key}: {region}"
            );
        }
        for l in loc["logicalLocations"].as_array().unwrap() {
            only(
                l,
                &["name", "fullyQualifiedName", "kind"],
                "logicalLocation",
            );
        }
    }
}

#[test]
fn sarif_has_what_code_scanning_needs_for_every_kind_of_finding() {
    let (f, base, tip) = manifest_fixture();
    // A branch name the policy refuses: a ref finding, in no file.
    let range = format!("{base}..{tip}");
    let mut cmd = f.cmd(BIN, &f.work);
    cmd.args(["check", "--policy"]).arg(&f.policy).args([
        "--repo",
        ".",
        "--ref",
        "refs/heads/feature-x",
        "--format",
        "sarif",
        &range,
    ]);
    let bad_ref = run_of(cmd.output().unwrap());
    let docs = "https://git.example.com/ops/pushguard/-/blob/main";
    let r = check(&f, "sarif", &range, &[("PUSHGUARD_DOCS_URL", docs)]);
    assert_eq!(r.code, 1, "{r:?}");
    let log: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_valid_sarif(&log, Some(docs));
    let results = log["runs"][0]["results"].as_array().unwrap();
    let by_rule = |rule: &str| {
        results
            .iter()
            .find(|x| x["ruleId"] == rule)
            .unwrap_or_else(|| panic!("no {rule} result"))
    };
    let p = &by_rule("privileged")["locations"][0]["physicalLocation"];
    assert_eq!(p["artifactLocation"]["uri"], "apps/my%20app%231.yaml");
    assert_eq!(p["region"]["startLine"], 8);
    let p = &by_rule("files.forbidden")["locations"][0]["physicalLocation"];
    assert_eq!(p["artifactLocation"]["uri"], "tls/key.pem");
    // A commit finding points at the policy rule that refused it, and names the commit.
    let id = by_rule("identities.allow");
    let uri = id["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        uri.starts_with("file:///") && uri.ends_with("/policy.toml"),
        "{uri}"
    );
    assert_eq!(
        id["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
    assert!(
        id["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .unwrap()
            .ends_with(&format!("@{tip}"))
    );
    let help = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "identities.allow")
        .unwrap()["helpUri"]
        .clone();
    assert_eq!(help, format!("{docs}/docs/policy.md#rule-identities.allow"));

    // Fingerprints are stable across runs.
    let again = check(&f, "sarif", &range, &[]);
    let log2: serde_json::Value = serde_json::from_str(&again.out).unwrap();
    assert_valid_sarif(&log2, None);
    let fps = |l: &serde_json::Value| -> Vec<String> {
        l["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["partialFingerprints"]["primaryLocationLineHash"].to_string())
            .collect()
    };
    assert_eq!(fps(&log), fps(&log2));
    let mut unique = fps(&log);
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        fps(&log).len(),
        "two findings share a fingerprint"
    );

    // The ref finding.
    assert_eq!(bad_ref.code, 1, "{bad_ref:?}");
    let log: serde_json::Value = serde_json::from_str(&bad_ref.out).unwrap();
    assert_valid_sarif(&log, None);
    let results = log["runs"][0]["results"].as_array().unwrap();
    let name = results
        .iter()
        .find(|x| x["ruleId"] == "names.branch")
        .unwrap();
    assert_eq!(
        name["locations"][0]["logicalLocations"][0]["name"],
        "refs/heads/feature-x"
    );
    assert_eq!(
        name["locations"][0]["physicalLocation"]["region"]["startLine"],
        6
    );
}

#[test]
fn a_tag_name_fix_pushes_a_tag_not_a_branch() {
    let f = Fixture::new(&format!("{BASIC_POLICY}\n[names]\ntags = \"^v[0-9]+$\"\n"));
    f.commit("a.txt", "1", "first");
    assert_accepted(&f.push(&["origin", "main"]));
    f.git(&["tag", "release-1"]);
    let r = f.push(&["origin", "release-1"]);
    assert_rejected(&r);
    assert!(
        r.out.contains("error[names.tag] refs/tags/release-1"),
        "{r:?}"
    );
    // `git push origin <name>` pushes a branch of that name when one exists.
    assert!(
        r.flat().contains("then `git push origin tag <new-name>`"),
        "{r:?}"
    );
}
