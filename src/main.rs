//! The `pushguard` binary: the command line (clap, derived from the types below, so that
//! `--help` of each subcommand, `--opt=value`, typo suggestions, shell completions and the man
//! page all come from one description) and one function of `pushguard::commands` per command.
//! The exit status is decided there and returned here unchanged; a usage error exits 2, the
//! status every other error has.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use pushguard::commands::{self, Format, ERROR};

/// mimalloc instead of the system allocator: a push allocates many small YAML nodes, tree
/// entries and strings, and glibc malloc took a quarter of a typical push's instructions
/// (measured with callgrind; `benches/push.rs` has the before and after).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const AFTER_HELP: &str = "\
The policy is --policy, else $PUSHGUARD_POLICY, else /etc/pushguard/policy.toml.
Exit status: 0 accepted (or valid), 1 rejected by the policy, 2 error (bad usage, unreadable
policy or repository; for the hook this rejects the push too).";

/// A pre-receive hook that guards GitOps repositories: signatures, ref rules, path rules and
/// Kubernetes manifest rules.
#[derive(Parser, Debug)]
#[command(
    name = "pushguard",
    version,
    about,
    after_help = AFTER_HELP,
    arg_required_else_help = true,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run as git's pre-receive hook: reads `<old> <new> <ref>` lines on stdin
    #[command(after_help = AFTER_HELP)]
    PreReceive {
        #[command(flatten)]
        policy: PolicyArg,
    },
    /// Judge an existing range as if REF moved from OLD to NEW (CI, dry runs)
    #[command(after_help = AFTER_HELP)]
    Check {
        #[command(flatten)]
        policy: PolicyArg,
        /// The repository to read
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
        /// The full name of the ref the commits are headed for (rules are per ref)
        #[arg(long = "ref", value_name = "REF")]
        ref_name: String,
        /// How to print the decision
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
        /// Ids or ref names. `..NEW` (or the zero id as OLD) judges NEW as a newly created
        /// REF; NEW alone means the same, and says so
        #[arg(value_name = "OLD..NEW")]
        range: String,
    },
    /// Validate a policy file, or explain which of its rules apply where
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Install the hook shim where the host runs it (docs/hosts.md)
    Install {
        #[command(flatten)]
        host: HostArg,
        #[command(flatten)]
        target: TargetArgs,
        #[command(flatten)]
        policy: PolicyArg,
        /// Replace a hook pushguard did not write (it is kept as pre-receive.pushguard-saved)
        #[arg(long)]
        force: bool,
    },
    /// Remove the hook shim `install` wrote
    Uninstall {
        #[command(flatten)]
        host: HostArg,
        #[command(flatten)]
        target: TargetArgs,
    },
    /// One accepted and one rejected push, for real, in a throwaway directory
    Demo {
        /// Keep the demo's directory and say where it is
        #[arg(long)]
        keep: bool,
    },
    /// Print the version
    Version,
    /// Print a shell completion script (see the README's install section)
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a directory
    Man {
        /// Write pushguard.1, pushguard-check.1, … into this directory instead
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum PolicyCommand {
    /// Validate a policy file: every error, each as FILE:LINE:COL: key `KEY`: MESSAGE
    Check {
        /// The policy file
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Also warn about ref and path globs that match nothing in this repository, and an
        /// unprotected default branch; and check as the repository's owner (the account the
        /// hook runs as) that it can read the policy and keys and write the audit log
        #[arg(long, value_name = "DIR")]
        repo: Option<PathBuf>,
        /// Check that this account (a name or uid: the one the hook runs as) can read the
        /// policy and its keys and write the audit log
        #[arg(long, value_name = "USER")]
        as_user: Option<String>,
    },
    /// Which [[ref]], [[path]], [files] and global rules apply to a ref (and path), and what
    /// they demand
    Explain {
        /// The policy file
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The full ref name (refs/heads/main)
        #[arg(long = "ref", value_name = "REF")]
        ref_name: String,
        /// A path in the repository
        #[arg(long, value_name = "PATH")]
        path: Option<String>,
        /// The pusher's host user name
        #[arg(long, value_name = "NAME")]
        pusher: Option<String>,
    },
}

#[derive(clap::Args, Debug)]
struct PolicyArg {
    /// The policy file [default: $PUSHGUARD_POLICY, else /etc/pushguard/policy.toml]
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

/// The host names `--host` accepts (`forgejo` is Gitea's layout).
const HOSTS: [&str; 5] = ["git", "gitea", "forgejo", "gitlab", "gitolite"];

#[derive(clap::Args, Debug)]
struct HostArg {
    /// The Git host: git (hooks/pre-receive), gitea or forgejo (hooks/pre-receive.d/),
    /// gitlab (server hooks), gitolite (the common hooks directory)
    #[arg(long, value_name = "HOST", value_parser = clap::builder::PossibleValuesParser::new(HOSTS))]
    host: Option<String>,
}

#[derive(clap::Args, Debug)]
struct TargetArgs {
    /// One repository (git, gitea, forgejo, gitlab)
    #[arg(long, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Every repository under this Gitea/Forgejo root
    #[arg(long, value_name = "ROOT")]
    all: Option<PathBuf>,
    /// Gitea/Forgejo: a git template directory (Gitea's `[git.config] init.templateDir`), so
    /// repositories created later get the hook when they are made
    #[arg(long, value_name = "DIR")]
    template: Option<PathBuf>,
    /// GitLab's global server hooks directory
    #[arg(long, value_name = "DIR")]
    global: Option<PathBuf>,
    /// A GitLab server-hooks tarball for `gitaly hooks set`
    #[arg(long, value_name = "FILE")]
    tarball: Option<PathBuf>,
    /// The gitolite user's home directory
    #[arg(long, value_name = "DIR")]
    gitolite_home: Option<PathBuf>,
    /// gitolite's LOCAL_CODE directory, when the rc file sets one
    #[arg(long, value_name = "DIR")]
    local_code: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FormatArg {
    /// The blocks a `git push` prints
    Human,
    /// One JSON document
    Json,
    /// SARIF 2.1.0, for code scanning
    Sarif,
}

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
    // A write past the file size limit (RLIMIT_FSIZE, set by a host that caps its hooks) would
    // raise SIGXFSZ, whose default action kills the process with no message and can leave half
    // an audit record behind. Ignored, the write fails with EFBIG instead: the hook cuts the
    // record back off and rejects the push, naming the audit log (`tests/faults.rs`).
    // SAFETY: setting a signal disposition to "ignore", before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print and exit 0; usage errors print and exit 2 (ERROR).
        Err(e) => e.exit(),
    };
    let code = match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("pushguard: error: {e:#}");
            ERROR
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

/// `--host` is required, and its absence names the choices (it once meant `git` silently).
fn host_of(host: HostArg, command: &str) -> String {
    match host.host {
        Some(h) => h,
        None => {
            let mut cli = Cli::command();
            cli.build();
            // The subcommand's own usage line under the error, not the top-level one.
            let mut sub = cli
                .find_subcommand_mut(command)
                .cloned()
                .unwrap_or_else(Cli::command);
            sub.error(
                clap::error::ErrorKind::MissingRequiredArgument,
                format!(
                    "`{command}` needs --host HOST, one of: {} (docs/hosts.md says which to use)",
                    HOSTS.join(", ")
                ),
            )
            .exit()
        }
    }
}

fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::PreReceive { policy } => Ok(commands::pre_receive(policy.policy)),
        Command::Check {
            policy,
            repo,
            ref_name,
            format,
            range,
        } => {
            let format = match format {
                FormatArg::Human => Format::Human,
                FormatArg::Json => Format::Json,
                FormatArg::Sarif => Format::Sarif,
            };
            commands::check(policy.policy, &repo, &ref_name, &range, format)
        }
        Command::Policy(PolicyCommand::Check {
            file,
            repo,
            as_user,
        }) => Ok(commands::policy_check(
            &file,
            repo.as_deref(),
            as_user.as_deref(),
        )),
        Command::Policy(PolicyCommand::Explain {
            file,
            ref_name,
            path,
            pusher,
        }) => commands::policy_explain(&file, &ref_name, path.as_deref(), pusher.as_deref()),
        Command::Install {
            host,
            target,
            policy,
            force,
        } => {
            let host_name = host_of(host, "install");
            install(&host_name, target, Some(policy.policy), force)
        }
        Command::Uninstall { host, target } => {
            let host_name = host_of(host, "uninstall");
            install(&host_name, target, None, false)
        }
        Command::Demo { keep } => pushguard::demo::run(keep),
        Command::Version => {
            println!("pushguard {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "pushguard", &mut out);
            std::io::stdout().write_all(&out)?;
            Ok(0)
        }
        Command::Man { dir } => {
            let cmd = Cli::command();
            match dir {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)?;
                    clap_mangen::generate_to(cmd, &dir)?;
                    println!("wrote the man pages into {}", dir.display());
                }
                None => {
                    let mut out = Vec::new();
                    clap_mangen::Man::new(cmd).render(&mut out)?;
                    std::io::stdout().write_all(&out)?;
                }
            }
            Ok(0)
        }
    }
}

