//! When the linker hands an interaction out, driven by time rather than by the end of input:
//! a consultation waiting for its main call, a REFER hand-off waiting for its continuation, an
//! unpaired link waiting for its other end on the other site's own time, a link whose other
//! end is on a call still live (never a timeout), ISCC matches at the edges of the window with
//! two candidate origins, and what is forgotten once settled.

use crate::common;

use callstitch_engine::EngineConfig;
use callstitch_link::{
    EvidenceKind, Interaction, Lifecycle, LinkerConfig, Linking, LiveClock, SiteDirectory, Stitcher,
};
use callstitch_tlib::{ConnId, Event, LinkRole, Message, Text, Timestamp};
use common::{merged, segments, Site, SECOND, T0};

/// Short waits, so that a test can walk across them.
fn config() -> LinkerConfig {
    LinkerConfig {
        linger: 10 * SECOND,
        link_timeout: 60 * SECOND,
        iscc_window: 60 * SECOND,
        clock_tolerance: 5 * SECOND,
        revision_grace: 30 * SECOND,
        ..LinkerConfig::default()
    }
}

/// A stitcher read as input, and what it handed out so far.
struct Run {
    stitcher: Stitcher,
    out: Vec<Interaction>,
}

impl Run {
    fn new(sites: &[&str], config: LinkerConfig) -> Run {
        Run {
            stitcher: Stitcher::new(
                EngineConfig::default(),
                config,
                SiteDirectory::new(sites.iter().copied()),
            ),
            out: Vec::new(),
        }
    }

    fn push_all(&mut self, events: &[Event]) {
        for event in events {
            self.stitcher.push(event, &mut |_| {}, &mut |interaction| self.out.push(interaction));
        }
    }

    /// Unrelated events of `site` at `at`: its clock moves there (two events, so that a
    /// step of more than the clock's jump is believed).
    fn tick(&mut self, site: &mut Site, at: i64) {
        for (offset, conn) in [(0, 0xffe), (1, 0xfff)] {
            let uuid = format!("TICK-{}-{at}-{offset}", site.name);
            site.created(&uuid, conn, at + offset);
            let event = site.events.last().cloned().expect("an event");
            self.push_all(&[event]);
        }
    }

    fn handed_out(&self) -> usize {
        self.out.len()
    }
}

/// Live: `events` pushed, each arriving at `wall` (at its own time when `None`); what is
/// handed out is kept in `out`.
fn push_live(stitcher: &mut Stitcher, events: &[Event], wall: Option<i64>, out: &mut Vec<Interaction>) {
    for event in events {
        let wall = wall.unwrap_or_else(|| event.timestamp.map_or(T0, |time| time.0));
        stitcher.push_at(event, Some(wall), &mut |_| {}, &mut |interaction| out.push(interaction));
    }
}

/// Live: `minutes` of quiet after `from`, a tick and a flush every minute.
fn quiet_minutes(stitcher: &mut Stitcher, from: i64, minutes: i64, out: &mut Vec<Interaction>) {
    for minute in 1..=minutes {
        stitcher.tick(from + minute * 60 * SECOND, &mut |_| {}, &mut |interaction| out.push(interaction));
        stitcher.flush(&mut |interaction| out.push(interaction));
    }
}

#[test]
fn a_consultation_is_handed_out_with_its_main_call_not_before_the_main_call_ends() {
    let mut a = Site::new("A", "SwA");
    a.created("MAIN", 0x10, T0);
    a.consultation("CONSULT", 0x20, T0 + 10 * SECOND, "MAIN");
    a.deleted("CONSULT", 0x20, T0 + 20 * SECOND);
    let mut run = Run::new(&["A"], config());
    run.push_all(&a.events);
    // The consultation ended long ago; its main call is still talking.
    run.tick(&mut a, T0 + 600 * SECOND);
    assert_eq!(run.handed_out(), 0, "nothing is handed out while the main call is live");
    let mut end = Site::new("A", "SwA");
    end.deleted("MAIN", 0x10, T0 + 700 * SECOND);
    run.push_all(&end.events);
    run.tick(&mut a, T0 + 705 * SECOND);
    assert_eq!(run.handed_out(), 0, "not before the linger after the main call's end");
    run.tick(&mut a, T0 + 711 * SECOND);
    let interaction = run.out.iter().find(|interaction| interaction.segments.len() == 2).expect("handed out");
    assert_eq!(segments(interaction), common::pairs(&[("A", "MAIN"), ("A", "CONSULT")]));
    assert_eq!(interaction.links[0].evidence, EvidenceKind::Consultation);
}

