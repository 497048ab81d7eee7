//! The `callstitch` command: puts Genesys multi-site customer interactions back together from
//! T-Server / SIP Server events.
//!
//! Exit codes: 0 the command ran (input noise is reported, not fatal); 1 nothing readable
//! (no events in the inputs) or an error while running; 2 usage error (bad flags, missing
//! paths); 3 the database is in use by another process; 4 the database is corrupt or cannot
//! be written.

mod commands;
mod input;
mod output;
mod progress;
mod style;
mod validate;

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// callstitch puts Genesys multi-site customer interactions back together: it reads
/// T-Library events from T-Server / SIP Server logs, follows every call through the call
/// models, links the calls of one customer across sites, and says who released them.
#[derive(Debug, Parser)]
#[command(name = "callstitch", version, about, long_about = None)]
#[command(after_help = "Examples:\n  \
callstitch trace fixtures/seed-islink/                 one interaction across two sites\n  \
callstitch trace --json TS2=/logs/ts2/ SIP1=/logs/sip1/ every interaction as JSON lines\n  \
callstitch trace --call-uuid 00RP30KH7088L1IC08GB82LAES000317 /logs/ts2/ /logs/sip1/\n  \
callstitch check --json TS1=/var/log/genesys/ts1/      every call through the call models\n  \
callstitch parse --stats /var/log/genesys/tserver/     what a log holds, and its noise\n  \
callstitch simulate --out /tmp/center                  a four-site contact center to try\n  \
callstitch demo                                        the service, fed by a live simulation\n  \
callstitch serve --logs TS1=/logs/ts1/ --logs /logs/sip/  follow logs, serve the API\n\n\
Exit codes: 0 ran (noise in the input is reported, not fatal), 1 nothing readable or an \
error, 2 usage error, 3 database in use by another process, 4 database corrupt or not writable.")]
struct Cli {
    /// Colour the readable output: auto (when the output is a terminal and NO_COLOR is not
    /// set), always, or never. JSON is never coloured.
    #[arg(long, global = true, value_enum, default_value_t = clap::ColorChoice::Auto, value_name = "WHEN")]
    color: clap::ColorChoice,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read T-Library events from log files and print them as JSON lines or a table.
    ///
    /// Reads every event and request block of T-Server / SIP Server logs (headers, `@` event
    /// lines of every context, requests, [BSYNC] copies, nested key-value lists), skipping
    /// other server output. Problems (cut blocks, bad values, non-UTF-8 bytes) are printed
    /// to stderr with file:line and counted; they never stop the read.
    Parse(commands::parse::ParseArgs),

    /// Follow every call through the Genesys call models and say where it deviates.
    ///
    /// For each call (per site, by CallUUID, or by ConnID on servers that send none): the
    /// call model it followed, whether it conformed, its deviations (event, party, expected
    /// vs seen), its outcome (answered, abandoned while queued or ringing, busy, routed,
    /// transferred, ...), and who released it with the evidence behind the verdict
    /// (ReleasingParty, CtrlParty, or inferred). A summary follows: calls per model,
    /// conformance rate, deviations by kind. Exit 0 whenever it ran, whatever the conformance.
    Check(commands::check::CheckArgs),

    /// Put each customer interaction back together across sites, its calls in order.
    ///
    /// Reads the logs of every site (merged by time), follows every call, and joins the calls
    /// of one customer by Inter-Site Links, a CallUUID kept between SIP Servers, consultation
    /// and merge pointers, and ISCC call history. Calls are ordered by the direction of that
    /// evidence, never by comparing clocks of different sites. Each interaction shows its
    /// calls with their parties and outcome, the links with their evidence, who released the
    /// interaction, and the clock offsets between sites its links reveal.
    Trace(commands::trace::TraceArgs),

    /// Print the recording metadata of one interaction (GIR recording.json shape).
    ///
    /// Every media file of the interaction under one recording id (the root call's
    /// CallUUID), each with its CallUUID, site, start and stop, recorded DN and side and who
    /// is heard on it, the interaction's event history, and the findings (recording gaps
    /// after REFER, orphan or overlapping files, ...). Files come from --media, else are
    /// inferred from the logs (GSIP_REC_FN, recording requests). See docs/recording.md.
    Recording(commands::recording::RecordingArgs),

    /// Draw the ladder diagram (SVG) of one interaction: sites, parties, events, Inter-Site
    /// Links, recordings, who released it. See docs/ladder.md.
    ///
    /// A band per site (on its own clock, its offset shown), a lane per party, events as
    /// arrows and marks, the links between sites as connectors, each media file as a bar
    /// beside the lane it recorded, findings highlighted. Writes the SVG to standard output:
    /// callstitch ladder --call-uuid X /logs/ts1/ /logs/ts2/ > call.svg
    Ladder(commands::ladder::LadderArgs),

    /// Simulate a multi-site contact center: the logs its servers would write, and the truth.
    ///
    /// Customer calls arrive at --rate over simulated time at K sites (SIP Servers and
    /// T-Servers, each with its own time zone and clock skew) and follow a mix of scenarios:
    /// every call model with its abnormal flows, hold, transfers, conferences, hops between
    /// sites (ISCC, SIP re-INVITE and REFER, returns to an earlier site), with recording.
    /// Writes one rotated log per site (or JSON lines), truth.jsonl (each interaction's
    /// calls in order, links, parties, who released it, expected media files) and, with
    /// --noise, noise.json. One --seed gives byte-identical output. --live writes in real
    /// time; --scale writes gigabytes fast for benchmarks. See docs/simulator.md.
    Simulate(commands::simulate::SimulateArgs),

