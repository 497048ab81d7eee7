//! The machine's NATS server for the tests that need one (scripts/services starts it): its
//! address, a stream prefix of each test's own, and the streams removed afterwards. Without a
//! server the tests skip, unless CALLSTITCH_REQUIRE_NATS=1 (CI) makes that a failure.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use callstitch_bus::{Bus, BusOptions, Outgoing, SiteStream};
use serde_json::Value;

use super::settle::{all_interactions, settled};
use super::{base_config, binary, Service};

/// The NATS server: CALLSTITCH_NATS_URL, or the local one.
pub fn nats_url() -> String {
    std::env::var("CALLSTITCH_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

/// A prefix of this test's own when a NATS server answers; `None` (skip) when none does and
/// none is required.
pub fn nats_or_skip(test: &str) -> Option<String> {
    let reachable = std::net::TcpStream::connect(nats_url().trim_start_matches("nats://")).is_ok();
    match reachable {
        true => Some(format!("clitest{}{test}", std::process::id())),
        false if std::env::var("CALLSTITCH_REQUIRE_NATS").as_deref() != Ok("1") => {
            eprintln!("skipped: no NATS server at {}", nats_url());
            None
        }
        false => panic!("NATS is required here: none at {}", nats_url()),
    }
}

/// Deletes the streams of `sites` and the collectors' checkpoints under `prefix`.
pub fn remove_prefix(prefix: &str, sites: Vec<String>) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let options = BusOptions { prefix: prefix.to_string(), ..BusOptions::default() };
        let Ok(bus) = Bus::connect(&nats_url(), options).await else { return };
        for site in &sites {
            let _ = bus.delete_site_stream(site).await;
        }
        let _ = bus.delete_checkpoints().await;
    });
}

/// Every log of a simulated estate, by its site (the header's Application name).
pub fn site_logs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut logs = Vec::new();
    for entry in std::fs::read_dir(dir).expect("simulated dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|extension| extension == "log") {
            let name = path.file_name().and_then(|name| name.to_str()).expect("utf-8 name");
            let site = name.split('-').next().expect("SITE-0001.<time>.log").to_string();
            logs.push((site, path));
        }
    }
    logs.sort();
    logs
}

/// A service config with `sites` named (the same linker's site directory in every run), each
/// with its logs or none, and `extra` at the end.
pub fn config(dir: &Path, sites: &[(String, Option<&Path>)], extra: &str) -> String {
    let mut text = base_config(dir).replace("call_idle_timeout_s = 2\n", "call_idle_timeout_s = 3600\n");
    text.push_str("[ingest]\nbatch_events = 300\nsnapshot_every_s = 1\n");
    for (site, log) in sites {
        match log {
            Some(log) => {
                text.push_str(&format!("[[site]]\nname = \"{site}\"\nlogs = [\"{}\"]\n", log.display()))
            }
            None => text.push_str(&format!("[[site]]\nname = \"{site}\"\n")),
        }
    }
    text.push_str(extra);
    text
}

/// What the service stores following `logs` itself: the reference of the bus's tests.
pub fn followed(work: &Path, logs: &[(String, PathBuf)], events: u64) -> BTreeMap<String, Value> {
    let dir = work.join("followed");
    std::fs::create_dir_all(&dir).expect("dir");
    let sites: Vec<(String, Option<&Path>)> =
        logs.iter().map(|(site, path)| (site.clone(), Some(path.as_path()))).collect();
    let service = Service::start(&dir, &config(&dir, &sites, ""));
    settled(&service, events);
    all_interactions(&service)
}

/// `callstitch collect --once` of every site's log under `prefix`.
pub fn collect(prefix: &str, logs: &[(String, PathBuf)]) {
    let mut command = binary();
    command.args(["collect", "--once", "--no-progress", "--nats", &nats_url(), "--prefix", prefix]);
    for (site, path) in logs {
        command.arg(format!("{site}={}", path.display()));
    }
    let output = command.output().expect("collect runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// A simulated estate of `sites` sites with noise (and `extra` simulator flags), and the
/// events `parse` reads from it.
pub fn noisy_estate(
    dir: &Path,
    sites: &str,
    interactions: &str,
    seed: &str,
    extra: &[&str],
) -> (Vec<(String, PathBuf)>, u64) {
    let logs = dir.join("sim");
    let output = binary()
        .args(["simulate", "--sites", sites, "--noise", "--seed", seed, "--interactions", interactions])
        .args(extra)
        .arg("--out")
        .arg(&logs)
        .output()
        .expect("simulate runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let events = super::parsed_lines(std::slice::from_ref(&logs)).lines().count() as u64;
    (site_logs(&logs), events)
}

/// Publishes `log`'s events to `site`'s stream under `prefix` by hand, with a message of a bad
/// peer (no event) in the middle: its stream sequence.
pub fn publish_with_a_bad_message(prefix: &str, site: &str, log: &Path) -> u64 {
    let lines = super::parsed_lines(&[log.to_path_buf()]);
    let lines: Vec<&str> = lines.lines().collect();
    let middle = lines.len() / 2;
    let mut outgoing: Vec<Outgoing> = lines
        .iter()
        .enumerate()
        .map(|(index, line)| Outgoing {
            id: format!("test.{index}"),
            payload: line.as_bytes().to_vec().into(),
        })
        .collect();
    let bad = b"{\"not\": \"an event\"}".to_vec();
    outgoing.insert(middle, Outgoing { id: "test.bad".to_string(), payload: bad.into() });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let options = BusOptions { prefix: prefix.to_string(), ..BusOptions::default() };
        let bus = Bus::connect(&nats_url(), options).await.expect("bus");
        let mut stream = SiteStream::open(&bus, site).await.expect("stream");
        stream.publish(&outgoing).await.expect("published");
    });
    middle as u64 + 1
}