#[test]
fn a_hand_off_waits_the_link_timeout_for_its_continuation_and_no_longer() {
    // SIP1's call ends by handing the customer on (a routing point routed it away); the
    // continuation on SIP2 keeps the CallUUID.
    let mut sip1 = Site::new("SIP1", "SW1");
    let mut sip2 = Site::new("SIP2", "SW2");
    let mut routed = Site::new("SIP1", "SW1");
    for (dn, message, at) in [("5001", Message::EventRouteRequest, 0), ("5001", Message::EventRouteUsed, 2)] {
        routed.created("REFER-1", 0x11, T0 + at * SECOND);
        let event = routed.events.last_mut().expect("event");
        event.message = message;
        event.this_dn = Some(Text::from(dn));
    }
    sip1.events.extend(routed.events);
    let mut run = Run::new(&["SIP1", "SIP2"], config());
    run.push_all(&sip1.events);
    // Both sites move on to 58 s after the hand-off (the engine closes the call after its
    // 30 s hand-off grace): still waiting for the continuation.
    let at = T0 + 2 * SECOND + 58 * SECOND;
    run.tick(&mut sip1, at);
    run.tick(&mut sip2, at);
    assert!(run.out.iter().all(|interaction| !interaction.has_segment("SIP1", "REFER-1")), "{:?}", run.out);
    // The continuation arrives within the wait: one interaction, handed out once.
    sip2.call("REFER-1", 0x22, at + SECOND, at + 40 * SECOND, &[]);
    run.push_all(&sip2.events[sip2.events.len() - 2..]);
    let mut late = Site::new("SIP1", "SW1");
    late.call("REFER-2", 0x33, T0, T0 + 2 * SECOND, &[]);
    run.stitcher.finish(&mut |_| {}, &mut |interaction| run.out.push(interaction));
    let joined: Vec<&Interaction> =
        run.out.iter().filter(|interaction| interaction.has_segment("SIP1", "REFER-1")).collect();
    assert_eq!(joined.len(), 1);
    assert_eq!(segments(joined[0]), common::pairs(&[("SIP1", "REFER-1"), ("SIP2", "REFER-1")]));
}

#[test]
fn an_unpaired_link_waits_on_the_other_sites_time_then_times_out() {
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    a.call("A-1", 1, T0, T0 + 10 * SECOND, &[("L1", LinkRole::Source, "B@SwB")]);
    let mut run = Run::new(&["A", "B"], config());
    run.push_all(&a.events);
    // A's own time runs far ahead; B has not passed the timeout: still waiting.
    run.tick(&mut a, T0 + 3_600 * SECOND);
    run.tick(&mut b, T0 + 10 * SECOND + 59 * SECOND);
    assert_eq!(run.handed_out(), 0, "B's time decides, not A's: {:?}", run.out);
    // B passes the link timeout after the call's end: timed out, the link listed.
    run.tick(&mut b, T0 + 10 * SECOND + 61 * SECOND);
    let interaction =
        run.out.iter().find(|interaction| interaction.has_segment("A", "A-1")).expect("handed out");
    assert_eq!((interaction.linking, interaction.state), (Linking::TimedOut, Lifecycle::Complete));
    assert_eq!(interaction.unpaired_links, [Text::from("L1")]);
}

#[test]
fn a_link_whose_other_end_is_on_a_live_call_never_times_out() {
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    a.call("A-1", 1, T0, T0 + 10 * SECOND, &[("L1", LinkRole::Source, "B@SwB")]);
    // B's call took the customer and talks for half an hour, far past the link timeout.
    b.created("B-1", 4, T0 + SECOND);
    b.links("B-1", 4, T0 + 2 * SECOND, &[("L1", LinkRole::Target, "A@SwA")]);
    let mut run = Run::new(&["A", "B"], config());
    run.push_all(&merged(&[&a, &b]));
    for minute in 1..=30 {
        run.tick(&mut a, T0 + minute * 60 * SECOND);
        run.tick(&mut b, T0 + minute * 60 * SECOND);
    }
    assert_eq!(run.handed_out(), 0, "the other end was sighted: the interaction is live, not timed out");
    let mut end = Site::new("B", "SwB");
    end.deleted("B-1", 4, T0 + 1_801 * SECOND);
    run.push_all(&end.events);
    run.tick(&mut a, T0 + 1_900 * SECOND);
    run.tick(&mut b, T0 + 1_900 * SECOND);
    let interaction =
        run.out.iter().find(|interaction| interaction.has_segment("A", "A-1")).expect("handed out");
    assert_eq!(segments(interaction), common::pairs(&[("A", "A-1"), ("B", "B-1")]));
    assert_eq!(interaction.linking, Linking::Complete);
}

/// An ISCC destination on B arriving at `arrival` (µs after T0) whose LastTransferConnID
/// names ConnID 0x77 on A, where two calls had it: one ended at T0 + 30 s, one alive from
/// T0 + 90 s. Returns the A call it was joined to.
fn iscc_origin(arrival: i64) -> Option<String> {
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    a.call("A-EARLY", 0x77, T0, T0 + 30 * SECOND, &[]);
    a.call("A-LATE", 0x77, T0 + 90 * SECOND, T0 + 400 * SECOND, &[]);
    b.created("B-1", 0x99, T0 + arrival);
    let event = b.events.last_mut().expect("event");
    event.last_transfer_conn_id = Some(ConnId(0x77));
    event.last_transfer_home_location = Some(Text::from("A@SwA"));
    b.deleted("B-1", 0x99, T0 + arrival + 60 * SECOND);
    let interactions = callstitch_link::stitch(&merged(&[&a, &b]), SiteDirectory::new(["A", "B"]));
    let joined = interactions.iter().find(|interaction| interaction.has_segment("B", "B-1"))?;
    joined.segments.iter().find(|segment| segment.site == "A").map(|segment| segment.key.clone())
}

