//! Parsing and validating journey documents: every diagnostic at once, each tied to a node.
//!
//! Each kind of object has one list of its keys, next to the code that reads it; the values
//! are read only through that list (`Diagnostics::fields`), so every other key is reported
//! (`unknown_field`) instead of silently ignored.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::*;
use crate::zone;

/// Ids chosen by authors (journeys, steps, templates, sources): 1-100 of a-z, 0-9, - and _.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The keys of a journey document.
const DOCUMENT: [&str; 10] = ["id", "name", "timezone", "quiet_hours", "cap", "priority", "entry", "exit", "goal", "steps"];
const CAP: [&str; 2] = ["max", "within"];
const QUIET_HOURS: [&str; 3] = ["from", "to", "then"];

/// The keys of each kind of entry; the last four are common to all.
const EVENT_ENTRY: [&str; 7] = ["event", "filter", "key", "reentry", "limit", "holdout", "concurrent"];
const TRAIT_CHANGE_ENTRY: [&str; 5] = ["trait_change", "reentry", "limit", "holdout", "concurrent"];
const API_ENTRY: [&str; 6] = ["api", "key", "reentry", "limit", "holdout", "concurrent"];
const SCHEDULE_ENTRY: [&str; 6] = ["schedule", "audience", "reentry", "limit", "holdout", "concurrent"];
const DATE_ENTRY: [&str; 5] = ["date", "reentry", "limit", "holdout", "concurrent"];
const SEGMENT_ENTRY: [&str; 6] = ["segment", "on", "reentry", "limit", "holdout", "concurrent"];
const ENTRIES: [&[&str]; 6] = [&EVENT_ENTRY, &TRAIT_CHANGE_ENTRY, &API_ENTRY, &SCHEDULE_ENTRY, &DATE_ENTRY, &SEGMENT_ENTRY];
const TRAIT_CHANGE: [&str; 3] = ["trait", "from", "to"];
const SCHEDULE: [&str; 2] = ["cron", "timezone"];
const DATE: [&str; 3] = ["trait", "offset", "at"];
const REENTRY: [&str; 1] = ["after"];

/// An `exit` item; a goal; a `wait_for` item.
const EVENT_MATCH: [&str; 2] = ["event", "filter"];
const GOAL: [&str; 5] = ["event", "filter", "within", "exit", "from"];
const WAIT_FOR_EVENT: [&str; 4] = ["event", "filter", "run", "next"];
/// An update of run variables.
const RUN_UPDATE: [&str; 2] = ["set", "append"];

/// The keys of each type of step.
const WAIT_STEP: [&str; 7] = ["id", "type", "duration", "until", "until_trait", "offset", "next"];
const UNTIL: [&str; 4] = ["time", "days", "after", "timezone"];
const WAIT_FOR_STEP: [&str; 5] = ["id", "type", "events", "timeout", "timeout_next"];
const BRANCH_STEP: [&str; 4] = ["id", "type", "cases", "else"];
const CASE: [&str; 2] = ["when", "next"];
const SPLIT_STEP: [&str; 3] = ["id", "type", "paths"];
const SPLIT_PATH: [&str; 3] = ["name", "weight", "next"];
const SEND_STEP: [&str; 8] = ["id", "type", "channel", "template", "variants", "next", "on_unreachable", "on_failure"];
const SEND_VARIANT: [&str; 3] = ["name", "weight", "template"];
const UPDATE_STEP: [&str; 7] = ["id", "type", "set", "increment", "unset", "run", "next"];
const WEBHOOK_STEP: [&str; 7] = ["id", "type", "url", "method", "body", "save", "next"];
const TASK_STEP: [&str; 8] = ["id", "type", "title", "body", "assignee", "team", "due", "next"];
const EXIT_STEP: [&str; 2] = ["id", "type"];
const STEPS: [&[&str]; 9] =
    [&WAIT_STEP, &WAIT_FOR_STEP, &BRANCH_STEP, &SPLIT_STEP, &SEND_STEP, &UPDATE_STEP, &WEBHOOK_STEP, &TASK_STEP, &EXIT_STEP];

