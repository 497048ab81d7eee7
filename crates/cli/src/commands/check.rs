//! `callstitch check`: every call through the call models, one report per call and a summary.

use std::io::{self, BufWriter, Write};

use anyhow::Result;
use callstitch_engine::config::SECOND;
use callstitch_engine::{CallReport, Engine, EngineConfig, FinishedCall, Summary};
use clap::Args;

use crate::commands::parse::ReadArgs;
use crate::input;
use crate::style::{self, Role};

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Log or JSON-lines files, directories (their *.log files) or - for standard input.
    /// Prefix NAME= to name the site, e.g. TS2=/logs/tserver2/.
    #[arg(required = true, value_name = "[NAME=]PATH")]
    pub paths: Vec<String>,

    /// One JSON object per call (docs/check-json.md), then {"summary": {...}}.
    #[arg(long)]
    pub json: bool,

    /// Close a call with no event for this many seconds of event time, as incomplete.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS", value_parser = crate::validate::seconds)]
    pub idle_timeout: u32,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: &CheckArgs) -> Result<()> {
    let sources = input::resolve(&args.paths)?;
    let config =
        EngineConfig { idle_timeout: i64::from(args.idle_timeout) * SECOND, ..EngineConfig::default() };
    let mut engine = Engine::new(config);
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut summary = Summary::default();
    let mut failed: Option<io::Error> = None;
    if !args.json {
        writeln!(out, "{}", style::out(Role::Heading, &CallReport::table_header()))?;
    }
    let mut report = |call: FinishedCall| {
        summary.add(&call);
        let line = CallReport::from_call(&call);
        let text = match (args.json, line.conformant) {
            (true, _) => line.to_json_line(),
            (false, true) => line.table_row(),
            (false, false) => style::out(Role::Warning, &line.table_row()),
        };
        if let Err(error) = writeln!(out, "{text}") {
            failed.get_or_insert(error);
        }
    };
    let read = input::read_events_by_time(&sources, &args.read.options(), |event| {
        engine.apply(event, &mut report);
        Ok(())
    })?;
    engine.finish(&mut report);
    if let Some(error) = failed {
        return Err(error.into());
    }
    summary.set_engine_stats(engine.stats());
    if args.json {
        writeln!(out, "{}", serde_json::json!({ "summary": summary }))?;
    } else {
        write!(out, "\n{}", summary_text(&summary.render_text()))?;
    }
    out.flush()?;
    input::require_events(&read)
}

/// The summary with its section titles (the lines that start at the margin) as headings.
fn summary_text(text: &str) -> String {
    let mut painted = String::with_capacity(text.len());
    for line in text.lines() {
        match line.starts_with(' ') {
            true => painted.push_str(line),
            false => painted.push_str(&style::out(Role::Heading, line)),
        }
        painted.push('\n');
    }
    painted
}
