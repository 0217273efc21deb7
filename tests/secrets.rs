//! Secrets flow only where the policy says, through real pushes (issue 15, item 3): the remote
//! keys a namespace's External Secrets read (`secret-stores` with `secret_keys`), the readers a
//! SOPS file is encrypted for (`sops-recipients`), and a Flux Kustomization's decryption,
//! which only the block's signers may remove or re-point. Each attack is refused and a control
//! push lands. Manifests are shaped like the External Secrets Operator docs and Flux's SOPS
//! guide.

mod common;

use common::gpg::*;
use common::*;

/// The cluster's age key (Flux's `sops-age` Secret holds its identity).
const AGE_FLUX: &str = "age1helqcqsh9464r8chnwc2fzj8uv7vr5ntnsft0tn45v2xtz0hpfwq98cmsg";
/// A key the attacker holds.
const AGE_ATTACKER: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

/// A fixture whose policy trusts an SRE key (the block's signers) and a developer key (trusted,
/// but not a signer), with a base commit pushed. Returns the setup and both fingerprints.
fn setup() -> (Setup, String, String) {
    let s = Setup::new("version = 1\n");
    let sam = s.gpg.key("Sam Sre <sam@example.com>", "ed25519");
    let dana = s.gpg.key("Dana Dev <dana@example.com>", "ed25519");
    s.gpg.export(&sam, &s.keys.join("sam.asc"));
    s.gpg.export(&dana, &s.keys.join("dana.asc"));
    s.f.set_policy(&format!(
        r#"version = 1
[keys]
openpgp = ["{keys}/*.asc"]
[groups]
sre = ["openpgp:{sam}"]
devs = ["openpgp:{dana}"]
[[manifests]]
match = ["clusters/**/*.yaml", "apps/**/*.yaml", "apps/**/*.json"]
rules = ["secret-stores", "sops-recipients", "plaintext-secrets"]
secret_stores = {{ "*" = ["vault-backend"] }}
secret_keys = {{ "team-a" = ["team-a/"], "team-b" = ["team-b/"] }}
sops_recipients = ["age:{AGE_FLUX}"]
signers = ["sre"]
"#,
        keys = s.keys.display()
    ));
    s.f.commit("README", "fleet\n", "base");
    assert_accepted(&s.f.push(&["-q", "origin", "main"]));
    (s, sam, dana)
}

fn assert_finding(r: &Run, rule: &str, texts: &[&str]) {
    assert_rejected(r);
    assert!(
        r.out.contains(&format!("error[{rule}] refs/heads/main")),
        "{r:?}"
    );
    let flat = r.flat();
    for t in texts {
        // Paths as printed (`path:   file:line:col`); sentences wherever the wrapping broke them.
        assert!(
            r.out.contains(t) || flat.contains(t),
            "`{t}` missing: {r:?}"
        );
    }
}

/// A Secret as Flux's SOPS guide encrypts it (`sops --age=… --encrypt --encrypted-regex
/// '^(data|stringData)$' --in-place`), for `recipients`; `value` is the password's
/// ciphertext.
fn sops_secret(value: &str, recipients: &[&str]) -> String {
    let mut age = String::new();
    for r in recipients {
        age.push_str(&format!(
            "        - recipient: {r}
          enc: |
            -----BEGIN AGE ENCRYPTED FILE-----
            YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBtUmR0
            -----END AGE ENCRYPTED FILE-----
"
        ));
    }
    format!(
        "apiVersion: v1
kind: Secret
metadata:
    name: basic-auth
    namespace: team-a
type: Opaque
stringData:
    username: ENC[AES256_GCM,data:SLl2Zg==,iv:Yt0qPBDrkqLdSPOIpA7dQ3SmZSpSPrbyIkdcRjZsmI0=,tag:dCQ1WB8Zq7UfQFt51bVXJw==,type:str]
    password: {value}
sops:
    kms: []
    gcp_kms: []
    azure_kv: []
    hc_vault: []
    age:
{age}    lastmodified: \"2026-11-30T10:00:00Z\"
    mac: ENC[AES256_GCM,data:Ra8P0VBiT+PsrRMykyi1AnfMMY8hTgdLxnle9PapgEDD,iv:PCzfGhxMrDgvwS6joK7gFkLNoJCIUkE3nqlc0GyV2a8=,tag:keIXXaWY8edOLU7SqWEVYw==,type:str]
    pgp: []
    encrypted_regex: ^(data|stringData)$
    version: 3.8.1
"
    )
}

