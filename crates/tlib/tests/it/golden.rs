//! Golden tests of the log reader: one per value shape, line shape and kind of noise of
//! tlog-format.md, each asserting the exact event (or problem) the reader must produce.

use callstitch_tlib::tlog::{LogReader, ParseStats, Problem, ProblemKind, ReaderOptions};
use callstitch_tlib::{
    CallState, CallType, CallUuid, ConnId, Context, DnRole, Event, IsLink, KvList, LinkRole, LocalTime,
    LogDate, Message, PartyState, RawAttribute, Text, Timestamp, Value,
};

const HEADER: &str = "Application name: TS1\nApplication type: TServer (1)\nHost name: ts-01\n\
UTC time:         2026-02-02T08:00:00.000\nLocal time:       2026-02-02T13:30:00.000\n\n";

struct Read {
    events: Vec<Event>,
    stats: ParseStats,
    problems: Vec<Problem>,
}

fn read_bytes(input: &[u8]) -> Read {
    let options = ReaderOptions { file: Some("t.log".into()), ..ReaderOptions::default() };
    let mut reader = LogReader::new(input, options);
    let events = reader.by_ref().map(|event| event.expect("no I/O error")).collect();
    Read { events, stats: reader.stats().clone(), problems: reader.take_problems() }
}

fn read(input: &str) -> Read {
    read_bytes(input.as_bytes())
}

fn only_event(input: &str) -> Event {
    let read = read(input);
    assert_eq!(read.events.len(), 1, "events: {:#?}", read.events);
    read.events.into_iter().next().expect("one event")
}

/// The event every block of these tests starts from: `@13:31:00.1234 [0] 8.1.001.05
/// distribute_event: message <message>` on line `line` of t.log at site TS1.
fn base(message: Message, line: u64) -> Event {
    let mut event = Event::new(message, "TS1");
    event.file = Some("t.log".into());
    event.line = Some(line);
    event.context = Context::DistributeEvent;
    event.server_version = Some(Text::from("8.1.001.05"));
    event.clock = Some(LocalTime { date: None, micros_of_day: (13 * 3600 + 31 * 60) * 1_000_000 + 123_400 });
    event.log_time = Some(Timestamp::parse_rfc3339("2026-02-02T08:01:00.123400Z").unwrap());
    event
}

fn block(message: &str, attributes: &str) -> String {
    format!("{HEADER}@13:31:00.1234 [0] 8.1.001.05 distribute_event: message {message}\n{attributes}\n")
}

fn text(value: &str) -> Option<Text> {
    Some(Text::from(value))
}

fn raw(name: &str, value: Value) -> RawAttribute {
    RawAttribute { name: Text::from(name), value }
}

// --- value shapes ---------------------------------------------------------------------

#[test]
fn quoted_strings_including_the_empty_one() {
    let event = only_event(&block("EventRinging", "\tAttributeThisDN\t'7001'\n\tAttributeOtherDN\t''\n"));
    let mut expected = base(Message::EventRinging, 7);
    expected.this_dn = text("7001");
    expected.other_dn = text("");
    assert_eq!(event, expected);
}

#[test]
fn bare_decimals_are_enum_codes_and_unknown_codes_are_kept() {
    let event = only_event(&block(
        "EventRinging",
        "\tAttributeCallState\t22\n\tAttributeThisDNRole\t2\n\tAttributeOtherDNRole\t99\n\tAttributeCallType\t4\n\
         \tAttributeReferenceID\t4294967295\n\tAttributePartyState\t65548\n\tAttributeCallID\t12345\n",
    ));
    let mut expected = base(Message::EventRinging, 7);
    expected.call_state = Some(CallState::Redirected);
    expected.this_dn_role = Some(DnRole::Destination);
    expected.other_dn_role = Some(DnRole::Other(99));
    expected.call_type = Some(CallType::Consult);
    expected.reference_id = Some(4_294_967_295);
    expected.party_state = Some(PartyState(0x1000C));
    expected.other = vec![raw("AttributeCallID", Value::Int(12345))];
    assert_eq!(event, expected);
}

