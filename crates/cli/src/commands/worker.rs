//! `callstitch worker`: one of the processes that share a large estate (crate
//! `callstitch-worker`, docs/scale.md). Reads the service's config file for the database,
//! the bus and the linking settings (the linker, `serve --workers`, must read the same),
//! runs until Ctrl-C or SIGTERM, then commits what it holds and lets its sites go.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use callstitch_server::config::BusConfig;
use callstitch_server::ops::RoleReport;
use callstitch_server::{DatabaseLocation, ServiceConfig};
use callstitch_worker::logs::Logs;
use callstitch_worker::{Worker, WorkerOptions, WorkerStatus};
use clap::Args;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::commands::serve::{init_logging, runtime, shutdown_signal, LogFormat};
use crate::input::site_files::SiteFiles;
use crate::input::{self, ReadOptions, ReaderChoice, UsageError};

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The service's config file (TOML, docs/serve.md): database, [bus] and the linking
    /// settings. Give the workers and the linker the same one.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The PostgreSQL database the workers and the linker share
    /// (postgres://USER@HOST:PORT/DATABASE; its schema is made).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,

    /// The NATS JetStream server the collectors publish to [default: the config's [bus]
    /// url, else nats://127.0.0.1:4222].
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,

    /// The prefix the collectors publish under (their --prefix) [default: callstitch].
    #[arg(long, value_name = "NAME")]
    pub prefix: Option<String>,

    /// This worker's name, shown to operators (default: the host name and process id).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Serve `GET /metrics` (Prometheus) and `GET /healthz` on this address, e.g.
    /// 127.0.0.1:9102 (port 0: a free port, printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,

    /// Log lines on standard error: readable, or JSON for log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// A backfill: read the sites from these T-Server log files, not from the bus. Each is
    /// `[NAME=]PATH`, a file or a directory of *.log files (and *.log.gz, *.log.zst), as for
    /// `trace`; every worker of the backfill is given the same files (a shared disk). Each
    /// site's files are read in order, and a site taken over goes on from the file and event
    /// its last owner committed. Example: --logs SFO=/logs/sfo NYC=/logs/nyc
    #[arg(long, value_name = "[NAME=]PATH", num_args = 1..)]
    pub logs: Vec<String>,
}

impl WorkerArgs {
    /// The config file's settings with the flags laid over them, and the worker's options.
    fn options(&self) -> Result<WorkerOptions> {
        let mut config = match &self.config {
            Some(path) => ServiceConfig::load(path).map_err(|error| UsageError(error.to_string()))?,
            None => ServiceConfig::default(),
        };
        if let Some(database) = &self.database {
            config.database = PathBuf::from(database);
        }
        let bus = config.bus.get_or_insert_with(BusConfig::default);
        if let Some(url) = &self.nats {
            bus.url = url.clone();
        }
        if let Some(prefix) = &self.prefix {
            bus.prefix = prefix.clone();
        }
        let bus = bus.clone();
        let DatabaseLocation::Postgres(database) = config.location() else {
            return Err(UsageError(format!(
                "workers share a PostgreSQL database, and the database is {}: give --database postgres://USER@HOST:PORT/DATABASE",
                config.location().name()
            ))
            .into());
        };
        let name = self.name.clone().unwrap_or_else(default_name);
        let logs = if self.logs.is_empty() {
            None
        } else {
            let options = ReadOptions {
                max_problems_shown: 20,
                quiet: false,
                progress: false,
                reader: ReaderChoice::Auto,
            };
            Some(Logs(Arc::new(SiteFiles::new(input::resolve(&self.logs)?, options)?)))
        };
        Ok(WorkerOptions {
            nats_url: bus.url,
            prefix: bus.prefix,
            database: database.to_string(),
            name,
            pipeline: callstitch_server::pipeline_config(&config, true).build(),
            batch_events: config.ingest.batch_events.max(1),
            commit_every: Duration::from_millis(config.ingest.commit_ms.max(1)),
            idle_tick: Duration::from_millis(config.idle_tick_ms.max(1)),
            balance_every: Duration::from_secs(u64::from(bus.discover_s.max(1))),
            logs,
        })
    }
}

/// `<host>-<pid>`.
fn default_name() -> String {
    let host =
        std::fs::read_to_string("/etc/hostname").map(|name| name.trim().to_string()).unwrap_or_default();
    let host = if host.is_empty() { "worker".to_string() } else { host };
    format!("{host}-{}", std::process::id())
}

