//! callstitch-server: `callstitch serve`, the service that runs next to the T-Servers.
//!
//! The shape is Vector's: sources (followed log files, [`source`]; `POST /v1/events`,
//! `POST /v1/media`) feed one ingest loop ([`ingest`]) that owns the transform
//! ([`pipeline`]: engine, linker, recorder) and writes to the sink
//! ([`callstitch_store::Store`], any backend: [`serve_with`]) in one transaction per batch;
//! the HTTP API ([`api`]) reads the store and the live stream while ingest goes on.

pub mod api;
pub mod clock;
pub mod config;
mod encoder;
pub mod estate;
pub mod http;
pub mod ingest;
pub mod mask;
pub mod merge;
pub mod metrics;
pub mod ops;
pub mod pipeline;
pub mod source;
pub mod state;
pub mod ui;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use callstitch_follow::{FollowConfig, FollowInput};
use callstitch_store::{PostgresOptions, PostgresStore, SqliteOptions, SqliteStore, Store, StoreError};
use thiserror::Error;
use tokio::net::TcpListener;

pub use config::{ConfigError, DatabaseLocation, ServiceConfig};

use crate::api::{App, AppInner, Edge};
use crate::ingest::{IngestError, IngestLoop, IngestSettings, StoreRetry};
use crate::pipeline::PipelineConfig;
use crate::state::{IngestState, Shared};

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {address}: {source}")]
    Listen { address: SocketAddr, source: std::io::Error },
    #[error("HTTP server: {0}")]
    Http(std::io::Error),
    #[error("ingest: {0}")]
    Ingest(#[from] IngestError),
    #[error("the ingest thread panicked")]
    IngestPanicked,
}

/// The pipeline part of the configuration: `live` for the service, not for a one-shot
/// import (which hands each interaction out once, complete).
pub fn pipeline_config(config: &ServiceConfig, live: bool) -> PipelineConfig {
    PipelineConfig {
        sites: config.sites.iter().map(|site| site.name.clone()).collect(),
        link_timeout_s: config.link_timeout_s,
        linger_s: config.linger_s,
        call_idle_timeout_s: config.call_idle_timeout_s,
        site_idle_s: config.site_idle_s,
        record_marker: config.record_marker.clone(),
        live,
    }
}

/// The follower's configuration: every log path of every site, named by its site.
pub fn follow_config(config: &ServiceConfig) -> Option<FollowConfig> {
    let named = config.sites.iter().flat_map(|site| {
        site.logs.iter().map(|path| FollowInput { site: Some(site.name.clone()), path: path.clone() })
    });
    let by_header = config.logs.iter().map(|path| FollowInput { site: None, path: path.clone() });
    let inputs: Vec<FollowInput> = named.chain(by_header).collect();
    if inputs.is_empty() {
        return None;
    }
    let mut follow = FollowConfig::new(inputs);
    follow.settle = Duration::from_millis(config.ingest.settle_ms);
    Some(follow)
}

/// Where the service listens, once it does.
pub type OnListening = Box<dyn FnOnce(SocketAddr) + Send>;

/// Runs the service on the database of `config` (a SQLite file, [`open_store`], or a
/// PostgreSQL database, [`open_postgres`]) until `shutdown` completes: [`serve_with`].
pub async fn serve(
    config: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: OnListening,
) -> Result<(), ServeError> {
    // A configuration that is refused creates no database.
    config.validate()?;
    match config.location() {
        DatabaseLocation::File(_) => {
            let store = open_store(&config)?;
            serve_with(store, config, shutdown, on_listening).await
        }
        DatabaseLocation::Postgres(url) if config.bus.as_ref().is_some_and(|bus| bus.workers) => {
            let mut shutdown = Box::pin(shutdown);
            let store = tokio::select! {
                store = open_linker(url) => store?,
                _ = &mut shutdown => return Ok(()),
            };
            serve_estate(store, config, shutdown, on_listening).await
        }
        DatabaseLocation::Postgres(url) => {
            let store = open_postgres(url).await?;
            serve_with(store, config, shutdown, on_listening).await
        }
    }
}

/// The store `config` names: its SQLite `database`, `durable` or not. Refused while
/// another process holds it.
pub fn open_store(config: &ServiceConfig) -> Result<SqliteStore, StoreError> {
    let options = SqliteOptions { durable: config.durable, ..SqliteOptions::default() };
    SqliteStore::open(&config.database, options)
}

/// The PostgreSQL store at `url`. Refused while another process writes that database.
pub async fn open_postgres(url: &str) -> Result<PostgresStore, StoreError> {
    PostgresStore::open(PostgresOptions::new(url)).await
}

