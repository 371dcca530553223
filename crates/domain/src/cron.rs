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
        for v in (lo..=hi).step_by(step as usize) {
            allowed[v as usize] = true;
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

    /// Each line is `EXPRESSION | AFTER | ZONE`; shows the next three times it names (in
    /// UTC), or why it does not parse (then the line is just the expression).
    fn check(script: &str, expect: expect_test::Expect) {
        let mut out = String::new();
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line.split(" | ").collect();
            let shown = match (Cron::parse(parts[0]), parts.as_slice()) {
                (Ok(c), [expr, after, zone]) => {
                    assert_eq!(c.to_string(), *expr);
                    let mut t = Timestamp::parse(after).expect("instant");
                    let mut times = Vec::new();
                    for _ in 0..3 {
                        let Some(next) = c.next_after(t, zone) else {
                            times.push("never".to_owned());
                            break;
                        };
                        times.push(next.to_string());
                        t = next;
                    }
                    times.join(", ")
                }
                (Ok(_), _) => panic!("{line}: EXPRESSION | AFTER | ZONE"),
                (Err(why), _) => why,
            };
            out += &format!("{line}\n  {shown}\n");
        }
        expect.assert_eq(&out);
    }

    #[test]
    fn next_fire_times() {
        check(
            "
            0 9 * * mon | 2026-11-23T10:00:00Z | Europe/Paris
            0 9 * * mon | 2026-11-23T07:59:59Z | Europe/Paris
            0 9 * * mon | 2026-11-23T08:00:00Z | Europe/Paris
            */15 * * * * | 2026-11-23T10:07:00Z | UTC
            5-10/5 * * * * | 2026-11-23T10:07:00Z | UTC
            10/20 * * * * | 2026-11-23T10:07:00Z | UTC
            0,30 8-9 * * * | 2026-11-23T08:45:00Z | UTC
            0 0 * * 7 | 2026-11-23T00:00:00Z | UTC
            0 0 * * 0 | 2026-11-23T00:00:00Z | UTC
            0 0 * * sat-sun | 2026-11-23T00:00:00Z | UTC
            0 0 * * MON,fri | 2026-11-23T00:00:00Z | UTC
            30 2 * * * | 2026-03-28T12:00:00Z | Europe/Paris
            30 2 * * * | 2026-10-24T12:00:00Z | Europe/Paris
            0 0 1 jan * | 2026-11-23T00:00:00Z | UTC
            0 0 1 2-3 * | 2026-11-23T00:00:00Z | UTC
            0 0 29 feb * | 2026-11-23T00:00:00Z | UTC
            0 0 31 2 * | 2026-11-23T00:00:00Z | UTC
            0 12 13 * fri | 2026-11-23T00:00:00Z | UTC
            0 12 13 * * | 2026-11-23T00:00:00Z | UTC
            0 9 * * * | 2026-11-23T00:00:00Z | Nowhere/Zone
            0 23 31 dec * | 2026-12-31T22:59:00Z | UTC
            59 23 * * * | 2026-11-23T23:58:59.999Z | UTC
            * * *
            0 9 * * mon extra
            61 * * * *
            * 24 * * *
            * * 0 * *
            * * 32 * *
            * * * 13 *
            * * * 0 *
            * * * * 8
            * * * * funday
            */0 * * * *
            */x * * * *
            10-5 * * * *
            a-5 * * * *
            5-b * * * *
            1,,2 * * * *
        ",
            expect_test::expect![[r#"
                0 9 * * mon | 2026-11-23T10:00:00Z | Europe/Paris
                  2026-11-30T08:00:00.000Z, 2026-12-07T08:00:00.000Z, 2026-12-14T08:00:00.000Z
                0 9 * * mon | 2026-11-23T07:59:59Z | Europe/Paris
                  2026-11-23T08:00:00.000Z, 2026-11-30T08:00:00.000Z, 2026-12-07T08:00:00.000Z
                0 9 * * mon | 2026-11-23T08:00:00Z | Europe/Paris
                  2026-11-30T08:00:00.000Z, 2026-12-07T08:00:00.000Z, 2026-12-14T08:00:00.000Z
                */15 * * * * | 2026-11-23T10:07:00Z | UTC
                  2026-11-23T10:15:00.000Z, 2026-11-23T10:30:00.000Z, 2026-11-23T10:45:00.000Z
                5-10/5 * * * * | 2026-11-23T10:07:00Z | UTC
                  2026-11-23T10:10:00.000Z, 2026-11-23T11:05:00.000Z, 2026-11-23T11:10:00.000Z
                10/20 * * * * | 2026-11-23T10:07:00Z | UTC
                  2026-11-23T10:10:00.000Z, 2026-11-23T10:30:00.000Z, 2026-11-23T10:50:00.000Z
                0,30 8-9 * * * | 2026-11-23T08:45:00Z | UTC
                  2026-11-23T09:00:00.000Z, 2026-11-23T09:30:00.000Z, 2026-11-24T08:00:00.000Z
                0 0 * * 7 | 2026-11-23T00:00:00Z | UTC
                  2026-11-29T00:00:00.000Z, 2026-12-06T00:00:00.000Z, 2026-12-13T00:00:00.000Z
                0 0 * * 0 | 2026-11-23T00:00:00Z | UTC
                  2026-11-29T00:00:00.000Z, 2026-12-06T00:00:00.000Z, 2026-12-13T00:00:00.000Z
                0 0 * * sat-sun | 2026-11-23T00:00:00Z | UTC
                  "sat-sun" is outside 0-7
                0 0 * * MON,fri | 2026-11-23T00:00:00Z | UTC
                  2026-11-27T00:00:00.000Z, 2026-11-30T00:00:00.000Z, 2026-12-04T00:00:00.000Z
                30 2 * * * | 2026-03-28T12:00:00Z | Europe/Paris
                  2026-03-30T00:30:00.000Z, 2026-03-31T00:30:00.000Z, 2026-04-01T00:30:00.000Z
                30 2 * * * | 2026-10-24T12:00:00Z | Europe/Paris
                  2026-10-25T00:30:00.000Z, 2026-10-26T01:30:00.000Z, 2026-10-27T01:30:00.000Z
                0 0 1 jan * | 2026-11-23T00:00:00Z | UTC
                  2027-01-01T00:00:00.000Z, 2028-01-01T00:00:00.000Z, 2029-01-01T00:00:00.000Z
                0 0 1 2-3 * | 2026-11-23T00:00:00Z | UTC
                  2027-02-01T00:00:00.000Z, 2027-03-01T00:00:00.000Z, 2028-02-01T00:00:00.000Z
                0 0 29 feb * | 2026-11-23T00:00:00Z | UTC
                  2028-02-29T00:00:00.000Z, 2032-02-29T00:00:00.000Z, 2036-02-29T00:00:00.000Z
                0 0 31 2 * | 2026-11-23T00:00:00Z | UTC
                  never
                0 12 13 * fri | 2026-11-23T00:00:00Z | UTC
                  2026-11-27T12:00:00.000Z, 2026-12-04T12:00:00.000Z, 2026-12-11T12:00:00.000Z
                0 12 13 * * | 2026-11-23T00:00:00Z | UTC
                  2026-12-13T12:00:00.000Z, 2027-01-13T12:00:00.000Z, 2027-02-13T12:00:00.000Z
                0 9 * * * | 2026-11-23T00:00:00Z | Nowhere/Zone
                  never
                0 23 31 dec * | 2026-12-31T22:59:00Z | UTC
                  2026-12-31T23:00:00.000Z, 2027-12-31T23:00:00.000Z, 2028-12-31T23:00:00.000Z
                59 23 * * * | 2026-11-23T23:58:59.999Z | UTC
                  2026-11-23T23:59:00.000Z, 2026-11-24T23:59:00.000Z, 2026-11-25T23:59:00.000Z
                * * *
                  "* * *" needs five fields: minute hour day-of-month month day-of-week
                0 9 * * mon extra
                  "0 9 * * mon extra" needs five fields: minute hour day-of-month month day-of-week
                61 * * * *
                  "61" is outside 0-59
                * 24 * * *
                  "24" is outside 0-23
                * * 0 * *
                  "0" is outside 1-31
                * * 32 * *
                  "32" is outside 1-31
                * * * 13 *
                  "13" is outside 1-12
                * * * 0 *
                  "0" is outside 1-12
                * * * * 8
                  "8" is outside 0-7
                * * * * funday
                  "funday" is not a number or a name
                */0 * * * *
                  bad step in "*/0"
                */x * * * *
                  bad step in "*/x"
                10-5 * * * *
                  "10-5" is outside 0-59
                a-5 * * * *
                  "a" is not a number or a name
                5-b * * * *
                  "b" is not a number or a name
                1,,2 * * * *
                  "" is not a number or a name
            "#]],
        );
    }

    #[test]
    fn a_step_past_the_end_of_the_numbers_names_only_the_start() {
        // Found by fuzzing: `5/4294967295` overflowed.
        for expr in ["5/4294967295 * * * *", "0 */4294967295 * * *"] {
            assert!(Cron::parse(expr).is_ok(), "{expr}");
        }
    }
}
