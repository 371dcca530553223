//! The conformance suite: every backend must pass every function here.
//!
//! Instantiate it with `store::conformance_suite!(|| -> Option<Box<dyn Store>> {...})`;
//! each test gets a fresh store of its own (`None` skips the backend, e.g. when no
//! PostgreSQL is configured locally).

use domain::event::{Envelope, Event, Kind};
use domain::ids::{Identity, JourneyId, MessageId, OutboxId, ProfileId, RunId, SegmentId, SourceId, TemplateId};
use domain::journey::{Run, RunStatus};
use domain::profile::Profile;
use domain::time::Timestamp;
use domain::trace::{Check, TraceKind, TraceLine};
use serde_json::json;

use crate::{
    ApiToken, ApiTokenId, Attempt, AuditId, Category, ContentFunnel, DeadInput, ENTRY_NODE, Error, InAppAction, InAppContent, InAppLayout,
    InAppMessage, JourneyState, MessageStage, Messages, NameKind, NewAudit, NewOutbox, NewUser, NodeCounts, NodeDeltas, NodeHour,
    NodeTally, OutboxEntry, OutboxPayload, OutboxStatus, PropertyPath, PushContent, RefusedMerge, Role, Session, Source, Store, Task,
    TaskFilter, TaskStatus, Template, TemplateContext, TraceRecord, UserId,
};

#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@tests $make;
            sources_and_write_keys,
            events_deduplicate_by_source_and_message_id,
            history_and_timeline_follow_the_person,
            recent_events_are_one_persons_of_one_name_newest_first,
            identities_resolve_and_merge,
            journeys_publish_immutable_versions,
            runs_timers_and_traces,
            outbox_lifecycle,
            templates_and_settings,
            in_app_messages_wait_for_their_person_until_clicked_dismissed_or_expired,
            tasks_stay_open_until_completed_or_declined_once,
            assets_are_kept_once_by_their_hash_with_their_bytes,
            segments_keep_their_members_hourly_counts_and_checks,
            dropped_transaction_rolls_back,
            unsynced_commits_are_visible_at_once_and_synced_on_request,
            refused_merges_show_on_both_profiles_and_follow_merges,
            dead_letters_are_kept_until_replayed,
            seen_names_are_kept_once_each,
            property_paths_are_kept_once_each_per_event_in_byte_order,
            node_counts_add_up_by_hour_with_a_waiting_gauge,
            the_funnel_per_content_counts_each_message_once_per_stage,
            users_are_unique_by_lowercased_email_and_deleting_one_deletes_their_credentials,
            sessions_expire_and_are_deleted,
            api_tokens_belong_to_a_user_and_note_their_use_at_most_once_per_period,
            the_audit_log_pages_newest_first,
            journeys_templates_sources_and_users_page_by_id_in_byte_order,
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if let Some(store) = ($make)() {
                    $crate::conformance::$name(&*store);
                }
            }
        )*
    };
}

fn t(ms: i64) -> Timestamp {
    Timestamp(ms)
}

fn event(id: &str, kind: Kind, raw: serde_json::Value, at: i64) -> Event {
    let env = Envelope { kind: Some(kind), received_at: t(at), sent_at: None, fallback_message_id: id };
    Event::parse(raw, &env).expect("valid test event")
}

fn run(journey: &str, wake: Option<i64>) -> Run {
    Run {
        journey: JourneyId(journey.into()),
        version: 1,
        status: if wake.is_some() { RunStatus::Waiting } else { RunStatus::Exited },
        node: Some("a".into()),
        wake_at: wake.map(t),
        exit_reason: None,
        entered_at: t(0),
        updated_at: t(0),
        seq: 1,
        trigger: Default::default(),
        trigger_event: "X".into(),
        control: false,
        held: false,
        converted_at: None,
        assignments: Default::default(),
        key: None,
        vars: Default::default(),
        goal_from: None,
        revenue: None,
        counts: Default::default(),
        reached: Default::default(),
    }
}

pub fn sources_and_write_keys(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    tx.create_source(&Source { id: SourceId("web".into()), write_key: "wk_1".into(), created_at: t(1) }).expect("create");
    let dup = tx.create_source(&Source { id: SourceId("app".into()), write_key: "wk_1".into(), created_at: t(1) });
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    tx.commit().expect("commit");
    let mut tx = store.read().expect("tx");
    assert_eq!(tx.source_by_key("wk_1").expect("lookup"), Some(SourceId("web".into())));
    assert_eq!(tx.source_by_key("nope").expect("lookup"), None);
    assert_eq!(tx.sources().expect("list").len(), 1);
}

pub fn events_deduplicate_by_source_and_message_id(store: &dyn Store) {
    let web = SourceId("web".into());
    let e = event("m1", Kind::Track, json!({"userId": "u", "event": "A"}), 10);
    let mut tx = store.write().expect("tx");
    let first = tx.insert_event(&web, &e, None).expect("insert");
    assert!(first.is_some());
    assert_eq!(tx.insert_event(&web, &e, None).expect("again"), None, "same messageId from the same source is a duplicate");
    assert!(tx.insert_event(&SourceId("app".into()), &e, None).expect("other source").is_some());
    assert!(tx.event_seen(&web, &e.message_id).expect("seen"));
    assert!(!tx.event_seen(&SourceId("pos".into()), &e.message_id).expect("seen"), "per source");
    assert!(!tx.event_seen(&web, &MessageId("m2".into())).expect("seen"));
    tx.commit().expect("commit");
    let mut tx = store.read().expect("tx");
    let all = tx.events_after(domain::ids::EventSeq(0), 10).expect("scan");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].event, e);
    assert!(all[0].seq < all[1].seq);
    assert_eq!(tx.events_after(all[0].seq, 10).expect("scan").len(), 1);
}

pub fn history_and_timeline_follow_the_person(store: &dyn Store) {
    let web = SourceId("web".into());
    let mut tx = store.write().expect("tx");
    let p = tx.create_profile(t(0)).expect("profile");
    for (i, (path, at)) in [("/products/a", 100), ("/blog", 200), ("/products/b", 300)].iter().enumerate() {
        let e = event(&format!("p{i}"), Kind::Page, json!({"userId": "u", "properties": {"path": path}}), *at);
        tx.insert_event(&web, &e, Some(p)).expect("insert").expect("new");
    }
    tx.commit().expect("commit");
    let mut tx = store.read().expect("tx");
    let props = tx.event_properties(p, "Page Viewed", t(101), t(300)).expect("history");
    assert_eq!(props.len(), 2, "window is [since, until]");
    assert_eq!(props.iter().filter(|(_, _, m)| m["path"] == json!("/products/b")).count(), 1);
    assert_eq!(props.iter().map(|(_, ts, _)| ts.0).collect::<Vec<_>>(), [200, 300]);
    assert_eq!(tx.event_properties(p, "Page Viewed", t(100), t(100)).expect("history").len(), 1);
    assert!(props[0].0 < props[1].0, "in log order");
    assert!(tx.event_properties(p, "Signed Up", t(0), t(1000)).expect("none").is_empty());
    let last = tx.last_event(p, "Page Viewed").expect("last").expect("one");
    assert_eq!(last.event.timestamp.0, 300);
    assert!(tx.last_event(p, "Signed Up").expect("none").is_none());
    let timeline = tx.timeline(p, 2).expect("timeline");
    assert_eq!(timeline.iter().map(|e| e.event.timestamp.0).collect::<Vec<_>>(), [300, 200]);
}

pub fn recent_events_are_one_persons_of_one_name_newest_first(store: &dyn Store) {
    let web = SourceId("web".into());
    let mut tx = store.write().expect("tx");
    let p = tx.create_profile(t(0)).expect("profile");
    let other = tx.create_profile(t(0)).expect("profile");
    // Log order, not timestamps, says which is newest: "v3" arrives last with an early time.
    for (id, who, name, at) in [
        ("v1", p, "Viewed", 100),
        ("s1", p, "Signed Up", 150),
        ("v2", p, "Viewed", 200),
        ("o1", other, "Viewed", 250),
        ("v3", p, "Viewed", 50),
    ] {
        tx.insert_event(&web, &event(id, Kind::Track, json!({"userId": "u", "event": name}), at), Some(who)).expect("insert").expect("new");
    }
    tx.commit().expect("commit");
    let mut tx = store.read().expect("tx");
    let ids = |events: Vec<crate::StoredEvent>| events.into_iter().map(|e| e.event.message_id.0).collect::<Vec<_>>();
    assert_eq!(ids(tx.recent_events(p, "Viewed", 10).expect("recent")), ["v3", "v2", "v1"]);
    assert_eq!(ids(tx.recent_events(p, "Viewed", 2).expect("recent")), ["v3", "v2"], "at most the limit");
    assert_eq!(ids(tx.recent_events(other, "Viewed", 10).expect("recent")), ["o1"]);
    assert!(tx.recent_events(p, "Ordered", 10).expect("none").is_empty());
}

