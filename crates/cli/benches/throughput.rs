//! The throughput benchmark of issue 13: `cargo bench -p callstitch --bench throughput`.
//!
//! Simulates (once, cached under target/bench-data) the simulator's scale estate of four sites
//! at `CALLSTITCH_BENCH_MB` megabytes (default 100) and, for the memory figures, 4x that. Then,
//! in the same run and on the same files (in the page cache), it times:
//!
//! - the **memchr lower bound** ([`lower_bound`]): the files read in 1 MiB chunks and split
//!   into lines with `memchr`, each line looked at once to tell an event block's first line
//!   from an attribute line: the least any reader of every line must do;
//! - `grep -c 'message Event'` on the same files;
//! - the release binary's `parse --stats`, `trace` (no output), `trace --json`, `collect
//!   --once` into fresh JetStream streams (when a NATS server answers at `CALLSTITCH_NATS_URL`,
//!   default 127.0.0.1:4222), `serve --nats` from those streams into a fresh SQLite database
//!   (until its status counts every event), and `import` into a fresh SQLite database, best of
//!   `CALLSTITCH_BENCH_RUNS` (default 3),
//!
//! and, when `CALLSTITCH_BENCH_POSTGRES` is set, `import` into a fresh PostgreSQL database of
//! the server at `CALLSTITCH_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`,
//! a scratch database made and dropped per run) beside the SQLite one;
//!
//! and prints each figure beside both anchors as a ratio, so that a reader on a shared,
//! noisy machine compares ratios, not seconds. It also prints the CPU time of each command
//! (user + system over wall: how many cores it used), the database's bytes per event and
//! against the logs, and the peak RSS of `trace --json` and `import` at 1x and 4x (issue 13's
//! memory acceptance: within 1.2x). `CALLSTITCH_BENCH_4X=0` skips the 4x set;
//! `CALLSTITCH_BENCH_BASELINE=/path/to/an/older/callstitch` runs that binary too, on the same
//! files in the same run, for a before/after.
//!
//! `CALLSTITCH_BENCH_ONLY=workers` runs only the anchors, one `collect --once` (to fill the
//! streams) and the workers stage (with `CALLSTITCH_BENCH_POSTGRES`): 1, 2 and 4 workers and
//! the linker; `CALLSTITCH_BENCH_WORKERS=1,2` picks the worker counts of that stage (default
//! 1,2,4). With `CALLSTITCH_BENCH_POSTGRES`, the same counts of workers also backfill the
//! estate from its log files (`worker --logs`, no bus), each into a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{env_number, nats_url, remove_streams};

