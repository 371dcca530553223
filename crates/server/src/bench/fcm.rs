//! A stand-in for Firebase Cloud Messaging (HTTP v1) and Google's OAuth2 token endpoint on
//! loopback, for the push figure and the tests: it mints access tokens for an RS256 assertion
//! signed by the service account's key (checking the signature, audience and scope), and takes
//! `messages:send` requests with one of them, answering as FCM does (a message name, or
//! `UNREGISTERED` for a device it was told is gone).

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
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// The key of the stand-in's service account: made for tests, not a secret.
pub const TEST_KEY: &str = include_str!("../../../../e2e/push-test-key.pem");

/// A notification the stand-in took.
#[derive(Debug, Clone, PartialEq)]
pub struct Notified {
    pub token: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    /// The message's `data.wayfarer_key`: the outbox entry's idempotency key.
    pub key: Option<String>,
}

struct Project {
    id: String,
    /// The token endpoint's URL (what assertions must be addressed to).
    token_uri: String,
    client_email: String,
    /// The service account's public key (RSAPublicKey, DER).
    public_key: Vec<u8>,
    minted: Mutex<HashSet<String>>,
    notified: Mutex<Vec<Notified>>,
    unregistered: Mutex<HashSet<String>>,
    held: tokio::sync::watch::Sender<bool>,
    next: AtomicU64,
}

/// The stand-in, serving until dropped.
pub struct Fcm {
    /// `http://127.0.0.1:{port}`: what `push.base_url` is set to.
    pub base_url: String,
    project: Arc<Project>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fcm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Fcm {
    pub async fn start(project_id: &str) -> anyhow::Result<Fcm> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let key = public_key()?;
        let project = Arc::new(Project {
            id: project_id.to_owned(),
            token_uri: format!("{base_url}/token"),
            client_email: format!("wayfarer@{project_id}.iam.gserviceaccount.test"),
            public_key: key,
            minted: Mutex::default(),
            notified: Mutex::default(),
            unregistered: Mutex::default(),
            held: tokio::sync::watch::Sender::new(false),
            next: AtomicU64::new(1),
        });
        let app =
            Router::new().route("/token", post(token)).route("/v1/projects/{project}/{action}", post(send)).with_state(project.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Fcm { base_url, project, task })
    }

    /// The service account key file's JSON: its token_uri is the stand-in's.
    pub fn service_account_json(&self) -> String {
        let p = &self.project;
        json!({"type": "service_account", "project_id": p.id, "client_email": p.client_email, "private_key": TEST_KEY,
               "token_uri": p.token_uri})
        .to_string()
    }

    pub fn notified(&self) -> Vec<Notified> {
        lock(&self.project.notified).clone()
    }

    pub fn count(&self) -> usize {
        lock(&self.project.notified).len()
    }

    /// Access tokens minted so far.
    pub fn minted(&self) -> usize {
        lock(&self.project.minted).len()
    }

    /// The app was uninstalled from this device: FCM answers `UNREGISTERED` for it.
    pub fn unregister(&self, token: &str) {
        lock(&self.project.unregistered).insert(token.to_owned());
    }

    /// Holds every notification unanswered (once taken) until `release`.
    pub fn hold(&self) {
        self.project.held.send_replace(true);
    }

    pub fn release(&self) {
        self.project.held.send_replace(false);
    }
}

/// The public key of the test key.
fn public_key() -> anyhow::Result<Vec<u8>> {
    use ring::signature::KeyPair as _;
    let body: String = TEST_KEY.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body)?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).map_err(|e| anyhow::anyhow!("the test key: {e}"))?;
    Ok(pair.public_key().as_ref().to_vec())
}

fn error(status: StatusCode, state: &str, message: &str, code: Option<&str>) -> Response {
    let mut body = json!({"error": {"code": status.as_u16(), "message": message, "status": state}});
    if let Some(code) = code {
        body["error"]["details"] = json!([{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]);
    }
    (status, axum::Json(body)).into_response()
}

/// `POST /token`: an access token for a valid assertion.
async fn token(State(p): State<Arc<Project>>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let invalid =
        |why: &str| (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "invalid_grant", "error_description": why}))).into_response();
    if field("grant_type") != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return invalid("grant_type");
    }
    let Some(assertion) = field("assertion") else { return invalid("no assertion") };
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else { return invalid("not a JWT") };
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &p.public_key);
    let signed = format!("{header}.{claims}");
    if URL_SAFE_NO_PAD.decode(signature).map_or(true, |s| key.verify(signed.as_bytes(), &s).is_err()) {
        return invalid("Invalid JWT Signature.");
    }
    let claims: Value = URL_SAFE_NO_PAD.decode(claims).ok().and_then(|c| serde_json::from_slice(&c).ok()).unwrap_or_default();
    if claims["aud"] != json!(p.token_uri) || claims["iss"] != json!(p.client_email) {
        return invalid("Invalid JWT: audience or issuer");
    }
    if claims["scope"] != json!("https://www.googleapis.com/auth/firebase.messaging") {
        return invalid("Invalid JWT: scope");
    }
    let token = format!("ya29.standin-{}", p.next.fetch_add(1, Ordering::SeqCst));
    lock(&p.minted).insert(token.clone());
    axum::Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

/// `POST /v1/projects/{project}/messages:send`.
async fn send(State(p): State<Arc<Project>>, Path((project, action)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    if project != p.id || action != "messages:send" {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "no such project", None);
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
    if !lock(&p.minted).contains(bearer) {
        return error(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", "Request had invalid authentication credentials.", None);
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let m = &body["message"];
    let Some(token) = m["token"].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            Some("INVALID_ARGUMENT"),
        );
    };
    if lock(&p.unregistered).contains(token) {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Requested entity was not found.", Some("UNREGISTERED"));
    }
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    lock(&p.notified).push(Notified {
        token: token.to_owned(),
        title: text(&m["notification"]["title"]),
        body: text(&m["notification"]["body"]),
        link: m["data"]["link"].as_str().map(str::to_owned),
        key: m["data"]["wayfarer_key"].as_str().map(str::to_owned),
    });
    let mut held = p.held.subscribe();
    let _ = held.wait_for(|held| !*held).await;
    let n = p.next.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"name": format!("projects/{}/messages/0:{n}", p.id)})).into_response()
}