pub fn identities_resolve_and_merge(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let known = tx.create_profile(t(0)).expect("p1");
    let anon = tx.create_profile(t(0)).expect("p2");
    let uid = Identity::UserId("alice".into());
    let aid = Identity::AnonymousId("a-1".into());
    tx.add_identity(&uid, known).expect("id");
    tx.add_identity(&aid, anon).expect("id");
    let mut p = Profile::new(anon);
    p.apply_traits(&json!({"utm": "ad"}).as_object().cloned().unwrap_or_default(), t(5));
    tx.save_profile(&p, t(5)).expect("save");
    let r = tx.insert_run(anon, &run("j", Some(50))).expect("run");
    tx.insert_event(&SourceId("web".into()), &event("e", Kind::Track, json!({"anonymousId": "a-1", "event": "X"}), 1), Some(anon))
        .expect("ev")
        .expect("new");
    tx.merge_profiles(known, anon, t(10)).expect("merge");
    assert_eq!(tx.profile_by_identity(&aid).expect("lookup"), Some(known));
    assert_eq!(tx.identities(known).expect("ids"), [aid.clone(), uid.clone()]);
    assert_eq!(tx.canonical(anon).expect("canonical"), Some(known));
    assert_eq!(
        tx.profiles_after(ProfileId(0), 10).expect("page").iter().map(|p| p.id).collect::<Vec<_>>(),
        [known],
        "merged profiles are not listed"
    );
    assert!(tx.profiles_after(known, 10).expect("page").is_empty());
    let other = tx.create_profile(t(0)).expect("p3");
    tx.add_identity(&Identity::UserId("alicia".into()), other).expect("id");
    assert_eq!(tx.find_profiles("ali", ProfileId(0), 10).expect("find"), [known, other], "by the start of any identity");
    assert_eq!(tx.find_profiles("ali", known, 10).expect("find"), [other], "the next page");
    assert_eq!(tx.find_profiles("a-", ProfileId(0), 10).expect("find"), [known], "a moved anonymous id finds its new profile");
    assert_eq!(tx.find_profiles("Ali", ProfileId(0), 10).expect("find"), [], "case matters");
    assert_eq!(tx.find_profiles("alice", ProfileId(0), 1).expect("find"), [known], "one profile once");
    assert_eq!(tx.canonical(known).expect("canonical"), Some(known));
    assert_eq!(tx.canonical(ProfileId(999_999)).expect("canonical"), None);
    assert_eq!(tx.run(r).expect("run").map(|r| r.profile), Some(known));
    assert_eq!(tx.timeline(known, 10).expect("timeline").len(), 1);
    assert_eq!(tx.profile(anon).expect("load").map(|p| p.traits["utm"].clone()), Some(json!("ad")));
    tx.commit().expect("commit");
}

pub fn journeys_publish_immutable_versions(store: &dyn Store) {
    let id = JourneyId("welcome".into());
    let mut tx = store.write().expect("tx");
    assert!(matches!(tx.publish(&id, t(0)), Err(Error::NotFound(_))));
    tx.save_draft(&id, &json!({"v": 1}), t(1)).expect("draft");
    assert_eq!(tx.published().expect("published").len(), 0);
    assert_eq!(tx.publish(&id, t(2)).expect("publish"), 1);
    tx.save_draft(&id, &json!({"v": 2}), t(3)).expect("draft 2");
    let live = tx.published().expect("published");
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].document, json!({"v": 1}), "editing the draft leaves the live version alone");
    assert_eq!(tx.publish(&id, t(4)).expect("publish"), 2);
    assert_eq!(tx.published().expect("published")[0].version, 2);
    assert_eq!(tx.journey_version(&id, 1).expect("v1").map(|v| v.document), Some(json!({"v": 1})));
    let versions = tx.journey_versions(&id).expect("versions");
    assert_eq!(versions.iter().map(|v| (v.version, v.published_at)).collect::<Vec<_>>(), [(2, t(4)), (1, t(2))], "newest first");
    let rec = tx.journey(&id).expect("get").expect("exists");
    assert_eq!((rec.published_version, rec.draft), (Some(2), json!({"v": 2})));
    assert_eq!(tx.journeys().expect("list").len(), 1);
    tx.set_journey_state(&id, JourneyState::Paused, t(5)).expect("pause");
    assert!(tx.published().expect("published").is_empty(), "paused journeys take no entries");
    assert_eq!(tx.journey(&id).expect("get").map(|j| j.state), Some(JourneyState::Paused));
    assert_eq!(tx.publish(&id, t(6)).expect("publish"), 3);
    assert_eq!(tx.journey(&id).expect("get").map(|j| j.state), Some(JourneyState::Active), "publishing makes it active");
    assert!(matches!(tx.set_journey_state(&JourneyId("nope".into()), JourneyState::Stopped, t(7)), Err(Error::NotFound(_))));
    tx.commit().expect("commit");
}

pub fn runs_timers_and_traces(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let p = tx.create_profile(t(0)).expect("p");
    let late = tx.insert_run(p, &run("a", Some(300))).expect("run");
    let early = tx.insert_run(p, &run("b", Some(100))).expect("run");
    let done = tx.insert_run(p, &run("c", None)).expect("run");
    assert_eq!(tx.next_wake().expect("next"), Some(t(100)));
    assert_eq!(tx.due_runs(t(300), 10).expect("due"), [(early, p), (late, p)], "earliest first, with the person");
    assert_eq!(tx.due_runs(t(99), 10).expect("due").len(), 0);
    let mut moved = run("b", None);
    moved.seq = 2;
    tx.update_run(early, &moved).expect("update");
    assert_eq!(tx.due_runs(t(1000), 10).expect("due"), [(late, p)]);
    assert_eq!(tx.runs_of(p).expect("runs").len(), 3);
    let again = tx.insert_run(p, &run("c", None)).expect("run");
    let current: Vec<_> = tx.current_runs(p).expect("current").into_iter().map(|r| r.id).collect();
    assert_eq!(current, [late, early, again], "waiting runs and the latest of each journey");
    // Keyed runs: the latest of each journey and key.
    let keyed = |key: &str| Run { key: Some(key.to_owned()), ..run("k", None) };
    let (c1, c2, c1_again) = (
        tx.insert_run(p, &keyed("c1")).expect("run"),
        tx.insert_run(p, &keyed("c2")).expect("run"),
        tx.insert_run(p, &keyed("c1")).expect("run"),
    );
    let current: Vec<_> = tx.current_runs(p).expect("current").into_iter().map(|r| r.id).collect();
    assert_eq!(current, [late, early, again, c2, c1_again], "the latest run of each journey and key");
    assert_ne!(c1, c1_again);
    assert_eq!(tx.run(c1_again).expect("run").and_then(|r| r.run.key), Some("c1".to_owned()), "the key is part of the run");
    assert_eq!(tx.count_runs(&JourneyId("c".into())).expect("count"), 2);
    assert_eq!(tx.journey_runs(&JourneyId("c".into())).expect("runs").into_iter().map(|r| r.id).collect::<Vec<_>>(), [done, again]);
    let page = |tx: &mut Box<dyn crate::Tx + '_>, after, n| {
        tx.journey_runs_page(&JourneyId("c".into()), after, n).expect("page").into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(page(&mut tx, RunId(0), 1), [done], "a page");
    assert_eq!(page(&mut tx, done, 5), [again], "the next page");
    assert_eq!(tx.run(done).expect("run").map(|r| r.run.status), Some(RunStatus::Exited));
    let first = TraceRecord { run: late, seq: 1, at: t(5), lines: vec![TraceLine::new(None, TraceKind::Entered, "entered on X")] };
    let check = Check {
        subject: "trait plan".into(),
        seen: Some(serde_json::Value::Null),
        op: "eq".into(),
        expected: Some(json!("pro")),
        reference: None,
        result: false,
        note: None,
    };
    let x = domain::ids::NodeId("x".into());
    let second = TraceRecord {
        run: late,
        seq: 2,
        at: t(6),
        lines: vec![
            TraceLine::new(Some(&x), TraceKind::Case, "x: case 0 false [trait plan = null eq \"pro\" -> false]").with_checks(vec![check]),
            TraceLine::new(Some(&x), TraceKind::Wait, "x: wait 1d"),
        ],
    };
    tx.add_trace(&second).expect("trace");
    tx.add_trace(&first).expect("trace");
    assert_eq!(tx.traces(late).expect("traces"), [first, second], "in order of seq, lines with their step, kind and checks");
    tx.commit().expect("commit");
}

