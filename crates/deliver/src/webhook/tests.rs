use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::dns::Resolve;

use super::Call;
use super::client::*;
use super::config::*;
use crate::Error;
use crate::testing::{Reply, server};
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// A lookup answering from `table` (anything else: no such name), and how often it was asked.
fn table(entries: &[(&str, &[&str])]) -> (Lookup, Arc<AtomicUsize>) {
    let map: HashMap<String, Vec<IpAddr>> =
        entries.iter().map(|(name, ips)| (name.to_string(), ips.iter().map(|ip| ip.parse().expect("address")).collect())).collect();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let lookup: Lookup = Arc::new(move |host: &str| {
        counter.fetch_add(1, Ordering::SeqCst);
        let found =
            map.get(host).cloned().ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host}: no such name")));
        Box::pin(async move { found })
    });
    (lookup, asked)
}

fn client(allow_private: bool, lookup: Lookup) -> Client {
    let options = WebhookOptions { allow_private, timeout: Duration::from_secs(10), ..Default::default() };
    Client::with_lookup(&options, lookup).expect("client")
}

const OK_JSON: &str = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"score\":7}";

#[test]
fn every_address_that_is_not_public_unicast_is_forbidden() {
    let cases = [
        ("127.0.0.1", Some("loopback")),
        ("127.255.0.9", Some("loopback")),
        ("10.1.2.3", Some("private")),
        ("172.16.0.1", Some("private")),
        ("172.31.255.255", Some("private")),
        ("172.32.0.1", None),
        ("192.168.1.1", Some("private")),
        ("169.254.169.254", Some("link-local")),
        ("100.64.0.1", Some("shared address space (CGNAT)")),
        ("100.127.255.255", Some("shared address space (CGNAT)")),
        ("100.128.0.1", None),
        ("0.0.0.0", Some("\"this network\"")),
        ("255.255.255.255", Some("reserved or broadcast")),
        ("240.0.0.1", Some("reserved or broadcast")),
        ("198.18.0.1", Some("benchmarking")),
        ("198.19.255.255", Some("benchmarking")),
        ("198.20.0.1", None),
        ("192.0.0.8", Some("IETF protocol assignments")),
        ("192.0.2.1", Some("documentation")),
        ("198.51.100.1", Some("documentation")),
        ("203.0.113.1", Some("documentation")),
        ("224.0.0.1", Some("multicast")),
        ("239.255.255.250", Some("multicast")),
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("::1", Some("loopback")),
        ("::", Some("unspecified")),
        ("::ffff:127.0.0.1", Some("loopback")),
        ("::ffff:10.0.0.1", Some("private")),
        ("::ffff:8.8.8.8", None),
        ("::127.0.0.1", Some("loopback")),
        ("::8.8.8.8", Some("IPv4-compatible")),
        ("64:ff9b::7f00:1", Some("loopback")),
        ("64:ff9b::a9fe:a9fe", Some("link-local")),
        ("64:ff9b::808:808", None),
        ("64:ff9b:1::1", Some("reserved (not global unicast)")),
        ("2002:7f00:1::", Some("loopback")),
        ("2002:c0a8:101::1", Some("private")),
        ("2002:808:808::1", None),
        ("fc00::1", Some("unique local")),
        ("fd12:3456::1", Some("unique local")),
        ("fe80::1", Some("link-local")),
        ("fec0::1", Some("reserved (not global unicast)")),
        ("ff02::1", Some("multicast")),
        ("100::1", Some("reserved (not global unicast)")),
        ("2001:db8::1", Some("documentation")),
        ("3fff::1", Some("documentation")),
        ("2001::1", Some("IETF protocol assignments (Teredo, benchmarking ...)")),
        ("2606:4700:4700::1111", None),
        ("2a00:1450:4001::200e", None),
    ];
    for (ip, expected) in cases {
        assert_eq!(forbidden(ip.parse().expect("address")), expected, "{ip}");
    }
}

