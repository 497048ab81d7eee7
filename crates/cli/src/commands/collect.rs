//! `callstitch collect`: follows a site's logs and publishes every event to its site's
//! JetStream stream, exactly once and in log order (docs/scale.md, "Collectors").
//!
//! The loop is the bus crate's [`Collector`]: read, publish, checkpoint. A failed step
//! (NATS down, a refused publish) goes back to the last checkpoint and tries again after a
//! pause that doubles up to [`MAX_PAUSE`]; what the streams hold already is skipped. A step
//! that cannot be tried again (the logs or the stream changed under the checkpoint) ends the
//! command with exit 1 and says what to do. Ctrl-C or SIGTERM ends it after the step in hand.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use callstitch_bus::{Bus, BusOptions, Collector};
use callstitch_follow::{FollowConfig, FollowInput};
use clap::Args;
use serde::Serialize;

use crate::commands::collect_report::CollectorReport;
use crate::commands::serve::{runtime, shutdown_signal};
use crate::input::UsageError;
use crate::progress::Progress;

/// The longest pause between tries after a failed step.
pub const MAX_PAUSE: Duration = Duration::from_secs(30);
/// How long the collector sleeps when the logs have nothing new.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// With --once: the logs are read to their end once this many polls in a row find nothing
/// (each IDLE_POLL apart; a block at the end of a file is complete once the file rests).
const IDLE_POLLS_AT_END: u32 = 4;

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Log files or directories to follow, as `[NAME=]PATH` (NAME: the site; default: each
    /// file's Application name from its header, else its file name).
    #[arg(required = true, value_name = "[NAME=]PATH")]
    pub inputs: Vec<String>,

    /// The NATS server (JetStream enabled).
    #[arg(long, default_value = "nats://127.0.0.1:4222", value_name = "URL")]
    pub nats: String,

    /// What the streams' subjects and names start with: `<prefix>.events.<site>`,
    /// `<PREFIX>_EVENTS_<site>`. Two estates on one NATS server use two prefixes.
    #[arg(long, default_value = callstitch_bus::names::DEFAULT_PREFIX, value_name = "PREFIX")]
    pub prefix: String,

    /// The collector's name: the key of its checkpoint. Run it again under the same name to
    /// go on where it stopped. Default: one derived from the inputs as given.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Publish what the logs hold now and exit, instead of following them.
    #[arg(long)]
    pub once: bool,

    /// Events read and published per step (each step ends with a checkpoint).
    #[arg(long, default_value_t = 5_000, value_name = "N")]
    pub batch: usize,

    /// Keep events in the streams for this many days (0: until removed by hand). Applies
    /// when a site's stream is made.
    #[arg(long, default_value_t = 0, value_name = "DAYS")]
    pub keep_days: u64,

    /// Serve `GET /metrics` (Prometheus) and `GET /healthz` (503 while steps fail) on this
    /// address, e.g. 127.0.0.1:9101 (port 0: a free port, printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,

    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,

    /// No progress counter on stderr (it is drawn only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

/// What the command did, per site.
#[derive(Debug, Default, Serialize)]
struct Summary {
    collector: String,
    published: u64,
    skipped: u64,
    problems: u64,
    failed_steps: u64,
    /// For each site, the sequence its stream ends at.
    sites: BTreeMap<String, u64>,
}

pub fn run(args: &CollectArgs) -> Result<()> {
    let inputs: Vec<FollowInput> = args.inputs.iter().map(|input| FollowInput::parse(input)).collect();
    for input in &inputs {
        if !input.path.exists() {
            let message = format!(
                "{} does not exist: give log files or directories as [NAME=]PATH",
                input.path.display()
            );
            return Err(UsageError(message).into());
        }
    }
    let name = args.name.clone().unwrap_or_else(|| default_name(&args.inputs));
    let options = BusOptions {
        prefix: args.prefix.clone(),
        max_age: (args.keep_days > 0).then(|| Duration::from_secs(args.keep_days * 86_400)),
        ..BusOptions::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = runtime()?;
    let summary = runtime.block_on(async {
        let watch = Arc::clone(&stop);
        tokio::spawn(async move {
            shutdown_signal().await;
            watch.store(true, Ordering::Relaxed);
        });
        let report = Arc::new(CollectorReport::new(&name));
        if let Some(address) = args.listen {
            listen(address, Arc::clone(&report), Arc::clone(&stop)).await?;
        }
        let bus = Bus::connect(&args.nats, options).await?;
        let collector = Collector::start(bus, &name, FollowConfig::new(inputs), args.batch).await?;
        let progress =
            Progress::counter(!args.no_progress && std::io::stderr().is_terminal(), "events published");
        let summary = collect(collector, &name, args.once, &stop, &progress, &report).await;
        progress.finish();
        summary
    })?;
    print_summary(&summary, args.json)
}

/// Serves the collector's `/metrics` and `/healthz` on `address` until `stop` is set.
async fn listen(
    address: std::net::SocketAddr,
    report: Arc<CollectorReport>,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for /metrics and /healthz"))?;
    let bound = listener.local_addr().context("the address listened on")?;
    eprintln!("callstitch collect: /metrics and /healthz on http://{bound}/");
    let stopped = async move {
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::spawn(callstitch_server::ops::serve_role(listener, report, stopped));
    Ok(())
}

/// The collector's loop. See the module documentation.
async fn collect(
    mut collector: Collector,
    name: &str,
    once: bool,
    stop: &AtomicBool,
    progress: &Progress,
    report: &CollectorReport,
) -> Result<Summary> {
    let mut summary = Summary { collector: name.to_string(), ..Summary::default() };
    let (mut idle, mut pause) = (0, IDLE_POLL);
    while !stop.load(Ordering::Relaxed) {
        let step = match collector.step().await {
            Ok(step) => step,
            Err(error) if error.is_fatal() => return Err(error).context(format!("collector {name}")),
            Err(error) => {
                summary.failed_steps += 1;
                report.failed(&error.to_string());
                progress
                    .println(format!("warning: {error}; trying again in {pause:?} from the last checkpoint"));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
                collector.restart();
                continue;
            }
        };
        pause = IDLE_POLL;
        let sites = collector.sites();
        report.step(step.published as u64, step.skipped as u64, step.problems.len() as u64, &sites);
        summary.published += step.published as u64;
        summary.skipped += step.skipped as u64;
        summary.problems += step.problems.len() as u64;
        progress.add(step.published as u64);
        for problem in &step.problems {
            progress.println(format!("warning: {problem}"));
        }
        if step.read > 0 || step.more {
            idle = 0;
            continue;
        }
        idle += 1;
        if once && idle >= IDLE_POLLS_AT_END {
            break;
        }
        tokio::time::sleep(IDLE_POLL).await;
    }
    summary.sites = collector.sites();
    Ok(summary)
}

/// `inputs-` and a hash of the inputs as given: the same command line resumes the same
/// checkpoint.
fn default_name(inputs: &[String]) -> String {
    let mut sorted: Vec<&str> = inputs.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let hash = callstitch_tlib::fnv::extend(callstitch_tlib::fnv::OFFSET, sorted.join("\n").as_bytes());
    format!("inputs-{hash:016x}")
}

fn print_summary(summary: &Summary, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(summary)?);
        return Ok(());
    }
    println!(
        "collector {}: {} events published, {} read again and skipped, {} problems",
        summary.collector, summary.published, summary.skipped, summary.problems
    );
    for (site, last) in &summary.sites {
        println!("  {site}: the stream ends at sequence {last}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_follows_the_inputs_not_their_order() {
        let a = default_name(&["TS1=/logs/a".to_string(), "/logs/b".to_string()]);
        let b = default_name(&["/logs/b".to_string(), "TS1=/logs/a".to_string()]);
        assert_eq!(a, b);
        assert_ne!(a, default_name(&["/logs/b".to_string()]));
        assert!(a.starts_with("inputs-"));
    }
}
