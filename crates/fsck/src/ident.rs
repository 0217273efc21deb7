//! `Name <email> 1700000000 +0100`: author, committer and tagger values.

use crate::error::{escape, Rule};

/// A parsed identity, borrowed from the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ident<'a> {
    /// The whole value after `author ` / `committer ` / `tagger `, without
    /// the newline.
    pub raw: &'a [u8],
    /// Bytes before ` <` (may be empty; never contains `<`, `>` or a newline).
    pub name: &'a [u8],
    /// Bytes between `<` and `>` (never contains `<`, `>` or a newline).
    pub email: &'a [u8],
    /// Seconds since the epoch (0 ..= i64::MAX).
    pub time: i64,
    /// The zone as written: `+HHMM` or `-HHMM`, five ASCII bytes.
    pub zone: &'a str,
}

impl Ident<'_> {
    /// The zone as an offset from UTC in minutes (`-0130` gives -90).
    /// git checks only that there are four digits, and so does this crate:
    /// `+0099` gives 99.
    pub fn zone_offset_minutes(&self) -> i32 {
        let d = self.zone.as_bytes();
        let n = |i: usize| i32::from(d[i] - b'0');
        let minutes = (n(1) * 10 + n(2)) * 60 + n(3) * 10 + n(4);
        if d[0] == b'-' {
            -minutes
        } else {
            minutes
        }
    }
}

/// Parses an identity with git fsck's rules (`fsck_ident`), a little
/// stricter: exactly one space before the date (git also skips extra
/// spaces and tabs there).
pub(crate) fn parse_ident(value: &[u8]) -> Result<Ident<'_>, (Rule, String)> {
    let bad = |rule: Rule, what: &str| Err((rule, format!("{what} in `{}`", escape(value))));

    if value.first() == Some(&b'<') {
        return bad(Rule::MissingNameBeforeEmail, "no name before the email");
    }
    let lt = match value.iter().position(|&b| b == b'<' || b == b'>') {
        None => return bad(Rule::MissingEmail, "no email"),
        Some(i) if value[i] == b'>' => return bad(Rule::BadName, "`>` in the name"),
        Some(i) => i,
    };
    if value[lt - 1] != b' ' {
        return bad(Rule::MissingSpaceBeforeEmail, "no space before the email");
    }
    let name = &value[..lt - 1];
    let after_lt = &value[lt + 1..];
    let gt = match after_lt.iter().position(|&b| b == b'<' || b == b'>') {
        Some(i) if after_lt[i] == b'>' => i,
        Some(_) => return bad(Rule::BadEmail, "`<` in the email"),
        None => return bad(Rule::BadEmail, "unterminated email"),
    };
    let email = &after_lt[..gt];
    let rest = &after_lt[gt + 1..];
    let Some(rest) = rest.strip_prefix(b" ") else {
        return bad(Rule::MissingSpaceBeforeDate, "no space before the date");
    };
    // The date: digits, no leading zero unless it is `0` itself.
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return bad(Rule::BadDate, "no date");
    }
    if rest[0] == b'0' && digits > 1 {
        return bad(Rule::ZeroPaddedDate, "zero-padded date");
    }
    let mut time: u64 = 0;
    for &d in &rest[..digits] {
        time = match time
            .checked_mul(10)
            .and_then(|t| t.checked_add(u64::from(d - b'0')))
        {
            Some(t) if t <= i64::MAX as u64 => t,
            _ => return bad(Rule::BadDateOverflow, "date out of range"),
        };
    }
    let rest = &rest[digits..];
    let Some(zone) = rest.strip_prefix(b" ") else {
        return bad(Rule::BadDate, "no single space between date and zone");
    };
    let zone_ok = zone.len() == 5
        && (zone[0] == b'+' || zone[0] == b'-')
        && zone[1..].iter().all(u8::is_ascii_digit);
    if !zone_ok {
        return bad(Rule::BadTimezone, "bad time zone");
    }
    Ok(Ident {
        raw: value,
        name,
        email,
        time: time as i64,
        zone: std::str::from_utf8(zone).expect("sign and digits are ASCII"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(v: &[u8]) -> Rule {
        parse_ident(v).unwrap_err().0
    }

    #[test]
    fn parses_a_plain_identity() {
        let id = parse_ident(b"A U Thor <a@example.com> 1700000000 -0130").unwrap();
        assert_eq!(id.name, b"A U Thor");
        assert_eq!(id.email, b"a@example.com");
        assert_eq!(id.time, 1_700_000_000);
        assert_eq!(id.zone, "-0130");
        assert_eq!(id.zone_offset_minutes(), -90);
    }

    #[test]
    fn accepts_what_git_accepts() {
        // Empty name (git accepts a lone space before `<`), empty email,
        // date 0, the largest date.
        assert!(parse_ident(b" <a@b> 0 +0000").is_ok());
        assert!(parse_ident(b"A <> 1 +0000").is_ok());
        assert!(parse_ident(b"A <a> 9223372036854775807 +0000").is_ok());
    }

    #[test]
    fn refuses_bad_names_and_emails() {
        assert_eq!(rule(b"<a@b> 1 +0000"), Rule::MissingNameBeforeEmail);
        assert_eq!(rule(b"A a@b 1 +0000"), Rule::MissingEmail);
        assert_eq!(rule(b"A> <a@b> 1 +0000"), Rule::BadName);
        assert_eq!(rule(b"A<a@b> 1 +0000"), Rule::MissingSpaceBeforeEmail);
        assert_eq!(rule(b"A <a<b> 1 +0000"), Rule::BadEmail);
        assert_eq!(rule(b"A <a@b 1 +0000"), Rule::BadEmail);
        assert_eq!(rule(b"A <a@b>1 +0000"), Rule::MissingSpaceBeforeDate);
    }

    #[test]
    fn refuses_bad_dates_and_zones() {
        assert_eq!(rule(b"A <a> +0000"), Rule::BadDate);
        assert_eq!(rule(b"A <a>  1 +0000"), Rule::BadDate);
        assert_eq!(rule(b"A <a> \t1 +0000"), Rule::BadDate);
        assert_eq!(rule(b"A <a> 01 +0000"), Rule::ZeroPaddedDate);
        assert_eq!(
            rule(b"A <a> 9223372036854775808 +0000"),
            Rule::BadDateOverflow
        );
        assert_eq!(
            rule(b"A <a> 99999999999999999999999999 +0000"),
            Rule::BadDateOverflow
        );
        assert_eq!(rule(b"A <a> 1x +0000"), Rule::BadDate);
        assert_eq!(rule(b"A <a> 1  +0000"), Rule::BadTimezone);
        assert_eq!(rule(b"A <a> 1"), Rule::BadDate);
        assert_eq!(rule(b"A <a> 1 0000"), Rule::BadTimezone);
        assert_eq!(rule(b"A <a> 1 +000"), Rule::BadTimezone);
        assert_eq!(rule(b"A <a> 1 +00000"), Rule::BadTimezone);
        assert_eq!(rule(b"A <a> 1 +0000\r"), Rule::BadTimezone);
        assert_eq!(rule(b"A <a> 1 +00a0"), Rule::BadTimezone);
    }
}
