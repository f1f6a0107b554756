//! Print points: the MAC rules and the whitelist (FAQ Q12, Q14, Q21), functions and meter
//! intervals (Q8, Q23), printer groups and their admins (Q19), region admins, per-point rates
//! (Q18), and QR codes that decode to the print point's URL.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::Method;
use serde_json::{json, Value};
use yunyin_e2e::TestApp;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn create_point(app: &TestApp, token: &str, enterprise: &Value, body: Value) -> yunyin_e2e::Reply {
    app.post(&format!("/api/v1/enterprises/{}/print-points", id(enterprise)), Some(token), body).await
}

/// Decodes the QR symbol in a PNG back to its text.
fn decode_qr(png: &[u8]) -> String {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let mut prepared =
        rqrr::PreparedImage::prepare_from_greyscale(img.width() as usize, img.height() as usize, |x, y| {
            img.get_pixel(x as u32, y as u32).0[0]
        });
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR symbol in the image");
    grids[0].decode().unwrap().1
}

#[tokio::test]
async fn macs_are_normalised_unique_and_illegal_ones_refused() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let a = app.create_enterprise(&admin, "MAC-A", None).await;
    let b = app.create_enterprise(&admin, "MAC-B", None).await;

    for (mac, code) in [
        ("00-00-00-00-00-00", "illegal_mac"),
        ("FF:FF:FF:FF:FF:FF", "illegal_mac"),
        ("01:00:5E:00:00:FB", "illegal_mac"),
        ("00:1B:2C:3D:4E", "invalid_mac"),
        ("printer", "invalid_mac"),
    ] {
        let r = create_point(&app, &admin, &a, json!({ "name": "前台", "mac": mac })).await;
        r.expect_error(400, code);
        assert_eq!(r.body["field"], "mac", "{mac}");
    }
    // The illegal-MAC message carries the FAQ's guidance, in both languages.
    let zh = create_point(&app, &admin, &a, json!({ "name": "前台", "mac": "00-00-00-00-00-00" })).await;
    assert!(zh.body["message"].as_str().unwrap().contains("标准 TCP/IP"), "{}", zh.body);
    let en = app
        .call(
            Method::POST,
            &format!("/api/v1/enterprises/{}/print-points", id(&a)),
            Some(&admin),
            Some(json!({ "name": "x", "mac": "00-00-00-00-00-00" })),
            Some("en"),
        )
        .await;
    let message = en.body["message"].as_str().unwrap();
    assert!(message.contains("standard TCP/IP port") && message.contains("gateway PC can reach"), "{message}");

    let first =
        create_point(&app, &admin, &a, json!({ "name": "3F 前台", "mac": "00-1b-2c-3d-4e-5f" })).await.expect(201);
    assert_eq!(first["mac"], "00:1B:2C:3D:4E:5F");
    assert_eq!((first["mac_shared"].as_bool(), first["cloud_print_enabled"].as_bool()), (Some(false), Some(true)));
    assert_eq!((first["status"].as_str(), first["meter_interval_minutes"].as_i64()), (Some("offline"), Some(60)));
    // Unique platform-wide, however it is written, in any enterprise.
    let dup = create_point(&app, &admin, &b, json!({ "name": "copy", "mac": "001B.2C3D.4E5F" })).await;
    dup.expect_error(409, "print_point_exists");
    assert!(dup.body["message"].as_str().unwrap().contains("白名单"));
    assert_eq!(
        app.get(&format!("/api/v1/enterprises/{}/print-points", id(&b)), Some(&admin)).await.expect(200),
        json!([])
    );
    // Print points without a MAC (registered by hand before a gateway sees them) do not clash.
    create_point(&app, &admin, &a, json!({ "name": "no mac 1" })).await.expect(201);
    create_point(&app, &admin, &a, json!({ "name": "no mac 2" })).await.expect(201);
}