#[test]
fn iscc_call_history_matches_at_the_edges_of_its_window() {
    let second = SECOND;
    // The early call ended at 30 s: the window (60 s) plus the tolerance (5 s) reach 95 s.
    assert_eq!(iscc_origin(31 * second).as_deref(), Some("A-EARLY"), "just after the end");
    assert_eq!(
        iscc_origin(85 * second).as_deref(),
        Some("A-LATE"),
        "the late call begins within the tolerance"
    );
    assert_eq!(
        iscc_origin(84 * second).as_deref(),
        Some("A-EARLY"),
        "the late call begins after the tolerance"
    );
    // From 95 s the late call is the only candidate, alive at the arrival.
    assert_eq!(iscc_origin(95 * second).as_deref(), Some("A-LATE"));
    assert_eq!(iscc_origin(96 * second).as_deref(), Some("A-LATE"));
    // Far after both: none.
    assert_eq!(iscc_origin(1_000 * second), None);
}

#[test]
fn iscc_with_two_candidates_takes_the_one_that_ended_at_the_arrival_whatever_the_order() {
    // Both candidates fit: the early call ended 2 s before the arrival (within the clock
    // tolerance: the transfer's own end), the late one is alive past it. The one that ended
    // with the transfer is taken, and the ambiguity is said.
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    a.call("A-EARLY", 0x77, T0, T0 + 38 * SECOND, &[]);
    a.call("A-LATE", 0x77, T0 + 39 * SECOND, T0 + 400 * SECOND, &[]);
    b.created("B-1", 0x99, T0 + 40 * SECOND);
    let event = b.events.last_mut().expect("event");
    event.last_transfer_conn_id = Some(ConnId(0x77));
    event.last_transfer_home_location = Some(Text::from("A@SwA"));
    b.deleted("B-1", 0x99, T0 + 100 * SECOND);
    let sites = || SiteDirectory::new(["A", "B"]);
    let origin = |events: &[Event]| {
        let interactions = callstitch_link::stitch(events, sites());
        let joined = interactions.iter().find(|interaction| interaction.has_segment("B", "B-1")).cloned();
        joined.map(|joined| {
            (segments(&joined), joined.links.iter().filter_map(|link| link.note.clone()).collect::<Vec<_>>())
        })
    };
    let expected = origin(&merged(&[&a, &b]));
    let (joined, notes) = expected.clone().expect("joined");
    assert!(joined.contains(&("A".to_string(), "A-EARLY".to_string())), "{joined:?}");
    assert!(notes.iter().any(|note| note.contains("several origin calls matched")), "{notes:?}");
    assert_eq!(origin(&common::concatenated(&[&b, &a])), expected, "the destination read first");
    assert_eq!(origin(&common::concatenated(&[&a, &b])), expected, "the origin site read first");
}

#[test]
fn settled_interactions_leave_memory_and_so_do_their_index_entries() {
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    for index in 0..50 {
        let start = T0 + index * 20 * SECOND;
        let link = format!("L{index}");
        a.call(
            &format!("A-{index}"),
            1 + index as u64,
            start,
            start + 10 * SECOND,
            &[(&link, LinkRole::Source, "B@SwB")],
        );
        b.call(
            &format!("B-{index}"),
            1 + index as u64,
            start + SECOND,
            start + 15 * SECOND,
            &[(&link, LinkRole::Target, "A@SwA")],
        );
    }
    let mut run = Run::new(&["A", "B"], config());
    run.push_all(&merged(&[&a, &b]));
    let last = T0 + 50 * 20 * SECOND;
    run.tick(&mut a, last + 120 * SECOND);
    run.tick(&mut b, last + 120 * SECOND);
    assert_eq!(run.handed_out(), 50, "every interaction once");
    let linker = run.stitcher.linker();
    // Only the ticks' own calls (still live) are held: no segment, link, CallUUID or ConnID
    // of a settled interaction.
    let held = linker.segments_in_memory();
    assert!(held <= 4, "{held} segments held: only the calls the ticks opened");
    assert_eq!(linker.interactions_in_memory(), (held, held), "each a live call of its own");
    assert_eq!(linker.interactions_in_memory().0, linker.segments_in_memory());
}

#[test]
fn live_a_forgotten_interaction_comes_back_when_the_other_end_of_its_link_arrives_hours_later() {
    let live = LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..config() };
    let mut stitcher = Stitcher::new(EngineConfig::default(), live, SiteDirectory::new(["A", "B"]));
    let mut out: Vec<Interaction> = Vec::new();
    let mut a = Site::new("A", "SwA");
    a.call("A-1", 1, T0, T0 + 10 * SECOND, &[("L1", LinkRole::Source, "B@SwB")]);
    push_live(&mut stitcher, &a.events, None, &mut out);
    // B is silent: after B counts as idle and the waits pass, A-1 is complete (timed out),
    // then forgotten after its revision grace (kept as bytes for its unpaired link).
    quiet_minutes(&mut stitcher, T0, 30, &mut out);
    let last = out.last().expect("handed out");
    assert_eq!((last.state, last.linking), (Lifecycle::Complete, Linking::TimedOut));
    assert_eq!(stitcher.linker().segments_in_memory(), 0, "forgotten");
    assert_eq!(stitcher.linker().archived_in_memory(), 1, "kept as bytes for its unpaired link");
    // Two hours later B's log arrives with the other end.
    let mut b = Site::new("B", "SwB");
    b.call("B-1", 4, T0 + SECOND, T0 + 90 * SECOND, &[("L1", LinkRole::Target, "A@SwA")]);
    let wall = T0 + 7_200 * SECOND;
    push_live(&mut stitcher, &b.events, Some(wall), &mut out);
    quiet_minutes(&mut stitcher, wall, 5, &mut out);
    let last = out.last().expect("handed out");
    assert_eq!(segments(last), common::pairs(&[("A", "A-1"), ("B", "B-1")]));
    assert_eq!((last.state, last.linking), (Lifecycle::Complete, Linking::Complete));
    assert!(last.revision > 0, "a revision of what was written");
    assert_eq!(stitcher.linker().stats().revived, 1);
    let _ = Timestamp(0);
}

