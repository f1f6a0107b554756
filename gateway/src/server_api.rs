//! The server's HTTP API as the gateway uses it (a client of `openapi/openapi.json`).

use serde::{Deserialize, Serialize};

use crate::protocol::SnmpTarget;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server's stable error code and message.
    #[error("{code}: {message}")]
    Refused { status: u16, code: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
pub struct Enterprise {
    pub enterprise_id: String,
    pub enterprise_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Registered {
    pub gateway_id: String,
    pub enterprise_id: String,
    pub credential: String,
}

/// A printer to add to the cloud.
#[derive(Debug, Clone, Serialize)]
pub struct ReportedPrinter {
    pub key: String,
    pub name: Option<String>,
    pub mac: Option<String>,
    pub device_uri: String,
    pub make_model: Option<String>,
    pub serial_number: Option<String>,
    pub uuid: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PrinterResult {
    pub key: String,
    /// `registered`, `unchanged`, `rebound`, `bound_elsewhere`, `illegal_mac`, `invalid_mac`,
    /// `print_point_exists`.
    pub outcome: String,
    pub print_point_id: Option<String>,
    pub qr_url: Option<String>,
}

/// A print point this gateway serves, as the server lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct ServedPrinter {
    pub print_point_id: String,
    pub name: String,
    pub device_uri: String,
    pub meter_interval_minutes: i64,
    /// How to read the device (the server sends the link's own shape).
    pub snmp: SnmpTarget,
    /// The FTP account its MFP scans to the gateway with; absent while scanning is off.
    #[serde(default)]
    pub scan: Option<ServedScanAccount>,
}

/// A print point's scan account, as the server lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct ServedScanAccount {
    pub user: String,
    pub password: String,
}

#[derive(Clone)]
pub struct ServerApi {
    base: String,
    http: reqwest::Client,
    credential: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// The code of a refusal whose body was not the server's error (a proxy's page, say).
pub const NO_ERROR_BODY: &str = "http_error";

/// A non-2xx answer: the server's `{code, message}`, or [`NO_ERROR_BODY`].
fn refusal(status: u16, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => ApiError::Refused { status, code: b.code, message: b.message },
        Err(_) => ApiError::Refused { status, code: NO_ERROR_BODY.into(), message: format!("HTTP {status}") },
    }
}

impl ServerApi {
    pub fn new(server_url: &str, credential: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .unwrap_or_default();
        Self { base: server_url.trim_end_matches('/').to_string(), http, credential }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base)).header("accept-language", "zh-CN");
        match &self.credential {
            Some(c) => req.bearer_auth(c),
            None => req,
        }
    }

    async fn send<T: for<'de> Deserialize<'de>>(&self, req: reqwest::RequestBuilder) -> Result<T, ApiError> {
        let resp = req.send().await.map_err(|e| ApiError::Unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| ApiError::Unreachable(e.to_string()))?;
        if (200..300).contains(&status) {
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Unreachable(format!("unexpected answer: {e}")))
        } else {
            Err(refusal(status, &bytes))
        }
    }

    /// 企业标识检测.
    pub async fn check(&self, enterprise_code: &str) -> Result<Enterprise, ApiError> {
        let req = self.request(reqwest::Method::POST, "/api/v1/gateway/check");
        self.send(req.json(&serde_json::json!({ "enterprise_code": enterprise_code }))).await
    }

    pub async fn register(&self, enterprise_code: &str, token: &str, name: &str) -> Result<Registered, ApiError> {
        let body = serde_json::json!({
            "enterprise_code": enterprise_code,
            "enrolment_token": token,
            "name": name,
            "version": env!("CARGO_PKG_VERSION"),
        });
        self.send(self.request(reqwest::Method::POST, "/api/v1/gateways").json(&body)).await
    }

    /// "Add printers to the cloud", or with `refresh` "refresh printer status".
    pub async fn report_printers(
        &self,
        printers: &[ReportedPrinter],
        refresh: bool,
    ) -> Result<Vec<PrinterResult>, ApiError> {
        let body = serde_json::json!({ "printers": printers, "refresh": refresh });
        self.send(self.request(reqwest::Method::POST, "/api/v1/gateway/printers").json(&body)).await
    }

    /// The print points this gateway serves, with their meter-reading intervals and SNMP targets.
    pub async fn printers(&self) -> Result<Vec<ServedPrinter>, ApiError> {
        self.send(self.request(reqwest::Method::GET, "/api/v1/gateway/printers")).await
    }

    /// Downloads a document by the signed path in a print command into `to`.
    pub async fn download(&self, path: &str, to: &std::path::Path) -> Result<u64, ApiError> {
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| ApiError::Unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(ApiError::Refused {
                status,
                code: "download_failed".into(),
                message: format!("HTTP {status}"),
            });
        }
        let mut file = tokio::fs::File::create(to).await.map_err(|e| ApiError::Unreachable(e.to_string()))?;
        let mut stream = resp.bytes_stream();
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::Unreachable(e.to_string()))?;
            total += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(|e| ApiError::Unreachable(e.to_string()))?;
        }
        file.flush().await.map_err(|e| ApiError::Unreachable(e.to_string()))?;
        Ok(total)
    }

    /// Uploads a scan from the outbox (`POST /api/v1/gateway/scans`, the file streamed as the
    /// body); Ok once the server has it (201 new, 200 from an earlier try: it records a
    /// `scan_id` once).
    pub async fn upload_scan(
        &self,
        scan: &crate::scans::outbox::PendingScan,
        file: &std::path::Path,
    ) -> Result<(), ApiError> {
        let body =
            tokio::fs::File::open(file).await.map_err(|e| ApiError::Unreachable(format!("the scan file: {e}")))?;
        let stream = tokio_util::io::ReaderStream::new(body);
        let scanned_at = scan.scanned_at.to_string();
        // The client's 2 minutes are for small requests: a large scan on a slow line gets
        // longer (as if at 128 KB/s at the least).
        let timeout = std::time::Duration::from_secs(120 + scan.size / 128_000);
        let req = self
            .request(reqwest::Method::POST, "/api/v1/gateway/scans")
            .query(&[
                ("print_point_id", scan.print_point_id.as_str()),
                ("scan_id", scan.scan_id.as_str()),
                ("file_name", scan.file_name.as_str()),
                ("scanned_at", scanned_at.as_str()),
            ])
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, scan.size)
            .timeout(timeout)
            .body(reqwest::Body::wrap_stream(stream));
        let resp = req.send().await.map_err(|e| ApiError::Unreachable(e.to_string()))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let bytes = resp.bytes().await.map_err(|e| ApiError::Unreachable(e.to_string()))?;
        Err(refusal(status, &bytes))
    }

    /// The WebSocket URL of the gateway link.
    pub fn link_url(&self) -> String {
        let ws = if let Some(rest) = self.base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = self.base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            self.base.clone()
        };
        format!("{ws}/api/v1/gateway/link")
    }

    pub fn credential(&self) -> Option<&str> {
        self.credential.as_deref()
    }
}
