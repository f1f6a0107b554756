//! Job news through WeChat: a template message through the user's official account, or a
//! subscription message (订阅消息) through the mini-program, spending one of the acceptances
//! the user gave it before paying.

use std::time::Duration;

use super::{Attempt, JobNews, Notification, PushService};
use crate::{
    domain::{Fen, WechatAppKind},
    infra::now_ms,
    payments::china_time::ChinaTime,
    services::{
        wechat::{errcode, SubscribeMessage, TemplateMessage, WechatError},
        wechat_js_sdk::{cached_access_token, forget_access_token},
    },
};

/// The mini-program page a subscription message opens.
const DOCUMENTS_PAGE: &str = "pages/documents/documents";

/// A WeChat delivery's payload: the notification, and which app and template carry it.
pub(super) fn payload(note: &Notification, kind: &str, template_id: &str, event: &str) -> String {
    let mut value = serde_json::to_value(note).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.insert("wechat_kind".into(), kind.into());
        fields.insert("template_id".into(), template_id.into());
        fields.insert("event".into(), event.into());
    }
    value.to_string()
}

/// The keywords of a job-outcome subscription message, each within WeChat's rules for its
/// type: `thing1` the document (at most 20 characters), `phrase2` the outcome (at most five
/// Chinese characters), `time3` when, and for a failure `amount4` the refund.
pub fn job_outcome_message(
    openid: &str,
    template_id: &str,
    event: &str,
    job: &JobNews,
    now_ms: i64,
) -> SubscribeMessage {
    let name: String = job.file_name.chars().take(20).collect();
    let t = ChinaTime::from_unix(now_ms / 1000);
    let when = format!("{}年{}月{}日 {:02}:{:02}", t.year, t.month, t.day, t.hour, t.minute);
    let message = SubscribeMessage::new(openid, template_id, DOCUMENTS_PAGE)
        .field("thing1", if name.trim().is_empty() { "文档" } else { &name })
        .field("time3", &when);
    if event == "printed" {
        message.field("phrase2", "打印完成")
    } else {
        // `¥1.50`: a currency sign and digits, as the amount keyword takes them.
        message.field("phrase2", "打印失败").field("amount4", &Fen(job.refund_fen.unwrap_or(0)).to_string())
    }
}

impl PushService {
    /// Sends a WeChat delivery through the app its payload names.
    pub(super) async fn send_wechat(&self, app_id: &str, openid: &str, payload: &str) -> Attempt {
        let note: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
        let kind = note.get("wechat_kind").and_then(|v| v.as_str()).unwrap_or(WechatAppKind::OfficialAccount.as_str());
        if kind == WechatAppKind::MiniProgram.as_str() {
            self.send_subscribe(app_id, openid, &note).await
        } else {
            self.send_template(app_id, openid, &note).await
        }
    }

    /// A template message through the user's official account: `first` the title, `keyword1`
    /// the text, `keyword2` the time, tapping it opens the app's page.
    async fn send_template(&self, app_id: &str, openid: &str, note: &serde_json::Value) -> Attempt {
        let w = &self.wechat;
        let (secret, template) = match w.tenants.official_account_by_app_id(app_id).await {
            Ok(Some(found)) if !found.1.is_empty() => found,
            Ok(_) => return Attempt::Failed("the official account or its template is gone".into()),
            Err(e) => return Attempt::Retry { after: None, why: format!("official account: {e}") },
        };
        let text = |k: &str| note.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let token = match cached_access_token(&w.client, w.cache.as_ref(), app_id, &secret).await {
            Ok(t) => t,
            Err(e) => return Attempt::Retry { after: None, why: format!("access token: {e}") },
        };
        let message = TemplateMessage::new(openid, &template)
            .url(&format!("{}{}", w.public_base_url.trim_end_matches('/'), text("url")))
            .field("first", &text("title"))
            .field("keyword1", &text("body"))
            .field("keyword2", &ChinaTime::from_unix(now_ms() / 1000).alipay());
        match w.client.send_template_message(&token, &message).await {
            Ok(msgid) => {
                tracing::info!(msgid = %msgid, "template message sent");
                Attempt::Delivered
            }
            Err(e) => self.wechat_refused(app_id, &e).await,
        }
    }

    /// A subscription message through the mini-program the user signed in with.
    async fn send_subscribe(&self, app_id: &str, openid: &str, note: &serde_json::Value) -> Attempt {
        let w = &self.wechat;
        let secret = match w.tenants.mini_program_secret(app_id).await {
            Ok(Some(secret)) => secret,
            Ok(None) => return Attempt::Failed("the mini-program is gone".into()),
            Err(e) => return Attempt::Retry { after: None, why: format!("mini-program: {e}") },
        };
        let text = |k: &str| note.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
        let Some(job) = note.get("job").and_then(|j| serde_json::from_value::<JobNews>(j.clone()).ok()) else {
            return Attempt::Failed("not job news".into());
        };
        let token = match cached_access_token(&w.client, w.cache.as_ref(), app_id, &secret).await {
            Ok(t) => t,
            Err(e) => return Attempt::Retry { after: None, why: format!("access token: {e}") },
        };
        let message = job_outcome_message(openid, &text("template_id"), &text("event"), &job, now_ms());
        match w.client.send_subscribe_message(&token, &message).await {
            Ok(()) => {
                tracing::info!(template = %message.template_id, "subscription message sent");
                Attempt::Delivered
            }
            // No acceptance left: the user said no (or used it up); nothing to retry.
            Err(e) if e.errcode() == Some(errcode::NOT_SUBSCRIBED) => Attempt::Gone(format!("not subscribed: {e}")),
            Err(e) => self.wechat_refused(app_id, &e).await,
        }
    }

    async fn wechat_refused(&self, app_id: &str, e: &WechatError) -> Attempt {
        match e.errcode() {
            _ if e.access_token_stale() => {
                forget_access_token(self.wechat.cache.as_ref(), app_id).await;
                Attempt::Retry { after: None, why: format!("access token refused: {e}") }
            }
            Some(errcode::DAILY_QUOTA) => Attempt::Retry { after: Some(Duration::from_secs(3600)), why: e.to_string() },
            Some(code) => Attempt::Failed(format!("wechat {code}: {e}")),
            None => Attempt::Retry { after: None, why: e.to_string() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(m: &SubscribeMessage, k: &str) -> String {
        m.data.get(k).map(|v| v.value.clone()).unwrap_or_default()
    }

    #[test]
    fn a_job_outcome_fits_the_keyword_rules() {
        let long = JobNews {
            file_name: "季度财务报告（定稿）第三版-最终确认版本.docx".into(), refund_fen: Some(150)
        };
        // 2026-12-04 08:30:00 UTC is 16:30 in China.
        let at = 1_796_373_000_000;
        let failed = job_outcome_message("o1", "T1", "failed", &long, at);
        assert_eq!(value(&failed, "thing1").chars().count(), 20);
        assert_eq!(value(&failed, "phrase2"), "打印失败");
        assert_eq!(value(&failed, "time3"), "2026年12月4日 16:30");
        assert_eq!(value(&failed, "amount4"), "¥1.50");
        assert_eq!(failed.page, DOCUMENTS_PAGE);
        let printed =
            job_outcome_message("o1", "T2", "printed", &JobNews { file_name: "a.pdf".into(), refund_fen: None }, at);
        assert_eq!((value(&printed, "phrase2").as_str(), printed.data.contains_key("amount4")), ("打印完成", false));
    }
}
