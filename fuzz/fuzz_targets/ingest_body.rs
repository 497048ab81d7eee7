//! Fuzzes the HTTP ingest bodies (`POST /v1/events`, `POST /v1/media`): any UTF-8 text gives
//! events or a 400 naming a line, never a panic; every event taken reads back the same from
//! the JSON it is stored as; a media body gives files or line-numbered errors.
#![no_main]

use callstitch_server::api::parse_events;
use callstitch_tlib::json::{event_from_json, write_json_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_events(text) {
        Ok(events) => {
            assert!(!events.is_empty(), "an accepted body has events");
            for event in events {
                let mut json = Vec::new();
                write_json_line(&mut json, &event).expect("an event taken serialises");
                let stored = String::from_utf8(json).expect("JSON is UTF-8");
                assert_eq!(event_from_json(&stored).as_ref(), Ok(&event), "stored as {stored}");
            }
        }
        Err(error) => {
            assert_eq!(error.status.as_u16(), 400, "{error:?}");
            let lines = text.lines().count() as u64;
            assert!(error.line.is_none_or(|line| (1..=lines).contains(&line)), "{error:?}");
        }
    }
    let feed = callstitch_recording::read_feed(data).expect("UTF-8 text reads");
    let lines = text.lines().count() as u64;
    assert!(feed.errors.iter().all(|error| (1..=lines).contains(&error.line())));
});
