//! The job model around the pipeline: options with field-level errors and live quotes at the
//! enterprise's rates; cancel, delete and history; privacy between users and enterprises;
//! restarts and crashed workers; progress events; converter overruns; retention.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use yunyin_e2e::{fixtures, TestApp};

const PROCESSING: Duration = Duration::from_secs(90);

fn id(job: &Value) -> String {
    job["id"].as_str().unwrap().to_string()
}

async fn ready_job(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> Value {
    let created = app.upload(token, name, bytes).await.expect(201);
    let job = app.wait_job(token, &id(&created), PROCESSING).await;
    assert_eq!(job["state"], "ready", "{job}");
    job
}

/// Polls a job (as its owner) until `check` holds.
async fn until(app: &TestApp, token: &str, job_id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let job = app.get(&format!("/api/v1/jobs/{job_id}"), Some(token)).await.expect(200);
        if check(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "job never became {what}: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test]
async fn options_are_validated_and_quotes_follow_the_rates() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (enterprise, token) = app.enterprise_with_user(&admin, "RATES", "alice").await;
    let plan_path = format!("/api/v1/enterprises/{}/rate-plan", id(&enterprise));

    // No plan yet: printing is free.
    let free = app.get(&plan_path, Some(&admin)).await.expect(200);
    assert_eq!(free["prices"], json!([]));
    let (mixed, truth) = fixtures::mixed_pdf();
    assert_eq!(truth, vec![false, true, false, true, false]);
    let job = ready_job(&app, &token, "mixed.pdf", mixed).await;
    assert_eq!(job["quote_fen"], 0);

    // Bad plans are refused field by field; users cannot set rates at all.
    let bad = json!({ "duplex_pricing": "sometimes", "minimum_fen": 0, "prices": [] });
    let r = app.put(&plan_path, Some(&admin), bad).await;
    r.expect_error(400, "invalid_value");
    assert_eq!(r.body["field"], "duplex_pricing");
    let negative = json!({ "duplex_pricing": "per_side", "minimum_fen": 0,
        "prices": [{ "paper_size": "A4", "colour": false, "fen_per_side": -1 }] });
    app.put(&plan_path, Some(&admin), negative).await.expect_error(400, "value_out_of_range");
    let plan = json!({ "duplex_pricing": "per_sheet", "minimum_fen": 30, "prices": [
        { "paper_size": "A4", "colour": false, "fen_per_side": 10 },
        { "paper_size": "A4", "colour": true, "fen_per_side": 50 },
        { "paper_size": "A3", "colour": false, "fen_per_side": 20 },
    ] });
    app.put(&plan_path, Some(&token), plan.clone()).await.expect_error(403, "admin_required");
    app.put(&plan_path, Some(&admin), plan).await.expect(200);
    let stored = app.get(&plan_path, Some(&admin)).await.expect(200);
    assert_eq!((stored["duplex_pricing"].as_str(), stored["minimum_fen"].as_i64()), (Some("per_sheet"), Some(30)));
    assert_eq!(stored["prices"].as_array().unwrap().len(), 3);

    // One-sided, auto colour: 3 mono sides at 10 + 2 colour sides at 50.
    let path = format!("/api/v1/jobs/{}", id(&job));
    let quote = app.get(&format!("{path}/quote"), Some(&token)).await.expect(200);
    assert_eq!(quote["total_fen"], 130, "{quote}");
    assert_eq!(
        quote["lines"],
        json!([
            { "paper_size": "A4", "colour": false, "unit": "side", "units": 3, "unit_fen": 10, "subtotal_fen": 30 },
            { "paper_size": "A4", "colour": true, "unit": "side", "units": 2, "unit_fen": 50, "subtotal_fen": 100 },
        ])
    );
    assert_eq!(
        (quote["pages"].as_i64(), quote["sides"].as_i64(), quote["sheets"].as_i64()),
        (Some(5), Some(5), Some(5))
    );

    // Two copies, two-sided, priced per sheet: sheets {1,2} {3,4} colour, {5} mono → (2×50 + 10) × 2.
    let duplex = app
        .patch(&format!("{path}/options"), Some(&token), json!({ "copies": 2, "sides": "two-sided-long-edge" }))
        .await
        .expect(200);
    assert_eq!(duplex["quote_fen"], 220);
    let quote = app.get(&format!("{path}/quote"), Some(&token)).await.expect(200);
    assert_eq!((quote["sheets"].as_i64(), quote["lines"][0]["unit"].as_str()), (Some(3), Some("sheet")));

    // Forced mono, one copy of pages 1-2: 2 × 10 = 20, raised to the minimum 30.
    let small = app
        .patch(
            &format!("{path}/options"),
            Some(&token),
            json!({ "copies": 1, "sides": "one-sided", "colour_mode": "mono", "page_ranges": "1-2" }),
        )
        .await
        .expect(200);
    assert_eq!(small["quote_fen"], 30);
    let quote = app.get(&format!("{path}/quote"), Some(&token)).await.expect(200);
    assert_eq!((quote["minimum_applied"].as_bool(), quote["pages"].as_i64()), (Some(true), Some(2)));

    // Two pages per side, auto colour, all pages: sides {1,2} {3,4} colour, {5} mono.
    let nup = app
        .patch(
            &format!("{path}/options"),
            Some(&token),
            json!({ "colour_mode": "auto", "page_ranges": "", "pages_per_sheet": 2 }),
        )
        .await
        .expect(200);
    assert_eq!(nup["quote_fen"], 110);
    // A paper size without a price prints free, except for the minimum.
    let a5 = app.patch(&format!("{path}/options"), Some(&token), json!({ "paper_size": "A5" })).await.expect(200);
    assert_eq!(a5["quote_fen"], 30);
    let before = app.patch(&format!("{path}/options"), Some(&token), json!({ "paper_size": "A4" })).await.expect(200);

    // Field-level errors, and a refused change writes nothing.
    for (body, status, code, field) in [
        // Copies' range is declared in the API document: the request guard answers it.
        (json!({ "copies": 0 }), 400, "value_out_of_range", "copies"),
        (json!({ "copies": 100 }), 400, "value_out_of_range", "copies"),
        (json!({ "copies": 3, "sides": "three-sided" }), 400, "invalid_value", "sides"),
        (json!({ "colour_mode": "sepia" }), 400, "invalid_value", "colour_mode"),
        (json!({ "paper_size": "A0" }), 400, "invalid_value", "paper_size"),
        (json!({ "page_ranges": "5-2-1" }), 400, "invalid_page_ranges", "page_ranges"),
        // Well formed, but past the end of this document: its content, not its form.
        (json!({ "page_ranges": "9-" }), 422, "pages_not_in_document", "page_ranges"),
        (json!({ "pages_per_sheet": 3 }), 400, "invalid_pages_per_sheet", "pages_per_sheet"),
        (json!({ "orientation": "diagonal" }), 400, "invalid_value", "orientation"),
    ] {
        let r = app.patch(&format!("{path}/options"), Some(&token), body.clone()).await;
        r.expect_error(status, code);
        assert_eq!(r.body["field"], field, "{body}");
    }
    let after = app.get(&path, Some(&token)).await.expect(200);
    assert_eq!(after["options"], before["options"]);
    assert_eq!(after["quote_fen"], before["quote_fen"]);
    // In English when asked.
    let en = app
        .call(
            Method::PATCH,
            &format!("{path}/options"),
            Some(&token),
            Some(json!({ "pages_per_sheet": 3 })),
            Some("en"),
        )
        .await;
    assert_eq!(en.body["message"], "Pages per sheet must be 1, 2 or 4");
    let zh = app.patch(&format!("{path}/options"), Some(&token), json!({ "pages_per_sheet": 3 })).await;
    assert_ne!(zh.body["message"], en.body["message"], "zh-CN by default");
}

#[tokio::test]
async fn cancel_delete_list_and_history() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (enterprise, token) = app.enterprise_with_user(&admin, "CANCEL", "alice").await;

    let kept = ready_job(&app, &token, "kept.pdf", fixtures::mono_pdf(1)).await;
    let cancelled = ready_job(&app, &token, "cancel-me.pdf", fixtures::mono_pdf(2)).await;
    let deleted = ready_job(&app, &token, "delete-me.pdf", fixtures::mono_pdf(3)).await;

    // Cancel: files go at once, the record stays, a second cancel conflicts.
    let path = format!("/api/v1/jobs/{}", id(&cancelled));
    let c = app.post(&format!("{path}/cancel"), Some(&token), json!({})).await.expect(200);
    assert_eq!((c["state"].as_str(), c["files_available"].as_bool()), (Some("cancelled"), Some(false)));
    assert_eq!(app.get_bytes(&format!("{path}/thumbnail"), &token).await.0, 404);
    assert_eq!(app.get_bytes(&format!("{path}/document"), &token).await.0, 404);
    assert!(!app.dir.path().join("files/jobs").join(id(&cancelled)).exists(), "files deleted on cancel");
    app.post(&format!("{path}/cancel"), Some(&token), json!({})).await.expect_error(409, "job_state_conflict");
    app.patch(&format!("{path}/options"), Some(&token), json!({ "copies": 2 }))
        .await
        .expect_error(409, "job_state_conflict");
    let history = app.get(&format!("{path}/history"), Some(&token)).await.expect(200);
    let steps: Vec<(String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["to_state"].as_str().unwrap().into(), t["actor_kind"].as_str().unwrap().into()))
        .collect();
    let expected = [("uploaded", "user"), ("processing", "system"), ("ready", "system"), ("cancelled", "user")];
    assert_eq!(steps, expected.map(|(a, b)| (a.to_string(), b.to_string())));
    assert!(history.as_array().unwrap().windows(2).all(|w| w[0]["at"].as_i64() <= w[1]["at"].as_i64()));

    // Delete: gone from the user's list and reads; admins still see it (billing records stay).
    let path = format!("/api/v1/jobs/{}", id(&deleted));
    assert_eq!(app.call(Method::DELETE, &path, Some(&token), None, None).await.status, 204);
    app.get(&path, Some(&token)).await.expect_error(404, "not_found");
    let mine = app.get("/api/v1/jobs", Some(&token)).await.expect(200);
    let names: Vec<&str> = mine.as_array().unwrap().iter().map(|j| j["file_name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["cancel-me.pdf", "kept.pdf"], "newest first, deleted left out");
    assert!(!app.dir.path().join("files/jobs").join(id(&deleted)).exists());

    // Filters and pages.
    let ready = app.get("/api/v1/jobs?state=ready", Some(&token)).await.expect(200);
    assert_eq!(ready.as_array().unwrap().len(), 1);
    assert_eq!(ready[0]["id"], kept["id"]);
    let second_page = app.get("/api/v1/jobs?limit=1&offset=1", Some(&token)).await.expect(200);
    assert_eq!(second_page.as_array().unwrap().len(), 1);
    assert_eq!(second_page[0]["id"], kept["id"]);
    let r = app.get("/api/v1/jobs?state=lost", Some(&token)).await;
    r.expect_error(400, "invalid_value");
    assert_eq!(r.body["field"], "state");

    // 在线文印查询: the enterprise's admins list and search every job, deleted ones too.
    let (_, ent_admin) =
        app.create_admin(&admin, "cancel-admin", "enterprise", Some(&id(&enterprise)), "super", &[]).await;
    let all = app.get(&format!("/api/v1/enterprises/{}/jobs", id(&enterprise)), Some(&ent_admin)).await.expect(200);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let found = app
        .get(&format!("/api/v1/enterprises/{}/jobs?q=delete&state=cancelled", id(&enterprise)), Some(&ent_admin))
        .await
        .expect(200);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], deleted["id"]);
    assert_eq!(found[0]["user_id"], kept["user_id"]);
}