/// Live, a named site that has sent nothing yet (its collector starts late) may still bring
/// a call of any interaction already forgotten: until every named site has been seen,
/// forgotten interactions are kept as bytes indexed by their CallUUIDs, and come back when
/// the late site's call with the same CallUUID arrives. Once every site was seen, nothing
/// without an open end is kept.
#[test]
fn live_a_site_not_seen_yet_joins_by_call_uuid_an_interaction_already_forgotten() {
    let run = |b_seen_early: bool| -> (Vec<Interaction>, usize) {
        let live = LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..config() };
        let mut stitcher = Stitcher::new(EngineConfig::default(), live, SiteDirectory::new(["A", "B"]));
        let mut out: Vec<Interaction> = Vec::new();
        let mut a = Site::new("A", "SwA");
        let mut b = Site::new("B", "SwB");
        if b_seen_early {
            b.call("B-0", 9, T0 - 5 * SECOND, T0 - 4 * SECOND, &[]);
        }
        a.call("U-1", 1, T0, T0 + 10 * SECOND, &[]);
        push_live(&mut stitcher, &merged(&[&a, &b]), None, &mut out);
        quiet_minutes(&mut stitcher, T0, 30, &mut out);
        assert_eq!(stitcher.linker().segments_in_memory(), 0, "forgotten");
        let archived = stitcher.linker().archived_in_memory();
        // Two hours later B's call with the same CallUUID arrives.
        let mut late = Site::new("B", "SwB");
        late.call("U-1", 4, T0 + 2 * SECOND, T0 + 90 * SECOND, &[]);
        let wall = T0 + 7_200 * SECOND;
        push_live(&mut stitcher, &late.events, Some(wall), &mut out);
        quiet_minutes(&mut stitcher, wall, 5, &mut out);
        (out, archived)
    };
    let (out, archived) = run(false);
    assert_eq!(archived, 1, "kept as bytes while B was never seen");
    let last = out.last().expect("handed out");
    assert_eq!(segments(last), common::pairs(&[("A", "U-1"), ("B", "U-1")]));
    assert!(last.revision > 0, "a revision of what was written");

    let (_, archived) = run(true);
    assert_eq!(archived, 0, "B was seen: nothing without an open end is kept");
}

/// A call that begins with a ConnID only and learns its CallUUID later (a server that sends
/// the CallUUID from the second event on): keyed by the CallUUID once it is known, and joined
/// by it to the other site's call that keeps it.
#[test]
fn a_call_that_learns_its_call_uuid_later_is_keyed_and_joined_by_it() {
    let mut sip1 = Site::new("SIP1", "SW1");
    let mut sip2 = Site::new("SIP2", "SW2");
    sip1.call("UUID-KEPT", 0x11, T0, T0 + 30 * SECOND, &[]);
    sip1.events[0].call_uuid = None;
    sip2.call("UUID-KEPT", 0x22, T0 + 20 * SECOND, T0 + 90 * SECOND, &[]);
    let interactions =
        callstitch_link::stitch(&merged(&[&sip1, &sip2]), SiteDirectory::new(["SIP1", "SIP2"]));
    assert_eq!(interactions.len(), 1, "{interactions:#?}");
    assert_eq!(segments(&interactions[0]), common::pairs(&[("SIP1", "UUID-KEPT"), ("SIP2", "UUID-KEPT")]));
}

/// Reading input, a site's floor (its log's next event is later) and the end of its log let
/// interactions waiting on it complete before the input ends; without them they wait.
#[test]
fn a_sites_floor_and_end_let_waiting_interactions_complete() {
    let mut a = Site::new("A", "SwA");
    a.call("A-1", 1, T0, T0 + 10 * SECOND, &[("L1", LinkRole::Source, "B@SwB")]);
    let run = |hint: &dyn Fn(&mut Stitcher, &mut Vec<Interaction>)| {
        let mut stitcher = Stitcher::new(EngineConfig::default(), config(), SiteDirectory::new(["A", "B"]));
        let mut out = Vec::new();
        for event in &a.events {
            stitcher.push(event, &mut |_| {}, &mut |interaction| out.push(interaction));
        }
        // A's own clock runs on with a later call of its own.
        let mut later = Site::new("A", "SwA");
        later.call("A-2", 2, T0 + 600 * SECOND, T0 + 601 * SECOND, &[]);
        later.call("A-3", 3, T0 + 602 * SECOND, T0 + 603 * SECOND, &[]);
        for event in &later.events {
            stitcher.push(event, &mut |_| {}, &mut |interaction| out.push(interaction));
        }
        hint(&mut stitcher, &mut out);
        out.iter().any(|interaction| interaction.has_segment("A", "A-1"))
    };
    assert!(!run(&|_, _| {}), "B not seen: A-1 waits for B's time");
    assert!(
        run(&|stitcher, out| stitcher.raise_floor("B", Timestamp(T0 + 100 * SECOND), &mut |i| out.push(i))),
        "B's log goes on only after the link's wait: A-1 timed out"
    );
    assert!(
        !run(&|stitcher, out| stitcher.raise_floor("B", Timestamp(T0 + 30 * SECOND), &mut |i| out.push(i))),
        "B's floor before the wait's end: still waiting"
    );
    assert!(run(&|stitcher, out| stitcher.end_site("B", &mut |i| out.push(i))), "B's log ended");
}

