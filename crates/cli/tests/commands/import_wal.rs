//! `callstitch import` leaves its database whole in one file: at exit the write-ahead log is
//! checkpointed and truncated, so copying the `.db` alone copies every interaction (issue
//! 16: a WAL as large as the database beside it, and a copy of the `.db` alone held 15,825
//! of 20,000 interactions).

use std::path::Path;
use std::process::{Command, Output};

fn callstitch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callstitch")).args(args).output().expect("the binary runs")
}

fn interactions_in(database: &Path) -> i64 {
    let connection = rusqlite::Connection::open(database).expect("the copy opens");
    connection.query_row("SELECT count(*) FROM interactions", [], |row| row.get(0)).expect("counted")
}

#[test]
fn import_checkpoints_and_truncates_its_write_ahead_log_at_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let center = dir.path().join("center");
    let center_text = center.to_str().expect("utf-8");
    let simulated = callstitch(&["simulate", "--out", center_text, "--interactions", "400", "--sites", "3"]);
    assert_eq!(simulated.status.code(), Some(0), "{}", String::from_utf8_lossy(&simulated.stderr));
    let database = dir.path().join("callstitch.db");
    let imported =
        callstitch(&["import", "--json", "--database", database.to_str().expect("utf-8"), center_text]);
    assert_eq!(imported.status.code(), Some(0), "{}", String::from_utf8_lossy(&imported.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&imported.stdout).expect("json summary");
    let stored = summary["stored"]["interactions"].as_i64().expect("a count");
    assert!(stored >= 400, "{summary}");

    let wal = dir.path().join("callstitch.db-wal");
    let size = std::fs::metadata(&wal).map(|meta| meta.len()).unwrap_or(0);
    assert_eq!(size, 0, "the write-ahead log is checkpointed and truncated at exit");
    let copy_dir = tempfile::tempdir().expect("temp dir");
    let copy = copy_dir.path().join("copy.db");
    std::fs::copy(&database, &copy).expect("the .db alone copied");
    assert_eq!(interactions_in(&copy), stored, "the .db alone holds every interaction");
}
