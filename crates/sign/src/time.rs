//! Civil-time helpers.
//!
//! Messages shown to a pusher must carry readable UTC dates, and `allowed_signers` carries
//! `valid-after`/`valid-before` timestamps; both need a few lines of calendar arithmetic that
//! are not worth a date-time dependency.

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

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Displays a time as `2024-05-01 12:00:00 UTC`.
#[derive(Clone, Copy)]
pub struct Utc(pub SystemTime);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = to_unix(self.0);
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
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
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    // Reject dates like Feb 31 rather than rolling them over into March.
    if civil_from_days(days) != (y, mo, d) {
        return None;
    }
    Some(from_unix(days * 86_400 + hh * 3600 + mm * 60 + ss))
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
