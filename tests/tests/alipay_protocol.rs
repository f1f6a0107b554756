//! The Alipay client (`yunyin_server::payments::alipay`) against the fake gateway: the trade
//! APIs, the browser and app flows, Alipay's error codes, refunds and their idempotency, and
//! asynchronous notifications in every delivery mode.

// Tests: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use poem::{
    handler,
    listener::{Acceptor, Listener, TcpListener},
    post,
    web::Data,
    EndpointExt, Route, Server,
};
use yunyin_e2e::{
    fakes::alipay::{FakeAlipay, NotifyMode, QueryOverride},
    fakes::china_time::beijing,
    harness::wait_until,
};
use yunyin_server::payments::alipay::{
    parse_form, verify_notification, AlipayClient, AlipayError, AlipayMerchant, TradeRequest, TradeStatus, NOTIFY_ACK,
};

const APP_A: &str = "2021000000000001";
const APP_B: &str = "2021000000000002";
const SELLER_A: &str = "2088000000000001";
const SELLER_B: &str = "2088000000000002";

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

struct World {
    fake: FakeAlipay,
    client: AlipayClient,
    a: AlipayMerchant,
    b: AlipayMerchant,
}

async fn world() -> World {
    let fake = FakeAlipay::start().await;
    fake.register_app(APP_A, &key("alipay_app_a.pub.pem"), SELLER_A);
    fake.register_app(APP_B, &key("alipay_app_b.pub.pem"), SELLER_B);
    let client = AlipayClient::new(&fake.gateway_url(), reqwest::Client::new());
    let a = AlipayMerchant {
        app_id: APP_A.into(),
        app_private_key: key("alipay_app_a.pem"),
        alipay_public_key: fake.alipay_public_key_pem(),
        seller_id: Some(SELLER_A.into()),
    };
    let b = AlipayMerchant {
        app_id: APP_B.into(),
        app_private_key: key("alipay_app_b.pem"),
        alipay_public_key: fake.alipay_public_key_pem(),
        seller_id: Some(SELLER_B.into()),
    };
    a.validate().unwrap();
    b.validate().unwrap();
    World { fake, client, a, b }
}

