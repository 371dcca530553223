//! What comes back from an email: an open pixel, click-tracking redirects and a one-click
//! unsubscribe link (RFC 8058), each a URL on Wayfarer's public address signed with its
//! tracking secret, so that nobody can make one for a message they did not get, and a click
//! link never redirects to a URL the email did not hold (no open redirect).
//!
//! A link names the message (its outbox id) and carries `HMAC-SHA256(secret, purpose, id,
//! url)`, cut to 16 bytes, in base64url: `/t/o/{id}.{sig}` (open), `/t/c/{id}.{sig}?u={url}`
//! (click), `/u/{id}.{sig}` (unsubscribe), `/t/s/{id}.{sig}` (an SMS's status callback).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Error;

/// What a link is for (each is signed apart, so one cannot stand for another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Open,
    Click,
    Unsubscribe,
    /// An SMS provider's status callback.
    SmsStatus,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Open => "open",
            Purpose::Click => "click",
            Purpose::Unsubscribe => "unsubscribe",
            Purpose::SmsStatus => "sms-status",
        }
    }
}

/// Bytes of the HMAC a link carries.
const SIGNATURE_BYTES: usize = 16;

#[derive(Clone)]
pub struct Tracking {
    /// `https://wayfarer.example.com`, no trailing slash.
    base: String,
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Tracking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tracking({})", self.base)
    }
}

