//! The streaming reader of T-Server / SIP Server log files.
//!
//! [`LogReader`] turns any byte stream into [`Event`]s in constant memory: it reads fixed
//! chunks, splits lines (a word at a time, [`super::scan`]), and keeps only the block it is
//! building. The plain lines most of a block is made of are read straight from the buffer
//! (`read_common_lines`); every other line goes through the general path (`BlockState::feed`). Every shape
//! of tlog-format.md is read (headers, `@` event lines of every context, requests, `[BSYNC]`
//! copies, all value shapes, nested lists) and every kind of noise is tolerated: what cannot
//! be read is recorded as a [`Problem`] with its line and counted in [`ParseStats`], and the
//! reader goes on.
//!
//! A source may also be a file that is still being written: a source that returns
//! [`io::ErrorKind::WouldBlock`] pauses the reader without losing anything (see
//! [`LogReader::read_into`]), and [`LogReader::end_block`] ends the block being read when the
//! writer has stopped. The follower (`callstitch-follow`) reads growing files this way.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use crate::attrs::{self, Typed};
use crate::bytes::split_around;
use crate::enums::{CallState, CallType, Coded, Context, DnRole, LinkRole, PartyState};
use crate::event::{Event, IsLink, RawAttribute};
use crate::ids::{parse_decimal, parse_decimal_u64, parse_hex_u64, CallUuid, ConnId, LocalTime, Timestamp};
use crate::kv::{KvList, KvPair, Value};
use crate::message::Message;
use crate::tlog::clock::LogClock;
use crate::tlog::header::{split_header_line, take_header_line, Header};
use crate::tlog::problem::{ParseStats, Problem, ProblemKind};
use crate::tlog::scan;
use crate::tlog::shape::{self, indent_of, pair_key, split_token, trim_end, trim_start, value_shape, Shape};
use crate::Text;

/// How a [`LogReader`] names what it reads and how far it tolerates.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// The site name to give every event. `None`: the header's Application name, else the
    /// file stem, else `unknown`.
    pub site: Option<Text>,
    /// The file name events and problems report.
    pub file: Option<Arc<str>>,
    /// Lines longer than this are skipped (and reported), so memory stays bounded.
    pub max_line_bytes: usize,
    /// Problems kept for [`LogReader::take_problems`] before the caller takes them; later
    /// ones are only counted.
    pub max_kept_problems: usize,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions { site: None, file: None, max_line_bytes: 16 << 20, max_kept_problems: 10_000 }
    }
}

const READ_CHUNK: usize = 1 << 20;

/// A streaming reader of one log file (or of any byte stream in the log format).
pub struct LogReader<R> {
    lines: LineSource<R>,
    state: BlockState,
}

impl LogReader<File> {
    /// Opens a log file. The file name (as given) is what events and problems report.
    pub fn open(path: &Path, mut options: ReaderOptions) -> io::Result<LogReader<File>> {
        let file = File::open(path)?;
        if options.file.is_none() {
            options.file = Some(Arc::from(path.display().to_string()));
        }
        let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned());
        Ok(LogReader::with_stem(file, options, stem))
    }
}

impl<R: Read> LogReader<R> {
    /// Reads from any byte stream.
    pub fn new(source: R, options: ReaderOptions) -> LogReader<R> {
        LogReader::with_stem(source, options, None)
    }

    fn with_stem(source: R, options: ReaderOptions, stem: Option<String>) -> LogReader<R> {
        let lines = LineSource::new(source, options.max_line_bytes);
        LogReader { lines, state: BlockState::new(options, stem) }
    }

    /// Reads the next event into `event` (reusing its allocations); `false` at the end of
    /// the input. This is the fast path: [`LogReader::next_event`] and the iterator wrap it.
    ///
    /// A source error of kind [`io::ErrorKind::WouldBlock`] means "no more input yet": it is
    /// returned, and nothing read so far is lost. The block being built stays in `event`, so
    /// call again with the same `event` once there is more input; a line is only read once
    /// it has its newline (or the source has ended).
    pub fn read_into(&mut self, event: &mut Event) -> io::Result<bool> {
        loop {
            self.read_common_lines(event);
            let Some(line) = self.lines.peek(&mut self.state)? else {
                return Ok(self.state.finish_at_end(event));
            };
            let bytes = self.lines.bytes(&line);
            self.state.line_no = self.lines.line_no + 1;
            match self.state.feed(bytes, line.terminated, event) {
                Feed::Consumed => self.lines.consume(&line, &mut self.state.stats),
                Feed::ConsumedDone => {
                    self.lines.consume(&line, &mut self.state.stats);
                    return Ok(true);
                }
                Feed::Done => return Ok(true),
            }
        }
    }

    /// Reads the lines most of a block is made of (`\tAttributeX\tvalue`, `\t\t'key'\tvalue`)
    /// straight from the buffer, as long as they come whole and plain; stops, having read
    /// nothing of it, at the first line that needs the general path (`BlockState::feed`).
    fn read_common_lines(&mut self, event: &mut Event) {
        let LogReader { lines, state } = self;
        if !state.in_block || state.cut_reason.is_some() || lines.skipping.is_some() {
            return;
        }
        let pending = lines.pending();
        let (mut rest, mut count) = (pending, 0_u64);
        while let Some((line, after)) =
            scan::find_byte(b'\n', rest).and_then(|newline| split_around(rest, newline, 1))
        {
            let bytes = line.strip_suffix(b"\r").unwrap_or(line);
            state.line_no = lines.line_no + count + 1;
            let read = match bytes {
                [b'\t', b'A', ..] => state.fast_attribute_line(bytes, event),
                [b'\t' | b' ', b'\t' | b' ', ..] => state.fast_pair_line(bytes),
                _ => false,
            };
            if !read {
                break;
            }
            rest = after;
            count += 1;
        }
        let consumed = pending.len() - rest.len();
        state.stats.bytes += consumed as u64;
        state.stats.lines += count;
        lines.line_no += count;
        lines.start += consumed;
    }

