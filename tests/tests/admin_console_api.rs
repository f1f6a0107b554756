//! The operations the admin console (issue 14) needs beyond what existed: the dashboard, list
//! filters and server-side search, an admin's view of a job and its history, of a user's
//! wallet and of payment orders, renaming providers and regions, and signing out everywhere;
//! each held to the admin's scope (a region admin sees only their region's).

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use yunyin_e2e::{
    fixtures,
    harness::{access, refresh},
    TestApp,
};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn names(list: &Value, field: &str) -> Vec<String> {
    let mut n: Vec<String> = list.as_array().unwrap().iter().map(|v| v[field].as_str().unwrap().to_string()).collect();
    n.sort();
    n
}

/// An enterprise with two regions and a print point in each, a region admin for the east, and
/// a user: (enterprise, east point, west point, region admin token, user token).
struct Site {
    e: Value,
    east: Value,
    west: Value,
    region_admin: String,
    user: String,
    user_id: String,
}

async fn site(app: &TestApp, admin: &str, code: &str) -> Site {
    let e = app.create_enterprise(admin, code, None).await;
    let eid = id(&e);
    let region = |name: &'static str| {
        let eid = eid.clone();
        async move {
            app.post(&format!("/api/v1/enterprises/{eid}/regions"), Some(admin), json!({ "name": name }))
                .await
                .expect(201)
        }
    };
    let (east_region, west_region) = (region("东区").await, region("西区").await);
    let point = |name: &'static str, region: String| {
        let eid = eid.clone();
        async move {
            app.post(
                &format!("/api/v1/enterprises/{eid}/print-points"),
                Some(admin),
                json!({ "name": name, "region_id": region }),
            )
            .await
            .expect(201)
        }
    };
    let east = point("东区一楼", id(&east_region)).await;
    let west = point("西区大厅", id(&west_region)).await;
    let username = format!("{}-region", code.to_lowercase());
    let (_, region_admin) =
        app.create_admin(admin, &username, "enterprise", Some(&eid), "region", &[&id(&east_region)]).await;
    let session = app.register_user(code, &format!("{}-user", code.to_lowercase()), "passw0rd!").await;
    let user_id = session["user"]["id"].as_str().unwrap().to_string();
    Site { e, east, west, region_admin, user: access(&session), user_id }
}

/// A processed job of the user, then marked printed at `point` as a release would leave it
/// (print point, charge, pages, finished now): the console's reads are what is tested here;
/// the release itself is tested in release.rs and walked in admin_browser.rs.
async fn printed_job(app: &TestApp, s: &Site, name: &str, point: &Value, charged_fen: i64, pages: i64) -> String {
    let job = app.upload(&s.user, name, fixtures::mono_pdf(1)).await.expect(201);
    let job_id = id(&job);
    app.wait_job(&s.user, &job_id, std::time::Duration::from_secs(30)).await;
    let now = yunyin_server::infra::now_ms();
    app.sql(&format!(
        "UPDATE print_jobs SET state = 'completed', print_point_id = '{}', charged_fen = {charged_fen}, \
         pages_printed = {pages}, finished_at = {now}, updated_at = {now} WHERE id = '{job_id}'",
        id(point)
    ))
    .await;
    app.sql(&format!(
        "INSERT INTO job_transitions (id, job_id, from_state, to_state, at, actor_kind, actor_id, note) \
         VALUES ('t-{job_id}', '{job_id}', 'ready', 'completed', {now}, 'gateway', 'test', NULL)"
    ))
    .await;
    job_id
}