#[tokio::test]
async fn ip_literals_are_refused_before_any_lookup() {
    let (lookup, asked) = table(&[]);
    let c = client(false, lookup);
    let urls = [
        ("http://127.0.0.1:9/x", "127.0.0.1"),
        ("http://[::1]/", "[::1]"),
        ("http://[::ffff:127.0.0.1]/", "[::ffff:7f00:1]"),
        ("http://[64:ff9b::a00:1]/", "[64:ff9b::a00:1]"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://2130706433/", "127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[fd00::1]:8080/", "[fd00::1]"),
    ];
    for (url, host) in urls {
        let err = c.call("k", &post(url, json!({}), 0)).await.expect_err(url);
        assert_eq!(
            err,
            Error::Permanent(format!("webhook to private address {host} refused (set webhook.allow_private to allow)")),
            "{url}"
        );
    }
    assert_eq!(asked.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_name_resolving_to_a_private_address_is_refused_at_connect_time() {
    let (port, seen) = server(Reply::Fixed(OK_JSON.into())).await;
    let (lookup, asked) = table(&[("internal.example", &["127.0.0.1"])]);
    let url = format!("http://internal.example:{port}/hook");

    let err = client(false, lookup.clone()).call("k", &post(&url, json!({}), 0)).await.expect_err("refused");
    assert_eq!(
        err,
        Error::Permanent(
            "webhook to internal.example refused: it resolves to private address 127.0.0.1 (loopback) \
             (set webhook.allow_private to allow)"
                .into()
        )
    );
    assert!(seen.lock().expect("seen").is_empty(), "nothing reached the server");
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    // The same name through the same resolver, with the guard off: the call arrives.
    let out = client(true, lookup).call("k", &post(&url, json!({}), 0)).await.expect("allowed");
    assert_eq!(out["json"], json!({"score": 7}));
    assert_eq!(seen.lock().expect("seen").len(), 1);
    assert_eq!(asked.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_guard_keeps_only_the_public_addresses_of_a_name_and_names_the_refused_ones() {
    let (lookup, _) = table(&[
        ("mixed.example", &["10.0.0.1", "8.8.8.8", "::ffff:192.168.0.1", "2606:4700:4700::1111", "fe80::1"]),
        ("private.example", &["10.0.0.1", "::ffff:192.168.0.1", "fe80::1"]),
    ]);
    let guard = Guard { lookup: lookup.clone(), allow_private: false };
    let name = reqwest::dns::Name::from_str("mixed.example").expect("name");
    let kept: Vec<SocketAddr> = guard.resolve(name).await.expect("resolves").collect();
    assert_eq!(kept, ["8.8.8.8:0".parse().expect("addr"), "[2606:4700:4700::1111]:0".parse().expect("addr")]);

    let name = reqwest::dns::Name::from_str("private.example").expect("name");
    let Err(err) = guard.resolve(name).await else { panic!("private.example must be refused") };
    assert_eq!(
        err.to_string(),
        "webhook to private.example refused: it resolves to private address 10.0.0.1 (private), ::ffff:192.168.0.1 (private), \
         fe80::1 (link-local) (set webhook.allow_private to allow)"
    );
    let err = client(false, lookup).call("k", &post("https://private.example/x", json!({}), 0)).await.expect_err("refused");
    assert!(!err.is_retryable() && err.to_string().contains("fe80::1 (link-local)"), "{err}");
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_retryable() {
    let (lookup, _) = table(&[]);
    let err = client(false, lookup).call("k", &post("https://nowhere.example/x", json!({}), 0)).await.expect_err("no such name");
    assert!(err.is_retryable() && err.to_string().contains("nowhere.example: no such name"), "{err}");
}

#[tokio::test]
async fn redirects_are_permanent_failures_not_followed() {
    let reply = "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/elsewhere\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
    let (port, seen) = server(Reply::Fixed(reply.into())).await;
    let (lookup, _) = table(&[]);
    let err = client(true, lookup).call("k", &post(&format!("http://127.0.0.1:{port}/hook"), json!({}), 0)).await.expect_err("redirect");
    assert_eq!(
        err,
        Error::Permanent(
            "webhook redirected (302 Found) to http://127.0.0.1:1/elsewhere; redirects are not followed: use the final URL".into()
        )
    );
    assert_eq!(seen.lock().expect("seen").len(), 1);
}

#[tokio::test]
async fn an_endless_response_body_is_read_only_up_to_the_cap() {
    let (tx, mut written) = tokio::sync::mpsc::unbounded_channel();
    let (port, _) = server(Reply::Endless(tx)).await;
    let (lookup, _) = table(&[]);
    let out = client(true, lookup).call("k", &post(&format!("http://127.0.0.1:{port}/hook"), json!({}), 0)).await.expect("answered");
    assert_eq!(out["status"], 200);
    assert_eq!(out["truncated"], true);
    assert_eq!(out["response"], "a".repeat(500));
    assert!(out.get("json").is_none());
    // The client hung up after the cap: the server could write little more than the socket
    // buffers hold (reading on until the timeout would take gigabytes).
    let written = written.recv().await.expect("the server stops writing");
    assert!(written < 32 << 20, "{written} bytes written");
}

#[tokio::test]
async fn a_large_error_body_is_cut_too() {
    let body = "x".repeat(4 * MAX_RESPONSE_BYTES);
    let reply = format!("HTTP/1.1 500 Oops\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
    let (port, _) = server(Reply::Fixed(reply)).await;
    let (lookup, _) = table(&[]);
    let err = client(true, lookup).call("k", &post(&format!("http://127.0.0.1:{port}/hook"), json!({}), 0)).await.expect_err("500");
    assert_eq!(err, Error::Retryable(format!("webhook answered 500 Internal Server Error: {}", "x".repeat(500))));
}

#[tokio::test]
async fn calls_carry_the_standard_webhooks_headers_over_the_body_sent() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let (port, seen) = server(Reply::Fixed(OK_JSON.into())).await;
    let (lookup, _) = table(&[]);
    let options = WebhookOptions { allow_private: true, secret: Some(secret.into()), ..Default::default() };
    let c = Client::with_lookup(&options, lookup).expect("client");
    c.call("run-1-2-0", &post(&format!("http://127.0.0.1:{port}/hook"), json!({"user": "Kai"}), 1_700_000_000)).await.expect("sent");
    let received = seen.lock().expect("seen")[0].clone();
    let header = |name: &str| {
        received.head.lines().find_map(|l| l.split_once(": ").filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_owned()))
    };
    assert_eq!(received.body, br#"{"user":"Kai"}"#);
    assert_eq!(header("webhook-id").as_deref(), Some("run-1-2-0"));
    assert_eq!(header("webhook-timestamp").as_deref(), Some("1700000000"));
    let expected = signature(secret, "run-1-2-0", 1_700_000_000, &received.body).expect("secret");
    assert_eq!(header("webhook-signature"), Some(expected));
}

#[test]
fn signatures_match_the_standard_webhooks_test_vector() {
    // The official libraries' test vector.
    let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
    let sig = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);
    assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

#[test]
fn secrets_must_be_whsec_and_base64_of_at_least_24_bytes() {
    let padded = signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, b"{}").expect("padded");
    let key32 = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    assert!(signature(key32, "id", 1, b"{}").is_ok());
    assert_eq!(signature(key32.trim_end_matches('='), "id", 1, b"{}"), signature(key32, "id", 1, b"{}"), "padding is optional");
    assert_eq!(signature(" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", "id", 1, b"{}"), Ok(padded), "spaces around are ignored");
    for (secret, says) in [
        ("s3cret", "does not start with \"whsec_\""),
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "does not start with \"whsec_\""),
        ("whsec_not base64!", "is not base64 after \"whsec_\""),
        ("whsec_c2hvcnQ=", "key is 5 bytes, too short"),
        ("whsec_", "key is 0 bytes, too short"),
    ] {
        let err = WebhookSecret::parse(secret).expect_err(secret);
        assert!(!err.is_retryable() && err.to_string().contains(says) && err.to_string().contains("openssl rand"), "{secret}: {err}");
    }
    let err = Client::new(&WebhookOptions { secret: Some("s3cret".into()), ..Default::default() }).err().expect("refused at configuration");
    assert!(err.to_string().starts_with("the webhook secret does not start with \"whsec_\""), "{err}");
}

/// A POST of `body` to `url` at `now_secs`.
fn post(url: &str, body: serde_json::Value, now_secs: i64) -> Call {
    Call { url: url.to_owned(), method: "POST".into(), body, now_secs }
}
