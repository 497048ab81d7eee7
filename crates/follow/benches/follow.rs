//! The follower's benchmark: `cargo bench -p callstitch-follow --bench follow`.
//!
//! - idle poll: 20 followed files (one directory, and 20 file inputs) with nothing new:
//!   the cost of one poll;
//! - catch-up: a large log (`CALLSTITCH_FOLLOW_BENCH_MB`, default 200) read by the plain
//!   reader, by a follower from byte 0, and by a follower resuming at the end (re-reading
//!   the file to skip its events): MB/s and events/s;
//! - latency: one event appended, polled every millisecond: time until it is handed out,
//!   for a block ended by a blank line and for one ended only by the settle time.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use callstitch_follow::{FollowConfig, FollowInput, Follower};
use callstitch_tlib::tlog::{Header, LogReader, LogWriter, ReaderOptions};
use callstitch_tlib::{
    CallState, CallUuid, Coded, ConnId, Context, DnRole, Event, KvList, KvPair, LocalTime, LogDate, Message,
    Text, Value,
};

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    idle_poll(dir.path());
    let megabytes: u64 =
        std::env::var("CALLSTITCH_FOLLOW_BENCH_MB").ok().and_then(|mb| mb.parse().ok()).unwrap_or(200);
    catch_up(dir.path(), megabytes);
    latency(dir.path());
}

fn header(app: &str) -> Header {
    let local =
        |hours: i64| LocalTime { date: LogDate::parse(b"2026-02-02"), micros_of_day: hours * 3_600_000_000 };
    Header {
        application_name: Some(app.to_string()),
        utc_time: Some(local(9)),
        local_time: Some(local(10)),
        ..Header::default()
    }
}

/// A realistic event block (about 600 bytes).
fn event(n: u64) -> Event {
    let mut event = Event::new(Message::from_name("EventEstablished"), "");
    event.context = Context::DistributeEvent;
    event.server_version = Some(Text::from("8.1.001.05"));
    event.clock =
        Some(LocalTime { date: None, micros_of_day: 36_000_000_000 + (n % 1_000_000) as i64 * 10_000 });
    event.seq = Some(n);
    event.conn_id = Some(ConnId(0x009a_0218_4303_0000 + n));
    event.call_uuid = Some(CallUuid::new(&format!("00RP30KH7088L1IC08GB82LAES{n:06}")));
    event.call_state = Some(CallState::from_code(0));
    event.this_dn = Some(Text::from("7001"));
    event.this_dn_role = Some(DnRole::from_code(2));
    event.other_dn = Some(Text::from("+15551234567"));
    event.other_dn_role = Some(DnRole::from_code(1));
    event.this_queue = Some(Text::from("8000"));
    event.user_data = Some(KvList(
        (0..6)
            .map(|key| KvPair {
                key: Text::from(format!("key{key}")),
                value: Value::Str(Text::from("some value")),
            })
            .collect(),
    ));
    event
}

fn write_log(path: &Path, app: &str, events: impl Iterator<Item = u64>) {
    let file = OpenOptions::new().create(true).append(true).open(path).expect("bench file");
    let mut writer = LogWriter::new(BufWriter::new(file));
    writer.write_header(&header(app)).expect("write");
    for n in events {
        writer.write_event(&event(n)).expect("write");
    }
    writer.into_inner().flush().expect("flush");
}

fn config(inputs: Vec<PathBuf>) -> FollowConfig {
    FollowConfig::new(inputs.into_iter().map(|path| FollowInput { site: None, path }).collect())
}

