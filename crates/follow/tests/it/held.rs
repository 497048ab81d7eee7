//! What a caller that merges sites by time relies on: per-site budgets, and positions that
//! stop before the events it holds back; plus a restart whose first position is a rotated
//! copy (which once made the matching of later positions index past its table).

use crate::common;

use std::collections::BTreeMap;

use callstitch_follow::{FollowConfig, FollowInput, Follower};
use common::*;

fn two_sites(dir: &tempfile::TempDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let a = path_in(dir, "a.log");
    let b = path_in(dir, "b.log");
    append(&a, &header("A", 10));
    append(&a, &blocks(1..=6));
    append(&b, &header("B", 10));
    append(&b, &blocks(11..=16));
    (a, b)
}

fn config_of(paths: &[&std::path::Path]) -> FollowConfig {
    let inputs = paths.iter().map(|path| FollowInput { site: None, path: path.to_path_buf() }).collect();
    FollowConfig { settle: SETTLE, ..FollowConfig::new(inputs) }
}

#[test]
fn each_site_reads_at_most_its_budget_and_says_when_it_spent_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_sites(&dir);
    let mut follower = Follower::new(config_of(&[&a, &b]), Vec::new());
    let mut out = Vec::new();
    let reads = follower.poll_sites(&|site| if site == "A" { 2 } else { 0 }, &mut out);
    assert_eq!(seqs(&out), [1, 2], "only A, two events");
    assert_eq!(reads.len(), 1);
    assert!(reads[0].site == "A" && reads[0].more && reads[0].events == 2);
}

#[test]
fn positions_holding_stop_before_the_held_events_and_a_restart_reads_them_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_sites(&dir);
    let mut follower = Follower::new(config_of(&[&a, &b]), Vec::new());
    let mut out = Vec::new();
    std::thread::sleep(SETTLE * 2);
    while follower.poll_sites(&|_| 100, &mut out).iter().any(|read| read.events > 0) {
        std::thread::sleep(SETTLE * 2);
    }
    assert_eq!(out.len(), 12);
    // The caller committed A's first four and B's first two; it holds the rest.
    let held_events: Vec<_> =
        out.iter().filter(|e| matches!(e.event.seq, Some(5..=6) | Some(13..=16))).collect();
    let mut held = BTreeMap::new();
    for event in &held_events {
        held.entry(event.file).or_insert(event.start_offset);
    }
    follower.hold(held.keys().copied());
    let positions = follower.positions_holding(&held);
    assert!(positions.iter().all(|position| !position.finished));
    let mut restarted = Follower::new(config_of(&[&a, &b]), positions);
    let again = drain(&mut restarted, 1000);
    assert_eq!(json(&again), json(&held_events.into_iter().cloned().collect::<Vec<_>>()));
}

#[test]
fn rotated_copies_found_at_restart_do_not_break_the_positions_after_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = two_sites(&dir);
    let mut follower = Follower::new(config_of(&[&a, &b]), Vec::new());
    let mut out = Vec::new();
    follower.poll_sites(&|_| 2, &mut out);
    assert_eq!(seqs(&out), [1, 2, 11, 12]);
    let positions = follower.positions();
    assert_eq!(positions.len(), 2);
    // Both files are renamed away and replaced before the restart.
    std::fs::rename(&a, path_in(&dir, "a.log.1")).expect("rename");
    append(&a, &header("A", 11));
    append(&a, &blocks(7..=7));
    std::fs::rename(&b, path_in(&dir, "b.log.1")).expect("rename");
    append(&b, &header("B", 11));
    append(&b, &blocks(17..=17));
    let mut restarted = Follower::new(config_of(&[&a, &b]), positions);
    let rest = drain(&mut restarted, 1000);
    let mut numbers = seqs(&rest);
    numbers.extend(seqs(&out));
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 14, 15, 16, 17], "every event once");
}
