//! Secrets flow only where the policy says: remote keys per namespace (`secret_keys`), SOPS
//! recipients (`sops-recipients`), Flux decryption changes (signable), and the plaintext rule
//! on SOPS files.

mod common;

use common::*;
use pushguard_manifest::secrets::{find_path_allowed, key_allowed};
use pushguard_manifest::{judge, FileChange, FileVersion, Limits, RuleId, Settings, SopsRecipient};

fn keys() -> Settings {
    let mut s = settings(&[RuleId::SecretStores]);
    s.secret_stores
        .insert("*".into(), vec!["vault-backend".into()]);
    s.secret_keys.insert(
        "team-a".into(),
        vec!["team-a/".into(), "shared/*-ro".into()],
    );
    s.secret_keys
        .insert("team-b".into(), vec!["team-b/**".into()]);
    s
}

/// An ExternalSecret shaped like the External Secrets Operator docs (Vault KV v2 behind a
/// ClusterSecretStore), with `body` as its data/dataFrom.
fn external(ns: &str, body: &str) -> String {
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
{body}"
    )
}

fn data(key: &str) -> String {
    format!("  data:\n  - secretKey: password\n    remoteRef:\n      key: {key}\n      property: password\n")
}

#[test]
fn key_matching_is_prefix_or_glob() {
    assert!(key_allowed("team-a/", "team-a/db"));
    assert!(!key_allowed("team-a/", "team-a/"));
    assert!(!key_allowed("team-a/", "team-ab/db"));
    assert!(key_allowed("team-b/**", "team-b/x/y"));
    assert!(key_allowed("shared/*-ro", "shared/db-ro"));
    assert!(!key_allowed("shared/*-ro", "shared/x/db-ro"));
    assert!(key_allowed("/team-a/db", "/team-a/db"));
    assert!(!key_allowed("team-a/db", "team-a/db2"));
    // A find.path reads every key that starts with it (some providers compare names as
    // plain string prefixes): only a prefix entry it starts with allows it.
    assert!(find_path_allowed("team-a/", "team-a/"));
    assert!(find_path_allowed("team-a/", "team-a/apps"));
    assert!(find_path_allowed("team-b/**", "team-b/"));
    assert!(!find_path_allowed("team-b/**", "team-b"));
    assert!(!find_path_allowed("team-a/", "team-a"));
    assert!(!find_path_allowed("*/", "team-a/"));
    assert!(!find_path_allowed("team-a/db", "team-a/db"));
}

#[test]
fn external_secrets_read_only_their_namespace_keys() {
    let s = keys();
    for (ns, key) in [
        ("team-a", "team-a/db"),
        ("team-a", "shared/db-ro"),
        ("team-b", "team-b/apps/db"),
        ("team-b", "team-b/trailing/"),
        // No entry for team-c and no "*": not checked.
        ("team-c", "anything/at/all"),
    ] {
        let f = judge_added("es.yaml", &external(ns, &data(key)), &s);
        assert!(f.is_empty(), "{ns} {key}: {f:?}");
    }
    // The issue's attack: team-b reads team-a's database password.
    let f = judge_added("es.yaml", &external("team-b", &data("team-a/db")), &s);
    assert_eq!(rules_of(&f), ["secret-stores"]);
    assert!(
        f[0].message.contains("spec.data[0].remoteRef.key")
            && f[0].message.contains("`team-a/db`")
            && f[0].message.contains("namespace `team-b`"),
        "{}",
        f[0].message
    );
    assert_eq!((f[0].line, f[0].column), (16, 12));
    assert!(!f[0].signable, "signers do not excuse another team's keys");
    // Paths a provider may clean into another team's key.
    for bad in [
        "team-b/../team-a/db",
        "team-b/./x",
        "team-b//x",
        "team-b/%2e%2e/team-a",
        "''",
        "{a: b}",
    ] {
        let f = judge_added("es.yaml", &external("team-b", &data(bad)), &s);
        assert_eq!(rules_of(&f), ["secret-stores"], "{bad}");
    }
    // A data entry without remoteRef.key fails closed.
    let f = judge_added(
        "es.yaml",
        &external(
            "team-b",
            "  data:\n  - secretKey: password\n    remoteRef: {property: password}\n",
        ),
        &s,
    );
    assert_eq!(rules_of(&f), ["secret-stores"]);
}