#[test]
fn conn_ids_sequence_numbers_and_time_stamps_are_hex() {
    let event = only_event(&block(
        "EventRinging",
        "\tAttributeEventSequenceNumber\t0000000000057726\n\tAttributeTimeStamp\t508e957c00083f40\n\
         \tAttributeConnID\t009a021843038407\n\tAttributePreviousConnID\t0000000000000000\n\
         \tAttributeTransferConnID\t009A021843038408\n",
    ));
    let mut expected = base(Message::EventRinging, 7);
    expected.seq = Some(0x57726);
    expected.timestamp = Some(Timestamp::parse_rfc3339("2012-10-29T14:41:00.540480Z").unwrap());
    expected.conn_id = Some(ConnId(0x009a021843038407));
    expected.previous_conn_id = Some(ConnId(0));
    expected.transfer_conn_id = Some(ConnId(0x009a021843038408));
    assert_eq!(event, expected);
    assert!(event.previous_conn_id.unwrap().is_null());
}

#[test]
fn key_value_lists_with_strings_numbers_and_nested_lists() {
    let event = only_event(&block(
        "EventReleased",
        "\tAttributeExtensions\t[54] 00 02 01 00..\n\t\t'ReleasingParty'\t'2 Remote'\n\t\t'AppearanceIndex'\t1\n\
         \tAttributeUserData\t[90] 00 03 00 00..\n\t\t'RRequestedSkills'(list)\n\
         \t\t'Case'\t(list) 'id'\t'C-1'\n\t\t\t\t\t'prio'\t5\n\t\t'Lang'\t'en'\n",
    ));
    let mut extensions = KvList::new();
    extensions.push("ReleasingParty", Value::Str(Text::from("2 Remote")));
    extensions.push("AppearanceIndex", Value::Int(1));
    let mut case = KvList::new();
    case.push("id", Value::Str(Text::from("C-1")));
    case.push("prio", Value::Int(5));
    let mut user_data = KvList::new();
    user_data.push("RRequestedSkills", Value::List(KvList::new()));
    user_data.push("Case", Value::List(case));
    user_data.push("Lang", Value::Str(Text::from("en")));
    let mut expected = base(Message::EventReleased, 7);
    expected.extensions = Some(extensions);
    expected.user_data = Some(user_data);
    assert_eq!(event, expected);
    assert_eq!(
        event.releasing_party().map(|(party, _)| party),
        Some(callstitch_tlib::ReleasingParty::Remote)
    );
}

#[test]
fn is_link_lists_become_typed_links() {
    let event = only_event(&block(
        "EventCallDataChanged",
        "\tAttributeISLinkList\t[214] 00 02 03 00..\n\
         \t\t'00RP30KH7088L1IC08GB82LAES000316'\t(list) 'location-name'\t'Tserver2@Avaya_Switch1'\n\
         \t\t\t\t\t'direction-role'\t'target'\n\
         \t\t'00EBGH4GK488LFQD2CGB02LAES0007J5'\t(list) 'location-name'\t'Tserver2@Avaya_Switch1'\n\
         \t\t\t\t\t'direction-role'\t'source'\n\t\t\t\t\t'state'\t1\n",
    ));
    let link = |id: &str, role: LinkRole| IsLink {
        id: Text::from(id),
        location_name: text("Tserver2@Avaya_Switch1"),
        direction_role: Some(role),
        extra: KvList::new(),
    };
    let mut second = link("00EBGH4GK488LFQD2CGB02LAES0007J5", LinkRole::Source);
    second.extra.push("state", Value::Int(1));
    let mut expected = base(Message::EventCallDataChanged, 7);
    expected.is_links = Some(vec![link("00RP30KH7088L1IC08GB82LAES000316", LinkRole::Target), second]);
    assert_eq!(event, expected);
}

#[test]
fn bare_words_and_unknown_attributes_are_kept_raw_in_order() {
    let event = only_event(&block(
        "EventUserEvent",
        "\tAttributeUserEvent\tEventQueued\n\tAttributeVendorThing\t'x'\n\tAttributeOdd\t007\n",
    ));
    let mut expected = base(Message::EventUserEvent, 7);
    expected.other = vec![
        raw("AttributeUserEvent", Value::Bare(Text::from("EventQueued"))),
        raw("AttributeVendorThing", Value::Str(Text::from("x"))),
        raw("AttributeOdd", Value::Bare(Text::from("007"))),
    ];
    assert_eq!(event, expected);
}

