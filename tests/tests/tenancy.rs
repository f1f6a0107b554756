//! The organisation tree and its scopes: providers at any depth, enterprises, regions, admins
//! at every level seeing only their scope, and password resets downwards.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use yunyin_e2e::{harness::access, TestApp};

async fn app() -> TestApp {
    // Many admins sign in from one address here; the per-address limit is tested elsewhere.
    TestApp::spawn_with(|c| c.signin_max_per_ip_per_minute = 10_000).await
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn providers_nest_and_admins_see_only_their_subtree() {
    let app = app().await;
    let platform = app.platform_token().await;
    let p1 = app.create_provider(&platform, "华东代理", None).await;
    let p3 = app.create_provider(&platform, "华南代理", None).await;
    let (_, p1_admin) = app.create_admin(&platform, "p1-super", "provider", Some(id(&p1)), "super", &[]).await;
    let (_, p3_admin) = app.create_admin(&platform, "p3-super", "provider", Some(id(&p3)), "super", &[]).await;

    // P1 creates a sub-provider (default parent: its own) and an enterprise under it.
    let p2 = app.create_provider(&p1_admin, "上海二级代理", None).await;
    assert_eq!(p2["parent_id"], p1["id"]);
    let e_deep = app.create_enterprise(&p1_admin, "DEEP01", Some(id(&p2))).await;
    let e_p1 = app.create_enterprise(&p1_admin, "P1ENT", None).await;
    assert_eq!(e_p1["provider_id"], p1["id"]);
    let e_p3 = app.create_enterprise(&p3_admin, "P3ENT", None).await;
    let (_, p2_admin) = app.create_admin(&p1_admin, "p2-super", "provider", Some(id(&p2)), "super", &[]).await;

    let seen_by_p1 = ids(&app.get("/api/v1/enterprises", Some(&p1_admin)).await.expect(200));
    assert!(seen_by_p1.contains(&id(&e_deep).to_string()) && seen_by_p1.contains(&id(&e_p1).to_string()));
    assert!(!seen_by_p1.contains(&id(&e_p3).to_string()));
    let seen_by_p2 = ids(&app.get("/api/v1/enterprises", Some(&p2_admin)).await.expect(200));
    assert_eq!(seen_by_p2, vec![id(&e_deep).to_string()]);
    assert_eq!(ids(&app.get("/api/v1/enterprises", Some(&platform)).await.expect(200)).len(), 3);

    // Outside one's subtree everything is "not found", never "forbidden".
    app.get(&format!("/api/v1/enterprises/{}", id(&e_p1)), Some(&p3_admin)).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/enterprises/{}", id(&e_p1)), Some(&p2_admin)).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/providers/{}", id(&p1)), Some(&p2_admin)).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/providers/{}", id(&p2)), Some(&p1_admin)).await.expect(200);
    let providers_of_p1 = ids(&app.get("/api/v1/providers", Some(&p1_admin)).await.expect(200));
    assert_eq!(providers_of_p1.len(), 2, "P1 sees itself and P2");

    // Creating under someone else's provider is refused as an unknown reference.
    let r = app
        .post("/api/v1/enterprises", Some(&p3_admin), json!({"code": "SNEAKY", "name": "x", "contact_name": "y", "contact_phone": "13800138000", "provider_id": id(&p1)}))
        .await;
    r.expect_error(422, "unknown_reference");
    assert_eq!(r.body["field"], "provider_id");
    app.post("/api/v1/providers", Some(&p3_admin), json!({"name": "x", "parent_id": id(&p2)}))
        .await
        .expect_error(422, "unknown_reference");

    // Codes are unique platform-wide.
    app.post(
        "/api/v1/enterprises",
        Some(&p3_admin),
        json!({"code": "deep01", "name": "x", "contact_name": "y", "contact_phone": "13800138000"}),
    )
    .await
    .expect_error(409, "enterprise_code_taken");
}

