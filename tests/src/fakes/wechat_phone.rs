//! WeChat's app on the user's phone, for mini-program tests: what the mini-program's device
//! calls reach. The page tests' `wx` object (miniprogram/test/wx.js) asks it over HTTP:
//! - `POST /login {app_id}` → `{code}`: `wx.login`, a fresh code the fake WeChat issued for
//!   the phone's current user under that mini-program;
//! - `POST /user {openid}`: another WeChat user picks up the phone;
//! - `POST /pay {appId, timeStamp, nonceStr, package, signType, paySign}`:
//!   `wx.requestPayment`, checked and paid by the fake WeChat Pay as WeChat's app would
//!   ([`FakeWechatPay::pay_in_app`]); the error is WeChat's `fail` message;
//! - `POST /subscribe {app_id, template_ids}`: the user allowed these subscription templates.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use poem::{
    handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    post,
    web::{Data, Json},
    EndpointExt, IntoResponse, Response, Route, Server,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    wechat::{CodeKind, FakeWechat},
    wechat_pay::{FakeWechatPay, JsapiRequest},
};

struct Phone {
    wechat: Arc<FakeWechat>,
    wechat_pay: Arc<FakeWechatPay>,
    /// The signed-in WeChat user's openid (per mini-program it would differ; one app here).
    openid: Mutex<String>,
    /// Calls received, in order (`login`, `pay`, …), for assertions.
    calls: Mutex<Vec<String>>,
}

/// The phone's server; dropped, it stops.
pub struct WechatPhone {
    phone: Arc<Phone>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl WechatPhone {
    pub async fn start(wechat: Arc<FakeWechat>, wechat_pay: Arc<FakeWechatPay>, openid: &str) -> Self {
        let phone = Arc::new(Phone { wechat, wechat_pay, openid: Mutex::new(openid.into()), calls: Mutex::default() });
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind phone");
        let addr = *acceptor.local_addr()[0].as_socket_addr().expect("socket addr");
        let app = Route::new()
            .at("/login", post(login))
            .at("/user", post(user))
            .at("/pay", post(pay))
            .at("/subscribe", post(subscribe))
            .data(phone.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            let _ = Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(1)))
                .await;
        });
        Self { phone, addr, stop: Some(stop) }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The WeChat user now holding the phone.
    pub fn openid(&self) -> String {
        self.phone.openid.lock().expect("phone").clone()
    }

    /// The device calls made so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.phone.calls.lock().expect("phone").clone()
    }
}

impl Drop for WechatPhone {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn refused(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "errMsg": message }))).into_response()
}

impl Phone {
    fn note(&self, call: &str) {
        self.calls.lock().expect("phone").push(call.into());
    }

    fn openid(&self) -> String {
        self.openid.lock().expect("phone").clone()
    }
}

#[derive(Deserialize)]
struct LoginBody {
    app_id: String,
}

#[handler]
fn login(Json(b): Json<LoginBody>, Data(phone): Data<&Arc<Phone>>) -> Json<Value> {
    phone.note("login");
    let code = phone.wechat.issue_code(&b.app_id, CodeKind::MiniProgram, &phone.openid(), None);
    Json(json!({ "code": code }))
}

#[derive(Deserialize)]
struct UserBody {
    openid: String,
}

#[handler]
fn user(Json(b): Json<UserBody>, Data(phone): Data<&Arc<Phone>>) -> Json<Value> {
    *phone.openid.lock().expect("phone") = b.openid;
    Json(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PayBody {
    app_id: String,
    #[serde(flatten)]
    params: JsapiRequest,
}

#[handler]
async fn pay(Json(b): Json<PayBody>, Data(phone): Data<&Arc<Phone>>) -> Response {
    phone.note("pay");
    match phone.wechat_pay.pay_in_app(&b.app_id, &phone.openid(), &b.params).await {
        Ok(()) => Json(json!({})).into_response(),
        Err(why) => refused(format!("requestPayment:fail {why}")),
    }
}

#[derive(Deserialize)]
struct SubscribeBody {
    app_id: String,
    template_ids: Vec<String>,
}

#[handler]
fn subscribe(Json(b): Json<SubscribeBody>, Data(phone): Data<&Arc<Phone>>) -> Response {
    phone.note("subscribe");
    match phone.wechat.accept_subscriptions(&b.app_id, &phone.openid(), &b.template_ids) {
        Ok(()) => Json(json!({})).into_response(),
        Err(why) => refused(why),
    }
}