fn order(out_trade_no: &str, amount_fen: i64, notify_url: &str) -> TradeRequest {
    TradeRequest {
        out_trade_no: out_trade_no.into(),
        subject: "云印 打印 12 页 (A4 黑白)".into(),
        amount_fen,
        notify_url: notify_url.into(),
        return_url: Some("https://yunyin.test/pay/done?order=1".into()),
        time_expire_unix: unix_now() + 15 * 60,
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn refused(result: Result<impl std::fmt::Debug, AlipayError>) -> (String, String) {
    match result {
        Err(AlipayError::Refused { code, sub_code, .. }) => (code, sub_code),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

type Form = Vec<(String, String)>;
type Inbox = Arc<Mutex<Vec<Form>>>;

/// A merchant's notify endpoint: collects every form posted and answers `success` when it
/// verifies for `merchant` (seller unknown, so a wrong seller still verifies), `fail` otherwise.
struct Collector {
    forms: Inbox,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Clone)]
struct CollectorState {
    forms: Inbox,
    merchant: AlipayMerchant,
}

#[handler]
fn notify(body: String, Data(state): Data<&CollectorState>) -> String {
    let form = parse_form(&body).unwrap();
    state.forms.lock().unwrap().push(form.clone());
    match verify_notification(&state.merchant, &form) {
        Ok(_) => NOTIFY_ACK.to_string(),
        Err(_) => "fail".to_string(),
    }
}

impl Collector {
    async fn start(merchant: &AlipayMerchant) -> Self {
        let forms = Arc::new(Mutex::new(Vec::new()));
        let merchant = AlipayMerchant { seller_id: None, ..merchant.clone() };
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
        let app =
            Route::new().at("/alipay/notify", post(notify)).data(CollectorState { forms: forms.clone(), merchant });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    app,
                    async {
                        let _ = stopped.await;
                    },
                    Some(Duration::from_secs(1)),
                )
                .await;
        });
        Self { forms, addr, stop: Some(stop) }
    }

    fn url(&self) -> String {
        format!("http://{}/alipay/notify", self.addr)
    }

    fn forms(&self) -> Vec<Form> {
        self.forms.lock().unwrap().clone()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {key} in {form:?}"))
}

#[tokio::test]
async fn precreate_query_pay_query() {
    let w = world().await;
    let inbox = Collector::start(&w.a).await;
    let req = order("YY_PRE_1", 1234, &inbox.url());

    let qr = w.client.precreate(&w.a, &req).await.unwrap();
    assert!(qr.starts_with("https://qr.alipay.com/"), "{qr}");
    let trade = w.fake.trade("YY_PRE_1").unwrap();
    assert_eq!((trade.app_id.as_str(), trade.amount_fen, trade.status.as_str()), (APP_A, 1234, "WAIT_BUYER_PAY"));
    assert_eq!(trade.method, "alipay.trade.precreate");
    assert_eq!(trade.notify_url.as_deref(), Some(inbox.url().as_str()));

    // The same order again is the same trade; another amount under the same number is not.
    assert_eq!(w.client.precreate(&w.a, &req).await.unwrap(), qr);
    let changed = TradeRequest { amount_fen: 1, ..req.clone() };
    assert_eq!(refused(w.client.precreate(&w.a, &changed).await), ("40004".into(), "ACQ.CONTEXT_INCONSISTENT".into()));

    let waiting = w.client.query(&w.a, "YY_PRE_1").await.unwrap();
    assert_eq!(waiting.status, TradeStatus::WaitBuyerPay);
    assert_eq!(waiting.total_fen, 1234);
    assert_eq!(waiting.buyer_id, None);
    assert_eq!(waiting.out_trade_no, "YY_PRE_1");

    w.fake.pay("YY_PRE_1", "2088102000000042").await;
    let paid = w.client.query(&w.a, "YY_PRE_1").await.unwrap();
    assert_eq!(paid.status, TradeStatus::Success);
    assert!(paid.status.is_paid());
    assert_eq!(paid.total_fen, 1234);
    assert_eq!(paid.buyer_id.as_deref(), Some("2088102000000042"));
    assert_eq!(paid.trade_no.as_deref(), Some(w.fake.trade("YY_PRE_1").unwrap().trade_no.as_str()));

    // The notification arrived, verified and was acknowledged.
    assert_eq!(inbox.forms().len(), 1);
    let deliveries = w.fake.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!((deliveries[0].1, deliveries[0].2.as_str()), (200, NOTIFY_ACK));

    // Paid: the number cannot be used again.
    assert_eq!(refused(w.client.precreate(&w.a, &req).await), ("40004".into(), "ACQ.TRADE_HAS_SUCCESS".into()));
    // Another app does not see app A's trade.
    assert_eq!(refused(w.client.query(&w.b, "YY_PRE_1").await), ("40004".into(), "ACQ.TRADE_NOT_EXIST".into()));
}

#[tokio::test]
async fn page_and_wap_urls_open_the_cashier() {
    let w = world().await;
    let http = reqwest::Client::new();
    for (no, wap) in [("YY_PAGE_1", false), ("YY_WAP_1", true)] {
        let req = order(no, 5000, "http://127.0.0.1:9/alipay/notify");
        let url = if wap { w.client.wap_pay_url(&w.a, &req) } else { w.client.page_pay_url(&w.a, &req) }.unwrap();
        assert!(url.starts_with(&format!("{}?", w.fake.gateway_url())), "{url}");
        let page = http.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("id=\"cashier\""), "{html}");
        assert!(html.contains("50.00"), "{html}");
        let trade = w.fake.trade(no).unwrap();
        let (method, product) = if wap {
            ("alipay.trade.wap.pay", "QUICK_WAP_WAY")
        } else {
            ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY")
        };
        assert_eq!(trade.method, method);
        assert_eq!(trade.product_code.as_deref(), Some(product));
        assert_eq!(trade.amount_fen, 5000);
        assert_eq!(trade.return_url.as_deref(), Some("https://yunyin.test/pay/done?order=1"));

        // The URL is bound to its contents: a changed amount fails the signature.
        let tampered = url.replace("50.00", "0.01");
        assert_ne!(tampered, url);
        let html = http.get(&tampered).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("isv.invalid-signature"), "{html}");

        // The browser pays; the trade is queryable through the API.
        w.fake.pay(no, "2088102000000043").await;
        assert_eq!(w.client.query(&w.a, no).await.unwrap().status, TradeStatus::Success);
    }
    // Nothing listens at the notify_url: both payments' notifications were attempted, and
    // the attempts are recorded as failed.
    let deliveries = w.fake.deliveries();
    assert_eq!(deliveries.len(), 2, "one attempt per payment: {deliveries:?}");
    assert!(deliveries.iter().all(|(_, status, _)| *status != 200), "{deliveries:?}");
}

