//! The event and trait names a journey relies on, and warnings for those no data has had.

use std::collections::BTreeSet;

use super::*;
use crate::condition::Subject;

/// What a name in a journey names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// An event, by the name `Event::match_name` gives it (`Page Viewed` for page calls).
    Event,
    /// A profile trait, as written (a dotted path such as `address.city` for conditions).
    Trait,
}

/// One place a journey names an event or a trait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRef {
    pub kind: NameKind,
    pub name: String,
    /// JSON pointer into the document.
    pub path: String,
    /// The step it is in, if any.
    pub node: Option<String>,
}

impl Journey {
    /// The segments the journey relies on, each with where (a JSON pointer) and its step: the
    /// segment entry's, and every membership condition's (at the condition that holds it).
    pub fn segments(&self) -> Vec<(crate::ids::SegmentId, String, Option<String>)> {
        let mut out = Vec::new();
        if let Trigger::Event(EventMatch { event, filter: Some(Condition::Compare { subject: Subject::Property(p), value, .. }) }) =
            &self.entry.trigger
            && (event == crate::segment::ENTERED || event == crate::segment::EXITED)
            && p == "segment"
            && let crate::condition::Operand::Value(Value::String(id)) = value
        {
            out.push((crate::ids::SegmentId(id.clone()), "/entry/segment".to_owned(), None));
        }
        for (c, path, node) in self.conditions() {
            for id in c.segments() {
                out.push((id, path.clone(), node.map(|n| n.0.clone())));
            }
        }
        out
    }

