//! Cloud business operations, part one (issue 17, sections 1 and 2): editions gate modules and
//! limits for users and admins alike, a provider offers only what its own edition includes,
//! and lower admins do only what they were granted. Changes take effect at once, on every
//! instance (a sibling server on the same database sees them).

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use yunyin_e2e::{harness::access, TestApp};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

const ALL_MODULES: [&str; 8] = [
    "cloud_print",
    "cloud_om",
    "scan_to_cloud",
    "reports",
    "wechat_payment",
    "mini_program",
    "ipp_printing",
    "api_access",
];

fn plan(fen: i64) -> Value {
    json!({ "duplex_pricing": "per_side", "minimum_fen": 0, "prices": [
        { "paper_size": "A4", "colour": false, "fen_per_side": fen } ] })
}

#[tokio::test]
async fn an_edition_gates_modules_and_limits_at_once_on_every_instance() {
    let app = TestApp::spawn().await;
    let sibling = app.spawn_sibling().await;
    let platform = app.platform_token().await;

    // The platform defines two editions; only it may.
    let basic = app
        .post(
            "/api/v1/editions",
            Some(&platform),
            json!({ "name": "基础版", "modules": ["cloud_print"], "max_print_points": 1, "max_users": 2 }),
        )
        .await
        .expect(201);
    assert_eq!(basic["modules"], json!(["cloud_print"]));
    let pro = app
        .post("/api/v1/editions", Some(&platform), json!({ "name": "专业版", "modules": ALL_MODULES }))
        .await
        .expect(201);
    app.post("/api/v1/editions", Some(&platform), json!({ "name": "基础版", "modules": [] }))
        .await
        .expect_error(409, "edition_name_taken");
    let r = app.post("/api/v1/editions", Some(&platform), json!({ "name": "坏", "modules": ["teleport"] })).await;
    r.expect_error(400, "invalid_value");
    assert_eq!(r.body["field"], "modules[0]");

    // A provider on the basic edition cannot offer more than it has.
    let provider = app.create_provider(&platform, "华东代理", None).await;
    let (_, provider_admin) =
        app.create_admin(&platform, "east-boss", "provider", Some(&id(&provider)), "super", &[]).await;
    app.post("/api/v1/editions", Some(&provider_admin), json!({ "name": "私版", "modules": [] }))
        .await
        .expect_error(403, "forbidden");
    let p = app
        .put(
            &format!("/api/v1/providers/{}/edition", id(&provider)),
            Some(&platform),
            json!({ "edition_id": id(&basic) }),
        )
        .await
        .expect(200);
    assert_eq!(p["edition_id"], json!(id(&basic)));
    let e = app.create_enterprise(&provider_admin, "EDBASIC", Some(&id(&provider))).await;
    let eid = id(&e);
    let edition_path = format!("/api/v1/enterprises/{eid}/edition");
    let r = app.put(&edition_path, Some(&provider_admin), json!({ "edition_id": id(&pro) })).await;
    r.expect_error(403, "beyond_provider_edition");
    assert!(r.body["message"].as_str().unwrap().contains("cloud_om"), "{}", r.body);
    // "None" is every module: not for an enterprise of a limited provider either.
    app.put(&edition_path, Some(&provider_admin), json!({ "edition_id": null }))
        .await
        .expect_error(403, "beyond_provider_edition");
    let assigned = app.put(&edition_path, Some(&provider_admin), json!({ "edition_id": id(&basic) })).await.expect(200);
    assert_eq!(assigned["edition_id"], json!(id(&basic)));
    // The enterprise's own admins cannot choose their edition.
    let (_, boss) = app.create_admin(&platform, "edbasic-boss", "enterprise", Some(&eid), "super", &[]).await;
    app.put(&edition_path, Some(&boss), json!({ "edition_id": id(&basic) })).await.expect_error(403, "forbidden");

    // Limits: one print point, two users.
    let points = format!("/api/v1/enterprises/{eid}/print-points");
    let point = app.post(&points, Some(&boss), json!({ "name": "前台" })).await.expect(201);
    let r = app.post(&points, Some(&boss), json!({ "name": "二楼" })).await;
    r.expect_error(409, "edition_limit_reached");
    let user = access(&app.register_user("EDBASIC", "user1", "passw0rd!").await);
    app.register_user("EDBASIC", "user2", "passw0rd!").await;
    app.post(
        "/api/v1/users",
        None,
        json!({ "enterprise_code": "EDBASIC", "username": "user3", "password": "passw0rd!" }),
    )
    .await
    .expect_error(409, "edition_limit_reached");

    // What the edition lacks is refused to users and admins, with its name in the message.
    let mine = app.get("/api/v1/me/modules", Some(&user)).await.expect(200);
    assert_eq!((mine["edition"].as_str(), &mine["modules"]), (Some("基础版"), &json!(["cloud_print"])));
    let r = app.post("/api/v1/me/printing-tokens", Some(&user), json!({ "name": "PC" })).await;
    r.expect_error(403, "module_not_in_edition");
    assert!(r.body["message"].as_str().unwrap().contains("ipp_printing"), "{}", r.body);
    let snmp = format!("/api/v1/print-points/{}/snmp", id(&point));
    app.get(&snmp, Some(&boss)).await.expect_error(403, "module_not_in_edition");
    app.get(&snmp, Some(&platform)).await.expect_error(403, "module_not_in_edition");
    app.get("/api/v1/scans", Some(&user)).await.expect_error(403, "module_not_in_edition");
    // What it has works.
    let job = app.upload(&user, "a.pdf", yunyin_e2e::fixtures::mono_pdf(1)).await;
    assert_eq!(job.status.as_u16(), 201, "{}", job.body);

    // The platform adds cloud O&M to the edition: allowed at once, on this and the other
    // instance; a sibling instance answers the same.
    let mut modules = vec!["cloud_print", "cloud_om"];
    let body = json!({ "name": "基础版", "modules": modules, "max_print_points": 1, "max_users": 2 });
    app.put(&format!("/api/v1/editions/{}", id(&basic)), Some(&platform), body).await.expect(200);
    app.get(&snmp, Some(&boss)).await.expect(200);
    sibling.get(&snmp, Some(&boss)).await.expect(200);
    // Taken away again, refused again everywhere.
    modules.pop();
    let body = json!({ "name": "基础版", "modules": modules, "max_print_points": 1, "max_users": 2 });
    sibling.put(&format!("/api/v1/editions/{}", id(&basic)), Some(&platform), body).await.expect(200);
    app.get(&snmp, Some(&boss)).await.expect_error(403, "module_not_in_edition");

    // Moved to the professional edition by the platform (the provider's own edition does not
    // bound the platform's assignment of the provider itself).
    app.put(
        &format!("/api/v1/providers/{}/edition", id(&provider)),
        Some(&platform),
        json!({ "edition_id": id(&pro) }),
    )
    .await
    .expect(200);
    app.put(&edition_path, Some(&provider_admin), json!({ "edition_id": id(&pro) })).await.expect(200);
    sibling.get(&snmp, Some(&boss)).await.expect(200);
    app.post(&points, Some(&boss), json!({ "name": "二楼" })).await.expect(201);
    let mine = sibling.get("/api/v1/me/modules", Some(&user)).await.expect(200);
    assert_eq!(mine["modules"].as_array().unwrap().len(), ALL_MODULES.len(), "{mine}");
    app.post("/api/v1/me/printing-tokens", Some(&user), json!({ "name": "PC" })).await.expect(201);

    // Everyone may read the editions; an enterprise without one has every module.
    let listed = app.get("/api/v1/editions", Some(&boss)).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (_, free_user) = app.enterprise_with_user(&platform, "EDFREE", "free").await;
    let mine = app.get("/api/v1/me/modules", Some(&free_user)).await.expect(200);
    assert!(mine.get("edition").is_none() && mine["modules"].as_array().unwrap().len() == ALL_MODULES.len());
}

