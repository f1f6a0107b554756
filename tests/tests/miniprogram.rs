//! The WeChat mini-program (issue 15) against the real server, on both backends: every page
//! rendered by miniprogram-simulate under Node, its `wx.request` / `wx.uploadFile` reaching this
//! server, its `wx.login` / `wx.requestPayment` / `wx.requestSubscribeMessage` answered by a
//! scripted phone that talks to the fake WeChat and WeChat Pay as WeChat's app would, and its
//! jobs printed by a real gateway on ippeveprinter.
//!
//! The walks (miniprogram/test/walk_*.test.js): a new WeChat user signs in, registers under the
//! enterprise, uploads a chat file, sets options, scans the print point's QR code and pays with
//! WeChat Pay (under the mini-program's AppID, on a merchant account whose primary AppID is the
//! official account's): the job prints. And a failed print: refunded to the wallet at once, and
//! the user told by a subscription message.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use serde_json::{json, Value};
use yunyin_e2e::{
    fakes::{wechat::FakeWechat, wechat_pay::FakeWechatPay, wechat_phone::WechatPhone},
    fixtures,
    payment_world::{key, API_V3_KEY, OA_APP, OA_SECRET, SERIAL},
    peers::{miniprogram, printer::TestPrinter},
    site::{GatewaySite, RunningAgent, FEN_PER_SIDE},
    TestApp,
};
use yunyin_gateway::state::StateFile;

/// The mini-program's AppID, beside the official account's on one merchant.
const MP_APP: &str = "wx5a6b7c8d9e0f1a2b";
const MP_SECRET: &str = "fedcba9876543210fedcba9876543210";
const MCH_ID: &str = "1900000109";
const PRINTED_TEMPLATE: &str = "tpl-printed-0001";
const FAILED_TEMPLATE: &str = "tpl-failed-0002";
/// The scan rate at the world's print point, fen per scanned page (scan records, issue 16).
const SCAN_FEN_PER_PAGE: i64 = 5;

struct MiniWorld {
    app: TestApp,
    wechat: Arc<FakeWechat>,
    wechat_pay: Arc<FakeWechatPay>,
    phone: WechatPhone,
    printer: TestPrinter,
    site: GatewaySite,
    agent: Option<RunningAgent>,
    /// What the page tests get as YUNYIN_WORLD.
    world: Value,
    _fixtures: tempfile::TempDir,
}

async fn mini_world(printer_name: &str, enterprise_code: &str) -> MiniWorld {
    let printer = TestPrinter::start(printer_name).await;
    let wechat = Arc::new(FakeWechat::start().await);
    wechat.register_app(OA_APP, OA_SECRET);
    wechat.register_app(MP_APP, MP_SECRET);
    wechat.add_subscribe_template(MP_APP, PRINTED_TEMPLATE, &["thing1", "phrase2", "time3"]);
    wechat.add_subscribe_template(MP_APP, FAILED_TEMPLATE, &["thing1", "phrase2", "time3", "amount4"]);
    wechat.set_mini_program_pages(MP_APP, &miniprogram::pages());
    let wechat_pay = Arc::new(FakeWechatPay::start().await);
    // WeChat binds both apps to the merchant; the account as configured names the official
    // account first and the mini-program among its other AppIDs.
    wechat_pay.register_merchant(MCH_ID, &[OA_APP, MP_APP], &key("wechat_merchant_a.pub.pem"), SERIAL, API_V3_KEY);
    let (wechat_base, pay_base) = (wechat.base_url(), wechat_pay.base_url());
    let app = TestApp::spawn_with(move |c| {
        c.wechat_api_base = wechat_base;
        c.wechat_pay_api_base = pay_base;
    })
    .await;
    let site = GatewaySite::set_up(&app, &printer, &app.base, enterprise_code).await;
    let (admin, e) = (site.admin.clone(), site.enterprise_id.clone());
    app.put(
        &format!("/api/v1/enterprises/{e}/wechat-apps/mini_program"),
        Some(&admin),
        json!({ "app_id": MP_APP, "app_secret": MP_SECRET,
                "printed_template_id": PRINTED_TEMPLATE, "failed_template_id": FAILED_TEMPLATE }),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/enterprises/{e}/payment-settings"),
        Some(&admin),
        json!({ "payee": "enterprise", "refund_to": "wallet" }),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/payment-accounts/enterprise/{e}/wechat_pay"),
        Some(&admin),
        json!({
            "app_id": OA_APP, "other_app_ids": [MP_APP], "mch_id": MCH_ID, "api_v3_key": API_V3_KEY,
            "private_key_pem": key("wechat_merchant_a.pem"), "certificate_serial": SERIAL,
            "platform_public_key_pem": wechat_pay.platform_public_key_pem(),
            "platform_key_id": wechat_pay.platform_key_id(),
        }),
    )
    .await
    .expect(200);
    // The site's plan, plus a scan rate: scans are charged to the wallet (or wait, unpaid).
    let plan = json!({ "duplex_pricing": "per_side", "minimum_fen": 0, "scan_fen_per_page": SCAN_FEN_PER_PAGE,
        "prices": [{ "paper_size": "A4", "colour": false, "fen_per_side": FEN_PER_SIDE }] });
    app.put(&format!("/api/v1/enterprises/{e}/rate-plan"), Some(&admin), plan).await.expect(200);
    // The scan tests upload scans as the gateway does (as if an MFP had sent them to it).
    let gateway_credential = StateFile::new(site.state.path()).load().unwrap().credential;
    let agent = site.start_agent().await;
    let point = app.get(&format!("/api/v1/print-points/{}", site.print_point_id), Some(&admin)).await.expect(200);
    let directory =
        app.get(&format!("/api/v1/directory/enterprises/by-code/{enterprise_code}"), None).await.expect(200);
    let fixtures_dir = tempfile::tempdir().unwrap();
    std::fs::write(fixtures_dir.path().join("letter.pdf"), fixtures::mono_pdf(1)).unwrap();
    std::fs::write(fixtures_dir.path().join("report.pdf"), fixtures::mono_pdf(2)).unwrap();
    std::fs::write(fixtures_dir.path().join("photo.png"), fixtures::grey_png()).unwrap();
    let phone = WechatPhone::start(wechat.clone(), wechat_pay.clone(), "openid-mp-first").await;
    let world = json!({
        "api_base": app.base,
        "app_id": MP_APP,
        "enterprise_code": enterprise_code,
        "enterprise_name": directory["name"],
        "print_point_url": point["qr_url"],
        "print_point_code": site.code,
        "print_point_id": site.print_point_id,
        "enterprise_id": site.enterprise_id,
        // The platform's super admin, for tests that change the enterprise's edition.
        "admin_token": site.admin,
        "gateway_credential": gateway_credential,
        "scan_fen_per_page": SCAN_FEN_PER_PAGE,
        "fixtures": fixtures_dir.path(),
        "report": miniprogram::dir().join("../tests/artifacts/miniprogram"),
    });
    MiniWorld { app, wechat, wechat_pay, phone, printer, site, agent: Some(agent), world, _fixtures: fixtures_dir }
}

