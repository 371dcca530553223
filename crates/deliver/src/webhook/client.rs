//! The webhook client: a Standard Webhooks signature, a timeout, and a guard against calling
//! private addresses, safe to point at any URL a user types.
//!
//! The guard (as svix's HTTP client does it) sits in the DNS resolver: a host name is resolved
//! once, its private, loopback, link-local, reserved ... addresses (`forbidden`) are dropped, and
//! the connection is made to what is left, so what was checked is what is connected to (no DNS
//! rebinding between a check and the connect). IP-literal URLs never reach a resolver and are
//! checked before the call. `webhook.allow_private` turns the guard off. Redirects are not
//! followed (a 3xx is a permanent failure), and at most `MAX_RESPONSE_BYTES` of a response body
//! are read.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Value, json};

use super::config::{WebhookOptions, WebhookSecret};
use crate::Error;

/// The most of a response body that is read; the rest is never read.
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Why a webhook may not call `ip`, if it may not: every address that is not public unicast.
/// IPv4 in IPv6 (mapped, compatible, NAT64, 6to4) is judged by the IPv4 address inside.
pub(crate) fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip.to_canonical() {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

const V4_RANGES: [(Ipv4Addr, u32, &str); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8, "\"this network\""),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private"),
    (Ipv4Addr::new(100, 64, 0, 0), 10, "shared address space (CGNAT)"),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "IETF protocol assignments"),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "documentation"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "6to4 relay anycast"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (Ipv4Addr::new(198, 51, 100, 0), 24, "documentation"),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "documentation"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved or broadcast"),
];

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4_RANGES.iter().find(|(net, prefix, _)| bits >> (32 - prefix) == u32::from(*net) >> (32 - prefix)).map(|(_, _, kind)| *kind)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = u128::from(ip);
    let within = |net: u128, prefix: u32| bits >> (128 - prefix) == net >> (128 - prefix);
    let v4_at = |shift: u32| Ipv4Addr::from((bits >> shift) as u32);
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if within(0, 96) {
        // IPv4-compatible (deprecated): ::a.b.c.d.
        forbidden_v4(v4_at(0)).or(Some("IPv4-compatible"))
    } else if within(0x0064_ff9b << 96, 96) {
        // NAT64 (64:ff9b::/96): a gateway calls the IPv4 address inside.
        forbidden_v4(v4_at(0))
    } else if within(0x2002 << 112, 16) {
        // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
        forbidden_v4(v4_at(80))
    } else if within(0xfc00 << 112, 7) {
        Some("unique local")
    } else if within(0xfe80 << 112, 10) {
        Some("link-local")
    } else if within(0xff00 << 112, 8) {
        Some("multicast")
    } else if !within(0x2000 << 112, 3) {
        // Only 2000::/3 is global unicast (besides the IPv4 forms above): this is the rest,
        // local-use NAT64 64:ff9b:1::/48, discard-only 100::/64, site-local fec0::/10 ...
        Some("reserved (not global unicast)")
    } else if within(0x2001_0db8 << 96, 32) || within(0x3fff << 112, 20) {
        Some("documentation")
    } else if within(0x2001 << 112, 23) {
        Some("IETF protocol assignments (Teredo, benchmarking ...)")
    } else {
        None
    }
}

type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Resolves a host name to its addresses: the system's resolver, or a test's table.
pub(crate) type Lookup = Arc<dyn Fn(&str) -> LookupFuture + Send + Sync>;

fn system_lookup() -> Lookup {
    Arc::new(|host: &str| {
        let host = host.to_owned();
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect()) })
    })
}

/// A host name that resolves only to addresses a webhook may not call.
#[derive(Debug)]
struct Refused {
    host: String,
    addresses: Vec<(IpAddr, &'static str)>,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addresses: Vec<String> = self.addresses.iter().map(|(ip, kind)| format!("{ip} ({kind})")).collect();
        write!(
            f,
            "webhook to {} refused: it resolves to private address {} (set webhook.allow_private to allow)",
            self.host,
            addresses.join(", ")
        )
    }
}

impl std::error::Error for Refused {}

/// The resolver reqwest connects through: resolves, then keeps only the addresses a webhook may
/// call (all of them with `allow_private`).
pub(super) struct Guard {
    pub(super) lookup: Lookup,
    pub(super) allow_private: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (lookup, allow_private, host) = (self.lookup.clone(), self.allow_private, name.as_str().to_owned());
        Box::pin(async move {
            let found = lookup(&host).await?;
            let (allowed, refused): (Vec<IpAddr>, Vec<IpAddr>) =
                found.into_iter().partition(|ip| allow_private || forbidden(*ip).is_none());
            let refused: Vec<(IpAddr, &'static str)> = refused.into_iter().filter_map(|ip| forbidden(ip).map(|kind| (ip, kind))).collect();
            if !refused.is_empty() {
                tracing::warn!(host = %host, refused = ?refused, kept = allowed.len(), "webhook host resolves to private addresses");
            }
            if allowed.is_empty() {
                if refused.is_empty() {
                    return Err(format!("{host} resolves to no address").into());
                }
                return Err(Box::new(Refused { host, addresses: refused }) as _);
            }
            Ok(Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0))) as reqwest::dns::Addrs)
        })
    }
}