#[tokio::test]
async fn app_order_string_verifies() {
    let w = world().await;
    let req = order("YY_APP_1", 990, "https://yunyin.test/alipay/notify");
    let order_string = w.client.app_pay_order_string(&w.a, &req).unwrap();
    let params = parse_form(&order_string).unwrap();
    assert_eq!(field(&params, "method"), "alipay.trade.app.pay");
    assert_eq!(field(&params, "sign_type"), "RSA2");
    assert!(!order_string.contains(' '), "the order string is url-encoded");

    assert_eq!(w.fake.submit_app_order(&order_string), Ok("YY_APP_1".to_string()));
    let trade = w.fake.trade("YY_APP_1").unwrap();
    assert_eq!((trade.method.as_str(), trade.amount_fen), ("alipay.trade.app.pay", 990));
    assert_eq!(trade.product_code.as_deref(), Some("QUICK_MSECURITY_PAY"));

    // Tampered, or signed by app B under app A's id.
    let tampered = order_string.replace("9.90", "0.01");
    assert_ne!(tampered, order_string);
    assert_eq!(w.fake.submit_app_order(&tampered), Err("isv.invalid-signature".to_string()));
    let impostor = AlipayMerchant { app_private_key: w.b.app_private_key.clone(), ..w.a.clone() };
    let other = w.client.app_pay_order_string(&impostor, &order("YY_APP_2", 990, "https://yunyin.test/n")).unwrap();
    assert_eq!(w.fake.submit_app_order(&other), Err("isv.invalid-signature".to_string()));
}

#[tokio::test]
async fn close_only_unpaid_trades() {
    let w = world().await;
    w.client.precreate(&w.a, &order("YY_CLOSE_1", 100, "https://yunyin.test/n")).await.unwrap();
    w.client.close(&w.a, "YY_CLOSE_1").await.unwrap();
    assert_eq!(w.fake.trade("YY_CLOSE_1").unwrap().status, "TRADE_CLOSED");
    assert_eq!(w.client.query(&w.a, "YY_CLOSE_1").await.unwrap().status, TradeStatus::Closed);
    assert_eq!(refused(w.client.close(&w.a, "YY_CLOSE_1").await), ("40004".into(), "ACQ.TRADE_STATUS_ERROR".into()));
    assert_eq!(
        refused(w.client.precreate(&w.a, &order("YY_CLOSE_1", 100, "https://yunyin.test/n")).await),
        ("40004".into(), "ACQ.TRADE_HAS_CLOSE".into())
    );

    w.fake.set_notify_mode(NotifyMode::Drop);
    w.client.precreate(&w.a, &order("YY_CLOSE_2", 100, "https://yunyin.test/n")).await.unwrap();
    w.fake.pay("YY_CLOSE_2", "2088102000000044").await;
    assert_eq!(refused(w.client.close(&w.a, "YY_CLOSE_2").await), ("40004".into(), "ACQ.TRADE_STATUS_ERROR".into()));
    assert_eq!(w.fake.trade("YY_CLOSE_2").unwrap().status, "TRADE_SUCCESS");

    assert_eq!(refused(w.client.close(&w.a, "YY_NEVER").await), ("40004".into(), "ACQ.TRADE_NOT_EXIST".into()));
}