const TIME: &str = "/usr/bin/time";

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let megabytes = env_number("CALLSTITCH_BENCH_MB", 100);
    let runs = env_number("CALLSTITCH_BENCH_RUNS", 3).max(1) as usize;
    let four = env_number("CALLSTITCH_BENCH_4X", 1) != 0;
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_callstitch"));
    let baseline = std::env::var_os("CALLSTITCH_BENCH_BASELINE").map(PathBuf::from);
    let one = estate(&ours, megabytes);
    let (bytes, files) = log_files(&one);
    let events = count_events(&ours, &one);
    println!(
        "estate: {} ({:.0} MB in {} files, {events} events, 4 sites); {} run(s) each, best shown",
        one.display(),
        bytes as f64 / 1e6,
        files.len(),
        runs
    );
    let bound = best(runs, || {
        let start = Instant::now();
        let counts = lower_bound(&files);
        Run { wall: start.elapsed(), cpu: None, peak_kb: None, extra: counts.blocks }
    });
    let grep = best(runs, || grep_count(&files));
    println!(
        "anchor  memchr lower bound: {:.3} s, {:.0} MB/s, {:.2} M lines/s ({} event blocks)",
        secs(bound.wall),
        mb_per_s(bytes, bound.wall),
        lines(&files) as f64 / secs(bound.wall) / 1e6,
        bound.extra
    );
    println!(
        "anchor  grep -c 'message Event': {:.3} s, {:.0} MB/s",
        secs(grep.wall),
        mb_per_s(bytes, grep.wall)
    );
    let anchors = Anchors { bound: bound.wall, grep: grep.wall, bytes, events };
    let mut binaries = vec![("this build", ours.clone())];
    binaries.extend(baseline.map(|path| ("baseline", path)));
    let only_workers = std::env::var("CALLSTITCH_BENCH_ONLY").is_ok_and(|only| only == "workers");
    for (label, binary) in &binaries {
        println!("-- {label}: {}", binary.display());
        if only_workers {
            if let Some((collect, _, workers)) = best_collect(1, binary, &one, events, true) {
                anchors.print("collect (JetStream)", &collect);
                for (what, figure) in &workers {
                    anchors.print(what, figure);
                }
            }
            for (what, figure) in &workers_from_logs(binary, &one, events) {
                anchors.print(what, figure);
            }
            continue;
        }
        for (what, args) in [
            ("parse --stats", &["parse", "--stats", "--quiet"][..]),
            (
                "trace (no output)",
                &["trace", "--quiet", "--call-uuid", "00000000000000000000000000000000"][..],
            ),
            ("trace --json", &["trace", "--json", "--quiet"][..]),
        ] {
            let figure = best(runs, || run(binary, args, &one, None));
            anchors.print(what, &figure);
        }
        if let Some((collect, serve, workers)) = best_collect(runs, binary, &one, events, false) {
            anchors.print("collect (JetStream)", &collect);
            anchors.print("serve --nats", &serve);
            for (what, figure) in &workers {
                anchors.print(what, figure);
            }
        }
        for (what, figure) in &workers_from_logs(binary, &one, events) {
            anchors.print(what, figure);
        }
        let (import, database) = best_import(runs, binary, &one);
        anchors.print("import", &import);
        anchors.print_database(database, "");
        if std::env::var_os("CALLSTITCH_BENCH_POSTGRES").is_some() {
            let (import, database) = best_postgres_import(runs, binary, &one);
            anchors.print("import (PostgreSQL)", &import);
            anchors.print_database(database, " (pg_database_size, less an empty one's)");
        }
    }
    if four && !only_workers {
        memory(&ours, megabytes, &one);
    }
}

/// The two anchors of one run, and what the estate holds.
struct Anchors {
    bound: Duration,
    grep: Duration,
    bytes: u64,
    events: u64,
}

impl Anchors {
    /// A database's size after an import: in all, per event, and against the logs.
    fn print_database(&self, database: u64, how: &str) {
        println!(
            "        database: {:.1} MB, {:.0} bytes/event, {:.2}x the logs{how}",
            database as f64 / 1e6,
            database as f64 / self.events.max(1) as f64,
            database as f64 / self.bytes.max(1) as f64
        );
    }

    fn print(&self, what: &str, figure: &Run) {
        let wall = secs(figure.wall);
        let cores = figure.cpu.map_or(String::new(), |cpu| format!(", {:.2} cores", secs(cpu) / wall));
        let peak =
            figure.peak_kb.map_or(String::new(), |kb| format!(", peak RSS {:.0} MB", kb as f64 / 1024.0));
        println!(
            "{what:>20}: {wall:.3} s, {:.0} MB/s, {:.3} M events/s{cores}{peak}; {:.1}x the memchr bound, {:.1}x grep -c",
            mb_per_s(self.bytes, figure.wall),
            self.events as f64 / wall / 1e6,
            wall / secs(self.bound),
            wall / secs(self.grep),
        );
    }
}