    /// The next event, or `None` at the end of the input.
    pub fn next_event(&mut self) -> io::Result<Option<Event>> {
        let mut event = Event::new(Message::Other(Text::default()), "");
        Ok(self.read_into(&mut event)?.then_some(event))
    }

    /// Counters so far.
    pub fn stats(&self) -> &ParseStats {
        &self.state.stats
    }

    /// The problems recorded since the last call, in input order.
    pub fn take_problems(&mut self) -> Vec<Problem> {
        std::mem::take(&mut self.state.problems)
    }

    /// The last header seen, if any.
    pub fn header(&self) -> Option<&Header> {
        self.state.header.as_ref()
    }

    /// Bytes consumed so far (for progress bars). Right after [`LogReader::read_into`]
    /// returns an event, this is the offset just after the event's block.
    pub fn bytes_read(&self) -> u64 {
        self.state.stats.bytes
    }

    /// True while a block is being read (its event is not finished yet).
    pub fn in_block(&self) -> bool {
        self.state.in_block
    }

    /// Ends the block being read as if the input ended here, finishing its event into
    /// `event` (the one [`LogReader::read_into`] was building); false when no block was open.
    /// A follower calls this when a paused file has stopped growing.
    pub fn end_block(&mut self, event: &mut Event) -> bool {
        self.state.finish_at_end(event)
    }

    /// The source read from.
    pub fn get_ref(&self) -> &R {
        &self.lines.source
    }

    /// The source read from, to change how it delivers input (e.g. a follower's limits).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.lines.source
    }
}

impl<R: Read> Iterator for LogReader<R> {
    type Item = io::Result<Event>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

// ---------------------------------------------------------------------------------------
// Lines

/// One line of the buffer: `buf[start..end]` without its newline.
struct LineRef {
    start: usize,
    end: usize,
    /// Where the next line starts.
    next: usize,
    /// False for a last line with no newline.
    terminated: bool,
}

/// Fixed-size chunks in, lines out; long lines are skipped so memory stays bounded.
struct LineSource<R> {
    source: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    max_line: usize,
    line_no: u64,
    /// Bytes of an over-long line dropped so far, while its newline has not been read (kept
    /// here so that a source that pauses in the middle of the line loses nothing).
    skipping: Option<u64>,
}

impl<R: Read> LineSource<R> {
    fn new(source: R, max_line: usize) -> Self {
        LineSource {
            source,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            eof: false,
            max_line,
            line_no: 0,
            skipping: None,
        }
    }

    // A line found by `peek` lies in `buf[start..end]`, and `start <= end <= buf.len()` always:
    // `fill` moves and grows the buffer with the two, the rest only moves `start` up to `end`.
    #[allow(clippy::indexing_slicing)]
    fn bytes(&self, line: &LineRef) -> &[u8] {
        &self.buf[line.start..line.end]
    }

    /// The bytes read and not consumed yet.
    // In range: `start <= end <= buf.len()` always (see `bytes`).
    #[allow(clippy::indexing_slicing)]
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, line: &LineRef, stats: &mut ParseStats) {
        stats.bytes += (line.next - line.start) as u64;
        stats.lines += 1;
        self.start = line.next;
        self.line_no += 1;
    }

    /// The current line, without consuming it; `None` at the end of the input.
    fn peek(&mut self, state: &mut BlockState) -> io::Result<Option<LineRef>> {
        loop {
            if self.skipping.is_some() {
                self.skip_long_line(state)?;
                continue;
            }
            if let Some(newline) = scan::find_byte(b'\n', self.pending()) {
                let end = self.start + newline;
                return Ok(Some(LineRef { start: self.start, end, next: end + 1, terminated: true }));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                return Ok(Some(LineRef {
                    start: self.start,
                    end: self.end,
                    next: self.end,
                    terminated: false,
                }));
            }
            if self.end - self.start >= self.max_line {
                self.skip_long_line(state)?;
                continue;
            }
            self.fill()?;
        }
    }

    /// Makes room and reads one more chunk.
    // In range: `end <= buf.len()` always (see `bytes`).
    #[allow(clippy::indexing_slicing)]
    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(self.max_line + READ_CHUNK);
            self.buf.resize(grown, 0);
        }
        loop {
            match self.source.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(count) => {
                    self.end += count;
                    return Ok(());
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        }
    }

    /// Drops a line longer than the limit, up to and including its newline. A pause of the
    /// source (an error) leaves the count in `skipping`, and the next peek goes on skipping.
    fn skip_long_line(&mut self, state: &mut BlockState) -> io::Result<()> {
        let mut skipped = self.skipping.take().unwrap_or(0);
        loop {
            if let Some(newline) = memchr::memchr(b'\n', self.pending()) {
                skipped += newline as u64 + 1;
                self.start += newline + 1;
                break;
            }
            skipped += (self.end - self.start) as u64;
            self.start = 0;
            self.end = 0;
            if self.eof {
                break;
            }
            self.skipping = Some(skipped);
            self.fill()?;
            self.skipping = None;
        }
        self.line_no += 1;
        state.line_no = self.line_no;
        state.stats.lines += 1;
        state.stats.bytes += skipped;
        state.end_block_on_skipped_line();
        state.problem(
            ProblemKind::LongLine,
            format!("line of {skipped} bytes skipped (limit {})", self.max_line),
        );
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Blocks

enum Feed {
    Consumed,
    /// The block ended with this line: the event is ready.
    ConsumedDone,
    /// The block ended at this line, which is not consumed: it starts what comes next.
    Done,
}

/// A line of input. Values are cut out of it as text one by one; a value that is not UTF-8
/// is kept lossily and the line remembers it, so the reader reports the line once.
struct Line<'a> {
    bytes: &'a [u8],
    lossy: std::cell::Cell<bool>,
}