pub fn outbox_lifecycle(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let p = tx.create_profile(t(0)).expect("p");
    let payload = |key: &str| OutboxPayload {
        v: 1,
        effect: domain::journey::Effect::Send {
            node: domain::ids::NodeId(key.into()),
            channel: domain::journey::Channel::Email,
            template: TemplateId("hello".into()),
            cap: None,
            outranked: None,
        },
        to: Some("a@x.test".into()),
        context: TemplateContext::default(),
    };
    let entry =
        |key: &str| NewOutbox { key: key.into(), profile: p, run: None, channel: "email".into(), payload: payload(key), due: t(10) };
    let a = tx.enqueue(&entry("r1:1:0"), t(0)).expect("enqueue");
    let b = tx.enqueue(&entry("r1:1:1"), t(0)).expect("enqueue");
    let c = tx.enqueue(&entry("r1:1:2"), t(0)).expect("enqueue");
    assert!(matches!(tx.enqueue(&entry("r1:1:0"), t(0)), Err(Error::Conflict(_))), "idempotency keys are unique");
    assert_eq!(tx.due_outbox("email", t(9), 10).expect("due").len(), 0);
    assert_eq!(tx.outbox_pending().expect("pending"), [("email".to_owned(), 3)]);
    assert_eq!((tx.due_outbox("sms", t(10), 10).expect("due").len(), tx.next_outbox_due("sms").expect("next")), (0, None), "per channel");
    assert_eq!(tx.next_outbox_due("email").expect("next"), Some(t(10)));
    assert_eq!(tx.due_outbox("email", t(10), 10).expect("due").iter().map(|e| e.id).collect::<Vec<_>>(), [a, b, c]);
    tx.record_attempt(a, &Attempt::Retry { at: t(50), error: "421 try later".into() }, t(11)).expect("retry");
    tx.record_attempt(b, &Attempt::Sent { result: json!({"smtp": "250"}), capped: true }, t(11)).expect("sent");
    tx.record_attempt(c, &Attempt::Failed { error: "550 no such user".into(), result: None }, t(11)).expect("failed");
    let ea = tx.outbox_entry(a).expect("get").expect("exists");
    assert_eq!(
        (ea.status, ea.attempts, ea.next_attempt_at, ea.last_error.as_deref()),
        (OutboxStatus::Pending, 1, t(50), Some("421 try later"))
    );
    tx.record_attempt(a, &Attempt::Captured { result: json!({"subject": "Hi"}), capped: true }, t(51)).expect("captured");
    let ea = tx.outbox_entry(a).expect("get").expect("exists");
    assert_eq!((ea.status, ea.attempts, ea.result), (OutboxStatus::Captured, 2, Some(json!({"subject": "Hi"}))));
    assert_eq!(ea.payload, payload("r1:1:0"), "the payload reads back as written");
    assert_eq!(tx.outbox_by_key("r1:1:0").expect("by key").map(|e| e.id), Some(a));
    assert_eq!(tx.outbox_by_key("r9:9:9").expect("by key"), None);
    assert_eq!(tx.due_outbox("email", t(1000), 10).expect("due").len(), 0);
    assert_eq!(tx.messages(Some(OutboxStatus::Failed), None, None, 10).expect("failed")[0].last_error.as_deref(), Some("550 no such user"));
    assert_eq!(tx.messages(None, Some(p), None, 10).expect("all").iter().map(|e| e.id).collect::<Vec<_>>(), [c, b, a]);
    assert_eq!(tx.messages(None, Some(ProfileId(p.0 + 1000)), None, 10).expect("none").len(), 0);
    assert_eq!(tx_ids(tx.messages(None, Some(p), None, 2).expect("page")), [c, b], "a page");
    assert_eq!(tx_ids(tx.messages(None, Some(p), Some(b), 2).expect("page")), [a], "the next page starts below the last id seen");
    // A failed message retried by hand: due again, same key, attempts go on counting.
    assert!(!tx.retry_failed(a, t(60)).expect("retry"), "only a failed message is retried");
    assert_eq!(tx.outbox_pending().expect("pending"), []);
    // b was sent and a captured at t(11) and t(51); c failed.
    assert_eq!(tx.sends_since(p, Some("email"), t(11)).expect("count"), 2);
    assert_eq!(tx.sends_since(p, Some("email"), t(12)).expect("count"), 1, "only what was sent since");
    assert_eq!(tx.sends_since(p, Some("sms"), t(0)).expect("count"), 0, "per channel");
    assert_eq!(tx.sends_since(p, None, t(11)).expect("count"), 2, "on every channel");
    assert_eq!(tx.sends_since(ProfileId(p.0 + 1000), None, t(0)).expect("count"), 0, "per person");
    assert!(tx.retry_failed(c, t(60)).expect("retry"));
    let ec = tx.outbox_entry(c).expect("get").expect("exists");
    assert_eq!((ec.status, ec.attempts, ec.next_attempt_at, ec.key.as_str()), (OutboxStatus::Pending, 1, t(60), "r1:1:2"));
    assert_eq!(tx.due_outbox("email", t(60), 10).expect("due").iter().map(|e| e.id).collect::<Vec<_>>(), [c]);
    assert!(!tx.retry_failed(c, t(61)).expect("retry"), "pending already");
    let d = tx.enqueue(&entry("r1:1:3"), t(0)).expect("enqueue");
    tx.record_attempt(d, &Attempt::Suppressed { reason: "unsubscribed".into() }, t(11)).expect("suppressed");
    let ed = tx.outbox_entry(d).expect("get").expect("exists");
    assert_eq!((ed.status, ed.attempts, ed.last_error.as_deref()), (OutboxStatus::Suppressed, 1, Some("unsubscribed")));
    assert!(!tx.retry_failed(d, t(62)).expect("retry"), "only failed messages are retried");
    // A journey's cap counts the marketing messages its runs sent the person.
    let news = tx.insert_run(p, &run("news", None)).expect("run");
    let other = tx.insert_run(p, &run("other", None)).expect("run");
    for (key, r, capped) in [("j1", news, true), ("j2", news, false), ("j3", other, true)] {
        let id = tx.enqueue(&NewOutbox { run: Some(r), ..entry(key) }, t(0)).expect("enqueue");
        tx.record_attempt(id, &Attempt::Sent { result: json!({}), capped }, t(70)).expect("sent");
    }
    let journey = |j: &str| JourneyId(j.into());
    assert_eq!(tx.journey_sends_since(p, &journey("news"), t(70)).expect("count"), 1, "marketing ones only");
    assert_eq!(tx.journey_sends_since(p, &journey("news"), t(71)).expect("count"), 0, "since");
    assert_eq!(tx.journey_sends_since(p, &journey("other"), t(0)).expect("count"), 1, "per journey");
    assert_eq!(tx.journey_sends_since(ProfileId(p.0 + 1000), &journey("news"), t(0)).expect("count"), 0, "per person");
    // Who was messaged at an address: each person once, the one messaged last first.
    let q = tx.create_profile(t(0)).expect("q");
    let text = |key: &str, who: ProfileId, to: &str| NewOutbox {
        key: key.into(),
        profile: who,
        run: None,
        channel: "sms".into(),
        payload: OutboxPayload { to: Some(to.into()), ..payload(key) },
        due: t(10),
    };
    tx.enqueue(&text("s1", p, "+14155550100"), t(0)).expect("enqueue");
    tx.enqueue(&text("s2", q, "+14155550100"), t(0)).expect("enqueue");
    tx.enqueue(&text("s3", p, "+14155550100"), t(0)).expect("enqueue");
    tx.enqueue(&text("s4", q, "+14155550199"), t(0)).expect("enqueue");
    assert_eq!(tx.messaged_at("sms", "+14155550100", 10).expect("at"), [p, q]);
    assert_eq!(tx.messaged_at("sms", "+14155550100", 1).expect("at"), [p], "at most the limit");
    assert_eq!(tx.messaged_at("sms", "+14155550199", 10).expect("at"), [q]);
    assert_eq!(tx.messaged_at("email", "+14155550100", 10).expect("at"), [], "per channel");
    assert_eq!(tx.messaged_at("email", "a@x.test", 10).expect("at"), [p]);
    assert_eq!(tx.messaged_at("email", "A@X.test", 10).expect("at"), [p], "email addresses in any case");
    tx.commit().expect("commit");
}

pub fn templates_and_settings(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let tpl = Template {
        id: TemplateId("hi".into()),
        subject: "Hi {{ traits.firstName }}".into(),
        html: "<p>Hi</p>".into(),
        text: "Hi".into(),
        category: Category::Marketing,
        sms: "Hi {{ traits.firstName }}, see you at 9".into(),
        push: PushContent { title: "Hi".into(), link: "https://x.test/{{ event.id }}".into(), ..PushContent::default() },
        in_app: InAppContent { placement: "home".into(), layout: InAppLayout::Modal, body: "Hi".into(), ..InAppContent::default() },
        locales: [("fr".to_owned(), crate::Translation { subject: "Salut".into(), ..Default::default() })].into_iter().collect(),
        updated_at: t(1),
    };
    tx.put_template(&tpl).expect("put");
    tx.put_template(&Template { subject: "Hello".into(), category: Category::Transactional, ..tpl.clone() }).expect("replace");
    assert_eq!(
        tx.template(&tpl.id).expect("get").map(|t| (t.subject, t.category, t.sms, t.push, t.in_app, t.locales)),
        Some(("Hello".into(), Category::Transactional, tpl.sms.clone(), tpl.push.clone(), tpl.in_app.clone(), tpl.locales.clone()))
    );
    assert_eq!(tx.templates().expect("list").len(), 1);
    assert_eq!(tx.setting("admin_token").expect("get"), None);
    tx.set_setting("admin_token", "x").expect("set");
    tx.set_setting("admin_token", "y").expect("set");
    assert_eq!(tx.setting("admin_token").expect("get"), Some("y".into()));
    let p = ProfileId(7);
    assert_eq!(tx.counter(p, "q1").expect("counter"), None);
    tx.save_counter(p, "q1", "[1]").expect("save");
    tx.save_counter(p, "q1", "[2]").expect("replace");
    tx.save_counter(p, "q2", "[3]").expect("save");
    assert_eq!(tx.counter(p, "q1").expect("counter"), Some("[2]".into()));
    tx.delete_counters(p).expect("delete");
    assert_eq!(tx.counter(p, "q2").expect("counter"), None);
    tx.commit().expect("commit");
}