#[tokio::test]
async fn jobs_thumbnails_and_files_are_private() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (ent_a, alice) = app.enterprise_with_user(&admin, "PRIVATE-A", "alice").await;
    let bob = yunyin_e2e::harness::access(&app.register_user("PRIVATE-A", "bob", "passw0rd!").await);
    let (ent_b, carol) = app.enterprise_with_user(&admin, "PRIVATE-B", "carol").await;
    let job = ready_job(&app, &alice, "alice.pdf", fixtures::mono_pdf(2)).await;
    let path = format!("/api/v1/jobs/{}", id(&job));

    for (who, token) in [("a colleague", &bob), ("another enterprise's user", &carol)] {
        for sub in ["", "/thumbnail", "/document", "/pages/1/preview", "/quote", "/history"] {
            let (status, body) = app.get_bytes(&format!("{path}{sub}"), token).await;
            assert_eq!(status, 404, "{who} reading {sub}: {}", String::from_utf8_lossy(&body));
        }
        app.patch(&format!("{path}/options"), Some(token), json!({ "copies": 5 })).await.expect_error(404, "not_found");
        app.post(&format!("{path}/cancel"), Some(token), json!({})).await.expect_error(404, "not_found");
        assert_eq!(app.call(Method::DELETE, &path, Some(token), None, None).await.status, 404, "{who} deleting");
        assert!(app.get("/api/v1/jobs", Some(token)).await.expect(200).as_array().unwrap().is_empty());
    }
    let untouched = app.get(&path, Some(&alice)).await.expect(200);
    assert_eq!((untouched["state"].as_str(), untouched["options"]["copies"].as_i64()), (Some("ready"), Some(1)));
    assert_eq!(app.get_bytes(&format!("{path}/thumbnail"), &alice).await.0, 200);
    // Without a session nothing is served.
    assert_eq!(app.client.get(app.url(&format!("{path}/thumbnail"))).send().await.unwrap().status(), 401);

    // Admins of another enterprise cannot list this one's jobs; users cannot use admin routes.
    let (_, b_admin) = app.create_admin(&admin, "b-admin", "enterprise", Some(&id(&ent_b)), "super", &[]).await;
    let r = app.get(&format!("/api/v1/enterprises/{}/jobs", id(&ent_a)), Some(&b_admin)).await;
    assert!(r.status == 404 || r.status == 403, "{r:?}");
    app.get(&format!("/api/v1/enterprises/{}/jobs", id(&ent_a)), Some(&alice))
        .await
        .expect_error(403, "admin_required");
}

