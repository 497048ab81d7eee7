//! Helpers of the follower's tests: log files written in steps with the real writer, the
//! follower polled until it is idle, events compared as JSON.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use callstitch_follow::{FollowConfig, FollowInput, FollowedEvent, Follower, Position};
use callstitch_tlib::tlog::{Header, LogReader, LogWriter, ReaderOptions};
use callstitch_tlib::{ConnId, Event, KvList, KvPair, LocalTime, Message, Text, Value};

pub const SETTLE: Duration = Duration::from_millis(20);

/// A header of application `app` whose segment started at `hour`:00 local (UTC+1).
pub fn header(app: &str, hour: i64) -> Vec<u8> {
    let local = |hours: i64| LocalTime {
        date: callstitch_tlib::LogDate::parse(b"2026-02-02"),
        micros_of_day: hours * 3_600_000_000,
    };
    let header = Header {
        application_name: Some(app.to_string()),
        utc_time: Some(local(hour - 1)),
        local_time: Some(local(hour)),
        ..Header::default()
    };
    let mut writer = LogWriter::new(Vec::new());
    writer.write_header(&header).expect("in memory");
    writer.into_inner()
}

/// Event number `n`: a block of several lines, with a key-value list.
pub fn event(n: u64) -> Event {
    let mut event = Event::new(Message::from_name("EventRinging"), "");
    event.context = callstitch_tlib::Context::DistributeEvent;
    event.clock = Some(LocalTime { date: None, micros_of_day: 36_000_000_000 + n as i64 * 1_000_000 });
    event.seq = Some(n);
    event.conn_id = Some(ConnId(0x009a_0218_4303_8400 + n));
    event.this_dn = Some(Text::from(format!("70{n:02}")));
    event.user_data = Some(KvList(vec![
        KvPair { key: Text::from("n"), value: Value::Int(n as i64) },
        KvPair { key: Text::from("k"), value: Value::Str(Text::from("v")) },
    ]));
    event
}

/// The text of event `n`'s block (with its blank line).
pub fn block(n: u64) -> Vec<u8> {
    let mut writer = LogWriter::new(Vec::new());
    writer.write_event(&event(n)).expect("in memory");
    writer.into_inner()
}

pub fn blocks(numbers: impl IntoIterator<Item = u64>) -> Vec<u8> {
    numbers.into_iter().flat_map(block).collect()
}

pub fn append(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new().create(true).append(true).open(path).expect("test file");
    file.write_all(bytes).expect("test write");
}

pub fn config(inputs: &[&Path]) -> FollowConfig {
    let inputs = inputs.iter().map(|path| FollowInput { site: None, path: path.to_path_buf() }).collect();
    FollowConfig { settle: SETTLE, ..FollowConfig::new(inputs) }
}

/// Polls (at most `max_events` a poll) until nothing has come for a few settle periods.
pub fn drain(follower: &mut Follower, max_events: usize) -> Vec<FollowedEvent> {
    let mut out = Vec::new();
    let mut idle = 0;
    while idle < 4 {
        let report = follower.poll(max_events, &mut out);
        if report.events == 0 && !report.more {
            idle += 1;
            std::thread::sleep(SETTLE + Duration::from_millis(5));
        } else {
            idle = 0;
        }
    }
    out
}

/// One poll, right away.
pub fn poll_now(follower: &mut Follower) -> Vec<FollowedEvent> {
    let mut out = Vec::new();
    follower.poll(1000, &mut out);
    out
}

pub fn json(events: &[FollowedEvent]) -> Vec<String> {
    events.iter().map(|followed| serde_json::to_string(&followed.event).expect("event json")).collect()
}

/// The events of a whole file, read once with the plain reader.
pub fn read_whole(path: &Path) -> Vec<String> {
    let reader = LogReader::open(path, ReaderOptions::default()).expect("test file");
    reader.map(|event| serde_json::to_string(&event.expect("read")).expect("json")).collect()
}

pub fn seqs(events: &[FollowedEvent]) -> Vec<u64> {
    events.iter().filter_map(|followed| followed.event.seq).collect()
}

pub fn follower(inputs: &[&Path], positions: Vec<Position>) -> Follower {
    Follower::new(config(inputs), positions)
}

pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}