/// Live, with every site quiet, wall time alone moves the estate on: interactions still
/// waiting complete, and the counters say what happened.
#[test]
fn live_wall_time_alone_completes_what_waits_and_the_counters_say_so() {
    let live = LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..config() };
    let mut stitcher = Stitcher::new(EngineConfig::default(), live, SiteDirectory::new(["A", "B"]));
    assert_eq!(stitcher.linker().config().linger, 10 * SECOND);
    assert_eq!(stitcher.sites().known().len(), 2);
    let mut out: Vec<Interaction> = Vec::new();
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    a.call("A-1", 1, T0, T0 + 10 * SECOND, &[("L1", LinkRole::Source, "B@SwB")]);
    b.call("B-1", 4, T0 + SECOND, T0 + 20 * SECOND, &[("L1", LinkRole::Target, "A@SwA")]);
    a.call("A-1", 1, T0 + 25 * SECOND, T0 + 26 * SECOND, &[]);
    for event in merged(&[&a, &b]) {
        let wall = event.timestamp.map_or(T0, |time| time.0);
        stitcher.push_at(&event, Some(wall), &mut |_| {}, &mut |interaction| out.push(interaction));
    }
    stitcher.flush(&mut |interaction| out.push(interaction));
    assert!(out.iter().all(|interaction| interaction.state != Lifecycle::Complete), "the linger is not over");
    assert_eq!(stitcher.linker().archived_in_memory(), 0);
    // Nothing arrives; wall time passes the linger: complete.
    stitcher.tick(T0 + 26 * SECOND + 11 * SECOND, &mut |_| {}, &mut |interaction| out.push(interaction));
    stitcher.flush(&mut |interaction| out.push(interaction));
    let last = out.last().expect("handed out");
    assert_eq!((last.state, last.segments.len()), (Lifecycle::Complete, 2));
    let stats = stitcher.linker_stats();
    assert_eq!((stats.segments, stats.duplicate_segments), (2, 1), "A-1's late events are the same call");
    assert_eq!(stats.interactions as usize, out.len());
    assert_eq!(stats.revisions as usize, out.len() - 1);
    assert_eq!(stats.edges, 1);
}

/// A consultation whose main call the engine no longer holds (it ended, or its end was lost)
/// is joined to it by the linker: by the CallUUID it names, or by a ConnID the main call had
/// within the clock tolerance of the consultation's start; a ConnID of a call long gone
/// joins nothing and is noted.
#[test]
fn a_consultation_finds_a_main_call_the_engine_no_longer_holds() {
    let consult = |pointer: &dyn Fn(&mut Event), start: i64| {
        let mut a = Site::new("A", "SwA");
        a.call("MAIN", 0x10, T0, T0 + 5 * SECOND, &[]);
        a.created("CONSULT", 0x20, T0 + start);
        let event = a.events.last_mut().expect("event");
        event.call_type = Some(callstitch_tlib::CallType::Consult);
        pointer(event);
        a.deleted("CONSULT", 0x20, T0 + start + 30 * SECOND);
        callstitch_link::stitch(&a.events, SiteDirectory::new(["A"]))
    };
    let by_uuid =
        consult(&|event| event.orig_call_uuid = Some(callstitch_tlib::CallUuid::new("MAIN")), 60 * SECOND);
    assert_eq!(by_uuid.len(), 1, "{by_uuid:#?}");
    assert_eq!(by_uuid[0].links[0].evidence, EvidenceKind::Consultation);
    let by_conn = |start| consult(&|event| event.transfer_conn_id = Some(ConnId(0x10)), start);
    let near = by_conn(8 * SECOND);
    assert_eq!(near.len(), 1, "3 s after the main call's end: within the tolerance");
    let far = by_conn(60 * SECOND);
    assert_eq!(far.len(), 2, "a minute after: another call's ConnID, perhaps");
    assert!(far.iter().any(|interaction| interaction
        .notes
        .iter()
        .any(|note| note.contains("main call of a consultation"))));
}

/// ISCC history read before its origin site (an open estate, the destination's site first):
/// the origin is decided once that site appears and its time passes the window.
#[test]
fn iscc_history_read_before_its_origin_site_is_decided_when_that_site_comes() {
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    a.call("A-1", 0x77, T0, T0 + 30 * SECOND, &[]);
    b.created("B-1", 0x99, T0 + 20 * SECOND);
    let arrival = b.events.last_mut().expect("event");
    arrival.last_transfer_conn_id = Some(ConnId(0x77));
    arrival.last_transfer_home_location = Some(Text::from("A@SwA"));
    b.deleted("B-1", 0x99, T0 + 80 * SECOND);
    for directory in [SiteDirectory::default(), SiteDirectory::new(["A", "B"])] {
        let found = callstitch_link::stitch(&common::concatenated(&[&b, &a]), directory);
        let joined = found.iter().find(|interaction| interaction.segments.len() == 2).expect("joined");
        assert_eq!(segments(joined), common::pairs(&[("A", "A-1"), ("B", "B-1")]));
    }
}

