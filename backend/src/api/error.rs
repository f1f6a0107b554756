//! The one error shape of the API, `{code, message, field}`, with stable codes. Messages are
//! zh-CN by default and English on request. A 500's cause is logged, never sent.

use poem::http::StatusCode;
use poem_openapi::{payload::Json, ApiResponse, Object};

use crate::{
    domain::ValueError,
    i18n::Lang,
    services::{
        admins::AdminError, sessions::SessionError, tenants::TenantError, tokens::TokenError, users::UserError,
        wechat::WechatError,
    },
};

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $zh:literal, $en:literal;)*) => {
        /// Every error code the API can answer with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),* }
            }

            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status),* }
            }

            pub fn message(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $((ErrorCode::$variant, Lang::ZhCn) => $zh, (ErrorCode::$variant, Lang::En) => $en),*
                }
            }
        }
    };
}

error_codes! {
    InvalidRequest = "invalid_request", 400, "请求格式不正确", "The request is malformed";
    InvalidEnterpriseCode = "invalid_enterprise_code", 400, "企业标识应为 3-32 位字母、数字、“-”或“_”", "Enterprise code must be 3-32 letters, digits, '-' or '_'";
    InvalidPhone = "invalid_phone", 400, "手机号格式不正确", "Not a valid mobile phone number";
    InvalidUsername = "invalid_username", 400, "用户名应为 3-32 位字母、数字、“_”“.”或“-”，且不能全为数字", "User name must be 3-32 letters, digits, '_', '.' or '-', and not only digits";
    WeakPassword = "weak_password", 400, "密码应为 8-128 位，且同时包含字母和数字", "Password must be 8-128 characters with at least one letter and one digit";
    InvalidName = "invalid_name", 400, "名称应为 1-64 个可打印字符", "Name must be 1-64 printable characters";
    InvalidWechatAppId = "invalid_wechat_app_id", 400, "微信 AppID 格式不正确（wx 开头，共 18 位）", "Not a WeChat AppID (wx followed by 16 letters or digits)";
    InvalidWechatAppSecret = "invalid_wechat_app_secret", 400, "微信 AppSecret 格式不正确", "Not a WeChat AppSecret";
    InvalidValue = "invalid_value", 400, "取值不在允许范围内", "Value is not one of the allowed values";
    UnknownReference = "unknown_reference", 400, "引用的对象不存在或无权访问", "The referenced object does not exist or is out of your scope";
    MissingCredentials = "missing_credentials", 400, "请填写用户名或手机号及密码，或使用微信注册", "Give a user name or phone number with a password, or register with WeChat";
    RegionsMismatch = "regions_mismatch", 400, "区域管理员必须分配至少一个区域，其他角色不能分配区域", "Region admins need at least one region, and only region admins have regions";
    WrongPassword = "wrong_password", 400, "当前密码不正确", "The current password is wrong";
    RegistrationTokenInvalid = "registration_token_invalid", 400, "微信注册凭证无效或已过期，请重新微信登录", "WeChat registration token is invalid or expired; sign in with WeChat again";
    WechatCodeInvalid = "wechat_code_invalid", 400, "微信授权码无效（40029），请重新授权", "WeChat code is invalid (40029); authorise again";
    WechatCodeUsed = "wechat_code_used", 400, "微信授权码已被使用（40163），请重新授权", "WeChat code was already used (40163); authorise again";
    Unauthenticated = "unauthenticated", 401, "请先登录", "Sign in first";
    TokenExpired = "token_expired", 401, "登录已过期，请刷新或重新登录", "Access token expired; refresh it or sign in again";
    SessionRevoked = "session_revoked", 401, "会话已退出，请重新登录", "The session was signed out; sign in again";
    InvalidCredentials = "invalid_credentials", 401, "账号或密码错误", "Wrong login or password";
    RefreshTokenInvalid = "refresh_token_invalid", 401, "刷新凭证无效或已过期，请重新登录", "Refresh token is invalid or expired; sign in again";
    RefreshTokenReused = "refresh_token_reused", 401, "检测到刷新凭证被重复使用，已退出该会话，请重新登录", "Refresh token reuse detected; the session was revoked, sign in again";
    Forbidden = "forbidden", 403, "没有执行此操作的权限", "You are not allowed to do this";
    AdminRequired = "admin_required", 403, "需要管理员账号", "An admin account is required";
    UserRequired = "user_required", 403, "需要用户账号", "A user account is required";
    AccountDisabled = "account_disabled", 403, "账号已停用", "The account is disabled";
    EnterpriseSuspended = "enterprise_suspended", 403, "企业已停用，请联系服务商", "The enterprise is suspended; contact its service provider";
    NotFound = "not_found", 404, "资源不存在", "Not found";
    EnterpriseNotFound = "enterprise_not_found", 404, "未找到该企业，请检查企业标识", "No enterprise with this code; check the enterprise code";
    MethodNotAllowed = "method_not_allowed", 405, "不支持该请求方法", "Method not allowed";
    EnterpriseCodeTaken = "enterprise_code_taken", 409, "企业标识已被使用", "Enterprise code already taken";
    AccountExists = "account_exists", 409, "该账号已注册", "An account with this login already exists";
    UsernameTaken = "username_taken", 409, "用户名已被使用", "User name already taken";
    WechatAlreadyBound = "wechat_already_bound", 409, "该微信已绑定其他账号", "This WeChat identity is already bound to another account";
    WechatNotConfigured = "wechat_not_configured", 409, "该企业尚未配置微信登录", "WeChat sign-in is not configured for this enterprise";
    UnsupportedMediaType = "unsupported_media_type", 415, "不支持的内容类型", "Unsupported content type";
    AccountLocked = "account_locked", 429, "密码错误次数过多，账号已临时锁定，请稍后再试", "Too many failed sign-ins; the account is locked for a while";
    TooManyRequests = "too_many_requests", 429, "请求过于频繁，请稍后再试", "Too many requests; try again later";
    InternalError = "internal_error", 500, "服务器内部错误，请稍后重试", "Internal server error; please retry later";
    WechatAppMisconfigured = "wechat_app_misconfigured", 502, "企业的微信 AppID 或 AppSecret 被微信拒绝，请联系管理员", "WeChat rejected the enterprise's AppID or AppSecret; contact your admin";
    WechatError = "wechat_error", 502, "微信接口返回错误，请稍后重试", "WeChat answered with an error; please retry later";
    WechatUnavailable = "wechat_unavailable", 503, "微信服务暂时不可用，请稍后重试", "WeChat is unavailable; please retry later";
    ServiceUnavailable = "service_unavailable", 503, "服务暂时不可用，请稍后重试", "Service temporarily unavailable";
}

