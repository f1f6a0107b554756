//! Starting the real server for a test, on a fresh database of the backend under test.

use std::{collections::HashMap, sync::Arc, time::Duration};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Executor;
use yunyin_server::{config::Secret, Application, Config};

/// Which database the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_env() -> Self {
        match std::env::var("YUNYIN_TEST_BACKEND").as_deref() {
            Ok("postgres") => Backend::Postgres,
            Ok("sqlite") | Err(_) => Backend::Sqlite,
            Ok(other) => panic!("YUNYIN_TEST_BACKEND must be sqlite or postgres, not {other}"),
        }
    }
}

pub fn postgres_server_url() -> String {
    std::env::var("YUNYIN_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn redis_url() -> Option<String> {
    std::env::var("YUNYIN_TEST_REDIS_URL").ok().filter(|u| !u.is_empty())
}

/// A database made for one test and dropped after it.
pub struct TestDatabase {
    pub url: String,
    name: Option<String>,
    _dir: Arc<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create(dir: Arc<tempfile::TempDir>) -> Self {
        Self::create_on(Backend::from_env(), dir).await
    }

    /// A database on the given backend, whichever the suite runs on.
    pub async fn create_on(backend: Backend, dir: Arc<tempfile::TempDir>) -> Self {
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("yunyin.db").display());
                Self { url, name: None, _dir: dir }
            }
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let name = format!("yy_test_{}", uuid::Uuid::new_v4().simple());
                let server = postgres_server_url();
                let mut conn = sqlx::AnyConnection::connect_any(&server).await;
                conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
                let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b).to_string();
                Self { url: format!("{base}/{name}"), name: Some(name), _dir: dir }
            }
        }
    }
}

trait ConnectAny {
    async fn connect_any(url: &str) -> sqlx::AnyConnection;
}

impl ConnectAny for sqlx::AnyConnection {
    async fn connect_any(url: &str) -> sqlx::AnyConnection {
        use sqlx::Connection;
        sqlx::AnyConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e} (the README test command starts it)"))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.name.take() else { return };
        let server = postgres_server_url();
        // Drop runs outside async context: use a small runtime of our own on a thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async move {
                let mut conn = sqlx::AnyConnection::connect_any(&server).await;
                let _ = conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
            });
        })
        .join();
    }
}

/// An HTTP answer: status and JSON body (Null when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {} {}", self.status, self.body);
        self.body
    }

    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!((self.status.as_u16(), self.code()), (status, code), "unexpected answer: {}", self.body);
        assert!(!self.body["message"].as_str().unwrap_or("").is_empty(), "error without message: {}", self.body);
    }
}

