//! The engine's tunables: how long it waits for events that may still come, and what a
//! deployment knows about its own numbering plan.
//!
//! All durations are in microseconds of *event time* (the servers' AttributeTimeStamp, or the
//! log clock): the engine never reads a wall clock.

use crate::clock::ClockConfig;

/// One second in microseconds, for building configurations.
pub use callstitch_tlib::SECOND;

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
    /// Which DNs the deployment knows to be its own or outside numbers; it overrides what the
    /// events suggest about a party's kind (docs/engine.md, "Party kinds").
    pub dn_plan: DnPlan,
    /// How far a site's clock may step at once before the step needs a second event to
    /// confirm it (see [`crate::clock`]).
    pub clock: ClockConfig,
}

/// A deployment's numbering plan, by DN prefix: what the events cannot say for sure (a
/// customer known only from call-monitoring events, a trunk that looks like an extension).
/// Empty by default: the kinds then come from the events alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnPlan {
    /// Prefixes of the deployment's own DNs (agents' phones, extensions).
    pub internal: Vec<String>,
    /// Prefixes of outside numbers (customers, trunks, the PSTN).
    pub external: Vec<String>,
}

impl DnPlan {
    /// `Some(true)` when the plan says `dn` is an outside number, `Some(false)` when it is
    /// one of the deployment's own, `None` when the plan does not say. The longest matching
    /// prefix decides; a tie goes to internal.
    pub fn is_external(&self, dn: &str) -> Option<bool> {
        let longest = |prefixes: &[String]| {
            prefixes.iter().filter(|prefix| dn.starts_with(prefix.as_str())).map(String::len).max()
        };
        match (longest(&self.internal), longest(&self.external)) {
            (None, None) => None,
            (Some(_), None) => Some(false),
            (None, Some(_)) => Some(true),
            (Some(internal), Some(external)) => Some(external > internal),
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            idle_timeout: 3_600 * SECOND,
            end_linger: 2 * SECOND,
            handoff_grace: 30 * SECOND,
            dedupe_window: 16_384,
            dn_plan: DnPlan::default(),
            clock: ClockConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DnPlan;

    #[test]
    fn the_longest_matching_prefix_decides_and_a_tie_is_internal() {
        let plan =
            DnPlan { internal: vec!["7".into(), "+4420".into()], external: vec!["+44".into(), "9".into()] };
        assert_eq!(plan.is_external("7001"), Some(false));
        assert_eq!(plan.is_external("+441234"), Some(true));
        assert_eq!(plan.is_external("+4420123"), Some(false), "+4420 is longer than +44");
        assert_eq!(plan.is_external("90001"), Some(true));
        assert_eq!(plan.is_external("5001"), None);
        let tie = DnPlan { internal: vec!["12".into()], external: vec!["12".into()] };
        assert_eq!(tie.is_external("123"), Some(false));
    }
}
