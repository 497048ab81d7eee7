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
//!   sequence and skipped: the site goes on;
//! - a site whose collector starts late joins the interactions already stored;
//! - a PostgreSQL server of the test's own crashed and restarted mid-run: nothing lost;
//! - a backfill read from the log files themselves (`worker --logs`), rotated into several
//!   files a site, with its workers and the linker killed mid-way: every event once, the
//!   interactions `trace --json` finds.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callstitch_store::postgres::scratch::{available_for_tests, Scratch};
use common::nats::{
    collect, config, followed, nats_or_skip, nats_url, noisy_estate, publish_with_a_bad_message,
    remove_prefix,
};
use common::own_postgres::OwnPostgres;
use common::settle::{all_interactions, assert_same, settled};
use common::{binary, Service};
use serde_json::Value;

/// The estate's set-up: the config of the linker and the workers (the same file).
struct Estate {
    config: PathBuf,
}

impl Estate {
    fn new(work: &Path, name: &str, database: &str, prefix: &str, logs: &[(String, PathBuf)]) -> Estate {
        let dir = work.join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        let sites: Vec<(String, Option<&Path>)> = logs.iter().map(|(site, _)| (site.clone(), None)).collect();
        let bus = format!(
            "[bus]\nurl = \"{}\"\nprefix = \"{prefix}\"\ndiscover_s = 1\nworkers = true\n",
            nats_url()
        );
        let sqlite = dir.join("callstitch.db").display().to_string();
        let text = config(&dir, &sites, &bus).replace(&sqlite, database);
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
        self.worker_with(name, &[])
    }

    /// A worker of a backfill: the sites read from the log files in `dir` (`--logs`).
    fn backfill(&self, name: &str, dir: &Path) -> Worker {
        self.worker_with(name, &[OsStr::new("--logs"), dir.as_os_str()])
    }

