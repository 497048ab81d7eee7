//! The end-to-end benchmark of `callstitch trace`: `cargo bench -p callstitch --bench trace`.
//!
//! Generates (once, cached under target/bench-data) the logs of four sites: customer calls
//! that hop between them over Inter-Site Links, each call as a T-Server logs it (DN events
//! with ReleasingParty, call-based events with the links). Then, in the same run, it times
//! the release binary: `parse --stats` (reading only), `trace` with a filter that matches
//! nothing (reading, the call engine and the linker, no output), and `trace --json` (all of it
//! and the JSON output), on one core, and prints events/s for each, beside `grep -c '^@'` on
//! the same files (every event block's first line: the floor for reading them) as a ratio.
//! `CALLSTITCH_BENCH_INTERACTIONS` sets the size (default 200,000 interactions);
//! `CALLSTITCH_BENCH_BASELINE=/path/to/an/older/callstitch` times that binary's `trace` on
//! the same files in the same run, for a before/after.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callstitch_tlib::tlog::{Header, LogWriter};
use callstitch_tlib::{
    CallState, CallType, CallUuid, ConnId, Context, DnRole, Event, IsLink, KvList, LinkRole, LocalTime,
    LogDate, Message, Text, Timestamp, Value,
};

const SITES: [(&str, &str); 4] = [("TsA", "AvayaA"), ("TsB", "AvayaB"), ("SipC", "SipC"), ("SipD", "SipD")];
use callstitch_tlib::SECOND;

fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let count: usize =
        std::env::var("CALLSTITCH_BENCH_INTERACTIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let dir = bench_logs(count);
    let bytes: u64 = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|entry| entry.ok()?.metadata().ok()).map(|meta| meta.len()).sum())
        .unwrap_or(0);
    let events = count_events(&dir);
    println!(
        "logs: {} ({:.0} MB, {events} events, {count} interactions, 4 sites)",
        dir.display(),
        bytes as f64 / 1e6
    );
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_callstitch"));
    let grep = best_of(3, || grep_blocks(&dir));
    let parse = best_of(3, || run(&binary, &["parse", "--stats", "--quiet"], &dir));
    let trace = best_of(3, || run(&binary, &["trace", "--json", "--quiet"], &dir));
    let silent =
        best_of(3, || run(&binary, &["trace", "--json", "--quiet", "--call-uuid", "NO-SUCH-CALL"], &dir));
    let mut rows = vec![
        ("grep -c '^@' (the floor)".to_string(), grep),
        ("parse only".to_string(), parse),
        ("parse + engine + link (no output)".to_string(), silent),
        ("parse + engine + link + JSON".to_string(), trace),
    ];
    if let Some(baseline) = std::env::var_os("CALLSTITCH_BENCH_BASELINE").map(PathBuf::from) {
        let args = ["trace", "--json", "--quiet", "--call-uuid", "NO-SUCH-CALL"];
        rows.push((
            format!("baseline {} (no output)", baseline.display()),
            best_of(3, || run(&baseline, &args, &dir)),
        ));
        let args = ["trace", "--json", "--quiet"];
        rows.push((
            format!("baseline {} + JSON", baseline.display()),
            best_of(3, || run(&baseline, &args, &dir)),
        ));
    }
    for (what, time) in rows {
        let seconds = time.as_secs_f64();
        println!(
            "{what}: {seconds:.2} s, {:.2} M events/s, {:.0} MB/s, {:.1}x grep",
            events as f64 / seconds / 1e6,
            bytes as f64 / seconds / 1e6,
            seconds / grep.as_secs_f64().max(1e-9)
        );
    }
}

/// `grep -c '^@'` over the logs: the time to read every line once.
fn grep_blocks(dir: &Path) -> Duration {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect())
        .unwrap_or_default();
    let logs: Vec<&PathBuf> =
        files.iter().filter(|path| path.extension().is_some_and(|ext| ext == "log")).collect();
    let start = Instant::now();
    // Its output is read: GNU grep stops at the first match when it writes to /dev/null.
    let output = Command::new("grep").arg("-c").arg("^@").args(&logs).output().expect("grep runs");
    assert!(output.status.code().is_some_and(|code| code <= 1), "grep failed");
    start.elapsed()
}

