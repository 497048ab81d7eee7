//! One followed file: its identity, its open reader, and the rules of reading a file that is
//! still being written.
//!
//! - An event is handed out only once its block is complete: the line after it was read, or
//!   the file has not grown for `settle` and nothing unterminated follows the block.
//! - A line without its newline is never read until it has one, or the file is drained.
//! - A file that is rotated away, deleted or followed by a newer segment is drained: read
//!   to its end once it has stopped growing, its last block and line included.
//! - A file that shrinks below what was read is told apart by its first bytes: still the
//!   same (a file cut short), it goes on from the cut, or from the end of what was handed out
//!   when that is before the cut: nothing is handed out twice, and what is appended after the
//!   cut is read (the line cut in two is ended there). Changed (copytruncate, a file rewritten):
//!   new content, read from byte 0.
//! - A file resumed at a position is read again from byte 0 up to the position, its events
//!   skipped, so that dates, clock offsets, sites and line numbers are as on the first read.
//! - An archive (gzip, zstd: told by its first bytes) is read decompressed, once, to its end
//!   (offsets are those of the log inside); one found corrupt or truncated is reported and
//!   finished after the events before the damage, so the site's next segments go on.

use std::fs::File;
use std::io;
use std::mem;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use callstitch_tlib::message::Message;
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use callstitch_tlib::{Event, Text};

use crate::cut::{find_cut, tail_end_unchanged};
use crate::discover::{renamed_to, Class};
use crate::position::{Fingerprint, Position};
use crate::problem::{FollowProblem, Problems};
use crate::source::{archive_of, file_id, head_of, is_unlinked, FileId, FileSource};
use crate::FollowedEvent;

/// What one poll of a file may do, and where its events and problems go.
pub(crate) struct Turn<'a> {
    pub now: Instant,
    /// The wall clock now: how old a file is, from its modification time.
    pub wall: SystemTime,
    pub settle: Duration,
    pub max_line_bytes: usize,
    pub max_skipped: usize,
    /// Events that may still be handed out in this poll.
    pub budget: usize,
    /// Set when there is more to read at once (the budget or the skip limit was reached).
    pub more: bool,
    pub out: &'a mut Vec<FollowedEvent>,
    pub problems: &'a mut Problems,
}

/// A followed file.
pub(crate) struct Tracked {
    /// Order of discovery (breaks ties between segments).
    pub seq: u64,
    pub input: usize,
    pub path: PathBuf,
    pub id: Option<FileId>,
    pub class: Option<Class>,
    /// The path no longer names this file (renamed away or deleted): drain it.
    pub gone: bool,
    /// Found beside an input after a restart (a rotated copy): opened by its own path,
    /// drained, then forgotten.
    pub detached: bool,
    /// The file name its events carry when not its path: the name it was followed under
    /// before it was renamed (as before the restart).
    pub shown_as: Option<PathBuf>,
    /// Read to its end and closed.
    pub finished: bool,
    pub fingerprint: Fingerprint,
    /// The offset just after the last event handed out.
    pub delivered: u64,
    /// Re-read up to here, skipping the events, before handing any out (a restart).
    pub resume_at: Option<u64>,
    pub open: Option<Box<OpenFile>>,
    /// Size and time of the last change seen before the file was classed.
    pub head_seen: (u64, Instant),
    pub reported_unreadable: bool,
    /// The file was cut short inside a line at this offset: the next reader ends the line
    /// there.
    pub cut_at: Option<u64>,
}

pub(crate) struct OpenFile {
    reader: LogReader<FileSource>,
    /// The event of the block being read.
    building: Event,
    seen_size: u64,
    /// The file's modification time when its size was last looked at.
    seen_modified: Option<SystemTime>,
    last_growth: Instant,
}

/// Why reading stopped.
enum Stop {
    /// Nothing more written yet.
    Paused,
    /// The budget is spent.
    Budget,
    /// The drained file is at its end.
    Ended,
    Failed,
}

fn blank_event() -> Event {
    Event::new(Message::Other(Text::default()), "")
}

impl Tracked {
    pub fn new(seq: u64, input: usize, path: PathBuf, id: Option<FileId>, now: Instant) -> Tracked {
        Tracked {
            seq,
            input,
            path,
            id,
            class: None,
            gone: false,
            detached: false,
            shown_as: None,
            finished: false,
            fingerprint: Fingerprint::default(),
            delivered: 0,
            resume_at: None,
            open: None,
            head_seen: (0, now),
            reported_unreadable: false,
            cut_at: None,
        }
    }

