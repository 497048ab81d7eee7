//! The follow crate's integration tests, as one test binary (one link instead of one per
//! file: the test loop is faster). Each module is one former `tests/*.rs` file; shared
//! helpers live in `common`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

mod clock;
mod common;
mod compressed;
mod growing;
mod held;
mod restart;
mod rotation;
mod shrink;
mod unreadable;
