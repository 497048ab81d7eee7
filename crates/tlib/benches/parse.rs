//! The parse benchmark: `cargo bench -p callstitch-tlib --bench parse`.
//!
//! Generates (once, cached under target/bench-data) two logs of `CALLSTITCH_BENCH_MB`
//! megabytes each (default 1100, i.e. over 1 GB):
//!
//! - `events`: nothing but T-Library event blocks (a T-Server log at its densest, the worst
//!   case for the reader);
//! - `sip-mix`: the same calls as a SIP Server writes them, with the SIP messages of each call
//!   between its event blocks (about half the bytes).
//!
//! For each, in the same run, it times `grep -c 'message Event'`, the memchr lower bound (the
//! least any reader of the format does: lines split with memchr, block headers told from
//! attribute lines, each attribute line split at its name) and the log reader, each on one
//! core in a child process, reporting MB/s, events/s, the reader's time as a ratio of both
//! anchors, and the child's peak resident memory.
//! A file a tenth the size is parsed too, so "memory flat in file size" can be read off the
//! two peaks. Figures go in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use callstitch_tlib::tlog::{Header, LogReader, LogWriter, ReaderOptions};
use callstitch_tlib::{
    CallState, CallType, CallUuid, ConnId, Context, DnRole, Event, IsLink, KvList, LinkRole, LocalTime,
    LogDate, Message, Text, Timestamp, Value,
};

const RUNS: usize = 3;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(index) = args.iter().position(|arg| arg == "--parse-only") {
        let Some(path) = args.get(index + 1) else {
            eprintln!("--parse-only needs a file");
            std::process::exit(2);
        };
        parse_only(Path::new(path));
        return;
    }
    if let Some(index) = args.iter().position(|arg| arg == "--lower-bound-only") {
        let Some(path) = args.get(index + 1) else {
            eprintln!("--lower-bound-only needs a file");
            std::process::exit(2);
        };
        lower_bound_only(Path::new(path));
        return;
    }
    if args.iter().any(|arg| arg == "--list") {
        return;
    }
    let megabytes: u64 =
        std::env::var("CALLSTITCH_BENCH_MB").ok().and_then(|mb| mb.parse().ok()).unwrap_or(1100);
    for workload in [Workload::Events, Workload::SipMix] {
        report(workload, megabytes);
    }
}

fn report(workload: Workload, megabytes: u64) {
    let big = bench_file(workload, megabytes);
    let small = bench_file(workload, (megabytes / 10).max(10));
    println!("== {} workload: {} ({:.0} MB)", workload.name(), big.display(), size_mb(&big));
    let grep = best_of(|| run_grep(&big));
    let (lower_bound, blocks) = best_lower_bound(&big);
    let (parse, events, peak_kb) = best_parse(&big);
    let (_, _, small_peak_kb) = best_parse(&small);
    let mb = size_mb(&big);
    let parse_seconds = parse.as_secs_f64();
    println!("grep -c 'message Event': {:.3} s ({:.0} MB/s)", grep.as_secs_f64(), mb / grep.as_secs_f64());
    println!(
        "memchr lower bound (1 core): {:.3} s ({:.0} MB/s), {blocks} blocks",
        lower_bound.as_secs_f64(),
        mb / lower_bound.as_secs_f64()
    );
    println!(
        "callstitch parse (1 core): {:.3} s, {:.0} MB/s, {:.2} M events/s, {events} events",
        parse_seconds,
        mb / parse_seconds,
        events as f64 / parse_seconds / 1e6
    );
    println!(
        "parse / grep time: {:.2}x; parse / memchr lower bound: {:.2}x",
        parse_seconds / grep.as_secs_f64(),
        parse_seconds / lower_bound.as_secs_f64()
    );
    println!(
        "peak RSS: {:.1} MB for {:.0} MB of log, {:.1} MB for {:.0} MB",
        peak_kb as f64 / 1024.0,
        mb,
        small_peak_kb as f64 / 1024.0,
        size_mb(&small)
    );
}

#[derive(Clone, Copy)]
enum Workload {
    Events,
    SipMix,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Events => "events",
            Workload::SipMix => "sip-mix",
        }
    }
}

fn size_mb(path: &Path) -> f64 {
    std::fs::metadata(path).map(|meta| meta.len() as f64 / 1e6).unwrap_or(0.0)
}