#[test]
fn data_from_extract_and_find() {
    let s = keys();
    let from = |ns: &str, item: &str| external(ns, &format!("  dataFrom:\n  - {item}\n"));
    for (ns, item) in [
        ("team-b", "extract: {key: team-b/db}"),
        ("team-b", "find: {path: team-b/, name: {regexp: '^db-'}}"),
        ("team-a", "find: {path: team-a/apps}"),
        (
            "team-b",
            "sourceRef: {generatorRef: {apiVersion: generators.external-secrets.io/v1alpha1, kind: Password, name: pw}}",
        ),
    ] {
        let f = judge_added("es.yaml", &from(ns, item), &s);
        assert!(f.is_empty(), "{ns} {item}: {f:?}");
    }
    for (ns, item, says) in [
        ("team-b", "extract: {key: team-a/db}", "`team-a/db`"),
        // ESO's docs: find by name regexp, with no path: reads anything the store reaches.
        (
            "team-b",
            "find: {name: {regexp: '.*db.*'}}",
            "without a path",
        ),
        (
            "team-b",
            "find: {tags: {environment: prod}}",
            "without a path",
        ),
        // A path the string-prefix reading takes past the team's folder.
        ("team-b", "find: {path: team-b}", "every key under `team-b`"),
        (
            "team-b",
            "find: {path: team-a/}",
            "every key under `team-a/`",
        ),
        ("team-b", "{}", "neither extract, find nor a generatorRef"),
    ] {
        let f = judge_added("es.yaml", &from(ns, item), &s);
        assert_eq!(rules_of(&f), ["secret-stores"], "{item}");
        assert!(f[0].message.contains(says), "{item}: {}", f[0].message);
    }
}

#[test]
fn push_secrets_write_only_their_namespace_keys() {
    let s = keys();
    // ESO's PushSecret example.
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
    assert!(judge_added("p.yaml", &push("team-b/pokemon"), &s).is_empty());
    let f = judge_added("p.yaml", &push("team-a/db"), &s);
    assert_eq!(rules_of(&f), ["secret-stores"]);
    assert!(
        f[0].message.contains("writes the remote key `team-a/db`"),
        "{}",
        f[0].message
    );
    // dataTo: a bundle remoteKey is judged; without one, the names come from the Secret.
    let data_to = |entry: &str| {
        push("team-b/pokemon").replace(
            "  data:\n",
            &format!("  dataTo:\n    - storeRef: {{name: vault-backend, kind: ClusterSecretStore}}\n      {entry}\n  data:\n"),
        )
    };
    assert!(judge_added("p.yaml", &data_to("remoteKey: team-b/bundle"), &s).is_empty());
    assert_eq!(
        rules_of(&judge_added(
            "p.yaml",
            &data_to("remoteKey: team-a/bundle"),
            &s
        )),
        ["secret-stores"]
    );
    assert_eq!(
        rules_of(&judge_added(
            "p.yaml",
            &data_to("match: {regexp: '^db-'}"),
            &s
        )),
        ["secret-stores"]
    );
    // A dataTo storeRef is held to secret_stores like the others.
    let mut strict = keys();
    strict.secret_stores.clear();
    let f = judge_added("p.yaml", &data_to("remoteKey: team-b/bundle"), &strict);
    assert!(
        f.iter()
            .any(|f| f.message.contains("spec.dataTo[0].storeRef")),
        "{f:?}"
    );
}