impl MiniWorld {
    async fn jest(&self, patterns: &[&str], ignore: &[&str]) {
        let run = miniprogram::run_jest(patterns, ignore, &self.world, &self.phone.base_url(), MP_APP).await;
        assert!(
            run.ok,
            "the mini-program's page tests failed:\n{}\n--- printer ---\n{}",
            run.output,
            self.printer.log_text()
        );
        println!("{}", run.output);
    }

    /// The enterprise's WeChat Pay orders, newest first (as the admin console lists them).
    async fn orders(&self) -> Vec<Value> {
        let path = format!("/api/v1/enterprises/{}/payment-orders", self.site.enterprise_id);
        self.app.get(&path, Some(&self.site.admin)).await.expect(200).as_array().cloned().unwrap_or_default()
    }

    /// Waits for the fake WeChat to have taken `n` subscription messages.
    async fn until_subscribe_messages(&self, n: usize) -> Vec<yunyin_e2e::fakes::wechat::SubscribeMessageSent> {
        for _ in 0..200 {
            let sent = self.wechat.subscribe_messages();
            if sent.len() >= n {
                return sent;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no subscription message: {:?}", self.wechat.calls());
    }
}

#[tokio::test]
async fn every_page_works_and_a_new_wechat_user_prints_paying_with_wechat_pay() {
    const TEST: &str = "every_page_works_and_a_new_wechat_user_prints_paying_with_wechat_pay";
    if !yunyin_e2e::peers::printer::available_or_skip(TEST) || !miniprogram::available_or_skip(TEST) {
        return;
    }
    let mut w = mini_world("yunyin-mp", "MPCO").await;
    w.jest(&["test/"], &["walk_refund"]).await;

    // The walk's job came out of the printer, paid with WeChat Pay under the mini-program's
    // AppID (not the merchant's primary one), and the user was told it printed.
    let spooled = w.printer.wait_spooled(1, Duration::from_secs(60)).await;
    assert!(!spooled.is_empty(), "printed\n{}", w.printer.log_text());
    let paid: Vec<Value> =
        w.orders().await.into_iter().filter(|o| o["state"] == "paid" && o["provider"] == "wechat_pay").collect();
    assert!(!paid.is_empty(), "a WeChat Pay order was paid");
    for order in &paid {
        let at_provider = w.wechat_pay.order(order["out_trade_no"].as_str().unwrap()).expect("the provider has it");
        assert_eq!((at_provider.app_id.as_str(), at_provider.kind.as_str()), (MP_APP, "jsapi"), "{order}");
    }
    let sent = w.until_subscribe_messages(1).await;
    let printed = sent.iter().find(|m| m.template_id == PRINTED_TEMPLATE).expect("a printed message");
    assert_eq!(printed.data.get("phrase2").map(String::as_str), Some("打印完成"));
    assert_eq!(printed.page.as_deref(), Some("pages/documents/documents"));
    assert!(w.phone.calls().iter().any(|c| c == "subscribe"), "the user was asked first: {:?}", w.phone.calls());
    w.agent.take().unwrap().stop().await;
}

#[tokio::test]
async fn a_failed_print_is_refunded_to_the_wallet_and_the_user_told_in_wechat() {
    const TEST: &str = "a_failed_print_is_refunded_to_the_wallet_and_the_user_told_in_wechat";
    if !yunyin_e2e::peers::printer::available_or_skip(TEST) || !miniprogram::available_or_skip(TEST) {
        return;
    }
    let mut w = mini_world("yunyin-mp-refund", "MPRF").await;
    // The printer loses power: the gateway cannot print what is released to it.
    w.printer.stop();
    w.jest(&["walk_refund"], &[]).await;

    let sent = w.until_subscribe_messages(1).await;
    let failed = sent.iter().find(|m| m.template_id == FAILED_TEMPLATE).expect("a failed-and-refunded message");
    assert_eq!(failed.data.get("phrase2").map(String::as_str), Some("打印失败"));
    let refund = failed.data.get("amount4").cloned().unwrap_or_default();
    assert!(refund.starts_with('¥') && refund != "¥0.00", "the refund is named: {refund}");
    // One acceptance, one message: the printed template was accepted too but never spent.
    assert!(sent.iter().all(|m| m.template_id != PRINTED_TEMPLATE));
    w.agent.take().unwrap().stop().await;
}
