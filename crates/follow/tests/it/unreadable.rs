//! A file the follower cannot read is reported (once, with its path and the error) and tried
//! again at every poll, so it is read once it can be; a FIFO or a directory named like a log
//! is never opened (opening a FIFO would wait for a writer forever).
//!
//! Permission denied is tested against the real binary run as an unprivileged user
//! (crates/cli/tests/hardening_edges.rs): the tests run as root, which reads any file.

use crate::common;

use callstitch_follow::FollowProblem;
use common::*;

fn unreadable(problems: &[FollowProblem]) -> Vec<(String, String)> {
    problems
        .iter()
        .filter_map(|problem| match problem {
            FollowProblem::Unreadable { path, error } => Some((path.display().to_string(), error.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_fifo_or_a_directory_where_a_log_is_expected_is_reported_once_then_read_when_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = path_in(&dir, "TS1.log");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let folder = path_in(&dir, "TS2.log");
    std::fs::create_dir(&folder).expect("dir");
    let mut follower = follower(&[dir.path()], Vec::new());
    assert!(drain(&mut follower, 1000).is_empty());
    let reported = unreadable(&follower.take_problems());
    assert_eq!(reported.len(), 2, "{reported:?}");
    assert!(reported
        .iter()
        .any(|(path, error)| path.ends_with("TS1.log") && error.contains("not a regular file")));
    assert!(reported.iter().any(|(path, _)| path.ends_with("TS2.log")));
    assert!(drain(&mut follower, 1000).is_empty());
    assert!(follower.take_problems().is_empty(), "reported once, not at every poll");
    assert_eq!(follower.stats().unreadable, 2);

    std::fs::remove_file(&fifo).expect("fifo removed");
    append(&fifo, &header("TS1", 10));
    append(&fifo, &blocks(1..=2));
    assert_eq!(seqs(&drain(&mut follower, 1000)), [1, 2], "read once it is a file");
}

#[test]
fn a_followed_path_that_is_a_fifo_is_not_opened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = path_in(&dir, "TS1.log");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    // Opening the FIFO would block this poll for ever.
    let mut follower = follower(&[&fifo], Vec::new());
    assert!(drain(&mut follower, 1000).is_empty());
    let reported = unreadable(&follower.take_problems());
    assert_eq!(reported.len(), 1, "{reported:?}");
}
