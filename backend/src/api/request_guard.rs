//! The request guard: every request body is held to a size limit, and every JSON body to the
//! operation's schema in our own OpenAPI document, before a handler or poem-openapi's parser
//! sees it.
//!
//! Why a guard and not only poem-openapi's parser: the parser reads a body of any size, turns
//! `false` and `-1058` into the strings "false" and "-1058" where a string is required, and
//! its errors do not say which field was at fault. The guard answers each of those with a
//! stable code and the field's path (`items[2].name`), from the same document clients are
//! generated from, so the limits are declared once (as `maxLength`, `maxItems`, `minimum`,
//! `maximum` on the request types) and hold for every operation.
//!
//! The same document gives a 405 its `Allow` header: the methods the path does serve.

use std::{collections::HashMap, sync::Arc};

use poem::{
    http::{header, HeaderValue, Method, StatusCode},
    Endpoint, IntoResponse, Request, Response,
};
use serde_json::{Map, Value};

use super::error::{framework_error_response, ApiError, ErrorCode};

/// Request bodies limited by the guard: JSON and form bodies. Uploads (octet-stream,
/// multipart) have their own limit, `max_upload_mb`, applied while they stream to disk.
fn is_limited(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json") || essence == "application/x-www-form-urlencoded"
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// The JSON request-body schemas of the API's operations, from its OpenAPI document.
pub struct RequestGuard {
    max_body_bytes: usize,
    operations: Vec<Operation>,
    components: Map<String, Value>,
    /// Every path template of the document with the methods it serves, for `Allow`.
    paths: Vec<(Vec<Option<String>>, Vec<Method>)>,
}

fn template_segments(path: &str) -> Vec<Option<String>> {
    path.split('/').map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_string())).collect()
}

fn template_matches(template: &[Option<String>], path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    template.len() == parts.len()
        && template.iter().zip(&parts).all(|(want, got)| want.as_deref().is_none_or(|w| w == *got))
}

struct Operation {
    method: Method,
    /// The path template split at `/`; `None` is a `{parameter}` segment.
    segments: Vec<Option<String>>,
    operation_id: &'static str,
    body_schema: Value,
}

/// What is wrong with a body, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: ErrorCode,
    /// The path of the offending value (`name`, `items[2].name`); `None` for the whole body.
    pub field: Option<String>,
    /// What was found or allowed, in English (the parser's words are English too).
    pub detail: String,
}

impl RequestGuard {
    /// Builds the guard from the API's OpenAPI document (`OpenApiService::spec()`).
    pub fn new(spec: &str, max_body_bytes: usize) -> Self {
        let spec: Value = serde_json::from_str(spec).unwrap_or_else(|e| {
            // poem-openapi writes the document itself, so this cannot happen short of a bug
            // there; the body limit still holds without the schemas.
            tracing::error!(error = %e, "the OpenAPI document is not JSON; request bodies are only size-checked");
            Value::Null
        });
        let components = spec.pointer("/components/schemas").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut operations = Vec::new();
        let mut paths = Vec::new();
        let mut ids: HashMap<String, &'static str> = HashMap::new();
        for (path, item) in spec.get("paths").and_then(Value::as_object).into_iter().flatten() {
            let methods =
                item.as_object().into_iter().flatten().filter_map(|(m, _)| m.to_ascii_uppercase().parse().ok());
            paths.push((template_segments(path), methods.collect()));
            for (method, op) in item.as_object().into_iter().flatten() {
                let Ok(method) = method.to_ascii_uppercase().parse::<Method>() else { continue };
                let Some(content) = op.pointer("/requestBody/content").and_then(Value::as_object) else { continue };
                let Some(schema) = content.iter().find(|(ct, _)| is_json(ct)).and_then(|(_, c)| c.get("schema")) else {
                    continue;
                };
                let id = op.get("operationId").and_then(Value::as_str).unwrap_or("unnamed").to_string();
                // Metric labels need `&'static str`; the document's operations are a fixed,
                // small set made once per server, so keeping their names for good is fine.
                let operation_id = *ids.entry(id.clone()).or_insert_with(|| Box::leak(id.into_boxed_str()));
                operations.push(Operation {
                    method,
                    segments: template_segments(path),
                    operation_id,
                    body_schema: schema.clone(),
                });
            }
        }
        Self { max_body_bytes, operations, components, paths }
    }