#[tokio::test]
async fn gateway_error_codes() {
    let w = world().await;
    let unknown = AlipayMerchant { app_id: "2021999999999999".into(), ..w.a.clone() };
    assert_eq!(refused(w.client.query(&unknown, "YY_X").await), ("40002".into(), "isv.invalid-app-id".into()));

    // App B's key under app A's id.
    let impostor = AlipayMerchant { app_private_key: w.b.app_private_key.clone(), ..w.a.clone() };
    assert_eq!(refused(w.client.query(&impostor, "YY_X").await), ("40002".into(), "isv.invalid-signature".into()));
    assert_eq!(
        refused(w.client.precreate(&impostor, &order("YY_X", 100, "https://yunyin.test/n")).await),
        ("40002".into(), "isv.invalid-signature".into())
    );
    assert!(w.fake.trade("YY_X").is_none(), "a refused call creates nothing");

    assert_eq!(refused(w.client.query(&w.a, "YY_NOT_THERE").await), ("40004".into(), "ACQ.TRADE_NOT_EXIST".into()));
    match w.client.query(&w.a, "YY_NOT_THERE").await {
        Err(AlipayError::Refused { message, .. }) => assert_eq!(message, "交易不存在"),
        other => panic!("{other:?}"),
    }

    // Nobody listening.
    let dead = AlipayClient::new("http://127.0.0.1:9/gateway.do", reqwest::Client::new());
    assert!(matches!(dead.query(&w.a, "YY_X").await, Err(AlipayError::Unreachable(_))));
    assert!(w.fake.calls().iter().any(|m| m == "alipay.trade.query"));
}

#[tokio::test]
async fn refunds_partial_idempotent_and_bounded() {
    let w = world().await;
    w.fake.set_notify_mode(NotifyMode::Drop);
    w.client.precreate(&w.a, &order("YY_REF_1", 1000, "https://yunyin.test/n")).await.unwrap();
    assert_eq!(
        refused(w.client.refund(&w.a, "YY_REF_1", "R1", 300).await),
        ("40004".into(), "ACQ.TRADE_STATUS_ERROR".into()),
        "nothing to refund before payment"
    );
    w.fake.pay("YY_REF_1", "2088102000000045").await;

    let first = w.client.refund(&w.a, "YY_REF_1", "R1", 300).await.unwrap();
    assert_eq!((first.refund_fen, first.refunded_total_fen, first.fund_change), (300, 300, true));
    assert_eq!(first.out_trade_no, "YY_REF_1");
    let again = w.client.refund(&w.a, "YY_REF_1", "R1", 300).await.unwrap();
    assert_eq!((again.refund_fen, again.refunded_total_fen, again.fund_change), (300, 300, false));
    assert_eq!(w.fake.refunds().len(), 1, "the repeat moved no money");

    assert_eq!(
        refused(w.client.refund(&w.a, "YY_REF_1", "R2", 701).await),
        ("40004".into(), "ACQ.REASON_TRADE_REFUND_FEE_ERR".into())
    );
    let rest = w.client.refund(&w.a, "YY_REF_1", "R2", 700).await.unwrap();
    assert_eq!((rest.refund_fen, rest.refunded_total_fen, rest.fund_change), (700, 1000, true));
    assert_eq!(w.client.query(&w.a, "YY_REF_1").await.unwrap().status, TradeStatus::Closed, "fully refunded");
    assert_eq!(
        refused(w.client.refund(&w.a, "YY_REF_1", "R3", 1).await),
        ("40004".into(), "ACQ.TRADE_STATUS_ERROR".into())
    );
    let refunds = w.fake.refunds();
    assert_eq!(
        refunds.iter().map(|r| (r.out_request_no.as_str(), r.refund_fen)).collect::<Vec<_>>(),
        [("R1", 300), ("R2", 700)]
    );
    assert_eq!(
        refused(w.client.refund(&w.a, "YY_NONE", "R1", 1).await),
        ("40004".into(), "ACQ.TRADE_NOT_EXIST".into())
    );
}

#[tokio::test]
async fn wrong_alipay_public_key_is_a_bad_signature() {
    let w = world().await;
    w.client.precreate(&w.a, &order("YY_KEY_1", 100, "https://yunyin.test/n")).await.unwrap();
    let misconfigured = AlipayMerchant { alipay_public_key: key("alipay_forger.pub.pem"), ..w.a.clone() };
    assert!(matches!(w.client.query(&misconfigured, "YY_KEY_1").await, Err(AlipayError::BadSignature)));
    // A signed business refusal is checked too.
    assert!(matches!(w.client.query(&misconfigured, "YY_NOT_THERE").await, Err(AlipayError::BadSignature)));
    assert!(matches!(
        w.client.precreate(&misconfigured, &order("YY_KEY_2", 100, "https://yunyin.test/n")).await,
        Err(AlipayError::BadSignature)
    ));
}

