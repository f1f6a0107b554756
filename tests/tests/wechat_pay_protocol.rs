//! The WeChat Pay API v3 client against the fake WeChat Pay: prepay of every kind, query,
//! close, refunds, error codes, answer signatures, and notifications in every delivery mode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use poem::{
    handler,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
    EndpointExt, Request, Server,
};
use rsa::{
    pkcs1v15::{Signature, VerifyingKey},
    pkcs8::DecodePublicKey,
    signature::Verifier,
    RsaPublicKey,
};
use sha2::Sha256;
use yunyin_e2e::fakes::wechat_pay::{FakeWechatPay, NotifyMode, QueryOverride};
use yunyin_server::payments::wechat_pay::*;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/keys/");
const MCH_A: &str = "1900000109";
const APP_A: &str = "wx1234567890abcdef";
const APP_MOBILE: &str = "wx0fedcba098765432";
const SERIAL_A: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const API_V3_KEY_A: &str = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6";

fn key(name: &str) -> String {
    std::fs::read_to_string(format!("{KEYS}{name}")).unwrap()
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A notification as received by the merchant's endpoint.
#[derive(Clone)]
struct Received {
    headers: NotificationHeaders,
    body: String,
}

type Inbox = Arc<Mutex<Vec<Received>>>;

#[handler]
async fn collect(req: &Request, body: String, Data(inbox): Data<&Inbox>) -> poem::http::StatusCode {
    let h = |n: &str| req.header(n).unwrap_or_default().to_string();
    inbox.lock().unwrap().push(Received {
        headers: NotificationHeaders {
            timestamp: h("Wechatpay-Timestamp"),
            nonce: h("Wechatpay-Nonce"),
            signature: h("Wechatpay-Signature"),
            serial: h("Wechatpay-Serial"),
        },
        body,
    });
    poem::http::StatusCode::NO_CONTENT
}

/// The fake, merchant A registered, a client, and a notification endpoint.
struct World {
    fake: FakeWechatPay,
    client: WechatPayClient,
    merchant: WechatPayMerchant,
    inbox: Inbox,
    notify_addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl World {
    async fn new() -> Self {
        let fake = FakeWechatPay::start().await;
        fake.register_merchant(MCH_A, &[APP_A, APP_MOBILE], &key("wechat_merchant_a.pub.pem"), SERIAL_A, API_V3_KEY_A);
        let merchant = WechatPayMerchant {
            app_id: APP_A.into(),
            mch_id: MCH_A.into(),
            api_v3_key: API_V3_KEY_A.into(),
            private_key_pem: key("wechat_merchant_a.pem"),
            certificate_serial: SERIAL_A.into(),
            platform_public_key_pem: fake.platform_public_key_pem(),
            platform_key_id: fake.platform_key_id(),
        };
        merchant.validate().unwrap();
        let client = WechatPayClient::new(&fake.base_url(), reqwest::Client::new());

        let inbox: Inbox = Arc::default();
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let notify_addr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
        let app = collect.data(inbox.clone());
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
        Self { fake, client, merchant, inbox, notify_addr, _stop: stop }
    }

    fn notify_url(&self) -> String {
        format!("http://{}/pay/wechat/notify", self.notify_addr)
    }

    fn order(&self, kind: TradeKind, no: &str, fen: i64) -> PrepayRequest {
        PrepayRequest {
            kind,
            out_trade_no: no.into(),
            description: "云印 打印订单".into(),
            amount_fen: fen,
            notify_url: self.notify_url(),
            time_expire_unix: now() + 15 * 60,
        }
    }

    async fn native_order(&self, no: &str, fen: i64) {
        self.client.prepay(&self.merchant, &self.order(TradeKind::Native, no, fen)).await.unwrap();
    }

    fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            if self.received().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.received()
    }

    fn decode(&self, r: &Received) -> Result<(String, Notification), WechatPayError> {
        decode_notification(&self.merchant, &r.headers, &r.body, now())
    }
}

fn refused(r: Result<impl std::fmt::Debug, WechatPayError>) -> (u16, String) {
    match r {
        Err(WechatPayError::Refused { status, code, .. }) => (status, code),
        other => panic!("expected Refused, got {other:?}"),
    }
}

fn verifies(pub_pem: &str, message: &str, sig_b64: &str) -> bool {
    let key = VerifyingKey::<Sha256>::new(RsaPublicKey::from_public_key_pem(pub_pem).unwrap());
    let sig = Signature::try_from(B64.decode(sig_b64).unwrap().as_slice()).unwrap();
    key.verify(message.as_bytes(), &sig).is_ok()
}

#[tokio::test]
async fn prepay_of_every_kind() {
    let w = World::new().await;
    let pub_a = key("wechat_merchant_a.pub.pem");

    let jsapi = w.order(TradeKind::Jsapi { openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into() }, "YY_JSAPI_0001", 150);
    let Prepay::Jsapi(p) = w.client.prepay(&w.merchant, &jsapi).await.unwrap() else { panic!("not jsapi") };
    assert_eq!(p.app_id, APP_A);
    assert_eq!(p.sign_type, "RSA");
    let prepay_id = p.package.strip_prefix("prepay_id=").unwrap();
    assert_eq!(prepay_id, w.fake.order("YY_JSAPI_0001").unwrap().prepay_id);
    let message = format!("{}\n{}\n{}\n{}\n", p.app_id, p.time_stamp, p.nonce_str, p.package);
    assert!(verifies(&pub_a, &message, &p.pay_sign), "paySign is the merchant's signature");
    assert!(!verifies(&key("wechat_merchant_b.pub.pem"), &message, &p.pay_sign));
    let js = serde_json::to_value(&p).unwrap();
    assert_eq!(js["package"], p.package.as_str());
    assert!(js.get("paySign").is_some() && js.get("timeStamp").is_some());

    // The same request again is the same order (same prepay_id).
    let Prepay::Jsapi(again) = w.client.prepay(&w.merchant, &jsapi).await.unwrap() else { panic!() };
    assert_eq!(again.package, p.package);

    let native = w.order(TradeKind::Native, "YY_NATIVE_0001", 200);
    let Prepay::Native { code_url } = w.client.prepay(&w.merchant, &native).await.unwrap() else { panic!() };
    assert!(code_url.starts_with("weixin://wxpay/bizpayurl?pr="), "{code_url}");

    let h5 = w.order(TradeKind::H5 { client_ip: "203.0.113.7".into() }, "YY_H5_0001", 300);
    let Prepay::H5 { h5_url } = w.client.prepay(&w.merchant, &h5).await.unwrap() else { panic!() };
    assert!(h5_url.starts_with("https://wx.tenpay.com/"), "{h5_url}");
    assert_eq!(w.fake.order("YY_H5_0001").unwrap().payer_client_ip.as_deref(), Some("203.0.113.7"));

    let mobile = WechatPayMerchant { app_id: APP_MOBILE.into(), ..w.merchant.clone() };
    let app = w.order(TradeKind::App, "YY_APP_0001", 400);
    let Prepay::App(a) = w.client.prepay(&mobile, &app).await.unwrap() else { panic!() };
    assert_eq!((a.appid.as_str(), a.partnerid.as_str(), a.package.as_str()), (APP_MOBILE, MCH_A, "Sign=WXPay"));
    let message = format!("{}\n{}\n{}\n{}\n", a.appid, a.timestamp, a.noncestr, a.prepayid);
    assert!(verifies(&pub_a, &message, &a.sign));

    for (no, kind, fen, app_id) in [
        ("YY_JSAPI_0001", "jsapi", 150, APP_A),
        ("YY_NATIVE_0001", "native", 200, APP_A),
        ("YY_H5_0001", "h5", 300, APP_A),
        ("YY_APP_0001", "app", 400, APP_MOBILE),
    ] {
        let o = w.fake.order(no).unwrap();
        assert_eq!((o.kind.as_str(), o.amount_fen, o.app_id.as_str(), o.mch_id.as_str()), (kind, fen, app_id, MCH_A));
        assert_eq!(o.state, "NOTPAY");
        assert_eq!(o.notify_url, w.notify_url());
    }
}

#[tokio::test]
async fn query_pay_query_and_the_notification() {
    let w = World::new().await;
    let jsapi = w.order(TradeKind::Jsapi { openid: "oPAYER".into() }, "YY_PAY_0001", 250);
    w.client.prepay(&w.merchant, &jsapi).await.unwrap();

    let t = w.client.query(&w.merchant, "YY_PAY_0001").await.unwrap();
    assert_eq!(t.trade_state, TradeState::NotPay);
    assert_eq!((t.total_fen, t.currency.as_str(), t.mch_id.as_str(), t.app_id.as_str()), (250, "CNY", MCH_A, APP_A));
    assert_eq!(t.transaction_id, None);

    w.fake.pay("YY_PAY_0001", "oPAYER").await;
    let t = w.client.query(&w.merchant, "YY_PAY_0001").await.unwrap();
    assert_eq!(t.trade_state, TradeState::Success);
    assert_eq!(t.payer_openid.as_deref(), Some("oPAYER"));
    assert!(t.transaction_id.is_some() && t.success_time.is_some());

    let got = w.received();
    assert_eq!(got.len(), 1);
    let (id, n) = w.decode(&got[0]).unwrap();
    assert_eq!(w.fake.deliveries(), vec![(id, 204)]);
    let Notification::Transaction(nt) = n else { panic!("not a transaction") };
    assert_eq!(nt, t, "the notification says what the query says");

    let (status, code) = refused(w.client.query(&w.merchant, "YY_UNKNOWN_01").await);
    assert_eq!((status, code.as_str()), (404, "ORDER_NOT_EXIST"));
}

#[tokio::test]
async fn close_unpaid_and_paid_orders() {
    let w = World::new().await;
    w.native_order("YY_CLOSE_0001", 100).await;
    w.client.close(&w.merchant, "YY_CLOSE_0001").await.unwrap();
    assert_eq!(w.client.query(&w.merchant, "YY_CLOSE_0001").await.unwrap().trade_state, TradeState::Closed);
    // A closed order cannot be placed again.
    let (_, code) = refused(w.client.prepay(&w.merchant, &w.order(TradeKind::Native, "YY_CLOSE_0001", 100)).await);
    assert_eq!(code, "ORDER_CLOSED");

    w.native_order("YY_CLOSE_0002", 100).await;
    w.fake.pay("YY_CLOSE_0002", "oPAYER").await;
    let (status, code) = refused(w.client.close(&w.merchant, "YY_CLOSE_0002").await);
    assert_eq!((status, code.as_str()), (400, "ORDERPAID"));
    assert_eq!(w.fake.order("YY_CLOSE_0002").unwrap().state, "SUCCESS");

    let (status, code) = refused(w.client.close(&w.merchant, "YY_CLOSE_NONE").await);
    assert_eq!((status, code.as_str()), (404, "ORDER_NOT_EXIST"));
}

#[tokio::test]
async fn error_codes() {
    let w = World::new().await;

    // An AppID not bound to the merchant.
    let stranger = WechatPayMerchant { app_id: "wx9999999999999999".into(), ..w.merchant.clone() };
    let (status, code) = refused(w.client.prepay(&stranger, &w.order(TradeKind::Native, "YY_ERR_0001", 100)).await);
    assert_eq!((status, code.as_str()), (400, "APPID_MCHID_NOT_MATCH"));
    assert!(w.fake.order("YY_ERR_0001").is_none());

    // Signed with merchant B's key on behalf of merchant A.
    let impostor = WechatPayMerchant { private_key_pem: key("wechat_merchant_b.pem"), ..w.merchant.clone() };
    let (status, code) = refused(w.client.prepay(&impostor, &w.order(TradeKind::Native, "YY_ERR_0002", 100)).await);
    assert_eq!((status, code.as_str()), (401, "SIGN_ERROR"));
    let (status, code) = refused(w.client.query(&impostor, "YY_ERR_0002").await);
    assert_eq!((status, code.as_str()), (401, "SIGN_ERROR"));

    // The right key with a wrong certificate serial, and an unknown merchant number.
    let wrong_serial = WechatPayMerchant { certificate_serial: "0000000000".into(), ..w.merchant.clone() };
    assert_eq!(refused(w.client.query(&wrong_serial, "YY_ERR_0002").await).1, "SIGN_ERROR");
    let unknown = WechatPayMerchant { mch_id: "1900000999".into(), ..w.merchant.clone() };
    assert_eq!(refused(w.client.query(&unknown, "YY_ERR_0002").await).1, "SIGN_ERROR");

    // The same out_trade_no with other content.
    w.native_order("YY_ERR_0003", 100).await;
    let (status, code) = refused(w.client.prepay(&w.merchant, &w.order(TradeKind::Native, "YY_ERR_0003", 101)).await);
    assert_eq!((status, code.as_str()), (400, "INVALID_REQUEST"));
    assert_eq!(w.fake.order("YY_ERR_0003").unwrap().amount_fen, 100);

    // Order numbers outside WeChat Pay's alphabet never leave the client.
    assert!(matches!(w.client.query(&w.merchant, "a/b?c").await, Err(WechatPayError::Format(_))));
}

#[tokio::test]
async fn refund_and_query_refund() {
    let w = World::new().await;
    w.native_order("YY_REF_0001", 100).await;

    let req = |no: &str, fen: i64| RefundRequest {
        out_trade_no: "YY_REF_0001".into(),
        out_refund_no: no.into(),
        reason: Some("打印失败".into()),
        refund_fen: fen,
        total_fen: 100,
        notify_url: Some(w.notify_url()),
    };
    // Not paid yet.
    assert_eq!(refused(w.client.refund(&w.merchant, &req("YY_R_0001", 40)).await).1, "INVALID_REQUEST");

    w.fake.pay("YY_REF_0001", "oPAYER").await;
    let r = w.client.refund(&w.merchant, &req("YY_R_0001", 40)).await.unwrap();
    assert_eq!((r.status, r.refund_fen, r.total_fen), (RefundStatus::Success, 40, 100));
    assert_eq!((r.out_refund_no.as_str(), r.out_trade_no.as_str()), ("YY_R_0001", "YY_REF_0001"));
    assert_eq!(w.client.query_refund(&w.merchant, "YY_R_0001").await.unwrap(), r);
    // Asking again with the same refund number is the same refund.
    assert_eq!(w.client.refund(&w.merchant, &req("YY_R_0001", 40)).await.unwrap(), r);
    assert_eq!(w.client.query(&w.merchant, "YY_REF_0001").await.unwrap().trade_state, TradeState::Refund);

    // More than what is left (60), or another amount under the same refund number.
    let (status, code) = refused(w.client.refund(&w.merchant, &req("YY_R_0002", 61)).await);
    assert_eq!((status, code.as_str()), (400, "INVALID_REQUEST"));
    assert_eq!(refused(w.client.refund(&w.merchant, &req("YY_R_0001", 41)).await).1, "INVALID_REQUEST");
    // The merchant's balance runs short.
    w.fake.set_balance(MCH_A, Some(10));
    let (status, code) = refused(w.client.refund(&w.merchant, &req("YY_R_0003", 20)).await);
    assert_eq!((status, code.as_str()), (403, "NOT_ENOUGH"));
    w.fake.set_balance(MCH_A, None);
    let rest = w.client.refund(&w.merchant, &req("YY_R_0004", 60)).await.unwrap();
    assert_eq!(rest.status, RefundStatus::Success);

    let (status, code) = refused(w.client.query_refund(&w.merchant, "YY_R_NONE").await);
    assert_eq!((status, code.as_str()), (404, "RESOURCE_NOT_EXISTS"));
    let missing = RefundRequest { out_trade_no: "YY_REF_NONE".into(), ..req("YY_R_0005", 1) };
    assert_eq!(refused(w.client.refund(&w.merchant, &missing).await).1, "RESOURCE_NOT_EXISTS");

    let refunds = w.fake.refunds();
    assert_eq!(refunds.iter().map(|r| r.refund_fen).collect::<Vec<_>>(), vec![40, 60]);

    // The payment notification plus one REFUND.SUCCESS per refund.
    let got = w.wait_for(3).await;
    assert_eq!(got.len(), 3);
    let refund_notes: Vec<Refund> = got
        .iter()
        .filter_map(|r| match w.decode(r).unwrap().1 {
            Notification::Refund(r) => Some(r),
            Notification::Transaction(_) => None,
        })
        .collect();
    assert_eq!(refund_notes.len(), 2);
    assert!(refund_notes.contains(&r) && refund_notes.contains(&rest));
}

#[tokio::test]
async fn answers_are_verified() {
    let w = World::new().await;
    w.native_order("YY_SIG_0001", 100).await;

    let wrong_key = WechatPayMerchant { platform_public_key_pem: key("wechat_forger.pub.pem"), ..w.merchant.clone() };
    assert!(matches!(w.client.query(&wrong_key, "YY_SIG_0001").await, Err(WechatPayError::BadSignature)));
    assert!(matches!(
        w.client.prepay(&wrong_key, &w.order(TradeKind::Native, "YY_SIG_0002", 100)).await,
        Err(WechatPayError::BadSignature)
    ));
    let wrong_id = WechatPayMerchant { platform_key_id: "PUB_KEY_ID_OTHER".into(), ..w.merchant.clone() };
    assert!(matches!(w.client.query(&wrong_id, "YY_SIG_0001").await, Err(WechatPayError::BadSignature)));
    // Error answers are signed too, and checked.
    assert!(matches!(w.client.query(&wrong_key, "YY_SIG_NONE").await, Err(WechatPayError::BadSignature)));

    // Nobody listening.
    let dead = WechatPayClient::new("http://127.0.0.1:9", reqwest::Client::new());
    assert!(matches!(dead.query(&w.merchant, "YY_SIG_0001").await, Err(WechatPayError::Unreachable(_))));
}

#[tokio::test]
async fn notification_modes() {
    let w = World::new().await;
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("YY_NOTE_{n:04}")
    };

    // Deliver: accepted.
    let no = next();
    w.native_order(&no, 100).await;
    w.fake.pay(&no, "oPAYER").await;
    let got = w.received();
    assert_eq!(got.len(), 1);
    let Notification::Transaction(t) = w.decode(&got[0]).unwrap().1 else { panic!() };
    assert_eq!((t.out_trade_no.as_str(), t.total_fen, t.trade_state), (no.as_str(), 100, TradeState::Success));

    // ForgeSignature: refused.
    w.fake.set_notify_mode(NotifyMode::ForgeSignature);
    let no = next();
    w.native_order(&no, 100).await;
    w.fake.pay(&no, "oPAYER").await;
    let got = w.received();
    assert_eq!(got.len(), 2);
    assert!(matches!(w.decode(&got[1]), Err(WechatPayError::BadSignature)));

    // TamperAmount: validly signed, so it decodes; the amount is what the services must check.
    w.fake.set_notify_mode(NotifyMode::TamperAmount(-99));
    let no = next();
    w.native_order(&no, 100).await;
    w.fake.pay(&no, "oPAYER").await;
    let got = w.received();
    let Notification::Transaction(t) = w.decode(&got[2]).unwrap().1 else { panic!() };
    assert_eq!(t.total_fen, 1);

    // WrongMchId: likewise.
    w.fake.set_notify_mode(NotifyMode::WrongMchId("1230000109".into()));
    let no = next();
    w.native_order(&no, 100).await;
    w.fake.pay(&no, "oPAYER").await;
    let got = w.received();
    let Notification::Transaction(t) = w.decode(&got[3]).unwrap().1 else { panic!() };
    assert_eq!((t.mch_id.as_str(), t.total_fen), ("1230000109", 100));

    // Duplicate(5): five identical copies.
    w.fake.set_notify_mode(NotifyMode::Duplicate(5));
    let no = next();
    w.native_order(&no, 100).await;
    w.fake.pay(&no, "oPAYER").await;
    let got = w.received();
    assert_eq!(got.len(), 9);
    let ids: Vec<String> = got[4..].iter().map(|r| w.decode(r).unwrap().0).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert_eq!(w.fake.deliveries().iter().filter(|(id, status)| *id == ids[0] && *status == 204).count(), 5);

    // Drop: nothing arrives, the order is paid all the same.
    w.fake.set_notify_mode(NotifyMode::Drop);
    let no = next();
    w.native_order(&no, 100).await;
    w.fake.pay(&no, "oPAYER").await;
    assert_eq!(w.received().len(), 9);
    assert_eq!(w.client.query(&w.merchant, &no).await.unwrap().trade_state, TradeState::Success);

    // Delay: arrives late, still valid.
    w.fake.set_notify_mode(NotifyMode::Delay(Duration::from_millis(200)));
    let no = next();
    w.native_order(&no, 100).await;
    let started = std::time::Instant::now();
    w.fake.pay(&no, "oPAYER").await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    let got = w.received();
    assert_eq!(got.len(), 10);
    assert!(w.decode(&got[9]).is_ok());

    // Replayed much later: too old.
    let late = decode_notification(&w.merchant, &got[0].headers, &got[0].body, now() + 3600);
    assert!(matches!(late, Err(WechatPayError::BadSignature)));
    // Another merchant's APIv3 key cannot read it.
    let other = WechatPayMerchant { api_v3_key: "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ".into(), ..w.merchant.clone() };
    assert!(matches!(decode_notification(&other, &got[0].headers, &got[0].body, now()), Err(WechatPayError::Decrypt)));
}

