//! Backtests: replay the stored events of a period through a draft journey, with a simulated
//! clock, on a scratch copy of the engine, and report what the journey would have done.
//!
//! Because `step` is pure and the replay runs the same pipeline (identity, profiles, history,
//! timers), a backtest over the events a live journey saw reports what it did. Messages go
//! through the dispatcher with a deliverer that sends nothing (`Deliverer::simulated`, the
//! live store's templates), so one that would fail live fails here too and every outcome
//! reaches its run as it does live; and each entry event of the period that started no run
//! is explained (`explain::entry_verdict`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use domain::event::Event;
use domain::ids::{EventSeq, Identity, JourneyId, ProfileId, SourceId};
use domain::journey::{Effect, EventMatch, Journey, RunStatus, Trigger};
use domain::time::Timestamp;
use domain::trace::{TraceKind, TraceLine};
use serde_json::Value;
use store::{OutboxEntry, OutboxStatus, SqliteStore, Store, StoredEvent, TraceRecord, Tx};

use crate::explain::{Blocked, Verdict};
use crate::{Engine, Error, ManualClock, Options};

/// How many of the commonest filter comparisons a report keeps.
pub const TOP_REASONS: usize = 5;

/// What a journey did (or would have done) over a period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Events received in the period, `[from, to]`, all people (backtests; 0 for live).
    pub events: usize,
    /// Events received before `from`, replayed first so that profiles, history and
    /// identities are as they were when the period began (backtests; 0 for live).
    pub warmup_events: usize,
    /// Runs entered in the period.
    pub runs: usize,
    /// Runs in the control group (holdout).
    pub control: usize,
    /// Runs still waiting at the end of the period, by step.
    pub waiting: BTreeMap<String, usize>,
    /// How many times runs reached each step (a step reached twice counts twice; the lines a
    /// step writes do not matter).
    pub visits: BTreeMap<String, usize>,
    /// Messages decided, by template (emails) or URL (webhooks).
    pub sends: BTreeMap<String, usize>,
    /// Messages of `sends` that failed (live) or would fail (backtests: dispatched without
    /// sending), by reason.
    pub failed: BTreeMap<String, usize>,
    /// Ended runs, by reason.
    pub exits: BTreeMap<String, usize>,
    /// Runs that reached the goal.
    pub conversions: usize,
    /// A few people's paths: their runs' traces, transition by transition.
    pub samples: Vec<(String, Vec<String>)>,
    /// What the entry events of the period did (backtests of journeys entered by an event;
    /// empty otherwise).
    pub entries: Entries,
}

/// The entry events of a period: how many started a run, and why the others did not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entries {
    /// Events received in the period with the entry's event name.
    pub events: usize,
    /// Those that started a run.
    pub entered: usize,
    /// Those whose entry filter was false.
    pub filtered: usize,
    /// The filter's comparisons that were false, with the values seen, and how often,
    /// commonest first (at most `TOP_REASONS`).
    pub filter_reasons: Vec<(String, usize)>,
    /// The person's run was waiting (the entry is not `concurrent`).
    pub waiting: usize,
    /// The re-entry rule said no (`never`, or `after` not yet).
    pub reentry: usize,
    /// The journey's entry limit was reached.
    pub limit: usize,
    /// No reason found (an event without a person, or the person's state changed within the
    /// same instant).
    pub unexplained: usize,
}

/// The steps a run reached, in order, from its trace lines' steps: one per visit, however
/// many lines the step wrote (a `branch` writes one per case it tries). A transition that
/// resumes a waiting run begins with lines about the step it waited at (`got`, `wait over`,
/// `timed out`, a message's outcome, an ignored event, and the run variables a `wait_for`
/// path sets), which are no new visit; lines about the run as a whole (entry, the goal, the
/// engine's exits) name no step.
pub fn steps_reached(traces: &[TraceRecord]) -> Vec<&str> {
    let mut out = Vec::new();
    for record in traces {
        let mut resumed = None;
        let mut last = None;
        for line in &record.lines {
            let Some(node) = line.node.as_ref() else { continue };
            if matches!(line.kind, TraceKind::Got | TraceKind::WaitOver | TraceKind::TimedOut | TraceKind::Outcome | TraceKind::Ignored) {
                resumed = Some(node);
                continue;
            }
            if resumed == Some(node) && line.kind == TraceKind::Run {
                continue;
            }
            resumed = None;
            if last != Some(node) {
                out.push(node.as_str());
                last = Some(node);
            }
        }
    }
    out
}

/// A failure's reason, the same for every person: without the names a template could have
/// used (Liquid lists the person's own traits there).
fn reason(error: &str) -> String {
    error.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("available")).collect::<Vec<_>>().join(" ")
}