/// Every kind of object a journey document has, with its keys, as the parser reads them
/// (conditions' kinds included): the document's schema, in one place. An editor (the web
/// interface) builds its forms from it, and a test checks that docs/JOURNEYS.md names every key.
pub fn schema() -> Vec<(&'static str, &'static [&'static str])> {
    let mut out: Vec<(&'static str, &'static [&'static str])> = vec![
        ("journey", &DOCUMENT),
        ("quiet_hours", &QUIET_HOURS),
        ("cap", &CAP),
        ("event entry", &EVENT_ENTRY),
        ("trait_change entry", &TRAIT_CHANGE_ENTRY),
        ("api entry", &API_ENTRY),
        ("schedule entry", &SCHEDULE_ENTRY),
        ("date entry", &DATE_ENTRY),
        ("segment entry", &SEGMENT_ENTRY),
        ("trait_change", &TRAIT_CHANGE),
        ("schedule", &SCHEDULE),
        ("date", &DATE),
        ("reentry rule", &REENTRY),
        ("exit", &EVENT_MATCH),
        ("goal", &GOAL),
        ("wait_for event", &WAIT_FOR_EVENT),
        ("run update", &RUN_UPDATE),
        ("wait step", &WAIT_STEP),
        ("until", &UNTIL),
        ("wait_for step", &WAIT_FOR_STEP),
        ("branch step", &BRANCH_STEP),
        ("branch case", &CASE),
        ("split step", &SPLIT_STEP),
        ("split path", &SPLIT_PATH),
        ("send step", &SEND_STEP),
        ("send variant", &SEND_VARIANT),
        ("update step", &UPDATE_STEP),
        ("webhook step", &WEBHOOK_STEP),
        ("task step", &TASK_STEP),
        ("exit step", &EXIT_STEP),
    ];
    out.extend(crate::condition::schema());
    out
}

struct Parser {
    diags: Diagnostics,
    history: Vec<HistoryQuery>,
}

impl Parser {
    fn object<'v>(&mut self, v: &'v Value, path: &str, what: &str) -> Option<&'v Map> {
        let obj = v.as_object();
        if obj.is_none() {
            self.diags.error(path, "invalid_field", &format!("{what} must be an object"));
        }
        obj
    }

    fn condition(&mut self, v: Option<&Value>, path: &str) -> Option<Condition> {
        let c = Condition::parse(v?, path, &mut self.diags, &mut self.history)?;
        if let Some(why) = c.contradiction() {
            self.diags.error(path, "impossible_condition", &format!("this condition can never hold: {why}"));
        }
        Some(c)
    }

    fn event_match(&mut self, event: Option<&Value>, filter: Option<&Value>, path: &str) -> Option<EventMatch> {
        let event = event.and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        if event.is_none() {
            self.diags.error(&format!("{path}/event"), "missing_field", "an event match needs an \"event\" name");
        }
        let parsed = self.condition(filter, &format!("{path}/filter"));
        if filter.is_some() && parsed.is_none() {
            return None;
        }
        Some(EventMatch { event: event?.to_owned(), filter: parsed })
    }

    fn entry(&mut self, e: &Value) -> Option<Entry> {
        let obj = self.object(e, "/entry", "\"entry\"")?;
        let (trigger, key, [reentry, limit, holdout, concurrent]) = if obj.contains_key("trait_change") {
            let [t, common @ ..] = self.diags.fields(obj, &TRAIT_CHANGE_ENTRY, "a trait_change entry", "/entry", &ENTRIES);
            (self.trait_change(t), None, common)
        } else if obj.contains_key("api") {
            let [api, key, common @ ..] = self.diags.fields(obj, &API_ENTRY, "an api entry", "/entry", &ENTRIES);
            if api != Some(&Value::Bool(true)) {
                self.diags.error("/entry/api", "invalid_field", "\"api\" is true (an entry through the admin API)");
            }
            (Some(Trigger::Api), key, common)
        } else if obj.contains_key("schedule") {
            let [schedule, audience, common @ ..] = self.diags.fields(obj, &SCHEDULE_ENTRY, "a schedule entry", "/entry", &ENTRIES);
            (self.schedule(schedule, audience), None, common)
        } else if obj.contains_key("segment") {
            let [segment, on, common @ ..] = self.diags.fields(obj, &SEGMENT_ENTRY, "a segment entry", "/entry", &ENTRIES);
            (self.segment_entry(segment, on), None, common)
        } else if obj.contains_key("date") {
            let [date, common @ ..] = self.diags.fields(obj, &DATE_ENTRY, "a date entry", "/entry", &ENTRIES);
            (self.date(date), None, common)
        } else {
            let [event, filter, key, common @ ..] = self.diags.fields(obj, &EVENT_ENTRY, "an event entry", "/entry", &ENTRIES);
            (self.event_match(event, filter, "/entry").map(Trigger::Event), key, common)
        };
        let key = match key {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(k)) if !k.is_empty() && !k.split('.').any(str::is_empty) => Some(Some(k.clone())),
            Some(_) => {
                self.diags.error(
                    "/entry/key",
                    "invalid_field",
                    "\"key\" names a property of the entry event (a dotted path), such as \"cart_id\": runs are then per person and key",
                );
                None
            }
        };
        let reentry = match reentry {
            None | Some(Value::Null) => Some(Reentry::Always),
            Some(Value::String(s)) if s == "always" => Some(Reentry::Always),
            Some(Value::String(s)) if s == "never" => Some(Reentry::Never),
            Some(Value::Object(o)) => {
                let [after] = self.diags.fields(o, &REENTRY, "a reentry rule", "/entry/reentry", &[]);
                self.duration(after, "after", "/entry/reentry").map(Reentry::After)
            }
            Some(_) => {
                self.diags.error("/entry/reentry", "invalid_field", "reentry is \"always\", \"never\" or {\"after\": \"30d\"}");
                None
            }
        };
        let limit = match limit {
            None | Some(Value::Null) => Some(None),
            Some(v) => match v.as_i64().filter(|n| *n >= 1) {
                Some(n) => Some(Some(n)),
                None => {
                    self.diags.error("/entry/limit", "invalid_field", "limit is a whole number of runs, at least 1");
                    None
                }
            },
        };
        let holdout = match holdout {
            None | Some(Value::Null) => Some(0),
            Some(v) => match v.as_u64().filter(|n| *n <= 100) {
                Some(n) => Some(n as u8),
                None => {
                    self.diags.error("/entry/holdout", "invalid_field", "holdout is a whole percent from 0 to 100");
                    None
                }
            },
        };
        let concurrent = match concurrent {
            None | Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.diags.error("/entry/concurrent", "invalid_field", "concurrent is true or false");
                None
            }
        };
        Some(Entry { trigger: trigger?, reentry: reentry?, limit: limit?, holdout: holdout?, concurrent: concurrent?, key: key? })
    }

    /// `{"segment": "lapsed", "on": "enter"}`: the person's entering (or leaving) the segment,
    /// which is an event (`Segment Entered` / `Segment Exited` with the segment's id).
    fn segment_entry(&mut self, segment: Option<&Value>, on: Option<&Value>) -> Option<Trigger> {
        let id = segment.and_then(Value::as_str).filter(|id| crate::segment::valid_id(id));
        if id.is_none() {
            self.diags.error("/entry/segment", "invalid_field", "\"segment\" names a segment by its id, such as \"lapsed-buyers\"");
        }
        let event = match on.and_then(Value::as_str) {
            None | Some("enter") => Some(crate::segment::ENTERED),
            Some("leave") => Some(crate::segment::EXITED),
            Some(_) => {
                self.diags.error("/entry/on", "invalid_field", "\"on\" is \"enter\" (the default) or \"leave\"");
                None
            }
        };
        let filter = Condition::Compare {
            subject: crate::condition::Subject::Property("segment".into()),
            op: crate::condition::Op::Eq,
            value: crate::condition::Operand::Value(Value::String(id?.to_owned())),
        };
        Some(Trigger::Event(EventMatch { event: event?.to_owned(), filter: Some(filter) }))
    }

    fn trait_change(&mut self, t: Option<&Value>) -> Option<Trigger> {
        let path = "/entry/trait_change";
        let obj = self.object(t?, path, "\"trait_change\"")?;
        let [name, from, to] = self.diags.fields(obj, &TRAIT_CHANGE, "\"trait_change\"", path, &[]);
        let name = name.and_then(Value::as_str).filter(|n| !n.is_empty());
        if name.is_none() {
            self.diags.error("/entry/trait_change/trait", "missing_field", "a trait_change entry names its \"trait\"");
        }
        name.map(|n| Trigger::TraitChange { name: n.to_owned(), from: from.cloned(), to: to.cloned() })
    }

    fn schedule(&mut self, schedule: Option<&Value>, audience: Option<&Value>) -> Option<Trigger> {
        let path = "/entry/schedule";
        let obj = self.object(schedule?, path, "\"schedule\"")?;
        let [cron, timezone] = self.diags.fields(obj, &SCHEDULE, "\"schedule\"", path, &[]);
        let cron = match cron.and_then(Value::as_str).map(crate::cron::Cron::parse) {
            Some(Ok(c)) => Some(c),
            Some(Err(why)) => {
                self.diags.error("/entry/schedule/cron", "invalid_cron", &why);
                None
            }
            None => {
                self.diags.error("/entry/schedule/cron", "missing_field", "a schedule needs \"cron\", e.g. \"0 9 * * mon\"");
                None
            }
        };
        let zone = self.zone(timezone, "/entry/schedule/timezone");
        let before = self.history.len();
        let audience = self.condition(audience, "/entry/audience");
        if self.history.len() > before {
            self.diags.error("/entry/audience", "condition_invalid", "a schedule's audience reads traits and the clock, not history");
        }
        Some(Trigger::Schedule { cron: cron?, timezone: zone?.unwrap_or_else(|| "UTC".to_owned()), audience })
    }

    fn date(&mut self, date: Option<&Value>) -> Option<Trigger> {
        let path = "/entry/date";
        let obj = self.object(date?, path, "\"date\"")?;
        let [name, offset, at] = self.diags.fields(obj, &DATE, "\"date\"", path, &[]);
        let name = name.and_then(Value::as_str).filter(|n| !n.is_empty());
        if name.is_none() {
            self.diags.error("/entry/date/trait", "missing_field", "a date entry names its date \"trait\"");
        }
        let offset = self.offset(offset, "/entry/date/offset");
        let at = at.and_then(Value::as_str).unwrap_or("09:00");
        let hm = at.split_once(':').and_then(|(h, m)| Some((h.parse::<i8>().ok()?, m.parse::<i8>().ok()?)));
        let hm = match hm {
            Some((h, m)) if at.len() == 5 && (0..24).contains(&h) && (0..60).contains(&m) && m % 15 == 0 => Some((h, m)),
            _ => {
                self.diags.error("/entry/date/at", "invalid_field", "\"at\" is a 24-hour \"HH:MM\" on a quarter hour, such as \"09:00\"");
                None
            }
        };
        match (name, offset, hm) {
            (Some(n), Some(offset), Some((hour, minute))) => Some(Trigger::Date { name: n.to_owned(), offset, hour, minute }),
            _ => None,
        }
    }

    fn goal(&mut self, g: &Value) -> Option<Goal> {
        let obj = self.object(g, "/goal", "\"goal\"")?;
        let [event, filter, within, exit, from] = self.diags.fields(obj, &GOAL, "a goal", "/goal", &[]);
        let from = self.next(from, "from", "/goal");
        let on = self.event_match(event, filter, "/goal");
        let within = match within {
            None => Some(None),
            Some(_) => self.duration(within, "within", "/goal").map(Some),
        };
        let exit = match exit {
            None | Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.diags.error("/goal/exit", "invalid_field", "\"exit\" is true or false");
                None
            }
        };
        Some(Goal { on: on?, within: within?, exit: exit?, from })
    }

    /// A step id (`next`, `else`, `timeout_next`); absent or null: the run ends there.
    fn next(&mut self, v: Option<&Value>, key: &str, path: &str) -> Option<NodeId> {
        match v {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(NodeId(s.clone())),
            Some(_) => {
                self.diags.error(&format!("{path}/{key}"), "invalid_field", &format!("\"{key}\" must be a step id"));
                None
            }
        }
    }

    fn duration(&mut self, v: Option<&Value>, key: &str, path: &str) -> Option<Duration> {
        match v.and_then(Value::as_str).map(str::parse::<Duration>) {
            Some(Ok(d)) if d > Duration::ZERO => Some(d),
            Some(Err(e)) => {
                self.diags.error(&format!("{path}/{key}"), "invalid_duration", &e);
                None
            }
            _ => {
                self.diags.error(
                    &format!("{path}/{key}"),
                    "invalid_duration",
                    &format!("\"{key}\" must be a positive duration such as \"3d\""),
                );
                None
            }
        }
    }

    /// An optional signed offset (`-3d`); none is zero.
    fn offset(&mut self, v: Option<&Value>, path: &str) -> Option<Duration> {
        match v {
            None => Some(Duration::ZERO),
            Some(o) => match o.as_str().map(signed_duration) {
                Some(Ok(d)) => Some(d),
                Some(Err(e)) => {
                    self.diags.error(path, "invalid_duration", &e);
                    None
                }
                None => {
                    self.diags.error(path, "invalid_duration", "an offset is a duration such as \"-3d\"");
                    None
                }
            },
        }
    }

    fn zone(&mut self, v: Option<&Value>, path: &str) -> Option<Option<String>> {
        match v {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(z)) if zone::is_valid(z) => Some(Some(z.clone())),
            Some(other) => {
                self.diags.error(path, "unknown_timezone", &format!("{other} is not an IANA time zone such as \"Europe/Paris\""));
                None
            }
        }
    }

    /// `duration`, or `until: {"time": "09:00", "days": 7, "after": "entry", "timezone": ...}`
    /// (`days`, `after` and `timezone` optional), or `until_trait` + `offset`.
    fn wait(&mut self, obj: &Map, path: &str) -> Option<StepKind> {
        let [_, _, duration, until, until_trait, offset, next] = self.diags.fields(obj, &WAIT_STEP, "a wait step", path, &STEPS);
        let next = self.next(next, "next", path);
        if [duration, until, until_trait].iter().filter(|v| v.is_some()).count() != 1 {
            self.diags.error(
                path,
                "invalid_wait",
                "a wait has exactly one of \"duration\", \"until\" ({\"time\": \"09:00\"}) or \"until_trait\"",
            );
            return None;
        }
        if offset.is_some() && until_trait.is_none() {
            self.diags.error(&format!("{path}/offset"), "invalid_field", "\"offset\" goes with \"until_trait\"");
        }
        let until = if duration.is_some() {
            self.duration(duration, "duration", path).map(WaitUntil::For)
        } else if let Some(until) = until {
            let upath = format!("{path}/until");
            let obj = self.object(until, &upath, "\"until\"")?;
            let [time, days, after, timezone] = self.diags.fields(obj, &UNTIL, "\"until\"", &upath, &[]);
            let time = time.and_then(Value::as_str).unwrap_or("");
            let parsed = time.split_once(':').and_then(|(h, m)| Some((h.parse::<i8>().ok()?, m.parse::<i8>().ok()?)));
            let zone = self.zone(timezone, &format!("{upath}/timezone"));
            let day = self.calendar_day(days, after, &upath);
            match parsed {
                Some((hour, minute)) if (0..24).contains(&hour) && (0..60).contains(&minute) && time.len() == 5 => {
                    Some(WaitUntil::TimeOfDay { hour, minute, zone: zone?, day: day? })
                }
                _ => {
                    self.diags.error(&format!("{upath}/time"), "invalid_field", "\"time\" is a 24-hour \"HH:MM\" such as \"09:00\"");
                    None
                }
            }
        } else {
            let name = until_trait.and_then(Value::as_str).filter(|n| !n.is_empty());
            let offset = self.offset(offset, &format!("{path}/offset"));
            if name.is_none() {
                self.diags.error(
                    &format!("{path}/until_trait"),
                    "missing_field",
                    "\"until_trait\" names a date trait such as \"renewal_date\"",
                );
            }
            Some(WaitUntil::Trait { name: name?.to_owned(), offset: offset? })
        };
        Some(StepKind::Wait { until: until?, next })
    }

    /// `{"max": 3, "within": "7d"}`.
    fn cap(&mut self, v: &Value) -> Option<JourneyCap> {
        let obj = self.object(v, "/cap", "\"cap\"")?;
        let [max, within] = self.diags.fields(obj, &CAP, "\"cap\"", "/cap", &[]);
        let max = match max.and_then(Value::as_i64) {
            Some(n) if n >= 1 => Some(n),
            _ => {
                self.diags.error("/cap/max", "invalid_field", "\"max\" is how many messages at most: a whole number from 1");
                None
            }
        };
        let within = self.duration(within, "within", "/cap");
        Some(JourneyCap { max: max?, within: within? })
    }

    /// `{"from": "21:00", "to": "08:00", "then": "hold" | "skip"}` (`then` defaults to hold).
    fn quiet_hours(&mut self, v: &Value) -> Option<QuietHours> {
        let obj = self.object(v, "/quiet_hours", "\"quiet_hours\"")?;
        let [from, to, then] = self.diags.fields(obj, &QUIET_HOURS, "\"quiet_hours\"", "/quiet_hours", &[]);
        let mut time = |v: Option<&Value>, key: &str| {
            let text = v.and_then(Value::as_str).unwrap_or("");
            let parsed = text.split_once(':').and_then(|(h, m)| Some((h.parse::<i8>().ok()?, m.parse::<i8>().ok()?)));
            match parsed {
                Some((h, m)) if (0..24).contains(&h) && (0..60).contains(&m) && text.len() == 5 => Some((h, m)),
                _ => {
                    let message = format!("\"{key}\" is a 24-hour \"HH:MM\" such as \"21:00\"");
                    self.diags.error(&format!("/quiet_hours/{key}"), "invalid_field", &message);
                    None
                }
            }
        };
        let (from, to) = (time(from, "from"), time(to, "to"));
        let then = match then.map(|t| t.as_str()) {
            None | Some(Some("hold")) => Some(Quiet::Hold),
            Some(Some("skip")) => Some(Quiet::Skip),
            _ => {
                self.diags.error(
                    "/quiet_hours/then",
                    "invalid_field",
                    "\"then\" is \"hold\" (wait until they end, the default) or \"skip\" (do not send)",
                );
                None
            }
        };
        let (from, to) = (from?, to?);
        if from == to {
            self.diags.error("/quiet_hours/to", "invalid_field", "quiet hours end when they start: \"to\" must differ from \"from\"");
            return None;
        }
        Some(QuietHours { from, to, then: then? })
    }

    /// `until.days` and `until.after`: a calendar day counted from the entry or a step (that
    /// the step exists is checked once every step is known).
    fn calendar_day(&mut self, days: Option<&Value>, after: Option<&Value>, upath: &str) -> Option<Option<CalendarDay>> {
        let Some(days) = days else {
            if after.is_some() {
                self.diags.error(
                    &format!("{upath}/after"),
                    "invalid_field",
                    "\"after\" goes with \"days\": {\"time\": \"09:00\", \"days\": 7, \"after\": \"entry\"} is 09:00 on the 7th day after the entry",
                );
                return None;
            }
            return Some(None);
        };
        let days = match days.as_u64().and_then(|d| u16::try_from(d).ok()).filter(|d| *d <= 366) {
            Some(d) => Some(d),
            None => {
                self.diags.error(&format!("{upath}/days"), "invalid_field", "\"days\" is a whole number of days from 0 to 366");
                None
            }
        };
        let after = match after {
            None => Some(Anchor::Entry),
            Some(Value::String(a)) if a == "entry" => Some(Anchor::Entry),
            Some(Value::String(a)) => Some(Anchor::Step(NodeId(a.clone()))),
            Some(_) => {
                self.diags.error(&format!("{upath}/after"), "invalid_field", "\"after\" is \"entry\" or a step id");
                None
            }
        };
        Some(Some(CalendarDay { days: days?, after: after? }))
    }

    fn string(&mut self, v: Option<&Value>, key: &str, path: &str) -> Option<String> {
        match v.and_then(Value::as_str).filter(|s| !s.is_empty()) {
            Some(s) => Some(s.to_owned()),
            None => {
                self.diags.error(&format!("{path}/{key}"), "missing_field", &format!("this step needs \"{key}\""));
                None
            }
        }
    }

    fn split(&mut self, obj: &Map, path: &str) -> StepKind {
        let [_, _, list] = self.diags.fields(obj, &SPLIT_STEP, "a split step", path, &STEPS);
        let mut paths = Vec::new();
        match list.and_then(Value::as_array) {
            Some(list) if list.len() >= 2 => {
                for (i, p) in list.iter().enumerate() {
                    let ppath = format!("{path}/paths/{i}");
                    let Some(p) = self.object(p, &ppath, "a split path") else { continue };
                    let [name, weight, next] = self.diags.fields(p, &SPLIT_PATH, "a split path", &ppath, &[]);
                    let name = name.and_then(Value::as_str).filter(|n| !n.is_empty());
                    let weight = weight.and_then(Value::as_u64).filter(|w| (1..=100).contains(w));
                    if name.is_none() {
                        self.diags.error(
                            &format!("{ppath}/name"),
                            "missing_field",
                            "each split path needs a \"name\" (the variant recorded)",
                        );
                    }
                    if weight.is_none() {
                        self.diags.error(&format!("{ppath}/weight"), "invalid_weight", "a split weight is a whole percent from 1 to 100");
                    }
                    let next = self.next(next, "next", &ppath);
                    if let (Some(name), Some(weight)) = (name, weight) {
                        if paths.iter().any(|q: &SplitPath| q.name == name) {
                            self.diags.error(&format!("{ppath}/name"), "duplicate_id", &format!("variant {name:?} is named twice"));
                        }
                        paths.push(SplitPath { name: name.to_owned(), weight: weight as u32, next });
                    }
                }
                let total: u32 = paths.iter().map(|p| p.weight).sum();
                if paths.len() == list.len() && total != 100 {
                    self.diags.error(&format!("{path}/paths"), "split_weights", &format!("split weights add up to {total}, not 100"));
                }
            }
            _ => self.diags.error(
                &format!("{path}/paths"),
                "missing_field",
                "split needs \"paths\": two or more {\"name\", \"weight\", \"next\"}",
            ),
        }
        StepKind::Split { paths }
    }

    fn update(&mut self, obj: &Map, path: &str) -> Option<StepKind> {
        let [_, _, set, increment, unset, run, next] = self.diags.fields(obj, &UPDATE_STEP, "an update step", path, &STEPS);
        let run = self.run_update(run, &format!("{path}/run"));
        let mut ok = true;
        let mut update = TraitUpdate::default();
        match set {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => update.set = map.clone(),
            Some(_) => {
                self.diags.error(&format!("{path}/set"), "invalid_field", "\"set\" is an object of traits and their values");
                ok = false;
            }
        }
        match increment {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for k in map.iter().filter(|(_, v)| !v.is_number()).map(|(k, _)| k) {
                    self.diags.error(&format!("{path}/increment/{}", pointer_token(k)), "invalid_field", "increment by a number");
                    ok = false;
                }
                update.increment = map.clone();
            }
            Some(_) => {
                self.diags.error(&format!("{path}/increment"), "invalid_field", "\"increment\" is an object of traits and numbers");
                ok = false;
            }
        }
        match unset {
            None | Some(Value::Null) => {}
            Some(Value::Array(names)) if names.iter().all(Value::is_string) => {
                update.unset = names.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            }
            Some(_) => {
                self.diags.error(&format!("{path}/unset"), "invalid_field", "\"unset\" is a list of trait names");
                ok = false;
            }
        }
        if ok && update.is_empty() && run.as_ref().is_some_and(RunUpdate::is_empty) {
            self.diags.error(
                path,
                "missing_field",
                "update needs \"set\" (object), \"increment\" (object of numbers), \"unset\" (list) or \"run\" (run variables)",
            );
            ok = false;
        }
        let next = self.next(next, "next", path);
        let run = run?;
        ok.then_some(StepKind::Update { update, run, next })
    }

    /// `{"set": {...}, "append": {...}}`: changes to run variables (absent: none).
    fn run_update(&mut self, v: Option<&Value>, path: &str) -> Option<RunUpdate> {
        let Some(v) = v.filter(|v| !v.is_null()) else { return Some(RunUpdate::default()) };
        let obj = self.object(v, path, "\"run\"")?;
        let [set, append] = self.diags.fields(obj, &RUN_UPDATE, "a run update", path, &[]);
        let mut map = |v: Option<&Value>, key: &str| match v {
            None | Some(Value::Null) => Some(Map::new()),
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => {
                self.diags.error(
                    &format!("{path}/{key}"),
                    "invalid_field",
                    &format!("\"{key}\" is an object of run variables and their values"),
                );
                None
            }
        };
        let (set, append) = (map(set, "set"), map(append, "append"));
        let update = RunUpdate { set: set?, append: append? };
        if update.is_empty() {
            self.diags.error(path, "missing_field", "\"run\" needs \"set\" or \"append\" (an object of run variables)");
            return None;
        }
        Some(update)
    }

    fn wait_for(&mut self, obj: &Map, path: &str) -> Option<StepKind> {
        let [_, _, events, timeout, timeout_next] = self.diags.fields(obj, &WAIT_FOR_STEP, "a wait_for step", path, &STEPS);
        let mut paths = Vec::new();
        match events.and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, p) in list.iter().enumerate() {
                    let ppath = format!("{path}/events/{i}");
                    let Some(p) = self.object(p, &ppath, "a wait_for event") else { continue };
                    let [event, filter, run, next] = self.diags.fields(p, &WAIT_FOR_EVENT, "a wait_for event", &ppath, &[]);
                    let on = self.event_match(event, filter, &ppath);
                    let run = self.run_update(run, &format!("{ppath}/run"));
                    let next = self.next(next, "next", &ppath);
                    if let (Some(on), Some(run)) = (on, run) {
                        paths.push(WaitPath { on, run, next });
                    }
                }
            }
            _ => self.diags.error(
                &format!("{path}/events"),
                "missing_field",
                "wait_for needs \"events\": a list of {\"event\", \"filter\", \"next\"}",
            ),
        }
        let timeout = self.duration(timeout, "timeout", path);
        Some(StepKind::WaitFor { paths, timeout: timeout?, timeout_next: self.next(timeout_next, "timeout_next", path) })
    }

    fn branch(&mut self, obj: &Map, path: &str) -> StepKind {
        let [_, _, list, otherwise] = self.diags.fields(obj, &BRANCH_STEP, "a branch step", path, &STEPS);
        let mut cases = Vec::new();
        match list.and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, c) in list.iter().enumerate() {
                    let cpath = format!("{path}/cases/{i}");
                    let Some(c) = self.object(c, &cpath, "a branch case") else { continue };
                    let [when, next] = self.diags.fields(c, &CASE, "a branch case", &cpath, &[]);
                    let parsed = self.condition(when, &format!("{cpath}/when"));
                    if when.is_none() {
                        self.diags.error(&format!("{cpath}/when"), "missing_field", "a branch case needs \"when\"");
                    }
                    let next = self.next(next, "next", &cpath);
                    if let Some(when) = parsed {
                        cases.push((when, next));
                    }
                }
            }
            _ => self.diags.error(&format!("{path}/cases"), "missing_field", "branch needs \"cases\": a list of {\"when\", \"next\"}"),
        }
        StepKind::Branch { cases, otherwise: self.next(otherwise, "else", path) }
    }

    fn send(&mut self, obj: &Map, path: &str) -> Option<StepKind> {
        let [_, _, channel, template, variants, next, on_unreachable, on_failure] =
            self.diags.fields(obj, &SEND_STEP, "a send step", path, &STEPS);
        let on_unreachable = on_unreachable.map(|v| self.next(Some(v), "on_unreachable", path));
        let on_failure = on_failure.map(|v| self.next(Some(v), "on_failure", path));
        let channel = match channel.map_or(Some("email"), Value::as_str).and_then(Channel::parse) {
            Some(c) => Some(c),
            None => {
                let shown = channel.map(|c| c.as_str().map_or_else(|| c.to_string(), |c| format!("{c:?}"))).unwrap_or_default();
                let available: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
                let message = format!("unknown channel {shown}; available: {}", available.join(", "));
                self.diags.error(&format!("{path}/channel"), "unknown_channel", &message);
                None
            }
        };
        let content = match (template, variants.filter(|v| !v.is_null())) {
            (Some(_), Some(_)) => {
                self.diags.error(&format!("{path}/variants"), "invalid_field", "a send step has \"template\" or \"variants\", not both");
                None
            }
            (_, Some(list)) => self.variants(list, path).map(SendContent::Variants),
            (template, None) => self.string(template, "template", path).map(|t| SendContent::Template(TemplateId(t))),
        };
        let next = self.next(next, "next", path);
        Some(StepKind::Send { channel: channel?, content: content?, next, on_unreachable, on_failure })
    }

    /// A send's variants: two or more `{name, weight, template}`, weights adding up to 100.
    fn variants(&mut self, list: &Value, path: &str) -> Option<Vec<SendVariant>> {
        let Some(list) = list.as_array().filter(|l| l.len() >= 2) else {
            let message = "\"variants\" is two or more {\"name\", \"weight\", \"template\"}";
            self.diags.error(&format!("{path}/variants"), "invalid_field", message);
            return None;
        };
        let mut out: Vec<SendVariant> = Vec::new();
        for (i, v) in list.iter().enumerate() {
            let vpath = format!("{path}/variants/{i}");
            let Some(v) = self.object(v, &vpath, "a send variant") else { continue };
            let [name, weight, template] = self.diags.fields(v, &SEND_VARIANT, "a send variant", &vpath, &[]);
            let name = name.and_then(Value::as_str).filter(|n| !n.is_empty());
            let weight = weight.and_then(Value::as_u64).filter(|w| (1..=100).contains(w));
            if name.is_none() {
                self.diags.error(&format!("{vpath}/name"), "missing_field", "each variant needs a \"name\" (the variant recorded)");
            }
            if weight.is_none() {
                self.diags.error(&format!("{vpath}/weight"), "invalid_weight", "a variant's weight is a whole percent from 1 to 100");
            }
            let template = self.string(template, "template", &vpath);
            if let (Some(name), Some(weight), Some(template)) = (name, weight, template) {
                if out.iter().any(|v| v.name == name) {
                    self.diags.error(&format!("{vpath}/name"), "duplicate_id", &format!("variant {name:?} is named twice"));
                }
                out.push(SendVariant { name: name.to_owned(), weight: weight as u32, template: TemplateId(template) });
            }
        }
        let total: u32 = out.iter().map(|v| v.weight).sum();
        if out.len() != list.len() {
            return None;
        }
        if total != 100 {
            self.diags.error(&format!("{path}/variants"), "split_weights", &format!("variant weights add up to {total}, not 100"));
            return None;
        }
        Some(out)
    }

    fn webhook(&mut self, obj: &Map, path: &str) -> Option<StepKind> {
        let [_, _, url, method, body, save, next] = self.diags.fields(obj, &WEBHOOK_STEP, "a webhook step", path, &STEPS);
        let url = self.string(url, "url", path);
        if let Some(u) = &url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            self.diags.error(&format!("{path}/url"), "invalid_url", "a webhook url must start with http:// or https://");
        }
        let method = match method {
            None | Some(Value::Null) => "POST".to_owned(),
            Some(m) => m.as_str().unwrap_or("").to_ascii_uppercase(),
        };
        if !["POST", "PUT", "PATCH", "GET", "DELETE"].contains(&method.as_str()) {
            self.diags.error(&format!("{path}/method"), "invalid_field", "method must be one of POST, PUT, PATCH, GET, DELETE");
        }
        let mut parsed = BTreeMap::new();
        match save {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (name, pointer) in map {
                    match pointer.as_str() {
                        Some(p) if p.is_empty() || p.starts_with('/') => {
                            parsed.insert(name.clone(), p.to_owned());
                        }
                        _ => self.diags.error(
                            &format!("{path}/save/{}", pointer_token(name)),
                            "invalid_field",
                            "save maps a trait to a JSON pointer into the response, such as \"/data/score\"",
                        ),
                    }
                }
            }
            Some(_) => self.diags.error(&format!("{path}/save"), "invalid_field", "save is {\"trait\": \"/json/pointer\"}"),
        }
        Some(StepKind::Webhook { url: url?, method, body: body.cloned(), save: parsed, next: self.next(next, "next", path) })
    }

    fn task(&mut self, obj: &Map, path: &str) -> Option<StepKind> {
        let [_, _, title, body, assignee, team, due, next] = self.diags.fields(obj, &TASK_STEP, "a task step", path, &STEPS);
        let title = self.string(title, "title", path);
        let mut text = |v: Option<&Value>, key: &str| match v {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Some(_) => {
                self.diags.error(&format!("{path}/{key}"), "invalid_field", &format!("\"{key}\" is a non-empty string when given"));
                None
            }
        };
        let body = text(body, "body").unwrap_or_default();
        let assignee = text(assignee, "assignee");
        let team = text(team, "team");
        let due = match due.filter(|d| !d.is_null()) {
            None => Ok(None),
            // Reported when it does not parse; the step is not made.
            Some(d) => self.duration(Some(d), "due", path).map(Some).ok_or(()),
        };
        let next = self.next(next, "next", path);
        let task = TaskSpec { title: title?, body, assignee, team, due: due.ok()? };
        Some(StepKind::Task { task, next })
    }

    fn step(&mut self, v: &Value, path: &str) -> Option<StepKind> {
        let Some(obj) = v.as_object() else {
            self.diags.error(path, "invalid_step", "a step must be an object");
            return None;
        };
        match obj.get("type").and_then(Value::as_str).unwrap_or("") {
            "wait" => self.wait(obj, path),
            "split" => Some(self.split(obj, path)),
            "update" => self.update(obj, path),
            "wait_for" => self.wait_for(obj, path),
            "branch" => Some(self.branch(obj, path)),
            "send" => self.send(obj, path),
            "webhook" => self.webhook(obj, path),
            "task" => self.task(obj, path),
            "exit" => {
                let [_, _] = self.diags.fields(obj, &EXIT_STEP, "an exit step", path, &STEPS);
                Some(StepKind::Exit)
            }
            other => {
                let every: Vec<&str> = STEPS.iter().flat_map(|keys| keys.iter().copied()).collect();
                self.diags.unknown_keys(obj, &every, &[], "a step", path);
                let shown = obj.get("type").filter(|t| !t.is_string()).map_or_else(|| format!("{other:?}"), Value::to_string);
                self.diags.error(
                    &format!("{path}/type"),
                    "unknown_step_type",
                    &format!("unknown step type {shown}; available: wait, wait_for, branch, split, send, update, webhook, task, exit"),
                );
                None
            }
        }
    }
}

