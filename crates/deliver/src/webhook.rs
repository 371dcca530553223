//! Outgoing webhooks: templated JSON, a timeout, an HMAC signature, and a guard against
//! calling private addresses.

use std::net::IpAddr;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::Error;

#[derive(Debug, Clone)]
pub struct WebhookOptions {
    pub timeout: Duration,
    /// Signs each call: `webhook-signature: v1=<hex HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub secret: Option<String>,
    /// Allow loopback, private and link-local addresses (off by default: SSRF guard).
    pub allow_private: bool,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions { timeout: Duration::from_secs(10), secret: None, allow_private: false }
    }
}

pub(crate) struct Client {
    http: reqwest::Client,
    secret: Option<String>,
    allow_private: bool,
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The signature header value for a call.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

impl Client {
    pub(crate) fn new(o: &WebhookOptions) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .timeout(o.timeout)
            .user_agent(concat!("wayfarer/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Permanent(format!("webhook client: {e}")))?;
        Ok(Client { http, secret: o.secret.clone(), allow_private: o.allow_private })
    }

    pub(crate) async fn call(&self, key: &str, url: &str, method: &str, body: &Value, now_secs: i64) -> Result<Value, Error> {
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::Permanent(format!("webhook url {url:?}: {e}")))?;
        if !self.allow_private {
            let host = parsed.host_str().unwrap_or("");
            let private = host.eq_ignore_ascii_case("localhost") || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(is_private);
            if private {
                return Err(Error::Permanent(format!("webhook to private address {host} refused (set webhook.allow_private to allow)")));
            }
        }
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| Error::Permanent(format!("webhook method: {e}")))?;
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Permanent(e.to_string()))?;
        let mut req = self
            .http
            .request(method, parsed)
            .header("content-type", "application/json")
            .header("webhook-id", key)
            .header("webhook-timestamp", now_secs.to_string());
        if let Some(secret) = &self.secret {
            req = req.header("webhook-signature", signature(secret, key, now_secs, &bytes));
        }
        let response = req.body(bytes).send().await.map_err(|e| Error::Retryable(format!("webhook: {e}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let snippet: String = text.chars().take(500).collect();
        if status.is_success() {
            let mut out = json!({"status": status.as_u16(), "response": snippet});
            if text.len() <= 65_536
                && let Ok(parsed) = serde_json::from_str::<Value>(&text)
            {
                out["json"] = parsed;
            }
            return Ok(out);
        }
        let message = format!("webhook answered {status}: {snippet}");
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(Error::Retryable(message))
        } else {
            Err(Error::Permanent(message))
        }
    }
}