/// The linker role's store: while another linker holds the database, this one stands by
/// (said once) and takes it as soon as the other lets go.
async fn open_linker(url: &str) -> Result<PostgresStore, StoreError> {
    let mut said = false;
    loop {
        match PostgresStore::open(PostgresOptions::new(url)).await {
            Err(StoreError::InUse { holder, .. }) => {
                if !said {
                    tracing::info!(%holder, "another linker holds the database: standing by to take over");
                    said = true;
                }
            }
            other => return other,
        }
    }
}

/// Runs the service on `store`, whichever backend it is, until `shutdown` completes; then
/// stops taking requests, lets the ingest loop commit what it holds with a checkpoint,
/// closes the store ([`Store::close`]) and returns.
pub async fn serve_with<S: Store + Clone>(
    store: S,
    config: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: OnListening,
) -> Result<(), ServeError> {
    serve_on(store, config, shutdown, on_listening, spawn_ingest).await
}

/// The linker role (`serve --workers`, [`estate`]): the service on `store`, linking what
/// `callstitch worker`s store there instead of reading logs or streams.
pub async fn serve_estate(
    store: PostgresStore,
    config: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: OnListening,
) -> Result<(), ServeError> {
    serve_on(store, config, shutdown, on_listening, spawn_estate).await
}

/// What runs the ingest side: given the configuration, the store, the API's requests, the
/// shared state and the stop flag, a thread that runs until the flag is set.
type IngestThread = std::thread::JoinHandle<Result<(), IngestError>>;

/// Starts an [`IngestThread`] (see there).
type SpawnIngest<S> = fn(
    &ServiceConfig,
    S,
    std::sync::mpsc::Receiver<ingest::Request>,
    Arc<Shared>,
    Arc<AtomicBool>,
) -> IngestThread;

async fn serve_on<S: Store + Clone>(
    store: S,
    config: ServiceConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_listening: OnListening,
    spawn: SpawnIngest<S>,
) -> Result<(), ServeError> {
    config.validate()?;
    let config = with_bus_sites(config).await;
    let shared = Arc::new(Shared::new());
    // Until the ingest thread has recovered, the service is not ready for ingest.
    shared.set_ingest_state(IngestState::Recovering { replayed: 0, total: 0 });
    let (ingress, requests) = ingest::queue(64);
    let stop = Arc::new(AtomicBool::new(false));

    let open_files = http::raise_open_file_limit();
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServeError::Listen { address: config.listen, source })?;
    let address = listener.local_addr().map_err(ServeError::Http)?;
    let limits = http::ConnectionLimits::new(&config.http, open_files);

    let ingest_thread = spawn(&config, store.clone(), requests, Arc::clone(&shared), Arc::clone(&stop));
    let closing = store.clone();
    let retention = spawn_retention(store.clone(), config.retention_days);

    let app = App::new(AppInner {
        store,
        ingress,
        shared,
        tokens: config.tokens.clone(),
        mask_numbers: config.mask_numbers,
        max_body_bytes: config.ingest.max_body_bytes,
        edge: Edge::new(&config, address),
        sign_ins: Default::default(),
        sites: config.sites.iter().map(|site| site.name.clone()).collect(),
    });
    on_listening(address);
    // The ingest loop hears of the stop at once: a replay or a wait on a failing store gives
    // way to it, and requests it holds are answered, so the HTTP server can drain.
    let stopping = Arc::clone(&stop);
    let shutdown = async move {
        shutdown.await;
        stopping.store(true, Ordering::Relaxed);
    };
    http::serve_connections(listener, api::router(app), limits, shutdown).await;
    stop.store(true, Ordering::Relaxed);
    if let Some(task) = retention {
        task.abort();
    }
    let ingest_result = tokio::task::spawn_blocking(move || ingest_thread.join())
        .await
        .map_err(|_| ServeError::IngestPanicked)?
        .map_err(|_| ServeError::IngestPanicked)?;
    if ingest_result.is_ok() {
        close_store(&closing).await;
    }
    ingest_result.map_err(ServeError::from)
}