#[test]
fn cluster_wide_objects_are_held_to_star_only() {
    let mut s = keys();
    let ces = "apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata:
  name: shared
spec:
  namespaceSelectors:
  - matchLabels: {tier: apps}
  externalSecretSpec:
    secretStoreRef: {name: vault-backend, kind: ClusterSecretStore}
    target: {name: shared}
    data:
    - secretKey: token
      remoteRef: {key: shared/token-ro}
";
    // team-a's entry does not count for a ClusterExternalSecret: only "*" could.
    let f = judge_added("ces.yaml", ces, &s);
    assert_eq!(rules_of(&f), ["secret-stores"]);
    assert!(f[0].message.contains("every namespace"), "{}", f[0].message);
    s.secret_keys.insert("*".into(), vec!["shared/".into()]);
    assert!(judge_added("ces.yaml", ces, &s).is_empty());
    // "*" applies to every namespace, beside the namespace's own entry.
    assert!(judge_added("es.yaml", &external("team-b", &data("shared/x")), &s).is_empty());
    assert!(judge_added("es.yaml", &external("team-c", &data("shared/x")), &s).is_empty());
    assert_eq!(
        rules_of(&judge_added(
            "es.yaml",
            &external("team-c", &data("team-a/db")),
            &s
        )),
        ["secret-stores"]
    );
    // An ExternalSecret whose namespace is not written: only "*" can allow it.
    let no_ns = external("team-a", &data("team-a/db")).replace("  namespace: team-a\n", "");
    assert_eq!(
        rules_of(&judge_added("es.yaml", &no_ns, &s)),
        ["secret-stores"]
    );
    // Off without secret_keys, and without the rule.
    let mut off = keys();
    off.secret_keys.clear();
    assert!(judge_added("es.yaml", &external("team-b", &data("team-a/db")), &off).is_empty());
    let mut off = keys();
    off.rules.clear();
    assert!(judge_added("es.yaml", &external("team-b", &data("team-a/db")), &off).is_empty());
}

// ---------------------------------------------------------------------------------------------
// SOPS

const AGE_FLUX: &str = "age1helqcqsh9464r8chnwc2fzj8uv7vr5ntnsft0tn45v2xtz0hpfwq98cmsg";
const AGE_ATTACKER: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
const PGP_FLUX: &str = "1F3D1CED2F865F5E59CA564553241F147E7C5FA4";

fn sops_settings() -> Settings {
    let mut s = settings(&[RuleId::SopsRecipients]);
    s.sops_recipients = [
        format!("age:{AGE_FLUX}"),
        format!("pgp:{PGP_FLUX}"),
        "awskms:arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            .to_string(),
        "gcpkms:projects/acme/locations/global/keyRings/sops/cryptoKeys/flux".to_string(),
        "azurekv:https://acme.vault.azure.net/keys/sops".to_string(),
        "hcvault:https://vault.example.com:8200/v1/sops/keys/flux".to_string(),
    ]
    .iter()
    .map(|e| SopsRecipient::parse(e).unwrap())
    .collect();
    s
}

/// A Secret encrypted as Flux's SOPS guide does (`--encrypted-regex '^(data|stringData)$'`),
/// with the given `sops` recipient lines.
fn sops_secret(recipients: &str) -> String {
    format!(
        "apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: team-a
type: Opaque
stringData:
  password: ENC[AES256_GCM,data:4lVd2g==,iv:qUqk9LyhoO8=,tag:RsuOwXo=,type:str]
sops:
{recipients}  lastmodified: \"2026-11-30T10:00:00Z\"
  mac: ENC[AES256_GCM,data:Nd0=,iv:b9=,tag:IE=,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.9.4
"
    )
}

fn age(r: &str) -> String {
    format!("  age:\n  - recipient: {r}\n    enc: |\n      -----BEGIN AGE ENCRYPTED FILE-----\n      YWdl\n      -----END AGE ENCRYPTED FILE-----\n")
}

#[test]
fn sops_recipients_parse_and_are_checked_when_the_policy_is_read() {
    for good in [
        format!("age:{AGE_FLUX}"),
        "age:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE".to_string(),
        format!("pgp:{}", PGP_FLUX.to_lowercase()),
        "pgp:1F3D 1CED 2F86 5F5E 59CA  5645 5324 1F14 7E7C 5FA4".to_string(),
        "awskms:arn:aws:kms:eu-west-1:111122223333:alias/sops".to_string(),
        "azurekv:https://acme.vault.azure.net/keys/sops/0123abcd".to_string(),
        "hcvault:http://127.0.0.1:8200/v1/sops/keys/firstkey".to_string(),
    ] {
        assert!(SopsRecipient::parse(&good).is_ok(), "{good}");
    }
    assert_eq!(
        SopsRecipient::parse("pgp:1f3d 1ced 2f86 5f5e 59ca  5645 5324 1f14 7e7c 5fa4")
            .unwrap()
            .to_string(),
        format!("pgp:{PGP_FLUX}")
    );
    for bad in [
        "age1helqcqsh",
        "AGE:age1x",
        "age:AGE1HELQ",
        "age:ssh-ed25519 AAAA comment",
        "pgp:53241F147E7C5FA4",
        "awskms:arn:aws:s3:::bucket",
        "gcpkms:projects/acme/keyRings/sops",
        "azurekv:http://acme.vault.azure.net/keys/sops",
        "hcvault:https://vault.example.com/sops/keys/flux",
        "hckms:tr-west-1:1234",
        "age: age1x",
    ] {
        assert!(SopsRecipient::parse(bad).is_err(), "{bad}");
    }
    let err = toml::from_str::<Settings>(
        "rules = [\"sops-recipients\"]\nsops_recipients = [\"kms:arn:aws:kms:x\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no known type prefix"), "{err}");
    let ok: Settings = toml::from_str(&format!(
        "rules = [\"sops-recipients\"]\nsops_recipients = [\"age:{AGE_FLUX}\"]\n"
    ))
    .unwrap();
    assert_eq!(ok.rules, [RuleId::SopsRecipients]);
}

