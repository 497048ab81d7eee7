//! Peak memory of `callstitch trace --json` on 1x and 4x the same kind of input (issue 12:
//! memory must follow what is in progress, so 4x input stays within 1.2x of 1x):
//! `cargo bench -p callstitch --bench trace_memory`.
//!
//! Simulates (once, cached under target/bench-data) two estates of the default mix that
//! differ only in length: five sites, N and 4N customers arriving at 5 per second.
//! `CALLSTITCH_BENCH_INTERACTIONS` sets N (default 10,000). Each is traced by the release
//! binary from two feeds: its log files (merged by time by the reader) and one JSON-lines
//! stream, site after site (where a linker must keep the unpaired link ends of every site
//! read so far). Peak RSS comes from `/usr/bin/time -f %M` when it is there, else from
//! polling the child's VmHWM (which can miss the last milliseconds: the output says which).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callstitch_sim::feed::{self, Estate};
use callstitch_sim::{simulate, DirStorage, SimConfig};

const TIME: &str = "/usr/bin/time";

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let count: u64 =
        std::env::var("CALLSTITCH_BENCH_INTERACTIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let method = if Path::new(TIME).exists() { "/usr/bin/time -f %M" } else { "polled VmHWM" };
    println!("peak RSS of `callstitch trace --json --quiet INPUT > /dev/null` ({method})");
    let sizes = [(1, count), (4, count * 4)];
    let estates: Vec<(u64, PathBuf, PathBuf)> = sizes
        .iter()
        .map(|(factor, interactions)| {
            let (logs, stream) = estate(*interactions);
            (*factor, logs, stream)
        })
        .collect();
    for (what, pick) in [("log files", 0), ("one JSON-lines stream, site after site", 1)] {
        let mut peaks = Vec::new();
        for (factor, logs, stream) in &estates {
            let input = if pick == 0 { logs } else { stream };
            let (peak_kb, time) = measure(input);
            println!(
                "{what}, {factor}x ({} MB): peak RSS {:.1} MB, {:.2} s",
                size_mb(input),
                peak_kb as f64 / 1024.0,
                time.as_secs_f64()
            );
            peaks.push(peak_kb);
        }
        if let [one, four] = peaks[..] {
            println!("{what}: 4x / 1x = {:.2}", four as f64 / one.max(1) as f64);
        }
    }
}

/// The cached estate of `interactions` customers: its log directory and its site-after-site
/// JSON-lines stream.
fn estate(interactions: u64) -> (PathBuf, PathBuf) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../target/bench-data/trace-memory-{interactions}-v1"));
    let logs = root.join("logs");
    let stream = root.join("site-after-site.jsonl");
    if root.join("done").exists() {
        return (logs, stream);
    }
    let start = Instant::now();
    let config = SimConfig { sites: 5, interactions: Some(interactions), seed: 12, ..SimConfig::default() };
    let mut storage = DirStorage::new(&logs).expect("bench dir");
    simulate(&config, &mut storage).expect("the simulation runs");
    let events = Estate::read_dir(&logs).expect("the logs read back");
    let mut out = BufWriter::new(std::fs::File::create(&stream).expect("stream file"));
    feed::write_json_lines(&mut out, events.site_after_site()).expect("stream written");
    out.flush().expect("stream flushed");
    std::fs::File::create(root.join("done")).expect("marker");
    eprintln!("generated {} in {:.1} s", root.display(), start.elapsed().as_secs_f64());
    (logs, stream)
}

/// Peak RSS in kB and wall time of one trace of `input`.
fn measure(input: &Path) -> (u64, Duration) {
    let binary = env!("CARGO_BIN_EXE_callstitch");
    let start = Instant::now();
    if Path::new(TIME).exists() {
        let output = Command::new(TIME)
            .args(["-f", "%M", binary, "trace", "--json", "--quiet"])
            .arg(input)
            .stdout(Stdio::null())
            .output()
            .expect("time runs");
        assert!(output.status.success(), "trace failed: {}", String::from_utf8_lossy(&output.stderr));
        let peak = String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter_map(|line| line.trim().parse::<u64>().ok())
            .next_back()
            .expect("time prints the peak RSS");
        return (peak, start.elapsed());
    }
    let mut child = Command::new(binary)
        .args(["trace", "--json", "--quiet"])
        .arg(input)
        .stdout(Stdio::null())
        .spawn()
        .expect("trace runs");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::File::open(&status_path) {
            for line in std::io::BufReader::new(status).lines().map_while(Result::ok) {
                if let Some(value) = line.strip_prefix("VmHWM:") {
                    peak =
                        peak.max(value.split_whitespace().next().and_then(|kb| kb.parse().ok()).unwrap_or(0));
                }
            }
        }
        if let Some(status) = child.try_wait().expect("the child is there") {
            assert!(status.success(), "trace failed");
            return (peak, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Megabytes of what trace reads: the *.log files of a directory, or the file.
fn size_mb(input: &Path) -> String {
    let bytes: u64 = if input.is_dir() {
        std::fs::read_dir(input)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok())
                    .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "log"))
                    .filter_map(|entry| entry.metadata().ok())
                    .map(|meta| meta.len())
                    .sum()
            })
            .unwrap_or(0)
    } else {
        std::fs::metadata(input).map(|meta| meta.len()).unwrap_or(0)
    };
    format!("{:.0}", bytes as f64 / 1e6)
}