#[tokio::test]
async fn notifications_in_every_mode() {
    let w = world().await;
    let inbox = Collector::start(&w.a).await;
    let seller_unknown = AlipayMerchant { seller_id: None, ..w.a.clone() };
    let mut seen = 0;
    let mut next = |n: &str| {
        seen += 1;
        format!("YY_N_{n}_{seen}")
    };

    // Deliver: verifies, with exact amounts.
    let no = next("deliver");
    w.client.precreate(&w.a, &order(&no, 1234, &inbox.url())).await.unwrap();
    w.fake.pay(&no, "2088102000000046").await;
    let form = inbox.forms().pop().unwrap();
    assert_eq!(field(&form, "notify_type"), "trade_status_sync");
    assert_eq!(field(&form, "sign_type"), "RSA2");
    for k in ["notify_time", "notify_id", "charset", "version", "receipt_amount", "buyer_id", "gmt_payment", "trade_no"]
    {
        field(&form, k);
    }
    let n = verify_notification(&w.a, &form).unwrap();
    assert_eq!((n.out_trade_no.as_str(), n.status, n.total_fen), (no.as_str(), TradeStatus::Success, 1234));
    assert_eq!((n.app_id.as_str(), n.seller_id.as_deref()), (APP_A, Some(SELLER_A)));
    assert_eq!(n.trade_no, w.fake.trade(&no).unwrap().trade_no);
    assert_eq!(w.fake.deliveries().last().unwrap(), &(n.notify_id.clone(), 200, NOTIFY_ACK.to_string()));
    // Not for app B.
    assert!(matches!(verify_notification(&w.b, &form), Err(AlipayError::NotOurs { field: "app_id" })));

    // ForgeSignature: refused, and the endpoint does not acknowledge it.
    w.fake.set_notify_mode(NotifyMode::ForgeSignature);
    let no = next("forge");
    w.client.precreate(&w.a, &order(&no, 500, &inbox.url())).await.unwrap();
    w.fake.pay(&no, "2088102000000046").await;
    let form = inbox.forms().pop().unwrap();
    assert!(matches!(verify_notification(&w.a, &form), Err(AlipayError::BadSignature)));
    assert_eq!(w.fake.deliveries().last().unwrap().2, "fail");

    // TamperAmount: validly signed, carrying the changed amount (the service must compare).
    w.fake.set_notify_mode(NotifyMode::TamperAmount(-499));
    let no = next("tamper");
    w.client.precreate(&w.a, &order(&no, 500, &inbox.url())).await.unwrap();
    w.fake.pay(&no, "2088102000000046").await;
    let n = verify_notification(&w.a, &inbox.forms().pop().unwrap()).unwrap();
    assert_eq!(n.total_fen, 1);

    // WrongSeller: validly signed, carrying the other seller; refused when ours is known.
    w.fake.set_notify_mode(NotifyMode::WrongSeller("2088999999999999".into()));
    let no = next("seller");
    w.client.precreate(&w.a, &order(&no, 500, &inbox.url())).await.unwrap();
    w.fake.pay(&no, "2088102000000046").await;
    let form = inbox.forms().pop().unwrap();
    let n = verify_notification(&seller_unknown, &form).unwrap();
    assert_eq!(n.seller_id.as_deref(), Some("2088999999999999"));
    assert!(matches!(verify_notification(&w.a, &form), Err(AlipayError::NotOurs { field: "seller_id" })));

    // Duplicate(5): five identical copies, all acknowledged.
    w.fake.set_notify_mode(NotifyMode::Duplicate(5));
    let before = w.fake.deliveries().len();
    let no = next("dup");
    w.client.precreate(&w.a, &order(&no, 700, &inbox.url())).await.unwrap();
    w.fake.pay(&no, "2088102000000046").await;
    let copies = &w.fake.deliveries()[before..];
    assert_eq!(copies.len(), 5);
    assert!(copies.iter().all(|d| d.0 == copies[0].0 && d.1 == 200 && d.2 == NOTIFY_ACK));
    let forms = inbox.forms();
    let last5 = &forms[forms.len() - 5..];
    assert!(last5.iter().all(|f| f == &last5[0]));
    assert_eq!(verify_notification(&w.a, &last5[0]).unwrap().notify_id, copies[0].0);

    // Drop: nothing arrives, yet the trade is paid (a query finds it).
    w.fake.set_notify_mode(NotifyMode::Drop);
    let (before_forms, before_deliveries) = (inbox.forms().len(), w.fake.deliveries().len());
    let no = next("drop");
    w.client.precreate(&w.a, &order(&no, 800, &inbox.url())).await.unwrap();
    w.fake.pay(&no, "2088102000000046").await;
    assert_eq!((inbox.forms().len(), w.fake.deliveries().len()), (before_forms, before_deliveries));
    assert_eq!(w.client.query(&w.a, &no).await.unwrap().status, TradeStatus::Success);
    // Alipay retries: the same notification (same notify_id) arrives later.
    w.fake.set_notify_mode(NotifyMode::Deliver);
    w.fake.redeliver(&no).await;
    let n = verify_notification(&w.a, &inbox.forms().pop().unwrap()).unwrap();
    assert_eq!((n.out_trade_no.as_str(), n.total_fen), (no.as_str(), 800));

    // Delay: the trade is paid at once, the notification comes later.
    w.fake.set_notify_mode(NotifyMode::Delay(Duration::from_millis(300)));
    let no = next("delay");
    w.client.precreate(&w.a, &order(&no, 900, &inbox.url())).await.unwrap();
    let started = Instant::now();
    let before = inbox.forms().len();
    let (_, status) = tokio::join!(w.fake.pay(&no, "2088102000000046"), async {
        // Once the buyer has paid (the notification is then still 300 ms away)…
        let paid = wait_until(Duration::from_secs(5), || async {
            w.fake.trade(&no).is_some_and(|t| t.status == "TRADE_SUCCESS")
        })
        .await;
        assert!(paid, "the buyer paid: {:?}", w.fake.trade(&no));
        // …a query already says so, and nothing was notified yet.
        let status = w.client.query(&w.a, &no).await.unwrap().status;
        assert_eq!(inbox.forms().len(), before, "not yet notified");
        status
    });
    assert_eq!(status, TradeStatus::Success);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(inbox.forms().len(), before + 1);
}

