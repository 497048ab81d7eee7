//! Crash safety of `callstitch serve`: killed with SIGKILL at random points while it ingests
//! a generated multi-site set (and while its logs rotate and are truncated), then restarted,
//! it ends with exactly the interactions and raw events of a run that was never interrupted:
//! nothing lost, nothing twice.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::settle::{all_interactions, assert_same, settled, SETTLE};
use common::{base_config, simulate, Service};
use serde_json::Value;

/// A small deterministic generator for kill points (the seed is printed on failure).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below.max(1)
    }
}

/// The base config: sites written live lag each other; a site is idle after a minute. Calls
/// are not closed by the idle timeout (the tests' usual 2 s cuts every call at each pause in
/// its talk, into pieces that join again, on time that ticks with the wall clock: what this
/// test compares must not depend on how fast the machine reads, and every simulated call
/// ends with its EventCallDeleted).
fn crash_base(dir: &Path) -> String {
    base_config(dir).replace("call_idle_timeout_s = 2\n", "call_idle_timeout_s = 3600\n")
}

fn config(dir: &Path, logs: &[(String, PathBuf)]) -> String {
    let mut text = crash_base(dir);
    text.push_str("[ingest]\nbatch_events = 500\nsnapshot_every_s = 1\n");
    for (site, path) in logs {
        text.push_str(&format!("[[site]]\nname = \"{site}\"\nlogs = [\"{}\"]\n", path.display()));
    }
    text
}

fn dir_config(dir: &Path, logs: &Path) -> String {
    format!("{}[ingest]\nbatch_events = 500\nsnapshot_every_s = 1\n", crash_base(dir))
        .replace("linger_s", &format!("logs = [\"{}\"]\nlinger_s", logs.display()))
}

/// The uninterrupted run: how many events, and every interaction.
fn reference(dir: &Path, config_of: impl Fn(&Path) -> String, events: u64) -> (u64, BTreeMap<String, Value>) {
    let service = Service::start(dir, &config_of(dir));
    settled(&service, events);
    let interactions = all_interactions(&service);
    (events, interactions)
}

#[test]
fn sigkill_while_ingesting_loses_and_duplicates_nothing() {
    let work = tempfile::tempdir().expect("temp dir");
    let logs = work.path().join("sim");
    simulate(&logs, 600, Some(1));
    let reference_dir = work.path().join("reference");
    std::fs::create_dir_all(&reference_dir).expect("dir");
    let total = common::parsed_lines(std::slice::from_ref(&logs)).lines().count() as u64;
    let (events, expected) = reference(&reference_dir, |dir| dir_config(dir, &logs), total);
    assert!(expected.len() >= 500, "the set is big enough to be interrupted: {}", expected.len());

    let seed = std::env::var("CALLSTITCH_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261122);
    let mut random = Lcg(seed);
    let crash_dir = work.path().join("crash");
    std::fs::create_dir_all(&crash_dir).expect("dir");
    let config = dir_config(&crash_dir, &logs);
    let mut kills = 0;
    for _ in 0..6 {
        let service = Service::start(&crash_dir, &config);
        std::thread::sleep(Duration::from_millis(20 + random.next(400)));
        service.kill();
        kills += 1;
    }
    let service = Service::start(&crash_dir, &config);
    settled(&service, events);
    let found = all_interactions(&service);
    assert!(kills > 0);
    assert_same(&expected, &found, seed);
    let (_, status) = service.get("/v1/status");
    assert_eq!(status["stored"]["events"], events, "every event once");
    let metrics = ureq::get(&service.url("/metrics")).call().expect("metrics").into_string().expect("text");
    assert!(
        metrics.lines().any(|line| line == "callstitch_snapshot_failures_total 0"),
        "every snapshot was taken (an archived interaction once made each fail): {metrics}"
    );
}

/// A byte offset near the middle of `text` that is not just after a newline.
fn cut_inside_a_line(text: &str) -> usize {
    let mut cut = text.len() / 2;
    while cut > 1 && (text.as_bytes()[cut - 1] == b'\n' || !text.is_char_boundary(cut)) {
        cut -= 1;
    }
    cut
}

/// Splits a log into its header and its blocks (a block: an `@` line and what follows).
fn header_and_blocks(text: &str) -> (String, Vec<String>) {
    let mut header = String::new();
    let mut blocks: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with('@') || !blocks.is_empty() {
            if line.starts_with('@') {
                blocks.push(String::new());
            }
            if let Some(block) = blocks.last_mut() {
                block.push_str(line);
            }
        } else {
            header.push_str(line);
        }
    }
    (header, blocks)
}