#[tokio::test]
async fn whitelisted_macs_are_shared_for_operations_only() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let a = app.create_enterprise(&admin, "WL-A", None).await;
    let b = app.create_enterprise(&admin, "WL-B", None).await;
    let (_, ent_admin) = app.create_admin(&admin, "wl-ent", "enterprise", Some(&id(&a)), "super", &[]).await;

    // Only the platform's super admins keep the whitelist.
    app.post("/api/v1/mac-whitelist", Some(&ent_admin), json!({ "mac": "02:11:22:33:44:55" }))
        .await
        .expect_error(403, "forbidden");
    app.post("/api/v1/mac-whitelist", Some(&admin), json!({ "mac": "00:00:00:00:00:00" }))
        .await
        .expect_error(400, "illegal_mac");
    let added = app
        .post("/api/v1/mac-whitelist", Some(&admin), json!({ "mac": "02-11-22-33-44-55", "note": "二手机" }))
        .await
        .expect(200);
    assert_eq!(added["mac"], "02:11:22:33:44:55");
    app.post("/api/v1/mac-whitelist", Some(&admin), json!({ "mac": "021122334455" })).await.expect(200);
    assert_eq!(app.get("/api/v1/mac-whitelist", Some(&admin)).await.expect(200).as_array().unwrap().len(), 1);

    // Several machines share it, in O&M state: cloud print off and refused.
    let one =
        create_point(&app, &ent_admin, &a, json!({ "name": "一号机", "mac": "02:11:22:33:44:55" })).await.expect(201);
    let two = create_point(&app, &admin, &b, json!({ "name": "二号机", "mac": "02:11:22:33:44:55" })).await.expect(201);
    for p in [&one, &two] {
        assert_eq!((p["mac_shared"].as_bool(), p["cloud_print_enabled"].as_bool()), (Some(true), Some(false)));
    }
    let asked = create_point(
        &app,
        &admin,
        &b,
        json!({ "name": "三号机", "mac": "02:11:22:33:44:55", "cloud_print_enabled": true }),
    )
    .await;
    asked.expect_error(409, "whitelisted_mac_no_cloud_print");
    assert_eq!(asked.body["field"], "cloud_print_enabled");
    app.patch(&format!("/api/v1/print-points/{}", id(&one)), Some(&ent_admin), json!({ "cloud_print_enabled": true }))
        .await
        .expect_error(409, "whitelisted_mac_no_cloud_print");

    // Off the whitelist, the MAC is exclusive again for new print points; the shared ones stay O&M.
    assert_eq!(
        app.call(Method::DELETE, "/api/v1/mac-whitelist/02:11:22:33:44:55", Some(&admin), None, None).await.status,
        204
    );
    create_point(&app, &admin, &b, json!({ "name": "四号机", "mac": "02:11:22:33:44:55" }))
        .await
        .expect_error(409, "print_point_exists");
    let still = app.get(&format!("/api/v1/print-points/{}", id(&one)), Some(&ent_admin)).await.expect(200);
    assert_eq!(still["mac_shared"], true);
    assert_eq!(
        app.call(Method::DELETE, "/api/v1/mac-whitelist/02:11:22:33:44:55", Some(&admin), None, None).await.status,
        404
    );
}

#[tokio::test]
async fn functions_intervals_and_locations_are_validated() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "FUNC", None).await;
    let p = create_point(
        &app,
        &admin,
        &e,
        json!({ "name": "图书馆", "address": "北京市海淀区", "latitude": 39.99, "longitude": 116.31, "mac": "00:11:22:33:44:55" }),
    )
    .await
    .expect(201);
    let path = format!("/api/v1/print-points/{}", id(&p));
    for (body, status, code, field) in [
        // Ranges are declared in the API document: the request guard answers them.
        (json!({ "meter_interval_minutes": 0 }), 400, "value_out_of_range", "meter_interval_minutes"),
        (json!({ "meter_interval_minutes": 1441 }), 400, "value_out_of_range", "meter_interval_minutes"),
        (json!({ "latitude": 91.0 }), 400, "value_out_of_range", "latitude"),
        (json!({ "name": "" }), 400, "invalid_name", "name"),
        (json!({ "region_id": "nope" }), 422, "unknown_reference", "region_id"),
    ] {
        let r = app.patch(&path, Some(&admin), body.clone()).await;
        r.expect_error(status, code);
        assert_eq!(r.body["field"], field, "{body}");
    }
    let changed = app
        .patch(
            &path,
            Some(&admin),
            json!({ "meter_interval_minutes": 1, "copy_enabled": false, "scan_enabled": false }),
        )
        .await
        .expect(200);
    assert_eq!(changed["meter_interval_minutes"], 1);
    assert_eq!(
        (
            changed["cloud_print_enabled"].as_bool(),
            changed["copy_enabled"].as_bool(),
            changed["scan_enabled"].as_bool()
        ),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!((changed["latitude"].as_f64(), changed["address"].as_str()), (Some(39.99), Some("北京市海淀区")));
    create_point(&app, &admin, &e, json!({ "name": "x", "meter_interval_minutes": 1440 })).await.expect(201);
}

