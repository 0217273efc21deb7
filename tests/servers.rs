//! End to end with real servers on 127.0.0.1, started by the tests: gitolite3, git over SSH
//! (Debian's sshd on a high port, keys from ssh-keygen) and git over HTTP (git http-backend behind
//! lighttpd with basic auth, so REMOTE_USER names the pusher). Each pushes once in a way the
//! policy accepts and once in a way it rejects, and reads what the real client prints.
//!
//! `.ci/run` installs gitolite3, openssh-server and lighttpd; without them these tests fail.
//! The git-shell test runs as root: it creates (once) the system user `pushguard-gitshell`,
//! whose login shell is git-shell, and leaves it in place for later runs.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const POLICY: &str = r#"version = 1
[host]
pusher_variable = "REMOTE_USER"
[[ref]]
match = "refs/heads/main"
force_push = false
[[path]]
match = "clusters/prod/**"
pushers = ["alice"]
"#;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on {port}");
}

/// Kills the server when the test ends, whatever happens.
struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A bare repository with pushguard installed and a seed commit, plus a work clone.
fn seeded(dir: &Path, policy: &Path) -> (PathBuf, PathBuf) {
    let bare = dir.join("fleet.git");
    run(Command::new("git")
        .args(["init", "-q", "--bare", "--initial-branch=main"])
        .arg(&bare));
    run(Command::new(BIN)
        .args(["install", "--host", "git", "--repo"])
        .arg(&bare)
        .arg("--policy")
        .arg(policy));
    let work = dir.join("work");
    run(Command::new("git")
        .args(["init", "-q", "--initial-branch=main"])
        .arg(&work));
    (bare, work)
}

fn commit(work: &Path, path: &str, content: &str) {
    let p = work.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
    run(Command::new("git").current_dir(work).args(["add", "-A"]));
    run(Command::new("git").current_dir(work).args([
        "-c",
        "user.name=T",
        "-c",
        "user.email=t@example.com",
        "commit",
        "-q",
        "-m",
        path,
    ]));
}

fn push(work: &Path, env: &[(&str, &str)], url: &str) -> Run {
    let o = Command::new("git")
        .current_dir(work)
        .envs(env.iter().copied())
        .env("GIT_TERMINAL_PROMPT", "0")
        .args(["push", url, "HEAD:main"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    run_of(o)
}

fn accepted_then_rejected(
    work: &Path,
    good: (&[(&str, &str)], &str),
    bad: (&[(&str, &str)], &str),
    bad_user: &str,
) {
    commit(work, "clusters/prod/app.yaml", "replicas: 1\n");
    let r = push(work, good.0, good.1);
    assert_accepted(&r);
    assert!(r.out.contains("remote: pushguard: push accepted"), "{r:?}");
    commit(work, "clusters/prod/app.yaml", "replicas: 0\n");
    let r = push(work, bad.0, bad.1);
    assert_rejected(&r);
    assert!(
        r.out
            .contains("remote: error[path.pushers] refs/heads/main"),
        "{r:?}"
    );
    assert!(
        r.flat().contains(&format!("not pusher \"{bad_user}\"")),
        "{r:?}"
    );
    assert!(
        r.out
            .contains("! [remote rejected] HEAD -> main (pre-receive hook declined)"),
        "{r:?}"
    );
}

#[test]
fn git_over_ssh_with_sshd() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let policy = d.join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let (bare, work) = seeded(d, &policy);
    for name in ["host", "alice", "bob"] {
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(d.join(name)));
    }
    // Each key may run only git-shell, with REMOTE_USER naming its owner (as a forge's forced
    // command does).
    let mut keys = String::new();
    for name in ["alice", "bob"] {
        let pubkey = std::fs::read_to_string(d.join(format!("{name}.pub"))).unwrap();
        keys.push_str(&format!(
            "command=\"env REMOTE_USER={name} git-shell -c \\\"$SSH_ORIGINAL_COMMAND\\\"\",no-port-forwarding,no-pty {pubkey}"
        ));
    }
    std::fs::write(d.join("authorized_keys"), keys).unwrap();
    let port = free_port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {h}\nAuthorizedKeysFile {ak}\nPidFile {pid}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nPermitRootLogin prohibit-password\nLogLevel ERROR\n",
        h = d.join("host").display(),
        ak = d.join("authorized_keys").display(),
        pid = d.join("sshd.pid").display()
    );
    std::fs::write(d.join("sshd_config"), config).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sshd (apt-get install openssh-server)");
    let mut server = Server(child);
    wait_for_port(port, &mut server.0, "sshd");
    let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let url = format!("ssh://{user}@127.0.0.1:{port}{}", bare.display());
    let ssh = |key: &str| {
        format!(
            "ssh -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            d.join(key).display()
        )
    };
    let (a, b) = (ssh("alice"), ssh("bob"));
    accepted_then_rejected(
        &work,
        (&[("GIT_SSH_COMMAND", a.as_str())], &url),
        (&[("GIT_SSH_COMMAND", b.as_str())], &url),
        "bob",
    );
}

