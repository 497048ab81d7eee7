//! Live latency of `callstitch serve`: events appended to followed log files at a steady
//! rate; how long until they are committed to the store (queryable). Prints p50, p99 and
//! max.
//!
//! `cargo bench -p callstitch --bench live` (CALLSTITCH_BENCH_RATE events/s, default 10000;
//! CALLSTITCH_BENCH_SECONDS, default 20; CALLSTITCH_BENCH_SNAPSHOT_S, the service's
//! snapshot_every_s, default 10; CALLSTITCH_BENCH_BINARY, another build's binary to measure
//! instead, for a before/after in one sitting). Uses the release binary and its simulator.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// Splits a log into its header and its blocks.
fn header_and_blocks(text: &str) -> (String, Vec<String>) {
    let mut header = String::new();
    let mut blocks: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        if line.starts_with('@') {
            blocks.push(String::new());
        }
        match blocks.last_mut() {
            Some(block) => block.push_str(line),
            None => header.push_str(line),
        }
    }
    (header, blocks)
}

/// Events committed so far: the sum of the batch-size histogram of /metrics, which is
/// observed once a batch is committed (cheap to ask a thousand times a second, unlike the
/// row counts of /v1/status).
fn status_events(base: &str) -> Option<u64> {
    let body = ureq::get(&format!("{base}/metrics")).call().ok()?.into_string().ok()?;
    let line = body.lines().find(|line| line.starts_with("callstitch_batch_events_sum "))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|sum| sum as u64)
}

/// How long the store's commits took: (count, mean ms, count over 50 ms), from the
/// histogram of /metrics, to tell a slow commit from a slow pipeline.
fn commit_summary(base: &str) -> Option<(u64, f64, u64)> {
    let body = ureq::get(&format!("{base}/metrics")).call().ok()?.into_string().ok()?;
    let value = |name: &str| -> Option<f64> {
        let line = body.lines().find(|line| line.starts_with(name))?;
        line.split_whitespace().last()?.parse().ok()
    };
    let count = value("callstitch_store_commit_seconds_count ")?;
    let sum = value("callstitch_store_commit_seconds_sum ")?;
    let within = body
        .lines()
        .filter(|line| line.starts_with("callstitch_store_commit_seconds_bucket{le=\""))
        .filter_map(|line| {
            let le: f64 = line.split('"').nth(1)?.parse().ok()?;
            let n: f64 = line.split_whitespace().last()?.parse().ok()?;
            (le <= 0.0512).then_some(n)
        })
        .fold(0.0, f64::max);
    Some((count as u64, sum * 1000.0 / count.max(1.0), (count - within) as u64))
}