#[test]
fn a_re_encrypted_secret_cannot_add_a_reader() {
    let s = sops_settings();
    let good = sops_secret(&age(AGE_FLUX));
    assert!(judge_added("db.yaml", &good, &s).is_empty());
    // `sops updatekeys` with the attacker's age key added beside Flux's.
    let added = sops_secret(&format!(
        "{}  - recipient: {AGE_ATTACKER}\n    enc: x\n",
        age(AGE_FLUX)
    ));
    let f = judge_modified("db.yaml", &good, &added, &s);
    assert_eq!(rules_of(&f), ["sops-recipients"]);
    assert!(
        f[0].message.contains(AGE_ATTACKER) && f[0].message.contains("sops.age[1]"),
        "{}",
        f[0].message
    );
    assert!(!f[0].signable);
    // Every recipient type, top level and in key groups, in YAML and JSON.
    let every = "  kms:
  - arn: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    role: arn:aws:iam::123456789012:role/sops
    created_at: \"2026-11-30T10:00:00Z\"
    enc: AQICAH
    aws_profile: \"\"
  gcp_kms:
  - resource_id: projects/acme/locations/global/keyRings/sops/cryptoKeys/flux
    created_at: \"2026-11-30T10:00:00Z\"
    enc: CiQA
  azure_kv:
  - vault_url: https://acme.vault.azure.net
    name: sops
    version: 0123abcd
    created_at: \"2026-11-30T10:00:00Z\"
    enc: abc
  hc_vault:
  - vault_address: https://vault.example.com:8200
    engine_path: sops
    key_name: flux
    created_at: \"2026-11-30T10:00:00Z\"
    enc: vault:v1:abc
  pgp:
  - created_at: \"2026-11-30T10:00:00Z\"
    enc: |
      -----BEGIN PGP MESSAGE-----
      -----END PGP MESSAGE-----
    fp: 1f3d1ced2f865f5e59ca564553241f147e7c5fa4
";
    assert!(judge_added("db.yaml", &sops_secret(every), &s).is_empty());
    for (from, to) in [
        ("key/1234abcd", "key/9999abcd"),
        ("cryptoKeys/flux", "cryptoKeys/other"),
        (
            "https://acme.vault.azure.net",
            "https://evil.vault.azure.net",
        ),
        ("key_name: flux", "key_name: other"),
        ("engine_path: sops", "engine_path: transit"),
        ("fp: 1f3d1ced", "fp: 0f3d1ced"),
    ] {
        let f = judge_added("db.yaml", &sops_secret(&every.replace(from, to)), &s);
        assert_eq!(rules_of(&f), ["sops-recipients"], "{to}");
    }
    let groups = format!(
        "  shamir_threshold: 2\n  key_groups:\n  - age:\n    - recipient: {AGE_FLUX}\n      enc: x\n  - pgp:\n    - fp: {PGP_FLUX}\n      enc: x\n"
    );
    assert!(judge_added("db.yaml", &sops_secret(&groups), &s).is_empty());
    let f = judge_added(
        "db.yaml",
        &sops_secret(&groups.replace(
            &format!("recipient: {AGE_FLUX}"),
            &format!("recipient: {AGE_ATTACKER}"),
        )),
        &s,
    );
    assert_eq!(rules_of(&f), ["sops-recipients"]);
    assert!(
        f[0].message.contains("sops.key_groups[0].age[0]"),
        "{}",
        f[0].message
    );
    // JSON, as sops writes it (null for empty lists).
    let json = format!(
        r#"{{"apiVersion": "v1", "kind": "Secret", "metadata": {{"name": "db", "namespace": "team-a"}},
 "data": {{"password": "ENC[AES256_GCM,data:4lVd2g==,iv:qUqk9LyhoO8=,tag:RsuOwXo=,type:str]"}},
 "sops": {{"kms": null, "gcp_kms": null, "azure_kv": null, "hc_vault": null,
   "age": [{{"recipient": "{AGE_ATTACKER}", "enc": "x"}}],
   "lastmodified": "2026-11-30T10:00:00Z", "mac": "ENC[x]", "pgp": null,
   "unencrypted_suffix": "_unencrypted", "version": "3.9.4"}}}}"#
    );
    assert_eq!(
        rules_of(&judge_added("db.json", &json, &s)),
        ["sops-recipients"]
    );
    let json = json.replace(AGE_ATTACKER, AGE_FLUX);
    assert!(judge_added("db.json", &json, &s).is_empty());
    // An azurekv entry with a version allows that version only.
    let mut pinned = s.clone();
    pinned.sops_recipients =
        vec![
            SopsRecipient::parse("azurekv:https://acme.vault.azure.net/keys/sops/0123abcd")
                .unwrap(),
        ];
    let azure = "  azure_kv:\n  - vault_url: https://acme.vault.azure.net\n    name: sops\n    version: 0123abcd\n    enc: abc\n";
    assert!(judge_added("db.yaml", &sops_secret(azure), &pinned).is_empty());
    assert_eq!(
        rules_of(&judge_added(
            "db.yaml",
            &sops_secret(&azure.replace("0123abcd", "ffff")),
            &pinned
        )),
        ["sops-recipients"]
    );
    // A file entry without a version is allowed by a versionless entry only; a `/` inside a
    // joined part is unreadable.
    let unversioned = "  azure_kv:\n  - vault_url: https://acme.vault.azure.net\n    name: sops\n    version: \"\"\n    enc: abc\n";
    assert!(judge_added("db.yaml", &sops_secret(unversioned), &s).is_empty());
    assert_eq!(
        rules_of(&judge_added("db.yaml", &sops_secret(unversioned), &pinned)),
        ["sops-recipients"]
    );
    let slashed = azure.replace("name: sops", "name: sops/x");
    let f = judge_added("db.yaml", &sops_secret(&slashed), &s);
    assert!(f[0].message.contains("holds a `/`"), "{f:?}");
    // The finding points at the recipient's id, whatever the order of the entry's fields.
    let enc_first = format!("  age:\n  - enc: x\n    recipient: {AGE_ATTACKER}\n");
    let f = judge_added("db.yaml", &sops_secret(&enc_first), &s);
    assert_eq!((f[0].line, f[0].column), (12, 16), "{f:?}");
}

