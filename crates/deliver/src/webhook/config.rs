//! What a webhook channel is configured with, and its signing secret.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Error;

#[derive(Debug, Clone)]
pub struct WebhookOptions {
    pub timeout: Duration,
    /// A Standard Webhooks signing secret, `whsec_<base64 key>` (see `WebhookSecret`); each call
    /// then carries `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    /// `None`: calls are not signed.
    pub secret: Option<String>,
    /// Allow loopback, private, link-local and other non-public addresses (off by default: the
    /// SSRF guard).
    pub allow_private: bool,
    pub limits: crate::Limits,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions { timeout: Duration::from_secs(10), secret: None, allow_private: false, limits: crate::Limits::default() }
    }
}

/// A Standard Webhooks signing secret: `whsec_` followed by the key in base64 (padded or not),
/// a key of at least 24 bytes, as the spec asks. Generate one with
/// `echo "whsec_$(openssl rand -base64 32)"`.
///
/// A secret without the prefix is refused rather than guessed at: the official verifiers would
/// base64-decode it (and Python's skips characters that are not base64), while whoever typed it
/// may mean its bytes, and either guess would make signatures that some receivers reject.
#[derive(Clone)]
pub struct WebhookSecret {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    pub const PREFIX: &str = "whsec_";
    pub const MIN_KEY_BYTES: usize = 24;

    pub fn parse(secret: &str) -> Result<WebhookSecret, Error> {
        let how = "a Standard Webhooks secret is \"whsec_\" and a base64 key of at least 24 bytes; \
                   generate one with: echo \"whsec_$(openssl rand -base64 32)\"";
        let Some(encoded) = secret.trim().strip_prefix(Self::PREFIX) else {
            return Err(Error::Permanent(format!("the webhook secret does not start with \"whsec_\" ({how})")));
        };
        let key = STANDARD_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|e| Error::Permanent(format!("the webhook secret is not base64 after \"whsec_\": {e} ({how})")))?;
        if key.len() < Self::MIN_KEY_BYTES {
            return Err(Error::Permanent(format!("the webhook secret's key is {} bytes, too short ({how})", key.len())));
        }
        let mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| Error::Permanent(format!("the webhook secret: {e}")))?;
        Ok(WebhookSecret { mac })
    }

    /// The `webhook-signature` header value: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header value for a call (`WebhookSecret::parse`, then `sign`).
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, Error> {
    Ok(WebhookSecret::parse(secret)?.sign(id, timestamp, body))
}
