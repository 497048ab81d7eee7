//! The [`Follower`]: the set of followed files, found from the inputs and kept up to date
//! as files appear, rotate and vanish; their grouping by site with each site's segments in
//! order; positions in and out.

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use callstitch_clock::{Clock, SystemClock};

use crate::config::FollowConfig;
use crate::discover::{self, class_by_name, classify, Found};
use crate::position::{archive_kind, read_log_head, Fingerprint, Position, FINGERPRINT_BYTES};
use crate::problem::{FollowProblem, FollowStats, Problems};
use crate::source::cut_inside_a_line;
use crate::tracked::{Tracked, Turn};
use crate::{FollowedEvent, PollReport};

/// How many files read to their end and forgotten (rotated away, deleted) keep their
/// position, as finished: an archive of one of them is not read again, across restarts too.
pub const REMEMBERED_FILES: usize = 128;

/// Follows the inputs of a [`FollowConfig`]. See the crate documentation.
pub struct Follower {
    config: FollowConfig,
    /// Where quiet periods and file ages are measured ([`SystemClock`] unless a test
    /// gives its own).
    clock: Arc<dyn Clock>,
    watches: Vec<InputWatch>,
    files: Vec<Tracked>,
    /// The positions given to `new`, matched to files at the first poll.
    restored: Option<Vec<Position>>,
    next_seq: u64,
    problems: Problems,
    /// Unfinished, classed files by site, each site's segments in reading order.
    groups: Vec<Vec<usize>>,
    groups_dirty: bool,
    /// The site of each group.
    group_sites: Vec<String>,
    /// The site read first in the next poll (sites take turns).
    turn: usize,
    /// Files with events handed out but not yet committed by the caller: kept even when
    /// finished and gone, so their positions can still be given.
    held: std::collections::BTreeSet<u64>,
    /// Listed paths that are not regular files (reported once while they stay so).
    not_regular: std::collections::BTreeSet<std::path::PathBuf>,
    /// Files read to their end and forgotten, newest last (at most [`REMEMBERED_FILES`]):
    /// what an archive appearing later is checked against.
    remembered: std::collections::VecDeque<Position>,
}

/// How a per-site poll went for one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteRead {
    pub site: String,
    /// Events handed out for it.
    pub events: usize,
    /// It spent its budget: more may be ready at once.
    pub more: bool,
}

/// When an input was last listed.
#[derive(Default)]
struct InputWatch {
    listed_at: Option<Instant>,
    dir_modified: Option<SystemTime>,
    reported: bool,
}

impl Follower {
    /// A follower of `config`'s inputs, resuming every file of `positions` where it was (a
    /// position whose file is gone is dropped and counted); other files start at byte 0.
    /// Nothing is read before the first [`Follower::poll`].
    pub fn new(config: FollowConfig, positions: Vec<Position>) -> Follower {
        Follower::with_clock(config, positions, Arc::new(SystemClock))
    }

    /// [`Follower::new`] on `clock`: how long a file has been quiet (`settle`,
    /// `archive_settle`), how old it is and when directories are listed again are measured on
    /// it (a test's [`callstitch_clock::TestClock`], moved by hand).
    pub fn with_clock(config: FollowConfig, positions: Vec<Position>, clock: Arc<dyn Clock>) -> Follower {
        let watches = config.inputs.iter().map(|_| InputWatch::default()).collect();
        let problems = Problems::new(config.max_kept_problems);
        Follower {
            config,
            clock,
            watches,
            files: Vec::new(),
            restored: Some(positions),
            next_seq: 0,
            problems,
            groups: Vec::new(),
            group_sites: Vec::new(),
            groups_dirty: true,
            turn: 0,
            held: std::collections::BTreeSet::new(),
            not_regular: std::collections::BTreeSet::new(),
            remembered: std::collections::VecDeque::new(),
        }
    }

    /// Reads what is new in every file and appends at most `max_events` events to `out`,
    /// without waiting for anything.
    pub fn poll(&mut self, max_events: usize, out: &mut Vec<FollowedEvent>) -> PollReport {
        let now = self.refresh();
        let before = out.len();
        let more = self.read(now, None, max_events, out);
        self.turn = self.turn.wrapping_add(1);
        self.forget_closed();
        PollReport { events: out.len() - before, more, problems: self.problems.kept.len() }
    }

