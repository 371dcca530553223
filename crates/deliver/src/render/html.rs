//! Escaping by default in the HTML part of an email.
//!
//! Every output (`{{ ... }}`) of an HTML source gets `| escape` appended, unless its last
//! filter is `raw` (the opt-out, as in LiquidJS's `outputEscape`) or already `escape` or
//! `escape_once`. The rewrite is done on the source, before Liquid parses it, so it holds
//! wherever a value comes from (traits, event properties, `assign`, `for` loop variables,
//! nested objects) and whatever filters it went through. `{% raw %}` blocks are left as they
//! are, and the `cycle` tag (the one standard tag that writes values) escapes what it writes.
//!
//! The source is split with Liquid's own grammar (`liquid.pest`), so what is rewritten is
//! exactly what Liquid will see as an output. Data never reaches this step: values are only
//! ever rendered, never parsed, so no value can turn escaping off.

use std::io::Write;

use liquid_core::parser::{FilterArguments, FilterReflection, ParameterReflection, ParseFilter, ParseTag, TagReflection};
use liquid_core::runtime::{Renderable, Runtime};
use liquid_core::{Language, TagTokenIter, Value, ValueView};

use super::lex::{self, Piece, Rule};

/// The filters after which an output needs no more escaping.
const FINAL: [&str; 3] = ["raw", "escape", "escape_once"];

/// `source` with `| escape` appended to each output that needs it (see the module's doc).
pub(crate) fn autoescape(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + 64);
    let mut copied = 0;
    for piece in lex::pieces(source) {
        let Piece::Output(chain) = piece else { continue };
        // FilterChain > (Value, Filter...).
        let last_filter = chain.clone().into_inner().filter(|p| p.as_rule() == Rule::Filter).last();
        if !last_filter.as_ref().and_then(lex::filter_name).is_some_and(|name| FINAL.contains(&name)) {
            // The chain's span may include the whitespace before `}}`.
            let end = chain.as_span().start() + chain.as_str().trim_end().len();
            out.push_str(&source[copied..end]);
            out.push_str(" | escape");
            copied = end;
        }
    }
    out.push_str(&source[copied..]);
    out
}

/// What the `escape` filter does: `& < > " '` become entities.
fn escape_into(out: &mut Vec<u8>, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.extend_from_slice(b"&amp;"),
            '<' => out.extend_from_slice(b"&lt;"),
            '>' => out.extend_from_slice(b"&gt;"),
            '"' => out.extend_from_slice(b"&quot;"),
            '\'' => out.extend_from_slice(b"&#39;"),
            c => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

/// `raw`: returns its input unchanged. As the last filter of an HTML output it keeps the output
/// from being escaped; anywhere else (and in the subject, the text part and webhook bodies) it
/// does nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawFilter;

impl FilterReflection for RawFilter {
    fn name(&self) -> &str {
        "raw"
    }
    fn description(&self) -> &str {
        "Outputs the value without HTML escaping (last filter of an output in an HTML part)."
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for RawFilter {
    fn parse(&self, mut arguments: FilterArguments) -> liquid_core::Result<Box<dyn liquid_core::parser::Filter>> {
        if arguments.positional.next().is_some() || arguments.keyword.next().is_some() {
            return Err(liquid_core::Error::with_msg("the raw filter takes no arguments"));
        }
        Ok(Box::new(Raw))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

#[derive(Debug)]
struct Raw;

impl std::fmt::Display for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("raw")
    }
}

impl liquid_core::parser::Filter for Raw {
    fn evaluate(&self, input: &dyn ValueView, _runtime: &dyn Runtime) -> liquid_core::Result<Value> {
        Ok(input.to_value())
    }
}

/// A tag that escapes what the wrapped tag writes (for `cycle`, in HTML parts).
#[derive(Clone)]
pub(crate) struct Escaping<T>(pub(crate) T);

impl<T: ParseTag + Clone + 'static> ParseTag for Escaping<T> {
    fn parse(&self, arguments: TagTokenIter, options: &Language) -> liquid_core::Result<Box<dyn Renderable>> {
        Ok(Box::new(Escaped(self.0.parse(arguments, options)?)))
    }
    fn reflection(&self) -> &dyn TagReflection {
        self.0.reflection()
    }
}

#[derive(Debug)]
struct Escaped(Box<dyn Renderable>);

impl Renderable for Escaped {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> liquid_core::Result<()> {
        let text = self.0.render(runtime)?;
        let mut escaped = Vec::with_capacity(text.len());
        escape_into(&mut escaped, &text);
        writer.write_all(&escaped).map_err(|e| liquid_core::Error::with_msg(format!("writing: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_get_escape_appended_unless_they_end_in_raw_or_escape() {
        let cases = [
            ("{{ a }}", "{{ a | escape }}"),
            ("{{a}}", "{{a | escape}}"),
            ("{{- a.b[0] | upcase -}}", "{{- a.b[0] | upcase | escape -}}"),
            ("{{ a | raw }}", "{{ a | raw }}"),
            ("{{ a | raw | upcase }}", "{{ a | raw | upcase | escape }}"),
            ("{{ a | escape }} {{ a | escape_once }}", "{{ a | escape }} {{ a | escape_once }}"),
            (r#"{{ "}} | raw" | append: a }}"#, r#"{{ "}} | raw" | append: a | escape }}"#),
            ("{% assign x = '{{ a }}' %}{{ x }}", "{% assign x = '{{ a }}' %}{{ x | escape }}"),
            ("{% raw %}{{ a }}{% endraw %}{{ a }}", "{% raw %}{{ a }}{% endraw %}{{ a | escape }}"),
            ("{% raw %}{% raw %}{{ a }}{% endraw %}{{ a }}", "{% raw %}{% raw %}{{ a }}{% endraw %}{{ a | escape }}"),
            ("{% comment %}{{ a }}{% endcomment %}", "{% comment %}{{ a | escape }}{% endcomment %}"),
            ("plain <b>text</b>", "plain <b>text</b>"),
            ("{{ }} {{ a }}", "{{ }} {{ a | escape }}"),
        ];
        for (source, expected) in cases {
            assert_eq!(autoescape(source), expected, "{source}");
        }
    }
}
