//! The store conformance suite on every backend.

use domain::ids::JourneyId;
use domain::time::Timestamp;
use store::{NodeCounts, Store};

/// Runs as a database from before the per-node counts holds them: two waiting at `ask`, one
/// of the control group waiting there too, one ended there, one waiting at `pause` elsewhere.
fn runs_from_before_the_counts(store: &dyn Store) {
    let run = |journey: &str, node: &str, waiting: bool, control: bool| -> domain::journey::Run {
        serde_json::from_value(serde_json::json!({
            "journey": journey, "version": 1, "status": if waiting { "waiting" } else { "exited" }, "node": node,
            "wake_at": if waiting { Some(5_000) } else { None }, "exit_reason": null, "entered_at": 0, "updated_at": 0, "seq": 1,
            "trigger": {}, "trigger_event": "Go", "control": control
        }))
        .expect("a run")
    };
    let mut tx = store.write().expect("tx");
    let p = tx.create_profile(Timestamp(0)).expect("profile");
    for r in [run("j", "ask", true, false), run("j", "ask", true, false), run("j", "ask", true, true), run("j", "ask", false, false)] {
        tx.insert_run(p, &r).expect("run");
    }
    tx.insert_run(p, &run("k", "pause", true, false)).expect("run");
    tx.commit().expect("commit");
}

/// Migration 7 seeds the waiting gauge from the runs waiting then (else it would go below
/// zero as they leave); the hourly counts start empty.
fn gauge_is_seeded(store: &dyn Store) {
    let mut tx = store.read().expect("tx");
    let read = |tx: &mut Box<dyn store::Tx + '_>, j: &str| {
        tx.node_counts(&JourneyId(j.into()), Timestamp(0), Timestamp(i64::MAX)).expect("read").into_iter().collect::<Vec<_>>()
    };
    assert_eq!(read(&mut tx, "j"), [("ask".to_owned(), NodeCounts { waiting: 2, ..NodeCounts::default() })]);
    assert_eq!(read(&mut tx, "k"), [("pause".to_owned(), NodeCounts { waiting: 1, ..NodeCounts::default() })]);
}

/// A trace row as rows were written before trace lines were structured: its text alone.
const OLD_TRACE_ROW: &str = r#"INSERT INTO traces (run_id, seq, at, lines) VALUES (7, 1, 5, '["entered on Go", "a: wait 1d"]')"#;

/// An old row reads as `text` lines (no step, no checks), beside a new row of the same run.
fn old_trace_rows_read_beside_new_ones(store: &dyn Store) {
    use domain::trace::{TraceKind, TraceLine};
    let run = domain::ids::RunId(7);
    let new = vec![
        TraceLine::new(Some(&"a".into()), TraceKind::WaitOver, "a: wait over -> (end)"),
        TraceLine::new(None, TraceKind::Completed, "completed"),
    ];
    let mut tx = store.write().expect("tx");
    tx.add_trace(&store::TraceRecord { run, seq: 2, at: Timestamp(6), lines: new.clone() }).expect("trace");
    tx.commit().expect("commit");
    let traces = store.read().expect("tx").traces(run).expect("traces");
    let lines: Vec<Vec<TraceLine>> = traces.into_iter().map(|t| t.lines).collect();
    assert_eq!(lines, [vec![TraceLine::text("entered on Go"), TraceLine::text("a: wait 1d")], new]);
}

/// What brings a database back to the schema before the per-node counts (and the tables of
/// the migrations after it: the teams' of 8, the property paths of 9).
const BEFORE_NODE_COUNTS: &str = "DROP TABLE node_counts; DROP TABLE node_waiting; \
     DROP TABLE users; DROP TABLE sessions; DROP TABLE api_tokens; DROP TABLE audit; \
     DROP TABLE property_paths; ALTER TABLE templates DROP COLUMN category; ALTER TABLE outbox DROP COLUMN capped; \
     DROP INDEX outbox_address; ALTER TABLE outbox DROP COLUMN address; ALTER TABLE templates DROP COLUMN sms; ALTER TABLE templates DROP COLUMN push; \
     DROP TABLE in_app_messages; DROP TABLE tasks; DROP TABLE assets; ALTER TABLE templates DROP COLUMN in_app; ALTER TABLE templates DROP COLUMN locales; \
     DROP TABLE segments; DROP TABLE segment_members; DROP TABLE segment_checks; DROP TABLE segment_counts; DROP TABLE computed_traits; DROP TABLE stage_moves; \
     DROP INDEX outbox_run; ALTER TABLE outbox DROP COLUMN reached; DROP TABLE content_counts; \
     DELETE FROM schema_migrations WHERE version >= 7;";