fn best_of(runs: usize, mut run: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| run()).min().unwrap_or_default()
}

fn run(binary: &Path, args: &[&str], dir: &Path) -> Duration {
    let start = Instant::now();
    let status =
        Command::new(binary).args(args).arg(dir).stdout(Stdio::null()).status().expect("callstitch runs");
    assert!(status.success(), "callstitch {args:?} failed");
    start.elapsed()
}

fn count_events(dir: &Path) -> u64 {
    let output = Command::new(env!("CARGO_BIN_EXE_callstitch"))
        .args(["parse", "--stats", "--format", "json", "--quiet"])
        .arg(dir)
        .output()
        .expect("callstitch runs");
    let stats: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stats JSON");
    assert_eq!(stats["problems"].as_object().map(|problems| problems.len()), Some(0), "clean logs");
    stats["events"].as_u64().unwrap_or(0)
}

/// The cached logs of `count` interactions, generated if missing.
fn bench_logs(count: usize) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/bench-data/trace-{count}-v2"));
    if dir.join("done").exists() {
        return dir;
    }
    std::fs::create_dir_all(&dir).expect("bench dir");
    let start = Instant::now();
    let mut writers: Vec<SiteWriter> = SITES.iter().map(|(name, _)| SiteWriter::create(&dir, name)).collect();
    let mut random = 0x5eed_u64;
    for interaction in 0..count {
        write_interaction(interaction, &mut writers, &mut random);
    }
    for writer in writers {
        writer.log.into_inner().flush().expect("flush");
    }
    File::create(dir.join("done")).expect("marker");
    eprintln!("generated {} in {:.1} s", dir.display(), start.elapsed().as_secs_f64());
    dir
}

struct SiteWriter {
    log: LogWriter<BufWriter<File>>,
    name: &'static str,
    seq: u64,
}

impl SiteWriter {
    fn create(dir: &Path, name: &'static str) -> SiteWriter {
        let file = File::create(dir.join(format!("{name}.log"))).expect("log file");
        let mut log = LogWriter::new(BufWriter::with_capacity(1 << 20, file));
        let date = LogDate { year: 2026, month: 2, day: 2 };
        let header = Header {
            application_name: Some(name.to_string()),
            utc_time: Some(LocalTime { date: Some(date), micros_of_day: 0 }),
            local_time: Some(LocalTime { date: Some(date), micros_of_day: 0 }),
            ..Header::default()
        };
        log.write_header(&header).expect("header");
        SiteWriter { log, name, seq: 0x1000 }
    }

    fn write(&mut self, mut event: Event, at: i64) {
        self.seq += 1;
        let midnight = LogDate { year: 2026, month: 2, day: 2 }.midnight_micros().unwrap_or(0);
        event.site = Text::from(self.name);
        event.seq = Some(self.seq);
        event.timestamp = Some(Timestamp(at));
        event.clock =
            Some(LocalTime { date: None, micros_of_day: (at - midnight).rem_euclid(86_400 * SECOND) });
        event.server_version = Some(Text::from("8.1.001.05"));
        self.log.write_event(&event).expect("write");
    }
}

fn next(random: &mut u64) -> u64 {
    *random ^= *random << 13;
    *random ^= *random >> 7;
    *random ^= *random << 17;
    *random
}