pub fn in_app_messages_wait_for_their_person_until_clicked_dismissed_or_expired(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let (ann, bob) = (tx.create_profile(t(0)).expect("profile"), tx.create_profile(t(0)).expect("profile"));
    let message = |id: i64, profile: ProfileId, placement: &str, expires: i64| InAppMessage {
        id: OutboxId(id),
        profile,
        journey: JourneyId("welcome".into()),
        template: TemplateId("hello".into()),
        content: InAppContent { placement: placement.into(), title: format!("m{id}"), ..InAppContent::default() },
        created_at: t(1),
        expires_at: t(expires),
        viewed_at: None,
        clicked_at: None,
        dismissed_at: None,
    };
    assert!(tx.put_in_app(&message(1, ann, "home", 100)).expect("put"));
    assert!(tx.put_in_app(&message(2, ann, "", 100)).expect("put"));
    assert!(tx.put_in_app(&message(3, ann, "cart", 100)).expect("put"));
    assert!(tx.put_in_app(&message(4, ann, "home", 6)).expect("put"));
    assert!(tx.put_in_app(&message(5, bob, "home", 100)).expect("put"));
    let repeat =
        InAppMessage { content: InAppContent { title: "again".into(), ..InAppContent::default() }, ..message(1, ann, "home", 100) };
    assert!(!tx.put_in_app(&repeat).expect("put"), "a repeat is recognised");
    let ids = |m: Vec<InAppMessage>| m.into_iter().map(|m| m.id.0).collect::<Vec<_>>();
    assert_eq!(ids(tx.in_app_messages(ann, "home", t(5), 10).expect("read")), [4, 2, 1], "the place's and any place's, newest first");
    assert_eq!(ids(tx.in_app_messages(ann, "home", t(6), 10).expect("read")), [2, 1], "an expired one is gone");
    assert_eq!(ids(tx.in_app_messages(ann, "cart", t(5), 1).expect("read")), [3], "at most the limit");
    assert_eq!(tx.in_app_message(OutboxId(1)).expect("get").map(|m| m.content.title), Some("m1".into()), "the first is kept");
    assert!(tx.mark_in_app(OutboxId(1), InAppAction::Viewed, t(6)).expect("mark"));
    assert!(!tx.mark_in_app(OutboxId(1), InAppAction::Viewed, t(7)).expect("mark"), "the first view counts");
    assert_eq!(ids(tx.in_app_messages(ann, "home", t(8), 10).expect("read")), [2, 1], "a viewed one still shows");
    assert!(tx.mark_in_app(OutboxId(1), InAppAction::Clicked, t(8)).expect("mark"));
    assert!(tx.mark_in_app(OutboxId(2), InAppAction::Dismissed, t(8)).expect("mark"));
    assert_eq!(ids(tx.in_app_messages(ann, "home", t(8), 10).expect("read")), Vec::<i64>::new(), "clicked and dismissed ones are done");
    let one = tx.in_app_message(OutboxId(1)).expect("get").expect("kept");
    assert_eq!((one.viewed_at, one.clicked_at, one.dismissed_at), (Some(t(6)), Some(t(8)), None));
    assert!(!tx.mark_in_app(OutboxId(99), InAppAction::Clicked, t(8)).expect("mark"), "no such message");
    // A merge brings the loser's messages to the winner.
    tx.merge_profiles(ann, bob, t(9)).expect("merge");
    assert_eq!(ids(tx.in_app_messages(ann, "home", t(9), 10).expect("read")), [5]);
    tx.commit().expect("commit");
}

pub fn tasks_stay_open_until_completed_or_declined_once(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let (ann, bob) = (tx.create_profile(t(0)).expect("profile"), tx.create_profile(t(0)).expect("profile"));
    let task = |id: i64, profile: ProfileId, assignee: Option<&str>, team: Option<&str>| Task {
        id: OutboxId(id),
        profile,
        journey: JourneyId("leads".into()),
        node: domain::ids::NodeId("call".into()),
        title: format!("Call {id}"),
        body: String::new(),
        assignee: assignee.map(str::to_owned),
        team: team.map(str::to_owned),
        due_at: Some(t(100)),
        created_at: t(1),
        status: TaskStatus::Open,
        closed_at: None,
        closed_by: None,
        note: None,
    };
    assert!(tx.put_task(&task(1, ann, Some("sam@acme.test"), Some("sales"))).expect("put"));
    assert!(tx.put_task(&task(2, ann, None, Some("sales"))).expect("put"));
    assert!(tx.put_task(&task(3, bob, None, None)).expect("put"));
    assert!(!tx.put_task(&Task { title: "again".into(), ..task(1, ann, None, None) }).expect("put"), "a repeat is recognised");
    let ids = |v: Vec<Task>| v.into_iter().map(|t| t.id.0).collect::<Vec<_>>();
    let all = TaskFilter::default();
    assert_eq!(ids(tx.tasks(&all, None, 10).expect("list")), [1, 2, 3], "oldest first");
    assert_eq!(ids(tx.tasks(&all, Some(OutboxId(1)), 1).expect("list")), [2], "a page after the cursor");
    let sales = TaskFilter { team: Some("sales".into()), ..TaskFilter::default() };
    assert_eq!(ids(tx.tasks(&sales, None, 10).expect("list")), [1, 2]);
    let sam = TaskFilter { assignee: Some("sam@acme.test".into()), ..TaskFilter::default() };
    assert_eq!(ids(tx.tasks(&sam, None, 10).expect("list")), [1]);
    assert_eq!(tx.task(OutboxId(1)).expect("get").map(|t| (t.title, t.due_at)), Some(("Call 1".into(), Some(t(100)))));
    assert!(tx.close_task(OutboxId(1), TaskStatus::Completed, "user:sam@acme.test", Some("booked a demo"), t(5)).expect("close"));
    assert!(!tx.close_task(OutboxId(1), TaskStatus::Declined, "user:kim@acme.test", None, t(6)).expect("close"), "closed once");
    assert!(tx.close_task(OutboxId(2), TaskStatus::Declined, "user:kim@acme.test", None, t(6)).expect("close"));
    let done = tx.task(OutboxId(1)).expect("get").expect("kept");
    assert_eq!(
        (done.status, done.closed_at, done.closed_by.as_deref(), done.note.as_deref()),
        (TaskStatus::Completed, Some(t(5)), Some("user:sam@acme.test"), Some("booked a demo"))
    );
    let open = TaskFilter { status: Some(TaskStatus::Open), ..TaskFilter::default() };
    assert_eq!(ids(tx.tasks(&open, None, 10).expect("list")), [3]);
    // A merge brings the loser's tasks to the winner.
    tx.merge_profiles(ann, bob, t(9)).expect("merge");
    let anns = TaskFilter { profile: Some(ann), ..TaskFilter::default() };
    assert_eq!(ids(tx.tasks(&anns, None, 10).expect("list")), [1, 2, 3]);
    tx.commit().expect("commit");
}

pub fn assets_are_kept_once_by_their_hash_with_their_bytes(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let png: Vec<u8> = (0u8..=255).chain([0, 0, 0, 1]).collect();
    let a = tx.put_asset("aa11", "image/png", "logo.png", &png, t(1)).expect("put");
    assert_eq!(
        (a.hash.as_str(), a.content_type.as_str(), a.name.as_str(), a.size, a.created_at),
        ("aa11", "image/png", "logo.png", 260, t(1))
    );
    let again = tx.put_asset("aa11", "image/png", "logo-copy.png", &png, t(2)).expect("put");
    assert_eq!(again, a, "the same bytes are kept once, as first uploaded");
    let b = tx.put_asset("bb22", "image/gif", "dot.gif", b"GIF89a", t(3)).expect("put");
    let (kept, bytes) = tx.asset("aa11").expect("get").expect("kept");
    assert_eq!((kept, bytes), (a.clone(), png), "every byte back, zeros included");
    assert_eq!(tx.asset("cc33").expect("get"), None);
    assert_eq!(tx.assets(None, 10).expect("list"), [b.clone(), a.clone()], "newest first");
    assert_eq!(tx.assets(Some(b.id), 10).expect("list"), [a], "before the cursor");
    tx.commit().expect("commit");
}

