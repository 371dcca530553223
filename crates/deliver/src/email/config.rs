//! What the email channel is configured with: an SMTP server.

use std::time::Duration;

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
    /// `concurrency` is also the most connections kept open.
    pub limits: crate::Limits,
}
