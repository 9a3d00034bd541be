//! Export files on local disk and the signed, expiring links that download them.
//!
//! A link carries the export id, an expiry time and an HMAC-SHA256 over both, keyed by a
//! secret every host on the database shares; no API key is needed to follow it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::ExportId;

/// Where export files live.
#[derive(Debug)]
pub struct Storage {
    root: PathBuf,
    key: Vec<u8>,
}

/// A verified download request, or why not.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The signature does not match.
    #[error("the download link is not valid")]
    BadSignature,
    /// The link's time is up.
    #[error("the download link has expired")]
    Expired,
}

impl Storage {
    /// Use `root` for files, creating it.
    pub async fn new(root: PathBuf, key: Vec<u8>) -> std::io::Result<Self> {
        tokio::fs::create_dir_all(&root).await?;
        Ok(Self { root, key })
    }

    /// The storage key (relative path) of an export's file.
    pub fn key_for(&self, id: ExportId, extension: &str) -> String {
        let ext: String = extension
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(10)
            .collect();
        format!("{id}.{ext}")
    }

    /// The file behind a storage key.
    pub fn path(&self, key: &str) -> PathBuf {
        // Keys are made by `key_for`; the file name alone keeps a stored key from escaping.
        let name = Path::new(key)
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default();
        self.root.join(name)
    }

    fn mac(&self, id: ExportId, expires: u64) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(format!("export:{id}:{expires}").as_bytes());
        mac
    }

    /// Sign a download of `id` valid for `ttl`; returns (expires unix seconds, signature).
    pub fn sign(&self, id: ExportId, ttl: Duration) -> (u64, String) {
        let expires = now_secs() + ttl.as_secs();
        (expires, self.sign_until(id, expires))
    }

    /// Sign a download of `id` valid until `expires` (unix seconds).
    pub fn sign_until(&self, id: ExportId, expires: u64) -> String {
        let sig = self.mac(id, expires).finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig)
    }

    /// `len` bytes of a stored file from `start`, as a response body.
    pub async fn read(&self, key: &str, start: u64, len: u64) -> std::io::Result<axum::body::Body> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = tokio::fs::File::open(self.path(key)).await?;
        file.seek(std::io::SeekFrom::Start(start)).await?;
        Ok(axum::body::Body::from_stream(
            tokio_util::io::ReaderStream::new(file.take(len)),
        ))
    }

    /// Remove a stored file; one already gone is not an error.
    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Keys of stored files last changed longer than `age` ago.
    pub async fn list_older_than(&self, age: Duration) -> std::io::Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut dir = tokio::fs::read_dir(&self.root).await?;
        let cutoff = SystemTime::now() - age;
        while let Some(entry) = dir.next_entry().await? {
            let meta = entry.metadata().await?;
            if meta.is_file() && meta.modified().is_ok_and(|m| m < cutoff) {
                keys.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(keys)
    }

    /// Check a link's signature and expiry.
    pub fn verify(&self, id: ExportId, expires: u64, signature: &str) -> Result<(), LinkError> {
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| LinkError::BadSignature)?;
        self.mac(id, expires)
            .verify_slice(&sig)
            .map_err(|_| LinkError::BadSignature)?;
        if expires < now_secs() {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn links_verify_and_expire() {
        let dir = std::env::temp_dir().join(format!("trawl-storage-{}", uuid::Uuid::new_v4()));
        let storage = Storage::new(dir, b"secret".to_vec()).await.expect("dir");
        let id = ExportId::new();
        let (expires, sig) = storage.sign(id, Duration::from_secs(60));
        assert_eq!(storage.verify(id, expires, &sig), Ok(()));
        assert_eq!(
            storage.verify(ExportId::new(), expires, &sig),
            Err(LinkError::BadSignature)
        );
        assert_eq!(
            storage.verify(id, expires + 1, &sig),
            Err(LinkError::BadSignature)
        );
        let (old, sig) = (
            now_secs() - 1,
            storage.mac(id, now_secs() - 1).finalize().into_bytes(),
        );
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig);
        assert_eq!(storage.verify(id, old, &sig), Err(LinkError::Expired));
    }
}
