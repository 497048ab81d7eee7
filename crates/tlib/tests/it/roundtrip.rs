//! Round trip: arbitrary events, written in the log format and in JSON, read back identical.
//!
//! The generator covers what each form can express (see `LogWriter::write_event`): every
//! typed attribute with arbitrary values, unknown codes, raw attributes of every value shape,
//! nested key-value lists, Inter-Site Links, every line context, headers and clocks that roll
//! over midnight.

use std::sync::Arc;

use callstitch_tlib::json::{event_from_json, write_json_line};
use callstitch_tlib::tlog::{Header, LogReader, LogWriter, ReaderOptions};
use callstitch_tlib::{
    is_typed_attribute, CallState, CallType, CallUuid, Coded, ConnId, Context, DnRole, Event,
    EventProvenance, IsLink, KvList, KvPair, LinkRole, LocalTime, LogDate, Message, PartyState, RawAttribute,
    Text, Timestamp, Value,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

const DAY: i64 = 86_400_000_000;

fn text_value() -> impl Strategy<Value = Text> {
    "[ -~àéü日本]{0,16}".prop_map(|text| Text::from(text.as_str()))
}

fn key() -> impl Strategy<Value = Text> {
    "[A-Za-z0-9_ .-]{0,12}".prop_map(|text| Text::from(text.as_str()))
}

fn bare() -> impl Strategy<Value = Value> {
    prop_oneof!["[A-Za-z_][A-Za-z0-9_.:-]{0,10}", "0[0-9]{1,5}", "[A-Za-z]{1,5} [A-Za-z0-9]{1,5}"]
        .prop_map(|text| Value::Bare(Text::from(text.as_str())))
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![text_value().prop_map(Value::Str), any::<i64>().prop_map(Value::Int), bare()]
}

fn kv_list() -> impl Strategy<Value = KvList> {
    let leaf = vec((key(), scalar()), 0..4);
    leaf.prop_map(to_list).prop_recursive(3, 24, 4, |inner| {
        vec((key(), prop_oneof![scalar(), inner.prop_map(Value::List)]), 0..4).prop_map(to_list)
    })
}

fn to_list(pairs: Vec<(Text, Value)>) -> KvList {
    KvList(pairs.into_iter().map(|(key, value)| KvPair { key, value }).collect())
}

fn is_link() -> impl Strategy<Value = IsLink> {
    (
        "[0-9A-Z]{32}",
        option::of(text_value()),
        option::of(prop_oneof![Just("source"), Just("target"), Just("Target"), Just("sideways")]),
        kv_list(),
    )
        .prop_map(|(id, location_name, role, mut extra)| {
            extra.0.retain(|pair| pair.key != "location-name" && pair.key != "direction-role");
            IsLink {
                id: Text::from(id.as_str()),
                location_name,
                direction_role: role.map(LinkRole::parse),
                extra,
            }
        })
}

fn raw_attribute() -> impl Strategy<Value = RawAttribute> {
    ("Attribute[A-Z][A-Za-z]{1,14}", prop_oneof![scalar(), kv_list().prop_map(Value::List)])
        .prop_filter("raw names are not typed", |(name, _)| !is_typed_attribute(name))
        .prop_map(|(name, value)| RawAttribute { name: Text::from(name.as_str()), value })
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        4 => proptest::sample::select(Message::ALL.to_vec()),
        1 => "(Event|Request|ISCCEvent)[A-Z][A-Za-z0-9_]{0,12}".prop_map(|name| Message::from_name(&name)),
    ]
}

fn coded<T: Coded + std::fmt::Debug>() -> impl Strategy<Value = T> {
    prop_oneof![0_i64..40, any::<i64>()].prop_map(T::from_code)
}

/// The parts of an event the log line carries.
#[derive(Debug, Clone)]
enum LineKind {
    Logged(Context),
    RequestReceived,
    RequestSent,
    Bare,
}

fn line_kind() -> impl Strategy<Value = LineKind> {
    prop_oneof![
        Just(LineKind::Logged(Context::DistributeEvent)),
        Just(LineKind::Logged(Context::DistributeCallPartyEvent)),
        Just(LineKind::Logged(Context::SendToClient)),
        Just(LineKind::Logged(Context::Unspecified)),
        "[a-z_]{1,10}( [a-z_/]{1,8}){0,2}"
            .prop_filter("not a known context or a keyword", |text| {
                !matches!(
                    Context::parse(text),
                    Context::DistributeEvent | Context::DistributeCallPartyEvent | Context::SendToClient
                ) && !text.contains("message")
                    && !text.contains("request to")
            })
            .prop_map(|text| LineKind::Logged(Context::Other(Text::from(text.as_str())))),
        Just(LineKind::RequestReceived),
        Just(LineKind::RequestSent),
        Just(LineKind::Bare),
    ]
}

