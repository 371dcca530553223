//! The SMTP client: lettre's SMTP protocol over connections Wayfarer opens and pools itself.
//!
//! Why not lettre's own pool: it opens sockets without `TCP_NODELAY` and writes a message's
//! final `.` apart from its body, so every email waits for the server's delayed ACK (about
//! 40 ms on Linux), capping a connection near 25 emails a second; and it sends a `NOOP`
//! before every reuse. Here what lettre writes is held until it waits for the reply and then
//! sent at once (`Coalesce`, on a `TCP_NODELAY` socket), and a pooled connection is checked
//! with `NOOP` only after it sat idle; a reused connection that turns out dead is replaced
//! and the message sent once more on a fresh one (with the same `Message-ID`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::Message;
use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use serde_json::{Value, json};
use tokio::net::TcpStream;

use super::Email;
use super::config::{SmtpOptions, TlsMode};
use crate::Error;

/// A pooled connection idle longer than this is checked (`NOOP`) before it is used again.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(10);

pub(crate) struct Mailer {
    options: SmtpOptions,
    from: Mailbox,
    hello: ClientId,
    /// Implicit TLS (port 465).
    tls: Option<tokio_rustls::TlsConnector>,
    idle: std::sync::Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

impl Mailer {
    pub(crate) fn new(o: &SmtpOptions) -> Result<Mailer, Error> {
        let from = o.from.parse().map_err(|e| Error::Permanent(format!("smtp.from {:?} is not an address: {e}", o.from)))?;
        let tls = match o.tls {
            TlsMode::Tls => Some(tls_connector()?),
            TlsMode::None | TlsMode::StartTls => None,
        };
        Ok(Mailer { options: o.clone(), from, hello: ClientId::default(), tls, idle: std::sync::Mutex::default() })
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(AsyncSmtpConnection, Instant)>> {
        // Plain pushes and pops: consistent whatever panicked while holding it.
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new connection: TCP (no Nagle delay), TLS as configured, EHLO, and AUTH.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Error> {
        let o = &self.options;
        let network = |e: &dyn std::fmt::Display| Error::Retryable(format!("smtp: connecting to {}:{}: {e}", o.host, o.port));
        let tcp = tokio::time::timeout(o.timeout, TcpStream::connect((o.host.as_str(), o.port)))
            .await
            .map_err(|_| network(&"timed out"))?
            .map_err(|e| network(&e))?;
        tcp.set_nodelay(true).map_err(|e| network(&e))?;
        let smtp = |e: lettre::transport::smtp::Error| smtp_error(&e);
        let mut conn = match (&self.tls, o.tls) {
            (Some(connector), _) => {
                let name = tokio_rustls::rustls::pki_types::ServerName::try_from(o.host.clone())
                    .map_err(|e| Error::Permanent(format!("smtp.host {:?}: {e}", o.host)))?;
                let stream = connector.connect(name, tcp).await.map_err(|e| network(&e))?;
                AsyncSmtpConnection::connect_with_transport(Box::new(Coalesce::new(Tls(stream))), &self.hello).await.map_err(smtp)?
            }
            (None, TlsMode::StartTls) => {
                let mut conn =
                    AsyncSmtpConnection::connect_with_transport(Box::new(Coalesce::new(tcp)), &self.hello).await.map_err(smtp)?;
                let params = TlsParameters::new(o.host.clone()).map_err(|e| Error::Permanent(format!("smtp TLS: {e}")))?;
                conn.starttls(params, &self.hello).await.map_err(smtp)?;
                conn
            }
            (None, _) => AsyncSmtpConnection::connect_with_transport(Box::new(Coalesce::new(tcp)), &self.hello).await.map_err(smtp)?,
        };
        if let (Some(u), Some(p)) = (&o.username, &o.password) {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &Credentials::new(u.clone(), p.clone())).await.map_err(smtp)?;
        }
        Ok(conn)
    }

    /// A pooled connection that is still alive, if there is one.
    async fn pooled(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let (mut conn, since) = self.idle().pop()?;
            if conn.has_broken() {
                continue;
            }
            if since.elapsed() < CHECK_AFTER_IDLE || conn.test_connected().await {
                return Some(conn);
            }
            conn.abort().await;
        }
    }

    fn recycle(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle();
        if !conn.has_broken() && idle.len() < self.options.limits.concurrency.max(1) {
            idle.push((conn, Instant::now()));
        }
    }

    pub(crate) async fn send(&self, key: &str, email: &Email) -> Result<Value, Error> {
        let (envelope, bytes, message_id) = build(&self.from, key, email)?;
        let Email { to, rendered: m, .. } = email;
        let response = match self.pooled().await {
            Some(mut conn) => match conn.send(&envelope, &bytes).await {
                // The server closed the connection while it sat in the pool: once more on a
                // fresh one (the same Message-ID, should the server have taken it after all).
                Err(e) if conn.has_broken() && !e.is_permanent() => {
                    tracing::debug!(error = %e, "a pooled SMTP connection was dead; sending on a new one");
                    self.send_on_new(&envelope, &bytes).await?
                }
                result => {
                    self.recycle(conn);
                    result.map_err(|e| smtp_error(&e))?
                }
            },
            None => self.send_on_new(&envelope, &bytes).await?,
        };
        let mut out = m.describe(to, Some(&self.from.to_string()));
        out["message_id"] = json!(message_id);
        out["smtp"] = json!(format!("{} {}", response.code(), response.message().collect::<Vec<_>>().join(" ")));
        Ok(out)
    }