impl<'a> Line<'a> {
    fn new(bytes: &'a [u8]) -> Line<'a> {
        Line { bytes, lossy: std::cell::Cell::new(false) }
    }

    /// The text of `part`, a slice of this line.
    fn text(&self, part: &[u8]) -> Text {
        match utf8(part) {
            Some(text) => Text::from(text),
            None => {
                self.lossy.set(true);
                text_lossy(part)
            }
        }
    }
}

/// `bytes` as text when they are UTF-8. The common all-ASCII case costs one inlined
/// word-at-a-time scan instead of a full UTF-8 validation: measured at about a fifth of the
/// reader's instructions before this shortcut; without it (plain `from_utf8`), the parse
/// benchmark's reader ran 9.2% more instructions on `events`, 6.7% on `sip-mix` (callgrind,
/// Rust 1.95, issue 19). The crate's one unsafe block: tlib's Cargo.toml denies `unsafe_code`
/// where the other crates forbid it.
#[allow(unsafe_code)]
fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: every byte is below 0x80, and a sequence of ASCII bytes is valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// Where an open key-value list goes when it closes.
enum ListTarget {
    Typed(Typed),
    Raw(Text),
}

/// A list being filled: the attribute's root list and the nested lists open inside it.
struct OpenList {
    target: ListTarget,
    declared: Option<u16>,
    frames: Vec<Frame>,
}

struct Frame {
    key: Text,
    list: KvList,
    /// Indent of the line that opened the list: deeper lines belong to it.
    opener_indent: usize,
}

/// A `Trc 04541 ... received from` line waiting for its `message RequestX` line.
struct PendingRequest {
    clock: Option<LocalTime>,
    peer: Option<Text>,
}

struct BlockState {
    options: ReaderOptions,
    stem: Option<String>,
    header: Option<Header>,
    clock: LogClock,
    pending_request: Option<PendingRequest>,
    /// A block is being read into the caller's event.
    in_block: bool,
    list: Option<OpenList>,
    /// The site events get now (it follows the header when no name was given).
    site: Text,
    line_no: u64,
    stats: ParseStats,
    problems: Vec<Problem>,
    reported_no_header_clock: bool,
    /// Set when a skipped line cut the block being read.
    cut_reason: Option<String>,
    /// The last event's CallUUID, whose heap buffer the next one is written into.
    spare_uuid: Text,
    /// The frame stack of the last list closed (empty), so a list opens without allocating.
    spare_frames: Vec<Frame>,
}

impl BlockState {
    fn new(options: ReaderOptions, stem: Option<String>) -> Self {
        let mut state = BlockState {
            options,
            stem,
            header: None,
            clock: LogClock::default(),
            pending_request: None,
            in_block: false,
            list: None,
            site: Text::default(),
            line_no: 0,
            stats: ParseStats::default(),
            problems: Vec::new(),
            reported_no_header_clock: false,
            cut_reason: None,
            spare_uuid: Text::default(),
            spare_frames: Vec::new(),
        };
        state.site = state.current_site();
        state
    }

    fn problem(&mut self, kind: ProblemKind, detail: String) {
        self.problem_at(self.line_no, kind, detail);
    }

    fn problem_at(&mut self, line: u64, kind: ProblemKind, detail: String) {
        *self.stats.problems.entry(kind).or_default() += 1;
        if self.problems.len() < self.options.max_kept_problems {
            let file = self.options.file.clone();
            self.problems.push(Problem { file, line, kind, detail });
        }
    }

    fn current_site(&self) -> Text {
        if let Some(site) = &self.options.site {
            return site.clone();
        }
        let from_header = self.header.as_ref().and_then(|header| header.application_name.as_deref());
        Text::from(from_header.or(self.stem.as_deref()).unwrap_or("unknown"))
    }

    fn feed(&mut self, raw: &[u8], terminated: bool, event: &mut Event) -> Feed {
        let bytes = clean(raw);
        if !self.in_block {
            self.line_outside_block(bytes, event);
            return Feed::Consumed;
        }
        if let Some(reason) = self.cut_reason.take() {
            self.cut(event, reason);
        }
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            self.finish_block(event);
            return Feed::ConsumedDone;
        }
        let indent = indent_of(bytes);
        if indent == 0 && !bytes.starts_with(b"Attribute") {
            self.finish_block(event);
            return Feed::Done;
        }
        let line = Line::new(bytes);
        self.line_in_block(&line, indent, event);
        if line.lossy.get() {
            self.problem(ProblemKind::InvalidUtf8, "bytes that are not UTF-8, kept as U+FFFD".to_string());
        }
        if !terminated {
            self.cut(event, format!("the last line has no end: {}", preview(bytes)));
        }
        Feed::Consumed
    }

    fn finish_at_end(&mut self, event: &mut Event) -> bool {
        if !self.in_block {
            return false;
        }
        if let Some(reason) = self.cut_reason.take() {
            self.cut(event, reason);
        }
        self.finish_block(event);
        true
    }

