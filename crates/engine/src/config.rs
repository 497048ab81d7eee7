//! The engine's tunables: how long it waits for events that may still come.
//!
//! All durations are in microseconds of *event time* (the servers' AttributeTimeStamp, or the
//! log clock): the engine never reads a wall clock.

use crate::clock::ClockConfig;

/// One second in microseconds, for building configurations.
pub const SECOND: i64 = 1_000_000;

/// How long the engine waits, in event time, before it closes or hands on a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// A call with no event for this long is closed and marked incomplete (its end was lost).
    pub idle_timeout: i64,
    /// After the last party of a call has left, the call stays in memory this long for the
    /// events that trail the end (EventCallPartyDeleted, EventCallDeleted, a reordered
    /// release), then it is finished.
    pub end_linger: i64,
    /// After a call's last party left by hand-off (EventDiverted / EventRouteUsed / transfer)
    /// with nobody after it, wait this long for the next party before finishing the call as
    /// handed off.
    pub handoff_grace: i64,
    /// How many recent sequence numbers per site are remembered to drop duplicates ([BSYNC]
    /// copies, overlapping HA logs); rounded up to a power of two. A duplicate further than
    /// this from its original (in sequence numbers) is not recognised.
    pub dedupe_window: usize,
    /// How far a site's clock may step at once before the step needs a second event to
    /// confirm it (see [`crate::clock`]).
    pub clock: ClockConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            idle_timeout: 3_600 * SECOND,
            end_linger: 2 * SECOND,
            handoff_grace: 30 * SECOND,
            dedupe_window: 16_384,
            clock: ClockConfig::default(),
        }
    }
}
