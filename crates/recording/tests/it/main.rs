//! The recording crate's integration tests, as one test binary (one link instead of one per
//! file: the test loop is faster). Each module is one former `tests/*.rs` file; shared
//! helpers live in `common`.

mod common;
mod fixtures;
mod generate_fixtures;
mod retention;
mod simulated_heard;
mod snapshot;