/// `install` (with `policy`) or `uninstall` (without).
fn install(
    host_name: &str,
    t: TargetArgs,
    policy: Option<Option<PathBuf>>,
    force: bool,
) -> anyhow::Result<i32> {
    use pushguard::install::{self, Host, Target};
    let host = Host::parse(host_name)?;
    let target = Target {
        repo: t.repo,
        all: t.all,
        template: t.template,
        global: t.global,
        tarball: t.tarball,
        gitolite_home: t.gitolite_home,
        local_code: t.local_code,
    };
    let mut notes = Vec::new();
    let installing = policy.is_some();
    let outcomes = match policy {
        Some(flag) => {
            let policy = std::path::absolute(commands::policy_path(flag))?;
            let binary = std::env::current_exe()?;
            let loaded = pushguard::policy::Policy::load(&policy);
            if let Err(e) = &loaded {
                eprintln!(
                    "warning: {e}\nwarning: every push will be rejected until the policy loads"
                );
            }
            let outcomes = install::install(host, &target, &binary, &policy, force)?;
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
        }
        None => install::uninstall(host, &target)?,
    };
    // `--all` runs from a timer: it prints what it changed, and nothing when nothing changed.
    let quiet = target.all.is_some();
    let changed = outcomes
        .iter()
        .any(|o| !matches!(o, install::Outcome::Unchanged { .. }));
    for outcome in &outcomes {
        if !(quiet && matches!(outcome, install::Outcome::Unchanged { .. })) {
            println!("{outcome}");
        }
    }
    if quiet && !changed {
        return Ok(0);
    }
    for note in &notes {
        println!("{note}");
    }
    if installing {
        for line in install::after_install(host, host_name, &target) {
            println!("{line}");
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        // clap's own checks: no clashing names, defaults among the possible values, …
        Cli::command().debug_assert();
    }
}
