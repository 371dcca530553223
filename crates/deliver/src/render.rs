//! Liquid templates, rendered with the person's traits and the triggering event; the HTML
//! part of an email is escaped by default (`Renderer`, `html`).

mod html;

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

/// Renders Liquid templates; parses each distinct source once and keeps it.
///
/// **The HTML part of an email is escaped by default**: whatever an output (`{{ ... }}`)
/// writes there is HTML-escaped (`& < > " '`), wherever the value comes from (traits, event
/// properties, `assign`, a `for` loop's variable, a nested object) and whatever filters it went
/// through, so a `firstName` of `<img src=x onerror=...>` arrives as text. The opt-out is the
/// `raw` filter as the **last** filter of an output, for values the template's author trusts:
/// `{{ traits.signature_html | raw }}`. It applies to that one output only; `raw` anywhere else
/// in a chain does nothing, and an output already ending in `escape` or `escape_once` is not
/// escaped twice. A `capture` holds HTML already escaped: output it with `| raw`. (The
/// convention is LiquidJS's `outputEscape: "escape"`.) The subject, the text part and webhook
/// bodies are not HTML and are not escaped; `raw` does nothing there. Only the template's source
/// decides what is raw: values are rendered, never parsed, so no value can turn escaping off.
/// See `html` for how.
pub struct Renderer {
    plain: liquid::Parser,
    html: liquid::Parser,
    cache: Mutex<HashMap<(Syntax, String), Arc<liquid::Template>>>,
}

/// What a source is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Syntax {
    Plain,
    Html,
}

impl Default for Renderer {
    fn default() -> Self {
        let plain = liquid::ParserBuilder::with_stdlib().filter(html::RawFilter);
        let html = liquid::ParserBuilder::with_stdlib().filter(html::RawFilter).tag(html::Escaping(liquid_lib::stdlib::CycleTag));
        Renderer {
            plain: plain.build().expect("the standard Liquid library builds"),
            html: html.build().expect("the standard Liquid library builds"),
            cache: Mutex::new(HashMap::new()),
        }
    }
}

impl Renderer {
    /// Checks that a source parses (as plain text and as an HTML part); the message says where
    /// it does not.
    pub fn check(&self, source: &str) -> Result<(), String> {
        self.parse(Syntax::Plain, source)?;
        self.parse(Syntax::Html, source).map(|_| ())
    }