    /// Continues from a position given at start.
    pub fn resume_from(&mut self, position: &Position) {
        self.fingerprint = position.fingerprint;
        self.delivered = position.offset;
        self.finished = position.finished;
        self.resume_at = (position.offset > 0 && !position.finished).then_some(position.offset);
    }

    pub fn position(&self) -> Position {
        Position {
            path: self.path.clone(),
            fingerprint: self.fingerprint,
            offset: self.delivered,
            finished: self.finished,
        }
    }

    /// The open file's metadata (follows the file through renames), when open.
    pub fn open_metadata(&self) -> Option<io::Result<std::fs::Metadata>> {
        self.open.as_ref().map(|open| open.reader.get_ref().metadata())
    }

    /// True when the open file has lost its last name (deleted rather than renamed).
    pub fn is_deleted(&self) -> bool {
        match self.open_metadata() {
            Some(Ok(metadata)) => is_unlinked(&metadata),
            Some(Err(_)) | None => true,
        }
    }

    /// Closes the file: everything in it was handed out.
    pub fn finish(&mut self, problems: &mut Problems) {
        if self.is_archive() {
            problems.stats.archives_read += 1;
        }
        self.open = None;
        self.resume_at = None;
        self.finished = true;
        problems.stats.files_finished += 1;
    }

    /// Reads what is new in this file. `draining`: nothing more is expected (rotated away,
    /// deleted, or a newer segment exists): once it has stopped growing, read it to its end.
    pub fn poll(&mut self, turn: &mut Turn<'_>, draining: bool) {
        if self.finished || turn.budget == 0 {
            return;
        }
        if self.open.is_none() && !self.open_file(turn, draining) {
            return;
        }
        if !self.watch_size(turn) {
            return;
        }
        if self.resume_at.is_some() && !self.skip_to_resume_point(turn) {
            return;
        }
        let mut stop = self.read_events(turn);
        if matches!(stop, Stop::Paused) && self.settled(turn.now, turn.settle) {
            if draining {
                if let Some(open) = self.open.as_mut() {
                    open.reader.get_mut().ended = true;
                }
                stop = self.read_events(turn);
            } else {
                self.end_settled_block(turn);
            }
        }
        self.take_parse_problems(turn.problems);
        match stop {
            Stop::Ended => self.finish(turn.problems),
            Stop::Budget => turn.more = true,
            Stop::Paused | Stop::Failed => {}
        }
    }

