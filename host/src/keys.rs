//! API keys: made with enough randomness, shown once, stored as a hash with a short
//! prefix to tell them apart; and the first admin, made with one.

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::db;
use crate::ids::UserId;

/// A new API key: `trawl_` + 40 hex characters of randomness. Returns the key and its hash.
pub fn new_api_key() -> (String, Vec<u8>) {
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    let key = format!("trawl_{}{}", a.simple(), &b.simple().to_string()[..8]);
    let hash = hash_api_key(&key);
    (key, hash)
}

/// How keys are stored.
pub fn hash_api_key(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// The first characters of a key, kept to tell keys apart.
pub fn key_prefix(key: &str) -> String {
    key.chars().take(12).collect()
}

/// Create the first admin if there is none; returns its key (to show once).
pub async fn bootstrap_admin(
    pool: &PgPool,
    key: Option<&str>,
) -> anyhow::Result<Option<(UserId, String)>> {
    let mut tx = pool.begin().await?;
    let Some(admin) = db::users::create_first_admin(&mut *tx).await? else {
        return Ok(None);
    };
    let key = match key {
        Some(k) => k.to_owned(),
        None => new_api_key().0,
    };
    db::api_keys::create(
        &mut *tx,
        admin.id,
        "bootstrap",
        &key_prefix(&key),
        &hash_api_key(&key),
    )
    .await?;
    tx.commit().await?;
    Ok(Some((admin.id, key)))
}
