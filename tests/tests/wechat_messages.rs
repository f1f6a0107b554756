//! The official account's template messages (模板消息) through the backend's WeChat client and
//! the fake WeChat API: a message reaches a follower, and each refusal comes back with the
//! code the caller acts on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use yunyin_e2e::fakes::wechat::{CodeKind, FakeWechat};
use yunyin_server::services::wechat::{errcode, TemplateMessage, WechatClient, WechatError};

const OA_APP: &str = "wx0123456789abcdef";
const OA_SECRET: &str = "0123456789abcdef0123456789abcdef";
const OTHER_APP: &str = "wxfedcba9876543210";
const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";
const TEMPLATE: &str = "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY";

struct World {
    wechat: FakeWechat,
    client: WechatClient,
    token: String,
}

async fn world() -> World {
    let wechat = FakeWechat::start().await;
    wechat.register_app(OA_APP, OA_SECRET);
    wechat.register_app(OTHER_APP, OTHER_SECRET);
    wechat.add_template(OA_APP, TEMPLATE);
    wechat.follow(OA_APP, "o-alice");
    let client = WechatClient::new(&wechat.base_url());
    let token = client.access_token(OA_APP, OA_SECRET).await.unwrap().value;
    World { wechat, client, token }
}

fn alert(to: &str) -> TemplateMessage {
    TemplateMessage::new(to, TEMPLATE)
        .url("https://print.example.cn/m/alerts/7")
        .field("first", "打印点告警")
        .field("keyword1", "卡纸")
}

/// The code WeChat refused with.
async fn refused(w: &World, token: &str, message: &TemplateMessage) -> i64 {
    let e = w.client.send_template_message(token, message).await.expect_err("refused");
    assert!(matches!(e, WechatError::Other { .. }), "{e:?}");
    e.errcode().unwrap()
}

#[tokio::test]
async fn a_follower_gets_the_message() {
    let w = world().await;
    let msgid = w.client.send_template_message(&w.token, &alert("o-alice")).await.unwrap();
    assert!(msgid.parse::<u64>().is_ok(), "{msgid}");
    let sent = w.wechat.template_messages();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!((m.app_id.as_str(), m.touser.as_str(), m.template_id.as_str()), (OA_APP, "o-alice", TEMPLATE));
    assert_eq!(m.url.as_deref(), Some("https://print.example.cn/m/alerts/7"));
    assert_eq!((m.data["first"].as_str(), m.data["keyword1"].as_str()), ("打印点告警", "卡纸"));
    assert_eq!(m.msgid.to_string(), msgid);
}

#[tokio::test]
async fn a_bad_or_expired_access_token_asks_for_a_fresh_one() {
    let w = world().await;
    let e = w.client.send_template_message("ACCESS_0123456789abcdef", &alert("o-alice")).await.unwrap_err();
    assert_eq!((e.errcode(), e.access_token_stale()), (Some(errcode::ACCESS_TOKEN_INVALID), true));
    w.wechat.expire_access_tokens();
    let e = w.client.send_template_message(&w.token, &alert("o-alice")).await.unwrap_err();
    assert_eq!((e.errcode(), e.access_token_stale()), (Some(errcode::ACCESS_TOKEN_EXPIRED), true));
    let fresh = w.client.access_token(OA_APP, OA_SECRET).await.unwrap().value;
    assert!(w.client.send_template_message(&fresh, &alert("o-alice")).await.is_ok(), "a fresh token works");
    assert_eq!(w.wechat.template_messages().len(), 1);
}

#[tokio::test]
async fn openids_templates_and_followers_are_checked() {
    let w = world().await;
    assert_eq!(refused(&w, &w.token, &alert("o-nobody")).await, errcode::INVALID_OPENID);
    let other_token = w.client.access_token(OTHER_APP, OTHER_SECRET).await.unwrap().value;
    assert_eq!(refused(&w, &other_token, &alert("o-alice")).await, errcode::INVALID_OPENID, "another app's user");
    let unknown_template = TemplateMessage { template_id: "no-such-template".into(), ..alert("o-alice") };
    assert_eq!(refused(&w, &w.token, &unknown_template).await, errcode::INVALID_TEMPLATE_ID);
    let no_template = TemplateMessage { template_id: String::new(), ..alert("o-alice") };
    assert_eq!(refused(&w, &w.token, &no_template).await, errcode::INVALID_TEMPLATE_ID);

    // Bob signed in through the official account but never followed it.
    w.wechat.issue_code(OA_APP, CodeKind::OfficialAccount, "o-bob", None);
    assert_eq!(refused(&w, &w.token, &alert("o-bob")).await, errcode::NOT_FOLLOWING);
    w.wechat.unfollow(OA_APP, "o-alice");
    assert_eq!(refused(&w, &w.token, &alert("o-alice")).await, errcode::NOT_FOLLOWING);
    w.wechat.follow(OA_APP, "o-alice");
    assert!(w.client.send_template_message(&w.token, &alert("o-alice")).await.is_ok());
    assert_eq!(w.wechat.template_messages().len(), 1, "only the last was taken");
}

#[tokio::test]
async fn malformed_data_is_refused() {
    let w = world().await;
    let url = format!("{}/cgi-bin/message/template/send?access_token={}", w.wechat.base_url(), w.token);
    let http = reqwest::Client::new();
    let bodies = [
        json!({ "touser": "o-alice", "template_id": TEMPLATE, "data": { "first": "not an object" } }).to_string(),
        json!({ "touser": "o-alice", "template_id": TEMPLATE, "data": { "first": { "value": 7 } } }).to_string(),
        json!({ "touser": "o-alice", "template_id": TEMPLATE, "data": [] }).to_string(),
        json!({ "touser": "o-alice", "template_id": TEMPLATE, "url": 7, "data": {} }).to_string(),
        "{not json".to_string(),
    ];
    for body in bodies {
        let reply: serde_json::Value = http.post(&url).body(body.clone()).send().await.unwrap().json().await.unwrap();
        assert_eq!(reply["errcode"], errcode::DATA_FORMAT, "{body}");
    }
    let fine = json!({ "touser": "o-alice", "template_id": TEMPLATE, "data": { "first": { "value": "x" } } });
    let reply: serde_json::Value = http.post(&url).json(&fine).send().await.unwrap().json().await.unwrap();
    assert_eq!((reply["errcode"].as_i64(), reply["errmsg"].as_str()), (Some(0), Some("ok")), "{reply}");
    assert!(reply["msgid"].is_u64());
}

#[tokio::test]
async fn the_daily_quota_ends_and_a_busy_wechat_is_transient() {
    let w = world().await;
    w.wechat.set_template_quota(2);
    for _ in 0..2 {
        w.client.send_template_message(&w.token, &alert("o-alice")).await.unwrap();
    }
    assert_eq!(refused(&w, &w.token, &alert("o-alice")).await, errcode::DAILY_QUOTA);
    w.wechat.set_busy(true);
    let e = w.client.send_template_message(&w.token, &alert("o-alice")).await.unwrap_err();
    assert!(matches!(e, WechatError::Unavailable(_)) && e.errcode().is_none(), "{e:?}");
    assert_eq!(w.wechat.template_messages().len(), 2);
}