    fn open_file(&mut self, turn: &mut Turn<'_>, draining: bool) -> bool {
        let mut path = &self.path;
        let renamed;
        if self.gone && !self.detached {
            // Renamed before it was ever opened: found beside its path, or deleted, and then
            // nothing of it can be read.
            renamed = self.id.and_then(|id| renamed_to(&self.path, id));
            let Some(renamed) = renamed.as_ref() else {
                turn.problems.push(FollowProblem::Vanished { path: self.path.clone() });
                self.finish(turn.problems);
                return false;
            };
            path = renamed;
        }
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) => {
                self.unreadable(turn.problems, &error);
                if draining && error.kind() == io::ErrorKind::NotFound {
                    self.finish(turn.problems);
                }
                return false;
            }
        };
        self.start_reading(file, turn);
        true
    }

    /// Reads `file` from its start.
    fn start_reading(&mut self, file: File, turn: &mut Turn<'_>) {
        let metadata = file.metadata().ok();
        let age = metadata
            .as_ref()
            .and_then(|meta| meta.modified().ok())
            .map_or(Duration::ZERO, |modified| turn.wall.duration_since(modified).unwrap_or(Duration::ZERO));
        let site = self.class.as_ref().map(|class| Text::from(class.site.as_str()));
        let options = ReaderOptions {
            site,
            file: Some(Arc::from(self.shown_as.as_ref().unwrap_or(&self.path).display().to_string())),
            max_line_bytes: turn.max_line_bytes,
            ..ReaderOptions::default()
        };
        if self.id.is_none() {
            self.id = metadata.as_ref().and_then(file_id);
        }
        let source = match archive_of(&file) {
            Some(compression) => match FileSource::archive(file, compression) {
                Ok(source) => source,
                Err(error) => return self.unreadable(turn.problems, &error),
            },
            None => FileSource::new(file, self.cut_at.take()),
        };
        self.reported_unreadable = false;
        self.open = Some(Box::new(OpenFile {
            reader: LogReader::new(source, options),
            building: blank_event(),
            seen_size: metadata.as_ref().map_or(0, |meta| meta.len()),
            seen_modified: metadata.as_ref().and_then(|meta| meta.modified().ok()),
            last_growth: turn.now.checked_sub(age).unwrap_or(turn.now),
        }));
    }

    /// Reports that the file cannot be read, once until it can again.
    pub fn unreadable(&mut self, problems: &mut Problems, error: &io::Error) {
        if !self.reported_unreadable {
            self.reported_unreadable = true;
            problems.push(FollowProblem::Unreadable { path: self.path.clone(), error: error.to_string() });
        }
    }

    /// Notes growth; goes on where it should when the file shrank below what was read or what
    /// was read of it changed. False when it cannot be read.
    fn watch_size(&mut self, turn: &mut Turn<'_>) -> bool {
        let Some(open) = self.open.as_mut() else { return false };
        if open.reader.get_ref().is_archive() {
            return true; // an archive does not grow: read to its end
        }
        let (size, modified) = match open.reader.get_ref().metadata() {
            Ok(metadata) => (metadata.len(), metadata.modified().ok()),
            Err(error) => {
                self.unreadable(turn.problems, &error);
                return false;
            }
        };
        let source = open.reader.get_ref();
        // Written to since last looked at (grown, or rewritten to the same size): what was
        // read must still be there.
        let written = size > open.seen_size || modified != open.seen_modified;
        open.seen_modified = modified;
        let suspect =
            size < source.file_read() || (written && !(head_unchanged(source) && tail_end_unchanged(source)));
        let cut = if suspect { find_cut(source, size) } else { Ok(None) };
        if size != open.seen_size {
            open.seen_size = size;
            open.last_growth = turn.now;
        }
        match cut {
            Ok(Some(cut)) => {
                self.restart_cut(turn, cut);
                self.open.is_some()
            }
            Ok(None) => true,
            Err(error) => {
                self.unreadable(turn.problems, &error);
                false
            }
        }
    }

    /// The file holds what was read of it only up to `cut`: hands out the block being read
    /// when its bytes are gone, then reads the file again from byte 0, skipping the events up
    /// to the cut, or up to the end of what was handed out when that comes first.
    fn restart_cut(&mut self, turn: &mut Turn<'_>, cut: u64) {
        let from = cut.min(self.delivered);
        turn.problems.push(FollowProblem::Truncated { path: self.path.clone(), from });
        if self.resume_at.is_none() && cut < self.delivered {
            self.end_block(turn);
        }
        self.take_parse_problems(turn.problems);
        let open = self.open.take();
        self.resume_at = (from > 0).then_some(from);
        self.delivered = from;
        let Some(open) = open else {
            self.fingerprint = Fingerprint::default();
            self.open_file(turn, false);
            return;
        };
        let source = open.reader.get_ref();
        let kept = usize::try_from(cut).unwrap_or(usize::MAX);
        self.fingerprint = Fingerprint::of_prefix(source.head.get(..kept).unwrap_or(&source.head));
        self.cut_at = source.cut_inside_a_line(cut).then_some(cut);
        // The same file again (its path may name another one by now: rotated away).
        match source.reopen() {
            Ok(file) => self.start_reading(file, turn),
            Err(error) => self.unreadable(turn.problems, &error),
        }
    }

    /// Re-reads the file up to its resume point, dropping the events (they were handed out
    /// before the restart). False while not there yet.
    fn skip_to_resume_point(&mut self, turn: &mut Turn<'_>) -> bool {
        let (Some(open), Some(cap)) = (self.open.as_mut(), self.resume_at) else { return true };
        open.reader.get_mut().cap = Some(cap);
        for _ in 0..turn.max_skipped {
            match open.reader.read_into(&mut open.building) {
                Ok(true) => continue,
                Ok(false) => break,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    if open.reader.get_ref().read < cap {
                        return false; // the file is shorter than the position: wait for it
                    }
                    open.reader.end_block(&mut open.building);
                    open.building = blank_event();
                    open.reader.take_problems();
                    open.reader.get_mut().cap = None;
                    turn.problems.stats.resumed_bytes += cap;
                    turn.problems.stats.positions_resumed += 1;
                    self.resume_at = None;
                    return true;
                }
                Err(error) if self.is_archive() => {
                    self.archive_damaged(turn, &error);
                    self.finish(turn.problems);
                    return false;
                }
                Err(error) => {
                    self.unreadable(turn.problems, &error);
                    return false;
                }
            }
        }
        open.reader.take_problems();
        turn.more = true;
        false
    }

    fn read_events(&mut self, turn: &mut Turn<'_>) -> Stop {
        loop {
            if turn.budget == 0 {
                return Stop::Budget;
            }
            let Some(open) = self.open.as_mut() else { return Stop::Failed };
            match open.reader.read_into(&mut open.building) {
                Ok(true) => self.hand_out(turn),
                Ok(false) => return Stop::Ended,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Stop::Paused,
                Err(error) if self.is_archive() => {
                    self.end_block(turn);
                    self.archive_damaged(turn, &error);
                    return Stop::Ended;
                }
                Err(error) => {
                    self.unreadable(turn.problems, &error);
                    return Stop::Failed;
                }
            }
        }
    }

    fn is_archive(&self) -> bool {
        self.open.as_ref().is_some_and(|open| open.reader.get_ref().is_archive())
    }

    /// A corrupt or truncated archive: said and counted; it is finished where it stops.
    fn archive_damaged(&mut self, turn: &mut Turn<'_>, error: &io::Error) {
        turn.problems.stats.archives_damaged += 1;
        self.reported_unreadable = false;
        self.unreadable(turn.problems, error);
    }

    /// Hands out the event just finished.
    fn hand_out(&mut self, turn: &mut Turn<'_>) {
        let Some(open) = self.open.as_mut() else { return };
        let event = mem::replace(&mut open.building, blank_event());
        let start_offset = self.delivered;
        self.delivered = open.reader.get_ref().file_offset(open.reader.bytes_read());
        self.note_fingerprint();
        turn.out.push(FollowedEvent {
            event,
            file: self.seq,
            start_offset,
            end_offset: self.delivered,
            fingerprint: self.fingerprint,
        });
        turn.budget -= 1;
        turn.problems.stats.events += 1;
    }

    /// The file has not grown for `settle`.
    fn settled(&self, now: Instant, settle: Duration) -> bool {
        self.open.as_ref().is_some_and(|open| now.duration_since(open.last_growth) >= settle)
    }

    /// Ends the block at the end of a file that stopped growing, unless an unterminated line
    /// follows it (the writer is in the middle of a line).
    fn end_settled_block(&mut self, turn: &mut Turn<'_>) {
        let Some(open) = self.open.as_ref() else { return };
        let all_lines_read = open.reader.get_ref().read == open.reader.bytes_read();
        if open.reader.in_block() && all_lines_read && turn.budget > 0 {
            self.end_block(turn);
        }
    }

    fn end_block(&mut self, turn: &mut Turn<'_>) {
        let Some(open) = self.open.as_mut() else { return };
        if turn.budget > 0 && open.reader.end_block(&mut open.building) {
            self.hand_out(turn);
        }
    }

    /// Takes the longer fingerprint of the bytes read (a resumed file starts with the one of
    /// its position, which may cover more than read so far).
    fn note_fingerprint(&mut self) {
        if let Some(open) = self.open.as_ref() {
            let read = open.reader.get_ref().fingerprint;
            if read.len > self.fingerprint.len {
                self.fingerprint = read;
            }
        }
    }

    fn take_parse_problems(&mut self, problems: &mut Problems) {
        self.note_fingerprint();
        let Some(open) = self.open.as_mut() else { return };
        for problem in open.reader.take_problems() {
            problems.push(FollowProblem::Parse(problem));
        }
    }
}

/// The first bytes read from the file are still there (not a copytruncate rewritten past
/// the read position).
fn head_unchanged(source: &FileSource) -> bool {
    let expected = source.fingerprint;
    match head_of(source, expected.len as usize) {
        Ok(head) => Fingerprint::of_prefix(&head) == expected,
        Err(_) => true,
    }
}
