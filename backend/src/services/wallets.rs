//! Wallets (个人账户) as this issue needs them: the user's balance and statement, and admin
//! adjustments with a reason, audited. Every change is a ledger entry with an idempotency key;
//! top-ups through WeChat Pay and Alipay come with payments.

use crate::{
    domain::{Fen, LedgerEntry, LedgerKind, ValueError},
    infra::{new_id, now_ms},
    services::{
        authz::{AdminPrincipal, UserPrincipal},
        tenants::{TenantError, TenantService},
    },
    storage::{
        audit::{AuditEntry, AuditRepo},
        users::UserRepo,
        wallets::{Applied, Change, WalletRepo},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// Zero, or a gift that takes money away: a rule of the operation, not of the range.
    #[error("this amount is not allowed for this change")]
    AmountNotAllowed,
    #[error("the adjustment would make the balance negative (balance {balance_fen})")]
    Insufficient { balance_fen: i64 },
    /// An adjustment larger than `Fen::MAX_AMOUNT`, or one that would take the balance past
    /// `Fen::MAX_BALANCE`.
    #[error("amount out of range")]
    OutOfRange,
    #[error("idempotency key reused for a different change")]
    KeyReused,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// A balance change by an admin.
#[derive(Debug, Clone)]
pub struct Adjustment {
    /// Fen to add (negative to take away); not zero.
    pub amount_fen: i64,
    pub reason: String,
    /// The admin client's idempotency key (8-64 characters).
    pub idempotency_key: String,
    /// A gift (赠送): a credit recorded as a gift rather than an adjustment.
    pub gift: bool,
}

/// A wallet's balance and a page of its ledger, newest first.
#[derive(Debug, Clone)]
pub struct WalletStatement {
    pub balance: Fen,
    pub entries: Vec<LedgerEntry>,
}

#[derive(Clone)]
pub struct WalletService {
    repo: WalletRepo,
    users: UserRepo,
    audit: AuditRepo,
    tenants: TenantService,
}

impl WalletService {
    pub fn new(pool: sqlx::AnyPool, tenants: TenantService) -> Self {
        Self {
            repo: WalletRepo::new(pool.clone()),
            users: UserRepo::new(pool.clone()),
            audit: AuditRepo::new(pool),
            tenants,
        }
    }

    /// The user's wallet and its latest entries.
    pub async fn mine(&self, who: &UserPrincipal, limit: i64, offset: i64) -> Result<WalletStatement, WalletError> {
        let w = self.repo.ensure(&who.user_id, &who.enterprise_id, now_ms()).await?;
        let entries = self.repo.ledger(&w.id, limit, offset).await?;
        Ok(WalletStatement { balance: Fen(w.balance_fen), entries: entries.into_iter().map(Into::into).collect() })
    }

    /// Credits (positive) or debits (negative) a user's wallet, by a super admin in scope,
    /// with a reason; audited. A gift (赠送) is a credit recorded as such. Retrying with the
    /// same key changes nothing more.
    pub async fn adjust(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        user_id: &str,
        adjustment: &Adjustment,
    ) -> Result<LedgerEntry, WalletError> {
        let Adjustment { amount_fen, reason, idempotency_key, gift } = adjustment;
        let (amount_fen, gift) = (*amount_fen, *gift);
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        let user = self.users.get(user_id).await?.filter(|u| u.enterprise_id == e.id).ok_or(WalletError::NotFound)?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 200 {
            return Err(WalletError::Invalid("reason"));
        }
        match Fen::movement(amount_fen) {
            Err(ValueError::AmountOutOfRange) => return Err(WalletError::OutOfRange),
            Err(_) => return Err(WalletError::AmountNotAllowed),
            Ok(_) if gift && amount_fen < 0 => return Err(WalletError::AmountNotAllowed),
            Ok(_) => {}
        }
        if !(8..=64).contains(&idempotency_key.chars().count()) {
            return Err(WalletError::Invalid("idempotency_key"));
        }
        if !actor.is_super() {
            return Err(WalletError::Forbidden);
        }
        let w = self.repo.ensure(&user.id, &e.id, now_ms()).await?;
        let key = format!("adjust:{}:{idempotency_key}", actor.admin_id);
        let change = Change {
            kind: if gift { LedgerKind::Gift } else { LedgerKind::AdminAdjustment },
            amount_fen,
            reference: reason,
            actor_kind: "admin",
            actor_id: &actor.admin_id,
            idempotency_key: &key,
        };
        let mut tx = crate::storage::begin_write(self.repo.pool()).await?;
        let applied = WalletRepo::apply(&mut tx, &w.id, &change, now_ms()).await?;
        let entry = match applied {
            Applied::Done(entry) => entry,
            Applied::AlreadyDone(entry) if entry.amount_fen == amount_fen && entry.wallet_id == w.id => {
                tx.rollback().await?;
                return Ok(entry.into());
            }
            Applied::AlreadyDone(_) => {
                tx.rollback().await?;
                return Err(WalletError::KeyReused);
            }
            Applied::Insufficient { balance_fen } => {
                tx.rollback().await?;
                return Err(WalletError::Insufficient { balance_fen });
            }
            Applied::OverCeiling { .. } => {
                tx.rollback().await?;
                return Err(WalletError::OutOfRange);
            }
        };
        tx.commit().await?;
        let audit = AuditEntry {
            id: new_id(),
            at: entry.created_at,
            actor_kind: "admin".into(),
            actor_id: actor.admin_id.clone(),
            action: format!("wallet.{} {amount_fen} fen: {reason}", if gift { "gift" } else { "adjust" }),
            target_kind: "user".into(),
            target_id: user.id.clone(),
        };
        if let Err(err) = self.audit.record(&audit).await {
            tracing::error!(error = %err, "wallet adjustment applied but not audited");
        }
        Ok(entry.into())
    }

    /// Balance and ledger sum of a user's wallet in scope of an admin (they must agree).
    pub async fn audit(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        user_id: &str,
    ) -> Result<(i64, i64), WalletError> {
        let (user_id, enterprise_id) = self.visible_user(actor, enterprise_id, user_id).await?;
        self.check(&user_id, &enterprise_id).await
    }

    /// A user's wallet and statement, newest first, for an admin who sees the user.
    pub async fn of_user(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        user_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<WalletStatement, WalletError> {
        let (user_id, enterprise_id) = self.visible_user(actor, enterprise_id, user_id).await?;
        let w = self.repo.ensure(&user_id, &enterprise_id, now_ms()).await?;
        let entries = self.repo.ledger(&w.id, limit, offset).await?;
        Ok(WalletStatement { balance: Fen(w.balance_fen), entries: entries.into_iter().map(Into::into).collect() })
    }

    /// The user and enterprise ids of a user the admin sees: region and group admins see the
    /// wallets of the users they see (404 otherwise).
    async fn visible_user(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        user_id: &str,
    ) -> Result<(String, String), WalletError> {
        let e = self.tenants.enterprise(actor, enterprise_id).await?;
        let user = self.users.get(user_id).await?.filter(|u| u.enterprise_id == e.id).ok_or(WalletError::NotFound)?;
        if !self.users.visible_to(&user.id, &actor.scoped()).await? {
            return Err(WalletError::NotFound);
        }
        Ok((user.id, e.id))
    }

    /// Balance and ledger sum of a user's wallet (they must agree).
    pub async fn check(&self, user_id: &str, enterprise_id: &str) -> Result<(i64, i64), WalletError> {
        let w = self.repo.ensure(user_id, enterprise_id, now_ms()).await?;
        Ok(self.repo.audit(&w.id).await?)
    }
}
