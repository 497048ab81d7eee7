//! `callstitch demo`: the service on a fresh database, following the logs a simulated
//! multi-site contact center writes live. One command to see everything work.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use callstitch_server::config::SiteConfig;
use callstitch_server::ServiceConfig;
use callstitch_sim::{parse_rate, simulate_live, ContactCenter, DirStorage, SimConfig, WallClock};
use clap::Args;

use crate::commands::serve::{init_logging, runtime, shutdown_signal, LogFormat};
use crate::input::UsageError;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the simulated logs and the database go [default: a new directory under the
    /// system's temporary directory]. Must not hold an earlier demo's database.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7878", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Number of simulated sites.
    #[arg(long, default_value_t = 3, value_name = "K")]
    pub sites: usize,

    /// Customer calls arriving per second, in real time.
    #[arg(long, default_value = "2/s", value_name = "R")]
    pub rate: String,

    /// Seed of the simulation.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,

    /// Mask the customers' numbers in the API's answers.
    #[arg(long)]
    pub mask_numbers: bool,
}

fn demo_dir(args: &DemoArgs) -> Result<PathBuf> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("callstitch-demo-{}", std::process::id())),
    };
    if dir.join("callstitch.db").exists() {
        return Err(UsageError(format!(
            "{} already holds a demo database; give --dir a new directory (or delete it)",
            dir.display()
        ))
        .into());
    }
    std::fs::create_dir_all(dir.join("logs")).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let rate_milli = parse_rate(&args.rate).map_err(crate::commands::simulate::flag("--rate"))?;
    let simulation = SimConfig { sites: args.sites, rate_milli, seed: args.seed, ..SimConfig::default() };
    simulation.validate().map_err(|error| UsageError(error.to_string()))?;
    let dir = demo_dir(args)?;
    let logs = dir.join("logs");
    let center = ContactCenter::for_seed(simulation.sites, simulation.seed);
    let config = ServiceConfig {
        listen: args.listen,
        database: dir.join("callstitch.db"),
        mask_numbers: args.mask_numbers,
        sites: center
            .sites
            .iter()
            .map(|site| SiteConfig { name: site.application.clone(), logs: Vec::new() })
            .collect(),
        logs: vec![logs.clone()],
        // One machine writes every site's log in time order: short waits show interactions
        // soon after their calls end (a real estate keeps the defaults).
        linger_s: 10,
        site_idle_s: 10,
        link_timeout_s: 60,
        ..ServiceConfig::default()
    };
    init_logging(LogFormat::Human);
    let mut storage = DirStorage::new(&logs).map_err(|error| anyhow::anyhow!("{error}"))?;
    std::thread::spawn(move || {
        if let Err(error) = simulate_live(&simulation, &mut storage, &mut WallClock) {
            tracing::error!(%error, "the simulator stopped");
        }
    });
    let sites: Vec<String> = center.sites.iter().map(|site| site.application.clone()).collect();
    let announce: callstitch_server::OnListening = Box::new(move |address| {
        // Not `println!`, which panics when standard output is closed (a reader that went away).
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "callstitch demo: {} simulated sites ({}) writing live logs to {}\n\
             callstitch demo: open http://{address}/  (API: http://{address}/v1/interactions, live: /v1/stream)\n\
             callstitch demo: interactions appear as their calls end (most simulated calls last a minute or two, one in twenty talks 10 to 30 minutes)\n\
             callstitch demo: Ctrl-C stops it; the database stays in {}",
            sites.len(),
            sites.join(", "),
            logs.display(),
            dir.display()
        );
        let _ = out.flush();
    });
    runtime()?.block_on(callstitch_server::serve(config, shutdown_signal(), announce))?;
    Ok(())
}
