//! `callstitch parse`: T-Library events out of log files, as JSON lines, a table, or counts.

use std::io::{self, BufWriter, Write};

use anyhow::Result;
use callstitch_tlib::json::write_json_line;
use callstitch_tlib::Event;
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::input::{self, InputReport, ReadOptions, ReadSummary, ReaderChoice};
use crate::style::{self, Role};

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Log or JSON-lines files, directories (their *.log files) or - for standard input.
    /// Prefix NAME= to name the site, e.g. TS2=/logs/tserver2/. Without it the site is the
    /// header's Application name, else the file name.
    #[arg(required = true, value_name = "[NAME=]PATH")]
    pub paths: Vec<String>,

    /// Output form: JSON lines (one event per line, see docs/event-json.md) or a compact table.
    /// [default: json for the events, table for --stats]
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,

    /// JSON for machines: the same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,

    /// Print counts per event type and per problem instead of the events
    /// (as a table, or as one JSON object with --json).
    #[arg(long)]
    pub stats: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

/// Flags every event-reading command shares.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Print at most this many skipped-input problems to stderr (the rest are counted).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_problems: u64,

    /// Print no problems to stderr (they are still counted in --stats).
    #[arg(long, short)]
    pub quiet: bool,

    /// Never draw a progress bar (it is drawn only on a terminal, for inputs over 64 MiB).
    #[arg(long)]
    pub no_progress: bool,

    /// The reader: chosen per input from its first bytes (T-Library records, else the SIP
    /// layer of a SIP Server log, else JSON lines), or forced for every input.
    #[arg(long, value_enum, default_value_t = ReaderChoice::Auto)]
    pub reader: ReaderChoice,
}