/// Live, ISCC history naming a site that has sent nothing yet: the destination is written
/// with "origin not found" rather than wait for a site that may never come; when the site's
/// logs arrive hours later, its call with the ConnID brings the destination back (from
/// memory, or from the archive once forgotten) and the origin is decided as if it had been
/// there: one interaction with the ISCC history edge, the note gone. The same state through
/// a snapshot taken while it waits.
#[test]
fn live_iscc_history_naming_a_site_not_seen_yet_is_decided_again_when_that_site_comes() {
    let live = LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..config() };
    let mut b = Site::new("B", "SwB");
    b.created("B-1", 0x99, T0 + 20 * SECOND);
    let arrival = b.events.last_mut().expect("event");
    arrival.last_transfer_conn_id = Some(ConnId(0x77));
    arrival.last_transfer_home_location = Some(Text::from("A@SwA"));
    b.deleted("B-1", 0x99, T0 + 80 * SECOND);
    let mut a = Site::new("A", "SwA");
    a.call("A-1", 0x77, T0, T0 + 30 * SECOND, &[]);
    for restore in [false, true] {
        let mut stitcher =
            Stitcher::new(EngineConfig::default(), live.clone(), SiteDirectory::new(["A", "B"]));
        let mut out: Vec<Interaction> = Vec::new();
        push_live(&mut stitcher, &b.events, None, &mut out);
        quiet_minutes(&mut stitcher, T0, 30, &mut out);
        let alone = out.last().expect("written while A is silent");
        assert_eq!(alone.state, Lifecycle::Complete);
        assert!(alone.notes.iter().any(|note| note.contains("not found")), "{:?}", alone.notes);
        assert_eq!(stitcher.linker().segments_in_memory(), 0, "forgotten");
        assert_eq!(stitcher.linker().archived_in_memory(), 1, "kept for its origin's site");
        if restore {
            let bytes = stitcher.snapshot().expect("snapshot");
            stitcher = Stitcher::restore(&bytes, EngineConfig::default(), live.clone()).expect("restore");
        }
        let wall = T0 + 7_200 * SECOND;
        push_live(&mut stitcher, &a.events, Some(wall), &mut out);
        quiet_minutes(&mut stitcher, wall, 5, &mut out);
        let last = out.last().expect("handed out");
        assert_eq!(segments(last), common::pairs(&[("A", "A-1"), ("B", "B-1")]), "restored: {restore}");
        assert!(
            last.links.iter().any(|link| link.evidence == EvidenceKind::IsccCallHistory),
            "{:?}",
            last.links
        );
        assert!(last.notes.iter().all(|note| !note.contains("not found")), "{:?}", last.notes);
        assert_eq!(last.state, Lifecycle::Complete);
    }
}

/// Both ends of a link agree on the direction but one's location names a third site: the
/// edge is kept and marked inconsistent.
#[test]
fn a_link_whose_location_names_a_third_site_is_inconsistent_even_when_the_roles_pair() {
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    a.call("A-1", 1, T0, T0 + 10 * SECOND, &[("L1", LinkRole::Source, "C@SwC")]);
    b.call("B-1", 4, T0 + SECOND, T0 + 60 * SECOND, &[("L1", LinkRole::Target, "A@SwA")]);
    let found = callstitch_link::stitch(&merged(&[&a, &b]), SiteDirectory::new(["A", "B", "C"]));
    let link = &found.iter().find(|interaction| interaction.segments.len() == 2).expect("joined").links[0];
    assert!(!link.consistent);
    assert!(link.note.as_deref().unwrap_or("").contains("C@SwC does not name B"), "{link:?}");
}

/// The same call (site and CallUUID) seen again as a second engine call after the first
/// ended (its events came in two pieces): one segment, live while the second piece talks,
/// so its interaction is not handed out before that piece ends.
#[test]
fn a_call_seen_again_after_it_ended_keeps_its_interaction_live_until_it_ends_again() {
    let mut a = Site::new("A", "SwA");
    a.call("PIECES", 0x10, T0, T0 + 10 * SECOND, &[]);
    a.created("PIECES", 0x10, T0 + 15 * SECOND);
    let mut run = Run::new(&["A"], config());
    run.push_all(&a.events);
    // Far past the linger after the first piece's end, the second piece still talking.
    run.tick(&mut a, T0 + 300 * SECOND);
    assert!(
        run.out.iter().all(|interaction| !interaction.has_segment("A", "PIECES")),
        "handed out while a piece of it talks: {:?}",
        run.out
    );
    let mut end = Site::new("A", "SwA");
    end.deleted("PIECES", 0x10, T0 + 400 * SECOND);
    run.push_all(&end.events);
    run.tick(&mut a, T0 + 420 * SECOND);
    let handed: Vec<&Interaction> =
        run.out.iter().filter(|interaction| interaction.has_segment("A", "PIECES")).collect();
    assert_eq!(handed.len(), 1, "once, whole: {handed:?}");
    assert_eq!(handed[0].segments.len(), 1, "one segment for both pieces");
    assert_eq!(run.stitcher.linker_stats().duplicate_segments, 1);
}

