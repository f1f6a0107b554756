//! Over-long text (item 9) and over-long lists (item 10): every string and list a request may
//! carry has a declared maximum in the OpenAPI document, the server holds requests to it
//! (`field_too_long`, `too_many_items`, naming the field) and stores nothing from a refused
//! one; a printer group's ids are checked together and written in one transaction.

use std::time::{Duration, Instant};

use super::resolve;
use serde_json::{json, Value};
use yunyin_e2e::{
    raw_gateway::{enrol, report},
    TestApp,
};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The strings without `maxLength` and lists without `maxItems` under `schema`, as paths.
fn unbounded(spec: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let schema = resolve(spec, schema);
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            unbounded(spec, part, path, out);
        }
    }
    match schema["type"].as_str() {
        // A binary upload has its own limit; an enum bounds itself.
        Some("string")
            if schema.get("maxLength").is_none() && schema.get("enum").is_none() && schema["format"] != "binary" =>
        {
            out.push(path.to_string());
        }
        Some("array") => {
            if schema.get("maxItems").is_none() {
                out.push(format!("{path} (list)"));
            }
            unbounded(spec, &schema["items"], &format!("{path}[]"), out);
        }
        _ => {}
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        unbounded(spec, property, &format!("{path}.{name}"), out);
    }
}

#[tokio::test]
async fn every_request_string_and_list_declares_its_maximum() {
    let app = TestApp::spawn().await;
    let spec = app.get("/api/v1/openapi.json", None).await.expect(200);
    let (mut missing, mut bodies) = (Vec::new(), 0);
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (media, content) in op.pointer("/requestBody/content").and_then(Value::as_object).into_iter().flatten()
            {
                bodies += 1;
                let at = format!("{} {path} ({media})", method.to_uppercase());
                unbounded(&spec, &content["schema"], &at, &mut missing);
            }
        }
    }
    assert!(bodies >= 30, "only {bodies} request bodies in the document");
    assert!(missing.is_empty(), "request values without a declared maximum:\n{}", missing.join("\n"));

    // The walk can fail: a document with one unbounded string and one unbounded list.
    let drift = json!({"type": "object", "properties": {
        "name": {"type": "string"}, "ids": {"type": "array", "items": {"type": "string", "maxLength": 3}}}});
    let mut found = Vec::new();
    unbounded(&spec, &drift, "drift", &mut found);
    found.sort();
    assert_eq!(found, vec!["drift.ids (list)".to_string(), "drift.name".to_string()]);
}

#[tokio::test]
async fn over_long_text_is_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let enterprise = app.create_enterprise(&platform, "LONG01", None).await;
    let points = format!("/api/v1/enterprises/{}/print-points", id(&enterprise));

    // The fields, each one character past its maximum (2-3 MB were stored before).
    let fields = [("address", 200), ("make_model", 256), ("serial_number", 256), ("device_uri", 1024)];
    for (n, (field, max)) in fields.into_iter().enumerate() {
        let mut body = json!({"name": "前台", "address": "一楼", "device_uri": "ipp://10.0.0.9/ipp/print"});
        body[field] = json!("长".repeat(max + 1));
        let r = app.post(&points, Some(&platform), body.clone()).await;
        r.expect_error(400, "field_too_long");
        assert_eq!(r.body["field"], field);
        // The maximum itself is stored whole.
        body[field] = json!("长".repeat(max));
        body["mac"] = json!(format!("00:1B:2C:3D:4E:{n:02X}"));
        let created = app.post(&points, Some(&platform), body).await.expect(201);
        assert_eq!(created[field].as_str().map(|s| s.chars().count()), Some(max), "{field}");
    }
    let listed = app.get(&points, Some(&platform)).await.expect(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(4), "only the four that fit: {listed}");

    // A print point's update, and a whitelist note.
    let point = id(&listed[0]);
    let r =
        app.patch(&format!("/api/v1/print-points/{point}"), Some(&platform), json!({"address": "x".repeat(201)})).await;
    r.expect_error(400, "field_too_long");
    let after = app.get(&format!("/api/v1/print-points/{point}"), Some(&platform)).await.expect(200);
    assert_eq!(after["address"], listed[0]["address"], "the refused update changed nothing");
    let r = app
        .post("/api/v1/mac-whitelist", Some(&platform), json!({"mac": "00:1B:2C:3D:4E:99", "note": "注".repeat(201)}))
        .await;
    r.expect_error(400, "field_too_long");
    assert_eq!(r.body["field"], "note");
    let whitelist = app.get("/api/v1/mac-whitelist", Some(&platform)).await.expect(200);
    assert_eq!(whitelist.as_array().map(Vec::len), Some(0), "{whitelist}");

    // What a gateway reports is held to the same maxima, item by item.
    let (_, credential) = enrol(&app, &platform, &enterprise, "front-desk").await;
    let printers = json!([
        {"key": "a", "mac": "00:1B:2C:3D:4F:01", "device_uri": "ipp://10.0.0.7/ipp/print"},
        {"key": "b", "mac": "00:1B:2C:3D:4F:02", "device_uri": format!("ipp://10.0.0.8/{}", "p".repeat(1100))},
    ]);
    let r =
        app.post("/api/v1/gateway/printers", Some(&credential), json!({"printers": printers, "refresh": false})).await;
    r.expect_error(400, "field_too_long");
    assert_eq!(r.body["field"], "printers[1].device_uri");
    let listed = app.get(&points, Some(&platform)).await.expect(200);
    assert_eq!(listed.as_array().map(Vec::len), Some(4), "the refused report registered nothing");
    let fits = json!([{"key": "a", "mac": "00:1B:2C:3D:4F:01", "device_uri": "ipp://10.0.0.7/ipp/print",
                       "make_model": "m".repeat(256)}]);
    assert_eq!(report(&app, &credential, fits, false).await[0]["outcome"], "registered");
}

