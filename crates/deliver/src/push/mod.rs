//! Push notifications through Firebase Cloud Messaging's HTTP v1 API: one `messages:send` per
//! device, authorised by an OAuth2 access token minted from a service account's key (an RS256
//! JWT exchanged at the key's `token_uri`, kept until shortly before it expires).

mod client;
mod config;
#[cfg(test)]
mod tests;

pub(crate) use client::Client;
pub use client::Report;

/// The signed assertion a service account exchanges for an FCM access token (what Wayfarer
/// sends to its `token_uri`).
pub fn assertion(account: &ServiceAccount) -> Result<String, crate::Error> {
    client::assertion(account, &account.key_pair()?)
}
pub use config::{PushOptions, ServiceAccount};

/// A notification to a person's devices, rendered.
#[derive(Debug, Clone, Default)]
pub struct Push {
    /// FCM registration tokens, one per device.
    pub tokens: Vec<String>,
    pub title: String,
    pub body: String,
    /// Opened when the notification is tapped (sent as the data field `link`, and as a web
    /// push's `fcm_options.link` when it is https).
    pub link: Option<String>,
    /// An image shown in the notification (https).
    pub image: Option<String>,
}
