//! Sign-in and sessions: passwords (users and admins), WeChat (official account and
//! mini-program), refresh-token rotation with reuse detection, sign-out, and the rate limits
//! on sign-in attempts.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{
    domain::{Admin, EnterpriseCode, Login, Module, OrgStatus, ScopeKind, User, ValueError, WechatAppKind},
    infra::{
        cache::{Cache, CacheError},
        new_id, now_ms,
    },
    services::{
        passwords::{self, HashError},
        tenants::{TenantError, TenantService},
        tokens::{self, AccessTokens, Claims, SubjectKind, TokenError},
        wechat::{WechatClient, WechatError, WechatIdentity},
    },
    storage::{
        admins::{AdminRepo, AdminRow},
        is_unique_violation,
        sessions::{RefreshTokenRow, Rotation, SessionRepo},
        tenants::{EnterpriseRow, TenantRepo},
        users::{UserRepo, UserRow},
        wechat::{IdentityRow, WechatRepo},
    },
};

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("enterprise not found")]
    EnterpriseNotFound,
    #[error("enterprise suspended")]
    EnterpriseSuspended,
    #[error("wrong login or password")]
    InvalidCredentials,
    #[error("account locked after repeated failures")]
    AccountLocked { retry_after_secs: u64 },
    #[error("too many sign-in attempts from this address")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("account disabled")]
    AccountDisabled,
    #[error("access token invalid: {0}")]
    InvalidToken(#[from] TokenError),
    #[error("session revoked")]
    SessionRevoked,
    #[error("refresh token invalid or expired")]
    RefreshInvalid,
    #[error("refresh token reused; session revoked")]
    RefreshReused,
    #[error("WeChat sign-in is not configured for this enterprise")]
    WechatNotConfigured,
    #[error(transparent)]
    Wechat(#[from] WechatError),
    #[error("WeChat registration token invalid or expired")]
    RegistrationTokenInvalid,
    #[error("this WeChat identity is already bound to another account")]
    WechatAlreadyBound,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error("cache: {0}")]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

/// Tokens handed to a client after sign-in or refresh.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub access_expires_at: i64,
    pub refresh_token: String,
    pub refresh_expires_at: i64,
}

/// A WeChat identity waiting to be bound to a user (the registration step).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingWechat {
    pub enterprise_id: String,
    pub app_id: String,
    pub openid: String,
    pub unionid: Option<String>,
}

/// The outcome of a WeChat sign-in.
pub enum WechatSignIn {
    SignedIn(Box<User>, IssuedTokens),
    /// Not yet bound: register (or sign in with a password) presenting this token.
    RegistrationRequired {
        registration_token: String,
        expires_in_secs: u64,
    },
}

#[derive(Debug, Clone)]
pub struct SessionLimits {
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub max_failures: u32,
    pub lock: Duration,
    pub max_per_ip_per_minute: u32,
}

const REGISTRATION_TTL: Duration = Duration::from_secs(600);

/// Ends sessions on every instance: their refresh tokens are revoked in the database (inside
/// the caller's transaction, with the change that ends them) and their access tokens are
/// refused through the cache (shared through Redis when configured).
#[derive(Clone)]
pub struct SessionEnder {
    cache: Arc<dyn Cache>,
    access_ttl: Duration,
}

impl SessionEnder {
    pub fn new(cache: Arc<dyn Cache>, access_ttl: Duration) -> Self {
        Self { cache, access_ttl }
    }

    /// Commits `tx`, which changed a credential or a status and revoked the refresh tokens of
    /// `families`, together with the cache marks that refuse those families' access tokens:
    /// the marks are set first and taken back when they or the commit fail, so the change and
    /// the end of the sessions happen together or not at all. (Only if the cache fails again
    /// while taking marks back do those sessions stay refused, for at most an access token's
    /// lifetime: the safe side.)
    pub async fn commit(&self, tx: sqlx::Transaction<'_, sqlx::Any>, families: &[String]) -> Result<(), SessionError> {
        for (i, family) in families.iter().enumerate() {
            if let Err(e) = self.mark(family).await {
                self.unmark(&families[..i]).await;
                tx.rollback().await?;
                return Err(e);
            }
        }
        if let Err(e) = tx.commit().await {
            self.unmark(families).await;
            return Err(e.into());
        }
        Ok(())
    }