/// The body of every error response.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `invalid_phone`. Clients branch on this.
    pub code: String,
    /// Human-readable message: zh-CN by default, English when `Accept-Language` prefers it.
    pub message: String,
    /// The request field at fault, for validation errors.
    #[oai(skip_serializing_if_is_none)]
    pub field: Option<String>,
}

/// Every error response of the API.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is invalid; `field` names the field at fault.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Not signed in, or the token is invalid, expired or revoked.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Signed in, but not allowed.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// Does not exist, or is outside the caller's scope.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The path exists but not with this method.
    #[oai(status = 405)]
    MethodNotAllowed(Json<ErrorBody>),
    /// Conflicts with existing data (duplicates).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The request body's content type is not accepted.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// Rate limited; retry after the given number of seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// An unexpected server error; the cause is logged under the request id.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// An upstream service (WeChat) refused the request.
    #[oai(status = 502)]
    BadGateway(Json<ErrorBody>),
    /// A dependency is unavailable; retry later.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self::build(code, None, None, 60)
    }

    pub fn field(code: ErrorCode, field: &str) -> Self {
        Self::build(code, Some(field.to_string()), None, 60)
    }

    pub fn retry_after(code: ErrorCode, secs: u64) -> Self {
        Self::build(code, None, None, secs)
    }

    /// An unexpected failure: logs the cause, answers a generic message.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::InternalError)
    }

    /// `detail` (the parser's own words, in English) is appended to the message.
    fn build(code: ErrorCode, field: Option<String>, detail: Option<&str>, retry_after: u64) -> Self {
        let lang = Lang::current();
        let mut message = code.message(lang).to_string();
        if let Some(detail) = detail {
            message.push_str(if lang == Lang::ZhCn { "：" } else { ": " });
            message.push_str(detail);
        }
        let body = Json(ErrorBody { code: code.as_str().into(), message, field });
        match code.status() {
            400 => ApiError::BadRequest(body),
            405 => ApiError::MethodNotAllowed(body),
            415 => ApiError::UnsupportedMediaType(body),
            401 => ApiError::Unauthorized(body),
            403 => ApiError::Forbidden(body),
            404 => ApiError::NotFound(body),
            409 => ApiError::Conflict(body),
            429 => ApiError::TooManyRequests(body, retry_after),
            502 => ApiError::BadGateway(body),
            503 => ApiError::Unavailable(body),
            _ => ApiError::Internal(body),
        }
    }

    pub fn code(&self) -> &str {
        match self {
            ApiError::BadRequest(b)
            | ApiError::Unauthorized(b)
            | ApiError::Forbidden(b)
            | ApiError::NotFound(b)
            | ApiError::Conflict(b)
            | ApiError::MethodNotAllowed(b)
            | ApiError::UnsupportedMediaType(b)
            | ApiError::TooManyRequests(b, _)
            | ApiError::Internal(b)
            | ApiError::BadGateway(b)
            | ApiError::Unavailable(b) => &b.0.code,
        }
    }
}