#[test]
fn unreadable_sops_metadata_fails_closed() {
    let s = sops_settings();
    for (recipients, says) in [
        (
            "  hckms:\n  - key_id: tr-west-1:abc\n    enc: x\n",
            "`sops.hckms`",
        ),
        ("  age: {recipient: x}\n", "`sops.age` is not a list"),
        ("  age:\n  - enc: x\n", "no `recipient` string"),
        ("  age:\n  - just-a-string\n", "not a mapping"),
        ("  pgp:\n  - fp: \"\"\n    enc: x\n", "no `fp` string"),
        (
            "  key_groups:\n  - vault:\n    - x: y\n",
            "key_groups[0].vault",
        ),
        ("  key_groups: {age: []}\n", "`key_groups` is not a list"),
        ("  kms: []\n  age: null\n", "names no recipient"),
    ] {
        let f = judge_added("db.yaml", &sops_secret(recipients), &s);
        assert!(
            !f.is_empty() && f.iter().all(|f| f.rule == "sops-recipients"),
            "{recipients}: {f:?}"
        );
        assert!(
            f.iter().any(|f| f.message.contains(says)),
            "{recipients}: {f:?}"
        );
    }
    let not_a_map =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: a}\nsops: yes\n";
    assert_eq!(
        rules_of(&judge_added("c.yaml", not_a_map, &s)),
        ["sops-recipients"]
    );
    // Any kind of document, not only Secrets.
    let cm = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x, namespace: a}}\ndata:\n  k: ENC[AES256_GCM,data:aa==,iv:bb=,tag:cc=,type:str]\nsops:\n{}  version: 3.9.4\n",
        age(AGE_ATTACKER)
    );
    assert_eq!(
        rules_of(&judge_added("c.yaml", &cm, &s)),
        ["sops-recipients"]
    );
    // Without allowed recipients, every recipient is refused (fail closed).
    let mut none = s.clone();
    none.sops_recipients.clear();
    assert_eq!(
        rules_of(&judge_added("db.yaml", &sops_secret(&age(AGE_FLUX)), &none)),
        ["sops-recipients"]
    );
    // Off unless named in `rules`.
    assert!(judge_added("db.yaml", &sops_secret(&age(AGE_ATTACKER)), &settings(&[])).is_empty());
}