fn best_of(mut run: impl FnMut() -> Duration) -> Duration {
    (0..RUNS).map(|_| run()).min().unwrap_or_default()
}

fn run_grep(path: &Path) -> Duration {
    let start = Instant::now();
    let output = Command::new("grep").arg("-c").arg("message Event").arg(path).output().expect("grep runs");
    let elapsed = start.elapsed();
    assert!(output.status.success(), "grep failed");
    elapsed
}

/// Runs the parse in a child process (clean peak memory) and keeps the fastest run.
fn best_parse(path: &Path) -> (Duration, u64, u64) {
    let fields = best_child("--parse-only", path);
    (Duration::from_secs_f64(fields[0]), fields[1] as u64, fields[2] as u64)
}

/// Runs the memchr lower bound in a child process and keeps the fastest run.
fn best_lower_bound(path: &Path) -> (Duration, u64) {
    let fields = best_child("--lower-bound-only", path);
    (Duration::from_secs_f64(fields[0]), fields[1] as u64)
}

/// The figures a child printed (seconds first) in its fastest of [`RUNS`] runs.
fn best_child(mode: &str, path: &Path) -> Vec<f64> {
    let exe = std::env::current_exe().expect("own path");
    let mut best: Option<Vec<f64>> = None;
    for _ in 0..RUNS {
        let output = Command::new(&exe).arg(mode).arg(path).output().expect("child runs");
        assert!(output.status.success(), "child failed: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<f64> = text.split_whitespace().filter_map(|field| field.parse().ok()).collect();
        if best.as_ref().is_none_or(|best| fields[0] < best[0]) {
            best = Some(fields);
        }
    }
    best.expect("at least one run")
}

/// Child: the memchr lower bound, the least a reader of this format must do. Reads the file
/// in the reader's 1 MB chunks, finds every newline with memchr, tells block headers (`@...`,
/// `message ...`) from indented attribute lines, and splits each attribute line at the white
/// space after its name. Prints seconds and block headers.
fn lower_bound_only(path: &Path) {
    let start = Instant::now();
    let mut file = File::open(path).expect("bench file opens");
    let mut buf = vec![0_u8; 1 << 20];
    let (mut kept, mut blocks, mut attributes) = (0, 0_u64, 0_u64);
    loop {
        let read = file.read(&mut buf[kept..]).expect("bench file reads");
        let end = kept + read;
        let mut at = 0;
        while let Some(newline) = memchr::memchr(b'\n', &buf[at..end]) {
            let line = &buf[at..at + newline];
            match line.first() {
                Some(b'@') => blocks += 1,
                Some(b'm') if line.starts_with(b"message ") => blocks += 1,
                Some(b'\t' | b' ') => {
                    let name_end = memchr::memchr2(b'\t', b' ', &line[1..]).map_or(line.len(), |end| end + 1);
                    attributes += u64::from(name_end > 1);
                }
                _ => {}
            }
            at += newline + 1;
        }
        if read == 0 {
            break;
        }
        buf.copy_within(at..end, 0);
        kept = end - at;
    }
    std::hint::black_box(attributes);
    println!("{} {blocks}", start.elapsed().as_secs_f64());
}

/// Child: parse the file on this thread, print seconds, events and peak RSS in kB.
fn parse_only(path: &Path) {
    let start = Instant::now();
    let mut reader = LogReader::open(path, ReaderOptions::default()).expect("bench file opens");
    let mut events = 0_u64;
    let mut event = Event::new(Message::Other(Text::default()), "");
    while reader.read_into(&mut event).expect("bench file reads") {
        events += 1;
        std::hint::black_box(&event);
    }
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(reader.stats().problem_count(), 0, "the generated log parses cleanly");
    println!("{seconds} {events} {}", peak_rss_kb());
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// The cached bench file of `megabytes` MB, generated if missing.
fn bench_file(workload: Workload, megabytes: u64) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench dir");
    let path = dir.join(format!("{}-{megabytes}mb-v2.log", workload.name()));
    if path.exists() {
        return path;
    }
    let start = Instant::now();
    let partial = path.with_extension("partial");
    let file = File::create(&partial).expect("bench file");
    let mut writer = LogWriter::new(Counting { inner: BufWriter::with_capacity(1 << 20, file), bytes: 0 });
    write_log(&mut writer, megabytes * 1_000_000, workload);
    writer.into_inner().inner.flush().expect("flush");
    std::fs::rename(&partial, &path).expect("rename");
    eprintln!("generated {} in {:.1} s", path.display(), start.elapsed().as_secs_f64());
    path
}

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A routed inbound call per iteration: route request, queue, diversion, ringing, answer,
/// attached data, a cross-site link now and then, both releases, the call-based deletion,
/// with a line of other server output between blocks.
fn write_log<W: Write>(writer: &mut LogWriter<Counting<W>>, target_bytes: u64, workload: Workload) {
    let date = LogDate { year: 2026, month: 2, day: 2 };
    let header = Header {
        application_name: Some("TS_BENCH".to_string()),
        application_type: Some("TServer (1)".to_string()),
        utc_time: Some(LocalTime { date: Some(date), micros_of_day: 8 * 3_600_000_000 }),
        local_time: Some(LocalTime { date: Some(date), micros_of_day: 13 * 3_600_000_000 + 1_800_000_000 }),
        ..Header::default()
    };
    writer.write_header(&header).expect("write");
    let day_start_utc = date.midnight_micros().expect("date") - 5 * 3_600_000_000 - 1_800_000_000;
    let mut clock: i64 = 13 * 3_600_000_000 + 1_800_000_000;
    let mut seq: u64 = 0x57000;
    let mut call: u64 = 0;
    while writer_bytes(writer) < target_bytes {
        call += 1;
        for mut event in call_events(call) {
            seq += 1;
            clock = (clock + 7_300) % 86_400_000_000;
            event.seq = Some(seq);
            event.clock = Some(LocalTime { date: None, micros_of_day: clock });
            event.timestamp = Some(Timestamp(day_start_utc + clock + 81));
            event.server_version = Some(Text::from("8.1.001.05"));
            writer.write_event(&event).expect("write");
        }
        if let Workload::SipMix = workload {
            write_sip_traffic(writer, call, clock);
        }
    }
}

/// The SIP messages a SIP Server logs around a call: an INVITE in, its 200 OK, and a BYE.
fn write_sip_traffic<W: Write>(writer: &mut LogWriter<Counting<W>>, call: u64, clock: i64) {
    let time = LocalTime { date: None, micros_of_day: clock }.clock_text();
    let mut text = String::with_capacity(2048);
    for (direction, first_line) in [
        ("Received", "INVITE sip:8005551000@10.10.1.20:5060 SIP/2.0".to_string()),
        ("Sending", "SIP/2.0 200 OK".to_string()),
        ("Received", "BYE sip:7001@10.10.1.20:5060 SIP/2.0".to_string()),
    ] {
        text.push_str(&format!("{time}: {direction} [0,UDP] 812 bytes from 10.10.2.30:5060 <<<<<\n"));
        text.push_str(&first_line);
        text.push('\n');
        text.push_str(&format!("Via: SIP/2.0/UDP 10.10.2.30:5060;branch=z9hG4bK-{call:x}-1\n"));
        text.push_str(&format!("From: <sip:+1555{:07}@10.10.2.30>;tag={call:x}-from\n", call % 10_000_000));
        text.push_str("To: <sip:8005551000@10.10.1.20>;tag=4F2A-12\n");
        text.push_str(&format!("Call-ID: {call:016x}-sbc@10.10.2.30\n"));
        text.push_str("CSeq: 1 INVITE\nContact: <sip:10.10.2.30:5060>\nMax-Forwards: 69\n");
        text.push_str("Content-Type: application/sdp\nContent-Length: 212\n\n");
        text.push_str("v=0\no=- 1 1 IN IP4 10.10.2.30\ns=-\nc=IN IP4 10.10.2.30\nt=0 0\n");
        text.push_str(
            "m=audio 20000 RTP/AVP 0 8 101\na=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\n",
        );
        text.push_str(&format!("{time}: $+TLIB:CTI:Unknown:0:{call}\n\n"));
    }
    writer.write_raw(text.as_bytes()).expect("write");
}

fn writer_bytes<W: Write>(writer: &LogWriter<Counting<W>>) -> u64 {
    writer.get_ref().bytes
}

fn call_events(call: u64) -> Vec<Event> {
    let conn = ConnId(0x009a_0218_0000_0000 + call);
    let uuid = CallUuid(Text::from(format!("00RP30KH7088L1IC08GB82LA{:08}", call % 100_000_000)));
    let agent = Text::from(format!("7{:03}", call % 500));
    let caller = Text::from(format!("+1555{:07}", call % 10_000_000));
    let dn_event = |message: Message, this: &str, role: DnRole, other: &Text, other_role: DnRole| {
        let mut event = Event::new(message, "");
        event.context = Context::DistributeEvent;
        event.call_state = Some(CallState::Ok);
        event.call_type = Some(CallType::Inbound);
        event.conn_id = Some(conn);
        event.call_uuid = Some(uuid.clone());
        event.this_dn = Some(Text::from(this));
        event.this_dn_role = Some(role);
        event.other_dn = Some(other.clone());
        event.other_dn_role = Some(other_role);
        event.other.push(callstitch_tlib::RawAttribute {
            name: Text::from("AttributeCallID"),
            value: Value::Int((call % 65_536) as i64),
        });
        event
    };
    let mut route_request =
        dn_event(Message::EventRouteRequest, "5000", DnRole::Destination, &caller, DnRole::Origination);
    route_request.this_queue = Some(Text::from("5000"));
    route_request.dnis = Some(Text::from("8005551000"));
    route_request.ani = Some(caller.clone());
    let mut queued =
        dn_event(Message::EventQueued, "8000", DnRole::Destination, &caller, DnRole::Origination);
    queued.this_queue = Some(Text::from("8000"));
    let mut route_used =
        dn_event(Message::EventRouteUsed, "5000", DnRole::Destination, &caller, DnRole::Origination);
    route_used.third_party_dn = Some(agent.clone());
    let mut diverted =
        dn_event(Message::EventDiverted, "8000", DnRole::Destination, &caller, DnRole::Origination);
    diverted.third_party_dn = Some(agent.clone());
    let mut ringing =
        dn_event(Message::EventRinging, &agent, DnRole::Destination, &caller, DnRole::Origination);
    ringing.this_queue = Some(Text::from("8000"));
    let established =
        dn_event(Message::EventEstablished, &agent, DnRole::Destination, &caller, DnRole::Origination);
    let mut data = dn_event(
        Message::EventAttachedDataChanged,
        &agent,
        DnRole::Destination,
        &caller,
        DnRole::Origination,
    );
    let mut user_data = KvList::new();
    for (key, value) in [
        ("RStrategyName", "Inbound_Main"),
        ("RTargetAgentSelected", "agent42"),
        ("RTenant", "Environment"),
        ("CustomerSegment", "gold"),
        ("Language", "en-US"),
        ("CaseID", "C-2026-000123"),
    ] {
        user_data.push(key, Value::Str(Text::from(value)));
    }
    user_data.push("RVQID", Value::Int(call as i64 % 9999));
    data.user_data = Some(user_data);
    let mut released_caller =
        dn_event(Message::EventReleased, &caller, DnRole::Origination, &agent, DnRole::Destination);
    let mut extensions = KvList::new();
    extensions.push("ReleasingParty", Value::Str(Text::from("1 Local")));
    released_caller.extensions = Some(extensions);
    let mut released_agent =
        dn_event(Message::EventReleased, &agent, DnRole::Destination, &caller, DnRole::Origination);
    let mut extensions = KvList::new();
    extensions.push("ReleasingParty", Value::Str(Text::from("2 Remote")));
    released_agent.extensions = Some(extensions);
    let mut deleted = Event::new(Message::EventCallDeleted, "");
    deleted.context = Context::DistributeCallPartyEvent;
    deleted.conn_id = Some(conn);
    deleted.call_uuid = Some(uuid.clone());
    deleted.ctrl_party = Some(caller.clone());
    let mut events = vec![
        route_request,
        queued,
        route_used,
        diverted,
        ringing,
        established,
        data,
        released_caller,
        released_agent,
        deleted,
    ];
    if call.is_multiple_of(5) {
        let mut changed = Event::new(Message::EventCallDataChanged, "");
        changed.context = Context::DistributeCallPartyEvent;
        changed.conn_id = Some(conn);
        changed.call_uuid = Some(uuid);
        changed.is_links = Some(vec![IsLink {
            id: Text::from(format!("00EBGH4GK488LFQD2CGB02LA{:08}", call % 100_000_000)),
            location_name: Some(Text::from("SIPServer1@SIP_Switch1")),
            direction_role: Some(LinkRole::Source),
            extra: KvList::new(),
        }]);
        events.insert(7, changed);
    }
    events
}
