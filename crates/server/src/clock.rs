//! The ingest loop's clock: where it reads the time and how it waits. The service runs on
//! [`SystemClock`]; a test hands the loop a [`TestClock`] and moves it by hand, so group
//! commit, snapshot cadence, idle ticks and the store's retry pauses can be tested without a
//! real sleep. The trait is `callstitch-clock`'s, shared with the follower.

pub use callstitch_clock::{Clock, SystemClock, TestClock};