    fn end_block_on_skipped_line(&mut self) {
        if self.in_block {
            self.cut_reason = Some("a line too long to read follows".to_string());
        }
    }

    fn cut(&mut self, event: &mut Event, detail: String) {
        if !event.incomplete {
            event.incomplete = true;
            self.problem(ProblemKind::CutBlock, detail);
        }
    }

    // --- lines outside a block ---

    fn line_outside_block(&mut self, bytes: &[u8], event: &mut Event) {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            self.pending_request = None;
            return;
        }
        if bytes.first() == Some(&b'@') && self.start_at_event_line(&Line::new(bytes), event) {
            return;
        }
        if bytes.first().is_some_and(u8::is_ascii_uppercase) {
            if let Some((key, value)) = split_header_line(bytes) {
                self.header_line(key, value);
                return;
            }
        }
        if let Some(rest) = bytes.strip_prefix(b"message ") {
            self.start_at_message_line(&Line::new(bytes), rest, event);
            return;
        }
        // Other server output is most of a SIP Server log: one SIMD search tells the rare
        // request lines from it.
        let maybe_request =
            needles().message.find(bytes).is_some() || needles().trace_04541.find(bytes).is_some();
        if maybe_request
            && (self.request_trace_line(bytes) || self.start_at_request_sent(&Line::new(bytes), event))
        {
            return;
        }
        self.pending_request = None;
        let body = trim_start(bytes);
        if body.len() < bytes.len() && (body.starts_with(b"Attribute") || shape::quote_len(body).is_some()) {
            self.problem(
                ProblemKind::StrayLine,
                format!("attribute line outside an event: {}", preview(body)),
            );
        } else {
            self.stats.foreign_lines += 1;
        }
    }

    fn header_line(&mut self, key: &'static str, value: &[u8]) {
        let line = take_header_line(&mut self.header, key, value);
        if line.begins {
            self.clock = LogClock::default();
        }
        if !line.time_ok {
            self.problem(
                ProblemKind::BadHeader,
                format!("{key}: {} is not YYYY-MM-DDTHH:MM:SS.fff", preview(value)),
            );
        }
        self.site = self.current_site();
        self.set_clock_from_header();
    }

    fn set_clock_from_header(&mut self) {
        if let Some(header) = &self.header {
            self.clock.set_from_header(header);
        }
    }

    /// `@09:41:00.5404 [0] 8.1.001.05 distribute_event: message EventRinging`
    fn start_at_event_line(&mut self, line: &Line<'_>, event: &mut Event) -> bool {
        let Some(parsed) = parse_event_line(line.bytes) else { return false };
        self.start_block(line, parsed.name, event);
        event.bsync = parsed.bsync;
        event.clock = Some(LocalTime { date: None, micros_of_day: parsed.clock });
        event.log_time = self.clock.place(parsed.clock);
        event.server_version = parsed.version.map(|version| line.text(version));
        event.context = match parsed.context {
            b"distribute_event" => Context::DistributeEvent,
            b"distribute call/party event" => Context::DistributeCallPartyEvent,
            other => Context::parse(&line.text(other)),
        };
        if parsed.request_sent {
            event.context = Context::RequestSent;
        }
        event.peer = parsed.peer.map(|peer| line.text(peer));
        self.pending_request = None;
        true
    }

    /// `message RequestMakeCall`, after a `Trc 04541` trace line or on its own.
    /// `rest` is what follows `message `.
    fn start_at_message_line(&mut self, line: &Line<'_>, rest: &[u8], event: &mut Event) {
        let (name, _) = split_token(rest);
        if !is_message_name(name) {
            self.stats.foreign_lines += 1;
            self.pending_request = None;
            return;
        }
        self.start_block(line, name, event);
        if let Some(request) = self.pending_request.take() {
            event.context = Context::RequestReceived;
            event.peer = request.peer;
            event.clock = request.clock;
            event.log_time = request.clock.and_then(|clock| self.clock.place_dated(clock));
        }
    }

    /// `2026-02-02T13:56:06.078 Trc 04541 RequestMakeCall received from [16] (...)`
    fn request_trace_line(&mut self, bytes: &[u8]) -> bool {
        let Some(trc) = needles().trace_04541.find(bytes) else { return false };
        let Some((before, trace)) = bytes.split_at_checked(trc) else { return false };
        let Some(from) = needles().received_from.find(trace) else { return false };
        let Some((_, peer)) = split_around(trace, from, b" received from".len()) else { return false };
        let clock = LocalTime::parse_iso(trim_end(before));
        let peer = trim_end(trim_start(peer));
        let peer = (!peer.is_empty()).then(|| text_lossy(peer));
        self.pending_request = Some(PendingRequest { clock, peer });
        true
    }

    /// `request to 65200(TServer) message RequestDistributeEvent` (router logs).
    fn start_at_request_sent(&mut self, line: &Line<'_>, event: &mut Event) -> bool {
        let Some(at) = needles().request_to.find(line.bytes) else { return false };
        let Some((_, rest)) = split_around(line.bytes, at, b"request to ".len()) else { return false };
        let Some(message_at) = needles().message.find(rest) else { return false };
        let Some((peer, after)) = split_around(rest, message_at, b" message ".len()) else { return false };
        let (name, _) = split_token(after);
        if !is_message_name(name) {
            return false;
        }
        self.start_block(line, name, event);
        event.context = Context::RequestSent;
        event.peer = Some(line.text(trim_end(peer)));
        self.pending_request = None;
        true
    }

    fn start_block(&mut self, line: &Line<'_>, name: &[u8], event: &mut Event) {
        let message = Message::from_known_name(name).unwrap_or_else(|| Message::Other(line.text(name)));
        if let Some(CallUuid(uuid)) = event.call_uuid.take() {
            self.spare_uuid = uuid;
        }
        event.refill(message, &self.site, &self.options.file);
        event.line = Some(self.line_no);
        self.in_block = true;
        self.list = None;
    }

    // --- lines inside a block ---

    fn line_in_block(&mut self, line: &Line<'_>, indent: usize, event: &mut Event) {
        let body = trim_end(line.bytes.get(indent..).unwrap_or_default());
        if shape::quote_len(body).is_some() {
            self.pair_line(line, body, indent, event);
            return;
        }
        self.close_list(event);
        let (name, value) = split_token(body);
        match attrs::lookup(name) {
            Some(typed) if typed.is_set(event) => {
                let name = line.text(name);
                self.problem(
                    ProblemKind::DuplicateAttribute,
                    format!("{name} appears twice; the second is kept raw"),
                );
                self.raw_attribute(line, name, value, indent, event);
            }
            Some(typed) => self.typed_attribute(line, typed, value, indent, event),
            None => self.raw_attribute(line, line.text(name), value, indent, event),
        }
    }

    /// The common case, `\tAttributeName\tvalue` with a scalar value: a typed attribute not
    /// yet set, or a raw one whose value is a plain string, number or word, read without the
    /// general path's passes. False (nothing changed) for anything else, which the general
    /// path then reads: lists, duplicates, odd spacing, quotes it would have to search, text
    /// that is not UTF-8, values not of their shape (so that it reports them).
    fn fast_attribute_line(&mut self, bytes: &[u8], event: &mut Event) -> bool {
        let [_, after_tab @ ..] = bytes else { return false };
        let Some(gap) = scan::find_gap(after_tab) else { return false };
        let Some((name, value)) = split_around(after_tab, gap, 1) else { return false };
        let (Some(&first), Some(&last)) = (value.first(), value.last()) else { return false };
        if matches!(first, b' ' | b'\t') || matches!(last, b' ' | b'\t') {
            return false;
        }
        let read = match attrs::lookup(name) {
            Some(typed) => fast_typed(typed, value, event, &mut self.spare_uuid),
            None => match fast_raw_value(value) {
                Some(raw) => {
                    let Some(name) = utf8(name) else { return false };
                    self.close_list(event);
                    event.other.push(RawAttribute { name: Text::from(name), value: raw });
                    return true;
                }
                None => false,
            },
        };
        if read {
            self.close_list(event);
        }
        read
    }

    fn typed_attribute(
        &mut self,
        line: &Line<'_>,
        typed: Typed,
        value: &[u8],
        indent: usize,
        event: &mut Event,
    ) {
        if let Typed::List(_) | Typed::IsLinks(_) = typed {
            if let Shape::ListHeader { declared } = value_shape(value) {
                self.open_list(ListTarget::Typed(typed), declared, indent);
                return;
            }
        } else if set_scalar(line, typed, value, event) {
            return;
        }
        let name = Text::from(typed.name());
        self.problem(
            ProblemKind::BadValue,
            format!("{name} value {} is not of its shape; kept raw", preview(value)),
        );
        self.raw_attribute(line, name, value, indent, event);
    }

    fn raw_attribute(&mut self, line: &Line<'_>, name: Text, value: &[u8], indent: usize, event: &mut Event) {
        let value = match value_shape(value) {
            Shape::ListHeader { declared } => {
                self.open_list(ListTarget::Raw(name), declared, indent);
                return;
            }
            Shape::Str(text) => Value::Str(line.text(text)),
            Shape::Unterminated(_) => {
                self.problem(ProblemKind::UnterminatedQuote, format!("{name} value has no closing quote"));
                self.cut(event, format!("{name} was cut inside a quoted value"));
                Value::Bare(line.text(trim_end(value)))
            }
            Shape::Bare(text) => bare_value(line, text),
            Shape::NestedList { .. } => Value::Bare(line.text(trim_end(value))),
        };
        event.other.push(RawAttribute { name, value });
    }

    fn open_list(&mut self, target: ListTarget, declared: Option<u16>, indent: usize) {
        let root = Frame { key: Text::default(), list: KvList::new(), opener_indent: indent };
        let mut frames = std::mem::take(&mut self.spare_frames);
        frames.clear();
        frames.push(root);
        self.list = Some(OpenList { target, declared, frames });
    }

    /// The common key-value line, `\t\t'key'\tvalue` with an ASCII key and a plain value
    /// ([`fast_raw_value`]) inside an open list, read as [`BlockState::pair_line`] would;
    /// false (nothing changed) for anything else.
    fn fast_pair_line(&mut self, bytes: &[u8]) -> bool {
        let Some(list) = self.list.as_mut() else { return false };
        let indent = indent_of(bytes);
        let body = bytes.get(indent..).unwrap_or_default();
        let [b'\'', quoted @ ..] = body else { return false };
        if matches!(body.last(), Some(b' ' | b'\t')) {
            return false;
        }
        let Some(close) = scan::find_byte(b'\'', quoted) else { return false };
        let Some((key, after)) = split_around(quoted, close, 1) else { return false };
        if !matches!(after.first(), Some(b' ' | b'\t')) || !key.is_ascii() || key.contains(&b'"') {
            return false;
        }
        let Some(key) = utf8(key) else { return false };
        let Some(value) = fast_raw_value(trim_start(after)) else { return false };
        while list.frames.len() > 1 && list.frames.last().is_some_and(|frame| frame.opener_indent >= indent) {
            close_frame(list);
        }
        push_pair(list, Text::from(key), value);
        true
    }

    fn pair_line(&mut self, line: &Line<'_>, body: &[u8], indent: usize, event: &mut Event) {
        let Some(list) = self.list.as_mut() else {
            self.problem(
                ProblemKind::StrayLine,
                format!("key-value line with no list open: {}", preview(body)),
            );
            return;
        };
        while list.frames.len() > 1 && list.frames.last().is_some_and(|frame| frame.opener_indent >= indent) {
            close_frame(list);
        }
        let mut rest = body;
        loop {
            let Some((key, after)) = pair_key(rest) else {
                self.problem(
                    ProblemKind::UnterminatedQuote,
                    format!("key without closing quote: {}", preview(rest)),
                );
                self.cut(event, "a key-value line was cut".to_string());
                return;
            };
            let key = line.text(key);
            let value = match value_shape(after) {
                Shape::NestedList { first } => {
                    list.frames.push(Frame { key, list: KvList::new(), opener_indent: indent });
                    if first.is_empty() {
                        return;
                    }
                    rest = first;
                    continue;
                }
                Shape::Str(text) => Value::Str(line.text(text)),
                Shape::Bare(text) => bare_value(line, text),
                Shape::ListHeader { .. } => Value::Bare(line.text(after)),
                Shape::Unterminated(_) => {
                    push_pair(list, key, Value::Bare(line.text(after)));
                    self.problem(
                        ProblemKind::UnterminatedQuote,
                        "key-value value has no closing quote".to_string(),
                    );
                    self.cut(event, "a key-value value was cut".to_string());
                    return;
                }
            };
            push_pair(list, key, value);
            return;
        }
    }

    /// Closes the open list, if any, and stores it where it belongs.
    #[inline]
    fn close_list(&mut self, event: &mut Event) {
        if self.list.is_some() {
            self.close_open_list(event);
        }
    }

    fn close_open_list(&mut self, event: &mut Event) {
        let Some(mut open) = self.list.take() else { return };
        while open.frames.len() > 1 {
            close_frame(&mut open);
        }
        let root = open.frames.pop().map(|frame| frame.list).unwrap_or_default();
        self.spare_frames = std::mem::take(&mut open.frames);
        let name = match &open.target {
            ListTarget::Typed(typed) => Text::from(typed.name()),
            ListTarget::Raw(name) => name.clone(),
        };
        if let Some(declared) = open.declared {
            if root.len() < usize::from(declared) {
                let found = root.len();
                self.cut(event, format!("{name} lists {found} of the {declared} pairs its header declares"));
            }
        }
        match open.target {
            ListTarget::Typed(Typed::List(field)) => *(field.slot)(event) = Some(root),
            ListTarget::Typed(Typed::IsLinks(field)) => match links_of(&root) {
                Some(links) => *(field.slot)(event) = Some(links),
                None => {
                    event.other.push(RawAttribute { name: name.clone(), value: Value::List(root) });
                    self.problem(
                        ProblemKind::BadValue,
                        format!("{name} has an entry that is not a list; kept raw"),
                    );
                }
            },
            ListTarget::Typed(_) | ListTarget::Raw(_) => {
                event.other.push(RawAttribute { name, value: Value::List(root) })
            }
        }
    }

    fn finish_block(&mut self, event: &mut Event) {
        self.close_list(event);
        self.in_block = false;
        self.stats.count_event(event);
        if event.clock.is_some() && event.log_time.is_none() && !self.reported_no_header_clock {
            self.reported_no_header_clock = true;
            self.problem_at(
                event.line.unwrap_or(self.line_no),
                ProblemKind::NoHeaderClock,
                "no header with UTC and local time before this event: log clocks are kept as printed, not placed in UTC"
                    .to_string(),
            );
        }
    }
}

