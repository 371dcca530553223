//! Everything that leaves Wayfarer: template rendering and channels.
//!
//! Architecture Invariant: every send carries the outbox entry's idempotency key (an email's
//! `Message-ID`, a webhook's `webhook-id` header), and every error says whether a retry can
//! help (`Error::Retryable`) or not (`Error::Permanent`). Nothing here touches the store.

mod email;
mod push;
mod render;
mod sms;
#[cfg(test)]
mod testing;
mod tracking;
mod webhook;

use serde_json::Value;

pub use email::{Email, SmtpOptions, TlsMode, wire_message};
pub use push::{Push, PushOptions, Report as PushReport, ServiceAccount, assertion as push_assertion};
pub use render::{EMAIL_VARIABLES, EmailTemplate, Rendered, Renderer, VARIABLES, variables};
pub use sms::{OPTED_OUT, Sms, SmsOptions, segments, twilio_signature, verify_twilio_signature};
pub use tracking::{Purpose, Tracking};
pub use webhook::{Call, WebhookOptions, WebhookSecret, signature};

/// A channel: one folder each (`config.rs`, what it is configured with; `client.rs`, how it
/// talks to its provider; `tests.rs`), all alike to the dispatcher: a name in the outbox,
/// limits for its dispatch queue, and a send of one rendered message.
pub trait Channel: Send + Sync {
    /// One message, rendered.
    type Message;
    /// The outbox's name for the channel.
    const NAME: &'static str;
    fn limits(&self) -> Limits;
    /// Where it sends, for people: "smtp.example.com:587 (STARTTLS)".
    fn describe(&self) -> String;
    /// Sends one message; the send carries `key`, the outbox entry's idempotency key.
    fn send(&self, key: &str, message: &Self::Message) -> impl std::future::Future<Output = Result<Value, Error>> + Send;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Retryable(String),
    #[error("{0}")]
    Permanent(String),
    /// Permanent: the recipient opted out with the provider (replied STOP to an SMS); they
    /// are unsubscribed from the channel.
    #[error("{0}")]
    OptedOut(String),
}

impl Error {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Retryable(_))
    }
}

/// How fast a channel may send: its provider's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Messages sent at once: connections or requests open to the provider (more may be
    /// rendered meanwhile, waiting for one of them).
    pub concurrency: usize,
    /// Most messages sent per second (a token bucket holding one second's worth); 0: no limit.
    pub rate_per_sec: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { concurrency: 16, rate_per_sec: 0.0 }
    }
}

/// A channel as the dispatcher and the admin API see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelInfo {
    pub name: &'static str,
    pub limits: Limits,
    /// Where it sends, for people.
    pub detail: String,
}

/// The outbox's channel names, each sent through a dispatch queue of its own.
pub const EMAIL: &str = "email";
pub const WEBHOOK: &str = "webhook";
pub const SMS: &str = "sms";
pub const PUSH: &str = "push";
/// In-app messages: kept for the person's next visit (`/v1/decide`, the live stream).
pub const IN_APP: &str = "in_app";
/// Tasks for people (a journey's `task` step): put in the inbox (`/api/tasks`).
pub const TASK: &str = "task";

/// A template's push notification parts (Liquid), for `Deliverer::push`.
#[derive(Debug, Clone, Default)]
pub struct PushTemplate {
    pub id: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub image: String,
}

/// What happened to a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The channel accepted it; `Value` describes what was sent.
    Sent(Value),
    /// No channel is configured: the rendered message is kept, not delivered.
    Captured(Value),
    /// Not sent: a control said no (the reason), e.g. the person unsubscribed.
    Suppressed(String),
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `None`: emails are captured in the store instead of sent.
    pub smtp: Option<SmtpOptions>,
    pub webhook: WebhookOptions,
    /// `None`: SMS are rendered and kept (captured), not sent.
    pub sms: Option<SmsOptions>,
    /// `None`: push notifications are rendered and kept (captured), not sent.
    pub push: Option<PushOptions>,
    /// `None`: emails go out as rendered, with no tracking and no one-click unsubscribe, and
    /// SMS without a status callback.
    pub tracking: Option<Tracking>,
}

/// The channels, built once from `Options`.
pub struct Deliverer {
    renderer: Renderer,
    smtp: Option<email::Mailer>,
    /// The `From:` a captured email records.
    capture_from: Option<String>,
    webhook: webhook::Client,
    sms: Option<sms::Client>,
    push: Option<push::Client>,
    /// Backtests: webhooks are rendered and captured, never called.
    simulate: bool,
    tracking: Option<Tracking>,
    /// Per channel, a permit for each message that may be with its provider at once
    /// (`Limits::concurrency`): a message is rendered first, then waits for one.
    gates: Gates,
}

/// The permits of each channel that talks to a provider.
struct Gates {
    email: tokio::sync::Semaphore,
    webhook: tokio::sync::Semaphore,
    sms: tokio::sync::Semaphore,
    push: tokio::sync::Semaphore,
}

