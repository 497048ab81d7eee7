//! The SIP layer of a SIP Server log: calls rebuilt from a log that has no T-Library event
//! records (docs/log-format.md "The SIP layer").
//!
//! Many SIP Server logs carry no `message EventX` blocks, only SIP Server's own traces. They
//! still tell each call's story: `$*:SIP:CTI:<NAME>:<n>` markers at each change of the call
//! model (CALL_CREATED, PARTY_CREATED, PARTY_STATE_CHANGED, PARTY_DELETED, CALL_DELETED),
//! the lines naming the call and party just before each marker, `CID:CUUID>` lines giving
//! each SIP dialog's CallUUID, and the SIP messages themselves. [`SipLogReader`] turns them
//! into the same [`Event`] model as the T-Library reader: call-based events (160–166) with
//! the CallUUID, AttributeDN, PartyState and the server's marker counter as `seq`, marked
//! [`crate::EventProvenance::SipLayer`]. SIP Call-IDs, SIP Server's call number, its raw
//! party state code and the SIP evidence of who ended the call ([`crate::SipEnd`]) are kept
//! in the Extensions under `sip-*` keys.
//!
//! Like [`crate::tlog::LogReader`], it streams in constant memory (one line, the SIP message
//! being read, and the calls in progress, each bounded), counts what it skips, records every
//! problem with its file and line, and never panics on input.

mod line;
mod message;
mod reader;
mod track;

use std::collections::VecDeque;
use std::sync::Arc;

pub use reader::SipLogReader;
pub use track::{key, party_state_of_code};

use crate::event::Event;
use crate::tlog::problem::{ParseStats, Problem, ProblemKind};
use crate::Text;

/// Where the reader's output goes: events ready to hand out, problems, counters.
#[derive(Debug)]
pub(crate) struct Sink {
    pub site: Text,
    pub file: Option<Arc<str>>,
    pub events: VecDeque<Event>,
    pub problems: Vec<Problem>,
    pub stats: ParseStats,
    max_kept_problems: usize,
    /// Some text of the current line was not UTF-8.
    lossy: bool,
    reported_no_header_clock: bool,
}

impl Sink {
    fn new(site: Text, file: Option<Arc<str>>, max_kept_problems: usize) -> Sink {
        Sink {
            site,
            file,
            events: VecDeque::new(),
            problems: Vec::new(),
            stats: ParseStats::default(),
            max_kept_problems,
            lossy: false,
            reported_no_header_clock: false,
        }
    }

    /// The text of `bytes`, kept with U+FFFD where it is not UTF-8 (the line is reported).
    pub fn text(&mut self, bytes: &[u8]) -> Text {
        match std::str::from_utf8(bytes) {
            Ok(text) => Text::from(text),
            Err(_) => {
                self.lossy = true;
                Text::from(String::from_utf8_lossy(bytes).as_ref())
            }
        }
    }

    pub fn problem_at(&mut self, line: u64, kind: ProblemKind, detail: String) {
        *self.stats.problems.entry(kind).or_default() += 1;
        if self.problems.len() < self.max_kept_problems {
            self.problems.push(Problem { file: self.file.clone(), line, kind, detail });
        }
    }

    /// An event is ready.
    pub fn push(&mut self, event: Event) {
        if event.log_time.is_none() && event.clock.is_some() && !self.reported_no_header_clock {
            self.reported_no_header_clock = true;
            self.problem_at(
                event.line.unwrap_or_default(),
                ProblemKind::NoHeaderClock,
                "no header with UTC and local time before this event: log clocks are kept as printed, not placed in UTC"
                    .to_string(),
            );
        }
        self.stats.count_event(&event);
        self.events.push_back(event);
    }
}