/// The content of `'text'` (to the last quote, as the general path reads it), when UTF-8.
fn quoted_ascii(value: &[u8]) -> Option<&str> {
    let [b'\'', inner @ .., b'\''] = value else { return None };
    utf8(inner)
}

/// Sets a typed scalar attribute from its canonical form, when it is not set yet; false
/// (nothing changed) otherwise. A CallUUID (32 characters: too long to be stored inline) is
/// written into `spare_uuid`'s buffer, the last event's, instead of a new allocation.
fn fast_typed(typed: Typed, value: &[u8], event: &mut Event, spare_uuid: &mut Text) -> bool {
    match typed {
        Typed::ConnId(field) => set_once(field.slot, event, || ConnId::parse_hex(value)),
        Typed::HexCounter(field) => set_once(field.slot, event, || parse_hex_u64(value)),
        Typed::Timestamp(field) => set_once(field.slot, event, || Timestamp::parse_tlib_hex(value)),
        Typed::Decimal(field) => set_once(field.slot, event, || parse_decimal_u64(value)),
        Typed::Role(field) => set_once(field.slot, event, || parse_decimal(value).map(DnRole::from_code)),
        Typed::CallType(field) => {
            set_once(field.slot, event, || parse_decimal(value).map(CallType::from_code))
        }
        Typed::CallState(field) => {
            set_once(field.slot, event, || parse_decimal(value).map(CallState::from_code))
        }
        Typed::PartyState(field) => set_once(field.slot, event, || {
            parse_decimal_u64(value).and_then(|v| u32::try_from(v).ok()).map(PartyState)
        }),
        Typed::CallUuid(field) => set_once(field.slot, event, || {
            let text = quoted_ascii(value)?;
            let mut uuid = std::mem::take(spare_uuid);
            uuid.clear();
            uuid.push_str(text);
            Some(CallUuid(uuid))
        }),
        Typed::Text(field) => set_once(field.slot, event, || quoted_ascii(value).map(Text::from)),
        Typed::List(_) | Typed::IsLinks(_) => false,
    }
}