    fn worker_with(&self, name: &str, extra: &[&OsStr]) -> Worker {
        let child = binary()
            .arg("worker")
            .arg("--config")
            .arg(&self.config)
            .args(["--name", name])
            .args(extra)
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

/// `callstitch collect` following `logs` (not `--once`), killed (SIGKILL) when dropped; the
/// same command line goes on from its checkpoint.
struct Collector(Worker);

impl Collector {
    fn start(prefix: &str, logs: &[(String, PathBuf)]) -> Collector {
        let mut command = binary();
        command.args(["collect", "--no-progress", "--nats", &nats_url(), "--prefix", prefix]);
        for (site, path) in logs {
            command.arg(format!("{site}={}", path.display()));
        }
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("collect starts");
        Collector(Worker(child))
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
    workers_store_what_following_the_logs_stores("workers", &["3", "300", "23"], &[], &[1, 2, 4]);
}

/// Sites the workers cannot share evenly (4 sites, 3 workers: a fair share of 2 leaves one
/// worker with none), clocks skewed by up to 3 s, long calls and ConnIDs reused: the same.
#[test]
fn three_workers_on_four_skewed_sites_store_what_following_the_logs_stores() {
    let extra = ["--skew-ms", "3000", "--long-calls", "10", "--conn-reuse", "20"];
    workers_store_what_following_the_logs_stores("workers-varied", &["4", "240", "61"], &extra, &[3]);
}

/// A simulated estate (`sites`, `interactions`, `seed`, then `extra` simulator arguments)
/// published once, then stored by each number of `workers` into a database of its own: every
/// event once, the interactions `serve` stores following the logs and `trace --json` finds,
/// and the sites shared among the workers.
fn workers_store_what_following_the_logs_stores(
    name: &str,
    estate: &[&str; 3],
    extra: &[&str],
    workers: &[usize],
) {
    let Some((prefix, runtime)) = services(name) else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let [sites, interactions, seed] = *estate;
    let (logs, events) = noisy_estate(work.path(), sites, interactions, seed, extra);
    let expected = followed(work.path(), &logs, events);
    assert!(expected.len() >= 200, "a set worth comparing: {}", expected.len());
    collect(&prefix, &logs);
    for &workers in workers {
        let database = runtime.block_on(Scratch::new(&format!("workers{workers}"))).expect("database");
        let estate = Estate::new(work.path(), &format!("w{workers}"), &database.url(), &prefix, &logs);
        let linker = estate.linker();
        let running: Vec<Worker> = (0..workers).map(|index| estate.worker(&format!("w{index}"))).collect();
        let status = settled(&linker, events);
        assert_eq!(status["stored"]["events"], events, "{workers} workers: every event once: {status}");
        assert_eq!(metric(&linker, "callstitch_linker_events_total"), events, "every event linked once");
        let found = all_interactions(&linker);
        assert_same(&expected, &found, workers as u64);
        assert_as_traced(work.path(), &found);
        // Each worker owns at most its fair share, so at least sites / share of them write
        // (a site given back is written by its new owner at its next quiet tick).
        let share = logs.len().div_ceil(workers);
        let fair = (logs.len().div_ceil(share) as i64)..=(workers.min(logs.len()) as i64);
        let mut owners = 0;
        for _ in 0..40 {
            let (writers, written) =
                two_counts(&runtime, &database, "SELECT COUNT(DISTINCT worker), COUNT(*) FROM estate_sites");
            assert_eq!(written, logs.len() as i64, "every site was written by its owner");
            owners = writers;
            if fair.contains(&owners) {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        assert!(
            fair.contains(&owners),
            "the {} sites are shared among the {workers} workers: {owners} wrote",
            logs.len()
        );
        for worker in running {
            assert!(worker.stop().success(), "a worker stops cleanly on SIGTERM");
        }
        drop(linker);
        drop(database);
    }
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}

/// What the workers stored is what `trace --json` finds in the same logs (every interaction,
/// with the same content on every key `trace` writes), and `verify` against the simulator's
/// truth finds every interaction exactly.
fn assert_as_traced(work: &Path, found: &BTreeMap<String, Value>) {
    let logs = work.join("sim");
    let output = binary()
        .args(["trace", "--json", "--quiet", "--link-timeout", "2"])
        .arg(&logs)
        .output()
        .expect("trace runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let traced: BTreeMap<String, Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let doc: Value = serde_json::from_str(line).expect("a JSON line");
            (doc["interaction_id"].as_str().unwrap_or_default().to_string(), doc)
        })
        .collect();
    assert_eq!(
        traced.keys().collect::<Vec<_>>(),
        found.keys().collect::<Vec<_>>(),
        "the interactions trace finds"
    );
    for (id, doc) in &traced {
        let stored = &found[id];
        for (key, value) in doc.as_object().expect("an object") {
            if ["revision", "replaces"].contains(&key.as_str()) {
                continue;
            }
            assert_eq!(&stored[key], value, "interaction {id}: {key}");
        }
    }
    let found_file = work.join("found.jsonl");
    let lines: Vec<String> = found.values().map(Value::to_string).collect();
    std::fs::write(&found_file, lines.join("\n") + "\n").expect("written");
    let verify =
        binary().arg("verify").arg(logs.join("truth.jsonl")).arg(&found_file).output().expect("verify runs");
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(report.contains("exact interactions: 1.0000"), "{report}");
}

/// The two numbers of a query's one row.
fn two_counts(runtime: &tokio::runtime::Runtime, database: &Scratch, sql: &str) -> (i64, i64) {
    runtime.block_on(async {
        let client = database.client().await.expect("connects");
        let row = client.query_one(sql, &[]).await.expect("query");
        (row.get::<_, i64>(0), row.get::<_, i64>(1))
    })
}

/// A metric of the service without labels (0 when it is not there).
fn metric(service: &Service, name: &str) -> u64 {
    let text = ureq::get(&service.url("/metrics")).call().ok().and_then(|body| body.into_string().ok());
    text.unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(0)
}

/// Waits until the linker keeps at least `at_least` forgotten interactions as bytes
/// (`callstitch_interactions_archived`); how many it keeps.
fn archived_at_least(linker: &Service, at_least: u64) -> u64 {
    let start = Instant::now();
    loop {
        let archived = metric(linker, "callstitch_interactions_archived");
        if archived >= at_least {
            return archived;
        }
        assert!(start.elapsed() < common::settle::SETTLE, "the linker never forgot an interaction");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until the estate's database holds at least `at_least` events; how many it holds.
fn stored_at_least(linker: &Service, at_least: u64) -> u64 {
    let start = Instant::now();
    let mut stored = 0;
    while start.elapsed() < Duration::from_secs(60) {
        let (_, status) = linker.get("/v1/status");
        stored = status["stored"]["events"].as_u64().unwrap_or(0);
        if stored >= at_least {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stored
}

/// Workers killed (SIGKILL) at six points of the estate's progress, the linker at three of
/// them and three times while it waits out links and lingers once every event is stored, the
/// collector (following the logs) at the three others, each started again: every event is
/// stored once and the interactions are those of the uninterrupted reference.
#[test]
fn workers_and_the_linker_killed_at_any_point_store_every_event_once_and_the_same_interactions() {
    let Some((prefix, runtime)) = services("workerkill") else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = noisy_estate(work.path(), "3", "1500", "31", &[]);
    let expected = followed(work.path(), &logs, events);
    let database = runtime.block_on(Scratch::new("workerkill")).expect("database");
    let estate = Estate::new(work.path(), "kill", &database.url(), &prefix, &logs);
    // The collector follows the logs (it publishes them while the workers read), and is
    // killed too.
    let mut collector = Collector::start(&prefix, &logs);
    let mut linker = estate.linker();
    let mut running = vec![estate.worker("a"), estate.worker("b")];
    for (round, share) in [10, 25, 40, 55, 70, 85].into_iter().enumerate() {
        let stored = stored_at_least(&linker, events * share / 100);
        eprintln!("round {round}: a worker killed with {stored} of {events} events stored");
        let victim = running.remove(round % running.len());
        victim.kill();
        running.push(estate.worker(&format!("r{round}")));
        if round % 2 == 1 {
            linker.kill();
            linker = estate.linker();
        } else {
            collector.0.kill();
            collector = Collector::start(&prefix, &logs);
        }
    }
    // Everything stored: the linker killed while it waits out links and lingers.
    stored_at_least(&linker, events);
    for pause in [2, 9, 20] {
        std::thread::sleep(Duration::from_secs(pause));
        linker.kill();
        linker = estate.linker();
    }
    let status = settled(&linker, events);
    assert_eq!(status["stored"]["events"], events, "every event once: {status}");
    assert_same(&expected, &all_interactions(&linker), 31);
    drop(collector);
    drop(running);
    drop(linker);
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}

/// A peer's message in the middle of a site's stream that is no event: the worker stores it
/// as a problem with its stream sequence, skips it, and the site goes on.
#[test]
fn a_message_that_is_not_an_event_is_stored_as_a_problem_and_its_site_goes_on() {
    let Some((prefix, runtime)) = services("workerbad") else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = noisy_estate(work.path(), "3", "40", "5", &[]);
    let expected = followed(work.path(), &logs, events);
    let (first, rest) = logs.split_at(1);
    // The first site's events published by hand with a message of a bad peer in the middle;
    // the other sites' by their collector.
    let bad = publish_with_a_bad_message(&prefix, &first[0].0, &first[0].1);
    collect(&prefix, rest);
    let database = runtime.block_on(Scratch::new("workerbad")).expect("database");
    let estate = Estate::new(work.path(), "bad", &database.url(), &prefix, &logs);
    let linker = estate.linker();
    let _worker = estate.worker("only");
    settled(&linker, events);
    assert_same(&expected, &all_interactions(&linker), 5);
    let problems = runtime.block_on(async {
        let client = database.client().await.expect("connects");
        let rows =
            client.query("SELECT site, stream_seq, problem FROM estate_problems", &[]).await.expect("query");
        rows.iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1), row.get::<_, String>(2)))
            .collect::<Vec<_>>()
    });
    assert_eq!(problems.len(), 1, "{problems:?}");
    let (site, seq, problem) = &problems[0];
    assert_eq!((site.as_str(), *seq), (first[0].0.as_str(), bad as i64), "{problem}");
    assert!(problem.contains("not an event"), "{problem}");
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}

/// A site whose collector starts once the others' interactions are stored: its worker takes
/// it when its stream appears, and the linker joins its calls to what was stored (the
/// interactions stored before are found by their ids, as themselves or as the one that took
/// them in).
#[test]
fn a_site_whose_collector_starts_late_joins_the_interactions_already_stored() {
    let Some((prefix, runtime)) = services("workerlate") else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = noisy_estate(work.path(), "3", "120", "31", &[]);
    let expected = followed(work.path(), &logs, events);
    let late = logs.len() - 1;
    let early: Vec<(String, PathBuf)> = logs[..late].to_vec();
    let early_events =
        common::parsed_lines(&early.iter().map(|(_, path)| path.clone()).collect::<Vec<_>>()).lines().count();
    collect(&prefix, &early);
    let database = runtime.block_on(Scratch::new("workerlate")).expect("database");
    let estate = Estate::new(work.path(), "late", &database.url(), &prefix, &logs);
    let linker = estate.linker();
    let _workers = [estate.worker("a"), estate.worker("b")];
    // The workers store the events before the linker has taken their news: what the early
    // sites make alone is stored once the linker has taken it (written as it is seen, live).
    linker.wait_for("/v1/status", common::settle::SETTLE, |status| {
        status["stored"]["events"] == early_events as u64
    });
    linker.wait_for("/v1/interactions?limit=1", common::settle::SETTLE, |page| {
        page["items"].as_array().is_some_and(|items| !items.is_empty())
    });
    linker.wait_for("/v1/status", common::settle::SETTLE, |status| {
        status["in_memory"]["calls_in_progress"] == 0
    });
    // Forgotten: interactions past their revision grace left the linker's memory, kept as
    // bytes only because a named site has sent nothing yet (docs/linking.md, "live").
    let archived = archived_at_least(&linker, 1);
    eprintln!("{archived} interactions forgotten and archived before the late site starts");
    let before = all_interactions(&linker);
    assert!(!before.is_empty());
    collect(&prefix, std::slice::from_ref(&logs[late]));
    settled(&linker, events);
    let after = all_interactions(&linker);
    assert_same(&expected, &after, 31);
    for id in before.keys() {
        let (status, doc) = linker.get(&format!("/v1/interactions/{id}"));
        assert_eq!(status, 200, "{id}: {doc}");
        let found = doc["interaction_id"].as_str().unwrap_or_default();
        assert!(after.contains_key(found), "{id} answers with {found}, which is stored");
    }
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}

/// PostgreSQL restarted mid-run, for real: a server of the test's own (common::own_postgres)
/// crashed (`pg_ctl stop -m immediate`: every backend quit, recovery from the write-ahead log
/// on the next start) while the workers read, down for a few seconds, started again; then
/// restarted the way an operator does once every event is stored. The workers and the linker
/// wait, connect again, take their sites again from what was committed, and store every event
/// once and the same interactions.
#[test]
fn workers_and_the_linker_wait_out_a_postgresql_restart() {
    let Some(prefix) = nats_or_skip("workerpg") else { return };
    let Some(server) = OwnPostgres::start() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = noisy_estate(work.path(), "3", "1500", "37", &[]);
    let expected = followed(work.path(), &logs, events);
    collect(&prefix, &logs);
    let estate = Estate::new(work.path(), "pg", &server.url(), &prefix, &logs);
    let linker = estate.linker();
    let _workers = [estate.worker("a"), estate.worker("b")];
    let stored = stored_at_least(&linker, events * 30 / 100);
    eprintln!("the server crashes with {stored} of {events} events stored");
    server.crash();
    std::thread::sleep(Duration::from_secs(3));
    server.start_again();
    let stored = stored_at_least(&linker, events);
    eprintln!("the server restarts with {stored} of {events} events stored");
    server.restart();
    let status = settled(&linker, events);
    assert_eq!(status["stored"]["events"], events, "every event once: {status}");
    assert_same(&expected, &all_interactions(&linker), 37);
    remove_prefix(&prefix, logs.iter().map(|(site, _)| site.clone()).collect());
}

/// A backfill read from the log files themselves (`worker --logs`), each site's log rotated
/// into several files: two workers, killed (SIGKILL) at three points of its progress and
/// started again, the linker killed at one of them. A worker that takes a site over goes on
/// from the file and event its last owner committed, so every event is stored once (a
/// restart from a wrong place would store some twice or never), and the interactions are
/// those `trace --json` finds in the same files; `verify` scores them 1.0.
#[test]
fn backfilling_workers_killed_at_any_point_go_on_from_the_file_and_event_committed() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    if !runtime.block_on(available_for_tests()) {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let (logs, events) = noisy_estate(work.path(), "3", "1500", "43", &["--segment-mb", "1"]);
    let mut sites: Vec<(String, PathBuf)> = logs.clone();
    sites.dedup_by(|a, b| a.0 == b.0);
    assert!(
        logs.len() >= sites.len() * 2,
        "each site's log rotated: {} files, {} sites",
        logs.len(),
        sites.len()
    );
    let database = runtime.block_on(Scratch::new("backfill")).expect("database");
    let estate = Estate::new(work.path(), "backfill", &database.url(), "backfill", &sites);
    let dir = work.path().join("sim");
    let mut linker = estate.linker();
    let mut running = vec![estate.backfill("a", &dir), estate.backfill("b", &dir)];
    for (round, share) in [20, 45, 70].into_iter().enumerate() {
        let stored = stored_at_least(&linker, events * share / 100);
        eprintln!("round {round}: a backfilling worker killed with {stored} of {events} events stored");
        let victim = running.remove(round % running.len());
        victim.kill();
        running.push(estate.backfill(&format!("r{round}"), &dir));
        if round == 1 {
            linker.kill();
            linker = estate.linker();
        }
    }
    let status = settled(&linker, events);
    assert_eq!(status["stored"]["events"], events, "every event once: {status}");
    assert_as_traced(work.path(), &all_interactions(&linker));
    let (sites_written, last_seq) = two_counts(
        &runtime,
        &database,
        "SELECT COUNT(*), COALESCE(SUM(stream_seq), 0)::BIGINT FROM estate_sites",
    );
    assert_eq!(sites_written, sites.len() as i64, "every site written");
    assert_eq!(last_seq as u64, events, "each site's position is its last event's number in its files");
    for worker in running {
        assert!(worker.stop().success(), "a backfilling worker stops cleanly on SIGTERM");
    }
}
