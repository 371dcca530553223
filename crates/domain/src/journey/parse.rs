//! Parsing and validating journey documents: every diagnostic at once, each tied to a node.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::*;
use crate::zone;

/// Ids chosen by authors (journeys, steps, templates, sources): 1-100 of a-z, 0-9, - and _.
pub fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.len() <= 100 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

struct Parser {
    diags: Diagnostics,
    history: Vec<HistoryQuery>,
}

impl Parser {
    fn condition(&mut self, v: Option<&Value>, path: &str) -> Option<Condition> {
        let c = Condition::parse(v?, path, &mut self.diags, &mut self.history)?;
        if let Some(why) = c.contradiction() {
            self.diags.error(path, "impossible_condition", &format!("this condition can never hold: {why}"));
        }
        Some(c)
    }

    fn event_match(&mut self, v: &Value, path: &str) -> Option<EventMatch> {
        let event = v.get("event").and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        if event.is_none() {
            self.diags.error(&format!("{path}/event"), "missing_field", "an event match needs an \"event\" name");
        }
        let filter = self.condition(v.get("filter"), &format!("{path}/filter"));
        if v.get("filter").is_some() && filter.is_none() {
            return None;
        }
        Some(EventMatch { event: event?.to_owned(), filter })
    }

    fn entry(&mut self, e: &Value) -> Option<Entry> {
        let trigger = if let Some(t) = e.get("trait_change") {
            let name = t.get("trait").and_then(Value::as_str).filter(|n| !n.is_empty());
            if name.is_none() {
                self.diags.error("/entry/trait_change/trait", "missing_field", "a trait_change entry names its \"trait\"");
            }
            name.map(|n| Trigger::TraitChange { name: n.to_owned(), from: t.get("from").cloned(), to: t.get("to").cloned() })
        } else if e.get("api").and_then(Value::as_bool) == Some(true) {
            Some(Trigger::Api)
        } else if let Some(sch) = e.get("schedule") {
            let cron = match sch.get("cron").and_then(Value::as_str).map(crate::cron::Cron::parse) {
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
            let zone = self.zone(sch.get("timezone"), "/entry/schedule/timezone");
            let before = self.history.len();
            let audience = self.condition(e.get("audience"), "/entry/audience");
            if self.history.len() > before {
                self.diags.error("/entry/audience", "condition_invalid", "a schedule's audience reads traits and the clock, not history");
            }
            Some(Trigger::Schedule { cron: cron?, timezone: zone?.unwrap_or_else(|| "UTC".to_owned()), audience })
        } else if let Some(d) = e.get("date") {
            let name = d.get("trait").and_then(Value::as_str).filter(|n| !n.is_empty());
            if name.is_none() {
                self.diags.error("/entry/date/trait", "missing_field", "a date entry names its date \"trait\"");
            }
            let offset = match d.get("offset").and_then(Value::as_str) {
                None => Some(Duration::ZERO),
                Some(o) => signed_duration(o).map_err(|e| self.diags.error("/entry/date/offset", "invalid_duration", &e)).ok(),
            };
            let at = d.get("at").and_then(Value::as_str).unwrap_or("09:00");
            let hm = at.split_once(':').and_then(|(h, m)| Some((h.parse::<i8>().ok()?, m.parse::<i8>().ok()?)));
            let hm = match hm {
                Some((h, m)) if at.len() == 5 && (0..24).contains(&h) && (0..60).contains(&m) && m % 15 == 0 => Some((h, m)),
                _ => {
                    self.diags.error(
                        "/entry/date/at",
                        "invalid_field",
                        "\"at\" is a 24-hour \"HH:MM\" on a quarter hour, such as \"09:00\"",
                    );
                    None
                }
            };
            match (name, offset, hm) {
                (Some(n), Some(offset), Some((hour, minute))) => Some(Trigger::Date { name: n.to_owned(), offset, hour, minute }),
                _ => None,
            }
        } else {
            self.event_match(e, "/entry").map(Trigger::Event)
        };
        let reentry = match e.get("reentry") {
            None | Some(Value::Null) => Some(Reentry::Always),
            Some(Value::String(s)) if s == "always" => Some(Reentry::Always),
            Some(Value::String(s)) if s == "never" => Some(Reentry::Never),
            Some(Value::Object(o)) if o.contains_key("after") => self.duration(o, "after", "/entry/reentry").map(Reentry::After),
            Some(_) => {
                self.diags.error("/entry/reentry", "invalid_field", "reentry is \"always\", \"never\" or {\"after\": \"30d\"}");
                None
            }
        };
        let limit = match e.get("limit") {
            None | Some(Value::Null) => Some(None),
            Some(v) => match v.as_i64().filter(|n| *n >= 1) {
                Some(n) => Some(Some(n)),
                None => {
                    self.diags.error("/entry/limit", "invalid_field", "limit is a whole number of runs, at least 1");
                    None
                }
            },
        };
        let holdout = match e.get("holdout") {
            None | Some(Value::Null) => Some(0),
            Some(v) => match v.as_u64().filter(|n| *n <= 100) {
                Some(n) => Some(n as u8),
                None => {
                    self.diags.error("/entry/holdout", "invalid_field", "holdout is a whole percent from 0 to 100");
                    None
                }
            },
        };
        let concurrent = match e.get("concurrent") {
            None | Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.diags.error("/entry/concurrent", "invalid_field", "concurrent is true or false");
                None
            }
        };
        Some(Entry { trigger: trigger?, reentry: reentry?, limit: limit?, holdout: holdout?, concurrent: concurrent? })
    }

