//! What is read from a template's source before Liquid parses it, with Liquid's own grammar
//! (`liquid.pest`): the variables a source reads (`variables`), its outputs and tags
//! (`pieces`, for `html::autoescape` and `lenient`), and whether it is one output alone
//! (`sole_output`, for typed values).

use std::collections::BTreeSet;

use pest::Parser as _;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "render/liquid.pest"]
pub(crate) struct Lexer;

/// An output or a tag of a source.
pub(crate) enum Piece<'a> {
    /// An output (`{{ ... }}`): its filter chain (`Rule::FilterChain`; its span may include the
    /// whitespace before `}}`).
    Output(Pair<'a, Rule>),
    /// A tag (`{% name ... %}`): its name and its tokens (`FilterChain`, `Range` and symbols).
    Tag(&'a str, Vec<Pair<'a, Rule>>),
}

/// The outputs and tags of a source, in order, except what is inside `{% raw %}` blocks (text
/// to Liquid). Never fails: what is not Liquid is left out (the real parser reports it).
pub(crate) fn pieces(source: &str) -> Vec<Piece<'_>> {
    // The lax rule never fails: what is not Liquid becomes `InvalidLiquid` tokens.
    let Some(file) = Lexer::parse(Rule::LaxLiquidFile, source).ok().and_then(|mut pairs| pairs.next()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut in_raw = false;
    for element in file.into_inner() {
        match element.as_rule() {
            Rule::Tag => {
                // Tag > TagInner > (Identifier, tokens...). A `raw` block ends at the first
                // `endraw` without arguments, as `TagBlock::escape_liquid` does; a `raw` with
                // arguments is an error, and opens nothing.
                let mut inner = element.into_inner().flat_map(|tag| tag.into_inner());
                let Some(name) = inner.next().map(|n| n.as_str()) else { continue };
                let tokens: Vec<_> = inner.collect();
                match (in_raw, name) {
                    (false, "raw") if tokens.is_empty() => in_raw = true,
                    (true, "endraw") if tokens.is_empty() => in_raw = false,
                    (false, _) => out.push(Piece::Tag(name, tokens)),
                    (true, _) => {}
                }
            }
            // Expression > ExpressionInner > FilterChain.
            Rule::Expression if !in_raw => out.extend(element.into_inner().flat_map(|inner| inner.into_inner()).next().map(Piece::Output)),
            _ => {}
        }
    }
    out
}

/// The filter chain of a source that is exactly one output (`{{ expr | filters }}`) and
/// nothing else, without the delimiters.
pub(crate) fn sole_output(source: &str) -> Option<&str> {
    let file = Lexer::parse(Rule::LaxLiquidFile, source).ok()?.next()?;
    let mut elements = file.into_inner().filter(|e| e.as_rule() != Rule::EOI);
    let only = elements.next().filter(|e| e.as_rule() == Rule::Expression)?;
    if elements.next().is_some() {
        return None;
    }
    only.into_inner().flat_map(|inner| inner.into_inner()).next().map(|chain| chain.as_str().trim_end())
}

/// The name of a filter (`Rule::Filter`).
pub(crate) fn filter_name<'a>(filter: &Pair<'a, Rule>) -> Option<&'a str> {
    filter.clone().into_inner().next().map(|name| name.as_str())
}

/// The top-level variables a Liquid source reads, minus those it defines itself (`assign`,
/// `capture`, `for` and `tablerow` variables, `forloop`, `tablerowloop`).
///
/// What counts: the value an output or a filter chain starts from, the variables given to
/// filters as arguments, those inside brackets (`a[b]`), and the operands of `if`, `elsif`,
/// `unless`, `case`, `when`, `cycle` and of a `for` or `tablerow` loop (its collection, a
/// range's ends, `limit:`/`offset:`/`cols:` values). Not variables: filter names, keywords
/// (`and`, `or`, `contains`, `in`, `reversed`, a parameter's name before `:`), literals,
/// `{% raw %}` and `{% comment %}` contents, `increment`/`decrement` counters.
pub fn variables(source: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let mut local: BTreeSet<String> = ["forloop", "tablerowloop"].into_iter().map(str::to_owned).collect();
    let mut comments = 0usize;
    for piece in pieces(source) {
        match piece {
            Piece::Tag("comment", _) => comments += 1,
            Piece::Tag("endcomment", _) => comments = comments.saturating_sub(1),
            _ if comments > 0 => {}
            Piece::Output(chain) => reads(chain, &mut used),
            Piece::Tag(name, tokens) => tag_reads(name, tokens, &mut used, &mut local),
        }
    }
    used.retain(|v| !local.contains(v));
    used
}

fn tag_reads(name: &str, tokens: Vec<Pair<'_, Rule>>, used: &mut BTreeSet<String>, local: &mut BTreeSet<String>) {
    let (defines, keywords): (bool, &[&str]) = match name {
        "assign" | "capture" => (true, &[]),
        "for" | "tablerow" => (true, &["in", "reversed"]),
        "if" | "elsif" | "unless" => (false, &["and", "or", "contains"]),
        "case" | "when" | "cycle" => (false, &["or"]),
        _ => return,
    };
    let mut tokens = tokens.into_iter().peekable();
    if defines {
        local.extend(tokens.next().as_ref().and_then(bare_word).map(str::to_owned));
    }
    while let Some(token) = tokens.next() {
        // A name before `:` is a parameter (`limit: 3`) or a `cycle` group, not a variable.
        let named = tokens.peek().is_some_and(|next| next.as_rule() == Rule::Colon);
        let keyword = bare_word(&token).is_some_and(|w| keywords.contains(&w));
        if matches!(token.as_rule(), Rule::FilterChain | Rule::Range) && !named && !keyword {
            reads(token, used);
        }
    }
}

