//! Per-node counts (what the canvas shows on each node of a journey), derived from each
//! transition and gathered over the whole transaction in a `store::NodeDeltas`, which the core
//! writes once, just before the commit: the counts commit with the transitions that make them.
//!
//! What counts where (`store::NodeTally`; a node is a step id, `ENTRY_NODE` or `CONTROL_NODE`):
//! - a run that starts: `entered` at the entry, then `passed` there when it goes on to the
//!   first step;
//! - each step a transition reaches (`Transition::visited`, once per visit): `entered` there,
//!   and `passed` at the node it came from (the entry, the step it waited at, the step before);
//! - a run that ends: `exited` where it ended (the exit step, the last step of a path, the
//!   step it waited at when an exit event, a goal that exits, the journey's stop or a merge
//!   ended it, the last step reached before a missing one or the step limit);
//! - a conversion: `converted` at the step where the run stood when the goal event came
//!   (the goal is checked before the run moves on);
//! - `waiting`: up where a run comes to rest (a wait, a wait_for, a send waiting for its
//!   message's outcome), down when it leaves or ends there.
//!
//! So, for every step, `entered = passed + exited + waiting` over the journey's life.
//! Control-group runs (holdout) are counted apart, at `CONTROL_NODE` only: `entered`,
//! `exited` and `converted`, no `passed` and no `waiting`, so that the steps' numbers are those
//! of the people the journey acts on.

use domain::ids::NodeId;
use domain::journey::{Run, RunStatus, Transition};
use domain::time::Timestamp;
use store::{CONTROL_NODE, ENTRY_NODE, NodeDeltas};

/// Where a run stood before a transition: what the counts need of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Before {
    waiting: bool,
    node: Option<NodeId>,
    converted: bool,
}

impl Before {
    pub(super) fn of(run: &Run) -> Before {
        Before { waiting: run.status == RunStatus::Waiting, node: run.node.clone(), converted: run.converted_at.is_some() }
    }
}

/// Adds what transition `t` changes to `deltas`, counted in the hour of `now`; `before` is
/// the run as it was (`None`: the transition started it).
pub(super) fn transition(deltas: &mut NodeDeltas, before: Option<&Before>, t: &Transition, now: Timestamp) {
    let run = &t.run;
    let journey = &run.journey;
    let ended = run.status == RunStatus::Exited && before.is_none_or(|b| b.waiting);
    let converted = converts(before, t);
    if run.control {
        let c = deltas.at(journey, CONTROL_NODE, now);
        c.entered += i64::from(t.entered);
        c.exited += i64::from(ended);
        c.converted += i64::from(converted);
        return;
    }
    // Where the run was: the entry for a run that starts, else the step it stood at.
    let from = if t.entered { ENTRY_NODE } else { before.and_then(|b| b.node.as_ref()).map_or(ENTRY_NODE, NodeId::as_str) };
    if t.entered {
        deltas.at(journey, ENTRY_NODE, now).entered += 1;
    }
    if converted {
        deltas.at(journey, from, now).converted += 1;
    }
    let mut at = from;
    for step in &t.visited {
        deltas.at(journey, at, now).passed += 1;
        deltas.at(journey, step.as_str(), now).entered += 1;
        at = step.as_str();
    }
    if ended {
        deltas.at(journey, at, now).exited += 1;
    }
    // The run left the step it waited at when it went on or ended there.
    if before.is_some_and(|b| b.waiting) && (ended || !t.visited.is_empty()) {
        deltas.wait(journey, from, -1);
    }
    if run.status == RunStatus::Waiting && !t.visited.is_empty() {
        deltas.wait(journey, at, 1);
    }
}

/// Whether transition `t` reached the journey's goal (it had not before).
pub(super) fn converts(before: Option<&Before>, t: &Transition) -> bool {
    t.run.converted_at.is_some() && !before.is_some_and(|b| b.converted)
}

