//! A stand-in for Twilio's Messages API on loopback, for the SMS figure and the tests: it
//! takes messages as Twilio does (a form `POST` to `/2010-04-01/Accounts/{sid}/Messages.json`
//! with Basic auth, answered `201` with the message's SID, or an error body with Twilio's code)
//! and sends what Twilio sends back (status callbacks, inbound messages), signed with
//! `X-Twilio-Signature`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;

/// A message the stand-in took.
#[derive(Debug, Clone, PartialEq)]
pub struct Texted {
    pub sid: String,
    pub to: String,
    /// `From`, or `MessagingServiceSid`.
    pub from: String,
    pub body: String,
    pub status_callback: Option<String>,
    /// The `Idempotency-Key` header the message came with.
    pub idempotency_key: Option<String>,
}

struct Account {
    sid: String,
    token: String,
    texted: Mutex<Vec<Texted>>,
    /// Numbers that replied STOP: messages to them are refused with 21610.
    opted_out: Mutex<HashSet<String>>,
    /// While `true`, messages are held unanswered (for crash tests).
    held: tokio::sync::watch::Sender<bool>,
    next: AtomicU64,
}

/// The stand-in, serving until dropped.
pub struct Twilio {
    /// `http://127.0.0.1:{port}`: what `sms.base_url` is set to.
    pub base_url: String,
    account: Arc<Account>,
    http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Twilio {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Twilio {
    pub async fn start(account_sid: &str, auth_token: &str) -> anyhow::Result<Twilio> {
        let account = Arc::new(Account {
            sid: account_sid.to_owned(),
            token: auth_token.to_owned(),
            texted: Mutex::default(),
            opted_out: Mutex::default(),
            held: tokio::sync::watch::Sender::new(false),
            next: AtomicU64::new(1),
        });
        let app = Router::new().route("/2010-04-01/Accounts/{sid}/Messages.json", post(create)).with_state(account.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Twilio { base_url, account, http: reqwest::Client::new(), task })
    }

    /// What it took so far, in order.
    pub fn texted(&self) -> Vec<Texted> {
        lock(&self.account.texted).clone()
    }

    pub fn count(&self) -> usize {
        lock(&self.account.texted).len()
    }

    /// The number replied STOP (to Twilio): messages to it are refused with error 21610.
    pub fn opt_out(&self, number: &str) {
        lock(&self.account.opted_out).insert(number.to_owned());
    }

    /// Holds every message unanswered (once taken) until `release`.
    pub fn hold(&self) {
        self.account.held.send_replace(true);
    }

    pub fn release(&self) {
        self.account.held.send_replace(false);
    }

    /// Reports a message's status to its `StatusCallback`, as Twilio does; the callback's HTTP
    /// status.
    pub async fn report(&self, sid: &str, status: &str, error_code: Option<&str>) -> anyhow::Result<u16> {
        let texted = self.texted().into_iter().find(|t| t.sid == sid).ok_or_else(|| anyhow::anyhow!("no message {sid}"))?;
        let url = texted.status_callback.ok_or_else(|| anyhow::anyhow!("message {sid} has no status callback"))?;
        let mut form = vec![
            ("AccountSid", self.account.sid.clone()),
            ("MessageSid", sid.to_owned()),
            ("SmsSid", sid.to_owned()),
            ("MessageStatus", status.to_owned()),
            ("SmsStatus", status.to_owned()),
            ("To", texted.to),
            ("From", texted.from),
            ("ApiVersion", "2010-04-01".to_owned()),
        ];
        if let Some(code) = error_code {
            form.push(("ErrorCode", code.to_owned()));
        }
        self.signed_post(&url, &form).await.map(|(status, _)| status)
    }

    /// Someone texts the number: the inbound message Twilio posts to the number's webhook
    /// (`url`); its HTTP status and body.
    pub async fn inbound(&self, url: &str, from: &str, to: &str, body: &str) -> anyhow::Result<(u16, String)> {
        let sid = format!("SM{:032x}", self.account.next.fetch_add(1, Ordering::SeqCst) + (1 << 60));
        let form = vec![
            ("AccountSid", self.account.sid.clone()),
            ("MessageSid", sid.clone()),
            ("SmsMessageSid", sid),
            ("From", from.to_owned()),
            ("To", to.to_owned()),
            ("Body", body.to_owned()),
            ("NumMedia", "0".to_owned()),
            ("ApiVersion", "2010-04-01".to_owned()),
        ];
        self.signed_post(url, &form).await
    }

    async fn signed_post(&self, url: &str, form: &[(&str, String)]) -> anyhow::Result<(u16, String)> {
        let params: Vec<(String, String)> = form.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
        let signature = deliver::twilio_signature(&self.account.token, url, &params);
        let response = self.http.post(url).header("x-twilio-signature", signature).form(form).send().await?;
        Ok((response.status().as_u16(), response.text().await?))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn refusal(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status.as_u16()});
    (status, axum::Json(body)).into_response()
}

async fn create(State(account): State<Arc<Account>>, Path(sid): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", account.sid, account.token)));
    if sid != account.sid || headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return refusal(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Some(to) = field("To").filter(|t| domain::journey::phone_number(t).as_deref() == Some(t.as_str())) else {
        return refusal(StatusCode::BAD_REQUEST, 21211, "Invalid 'To' Phone Number");
    };
    let Some(from) = field("From").or(field("MessagingServiceSid")) else {
        return refusal(StatusCode::BAD_REQUEST, 21603, "A 'From' or 'MessagingServiceSid' parameter is required");
    };
    let Some(text) = field("Body").filter(|b| !b.is_empty()) else {
        return refusal(StatusCode::BAD_REQUEST, 21602, "Message body is required");
    };
    if lock(&account.opted_out).contains(&to) {
        return refusal(StatusCode::BAD_REQUEST, 21610, "Attempt to send to unsubscribed recipient");
    }
    let sid = format!("SM{:032x}", account.next.fetch_add(1, Ordering::SeqCst));
    let texted = Texted {
        sid: sid.clone(),
        to: to.clone(),
        from: from.clone(),
        body: text.clone(),
        status_callback: field("StatusCallback"),
        idempotency_key: headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned),
    };
    lock(&account.texted).push(texted);
    // Held after it is taken: a crash test's sender is killed with these in flight.
    let mut held = account.held.subscribe();
    let _ = held.wait_for(|held| !*held).await;
    let answer = json!({"sid": sid, "account_sid": account.sid, "to": to, "from": from, "body": text, "status": "queued",
                        "num_segments": deliver::segments(&text).to_string(), "api_version": "2010-04-01"});
    (StatusCode::CREATED, axum::Json(answer)).into_response()
}
