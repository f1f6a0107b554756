//! Mini-program subscription messages (订阅消息, `cgi-bin/message/subscribe/send`) as WeChat
//! takes them: a token this fake issued (40001 / 42001), an openid of a user of that app
//! (40003), a template in the app's list (40037), a page of the released mini-program when
//! one is given and the pages are known (41030), every keyword of the template present with a
//! value that fits its type's rules (47003, naming the field: `thing` ≤ 20 characters, `phrase`
//! ≤ 5 Chinese characters, `time` like `15:01` or `2019年10月1日 15:01`, `amount` a currency
//! sign and up to 10 digits with decimals and an optional 元, …), and one acceptance left by
//! the user for that template (43101), which the message spends.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use poem::{
    handler,
    web::{Data, Json, Query},
};
use serde_json::{json, Value};

use super::{error, template_data, token_app, FakeWechat, State, TokenOnly};

/// The subscription side of the fake's state.
#[derive(Default)]
pub(super) struct Subscriptions {
    /// (app, template id) → the template's keywords, e.g. `thing1`, `phrase2`.
    templates: HashMap<(String, String), Vec<String>>,
    /// (app, openid, template id) → acceptances not yet spent.
    accepted: HashMap<(String, String, String), u32>,
    /// The released mini-program's pages, when known.
    pages: HashMap<String, Vec<String>>,
    sent: Vec<SubscribeMessageSent>,
}

/// A subscription message the fake took.
#[derive(Debug, Clone)]
pub struct SubscribeMessageSent {
    pub app_id: String,
    pub touser: String,
    pub template_id: String,
    pub page: Option<String>,
    /// Keyword → value.
    pub data: HashMap<String, String>,
    pub lang: Option<String>,
}

impl FakeWechat {
    /// Adds a subscription template with its keywords to the mini-program's list.
    pub fn add_subscribe_template(&self, app_id: &str, template_id: &str, keywords: &[&str]) {
        let keywords = keywords.iter().map(|k| k.to_string()).collect();
        self.lock().subscriptions.templates.insert((app_id.into(), template_id.into()), keywords);
    }

    /// The pages of the released mini-program (from its app.json): a message's page must be one.
    pub fn set_mini_program_pages(&self, app_id: &str, pages: &[String]) {
        self.lock().subscriptions.pages.insert(app_id.into(), pages.to_vec());
    }

    /// The user tapped "allow" for these templates in `wx.requestSubscribeMessage`: one
    /// message each may now be sent to them. Unknown templates answer an error, as the
    /// mini-program's call would fail.
    pub fn accept_subscriptions(&self, app_id: &str, openid: &str, template_ids: &[String]) -> Result<(), String> {
        let mut s = self.lock();
        for t in template_ids {
            if !s.subscriptions.templates.contains_key(&(app_id.to_string(), t.clone())) {
                return Err(format!("requestSubscribeMessage:fail invalid template id {t}"));
            }
        }
        for t in template_ids {
            *s.subscriptions.accepted.entry((app_id.into(), openid.into(), t.clone())).or_default() += 1;
        }
        Ok(())
    }

    /// The subscription messages taken, in order.
    pub fn subscribe_messages(&self) -> Vec<SubscribeMessageSent> {
        self.lock().subscriptions.sent.clone()
    }
}

/// Why `value` does not fit the rules of `keyword`'s type, if it does not.
fn misfit(keyword: &str, value: &str) -> Option<&'static str> {
    let kind = keyword.trim_end_matches(|c: char| c.is_ascii_digit());
    let chars = value.chars().count();
    let ok = match kind {
        _ if value.is_empty() => return Some("is empty"),
        "thing" => chars <= 20,
        "phrase" => chars <= 5 && value.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "number" => chars <= 32 && value.split_once('.').map_or(value, |(a, _)| a).chars().all(|c| c.is_ascii_digit()),
        "character_string" => chars <= 32 && value.chars().all(|c| c.is_ascii_graphic()),
        "time" | "date" => value.split('~').all(is_time),
        "amount" => is_amount(value),
        _ => chars <= 20,
    };
    (!ok).then_some("does not fit its keyword's rules")
}