#[test]
fn a_typed_attribute_with_the_wrong_shape_is_kept_raw_and_reported() {
    let read = read(&block("EventRinging", "\tAttributeConnID\t'not-hex'\n\tAttributeThisDNRole\tDest\n"));
    let mut expected = base(Message::EventRinging, 7);
    expected.other = vec![
        raw("AttributeConnID", Value::Str(Text::from("not-hex"))),
        raw("AttributeThisDNRole", Value::Bare(Text::from("Dest"))),
    ];
    assert_eq!(read.events, vec![expected]);
    assert_eq!(read.stats.problems.get(&ProblemKind::BadValue), Some(&2));
    assert_eq!(read.problems[0].line, 8);
    assert_eq!(
        read.problems[0].to_string(),
        "t.log:8: bad-value: AttributeConnID value \"'not-hex'\" is not of its shape; kept raw"
    );
}

#[test]
fn a_repeated_typed_attribute_keeps_the_first_and_the_second_raw() {
    let read = read(&block("EventRinging", "\tAttributeThisDN\t'7001'\n\tAttributeThisDN\t'7002'\n"));
    let mut expected = base(Message::EventRinging, 7);
    expected.this_dn = text("7001");
    expected.other = vec![raw("AttributeThisDN", Value::Str(Text::from("7002")))];
    assert_eq!(read.events, vec![expected]);
    assert_eq!(read.stats.problems.get(&ProblemKind::DuplicateAttribute), Some(&1));
}

// --- line shapes --------------------------------------------------------------------

#[test]
fn header_gives_site_date_and_clock_offset() {
    let event = only_event(&block("EventRinging", ""));
    assert_eq!(event.site, "TS1");
    // 13:31:00.1234 local at UTC+05:30 is 08:01:00.1234 UTC.
    assert_eq!(event.log_time.unwrap().to_string(), "2026-02-02T08:01:00.123400Z");
}

#[test]
fn clocks_roll_over_midnight() {
    let input =
        "Application name: TS1\nUTC time: 2026-02-02T22:00:00.000\nLocal time: 2026-02-02T23:00:00.000\n\n\
                 @23:59:59.9000 [0] 8.1.001.05 distribute_event: message EventRinging\n\n\
                 @00:00:00.1000 [0] 8.1.001.05 distribute_event: message EventEstablished\n\n";
    let times: Vec<String> =
        read(input).events.iter().map(|event| event.log_time.unwrap().to_string()).collect();
    assert_eq!(times, ["2026-02-02T22:59:59.900000Z", "2026-02-02T23:00:00.100000Z"]);
}

#[test]
fn a_rotated_segment_header_resets_date_and_site() {
    let input = format!(
        "{HEADER}@13:31:00.1234 [0] 8.1.001.05 distribute_event: message EventRinging\n\n\
         Application name: TS1b\nUTC time: 2026-02-03T08:00:00.000\nLocal time: 2026-02-03T09:00:00.000\n\n\
         @09:00:01.0000 [0] 8.1.001.05 distribute_event: message EventReleased\n\n"
    );
    let events = read(&input).events;
    assert_eq!(events[1].site, "TS1b");
    assert_eq!(events[1].log_time.unwrap().to_string(), "2026-02-03T08:00:01.000000Z");
}

#[test]
fn every_context_of_event_lines() {
    let input = format!(
        "{HEADER}@13:31:00.1234 [0] 8.1.001.05 distribute call/party event: message EventCallCreated\n\n\
         @13:31:00.1234 [0] 8.1.001.05 send_to_client: message EventACK\n\n\
         @13:31:00.1234 [0] 8.1.001.05 some_other_place: message EventError\n\n\
         @13:31:00.1234 [0] 8.1.001.05 request to 65200(TServer) message RequestRouteCall\n\n"
    );
    let events = read(&input).events;
    let contexts: Vec<(Context, Option<&str>)> =
        events.iter().map(|event| (event.context.clone(), event.peer.as_deref())).collect();
    assert_eq!(
        contexts,
        vec![
            (Context::DistributeCallPartyEvent, None),
            (Context::SendToClient, None),
            (Context::Other(Text::from("some_other_place")), None),
            (Context::RequestSent, Some("65200(TServer)")),
        ]
    );
    assert_eq!(events[1].message.number(), Some(138));
}

#[test]
fn text_after_the_message_name_is_tolerated() {
    let event = only_event(&format!(
        "{HEADER}@13:31:00.1234 [0] 8.1.001.05 distribute_event: message EventRinging (extra)\n\n"
    ));
    assert_eq!(event.message, Message::EventRinging);
    assert_eq!(event.context, Context::DistributeEvent);
}

