//! Webhook signatures checked by an independent implementation: the official Standard Webhooks
//! verifier (the `standardwebhooks` package from PyPI, in the repository's `.venv`, installed by
//! `cargo xtask test` from e2e/requirements.txt), on exactly what a loopback server received.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use deliver::{Deliverer, Options, WebhookOptions};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const SECRET: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The Python with the e2e requirements, or `None` locally when it is not installed. CI
/// (`CI` set) fails instead of skipping.
fn python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = std::env::var_os("WAYFARER_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|| root.join(".venv/bin/python"));
    let ok = path.exists() && Command::new(&path).args(["-c", "import standardwebhooks"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "CI must provide {} with e2e/requirements.txt installed", path.display());
        eprintln!("skipping: {} with e2e/requirements.txt is not installed (bash .ci/run installs it)", path.display());
        return None;
    }
    Some(path)
}

const VERIFY: &str = r#"
import json, sys
from standardwebhooks import Webhook
d = json.load(sys.stdin)
try:
    Webhook(d["secret"]).verify(d["body"], d["headers"])
except Exception as e:
    print(f"{type(e).__name__}: {e}")
    sys.exit(1)
print("verified")
"#;

/// What `standardwebhooks.Webhook(secret).verify(body, headers)` says.
fn verify(python: &Path, headers: &BTreeMap<String, String>, body: &str) -> Result<String, String> {
    let mut child = Command::new(python)
        .args(["-c", VERIFY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let input = json!({"secret": SECRET, "headers": headers, "body": body}).to_string();
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("python ends");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout).trim(), String::from_utf8_lossy(&out.stderr).trim());
    if out.status.success() { Ok(said) } else { Err(said) }
}

/// Accepts one request on loopback, answers 200, and hands over its headers (names lowercased)
/// and body.
async fn receive_one() -> (String, oneshot::Receiver<(BTreeMap<String, String>, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().expect("addr").port());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.expect("accept");
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        let (head_end, length) = loop {
            let n = sock.read(&mut tmp).await.expect("read");
            assert!(n > 0, "request cut short");
            buf.extend_from_slice(&tmp[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                let length = head.lines().find_map(|l| l.strip_prefix("content-length:")).map_or(0, |v| v.trim().parse().expect("length"));
                break (i + 4, length);
            }
        };
        while buf.len() < head_end + length {
            let n = sock.read(&mut tmp).await.expect("read");
            assert!(n > 0, "body cut short");
            buf.extend_from_slice(&tmp[..n]);
        }
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let headers =
            head.lines().skip(1).filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
        let _ = tx.send((headers.collect(), buf[head_end..head_end + length].to_vec()));
    });
    (url, rx)
}

#[tokio::test]
async fn the_official_verifier_accepts_our_signature_and_rejects_a_tampered_body() {
    let Some(python) = python() else { return };
    let (url, received) = receive_one().await;
    let options = Options {
        smtp: None,
        sms: None,
        push: None,
        webhook: WebhookOptions { allow_private: true, secret: Some(SECRET.into()), ..Default::default() },
        tracking: None,
    };
    let deliverer = Deliverer::new(&options).expect("deliverer");
    // The verifier accepts timestamps within 5 minutes of its own clock.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs() as i64;
    let ctx = json!({"traits": {"firstName": "Zoë <&> \"Kai\""}, "event": {"plan": "pro"}});
    let body = json!({"user": "{{ traits.firstName }}", "plan": "{{ event.plan }}", "n": 3});
    deliverer.webhook("run-7-3-0", &url, "POST", Some(&body), &ctx, now).await.expect("sent");
    let (headers, body) = received.await.expect("received");
    let body = String::from_utf8(body).expect("UTF-8 body");
    assert!(headers["webhook-signature"].starts_with("v1,"), "{headers:?}");

    assert_eq!(verify(&python, &headers, &body), Ok("verified".into()));

    let tampered = body.replace("pro", "enterprise");
    assert_ne!(tampered, body);
    let err = verify(&python, &headers, &tampered).expect_err("a tampered body fails");
    assert!(err.contains("No matching signature"), "{err}");

    let mut other_id = headers.clone();
    other_id.insert("webhook-id".into(), "run-7-3-1".into());
    assert!(verify(&python, &other_id, &body).is_err(), "the id is signed too");
}
