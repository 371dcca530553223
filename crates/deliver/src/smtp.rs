//! Email over SMTP with lettre.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Value, json};

use crate::Error;
use crate::render::Rendered;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain SMTP (a local relay, a test server).
    None,
    /// Upgrade with STARTTLS (port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpOptions {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The `From:` address, e.g. `Wayfarer <hello@example.com>`.
    pub from: String,
    pub timeout: Duration,
}

pub(crate) struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    pub(crate) fn new(o: &SmtpOptions) -> Result<Mailer, Error> {
        let config = |e: lettre::transport::smtp::Error| Error::Permanent(format!("smtp configuration: {e}"));
        let builder = match o.tls {
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&o.host),
            TlsMode::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&o.host).map_err(config)?,
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&o.host).map_err(config)?,
        };
        let mut builder = builder.port(o.port).timeout(Some(o.timeout));
        if let (Some(u), Some(p)) = (&o.username, &o.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        let from = o.from.parse().map_err(|e| Error::Permanent(format!("smtp.from {:?} is not an address: {e}", o.from)))?;
        Ok(Mailer { transport: builder.build(), from })
    }

    pub(crate) async fn send(&self, key: &str, to: &str, m: &Rendered) -> Result<Value, Error> {
        let to_box: Mailbox = to.parse().map_err(|e| Error::Permanent(format!("{to:?} is not an email address: {e}")))?;
        let message_id = format!("<{key}@wayfarer>");
        let email = Message::builder()
            .message_id(Some(message_id.clone()))
            .from(self.from.clone())
            .to(to_box)
            .subject(m.subject.clone())
            .multipart(MultiPart::alternative_plain_html(m.text.clone(), m.html.clone()))
            .map_err(|e| Error::Permanent(format!("building the message: {e}")))?;
        match self.transport.send(email).await {
            Ok(response) => {
                let mut out = m.describe(to, Some(&self.from.to_string()));
                out["message_id"] = json!(message_id);
                out["smtp"] = json!(format!("{} {}", response.code(), response.message().collect::<Vec<_>>().join(" ")));
                Ok(out)
            }
            Err(e) if e.is_permanent() => Err(Error::Permanent(format!("smtp: {e}"))),
            Err(e) => Err(Error::Retryable(format!("smtp: {e}"))),
        }
    }
}
