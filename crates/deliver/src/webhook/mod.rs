//! Outgoing webhooks: a journey's templated JSON, sent to the URL it names.

mod client;
mod config;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub(crate) use client::Client;
pub use config::{WebhookOptions, WebhookSecret, signature};

/// A webhook call, its body rendered.
#[derive(Debug, Clone)]
pub struct Call {
    pub url: String,
    pub method: String,
    pub body: Value,
    /// `webhook-timestamp` (and what is signed), seconds since the epoch.
    pub now_secs: i64,
}
