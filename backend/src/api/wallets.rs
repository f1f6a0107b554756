//! Wallets (个人账户): the user's balance and statement; admin adjustments.

use crate::domain::Permission;
use poem_openapi::{
    param::{Path, Query},
    payload::Json,
    Object, OpenApi,
};

use super::declared_text::{AdjustmentKindText, IdempotencyKeyText, ReasonText};
use super::{
    error::{ApiError, ErrorCode},
    security::{AdminAuth, UserAuth},
    views::Page,
    ApiTags,
};
use crate::{
    domain::{LedgerEntry as Entry, LedgerKind},
    services::wallets::{Adjustment, WalletError, WalletService},
};

pub struct WalletsApi {
    pub wallets: WalletService,
}

/// One ledger entry.
#[derive(Debug, Object)]
pub struct LedgerEntry {
    /// Entry id.
    pub id: String,
    /// What the entry records.
    pub kind: LedgerKind,
    /// Amount, fen: positive credits, negative debits.
    pub amount_fen: i64,
    /// Balance after this entry, fen.
    pub balance_after_fen: i64,
    /// What it is for (a release, a job, an admin's reason).
    pub reference: String,
    /// Who made it: `user`, `admin` or `system`.
    pub actor_kind: String,
    /// When (Unix epoch ms).
    pub created_at: i64,
}

impl From<Entry> for LedgerEntry {
    fn from(l: Entry) -> Self {
        Self {
            id: l.id,
            kind: l.kind,
            amount_fen: l.amount.0,
            balance_after_fen: l.balance_after.0,
            reference: l.reference,
            actor_kind: l.actor_kind,
            created_at: l.created_at,
        }
    }
}

/// A wallet and its latest entries.
#[derive(Debug, Object)]
pub struct WalletView {
    /// Balance, fen.
    pub balance_fen: i64,
    /// Latest entries first.
    pub entries: Vec<LedgerEntry>,
}

/// An admin's balance adjustment.
#[derive(Debug, Object)]
pub struct AdjustRequest {
    /// Fen to add (negative to take away); not zero, and positive for a gift.
    #[oai(validator(minimum(value = "-10000000"), maximum(value = "10000000")))]
    pub amount_fen: i64,
    /// Why (1-200 characters); kept in the ledger and the audit log.
    pub reason: ReasonText,
    /// The client's idempotency key (8-64 characters).
    pub idempotency_key: IdempotencyKeyText,
    /// `adjustment` (the default) or `gift` (赠送, credits only).
    #[oai(nullable)]
    pub kind: Option<AdjustmentKindText>,
}

/// Whether a wallet's balance equals the sum of its ledger.
#[derive(Debug, Object)]
pub struct WalletAuditObject {
    pub balance_fen: i64,
    /// The sum of every ledger entry of the wallet.
    pub ledger_sum_fen: i64,
    /// `balance_fen == ledger_sum_fen`.
    pub consistent: bool,
}

impl From<WalletError> for ApiError {
    fn from(e: WalletError) -> Self {
        match e {
            WalletError::NotFound => ApiError::new(ErrorCode::NotFound),
            WalletError::Forbidden => ApiError::new(ErrorCode::Forbidden),
            WalletError::AmountNotAllowed => ApiError::field(ErrorCode::AmountNotAllowed, "amount_fen"),
            WalletError::Invalid(field) => ApiError::field(ErrorCode::InvalidValue, field),
            WalletError::Insufficient { .. } => ApiError::field(ErrorCode::InsufficientBalance, "amount_fen"),
            WalletError::OutOfRange => ApiError::field(ErrorCode::AmountOutOfRange, "amount_fen"),
            WalletError::KeyReused => ApiError::field(ErrorCode::IdempotencyKeyReused, "idempotency_key"),
            WalletError::Tenant(t) => t.into(),
            e @ WalletError::Storage(_) => ApiError::internal(&e),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Wallets")]
impl WalletsApi {
    /// The signed-in user's wallet in their enterprise, with its statement.
    #[oai(path = "/wallet", method = "get", operation_id = "wallet_get")]
    async fn mine(
        &self,
        auth: UserAuth,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<WalletView>, ApiError> {
        let page = Page::new(limit.0, offset.0);
        let statement = self.wallets.mine(&auth.0, page.limit, page.offset).await?;
        let entries = statement.entries.into_iter().map(Into::into).collect();
        Ok(Json(WalletView { balance_fen: statement.balance.0, entries }))
    }

    /// A user's wallet and statement, newest first, for admins who see the user.
    #[oai(path = "/enterprises/:id/users/:user_id/wallet", method = "get", operation_id = "wallet_of_user")]
    async fn of_user(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        user_id: Path<String>,
        /// Page size, 1-200 (default 50).
        limit: Query<Option<i64>>,
        /// Rows to skip (default 0).
        offset: Query<Option<i64>>,
    ) -> Result<Json<WalletView>, ApiError> {
        auth.0.require(Permission::UsersWallets)?;
        let page = Page::new(limit.0, offset.0);
        let statement = self.wallets.of_user(&auth.0, &id, &user_id, page.limit, page.offset).await?;
        let entries = statement.entries.into_iter().map(Into::into).collect();
        Ok(Json(WalletView { balance_fen: statement.balance.0, entries }))
    }

    /// Adjust a user's balance (super admins in scope), with a reason; audited.
    #[oai(path = "/enterprises/:id/users/:user_id/wallet/adjustments", method = "post", operation_id = "wallet_adjust")]
    async fn adjust(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        user_id: Path<String>,
        body: Json<AdjustRequest>,
    ) -> Result<Json<LedgerEntry>, ApiError> {
        auth.0.require(Permission::UsersWallets)?;
        let b = body.0;
        let gift = match b.kind.as_deref().map(str::trim) {
            None | Some("adjustment") => false,
            Some("gift") => true,
            Some(_) => return Err(ApiError::field(ErrorCode::InvalidValue, "kind")),
        };
        let adjustment = Adjustment {
            amount_fen: b.amount_fen,
            reason: b.reason.into(),
            idempotency_key: b.idempotency_key.into(),
            gift,
        };
        let entry = self.wallets.adjust(&auth.0, &id, &user_id, &adjustment).await?;
        Ok(Json(entry.into()))
    }

    /// Check that a user's balance equals the sum of their wallet's ledger.
    #[oai(path = "/enterprises/:id/users/:user_id/wallet/audit", method = "get", operation_id = "wallet_audit")]
    async fn audit(
        &self,
        auth: AdminAuth,
        id: Path<String>,
        user_id: Path<String>,
    ) -> Result<Json<WalletAuditObject>, ApiError> {
        auth.0.require(Permission::UsersWallets)?;
        let (balance_fen, ledger_sum_fen) = self.wallets.audit(&auth.0, &id, &user_id).await?;
        Ok(Json(WalletAuditObject { balance_fen, ledger_sum_fen, consistent: balance_fen == ledger_sum_fen }))
    }
}
