//! Password hashing with argon2id, run on the blocking pool so sign-ins never stall the
//! async runtime.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use rand::{rngs::OsRng, seq::SliceRandom, Rng};

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Hashes with argon2id and the crate's default (OWASP-recommended) parameters.
pub async fn hash(password: &str) -> Result<String, HashError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Hash(e.to_string()))
    })
    .await?
}

/// Verifies `password` against `stored`; with `None` it verifies against a fixed dummy hash,
/// so that unknown accounts take as long as known ones (no account probing by timing).
pub async fn verify(stored: Option<String>, password: &str) -> Result<bool, HashError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return Ok(false);
        };
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(known && ok)
    })
    .await?
}

/// argon2id (default parameters) of a random string nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$J5mTdqgCFsX7yoqB2WfX/h3Cc+ogwdQTfR9nZmW/0nM";

/// A one-time password for a new or reset account: 16 characters without look-alikes,
/// always with letters and digits so it meets the password policy.
pub fn one_time_password() -> String {
    const LETTERS: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGITS: &[u8] = b"23456789";
    let mut rng = OsRng;
    let mut chars: Vec<u8> = (0..14)
        .map(|_| {
            let pool = if rng.gen_bool(0.3) { DIGITS } else { LETTERS };
            pool[rng.gen_range(0..pool.len())]
        })
        .collect();
    chars.push(LETTERS[rng.gen_range(0..LETTERS.len())]);
    chars.push(DIGITS[rng.gen_range(0..DIGITS.len())]);
    chars.shuffle(&mut rng);
    chars.into_iter().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let h = hash("s3cret-pass").await.unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify(Some(h.clone()), "s3cret-pass").await.unwrap_or(false));
        assert!(!verify(Some(h), "wrong-pass1").await.unwrap_or(true));
        assert!(!verify(None, "anything1").await.unwrap_or(true));
    }

    #[test]
    fn one_time_passwords_meet_the_policy() {
        for _ in 0..200 {
            let p = one_time_password();
            assert!(crate::domain::Password::parse(&p).is_ok(), "{p}");
        }
    }
}
