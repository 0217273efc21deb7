//! The `pushguard` binary: parses the command line and hands each command to one function in
//! `pushguard::commands`. The exit status is decided there, and returned here unchanged.

use std::path::PathBuf;
use std::process::ExitCode;

use pushguard::commands::{self, Format, ERROR};

const USAGE: &str = "\
pushguard: a pre-receive hook that guards GitOps repositories

usage:
  pushguard pre-receive [--policy FILE]          run as git's pre-receive hook (reads stdin)
  pushguard check [--policy FILE] [--repo DIR] --ref REF [--format human|json] OLD..NEW
                                                 judge a range as if REF moved from OLD to NEW
  pushguard policy check FILE                    validate a policy file
  pushguard policy explain FILE --ref REF [--path PATH] [--pusher NAME]
                                                 which rules apply there, and what they demand
  pushguard install --host git --repo DIR [--policy FILE] [--force]
  pushguard uninstall --host git --repo DIR
  pushguard demo [--keep]                        one accepted and one rejected push, for real
  pushguard version

The policy is --policy, else $PUSHGUARD_POLICY, else /etc/pushguard/policy.toml.
Exit status: 0 accepted, 1 rejected by the policy, 2 error (the hook then rejects too).
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pushguard: error: {e:#}");
            ERROR
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

/// Options shared by the commands, parsed leniently in any order.
#[derive(Default)]
struct Opts {
    policy: Option<PathBuf>,
    repo: Option<PathBuf>,
    ref_name: Option<String>,
    host: Option<String>,
    format: Option<String>,
    path: Option<String>,
    pusher: Option<String>,
    force: bool,
    keep: bool,
    positional: Vec<String>,
}

fn parse(args: &[String]) -> anyhow::Result<Opts> {
    let mut o = Opts::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{name} needs a value\n\n{USAGE}"))
        };
        match a.as_str() {
            "--policy" => o.policy = Some(PathBuf::from(value("--policy")?)),
            "--repo" => o.repo = Some(PathBuf::from(value("--repo")?)),
            "--ref" => o.ref_name = Some(value("--ref")?),
            "--host" => o.host = Some(value("--host")?),
            "--format" => o.format = Some(value("--format")?),
            "--path" => o.path = Some(value("--path")?),
            "--pusher" => o.pusher = Some(value("--pusher")?),
            "--force" => o.force = true,
            "--keep" => o.keep = true,
            s if s.starts_with("--") => anyhow::bail!("unknown option {s}\n\n{USAGE}"),
            s => o.positional.push(s.to_string()),
        }
    }
    Ok(o)
}

fn run(args: &[String]) -> anyhow::Result<i32> {
    let Some(command) = args.first() else {
        eprint!("{USAGE}");
        return Ok(ERROR);
    };
    let o = parse(&args[1..])?;
    match command.as_str() {
        "pre-receive" => Ok(commands::pre_receive(o.policy)),
        "check" => {
            let ref_name = o
                .ref_name
                .ok_or_else(|| anyhow::anyhow!("check needs --ref REF\n\n{USAGE}"))?;
            let [range] = o.positional.as_slice() else {
                anyhow::bail!("check needs one OLD..NEW range\n\n{USAGE}");
            };
            let format = match o.format.as_deref() {
                None | Some("human") => Format::Human,
                Some("json") => Format::Json,
                Some(f) => anyhow::bail!("unknown format {f:?}: use human or json"),
            };
            let repo = o.repo.unwrap_or_else(|| PathBuf::from("."));
            commands::check(o.policy, &repo, &ref_name, range, format)
        }
        "policy" => match o.positional.as_slice() {
            [sub, file] if sub == "check" => Ok(commands::policy_check(&PathBuf::from(file))),
            [sub, file] if sub == "explain" => {
                let ref_name = o
                    .ref_name
                    .ok_or_else(|| anyhow::anyhow!("policy explain needs --ref REF"))?;
                commands::policy_explain(
                    &PathBuf::from(file),
                    &ref_name,
                    o.path.as_deref(),
                    o.pusher.as_deref(),
                )
            }
            _ => anyhow::bail!(
                "usage: pushguard policy check FILE | policy explain FILE --ref REF [--path PATH] [--pusher NAME]"
            ),
        },
        "install" | "uninstall" => {
            let host = o.host.as_deref().unwrap_or("git");
            if host != "git" {
                anyhow::bail!("--host {host} is not supported yet: this version installs for plain git (--host git)");
            }
            let repo = o
                .repo
                .ok_or_else(|| anyhow::anyhow!("{command} needs --repo DIR"))?;
            let outcome = if command == "install" {
                let policy = commands::policy_path(o.policy);
                let policy = std::path::absolute(&policy)?;
                let binary = std::env::current_exe()?;
                if let Err(e) = pushguard::policy::Policy::load(&policy) {
                    eprintln!(
                        "warning: {e}\nwarning: every push will be rejected until the policy loads"
                    );
                }
                pushguard::install::install_git(&repo, &binary, &policy, o.force)?
            } else {
                pushguard::install::uninstall_git(&repo)?
            };
            println!("{outcome}");
            Ok(0)
        }
        "demo" => pushguard::demo::run(o.keep),
        "version" | "--version" | "-V" => {
            println!("pushguard {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(0)
        }
        other => anyhow::bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}
