//! Signer groups: named sets of key ids, which may include other groups.
//!
//! Rules name groups (`signers = ["sre"]`); a group resolves to the key ids of its members and of
//! the groups it includes. A cycle (`a` includes `b` includes `a`) or a reference to a group
//! that does not exist is a policy error, reported at the member that causes it.

use std::collections::{BTreeMap, BTreeSet};

/// A resolution problem, with the group and member it is about (the caller adds file:line).
#[derive(Debug, PartialEq, Eq)]
pub struct GroupError {
    pub group: String,
    pub message: String,
}

/// Normalises a key id as groups may write it (`openpgp:7a1b …`, `SHA256:…`) to the form the
/// verifier reports (`openpgp:<UPPER HEX>`, `ssh:SHA256:<base64>`).
pub fn normalize_key_id(s: &str) -> Option<String> {
    pushguard_sign::normalize_key_id(s)
}

/// Resolves every group to its key ids.
pub fn resolve(
    groups: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, BTreeSet<String>>, GroupError> {
    let mut out = BTreeMap::new();
    for name in groups.keys() {
        let mut stack = Vec::new();
        let keys = expand(name, groups, &mut stack)?;
        out.insert(name.clone(), keys);
    }
    Ok(out)
}

fn expand(
    name: &str,
    groups: &BTreeMap<String, Vec<String>>,
    stack: &mut Vec<String>,
) -> Result<BTreeSet<String>, GroupError> {
    if stack.iter().any(|s| s == name) {
        stack.push(name.to_string());
        return Err(GroupError {
            group: stack[0].clone(),
            message: format!(
                "groups include each other in a cycle: {}",
                stack.join(" -> ")
            ),
        });
    }
    let members = groups.get(name).ok_or_else(|| GroupError {
        group: stack.last().cloned().unwrap_or_default(),
        message: format!("group:{name} is not defined in [groups]"),
    })?;
    stack.push(name.to_string());
    let mut keys = BTreeSet::new();
    for m in members {
        if let Some(inner) = m.strip_prefix("group:") {
            keys.extend(expand(inner, groups, stack)?);
        } else {
            let id = normalize_key_id(m).ok_or_else(|| GroupError {
                group: name.to_string(),
                message: format!(
                    "{m:?} is not a key id: write openpgp:<fingerprint>, ssh:SHA256:<base64> (as `ssh-keygen -lf` prints) or group:<name>"
                ),
            })?;
            keys.insert(id);
        }
    }
    stack.pop();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "openpgp:0123456789ABCDEF0123456789ABCDEF01234567";
    const B: &str = "ssh:SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    fn g(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn nested_groups_resolve_and_normalise() {
        let lower = "openpgp:0123 4567 89ab cdef 0123 4567 89ab cdef 0123 4567";
        let r = resolve(&g(&[("sre", &[lower]), ("devs", &[B, "group:sre"])])).unwrap();
        assert_eq!(
            r["devs"],
            [A.to_string(), B.to_string()].into_iter().collect()
        );
        assert_eq!(r["sre"].len(), 1);
    }

    #[test]
    fn cycles_unknown_groups_and_bad_ids_are_errors() {
        let e = resolve(&g(&[("a", &["group:b"]), ("b", &["group:a"])])).unwrap_err();
        assert!(e.message.contains("cycle: a -> b -> a"), "{e:?}");
        let e = resolve(&g(&[("a", &["group:nope"])])).unwrap_err();
        assert_eq!(e.group, "a");
        assert!(e.message.contains("group:nope is not defined"));
        let e = resolve(&g(&[("a", &["7A1B"])])).unwrap_err();
        assert!(e.message.contains("not a key id"));
    }
}