/// A running server on a fresh database.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin_username: String,
    /// The first admin's one-time password, as the server printed it.
    first_admin_password: String,
    /// Admins whose one-time password the harness replaced: user name → (one-time password,
    /// the password that replaced it). Shared with sibling instances (same database).
    settled_passwords: Arc<std::sync::Mutex<HashMap<String, (String, String)>>>,
    pub config: Config,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub db: Arc<TestDatabase>,
    pub dir: Arc<tempfile::TempDir>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Starts a server; `tweak` adjusts the configuration first.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        let db = Arc::new(TestDatabase::create(dir.clone()).await);
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            database_url: Some(Secret::new(db.url.clone())),
            redis_url: redis_url().map(Secret::new),
            redis_prefix: format!("yunyin-test:{}:", uuid::Uuid::new_v4().simple()),
            ..Config::default()
        };
        tweak(&mut config);
        Self::start(config, db, dir, Arc::default()).await
    }

    /// Starts another instance on the same database and Redis (several-instance tests), or
    /// the same instance again after a stop.
    pub async fn spawn_sibling(&self) -> Self {
        self.spawn_sibling_with(|_| {}).await
    }

    /// Another instance on the same database and Redis, its configuration adjusted by `tweak`
    /// (another build of the web app, say).
    pub async fn spawn_sibling_with(&self, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".into();
        tweak(&mut config);
        Self::start(config, self.db.clone(), self.dir.clone(), self.settled_passwords.clone()).await
    }

    async fn start(
        config: Config,
        db: Arc<TestDatabase>,
        dir: Arc<tempfile::TempDir>,
        settled_passwords: Arc<std::sync::Mutex<HashMap<String, (String, String)>>>,
    ) -> Self {
        let app = Application::build(config.clone()).await.expect("server builds");
        let base = format!("http://{}", app.addr());
        let (admin_username, first_admin_password) = match app.bootstrap_admin() {
            Some(a) => (a.admin.username.clone(), a.one_time_password.clone()),
            None => (String::new(), String::new()),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        Self {
            base,
            client,
            admin_username,
            first_admin_password,
            settled_passwords,
            config,
            stop: Some(stop),
            task: Some(task),
            db,
            dir,
        }
    }

    /// The first admin's password now: the one-time password until the harness has signed in
    /// with it (and so replaced it), the replacement after.
    pub fn admin_password(&self) -> String {
        self.current_password(&self.admin_username, &self.first_admin_password)
    }

    /// `password` as the admin's current password: a one-time password the harness replaced
    /// stands for its replacement.
    fn current_password(&self, username: &str, password: &str) -> String {
        let settled = self.settled_passwords.lock().expect("password map");
        match settled.get(username) {
            Some((one_time, replacement)) if one_time == password => replacement.clone(),
            _ => password.to_string(),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Any request; `token` as bearer, `lang` as Accept-Language.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        lang: Option<&str>,
    ) -> Reply {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(l) = lang {
            req = req.header("accept-language", l);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request reaches the server");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, body, headers }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body), None).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PUT, path, token, Some(body), None).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PATCH, path, token, Some(body), None).await
    }

    // ---- typed helpers for common setup ----

    /// Signs in an admin; returns the access token. A session signed in with a one-time
    /// password may do nothing but change it, so this replaces the password (remembering the
    /// replacement, so the test's copy of the one-time password keeps working here) and the
    /// session is then a full one.
    pub async fn admin_sign_in(&self, username: &str, password: &str) -> String {
        let password = self.current_password(username, password);
        let body = self
            .post("/api/v1/admin-sessions", None, json!({ "username": username, "password": password }))
            .await
            .expect(200);
        let access = body["tokens"]["access_token"].as_str().expect("access token").to_string();
        if body["admin"]["must_change_password"] == json!(true) {
            let replacement = format!("{password}-set1");
            self.put(
                "/api/v1/admins/me/password",
                Some(&access),
                json!({ "current_password": password, "new_password": replacement }),
            )
            .await
            .expect(204);
            self.settled_passwords.lock().expect("password map").insert(username.to_string(), (password, replacement));
        }
        access
    }

    /// The bootstrap platform super admin's access token.
    pub async fn platform_token(&self) -> String {
        self.admin_sign_in(&self.admin_username.clone(), &self.first_admin_password.clone()).await
    }

    /// Creates an enterprise (as `token`); returns its JSON.
    pub async fn create_enterprise(&self, token: &str, code: &str, provider_id: Option<&str>) -> Value {
        self.post(
            "/api/v1/enterprises",
            Some(token),
            json!({
                "code": code,
                "name": format!("{code} 有限公司"),
                "contact_name": "张三",
                "contact_phone": "13800138000",
                "provider_id": provider_id,
            }),
        )
        .await
        .expect(201)
    }

    /// Creates a provider; returns its JSON.
    pub async fn create_provider(&self, token: &str, name: &str, parent_id: Option<&str>) -> Value {
        self.post("/api/v1/providers", Some(token), json!({ "name": name, "parent_id": parent_id })).await.expect(201)
    }

    /// Creates an admin and signs them in; returns (admin JSON, access token).
    pub async fn create_admin(
        &self,
        token: &str,
        username: &str,
        scope_kind: &str,
        scope_id: Option<&str>,
        role: &str,
        region_ids: &[&str],
    ) -> (Value, String) {
        let created = self
            .post(
                "/api/v1/admins",
                Some(token),
                json!({
                    "username": username,
                    "display_name": username,
                    "scope_kind": scope_kind,
                    "scope_id": scope_id,
                    "role": role,
                    "region_ids": region_ids,
                }),
            )
            .await
            .expect(201);
        let password = created["one_time_password"].as_str().expect("one-time password").to_string();
        let access = self.admin_sign_in(username, &password).await;
        (created["admin"].clone(), access)
    }

    /// A super admin of `kind` (`provider`, `enterprise`) `scope` whose password is set (the
    /// console's first sign-in would ask for one); returns the password.
    pub async fn admin_with_password(&self, platform: &str, username: &str, kind: &str, scope: &str) -> String {
        let created = self
            .post(
                "/api/v1/admins",
                Some(platform),
                json!({ "username": username, "display_name": username, "scope_kind": kind, "scope_id": scope,
                        "role": "super", "region_ids": [] }),
            )
            .await
            .expect(201);
        let one_time = created["one_time_password"].as_str().expect("one-time password").to_string();
        // The first sign-in sets a password of its own (admin_sign_in); that is the one.
        self.admin_sign_in(username, &one_time).await;
        self.current_password(username, &one_time)
    }

    /// Registers a user with a user name and password; returns the session JSON.
    pub async fn register_user(&self, enterprise_code: &str, username: &str, password: &str) -> Value {
        self.post(
            "/api/v1/users",
            None,
            json!({ "enterprise_code": enterprise_code, "username": username, "password": password }),
        )
        .await
        .expect(201)
    }
}

impl TestApp {
    /// Uploads `bytes` as a raw body with `name`.
    pub async fn upload(&self, token: &str, name: &str, bytes: Vec<u8>) -> Reply {
        let resp = self
            .client
            .post(self.url("/api/v1/jobs"))
            .query(&[("file_name", name)])
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .expect("upload reaches the server");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or(Value::Null);
        Reply { status, body, headers }
    }

    /// Polls the job until it leaves `uploaded`/`processing` (or `within` passes).
    pub async fn wait_job(&self, token: &str, id: &str, within: Duration) -> Value {
        let deadline = std::time::Instant::now() + within;
        loop {
            let job = self.get(&format!("/api/v1/jobs/{id}"), Some(token)).await.expect(200);
            let state = job["state"].as_str().unwrap_or("").to_string();
            if state != "uploaded" && state != "processing" {
                return job;
            }
            assert!(std::time::Instant::now() < deadline, "job {id} still {state} after {within:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// An enterprise `code` with one registered user; returns the user's access token.
    pub async fn enterprise_with_user(&self, admin: &str, code: &str, username: &str) -> (Value, String) {
        let e = self.create_enterprise(admin, code, None).await;
        let s = self.register_user(code, username, "passw0rd!").await;
        (e, access(&s))
    }

    /// Runs one SQL statement on the test's database, for tests that must set up what the
    /// API cannot (a crashed worker's claim, a deadline already passed).
    pub async fn sql(&self, statement: &str) {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.db.url).await.expect("test database");
        conn.execute(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        let _ = conn.close().await;
    }

    /// Raw bytes of a GET (thumbnails, previews, documents).
    pub async fn get_bytes(&self, path: &str, token: &str) -> (u16, Vec<u8>) {
        let resp = self.client.get(self.url(path)).bearer_auth(token).send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The access token inside a session JSON.
pub fn access(session: &Value) -> String {
    session["tokens"]["access_token"].as_str().expect("access token").to_string()
}

/// The refresh token inside a session JSON.
pub fn refresh(session: &Value) -> String {
    session["tokens"]["refresh_token"].as_str().expect("refresh token").to_string()
}

/// Polls `check` until it holds or `within` passes; says whether it held. For waiting on the
/// thing itself (a balance, a state, a message) instead of sleeping for a guessed time.
pub async fn wait_until<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A user's open event stream (`GET /api/v1/events`), read in the background.
pub struct EventStreamReader {
    events: tokio::sync::mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
    task: tokio::task::JoinHandle<()>,
}

impl EventStreamReader {
    /// Opens the stream and waits until the server has answered with its headers (so events
    /// published from now on reach it).
    pub async fn open(app: &TestApp, token: &str) -> Self {
        use futures_util::StreamExt;
        let resp = app
            .client
            .get(app.url("/api/v1/events"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(600))
            .send()
            .await
            .expect("event stream opens");
        assert_eq!(resp.status(), 200);
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut bytes = resp.bytes_stream();
            let mut buf = String::new();
            while let Some(Ok(chunk)) = bytes.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let event: String = buf.drain(..end + 2).collect();
                    for data in event.lines().filter_map(|l| l.strip_prefix("data: ")) {
                        let value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{data}: {e}"));
                        if tx.send(value).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Self { events, seen: Vec::new(), task }
    }

    /// The first event (seen before or arriving within `within`) that `matches`; panics with
    /// everything seen when none arrives.
    pub async fn wait_for(&mut self, within: Duration, matches: impl Fn(&Value) -> bool) -> Value {
        if let Some(found) = self.seen.iter().find(|e| matches(e)) {
            return found.clone();
        }
        let deadline = tokio::time::Instant::now() + within;
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            self.seen.push(event.clone());
            if matches(&event) {
                return event;
            }
        }
        panic!("no matching event within {within:?}; seen: {:?}", self.seen);
    }
}

impl Drop for EventStreamReader {
    fn drop(&mut self) {
        self.task.abort();
    }
}
