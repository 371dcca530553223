//! The renderer `update` steps use for their values: the Liquid renderer messages use.

use std::sync::OnceLock;

use deliver::Renderer;
use serde_json::Value;

/// `domain::journey::Render` over deliver's Liquid renderer (one per process: it caches
/// parsed templates, and rendering is pure).
pub(crate) struct Templates(Renderer);

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl domain::journey::Render for Templates {
    fn value(&self, source: &str, scope: &Value) -> Result<Value, String> {
        self.0.value(source, scope).map_err(|e| e.to_string())
    }
}

/// The process's renderer for `update` values.
pub(crate) fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| Templates(Renderer::default()))
}