    /// Every condition of the journey where it is written (history queries' `where` are
    /// inside them): the entry filter or audience, exits, the goal, `wait_for` events and
    /// branch cases.
    pub(crate) fn conditions(&self) -> Vec<(&Condition, String, Option<&NodeId>)> {
        let mut out = Vec::new();
        match &self.entry.trigger {
            Trigger::Event(EventMatch { filter: Some(f), .. }) => out.push((f, "/entry/filter".to_owned(), None)),
            Trigger::Schedule { audience: Some(a), .. } => out.push((a, "/entry/audience".to_owned(), None)),
            _ => {}
        }
        for (i, e) in self.exits.iter().enumerate() {
            out.extend(e.filter.as_ref().map(|f| (f, format!("/exit/{i}/filter"), None)));
        }
        if let Some(f) = self.goal.as_ref().and_then(|g| g.on.filter.as_ref()) {
            out.push((f, "/goal/filter".to_owned(), None));
        }
        for (i, s) in self.steps.iter().enumerate() {
            match &s.kind {
                StepKind::WaitFor { paths, .. } => {
                    for (j, p) in paths.iter().enumerate() {
                        out.extend(p.on.filter.as_ref().map(|f| (f, format!("/steps/{i}/events/{j}/filter"), Some(&s.id))));
                    }
                }
                StepKind::Branch { cases, .. } => {
                    for (j, (when, _)) in cases.iter().enumerate() {
                        out.push((when, format!("/steps/{i}/cases/{j}/when"), Some(&s.id)));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Every event name and trait name the journey reads, in document order, each with its
    /// JSON pointer and step: the entry's event (or its `trait_change` or `date` trait), exit
    /// and goal events, `wait_for` events, `until_trait` waits, the traits an `update`
    /// increments or unsets, and in every condition the traits compared and the events
    /// history queries count. (Traits an update sets or a webhook saves are written, not read.)
    pub fn names(&self) -> Vec<NameRef> {
        let mut out = Vec::new();
        let push = |out: &mut Vec<NameRef>, kind, name: &str, path: String, node: Option<&NodeId>| {
            out.push(NameRef { kind, name: name.to_owned(), path, node: node.map(|n| n.0.clone()) });
        };
        let event_match = |out: &mut Vec<NameRef>, m: &EventMatch, path: &str, node: Option<&NodeId>| {
            push(out, NameKind::Event, &m.event, format!("{path}/event"), node);
            if let Some(f) = &m.filter {
                self.condition_names(f, &format!("{path}/filter"), node, out);
            }
        };
        match &self.entry.trigger {
            Trigger::Event(m) => event_match(&mut out, m, "/entry", None),
            Trigger::TraitChange { name, .. } => push(&mut out, NameKind::Trait, name, "/entry/trait_change/trait".into(), None),
            Trigger::Date { name, .. } => push(&mut out, NameKind::Trait, name, "/entry/date/trait".into(), None),
            Trigger::Schedule { audience: Some(a), .. } => self.condition_names(a, "/entry/audience", None, &mut out),
            Trigger::Api | Trigger::Schedule { audience: None, .. } => {}
        }
        for (i, e) in self.exits.iter().enumerate() {
            event_match(&mut out, e, &format!("/exit/{i}"), None);
        }
        if let Some(g) = &self.goal {
            event_match(&mut out, &g.on, "/goal", None);
        }
        for (i, s) in self.steps.iter().enumerate() {
            let node = Some(&s.id);
            match &s.kind {
                StepKind::WaitFor { paths, .. } => {
                    for (j, p) in paths.iter().enumerate() {
                        event_match(&mut out, &p.on, &format!("/steps/{i}/events/{j}"), node);
                    }
                }
                StepKind::Branch { cases, .. } => {
                    for (j, (when, _)) in cases.iter().enumerate() {
                        self.condition_names(when, &format!("/steps/{i}/cases/{j}/when"), node, &mut out);
                    }
                }
                StepKind::Wait { until: WaitUntil::Trait { name, .. }, .. } => {
                    push(&mut out, NameKind::Trait, name, format!("/steps/{i}/until_trait"), node);
                }
                StepKind::Update { update, .. } => {
                    for k in update.increment.keys() {
                        push(&mut out, NameKind::Trait, k, format!("/steps/{i}/increment/{}", pointer_token(k)), node);
                    }
                    for (j, k) in update.unset.iter().enumerate() {
                        push(&mut out, NameKind::Trait, k, format!("/steps/{i}/unset/{j}"), node);
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// The names in one condition (its depth is bounded by `condition::MAX_DEPTH`).
    fn condition_names(&self, c: &Condition, path: &str, node: Option<&NodeId>, out: &mut Vec<NameRef>) {
        let name = |kind, name: &str, path: String| NameRef { kind, name: name.to_owned(), path, node: node.map(|n| n.0.clone()) };
        match c {
            Condition::All(items) | Condition::Any(items) => {
                let key = if matches!(c, Condition::All(_)) { "all" } else { "any" };
                for (i, item) in items.iter().enumerate() {
                    self.condition_names(item, &format!("{path}/{key}/{i}"), node, out);
                }
            }
            Condition::Not(inner) => self.condition_names(inner, &format!("{path}/not"), node, out),
            Condition::Compare { subject: Subject::Trait(t), .. } => out.push(name(NameKind::Trait, t, format!("{path}/trait"))),
            Condition::History { query, .. } => {
                if let Some(q) = self.history.get(*query) {
                    out.push(name(NameKind::Event, &q.event, format!("{path}/history/event")));
                    if let Some(f) = &q.filter {
                        self.condition_names(f, &format!("{path}/history/where"), node, out);
                    }
                }
            }
            Condition::Compare { subject: Subject::Property(_) | Subject::Run(_), .. }
            | Condition::Clock { .. }
            | Condition::Reachable(_)
            | Condition::Segment(_) => {}
        }
    }

    /// Warnings for the names this journey reads that no data has had yet, most likely typos:
    /// `unseen_event` for each event name (`names`) not in `events`, `unseen_trait` for each
    /// trait whose first path segment (`address` of `address.city`) is in neither `traits` nor
    /// the traits this journey writes itself (`update` sets and increments, webhook saves).
    /// Each has the reference's path and step, and a "did you mean" from the seen names when
    /// one is close (case is ignored there, not in the comparison).
    ///
    /// `events` holds every event name the event log has had, as `Event::match_name` gives
    /// them; `traits` every top-level trait name any profile has had. Both are the caller's
    /// to keep (the store records them as events and traits arrive). With nothing recorded
    /// yet (a new installation) every name is reported. The result is only warnings: a
    /// journey may rightly wait for an event nobody has sent yet.
    pub fn unseen(&self, events: &BTreeSet<String>, traits: &BTreeSet<String>) -> Vec<Diagnostic> {
        let mut written: BTreeSet<&str> = BTreeSet::new();
        for s in &self.steps {
            match &s.kind {
                StepKind::Update { update, .. } => written.extend(update.set.keys().chain(update.increment.keys()).map(String::as_str)),
                StepKind::Webhook { save, .. } => written.extend(save.keys().map(String::as_str)),
                _ => {}
            }
        }
        let mut diags = Diagnostics::default();
        for r in self.names() {
            diags.1 = r.node.clone();
            match r.kind {
                NameKind::Event if !events.contains(&r.name) => {
                    let hint = suggest::closest(&r.name, events.iter().map(String::as_str))
                        .map_or(String::new(), |s| format!("; did you mean {s:?}?"));
                    diags.warning(&r.path, "unseen_event", &format!("no event named {:?} has been seen yet{hint}", r.name));
                }
                NameKind::Trait => {
                    let (top, rest) = r.name.split_once('.').map_or((r.name.as_str(), None), |(t, rest)| (t, Some(rest)));
                    if traits.contains(top) || written.contains(top) {
                        continue;
                    }
                    let hint = suggest::closest(top, traits.iter().map(String::as_str))
                        .map(|s| rest.map_or_else(|| s.to_owned(), |rest| format!("{s}.{rest}")))
                        .map_or(String::new(), |s| format!("; did you mean {s:?}?"));
                    diags.warning(&r.path, "unseen_trait", &format!("no profile has had a trait {top:?} yet{hint}"));
                }
                NameKind::Event => {}
            }
        }
        diags.0
    }
}
