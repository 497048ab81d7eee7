//! What the engine tells its listener while calls are live (crate::news), and the per-site
//! clocks that decide when it finishes them (crate::clock).

use callstitch_engine::{CallHandle, CallSink, Engine, EngineConfig, Evidence, FinishedCall, OpenedCall};
use callstitch_tlib::{CallUuid, ConnId, Context, Event, IsLink, KvList, LinkRole, Message, Text, Timestamp};

const SECOND: i64 = 1_000_000;
const T0: i64 = 1_770_019_200 * SECOND;

/// Every piece of news as a line, in the order told.
#[derive(Default)]
struct Told {
    lines: Vec<String>,
    finished: Vec<FinishedCall>,
}

impl CallSink for Told {
    fn opened(&mut self, call: OpenedCall<'_>) {
        let uuid = call.call_uuid.map_or("-".to_string(), |uuid| uuid.to_string());
        self.lines.push(format!("opened {} {} {uuid}", call.handle.0, call.site));
    }

    fn evidence(&mut self, call: CallHandle, evidence: Evidence<'_>) {
        let line = match evidence {
            Evidence::CallUuid(uuid) => format!("uuid {uuid}"),
            Evidence::ConnId(conn) => format!("conn {conn}"),
            Evidence::Link(link, time) => {
                format!("link {} at {}", link.id, time.map_or(0, |time| time.0 - T0))
            }
            Evidence::ConsultOf { main, .. } => format!("consult-of {:?}", main.map(|main| main.0)),
            Evidence::MergedInto { survivor, .. } => format!("merged-into {:?}", survivor.map(|call| call.0)),
            Evidence::History(history) => format!("history {:?}", history.last_transfer_conn_id),
        };
        self.lines.push(format!("{} {line}", call.0));
    }

    fn finished(&mut self, call: FinishedCall) {
        self.lines.push(format!("finished {} {}", call.handle.0, call.key));
        self.finished.push(call);
    }
}

struct Site {
    name: &'static str,
    seq: u64,
}

impl Site {
    fn event(&mut self, message: Message, uuid: &str, conn: u64, at: i64) -> Event {
        self.seq += 1;
        let mut event = Event::new(message, self.name);
        event.context = Context::DistributeCallPartyEvent;
        event.seq = Some(self.seq);
        event.timestamp = Some(Timestamp(at));
        event.call_uuid = Some(CallUuid::new(uuid));
        event.conn_id = Some(ConnId(conn));
        event
    }

    fn link(&mut self, uuid: &str, conn: u64, at: i64, id: &str, role: LinkRole) -> Event {
        let mut event = self.event(Message::EventCallDataChanged, uuid, conn, at);
        event.is_links = Some(vec![IsLink {
            id: Text::from(id),
            location_name: Some(Text::from("Other@Switch")),
            direction_role: Some(role),
            extra: KvList::new(),
        }]);
        event
    }
}

fn apply(engine: &mut Engine, events: &[Event]) -> Told {
    let mut told = Told::default();
    for event in events {
        engine.apply_to(event, &mut told);
    }
    told
}

#[test]
fn a_call_is_told_when_it_opens_and_each_link_when_it_is_seen() {
    let mut site = Site { name: "A", seq: 0 };
    let events = vec![
        site.event(Message::EventCallCreated, "UUID-1", 0x11, T0),
        site.link("UUID-1", 0x11, T0 + SECOND, "LINK-1", LinkRole::Source),
        site.link("UUID-1", 0x11, T0 + 2 * SECOND, "LINK-1", LinkRole::Source),
    ];
    let mut engine = Engine::new(EngineConfig::default());
    let told = apply(&mut engine, &events);
    assert_eq!(told.lines, vec!["opened 1 A UUID-1", "1 link LINK-1 at 1000000"]);
    assert!(told.finished.is_empty(), "the call is still live");
}

#[test]
fn a_merged_consultation_names_its_main_call_and_its_survivor() {
    let mut site = Site { name: "A", seq: 0 };
    let mut consult = site.event(Message::EventCallCreated, "K", 0x22, T0 + SECOND);
    consult.orig_call_uuid = Some(CallUuid::new("M"));
    consult.call_type = Some(callstitch_tlib::CallType::Consult);
    let mut merged = site.event(Message::EventCallDeleted, "K", 0x22, T0 + 5 * SECOND);
    merged.ref_call_uuid = Some(CallUuid::new("M"));
    let events = vec![site.event(Message::EventCallCreated, "M", 0x11, T0), consult, merged];
    let mut engine = Engine::new(EngineConfig::default());
    let told = apply(&mut engine, &events);
    assert_eq!(
        told.lines,
        vec!["opened 1 A M", "opened 2 A K", "2 consult-of Some(1)", "2 merged-into Some(1)"]
    );
}

