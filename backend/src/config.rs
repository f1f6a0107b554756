//! Typed, layered configuration: defaults → optional `yunyin.toml` → `YUNYIN_*` environment.

use std::{fmt, path::PathBuf};

use serde::{Deserialize, Serialize};

/// A configuration value that must never be printed or logged.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The effective configuration. Field names are the TOML keys; the environment variable is
/// `YUNYIN_` + the key in upper case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// Base URL people and devices reach the server at (QR codes and links use it).
    pub public_base_url: String,
    /// Where the embedded database, the generated master key and files live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty means `<data_dir>/yunyin.db`.
    pub database_url: Option<Secret>,
    /// Optional Redis (`redis://…`); without it events and caches stay in-process.
    pub redis_url: Option<Secret>,
    /// Prefix for every Redis key and channel, so deployments can share one Redis.
    pub redis_prefix: String,
    /// Base64 of 32 bytes encrypting tenant secrets and signing tokens; empty means a key
    /// generated once in `<data_dir>/master.key`. All instances of one deployment share it.
    pub master_key: Option<Secret>,
    /// `pretty` or `json`.
    pub log_format: LogFormat,
    /// tracing filter, e.g. `info` or `yunyin_server=debug,info`.
    pub log: String,
    /// WeChat API base URL (tests point it at a fake server).
    pub wechat_api_base: String,
    /// Where WeChat's web authorisation page is (`/connect/oauth2/authorize`); tests point it
    /// at the fake WeChat server.
    pub wechat_oauth_base: String,
    /// WeChat Pay API v3 base URL.
    pub wechat_pay_api_base: String,
    /// Alipay open-platform gateway URL.
    pub alipay_gateway_url: String,
    /// The contact push services see in our VAPID tokens (RFC 8292 `sub`): a `mailto:` or
    /// `https:` URI of whoever runs this platform.
    pub vapid_subject: String,
    /// How often pending payment orders are reconciled with the provider, and the first
    /// check's delay after an order opens (later checks back off up to 10 minutes), in ms.
    pub payment_reconcile_ms: u64,
    /// Access-token lifetime in seconds.
    pub access_token_ttl_secs: u64,
    /// Refresh-token lifetime in seconds.
    pub refresh_token_ttl_secs: u64,
    /// Failed sign-ins per account and client address before each further attempt from that
    /// address must wait (1 s, doubling with every failure).
    pub signin_max_failures: u32,
    /// The longest such wait, and how long failures are remembered, in seconds.
    pub signin_lock_secs: u64,
    /// Sign-in attempts allowed per client IP per minute.
    pub signin_max_per_ip_per_minute: u32,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Largest upload accepted, in MB (10^6 bytes).
    pub max_upload_mb: u64,
    /// Largest JSON or form request body accepted, in kB (10^3 bytes); uploads have
    /// `max_upload_mb` instead.
    pub max_json_body_kb: u64,
    /// Most pages a document may have.
    pub page_limit: u32,
    /// Longest a conversion (LibreOffice, rendering) may run before it is killed, in seconds.
    pub conversion_timeout_secs: u64,
    /// Documents processed at once; 0 means one per CPU core.
    pub processing_workers: usize,
    /// The LibreOffice program (`soffice`); without it Office and text uploads are refused.
    pub soffice: String,
    /// How long a worker's claim on a job lasts without renewal, in seconds.
    pub processing_lease_secs: u64,
    /// How often expired jobs and old files are cleaned up, in seconds.
    pub retention_sweep_secs: u64,
    /// The built mobile web app, served at `/m/`.
    pub mobile_dir: PathBuf,
    /// Login name of the platform super admin created on first start (only then); `admin`
    /// when unset. `yunyin serve --admin-username NAME` sets it too.
    pub first_admin: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_base_url: "http://127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            redis_url: None,
            redis_prefix: "yunyin:".into(),
            master_key: None,
            log_format: LogFormat::Pretty,
            log: "info".into(),
            wechat_api_base: "https://api.weixin.qq.com".into(),
            wechat_oauth_base: "https://open.weixin.qq.com".into(),
            wechat_pay_api_base: "https://api.mch.weixin.qq.com".into(),
            alipay_gateway_url: "https://openapi.alipay.com/gateway.do".into(),
            vapid_subject: "mailto:admin@localhost".into(),
            payment_reconcile_ms: 10_000,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            signin_max_failures: 5,
            signin_lock_secs: 15 * 60,
            signin_max_per_ip_per_minute: 30,
            shutdown_grace_secs: 30,
            max_upload_mb: 100,
            max_json_body_kb: 1000,
            page_limit: 2000,
            conversion_timeout_secs: 120,
            processing_workers: 0,
            soffice: "soffice".into(),
            processing_lease_secs: 60,
            retention_sweep_secs: 60,
            mobile_dir: PathBuf::from("mobile/dist"),
            first_admin: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid configuration file {path}: {source}")]
    File { path: PathBuf, source: Box<toml::de::Error> },
    #[error("invalid value for {var}: {reason}")]
    Env { var: String, reason: String },
}

