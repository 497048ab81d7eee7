//! The engine crate's integration tests, as one test binary (one link instead of one per
//! file: the test loop is faster). Each module is one former `tests/*.rs` file; shared
//! helpers live in `common`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod beyond_seed;
mod common;
mod identity_tolerance;
mod memory;
mod monitoring;
mod news;
mod properties;
mod release;
mod report;
mod seed_models;
mod sip_layer;
mod snapshot;
#[path = "../../benches/workload.rs"]
mod workload;
