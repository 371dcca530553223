//! Time zones, from the IANA database bundled into the binary (no file is read).

use jiff::tz::TimeZone;

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

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
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
/// `hour:minute`. On a day when that time does not exist (spring forward), the first instant
/// after the gap; when it exists twice (fall back), the first.
pub fn next_time_of_day(now: Timestamp, hour: i8, minute: i8, name: &str) -> Option<Timestamp> {
    let tz = zone(name);
    let ts = jiff::Timestamp::from_millisecond(now.0).ok()?;
    let mut date = ts.to_zoned(tz.clone()).date();
    for _ in 0..3 {
        let at = date.at(hour, minute, 0, 0).to_zoned(tz.clone()).ok()?;
        if at.timestamp() > ts {
            return Some(Timestamp(at.timestamp().as_millisecond()));
        }
        date = date.tomorrow().ok()?;
    }
    None
}

/// The instant on the same local date as `t` (in zone `name`) at `hour:minute`.
pub fn at_local_time(t: Timestamp, hour: i8, minute: i8, name: &str) -> Option<Timestamp> {
    let tz = zone(name);
    let date = jiff::Timestamp::from_millisecond(t.0).ok()?.to_zoned(tz.clone()).date();
    let z = date.at(hour, minute, 0, 0).to_zoned(tz).ok()?;
    Some(Timestamp(z.timestamp().as_millisecond()))
}

/// A date trait as an instant: an RFC 3339 instant, or a plain date (`2026-12-01`) at
/// midnight in zone `name`.
pub fn date_trait(value: &serde_json::Value, name: &str) -> Option<Timestamp> {
    let s = value.as_str()?;
    if let Some(t) = Timestamp::parse(s).filter(|_| s.len() > 10) {
        return Some(t);
    }
    let date: jiff::civil::Date = s.parse().ok()?;
    let z = date.at(0, 0, 0, 0).to_zoned(zone(name)).ok()?;
    Some(Timestamp(z.timestamp().as_millisecond()))
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
        // 02:30 does not exist in Paris on 2026-03-29: the first instant after the gap.
        let gap = next_time_of_day(t("2026-03-28T23:00:00Z"), 2, 30, "Europe/Paris").map(|t| t.to_string());
        assert_eq!(gap.as_deref(), Some("2026-03-29T01:30:00.000Z"));
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
