//! Real outside components for the tests: the `wayfarer` binary as a process, an aiosmtpd
//! SMTP server, and the real Segment SDKs (Python and Node), installed by `.ci/run`.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const START: &str = "2030-01-07T09:00:00Z";
pub const TOKEN: &str = "test-admin-token";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The Python with the e2e requirements, or `None` locally when it is not installed. CI
/// (`CI` set) fails instead of skipping.
pub fn python() -> Option<PathBuf> {
    let path = std::env::var_os("WAYFARER_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|| root().join(".venv/bin/python"));
    let ok = path.exists()
        && Command::new(&path).args(["-c", "import aiosmtpd, segment.analytics"]).status().map(|s| s.success()).unwrap_or(false);
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "CI must provide {} with e2e/requirements.txt installed", path.display());
        eprintln!("skipping: {} with e2e/requirements.txt is not installed (bash .ci/run installs it)", path.display());
        return None;
    }
    Some(path)
}

pub fn node_sdk_installed() -> bool {
    let ok = root().join("e2e/node_modules/@segment/analytics-node").exists();
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "CI must run `npm ci` in e2e/");
        eprintln!("skipping: e2e/node_modules is not installed (bash .ci/run installs it)");
    }
    ok
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Polls `f` until it returns `Some`, for at most `limit` of real time (waiting for another
/// process, never to let simulated time pass).
pub fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An aiosmtpd server writing every message into a maildir.
pub struct Smtp {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub body: String,
}

impl Smtp {
    pub fn start(python: &Path) -> Smtp {
        let dir = tempfile::tempdir().expect("maildir");
        let port = free_port();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        wait_for("aiosmtpd to listen", Duration::from_secs(20), || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
        Smtp { child, port, dir }
    }

    /// Every message received so far.
    pub fn mails(&self) -> Vec<Mail> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.dir.path().join("mail").join(sub)) else { continue };
            for entry in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
                let header = |name: &str| text.lines().find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned())).unwrap_or_default();
                out.push(Mail { to: header("To:"), subject: header("Subject:"), message_id: header("Message-ID:"), body: text.clone() });
            }
        }
        out.sort_by(|a, b| (&a.to, &a.subject).cmp(&(&b.to, &b.subject)));
        out
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `wayfarer` binary, run as a real process on a real socket.
pub struct Wayfarer {
    child: Option<Child>,
    pub port: u16,
    pub data_dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    pub http: reqwest::Client,
}

impl Wayfarer {
    pub fn start(smtp_port: Option<u16>) -> Wayfarer {
        Wayfarer::start_with(smtp_port, &[])
    }

    pub fn start_with(smtp_port: Option<u16>, extra: &[(&str, &str)]) -> Wayfarer {
        Wayfarer::start_on(free_port(), smtp_port, extra)
    }

    /// With `tracking.base_url` set to its own address (links, callbacks and their signatures
    /// as a deployment has them), and these variables.
    pub fn start_tracked(extra: &[(&str, &str)]) -> Wayfarer {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut extra = extra.to_vec();
        extra.push(("WAYFARER_TRACKING_BASE_URL", &base));
        Wayfarer::start_on(port, None, &extra)
    }

    fn start_on(port: u16, smtp_port: Option<u16>, extra: &[(&str, &str)]) -> Wayfarer {
        let mut env = vec![
            ("WAYFARER_ADMIN_TOKEN".to_owned(), TOKEN.to_owned()),
            ("WAYFARER_TESTING_MANUAL_CLOCK".to_owned(), START.to_owned()),
            ("WAYFARER_WEBHOOK_ALLOW_PRIVATE".to_owned(), "true".to_owned()),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        if let Some(port) = smtp_port {
            env.extend([
                ("WAYFARER_SMTP_HOST".to_owned(), "127.0.0.1".to_owned()),
                ("WAYFARER_SMTP_PORT".to_owned(), port.to_string()),
                ("WAYFARER_SMTP_TLS".to_owned(), "none".to_owned()),
                ("WAYFARER_SMTP_FROM".to_owned(), "Acme <hello@acme.test>".to_owned()),
            ]);
        }
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut w = Wayfarer { child: None, port, data_dir: tempfile::tempdir().expect("data dir"), env, http: reqwest::Client::new() };
        w.spawn();
        w
    }

    fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_wayfarer"))
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port), "--data-dir"])
            .arg(self.data_dir.path())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .spawn()
            .expect("start wayfarer");
        self.child = Some(child);
        let url = format!("{}/readyz", self.base());
        wait_for("wayfarer to be ready", Duration::from_secs(30), || http_ok(&url).then_some(()));
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `kill -9`: no shutdown, no flush.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        assert!(status.success());
        child.wait().expect("wait")
    }

    /// Starts again on the same data.
    pub fn start_again(&mut self) {
        self.spawn();
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}/api{path}", self.base())).bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let (status, out) = self.admin(method, path, Some(body)).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {out}");
        out
    }

    pub async fn write_key(&self, source: &str) -> String {
        let out = self.ok("POST", "/sources", json!({"id": source})).await;
        out["write_key"].as_str().expect("write key").to_owned()
    }

    pub async fn advance(&self, d: &str) {
        self.ok("POST", "/clock", json!({"advance": d})).await;
    }

    /// Sends raw Segment JSON to `/v1/{call}` with the write key.
    pub async fn send(&self, key: &str, call: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}/v1/{call}", self.base())).basic_auth(key, Some("")).json(body).send().await.expect("send");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