impl Journey {
    /// Parses and validates a document, returning every diagnostic at once (all errors).
    ///
    /// Nothing here recurses with the size of the document: steps are walked with stacks of
    /// their own, and conditions deeper than `condition::MAX_DEPTH` are refused before they
    /// are read. Plain values in a document (a webhook `body`, a comparison's `value`) are
    /// copied as they are, which recurses as deep as they nest: documents read from JSON
    /// text are safe, as serde_json refuses more than 128 levels.
    pub fn parse(doc: &Value) -> Result<Journey, Vec<Diagnostic>> {
        let mut p = Parser { diags: Diagnostics::default(), history: Vec::new() };
        let Some(obj) = doc.as_object() else {
            p.diags.error("", "invalid_document", "a journey document must be a JSON object");
            return Err(p.diags.0);
        };
        let [id, name, timezone, quiet_hours, cap, priority, entry, exit, goal, raw_steps] =
            p.diags.fields(obj, &DOCUMENT, "a journey", "", &[]);
        let id = id.and_then(Value::as_str).unwrap_or("");
        if !is_slug(id) {
            p.diags.error("/id", "invalid_id", "\"id\" must be 1-100 characters of a-z, 0-9, - and _");
        }
        let name = match name {
            None | Some(Value::Null) => id.to_owned(),
            Some(Value::String(n)) => n.clone(),
            Some(_) => {
                p.diags.error("/name", "invalid_field", "\"name\" is text");
                id.to_owned()
            }
        };
        let entry = match entry {
            Some(e) => p.entry(e),
            None => {
                p.diags.error(
                    "/entry",
                    "missing_field",
                    "a journey needs an \"entry\": {\"event\": ...} (or \"trait_change\", or \"api\": true)",
                );
                None
            }
        };
        let goal = match goal {
            None | Some(Value::Null) => None,
            Some(g) => p.goal(g),
        };
        let timezone = p.zone(timezone, "/timezone").flatten().unwrap_or_else(|| "UTC".to_owned());
        let quiet_hours = match quiet_hours {
            None | Some(Value::Null) => None,
            Some(q) => p.quiet_hours(q),
        };
        let cap = match cap {
            None | Some(Value::Null) => None,
            Some(c) => p.cap(c),
        };
        let priority = match priority {
            None | Some(Value::Null) => 0,
            Some(v) => match v.as_i64().filter(|n| (-1000..=1000).contains(n)) {
                Some(n) => n as i32,
                None => {
                    p.diags.error(
                        "/priority",
                        "invalid_field",
                        "\"priority\" is a whole number from -1000 to 1000 (higher wins; default 0)",
                    );
                    0
                }
            },
        };
        let mut exits = Vec::new();
        match exit {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, e) in list.iter().enumerate() {
                    let path = format!("/exit/{i}");
                    let Some(e) = p.object(e, &path, "an exit") else { continue };
                    let [event, filter] = p.diags.fields(e, &EVENT_MATCH, "an exit", &path, &[]);
                    if let Some(m) = p.event_match(event, filter, &path) {
                        exits.push(m);
                    }
                }
            }
            Some(_) => p.diags.error("/exit", "invalid_field", "\"exit\" must be a list of event matches"),
        }
        let mut steps = Vec::new();
        let mut index = HashMap::new();
        let mut declared = HashSet::new();
        let raw_steps: &[Value] = raw_steps.and_then(Value::as_array).map_or(&[], Vec::as_slice);
        if raw_steps.is_empty() {
            p.diags.error("/steps", "missing_field", "a journey needs a non-empty list of \"steps\"");
        }
        for (i, s) in raw_steps.iter().enumerate() {
            let path = format!("/steps/{i}");
            let sid = s.get("id").and_then(Value::as_str).unwrap_or("");
            p.diags.1 = Some(sid.to_owned()).filter(|s| !s.is_empty());
            if !is_slug(sid) {
                p.diags.error(&format!("{path}/id"), "invalid_id", "each step needs an \"id\" of a-z, 0-9, - and _");
            } else if !declared.insert(NodeId(sid.to_owned())) {
                p.diags.error(&format!("{path}/id"), "duplicate_id", &format!("step id {sid:?} is used twice"));
            }
            if let Some(kind) = p.step(s, &path) {
                index.entry(NodeId(sid.to_owned())).or_insert(steps.len());
                steps.push(Step { id: NodeId(sid.to_owned()), kind });
            }
        }
        // Dangling edges, read from the document so that steps with other problems are checked too.
        for (i, raw) in raw_steps.iter().enumerate() {
            p.diags.1 = raw.get("id").and_then(Value::as_str).map(str::to_owned);
            for (label, target) in raw_edges(raw) {
                if !declared.contains(&NodeId(target.to_owned())) {
                    p.diags.error(
                        &format!("/steps/{i}/{label}"),
                        "dangling_next",
                        &format!("{label} points to {target:?}, which is not a step"),
                    );
                }
            }
        }
        // What calendar waits count from, read from the document too.
        for (i, raw) in raw_steps.iter().enumerate() {
            p.diags.1 = raw.get("id").and_then(Value::as_str).map(str::to_owned);
            let Some(after) = raw.get("until").and_then(|u| u.get("after")).and_then(Value::as_str) else { continue };
            let path = format!("/steps/{i}/until/after");
            if after == "entry" && declared.contains(&NodeId("entry".into())) {
                p.diags.error(
                    &path,
                    "ambiguous_after",
                    "\"after\": \"entry\" counts from the run's entry, but a step is named \"entry\" too: rename that step to count from it",
                );
            } else if after != "entry" && !declared.contains(&NodeId(after.to_owned())) {
                let ids = declared.iter().map(|n| n.as_str()).chain(["entry"]);
                let hint = closest(after, ids).map_or(String::new(), |s| format!("; did you mean {s:?}?"));
                p.diags.error(
                    &path,
                    "dangling_next",
                    &format!("after names {after:?}, which is not a step (\"entry\" counts from the run's entry){hint}"),
                );
            }
        }
        p.diags.1 = None;
        if let Some(from) = goal.as_ref().and_then(|g| g.from.as_ref()).filter(|f| !declared.contains(*f)) {
            p.diags.error("/goal/from", "dangling_next", &format!("from names {:?}, which is not a step", from.0));
        }
        if p.diags.0.is_empty() && !steps.is_empty() {
            graph_checks(&steps, &index, &mut p.diags);
        }
        match (entry, p.diags.0.is_empty()) {
            (Some(entry), true) => {
                let mut j = Journey {
                    id: JourneyId(id.to_owned()),
                    name,
                    entry,
                    exits,
                    goal,
                    timezone,
                    quiet_hours,
                    cap,
                    priority,
                    steps,
                    history: p.history,
                    reads_clock: false,
                    anchors: HashSet::new(),
                    index,
                };
                j.anchors = j.steps.iter().filter_map(|s| Journey::anchor(&s.kind)).cloned().collect();
                j.reads_clock = j.conditions().iter().any(|(c, ..)| c.reads_clock());
                run_reads(&j, &mut p.diags);
                if p.diags.0.is_empty() { Ok(j) } else { Err(p.diags.0) }
            }
            _ => Err(p.diags.0),
        }
    }
}

