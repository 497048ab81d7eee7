//! Restart from positions: whatever event boundary the positions were taken at, the events
//! before and after the restart are the whole file, none twice.

use crate::common;

use callstitch_follow::{Follower, Position};
use common::*;

const EVENTS: u64 = 24;

/// A file with noise between some blocks, blocks ended by the next event line instead of a
/// blank line, and a last block with nothing after it (ended when the file settles).
fn write_log(path: &std::path::Path) {
    append(path, &header("TS1", 10));
    for n in 1..=EVENTS {
        let mut text = block(n);
        if n % 3 == 0 || n == EVENTS {
            text.pop();
        }
        append(path, &text);
        if n % 5 == 0 {
            append(path, b"10:00:00.000 Trc 04110 some option line\n");
        }
    }
}

#[test]
fn restarting_at_every_event_boundary_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "TS1.log");
    write_log(&path);
    let whole = read_whole(&path);
    assert_eq!(whole.len() as u64, EVENTS);

    let mut first = follower(&[&path], Vec::new());
    let mut before = Vec::new();
    let mut checkpoints: Vec<Vec<Position>> = vec![first.positions()];
    loop {
        let report = first.poll(1, &mut before);
        if report.events == 0 && before.len() as u64 == EVENTS {
            break;
        }
        if report.events == 1 {
            checkpoints.push(first.positions());
        }
    }
    assert_eq!(json(&before), whole);
    assert_eq!(checkpoints.len() as u64, EVENTS + 1);

    for (taken, positions) in checkpoints.iter().enumerate() {
        let json_positions = serde_json::to_string(positions).expect("positions json");
        let positions: Vec<Position> = serde_json::from_str(&json_positions).expect("positions back");
        let mut again = Follower::new(config(&[&path]), positions);
        let after = drain(&mut again, 7);
        let mut joined = json(&before[..taken]);
        joined.extend(json(&after));
        assert_eq!(joined, whole, "restart after {taken} events");
        if taken > 0 {
            assert_eq!(again.stats().positions_resumed, 1);
            assert!(again.stats().resumed_bytes > 0);
        }
    }
}

#[test]
fn a_restart_resumes_a_file_that_grew_meanwhile_and_starts_new_files_at_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "TS1.log");
    append(&path, &header("TS1", 10));
    append(&path, &blocks(1..=3));
    let mut first = follower(&[dir.path()], Vec::new());
    let before = drain(&mut first, 1000);
    let positions = first.positions();
    assert_eq!(positions.len(), 1);
    assert_eq!(positions[0].offset, std::fs::metadata(&path).expect("file").len());

    append(&path, &blocks(4..=5));
    let other = path_in(&dir, "TS2.log");
    append(&other, &header("TS2", 10));
    append(&other, &blocks(100..=101));
    let gone = Position { path: path_in(&dir, "old.log"), ..positions[0].clone() };
    let mut again = follower(&[dir.path()], vec![positions[0].clone(), gone]);
    let after = drain(&mut again, 1000);
    let mut ts1: Vec<u64> = seqs(&before);
    ts1.extend(after.iter().filter(|f| f.event.site == "TS1").filter_map(|f| f.event.seq));
    assert_eq!(ts1, [1, 2, 3, 4, 5]);
    let ts2: Vec<u64> = after.iter().filter(|f| f.event.site == "TS2").filter_map(|f| f.event.seq).collect();
    assert_eq!(ts2, [100, 101]);
    assert_eq!(again.stats().positions_lost, 1, "old.log: its position matched no file");
}
