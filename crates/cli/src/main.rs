//! The `callstitch` command: puts Genesys multi-site customer interactions back together from
//! T-Server / SIP Server events.
//!
//! Exit codes: 0 the command ran (input noise is reported, not fatal); 1 nothing readable
//! (no events in the inputs) or an error while running; 2 usage error (bad flags, missing
//! paths).

mod commands;
mod input;
mod progress;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// callstitch puts Genesys multi-site customer interactions back together: it reads
/// T-Library events from T-Server / SIP Server logs, follows every call through the call
/// models, links the calls of one customer across sites, and says who released them.
#[derive(Debug, Parser)]
#[command(name = "callstitch", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 ran (noise in the input is reported, not fatal), \
1 nothing readable or an error, 2 usage error.\n\
Examples:\n  callstitch parse fixtures/seed-islink/\n  \
callstitch parse --format table TS2=tserver2.log SIP1=sipserver1.log\n  \
callstitch parse --stats /var/log/genesys/tserver/\n  \
callstitch check --json TS1=/var/log/genesys/ts1/\n  \
callstitch trace fixtures/seed-islink/\n  \
callstitch trace --json --call-uuid 00RP30KH7088L1IC08GB82LAES000317 /logs/ts2/ /logs/sip1/")]
struct Cli {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Parse(args) => commands::parse::run(args),
        Command::Check(args) => commands::check::run(args),
        Command::Trace(args) => commands::trace::run(args),
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
    eprintln!("callstitch: error: {error:#}");
    if error.downcast_ref::<input::UsageError>().is_some() {
        return ExitCode::from(2);
    }
    ExitCode::from(1)
}
