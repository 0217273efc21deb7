//! The install commands in README.md ("Install on a Git host") and docs/hosts.md, run as
//! written with only the system paths moved into a temporary root: an administrator who copies
//! them gets a policy that `pushguard policy check` passes.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// The first ```sh block after `heading` in `file`, as lines.
fn sh_block(file: &str, heading: &str) -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    let after = &text[text
        .find(heading)
        .unwrap_or_else(|| panic!("{file}: {heading}"))..];
    let start = after.find("```sh\n").unwrap() + "```sh\n".len();
    let body = &after[start..];
    body[..body.find("```").unwrap()]
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs the commands up to and including `pushguard policy check` in a temporary root.
fn run_install_commands(lines: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    let mut checked = false;
    for line in lines {
        if line.trim().is_empty() || line.starts_with("cargo build") {
            continue;
        }
        let cmd = line
            .replace("target/release/pushguard", BIN)
            .replace(
                "/usr/local/bin",
                &format!("{}/usr/local/bin", root.display()),
            )
            .replace(
                "/etc/pushguard",
                &format!("{}/etc/pushguard", root.display()),
            );
        let o = Command::new("sh")
            .arg("-ec")
            .arg(&cmd)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env(
                "PATH",
                format!(
                    "{}/usr/local/bin:{}",
                    root.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .output()
            .unwrap();
        let r = run_of(o);
        assert!(r.ok, "`{cmd}` failed: {r:?}");
        if line.starts_with("pushguard policy check") {
            assert!(r.out.contains(": OK (version 1"), "{r:?}");
            checked = true;
            break;
        }
    }
    assert!(checked, "no `pushguard policy check` in {lines:?}");
}

#[test]
fn readme_install_commands_give_a_policy_that_checks() {
    run_install_commands(&sh_block("README.md", "## Install on a Git host"));
}

#[test]
fn hosts_doc_install_commands_give_a_policy_that_checks() {
    run_install_commands(&sh_block(
        "docs/hosts.md",
        "# Installing pushguard on a Git host",
    ));
}
