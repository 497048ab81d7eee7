//! The SIP-layer reader benchmark: `cargo bench -p callstitch-tlib --bench sip_layer`.
//!
//! Builds (once, cached under target/bench-data) a log of `CALLSTITCH_BENCH_SIP_MB` megabytes
//! (default 400) from copies of the real SIP Server log (fixtures/real-world), each copy's
//! CallUUIDs and SIP Call-IDs made its own, so every copy's seven calls are new calls. Then,
//! in the same run, times `grep -c '$*:SIP:CTI:'` and the SIP-layer reader on one core in a
//! child process (best of three), reporting MB/s, events/s and the child's peak resident
//! memory, for that file and one a tenth its size (memory flat in file size). Figures go in
//! docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use callstitch_tlib::siplog::SipLogReader;
use callstitch_tlib::tlog::ReaderOptions;

const RUNS: usize = 3;
const CALLS_PER_COPY: u64 = 7;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(index) = args.iter().position(|arg| arg == "--parse-only") {
        let Some(path) = args.get(index + 1) else {
            eprintln!("--parse-only needs a file");
            std::process::exit(2);
        };
        parse_only(Path::new(path));
        return;
    }
    if args.iter().any(|arg| arg == "--list") {
        return;
    }
    let megabytes: u64 =
        std::env::var("CALLSTITCH_BENCH_SIP_MB").ok().and_then(|mb| mb.parse().ok()).unwrap_or(400);
    let (big, copies) = bench_file(megabytes);
    let (small, small_copies) = bench_file((megabytes / 10).max(10));
    let mb = size_mb(&big);
    println!("== sip-layer workload: {} ({mb:.0} MB, {copies} copies of the real log)", big.display());
    let grep = (0..RUNS).map(|_| run_grep(&big)).min().unwrap_or_default();
    let (parse, events, calls, peak_kb) = best_parse(&big);
    let (_, _, small_calls, small_peak_kb) = best_parse(&small);
    assert_eq!(calls, copies * CALLS_PER_COPY, "every call of every copy");
    assert_eq!(small_calls, small_copies * CALLS_PER_COPY);
    let seconds = parse.as_secs_f64();
    println!("grep -c '$*:SIP:CTI:': {:.3} s ({:.0} MB/s)", grep.as_secs_f64(), mb / grep.as_secs_f64());
    println!(
        "SIP-layer reader (1 core): {seconds:.3} s, {:.0} MB/s, {:.2} M events/s, {events} events, {calls} calls",
        mb / seconds,
        events as f64 / seconds / 1e6
    );
    println!("reader / grep time: {:.2}x", seconds / grep.as_secs_f64());
    println!(
        "peak RSS: {:.1} MB for {mb:.0} MB of log, {:.1} MB for {:.0} MB",
        peak_kb as f64 / 1024.0,
        small_peak_kb as f64 / 1024.0,
        size_mb(&small)
    );
}

fn size_mb(path: &Path) -> f64 {
    std::fs::metadata(path).map(|meta| meta.len() as f64 / 1e6).unwrap_or(0.0)
}

fn run_grep(path: &Path) -> Duration {
    let start = Instant::now();
    let output = Command::new("grep").arg("-c").arg("$*:SIP:CTI:").arg(path).output().expect("grep runs");
    let elapsed = start.elapsed();
    assert!(output.status.success(), "grep failed");
    elapsed
}

/// Runs the read in a child process (clean peak memory) and keeps the fastest run.
fn best_parse(path: &Path) -> (Duration, u64, u64, u64) {
    let exe = std::env::current_exe().expect("own path");
    let mut best: Option<(Duration, u64, u64, u64)> = None;
    for _ in 0..RUNS {
        let output = Command::new(&exe).arg("--parse-only").arg(path).output().expect("child runs");
        assert!(output.status.success(), "child failed: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<f64> = text.split_whitespace().filter_map(|field| field.parse().ok()).collect();
        let run = (Duration::from_secs_f64(fields[0]), fields[1] as u64, fields[2] as u64, fields[3] as u64);
        if best.is_none_or(|best| run.0 < best.0) {
            best = Some(run);
        }
    }
    best.expect("at least one run")
}

/// Child: read the file on this thread, print seconds, events, calls and peak RSS in kB.
fn parse_only(path: &Path) {
    let start = Instant::now();
    let mut reader = SipLogReader::open(path, ReaderOptions::default()).expect("bench file opens");
    let (mut events, mut calls) = (0_u64, 0_u64);
    while let Some(event) = reader.next_event().expect("bench file reads") {
        events += 1;
        calls += u64::from(event.message == callstitch_tlib::Message::EventCallDeleted);
        std::hint::black_box(&event);
    }
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(reader.stats().problem_count(), 0, "the copies read cleanly: {:?}", reader.take_problems());
    println!("{seconds} {events} {calls} {}", peak_rss_kb());
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// The cached bench file of about `megabytes` MB and its number of copies.
fn bench_file(megabytes: u64) -> (PathBuf, u64) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let real = root.join("../../fixtures/real-world/sipserver-SIP_P-001.20260202_135459_850.log");
    let text = std::fs::read_to_string(&real).expect("the real SIP Server log");
    let copies = (megabytes * 1_000_000).div_ceil(text.len() as u64).max(1);
    let dir = root.join("../../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join(format!("sip-layer-{megabytes}mb-v1.log"));
    if path.exists() {
        return (path, copies);
    }
    let partial = path.with_extension("partial");
    let mut out = BufWriter::new(File::create(&partial).expect("bench file"));
    for copy in 0..copies {
        let own =
            text.replace("TTL7J9EM750GP936CFL0EOACN8", &format!("C{copy:07}J9EM750GP936CFL0E")).replace(
                "640476ED-F320-46F0-975D-6290F4CB29F6",
                &format!("{copy:08}-F320-46F0-975D-6290F4CB29F6"),
            );
        out.write_all(own.as_bytes()).expect("write");
    }
    out.flush().expect("flush");
    drop(out);
    std::fs::rename(&partial, &path).expect("rename");
    (path, copies)
}