    fn next(&mut self, obj: &Map, key: &str, path: &str) -> Option<NodeId> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(NodeId(s.clone())),
            Some(_) => {
                self.diags.error(&format!("{path}/{key}"), "invalid_field", &format!("\"{key}\" must be a step id"));
                None
            }
        }
    }

    fn duration(&mut self, obj: &Map, key: &str, path: &str) -> Option<Duration> {
        match obj.get(key).and_then(Value::as_str).map(str::parse::<Duration>) {
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

    /// `duration`, or `until: {"time": "09:00", "timezone": ...}`, or `until_trait` + `offset`.
    fn wait_until(&mut self, obj: &Map, path: &str) -> Option<WaitUntil> {
        let given = ["duration", "until", "until_trait"].iter().filter(|k| obj.contains_key(**k)).count();
        if given != 1 {
            self.diags.error(
                path,
                "invalid_wait",
                "a wait has exactly one of \"duration\", \"until\" ({\"time\": \"09:00\"}) or \"until_trait\"",
            );
            return None;
        }
        if obj.contains_key("duration") {
            return self.duration(obj, "duration", path).map(WaitUntil::For);
        }
        if let Some(until) = obj.get("until") {
            let time = until.get("time").and_then(Value::as_str).unwrap_or("");
            let parsed = time.split_once(':').and_then(|(h, m)| Some((h.parse::<i8>().ok()?, m.parse::<i8>().ok()?)));
            let zone = self.zone(until.get("timezone"), &format!("{path}/until/timezone"));
            return match parsed {
                Some((hour, minute)) if (0..24).contains(&hour) && (0..60).contains(&minute) && time.len() == 5 => {
                    Some(WaitUntil::TimeOfDay { hour, minute, zone: zone? })
                }
                _ => {
                    self.diags.error(&format!("{path}/until/time"), "invalid_field", "\"time\" is a 24-hour \"HH:MM\" such as \"09:00\"");
                    None
                }
            };
        }
        let name = obj.get("until_trait").and_then(Value::as_str).filter(|n| !n.is_empty());
        let offset = match obj.get("offset").and_then(Value::as_str) {
            None => Some(Duration::ZERO),
            Some(o) => signed_duration(o).map_err(|e| self.diags.error(&format!("{path}/offset"), "invalid_duration", &e)).ok(),
        };
        if name.is_none() {
            self.diags.error(
                &format!("{path}/until_trait"),
                "missing_field",
                "\"until_trait\" names a date trait such as \"renewal_date\"",
            );
        }
        Some(WaitUntil::Trait { name: name?.to_owned(), offset: offset? })
    }

    fn string(&mut self, obj: &Map, key: &str, path: &str) -> Option<String> {
        match obj.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            Some(s) => Some(s.to_owned()),
            None => {
                self.diags.error(&format!("{path}/{key}"), "missing_field", &format!("this step needs \"{key}\""));
                None
            }
        }
    }

    fn step(&mut self, v: &Value, path: &str) -> Option<StepKind> {
        let Some(obj) = v.as_object() else {
            self.diags.error(path, "invalid_step", "a step must be an object");
            return None;
        };
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or("");
        Some(match kind {
            "wait" => {
                let until = self.wait_until(obj, path);
                StepKind::Wait { until: until?, next: self.next(obj, "next", path) }
            }
            "split" => {
                let mut paths = Vec::new();
                match obj.get("paths").and_then(Value::as_array) {
                    Some(list) if list.len() >= 2 => {
                        for (i, p) in list.iter().enumerate() {
                            let ppath = format!("{path}/paths/{i}");
                            let name = p.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
                            let weight = p.get("weight").and_then(Value::as_u64).filter(|w| (1..=100).contains(w));
                            if name.is_none() {
                                self.diags.error(
                                    &format!("{ppath}/name"),
                                    "missing_field",
                                    "each split path needs a \"name\" (the variant recorded)",
                                );
                            }
                            if weight.is_none() {
                                self.diags.error(
                                    &format!("{ppath}/weight"),
                                    "invalid_weight",
                                    "a split weight is a whole percent from 1 to 100",
                                );
                            }
                            let next = p.as_object().and_then(|o| self.next(o, "next", &ppath));
                            if let (Some(name), Some(weight)) = (name, weight) {
                                if paths.iter().any(|q: &SplitPath| q.name == name) {
                                    self.diags.error(&format!("{ppath}/name"), "duplicate_id", &format!("variant {name:?} is named twice"));
                                }
                                paths.push(SplitPath { name: name.to_owned(), weight: weight as u32, next });
                            }
                        }
                        let total: u32 = paths.iter().map(|p| p.weight).sum();
                        if paths.len() == list.len() && total != 100 {
                            self.diags.error(
                                &format!("{path}/paths"),
                                "split_weights",
                                &format!("split weights add up to {total}, not 100"),
                            );
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
            "update" => {
                let update: Result<TraitUpdate, _> = serde_json::from_value(Value::Object(obj.clone()));
                let update = match update {
                    Ok(u) if !(u.set.is_empty() && u.increment.is_empty() && u.unset.is_empty()) => {
                        for (k, v) in &u.increment {
                            if !v.is_number() {
                                self.diags.error(&format!("{path}/increment/{k}"), "invalid_field", "increment by a number");
                            }
                        }
                        Some(u)
                    }
                    Ok(_) => {
                        self.diags.error(
                            path,
                            "missing_field",
                            "update needs \"set\" (object), \"increment\" (object of numbers) or \"unset\" (list)",
                        );
                        None
                    }
                    Err(e) => {
                        self.diags.error(path, "invalid_field", &format!("update: {e}"));
                        None
                    }
                };
                StepKind::Update { update: update?, next: self.next(obj, "next", path) }
            }
            "wait_for" => {
                let mut paths = Vec::new();
                match obj.get("events").and_then(Value::as_array) {
                    Some(list) if !list.is_empty() => {
                        for (i, p) in list.iter().enumerate() {
                            let ppath = format!("{path}/events/{i}");
                            let on = self.event_match(p, &ppath);
                            let next = p.as_object().and_then(|o| self.next(o, "next", &ppath));
                            if let Some(on) = on {
                                paths.push(WaitPath { on, next });
                            }
                        }
                    }
                    _ => self.diags.error(
                        &format!("{path}/events"),
                        "missing_field",
                        "wait_for needs \"events\": a list of {\"event\", \"filter\", \"next\"}",
                    ),
                }
                let timeout = self.duration(obj, "timeout", path);
                StepKind::WaitFor { paths, timeout: timeout?, timeout_next: self.next(obj, "timeout_next", path) }
            }
            "branch" => {
                let mut cases = Vec::new();
                match obj.get("cases").and_then(Value::as_array) {
                    Some(list) if !list.is_empty() => {
                        for (i, c) in list.iter().enumerate() {
                            let cpath = format!("{path}/cases/{i}");
                            let when = self.condition(c.get("when"), &format!("{cpath}/when"));
                            if c.get("when").is_none() {
                                self.diags.error(&format!("{cpath}/when"), "missing_field", "a branch case needs \"when\"");
                            }
                            let next = c.as_object().and_then(|o| self.next(o, "next", &cpath));
                            if let Some(when) = when {
                                cases.push((when, next));
                            }
                        }
                    }
                    _ => self.diags.error(
                        &format!("{path}/cases"),
                        "missing_field",
                        "branch needs \"cases\": a list of {\"when\", \"next\"}",
                    ),
                }
                StepKind::Branch { cases, otherwise: self.next(obj, "else", path) }
            }
            "send" => {
                let channel = match obj.get("channel").and_then(Value::as_str).unwrap_or("email") {
                    "email" => Some(Channel::Email),
                    other => {
                        self.diags.error(
                            &format!("{path}/channel"),
                            "unknown_channel",
                            &format!("unknown channel {other:?}; available: email"),
                        );
                        None
                    }
                };
                let template = self.string(obj, "template", path);
                StepKind::Send { channel: channel?, template: TemplateId(template?), next: self.next(obj, "next", path) }
            }
            "webhook" => {
                let url = self.string(obj, "url", path);
                if let Some(u) = &url
                    && !(u.starts_with("http://") || u.starts_with("https://"))
                {
                    self.diags.error(&format!("{path}/url"), "invalid_url", "a webhook url must start with http:// or https://");
                }
                let method = obj.get("method").and_then(Value::as_str).unwrap_or("POST").to_ascii_uppercase();
                if !["POST", "PUT", "PATCH", "GET", "DELETE"].contains(&method.as_str()) {
                    self.diags.error(&format!("{path}/method"), "invalid_field", "method must be one of POST, PUT, PATCH, GET, DELETE");
                }
                let mut save = BTreeMap::new();
                match obj.get("save") {
                    None | Some(Value::Null) => {}
                    Some(Value::Object(map)) => {
                        for (name, pointer) in map {
                            match pointer.as_str() {
                                Some(p) if p.is_empty() || p.starts_with('/') => {
                                    save.insert(name.clone(), p.to_owned());
                                }
                                _ => self.diags.error(
                                    &format!("{path}/save/{name}"),
                                    "invalid_field",
                                    "save maps a trait to a JSON pointer into the response, such as \"/data/score\"",
                                ),
                            }
                        }
                    }
                    Some(_) => self.diags.error(&format!("{path}/save"), "invalid_field", "save is {\"trait\": \"/json/pointer\"}"),
                }
                StepKind::Webhook { url: url?, method, body: obj.get("body").cloned(), save, next: self.next(obj, "next", path) }
            }
            "exit" => StepKind::Exit,
            other => {
                self.diags.error(
                    &format!("{path}/type"),
                    "unknown_step_type",
                    &format!("unknown step type {other:?}; available: wait, wait_for, branch, split, send, update, webhook, exit"),
                );
                return None;
            }
        })
    }
}

impl Journey {
    /// Parses and validates a document, returning every diagnostic at once.
    pub fn parse(doc: &Value) -> Result<Journey, Vec<Diagnostic>> {
        let mut p = Parser { diags: Diagnostics::default(), history: Vec::new() };
        let Some(obj) = doc.as_object() else {
            p.diags.error("", "invalid_document", "a journey document must be a JSON object");
            return Err(p.diags.0);
        };
        let id = obj.get("id").and_then(Value::as_str).unwrap_or("");
        if !is_slug(id) {
            p.diags.error("/id", "invalid_id", "\"id\" must be 1-100 characters of a-z, 0-9, - and _");
        }
        let name = obj.get("name").and_then(Value::as_str).unwrap_or(id).to_owned();
        let entry = match obj.get("entry") {
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
        let goal = match obj.get("goal") {
            None | Some(Value::Null) => None,
            Some(g) => {
                let on = p.event_match(g, "/goal");
                let within = match g.get("within") {
                    None => Some(None),
                    Some(_) => g.as_object().and_then(|o| p.duration(o, "within", "/goal")).map(Some),
                };
                let exit = g.get("exit").and_then(Value::as_bool).unwrap_or(false);
                match (on, within) {
                    (Some(on), Some(within)) => Some(Goal { on, within, exit }),
                    _ => None,
                }
            }
        };
        let timezone = p.zone(obj.get("timezone"), "/timezone").flatten().unwrap_or_else(|| "UTC".to_owned());
        let mut exits = Vec::new();
        match obj.get("exit") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, e) in list.iter().enumerate() {
                    if let Some(m) = p.event_match(e, &format!("/exit/{i}")) {
                        exits.push(m);
                    }
                }
            }
            Some(_) => p.diags.error("/exit", "invalid_field", "\"exit\" must be a list of event matches"),
        }
        let mut steps = Vec::new();
        let mut index = HashMap::new();
        let mut declared = HashSet::new();
        match obj.get("steps").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, s) in list.iter().enumerate() {
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
                p.diags.1 = None;
            }
            _ => p.diags.error("/steps", "missing_field", "a journey needs a non-empty list of \"steps\""),
        }
        // Dangling edges, read from the document so that steps with other problems are checked too.
        for (i, raw) in obj.get("steps").and_then(Value::as_array).into_iter().flatten().enumerate() {
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
        p.diags.1 = None;
        if p.diags.0.is_empty() && !steps.is_empty() {
            graph_checks(&steps, &index, &mut p.diags);
        }
        match (entry, p.diags.0.is_empty()) {
            (Some(entry), true) => {
                let reads_clock = mentions_clock(doc);
                Ok(Journey {
                    id: JourneyId(id.to_owned()),
                    name,
                    entry,
                    exits,
                    goal,
                    timezone,
                    steps,
                    history: p.history,
                    reads_clock,
                    index,
                })
            }
            _ => Err(p.diags.0),
        }
    }
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
    for key in ["next", "else", "timeout_next"] {
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

/// Unreachable steps and cycles that never wait.
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
    // A cycle among steps that do not wait would loop forever within one transition.
    let mut state = vec![0u8; steps.len()]; // 0 new, 1 on stack, 2 done
    let mut reported = HashSet::new();
    fn visit(
        i: usize,
        steps: &[Step],
        targets: &dyn Fn(usize) -> Vec<usize>,
        state: &mut [u8],
        reported: &mut HashSet<usize>,
        diags: &mut Diagnostics,
    ) {
        if steps[i].kind.waits() {
            state[i] = 2;
            return;
        }
        state[i] = 1;
        for t in targets(i) {
            match state[t] {
                0 => visit(t, steps, targets, state, reported, diags),
                1 if reported.insert(t) => {
                    diags.1 = Some(steps[t].id.0.clone());
                    diags.error(
                        &format!("/steps/{t}"),
                        "cycle_without_wait",
                        &format!("step {:?} is part of a cycle with no wait or wait_for in it", steps[t].id.0),
                    );
                }
                _ => {}
            }
        }
        state[i] = 2;
    }
    for i in 0..steps.len() {
        if state[i] == 0 {
            visit(i, steps, &targets, &mut state, &mut reported, diags);
        }
    }
    diags.1 = None;
}

/// Whether any object of the document has a `clock` key, as `clock` conditions do (a
/// generous test: it may say yes for a journey that only names something `clock`).
fn mentions_clock(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.contains_key("clock") || o.values().any(mentions_clock),
        Value::Array(items) => items.iter().any(mentions_clock),
        _ => false,
    }
}
