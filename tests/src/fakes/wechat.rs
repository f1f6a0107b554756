//! A fake WeChat API server: `sns/oauth2/access_token` (official-account web authorisation)
//! and `sns/jscode2session` (mini-program sign-in), with WeChat's error codes:
//! 40002 (bad grant_type), 40013 (invalid appid), 40125 (invalid appsecret),
//! 40029 (invalid code), 40163 (code already used), -1 (system busy).
//! Codes are single-use, bound to one app and one sign-in kind, and expire after 5 minutes.
//! Also the official account's `cgi-bin/token` (client_credential) and
//! `cgi-bin/ticket/getticket` (type=jsapi), with 40013 / 40125 / 40002 for bad credentials and
//! 40001 / 42001 for a bad or expired access token; tokens and tickets last 7200 s.
//! And template messages (`cgi-bin/message/template/send`): the token must be one this fake
//! issued and not expired (40001 / 42001), the openid a user of that app (40003) who follows
//! it (43004), the template in the app's list (40037), the data keyword → `{value}` objects
//! (47001), and the app's daily quota not used up (45009). Mini-program subscription
//! messages: see `subscribe`.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use poem::{
    get, handler,
    listener::{Acceptor, Listener, TcpListener},
    post,
    web::{Data, Json, Query},
    EndpointExt, Route, Server,
};
use rand::Rng;
use serde::Deserialize;
use serde_json::{json, Value};

mod subscribe;
pub use subscribe::SubscribeMessageSent;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// From the official-account OAuth redirect.
    OfficialAccount,
    /// From `wx.login` in a mini-program.
    MiniProgram,
}

struct Issued {
    app_id: String,
    kind: CodeKind,
    openid: String,
    unionid: Option<String>,
    used: bool,
    issued_at: Instant,
}

#[derive(Default)]
struct State {
    apps: HashMap<String, String>,
    codes: HashMap<String, Issued>,
    busy: bool,
    calls: Vec<String>,
    /// Access tokens issued: token → app id.
    access_tokens: HashMap<String, String>,
    /// Tickets issued: ticket → app id.
    tickets: HashMap<String, String>,
    /// Who is signed in to WeChat in "the phone's" WeChat, for the authorisation page.
    oauth_user: Option<String>,
    /// When each access token stops working.
    token_deadlines: HashMap<String, Instant>,
    /// (app id, openid) → whether the user follows the official account now.
    followers: HashMap<(String, String), bool>,
    /// (app id, template id) in the accounts' template lists.
    templates: HashSet<(String, String)>,
    /// Template messages a day, per app; unlimited when unset.
    template_quota: Option<usize>,
    template_messages: Vec<TemplateMessageSent>,
    subscriptions: subscribe::Subscriptions,
}

/// A template message the fake took.
#[derive(Debug, Clone)]
pub struct TemplateMessageSent {
    pub app_id: String,
    pub touser: String,
    pub template_id: String,
    pub url: Option<String>,
    /// Keyword → value.
    pub data: HashMap<String, String>,
    pub msgid: u64,
}

const TOKEN_LIFETIME: Duration = Duration::from_secs(7200);

const CODE_LIFETIME: Duration = Duration::from_secs(300);

/// A running fake; dropped, it stops.
pub struct FakeWechat {
    state: Arc<Mutex<State>>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeWechat {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind fake wechat");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("socket addr");
        let app = Route::new()
            .at("/sns/oauth2/access_token", get(oauth2_access_token))
            .at("/sns/jscode2session", get(jscode2session))
            .at("/cgi-bin/token", get(cgi_token))
            .at("/connect/oauth2/authorize", get(authorize))
            .at("/cgi-bin/ticket/getticket", get(cgi_ticket))
            .at("/cgi-bin/message/template/send", post(template_send))
            .at("/cgi-bin/message/subscribe/send", post(subscribe::subscribe_send))
            .data(state.clone());
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
        Self { state, addr, stop: Some(stop) }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake wechat state")
    }

    /// Registers an application as WeChat knows it.
    pub fn register_app(&self, app_id: &str, secret: &str) {
        self.lock().apps.insert(app_id.into(), secret.into());
    }

