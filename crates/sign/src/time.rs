//! Civil-time helpers.
//!
//! Messages shown to a pusher must carry readable UTC dates, and `allowed_signers` carries
//! `valid-after`/`valid-before` timestamps. The calendar is `jiff`'s (already in the build
//! through gix), the one date library of the workspace.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, negative before it.
pub(crate) fn to_unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs())
            .map(|s| -s)
            .unwrap_or(i64::MIN),
    }
}

/// The inverse of [`to_unix`], saturating at what `SystemTime` can hold.
pub(crate) fn from_unix(secs: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH
            .checked_add(Duration::from_secs(secs.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))
            .unwrap_or(UNIX_EPOCH)
    }
}

/// Displays a time as `2024-05-01 12:00:00 UTC`.
#[derive(Clone, Copy)]
pub struct Utc(pub SystemTime);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_second(to_unix(self.0)) {
            Ok(t) => write!(f, "{} UTC", t.strftime("%Y-%m-%d %H:%M:%S")),
            // Outside jiff's range (years -9999..=9999): say so rather than print a wrong date.
            Err(_) => write!(f, "{}s since 1970 UTC", to_unix(self.0)),
        }
    }
}

/// Parses the OpenSSH `allowed_signers` time format: `YYYYMMDD[HHMM[SS]][Z]`.
///
/// OpenSSH reads a time without `Z` in the server's local time zone; this crate reads every
/// time as UTC (the hook usually runs in UTC, and guessing a zone would make the same file
/// mean different things on different hosts). The README tells administrators to write `Z`.
pub(crate) fn parse_ssh_time(s: &str) -> Option<SystemTime> {
    let digits = s.strip_suffix(['Z', 'z']).unwrap_or(s);
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { digits.get(r)?.parse().ok() };
    let (hh, mm, ss) = match digits.len() {
        8 => (0, 0, 0),
        12 => (num(8..10)?, num(10..12)?, 0),
        14 => (num(8..10)?, num(10..12)?, num(12..14)?),
        _ => return None,
    };
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // A leap second (`60`) is the last second of its minute, as OpenSSH's mktime reads it.
    let ss = ss.min(59);
    let small = |v: i64| i8::try_from(v).ok();
    // jiff rejects dates like Feb 31 rather than rolling them over into March.
    let dt = jiff::civil::DateTime::new(
        i16::try_from(y).ok()?,
        small(mo)?,
        small(d)?,
        small(hh)?,
        small(mm)?,
        small(ss)?,
        0,
    )
    .ok()?;
    let t = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(from_unix(t.as_second()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let t = parse_ssh_time("20240229123456Z").unwrap();
        assert_eq!(to_unix(t), 1_709_210_096);
        assert_eq!(Utc(t).to_string(), "2024-02-29 12:34:56 UTC");
        assert_eq!(to_unix(parse_ssh_time("19700101").unwrap()), 0);
        assert_eq!(to_unix(parse_ssh_time("197001020000").unwrap()), 86_400);
        assert!(parse_ssh_time("20230229").is_none());
        assert!(parse_ssh_time("2024").is_none());
        assert!(parse_ssh_time("2024010x").is_none());
        assert_eq!(Utc(from_unix(-1)).to_string(), "1969-12-31 23:59:59 UTC");
    }
}
