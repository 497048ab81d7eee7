//! The acceptance example: the seed's two-site log (fixtures/seed-islink) parses into exactly
//! the four EventCallDataChanged events of seed 000, with their ConnIDs, CallUUIDs, UTC times
//! and typed Inter-Site Links.

use std::path::PathBuf;

use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use callstitch_tlib::{ConnId, Context, Event, LinkRole, Message};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink").join(name)
}

fn read(name: &str) -> (Vec<Event>, u64) {
    let mut reader = LogReader::open(&fixture(name), ReaderOptions::default()).expect("fixture opens");
    let events: Vec<Event> = reader.by_ref().map(|event| event.expect("no I/O error")).collect();
    (events, reader.stats().problem_count())
}

fn links(event: &Event) -> Vec<(&str, &str, LinkRole)> {
    event
        .is_links
        .as_ref()
        .expect("the event has an ISLinkList")
        .iter()
        .map(|link| {
            (
                link.id.as_str(),
                link.location_name.as_deref().expect("location-name"),
                link.direction_role.clone().expect("direction-role"),
            )
        })
        .collect()
}

#[test]
fn tserver2_gives_the_departure_and_the_return() {
    let (events, problems) = read("Tserver2.log");
    assert_eq!(problems, 0);
    assert_eq!(events.len(), 2);
    for event in &events {
        assert_eq!(event.message, Message::EventCallDataChanged);
        assert_eq!(event.site, "Tserver2", "site from the header's Application name");
        assert_eq!(event.context, Context::DistributeCallPartyEvent);
        assert_eq!(event.conn_id, Some(ConnId(0x009a021843038407)));
        assert!(!event.incomplete);
    }
    let departure = &events[0];
    assert_eq!(departure.line, Some(7));
    assert_eq!(departure.seq, Some(0x57726));
    assert_eq!(departure.call_uuid.as_ref().unwrap().as_str(), "00RP30KH7088L1IC08GB82LAES000317");
    assert_eq!(departure.timestamp.unwrap().to_string(), "2012-10-29T14:41:00.540480Z");
    assert_eq!(departure.log_time.unwrap().to_string(), "2012-10-29T14:41:00.540400Z");
    assert_eq!(departure.first_transfer_conn_id, Some(ConnId(0x009a021843038407)));
    assert_eq!(departure.last_transfer_conn_id, Some(ConnId(0x009a021843038407)));
    assert_eq!(
        links(departure),
        vec![("00RP30KH7088L1IC08GB82LAES000316", "SIPServer1@SIP_Switch1", LinkRole::Source)]
    );

    let back = &events[1];
    assert_eq!(back.seq, Some(0x5775c));
    assert_eq!(back.call_uuid.as_ref().unwrap().as_str(), "00RP30KH7088L1IC08GB82LAES00031D");
    assert_eq!(back.timestamp.unwrap().to_string(), "2012-10-29T14:41:02.967460Z");
    assert_eq!(
        links(back),
        vec![("00EBGH4GK488LFQD2CGB02LAES0007J5", "SIPServer1@SIP_Switch1", LinkRole::Target)]
    );
}

#[test]
fn sipserver1_gives_the_arrival_and_the_second_hop_with_two_links() {
    let (events, problems) = read("SIPServer1.log");
    assert_eq!(problems, 0);
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|event| event.site == "SIPServer1"));
    let arrival = &events[0];
    assert_eq!(arrival.seq, Some(0x2d478));
    assert_eq!(arrival.call_uuid.as_ref().unwrap().as_str(), "01AE904GK088LFQD2CGB02LAES0000EP");
    assert_eq!(arrival.timestamp.unwrap().to_string(), "2012-10-29T14:41:00.495558Z");
    assert_eq!(arrival.log_time.unwrap().to_string(), "2012-10-29T14:41:00.495500Z");
    assert_eq!(
        links(arrival),
        vec![("00RP30KH7088L1IC08GB82LAES000316", "Tserver2@Avaya_Switch1", LinkRole::Target)]
    );

    let onward = &events[1];
    assert_eq!(onward.seq, Some(0x2d4c3));
    assert_eq!(onward.timestamp.unwrap().to_string(), "2012-10-29T14:41:03.546558Z");
    assert_eq!(
        links(onward),
        vec![
            ("00RP30KH7088L1IC08GB82LAES000316", "Tserver2@Avaya_Switch1", LinkRole::Target),
            ("00EBGH4GK488LFQD2CGB02LAES0007J5", "Tserver2@Avaya_Switch1", LinkRole::Source),
        ]
    );
}

#[test]
fn site_name_given_by_the_caller_wins_over_the_header() {
    let options = ReaderOptions { site: Some("TS2".into()), ..ReaderOptions::default() };
    let events: Vec<Event> =
        LogReader::open(&fixture("Tserver2.log"), options).unwrap().map(|event| event.unwrap()).collect();
    assert!(events.iter().all(|event| event.site == "TS2"));
}
