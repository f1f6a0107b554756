//! Printing tokens and HTTP Basic at the IPP printer. A printing token is a per-user secret
//! made in the app for a PC or Mac and given there as the printer's password; only its SHA-256
//! is kept (the secret is 160 random bits, so a slow hash buys nothing). Basic credentials are
//! checked through the sign-in protections of `sessions.rs`; a success is remembered for a
//! minute under a hash of the credentials, so the several requests of one CUPS job pay
//! argon2 once.

use std::{sync::Arc, time::Duration};

use rand::{rngs::OsRng, Rng};
use sha2::{Digest, Sha256};

use crate::{
    domain::{Module, Name, OrgStatus, ValueError},
    infra::{
        cache::{Cache, CacheError},
        new_id, now_ms,
    },
    services::{
        authz::UserPrincipal,
        sessions::{SessionError, SessionService},
        tenants::{TenantError, TenantService},
    },
    storage::{
        printing_tokens::{PrintingTokenRepo, PrintingTokenRow},
        users::UserRepo,
    },
};

/// Prefix of every printing token: tells a token from a password at a glance.
pub const TOKEN_PREFIX: &str = "ypt_";
/// How long a verified Basic credential is remembered.
const VERIFIED_TTL: Duration = Duration::from_secs(60);
/// Tokens a user may hold at once.
const MAX_TOKENS_PER_USER: i64 = 20;
/// The session id a principal signed in by Basic carries (it has no session).
pub const IPP_SESSION: &str = "ipp";

