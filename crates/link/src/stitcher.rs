//! The engine and the linker as one transform: events of every site in, interactions out.
//!
//! Each event goes to the call engine; what the engine tells of calls (opened, evidence,
//! finished) goes straight to the linker, so a call joins its interaction at its first event.
//! After each event the linker learns the event's site's clock and hands out what is due.
//! Reading input, the reader can say more: how far each site's input has come
//! ([`Stitcher::raise_floor`]) and that a site's input ended ([`Stitcher::end_site`]). Live,
//! the service passes the wall time of each arrival ([`Stitcher::push_at`]), ticks when
//! nothing comes ([`Stitcher::tick`]), and takes what changed once per batch
//! ([`Stitcher::flush`]), so an interaction touched by many events of a batch is built once.

use callstitch_engine::config::SECOND;
use callstitch_engine::{
    CallHandle, CallSink, Engine, EngineConfig, EngineStats, Evidence, FinishedCall, OpenedCall,
};
use callstitch_tlib::{Event, Timestamp};

use crate::clocks::EstateClocks;
use crate::interaction::Interaction;
use crate::linker::{Linker, LinkerConfig, LinkerStats};
use crate::sites::SiteDirectory;

/// Live: event times further than this ahead of the wall clock are not believed.
pub const FUTURE_TOLERANCE: i64 = 15 * 60 * SECOND;

pub struct Stitcher {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker,
}

/// What the engine tells, handed to the linker (and finished calls to the caller first).
struct News<'a, C> {
    linker: &'a mut Linker,
    on_call: &'a mut C,
}

impl<C: FnMut(&FinishedCall)> CallSink for News<'_, C> {
    fn opened(&mut self, call: OpenedCall<'_>) {
        self.linker.opened(call);
    }

    fn evidence(&mut self, call: CallHandle, evidence: Evidence<'_>) {
        self.linker.evidence(call, evidence);
    }

    fn finished(&mut self, call: FinishedCall) {
        (self.on_call)(&call);
        let clock = call.clock;
        self.linker.finished(call, clock);
    }
}

impl Stitcher {
    pub fn new(engine: EngineConfig, linker: LinkerConfig, sites: SiteDirectory) -> Stitcher {
        Stitcher { engine: Engine::new(engine), linker: Linker::new(linker, sites) }
    }

    /// Takes one event; interactions handed out come out through `out`, and every call the
    /// engine finishes through `on_call` before the linker takes it.
    pub fn push(
        &mut self,
        event: &Event,
        on_call: &mut impl FnMut(&FinishedCall),
        out: &mut impl FnMut(Interaction),
    ) {
        self.push_at(event, None, on_call, out);
    }

    /// [`Stitcher::push`] for a live service: `wall` is when the event arrived (µs, wall
    /// clock). Idle sites leave the estate's time, and event times far ahead of the wall
    /// clock are not believed.
    pub fn push_at(
        &mut self,
        event: &Event,
        wall: Option<i64>,
        on_call: &mut impl FnMut(&FinishedCall),
        out: &mut impl FnMut(Interaction),
    ) {
        if let Some(wall) = wall {
            self.linker.arrived(&event.site, wall);
            self.engine.set_ceiling(Some(wall.saturating_add(FUTURE_TOLERANCE)));
        }
        let Stitcher { engine, linker } = self;
        engine.apply_to(event, &mut News { linker, on_call });
        let clock = engine.site_clock(&event.site);
        linker.site_clock(&event.site, clock);
        if wall.is_some() {
            linker.arrival_clock(&event.site, clock);
        }
        linker.advance(out);
    }

    /// Live, nothing arrived for a while: each site's clock moves on by the wall time since
    /// its last arrival (a quiet site's time goes on), and what that makes due is handed out.
    pub fn tick(
        &mut self,
        wall: i64,
        on_call: &mut impl FnMut(&FinishedCall),
        out: &mut impl FnMut(Interaction),
    ) {
        let Stitcher { engine, linker } = self;
        linker.tick(wall);
        let moves: Vec<(String, i64)> = linker
            .clocks()
            .sites()
            .filter_map(|(site, time)| Some((site.to_string(), EstateClocks::quiet_time(time, wall)?)))
            .collect();
        for (site, time) in moves {
            engine.advance_site_to(
                &site,
                Timestamp(time),
                &mut News { linker: &mut *linker, on_call: &mut *on_call },
            );
            let clock = engine.site_clock(&site);
            linker.site_clock(&site, clock);
        }
        linker.advance(out);
    }