    fn operation(&self, method: &Method, path: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.method == method && template_matches(&op.segments, path))
    }

    /// The methods `path` serves, as an `Allow` header value; `None` for a path not in the
    /// document. A literal segment beats a parameter, as in the router.
    pub fn allow(&self, path: &str) -> Option<String> {
        let literal = |t: &[Option<String>]| t.iter().filter(|s| s.is_some()).count();
        let (_, methods) =
            self.paths.iter().filter(|(t, _)| template_matches(t, path)).max_by_key(|(t, _)| literal(t))?;
        Some(methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", "))
    }

    /// Checks a JSON body against an operation's request schema.
    pub fn check_body(&self, method: &Method, path: &str, body: &Value) -> Result<(), Violation> {
        match self.operation(method, path) {
            Some(op) => self.check(body, &op.body_schema, &mut FieldPath::default()),
            None => Ok(()),
        }
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut schema = schema;
        // A reference chain is short in practice; the bound stops a malformed cycle.
        for _ in 0..8 {
            let Some(name) = schema.get("$ref").and_then(Value::as_str) else { break };
            match name.strip_prefix("#/components/schemas/").and_then(|n| self.components.get(n)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    fn check(&self, value: &Value, schema: &Value, at: &mut FieldPath) -> Result<(), Violation> {
        let schema = self.resolve(schema);
        if value.is_null() {
            // Whether null is allowed is a question of `required`, asked by the object above.
            return Ok(());
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for part in all {
                self.check(value, part, at)?;
            }
        }
        if let Some(branches) = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array) {
            self.check_union(value, schema, branches, at)?;
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => self.check_string(value, schema, at),
            Some("integer") => check_number(value, schema, at, value.is_i64() || value.is_u64(), "integer"),
            Some("number") => check_number(value, schema, at, value.is_number(), "number"),
            Some("boolean") => expect_type(value.is_boolean(), value, "boolean", at),
            Some("array") => self.check_array(value, schema, at),
            Some("object") => self.check_object(value, schema, at),
            _ => Ok(()),
        }
    }

    fn check_union(
        &self,
        value: &Value,
        schema: &Value,
        branches: &[Value],
        at: &mut FieldPath,
    ) -> Result<(), Violation> {
        // With a discriminator, the tag names the one branch to hold the value to.
        if let Some(property) = schema.pointer("/discriminator/propertyName").and_then(Value::as_str) {
            let tag = value.get(property).and_then(Value::as_str);
            let mapped = tag.and_then(|t| schema.pointer("/discriminator/mapping").and_then(|m| m.get(t)));
            if let Some(target) = mapped {
                return self.check(value, target, at);
            }
            return Err(at.violation(ErrorCode::InvalidValue, Some(property), format!("unknown {property}")));
        }
        let mut first = None;
        for branch in branches {
            match self.check(value, branch, &mut at.clone()) {
                Ok(()) => return Ok(()),
                Err(v) => {
                    first.get_or_insert(v);
                }
            }
        }
        first.map_or(Ok(()), Err)
    }

    fn check_string(&self, value: &Value, schema: &Value, at: &FieldPath) -> Result<(), Violation> {
        let Some(text) = value.as_str() else {
            return expect_type(false, value, "string", at);
        };
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            let length = text.chars().count() as u64;
            if length > max {
                return Err(at.violation(ErrorCode::FieldTooLong, None, format!("{length} characters, at most {max}")));
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.iter().any(|a| a == value) {
                let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
                return Err(at.violation(ErrorCode::InvalidValue, None, format!("one of {}", names.join(", "))));
            }
        }
        Ok(())
    }

    fn check_array(&self, value: &Value, schema: &Value, at: &mut FieldPath) -> Result<(), Violation> {
        let Some(items) = value.as_array() else {
            return expect_type(false, value, "array", at);
        };
        if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
            if items.len() as u64 > max {
                return Err(at.violation(
                    ErrorCode::TooManyItems,
                    None,
                    format!("{} items, at most {max}", items.len()),
                ));
            }
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                at.push(Step::Index(i));
                let checked = self.check(item, item_schema, at);
                at.pop();
                checked?;
            }
        }
        Ok(())
    }

    fn check_object(&self, value: &Value, schema: &Value, at: &mut FieldPath) -> Result<(), Violation> {
        let Some(object) = value.as_object() else {
            return expect_type(false, value, "object", at);
        };
        // What was sent is checked before what is missing: a wrong value is the likelier
        // mistake to report when both are present.
        let properties = schema.get("properties").and_then(Value::as_object);
        let extra = schema.get("additionalProperties").filter(|s| s.is_object());
        let required: Vec<&str> =
            schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        for (name, field_value) in object {
            let field_schema = properties.and_then(|p| p.get(name)).or(extra);
            if let Some(field_schema) = field_schema {
                // An optional field is absent or holds a value: `null` only where the schema
                // says `nullable` (a required one is reported missing below).
                let nullable = self.resolve(field_schema).get("nullable").and_then(Value::as_bool) == Some(true);
                if field_value.is_null() && !nullable && !required.contains(&name.as_str()) {
                    return Err(at.violation(
                        ErrorCode::FieldWrongType,
                        Some(name),
                        "null, where the field is not nullable; leave it out".to_string(),
                    ));
                }
                at.push(Step::Key(name.clone()));
                let checked = self.check(field_value, field_schema, at);
                at.pop();
                checked?;
            }
        }
        for name in required {
            if object.get(name).is_none_or(Value::is_null) {
                return Err(at.violation(ErrorCode::FieldMissing, Some(name), "required".to_string()));
            }
        }
        Ok(())
    }
}

