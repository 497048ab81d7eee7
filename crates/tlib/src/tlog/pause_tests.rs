//! Tests of the reader over a source that pauses (`WouldBlock`): what a follower of a growing
//! file relies on. Fed a byte at a time, the reader gives exactly the events of one plain read.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use crate::message::Message;
use crate::tlog::{LogReader, ReaderOptions};
use crate::{Event, Text};

/// Gives the bytes of `data` up to `available`, then pauses; ends only when `ended`.
struct Growing {
    data: Vec<u8>,
    position: usize,
    available: Rc<Cell<usize>>,
    ended: Rc<Cell<bool>>,
}

impl Read for Growing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let limit = self.available.get().min(self.data.len());
        if self.position >= limit {
            if self.ended.get() {
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let count = buf.len().min(limit - self.position);
        buf[..count].copy_from_slice(&self.data[self.position..self.position + count]);
        self.position += count;
        Ok(count)
    }
}

const LOG: &str =
    "Application name: TS1\nUTC time: 2026-02-02T08:00:00.000\nLocal time: 2026-02-02T09:00:00.000\n\n\
@09:00:01.0000 [0] 8.1 distribute_event: message EventRinging\n\
\tAttributeConnID\t009a021843038407\n\tAttributeThisDN\t'7001'\n\
\tAttributeUserData\t[20] 00 01 00 00..\n\t\t'k'\t'v'\n\
@09:00:02.0000 [0] 8.1 distribute_event: message EventEstablished\n\
\tAttributeThisDN\t'7001'\n\n\
some other server output\n\
@09:00:03.0000 [0] 8.1 distribute_event: message EventReleased\n\
\tAttributeThisDN\t'7001'\n";

fn options(max_line_bytes: usize) -> ReaderOptions {
    ReaderOptions { max_line_bytes, ..ReaderOptions::default() }
}

fn plain(text: &str, max_line_bytes: usize) -> (Vec<Event>, u64) {
    let mut reader = LogReader::new(text.as_bytes(), options(max_line_bytes));
    let events: Vec<Event> = reader.by_ref().map(|event| event.expect("in memory")).collect();
    (events, reader.stats().problem_count())
}

/// Reads `text` made available `step` bytes at a time; the last block is ended by `end_block`.
fn in_steps(text: &str, step: usize, max_line_bytes: usize) -> (Vec<Event>, u64) {
    let available = Rc::new(Cell::new(0));
    let ended = Rc::new(Cell::new(false));
    let source = Growing { data: text.as_bytes().to_vec(), position: 0, available: available.clone(), ended };
    let mut reader = LogReader::new(source, options(max_line_bytes));
    let mut event = Event::new(Message::Other(Text::default()), "");
    let mut events = Vec::new();
    for end in (0..text.len() + step).step_by(step) {
        available.set(end);
        loop {
            match reader.read_into(&mut event) {
                Ok(true) => events.push(event.clone()),
                Ok(false) => break,
                Err(error) => {
                    assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
                    break;
                }
            }
        }
    }
    assert_eq!(reader.bytes_read(), text.len() as u64, "every terminated line consumed");
    assert!(reader.in_block());
    assert!(reader.end_block(&mut event));
    events.push(event);
    assert!(!reader.in_block());
    (events, reader.stats().problem_count())
}

#[test]
fn a_paused_source_loses_nothing_and_gives_the_events_of_a_plain_read() {
    let (expected, problems) = plain(LOG, 1 << 20);
    assert_eq!(expected.len(), 3);
    assert_eq!(problems, 0);
    let (events, problems) = in_steps(LOG, 1, 1 << 20);
    assert_eq!(events, expected);
    assert_eq!(problems, 0);
}

#[test]
fn an_over_long_line_split_by_pauses_is_skipped_once() {
    // Longer than the reader's chunk, so that a plain read skips it too.
    let long = format!("{}\n", "x".repeat((1 << 20) + 300));
    let text = LOG.replace("some other server output\n", &long);
    let (expected, problems) = plain(&text, 64);
    assert_eq!(problems, 1, "one long line");
    let (events, problems) = in_steps(&text, 997, 64);
    assert_eq!(events, expected);
    assert_eq!(problems, 1);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].line, Some(14), "line numbers count the skipped line");
}
