//! Tenant secrets (WeChat AppSecret, later merchant keys) sealed with AES-256-GCM under the
//! master key. Each ciphertext is bound to its row by associated data, so a sealed value
//! copied to another row does not open.

use std::path::Path;

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Nonce,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use rand::RngCore;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("master key must be base64 of exactly 32 bytes")]
    BadMasterKey,
    #[error("cannot read or create the master key file: {0}")]
    KeyFile(#[from] std::io::Error),
    #[error("sealed secret is corrupt or was sealed under another key or row")]
    Open,
}

/// The 32-byte master key. Debug never shows it.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn from_base64(raw: &str) -> Result<Self, SecretError> {
        let bytes = STANDARD.decode(raw.trim()).map_err(|_| SecretError::BadMasterKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretError::BadMasterKey)?;
        Ok(Self(key))
    }

    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Reads `path`, or creates it (mode 0600) with a fresh key on first start.
    pub fn load_or_create(path: &Path) -> Result<Self, SecretError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let key = Self::generate();
                write_private(path, &key.to_base64())?;
                Ok(key)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A key for another purpose, derived so that the master key itself is used only here.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        // HMAC accepts keys of any length, so new_from_slice cannot fail for 32 bytes.
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Seals and opens tenant secrets.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl SecretBox {
    pub fn new(master: &MasterKey) -> Self {
        let key = master.derive("yunyin tenant-secrets v1");
        Self { cipher: Aes256Gcm::new(&key.into()) }
    }

    /// `context` names the row the secret belongs to, e.g. `wechat_app:<enterprise>:<kind>`.
    pub fn seal(&self, plaintext: &str, context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() };
        // Encryption only fails for messages beyond AES-GCM's 64 GiB limit.
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_else(|_| unreachable!("secret larger than AES-GCM allows"));
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    pub fn open(&self, sealed: &[u8], context: &str) -> Result<String, SecretError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(SecretError::Open);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        let payload = Payload { msg: ciphertext, aad: context.as_bytes() };
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), payload).map_err(|_| SecretError::Open)?;
        String::from_utf8(plain).map_err(|_| SecretError::Open)
    }
}

/// What the API shows instead of a secret: its length class and last four characters.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "****".into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let sb = SecretBox::new(&MasterKey::generate());
        let sealed = sb.seal("wx-app-secret-0123456789", "wechat_app:e1:official_account");
        assert!(!sealed.windows(6).any(|w| w == b"wx-app"), "plaintext visible in ciphertext");
        assert_eq!(
            sb.open(&sealed, "wechat_app:e1:official_account").ok().as_deref(),
            Some("wx-app-secret-0123456789")
        );
        assert!(matches!(sb.open(&sealed, "wechat_app:e2:official_account"), Err(SecretError::Open)));
        let other = SecretBox::new(&MasterKey::generate());
        assert!(matches!(other.open(&sealed, "wechat_app:e1:official_account"), Err(SecretError::Open)));
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(matches!(sb.open(&tampered, "wechat_app:e1:official_account"), Err(SecretError::Open)));
    }

    #[test]
    fn master_key_file_is_created_once() {
        let dir = std::env::temp_dir().join(format!("yy-mk-{}", uuid::Uuid::new_v4()));
        let path = dir.join("master.key");
        let a = MasterKey::load_or_create(&path).map(|k| k.to_base64()).ok();
        let b = MasterKey::load_or_create(&path).map(|k| k.to_base64()).ok();
        assert!(a.is_some());
        assert_eq!(a, b);
        assert!(matches!(MasterKey::from_base64("c2hvcnQ="), Err(SecretError::BadMasterKey)));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn masks_show_only_the_tail() {
        assert_eq!(mask("0123456789abcdef"), "****cdef");
        assert_eq!(mask("short"), "****");
    }
}
