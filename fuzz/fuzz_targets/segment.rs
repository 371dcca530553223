//! The Segment tracking API's parsing: `Event::parse` on any JSON, as one call
//! (`/v1/track`, ...) with each call type, or as a `/v1/batch` body.
//!
//! Checks, for every event accepted: it names a person (the engine resolves every event to
//! one), has a message id and a name to match, and reads back from the store (JSON text) as
//! it was written.

#![no_main]

use domain::event::{Envelope, Event, Kind};
use domain::time::Timestamp;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wayfarer_fuzz::{json, round_trips};

const KINDS: [Option<Kind>; 7] =
    [None, Some(Kind::Identify), Some(Kind::Track), Some(Kind::Page), Some(Kind::Screen), Some(Kind::Group), Some(Kind::Alias)];

fn check(raw: Value, env: &Envelope<'_>) {
    let Ok(e) = Event::parse(raw, env) else { return };
    assert!(!e.identities().is_empty(), "an accepted event names a person: {e:?}");
    assert!(!e.message_id.as_str().is_empty(), "an accepted event has a message id: {e:?}");
    assert!(!e.match_name().trim().is_empty(), "an accepted event has a name to match: {e:?}");
    let _ = e.match_properties();
    let _ = (e.timestamp.to_string(), e.received_at.to_string());
    assert!(round_trips(&e), "an event reads back from the store as it was written: {e:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some(mut doc) = json(data) else { return };
    // The server's clock: an ordinary time, or (rarely) one at the ends of the range.
    let received_at = match data.len() % 8 {
        0 => Timestamp(i64::MAX),
        1 => Timestamp(i64::MIN),
        _ => Timestamp(1_795_435_200_000), // 2026-11-22T12:00:00Z
    };
    // A batch, as `/v1/batch` reads it (crates/server/src/ingest.rs).
    if let Some(Value::Array(batch)) = doc.get_mut("batch").map(Value::take) {
        let sent_at = doc.get("sentAt").and_then(Value::as_str).and_then(Timestamp::parse);
        for (i, raw) in batch.into_iter().enumerate() {
            let id = format!("generated-{i}");
            check(raw, &Envelope { kind: None, received_at, sent_at, fallback_message_id: &id });
        }
        return;
    }
    // One call, at each endpoint.
    for kind in KINDS {
        check(doc.clone(), &Envelope { kind, received_at, sent_at: None, fallback_message_id: "generated-1" });
    }
});