/// Adds the root of every variable inside `pair` (filter names and keyword argument names are
/// `Identifier`s, not `Variable`s).
fn reads(pair: Pair<'_, Rule>, used: &mut BTreeSet<String>) {
    for p in pair.into_inner().flatten() {
        if p.as_rule() == Rule::Variable {
            used.extend(p.into_inner().next().map(|root| root.as_str().to_owned()));
        }
    }
}

/// The word a token is when it is one plain name (`in`, `and`, a loop's variable).
fn bare_word<'a>(token: &Pair<'a, Rule>) -> Option<&'a str> {
    let mut chain = token.clone().into_inner();
    let value = chain.next().filter(|v| v.as_rule() == Rule::Value && chain.next().is_none())?;
    let mut value = value.into_inner();
    let variable = value.next().filter(|v| v.as_rule() == Rule::Variable)?;
    let mut parts = variable.into_inner();
    let word = parts.next()?;
    parts.next().is_none().then_some(word.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each source with the variables it reads.
    #[test]
    fn variables_are_what_a_source_reads_and_does_not_define() {
        let cases: &[(&str, &[&str])] = &[
            ("Hi {{ traits.firstName }}", &["traits"]),
            ("{{ traits.firstName | default: 'there' }}", &["traits"]),
            // Filter names are not variables; variables given to filters are.
            ("{{ traits.orders | plus: 1 | times: event.n }}", &["event", "traits"]),
            ("{{ traits.a | append: coupon, x: profile_id }}", &["coupon", "profile_id", "traits"]),
            ("{% assign n = traits.orders | plus: 1 %}{{ n }}", &["traits"]),
            ("{% assign n = traits.orders | plus: journey.bonus %}{{ n | minus: 2 }}", &["journey", "traits"]),
            ("{%- assign n = 3 -%}{{ n }}", &[]),
            ("{% capture c %}{{ event.path }}{% endcapture %}{{ c | upcase }}", &["event"]),
            ("{% if event.plan == \"pro\" and coupon %}{{ coupon }}{% endif %}", &["coupon", "event"]),
            ("{% if a contains 'x' or b > 2 %}{% elsif c != empty %}{% endif %}", &["a", "b", "c"]),
            ("{% unless traits.optout %}x{% endunless %}", &["traits"]),
            ("{% case event.plan %}{% when 'pro', other or third %}{% endcase %}", &["event", "other", "third"]),
            ("{% for item in event.items %}{{ item.name }}{{ forloop.index }}{% endfor %}", &["event"]),
            ("{% for i in (1..traits.n) reversed limit: event.max offset:2 %}{{ i }}{% endfor %}", &["event", "traits"]),
            ("{% tablerow t in traits.tags cols: 2 %}{{ t }}{{ tablerowloop.col }}{% endtablerow %}", &["traits"]),
            ("{% cycle 'g': a, 'b' %}", &["a"]),
            ("{{ traits[event.key] }} {{ traits['x'][run.i] }}", &["event", "run", "traits"]),
            ("{% increment counter %}{% decrement other %}", &[]),
            ("{% raw %}{{ hidden }}{% endraw %}{% comment %}{{ gone }}{% if x %}{% endcomment %}", &[]),
            ("{% comment %}{% comment %}{% endcomment %}{{ gone }}{% endcomment %}{{ shown }}", &["shown"]),
            ("{{ 'literal' | upcase }} {{ 3 | plus: 4 }} {{ true }} {{ nil }}", &[]),
            ("{{ trait.x }}", &["trait"]),
        ];
        for (source, expected) in cases {
            let found: Vec<_> = variables(source).into_iter().collect();
            assert_eq!(found, *expected, "{source}");
        }
    }

    #[test]
    fn variables_reads_unclosed_and_overlapping_delimiters_without_panicking() {
        for src in ["{%}", "{{}", "{%}}", "{{%}", "x {%", "{% assign %}", "{% for %}", "{% if %}"] {
            assert!(variables(src).is_empty(), "{src:?}");
        }
        for src in ["{{}} {% if a %}", "{%}{{ a }}", "{{ a }}}}"] {
            assert_eq!(variables(src).into_iter().collect::<Vec<_>>(), ["a"], "{src:?}");
        }
    }

    #[test]
    fn sole_output_is_one_output_and_nothing_else() {
        let cases = [
            ("{{ a }}", Some("a")),
            ("{{- a.b | plus: 1 -}}", Some("a.b | plus: 1")),
            ("{{a}}", Some("a")),
            ("{{ a }}{{ b }}", None),
            ("{{ a }} ", None),
            ("x{{ a }}", None),
            ("{% if a %}{{ a }}{% endif %}", None),
            ("{{ }}", None),
            ("plain", None),
            ("", None),
        ];
        for (source, expected) in cases {
            assert_eq!(sole_output(source), expected, "{source:?}");
        }
    }
}