fn expect_type(ok: bool, value: &Value, wanted: &str, at: &FieldPath) -> Result<(), Violation> {
    if ok {
        return Ok(());
    }
    let found = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    Err(at.violation(ErrorCode::FieldWrongType, None, format!("expected {wanted}, found {found}")))
}

fn check_number(
    value: &Value,
    schema: &Value,
    at: &FieldPath,
    right_type: bool,
    wanted: &str,
) -> Result<(), Violation> {
    expect_type(right_type, value, wanted, at)?;
    // The integer's format is the Rust type that will hold it: a value it cannot hold is out
    // of range, named here rather than left to the parser's anonymous overflow error.
    let fits = match schema.get("format").and_then(Value::as_str) {
        Some("int64") => value.as_i64().is_some(),
        Some("int32") => value.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        Some("int16") => value.as_i64().is_some_and(|n| i16::try_from(n).is_ok()),
        Some("int8") => value.as_i64().is_some_and(|n| i8::try_from(n).is_ok()),
        Some("uint64") => value.as_u64().is_some(),
        Some("uint32") => value.as_u64().is_some_and(|n| u32::try_from(n).is_ok()),
        Some("uint16") => value.as_u64().is_some_and(|n| u16::try_from(n).is_ok()),
        Some("uint8") => value.as_u64().is_some_and(|n| u8::try_from(n).is_ok()),
        _ => true,
    };
    if !fits {
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        return Err(at.violation(ErrorCode::ValueOutOfRange, None, format!("does not fit {format}")));
    }
    let Some(n) = value.as_f64() else { return Ok(()) };
    // Integers beyond i64 fail poem-openapi's parse anyway; as f64 they still compare right.
    let exclusive = |key: &str| schema.get(key).and_then(Value::as_bool).unwrap_or(false);
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        if n < min || (exclusive("exclusiveMinimum") && n == min) {
            return Err(at.violation(ErrorCode::ValueOutOfRange, None, format!("at least {min}")));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        if n > max || (exclusive("exclusiveMaximum") && n == max) {
            return Err(at.violation(ErrorCode::ValueOutOfRange, None, format!("at most {max}")));
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Where in the body the check is, printed as `items[2].name`.
#[derive(Debug, Clone, Default)]
struct FieldPath(Vec<Step>);

impl FieldPath {
    fn push(&mut self, step: Step) {
        self.0.push(step);
    }

    fn pop(&mut self) {
        self.0.pop();
    }

    fn violation(&self, code: ErrorCode, child: Option<&str>, detail: String) -> Violation {
        let mut path = String::new();
        let steps = self.0.iter().cloned().chain(child.map(|c| Step::Key(c.to_string())));
        for step in steps {
            match step {
                Step::Key(k) if path.is_empty() => path.push_str(&k),
                Step::Key(k) => {
                    path.push('.');
                    path.push_str(&k);
                }
                Step::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        Violation { code, field: (!path.is_empty()).then_some(path), detail }
    }
}

/// The middleware: limit, parse, check, then hand the same bytes on; name the allowed
/// methods on a 405.
pub async fn guard<E: Endpoint>(next: Arc<E>, req: Request, guard: Arc<RequestGuard>) -> poem::Result<Response> {
    let path = req.uri().path().to_string();
    let answer = check_then_call(next, req, &guard).await;
    let method_not_allowed = match &answer {
        Ok(resp) => resp.status() == StatusCode::METHOD_NOT_ALLOWED,
        Err(e) => e.status() == StatusCode::METHOD_NOT_ALLOWED,
    };
    if !method_not_allowed {
        return answer;
    }
    let mut resp = match answer {
        Ok(resp) => resp,
        Err(e) => framework_error_response(e),
    };
    if let Some(allow) = guard.allow(&path).and_then(|a| HeaderValue::from_str(&a).ok()) {
        resp.headers_mut().insert(header::ALLOW, allow);
    }
    Ok(resp)
}

async fn check_then_call<E: Endpoint>(next: Arc<E>, mut req: Request, guard: &RequestGuard) -> poem::Result<Response> {
    let content_type = req.header(header::CONTENT_TYPE).unwrap_or("").to_string();
    if !is_limited(&content_type) {
        return next.call(req).await.map(IntoResponse::into_response);
    }
    let limit = guard.max_body_bytes;
    let declared = req.header(header::CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok());
    if declared.is_some_and(|l| l > limit as u64) {
        // Refused before a byte of the body is read.
        return Ok(too_large(limit));
    }
    let bytes = match req.take_body().into_bytes_limit(limit).await {
        Ok(bytes) => bytes,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => return Ok(too_large(limit)),
        Err(e) => return Err(e.into()),
    };
    if is_json(&content_type) && !bytes.is_empty() {
        // An unparsable body is left to poem-openapi, whose parser says where it broke.
        if let Ok(body) = serde_json::from_slice::<Value>(&bytes) {
            let path = req.uri().path().to_string();
            if let Err(v) = guard.check_body(req.method(), &path, &body) {
                let mut resp = ApiError::detailed(v.code, v.field.as_deref(), &v.detail).into_response();
                if let Some(op) = guard.operation(req.method(), &path) {
                    resp.set_data(poem_openapi::OperationId(op.operation_id));
                }
                return Ok(resp);
            }
        }
    }
    req.set_body(bytes);
    next.call(req).await.map(IntoResponse::into_response)
}

fn too_large(limit: usize) -> Response {
    ApiError::detailed(ErrorCode::BodyTooLarge, None, &format!("at most {limit} bytes")).into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn guard() -> RequestGuard {
        let spec = json!({
            "paths": {
                "/api/v1/things/{id}": {"put": {"operationId": "thing_put", "requestBody": {"content": {
                    "application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}
            },
            "components": {"schemas": {
                "Thing": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string", "maxLength": 4},
                    "kind": {"type": "string", "enum": ["a", "b"]},
                    "note": {"type": "string", "nullable": true},
                    "count": {"type": "integer", "minimum": 1, "maximum": 9},
                    "fen": {"type": "integer", "format": "int64"},
                    "copies": {"type": "integer", "format": "uint32"},
                    "on": {"type": "boolean"},
                    "parts": {"type": "array", "maxItems": 2, "items": {"$ref": "#/components/schemas/Part"}}
                }},
                "Part": {"type": "object", "properties": {"label": {"type": "string", "maxLength": 2}}}
            }}
        });
        RequestGuard::new(&spec.to_string(), 1000)
    }

    fn check(body: Value) -> Result<(), (ErrorCode, Option<String>)> {
        guard().check_body(&Method::PUT, "/api/v1/things/42", &body).map_err(|v| (v.code, v.field))
    }

    fn err(code: ErrorCode, field: &str) -> Result<(), (ErrorCode, Option<String>)> {
        Err((code, Some(field.to_string())))
    }

    #[test]
    fn strings_are_strings_and_the_field_is_named() {
        assert_eq!(check(json!({"name": "abcd"})), Ok(()));
        assert_eq!(check(json!({"name": false})), err(ErrorCode::FieldWrongType, "name"));
        assert_eq!(check(json!({"name": -1058})), err(ErrorCode::FieldWrongType, "name"));
        assert_eq!(check(json!({"name": "abcde"})), err(ErrorCode::FieldTooLong, "name"));
        // Characters, not bytes: four Chinese characters fit in four.
        assert_eq!(check(json!({"name": "东芝泰格"})), Ok(()));
        assert_eq!(check(json!({"name": "a", "kind": "c"})), err(ErrorCode::InvalidValue, "kind"));
    }

    #[test]
    fn required_numbers_booleans_and_lists() {
        assert_eq!(check(json!({})), err(ErrorCode::FieldMissing, "name"));
        assert_eq!(check(json!({"name": null})), err(ErrorCode::FieldMissing, "name"));
        assert_eq!(check(json!({"name": "a", "count": "3"})), err(ErrorCode::FieldWrongType, "count"));
        assert_eq!(check(json!({"name": "a", "count": 1.5})), err(ErrorCode::FieldWrongType, "count"));
        assert_eq!(check(json!({"name": "a", "count": 10})), err(ErrorCode::ValueOutOfRange, "count"));
        assert_eq!(check(json!({"name": "a", "count": 0})), err(ErrorCode::ValueOutOfRange, "count"));
        assert_eq!(check(json!({"name": "a", "on": "true"})), err(ErrorCode::FieldWrongType, "on"));
        assert_eq!(check(json!({"name": "a", "fen": i64::MAX})), Ok(()));
        assert_eq!(check(json!({"name": "a", "fen": u64::MAX})), err(ErrorCode::ValueOutOfRange, "fen"));
        assert_eq!(check(json!({"name": "a", "copies": -1})), err(ErrorCode::ValueOutOfRange, "copies"));
        assert_eq!(check(json!({"name": "a", "copies": 1u64 << 33})), err(ErrorCode::ValueOutOfRange, "copies"));
        assert_eq!(check(json!({"name": "a", "parts": [{}, {}, {}]})), err(ErrorCode::TooManyItems, "parts"));
        assert_eq!(
            check(json!({"name": "a", "parts": [{}, {"label": 7}]})),
            err(ErrorCode::FieldWrongType, "parts[1].label")
        );
        assert_eq!(check(json!({"name": "a", "parts": {"label": "x"}})), err(ErrorCode::FieldWrongType, "parts"));
        assert_eq!(check(json!(["name"])).map_err(|e| e.0), Err(ErrorCode::FieldWrongType));
    }

    #[test]
    fn null_only_where_the_schema_says_nullable() {
        assert_eq!(check(json!({"name": "a", "note": null})), Ok(()));
        assert_eq!(check(json!({"name": "a", "kind": null})), err(ErrorCode::FieldWrongType, "kind"));
        assert_eq!(check(json!({"name": "a", "count": null})), err(ErrorCode::FieldWrongType, "count"));
    }

    #[test]
    fn paths_match_by_template_and_method() {
        let g = guard();
        let bad = json!({"name": 1});
        assert!(g.check_body(&Method::PUT, "/api/v1/things/x", &bad).is_err());
        assert!(g.check_body(&Method::POST, "/api/v1/things/x", &bad).is_ok(), "no such operation");
        assert!(g.check_body(&Method::PUT, "/api/v1/things/x/y", &bad).is_ok(), "no such operation");
    }

    #[test]
    fn allow_lists_the_methods_of_the_path() {
        let spec = json!({"paths": {
            "/a/{id}": {"get": {}, "delete": {}},
            "/a/me": {"put": {}},
        }});
        let g = RequestGuard::new(&spec.to_string(), 10);
        assert_eq!(g.allow("/a/42").as_deref(), Some("DELETE, GET"));
        assert_eq!(g.allow("/a/me").as_deref(), Some("PUT"), "the literal segment wins");
        assert_eq!(g.allow("/b"), None);
    }

    #[test]
    fn limited_content_types() {
        assert!(is_limited("application/json; charset=utf-8"));
        assert!(is_limited("application/merge-patch+json"));
        assert!(is_limited("application/x-www-form-urlencoded"));
        assert!(!is_limited("application/octet-stream"));
        assert!(!is_limited("multipart/form-data; boundary=x"));
    }
}
