//! What the mobile web app needs from the server: its files at `/m/` (any app route answers
//! with `index.html`), the QR links `/p/{code}` opening its release page, and the WeChat
//! JS-SDK configuration signed with a ticket fetched once and cached.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use sha1::{Digest, Sha1};
use yunyin_e2e::{fakes::wechat::FakeWechat, TestApp};

const OA_APP: &str = "wx1234567890abcdef";
const OA_SECRET: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn the_app_is_served_at_m_and_qr_links_open_its_release_page() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<!doctype html><title>云印</title>").unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app.js"), "console.log('yunyin')").unwrap();
    let mobile_dir = dir.path().to_path_buf();
    let app = TestApp::spawn_with(move |c| c.mobile_dir = mobile_dir).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let get = |path: &str| client.get(app.url(path)).send();

    for path in ["/m/", "/m/release/abc234", "/m/wallet"] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.text().await.unwrap().contains("<title>云印</title>"), "{path} answers with the app");
    }
    let js = get("/m/assets/app.js").await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.headers()["content-type"].to_str().unwrap().contains("javascript"));
    // Content-hashed files are cached for good; a chunk of another build is a 404, not the app.
    assert_eq!(js.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(get("/m/assets/gone-1a2b3c.js").await.unwrap().status(), 404);
    assert_eq!(get("/m/release/abc234").await.unwrap().headers()["cache-control"], "no-cache");
    let link = get("/p/abc234defg").await.unwrap();
    assert_eq!((link.status().as_u16(), link.headers()["location"].to_str().unwrap()), (302, "/m/release/abc234defg"));
    assert_eq!(get("/p/not%20a%20code").await.unwrap().status(), 404);
    // A person opening the server's address in a browser gets the app.
    let home = get("/").await.unwrap();
    assert_eq!((home.status().as_u16(), home.headers()["location"].to_str().unwrap()), (302, "/m/"));
    app.stop().await;

    // Not built: a page saying what to install and run, with the API docs linked; the API
    // unaffected.
    let app = TestApp::spawn_with(|c| c.mobile_dir = "/nonexistent/yunyin-mobile".into()).await;
    let r = reqwest::get(app.url("/m/")).await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = r.text().await.unwrap();
    for needed in ["apt-get install nodejs npm", "npm ci &amp;&amp; npm run build", "cargo run", "href=\"/docs\""] {
        assert!(page.contains(needed), "the page says {needed}: {page}");
    }
    assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), 200);
    app.stop().await;
}

fn signature(ticket: &str, nonce: &str, timestamp: i64, url: &str) -> String {
    let text = format!("jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url}");
    Sha1::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn the_js_sdk_configuration_is_signed_with_a_cached_ticket() {
    let wechat = FakeWechat::start().await;
    wechat.register_app(OA_APP, OA_SECRET);
    let base = wechat.base_url();
    let app = TestApp::spawn_with(|c| c.wechat_api_base = base).await;
    let admin = app.platform_token().await;
    let acme = app.create_enterprise(&admin, "ACME", None).await;
    app.create_enterprise(&admin, "PLAIN", None).await;
    app.put(
        &format!("/api/v1/enterprises/{}/wechat-apps/official_account", acme["id"].as_str().unwrap()),
        Some(&admin),
        json!({"app_id": OA_APP, "app_secret": OA_SECRET}),
    )
    .await
    .expect(200);

    let page = "https://print.example.com/m/release/abc234?from=menu";
    let mut configs = Vec::new();
    for _ in 0..3 {
        let c = app
            .post("/api/v1/wechat/js-sdk-config", None, json!({"enterprise_code": "ACME", "url": format!("{page}#/x")}))
            .await
            .expect(200);
        configs.push(c);
    }
    let tickets = wechat.tickets();
    assert_eq!(tickets.len(), 1, "one ticket fetched, then cached");
    assert_eq!(wechat.ticket_app(&tickets[0]).as_deref(), Some(OA_APP));
    let token_calls = wechat.calls().iter().filter(|c| c.starts_with("cgi-bin/token")).count();
    assert_eq!(token_calls, 1, "one access token fetched, then cached");
    for c in &configs {
        assert_eq!(c["app_id"], OA_APP);
        let expected = signature(&tickets[0], c["nonce_str"].as_str().unwrap(), c["timestamp"].as_i64().unwrap(), page);
        assert_eq!(c["signature"].as_str().unwrap(), expected, "signed over the URL without its fragment");
    }

    app.post("/api/v1/wechat/js-sdk-config", None, json!({"enterprise_code": "PLAIN", "url": page}))
        .await
        .expect_error(409, "wechat_not_configured");
    app.post("/api/v1/wechat/js-sdk-config", None, json!({"enterprise_code": "NOPE", "url": page}))
        .await
        .expect_error(404, "not_found");
    let r = app
        .post("/api/v1/wechat/js-sdk-config", None, json!({"enterprise_code": "ACME", "url": "javascript:alert(1)"}))
        .await;
    r.expect_error(400, "invalid_value");
    assert_eq!(r.body["field"], "url");
    app.stop().await;
}

/// The build's Brotli and gzip copies go to browsers that take them, as they are; others get
/// the plain file. Revalidation answers 304 without a body.
#[tokio::test]
async fn pre_compressed_copies_are_sent_to_browsers_that_take_them() {
    use std::io::{Read, Write};

    let dir = tempfile::tempdir().unwrap();
    let page = format!("<!doctype html><title>云印</title>{}", "<p>release</p>".repeat(200));
    let script = "console.log('yunyin');\n".repeat(200);
    let gzip = |text: &str| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    std::fs::write(dir.path().join("index.html"), &page).unwrap();
    std::fs::write(dir.path().join("index.html.gz"), gzip(&page)).unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/index-9f8e.js"), &script).unwrap();
    std::fs::write(dir.path().join("assets/index-9f8e.js.gz"), gzip(&script)).unwrap();
    // The server never decodes a copy, so a marker stands in for Brotli output here.
    std::fs::write(dir.path().join("assets/index-9f8e.js.br"), b"brotli copy").unwrap();
    let mobile_dir = dir.path().to_path_buf();
    let app = TestApp::spawn_with(move |c| c.mobile_dir = mobile_dir).await;
    let get = |path: &str, accept: &str| {
        let mut r = app.client.get(app.url(path));
        if !accept.is_empty() {
            r = r.header("accept-encoding", accept);
        }
        r.send()
    };

    let br = get("/m/assets/index-9f8e.js", "gzip, deflate, br, zstd").await.unwrap();
    assert_eq!(br.status(), 200);
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["vary"], "accept-encoding");
    assert!(br.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"brotli copy");

    let gz = get("/m/assets/index-9f8e.js", "gzip").await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["cache-control"], "public, max-age=31536000, immutable");
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.bytes().await.unwrap().as_ref()).read_to_string(&mut text).unwrap();
    assert_eq!(text, script, "the copy decodes to the file");

    let plain = get("/m/assets/index-9f8e.js", "br;q=0, identity").await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.text().await.unwrap(), script);

    // An app route gets index.html's copy, revalidated each time: 304 when unchanged.
    let route = get("/m/release/abc234", "gzip").await.unwrap();
    assert_eq!(
        (route.headers()["content-encoding"].to_str().unwrap(), route.headers()["cache-control"].to_str().unwrap()),
        ("gzip", "no-cache")
    );
    let etag = route.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url("/m/release/abc234"))
        .header("accept-encoding", "gzip")
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert!(again.bytes().await.unwrap().is_empty());
    app.stop().await;
}
