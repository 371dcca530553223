//! SMS through the Twilio Messages API: a form-encoded `POST` with Basic auth, answered `201`
//! with the message's SID. Status callbacks and inbound messages come back as form posts
//! signed with `X-Twilio-Signature` (`twilio_signature`), which the server checks.

mod client;
mod config;
#[cfg(test)]
mod tests;

pub(crate) use client::Client;
pub use config::{SmsOptions, twilio_signature, verify_twilio_signature};

/// Twilio's error for a recipient who replied STOP: the number may not be texted until they
/// reply START.
pub const OPTED_OUT: i64 = 21610;

/// An SMS to send: the number (E.164) and the rendered text.
#[derive(Debug, Clone)]
pub struct Sms {
    pub to: String,
    pub body: String,
    /// Where the provider reports what became of the message (`StatusCallback`).
    pub status_callback: Option<String>,
}

/// How many parts (segments) an SMS of this text is sent and billed as: GSM-7 text takes 160
/// characters in one part and 153 per part beyond; anything else is UCS-2, 70 and 67.
pub fn segments(body: &str) -> usize {
    // The GSM 03.38 basic set; the extension characters count twice.
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENDED: &str = "^{}\\[~]|€\u{c}";
    let gsm: Option<usize> = body.chars().try_fold(0, |n, c| {
        if BASIC.contains(c) {
            Some(n + 1)
        } else if EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    });
    let (units, single, multi) = match gsm {
        Some(n) => (n, 160, 153),
        None => (body.encode_utf16().count(), 70, 67),
    };
    match units {
        0 => 0,
        n if n <= single => 1,
        n => n.div_ceil(multi),
    }
}
