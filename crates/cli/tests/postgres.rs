//! The PostgreSQL store end to end, through the real binary: `callstitch import --database
//! postgres://…` of the repository's two-site fixture (and of a simulated three-site estate)
//! into a fresh database, `callstitch serve --database postgres://…` on it, and every API
//! answer (the search list, each interaction, its recording, each of its calls with its raw
//! events, the counts) equal to the answers served from SQLite after the same import, and
//! `callstitch events` printing the same raw events from both. A second writer of the
//! PostgreSQL database is refused with exit code 3, as for SQLite.
//! Skipped without a server, unless CALLSTITCH_REQUIRE_POSTGRES=1.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::path::{Path, PathBuf};

use callstitch_store::postgres::scratch::{self, Scratch};
use common::{base_config, binary, fixture, simulate, Service};
use serde_json::Value;

/// `callstitch import --database <database> <inputs>`; its exit code and standard error.
fn import(database: &str, inputs: &[PathBuf]) -> (Option<i32>, String) {
    let output =
        binary().args(["import", "--database", database]).args(inputs).output().expect("import runs");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// `callstitch serve` on `database`, from a directory of its own.
fn serve(dir: &Path, database: &str) -> Service {
    std::fs::create_dir_all(dir).expect("service dir");
    let config = base_config(dir);
    let sqlite = dir.join("callstitch.db").display().to_string();
    let service = Service::start(dir, &config.replace(&sqlite, database));
    service.ready();
    service
}

fn ok(service: &Service, path: &str) -> Value {
    let (status, body) = service.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// The service's answers to every read the API offers on what it holds, by path.
fn answers(service: &Service) -> Vec<(String, Value)> {
    let mut answers = Vec::new();
    let mut read = |path: String| {
        let body = ok(service, &path);
        answers.push((path, body.clone()));
        body
    };
    let list = read("/v1/interactions?limit=1000".to_string());
    read("/v1/counts".to_string());
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert!(!items.is_empty(), "nothing imported");
    for item in items {
        let id = item["interaction_id"].as_str().expect("id");
        let doc = read(format!("/v1/interactions/{id}"));
        read(format!("/v1/recordings/{}", item["recording_id"].as_str().expect("recording id")));
        for segment in doc["segments"].as_array().cloned().unwrap_or_default() {
            let (site, key) =
                (segment["site"].as_str().expect("site"), segment["key"].as_str().expect("key"));
            read(format!("/v1/calls/{site}/{key}"));
        }
    }
    let status = read("/v1/status".to_string());
    answers.retain(|(path, _)| path != "/v1/status");
    answers.push(("/v1/status stored".to_string(), status["stored"].clone()));
    answers
}

/// Imports `inputs` into a fresh PostgreSQL database and a SQLite file, serves each, and
/// compares every answer.
fn same_answers_from_both(label: &str, inputs: &[PathBuf]) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let database = runtime.block_on(Scratch::new(label)).expect("the test database is made");
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = dir.path().join("imported.db").display().to_string();
    for target in [database.url(), sqlite.clone()] {
        let (code, stderr) = import(&target, inputs);
        assert_eq!(code, Some(0), "import into {target}: {stderr}");
    }
    let from_sqlite = {
        let service = serve(&dir.path().join("sqlite"), &sqlite);
        answers(&service)
    };
    let service = serve(&dir.path().join("postgres"), &database.url());
    let from_postgres = answers(&service);
    assert_eq!(from_postgres.len(), from_sqlite.len());
    for ((path, postgres), (_, sqlite)) in from_postgres.iter().zip(&from_sqlite) {
        assert_eq!(postgres, sqlite, "{label}: {path} differs between PostgreSQL and SQLite");
    }
    // One writer: an import while the service holds the database is refused (exit code 3).
    let (code, stderr) = import(&database.url(), inputs);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("in use by `callstitch serve`"), "{stderr}");
    let status = service.stop();
    assert!(status.success(), "serve on PostgreSQL exits cleanly: {status:?}");
    // The raw events read back as stored, the same from both.
    let events = |database: &str| {
        let output = binary().args(["events", "--database", database]).output().expect("events runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let from_sqlite = events(&sqlite);
    assert!(from_sqlite.lines().count() > 3, "{label}: the raw events are stored");
    assert_eq!(events(&database.url()), from_sqlite, "{label}: callstitch events");
}

#[test]
fn the_two_site_fixture_imported_into_postgres_is_served_as_from_sqlite() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    if !runtime.block_on(scratch::available_for_tests()) {
        return;
    }
    let seed = [fixture("seed-islink/SIPServer1.log"), fixture("seed-islink/Tserver2.log")];
    same_answers_from_both("seed", &seed);
}

#[test]
fn a_simulated_estate_imported_into_postgres_is_served_as_from_sqlite() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    if !runtime.block_on(scratch::available_for_tests()) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let center = dir.path().join("center");
    simulate(&center, 60, None);
    same_answers_from_both("sim", &[center]);
}
