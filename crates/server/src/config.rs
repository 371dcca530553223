//! Configuration: commented defaults (config/wayfarer.toml, embedded), an optional file,
//! `WAYFARER_*` environment variables, then flags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The commented defaults; also what `wayfarer config default` prints.
pub const DEFAULTS: &str = include_str!("../../../config/wayfarer.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub admin_token: String,
    pub log_format: String,
    pub ingest: Ingest,
    pub smtp: Smtp,
    pub webhook: Webhook,
    pub sms: Sms,
    pub push: Push,
    pub in_app: InApp,
    pub delivery: Delivery,
    pub tracking: Tracking,
    pub engine: Engine,
    pub ui: Ui,
    pub testing: Testing,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingest {
    pub max_request_bytes: usize,
    pub max_event_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub tls: String,
    pub username: String,
    pub password: String,
    pub from: String,
    pub timeout_secs: u64,
    pub concurrency: usize,
    pub rate_per_sec: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub secret: String,
    pub timeout_secs: u64,
    pub allow_private: bool,
    pub concurrency: usize,
    pub rate_per_sec: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sms {
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    pub from: String,
    pub timeout_secs: u64,
    pub concurrency: usize,
    pub rate_per_sec: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Push {
    pub service_account_file: String,
    pub base_url: String,
    pub timeout_secs: u64,
    pub concurrency: usize,
    pub rate_per_sec: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InApp {
    /// When set, a website or app asking for a `userId`'s in-app messages must send `userHash`,
    /// the hex HMAC-SHA256 of the user id with this secret (made by its own backend).
    pub identity_secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracking {
    pub base_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub retry_base_secs: i64,
    pub retry_cap_secs: i64,
    pub max_attempts: i64,
    pub email_cap: i64,
    pub email_cap_within: String,
    pub cap: i64,
    pub cap_within: String,
    /// How long an in-app message waits for its person's visit.
    pub in_app_ttl: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Engine {
    pub hot_people: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ui {
    /// Marks the session cookie `Secure` (sent over HTTPS only).
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Testing {
    pub manual_clock: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Applies every `WAYFARER_<SECTION>_<KEY>` variable set in `env`, typed like the default.
fn apply_env(table: &mut toml::Table, prefix: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(), Error> {
    for (key, value) in table.iter_mut() {
        let name = format!("{prefix}_{}", key.to_ascii_uppercase());
        if let toml::Value::Table(inner) = value {
            apply_env(inner, &name, env)?;
            continue;
        }
        let Some(raw) = env(&name) else { continue };
        let bad = |what: &str| Error::Invalid { origin: name.clone(), message: format!("{raw:?} is not {what}") };
        *value = match value {
            toml::Value::Integer(_) => toml::Value::Integer(raw.trim().parse().map_err(|_| bad("an integer"))?),
            toml::Value::Boolean(_) => toml::Value::Boolean(match raw.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(bad("a boolean (true/false)")),
            }),
            _ => toml::Value::String(raw),
        };
    }
    Ok(())
}

impl Config {
    /// Defaults, then `file`, then the environment (as given by `env`).
    pub fn load(file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let mut table: toml::Table =
            DEFAULTS.parse().map_err(|e: toml::de::Error| Error::Invalid { origin: "built-in defaults".into(), message: e.to_string() })?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.to_owned(), source })?;
            let over: toml::Table =
                text.parse().map_err(|e: toml::de::Error| Error::Invalid { origin: path.display().to_string(), message: e.to_string() })?;
            merge(&mut table, over);
        }
        apply_env(&mut table, "WAYFARER", env)?;
        let config: Config = toml::Value::Table(table).try_into().map_err(|e: toml::de::Error| Error::Invalid {
            origin: file.map_or("configuration".into(), |p| p.display().to_string()),
            message: e.to_string(),
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), Error> {
        let bad = |origin: &str, message: String| Err(Error::Invalid { origin: origin.into(), message });
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("listen", format!("{:?} is not an address such as 127.0.0.1:8420", self.listen));
        }
        if !["none", "starttls", "tls"].contains(&self.smtp.tls.as_str()) {
            return bad("smtp.tls", format!("{:?}: use none, starttls or tls", self.smtp.tls));
        }
        if !["pretty", "json"].contains(&self.log_format.as_str()) {
            return bad("log_format", format!("{:?}: use pretty or json", self.log_format));
        }
        for (key, window) in [
            ("delivery.email_cap_within", &self.delivery.email_cap_within),
            ("delivery.cap_within", &self.delivery.cap_within),
            ("delivery.in_app_ttl", &self.delivery.in_app_ttl),
        ] {
            if window.parse::<domain::time::Duration>().map_or(true, |d| d.as_millis() <= 0) {
                return bad(key, format!("{window:?} is not a duration such as 7d or 12h"));
            }
        }
        if !self.testing.manual_clock.is_empty() && domain::time::Timestamp::parse(&self.testing.manual_clock).is_none() {
            return bad("testing.manual_clock", format!("{:?} is not an RFC 3339 instant", self.testing.manual_clock));
        }
        if self.ingest.max_event_bytes == 0 || self.ingest.max_request_bytes < self.ingest.max_event_bytes {
            return bad("ingest", "max_request_bytes must be at least max_event_bytes, and both above 0".into());
        }
        if !self.webhook.secret.is_empty()
            && let Err(e) = deliver::WebhookSecret::parse(&self.webhook.secret)
        {
            return bad("webhook.secret", e.to_string());
        }
        if let Some(sms) = self.sms_options()
            && let Err(e) = deliver::Deliverer::new(&deliver::Options { sms: Some(sms), ..Default::default() })
        {
            return bad("sms", e.to_string());
        }
        if let Err(message) = self.push_options() {
            return bad("push.service_account_file", message);
        }
        Ok(())
    }

    /// The effective configuration as TOML, secrets masked.
    pub fn show(&self) -> String {
        let mut shown = self.clone();
        for secret in [
            &mut shown.admin_token,
            &mut shown.smtp.password,
            &mut shown.webhook.secret,
            &mut shown.sms.auth_token,
            &mut shown.in_app.identity_secret,
        ] {
            if !secret.is_empty() {
                *secret = "(set)".into();
            }
        }
        if shown.database_url.contains('@') {
            shown.database_url = "(set)".into();
        }
        toml::to_string(&shown).unwrap_or_default()
    }

    /// `tracking` signs the links in emails (`None` when `tracking.base_url` is empty).
    pub fn deliver_options(&self, tracking: Option<deliver::Tracking>) -> deliver::Options {
        let smtp = (!self.smtp.host.is_empty()).then(|| deliver::SmtpOptions {
            host: self.smtp.host.clone(),
            port: self.smtp.port,
            tls: match self.smtp.tls.as_str() {
                "none" => deliver::TlsMode::None,
                "tls" => deliver::TlsMode::Tls,
                _ => deliver::TlsMode::StartTls,
            },
            username: Some(self.smtp.username.clone()).filter(|s| !s.is_empty()),
            password: Some(self.smtp.password.clone()).filter(|s| !s.is_empty()),
            from: self.smtp.from.clone(),
            timeout: std::time::Duration::from_secs(self.smtp.timeout_secs),
            limits: deliver::Limits { concurrency: self.smtp.concurrency.max(1), rate_per_sec: f64::from(self.smtp.rate_per_sec) },
        });
        deliver::Options {
            smtp,
            sms: self.sms_options(),
            // Checked when the configuration was loaded (`check`).
            push: self.push_options().ok().flatten(),
            tracking,
            webhook: deliver::WebhookOptions {
                timeout: std::time::Duration::from_secs(self.webhook.timeout_secs),
                secret: Some(self.webhook.secret.clone()).filter(|s| !s.is_empty()),
                allow_private: self.webhook.allow_private,
                limits: deliver::Limits {
                    concurrency: self.webhook.concurrency.max(1),
                    rate_per_sec: f64::from(self.webhook.rate_per_sec),
                },
            },
        }
    }

    /// The SMS channel, when an account is set.
    pub fn sms_options(&self) -> Option<deliver::SmsOptions> {
        (!self.sms.account_sid.trim().is_empty()).then(|| deliver::SmsOptions {
            base_url: self.sms.base_url.clone(),
            account_sid: self.sms.account_sid.clone(),
            auth_token: self.sms.auth_token.clone(),
            from: self.sms.from.clone(),
            timeout: std::time::Duration::from_secs(self.sms.timeout_secs),
            limits: deliver::Limits { concurrency: self.sms.concurrency.max(1), rate_per_sec: f64::from(self.sms.rate_per_sec) },
        })
    }

    /// The push channel, when a service account key file is named; why not, when it cannot be
    /// read or is not a key.
    pub fn push_options(&self) -> Result<Option<deliver::PushOptions>, String> {
        let path = self.push.service_account_file.trim();
        if path.is_empty() {
            return Ok(None);
        }
        let json = std::fs::read_to_string(path).map_err(|e| format!("reading {path:?}: {e}"))?;
        let service_account = deliver::ServiceAccount::parse(&json).map_err(|e| format!("{path:?}: {e}"))?;
        Ok(Some(deliver::PushOptions {
            base_url: self.push.base_url.clone(),
            service_account,
            timeout: std::time::Duration::from_secs(self.push.timeout_secs),
            limits: deliver::Limits { concurrency: self.push.concurrency.max(1), rate_per_sec: f64::from(self.push.rate_per_sec) },
        }))
    }

    pub fn engine_options(&self) -> engine::Options {
        use domain::time::Duration;
        engine::Options {
            retry: engine::RetryPolicy {
                base: Duration::seconds(self.delivery.retry_base_secs.max(1)),
                cap: Duration::seconds(self.delivery.retry_cap_secs.max(1)),
                max_attempts: self.delivery.max_attempts.max(1),
            },
            hot_people: self.engine.hot_people,
            caps: [
                (Some(deliver::EMAIL), self.delivery.email_cap, &self.delivery.email_cap_within),
                (None, self.delivery.cap, &self.delivery.cap_within),
            ]
            .into_iter()
            .filter(|(_, max, _)| *max > 0)
            .filter_map(|(channel, max, within)| {
                let within = within.parse::<Duration>().ok()?;
                Some(engine::FrequencyCap { channel: channel.map(str::to_owned), max, within })
            })
            .collect(),
            in_app_ttl: self.delivery.in_app_ttl.parse::<Duration>().unwrap_or(Duration::days(30)),
            ..engine::Options::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_load_and_environment_overrides_every_kind_of_key() {
        let c = Config::load(None, &env(&[])).expect("defaults");
        assert_eq!(c.listen, "127.0.0.1:8420");
        assert!(c.smtp.host.is_empty());
        let c = Config::load(
            None,
            &env(&[
                ("WAYFARER_SMTP_HOST", "mail.test"),
                ("WAYFARER_INGEST_MAX_EVENT_BYTES", "1000"),
                ("WAYFARER_WEBHOOK_ALLOW_PRIVATE", "true"),
                ("WAYFARER_ENGINE_HOT_PEOPLE", "5"),
            ]),
        )
        .expect("env");
        assert_eq!((c.smtp.host.as_str(), c.ingest.max_event_bytes, c.webhook.allow_private), ("mail.test", 1000, true));
        assert_eq!(c.engine_options().hot_people, 5);
        assert_eq!(Config::load(None, &env(&[])).expect("defaults").engine_options().hot_people, engine::Options::default().hot_people);
        // A frequency cap for email: none by default.
        assert_eq!(Config::load(None, &env(&[])).expect("defaults").engine_options().caps, []);
        let capped =
            Config::load(None, &env(&[("WAYFARER_DELIVERY_EMAIL_CAP", "3"), ("WAYFARER_DELIVERY_EMAIL_CAP_WITHIN", "2d")])).expect("cap");
        let want = engine::FrequencyCap { channel: Some("email".into()), max: 3, within: domain::time::Duration::days(2) };
        assert_eq!(capped.engine_options().caps, [want]);
        let global = Config::load(None, &env(&[("WAYFARER_DELIVERY_CAP", "2")])).expect("cap");
        let want = engine::FrequencyCap { channel: None, max: 2, within: domain::time::Duration::days(1) };
        assert_eq!(global.engine_options().caps, [want], "across every channel, in a day by default");
        let err = Config::load(None, &env(&[("WAYFARER_DELIVERY_EMAIL_CAP_WITHIN", "weekly")])).expect_err("bad window");
        assert!(err.to_string().contains("delivery.email_cap_within"), "{err}");
        // SMS: off by default; an account without its token or sender is refused at start.
        assert!(Config::load(None, &env(&[])).expect("defaults").sms_options().is_none());
        let err =
            Config::load(None, &env(&[("WAYFARER_SMS_ACCOUNT_SID", "AC1"), ("WAYFARER_SMS_FROM", "+15005550006")])).expect_err("no token");
        assert_eq!(err.to_string(), "sms: sms.auth_token is not set (the SMS channel needs the account SID, its auth token and a sender)");
        let sms = Config::load(
            None,
            &env(&[("WAYFARER_SMS_ACCOUNT_SID", "AC1"), ("WAYFARER_SMS_AUTH_TOKEN", "t0ken"), ("WAYFARER_SMS_FROM", "MG9")]),
        )
        .expect("sms");
        let o = sms.sms_options().expect("on");
        assert_eq!((o.base_url.as_str(), o.from.as_str(), o.limits.concurrency), ("https://api.twilio.com", "MG9", 8));
        assert!(!sms.show().contains("t0ken"), "the token is masked");
        // Push: off by default; a key file that cannot be read or is no key is refused at start.
        assert!(matches!(Config::load(None, &env(&[])).expect("defaults").push_options(), Ok(None)));
        let err = Config::load(None, &env(&[("WAYFARER_PUSH_SERVICE_ACCOUNT_FILE", "/nonexistent/key.json")])).expect_err("no file");
        assert!(err.to_string().starts_with("push.service_account_file: reading \"/nonexistent/key.json\""), "{err}");
    }

    #[test]
    fn file_overrides_defaults_and_bad_values_name_their_key() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("w.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\n[smtp]\nport = 2525\n").expect("write");
        let c = Config::load(Some(&path), &env(&[])).expect("file");
        assert_eq!((c.listen.as_str(), c.smtp.port, c.smtp.tls.as_str()), ("0.0.0.0:9000", 2525, "starttls"));
        let err = Config::load(None, &env(&[("WAYFARER_SMTP_PORT", "lots")])).expect_err("bad");
        assert_eq!(err.to_string(), "WAYFARER_SMTP_PORT: \"lots\" is not an integer");
        std::fs::write(&path, "[smtp]\nhots = \"typo\"\n").expect("write");
        let err = Config::load(Some(&path), &env(&[])).expect_err("unknown key");
        assert!(err.to_string().contains("hots"), "{err}");
        let err = Config::load(None, &env(&[("WAYFARER_WEBHOOK_SECRET", "s3cret")])).expect_err("not a whsec_ secret");
        assert!(err.to_string().starts_with("webhook.secret: the webhook secret does not start with \"whsec_\""), "{err}");
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        assert_eq!(Config::load(None, &env(&[("WAYFARER_WEBHOOK_SECRET", secret)])).expect("a whsec_ secret").webhook.secret, secret);
    }
}