pub fn dropped_transaction_rolls_back(store: &dyn Store) {
    {
        let mut tx = store.write().expect("tx");
        tx.set_setting("k", "v").expect("set");
        let e = event("m", Kind::Track, json!({"userId": "u", "event": "A"}), 1);
        tx.insert_event(&SourceId("web".into()), &e, None).expect("insert");
        // dropped here without commit
    }
    let mut tx = store.read().expect("tx");
    assert_eq!(tx.setting("k").expect("get"), None);
    assert!(tx.events_after(domain::ids::EventSeq(0), 10).expect("scan").is_empty());
    let _ = MessageId("unused".into());
}

pub fn unsynced_commits_are_visible_at_once_and_synced_on_request(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    tx.set_setting("first", "1").expect("set");
    tx.commit_unsynced().expect("commit");
    assert_eq!(store.read().expect("tx").setting("first").expect("get").as_deref(), Some("1"), "visible before the sync");
    let mut tx = store.write().expect("tx");
    tx.set_setting("second", "2").expect("set");
    tx.commit_unsynced().expect("commit");
    store.sync().expect("sync");
    let mut tx = store.write().expect("tx");
    tx.set_setting("third", "3").expect("set");
    tx.commit().expect("durable commit");
    let mut tx = store.read().expect("tx");
    for (k, v) in [("first", "1"), ("second", "2"), ("third", "3")] {
        assert_eq!(tx.setting(k).expect("get").as_deref(), Some(v));
    }
}

pub fn refused_merges_show_on_both_profiles_and_follow_merges(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let (alice, bob, later) =
        (tx.create_profile(t(0)).expect("p"), tx.create_profile(t(0)).expect("p"), tx.create_profile(t(0)).expect("p"));
    let refused = RefusedMerge {
        profile: bob,
        other: alice,
        identity: Identity::AnonymousId("device-1".into()),
        reason: "a profile holds at most one userId".into(),
        message_id: MessageId("m7".into()),
        at: t(5),
    };
    tx.add_refused_merge(&refused).expect("add");
    assert_eq!(tx.refused_merges(alice).expect("list"), std::slice::from_ref(&refused));
    assert_eq!(tx.refused_merges(bob).expect("list"), std::slice::from_ref(&refused));
    assert!(tx.refused_merges(later).expect("list").is_empty());
    tx.merge_profiles(later, alice, t(9)).expect("merge");
    assert_eq!(tx.refused_merges(later).expect("list"), [RefusedMerge { other: later, ..refused }], "moves with the person");
    tx.commit().expect("commit");
}

pub fn dead_letters_are_kept_until_replayed(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let p = tx.create_profile(t(0)).expect("p");
    let input = DeadInput::Api { journey: JourneyId("j".into()), payload: json!({"plan": "pro"}).as_object().cloned().unwrap_or_default() };
    let first = tx.add_dead_letter(p, &[DeadInput::Event { seq: domain::ids::EventSeq(3) }], "panicked: boom", t(1)).expect("add");
    let inputs = [DeadInput::Timer { run: domain::ids::RunId(4), wake_at: Some(t(3)) }, input];
    let second = tx.add_dead_letter(p, &inputs, "panicked: again", t(2)).expect("add");
    assert_ne!(first, second);
    let listed = tx.dead_letters(None, 10).expect("list");
    assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), [second, first], "newest first");
    let next = tx.dead_letters(Some(second), 10).expect("next page");
    assert_eq!(next.iter().map(|d| d.id).collect::<Vec<_>>(), [first], "the next page");
    assert_eq!((listed[0].inputs.as_slice(), listed[0].error.as_str(), listed[0].replayed_at), (&inputs[..], "panicked: again", None));
    tx.mark_replayed(first, t(8)).expect("mark");
    assert_eq!(tx.dead_letter(first).expect("one").and_then(|d| d.replayed_at), Some(t(8)));
    assert_eq!(tx.dead_letter(domain::ids::DeadLetterId(999_999)).expect("none"), None);
    tx.commit().expect("commit");
}

pub fn seen_names_are_kept_once_each(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    tx.note_names(NameKind::Event, &["Order Completed", "Page Viewed"]).expect("note");
    tx.note_names(NameKind::Event, &["Page Viewed"]).expect("again");
    tx.note_names(NameKind::Trait, &["email"]).expect("note");
    assert_eq!(tx.seen_names(NameKind::Event).expect("list"), ["Order Completed", "Page Viewed"]);
    assert_eq!(tx.seen_names(NameKind::Trait).expect("list"), ["email"]);
    tx.commit().expect("commit");
}

pub fn property_paths_are_kept_once_each_per_event_in_byte_order(store: &dyn Store) {
    let p = |event: &str, path: &str| PropertyPath { event: event.into(), path: path.into() };
    let mut tx = store.write().expect("tx");
    assert_eq!(tx.property_paths().expect("none yet"), []);
    tx.note_property_paths(&[p("Order Completed", "total"), p("Order Completed", "cart.total"), p("Page Viewed", "path")]).expect("note");
    // Known again, and the same path under another event (kept apart), and a database collation
    // (PostgreSQL's may not be byte order) must not reorder them.
    tx.note_property_paths(&[p("Order Completed", "total"), p("Order Completed", "cart_id"), p("Order Completed", "Cart")]).expect("again");
    tx.note_property_paths(&[p("checkout", "total"), p("Page Viewed", "path")]).expect("other events");
    tx.note_property_paths(&[]).expect("nothing");
    tx.commit().expect("commit");
    let expected = [
        p("Order Completed", "Cart"),
        p("Order Completed", "cart.total"),
        p("Order Completed", "cart_id"),
        p("Order Completed", "total"),
        p("Page Viewed", "path"),
        p("checkout", "total"),
    ];
    assert_eq!(store.read().expect("tx").property_paths().expect("list"), expected, "committed, once each, sorted by event then path");
    // They are apart from the event names.
    assert_eq!(store.read().expect("tx").seen_names(NameKind::Event).expect("names"), Vec::<String>::new());
}

fn tx_ids(entries: Vec<OutboxEntry>) -> Vec<OutboxId> {
    entries.iter().map(|e| e.id).collect()
}

pub fn node_counts_add_up_by_hour_with_a_waiting_gauge(store: &dyn Store) {
    const HOUR: i64 = 3_600_000;
    let (j, other) = (JourneyId("welcome".into()), JourneyId("other".into()));
    // 10:00 UTC on some day, and times within that hour and the next.
    let h = t(1_800_000_000_000 / HOUR * HOUR);
    let (ten_past, twenty_past, next_hour) = (t(h.0 + 600_000), t(h.0 + 1_200_000), t(h.0 + HOUR + 5));
    assert_eq!(NodeDeltas::hour(twenty_past), h);
    assert_eq!(NodeDeltas::hour(next_hour), t(h.0 + HOUR));
    let mut tx = store.write().expect("tx");
    assert!(tx.node_counts(&j, t(0), t(i64::MAX)).expect("read").is_empty(), "nothing counted yet");
    // One transaction's changes: gathered per (journey, node, hour), written at once.
    let mut d = NodeDeltas::default();
    d.at(&j, ENTRY_NODE, ten_past).entered += 2;
    d.at(&j, ENTRY_NODE, twenty_past).passed += 2;
    d.at(&j, "ask", ten_past).entered += 2;
    d.at(&j, "ask", next_hour).passed += 1;
    d.at(&j, "ask", next_hour).converted += 1;
    d.at(&j, "thanks", next_hour).entered += 1;
    d.at(&j, "thanks", next_hour).exited += 1;
    d.at(&j, "idle", next_hour).entered += 0;
    d.wait(&j, "ask", 2);
    d.wait(&j, "ask", -1);
    d.wait(&j, "idle", 0);
    d.at(&other, "ask", ten_past).entered += 7;
    d.wait(&other, "ask", 7);
    assert_eq!(d.counts.len(), 6, "one row per journey, node and hour: {:?}", d.counts.keys());
    tx.add_node_counts(&d).expect("add");
    tx.commit().expect("commit");
    // A later transaction adds to the same rows.
    let mut tx = store.write().expect("tx");
    let mut d = NodeDeltas::default();
    d.at(&j, ENTRY_NODE, next_hour).entered += 1;
    d.at(&j, "ask", twenty_past).entered += 1;
    d.wait(&j, "ask", 1);
    tx.add_node_counts(&d).expect("add");
    tx.add_node_counts(&NodeDeltas::default()).expect("nothing to add");
    tx.commit().expect("commit");

    let mut tx = store.read().expect("tx");
    let counts = |e, p, x, c, w| NodeCounts { entered: e, passed: p, exited: x, converted: c, waiting: w };
    let both_hours = tx.node_counts(&j, h, t(h.0 + 2 * HOUR)).expect("read");
    let shown: Vec<(&str, NodeCounts)> = both_hours.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    assert_eq!(
        shown,
        [(ENTRY_NODE, counts(3, 2, 0, 0, 0)), ("ask", counts(3, 1, 0, 1, 2)), ("thanks", counts(1, 0, 1, 0, 0))],
        "zero changes write nothing (no `idle`)"
    );
    let first_hour = tx.node_counts(&j, h, t(h.0 + HOUR)).expect("read");
    assert_eq!(first_hour.get(ENTRY_NODE), Some(&counts(2, 2, 0, 0, 0)));
    assert_eq!(first_hour.get("ask"), Some(&counts(3, 0, 0, 0, 2)), "the gauge is now, whatever the range");
    assert_eq!(first_hour.get("thanks"), None);
    // The hours that start in [from, to): 10:30 leaves 10:00-11:00 out.
    let from_half_past = tx.node_counts(&j, t(h.0 + HOUR / 2), t(h.0 + 2 * HOUR)).expect("read");
    assert_eq!(from_half_past.get(ENTRY_NODE), Some(&counts(1, 0, 0, 0, 0)));
    let before = tx.node_counts(&j, t(0), h).expect("read");
    assert_eq!(before.into_iter().collect::<Vec<_>>(), [("ask".to_owned(), counts(0, 0, 0, 0, 2))], "only the gauge");
    assert_eq!(tx.node_counts(&other, t(0), t(i64::MAX)).expect("read").get("ask"), Some(&counts(7, 0, 0, 0, 7)), "per journey");
    drop(tx);
    // The gauge back at zero: the node shows nothing when nothing was counted in the range.
    let mut tx = store.write().expect("tx");
    let mut d = NodeDeltas::default();
    d.wait(&j, "ask", -2);
    tx.add_node_counts(&d).expect("add");
    assert!(tx.node_counts(&j, t(0), h).expect("read").is_empty());
    assert_eq!(tx.node_counts(&j, h, t(h.0 + HOUR)).expect("read").get("ask"), Some(&counts(3, 0, 0, 0, 0)));
    // The same counts hour by hour, by hour then node.
    let series = tx.node_count_series(&j, t(0), t(i64::MAX)).expect("series");
    let shown: Vec<(i64, &str, i64, i64)> =
        series.iter().map(|s| (s.hour.0 - h.0, s.node.as_str(), s.tally.entered, s.tally.passed)).collect();
    assert_eq!(
        shown,
        [(0, ENTRY_NODE, 2, 2), (0, "ask", 3, 0), (HOUR, ENTRY_NODE, 1, 0), (HOUR, "ask", 0, 1), (HOUR, "thanks", 1, 0)],
        "zero changes write nothing"
    );
    assert_eq!(
        tx.node_count_series(&j, t(h.0 + 1), t(h.0 + 2 * HOUR)).expect("series"),
        [
            NodeHour { hour: t(h.0 + HOUR), node: ENTRY_NODE.into(), tally: NodeTally { entered: 1, ..NodeTally::default() } },
            NodeHour { hour: t(h.0 + HOUR), node: "ask".into(), tally: NodeTally { passed: 1, converted: 1, ..NodeTally::default() } },
            NodeHour { hour: t(h.0 + HOUR), node: "thanks".into(), tally: NodeTally { entered: 1, exited: 1, ..NodeTally::default() } },
        ],
        "the hours that start in the range"
    );
    assert!(tx.node_count_series(&other, t(h.0 + HOUR), t(i64::MAX)).expect("series").is_empty(), "per journey");
    tx.commit().expect("commit");
    assert!(NodeTally::default().is_zero());
}