#[test]
fn a_received_request_takes_its_time_and_client_from_the_trace_line() {
    let input = format!(
        "{HEADER}2026-02-02T13:56:06.078 Trc 04541 RequestMakeCall received from [16] (0000000c WDE_1 10.0.0.5:51234)\n\
         message RequestMakeCall\n\tAttributeThisDN\t'7001'\n\tAttributeOtherDN\t'7002'\n\tAttributeReferenceID\t7\n\n"
    );
    let event = only_event(&input);
    let mut expected = Event::new(Message::RequestMakeCall, "TS1");
    expected.file = Some("t.log".into());
    expected.line = Some(8);
    expected.context = Context::RequestReceived;
    expected.peer = text("[16] (0000000c WDE_1 10.0.0.5:51234)");
    expected.clock = Some(LocalTime {
        date: Some(LogDate { year: 2026, month: 2, day: 2 }),
        micros_of_day: (13 * 3600 + 56 * 60 + 6) * 1_000_000 + 78_000,
    });
    expected.log_time = Some(Timestamp::parse_rfc3339("2026-02-02T08:26:06.078Z").unwrap());
    expected.this_dn = text("7001");
    expected.other_dn = text("7002");
    expected.reference_id = Some(7);
    assert_eq!(event, expected);
}

#[test]
fn a_router_request_line_without_a_clock() {
    let event = only_event(
        "request to 65200(TServer) message RequestDistributeEvent\n\tAttributeUserEvent\tEventQueued\n\n",
    );
    assert_eq!(event.message, Message::RequestDistributeEvent);
    assert_eq!(event.context, Context::RequestSent);
    assert_eq!(event.peer.as_deref(), Some("65200(TServer)"));
    assert_eq!(event.other, vec![raw("AttributeUserEvent", Value::Bare(Text::from("EventQueued")))]);
}

#[test]
fn bsync_blocks_are_flagged_as_backup_copies() {
    let input = format!("{HEADER}@13:31:00.1234 [BSYNC] 8.1.001.05 distribute_event: message EventRinging\n\tAttributeThisDN\t'7001'\n\n");
    let read = read(&input);
    let mut expected = base(Message::EventRinging, 7);
    expected.bsync = true;
    expected.this_dn = text("7001");
    assert_eq!(read.events, vec![expected]);
    assert_eq!(read.stats.bsync_events, 1);
}

#[test]
fn unknown_message_names_are_kept() {
    let event = only_event(&block("EventVendorSpecial", "\tAttributeThisDN\t'1'\n"));
    assert_eq!(event.message, Message::Other(Text::from("EventVendorSpecial")));
}

#[test]
fn a_block_ends_at_a_line_that_does_not_start_with_white_space() {
    let input = format!(
        "{HEADER}@13:31:00.1234 [0] 8.1.001.05 distribute_event: message EventRinging\n\tAttributeThisDN\t'7001'\n\
         @13:31:00.1234 [0] 8.1.001.05 distribute_event: message EventEstablished\n\tAttributeThisDN\t'7001'\n"
    );
    let read = read(&input);
    let lines: Vec<(Message, Option<u64>, bool)> =
        read.events.iter().map(|event| (event.message.clone(), event.line, event.incomplete)).collect();
    assert_eq!(
        lines,
        vec![(Message::EventRinging, Some(7), false), (Message::EventEstablished, Some(9), false)]
    );
}

// --- noise ------------------------------------------------------------------------------

#[test]
fn crlf_line_endings() {
    let unix = block("EventRinging", "\tAttributeThisDN\t'7001'\n\tAttributeConnID\t009a021843038407\n");
    let windows = unix.replace('\n', "\r\n");
    let read = read(&windows);
    assert_eq!(read.events, only_event_vec(&unix));
    assert_eq!(read.stats.problem_count(), 0);
}

fn only_event_vec(input: &str) -> Vec<Event> {
    vec![only_event(input)]
}

#[test]
fn a_byte_order_mark_at_the_start() {
    let plain = block("EventRinging", "\tAttributeThisDN\t'7001'\n");
    let with_bom = format!("\u{feff}{plain}");
    let read = read(&with_bom);
    assert_eq!(read.events, only_event_vec(&plain));
    assert_eq!(read.events[0].site, "TS1", "the header is still found after the BOM");
}

