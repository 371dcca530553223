//! The SMS client: a `POST` to the Twilio Messages API, and what its answers mean.
//!
//! Twilio's Messages API takes no idempotency key; the outbox entry's key goes along as an
//! `Idempotency-Key` header (which providers that honour it, and the test stand-in, use to
//! recognise a repeat), and the status callback URL names the outbox entry.

use serde::Deserialize;
use serde_json::{Value, json};

use super::config::SmsOptions;
use super::{OPTED_OUT, Sms};
use crate::Error;

pub(crate) struct Client {
    http: reqwest::Client,
    /// `{base}/2010-04-01/Accounts/{sid}/Messages.json`.
    url: reqwest::Url,
    account_sid: String,
    auth_token: String,
    from: String,
    limits: crate::Limits,
}

/// What Twilio answers a message with (`201`), in part.
#[derive(Deserialize)]
struct Created {
    sid: String,
    #[serde(default)]
    status: Option<String>,
}

/// Twilio's error body.
#[derive(Deserialize)]
struct Refusal {
    code: Option<i64>,
    message: Option<String>,
}

impl Client {
    pub(crate) fn new(o: &SmsOptions) -> Result<Client, Error> {
        let base = o.base_url.trim().trim_end_matches('/');
        let missing = [("sms.account_sid", &o.account_sid), ("sms.auth_token", &o.auth_token), ("sms.from", &o.from)];
        if let Some((name, _)) = missing.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(Error::Permanent(format!(
                "{name} is not set (the SMS channel needs the account SID, its auth token and a sender)"
            )));
        }
        let url = reqwest::Url::parse(&format!("{base}/2010-04-01/Accounts/{}/Messages.json", o.account_sid.trim()))
            .map_err(|e| Error::Permanent(format!("sms.base_url {:?}: {e}", o.base_url)))?;
        let http = reqwest::Client::builder()
            .timeout(o.timeout)
            .user_agent(concat!("wayfarer/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Permanent(format!("SMS client: {e}")))?;
        Ok(Client {
            http,
            url,
            account_sid: o.account_sid.trim().to_owned(),
            auth_token: o.auth_token.trim().to_owned(),
            from: o.from.trim().to_owned(),
            limits: o.limits,
        })
    }

    async fn post(&self, key: &str, sms: &Sms) -> Result<Value, Error> {
        let sender = if self.from.starts_with("MG") { "MessagingServiceSid" } else { "From" };
        let mut form = vec![("To", sms.to.as_str()), (sender, self.from.as_str()), ("Body", sms.body.as_str())];
        if let Some(url) = &sms.status_callback {
            form.push(("StatusCallback", url));
        }
        let response = self
            .http
            .post(self.url.clone())
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header("idempotency-key", key)
            .form(&form)
            .send()
            .await
            .map_err(|e| Error::Retryable(format!("SMS: {}", chain(&e))))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            let created: Created = serde_json::from_str(&text)
                .map_err(|e| Error::Retryable(format!("SMS: the provider answered {status} without a message SID ({e})")))?;
            return Ok(json!({
                "sid": created.sid,
                "status": created.status,
                "to": sms.to,
                "body": sms.body,
                "segments": super::segments(&sms.body),
            }));
        }
        let refusal: Option<Refusal> = serde_json::from_str(&text).ok();
        let (code, said) = match &refusal {
            Some(r) => (r.code, r.message.clone().unwrap_or_default()),
            None => (None, text.chars().take(300).collect()),
        };
        let message = match code {
            Some(code) => format!("SMS refused ({status}): error {code}: {said}"),
            None => format!("SMS refused ({status}): {said}"),
        };
        if code == Some(OPTED_OUT) {
            Err(Error::OptedOut(message))
        } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Err(Error::Retryable(message))
        } else {
            Err(Error::Permanent(message))
        }
    }
}

/// An error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    out
}

impl crate::Channel for Client {
    type Message = Sms;
    const NAME: &'static str = crate::SMS;

    fn limits(&self) -> crate::Limits {
        self.limits
    }

    fn describe(&self) -> String {
        let origin = self.url.origin().ascii_serialization();
        format!("Twilio Messages API at {origin}, account {}, from {}", self.account_sid, self.from)
    }

    async fn send(&self, key: &str, sms: &Sms) -> Result<Value, Error> {
        self.post(key, sms).await
    }
}