impl Gates {
    fn new(email: Limits, webhook: Limits, sms: Limits, push: Limits) -> Gates {
        let gate = |l: Limits| tokio::sync::Semaphore::new(l.concurrency.max(1));
        Gates { email: gate(email), webhook: gate(webhook), sms: gate(sms), push: gate(push) }
    }
}

/// Runs `send` holding one of `gate`'s permits (the semaphore is never closed).
async fn gated<T>(gate: &tokio::sync::Semaphore, send: impl std::future::Future<Output = T>) -> T {
    let _permit = gate.acquire().await;
    send.await
}

impl Deliverer {
    pub fn new(options: &Options) -> Result<Deliverer, Error> {
        let smtp = options.smtp.as_ref().map(email::Mailer::new).transpose()?;
        let webhook = webhook::Client::new(&options.webhook)?;
        let sms = options.sms.as_ref().map(sms::Client::new).transpose()?;
        let push = options.push.as_ref().map(push::Client::new).transpose()?;
        let limits = |l: Option<Limits>| l.unwrap_or_default();
        let gates = Gates::new(
            limits(smtp.as_ref().map(Channel::limits)),
            webhook.limits(),
            limits(sms.as_ref().map(Channel::limits)),
            limits(push.as_ref().map(Channel::limits)),
        );
        Ok(Deliverer {
            renderer: Renderer::default(),
            smtp,
            capture_from: None,
            webhook,
            sms,
            push,
            simulate: false,
            tracking: options.tracking.clone(),
            gates,
        })
    }

    /// A deliverer that sends nothing anywhere, for backtests: emails are captured (no SMTP)
    /// and webhooks are rendered and captured instead of called. What would fail to render
    /// live fails the same way.
    pub fn simulated() -> Result<Deliverer, Error> {
        Ok(Deliverer { simulate: true, ..Deliverer::new(&Options::default())? })
    }

    /// The `From:` recorded on captured emails (with no SMTP server nothing is sent; the
    /// capture shows the sender the message would have had): the configured `smtp.from`.
    /// Empty: none. With SMTP configured, emails carry `SmtpOptions::from` and this is unused.
    pub fn with_capture_from(mut self, from: &str) -> Deliverer {
        self.capture_from = Some(from.trim().to_owned()).filter(|f| !f.is_empty());
        self
    }