#[tokio::test]
async fn time_expire_is_sent_kept_and_enforced() {
    let w = World::new().await;
    let deadline = now() + 120;
    let req = PrepayRequest { time_expire_unix: deadline, ..w.order(TradeKind::Native, "YY_EXPIRE_0001", 100) };
    w.client.prepay(&w.merchant, &req).await.unwrap();
    let o = w.fake.order("YY_EXPIRE_0001").unwrap();
    let sent = o.time_expire.clone().expect("time_expire sent");
    assert!(sent.ends_with("+08:00") && sent.len() == 25 && &sent[10..11] == "T", "RFC 3339 in China time: {sent}");
    assert_eq!(o.time_expire_unix(), Some(deadline));
    assert_eq!(rfc3339_china(deadline), sent);

    // Within the window it can be paid; past it, the payer is refused and nothing is notified.
    let late = PrepayRequest { time_expire_unix: now() + 60, ..w.order(TradeKind::Native, "YY_EXPIRE_0002", 100) };
    w.client.prepay(&w.merchant, &late).await.unwrap();
    w.fake.advance_clock(Duration::from_secs(90));
    assert_eq!(w.fake.try_pay("YY_EXPIRE_0002", "oPAYER").await, Err("ORDER_EXPIRED".to_string()));
    assert_eq!(w.client.query(&w.merchant, "YY_EXPIRE_0002").await.unwrap().trade_state, TradeState::NotPay);
    w.client.close(&w.merchant, "YY_EXPIRE_0002").await.unwrap();
    assert_eq!(w.client.query(&w.merchant, "YY_EXPIRE_0002").await.unwrap().trade_state, TradeState::Closed);
    w.fake.pay("YY_EXPIRE_0001", "oPAYER").await;
    assert_eq!(w.wait_for(1).await.len(), 1, "only the paid order was notified");

    // A deadline already past is refused at prepay.
    let past = PrepayRequest { time_expire_unix: now() - 1, ..w.order(TradeKind::Native, "YY_EXPIRE_0003", 100) };
    assert_eq!(refused(w.client.prepay(&w.merchant, &past).await), (400, "PARAM_ERROR".to_string()));
    assert!(w.fake.order("YY_EXPIRE_0003").is_none());
}

