//! callstitch-sim: a deterministic simulator of a multi-site Genesys contact center.
//!
//! It writes what real T-Servers and SIP Servers would (one log per site, rotated, with
//! headers, local clocks, clock skew and per-server sequence numbers, or JSON lines), plus
//! the truth to check callstitch against: every interaction with its ordered segments,
//! links, parties, release verdict and expected media files. Optional noise exercises the
//! parser's tolerance; `--scale` writes gigabytes for benchmarks; [`verify`] compares a
//! linker's output with the truth.
//!
//! ```no_run
//! use callstitch_sim::{simulate, MemoryStorage, SimConfig};
//!
//! let config = SimConfig { interactions: Some(100), seed: 7, ..SimConfig::default() };
//! let mut storage = MemoryStorage::new();
//! let summary = simulate(&config, &mut storage).expect("in-memory run");
//! println!("{} events in {:?}", summary.events, summary.files);
//! ```
//!
//! Module map: [`center`] (the estate), [`generate`] (arrivals and the scenario mix),
//! [`scenario`] and [`flows`] (what each scenario does), [`flow`] (events and truth of one
//! interaction), [`writer`] (what a server writes), [`noise`], [`run`] (a whole run, live
//! mode), [`scale`] (the fast path), [`truth`], [`verify`], [`verdicts`] (release verdicts and
//! who is heard, against the truth), [`feed`] (one run's events in
//! the arrival orders callstitch must be indifferent to).

pub mod center;
pub mod config;
mod error;
pub mod feed;
pub mod flow;
pub mod flows;
pub mod generate;
pub mod ids;
pub mod noise;
pub mod rng;
pub mod run;
pub mod scale;
pub mod scenario;
pub mod storage;
pub mod truth;
pub mod verdicts;
pub mod verify;
pub mod writer;

pub use center::{ContactCenter, Site, SiteKind};
pub use config::{parse_duration, parse_percent, parse_rate, parse_scenarios, OutputFormat, SimConfig};
pub use error::SimError;
pub use noise::NoiseManifest;
pub use run::{simulate, simulate_live, Pacer, RunSummary, WallClock};
pub use scale::{simulate_scale, ScaleConfig, ScaleSummary};
pub use storage::{DirStorage, MemoryStorage, Storage};
pub use truth::{read_interactions, Interaction};
pub use verdicts::{read_verdicts, verify_verdicts, FoundVerdicts, VerdictCounts, VerdictReport};
pub use verify::{read_groupings, verify, Grouping, VerifyOptions, VerifyReport};
