//! Oversized bodies (item 8) and wrong JSON types (item 13).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use yunyin_e2e::TestApp;

use super::resolve;

/// Sends a request head declaring `declared` bytes of JSON and only `sent` of them, and
/// returns the status line and body the server answers with (it must not wait for the rest).
async fn raw_post(app: &TestApp, path: &str, declared: u64, sent: &[u8]) -> (u16, Value) {
    let addr = app.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(sent).await.unwrap();
    let mut answer = Vec::new();
    // The server answers and closes without the rest of the body; a server that waited for
    // it would hit this timeout instead.
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("answered without the rest of the body")
        .ok();
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // The body may be chunked; the JSON object is the part between the outer braces.
    let json = body.find('{').zip(body.rfind('}')).map_or("", |(a, b)| &body[a..=b]);
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_read() {
    let app = TestApp::spawn().await;

    // A 256 MB sign-in declared, a few bytes sent: refused at once from the declared length.
    let started = Instant::now();
    let (status, body) = raw_post(&app, "/api/v1/admin-sessions", 256 * 1024 * 1024, b"{\"username\":\"").await;
    assert_eq!((status, body["code"].as_str()), (413, Some("body_too_large")), "{body}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Without a declared length (chunked), reading stops at the limit.
    let padding = "x".repeat(1_100_000);
    let big = json!({"username": "admin", "password": padding}).to_string();
    let chunks: Vec<Result<String, std::io::Error>> =
        big.as_bytes().chunks(64 * 1024).map(|c| Ok(String::from_utf8_lossy(c).into_owned())).collect();
    let resp = app
        .client
        .post(app.url("/api/v1/admin-sessions"))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "body_too_large");

    // Just under the limit is read and answered on its merits.
    let fits = json!({"username": "admin", "password": "p".repeat(900_000)});
    let r = app.post("/api/v1/admin-sessions", None, fits).await;
    assert_ne!(r.status.as_u16(), 413, "{}", r.body);

    // The limit is configurable.
    let small = TestApp::spawn_with(|c| c.max_json_body_kb = 1).await;
    let r =
        small.post("/api/v1/admin-sessions", None, json!({"username": "admin", "password": "p".repeat(2000)})).await;
    r.expect_error(413, "body_too_large");
}

#[tokio::test]
async fn wrong_json_types_are_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let enterprise = app.create_enterprise(&platform, "TYPES01", None).await;
    let eid = enterprise["id"].as_str().unwrap();

    // The cases: a boolean and a number where a name is required.
    let r = app.post(&format!("/api/v1/enterprises/{eid}/regions"), Some(&platform), json!({"name": false})).await;
    r.expect_error(400, "field_wrong_type");
    assert_eq!(r.body["field"], "name");
    let r =
        app.post(&format!("/api/v1/enterprises/{eid}/printer-groups"), Some(&platform), json!({"name": -1058})).await;
    r.expect_error(400, "field_wrong_type");
    assert_eq!(r.body["field"], "name");
    // Nothing was created.
    let regions = app.get(&format!("/api/v1/enterprises/{eid}/regions"), Some(&platform)).await.expect(200);
    assert_eq!(regions.as_array().map(Vec::len), Some(0), "{regions}");
    let groups = app.get(&format!("/api/v1/enterprises/{eid}/printer-groups"), Some(&platform)).await.expect(200);
    assert_eq!(groups.as_array().map(Vec::len), Some(0), "{groups}");

    // Inside a list, the path names the item.
    let group = app
        .post(&format!("/api/v1/enterprises/{eid}/printer-groups"), Some(&platform), json!({"name": "g"}))
        .await
        .expect(201);
    let gid = group["id"].as_str().unwrap();
    let r = app
        .put(
            &format!("/api/v1/printer-groups/{gid}"),
            Some(&platform),
            json!({"name": "g", "print_point_ids": ["ok", 7]}),
        )
        .await;
    r.expect_error(400, "field_wrong_type");
    assert_eq!(r.body["field"], "print_point_ids[1]");

    // A missing required field is named too; the message follows Accept-Language.
    let r = app
        .call(Method::POST, &format!("/api/v1/enterprises/{eid}/regions"), Some(&platform), Some(json!({})), Some("en"))
        .await;
    r.expect_error(400, "field_missing");
    assert_eq!(r.body["field"], "name");
    assert!(r.body["message"].as_str().unwrap().starts_with("A required field is missing"), "{}", r.body);

    // The right types still work.
    app.post(&format!("/api/v1/enterprises/{eid}/regions"), Some(&platform), json!({"name": "false"}))
        .await
        .expect(201);
}

/// For every operation of the live OpenAPI document that takes JSON: a number in each of its
/// string fields is refused with `field_wrong_type` naming one of them, and a string in each
/// integer or boolean field likewise, whoever asks (the guard runs before authentication, so
/// no operation can be missed for lack of a token).
#[tokio::test]
async fn every_operation_refuses_wrong_types() {
    let app = TestApp::spawn().await;
    let spec = app.get("/api/v1/openapi.json", None).await.expect(200);
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(content) = op.pointer("/requestBody/content").and_then(Value::as_object) else { continue };
            let Some((_, media)) = content.iter().find(|(ct, _)| ct.starts_with("application/json")) else { continue };
            let schema = resolve(&spec, &media["schema"]);
            let Some(properties) = schema["properties"].as_object() else { continue };
            let mut body = Map::new();
            for (name, property) in properties {
                let wrong = match resolve(&spec, property)["type"].as_str() {
                    Some("string") => json!(12345),
                    Some("integer" | "number" | "boolean" | "array") => json!("text"),
                    _ => continue,
                };
                body.insert(name.clone(), wrong);
            }
            if body.is_empty() {
                continue;
            }
            let concrete = path.replace(['{', '}'], "");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = app.call(method.clone(), &concrete, None, Some(Value::Object(body.clone())), None).await;
            assert_eq!(
                (r.status.as_u16(), r.code()),
                (400, "field_wrong_type"),
                "{method} {path} with {} answered {}",
                Value::Object(body.clone()),
                r.body
            );
            let field = r.body["field"].as_str().unwrap_or("");
            assert!(body.contains_key(field), "{method} {path}: field {field:?} is not one that was sent wrong");
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} operations with JSON bodies were checked");
}
