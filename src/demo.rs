//! `pushguard demo`: the product's main job on a built-in example, for real.
//!
//! A throwaway bare repository gets the hook (installed by the same code as `pushguard install`)
//! and the example policy `config/demo-policy.toml`; a clone pushes once in a way the policy
//! accepts and once in a way it rejects, with the real `git` client. What is printed is exactly
//! what a developer sees.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

const POLICY: &str = include_str!("../config/demo-policy.toml");

/// Runs the demo; exit status 0 when the first push landed and the second was rejected.
pub fn run(keep: bool) -> anyhow::Result<i32> {
    let dir = tempfile::Builder::new()
        .prefix("pushguard-demo-")
        .tempdir()?;
    let root = dir.path();
    let bare = root.join("fleet.git");
    let work = root.join("work");
    let policy = root.join("policy.toml");
    std::fs::write(&policy, POLICY)?;
    let home = root.join("home");
    std::fs::create_dir_all(&home)?;

    say(&format!(
        "A throwaway bare repository {} with pushguard as its pre-receive hook,",
        bare.display()
    ));
    say(&format!(
        "and the example policy {} (config/demo-policy.toml):",
        policy.display()
    ));
    for l in POLICY
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        println!("    {l}");
    }
    git(
        &home,
        root,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "fleet.git",
        ],
    )?;
    let binary = std::env::current_exe()?;
    let outcome = crate::install::install_git(&bare, &binary, &policy, false)?;
    say(&format!(
        "pushguard install --host git --repo {}: {}",
        bare.display(),
        first_line(&outcome.to_string())
    ));

    git(&home, root, &["clone", "--quiet", "fleet.git", "work"])?;
    for (k, v) in [
        ("user.name", "Alice Example"),
        ("user.email", "alice@example.com"),
        ("commit.gpgsign", "false"),
    ] {
        git(&home, &work, &["config", k, v])?;
    }
    std::fs::create_dir_all(work.join("clusters/prod"))?;
    std::fs::write(
        work.join("clusters/prod/podinfo.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n  namespace: prod\nspec:\n  replicas: 2\n",
    )?;
    git(&home, &work, &["add", "."])?;
    git(
        &home,
        &work,
        &["commit", "--quiet", "-s", "-m", "Deploy podinfo to prod"],
    )?;

    say("\n1) Alice commits with her @example.com address and a sign-off, and pushes:");
    let first = push(&home, &work, &["push", "origin", "main"])?;

    say("\n2) Someone with Alice's stolen token rewrites that commit as mallory@attacker.test,");
    say("   drops the sign-off, and force-pushes:");
    git(
        &home,
        &work,
        &["config", "user.email", "mallory@attacker.test"],
    )?;
    std::fs::write(
        work.join("clusters/prod/podinfo.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: podinfo\n  namespace: prod\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: miner\n        image: attacker.test/miner:latest\n",
    )?;
    git(
        &home,
        &work,
        &[
            "commit",
            "--quiet",
            "-a",
            "--amend",
            "--reset-author",
            "-m",
            "Tune podinfo",
        ],
    )?;
    let second = push(&home, &work, &["push", "--force", "origin", "main"])?;

    let log = std::fs::read_to_string(root.join("audit.jsonl")).unwrap_or_default();
    say(&format!(
        "\nThe audit log {} now has {} record(s), one per push.",
        root.join("audit.jsonl").display(),
        log.lines().count()
    ));
    if keep {
        let kept = dir.keep();
        say(&format!("Kept {} (--keep).", kept.display()));
    }
    let ok = first && !second;
    say(if ok {
        "\ndemo: the first push landed and the second was rejected, as the policy says."
    } else {
        "\ndemo: UNEXPECTED outcome (see above)."
    });
    Ok(if ok { 0 } else { 1 })
}

fn say(s: &str) {
    println!("{s}");
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn base_command(home: &Path, cwd: &Path) -> Command {
    let mut c = Command::new("git");
    c.current_dir(cwd)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("PUSHGUARD_POLICY")
        .env("GIT_TERMINAL_PROMPT", "0");
    c
}

fn git(home: &Path, cwd: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = base_command(home, cwd)
        .args(args)
        .output()
        .with_context(|| "running git (is git installed?)")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Runs a push, prints it as a terminal would show it, and says whether it succeeded.
fn push(home: &Path, cwd: &Path, args: &[&str]) -> anyhow::Result<bool> {
    println!("\n$ git {}", args.join(" "));
    let out = base_command(home, cwd).args(args).output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    print!("{}", String::from_utf8_lossy(&out.stderr));
    println!("(git push exited with {})", out.status.code().unwrap_or(-1));
    Ok(out.status.success())
}
