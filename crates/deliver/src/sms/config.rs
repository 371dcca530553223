//! What the SMS channel is configured with, and Twilio's request signature.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A Twilio account (or anything speaking its Messages API).
#[derive(Debug, Clone)]
pub struct SmsOptions {
    /// `https://api.twilio.com`; a stand-in's address in tests.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    /// The sender: a phone number in E.164 form (sent as `From`) or a Messaging Service SID,
    /// `MG…` (sent as `MessagingServiceSid`).
    pub from: String,
    pub timeout: Duration,
    pub limits: crate::Limits,
}

impl SmsOptions {
    pub const TWILIO: &str = "https://api.twilio.com";
}

/// The `X-Twilio-Signature` of a request: base64 of HMAC-SHA1 keyed with the auth token, over
/// the full URL Twilio called followed by each `POST` parameter's name and value, sorted by
/// name (a JSON or GET request: the URL alone).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    STANDARD.encode(ring::hmac::sign(&key, &signed(url, params)).as_ref())
}

/// Whether `signature` is Twilio's for this request (compared in constant time).
pub fn verify_twilio_signature(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    STANDARD.decode(signature.trim()).is_ok_and(|tag| ring::hmac::verify(&key, &signed(url, params), &tag).is_ok())
}

fn signed(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Twilio's own packages take each distinct value of a repeated field once, sorted.
    sorted.sort();
    sorted.dedup();
    let mut out = url.as_bytes().to_vec();
    for (name, value) in sorted {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}
