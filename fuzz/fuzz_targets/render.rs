//! Liquid templates: `Renderer::email` with any three sources against any JSON context,
//! `Renderer::json` (a webhook body), `Renderer::value` (a typed value), `Renderer::check` and
//! `deliver::variables`.
//!
//! The input is the subject, the html and the text, then the context as JSON, separated by
//! lines of `---`; a missing part is empty (a missing or non-object context: a usual one).
//!
//! Checks: nothing panics; a source that `check` accepts renders or fails with a message,
//! and one it refuses fails to render.
//!
//! Panics inside the Liquid crates are let unwind: `Renderer` catches those of the parser
//! (liquid-core 0.26.11 panics on `{% comment %}{% if a %}` and on `{{ 99999999999999999999 }}`)
//! and reports a parse error; libFuzzer's panic hook would otherwise abort before they are
//! caught. One that `Renderer` does not catch still fails the target.

#![no_main]

use std::sync::{Once, OnceLock};

use deliver::{EmailTemplate, Renderer, variables};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

fn let_liquid_panics_unwind() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let abort = std::panic::take_hook(); // libFuzzer's: report and abort
        std::panic::set_hook(Box::new(move |info| {
            let file = info.location().map_or("", |l| l.file());
            if !(file.contains("/liquid-core-") || file.contains("/liquid-lib-")) {
                abort(info);
            }
        }));
    });
}

/// One renderer for every input, as the server has (building Liquid's parser is most of the
/// time of a small input); its cache is keyed by the source, so the results are the same.
fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(Renderer::default)
}

fuzz_target!(|data: &[u8]| {
    let_liquid_panics_unwind();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(4, "\n---\n");
    let mut next = || parts.next().unwrap_or("").to_owned();
    let (subject, html, plain, context) = (next(), next(), next(), next());
    let ctx = match serde_json::from_str::<Value>(&context) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({"traits": {"firstName": "Ada", "email": "ada@example.test", "orders": 3, "tags": ["vip"]},
                    "event": {"path": "/products/a", "total": 12.5}, "event_name": "Page Viewed",
                    "journey": "consultation", "profile_id": 42}),
    };
    let r = renderer();
    for source in [&subject, &html, &plain] {
        let _ = variables(source);
        let parses = r.check(source).is_ok();
        let rendered = r.render(source, &ctx);
        let value = r.value(source, &ctx);
        let templated = source.contains("{{") || source.contains("{%");
        if !parses && templated {
            assert!(rendered.is_err(), "a source that does not parse does not render: {source:?}");
            assert!(value.is_err(), "a source that does not parse has no value: {source:?}");
        }
    }
    let t = EmailTemplate { id: "fuzz".into(), subject: subject.clone(), html: html.clone(), text: plain.clone() };
    if let Ok(out) = r.email(&t, &ctx) {
        let _ = out.describe("ada@example.test", None);
    }
    let _ = r.json(&json!({"subject": subject, "parts": [html, plain], "n": 1}), &ctx);
});
