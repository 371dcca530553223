//! The engine driven step by step: a manual clock, a temporary SQLite store, and the
//! capture channel (no SMTP configured) as the recording channel. Transcripts list what
//! happened in order, so a change in behaviour shows up as a readable diff.

use std::sync::Arc;

use deliver::{Deliverer, Options as DeliverOptions, WebhookOptions};
use domain::event::{Envelope, Event, Kind};
use domain::ids::{Identity, JourneyId, SourceId, TemplateId};
use domain::time::{Duration, Timestamp};
use engine::backtest::{Entries, Report};
use engine::explain::{EntryVerdict, RecentEntry};
use engine::{Engine, ManualClock, Options, RetryPolicy};
use expect_test::{Expect, expect};
use serde_json::{Value, json};
use store::{OutboxStatus, SqliteStore, Store, Template};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const START: i64 = 1_800_000_000_000;

struct Harness {
    engine: Engine,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    next_id: u64,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_options(Options::default(), WebhookOptions { allow_private: true, ..Default::default() })
    }

    fn with_options(options: Options, webhook: WebhookOptions) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("wayfarer.db")).expect("store"));
        Harness::on(store, dir, options, webhook)
    }

    fn on(store: Arc<dyn Store>, dir: tempfile::TempDir, options: Options, webhook: WebhookOptions) -> Harness {
        let clock = Arc::new(ManualClock::new(Timestamp(START)));
        let deliverer = Deliverer::new(&DeliverOptions { smtp: None, webhook, sms: None, push: None, tracking: None }).expect("deliverer");
        let engine = Engine::start(store.clone(), clock.clone(), deliverer, options);
        Harness { engine, clock, store, next_id: 0, _dir: dir }
    }

    async fn publish(&self, doc: Value) {
        let id = JourneyId(doc["id"].as_str().expect("id").into());
        let mut tx = self.store.write().expect("tx");
        tx.save_draft(&id, &doc, self.clock_now()).expect("draft");
        tx.publish(&id, self.clock_now()).expect("publish");
        tx.commit().expect("commit");
        self.engine.reload_journeys().await.expect("reload");
    }

    /// Stores a segment and tells the engine (which fills it at the next wake).
    async fn segment(&self, doc: Value) {
        let id = domain::ids::SegmentId(doc["id"].as_str().expect("id").into());
        let mut tx = self.store.write().expect("tx");
        let at = self.clock_now();
        let name = doc["name"].as_str().unwrap_or(id.as_str()).to_owned();
        tx.put_segment(&store::StoredSegment { id, name, document: doc, created_at: at, updated_at: at }).expect("segment");
        tx.commit().expect("commit");
        self.engine.reload_journeys().await.expect("reload");
    }

    /// Stores a computed trait and tells the engine.
    async fn computed(&self, doc: Value) {
        let id = doc["trait"].as_str().expect("trait").to_owned();
        let mut tx = self.store.write().expect("tx");
        let at = self.clock_now();
        tx.put_computed_trait(&store::StoredComputedTrait { id: id.clone(), name: id, document: doc, created_at: at, updated_at: at })
            .expect("put");
        tx.commit().expect("commit");
        self.engine.reload_journeys().await.expect("reload");
    }

    /// Each member of a segment, by user id.
    fn members(&self, segment: &str) -> Vec<String> {
        let mut tx = self.store.read().expect("tx");
        let members = tx.segment_members(&domain::ids::SegmentId(segment.into()), domain::ids::ProfileId(0), 1000).expect("members");
        let mut out: Vec<String> = members
            .into_iter()
            .map(|(p, _)| {
                let ids = tx.identities(p).expect("identities");
                ids.iter().find_map(|i| if let Identity::UserId(u) = i { Some(u.clone()) } else { None }).unwrap_or_else(|| p.to_string())
            })
            .collect();
        out.sort();
        out
    }

    /// Stores `t` (its id and time filled in) and tells the engine.
    fn put(&self, id: &str, t: Template) {
        let mut tx = self.store.write().expect("tx");
        tx.put_template(&Template { id: TemplateId(id.into()), updated_at: self.clock_now(), ..t }).expect("template");
        tx.commit().expect("commit");
        self.engine.templates_changed();
    }

    /// A template with nothing in it, of `category`.
    fn blank(category: store::Category) -> Template {
        Template {
            id: TemplateId(String::new()),
            subject: String::new(),
            html: String::new(),
            text: String::new(),
            category,
            sms: String::new(),
            push: store::PushContent::default(),
            in_app: store::InAppContent::default(),
            locales: Default::default(),
            updated_at: Timestamp(0),
        }
    }

    /// A marketing email.
    fn template(&self, id: &str, subject: &str) {
        let html = "<p>{% if traits.firstName %}Hi {{ traits.firstName }}{% else %}Hello{% endif %}</p>";
        let t = Template { subject: subject.into(), html: html.into(), text: "Hi".into(), ..Self::blank(store::Category::Marketing) };
        self.put(id, t);
    }

    /// A template with SMS text only.
    fn sms_template(&self, id: &str, sms: &str, category: store::Category) {
        self.put(id, Template { sms: sms.into(), ..Self::blank(category) });
    }

    /// A template with a push notification only.
    fn push_template(&self, id: &str, push: store::PushContent) {
        self.put(id, Template { push, ..Self::blank(store::Category::Marketing) });
    }

    /// A transactional template (sent even to people who unsubscribed; never stopped by caps).
    fn transactional(&self, id: &str, subject: &str) {
        self.put(id, Template { subject: subject.into(), text: "Hi".into(), ..Self::blank(store::Category::Transactional) });
    }

    fn clock_now(&self) -> Timestamp {
        use engine::Clock;
        self.clock.now()
    }

    fn event(&mut self, kind: Kind, raw: Value) -> Event {
        self.next_id += 1;
        let id = format!("m{}", self.next_id);
        let env = Envelope { kind: Some(kind), received_at: self.clock_now(), sent_at: None, fallback_message_id: &id };
        Event::parse(raw, &env).expect("valid event")
    }

    async fn send(&mut self, kind: Kind, raw: Value) -> engine::IngestReport {
        let e = self.event(kind, raw);
        let report = self.engine.ingest(SourceId("web".into()), vec![e]).await.expect("ingest");
        self.engine.wake().await.expect("wake");
        report
    }

    async fn page(&mut self, who: &str, path: &str) {
        self.send(Kind::Page, json!({"userId": who, "properties": {"path": path}})).await;
    }

    /// Moves time forward, stopping at each timer on the way so that it fires on time.
    async fn advance(&mut self, d: &str) {
        let target = self.clock_now().plus(d.parse::<Duration>().expect("duration"));
        self.engine.advance_manual(&self.clock, target).await.expect("advance");
    }

    /// Every message in the outbox, oldest first: `t=+3d alice@x.test: captured "subject"`.
    fn messages(&self) -> String {
        let mut tx = self.store.read().expect("tx");
        let mut out = tx.messages(None, None, None, 1000).expect("messages");
        out.reverse();
        out.iter()
            .map(|m| {
                let at = Duration::millis(m.created_at.0 - START);
                let what = match (&m.result, m.status) {
                    (Some(r), OutboxStatus::Sent) if m.channel == "in_app" => format!("{:?}", r["title"].as_str().unwrap_or("")),
                    (Some(r), OutboxStatus::Captured) => match r.get("devices") {
                        Some(n) => format!("{:?} to {n} devices", r["title"].as_str().unwrap_or("")),
                        None => format!("{:?}", r["subject"].as_str().or(r["body"].as_str()).unwrap_or("")),
                    },
                    _ => m.last_error.clone().unwrap_or_default(),
                };
                format!("t=+{at} {} {}: {} {what}", m.channel, m.payload.to.as_deref().unwrap_or("-"), m.status.as_str())
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }

    fn check_messages(&self, expect: Expect) {
        expect.assert_eq(&self.messages());
    }
}

/// A transition's trace lines as text, one after the other.
fn text(lines: &[domain::trace::TraceLine]) -> String {
    lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join(" / ")
}

fn consultation() -> Value {
    serde_json::from_str(include_str!("../../../examples/consultation.json")).expect("example journey")
}

async fn seeded() -> Harness {
    let h = Harness::new();
    h.template("consultation-invite", "{{ traits.firstName }}, a free consultation?");
    h.template("consultation-reminder", "Still interested, {{ traits.firstName }}?");
    h.publish(consultation()).await;
    h
}

#[tokio::test]
async fn seed_scenario_invites_reminds_and_respects_sales_contact() {
    let mut h = seeded().await;
    for who in ["alice", "bob", "carol"] {
        h.send(Kind::Identify, json!({"userId": who, "traits": {"firstName": who.to_uppercase(), "email": format!("{who}@x.test")}})).await;
    }
    h.send(Kind::Track, json!({"userId": "bob", "event": "Sales Contacted"})).await;
    for day in 0..3 {
        for who in ["alice", "bob", "carol"] {
            h.page(who, &format!("/products/{day}")).await;
        }
        h.advance("1d").await;
    }
    h.send(Kind::Track, json!({"userId": "carol", "event": "Consultation Booked"})).await;
    h.advance("3d").await;
    h.check_messages(expect![[r#"
        t=+2d email alice@x.test: captured "ALICE, a free consultation?"
        t=+2d email carol@x.test: captured "CAROL, a free consultation?"
        t=+5d email alice@x.test: captured "Still interested, ALICE?"
    "#]]);
}

#[tokio::test]
async fn anonymous_history_joins_the_profile_on_identify() {
    let mut h = seeded().await;
    h.send(Kind::Page, json!({"anonymousId": "anon-1", "properties": {"path": "/products/a"}})).await;
    h.send(Kind::Page, json!({"anonymousId": "anon-1", "properties": {"path": "/products/b"}})).await;
    h.send(Kind::Identify, json!({"userId": "dana", "anonymousId": "anon-1", "traits": {"firstName": "Dana", "email": "dana@x.test"}}))
        .await;
    h.page("dana", "/products/c").await;
    h.check_messages(expect![[r#"
        t=+0s email dana@x.test: captured "Dana, a free consultation?"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::AnonymousId("anon-1".into())).expect("lookup").expect("known");
    assert_eq!(tx.profile_by_identity(&Identity::UserId("dana".into())).expect("lookup"), Some(p));
    let timeline = tx.timeline(p, 10).expect("timeline");
    let names: Vec<&str> = timeline.iter().map(|e| e.event.match_name()).collect();
    assert_eq!(names, ["Email Sent", "Page Viewed", "Identify", "Page Viewed", "Page Viewed"], "newest first, the invite's outcome last");
}

#[tokio::test]
async fn identify_merges_two_existing_profiles_latest_trait_wins() {
    let mut h = seeded().await;
    h.send(Kind::Identify, json!({"anonymousId": "device", "traits": {"plan": "free", "utm": "ad"}})).await;
    h.advance("1h").await;
    h.send(Kind::Identify, json!({"userId": "erin", "traits": {"plan": "pro", "firstName": "Erin"}})).await;
    h.send(Kind::Identify, json!({"userId": "erin", "anonymousId": "device"})).await;
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("erin".into())).expect("lookup").expect("known");
    let dev = tx.profile_by_identity(&Identity::AnonymousId("device".into())).expect("lookup").expect("known");
    assert_eq!(tx.canonical(dev).expect("canonical"), Some(p));
    let profile = tx.profile(p).expect("load").expect("exists");
    assert_eq!(profile.traits["plan"], json!("pro"));
    assert_eq!(profile.traits["utm"], json!("ad"));
    assert_eq!(tx.timeline(p, 10).expect("timeline").len(), 3);
}

#[tokio::test]
async fn alias_merges_previous_id_into_user() {
    let mut h = seeded().await;
    h.send(Kind::Track, json!({"anonymousId": "old-anon", "event": "Signed Up"})).await;
    h.send(Kind::Alias, json!({"userId": "fred", "previousId": "old-anon"})).await;
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("fred".into())).expect("lookup").expect("known");
    assert_eq!(tx.identities(p).expect("ids"), [Identity::AnonymousId("old-anon".into()), Identity::UserId("fred".into())]);
}

#[tokio::test]
async fn duplicate_message_ids_are_stored_once() {
    let h = Harness::new();
    let env = Envelope { kind: Some(Kind::Track), received_at: Timestamp(START), sent_at: None, fallback_message_id: "x" };
    let e = Event::parse(json!({"userId": "u", "event": "A", "messageId": "same"}), &env).expect("event");
    let first = h.engine.ingest(SourceId("web".into()), vec![e.clone(), e.clone()]).await.expect("ingest");
    let again = h.engine.ingest(SourceId("web".into()), vec![e]).await.expect("ingest");
    assert_eq!((first.accepted, first.duplicates, again.accepted, again.duplicates), (1, 1, 0, 1));
}

#[tokio::test]
async fn exit_event_ends_run_during_wait_and_nothing_is_sent_later() {
    let mut h = Harness::new();
    h.template("hello", "Hello");
    h.publish(json!({"id": "nurture", "entry": {"event": "Signed Up"}, "exit": [{"event": "Unsubscribed"}],
        "steps": [{"id": "pause", "type": "wait", "duration": "30d", "next": "hello"}, {"id": "hello", "type": "send", "template": "hello"}]})).await;
    h.send(Kind::Identify, json!({"userId": "gil", "traits": {"email": "gil@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "gil", "event": "Signed Up"})).await;
    h.advance("1d").await;
    h.send(Kind::Track, json!({"userId": "gil", "event": "Unsubscribed"})).await;
    h.advance("40d").await;
    assert_eq!(h.messages(), "\n", "nothing sent");
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("gil".into())).expect("lookup").expect("known");
    let runs = tx.runs_of(p).expect("runs");
    assert_eq!(runs[0].run.exit_reason.as_deref(), Some("exit event Unsubscribed"));
    assert_eq!(runs[0].run.updated_at, Timestamp(START + Duration::days(1).as_millis()), "left on day 1, not day 30");
}

#[tokio::test]
async fn timers_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wayfarer.db");
    let doc = json!({"id": "later", "entry": {"event": "Signed Up"},
        "steps": [{"id": "pause", "type": "wait", "duration": "2h", "next": "hello"}, {"id": "hello", "type": "send", "template": "hello"}]});
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("store"));
        let mut h = Harness::on(store, tempfile::tempdir().expect("dir"), Options::default(), WebhookOptions::default());
        h.template("hello", "Hello");
        h.publish(doc).await;
        h.send(Kind::Identify, json!({"userId": "hal", "traits": {"email": "hal@x.test"}})).await;
        h.send(Kind::Track, json!({"userId": "hal", "event": "Signed Up"})).await;
        h.engine.shutdown().await;
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("reopen"));
    let mut h = Harness::on(store, dir, Options::default(), WebhookOptions::default());
    h.advance("1h").await;
    assert_eq!(h.messages(), "\n");
    h.advance("1h").await;
    h.check_messages(expect![[r#"
        t=+2h email hal@x.test: captured "Hello"
    "#]]);
}

#[tokio::test]
async fn a_person_without_email_is_skipped_and_a_missing_template_is_a_recorded_failure() {
    let mut h = Harness::new();
    h.template("hello", "Hello");
    h.publish(json!({"id": "greet", "entry": {"event": "Signed Up"},
        "steps": [{"id": "a", "type": "send", "template": "hello", "next": "b"}, {"id": "b", "type": "send", "template": "ghost"}]}))
        .await;
    h.send(Kind::Track, json!({"userId": "ivy", "event": "Signed Up"})).await;
    h.send(Kind::Identify, json!({"userId": "jo", "traits": {"email": "jo@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "jo", "event": "Signed Up"})).await;
    h.check_messages(expect![[r#"
        t=+0s email jo@x.test: captured "Hello"
        t=+0s email jo@x.test: failed template "ghost" does not exist
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let trace = |who: &str, tx: &mut Box<dyn store::Tx + '_>| {
        let p = tx.profile_by_identity(&Identity::UserId(who.into())).expect("lookup").expect("known");
        let run = tx.runs_of(p).expect("runs").remove(0);
        tx.traces(run.id).expect("traces").into_iter().map(|t| text(&t.lines)).collect::<Vec<_>>().join("\n")
    };
    expect!["entered on Signed Up / a: not sending email hello: unreachable (no email trait) -> b / b: not sending email ghost: unreachable (no email trait) -> (end) / completed"].assert_eq(&trace("ivy", &mut tx));
    expect![[r#"
        entered on Signed Up / a: send email hello / b: send email ghost / completed
        a: message delivered (captured)
        b: message failed (failed: template "ghost" does not exist)"#]]
    .assert_eq(&trace("jo", &mut tx));
}

/// A loopback HTTP server that answers each request with the next status in `statuses`
/// and records the requests it saw (head and body).
async fn webhook_receiver(statuses: Vec<u16>) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for status in statuses.into_iter().chain(std::iter::repeat(200)) {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let mut buf = vec![0u8; 65536];
            let mut got = 0;
            loop {
                let n = sock.read(&mut buf[got..]).await.unwrap_or(0);
                got += n;
                let text = String::from_utf8_lossy(&buf[..got]).to_string();
                if let Some(head_end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if got >= head_end + 4 + len || n == 0 {
                        log.lock().expect("log").push(text);
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let body = r#"{"ok":true,"score":42,"data":{"tier":"gold"}}"#;
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(reply.as_bytes()).await;
        }
    });
    (url, seen)
}

/// Frequency caps: at most 2 marketing emails to a person a day, counted from what was sent
/// (captured here); the third is not sent and says why; a transactional email is never stopped
/// by a cap; a day later they go again.
#[tokio::test]
async fn a_frequency_cap_stops_marketing_email_beyond_it_and_says_why() {
    let caps = vec![engine::FrequencyCap { channel: Some("email".into()), max: 2, within: Duration::days(1) }];
    let mut h = Harness::with_options(Options { caps, ..Options::default() }, WebhookOptions::default());
    h.template("news", "News");
    h.transactional("receipt", "Receipt");
    h.publish(json!({"id": "news", "entry": {"event": "Tick"},
        "steps": [{"id": "n", "type": "send", "template": "news", "next": "r"}, {"id": "r", "type": "send", "template": "receipt"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"email": "ann@x.test"}})).await;
    h.send(Kind::Identify, json!({"userId": "bo", "traits": {"email": "bo@x.test"}})).await;
    for _ in 0..3 {
        h.send(Kind::Track, json!({"userId": "ann", "event": "Tick"})).await;
        h.advance("1h").await;
    }
    h.send(Kind::Track, json!({"userId": "bo", "event": "Tick"})).await;
    h.advance("1d").await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Tick"})).await;
    h.check_messages(expect![[r#"
        t=+0s email ann@x.test: captured "News"
        t=+0s email ann@x.test: captured "Receipt"
        t=+1h email ann@x.test: captured "News"
        t=+1h email ann@x.test: captured "Receipt"
        t=+2h email ann@x.test: suppressed frequency cap: 2 of at most 2 email in 1d sent already
        t=+2h email ann@x.test: captured "Receipt"
        t=+3h email bo@x.test: captured "News"
        t=+3h email bo@x.test: captured "Receipt"
        t=+1d3h email ann@x.test: captured "News"
        t=+1d3h email ann@x.test: captured "Receipt"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let ann = tx.profile_by_identity(&Identity::UserId("ann".into())).expect("lookup").expect("known");
    let third = tx.runs_of(ann).expect("runs").into_iter().nth(2).expect("a third run");
    let lines: Vec<String> = tx.traces(third.id).expect("traces").iter().map(|t| text(&t.lines)).collect();
    expect![[r#"
        entered on Tick / n: send email news / r: send email receipt / completed
        n: message failed (suppressed: frequency cap: 2 of at most 2 email in 1d sent already)
        r: message delivered (captured)"#]]
    .assert_eq(&lines.join("\n"));
}

/// A cap across every channel counts marketing email and SMS together; a channel's own cap
/// still applies to it alone; transactional messages are neither stopped nor counted.
#[tokio::test]
async fn a_cap_across_channels_counts_email_and_sms_together() {
    let caps = vec![
        engine::FrequencyCap { channel: None, max: 2, within: Duration::days(1) },
        engine::FrequencyCap { channel: Some("sms".into()), max: 1, within: Duration::days(1) },
    ];
    let mut h = Harness::with_options(Options { caps, ..Options::default() }, WebhookOptions::default());
    h.template("news", "News");
    h.sms_template("promo", "A promo", store::Category::Marketing);
    h.sms_template("code", "Your code is 1234", store::Category::Transactional);
    h.publish(json!({"id": "mail", "entry": {"event": "Mail Tick"}, "steps": [{"id": "n", "type": "send", "template": "news"}]})).await;
    h.publish(json!({"id": "text", "entry": {"event": "Text Tick"}, "steps": [{"id": "p", "type": "send", "channel": "sms", "template": "promo"}]})).await;
    h.publish(json!({"id": "code", "entry": {"event": "Code Asked"}, "steps": [{"id": "c", "type": "send", "channel": "sms", "template": "code"}]})).await;
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"email": "ann@x.test", "phone": "+14155550100"}})).await;
    for event in ["Text Tick", "Text Tick", "Mail Tick", "Code Asked", "Mail Tick"] {
        h.send(Kind::Track, json!({"userId": "ann", "event": event})).await;
        h.advance("1h").await;
    }
    h.advance("1d").await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Mail Tick"})).await;
    h.check_messages(expect![[r#"
        t=+0s sms +14155550100: captured "A promo"
        t=+1h sms +14155550100: suppressed frequency cap: 1 of at most 1 sms in 1d sent already
        t=+2h email ann@x.test: captured "News"
        t=+3h sms +14155550100: captured "Your code is 1234"
        t=+4h email ann@x.test: suppressed frequency cap: 2 of at most 2 messages on every channel in 1d sent already
        t=+1d5h email ann@x.test: captured "News"
    "#]]);
}

/// A journey's own cap counts only its messages: a third from it in a day is not sent, while
/// another journey's still are.
#[tokio::test]
async fn a_journeys_cap_counts_its_own_messages_only() {
    let mut h = Harness::new();
    h.template("news", "News");
    h.transactional("receipt", "Receipt");
    h.publish(json!({"id": "news", "cap": {"max": 2, "within": "1d"}, "entry": {"event": "Tick"},
        "steps": [{"id": "n", "type": "send", "template": "news", "next": "r"}, {"id": "r", "type": "send", "template": "receipt"}]}))
        .await;
    h.publish(json!({"id": "other", "entry": {"event": "Tick"}, "steps": [{"id": "o", "type": "send", "template": "news"}]})).await;
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"email": "ann@x.test"}})).await;
    for _ in 0..3 {
        h.send(Kind::Track, json!({"userId": "ann", "event": "Tick"})).await;
        h.advance("1h").await;
    }
    let mut tx = h.store.read().expect("tx");
    let ann = tx.profile_by_identity(&Identity::UserId("ann".into())).expect("lookup").expect("known");
    let lines: Vec<String> = tx
        .messages(None, Some(ann), None, 100)
        .expect("messages")
        .iter()
        .rev()
        .map(|m| {
            let line = format!(
                "{} {}: {} {}",
                m.payload.context.journey,
                m.payload.effect.node(),
                m.status.as_str(),
                m.last_error.as_deref().unwrap_or("")
            );
            line.trim_end().to_owned()
        })
        .collect();
    expect![[r#"
        news n: captured
        news r: captured
        other o: captured
        news n: captured
        news r: captured
        other o: captured
        news n: suppressed journey news cap: 2 of at most 2 messages in 1d sent already
        news r: captured
        other o: captured"#]]
    .assert_eq(&lines.join("\n"));
}

/// An SMS goes to the phone trait in international form, its text rendered from the
/// template's SMS part; a person who opted out (replied STOP) gets none, transactional or not,
/// and the run's trace says why.
#[tokio::test]
async fn an_sms_goes_to_the_phone_in_international_form_and_an_opt_out_stops_every_one() {
    let mut h = Harness::new();
    h.sms_template("reminder", "Hi {{ traits.firstName }}, see you at 9. Reply STOP to stop.", store::Category::Transactional);
    h.template("hello", "Hello");
    h.publish(json!({"id": "remind", "entry": {"event": "Booked"},
        "steps": [{"id": "text", "type": "send", "channel": "sms", "template": "reminder", "next": "promo"},
                  {"id": "promo", "type": "send", "channel": "sms", "template": "hello"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"firstName": "Ann", "phone": "+1 (415) 555-0100"}})).await;
    h.send(Kind::Identify, json!({"userId": "bo", "traits": {"phone": "+44 20 7946 0958", "sms_unsubscribed": true}})).await;
    h.send(Kind::Identify, json!({"userId": "cy", "traits": {"phone": "020 7946 0958", "email": "cy@x.test"}})).await;
    for who in ["ann", "bo", "cy"] {
        h.send(Kind::Track, json!({"userId": who, "event": "Booked"})).await;
    }
    h.check_messages(expect![[r#"
        t=+0s sms +14155550100: captured "Hi Ann, see you at 9. Reply STOP to stop."
        t=+0s sms +14155550100: failed template "hello" has no SMS text
        t=+0s sms +442079460958: suppressed the person opted out of SMS (trait sms_unsubscribed)
        t=+0s sms +442079460958: suppressed the person opted out of SMS (trait sms_unsubscribed)
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let traces = |who: &str, tx: &mut Box<dyn store::Tx + '_>| -> String {
        let id = tx.profile_by_identity(&Identity::UserId(who.into())).expect("lookup").expect("known");
        let run = tx.runs_of(id).expect("runs").into_iter().next().expect("a run");
        tx.traces(run.id).expect("traces").iter().map(|t| text(&t.lines)).collect::<Vec<_>>().join("\n")
    };
    expect![[r#"
        entered on Booked / text: send sms reminder / promo: send sms hello / completed
        text: message delivered (captured)
        promo: message failed (failed: template "hello" has no SMS text)
        entered on Booked / text: send sms reminder / promo: send sms hello / completed
        text: message failed (suppressed: the person opted out of SMS (trait sms_unsubscribed))
        promo: message failed (suppressed: the person opted out of SMS (trait sms_unsubscribed))
        entered on Booked / text: not sending sms reminder: unreachable (phone trait "020 7946 0958" is not a number in international form (+ and country code)) -> promo / promo: not sending sms hello: unreachable (phone trait "020 7946 0958" is not a number in international form (+ and country code)) -> (end) / completed"#]]
    .assert_eq(&["ann", "bo", "cy"].map(|w| traces(w, &mut tx)).join("\n"));
}

/// Push notifications go to the devices people's events bring (`context.device.token`, as the
/// Segment spec has it, on any call), as they are when it is sent; a device the provider says
/// is gone (`Push Token Unregistered`) is forgotten; a person without devices is skipped; one
/// who turned marketing push off (`push_unsubscribed`) gets none.
#[tokio::test]
async fn push_goes_to_the_devices_events_bring_and_a_gone_one_is_forgotten() {
    let mut h = Harness::new();
    let content =
        store::PushContent { title: "Come back, {{ traits.name }}".into(), body: "Your cart misses you".into(), ..Default::default() };
    h.push_template("back", content);
    h.publish(json!({"id": "cart", "entry": {"event": "Cart Abandoned"},
        "steps": [{"id": "nudge", "type": "send", "channel": "push", "template": "back"}]}))
        .await;
    h.send(
        Kind::Identify,
        json!({"userId": "ann", "traits": {"name": "Ann"}, "context": {"device": {"token": "tok-phone", "type": "ios"}}}),
    )
    .await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "App Opened", "context": {"device": {"token": "tok-tablet"}}})).await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Cart Abandoned"})).await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Push Token Unregistered", "properties": {"token": "tok-phone"}})).await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Cart Abandoned"})).await;
    h.send(Kind::Track, json!({"userId": "bo", "event": "Cart Abandoned"})).await;
    h.send(
        Kind::Identify,
        json!({"userId": "cy", "traits": {"name": "Cy", "push_unsubscribed": true}, "context": {"device": {"token": "tok-cy"}}}),
    )
    .await;
    h.send(Kind::Track, json!({"userId": "cy", "event": "Cart Abandoned"})).await;
    h.check_messages(expect![[r#"
        t=+0s push -: captured "Come back, Ann" to 2 devices
        t=+0s push -: captured "Come back, Ann" to 1 devices
        t=+0s push -: suppressed the person unsubscribed from marketing push notifications (trait push_unsubscribed)
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let ann = tx.profile_by_identity(&Identity::UserId("ann".into())).expect("lookup").expect("known");
    assert_eq!(tx.profile(ann).expect("profile").expect("ann").traits["push_tokens"], json!(["tok-tablet"]));
    let bo = tx.profile_by_identity(&Identity::UserId("bo".into())).expect("lookup").expect("known");
    let run = tx.runs_of(bo).expect("runs").into_iter().next().expect("a run");
    let lines: Vec<String> = tx.traces(run.id).expect("traces").iter().map(|t| text(&t.lines)).collect();
    expect!["entered on Cart Abandoned / nudge: not sending push back: unreachable (no push device (no device token in push_tokens)) -> (end) / completed"]
    .assert_eq(&lines.join("\n"));
}

/// Journeys messaging one person on one channel at once: only the marketing messages of the
/// highest priority go; a transactional one and another channel's are not held back; alone,
/// a low-priority journey's message goes.
#[tokio::test]
async fn of_journeys_messaging_a_person_at_once_the_highest_priority_goes() {
    let mut h = Harness::new();
    h.template("promo", "Spring sale");
    h.template("news", "Our news");
    h.transactional("receipt", "Your account");
    h.sms_template("text", "Welcome!", store::Category::Marketing);
    let journey = |id: &str, priority: i64, channel: &str, template: &str| {
        json!({"id": id, "priority": priority, "entry": {"event": "Signed Up"},
            "steps": [{"id": "s", "type": "send", "channel": channel, "template": template}]})
    };
    h.publish(journey("promo", 10, "email", "promo")).await;
    h.publish(journey("news", 0, "email", "news")).await;
    h.publish(journey("receipt", -5, "email", "receipt")).await;
    h.publish(journey("text", 0, "sms", "text")).await;
    h.publish(json!({"id": "digest", "entry": {"event": "Week Ended"}, "steps": [{"id": "s", "type": "send", "template": "news"}]})).await;
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"email": "ann@x.test", "phone": "+14155550100"}})).await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Signed Up"})).await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Week Ended"})).await;
    h.check_messages(expect![[r#"
        t=+0s email ann@x.test: suppressed journey promo (priority 10) messages them on email at once
        t=+0s email ann@x.test: captured "Spring sale"
        t=+0s email ann@x.test: captured "Your account"
        t=+0s sms +14155550100: captured "Welcome!"
        t=+0s email ann@x.test: captured "Our news"
    "#]]);
}

/// A template's translation goes to people whose `locale` trait names it (or its language);
/// the others get the template as it is.
#[tokio::test]
async fn each_person_gets_the_template_in_their_locale() {
    let mut h = Harness::new();
    let fr = store::Translation { subject: "Bienvenue {{ traits.name }}".into(), ..Default::default() };
    let t = Template {
        subject: "Welcome {{ traits.name }}".into(),
        text: "Hi".into(),
        locales: [("fr".to_owned(), fr)].into_iter().collect(),
        ..Harness::blank(store::Category::Marketing)
    };
    h.put("welcome", t);
    h.publish(json!({"id": "w", "entry": {"event": "Signed Up"}, "steps": [{"id": "hi", "type": "send", "template": "welcome"}]})).await;
    for (who, locale) in [("ann", Some("fr-CA")), ("bob", Some("de")), ("cyd", None)] {
        let mut traits = json!({"name": who, "email": format!("{who}@x.test")});
        if let Some(l) = locale {
            traits["locale"] = json!(l);
        }
        h.send(Kind::Identify, json!({"userId": who, "traits": traits})).await;
        h.send(Kind::Track, json!({"userId": who, "event": "Signed Up"})).await;
    }
    h.check_messages(expect![[r#"
        t=+0s email ann@x.test: captured "Bienvenue ann"
        t=+0s email bob@x.test: captured "Welcome bob"
        t=+0s email cyd@x.test: captured "Welcome cyd"
    "#]]);
}

/// An in-app message is kept for its person (as merged now) and announced to the pages
/// listening; no consent or cap stops it (it interrupts nobody); one that does not render fails.
#[tokio::test]
async fn in_app_messages_are_kept_for_the_person_and_announced() {
    let caps = vec![engine::FrequencyCap { channel: None, max: 1, within: Duration::days(1) }];
    let mut h = Harness::with_options(Options { caps, ..Options::default() }, WebhookOptions::default());
    let content = store::InAppContent {
        placement: "home".into(),
        title: "{{ traits.name }}, 20% off".into(),
        link: "https://shop.test/c/{{ event.cart }}".into(),
        ..Default::default()
    };
    h.put("offer", Template { in_app: content, ..Harness::blank(store::Category::Marketing) });
    h.put(
        "broken",
        Template {
            in_app: store::InAppContent { body: "{{ event.nope }}".into(), ..Default::default() },
            ..Harness::blank(store::Category::Marketing)
        },
    );
    h.publish(json!({"id": "cart", "entry": {"event": "Cart Abandoned"},
        "steps": [{"id": "show", "type": "send", "channel": "in_app", "template": "offer"}]}))
        .await;
    h.publish(json!({"id": "oops", "entry": {"event": "Oops"}, "steps": [{"id": "show", "type": "send", "channel": "in_app", "template": "broken"}]}))
        .await;
    let mut news = h.engine.in_app_messages();
    h.send(Kind::Identify, json!({"anonymousId": "a-1", "traits": {"name": "Ann", "email_unsubscribed": true}})).await;
    h.send(Kind::Track, json!({"anonymousId": "a-1", "event": "Cart Abandoned", "properties": {"cart": "c1"}})).await;
    h.send(Kind::Track, json!({"anonymousId": "a-1", "event": "Cart Abandoned", "properties": {"cart": "c2"}})).await;
    // She signs in: her earlier visit (another profile) is merged into her account.
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"name": "Ann"}})).await;
    h.send(Kind::Identify, json!({"userId": "ann", "anonymousId": "a-1"})).await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Oops"})).await;
    h.check_messages(expect![[r#"
        t=+0s in_app -: sent "Ann, 20% off"
        t=+0s in_app -: sent "Ann, 20% off"
        t=+0s in_app -: failed template "broken", in-app body: template does not render: liquid: Unknown index
          with:
            variable=event
            requested index=nope
            available indexes=

    "#]]);
    let heard: Vec<String> = std::iter::from_fn(|| news.try_recv().ok()).map(|m| m.content.link).collect();
    assert_eq!(heard, ["https://shop.test/c/c1", "https://shop.test/c/c2"], "pages hear of each as it is kept");
    let mut tx = h.store.read().expect("tx");
    let ann = tx.profile_by_identity(&Identity::UserId("ann".into())).expect("lookup").expect("known");
    let ann = tx.canonical(ann).expect("canonical").unwrap_or(ann);
    let kept = tx.in_app_messages(ann, "home", h.clock_now(), 10).expect("kept");
    let links: Vec<&str> = kept.iter().map(|m| m.content.link.as_str()).collect();
    assert_eq!(links, ["https://shop.test/c/c2", "https://shop.test/c/c1"], "hers after the merge, newest first");
    assert_eq!(kept[0].expires_at, h.clock_now().plus(Duration::days(30)), "kept for 30 days by default");
}

/// Each channel has a queue of its own: webhooks to a receiver that never answers do not
/// hold up email.
#[tokio::test(flavor = "multi_thread")]
async fn a_stuck_webhook_receiver_never_holds_up_email() {
    // Takes connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    let mut h = Harness::with_options(
        Options::default(),
        WebhookOptions { allow_private: true, timeout: std::time::Duration::from_secs(600), ..Default::default() },
    );
    h.template("hello", "Hello");
    h.publish(json!({"id": "crm", "entry": {"event": "Signed Up"}, "steps": [{"id": "notify", "type": "webhook", "url": url}]})).await;
    h.publish(json!({"id": "greet", "entry": {"event": "Verified"}, "steps": [{"id": "a", "type": "send", "template": "hello"}]})).await;
    let mut events: Vec<Event> = (0..20).map(|i| h.event(Kind::Track, json!({"userId": format!("w{i}"), "event": "Signed Up"}))).collect();
    events.push(h.event(Kind::Identify, json!({"userId": "jo", "traits": {"email": "jo@x.test"}})));
    events.push(h.event(Kind::Track, json!({"userId": "jo", "event": "Verified"})));
    // No wake: the dispatcher's own queues send what was committed.
    h.engine.ingest(SourceId("web".into()), events).await.expect("ingest");
    let started = std::time::Instant::now();
    while !h.messages().contains("captured \"Hello\"") {
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "the email waited for the webhooks:\n{}", h.messages());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let pending = h.store.read().expect("tx").messages(Some(OutboxStatus::Pending), None, None, 100).expect("messages");
    assert_eq!(pending.len(), 20, "every webhook still waits for its receiver");
}

#[tokio::test]
async fn webhooks_retry_with_backoff_then_succeed_signed() {
    let (url, seen) = webhook_receiver(vec![503, 500]).await;
    let options =
        Options { retry: RetryPolicy { base: Duration::seconds(30), cap: Duration::hours(1), max_attempts: 5 }, ..Options::default() };
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut h = Harness::with_options(options, WebhookOptions { allow_private: true, secret: Some(SECRET.into()), ..Default::default() });
    h.publish(json!({"id": "crm", "entry": {"event": "Signed Up"},
        "steps": [{"id": "notify", "type": "webhook", "url": url, "body": {"user": "{{ traits.firstName }}", "plan": "{{ event.plan }}"}}]})).await;
    h.send(Kind::Identify, json!({"userId": "kai", "traits": {"firstName": "Kai"}})).await;
    h.send(Kind::Track, json!({"userId": "kai", "event": "Signed Up", "properties": {"plan": "pro"}})).await;
    assert_eq!(seen.lock().expect("seen").len(), 1);
    // The first retry comes 15-30 s later (the backoff less a jitter of up to half).
    h.advance("14s").await;
    assert_eq!(seen.lock().expect("seen").len(), 1, "no retry before half the backoff delay");
    h.advance("16s").await;
    assert_eq!(seen.lock().expect("seen").len(), 2);
    h.advance("1m").await;
    let requests = seen.lock().expect("seen").clone();
    assert_eq!(requests.len(), 3);
    let last = requests.last().expect("request");
    assert!(last.ends_with(r#"{"plan":"pro","user":"Kai"}"#), "{last}");
    // Standard Webhooks: `webhook-signature: v1,<base64>` (header names in any case).
    let header = |name: &str| {
        last.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()))
    };
    let id = header("webhook-id").expect("webhook-id");
    let ts: i64 = header("webhook-timestamp").expect("timestamp").parse().expect("number");
    let signature = header("webhook-signature").expect("webhook-signature");
    assert!(signature.starts_with("v1,"), "expected webhook-signature: v1,<base64>: {last}");
    let expected = deliver::signature(SECRET, &id, ts, br#"{"plan":"pro","user":"Kai"}"#).expect("a whsec_ secret");
    assert_eq!(signature, expected, "signature verifies");
    let mut tx = h.store.read().expect("tx");
    let m = &tx.messages(None, None, None, 10).expect("messages")[0];
    assert_eq!((m.status, m.attempts), (OutboxStatus::Sent, 3));
}

#[tokio::test]
async fn permanent_webhook_failures_are_recorded_not_retried() {
    let (url, seen) = webhook_receiver(vec![400]).await;
    let mut h = Harness::new();
    h.publish(json!({"id": "crm", "entry": {"event": "Signed Up"}, "steps": [{"id": "notify", "type": "webhook", "url": url}]})).await;
    h.send(Kind::Track, json!({"userId": "lee", "event": "Signed Up"})).await;
    h.advance("1d").await;
    assert_eq!(seen.lock().expect("seen").len(), 1);
    let mut tx = h.store.read().expect("tx");
    let m = &tx.messages(Some(OutboxStatus::Failed), None, None, 10).expect("messages")[0];
    assert!(m.last_error.as_deref().unwrap_or("").contains("400"), "{:?}", m.last_error);
}

#[tokio::test]
async fn webhooks_to_private_addresses_are_refused_by_default() {
    let mut h = Harness::with_options(Options::default(), WebhookOptions::default());
    h.publish(json!({"id": "crm", "entry": {"event": "Signed Up"}, "steps": [{"id": "notify", "type": "webhook", "url": "http://127.0.0.1:9/x"}]})).await;
    h.send(Kind::Track, json!({"userId": "max", "event": "Signed Up"})).await;
    h.check_messages(expect![[r#"
        t=+0s webhook -: failed webhook to private address 127.0.0.1 refused (set webhook.allow_private to allow)
    "#]]);
}

#[tokio::test]
async fn one_batch_of_many_people_is_processed_in_order_per_person() {
    let mut h = seeded().await;
    // 100 people, their events interleaved in one request: enough for the parallel path.
    let mut events = Vec::new();
    for who in 0..100 {
        events.push(h.event(
            Kind::Identify,
            json!({"anonymousId": format!("a{who}"), "traits": {"firstName": format!("P{who}"), "email": format!("p{who}@x.test")}}),
        ));
    }
    for path in ["/products/a", "/products/b", "/products/c"] {
        for who in 0..100 {
            events.push(h.event(Kind::Page, json!({"anonymousId": format!("a{who}"), "properties": {"path": path}})));
        }
    }
    let report = h.engine.ingest(SourceId("web".into()), events).await.expect("ingest");
    assert_eq!(report.accepted, 400);
    h.engine.wake().await.expect("wake");
    let mut tx = h.store.read().expect("tx");
    let sent = tx.messages(Some(OutboxStatus::Captured), None, None, 1000).expect("messages");
    assert_eq!(sent.len(), 100, "everyone qualifies on their third view");
    let subjects: std::collections::BTreeSet<_> =
        sent.iter().filter_map(|m| m.result.as_ref()?["subject"].as_str().map(str::to_owned)).collect();
    assert!(subjects.contains("P42, a free consultation?"), "traits from the identify earlier in the same batch");
    // Each view saw exactly the views before it: the third, and only it, entered, with 3.
    let p = tx.profile_by_identity(&Identity::AnonymousId("a7".into())).expect("lookup").expect("known");
    let entered: Vec<String> = tx
        .runs_of(p)
        .expect("runs")
        .iter()
        .flat_map(|r| tx.traces(r.id).expect("traces"))
        .filter_map(|t| t.lines.first().filter(|l| l.text.starts_with("entered")).map(|l| l.text.clone()))
        .collect();
    assert_eq!(entered.len(), 1, "{entered:?}");
    assert!(
        entered[0].contains(r#"path = "/products/c""#) && entered[0].contains(r#"count("Page Viewed" where … in 7d) = 3 gte 3"#),
        "{entered:?}"
    );
}

#[tokio::test]
async fn merging_two_people_in_the_same_journey_keeps_one_run() {
    let mut h = Harness::new();
    h.template("hello", "Hello");
    h.publish(json!({"id": "trial", "entry": {"event": "Trial Started"},
        "steps": [{"id": "pause", "type": "wait", "duration": "7d", "next": "hello"}, {"id": "hello", "type": "send", "template": "hello"}]})).await;
    h.send(Kind::Track, json!({"anonymousId": "laptop", "event": "Trial Started"})).await;
    h.send(Kind::Track, json!({"userId": "nia", "event": "Trial Started"})).await;
    h.send(Kind::Identify, json!({"userId": "nia", "anonymousId": "laptop", "traits": {"email": "nia@x.test"}})).await;
    h.advance("8d").await;
    h.check_messages(expect![[r#"
        t=+7d email nia@x.test: captured "Hello"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("nia".into())).expect("lookup").expect("known");
    let reasons: Vec<_> = tx.runs_of(p).expect("runs").into_iter().map(|r| r.run.exit_reason.unwrap_or_default()).collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons.iter().any(|r| r.starts_with("profile merged into")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r == "completed"), "{reasons:?}");
}

#[tokio::test]
async fn update_steps_change_traits_log_an_event_and_fire_trait_change_entries() {
    let mut h = Harness::new();
    h.template("vip", "Welcome to VIP, {{ traits.firstName }}");
    h.publish(json!({"id": "count-orders", "entry": {"event": "Order Completed"},
        "steps": [{"id": "count", "type": "update", "increment": {"orders": 1}, "next": "promote"},
                  {"id": "promote", "type": "branch", "cases": [{"when": {"trait": "orders", "op": "gte", "value": 2}, "next": "vip"}]},
                  {"id": "vip", "type": "update", "set": {"tier": "vip"}}]}))
        .await;
    h.publish(json!({"id": "vip-welcome", "entry": {"trait_change": {"trait": "tier", "to": "vip"}},
        "steps": [{"id": "hello", "type": "send", "template": "vip"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "ola", "traits": {"firstName": "Ola", "email": "ola@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "ola", "event": "Order Completed"})).await;
    h.send(Kind::Track, json!({"userId": "ola", "event": "Order Completed"})).await;
    h.send(Kind::Track, json!({"userId": "ola", "event": "Order Completed"})).await;
    h.check_messages(expect![[r#"
        t=+0s email ola@x.test: captured "Welcome to VIP, Ola"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("ola".into())).expect("lookup").expect("known");
    let traits = tx.profile(p).expect("load").expect("exists").traits;
    assert_eq!((traits["orders"].clone(), traits["tier"].clone()), (json!(3), json!("vip")));
    let updates: Vec<_> = tx
        .timeline(p, 100)
        .expect("timeline")
        .into_iter()
        .filter(|e| e.event.match_name() == "Traits Updated")
        .map(|e| Value::Object(e.event.traits))
        .collect();
    assert_eq!(updates, [json!({"orders": 3}), json!({"tier": "vip"}), json!({"orders": 2}), json!({"orders": 1})]);
}

#[tokio::test]
async fn api_entries_entry_limits_and_holdout_are_kept() {
    let mut h = Harness::new();
    h.template("coupon", "Your coupon {{ event.code }}");
    h.publish(json!({"id": "manual", "entry": {"api": true, "limit": 2}, "steps": [{"id": "send", "type": "send", "template": "coupon"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "pat", "traits": {"email": "pat@x.test"}})).await;
    let code = |c: &str| json!({"code": c}).as_object().cloned().unwrap_or_default();
    let journey = JourneyId("manual".into());
    assert!(h.engine.enter(journey.clone(), Identity::UserId("pat".into()), code("A1")).await.expect("enter"));
    assert!(
        h.engine.enter(journey.clone(), Identity::UserId("new-person".into()), code("B2")).await.expect("enter"),
        "unknown people are created"
    );
    assert!(
        !h.engine.enter(journey.clone(), Identity::UserId("pat".into()), code("C3")).await.expect("enter"),
        "the limit of 2 runs is reached"
    );
    assert!(!h.engine.enter(JourneyId("nope".into()), Identity::UserId("pat".into()), code("D4")).await.expect("enter"));
    h.engine.wake().await.expect("wake");
    h.check_messages(expect![[r#"
        t=+0s email pat@x.test: captured "Your coupon A1"
    "#]]);
    // Holdout: a stable share is recorded as a control group and sent nothing.
    h.publish(json!({"id": "winback", "entry": {"event": "Churned", "holdout": 30}, "steps": [{"id": "offer", "type": "send", "template": "coupon"}]})).await;
    let events: Vec<_> = (0..200).map(|i| h.event(Kind::Track, json!({"userId": format!("c{i}"), "event": "Churned"}))).collect();
    h.engine.ingest(SourceId("web".into()), events).await.expect("ingest");
    let mut tx = h.store.read().expect("tx");
    let mut control = 0;
    for i in 0..200 {
        let p = tx.profile_by_identity(&Identity::UserId(format!("c{i}"))).expect("lookup").expect("known");
        control += tx.runs_of(p).expect("runs").iter().filter(|r| r.run.control).count();
    }
    assert!((40..=80).contains(&control), "about 30% of 200 in the control group, got {control}");
}

#[tokio::test]
async fn a_backtest_over_the_same_events_reports_what_the_live_journey_did() {
    let mut h = seeded().await;
    for who in ["ann", "ben", "cy", "di"] {
        h.send(Kind::Identify, json!({"userId": who, "traits": {"firstName": who, "email": format!("{who}@x.test")}})).await;
    }
    h.send(Kind::Track, json!({"userId": "ben", "event": "Sales Contacted"})).await;
    for day in 0..4 {
        for who in ["ann", "ben", "cy", "di"] {
            if day < 3 || who == "di" {
                h.page(who, &format!("/products/{day}")).await;
            }
        }
        h.advance("1d").await;
    }
    h.send(Kind::Track, json!({"userId": "cy", "event": "Consultation Booked"})).await;
    h.advance("5d").await;
    let end = h.clock_now();
    let live = engine::backtest::report(&*h.store, &JourneyId("consultation".into()), Timestamp(START), end).expect("live report");
    let live_counts = h.counts("consultation").await;
    let scratch = tempfile::tempdir().expect("scratch");
    let progress = std::sync::Mutex::new(Vec::new());
    let replayed = engine::backtest::run(h.store.clone(), &consultation(), Timestamp(START), end, scratch.path(), &|done, total| {
        progress.lock().expect("progress").push((done, total));
    })
    .await
    .expect("backtest");
    assert_eq!(outcome(&replayed), live, "the backtest reports exactly what happened live");
    // The per-node counts of a backtest are its scratch store's (here what happened live),
    // and the live store's are left alone.
    assert_eq!(h.counts("consultation").await, live_counts, "a backtest counts nothing in the live store");
    let backtest_store = SqliteStore::open(&scratch.path().join("backtest.db")).expect("the backtest's store");
    let replayed_counts =
        backtest_store.read().expect("tx").node_counts(&JourneyId("consultation".into()), Timestamp(0), end.plus(Duration::hours(1)));
    assert_eq!(replayed_counts.expect("counts"), live_counts);
    assert_eq!(live_counts["$entry"].entered, 3);
    assert_eq!(replayed.sends.get("consultation-invite"), Some(&3));
    assert_eq!(replayed.sends.get("consultation-reminder"), Some(&2));
    assert_eq!((replayed.events, replayed.warmup_events), (19, 0));
    assert_eq!(progress.lock().expect("progress").last(), Some(&(19, 19)));
    // 13 product views: the third of each person who was not contacted by sales started a run
    // (ann, cy, di); the first two of each, and ben's third, did not qualify; di's fourth came
    // while her run waited for a booking.
    let entries = Entries {
        events: 13,
        entered: 3,
        filtered: 9,
        filter_reasons: vec![
            (r#"count("Page Viewed" where … in 7d) = 1 gte 3 -> false"#.into(), 4),
            (r#"count("Page Viewed" where … in 7d) = 2 gte 3 -> false"#.into(), 4),
            (r#"count("Sales Contacted" in 7d) = 1 eq 0 -> false"#.into(), 1),
        ],
        waiting: 1,
        ..Entries::default()
    };
    assert_eq!(replayed.entries, entries);
}

/// What a live report can tell too: a backtest's report without what only a replay knows
/// (the period's events, the warm-up, the entry events' fate).
fn outcome(r: &Report) -> Report {
    Report { events: 0, warmup_events: 0, entries: Entries::default(), ..r.clone() }
}

/// A backtest counts the period's events apart from the warm-up, each step once per visit
/// (a branch trying two cases, a wait_for resumed), renders messages as the dispatcher does
/// (a template variable the person lacks fails, as it did live), and says why entry events
/// started no run; and it still reports what the live journey did.
#[tokio::test]
async fn a_backtest_counts_visits_renders_messages_and_explains_entries_like_live() {
    let mut h = Harness::new();
    h.template("hello", "Hi {{ traits.firstName }}");
    h.template("bye", "Bye");
    let doc = json!({"id": "greet", "entry": {"event": "Page Viewed", "reentry": "never",
            "filter": {"property": "path", "op": "starts_with", "value": "/products/"}},
        "steps": [
            {"id": "check", "type": "branch", "cases": [
                {"when": {"trait": "plan", "op": "eq", "value": "pro"}, "next": "hello"},
                {"when": {"trait": "plan", "op": "exists"}, "next": "hello"}], "else": "wait"},
            {"id": "hello", "type": "send", "template": "hello", "next": "wait"},
            {"id": "wait", "type": "wait_for", "events": [{"event": "Clicked", "next": "wait"}], "timeout": "2d", "timeout_next": "bye"},
            {"id": "bye", "type": "send", "template": "bye"}]});
    // Warm-up, before the journey is published: who the people are, and a view that enters nothing.
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"plan": "free", "firstName": "Ann", "email": "ann@x.test"}})).await;
    h.send(Kind::Identify, json!({"userId": "bo", "traits": {"plan": "pro", "email": "bo@x.test"}})).await;
    h.send(Kind::Identify, json!({"userId": "cy", "traits": {"firstName": "Cy", "email": "cy@x.test"}})).await;
    h.page("ann", "/products/0").await;
    h.advance("1d").await;
    let from = h.clock_now();
    h.publish(doc.clone()).await;
    h.advance("1h").await;
    h.page("ann", "/products/1").await; // case 0 false, case 1 true: hello, then wait
    // (A backtest replays the events of one instant as one batch, as a batch request is taken
    // live: the outcome of ann's hello would then come after the batch, not before the rest.)
    h.advance("1m").await;
    h.page("bo", "/blog").await; // filtered
    h.page("bo", "/about").await; // filtered
    h.page("bo", "/products/2").await; // case 0 true: hello fails (no firstName), then wait
    h.page("cy", "/products/3").await; // both cases false, else: wait
    h.page("ann", "/products/4").await; // her run is waiting
    h.send(Kind::Track, json!({"userId": "ann", "event": "Clicked"})).await; // got Clicked -> wait again
    h.advance("3d").await; // every wait times out: bye
    h.page("cy", "/products/5").await; // re-entry is never
    let to = h.clock_now();
    let live = engine::backtest::report(&*h.store, &JourneyId("greet".into()), from, to).expect("live report");
    let scratch = tempfile::tempdir().expect("scratch");
    let replayed = engine::backtest::run(h.store.clone(), &doc, from, to, scratch.path(), &|_, _| {}).await.expect("backtest");
    assert_eq!(outcome(&replayed), live, "the backtest reports what happened live, failed messages included");
    assert_eq!((replayed.events, replayed.warmup_events), (8, 4));
    let count = |pairs: &[(&str, usize)]| pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>();
    assert_eq!(replayed.visits, count(&[("check", 3), ("hello", 2), ("wait", 4), ("bye", 3)]));
    assert_eq!(replayed.sends, count(&[("hello", 2), ("bye", 3)]));
    assert_eq!(replayed.failed.len(), 1, "{:?}", replayed.failed);
    let (why, n) = replayed.failed.iter().next().expect("one reason");
    assert_eq!(*n, 1);
    assert!(why.starts_with("template \"hello\", subject: template does not render") && why.contains("firstName"), "{why}");
    assert!(!why.contains("plan"), "the person's own traits are not part of the reason: {why}");
    let entries = Entries {
        events: 7,
        entered: 3,
        filtered: 2,
        filter_reasons: vec![
            (r#"property path = "/about" starts_with "/products/" -> false"#.into(), 1),
            (r#"property path = "/blog" starts_with "/products/" -> false"#.into(), 1),
        ],
        waiting: 1,
        reentry: 1,
        ..Entries::default()
    };
    assert_eq!(replayed.entries, entries);
    assert_eq!((replayed.runs, replayed.exits.get("completed")), (3, Some(&3)));
}

/// A message whose template does not exist fails in a backtest, as the dispatcher fails it.
#[tokio::test]
async fn a_backtest_fails_a_message_whose_template_is_missing() {
    let mut h = Harness::new();
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"email": "ann@x.test"}})).await;
    h.send(Kind::Identify, json!({"userId": "bo"})).await;
    h.template("hello", "Hi");
    let doc = json!({"id": "two", "entry": {"event": "Joined"}, "steps": [
        {"id": "a", "type": "send", "template": "hello", "next": "b"}, {"id": "b", "type": "send", "template": "gone"}]});
    let from = h.clock_now();
    h.send(Kind::Track, json!({"userId": "ann", "event": "Joined"})).await;
    h.send(Kind::Track, json!({"userId": "bo", "event": "Joined"})).await;
    let scratch = tempfile::tempdir().expect("scratch");
    let r = engine::backtest::run(h.store.clone(), &doc, from, h.clock_now(), scratch.path(), &|_, _| {}).await.expect("backtest");
    let failed: Vec<(&str, usize)> = r.failed.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(failed, [("template \"gone\" does not exist", 1)], "bo, who has no email, is skipped, not failed");
    assert_eq!(r.sends.values().sum::<usize>(), 2);
}

#[tokio::test]
async fn history_conditions_are_kept_as_counters_per_person() {
    let mut h = seeded().await;
    h.send(Kind::Identify, json!({"userId": "uma", "traits": {"firstName": "Uma", "email": "uma@x.test"}})).await;
    for p in ["/products/a", "/blog", "/products/b"] {
        h.page("uma", p).await;
    }
    let journey = domain::journey::Journey::parse(&consultation()).expect("valid");
    let views = &journey.history[0];
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("uma".into())).expect("lookup").expect("known");
    let state = tx.counter(p, &views.key).expect("read").expect("kept after the first use");
    let counter: domain::aggregate::Counter = serde_json::from_str(&state).expect("counter");
    assert_eq!(counter.evaluate(views, h.clock_now()), json!(2), "two product views, the blog view filtered out");
    drop(tx);
    // The third product view reads the counter (3) and qualifies.
    h.page("uma", "/products/c").await;
    h.check_messages(expect![[r#"
        t=+0s email uma@x.test: captured "Uma, a free consultation?"
    "#]]);
}

#[tokio::test]
async fn schedules_enter_their_audience_and_date_entries_come_at_local_time() {
    let mut h = Harness::new();
    h.template("digest", "Your weekly digest");
    h.template("renewal", "Renewal in 3 days");
    h.publish(json!({"id": "weekly-digest", "entry": {"schedule": {"cron": "0 9 * * mon", "timezone": "Europe/Paris"},
        "audience": {"trait": "plan", "op": "eq", "value": "pro"}}, "steps": [{"id": "send", "type": "send", "template": "digest"}]}))
        .await;
    h.publish(json!({"id": "renewal", "entry": {"date": {"trait": "renewal_date", "offset": "-3d", "at": "09:00"}},
        "steps": [{"id": "send", "type": "send", "template": "renewal"}]}))
        .await;
    // START is Friday 2027-01-15 08:00 UTC.
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"plan": "pro", "email": "ann@x.test"}})).await;
    h.send(Kind::Identify, json!({"userId": "bob", "traits": {"plan": "free", "email": "bob@x.test"}})).await;
    h.send(
        Kind::Identify,
        json!({"userId": "cy", "traits": {"renewal_date": "2027-01-20", "timezone": "Asia/Tokyo", "email": "cy@x.test"}}),
    )
    .await;
    h.send(
        Kind::Identify,
        json!({"userId": "di", "traits": {"renewal_date": "2027-01-20", "timezone": "America/New_York", "email": "di@x.test"}}),
    )
    .await;
    h.send(Kind::Identify, json!({"userId": "ed", "traits": {"renewal_date": "2027-01-01", "email": "ed@x.test"}})).await;
    h.advance("10d").await;
    h.check_messages(expect![[r#"
        t=+1d16h email cy@x.test: captured "Renewal in 3 days"
        t=+2d6h email di@x.test: captured "Renewal in 3 days"
        t=+3d email ann@x.test: captured "Your weekly digest"
        t=+10d email ann@x.test: captured "Your weekly digest"
    "#]]);
}

#[tokio::test]
async fn webhook_response_fields_are_saved_to_traits_and_drive_the_journey() {
    let (url, seen) = webhook_receiver(vec![]).await;
    let mut h = Harness::new();
    h.template("hot", "A hot lead: {{ traits.tier }}");
    h.publish(json!({"id": "score", "entry": {"event": "Demo Requested"},
        "steps": [{"id": "crm", "type": "webhook", "url": url, "save": {"lead_score": "/score", "tier": "/data/tier", "absent": "/nope"}, "next": "later"},
                  {"id": "later", "type": "wait", "duration": "1h", "next": "is-hot"},
                  {"id": "is-hot", "type": "branch", "cases": [{"when": {"trait": "lead_score", "op": "gte", "value": 40}, "next": "tell"}]},
                  {"id": "tell", "type": "send", "template": "hot"}]})).await;
    h.send(Kind::Identify, json!({"userId": "val", "traits": {"email": "val@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "val", "event": "Demo Requested"})).await;
    h.engine.wake().await.expect("wake");
    h.advance("1h").await;
    assert_eq!(seen.lock().expect("seen").len(), 1);
    h.check_messages(expect![[r#"
        t=+0s webhook -: sent 
        t=+1h email val@x.test: captured "A hot lead: gold"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("val".into())).expect("lookup").expect("known");
    let traits = tx.profile(p).expect("load").expect("exists").traits;
    assert_eq!((traits["lead_score"].clone(), traits.get("absent")), (json!(42), None));
}

#[tokio::test]
async fn concurrent_entries_give_a_person_several_runs() {
    let mut h = Harness::new();
    h.template("receipt", "Receipt for {{ event.order }}");
    h.publish(json!({"id": "receipts", "entry": {"event": "Order Completed", "concurrent": true},
        "steps": [{"id": "later", "type": "wait", "duration": "1d", "next": "send"}, {"id": "send", "type": "send", "template": "receipt"}]})).await;
    h.publish(json!({"id": "single", "entry": {"event": "Order Completed"},
        "steps": [{"id": "later", "type": "wait", "duration": "1d"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "wes", "traits": {"email": "wes@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "wes", "event": "Order Completed", "properties": {"order": "A-1"}})).await;
    h.advance("1h").await;
    h.send(Kind::Track, json!({"userId": "wes", "event": "Order Completed", "properties": {"order": "A-2"}})).await;
    h.advance("2d").await;
    h.check_messages(expect![[r#"
        t=+1d email wes@x.test: captured "Receipt for A-1"
        t=+1d1h email wes@x.test: captured "Receipt for A-2"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("wes".into())).expect("lookup").expect("known");
    let single = tx.runs_of(p).expect("runs").iter().filter(|r| r.run.journey.0 == "single").count();
    assert_eq!(single, 1, "without concurrent, one waiting run per person");
}

#[tokio::test]
async fn reentry_rules_hold_after_a_run_has_ended() {
    // With people's state remembered by the core, and read from the store every time.
    for hot_people in [100_000, 0] {
        let options = Options { hot_people, ..Options::default() };
        let mut h = Harness::with_options(options, WebhookOptions::default());
        h.template("hi", "Hi");
        h.publish(json!({"id": "once", "entry": {"event": "Visited", "reentry": "never"}, "steps": [{"id": "hi", "type": "send", "template": "hi"}]}))
            .await;
        h.publish(json!({"id": "weekly", "entry": {"event": "Visited", "reentry": {"after": "7d"}},
            "steps": [{"id": "hi", "type": "send", "template": "hi"}]}))
            .await;
        h.send(Kind::Identify, json!({"userId": "ida", "traits": {"email": "ida@x.test"}})).await;
        for _ in 0..4 {
            h.send(Kind::Track, json!({"userId": "ida", "event": "Visited"})).await;
            h.advance("3d").await;
        }
        h.check_messages(expect![[r#"
            t=+0s email ida@x.test: captured "Hi"
            t=+0s email ida@x.test: captured "Hi"
            t=+9d email ida@x.test: captured "Hi"
        "#]]);
    }
}

/// A mixed few days (history branches, waits, merges, trait updates and the entries they
/// start, exits, re-entry) as messages and every run's final state, oldest first.
async fn mixed_days(options: Options) -> String {
    let mut h = Harness::with_options(options, WebhookOptions::default());
    h.template("consultation-invite", "{{ traits.firstName }}, a free consultation?");
    h.template("consultation-reminder", "Still interested, {{ traits.firstName }}?");
    h.template("hello", "Hello");
    h.template("vip", "Welcome to VIP, {{ traits.firstName }}");
    h.publish(consultation()).await;
    h.publish(json!({"id": "trial", "entry": {"event": "Trial Started"}, "exit": [{"event": "Unsubscribed"}],
        "steps": [{"id": "pause", "type": "wait", "duration": "2d", "next": "hello"}, {"id": "hello", "type": "send", "template": "hello"}]}))
    .await;
    h.publish(json!({"id": "count-orders", "entry": {"event": "Order Completed", "reentry": "always"},
        "steps": [{"id": "count", "type": "update", "increment": {"orders": 1}, "next": "promote"},
                  {"id": "promote", "type": "branch", "cases": [{"when": {"trait": "orders", "op": "gte", "value": 2}, "next": "vip"}]},
                  {"id": "vip", "type": "update", "set": {"tier": "vip"}}]}))
        .await;
    h.publish(json!({"id": "vip-welcome", "entry": {"trait_change": {"trait": "tier", "to": "vip"}},
        "steps": [{"id": "hello", "type": "send", "template": "vip"}]}))
        .await;
    // Segments with time edges, merges (the laptop's visitor is cy) and one testing another.
    h.segment(json!({"id": "browsing", "condition": {"history": {"event": "Page Viewed", "within": "2d"}, "op": "gte", "value": 1}})).await;
    h.segment(
        json!({"id": "vip-browsing", "condition": {"all": [{"trait": "tier", "op": "eq", "value": "vip"}, {"segment": "browsing"}]}}),
    )
    .await;
    h.computed(json!({"trait": "views_2d", "history": {"event": "Page Viewed", "within": "2d"}})).await;
    h.computed(
        json!({"trait": "paths_2d", "history": {"event": "Page Viewed", "within": "2d", "aggregate": "distinct", "property": "path"}}),
    )
    .await;
    let people = ["ann", "ben", "cy", "dee"];
    let mut computed = String::new();
    for who in people {
        h.send(Kind::Identify, json!({"userId": who, "traits": {"firstName": who.to_uppercase(), "email": format!("{who}@x.test")}})).await;
    }
    h.send(Kind::Track, json!({"anonymousId": "laptop", "event": "Trial Started"})).await;
    h.send(Kind::Page, json!({"anonymousId": "laptop", "properties": {"path": "/products/x"}})).await;
    h.send(Kind::Track, json!({"userId": "cy", "event": "Trial Started"})).await;
    for day in 0..4 {
        for (i, who) in people.iter().enumerate() {
            if (day + i) % 2 == 0 {
                h.page(who, &format!("/products/{day}")).await;
            }
            if day == 1 && i % 2 == 1 {
                h.send(Kind::Track, json!({"userId": who, "event": "Order Completed"})).await;
            }
        }
        if day == 1 {
            h.send(Kind::Identify, json!({"userId": "cy", "anonymousId": "laptop"})).await;
            h.send(Kind::Track, json!({"userId": "ben", "event": "Sales Contacted"})).await;
        }
        if day == 2 {
            h.send(Kind::Track, json!({"userId": "dee", "event": "Order Completed"})).await;
            h.send(Kind::Track, json!({"userId": "ann", "event": "Trial Started"})).await;
            h.send(Kind::Track, json!({"userId": "ann", "event": "Unsubscribed"})).await;
        }
        h.advance("1d").await;
        // Computed traits as the days go (a time edge lowers them when nothing happens).
        let mut tx = h.store.read().expect("tx");
        for who in people {
            let p = tx.profile_by_identity(&Identity::UserId(who.into())).expect("lookup").expect("known");
            let t = tx.profile(p).expect("profile").expect("kept").traits;
            computed += &format!("day {day} {who}: views_2d {} paths_2d {}\n", t["views_2d"], t["paths_2d"]);
        }
    }
    h.advance("5d").await;
    let mut out = h.messages();
    let mut tx = h.store.read().expect("tx");
    for j in ["consultation", "trial", "count-orders", "vip-welcome"] {
        for r in tx.journey_runs(&JourneyId(j.into())).expect("runs") {
            let run = r.run;
            let node = run.node.as_ref().map_or("-".to_owned(), |n| n.0.clone());
            out += &format!("{j} profile {}: {} at {node} ({})\n", r.profile, run.status.as_str(), run.exit_reason.unwrap_or_default());
        }
    }
    out += &computed;
    for s in ["browsing", "vip-browsing"] {
        let id = domain::ids::SegmentId(s.into());
        let hours = tx.segment_hours(&id, Timestamp(START), h.clock_now().plus(Duration::hours(1))).expect("hours");
        let moves: Vec<String> =
            hours.iter().map(|x| format!("+{} in {} out {}", Duration::millis(x.hour.0 - START), x.entered, x.exited)).collect();
        out += &format!("segment {s}: members {:?}; {}\n", h.members(s), moves.join(", "));
    }
    drop(tx);
    for j in ["consultation", "trial", "count-orders", "vip-welcome"] {
        h.check_counts_match_runs(j).await;
        out += &format!("{j}:\n{}", table(&h.counts(j).await));
    }
    out
}

#[tokio::test]
async fn remembering_people_between_batches_changes_nothing_but_speed() {
    let remembered = mixed_days(Options::default()).await;
    assert_eq!(remembered, mixed_days(Options { hot_people: 0, ..Options::default() }).await, "read from the store every time");
    assert_eq!(remembered, mixed_days(Options { hot_people: 2, ..Options::default() }).await, "forgotten and read back all the time");
    expect![[r#"
        t=+2d email cy@x.test: captured "Hello"
        t=+2d email cy@x.test: captured "CY, a free consultation?"
        t=+2d email dee@x.test: captured "Welcome to VIP, DEE"
        t=+5d email cy@x.test: captured "Still interested, CY?"
        consultation profile 3: exited at remind (completed)
        trial profile 3: exited at pause (profile merged into 3, which has its own run)
        trial profile 3: exited at hello (completed)
        trial profile 1: exited at pause (exit event Unsubscribed)
        count-orders profile 2: exited at promote (completed)
        count-orders profile 4: exited at promote (completed)
        count-orders profile 4: exited at vip (completed)
        vip-welcome profile 4: exited at hello (completed)
        day 0 ann: views_2d 1 paths_2d 1
        day 0 ben: views_2d 0 paths_2d 0
        day 0 cy: views_2d 1 paths_2d 1
        day 0 dee: views_2d 0 paths_2d 0
        day 1 ann: views_2d 1 paths_2d 1
        day 1 ben: views_2d 1 paths_2d 1
        day 1 cy: views_2d 2 paths_2d 2
        day 1 dee: views_2d 1 paths_2d 1
        day 2 ann: views_2d 1 paths_2d 1
        day 2 ben: views_2d 1 paths_2d 1
        day 2 cy: views_2d 1 paths_2d 1
        day 2 dee: views_2d 1 paths_2d 1
        day 3 ann: views_2d 1 paths_2d 1
        day 3 ben: views_2d 1 paths_2d 1
        day 3 cy: views_2d 1 paths_2d 1
        day 3 dee: views_2d 1 paths_2d 1
        segment browsing: members []; +0s in 3 out 0, +1d in 2 out 1, +4d in 0 out 2, +5d in 0 out 2
        segment vip-browsing: members []; +2d in 1 out 0, +5d in 0 out 1
        consultation:
        node         entered passed exited converted waiting
        $entry             1      1      0         0       0
        booked             1      1      0         0       0
        invite             1      1      0         0       0
        remind             1      0      1         0       0
        trial:
        node         entered passed exited converted waiting
        $entry             3      3      0         0       0
        hello              1      0      1         0       0
        pause              3      1      2         0       0
        count-orders:
        node         entered passed exited converted waiting
        $entry             3      3      0         0       0
        count              3      3      0         0       0
        promote            3      1      2         0       0
        vip                1      0      1         0       0
        vip-welcome:
        node         entered passed exited converted waiting
        $entry             1      1      0         0       0
        hello              1      0      1         0       0
    "#]]
    .assert_eq(&remembered);
}

impl Harness {
    /// Who each identity belongs to now, each profile's email, and the merges refused:
    /// `user_id:u1 -> #1 (u1@x.test)`, then `#2 refused: ...`.
    fn people(&self, identities: &[Identity]) -> String {
        let mut tx = self.store.read().expect("tx");
        let mut out = String::new();
        let mut profiles = Vec::new();
        for i in identities {
            let p = tx.profile_by_identity(i).expect("lookup").and_then(|p| tx.canonical(p).expect("canonical"));
            let email = p.and_then(|p| tx.profile(p).expect("load")).and_then(|p| p.traits.get("email").cloned());
            let email = email.as_ref().and_then(Value::as_str).unwrap_or("-");
            match p {
                Some(p) => {
                    out += &format!("{i} -> #{p} ({email})\n");
                    if !profiles.contains(&p) {
                        profiles.push(p);
                    }
                }
                None => out += &format!("{i} -> nobody\n"),
            }
        }
        for p in profiles {
            for r in tx.refused_merges(p).expect("refused") {
                out += &format!("#{p} refused: {} between #{} and #{} ({})\n", r.identity, r.profile, r.other, r.reason);
            }
        }
        out
    }
}

fn uid(u: &str) -> Identity {
    Identity::UserId(u.into())
}

fn aid(a: &str) -> Identity {
    Identity::AnonymousId(a.into())
}

#[tokio::test]
async fn two_known_people_on_one_device_are_never_merged() {
    let mut h = Harness::new();
    h.send(Kind::Identify, json!({"userId": "u1", "anonymousId": "device-1", "traits": {"email": "u1@x.test"}})).await;
    h.send(Kind::Page, json!({"anonymousId": "device-1", "properties": {"path": "/a"}})).await;
    h.send(Kind::Identify, json!({"userId": "u2", "anonymousId": "device-1", "traits": {"email": "u2@x.test"}})).await;
    h.send(Kind::Page, json!({"anonymousId": "device-1", "properties": {"path": "/b"}})).await;
    expect![[r#"
        user_id:u1 -> #1 (u1@x.test)
        user_id:u2 -> #2 (u2@x.test)
        anonymous_id:device-1 -> #2 (u2@x.test)
        #1 refused: anonymous_id:device-1 between #2 and #1 (a profile holds at most one userId: device-1 already belongs to userId u1)
        #2 refused: anonymous_id:device-1 between #2 and #1 (a profile holds at most one userId: device-1 already belongs to userId u1)
    "#]]
    .assert_eq(&h.people(&[uid("u1"), uid("u2"), aid("device-1")]));
    // Earlier events stay where they were; the device's later ones go to whoever identified last.
    let mut tx = h.store.read().expect("tx");
    let pages = |tx: &mut Box<dyn store::Tx + '_>, p| -> Vec<String> {
        tx.timeline(domain::ids::ProfileId(p), 10)
            .expect("timeline")
            .iter()
            .rev()
            .map(|e| format!("{} {}", e.event.match_name(), e.event.properties.get("path").and_then(Value::as_str).unwrap_or("")))
            .collect()
    };
    assert_eq!(pages(&mut tx, 1), ["Identify ", "Page Viewed /a"]);
    assert_eq!(pages(&mut tx, 2), ["Identify ", "Page Viewed /b"]);
}

#[tokio::test]
async fn a_retried_old_identify_does_not_move_the_device_back() {
    let mut h = Harness::new();
    let first = h.event(Kind::Identify, json!({"userId": "u1", "anonymousId": "device-1", "traits": {"email": "u1@x.test"}}));
    h.engine.ingest(SourceId("web".into()), vec![first.clone()]).await.expect("ingest");
    h.send(Kind::Identify, json!({"userId": "u2", "anonymousId": "device-1", "traits": {"email": "u2@x.test"}})).await;
    let who = [uid("u1"), uid("u2"), aid("device-1")];
    let before = h.people(&who);
    assert!(before.contains("anonymous_id:device-1 -> #2 (u2@x.test)"), "{before}");
    // The SDK retries the first call (same messageId): a duplicate, which resolves nothing.
    let report = h.engine.ingest(SourceId("web".into()), vec![first]).await.expect("ingest");
    assert_eq!((report.accepted, report.duplicates), (0, 1));
    assert_eq!(h.people(&who), before, "the device stays with u2, nothing else recorded");
}

#[tokio::test]
async fn two_anonymous_profiles_merge_through_an_alias_chain() {
    let mut h = Harness::new();
    h.send(Kind::Track, json!({"anonymousId": "phone", "event": "Opened"})).await;
    h.send(Kind::Track, json!({"anonymousId": "laptop", "event": "Opened"})).await;
    h.send(Kind::Alias, json!({"userId": "vic", "previousId": "phone"})).await;
    h.send(Kind::Alias, json!({"userId": "vic", "previousId": "laptop"})).await;
    h.send(Kind::Alias, json!({"userId": "victor", "previousId": "vic"})).await;
    h.send(Kind::Identify, json!({"userId": "victor", "traits": {"email": "vic@x.test"}})).await;
    expect![[r#"
        user_id:vic -> #1 (vic@x.test)
        user_id:victor -> #1 (vic@x.test)
        anonymous_id:phone -> #1 (vic@x.test)
        anonymous_id:laptop -> #1 (vic@x.test)
    "#]]
    .assert_eq(&h.people(&[uid("vic"), uid("victor"), aid("phone"), aid("laptop")]));
}

#[tokio::test]
async fn alias_merges_two_known_users_deliberately() {
    let mut h = Harness::new();
    h.send(Kind::Identify, json!({"userId": "kim", "traits": {"email": "kim@x.test"}})).await;
    h.send(Kind::Identify, json!({"userId": "kim-old", "traits": {"plan": "pro"}})).await;
    h.send(Kind::Alias, json!({"userId": "kim", "previousId": "kim-old"})).await;
    expect![[r#"
        user_id:kim -> #1 (kim@x.test)
        user_id:kim-old -> #1 (kim@x.test)
    "#]]
    .assert_eq(&h.people(&[uid("kim"), uid("kim-old")]));
}

#[tokio::test]
async fn internal_events_cannot_be_sent_from_outside() {
    let mut h = Harness::new();
    h.send(Kind::Identify, json!({"userId": "victim", "traits": {"email": "victim@x.test"}})).await;
    let forged = h.event(
        Kind::Identify,
        json!({"anonymousId": "attacker", "traits": {"email": "attacker@x.test"}, "context": {"wayfarer": {"profile_id": 1}}}),
    );
    // A source named like Wayfarer's own is refused outright...
    let refused = h.engine.ingest(SourceId("wayfarer".into()), vec![forged.clone()]).await;
    assert!(matches!(refused, Err(engine::Error::Invalid(_))), "{refused:?}");
    // ...and from any other source the payload field means nothing.
    h.engine.ingest(SourceId("web".into()), vec![forged]).await.expect("ingest");
    expect![[r#"
        user_id:victim -> #1 (victim@x.test)
        anonymous_id:attacker -> #2 (attacker@x.test)
    "#]]
    .assert_eq(&h.people(&[uid("victim"), aid("attacker")]));
}

#[tokio::test]
async fn stopping_a_journey_ends_its_runs_and_its_entries_in_one_commit() {
    let mut h = Harness::new();
    h.template("hello", "Hello");
    h.publish(json!({"id": "drip", "entry": {"event": "Signed Up"},
        "steps": [{"id": "pause", "type": "wait", "duration": "2d", "next": "hello"}, {"id": "hello", "type": "send", "template": "hello"}]})).await;
    h.send(Kind::Identify, json!({"userId": "sam", "traits": {"email": "sam@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "sam", "event": "Signed Up"})).await;
    let stopped = h.engine.runs(JourneyId("drip".into()), engine::RunsAction::Stop("journey stopped".into())).await.expect("stop");
    assert_eq!(stopped, 1);
    let mut tx = h.store.read().expect("tx");
    assert_eq!(tx.journey(&JourneyId("drip".into())).expect("load").map(|j| j.state), Some(store::JourneyState::Stopped));
    drop(tx);
    h.send(Kind::Track, json!({"userId": "sam", "event": "Signed Up"})).await;
    h.advance("3d").await;
    assert_eq!(h.messages(), "\n", "no run left, none started");
}

#[tokio::test]
async fn a_panic_while_stepping_one_person_keeps_the_others_going_and_is_replayable() {
    let options = Options { faults: engine::Faults { panic_on_event: Some("Boom".into()) }, ..Options::default() };
    let mut h = Harness::with_options(options, WebhookOptions { allow_private: true, ..Default::default() });
    h.template("hello", "Hello {{ traits.firstName }}");
    h.publish(json!({"id": "greet", "entry": {"event": "Signed Up"}, "steps": [{"id": "hello", "type": "send", "template": "hello"}]}))
        .await;
    let events = vec![
        h.event(Kind::Identify, json!({"userId": "ada", "traits": {"firstName": "Ada", "email": "ada@x.test"}})),
        h.event(Kind::Identify, json!({"userId": "bo", "traits": {"firstName": "Bo", "email": "bo@x.test"}})),
        h.event(Kind::Track, json!({"userId": "ada", "event": "Boom"})),
        h.event(Kind::Track, json!({"userId": "bo", "event": "Signed Up"})),
    ];
    let report = h.engine.ingest(SourceId("web".into()), events).await.expect("the batch commits");
    assert_eq!(report.accepted, 4, "every event is logged");
    h.send(Kind::Track, json!({"userId": "bo", "event": "Signed Up"})).await;
    h.engine.wake().await.expect("the core is alive");
    assert!(h.engine.unready().is_none());
    h.check_messages(expect![[r#"
        t=+0s email bo@x.test: captured "Hello Bo"
        t=+0s email bo@x.test: captured "Hello Bo"
    "#]]);
    let letters = h.store.read().expect("tx").dead_letters(None, 10).expect("list");
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].inputs.len(), 2, "ada's identify and her Boom: her whole batch");
    assert!(letters[0].error.contains("injected failure"), "{}", letters[0].error);
    // While the bug is there, a replay fails and changes nothing.
    let again = h.engine.replay(letters[0].id).await;
    assert!(matches!(again, Err(engine::Error::Invalid(_))), "{again:?}");
    assert_eq!(h.store.read().expect("tx").dead_letter(letters[0].id).expect("one").and_then(|d| d.replayed_at), None);
}

#[tokio::test]
async fn a_dead_letter_replays_once_the_bug_is_gone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wayfarer.db");
    let options = Options { faults: engine::Faults { panic_on_event: Some("Signed Up".into()) }, ..Options::default() };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("store"));
    let mut h = Harness::on(store, tempfile::tempdir().expect("tempdir"), options, WebhookOptions::default());
    h.template("hello", "Hello {{ traits.firstName }}");
    h.publish(json!({"id": "greet", "entry": {"event": "Signed Up"}, "steps": [{"id": "hello", "type": "send", "template": "hello"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "cy", "traits": {"firstName": "Cy", "email": "cy@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "cy", "event": "Signed Up"})).await;
    assert_eq!(h.messages(), "\n");
    h.engine.shutdown().await;
    drop(h);
    // The fixed version starts on the same data.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("store"));
    let h = Harness::on(store, dir, Options::default(), WebhookOptions::default());
    let letters = h.store.read().expect("tx").dead_letters(None, 10).expect("list");
    h.engine.replay(letters[0].id).await.expect("replay");
    h.engine.wake().await.expect("wake");
    h.check_messages(expect![[r#"
        t=+0s email cy@x.test: captured "Hello Cy"
    "#]]);
    let again = h.engine.replay(letters[0].id).await;
    assert!(matches!(again, Err(engine::Error::Invalid(_))), "only once: {again:?}");
}

#[tokio::test]
async fn entry_limits_go_to_the_first_people_in_log_order() {
    // Many people in one batch race for 3 places: the first three in the log get them, every time.
    for _ in 0..3 {
        let mut h = Harness::new();
        h.publish(json!({"id": "first-three", "entry": {"event": "Joined", "limit": 3}, "steps": [{"id": "done", "type": "exit"}]})).await;
        let events: Vec<_> = (0..300).map(|i| h.event(Kind::Track, json!({"userId": format!("p{i:03}"), "event": "Joined"}))).collect();
        h.engine.ingest(SourceId("web".into()), events).await.expect("ingest");
        let mut tx = h.store.read().expect("tx");
        let mut winners: Vec<String> = Vec::new();
        for r in tx.journey_runs(&JourneyId("first-three".into())).expect("runs") {
            let ids = tx.identities(r.profile).expect("ids");
            winners.extend(ids.iter().map(|i| i.value().to_owned()));
        }
        assert_eq!(winners, ["p000", "p001", "p002"]);
        drop(tx);
        // A backtest over the same events (replayed in its own batches) picks the same people.
        let doc = json!({"id": "first-three", "entry": {"event": "Joined", "limit": 3}, "steps": [{"id": "done", "type": "exit"}]});
        let (journey, end) = (JourneyId("first-three".into()), h.clock_now());
        let live = engine::backtest::report(&*h.store, &journey, Timestamp(START), end).expect("live report");
        let scratch = tempfile::tempdir().expect("scratch");
        let replayed =
            engine::backtest::run(h.store.clone(), &doc, Timestamp(START), end, scratch.path(), &|_, _| {}).await.expect("backtest");
        assert_eq!(outcome(&replayed), live);
        assert_eq!(live.samples.iter().map(|(who, _)| who.as_str()).collect::<Vec<_>>(), ["user_id:p000", "user_id:p001", "user_id:p002"]);
    }
}

fn example(name: &str) -> Value {
    let path = format!("{}/../../examples/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("example file")).expect("example journey")
}

/// examples/abandoned-cart.json end to end: one run per cart, the reminder lists every item
/// of its cart (run variables), an order for one cart ends only that cart's run and counts
/// as a conversion after the reminder; a backtest over the same events reports the same.
#[tokio::test]
async fn abandoned_carts_are_reminded_per_cart_with_their_items() {
    let mut h = Harness::new();
    h.template("cart-reminder", "{{ run.items.size }} left in cart {{ event.cart_id }}: {% for i in run.items %}{{ i.name }} {% endfor %}");
    h.template("cart-last-call", "Last call for cart {{ event.cart_id }}");
    h.publish(example("abandoned-cart")).await;
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"email": "ann@x.test"}})).await;
    let add = |cart: &str, name: &str| json!({"userId": "ann", "event": "Product Added", "properties": {"cart_id": cart, "name": name}});
    h.send(Kind::Track, add("c1", "Socks")).await;
    h.advance("10m").await;
    h.send(Kind::Track, add("c1", "Hat")).await;
    h.send(Kind::Track, add("c2", "Scarf")).await;
    h.advance("30m").await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Order Completed", "properties": {"cart_id": "c2"}})).await;
    h.advance("2h").await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Order Completed", "properties": {"cart_id": "c1"}})).await;
    h.send(Kind::Track, add("c3", "Belt")).await;
    h.advance("2d").await;
    h.check_messages(expect![[r#"
        t=+1h10m email ann@x.test: captured "2 left in cart c1: Socks Hat "
        t=+3h40m email ann@x.test: captured "1 left in cart c3: Belt "
        t=+1d3h40m email ann@x.test: captured "Last call for cart c3"
    "#]]);
    let end = h.clock_now();
    let id = JourneyId("abandoned-cart".into());
    let live = engine::backtest::report(&*h.store, &id, Timestamp(START), end).expect("live report");
    assert_eq!((live.runs, live.conversions), (3, 1), "{live:?}");
    let scratch = tempfile::tempdir().expect("scratch");
    let replayed = engine::backtest::run(h.store.clone(), &example("abandoned-cart"), Timestamp(START), end, scratch.path(), &|_, _| {})
        .await
        .expect("backtest");
    assert_eq!(outcome(&replayed), live, "keyed runs, references and run variables replay as they ran");
}

/// A send with `on_failure` waits for its message's outcome and routes on it; the outcome
/// is an event on the person's timeline; failed messages are retried from the API, and the
/// retry's outcome reaches the run's trace.
#[tokio::test]
async fn failed_messages_route_their_runs_and_can_be_retried() {
    let mut h = Harness::new();
    h.template("welcome", "Welcome");
    h.publish(json!({"id": "onboard", "entry": {"event": "Signed Up"},
    "steps": [
        {"id": "tip", "type": "send", "template": "tip-of-the-day", "on_failure": "fallback", "next": "done"},
        {"id": "fallback", "type": "send", "template": "welcome"},
        {"id": "done", "type": "update", "set": {"tipped": true}}
    ]}))
    .await;
    h.send(Kind::Identify, json!({"userId": "kim", "traits": {"email": "kim@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "kim", "event": "Signed Up"})).await;
    h.check_messages(expect![[r#"
        t=+0s email kim@x.test: failed template "tip-of-the-day" does not exist
        t=+0s email kim@x.test: captured "Welcome"
    "#]]);
    // The template now exists: the failed tip is retried, from the API, and goes.
    h.template("tip-of-the-day", "A tip");
    let failed: Vec<_> =
        h.store.read().expect("tx").messages(Some(OutboxStatus::Failed), None, None, 10).expect("failed").iter().map(|m| m.id).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(h.engine.retry_messages(failed.clone()).await.expect("retry"), 1);
    assert_eq!(h.engine.retry_messages(failed).await.expect("retry"), 0, "a message no longer failed is not retried");
    h.advance("1m").await;
    h.check_messages(expect![[r#"
        t=+0s email kim@x.test: captured "A tip"
        t=+0s email kim@x.test: captured "Welcome"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("kim".into())).expect("lookup").expect("known");
    let run = tx.runs_of(p).expect("runs").remove(0);
    let trace: Vec<String> = tx.traces(run.id).expect("traces").into_iter().map(|t| text(&t.lines)).collect();
    expect![[r#"
        entered on Signed Up / tip: send email tip-of-the-day, waiting for its outcome
        tip: message failed (failed: template "tip-of-the-day" does not exist) -> fallback / fallback: send email welcome / completed
        fallback: message delivered (captured)
        tip: message delivered (captured)"#]]
    .assert_eq(&trace.join("\n"));
    let names: Vec<String> = tx.timeline(p, 10).expect("timeline").iter().map(|e| e.event.match_name().to_owned()).collect();
    expect!["Email Sent, Email Sent, Email Failed, Signed Up, Identify"].assert_eq(&names.join(", "));
}

/// examples/win-back.json end to end: the coupon goes after 30 quiet days (an order in
/// between starts the 30 days again), its subject from the A/B test's run variable; an order
/// before the coupon is no conversion, one after it is and ends the run.
#[tokio::test]
async fn win_back_sends_the_coupon_after_thirty_quiet_days_and_converts_after_it() {
    let mut h = Harness::new();
    h.template("win-back", "{{ run.subject }}");
    h.publish(example("win-back")).await;
    let order = |who: &str| json!({"userId": who, "event": "Order Completed"});
    for who in ["ann", "bob", "fay", "gus", "hal"] {
        h.send(Kind::Identify, json!({"userId": who, "traits": {"email": format!("{who}@x.test"), "firstName": who.to_uppercase()}})).await;
        h.send(Kind::Track, order(who)).await;
    }
    h.advance("10d").await;
    h.send(Kind::Track, order("ann")).await; // quiet again from here
    h.advance("25d").await;
    h.send(Kind::Track, order("bob")).await; // after his coupon (day 30): converts, ends
    h.advance("30d").await;
    h.check_messages(expect![[r#"
        t=+30d email bob@x.test: captured "20% off your next order"
        t=+30d email fay@x.test: captured "20% off your next order"
        t=+30d email gus@x.test: captured "20% off your next order"
        t=+30d email hal@x.test: captured "20% off your next order"
        t=+40d email ann@x.test: captured "20% off your next order"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let mut out = String::new();
    for who in ["ann", "bob", "fay", "gus", "hal"] {
        let p = tx.profile_by_identity(&Identity::UserId(who.into())).expect("lookup").expect("known");
        for r in tx.runs_of(p).expect("runs") {
            out += &format!(
                "{who}: {:?} {:?} converted={} {:?}\n",
                r.run.status,
                r.run.exit_reason,
                r.run.converted_at.is_some(),
                r.run.assignments
            );
        }
    }
    expect![[r#"
        ann: Exited Some("completed") converted=false {"subject": "discount"}
        bob: Exited Some("goal reached: Order Completed") converted=true {"subject": "discount"}
        fay: Exited Some("completed") converted=false {"subject": "discount"}
        gus: Exited Some("completed") converted=false {"subject": "discount"}
        hal: Exited Some("completed") converted=false {"subject": "discount"}
    "#]]
    .assert_eq(&out);
}

/// History since entry is the run's own: kept with the run across batches and restarts of the
/// core's memory, and never the event that started the run.
#[tokio::test]
async fn history_since_entry_is_kept_with_the_run() {
    let mut h = Harness::with_options(
        Options { hot_people: 0, ..Options::default() },
        WebhookOptions { allow_private: true, ..Default::default() },
    );
    h.template("thanks", "Thanks for {{ run.orders }} more orders");
    h.publish(json!({"id": "loyal", "entry": {"event": "Order Completed"},
    "steps": [
        {"id": "later", "type": "wait", "duration": "7d", "next": "check"},
        {"id": "check", "type": "branch", "cases": [
            {"when": {"history": {"event": "Order Completed", "within": "entry"}, "op": "gte", "value": 2}, "next": "count"}]},
        {"id": "count", "type": "update", "run": {"set": {"orders": 2}}, "next": "thanks"},
        {"id": "thanks", "type": "send", "template": "thanks"}
    ]}))
    .await;
    for who in ["ann", "bob"] {
        h.send(Kind::Identify, json!({"userId": who, "traits": {"email": format!("{who}@x.test")}})).await;
        h.send(Kind::Track, json!({"userId": who, "event": "Order Completed"})).await;
    }
    h.advance("1d").await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Order Completed"})).await;
    h.send(Kind::Track, json!({"userId": "bob", "event": "Order Completed"})).await;
    h.advance("1d").await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Order Completed"})).await;
    h.advance("7d").await;
    h.check_messages(expect![[r#"
        t=+7d email ann@x.test: captured "Thanks for 2 more orders"
    "#]]);
}

impl Harness {
    /// What each of `who`'s recent entry events into the published `doc` did, newest first.
    fn recent_entries(&self, who: &str, doc: &Value) -> Vec<RecentEntry> {
        let j = domain::journey::Journey::parse(doc).expect("journey");
        let mut tx = self.store.read().expect("tx");
        let p = tx.profile_by_identity(&Identity::UserId(who.into())).expect("lookup").expect("known");
        let version = tx.journey(&j.id).expect("journey").and_then(|r| r.published_version).expect("published");
        engine::explain::recent_entries(&mut *tx, &j, version, p, engine::explain::RECENT_ENTRIES)
            .expect("explain")
            .expect("an event entry")
    }
}

/// The verdicts' names, newest first.
fn verdicts(entries: &[RecentEntry]) -> Vec<&'static str> {
    entries
        .iter()
        .map(|e| match e.verdict {
            EntryVerdict::Entered { .. } => "entered",
            EntryVerdict::Filtered { .. } => "filtered",
            EntryVerdict::NoKey { .. } => "no_key",
            EntryVerdict::Waiting { .. } => "waiting",
            EntryVerdict::Reentry { .. } => "reentry",
            EntryVerdict::Limit(_) => "limit",
            EntryVerdict::NotLive { .. } => "not_live",
            EntryVerdict::Unexplained => "unexplained",
        })
        .collect()
}

/// `m5: it started run 1`, one line per entry event, newest first.
fn details(entries: &[RecentEntry]) -> String {
    entries.iter().map(|e| format!("{}: {}\n", e.message_id, e.detail())).collect()
}

#[tokio::test]
async fn an_earlier_view_that_failed_the_filter_shows_though_the_last_would_enter_now() {
    let mut h = Harness::new();
    h.template("hi", "Hi");
    let doc = json!({"id": "browsers", "entry": {"event": "Page Viewed", "filter": {"all": [
            {"property": "path", "op": "starts_with", "value": "/products/"},
            {"history": {"event": "Page Viewed", "within": "7d", "where": {"property": "path", "op": "starts_with", "value": "/products/"}},
             "op": "gte", "value": 2}]}},
        "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
    h.publish(doc.clone()).await;
    h.send(Kind::Identify, json!({"userId": "ada", "traits": {"email": "ada@x.test"}})).await;
    h.advance("1h").await;
    h.page("ada", "/products/a").await; // the first product view: one in the week, not two
    h.advance("1h").await;
    h.page("ada", "/products/b").await; // the second: enters, sends and ends
    h.advance("1h").await;
    h.check_messages(expect![[r#"
        t=+2h email ada@x.test: captured "Hi"
    "#]]);
    // Today's sentence looks at the last view only, as if it came now.
    let why = {
        let j = domain::journey::Journey::parse(&doc).expect("journey");
        let mut tx = h.store.read().expect("tx");
        let p = tx.profile_by_identity(&Identity::UserId("ada".into())).expect("lookup").expect("known");
        engine::explain::why_not_entered(&mut *tx, &j, 1, "active", Timestamp(START), p, h.clock_now()).expect("explain")
    };
    assert!(why.contains("would enter now"), "{why}");
    // Each view is judged as of when it came: the first saw one product view in the week.
    let recent = h.recent_entries("ada", &doc);
    assert_eq!(verdicts(&recent), ["entered", "filtered"]);
    expect![[r#"
        m3: it started run 1
        m2: the entry filter was false: property path = "/products/a" starts_with "/products/" -> true; count("Page Viewed" where … in 7d) = 1 gte 2 -> false (evaluated as of the event)
    "#]]
    .assert_eq(&details(&recent));
}

#[tokio::test]
async fn three_views_show_three_verdicts_entered_waiting_and_filtered() {
    let mut h = Harness::new();
    h.template("hi", "Hi");
    let doc = json!({"id": "tour", "entry": {"event": "Page Viewed", "filter": {"property": "path", "op": "starts_with", "value": "/products/"}},
        "steps": [{"id": "pause", "type": "wait", "duration": "2d", "next": "hi"}, {"id": "hi", "type": "send", "template": "hi"}]});
    h.publish(doc.clone()).await;
    h.send(Kind::Identify, json!({"userId": "bo", "traits": {"email": "bo@x.test"}})).await;
    h.page("bo", "/products/a").await;
    h.advance("1h").await;
    h.page("bo", "/products/b").await;
    h.advance("1h").await;
    h.page("bo", "/blog").await;
    let recent = h.recent_entries("bo", &doc);
    assert_eq!(verdicts(&recent), ["filtered", "waiting", "entered"]);
    expect![[r#"
        m4: the entry filter was false: property path = "/blog" starts_with "/products/" -> false (evaluated as of the event)
        m3: run 1 (entered at 2027-01-15T08:00:00.000Z) was waiting, and the entry is not concurrent; it is still waiting
        m2: it started run 1
    "#]]
    .assert_eq(&details(&recent));
    // Once the run has ended, the second view was still kept out by it: it was waiting then.
    h.advance("3d").await;
    let recent = h.recent_entries("bo", &doc);
    assert_eq!(verdicts(&recent), ["filtered", "waiting", "entered"]);
    assert!(matches!(recent[1].verdict, EntryVerdict::Waiting { ended_by: Some(_), .. }), "{:?}", recent[1].verdict);
}

#[tokio::test]
async fn recent_entries_name_the_key_re_entry_the_limit_and_events_before_publishing() {
    let mut h = Harness::new();
    h.template("hi", "Hi");
    let cart =
        |id: Option<&str>| json!({"userId": "cy", "event": "Cart Updated", "properties": id.map_or(json!({}), |c| json!({"cart_id": c}))});
    h.send(Kind::Identify, json!({"userId": "cy", "traits": {"email": "cy@x.test", "plan": "free"}})).await;
    h.send(Kind::Track, cart(Some("c0"))).await; // before the journey exists
    h.advance("1m").await;
    let doc = json!({"id": "carts", "entry": {"event": "Cart Updated", "key": "cart_id", "reentry": {"after": "7d"}, "limit": 2},
        "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
    h.publish(doc.clone()).await;
    for id in [Some("c1"), None, Some("c1"), Some("c2"), Some("c3")] {
        h.advance("1h").await;
        h.send(Kind::Track, cart(id)).await;
    }
    let recent = h.recent_entries("cy", &doc);
    assert_eq!(verdicts(&recent), ["limit", "entered", "reentry", "no_key", "entered", "not_live"]);
    expect![[r#"
        m7: the journey's entry limit of 2 runs was reached
        m6: it started run 2
        m5: re-entry waits 7d after the previous run began: run 1 entered at 2027-01-15T09:01:00.000Z
        m4: the journey is keyed by "cart_id" and the event has no such property
        m3: it started run 1
        m2: it came before the journey was first published (2027-01-15T08:01:00.000Z)
    "#]]
    .assert_eq(&details(&recent));
}

#[tokio::test]
async fn a_filter_on_traits_is_judged_with_the_traits_of_now_and_says_so() {
    let mut h = Harness::new();
    h.template("hi", "Hi");
    let doc = json!({"id": "pro-tour", "entry": {"event": "Page Viewed", "filter": {"trait": "plan", "op": "eq", "value": "pro"}},
        "steps": [{"id": "hi", "type": "send", "template": "hi"}]});
    h.publish(doc.clone()).await;
    h.send(Kind::Identify, json!({"userId": "di", "traits": {"email": "di@x.test", "plan": "free"}})).await;
    h.page("di", "/pricing").await;
    h.advance("1h").await;
    h.send(Kind::Identify, json!({"userId": "di", "traits": {"plan": "team"}})).await;
    let recent = h.recent_entries("di", &doc);
    assert_eq!(verdicts(&recent), ["filtered"]);
    expect![[r#"
        m2: the entry filter was false: trait plan = "team" eq "pro" -> false (evaluated as of the event; traits as they are now: plan, of which set since: plan)
    "#]]
    .assert_eq(&details(&recent));
}

/// examples/trial-onboarding.json end to end: the day-7 tip at 09:00 on each person's own
/// calendar (Paris and Tokyo), New York's for a zone that is not one; an upgrade before day 7
/// means no tip.
#[tokio::test]
async fn trial_onboarding_tips_at_nine_on_day_seven_of_each_persons_calendar() {
    let mut h = Harness::new();
    for (id, subject) in [("trial-welcome", "Welcome"), ("trial-tip", "A tip"), ("trial-ending", "Last day")] {
        h.template(id, subject);
    }
    h.publish(example("trial-onboarding")).await;
    for (who, zone) in [("pia", "Europe/Paris"), ("taro", "Asia/Tokyo"), ("max", "Mars/Base"), ("uma", "Europe/Paris")] {
        h.send(Kind::Identify, json!({"userId": who, "traits": {"email": format!("{who}@x.test"), "timezone": zone}})).await;
        h.send(Kind::Track, json!({"userId": who, "event": "Trial Started"})).await;
    }
    h.advance("2d").await;
    h.send(Kind::Identify, json!({"userId": "uma", "traits": {"plan": "pro"}})).await;
    h.advance("20d").await;
    h.check_messages(expect![[r#"
        t=+0s email pia@x.test: captured "Welcome"
        t=+0s email taro@x.test: captured "Welcome"
        t=+0s email max@x.test: captured "Welcome"
        t=+0s email uma@x.test: captured "Welcome"
        t=+6d16h email taro@x.test: captured "A tip"
        t=+7d email pia@x.test: captured "A tip"
        t=+7d6h email max@x.test: captured "A tip"
        t=+12d16h email taro@x.test: captured "Last day"
        t=+13d email pia@x.test: captured "Last day"
        t=+13d6h email max@x.test: captured "Last day"
    "#]]);
}

/// Journeys entered on message outcomes cannot feed each other without end: an alert journey
/// entered on `Email Failed` whose own message fails too sends once, not again and again.
#[tokio::test]
async fn a_journey_entered_on_failed_messages_does_not_loop_on_its_own_failures() {
    let mut h = Harness::new();
    h.template("welcome", "Welcome {{ traits.company }}");
    h.template("alert", "Alert for {{ traits.company }}");
    h.publish(json!({"id": "welcome", "entry": {"event": "Signed Up"}, "steps": [{"id": "hi", "type": "send", "template": "welcome"}]}))
        .await;
    h.publish(json!({"id": "alert", "entry": {"event": "Email Failed"}, "steps": [{"id": "tell", "type": "send", "template": "alert"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "zed", "traits": {"email": "zed@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "zed", "event": "Signed Up"})).await;
    h.advance("1m").await;
    h.check_messages(expect![[r#"
        t=+0s email zed@x.test: failed template "welcome", subject: template does not render: liquid: Unknown index
          with:
            variable=traits
            requested index=company
            available indexes=email

        t=+0s email zed@x.test: failed template "alert", subject: template does not render: liquid: Unknown index
          with:
            variable=traits
            requested index=company
            available indexes=email

    "#]]);
    let mut tx = h.store.read().expect("tx");
    let p = tx.profile_by_identity(&Identity::UserId("zed".into())).expect("lookup").expect("known");
    let names: Vec<String> = tx.timeline(p, 10).expect("timeline").iter().map(|e| e.event.match_name().to_owned()).collect();
    expect!["Email Failed, Email Failed, Signed Up, Identify"].assert_eq(&names.join(", "));
}

/// A journey's per-node counts as the canvas would show them, one row per node.
fn table(counts: &std::collections::BTreeMap<String, store::NodeCounts>) -> String {
    let mut out = format!("{:<12} {:>7} {:>6} {:>6} {:>9} {:>7}\n", "node", "entered", "passed", "exited", "converted", "waiting");
    for (node, c) in counts {
        out += &format!("{node:<12} {:>7} {:>6} {:>6} {:>9} {:>7}\n", c.entered, c.passed, c.exited, c.converted, c.waiting);
    }
    out
}

impl Harness {
    /// A journey's per-node counts over every hour so far.
    async fn counts(&self, journey: &str) -> std::collections::BTreeMap<String, store::NodeCounts> {
        let range = Some((Timestamp(0), self.clock_now().plus(Duration::hours(1))));
        self.engine.node_counts(JourneyId(journey.into()), range).await.expect("node counts")
    }

    async fn check_counts(&self, journey: &str, expect: Expect) {
        expect.assert_eq(&table(&self.counts(journey).await));
    }

    /// The counts agree with the runs (scanned here, in the test only): each node's waiting
    /// gauge is the runs waiting there, every run that reached a step left it, ended there or
    /// waits there (`entered = passed + exited + waiting`), every run started at the entry went
    /// on or ended there, and the control group's runs are counted apart.
    async fn check_counts_match_runs(&self, journey: &str) {
        use std::collections::BTreeMap;
        let counts = self.counts(journey).await;
        let runs = self.store.read().expect("tx").journey_runs(&JourneyId(journey.into())).expect("runs");
        let (control, treated): (Vec<_>, Vec<_>) = runs.iter().map(|r| &r.run).partition(|r| r.control);
        let mut waiting: BTreeMap<String, i64> = BTreeMap::new();
        for r in treated.iter().filter(|r| r.status == domain::journey::RunStatus::Waiting) {
            *waiting.entry(r.node.as_ref().map_or(store::ENTRY_NODE.into(), |n| n.0.clone())).or_default() += 1;
        }
        let gauges: BTreeMap<String, i64> = counts.iter().filter(|(_, c)| c.waiting != 0).map(|(n, c)| (n.clone(), c.waiting)).collect();
        assert_eq!(gauges, waiting, "{journey}: the waiting gauge is the runs waiting at each node\n{}", table(&counts));
        let ended = |runs: &[&domain::journey::Run]| runs.iter().filter(|r| r.status == domain::journey::RunStatus::Exited).count() as i64;
        let converted = |runs: &[&domain::journey::Run]| runs.iter().filter(|r| r.converted_at.is_some()).count() as i64;
        let entry = counts.get(store::ENTRY_NODE).copied().unwrap_or_default();
        assert_eq!(entry.entered, treated.len() as i64, "{journey}: a run started is entered at the entry\n{}", table(&counts));
        assert_eq!(entry.entered, entry.passed + entry.exited, "{journey}: every run went on from the entry or ended there");
        for (node, c) in counts.iter().filter(|(n, _)| !n.starts_with('$')) {
            assert_eq!(c.entered, c.passed + c.exited + c.waiting, "{journey}: at {node}, entered = passed + exited + waiting");
        }
        let steps = counts.iter().filter(|(n, _)| n.as_str() != store::CONTROL_NODE).map(|(_, c)| c);
        let (exits, conversions) = steps.fold((0, 0), |(x, c), n| (x + n.exited, c + n.converted));
        assert_eq!((exits, conversions), (ended(&treated), converted(&treated)), "{journey}: every run ended and converted once");
        let held = counts.get(store::CONTROL_NODE).copied().unwrap_or_default();
        assert_eq!(
            (held.entered, held.passed, held.exited, held.converted, held.waiting),
            (control.len() as i64, 0, ended(&control), converted(&control), 0),
            "{journey}: the control group is counted apart"
        );
    }

    /// Events of one batch (one transaction), then whatever comes due.
    async fn batch(&mut self, events: Vec<(Kind, Value)>) {
        let events: Vec<Event> = events.into_iter().map(|(kind, raw)| self.event(kind, raw)).collect();
        self.engine.ingest(SourceId("web".into()), events).await.expect("ingest");
        self.engine.wake().await.expect("wake");
    }
}

/// entry → branch (pro plans are welcomed at once) → wait_for Activated (2 days) → tips, or
/// a nudge on timeout → exit; Unsubscribed exits; Upgraded is the goal.
fn onboarding() -> Value {
    json!({"id": "onboarding", "entry": {"event": "Signed Up"}, "exit": [{"event": "Unsubscribed"}], "goal": {"event": "Upgraded"},
    "steps": [
        {"id": "plan", "type": "branch", "cases": [{"when": {"property": "plan", "op": "eq", "value": "pro"}, "next": "welcome-pro"}],
         "else": "activated"},
        {"id": "activated", "type": "wait_for", "events": [{"event": "Activated", "next": "tips"}], "timeout": "2d", "timeout_next": "nudge"},
        {"id": "nudge", "type": "send", "template": "nudge", "next": "done"},
        {"id": "tips", "type": "send", "template": "tips", "next": "done"},
        {"id": "welcome-pro", "type": "send", "template": "pro"},
        {"id": "done", "type": "exit"}
    ]})
}

fn signed_up(who: &str, plan: &str) -> (Kind, Value) {
    (Kind::Track, json!({"userId": who, "event": "Signed Up", "properties": {"plan": plan}}))
}

/// What the canvas shows on each node, stage by stage: kept by the engine in the commits of
/// the transitions, so a restart changes nothing, and stopping the journey empties its waits.
#[tokio::test]
async fn the_canvas_counts_each_node_as_runs_go_through_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wayfarer.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("store"));
    let mut h = Harness::on(store, tempfile::tempdir().expect("dir"), Options::default(), WebhookOptions::default());
    for (t, subject) in [("nudge", "Need a hand?"), ("tips", "Three tips"), ("pro", "Welcome, pro")] {
        h.template(t, subject);
    }
    h.publish(onboarding()).await;
    h.check_counts(
        "onboarding",
        expect![[r#"
        node         entered passed exited converted waiting
    "#]],
    )
    .await;
    let people = ["ann", "ben", "cy", "di", "eve", "fay", "gus"];
    h.batch(people.iter().map(|who| (Kind::Identify, json!({"userId": who, "traits": {"email": format!("{who}@x.test")}}))).collect())
        .await;
    // Five sign up in one batch (one transaction); eve on the pro plan is welcomed at once.
    h.batch(vec![
        signed_up("ann", "free"),
        signed_up("ben", "free"),
        signed_up("cy", "free"),
        signed_up("di", "free"),
        signed_up("eve", "pro"),
    ])
    .await;
    h.check_counts(
        "onboarding",
        expect![[r#"
        node         entered passed exited converted waiting
        $entry             5      5      0         0       0
        activated          4      0      0         0       4
        plan               5      5      0         0       0
        welcome-pro        1      0      1         0       0
    "#]],
    )
    .await;
    h.check_counts_match_runs("onboarding").await;
    // An hour later: ann activates (tips, then the exit step), ben upgrades while waiting (a
    // conversion where he stands), cy unsubscribes (ended where she waited).
    h.advance("1h").await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Activated"})).await;
    h.send(Kind::Track, json!({"userId": "ben", "event": "Upgraded"})).await;
    h.send(Kind::Track, json!({"userId": "cy", "event": "Unsubscribed"})).await;
    h.check_counts(
        "onboarding",
        expect![[r#"
        node         entered passed exited converted waiting
        $entry             5      5      0         0       0
        activated          4      1      1         1       2
        done               1      0      1         0       0
        plan               5      5      0         0       0
        tips               1      1      0         0       0
        welcome-pro        1      0      1         0       0
    "#]],
    )
    .await;
    h.check_counts_match_runs("onboarding").await;
    // The next day fay and gus sign up; then the engine goes away (dropped, no shutdown) and
    // another starts on the same database: the counts are what was committed.
    h.advance("23h").await;
    h.batch(vec![signed_up("fay", "free"), signed_up("gus", "free")]).await;
    let before = h.counts("onboarding").await;
    drop(h);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("reopen"));
    let mut h = Harness::on(store, dir, Options::default(), WebhookOptions::default());
    h.clock.set(Timestamp(START).plus(Duration::days(1)));
    assert_eq!(h.counts("onboarding").await, before, "the counts committed with the transitions, nothing lost or doubled");
    h.check_counts(
        "onboarding",
        expect![[r#"
        node         entered passed exited converted waiting
        $entry             7      7      0         0       0
        activated          6      1      1         1       4
        done               1      0      1         0       0
        plan               7      7      0         0       0
        tips               1      1      0         0       0
        welcome-pro        1      0      1         0       0
    "#]],
    )
    .await;
    // Day 2, on the new engine: ben's and di's waits time out (nudged, then the exit step).
    h.advance("1d").await;
    h.check_counts(
        "onboarding",
        expect![[r#"
        node         entered passed exited converted waiting
        $entry             7      7      0         0       0
        activated          6      3      1         1       2
        done               3      0      3         0       0
        nudge              2      2      0         0       0
        plan               7      7      0         0       0
        tips               1      1      0         0       0
        welcome-pro        1      0      1         0       0
    "#]],
    )
    .await;
    h.check_counts_match_runs("onboarding").await;
    h.check_messages(expect![[r#"
        t=+0s email eve@x.test: captured "Welcome, pro"
        t=+1h email ann@x.test: captured "Three tips"
        t=+2d email ben@x.test: captured "Need a hand?"
        t=+2d email di@x.test: captured "Need a hand?"
    "#]]);
    // Stopping the journey ends fay's and gus's runs where they wait: the gauge is back at 0.
    let stopped = h.engine.runs(JourneyId("onboarding".into()), engine::RunsAction::Stop("campaign over".into())).await.expect("stop");
    assert_eq!(stopped, 2);
    h.check_counts(
        "onboarding",
        expect![[r#"
        node         entered passed exited converted waiting
        $entry             7      7      0         0       0
        activated          6      3      3         1       0
        done               3      0      3         0       0
        nudge              2      2      0         0       0
        plan               7      7      0         0       0
        tips               1      1      0         0       0
        welcome-pro        1      0      1         0       0
    "#]],
    )
    .await;
    h.check_counts_match_runs("onboarding").await;
    // A date range: the first hour alone (the five sign-ups), and the page's default, the 7
    // days to now, which six days on no longer holds the first day.
    let first_hour =
        h.engine.node_counts(JourneyId("onboarding".into()), Some((Timestamp(START), Timestamp(START).plus(Duration::hours(1)))));
    let first_hour = first_hour.await.expect("counts");
    assert_eq!((first_hour["$entry"].entered, first_hour["activated"].entered, first_hour["activated"].passed), (5, 4, 0));
    assert_eq!(h.engine.node_counts(JourneyId("onboarding".into()), None).await.expect("counts"), h.counts("onboarding").await);
    h.advance("6d").await;
    h.check_counts(
        "onboarding",
        expect![[r#"
        node         entered passed exited converted waiting
        $entry             7      7      0         0       0
        activated          6      3      3         1       0
        done               3      0      3         0       0
        nudge              2      2      0         0       0
        plan               7      7      0         0       0
        tips               1      1      0         0       0
        welcome-pro        1      0      1         0       0
    "#]],
    )
    .await;
    let last_week = h.engine.node_counts(JourneyId("onboarding".into()), None).await.expect("counts");
    expect![[r#"
        node         entered passed exited converted waiting
        activated          0      2      2         0       0
        done               2      0      2         0       0
        nudge              2      2      0         0       0
    "#]]
    .assert_eq(&table(&last_week));
}

/// Control-group runs (holdout) go through the journey sending nothing: they are counted
/// apart, at `$control` (entered, exited, converted), so the steps show the people the
/// journey acts on.
#[tokio::test]
async fn control_group_runs_are_counted_apart() {
    let mut h = Harness::new();
    h.template("hello", "Hello");
    h.publish(json!({"id": "drip", "entry": {"event": "Signed Up", "holdout": 50}, "goal": {"event": "Paid"},
        "steps": [{"id": "pause", "type": "wait", "duration": "1d", "next": "hello"}, {"id": "hello", "type": "send", "template": "hello"}]}))
    .await;
    h.batch((0..40).map(|i| (Kind::Track, json!({"userId": format!("p{i}"), "event": "Signed Up"}))).collect()).await;
    h.batch((0..10).map(|i| (Kind::Track, json!({"userId": format!("p{i}"), "event": "Paid"}))).collect()).await;
    h.check_counts_match_runs("drip").await;
    let counts = h.counts("drip").await;
    let (held, treated) = (counts["$control"], counts["$entry"]);
    assert_eq!(held.entered + treated.entered, 40);
    assert!(held.entered >= 10 && treated.entered >= 10, "about half held out: {held:?}");
    assert_eq!(held.converted + counts["pause"].converted, 10, "conversions of both groups, apart");
    assert_eq!((counts["pause"].waiting, held.waiting), (treated.entered, 0), "the steps wait for the treated only");
    h.engine.runs(JourneyId("drip".into()), engine::RunsAction::Stop("over".into())).await.expect("stop");
    h.check_counts_match_runs("drip").await;
    let counts = h.counts("drip").await;
    assert_eq!((counts["$control"].exited, counts["pause"].exited, counts["pause"].waiting), (held.entered, treated.entered, 0));
}

/// For random days of entries, answers, goals, exit events, merges of anonymous visitors into
/// known people (both in the journey: one run ends) and time passing, some in one batch, the
/// counts always agree with the runs (`check_counts_match_runs`), up to the journey's stop.
#[tokio::test]
async fn the_counts_agree_with_the_runs_whatever_happens() {
    let mut merge_exits = 0;
    for seed in [0x2545_f491_4f6c_dd1d_u64, 7, 1_234_567] {
        let mut h = Harness::new();
        h.template("hello", "Hello");
        h.publish(json!({"id": "loop", "entry": {"event": "Go", "holdout": 20}, "exit": [{"event": "Stop"}], "goal": {"event": "Paid"},
            "steps": [
                {"id": "check", "type": "branch", "cases": [{"when": {"trait": "vip", "op": "eq", "value": true}, "next": "hello"}], "else": "ask"},
                {"id": "ask", "type": "wait_for", "events": [{"event": "Answered", "next": "note"}, {"event": "Skip", "next": "pause"}],
                 "timeout": "1d", "timeout_next": "check"},
                {"id": "note", "type": "update", "set": {"vip": true}, "next": "ask"},
                {"id": "pause", "type": "wait", "duration": "6h", "next": "hello"},
                {"id": "hello", "type": "send", "template": "hello"}
            ]}))
        .await;
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let random_event = |next: &mut dyn FnMut() -> u64| {
            let who = next() % 8;
            let id = if who < 5 { json!({"userId": format!("u{who}")}) } else { json!({"anonymousId": format!("a{who}")}) };
            let name = ["Go", "Go", "Answered", "Skip", "Paid", "Stop"][(next() % 6) as usize];
            let mut raw = id;
            raw["event"] = json!(name);
            (Kind::Track, raw)
        };
        for i in 0..80 {
            match next() % 6 {
                0..=2 => {
                    let e = random_event(&mut next);
                    h.batch(vec![e]).await;
                }
                3 => {
                    let events = (0..3).map(|_| random_event(&mut next)).collect();
                    h.batch(events).await;
                }
                4 => {
                    let (user, anon) = (next() % 5, 5 + next() % 3);
                    h.batch(vec![(Kind::Identify, json!({"userId": format!("u{user}"), "anonymousId": format!("a{anon}")}))]).await;
                }
                _ => {
                    let hours = 1 + next() % 30;
                    h.advance(&format!("{hours}h")).await;
                }
            }
            if i % 10 == 9 {
                h.check_counts_match_runs("loop").await;
            }
        }
        h.engine.runs(JourneyId("loop".into()), engine::RunsAction::Stop("done".into())).await.expect("stop");
        h.check_counts_match_runs("loop").await;
        let counts = h.counts("loop").await;
        assert!(counts.values().all(|c| c.waiting == 0), "{}", table(&counts));
        assert!(counts.get("$entry").is_some_and(|c| c.entered > 5), "the random days did enter people: {}", table(&counts));
        let runs = h.store.read().expect("tx").journey_runs(&JourneyId("loop".into())).expect("runs");
        merge_exits += runs.iter().filter(|r| r.run.exit_reason.as_deref().is_some_and(|x| x.starts_with("profile merged"))).count();
    }
    assert!(merge_exits > 0, "some merges ended a run");
}

/// The property paths events show are kept per event name (as journeys see them: a page call's
/// name and page context too), nested objects as dotted paths, within the bounds; what a
/// restarted engine finds stored counts towards them.
#[tokio::test]
async fn property_paths_are_kept_per_event_name_within_bounds_across_restarts() {
    use engine::paths::MAX_PATHS;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("wayfarer.db");
    let paths = |store: &dyn Store| -> Vec<String> {
        let listed = store.read().expect("tx").property_paths().expect("paths");
        listed.into_iter().map(|p| format!("{}: {}", p.event, p.path)).collect()
    };
    let many = |key: &str, n: usize| Value::Object((0..n).map(|i| (format!("{key}{i:03}"), json!(i))).collect());
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("store"));
        let mut h = Harness::on(store, tempfile::tempdir().expect("dir"), Options::default(), WebhookOptions::default());
        let order = json!({"userId": "ida", "event": "Order Completed",
            "properties": {"total": 30, "cart": {"id": "c1", "items": [{"sku": "A"}], "a": {"b": {"c": 1}}}}});
        let (first, second) = (h.event(Kind::Track, order.clone()), h.event(Kind::Track, order));
        h.engine.ingest(SourceId("web".into()), vec![first, second]).await.expect("ingest");
        h.send(
            Kind::Page,
            json!({"userId": "ida", "name": "Pricing", "properties": {"path": "/pricing"}, "context": {"page": {"url": "u"}}}),
        )
        .await;
        assert_eq!(
            paths(&*h.store),
            [
                "Order Completed: cart",
                "Order Completed: cart.a",
                "Order Completed: cart.a.b",
                "Order Completed: cart.id",
                "Order Completed: cart.items",
                "Order Completed: total",
                "Page Viewed: name",
                "Page Viewed: path",
                "Page Viewed: url",
            ],
            "three keys deep, arrays not descended"
        );
        h.send(Kind::Track, json!({"userId": "ida", "event": "Wide", "properties": many("k", MAX_PATHS - 1)})).await;
        h.engine.shutdown().await;
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("reopen"));
    let mut h = Harness::on(store, dir, Options::default(), WebhookOptions::default());
    h.next_id = 100; // message ids of their own, not duplicates of the first engine's
    h.send(Kind::Track, json!({"userId": "ida", "event": "Wide", "properties": many("n", 50)})).await;
    h.send(Kind::Track, json!({"userId": "ida", "event": "Order Completed", "properties": {"coupon": "X"}})).await;
    let kept = paths(&*h.store);
    let wide: Vec<&String> = kept.iter().filter(|p| p.starts_with("Wide: ")).collect();
    assert_eq!(wide.len(), MAX_PATHS, "the stored ones count: room for one more");
    assert_eq!(wide.last().map(|p| p.as_str()), Some("Wide: n000"));
    assert!(kept.contains(&"Order Completed: coupon".to_owned()), "{kept:?}");
}

/// A message's outcome is recorded with its outcome event in one commit: a bug while stepping
/// the outcome (a panic) keeps the person's inputs as a dead letter, and the message recorded,
/// so it is not sent again.
#[tokio::test]
async fn a_panic_while_stepping_an_outcome_keeps_the_message_recorded_and_sent_once() {
    let options = Options { faults: engine::Faults { panic_on_event: Some("Email Sent".into()) }, ..Options::default() };
    let mut h = Harness::with_options(options, WebhookOptions::default());
    h.template("hello", "Hello {{ traits.firstName }}");
    h.publish(json!({"id": "greet", "entry": {"event": "Signed Up"}, "steps": [{"id": "hello", "type": "send", "template": "hello"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "bo", "traits": {"firstName": "Bo", "email": "bo@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "bo", "event": "Signed Up"})).await;
    h.engine.wake().await.expect("the core is alive");
    h.advance("1h").await;
    h.check_messages(expect![[r#"
        t=+0s email bo@x.test: captured "Hello Bo"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    assert!(tx.outbox_pending().expect("pending").iter().all(|(_, n)| *n == 0), "nothing left to send");
    let letters = tx.dead_letters(None, 10).expect("list");
    assert_eq!(letters.len(), 1, "the outcome, kept: {letters:?}");
    assert!(letters[0].error.contains("injected failure"), "{}", letters[0].error);
}

/// "No order in 30 days": people who never ordered are members at once, a buyer becomes one
/// exactly when their last order is 30 days old (a time edge, within the minute after it),
/// and an order takes them out. Entering is an event a journey starts on.
#[tokio::test]
async fn a_segment_with_a_time_edge_starts_a_win_back_journey_on_entry() {
    let mut h = Harness::new();
    h.template("winback", "We miss you");
    h.segment(json!({"id": "lapsed", "name": "No order in 30 days", "condition": {"all": [
        {"trait": "email", "op": "exists"},
        {"history": {"event": "Order Completed", "within": "30d"}, "op": "eq", "value": 0}]}}))
        .await;
    h.publish(
        json!({"id": "winback", "entry": {"event": "Segment Entered", "filter": {"property": "segment", "op": "eq", "value": "lapsed"}},
        "steps": [{"id": "miss", "type": "send", "template": "winback"}]}),
    )
    .await;
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"email": "ann@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Order Completed"})).await;
    h.send(Kind::Identify, json!({"userId": "bob", "traits": {"email": "bob@x.test"}})).await;
    h.send(Kind::Identify, json!({"userId": "cy"})).await;
    // ann entered with her email, before her order took her out; bob never ordered.
    assert_eq!(h.members("lapsed"), ["bob"]);
    h.advance("29d").await;
    h.send(Kind::Track, json!({"userId": "bob", "event": "Order Completed"})).await;
    assert!(h.members("lapsed").is_empty());
    h.advance("2d").await;
    assert_eq!(h.members("lapsed"), ["ann"], "30 days after her order");
    h.check_messages(expect![[r#"
        t=+0s email ann@x.test: captured "We miss you"
        t=+0s email bob@x.test: captured "We miss you"
        t=+30d1m48s889ms email ann@x.test: captured "We miss you"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let ann = tx.profile_by_identity(&Identity::UserId("ann".into())).expect("lookup").expect("known");
    let names: Vec<String> = tx.timeline(ann, 10).expect("timeline").iter().map(|e| e.event.match_name().to_owned()).collect();
    expect!["Email Sent, Segment Entered, Segment Exited, Order Completed, Email Sent, Segment Entered, Identify"]
        .assert_eq(&names.join(", "));
    let hours = tx
        .segment_hours(&domain::ids::SegmentId("lapsed".into()), Timestamp(START), Timestamp(START).plus(Duration::days(40)))
        .expect("hours");
    let (entered, exited) = hours.iter().fold((0, 0), |(e, x), h| (e + h.entered, x + h.exited));
    assert_eq!((entered, exited), (3, 2), "ann in, out, in; bob in, out");
}

/// A segment made after people exist is filled from what they did: a pass over everyone,
/// a chunk per transaction, through the same evaluation; segments can test each other.
#[tokio::test]
async fn a_new_segment_is_filled_from_history_and_segments_test_each_other() {
    let mut h = Harness::new();
    for i in 0..450 {
        let plan = if i % 3 == 0 { "pro" } else { "free" };
        h.send(Kind::Identify, json!({"userId": format!("u{i:03}"), "traits": {"plan": plan}})).await;
    }
    for i in 0..6 {
        h.send(Kind::Track, json!({"userId": format!("u{i:03}"), "event": "Order Completed", "properties": {"total": 50 * i}})).await;
    }
    h.segment(json!({"id": "big-spenders", "condition":
        {"history": {"event": "Order Completed", "within": "90d", "aggregate": "sum", "property": "total"}, "op": "gte", "value": 100}}))
        .await;
    h.segment(json!({"id": "pro-big", "condition": {"all": [{"trait": "plan", "op": "eq", "value": "pro"}, {"segment": "big-spenders"}]}}))
        .await;
    h.engine.wake().await.expect("wake");
    assert_eq!(h.members("big-spenders"), ["u002", "u003", "u004", "u005"]);
    assert_eq!(h.members("pro-big"), ["u003"]);
    let pros = {
        let mut tx = h.store.read().expect("tx");
        tx.segment_size(&domain::ids::SegmentId("pro-big".into())).expect("size")
    };
    assert_eq!(pros, 1);
    // A change of plan moves them at once, through both.
    h.send(Kind::Identify, json!({"userId": "u004", "traits": {"plan": "pro"}})).await;
    assert_eq!(h.members("pro-big"), ["u003", "u004"]);
}

/// A computed trait is written on the profile from the history counters: templates and
/// conditions read it as any trait, its change is a trait change journeys start on, and it
/// goes down by itself when an order leaves its window (a time edge).
#[tokio::test]
async fn computed_traits_are_traits_kept_from_history() {
    let mut h = Harness::new();
    {
        let mut tx = h.store.write().expect("tx");
        let at = h.clock_now();
        let doc = json!({"trait": "orders_30d", "history": {"event": "Order Completed", "within": "30d"}});
        tx.put_computed_trait(&store::StoredComputedTrait {
            id: "orders_30d".into(),
            name: "Orders".into(),
            document: doc,
            created_at: at,
            updated_at: at,
        })
        .expect("put");
        let doc = json!({"trait": "biggest_order", "history": {"event": "Order Completed", "within": "30d", "aggregate": "max", "property": "total"}});
        tx.put_computed_trait(&store::StoredComputedTrait {
            id: "biggest_order".into(),
            name: "Biggest".into(),
            document: doc,
            created_at: at,
            updated_at: at,
        })
        .expect("put");
        tx.commit().expect("commit");
    }
    h.engine.reload_journeys().await.expect("reload");
    h.template("thanks", "Order {{ traits.orders_30d }} this month, the biggest {{ traits.biggest_order }}");
    h.template("regular", "You are a regular");
    h.publish(json!({"id": "thanks", "entry": {"event": "Order Completed"}, "steps": [{"id": "t", "type": "send", "template": "thanks"}]}))
        .await;
    h.publish(json!({"id": "regular", "entry": {"trait_change": {"trait": "orders_30d", "to": 2}},
        "steps": [{"id": "r", "type": "send", "template": "regular"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"email": "ann@x.test"}})).await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Order Completed", "properties": {"total": 40}})).await;
    h.advance("10d").await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Order Completed", "properties": {"total": 25}})).await;
    let traits = |h: &Harness| {
        let mut tx = h.store.read().expect("tx");
        let p = tx.profile_by_identity(&Identity::UserId("ann".into())).expect("lookup").expect("known");
        let t = tx.profile(p).expect("profile").expect("kept").traits;
        (t.get("orders_30d").cloned(), t.get("biggest_order").cloned())
    };
    assert_eq!(traits(&h), (Some(json!(2)), Some(json!(40))));
    h.advance("21d").await;
    assert_eq!(traits(&h), (Some(json!(1)), Some(json!(25))), "the first order left the window");
    h.advance("10d").await;
    assert_eq!(traits(&h), (Some(json!(0)), None), "no order in 30 days: a count of 0, no biggest");
    h.check_messages(expect![[r#"
        t=+0s email ann@x.test: captured "Order 1 this month, the biggest 40"
        t=+10d email ann@x.test: captured "Order 2 this month, the biggest 40"
        t=+10d email ann@x.test: captured "You are a regular"
    "#]]);
}

/// Lifecycle stages: each person is at the last stage whose condition holds; a move is the
/// `lifecycle_stage` trait, a `Stage Changed` event journeys start on, and a recorded move
/// (flows over a period); a time edge moves them back when an order leaves the window.
#[tokio::test]
async fn lifecycle_stages_move_people_on_events_and_time_edges() {
    let mut h = Harness::new();
    {
        let mut tx = h.store.write().expect("tx");
        let doc = json!({"stages": [
            {"id": "lead", "name": "Lead", "condition": {"trait": "email", "op": "exists"}},
            {"id": "customer", "name": "Customer", "condition": {"history": {"event": "Order Completed", "within": "30d"}, "op": "gte", "value": 1}}]});
        tx.set_setting(engine::LIFECYCLE, &doc.to_string()).expect("set");
        tx.commit().expect("commit");
    }
    h.engine.reload_journeys().await.expect("reload");
    h.template("welcome", "Welcome, customer");
    h.publish(json!({"id": "welcome", "entry": {"event": "Stage Changed", "filter": {"property": "to", "op": "eq", "value": "customer"}},
        "steps": [{"id": "w", "type": "send", "template": "welcome"}]}))
        .await;
    h.send(Kind::Identify, json!({"userId": "ann", "traits": {"email": "ann@x.test"}})).await;
    h.send(Kind::Identify, json!({"userId": "bob"})).await;
    h.send(Kind::Track, json!({"userId": "ann", "event": "Order Completed"})).await;
    h.send(Kind::Track, json!({"userId": "bob", "event": "Order Completed"})).await;
    let stage = |h: &Harness, who: &str| {
        let mut tx = h.store.read().expect("tx");
        let p = tx.profile_by_identity(&Identity::UserId(who.into())).expect("lookup").expect("known");
        tx.profile(p).expect("profile").expect("kept").traits.get("lifecycle_stage").cloned()
    };
    assert_eq!(
        (stage(&h, "ann"), stage(&h, "bob")),
        (Some(json!("customer")), Some(json!("customer"))),
        "a later stage without the earlier"
    );
    h.advance("31d").await;
    assert_eq!((stage(&h, "ann"), stage(&h, "bob")), (Some(json!("lead")), None), "the order left the window");
    h.check_messages(expect![[r#"
        t=+0s email ann@x.test: captured "Welcome, customer"
    "#]]);
    let mut tx = h.store.read().expect("tx");
    let flows: Vec<String> = tx
        .stage_flows(Timestamp(START), Timestamp(START).plus(Duration::days(40)), None)
        .expect("flows")
        .into_iter()
        .map(|f| format!("{} -> {}: {}", f.from.unwrap_or_else(|| "none".into()), f.to.unwrap_or_else(|| "none".into()), f.people))
        .collect();
    expect!["none -> customer: 1, none -> lead: 1, customer -> none: 1, customer -> lead: 1, lead -> customer: 1"]
        .assert_eq(&flows.join(", "));
    assert!(tx.stage_sizes().expect("sizes").contains(&("lead".to_owned(), 1)));
}

/// A schedule whose audience is a segment goes over the segment's members only (not over
/// everyone), and enters those the rest of the audience takes.
#[tokio::test]
async fn a_schedule_sends_to_a_segments_members() {
    let mut h = Harness::new();
    h.template("digest", "Your weekly digest");
    h.segment(json!({"id": "pro", "condition": {"trait": "plan", "op": "eq", "value": "pro"}})).await;
    h.publish(json!({"id": "weekly", "entry": {"schedule": {"cron": "0 9 * * mon", "timezone": "UTC"},
        "audience": {"all": [{"segment": "pro"}, {"trait": "email", "op": "exists"}]}}, "steps": [{"id": "send", "type": "send", "template": "digest"}]}))
    .await;
    for (who, plan, email) in [("ann", "pro", true), ("bob", "free", true), ("cy", "pro", false), ("di", "pro", true)] {
        let mut traits = json!({"plan": plan});
        if email {
            traits["email"] = json!(format!("{who}@x.test"));
        }
        h.send(Kind::Identify, json!({"userId": who, "traits": traits})).await;
    }
    // di leaves the segment before Monday.
    h.send(Kind::Identify, json!({"userId": "di", "traits": {"plan": "free"}})).await;
    h.advance("4d").await;
    h.check_messages(expect![[r#"
        t=+3d1h email ann@x.test: captured "Your weekly digest"
    "#]]);
}
