//! The engine and the linker as one transform: events of every site in, interactions out.
//!
//! Each event goes to the linker's observer (link times, call history) and to the call
//! engine; each call the engine finishes goes to the linker. Event time moves the linker on,
//! held back by a margin for clocks that disagree between sites.

use callstitch_engine::{Engine, EngineConfig, EngineStats, FinishedCall};
use callstitch_tlib::{Event, Timestamp};

use crate::interaction::Interaction;
use crate::linker::{Linker, LinkerConfig, LinkerStats, SECOND};
use crate::sites::SiteDirectory;

/// How far behind the newest event time the linker's clock is held, for sites whose clocks
/// run ahead of others.
pub const CLOCK_MARGIN: i64 = 30 * SECOND;

pub struct Stitcher {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker,
    pub(crate) newest: Option<i64>,
    /// [`CLOCK_MARGIN`] unless set: configuration, not state.
    pub(crate) clock_margin: i64,
}

impl Stitcher {
    pub fn new(engine: EngineConfig, linker: LinkerConfig, sites: SiteDirectory) -> Stitcher {
        Stitcher {
            engine: Engine::new(engine),
            linker: Linker::new(linker, sites),
            newest: None,
            clock_margin: CLOCK_MARGIN,
        }
    }

    /// Holds the linker's clock this far (µs) behind the newest event instead of
    /// [`CLOCK_MARGIN`].
    pub fn with_clock_margin(mut self, margin: i64) -> Stitcher {
        self.clock_margin = margin.max(0);
        self
    }

    /// Takes one event; interactions that are settled come out through `out`, and every
    /// call the engine finishes through `on_call` before the linker takes it.
    pub fn push(
        &mut self,
        event: &Event,
        on_call: &mut impl FnMut(&FinishedCall),
        out: &mut impl FnMut(Interaction),
    ) {
        self.linker.observe(event);
        let linker = &mut self.linker;
        self.engine.apply(event, &mut |call| {
            on_call(&call);
            linker.add_call(call, out);
        });
        let Some(time) = event.time() else { return };
        if self.newest.is_some_and(|newest| newest >= time.0) {
            return;
        }
        self.newest = Some(time.0);
        self.linker.advance_to(Timestamp(time.0 - self.clock_margin), out);
    }

    /// Moves event time on to `time` without an event (a live service whose traffic
    /// stopped): calls past their timeouts are finished and interactions past their waits
    /// handed out, as if an event of that time had come.
    pub fn advance_to(
        &mut self,
        time: Timestamp,
        on_call: &mut impl FnMut(&FinishedCall),
        out: &mut impl FnMut(Interaction),
    ) {
        if self.newest.is_some_and(|newest| newest >= time.0) {
            return;
        }
        self.newest = Some(time.0);
        let linker = &mut self.linker;
        self.engine.advance_to(time, &mut |call| {
            on_call(&call);
            linker.add_call(call, out);
        });
        self.linker.advance_to(Timestamp(time.0 - self.clock_margin), out);
    }

    /// The input ended: every call and every interaction is handed out.
    pub fn finish(&mut self, on_call: &mut impl FnMut(&FinishedCall), out: &mut impl FnMut(Interaction)) {
        let linker = &mut self.linker;
        self.engine.finish(&mut |call| {
            on_call(&call);
            linker.add_call(call, out);
        });
        self.linker.finish(out);
    }

    pub fn engine_stats(&self) -> &EngineStats {
        self.engine.stats()
    }

    pub fn linker_stats(&self) -> &LinkerStats {
        self.linker.stats()
    }

    pub fn sites(&self) -> &SiteDirectory {
        self.linker.sites()
    }

    /// Calls and segments held now: what memory follows.
    pub fn in_memory(&self) -> (usize, usize) {
        (self.engine.live_calls(), self.linker.segments_in_memory())
    }
}

/// Runs a whole batch of events and returns the interactions, in the order handed out.
pub fn stitch(events: &[Event], sites: SiteDirectory) -> Vec<Interaction> {
    let mut stitcher = Stitcher::new(EngineConfig::default(), LinkerConfig::default(), sites);
    let mut interactions = Vec::new();
    for event in events {
        stitcher.push(event, &mut |_| {}, &mut |interaction| interactions.push(interaction));
    }
    stitcher.finish(&mut |_| {}, &mut |interaction| interactions.push(interaction));
    interactions
}
