//! Ref names: git's `check_refname_format` with no flags, the rules of
//! `git check-ref-format` without `--allow-onelevel`.

use crate::error::{escape, Malformed, ObjectKind, Rule};

/// Checks a full ref name such as `refs/heads/main`.
///
/// Refused as git does: an empty name or component (so no leading or
/// trailing `/` and no `//`), `..`, `@{`, control characters (bytes below
/// 0x20 and 0x7f), space, `~`, `^`, `:`, `?`, `*`, `[`, `\`, a component
/// that starts with `.` or ends with `.lock`, a name that ends with `.`, the
/// name `@`, and a name of one component (`main`, `HEAD`).
pub fn check_ref_name(name: &str) -> Result<(), Malformed> {
    let bad = |why: &str| {
        Err(Malformed::new(
            ObjectKind::RefName,
            Rule::BadRefName,
            format!("`{}` {why}", escape(name.as_bytes())),
        ))
    };
    if name == "@" {
        return bad("is `@`, which git reads as HEAD");
    }
    match check_components(name.as_bytes()) {
        Err(why) => bad(why),
        Ok(1) => bad("has one component; a ref name has at least two (`refs/...`)"),
        Ok(_) => Ok(()),
    }
}

/// Checks the components of a ref name (or of the part of one after a
/// valid prefix such as `refs/tags/`). Returns the number of components or
/// what is wrong.
pub(crate) fn check_components(name: &[u8]) -> Result<usize, &'static str> {
    let mut count = 0;
    for component in name.split(|&b| b == b'/') {
        count += 1;
        check_component(component)?;
    }
    if name.last() == Some(&b'.') {
        return Err("ends with `.`");
    }
    Ok(count)
}

fn check_component(c: &[u8]) -> Result<(), &'static str> {
    if c.is_empty() {
        return Err("has an empty component (a leading or trailing `/`, or `//`)");
    }
    if c[0] == b'.' {
        return Err("has a component that starts with `.`");
    }
    let mut last = 0u8;
    for &b in c {
        match b {
            0..=0x1f | 0x7f => return Err("contains a control character"),
            b' ' => return Err("contains a space"),
            b'~' | b'^' | b':' => return Err("contains `~`, `^` or `:`"),
            b'?' | b'*' | b'[' => return Err("contains `?`, `*` or `[`"),
            b'\\' => return Err("contains `\\`"),
            b'.' if last == b'.' => return Err("contains `..`"),
            b'{' if last == b'@' => return Err("contains `@{`"),
            _ => {}
        }
        last = b;
    }
    if c.ends_with(b".lock") {
        return Err("has a component that ends with `.lock`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for name in [
            "refs/heads/main",
            "refs/tags/v1.2.3",
            "refs/heads/feature/x-y_z",
            "refs/heads/caf\u{e9}",
            "refs/heads/a@b",
            "refs/heads/@",
            "refs/heads/a.b.c",
            "refs/heads/{x}",
            "refs/heads/lock",
            "refs/heads/x.locked",
        ] {
            assert!(check_ref_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_what_check_ref_format_refuses() {
        for name in [
            "",
            "@",
            "main",
            "HEAD",
            "refs/heads/",
            "/refs/heads/x",
            "refs//heads/x",
            "refs/heads/a..b",
            "refs/heads/a@{1}",
            "refs/heads/.hidden",
            "refs/heads/x.lock",
            "refs/heads/x.lock/y",
            "refs/heads/x.",
            "refs/heads/a b",
            "refs/heads/a~1",
            "refs/heads/a^",
            "refs/heads/a:b",
            "refs/heads/a?",
            "refs/heads/a*",
            "refs/heads/a[b",
            "refs/heads/a\\b",
            "refs/heads/a\nb",
            "refs/heads/a\tb",
            "refs/heads/a\x1bb",
            "refs/heads/a\x7fb",
            "refs/heads/./x",
            "refs/heads/../x",
        ] {
            let e = check_ref_name(name).expect_err(name);
            assert_eq!(e.rule(), Rule::BadRefName);
            assert!(e.to_string().starts_with("malformed ref name: `"), "{e}");
        }
    }

    #[test]
    fn message_escapes_the_name() {
        let e = check_ref_name("refs/heads/a\nb").unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed ref name: `refs/heads/a\\nb` contains a control character"
        );
    }
}