pub fn the_funnel_per_content_counts_each_message_once_per_stage(store: &dyn Store) {
    const HOUR: i64 = 3_600_000;
    let h = 1_800_000_000_000 / HOUR * HOUR;
    let mut tx = store.write().expect("tx");
    let p = tx.create_profile(t(0)).expect("p");
    let run = |j: &str| -> Run {
        serde_json::from_value(json!({
            "journey": j, "version": 1, "status": "waiting", "node": null, "wake_at": null, "exit_reason": null,
            "entered_at": 0, "updated_at": 0, "seq": 1, "trigger": {}, "trigger_event": "Go"}))
        .expect("run")
    };
    let (r1, r2) = (tx.insert_run(p, &run("cart")).expect("run"), tx.insert_run(p, &run("cart")).expect("run"));
    let send = |node: &str, template: &str, channel: domain::journey::Channel| domain::journey::Effect::Send {
        node: domain::ids::NodeId(node.into()),
        channel,
        template: TemplateId(template.into()),
        cap: None,
        outranked: None,
    };
    let message = |key: &str, run: RunId, effect: domain::journey::Effect, channel: &str| NewOutbox {
        key: key.into(),
        profile: p,
        run: Some(run),
        channel: channel.into(),
        payload: OutboxPayload {
            v: 1,
            effect,
            to: Some("a@x.test".into()),
            context: TemplateContext { journey: JourneyId("cart".into()), ..TemplateContext::default() },
        },
        due: t(h),
    };
    use domain::journey::Channel::{Email, Sms};
    // Two emails of step `remind` in the first hour (one per run), one text of step `nudge` in
    // the next; and a webhook, which is no content.
    let a = tx.enqueue(&message("a", r1, send("remind", "cart-a", Email), "email"), t(h + 5)).expect("a");
    let b = tx.enqueue(&message("b", r2, send("remind", "cart-a", Email), "email"), t(h + 6)).expect("b");
    let c = tx.enqueue(&message("c", r1, send("nudge", "cart-sms", Sms), "sms"), t(h + HOUR + 1)).expect("c");
    let hook = domain::journey::Effect::Webhook {
        node: domain::ids::NodeId("crm".into()),
        url: "https://x.test".into(),
        method: "POST".into(),
        body: None,
        save: Default::default(),
    };
    let w = tx.enqueue(&message("w", r1, hook, "webhook"), t(h + 7)).expect("w");
    for id in [a, b, c, w] {
        tx.reach(Messages::Id(id), MessageStage::Sent).expect("sent");
    }
    tx.reach(Messages::Id(a), MessageStage::Sent).expect("again: counted once");
    tx.reach(Messages::Id(a), MessageStage::Opened).expect("opened");
    tx.reach(Messages::Id(a), MessageStage::Opened).expect("opened twice: once");
    tx.reach(Messages::Key("a"), MessageStage::Clicked).expect("clicked, by key");
    tx.reach(Messages::Key("b"), MessageStage::Delivered).expect("delivered");
    tx.reach(Messages::Key("nobody"), MessageStage::Delivered).expect("an unknown key: nothing");
    tx.reach(Messages::Id(OutboxId(c.0 + 1000)), MessageStage::Opened).expect("an unknown id: nothing");
    // Run 1 converts: its messages sent (a, c) count; run 2's (b) does not.
    tx.reach(Messages::SentInRun(r1), MessageStage::Converted).expect("converted");
    tx.reach(Messages::SentInRun(r1), MessageStage::Converted).expect("converted again: once");
    tx.commit().expect("commit");

    let mut tx = store.read().expect("tx");
    let funnel = |node: &str, template: &str, channel: &str, counts: [i64; 5]| ContentFunnel {
        node: node.into(),
        template: template.into(),
        channel: channel.into(),
        sent: counts[0],
        delivered: counts[1],
        opened: counts[2],
        clicked: counts[3],
        converted: counts[4],
    };
    let cart = JourneyId("cart".into());
    assert_eq!(
        tx.content_funnel(&cart, t(0), t(i64::MAX)).expect("funnel"),
        [funnel("nudge", "cart-sms", "sms", [1, 0, 0, 0, 1]), funnel("remind", "cart-a", "email", [2, 1, 1, 1, 1])],
        "by step then template; the webhook is no content"
    );
    assert_eq!(
        tx.content_funnel(&cart, t(h), t(h + HOUR)).expect("funnel"),
        [funnel("remind", "cart-a", "email", [2, 1, 1, 1, 1])],
        "the messages made in the range"
    );
    assert!(tx.content_funnel(&JourneyId("other".into()), t(0), t(i64::MAX)).expect("funnel").is_empty(), "per journey");
    assert_eq!(MessageStage::ALL.len(), 5);
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser { email: email.into(), name: "Ann".into(), role, password_hash: "$argon2id$v=19$x".into(), now: t(5) }
}

fn session(hash: &str, user: UserId, at: i64, expires: i64) -> Session {
    Session { token_sha256: hash.into(), user, csrf_token: format!("csrf-{hash}"), created_at: t(at), expires_at: t(expires) }
}

fn token(user: UserId, name: &str, hash: &str) -> ApiToken {
    ApiToken { id: ApiTokenId(0), user, name: name.into(), token_sha256: hash.into(), created_at: t(7), last_used_at: None }
}