/// Peak RSS of `trace --json` and `import` at 1x and 4x.
fn memory(binary: &Path, megabytes: u64, one: &Path) {
    let four = estate(binary, megabytes * 4);
    let scratch = scratch_dir();
    let mut peaks = Vec::new();
    for (factor, dir) in [(1, one), (4, four.as_path())] {
        let trace = run(binary, &["trace", "--json", "--quiet"], dir, None);
        let database = scratch.join(format!("memory-{factor}x.db"));
        remove_database(&database);
        let import = run(binary, &["import", "--no-progress"], dir, Some(&database));
        remove_database(&database);
        println!(
            "memory {factor}x ({:.0} MB): trace --json peak RSS {}, import peak RSS {}",
            log_files(dir).0 as f64 / 1e6,
            show_kb(trace.peak_kb),
            show_kb(import.peak_kb)
        );
        peaks.push((trace.peak_kb, import.peak_kb));
    }
    if let [(Some(t1), Some(i1)), (Some(t4), Some(i4))] = peaks[..] {
        println!(
            "memory 4x / 1x: trace --json {:.2}, import {:.2} (issue 13: within 1.2)",
            t4 as f64 / t1.max(1) as f64,
            i4 as f64 / i1.max(1) as f64
        );
    }
}

/// What the lower bound found, so that the work cannot be optimised away.
struct LineCounts {
    blocks: u64,
    attributes: u64,
}

/// The memchr lower bound: every file read in 1 MiB chunks, split into lines, each line's
/// first byte looked at (an event block starts with `@`, its attributes with a tab).
fn lower_bound(files: &[PathBuf]) -> LineCounts {
    let mut counts = LineCounts { blocks: 0, attributes: 0 };
    let mut chunk = vec![0u8; 1 << 20];
    for path in files {
        let Ok(mut file) = File::open(path) else { continue };
        // Whether the next byte read begins a line.
        let mut line_start = true;
        while let Ok(read) = file.read(&mut chunk) {
            if read == 0 {
                break;
            }
            let data = &chunk[..read];
            let mut position = 0;
            while position < read {
                if line_start {
                    match data[position] {
                        b'@' => counts.blocks += 1,
                        b'\t' => counts.attributes += 1,
                        _ => {}
                    }
                }
                match memchr::memchr(b'\n', &data[position..]) {
                    Some(offset) => {
                        position += offset + 1;
                        line_start = true;
                    }
                    None => {
                        line_start = false;
                        break;
                    }
                }
            }
        }
    }
    std::hint::black_box(counts.attributes);
    counts
}

/// One timed command.
#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    /// User + system CPU time.
    cpu: Option<Duration>,
    peak_kb: Option<u64>,
    extra: u64,
}

fn best(runs: usize, mut once: impl FnMut() -> Run) -> Run {
    (0..runs).map(|_| once()).min_by_key(|run| run.wall).unwrap_or(Run {
        wall: Duration::ZERO,
        cpu: None,
        peak_kb: None,
        extra: 0,
    })
}