/// `15:01`, `2019年10月1日`, `2019年10月1日 15:01` (a date for `date`, or with a time).
fn is_time(v: &str) -> bool {
    let v = v.trim();
    let (date, clock) = match v.split_once(' ') {
        Some((d, c)) => (Some(d), Some(c)),
        None if v.contains('日') => (Some(v), None),
        None => (None, Some(v)),
    };
    let date_ok = date.is_none_or(|d| {
        let parts: Vec<&str> = d.split(['年', '月', '日']).collect();
        parts.len() == 4
            && parts[3].is_empty()
            && parts[..3].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    });
    let clock_ok = clock.is_none_or(|c| {
        let mut hm = c.split(':');
        let (h, m) = (hm.next().unwrap_or(""), hm.next().unwrap_or(""));
        hm.next().is_none()
            && h.parse::<u8>().is_ok_and(|h| h < 24)
            && m.len() == 2
            && m.parse::<u8>().is_ok_and(|m| m < 60)
    });
    date_ok && clock_ok
}

/// A currency sign, up to 10 digits with optional decimals, and an optional 元.
fn is_amount(v: &str) -> bool {
    let v = v.strip_suffix('元').unwrap_or(v);
    let v = v.strip_prefix(['¥', '￥', '$', '€', '£']).unwrap_or(v);
    let (whole, cents) = v.split_once('.').unwrap_or((v, "0"));
    (1..=10).contains(&whole.len())
        && whole.chars().all(|c| c.is_ascii_digit())
        && !cents.is_empty()
        && cents.chars().all(|c| c.is_ascii_digit())
}

fn check(s: &State, app: &str, body: &Value) -> Result<SubscribeMessageSent, Json<Value>> {
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let touser = text("touser").unwrap_or_default();
    let template_id = text("template_id").unwrap_or_default();
    if !s.codes.values().any(|c| c.app_id == app && c.openid == touser) {
        return Err(error(40003, "invalid openid"));
    }
    let Some(keywords) = s.subscriptions.templates.get(&(app.to_string(), template_id.clone())) else {
        return Err(error(40037, "invalid template id"));
    };
    let page = text("page");
    if let (Some(page), Some(pages)) = (&page, s.subscriptions.pages.get(app)) {
        let path = page.split('?').next().unwrap_or_default();
        if !pages.iter().any(|p| p == path) {
            return Err(error(41030, "invalid page"));
        }
    }
    let Some(data) = body.get("data").and_then(template_data) else {
        return Err(error(47003, "argument invalid! data format"));
    };
    for keyword in keywords {
        let value = data.get(keyword).map(String::as_str).unwrap_or_default();
        if let Some(why) = misfit(keyword, value) {
            return Err(error(47003, &format!("argument invalid! data.{keyword}.value {why}")));
        }
    }
    let spent = s.subscriptions.accepted.get(&(app.to_string(), touser.clone(), template_id.clone()));
    if spent.copied().unwrap_or(0) == 0 {
        return Err(error(43101, "user refuse to accept the msg"));
    }
    Ok(SubscribeMessageSent { app_id: app.into(), touser, template_id, page, data, lang: text("lang") })
}

#[handler]
pub(super) fn subscribe_send(
    Query(q): Query<TokenOnly>,
    body: String,
    Data(state): Data<&Arc<Mutex<State>>>,
) -> Json<Value> {
    let mut s = state.lock().expect("fake wechat state");
    s.calls.push("cgi-bin/message/subscribe/send".to_string());
    if s.busy {
        return error(-1, "system error");
    }
    let app = match token_app(&s, q.access_token.as_deref()) {
        Ok(app) => app,
        Err(e) => return e,
    };
    let Ok(body) = serde_json::from_str::<Value>(&body) else { return error(47003, "argument invalid! data format") };
    match check(&s, &app, &body) {
        Ok(sent) => {
            let key = (sent.app_id.clone(), sent.touser.clone(), sent.template_id.clone());
            if let Some(left) = s.subscriptions.accepted.get_mut(&key) {
                *left -= 1;
            }
            s.subscriptions.sent.push(sent);
            Json(json!({ "errcode": 0, "errmsg": "ok", "msgid": 3_000_000 + s.subscriptions.sent.len() }))
        }
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_held_to_their_keyword_types() {
        assert_eq!(misfit("thing1", "季度报告.pdf"), None);
        assert!(misfit("thing1", &"长".repeat(21)).is_some());
        assert_eq!(misfit("phrase2", "打印完成"), None);
        assert!(misfit("phrase2", "printed").is_some());
        assert!(misfit("phrase2", "打印已经完成了").is_some());
        assert_eq!(misfit("time3", "2026年12月4日 16:30"), None);
        assert_eq!(misfit("time3", "16:30"), None);
        assert!(misfit("time3", "2026-12-04 16:30:00").is_some());
        assert_eq!(misfit("amount4", "¥1.50"), None);
        assert_eq!(misfit("amount4", "1.50元"), None);
        assert!(misfit("amount4", "一块五").is_some());
        assert!(misfit("thing1", "").is_some());
    }
}