/// SOPS metadata does not make values encrypted: a value that is not `ENC[...]` (left out by
/// `unencrypted_regex`/`encrypted_regex` or the `_unencrypted` suffix) is plaintext in Git,
/// while a fully encrypted Secret passes even though it decrypts to one.
#[test]
fn plaintext_secrets_with_sops_metadata() {
    let mut s = sops_settings();
    s.rules.push(RuleId::PlaintextSecrets);
    assert!(judge_added("db.yaml", &sops_secret(&age(AGE_FLUX)), &s).is_empty());
    let partial = sops_secret(&age(AGE_FLUX)).replace(
        "stringData:\n",
        "stringData:\n  username_unencrypted: admin\n",
    );
    let f = judge_added("db.yaml", &partial, &s);
    assert_eq!(rules_of(&f), ["plaintext-secrets"]);
    assert!(
        f[0].message.contains("username_unencrypted"),
        "{}",
        f[0].message
    );
    let regex = sops_secret(&age(AGE_FLUX))
        .replace(
            "encrypted_regex: ^(data|stringData)$",
            "unencrypted_regex: ^password$",
        )
        .replace(
            "ENC[AES256_GCM,data:4lVd2g==,iv:qUqk9LyhoO8=,tag:RsuOwXo=,type:str]",
            "hunter2",
        );
    assert_eq!(
        rules_of(&judge_added("db.yaml", &regex, &s)),
        ["plaintext-secrets"]
    );
    // `data` too, and a malformed ENC value.
    let data = sops_secret(&age(AGE_FLUX))
        .replace("stringData:", "data:")
        .replace(
            "ENC[AES256_GCM,data:4lVd2g==,iv:qUqk9LyhoO8=,tag:RsuOwXo=,type:str]",
            "ENC[AES256_GCM,data:aHVudGVyMg==]",
        );
    assert_eq!(
        rules_of(&judge_added("db.yaml", &data, &s)),
        ["plaintext-secrets"]
    );
}

// ---------------------------------------------------------------------------------------------
// Flux decryption

/// A Flux Kustomization as in Flux's SOPS guide.
fn flux_kustomization(decryption: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: my-secrets
  namespace: flux-system
spec:
  interval: 10m0s
  sourceRef:
    kind: GitRepository
    name: my-secrets
  path: ./
  prune: true
{decryption}"
    )
}

const DECRYPTION: &str =
    "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n";