pub fn users_are_unique_by_lowercased_email_and_deleting_one_deletes_their_credentials(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let ann = tx.create_user(&new_user("Ann@Acme.test", Role::Admin)).expect("create");
    let dup = tx.create_user(&new_user("ann@acme.TEST", Role::Viewer));
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    let bob = tx.create_user(&new_user("bob@acme.test", Role::Viewer)).expect("create");
    tx.commit().expect("commit");

    let mut tx = store.write().expect("tx");
    let mut found = tx.user_by_email("ANN@acme.test").expect("by email").expect("found");
    assert_eq!((found.id, found.email.as_str(), found.role, found.created_at), (ann, "ann@acme.test", Role::Admin, t(5)));
    assert_eq!(tx.user(ann).expect("by id").as_ref(), Some(&found));
    assert_eq!(tx.user_by_email("nobody@acme.test").expect("by email"), None);
    found.name = "Ann A.".into();
    found.role = Role::Editor;
    found.password_hash = "$argon2id$v=19$y".into();
    found.updated_at = t(9);
    tx.update_user(&found).expect("update");
    let missing = tx.update_user(&crate::User { id: UserId(999), ..found.clone() });
    assert!(matches!(missing, Err(Error::NotFound(_))), "{missing:?}");
    assert_eq!(tx.user(ann).expect("read").as_ref(), Some(&found));
    assert_eq!(tx.users().expect("list").iter().map(|u| u.id).collect::<Vec<_>>(), [ann, bob]);

    tx.create_session(&session("s-ann", ann, 10, 1_000)).expect("session");
    tx.create_session(&session("s-bob", bob, 10, 1_000)).expect("session");
    tx.create_api_token(&token(ann, "ci", "h-ann")).expect("token");
    tx.create_api_token(&token(bob, "ci", "h-bob")).expect("token");
    assert!(tx.delete_user(ann).expect("delete"));
    assert!(!tx.delete_user(ann).expect("again"), "already gone");
    assert_eq!(tx.user(ann).expect("read"), None);
    assert_eq!(tx.session("s-ann", t(11)).expect("session"), None, "their sessions go with them");
    assert_eq!(tx.api_token_by_hash("h-ann").expect("token"), None, "and their tokens");
    assert!(tx.session("s-bob", t(11)).expect("session").is_some(), "others' stay");
    assert!(tx.api_token_by_hash("h-bob").expect("token").is_some());
    tx.commit().expect("commit");
}

pub fn sessions_expire_and_are_deleted(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let ann = tx.create_user(&new_user("ann@acme.test", Role::Editor)).expect("create");
    tx.create_session(&session("a", ann, 10, 100)).expect("session");
    tx.create_session(&session("b", ann, 10, 1_000)).expect("session");
    tx.create_session(&session("c", ann, 10, 1_000)).expect("session");
    assert_eq!(tx.session("a", t(99)).expect("read"), Some(session("a", ann, 10, 100)));
    assert_eq!(tx.session("a", t(100)).expect("read"), None, "expired at expires_at");
    assert_eq!(tx.session("zzz", t(10)).expect("read"), None);
    tx.delete_session("b").expect("delete");
    assert_eq!(tx.session("b", t(11)).expect("read"), None);
    tx.create_session(&session("d", ann, 10, 1_000)).expect("session");
    tx.delete_sessions_of(ann, Some("d")).expect("sign out elsewhere");
    assert_eq!(tx.session("c", t(11)).expect("read"), None);
    assert!(tx.session("d", t(11)).expect("read").is_some(), "but the one kept");
    // A new session clears the expired ones away.
    tx.create_session(&session("e", ann, 200, 1_000)).expect("session");
    assert_eq!(tx.session("a", t(0)).expect("read"), None, "deleted, not just expired");
    tx.delete_sessions_of(ann, None).expect("sign out everywhere");
    assert_eq!((tx.session("d", t(11)).expect("read"), tx.session("e", t(201)).expect("read")), (None, None));
    tx.commit().expect("commit");
}

pub fn api_tokens_belong_to_a_user_and_note_their_use_at_most_once_per_period(store: &dyn Store) {
    let minute = domain::time::Duration::millis(60_000);
    let mut tx = store.write().expect("tx");
    let ann = tx.create_user(&new_user("ann@acme.test", Role::Editor)).expect("create");
    let bob = tx.create_user(&new_user("bob@acme.test", Role::Viewer)).expect("create");
    let ci = tx.create_api_token(&token(ann, "ci", "h1")).expect("token");
    let laptop = tx.create_api_token(&token(ann, "laptop", "h2")).expect("token");
    let dup = tx.create_api_token(&token(bob, "x", "h1"));
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    let theirs = tx.create_api_token(&token(bob, "ci", "h3")).expect("token");
    let found = tx.api_token_by_hash("h1").expect("read").expect("found");
    assert_eq!(found, ApiToken { id: ci, ..token(ann, "ci", "h1") });
    assert_eq!(tx.api_token_by_hash("nope").expect("read"), None);
    assert_eq!(tx.api_tokens_of(ann).expect("list").iter().map(|t| t.id).collect::<Vec<_>>(), [ci, laptop]);

    assert!(tx.touch_api_token(ci, t(100_000), minute).expect("touch"), "never used: noted");
    assert!(!tx.touch_api_token(ci, t(130_000), minute).expect("touch"), "within the minute: not written");
    assert_eq!(tx.api_token_by_hash("h1").expect("read").expect("found").last_used_at, Some(t(100_000)));
    assert!(tx.touch_api_token(ci, t(160_000), minute).expect("touch"), "a minute later: noted");
    assert_eq!(tx.api_token_by_hash("h1").expect("read").expect("found").last_used_at, Some(t(160_000)));

    assert!(!tx.delete_api_token(ann, theirs).expect("delete"), "only one's own tokens");
    assert!(tx.delete_api_token(ann, ci).expect("delete"));
    assert!(!tx.delete_api_token(ann, ci).expect("again"));
    assert_eq!(tx.api_token_by_hash("h1").expect("read"), None);
    assert_eq!(tx.api_tokens_of(ann).expect("list").len(), 1);
    assert_eq!(tx.api_tokens_of(bob).expect("list").len(), 1);
    tx.commit().expect("commit");
}

pub fn the_audit_log_pages_newest_first(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            tx.add_audit(&NewAudit {
                at: t(i),
                actor: "user:ann@acme.test".into(),
                action: "journey.publish".into(),
                target: format!("journey:j{i}"),
                diff: json!([{"path": "/version", "old": i, "new": i + 1}]),
            })
            .expect("add"),
        );
    }
    tx.commit().expect("commit");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let mut tx = store.read().expect("tx");
    let page = tx.audit_page(None, 2).expect("page");
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[4], ids[3]]);
    assert_eq!(
        (page[0].at, page[0].actor.as_str(), page[0].action.as_str(), page[0].target.as_str()),
        (t(4), "user:ann@acme.test", "journey.publish", "journey:j4")
    );
    assert_eq!(page[0].diff, json!([{"path": "/version", "old": 4, "new": 5}]));
    let next = tx.audit_page(Some(page[1].id), 2).expect("page");
    assert_eq!(next.iter().map(|e| e.id).collect::<Vec<_>>(), [ids[2], ids[1]]);
    assert_eq!(tx.audit_page(Some(ids[1]), 2).expect("page").iter().map(|e| e.id).collect::<Vec<_>>(), [ids[0]]);
    assert_eq!(tx.audit_page(Some(AuditId(ids[0].0)), 2).expect("page"), []);
}

/// Walks a list a page of `size` at a time, each page read after the last key of the one
/// before, until a page has fewer than `size`; checks every page but the last is full.
fn walk<T, K: Clone>(size: usize, mut page: impl FnMut(Option<&K>, usize) -> Vec<T>, key: impl Fn(&T) -> K) -> Vec<K> {
    let mut all = Vec::new();
    let mut after: Option<K> = None;
    for _ in 0..100 {
        let got = page(after.as_ref(), size);
        assert!(got.len() <= size, "a page of {} for a limit of {size}", got.len());
        all.extend(got.iter().map(&key));
        if got.len() < size {
            return all;
        }
        after = got.last().map(&key);
    }
    panic!("no short page after 100 pages of {size}");
}

/// Ids that sort differently in byte order and in a natural-language collation (which
/// skips `-` and `_` at first, or puts digits after letters).
const PAGED_IDS: [&str; 8] = ["b", "a-c", "ab", "a_b", "a0", "a", "z9", "0x"];

