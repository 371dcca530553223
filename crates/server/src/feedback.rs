//! Deliveries, bounces and complaints from an email provider: `POST /v1/feedback/email`, authenticated with
//! a source's write key (HTTP Basic, as the Segment endpoints), a JSON body per notification:
//!
//! ```json
//! {"type": "bounce", "email": "ann@example.com", "bounce": "hard", "reason": "550 5.1.1 no such user",
//!  "message_id": "<run-1-2-0@wayfarer>"}
//! {"type": "complaint", "email": "ann@example.com", "message_id": "<run-1-2-0@wayfarer>"}
//! {"type": "delivery", "email": "ann@example.com", "message_id": "<run-1-2-0@wayfarer>"}
//! ```
//!
//! The person is the one the message (`message_id`: the email's `Message-ID`) went to, else
//! everyone emailed at that address. A hard bounce sets `email_bounced` to the address (no
//! email goes to it again while it is their `email`) and is an `Email Bounced` event; a soft
//! one is only the event. A complaint (the person marked it as spam) unsubscribes them from
//! marketing email and is an `Email Marked as Spam` event. A delivery (the recipient's server
//! took the message from the provider) is an `Email Delivered` event. A repeat of the same notification
//! for the same message records nothing more.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::{ApiError, Code};

/// People one notification can be about (everyone emailed at its address).
const MAX_PEOPLE_PER_ADDRESS: usize = 100;

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct EmailFeedback {
    #[serde(rename = "type")]
    kind: Kind,
    email: String,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    bounce: Option<Bounce>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Bounce,
    Complaint,
    Delivery,
}

#[derive(Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Bounce {
    Hard,
    Soft,
}

/// What was recorded.
#[derive(Serialize, Debug)]
pub struct Recorded {
    /// The event recorded on each person (`Email Delivered`, `Email Bounced`, `Email Marked as Spam`).
    pub event: &'static str,
    /// How many people it was recorded on (0: nobody was emailed at the address).
    pub people: usize,
}

/// `POST /v1/feedback/email`.
pub async fn email(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Result<Json<Recorded>, ApiError> {
    let key = crate::ingest::basic_user(&headers)
        .ok_or_else(|| ApiError::new(Code::InvalidWriteKey, "no write key: use HTTP Basic auth with a source's write key as user name"))?;
    app.source_for_key(&key).await?.ok_or_else(|| ApiError::new(Code::InvalidWriteKey, "the write key is not valid"))?;
    let bytes = crate::ingest::read_body(body, &headers, app.limits.max_event_bytes).await?;
    let f: EmailFeedback = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::new(
            Code::InvalidRequest,
            format!("not an email feedback notification ({e}); send {{\"type\": \"delivery\", \"bounce\" or \"complaint\", \"email\": ..., \"bounce\": \"hard\" or \"soft\", \"reason\": ..., \"message_id\": ...}}"),
        )
    })?;
    let email = f.email.trim().to_owned();
    if !email.contains('@') {
        return Err(ApiError::new(Code::InvalidRequest, format!("\"email\" {email:?} is not an address")));
    }
    let hard = f.bounce.unwrap_or(Bounce::Hard) == Bounce::Hard;
    let (event, traits): (&'static str, domain::Map) = match f.kind {
        Kind::Bounce if hard => ("Email Bounced", [(engine::EMAIL_BOUNCED.to_owned(), email.clone().into())].into_iter().collect()),
        Kind::Bounce => ("Email Bounced", domain::Map::new()),
        Kind::Complaint => ("Email Marked as Spam", [(engine::EMAIL_UNSUBSCRIBED.to_owned(), true.into())].into_iter().collect()),
        Kind::Delivery => ("Email Delivered", domain::Map::new()),
    };
    let mut properties = domain::Map::new();
    properties.insert("email".into(), email.clone().into());
    if f.kind == Kind::Bounce {
        properties.insert("bounce".into(), if hard { "hard" } else { "soft" }.into());
    }
    if let Some(reason) = f.reason.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        properties.insert("reason".into(), reason.chars().take(500).collect::<String>().into());
    }
    // The message it is about: its Message-ID is `<{idempotency key}@wayfarer>`.
    let key =
        f.message_id.as_deref().map(|m| m.trim().trim_start_matches('<').trim_end_matches('>').trim_end_matches("@wayfarer").to_owned());
    let address = email.clone();
    let (message, people) = app
        .read(move |tx| {
            let message = match key {
                Some(k) => {
                    tx.outbox_by_key(&k)?.filter(|m| m.payload.to.as_deref().is_some_and(|to| to.trim().eq_ignore_ascii_case(&address)))
                }
                None => None,
            };
            let people = match &message {
                Some(_) => Vec::new(),
                None => tx.messaged_at(deliver::EMAIL, &address, MAX_PEOPLE_PER_ADDRESS)?,
            };
            Ok((message, people))
        })
        .await?;
    if let Some(m) = message {
        let once = format!("{event}-{}", m.key);
        crate::tracking::record_once(&app, m.id, event, properties, traits, once).await;
        return Ok(Json(Recorded { event, people: 1 }));
    }
    if people.is_empty() {
        tracing::info!(email = %email, event, "email feedback about an address nobody was emailed at; nothing recorded");
    }
    let now = app.engine.clock().now();
    for person in &people {
        let feedback = engine::Feedback {
            message_id: format!("{event}-{email}-{}-{}", person.0, now.0),
            name: event.to_owned(),
            properties: properties.clone(),
            traits: traits.clone(),
        };
        app.engine
            .feedback(*person, feedback)
            .await
            .map_err(|e| ApiError::new(Code::Internal, format!("recording email feedback: {e}")))?;
    }
    Ok(Json(Recorded { event, people: people.len() }))
}
