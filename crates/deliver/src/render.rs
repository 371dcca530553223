//! Liquid templates, rendered with the person's traits and the triggering event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::Error;

/// What templates see (the engine builds it): the person's traits, the properties of what
/// started the run, its name, the journey and the person's id.
pub const VARIABLES: [&str; 5] = ["traits", "event", "event_name", "journey", "profile_id"];

/// The top-level variables a Liquid source reads, minus those it defines itself
/// (`assign`, `capture`, `for`). A light scan, good for diagnostics.
pub fn variables(source: &str) -> std::collections::BTreeSet<String> {
    let mut used = std::collections::BTreeSet::new();
    let mut local = std::collections::BTreeSet::new();
    let mut rest = source;
    while let Some(start) = rest.find(['{']) {
        rest = &rest[start..];
        let (close, is_tag) = if rest.starts_with("{{") {
            ("}}", false)
        } else if rest.starts_with("{%") {
            ("%}", true)
        } else {
            rest = &rest[1..];
            continue;
        };
        // The closing delimiter is looked for after the opening one: in `{%}` the `%}` found
        // from the start overlaps it (found by fuzzing: the slice below panicked).
        let Some(end) = rest[2..].find(close).map(|i| i + 2) else { break };
        let inner = rest[2..end].trim_matches(|c: char| c == '-' || c.is_whitespace());
        rest = &rest[end + 2..];
        let mut words =
            inner.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == '"' || c == '\'')).filter(|w| !w.is_empty());
        let exprs: Vec<&str> = if is_tag {
            match words.next() {
                Some("assign" | "capture") => {
                    local.extend(words.next().map(str::to_owned));
                    words.collect()
                }
                Some("for") => {
                    local.extend(words.next().map(str::to_owned));
                    words.filter(|w| *w != "in").collect()
                }
                Some("if" | "elsif" | "unless" | "case" | "when") => words.collect(),
                _ => Vec::new(),
            }
        } else {
            words.take(1).collect()
        };
        for e in exprs {
            let root = e.split('.').next().unwrap_or("");
            let literal = root.starts_with(['"', '\'']) || root.chars().next().is_some_and(|c| c.is_ascii_digit());
            let keyword = ["and", "or", "contains", "true", "false", "nil", "null", "empty", "blank", "forloop"].contains(&root);
            if !root.is_empty() && !literal && !keyword {
                used.insert(root.to_owned());
            }
        }
    }
    used.retain(|v| !local.contains(v));
    used
}

/// An email's three parts, each a Liquid template.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailTemplate {
    pub id: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl Rendered {
    /// The message as recorded in the outbox.
    pub fn describe(&self, to: &str, from: Option<&str>) -> Value {
        json!({"to": to, "from": from, "subject": self.subject, "html": self.html, "text": self.text})
    }
}

