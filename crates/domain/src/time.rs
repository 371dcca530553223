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
        let lines: Vec<String> = [
            "30s",
            "15m",
            "2h",
            "3d",
            "1w",
            "1d12h",
            "1w2d3h4m5s6ms",
            "250ms",
            "90m",
            "25h",
            "1000ms",
            "0s",
            " 3d ",
            "007d",
            "",
            "3",
            "d",
            "3x",
            "-3d",
            "3 d",
            "3dd",
            "3m s",
            "ms",
            "99999999999999999999d",
            "15250284452w",
            "15250284453w",
            "15250284452w1w",
        ]
        .iter()
        .map(|text| match text.parse::<Duration>() {
            Ok(d) => format!("{text:?} = {} ms = {d} = {}", d.as_millis(), serde_json::to_string(&d).unwrap_or_default()),
            Err(e) => format!("{text:?}: {e}"),
        })
        .collect();
        expect_test::expect![[r#"
            "30s" = 30000 ms = 30s = "30s"
            "15m" = 900000 ms = 15m = "15m"
            "2h" = 7200000 ms = 2h = "2h"
            "3d" = 259200000 ms = 3d = "3d"
            "1w" = 604800000 ms = 7d = "7d"
            "1d12h" = 129600000 ms = 1d12h = "1d12h"
            "1w2d3h4m5s6ms" = 788645006 ms = 9d3h4m5s6ms = "9d3h4m5s6ms"
            "250ms" = 250 ms = 250ms = "250ms"
            "90m" = 5400000 ms = 1h30m = "1h30m"
            "25h" = 90000000 ms = 1d1h = "1d1h"
            "1000ms" = 1000 ms = 1s = "1s"
            "0s" = 0 ms = 0s = "0s"
            " 3d " = 259200000 ms = 3d = "3d"
            "007d" = 604800000 ms = 7d = "7d"
            "": invalid duration "": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "3": invalid duration "3": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "d": invalid duration "d": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "3x": invalid duration "3x": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "-3d": invalid duration "-3d": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "3 d": invalid duration "3 d": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "3dd": invalid duration "3dd": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "3m s": invalid duration "3m s": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "ms": invalid duration "ms": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "99999999999999999999d": invalid duration "99999999999999999999d": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "15250284452w" = 9223372036569600000 ms = 106751991164d = "106751991164d"
            "15250284453w": invalid duration "15250284453w": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
            "15250284452w1w": invalid duration "15250284452w1w": use a number and a unit, e.g. 30s, 15m, 2h, 3d, 1w
        "#]]
        .assert_eq(&(lines.join("\n") + "\n"));
        let shown: Vec<String> = [-1, -90_000, 1, 999, 1000, 1001, 60_000, 3_600_000, 86_400_000, 90_061_001]
            .iter()
            .map(|ms| Duration::millis(*ms).to_string())
            .collect();
        assert_eq!(shown, ["-1ms", "-1m30s", "1ms", "999ms", "1s", "1s1ms", "1m", "1h", "1d", "1d1h1m1s1ms"]);
        let units = [Duration::seconds(2), Duration::minutes(2), Duration::hours(2), Duration::days(2)].map(Duration::as_millis);
        assert_eq!(units, [2_000, 120_000, 7_200_000, 172_800_000]);
        assert_eq!(serde_json::from_str::<Duration>("\"1d12h\"").ok(), Some(Duration::hours(36)));
        assert!(serde_json::from_str::<Duration>("\"soon\"").is_err());
    }

    #[test]
    fn timestamps_parse_print_and_saturate() {
        let lines: Vec<String> = [
            "2026-11-23T10:00:00.000Z",
            "2026-11-23T11:00:00+01:00",
            "2026-11-23T10:00:00",
            "2026-11-23T10:00:00.5Z",
            "1969-12-31T23:59:59.999Z",
            "2026-11-23",
            "yesterday",
        ]
        .iter()
        .map(|text| match Timestamp::parse(text) {
            Some(t) => format!("{text} = {} = {t}", t.millis()),
            None => format!("{text}: not an instant"),
        })
        .collect();
        expect_test::expect![[r#"
            2026-11-23T10:00:00.000Z = 1795428000000 = 2026-11-23T10:00:00.000Z
            2026-11-23T11:00:00+01:00 = 1795428000000 = 2026-11-23T10:00:00.000Z
            2026-11-23T10:00:00 = 1795428000000 = 2026-11-23T10:00:00.000Z
            2026-11-23T10:00:00.5Z = 1795428000500 = 2026-11-23T10:00:00.500Z
            1969-12-31T23:59:59.999Z = -1 = 1969-12-31T23:59:59.999Z
            2026-11-23 = 1795392000000 = 2026-11-23T00:00:00.000Z
            yesterday: not an instant
        "#]]
        .assert_eq(&(lines.join("\n") + "\n"));
        let t = Timestamp::from_millis(1_000);
        assert_eq!((t.plus(Duration::seconds(2)), t.minus(Duration::seconds(2))), (Timestamp(3_000), Timestamp(-1_000)));
        assert_eq!((t.since(Timestamp(4_000)), Timestamp(4_000).since(t)), (Duration(-3_000), Duration(3_000)));
        let (max, min) = (Timestamp(i64::MAX), Timestamp(i64::MIN));
        assert_eq!((max.plus(Duration::days(1)), min.minus(Duration::days(1)), max.since(min)), (max, min, Duration(i64::MAX)));
        assert_eq!(
            (max.to_string(), Timestamp(-1).to_string()),
            ("9223372036854775807ms".to_owned(), "1969-12-31T23:59:59.999Z".to_owned())
        );
    }
}