#[test]
fn bytes_that_are_not_utf8_are_kept_lossily_and_reported() {
    let mut input = block("EventRinging", "").into_bytes();
    input.truncate(input.len() - 1);
    input.extend_from_slice(b"\tAttributeThisDN\t'70\xff1'\n\n");
    let read = read_bytes(&input);
    let mut expected = base(Message::EventRinging, 7);
    expected.this_dn = text("70\u{fffd}1");
    assert_eq!(read.events, vec![expected]);
    assert_eq!(read.stats.problems.get(&ProblemKind::InvalidUtf8), Some(&1));
}

#[test]
fn typographic_quotes_including_a_lone_one_for_the_empty_string() {
    let event = only_event(&block(
        "EventReleased",
        "\tAttributeThisDN\t‘7001’\n\tAttributeOtherDN\t”\n\
         \tAttributeExtensions\t[54] 00 01 01 00..\n\t\t‘ReleasingParty’\t“2 Remote”\n",
    ));
    let mut extensions = KvList::new();
    extensions.push("ReleasingParty", Value::Str(Text::from("2 Remote")));
    let mut expected = base(Message::EventReleased, 7);
    expected.this_dn = text("7001");
    expected.other_dn = text("");
    expected.extensions = Some(extensions);
    assert_eq!(event, expected);
}

#[test]
fn attributes_separated_by_spaces_instead_of_tabs() {
    let tabs = block("EventCallDataChanged", "\tAttributeConnID\t009a021843038407\n\tAttributeISLinkList\t[108] 00 01 03 00..\n\t\t'L1'\t(list) 'location-name'\t'X@Y'\n\t\t\t\t\t'direction-role'\t'source'\n");
    let spaces = tabs.replace('\t', "    ");
    assert_eq!(read(&spaces).events, only_event_vec(&tabs));
}

#[test]
fn interleaved_foreign_lines_are_skipped_and_counted() {
    let input = format!(
        "{HEADER}13:31:00.000: SIPCM: id=1\n2026-02-02T13:31:00.000 Trc 04110 Option 'x' has been set\n\
         $+TLIB:CTI:Unknown:0:0\nSIPCONN(1): sending INVITE sip:7001@10.0.0.1\n\
         @13:31:00.1234 [0] 8.1.001.05 distribute_event: message EventRinging\n\tAttributeThisDN\t'7001'\n\n\
         13:31:00.200: message from the switch\n@13:31:00.2000 [0] some trace without a message\n"
    );
    let read = read(&input);
    let mut expected = base(Message::EventRinging, 11);
    expected.this_dn = text("7001");
    assert_eq!(read.events, vec![expected]);
    assert_eq!(read.stats.foreign_lines, 6);
    assert_eq!(read.stats.problem_count(), 0);
}

#[test]
fn a_block_cut_at_the_end_of_the_file_is_marked_incomplete() {
    let input = format!("{HEADER}@13:31:00.1234 [0] 8.1.001.05 distribute_event: message EventRinging\n\tAttributeThisDN\t'7001'\n\tAttributeCallUUID\t'00RP30KH70");
    let read = read(&input);
    let mut expected = base(Message::EventRinging, 7);
    expected.this_dn = text("7001");
    expected.incomplete = true;
    expected.other = vec![raw("AttributeCallUUID", Value::Bare(Text::from("'00RP30KH70")))];
    assert_eq!(read.events, vec![expected]);
    assert_eq!(read.stats.incomplete_events, 1);
    assert_eq!(read.stats.problems.get(&ProblemKind::CutBlock), Some(&1));
}

#[test]
fn a_block_cut_in_the_middle_by_a_crash_is_marked_incomplete_and_the_next_one_read() {
    let input = format!(
        "{HEADER}@13:31:00.1234 [0] 8.1.001.05 distribute_event: message EventRinging\n\tAttributeCallUUID\t'00RP30KH\n\
         @13:31:00.1234 [0] 8.1.001.05 distribute_event: message EventEstablished\n\tAttributeThisDN\t'7001'\n\n"
    );
    let read = read(&input);
    assert_eq!(read.events.len(), 2);
    assert!(read.events[0].incomplete);
    assert!(!read.events[1].incomplete);
    assert_eq!(read.events[1].this_dn.as_deref(), Some("7001"));
}

