//! A followed file that shrinks: cut short (its first bytes as they were) it goes on from the
//! cut, nothing handed out twice and what is written after the cut read; rewritten (new first
//! bytes, a copytruncate) it is read from byte 0. And the property: any sequence of appends,
//! cuts, copytruncates and rename rotations hands out every block that was whole in the file
//! when the follower looked exactly once, and no block twice.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use callstitch_follow::{FollowConfig, FollowInput, FollowProblem, FollowedEvent, Follower};
use common::*;
use proptest::prelude::*;

fn cut(path: &Path, size: usize) {
    std::fs::OpenOptions::new().write(true).open(path).expect("file").set_len(size as u64).expect("cut");
}

fn size(path: &Path) -> usize {
    std::fs::metadata(path).expect("file").len() as usize
}

/// An offset inside a line, near `at`.
fn inside_a_line(text: &[u8], mut at: usize) -> usize {
    while text[at - 1] == b'\n' {
        at += 1;
    }
    at
}

#[test]
fn a_file_cut_short_inside_a_line_goes_on_from_the_cut() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "app.log");
    append(&path, &header("TS1", 10));
    append(&path, &blocks(1..=10));
    let mut follower = follower(&[&path], Vec::new());
    assert_eq!(seqs(&drain(&mut follower, 1000)), (1..=10).collect::<Vec<_>>());

    // Cut, and written on before the follower looks again: where the cut was is found.
    let text = std::fs::read(&path).expect("file");
    let at = inside_a_line(&text, text.len() / 2);
    cut(&path, at);
    append(&path, &blocks(11..=13));
    let out = drain(&mut follower, 1000);
    assert_eq!(seqs(&out), [11, 12, 13]);
    assert!(out.iter().all(|followed| !followed.event.incomplete));
    let problems = follower.take_problems();
    assert!(
        problems
            .iter()
            .any(|problem| matches!(problem, FollowProblem::Truncated { from, .. } if *from == at as u64)),
        "{problems:?}"
    );
    assert_eq!(follower.positions()[0].offset, size(&path) as u64);

    // Cut at a line's end, seen before anything more is written.
    let text = std::fs::read(&path).expect("file");
    let line_end = text[..text.len() * 3 / 4].iter().rposition(|byte| *byte == b'\n').expect("lines") + 1;
    cut(&path, line_end);
    assert!(drain(&mut follower, 1000).is_empty());
    append(&path, &blocks(14..=15));
    assert_eq!(seqs(&drain(&mut follower, 1000)), [14, 15]);
}

#[test]
fn a_file_cut_inside_a_block_not_yet_handed_out_hands_out_what_is_left_of_it_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "app.log");
    append(&path, &header("TS1", 10));
    append(&path, &blocks(1..=2));
    let mut follower = follower(&[&path], Vec::new());
    assert_eq!(seqs(&drain(&mut follower, 1000)), [1, 2]);
    let before = size(&path);
    let third = block(3);
    let half = inside_a_line(&third, third.len() / 2);
    append(&path, &third[..half]);
    // Read (the block is not complete yet), then cut inside what was read.
    assert!(poll_now(&mut follower).is_empty());
    cut(&path, before + half - 5);
    append(&path, &blocks(4..=4));
    let out = drain(&mut follower, 1000);
    assert_eq!(seqs(&out), [3, 4], "what is left of 3, then 4");
}

#[test]
fn a_file_cut_while_the_service_was_stopped_goes_on_from_the_cut() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "app.log");
    append(&path, &header("TS1", 10));
    append(&path, &blocks(1..=10));
    let mut first = follower(&[&path], Vec::new());
    assert_eq!(seqs(&drain(&mut first, 1000)), (1..=10).collect::<Vec<_>>());
    let positions = first.positions();
    drop(first);

    let text = std::fs::read(&path).expect("file");
    cut(&path, inside_a_line(&text, text.len() * 2 / 3));
    let mut again = follower(&[&path], positions);
    assert!(drain(&mut again, 1000).is_empty(), "nothing read twice");
    append(&path, &blocks(11..=12));
    assert_eq!(seqs(&drain(&mut again, 1000)), [11, 12]);
}

// --- the property ---

#[derive(Debug, Clone)]
enum Op {
    /// The writer appends this many whole blocks.
    Append(u8),
    /// The follower polls until it has nothing more.
    Drain,
    /// The follower polls once, for at most this many events.
    Poll(u8),
    /// The file is cut to this many thousandths of its size.
    Cut(u16),
    /// Copied away and truncated to 0; the writer goes on appending.
    CopyTruncate,
    /// Renamed away; the writer starts a new file with its header.
    Rename,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u8..5).prop_map(Op::Append),
        2 => Just(Op::Drain),
        2 => (1u8..4).prop_map(Op::Poll),
        2 => (0u16..1000).prop_map(Op::Cut),
        1 => Just(Op::CopyTruncate),
        1 => Just(Op::Rename),
    ]
}

/// What the writer has written: the live file's blocks (number, start, end, whole) and its
/// size.
struct Writer {
    path: PathBuf,
    next: u64,
    blocks: Vec<(u64, usize, usize, bool)>,
    size: usize,
    hour: i64,
    rotated: usize,
    /// The follower polled since the live file was created, while it held something (it
    /// opened it, and follows it when it is renamed away; a file renamed before it was ever
    /// opened cannot be).
    seen: bool,
    /// How far the follower has read the live file (it reads all there is when it polls).
    read_to: usize,
    /// The file was cut inside a line the follower never read: the next block's first line
    /// is glued to the cut one, in a file that shows no sign of the cut.
    glued: bool,
}