    async fn send_on_new(&self, envelope: &Envelope, bytes: &[u8]) -> Result<lettre::transport::smtp::response::Response, Error> {
        let mut conn = self.connect().await?;
        let result = conn.send(envelope, bytes).await;
        self.recycle(conn);
        result.map_err(|e| smtp_error(&e))
    }
}

/// The envelope, the message as sent (before SMTP's dot-stuffing) and its `Message-ID`.
fn build(from: &Mailbox, key: &str, email: &Email) -> Result<(Envelope, Vec<u8>, String), Error> {
    let Email { to, rendered: m, unsubscribe } = email;
    let to_box: Mailbox = to.parse().map_err(|e| Error::Permanent(format!("{to:?} is not an email address: {e}")))?;
    let message_id = format!("<{key}@wayfarer>");
    let mut builder = Message::builder().message_id(Some(message_id.clone())).from(from.clone()).to(to_box.clone());
    if let Some(url) = unsubscribe {
        use lettre::message::header::{HeaderName, HeaderValue};
        builder = builder
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click".into()));
    }
    let message = builder
        .subject(m.subject.clone())
        .multipart(MultiPart::alternative_plain_html(m.text.clone(), m.html.clone()))
        .map_err(|e| Error::Permanent(format!("building the message: {e}")))?;
    let envelope =
        Envelope::new(Some(from.email.clone()), vec![to_box.email]).map_err(|e| Error::Permanent(format!("building the envelope: {e}")))?;
    Ok((envelope, message.formatted(), message_id))
}

/// The message Wayfarer sends for `email` from `from`, with idempotency key `key`, as it goes
/// after SMTP's `DATA` (dot-stuffed, ended by the line `.`): what the benchmark's bare client
/// sends, so its ceiling is for the same bytes.
pub fn wire_message(from: &str, key: &str, email: &Email) -> Result<Vec<u8>, Error> {
    let from: Mailbox = from.parse().map_err(|e| Error::Permanent(format!("{from:?} is not an email address: {e}")))?;
    let (_, bytes, _) = build(&from, key, email)?;
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut line_start = true;
    for b in bytes {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    Ok(out)
}

impl crate::Channel for Mailer {
    type Message = Email;
    const NAME: &'static str = crate::EMAIL;

    fn limits(&self) -> crate::Limits {
        self.options.limits
    }

    fn describe(&self) -> String {
        let o = &self.options;
        let tls = match o.tls {
            TlsMode::None => "no TLS",
            TlsMode::StartTls => "STARTTLS",
            TlsMode::Tls => "TLS",
        };
        format!("{}:{} ({tls}), from {}", o.host, o.port, self.from)
    }

    async fn send(&self, key: &str, email: &Email) -> Result<Value, Error> {
        Mailer::send(self, key, email).await
    }
}

fn smtp_error(e: &lettre::transport::smtp::Error) -> Error {
    if e.is_permanent() { Error::Permanent(format!("smtp: {e}")) } else { Error::Retryable(format!("smtp: {e}")) }
}

/// TLS from the first byte, checked against the Mozilla roots (as STARTTLS is, by lettre).
fn tls_connector() -> Result<tokio_rustls::TlsConnector, Error> {
    let mut roots = tokio_rustls::rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let config =
        tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Permanent(format!("smtp TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// A TLS stream lettre can speak SMTP over.
#[derive(Debug)]
struct Tls(tokio_rustls::client::TlsStream<TcpStream>);

impl lettre::transport::smtp::client::AsyncTokioStream for Tls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl tokio::io::AsyncRead for Tls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Tls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Holds what is written until the peer's reply is read (or the stream is shut down), then
/// writes it at once: SMTP waits for a reply after each command and after a message, so a
/// message's body and its final `.` (which lettre writes and flushes apart) leave together.
#[derive(Debug)]
pub(super) struct Coalesce<S> {
    inner: S,
    out: Vec<u8>,
    /// How much of `out` the inner stream took.
    written: usize,
}

impl<S: tokio::io::AsyncWrite + Unpin> Coalesce<S> {
    pub(super) fn new(inner: S) -> Coalesce<S> {
        Coalesce { inner, out: Vec::new(), written: 0 }
    }

    /// Writes out what is held, and flushes.
    fn poll_send(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        while self.written < self.out.len() {
            match std::pin::Pin::new(&mut self.inner).poll_write(cx, &self.out[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.out.clear();
        self.written = 0;
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
}

impl<S: lettre::transport::smtp::client::AsyncTokioStream> lettre::transport::smtp::client::AsyncTokioStream for Coalesce<S> {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.inner.peer_addr()
    }
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> tokio::io::AsyncRead for Coalesce<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_send(cx))?;
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Coalesce<S> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.out.extend_from_slice(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    /// Deferred to the next read (see the type).
    fn poll_flush(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
        std::task::ready!(self.poll_send(cx))?;
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