    /// Every channel with its limits: each gets a dispatch queue of its own, so a slow
    /// provider never holds up another.
    pub fn channels(&self) -> Vec<ChannelInfo> {
        fn info<C: Channel>(c: &C) -> ChannelInfo {
            ChannelInfo { name: C::NAME, limits: c.limits(), detail: c.describe() }
        }
        let email = self.smtp.as_ref().map(info).unwrap_or_else(|| ChannelInfo {
            name: EMAIL,
            limits: Limits::default(),
            detail: "no SMTP server: emails are rendered and kept (captured), not sent".into(),
        });
        let mut webhook = info(&self.webhook);
        if self.simulate {
            webhook.detail = "simulated: rendered and kept, never called".into();
        }
        let sms = self.sms.as_ref().map(info).unwrap_or_else(|| ChannelInfo {
            name: SMS,
            limits: Limits::default(),
            detail: "no SMS provider: text messages are rendered and kept (captured), not sent".into(),
        });
        let push = self.push.as_ref().map(info).unwrap_or_else(|| ChannelInfo {
            name: PUSH,
            limits: Limits::default(),
            detail: "no push provider: notifications are rendered and kept (captured), not sent".into(),
        });
        let in_app = ChannelInfo {
            name: IN_APP,
            limits: Limits::default(),
            detail: "kept for each person's next visit to the website or app (/v1/decide, /v1/in-app/stream)".into(),
        };
        let task = ChannelInfo {
            name: TASK,
            limits: Limits::default(),
            detail: "tasks for people, in the inbox of their assignee or team (/api/tasks)".into(),
        };
        vec![email, webhook, sms, push, in_app, task]
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Renders and sends (or captures) one email. `key` becomes its `Message-ID`. With
    /// tracking configured and the outbox id of the message given, its links go through click
    /// redirects, an open pixel is added, and it carries a one-click unsubscribe (RFC 8058).
    pub async fn email(
        &self,
        key: &str,
        to: Option<&str>,
        template: &EmailTemplate,
        mut ctx: Value,
        message: Option<i64>,
    ) -> Result<Outcome, Error> {
        let to = to.filter(|t| !t.trim().is_empty()).ok_or_else(|| Error::Permanent("the person has no \"email\" trait".into()))?;
        let unsubscribe = self.tracking.as_ref().zip(message).map(|(t, m)| t.unsubscribe_url(m));
        if let Some(vars) = ctx.as_object_mut() {
            vars.insert("unsubscribe_url".into(), Value::String(unsubscribe.clone().unwrap_or_default()));
        }
        let mut rendered = self.renderer.email(template, &ctx)?;
        if let (Some(tracking), Some(message)) = (&self.tracking, message) {
            rendered.html = tracking.rewrite(&rendered.html, message);
        }
        match &self.smtp {
            Some(mailer) => {
                let email = Email { to: to.to_owned(), rendered, unsubscribe };
                gated(&self.gates.email, Channel::send(mailer, key, &email)).await.map(Outcome::Sent)
            }
            None => {
                let mut captured = rendered.describe(to, self.capture_from.as_deref());
                if let Some(url) = unsubscribe {
                    captured["list_unsubscribe"] = Value::String(url);
                }
                Ok(Outcome::Captured(captured))
            }
        }
    }

    /// Renders and sends (or captures) one SMS: `source` is the template's SMS text. `key` goes
    /// along as the idempotency key; with tracking configured and the outbox id given, the
    /// provider reports what became of it to the status callback URL.
    pub async fn sms(
        &self,
        key: &str,
        to: Option<&str>,
        template: &str,
        source: &str,
        ctx: &Value,
        message: Option<i64>,
    ) -> Result<Outcome, Error> {
        let to = to.ok_or_else(|| Error::Permanent("the person has no \"phone\" trait in international form".into()))?;
        if source.trim().is_empty() {
            return Err(Error::Permanent(format!("template {template:?} has no SMS text")));
        }
        let body = self.renderer.render(source, ctx).map_err(|e| Error::Permanent(format!("template {template:?}, sms: {e}")))?;
        let body = body.trim().to_owned();
        if body.is_empty() {
            return Err(Error::Permanent(format!("template {template:?}: the SMS text renders empty")));
        }
        let status_callback = self.tracking.as_ref().zip(message).map(|(t, m)| t.sms_status_url(m));
        let sms = Sms { to: to.to_owned(), body, status_callback };
        match &self.sms {
            Some(client) if !self.simulate => gated(&self.gates.sms, Channel::send(client, key, &sms)).await.map(Outcome::Sent),
            _ => Ok(Outcome::Captured(serde_json::json!({"to": sms.to, "body": sms.body, "segments": segments(&sms.body)}))),
        }
    }

    /// Renders and sends (or captures) one push notification to a person's devices (`tokens`,
    /// as they are now). `key` goes along in its data (`wayfarer_key`). Also answers the devices
    /// the provider says are gone (to forget), whatever the outcome.
    pub async fn push(
        &self,
        key: &str,
        tokens: Vec<String>,
        template: &PushTemplate,
        ctx: &Value,
    ) -> (Result<Outcome, Error>, Vec<String>) {
        if tokens.is_empty() {
            return (Err(Error::Permanent("the person has no push device (no token in push_tokens)".into())), Vec::new());
        }
        let part = |name: &str, src: &str| {
            self.renderer
                .render(src, ctx)
                .map(|s| s.trim().to_owned())
                .map_err(|e| Error::Permanent(format!("template {:?}, push {name}: {e}", template.id)))
        };
        let rendered = (|| -> Result<Push, Error> {
            let optional = |s: String| Some(s).filter(|s| !s.is_empty());
            let push = Push {
                tokens,
                title: part("title", &template.title)?,
                body: part("body", &template.body)?,
                link: optional(part("link", &template.link)?),
                image: optional(part("image", &template.image)?),
            };
            if push.title.is_empty() && push.body.is_empty() {
                return Err(Error::Permanent(format!("template {:?} has no push title or body", template.id)));
            }
            Ok(push)
        })();
        let push = match rendered {
            Ok(p) => p,
            Err(e) => return (Err(e), Vec::new()),
        };
        match &self.push {
            Some(client) if !self.simulate => {
                let report = gated(&self.gates.push, client.send_all(key, &push)).await;
                (report.outcome().map(Outcome::Sent), report.gone)
            }
            _ => {
                let captured = serde_json::json!({"devices": push.tokens.len(), "title": push.title, "body": push.body, "link": push.link, "image": push.image});
                (Ok(Outcome::Captured(captured)), Vec::new())
            }
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
        if self.simulate {
            return Ok(Outcome::Captured(serde_json::json!({"url": url, "method": method, "body": body, "simulated": true})));
        }
        let call = Call { url: url.to_owned(), method: method.to_owned(), body, now_secs };
        gated(&self.gates.webhook, self.webhook.send(key, &call)).await.map(Outcome::Sent)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn a_captured_email_records_the_configured_from() {
        let t = EmailTemplate { id: "hi".into(), subject: "Hi {{ traits.firstName }}".into(), html: String::new(), text: "x".into() };
        let ctx = json!({"traits": {"firstName": "Ann"}});
        let deliverer = Deliverer::new(&Options::default()).expect("deliverer").with_capture_from(" Acme <hello@acme.test> ");
        let Ok(Outcome::Captured(m)) = deliverer.email("k1", Some("ann@x.test"), &t, ctx.clone(), None).await else { panic!("captured") };
        assert_eq!((&m["from"], &m["to"], &m["subject"]), (&json!("Acme <hello@acme.test>"), &json!("ann@x.test"), &json!("Hi Ann")));
        let unset = Deliverer::new(&Options::default()).expect("deliverer").with_capture_from("");
        let Ok(Outcome::Captured(m)) = unset.email("k2", Some("ann@x.test"), &t, ctx, None).await else { panic!("captured") };
        assert_eq!(m["from"], json!(null));
    }
}
