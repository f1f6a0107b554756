//! Bad input (issue 11, items 8-13): oversized bodies, wrong JSON types, over-long text,
//! over-long lists and amounts out of range each get a clear 4xx with a stable code and the
//! field at fault, and leave nothing half-written. One module per kind of bad input.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

mod bodies;
mod limits;
mod money;

/// Resolves a `$ref` of the live OpenAPI document.
pub(crate) fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => spec.pointer(&r.replacen('#', "", 1)).unwrap_or(schema),
        None => schema,
    }
}
