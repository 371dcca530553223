//! A journey's results: conversions and revenue, the holdout (control group) against the
//! people the journey acts on, and each split (or send's variants) arm against the first,
//! with 95% confidence intervals and a verdict in plain words (`domain::stats`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use domain::ids::JourneyId;
use domain::stats::{Arm, Comparison, Verdict, Z95, compare, wilson};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::App;
use crate::error::ApiError;
use crate::wire::ErrorBody;

/// One arm: who was in it, who converted, with the rate's 95% interval, and revenue.
#[derive(Serialize, Deserialize, ToSchema, Debug, Clone, PartialEq)]
pub struct ArmView {
    pub name: String,
    pub people: u64,
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
    pub people: u64,
    pub converted: u64,
    pub revenue: f64,
    /// The holdout (when the journey has a control group) and each split or send with
    /// variants that runs took.
    pub experiments: Vec<Experiment>,
}

/// Counts per arm: people, conversions, revenue.
#[derive(Default, Clone, Copy)]
struct Tally {
    people: u64,
    converted: u64,
    revenue: f64,
}

impl Tally {
    fn add(&mut self, run: &domain::journey::Run) {
        self.people += 1;
        if run.converted_at.is_some() {
            self.converted += 1;
            self.revenue += run.revenue.unwrap_or(0.0);
        }
    }
}

fn experiment(step: &str, arms: Vec<(String, Tally)>) -> Experiment {
    let stats: Vec<Arm> = arms.iter().map(|(name, t)| Arm { name: name.clone(), people: t.people, converted: t.converted }).collect();
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
            let (low, high) = wilson(t.converted, t.people, Z95);
            let rate = if t.people == 0 { 0.0 } else { t.converted as f64 / t.people as f64 };
            ArmView { name, people: t.people, converted: t.converted, rate, low, high, revenue: t.revenue }
        })
        .collect();
    Experiment { step: step.to_owned(), arms, comparisons }
}

/// The journey's results over every run it started.
pub fn results(journey: &str, runs: &[domain::journey::Run]) -> Results {
    let mut all = Tally::default();
    let (mut control, mut acted) = (Tally::default(), Tally::default());
    let mut splits: BTreeMap<&str, BTreeMap<&str, Tally>> = BTreeMap::new();
    for run in runs {
        all.add(run);
        if run.control {
            control.add(run);
            continue;
        }
        acted.add(run);
        for (step, variant) in &run.assignments {
            splits.entry(step).or_default().entry(variant).or_default().add(run);
        }
    }
    let mut experiments = Vec::new();
    if control.people > 0 {
        experiments.push(experiment("$holdout", vec![("control group".into(), control), ("journey".into(), acted)]));
    }
    for (step, arms) in splits {
        experiments.push(experiment(step, arms.into_iter().map(|(v, t)| (v.to_owned(), t)).collect()));
    }
    Results { journey: journey.to_owned(), people: all.people, converted: all.converted, revenue: all.revenue, experiments }
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
            let runs: Vec<domain::journey::Run> = tx.journey_runs(&jid)?.into_iter().map(|r| r.run).collect();
            Ok(results(&jid.0, &runs))
        })
        .await?;
    Ok(Json(out))
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

    /// Seven runs, counted by hand: 2 in the control group (1 converted, 10.0), 5 acted on:
    /// A (3 people: 2 converted, 20.0 + no revenue), B (2 people: 1 converted, 5.5).
    #[test]
    fn results_count_a_scenario_done_by_hand() {
        let runs = [
            run(true, None, Some(Some(10.0))),
            run(true, None, None),
            run(false, Some("A"), Some(Some(20.0))),
            run(false, Some("A"), Some(None)),
            run(false, Some("A"), None),
            run(false, Some("B"), Some(Some(5.5))),
            run(false, Some("B"), None),
        ];
        let r = results("j", &runs);
        assert_eq!((r.people, r.converted, r.revenue), (7, 4, 35.5));
        let arms = |e: &Experiment| {
            e.arms.iter().map(|a| format!("{} {}/{} {:.4} {}", a.name, a.converted, a.people, a.rate, a.revenue)).collect::<Vec<_>>()
        };
        assert_eq!(r.experiments.iter().map(|e| e.step.as_str()).collect::<Vec<_>>(), ["$holdout", "split"]);
        assert_eq!(arms(&r.experiments[0]), ["control group 1/2 0.5000 10", "journey 3/5 0.6000 25.5"]);
        assert_eq!(arms(&r.experiments[1]), ["A 2/3 0.6667 20", "B 1/2 0.5000 5.5"]);
        let c = &r.experiments[1].comparisons[0];
        assert_eq!((c.arm.as_str(), c.baseline.as_str(), c.verdict.as_str()), ("B", "A", "not_enough_data"));
        assert_eq!(c.words, "B against A: not enough data yet");
        assert!((c.difference - (0.5 - 2.0 / 3.0)).abs() < 1e-12);
        // Each arm's interval is Wilson's for its counts.
        let a = &r.experiments[1].arms[0];
        assert_eq!((a.low, a.high), wilson(2, 3, Z95));
        assert_eq!(results("j", &[]).experiments, Vec::new(), "no runs: nothing to compare");
    }
}
