//! [`SipLogReader`]: lines in, SIP-layer events out.
//!
//! It reads one line at a time through a buffered reader (a line longer than the limit is
//! skipped without being held), reads the header for the site, date and clock offset, puts
//! each clock in UTC, gathers SIP messages (start line and headers; the body is skipped) and
//! hands every clocked line and message to the call tracker.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::detect::is_tlib_record;
use crate::event::Event;
use crate::ids::LocalTime;
use crate::siplog::line::{classify, split_clock, SipLine};
use crate::siplog::message::MessageBuilder;
use crate::siplog::track::{Stamp, Tracker};
use crate::siplog::Sink;
use crate::tlog::clock::LogClock;
use crate::tlog::header::{split_header_line, take_header_line, Header};
use crate::tlog::problem::{ParseStats, Problem, ProblemKind};
use crate::tlog::ReaderOptions;
use crate::Text;

const READ_BUFFER: usize = 1 << 20;

/// A streaming reader of the SIP layer of one SIP Server log. See the module documentation.
pub struct SipLogReader<R> {
    input: BufReader<R>,
    buf: Vec<u8>,
    options: ReaderOptions,
    stem: Option<String>,
    header: Option<Header>,
    clock: LogClock,
    tracker: Tracker,
    /// The SIP message being read, with the number of its lines so far.
    message: Option<(MessageBuilder, u64)>,
    sink: Sink,
    line_no: u64,
    ended: bool,
}

impl SipLogReader<File> {
    /// Opens a log file. The file name (as given) is what events and problems report.
    pub fn open(path: &Path, mut options: ReaderOptions) -> io::Result<SipLogReader<File>> {
        let file = File::open(path)?;
        if options.file.is_none() {
            options.file = Some(std::sync::Arc::from(path.display().to_string()));
        }
        let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned());
        Ok(SipLogReader::with_stem(file, options, stem))
    }
}

impl<R: Read> SipLogReader<R> {
    /// Reads from any byte stream.
    pub fn new(source: R, options: ReaderOptions) -> SipLogReader<R> {
        SipLogReader::with_stem(source, options, None)
    }

    fn with_stem(source: R, options: ReaderOptions, stem: Option<String>) -> SipLogReader<R> {
        let site = site_of(&options, None, stem.as_deref());
        let sink = Sink::new(site, options.file.clone(), options.max_kept_problems);
        SipLogReader {
            input: BufReader::with_capacity(READ_BUFFER, source),
            buf: Vec::new(),
            options,
            stem,
            header: None,
            clock: LogClock::default(),
            tracker: Tracker::default(),
            message: None,
            sink,
            line_no: 0,
            ended: false,
        }
    }

    /// The next event, or `None` at the end of the input.
    pub fn next_event(&mut self) -> io::Result<Option<Event>> {
        loop {
            if let Some(event) = self.sink.events.pop_front() {
                return Ok(Some(event));
            }
            if self.ended {
                return Ok(None);
            }
            if !self.read_line()? {
                self.finish_message();
                self.tracker.finish(&mut self.sink);
                self.ended = true;
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &ParseStats {
        &self.sink.stats
    }

    /// The problems recorded since the last call, in input order.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.sink.problems)
    }

    /// The last header seen, if any.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.sink.stats.bytes
    }

    /// Reads and handles one line; false at the end of the input.
    fn read_line(&mut self) -> io::Result<bool> {
        self.buf.clear();
        let limit = self.options.max_line_bytes as u64 + 1;
        let count = (&mut self.input).take(limit).read_until(b'\n', &mut self.buf)?;
        if count == 0 {
            return Ok(false);
        }
        self.line_no += 1;
        self.sink.stats.lines += 1;
        self.sink.stats.bytes += count as u64;
        if self.buf.last() != Some(&b'\n') && count as u64 == limit {
            let skipped = count as u64 + self.skip_rest_of_line()?;
            self.sink.problem_at(
                self.line_no,
                ProblemKind::LongLine,
                format!("line of {skipped} bytes skipped (limit {})", self.options.max_line_bytes),
            );
            return Ok(true);
        }
        let buf = std::mem::take(&mut self.buf);
        self.feed(clean(&buf));
        self.buf = buf;
        if std::mem::take(&mut self.sink.lossy) {
            self.sink.problem_at(
                self.line_no,
                ProblemKind::InvalidUtf8,
                "bytes that are not UTF-8, kept as U+FFFD".to_string(),
            );
        }
        Ok(true)
    }

    fn skip_rest_of_line(&mut self) -> io::Result<u64> {
        let mut skipped = 0;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                break;
            }
            let (used, done) = match memchr::memchr(b'\n', available) {
                Some(newline) => (newline + 1, true),
                None => (available.len(), false),
            };
            self.input.consume(used);
            skipped += used as u64;
            if done {
                break;
            }
        }
        self.sink.stats.bytes += skipped;
        Ok(skipped)
    }

    fn feed(&mut self, line: &[u8]) {
        let clocked = split_clock(line);
        if let Some((builder, lines)) = self.message.as_mut() {
            if clocked.is_none() {
                builder.feed(line);
                *lines += 1;
                return;
            }
            self.finish_message();
        }
        if line.trim_ascii().is_empty() {
            return;
        }
        if let Some((clock, rest)) = clocked {
            self.clocked_line(clock, rest);
            return;
        }
        if line.first().is_some_and(u8::is_ascii_uppercase) {
            if let Some((key, value)) = split_header_line(line) {
                self.header_line(key, value);
                return;
            }
        }
        if is_tlib_record(line) {
            self.sink.problem_at(
                self.line_no,
                ProblemKind::TlibRecordSkipped,
                "a T-Library event record in a file read as SIP layer only; skipped".to_string(),
            );
            return;
        }
        if let Some(dated) = line.get(..23).and_then(LocalTime::parse_iso) {
            self.clock.place_dated(dated);
        }
        self.sink.stats.foreign_lines += 1;
    }

    fn clocked_line(&mut self, clock: i64, rest: &[u8]) {
        let log_time = self.clock.place(clock);
        let stamp = Stamp { line: self.line_no, clock, log_time };
        match classify(rest) {
            SipLine::MessageStart { outgoing, .. } => {
                self.message = Some((MessageBuilder::new(outgoing, self.line_no, clock), 1));
            }
            line => {
                if !self.tracker.line(line, stamp, &mut self.sink) {
                    self.sink.stats.foreign_lines += 1;
                }
            }
        }
    }

    fn finish_message(&mut self) {
        let Some((builder, lines)) = self.message.take() else { return };
        if builder.lossy {
            let line = builder.message.line;
            self.sink.problem_at(
                line,
                ProblemKind::InvalidUtf8,
                "SIP message bytes that are not UTF-8, kept as U+FFFD".to_string(),
            );
        }
        if !self.tracker.message(builder.finish(), &mut self.sink) {
            self.sink.stats.foreign_lines += lines;
        }
    }

    fn header_line(&mut self, key: &'static str, value: &[u8]) {
        let line = take_header_line(&mut self.header, key, value);
        if line.begins {
            self.clock = LogClock::default();
        }
        if !line.time_ok {
            self.sink.problem_at(
                self.line_no,
                ProblemKind::BadHeader,
                format!("{key}: {:?} is not YYYY-MM-DDTHH:MM:SS.fff", String::from_utf8_lossy(value)),
            );
        }
        self.sink.site = site_of(&self.options, self.header.as_ref(), self.stem.as_deref());
        if let Some(header) = &self.header {
            self.clock.set_from_header(header);
        }
    }
}

