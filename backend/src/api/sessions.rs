//! Sessions of end users: password and WeChat sign-in, refresh, sign-out. Refresh and
//! sign-out serve admin sessions too.

use poem::Request;
use poem_openapi::{payload::Json, ApiResponse, Object, OpenApi, Union};

use super::declared_text::{EnterpriseCodeText, WechatAppIdText};
use super::{
    error::ApiError,
    views::{SessionTokens, UserSession},
    ApiTags,
};
use crate::{
    domain::WechatAppKind,
    services::sessions::{SessionService, WechatSignIn},
};

pub struct SessionsApi {
    pub sessions: SessionService,
}

/// Password sign-in of an end user.
#[derive(Debug, Object)]
pub struct SignInRequest {
    /// The enterprise's code (企业标识).
    pub enterprise_code: EnterpriseCodeText,
    /// User name or phone number.
    #[oai(validator(max_length = 128))]
    pub login: String,
    /// Password.
    #[oai(validator(max_length = 256))]
    pub password: String,
    /// Optional: a WeChat registration token to bind that WeChat identity to this account.
    #[oai(validator(max_length = 2048))]
    #[oai(nullable)]
    pub wechat_registration_token: Option<String>,
}

/// WeChat sign-in with the code WeChat handed to the page or mini-program.
#[derive(Debug, Object)]
pub struct WechatSignInRequest {
    /// The enterprise's code (企业标识).
    pub enterprise_code: EnterpriseCodeText,
    /// The `code` from the official-account redirect, or from `wx.login` in the mini-program.
    #[oai(validator(max_length = 256))]
    pub code: String,
}

/// Sign-in from the mini-program with a `wx.login` code.
#[derive(Debug, Object)]
pub struct MiniProgramSignInRequest {
    /// The mini-program's AppID (`wx.getAccountInfoSync().miniProgram.appId`).
    pub app_id: WechatAppIdText,
    /// The `code` from `wx.login` (each code signs in once).
    #[oai(validator(max_length = 256))]
    pub code: String,
    /// The enterprise (企业标识) a new user chose; absent for a returning user, who is signed in
    /// by the code alone.
    #[oai(nullable)]
    pub enterprise_code: Option<EnterpriseCodeText>,
}

/// The WeChat user is new and has not said which enterprise: choose one, then sign in again
/// with a fresh `wx.login` code and `enterprise_code`.
#[derive(Debug, Object)]
pub struct EnterpriseRequired {
    /// Always `true`; the status says it all.
    pub choose_enterprise: bool,
}

/// The outcome of a mini-program sign-in.
#[derive(Debug, Union)]
#[oai(discriminator_name = "status")]
pub enum MiniProgramSignInResult {
    /// Signed in as the bound user.
    #[oai(mapping = "signed_in")]
    SignedIn(UserSession),
    /// Registration step needed (under the enterprise given).
    #[oai(mapping = "registration_required")]
    RegistrationRequired(RegistrationRequired),
    /// A new WeChat user: the enterprise is needed first.
    #[oai(mapping = "enterprise_required")]
    EnterpriseRequired(EnterpriseRequired),
}

/// A refresh token presented for rotation or sign-out.
#[derive(Debug, Object)]
pub struct RefreshRequest {
    /// The current refresh token.
    #[oai(validator(max_length = 2048))]
    pub refresh_token: String,
}

/// The WeChat identity is not yet bound: register, or sign in with a password, presenting
/// `registration_token`.
#[derive(Debug, Object)]
pub struct RegistrationRequired {
    /// One-time token standing for the WeChat identity.
    pub registration_token: String,
    /// Seconds the token stays valid.
    pub expires_in: u64,
}

