//! Stored formats, pinned: what rows already on disk look like. Each case writes a value as
//! the store does and compares it with the text here, then reads that text back. Renaming a
//! field in `domain` (whose types are stored as JSON) fails here instead of breaking old rows.

use std::collections::BTreeMap;

use domain::aggregate::Counter;
use domain::condition::HistoryQuery;
use domain::event::{Envelope, Event, Kind};
use domain::ids::{EventSeq, JourneyId, NodeId, ProfileId, RunId, TemplateId};
use domain::journey::{Channel, Effect, Run, RunStatus, TraitUpdate};
use domain::time::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::{DeadInput, OutboxPayload, TemplateContext};

/// `value` serializes to exactly `stored`, and `stored` reads back as `value`.
fn pinned<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T, stored: &str) {
    assert_eq!(serde_json::to_string(value).expect("serialize"), stored, "the stored format changed: old rows would not read");
    assert_eq!(&serde_json::from_str::<T>(stored).expect("rows on disk read"), value);
}

fn map(v: serde_json::Value) -> domain::Map {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn run_state_v1_reads_and_writes_as_stored() {
    let run = Run {
        journey: JourneyId("cart".into()),
        version: 2,
        status: RunStatus::Waiting,
        node: Some(NodeId("remind".into())),
        wake_at: Some(Timestamp(1_800_000_060_000)),
        exit_reason: None,
        entered_at: Timestamp(1_800_000_000_000),
        updated_at: Timestamp(1_800_000_000_500),
        seq: 3,
        trigger: map(json!({"cart_id": "c1"})),
        trigger_event: "Product Added".into(),
        control: true,
        held: false,
        converted_at: Some(Timestamp(1_800_000_001_000)),
        assignments: BTreeMap::from([("subject".to_owned(), "b".to_owned())]),
        key: None,
        vars: domain::Map::new(),
        goal_from: None,
        revenue: None,
        counts: BTreeMap::new(),
        reached: BTreeMap::new(),
    };
    pinned(
        &run,
        r#"{"journey":"cart","version":2,"status":"waiting","node":"remind","wake_at":1800000060000,"exit_reason":null,"entered_at":1800000000000,"updated_at":1800000000500,"seq":3,"trigger":{"cart_id":"c1"},"trigger_event":"Product Added","control":true,"converted_at":1800000001000,"assignments":{"subject":"b"}}"#,
    );
}

/// Runs of keyed journeys, with run variables and a goal measured from a step: the same
/// version, three optional fields (absent above, so older runs read as before).
#[test]
fn run_state_with_a_key_and_variables_reads_and_writes_as_stored() {
    let run = Run {
        journey: JourneyId("cart".into()),
        version: 1,
        status: RunStatus::Exited,
        node: Some(NodeId("remind".into())),
        wake_at: None,
        exit_reason: Some("completed".into()),
        entered_at: Timestamp(1_800_000_000_000),
        updated_at: Timestamp(1_800_000_000_500),
        seq: 2,
        trigger: map(json!({"cart_id": "c1"})),
        trigger_event: "Product Added".into(),
        control: false,
        held: false,
        converted_at: None,
        assignments: BTreeMap::new(),
        key: Some("c1".into()),
        vars: map(json!({"items": [{"sku": "a"}]})),
        goal_from: Some(Timestamp(1_800_000_000_100)),
        revenue: None,
        counts: BTreeMap::from([(
            "since-entry-query".to_owned(),
            domain::aggregate::Counter {
                buckets: vec![domain::aggregate::Bucket {
                    minute: 30_000_000,
                    count: 2,
                    sum: 12.5,
                    last_seq: 0,
                    last: serde_json::Value::Null,
                    ..Default::default()
                }],
            },
        )]),
        reached: BTreeMap::new(),
    };
    pinned(
        &run,
        r#"{"journey":"cart","version":1,"status":"exited","node":"remind","wake_at":null,"exit_reason":"completed","entered_at":1800000000000,"updated_at":1800000000500,"seq":2,"trigger":{"cart_id":"c1"},"trigger_event":"Product Added","key":"c1","vars":{"items":[{"sku":"a"}]},"goal_from":1800000000100,"counts":{"since-entry-query":{"buckets":[{"minute":30000000,"count":2,"sum":12.5,"last_seq":0,"last":null}]}}}"#,
    );
    let context = TemplateContext { run: map(json!({"items": [{"sku": "a"}]})), ..TemplateContext::default() };
    pinned(&context, r#"{"traits":{},"event":{},"event_name":"","journey":"","profile_id":0,"run":{"items":[{"sku":"a"}]}}"#);
}

/// Runs of journeys with calendar waits counting from a step remember when they reached it:
/// one more optional field (absent above, so older runs read as before).
#[test]
fn run_state_with_reached_steps_reads_and_writes_as_stored() {
    let run = Run {
        journey: JourneyId("trial".into()),
        version: 1,
        status: RunStatus::Waiting,
        node: Some(NodeId("day-7".into())),
        wake_at: Some(Timestamp(1_800_600_000_000)),
        exit_reason: None,
        entered_at: Timestamp(1_800_000_000_000),
        updated_at: Timestamp(1_800_000_000_000),
        seq: 1,
        trigger: domain::Map::new(),
        trigger_event: "Trial Started".into(),
        control: false,
        held: false,
        converted_at: None,
        assignments: BTreeMap::new(),
        key: None,
        vars: domain::Map::new(),
        goal_from: None,
        revenue: None,
        reached: BTreeMap::from([(NodeId("welcome".into()), Timestamp(1_800_000_000_000))]),
        counts: BTreeMap::new(),
    };
    pinned(
        &run,
        r#"{"journey":"trial","version":1,"status":"waiting","node":"day-7","wake_at":1800600000000,"exit_reason":null,"entered_at":1800000000000,"updated_at":1800000000000,"seq":1,"trigger":{},"trigger_event":"Trial Started","reached":{"welcome":1800000000000}}"#,
    );
}

#[test]
fn payload_v1_reads_and_writes_as_stored() {
    let context = TemplateContext {
        traits: map(json!({"email": "a@x.test"})),
        event: map(json!({"path": "/p"})),
        event_name: "Page Viewed".into(),
        journey: JourneyId("welcome".into()),
        profile_id: ProfileId(7),
        run: domain::Map::new(),
    };
    let send = OutboxPayload {
        v: 1,
        effect: Effect::Send {
            node: NodeId("hello".into()),
            channel: Channel::Email,
            template: TemplateId("invite".into()),
            cap: None,
            outranked: None,
        },
        to: Some("a@x.test".into()),
        context: context.clone(),
    };
    pinned(
        &send,
        r#"{"v":1,"effect":{"kind":"send","node":"hello","channel":"email","template":"invite"},"to":"a@x.test","context":{"traits":{"email":"a@x.test"},"event":{"path":"/p"},"event_name":"Page Viewed","journey":"welcome","profile_id":7}}"#,
    );
    let hook = OutboxPayload {
        v: 1,
        effect: Effect::Webhook {
            node: NodeId("crm".into()),
            url: "https://crm.example/hook".into(),
            method: "POST".into(),
            body: Some(json!({"id": "{{ profile_id }}"})),
            save: BTreeMap::from([("score".to_owned(), "/score".to_owned())]),
        },
        to: None,
        context,
    };
    pinned(
        &hook,
        r#"{"v":1,"effect":{"kind":"webhook","node":"crm","url":"https://crm.example/hook","method":"POST","body":{"id":"{{ profile_id }}"},"save":{"score":"/score"}},"to":null,"context":{"traits":{"email":"a@x.test"},"event":{"path":"/p"},"event_name":"Page Viewed","journey":"welcome","profile_id":7}}"#,
    );
    // Rows written before the version field existed are version 1.
    let old = r#"{"effect":{"kind":"send","node":"hello","channel":"email","template":"invite"},"to":"a@x.test","context":{"traits":{"email":"a@x.test"},"event":{"path":"/p"},"event_name":"Page Viewed","journey":"welcome","profile_id":7}}"#;
    assert_eq!(serde_json::from_str::<OutboxPayload>(old).expect("old row"), send);
    let update = Effect::Update {
        node: NodeId("count".into()),
        update: TraitUpdate { set: map(json!({"tier": "vip"})), increment: map(json!({"orders": 1})), unset: vec!["trial".into()] },
    };
    pinned(&update, r#"{"kind":"update","node":"count","update":{"set":{"tier":"vip"},"increment":{"orders":1},"unset":["trial"]}}"#);
}

#[test]
fn dead_letter_inputs_read_and_write_as_stored() {
    let inputs = vec![
        DeadInput::Event { seq: EventSeq(12) },
        DeadInput::Timer { run: RunId(3), wake_at: Some(Timestamp(1_800_000_000_000)) },
        DeadInput::Api { journey: JourneyId("vip".into()), payload: map(json!({"code": "A1"})) },
    ];
    pinned(
        &inputs,
        r#"[{"kind":"event","seq":12},{"kind":"timer","run":3,"wake_at":1800000000000},{"kind":"api","journey":"vip","payload":{"code":"A1"}}]"#,
    );
}

#[test]
fn logged_events_read_and_write_as_stored() {
    let env = Envelope { kind: Some(Kind::Track), received_at: Timestamp(1_800_000_000_000), sent_at: None, fallback_message_id: "m" };
    let event = Event::parse(json!({"userId": "u1", "event": "Order Completed", "messageId": "m1", "properties": {"total": 30}}), &env)
        .expect("valid");
    let stored = serde_json::to_string(&event).expect("serialize");
    expect_test::expect![[r#"{"type":"track","message_id":"m1","user_id":"u1","name":"Order Completed","properties":{"total":30},"timestamp":1800000000000,"received_at":1800000000000}"#]].assert_eq(&stored);
    assert_eq!(serde_json::from_str::<Event>(&stored).expect("read"), event);
}

#[test]
fn history_counters_read_and_write_as_stored() {
    let doc = json!({"id": "j", "entry": {"event": "Page Viewed", "filter":
        {"history": {"event": "Page Viewed", "within": "7d"}, "op": "gte", "value": 2}}, "steps": [{"id": "done", "type": "exit"}]});
    let journey = domain::journey::Journey::parse(&doc).expect("valid journey");
    let query: &HistoryQuery = journey.history.first().expect("one history query");
    let mut counter = Counter::default();
    counter.add(query, EventSeq(5), Timestamp(1_800_000_000_000), &domain::Map::new());
    let stored = serde_json::to_string(&counter).expect("serialize");
    expect_test::expect![[r#"{"buckets":[{"minute":30000000,"count":1,"sum":0.0,"last_seq":0,"last":null}]}"#]].assert_eq(&stored);
    assert_eq!(serde_json::from_str::<Counter>(&stored).expect("read"), counter);
}

#[test]
fn trace_lines_read_and_write_as_stored_and_old_text_rows_still_read() {
    use domain::trace::{Check, TraceKind, TraceLine};
    let lines = vec![
        TraceLine::new(None, TraceKind::Entered, "entered on Signed Up"),
        TraceLine::new(
            Some(&NodeId("pro-yet".into())),
            TraceKind::Case,
            "pro-yet: case 0 false [trait plan = (absent) eq \"pro\" -> false]",
        )
        .with_checks(vec![Check {
            subject: "trait plan".into(),
            seen: None,
            op: "eq".into(),
            expected: Some(json!("pro")),
            reference: None,
            result: false,
            note: None,
        }]),
        TraceLine::new(None, TraceKind::Completed, "completed"),
    ];
    pinned(
        &lines,
        r#"[{"kind":"entered","text":"entered on Signed Up"},{"node":"pro-yet","kind":"case","text":"pro-yet: case 0 false [trait plan = (absent) eq \"pro\" -> false]","checks":[{"subject":"trait plan","op":"eq","expected":"pro","result":false}]},{"kind":"completed","text":"completed"}]"#,
    );
    // Rows from before lines were structured: text alone, read as `text` lines.
    let old: Vec<crate::StoredLine> = serde_json::from_str(r#"["entered on Signed Up", "a: wait 1d"]"#).expect("old rows read");
    let old: Vec<TraceLine> = old.into_iter().map(Into::into).collect();
    assert_eq!(old, [TraceLine::text("entered on Signed Up"), TraceLine::text("a: wait 1d")]);
    assert_eq!(old[1].kind, TraceKind::Text);
}
