//! Fuzzes the JSON-lines reader: any bytes give events or line-numbered errors, never a panic.
#![no_main]

use callstitch_tlib::json::JsonLinesReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let reader = JsonLinesReader::new(data, None);
    for line in reader {
        let _ = line.expect("reading memory cannot fail");
    }
});