impl ReadArgs {
    pub fn options(&self) -> ReadOptions {
        ReadOptions {
            max_problems_shown: self.max_problems,
            quiet: self.quiet,
            progress: !self.no_progress,
            reader: self.reader,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Table,
}

impl ParseArgs {
    /// The output form: `--json` or `--format`, else JSON lines for events and a table for
    /// `--stats` (docs/cli.md).
    fn output(&self) -> OutputFormat {
        match (self.json, self.format) {
            (true, _) => OutputFormat::Json,
            (false, Some(format)) => format,
            (false, None) if self.stats => OutputFormat::Table,
            (false, None) => OutputFormat::Json,
        }
    }
}

pub fn run(args: &ParseArgs) -> Result<()> {
    let sources = input::resolve(&args.paths)?;
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let format = args.output();
    let summary = if args.stats {
        input::read_events(&sources, &args.read.options(), |_| Ok(()))?
    } else {
        if format == OutputFormat::Table {
            writeln!(out, "{}", style::out(Role::Heading, &table_heading()))?;
        }
        input::read_events(&sources, &args.read.options(), |event| {
            match format {
                OutputFormat::Json => write_json_line(&mut out, &event)?,
                OutputFormat::Table => writeln!(out, "{}", table_row(&event))?,
            }
            Ok(())
        })?
    };
    if args.stats {
        match format {
            OutputFormat::Json => writeln!(out, "{}", stats_json(&summary))?,
            OutputFormat::Table => write!(out, "{}", stats_table(&summary))?,
        }
    }
    out.flush()?;
    input::require_events(&summary)
}

fn table_heading() -> String {
    format!(
        "{:<27} {:<12} {:>8} {:<24} {:<16} {:<32} {:<10} {:<10} NOTES",
        "TIME (UTC)", "SITE", "SEQ", "MESSAGE", "CONNID", "CALLUUID", "THIS DN", "OTHER DN"
    )
}

fn table_row(event: &Event) -> String {
    let time = event.time().map_or_else(|| "-".to_string(), |time| time.to_string());
    let seq = event.seq.map_or_else(|| "-".to_string(), |seq| seq.to_string());
    let conn = event.conn_id.map_or_else(|| "-".to_string(), |conn| conn.to_string());
    let uuid = event.call_uuid.as_ref().map_or("-", |uuid| uuid.as_str());
    let dash = |text: &Option<callstitch_tlib::Text>| text.as_deref().unwrap_or("-").to_string();
    let mut notes = Vec::new();
    if event.bsync {
        notes.push("BSYNC copy".to_string());
    }
    if event.incomplete {
        notes.push("cut".to_string());
    }
    if let Some((party, raw)) = event.releasing_party() {
        notes.push(format!("released: {party:?} ({raw})"));
    }
    for link in event.is_links.iter().flatten() {
        let role = link.direction_role.as_ref().map_or("?", |role| role.as_str());
        let place = link.location_name.as_deref().unwrap_or("?");
        notes.push(format!("link {} {role} {place}", link.id));
    }
    format!(
        "{:<27} {:<12} {:>8} {:<24} {:<16} {:<32} {:<10} {:<10} {}",
        time,
        event.site,
        seq,
        event.message.name(),
        conn,
        uuid,
        dash(&event.this_dn),
        dash(&event.other_dn),
        notes.join("; ")
    )
}

fn stats_json(summary: &ReadSummary) -> serde_json::Value {
    let stats = &summary.stats;
    let by_message: serde_json::Map<String, serde_json::Value> =
        stats.by_message().into_iter().map(|(name, count)| (name, json!(count))).collect();
    let problems: serde_json::Map<String, serde_json::Value> =
        stats.problems.iter().map(|(kind, count)| (kind.label().to_string(), json!(count))).collect();
    json!({
        "files": summary.files,
        "bytes": stats.bytes,
        "lines": stats.lines,
        "events": stats.events,
        "foreign_lines": stats.foreign_lines,
        "bsync_events": stats.bsync_events,
        "incomplete_events": stats.incomplete_events,
        "sip_messages": stats.sip_messages,
        "cti_markers": stats.cti_markers,
        "by_message": by_message,
        "problems": problems,
        "json_errors": summary.json_errors,
        "io_errors": summary.io_errors,
        "inputs": summary.inputs.iter().map(input_json).collect::<Vec<_>>(),
    })
}

/// How one input was read: its reader and what its first bytes showed.
fn input_json(input: &InputReport) -> serde_json::Value {
    let detection = &input.detection;
    json!({
        "file": input.name,
        "reader": input.format.slug(),
        "forced": input.forced,
        "compression": input.compression.map(|compression| compression.label()),
        "evidence": {
            "detected": detection.format.slug(),
            "bytes_examined": detection.bytes,
            "whole_input": detection.whole,
            "tlib_records": detection.tlib_records,
            "cti_markers": detection.cti_markers,
            "call_uuid_lines": detection.call_uuid_lines,
            "sip_messages": detection.sip_messages,
        },
    })
}

fn stats_table(summary: &ReadSummary) -> String {
    let stats = &summary.stats;
    let mut text = String::new();
    let row = |text: &mut String, label: &str, value: u64| {
        let line = format!("{label:<34} {value:>12}");
        let line = match label.starts_with(' ') {
            true => line,
            false => style::out(Role::Heading, &line),
        };
        text.push_str(&line);
        text.push('\n');
    };
    row(&mut text, "files", summary.files as u64);
    for input in &summary.inputs {
        let archive = input.compression.map(|kind| format!(" ({kind} archive)")).unwrap_or_default();
        let line = match input.forced {
            true => format!(
                "  {}{archive}: {}, forced by --reader (its first bytes showed {})\n",
                input.name,
                input.format.label(),
                input.detection
            ),
            false => format!("  {}{archive}: {}\n", input.name, input.detection),
        };
        text.push_str(&line);
    }
    row(&mut text, "bytes", stats.bytes);
    row(&mut text, "lines", stats.lines);
    row(&mut text, "other server lines (skipped)", stats.foreign_lines);
    if stats.sip_messages + stats.cti_markers > 0 {
        row(&mut text, "SIP messages (SIP layer)", stats.sip_messages);
        row(&mut text, "SIP Server CTI markers (SIP layer)", stats.cti_markers);
    }
    row(&mut text, "events", stats.events);
    for (name, count) in stats.by_message() {
        row(&mut text, &format!("  {name}"), count);
    }
    row(&mut text, "backup-sync copies ([BSYNC])", stats.bsync_events);
    row(&mut text, "incomplete (cut) events", stats.incomplete_events);
    row(&mut text, "problems", stats.problem_count());
    for (kind, count) in &stats.problems {
        text.push_str(&style::out(Role::Warning, &format!("  {:<32} {count:>12}", kind.to_string())));
        text.push('\n');
    }
    let warn = |text: &mut String, label: &str, value: u64| {
        text.push_str(&style::out(Role::Warning, &format!("{label:<34} {value:>12}")));
        text.push('\n');
    };
    if summary.json_errors > 0 {
        warn(&mut text, "bad JSON lines", summary.json_errors);
    }
    if !summary.io_errors.is_empty() {
        warn(&mut text, "inputs that could not be read", summary.io_errors.len() as u64);
    }
    text
}
