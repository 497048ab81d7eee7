//! What the log reader could not read, and the counters of everything it read or skipped.
//!
//! A problem never stops the reader: it is recorded with its file and line, counted by kind,
//! and the rest of the input keeps flowing.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::message::Message;

crate::labelled_enum! {
    /// The kinds of trouble a log can give the reader.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum ProblemKind {
        /// A typed attribute whose value does not have its shape; kept raw.
        BadValue => "bad-value",
        /// A quoted value with no closing quote (a cut line); kept raw, event marked incomplete.
        UnterminatedQuote => "unterminated-quote",
        /// A block cut short (end of file, a key-value list shorter than its header says).
        CutBlock => "cut-block",
        /// An indented or key-value line that belongs to no open event or list; skipped.
        StrayLine => "stray-line",
        /// A line longer than the reader's limit; skipped.
        LongLine => "long-line",
        /// Bytes that are not UTF-8; kept with replacement characters.
        InvalidUtf8 => "invalid-utf8",
        /// The same typed attribute twice in one block; the second is kept raw.
        DuplicateAttribute => "duplicate-attribute",
        /// A header value the reader could not use (a malformed date or time).
        BadHeader => "bad-header",
        /// Event clocks that could not be placed in UTC (no header date and offset).
        NoHeaderClock => "no-header-clock",
        /// SIP layer: a CTI marker whose call or party the lines before it do not name; skipped.
        UnplacedMarker => "unplaced-marker",
        /// SIP layer: a call whose CallUUID never appeared; its events are given without one.
        NoCallUuid => "no-call-uuid",
        /// SIP layer: more calls or dialogs open at once than the reader keeps; the oldest was
        /// given up (its events so far are handed on).
        TooManyCalls => "too-many-calls",
        /// SIP layer: a T-Library event record in a file read as SIP layer only (the file showed
        /// none in its head); skipped.
        TlibRecordSkipped => "tlib-record-skipped",
    }
}

/// One problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: Option<Arc<str>>,
    pub line: u64,
    pub kind: ProblemKind,
    pub detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.as_deref().unwrap_or("<input>");
        write!(f, "{file}:{}: {}: {}", self.line, self.kind, self.detail)
    }
}

/// Counters of one read (or of several, merged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseStats {
    pub bytes: u64,
    pub lines: u64,
    pub events: u64,
    /// Lines that were neither header, event nor attribute lines: other server traces.
    pub foreign_lines: u64,
    pub bsync_events: u64,
    pub incomplete_events: u64,
    /// SIP layer: SIP messages read (sent or received by SIP Server).
    pub sip_messages: u64,
    /// SIP layer: SIP Server CTI markers read (`$*:SIP:CTI:...`).
    pub cti_markers: u64,
    /// Events by T-Library number (index) ...
    by_number: Vec<u64>,
    /// ... and by name for messages outside the table.
    by_other_name: BTreeMap<String, u64>,
    pub problems: BTreeMap<ProblemKind, u64>,
}

impl ParseStats {
    /// Counts one event read from elsewhere (e.g. JSON lines): its message and flags.
    pub fn count_event(&mut self, event: &crate::event::Event) {
        self.events += 1;
        self.count_message(&event.message);
        if event.bsync {
            self.bsync_events += 1;
        }
        if event.incomplete {
            self.incomplete_events += 1;
        }
    }

    pub(crate) fn count_message(&mut self, message: &Message) {
        match message.number() {
            Some(number) => {
                let index = usize::from(number);
                if self.by_number.len() <= index {
                    self.by_number.resize(index + 1, 0);
                }
                if let Some(count) = self.by_number.get_mut(index) {
                    *count += 1;
                }
            }
            None => *self.by_other_name.entry(message.name().to_string()).or_default() += 1,
        }
    }

    /// Events per message name, most frequent first (ties by name).
    pub fn by_message(&self) -> Vec<(String, u64)> {
        let mut rows: Vec<(String, u64)> = self
            .by_number
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .filter_map(|(number, count)| {
                let message = Message::from_known_code(number as u16)?;
                Some((message.name().to_string(), *count))
            })
            .chain(self.by_other_name.iter().map(|(name, count)| (name.clone(), *count)))
            .collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows
    }

    pub fn problem_count(&self) -> u64 {
        self.problems.values().sum()
    }

    /// Adds another read's counters to these.
    pub fn merge(&mut self, other: &ParseStats) {
        self.bytes += other.bytes;
        self.lines += other.lines;
        self.events += other.events;
        self.foreign_lines += other.foreign_lines;
        self.bsync_events += other.bsync_events;
        self.incomplete_events += other.incomplete_events;
        self.sip_messages += other.sip_messages;
        self.cti_markers += other.cti_markers;
        if self.by_number.len() < other.by_number.len() {
            self.by_number.resize(other.by_number.len(), 0);
        }
        for (mine, count) in self.by_number.iter_mut().zip(&other.by_number) {
            *mine += count;
        }
        for (name, count) in &other.by_other_name {
            *self.by_other_name.entry(name.clone()).or_default() += count;
        }
        for (kind, count) in &other.problems {
            *self.problems.entry(*kind).or_default() += count;
        }
    }
}
