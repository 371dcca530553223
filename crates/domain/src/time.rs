//! Instants and durations as plain numbers; parsing and formatting without a clock.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses an ISO-8601 / RFC 3339 instant (`2026-11-23T10:00:00.000Z`, `...+01:00`).
    /// A date-time without offset is read as UTC, as Segment does.
    pub fn parse(s: &str) -> Option<Timestamp> {
        if let Ok(ts) = jiff::Timestamp::from_str(s) {
            return Some(Timestamp(ts.as_millisecond()));
        }
        let civil = jiff::civil::DateTime::from_str(s).ok()?;
        let ts = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
        Some(Timestamp(ts.as_millisecond()))
    }

    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }

    pub fn minus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(d.0))
    }

    /// `self - earlier`, as a duration (may be negative).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(ts) => write!(f, "{ts:.3}"),
            Err(_) => write!(f, "{}ms", self.0),
        }
    }
}

/// A span of time in milliseconds. Written in documents as `30s`, `15m`, `2h`, `3d`, `1w`
/// (or combinations such as `1d12h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub fn millis(ms: i64) -> Self {
        Duration(ms)
    }
    pub fn seconds(s: i64) -> Self {
        Duration(s * 1000)
    }
    pub fn minutes(m: i64) -> Self {
        Duration(m * 60_000)
    }
    pub fn hours(h: i64) -> Self {
        Duration(h * 3_600_000)
    }
    pub fn days(d: i64) -> Self {
        Duration(d * 86_400_000)
    }
    pub fn as_millis(self) -> i64 {
        self.0
    }
}

const UNITS: [(char, i64); 6] = [
    ('w', 604_800_000),
    ('d', 86_400_000),
    ('h', 3_600_000),
    ('m', 60_000),
    ('s', 1000),
    ('!', 1), // placeholder for "ms", handled below
];

impl FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid duration {s:?}: use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w");
        let s = s.trim();
        if s.is_empty() {
            return Err(bad());
        }
        let mut total: i64 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
            if digits == 0 {
                return Err(bad());
            }
            let n: i64 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let (unit, len) = if rest.starts_with("ms") {
                (1, 2)
            } else {
                let c = rest.chars().next().ok_or_else(bad)?;
                let unit = UNITS.iter().find(|(u, _)| *u == c && c != '!').map(|(_, m)| *m).ok_or_else(bad)?;
                (unit, 1)
            };
            rest = &rest[len..];
            total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0;
        if ms == 0 {
            return f.write_str("0s");
        }
        if ms < 0 {
            f.write_str("-")?;
            ms = -ms;
        }
        for (unit, len) in [('d', 86_400_000), ('h', 3_600_000), ('m', 60_000), ('s', 1000)] {
            if ms >= len {
                write!(f, "{}{unit}", ms / len)?;
                ms %= len;
            }
        }
        if ms > 0 {
            write!(f, "{ms}ms")?;
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        for (text, ms, shown) in [
            ("30s", 30_000, "30s"),
            ("15m", 900_000, "15m"),
            ("3d", 259_200_000, "3d"),
            ("1w", 604_800_000, "7d"),
            ("1d12h", 129_600_000, "1d12h"),
            ("250ms", 250, "250ms"),
        ] {
            let d: Duration = text.parse().expect(text);
            assert_eq!(d.as_millis(), ms, "{text}");
            assert_eq!(d.to_string(), shown);
        }
        for bad in ["", "3", "d", "3x", "-3d", "99999999999999999999d"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn timestamps_parse_with_and_without_offset() {
        let utc = Timestamp::parse("2026-11-23T10:00:00.000Z").expect("utc");
        assert_eq!(utc.to_string(), "2026-11-23T10:00:00.000Z");
        let offset = Timestamp::parse("2026-11-23T11:00:00+01:00").expect("offset");
        assert_eq!(offset, utc);
        let naive = Timestamp::parse("2026-11-23T10:00:00").expect("naive");
        assert_eq!(naive, utc);
        assert!(Timestamp::parse("yesterday").is_none());
    }
}
