//! Fuzzes the SIP-layer reader: any bytes must be read to the end without a panic, with a
//! small line limit; every byte and event is accounted for, every event it gives is marked
//! `sip-layer`, survives a JSON round trip, and any SIP end it carries reads back typed. The
//! format detection must give a verdict for any head.
#![no_main]

use callstitch_tlib::detect::detect;
use callstitch_tlib::json::{event_from_json, write_json_line};
use callstitch_tlib::siplog::SipLogReader;
use callstitch_tlib::tlog::ReaderOptions;
use callstitch_tlib::EventProvenance;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = detect(data, true);
    let options = ReaderOptions { max_line_bytes: 4096, max_kept_problems: 64, ..ReaderOptions::default() };
    let mut reader = SipLogReader::new(data, options);
    let mut events = 0_u64;
    while let Some(event) = reader.next_event().expect("reading memory cannot fail") {
        events += 1;
        assert_eq!(event.provenance, EventProvenance::SipLayer);
        let mut json = Vec::new();
        write_json_line(&mut json, &event).expect("an event read from a log serialises");
        let text = String::from_utf8(json).expect("JSON is UTF-8");
        let back = event_from_json(&text).expect("reads back");
        assert_eq!(back, event, "JSON round trip of {text}");
        assert_eq!(back.sip_end(), event.sip_end());
    }
    let stats = reader.stats();
    assert_eq!(stats.events, events);
    assert_eq!(stats.bytes, data.len() as u64, "every byte is accounted for");
});