    /// Like [`Follower::poll`], but each site reads at most `budget_of(site)` events (0:
    /// not read this time), and the report says for each site whether it spent its budget.
    /// For callers that merge the sites by time and hold events back meanwhile.
    pub fn poll_sites(
        &mut self,
        budget_of: &dyn Fn(&str) -> usize,
        out: &mut Vec<FollowedEvent>,
    ) -> Vec<SiteRead> {
        let now = self.refresh();
        let mut reads = Vec::with_capacity(self.groups.len());
        for group in 0..self.groups.len() {
            let Some(site) = self.group_sites.get(group).cloned() else { continue };
            let budget = budget_of(&site);
            if budget == 0 {
                continue;
            }
            let before = out.len();
            let more = self.read(now, Some(group), budget, out);
            reads.push(SiteRead { site, events: out.len() - before, more });
        }
        self.forget_closed();
        reads
    }

    /// Reads up to `budget` events from one site's group, or from every group starting
    /// with this poll's turn; true when the budget ran out with more to read.
    fn read(
        &mut self,
        now: Instant,
        group: Option<usize>,
        budget: usize,
        out: &mut Vec<FollowedEvent>,
    ) -> bool {
        let mut turn = Turn {
            now,
            wall: self.clock.wall(),
            settle: self.config.settle,
            max_line_bytes: self.config.max_line_bytes,
            max_skipped: self.config.max_skipped_per_poll,
            budget,
            more: false,
            out,
            problems: &mut self.problems,
        };
        match group {
            Some(group) => {
                read_groups(&mut self.files, self.groups.get(group..=group).unwrap_or_default(), 0, &mut turn)
            }
            None => read_groups(&mut self.files, &self.groups, self.turn, &mut turn),
        }
        turn.more
    }

    /// Says which files have events the caller holds back (not committed yet), so they are
    /// not forgotten when they end and are removed.
    pub fn hold(&mut self, files: impl IntoIterator<Item = u64>) {
        self.held = files.into_iter().collect();
    }

    /// The positions to commit when the caller holds back some events: for each file in
    /// `held` (file → the start offset of its oldest event held back), that offset, not
    /// finished; every other file as [`Follower::positions`] gives it.
    pub fn positions_holding(&self, held: &std::collections::BTreeMap<u64, u64>) -> Vec<Position> {
        let known = self.files.iter().filter(|file| {
            file.fingerprint.len > 0 || file.delivered > 0 || file.finished || held.contains_key(&file.seq)
        });
        let mut positions: Vec<Position> = known
            .map(|file| {
                let mut position = file.position();
                if let Some(offset) = held.get(&file.seq) {
                    position.offset = *offset;
                    position.finished = false;
                }
                position
            })
            .collect();
        if let Some(restored) = &self.restored {
            positions.extend(restored.iter().cloned());
        }
        positions.extend(self.remembered.iter().cloned());
        positions
    }

    /// Lists the inputs (matching the positions given at start, the first time), classes
    /// new files, and regroups them by site when that changed.
    fn refresh(&mut self) -> Instant {
        let now = self.clock.now();
        match self.restored.take() {
            Some(positions) => self.first_scan(positions, now),
            None => self.watch_inputs(now),
        }
        self.classify(now);
        if self.groups_dirty {
            self.build_groups();
        }
        now
    }

    /// The position of every file, matching exactly the events handed out so far: commit
    /// these with those events.
    pub fn positions(&self) -> Vec<Position> {
        let known =
            self.files.iter().filter(|file| file.fingerprint.len > 0 || file.delivered > 0 || file.finished);
        let mut positions: Vec<Position> = known.map(Tracked::position).collect();
        if let Some(restored) = &self.restored {
            positions.extend(restored.iter().cloned());
        }
        positions.extend(self.remembered.iter().cloned());
        positions
    }