/// An event before its clock and origin are placed.
fn event_body() -> impl Strategy<Value = Event> {
    let ids = (
        option::of(any::<u64>()),
        option::of(
            (0_i64..=u32::MAX as i64, 0_i64..1_000_000).prop_map(|(s, us)| Timestamp(s * 1_000_000 + us)),
        ),
        option::of(any::<u64>()),
        vec(option::of(any::<u64>().prop_map(ConnId)), 7),
        vec(option::of("[0-9A-Za-z]{0,40}".prop_map(|text| CallUuid::new(&text))), 3),
        option::of(coded::<CallType>()),
        option::of(coded::<CallState>()),
    );
    let parties = (
        vec(option::of(text_value()), 6),
        vec(option::of(coded::<DnRole>()), 3),
        option::of(text_value()),
        option::of(any::<u32>().prop_map(PartyState)),
        vec(option::of(text_value()), 7),
    );
    let lists = (
        option::of(kv_list()),
        option::of(kv_list()),
        option::of(kv_list()),
        option::of(vec(is_link(), 0..3)),
        vec(raw_attribute(), 0..4),
    );
    (message(), ids, parties, lists).prop_map(|(message, ids, parties, lists)| {
        let mut event = Event::new(message, "S1");
        (event.seq, event.timestamp, event.reference_id) = (ids.0, ids.1, ids.2);
        let conns = ids.3;
        event.conn_id = conns[0];
        event.previous_conn_id = conns[1];
        event.transfer_conn_id = conns[2];
        event.conference_conn_id = conns[3];
        event.original_conn_id = conns[4];
        event.first_transfer_conn_id = conns[5];
        event.last_transfer_conn_id = conns[6];
        let mut uuids = ids.4.into_iter();
        event.call_uuid = uuids.next().flatten();
        event.orig_call_uuid = uuids.next().flatten();
        event.ref_call_uuid = uuids.next().flatten();
        (event.call_type, event.call_state) = (ids.5, ids.6);
        let mut dns = parties.0.into_iter();
        event.this_dn = dns.next().flatten();
        event.this_queue = dns.next().flatten();
        event.other_dn = dns.next().flatten();
        event.other_queue = dns.next().flatten();
        event.third_party_dn = dns.next().flatten();
        event.third_party_queue = dns.next().flatten();
        let mut roles = parties.1.into_iter();
        event.this_dn_role = roles.next().flatten();
        event.other_dn_role = roles.next().flatten();
        event.third_party_dn_role = roles.next().flatten();
        (event.dn, event.party_state) = (parties.2, parties.3);
        let mut texts = parties.4.into_iter();
        event.ctrl_party = texts.next().flatten();
        event.ani = texts.next().flatten();
        event.dnis = texts.next().flatten();
        event.first_transfer_home_location = texts.next().flatten();
        event.first_transfer_orig_dn = texts.next().flatten();
        event.last_transfer_home_location = texts.next().flatten();
        event.last_transfer_orig_dn = texts.next().flatten();
        (event.user_data, event.extensions, event.reason, event.is_links, event.other) = lists;
        event
    })
}

/// A generated log: an optional header (local start and offset), then events whose local
/// clocks move forward by under an hour each, so any two clocked lines of one log are less
/// than half a day apart (the reader's midnight rule); many logs still cross midnight.
#[derive(Debug, Clone)]
struct GeneratedLog {
    header: Option<(i64, i64)>,
    events: Vec<Step>,
}

/// One event of a generated log and how its line is written.
#[derive(Debug, Clone)]
struct Step {
    body: Event,
    kind: LineKind,
    has_clock: bool,
    advance: i64,
    version: Option<String>,
    bsync: bool,
    peer: Option<String>,
}

fn generated_log() -> impl Strategy<Value = GeneratedLog> {
    let header = option::of(
        (0_i64..20_000 * DAY, -720_i64..=840).prop_map(|(start, minutes)| (start, minutes * 60_000_000)),
    );
    let step = (
        event_body(),
        line_kind(),
        any::<bool>(),
        0_i64..DAY / 24,
        option::of("[0-9]\\.[0-9]\\.[0-9]{3}\\.[0-9]{2}"),
        any::<bool>(),
        option::of("[A-Za-z0-9()\\[\\]:._]{1,10}( [A-Za-z0-9:.]{1,8}){0,2}"),
    );
    let step = step.prop_map(|(body, kind, has_clock, advance, version, bsync, peer)| Step {
        body,
        kind,
        has_clock,
        advance,
        version,
        bsync,
        peer,
    });
    (header, vec(step, 1..12)).prop_map(|(header, events)| GeneratedLog { header, events })
}

