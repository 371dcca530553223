//! Email throughput: a send to N people through Wayfarer into a local SMTP sink (aiosmtpd),
//! beside a bare SMTP client sending the same number of messages to the same sink over the
//! same number of connections (the ceiling).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{Figure, progress};

/// What the email figure measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Email {
    /// People each send went to (one email each).
    pub people: usize,
    /// SMTP connections: Wayfarer's pool and the bare client's alike.
    pub connections: usize,
    /// From the first event posted to the last email recorded as sent, per second.
    pub wayfarer_per_sec: Figure,
    /// The whole send's time, seconds (median of the runs).
    pub wayfarer_secs: Figure,
    /// The bare client into the same sink.
    pub ceiling_per_sec: Figure,
}

/// An aiosmtpd server that accepts every message and keeps none (`Sink`), stopped on drop.
pub(super) struct Sink {
    child: Child,
    pub(super) port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python to run aiosmtpd with: `python` if given, else `.venv/bin/python` (what `.ci/run`
/// installs), else `python3`; `None` when it cannot import aiosmtpd.
pub(super) fn find_python(python: Option<&Path>) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match python {
        Some(p) => vec![p.to_owned()],
        None => vec![PathBuf::from(".venv/bin/python"), PathBuf::from("python3")],
    };
    candidates.into_iter().find(|p| {
        Command::new(p).args(["-c", "import aiosmtpd"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
    })
}

impl Sink {
    pub(super) async fn start(python: &Path) -> anyhow::Result<Sink> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Sink"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting aiosmtpd with {}", python.display()))?;
        let sink = Sink { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(20), "aiosmtpd did not start listening on {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(sink)
    }
}

/// One SMTP reply (its last line), or an error for a reply of another class.
async fn reply(r: &mut BufReader<TcpStream>, expect: u8) -> anyhow::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        anyhow::ensure!(r.read_line(&mut line).await? > 0, "the SMTP server closed the connection");
        // `250-…` continues a multi-line reply; `250 …` ends it.
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    }
    anyhow::ensure!(line.as_bytes().first() == Some(&expect), "unexpected SMTP reply {line:?}");
    Ok(())
}

/// The ceiling: `n` messages — byte for byte the shape of Wayfarer's for the bench's template
/// (built by the same code, `deliver::wire_message`, before the clock starts) — sent over
/// `connections` persistent connections by a bare client, one exchange at a time like
/// Wayfarer's; messages per second.
pub(super) async fn bare_client(port: u16, connections: usize, n: usize) -> anyhow::Result<f64> {
    let messages: Vec<Vec<u8>> = (0..n).map(message).collect::<anyhow::Result<_>>()?;
    let messages = std::sync::Arc::new(messages);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (next, messages) = (next.clone(), messages.clone());
        tasks.push(tokio::spawn(async move {
            let mut r = BufReader::new(TcpStream::connect(("127.0.0.1", port)).await?);
            reply(&mut r, b'2').await?;
            r.get_mut().write_all(b"EHLO bench.test\r\n").await?;
            reply(&mut r, b'2').await?;
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(message) = messages.get(i) else { break };
                for (line, expect) in [
                    (b"MAIL FROM:<hello@acme.test>\r\n".to_vec(), b'2'),
                    (format!("RCPT TO:<p{i}@bench.test>\r\n").into_bytes(), b'2'),
                    (b"DATA\r\n".to_vec(), b'3'),
                ] {
                    r.get_mut().write_all(&line).await?;
                    reply(&mut r, expect).await?;
                }
                r.get_mut().write_all(message).await?;
                reply(&mut r, b'2').await?;
            }
            r.get_mut().write_all(b"QUIT\r\n").await?;
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// The message Wayfarer sends person `i` for the bench's template, as it goes after `DATA`.
fn message(i: usize) -> anyhow::Result<Vec<u8>> {
    let name = format!("p{i}");
    let rendered =
        deliver::Rendered { subject: format!("Hello {name}"), text: TEXT.replace("there", &name), html: HTML.replace("there", &name) };
    let email = deliver::Email { to: format!("{name}@bench.test"), rendered, unsubscribe: None };
    Ok(deliver::wire_message("Acme <hello@acme.test>", &format!("bench-{i}"), &email)?)
}

const TEXT: &str = "Hello there,\r\nYour cart is waiting for you. Come back and finish your order.\r\nThe Acme team";
const HTML: &str = "<p>Hello there,</p><p>Your cart is waiting for you. <a href=\"https://acme.test/cart\">Come back</a> and finish your order.</p><p>The Acme team</p>";

/// A send to `people` people through a fresh Wayfarer with `connections` SMTP connections to
/// the sink: the seconds from the first event posted until every email is recorded as sent.
pub(super) async fn wayfarer(sink: &Sink, connections: usize, people: usize, database_url: Option<&str>) -> anyhow::Result<f64> {
    let smtp = [
        ("WAYFARER_SMTP_HOST", "127.0.0.1".to_owned()),
        ("WAYFARER_SMTP_PORT", sink.port.to_string()),
        ("WAYFARER_SMTP_TLS", "none".to_owned()),
        ("WAYFARER_SMTP_FROM", "Acme <hello@acme.test>".to_owned()),
        ("WAYFARER_SMTP_CONCURRENCY", connections.to_string()),
    ];
    let template = json!({"subject": "Hello {{ traits.name }}", "text": TEXT.replace("there", "{{ traits.name }}"), "html": HTML.replace("there", "{{ traits.name }}")});
    let send = super::Send { what: "email", env: &smtp, template, channel: "email", people, database_url };
    send.time(|p| format!(r#""email":"p{p}@bench.test""#)).await
}

/// The figure over `runs` runs, the ceiling measured in each run.
pub(super) async fn measure(python: &Path, runs: usize, people: usize, database_url: Option<&str>) -> anyhow::Result<Email> {
    const CONNECTIONS: usize = 16;
    let sink = Sink::start(python).await?;
    let (mut ours, mut secs, mut ceiling) = (Vec::new(), Vec::new(), Vec::new());
    for run in 1..=runs.max(1) {
        progress(&format!("run {run}/{runs}: email ceiling, a bare SMTP client"));
        ceiling.push(bare_client(sink.port, CONNECTIONS, people).await?);
        progress(&format!("run {run}/{runs}: email, a send to {people} people"));
        let s = wayfarer(&sink, CONNECTIONS, people, database_url).await?;
        secs.push(s);
        ours.push(people as f64 / s);
    }
    Ok(Email {
        people,
        connections: CONNECTIONS,
        wayfarer_per_sec: Figure::of(ours),
        wayfarer_secs: Figure::of(secs),
        ceiling_per_sec: Figure::of(ceiling),
    })
}