/// The git user's login shell is git-shell: sshd then runs every command, a forced one too,
/// as `git-shell -c "<command>"`, and git-shell refuses `env REMOTE_USER=… git-shell -c …`. The
/// documented way under git-shell: no forced command, `environment="REMOTE_USER=<name>"` on the
/// key and `PermitUserEnvironment REMOTE_USER` in sshd_config.
#[test]
fn git_over_ssh_with_git_shell_as_login_shell() {
    let account = "pushguard-gitshell";
    let shell = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v git-shell"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    assert!(!shell.is_empty(), "git-shell on PATH");
    if !Command::new("id")
        .arg(account)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        run(Command::new("useradd").args([
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            &shell,
            account,
        ]));
    }
    // No password, but not locked (`!`): sshd refuses key logins to locked accounts.
    run(Command::new("usermod").args(["-p", "*", account]));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let policy = d.join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let (bare, work) = seeded(d, &policy);
    run(Command::new("chown").arg("-R").arg(account).arg(&bare));
    for name in ["host", "alice", "bob"] {
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(d.join(name)));
    }
    let mut keys = String::new();
    for name in ["alice", "bob"] {
        let pubkey = std::fs::read_to_string(d.join(format!("{name}.pub"))).unwrap();
        keys.push_str(&format!(
            "environment=\"REMOTE_USER={name}\",restrict {pubkey}"
        ));
    }
    std::fs::write(d.join("authorized_keys"), keys).unwrap();
    let port = free_port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {h}\nAuthorizedKeysFile {ak}\nPidFile {pid}\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nPermitUserEnvironment REMOTE_USER\nLogLevel ERROR\n",
        h = d.join("host").display(),
        ak = d.join("authorized_keys").display(),
        pid = d.join("sshd.pid").display()
    );
    std::fs::write(d.join("sshd_config"), config).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sshd (apt-get install openssh-server)");
    let mut server = Server(child);
    wait_for_port(port, &mut server.0, "sshd");
    let url = format!("ssh://{account}@127.0.0.1:{port}{}", bare.display());
    let ssh = |key: &str| {
        format!(
            "ssh -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            d.join(key).display()
        )
    };
    let (a, b) = (ssh("alice"), ssh("bob"));
    accepted_then_rejected(
        &work,
        (&[("GIT_SSH_COMMAND", a.as_str())], &url),
        (&[("GIT_SSH_COMMAND", b.as_str())], &url),
        "bob",
    );
}