    /// The problems met since the last call, in the order met.
    pub fn take_problems(&mut self) -> Vec<FollowProblem> {
        std::mem::take(&mut self.problems.kept)
    }

    pub fn stats(&self) -> &FollowStats {
        &self.problems.stats
    }

    // --- finding files ---

    fn list(&mut self, input: usize, now: Instant) -> Option<Vec<Found>> {
        let stat = std::fs::metadata(&self.config.inputs.get(input)?.path);
        self.list_after_stat(input, stat, now)
    }

    fn list_after_stat(
        &mut self,
        input: usize,
        stat: std::io::Result<std::fs::Metadata>,
        now: Instant,
    ) -> Option<Vec<Found>> {
        let watch = self.watches.get_mut(input)?;
        let config = self.config.inputs.get(input)?;
        match discover::list(config, stat) {
            Ok(found) => {
                watch.listed_at = Some(now);
                watch.reported = false;
                Some(self.regular_files(input, found))
            }
            Err(error) => {
                if !watch.reported {
                    watch.reported = true;
                    let path = config.path.clone();
                    self.problems.push(FollowProblem::Unreadable { path, error: error.to_string() });
                }
                None
            }
        }
    }

    /// The regular files of a listing of `input`; the others are reported, once while they
    /// stay (a FIFO, a directory named like a log: never opened).
    fn regular_files(&mut self, input: usize, found: Vec<Found>) -> Vec<Found> {
        let (regular, other): (Vec<Found>, Vec<Found>) = found.into_iter().partition(|found| found.regular);
        let Some(path) = self.config.inputs.get(input).map(|input| &input.path) else { return regular };
        let of_input = |known: &std::path::PathBuf| known == path || known.parent() == Some(path.as_path());
        let listed: std::collections::BTreeSet<_> = other.iter().map(|found| found.path.clone()).collect();
        self.not_regular.retain(|known| !of_input(known) || listed.contains(known));
        for found in other {
            if self.not_regular.insert(found.path.clone()) {
                let error =
                    "not a regular file (a FIFO, socket, device or directory): not opened".to_string();
                self.problems.push(FollowProblem::Unreadable { path: found.path, error });
            }
        }
        regular
    }

    fn add(&mut self, input: usize, found: &Found, now: Instant) -> usize {
        self.files.push(Tracked::new(self.next_seq, input, found.path.clone(), found.id, now));
        self.next_seq += 1;
        self.groups_dirty = true;
        self.files.len() - 1
    }

    /// The first listing, and the positions given matched to its files.
    fn first_scan(&mut self, positions: Vec<Position>, now: Instant) {
        for input in 0..self.config.inputs.len() {
            let config = self.config.inputs.get(input);
            if let Some(watch) = self.watches.get_mut(input) {
                watch.dir_modified = config.and_then(|config| dir_modified(&config.path));
            }
            for found in self.list(input, now).unwrap_or_default() {
                self.add(input, &found, now);
            }
        }
        let mut matched = vec![false; self.files.len()];
        let mut heads = Heads::default();
        for position in positions {
            // A rotated copy resumed below adds a file: keep one flag per file.
            matched.resize(self.files.len(), false);
            match self.match_position(&position, &matched, &mut heads) {
                Some(index) => {
                    if let Some(flag) = matched.get_mut(index) {
                        *flag = true;
                    }
                    self.resume(index, &position);
                }
                None => self.resume_rotated_copy(&position, now),
            }
        }
    }

    /// The listed file a position is about: at its path, else wherever its fingerprint is.
    fn match_position(&self, position: &Position, matched: &[bool], heads: &mut Heads) -> Option<usize> {
        let fingerprint = position.fingerprint;
        let at_path = self.files.iter().enumerate().position(|(index, file)| {
            matched.get(index) == Some(&false)
                && file.path == position.path
                && (fingerprint.len == 0 || heads.matches(fingerprint, &file.path))
        });
        if at_path.is_some() || fingerprint.len == 0 {
            return at_path;
        }
        self.files.iter().enumerate().position(|(index, file)| {
            matched.get(index) == Some(&false) && heads.matches(fingerprint, &file.path)
        })
    }

