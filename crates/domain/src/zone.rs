//! Time zones, from the IANA database bundled into the binary (no file is read).
//!
//! Which zone a person's wall clock is in: a step's own `timezone` when it names one, else
//! the person's `timezone` trait when it is a zone, else the journey's (`Chosen`). Daylight
//! saving: a wall-clock time the change skips (02:30 when clocks go from 02:00 to 03:00)
//! means the first instant after the gap (03:00); a time the change repeats (02:30 when
//! clocks go back from 03:00 to 02:00) means the first of the two (in summer time).

use std::fmt;

use jiff::civil::Date;
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::Map;
use crate::condition::{DAYS, LocalClock};
use crate::time::Timestamp;

/// Whether `name` is an IANA time zone (`Europe/Paris`, `UTC`).
pub fn is_valid(name: &str) -> bool {
    TimeZone::get(name).is_ok()
}

/// The person's zone: their `timezone` trait when it names a zone, else `default`.
pub fn person_zone(traits: &Map, default: &str) -> String {
    match traits.get("timezone").and_then(|v| v.as_str()) {
        Some(z) if is_valid(z) => z.to_owned(),
        _ => default.to_owned(),
    }
}

/// What is wrong with a person's `timezone` trait, if it is set (not null) and names no
/// zone: `trait timezone "Mars/Base" is not a time zone`. Such a person's waits and clock
/// conditions use the journey's zone; the trace and the profile say so.
pub fn trait_zone_problem(traits: &Map) -> Option<String> {
    match traits.get("timezone") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(z)) if is_valid(z) => None,
        Some(other) => Some(format!("trait timezone {other} is not a time zone")),
    }
}

/// Where a zone came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The step's own `timezone` (a `wait`'s `until.timezone`).
    Step,
    /// The person's `timezone` trait.
    Trait,
    /// The journey's `timezone` (UTC when it has none).
    Journey,
}

/// The zone a wait or a clock condition uses, where it came from, and, when the journey's
/// zone stands in for an invalid `timezone` trait, what is wrong with the trait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chosen {
    pub name: String,
    pub source: Source,
    /// `trait timezone "Mars/Base" is not a time zone` (only when `source` is `Journey`).
    pub problem: Option<String>,
}

impl Chosen {
    /// The step's zone if it has one, else the person's (`person_zone`), else the journey's.
    pub fn pick(step: Option<&str>, traits: &Map, journey: &str) -> Chosen {
        if let Some(z) = step {
            return Chosen { name: z.to_owned(), source: Source::Step, problem: None };
        }
        match traits.get("timezone").and_then(|v| v.as_str()) {
            Some(z) if is_valid(z) => Chosen { name: z.to_owned(), source: Source::Trait, problem: None },
            _ => Chosen { name: journey.to_owned(), source: Source::Journey, problem: trait_zone_problem(traits) },
        }
    }

    /// What the trace says when the trait was not a zone: `trait timezone "Mars/Base" is not
    /// a time zone; using Europe/Paris (the journey's)`.
    pub fn fallback_note(&self) -> Option<String> {
        self.problem.as_ref().map(|p| format!("{p}; using {} (the journey's)", self.name))
    }
}

/// `Europe/Paris, from trait timezone` (`from the journey`, `from the step`).
impl fmt::Display for Chosen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let from = match self.source {
            Source::Step => "the step",
            Source::Trait => "trait timezone",
            Source::Journey => "the journey",
        };
        write!(f, "{}, from {from}", self.name)
    }
}

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// How a wall-clock time fell on its day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// The time exists once that day.
    Exact,
    /// A daylight-saving change skips it: the first instant after the gap is used.
    Skipped,
    /// A daylight-saving change repeats it: the first of the two instants is used.
    Repeated,
}

/// A wall-clock time on a local date, as an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WallTime {
    pub at: Timestamp,
    /// The local date (`2027-01-22`).
    pub date: String,
    pub fit: Fit,
}

impl WallTime {
    /// What the trace adds about a daylight-saving change: nothing for an exact time.
    pub fn note(&self, hour: i8, minute: i8) -> Option<String> {
        match self.fit {
            Fit::Exact => None,
            Fit::Skipped => Some(format!("{hour:02}:{minute:02} is skipped on {} (daylight saving): the first instant after", self.date)),
            Fit::Repeated => Some(format!("{hour:02}:{minute:02} happens twice on {} (daylight saving): the first", self.date)),
        }
    }
}