/// The messages journey `id`'s runs `runs` decided in `[from, to]` (not trait updates).
fn messages(
    tx: &mut dyn Tx,
    runs: &std::collections::HashSet<domain::ids::RunId>,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<OutboxEntry>, Error> {
    let mut all = tx.messages(None, None, None, usize::MAX)?;
    all.retain(|m| {
        m.run.is_some_and(|run| runs.contains(&run))
            && m.created_at >= from
            && m.created_at <= to
            && !matches!(m.payload.effect, Effect::Update { .. })
    });
    Ok(all)
}

/// Summarises what journey `id` did in `store` for runs entered in `[from, to]`. Failed
/// messages are those the store records as failed (the live dispatcher's outcome).
pub fn report(store: &dyn Store, id: &JourneyId, from: Timestamp, to: Timestamp) -> Result<Report, Error> {
    let mut tx = store.read()?;
    let mut r = Report::default();
    let mut samples: BTreeMap<ProfileId, Vec<String>> = BTreeMap::new();
    let runs = tx.journey_runs(id)?;
    let ids: std::collections::HashSet<domain::ids::RunId> = runs.iter().map(|r| r.id).collect();
    for run in runs {
        if run.run.entered_at < from || run.run.entered_at > to {
            continue;
        }
        r.runs += 1;
        r.control += usize::from(run.run.control);
        r.conversions += usize::from(run.run.converted_at.is_some());
        match run.run.status {
            RunStatus::Waiting => *r.waiting.entry(run.run.node.as_ref().map_or("(start)".into(), |n| n.0.clone())).or_default() += 1,
            RunStatus::Exited => *r.exits.entry(run.run.exit_reason.clone().unwrap_or_default()).or_default() += 1,
        }
        let traces = tx.traces(run.id)?;
        for step in steps_reached(&traces) {
            *r.visits.entry(step.to_owned()).or_default() += 1;
        }
        if samples.contains_key(&run.profile) || samples.len() < 5 {
            let text = |t: &TraceRecord| t.lines.iter().map(TraceLine::as_str).collect::<Vec<_>>().join(" / ");
            samples.entry(run.profile).or_default().extend(traces.iter().map(|t| format!("{}: {}", t.at, text(t))));
        }
    }
    for (profile, path) in samples {
        let name = tx.identities(profile)?.first().map_or_else(|| profile.to_string(), |i| i.to_string());
        r.samples.push((name, path));
    }
    for m in messages(&mut *tx, &ids, from, to)? {
        let what = match &m.payload.effect {
            Effect::Send { template, .. } => template.0.clone(),
            Effect::Webhook { url, .. } => url.clone(),
            Effect::Task { task, .. } => format!("task: {}", task.title),
            Effect::Update { .. } => continue,
        };
        *r.sends.entry(what).or_default() += 1;
        if m.status == OutboxStatus::Failed {
            *r.failed.entry(reason(m.last_error.as_deref().unwrap_or("failed"))).or_default() += 1;
        }
    }
    Ok(r)
}

/// Replays `source`'s events up to `to` on a scratch store in `scratch` (an empty directory),
/// with `document` published at `from`, and reports what it did in `[from, to]`. Nothing is
/// sent. `progress(done, total)` is called as events are replayed.
pub async fn run(
    source: Arc<dyn Store>,
    document: &Value,
    from: Timestamp,
    to: Timestamp,
    scratch: &Path,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Report, Error> {
    let journey =
        Journey::parse(document).map_err(|d| Error::Invalid(format!("the journey has {} problem(s); validate it first", d.len())))?;
    let reader = source.clone();
    let events = tokio::task::spawn_blocking(move || -> Result<Vec<StoredEvent>, store::Error> {
        let mut all = Vec::new();
        let mut after = EventSeq(0);
        let mut tx = reader.read()?;
        loop {
            let page = tx.events_after(after, 10_000)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            all.extend(page.into_iter().filter(|e| e.source.0 != crate::core::INTERNAL_SOURCE && e.event.received_at <= to));
        }
        Ok(all)
    })
    .await
    .map_err(|e| Error::Invalid(format!("reading events: {e}")))??;
    let scratch_store: Arc<dyn Store> = Arc::new(SqliteStore::open(&scratch.join("backtest.db"))?);
    copy_templates(&*source, &*scratch_store)?;
    let start = events.first().map_or(from, |e| e.event.received_at.min(from));
    let clock = Arc::new(ManualClock::new(start));
    // Messages go through a dispatcher that sends nothing (emails and webhooks are rendered
    // and captured), so their outcomes reach the runs as they do live, and a message that
    // would fail live fails here.
    let deliverer = deliver::Deliverer::simulated().map_err(|e| Error::Invalid(e.to_string()))?;
    let engine = Engine::start(scratch_store.clone(), clock.clone(), deliverer, Options::default());
    let replay = Replay { engine: &engine, clock: &clock, store: &scratch_store, journey: &journey, document, from, to };
    let result = replay.run(&events, progress).await;
    engine.shutdown().await;
    let entries = result?;
    let mut report = report(&*scratch_store, &journey.id, from, to)?;
    report.warmup_events = events.iter().filter(|e| e.event.received_at < from).count();
    report.events = events.len() - report.warmup_events;
    report.entries = entries;
    Ok(report)
}

/// The messages a backtest renders are the templates as they are now.
fn copy_templates(from: &dyn Store, to: &dyn Store) -> Result<(), Error> {
    let templates = from.read()?.templates()?;
    let mut tx = to.write()?;
    for t in &templates {
        tx.put_template(t)?;
    }
    tx.commit()?;
    Ok(())
}

struct Replay<'a> {
    engine: &'a Engine,
    clock: &'a ManualClock,
    store: &'a Arc<dyn Store>,
    journey: &'a Journey,
    document: &'a Value,
    from: Timestamp,
    to: Timestamp,
}

impl Replay<'_> {
    /// Replays the events, publishing the journey at `from`; returns what the entry events of
    /// the period did.
    async fn run(&self, events: &[StoredEvent], progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Entries, Error> {
        let mut published = false;
        let mut entries = Entries::default();
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        let mut i = 0;
        while i < events.len() {
            // Events received together (one request, one instant) are ingested together.
            let at = events[i].event.received_at;
            let source = events[i].source.clone();
            let mut group: Vec<Event> = Vec::new();
            while i < events.len() && events[i].event.received_at == at && events[i].source == source {
                group.push(events[i].event.clone());
                i += 1;
            }
            if !published && at >= self.from {
                self.publish().await?;
                published = true;
            }
            self.engine.advance_manual(self.clock, at).await?;
            self.engine.ingest(SourceId(source.0.clone()), group.clone()).await?;
            // Messages go out at once, as they do live (their outcomes reach the runs now).
            self.engine.wake().await?;
            if let (true, Trigger::Event(m)) = (published, &self.journey.entry.trigger) {
                self.entries(m, &group, at, &mut entries, &mut reasons)?;
            }
            progress(i, events.len());
        }
        if !published {
            self.publish().await?;
        }
        self.engine.advance_manual(self.clock, self.to).await?;
        let mut top: Vec<(String, usize)> = reasons.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(TOP_REASONS);
        entries.filter_reasons = top;
        Ok(entries)
    }

    /// Counts the entry events of `group`, just ingested at `at`: those that started a run,
    /// and why each other did not (from the person's state now, as the profile view explains).
    fn entries(
        &self,
        m: &EventMatch,
        group: &[Event],
        at: Timestamp,
        entries: &mut Entries,
        reasons: &mut BTreeMap<String, usize>,
    ) -> Result<(), Error> {
        let j = self.journey;
        let mut tx = self.store.read()?;
        // Each person's entry events of the group, in order.
        let mut people: Vec<(ProfileId, Vec<&Event>)> = Vec::new();
        for e in group.iter().filter(|e| e.match_name() == m.event) {
            entries.events += 1;
            let identity = match (&e.user_id, &e.anonymous_id) {
                (Some(u), _) => Identity::UserId(u.clone()),
                (None, Some(a)) => Identity::AnonymousId(a.clone()),
                (None, None) => {
                    entries.unexplained += 1;
                    continue;
                }
            };
            let Some(profile) = tx.profile_by_identity(&identity)? else {
                entries.unexplained += 1;
                continue;
            };
            match people.iter_mut().find(|(p, _)| *p == profile) {
                Some((_, list)) => list.push(e),
                None => people.push((profile, vec![e])),
            }
        }
        for (profile, list) in people {
            // The runs this instant started: the events whose filter holds take them in order
            // (the engine steps a person's events in order); a filter is judged on its event.
            let mut started = tx.runs_of(profile)?.iter().filter(|r| r.run.journey == j.id && r.run.entered_at == at).count();
            for e in list {
                match crate::explain::entry_verdict(&mut *tx, j, 1, profile, e, at)? {
                    Verdict::Filtered(seen) => {
                        entries.filtered += 1;
                        // The comparisons that were false; under a `not`, what made it false is
                        // a true one, so then every comparison is shown.
                        let false_ones: Vec<&String> = seen.iter().filter(|l| l.ends_with("-> false")).collect();
                        let shown = if false_ones.is_empty() { seen.iter().collect() } else { false_ones };
                        for line in shown {
                            *reasons.entry(line.clone()).or_default() += 1;
                        }
                    }
                    _ if started > 0 => {
                        started -= 1;
                        entries.entered += 1;
                    }
                    Verdict::Blocked(Blocked::Waiting) => entries.waiting += 1,
                    Verdict::Blocked(Blocked::ReentryNever | Blocked::ReentryAfter { .. }) => entries.reentry += 1,
                    Verdict::Blocked(Blocked::Limit(_)) => entries.limit += 1,
                    Verdict::Enters | Verdict::NotAnEntry => entries.unexplained += 1,
                }
            }
        }
        Ok(())
    }

    async fn publish(&self) -> Result<(), Error> {
        self.engine.advance_manual(self.clock, self.from).await?;
        let (store, id, document, from) = (self.store.clone(), self.journey.id.clone(), self.document.clone(), self.from);
        tokio::task::spawn_blocking(move || -> Result<(), store::Error> {
            let mut tx = store.write()?;
            tx.save_draft(&id, &document, from)?;
            tx.publish(&id, from)?;
            tx.commit()
        })
        .await
        .map_err(|e| Error::Invalid(format!("publishing: {e}")))??;
        self.engine.reload_journeys().await
    }
}

#[cfg(test)]
mod tests {
    use domain::ids::RunId;

    use super::*;

    /// A transition's lines, each `node kind text` (`-` for no step).
    fn record(lines: &[(&str, TraceKind, &str)]) -> TraceRecord {
        let lines = lines
            .iter()
            .map(|(node, kind, text)| {
                let node = (*node != "-").then(|| domain::ids::NodeId((*node).into()));
                TraceLine::new(node.as_ref(), *kind, *text)
            })
            .collect();
        TraceRecord { run: RunId(1), seq: 1, at: Timestamp(0), lines }
    }

    #[test]
    fn a_step_counts_once_per_visit_whatever_it_writes() {
        use TraceKind as K;
        let traces = [
            record(&[
                ("-", K::Entered, r#"entered on Page Viewed [property path = "/products/a" starts_with "/products/" -> true]"#),
                ("-", K::Control, "control group (holdout 10%): recorded, nothing is sent"),
                ("check", K::Case, "check: case 0 false [trait plan = \"free\" eq \"pro\" -> false]"),
                ("check", K::Case, "check: case 1 true [trait plan = \"free\" exists -> true]"),
                ("exit", K::Skipped, "exit: control group, not sending bye"),
                ("wait", K::WaitFor, "wait: wait_for Clicked (timeout 2d)"),
            ]),
            record(&[
                ("-", K::Goal, "goal reached: Paid"),
                ("wait", K::Got, "wait: got Clicked -> wait"),
                ("wait", K::Run, "wait: run clicks += 1"),
                ("wait", K::WaitFor, "wait: wait_for Clicked (timeout 2d)"),
            ]),
            record(&[
                ("wait", K::TimedOut, "wait: wait_for Clicked timed out -> check"),
                ("check", K::Case, "check: case 0 false []"),
                ("check", K::Else, "check: else -> pause"),
                ("pause", K::Wait, "pause: wait 1d"),
            ]),
            record(&[("-", K::Moved, "moved from version 1 to version 2")]),
            record(&[("pause", K::WaitOver, "pause: wait over -> exit"), ("exit", K::Exit, "exit: exit")]),
        ];
        assert_eq!(steps_reached(&traces), ["check", "exit", "wait", "wait", "check", "pause", "exit"]);
        // Lines about a run, not about a step, are no visits; nor are lines stored as text alone.
        let engine_lines = [
            record(&[("-", K::Entered, "entered on Joined"), ("a", K::Send, "a: send email t"), ("-", K::Exit, "exit: step limit")]),
            record(&[("-", K::Exit, "exit: journey stopped: campaign over")]),
            record(&[("-", K::Exit, "exit: merged into profile 3")]),
            record(&[("-", K::Exit, "exit on Unsubscribed")]),
            record(&[("-", K::Entered, "entered on Joined"), ("-", K::Exit, "exit: step gone not found")]),
            record(&[("-", K::Text, "b: send email t")]),
        ];
        assert_eq!(steps_reached(&engine_lines), ["a"]);
    }

    #[test]
    fn a_failure_reason_leaves_out_the_names_the_person_had() {
        let error = "template \"hello\", subject: template does not render: liquid: Unknown index\n  with:\n    variable=traits\n    requested index=firstName\n    available indexes=email, plan\n";
        assert_eq!(
            reason(error),
            "template \"hello\", subject: template does not render: liquid: Unknown index with: variable=traits requested index=firstName"
        );
    }
}
