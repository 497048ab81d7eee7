//! Fuzzes the reading of compressed logs: any bytes, behind a gzip or a zstd magic number or
//! none, must be decompressed and read to the end without a panic; a damaged archive is an
//! error (the reader stops there), never a crash.
#![no_main]

use std::io::Read;

use callstitch_tlib::compressed::sniff_and_decompress;
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use libfuzzer_sys::fuzz_target;

const MAGICS: [&[u8]; 3] = [&[0x1f, 0x8b, 0x08, 0x00], &[0x28, 0xb5, 0x2f, 0xfd], &[]];

fuzz_target!(|data: &[u8]| {
    let (first, rest) = data.split_first().unwrap_or((&0, &[]));
    let mut input = MAGICS[usize::from(*first) % MAGICS.len()].to_vec();
    input.extend_from_slice(rest);
    let Ok((mut decoded, _)) = sniff_and_decompress(std::io::Cursor::new(input)) else { return };
    // Never more than 16 MiB of log out of a small input (a decompression bomb is bounded by
    // the reader's streaming, here by the take).
    let bounded = (&mut decoded).take(16 << 20);
    let options = ReaderOptions { max_line_bytes: 4096, max_kept_problems: 64, ..ReaderOptions::default() };
    let mut reader = LogReader::new(bounded, options);
    while let Ok(Some(_event)) = reader.next_event() {}
});
