//! Printing tokens (打印令牌): a user's secrets for adding the enterprise's IPP Everywhere
//! printer on a PC or Mac. The secret is shown once, when made; the list shows names and the
//! secret's last four characters; deleting a token revokes it at once.

use poem_openapi::{param::Path, payload::Json, ApiResponse, Object, OpenApi};

use super::{
    declared_text::NameText,
    error::{ApiError, ErrorCode},
    security::UserAuth,
    ApiTags,
};
use crate::services::printing_tokens::{CreatedPrintingToken, PrintingToken, PrintingTokenError, PrintingTokenService};

pub struct PrintingTokensApi {
    pub tokens: PrintingTokenService,
}

/// A new printing token.
#[derive(Debug, Object)]
pub struct CreatePrintingTokenRequest {
    /// A name to tell the computer by ("office PC"), 1-64 characters.
    pub name: NameText,
}

/// A printing token as listed (the secret is never shown again).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PrintingTokenView {
    /// Token id.
    pub id: String,
    /// The name given to it.
    pub name: String,
    /// The secret's last four characters, to tell tokens apart.
    pub hint: String,
    /// When it was made (Unix epoch ms).
    pub created_at: i64,
    /// When a printer request last signed in with it (Unix epoch ms).
    pub last_used_at: Option<i64>,
}

impl From<PrintingToken> for PrintingTokenView {
    fn from(t: PrintingToken) -> Self {
        Self { id: t.id, name: t.name, hint: t.hint, created_at: t.created_at, last_used_at: t.last_used_at }
    }
}

/// A token just made, with its secret: shown this once.
#[derive(Debug, Object)]
pub struct CreatedPrintingTokenView {
    /// The token as it will be listed.
    pub token: PrintingTokenView,
    /// The secret: give it as the password when the computer asks (with your user name or
    /// phone as the user name). It is not stored and cannot be shown again.
    pub secret: String,
}

impl From<CreatedPrintingToken> for CreatedPrintingTokenView {
    fn from(c: CreatedPrintingToken) -> Self {
        Self { token: c.token.into(), secret: c.secret }
    }
}

#[derive(ApiResponse)]
pub enum TokenCreated {
    /// Made; the secret is in the answer, once.
    #[oai(status = 201)]
    Created(Json<CreatedPrintingTokenView>),
}

impl From<PrintingTokenError> for ApiError {
    fn from(e: PrintingTokenError) -> Self {
        match e {
            PrintingTokenError::NotFound => ApiError::new(ErrorCode::NotFound),
            PrintingTokenError::Invalid { field, source } => (field, source).into(),
            PrintingTokenError::TooMany(_) => ApiError::new(ErrorCode::TooManyPrintingTokens),
            PrintingTokenError::Session(s) => s.into(),
            PrintingTokenError::Tenant(t) => t.into(),
            PrintingTokenError::Cache(c) => {
                tracing::error!(error = %c, "cache unavailable");
                ApiError::new(ErrorCode::ServiceUnavailable)
            }
            e @ PrintingTokenError::Storage(_) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Jobs")]
impl PrintingTokensApi {
    /// Make a printing token for a PC or Mac. The answer carries the secret, once: use it as
    /// the password of the enterprise's printer (`/ipp/print/{enterprise_code}`).
    #[oai(path = "/me/printing-tokens", method = "post", operation_id = "printing_token_create")]
    #[tracing::instrument(skip_all)]
    async fn create(&self, auth: UserAuth, body: Json<CreatePrintingTokenRequest>) -> Result<TokenCreated, ApiError> {
        Ok(TokenCreated::Created(Json(self.tokens.create(&auth.0, &body.0.name.into_string()).await?.into())))
    }

    /// The signed-in user's printing tokens, newest first.
    #[oai(path = "/me/printing-tokens", method = "get", operation_id = "printing_token_list")]
    #[tracing::instrument(skip_all)]
    async fn list(&self, auth: UserAuth) -> Result<Json<Vec<PrintingTokenView>>, ApiError> {
        Ok(Json(self.tokens.list(&auth.0).await?.into_iter().map(Into::into).collect()))
    }

    /// Revoke one of the signed-in user's printing tokens: computers using it are asked for
    /// credentials again.
    #[oai(path = "/me/printing-tokens/:id", method = "delete", operation_id = "printing_token_delete")]
    #[tracing::instrument(skip_all)]
    async fn delete(&self, auth: UserAuth, id: Path<String>) -> Result<(), ApiError> {
        self.tokens.delete(&auth.0, &id).await?;
        Ok(())
    }
}
