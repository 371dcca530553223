//! A journey's results: conversions and revenue, the holdout (control group) against the
//! people the journey acts on, and each split (or send's variants) arm against the first,
//! with 95% confidence intervals and a verdict in plain words (`domain::stats`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use domain::ids::{JourneyId, ProfileId};
use domain::stats::{Arm, Comparison, Verdict, Z95, compare, wilson};
use domain::time::{Duration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::error::{ApiError, Code};
use crate::wire::ErrorBody;

/// One arm: who was in it, who converted, with the rate's 95% interval, and revenue.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct ArmView {
    pub name: String,
    /// People who entered in this arm (a person who entered more than once counts once).
    pub people: u64,
    /// People with a run that reached the goal.
    pub converted: u64,
    pub rate: f64,
    pub low: f64,
    pub high: f64,
    /// The sum of the goal events' `revenue`.
    pub revenue: f64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct ComparisonView {
    pub arm: String,
    pub baseline: String,
    /// Conversion rate of `arm` minus `baseline`'s, with its 95% interval.
    pub difference: f64,
    pub low: f64,
    pub high: f64,
    /// `better`, `worse`, `no_difference` or `not_enough_data`.
    pub verdict: String,
    /// The verdict in plain words.
    pub words: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct Experiment {
    /// The split (or send) step, or `$holdout` for the control group against the rest.
    pub step: String,
    /// The baseline first.
    pub arms: Vec<ArmView>,
    pub comparisons: Vec<ComparisonView>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct Results {
    pub journey: String,
    /// People who entered (more than once: once), the control group's included.
    pub people: u64,
    pub converted: u64,
    pub revenue: f64,
    /// The holdout (when the journey has a control group) and each split or send with
    /// variants that runs took.
    pub experiments: Vec<Experiment>,
}

/// Counts per arm: people, conversions, revenue. A person who entered more than once counts
/// once: converted when any of their runs converted, with the revenue of every conversion.
#[derive(Default, Clone)]
struct Tally {
    people: BTreeMap<ProfileId, Option<f64>>,
}

impl Tally {
    fn add(&mut self, person: ProfileId, run: &domain::journey::Run) {
        let converted = self.people.entry(person).or_default();
        if run.converted_at.is_some() {
            *converted = Some(converted.unwrap_or(0.0) + run.revenue.unwrap_or(0.0));
        }
    }

    fn people(&self) -> u64 {
        self.people.len() as u64
    }

    fn converted(&self) -> u64 {
        self.people.values().filter(|c| c.is_some()).count() as u64
    }

    fn revenue(&self) -> f64 {
        self.people.values().flatten().sum()
    }
}

fn experiment(step: &str, arms: Vec<(String, Tally)>) -> Experiment {
    let stats: Vec<Arm> = arms.iter().map(|(name, t)| Arm { name: name.clone(), people: t.people(), converted: t.converted() }).collect();
    let comparisons = compare(&stats, 0)
        .into_iter()
        .map(|c: Comparison| ComparisonView {
            words: c.words(),
            verdict: match c.verdict {
                Verdict::Better => "better",
                Verdict::Worse => "worse",
                Verdict::NoDifference => "no_difference",
                Verdict::NotEnoughData => "not_enough_data",
            }
            .into(),
            arm: c.arm,
            baseline: c.baseline,
            difference: c.difference,
            low: c.low,
            high: c.high,
        })
        .collect();
    let arms = arms
        .into_iter()
        .map(|(name, t)| {
            let (people, converted) = (t.people(), t.converted());
            let (low, high) = wilson(converted, people, Z95);
            let rate = if people == 0 { 0.0 } else { converted as f64 / people as f64 };
            ArmView { name, people, converted, rate, low, high, revenue: t.revenue() }
        })
        .collect();
    Experiment { step: step.to_owned(), arms, comparisons }
}

/// The journey's results over every run it started, by the people who ran them.
pub fn results(journey: &str, runs: &[(ProfileId, domain::journey::Run)]) -> Results {
    let mut all = Tally::default();
    let (mut control, mut acted) = (Tally::default(), Tally::default());
    let mut splits: BTreeMap<&str, BTreeMap<&str, Tally>> = BTreeMap::new();
    for (person, run) in runs {
        all.add(*person, run);
        if run.control {
            control.add(*person, run);
            continue;
        }
        acted.add(*person, run);
        for (step, variant) in &run.assignments {
            splits.entry(step).or_default().entry(variant).or_default().add(*person, run);
        }
    }
    let mut experiments = Vec::new();
    if control.people() > 0 {
        experiments.push(experiment("$holdout", vec![("control group".into(), control), ("journey".into(), acted)]));
    }
    for (step, arms) in splits {
        experiments.push(experiment(step, arms.into_iter().map(|(v, t)| (v.to_owned(), t)).collect()));
    }
    Results { journey: journey.to_owned(), people: all.people(), converted: all.converted(), revenue: all.revenue(), experiments }
}

/// Conversions and revenue; the holdout and each split against its baseline, with 95%
/// confidence intervals and a verdict ("variant B converts better, 95% confidence" / "not
/// enough data yet": at least 30 people in each arm and 5 conversions are needed).
#[utoipa::path(get, path = "/journeys/{id}/results", tag = "journeys", params(("id" = String, Path)),
    responses((status = 200, body = Results), (status = 404, body = ErrorBody)))]
pub async fn journey_results(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Json<Results>, ApiError> {
    let jid = JourneyId(id.clone());
    let out = app
        .read(move |tx| {
            tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {:?}", jid.0)))?;
            let runs: Vec<(ProfileId, domain::journey::Run)> = tx.journey_runs(&jid)?.into_iter().map(|r| (r.profile, r.run)).collect();
            Ok(results(&jid.0, &runs))
        })
        .await?;
    Ok(Json(out))
}

/// The most buckets a series may have.
const MAX_BUCKETS: i64 = 1000;

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// `day` (the default: UTC days) or `hour`.
    pub bucket: Option<String>,
    /// RFC 3339; widened to whole buckets. Both or neither: by default the last 30 days
    /// (by day) or 168 hours (by hour), the current one included.
    #[param(format = DateTime)]
    pub from: Option<String>,
    #[param(format = DateTime)]
    pub to: Option<String>,
}

/// One node's counts per bucket (the same order as `starts`).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Default)]
pub struct NodeSeries {
    pub entered: Vec<i64>,
    pub passed: Vec<i64>,
    pub exited: Vec<i64>,
    pub converted: Vec<i64>,
}

/// A journey's counts over time: per node and bucket, and the journey's entries and
/// conversions per bucket (the goal's conversions over time).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct JourneySeries {
    pub journey: String,
    /// `day` or `hour`.
    pub bucket: String,
    pub from: String,
    pub to: String,
    /// Each bucket's start (RFC 3339, UTC).
    pub starts: Vec<String>,
    /// Runs started per bucket (the control group's included).
    pub entered: Vec<i64>,
    /// Runs that reached the goal per bucket (the control group's included).
    pub converted: Vec<i64>,
    /// By node: `$entry`, `$control` and each step id; nodes with nothing counted are absent.
    pub nodes: BTreeMap<String, NodeSeries>,
}