/// Fills the field `slot` reaches with what `read` gives, when the field is empty and `read`
/// gives something (one call through the table instead of a check and a set).
#[inline]
fn set_once<T>(
    slot: fn(&mut Event) -> &mut Option<T>,
    event: &mut Event,
    read: impl FnOnce() -> Option<T>,
) -> bool {
    let slot = slot(event);
    if slot.is_some() {
        return false;
    }
    match read() {
        Some(value) => {
            *slot = Some(value);
            true
        }
        None => false,
    }
}

/// The value of a raw attribute, trimmed at both ends, when it is as the general path would
/// read it with no search and no problem: `'text'` (ASCII quotes at both ends), or a bare
/// number or word. `None` for anything else (lists, typographic quotes, text that is not
/// UTF-8, a quote with no closer).
fn fast_raw_value(value: &[u8]) -> Option<Value> {
    match value {
        [b'\'' | b'"', inner @ .., b'\'' | b'"'] => Some(Value::Str(Text::from(utf8(inner)?))),
        [b'\'' | b'"' | b'(' | b'[' | 0xE2, ..] => None,
        _ => {
            let text = utf8(value)?;
            Some(match canonical_int(value) {
                Some(number) => Value::Int(number),
                None => Value::Bare(Text::from(text)),
            })
        }
    }
}