impl Writer {
    fn new(path: PathBuf) -> Writer {
        let mut writer = Writer {
            path,
            next: 1,
            blocks: Vec::new(),
            size: 0,
            hour: 1,
            rotated: 0,
            seen: false,
            read_to: 0,
            glued: false,
        };
        writer.start_file();
        writer
    }

    fn start_file(&mut self) {
        let text = header("TS1", self.hour);
        self.hour += 1;
        append(&self.path, &text);
        self.size = text.len();
        self.blocks.clear();
        self.seen = false;
        self.read_to = 0;
        self.glued = false;
    }

    fn append(&mut self, count: u8) {
        for _ in 0..count {
            let text = block(self.next);
            append(&self.path, &text);
            let whole = !std::mem::take(&mut self.glued);
            self.blocks.push((self.next, self.size, self.size + text.len(), whole));
            self.size += text.len();
            self.next += 1;
        }
    }

    fn cut(&mut self, size: usize) {
        let text = std::fs::read(&self.path).expect("file");
        let inside_a_line = size > 0 && text[size - 1] != b'\n';
        self.glued = inside_a_line && size >= self.read_to;
        // What the follower read past the cut is gone: it knows the file up to the cut only.
        self.read_to = self.read_to.min(size);
        cut(&self.path, size);
        self.size = size;
        self.blocks.retain(|(_, _, end, _)| *end <= size);
    }

    /// The follower drained: it read all there is.
    fn polled(&mut self) {
        self.seen |= self.size > 0;
        self.read_to = self.size;
    }

    /// Blocks whole in the live file.
    fn whole(&self) -> impl Iterator<Item = u64> + '_ {
        self.blocks.iter().filter(|block| block.3).map(|(number, _, _, _)| *number)
    }
}

fn fast_follower(path: &Path) -> Follower {
    let input = FollowInput { site: None, path: path.to_path_buf() };
    // Blocks are written whole: a block at the end of the file is complete at once.
    Follower::new(FollowConfig { settle: Duration::ZERO, ..FollowConfig::new(vec![input]) }, Vec::new())
}

fn drain_now(follower: &mut Follower, out: &mut Vec<FollowedEvent>) {
    let mut idle = 0;
    while idle < 3 {
        let report = follower.poll(1000, out);
        idle = if report.events == 0 && !report.more { idle + 1 } else { 0 };
    }
}

/// The event is block `seq` as written, whole.
fn is_block(event: &callstitch_tlib::Event, seq: u64) -> bool {
    let written = common::event(seq);
    !event.incomplete
        && event.conn_id == written.conn_id
        && event.this_dn == written.this_dn
        && event.user_data == written.user_data
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "app.log");
    let mut writer = Writer::new(path.clone());
    let mut follower = fast_follower(&path);
    let mut out = Vec::new();
    // Blocks that were whole in a file when the follower drained it.
    let mut owed = BTreeSet::new();
    for op in ops {
        match op {
            Op::Append(count) => writer.append(*count),
            Op::Drain => {
                drain_now(&mut follower, &mut out);
                writer.polled();
                owed.extend(writer.whole());
            }
            Op::Poll(max) => {
                // (Its budget may be spent on a rotated file: the live one may not be read.)
                follower.poll(usize::from(*max), &mut out);
            }
            Op::Cut(thousandths) => {
                // A file cut to a few bytes, then cut again and rewritten starting with the same
                // few bytes, cannot be told from one still cut there: cuts keep at least a
                // line's worth of bytes, or none.
                let size = writer.size * usize::from(*thousandths) / 1000;
                writer.cut(if size < 64 { 0 } else { size });
            }
            Op::CopyTruncate => {
                std::fs::copy(&path, path.with_extension(format!("log.copy{}", writer.rotated)))
                    .expect("copy");
                writer.rotated += 1;
                writer.cut(0);
            }
            Op::Rename => {
                // Renamed away with its blocks: the follower drains it.
                if writer.seen {
                    owed.extend(writer.whole());
                }
                std::fs::rename(&path, path.with_extension(format!("log.{}", writer.rotated)))
                    .expect("rename");
                writer.rotated += 1;
                writer.start_file();
            }
        }
    }
    drain_now(&mut follower, &mut out);
    owed.extend(writer.whole());

    // A block is known by its whole content (a block cut short may carry a cut number).
    let mut handed_out: BTreeMap<u64, usize> = BTreeMap::new();
    for followed in &out {
        if let Some(seq) = followed.event.seq.filter(|seq| is_block(&followed.event, *seq)) {
            *handed_out.entry(seq).or_default() += 1;
        }
    }
    let twice: Vec<u64> = handed_out.iter().filter(|(_, count)| **count > 1).map(|(seq, _)| *seq).collect();
    prop_assert!(twice.is_empty(), "handed out twice: {twice:?}; {:?}", follower.take_problems());
    let missing: Vec<u64> = owed.iter().filter(|seq| !handed_out.contains_key(seq)).copied().collect();
    prop_assert!(missing.is_empty(), "never handed out whole: {missing:?}; {:?}", follower.take_problems());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_appends_cuts_and_rotations_hand_out_every_whole_block_once(ops in proptest::collection::vec(op(), 1..40)) {
        run(&ops)?;
    }
}
