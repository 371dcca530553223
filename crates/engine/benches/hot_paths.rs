//! Micro-benchmarks of the hot paths: `cargo bench -p engine`.
//!
//! Parsing a Segment batch, one `step`, one condition with history, one template render, and
//! noting the property paths of events whose paths are known (what the core does per event).

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use deliver::{EmailTemplate, Renderer};
use domain::condition::Facts;
use domain::event::{Envelope, Event, Kind};
use domain::journey::{Context, EventMatch, Input, Journey, Trigger, step};
use domain::time::Timestamp;
use engine::paths::PropertyPaths;
use serde_json::{Value, json};

fn batch(n: usize) -> Vec<u8> {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            json!({"type": "page", "messageId": format!("m{i}"), "userId": format!("u{}", i % 97), "timestamp": "2026-11-23T10:00:00.000Z",
                "properties": {"path": format!("/products/{}", i % 10), "url": "https://example.com/products/x", "title": "A product"},
                "context": {"library": {"name": "analytics-node", "version": "3.1.0"}, "page": {"referrer": "https://example.com/"}}})
        })
        .collect();
    serde_json::to_vec(&json!({"batch": events, "sentAt": "2026-11-23T10:00:01.000Z"})).unwrap_or_default()
}

fn parse_batch(c: &mut Criterion) {
    let body = batch(100);
    c.bench_function("parse and validate a batch of 100 events", |b| {
        b.iter(|| {
            let doc: Value = serde_json::from_slice(black_box(&body)).unwrap_or_default();
            let env = Envelope { kind: None, received_at: Timestamp(1_800_000_000_000), sent_at: None, fallback_message_id: "x" };
            let events: Vec<Event> =
                doc["batch"].as_array().into_iter().flatten().filter_map(|e| Event::parse(e.clone(), &env).ok()).collect();
            black_box(events.len())
        })
    });
}

/// The page views of `batch` (the ingest load of `wayfarer bench`), once their paths are
/// known: what noting property paths costs each event from then on (compare with parsing).
fn property_paths(c: &mut Criterion) {
    let doc: Value = serde_json::from_slice(&batch(100)).unwrap_or_default();
    let env = Envelope { kind: None, received_at: Timestamp(1_800_000_000_000), sent_at: None, fallback_message_id: "x" };
    let events: Vec<Event> = doc["batch"].as_array().into_iter().flatten().filter_map(|e| Event::parse(e.clone(), &env).ok()).collect();
    let mut paths = PropertyPaths::new();
    events.iter().for_each(|e| paths.note(e));
    paths.committed();
    c.bench_function("note the property paths of 100 page views already seen", |b| {
        b.iter(|| {
            events.iter().for_each(|e| paths.note(black_box(e)));
            black_box(paths.fresh().len())
        })
    });
}

fn journey() -> Journey {
    let doc: Value = serde_json::from_str(include_str!("../../../examples/consultation.json")).unwrap_or_default();
    Journey::parse(&doc).unwrap_or_else(|d| panic!("example journey: {d:?}"))
}

/// The example journey has no `update` step: nothing is rendered.
#[derive(Debug)]
struct NoTemplates;

impl domain::journey::Render for NoTemplates {
    fn value(&self, _: &str, _: &Value) -> Result<Value, String> {
        Err("no templates in this bench".into())
    }
}

fn step_entry(c: &mut Criterion) {
    let j = journey();
    let env = Envelope { kind: Some(Kind::Page), received_at: Timestamp(1_800_000_000_000), sent_at: None, fallback_message_id: "x" };
    let event = Event::parse(json!({"userId": "u", "properties": {"path": "/products/a"}}), &env).unwrap_or_else(|e| panic!("{e}"));
    let traits = json!({"firstName": "Ada", "email": "ada@example.com"}).as_object().cloned().unwrap_or_default();
    let history = [json!(3), json!(0)];
    c.bench_function("step: enter on a filter of two history counts, send, wait_for", |b| {
        b.iter(|| {
            let ctx = Context {
                traits: &traits,
                history: &history,
                previous: None,
                entries: 0,
                render: &NoTemplates,
                segments: &domain::condition::NO_SEGMENTS,
            };
            black_box(step(&j, 1, None, Input::Event(black_box(&event)), &ctx, Timestamp(1_800_000_000_000), 7))
        })
    });
}

fn condition(c: &mut Criterion) {
    let j = journey();
    let Trigger::Event(EventMatch { filter: Some(when), .. }) = &j.entry.trigger else {
        panic!("the example is entered on a filtered event")
    };
    let traits = json!({"plan": "pro", "email": "ada@example.com"}).as_object().cloned().unwrap_or_default();
    let props = json!({"path": "/products/a"}).as_object().cloned().unwrap_or_default();
    let history = [json!(4), json!(0)];
    c.bench_function("condition: the entry filter (a property, two history counts, reachable), with trace", |b| {
        b.iter(|| {
            let mut trace = Vec::new();
            black_box(when.eval(
                &Facts {
                    traits: &traits,
                    properties: Some(&props),
                    history: &history,
                    clock: None,
                    run: None,
                    segments: &domain::condition::NO_SEGMENTS,
                },
                &mut trace,
            ))
        })
    });
}

fn render(c: &mut Criterion) {
    let r = Renderer::default();
    let t = EmailTemplate {
        id: "invite".into(),
        subject: "{{ traits.firstName }}, would a free consultation help?".into(),
        html: "<p>Hi {{ traits.firstName }}, you looked at {{ event.path }}.</p>{% if traits.plan %}<p>{{ traits.plan }}</p>{% endif %}"
            .into(),
        text: "Hi {{ traits.firstName }}".into(),
    };
    let ctx = json!({"traits": {"firstName": "Ada", "plan": "pro"}, "event": {"path": "/products/a"}});
    c.bench_function("render an email template (subject, html, text)", |b| b.iter(|| black_box(r.email(&t, black_box(&ctx)))));
}

criterion_group!(benches, parse_batch, property_paths, step_entry, condition, render);
criterion_main!(benches);
