//! UTC timestamps with nanosecond resolution, free of any date library.
//!
//! Evidence must be rendered the same way on every machine, so formatting and
//! parsing are done here by hand (Howard Hinnant's civil-date algorithms)
//! rather than by a locale- or timezone-aware library.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From seconds and a nanosecond remainder (pcap style).
    pub fn from_parts(seconds: i64, nanos: u32) -> Option<Timestamp> {
        seconds
            .checked_mul(1_000_000_000)
            .and_then(|s| s.checked_add(i64::from(nanos)))
            .map(Timestamp)
    }

    /// From fractional Unix seconds as some exporters write them.
    pub fn from_unix_seconds_f64(seconds: f64) -> Option<Timestamp> {
        let nanos = seconds * 1e9;
        if nanos.is_finite() && nanos.abs() < 9.2e18 {
            Some(Timestamp(nanos.round() as i64))
        } else {
            None
        }
    }

    /// Nanoseconds since the epoch.
    pub fn nanos(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 / ISO 8601 date-time such as
    /// `2026-11-29T02:42:58.554Z`, `2015-03-19T14:30:41.123+01:00` or
    /// `2009-07-24T19:20:30.45+0100`, converting it to UTC. Returns `None`
    /// when the text is not such a date-time.
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let s = text.trim().as_bytes();
        let num = |from: usize, len: usize| -> Option<i64> {
            let digits = s.get(from..from + len)?;
            let mut n: i64 = 0;
            for &d in digits {
                if !d.is_ascii_digit() {
                    return None;
                }
                n = n * 10 + i64::from(d - b'0');
            }
            Some(n)
        };
        let year = num(0, 4)?;
        if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
            return None;
        }
        let month = num(5, 2)?;
        let day = num(8, 2)?;
        if !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
            return None;
        }
        let hour = num(11, 2)?;
        if s.get(13) != Some(&b':') {
            return None;
        }
        let minute = num(14, 2)?;
        let (second, mut at) = if s.get(16) == Some(&b':') {
            (num(17, 2)?, 19)
        } else {
            (0, 16)
        };
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut nanos: i64 = 0;
        if matches!(s.get(at), Some(b'.' | b',')) {
            at += 1;
            let mut scale = 100_000_000;
            let start = at;
            while let Some(d) = s.get(at).filter(|d| d.is_ascii_digit()) {
                nanos += i64::from(d - b'0') * scale;
                scale /= 10;
                at += 1;
            }
            if at == start {
                return None;
            }
        }
        let offset_seconds = match s.get(at) {
            None | Some(b'Z' | b'z') => 0,
            Some(sign @ (b'+' | b'-')) => {
                let oh = num(at + 1, 2)?;
                let om = if s.get(at + 3) == Some(&b':') {
                    num(at + 4, 2)?
                } else {
                    num(at + 3, 2).unwrap_or(0)
                };
                let o = oh * 3600 + om * 60;
                if *sign == b'-' { -o } else { o }
            }
            Some(_) => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
        Timestamp::from_parts(secs, 0).and_then(|t| t.0.checked_add(nanos).map(Timestamp))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC. Milliseconds when the sub-millisecond part is zero
    /// (browsers record milliseconds), otherwise as many digits as needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000_000);
        let nanos = self.0.rem_euclid(1_000_000_000);
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            sod % 3600 / 60,
            sod % 60
        )?;
        if nanos % 1_000_000 == 0 {
            write!(f, ".{:03}Z", nanos / 1_000_000)
        } else if nanos % 1_000 == 0 {
            write!(f, ".{:06}Z", nanos / 1_000)
        } else {
            write!(f, ".{nanos:09}Z")
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        let t = Timestamp::parse_rfc3339("2026-11-29T02:42:58.554Z");
        assert_eq!(
            t.map(|t| t.to_string()).as_deref(),
            Some("2026-11-29T02:42:58.554Z")
        );
    }

    #[test]
    fn converts_offsets_to_utc() {
        let t = Timestamp::parse_rfc3339("2015-03-19T14:30:41.123+01:00");
        assert_eq!(
            t.map(|t| t.to_string()).as_deref(),
            Some("2015-03-19T13:30:41.123Z")
        );
        let t = Timestamp::parse_rfc3339("2009-07-24T19:20:30.45-0230");
        assert_eq!(
            t.map(|t| t.to_string()).as_deref(),
            Some("2009-07-24T21:50:30.450Z")
        );
    }

    #[test]
    fn keeps_microseconds_from_captures() {
        let t = Timestamp::from_parts(1_700_000_000, 123_456_000);
        assert_eq!(
            t.map(|t| t.to_string()).as_deref(),
            Some("2023-11-14T22:13:20.123456Z")
        );
    }

    #[test]
    fn handles_times_before_the_epoch() {
        let t = Timestamp::parse_rfc3339("1969-12-31T23:59:59.5Z");
        assert_eq!(t, Some(Timestamp(-500_000_000)));
        assert_eq!(
            t.map(|t| t.to_string()).as_deref(),
            Some("1969-12-31T23:59:59.500Z")
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-01-01",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00Q",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }
}
