//! What the writer checks before it takes the store, so that a database that cannot work is
//! refused at start with what to do, instead of starting "healthy" and failing on the first
//! write or read: the file can be written (not read-only), its schema is one this build
//! knows, its pages are sound (`PRAGMA quick_check`, within a time budget), and a write goes
//! through. A full disk is not refused: the service starts and says it is degraded until
//! there is space (the ingest loop's policy).

use rusqlite::{Connection, DatabaseName, OpenFlags};
use std::path::Path;

use super::{configure, in_transaction, schema, SqliteOptions};
use crate::error::{FailureKind, StoreError};
use crate::health::{HealthLog, Operation};

/// Opens the writer connection of the database at `path`, checked as the module says.
pub fn open_writer(
    path: &Path,
    options: &SqliteOptions,
    health: &HealthLog,
) -> Result<Connection, StoreError> {
    let refused = |error: StoreError| refusal(path, error);
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut connection = Connection::open_with_flags(path, flags)
        .map_err(|source| refused(StoreError::Open { path: path.display().to_string(), source }))?;
    // SQLite opens a file it may not write read-only, silently: every write would fail.
    if connection.is_readonly(DatabaseName::Main).map_err(|error| refused(error.into()))? {
        return Err(StoreError::NotWritable {
            path: path.display().to_string(),
            reason: "the file is read-only (its permissions, or a read-only file system)".to_string(),
        });
    }
    configure(&connection, options).map_err(|error| refused(error.into()))?;
    schema::migrate(&mut connection).map_err(refused)?;
    if let Some(budget) = options.integrity_budget {
        check_integrity(&connection, path, budget)?;
    }
    probe_write(&mut connection, path, health)?;
    Ok(connection)
}

/// A start-up error as the operator should read it: damage and read-only files by name.
fn refusal(path: &Path, error: StoreError) -> StoreError {
    let detail = match &error {
        StoreError::Open { source, .. } | StoreError::Sqlite(source) => source.to_string(),
        other => other.to_string(),
    };
    let path = path.display().to_string();
    match error.kind() {
        FailureKind::Corrupt => StoreError::Corrupt { path, detail },
        FailureKind::ReadOnly => StoreError::NotWritable { path, reason: detail },
        _ => error,
    }
}

/// `PRAGMA quick_check`, interrupted once `budget` is spent (a very large database then
/// starts unchecked, with a warning: a slow start is worse than a check left undone).
fn check_integrity(
    connection: &Connection,
    path: &Path,
    budget: std::time::Duration,
) -> Result<(), StoreError> {
    let interrupt = connection.get_interrupt_handle();
    let (finished, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::Builder::new().name("sqlite-integrity".to_string()).spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(budget) {
            interrupt.interrupt();
        }
    });
    let found = connection
        .prepare("PRAGMA quick_check(10)")
        .and_then(|mut statement| statement.query_map([], |row| row.get::<_, String>(0))?.collect());
    drop(finished);
    if let Ok(watchdog) = watchdog {
        let _ = watchdog.join();
    }
    let problems: Vec<String> = match found {
        Ok(rows) => rows,
        Err(error) if error.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) => {
            tracing::warn!(
                database = %path.display(),
                "the integrity check did not finish within {budget:?}; the database is used unchecked"
            );
            return Ok(());
        }
        Err(error) => return Err(refusal(path, error.into())),
    };
    if problems.iter().all(|row| row == "ok") {
        return Ok(());
    }
    Err(StoreError::Corrupt { path: path.display().to_string(), detail: problems.join("; ") })
}

/// One real write (a row rewritten as it is), so that a file that cannot be written is found
/// now. A full disk or a busy lock is recorded (the service then says it is degraded) but
/// does not refuse the start: both can pass by themselves.
fn probe_write(connection: &mut Connection, path: &Path, health: &HealthLog) -> Result<(), StoreError> {
    let written = in_transaction(connection, |transaction| {
        transaction.execute("UPDATE checkpoint SET positions = positions WHERE id = 1", [])?;
        Ok(())
    });
    match written {
        Ok(()) => Ok(()),
        Err(error) if matches!(error.kind(), FailureKind::Full | FailureKind::Busy) => {
            tracing::warn!(database = %path.display(), %error, "the database cannot be written now; ingest waits until it can");
            health.record(Operation::Write, &error);
            Ok(())
        }
        Err(error) => Err(refusal(path, error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;

    fn written(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("callstitch.db");
        let connection = Connection::open(&path).expect("open");
        connection
            .execute_batch(
                "PRAGMA page_size = 4096; CREATE TABLE filler (n INTEGER PRIMARY KEY, text TEXT);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
                 INSERT INTO filler SELECT i, printf('%0200d', i) FROM n;",
            )
            .expect("filled");
        path
    }

    #[test]
    fn a_damaged_file_is_refused_at_open_naming_it_and_what_to_do() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = written(dir.path());
        let mut bytes = std::fs::read(&path).expect("read");
        let middle = bytes.len() / 2 / 4096 * 4096;
        bytes[middle..middle + 65536].fill(0);
        std::fs::write(&path, bytes).expect("damaged");
        let error = SqliteStore::open(&path, SqliteOptions::default()).err().expect("refused");
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        let text = error.to_string();
        assert!(text.contains("callstitch.db") && text.contains("backup"), "{text}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused_as_corrupt() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("callstitch.db");
        std::fs::write(&path, vec![0x42; 8192]).expect("written");
        let error = SqliteStore::open(&path, SqliteOptions::default()).err().expect("refused");
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    }

    #[test]
    fn a_sound_database_passes_the_checks_and_opens() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("callstitch.db");
        drop(SqliteStore::open(&path, SqliteOptions::default()).expect("created"));
        SqliteStore::open(&path, SqliteOptions::default()).expect("opened again");
    }
}