    /// What WeChat hands the page or mini-program after the person consents: a fresh code.
    pub fn issue_code(&self, app_id: &str, kind: CodeKind, openid: &str, unionid: Option<&str>) -> String {
        let code: String =
            rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(32).map(char::from).collect();
        self.lock().codes.insert(
            code.clone(),
            Issued {
                app_id: app_id.into(),
                kind,
                openid: openid.into(),
                unionid: unionid.map(str::to_string),
                used: false,
                issued_at: Instant::now(),
            },
        );
        code
    }

    /// While busy, every call answers -1 (system busy).
    pub fn set_busy(&self, busy: bool) {
        self.lock().busy = busy;
    }

    /// The WeChat user (openid) the authorisation page answers for, as if they opened the
    /// page in their WeChat.
    pub fn set_oauth_user(&self, openid: &str) {
        self.lock().oauth_user = Some(openid.into());
    }

    /// The app a JS-SDK ticket was issued to, if it was.
    pub fn ticket_app(&self, ticket: &str) -> Option<String> {
        self.lock().tickets.get(ticket).cloned()
    }

    /// Every ticket issued so far (to check what a signature was made with).
    pub fn tickets(&self) -> Vec<String> {
        self.lock().tickets.keys().cloned().collect()
    }

    /// The user follows the app's official account (again): template messages reach them.
    pub fn follow(&self, app_id: &str, openid: &str) {
        self.lock().followers.insert((app_id.into(), openid.into()), true);
    }

    /// The user stops following: messages to them answer 43004.
    pub fn unfollow(&self, app_id: &str, openid: &str) {
        self.lock().followers.insert((app_id.into(), openid.into()), false);
    }

    /// Adds a template to the app's template list.
    pub fn add_template(&self, app_id: &str, template_id: &str) {
        self.lock().templates.insert((app_id.into(), template_id.into()));
    }

    /// At most `n` template messages per app from now on (then 45009).
    pub fn set_template_quota(&self, n: usize) {
        self.lock().template_quota = Some(n);
    }

    /// Every access token issued so far stops working, as after 7200 s (then 42001).
    pub fn expire_access_tokens(&self) {
        let now = Instant::now();
        self.lock().token_deadlines.values_mut().for_each(|d| *d = now);
    }

    /// The template messages taken, in order.
    pub fn template_messages(&self) -> Vec<TemplateMessageSent> {
        self.lock().template_messages.clone()
    }

    /// Query strings of the calls received, for assertions.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }
}