#[tokio::test]
async fn enterprise_admins_and_users_stay_in_their_enterprise() {
    let app = app().await;
    let platform = app.platform_token().await;
    let a = app.create_enterprise(&platform, "ENTA", None).await;
    let b = app.create_enterprise(&platform, "ENTB", None).await;
    let (_, a_admin) = app.create_admin(&platform, "a-super", "enterprise", Some(id(&a)), "super", &[]).await;
    app.post(&format!("/api/v1/enterprises/{}/regions", id(&b)), Some(&platform), json!({"name": "B 区"}))
        .await
        .expect(201);
    app.post(&format!("/api/v1/enterprises/{}/regions", id(&a)), Some(&a_admin), json!({"name": "A 区"}))
        .await
        .expect(201);
    let user_a = app.register_user("ENTA", "alice", "passw0rd!").await;
    app.register_user("ENTB", "bob", "passw0rd!").await;

    // The admin of A cannot read, change or administer B.
    app.get(&format!("/api/v1/enterprises/{}", id(&b)), Some(&a_admin)).await.expect_error(404, "not_found");
    app.patch(&format!("/api/v1/enterprises/{}", id(&b)), Some(&a_admin), json!({"name": "pwned"}))
        .await
        .expect_error(404, "not_found");
    app.get(&format!("/api/v1/enterprises/{}/users", id(&b)), Some(&a_admin)).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/enterprises/{}/regions", id(&b)), Some(&a_admin)).await.expect_error(404, "not_found");
    app.get(&format!("/api/v1/enterprises/{}/wechat-apps", id(&b)), Some(&a_admin))
        .await
        .expect_error(404, "not_found");
    app.put(
        &format!("/api/v1/enterprises/{}/wechat-apps/official_account", id(&b)),
        Some(&a_admin),
        json!({"app_id": "wx0123456789abcdef", "app_secret": "0123456789abcdef0123456789abcdef"}),
    )
    .await
    .expect_error(404, "not_found");
    app.post("/api/v1/admins", Some(&a_admin), json!({"username": "b-mole", "display_name": "x", "scope_kind": "enterprise", "scope_id": id(&b), "role": "super"}))
        .await
        .expect_error(422, "unknown_reference");
    app.post(
        "/api/v1/admins",
        Some(&a_admin),
        json!({"username": "grab", "display_name": "x", "scope_kind": "platform", "role": "super"}),
    )
    .await
    .expect_error(422, "unknown_reference");
    let a_users = app.get(&format!("/api/v1/enterprises/{}/users", id(&a)), Some(&a_admin)).await.expect(200);
    assert_eq!(a_users.as_array().unwrap().len(), 1);
    assert_eq!(ids(&app.get("/api/v1/enterprises", Some(&a_admin)).await.expect(200)), vec![id(&a).to_string()]);

    // An enterprise cannot lift (or set) its own status; the platform can.
    app.patch(&format!("/api/v1/enterprises/{}", id(&a)), Some(&a_admin), json!({"status": "suspended"}))
        .await
        .expect_error(403, "forbidden");
    let renamed = app
        .patch(&format!("/api/v1/enterprises/{}", id(&a)), Some(&a_admin), json!({"name": "甲公司"}))
        .await
        .expect(200);
    assert_eq!(renamed["name"], "甲公司");

    // A user of A reads A's regions, never B's.
    let token = access(&user_a);
    let regions = app.get(&format!("/api/v1/enterprises/{}/regions", id(&a)), Some(&token)).await.expect(200);
    assert_eq!(regions.as_array().unwrap().len(), 1);
    app.get(&format!("/api/v1/enterprises/{}/regions", id(&b)), Some(&token)).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn region_admins_are_held_to_their_regions() {
    let app = app().await;
    let platform = app.platform_token().await;
    let e = app.create_enterprise(&platform, "REGN", None).await;
    let other = app.create_enterprise(&platform, "OTHR", None).await;
    let path = format!("/api/v1/enterprises/{}/regions", id(&e));
    let north = app.post(&path, Some(&platform), json!({"name": "华北"})).await.expect(201);
    let beijing = app.post(&path, Some(&platform), json!({"name": "北京", "parent_id": id(&north)})).await.expect(201);
    let south = app.post(&path, Some(&platform), json!({"name": "华南"})).await.expect(201);
    let foreign = app
        .post(&format!("/api/v1/enterprises/{}/regions", id(&other)), Some(&platform), json!({"name": "x"}))
        .await
        .expect(201);

    // Region admins need regions of their own enterprise; other roles take none.
    app.post("/api/v1/admins", Some(&platform), json!({"username": "ra0", "display_name": "x", "scope_kind": "enterprise", "scope_id": id(&e), "role": "region"}))
        .await
        .expect_error(422, "regions_mismatch");
    app.post("/api/v1/admins", Some(&platform), json!({"username": "ra1", "display_name": "x", "scope_kind": "enterprise", "scope_id": id(&e), "role": "region", "region_ids": [id(&foreign)]}))
        .await
        .expect_error(422, "unknown_reference");
    app.post("/api/v1/admins", Some(&platform), json!({"username": "ra2", "display_name": "x", "scope_kind": "enterprise", "scope_id": id(&e), "role": "ordinary", "region_ids": [id(&north)]}))
        .await
        .expect_error(422, "regions_mismatch");

    let (_, ra) = app.create_admin(&platform, "north-admin", "enterprise", Some(id(&e)), "region", &[id(&north)]).await;
    let seen = ids(&app.get(&path, Some(&ra)).await.expect(200));
    assert_eq!(seen.len(), 2);
    assert!(seen.contains(&id(&north).to_string()) && seen.contains(&id(&beijing).to_string()));
    assert!(!seen.contains(&id(&south).to_string()));
    app.post(&path, Some(&ra), json!({"name": "天津"})).await.expect_error(403, "forbidden");
    app.get(&format!("/api/v1/enterprises/{}/regions", id(&other)), Some(&ra)).await.expect_error(404, "not_found");

    // Ordinary admins read but do not manage (nor, without the `admins` permission, make admins).
    let (_, ordinary) = app.create_admin(&platform, "plain-admin", "enterprise", Some(id(&e)), "ordinary", &[]).await;
    assert_eq!(ids(&app.get(&path, Some(&ordinary)).await.expect(200)).len(), 3);
    app.post("/api/v1/admins", Some(&ordinary), json!({"username": "x-admin", "display_name": "x", "scope_kind": "enterprise", "scope_id": id(&e), "role": "ordinary"}))
        .await
        .expect_error(403, "permission_denied");
}

async fn audit_count(app: &TestApp, target: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.db.url).await.unwrap();
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE target_id = $1 AND action = 'admin.password_reset'")
            .bind(target)
            .fetch_one(&mut conn)
            .await
            .unwrap();
    n
}