/// A waiting run ended outside `step` (its journey stopped, its person merged into one with
/// a run of their own): `exited` where it waited, and the gauge there down.
pub(super) fn ended(deltas: &mut NodeDeltas, run: &Run, now: Timestamp) {
    if run.status != RunStatus::Waiting {
        return;
    }
    if run.control {
        deltas.at(&run.journey, CONTROL_NODE, now).exited += 1;
        return;
    }
    let node = run.node.as_ref().map_or(ENTRY_NODE, NodeId::as_str);
    deltas.at(&run.journey, node, now).exited += 1;
    deltas.wait(&run.journey, node, -1);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use domain::ids::JourneyId;
    use store::NodeTally;

    use super::*;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);

    fn run(status: RunStatus, node: Option<&str>) -> Run {
        serde_json::from_value(serde_json::json!({
            "journey": "j", "version": 1, "status": status, "node": node, "wake_at": null, "exit_reason": null,
            "entered_at": 0, "updated_at": 0, "seq": 1, "trigger": {}, "trigger_event": "Go"
        }))
        .expect("a run")
    }

    fn moved(run: Run, entered: bool, visited: &[&str]) -> Transition {
        Transition { run, entered, effects: Vec::new(), trace: Vec::new(), visited: visited.iter().map(|s| NodeId((*s).into())).collect() }
    }

    /// The deltas as `node: entered/passed/exited/converted`, and the gauge's moves.
    fn shown(d: &NodeDeltas) -> (Vec<String>, BTreeMap<String, i64>) {
        let counts =
            d.counts.iter().map(|((_, node, _), t)| format!("{node}: {}/{}/{}/{}", t.entered, t.passed, t.exited, t.converted)).collect();
        (counts, d.waiting.iter().map(|((_, n), w)| (n.clone(), *w)).collect())
    }

    fn tally(before: Option<&Run>, t: &Transition) -> (Vec<String>, BTreeMap<String, i64>) {
        let mut d = NodeDeltas::default();
        transition(&mut d, before.map(Before::of).as_ref(), t, NOW);
        shown(&d)
    }

    fn gauge(moves: &[(&str, i64)]) -> BTreeMap<String, i64> {
        moves.iter().map(|(n, w)| ((*n).to_owned(), *w)).collect()
    }

    #[test]
    fn a_run_that_starts_enters_the_entry_and_each_step_it_reaches() {
        let t = moved(run(RunStatus::Waiting, Some("ask")), true, &["check", "ask"]);
        assert_eq!(tally(None, &t), (vec!["$entry: 1/1/0/0".into(), "ask: 1/0/0/0".into(), "check: 1/1/0/0".into()], gauge(&[("ask", 1)])));
        // Through to the end of a path at once: it ends at the last step.
        let t = moved(run(RunStatus::Exited, Some("hello")), true, &["hello"]);
        assert_eq!(tally(None, &t), (vec!["$entry: 1/1/0/0".into(), "hello: 1/0/1/0".into()], gauge(&[])));
        // Its first step missing (a version changed under it): it ends at the entry.
        let t = moved(run(RunStatus::Exited, None), true, &[]);
        assert_eq!(tally(None, &t), (vec!["$entry: 1/0/1/0".into()], gauge(&[])));
    }

    #[test]
    fn a_resumed_run_passes_the_step_it_waited_at() {
        let before = run(RunStatus::Waiting, Some("ask"));
        // Back to the same wait_for through another step: a new visit, the gauge unchanged.
        let t = moved(run(RunStatus::Waiting, Some("ask")), false, &["note", "ask"]);
        assert_eq!(tally(Some(&before), &t), (vec!["ask: 1/1/0/0".into(), "note: 1/1/0/0".into()], gauge(&[("ask", 0)])));
        // To the end of its path (no next step): it ends where it waited.
        let t = moved(run(RunStatus::Exited, Some("ask")), false, &[]);
        assert_eq!(tally(Some(&before), &t), (vec!["ask: 0/0/1/0".into()], gauge(&[("ask", -1)])));
    }

    #[test]
    fn an_event_that_does_not_move_the_run_counts_only_a_conversion() {
        let before = run(RunStatus::Waiting, Some("ask"));
        let t = moved(run(RunStatus::Waiting, Some("ask")), false, &[]);
        assert_eq!(tally(Some(&before), &t), (vec![], gauge(&[])), "an ignored event, a count since entry");
        let converted = Run { converted_at: Some(NOW), ..run(RunStatus::Waiting, Some("ask")) };
        let t = moved(converted.clone(), false, &[]);
        assert_eq!(tally(Some(&before), &t), (vec!["ask: 0/0/0/1".into()], gauge(&[])));
        assert_eq!(tally(Some(&converted), &t), (vec![], gauge(&[])), "once");
        // A goal that exits: converted and ended where it stood.
        let t = moved(Run { status: RunStatus::Exited, ..converted }, false, &[]);
        assert_eq!(tally(Some(&before), &t), (vec!["ask: 0/0/1/1".into()], gauge(&[("ask", -1)])));
        // What became of a message of a run that ended: traced, nothing counted.
        let ended = run(RunStatus::Exited, Some("hello"));
        assert_eq!(tally(Some(&ended), &moved(ended.clone(), false, &[])), (vec![], gauge(&[])));
    }

    #[test]
    fn control_runs_count_at_the_control_node_only() {
        let control = |status, node| Run { control: true, ..run(status, node) };
        let t = moved(control(RunStatus::Waiting, Some("ask")), true, &["check", "ask"]);
        assert_eq!(tally(None, &t), (vec!["$control: 1/0/0/0".into()], gauge(&[])));
        let before = control(RunStatus::Waiting, Some("ask"));
        let t = moved(Run { converted_at: Some(NOW), ..control(RunStatus::Exited, Some("thanks")) }, false, &["thanks"]);
        assert_eq!(tally(Some(&before), &t), (vec!["$control: 0/0/1/1".into()], gauge(&[])));
        let mut d = NodeDeltas::default();
        ended(&mut d, &before, NOW);
        assert_eq!(d.counts.values().copied().collect::<Vec<_>>(), [NodeTally { exited: 1, ..NodeTally::default() }]);
        assert!(d.waiting.is_empty());
    }

    #[test]
    fn a_run_ended_from_outside_exits_where_it_waited() {
        let mut d = NodeDeltas::default();
        ended(&mut d, &run(RunStatus::Waiting, Some("ask")), NOW);
        ended(&mut d, &run(RunStatus::Exited, Some("ask")), NOW);
        assert_eq!(shown(&d), (vec!["ask: 0/0/1/0".into()], gauge(&[("ask", -1)])));
        assert_eq!(d.counts.keys().next().map(|(j, _, h)| (j.clone(), *h)), Some((JourneyId("j".into()), NodeDeltas::hour(NOW))));
    }
}
