//! Workers that share a large estate (issue 14, docs/scale.md): `callstitch collect`
//! publishes a simulated estate's logs, any number of `callstitch worker`s run the engines of
//! its sites into PostgreSQL, and `callstitch serve --workers` links their news and answers
//! the API. Against the machine's NATS and PostgreSQL (scripts/services; skipped without them
//! unless CALLSTITCH_REQUIRE_NATS=1 / CALLSTITCH_REQUIRE_POSTGRES=1):
//!
//! - 1, 2 and 4 workers store every event once and the interactions the service following
//!   the logs itself stores;
//! - workers and the linker killed with SIGKILL at points of their progress and started
//!   again: the same;
//! - a message on a site's stream that is not an event is stored as a problem with its
//!   sequence and skipped: the site goes on.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callstitch_store::postgres::scratch::{available_for_tests, Scratch};
use common::nats::{nats_or_skip, nats_url, remove_prefix};
use common::settle::{all_interactions, assert_same, settled};
use common::{base_config, binary, Service};
use serde_json::Value;

/// Every log of a simulated estate, by its site (the header's Application name).
fn site_logs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(dir).expect("simulated dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|extension| extension == "log") {
            let name = path.file_name().and_then(|name| name.to_str()).expect("utf-8 name");
            let site = name.split('-').next().expect("SITE-0001.<time>.log").to_string();
            logs.push((site, path));
        }
    }
    logs.sort();
    logs
}