/// What conditions read from the run is there to read: no run before entry (the entry filter
/// and a schedule's audience), run variables some step sets, and for triggers with known
/// properties (trait changes, schedules, dates) only those.
fn run_reads(j: &Journey, diags: &mut Diagnostics) {
    use crate::condition::{Ref, RunRead};
    let vars = j.run_variables();
    let known: Option<&[&str]> = match &j.entry.trigger {
        Trigger::TraitChange { .. } => Some(&["trait", "from", "to"]),
        Trigger::Schedule { .. } => Some(&["schedule", "scheduled_at"]),
        Trigger::Date { .. } => Some(&["trait", "date"]),
        Trigger::Event(_) | Trigger::Api => None,
    };
    for (c, path, node) in j.conditions() {
        diags.1 = node.map(|n| n.0.clone());
        let mut reads = Vec::new();
        c.run_reads(&path, &mut reads);
        let before_run = path.starts_with("/entry/");
        for (at, read) in reads {
            let var = match &read {
                RunRead::Var(p) | RunRead::Ref(Ref::Run(p)) => Some(p),
                RunRead::Ref(_) | RunRead::History(_) => None,
            };
            if let RunRead::History(i) = read {
                if before_run && j.history.get(i).is_some_and(|q| q.since_entry) {
                    diags.error(
                        &at,
                        "ref_before_run",
                        "the entry is decided before the run exists: a history \"since entry\" counts only within a run",
                    );
                }
                continue;
            }
            if before_run && !matches!(read, RunRead::Ref(Ref::Trait(_))) {
                diags.error(
                    &at,
                    "ref_before_run",
                    "the entry is decided before the run exists: it can read the event's properties (\"property\") and traits, not the run",
                );
            } else if let Some(p) = var {
                let top = p.split('.').next().unwrap_or(p);
                if !vars.contains(top) {
                    let hint = closest(top, vars.iter().copied()).map_or(String::new(), |s| format!("; did you mean {s:?}?"));
                    diags.error(&at, "unknown_run_variable", &format!("no step sets run variable {top:?}{hint}"));
                }
            } else if let (RunRead::Ref(Ref::Event(p)), Some(known)) = (&read, known) {
                let top = p.split('.').next().unwrap_or(p);
                if !known.contains(&top) {
                    diags.error(
                        &at,
                        "unknown_ref",
                        &format!("the event that starts this journey's runs has only {}, not {top:?}", known.join(", ")),
                    );
                }
            }
        }
    }
    diags.1 = None;
}

