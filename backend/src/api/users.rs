//! End users: registration and their own profile.

use poem_openapi::{payload::Json, ApiResponse, Object, OpenApi};

use super::declared_text::{
    EnterpriseCodeText, NameOrBlankText, NewPasswordOrBlankText, NewPasswordText, PhoneOrBlankText, UsernameOrBlankText,
};
use super::{
    error::ApiError,
    security::UserAuth,
    views::{UserSession, UserView},
    ApiTags,
};
use crate::services::users::{Registration, UserService};

pub struct UsersApi {
    pub users: UserService,
}

/// Registration under an enterprise. Give a user name and/or phone with a password, or a
/// WeChat registration token from a WeChat sign-in (a password is then optional).
#[derive(Debug, Object)]
pub struct RegisterRequest {
    /// The enterprise's code (企业标识), chosen from the directory.
    pub enterprise_code: EnterpriseCodeText,
    /// Login name: 3-32 letters, digits, `_`, `.` or `-`, not only digits.
    #[oai(nullable)]
    pub username: Option<UsernameOrBlankText>,
    /// Mobile phone number; also usable to sign in.
    #[oai(nullable)]
    pub phone: Option<PhoneOrBlankText>,
    /// 8-128 characters with a letter and a digit.
    #[oai(nullable)]
    pub password: Option<NewPasswordOrBlankText>,
    /// Name shown in the apps; defaults to the user name or masked phone.
    #[oai(nullable)]
    pub display_name: Option<NameOrBlankText>,
    /// From a WeChat sign-in that answered `registration_required`: binds that WeChat
    /// identity to the new account.
    #[oai(validator(max_length = 2048))]
    #[oai(nullable)]
    pub wechat_registration_token: Option<String>,
}

/// A password change.
#[derive(Debug, Object)]
pub struct ChangePasswordRequest {
    /// The current password.
    #[oai(validator(max_length = 256))]
    pub current_password: String,
    /// The new password: 8-128 characters with a letter and a digit.
    pub new_password: NewPasswordText,
}

#[derive(ApiResponse)]
enum RegisterResponse {
    /// Registered and signed in.
    #[oai(status = 201)]
    Created(Json<UserSession>),
}

#[derive(ApiResponse)]
enum NoContent {
    /// Done.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Users")]
impl UsersApi {
    /// Register an end user under an enterprise and sign them in.
    #[oai(path = "/users", method = "post", operation_id = "user_register")]
    async fn register(&self, body: Json<RegisterRequest>) -> Result<RegisterResponse, ApiError> {
        let r = body.0;
        let (user, tokens) = self
            .users
            .register(Registration {
                enterprise_code: r.enterprise_code.into(),
                username: r.username.map(Into::into),
                phone: r.phone.map(Into::into),
                password: r.password.map(Into::into),
                display_name: r.display_name.map(Into::into),
                wechat_registration_token: r.wechat_registration_token,
            })
            .await?;
        Ok(RegisterResponse::Created(Json(UserSession { user: user.into(), tokens: tokens.into() })))
    }

    /// The signed-in user's own profile.
    #[oai(path = "/me", method = "get", operation_id = "user_me")]
    async fn me(&self, auth: UserAuth) -> Result<Json<UserView>, ApiError> {
        Ok(Json(self.users.me(&auth.0).await?.into()))
    }

    /// Change the signed-in user's password.
    #[oai(path = "/me/password", method = "put", operation_id = "user_change_password")]
    async fn change_password(&self, auth: UserAuth, body: Json<ChangePasswordRequest>) -> Result<NoContent, ApiError> {
        self.users.change_password(&auth.0, &body.current_password, &body.new_password).await?;
        Ok(NoContent::Done)
    }
}
