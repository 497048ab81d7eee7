//! One owner of a database file: the process that opens the store for writing holds an
//! exclusive lock on `<database>.lock` beside it for as long as the store is open, and
//! writes its pid and command into it, so that a second writer (an import while the service
//! runs, a second service) is refused with a message that names the holder.
//!
//! The lock is the operating system's (`flock` on Unix, `LockFileEx` on Windows, through
//! std's `File::try_lock`): it goes with the process, however the process ends (SIGKILL
//! included), so a crash never leaves a stale lock behind. The file itself stays; its
//! content is only a note for the next refused writer. Readers that open the database
//! read-only (sqlite3, a reporting tool) do not take it and are never refused.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use crate::error::{Holder, StoreError};

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct OwnerLock {
    _file: File,
}

/// `<database>.lock`, beside the database.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.file_name().map(|name| name.to_os_string()).unwrap_or_default();
    name.push(".lock");
    database.with_file_name(name)
}

impl OwnerLock {
    /// Takes the lock of `database`, or says who holds it.
    pub fn acquire(database: &Path) -> Result<OwnerLock, StoreError> {
        let path = lock_path(database);
        let (file, writable) = open_lock_file(database, &path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let note = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(StoreError::InUse {
                    path: database.display().to_string(),
                    holder: parse_note(&note),
                });
            }
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Lock { path: path.display().to_string(), source });
            }
        }
        if writable {
            // Only a note for a refused writer: the lock holds without it.
            let _ = write_note(&file);
        }
        Ok(OwnerLock { _file: file })
    }
}

/// Opens (creating) the lock file. On a read-only file system an existing lock file is
/// opened read-only (the lock works on it all the same; the start-up checks then say the
/// database cannot be written).
fn open_lock_file(database: &Path, path: &Path) -> Result<(File, bool), StoreError> {
    let created = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path);
    match created {
        Ok(file) => Ok((file, true)),
        Err(error) if matches!(error.kind(), ErrorKind::ReadOnlyFilesystem | ErrorKind::PermissionDenied) => {
            match File::open(path) {
                Ok(file) => Ok((file, false)),
                Err(_) => Err(StoreError::NotWritable {
                    path: database.display().to_string(),
                    reason: format!("its lock file {} cannot be created ({error})", path.display()),
                }),
            }
        }
        Err(source) => Err(StoreError::Lock { path: path.display().to_string(), source }),
    }
}

/// `pid <n>` and `command <program subcommand>`, one a line.
fn write_note(mut file: &File) -> std::io::Result<()> {
    let command = Holder::this_command();
    file.set_len(0)?;
    file.write_all(format!("pid {}\ncommand {command}\n", std::process::id()).as_bytes())?;
    file.flush()
}

fn parse_note(note: &str) -> Holder {
    let mut holder = Holder::default();
    for line in note.lines() {
        if let Some(pid) = line.strip_prefix("pid ") {
            holder.pid = pid.trim().parse().ok();
        } else if let Some(command) = line.strip_prefix("command ") {
            let command = command.trim();
            if !command.is_empty() {
                holder.command = Some(command.chars().take(200).collect());
            }
        }
    }
    holder
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_naming_the_holder_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = dir.path().join("callstitch.db");
        let first = OwnerLock::acquire(&database).expect("the first writer takes the lock");
        let refused = OwnerLock::acquire(&database).expect_err("a second writer is refused");
        match &refused {
            StoreError::InUse { holder, .. } => assert_eq!(holder.pid, Some(std::process::id())),
            other => panic!("not InUse: {other}"),
        }
        assert!(refused.to_string().contains("callstitch.db is in use by `"), "{refused}");
        drop(first);
        OwnerLock::acquire(&database).expect("free once the first let go");
    }

    #[test]
    fn a_lock_note_is_read_back_as_its_holder() {
        let holder = parse_note("pid 42\ncommand callstitch serve\n");
        assert_eq!(holder, Holder { pid: Some(42), command: Some("callstitch serve".to_string()) });
        assert_eq!(parse_note(""), Holder::default());
        assert_eq!(lock_path(Path::new("/x/callstitch.db")), Path::new("/x/callstitch.db.lock"));
    }
}