#[test]
fn rotation_and_truncation_while_following_and_crashing_lose_nothing() {
    let work = tempfile::tempdir().expect("temp dir");
    let sim = work.path().join("sim");
    simulate(&sim, 150, None);
    let mut sources: Vec<(String, PathBuf)> = std::fs::read_dir(&sim)
        .expect("sim dir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .map(|path| {
            (
                path.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .split('-')
                    .next()
                    .unwrap_or("")
                    .to_string(),
                path,
            )
        })
        .collect();
    sources.sort();
    assert_eq!(sources.len(), 3, "one segment per site: {sources:?}");

    // The reference: the same content, read whole.
    let reference_dir = work.path().join("reference");
    std::fs::create_dir_all(&reference_dir).expect("dir");
    let paths: Vec<PathBuf> = sources.iter().map(|(_, path)| path.clone()).collect();
    let total = common::parsed_lines(&paths).lines().count() as u64;
    let (events, expected) = reference(&reference_dir, |dir| config(dir, &sources), total);

    // The live run: each site's log written block by block into live/<site>.log; a third of
    // the way through it is renamed away (logrotate), two thirds through it is copied and
    // truncated (copytruncate); each new file starts with the header, as T-Server's do. The
    // service is killed and restarted along the way.
    let live = work.path().join("live");
    std::fs::create_dir_all(&live).expect("dir");
    let live_logs: Vec<(String, PathBuf)> =
        sources.iter().map(|(site, _)| (site.clone(), live.join(format!("{site}.log")))).collect();
    let crash_dir = work.path().join("crash");
    std::fs::create_dir_all(&crash_dir).expect("dir");
    let service_config = config(&crash_dir, &live_logs);
    let split: Vec<(String, Vec<String>)> = sources
        .iter()
        .map(|(_, path)| header_and_blocks(&std::fs::read_to_string(path).expect("log")))
        .collect();
    // A real estate writes its sites' logs as time goes: write the blocks of all sites in
    // the order of their times (from `callstitch parse`), a few at a time.
    let mut order: Vec<(String, usize, usize)> = Vec::new();
    for (site, (_, path)) in sources.iter().enumerate() {
        let parsed = common::parsed_lines(std::slice::from_ref(path));
        for (block, line) in parsed.lines().enumerate() {
            let event: Value = serde_json::from_str(line).expect("event JSON");
            let time =
                event["timestamp"].as_str().or(event["log_time"].as_str()).unwrap_or_default().to_string();
            order.push((time, site, block));
        }
        assert_eq!(
            split[site].1.len(),
            order.iter().filter(|(_, s, _)| *s == site).count(),
            "one event per block"
        );
    }
    order.sort();
    let mut open: Vec<std::fs::File> = live_logs
        .iter()
        .zip(&split)
        .map(|((_, path), (header, _))| {
            let mut file = std::fs::File::create(path).expect("live log");
            file.write_all(header.as_bytes()).expect("header");
            file
        })
        .collect();
    let seed = 7;
    let mut random = Lcg(seed);
    let mut service = Some(Service::start(&crash_dir, &service_config));
    let step = 40;
    for (index, (_, site, block)) in order.iter().enumerate() {
        let (header, blocks) = &split[*site];
        let file = &mut open[*site];
        // Half a block, cut inside a line, then the rest: the follower must wait for the
        // whole block. (A block paused at a line's end for longer than settle_ms is handed
        // out as it is; T-Server writes a block at once, and docs/serve.md says so.)
        let text = &blocks[*block];
        let (first, rest) = text.split_at(cut_inside_a_line(text));
        file.write_all(first.as_bytes()).expect("write");
        file.flush().expect("flush");
        file.write_all(rest.as_bytes()).expect("write");
        let written = index as u64 + 1;
        let path = &live_logs[*site].1;
        let third = blocks.len() / 3;
        if *block + 1 == third {
            // logrotate: renamed away, a new file with the header takes the name.
            std::fs::rename(path, path.with_extension("log.1")).expect("rename rotation");
            let mut fresh = std::fs::File::create(path).expect("new log");
            fresh.write_all(header.as_bytes()).expect("header");
            *file = fresh;
        }
        if *block + 1 == 2 * third {
            // copytruncate loses what the follower has not read yet: wait for it first.
            let running = service.get_or_insert_with(|| Service::start(&crash_dir, &service_config));
            running.wait_for("/v1/status", SETTLE, |status| {
                status["stored"]["events"].as_u64() >= Some(written)
            });
            std::fs::copy(path, path.with_extension("log.2")).expect("copy");
            drop(std::fs::OpenOptions::new().write(true).truncate(true).open(path).expect("truncate"));
            let mut fresh = std::fs::OpenOptions::new().append(true).open(path).expect("reopen");
            fresh.write_all(header.as_bytes()).expect("header");
            *file = fresh;
        }
        if index % step != step - 1 {
            continue;
        }
        if random.next(5) == 0 {
            if let Some(running) = service.take() {
                running.kill();
            }
        }
        if service.is_none() && random.next(2) == 0 {
            service = Some(Service::start(&crash_dir, &service_config));
        }
        std::thread::sleep(Duration::from_millis(random.next(40)));
    }
    let started = Instant::now();
    let service = service.unwrap_or_else(|| Service::start(&crash_dir, &service_config));
    settled(&service, events);
    let found = all_interactions(&service);
    assert_same(&expected, &found, seed);
    assert!(started.elapsed() < SETTLE);
}
