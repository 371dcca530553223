//! Liquid templates, rendered with the person's traits and the triggering event; the HTML
//! part of an email is escaped by default (`Renderer`, `html`); a missing variable fails the
//! render unless its filter chain has a `default` (`lenient`); a source that is one output can
//! be rendered as a typed JSON value (`Renderer::value`); `variables` says what a source reads.

mod html;
mod lenient;
mod lex;
mod typed;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::Error;

pub use lex::variables;

/// What templates see (the engine builds it): the person's traits, the properties of what
/// started the run, its name, the journey, the person's id and the run's variables.
pub const VARIABLES: [&str; 6] = ["traits", "event", "event_name", "journey", "profile_id", "run"];

/// What an email template reads besides: `unsubscribe_url`, the person's one-click unsubscribe
/// page for this message (empty when tracking is not configured).
pub const EMAIL_VARIABLES: [&str; 7] = ["traits", "event", "event_name", "journey", "profile_id", "run", "unsubscribe_url"];

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
///
/// **A missing variable fails the render** (a permanent error naming it), so a typo or a trait
/// a person lacks is seen, not sent as an empty string; except at the start of a filter chain
/// that contains `default`, where it is `nil`: `{{ traits.firstName | default: "there" }}`.
/// See `lenient`.
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
        let ours = || liquid::ParserBuilder::with_stdlib().filter(html::RawFilter).filter(lenient::OrNilFilter).filter(typed::TypedFilter);
        let plain = ours();
        let html = ours().tag(html::Escaping(liquid_lib::stdlib::CycleTag));
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
        let source = lenient::rewrite(source);
        let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match syntax {
            Syntax::Plain => self.plain.parse(&source),
            Syntax::Html => self.html.parse(&html::autoescape(&source)),
        }));
        match parsed {
            // Liquid lists the filters it knows when a name is wrong: not the internal ones.
            Ok(parsed) => parsed.map_err(|e| e.to_string().replace(&format!("{}, {}, ", lenient::OR_NIL, typed::TYPED), "")),
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

    /// Renders one Liquid source with `ctx` (a JSON object with the `VARIABLES`), as text:
    /// nothing is escaped.
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

    /// The typed value of a source (an `update` step's values, run variables): when `source`,
    /// trimmed, is exactly one output (`{{ expr }}`, with or without filters) and nothing else,
    /// the JSON value of the expression after its filters: a number stays a number, a boolean a
    /// boolean, an array or an object stays structured (`{{ event.items }}`), `nil` is `null`.
    /// Otherwise the rendered text, as a string (a string without Liquid is itself). Missing
    /// variables fail as in `render` (unless `default`).
    pub fn value(&self, source: &str, ctx: &Value) -> Result<Value, Error> {
        let Some(chain) = lex::sole_output(source.trim()) else {
            return self.render(source, ctx).map(Value::String);
        };
        let json = self.render(&format!("{{{{ {chain} | {} }}}}", typed::TYPED), ctx)?;
        serde_json::from_str(&json).map_err(|e| Error::Permanent(format!("the value of {source:?} is not JSON: {e}")))
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
        let unknown = r.check("{{ traits.a | rawr }}").expect_err("unknown filter");
        assert!(unknown.contains("abs, append") && !unknown.contains("__"), "internal filters are not listed: {unknown}");
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

    fn person() -> Value {
        json!({
            "traits": {"firstName": "Ann", "orders": 3, "vip": true, "score": 2.5, "code": "007",
                       "address": {"city": "Oslo"}, "nothing": null, "blank": "", "off": false, "none": []},
            "event": {"items": [{"name": "a", "color": "red"}, {"name": "b"}], "key": "orders"},
            "event_name": "Order Completed", "journey": "welcome", "profile_id": 7, "run": {"step": 2},
        })
    }

    /// A chain that contains `default` starts from `nil` when its variable is missing.
    #[test]
    fn default_gives_a_value_to_a_missing_variable() {
        let cases = [
            ("Hi {{ traits.lastName | default: \"there\" }}", "Hi there"),
            ("Hi {{ traits.firstName | default: \"there\" }}", "Hi Ann"),
            ("{{ traits.nothing | default: 'none' }}", "none"),
            // As in Liquid, `default` also replaces an empty string, `false` and an empty list.
            ("{{ traits.blank | default: 1 }}{{ traits.off | default: 2 }}{{ traits.none | default: 3 }}", "123"),
            ("{{ traits.address.zip | default: '?' }}{{ traits.company.name | default: '?' }}", "??"),
            ("{{ traits[event.missing] | default: 'dyn' }}", "dyn"),
            ("{{ event.items[5].name | default: 'none' }}", "none"),
            ("{{ traits.lastName | upcase | default: 'X' }}", "X"),
            ("{{ traits.lastName | default: traits.firstName | upcase }}", "ANN"),
            ("{% assign n = traits.visits | default: 0 | plus: 1 %}{{ n }}", "1"),
            ("{% for i in event.items %}{{ i.color | default: 'plain' }},{% endfor %}", "red,plain,"),
            ("{{ run.step | default: 0 }} {{ run.other | default: 0 }}", "2 0"),
            ("{%- if traits.lastName -%}x{%- endif -%}{{ traits.lastName | default: 'y' }}", "y"),
        ];
        let r = Renderer::default();
        for (source, expected) in cases {
            assert_eq!(r.render(source, &person()).unwrap_or_else(|e| panic!("{source}: {e}")), expected, "{source}");
            assert!(r.check(source).is_ok(), "{source} checks");
        }
        // In an HTML part the default is escaped like any value.
        let out = r.render_html("<p>{{ traits.lastName | default: '<you>' }}</p>", &person()).expect("renders");
        assert_eq!(out, "<p>&lt;you&gt;</p>");
    }

    /// Without `default`, a missing variable still fails the message, wherever it is.
    #[test]
    fn a_missing_variable_without_default_still_fails() {
        let sources = [
            "{{ traits.lastName }}",
            "{{ traits.lastName | upcase }}",
            "{{ traits.address.zip }}",
            // Only the start of the chain is lenient: an argument must exist.
            "{{ traits.lastName | default: traits.middleName }}",
            "{% assign n = traits.visits | plus: 1 %}{{ n }}",
            "{{ traits.firstName | default: 'x' }} {{ traits.lastName }}",
            "{% if traits.lastName == 'x' %}{% endif %}",
            "{{ run.other }}",
        ];
        let r = Renderer::default();
        for source in sources {
            let err = r.render(source, &person()).expect_err(source);
            assert!(!err.is_retryable() && err.to_string().contains("does not render"), "{source}: {err}");
        }
        let t = EmailTemplate { id: "t".into(), subject: "{{ traits.lastName }}".into(), html: String::new(), text: String::new() };
        let err = r.email(&t, &person()).expect_err("subject");
        assert!(err.to_string().contains("lastName"), "names the variable: {err}");
    }

    /// `value`: one output alone keeps its type; anything else is the rendered string.
    #[test]
    fn value_keeps_the_type_of_a_single_output() {
        let cases = [
            ("{{ traits.orders | plus: 1 }}", json!(4)),
            ("{{ traits.orders }}", json!(3)),
            ("  {{ traits.orders }}\n", json!(3)),
            ("{{- traits.orders -}}", json!(3)),
            ("{{ traits.score }}", json!(2.5)),
            ("{{ traits.score | times: 2 }}", json!(5.0)),
            ("{{ traits.vip }}", json!(true)),
            ("{{ traits.nothing }}", json!(null)),
            ("{{ traits.code }}", json!("007")),
            ("{{ traits.firstName | upcase }}", json!("ANN")),
            ("{{ traits.address }}", json!({"city": "Oslo"})),
            ("{{ event.items }}", json!([{"name": "a", "color": "red"}, {"name": "b"}])),
            ("{{ event.items | map: 'name' }}", json!(["a", "b"])),
            ("{{ event.items | size }}", json!(2)),
            ("{{ traits[event.key] }}", json!(3)),
            ("{{ run.step }}", json!(2)),
            ("{{ profile_id }}", json!(7)),
            ("{{ traits.visits | default: 0 | plus: 1 }}", json!(1)),
            ("{{ traits.lastName | default: nil }}", json!(null)),
            ("{{ \"}}\" }}", json!("}}")),
            ("{{ 12 }}", json!(12)),
            // Anything else: the rendered string.
            ("Hi {{ traits.firstName }}", json!("Hi Ann")),
            ("{{ traits.orders }} orders", json!("3 orders")),
            ("{{ traits.orders }}{{ traits.orders }}", json!("33")),
            ("{% if traits.vip %}yes{% endif %}", json!("yes")),
            ("{% assign n = traits.orders %}{{ n }}", json!("3")),
            ("plain text", json!("plain text")),
            ("  spaced  ", json!("  spaced  ")),
            ("3", json!("3")),
            ("", json!("")),
        ];
        let r = Renderer::default();
        for (source, expected) in cases {
            let got = r.value(source, &person()).unwrap_or_else(|e| panic!("{source:?}: {e}"));
            assert_eq!(got, expected, "{source:?}");
        }
    }

    #[test]
    fn value_fails_on_a_missing_variable_and_bad_liquid() {
        let r = Renderer::default();
        for source in [
            "{{ traits.lastName }}",
            "{{ traits.lastName | plus: 1 }}",
            "x {{ traits.lastName }}",
            "{{ traits.orders | nofilter }}",
            "{% if %}",
        ] {
            let err = r.value(source, &person()).expect_err(source);
            assert!(!err.is_retryable(), "{source}: {err}");
        }
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