/// The outcome of a WeChat sign-in.
#[derive(Debug, Union)]
#[oai(discriminator_name = "status")]
pub enum WechatSignInResult {
    /// Signed in as the bound user.
    #[oai(mapping = "signed_in")]
    SignedIn(UserSession),
    /// Registration step needed.
    #[oai(mapping = "registration_required")]
    RegistrationRequired(RegistrationRequired),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// The client's address for rate limiting: the TCP peer. (Behind a reverse proxy every
/// client shares the proxy's address; trusted forwarding headers are a later setting.)
pub(super) fn client_ip(req: &Request) -> String {
    match req.remote_addr().as_socket_addr() {
        Some(addr) => addr.ip().to_string(),
        None => "unknown".into(),
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Sessions")]
impl SessionsApi {
    /// Sign in an end user with user name or phone and password.
    #[oai(path = "/sessions", method = "post", operation_id = "session_sign_in")]
    async fn sign_in(&self, req: &Request, body: Json<SignInRequest>) -> Result<Json<UserSession>, ApiError> {
        let b = body.0;
        let (user, tokens) = self
            .sessions
            .user_sign_in(
                &b.enterprise_code,
                &b.login,
                &b.password,
                b.wechat_registration_token.as_deref(),
                &client_ip(req),
            )
            .await?;
        Ok(Json(UserSession { user: user.into(), tokens: tokens.into() }))
    }

    /// Sign in through the enterprise's WeChat official account (网页授权 code).
    #[oai(
        path = "/sessions/wechat-official-account",
        method = "post",
        operation_id = "session_wechat_official_account"
    )]
    async fn wechat_official_account(
        &self,
        req: &Request,
        body: Json<WechatSignInRequest>,
    ) -> Result<Json<WechatSignInResult>, ApiError> {
        self.wechat(WechatAppKind::OfficialAccount, req, body.0).await
    }

    /// Sign in through the WeChat mini-program (`wx.login` code). A returning user is signed in
    /// by the code alone; a new one is asked for the enterprise, then registers.
    #[oai(path = "/sessions/wechat-mini-program", method = "post", operation_id = "session_wechat_mini_program")]
    async fn wechat_mini_program(
        &self,
        req: &Request,
        body: Json<MiniProgramSignInRequest>,
    ) -> Result<Json<MiniProgramSignInResult>, ApiError> {
        let b = body.0;
        let outcome = self
            .sessions
            .mini_program_sign_in(b.app_id.trim(), b.enterprise_code.as_deref(), &b.code, &client_ip(req))
            .await?;
        Ok(Json(match outcome {
            Some(WechatSignIn::SignedIn(user, tokens)) => {
                MiniProgramSignInResult::SignedIn(UserSession { user: (*user).into(), tokens: tokens.into() })
            }
            Some(WechatSignIn::RegistrationRequired { registration_token, expires_in_secs }) => {
                MiniProgramSignInResult::RegistrationRequired(RegistrationRequired {
                    registration_token,
                    expires_in: expires_in_secs,
                })
            }
            None => MiniProgramSignInResult::EnterpriseRequired(EnterpriseRequired { choose_enterprise: true }),
        }))
    }

    /// Exchange a refresh token for new tokens. The presented token is used up; presenting
    /// it again revokes the whole session.
    #[oai(path = "/sessions/refresh", method = "post", operation_id = "session_refresh")]
    async fn refresh(&self, body: Json<RefreshRequest>) -> Result<Json<SessionTokens>, ApiError> {
        Ok(Json(self.sessions.refresh(&body.refresh_token).await?.into()))
    }

    /// Sign out: revoke the session of this refresh token, and its access tokens.
    #[oai(path = "/sessions/sign-out", method = "post", operation_id = "session_sign_out")]
    async fn sign_out(&self, body: Json<RefreshRequest>) -> Result<NoContent, ApiError> {
        self.sessions.revoke(&body.refresh_token).await?;
        Ok(NoContent::Done)
    }
}

impl SessionsApi {
    async fn wechat(
        &self,
        kind: WechatAppKind,
        req: &Request,
        b: WechatSignInRequest,
    ) -> Result<Json<WechatSignInResult>, ApiError> {
        let outcome = self.sessions.wechat_sign_in(kind, &b.enterprise_code, &b.code, &client_ip(req)).await?;
        Ok(Json(match outcome {
            WechatSignIn::SignedIn(user, tokens) => {
                WechatSignInResult::SignedIn(UserSession { user: (*user).into(), tokens: tokens.into() })
            }
            WechatSignIn::RegistrationRequired { registration_token, expires_in_secs } => {
                WechatSignInResult::RegistrationRequired(RegistrationRequired {
                    registration_token,
                    expires_in: expires_in_secs,
                })
            }
        }))
    }
}
