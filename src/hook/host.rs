//! Host adapters: who is pushing, over what, and how the host shows our messages.
//!
//! Each Git host runs pre-receive with its own environment (see `docs/hosts.md`). The binary, not
//! the shim, reads it, so the shims stay one line and every host is tested through the same code.
//! This is a pure function of the variables, so it is tested without a host.

use serde::Serialize;

/// Which host ran the hook, recognised from the variables only that host sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Host {
    Gitea,
    Gitlab,
    Gitolite,
    Github,
    Git,
}

/// What the host tells us about the push.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostEnv {
    pub host: Host,
    /// The account the host authenticated (not the commit author: that is the pusher's claim).
    pub pusher: Option<String>,
    /// `ssh`, `http`, `web`, … as the host names it.
    pub protocol: Option<String>,
    /// The repository as the host names it (`group/project`), else the repository path.
    pub repository: Option<String>,
    /// The push was made by the host itself on behalf of `pusher` (a web merge or edit).
    pub web: bool,
    /// A host-internal push that the host's own hook lets through (Gitea `refs/pull/*`).
    pub internal: bool,
}

impl HostEnv {
    /// Reads the process environment. `pusher_var` is the policy's name for the variable that
    /// carries the pusher on plain git (for example `REMOTE_USER` behind a web server).
    pub fn from_env(pusher_var: Option<&str>) -> HostEnv {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        HostEnv::from_vars(&vars, pusher_var)
    }

    pub fn from_vars(vars: &[(String, String)], pusher_var: Option<&str>) -> HostEnv {
        let get = |k: &str| {
            vars.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        if get("GITEA_REPO_NAME").is_some() || get("GITEA_PUSHER_NAME").is_some() {
            let repo = match (get("GITEA_REPO_USER_NAME"), get("GITEA_REPO_NAME")) {
                (Some(owner), Some(name)) => Some(format!("{owner}/{name}")),
                (None, name) => name,
                (Some(owner), None) => Some(owner),
            };
            // A wiki's push names its repository (`GITEA_REPO_NAME=fleet`) and sets
            // `GITEA_REPO_IS_WIKI=true`: it is the repository `owner/fleet.wiki`.
            let repo = match get("GITEA_REPO_IS_WIKI").as_deref() {
                Some("true") => repo.map(|r| format!("{r}.wiki")),
                _ => repo,
            };
            let web = get("SSH_ORIGINAL_COMMAND").as_deref() == Some("gitea-internal");
            let protocol = if web {
                Some("web".to_string())
            } else if get("GITEA_KEY_ID").is_some() {
                Some("ssh".to_string())
            } else {
                Some("http".to_string())
            };
            return HostEnv {
                host: Host::Gitea,
                pusher: get("GITEA_PUSHER_NAME"),
                protocol,
                repository: repo,
                web,
                internal: get("GITEA_INTERNAL_PUSH").as_deref() == Some("true"),
            };
        }
        if get("GL_ID").is_some() || get("GL_REPOSITORY").is_some() || get("GL_PROTOCOL").is_some()
        {
            let protocol = get("GL_PROTOCOL");
            return HostEnv {
                host: Host::Gitlab,
                pusher: get("GL_USERNAME").or_else(|| get("GL_ID")),
                web: protocol.as_deref() == Some("web"),
                protocol,
                repository: get("GL_PROJECT_PATH").or_else(|| get("GL_REPOSITORY")),
                internal: false,
            };
        }
        if get("GL_USER").is_some() || get("GL_BINDIR").is_some() {
            return HostEnv {
                host: Host::Gitolite,
                pusher: get("GL_USER"),
                protocol: Some("ssh".to_string()),
                repository: get("GL_REPO"),
                web: false,
                internal: false,
            };
        }
        if get("GITHUB_USER_LOGIN").is_some() || get("GITHUB_REPO_NAME").is_some() {
            return HostEnv {
                host: Host::Github,
                pusher: get("GITHUB_USER_LOGIN"),
                web: get("GITHUB_VIA").is_some(),
                protocol: get("GITHUB_VIA").map(|_| "web".to_string()),
                repository: get("GITHUB_REPO_NAME"),
                internal: false,
            };
        }
        let protocol = if get("SSH_CONNECTION").is_some() {
            "ssh"
        } else if get("REMOTE_ADDR").is_some() || get("GATEWAY_INTERFACE").is_some() {
            "http"
        } else {
            "local"
        };
        HostEnv {
            host: Host::Git,
            pusher: pusher_var.and_then(get),
            protocol: Some(protocol.to_string()),
            repository: None,
            web: false,
            internal: false,
        }
    }

    /// GitLab's web UI shows only hook lines that start with `GL-HOOK-ERR:`.
    pub fn line_prefix(&self) -> &'static str {
        match self.host {
            Host::Gitlab => "GL-HOOK-ERR: ",
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn recognises_gitlab_and_prefixes_lines() {
        let env = HostEnv::from_vars(
            &vars(&[
                ("GL_ID", "user-7"),
                ("GL_USERNAME", "dana"),
                ("GL_PROTOCOL", "web"),
                ("GL_PROJECT_PATH", "ops/fleet"),
            ]),
            None,
        );
        assert_eq!(env.host, Host::Gitlab);
        assert_eq!(env.pusher.as_deref(), Some("dana"));
        assert!(env.web);
        assert_eq!(env.line_prefix(), "GL-HOOK-ERR: ");
    }

    #[test]
    fn recognises_gitea_internal_push() {
        let env = HostEnv::from_vars(
            &vars(&[
                ("GITEA_REPO_NAME", "fleet"),
                ("GITEA_REPO_USER_NAME", "ops"),
                ("GITEA_PUSHER_NAME", "erin"),
                ("GITEA_INTERNAL_PUSH", "true"),
                ("SSH_ORIGINAL_COMMAND", "gitea-internal"),
            ]),
            None,
        );
        assert_eq!(env.host, Host::Gitea);
        assert_eq!(env.repository.as_deref(), Some("ops/fleet"));
        assert!(env.internal && env.web);
        let wiki = HostEnv::from_vars(
            &vars(&[
                ("GITEA_REPO_NAME", "fleet"),
                ("GITEA_REPO_USER_NAME", "ops"),
                ("GITEA_REPO_IS_WIKI", "true"),
                ("GITEA_PUSHER_NAME", "erin"),
            ]),
            None,
        );
        assert_eq!(wiki.repository.as_deref(), Some("ops/fleet.wiki"));
        assert_eq!(env.line_prefix(), "");
    }

    #[test]
    fn gitolite_and_plain_git() {
        let env = HostEnv::from_vars(&vars(&[("GL_USER", "alice"), ("GL_REPO", "t")]), None);
        assert_eq!(env.host, Host::Gitolite);
        assert_eq!(env.pusher.as_deref(), Some("alice"));
        let env = HostEnv::from_vars(
            &vars(&[("REMOTE_USER", "bob"), ("REMOTE_ADDR", "127.0.0.1")]),
            Some("REMOTE_USER"),
        );
        assert_eq!(env.host, Host::Git);
        assert_eq!(env.pusher.as_deref(), Some("bob"));
        assert_eq!(env.protocol.as_deref(), Some("http"));
        let env = HostEnv::from_vars(&vars(&[("REMOTE_USER", "bob")]), None);
        assert_eq!(env.pusher, None, "no pusher variable named, none trusted");
    }
}
