//! Typed values (`Renderer::value`): a source that is exactly one output keeps the type of
//! what it computes. The output is rendered through `__typed`, a filter that writes its input
//! as JSON, which is then read back.

use liquid_core::parser::{FilterArguments, FilterReflection, ParameterReflection, ParseFilter};
use liquid_core::runtime::Runtime;
use liquid_core::{Value, ValueView};

/// The filter's name (not meant to be written in templates).
pub(crate) const TYPED: &str = "__typed";

/// `__typed`: its input as JSON text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TypedFilter;

impl FilterReflection for TypedFilter {
    fn name(&self) -> &str {
        TYPED
    }
    fn description(&self) -> &str {
        "Writes its input as JSON (typed values)."
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for TypedFilter {
    fn parse(&self, mut arguments: FilterArguments) -> liquid_core::Result<Box<dyn liquid_core::parser::Filter>> {
        if arguments.positional.next().is_some() || arguments.keyword.next().is_some() {
            return Err(liquid_core::Error::with_msg(format!("{TYPED} takes no arguments")));
        }
        Ok(Box::new(Typed))
    }
    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

#[derive(Debug)]
struct Typed;

impl std::fmt::Display for Typed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(TYPED)
    }
}

impl liquid_core::parser::Filter for Typed {
    fn evaluate(&self, input: &dyn ValueView, _runtime: &dyn Runtime) -> liquid_core::Result<Value> {
        let json = serde_json::to_string(&input.to_value()).map_err(|e| liquid_core::Error::with_msg(format!("as JSON: {e}")))?;
        Ok(Value::scalar(json))
    }
}