#[tokio::test]
async fn time_expire_is_sent_on_every_method_and_enforced() {
    let w = world().await;
    let http = reqwest::Client::new();
    let deadline = unix_now() + 120;
    let with_deadline =
        |no: &str| TradeRequest { time_expire_unix: deadline, ..order(no, 300, "https://yunyin.test/n") };

    // Every way of opening a trade carries it, in Alipay's format, and the fake keeps it.
    w.client.precreate(&w.a, &with_deadline("YY_EXP_PRE")).await.unwrap();
    let page = w.client.page_pay_url(&w.a, &with_deadline("YY_EXP_PAGE")).unwrap();
    let wap = w.client.wap_pay_url(&w.a, &with_deadline("YY_EXP_WAP")).unwrap();
    for url in [&page, &wap] {
        let form = parse_form(url.split_once('?').unwrap().1).unwrap();
        let biz: serde_json::Value = serde_json::from_str(field(&form, "biz_content")).unwrap();
        assert_eq!(biz["time_expire"], beijing(deadline), "{url}");
        let html = http.get(url).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("id=\"cashier\""), "{html}");
    }
    let app = w.client.app_pay_order_string(&w.a, &with_deadline("YY_EXP_APP")).unwrap();
    assert_eq!(w.fake.submit_app_order(&app), Ok("YY_EXP_APP".to_string()));
    let numbers = ["YY_EXP_PRE", "YY_EXP_PAGE", "YY_EXP_WAP", "YY_EXP_APP"];
    for no in numbers {
        let trade = w.fake.trade(no).unwrap();
        assert_eq!(trade.time_expire.as_deref(), Some(beijing(deadline).as_str()), "{no}");
        assert_eq!(trade.time_expire_unix(), Some(deadline), "{no}");
    }

    // Past it: each trade is closed by time, cannot be paid, and the cashier will not reopen.
    w.fake.advance_clock(Duration::from_secs(180));
    for no in numbers {
        assert_eq!(w.fake.try_pay(no, "2088102000000045").await, Err("ACQ.TRADE_HAS_CLOSE".to_string()), "{no}");
        assert_eq!(w.client.query(&w.a, no).await.unwrap().status, TradeStatus::Closed, "{no}");
    }
    let html = http.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("ACQ.TRADE_HAS_CLOSE"), "{html}");
    // A page URL never opened before its deadline does not open after it either.
    let unopened =
        TradeRequest { time_expire_unix: unix_now() + 60, ..order("YY_EXP_LATE", 300, "https://yunyin.test/n") };
    let url = w.client.page_pay_url(&w.a, &unopened).unwrap();
    let html = http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("ACQ.TRADE_HAS_CLOSE"), "{html}");
    assert!(w.fake.trade("YY_EXP_LATE").is_none());
    assert!(w.fake.deliveries().is_empty(), "nothing was paid");
}