mod sqlite {
    use store::{SqliteStore, Store};

    store::conformance_suite!(|| -> Option<Box<dyn Store>> {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("wayfarer.db")).expect("open");
        // The directory must outlive the store; leak it for the test's duration.
        std::mem::forget(dir);
        Some(Box::new(store))
    });

    #[test]
    fn reopening_keeps_data_and_does_not_rerun_migrations() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wayfarer.db");
        {
            let store = SqliteStore::open(&path).expect("open");
            let mut tx = store.write().expect("tx");
            tx.set_setting("k", "v").expect("set");
            tx.commit().expect("commit");
        }
        let store = SqliteStore::open(&path).expect("reopen");
        assert_eq!(store.read().expect("tx").setting("k").expect("get"), Some("v".into()));
    }

    #[test]
    fn the_waiting_gauge_starts_from_the_runs_waiting_when_it_is_added() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wayfarer.db");
        super::runs_from_before_the_counts(&SqliteStore::open(&path).expect("open"));
        rusqlite::Connection::open(&path).expect("open").execute_batch(super::BEFORE_NODE_COUNTS).expect("back to schema 6");
        super::gauge_is_seeded(&SqliteStore::open(&path).expect("reopen"));
    }

    #[test]
    fn trace_rows_of_text_alone_still_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wayfarer.db");
        drop(SqliteStore::open(&path).expect("open"));
        rusqlite::Connection::open(&path).expect("open").execute_batch(super::OLD_TRACE_ROW).expect("an old row");
        super::old_trace_rows_read_beside_new_ones(&SqliteStore::open(&path).expect("reopen"));
    }
}

mod postgres {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use store::{PostgresStore, Store};

    static N: AtomicUsize = AtomicUsize::new(0);

    /// A store in a schema of its own, so tests run in parallel. Without
    /// `WAYFARER_TEST_POSTGRES_URL` the PostgreSQL half is skipped locally, but CI (`CI` set)
    /// fails instead of skipping.
    fn make() -> Option<Box<dyn Store>> {
        let Ok(url) = std::env::var("WAYFARER_TEST_POSTGRES_URL") else {
            assert!(std::env::var_os("CI").is_none(), "CI must set WAYFARER_TEST_POSTGRES_URL");
            eprintln!("WAYFARER_TEST_POSTGRES_URL not set: skipping the PostgreSQL backend");
            return None;
        };
        let schema = format!("t_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        Some(Box::new(PostgresStore::connect(&url, Some(&schema)).expect("connect")))
    }

    store::conformance_suite!(make);

    #[test]
    fn the_waiting_gauge_starts_from_the_runs_waiting_when_it_is_added() {
        let Ok(url) = std::env::var("WAYFARER_TEST_POSTGRES_URL") else { return };
        let schema = format!("t_{}_gauge", std::process::id());
        super::runs_from_before_the_counts(&PostgresStore::connect(&url, Some(&schema)).expect("connect"));
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client.batch_execute(&format!("SET search_path TO {schema}; {}", super::BEFORE_NODE_COUNTS)).expect("back to schema 6");
        super::gauge_is_seeded(&PostgresStore::connect(&url, Some(&schema)).expect("reconnect"));
    }

    #[test]
    fn trace_rows_of_text_alone_still_read() {
        let Ok(url) = std::env::var("WAYFARER_TEST_POSTGRES_URL") else { return };
        let schema = format!("t_{}_old_traces", std::process::id());
        let store = PostgresStore::connect(&url, Some(&schema)).expect("connect");
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client.batch_execute(&format!("SET search_path TO {schema}; {}", super::OLD_TRACE_ROW)).expect("an old row");
        super::old_trace_rows_read_beside_new_ones(&store);
    }
}