#[tokio::test]
async fn password_resets_go_downwards() {
    let app = app().await;
    let platform = app.platform_token().await;
    let provider = app.create_provider(&platform, "代理商", None).await;
    let (p_admin_row, p_admin) =
        app.create_admin(&platform, "prov-super", "provider", Some(id(&provider)), "super", &[]).await;
    let (p_peer_row, _) = app.create_admin(&platform, "prov-peer", "provider", Some(id(&provider)), "super", &[]).await;
    let ent = app.create_enterprise(&p_admin, "DOWN01", None).await;
    let (e_admin_row, e_admin) =
        app.create_admin(&p_admin, "ent-super", "enterprise", Some(id(&ent)), "super", &[]).await;
    let (e_clerk_row, _) = app.create_admin(&e_admin, "ent-clerk", "enterprise", Some(id(&ent)), "ordinary", &[]).await;

    // The provider resets its enterprise's admin (FAQ Q9).
    let reset = app
        .post(&format!("/api/v1/admins/{}/password-reset", id(&e_admin_row)), Some(&p_admin), json!({}))
        .await
        .expect(200);
    let new_password = reset["one_time_password"].as_str().unwrap().to_string();
    assert_eq!(reset["admin"]["must_change_password"], true);
    // The reset admin's old session is over; the new one-time password works.
    app.get("/api/v1/admins/me", Some(&e_admin)).await.expect_error(401, "session_revoked");
    let fresh = app.admin_sign_in("ent-super", &new_password).await;
    app.get("/api/v1/admins/me", Some(&fresh)).await.expect(200);
    assert_eq!(audit_count(&app, id(&e_admin_row)).await, 1);

    // Not upwards, not sideways to a peer super admin, not oneself.
    app.post(&format!("/api/v1/admins/{}/password-reset", id(&p_admin_row)), Some(&fresh), json!({}))
        .await
        .expect_error(404, "not_found");
    app.post(&format!("/api/v1/admins/{}/password-reset", id(&p_peer_row)), Some(&p_admin), json!({}))
        .await
        .expect_error(403, "forbidden");
    app.post(&format!("/api/v1/admins/{}/password-reset", id(&p_admin_row)), Some(&p_admin), json!({}))
        .await
        .expect_error(403, "forbidden");
    // An enterprise super admin resets its own ordinary admins.
    let clerk_reset = app
        .post(&format!("/api/v1/admins/{}/password-reset", id(&e_clerk_row)), Some(&fresh), json!({}))
        .await
        .expect(200);
    let clerk_otp = clerk_reset["one_time_password"].as_str().unwrap().to_string();
    // The platform resets anyone.
    app.post(&format!("/api/v1/admins/{}/password-reset", id(&p_peer_row)), Some(&platform), json!({}))
        .await
        .expect(200);
    assert_eq!(audit_count(&app, id(&p_peer_row)).await, 1);

    // Admin lists follow the same scopes.
    let by_provider = app.get("/api/v1/admins", Some(&p_admin)).await.expect(200);
    let names: Vec<_> =
        by_provider.as_array().unwrap().iter().map(|a| a["username"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, vec!["ent-clerk", "ent-super", "prov-peer", "prov-super"]);
    let by_enterprise = app.get("/api/v1/admins", Some(&fresh)).await.expect(200);
    assert_eq!(by_enterprise.as_array().unwrap().len(), 2);

    // Changing one's own password clears must_change_password; "changing" a one-time password
    // to itself is not a change (it would stay known to whoever reset it).
    let clerk = app
        .post("/api/v1/admin-sessions", None, json!({"username": "ent-clerk", "password": clerk_otp}))
        .await
        .expect(200);
    assert_eq!(clerk["admin"]["must_change_password"], true);
    let clerk_token = clerk["tokens"]["access_token"].as_str().unwrap();
    let same = json!({"current_password": clerk_otp, "new_password": clerk_otp});
    let r = app.put("/api/v1/admins/me/password", Some(clerk_token), same).await;
    r.expect_error(422, "password_unchanged");
    assert_eq!(r.body["field"], "new_password");
    app.get("/api/v1/admins", Some(clerk_token)).await.expect_error(403, "password_change_required");
    let changed = json!({"current_password": clerk_otp, "new_password": "n3w-secure-pass"});
    app.put("/api/v1/admins/me/password", Some(clerk_token), changed).await.expect(204);
    let me = app.get("/api/v1/admins/me", Some(clerk_token)).await.expect(200);
    assert_eq!(me["must_change_password"], false);
}

#[tokio::test]
async fn region_and_group_admins_see_jobs_users_and_groups_of_their_print_points() {
    let app = app().await;
    let platform = app.platform_token().await;
    let e = app.create_enterprise(&platform, "SCOPE7", None).await;
    let eid = id(&e).to_string();
    let regions = format!("/api/v1/enterprises/{eid}/regions");
    let north = app.post(&regions, Some(&platform), json!({"name": "华北"})).await.expect(201);
    let south = app.post(&regions, Some(&platform), json!({"name": "华南"})).await.expect(201);
    let points = format!("/api/v1/enterprises/{eid}/print-points");
    let p_north = app.post(&points, Some(&platform), json!({"name": "北", "region_id": id(&north)})).await.expect(201);
    let p_south = app.post(&points, Some(&platform), json!({"name": "南", "region_id": id(&south)})).await.expect(201);
    let groups = format!("/api/v1/enterprises/{eid}/printer-groups");
    let both = app.post(&groups, Some(&platform), json!({"name": "全部"})).await.expect(201);
    let south_only = app.post(&groups, Some(&platform), json!({"name": "南组"})).await.expect(201);
    let (_, ra) = app.create_admin(&platform, "ra-north", "enterprise", Some(&eid), "region", &[id(&north)]).await;
    let (ga_row, ga) = app.create_admin(&platform, "ga-south", "enterprise", Some(&eid), "ordinary", &[]).await;
    app.put(
        &format!("/api/v1/printer-groups/{}", id(&both)),
        Some(&platform),
        json!({"print_point_ids": [id(&p_north), id(&p_south)]}),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/printer-groups/{}", id(&south_only)),
        Some(&platform),
        json!({"print_point_ids": [id(&p_south)], "admin_ids": [id(&ga_row)]}),
    )
    .await
    .expect(200);

    // Three users: one printed in the north, one in the south, one has only a held job.
    let mut users = Vec::new();
    for name in ["north-user", "south-user", "home-user"] {
        let s = app.register_user("SCOPE7", name, "passw0rd!").await;
        let job = app.upload(&access(&s), "a.pdf", yunyin_e2e::fixtures::mono_pdf(1)).await.expect(201);
        let me = app.get("/api/v1/me", Some(&access(&s))).await.expect(200);
        users.push((me["id"].as_str().unwrap().to_string(), job["id"].as_str().unwrap().to_string()));
    }
    // Released jobs carry their print point (set here directly: releasing needs a gateway online).
    for ((_, job), point) in users.iter().zip([&p_north, &p_south]) {
        app.sql(&format!("UPDATE print_jobs SET print_point_id = '{}' WHERE id = '{job}'", id(point))).await;
    }
    let user_ids = |v: &Value| -> Vec<String> { ids(v) };
    let job_users = |v: &Value| -> Vec<String> {
        let mut u: Vec<String> =
            v.as_array().unwrap().iter().map(|j| j["user_id"].as_str().unwrap().to_string()).collect();
        u.sort();
        u
    };
    let (north_user, south_user) = (users[0].0.clone(), users[1].0.clone());

    // Jobs (在线文印查询).
    let jobs = format!("/api/v1/enterprises/{eid}/jobs");
    assert_eq!(app.get(&jobs, Some(&platform)).await.expect(200).as_array().unwrap().len(), 3);
    assert_eq!(job_users(&app.get(&jobs, Some(&ra)).await.expect(200)), vec![north_user.clone()]);
    assert_eq!(job_users(&app.get(&jobs, Some(&ga)).await.expect(200)), vec![south_user.clone()]);

    // Users: those who printed where the admin sees.
    let users_path = format!("/api/v1/enterprises/{eid}/users");
    assert_eq!(user_ids(&app.get(&users_path, Some(&platform)).await.expect(200)).len(), 3);
    assert_eq!(user_ids(&app.get(&users_path, Some(&ra)).await.expect(200)), vec![north_user.clone()]);
    assert_eq!(user_ids(&app.get(&users_path, Some(&ga)).await.expect(200)), vec![south_user.clone()]);

    // Wallet audits of users outside their scope are absent.
    let audit = |uid: &str| format!("/api/v1/enterprises/{eid}/users/{uid}/wallet/audit");
    app.get(&audit(&north_user), Some(&ra)).await.expect(200);
    app.get(&audit(&south_user), Some(&ra)).await.expect_error(404, "not_found");
    app.get(&audit(&south_user), Some(&ga)).await.expect(200);
    app.get(&audit(&north_user), Some(&ga)).await.expect_error(404, "not_found");
    app.get(&audit(&users[2].0), Some(&platform)).await.expect(200);

    // Printer groups: a region admin sees only its print points in them.
    let seen = app.get(&groups, Some(&ra)).await.expect(200);
    let seen = seen.as_array().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["id"], json!(id(&both)));
    assert_eq!(seen[0]["print_point_ids"], json!([id(&p_north)]));
    let seen = app.get(&groups, Some(&ga)).await.expect(200);
    assert_eq!(ids(&seen), vec![id(&south_only).to_string()]);
    assert_eq!(seen[0]["print_point_ids"], json!([id(&p_south)]));
    assert_eq!(app.get(&groups, Some(&platform)).await.expect(200).as_array().unwrap().len(), 2);
}