#[tokio::test]
async fn group_and_region_admins_see_and_manage_only_theirs() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "GROUPS", None).await;
    let eid = id(&e);
    let region = app
        .post(&format!("/api/v1/enterprises/{eid}/regions"), Some(&admin), json!({ "name": "东区" }))
        .await
        .expect(201);
    let in_group = create_point(&app, &admin, &e, json!({ "name": "A 组打印机" })).await.expect(201);
    let other =
        create_point(&app, &admin, &e, json!({ "name": "其他打印机", "region_id": id(&region) })).await.expect(201);

    let (grp_admin, grp_token) = app.create_admin(&admin, "grp-admin", "enterprise", Some(&eid), "ordinary", &[]).await;
    let (_, plain_token) = app.create_admin(&admin, "plain-admin", "enterprise", Some(&eid), "ordinary", &[]).await;
    let (_, region_token) =
        app.create_admin(&admin, "region-admin", "enterprise", Some(&eid), "region", &[&id(&region)]).await;
    let (super_admin, _) = app.create_admin(&admin, "ent-super", "enterprise", Some(&eid), "super", &[]).await;

    let group = app
        .post(&format!("/api/v1/enterprises/{eid}/printer-groups"), Some(&admin), json!({ "name": "A 组" }))
        .await
        .expect(201);
    app.post(&format!("/api/v1/enterprises/{eid}/printer-groups"), Some(&admin), json!({ "name": "A 组" }))
        .await
        .expect_error(409, "group_name_taken");
    // Super admins cannot be group admins (they see everything anyway); unknown points are refused.
    app.put(
        &format!("/api/v1/printer-groups/{}", id(&group)),
        Some(&admin),
        json!({ "admin_ids": [id(&super_admin)] }),
    )
    .await
    .expect_error(422, "unknown_reference");
    app.put(&format!("/api/v1/printer-groups/{}", id(&group)), Some(&admin), json!({ "print_point_ids": ["nope"] }))
        .await
        .expect_error(422, "unknown_reference");
    let set = app
        .put(
            &format!("/api/v1/printer-groups/{}", id(&group)),
            Some(&admin),
            json!({ "print_point_ids": [id(&in_group)], "admin_ids": [id(&grp_admin)] }),
        )
        .await
        .expect(200);
    assert_eq!(
        (set["print_point_ids"].clone(), set["admin_ids"].clone()),
        (json!([id(&in_group)]), json!([id(&grp_admin)]))
    );

    let list = |token: String| {
        let app = &app;
        let eid = eid.clone();
        async move {
            let all = app.get(&format!("/api/v1/enterprises/{eid}/print-points"), Some(&token)).await.expect(200);
            let mut names: Vec<String> =
                all.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
            names.sort();
            names
        }
    };
    assert_eq!(list(grp_token.clone()).await, vec!["A 组打印机"]);
    assert_eq!(list(region_token.clone()).await, vec!["其他打印机"]);
    assert_eq!(list(plain_token.clone()).await.len(), 2);

    // The group admin manages their print point; the other one does not exist for them.
    app.patch(&format!("/api/v1/print-points/{}", id(&in_group)), Some(&grp_token), json!({ "scan_enabled": false }))
        .await
        .expect(200);
    app.get(&format!("/api/v1/print-points/{}", id(&other)), Some(&grp_token)).await.expect_error(404, "not_found");
    app.patch(&format!("/api/v1/print-points/{}", id(&other)), Some(&grp_token), json!({ "scan_enabled": false }))
        .await
        .expect_error(404, "not_found");
    let groups = app.get(&format!("/api/v1/enterprises/{eid}/printer-groups"), Some(&grp_token)).await.expect(200);
    assert_eq!(groups.as_array().unwrap().len(), 1);
    // The region admin manages the print point in their region, and registers only inside it.
    app.patch(&format!("/api/v1/print-points/{}", id(&other)), Some(&region_token), json!({ "copy_enabled": false }))
        .await
        .expect(200);
    app.get(&format!("/api/v1/print-points/{}", id(&in_group)), Some(&region_token))
        .await
        .expect_error(404, "not_found");
    create_point(&app, &region_token, &e, json!({ "name": "无区域" })).await.expect_error(422, "unknown_reference");
    create_point(&app, &region_token, &e, json!({ "name": "东区新机", "region_id": id(&region) })).await.expect(201);
    // An ordinary admin without groups reads all but changes nothing.
    app.patch(&format!("/api/v1/print-points/{}", id(&other)), Some(&plain_token), json!({ "copy_enabled": true }))
        .await
        .expect_error(403, "forbidden");
    create_point(&app, &plain_token, &e, json!({ "name": "x" })).await.expect_error(403, "forbidden");
}

