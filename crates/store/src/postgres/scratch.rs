//! Scratch databases for tests and benchmarks: a fresh database of a PostgreSQL server,
//! made from its `postgres` maintenance database and dropped (with whatever still connects
//! to it) when its handle goes. The server is `CALLSTITCH_TEST_POSTGRES`
//! (default `postgres://postgres@127.0.0.1:5432`, what scripts/services starts).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio_postgres::NoTls;

use crate::error::StoreError;

/// The server scratch databases are made on, without a database name.
pub fn server() -> String {
    std::env::var("CALLSTITCH_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// Runs `sql` on the server's maintenance database.
async fn maintenance(server: &str, sql: &str) -> Result<(), StoreError> {
    let url = format!("{server}/postgres");
    let (client, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .map_err(|error| StoreError::Connect { url: super::redacted(&url), detail: error.to_string() })?;
    let driver = tokio::spawn(connection);
    let done = client.batch_execute(sql).await;
    drop(client);
    let _ = driver.await;
    Ok(done?)
}

/// Whether a test that needs the server can run: true when it answers; when it does not,
/// false with a line saying the test is skipped, unless `CALLSTITCH_REQUIRE_POSTGRES=1`
/// (CI), which makes it a failure (a panic: this is for tests).
pub async fn available_for_tests() -> bool {
    let server = server();
    let reached = tokio::time::timeout(Duration::from_secs(5), maintenance(&server, "SELECT 1")).await;
    let why = match reached {
        Ok(Ok(())) => return true,
        Ok(Err(error)) => error.to_string(),
        Err(_) => "no answer within 5 s".to_string(),
    };
    let why = format!("no PostgreSQL server at {} ({why})", super::redacted(&server));
    if std::env::var("CALLSTITCH_REQUIRE_POSTGRES").is_ok_and(|value| value == "1") {
        panic!("{why}; CALLSTITCH_REQUIRE_POSTGRES=1 (scripts/services starts one)");
    }
    eprintln!("skipped: {why}; set CALLSTITCH_TEST_POSTGRES, or run scripts/services");
    false
}

/// A database made for one test or run, dropped when this goes.
#[derive(Debug)]
pub struct Scratch {
    server: String,
    name: String,
}

impl Scratch {
    /// A fresh database on [`server`], named `callstitch_t_<label>_<pid>_<n>`.
    pub async fn new(label: &str) -> Result<Scratch, StoreError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |time| time.subsec_nanos());
        let label: String = label.chars().filter(char::is_ascii_alphanumeric).take(20).collect();
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        let name =
            format!("callstitch_t_{label}_{}_{nanos}_{serial}", std::process::id()).to_ascii_lowercase();
        let server = server();
        maintenance(&server, &format!("CREATE DATABASE {name}")).await?;
        Ok(Scratch { server, name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database's URL.
    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    /// A connection of its own to the database (its driver on the current runtime).
    pub async fn client(&self) -> Result<tokio_postgres::Client, StoreError> {
        let (client, connection) = tokio_postgres::connect(&self.url(), NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (server, sql) =
            (self.server.clone(), format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        // A runtime of its own: the one it was made on may be ending, or absent.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            runtime
                .map_err(|error| error.to_string())?
                .block_on(maintenance(&server, &sql))
                .map_err(|error| error.to_string())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            tracing::warn!(database = %self.name, ?dropped, "a scratch database was not dropped");
        }
    }
}