#[derive(Debug, thiserror::Error)]
pub enum PrintingTokenError {
    #[error("not found")]
    NotFound,
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("a user may hold at most {0} printing tokens")]
    TooMany(i64),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("cache: {0}")]
    Cache(#[from] CacheError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// A printing token as its owner sees it (never the secret, except once at creation).
#[derive(Debug, Clone)]
pub struct PrintingToken {
    pub id: String,
    pub name: String,
    /// The secret's last four characters.
    pub hint: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<PrintingTokenRow> for PrintingToken {
    fn from(r: PrintingTokenRow) -> Self {
        Self { id: r.id, name: r.name, hint: r.hint, created_at: r.created_at, last_used_at: r.last_used_at }
    }
}

/// A new token with its secret, shown this once.
#[derive(Debug, Clone)]
pub struct CreatedPrintingToken {
    pub token: PrintingToken,
    pub secret: String,
}

/// The SHA-256 of a secret, lowercase hex.
fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh secret: the prefix and 32 base-32 characters (160 bits).
fn new_secret() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = OsRng;
    let body: String = (0..32).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
    format!("{TOKEN_PREFIX}{body}")
}

#[derive(Clone)]
pub struct PrintingTokenService {
    repo: PrintingTokenRepo,
    users: UserRepo,
    sessions: SessionService,
    tenants: TenantService,
    cache: Arc<dyn Cache>,
}

impl PrintingTokenService {
    pub fn new(pool: sqlx::AnyPool, sessions: SessionService, tenants: TenantService, cache: Arc<dyn Cache>) -> Self {
        Self { repo: PrintingTokenRepo::new(pool.clone()), users: UserRepo::new(pool), sessions, tenants, cache }
    }

    /// Makes a token for the signed-in user; its secret is returned this once.
    #[tracing::instrument(skip_all, fields(user = %who.user_id))]
    pub async fn create(&self, who: &UserPrincipal, name: &str) -> Result<CreatedPrintingToken, PrintingTokenError> {
        let name = Name::parse(name).map_err(|source| PrintingTokenError::Invalid { field: "name", source })?;
        self.tenants.require_module(&who.enterprise_id, Module::IppPrinting).await?;
        if self.repo.count_for_user(&who.user_id).await? >= MAX_TOKENS_PER_USER {
            return Err(PrintingTokenError::TooMany(MAX_TOKENS_PER_USER));
        }
        let secret = new_secret();
        let hint = secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect::<String>();
        let row = PrintingTokenRow {
            id: new_id(),
            enterprise_id: who.enterprise_id.clone(),
            user_id: who.user_id.clone(),
            name: name.into_string(),
            token_hash: sha256_hex(&[&secret]),
            hint,
            created_at: now_ms(),
            last_used_at: None,
        };
        self.repo.insert(&row).await?;
        Ok(CreatedPrintingToken { token: row.into(), secret })
    }

    /// The signed-in user's tokens, newest first.
    pub async fn list(&self, who: &UserPrincipal) -> Result<Vec<PrintingToken>, PrintingTokenError> {
        Ok(self.repo.list_for_user(&who.user_id).await?.into_iter().map(Into::into).collect())
    }

    /// Revokes one of the signed-in user's tokens; at once, also for credentials remembered
    /// from it (each remembered success checks its token still exists).
    #[tracing::instrument(skip_all, fields(user = %who.user_id))]
    pub async fn delete(&self, who: &UserPrincipal, id: &str) -> Result<(), PrintingTokenError> {
        if self.repo.delete(&who.user_id, id).await? {
            Ok(())
        } else {
            Err(PrintingTokenError::NotFound)
        }
    }

    /// HTTP Basic at the printer of `enterprise_code`: `login` (user name or phone) with the
    /// user's password or one of their printing tokens. Someone of another enterprise simply
    /// has no account here: `InvalidCredentials`.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate_basic(
        &self,
        enterprise_code: &str,
        login: &str,
        secret: &str,
        client_ip: &str,
    ) -> Result<UserPrincipal, PrintingTokenError> {
        let key = format!("ipp:basic:{}", sha256_hex(&[enterprise_code, login, secret]));
        if let Some(remembered) = self.cache.get(&key).await? {
            if let Some(who) = self.still_valid(&remembered).await? {
                return Ok(who);
            }
            self.cache.delete(&key).await?;
        }
        let token =
            if secret.starts_with(TOKEN_PREFIX) { self.repo.by_hash(&sha256_hex(&[secret])).await? } else { None };
        let owner = token.as_ref().map(|t| t.user_id.as_str());
        let user = self.sessions.user_basic_sign_in(enterprise_code, login, secret, owner, client_ip).await?;
        let token_id = token.filter(|t| t.user_id == user.id).map(|t| t.id);
        if let Some(id) = &token_id {
            self.repo.touch(id, now_ms()).await?;
        }
        let remembered = format!("{}|{}|{}", user.id, user.enterprise_id, token_id.unwrap_or_default());
        self.cache.set(&key, &remembered, VERIFIED_TTL).await?;
        Ok(principal(user.id, user.enterprise_id))
    }

    /// A remembered success still holds while its user is active and its token (if it was one)
    /// is not revoked.
    async fn still_valid(&self, remembered: &str) -> Result<Option<UserPrincipal>, PrintingTokenError> {
        let mut parts = remembered.splitn(3, '|');
        let (Some(user_id), Some(enterprise_id), Some(token_id)) = (parts.next(), parts.next(), parts.next()) else {
            return Ok(None);
        };
        if !token_id.is_empty() && !self.repo.exists(token_id).await? {
            return Ok(None);
        }
        let user = self.users.get(user_id).await?;
        Ok(user
            .filter(|u| u.status == OrgStatus::Active && u.enterprise_id == enterprise_id)
            .map(|u| principal(u.id, u.enterprise_id)))
    }
}

fn principal(user_id: String, enterprise_id: String) -> UserPrincipal {
    UserPrincipal { user_id, enterprise_id, session_id: IPP_SESSION.into(), wechat_app_id: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed_apart() {
        let a = new_secret();
        let b = new_secret();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 32, "{a}");
        assert_ne!(a, b);
        assert_eq!(sha256_hex(&[&a]).len(), 64);
        assert_ne!(sha256_hex(&[&a]), sha256_hex(&[&b]));
        // Parts are separated: ("ab", "c") is not ("a", "bc").
        assert_ne!(sha256_hex(&["ab", "c"]), sha256_hex(&["a", "bc"]));
    }
}
