//! A test gateway that speaks the link's JSON frames directly: enrol, report printers, open
//! the link, read commands and answer with acks and job reports. For protocol-level tests;
//! `gateway_e2e.rs` runs the real gateway.

// Test support: an unmet expectation should panic, so unwrap/expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use crate::TestApp;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A gateway enrolled in `enterprise`: (gateway id, credential).
pub async fn enrol(app: &TestApp, admin: &str, enterprise: &Value, name: &str) -> (String, String) {
    let token = app
        .post(&format!("/api/v1/enterprises/{}/gateway-enrolments", id(enterprise)), Some(admin), json!({}))
        .await
        .expect(200)["token"]
        .as_str()
        .unwrap()
        .to_string();
    let code = enterprise["code"].as_str().unwrap();
    let g = app
        .post("/api/v1/gateways", None, json!({ "enterprise_code": code, "enrolment_token": token, "name": name }))
        .await
        .expect(201);
    (g["gateway_id"].as_str().unwrap().to_string(), g["credential"].as_str().unwrap().to_string())
}

/// Reports printers as the gateway; the per-printer outcomes.
pub async fn report(app: &TestApp, credential: &str, printers: Value, refresh: bool) -> Vec<Value> {
    let r = app
        .post("/api/v1/gateway/printers", Some(credential), json!({ "printers": printers, "refresh": refresh }))
        .await;
    r.expect(200).as_array().unwrap().clone()
}

/// Opens the gateway link, reads the welcome and says hello.
pub async fn connect(app: &TestApp, credential: &str) -> Socket {
    let url = app.url("/api/v1/gateway/link").replacen("http://", "ws://", 1);
    let mut req = url.into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {credential}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(req).await.expect("link opens");
    let welcome = next_frame(&mut socket).await;
    assert_eq!(welcome["type"], "welcome");
    socket.send(Message::Text(json!({ "type": "hello", "version": "test" }).to_string().into())).await.unwrap();
    socket
}

/// The next JSON frame from the server (20 s at most).
pub async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next()).await.expect("a frame in time");
        match frame.expect("link open").expect("frame") {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(_) => panic!("link closed"),
            _ => {}
        }
    }
}

pub async fn send(socket: &mut Socket, v: Value) {
    socket.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Polls the print point until the gateway counts as online (presence written on connect).
pub async fn wait_online(app: &TestApp, user: &str, code: &str) {
    for _ in 0..100 {
        if app.get(&format!("/api/v1/release/{code}"), Some(user)).await.expect(200)["available"] == true {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("print point never became available");
}

/// The code at the end of a print point's QR URL.
pub fn code_of(point_qr_url: &str) -> String {
    point_qr_url.rsplit('/').next().unwrap().to_string()
}

/// Polls a job until it is in `state`.
pub async fn until_state(app: &TestApp, token: &str, job_id: &str, state: &str) -> Value {
    for _ in 0..200 {
        let j = app.get(&format!("/api/v1/jobs/{job_id}"), Some(token)).await.expect(200);
        if j["state"] == state {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {job_id} never became {state}");
}