#[tokio::test]
async fn without_time_expire_a_page_order_stays_payable_for_days() {
    // What the fake does with an order string that carries no time_expire (as yunyin sent
    // before issue 10): Alipay's default window, days.
    let w = world().await;
    let url = w.client.page_pay_url(&w.a, &order("YY_NO_EXPIRY", 300, "https://yunyin.test/n")).unwrap();
    let (base, query) = url.split_once('?').unwrap();
    let mut form = parse_form(query).unwrap();
    for (k, v) in form.iter_mut() {
        if k == "biz_content" {
            let mut biz: serde_json::Value = serde_json::from_str(v).unwrap();
            biz.as_object_mut().unwrap().remove("time_expire");
            *v = biz.to_string();
        }
    }
    // Re-signed by the application, as an old client would have.
    let resigned = resign(&form, &key("alipay_app_a.pem"));
    w.fake.advance_clock(Duration::from_secs(3 * 3600));
    let html = reqwest::get(format!("{base}?{resigned}")).await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"cashier\""), "{html}");
    assert_eq!(w.fake.trade("YY_NO_EXPIRY").unwrap().time_expire, None);
    w.fake.try_pay("YY_NO_EXPIRY", "2088102000000046").await.unwrap();

    // A malformed time_expire is refused outright.
    for (k, v) in form.iter_mut() {
        if k == "biz_content" {
            let mut biz: serde_json::Value = serde_json::from_str(v).unwrap();
            biz["time_expire"] = serde_json::json!("2030-01-01T00:00:00+08:00");
            biz["out_trade_no"] = serde_json::json!("YY_BAD_EXPIRY");
            *v = biz.to_string();
        }
    }
    let resigned = resign(&form, &key("alipay_app_a.pem"));
    let html = reqwest::get(format!("{base}?{resigned}")).await.unwrap().text().await.unwrap();
    assert!(html.contains("ACQ.INVALID_PARAMETER"), "{html}");
    assert!(w.fake.trade("YY_BAD_EXPIRY").is_none());
}

/// The form re-signed (RSA2 over the sorted non-empty parameters but `sign`) and url-encoded.
fn resign(form: &[(String, String)], private_pem: &str) -> String {
    use base64::Engine;
    use rsa::{
        pkcs1v15::SigningKey,
        pkcs8::DecodePrivateKey,
        signature::{SignatureEncoding, Signer},
        RsaPrivateKey,
    };
    let mut kept: Vec<&(String, String)> = form.iter().filter(|(k, v)| k != "sign" && !v.is_empty()).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let content = kept.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let key = SigningKey::<sha2::Sha256>::new(RsaPrivateKey::from_pkcs8_pem(private_pem).unwrap());
    let sign = base64::engine::general_purpose::STANDARD.encode(key.sign(content.as_bytes()).to_bytes());
    let mut out: Vec<(String, String)> = form.iter().filter(|(k, _)| k != "sign").cloned().collect();
    out.push(("sign".into(), sign));
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    out.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

#[tokio::test]
async fn query_answers_can_state_another_currency() {
    let w = world().await;
    w.client.precreate(&w.a, &order("YY_CUR_1", 100, "https://yunyin.test/n")).await.unwrap();
    assert_eq!(w.client.query(&w.a, "YY_CUR_1").await.unwrap().currency, None, "CNY unless stated");
    w.fake.set_query_override(Some(QueryOverride::Currency("USD".into())));
    assert_eq!(w.client.query(&w.a, "YY_CUR_1").await.unwrap().currency.as_deref(), Some("USD"), "still signed");
    assert_eq!(w.fake.calls_about("alipay.trade.query", "YY_CUR_1"), 2);
    assert_eq!(w.fake.calls_about("alipay.trade.precreate", "YY_CUR_1"), 1);
}
