//! Rotation while following: rename (logrotate), copytruncate, T-Server's own new segments,
//! deletion; and the order of segments per site.

use crate::common;

use callstitch_follow::{FollowProblem, Follower};
use common::*;

#[test]
fn rename_rotation_drains_the_old_file_then_follows_the_new_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "app.log");
    append(&path, &header("TS1", 10));
    append(&path, &blocks(1..=2));
    let mut follower = follower(&[&path], Vec::new());
    assert_eq!(seqs(&poll_now(&mut follower)), [1, 2]);
    let positions_before_rotation = follower.positions();

    append(&path, &blocks(3..=4));
    let mut last = block(5);
    last.truncate(last.len() - 3); // cut in its last line: drained as it is
    append(&path, &last);
    std::fs::rename(&path, path_in(&dir, "app.log.1")).expect("rename");
    append(&path, &header("TS1", 11));
    append(&path, &blocks(6..=7));
    let out = drain(&mut follower, 1000);
    assert_eq!(seqs(&out), [3, 4, 5, 6, 7], "the old file to its end, then the new one");
    assert!(out[2].event.incomplete, "the cut last block is marked");
    assert!(!out[3].event.incomplete);
    assert_eq!(follower.stats().rotated, 1);
    let open: Vec<_> = follower.positions().into_iter().filter(|position| !position.finished).collect();
    assert_eq!(open.len(), 1, "the rotated file is forgotten once drained (remembered as read)");

    // A crash before the rotation was seen: the old file is found by its fingerprint.
    let mut restarted = Follower::new(config(&[&path]), positions_before_rotation);
    let again = drain(&mut restarted, 1000);
    assert_eq!(seqs(&again), [3, 4, 5, 6, 7]);
    assert_eq!(json(&again), json(&out), "the same events, named as before the restart");
}

#[test]
fn copytruncate_starts_again_at_byte_zero_of_the_new_content() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "app.log");
    append(&path, &header("TS1", 10));
    append(&path, &blocks(1..=3));
    let mut follower = follower(&[&path], Vec::new());
    assert_eq!(seqs(&drain(&mut follower, 1000)), [1, 2, 3]);

    // Shrinks below what was read.
    std::fs::OpenOptions::new().write(true).open(&path).expect("file").set_len(0).expect("truncate");
    append(&path, &blocks(4..=4));
    let out = drain(&mut follower, 1000);
    assert_eq!(seqs(&out), [4]);
    assert_eq!(follower.stats().truncated, 1);
    assert_eq!(follower.positions()[0].offset, block(4).len() as u64);

    // Truncated and rewritten past the read position before a poll: seen by its first bytes.
    std::fs::OpenOptions::new().write(true).open(&path).expect("file").set_len(0).expect("truncate");
    append(&path, &header("TS1", 12));
    append(&path, &blocks(5..=8));
    let out = drain(&mut follower, 1000);
    if cfg!(unix) {
        assert_eq!(seqs(&out), [5, 6, 7, 8]);
        assert_eq!(follower.stats().truncated, 2);
    }
    assert!(follower
        .take_problems()
        .iter()
        .any(|problem| matches!(problem, FollowProblem::Truncated { .. })));
}

#[test]
fn a_new_segment_in_a_directory_is_read_after_the_older_one_is_finished() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = path_in(&dir, "TS1-001.log");
    append(&first, &header("TS1", 10));
    append(&first, &blocks(1..=2));
    let mut follower = follower(&[dir.path()], Vec::new());
    assert_eq!(seqs(&drain(&mut follower, 1000)), [1, 2]);

    let second = path_in(&dir, "TS1-002.log");
    append(&second, &header("TS1", 11));
    append(&second, &blocks(4..=5));
    let mut last = block(3);
    last.pop(); // the older segment's last block, never ended by a blank line
    append(&first, &last);
    let out = drain(&mut follower, 1000);
    assert_eq!(seqs(&out), [3, 4, 5]);
    let positions = follower.positions();
    let finished: Vec<bool> = positions.iter().map(|position| position.finished).collect();
    assert_eq!(finished, [true, false], "the older segment is finished");

    // Restarted, the finished segment is not read again.
    append(&second, &blocks(6..=6));
    let mut restarted = Follower::new(config(&[dir.path()]), positions);
    assert_eq!(seqs(&drain(&mut restarted, 1000)), [6]);
    assert_eq!(
        restarted.stats().resumed_bytes,
        std::fs::metadata(&second).expect("file").len() - block(6).len() as u64
    );
}

#[test]
fn a_deleted_file_is_drained_and_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "app.log");
    append(&path, &header("TS1", 10));
    append(&path, &blocks(1..=3));
    let mut follower = follower(&[&path], Vec::new());
    let mut out = Vec::new();
    follower.poll(1, &mut out);
    assert_eq!(seqs(&out), [1]);
    std::fs::remove_file(&path).expect("delete");
    out.extend(drain(&mut follower, 1000));
    assert_eq!(seqs(&out), [1, 2, 3]);
    assert_eq!(follower.stats().vanished, 1);
    assert!(follower.take_problems().iter().any(|problem| matches!(problem, FollowProblem::Vanished { .. })));
    // Forgotten, only remembered as read to its end (so an archive of it is not read again).
    assert!(follower.positions().iter().all(|position| position.finished));

    append(&path, &header("TS1", 11));
    append(&path, &blocks(9..=9));
    assert_eq!(seqs(&drain(&mut follower, 1000)), [9], "a file created again at the path is followed");
}

#[test]
fn two_sites_with_rotated_segments_keep_each_site_in_segment_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    // File names do not sort as the segments started: the header's start time decides.
    let segments = [("z-a-first.log", "SiteA", 8, 1..=3), ("a-a-second.log", "SiteA", 9, 4..=6)];
    let others = [("m-b-second.log", "SiteB", 12, 104..=106), ("n-b-first.log", "SiteB", 7, 101..=103)];
    for (name, app, hour, numbers) in segments.into_iter().chain(others) {
        let path = path_in(&dir, name);
        append(&path, &header(app, hour));
        append(&path, &blocks(numbers));
    }
    let mut follower = follower(&[dir.path()], Vec::new());
    let out = drain(&mut follower, 2);
    let site = |name: &str| -> Vec<u64> {
        out.iter().filter(|f| f.event.site == name).filter_map(|f| f.event.seq).collect()
    };
    assert_eq!(site("SiteA"), [1, 2, 3, 4, 5, 6]);
    assert_eq!(site("SiteB"), [101, 102, 103, 104, 105, 106]);
    assert_eq!(out.len(), 12);
    let first_sites: Vec<&str> = out[..4].iter().map(|f| f.event.site.as_str()).collect();
    assert!(
        first_sites.contains(&"SiteA") && first_sites.contains(&"SiteB"),
        "sites take turns: {first_sites:?}"
    );
}