#[tokio::test]
async fn qr_codes_decode_to_the_print_points_url() {
    let app = TestApp::spawn_with(|c| c.public_base_url = "https://print.example.com/".into()).await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "QRC", None).await;
    let (_, outsider) = {
        let other = app.create_enterprise(&admin, "QR-OTHER", None).await;
        app.create_admin(&admin, "qr-outsider", "enterprise", Some(&id(&other)), "super", &[]).await
    };
    let p = create_point(&app, &admin, &e, json!({ "name": "二楼 & <打印>" })).await.expect(201);
    let q = create_point(&app, &admin, &e, json!({ "name": "三楼" })).await.expect(201);
    let url = p["qr_url"].as_str().unwrap().to_string();
    let code = url.strip_prefix("https://print.example.com/p/").expect("public base URL + /p/ + code");
    assert_eq!(code.len(), 24);
    assert_ne!(p["qr_url"], q["qr_url"]);
    // Stable: the same on every read.
    assert_eq!(app.get(&format!("/api/v1/print-points/{}", id(&p)), Some(&admin)).await.expect(200)["qr_url"], url);

    for size in [128, 512, 1024] {
        let (status, png) = app.get_bytes(&format!("/api/v1/print-points/{}/qr.png?size={size}", id(&p)), &admin).await;
        assert_eq!(status, 200);
        let img = image::load_from_memory(&png).unwrap();
        assert!(img.width() <= size && img.width() > size * 3 / 4, "{size}: {}", img.width());
        assert_eq!(decode_qr(&png), url);
    }
    let (status, svg) = app.get_bytes(&format!("/api/v1/print-points/{}/qr.svg?size=300", id(&p)), &admin).await;
    assert_eq!(status, 200);
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("width=\"300\"") && svg.contains("<path"));

    let (status, sheet) = app
        .get_bytes(&format!("/api/v1/enterprises/{}/print-points/stickers.svg?ids={}", id(&e), id(&p)), &admin)
        .await;
    assert_eq!(status, 200);
    let sheet = String::from_utf8(sheet).unwrap();
    assert!(sheet.contains("二楼 &amp; &lt;打印&gt;") && !sheet.contains("三楼"), "names escaped; only the chosen one");
    let (_, all) = app.get_bytes(&format!("/api/v1/enterprises/{}/print-points/stickers.svg", id(&e)), &admin).await;
    assert!(String::from_utf8(all).unwrap().contains("三楼"));

    // Out of scope, the images do not exist.
    let (status, _) = app.get_bytes(&format!("/api/v1/print-points/{}/qr.png", id(&p)), &outsider).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_print_point_may_override_its_enterprises_rates() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "PPRATES", None).await;
    let p = create_point(&app, &admin, &e, json!({ "name": "彩色机" })).await.expect(201);
    let enterprise_plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0,
        "prices": [{ "paper_size": "A4", "colour": false, "fen_per_side": 10 }] });
    app.put(&format!("/api/v1/enterprises/{}/rate-plan", id(&e)), Some(&admin), enterprise_plan).await.expect(200);
    let path = format!("/api/v1/print-points/{}/rate-plan", id(&p));

    let inherited = app.get(&path, Some(&admin)).await.expect(200);
    assert_eq!(
        (inherited["own"].as_bool(), inherited["plan"]["prices"][0]["fen_per_side"].as_i64()),
        (Some(false), Some(10))
    );
    let own_plan = json!({ "plan": { "duplex_pricing": "per_sheet", "minimum_fen": 50,
        "prices": [{ "paper_size": "A4", "colour": true, "fen_per_side": 100 }] } });
    let own = app.put(&path, Some(&admin), own_plan).await.expect(200);
    assert_eq!((own["own"].as_bool(), own["plan"]["minimum_fen"].as_i64()), (Some(true), Some(50)));
    let bad = app
        .put(&path, Some(&admin), json!({ "plan": { "duplex_pricing": "per_side", "minimum_fen": -1, "prices": [] } }))
        .await;
    bad.expect_error(400, "value_out_of_range");
    assert_eq!(
        app.get(&path, Some(&admin)).await.expect(200)["plan"]["minimum_fen"],
        50,
        "a refused change writes nothing"
    );
    let dropped = app.put(&path, Some(&admin), json!({})).await.expect(200);
    assert_eq!(
        (dropped["own"].as_bool(), dropped["plan"]["prices"][0]["fen_per_side"].as_i64()),
        (Some(false), Some(10))
    );
}
