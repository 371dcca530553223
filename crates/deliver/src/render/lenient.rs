//! `default` on a missing variable.
//!
//! Liquid (liquid-rust 0.26) fails on a variable the context does not have, even before a
//! `default` filter (cobalt-org/liquid-rust#570, #477). Wayfarer keeps that rule, so a typo
//! fails the message visibly, except for a filter chain that contains `default`: there a
//! missing start value is `nil`, as in Shopify's Liquid and LiquidJS's `lenientIf`. So
//! `{{ traits.firstName | default: "there" }}` renders "there" for a person without a
//! `firstName`, and `{% assign n = traits.orders | default: 0 | plus: 1 %}` gives 1.
//!
//! The rewrite is done on the source, before Liquid parses it: the start value `X` of such a
//! chain (in an output or an `assign`) becomes `nil | __or_nil: X`, a filter that looks `X` up
//! and gives `nil` when it is missing. Only the start value is lenient: a missing variable
//! given to a filter as an argument (`default: traits.other`) still fails.

use std::borrow::Cow;

use liquid_core::parser::{FilterArguments, FilterReflection, ParameterReflection, ParseFilter};
use liquid_core::runtime::{Expression, Runtime};
use liquid_core::{Value, ValueView};
use pest::iterators::Pair;

use super::lex::{self, Piece, Rule};

/// The lenient lookup's filter name (not meant to be written in templates).
pub(crate) const OR_NIL: &str = "__or_nil";

/// `source` with the start value of each filter chain that contains `default` looked up
/// leniently (see the module's doc).
pub(crate) fn rewrite(source: &str) -> Cow<'_, str> {
    if !source.contains("default") {
        return Cow::Borrowed(source);
    }
    let mut starts = Vec::new();
    for piece in lex::pieces(source) {
        match piece {
            Piece::Output(chain) => starts.extend(lenient_start(chain)),
            Piece::Tag("assign", tokens) => {
                starts.extend(tokens.into_iter().filter(|t| t.as_rule() == Rule::FilterChain).filter_map(lenient_start))
            }
            Piece::Tag(..) => {}
        }
    }
    if starts.is_empty() {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + starts.len() * 20);
    let mut copied = 0;
    for (start, end) in starts {
        out.push_str(&source[copied..start]);
        out.push_str("nil | ");
        out.push_str(OR_NIL);
        out.push_str(": ");
        out.push_str(&source[start..end]);
        copied = end;
    }
    out.push_str(&source[copied..]);
    Cow::Owned(out)
}

/// The span of a chain's start value when it is a variable and the chain contains `default`.
fn lenient_start(chain: Pair<'_, Rule>) -> Option<(usize, usize)> {
    let mut parts = chain.into_inner();
    let start = parts.next().filter(|v| v.as_rule() == Rule::Value)?;
    let defaulted = parts.any(|f| f.as_rule() == Rule::Filter && lex::filter_name(&f) == Some("default"));
    let is_variable = start.clone().into_inner().next().is_some_and(|v| v.as_rule() == Rule::Variable);
    (defaulted && is_variable).then(|| (start.as_span().start(), start.as_span().end()))
}

/// `__or_nil: X`: the value of `X`, or `nil` when the context does not have it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrNilFilter;

impl FilterReflection for OrNilFilter {
    fn name(&self) -> &str {
        OR_NIL
    }
    fn description(&self) -> &str {
        "The value of its argument, or nil when it is missing (the start of a chain with `default`)."
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for OrNilFilter {
    fn parse(&self, mut arguments: FilterArguments) -> liquid_core::Result<Box<dyn liquid_core::parser::Filter>> {
        match (arguments.positional.next(), arguments.positional.next(), arguments.keyword.next()) {
            (Some(value), None, None) => Ok(Box::new(OrNil(value))),
            _ => Err(liquid_core::Error::with_msg(format!("{OR_NIL} takes one value"))),
        }
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

#[derive(Debug)]
struct OrNil(Expression);

impl std::fmt::Display for OrNil {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{OR_NIL}: {}", self.0)
    }
}

impl liquid_core::parser::Filter for OrNil {
    fn evaluate(&self, _input: &dyn ValueView, runtime: &dyn Runtime) -> liquid_core::Result<Value> {
        Ok(self.0.try_evaluate(runtime).map_or(Value::Nil, |v| v.into_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_with_default_start_leniently() {
        let cases = [
            ("{{ a.b | default: 'x' }}", "{{ nil | __or_nil: a.b | default: 'x' }}"),
            ("{{- a | upcase | default: b -}}", "{{- nil | __or_nil: a | upcase | default: b -}}"),
            ("{% assign n = a | default: 0 | plus: 1 %}", "{% assign n = nil | __or_nil: a | default: 0 | plus: 1 %}"),
            ("{{ a['k'][c] | default: 1 }}{{ d }}", "{{ nil | __or_nil: a['k'][c] | default: 1 }}{{ d }}"),
            // Unchanged: no `default`, a literal start, `default` in a string, inside `raw`.
            ("{{ a }} {{ a | upcase }}", "{{ a }} {{ a | upcase }}"),
            ("{{ 'x' | default: 'y' }}", "{{ 'x' | default: 'y' }}"),
            ("{{ a | append: 'default' }}", "{{ a | append: 'default' }}"),
            ("{% raw %}{{ a | default: 1 }}{% endraw %}", "{% raw %}{{ a | default: 1 }}{% endraw %}"),
            ("{% if a %}default{% endif %}", "{% if a %}default{% endif %}"),
        ];
        for (source, expected) in cases {
            assert_eq!(rewrite(source), expected, "{source}");
        }
    }
}
