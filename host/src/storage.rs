//! Export files, on local disk or in an S3-compatible bucket (both through `object_store`),
//! and the signed, expiring links that download them.
//!
//! New exports go to the configured backend; each export row records the backend its
//! file is on, so a file written before a change of configuration is still served and
//! deleted where it is. Files go up as a multipart stream: the writer never holds more
//! than two parts.
//!
//! A link carries the export id, an expiry time and an HMAC-SHA256 over both, keyed by a
//! secret every host on the database shares; no API key is needed to follow it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use futures_util::TryStreamExt as _;
use hmac::{Hmac, Mac};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::signer::{SignedUrlOptions, Signer as _};
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, ObjectStore, ObjectStoreExt as _,
    PutMultipartOptions, WriteMultipart,
};
use sha2::Sha256;

use crate::config::{StorageConfig, StorageKind};
use crate::ids::ExportId;

/// Parts of a multipart upload in flight at once: the back-pressure on a writer.
const PARTS_IN_FLIGHT: usize = 2;

/// Which storage a file is on, as export rows record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Local,
    S3,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::S3 => "s3",
        }
    }

    /// The backend a row names (rows from before backends were recorded are local).
    pub fn of(recorded: Option<&str>) -> Option<Self> {
        match recorded {
            None | Some("local") => Some(Self::Local),
            Some("s3") => Some(Self::S3),
            Some(_) => None,
        }
    }
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The file is not there.
    #[error("the file is not in storage")]
    NotFound,
    /// The file is on a backend this host is not configured for.
    #[error("the file is in {0} storage, which this host is not configured for")]
    Unavailable(String),
    #[error("storage: {0}")]
    Store(#[from] object_store::Error),
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
}

impl StorageError {
    fn from_store(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => Self::NotFound,
            e => Self::Store(e),
        }
    }
}

/// A bucket and the prefix of trawl's keys in it.
#[derive(Debug)]
struct Bucket {
    store: Arc<AmazonS3>,
    prefix: StorePath,
    redirect: bool,
}

/// Where export files live.
#[derive(Debug)]
pub struct Storage {
    root: PathBuf,
    local: Arc<LocalFileSystem>,
    s3: Option<Bucket>,
    writes_to: Backend,
    part_size: usize,
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

/// What a stored file is, for the headers a bucket answers a presigned download with.
#[derive(Debug, Clone, Copy)]
pub struct FileInfo<'a> {
    pub media_type: &'a str,
    /// The `Content-Disposition` to download it with.
    pub disposition: &'a str,
}

impl Storage {
    /// Local files under `root` (created), and the bucket `config` names, if any.
    pub async fn new(config: &StorageConfig, root: PathBuf, key: Vec<u8>) -> anyhow::Result<Self> {
        tokio::fs::create_dir_all(&root).await?;
        let local = LocalFileSystem::new_with_prefix(&root)?;
        let s3 = match (&config.bucket, config.kind) {
            (None, StorageKind::S3) => {
                anyhow::bail!("TRAWL_EXPORT_STORAGE=s3 needs a bucket (TRAWL_S3_BUCKET)")
            }
            (None, StorageKind::Local) => None,
            (Some(bucket), _) => {
                let prefix = config.prefix.trim_matches('/');
                if prefix.is_empty() {
                    // The janitor deletes what no export owns under the prefix: never the
                    // whole bucket.
                    anyhow::bail!(
                        "TRAWL_S3_PREFIX must name a prefix of trawl's own, not the bucket's root"
                    );
                }
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .with_allow_http(config.allow_http);
                if let Some(id) = &config.access_key_id {
                    builder = builder.with_access_key_id(id);
                }
                if let Some(secret) = &config.secret_access_key {
                    builder = builder.with_secret_access_key(secret);
                }
                if let Some(endpoint) = &config.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                let region = config
                    .region
                    .clone()
                    .or_else(|| std::env::var("AWS_REGION").ok())
                    .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
                    .unwrap_or_else(|| "us-east-1".into());
                builder = builder.with_region(region);
                Some(Bucket {
                    store: Arc::new(builder.build()?),
                    prefix: StorePath::from(prefix),
                    redirect: config.redirect,
                })
            }
        };
        Ok(Self {
            root,
            local: Arc::new(local),
            s3,
            writes_to: match config.kind {
                StorageKind::Local => Backend::Local,
                StorageKind::S3 => Backend::S3,
            },
            part_size: config.part_size.as_u64().try_into().unwrap_or(usize::MAX),
            key,
        })
    }

    /// The backend new exports are written to.
    pub fn backend(&self) -> Backend {
        self.writes_to
    }

    /// The backends this host can reach, as rows name them.
    pub fn backends(&self) -> Vec<String> {
        let mut out = vec![Backend::Local.as_str().to_owned()];
        if self.s3.is_some() {
            out.push(Backend::S3.as_str().to_owned());
        }
        out
    }

    /// A storage key for one attempt at writing an export: an attempt that lost its claim
    /// and the one that took over never write the same file.
    pub fn key_for(&self, id: ExportId, extension: &str) -> String {
        let ext: String = extension
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(10)
            .collect();
        let attempt = &uuid::Uuid::new_v4().simple().to_string()[..8];
        format!("{id}-{attempt}.{ext}")
    }