    async fn mark(&self, family_id: &str) -> Result<(), SessionError> {
        // Access tokens live at most access_ttl, so the mark need not outlive them.
        self.cache.set(&revoked_key(family_id), "1", self.access_ttl).await?;
        Ok(())
    }

    async fn unmark(&self, families: &[String]) {
        for family in families {
            if let Err(e) = self.cache.delete(&revoked_key(family)).await {
                tracing::warn!(session = %family, error = %e, "cannot take back a session's revocation mark");
            }
        }
    }
}

#[derive(Clone)]
pub struct SessionService {
    sessions: SessionRepo,
    users: UserRepo,
    admins: AdminRepo,
    tenants_repo: TenantRepo,
    tenants: TenantService,
    wechat_repo: WechatRepo,
    wechat: WechatClient,
    tokens: AccessTokens,
    cache: Arc<dyn Cache>,
    limits: SessionLimits,
    ender: SessionEnder,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl SessionService {
    /// The repositories are cheap handles on `pool`; the collaborators are shared.
    pub fn new(
        pool: sqlx::AnyPool,
        tenants: TenantService,
        wechat: WechatClient,
        tokens: AccessTokens,
        cache: Arc<dyn Cache>,
        limits: SessionLimits,
    ) -> Self {
        Self {
            sessions: SessionRepo::new(pool.clone()),
            users: UserRepo::new(pool.clone()),
            admins: AdminRepo::new(pool.clone()),
            tenants_repo: TenantRepo::new(pool.clone()),
            wechat_repo: WechatRepo::new(pool),
            tenants,
            wechat,
            tokens,
            ender: SessionEnder::new(cache.clone(), limits.access_ttl),
            cache,
            limits,
        }
    }

    /// Ends sessions together with the change made in `tx` (see [`SessionEnder::commit`]).
    pub fn ender(&self) -> &SessionEnder {
        &self.ender
    }

    /// Whether the enterprise exists and is active (not suspended).
    async fn enterprise_active(&self, enterprise_id: &str) -> Result<bool, SessionError> {
        let e = self.tenants_repo.enterprise(enterprise_id).await?;
        Ok(e.is_some_and(|e| e.status == OrgStatus::Active))
    }

    /// The enterprise an admin account belongs to, when it is an enterprise's admin.
    fn admin_enterprise(admin: &AdminRow) -> Option<&str> {
        (admin.scope_kind == ScopeKind::Enterprise).then_some(admin.scope_id.as_deref()).flatten()
    }

    /// Starts a new session (refresh-token family) for a subject.
    /// Starts a session (a refresh-token family); `wechat_app_id` is the WeChat application
    /// the user signed in through, kept with the session for payments inside WeChat.
    pub async fn start(
        &self,
        kind: SubjectKind,
        subject_id: &str,
        enterprise_id: Option<&str>,
        wechat_app_id: Option<&str>,
    ) -> Result<IssuedTokens, SessionError> {
        let family_id = new_id();
        let now = now_ms();
        let refresh = tokens::new_refresh_token();
        let refresh_expires_at = now.saturating_add(ms(self.limits.refresh_ttl));
        self.sessions
            .insert(&RefreshTokenRow {
                token_hash: tokens::hash_token(&refresh),
                family_id: family_id.clone(),
                subject_kind: kind.as_str().into(),
                subject_id: subject_id.into(),
                state: "active".into(),
                expires_at: refresh_expires_at,
                created_at: now,
                wechat_app_id: wechat_app_id.unwrap_or_default().to_string(),
            })
            .await?;
        // Checked after the session exists, so a suspension committed meanwhile either revoked
        // it or is seen here.
        if let Some(enterprise_id) = enterprise_id {
            if !self.enterprise_active(enterprise_id).await? {
                return self.refuse_family(&family_id, SessionError::EnterpriseSuspended).await;
            }
        }
        let claims = Claims {
            k: kind,
            sub: subject_id.into(),
            sid: family_id,
            ent: enterprise_id.map(str::to_string),
            wx: wechat_app_id.filter(|a| !a.is_empty()).map(str::to_string),
            exp: 0,
        };
        Ok(self.issue(claims, refresh, refresh_expires_at, now))
    }

    /// The tokens of a session: `claims` (its expiry set here) signed, and its refresh token.
    fn issue(&self, mut claims: Claims, refresh: String, refresh_expires_at: i64, now: i64) -> IssuedTokens {
        let exp = now.saturating_add(ms(self.limits.access_ttl));
        claims.exp = exp;
        let access = self.tokens.issue(&claims);
        IssuedTokens { access_token: access, access_expires_at: exp, refresh_token: refresh, refresh_expires_at }
    }

    /// Verifies an access token and that its session has not been signed out.
    pub async fn authenticate(&self, access_token: &str) -> Result<Claims, SessionError> {
        let claims = self.tokens.verify(access_token, now_ms())?;
        if self.cache.get(&revoked_key(&claims.sid)).await?.is_some() {
            return Err(SessionError::SessionRevoked);
        }
        Ok(claims)
    }

    /// Rotates a refresh token. Presenting an already-rotated token revokes the whole family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<IssuedTokens, SessionError> {
        let now = now_ms();
        let next = tokens::new_refresh_token();
        let next_expires = now.saturating_add(ms(self.limits.refresh_ttl));
        let rotation = self
            .sessions
            .rotate(&tokens::hash_token(refresh_token), &tokens::hash_token(&next), next_expires, now)
            .await?;
        match rotation {
            Rotation::Rotated { family_id, subject_kind, subject_id, wechat_app_id } => {
                let (kind, enterprise) = if subject_kind == SubjectKind::User.as_str() {
                    let user = self.users.get(&subject_id).await?;
                    match user {
                        Some(u) if u.status == OrgStatus::Active => (SubjectKind::User, Some(u.enterprise_id)),
                        _ => return self.refuse_family(&family_id, SessionError::AccountDisabled).await,
                    }
                } else {
                    match self.admins.get(&subject_id).await? {
                        Some(a) if a.status == OrgStatus::Active => {
                            let of_enterprise = Self::admin_enterprise(&a).map(str::to_string);
                            (SubjectKind::Admin, of_enterprise)
                        }
                        _ => return self.refuse_family(&family_id, SessionError::AccountDisabled).await,
                    }
                };
                // A suspended enterprise's people keep no session (issue 11).
                if let Some(enterprise_id) = &enterprise {
                    if !self.enterprise_active(enterprise_id).await? {
                        return self.refuse_family(&family_id, SessionError::EnterpriseSuspended).await;
                    }
                }
                let enterprise = if kind == SubjectKind::User { enterprise } else { None };
                let wx = Some(wechat_app_id).filter(|a| !a.is_empty());
                let claims = Claims { k: kind, sub: subject_id, sid: family_id, ent: enterprise, wx, exp: 0 };
                Ok(self.issue(claims, next, next_expires, now))
            }
            Rotation::ReuseDetected { family_id } => {
                tracing::warn!(session = %family_id, "refresh token reused; session revoked");
                self.mark_revoked(&family_id).await?;
                Err(SessionError::RefreshReused)
            }
            Rotation::Invalid => Err(SessionError::RefreshInvalid),
        }
    }

