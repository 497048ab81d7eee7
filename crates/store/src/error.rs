//! The store's errors: what failed and, where it helps, what to do; and the kind of each
//! failure, which decides what the ingest loop does about it (retry, or stop).

use rusqlite::ErrorCode;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Not a `source`: [`postgres_detail`] writes what the server said, which a chain of
    /// sources would write again.
    #[error("database: {}", postgres_detail(.0))]
    Postgres(tokio_postgres::Error),
    /// A PostgreSQL server that does not answer (or refuses the connection).
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    /// A `--database` URL that is no PostgreSQL connection string.
    #[error("{url} is no PostgreSQL URL ({detail}); write postgres://USER@HOST:PORT/DATABASE")]
    BadUrl { url: String, detail: String },
    #[error(
        "database schema version {found} is newer than this callstitch knows ({known}); \
         use a newer callstitch or another database"
    )]
    NewerSchema { found: i64, known: i64 },
    #[error("stored document is not valid JSON ({what}): {source}")]
    BadDocument { what: &'static str, source: serde_json::Error },
    /// A block of stored raw events that cannot be read back (its compression or framing).
    #[error(
        "stored event block {block} is unreadable ({detail}); restore the database from a backup, or move it \
         aside and re-import the logs into a new database (callstitch import)"
    )]
    BadBlock { block: i64, detail: String },
    /// A stored document's compressed bytes do not decompress.
    #[error("stored document cannot be compressed or decompressed ({what}): {source}")]
    Compression { what: &'static str, source: std::io::Error },
    #[error("bad cursor {0:?}: pass the next_cursor of the previous page unchanged")]
    BadCursor(String),
    /// Counting a search took longer than it was given: the filter matches too much.
    #[error("counting every interaction of this search took longer than {budget_ms} ms; narrow it (a time range, a site)")]
    TooBroad { budget_ms: u64 },
    #[error("the store's worker stopped: {0}")]
    Worker(String),
    /// Another process writes this database: there is one owner of the file at a time.
    #[error("{path} is in use by {holder}; stop it first, or use another database")]
    InUse { path: String, holder: Holder },
    /// A worker's step for a site that another writer has written since: this worker no
    /// longer owns the site and must stop writing for it (docs/scale.md).
    #[error(
        "site {site} was written by another worker (news position {found}, this worker expected {expected}); \
         it no longer owns the site and stops writing for it"
    )]
    Fenced { site: String, expected: i64, found: i64 },
    #[error("cannot lock {path}: {source}")]
    Lock { path: String, source: std::io::Error },
    /// Found at start: the file (or its directory) cannot be written.
    #[error(
        "{path} cannot be written: {reason}; make the file and its directory writable \
         (or mount the file system read-write), then start again"
    )]
    NotWritable { path: String, reason: String },
    /// Found at start (the integrity check) or while running.
    #[error(
        "{path} is corrupt ({detail}); restore it from a backup, or move it aside and \
         re-import the logs into a new database (callstitch import)"
    )]
    Corrupt { path: String, detail: String },
}

/// The process that holds a database, as it wrote itself into the lock file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    /// The program and its subcommand, e.g. `callstitch serve`.
    pub command: Option<String>,
}

impl Holder {
    /// This process's command as a holder names it: its program's file name and its
    /// subcommand, e.g. `callstitch serve`.
    pub fn this_command() -> String {
        let mut args = std::env::args();
        let program = args
            .next()
            .map(|path| {
                std::path::Path::new(&path)
                    .file_name()
                    .map_or(path.clone(), |name| name.to_string_lossy().into_owned())
            })
            .unwrap_or_default();
        match args.next() {
            Some(subcommand) if !subcommand.starts_with('-') => format!("{program} {subcommand}"),
            _ => program,
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.command, self.pid) {
            (Some(command), Some(pid)) => write!(f, "`{command}` (pid {pid})"),
            (None, Some(pid)) => write!(f, "another process (pid {pid})"),
            (Some(command), None) => write!(f, "`{command}`"),
            (None, None) => write!(f, "another process"),
        }
    }
}

/// What kind of failure an error is: the resources (space, locks, the disk, permissions) can
/// come back by themselves or by an operator's hand while the service runs; corruption and
/// the rest do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// `SQLITE_FULL`: the disk (or the file system's quota) is full.
    Full,
    /// `SQLITE_BUSY`, `SQLITE_LOCKED`: another connection holds a lock.
    Busy,
    /// `SQLITE_READONLY`: the file became read-only.
    ReadOnly,
    /// `SQLITE_IOERR`, `SQLITE_CANTOPEN`: the operating system refused a read or a write.
    Io,
    /// `SQLITE_CORRUPT`, `SQLITE_NOTADB`: the file is damaged.
    Corrupt,
    Other,
}

impl FailureKind {
    /// A resource that can come back: worth retrying.
    pub fn is_transient(self) -> bool {
        matches!(self, FailureKind::Full | FailureKind::Busy | FailureKind::ReadOnly | FailureKind::Io)
    }

