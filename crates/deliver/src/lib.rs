//! Everything that leaves Wayfarer: template rendering and channels.
//!
//! Architecture Invariant: every send carries the outbox entry's idempotency key (an email's
//! `Message-ID`, a webhook's `webhook-id` header), and every error says whether a retry can
//! help (`Error::Retryable`) or not (`Error::Permanent`). Nothing here touches the store.

mod render;
mod smtp;
mod webhook;

use serde_json::Value;

pub use render::{EmailTemplate, Rendered, Renderer, VARIABLES, variables};
pub use smtp::{SmtpOptions, TlsMode};
pub use webhook::{WebhookOptions, WebhookSecret, signature};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Retryable(String),
    #[error("{0}")]
    Permanent(String),
}

impl Error {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Retryable(_))
    }
}

/// What happened to a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The channel accepted it; `Value` describes what was sent.
    Sent(Value),
    /// No channel is configured: the rendered message is kept, not delivered.
    Captured(Value),
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `None`: emails are captured in the store instead of sent.
    pub smtp: Option<SmtpOptions>,
    pub webhook: WebhookOptions,
}

/// The channels, built once from `Options`.
pub struct Deliverer {
    renderer: Renderer,
    smtp: Option<smtp::Mailer>,
    webhook: webhook::Client,
}

impl Deliverer {
    pub fn new(options: &Options) -> Result<Deliverer, Error> {
        Ok(Deliverer {
            renderer: Renderer::default(),
            smtp: options.smtp.as_ref().map(smtp::Mailer::new).transpose()?,
            webhook: webhook::Client::new(&options.webhook)?,
        })
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Renders and sends (or captures) one email. `key` becomes its `Message-ID`.
    pub async fn email(&self, key: &str, to: Option<&str>, template: &EmailTemplate, ctx: &Value) -> Result<Outcome, Error> {
        let to = to.filter(|t| !t.trim().is_empty()).ok_or_else(|| Error::Permanent("the person has no \"email\" trait".into()))?;
        let rendered = self.renderer.email(template, ctx)?;
        match &self.smtp {
            Some(mailer) => mailer.send(key, to, &rendered).await.map(Outcome::Sent),
            None => Ok(Outcome::Captured(rendered.describe(to, None))),
        }
    }

    /// Renders the body and calls a webhook. `key` is sent as `webhook-id`.
    pub async fn webhook(
        &self,
        key: &str,
        url: &str,
        method: &str,
        body: Option<&Value>,
        ctx: &Value,
        now_secs: i64,
    ) -> Result<Outcome, Error> {
        let body = match body {
            Some(b) => self.renderer.json(b, ctx)?,
            None => ctx.clone(),
        };
        self.webhook.call(key, url, method, &body, now_secs).await.map(Outcome::Sent)
    }
}