/// An interaction whose linger ends at exactly the site's time is complete then, not one
/// tick later.
#[test]
fn a_linger_that_ends_exactly_now_is_over() {
    let mut a = Site::new("A", "SwA");
    a.call("A-1", 1, T0, T0 + 10 * SECOND, &[]);
    let mut run = Run::new(&["A"], config());
    run.push_all(&a.events);
    // The clock reaches one microsecond before the linger's end ...
    run.tick(&mut a, T0 + 20 * SECOND - 2);
    assert!(run.out.iter().all(|interaction| !interaction.has_segment("A", "A-1")), "{:?}", run.out);
    // ... then exactly its end (the tick's second event is one microsecond later).
    run.tick(&mut a, T0 + 20 * SECOND - 1);
    assert!(
        run.out.iter().any(|interaction| interaction.has_segment("A", "A-1")),
        "complete at its deadline"
    );
}

/// Live, every site quiet past the idle rule: the estate's time is no longer the slowest
/// site's but moves on with the wall clock, so an interaction of the site ahead completes
/// even though the other site's clock is far behind.
#[test]
fn live_when_every_site_went_idle_a_lagging_site_holds_nothing_back() {
    let live = LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..config() };
    let mut stitcher = Stitcher::new(EngineConfig::default(), live, SiteDirectory::new(["A", "B"]));
    let mut out: Vec<Interaction> = Vec::new();
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    b.created("B-OLD", 9, T0);
    a.call("A-1", 1, T0 + 500 * SECOND, T0 + 510 * SECOND, &[]);
    let wall = T0 + 1_000 * SECOND;
    for event in common::concatenated(&[&b, &a]) {
        stitcher.push_at(&event, Some(wall), &mut |_| {}, &mut |interaction| out.push(interaction));
    }
    stitcher.flush(&mut |interaction| out.push(interaction));
    assert!(
        out.iter().all(|interaction| interaction.state != Lifecycle::Complete),
        "B holds the estate at T0"
    );
    stitcher.tick(wall + 61 * SECOND, &mut |_| {}, &mut |interaction| out.push(interaction));
    stitcher.flush(&mut |interaction| out.push(interaction));
    let a1 = out.iter().rev().find(|interaction| interaction.has_segment("A", "A-1")).expect("handed out");
    assert_eq!(a1.state, Lifecycle::Complete, "both sites idle: the wall clock moves the estate on");
}

/// Live, the input ends: an interaction handed out complete already is not handed out again;
/// one still live, or settling with no news since it was handed out, is handed out once
/// more, complete.
#[test]
fn live_finish_hands_out_only_what_changed() {
    let live = LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..config() };
    let mut stitcher = Stitcher::new(EngineConfig::default(), live, SiteDirectory::new(["A"]));
    let mut out: Vec<Interaction> = Vec::new();
    let mut a = Site::new("A", "SwA");
    a.call("DONE", 1, T0, T0 + 10 * SECOND, &[]);
    a.created("TALKING", 2, T0 + 20 * SECOND);
    a.call("SETTLING", 3, T0 + 30 * SECOND, T0 + 35 * SECOND, &[]);
    push_live(&mut stitcher, &a.events, None, &mut out);
    stitcher.tick(T0 + 40 * SECOND, &mut |_| {}, &mut |interaction| out.push(interaction));
    stitcher.flush(&mut |interaction| out.push(interaction));
    let done =
        |out: &[Interaction]| out.iter().filter(|interaction| interaction.has_segment("A", "DONE")).count();
    assert!(out.iter().any(|i| i.has_segment("A", "DONE") && i.state == Lifecycle::Complete), "{out:?}");
    let (before, talking_before) =
        (done(&out), out.iter().filter(|interaction| interaction.has_segment("A", "TALKING")).count());
    stitcher.finish(&mut |_| {}, &mut |interaction| out.push(interaction));
    assert_eq!(done(&out), before, "complete and handed out already: not again");
    let talking: Vec<&Interaction> =
        out.iter().filter(|interaction| interaction.has_segment("A", "TALKING")).collect();
    assert_eq!(talking.len(), talking_before + 1, "the live one once more");
    assert_eq!(talking.last().map(|interaction| interaction.state), Some(Lifecycle::Complete));
    // Ended within the linger and handed out as settling, with no news since: handed out
    // once more, complete.
    let settling: Vec<&Interaction> =
        out.iter().filter(|interaction| interaction.has_segment("A", "SETTLING")).collect();
    assert_eq!(
        settling.first().map(|interaction| interaction.state),
        Some(Lifecycle::Settling),
        "{settling:?}"
    );
    assert_eq!(settling.last().map(|interaction| interaction.state), Some(Lifecycle::Complete));
}