#[test]
fn a_list_shorter_than_its_header_says_is_a_cut_block() {
    let read = read(&block(
        "EventReleased",
        "\tAttributeExtensions\t[54] 00 02 01 00..\n\t\t'ReleasingParty'\t'1 Local'\n",
    ));
    assert!(read.events[0].incomplete);
    assert_eq!(
        read.events[0].releasing_party().map(|(party, _)| party),
        Some(callstitch_tlib::ReleasingParty::Local)
    );
}

#[test]
fn a_last_line_without_newline_that_is_whole_still_marks_the_cut() {
    let read = read(&format!("{HEADER}@13:31:00.1234 [0] 8.1.001.05 distribute_event: message EventRinging\n\tAttributeThisDN\t'7001'"));
    assert_eq!(read.events[0].this_dn.as_deref(), Some("7001"));
    assert!(read.events[0].incomplete, "the file ended inside the block");
}

#[test]
fn very_long_user_data_with_hundreds_of_keys() {
    let mut pairs = String::new();
    for index in 0..500 {
        pairs.push_str(&format!("\t\t'key{index}'\t'{}'\n", "v".repeat(index % 40)));
    }
    let event = only_event(&block(
        "EventAttachedDataChanged",
        &format!("\tAttributeUserData\t[99999] 01 f4 00 00..\n{pairs}"),
    ));
    let user_data = event.user_data.expect("user data");
    assert_eq!(user_data.len(), 500);
    assert_eq!(user_data.get("key499"), Some(&Value::Str(Text::from("v".repeat(499 % 40)))));
    assert!(!event.incomplete, "500 pairs declared (01 f4), 500 read");
}

#[test]
fn attribute_lines_outside_any_block_are_reported_as_stray() {
    let read = read(&format!("{HEADER}\tAttributeThisDN\t'7001'\n"));
    assert!(read.events.is_empty());
    assert_eq!(read.stats.problems.get(&ProblemKind::StrayLine), Some(&1));
}

#[test]
fn a_file_without_header_keeps_clocks_and_says_they_are_not_placed() {
    let read = read(
        "@09:41:00.5404 [0] 8.1.001.05 distribute_event: message EventRinging\n\tAttributeCallUUID\t'U1'\n\n",
    );
    assert_eq!(read.events[0].site, "unknown");
    assert_eq!(read.events[0].clock.unwrap().clock_text(), "09:41:00.5404");
    assert_eq!(read.events[0].log_time, None);
    assert_eq!(read.events[0].call_uuid, Some(CallUuid::new("U1")));
    assert_eq!(read.stats.problems.get(&ProblemKind::NoHeaderClock), Some(&1));
}

#[test]
fn empty_input_and_lines_of_nothing() {
    assert!(read("").events.is_empty());
    let read = read_bytes(b"\0\0\0\n\n\0\n");
    assert!(read.events.is_empty());
    assert_eq!(read.stats.foreign_lines, 2);
}

#[test]
fn a_line_over_the_limit_is_skipped_with_bounded_memory() {
    let mut input = block("EventRinging", "\tAttributeThisDN\t'7001'\n").into_bytes();
    input.extend(std::iter::repeat_n(b'x', 3_000_000));
    input.extend_from_slice(b"\n@13:31:01.0000 [0] 8.1.001.05 distribute_event: message EventReleased\n\n");
    let options = ReaderOptions { max_line_bytes: 1 << 20, ..ReaderOptions::default() };
    let mut reader = LogReader::new(&input[..], options);
    let events: Vec<Event> = reader.by_ref().map(|event| event.unwrap()).collect();
    assert_eq!(
        events.iter().map(|event| event.message.clone()).collect::<Vec<_>>(),
        [Message::EventRinging, Message::EventReleased]
    );
    assert_eq!(reader.stats().problems.get(&ProblemKind::LongLine), Some(&1));
    assert_eq!(reader.stats().bytes, input.len() as u64);
}

#[test]
fn a_header_at_the_end_of_time_gives_no_unprintable_log_times() {
    let input =
        "Application name: T\nUTC time: 9999-12-31T10:00:00.000\nLocal time: 9999-12-31T23:00:00.000\n\n\
                 @23:59:59.0000 [0] 8.1 distribute_event: message EventRinging\n\n\
                 @00:00:01.0000 [0] 8.1 distribute_event: message EventRinging\n\n";
    let events = read(input).events;
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|event| serde_json::to_string(event).is_ok()));
    assert_eq!(events[1].log_time, None, "past 9999-12-31 cannot be printed, so it is not made");
}