/// Sets a scalar typed attribute; false when the value does not have the shape.
fn set_scalar(line: &Line<'_>, typed: Typed, value: &[u8], event: &mut Event) -> bool {
    let shape = value_shape(value);
    match typed {
        Typed::ConnId(field) => set(field.slot, event, bare(&shape).and_then(ConnId::parse_hex)),
        Typed::CallUuid(field) => {
            set(field.slot, event, text_of(&shape).map(|text| CallUuid(line.text(text))))
        }
        Typed::Text(field) => set(field.slot, event, text_of(&shape).map(|text| line.text(text))),
        Typed::Role(field) => set(field.slot, event, number(&shape).map(DnRole::from_code)),
        Typed::HexCounter(field) => set(field.slot, event, bare(&shape).and_then(parse_hex_u64)),
        Typed::Decimal(field) => set(field.slot, event, bare(&shape).and_then(parse_decimal_u64)),
        Typed::Timestamp(field) => set(field.slot, event, bare(&shape).and_then(Timestamp::parse_tlib_hex)),
        Typed::CallType(field) => set(field.slot, event, number(&shape).map(CallType::from_code)),
        Typed::CallState(field) => set(field.slot, event, number(&shape).map(CallState::from_code)),
        Typed::PartyState(field) => set(field.slot, event, party_state(&shape)),
        Typed::List(_) | Typed::IsLinks(_) => false,
    }
}

/// An unquoted value: a canonical decimal is an `Int`, anything else `Bare`.
fn bare_value(line: &Line<'_>, text: &[u8]) -> Value {
    if let Some(number) = canonical_int(text) {
        return Value::Int(number);
    }
    Value::Bare(line.text(text))
}

/// The number of a bare value that [`Value::from_bare`] reads as an `Int` (an optional `-`,
/// digits with no leading zero, not `-0`, in range), read straight from the bytes.
fn canonical_int(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', digits @ ..] => (true, digits),
        digits => (false, digits),
    };
    match digits {
        [] => return None,
        [b'0'] => return (!negative).then_some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let magnitude = parse_decimal_u64(digits)?;
    if negative {
        0_i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

fn set<T>(slot: fn(&mut Event) -> &mut Option<T>, event: &mut Event, value: Option<T>) -> bool {
    match value {
        Some(value) => {
            *slot(event) = Some(value);
            true
        }
        None => false,
    }
}

fn push_pair(list: &mut OpenList, key: Text, value: Value) {
    if let Some(frame) = list.frames.last_mut() {
        frame.list.0.push(KvPair { key, value });
    }
}

fn close_frame(list: &mut OpenList) {
    if let Some(frame) = list.frames.pop() {
        push_pair(list, frame.key, Value::List(frame.list));
    }
}

/// The typed links of an ISLinkList, or `None` when an entry is not a list.
fn links_of(list: &KvList) -> Option<Vec<IsLink>> {
    list.iter()
        .map(|pair| {
            let Value::List(fields) = &pair.value else { return None };
            let mut link = IsLink {
                id: pair.key.clone(),
                location_name: None,
                direction_role: None,
                extra: KvList::new(),
            };
            for field in fields.iter() {
                match (&field.value, field.key.as_str()) {
                    (Value::Str(text), "location-name") if link.location_name.is_none() => {
                        link.location_name = Some(text.clone())
                    }
                    (Value::Str(text), "direction-role") if link.direction_role.is_none() => {
                        link.direction_role = Some(LinkRole::parse(text))
                    }
                    _ => link.extra.0.push(field.clone()),
                }
            }
            Some(link)
        })
        .collect()
}

/// The text of a quoted string, or of a bare value (lenient: some copies drop quotes).
fn text_of<'a>(shape: &Shape<'a>) -> Option<&'a [u8]> {
    match shape {
        Shape::Str(text) | Shape::Bare(text) => Some(text),
        _ => None,
    }
}