    /// Resumes a file at its position. The file was matched by its first bytes, so one now
    /// shorter than the position was cut short while the service was stopped: it goes on
    /// from the cut (what it holds before was handed out), the cut line ended there.
    fn resume(&mut self, index: usize, position: &Position) {
        let Some(file) = self.files.get_mut(index) else { return };
        let size = std::fs::metadata(&file.path).map_or(0, |metadata| metadata.len());
        // An archive's offsets are those of the log inside: it is never cut short.
        let archive = archive_kind(&file.path).ok().flatten().is_some();
        if size < position.offset && !position.finished && !archive {
            self.problems.push(FollowProblem::Truncated { path: file.path.clone(), from: size });
            let cut = Position { offset: size, ..position.clone() };
            file.resume_from(&cut);
            file.cut_at = std::fs::File::open(&file.path)
                .is_ok_and(|open| cut_inside_a_line(&open, size))
                .then_some(size);
            return;
        }
        file.resume_from(position);
    }

    /// A followed file renamed away before the restart (`app.log` now `app.log.1`): found
    /// beside its old path by its fingerprint, drained before what replaced it.
    fn resume_rotated_copy(&mut self, position: &Position, now: Instant) {
        let input = self.input_of(&position.path);
        let candidates = if position.fingerprint.len > 0 && !position.finished {
            discover::rotated_copies(&position.path)
        } else {
            Vec::new()
        };
        let copy = candidates.into_iter().find(|copy| {
            !self.files.iter().any(|file| file.path == copy.path)
                && position.fingerprint.matches_file(&copy.path)
        });
        match (input, copy) {
            (Some(input), Some(copy)) => {
                let index = self.add(input, &copy, now);
                let name = self.config.inputs.get(input).and_then(|input| input.site.as_deref());
                if let Some(file) = self.files.get_mut(index) {
                    file.gone = true;
                    file.class = Some(class_by_name(&position.path, name));
                    if let Ok(Some(class)) = classify(&copy.path, name, true) {
                        file.class = Some(class);
                    }
                    file.detached = true;
                    file.shown_as = Some(position.path.clone());
                }
                self.resume(index, position);
            }
            // A file read to its end and gone since (rotated away, deleted): remembered, so
            // that an archive of it is not read again.
            _ if position.finished => self.remember(position.clone()),
            _ => {
                let (path, offset) = (position.path.clone(), position.offset);
                self.problems.push(FollowProblem::PositionLost { path, offset });
            }
        }
    }

    /// The input a path belongs to: the file itself or its directory.
    fn input_of(&self, path: &Path) -> Option<usize> {
        self.config
            .inputs
            .iter()
            .position(|input| input.path == path || path.parent() == Some(input.path.as_path()))
    }

    /// Lists inputs that may have changed: files every poll (one stat), directories when
    /// their modification time changed or `rescan` has passed.
    fn watch_inputs(&mut self, now: Instant) {
        for input in 0..self.config.inputs.len() {
            let Some(config) = self.config.inputs.get(input) else { continue };
            let stat = std::fs::metadata(&config.path);
            let modified =
                stat.as_ref().ok().filter(|meta| meta.is_dir()).and_then(|meta| meta.modified().ok());
            let Some(watch) = self.watches.get_mut(input) else { continue };
            let due = watch.listed_at.is_none_or(|at| now.duration_since(at) >= self.config.rescan);
            if modified.is_some() && modified == watch.dir_modified && !due {
                continue;
            }
            watch.dir_modified = modified;
            if let Some(found) = self.list_after_stat(input, stat, now) {
                self.reconcile(input, &found, now);
            }
        }
    }

