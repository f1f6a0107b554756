//! Ordinary concurrency answers no 5xx (issue 11, item 1): fifteen clients at once drive every
//! write path through HTTP — wallet adjustments for different users, password resets and
//! changes, sign-ins and refreshes, upload then cancel, release, enterprise / region / print
//! point / rate plan / printer group edits, registrations and new admins, Alipay top-ups with
//! their payment notifications — while the document workers write their own results. On SQLite a write transaction that starts by reading could
//! not take the write lock while another writer was active and answered 500 (`database is
//! locked`); every write transaction now takes the lock at its start and waits its turn. On
//! PostgreSQL the same run caught two read-then-write races (two releases to one gateway
//! numbering their commands alike; a cancel losing to the document worker). The run is bounded
//! in requests and time, and what it wrote must add up afterwards.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    future::Future,
    pin::Pin,
    time::{Duration, Instant},
};

use futures_util::future::join_all;
use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::alipay::FakeAlipay,
    fixtures,
    harness::{access, refresh, Reply},
    raw_gateway::{code_of, connect, enrol, report, wait_online},
    TestApp,
};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// What one client saw: its unexpected answers, how many requests it made, and the money it
/// moved (per wallet owner's token) for the final check.
#[derive(Default)]
struct Outcome {
    unexpected: Vec<String>,
    requests: usize,
    /// (user access token, expected balance change in fen).
    money: Vec<(String, i64)>,
}

impl Outcome {
    /// Records `r`; an answer other than `ok` is kept for the report. Returns the body.
    fn saw(&mut self, what: &str, r: Reply, ok: u16) -> Value {
        self.requests += 1;
        if r.status.as_u16() != ok {
            self.unexpected.push(format!("{what}: {} {}", r.status, r.body));
        }
        r.body
    }
}

type Client<'a> = Pin<Box<dyn Future<Output = Outcome> + 'a>>;

const PASSWORD: &str = "passw0rd!";
const ALIPAY_APP: &str = "2021000000000001";
const SELLER: &str = "2088000000000001";
const TOP_UP_FEN: i64 = 100;