#[tokio::test]
async fn printer_group_lists_are_bounded_checked_together_and_written_whole() {
    let app = TestApp::spawn().await;
    let platform = app.platform_token().await;
    let acme = app.create_enterprise(&platform, "GROUPS01", None).await;
    let other = app.create_enterprise(&platform, "GROUPS02", None).await;
    let point = |e: &Value, n: u8| {
        let path = format!("/api/v1/enterprises/{}/print-points", id(e));
        let body = json!({"name": format!("点{n}"), "mac": format!("00:1B:2C:3D:5E:{n:02X}")});
        let app = &app;
        let platform = &platform;
        async move { id(&app.post(&path, Some(platform), body).await.expect(201)) }
    };
    let (p1, p2, foreign) = (point(&acme, 1).await, point(&acme, 2).await, point(&other, 3).await);
    let group = app
        .post(&format!("/api/v1/enterprises/{}/printer-groups", id(&acme)), Some(&platform), json!({"name": "一楼"}))
        .await
        .expect(201);
    let path = format!("/api/v1/printer-groups/{}", id(&group));

    // The 200,000 ids: refused at once, by the body limit before any lookup.
    let many: Vec<String> = (0..200_000).map(|i| format!("01a23e90-36d0-7717-a614-{i:012}")).collect();
    let started = Instant::now();
    let r = app.put(&path, Some(&platform), json!({"print_point_ids": many})).await;
    r.expect_error(413, "body_too_large");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    // Past the declared maximum but within the body limit: too_many_items, naming the list.
    let r = app.put(&path, Some(&platform), json!({"print_point_ids": many[..1001]})).await;
    r.expect_error(400, "too_many_items");
    assert_eq!(r.body["field"], "print_point_ids");
    // An id past its length is named by its place.
    let r = app.put(&path, Some(&platform), json!({"print_point_ids": [p1, "x".repeat(65)]})).await;
    r.expect_error(400, "field_too_long");
    assert_eq!(r.body["field"], "print_point_ids[1]");

    // Members set, twice named and all.
    let set = app.put(&path, Some(&platform), json!({"print_point_ids": [p1, p2, p1]})).await.expect(200);
    assert_eq!(set["print_point_ids"].as_array().map(Vec::len), Some(2), "{set}");
    // One foreign id among 999 unknown and one good: refused, and the group is as it was.
    let mut mixed: Vec<String> = many[..998].to_vec();
    mixed.extend([p2.clone(), foreign.clone()]);
    let r = app.put(&path, Some(&platform), json!({"print_point_ids": mixed})).await;
    r.expect_error(422, "unknown_reference");
    assert_eq!(r.body["field"], "print_point_ids");
    // Good print points with a bad admin: neither list is written.
    let r = app.put(&path, Some(&platform), json!({"print_point_ids": [p2], "admin_ids": [foreign]})).await;
    r.expect_error(422, "unknown_reference");
    assert_eq!(r.body["field"], "admin_ids");
    let groups =
        app.get(&format!("/api/v1/enterprises/{}/printer-groups", id(&acme)), Some(&platform)).await.expect(200);
    let mut members: Vec<&str> =
        groups[0]["print_point_ids"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    members.sort();
    let mut expected = vec![p1.as_str(), p2.as_str()];
    expected.sort();
    assert_eq!(members, expected, "the refused sets left the members as they were");
}