/// A duration with an optional sign: `-3d`, `+12h`, `1w`.
fn signed_duration(o: &str) -> Result<Duration, String> {
    let (neg, body) = o.strip_prefix('-').map_or((false, o), |b| (true, b));
    let d = body.strip_prefix('+').unwrap_or(body).parse::<Duration>()?;
    Ok(if neg { Duration::millis(-d.as_millis()) } else { d })
}

/// Every step id a raw step object points to, with where it says so.
fn raw_edges(step: &Value) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    for key in ["next", "else", "timeout_next", "on_unreachable", "on_failure"] {
        if let Some(t) = step.get(key).and_then(Value::as_str) {
            out.push((key.to_owned(), t));
        }
    }
    for list in ["cases", "events", "paths"] {
        for (i, item) in step.get(list).and_then(Value::as_array).into_iter().flatten().enumerate() {
            if let Some(t) = item.get("next").and_then(Value::as_str) {
                out.push((format!("{list}/{i}/next"), t));
            }
        }
    }
    out
}

/// Unreachable steps, cycles that never wait, and paths longer than one transition may take.
/// Every walk here keeps its own stack: a journey of 100 000 steps is checked on a small
/// thread stack.
fn graph_checks(steps: &[Step], index: &HashMap<NodeId, usize>, diags: &mut Diagnostics) {
    let targets =
        |i: usize| -> Vec<usize> { steps[i].kind.edges().into_iter().filter_map(|(_, t)| t.and_then(|t| index.get(t).copied())).collect() };
    let mut seen = vec![false; steps.len()];
    let mut stack = vec![0];
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(targets(i));
        }
    }
    for (i, s) in steps.iter().enumerate() {
        if !seen[i] {
            diags.1 = Some(s.id.0.clone());
            diags.error(&format!("/steps/{i}"), "unreachable_step", &format!("step {:?} cannot be reached from the first step", s.id.0));
        }
    }
    // A calendar wait counting from a step needs every run that reaches it to have gone
    // through that step: walk from the first step around the anchor; reaching the wait
    // means some path skips it.
    for (i, s) in steps.iter().enumerate() {
        let Some(a) = Journey::anchor(&s.kind) else { continue };
        let Some(&anchor) = index.get(a) else { continue };
        if anchor == i || !seen[i] {
            continue;
        }
        let mut around = vec![false; steps.len()];
        let mut stack = if anchor == 0 { vec![] } else { vec![0] };
        while let Some(k) = stack.pop() {
            if k != anchor && !std::mem::replace(&mut around[k], true) {
                stack.extend(targets(k));
            }
        }
        if around[i] {
            diags.1 = Some(s.id.0.clone());
            diags.error(
                &format!("/steps/{i}/until/after"),
                "after_not_on_every_path",
                &format!("a run can reach this wait without going through step {:?}, so it would have no day to count from", a.0),
            );
        }
    }
    // A cycle among steps that do not wait would loop forever within one transition: a depth
    // first walk that stops at waiting steps, reporting each step an edge goes back to.
    // `hops[i]`: the most steps a transition may go through from step `i` before it waits or
    // ends (known once `i` is done).
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnStack,
        Done,
    }
    let mut state = vec![State::New; steps.len()];
    let mut hops = vec![0usize; steps.len()];
    let mut reported = vec![false; steps.len()];
    let mut cycles = false;
    for root in 0..steps.len() {
        if state[root] != State::New {
            continue;
        }
        // Each step on the walk, with the targets it has yet to visit (last first).
        let mut walk: Vec<(usize, Vec<usize>)> = Vec::new();
        let enter = |i: usize, walk: &mut Vec<(usize, Vec<usize>)>, state: &mut [State]| {
            if steps[i].kind.waits() {
                state[i] = State::Done;
            } else {
                state[i] = State::OnStack;
                walk.push((i, targets(i).into_iter().rev().collect()));
            }
        };
        enter(root, &mut walk, &mut state);
        while let Some((i, to_visit)) = walk.last_mut() {
            let i = *i;
            match to_visit.pop() {
                Some(t) => match state[t] {
                    State::New => enter(t, &mut walk, &mut state),
                    State::OnStack => {
                        if !reported[t] {
                            reported[t] = true;
                            cycles = true;
                            diags.1 = Some(steps[t].id.0.clone());
                            diags.error(
                                &format!("/steps/{t}"),
                                "cycle_without_wait",
                                &format!("step {:?} is part of a cycle with no wait or wait_for in it", steps[t].id.0),
                            );
                        }
                    }
                    State::Done => {}
                },
                None => {
                    let further = targets(i).iter().map(|&t| hops[t]).max().unwrap_or(0);
                    hops[i] = if matches!(steps[i].kind, StepKind::Exit) { 0 } else { 1 + further };
                    state[i] = State::Done;
                    walk.pop();
                }
            }
        }
    }
    // Without cycles, every path ends; one that goes through MAX_HOPS steps without waiting
    // would end its run with "step limit" every time.
    let longest = hops.iter().enumerate().max_by_key(|(i, h)| (**h, std::cmp::Reverse(*i)));
    if let Some((i, &n)) = longest.filter(|(_, h)| !cycles && **h >= MAX_HOPS) {
        diags.1 = Some(steps[i].id.0.clone());
        diags.error(
            &format!("/steps/{i}"),
            "too_many_steps_without_wait",
            &format!(
                "from step {:?} a run goes through {n} steps without waiting; one transition takes at most {MAX_HOPS}, then the run exits",
                steps[i].id.0
            ),
        );
    }
    diags.1 = None;
}