    /// The local file behind a storage key.
    pub fn path(&self, key: &str) -> PathBuf {
        self.root.join(file_name_of(key))
    }

    /// The store and location of a key on a backend.
    fn locate(
        &self,
        backend: Backend,
        key: &str,
    ) -> Result<(&dyn ObjectStore, StorePath), StorageError> {
        let name = file_name_of(key);
        let name = StorePath::parse(name).map_err(|_| StorageError::NotFound)?;
        match backend {
            Backend::Local => Ok((self.local.as_ref(), name)),
            Backend::S3 => {
                let bucket = self
                    .s3
                    .as_ref()
                    .ok_or_else(|| StorageError::Unavailable("s3".into()))?;
                let location = bucket.prefix.parts().chain(name.parts()).collect();
                Ok((bucket.store.as_ref(), location))
            }
        }
    }

    /// Start writing `key` on the backend new exports go to.
    pub async fn upload(&self, key: &str, info: FileInfo<'_>) -> Result<Upload, StorageError> {
        let backend = self.writes_to;
        let (store, location) = self.locate(backend, key)?;
        let mut options = PutMultipartOptions::default();
        if backend == Backend::S3 {
            // Local files have no attributes; a bucket answers presigned downloads with them.
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, info.media_type.to_owned().into());
            attributes.insert(
                Attribute::ContentDisposition,
                info.disposition.to_owned().into(),
            );
            options.attributes = attributes;
        }
        let upload = store
            .put_multipart_opts(&location, options)
            .await
            .map_err(StorageError::from_store)?;
        Ok(Upload {
            inner: WriteMultipart::new_with_chunk_size(upload, self.part_size),
        })
    }

    /// `len` bytes of a stored file from `start`, as a response body.
    pub async fn read(
        &self,
        backend: Backend,
        key: &str,
        start: u64,
        len: u64,
    ) -> Result<axum::body::Body, StorageError> {
        let (store, location) = self.locate(backend, key)?;
        if len == 0 {
            store
                .head(&location)
                .await
                .map_err(StorageError::from_store)?;
            return Ok(axum::body::Body::empty());
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(start..start + len)),
            ..GetOptions::default()
        };
        let got = store
            .get_opts(&location, options)
            .await
            .map_err(StorageError::from_store)?;
        Ok(axum::body::Body::from_stream(got.into_stream()))
    }

    /// Remove a stored file; one already gone is not an error.
    pub async fn delete(&self, backend: Backend, key: &str) -> Result<(), StorageError> {
        let (store, location) = self.locate(backend, key)?;
        match store.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(StorageError::Store(e)),
        }
    }

    /// Keys of stored files on every backend this host reaches, last changed longer than
    /// `age` ago.
    pub async fn list_older_than(
        &self,
        age: Duration,
    ) -> Result<Vec<(Backend, String)>, StorageError> {
        let cutoff =
            chrono::Utc::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::MAX);
        let mut out = Vec::new();
        let mut stores: Vec<(Backend, &dyn ObjectStore, Option<&StorePath>)> =
            vec![(Backend::Local, self.local.as_ref(), None)];
        if let Some(bucket) = &self.s3 {
            stores.push((Backend::S3, bucket.store.as_ref(), Some(&bucket.prefix)));
        }
        for (backend, store, prefix) in stores {
            let depth = prefix.map_or(0, |p| p.parts().count()) + 1;
            let mut listing = store.list(prefix);
            while let Some(meta) = listing.try_next().await.map_err(StorageError::from_store)? {
                // Only files directly under the prefix are trawl's: keys are file names.
                if meta.last_modified < cutoff
                    && meta.location.parts().count() == depth
                    && let Some(name) = meta.location.filename()
                {
                    out.push((backend, name.to_owned()));
                }
            }
        }
        Ok(out)
    }

    /// Remove the local files of uploads that never finished (a host that died while
    /// writing) once they are older than `age`. They are not objects yet, so listings
    /// do not show them.
    pub async fn sweep_unfinished(&self, age: Duration) -> Result<u64, StorageError> {
        let cutoff = SystemTime::now() - age;
        let mut removed = 0;
        let mut dir = tokio::fs::read_dir(&self.root).await?;
        while let Some(entry) = dir.next_entry().await? {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let unfinished = name
                .rsplit_once('#')
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let meta = entry.metadata().await?;
            if unfinished && meta.is_file() && meta.modified().is_ok_and(|m| m < cutoff) {
                match tokio::fs::remove_file(entry.path()).await {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(removed)
    }

    /// A presigned URL downloading `key` for `ttl`, when downloads of this backend
    /// redirect (`TRAWL_S3_REDIRECT`); `None` otherwise.
    pub async fn presigned(
        &self,
        backend: Backend,
        key: &str,
        ttl: Duration,
        info: FileInfo<'_>,
    ) -> Result<Option<url::Url>, StorageError> {
        let Some(bucket) = self
            .s3
            .as_ref()
            .filter(|b| b.redirect && backend == Backend::S3)
        else {
            return Ok(None);
        };
        let (_, location) = self.locate(backend, key)?;
        let options = SignedUrlOptions::new().with_query([
            ("response-content-type", info.media_type),
            ("response-content-disposition", info.disposition),
        ]);
        let url = bucket
            .store
            .signed_url_opts(object_store::signer::Method::GET, &location, ttl, &options)
            .await?;
        Ok(Some(url))
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

/// A file being written: bytes go up in parts as they come, at most
/// [`PARTS_IN_FLIGHT`] at once; nothing is visible under its key until
/// [`finish`](Upload::finish). Dropped unfinished, the local part file is removed; call
/// [`abort`](Upload::abort) to also drop a bucket's parts.
#[derive(Debug)]
pub struct Upload {
    inner: WriteMultipart,
}

impl Upload {
    /// Append bytes, waiting while too many parts are in flight.
    pub async fn write(&mut self, bytes: Vec<u8>) -> Result<(), StorageError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.inner
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(StorageError::from_store)?;
        self.inner.put(bytes.into());
        Ok(())
    }

    /// Upload what is left and make the file visible under its key.
    pub async fn finish(self) -> Result<(), StorageError> {
        self.inner
            .finish()
            .await
            .map(|_| ())
            .map_err(StorageError::from_store)
    }

    /// Give up: remove what was uploaded.
    pub async fn abort(self) {
        if let Err(e) = self.inner.abort().await {
            tracing::warn!("aborting an upload: {e}");
        }
    }
}

/// `filename` for `Content-Disposition`: an ASCII stand-in and the UTF-8 name (RFC 6266).
pub fn disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The file name a stored key stands for: keys are made by `key_for`, and one stored key
/// is one file name, never a path.
fn file_name_of(key: &str) -> &str {
    key.rsplit(['/', '\\']).next().unwrap_or_default()
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

    async fn local() -> Storage {
        let dir = std::env::temp_dir().join(format!("trawl-storage-{}", uuid::Uuid::new_v4()));
        Storage::new(&StorageConfig::default(), dir, b"secret".to_vec())
            .await
            .expect("dir")
    }

    #[test]
    fn dispositions_carry_utf8_names() {
        assert_eq!(
            disposition("Livros-Ficção.csv"),
            "attachment; filename=\"Livros-Fic__o.csv\"; filename*=UTF-8''Livros-Fic%C3%A7%C3%A3o.csv"
        );
    }

    #[tokio::test]
    async fn links_verify_and_expire() {
        let storage = local().await;
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

    #[tokio::test]
    async fn uploads_appear_whole_and_read_back_in_ranges() {
        let storage = local().await;
        let key = storage.key_for(ExportId::new(), "csv");
        let info = FileInfo {
            media_type: "text/csv",
            disposition: "attachment",
        };
        let mut upload = storage.upload(&key, info).await.expect("starts");
        upload.write(b"hello, ".to_vec()).await.expect("writes");
        upload.write(Vec::new()).await.expect("writes nothing");
        upload.write(b"world".to_vec()).await.expect("writes");
        assert!(
            matches!(
                storage.read(Backend::Local, &key, 0, 1).await,
                Err(StorageError::NotFound)
            ),
            "nothing is visible before the upload finishes"
        );
        upload.finish().await.expect("finishes");
        let body = storage
            .read(Backend::Local, &key, 7, 5)
            .await
            .expect("reads");
        let bytes = axum::body::to_bytes(body, 100).await.expect("body");
        assert_eq!(&bytes[..], b"world");
        assert!(
            storage
                .presigned(Backend::Local, &key, Duration::from_secs(1), info)
                .await
                .expect("no error")
                .is_none()
        );
        // A key is only ever a file name in the root.
        assert!(
            storage
                .read(Backend::Local, "../../etc/passwd", 0, 1)
                .await
                .is_err()
        );
        assert!(matches!(
            storage.read(Backend::S3, &key, 0, 1).await,
            Err(StorageError::Unavailable(_))
        ));
        storage.delete(Backend::Local, &key).await.expect("deletes");
        storage
            .delete(Backend::Local, &key)
            .await
            .expect("gone is fine");
        assert!(matches!(
            storage.read(Backend::Local, &key, 0, 1).await,
            Err(StorageError::NotFound)
        ));
    }

    #[tokio::test]
    async fn an_abandoned_upload_leaves_nothing() {
        let storage = local().await;
        let key = storage.key_for(ExportId::new(), "csv");
        let info = FileInfo {
            media_type: "text/csv",
            disposition: "attachment",
        };
        let mut upload = storage.upload(&key, info).await.expect("starts");
        upload.write(b"partial".to_vec()).await.expect("writes");
        upload.abort().await;
        let mut dir = tokio::fs::read_dir(&storage.root).await.expect("root");
        assert!(dir.next_entry().await.expect("lists").is_none());
        assert_eq!(
            storage
                .list_older_than(Duration::ZERO)
                .await
                .expect("lists"),
            []
        );
    }
}