/// Buckets `hours` (from `Tx::node_count_series`) over `[from, to)` in steps of `size`.
fn series(journey: &str, bucket: &str, from: Timestamp, to: Timestamp, size: Duration, hours: &[store::NodeHour]) -> JourneySeries {
    let n = usize::try_from((to.0 - from.0) / size.as_millis()).unwrap_or(0);
    let starts = (0..n).map(|i| from.plus(Duration::millis(size.as_millis() * i as i64)).to_string()).collect();
    let (mut entered, mut converted) = (vec![0; n], vec![0; n]);
    let mut nodes: BTreeMap<String, NodeSeries> = BTreeMap::new();
    for h in hours {
        let Some(i) = usize::try_from((h.hour.0 - from.0).div_euclid(size.as_millis())).ok().filter(|i| *i < n) else { continue };
        let s = nodes.entry(h.node.clone()).or_insert_with(|| NodeSeries {
            entered: vec![0; n],
            passed: vec![0; n],
            exited: vec![0; n],
            converted: vec![0; n],
        });
        s.entered[i] += h.tally.entered;
        s.passed[i] += h.tally.passed;
        s.exited[i] += h.tally.exited;
        s.converted[i] += h.tally.converted;
        if h.node == store::ENTRY_NODE || h.node == store::CONTROL_NODE {
            entered[i] += h.tally.entered;
        }
        converted[i] += h.tally.converted;
    }
    JourneySeries {
        journey: journey.to_owned(),
        bucket: bucket.to_owned(),
        from: from.to_string(),
        to: to.to_string(),
        starts,
        entered,
        converted,
        nodes,
    }
}

