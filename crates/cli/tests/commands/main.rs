//! End-to-end tests of the `callstitch` commands, run against the built binary: one test
//! binary for them all (each test file of `tests/` is a binary of its own, linked on its
//! own; fewer binaries build faster).
//!
//! - `parse`, `check`, `trace`, `simulate`: each command on fixtures and simulated centers;
//! - `compressed`: gzip and zstd logs through every command that reads logs;
//! - `values`: every value checked as strictly as the API, exit 2 naming the flag;
//! - `color`: colours on a terminal, `--color`, `NO_COLOR`, never in pipes or JSON;
//! - `readme`: the README's commands on a fresh copy of the repository;
//! - `import_wal`: `import` leaves no write-ahead log behind;
//! - `events`: the raw events a database holds, back as `parse` prints them;
//! - `split`: the pipeline split in two (engine per site, linker apart) prints what `trace` does.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

#[path = "../common/mod.rs"]
mod common;

mod check;
mod collect;
mod color;
mod compressed;
mod events;
mod import_wal;
mod parse;
mod readme;
mod simulate;
mod split;
mod trace;
mod values;
