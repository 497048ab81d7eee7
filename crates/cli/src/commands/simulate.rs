//! `callstitch simulate`: a simulated multi-site contact center's logs, plus the truth to
//! check callstitch against (crate `callstitch-sim`, docs/simulator.md).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use callstitch_sim::{
    parse_duration, parse_percent, parse_rate, parse_scenarios, simulate, simulate_live, simulate_scale,
    DirStorage, OutputFormat, ScaleConfig, SimConfig, SimError, WallClock,
};
use clap::{Args, ValueEnum};

use crate::input::UsageError;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Directory to write into (created if missing): one log per site (rotated into
    /// segments), truth.jsonl, recordings.jsonl, center.json, and noise.json with --noise.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Number of sites: SIP Servers and T-Servers alternate, SIP first.
    #[arg(long, default_value_t = 4, value_name = "K")]
    pub sites: usize,

    /// Stop after this many interactions (default 1000 unless --duration or --live).
    #[arg(long, value_name = "N")]
    pub interactions: Option<u64>,

    /// Stop once arrivals pass this much simulated time, e.g. 90s, 15m, 2h.
    #[arg(long, value_name = "D")]
    pub duration: Option<String>,

    /// Customer calls arriving per second (e.g. 5, 2.5/s, 300/min); with --live, in real time.
    #[arg(long, default_value = "5/s", value_name = "R")]
    pub rate: String,

    /// Seed of every random choice: one seed gives byte-identical output.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,

    /// Inject noise (other server output, [BSYNC] copies, CRLF files, cut blocks) and count
    /// it in noise.json, to exercise the parser's tolerance. Logs only.
    #[arg(long)]
    pub noise: bool,

    /// Write T-Server log files or JSON lines (docs/event-json.md).
    #[arg(long, value_enum, default_value_t = SimFormat::Log)]
    pub format: SimFormat,

    /// Write in real time, each event when its time comes (flushed), for following tools
    /// and the service. Runs until stopped unless --interactions or --duration is given.
    #[arg(long)]
    pub live: bool,

    /// Benchmark preset: write --size-mb of log as fast as possible (a simulated pool copied
    /// with fresh ids and times). No truth is written for the copies.
    #[arg(long, conflicts_with_all = [
        "live", "noise", "duration", "interactions", "long_calls", "skew_ms", "keep_conn", "conn_reuse",
        "conn_reuse_after", "scenarios",
    ])]
    pub scale: bool,

    /// Megabytes of log --scale writes.
    #[arg(long, default_value_t = 1024, value_name = "MB", requires = "scale")]
    pub size_mb: u64,

    /// Rotate each site's log into a new segment after this many megabytes.
    #[arg(long, value_name = "MB")]
    pub segment_mb: Option<u64>,

    /// Share of conversations that last 10 to 30 minutes, longer than the linker's default
    /// link timeout (600 s); the others last seconds to a few minutes. 0 gives the short
    /// talk times of the simulator before long calls.
    #[arg(long, default_value = "5%", value_name = "PERCENT")]
    pub long_calls: String,

    /// Largest clock error of a site's server, in milliseconds: every site but the first is
    /// off true time by a random amount up to this, ahead or behind.
    #[arg(long, default_value_t = 450, value_name = "MS")]
    pub skew_ms: u64,

    /// Share of hops to or from a T-Server that keep the sending call's ConnID (ISCC may copy
    /// it), so one ConnID shows on several calls of one interaction and on several sites.
    #[arg(long, default_value = "50%", value_name = "PERCENT")]
    pub keep_conn: String,

    /// Share of new calls that reuse an old ConnID of their server (servers hand ConnIDs out
    /// again), including ConnIDs that were kept across hops.
    #[arg(long, default_value = "2%", value_name = "PERCENT")]
    pub conn_reuse: String,

    /// A ConnID comes back only once its call on that server ended this long ago, e.g. 30s,
    /// 10m.
    #[arg(long, default_value = "10m", value_name = "D")]
    pub conn_reuse_after: String,

    /// Play only these scenarios, comma-separated, each at its weight in the mix or at
    /// NAME=WEIGHT, e.g. return-trip,sip-refer-transfer=2 (an unknown name lists them all;
    /// docs/simulator.md says what each does).
    #[arg(long, value_name = "LIST")]
    pub scenarios: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimFormat {
    Log,
    Jsonl,
}