#[tokio::test]
async fn the_dashboard_counts_what_the_admin_sees_today() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let s = site(&app, &admin, "DASH").await;
    let eid = id(&s.e);
    printed_job(&app, &s, "east.pdf", &s.east, 30, 3).await;
    printed_job(&app, &s, "west.pdf", &s.west, 50, 5).await;
    // A printer jam on the east point: an open alert.
    app.sql(&format!(
        "INSERT INTO alerts (id, print_point_id, enterprise_id, alert_type, subject, state, detail, raised_at, \
         last_seen_at, acknowledged_at, acknowledged_by, resolved_at, absent_streak, occurrences, updated_at) \
         VALUES ('a1', '{}', '{eid}', 'jam', '', 'raised', '', 1, 1, NULL, NULL, NULL, 0, 1, 1)",
        id(&s.east)
    ))
    .await;

    let all = app.get("/api/v1/dashboard", Some(&admin)).await.expect(200);
    assert_eq!(all["print_points_offline"], 2, "{all}");
    assert_eq!((all["jobs_today"].clone(), all["pages_today"].clone()), (json!(2), json!(8)), "{all}");
    assert_eq!(all["takings_today_fen"], 80, "{all}");
    assert_eq!((all["alerts_open"].clone(), all["alerts_open_level1"].clone()), (json!(1), json!(1)), "{all}");
    let day = all["day_started_at"].as_i64().unwrap();
    let now = yunyin_server::infra::now_ms();
    assert!(day <= now && now - day < 86_400_000, "today began within a day: {day}");

    // The region admin's dashboard holds only the east.
    let east = app.get("/api/v1/dashboard", Some(&s.region_admin)).await.expect(200);
    assert_eq!(
        (east["print_points_offline"].clone(), east["jobs_today"].clone(), east["takings_today_fen"].clone()),
        (json!(1), json!(1), json!(30)),
        "{east}"
    );
    // The jam is at level 3 for an admin who says so: open, but not red.
    app.put("/api/v1/alert-levels", Some(&s.region_admin), json!({ "levels": [{ "alert_type": "jam", "level": 3 }] }))
        .await
        .expect(200);
    let east = app.get("/api/v1/dashboard", Some(&s.region_admin)).await.expect(200);
    assert_eq!((east["alerts_open"].clone(), east["alerts_open_level1"].clone()), (json!(1), json!(0)), "{east}");

    // One enterprise, and none outside the scope.
    let other = app.create_enterprise(&admin, "DASH-OTHER", None).await;
    let one = app.get(&format!("/api/v1/dashboard?enterprise_id={}", id(&other)), Some(&admin)).await.expect(200);
    assert_eq!((one["jobs_today"].clone(), one["print_points_offline"].clone()), (json!(0), json!(0)));
    app.get(&format!("/api/v1/dashboard?enterprise_id={}", id(&other)), Some(&s.region_admin))
        .await
        .expect_error(404, "not_found");
    app.get("/api/v1/dashboard", Some(&s.user)).await.expect_error(403, "admin_required");
}

#[tokio::test]
async fn print_points_filter_and_page_on_the_server() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let s = site(&app, &admin, "PPF").await;
    let eid = id(&s.e);
    let list = |token: String, query: String| {
        let app = &app;
        let eid = eid.clone();
        async move { app.get(&format!("/api/v1/enterprises/{eid}/print-points?{query}"), Some(&token)).await.expect(200) }
    };
    let east_region = s.east["region_id"].as_str().unwrap().to_string();
    assert_eq!(names(&list(admin.clone(), format!("region_id={east_region}")).await, "name"), vec!["东区一楼"]);
    assert_eq!(names(&list(admin.clone(), "q=大厅".into()).await, "name"), vec!["西区大厅"]);
    assert_eq!(list(admin.clone(), "status=online".into()).await, json!([]));
    assert_eq!(list(admin.clone(), "status=offline".into()).await.as_array().unwrap().len(), 2);
    // Pages, by name.
    let first = list(admin.clone(), "limit=1".into()).await;
    let second = list(admin.clone(), "limit=1&offset=1".into()).await;
    assert_eq!((names(&first, "name"), names(&second, "name")), (vec!["东区一楼".into()], vec!["西区大厅".into()]));
    // A region admin asking for the other region gets nothing from it.
    let west_region = s.west["region_id"].as_str().unwrap().to_string();
    assert_eq!(list(s.region_admin.clone(), format!("region_id={west_region}")).await, json!([]));
    app.get(&format!("/api/v1/enterprises/{eid}/print-points?status=asleep"), Some(&admin))
        .await
        .expect_error(400, "invalid_request");
}