impl Tracking {
    /// Links on `base_url` (an http or https URL people's email clients reach Wayfarer at),
    /// signed with `secret`.
    pub fn new(base_url: &str, secret: &[u8]) -> Result<Tracking, Error> {
        let base = base_url.trim().trim_end_matches('/');
        let parsed = reqwest::Url::parse(base).map_err(|e| Error::Permanent(format!("tracking.base_url {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::Permanent(format!("tracking.base_url {base_url:?} is not an http(s) address")));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| Error::Permanent(format!("tracking secret: {e}")))?;
        Ok(Tracking { base: base.to_owned(), mac })
    }

    fn mac(&self, purpose: Purpose, message: i64, url: &str) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(format!("{}\n{message}\n{url}", purpose.tag()).as_bytes());
        mac
    }

    /// `{id}.{signature}`.
    fn token(&self, purpose: Purpose, message: i64, url: &str) -> String {
        let tag = self.mac(purpose, message, url).finalize().into_bytes();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(&tag[..SIGNATURE_BYTES]))
    }

    /// The message a token names, if its signature is right for `purpose` (and, for a click,
    /// `url`).
    pub fn verify(&self, purpose: Purpose, token: &str, url: &str) -> Option<i64> {
        let (id, signature) = token.split_once('.')?;
        let message: i64 = id.parse().ok().filter(|n: &i64| *n > 0)?;
        let tag = URL_SAFE_NO_PAD.decode(signature).ok().filter(|t| t.len() == SIGNATURE_BYTES)?;
        self.mac(purpose, message, url).verify_truncated_left(&tag).ok()?;
        Some(message)
    }

    pub fn open_url(&self, message: i64) -> String {
        format!("{}/t/o/{}", self.base, self.token(Purpose::Open, message, ""))
    }

    pub fn click_url(&self, message: i64, url: &str) -> String {
        let token = self.token(Purpose::Click, message, url);
        let mut out = format!("{}/t/c/{token}?u=", self.base);
        out.extend(reqwest::Url::parse_with_params("x:/", &[("u", url)]).ok().and_then(|u| u.query().map(|q| q[2..].to_owned())));
        out
    }

    pub fn unsubscribe_url(&self, message: i64) -> String {
        format!("{}/u/{}", self.base, self.token(Purpose::Unsubscribe, message, ""))
    }

    /// Where the SMS provider reports what became of the message: `/t/s/{id}.{sig}`.
    pub fn sms_status_url(&self, message: i64) -> String {
        format!("{}/t/s/{}", self.base, self.token(Purpose::SmsStatus, message, ""))
    }

    /// Wayfarer's public address (no trailing slash).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The HTML of an email with every `http(s)` link going through a click redirect and the
    /// open pixel at the end (inside `</body>` if there is one). Links to the unsubscribe page
    /// stay as they are. An empty HTML part stays empty.
    pub fn rewrite(&self, html: &str, message: i64) -> String {
        if html.trim().is_empty() {
            return html.to_owned();
        }
        let unsubscribe = self.unsubscribe_url(message);
        let mut out = String::with_capacity(html.len() + 256);
        let mut rest = html;
        while let Some(at) = find_href(rest) {
            let (before, after) = rest.split_at(at.value_start);
            out.push_str(before);
            let value = &after[..at.value_len];
            let url = decode_entities(value);
            if (url.starts_with("http://") || url.starts_with("https://")) && url != unsubscribe {
                out.push_str(&escape_attribute(&self.click_url(message, &url)));
            } else {
                out.push_str(value);
            }
            rest = &after[at.value_len..];
        }
        out.push_str(rest);
        let pixel =
            format!(r#"<img src="{}" width="1" height="1" alt="" style="display:none">"#, escape_attribute(&self.open_url(message)));
        match out.to_ascii_lowercase().rfind("</body>") {
            Some(at) => out.insert_str(at, &pixel),
            None => out.push_str(&pixel),
        }
        out
    }
}

/// Where an `href="…"` (or `'…'`) value is in `html`: its start and length.
struct Href {
    value_start: usize,
    value_len: usize,
}

fn find_href(html: &str) -> Option<Href> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("href") {
        let at = from + found;
        from = at + 4;
        // A whole attribute name: after whitespace, then optional spaces, `=`, a quote.
        if !lower[..at].ends_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let after = &html[from..];
        let trimmed = after.trim_start();
        let Some(eq) = trimmed.strip_prefix('=') else { continue };
        let value = eq.trim_start();
        let Some(quote) = value.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
        let value_start = html.len() - value.len() + 1;
        let len = html[value_start..].find(quote)?;
        return Some(Href { value_start, value_len: len });
    }
    None
}

/// `&amp;` and the few entities a URL in an attribute holds, decoded.
fn decode_entities(value: &str) -> String {
    value.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn escape_attribute(value: &str) -> String {
    value.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracking() -> Tracking {
        Tracking::new("https://wf.acme.test/", b"0123456789abcdef0123456789abcdef").expect("tracking")
    }

    #[test]
    fn links_verify_for_their_message_and_purpose_only() {
        let t = tracking();
        let open = t.open_url(42);
        let token = open.strip_prefix("https://wf.acme.test/t/o/").expect("on the base");
        assert_eq!(t.verify(Purpose::Open, token, ""), Some(42));
        assert_eq!(t.verify(Purpose::Unsubscribe, token, ""), None, "an open link does not unsubscribe");
        let forged = token.replacen("42.", "43.", 1);
        assert_eq!(t.verify(Purpose::Open, &forged, ""), None, "another message's id with this signature");
        let other = Tracking::new("https://wf.acme.test", b"another secret of 32 bytes......").expect("tracking");
        assert_eq!(other.verify(Purpose::Open, token, ""), None, "another secret");
        for junk in ["", ".", "42", "42.", "x.y", "-1.AAAA", "42.!!!!"] {
            assert_eq!(t.verify(Purpose::Open, junk, ""), None, "{junk:?}");
        }
    }

    #[test]
    fn a_click_link_carries_its_url_and_verifies_only_with_it() {
        let t = tracking();
        let link = t.click_url(7, "https://shop.test/cart?a=1&b=é");
        let rest = link.strip_prefix("https://wf.acme.test/t/c/").expect("on the base");
        let (token, query) = rest.split_once("?u=").expect("the url");
        assert_eq!(query, "https%3A%2F%2Fshop.test%2Fcart%3Fa%3D1%26b%3D%C3%A9");
        assert_eq!(t.verify(Purpose::Click, token, "https://shop.test/cart?a=1&b=é"), Some(7));
        assert_eq!(t.verify(Purpose::Click, token, "https://evil.test/"), None, "no open redirect");
    }

    #[test]
    fn links_in_the_html_go_through_redirects_and_the_pixel_goes_before_the_body_ends() {
        let t = tracking();
        let unsubscribe = t.unsubscribe_url(5);
        let html = format!(
            r#"<body><a href="https://shop.test/a?x=1&amp;y=2">A</a> <a class="b" HREF = 'http://b.test/'>B</a> <a href="mailto:x@y.test">mail</a> <a href="{unsubscribe}">stop</a> <p data-href="https://no.test">x</p></body>"#
        );
        let out = t.rewrite(&html, 5);
        assert!(out.contains(&format!(r#"href="{}""#, escape_attribute(&t.click_url(5, "https://shop.test/a?x=1&y=2")))), "{out}");
        assert!(out.contains(&format!("HREF = '{}'", escape_attribute(&t.click_url(5, "http://b.test/")))), "{out}");
        assert!(out.contains(r#"href="mailto:x@y.test""#) && out.contains(&format!(r#"href="{unsubscribe}""#)), "{out}");
        assert!(out.contains(r#"data-href="https://no.test""#), "only href attributes: {out}");
        assert!(
            out.ends_with(&format!(r#"<img src="{}" width="1" height="1" alt="" style="display:none"></body>"#, t.open_url(5))),
            "{out}"
        );
        assert_eq!(t.rewrite(" ", 5), " ", "no HTML part, no pixel");
        assert!(t.rewrite("<p>hi</p>", 5).starts_with("<p>hi</p><img "), "no body: at the end");
    }

    #[test]
    fn the_base_must_be_an_http_address() {
        for bad in ["", "wf.acme.test", "ftp://wf.acme.test", "https://"] {
            assert!(Tracking::new(bad, b"k").is_err(), "{bad:?}");
        }
    }
}
