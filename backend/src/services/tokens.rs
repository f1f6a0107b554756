//! Access tokens (short-lived, HMAC-SHA256 signed, stateless but revocable by session) and
//! refresh tokens (random, stored hashed).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::infra::secrets::MasterKey;

const ACCESS_PREFIX: &str = "yya1.";
const REFRESH_PREFIX: &str = "yyr1.";

/// Whose token it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubjectKind {
    #[serde(rename = "u")]
    User,
    #[serde(rename = "a")]
    Admin,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::Admin => "admin",
        }
    }
}

/// What an access token asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject kind.
    pub k: SubjectKind,
    /// Subject id (user or admin).
    pub sub: String,
    /// Session (refresh-token family) id; signing out revokes it.
    pub sid: String,
    /// For users: their enterprise, so tenant checks need no lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ent: Option<String>,
    /// For users signed in through a WeChat application: its AppID (payments inside WeChat
    /// are made under it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wx: Option<String>,
    /// Expiry, epoch milliseconds.
    pub exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
}

#[derive(Clone)]
pub struct AccessTokens {
    key: [u8; 32],
}

impl AccessTokens {
    pub fn new(master: &MasterKey) -> Self {
        Self { key: master.derive("yunyin access-token v1") }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    pub fn issue(&self, claims: &Claims) -> String {
        // Serialising a struct of strings and integers cannot fail.
        let json = serde_json::to_vec(claims).unwrap_or_default();
        let body = URL_SAFE_NO_PAD.encode(json);
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{ACCESS_PREFIX}{body}.{sig}")
    }

    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, TokenError> {
        let rest = token.strip_prefix(ACCESS_PREFIX).ok_or(TokenError::Malformed)?;
        let (body, sig) = rest.split_once('.').ok_or(TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now_ms {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// A new refresh token: 256 random bits.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{REFRESH_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A random opaque token for one-time use (WeChat registration step and the like).
pub fn new_opaque_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores instead of a refresh token.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims { k: SubjectKind::User, sub: "u1".into(), sid: "s1".into(), ent: Some("e1".into()), wx: None, exp }
    }

    #[test]
    fn issue_and_verify() {
        let t = AccessTokens::new(&MasterKey::generate());
        let token = t.issue(&claims(2_000));
        assert_eq!(t.verify(&token, 1_000), Ok(claims(2_000)));
        assert_eq!(t.verify(&token, 2_000), Err(TokenError::Expired));
    }

    #[test]
    fn forged_and_foreign_tokens_fail() {
        let t = AccessTokens::new(&MasterKey::generate());
        let other = AccessTokens::new(&MasterKey::generate());
        let token = other.issue(&claims(i64::MAX));
        assert_eq!(t.verify(&token, 0), Err(TokenError::BadSignature));
        // Swap the body for an admin claim but keep the signature.
        let good = t.issue(&claims(i64::MAX));
        let sig = good.rsplit_once('.').map(|(_, s)| s).unwrap_or_default();
        let admin = Claims { k: SubjectKind::Admin, ..claims(i64::MAX) };
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&admin).unwrap_or_default());
        assert_eq!(t.verify(&format!("{ACCESS_PREFIX}{body}.{sig}"), 0), Err(TokenError::BadSignature));
        assert_eq!(t.verify("garbage", 0), Err(TokenError::Malformed));
    }

    #[test]
    fn refresh_tokens_are_unique_and_hashed() {
        let a = new_refresh_token();
        assert_ne!(a, new_refresh_token());
        assert_eq!(hash_token(&a).len(), 64);
        assert_ne!(hash_token(&a), a);
    }
}