#[test]
fn a_sites_clock_finishes_only_its_own_calls() {
    let mut a = Site { name: "A", seq: 0 };
    let mut b = Site { name: "B", seq: 0 };
    // A's call ended (deleted); B's events run two hours ahead of A's (a site whose clock is
    // off, or whose log covers a later period): A's call must wait for A's own time.
    let mut events = vec![
        a.event(Message::EventCallCreated, "A-1", 0x1, T0),
        a.event(Message::EventCallDeleted, "A-1", 0x1, T0 + SECOND),
    ];
    for step in 0..5 {
        events.push(b.event(
            Message::EventCallCreated,
            &format!("B-{step}"),
            0x10 + step,
            T0 + 7_200 * SECOND + step as i64 * SECOND,
        ));
    }
    let mut engine = Engine::new(EngineConfig::default());
    let told = apply(&mut engine, &events);
    assert!(told.finished.is_empty(), "A's clock has not passed its call's linger: {:?}", told.lines);
    let later = [a.event(Message::EventCallCreated, "A-2", 0x2, T0 + 10 * SECOND)];
    let told = apply(&mut engine, &later);
    assert_eq!(told.finished.len(), 1, "A's own time finishes A's call");
    assert_eq!(told.finished[0].key, "A-1");
}

#[test]
fn one_event_dated_a_year_ahead_finishes_no_call() {
    let mut a = Site { name: "A", seq: 0 };
    let year = 365 * 24 * 3_600 * SECOND;
    let events = vec![
        a.event(Message::EventCallCreated, "A-1", 0x1, T0),
        a.event(Message::EventCallCreated, "A-2", 0x2, T0 + year),
        a.event(Message::EventCallCreated, "A-3", 0x3, T0 + 2 * SECOND),
    ];
    let mut engine = Engine::new(EngineConfig::default());
    let told = apply(&mut engine, &events);
    assert!(told.finished.is_empty(), "no idle timeout from a wrong clock: {:?}", told.lines);
    assert_eq!(engine.stats().clock_outliers, 1);
    assert_eq!(engine.site_clock("A"), Some(T0 + 2 * SECOND));
}

/// An event of `site` about no call, that moves its clock to `at`.
fn quiet(site: &mut Site, at: i64) -> Event {
    site.seq += 1;
    let mut event = Event::new(Message::EventDNBackInService, site.name);
    event.seq = Some(site.seq);
    event.timestamp = Some(Timestamp(at));
    event
}

#[test]
fn calls_due_together_finish_in_the_order_they_were_created_whatever_their_slots() {
    let (mut a, mut b) = (Site { name: "A", seq: 0 }, Site { name: "B", seq: 0 });
    // B's call takes the first slot of the engine's table and frees it; A's second call takes
    // it then, before A's first call: both of A's calls end at the same time. One engine for
    // each site would give them slots in the order they were created: one engine for both
    // must finish them in that order too (crates/pipeline, `split`).
    let events = vec![
        b.event(Message::EventCallCreated, "B-1", 0x1, T0),
        a.event(Message::EventCallCreated, "A-1", 0x2, T0 + SECOND),
        b.event(Message::EventCallDeleted, "B-1", 0x1, T0 + 2 * SECOND),
        quiet(&mut b, T0 + 100 * SECOND),
        a.event(Message::EventCallCreated, "A-2", 0x3, T0 + 101 * SECOND),
        a.event(Message::EventCallDeleted, "A-1", 0x2, T0 + 102 * SECOND),
        a.event(Message::EventCallDeleted, "A-2", 0x3, T0 + 102 * SECOND),
        quiet(&mut a, T0 + 200 * SECOND),
    ];
    let mut engine = Engine::new(EngineConfig::default());
    let told = apply(&mut engine, &events);
    let finished: Vec<&str> = told.finished.iter().map(|call| call.key.as_str()).collect();
    assert_eq!(finished, ["B-1", "A-1", "A-2"], "{:?}", told.lines);
}
