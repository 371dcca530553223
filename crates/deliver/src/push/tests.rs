use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::*;
use crate::testing::{Reply, server};
use crate::{Channel, Error, Limits};

const KEY: &str = include_str!("../../../../e2e/push-test-key.pem");

fn account(token_port: u16) -> ServiceAccount {
    ServiceAccount {
        project_id: "acme-app".into(),
        client_email: "wayfarer@acme-app.iam.gserviceaccount.test".into(),
        private_key: KEY.into(),
        token_uri: format!("http://127.0.0.1:{token_port}/token"),
    }
}

fn reply(status: &str, body: &str) -> Reply {
    Reply::Fixed(format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()))
}

type Log = std::sync::Arc<std::sync::Mutex<Vec<crate::testing::Received>>>;

/// A client whose token_uri and FCM are loopback servers answering alike: the client, what
/// each server received, and the token_uri.
async fn started(fcm: Reply) -> (Client, Log, Log, String) {
    let (token_port, minted) =
        server(reply("200 OK", r#"{"access_token": "ya29.test", "expires_in": 3599, "token_type": "Bearer"}"#)).await;
    let (fcm_port, sent) = server(fcm).await;
    let options = PushOptions {
        base_url: format!("http://127.0.0.1:{fcm_port}"),
        service_account: account(token_port),
        timeout: Duration::from_secs(5),
        limits: Limits { concurrency: 4, rate_per_sec: 0.0 },
    };
    let token_uri = options.service_account.token_uri.clone();
    (Client::new(&options).expect("client"), minted, sent, token_uri)
}

fn push(tokens: &[&str]) -> Push {
    Push {
        tokens: tokens.iter().map(|t| (*t).to_owned()).collect(),
        title: "Your cart".into(),
        body: "Still thinking it over?".into(),
        link: Some("https://shop.test/cart".into()),
        image: None,
    }
}

#[tokio::test]
async fn each_device_gets_the_notification_with_an_access_token_from_a_signed_assertion() {
    let (client, minted, sent, token_uri) = started(reply("200 OK", r#"{"name": "projects/acme-app/messages/0:1"}"#)).await;
    let outcome = Channel::send(&client, "run-1-2-0", &push(&["tok-a", "tok-b"])).await.expect("sent");
    assert_eq!(
        outcome,
        json!({"devices": 2, "sent": ["projects/acme-app/messages/0:1", "projects/acme-app/messages/0:1"], "unregistered": 0, "errors": []})
    );
    Channel::send(&client, "run-1-3-0", &push(&["tok-a"])).await.expect("sent");
    let minted = minted.lock().expect("minted").clone();
    assert_eq!(minted.len(), 1, "the access token is kept for the next sends");
    // The assertion: an RS256 JWT for FCM's scope, signed by the service account's key.
    let form: Vec<(String, String)> = form_urlencoded(&minted[0].body);
    assert_eq!(form[0], ("grant_type".into(), "urn:ietf:params:oauth:grant-type:jwt-bearer".into()));
    let jwt = &form[1].1;
    let parts: Vec<&str> = jwt.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    assert_eq!(
        (&claims["iss"], &claims["scope"], &claims["aud"]),
        (
            &json!("wayfarer@acme-app.iam.gserviceaccount.test"),
            &json!("https://www.googleapis.com/auth/firebase.messaging"),
            &json!(token_uri)
        )
    );
    assert_eq!(claims["exp"].as_u64().unwrap_or(0) - claims["iat"].as_u64().unwrap_or(0), 3600);
    let public = account(0).key_pair().expect("key").public().as_ref().to_vec();
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public);
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
    assert!(key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).is_ok(), "signed by the service account's key");
    // The messages: one per device, the key in their data.
    let sent = sent.lock().expect("sent").clone();
    assert_eq!(sent.len(), 3);
    assert!(sent[0].head.starts_with("POST /v1/projects/acme-app/messages:send HTTP/1.1"), "{}", sent[0].head);
    assert!(sent[0].head.to_ascii_lowercase().contains("authorization: bearer ya29.test"), "{}", sent[0].head);
    let body: Value = serde_json::from_slice(&sent[1].body).expect("json");
    assert_eq!(
        body,
        json!({"message": {"token": "tok-b", "notification": {"title": "Your cart", "body": "Still thinking it over?"},
               "data": {"wayfarer_key": "run-1-2-0", "link": "https://shop.test/cart"},
               "webpush": {"fcm_options": {"link": "https://shop.test/cart"}}}})
    );
    let described = client.describe();
    assert!(
        described.starts_with("Firebase Cloud Messaging at http://127.0.0.1:") && described.ends_with(", project acme-app"),
        "{described}"
    );
}

fn form_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("x:/?{}", String::from_utf8_lossy(body))).expect("url");
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[tokio::test]
async fn an_unregistered_device_is_reported_gone_and_other_refusals_say_whether_a_retry_helps() {
    let unregistered = r#"{"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}"#;
    let (client, _, _, _) = started(reply("404 Not Found", unregistered)).await;
    let report = client.send_all("k", &push(&["old-a", "old-b"])).await;
    assert_eq!((report.sent.len(), report.gone.clone()), (0, vec!["old-a".to_owned(), "old-b".to_owned()]));
    assert_eq!(report.outcome(), Err(Error::Permanent("every device of the person is unregistered (2 removed)".into())));
    let cases = [
        (
            "503 Service Unavailable",
            r#"{"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}"#,
            true,
        ),
        (
            "429 Too Many Requests",
            r#"{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "QUOTA_EXCEEDED"}]}}"#,
            true,
        ),
        (
            "401 Unauthorized",
            r#"{"error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}}"#,
            true,
        ),
        (
            "400 Bad Request",
            r#"{"error": {"code": 400, "message": "The registration token is not a valid FCM registration token", "status": "INVALID_ARGUMENT",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"}]}}"#,
            false,
        ),
    ];
    for (status, body, retryable) in cases {
        let (client, _, _, _) = started(reply(status, body)).await;
        let error = Channel::send(&client, "k", &push(&["t"])).await.expect_err(status);
        assert_eq!(error.is_retryable(), retryable, "{status}: {error}");
    }
    let (client, _, _, _) = started(reply(
        "400 Bad Request",
        r#"{"error": {"code": 400, "message": "The registration token is not a valid FCM registration token", "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"}]}}"#,
    ))
    .await;
    let error = Channel::send(&client, "k", &push(&["t"])).await.expect_err("refused");
    assert_eq!(
        error.to_string(),
        "push refused (400 Bad Request): INVALID_ARGUMENT The registration token is not a valid FCM registration token"
    );
}

#[test]
fn a_key_file_that_is_not_a_service_account_key_says_why() {
    let good = json!({"type": "service_account", "project_id": "p", "client_email": "a@p.test", "private_key": KEY, "token_uri": "https://oauth2.googleapis.com/token"});
    assert!(ServiceAccount::parse(&good.to_string()).is_ok());
    let error = |v: Value| ServiceAccount::parse(&v.to_string()).expect_err("refused").to_string();
    let mut no_project = good.clone();
    no_project["project_id"] = json!("");
    assert_eq!(error(no_project), "the push service account key has no project_id");
    let mut bad_key = good.clone();
    bad_key["private_key"] = json!("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    assert!(error(bad_key).starts_with("the push service account's private_key is not an RSA key in PKCS#8"));
    assert!(error(json!({"project_id": "p"})).starts_with("the push service account key is not a Google service account JSON key"));
}
