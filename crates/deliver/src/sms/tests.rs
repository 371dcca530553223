use std::time::Duration;

use serde_json::json;

use super::*;
use crate::testing::{Reply, server};
use crate::{Channel, Error, Limits};

fn options(port: u16, from: &str) -> SmsOptions {
    SmsOptions {
        base_url: format!("http://127.0.0.1:{port}/"),
        account_sid: "AC0001".into(),
        auth_token: "secret-token".into(),
        from: from.into(),
        timeout: Duration::from_secs(5),
        limits: Limits { concurrency: 4, rate_per_sec: 0.0 },
    }
}

fn reply(status: &str, body: &str) -> Reply {
    Reply::Fixed(format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()))
}

fn sms(to: &str) -> Sms {
    Sms {
        to: to.into(),
        body: "Your table is booked for 8 pm. Reply STOP to stop.".into(),
        status_callback: Some("https://w.test/t/s/7.x".into()),
    }
}

#[tokio::test]
async fn a_message_is_a_form_post_with_basic_auth_and_its_sid_comes_back() {
    let (port, seen) = server(reply("201 Created", r#"{"sid": "SM123", "status": "queued", "to": "+14155550100"}"#)).await;
    let client = Client::new(&options(port, "+15005550006")).expect("client");
    let sent = Channel::send(&client, "r1:2:0", &sms("+14155550100")).await.expect("sent");
    assert_eq!(
        sent,
        json!({"sid": "SM123", "status": "queued", "to": "+14155550100",
               "body": "Your table is booked for 8 pm. Reply STOP to stop.", "segments": 1})
    );
    let request = seen.lock().expect("seen")[0].clone();
    let head = request.head.to_ascii_lowercase();
    assert!(head.starts_with("post /2010-04-01/accounts/ac0001/messages.json http/1.1"), "{head}");
    // Basic auth: base64("AC0001:secret-token").
    assert!(head.contains("authorization: basic qumwmdaxonnly3jldc10b2tlbg=="), "{head}");
    assert!(head.contains("content-type: application/x-www-form-urlencoded"), "{head}");
    assert!(head.contains("idempotency-key: r1:2:0"), "{head}");
    let form: Vec<(String, String)> = form_urlencoded(&request.body);
    assert_eq!(
        form,
        [
            ("To".into(), "+14155550100".into()),
            ("From".into(), "+15005550006".into()),
            ("Body".into(), "Your table is booked for 8 pm. Reply STOP to stop.".into()),
            ("StatusCallback".into(), "https://w.test/t/s/7.x".into()),
        ]
    );
    assert_eq!(client.describe(), format!("Twilio Messages API at http://127.0.0.1:{port}, account AC0001, from +15005550006"));
    assert_eq!(client.limits(), Limits { concurrency: 4, rate_per_sec: 0.0 });
}

/// `a=1&b=%2B2` as pairs.
fn form_urlencoded(body: &[u8]) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("x:/?{}", String::from_utf8_lossy(body))).expect("url");
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

#[tokio::test]
async fn a_messaging_service_is_named_as_one() {
    let (port, seen) = server(reply("201 Created", r#"{"sid": "SM1"}"#)).await;
    let client = Client::new(&options(port, "MG0002")).expect("client");
    Channel::send(&client, "k", &Sms { status_callback: None, ..sms("+14155550100") }).await.expect("sent");
    let form = form_urlencoded(&seen.lock().expect("seen")[0].body);
    assert!(form.contains(&("MessagingServiceSid".into(), "MG0002".into())), "{form:?}");
    assert!(!form.iter().any(|(k, _)| k == "From" || k == "StatusCallback"), "{form:?}");
}

#[tokio::test]
async fn each_refusal_says_whether_a_retry_can_help() {
    let cases = [
        ("400 Bad Request", r#"{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}"#, "opted out"),
        ("400 Bad Request", r#"{"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}"#, "permanent"),
        ("401 Unauthorized", r#"{"code": 20003, "message": "Authenticate", "status": 401}"#, "permanent"),
        ("429 Too Many Requests", r#"{"code": 20429, "message": "Too Many Requests", "status": 429}"#, "retryable"),
        ("503 Service Unavailable", "<html>down</html>", "retryable"),
        ("201 Created", "not json", "retryable"),
    ];
    for (status, body, want) in cases {
        let (port, _) = server(reply(status, body)).await;
        let client = Client::new(&options(port, "+15005550006")).expect("client");
        let error = Channel::send(&client, "k", &sms("+14155550100")).await.expect_err(status);
        let kind = match &error {
            Error::OptedOut(_) => "opted out",
            Error::Permanent(_) => "permanent",
            Error::Retryable(_) => "retryable",
        };
        assert_eq!(kind, want, "{status} {body}: {error}");
    }
    let (port, _) = server(reply("400 Bad Request", r#"{"code": 21211, "message": "Invalid 'To' Phone Number"}"#)).await;
    let client = Client::new(&options(port, "+15005550006")).expect("client");
    let error = Channel::send(&client, "k", &sms("+1")).await.expect_err("refused");
    assert_eq!(error.to_string(), "SMS refused (400 Bad Request): error 21211: Invalid 'To' Phone Number");
    // Nothing listening: retryable.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let client = Client::new(&options(port, "+15005550006")).expect("client");
    assert!(Channel::send(&client, "k", &sms("+14155550100")).await.expect_err("no server").is_retryable());
}

#[test]
fn the_channel_refuses_to_start_without_its_account() {
    let mut o = options(1, "+15005550006");
    o.auth_token = " ".into();
    let Err(error) = Client::new(&o) else { panic!("refused") };
    assert!(error.to_string().starts_with("sms.auth_token is not set"), "{error}");
}

#[test]
fn the_signature_is_twilios_own_example() {
    // The example of Twilio's request validator (its documentation and its libraries' tests).
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let params: Vec<(String, String)> = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(twilio_signature("12345", url, &params), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    let reversed: Vec<_> = params.iter().rev().cloned().collect();
    assert!(verify_twilio_signature("12345", url, &reversed, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), "in any order");
    let mut changed = params.clone();
    changed[2].1 = "9999".into();
    assert!(!verify_twilio_signature("12345", url, &changed, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), "a changed value");
    assert!(!verify_twilio_signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=3", &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    assert!(!verify_twilio_signature("54321", url, &params, "RSOYDt4T1cUTdK1PDd93/VVr8B8="), "another token");
    assert!(!verify_twilio_signature("12345", url, &params, "not base64!"));
}

#[test]
fn segments_count_as_the_networks_do() {
    assert_eq!(segments(""), 0);
    assert_eq!(segments(&"a".repeat(160)), 1);
    assert_eq!(segments(&"a".repeat(161)), 2, "153 per part beyond one");
    assert_eq!(segments(&"a".repeat(306)), 2);
    assert_eq!(segments(&"a".repeat(307)), 3);
    assert_eq!(segments(&"€".repeat(80)), 1, "an extension character counts twice: 160");
    assert_eq!(segments(&"€".repeat(81)), 2);
    assert_eq!(segments(&"é".repeat(160)), 1, "é is in the GSM set");
    assert_eq!(segments(&"ł".repeat(70)), 1, "UCS-2: 70 in one part");
    assert_eq!(segments(&"ł".repeat(71)), 2, "67 per part beyond");
    assert_eq!(segments("Hi 👋"), 1, "an emoji is two UTF-16 units");
    assert_eq!(segments(&format!("{}👋", "a".repeat(69))), 2);
}
