//! Alerts (告警) and push (智能推送) end to end. A jam on a simulated Toshiba e-STUDIO, read by
//! the real gateway, raises a level-1 alert that reaches the admin's subscribed phone through
//! the fake push service (which checks the VAPID token and decrypts the message) and resolves
//! by itself when the jam clears. Over a raw gateway link: a region admin sees only their
//! region's alerts, alert levels are each admin's own, a flapping condition stays one alert
//! with one push, and one silent reading is not yet "offline".

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::web_push::{BrowserSubscription, FakePushService},
    peers::{
        printer::TestPrinter,
        snmpsim::{self, SnmpSim},
    },
    raw_gateway::{connect, enrol, report, send, Socket},
    site::{fast_monitor, GatewaySite},
    TestApp,
};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// Subscribes a device of the holder of `token` through the API, as the app's service
/// worker does with what `pushManager.subscribe()` gives.
async fn subscribe_device(a: &TestApp, token: &str, push: &FakePushService, name: &str) -> BrowserSubscription {
    let key = a.get("/api/v1/push/vapid-public-key", Some(token)).await.expect(200);
    let sub = push.subscribe(key["public_key"].as_str().unwrap());
    let body =
        json!({ "endpoint": sub.endpoint, "keys": { "p256dh": sub.p256dh, "auth": sub.auth }, "device_name": name });
    let stored = a.post("/api/v1/push-subscriptions", Some(token), body).await.expect(200);
    assert_eq!(stored["endpoint"], sub.endpoint.as_str());
    sub
}