/// A bare value, or the content of a quoted one.
fn bare<'a>(shape: &Shape<'a>) -> Option<&'a [u8]> {
    text_of(shape)
}

fn number(shape: &Shape<'_>) -> Option<i64> {
    let text = bare(shape)?;
    match text {
        [b'-', digits @ ..] => {
            let magnitude = parse_decimal_u64(digits)?;
            0_i64.checked_sub_unsigned(magnitude)
        }
        digits => parse_decimal(digits),
    }
}

fn party_state(shape: &Shape<'_>) -> Option<PartyState> {
    let text = bare(shape)?;
    let value = match text.strip_prefix(b"0x").or_else(|| text.strip_prefix(b"0X")) {
        Some(hex) => parse_hex_u64(hex)?,
        None => parse_decimal_u64(text)?,
    };
    u32::try_from(value).ok().map(PartyState)
}

/// The parts of an `@` event line.
struct EventLine<'a> {
    clock: i64,
    bsync: bool,
    version: Option<&'a [u8]>,
    /// The context text (without its `:`), when the line is not a request sent.
    context: &'a [u8],
    request_sent: bool,
    peer: Option<&'a [u8]>,
    name: &'a [u8],
}

/// Reads `@HH:MM:SS.ffff [n] version context: message Name` (and the router's
/// `... request to peer message Name`).
fn parse_event_line(line: &[u8]) -> Option<EventLine<'_>> {
    let [b'@', line @ ..] = line else { return None };
    let (clock, rest) = split_token(line);
    let clock = LocalTime::parse_clock(clock)?;
    let (bsync, rest) = match rest.strip_prefix(b"[") {
        Some(inner) => {
            let (tag, after) = split_around(inner, memchr::memchr(b']', inner)?, 1)?;
            (tag == b"BSYNC", trim_start(after))
        }
        None => (false, rest),
    };
    let (prefix, name) = split_message(rest)?;
    if !is_message_name(name) {
        return None;
    }
    let (version, prefix) = match split_token(prefix) {
        (first, rest) if first.first().is_some_and(u8::is_ascii_digit) && first.contains(&b'.') => {
            (Some(first), rest)
        }
        _ => (None, prefix),
    };
    let (context, request_sent, peer) = match prefix.strip_prefix(b"request to ") {
        Some(peer) => (&b""[..], true, Some(trim_start(peer))),
        None => (prefix.strip_suffix(b":").map_or(prefix, trim_end), false, None),
    };
    Some(EventLine { clock, bsync, version, context, request_sent, peer, name })
}

/// The substring searchers of the reader, built once (building one costs more than a search).
struct Needles {
    message: memchr::memmem::Finder<'static>,
    trace_04541: memchr::memmem::Finder<'static>,
    received_from: memchr::memmem::Finder<'static>,
    request_to: memchr::memmem::Finder<'static>,
}

fn needles() -> &'static Needles {
    static NEEDLES: std::sync::OnceLock<Needles> = std::sync::OnceLock::new();
    NEEDLES.get_or_init(|| Needles {
        message: memchr::memmem::Finder::new(b" message "),
        trace_04541: memchr::memmem::Finder::new(b"Trc 04541 "),
        received_from: memchr::memmem::Finder::new(b" received from"),
        request_to: memchr::memmem::Finder::new(b"request to "),
    })
}

/// Splits `... message Name` into the text before `message` and the name: the name is the
/// last word of the line (checked from the end, without searching the whole line).
fn split_message(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = trim_end(rest);
    let (before, name) = split_around(rest, memchr::memrchr2(b' ', b'\t', rest)?, 1)?;
    let before = trim_end(before);
    match before.strip_suffix(b"message").map(|prefix| (prefix, prefix.last())) {
        Some((prefix, None)) => Some((prefix, name)),
        Some((prefix, Some(b' ' | b'\t'))) => Some((trim_end(prefix), name)),
        _ => split_message_anywhere(rest),
    }
}

/// The slow form of [`split_message`], for lines with more text after the name.
fn split_message_anywhere(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = memchr::memmem::find(rest, b"message ")?; // rare: lines with text after the name
    let (before, after) = split_around(rest, at, b"message ".len())?;
    if !matches!(before.last(), None | Some(b' ')) {
        return None;
    }
    Some((trim_end(before), split_token(after).0))
}

fn is_message_name(name: &[u8]) -> bool {
    name.first().is_some_and(u8::is_ascii_alphabetic)
        && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && (name.starts_with(b"Event") || name.starts_with(b"Request") || name.starts_with(b"ISCC"))
}

/// Drops a trailing `\r` and a leading byte-order mark.
fn clean(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
}

fn text_lossy(bytes: &[u8]) -> Text {
    match utf8(bytes) {
        Some(text) => Text::from(text),
        None => Text::from(String::from_utf8_lossy(bytes).as_ref()),
    }
}

/// The first 60 characters of a line, for messages.
fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut shown: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        shown.push('…');
    }
    format!("{shown:?}")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn canonical_int_reads_what_from_bare_reads_as_a_number(text in "-?[0-9+]{0,21}") {
            let expected = match Value::from_bare(&text) {
                Value::Int(number) => Some(number),
                _ => None,
            };
            prop_assert_eq!(canonical_int(text.as_bytes()), expected);
        }
    }

    #[test]
    fn canonical_int_edges() {
        assert_eq!(canonical_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(canonical_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(canonical_int(b"9223372036854775808"), None);
        assert_eq!(canonical_int(b"-0"), None);
        assert_eq!(canonical_int(b"0"), Some(0));
        assert_eq!(canonical_int(b"-"), None);
    }
}