fn key(name: &str) -> String {
    String::from_utf8(fixtures::kept(&format!("keys/{name}"))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_on_every_path_answer_no_5xx_and_add_up() {
    let alipay = FakeAlipay::start().await;
    alipay.register_app(ALIPAY_APP, &key("alipay_app_a.pub.pem"), SELLER);
    let alipay_url = alipay.gateway_url();
    let app = TestApp::spawn_with(move |c| {
        c.signin_max_per_ip_per_minute = 100_000;
        c.alipay_gateway_url = alipay_url;
    })
    .await;
    let platform = app.platform_token().await;

    // ---- set-up, one request at a time ----
    let e = app.create_enterprise(&platform, "LOAD", None).await;
    let eid = id(&e);
    let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0, "prices": [
        { "paper_size": "A4", "colour": false, "fen_per_side": 10 },
        { "paper_size": "A4", "colour": true, "fen_per_side": 50 } ] });
    app.put(&format!("/api/v1/enterprises/{eid}/rate-plan"), Some(&platform), plan.clone()).await.expect(200);
    let (_, credential) = enrol(&app, &platform, &e, "front-desk").await;
    let reported = report(
        &app,
        &credential,
        json!([{ "key": "k", "mac": "00:AA:BB:CC:DD:42", "device_uri": "ipp://127.0.0.1:1/ipp/print" }]),
        false,
    )
    .await;
    let point_id = reported[0]["print_point_id"].as_str().unwrap().to_string();
    let code = code_of(reported[0]["qr_url"].as_str().unwrap());
    // The link stays open for the whole run (the heartbeat allows 45 s of silence).
    let _link = connect(&app, &credential).await;

    let mut users = Vec::new(); // (access token, user id)
    for name in ["adj0", "adj1", "adj2", "adj3", "rel0", "rel1", "payer", "uploader", "changer", "signer"] {
        let token = access(&app.register_user("LOAD", name, PASSWORD).await);
        let uid = app.get("/api/v1/me", Some(&token)).await.expect(200)["id"].as_str().unwrap().to_string();
        users.push((token, uid));
    }
    wait_online(&app, &users[4].0, &code).await;
    let adjust_path = |uid: &str| format!("/api/v1/enterprises/{eid}/users/{uid}/wallet/adjustments");
    const RELEASE_CREDIT: i64 = 10_000;
    for (_, uid) in &users[4..6] {
        let body = json!({ "amount_fen": RELEASE_CREDIT, "reason": "预充", "idempotency_key": format!("pre-{uid}") });
        app.post(&adjust_path(uid), Some(&platform), body).await.expect(200);
    }
    let (target_a, _) = app.create_admin(&platform, "reset-a", "enterprise", Some(&eid), "ordinary", &[]).await;
    let (target_b, _) = app.create_admin(&platform, "reset-b", "enterprise", Some(&eid), "ordinary", &[]).await;
    let signer_admin = app
        .post(
            "/api/v1/admins",
            Some(&platform),
            json!({ "username": "signer-admin", "display_name": "signer", "scope_kind": "enterprise",
                    "scope_id": eid, "role": "ordinary", "region_ids": [] }),
        )
        .await
        .expect(201);
    let signer_password = signer_admin["one_time_password"].as_str().unwrap().to_string();
    let settings = json!({ "payee": "enterprise", "refund_to": "wallet" });
    app.put(&format!("/api/v1/enterprises/{eid}/payment-settings"), Some(&platform), settings).await.expect(200);
    let account = json!({ "app_id": ALIPAY_APP, "app_private_key": key("alipay_app_a.pem"),
                          "alipay_public_key": alipay.alipay_public_key_pem(), "seller_id": SELLER });
    app.put(&format!("/api/v1/payment-accounts/enterprise/{eid}/alipay"), Some(&platform), account).await.expect(200);
    let group = app
        .post(&format!("/api/v1/enterprises/{eid}/printer-groups"), Some(&platform), json!({ "name": "负载组" }))
        .await
        .expect(201);

    // ---- fifteen clients at once ----
    let together = tokio::sync::Barrier::new(2);
    let started = Instant::now();
    let mut clients: Vec<Client<'_>> = Vec::new();

    // 1–4: wallet adjustments, each client its own user; credits and debits that never go short.
    for (n, (token, uid)) in users[..4].iter().enumerate() {
        let (app, platform, path) = (&app, &platform, adjust_path(uid));
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            let mut sum = 0;
            for i in 0..30 {
                let amount = if i % 2 == 0 { 7 } else { -3 };
                let body =
                    json!({ "amount_fen": amount, "reason": "负载", "idempotency_key": format!("load-{n}-{i}") });
                let r = app.post(&path, Some(platform), body).await;
                if r.status == 200 {
                    sum += amount;
                }
                o.saw("wallet adjustment", r, 200);
            }
            o.money.push((token.clone(), sum));
            o
        }));
    }
    // 5: password resets of two admins (each revokes the admin's sessions).
    {
        let (app, platform, targets) = (&app, &platform, [id(&target_a), id(&target_b)]);
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            for i in 0..8 {
                let path = format!("/api/v1/admins/{}/password-reset", targets[i % 2]);
                o.saw("password reset", app.post(&path, Some(platform), json!({})).await, 200);
            }
            o
        }));
    }
    // 6: admin sign-ins and refreshes.
    {
        let (app, password) = (&app, signer_password.clone());
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            for _ in 0..6 {
                let body = json!({ "username": "signer-admin", "password": password });
                let s = o.saw("admin sign-in", app.post("/api/v1/admin-sessions", None, body).await, 200);
                if let Some(r) = s["tokens"]["refresh_token"].as_str() {
                    let body = json!({ "refresh_token": r });
                    o.saw("admin refresh", app.post("/api/v1/sessions/refresh", None, body).await, 200);
                }
            }
            o
        }));
    }
    // 7: a user signs in and changes the password, again and again.
    {
        let app = &app;
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            let mut current = PASSWORD.to_string();
            for i in 0..5 {
                let body = json!({ "enterprise_code": "LOAD", "login": "changer", "password": current });
                let s = o.saw("user sign-in", app.post("/api/v1/sessions", None, body).await, 200);
                let Some(token) = s["tokens"]["access_token"].as_str() else { break };
                let next = format!("changed-{i}-pass");
                let body = json!({ "current_password": current, "new_password": next });
                let r = app.put("/api/v1/me/password", Some(token), body).await;
                if r.status == 204 {
                    current = next;
                }
                o.saw("password change", r, 204);
            }
            o
        }));
    }
    // 8: user sign-ins, refreshes and sign-outs.
    {
        let app = &app;
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            for _ in 0..6 {
                let body = json!({ "enterprise_code": "LOAD", "login": "signer", "password": PASSWORD });
                let s = o.saw("user sign-in", app.post("/api/v1/sessions", None, body).await, 200);
                if s["tokens"].is_null() {
                    continue;
                }
                let body = json!({ "refresh_token": refresh(&s) });
                let r = o.saw("user refresh", app.post("/api/v1/sessions/refresh", None, body).await, 200);
                let Some(rotated) = r["refresh_token"].as_str() else { continue };
                let body = json!({ "refresh_token": rotated });
                o.saw("sign-out", app.post("/api/v1/sessions/sign-out", None, body).await, 204);
            }
            o
        }));
    }
    // 9: upload, then cancel at once (while the document workers pick the job up).
    {
        let (app, token) = (&app, users[7].0.clone());
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            for i in 0..10 {
                let job = o.saw("upload", app.upload(&token, &format!("c{i}.pdf"), fixtures::mono_pdf(1)).await, 201);
                if let Some(job) = job["id"].as_str() {
                    let path = format!("/api/v1/jobs/{job}/cancel");
                    o.saw("cancel", app.post(&path, Some(&token), json!({})).await, 200);
                }
            }
            o
        }));
    }
    // 10–11: release: upload, wait until ready, then both users release to the one gateway at
    // the same moment (a barrier) and pay from the wallet.
    for (n, (token, _)) in users[4..6].iter().enumerate() {
        let (app, code, together) = (&app, &code, &together);
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            let mut charged = 0;
            for i in 0..6 {
                let job = o.saw("upload", app.upload(token, &format!("r{i}.pdf"), fixtures::mono_pdf(2)).await, 201);
                let job = job["id"].as_str().map(str::to_string);
                let ready = match &job {
                    Some(job) => app.wait_job(token, job, Duration::from_secs(20)).await["state"] == "ready",
                    None => false,
                };
                together.wait().await;
                let Some(job) = job.filter(|_| ready) else {
                    o.unexpected.push(format!("release {n}-{i}: no ready job"));
                    continue;
                };
                let body = json!({ "release_id": format!("load-release-{n}-{i}"), "job_ids": [job] });
                let released =
                    o.saw("release", app.post(&format!("/api/v1/release/{code}"), Some(token), body).await, 200);
                charged += released["charged_fen"].as_i64().unwrap_or(0);
            }
            o.money.push((token.clone(), RELEASE_CREDIT - charged));
            o
        }));
    }
    // 12: enterprise, region and print point edits.
    {
        let (app, platform, eid, point_id) = (&app, &platform, &eid, &point_id);
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            for i in 0..8 {
                let r = app
                    .patch(
                        &format!("/api/v1/enterprises/{eid}"),
                        Some(platform),
                        json!({ "name": format!("负载 {i}") }),
                    )
                    .await;
                o.saw("enterprise edit", r, 200);
                let r = app
                    .post(
                        &format!("/api/v1/enterprises/{eid}/regions"),
                        Some(platform),
                        json!({ "name": format!("区域 {i}") }),
                    )
                    .await;
                o.saw("region create", r, 201);
                let r = app
                    .patch(
                        &format!("/api/v1/print-points/{point_id}"),
                        Some(platform),
                        json!({ "name": format!("前台 {i}") }),
                    )
                    .await;
                o.saw("print point edit", r, 200);
            }
            o
        }));
    }
    // 13: the rate plan (same prices, so releases stay priced alike) and the printer group.
    {
        let (app, platform, eid, point_id, group) = (&app, &platform, &eid, &point_id, id(&group));
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            for i in 0..8 {
                let r = app.put(&format!("/api/v1/enterprises/{eid}/rate-plan"), Some(platform), plan.clone()).await;
                o.saw("rate plan", r, 200);
                let members: Vec<&str> = if i % 2 == 0 { vec![point_id.as_str()] } else { vec![] };
                let r = app
                    .put(
                        &format!("/api/v1/printer-groups/{group}"),
                        Some(platform),
                        json!({ "print_point_ids": members }),
                    )
                    .await;
                o.saw("printer group", r, 200);
            }
            o
        }));
    }
    // 14: registrations and new admins.
    {
        let (app, platform, eid) = (&app, &platform, &eid);
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            for i in 0..5 {
                let body = json!({ "enterprise_code": "LOAD", "username": format!("new{i}"), "password": PASSWORD });
                o.saw("registration", app.post("/api/v1/users", None, body).await, 201);
                let body = json!({ "username": format!("new-admin-{i}"), "display_name": "新", "scope_kind": "enterprise",
                                   "scope_id": eid, "role": "ordinary", "region_ids": [] });
                o.saw("admin create", app.post("/api/v1/admins", Some(platform), body).await, 201);
            }
            o
        }));
    }
    // 15: Alipay top-ups: each order started, then paid, and its notification settles it.
    {
        let (app, alipay, token) = (&app, &alipay, users[6].0.clone());
        clients.push(Box::pin(async move {
            let mut o = Outcome::default();
            for _ in 0..6 {
                let body = json!({ "amount_fen": TOP_UP_FEN, "provider": "alipay", "method": "precreate" });
                let started = o.saw("top-up", app.post("/api/v1/wallet/top-ups", Some(&token), body).await, 201);
                if let Some(no) = started["order"]["out_trade_no"].as_str() {
                    // Returns once the notification has been answered (checked below).
                    alipay.pay(no, "2088102177846880").await;
                }
            }
            o.money.push((token.clone(), 6 * TOP_UP_FEN));
            o
        }));
    }
    assert_eq!(clients.len(), 15);

    let outcomes =
        tokio::time::timeout(Duration::from_secs(60), join_all(clients)).await.expect("the run ends in time");
    let elapsed = started.elapsed();
    let requests: usize = outcomes.iter().map(|o| o.requests).sum();
    let unexpected: Vec<&String> = outcomes.iter().flat_map(|o| &o.unexpected).collect();
    assert!(unexpected.is_empty(), "{} of {requests} answers unexpected:\n{:#?}", unexpected.len(), unexpected);
    let per_client: Vec<usize> = outcomes.iter().map(|o| o.requests).collect();
    assert_eq!(requests, 268, "every client made all its requests: {per_client:?}");
    let deliveries = alipay.deliveries();
    assert_eq!(deliveries.len(), 6, "one notification per payment: {deliveries:?}");
    assert!(deliveries.iter().all(|(_, status, body)| *status == 200 && body == "success"), "{deliveries:?}");
    eprintln!("{requests} concurrent writes in {elapsed:?}, all answered as expected");

    // ---- what was written adds up ----
    for (token, expected) in outcomes.iter().flat_map(|o| &o.money) {
        let balance = app.get("/api/v1/wallet", Some(token)).await.expect(200)["balance_fen"].as_i64().unwrap();
        assert_eq!(balance, *expected, "balance is the sum of what was answered");
    }
    for (_, uid) in &users[..7] {
        let audit =
            app.get(&format!("/api/v1/enterprises/{eid}/users/{uid}/wallet/audit"), Some(&platform)).await.expect(200);
        assert_eq!(audit["consistent"], true, "{audit}");
    }
    let regions = app.get(&format!("/api/v1/enterprises/{eid}/regions"), Some(&platform)).await.expect(200);
    assert_eq!(regions.as_array().unwrap().len(), 8);
    let users_now = app.get(&format!("/api/v1/enterprises/{eid}/users?limit=100"), Some(&platform)).await.expect(200);
    assert_eq!(users_now.as_array().unwrap().len(), users.len() + 5);
    app.stop().await;
}