    /// Brings the files of an input in line with a listing: renamed within the input,
    /// gone (rotated away or deleted: drained), or new.
    fn reconcile(&mut self, input: usize, found: &[Found], now: Instant) {
        let mut seen = vec![false; found.len()];
        for index in 0..self.files.len() {
            let Some(file) = self.files.get(index) else { continue };
            if file.input != input || file.gone {
                continue;
            }
            let same = |entry: &Found| match (entry.id, file.id) {
                (Some(a), Some(b)) => a == b,
                _ => entry.path == file.path,
            };
            match found.iter().zip(seen.iter_mut()).find(|(entry, _)| same(entry)) {
                Some((entry, seen)) => {
                    *seen = true;
                    if entry.path != file.path {
                        let path = entry.path.clone();
                        if let Some(file) = self.files.get_mut(index) {
                            file.path = path;
                        }
                    }
                }
                None => self.mark_gone(index),
            }
        }
        for (entry, seen) in found.iter().zip(seen) {
            if !seen {
                self.add(input, entry, now);
            }
        }
    }

    fn mark_gone(&mut self, index: usize) {
        let Some(file) = self.files.get_mut(index) else { return };
        file.gone = true;
        self.groups_dirty = true;
        if file.finished {
            return;
        }
        if file.open.is_none() {
            return; // reported when its turn comes
        }
        if file.is_deleted() {
            self.problems.push(FollowProblem::Vanished { path: file.path.clone() });
        } else {
            self.problems.stats.rotated += 1;
        }
    }

    /// Drops files that are read to their end and no input names any more (remembering
    /// their positions).
    fn forget_closed(&mut self) {
        let held = &self.held;
        let (closed, kept): (Vec<Tracked>, Vec<Tracked>) = std::mem::take(&mut self.files)
            .into_iter()
            .partition(|file| file.finished && file.gone && !held.contains(&file.seq));
        self.files = kept;
        if !closed.is_empty() {
            self.groups_dirty = true;
        }
        for file in closed.into_iter().filter(|file| file.fingerprint.len > 0) {
            self.remember(file.position());
        }
    }

    fn remember(&mut self, position: Position) {
        self.remembered.push_back(Position { finished: true, ..position });
        while self.remembered.len() > REMEMBERED_FILES {
            self.remembered.pop_front();
        }
    }

    /// An archive (its log's first bytes given) whose log was read already, or is being
    /// read: a followed file or a remembered one has its fingerprint.
    fn read_already(&self, index: usize, head: &[u8]) -> bool {
        let same = |fingerprint: &Fingerprint| {
            let len = fingerprint.len as usize;
            len > 0 && head.get(..len).is_some_and(|prefix| Fingerprint::of_prefix(prefix) == *fingerprint)
        };
        let followed = self.files.iter().enumerate().any(|(other, file)| {
            other != index && (file.class.is_some() || file.finished) && same(&file.fingerprint)
        });
        followed || self.remembered.iter().any(|position| same(&position.fingerprint))
    }

    /// Whether an archive may be classed now: it has not changed for `archive_settle` (the
    /// compressor writes it in steps). Plain files: always.
    fn archive_ready(&self, index: usize, changed: bool, now: Instant) -> Option<bool> {
        let file = self.files.get(index)?;
        let metadata = std::fs::metadata(&file.path).ok()?;
        archive_kind(&file.path).ok()??;
        let settle = self.config.archive_settle;
        let age = metadata.modified().ok().and_then(|time| self.clock.wall().duration_since(time).ok());
        Some(
            age.is_some_and(|age| age >= settle)
                || (!changed && now.duration_since(file.head_seen.1) >= settle),
        )
    }

    /// Skips an archive whose log was read already; true when it did.
    fn skip_if_read_already(&mut self, index: usize) -> bool {
        let Some(file) = self.files.get(index) else { return false };
        let Ok(head) = read_log_head(&file.path, FINGERPRINT_BYTES as usize) else {
            return false;
        };
        if !self.read_already(index, &head) {
            return false;
        }
        let Some(file) = self.files.get_mut(index) else { return false };
        file.fingerprint = Fingerprint::of_prefix(&head);
        file.finished = true;
        self.problems.stats.archives_already_read += 1;
        true
    }

    // --- ordering ---

