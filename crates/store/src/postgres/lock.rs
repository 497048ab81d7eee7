//! One owner of a PostgreSQL database: the writer connection holds a session advisory lock
//! ([`LOCK_KEY`], `pg_try_advisory_lock`) for as long as the store is open, so that a second
//! writer (an import while the service runs, a second service) is refused with
//! [`StoreError::InUse`], naming the holder by the application name its connection gave
//! (`callstitch serve/1234`: the command and its process id).
//!
//! The lock goes with the connection, however the process ends: the server lets go of it when
//! it sees the connection close. Opening waits a moment for that ([`super::PostgresOptions`]'s
//! `lock_wait`), so that a restart right after a stop is not refused. Advisory locks are
//! per database: stores in two databases of one server do not meet.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::error::{Holder, StoreError};

/// The advisory lock's key: "callstit" in ASCII.
pub const LOCK_KEY: i64 = 0x6361_6c6c_7374_6974;

/// `<program> <subcommand>/<pid>`, as this process names its connections.
pub fn application_name() -> String {
    let command = Holder::this_command();
    // PostgreSQL keeps 63 bytes of it.
    let command: String = command.chars().filter(|c| c.is_ascii() && *c != '/').take(48).collect();
    format!("{command}/{}", std::process::id())
}

/// The holder as its application name says (see [`application_name`]).
fn holder(name: &str) -> Holder {
    let (command, pid) = match name.rsplit_once('/') {
        Some((command, pid)) => (command, pid.parse().ok()),
        None => (name, None),
    };
    Holder { pid, command: (!command.is_empty()).then(|| command.to_string()) }
}

/// Takes the lock on `client`'s session, waiting up to `wait` for a holder that just went.
pub async fn acquire(client: &Client, name: &str, wait: Duration) -> Result<(), StoreError> {
    let started = Instant::now();
    loop {
        let row = client.query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY]).await?;
        if row.try_get::<_, bool>(0)? {
            return Ok(());
        }
        if started.elapsed() >= wait {
            return Err(StoreError::InUse { path: name.to_string(), holder: current_holder(client).await? });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Who holds the lock now, as the server knows its session.
async fn current_holder(client: &Client) -> Result<Holder, StoreError> {
    let row = client
        .query_opt(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.classid = ($1::bigint >> 32)::oid AND l.objid = ($1::bigint & 4294967295)::oid AND l.objsubid = 1
              LIMIT 1",
            &[&LOCK_KEY],
        )
        .await?;
    let name: Option<String> = match row {
        Some(row) => row.try_get(0)?,
        None => None,
    };
    Ok(name.map(|name| holder(&name)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_is_read_back_from_its_application_name() {
        assert_eq!(
            holder("callstitch serve/1234"),
            Holder { pid: Some(1234), command: Some("callstitch serve".to_string()) }
        );
        assert_eq!(holder("psql"), Holder { pid: None, command: Some("psql".to_string()) });
        let name = application_name();
        assert!(name.len() < 64 && name.ends_with(&format!("/{}", std::process::id())), "{name}");
    }
}
