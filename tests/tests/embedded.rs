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

/// The postmaster's pid, while the cluster under `dir` runs.
fn postmaster(dir: &std::path::Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("pgdata/postmaster.pid"))
        .ok()?
        .lines()
        .next()?
        .trim()
        .parse()
        .ok()
        .filter(|pid: &u32| std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// `pg_ctl` puts the server in a session of its own, where no signal that ends trawl
/// reaches it. A cluster trawl started stops however trawl ends, SIGKILL included: here
/// the owner is a child process (this test, run again), killed outright.
#[tokio::test]
async fn the_cluster_stops_however_its_owner_ends() -> anyhow::Result<()> {
    use tokio::io::AsyncBufReadExt;
    const CHILD: &str = "TRAWL_TEST_EMBEDDED_OWNER";
    if let Some(dir) = std::env::var_os(CHILD) {
        let _pg = EmbeddedPostgres::start(std::path::Path::new(&dir)).await?;
        println!("READY");
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
        return Ok(());
    }
    let dir =
        std::env::temp_dir().join(format!("trawl-embedded-{}", uuid::Uuid::new_v4().simple()));
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "the_cluster_stops_however_its_owner_ends",
            "--nocapture",
        ])
        .env(CHILD, &dir)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("piped")).lines();
    let ready = tokio::time::timeout(std::time::Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await? {
            if line.contains("READY") {
                return anyhow::Ok(true);
            }
        }
        anyhow::Ok(false)
    })
    .await??;
    assert!(ready, "the child never started its cluster");
    let server = postmaster(&dir).expect("the cluster runs");
    child.kill().await?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while postmaster(&dir) == Some(server) {
        assert!(
            std::time::Instant::now() < deadline,
            "the cluster outlived its killed owner"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A cluster left running by nobody (as an older trawl could): a start restarts it
    // under itself, and then it stops with its new owner.
    let shared = EmbeddedPostgres::start_shared(&dir).await?;
    let orphan = postmaster(&dir).expect("running");
    let pg = EmbeddedPostgres::start(&dir).await?;
    let adopted = postmaster(&dir).expect("running again");
    assert_ne!(orphan, adopted, "the orphan was adopted, not restarted");
    pg.stop().await?;
    assert_eq!(postmaster(&dir), None, "stopped means stopped");
    shared.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