/// Parses each distinct source once and keeps it.
pub struct Renderer {
    parser: liquid::Parser,
    cache: Mutex<HashMap<String, Arc<liquid::Template>>>,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer {
            parser: liquid::ParserBuilder::with_stdlib().build().expect("the standard Liquid library builds"),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl Renderer {
    /// Parses a source. The Liquid parser panics on some sources instead of returning an error
    /// (liquid-core 0.26.11: a block left open inside `{% comment %}`, such as
    /// `{% comment %}{% if a %}`, and an integer too large for `i64`; both found by fuzzing),
    /// and a panic here would end the dispatcher's task: such a source is an error like any other.
    fn parse(&self, source: &str) -> Result<liquid::Template, String> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.parser.parse(source))) {
            Ok(parsed) => parsed.map_err(|e| e.to_string()),
            Err(_) => Err("the Liquid parser failed on it (a block left open inside a comment? a number too large?)".to_owned()),
        }
    }

    /// Checks that a source parses; the message says where it does not.
    pub fn check(&self, source: &str) -> Result<(), String> {
        self.parse(source).map(|_| ())
    }

    fn template(&self, source: &str) -> Result<Arc<liquid::Template>, Error> {
        if let Some(t) = self.cache.lock().ok().and_then(|c| c.get(source).cloned()) {
            return Ok(t);
        }
        let t = Arc::new(self.parse(source).map_err(|e| Error::Permanent(format!("template does not parse: {e}")))?);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(source.to_owned(), t.clone());
        }
        Ok(t)
    }

    /// Renders one Liquid source with `ctx` (a JSON object: `traits`, `event`, `profile_id`).
    pub fn render(&self, source: &str, ctx: &Value) -> Result<String, Error> {
        if !source.contains("{{") && !source.contains("{%") {
            return Ok(source.to_owned());
        }
        let globals = liquid::model::to_object(ctx).map_err(|e| Error::Permanent(format!("template context: {e}")))?;
        self.template(source)?.render(&globals).map_err(|e| Error::Permanent(format!("template does not render: {e}")))
    }

    pub fn email(&self, t: &EmailTemplate, ctx: &Value) -> Result<Rendered, Error> {
        let part = |name: &str, src: &str| self.render(src, ctx).map_err(|e| Error::Permanent(format!("template {:?}, {name}: {e}", t.id)));
        Ok(Rendered { subject: part("subject", &t.subject)?, html: part("html", &t.html)?, text: part("text", &t.text)? })
    }

    /// Renders every string inside a JSON value (a webhook body template).
    pub fn json(&self, body: &Value, ctx: &Value) -> Result<Value, Error> {
        Ok(match body {
            Value::String(s) => Value::String(self.render(s, ctx)?),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.json(v, ctx)).collect::<Result<_, _>>()?),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), self.json(v, ctx)?))).collect::<Result<_, Error>>()?)
            }
            other => other.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_traits_and_event_properties() {
        let r = Renderer::default();
        let t = EmailTemplate {
            id: "invite".into(),
            subject: "{{ traits.firstName }}, a free consultation?".into(),
            html: "<p>You looked at {{ event.path }}</p>".into(),
            text: "plain".into(),
        };
        let ctx = json!({"traits": {"firstName": "Alice"}, "event": {"path": "/products/x"}});
        let out = r.email(&t, &ctx).expect("renders");
        assert_eq!(out.subject, "Alice, a free consultation?");
        assert_eq!(out.html, "<p>You looked at /products/x</p>");
    }

    #[test]
    fn a_missing_variable_is_a_permanent_error_naming_the_template() {
        let r = Renderer::default();
        let t = EmailTemplate { id: "invite".into(), subject: "{{ traits.nope }}".into(), html: String::new(), text: String::new() };
        let err = r.email(&t, &json!({"traits": {}})).expect_err("missing variable");
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("\"invite\", subject"), "{err}");
    }

    #[test]
    fn variables_finds_the_roots_a_template_reads() {
        let src = "Hi {{ traits.firstName | default: 'x' }} {% if event.plan == \"pro\" and coupon %}{{ coupon }}{% endif %}\
                   {% assign n = traits.orders %}{{ n }}{% for item in event.items %}{{ item.name }}{% endfor %}";
        let found: Vec<_> = variables(src).into_iter().collect();
        assert_eq!(found, ["coupon", "event", "traits"]);
    }

    #[test]
    fn variables_reads_unclosed_and_overlapping_delimiters_without_panicking() {
        for src in ["{%}", "{{}", "{%}}", "{{%}", "x {%", "{%}{{ a }}"] {
            assert!(variables(src).is_empty(), "{src:?}");
        }
        assert_eq!(variables("{{}} {% if a %}").into_iter().collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn a_source_the_liquid_parser_panics_on_is_an_error() {
        let r = Renderer::default();
        let sources =
            ["{% comment %}{% if a %}", "{% comment %}{% raw %}", "Hi {% comment %}{% for x in y %}{{ x }}", "{{ 99999999999999999999 }}"];
        for src in sources {
            assert!(r.check(src).is_err(), "{src:?}");
            let err = r.render(src, &json!({})).expect_err(src);
            assert!(!err.is_retryable() && err.to_string().contains("does not parse"), "{err}");
        }
    }

    #[test]
    fn json_bodies_render_every_string() {
        let r = Renderer::default();
        let out = r
            .json(
                &json!({"user": "{{ traits.email }}", "n": 3, "tags": ["{{ event.plan }}"]}),
                &json!({"traits": {"email": "a@x.test"}, "event": {"plan": "pro"}}),
            )
            .expect("renders");
        assert_eq!(out, json!({"user": "a@x.test", "n": 3, "tags": ["pro"]}));
    }
}