    /// Live, restored from a snapshot at wall time `wall` (µs): the time the service was
    /// down counts as no site's quiet, so a tick after it closes no call and times out no
    /// link that the stop alone would have (the logs were not read, not silent).
    pub fn resume(&mut self, wall: i64) {
        self.linker.resume(wall);
    }

    /// Live: hands out every interaction that changed since the last flush, each once, as it
    /// stands. Call it once per batch of events (the service: before each commit).
    pub fn flush(&mut self, out: &mut impl FnMut(Interaction)) {
        self.linker.flush(out);
    }

    /// Reading input: no event of `site` will come before `time` (the head of its input).
    pub fn raise_floor(&mut self, site: &str, time: Timestamp, out: &mut impl FnMut(Interaction)) {
        self.linker.raise_floor(site, time.0);
        self.linker.advance(out);
    }

    /// Reading input: the site's input ended. Its calls stay until [`Stitcher::finish`]; it
    /// no longer holds the estate's time back.
    pub fn end_site(&mut self, site: &str, out: &mut impl FnMut(Interaction)) {
        self.linker.end_site(site);
        self.linker.advance(out);
    }

    /// The input ended: every call and every interaction is handed out.
    pub fn finish(&mut self, on_call: &mut impl FnMut(&FinishedCall), out: &mut impl FnMut(Interaction)) {
        let Stitcher { engine, linker } = self;
        engine.finish_all(&mut News { linker, on_call });
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

    pub fn linker(&self) -> &Linker {
        &self.linker
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clocks::LiveClock;

    fn ringing(site: usize) -> Event {
        let line = format!(
            r#"{{"message":"EventRinging","site":"S{site}","seq":1,"timestamp":"2026-01-01T00:00:00.000001Z","conn_id":"0000000000000001","call_uuid":"C{site}","this_dn":"1001"}}"#
        );
        serde_json::from_str(&line).expect("event")
    }

    #[test]
    fn an_idle_tick_looks_each_site_up_once_not_by_a_scan() {
        const SITES: usize = 20_000;
        let live =
            LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..LinkerConfig::default() };
        let mut stitcher = Stitcher::new(EngineConfig::default(), live, SiteDirectory::default());
        // The events' own time (2026-01-01T00:00:00Z), so that their times are believed.
        let wall = 1_767_225_600 * SECOND;
        for site in 0..SITES {
            stitcher.push_at(&ringing(site), Some(wall), &mut |_| {}, &mut |_| {});
        }
        assert!(stitcher.linker().clocks().sites().all(|(_, time)| time.now.is_some()));
        let before = stitcher.linker().clocks().sites_examined();
        stitcher.tick(wall + 10 * SECOND, &mut |_| {}, &mut |_| {});
        let examined = stitcher.linker().clocks().sites_examined() - before;
        // One lookup per site that moves on; a scan would examine about SITES * SITES / 2.
        assert!(examined <= 2 * SITES as u64, "{examined} site entries examined for {SITES} sites");
        assert!(
            stitcher.linker().clocks().sites().all(|(_, time)| time.now == Some(wall + 10 * SECOND + 1)),
            "every site's clock moved on by its quiet"
        );
    }

    #[test]
    fn a_quiet_sites_time_is_its_clock_at_arrival_plus_the_quiet_whatever_the_ticks() {
        let live =
            LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..LinkerConfig::default() };
        let mut stitcher = Stitcher::new(EngineConfig::default(), live, SiteDirectory::default());
        let wall = 1_767_225_600 * SECOND;
        stitcher.push_at(&ringing(1), Some(wall), &mut |_| {}, &mut |_| {});
        // An hour of ticks a second apart, as the service ticks while nothing arrives.
        for second in 1..=3_600 {
            stitcher.tick(wall + second * SECOND, &mut |_| {}, &mut |_| {});
        }
        assert_eq!(
            stitcher_clock(&stitcher),
            Some(wall + 3_600 * SECOND + 1),
            "an hour of quiet moves the site's time on by an hour"
        );
        fn stitcher_clock(stitcher: &Stitcher) -> Option<i64> {
            stitcher.linker().clocks().sites().next().and_then(|(_, time)| time.now)
        }
    }
}