#[tokio::test]
async fn an_admin_finds_jobs_by_print_point_and_date_and_reads_their_history_in_scope() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let s = site(&app, &admin, "JOBQ").await;
    let eid = id(&s.e);
    let east_job = printed_job(&app, &s, "east.pdf", &s.east, 30, 3).await;
    let west_job = printed_job(&app, &s, "west.pdf", &s.west, 50, 5).await;

    let jobs = |token: &str, query: String| {
        let app = &app;
        let (eid, token) = (eid.clone(), token.to_string());
        async move { app.get(&format!("/api/v1/enterprises/{eid}/jobs?{query}"), Some(&token)).await.expect(200) }
    };
    let at_east = jobs(&admin, format!("print_point_id={}", id(&s.east))).await;
    assert_eq!(names(&at_east, "id"), vec![east_job.clone()]);
    assert_eq!(at_east[0]["print_point_id"], id(&s.east));
    assert_eq!(at_east[0]["charged_fen"], 30);
    let now = yunyin_server::infra::now_ms();
    assert_eq!(jobs(&admin, format!("from={}", now + 60_000)).await, json!([]));
    assert_eq!(jobs(&admin, format!("from={}&to={}", now - 600_000, now + 60_000)).await.as_array().unwrap().len(), 2);
    assert_eq!(jobs(&admin, format!("to={}", now - 600_000)).await, json!([]));
    assert_eq!(jobs(&admin, format!("user_id={}", s.user_id)).await.as_array().unwrap().len(), 2);

    // The admin opens a job and its history; the region admin only the east's.
    let job = app.get(&format!("/api/v1/enterprises/{eid}/jobs/{west_job}"), Some(&admin)).await.expect(200);
    assert_eq!(job["state"], "completed");
    let history =
        app.get(&format!("/api/v1/enterprises/{eid}/jobs/{west_job}/history"), Some(&admin)).await.expect(200);
    let states: Vec<&str> = history.as_array().unwrap().iter().map(|t| t["to_state"].as_str().unwrap()).collect();
    assert_eq!(states.first(), Some(&"uploaded"), "{history}");
    assert_eq!(states.last(), Some(&"completed"), "{history}");
    assert_eq!(names(&jobs(&s.region_admin, String::new()).await, "id"), vec![east_job.clone()]);
    app.get(&format!("/api/v1/enterprises/{eid}/jobs/{east_job}/history"), Some(&s.region_admin)).await.expect(200);
    app.get(&format!("/api/v1/enterprises/{eid}/jobs/{west_job}"), Some(&s.region_admin))
        .await
        .expect_error(404, "not_found");
    app.get(&format!("/api/v1/enterprises/{eid}/jobs/{west_job}/history"), Some(&s.region_admin))
        .await
        .expect_error(404, "not_found");
    // Another enterprise's admin sees neither.
    let (other, _) = app.enterprise_with_user(&admin, "JOBQ-OTHER", "other-user").await;
    let (_, other_admin) =
        app.create_admin(&admin, "jobq-other-super", "enterprise", Some(&id(&other)), "super", &[]).await;
    app.get(&format!("/api/v1/enterprises/{eid}/jobs/{east_job}"), Some(&other_admin))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn users_are_searched_and_their_wallets_read_by_admins_who_see_them() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let s = site(&app, &admin, "WALQ").await;
    let eid = id(&s.e);
    app.register_user("WALQ", "zhang-san", "passw0rd!").await;
    let found = app.get(&format!("/api/v1/enterprises/{eid}/users?q=ZHANG"), Some(&admin)).await.expect(200);
    assert_eq!(names(&found, "username"), vec!["zhang-san"]);
    let all = app.get(&format!("/api/v1/enterprises/{eid}/users"), Some(&admin)).await.expect(200);
    assert_eq!(all.as_array().unwrap().len(), 2);

    app.post(
        &format!("/api/v1/enterprises/{eid}/users/{}/wallet/adjustments", s.user_id),
        Some(&admin),
        json!({ "amount_fen": 1500, "reason": "开户赠送", "idempotency_key": "console-credit-1" }),
    )
    .await
    .expect(200);
    let user = app.get(&format!("/api/v1/enterprises/{eid}/users/{}", s.user_id), Some(&admin)).await.expect(200);
    assert_eq!(user["id"], s.user_id.as_str());
    let wallet =
        app.get(&format!("/api/v1/enterprises/{eid}/users/{}/wallet", s.user_id), Some(&admin)).await.expect(200);
    assert_eq!(wallet["balance_fen"], 1500);
    assert_eq!(wallet["entries"][0]["amount_fen"], 1500, "{wallet}");

    // The region admin sees users who printed in their region only.
    let region_view = app.get(&format!("/api/v1/enterprises/{eid}/users"), Some(&s.region_admin)).await.expect(200);
    assert_eq!(region_view, json!([]));
    app.get(&format!("/api/v1/enterprises/{eid}/users/{}/wallet", s.user_id), Some(&s.region_admin))
        .await
        .expect_error(404, "not_found");
    printed_job(&app, &s, "east.pdf", &s.east, 0, 1).await;
    app.get(&format!("/api/v1/enterprises/{eid}/users/{}/wallet", s.user_id), Some(&s.region_admin)).await.expect(200);

    // Payment orders: none yet, and the state filter is checked.
    let orders = app.get(&format!("/api/v1/enterprises/{eid}/payment-orders"), Some(&admin)).await.expect(200);
    assert_eq!(orders, json!([]));
    app.get(&format!("/api/v1/enterprises/{eid}/payment-orders?state=lost"), Some(&admin))
        .await
        .expect_error(400, "invalid_request");
    app.get(&format!("/api/v1/enterprises/{eid}/payment-orders"), Some(&s.user))
        .await
        .expect_error(403, "admin_required");
}