    /// Parses a source. The Liquid parser panics on some sources instead of returning an error
    /// (liquid-core 0.26.11: a block left open inside `{% comment %}`, such as
    /// `{% comment %}{% if a %}`, and an integer too large for `i64`; both found by fuzzing),
    /// and a panic here would end the dispatcher's task: such a source is an error like any other.
    fn parse(&self, syntax: Syntax, source: &str) -> Result<liquid::Template, String> {
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match syntax {
            Syntax::Plain => self.plain.parse(source),
            Syntax::Html => self.html.parse(&html::autoescape(source)),
        }));
        match parsed {
            Ok(parsed) => parsed.map_err(|e| e.to_string()),
            Err(_) => Err("the Liquid parser failed on it (a block left open inside a comment? a number too large?)".to_owned()),
        }
    }

    fn template(&self, syntax: Syntax, source: &str) -> Result<Arc<liquid::Template>, Error> {
        let key = (syntax, source.to_owned());
        if let Some(t) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(t);
        }
        let t = Arc::new(self.parse(syntax, source).map_err(|e| Error::Permanent(format!("template does not parse: {e}")))?);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(key, t.clone());
        }
        Ok(t)
    }

    fn render_as(&self, syntax: Syntax, source: &str, ctx: &Value) -> Result<String, Error> {
        if !source.contains("{{") && !source.contains("{%") {
            return Ok(source.to_owned());
        }
        let globals = liquid::model::to_object(ctx).map_err(|e| Error::Permanent(format!("template context: {e}")))?;
        self.template(syntax, source)?.render(&globals).map_err(|e| Error::Permanent(format!("template does not render: {e}")))
    }

    /// Renders one Liquid source with `ctx` (a JSON object: `traits`, `event`, `profile_id`),
    /// as text: nothing is escaped.
    pub fn render(&self, source: &str, ctx: &Value) -> Result<String, Error> {
        self.render_as(Syntax::Plain, source, ctx)
    }

    /// Renders one Liquid source as HTML: every output is HTML-escaped unless its last filter is
    /// `raw` (see `Renderer`).
    pub fn render_html(&self, source: &str, ctx: &Value) -> Result<String, Error> {
        self.render_as(Syntax::Html, source, ctx)
    }

    /// Renders an email's three parts; only `html` is escaped.
    pub fn email(&self, t: &EmailTemplate, ctx: &Value) -> Result<Rendered, Error> {
        let part = |name: &str, syntax: Syntax, src: &str| {
            self.render_as(syntax, src, ctx).map_err(|e| Error::Permanent(format!("template {:?}, {name}: {e}", t.id)))
        };
        Ok(Rendered {
            subject: part("subject", Syntax::Plain, &t.subject)?,
            html: part("html", Syntax::Html, &t.html)?,
            text: part("text", Syntax::Plain, &t.text)?,
        })
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

    const EVIL: &str = r#"<img src=x onerror="alert('1')">&"#;
    const EVIL_ESCAPED: &str = "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;";

    fn hostile() -> Value {
        json!({
            "traits": {"firstName": EVIL, "tags": [EVIL, "ok"], "address": {"city": EVIL}, "trusted": "<b>hi</b>",
                       "liquid": "{{ traits.trusted | raw }}{% raw %}"},
            "event": {"q": "%3Cscript%3E", "items": [{"name": EVIL}, {"name": "<u>"}]},
        })
    }

    /// Each source is rendered as all three parts of one email: the HTML part must come out
    /// as `html`, the subject and the text part as `plain` (nothing escaped).
    #[test]
    fn the_html_part_escapes_every_output_and_the_subject_and_text_do_not() {
        let e = EVIL_ESCAPED;
        let cases: Vec<(&str, String, String)> = vec![
            ("{{ traits.firstName }}", e.into(), EVIL.into()),
            (
                "<p>{{ traits.firstName | upcase }}</p>",
                "<p>&lt;IMG SRC=X ONERROR=&quot;ALERT(&#39;1&#39;)&quot;&gt;&amp;</p>".into(),
                format!("<p>{}</p>", EVIL.to_uppercase()),
            ),
            ("{{ event.q | url_decode }}", "&lt;script&gt;".into(), "<script>".into()),
            (
                "{{ traits.firstName | prepend: '<i>' | append: traits.trusted }}",
                format!("&lt;i&gt;{e}&lt;b&gt;hi&lt;/b&gt;"),
                format!("<i>{EVIL}<b>hi</b>"),
            ),
            ("{% for t in traits.tags %}[{{ t }}]{% endfor %}", format!("[{e}][ok]"), format!("[{EVIL}][ok]")),
            ("{% for i in event.items %}{{ i.name }},{% endfor %}", format!("{e},&lt;u&gt;,"), format!("{EVIL},<u>,")),
            ("{% assign n = traits.firstName %}{{ n }}", e.into(), EVIL.into()),
            ("{% assign n = traits.tags | first %}{{ n | strip }}", e.into(), EVIL.into()),
            ("{{ traits.address.city }} {{ traits['address']['city'] }}", format!("{e} {e}"), format!("{EVIL} {EVIL}")),
            ("{{ traits.tags }}", format!("{e}ok"), format!("{EVIL}ok")),
            ("{{ traits.tags | join: '<br>' }}", format!("{e}&lt;br&gt;ok"), format!("{EVIL}<br>ok")),
            ("{% if traits.firstName %}{{ traits.firstName }}{% endif %}", e.into(), EVIL.into()),
            (
                "{% case traits.tags.size %}{% when 2 %}{{ traits.tags.last }}{{ traits.firstName }}{% endcase %}",
                format!("ok{e}"),
                format!("ok{EVIL}"),
            ),
            ("{% capture c %}<b>{{ traits.firstName }}</b>{% endcapture %}{{ c | raw }}", format!("<b>{e}</b>"), format!("<b>{EVIL}</b>")),
            ("{% cycle traits.firstName, 'x' %}{% cycle traits.firstName, 'x' %}", format!("{e}x"), format!("{EVIL}x")),
            ("<p>\n  {{- traits.firstName -}}\n</p>", format!("<p>{e}</p>"), format!("<p>{EVIL}</p>")),
            // The opt-out: `raw` last, for that output only.
            ("{{ traits.trusted | raw }}{{ traits.firstName }}", format!("<b>hi</b>{e}"), format!("<b>hi</b>{EVIL}")),
            ("{{ traits.trusted | raw | append: traits.firstName }}", format!("&lt;b&gt;hi&lt;/b&gt;{e}"), format!("<b>hi</b>{EVIL}")),
            ("{{ traits.firstName | escape }}", e.into(), e.into()),
            ("{% raw %}{{ traits.firstName }}{% endraw %}", "{{ traits.firstName }}".into(), "{{ traits.firstName }}".into()),
            // Data that looks like Liquid is text, never parsed: it cannot ask for `raw`.
            ("{{ traits.liquid }}", "{{ traits.trusted | raw }}{% raw %}".into(), "{{ traits.trusted | raw }}{% raw %}".into()),
        ];
        let r = Renderer::default();
        for (source, html, plain) in cases {
            let t = EmailTemplate { id: "t".into(), subject: source.into(), html: source.into(), text: source.into() };
            let out = r.email(&t, &hostile()).unwrap_or_else(|e| panic!("{source}: {e}"));
            assert_eq!(out.html, html, "html part of {source}");
            assert_eq!(out.subject, plain, "subject of {source}");
            assert_eq!(out.text, plain, "text part of {source}");
            assert!(r.check(source).is_ok(), "{source} checks");
        }
    }

    #[test]
    fn raw_takes_no_arguments_and_is_checked_like_any_filter() {
        let r = Renderer::default();
        assert!(r.check("{{ traits.a | raw: 1 }}").is_err());
        assert!(r.check("{{ traits.a | rawr }}").is_err());
        let err = r.render_html("{{ traits.a | raw: 1 }}", &json!({"traits": {"a": "x"}})).expect_err("arguments");
        assert!(!err.is_retryable() && err.to_string().contains("raw"), "{err}");
    }

    #[test]
    fn webhook_bodies_are_not_escaped() {
        let out = Renderer::default().json(&json!({"name": "{{ traits.firstName }}"}), &hostile()).expect("renders");
        assert_eq!(out, json!({"name": EVIL}));
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