/// `hour:minute` on `date` in `tz`, by the rules of this module.
fn wall_time(date: Date, hour: i8, minute: i8, tz: &TimeZone) -> Option<(jiff::Timestamp, Fit)> {
    let dt = date.at(hour, minute, 0, 0);
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { offset } => Some((offset.to_timestamp(dt).ok()?, Fit::Exact)),
        AmbiguousOffset::Fold { before, .. } => Some((before.to_timestamp(dt).ok()?, Fit::Repeated)),
        AmbiguousOffset::Gap { after, .. } => {
            // Read with the later offset, the time falls before the change; the change
            // itself is the first instant after the gap.
            let early = after.to_timestamp(dt).ok()?;
            Some((tz.following(early).next()?.timestamp(), Fit::Skipped))
        }
    }
}

fn to_ms(ts: jiff::Timestamp) -> Timestamp {
    Timestamp(ts.as_millisecond())
}

/// The local date of `t` in `tz`.
fn local_date(t: Timestamp, tz: &TimeZone) -> Option<Date> {
    Some(jiff::Timestamp::from_millisecond(t.0).ok()?.to_zoned(tz.clone()).date())
}

/// The local time of day and day of week at `now` in zone `name`.
pub fn local_clock(now: Timestamp, name: &str) -> LocalClock {
    let tz = zone(name);
    let (time_of_day, day_of_week) = match jiff::Timestamp::from_millisecond(now.0) {
        Ok(ts) => {
            let z = ts.to_zoned(tz);
            let day = DAYS[usize::try_from(z.weekday().to_monday_zero_offset()).unwrap_or(0) % 7];
            (format!("{:02}:{:02}", z.hour(), z.minute()), day)
        }
        Err(_) => ("00:00".to_owned(), DAYS[0]),
    };
    LocalClock { time_of_day, day_of_week, zone: name.to_owned() }
}

/// The first instant strictly after `now` when the wall clock in zone `name` shows
/// `hour:minute` (on a daylight-saving day, by the rules of this module: the first instant
/// after a gap, the first of a repeated time).
pub fn next_wall_time(now: Timestamp, hour: i8, minute: i8, name: &str) -> Option<WallTime> {
    let tz = zone(name);
    let mut date = local_date(now, &tz)?;
    for _ in 0..3 {
        let (at, fit) = wall_time(date, hour, minute, &tz)?;
        if to_ms(at) > now {
            return Some(WallTime { at: to_ms(at), date: date.to_string(), fit });
        }
        date = date.tomorrow().ok()?;
    }
    None
}

/// `next_wall_time`, as an instant.
pub fn next_time_of_day(now: Timestamp, hour: i8, minute: i8, name: &str) -> Option<Timestamp> {
    next_wall_time(now, hour, minute, name).map(|w| w.at)
}

/// `hour:minute` on the local calendar day `days` after the local day of `anchor` (both in
/// zone `name`): 7 days after an entry on a Friday evening is the next Friday, whatever the
/// hour of entry and however many daylight-saving changes lie between.
pub fn days_after(anchor: Timestamp, days: u16, hour: i8, minute: i8, name: &str) -> Option<WallTime> {
    let tz = zone(name);
    let date = local_date(anchor, &tz)?.checked_add(jiff::Span::new().try_days(i64::from(days)).ok()?).ok()?;
    let (at, fit) = wall_time(date, hour, minute, &tz)?;
    Some(WallTime { at: to_ms(at), date: date.to_string(), fit })
}

/// The local date of `t` in zone `name` (`2027-01-15`).
pub fn date_in(t: Timestamp, name: &str) -> Option<String> {
    local_date(t, &zone(name)).map(|d| d.to_string())
}

/// The instant on the same local date as `t` (in zone `name`) at `hour:minute`.
pub fn at_local_time(t: Timestamp, hour: i8, minute: i8, name: &str) -> Option<Timestamp> {
    days_after(t, 0, hour, minute, name).map(|w| w.at)
}

/// Whether a date trait is an instant (RFC 3339, read as it is), not a plain date (read in
/// the person's zone).
pub fn date_trait_is_instant(value: &serde_json::Value) -> bool {
    value.as_str().is_some_and(|s| s.len() > 10 && Timestamp::parse(s).is_some())
}