/// Best of `runs` imports into a fresh database each, and the database's size (with its
/// write-ahead log) after the last.
fn best_import(runs: usize, binary: &Path, dir: &Path) -> (Run, u64) {
    let database = scratch_dir().join("import.db");
    let mut size = 0;
    let figure = best(runs, || {
        remove_database(&database);
        let figure = run(binary, &["import", "--no-progress"], dir, Some(&database));
        size = ["", "-wal"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", database.display())).ok())
            .map(|meta| meta.len())
            .sum();
        figure
    });
    remove_database(&database);
    (figure, size)
}

/// Best of `runs` imports into a fresh PostgreSQL database each (a scratch database of the
/// test server, dropped after), and the size the last one's data took.
fn best_postgres_import(runs: usize, binary: &Path, dir: &Path) -> (Run, u64) {
    use callstitch_store::postgres::scratch::Scratch;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let size_of = |database: &Scratch| -> u64 {
        runtime.block_on(async {
            let client = database.client().await.expect("connect");
            let row =
                client.query_one("SELECT pg_database_size(current_database())", &[]).await.expect("size");
            row.get::<_, i64>(0) as u64
        })
    };
    let mut size = 0;
    let figure = best(runs, || {
        let database =
            runtime.block_on(Scratch::new("bench")).expect("a scratch database on the test server");
        let empty = size_of(&database);
        let url = database.url();
        let figure = run(binary, &["import", "--no-progress"], dir, Some(Path::new(&url)));
        size = size_of(&database).saturating_sub(empty);
        figure
    });
    (figure, size)
}

/// Best of `runs` `collect --once` runs, each into fresh streams on the machine's NATS (under a
/// prefix of its own, removed after), with `serve --nats` from each unless `workers_only`;
/// `None` when no NATS server answers.
fn best_collect(
    runs: usize,
    binary: &Path,
    dir: &Path,
    events: u64,
    workers_only: bool,
) -> Option<(Run, Run, Labelled)> {
    let url = nats_url();
    let address = url.trim_start_matches("nats://").to_string();
    if std::net::TcpStream::connect(&address).is_err() {
        println!(
            "{:>20}: skipped, no NATS server at {url} (scripts/services starts one)",
            "collect (JetStream)"
        );
        return None;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let mut attempt = 0;
    let mut serves = Vec::new();
    let mut workers = Vec::new();
    let collect = best(runs, || {
        attempt += 1;
        let prefix = format!("bench{}x{attempt}", std::process::id());
        let figure = run(
            binary,
            &["collect", "--once", "--nats", &url, "--prefix", &prefix, "--name", "bench"],
            dir,
            None,
        );
        if !workers_only {
            serves.push(serve_from_bus(binary, &url, &prefix, events));
        }
        if attempt == 1 && std::env::var_os("CALLSTITCH_BENCH_POSTGRES").is_some() {
            workers = workers_from_bus(binary, &url, &prefix, events);
        }
        runtime.block_on(remove_streams(&url, &prefix));
        figure
    });
    let serve = serves.into_iter().min_by_key(|run| run.wall).unwrap_or(collect);
    Some((collect, serve, workers))
}

/// Figures with what each is of.
type Labelled = Vec<(String, Run)>;

/// With `CALLSTITCH_BENCH_POSTGRES`: 1, 2 and 4 `callstitch worker`s from the streams under
/// `prefix` into a fresh PostgreSQL database each, from their start until the database holds
/// every event; then the linker (`serve --workers`) on the last one's database, from its start
/// until it has taken every site's news.
fn workers_from_bus(binary: &Path, url: &str, prefix: &str, events: u64) -> Labelled {
    workers_stage(binary, url, prefix, events, None)
}

/// With `CALLSTITCH_BENCH_POSTGRES`: 1, 2 and 4 workers backfilling the estate in `dir` from
/// its log files (`worker --logs`, no bus), each count into a fresh database, from their start
/// until the database holds every event.
fn workers_from_logs(binary: &Path, dir: &Path, events: u64) -> Labelled {
    if std::env::var_os("CALLSTITCH_BENCH_POSTGRES").is_none() {
        return Vec::new();
    }
    let help = Command::new(binary).args(["worker", "--help"]).output().expect("the binary runs");
    if !String::from_utf8_lossy(&help.stdout).contains("--logs") {
        println!("{:>20}: skipped, this binary's workers read no log files", "worker(s), --logs");
        return Vec::new();
    }
    workers_stage(binary, "nats://127.0.0.1:1", "unused", events, Some(dir))
}

/// The workers' stage: from the bus (`logs` `None`, then the linker on the last database) or
/// from the log files in `logs`.
fn workers_stage(binary: &Path, url: &str, prefix: &str, events: u64, logs: Option<&Path>) -> Labelled {
    use callstitch_store::postgres::scratch::Scratch;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut figures = Vec::new();
    let mut kept = None;
    let counts: Vec<usize> = std::env::var("CALLSTITCH_BENCH_WORKERS")
        .ok()
        .map(|counts| counts.split(',').filter_map(|count| count.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 4]);
    for count in counts {
        let database = runtime.block_on(Scratch::new("benchworkers")).expect("a scratch database");
        let dir = scratch_dir().join("workers");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let config = dir.join("estate.toml");
        let text = format!(
            "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\n[bus]\nurl = \"{url}\"\nprefix = \"{prefix}\"\ndiscover_s = 1\nworkers = true\n",
            database.url()
        );
        std::fs::write(&config, text).expect("config written");
        let start = Instant::now();
        let mut children: Vec<std::process::Child> = (0..count)
            .map(|index| {
                let mut command = Command::new(binary);
                command.args(["worker", "--name", &format!("bench{index}"), "--config"]).arg(&config);
                if let Some(dir) = logs {
                    command.arg("--logs").arg(dir);
                }
                command
                    .env("CALLSTITCH_LOG", "error")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("a worker starts")
            })
            .collect();
        let client = runtime.block_on(database.client()).expect("connects");
        loop {
            let stored: i64 = runtime
                .block_on(client.query_one("SELECT COALESCE(SUM(events), 0)::bigint FROM event_blocks", &[]))
                .map_or(0, |row| row.get(0));
            if stored as u64 >= events {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(900), "the workers never stored {events} events");
            std::thread::sleep(Duration::from_millis(20));
        }
        let wall = start.elapsed();
        for child in &mut children {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
        let what =
            if logs.is_some() { format!("{count} worker(s), --logs") } else { format!("{count} worker(s)") };
        figures.push((what, Run { wall, cpu: None, peak_kb: None, extra: 0 }));
        kept = Some((database, config));
    }
    if let Some((database, config)) = kept.filter(|_| logs.is_none()) {
        figures
            .push(("linker (--workers)".to_string(), linker_catch_up(binary, &runtime, &database, &config)));
    }
    figures
}

/// The linker role on a database the workers filled, from its start until it has taken
/// every site's news (`callstitch_linker_news_row` at each site's last row).
fn linker_catch_up(
    binary: &Path,
    runtime: &tokio::runtime::Runtime,
    database: &callstitch_store::postgres::scratch::Scratch,
    config: &Path,
) -> Run {
    let client = runtime.block_on(database.client()).expect("connects");
    let rows = runtime.block_on(client.query("SELECT site, news_pos FROM estate_sites", &[])).expect("sites");
    let last: Vec<(String, i64)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    let start = Instant::now();
    let mut child = Command::new(binary)
        .args(["serve", "--workers", "--config"])
        .arg(config)
        .env("CALLSTITCH_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the linker starts");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("stdout piped");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first).expect("its address");
    let base = first.split_whitespace().find(|word| word.starts_with("http://")).expect("an address");
    let metrics = format!("{}/metrics", base.trim_end_matches('/'));
    loop {
        let text = ureq::get(&metrics)
            .call()
            .ok()
            .and_then(|response| response.into_string().ok())
            .unwrap_or_default();
        let done = last.iter().all(|(site, row)| {
            text.lines()
                .any(|line| line.starts_with(&format!("callstitch_linker_news_row{{site=\"{site}\"}} {row}")))
        });
        if done {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(900), "the linker never took every site's news");
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = start.elapsed();
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    Run { wall, cpu: None, peak_kb: None, extra: 0 }
}

/// `serve --nats` on a fresh database, from its start until its status says every event of
/// the streams under `prefix` is stored.
fn serve_from_bus(binary: &Path, url: &str, prefix: &str, events: u64) -> Run {
    let dir = scratch_dir().join("serve-bus");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let config = dir.join("serve.toml");
    let text = format!(
        "listen = \"127.0.0.1:0\"\ndatabase = \"{}\"\n[bus]\nurl = \"{url}\"\nprefix = \"{prefix}\"\n",
        dir.join("bus.db").display()
    );
    std::fs::write(&config, text).expect("config written");
    let start = Instant::now();
    let mut child = Command::new(binary)
        .args(["serve", "--config"])
        .arg(&config)
        .env("CALLSTITCH_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut first = String::new();
    let stdout = child.stdout.take().expect("stdout piped");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first).expect("its address");
    let base = first.split_whitespace().find(|word| word.starts_with("http://")).expect("an address");
    let status = format!("{}/v1/status", base.trim_end_matches('/'));
    loop {
        let stored = ureq::get(&status)
            .call()
            .ok()
            .and_then(|response| response.into_json::<serde_json::Value>().ok())
            .and_then(|body| body["stored"]["events"].as_u64());
        if stored == Some(events) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(600), "serve --nats never stored {events} events");
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = start.elapsed();
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    Run { wall, cpu: None, peak_kb: None, extra: 0 }
}

/// Runs `binary args dir` (with `--database` for an import) under `/usr/bin/time` when it is
/// there, its standard output thrown away.
fn run(binary: &Path, args: &[&str], dir: &Path, database: Option<&Path>) -> Run {
    let timed = Path::new(TIME).exists();
    let mut command = if timed {
        let mut command = Command::new(TIME);
        command.args(["-f", "cstime %e %U %S %M"]).arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command.args(args);
    if let Some(database) = database {
        command.arg("--database").arg(database);
    }
    let start = Instant::now();
    let output = command.arg(dir).stdout(Stdio::null()).stderr(Stdio::piped()).output();
    let wall = start.elapsed();
    let Ok(output) = output else {
        panic!("cannot run {}", binary.display());
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{} {args:?} failed: {stderr}", binary.display());
    let line = stderr.lines().rev().find_map(|line| line.strip_prefix("cstime "));
    let fields: Vec<f64> =
        line.map_or(Vec::new(), |line| line.split(' ').filter_map(|f| f.parse().ok()).collect());
    match fields[..] {
        [_, user, system, peak] => Run {
            wall,
            cpu: Some(Duration::from_secs_f64(user + system)),
            peak_kb: Some(peak as u64),
            extra: 0,
        },
        _ => Run { wall, cpu: None, peak_kb: None, extra: 0 },
    }
}

fn grep_count(files: &[PathBuf]) -> Run {
    let start = Instant::now();
    // Its output read through a pipe: GNU grep stops at the first match when it writes to
    // /dev/null.
    let output = Command::new("grep").arg("-c").arg("message Event").args(files).output();
    assert!(output.is_ok_and(|output| output.status.success()), "grep -c failed");
    Run { wall: start.elapsed(), cpu: None, peak_kb: None, extra: 0 }
}

/// The cached scale estate of `megabytes` MB, written by the binary's own simulator.
fn estate(binary: &Path, megabytes: u64) -> PathBuf {
    let dir = bench_data().join(format!("throughput-{megabytes}mb-v1"));
    if dir.join("done").exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(binary)
        .args(["simulate", "--scale", "--sites", "4", "--size-mb", &megabytes.to_string(), "--out"])
        .arg(&dir)
        .stdout(Stdio::null())
        .status();
    assert!(status.is_ok_and(|status| status.success()), "the simulator failed");
    assert!(File::create(dir.join("done")).is_ok(), "cannot mark {} done", dir.display());
    dir
}

/// The events of the estate, as `parse --stats --json` counts them.
fn count_events(binary: &Path, dir: &Path) -> u64 {
    let output = Command::new(binary).args(["parse", "--stats", "--json", "--quiet"]).arg(dir).output();
    let Ok(output) = output else { return 0 };
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    stats["events"].as_u64().unwrap_or(0)
}

fn log_files(dir: &Path) -> (u64, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let bytes = files.iter().filter_map(|path| std::fs::metadata(path).ok()).map(|meta| meta.len()).sum();
    // Into the page cache, as for every figure.
    let _ = lower_bound(&files);
    (bytes, files)
}

fn lines(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .filter_map(|path| std::fs::read(path).ok())
        .map(|data| memchr::memchr_iter(b'\n', &data).count() as u64)
        .sum()
}

fn bench_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data")
}

fn scratch_dir() -> PathBuf {
    let dir = bench_data().join("throughput-scratch");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn remove_database(database: &Path) {
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", database.display()));
    }
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64().max(1e-9)
}

fn mb_per_s(bytes: u64, duration: Duration) -> f64 {
    bytes as f64 / 1e6 / secs(duration)
}

fn show_kb(kb: Option<u64>) -> String {
    kb.map_or("n/a".to_string(), |kb| format!("{:.0} MB", kb as f64 / 1024.0))
}