    /// Classes the files not classed yet (their site and start, from their header).
    fn classify(&mut self, now: Instant) {
        let settle = self.config.settle;
        for index in 0..self.files.len() {
            let Some(file) = self.files.get_mut(index) else { continue };
            if file.class.is_some() || file.finished {
                continue;
            }
            let name = self.config.inputs.get(file.input).and_then(|input| input.site.clone());
            let name = name.as_deref();
            if file.gone {
                file.class = Some(class_by_name(&file.path, name));
                self.groups_dirty = true;
                continue;
            }
            let Ok(size) = std::fs::metadata(&file.path).map(|metadata| metadata.len()) else { continue };
            let changed = size != file.head_seen.0;
            if changed {
                file.head_seen = (size, now);
            }
            let settled = now.duration_since(file.head_seen.1) >= settle;
            if !(changed || settled) {
                continue;
            }
            let archive = match self.archive_ready(index, changed, now) {
                Some(false) => continue,
                Some(true) if self.skip_if_read_already(index) => continue,
                Some(true) => true,
                None => false,
            };
            let Some(file) = self.files.get_mut(index) else { continue };
            // Tried again at every poll until it can be read (its permissions fixed).
            match classify(&file.path, name, settled || archive) {
                Ok(Some(class)) => {
                    file.class = Some(class);
                    file.reported_unreadable = false;
                    self.groups_dirty = true;
                }
                Ok(None) => {}
                Err(error) => file.unreadable(&mut self.problems, &error),
            }
        }
    }

    /// Groups the unfinished, classed files by site, each site's segments oldest first (by
    /// the header's start time; a file rotated away before what replaced it; a file without a
    /// start time last, unless it was rotated away).
    fn build_groups(&mut self) {
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for (index, file) in self.files.iter().enumerate() {
            let Some(class) = file.class.as_ref().filter(|_| !file.finished) else { continue };
            match groups.iter_mut().find(|(site, _)| *site == class.site) {
                Some((_, members)) => members.push(index),
                None => groups.push((class.site.clone(), vec![index])),
            }
        }
        let files = &self.files;
        for (_, members) in &mut groups {
            members.sort_by_key(|index| {
                files.get(*index).map(|file| {
                    let started = file.class.as_ref().and_then(|class| class.started.clone());
                    // A file still there whose start is not known (its header is not complete,
                    // or was cut away) is the one being written: the newest.
                    (started.is_none() && !file.gone, started, !file.gone, file.seq)
                })
            });
        }
        self.group_sites = groups.iter().map(|(site, _)| site.clone()).collect();
        self.groups = groups.into_iter().map(|(_, members)| members).collect();
        self.groups_dirty = false;
    }
}

/// The first bytes of the listed files' logs (decompressed, for archives), read once for
/// all the positions matched at start (up to [`REMEMBERED_FILES`] of them and more).
#[derive(Default)]
struct Heads(std::collections::HashMap<std::path::PathBuf, Option<Vec<u8>>>);

impl Heads {
    fn matches(&mut self, fingerprint: Fingerprint, path: &Path) -> bool {
        let head = self
            .0
            .entry(path.to_path_buf())
            .or_insert_with(|| read_log_head(path, FINGERPRINT_BYTES as usize).ok());
        let len = fingerprint.len as usize;
        head.as_ref().is_some_and(|head| {
            head.get(..len).is_some_and(|prefix| Fingerprint::of_prefix(prefix) == fingerprint)
        })
    }
}

/// Reads each site's current segment (the oldest unfinished one), sites in turn; a segment
/// finished in this poll hands over to the next one at once.
fn read_groups(files: &mut [Tracked], groups: &[Vec<usize>], first: usize, turn: &mut Turn<'_>) {
    for offset in 0..groups.len() {
        let Some(group) = groups.get((first + offset) % groups.len()) else { continue };
        for (rank, &index) in group.iter().enumerate() {
            let Some(file) = files.get_mut(index) else { continue };
            if file.finished {
                continue;
            }
            let draining = file.gone || rank + 1 < group.len();
            file.poll(turn, draining);
            if !file.finished {
                break;
            }
        }
        if turn.budget == 0 {
            turn.more = true;
            return;
        }
    }
}

/// A directory's modification time (`None` for a file or a missing path).
fn dir_modified(path: &Path) -> Option<SystemTime> {
    let metadata = std::fs::metadata(path).ok()?;
    metadata.is_dir().then(|| metadata.modified().ok()).flatten()
}