/// One customer: an inbound call that rings an agent at one site, then hops one to three
/// times to other sites over Inter-Site Links, each call answered there; the customer hangs
/// up at the last.
fn write_interaction(interaction: usize, writers: &mut [SiteWriter], random: &mut u64) {
    let midnight = LogDate { year: 2026, month: 2, day: 2 }.midnight_micros().unwrap_or(0);
    let mut start = midnight + 3_600 * SECOND + interaction as i64 * SECOND / 4;
    let hops = 1 + (next(random) % 3) as usize;
    let mut site = (next(random) % 4) as usize;
    let customer = Text::from(format!("+1555{:07}", interaction % 10_000_000));
    let mut arrived: Option<(String, usize)> = None;
    for hop in 0..=hops {
        let last = hop == hops;
        let uuid = CallUuid(Text::from(format!("{:04}{interaction:08}{hop:02}0000000000000000", site)));
        let conn = ConnId(next(random) % 100_000 + 1);
        let agent = Text::from(format!("{}", 7000 + next(random) % 500));
        let next_site = (site + 1 + (next(random) % 3) as usize) % 4;
        let link_out = format!("LNK{interaction:010}{hop:02}00000000000000000000");
        let mut links: Vec<IsLink> = Vec::new();
        let writer = &mut writers[site];
        writer.write(call_event(Message::EventCallCreated, &uuid, conn), start);
        if let Some((link, from)) = &arrived {
            links.push(link_end(link, LinkRole::Target, *from));
            let mut changed = call_event(Message::EventCallDataChanged, &uuid, conn);
            changed.is_links = Some(links.clone());
            writer.write(changed, start + SECOND / 10);
        }
        let ring = dn_event(Message::EventRinging, &uuid, conn, &agent, &customer);
        writer.write(ring, start + SECOND);
        writer.write(dn_event(Message::EventEstablished, &uuid, conn, &agent, &customer), start + 5 * SECOND);
        let talk_end = start + (30 + (next(random) % 90) as i64) * SECOND;
        if !last {
            links.push(link_end(&link_out, LinkRole::Source, next_site));
            let mut changed = call_event(Message::EventCallDataChanged, &uuid, conn);
            changed.is_links = Some(links.clone());
            writer.write(changed, talk_end - SECOND);
        }
        // The customer is an unmonitored trunk party: only the agent's side is logged.
        let agent_side = if last { "2 Remote" } else { "1 Local" };
        writer.write(released(&uuid, conn, &agent, &customer, agent_side), talk_end);
        let mut deleted = call_event(Message::EventCallDeleted, &uuid, conn);
        deleted.ctrl_party = Some(if last { customer.clone() } else { agent.clone() });
        writer.write(deleted, talk_end + SECOND / 10);
        arrived = Some((link_out, site));
        start = talk_end - SECOND / 2;
        site = next_site;
    }
}

fn link_end(id: &str, role: LinkRole, site: usize) -> IsLink {
    let (name, switch) = SITES[site];
    IsLink {
        id: Text::from(id),
        location_name: Some(Text::from(format!("{name}@{switch}"))),
        direction_role: Some(role),
        extra: KvList::new(),
    }
}

fn call_event(message: Message, uuid: &CallUuid, conn: ConnId) -> Event {
    let mut event = Event::new(message, "");
    event.context = Context::DistributeCallPartyEvent;
    event.call_uuid = Some(uuid.clone());
    event.conn_id = Some(conn);
    event
}

fn dn_event(message: Message, uuid: &CallUuid, conn: ConnId, this: &Text, other: &Text) -> Event {
    let mut event = Event::new(message, "");
    event.context = Context::DistributeEvent;
    event.call_uuid = Some(uuid.clone());
    event.conn_id = Some(conn);
    event.call_type = Some(CallType::Inbound);
    event.call_state = Some(CallState::Ok);
    event.this_dn = Some(this.clone());
    event.other_dn = Some(other.clone());
    let customer = this.starts_with('+');
    event.this_dn_role = Some(if customer { DnRole::Origination } else { DnRole::Destination });
    event.other_dn_role = Some(if customer { DnRole::Destination } else { DnRole::Origination });
    event
}

fn released(uuid: &CallUuid, conn: ConnId, this: &Text, other: &Text, releasing_party: &str) -> Event {
    let mut event = dn_event(Message::EventReleased, uuid, conn, this, other);
    let mut extensions = KvList::new();
    extensions.push("ReleasingParty", Value::Str(Text::from(releasing_party)));
    event.extensions = Some(extensions);
    event
}
