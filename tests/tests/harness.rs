//! The test harness cleans up after itself: each test's database is dropped when the
//! test ends (passed or failed), and databases a killed test process left behind are
//! swept when the next one is made.

use sqlx::{Connection, PgConnection};

async fn exists(db: &trawl_tests::TestDb, name: &str) -> anyhow::Result<bool> {
    let mut admin = PgConnection::connect_with(db.server()).await?;
    let found: Option<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname = $1")
            .bind(name)
            .fetch_optional(&mut admin)
            .await?;
    Ok(found.is_some())
}

#[tokio::test]
async fn test_databases_are_dropped_and_leftovers_swept() -> anyhow::Result<()> {
    let first = trawl_tests::test_db().await?;
    let name = first.name().to_owned();
    let watcher = trawl_tests::test_db().await?;
    assert!(exists(&watcher, &name).await?);
    drop(first);
    assert!(!exists(&watcher, &name).await?, "{name} outlived its test");

    // What a killed run leaves: this machine's name, a process that is gone.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let orphan = format!(
        "trawl_test_{now}_{}_4194303_0123456789abcdef",
        trawl_tests::machine()
    );
    let mut admin = PgConnection::connect_with(watcher.server()).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{orphan}\"")))
        .execute(&mut admin)
        .await?;
    let _next = trawl_tests::test_db().await?;
    assert!(!exists(&watcher, &orphan).await?, "{orphan} was not swept");
    // A live process's database stays.
    assert!(exists(&watcher, watcher.name()).await?);
    Ok(())
}
