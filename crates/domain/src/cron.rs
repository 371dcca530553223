//! Cron expressions (`minute hour day-of-month month day-of-week`), evaluated in a time zone.

use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::time::Timestamp;

/// A parsed cron expression: the allowed values of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    /// Standard cron: when both day fields are restricted, either may match.
    days_restricted: bool,
    weekdays_restricted: bool,
    text: String,
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn field(text: &str, min: u32, max: u32, names: &[&str], name_base: u32) -> Result<Vec<bool>, String> {
    let mut allowed = vec![false; (max + 1) as usize];
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + name_base);
        }
        s.parse::<u32>().map_err(|_| format!("{s:?} is not a number or a name"))
    };
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0).ok_or_else(|| format!("bad step in {part:?}"))?),
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a)?, value(b)?)
        } else {
            let v = value(range)?;
            (v, if step > 1 { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!("{part:?} is outside {min}-{max}"));
        }
        let mut v = lo;
        while v <= hi {
            allowed[v as usize] = true;
            // A step past the end of `u32` ends the range (`5/4294967295` overflowed; found by fuzzing).
            let Some(next) = v.checked_add(step) else { break };
            v = next;
        }
    }
    Ok(allowed)
}

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [m, h, dom, mon, dow] = parts.as_slice() else {
            return Err(format!("{text:?} needs five fields: minute hour day-of-month month day-of-week"));
        };
        let mut weekdays = field(dow, 0, 7, &WEEKDAYS, 0)?;
        if weekdays[7] {
            weekdays[0] = true; // 7 is Sunday too
        }
        weekdays.truncate(7);
        Ok(Cron {
            minutes: field(m, 0, 59, &[], 0)?,
            hours: field(h, 0, 23, &[], 0)?,
            days: field(dom, 1, 31, &[], 0)?,
            months: field(mon, 1, 12, &MONTHS, 1)?,
            weekdays,
            days_restricted: *dom != "*",
            weekdays_restricted: *dow != "*",
            text: text.to_owned(),
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        if !self.months[d.month() as usize] {
            return false;
        }
        let dom = self.days[d.day() as usize];
        let dow = self.weekdays[d.weekday().to_sunday_zero_offset() as usize];
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    /// The first instant strictly after `after` that the expression names in zone `zone`.
    /// Local times skipped by a daylight-saving change are skipped; repeated ones fire once.
    pub fn next_after(&self, after: Timestamp, zone: &str) -> Option<Timestamp> {
        let tz = TimeZone::get(zone).ok()?;
        let start = jiff::Timestamp::from_millisecond(after.0).ok()?;
        let mut day = start.to_zoned(tz.clone()).date();
        for _ in 0..(366 * 5) {
            if self.day_matches(day) {
                for h in (0..24).filter(|h| self.hours[*h as usize]) {
                    for m in (0..60).filter(|m| self.minutes[*m as usize]) {
                        let local = day.at(h, m, 0, 0);
                        let Ok(zoned) = local.to_zoned(tz.clone()) else { continue };
                        // A local time in a gap resolves to another wall time: not a match.
                        if zoned.datetime() != local {
                            continue;
                        }
                        if zoned.timestamp() > start {
                            return Some(Timestamp(zoned.timestamp().as_millisecond()));
                        }
                    }
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }
}

impl std::fmt::Display for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(expr: &str, after: &str, zone: &str) -> String {
        let c = Cron::parse(expr).expect("valid");
        c.next_after(Timestamp::parse(after).expect("t"), zone).map_or("none".into(), |t| t.to_string())
    }

    #[test]
    fn next_fire_times() {
        assert_eq!(next("0 9 * * mon", "2026-11-23T10:00:00Z", "Europe/Paris"), "2026-11-30T08:00:00.000Z");
        assert_eq!(next("*/15 * * * *", "2026-11-23T10:07:00Z", "UTC"), "2026-11-23T10:15:00.000Z");
        assert_eq!(next("30 2 * * *", "2026-03-28T12:00:00Z", "Europe/Paris"), "2026-03-30T00:30:00.000Z", "02:30 does not exist on 03-29");
        assert_eq!(next("0 0 1 jan *", "2026-11-23T00:00:00Z", "UTC"), "2027-01-01T00:00:00.000Z");
        assert_eq!(next("0 12 13 * fri", "2026-11-23T00:00:00Z", "UTC"), "2026-11-27T12:00:00.000Z", "either day field");
    }

    #[test]
    fn a_step_past_the_end_of_the_numbers_names_only_the_start() {
        assert_eq!(next("5/4294967295 * * * *", "2026-11-23T10:07:00Z", "UTC"), "2026-11-23T11:05:00.000Z");
        assert_eq!(next("0 */4294967295 * * *", "2026-11-23T10:07:00Z", "UTC"), "2026-11-24T00:00:00.000Z");
    }

    #[test]
    fn bad_expressions_say_why() {
        for (bad, why) in
            [("* * *", "five fields"), ("61 * * * *", "outside 0-59"), ("* * * * funday", "not a number"), ("*/0 * * * *", "bad step")]
        {
            let err = Cron::parse(bad).expect_err(bad);
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
