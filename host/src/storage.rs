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
        let sig = self.mac(id, expires).finalize().into_bytes();
        (
            expires,
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig),
        )
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