impl Config {
    /// Loads defaults, then `file` (or `./yunyin.toml` when it exists), then the environment.
    pub fn load(file: Option<PathBuf>) -> Result<Self, ConfigError> {
        let explicit = file.or_else(|| std::env::var_os("YUNYIN_CONFIG").map(PathBuf::from));
        let path = explicit.clone().or_else(|| {
            let default = PathBuf::from("yunyin.toml");
            default.exists().then_some(default)
        });
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                toml::from_str(&text).map_err(|source| ConfigError::File { path, source: Box::new(source) })?
            }
            None => Config::default(),
        };
        config.apply_env(|key| std::env::var(key).ok())?;
        Ok(config)
    }

    /// Overrides fields from `YUNYIN_<KEY>` variables; `get` is injectable for tests.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(var: &str, raw: String) -> Result<T, ConfigError> {
            raw.trim().parse().map_err(|_| ConfigError::Env {
                var: var.into(),
                reason: format!("expected a whole number, got {raw:?}"),
            })
        }
        // Each variable, when set, replaces its key through a conversion that may refuse it.
        macro_rules! set {
            ($($field:ident => $var:literal, $convert:expr);* $(;)?) => {$(
                if let Some(v) = get($var) {
                    self.$field = $convert(v)?;
                }
            )*};
        }
        let text = |v: String| Ok::<_, ConfigError>(v);
        let path = |v: String| Ok::<_, ConfigError>(PathBuf::from(v));
        let secret = |raw: String| Ok::<_, ConfigError>((!raw.trim().is_empty()).then(|| Secret::new(raw.trim())));
        let log_format = |v: String| match v.trim() {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            other => Err(ConfigError::Env {
                var: "YUNYIN_LOG_FORMAT".into(),
                reason: format!("expected pretty or json, got {other:?}"),
            }),
        };
        let optional = |v: String| Ok::<_, ConfigError>(Some(v).filter(|v| !v.trim().is_empty()));
        set! {
            listen => "YUNYIN_LISTEN", text;
            public_base_url => "YUNYIN_PUBLIC_BASE_URL", text;
            data_dir => "YUNYIN_DATA_DIR", path;
            database_url => "YUNYIN_DATABASE_URL", secret;
            redis_url => "YUNYIN_REDIS_URL", secret;
            redis_prefix => "YUNYIN_REDIS_PREFIX", text;
            master_key => "YUNYIN_MASTER_KEY", secret;
            log_format => "YUNYIN_LOG_FORMAT", log_format;
            log => "YUNYIN_LOG", text;
            wechat_api_base => "YUNYIN_WECHAT_API_BASE", text;
            wechat_oauth_base => "YUNYIN_WECHAT_OAUTH_BASE", text;
            wechat_pay_api_base => "YUNYIN_WECHAT_PAY_API_BASE", text;
            alipay_gateway_url => "YUNYIN_ALIPAY_GATEWAY_URL", text;
            vapid_subject => "YUNYIN_VAPID_SUBJECT", text;
            mobile_dir => "YUNYIN_MOBILE_DIR", path;
            soffice => "YUNYIN_SOFFICE", text;
            first_admin => "YUNYIN_FIRST_ADMIN", optional;
        }
        macro_rules! numeric {
            ($($field:ident => $var:literal),* $(,)?) => {$(
                if let Some(v) = get($var) {
                    self.$field = num($var, v)?;
                }
            )*};
        }
        numeric! {
            access_token_ttl_secs => "YUNYIN_ACCESS_TOKEN_TTL_SECS",
            payment_reconcile_ms => "YUNYIN_PAYMENT_RECONCILE_MS",
            refresh_token_ttl_secs => "YUNYIN_REFRESH_TOKEN_TTL_SECS",
            signin_max_failures => "YUNYIN_SIGNIN_MAX_FAILURES",
            signin_lock_secs => "YUNYIN_SIGNIN_LOCK_SECS",
            signin_max_per_ip_per_minute => "YUNYIN_SIGNIN_MAX_PER_IP_PER_MINUTE",
            shutdown_grace_secs => "YUNYIN_SHUTDOWN_GRACE_SECS",
            max_upload_mb => "YUNYIN_MAX_UPLOAD_MB",
            max_json_body_kb => "YUNYIN_MAX_JSON_BODY_KB",
            page_limit => "YUNYIN_PAGE_LIMIT",
            conversion_timeout_secs => "YUNYIN_CONVERSION_TIMEOUT_SECS",
            processing_workers => "YUNYIN_PROCESSING_WORKERS",
            processing_lease_secs => "YUNYIN_PROCESSING_LEASE_SECS",
            retention_sweep_secs => "YUNYIN_RETENTION_SWEEP_SECS",
        }
        Ok(())
    }

    /// The database URL in effect: the configured one or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_string(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("yunyin.db").display()),
        }
    }

    /// The configuration as TOML with every secret replaced by `***` (URL passwords too).
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = Some(Secret::new(redact_url(&self.effective_database_url())));
        shown.redis_url = self.redis_url.as_ref().map(|u| Secret::new(redact_url(u.expose())));
        shown.master_key = Some(Secret::new(match &self.master_key {
            Some(_) => "***".to_string(),
            None => format!("(generated in {})", self.data_dir.join("master.key").display()),
        }));
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