pub fn run(args: &WorkerArgs) -> Result<()> {
    let options = args.options()?;
    init_logging(args.log_format);
    let runtime = runtime()?;
    let status = Arc::new(WorkerStatus::default());
    runtime.block_on(async {
        if let Some(address) = args.listen {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for /metrics and /healthz"))?;
            let bound = listener.local_addr().context("the address listened on")?;
            eprintln!("callstitch worker: /metrics and /healthz on http://{bound}/");
            let report: Arc<dyn RoleReport> = Arc::new(WorkerReport(Arc::clone(&status)));
            tokio::spawn(callstitch_server::ops::serve_role(listener, report, std::future::pending()));
        }
        tracing::info!(name = %options.name, "worker starting");
        Worker::new(options, status).run(shutdown_signal()).await.context("the worker stopped")
    })
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabel {
    site: String,
}

/// What `callstitch worker --listen ADDR` shows on `/metrics` and `/healthz`
/// (docs/scale.md, "Operations"). Labels are bounded: `site` is one of the sites it owns.
struct WorkerReport(Arc<WorkerStatus>);

impl RoleReport for WorkerReport {
    fn metrics(&self) -> String {
        let status = &self.0;
        let mut registry = Registry::with_prefix("callstitch_worker");
        for (name, help, value) in [
            ("events", "Events taken from the owned sites' streams", &status.events),
            (
                "problems",
                "Stream messages that were no events (stored as problems, skipped)",
                &status.problems,
            ),
            ("commits", "Steps of a site committed", &status.commits),
            (
                "commit_failures",
                "Steps that could not be committed (the site was let go)",
                &status.commit_failures,
            ),
        ] {
            let counter = Counter::<u64>::default();
            counter.inc_by(value.load(Ordering::Relaxed));
            registry.register(name, help, counter);
        }
        for (name, help, value) in [
            ("database_connected", "1 while the database connection is up", &status.database_connected),
            ("bus_connected", "1 while the bus connection is up", &status.bus_connected),
        ] {
            let gauge = Gauge::<i64>::default();
            gauge.set(value.load(Ordering::Relaxed) as i64);
            registry.register(name, help, gauge);
        }
        let sequence = Family::<SiteLabel, Gauge>::default();
        let pending = Family::<SiteLabel, Gauge>::default();
        let file = Family::<SiteLabel, Gauge>::default();
        let files = Family::<SiteLabel, Gauge>::default();
        if let Ok(sites) = status.sites.lock() {
            for (site, gauge) in sites.iter() {
                let label = SiteLabel { site: site.clone() };
                sequence.get_or_create(&label).set(gauge.stream_seq as i64);
                pending.get_or_create(&label).set(gauge.pending as i64);
                if gauge.files > 0 {
                    file.get_or_create(&label).set(gauge.file as i64);
                    files.get_or_create(&label).set(gauge.files as i64);
                }
            }
        }
        registry.register(
            "site_file",
            "Per owned site of a backfill (--logs): the file being read, from 1 (0 before the first)",
            file,
        );
        registry.register(
            "site_files",
            "Per owned site of a backfill (--logs): how many log files it has",
            files,
        );
        registry.register(
            "site_sequence",
            "Per owned site: the stream sequence of the last message taken",
            sequence,
        );
        registry.register(
            "site_pending",
            "Per owned site: messages its stream holds beyond what was read (the lag)",
            pending,
        );
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &registry);
        text
    }

    fn health(&self) -> (bool, serde_json::Value) {
        let status = &self.0;
        let database = status.database_connected.load(Ordering::Relaxed) == 1;
        let logs = status.reads_logs.load(Ordering::Relaxed);
        let bus = logs || status.bus_connected.load(Ordering::Relaxed) == 1;
        let sites: Vec<String> =
            status.sites.lock().map(|sites| sites.keys().cloned().collect()).unwrap_or_default();
        let problem = match (database, bus) {
            (true, true) => None,
            (false, _) => Some("the database does not answer: the worker owns no site until it does"),
            (true, false) => Some("the bus does not answer: the owned sites are not read"),
        };
        let source = if logs { "logs" } else { "bus" };
        let body = json!({ "ok": problem.is_none(), "problem": problem, "database": database, "bus": bus, "source": source, "sites": sites });
        (problem.is_none(), body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;
    use callstitch_worker::SiteGauge;

    /// A backfill's worker shows which file of each site it reads, and is healthy without a
    /// bus; a worker of the bus shows no file gauges.
    #[test]
    fn a_backfilling_worker_shows_its_place_in_each_sites_files_and_needs_no_bus() {
        let status = Arc::new(WorkerStatus::default());
        status.database_connected.store(1, Ordering::Relaxed);
        status.reads_logs.store(true, std::sync::atomic::Ordering::Relaxed);
        let gauge = SiteGauge { stream_seq: 120, pending: 0, file: 3, files: 10 };
        status.sites.lock().unwrap().insert("TS1".to_string(), gauge);
        let report = WorkerReport(Arc::clone(&status));
        let metrics = report.metrics();
        assert!(metrics.contains("callstitch_worker_site_file{site=\"TS1\"} 3"), "{metrics}");
        assert!(metrics.contains("callstitch_worker_site_files{site=\"TS1\"} 10"), "{metrics}");
        let (healthy, body) = report.health();
        assert!(healthy, "{body}");
        assert_eq!(body["source"], "logs");

        status.reads_logs.store(false, std::sync::atomic::Ordering::Relaxed);
        let gauge = SiteGauge { stream_seq: 120, pending: 4, ..SiteGauge::default() };
        status.sites.lock().unwrap().insert("TS1".to_string(), gauge);
        let metrics = report.metrics();
        assert!(!metrics.contains("callstitch_worker_site_file{"), "{metrics}");
        assert!(metrics.contains("callstitch_worker_site_pending{site=\"TS1\"} 4"), "{metrics}");
        let (healthy, body) = report.health();
        assert!(!healthy, "a bus worker without its bus: {body}");
        assert_eq!(body["source"], "bus");
    }
}