/// A date trait as an instant: an RFC 3339 instant, or a plain date (`2026-12-01`) at
/// midnight in zone `name`.
pub fn date_trait(value: &serde_json::Value, name: &str) -> Option<Timestamp> {
    let s = value.as_str()?;
    if let Some(t) = Timestamp::parse(s).filter(|_| s.len() > 10) {
        return Some(t);
    }
    let date: Date = s.parse().ok()?;
    wall_time(date, 0, 0, &zone(name)).map(|(at, _)| to_ms(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).expect("instant")
    }

    #[test]
    fn nine_oclock_across_zones_and_a_daylight_saving_change() {
        // 2026-03-29: Europe/Paris springs forward at 02:00; America/New_York already did (03-08).
        let now = t("2026-03-28T10:00:00Z");
        let next = |zone| next_time_of_day(now, 9, 0, zone).map(|t| t.to_string());
        assert_eq!(next("Europe/Paris").as_deref(), Some("2026-03-29T07:00:00.000Z"), "09:00 CEST the next day");
        assert_eq!(next("America/New_York").as_deref(), Some("2026-03-28T13:00:00.000Z"), "09:00 EDT the same day");
        assert_eq!(next("Asia/Tokyo").as_deref(), Some("2026-03-29T00:00:00.000Z"), "09:00 JST the next day");
        // 02:30 does not exist in Paris on 2026-03-29: the first instant after the gap, 03:00 CEST.
        let gap = next_wall_time(t("2026-03-28T23:00:00Z"), 2, 30, "Europe/Paris");
        assert_eq!(gap.as_ref().map(|w| (w.at.to_string(), w.fit)), Some(("2026-03-29T01:00:00.000Z".to_owned(), Fit::Skipped)));
        assert_eq!(
            gap.and_then(|w| w.note(2, 30)).as_deref(),
            Some("02:30 is skipped on 2026-03-29 (daylight saving): the first instant after")
        );
        // 02:00 itself is skipped too (the change is at 02:00): 03:00 CEST as well.
        assert_eq!(
            next_time_of_day(t("2026-03-28T23:00:00Z"), 2, 0, "Europe/Paris").map(|t| t.to_string()).as_deref(),
            Some("2026-03-29T01:00:00.000Z")
        );
        // New York skips 02:00-03:00 on 2026-03-08; Lord Howe Island skips half an hour (02:00-02:30) on 2026-10-04.
        assert_eq!(
            next_time_of_day(t("2026-03-08T05:00:00Z"), 2, 15, "America/New_York").map(|t| t.to_string()).as_deref(),
            Some("2026-03-08T07:00:00.000Z")
        );
        assert_eq!(
            next_time_of_day(t("2026-10-03T12:00:00Z"), 2, 15, "Australia/Lord_Howe").map(|t| t.to_string()).as_deref(),
            Some("2026-10-03T15:30:00.000Z")
        );
    }

    #[test]
    fn a_repeated_time_is_its_first_instant_and_never_waited_for_twice() {
        // Paris falls back from 03:00 CEST to 02:00 CET on 2026-10-25: 02:30 happens at 00:30Z and 01:30Z.
        let first = next_wall_time(t("2026-10-24T23:00:00Z"), 2, 30, "Europe/Paris");
        assert_eq!(first.as_ref().map(|w| (w.at.to_string(), w.fit)), Some(("2026-10-25T00:30:00.000Z".to_owned(), Fit::Repeated)));
        assert_eq!(first.and_then(|w| w.note(2, 30)).as_deref(), Some("02:30 happens twice on 2026-10-25 (daylight saving): the first"));
        // Between the two 02:30s, the next 02:30 is the next day's, not the repeat.
        let between = next_time_of_day(t("2026-10-25T01:00:00Z"), 2, 30, "Europe/Paris").map(|t| t.to_string());
        assert_eq!(between.as_deref(), Some("2026-10-26T01:30:00.000Z"));
    }

    #[test]
    fn calendar_days_after_an_instant_count_local_dates() {
        let shown = |w: Option<WallTime>| w.map_or("none".to_owned(), |w| format!("{} {} {:?}", w.date, w.at, w.fit));
        let lines = [
            // Entry on Friday 2027-01-15 at 23:30 in Paris (22:30Z): day 7 is Friday 2027-01-22.
            format!("7 days, Paris: {}", shown(days_after(t("2027-01-15T22:30:00Z"), 7, 9, 0, "Europe/Paris"))),
            // The same instant is already Saturday in Tokyo.
            format!("7 days, Tokyo: {}", shown(days_after(t("2027-01-15T22:30:00Z"), 7, 9, 0, "Asia/Tokyo"))),
            format!("0 days, same day: {}", shown(days_after(t("2027-01-15T22:30:00Z"), 0, 9, 0, "Europe/Paris"))),
            // Across the spring change: 09:00 is CEST on day 7, and 02:30 on the day of the change is 03:00.
            format!("across spring: {}", shown(days_after(t("2027-03-21T10:00:00Z"), 7, 9, 0, "Europe/Paris"))),
            format!("into the gap: {}", shown(days_after(t("2027-03-21T10:00:00Z"), 7, 2, 30, "Europe/Paris"))),
            format!("366 days: {}", shown(days_after(t("2027-01-15T08:00:00Z"), 366, 9, 0, "UTC"))),
            format!("far away: {}", shown(days_after(Timestamp(i64::MAX), 1, 9, 0, "UTC"))),
            format!("unknown zone: {}", shown(days_after(t("2027-01-15T08:00:00Z"), 1, 9, 0, "Nowhere"))),
        ];
        expect_test::expect![[r#"
            7 days, Paris: 2027-01-22 2027-01-22T08:00:00.000Z Exact
            7 days, Tokyo: 2027-01-23 2027-01-23T00:00:00.000Z Exact
            0 days, same day: 2027-01-15 2027-01-15T08:00:00.000Z Exact
            across spring: 2027-03-28 2027-03-28T07:00:00.000Z Exact
            into the gap: 2027-03-28 2027-03-28T01:00:00.000Z Skipped
            366 days: 2028-01-16 2028-01-16T09:00:00.000Z Exact
            far away: none
            unknown zone: 2027-01-16 2027-01-16T09:00:00.000Z Exact
        "#]]
        .assert_eq(&(lines.join("\n") + "\n"));
        assert_eq!(date_in(t("2027-01-15T23:30:00Z"), "Europe/Paris").as_deref(), Some("2027-01-16"));
    }

    #[test]
    fn the_zone_used_and_where_it_came_from() {
        let traits = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let cases = [
            (Some("Asia/Tokyo"), traits(serde_json::json!({"timezone": "America/New_York"}))),
            (None, traits(serde_json::json!({"timezone": "America/New_York"}))),
            (None, traits(serde_json::json!({}))),
            (None, traits(serde_json::json!({"timezone": null}))),
            (None, traits(serde_json::json!({"timezone": "Mars/Base"}))),
            (None, traits(serde_json::json!({"timezone": 9}))),
            (Some("Asia/Tokyo"), traits(serde_json::json!({"timezone": "Mars/Base"}))),
        ];
        let out: Vec<String> = cases
            .iter()
            .map(|(step, t)| {
                let c = Chosen::pick(*step, t, "Europe/Paris");
                format!("{c}{}", c.fallback_note().map_or(String::new(), |n| format!(" | {n}")))
            })
            .collect();
        expect_test::expect![[r#"
            Asia/Tokyo, from the step
            America/New_York, from trait timezone
            Europe/Paris, from the journey
            Europe/Paris, from the journey
            Europe/Paris, from the journey | trait timezone "Mars/Base" is not a time zone; using Europe/Paris (the journey's)
            Europe/Paris, from the journey | trait timezone 9 is not a time zone; using Europe/Paris (the journey's)
            Asia/Tokyo, from the step
        "#]]
        .assert_eq(&(out.join("\n") + "\n"));
        let problems: Vec<Option<String>> = cases.iter().map(|(_, t)| trait_zone_problem(t)).collect();
        assert_eq!(problems[..3], [None, None, None]);
        assert_eq!(problems[4].as_deref(), Some(r#"trait timezone "Mars/Base" is not a time zone"#));
        assert_eq!(problems[5].as_deref(), Some("trait timezone 9 is not a time zone"));
    }

    #[test]
    fn local_clock_on_each_day_of_a_week() {
        let days: Vec<String> = (0..8)
            .map(|i| {
                let c = local_clock(t("2026-11-22T23:30:00Z").plus(crate::time::Duration::days(i)), "Asia/Tokyo");
                format!("{} {} {}", c.day_of_week, c.time_of_day, c.zone)
            })
            .collect();
        expect_test::expect![[r#"
            mon 08:30 Asia/Tokyo
            tue 08:30 Asia/Tokyo
            wed 08:30 Asia/Tokyo
            thu 08:30 Asia/Tokyo
            fri 08:30 Asia/Tokyo
            sat 08:30 Asia/Tokyo
            sun 08:30 Asia/Tokyo
            mon 08:30 Asia/Tokyo
        "#]]
        .assert_eq(&(days.join("\n") + "\n"));
        let c = local_clock(t("2026-11-23T09:05:00Z"), "Nowhere");
        assert_eq!((c.time_of_day.as_str(), c.day_of_week, c.zone.as_str()), ("09:05", "mon", "Nowhere"), "an unknown zone reads as UTC");
        let far = local_clock(Timestamp(i64::MAX), "UTC");
        assert_eq!((far.time_of_day.as_str(), far.day_of_week), ("00:00", "mon"), "an instant out of range");
    }

    #[test]
    fn local_times_and_date_traits() {
        let shown = |r: Option<Timestamp>| r.map_or("none".to_owned(), |t| t.to_string());
        let lines = [
            format!("09:00 after 08:59:59 UTC: {}", shown(next_time_of_day(t("2026-11-23T08:59:59Z"), 9, 0, "UTC"))),
            format!("09:00 after 09:00 UTC: {}", shown(next_time_of_day(t("2026-11-23T09:00:00Z"), 9, 0, "UTC"))),
            format!("09:00 after 09:00 in Nowhere: {}", shown(next_time_of_day(t("2026-11-23T09:00:00Z"), 9, 0, "Nowhere"))),
            format!("02:30 Paris, fall back: {}", shown(next_time_of_day(t("2026-10-24T23:00:00Z"), 2, 30, "Europe/Paris"))),
            format!("09:00 far away: {}", shown(next_time_of_day(Timestamp(i64::MAX), 9, 0, "UTC"))),
            format!("same day 09:00 Tokyo: {}", shown(at_local_time(t("2026-11-23T20:00:00Z"), 9, 0, "Asia/Tokyo"))),
            format!("same day 09:00 Paris: {}", shown(at_local_time(t("2026-11-23T20:00:00Z"), 9, 0, "Europe/Paris"))),
            format!("same day, far away: {}", shown(at_local_time(Timestamp(i64::MAX), 9, 0, "UTC"))),
        ];
        let dates = [
            ("2026-12-01", "Europe/Paris"),
            ("2026-12-01", "Nowhere"),
            ("2026-12-01T10:00:00Z", "Europe/Paris"),
            ("2026-12-01T10:00:00", "Europe/Paris"),
            ("2026-13-01", "UTC"),
            ("soon", "UTC"),
        ];
        let mut out: Vec<String> = lines.to_vec();
        out.extend(dates.iter().map(|(d, z)| format!("date trait {d} in {z}: {}", shown(date_trait(&(*d).into(), z)))));
        out.push(format!("date trait 20261201: {}", shown(date_trait(&20261201.into(), "UTC"))));
        expect_test::expect![[r#"
            09:00 after 08:59:59 UTC: 2026-11-23T09:00:00.000Z
            09:00 after 09:00 UTC: 2026-11-24T09:00:00.000Z
            09:00 after 09:00 in Nowhere: 2026-11-24T09:00:00.000Z
            02:30 Paris, fall back: 2026-10-25T00:30:00.000Z
            09:00 far away: none
            same day 09:00 Tokyo: 2026-11-24T00:00:00.000Z
            same day 09:00 Paris: 2026-11-23T08:00:00.000Z
            same day, far away: none
            date trait 2026-12-01 in Europe/Paris: 2026-11-30T23:00:00.000Z
            date trait 2026-12-01 in Nowhere: 2026-12-01T00:00:00.000Z
            date trait 2026-12-01T10:00:00Z in Europe/Paris: 2026-12-01T10:00:00.000Z
            date trait 2026-12-01T10:00:00 in Europe/Paris: 2026-12-01T10:00:00.000Z
            date trait 2026-13-01 in UTC: none
            date trait soon in UTC: none
            date trait 20261201: none
        "#]]
        .assert_eq(&(out.join("\n") + "\n"));
    }

    #[test]
    fn a_person_zone_is_their_valid_timezone_trait() {
        let zone = |v: serde_json::Value| person_zone(&v.as_object().cloned().unwrap_or_default(), "Europe/Paris");
        let zones = [
            zone(serde_json::json!({"timezone": "Asia/Tokyo"})),
            zone(serde_json::json!({"timezone": "Not/AZone"})),
            zone(serde_json::json!({"timezone": 9})),
            zone(serde_json::json!({})),
        ];
        assert_eq!(zones, ["Asia/Tokyo", "Europe/Paris", "Europe/Paris", "Europe/Paris"]);
        assert!(is_valid("UTC") && is_valid("America/New_York") && !is_valid("Mars/Olympus") && !is_valid(""));
    }
}