#[test]
fn git_over_http_with_lighttpd_and_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let policy = d.join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    let root = d.join("repos");
    std::fs::create_dir_all(&root).unwrap();
    let (_bare, work) = seeded(&root, &policy);
    std::fs::write(d.join("users"), "alice:alice-pw\nbob:bob-pw\n").unwrap();
    let port = free_port();
    let backend = [
        "/usr/lib/git-core/git-http-backend",
        "/usr/libexec/git-core/git-http-backend",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("git-http-backend");
    let config = format!(
        r#"server.port = {port}
server.bind = "127.0.0.1"
server.document-root = "{root}"
server.errorlog = "{log}"
server.modules = ("mod_alias", "mod_setenv", "mod_cgi", "mod_auth", "mod_authn_file")
alias.url = ("/git/" => "{backend}/")
$HTTP["url"] =~ "^/git/" {{
    cgi.assign = ("" => "")
    setenv.set-environment = ("GIT_PROJECT_ROOT" => "{root}", "GIT_HTTP_EXPORT_ALL" => "1")
    auth.backend = "plain"
    auth.backend.plain.userfile = "{users}"
    auth.require = ("" => ("method" => "basic", "realm" => "git", "require" => "valid-user"))
}}
"#,
        root = root.display(),
        log = d.join("error.log").display(),
        users = d.join("users").display(),
    );
    std::fs::write(d.join("lighttpd.conf"), config).unwrap();
    let child = Command::new("/usr/sbin/lighttpd")
        .args(["-D", "-f"])
        .arg(d.join("lighttpd.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lighttpd (apt-get install lighttpd)");
    let mut server = Server(child);
    wait_for_port(port, &mut server.0, "lighttpd");
    let url = |who: &str| format!("http://{who}:{who}-pw@127.0.0.1:{port}/git/fleet.git");
    accepted_then_rejected(&work, (&[], &url("alice")), (&[], &url("bob")), "bob");
}

#[test]
fn gitolite_with_two_users() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("gl");
    std::fs::create_dir_all(&h).unwrap();
    let policy = dir.path().join("policy.toml");
    // A GitOps convention that gitolite-admin's commits do not follow: without the built-in
    // exclusion of gitolite-admin, the administrator could no longer change gitolite's config.
    std::fs::write(
        &policy,
        POLICY.replace(
            "[host]\npusher_variable = \"REMOTE_USER\"\n",
            "audit_log = \"audit/decisions.jsonl\"\n[commits]\nmessage_pattern = \"^clusters/\"\n",
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("audit")).unwrap();
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "admin", "-f"])
        .arg(h.join("admin")));
    run(Command::new("gitolite")
        .env("HOME", &h)
        .arg("setup")
        .arg("-pk")
        .arg(h.join("admin.pub")));
    // Two users on one repository (gitolite.conf, compiled as gitolite does after a push to
    // gitolite-admin).
    let conf = h.join(".gitolite/conf/gitolite.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nrepo fleet\n    RW+ = alice bob\n");
    std::fs::write(&conf, text).unwrap();
    run(Command::new("gitolite").env("HOME", &h).args(["compile"]));
    run(Command::new("gitolite").env("HOME", &h).args(["setup"]));
    let r = run(Command::new(BIN)
        .args(["install", "--host", "gitolite", "--gitolite-home"])
        .arg(&h)
        .arg("--policy")
        .arg(&policy));
    assert!(r.contains("hooks/common/pre-receive"), "{r}");
    assert!(
        r.contains("does not apply to gitolite-admin"),
        "install says the admin repository is excluded: {r}"
    );
    let repo = h.join("repositories/fleet.git");
    assert!(
        repo.join("hooks/pre-receive").exists(),
        "gitolite linked the hook"
    );
    assert!(
        repo.join("hooks/update").exists(),
        "gitolite's own update hook is untouched"
    );

    // What sshd would do for a user: run gitolite-shell with the user's name.
    let wrapper = dir.path().join("as-user");
    write_exec(
        &wrapper,
        &format!(
            "#!/bin/sh\nSSH_CONNECTION='127.0.0.1 40000 127.0.0.1 22' HOME='{}' SSH_ORIGINAL_COMMAND=\"$1 '$2'\" exec /usr/share/gitolite3/gitolite-shell \"$3\"\n",
            h.display()
        ),
    );
    let proto = [("GIT_ALLOW_PROTOCOL", "ext:file")];

    // The administrator's first change: a new repository in gitolite.conf, pushed to
    // gitolite-admin (where gitolite linked the hook too). It lands, and says why.
    let admin = dir.path().join("admin");
    let admin_url = format!("ext::{} %S gitolite-admin admin", wrapper.display());
    run(Command::new("git")
        .envs(proto)
        .args(["clone", "-q", &admin_url])
        .arg(&admin));
    let conf = admin.join("conf/gitolite.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nrepo infra\n    RW+ = alice\n");
    std::fs::write(&conf, text).unwrap();
    run(Command::new("git")
        .current_dir(&admin)
        .args(["-c", "user.name=A", "-c", "user.email=a@example.com"])
        .args(["commit", "-q", "-am", "add repo infra"]));
    let o = Command::new("git")
        .current_dir(&admin)
        .envs(proto)
        .args(["push", "origin", "HEAD"])
        .output()
        .unwrap();
    let r = run_of(o);
    assert_accepted(&r);
    assert!(
        r.out
            .contains("does not apply to repository gitolite-admin"),
        "{r:?}"
    );
    assert!(
        h.join("repositories/infra.git").is_dir(),
        "gitolite compiled the new config"
    );
    let audit = std::fs::read_to_string(dir.path().join("audit/decisions.jsonl")).unwrap();
    assert!(
        audit.contains("\"decision\":\"not-applicable\"") && audit.contains("gitolite-admin"),
        "{audit}"
    );

    let work = dir.path().join("work");
    run(Command::new("git")
        .args(["init", "-q", "--initial-branch=main"])
        .arg(&work));
    let url = |who: &str| format!("ext::{} %S fleet {who}", wrapper.display());
    let (a, b) = (url("alice"), url("bob"));
    accepted_then_rejected(&work, (&proto, &a), (&proto, &b), "bob");
}