#[tokio::test]
async fn lower_admins_do_only_what_they_were_granted() {
    let app = TestApp::spawn().await;
    let sibling = app.spawn_sibling().await;
    let platform = app.platform_token().await;
    let e = app.create_enterprise(&platform, "PERMS", None).await;
    let eid = id(&e);
    let (_, boss) = app.create_admin(&platform, "perms-boss", "enterprise", Some(&eid), "super", &[]).await;
    app.post(&format!("/api/v1/enterprises/{eid}/print-points"), Some(&boss), json!({ "name": "前台" }))
        .await
        .expect(201);

    // An ordinary admin granted jobs and print points only.
    let created = app
        .post(
            "/api/v1/admins",
            Some(&boss),
            json!({ "username": "clerk", "display_name": "文员", "scope_kind": "enterprise", "scope_id": eid,
                    "role": "ordinary", "permissions": ["jobs", "print_points"] }),
        )
        .await
        .expect(201);
    assert_eq!(created["admin"]["permissions"], json!(["print_points", "jobs"]));
    let clerk_id = id(&created["admin"]);
    let clerk = app.admin_sign_in("clerk", created["one_time_password"].as_str().unwrap()).await;
    let me = app.get("/api/v1/admins/me", Some(&clerk)).await.expect(200);
    assert_eq!(me["permissions"], json!(["print_points", "jobs"]));

    // A rate change is refused (and so is reading the rates), with the permission named.
    let rates = format!("/api/v1/enterprises/{eid}/rate-plan");
    let r = app.put(&rates, Some(&clerk), plan(12)).await;
    r.expect_error(403, "permission_denied");
    assert!(r.body["message"].as_str().unwrap().contains("rates"), "{}", r.body);
    app.get(&rates, Some(&clerk)).await.expect_error(403, "permission_denied");
    // Granted areas work; others are refused whatever exists behind them.
    app.get(&format!("/api/v1/enterprises/{eid}/jobs"), Some(&clerk)).await.expect(200);
    app.get(&format!("/api/v1/enterprises/{eid}/print-points"), Some(&clerk)).await.expect(200);
    app.get(&format!("/api/v1/enterprises/{eid}/users"), Some(&clerk)).await.expect_error(403, "permission_denied");
    app.get("/api/v1/enterprises/nonexistent/users", Some(&clerk)).await.expect_error(403, "permission_denied");
    app.get("/api/v1/admins", Some(&clerk)).await.expect_error(403, "permission_denied");
    // Nor may the clerk grant itself more.
    app.put(&format!("/api/v1/admins/{clerk_id}/permissions"), Some(&clerk), json!({ "permissions": ["rates"] }))
        .await
        .expect_error(403, "permission_denied");

    // The super admin grants rates: allowed at once, on the other instance too.
    let granted = app
        .put(
            &format!("/api/v1/admins/{clerk_id}/permissions"),
            Some(&boss),
            json!({ "permissions": ["jobs", "print_points", "rates"] }),
        )
        .await
        .expect(200);
    assert_eq!(granted["permissions"], json!(["print_points", "rates", "jobs"]));
    let set = sibling.put(&rates, Some(&clerk), plan(12)).await.expect(200);
    assert_eq!(set["prices"][0]["fen_per_side"], 12, "{set}");

    // A lower admin granted `admins` grants only what it holds, and never makes a super.
    app.put(
        &format!("/api/v1/admins/{clerk_id}/permissions"),
        Some(&boss),
        json!({ "permissions": ["jobs", "admins"] }),
    )
    .await
    .expect(200);
    let new_admin = |username: &str, role: &str, permissions: Value| {
        json!({ "username": username, "display_name": username, "scope_kind": "enterprise", "scope_id": eid,
                "role": role, "permissions": permissions })
    };
    app.post("/api/v1/admins", Some(&clerk), new_admin("helper1", "ordinary", json!(["rates"])))
        .await
        .expect_error(403, "grant_exceeds_own");
    app.post("/api/v1/admins", Some(&clerk), new_admin("helper2", "super", json!([])))
        .await
        .expect_error(403, "forbidden");
    let helper =
        app.post("/api/v1/admins", Some(&clerk), new_admin("helper3", "ordinary", json!(["jobs"]))).await.expect(201);
    assert_eq!(helper["admin"]["permissions"], json!(["jobs"]));
    // Without a list, a new lower admin gets what its creator holds, but managing admins.
    let helper = app
        .post(
            "/api/v1/admins",
            Some(&clerk),
            json!({ "username": "helper4", "display_name": "h4",
        "scope_kind": "enterprise", "scope_id": eid, "role": "ordinary" }),
        )
        .await
        .expect(201);
    assert_eq!(helper["admin"]["permissions"], json!(["jobs"]));
    // A super admin's permissions are all of them and cannot be set.
    let boss_me = app.get("/api/v1/admins/me", Some(&boss)).await.expect(200);
    assert_eq!(boss_me["permissions"].as_array().unwrap().len(), 9, "{boss_me}");
    app.put(&format!("/api/v1/admins/{}/permissions", id(&boss_me)), Some(&platform), json!({ "permissions": [] }))
        .await
        .expect_error(403, "forbidden");
}