#[tokio::test]
async fn a_restart_during_processing_loses_nothing() {
    let app = TestApp::spawn_with(|c| c.processing_workers = 1).await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "RESTART", "alice").await;
    // An Office conversion takes long enough to be caught in the middle.
    let job = app.upload(&token, "three-pages.docx", fixtures::kept("three-pages.docx")).await.expect(201);
    until(&app, &token, &id(&job), "processing", |j| j["state"] == "processing").await;

    // A graceful stop hands the claim back at once …
    let again = app.spawn_sibling().await;
    app.stop().await;
    let handed_back = again.get(&format!("/api/v1/jobs/{}", id(&job)), Some(&token)).await.expect(200);
    assert!(handed_back["state"] == "uploaded" || handed_back["state"] == "processing", "{handed_back}");
    // … and the next instance finishes it.
    let done = again.wait_job(&token, &id(&job), PROCESSING).await;
    assert_eq!((done["state"].as_str(), done["page_count"].as_i64()), (Some("ready"), Some(3)));
    let history = again.get(&format!("/api/v1/jobs/{}/history", id(&job)), Some(&token)).await.expect(200);
    let states: Vec<&str> = history.as_array().unwrap().iter().map(|t| t["to_state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["uploaded", "processing", "uploaded", "processing", "ready"]);
    assert_eq!(history[2]["note"], "server stopping; back in the queue");
}

#[tokio::test]
async fn a_crashed_workers_job_is_taken_over_when_its_lease_runs_out() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "CRASH", "alice").await;
    let job = ready_job(&app, &token, "crash.pdf", fixtures::mono_pdf(4)).await;
    // As a worker that died mid-way leaves it: processing, claimed, lease still running.
    let lease_until = now_ms() + 1500;
    app.sql(&format!(
        "UPDATE print_jobs SET state = 'processing', claimed_by = 'worker-crashed', lease_until = {lease_until}, \
         progress = 40, page_count = NULL, pages = NULL WHERE id = '{}'",
        id(&job)
    ))
    .await;
    let back = app.wait_job(&token, &id(&job), PROCESSING).await;
    assert_eq!((back["state"].as_str(), back["page_count"].as_i64()), (Some("ready"), Some(4)));
    let history = app.get(&format!("/api/v1/jobs/{}/history", id(&job)), Some(&token)).await.expect(200);
    let last_claim = history.as_array().unwrap().iter().rev().find(|t| t["to_state"] == "processing").unwrap();
    assert_eq!(last_claim["note"], "lease expired; picked up again");
    assert!(last_claim["at"].as_i64().unwrap() >= lease_until, "not taken while the lease still ran");
}

