//! Where document files live. The default is a directory under the data dir; an
//! S3-compatible store can implement the same trait later.
//!
//! Keys are made by the server (`jobs/<job id>/source`, never a user's file name) and checked
//! to be plain relative paths, so nothing can escape the root.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// A stored file's key, checked at construction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileKey(String);

impl FileKey {
    /// Lower-case letters, digits, `-`, `_`, `.` segments separated by `/`; no `..`.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into();
        let ok = !key.is_empty()
            && key.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
            });
        ok.then_some(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the upload is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("reading the upload failed: {0}")]
    Body(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// A finished, fully written upload.
#[derive(Debug, Clone)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

/// A stored file, read as it streams out.
pub type FileReader = Box<dyn tokio::io::AsyncRead + Send + Unpin>;

#[async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Streams `body` into a temporary file, hashing as it goes; nothing is left behind when
    /// it fails or passes `limit`. The result must be [`commit`](Self::commit)ted or dropped.
    async fn receive(
        &self,
        body: &mut (dyn Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Unpin),
        limit: u64,
    ) -> Result<(tempfile::TempPath, Stored), StoreError>;
    /// Moves a local file under `key`, replacing what was there.
    async fn commit(&self, from: &Path, key: &FileKey) -> Result<(), StoreError>;
    /// A local path to read `key` from (tools such as pdftoppm need one).
    fn local_path(&self, key: &FileKey) -> PathBuf;
    async fn exists(&self, key: &FileKey) -> bool;
    /// Opens `key` for streaming (`None` when there is no such file).
    async fn open(&self, key: &FileKey) -> Result<Option<FileReader>, StoreError>;
    /// Reads `key` whole (`None` when there is no such file); for small files.
    async fn read(&self, key: &FileKey) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes everything under `prefix` (a job's files).
    async fn delete_prefix(&self, prefix: &FileKey) -> Result<(), StoreError>;
    /// A scratch directory on the same file system, removed when dropped.
    fn scratch(&self) -> Result<tempfile::TempDir, StoreError>;
}

pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("tmp"))?;
        Ok(Self { root })
    }
}

#[async_trait]
impl FileStore for LocalStore {
    async fn receive(
        &self,
        body: &mut (dyn Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Unpin),
        limit: u64,
    ) -> Result<(tempfile::TempPath, Stored), StoreError> {
        let temp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?.into_temp_path();
        let mut file = tokio::fs::File::create(&temp).await?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| StoreError::Body(e.to_string()))?;
            size += chunk.len() as u64;
            if size > limit {
                // `temp` is deleted when dropped here.
                return Err(StoreError::TooLarge { limit });
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.sync_all().await?;
        let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok((temp, Stored { size, sha256 }))
    }

    async fn commit(&self, from: &Path, key: &FileKey) -> Result<(), StoreError> {
        let to = self.local_path(key);
        if let Some(dir) = to.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        // Same file system (scratch and tmp live under the root): an atomic rename.
        if tokio::fs::rename(from, &to).await.is_err() {
            tokio::fs::copy(from, &to).await?;
        }
        Ok(())
    }

    fn local_path(&self, key: &FileKey) -> PathBuf {
        self.root.join(key.as_str())
    }

    async fn exists(&self, key: &FileKey) -> bool {
        tokio::fs::try_exists(self.local_path(key)).await.unwrap_or(false)
    }

    async fn open(&self, key: &FileKey) -> Result<Option<FileReader>, StoreError> {
        match tokio::fs::File::open(self.local_path(key)).await {
            Ok(file) => Ok(Some(Box::new(file))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn read(&self, key: &FileKey) -> Result<Option<Vec<u8>>, StoreError> {
        match tokio::fs::read(self.local_path(key)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete_prefix(&self, prefix: &FileKey) -> Result<(), StoreError> {
        match tokio::fs::remove_dir_all(self.local_path(prefix)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn scratch(&self) -> Result<tempfile::TempDir, StoreError> {
        Ok(tempfile::tempdir_in(self.root.join("tmp"))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape() {
        assert!(FileKey::new("jobs/0193-ab/source").is_some());
        for bad in ["", "/etc/passwd", "jobs/../x", "jobs//x", "Jobs/x", "jobs/x y", "jobs/./x"] {
            assert!(FileKey::new(bad).is_none(), "{bad}");
        }
    }

    #[tokio::test]
    async fn receive_hashes_and_enforces_the_limit() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = LocalStore::new(dir.path().to_path_buf()).unwrap_or_else(|e| panic!("{e}"));
        let chunks = || {
            futures_util::stream::iter(vec![
                Ok(bytes::Bytes::from_static(b"abc")),
                Ok(bytes::Bytes::from_static(b"def")),
            ])
        };
        let (path, stored) = store.receive(&mut chunks(), 6).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored.size, 6);
        assert_eq!(stored.sha256, "bef57ec7f53a6d40beb640a780a639c83bc29ac8a9816f1fc6c5c6dcd93c4721");
        let key = FileKey::new("jobs/j1/source").unwrap_or_else(|| panic!("key"));
        store.commit(&path, &key).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(store.exists(&key).await);
        assert!(matches!(store.receive(&mut chunks(), 5).await, Err(StoreError::TooLarge { limit: 5 })));
        let leftovers = std::fs::read_dir(dir.path().join("tmp")).map(|d| d.count()).unwrap_or(99);
        assert_eq!(leftovers, 0, "nothing half-stored");
    }
}
