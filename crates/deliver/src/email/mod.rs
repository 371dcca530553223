//! Email: a rendered template sent over SMTP, its idempotency key as the `Message-ID`.

mod client;
mod config;
#[cfg(test)]
mod tests;

pub(crate) use client::Mailer;
pub use client::wire_message;
pub use config::{SmtpOptions, TlsMode};

use crate::render::Rendered;

/// An email to send: the address and the rendered template.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub rendered: Rendered,
    /// The one-click unsubscribe URL (RFC 8058): sent as `List-Unsubscribe` with
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub unsubscribe: Option<String>,
}