fn main() {
    let rate = env_number("CALLSTITCH_BENCH_RATE", 10_000);
    let seconds = env_number("CALLSTITCH_BENCH_SECONDS", 20);
    // CALLSTITCH_BENCH_BINARY: another build's binary (an older one, for a before/after on
    // the same machine at the same time).
    let binary = std::env::var_os("CALLSTITCH_BENCH_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_callstitch")));
    let work = tempfile::tempdir().expect("temp dir");
    let sim = work.path().join("sim");
    let size_mb = (rate * seconds * 400 / 1_000_000).max(20);
    let status = Command::new(&binary)
        .args([
            "simulate",
            "--scale",
            "--sites",
            "2",
            "--segment-mb",
            "100000",
            "--size-mb",
            &size_mb.to_string(),
            "--out",
        ])
        .arg(&sim)
        .stderr(Stdio::null())
        .status()
        .expect("simulate");
    assert!(status.success());
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&sim)
        .expect("sim")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    sources.sort();
    let split: Vec<(String, Vec<String>)> =
        sources.iter().map(|path| header_and_blocks(&std::fs::read_to_string(path).expect("log"))).collect();
    let live = work.path().join("live");
    std::fs::create_dir_all(&live).expect("live dir");
    let mut files: Vec<std::fs::File> = split
        .iter()
        .enumerate()
        .map(|(index, (header, _))| {
            let mut file = std::fs::File::create(live.join(format!("site{index}.log"))).expect("live log");
            file.write_all(header.as_bytes()).expect("header");
            file
        })
        .collect();
    let config = work.path().join("service.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\nlogs = [\"{}\"]\n[ingest]\npoll_ms = 2\nsnapshot_every_s = {snapshot}\n{extra}",
            work.path().join("bench.db").display(),
            live.display(),
            snapshot = env_number("CALLSTITCH_BENCH_SNAPSHOT_S", 10),
            extra = std::env::var("CALLSTITCH_BENCH_INGEST").unwrap_or_default().replace(';', "\n")
        ),
    )
    .expect("config");
    let mut service = Command::new(&binary)
        .args(["serve", "--config"])
        .arg(&config)
        .env("CALLSTITCH_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(service.stdout.take().expect("stdout")).read_line(&mut line).expect("address");
    let base = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("address")
        .trim_end_matches('/')
        .to_string();

    // The poller: (when, stored events) every 1 ms.
    let samples: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (samples, stop, base) = (Arc::clone(&samples), Arc::clone(&stop), base.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(events) = status_events(&base) {
                    samples.lock().map(|mut samples| samples.push((Instant::now(), events))).ok();
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };

    // The writer: every 10 ms, rate/100 events, round robin over the sites.
    let tick = Duration::from_millis(10);
    let per_tick = (rate / 100).max(1) as usize;
    let mut written: Vec<(Instant, u64)> = Vec::new();
    let mut next = vec![0usize; split.len()];
    let mut total = 0u64;
    let start = Instant::now();
    let ticks = seconds * 100;
    for index in 0..ticks {
        let due = start + tick * index as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        for n in 0..per_tick {
            let site = n % split.len();
            let Some(block) = split[site].1.get(next[site]) else { continue };
            files[site].write_all(block.as_bytes()).expect("write");
            next[site] += 1;
            total += 1;
        }
        for file in &mut files {
            file.flush().expect("flush");
        }
        written.push((Instant::now(), total));
    }
    // Let the last ones arrive.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let _ = poller.join();
    let commits = commit_summary(&base);
    let _ = service.kill();
    let _ = service.wait();

    let samples = samples.lock().map(|samples| samples.clone()).unwrap_or_default();
    let mut latencies: Vec<f64> = Vec::new();
    for (at, count) in &written {
        // The last block of each file waits for the next block or the settle time: count
        // what the follower can know is complete (all but the last block per site).
        let needed = count.saturating_sub(split.len() as u64);
        if let Some((seen, _)) = samples.iter().find(|(when, stored)| when >= at && *stored >= needed) {
            latencies.push(seen.duration_since(*at).as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pick =
        |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(f64::NAN);
    println!(
        "live: {total} events at {rate}/s over {seconds} s into {} sites; {} of {} ticks seen; latency to stored: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        split.len(),
        latencies.len(),
        written.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
    if let Some((count, mean, slow)) = commits {
        println!("store: {count} commits, mean {mean:.1} ms, {slow} over 51.2 ms");
    }
    print_anchors(&live);
}

/// The anchors of this run, on the logs it wrote: a memchr scan of their lines and
/// `grep -c 'message Event'` (its output through a pipe: GNU grep stops at the first match
/// on /dev/null). Latency is not a throughput, so no ratio: they tell how loaded the machine
/// was while the figures above were taken.
fn print_anchors(live: &std::path::Path) {
    let mut logs: Vec<std::path::PathBuf> = std::fs::read_dir(live)
        .map(|entries| entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect())
        .unwrap_or_default();
    logs.sort();
    let start = Instant::now();
    let mut bytes = 0;
    let mut lines = 0;
    for log in &logs {
        let data = std::fs::read(log).unwrap_or_default();
        bytes += data.len();
        lines += memchr::memchr_iter(b'\n', &data).count();
    }
    let scan = start.elapsed();
    let start = Instant::now();
    let grep = std::process::Command::new("grep").arg("-c").arg("message Event").args(&logs).output();
    let grep_ms = grep.is_ok().then(|| start.elapsed().as_secs_f64() * 1000.0);
    println!(
        "anchors on the {:.0} MB written: memchr scan of {lines} lines {:.1} ms, grep -c 'message Event' {}",
        bytes as f64 / 1e6,
        scan.as_secs_f64() * 1000.0,
        grep_ms.map_or("n/a".to_string(), |ms| format!("{ms:.1} ms"))
    );
}