/// Polls until `expected` events came; returns them counted and the time taken.
fn follow_until(follower: &mut Follower, expected: u64) -> (u64, Duration) {
    let start = Instant::now();
    let mut out = Vec::with_capacity(10_000);
    let mut count = 0;
    while count < expected {
        out.clear();
        let report = follower.poll(10_000, &mut out);
        count += out.len() as u64;
        if report.events == 0 && !report.more {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    (count, start.elapsed())
}

fn idle_poll(dir: &Path) {
    let logs = dir.join("idle");
    std::fs::create_dir_all(&logs).expect("dir");
    let paths: Vec<PathBuf> = (0..20).map(|site| logs.join(format!("TS{site:02}.log"))).collect();
    for (site, path) in paths.iter().enumerate() {
        write_log(path, &format!("TS{site:02}"), 0..10);
    }
    for (label, inputs) in
        [("one directory of 20 files", vec![logs.clone()]), ("20 file inputs", paths.clone())]
    {
        let mut follower = Follower::new(config(inputs), Vec::new());
        follow_until(&mut follower, 200);
        let rounds = 20_000;
        let mut out = Vec::new();
        let start = Instant::now();
        for _ in 0..rounds {
            follower.poll(1000, &mut out);
        }
        let each = start.elapsed() / rounds;
        assert!(out.is_empty());
        println!("idle poll, {label}: {:.1} µs per poll", each.as_secs_f64() * 1e6);
    }
}

fn catch_up(dir: &Path, megabytes: u64) {
    let path = dir.join("big.log");
    let per_event = {
        let mut writer = LogWriter::new(Vec::new());
        writer.write_event(&event(1)).expect("write");
        writer.into_inner().len() as u64
    };
    let events = megabytes * 1_000_000 / per_event;
    write_log(&path, "BIG", 0..events);
    let mb = std::fs::metadata(&path).expect("file").len() as f64 / 1e6;
    println!("catch-up file: {mb:.0} MB, {events} events of {per_event} bytes");

    let start = Instant::now();
    let mut reader = LogReader::open(&path, ReaderOptions::default()).expect("open");
    let mut event = Event::new(Message::Other(Text::default()), "");
    let mut plain = 0;
    while reader.read_into(&mut event).expect("read") {
        plain += 1;
    }
    let plain_time = start.elapsed();
    assert_eq!(plain, events);
    report("plain reader (read_into)", mb, events, plain_time);

    let start = Instant::now();
    let mut reader = LogReader::open(&path, ReaderOptions::default()).expect("open");
    let mut owned = Vec::with_capacity(10_000);
    let mut count = 0;
    while let Some(event) = reader.next_event().expect("read") {
        owned.push(event);
        if owned.len() == 10_000 {
            count += owned.len() as u64;
            owned.clear();
        }
    }
    count += owned.len() as u64;
    assert_eq!(count, events);
    report("plain reader (next_event: owned events, as the follower hands out)", mb, events, start.elapsed());

    let mut follower = Follower::new(config(vec![path.clone()]), Vec::new());
    let (count, time) = follow_until(&mut follower, events);
    assert_eq!(count, events);
    report("follower from byte 0 (poll of 10,000)", mb, events, time);

    let positions = follower.positions();
    let mut resumed = Follower::new(config(vec![path.clone()]), positions);
    let start = Instant::now();
    let mut out = Vec::new();
    loop {
        let report = resumed.poll(10_000, &mut out);
        if resumed.stats().positions_resumed == 1 && !report.more {
            break;
        }
    }
    assert!(out.is_empty());
    report("follower resuming at the end (re-read, events skipped)", mb, events, start.elapsed());
}

fn report(label: &str, mb: f64, events: u64, time: Duration) {
    let seconds = time.as_secs_f64();
    println!(
        "{label}: {seconds:.2} s, {:.0} MB/s, {:.2} M events/s",
        mb / seconds,
        events as f64 / seconds / 1e6
    );
}

fn latency(dir: &Path) {
    for (label, ended) in [("block ended by a blank line", true), ("block ended by settle (10 ms)", false)] {
        let path = dir.join(format!("latency-{ended}.log"));
        write_log(&path, "LAT", 0..1);
        let mut follower = Follower::new(config(vec![path.clone()]), Vec::new());
        follow_until(&mut follower, 1);
        let mut delays = Vec::new();
        for n in 1..=200 {
            let mut writer = LogWriter::new(Vec::new());
            writer.write_event(&event(n)).expect("write");
            let mut text = writer.into_inner();
            if !ended {
                text.pop();
            }
            let mut file = OpenOptions::new().append(true).open(&path).expect("file");
            let written = Instant::now();
            file.write_all(&text).expect("write");
            let mut out = Vec::new();
            while out.is_empty() {
                follower.poll(100, &mut out);
                if out.is_empty() {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            delays.push(written.elapsed());
            if !ended {
                // The next block's line would end it anyway; give it its blank line.
                file.write_all(b"\n").expect("write");
            }
        }
        delays.sort();
        let at =
            |q: f64| delays[((delays.len() as f64 * q) as usize).min(delays.len() - 1)].as_secs_f64() * 1e3;
        println!(
            "latency, {label}, polled every 1 ms: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            at(0.5),
            at(0.99),
            at(1.0)
        );
    }
}