/// The response for an error that poem or poem-openapi raised before a handler ran
/// (unparsable body, missing parameter, unknown route), in the same shape as ours.
pub fn framework_error_response(err: poem::Error) -> poem::Response {
    use poem::IntoResponse;
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
    };
    let api = if let Some(e) = err.downcast_ref::<ParseParamError>() {
        ApiError::build(ErrorCode::InvalidRequest, Some(e.name.into()), Some(&e.reason), 0)
    } else if let Some(e) = err.downcast_ref::<ParsePathError>() {
        ApiError::build(ErrorCode::InvalidRequest, Some(e.name.into()), Some(&e.reason), 0)
    } else if let Some(e) = err.downcast_ref::<ParseRequestPayloadError>() {
        ApiError::build(ErrorCode::InvalidRequest, None, Some(&e.reason), 0)
    } else if let Some(e) = err.downcast_ref::<poem_openapi::error::ParseMultipartError>() {
        ApiError::build(ErrorCode::InvalidRequest, None, Some(&e.reason), 0)
    } else if err.is::<ContentTypeError>() {
        ApiError::new(ErrorCode::UnsupportedMediaType)
    } else if err.is::<AuthorizationError>() {
        ApiError::new(ErrorCode::Unauthenticated)
    } else if err.is_from_response() {
        // Already one of ours (ApiError converted for a security checker).
        return err.into_response();
    } else {
        match err.status() {
            StatusCode::NOT_FOUND => ApiError::new(ErrorCode::NotFound),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::new(ErrorCode::MethodNotAllowed),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(ErrorCode::UnsupportedMediaType),
            StatusCode::BAD_REQUEST => ApiError::new(ErrorCode::InvalidRequest),
            StatusCode::SERVICE_UNAVAILABLE => ApiError::new(ErrorCode::ServiceUnavailable),
            s if s.is_server_error() => ApiError::internal(&err),
            s => {
                tracing::debug!(status = %s, error = %err, "framework error");
                ApiError::new(ErrorCode::InvalidRequest)
            }
        }
    };
    api.into_response()
}