/// A simulated estate of `sites` sites with noise, and the events `parse` reads from it.
fn estate(dir: &Path, sites: &str, interactions: &str, seed: &str) -> (Vec<(String, PathBuf)>, u64) {
    let logs = dir.join("sim");
    let output = binary()
        .args(["simulate", "--sites", sites, "--noise", "--seed", seed, "--interactions", interactions])
        .arg("--out")
        .arg(&logs)
        .output()
        .expect("simulate runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events = common::parsed_lines(std::slice::from_ref(&logs)).lines().count() as u64;
    (site_logs(&logs), events)
}

/// The service config of every run: the same linking settings, `sites` named with their logs
/// or none, and `extra` at the end.
fn config(dir: &Path, sites: &[(String, Option<&Path>)], extra: &str) -> String {
    let mut text = base_config(dir).replace("call_idle_timeout_s = 2\n", "call_idle_timeout_s = 3600\n");
    text.push_str("[ingest]\nbatch_events = 300\nsnapshot_every_s = 1\ncommit_ms = 100\n");
    for (site, log) in sites {
        match log {
            Some(log) => {
                text.push_str(&format!("[[site]]\nname = \"{site}\"\nlogs = [\"{}\"]\n", log.display()))
            }
            None => text.push_str(&format!("[[site]]\nname = \"{site}\"\n")),
        }
    }
    text.push_str(extra);
    text
}

/// What the service stores following `logs` itself: the reference.
fn followed(work: &Path, logs: &[(String, PathBuf)], events: u64) -> BTreeMap<String, Value> {
    let dir = work.join("followed");
    std::fs::create_dir_all(&dir).expect("dir");
    let sites: Vec<(String, Option<&Path>)> =
        logs.iter().map(|(site, path)| (site.clone(), Some(path.as_path()))).collect();
    let service = Service::start(&dir, &config(&dir, &sites, ""));
    settled(&service, events);
    all_interactions(&service)
}

fn collect(prefix: &str, logs: &[(String, PathBuf)]) {
    let mut command = binary();
    command.args(["collect", "--once", "--no-progress", "--nats", &nats_url(), "--prefix", prefix]);
    for (site, path) in logs {
        command.arg(format!("{site}={}", path.display()));
    }
    let output = command.output().expect("collect runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// The estate's set-up: the config of the linker and the workers (the same file).
struct Estate {
    config: PathBuf,
}

impl Estate {
    fn new(work: &Path, name: &str, database: &Scratch, prefix: &str, logs: &[(String, PathBuf)]) -> Estate {
        let dir = work.join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let sites: Vec<(String, Option<&Path>)> = logs.iter().map(|(site, _)| (site.clone(), None)).collect();
        let bus = format!(
            "[bus]\nurl = \"{}\"\nprefix = \"{prefix}\"\ndiscover_s = 1\nworkers = true\n",
            nats_url()
        );
        let sqlite = dir.join("callstitch.db").display().to_string();
        let text = config(&dir, &sites, &bus).replace(&sqlite, &database.url());
        let config = dir.join("estate.toml");
        std::fs::write(&config, &text).expect("config written");
        Estate { config }
    }

    /// The linker role, with the API.
    fn linker(&self) -> Service {
        let mut command = binary();
        command.arg("serve").arg("--config").arg(&self.config).arg("--workers");
        Service::spawn(command)
    }

    fn worker(&self, name: &str) -> Worker {
        let child = binary()
            .arg("worker")
            .arg("--config")
            .arg(&self.config)
            .args(["--name", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the worker starts");
        Worker(child)
    }
}

/// A worker process, killed (SIGKILL) when dropped.
struct Worker(Child);

impl Worker {
    fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.0.wait().expect("the worker exits")
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// NATS and PostgreSQL both, or the reason the test is skipped.
fn services(name: &str) -> Option<(String, tokio::runtime::Runtime)> {
    let prefix = nats_or_skip(name)?;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    if !runtime.block_on(available_for_tests()) {
        return None;
    }
    Some((prefix, runtime))
}

#[test]
fn one_two_and_four_workers_store_what_following_the_logs_stores() {
    let Some((prefix, runtime)) = services("workers") else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = estate(work.path(), "3", "300", "23");
    let expected = followed(work.path(), &logs, events);
    assert!(expected.len() >= 250, "a set worth comparing: {}", expected.len());
    collect(&prefix, &logs);
    for workers in [1, 2, 4] {
        let database = runtime.block_on(Scratch::new(&format!("workers{workers}"))).expect("database");
        let estate = Estate::new(work.path(), &format!("w{workers}"), &database, &prefix, &logs);
        let linker = estate.linker();
        let running: Vec<Worker> = (0..workers).map(|index| estate.worker(&format!("w{index}"))).collect();
        let status = settled(&linker, events);
        assert_eq!(status["stored"]["events"], events, "{workers} workers: every event once: {status}");
        assert_same(&expected, &all_interactions(&linker), workers);
        let owners = runtime.block_on(async {
            let client = database.client().await.expect("connects");
            let row = client.query_one("SELECT COUNT(DISTINCT worker) FROM estate_sites", &[]).await.expect("query");
            row.get::<_, i64>(0)
        });
        assert_eq!(owners, workers.min(logs.len()) as i64, "the sites are shared among the {workers} workers");
        for worker in running {
            assert!(worker.stop().success(), "a worker stops cleanly on SIGTERM");
        }
        drop(linker);
        drop(database);
    }
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}

/// Waits until the estate's database holds at least `at_least` events.
fn stored_at_least(linker: &Service, at_least: u64) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let (_, status) = linker.get("/v1/status");
        if status["stored"]["events"].as_u64().is_some_and(|stored| stored >= at_least) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Workers killed (SIGKILL) at six points of the estate's progress, the linker killed at
/// three, each started again: every event is stored once and the interactions are those of
/// the uninterrupted reference.
#[test]
fn workers_and_the_linker_killed_at_any_point_store_every_event_once_and_the_same_interactions() {
    let Some((prefix, runtime)) = services("workerkill") else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = estate(work.path(), "3", "300", "31");
    let expected = followed(work.path(), &logs, events);
    collect(&prefix, &logs);
    let database = runtime.block_on(Scratch::new("workerkill")).expect("database");
    let estate = Estate::new(work.path(), "kill", &database, &prefix, &logs);
    let mut linker = estate.linker();
    let mut running = vec![estate.worker("a"), estate.worker("b")];
    for (round, share) in [10, 25, 40, 55, 70, 85].into_iter().enumerate() {
        stored_at_least(&linker, events * share / 100);
        let victim = running.remove(round % running.len());
        victim.kill();
        running.push(estate.worker(&format!("r{round}")));
        if round % 2 == 1 {
            linker.kill();
            linker = estate.linker();
        }
    }
    let status = settled(&linker, events);
    assert_eq!(status["stored"]["events"], events, "every event once: {status}");
    assert_same(&expected, &all_interactions(&linker), 31);
    drop(running);
    drop(linker);
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}