const PASSWORD_1: &str = "ENC[AES256_GCM,data:4lVd2g==,iv:qUqk9LyhoO8=,tag:RsuOwXo=,type:str]";
const PASSWORD_2: &str = "ENC[AES256_GCM,data:9xKp1Q==,iv:Hh2pANBLm/g=,tag:IEUAvSk+xu=,type:str]";

#[test]
fn a_re_encrypted_secret_adding_an_age_recipient_is_refused() {
    let (s, sam, _) = setup();
    let f = &s.f;
    f.commit(
        "apps/team-a/basic-auth.yaml",
        &sops_secret(PASSWORD_1, &[AGE_FLUX]),
        "basic-auth for the cluster's key",
    );
    assert_accepted(&f.push(&["origin", "main"]));
    // `sops updatekeys` after adding the attacker's age key to .sops.yaml: same values,
    // one more reader.
    f.commit(
        "apps/team-a/basic-auth.yaml",
        &sops_secret(PASSWORD_1, &[AGE_FLUX, AGE_ATTACKER]),
        "rotate keys",
    );
    let r = f.push(&["origin", "main"]);
    assert_finding(
        &r,
        "sops-recipients",
        &[
            AGE_ATTACKER,
            "Secret team-a/basic-auth",
            "path:   apps/team-a/basic-auth.yaml:21:",
        ],
    );
    // A reader is not the signers' to add: signed by the SRE, still refused.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    s.sign_with(&sam);
    s.commit_signed(
        "apps/team-a/basic-auth.yaml",
        &sops_secret(PASSWORD_1, &[AGE_FLUX, AGE_ATTACKER]),
        "rotate keys (signed)",
    );
    assert_finding(
        &s.push(&["origin", "main"]),
        "sops-recipients",
        &[AGE_ATTACKER],
    );
    // Control: a new password encrypted for the same reader lands.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.git(&["config", "--unset", "user.signingkey"]);
    f.commit(
        "apps/team-a/basic-auth.yaml",
        &sops_secret(PASSWORD_2, &[AGE_FLUX]),
        "new password",
    );
    assert_accepted(&f.push(&["origin", "main"]));
    // A value left in plaintext beside the sops metadata (`unencrypted_regex`) is refused by
    // plaintext-secrets.
    f.commit(
        "apps/team-a/basic-auth.yaml",
        &sops_secret("hunter2", &[AGE_FLUX]).replace(
            "encrypted_regex: ^(data|stringData)$",
            "unencrypted_regex: ^password$",
        ),
        "leave the password readable",
    );
    assert_finding(
        &f.push(&["origin", "main"]),
        "plaintext-secrets",
        &["stringData `password` is not SOPS-encrypted"],
    );
}

/// An ExternalSecret as in the External Secrets Operator docs: a Vault KV v2 secret behind the
/// shared ClusterSecretStore, in namespace `ns`, with `body` as its data.
fn external_secret(ns: &str, body: &str) -> String {
    format!(
        "apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata:
  name: db
  namespace: {ns}
spec:
  refreshInterval: 1h
  secretStoreRef:
    name: vault-backend
    kind: ClusterSecretStore
  target:
    name: db
    creationPolicy: Owner
{body}"
    )
}

fn data_key(key: &str) -> String {
    format!("  data:\n  - secretKey: password\n    remoteRef:\n      key: {key}\n      property: password\n")
}