pub fn journeys_templates_sources_and_users_page_by_id_in_byte_order(store: &dyn Store) {
    let mut tx = store.write().expect("tx");
    for (i, id) in PAGED_IDS.iter().enumerate() {
        let at = t(i as i64);
        tx.save_draft(&JourneyId((*id).into()), &json!({"name": id}), at).expect("draft");
        tx.put_template(&Template {
            id: TemplateId((*id).into()),
            subject: "s".into(),
            html: String::new(),
            text: "t".into(),
            category: Category::default(),
            sms: String::new(),
            push: PushContent::default(),
            in_app: InAppContent::default(),
            locales: Default::default(),
            updated_at: at,
        })
        .expect("template");
        tx.create_source(&Source { id: SourceId((*id).into()), write_key: format!("wk_{id}"), created_at: at }).expect("source");
    }
    let mut users = Vec::new();
    for i in 0..7 {
        users.push(tx.create_user(&new_user(&format!("u{i}@acme.test"), Role::Viewer)).expect("user"));
    }
    tx.commit().expect("commit");

    let mut bytes: Vec<String> = PAGED_IDS.iter().map(|id| (*id).to_owned()).collect();
    bytes.sort_unstable();
    assert_eq!(bytes, ["0x", "a", "a-c", "a0", "a_b", "ab", "b", "z9"], "byte order");
    let mut tx = store.read().expect("tx");
    for size in 1..=PAGED_IDS.len() + 1 {
        let journeys = walk(size, |after, n| tx.journeys_after(after, n).expect("journeys"), |j| j.id.clone());
        assert_eq!(journeys.iter().map(|j| j.0.as_str()).collect::<Vec<_>>(), bytes, "journeys by {size}");
        let templates = walk(size, |after, n| tx.templates_after(after, n).expect("templates"), |t| t.id.clone());
        assert_eq!(templates.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(), bytes, "templates by {size}");
        let sources = walk(size, |after, n| tx.sources_after(after, n).expect("sources"), |s| s.id.clone());
        assert_eq!(sources.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), bytes, "sources by {size}");
        let paged_users = walk(size, |after, n| tx.users_after(after.copied(), n).expect("users"), |u| u.id);
        assert_eq!(paged_users, users, "users by {size}");
    }
    // A page holds whole records, and starts after the key given even when no row has it.
    let page = tx.journeys_after(Some(&JourneyId("a1".into())), 2).expect("journeys");
    assert_eq!(
        page.iter().map(|j| (j.id.0.as_str(), j.draft.clone())).collect::<Vec<_>>(),
        [("a_b", json!({"name": "a_b"})), ("ab", json!({"name": "ab"}))]
    );
    let page = tx.templates_after(Some(&TemplateId("z".into())), 5).expect("templates");
    assert_eq!(page.iter().map(|t| (t.id.0.as_str(), t.subject.as_str(), t.updated_at)).collect::<Vec<_>>(), [("z9", "s", t(6))]);
    let page = tx.sources_after(Some(&SourceId("z9".into())), 5).expect("sources");
    assert!(page.is_empty(), "{page:?}");
    let page = tx.users_after(users.get(5).copied(), 5).expect("users");
    assert_eq!(page.iter().map(|u| (u.id, u.email.as_str())).collect::<Vec<_>>(), [(users[6], "u6@acme.test")]);
}

pub fn segments_keep_their_members_hourly_counts_and_checks(store: &dyn Store) {
    let hour = 3_600_000;
    let seg = |id: &str, name: &str, at: i64| crate::StoredSegment {
        id: SegmentId(id.into()),
        name: name.into(),
        document: json!({"id": id, "condition": {"trait": "plan", "op": "exists"}}),
        created_at: t(at),
        updated_at: t(at),
    };
    let change = |s: &str, p: ProfileId, entered: bool, at: i64| crate::SegmentChange {
        segment: SegmentId(s.into()),
        profile: p,
        entered,
        at: t(at),
    };
    let mut tx = store.write().expect("tx");
    assert!(tx.put_segment(&seg("pro", "Pro", 10)).expect("put"), "new");
    assert!(tx.put_segment(&seg("lapsed", "Lapsed", 10)).expect("put"));
    assert!(!tx.put_segment(&seg("pro", "Pro users", 20)).expect("put"), "replaced");
    let (a, b) = (tx.create_profile(t(0)).expect("profile"), tx.create_profile(t(0)).expect("profile"));
    tx.change_memberships(&[change("pro", a, true, 100), change("pro", b, true, 200), change("lapsed", a, true, 300)]).expect("enter");
    // A repeat changes nothing and counts nothing; leaving counts in its own hour.
    tx.change_memberships(&[change("pro", a, true, 400), change("pro", b, false, hour + 5)]).expect("again");
    tx.set_segment_check(a, Some(t(5_000))).expect("check");
    tx.set_segment_check(b, Some(t(1_000))).expect("check");
    tx.commit().expect("commit");

    let mut tx = store.read().expect("tx");
    let stored = tx.segment(&SegmentId("pro".into())).expect("get").expect("kept");
    assert_eq!((stored.name.as_str(), stored.created_at, stored.updated_at), ("Pro users", t(10), t(20)));
    let ids: Vec<String> = tx.segments().expect("list").into_iter().map(|s| s.id.0).collect();
    assert_eq!(ids, ["lapsed", "pro"]);
    assert_eq!(tx.memberships(a).expect("of a"), [SegmentId("lapsed".into()), SegmentId("pro".into())]);
    assert!(tx.memberships(b).expect("of b").is_empty(), "b left");
    assert_eq!(tx.segment_members(&SegmentId("pro".into()), ProfileId(0), 10).expect("members"), [(a, t(100))], "since the first entry");
    assert_eq!(tx.segment_size(&SegmentId("pro".into())).expect("size"), 1);
    assert_eq!(tx.last_profile_id().expect("last"), Some(b));
    let hours = tx.segment_hours(&SegmentId("pro".into()), t(0), t(2 * hour)).expect("hours");
    assert_eq!(
        hours,
        [crate::SegmentHour { hour: t(0), entered: 2, exited: 0 }, crate::SegmentHour { hour: t(hour), entered: 0, exited: 1 }]
    );
    assert_eq!(tx.segment_hours(&SegmentId("pro".into()), t(hour + 10), t(2 * hour)).expect("hours").len(), 1, "from its hour");
    assert_eq!(tx.segment_check(a).expect("check"), Some(t(5_000)));
    assert_eq!(tx.due_segment_checks(t(4_999), 10).expect("due"), [b]);
    assert_eq!(tx.due_segment_checks(t(5_000), 10).expect("due"), [b, a], "earliest first");
    assert_eq!(tx.due_segment_checks(t(5_000), 1).expect("due"), [b], "at most the limit");
    assert_eq!(tx.next_wake().expect("next"), Some(t(1_000)), "a check is a timer");
    drop(tx);

    let mut tx = store.write().expect("tx");
    tx.set_segment_check(b, None).expect("clear");
    // A merge takes the absorbed profile out of its segments (the engine evaluates the joined one).
    tx.merge_profiles(b, a, t(6_000)).expect("merge");
    assert!(tx.memberships(a).expect("of a").is_empty());
    assert_eq!(tx.segment_check(a).expect("check"), None);
    let lapsed = tx.segment_hours(&SegmentId("lapsed".into()), t(0), t(2 * hour)).expect("hours");
    assert_eq!(lapsed, [crate::SegmentHour { hour: t(0), entered: 1, exited: 1 }], "leaving by a merge counts");
    let computed = |id: &str, at: i64| crate::StoredComputedTrait {
        id: id.into(),
        name: "Orders".into(),
        document: json!({"trait": id, "history": {"event": "Order Completed", "within": "90d"}}),
        created_at: t(at),
        updated_at: t(at),
    };
    assert!(tx.put_computed_trait(&computed("orders_90d", 1)).expect("put"));
    assert!(!tx.put_computed_trait(&computed("orders_90d", 2)).expect("again"), "replaced");
    assert_eq!(tx.computed_traits().expect("list").iter().map(|c| (c.created_at, c.updated_at)).collect::<Vec<_>>(), [(t(1), t(2))]);
    assert!(tx.delete_computed_trait("orders_90d").expect("delete"));
    assert!(tx.computed_traits().expect("list").is_empty());
    // Lifecycle stages: moves, flows over a period (of a segment's members), sizes now.
    let mv = |p: ProfileId, at: i64, from: Option<&str>, to: Option<&str>| crate::StageMove {
        profile: p,
        at: t(at),
        from: from.map(str::to_owned),
        to: to.map(str::to_owned),
    };
    let c = tx.create_profile(t(0)).expect("profile");
    tx.record_stage_moves(&[mv(b, 100, None, Some("lead")), mv(b, 200, Some("lead"), Some("customer")), mv(c, 150, None, Some("lead"))])
        .expect("moves");
    tx.change_memberships(&[change("pro", c, true, 160)]).expect("c in pro");
    let flows = |tx: &mut Box<dyn crate::Tx>, from: i64, to: i64, s: Option<&str>| -> Vec<String> {
        let seg = s.map(|s| SegmentId(s.into()));
        tx.stage_flows(t(from), t(to), seg.as_ref())
            .expect("flows")
            .into_iter()
            .map(|f| format!("{}->{} {}", f.from.unwrap_or_default(), f.to.unwrap_or_default(), f.people))
            .collect()
    };
    assert_eq!(flows(&mut tx, 0, 1000, None), ["->lead 2", "lead->customer 1"]);
    assert_eq!(flows(&mut tx, 150, 200, None), ["->lead 1"], "the period's only");
    assert_eq!(flows(&mut tx, 0, 1000, Some("pro")), ["->lead 1"], "a segment's members only");
    assert_eq!(tx.stage_sizes().expect("sizes"), [("customer".to_owned(), 1), ("lead".to_owned(), 1)]);
    assert_eq!(tx.stage_history(b).expect("history").len(), 2);
    // A merge takes the absorbed person out of their stage.
    tx.merge_profiles(b, c, t(7_000)).expect("merge");
    assert_eq!(tx.stage_sizes().expect("sizes"), [("customer".to_owned(), 1)]);
    assert!(tx.delete_segment(&SegmentId("pro".into())).expect("delete"));
    assert!(!tx.delete_segment(&SegmentId("pro".into())).expect("again"));
    assert!(tx.segment_hours(&SegmentId("pro".into()), t(0), t(2 * hour)).expect("hours").is_empty(), "its counts went with it");
    assert_eq!(tx.next_wake().expect("next"), None);
    tx.commit().expect("commit");
}