/// A failed send: a refusal by the guard is permanent, anything else (DNS, connect, timeout)
/// may pass.
fn send_error(e: reqwest::Error) -> Error {
    let mut message = format!("webhook: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Error::Permanent(refused.to_string());
        }
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    Error::Retryable(message)
}

/// Reads at most `cap` bytes of the body; `false` when there was more (or the read failed).
async fn read_capped(response: &mut reqwest::Response, cap: usize) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = cap - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    return (body, false);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return (body, true),
            Err(e) => {
                tracing::debug!(error = %e, "webhook response body cut short");
                return (body, false);
            }
        }
    }
}

pub(crate) struct Client {
    http: reqwest::Client,
    secret: Option<WebhookSecret>,
    allow_private: bool,
    limits: crate::Limits,
}

impl Client {
    pub(crate) fn new(o: &WebhookOptions) -> Result<Client, Error> {
        Client::with_lookup(o, system_lookup())
    }

    /// The client, resolving host names with `lookup` (through the guard).
    pub(crate) fn with_lookup(o: &WebhookOptions, lookup: Lookup) -> Result<Client, Error> {
        let secret = o.secret.as_deref().map(WebhookSecret::parse).transpose()?;
        let mut builder = reqwest::Client::builder()
            .timeout(o.timeout)
            .user_agent(concat!("wayfarer/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Guard { lookup, allow_private: o.allow_private }));
        if !o.allow_private {
            // Through a proxy, the guard would check the proxy's address, not the webhook's.
            builder = builder.no_proxy();
        }
        let http = builder.build().map_err(|e| Error::Permanent(format!("webhook client: {e}")))?;
        Ok(Client { http, secret, allow_private: o.allow_private, limits: o.limits })
    }

    pub(crate) async fn call(&self, key: &str, call: &super::Call) -> Result<Value, Error> {
        let super::Call { url, method, body, now_secs } = call;
        let (url, method, now_secs) = (url.as_str(), method.as_str(), *now_secs);
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::Permanent(format!("webhook url {url:?}: {e}")))?;
        let host = parsed.host_str().ok_or_else(|| Error::Permanent(format!("webhook url {url:?} has no host")))?;
        // Host names are checked by the guard as they are resolved; IP literals (which the URL
        // parser has already normalised, e.g. `0x7f.1` to `127.0.0.1`) are never resolved.
        let literal = host.trim_matches(['[', ']']).parse::<IpAddr>().ok();
        if !self.allow_private && literal.is_some_and(|ip| forbidden(ip).is_some()) {
            return Err(Error::Permanent(format!("webhook to private address {host} refused (set webhook.allow_private to allow)")));
        }
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| Error::Permanent(format!("webhook method: {e}")))?;
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Permanent(e.to_string()))?;
        let mut req = self
            .http
            .request(method, parsed)
            .header("content-type", "application/json")
            .header("webhook-id", key)
            .header("webhook-timestamp", now_secs.to_string());
        if let Some(secret) = &self.secret {
            req = req.header("webhook-signature", secret.sign(key, now_secs, &bytes));
        }
        let mut response = req.body(bytes).send().await.map_err(send_error)?;
        let status = response.status();
        if status.is_redirection() {
            let location: Option<String> = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|l| String::from_utf8_lossy(l.as_bytes()).chars().take(500).collect());
            return Err(Error::Permanent(format!(
                "webhook redirected ({status}) to {}; redirects are not followed: use the final URL",
                location.as_deref().unwrap_or("(no location given)")
            )));
        }
        let (text, complete) = read_capped(&mut response, MAX_RESPONSE_BYTES).await;
        let text = String::from_utf8_lossy(&text);
        let snippet: String = text.chars().take(500).collect();
        if status.is_success() {
            let mut out = json!({"status": status.as_u16(), "response": snippet});
            if !complete {
                out["truncated"] = json!(true);
            } else if let Ok(parsed) = serde_json::from_str::<Value>(&text) {
                out["json"] = parsed;
            }
            return Ok(out);
        }
        let message = format!("webhook answered {status}: {snippet}");
        if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(Error::Retryable(message))
        } else {
            Err(Error::Permanent(message))
        }
    }
}

impl crate::Channel for Client {
    type Message = super::Call;
    const NAME: &'static str = crate::WEBHOOK;

    fn limits(&self) -> crate::Limits {
        self.limits
    }

    fn describe(&self) -> String {
        let signed = if self.secret.is_some() { "signed (Standard Webhooks)" } else { "not signed (no webhook.secret)" };
        let private = if self.allow_private { "private addresses allowed" } else { "private addresses refused" };
        format!("the URL each step names; {signed}; {private}")
    }

    async fn send(&self, key: &str, call: &super::Call) -> Result<Value, Error> {
        self.call(key, call).await
    }
}