/// Writes the generated log and returns its bytes and the events a reader must give back.
fn write_log(log: &GeneratedLog) -> (Vec<u8>, Vec<Event>) {
    let mut writer = LogWriter::new(Vec::new());
    let (mut local, offset) = log.header.unwrap_or((12_000 * DAY, 0));
    if let Some((start, _)) = log.header {
        let date = LogDate::from_midnight_micros(start).expect("date in range");
        let utc_micros = start - offset;
        let utc = LocalTime {
            date: LogDate::from_midnight_micros(utc_micros.div_euclid(DAY) * DAY),
            micros_of_day: utc_micros.rem_euclid(DAY),
        };
        let header = Header {
            application_name: Some("GEN".to_string()),
            utc_time: Some(utc),
            local_time: Some(LocalTime { date: Some(date), micros_of_day: start.rem_euclid(DAY) }),
            ..Header::default()
        };
        writer.write_header(&header).expect("write to memory");
    }
    let mut expected = Vec::new();
    for Step { body, kind, has_clock, advance, version, bsync, peer } in &log.events {
        local += advance;
        let mut event = body.clone();
        let clock_of_day = LocalTime { date: None, micros_of_day: local.rem_euclid(DAY) };
        let dated =
            LocalTime { date: LogDate::from_midnight_micros(local.div_euclid(DAY) * DAY), ..clock_of_day };
        let place = |event: &mut Event| {
            if log.header.is_some() {
                event.log_time = Some(Timestamp(local - offset));
            }
        };
        match kind {
            LineKind::Logged(context) => {
                event.context = context.clone();
                event.clock = Some(clock_of_day);
                event.server_version = version.as_deref().map(Text::from);
                event.bsync = *bsync;
                place(&mut event);
            }
            LineKind::RequestReceived => {
                event.context = Context::RequestReceived;
                event.peer = peer.as_deref().map(Text::from);
                if *has_clock {
                    event.clock = Some(dated);
                    place(&mut event);
                }
            }
            LineKind::RequestSent => {
                event.context = Context::RequestSent;
                event.peer = Some(Text::from(peer.as_deref().unwrap_or("65200(TServer)")));
                if *has_clock {
                    event.clock = Some(clock_of_day);
                    event.server_version = version.as_deref().map(Text::from);
                    event.bsync = *bsync;
                    place(&mut event);
                }
            }
            LineKind::Bare => event.context = Context::Unspecified,
        }
        let line = writer.write_event(&event).expect("write to memory");
        event.file = Some(Arc::from("gen.log"));
        event.line = Some(line);
        expected.push(event);
    }
    (writer.into_inner(), expected)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn log_form_reads_back_identical(log in generated_log()) {
        let (bytes, expected) = write_log(&log);
        let options = ReaderOptions { site: Some("S1".into()), file: Some(Arc::from("gen.log")), ..ReaderOptions::default() };
        let mut reader = LogReader::new(&bytes[..], options);
        let events: Vec<Event> = reader.by_ref().map(|event| event.expect("memory read")).collect();
        let text = String::from_utf8_lossy(&bytes);
        let unplaced_clocks = log.header.is_none() && expected.iter().any(|event| event.clock.is_some());
        prop_assert_eq!(reader.stats().problem_count(), u64::from(unplaced_clocks), "problems {:?} in\n{}", reader.take_problems(), text);
        prop_assert_eq!(events, expected, "log:\n{}", text);
    }

    #[test]
    fn json_form_reads_back_identical(mut event in event_body(), kind in line_kind(), incomplete in any::<bool>(), line in option::of(1_u64..u64::MAX), sip_layer in any::<bool>()) {
        if let LineKind::Logged(context) = kind {
            event.context = context;
        }
        event.incomplete = incomplete;
        if sip_layer {
            event.provenance = EventProvenance::SipLayer;
        }
        event.line = line;
        event.file = line.map(|_| Arc::from("some/where.log"));
        event.clock = Some(LocalTime { date: None, micros_of_day: 1_234_500 });
        event.log_time = Some(Timestamp(1_351_521_660_540_480));
        let mut bytes = Vec::new();
        write_json_line(&mut bytes, &event).expect("write to memory");
        let text = String::from_utf8(bytes).expect("JSON is UTF-8");
        prop_assert!(text.ends_with('\n') && text.matches('\n').count() == 1, "one line: {}", text);
        prop_assert_eq!(event_from_json(&text), Ok(event));
    }
}