#[tokio::test]
async fn the_tree_is_searched_and_renamed_within_scope() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let north = app.create_provider(&admin, "华北代理", None).await;
    let south = app.create_provider(&admin, "华南代理", None).await;
    app.create_enterprise(&admin, "SEARCH-A", Some(&id(&north))).await;
    app.create_enterprise(&admin, "SEARCH-B", Some(&id(&south))).await;
    let found = app.get("/api/v1/enterprises?q=search-a", Some(&admin)).await.expect(200);
    assert_eq!(names(&found, "code"), vec!["SEARCH-A"]);
    let found = app.get("/api/v1/providers?q=华南", Some(&admin)).await.expect(200);
    assert_eq!(names(&found, "name"), vec!["华南代理"]);
    // One provider's own: the enterprises directly under it, the providers below it.
    let sub = app.create_provider(&admin, "南京分销", Some(&id(&south))).await;
    let under = app.get(&format!("/api/v1/enterprises?provider_id={}", id(&south)), Some(&admin)).await.expect(200);
    assert_eq!(names(&under, "code"), vec!["SEARCH-B"]);
    let below = app.get(&format!("/api/v1/providers?parent_id={}", id(&south)), Some(&admin)).await.expect(200);
    assert_eq!(names(&below, "name"), vec![sub["name"].as_str().unwrap().to_string()]);

    let (_, north_admin) = app.create_admin(&admin, "north-super", "provider", Some(&id(&north)), "super", &[]).await;
    let renamed = app
        .patch(&format!("/api/v1/providers/{}", id(&north)), Some(&north_admin), json!({ "name": "华北总代" }))
        .await
        .expect(200);
    assert_eq!(renamed["name"], "华北总代");
    app.patch(&format!("/api/v1/providers/{}", id(&south)), Some(&north_admin), json!({ "name": "x" }))
        .await
        .expect_error(404, "not_found");
    app.patch(&format!("/api/v1/providers/{}", id(&north)), Some(&north_admin), json!({ "name": "" }))
        .await
        .expect_error(400, "invalid_name");
    // The provider's admins: searched by name, or one scope's.
    let admins = app.get(&format!("/api/v1/admins?scope_id={}", id(&north)), Some(&admin)).await.expect(200);
    assert_eq!(names(&admins, "username"), vec!["north-super"]);
    let admins = app.get("/api/v1/admins?q=NORTH", Some(&admin)).await.expect(200);
    assert_eq!(names(&admins, "username"), vec!["north-super"]);
    let admins = app.get("/api/v1/admins?q=north", Some(&north_admin)).await.expect(200);
    assert_eq!(names(&admins, "username"), vec!["north-super"]);

    // Regions are renamed by super admins; a region admin cannot, and sees no other region.
    let s = site(&app, &admin, "RENAME").await;
    // An enterprise's own super admin searches its admins.
    let (_, rename_super) = app.create_admin(&admin, "rename-super", "enterprise", Some(&id(&s.e)), "super", &[]).await;
    let found = app.get("/api/v1/admins?q=REGION", Some(&rename_super)).await.expect(200);
    assert_eq!(names(&found, "username"), vec!["rename-region"]);
    let east_region = s.east["region_id"].as_str().unwrap().to_string();
    let west_region = s.west["region_id"].as_str().unwrap().to_string();
    let r = app.patch(&format!("/api/v1/regions/{east_region}"), Some(&admin), json!({ "name": "东区新楼" })).await;
    assert_eq!(r.expect(200)["name"], "东区新楼");
    app.patch(&format!("/api/v1/regions/{east_region}"), Some(&s.region_admin), json!({ "name": "改名" }))
        .await
        .expect_error(403, "forbidden");
    app.patch(&format!("/api/v1/regions/{west_region}"), Some(&s.region_admin), json!({ "name": "改名" }))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_of_the_admin() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let e = app.create_enterprise(&admin, "SOUT", None).await;
    let (created, _) = app.create_admin(&admin, "sout-super", "enterprise", Some(&id(&e)), "super", &[]).await;
    let password =
        app.post(&format!("/api/v1/admins/{}/password-reset", id(&created)), Some(&admin), json!({})).await.expect(200)
            ["one_time_password"]
            .as_str()
            .unwrap()
            .to_string();
    let sign_in = || async {
        app.post("/api/v1/admin-sessions", None, json!({ "username": "sout-super", "password": password }))
            .await
            .expect(200)
    };
    let (phone, desk) = (sign_in().await, sign_in().await);
    app.post("/api/v1/admins/me/sign-out-everywhere", Some(&access(&phone)), json!({})).await.expect(204);
    for s in [&phone, &desk] {
        app.get("/api/v1/admins/me", Some(&access(s))).await.expect_error(401, "session_revoked");
        app.post("/api/v1/sessions/refresh", None, json!({ "refresh_token": refresh(s) }))
            .await
            .expect_error(401, "refresh_token_invalid");
    }
    // The platform admin is untouched.
    app.get("/api/v1/admins/me", Some(&admin)).await.expect(200);
}