/// The configuration with every site that has a stream on the bus added to its sites (with
/// no logs of their own), so that the linker knows them from the start. A bus that does not
/// answer now adds none: its sites are read once it does, and a site not configured is then
/// not known to lead anywhere (docs/scale.md: name every site in the config).
async fn with_bus_sites(mut config: ServiceConfig) -> ServiceConfig {
    let Some(bus) = &config.bus else { return config };
    let options = callstitch_bus::BusOptions { prefix: bus.prefix.clone(), ..Default::default() };
    let listed = match callstitch_bus::Bus::connect(&bus.url, options).await {
        Ok(bus) => bus.sites().await,
        Err(error) => Err(error),
    };
    match listed {
        Ok(sites) => {
            for site in sites {
                if !config.sites.iter().any(|known| known.name == site) {
                    config.sites.push(config::SiteConfig { name: site, logs: Vec::new() });
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, "cannot list the bus's site streams at start; only the configured sites are known")
        }
    }
    config
}

/// The linker role's loop ([`estate`]) on a thread of its own.
fn spawn_estate(
    config: &ServiceConfig,
    store: PostgresStore,
    requests: std::sync::mpsc::Receiver<ingest::Request>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> IngestThread {
    let runtime = tokio::runtime::Handle::current();
    let pipeline = pipeline_config(config, true);
    let settings = estate::EstateSettings {
        poll: Duration::from_millis(config.ingest.poll_ms.max(1)),
        snapshot_every: Duration::from_secs(config.ingest.snapshot_every_s),
        interactions_every: Duration::from_millis(config.ingest.interactions_ms),
        bus: config.bus.as_ref().map(|bus| (bus.url.clone(), bus.prefix.clone())),
    };
    std::thread::spawn(move || {
        let result = estate::EstateLoop::recover(
            store,
            runtime,
            &pipeline,
            requests,
            Arc::clone(&shared),
            settings,
            stop,
        )
        .and_then(estate::EstateLoop::run);
        result.map_err(|error| {
            let reason = error.to_string();
            tracing::error!(%reason, "the linker stopped");
            shared.set_ingest_state(IngestState::Stopped { reason: reason.clone() });
            IngestError::Estate(reason)
        })
    })
}

/// The bus input of `config`, if it reads one (the linker role reads none: its workers do).
pub fn bus_input(config: &ServiceConfig) -> Option<source::BusInput> {
    let bus = config.bus.as_ref().filter(|bus| !bus.workers)?;
    Some(source::BusInput {
        url: bus.url.clone(),
        prefix: bus.prefix.clone(),
        discover_every: Duration::from_secs(u64::from(bus.discover_s.max(1))),
    })
}

/// At a clean exit: the store closed; for SQLite, the write-ahead log into the database,
/// truncated (docs/serve.md, "Failure modes and limits").
async fn close_store<S: Store>(store: &S) {
    match store.close().await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("a reader was still busy at exit: the write-ahead log is left for the next start")
        }
        Err(error) => {
            tracing::warn!(%error, "cannot checkpoint the write-ahead log at exit; the next start does")
        }
    }
}

fn spawn_ingest<S: Store + Clone>(
    config: &ServiceConfig,
    store: S,
    requests: std::sync::mpsc::Receiver<ingest::Request>,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<(), IngestError>> {
    let runtime = tokio::runtime::Handle::current();
    let pipeline = pipeline_config(config, true);
    let follow = follow_config(config);
    let bus = bus_input(config);
    let settings = IngestSettings {
        batch_events: config.ingest.batch_events,
        poll: Duration::from_millis(config.ingest.poll_ms.max(1)),
        snapshot_every: Duration::from_secs(config.ingest.snapshot_every_s),
        idle_tick: Duration::from_millis(config.idle_tick_ms.max(1)),
        live: true,
        commit_every: Duration::from_millis(config.ingest.commit_ms.max(1)),
        interactions_every: Duration::from_millis(config.ingest.interactions_ms),
        interactions_per_commit: config.ingest.interactions_per_commit,
        interactions_wait: Duration::from_millis(config.ingest.interactions_wait_ms),
        store_retry: Some(StoreRetry::default()),
    };
    std::thread::spawn(move || {
        let result = IngestLoop::recover(
            store,
            runtime,
            &pipeline,
            follow,
            requests,
            Arc::clone(&shared),
            settings,
            stop,
            Arc::new(callstitch_clock::SystemClock),
        )
        .and_then(|ingest| match ingest {
            Some(mut ingest) => {
                if let Some(bus) = bus {
                    ingest.read_bus(bus);
                }
                ingest.run()
            }
            None => {
                tracing::info!("stopped during recovery; what was replayed is kept");
                Ok(())
            }
        });
        if let Err(error) = &result {
            tracing::error!(%error, "the ingest loop stopped");
            shared.set_ingest_state(IngestState::Stopped { reason: error.to_string() });
        }
        result
    })
}

/// Deletes whole interactions older than the retention, once an hour.
fn spawn_retention<S: Store>(store: S, days: u32) -> Option<tokio::task::JoinHandle<()>> {
    if days == 0 {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            let now = jiff::Timestamp::now().as_microsecond();
            let before = now - i64::from(days) * 86_400_000_000;
            match store.prune(before).await {
                Ok(pruned) => tracing::info!(
                    interactions = pruned.interactions,
                    calls = pruned.calls,
                    events = pruned.events,
                    "retention"
                ),
                Err(error) => tracing::error!(%error, "retention"),
            }
        }
    }))
}
