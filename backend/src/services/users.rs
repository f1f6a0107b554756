//! End users: registration under an enterprise (password or WeChat), their profile, and the
//! admins' view of an enterprise's users.

use crate::{
    domain::{EnterpriseCode, Name, OrgStatus, Password, Phone, User, Username, ValueError},
    infra::{new_id, now_ms},
    services::{
        authz::{AdminPrincipal, UserPrincipal},
        passwords::{self, HashError},
        sessions::{IssuedTokens, SessionError, SessionService},
        tenants::{Limited, TenantError, TenantService},
        tokens::SubjectKind,
    },
    storage::{
        is_unique_violation, sessions,
        tenants::TenantRepo,
        users::{self, UserRepo, UserRow},
        wechat::IdentityRow,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{field}: {source}")]
    Invalid { field: &'static str, source: ValueError },
    #[error("give a user name or phone number with a password, or a WeChat registration token")]
    MissingCredentials,
    #[error("enterprise not found")]
    EnterpriseNotFound,
    #[error("enterprise suspended")]
    EnterpriseSuspended,
    #[error("an account with this {field} already exists")]
    AccountExists { field: &'static str },
    #[error("WeChat registration token invalid or expired")]
    RegistrationTokenInvalid,
    #[error("this WeChat identity is already bound")]
    WechatAlreadyBound,
    #[error("current password is wrong")]
    WrongPassword,
    #[error("the new password is the current one")]
    PasswordUnchanged,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Tenant(#[from] TenantError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

fn invalid(field: &'static str) -> impl Fn(ValueError) -> UserError {
    move |source| UserError::Invalid { field, source }
}

/// What a person submits to register.
#[derive(Default)]
pub struct Registration {
    pub enterprise_code: String,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub password: Option<String>,
    pub display_name: Option<String>,
    pub wechat_registration_token: Option<String>,
}

#[derive(Clone)]
pub struct UserService {
    repo: UserRepo,
    tenants_repo: TenantRepo,
    tenants: TenantService,
    sessions: SessionService,
}

fn blank_to_none(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

impl UserService {
    pub fn new(repo: UserRepo, tenants_repo: TenantRepo, tenants: TenantService, sessions: SessionService) -> Self {
        Self { repo, tenants_repo, tenants, sessions }
    }

    /// Registers a user and signs them in. Either a user name and/or phone with a password,
    /// or a WeChat registration token (a password is then optional).
    #[tracing::instrument(skip_all)]
    pub async fn register(&self, r: Registration) -> Result<(User, IssuedTokens), UserError> {
        let code = EnterpriseCode::parse(&r.enterprise_code).map_err(invalid("enterprise_code"))?;
        let username =
            blank_to_none(r.username).map(|u| Username::parse(&u).map_err(invalid("username"))).transpose()?;
        let phone = blank_to_none(r.phone).map(|p| Phone::parse(&p).map_err(invalid("phone"))).transpose()?;
        let password =
            blank_to_none(r.password).map(|p| Password::parse(&p).map_err(invalid("password"))).transpose()?;
        let display_name =
            blank_to_none(r.display_name).map(|n| Name::parse(&n).map_err(invalid("display_name"))).transpose()?;
        let wechat_token = blank_to_none(r.wechat_registration_token);
        let has_login = username.is_some() || phone.is_some();
        if has_login && password.is_none() {
            // A login without a password to go with it: each field is fine, the set is not.
            return Err(UserError::MissingCredentials);
        }
        if wechat_token.is_none() && !has_login {
            return Err(UserError::MissingCredentials);
        }
        let enterprise = match self.tenants_repo.enterprise_by_code(code.as_str()).await? {
            None => return Err(UserError::EnterpriseNotFound),
            Some(e) if e.status != OrgStatus::Active => return Err(UserError::EnterpriseSuspended),
            Some(e) => e,
        };
        self.tenants.check_limit(&enterprise.id, Limited::Users).await?;
        let pending = match &wechat_token {
            Some(token) => {
                let p = self.sessions.pending_wechat(token).await?.filter(|p| p.enterprise_id == enterprise.id);
                Some(p.ok_or(UserError::RegistrationTokenInvalid)?)
            }
            None => None,
        };
        let password_hash = match &password {
            Some(p) => Some(passwords::hash(p.expose()).await?),
            None => None,
        };
        let now = now_ms();
        let display = display_name.map(Name::into_string).unwrap_or_else(|| match (&username, &phone) {
            (Some(u), _) => u.as_str().to_string(),
            (None, Some(p)) => mask_phone(p.as_str()),
            (None, None) => "微信用户".to_string(),
        });
        let user = UserRow {
            id: new_id(),
            enterprise_id: enterprise.id.clone(),
            username: username.map(|u| u.as_str().to_string()),
            phone: phone.map(|p| p.as_str().to_string()),
            display_name: display,
            password_hash,
            status: OrgStatus::Active,
            created_at: now,
        };
        let app_id = pending.as_ref().map(|p| p.app_id.clone());
        let identity = pending.map(|p| IdentityRow {
            app_id: p.app_id,
            openid: p.openid,
            unionid: p.unionid,
            enterprise_id: enterprise.id.clone(),
            user_id: user.id.clone(),
            created_at: now,
        });
        if let Err(e) = self.repo.insert(&user, identity.as_ref()).await {
            if is_unique_violation(&e) {
                return Err(self.which_duplicate(&user, identity.is_some()).await?);
            }
            return Err(e.into());
        }
        if let Some(token) = &wechat_token {
            self.sessions.forget_pending_wechat(token).await?;
        }
        // Registered inside a WeChat app: the session is that app's (payments are made under it).
        let tokens =
            self.sessions.start(SubjectKind::User, &user.id, Some(&user.enterprise_id), app_id.as_deref()).await?;
        Ok((user.into(), tokens))
    }

    /// Names the field behind a unique violation, for a precise error.
    async fn which_duplicate(&self, u: &UserRow, with_identity: bool) -> Result<UserError, UserError> {
        if let Some(name) = &u.username {
            if self.repo.by_username(&u.enterprise_id, name).await?.is_some() {
                return Ok(UserError::AccountExists { field: "username" });
            }
        }
        if let Some(phone) = &u.phone {
            if self.repo.by_phone(&u.enterprise_id, phone).await?.is_some() {
                return Ok(UserError::AccountExists { field: "phone" });
            }
        }
        Ok(if with_identity { UserError::WechatAlreadyBound } else { UserError::AccountExists { field: "username" } })
    }

    pub async fn me(&self, who: &UserPrincipal) -> Result<User, UserError> {
        Ok(self.own_row(who).await?.into())
    }

    async fn own_row(&self, who: &UserPrincipal) -> Result<UserRow, UserError> {
        let user = self.repo.get(&who.user_id).await?;
        user.filter(|u| u.enterprise_id == who.enterprise_id).ok_or(UserError::NotFound)
    }

    pub async fn change_password(&self, who: &UserPrincipal, current: &str, new: &str) -> Result<(), UserError> {
        let new = Password::parse(new).map_err(invalid("new_password"))?;
        let user = self.own_row(who).await?;
        if !passwords::verify(user.password_hash.clone(), current).await? {
            return Err(UserError::WrongPassword);
        }
        if new.expose() == current {
            return Err(UserError::PasswordUnchanged);
        }
        let hash = passwords::hash(new.expose()).await?;
        // The new password ends every other session of this user, in the same transaction.
        let mut tx = self.repo.begin_write().await?;
        users::set_password_in(&mut tx, &user.id, &hash).await?;
        let families =
            sessions::revoke_subject_in(&mut tx, SubjectKind::User.as_str(), &user.id, Some(&who.session_id)).await?;
        self.sessions.ender().commit(tx, &families).await?;
        Ok(())
    }

    /// An enterprise's users, for admins who can see that enterprise; region and group admins
    /// see those who printed at the print points they see.
    pub async fn list(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        search: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<User>, UserError> {
        let enterprise = self.tenants.enterprise(actor, enterprise_id).await?;
        let rows = self.repo.list(&enterprise.id, &actor.scoped(), search, limit, offset).await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// One of an enterprise's users, for admins whose list holds them (404 otherwise).
    pub async fn get_for_admin(
        &self,
        actor: &AdminPrincipal,
        enterprise_id: &str,
        id: &str,
    ) -> Result<User, UserError> {
        let enterprise = self.tenants.enterprise(actor, enterprise_id).await?;
        let user = self.repo.get(id).await?.filter(|u| u.enterprise_id == enterprise.id).ok_or(UserError::NotFound)?;
        if !self.repo.visible_to(&user.id, &actor.scoped()).await? {
            return Err(UserError::NotFound);
        }
        Ok(user.into())
    }
}

/// 138****8000: enough to recognise one's own number, not enough to harvest it.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "****".into();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_phones() {
        assert_eq!(super::mask_phone("13800138000"), "138****8000");
        assert_eq!(super::mask_phone("123"), "****");
    }
}
