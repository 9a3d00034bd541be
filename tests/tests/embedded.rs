//! The embedded PostgreSQL: created on first start, reused with its data on the next,
//! stopped on request; a clear message when no server binaries are installed.

use sqlx::Connection;
use trawl_host::db::embedded::{EmbeddedError, EmbeddedPostgres};

#[tokio::test]
async fn a_private_cluster_starts_keeps_its_data_and_stops() -> anyhow::Result<()> {
    // Under /tmp: as root the cluster runs as `postgres`, which must reach the directory.
    let dir =
        std::env::temp_dir().join(format!("trawl-embedded-{}", uuid::Uuid::new_v4().simple()));
    let pg = EmbeddedPostgres::start(&dir).await?;
    let mut conn = sqlx::PgConnection::connect_with(&pg.connect_options()).await?;
    sqlx::query("CREATE TABLE kept (v int)")
        .execute(&mut conn)
        .await?;
    sqlx::query("INSERT INTO kept VALUES (42)")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    pg.stop().await?;
    assert!(
        sqlx::PgConnection::connect_with(&pg.connect_options())
            .await
            .is_err(),
        "stopped means stopped"
    );

    let pg = EmbeddedPostgres::start(&dir).await?;
    let mut conn = sqlx::PgConnection::connect_with(&pg.connect_options()).await?;
    let v: i32 = sqlx::query_scalar("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await?;
    assert_eq!(v, 42);
    conn.close().await?;
    pg.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn without_server_binaries_the_error_says_what_to_install() {
    let dir = std::env::temp_dir().join("trawl-embedded-none");
    let e = EmbeddedPostgres::start_with(&dir, None)
        .await
        .expect_err("nothing to run");
    assert!(matches!(e, EmbeddedError::NoBinaries));
    let message = e.to_string();
    assert!(message.contains("apt-get install postgresql"), "{message}");
    assert!(message.contains("DATABASE_URL"), "{message}");
}
