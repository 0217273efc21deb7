//! Never an acceptance after an error, tried on every object a push adds: a wrapper hook damages
//! one object of the quarantine (cut short, or overwritten with bytes that are not a zlib
//! stream) and then runs pushguard as installed. Whatever pushguard needs and cannot read must
//! reject the push with a message naming the object, for each object in turn, including the
//! trees whose facts pushguard keeps between pushes (the same commits are pushed again and
//! again, so by the later rounds those facts exist). The control push, undamaged, lands.

mod common;

use common::*;

const POLICY: &str = r#"version = 1
[host]
pusher_variable = "REMOTE_USER"

[[path]]
match = ["clusters/**"]
refs = "refs/heads/main"
pushers = ["dana"]

[[manifests]]
match = ["**/*.yaml"]
rules = ["privileged", "host-namespaces", "deny-delete"]
deny_delete = ["Namespace"]
"#;

/// Puts a wrapper in front of the installed hook: with `PG_LIST` set it writes the loose
/// objects of the quarantine to that file and refuses; with `PG_DAMAGE=N:how` it damages the
/// N-th of them (`cut` or `garbage`) and runs the hook.
fn wrap_hook(f: &Fixture) -> String {
    let hook = f.bare.join("hooks/pre-receive");
    let shim = std::fs::read_to_string(&hook).unwrap();
    let wrapper = r#"#!/bin/sh
objects() { find "$GIT_OBJECT_DIRECTORY" -type f | grep -E '/[0-9a-f]{2}/[0-9a-f]{38}$' | sort; }
if [ -n "$PG_LIST" ]; then objects > "$PG_LIST"; cat > /dev/null; exit 1; fi
if [ -n "$PG_DAMAGE" ]; then
  n=${PG_DAMAGE%%:*}; how=${PG_DAMAGE#*:}
  obj=$(objects | sed -n "${n}p")
  chmod u+w "$obj"
  if [ "$how" = cut ]; then head -c 12 "$obj" > "$obj.x"; else printf 'not a zlib stream at all, %s' "$n" > "$obj.x"; fi
  mv "$obj.x" "$obj"
fi
"#;
    std::fs::write(&hook, shim.replacen("#!/bin/sh\n", wrapper, 1)).unwrap();
    shim
}

#[test]
fn every_object_a_push_adds_damaged_in_turn_rejects_the_push() {
    let f = Fixture::new(POLICY);
    f.commit("apps/a.yaml", DEPLOY, "base");
    assert_accepted(&f.push_as(&[("REMOTE_USER", "dana")], &["origin", "main"]));

    // The push: two commits, a changed manifest, a new directory, a new file.
    f.commit("apps/a.yaml", &DEPLOY.replace("api:1.0", "api:1.1"), "bump");
    f.commit(
        "clusters/dev/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: dev\n",
        "namespace",
    );
    let shim = wrap_hook(&f);
    let list = f.dir.path().join("objects.txt");
    let r = f.push_as(
        &[("REMOTE_USER", "dana"), ("PG_LIST", list.to_str().unwrap())],
        &["origin", "main"],
    );
    assert_rejected(&r);
    let objects: Vec<String> = std::fs::read_to_string(&list)
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.rsplit('/');
            let file = parts.next().unwrap_or_default();
            let dir = parts.next().unwrap_or_default();
            format!("{dir}{file}")
        })
        .collect();
    // 2 commits, 5 trees (root twice, apps, clusters, clusters/dev), 2 blobs.
    assert_eq!(objects.len(), 9, "{objects:?}");

    let mut tried = 0;
    for (i, id) in objects.iter().enumerate() {
        for how in ["cut", "garbage"] {
            let damage = format!("{}:{how}", i + 1);
            let r = f.push_as(
                &[("REMOTE_USER", "dana"), ("PG_DAMAGE", &damage)],
                &["origin", "main"],
            );
            assert_rejected(&r);
            assert!(
                r.out.contains(&id[..10]) || r.out.contains(&id[..7]),
                "object {id} damaged ({how}): the message does not name it: {r:?}"
            );
            assert!(!r.out.contains("panicked"), "{r:?}");
            assert!(
                f.remote_ref("refs/heads/main") != Some(f.git(&["rev-parse", "HEAD"])),
                "the ref moved"
            );
            tried += 1;
        }
    }
    assert_eq!(tried, 18);

    // Control: the same push, nothing damaged, lands.
    std::fs::write(f.bare.join("hooks/pre-receive"), shim).unwrap();
    assert_accepted(&f.push_as(&[("REMOTE_USER", "dana")], &["origin", "main"]));
}