impl Drop for Wayfarer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A tiny blocking `GET` on a plain socket: is the answer a 200?
fn http_ok(url: &str) -> bool {
    use std::io::Read;
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut s) = std::net::TcpStream::connect(host) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(format!("GET /{path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").as_bytes()).is_err() {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200")
}

/// A fresh PostgreSQL database for one test, from `WAYFARER_TEST_POSTGRES_URL` (`None`
/// locally without it; CI fails instead).
pub fn postgres_database() -> Option<String> {
    let Ok(url) = std::env::var("WAYFARER_TEST_POSTGRES_URL") else {
        assert!(std::env::var_os("CI").is_none(), "CI must set WAYFARER_TEST_POSTGRES_URL");
        eprintln!("skipping: WAYFARER_TEST_POSTGRES_URL is not set");
        return None;
    };
    let name = format!("wayfarer_e2e_{}_{}", std::process::id(), free_port());
    // The synchronous client runs its own runtime: keep it off the test's.
    let (admin_url, sql) = (url.clone(), format!("CREATE DATABASE {name}"));
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls).expect("connect to PostgreSQL");
        client.batch_execute(&sql).expect("create database");
    })
    .join()
    .expect("create database");
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

/// Runs the real Python SDK (`e2e/send_python.py`) with `calls`.
pub fn send_python(python: &Path, host: &str, key: &str, calls: &Value, gzip: bool) {
    let mut cmd = Command::new(python);
    cmd.arg(root().join("e2e/send_python.py")).args([host, key]);
    if gzip {
        cmd.arg("--gzip");
    }
    run_with_stdin(cmd, calls);
}

/// Runs the real Node SDK (`e2e/send_node.mjs`) with `calls`.
pub fn send_node(host: &str, key: &str, calls: &Value) {
    let mut cmd = Command::new("node");
    cmd.arg(root().join("e2e/send_node.mjs")).args([host, key]);
    run_with_stdin(cmd, calls);
}

fn run_with_stdin(mut cmd: Command, input: &Value) {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start SDK client");
    child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("write calls");
    let out = child.wait_with_output().expect("SDK client");
    assert!(out.status.success(), "SDK client failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

/// The consultation journey of the seed scenario and its two templates.
pub async fn seed_consultation(w: &Wayfarer) {
    seed_templates(w).await;
    w.ok("POST", "/journeys", consultation()).await;
    w.ok("POST", "/journeys/consultation/publish", json!({})).await;
}

/// The seed scenario's two templates.
pub async fn seed_templates(w: &Wayfarer) {
    w.ok(
        "PUT",
        "/templates/consultation-invite",
        json!({
            "subject": "{{ traits.firstName }}, would a free consultation help?",
            "html": "<p>Hi {{ traits.firstName }}, you looked at {{ event.path }}. Book a free consultation.</p>",
            "text": "Hi {{ traits.firstName }}, book a free consultation."
        }),
    )
    .await;
    w.ok(
        "PUT",
        "/templates/consultation-reminder",
        json!({
            "subject": "A reminder for {{ traits.firstName }}",
            "text": "Hi {{ traits.firstName }}, the offer of a free consultation stands."
        }),
    )
    .await;
}

pub fn consultation() -> Value {
    serde_json::from_str(include_str!("../../../../examples/consultation.json")).expect("example journey")
}
