//! Compressed logs in a followed directory: rotated logs are usually archived (gzip, zstd).
//! An archive of a log read already is not read again (its fingerprint is taken of the
//! decompressed bytes, as a plain file's), across restarts too; one never seen is read once
//! in full, in its place among the site's segments; a damaged one is reported and the site
//! goes on.

use crate::common;

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use callstitch_follow::{FollowConfig, FollowInput, FollowProblem, Follower, Position};
use common::*;

fn config_of(dir: &Path) -> FollowConfig {
    let inputs = vec![FollowInput { site: None, path: dir.to_path_buf() }];
    FollowConfig { settle: SETTLE, archive_settle: Duration::from_millis(60), ..FollowConfig::new(inputs) }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("in memory");
    encoder.finish().expect("in memory")
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).expect("in memory")
}

/// Polls until nothing has come for longer than the archives' settle time.
fn drain_all(follower: &mut Follower) -> Vec<callstitch_follow::FollowedEvent> {
    let mut out = Vec::new();
    for _ in 0..4 {
        out.extend(drain(follower, 1000));
        std::thread::sleep(Duration::from_millis(40));
    }
    out.extend(drain(follower, 1000));
    out
}

fn segment(hour: i64, numbers: std::ops::RangeInclusive<u64>) -> Vec<u8> {
    let mut bytes = header("TS1", hour);
    bytes.extend(blocks(numbers));
    bytes
}

#[test]
fn an_archive_of_a_log_read_already_is_not_read_again_even_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = path_in(&dir, "TS1-001.log");
    std::fs::write(&first, segment(10, 1..=3)).expect("write");
    let mut follower = Follower::new(config_of(dir.path()), Vec::new());
    assert_eq!(seqs(&drain_all(&mut follower)), [1, 2, 3]);
    std::fs::write(path_in(&dir, "TS1-002.log"), segment(11, 4..=5)).expect("write");
    assert_eq!(seqs(&drain_all(&mut follower)), [4, 5]);

    // logrotate's compress: the archive is written, then the log deleted.
    let plain = std::fs::read(&first).expect("read");
    std::fs::write(path_in(&dir, "TS1-001.log.gz"), gzip(&plain)).expect("write");
    std::fs::remove_file(&first).expect("remove");
    assert_eq!(seqs(&drain_all(&mut follower)), Vec::<u64>::new(), "nothing read twice");
    assert_eq!(follower.stats().archives_already_read, 1);
    assert_eq!(follower.stats().archives_read, 0);

    // Another copy appears after a restart (zstd this time), once the archive is gone too.
    let positions = follower.positions();
    std::fs::remove_file(path_in(&dir, "TS1-001.log.gz")).expect("remove");
    let positions_after_deletion = {
        let mut gone = Follower::new(config_of(dir.path()), positions.clone());
        assert!(drain_all(&mut gone).is_empty());
        gone.positions()
    };
    std::fs::write(path_in(&dir, "TS1-001.log.zst"), zstd(&plain)).expect("write");
    for positions in [positions, positions_after_deletion] {
        let mut restarted = Follower::new(config_of(dir.path()), positions);
        assert_eq!(seqs(&drain_all(&mut restarted)), Vec::<u64>::new(), "nothing read twice");
        assert_eq!(restarted.stats().archives_read, 0);
    }
}

#[test]
fn an_archive_never_seen_is_read_once_in_full_before_the_newer_segment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = segment(10, 1..=3);
    std::fs::write(path_in(&dir, "TS1-001.log.gz"), gzip(&old)).expect("write");
    std::fs::write(path_in(&dir, "TS1-000.log.zst"), zstd(&segment(9, 100..=101))).expect("write");
    std::fs::write(path_in(&dir, "TS1-002.log"), segment(11, 4..=5)).expect("write");
    // Archives there at the start (settled: written more than `archive_settle` ago).
    std::thread::sleep(Duration::from_millis(100));
    let mut follower = Follower::new(config_of(dir.path()), Vec::new());
    let out = drain_all(&mut follower);
    assert_eq!(seqs(&out), [100, 101, 1, 2, 3, 4, 5], "the segments in order of their start");
    assert_eq!(follower.stats().archives_read, 2);
    let plain = path_in(&dir, "plain.log");
    std::fs::write(&plain, &old).expect("write");
    let from_archive: Vec<String> = json(&out[2..5]);
    let whole = read_whole(&plain);
    let strip = |text: &String| text.replace("TS1-001.log.gz", "plain.log");
    assert_eq!(from_archive.iter().map(strip).collect::<Vec<_>>(), whole, "the same events as the plain log");
    std::fs::remove_file(&plain).expect("remove");

    let mut restarted = Follower::new(config_of(dir.path()), follower.positions());
    assert!(drain_all(&mut restarted).is_empty(), "read once");
}

#[test]
fn an_archive_resumes_at_its_position_in_the_decompressed_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(path_in(&dir, "TS1-001.log.gz"), gzip(&segment(10, 1..=6))).expect("write");
    let mut follower = Follower::new(config_of(dir.path()), Vec::new());
    let mut first = Vec::new();
    for _ in 0..20 {
        follower.poll(2, &mut first);
        if !first.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(seqs(&first), [1, 2]);
    let positions: Vec<Position> = follower.positions();
    assert!(positions[0].offset > 0 && !positions[0].finished);
    let mut restarted = Follower::new(config_of(dir.path()), positions);
    assert_eq!(seqs(&drain_all(&mut restarted)), [3, 4, 5, 6]);
}

#[test]
fn a_truncated_archive_is_reported_with_its_name_and_the_site_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = gzip(&segment(10, 1..=400));
    let cut = path_in(&dir, "TS1-001.log.gz");
    std::fs::write(&cut, &archive[..archive.len() / 2]).expect("write");
    std::fs::write(path_in(&dir, "TS1-002.log"), segment(11, 1000..=1001)).expect("write");
    std::thread::sleep(Duration::from_millis(100));
    let mut follower = Follower::new(config_of(dir.path()), Vec::new());
    let numbers = seqs(&drain_all(&mut follower));
    let before: Vec<u64> = numbers.iter().copied().filter(|n| *n < 1000).collect();
    assert!(!before.is_empty() && before.len() < 400, "the events before the damage: {before:?}");
    assert_eq!(before, (1..=before.len() as u64).collect::<Vec<_>>());
    assert_eq!(numbers[numbers.len() - 2..], [1000, 1001], "the next segment is read");
    assert_eq!(follower.stats().archives_damaged, 1);
    let problems = follower.take_problems();
    let said = problems.iter().any(|problem| {
        matches!(problem, FollowProblem::Unreadable { path, error } if *path == cut && error.contains("truncated gzip archive"))
    });
    assert!(said, "{problems:?}");
}

#[test]
fn garbage_named_like_an_archive_does_not_stop_the_follower() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut garbage = vec![0x1f, 0x8b, 0x08, 0x00];
    garbage.extend((0..5000u32).map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(path_in(&dir, "TS1-001.log.gz"), garbage).expect("write");
    std::fs::write(path_in(&dir, "TS1-002.log.zst"), b"not zstd at all\n").expect("write");
    std::fs::write(path_in(&dir, "TS1-003.log"), segment(11, 1..=2)).expect("write");
    let mut follower = Follower::new(config_of(dir.path()), Vec::new());
    assert_eq!(seqs(&drain_all(&mut follower)), [1, 2]);
}
