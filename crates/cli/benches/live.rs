//! Live latency of `callstitch serve`: events appended to followed log files at a steady
//! rate; how long until they are committed to the store (queryable). Prints p50, p99 and
//! max.
//!
//! `cargo bench -p callstitch --bench live` (CALLSTITCH_BENCH_RATE events/s, default 10000;
//! CALLSTITCH_BENCH_SECONDS, default 20; CALLSTITCH_BENCH_SNAPSHOT_S, the service's
//! snapshot_every_s, default 10; CALLSTITCH_BENCH_BINARY, another build's binary to measure
//! instead, for a before/after in one sitting; CALLSTITCH_BENCH_SIMULATE, the simulator's
//! arguments instead of the two-site scale estate's). Uses the release binary and its simulator.
//!
//! `CALLSTITCH_BENCH_WORKERS=N` measures the large estate's roles instead (docs/scale.md):
//! `callstitch collect` follows the same files onto the machine's NATS (under a prefix of its
//! own, removed after), N `callstitch worker`s store them into a fresh PostgreSQL database,
//! and the linker (`serve --workers`) links them; an event counts once the linker has
//! committed what it changed (`callstitch_linker_events_total`): the API answers it.
//!
//! Before the measured writing, two blocks a site are written and waited for (not measured):
//! the processes' start-up (a worker finding a new site's stream) is not the steady latency.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{env_number, nats_url, remove_streams};

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

/// Where in the run the writes at or over `p99` were, as stretches of them (a stall holds
/// back every write made while it lasts): "at 3.21 s, 12 writes, worst 140.2 ms; …".
fn tail_stretches(when: &mut [(f64, f64)], p99: f64) -> String {
    when.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut stretches: Vec<(f64, usize, f64)> = Vec::new();
    let mut last_into = f64::NEG_INFINITY;
    for &(latency, into) in when.iter().filter(|(latency, _)| *latency >= p99) {
        match stretches.last_mut() {
            Some((_, writes, worst)) if into - last_into < 0.1 => {
                *writes += 1;
                *worst = worst.max(latency);
            }
            _ => stretches.push((into, 1, latency)),
        }
        last_into = into;
    }
    let parts: Vec<String> = stretches
        .iter()
        .map(|(at, writes, worst)| format!("at {at:.2} s, {writes} writes, worst {worst:.1} ms"))
        .collect();
    if parts.is_empty() {
        "none".to_string()
    } else {
        parts.join("; ")
    }
}

/// Events committed so far, from /metrics (cheap to ask a thousand times a second, unlike
/// the row counts of /v1/status): `serve`'s sum of the batch-size histogram, observed once a
/// batch is committed, or the linker role's `callstitch_linker_events_total`.
fn status_events(base: &str, metric: &str) -> Option<u64> {
    let body = ureq::get(&format!("{base}/metrics")).call().ok()?.into_string().ok()?;
    let line =
        body.lines().find(|line| line.strip_prefix(metric).is_some_and(|rest| rest.starts_with(' ')))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|sum| sum as u64)
}

/// The processes measured: `serve` following the logs, or the estate's roles.
struct Measured {
    /// The API's base URL.
    base: String,
    /// The metric that counts committed events.
    metric: &'static str,
    children: Vec<Child>,
    /// The estate's database and stream prefix, dropped and removed after.
    estate: Option<(callstitch_store::postgres::scratch::Scratch, String)>,
}

/// Stopped when dropped, on a panic too: no process of the bench outlives it.
impl Drop for Measured {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
        if let Some((database, prefix)) = self.estate.take() {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(remove_streams(&nats_url(), &prefix));
            drop(database);
        }
    }
}

/// Spawns `binary args` with its standard output piped; the API address it prints first.
fn spawn_service(binary: &Path, args: &[&str], config: &Path) -> (Child, String) {
    let mut child = Command::new(binary)
        .args(args)
        .arg(config)
        .env("CALLSTITCH_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the service starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("address");
    let base = line
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .expect("address")
        .trim_end_matches('/')
        .to_string();
    (child, base)
}

/// `serve` following the files of `live`.
fn start_serve(binary: &Path, work: &Path, live: &Path) -> Measured {
    let config = work.join("service.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\nlogs = [\"{}\"]\n[ingest]\npoll_ms = 2\nsnapshot_every_s = {snapshot}\n{extra}",
            work.join("bench.db").display(),
            live.display(),
            snapshot = env_number("CALLSTITCH_BENCH_SNAPSHOT_S", 10),
            extra = std::env::var("CALLSTITCH_BENCH_INGEST").unwrap_or_default().replace(';', "\n")
        ),
    )
    .expect("config");
    let (child, base) = spawn_service(binary, &["serve", "--config"], &config);
    Measured { base, metric: "callstitch_batch_events_sum", children: vec![child], estate: None }
}

