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

/// Mini-program subscription messages (订阅消息): one message per acceptance, every keyword
/// filled within its type's rules (the job-outcome message the server builds fits them), and
/// each refusal with the code the push worker acts on.
#[tokio::test]
async fn a_subscription_message_spends_one_acceptance_and_keeps_to_the_keyword_rules() {
    use yunyin_server::services::push::{job_outcome_message, JobNews};
    const MP_APP: &str = "wx5a6b7c8d9e0f1a2b";
    const MP_SECRET: &str = "fedcba9876543210fedcba9876543210";
    const FAILED: &str = "tpl-failed-0002";
    let w = world().await;
    w.wechat.register_app(MP_APP, MP_SECRET);
    w.wechat.add_subscribe_template(MP_APP, FAILED, &["thing1", "phrase2", "time3", "amount4"]);
    w.wechat.set_mini_program_pages(MP_APP, &["pages/index/index".into(), "pages/documents/documents".into()]);
    // The user is known to the mini-program (they signed in once).
    w.wechat.issue_code(MP_APP, CodeKind::MiniProgram, "o-mp-bob", None);
    let token = w.client.access_token(MP_APP, MP_SECRET).await.unwrap().value;
    let news = JobNews {
        file_name: "一份名字很长很长的季度财务报告最终定稿版本.pdf".into(), refund_fen: Some(230)
    };
    let message = job_outcome_message("o-mp-bob", FAILED, "failed", &news, 1_796_373_000_000);
    let code_of = |e: WechatError| e.errcode().unwrap();

    // Not accepted yet: 43101.
    assert_eq!(code_of(w.client.send_subscribe_message(&token, &message).await.unwrap_err()), errcode::NOT_SUBSCRIBED);
    w.wechat.accept_subscriptions(MP_APP, "o-mp-bob", &[FAILED.to_string()]).unwrap();
    w.client.send_subscribe_message(&token, &message).await.expect("one acceptance, one message");
    let sent = w.wechat.subscribe_messages();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].data["phrase2"].as_str(), sent[0].data["amount4"].as_str()), ("打印失败", "¥2.30"));
    assert_eq!(sent[0].data["thing1"].chars().count(), 20, "the name is cut to the thing keyword's 20 characters");
    // Spent: the next one is refused again.
    assert_eq!(code_of(w.client.send_subscribe_message(&token, &message).await.unwrap_err()), errcode::NOT_SUBSCRIBED);

    // Each other refusal, with an acceptance in hand.
    w.wechat.accept_subscriptions(MP_APP, "o-mp-bob", &[FAILED.to_string()]).unwrap();
    let mut wrong = message.clone();
    wrong.data.remove("amount4");
    assert_eq!(code_of(w.client.send_subscribe_message(&token, &wrong).await.unwrap_err()), errcode::ARGUMENT_INVALID);
    let wrong = message.clone().field("phrase2", "printed");
    assert_eq!(code_of(w.client.send_subscribe_message(&token, &wrong).await.unwrap_err()), errcode::ARGUMENT_INVALID);
    let mut wrong = message.clone();
    wrong.page = "pages/nowhere/nowhere".into();
    assert_eq!(code_of(w.client.send_subscribe_message(&token, &wrong).await.unwrap_err()), 41030);
    let mut wrong = message.clone();
    wrong.template_id = "tpl-unknown".into();
    assert_eq!(
        code_of(w.client.send_subscribe_message(&token, &wrong).await.unwrap_err()),
        errcode::INVALID_TEMPLATE_ID
    );
    let mut wrong = message.clone();
    wrong.touser = "o-stranger".into();
    assert_eq!(code_of(w.client.send_subscribe_message(&token, &wrong).await.unwrap_err()), errcode::INVALID_OPENID);
    // The official account's token is not the mini-program's: the template is not its.
    let oa = w.client.send_subscribe_message(&w.token, &message).await.unwrap_err();
    assert_eq!(code_of(oa), errcode::INVALID_OPENID);
    // And the acceptance is still there for a good message.
    w.client.send_subscribe_message(&token, &message).await.expect("the acceptance was not spent by refusals");
}
