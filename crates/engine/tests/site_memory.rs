//! What a site costs the engine before it has sent much: one event from each of many sites
//! (site names are chosen by whoever posts events) must cost about what the event holds, not
//! a duplicate window sized for a busy site. The heap is counted by an instrumented global
//! allocator, so this file holds one test only: tests in parallel threads would count each
//! other's allocations.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use callstitch_engine::{Engine, EngineConfig};
use callstitch_tlib::{CallUuid, ConnId, Event, Message, Text, Timestamp};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SITES: usize = 2_000;

/// The first event of site `index`: a ringing party, as the service's adversarial run posted.
fn first_event(index: usize) -> Event {
    let mut event = Event::new(Message::EventRinging, &format!("S{index}"));
    event.seq = Some(1);
    event.timestamp = Some(Timestamp(1_767_225_600_000_001));
    event.conn_id = Some(ConnId(1));
    event.call_uuid = Some(CallUuid::new(&format!("C{index}")));
    event.this_dn = Some(Text::from("1001"));
    event
}

#[test]
fn a_site_that_sent_one_event_costs_little_memory() {
    let events: Vec<Event> = (0..SITES).map(first_event).collect();
    let mut engine = Engine::new(EngineConfig::default());
    let region = Region::new(GLOBAL);
    for event in &events {
        engine.apply(event, &mut |_| {});
    }
    let change = region.change();
    let held =
        change.bytes_allocated as i64 - change.bytes_deallocated as i64 + change.bytes_reallocated as i64;
    let per_site = held / SITES as i64;
    assert_eq!(engine.live_calls(), SITES, "each site's event opened its call");
    assert!(per_site < 8 * 1024, "{per_site} bytes held per site that sent one event ({held} for {SITES})");
    drop(engine);
}
