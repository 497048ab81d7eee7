//! `callstitch import`: a one-shot import of existing log files into the store the service
//! uses, with a progress bar. The files are read as `trace` reads them (each site's rotated
//! segments in order, sites merged by event time) through the service's own ingest loop: raw
//! events, calls and interactions are committed batch by batch, each batch with how far the
//! import got, so an interrupted import goes on where it stopped when run again with the
//! same files, and a finished one is not imported twice.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use callstitch_server::config::{DatabaseLocation, ServiceConfig};
use callstitch_server::ingest::{queue, ImportStart, IngestLoop, IngestSettings};
use callstitch_server::pipeline_config;
use callstitch_server::state::Shared;
use callstitch_store::{SqliteOptions, SqliteStore, Store};
use clap::Args;

use crate::commands::parse::ReadArgs;
use crate::commands::serve::{init_logging, runtime, LogFormat};
use crate::input;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Log or JSON-lines files, directories (their *.log files) of every site. Prefix NAME=
    /// to name a site, e.g. TS2=/logs/tserver2/.
    #[arg(required = true, value_name = "[NAME=]PATH")]
    pub paths: Vec<String>,

    /// The SQLite database file, created if missing (the one `callstitch serve` uses), or a
    /// PostgreSQL database's URL (postgres://USER@HOST:PORT/DATABASE).
    #[arg(long, default_value = "callstitch.db", value_name = "PATH|URL")]
    pub database: PathBuf,

    /// Leave calls still open at the end of the files open (in the stored snapshot), for a
    /// later `serve` on this database to continue, instead of ending them.
    #[arg(long)]
    pub keep_open: bool,

    /// Seconds of event time to wait for the other end of an Inter-Site Link.
    #[arg(long, default_value_t = 600, value_name = "SECONDS", value_parser = crate::validate::seconds)]
    pub link_timeout: u32,

    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: &ImportArgs) -> Result<()> {
    init_logging(LogFormat::Human);
    let sources = input::resolve(&args.paths)?;
    let inputs: Vec<(String, u64)> = sources
        .iter()
        .map(|source| {
            let path = source.path.as_ref().map_or("-".to_string(), |path| path.display().to_string());
            (path, source.size.unwrap_or(0))
        })
        .collect();
    let mut config = ServiceConfig {
        database: args.database.clone(),
        link_timeout_s: args.link_timeout,
        ..ServiceConfig::default()
    };
    config.sites = crate::commands::trace::site_directory_names(&sources)
        .into_iter()
        .map(|name| callstitch_server::config::SiteConfig { name, logs: Vec::new() })
        .collect();
    let runtime = runtime()?;
    // Refused (exit 3) while another process, `serve` or an import, holds the database.
    match config.location() {
        DatabaseLocation::File(path) => {
            let store = SqliteStore::open(path, SqliteOptions::default())?;
            import(&runtime, store, &config, &sources, inputs, args)
        }
        DatabaseLocation::Postgres(url) => {
            let store = runtime.block_on(callstitch_server::open_postgres(url))?;
            import(&runtime, store, &config, &sources, inputs, args)
        }
    }
}

/// Imports `sources` (`inputs`: each one's path and size, what an interrupted import of the
/// same files is recognised by) into `store`, whichever backend it is, and closes it.
fn import<S: Store + Clone>(
    runtime: &tokio::runtime::Runtime,
    store: S,
    config: &ServiceConfig,
    sources: &[input::Source],
    inputs: Vec<(String, u64)>,
    args: &ImportArgs,
) -> Result<()> {
    let settings = IngestSettings {
        batch_events: config.ingest.batch_events,
        poll: std::time::Duration::from_millis(config.ingest.poll_ms),
        snapshot_every: std::time::Duration::from_secs(config.ingest.snapshot_every_s),
        idle_tick: std::time::Duration::from_millis(config.idle_tick_ms),
        live: false,
        commit_every: std::time::Duration::from_millis(config.ingest.commit_ms.max(1)),
        interactions_every: std::time::Duration::from_millis(config.ingest.interactions_ms),
        interactions_per_commit: config.ingest.interactions_per_commit,
        interactions_wait: std::time::Duration::from_millis(config.ingest.interactions_wait_ms),
        // A full disk fails the import; run again once there is space, it resumes.
        store_retry: None,
    };
    let started = Instant::now();
    let database = config.location().name();
    let (_ingress, requests) = queue(1);
    let mut ingest = IngestLoop::recover(
        store.clone(),
        runtime.handle().clone(),
        &pipeline_config(config, false),
        None,
        requests,
        Arc::new(Shared::new()),
        settings,
        Arc::new(AtomicBool::new(false)),
        Arc::new(callstitch_server::clock::SystemClock),
    )?
    .context("the import was stopped during recovery")?;
    let mut skip = match ingest.begin_import(inputs) {
        ImportStart::AlreadyDone => {
            println!("callstitch: these files were imported into {database} already; nothing to do");
            close_store(runtime, &store, &database);
            return Ok(());
        }
        ImportStart::Resume(taken) => {
            eprintln!("callstitch: resuming an interrupted import of these files after {taken} events");
            taken
        }
        ImportStart::Fresh => 0,
    };
    let read = input::read_events_by_time(sources, &args.read.options(), |event| {
        if skip > 0 {
            skip -= 1;
            return Ok(());
        }
        ingest.import_event(event)?;
        Ok(())
    })?;
    let taken = ingest.end_import(!args.keep_open)?;
    close_store(runtime, &store, &database);
    let seconds = started.elapsed().as_secs_f64();
    let counts = runtime.block_on(store.counts())?;
    let rate = taken.events as f64 / seconds.max(1e-9);
    if args.json {
        let summary = serde_json::json!({
            "events": taken.events,
            "calls": taken.calls,
            "interactions": taken.interactions,
            "seconds": seconds,
            "events_per_second": rate,
            "database": database,
            "stored": {"interactions": counts.interactions, "calls": counts.calls},
        });
        println!("{summary}");
    } else {
        println!(
            "callstitch: imported {} events ({} calls, {} interactions written) in {:.1} s ({:.0} events/s) \
             into {}, which now holds {} interactions",
            taken.events, taken.calls, taken.interactions, seconds, rate, database, counts.interactions
        );
    }
    input::require_events(&read)
}

/// Checkpoints and closes the store, saying so when its write-ahead log is left behind (busy,
/// or the checkpoint failed: then with the reason). Everything is stored either way; the next
/// start folds the log in.
fn close_store<S: Store>(runtime: &tokio::runtime::Runtime, store: &S, database: &str) {
    match runtime.block_on(store.close()) {
        Ok(true) => {}
        Ok(false) => eprintln!(
            "callstitch: the write-ahead log of {database} is left for the next start (a reader held it)"
        ),
        Err(error) => {
            eprintln!("callstitch: the write-ahead log of {database} is left for the next start: {error}")
        }
    }
}
