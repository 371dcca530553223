//! The push client: an OAuth2 access token from the service account, then one FCM
//! `messages:send` per device, and what FCM's answers mean.
//!
//! FCM takes no idempotency key: the outbox entry's key goes along in the message's data
//! (`wayfarer_key`), so an app can drop a repeat after a crash.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Push;
use super::config::{PushOptions, ServiceAccount};
use crate::Error;

/// The scope FCM's API asks for.
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// How long a minted assertion (and so at most the token) is valid.
const ASSERTION_SECS: u64 = 3600;

pub(crate) struct Client {
    http: reqwest::Client,
    account: ServiceAccount,
    key: ring::signature::RsaKeyPair,
    /// `{base}/v1/projects/{project}/messages:send`.
    url: reqwest::Url,
    /// The access token and when to stop using it.
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
    limits: crate::Limits,
}

/// What became of a notification on each of a person's devices.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    /// Device token and FCM's message name.
    pub sent: Vec<(String, String)>,
    /// Devices FCM says are gone (`UNREGISTERED`): the app was uninstalled, or the token expired.
    pub gone: Vec<String>,
    /// The other failures, one per device.
    pub errors: Vec<Error>,
}

impl Report {
    /// The message's outcome: sent if any device took it (a retry would repeat it on those);
    /// else retryable if any failure may pass; else permanent.
    pub fn outcome(&self) -> Result<Value, Error> {
        if !self.sent.is_empty() {
            let errors: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
            return Ok(json!({
                "devices": self.sent.len() + self.gone.len() + self.errors.len(),
                "sent": self.sent.iter().map(|(_, name)| name).collect::<Vec<_>>(),
                "unregistered": self.gone.len(),
                "errors": errors,
            }));
        }
        if let Some(e) = self.errors.iter().find(|e| e.is_retryable()) {
            return Err(e.clone());
        }
        match self.errors.first() {
            Some(e) => Err(e.clone()),
            None => Err(Error::Permanent(format!("every device of the person is unregistered ({} removed)", self.gone.len()))),
        }
    }
}

/// FCM's error body, in part.
#[derive(Deserialize)]
struct Refusal {
    error: RefusalError,
}

#[derive(Deserialize)]
struct RefusalError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

impl RefusalError {
    /// `FcmError.errorCode`, if given.
    fn fcm_code(&self) -> Option<&str> {
        self.details.iter().find_map(|d| d.get("errorCode").and_then(Value::as_str))
    }
}