    /// Compare interactions found (callstitch trace --json) with a simulator's truth.
    ///
    /// Matches interactions by their sets of calls (site, CallUUID), not by id, and prints
    /// pairwise precision and recall (pairs of calls put in one interaction), the rate of
    /// interactions found exactly, the rate of those in the right order, and the first
    /// differences in words. Example: callstitch trace --json sim/ > found.jsonl; callstitch
    /// verify sim/truth.jsonl found.jsonl.
    Verify(commands::verify::VerifyArgs),

    /// Run the service: follow logs as they are written, take events over HTTP, keep every
    /// interaction in a database, and serve the HTTP API and live stream.
    ///
    /// Follows each site's log files and directories like tail -F (new segments, rotation,
    /// truncation), takes JSON-lines events (POST /v1/events) and the media feed (POST
    /// /v1/media), and commits raw events, file positions and everything derived from them
    /// in one transaction, so a crash or kill loses and duplicates nothing. Answers queries
    /// while ingesting: /v1/interactions (search), /v1/interactions/{id}, /v1/recordings/{id},
    /// /v1/calls/{site}/{call_uuid}, /v1/stream (server-sent events), /metrics, /healthz,
    /// /openapi.json. Ctrl-C or SIGTERM finishes the batch, checkpoints and exits. See
    /// docs/serve.md for the config file and docs/api.md for the API.
    Serve(commands::serve::ServeArgs),

    /// Import existing log files into the service's database, with a progress bar.
    ///
    /// Reads the files as trace does (sites merged by time) and stores raw events, calls and
    /// interactions. Interrupted, it goes on where it stopped when run again with the same
    /// files; the same files are not imported twice.
    Import(commands::import::ImportArgs),

    /// Print the raw events a database holds, as JSON lines, in the order they were stored.
    ///
    /// Raw events are stored in compressed blocks that plain SQL cannot read; this prints
    /// each as `callstitch parse` does, so they can be read again, e.g.
    /// `callstitch events --database callstitch.db | callstitch trace -`. Not while a
    /// service holds the database (exit 3).
    Events(commands::events::EventsArgs),

    /// Follow a site's logs and publish every event to its NATS JetStream stream, exactly
    /// once and in log order, for the workers of a large estate (docs/scale.md).
    ///
    /// One stream per site (`CALLSTITCH_EVENTS_<site>`, subject `callstitch.events.<site>`),
    /// one message per event as its JSON line, with a message id from the file's fingerprint
    /// and byte offset. The collector's checkpoint (file positions, each site's sequence) is
    /// kept in JetStream too: killed and started again with the same inputs (or --name), it
    /// goes on where it stopped and publishes nothing twice. Without --once it follows the
    /// logs like tail -F until Ctrl-C or SIGTERM. Example: callstitch collect --once
    /// --nats nats://bus:4222 TS1=/logs/ts1/
    Collect(commands::collect::CollectArgs),

    /// Run the call engine of some of a large estate's sites, read from the bus, into the
    /// shared PostgreSQL database (docs/scale.md).
    ///
    /// Any number of workers, on any hosts, share the sites that collectors publish: each
    /// takes its fair share through the database (a site's advisory lock, which goes with a
    /// worker that dies), reads their streams, and commits per site and step the raw events,
    /// the finished calls, the engine's news and the stream position in one transaction. The
    /// linker (`callstitch serve --workers` on the same database and config) links the news
    /// into interactions and answers the API. Killed and started again, a worker goes on
    /// from what it committed. Example: callstitch worker --config estate.toml --listen
    /// 127.0.0.1:9102
    ///
    /// A backfill of months of rotated logs reads the files themselves (--logs), not the
    /// bus: the same sharing and commits, each site read from its files in order and taken
    /// over at the file and event its last owner committed. Example: callstitch worker
    /// --config estate.toml --logs SFO=/logs/sfo NYC=/logs/nyc
    Worker(commands::worker::WorkerArgs),

    /// Start the service on a fresh database, following a simulated contact center's live
    /// logs, and print the address to open.
    Demo(commands::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    style::init(cli.color);
    let result = match &cli.command {
        Command::Parse(args) => commands::parse::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Trace(args) => commands::trace::run(args),
        Command::Recording(args) => commands::recording::run(args),
        Command::Ladder(args) => commands::ladder::run(args),
        Command::Simulate(args) => commands::simulate::run(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Import(args) => commands::import::run(args),
        Command::Events(args) => commands::events::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Collect(args) => commands::collect::run(args),
        Command::Worker(args) => commands::worker::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => exit_for(error),
    }
}

fn exit_for(error: anyhow::Error) -> ExitCode {
    if error.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    // Not `eprintln!`, which panics when stderr cannot be written (a full disk).
    let _ = writeln!(io::stderr(), "{} {error:#}", style::err(style::Role::Bad, "callstitch: error:"));
    if let Some(code) = commands::serve::database_exit_code(&error) {
        return ExitCode::from(code);
    }
    if error.downcast_ref::<input::UsageError>().is_some() {
        return ExitCode::from(2);
    }
    ExitCode::from(1)
}
