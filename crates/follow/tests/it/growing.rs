//! A file written in pieces while followed: every event comes out once, whole, and only once
//! its block is complete (the next line was written, or the file stopped growing with its
//! last line ended); noise and over-long lines are counted and following goes on.

use crate::common;

use std::time::Duration;

use callstitch_follow::{FollowProblem, Follower};
use callstitch_tlib::tlog::ProblemKind;
use common::*;

#[test]
fn events_written_in_pieces_come_out_once_whole_and_only_when_complete() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "TS1.log");
    append(&path, &header("TS1", 10));
    append(&path, &block(1));
    let mut follower = follower(&[&path], Vec::new());
    let mut out = poll_now(&mut follower);
    assert_eq!(seqs(&out), [1], "a block ended by its blank line is complete at once");

    let second = block(2);
    let half_block = second.iter().position(|byte| *byte == b'\n').expect("lines") + 1;
    let half_line = half_block + 10;
    append(&path, &second[..half_block]);
    assert!(poll_now(&mut follower).is_empty(), "half a block, the file still growing");
    append(&path, &second[half_block..half_line]);
    assert!(poll_now(&mut follower).is_empty(), "growth seen");
    std::thread::sleep(SETTLE * 3);
    assert!(poll_now(&mut follower).is_empty(), "a line without its newline is never read, even settled");
    append(&path, &second[half_line..]);
    append(&path, &block(3)[..20]);
    out.extend(poll_now(&mut follower));
    assert_eq!(seqs(&out), [1, 2], "block 2 ended by its blank line; block 3 not yet");
    append(&path, &block(3)[20..]);
    out.extend(drain(&mut follower, 1000));
    assert_eq!(seqs(&out), [1, 2, 3]);
    assert_eq!(json(&out), read_whole(&path), "exactly the events of one plain read");
    assert!(out.iter().all(|followed| !followed.event.incomplete));
    assert_eq!(follower.stats().events, 3);
    assert!(follower.take_problems().is_empty());
}

#[test]
fn a_block_with_nothing_after_it_is_handed_out_once_the_file_settles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "TS1.log");
    append(&path, &header("TS1", 10));
    let mut follower = follower(&[&path], Vec::new());
    assert!(poll_now(&mut follower).is_empty());
    let mut text = block(1);
    text.pop(); // no blank line: the block could still grow
    append(&path, &text);
    assert!(poll_now(&mut follower).is_empty(), "just written: may still grow");
    std::thread::sleep(SETTLE + Duration::from_millis(10));
    let out = poll_now(&mut follower);
    assert_eq!(seqs(&out), [1], "settled");
    assert!(!out[0].event.incomplete);
    assert_eq!(out[0].end_offset, std::fs::metadata(&path).expect("file").len());
    append(&path, &block(2));
    assert_eq!(seqs(&poll_now(&mut follower)), [2]);
}

#[test]
fn the_next_event_line_completes_a_block_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "TS1.log");
    append(&path, &header("TS1", 10));
    let mut text = block(1);
    text.pop();
    text.extend(b"@10:00:09.0000 [0] 8.1 distribute_event: message EventDialing\n");
    append(&path, &text);
    let mut follower = Follower::new(
        callstitch_follow::FollowConfig { settle: Duration::from_secs(60), ..config(&[&path]) },
        Vec::new(),
    );
    assert_eq!(seqs(&poll_now(&mut follower)), [1], "no settle needed: the next block started");
}

#[test]
fn garbage_and_over_long_lines_are_counted_and_following_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "TS1.log");
    append(&path, &header("TS1", 10));
    append(&path, &block(1));
    let config = callstitch_follow::FollowConfig { max_line_bytes: 256, ..config(&[&path]) };
    let mut follower = Follower::new(config, Vec::new());
    assert_eq!(seqs(&poll_now(&mut follower)), [1]);

    append(&path, b"SIPCONN(12): some other trace\n\tAttributeStray\t'x'\n\xff\xfe garbage\n");
    let long = vec![b'z'; 1000];
    append(&path, &long[..600]);
    assert!(poll_now(&mut follower).is_empty());
    append(&path, &long[600..]);
    append(&path, b"\n");
    append(&path, &block(2));
    let out = drain(&mut follower, 1000);
    assert_eq!(seqs(&out), [2]);
    assert!(!out[0].event.incomplete);
    let stats = follower.stats();
    assert_eq!(stats.parse_problems.get(&ProblemKind::StrayLine), Some(&1));
    assert_eq!(stats.parse_problems.get(&ProblemKind::LongLine), Some(&1), "one line, though read in pieces");
    let problems = follower.take_problems();
    let lines: Vec<u64> = problems
        .iter()
        .filter_map(|problem| match problem {
            FollowProblem::Parse(parse) => Some(parse.line),
            _ => None,
        })
        .collect();
    let first_noise_line = 1
        + header("TS1", 10).iter().filter(|b| **b == b'\n').count() as u64
        + block(1).iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(lines, [first_noise_line + 1, first_noise_line + 3], "file:line of each problem");
    assert!(problems[0].to_string().starts_with(&format!("{}:", path.display())));
}