#[tokio::test]
async fn progress_is_pushed_to_the_owner_as_events() {
    let app = TestApp::spawn().await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "EVENTS", "alice").await;
    let (_, other) = app.enterprise_with_user(&admin, "EVENTS-2", "bob").await;
    let open = |t: String| {
        let req = app.client.get(app.url("/api/v1/events")).bearer_auth(t).timeout(Duration::from_secs(120));
        async move { req.send().await.unwrap() }
    };
    let stream = open(token.clone()).await;
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let bobs = open(other.clone()).await;
    let job = app.upload(&token, "events.pdf", fixtures::mono_pdf(3)).await.expect(201);

    let mut seen = Vec::new();
    let mut bytes = stream.bytes_stream();
    let mut buf = String::new();
    let deadline = tokio::time::Instant::now() + PROCESSING;
    'read: while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline, bytes.next()).await {
        buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            for line in event.lines() {
                if let Some(data) = line.strip_prefix("data: ") {
                    let e: Value = serde_json::from_str(data).unwrap();
                    assert_eq!((e["type"].as_str(), e["job_id"].as_str()), (Some("job"), job["id"].as_str()));
                    seen.push((e["state"].as_str().unwrap().to_string(), e["progress"].as_i64().unwrap()));
                    if e["state"] == "ready" {
                        break 'read;
                    }
                }
            }
        }
    }
    assert_eq!(seen.first().map(|s| s.0.as_str()), Some("uploaded"), "{seen:?}");
    assert_eq!(seen.last(), Some(&("ready".to_string(), 100)), "{seen:?}");
    // The other enterprise's user heard nothing of it: their stream has only keep-alives. Every
    // event of the job was published before the owner saw `ready`, so a leak would already be
    // on its way; this negative check reads all that arrives in a bounded window.
    drop(bytes);
    let mut theirs = bobs.bytes_stream();
    let quiet_until = tokio::time::Instant::now() + Duration::from_millis(300);
    while let Ok(Some(chunk)) = tokio::time::timeout_at(quiet_until, theirs.next()).await {
        let chunk = chunk.expect("the other stream stays open");
        assert!(!String::from_utf8_lossy(&chunk).contains("data:"), "another user's job leaked into this stream");
    }
}

