//! The `pushguard` binary: parses the command line and hands each command to one function in
//! `pushguard::commands`. The exit status is decided there, and returned here unchanged.

use std::path::PathBuf;
use std::process::ExitCode;

use pushguard::commands::{self, Format, ERROR};

const USAGE: &str = "\
pushguard: a pre-receive hook that guards GitOps repositories

usage:
  pushguard pre-receive [--policy FILE]          run as git's pre-receive hook (reads stdin)
  pushguard check [--policy FILE] [--repo DIR] --ref REF [--format human|json|sarif] OLD..NEW
                                                 judge a range as if REF moved from OLD to NEW
  pushguard policy check FILE [--repo DIR]       validate a policy file (and its globs against a repository)
  pushguard policy explain FILE --ref REF [--path PATH] [--pusher NAME]
                                                 which rules apply there, and what they demand
  pushguard install --host HOST TARGET [--policy FILE] [--force]
  pushguard uninstall --host HOST TARGET
      git:             --repo DIR                  hooks/pre-receive
      gitea, forgejo:  --repo DIR | --all ROOT     hooks/pre-receive.d/pushguard
      gitlab:          --repo DIR | --global DIR | --tarball FILE
      gitolite:        --gitolite-home DIR [--local-code DIR]
  pushguard demo [--keep]                        one accepted and one rejected push, for real
  pushguard version

The policy is --policy, else $PUSHGUARD_POLICY, else /etc/pushguard/policy.toml.
Exit status: 0 accepted, 1 rejected by the policy, 2 error (the hook then rejects too).
";

fn main() -> ExitCode {
    // Library errors (sequoia's, through anyhow) capture a backtrace on every error value when
    // RUST_BACKTRACE is set, and that takes a global lock: verification ran twice as slow and on
    // one core. We never print those backtraces, so switch them off for libraries (panics keep
    // following RUST_BACKTRACE). Done first, before any thread exists.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    // `pushguard policy check FILE | head`: a closed pipe ends the process quietly, as it does
    // for any Unix tool, instead of a panic in println!.
    // SAFETY: setting a signal disposition to its default, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
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
    all: Option<PathBuf>,
    global: Option<PathBuf>,
    tarball: Option<PathBuf>,
    gitolite_home: Option<PathBuf>,
    local_code: Option<PathBuf>,
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
            "--all" => o.all = Some(PathBuf::from(value("--all")?)),
            "--global" => o.global = Some(PathBuf::from(value("--global")?)),
            "--tarball" => o.tarball = Some(PathBuf::from(value("--tarball")?)),
            "--gitolite-home" => o.gitolite_home = Some(PathBuf::from(value("--gitolite-home")?)),
            "--local-code" => o.local_code = Some(PathBuf::from(value("--local-code")?)),
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
                Some("sarif") => Format::Sarif,
                Some(f) => anyhow::bail!("unknown format {f:?}: use human, json or sarif"),
            };
            let repo = o.repo.unwrap_or_else(|| PathBuf::from("."));
            commands::check(o.policy, &repo, &ref_name, range, format)
        }
        "policy" => match o.positional.as_slice() {
            [sub, file] if sub == "check" => Ok(commands::policy_check(
                &PathBuf::from(file),
                o.repo.as_deref(),
            )),
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
                "usage: pushguard policy check FILE [--repo DIR] | policy explain FILE --ref REF [--path PATH] [--pusher NAME]"
            ),
        },
        "install" | "uninstall" => {
            use pushguard::install::{self, Host, Target};
            let host_name = o.host.as_deref().unwrap_or("git");
            let host = Host::parse(host_name)?;
            let target = Target {
                repo: o.repo.clone(),
                all: o.all.clone(),
                global: o.global.clone(),
                tarball: o.tarball.clone(),
                gitolite_home: o.gitolite_home.clone(),
                local_code: o.local_code.clone(),
            };
            let mut notes = Vec::new();
            let outcomes = if command == "install" {
                let policy = std::path::absolute(commands::policy_path(o.policy))?;
                let binary = std::env::current_exe()?;
                let loaded = pushguard::policy::Policy::load(&policy);
                if let Err(e) = &loaded {
                    eprintln!("warning: {e}\nwarning: every push will be rejected until the policy loads");
                }
                let outcomes = install::install(host, &target, &binary, &policy, o.force)?;
                if let Ok(p) = &loaded {
                    if let Some(log) = &p.audit_log {
                        let owner = install::hook_owner_dir(&target);
                        notes.extend(install::prepare_audit_dir(log, owner.as_deref()));
                    }
                    if host == Host::Gitolite {
                        notes.push(match p.applies_to_repo("gitolite-admin") {
                            Err(why) => format!("note: gitolite runs the hook in every repository, but the policy does not apply to gitolite-admin ({why}): the administrator can still change gitolite's configuration"),
                            Ok(()) => "warning: the policy applies to gitolite-admin too (its `repos` names it): a push to gitolite's configuration must pass it".to_string(),
                        });
                    }
                }
                outcomes
            } else {
                install::uninstall(host, &target)?
            };
            for outcome in &outcomes {
                println!("{outcome}");
            }
            for note in &notes {
                println!("{note}");
            }
            if command == "install" {
                println!("{}", install::undo_hint(host_name, &target.args()));
            }
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
