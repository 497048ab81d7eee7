//! The machine's NATS server for the tests that need one (scripts/services starts it): its
//! address, a stream prefix of each test's own, and the streams removed afterwards. Without a
//! server the tests skip, unless CALLSTITCH_REQUIRE_NATS=1 (CI) makes that a failure.

use callstitch_bus::{Bus, BusOptions};

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