impl Drop for FakeWechat {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[derive(Deserialize)]
struct OauthQuery {
    appid: Option<String>,
    secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
}

#[derive(Deserialize)]
struct SessionQuery {
    appid: Option<String>,
    secret: Option<String>,
    js_code: Option<String>,
    grant_type: Option<String>,
}

fn error(code: i64, msg: &str) -> Json<Value> {
    let rid: u32 = rand::thread_rng().gen();
    Json(json!({ "errcode": code, "errmsg": format!("{msg} rid: {rid:08x}") }))
}

/// The checks both endpoints share, in WeChat's order.
fn redeem(
    state: &Mutex<State>,
    kind: CodeKind,
    appid: Option<String>,
    secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
) -> Result<(String, Option<String>), Json<Value>> {
    let mut s = state.lock().expect("fake wechat state");
    s.calls.push(format!("appid={:?} code={:?}", appid, code));
    if s.busy {
        return Err(error(-1, "system error"));
    }
    if grant_type.as_deref() != Some("authorization_code") {
        return Err(error(40002, "invalid grant_type"));
    }
    let (Some(appid), Some(secret), Some(code)) = (appid, secret, code) else {
        return Err(error(41002, "appid missing"));
    };
    let Some(expected) = s.apps.get(&appid).cloned() else {
        return Err(error(40013, "invalid appid"));
    };
    if expected != secret {
        return Err(error(40125, "invalid appsecret"));
    }
    let Some(issued) = s.codes.get_mut(&code) else {
        return Err(error(40029, "invalid code"));
    };
    if issued.app_id != appid || issued.kind != kind || issued.issued_at.elapsed() > CODE_LIFETIME {
        return Err(error(40029, "invalid code"));
    }
    if issued.used {
        return Err(error(40163, "code been used"));
    }
    issued.used = true;
    Ok((issued.openid.clone(), issued.unionid.clone()))
}

#[handler]
fn oauth2_access_token(Query(q): Query<OauthQuery>, Data(state): Data<&Arc<Mutex<State>>>) -> Json<Value> {
    match redeem(state, CodeKind::OfficialAccount, q.appid, q.secret, q.code, q.grant_type) {
        Ok((openid, unionid)) => {
            let mut body = json!({
                "access_token": format!("ACCESS_{}", rand::thread_rng().gen::<u64>()),
                "expires_in": 7200,
                "refresh_token": format!("REFRESH_{}", rand::thread_rng().gen::<u64>()),
                "openid": openid,
                "scope": "snsapi_base",
                "is_snapshotuser": 0,
            });
            if let Some(u) = unionid {
                body["unionid"] = json!(u);
            }
            Json(body)
        }
        Err(e) => e,
    }
}

#[handler]
fn jscode2session(Query(q): Query<SessionQuery>, Data(state): Data<&Arc<Mutex<State>>>) -> Json<Value> {
    match redeem(state, CodeKind::MiniProgram, q.appid, q.secret, q.js_code, q.grant_type) {
        Ok((openid, unionid)) => {
            let mut body = json!({
                "openid": openid,
                "session_key": format!("SK{}", rand::thread_rng().gen::<u64>()),
            });
            if let Some(u) = unionid {
                body["unionid"] = json!(u);
            }
            Json(body)
        }
        Err(e) => e,
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
}

#[derive(Deserialize)]
struct TicketQuery {
    access_token: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[handler]
fn cgi_token(Query(q): Query<TokenQuery>, Data(state): Data<&Arc<Mutex<State>>>) -> Json<Value> {
    let mut s = state.lock().expect("fake wechat state");
    s.calls.push(format!("cgi-bin/token appid={:?}", q.appid));
    if s.busy {
        return error(-1, "system error");
    }
    if q.grant_type.as_deref() != Some("client_credential") {
        return error(40002, "invalid grant_type");
    }
    let (Some(appid), Some(secret)) = (q.appid, q.secret) else {
        return error(41002, "appid missing");
    };
    match s.apps.get(&appid) {
        None => return error(40013, "invalid appid"),
        Some(expected) if *expected != secret => return error(40125, "invalid appsecret"),
        Some(_) => {}
    }
    let token = format!("ACCESS_{:016x}", rand::thread_rng().gen::<u64>());
    s.access_tokens.insert(token.clone(), appid);
    s.token_deadlines.insert(token.clone(), Instant::now() + TOKEN_LIFETIME);
    Json(json!({ "access_token": token, "expires_in": 7200 }))
}

#[handler]
fn cgi_ticket(Query(q): Query<TicketQuery>, Data(state): Data<&Arc<Mutex<State>>>) -> Json<Value> {
    let mut s = state.lock().expect("fake wechat state");
    s.calls.push("cgi-bin/ticket/getticket".to_string());
    if s.busy {
        return error(-1, "system error");
    }
    let app = match token_app(&s, q.access_token.as_deref()) {
        Ok(app) => app,
        Err(e) => return e,
    };
    if q.kind.as_deref() != Some("jsapi") {
        return error(40097, "invalid args");
    }
    let ticket: String =
        rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(86).map(char::from).collect();
    s.tickets.insert(ticket.clone(), app);
    Json(json!({ "errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": 7200 }))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    appid: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
}

/// WeChat's web authorisation page (snsapi_base asks nothing): back to `redirect_uri` with a
/// code for the current WeChat user, bound to the app.
#[handler]
fn authorize(Query(q): Query<AuthorizeQuery>, Data(state): Data<&Arc<Mutex<State>>>) -> poem::Response {
    let fail = |msg: &str| poem::Response::builder().status(poem::http::StatusCode::BAD_REQUEST).body(msg.to_string());
    let (Some(appid), Some(redirect)) = (q.appid, q.redirect_uri) else {
        return fail("appid and redirect_uri required");
    };
    if q.response_type.as_deref() != Some("code")
        || !matches!(q.scope.as_deref(), Some("snsapi_base" | "snsapi_userinfo"))
    {
        return fail("invalid response_type or scope");
    }
    let mut s = state.lock().expect("fake wechat state");
    if !s.apps.contains_key(&appid) {
        return fail("10003 redirect_uri domain or appid invalid");
    }
    let Some(openid) = s.oauth_user.clone() else { return fail("nobody is signed in to WeChat") };
    let code: String =
        rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(32).map(char::from).collect();
    s.codes.insert(
        code.clone(),
        Issued {
            app_id: appid,
            kind: CodeKind::OfficialAccount,
            openid,
            unionid: None,
            used: false,
            issued_at: Instant::now(),
        },
    );
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let state_param = q.state.unwrap_or_default();
    poem::Response::builder()
        .status(poem::http::StatusCode::FOUND)
        .header("location", format!("{redirect}{sep}code={code}&state={state_param}"))
        .finish()
}

/// The app an access token was issued to, if it still works: 41001 (missing), 40001
/// (never issued), 42001 (expired).
fn token_app(s: &State, token: Option<&str>) -> Result<String, Json<Value>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else { return Err(error(41001, "access_token missing")) };
    let Some(app) = s.access_tokens.get(token) else {
        return Err(error(40001, "invalid credential, access_token is invalid or not latest"));
    };
    if s.token_deadlines.get(token).is_none_or(|d| Instant::now() >= *d) {
        return Err(error(42001, "access_token expired"));
    }
    Ok(app.clone())
}

#[derive(Deserialize)]
struct TokenOnly {
    access_token: Option<String>,
}

/// `data`: keyword → `{"value": "…"}` (a `color` is still accepted); `None` if malformed.
fn template_data(data: &Value) -> Option<HashMap<String, String>> {
    let fields = data.as_object()?;
    fields.iter().map(|(k, v)| Some((k.clone(), v.as_object()?.get("value")?.as_str()?.to_string()))).collect()
}

/// The checks on the message itself, in WeChat's order.
fn check_template(s: &State, app: &str, body: &Value) -> Result<TemplateMessageSent, Json<Value>> {
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let (touser, template_id) = (text("touser"), text("template_id"));
    let known = s.followers.contains_key(&(app.to_string(), touser.clone()))
        || s.codes.values().any(|c| c.app_id == app && c.openid == touser);
    if !known {
        return Err(error(40003, "invalid openid"));
    }
    if template_id.is_empty() || !s.templates.contains(&(app.to_string(), template_id.clone())) {
        return Err(error(40037, "invalid template_id"));
    }
    let url = match body.get("url") {
        None | Some(Value::Null) => None,
        Some(Value::String(u)) => Some(u.clone()),
        Some(_) => return Err(error(47001, "data format error")),
    };
    let Some(data) = body.get("data").and_then(template_data) else {
        return Err(error(47001, "data format error"));
    };
    if s.followers.get(&(app.to_string(), touser.clone())) != Some(&true) {
        return Err(error(43004, "require subscribe"));
    }
    let sent_by_app = s.template_messages.iter().filter(|m| m.app_id == app).count();
    if s.template_quota.is_some_and(|q| sent_by_app >= q) {
        return Err(error(45009, "reach max api daily quota limit"));
    }
    let msgid = 200_228_332 + s.template_messages.len() as u64;
    Ok(TemplateMessageSent { app_id: app.into(), touser, template_id, url, data, msgid })
}

#[handler]
fn template_send(Query(q): Query<TokenOnly>, body: String, Data(state): Data<&Arc<Mutex<State>>>) -> Json<Value> {
    let mut s = state.lock().expect("fake wechat state");
    s.calls.push("cgi-bin/message/template/send".to_string());
    if s.busy {
        return error(-1, "system error");
    }
    let app = match token_app(&s, q.access_token.as_deref()) {
        Ok(app) => app,
        Err(e) => return e,
    };
    let Ok(body) = serde_json::from_str::<Value>(&body) else { return error(47001, "data format error") };
    match check_template(&s, &app, &body) {
        Ok(sent) => {
            let msgid = sent.msgid;
            s.template_messages.push(sent);
            Json(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid }))
        }
        Err(e) => e,
    }
}