pub fn run(args: &SimulateArgs) -> Result<()> {
    if args.scale {
        return run_scale(args);
    }
    let config = config(args)?;
    let mut storage = DirStorage::new(&args.out).map_err(usage_or_error)?;
    let summary = if args.live {
        simulate_live(&config, &mut storage, &mut WallClock)
    } else {
        simulate(&config, &mut storage)
    }
    .map_err(usage_or_error)
    .with_context(|| format!("simulating into {}", args.out.display()))?;
    eprintln!(
        "callstitch: wrote {} interactions, {} events, {:.1} MB of {} in {} files to {} (truth: truth.jsonl)",
        summary.interactions,
        summary.events,
        summary.log_bytes as f64 / 1e6,
        if config.format == OutputFormat::Log { "log" } else { "JSON lines" },
        summary.files.len(),
        args.out.display()
    );
    if let Some(noise) = &summary.noise {
        eprintln!(
            "callstitch: noise: {} foreign lines, {} [BSYNC] copies, {} CRLF files, {} cut blocks (noise.json)",
            noise.foreign_lines, noise.bsync_events, noise.crlf_files, noise.cut_blocks
        );
    }
    Ok(())
}

fn config(args: &SimulateArgs) -> Result<SimConfig> {
    let rate_milli = parse_rate(&args.rate).map_err(flag("--rate"))?;
    let duration_secs =
        args.duration.as_deref().map(parse_duration).transpose().map_err(flag("--duration"))?;
    let format = match args.format {
        SimFormat::Log => OutputFormat::Log,
        SimFormat::Jsonl => OutputFormat::JsonLines,
    };
    let keep_conn = parse_percent(&args.keep_conn).map_err(flag("--keep-conn"))?;
    if keep_conn % 10 != 0 {
        return Err(UsageError(format!("--keep-conn {:?} must be a whole percentage", args.keep_conn)).into());
    }
    let defaults = SimConfig::default();
    let config = SimConfig {
        sites: args.sites,
        interactions: args.interactions,
        duration_secs,
        rate_milli,
        seed: args.seed,
        noise: args.noise,
        format,
        segment_bytes: args.segment_mb.map_or(defaults.segment_bytes, |mb| mb.saturating_mul(1 << 20)),
        long_calls_per_mille: parse_percent(&args.long_calls).map_err(flag("--long-calls"))?,
        skew_max_micros: i64::try_from(args.skew_ms.saturating_mul(1000)).unwrap_or(i64::MAX),
        keep_conn_percent: keep_conn / 10,
        conn_reuse_per_mille: parse_percent(&args.conn_reuse).map_err(flag("--conn-reuse"))?,
        conn_reuse_after_secs: parse_duration(&args.conn_reuse_after).map_err(flag("--conn-reuse-after"))?,
        mix: args.scenarios.as_deref().map(parse_scenarios).transpose().map_err(flag("--scenarios"))?,
        ..defaults
    };
    config.validate().map_err(usage_or_error)?;
    if config.noise && config.format == OutputFormat::JsonLines {
        return Err(UsageError("--noise applies to --format log only".to_string()).into());
    }
    Ok(config)
}

fn run_scale(args: &SimulateArgs) -> Result<()> {
    let defaults = ScaleConfig::default();
    let config = ScaleConfig {
        sites: args.sites,
        target_bytes: args.size_mb.saturating_mul(1_000_000),
        seed: args.seed,
        segment_bytes: args.segment_mb.map_or(defaults.segment_bytes, |mb| mb.saturating_mul(1 << 20)),
        ..defaults
    };
    let mut storage = DirStorage::new(&args.out).map_err(usage_or_error)?;
    let start = std::time::Instant::now();
    let summary = simulate_scale(&config, &mut storage).map_err(usage_or_error)?;
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "callstitch: wrote {:.0} MB ({} events, {} interactions) in {} files to {} in {:.2} s ({:.0} MB/s)",
        summary.bytes as f64 / 1e6,
        summary.events,
        summary.interactions,
        summary.files.len(),
        args.out.display(),
        seconds,
        summary.bytes as f64 / 1e6 / seconds.max(1e-9)
    );
    Ok(())
}

/// A bad value of `name`: a usage error (exit 2) that names the flag.
pub fn flag(name: &'static str) -> impl Fn(SimError) -> anyhow::Error {
    move |error| match error {
        SimError::Config(text) => UsageError(format!("{name}: {text}")).into(),
        other => other.into(),
    }
}

/// Bad settings are usage errors (exit 2); anything else is an error (exit 1).
fn usage_or_error(error: SimError) -> anyhow::Error {
    match error {
        SimError::Config(text) => UsageError(text).into(),
        other => other.into(),
    }
}