    /// A few words for a client: `disk full`.
    pub fn summary(self) -> &'static str {
        match self {
            FailureKind::Full => "disk full",
            FailureKind::Busy => "database locked",
            FailureKind::ReadOnly => "database read-only",
            FailureKind::Io => "disk I/O error",
            FailureKind::Corrupt => "database damaged",
            FailureKind::Other => "store error",
        }
    }

    /// What an operator can do about it, for /healthz and the log.
    pub fn advice(self) -> &'static str {
        match self {
            FailureKind::Full => "free space on the database's file system; ingest resumes by itself",
            FailureKind::Busy => "another process holds a lock on the database; ingest resumes when it lets go",
            FailureKind::ReadOnly => "make the database file and its directory writable again; ingest resumes by itself",
            FailureKind::Io => "check the disk and the system log; ingest resumes when the disk answers again",
            FailureKind::Corrupt => {
                "restore the database from a backup, or move it aside and re-import the logs (callstitch import)"
            }
            FailureKind::Other => "see the service log",
        }
    }
}

fn sqlite_kind(error: &rusqlite::Error) -> FailureKind {
    match error.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => FailureKind::Full,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => FailureKind::Busy,
        Some(ErrorCode::ReadOnly) => FailureKind::ReadOnly,
        Some(ErrorCode::SystemIoFailure | ErrorCode::CannotOpen) => FailureKind::Io,
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => FailureKind::Corrupt,
        _ => FailureKind::Other,
    }
}

/// What a PostgreSQL error is, by its SQLSTATE (a lost connection is I/O: the server can
/// come back).
impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> StoreError {
        StoreError::Postgres(error)
    }
}

/// What the server said, not only what kind of error it was: tokio-postgres writes a server's
/// refusal as "db error" and keeps the message, its code, detail and hint in the error's
/// source.
fn postgres_detail(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = format!("{} ({} {})", db.message(), db.severity(), db.code().code());
        for (what, value) in [("detail", db.detail()), ("hint", db.hint())] {
            if let Some(value) = value {
                text.push_str(&format!("; {what}: {value}"));
            }
        }
        return text;
    }
    match std::error::Error::source(error) {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

fn postgres_kind(error: &tokio_postgres::Error) -> FailureKind {
    let Some(code) = error.code() else {
        let io = std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>());
        return if error.is_closed() || io { FailureKind::Io } else { FailureKind::Other };
    };
    match code.code() {
        "53100" => FailureKind::Full,
        "40P01" | "55P03" | "40001" | "53300" => FailureKind::Busy,
        "25006" => FailureKind::ReadOnly,
        "XX001" | "XX002" => FailureKind::Corrupt,
        "58030" | "57P01" | "57P02" | "57P03" => FailureKind::Io,
        class if class.starts_with("08") => FailureKind::Io,
        _ => FailureKind::Other,
    }
}

impl StoreError {
    pub fn kind(&self) -> FailureKind {
        match self {
            StoreError::Open { source, .. } | StoreError::Sqlite(source) => sqlite_kind(source),
            StoreError::Postgres(source) => postgres_kind(source),
            StoreError::Connect { .. } => FailureKind::Io,
            StoreError::Lock { .. } => FailureKind::Io,
            StoreError::NotWritable { .. } => FailureKind::ReadOnly,
            StoreError::Corrupt { .. } => FailureKind::Corrupt,
            StoreError::InUse { .. } | StoreError::Fenced { .. } => FailureKind::Busy,
            StoreError::NewerSchema { .. }
            | StoreError::BadUrl { .. }
            | StoreError::BadDocument { .. }
            | StoreError::BadBlock { .. }
            | StoreError::Compression { .. }
            | StoreError::BadCursor(_)
            | StoreError::TooBroad { .. }
            | StoreError::Worker(_) => FailureKind::Other,
        }
    }

    /// Worth retrying: see [`FailureKind::is_transient`].
    pub fn is_transient(&self) -> bool {
        self.kind().is_transient()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(code: std::os::raw::c_int) -> StoreError {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None))
    }

    #[test]
    fn resources_that_can_come_back_are_transient_and_damage_is_not() {
        use rusqlite::ffi;
        let transient =
            [ffi::SQLITE_FULL, ffi::SQLITE_BUSY, ffi::SQLITE_LOCKED, ffi::SQLITE_READONLY, ffi::SQLITE_IOERR];
        for code in transient {
            assert!(sqlite(code).is_transient(), "{code}");
        }
        for code in [ffi::SQLITE_CORRUPT, ffi::SQLITE_NOTADB, ffi::SQLITE_CONSTRAINT, ffi::SQLITE_MISMATCH] {
            assert!(!sqlite(code).is_transient(), "{code}");
        }
        assert_eq!(sqlite(ffi::SQLITE_FULL).kind(), FailureKind::Full);
        assert_eq!(sqlite(ffi::SQLITE_NOTADB).kind(), FailureKind::Corrupt);
    }

    #[test]
    fn the_holder_of_a_database_is_named_by_its_command_and_pid() {
        let holder = Holder { pid: Some(1234), command: Some("callstitch serve".to_string()) };
        let error = StoreError::InUse { path: "callstitch.db".to_string(), holder };
        assert_eq!(
            error.to_string(),
            "callstitch.db is in use by `callstitch serve` (pid 1234); stop it first, or use another database"
        );
    }
}
