//! `callstitch serve`: the service (crate `callstitch-server`, docs/serve.md). Reads the
//! TOML config, lets flags override it, sets up structured logs, and runs until Ctrl-C or
//! SIGTERM, then finishes the batch in hand, checkpoints and exits.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use callstitch_server::config::{BusConfig, SiteConfig};
use callstitch_server::{ServeError, ServiceConfig};
use callstitch_store::StoreError;
use clap::{Args, ValueEnum};

use crate::input::UsageError;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The config file (TOML; every key in docs/serve.md). Without it: the defaults, and
    /// the flags below.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on [default: 127.0.0.1:7878]. Port 0 picks a free port (the
    /// address is printed on standard output).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// The SQLite database file, created if missing [default: callstitch.db], or a
    /// PostgreSQL database's URL (postgres://USER@HOST:PORT/DATABASE; its schema is made).
    #[arg(long, value_name = "PATH|URL")]
    pub database: Option<PathBuf>,

    /// A site and its log file or directory, followed like tail -F (repeatable; adds to the
    /// config's sites). NAME= may be left out: each file's site is then its header's
    /// Application name.
    #[arg(long = "logs", value_name = "[NAME=]PATH")]
    pub logs: Vec<String>,

    /// Also read the sites' event streams that `callstitch collect` publishes to this NATS
    /// JetStream server (nats://HOST:PORT; the config's [bus] section). Every site with a
    /// stream is read, in its log order, from where the database says it stopped; a site
    /// whose stream appears later is read from its first event (docs/scale.md).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,

    /// The prefix the collectors publish under (their --prefix) [default: callstitch].
    #[arg(long, value_name = "NAME", requires = "nats")]
    pub prefix: Option<String>,

    /// The linker role of a large estate (docs/scale.md): link what `callstitch worker`s
    /// read from the bus and store in the --database (PostgreSQL), and answer the API on it,
    /// instead of reading logs or streams. A second one waits as a standby and takes over
    /// when the first stops (the config's [bus] workers = true).
    #[arg(long)]
    pub workers: bool,

    /// Mask the customer's numbers (ANI, DNIS, wherever they appear) in API output.
    #[arg(long)]
    pub mask_numbers: bool,

    /// Delete whole interactions that ended more than this many days ago.
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<u32>,

    /// Service log lines on standard error: readable, or JSON for log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

impl ServeArgs {
    /// The config file's settings with the flags laid over them.
    pub fn config(&self) -> Result<ServiceConfig> {
        let mut config = match &self.config {
            Some(path) => ServiceConfig::load(path).map_err(|error| UsageError(error.to_string()))?,
            None => ServiceConfig::default(),
        };
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(database) = &self.database {
            config.database = database.clone();
        }
        if self.mask_numbers {
            config.mask_numbers = true;
        }
        if let Some(days) = self.retention_days {
            config.retention_days = days;
        }
        for argument in &self.logs {
            add_logs(&mut config, argument);
        }
        if let Some(url) = &self.nats {
            config.bus.get_or_insert_with(BusConfig::default).url = url.clone();
        }
        if let (Some(prefix), Some(bus)) = (&self.prefix, config.bus.as_mut()) {
            bus.prefix = prefix.clone();
        }
        if self.workers {
            config.bus.get_or_insert_with(BusConfig::default).workers = true;
        }
        config.validate().map_err(|error| UsageError(error.to_string()))?;
        Ok(config)
    }
}

/// `NAME=PATH` joins (or creates) site NAME; a bare PATH names sites by file headers.
fn add_logs(config: &mut ServiceConfig, argument: &str) {
    let input = callstitch_follow::FollowInput::parse(argument);
    let Some(name) = input.site else {
        config.logs.push(input.path);
        return;
    };
    match config.sites.iter_mut().find(|site| site.name == name) {
        Some(site) => site.logs.push(input.path),
        None => config.sites.push(SiteConfig { name, logs: vec![input.path] }),
    }
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CALLSTITCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A log line that cannot be written (stderr on a full disk, a closed pipe) is dropped:
    // by default the subscriber reports it with `eprintln!`, which panics when stderr fails,
    // and a full disk took the service down at its first log line.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the batch in hand and checkpointing");
}

/// Says where the service listens, on standard output (tests and scripts read it).
pub fn announce(config: &ServiceConfig) -> callstitch_server::OnListening {
    let open = config.tokens.is_empty();
    let database = config.location().name();
    Box::new(move |address| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "callstitch: listening on http://{address}/ (database {database})");
        let _ = out.flush();
        if open {
            tracing::warn!(
                "no tokens configured: the API is open to anyone on this machine (loopback only); \
                 add [[token]] entries to the config to require bearer tokens"
            );
        }
    })
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}

/// Exit code 3: another process holds the database (docs/cli.md).
pub const EXIT_DATABASE_IN_USE: u8 = 3;
/// Exit code 4: the database is corrupt or cannot be written (docs/cli.md).
pub const EXIT_DATABASE_UNUSABLE: u8 = 4;

/// The exit code of an error that refused to open the database, if it is one.
pub fn database_exit_code(error: &anyhow::Error) -> Option<u8> {
    let store = error.chain().find_map(|cause| {
        cause.downcast_ref::<StoreError>().or(match cause.downcast_ref::<ServeError>() {
            Some(ServeError::Store(store)) => Some(store),
            _ => None,
        })
    })?;
    match store {
        StoreError::InUse { .. } => Some(EXIT_DATABASE_IN_USE),
        StoreError::NotWritable { .. } | StoreError::Corrupt { .. } => Some(EXIT_DATABASE_UNUSABLE),
        _ => None,
    }
}

pub fn run(args: &ServeArgs) -> Result<()> {
    let config = args.config()?;
    init_logging(args.log_format);
    let runtime = runtime()?;
    let announce = announce(&config);
    runtime.block_on(callstitch_server::serve(config, shutdown_signal(), announce))?;
    Ok(())
}
