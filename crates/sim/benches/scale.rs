//! The scale benchmark: `cargo bench -p callstitch-sim --bench scale`.
//!
//! Times `--scale` generation of about 1 GB of log (`CALLSTITCH_SCALE_MB` to change it) on
//! one core into a temporary directory and prints MB/s. The pool simulation that precedes
//! the copies is timed apart, since it is paid once per run.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::time::Instant;

use callstitch_sim::{simulate_scale, DirStorage, ScaleConfig};

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let megabytes: u64 =
        std::env::var("CALLSTITCH_SCALE_MB").ok().and_then(|mb| mb.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = ScaleConfig { target_bytes: megabytes * 1_000_000, ..ScaleConfig::default() };
    let pool_only = ScaleConfig { target_bytes: 1, ..config.clone() };
    let start = Instant::now();
    let mut storage = DirStorage::new(&dir.path().join("pool")).expect("pool dir");
    simulate_scale(&pool_only, &mut storage).expect("pool run");
    let pool_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut storage = DirStorage::new(&dir.path().join("scale")).expect("scale dir");
    let summary = simulate_scale(&config, &mut storage).expect("scale run");
    let seconds = start.elapsed().as_secs_f64();
    let mb = summary.bytes as f64 / 1e6;
    let copy_seconds = (seconds - pool_seconds).max(1e-9);
    println!(
        "scale: {mb:.0} MB, {} events, {} interactions, {} files in {seconds:.2} s: {:.0} MB/s overall, {:.0} MB/s after the pool ({pool_seconds:.2} s)",
        summary.events,
        summary.interactions,
        summary.files.len(),
        mb / seconds,
        mb / copy_seconds
    );
}