#[tokio::test]
async fn a_converter_that_overruns_is_killed_with_its_children() {
    // A stand-in converter that forks a child and hangs, as a stuck LibreOffice does.
    let bin = tempfile::tempdir().unwrap();
    let pids = bin.path().join("pids");
    let script = bin.path().join("soffice");
    std::fs::write(&script, format!("#!/bin/sh\nsleep 300 &\necho $$ $! > {}\nwait\n", pids.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let soffice = script.display().to_string();
    let app = TestApp::spawn_with(|c| {
        c.soffice = soffice;
        c.conversion_timeout_secs = 1;
    })
    .await;
    let admin = app.platform_token().await;
    let (_, token) = app.enterprise_with_user(&admin, "OVERRUN", "alice").await;
    let job = app.upload(&token, "three-pages.docx", fixtures::kept("three-pages.docx")).await.expect(201);
    let failed = app.wait_job(&token, &id(&job), PROCESSING).await;
    assert_eq!((failed["state"].as_str(), failed["error_code"].as_str()), (Some("failed"), Some("conversion_timeout")));
    // Its files go right after the failure is recorded.
    let job_path = format!("/api/v1/jobs/{}", id(&job));
    let gone = yunyin_e2e::harness::wait_until(Duration::from_secs(5), || async {
        app.get(&job_path, Some(&token)).await.expect(200)["files_available"] == false
    })
    .await;
    assert!(gone, "the failed job's files were deleted: {failed}");

    let text = std::fs::read_to_string(&pids).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in text.split_whitespace() {
        // Gone, or a zombie waiting to be reaped: either way no longer running.
        while std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.split_whitespace().nth(2).is_none_or(|s| s != "Z"))
        {
            assert!(Instant::now() < deadline, "converter process {pid} still running after the time limit");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn retention_expires_held_jobs_and_deletes_old_files() {
    let app = TestApp::spawn_with(|c| c.retention_sweep_secs = 1).await;
    let admin = app.platform_token().await;
    let (enterprise, token) = app.enterprise_with_user(&admin, "RETAIN", "alice").await;

    // Default retention: 72 h after upload.
    let held = ready_job(&app, &token, "held.pdf", fixtures::mono_pdf(1)).await;
    assert_eq!(held["expires_at"].as_i64().unwrap() - held["created_at"].as_i64().unwrap(), 72 * 3_600_000);
    // Configurable per enterprise.
    app.patch(&format!("/api/v1/enterprises/{}", id(&enterprise)), Some(&admin), json!({ "job_retention_hours": 2 }))
        .await
        .expect(200);
    let short = app.upload(&token, "short.pdf", fixtures::mono_pdf(1)).await.expect(201);
    assert_eq!(short["expires_at"].as_i64().unwrap() - short["created_at"].as_i64().unwrap(), 2 * 3_600_000);
    app.wait_job(&token, &id(&short), PROCESSING).await;
    let done_long_ago = ready_job(&app, &token, "done-2h.pdf", fixtures::mono_pdf(1)).await;
    let done_recently = ready_job(&app, &token, "done-10min.pdf", fixtures::mono_pdf(1)).await;

    // Past its expiry, a held job expires and its files go; the record stays.
    app.sql(&format!("UPDATE print_jobs SET expires_at = {} WHERE id = '{}'", now_ms() - 1, id(&held))).await;
    // The files go right after the expiry is recorded (a loaded run can read in between).
    until(&app, &token, &id(&held), "expired, files gone", |j| {
        j["state"] == "expired" && j["files_available"] == false
    })
    .await;
    assert_eq!(app.get_bytes(&format!("/api/v1/jobs/{}/thumbnail", id(&held)), &token).await.0, 404);
    assert!(!app.dir.path().join("files/jobs").join(id(&held)).exists());
    let history = app.get(&format!("/api/v1/jobs/{}/history", id(&held)), Some(&token)).await.expect(200);
    let last = history.as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["to_state"].as_str(), last["actor_id"].as_str()), (Some("expired"), Some("retention")));

    // Files of a finished job are kept for an hour after it finished, then deleted. The recent
    // one is finished first, so the sweep that deletes the old one's files has seen it too.
    for (job, minutes_ago) in [(&done_recently, 10), (&done_long_ago, 120)] {
        app.sql(&format!(
            "UPDATE print_jobs SET state = 'completed', finished_at = {} WHERE id = '{}'",
            now_ms() - minutes_ago * 60_000,
            id(job)
        ))
        .await;
    }
    until(&app, &token, &id(&done_long_ago), "without files", |j| j["files_available"] == false).await;
    // The sweep that deleted those has also seen the recent one, and kept it.
    let recent = app.get(&format!("/api/v1/jobs/{}", id(&done_recently)), Some(&token)).await.expect(200);
    assert_eq!(recent["files_available"], true);
    assert_eq!(app.get_bytes(&format!("/api/v1/jobs/{}/document", id(&done_recently)), &token).await.0, 200);
    // The records, with their billing data, stay.
    let all = app.get("/api/v1/jobs", Some(&token)).await.expect(200);
    assert_eq!(all.as_array().unwrap().len(), 4);
    assert!(all.as_array().unwrap().iter().all(|j| j["page_count"] == 1 && j["quote_fen"] == 0));
}