/// A journey's counts per node over time (entered, passed, exited, converted per day or
/// hour), with its entries and goal conversions per bucket: what its results chart draws.
#[utoipa::path(get, path = "/journeys/{id}/series", tag = "journeys", params(("id" = String, Path), SeriesQuery),
    responses((status = 200, body = JourneySeries), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn journey_series(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<JourneySeries>, ApiError> {
    let (bucket, size, back) = match q.bucket.as_deref().unwrap_or("day") {
        "day" => ("day", Duration::days(1), 30),
        "hour" => ("hour", Duration::hours(1), 168),
        other => return Err(ApiError::new(Code::InvalidRequest, format!("\"bucket\" is \"day\" or \"hour\", not {other:?}"))),
    };
    let floor = |t: Timestamp| Timestamp(t.0.div_euclid(size.as_millis()) * size.as_millis());
    let end = floor(app.engine.clock().now()).plus(size);
    let (from, to) = crate::wire::range(q.from.as_deref(), q.to.as_deref(), (end.minus(Duration::millis(size.as_millis() * back)), end))?;
    // Whole buckets: `from` down and `to` up to a bucket's start.
    let (from, to) = (floor(from), if floor(to) == to { to } else { floor(to).plus(size) });
    if to.0.saturating_sub(from.0) / size.as_millis() > MAX_BUCKETS {
        return Err(ApiError::new(Code::InvalidRequest, format!("at most {MAX_BUCKETS} buckets: narrow the range or count by day")));
    }
    let jid = JourneyId(id);
    let out = app
        .read(move |tx| {
            tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {:?}", jid.0)))?;
            let hours = tx.node_count_series(&jid, from, to)?;
            Ok(series(&jid.0, bucket, from, to, size, &hours))
        })
        .await?;
    Ok(Json(out))
}

#[derive(Deserialize, IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct FunnelQuery {
    /// RFC 3339: only the messages made in `[from, to)` (whole hours). Both or neither: by
    /// default every message the journey made.
    #[param(format = DateTime)]
    pub from: Option<String>,
    #[param(format = DateTime)]
    pub to: Option<String>,
}

/// How far the messages of one content (a send step's template) got. Each message counts
/// once per stage; a stage does not require the one before (an open with no delivery report).
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct ContentFunnelView {
    /// The send step.
    pub node: String,
    pub template: String,
    pub channel: String,
    /// Sent (or captured).
    pub sent: i64,
    /// Reported delivered by the provider (`Email Delivered`, `SMS Delivered`).
    pub delivered: i64,
    /// Opened: an email's pixel loaded, an in-app message viewed, a push tapped
    /// (`Push Opened` with its `wayfarer_key`).
    pub opened: i64,
    /// A tracked link followed, an in-app message clicked.
    pub clicked: i64,
    /// Sent in a run that then reached the journey's goal.
    pub converted: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct JourneyFunnel {
    pub journey: String,
    /// By send step, then template.
    pub contents: Vec<ContentFunnelView>,
}

/// The funnel per content: for each send step and template of the journey, its messages
/// sent, delivered, opened, clicked, and converted (sent in a run that then reached the goal).
#[utoipa::path(get, path = "/journeys/{id}/funnel", tag = "journeys", params(("id" = String, Path), FunnelQuery),
    responses((status = 200, body = JourneyFunnel), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn journey_funnel(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<FunnelQuery>,
) -> Result<Json<JourneyFunnel>, ApiError> {
    let (from, to) = crate::wire::range(q.from.as_deref(), q.to.as_deref(), (Timestamp(i64::MIN), Timestamp(i64::MAX)))?;
    let jid = JourneyId(id.clone());
    let out = app
        .read(move |tx| {
            tx.journey(&jid)?.ok_or_else(|| ApiError::not_found(format!("journey {:?}", jid.0)))?;
            Ok(tx.content_funnel(&jid, from, to)?)
        })
        .await?;
    let contents = out
        .into_iter()
        .map(|c| ContentFunnelView {
            node: c.node,
            template: c.template,
            channel: c.channel,
            sent: c.sent,
            delivered: c.delivered,
            opened: c.opened,
            clicked: c.clicked,
            converted: c.converted,
        })
        .collect();
    Ok(Json(JourneyFunnel { journey: id, contents }))
}

#[cfg(test)]
mod tests {
    use domain::ids::JourneyId;
    use domain::journey::{Run, RunStatus};
    use domain::time::Timestamp;

    use super::*;

    fn run(control: bool, variant: Option<&str>, revenue: Option<Option<f64>>) -> Run {
        Run {
            journey: JourneyId("j".into()),
            version: 1,
            status: RunStatus::Exited,
            node: None,
            wake_at: None,
            exit_reason: None,
            entered_at: Timestamp(0),
            updated_at: Timestamp(0),
            seq: 1,
            trigger: domain::Map::new(),
            trigger_event: "A".into(),
            control,
            converted_at: revenue.map(|_| Timestamp(1)),
            revenue: revenue.flatten(),
            assignments: variant.map(|v| [("split".to_owned(), v.to_owned())].into()).unwrap_or_default(),
            key: None,
            held: false,
            vars: domain::Map::new(),
            goal_from: None,
            counts: Default::default(),
            reached: Default::default(),
        }
    }

    /// Nine runs of seven people, counted by hand: 2 in the control group (1 converted,
    /// 10.0), 5 acted on: A (3 people: 2 converted, 20.0 + no revenue; the first entered
    /// again and converted again for 4.0, the third entered twice and never converted), B (2
    /// people: 1 converted, 5.5).
    #[test]
    fn results_count_a_scenario_done_by_hand() {
        let p = ProfileId;
        let runs = [
            (p(1), run(true, None, Some(Some(10.0)))),
            (p(2), run(true, None, None)),
            (p(3), run(false, Some("A"), Some(Some(20.0)))),
            (p(3), run(false, Some("A"), Some(Some(4.0)))),
            (p(4), run(false, Some("A"), Some(None))),
            (p(5), run(false, Some("A"), None)),
            (p(5), run(false, Some("A"), None)),
            (p(6), run(false, Some("B"), Some(Some(5.5)))),
            (p(7), run(false, Some("B"), None)),
        ];
        let r = results("j", &runs);
        assert_eq!((r.people, r.converted, r.revenue), (7, 4, 39.5));
        let arms = |e: &Experiment| {
            e.arms.iter().map(|a| format!("{} {}/{} {:.4} {}", a.name, a.converted, a.people, a.rate, a.revenue)).collect::<Vec<_>>()
        };
        assert_eq!(r.experiments.iter().map(|e| e.step.as_str()).collect::<Vec<_>>(), ["$holdout", "split"]);
        assert_eq!(arms(&r.experiments[0]), ["control group 1/2 0.5000 10", "journey 3/5 0.6000 29.5"]);
        assert_eq!(arms(&r.experiments[1]), ["A 2/3 0.6667 24", "B 1/2 0.5000 5.5"]);
        let c = &r.experiments[1].comparisons[0];
        assert_eq!((c.arm.as_str(), c.baseline.as_str(), c.verdict.as_str()), ("B", "A", "not_enough_data"));
        assert_eq!(c.words, "B against A: not enough data yet");
        assert!((c.difference - (0.5 - 2.0 / 3.0)).abs() < 1e-12);
        // Each arm's interval is Wilson's for its counts.
        let a = &r.experiments[1].arms[0];
        assert_eq!((a.low, a.high), wilson(2, 3, Z95));
        assert_eq!(results("j", &[]).experiments, Vec::new(), "no runs: nothing to compare");
    }

    #[test]
    fn a_series_puts_each_hour_in_its_bucket_and_nothing_outside() {
        const H: i64 = 3_600_000;
        let from = Timestamp(100 * 24 * H);
        let hour = |at: i64, node: &str, entered: i64, converted: i64| store::NodeHour {
            hour: Timestamp(from.0 + at * H),
            node: node.into(),
            tally: store::NodeTally { entered, converted, ..store::NodeTally::default() },
        };
        let hours = [
            hour(-1, store::ENTRY_NODE, 100, 0),
            hour(0, store::ENTRY_NODE, 2, 0),
            hour(5, store::CONTROL_NODE, 1, 1),
            hour(23, "ask", 2, 1),
            hour(24, store::ENTRY_NODE, 3, 0),
            hour(47, "ask", 1, 0),
            hour(48, store::ENTRY_NODE, 100, 0),
        ];
        let s = series("j", "day", from, Timestamp(from.0 + 48 * H), Duration::days(1), &hours);
        assert_eq!(s.starts, [from.to_string(), Timestamp(from.0 + 24 * H).to_string()]);
        assert_eq!((s.entered, s.converted), (vec![3, 3], vec![2, 0]), "entries at $entry and $control; conversions anywhere");
        assert_eq!(s.nodes["ask"].entered, [2, 1]);
        assert_eq!(s.nodes[store::CONTROL_NODE].converted, [1, 0]);
        assert_eq!(s.nodes.len(), 3);
        let empty = series("j", "hour", from, from, Duration::hours(1), &hours);
        assert!(empty.starts.is_empty() && empty.nodes.is_empty());
    }
}