/// Hides the password part of `scheme://user:password@host/…`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn env_overrides_defaults() {
        let env: HashMap<&str, &str> = [
            ("YUNYIN_LISTEN", "0.0.0.0:9000"),
            ("YUNYIN_DATABASE_URL", "postgres://u:pw@db/yy"),
            ("YUNYIN_ACCESS_TOKEN_TTL_SECS", "60"),
            ("YUNYIN_LOG_FORMAT", "json"),
        ]
        .into();
        let mut c = Config::default();
        c.apply_env(|k| env.get(k).map(|v| v.to_string())).map_err(|e| e.to_string()).ok();
        assert_eq!(c.listen, "0.0.0.0:9000");
        assert_eq!(c.access_token_ttl_secs, 60);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.effective_database_url(), "postgres://u:pw@db/yy");
    }

    #[test]
    fn bad_numbers_are_errors() {
        let mut c = Config::default();
        let r = c.apply_env(|k| (k == "YUNYIN_SIGNIN_MAX_FAILURES").then(|| "many".to_string()));
        assert!(matches!(r, Err(ConfigError::Env { .. })));
    }

    #[test]
    fn file_layer_parses_and_rejects_unknown_keys() {
        let c: Config = toml::from_str("listen = \"127.0.0.1:1\"\nlog = \"debug\"").unwrap_or_default();
        assert_eq!(c.listen, "127.0.0.1:1");
        assert_eq!(c.public_base_url, Config::default().public_base_url);
        assert!(toml::from_str::<Config>("lisen = 1").is_err());
    }

    #[test]
    fn redaction_hides_every_secret() {
        let c = Config {
            database_url: Some(Secret::new("postgres://yy:hunter2@db:5432/yy")),
            redis_url: Some(Secret::new("redis://:r3dispw@cache:6379/0")),
            master_key: Some(Secret::new("c2VjcmV0LWtleS1ieXRlcy0zMi1ieXRlcy1sb25nISE=")),
            ..Config::default()
        };
        let shown = c.redacted_toml();
        for secret in ["hunter2", "r3dispw", "c2VjcmV0"] {
            assert!(!shown.contains(secret), "{secret} leaked in:\n{shown}");
        }
        assert!(shown.contains("postgres://yy:***@db:5432/yy"));
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