#[tokio::test]
async fn calls_are_logged_and_query_answers_can_be_altered() {
    let w = World::new().await;
    w.native_order("YY_ALTER_0001", 100).await;
    w.fake.set_query_override(Some(QueryOverride::AppId(APP_MOBILE.into())));
    assert_eq!(w.client.query(&w.merchant, "YY_ALTER_0001").await.unwrap().app_id, APP_MOBILE, "still validly signed");
    w.fake.set_query_override(Some(QueryOverride::Currency("USD".into())));
    assert_eq!(w.client.query(&w.merchant, "YY_ALTER_0001").await.unwrap().currency, "USD");
    w.fake.set_query_override(None);
    assert_eq!(w.client.query(&w.merchant, "YY_ALTER_0001").await.unwrap().currency, "CNY");
    assert_eq!(w.fake.calls_about("prepay", "YY_ALTER_0001"), 1);
    assert_eq!(w.fake.calls_about("query", "YY_ALTER_0001"), 3);

    // Slowed down, concurrent calls overlap at the fake, and it counts them.
    w.fake.set_latency(Duration::from_millis(100));
    let queries = (0..4).map(|_| w.client.query(&w.merchant, "YY_ALTER_0001"));
    for answer in futures_util::future::join_all(queries).await {
        answer.unwrap();
    }
    assert_eq!(w.fake.peak_in_flight("query"), 4);
}