#[derive(Deserialize)]
struct Minted {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Client {
    pub(crate) fn new(o: &PushOptions) -> Result<Client, Error> {
        let key = o.service_account.key_pair()?;
        let base = o.base_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(&format!("{base}/v1/projects/{}/messages:send", o.service_account.project_id))
            .map_err(|e| Error::Permanent(format!("push.base_url {:?}: {e}", o.base_url)))?;
        let http = reqwest::Client::builder()
            .timeout(o.timeout)
            .user_agent(concat!("wayfarer/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Permanent(format!("push client: {e}")))?;
        Ok(Client { http, account: o.service_account.clone(), key, url, token: tokio::sync::Mutex::default(), limits: o.limits })
    }

    fn assertion(&self) -> Result<String, Error> {
        assertion(&self.account, &self.key)
    }

    /// An access token: the one held, or a new one from `token_uri`.
    async fn access_token(&self) -> Result<String, Error> {
        let mut held = self.token.lock().await;
        if let Some((token, _)) = held.as_ref().filter(|(_, until)| Instant::now() < *until) {
            return Ok(token.clone());
        }
        let form = [("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &self.assertion()?)];
        let response = self
            .http
            .post(&self.account.token_uri)
            .form(&form)
            .send()
            .await
            .map_err(|e| Error::Retryable(format!("push: getting an access token: {e}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let said: String = text.chars().take(300).collect();
            let message = format!("push: the service account's token_uri refused an access token ({status}): {said}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                Error::Retryable(message)
            } else {
                Error::Permanent(message)
            });
        }
        let minted: Minted =
            serde_json::from_str(&text).map_err(|e| Error::Retryable(format!("push: the token_uri answered no access_token ({e})")))?;
        // Used until a minute before it expires.
        let lasts = Duration::from_secs(minted.expires_in.unwrap_or(3600).saturating_sub(60));
        *held = Some((minted.access_token.clone(), Instant::now() + lasts));
        Ok(minted.access_token)
    }

    /// Sends the notification to each device.
    pub(crate) async fn send_all(&self, key: &str, push: &Push) -> Report {
        let mut report = Report::default();
        let access = match self.access_token().await {
            Ok(a) => a,
            Err(e) => {
                report.errors.push(e);
                return report;
            }
        };
        for token in &push.tokens {
            match self.send_one(key, token, push, &access).await {
                Ok(name) => report.sent.push((token.clone(), name)),
                Err(None) => report.gone.push(token.clone()),
                Err(Some(e)) => report.errors.push(e),
            }
        }
        report
    }

    /// FCM's name for the message; `Err(None)`: the device is gone.
    async fn send_one(&self, key: &str, token: &str, push: &Push, access: &str) -> Result<String, Option<Error>> {
        let mut notification = json!({"title": push.title, "body": push.body});
        if let Some(image) = &push.image {
            notification["image"] = json!(image);
        }
        let mut data = json!({"wayfarer_key": key});
        let mut message = json!({"token": token, "notification": notification});
        if let Some(link) = &push.link {
            data["link"] = json!(link);
            if link.starts_with("https://") {
                message["webpush"] = json!({"fcm_options": {"link": link}});
            }
        }
        message["data"] = data;
        let response = self
            .http
            .post(self.url.clone())
            .bearer_auth(access)
            .header("content-type", "application/json")
            .body(json!({"message": message}).to_string())
            .send()
            .await
            .map_err(|e| Some(Error::Retryable(format!("push: {e}"))))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            let name = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["name"].as_str().map(str::to_owned));
            return name.ok_or_else(|| Some(Error::Retryable(format!("push: FCM answered {status} without a message name"))));
        }
        let refusal = serde_json::from_str::<Refusal>(&text).ok().map(|r| r.error);
        let code = refusal.as_ref().and_then(RefusalError::fcm_code).map(str::to_owned);
        if code.as_deref() == Some("UNREGISTERED") || (status.as_u16() == 404 && code.is_none()) {
            return Err(None);
        }
        let said = match &refusal {
            Some(r) => format!("{} {}", code.as_deref().unwrap_or(&r.status), r.message),
            None => text.chars().take(300).collect(),
        };
        let message = format!("push refused ({status}): {said}");
        if status.as_u16() == 401 {
            // The access token was revoked or expired early: mint another for the retry.
            *self.token.lock().await = None;
            return Err(Some(Error::Retryable(message)));
        }
        Err(Some(if status.is_server_error() || status.as_u16() == 429 { Error::Retryable(message) } else { Error::Permanent(message) }))
    }
}

/// The signed JWT asking `account.token_uri` for an access token to FCM (RS256, valid an hour).
pub(crate) fn assertion(account: &ServiceAccount, key: &ring::signature::RsaKeyPair) -> Result<String, Error> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = json!({"iss": account.client_email, "scope": SCOPE, "aud": account.token_uri, "iat": now, "exp": now + ASSERTION_SECS});
    let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signed.as_bytes(), &mut signature)
        .map_err(|e| Error::Permanent(format!("signing the push service account's assertion: {e}")))?;
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

impl crate::Channel for Client {
    type Message = Push;
    const NAME: &'static str = crate::PUSH;

    fn limits(&self) -> crate::Limits {
        self.limits
    }

    fn describe(&self) -> String {
        format!("Firebase Cloud Messaging at {}, project {}", self.url.origin().ascii_serialization(), self.account.project_id)
    }

    async fn send(&self, key: &str, push: &Push) -> Result<Value, Error> {
        self.send_all(key, push).await.outcome()
    }
}
