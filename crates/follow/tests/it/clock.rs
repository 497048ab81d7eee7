//! The follower's decisions that wait on time (a block at the end of a file ends once the
//! file has been quiet for `settle`; a segment followed by a newer one is drained once quiet;
//! an archive is read once it is `archive_settle` old), on a clock moved by hand: nothing
//! passes until the clock is moved, however long the test takes, and no test sleeps.

use crate::common;

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use callstitch_clock::TestClock;
use callstitch_follow::{FollowConfig, FollowInput, Follower};
use common::*;

/// Long enough that a test never reaches it by itself.
const QUIET: Duration = Duration::from_secs(3600);

fn quiet_config(path: &Path) -> FollowConfig {
    let inputs = vec![FollowInput { site: None, path: path.to_path_buf() }];
    FollowConfig { settle: QUIET, archive_settle: QUIET, ..FollowConfig::new(inputs) }
}

/// A follower of `path` on a clock that starts at the file's last write and moves only when
/// told: what the follower sees as quiet is then exactly what the test advanced, however long
/// the machine took between writing the file and starting the follower (a clock that started
/// at "now", a loaded machine's milliseconds later, made a file quiet before its time).
fn on_test_clock(path: &Path) -> (Follower, Arc<TestClock>, FollowConfig) {
    let clock = Arc::new(TestClock::starting_at(last_write(path)));
    let config = quiet_config(path);
    (Follower::with_clock(config.clone(), Vec::new(), clock.clone()), clock, config)
}

/// When `path` (a file, or the newest file of a directory) was last written.
fn last_write(path: &Path) -> SystemTime {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok();
    let newest = match std::fs::read_dir(path) {
        Ok(entries) => entries.filter_map(|entry| modified(&entry.ok()?.path())).max(),
        Err(_) => modified(path),
    };
    newest.expect("the followed path was written")
}

/// Event `n`'s block without the blank line that ends it: complete only once the file is
/// quiet (or the next line comes).
fn open_block(n: u64) -> Vec<u8> {
    let mut bytes = block(n);
    assert!(bytes.ends_with(b"\n\n"), "a block ends with a blank line");
    bytes.pop();
    bytes
}

#[test]
fn the_block_at_the_end_of_a_file_ends_once_the_file_is_quiet_for_settle_on_its_clock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = path_in(&dir, "app.log");
    append(&path, &header("TS1", 10));
    append(&path, &blocks(1..=2));
    append(&path, &open_block(3));
    let (mut follower, clock, _) = on_test_clock(&path);
    assert_eq!(seqs(&poll_now(&mut follower)), [1, 2], "each ended by the line after it");
    clock.advance(QUIET - Duration::from_millis(1));
    assert_eq!(seqs(&poll_now(&mut follower)), Vec::<u64>::new(), "not quiet for long enough yet");
    clock.advance(Duration::from_millis(1));
    assert_eq!(seqs(&poll_now(&mut follower)), [3], "quiet for settle: its last block ends");
}

#[test]
fn a_segment_followed_by_a_newer_one_is_drained_once_quiet_on_its_clock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = path_in(&dir, "TS1-001.log");
    append(&first, &header("TS1", 10));
    append(&first, &block(1));
    append(&first, &open_block(2));
    let (mut follower, clock, config) = on_test_clock(dir.path());
    assert_eq!(seqs(&poll_now(&mut follower)), [1]);

    let second = path_in(&dir, "TS1-002.log");
    append(&second, &header("TS1", 11));
    append(&second, &blocks(3..=4));
    // The directory is listed again after `rescan` on the same clock, whatever its time.
    clock.advance(config.rescan);
    assert_eq!(
        seqs(&poll_now(&mut follower)),
        Vec::<u64>::new(),
        "the older segment may still grow: the newer one waits for it"
    );
    clock.advance(QUIET);
    assert_eq!(seqs(&poll_now(&mut follower)), [2, 3, 4], "the older drained, then the newer");
}

#[test]
fn an_archive_is_read_once_it_is_archive_settle_old_on_its_clock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = header("TS1", 10);
    log.extend(blocks(1..=3));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&log).expect("in memory");
    std::fs::write(path_in(&dir, "TS1-001.log.gz"), encoder.finish().expect("in memory")).expect("write");
    let (mut follower, clock, _) = on_test_clock(dir.path());
    assert_eq!(seqs(&poll_now(&mut follower)), Vec::<u64>::new(), "the compressor may still write it");
    clock.advance(QUIET);
    assert_eq!(seqs(&poll_now(&mut follower)), [1, 2, 3], "old enough: read whole");
}