#[test]
fn flux_decryption_removed_or_re_pointed_is_signable() {
    let s = settings(&[RuleId::SopsRecipients]);
    let with = flux_kustomization(DECRYPTION);
    let without = flux_kustomization("");
    // Adding decryption where there was none, or leaving it, is fine.
    assert!(judge_modified("k.yaml", &without, &with, &s).is_empty());
    assert!(judge_added("k.yaml", &with, &s).is_empty());
    assert!(judge_added("k.yaml", &without, &s).is_empty());
    let reformatted =
        flux_kustomization("  decryption: {secretRef: {name: sops-age}, provider: sops}\n");
    assert!(judge_modified("k.yaml", &with, &reformatted, &s).is_empty());
    // Removed.
    let f = judge_modified("k.yaml", &with, &without, &s);
    assert_eq!(rules_of(&f), ["sops-recipients"]);
    assert!(f[0].signable, "the block's signers may remove it");
    assert!(
        f[0].message.contains("removes spec.decryption"),
        "{}",
        f[0].message
    );
    let null = flux_kustomization("  decryption: null\n");
    assert_eq!(
        rules_of(&judge_modified("k.yaml", &with, &null, &s)),
        ["sops-recipients"]
    );
    // Re-pointed: secretRef, provider, or a field Flux adds later.
    for changed in [
        DECRYPTION.replace("sops-age", "attacker-age"),
        DECRYPTION.replace("provider: sops", "provider: other"),
        format!("{DECRYPTION}    serviceAccountName: kms-decryptor\n"),
    ] {
        let f = judge_modified("k.yaml", &with, &flux_kustomization(&changed), &s);
        assert_eq!(rules_of(&f), ["sops-recipients"], "{changed}");
        assert!(f[0].signable && f[0].message.contains("changes spec.decryption"));
        assert_eq!(f[0].change, pushguard_manifest::ChangeKind::Changed);
    }
    // Moved to another file: judged against the file it left.
    let moved = judge(
        &[
            FileChange {
                old: Some(FileVersion {
                    path: "a.yaml",
                    bytes: with.as_bytes(),
                }),
                new: None,
            },
            FileChange {
                old: None,
                new: Some(FileVersion {
                    path: "b.yaml",
                    bytes: without.as_bytes(),
                }),
            },
        ],
        &s,
        &Limits::default(),
        TODAY,
    );
    assert_eq!(rules_of(&moved), ["sops-recipients"]);
    // A kustomize patch of a Flux Kustomization touching spec.decryption.
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [k.yaml]
patches:
- target: {kind: Kustomization, name: my-secrets}
  patch: |
    apiVersion: kustomize.toolkit.fluxcd.io/v1
    kind: Kustomization
    metadata: {name: my-secrets, namespace: flux-system}
    spec:
      decryption: null
";
    let f = judge_added("clusters/kustomization.yaml", kustomization, &s);
    assert_eq!(rules_of(&f), ["sops-recipients"]);
    assert!(f[0].signable);
    // Another kind named Kustomization (kustomize's own) is not Flux's.
    assert!(judge_modified(
        "k.yaml",
        &with.replace("kustomize.toolkit.fluxcd.io/v1", "example.com/v1"),
        &without.replace("kustomize.toolkit.fluxcd.io/v1", "example.com/v1"),
        &s
    )
    .is_empty());
    // Off unless named in `rules`.
    assert!(judge_modified("k.yaml", &with, &without, &settings(&[])).is_empty());
}

/// The existing signable findings keep their flag.
#[test]
fn protected_namespace_and_cluster_secret_store_findings_are_signable() {
    let s = settings(&[
        RuleId::ProtectedNamespaces,
        RuleId::SecretStores,
        RuleId::Privileged,
    ]);
    let css = "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: shared}\nspec: {provider: {vault: {server: 'https://vault.example.com', path: secret}}}\n";
    let f = judge_added("c.yaml", css, &s);
    assert_eq!(rules_of(&f), ["secret-stores"]);
    assert!(f[0].signable);
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: flux-system}\n";
    let f = judge_added("c.yaml", cm, &s);
    assert_eq!(rules_of(&f), ["protected-namespaces"]);
    assert!(f[0].signable);
    let f = judge_added("d.yaml", &deployment("api", "{privileged: true}"), &s);
    assert_eq!(rules_of(&f), ["privileged"]);
    assert!(!f[0].signable);
}