#[test]
fn an_external_secret_in_team_b_reading_team_a_is_refused() {
    let (s, _, _) = setup();
    let f = &s.f;
    // The store is allowed for every namespace: only the key tells the teams apart.
    f.commit(
        "apps/team-b/db.yaml",
        &external_secret("team-b", &data_key("team-a/db")),
        "team-b reads the prod database password",
    );
    assert_finding(
        &f.push(&["origin", "main"]),
        "secret-stores",
        &[
            "ExternalSecret team-b/db",
            "reads the remote key `team-a/db`",
            "path:   apps/team-b/db.yaml:17:",
        ],
    );
    // A path that a provider may clean into team-a's folder.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "apps/team-b/db.yaml",
        &external_secret("team-b", &data_key("team-b/../team-a/db")),
        "dot-dot",
    );
    assert_finding(&f.push(&["origin", "main"]), "secret-stores", &["`..`"]);
    // Control: team-b reads its own key.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "apps/team-b/db.yaml",
        &external_secret("team-b", &data_key("team-b/db")),
        "team-b reads its own",
    );
    assert_accepted(&f.push(&["origin", "main"]));
    // A PushSecret (ESO's example) writing into team-a's folder.
    let push = |remote: &str| {
        format!(
            "apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata:
  name: pushsecret-example
  namespace: team-b
spec:
  refreshInterval: 1h
  secretStoreRefs:
    - name: vault-backend
      kind: ClusterSecretStore
  selector:
    secret:
      name: pokedex-credentials
  data:
    - match:
        secretKey: best-pokemon
        remoteRef:
          remoteKey: {remote}
"
        )
    };
    f.commit(
        "apps/team-b/push.yaml",
        &push("team-a/db"),
        "overwrite team-a",
    );
    assert_finding(
        &f.push(&["origin", "main"]),
        "secret-stores",
        &["writes the remote key `team-a/db`"],
    );
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit("apps/team-b/push.yaml", &push("team-b/pokemon"), "push own");
    assert_accepted(&f.push(&["origin", "main"]));
}

#[test]
fn a_find_by_regexp_without_a_path_is_refused() {
    let (s, _, _) = setup();
    let f = &s.f;
    // ESO's "find by name" example: every secret whose name matches, wherever it is.
    let find = |extra: &str| {
        external_secret(
            "team-b",
            &format!("  dataFrom:\n  - find:\n{extra}      name:\n        regexp: \".*db.*\"\n"),
        )
    };
    f.commit("apps/team-b/db.yaml", &find(""), "every db secret");
    assert_finding(
        &f.push(&["origin", "main"]),
        "secret-stores",
        &["ExternalSecret team-b/db", "without a path"],
    );
    // A path that, read as a string prefix, reaches past the team's folder.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "apps/team-b/db.yaml",
        &find("      path: team-b\n"),
        "prefix",
    );
    assert_finding(
        &f.push(&["origin", "main"]),
        "secret-stores",
        &["every key under `team-b`"],
    );
    // Control: the same search inside the team's folder.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    f.commit(
        "apps/team-b/db.yaml",
        &find("      path: team-b/\n"),
        "db secrets of team-b",
    );
    assert_accepted(&f.push(&["origin", "main"]));
}

/// A Flux Kustomization as in Flux's SOPS guide, decrypting with the `sops-age` Secret.
fn flux_kustomization(decryption: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: team-a
  namespace: flux-system
spec:
  interval: 10m0s
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./apps/team-a
  prune: true
{decryption}"
    )
}

const DECRYPTION: &str =
    "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n";

#[test]
fn removing_flux_decryption_needs_the_signers() {
    let (s, sam, dana) = setup();
    let f = &s.f;
    f.commit(
        "apps/team-a/basic-auth.yaml",
        &sops_secret(PASSWORD_1, &[AGE_FLUX]),
        "secret",
    );
    // Adding decryption where there was none lands.
    f.commit("clusters/prod/team-a.yaml", &flux_kustomization(""), "ks");
    f.commit(
        "clusters/prod/team-a.yaml",
        &flux_kustomization(DECRYPTION),
        "decrypt",
    );
    assert_accepted(&f.push(&["origin", "main"]));
    // A developer (trusted key, not a signer) removes it.
    s.sign_with(&dana);
    s.commit_signed(
        "clusters/prod/team-a.yaml",
        &flux_kustomization(""),
        "drop decryption",
    );
    assert_finding(
        &s.push(&["origin", "main"]),
        "sops-recipients",
        &[
            "removes spec.decryption from Kustomization flux-system/team-a",
            "path:   clusters/prod/team-a.yaml:7:3",
        ],
    );
    // ...or points it at another key.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    s.commit_signed(
        "clusters/prod/team-a.yaml",
        &flux_kustomization(&DECRYPTION.replace("sops-age", "my-age")),
        "re-point decryption",
    );
    assert_finding(
        &s.push(&["origin", "main"]),
        "sops-recipients",
        &["changes spec.decryption of Kustomization flux-system/team-a"],
    );
    // The same removal signed by an allowed signer lands.
    f.git(&["reset", "-q", "--hard", "origin/main"]);
    s.sign_with(&sam);
    s.commit_signed(
        "clusters/prod/team-a.yaml",
        &flux_kustomization(""),
        "drop decryption (SRE)",
    );
    assert_accepted(&s.push(&["origin", "main"]));
}