impl From<(&'static str, ValueError)> for ApiError {
    fn from((field, e): (&'static str, ValueError)) -> Self {
        let code = match e {
            ValueError::EnterpriseCode => ErrorCode::InvalidEnterpriseCode,
            ValueError::Phone => ErrorCode::InvalidPhone,
            ValueError::Username => ErrorCode::InvalidUsername,
            ValueError::WeakPassword => ErrorCode::WeakPassword,
            ValueError::Name => ErrorCode::InvalidName,
            ValueError::WechatAppId => ErrorCode::InvalidWechatAppId,
            ValueError::WechatAppSecret => ErrorCode::InvalidWechatAppSecret,
            ValueError::UnknownVariant => ErrorCode::InvalidValue,
        };
        ApiError::field(code, field)
    }
}

impl From<TenantError> for ApiError {
    fn from(e: TenantError) -> Self {
        match e {
            TenantError::NotFound => ApiError::new(ErrorCode::NotFound),
            TenantError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            TenantError::Invalid { field, source } => (field, source).into(),
            TenantError::UnknownReference { field } => ApiError::field(ErrorCode::UnknownReference, field),
            TenantError::CodeTaken => ApiError::field(ErrorCode::EnterpriseCodeTaken, "code"),
            e @ (TenantError::Secret(_) | TenantError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

impl From<WechatError> for ApiError {
    fn from(e: WechatError) -> Self {
        match e {
            WechatError::InvalidCode => ApiError::field(ErrorCode::WechatCodeInvalid, "code"),
            WechatError::CodeUsed => ApiError::field(ErrorCode::WechatCodeUsed, "code"),
            WechatError::AppRejected(code) => {
                tracing::warn!(errcode = code, "WeChat rejected the enterprise's app credentials");
                ApiError::new(ErrorCode::WechatAppMisconfigured)
            }
            WechatError::Unavailable(reason) => {
                tracing::warn!(%reason, "WeChat unavailable");
                ApiError::new(ErrorCode::WechatUnavailable)
            }
            WechatError::Other { code, message } => {
                tracing::warn!(errcode = code, errmsg = %message, "WeChat error");
                ApiError::new(ErrorCode::WechatError)
            }
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Invalid { field, source } => (field, source).into(),
            SessionError::EnterpriseNotFound => ApiError::field(ErrorCode::EnterpriseNotFound, "enterprise_code"),
            SessionError::EnterpriseSuspended => ApiError::new(ErrorCode::EnterpriseSuspended),
            SessionError::InvalidCredentials => ApiError::new(ErrorCode::InvalidCredentials),
            SessionError::AccountLocked { retry_after_secs } => {
                ApiError::retry_after(ErrorCode::AccountLocked, retry_after_secs)
            }
            SessionError::TooManyAttempts { retry_after_secs } => {
                ApiError::retry_after(ErrorCode::TooManyRequests, retry_after_secs)
            }
            SessionError::AccountDisabled => ApiError::new(ErrorCode::AccountDisabled),
            SessionError::InvalidToken(TokenError::Expired) => ApiError::new(ErrorCode::TokenExpired),
            SessionError::InvalidToken(_) => ApiError::new(ErrorCode::Unauthenticated),
            SessionError::SessionRevoked => ApiError::new(ErrorCode::SessionRevoked),
            SessionError::RefreshInvalid => ApiError::new(ErrorCode::RefreshTokenInvalid),
            SessionError::RefreshReused => ApiError::new(ErrorCode::RefreshTokenReused),
            SessionError::WechatNotConfigured => ApiError::new(ErrorCode::WechatNotConfigured),
            SessionError::Wechat(w) => w.into(),
            SessionError::RegistrationTokenInvalid => {
                ApiError::field(ErrorCode::RegistrationTokenInvalid, "wechat_registration_token")
            }
            SessionError::WechatAlreadyBound => ApiError::new(ErrorCode::WechatAlreadyBound),
            SessionError::Tenant(t) => t.into(),
            SessionError::Cache(c) => {
                tracing::error!(error = %c, "cache unavailable");
                ApiError::new(ErrorCode::ServiceUnavailable)
            }
            e @ (SessionError::Hash(_) | SessionError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Invalid { field, source } => (field, source).into(),
            UserError::MissingCredentials => ApiError::new(ErrorCode::MissingCredentials),
            UserError::EnterpriseNotFound => ApiError::field(ErrorCode::EnterpriseNotFound, "enterprise_code"),
            UserError::EnterpriseSuspended => ApiError::new(ErrorCode::EnterpriseSuspended),
            UserError::AccountExists { field } => ApiError::field(ErrorCode::AccountExists, field),
            UserError::RegistrationTokenInvalid => {
                ApiError::field(ErrorCode::RegistrationTokenInvalid, "wechat_registration_token")
            }
            UserError::WechatAlreadyBound => ApiError::new(ErrorCode::WechatAlreadyBound),
            UserError::WrongPassword => ApiError::field(ErrorCode::WrongPassword, "current_password"),
            UserError::NotFound => ApiError::new(ErrorCode::NotFound),
            UserError::Tenant(t) => t.into(),
            UserError::Session(s) => s.into(),
            e @ (UserError::Hash(_) | UserError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid { field, source } => (field, source).into(),
            AdminError::NotFound => ApiError::new(ErrorCode::NotFound),
            AdminError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            AdminError::UsernameTaken => ApiError::field(ErrorCode::UsernameTaken, "username"),
            AdminError::RegionsMismatch => ApiError::field(ErrorCode::RegionsMismatch, "region_ids"),
            AdminError::UnknownReference { field } => ApiError::field(ErrorCode::UnknownReference, field),
            AdminError::WrongPassword => ApiError::field(ErrorCode::WrongPassword, "current_password"),
            AdminError::Tenant(t) => t.into(),
            AdminError::Session(s) => s.into(),
            e @ (AdminError::Hash(_) | AdminError::Storage(_)) => ApiError::internal(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_and_translated() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
            assert!(!code.message(Lang::ZhCn).is_empty() && !code.message(Lang::En).is_empty());
            assert_ne!(code.message(Lang::ZhCn), code.message(Lang::En), "{s} untranslated");
            assert!((400..600).contains(&code.status()));
        }
    }

    #[test]
    fn messages_follow_the_request_language() {
        let zh = Lang::ZhCn.sync_scope(|| ApiError::new(ErrorCode::NotFound));
        let en = Lang::En.sync_scope(|| ApiError::new(ErrorCode::NotFound));
        match (zh, en) {
            (ApiError::NotFound(zh), ApiError::NotFound(en)) => {
                assert_eq!(zh.0.message, "资源不存在");
                assert_eq!(en.0.message, "Not found");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