/// `collect` following the files of `live` (site `site<i>` each), `workers` workers and the
/// linker, on a fresh PostgreSQL database and stream prefix of their own.
fn start_estate(binary: &Path, work: &Path, live: &Path, sites: usize, workers: u64) -> Measured {
    use callstitch_store::postgres::scratch::Scratch;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let database =
        runtime.block_on(Scratch::new("benchlive")).expect("a scratch database (scripts/services)");
    let prefix = format!("benchlive{}", std::process::id());
    let url = nats_url();
    let mut config_text = format!(
        "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\n[ingest]\nsnapshot_every_s = {}\n{}\n[bus]\nurl = \"{url}\"\nprefix = \"{prefix}\"\ndiscover_s = 1\nworkers = true\n",
        database.url(),
        env_number("CALLSTITCH_BENCH_SNAPSHOT_S", 10),
        std::env::var("CALLSTITCH_BENCH_INGEST").unwrap_or_default().replace(';', "\n")
    );
    for index in 0..sites {
        config_text.push_str(&format!("[[site]]\nname = \"site{index}\"\n"));
    }
    let config = work.join("estate.toml");
    std::fs::write(&config, config_text).expect("config");
    let mut children = Vec::new();
    let mut collect = Command::new(binary);
    collect.args(["collect", "--no-progress", "--nats", &url, "--prefix", &prefix]);
    for index in 0..sites {
        collect.arg(format!("site{index}={}", live.join(format!("site{index}.log")).display()));
    }
    children.push(collect.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("collect starts"));
    for index in 0..workers {
        let worker = Command::new(binary)
            .args(["worker", "--name", &format!("bench{index}"), "--config"])
            .arg(&config)
            .env("CALLSTITCH_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("a worker starts");
        children.push(worker);
    }
    let (linker, base) = spawn_service(binary, &["serve", "--workers", "--config"], &config);
    children.push(linker);
    Measured { base, metric: "callstitch_linker_events_total", children, estate: Some((database, prefix)) }
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
    // CALLSTITCH_BENCH_SIMULATE: the simulator's arguments instead of the scale estate's (other
    // sites, clock skew, long calls, noise), e.g. "--sites 4 --interactions 12000 --skew-ms 900
    // --long-calls 10 --noise --seed 99".
    let scale = format!("--scale --sites 2 --segment-mb 100000 --size-mb {size_mb}");
    let simulate = std::env::var("CALLSTITCH_BENCH_SIMULATE").unwrap_or(scale);
    let status = Command::new(&binary)
        .arg("simulate")
        .args(simulate.split_whitespace())
        .arg("--out")
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
    let measured = match env_number("CALLSTITCH_BENCH_WORKERS", 0) {
        0 => start_serve(&binary, work.path(), &live),
        workers => start_estate(&binary, work.path(), &live, split.len(), workers),
    };
    let base = measured.base.clone();
    let metric = measured.metric;

    // The poller: (when, stored events) every 1 ms.
    let samples: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let (samples, stop, base) = (Arc::clone(&samples), Arc::clone(&stop), base.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(events) = status_events(&base, metric) {
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
    let started = std::time::SystemTime::now();
    let mut next = vec![0usize; split.len()];
    let mut total = 0u64;
    // Warm-up, not measured: two blocks a site, until the first of each is counted (the
    // estate's processes find a new site's stream within `discover_s`: a start-up cost, not
    // the steady latency measured here).
    for (site, (_, blocks)) in split.iter().enumerate() {
        for block in blocks.iter().take(2) {
            files[site].write_all(block.as_bytes()).expect("write");
            next[site] += 1;
            total += 1;
        }
        files[site].flush().expect("flush");
    }
    let warm = Instant::now();
    while status_events(&base, metric).unwrap_or(0) < split.len() as u64 {
        assert!(warm.elapsed() < Duration::from_secs(120), "the first events were never committed");
        std::thread::sleep(Duration::from_millis(5));
    }
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
    let estate = measured.estate.is_some();
    drop(measured);

    let samples = samples.lock().map(|samples| samples.clone()).unwrap_or_default();
    // (latency, seconds into the run) of every write seen, for where the tail was.
    let mut when: Vec<(f64, f64)> = Vec::new();
    let first_write = written.first().map(|(at, _)| *at);
    for (at, count) in &written {
        // The last block of each file waits for the next block or the settle time: count
        // what the follower can know is complete (all but the last block per site).
        let needed = count.saturating_sub(split.len() as u64);
        if let Some((seen, _)) = samples.iter().find(|(when, stored)| when >= at && *stored >= needed) {
            let latency = seen.duration_since(*at).as_secs_f64() * 1000.0;
            let into = first_write.map_or(0.0, |first| at.duration_since(first).as_secs_f64());
            when.push((latency, into));
        }
    }
    let mut latencies: Vec<f64> = when.iter().map(|(latency, _)| *latency).collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pick =
        |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(f64::NAN);
    let under = if estate { "the linker role (collect, workers, serve --workers)" } else { "serve" };
    println!("{under}:");
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
    let unix = started.duration_since(std::time::UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64());
    println!(
        "the tail (writes at p99 or over; the run began at unix time {unix:.3}): {}",
        tail_stretches(&mut when, pick(0.99))
    );
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