    async fn refuse_family<T>(&self, family_id: &str, err: SessionError) -> Result<T, SessionError> {
        self.sessions.revoke_family(family_id).await?;
        self.mark_revoked(family_id).await?;
        Err(err)
    }

    /// Signs out: revokes the refresh token's family, and its access tokens with it.
    /// Unknown tokens are accepted silently, so sign-out is idempotent.
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), SessionError> {
        if let Some(family) = self.sessions.family_of(&tokens::hash_token(refresh_token)).await? {
            self.sessions.revoke_family(&family).await?;
            self.mark_revoked(&family).await?;
        }
        Ok(())
    }

    async fn mark_revoked(&self, family_id: &str) -> Result<(), SessionError> {
        self.ender.mark(family_id).await
    }

    // ---- rate limits ----

    async fn check_ip(&self, ip: &str) -> Result<(), SessionError> {
        let n = self.cache.incr(&format!("signin:ip:{ip}"), Duration::from_secs(60)).await?;
        if n > i64::from(self.limits.max_per_ip_per_minute) {
            return Err(SessionError::TooManyAttempts { retry_after_secs: 60 });
        }
        Ok(())
    }

    /// Failures count per account *and* client address (`account_key` holds both), so
    /// someone guessing slows down only their own attempts on that account: never the owner's
    /// from elsewhere, and no account can be locked for everyone. After `max_failures` each
    /// further attempt from that address waits (1 s, doubling with every failure, at most
    /// `lock`); the per-address limit bounds guessing across accounts.
    async fn check_account(&self, account_key: &str) -> Result<(), SessionError> {
        let not_before = self.cache.get(&wait_key(account_key)).await?.and_then(|v| v.parse::<i64>().ok());
        let now = now_ms();
        match not_before {
            Some(t) if t > now => {
                let secs = u64::try_from((t - now + 999) / 1000).unwrap_or(1).max(1);
                Err(SessionError::AccountLocked { retry_after_secs: secs })
            }
            _ => Ok(()),
        }
    }

    async fn verify_password(
        &self,
        account_key: &str,
        stored: Option<String>,
        password: &str,
    ) -> Result<(), SessionError> {
        if passwords::verify(stored, password).await? {
            self.cache.delete(account_key).await?;
            self.cache.delete(&wait_key(account_key)).await?;
            Ok(())
        } else {
            let failures = self.cache.incr(account_key, self.limits.lock).await?;
            let beyond = failures - i64::from(self.limits.max_failures);
            if beyond >= 0 {
                let wait = self.slow_down(beyond);
                let not_before = now_ms().saturating_add(ms(wait));
                self.cache.set(&wait_key(account_key), &not_before.to_string(), wait).await?;
            }
            Err(SessionError::InvalidCredentials)
        }
    }

    /// The wait after `beyond` failures past the threshold: 1 s, 2 s, 4 s, … up to `lock`.
    fn slow_down(&self, beyond: i64) -> Duration {
        let doublings = u32::try_from(beyond.clamp(0, 20)).unwrap_or(20);
        Duration::from_secs(1u64 << doublings).min(self.limits.lock)
    }

    // ---- users ----

    async fn active_enterprise(&self, raw_code: &str) -> Result<EnterpriseRow, SessionError> {
        let code = EnterpriseCode::parse(raw_code)
            .map_err(|source| SessionError::Invalid { field: "enterprise_code", source })?;
        match self.tenants_repo.enterprise_by_code(code.as_str()).await? {
            None => Err(SessionError::EnterpriseNotFound),
            Some(e) if e.status != OrgStatus::Active => Err(SessionError::EnterpriseSuspended),
            Some(e) => Ok(e),
        }
    }

    /// Password sign-in of an end user. With `wechat_registration_token`, the pending WeChat
    /// identity is bound to the account on success.
    #[tracing::instrument(skip_all)]
    pub async fn user_sign_in(
        &self,
        enterprise_code: &str,
        login: &str,
        password: &str,
        wechat_registration_token: Option<&str>,
        client_ip: &str,
    ) -> Result<(User, IssuedTokens), SessionError> {
        self.check_ip(client_ip).await?;
        let enterprise = self.active_enterprise(enterprise_code).await?;
        let (account_key, user) = self.user_by_login(&enterprise.id, login, client_ip).await?;
        self.check_account(&account_key).await?;
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        self.verify_password(&account_key, stored, password).await?;
        let user = user.ok_or(SessionError::InvalidCredentials)?;
        if user.status != OrgStatus::Active {
            return Err(SessionError::AccountDisabled);
        }
        if let Some(token) = wechat_registration_token {
            let pending = self.pending_wechat(token).await?.filter(|p| p.enterprise_id == user.enterprise_id);
            let pending = pending.ok_or(SessionError::RegistrationTokenInvalid)?;
            let identity = IdentityRow {
                app_id: pending.app_id,
                openid: pending.openid,
                unionid: pending.unionid,
                enterprise_id: user.enterprise_id.clone(),
                user_id: user.id.clone(),
                created_at: now_ms(),
            };
            let app_id = identity.app_id.clone();
            match self.wechat_repo.bind(&identity).await {
                Ok(()) => self.forget_pending_wechat(token).await?,
                Err(e) if is_unique_violation(&e) => return Err(SessionError::WechatAlreadyBound),
                Err(e) => return Err(e.into()),
            }
            // Binding happens inside the WeChat app: the session is that app's.
            let tokens = self.start(SubjectKind::User, &user.id, Some(&user.enterprise_id), Some(&app_id)).await?;
            return Ok((user.into(), tokens));
        }
        let tokens = self.start(SubjectKind::User, &user.id, Some(&user.enterprise_id), None).await?;
        Ok((user.into(), tokens))
    }

    /// The user a login (user name or phone) names in the enterprise, if any, and the key its
    /// failed sign-ins from `client_ip` are counted under.
    async fn user_by_login(
        &self,
        enterprise_id: &str,
        login: &str,
        client_ip: &str,
    ) -> Result<(String, Option<UserRow>), SessionError> {
        let login = Login::parse(login).map_err(|_| SessionError::InvalidCredentials)?;
        let (login_key, user) = match &login {
            Login::Phone(p) => (p.as_str(), self.users.by_phone(enterprise_id, p.as_str()).await?),
            Login::Username(u) => (u.as_str(), self.users.by_username(enterprise_id, u.as_str()).await?),
        };
        Ok((format!("signin:fail:user:{enterprise_id}:{login_key}:{client_ip}"), user))
    }

    /// HTTP Basic at the enterprise's IPP printer: the user's login with their password, or
    /// with a printing token of theirs (`token_owner`: the user whose token the secret is, as
    /// the caller found it by its hash; None when it is no token). The same per-address limit
    /// and per-account waits as password sign-in; no session is started.
    #[tracing::instrument(skip_all)]
    pub async fn user_basic_sign_in(
        &self,
        enterprise_code: &str,
        login: &str,
        secret: &str,
        token_owner: Option<&str>,
        client_ip: &str,
    ) -> Result<User, SessionError> {
        self.check_ip(client_ip).await?;
        let enterprise = self.active_enterprise(enterprise_code).await?;
        let (account_key, user) = self.user_by_login(&enterprise.id, login, client_ip).await?;
        self.check_account(&account_key).await?;
        let by_token = matches!((&user, token_owner), (Some(u), Some(owner)) if u.id == owner);
        if by_token {
            self.cache.delete(&account_key).await?;
            self.cache.delete(&wait_key(&account_key)).await?;
        } else {
            let stored = user.as_ref().and_then(|u| u.password_hash.clone());
            self.verify_password(&account_key, stored, secret).await?;
        }
        let user = user.ok_or(SessionError::InvalidCredentials)?;
        if user.status != OrgStatus::Active {
            return Err(SessionError::AccountDisabled);
        }
        Ok(user.into())
    }

    /// WeChat sign-in through the enterprise's official account or mini-program.
    #[tracing::instrument(skip_all, fields(kind = kind.as_str()))]
    pub async fn wechat_sign_in(
        &self,
        kind: WechatAppKind,
        enterprise_code: &str,
        code: &str,
        client_ip: &str,
    ) -> Result<WechatSignIn, SessionError> {
        self.check_ip(client_ip).await?;
        let enterprise = self.active_enterprise(enterprise_code).await?;
        if kind == WechatAppKind::MiniProgram {
            self.tenants.require_module(&enterprise.id, Module::MiniProgram).await?;
        }
        let (app_id, secret) =
            self.tenants.wechat_credentials(&enterprise.id, kind).await?.ok_or(SessionError::WechatNotConfigured)?;
        let identity = match kind {
            WechatAppKind::OfficialAccount => self.wechat.oauth2_access_token(&app_id, &secret, code).await?,
            WechatAppKind::MiniProgram => self.wechat.jscode2session(&app_id, &secret, code).await?,
        };
        let required = (kind == WechatAppKind::MiniProgram).then_some(Module::MiniProgram);
        if let Some(signed_in) = self.bound_sign_in(&app_id, &identity.openid, required).await? {
            return Ok(signed_in);
        }
        self.registration_required(enterprise.id, app_id, identity).await
    }

    /// Sign-in from the mini-program. Several enterprises may share one mini-program, so the
    /// code is redeemed with the mini-program's own AppID: a returning user is signed in at once;
    /// a new one must say which enterprise (`enterprise_code`) before registering. `None` means
    /// the enterprise is needed (and a fresh `wx.login` code with it).
    #[tracing::instrument(skip_all)]
    pub async fn mini_program_sign_in(
        &self,
        app_id: &str,
        enterprise_code: Option<&str>,
        code: &str,
        client_ip: &str,
    ) -> Result<Option<WechatSignIn>, SessionError> {
        self.check_ip(client_ip).await?;
        let (enterprise, secret) = match enterprise_code {
            Some(enterprise_code) => {
                let enterprise = self.active_enterprise(enterprise_code).await?;
                self.tenants.require_module(&enterprise.id, Module::MiniProgram).await?;
                let credentials = self.tenants.wechat_credentials(&enterprise.id, WechatAppKind::MiniProgram).await?;
                // The enterprise must have this very mini-program.
                let (_, secret) = credentials.filter(|(a, _)| a == app_id).ok_or(SessionError::WechatNotConfigured)?;
                (Some(enterprise), secret)
            }
            None => (None, self.tenants.mini_program_secret(app_id).await?.ok_or(SessionError::WechatNotConfigured)?),
        };
        let identity = self.wechat.jscode2session(app_id, &secret, code).await?;
        // A returning user's enterprise is known only from the binding.
        if let Some(signed_in) = self.bound_sign_in(app_id, &identity.openid, Some(Module::MiniProgram)).await? {
            return Ok(Some(signed_in));
        }
        match enterprise {
            Some(enterprise) => {
                Ok(Some(self.registration_required(enterprise.id, app_id.to_string(), identity).await?))
            }
            None => Ok(None),
        }
    }

    /// The session of the user this WeChat identity is bound to, if it is.
    /// The user a WeChat identity is bound to, signed in; refused before any session starts
    /// when their enterprise's edition lacks `required`.
    async fn bound_sign_in(
        &self,
        app_id: &str,
        openid: &str,
        required: Option<Module>,
    ) -> Result<Option<WechatSignIn>, SessionError> {
        let Some(bound) = self.wechat_repo.identity(app_id, openid).await? else { return Ok(None) };
        let user = self.users.get(&bound.user_id).await?.ok_or(SessionError::AccountDisabled)?;
        if user.status != OrgStatus::Active {
            return Err(SessionError::AccountDisabled);
        }
        if let Some(module) = required {
            self.tenants.require_module(&user.enterprise_id, module).await?;
        }
        let tokens = self.start(SubjectKind::User, &user.id, Some(&user.enterprise_id), Some(app_id)).await?;
        Ok(Some(WechatSignIn::SignedIn(Box::new(user.into()), tokens)))
    }

    /// A registration token standing for an unbound WeChat identity under `enterprise_id`.
    async fn registration_required(
        &self,
        enterprise_id: String,
        app_id: String,
        identity: WechatIdentity,
    ) -> Result<WechatSignIn, SessionError> {
        let pending = PendingWechat { enterprise_id, app_id, openid: identity.openid, unionid: identity.unionid };
        let token = tokens::new_opaque_token();
        let json = serde_json::to_string(&pending).unwrap_or_default();
        self.cache.set(&pending_key(&token), &json, REGISTRATION_TTL).await?;
        Ok(WechatSignIn::RegistrationRequired {
            registration_token: token,
            expires_in_secs: REGISTRATION_TTL.as_secs(),
        })
    }

    /// The WeChat identity a registration token stands for, if still valid.
    pub async fn pending_wechat(&self, token: &str) -> Result<Option<PendingWechat>, SessionError> {
        let raw = self.cache.get(&pending_key(token)).await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    pub async fn forget_pending_wechat(&self, token: &str) -> Result<(), SessionError> {
        self.cache.delete(&pending_key(token)).await?;
        Ok(())
    }

    // ---- admins ----

    #[tracing::instrument(skip_all)]
    pub async fn admin_sign_in(
        &self,
        username: &str,
        password: &str,
        client_ip: &str,
    ) -> Result<(Admin, IssuedTokens), SessionError> {
        self.check_ip(client_ip).await?;
        let username = username.trim().to_lowercase();
        let account_key = format!("signin:fail:admin:{username}:{client_ip}");
        self.check_account(&account_key).await?;
        let admin = self.admins.by_username(&username).await?;
        self.verify_password(&account_key, admin.as_ref().map(|a| a.password_hash.clone()), password).await?;
        let admin = admin.ok_or(SessionError::InvalidCredentials)?;
        if admin.status != OrgStatus::Active {
            return Err(SessionError::AccountDisabled);
        }
        if let Some(enterprise_id) = Self::admin_enterprise(&admin) {
            if !self.enterprise_active(enterprise_id).await? {
                return Err(SessionError::EnterpriseSuspended);
            }
        }
        let tokens = self.start(SubjectKind::Admin, &admin.id, None, None).await?;
        let admin = Admin::try_from(admin).map_err(|source| SessionError::Invalid { field: "scope", source })?;
        Ok((admin, tokens))
    }
}

fn wait_key(account_key: &str) -> String {
    format!("{account_key}:wait")
}

fn revoked_key(family_id: &str) -> String {
    format!("session:revoked:{family_id}")
}

fn pending_key(token: &str) -> String {
    format!("wechat:pending:{}", tokens::hash_token(token))
}
