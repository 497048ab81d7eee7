//! Fuzzes the log reader: any bytes must be read to the end without a panic, with a small
//! line limit and small reads so that buffer refills and long-line skipping are exercised;
//! every event it gives must survive a JSON round trip.
#![no_main]

use std::io::Read;

use callstitch_tlib::json::{event_from_json, write_json_line};
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use libfuzzer_sys::fuzz_target;

/// Hands out the input a few bytes at a time, as a slow pipe would.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let count = self.data.len().min(buf.len()).min(self.step);
        buf[..count].copy_from_slice(&self.data[..count]);
        self.data = &self.data[count..];
        Ok(count)
    }
}

fuzz_target!(|data: &[u8]| {
    let step = data.first().map_or(7, |byte| usize::from(*byte % 61) + 1);
    let options = ReaderOptions { max_line_bytes: 4096, max_kept_problems: 64, ..ReaderOptions::default() };
    let mut reader = LogReader::new(Trickle { data, step }, options);
    let mut events = 0_u64;
    while let Some(event) = reader.next_event().expect("reading memory cannot fail") {
        events += 1;
        let mut json = Vec::new();
        write_json_line(&mut json, &event).expect("an event read from a log serialises");
        let text = String::from_utf8(json).expect("JSON is UTF-8");
        assert_eq!(event_from_json(&text).as_ref(), Ok(&event), "JSON round trip of {text}");
    }
    let stats = reader.stats();
    assert_eq!(stats.events, events);
    assert_eq!(stats.bytes, data.len() as u64, "every byte is accounted for");
});