/// ISCC call history on a hop an Inter-Site Link already joins (multi-site.md §4.3): the
/// history confirms the link when the link's source had that ConnID, and is reported as
/// disagreeing, joining no other call, when it did not.
#[test]
fn iscc_history_on_a_linked_hop_confirms_the_link_or_says_it_disagrees() {
    let joined = |history_conn: u64| {
        let mut a = Site::new("A", "SwA");
        let mut b = Site::new("B", "SwB");
        a.call("A-SOURCE", 0x77, T0, T0 + 30 * SECOND, &[("L1", LinkRole::Source, "B@SwB")]);
        a.call("A-OTHER", 0x88, T0 + 5 * SECOND, T0 + 40 * SECOND, &[]);
        b.created("B-1", 0x99, T0 + 20 * SECOND);
        let arrival = b.events.last_mut().expect("event");
        arrival.last_transfer_conn_id = Some(ConnId(history_conn));
        arrival.last_transfer_home_location = Some(Text::from("A@SwA"));
        b.links("B-1", 0x99, T0 + 21 * SECOND, &[("L1", LinkRole::Target, "A@SwA")]);
        b.deleted("B-1", 0x99, T0 + 80 * SECOND);
        let found = callstitch_link::stitch(&merged(&[&a, &b]), SiteDirectory::new(["A", "B"]));
        found.into_iter().find(|interaction| interaction.has_segment("B", "B-1")).expect("B-1 handed out")
    };
    let agreeing = joined(0x77);
    assert_eq!(segments(&agreeing), common::pairs(&[("A", "A-SOURCE"), ("B", "B-1")]));
    let kinds: Vec<EvidenceKind> = agreeing.links.iter().map(|link| link.evidence).collect();
    assert!(
        kinds.contains(&EvidenceKind::Islink) && kinds.contains(&EvidenceKind::IsccCallHistory),
        "{kinds:?}"
    );
    let disagreeing = joined(0x88);
    assert_eq!(
        segments(&disagreeing),
        common::pairs(&[("A", "A-SOURCE"), ("B", "B-1")]),
        "A-OTHER not joined"
    );
    assert!(disagreeing.links.iter().all(|link| link.evidence == EvidenceKind::Islink));
    assert!(
        disagreeing.notes.iter().any(|note| note.contains("never had it") && note.contains("A/A-SOURCE")),
        "{:?}",
        disagreeing.notes
    );
}

/// Live, two calls handed out each as its own interaction, then joined by a link: the
/// revision replaces the id the other was handed out under, never its own; an interaction
/// complete with a link that never paired says it can still be reopened, one without does
/// not.
#[test]
fn live_revisions_name_what_they_replace_and_complete_interactions_say_if_they_can_reopen() {
    let live = LinkerConfig { live: Some(LiveClock { idle_after: 60 * SECOND }), ..config() };
    let mut stitcher = Stitcher::new(EngineConfig::default(), live, SiteDirectory::new(["A", "B", "C"]));
    let mut out: Vec<Interaction> = Vec::new();
    let push = |stitcher: &mut Stitcher, out: &mut Vec<Interaction>, events: &[Event]| {
        for event in events {
            let wall = event.timestamp.map_or(T0, |time| time.0);
            stitcher.push_at(event, Some(wall), &mut |_| {}, &mut |interaction| out.push(interaction));
            stitcher.flush(&mut |interaction| out.push(interaction));
        }
    };
    let mut a = Site::new("A", "SwA");
    let mut b = Site::new("B", "SwB");
    // Every named site has sent something: an interaction is then reopenable only for an
    // end of its own (while one has sent nothing, any may be joined by it, and is).
    let mut c = Site::new("C", "SwC");
    a.created("A-1", 1, T0);
    a.links("A-1", 1, T0 + SECOND / 10, &[("L1", LinkRole::Source, "B@SwB")]);
    b.created("B-1", 4, T0 + SECOND);
    c.created("C-1", 7, T0 + SECOND);
    push(&mut stitcher, &mut out, &merged(&[&a, &b, &c]));
    let ids: Vec<String> = out
        .iter()
        .filter(|interaction| !interaction.has_segment("C", "C-1"))
        .map(|interaction| interaction.interaction_id.clone())
        .collect();
    let mut link = Site::new("B", "SwB");
    link.links("B-1", 4, T0 + 2 * SECOND, &[("L1", LinkRole::Target, "A@SwA")]);
    push(&mut stitcher, &mut out, &link.events);
    let both = out.last().expect("a revision");
    assert_eq!(both.segments.len(), 2);
    assert!(!both.replaces.contains(&both.interaction_id), "never replaces itself: {:?}", both.replaces);
    let other: Vec<&String> = ids.iter().filter(|id| **id != both.interaction_id).collect();
    assert!(
        !other.is_empty() && other.iter().all(|id| both.replaces.contains(id)),
        "{:?} {:?}",
        ids,
        both.replaces
    );
    // An unpaired link to C, and a call with nothing open: both complete after the waits.
    let before = a.events.len();
    a.call("A-OPEN", 2, T0 + 3 * SECOND, T0 + 4 * SECOND, &[("L9", LinkRole::Source, "C@SwC")]);
    a.call("A-CLOSED", 3, T0 + 3 * SECOND, T0 + 4 * SECOND, &[]);
    let more = a.events[before..].to_vec();
    push(&mut stitcher, &mut out, &more);
    quiet_minutes(&mut stitcher, T0, 10, &mut out);
    let last_of = |key: &str| {
        out.iter().rev().find(|interaction| interaction.has_segment("A", key)).expect("handed out").clone()
    };
    let (open, closed) = (last_of("A-OPEN"), last_of("A-CLOSED"));
    assert_eq!((open.state, closed.state), (Lifecycle::Complete, Lifecycle::Complete));
    assert!(open.reopenable && !closed.reopenable, "{} {}", open.reopenable, closed.reopenable);
    assert!(!open.first_under_id || open.revision == 0, "the same id as before");
}