impl<R: Read> Iterator for SipLogReader<R> {
    type Item = io::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// The site events get: the name given, else the header's Application name, else the file
/// stem, else `unknown`.
fn site_of(options: &ReaderOptions, header: Option<&Header>, stem: Option<&str>) -> Text {
    if let Some(site) = &options.site {
        return site.clone();
    }
    let from_header = header.and_then(|header| header.application_name.as_deref());
    Text::from(from_header.or(stem).unwrap_or("unknown"))
}

/// Drops the newline, a trailing `\r` and a leading byte-order mark.
fn clean(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;
    use std::sync::Arc;

    fn read(log: &str) -> (Vec<Event>, SipLogReader<&[u8]>) {
        let options = ReaderOptions { file: Some(Arc::from("t.log")), ..ReaderOptions::default() };
        let mut reader = SipLogReader::new(log.as_bytes(), options);
        let events = reader.by_ref().map(|event| event.expect("memory read")).collect();
        (events, reader)
    }

    #[test]
    fn an_empty_input_gives_nothing() {
        let (events, reader) = read("");
        assert!(events.is_empty());
        assert_eq!(reader.stats().lines, 0);
    }

    #[test]
    fn clocks_are_placed_in_utc_from_the_header_and_roll_over_midnight() {
        let log = "Application name: SIP_P\n\
                   UTC time:         2026-02-02T18:24:59.852\n\
                   Local time:       2026-02-02T23:54:59.852\n\
                   23:59:59.000: DialPlan: clear flag 0x100, callId 7\n\
                   23:59:59.001: $*:SIP:CTI:CALL_CREATED:1\n\
                   23:59:59.002: SIPCALL(7): add party '1003'\n\
                   23:59:59.003: $*:SIP:CTI:PARTY_CREATED:2\n\
                   00:00:01.000: CID:CUUID>abc@host:UUID0000000000000000000000000001:\n";
        let (events, reader) = read(log);
        assert_eq!(events.len(), 2, "{:?}", reader.stats());
        assert_eq!(events[0].site, "SIP_P");
        assert_eq!(events[0].log_time.unwrap().to_string(), "2026-02-02T18:29:59.001000Z");
        assert_eq!(events[1].message, Message::EventCallPartyAdded);
        assert!(events
            .iter()
            .all(|event| event.call_uuid.as_ref().unwrap().as_str() == "UUID0000000000000000000000000001"));
    }

    #[test]
    fn long_lines_and_bad_bytes_are_reported_with_their_line() {
        let options = ReaderOptions { max_line_bytes: 64, ..ReaderOptions::default() };
        let mut log = b"13:56:06.078: SIPCALL(1): add party '\xff\xfe'\n".to_vec();
        log.extend(std::iter::repeat_n(b'x', 500));
        log.extend(b"\n13:56:06.078: $*:SIP:CTI:PARTY_CREATED:2\n");
        let mut reader = SipLogReader::new(&log[..], options);
        while reader.next_event().expect("memory").is_some() {}
        let problems = reader.take_problems();
        let kinds: Vec<(u64, ProblemKind)> =
            problems.iter().map(|problem| (problem.line, problem.kind)).collect();
        assert!(kinds.contains(&(1, ProblemKind::InvalidUtf8)), "{problems:?}");
        assert!(kinds.contains(&(2, ProblemKind::LongLine)), "{problems:?}");
        assert!(kinds.contains(&(3, ProblemKind::UnplacedMarker)), "{problems:?}");
        assert_eq!(reader.stats().bytes, log.len() as u64);
        assert_eq!(reader.stats().lines, 3);
    }
}