/// Polls the alert list (as `token` sees it, with `query`) until `done` holds.
async fn alerts_until(a: &TestApp, token: &str, query: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list = a.get(&format!("/api/v1/alerts{query}"), Some(token)).await.expect(200);
        let list = list.as_array().unwrap().clone();
        if done(&list) {
            return list;
        }
        assert!(tokio::time::Instant::now() < deadline, "alerts{query} never as expected: {list:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn of_type<'a>(list: &'a [Value], alert_type: &str) -> Option<&'a Value> {
    list.iter().find(|a| a["alert_type"] == alert_type)
}

#[tokio::test]
async fn a_jam_raises_a_level_one_alert_pushed_to_the_admins_phone_and_resolved_when_cleared() {
    let test = "a_jam_raises_a_level_one_alert_pushed_to_the_admins_phone_and_resolved_when_cleared";
    if !yunyin_e2e::peers::printer::available_or_skip(test) || !snmpsim::available_or_skip(test) {
        return;
    }
    let printer = TestPrinter::start("yunyin-alerts").await;
    let a = TestApp::spawn().await;
    let site = GatewaySite::set_up(&a, &printer, &a.base, "ALERT1").await;
    let mut sim = SnmpSim::start(&["toshiba-estudio"]);
    site.point_at_simulator(&a, &sim).await;
    let push = FakePushService::start().await;
    let phone = subscribe_device(&a, &site.admin, &push, "值班手机").await;

    let agent = site.start_agent_with(fast_monitor()).await;
    // Ready, with low yellow toner: a level-2 alert, shown but not pushed.
    let list = alerts_until(&a, &site.admin, "?state=open", |l| of_type(l, "toner_low").is_some()).await;
    let low = of_type(&list, "toner_low").unwrap();
    assert_eq!((low["level"].as_i64(), low["red"].as_bool()), (Some(2), Some(false)), "{low}");

    sim.swap(0, "toshiba-estudio-jam");
    // (Nothing was pushed before: low toner is level 2.)
    let got = push.until_messages(&phone.endpoint, 1, Duration::from_secs(20)).await;
    let first = got.first().expect("a push within seconds");
    let pushed = first.json();
    assert_eq!(pushed["level"], 1, "{pushed}");
    assert_eq!(first.urgency.as_deref(), Some("high"), "level 1 is urgent");
    let list = alerts_until(&a, &site.admin, "?level=1&state=open", |l| of_type(l, "jam").is_some()).await;
    let jam = of_type(&list, "jam").unwrap().clone();
    assert_eq!((jam["red"].as_bool(), jam["state"].as_str()), (Some(true), Some("raised")), "{jam}");
    assert_eq!(jam["print_point_id"], site.print_point_id.as_str());
    assert!(jam["detail"].as_str().unwrap().contains("misfeed"), "the device's words: {jam}");
    assert!(of_type(&list, "toner_empty").is_some(), "black toner is empty too: {list:#?}");
    assert!(of_type(&list, "toner_low").is_none(), "level 2 is not in a level-1 list: {list:#?}");

    // The jam's push is among what the phone got: the fake decrypted it, so it was ours.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let jam_push = loop {
        let got = push.messages(&phone.endpoint);
        if let Some(m) = got.iter().find(|m| m.json()["tag"] == jam["id"]) {
            break m.json();
        }
        assert!(tokio::time::Instant::now() < deadline, "no push for the jam: {got:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(jam_push["title"].as_str().unwrap().contains("卡纸"), "{jam_push}");
    let detail = a.get(&format!("/api/v1/alerts/{}", id(&jam)), Some(&site.admin)).await.expect(200);
    let log = detail["deliveries"].as_array().unwrap();
    assert_eq!(log.len(), 1, "one device, one delivery: {log:?}");
    assert_eq!((log[0]["state"].as_str(), log[0]["channel"].as_str()), (Some("delivered"), Some("web_push")));

    // Someone is on it; it is acknowledged once.
    let path = format!("/api/v1/alerts/{}/acknowledge", id(&jam));
    let acked = a.post(&path, Some(&site.admin), json!({})).await.expect(200);
    assert_eq!(acked["state"], "acknowledged");
    a.post(&path, Some(&site.admin), json!({})).await.expect_error(409, "alert_not_raised");

    // Cleared at the device: the alert resolves by itself, and was pushed once only.
    sim.swap(0, "toshiba-estudio");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = a.get(&format!("/api/v1/alerts/{}", id(&jam)), Some(&site.admin)).await.expect(200);
        if now["alert"]["state"] == "resolved" {
            assert!(now["alert"]["resolved_at"].as_i64().unwrap() > jam["raised_at"].as_i64().unwrap());
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the jam never resolved: {now}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let jam_pushes = push.messages(&phone.endpoint).iter().filter(|m| m.json()["tag"] == jam["id"]).count();
    assert_eq!(jam_pushes, 1, "one jam, one push");
    agent.stop().await;
    sim.stop();
}

/// A reading of one print point as the gateway link carries it.
fn reading(print_point_id: &str, read_at: i64, answered: bool, errors: &[&str]) -> Value {
    json!({
        "print_point_id": print_point_id,
        "read_at": read_at,
        "answered": answered,
        "counters": {},
        "supplies": [],
        "status": if answered { json!({ "printer": "other", "device": "down", "errors": errors }) } else { Value::Null },
        "alerts": [],
    })
}

async fn send_readings(socket: &mut Socket, report_id: &str, readings: Vec<Value>) {
    send(socket, json!({ "type": "readings", "report_id": report_id, "readings": readings })).await;
}

#[tokio::test]
async fn region_admins_see_their_regions_alerts_with_their_own_levels_and_flapping_stays_one_alert() {
    let a = TestApp::spawn().await;
    let platform = a.platform_token().await;
    let e = a.create_enterprise(&platform, "ALERTS2", None).await;
    let eid = id(&e);
    let region = |name: &'static str| {
        let (a, platform, eid) = (&a, platform.clone(), eid.clone());
        async move {
            a.post(&format!("/api/v1/enterprises/{eid}/regions"), Some(&platform), json!({ "name": name }))
                .await
                .expect(201)
        }
    };
    let (east, west) = (region("东区").await, region("西区").await);
    let (_, east_admin) =
        a.create_admin(&platform, "east-admin", "enterprise", Some(&eid), "region", &[&id(&east)]).await;
    let (_, credential) = enrol(&a, &platform, &e, "site").await;
    let printers = json!([
        { "key": "east", "name": "东区 MFP", "mac": "00:80:91:00:00:01", "device_uri": "ipp://127.0.0.1:1/ipp/print" },
        { "key": "west", "name": "西区 MFP", "mac": "00:80:91:00:00:02", "device_uri": "ipp://127.0.0.1:2/ipp/print" },
    ]);
    let points = report(&a, &credential, printers, false).await;
    let point = |i: usize| points[i]["print_point_id"].as_str().unwrap().to_string();
    let (p_east, p_west) = (point(0), point(1));
    for (p, r) in [(&p_east, &east), (&p_west, &west)] {
        a.patch(&format!("/api/v1/print-points/{p}"), Some(&platform), json!({ "region_id": id(r) })).await.expect(200);
    }
    let push = FakePushService::start().await;
    let east_phone = subscribe_device(&a, &east_admin, &push, "east").await;

    let mut link = connect(&a, &credential).await;
    let t0 = 1_780_000_000_000_i64;
    let jam = reading(&p_east, t0, true, &["jammed"]);
    send_readings(&mut link, "r1", vec![jam, reading(&p_west, t0, true, &["jammed", "noToner"])]).await;

    let all = alerts_until(&a, &platform, "?state=open", |l| l.len() == 3).await;
    let theirs = alerts_until(&a, &east_admin, "?state=open", |l| !l.is_empty()).await;
    assert_eq!(theirs.len(), 1, "the east region's jam only: {theirs:#?}");
    assert_eq!(theirs[0]["print_point_id"], p_east.as_str());
    let west_jam = all.iter().find(|x| x["print_point_id"] == p_west.as_str() && x["alert_type"] == "jam").unwrap();
    a.get(&format!("/api/v1/alerts/{}", id(west_jam)), Some(&east_admin)).await.expect_error(404, "not_found");
    let filtered = a.get(&format!("/api/v1/alerts?region_id={}", id(&west)), Some(&platform)).await.expect(200);
    assert_eq!(filtered.as_array().unwrap().len(), 2, "the west region's two: {filtered}");
    let pushed = push.until_messages(&east_phone.endpoint, 1, Duration::from_secs(20)).await;
    assert_eq!(pushed.len(), 1, "the east jam pushed, the west one not to them: {pushed:?}");
    assert_eq!(pushed[0].json()["tag"], theirs[0]["id"]);

    // Levels are each admin's own: the east admin makes jams level 3.
    let set = json!({ "levels": [{ "alert_type": "jam", "level": 3 }] });
    let levels = a.put("/api/v1/alert-levels", Some(&east_admin), set).await.expect(200);
    let jam_level = levels.as_array().unwrap().iter().find(|l| l["alert_type"] == "jam").unwrap().clone();
    assert_eq!((jam_level["level"].as_i64(), jam_level["chosen"].as_bool()), (Some(3), Some(true)));
    let mine = a.get("/api/v1/alerts?level=1", Some(&east_admin)).await.expect(200);
    assert!(mine.as_array().unwrap().is_empty(), "no level-1 alerts for them now: {mine}");
    let mine = a.get("/api/v1/alerts?level=3", Some(&east_admin)).await.expect(200);
    assert_eq!(mine[0]["red"], false, "{mine}");
    let platform_view = a.get(&format!("/api/v1/alerts/{}", id(&theirs[0])), Some(&platform)).await.expect(200);
    assert_eq!(platform_view["alert"]["level"], 1, "the platform admin's levels are untouched");
    let twice = json!({ "levels": [{ "alert_type": "jam", "level": 3 }, { "alert_type": "jam", "level": 2 }] });
    a.put("/api/v1/alert-levels", Some(&east_admin), twice).await.expect_error(422, "inconsistent_values");
    let bad = json!({ "levels": [{ "alert_type": "jam", "level": 4 }] });
    assert_eq!(a.put("/api/v1/alert-levels", Some(&east_admin), bad).await.status, 400);
    a.put("/api/v1/alert-levels", Some(&east_admin), json!({ "levels": [] })).await.expect(200);

    // The jam clears for one reading, is back, clears for two: one alert, one push, resolved.
    let east_jam = id(&theirs[0]);
    let sequence: [&[&str]; 4] = [&[], &["jammed"], &[], &[]];
    for (i, errors) in sequence.iter().enumerate() {
        let at = t0 + 60_000 * (i as i64 + 1);
        send_readings(&mut link, &format!("f{i}"), vec![reading(&p_east, at, true, errors)]).await;
    }
    let resolved = alerts_until(&a, &platform, &format!("?print_point_id={p_east}"), |l| {
        l.iter().any(|x| x["alert_type"] == "jam" && x["state"] == "resolved")
    })
    .await;
    assert_eq!(resolved.len(), 1, "one alert throughout: {resolved:#?}");
    assert_eq!(resolved[0]["id"], east_jam.as_str());
    assert_eq!(resolved[0]["occurrences"], 1, "a one-reading gap does not resolve it: {resolved:#?}");
    assert_eq!(resolved[0]["resolved_at"], t0 + 240_000);
    // Back within the reopen window: the same alert again, counted, not pushed again.
    send_readings(&mut link, "f9", vec![reading(&p_east, t0 + 300_000, true, &["jammed"])]).await;
    let back = alerts_until(&a, &platform, &format!("?print_point_id={p_east}&state=open"), |l| !l.is_empty()).await;
    assert_eq!((back[0]["id"].as_str(), back[0]["occurrences"].as_i64()), (Some(east_jam.as_str()), Some(2)));
    // The reopening and its (absent) delivery are one transaction: the log already says all.
    let detail = a.get(&format!("/api/v1/alerts/{east_jam}"), Some(&platform)).await.expect(200);
    assert_eq!(detail["deliveries"].as_array().unwrap().len(), 1, "a flapping jam is pushed once: {detail}");

    // The push service is busy once (503, Retry-After 1 s): the push is retried and arrives.
    push.fail_next(&east_phone.endpoint, 1, 503, Some(1));
    send_readings(&mut link, "b1", vec![reading(&p_east, t0 + 360_000, true, &["jammed", "noToner"])]).await;
    let got = push.until_messages(&east_phone.endpoint, 2, Duration::from_secs(30)).await;
    assert_eq!(got.len(), 2, "the toner push after one refusal: {got:?}");
    let toner = got[1].json()["tag"].as_str().unwrap().to_string();
    let log = a.get(&format!("/api/v1/alerts/{toner}"), Some(&east_admin)).await.expect(200)["deliveries"].clone();
    assert_eq!((log[0]["state"].as_str(), log[0]["attempts"].as_i64()), (Some("delivered"), Some(2)), "{log}");
    // The browser unsubscribed (410): the delivery is dropped and so is the subscription.
    push.expire(&east_phone.endpoint);
    let door = reading(&p_east, t0 + 420_000, true, &["jammed", "noToner", "doorOpen"]);
    send_readings(&mut link, "g1", vec![door]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let subs = a.get("/api/v1/push-subscriptions", Some(&east_admin)).await.expect(200);
        if subs.as_array().unwrap().is_empty() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the gone subscription was kept: {subs}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let list =
        a.get(&format!("/api/v1/alerts?print_point_id={p_east}&state=open"), Some(&east_admin)).await.expect(200);
    let door = of_type(list.as_array().unwrap(), "door_open").unwrap().clone();
    let log =
        a.get(&format!("/api/v1/alerts/{}", id(&door)), Some(&east_admin)).await.expect(200)["deliveries"].clone();
    assert_eq!(log[0]["state"], "dropped", "{log}");

    // One unanswered reading is not an offline device; two in a row are.
    send_readings(&mut link, "o1", vec![reading(&p_west, t0 + 60_000, false, &[])]).await;
    // Wait for the reading itself to be stored (its alerts are evaluated in its transaction).
    let state = format!("/api/v1/print-points/{p_west}/device-state");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while a.get(&state, Some(&platform)).await.expect(200)["read_at"] != t0 + 60_000 {
        assert!(tokio::time::Instant::now() < deadline, "the silent reading never arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let west = a.get(&format!("/api/v1/alerts?print_point_id={p_west}&state=open"), Some(&platform)).await.expect(200);
    assert!(of_type(west.as_array().unwrap(), "offline").is_none(), "{west}");
    assert_eq!(west.as_array().unwrap().len(), 2, "a silent reading clears nothing: {west}");
    send_readings(&mut link, "o2", vec![reading(&p_west, t0 + 120_000, false, &[])]).await;
    alerts_until(&a, &platform, &format!("?print_point_id={p_west}&state=open"), |l| of_type(l, "offline").is_some())
        .await;
}
