//! `callstitch trace`: every customer interaction across sites, its calls in order, the
//! evidence that joins them, who released it, and its recording (docs/recording.md).

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::sync::mpsc::{self, Receiver};

use anyhow::Result;
use callstitch_engine::config::SECOND;
use callstitch_engine::EngineConfig;
use callstitch_link::{word, Interaction, LinkerConfig, SiteDirectory};
use callstitch_pipeline::{Pipeline, PipelineConfig, Sink, TraceDocument};
use callstitch_recording::{Finding, MediaFeed, Recording};
use clap::Args;

use crate::commands::parse::ReadArgs;
use crate::input::{self, Source};
use crate::style::{self, Role};
use crate::validate;

/// What every command that puts interactions together reads: the logs of every site, the
/// recording-side media feed, and how long links wait.
#[derive(Debug, Args)]
pub struct StitchArgs {
    /// Log or JSON-lines files, directories (their *.log files) or - for standard input, of
    /// every site. Prefix NAME= to name a site, e.g. TS2=/logs/tserver2/.
    #[arg(required = true, value_name = "[NAME=]PATH")]
    pub paths: Vec<String>,

    /// Wait this many seconds of event time for the other end of an Inter-Site Link after the
    /// calls ended, before calling the linking timed out.
    #[arg(long, default_value_t = 600, value_name = "SECONDS", value_parser = validate::seconds)]
    pub link_timeout: u32,

    /// The recording-side media feed (JSON lines, docs/recording.md). Without it, recordings
    /// are inferred from the event stream and marked inferred.
    #[arg(long, value_name = "PATH")]
    pub media: Option<std::path::PathBuf>,

    /// The deployment's own user-data key meaning "this call is being recorded" (seed 002's
    /// workaround for REFER transfers).
    #[arg(long, value_name = "KEY")]
    pub record_marker: Option<String>,

    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub stitch: StitchArgs,

    /// One JSON object per interaction (docs/trace-json.md).
    #[arg(long)]
    pub json: bool,

    /// Only interactions with a segment of this CallUUID (32 letters and digits).
    #[arg(long, value_name = "UUID", value_parser = validate::call_uuid)]
    pub call_uuid: Option<String>,

    /// Only interactions with a segment that had this ConnID (up to 16 hex digits).
    #[arg(long, value_name = "HEX", value_parser = validate::conn_id)]
    pub conn_id: Option<String>,

    /// Only interactions in which this DN took part (or whose ANI or DNIS it is).
    #[arg(long, value_name = "DN", value_parser = validate::dn)]
    pub dn: Option<String>,

    /// Only interactions joined by this Inter-Site Link id (32 letters and digits).
    #[arg(long, value_name = "ID", value_parser = validate::islink)]
    pub islink: Option<String>,
}

impl TraceArgs {
    fn wants(&self, interaction: &Interaction) -> bool {
        let segments = &interaction.segments;
        let uuid_ok = self.call_uuid.as_deref().is_none_or(|uuid| {
            segments.iter().any(|segment| segment.call_uuid.as_deref() == Some(uuid) || segment.key == uuid)
        });
        let conn_ok = self.conn_id.as_deref().is_none_or(|conn| {
            let conn = conn.to_ascii_lowercase();
            let conn = format!("{conn:0>16}");
            segments.iter().any(|segment| segment.conn_ids.contains(&conn))
        });
        let dn_ok = self.dn.as_deref().is_none_or(|dn| {
            interaction.ani.as_deref() == Some(dn)
                || interaction.dnis.as_deref() == Some(dn)
                || segments.iter().any(|segment| segment.parties.iter().any(|party| party.dn == dn))
        });
        let link_ok = self
            .islink
            .as_deref()
            .is_none_or(|id| interaction.links.iter().any(|link| link.islink.as_deref() == Some(id)));
        uuid_ok && conn_ok && dn_ok && link_ok
    }
}

/// The monitored sites: every site named on the command line or by its log's header. When
/// one input's sites are only known as it is read (standard input without NAME=, JSON lines,
/// which may hold several sites), the estate is open: nothing is called off-estate, and an
/// interaction is handed out only when no site still to come can change it.
pub fn site_directory(sources: &[Source]) -> SiteDirectory {
    if sources.iter().any(|source| source.site.is_none() || source.format == input::Format::JsonLines) {
        return SiteDirectory::default();
    }
    SiteDirectory::new(sources.iter().filter_map(|source| source.site.as_deref()))
}

/// The names of the monitored sites, for a service config: empty (nothing off-estate) when
/// one input's site is only known once it is read.
pub fn site_directory_names(sources: &[Source]) -> Vec<String> {
    let mut names: Vec<String> =
        site_directory(sources).known().iter().map(|site| site.to_string()).collect();
    names.sort();
    names.dedup();
    names
}

/// The media feed of `--media`, read whole (without it, recordings are inferred).
pub fn media_feed(media: Option<&std::path::Path>) -> Result<Option<MediaFeed>> {
    let Some(path) = media else { return Ok(None) };
    if !path.is_file() {
        return Err(input::UsageError(format!(
            "--media {}: no such file (the recording-side media feed, JSON lines: docs/recording.md)",
            path.display()
        ))
        .into());
    }
    let file = std::fs::File::open(path)
        .map_err(|error| anyhow::anyhow!("cannot read media feed {}: {error}", path.display()))?;
    Ok(Some(callstitch_recording::read_feed(io::BufReader::new(file))?))
}

/// Hands each interaction, with its recording, to a closure.
struct Each<F>(F);

impl<F: FnMut(Interaction, Recording)> Sink for Each<F> {
    fn interaction(&mut self, interaction: Interaction, recording: Recording) {
        (self.0)(interaction, recording)
    }
}

/// Reads every site's inputs merged by time through the pipeline (call engine, linker,
/// recorder), and hands each interaction, once complete, with its recording, to `each`.
/// Every interaction claims its media files, whatever `each` does with it, so that only
/// files of no interaction are called orphans. Returns what was read and the pipeline,
/// which still holds the feed's own findings.
pub fn stitch_interactions(
    args: &StitchArgs,
    each: impl FnMut(Interaction, Recording),
) -> Result<(input::ReadSummary, Pipeline)> {
    let sources = input::resolve(&args.paths)?;
    let linker =
        LinkerConfig { link_timeout: i64::from(args.link_timeout) * SECOND, ..LinkerConfig::default() };
    let config = PipelineConfig::new(EngineConfig::default(), linker, args.record_marker.clone());
    let mut pipeline = Pipeline::new(&config, site_directory(&sources), media_feed(args.media.as_deref())?);
    let mut sink = Each(each);
    let read = input::read_merged(&sources, &args.read.options(), |merged| {
        match merged {
            input::Merged::Event(event) => pipeline.push(event, &mut sink),
            input::Merged::Floor { site, time } => pipeline.raise_floor(&site, time, &mut sink),
            input::Merged::Ended { site } => pipeline.end_site(&site, &mut sink),
        }
        Ok(())
    })?;
    pipeline.finish(&mut sink);
    Ok((read, pipeline))
}

/// Interactions handed to the output thread at a time (one wake-up of it per batch, not per
/// interaction; fewer than the 64 KB output buffer holds, so that a trickling input's output
/// waits no longer than it did), and batches the pipeline may hand on ahead of it.
const OUTPUT_BATCH: usize = 16;
const OUTPUT_QUEUED: usize = 4;

pub fn run(args: &TraceArgs) -> Result<()> {
    let mut shown = Tally::default();
    let mut link_named: Option<String> = None;
    // The interactions shown are rendered and written on a thread of their own, in the
    // order the pipeline hands them on: the pipeline's thread is the bottleneck of the
    // command, and a document's JSON costs about as much as stitching it (issue 13).
    let (stitched, written) = std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel(OUTPUT_QUEUED);
        let writer = scope.spawn(|| write_interactions(args, receiver));
        let mut batch = Vec::with_capacity(OUTPUT_BATCH);
        let stitched = stitch_interactions(&args.stitch, |interaction, recording| {
            shown.seen += 1;
            if let Some(uuid) = args.call_uuid.as_deref() {
                if interaction.links.iter().any(|link| link.islink.as_deref() == Some(uuid)) {
                    link_named = Some(interaction.interaction_id.clone());
                }
            }
            if !args.wants(&interaction) {
                return;
            }
            shown.count(&interaction);
            batch.push((interaction, recording));
            if batch.len() == OUTPUT_BATCH {
                // Fails only when the output thread is gone (it panicked): the join says so.
                let _ = sender.send(std::mem::replace(&mut batch, Vec::with_capacity(OUTPUT_BATCH)));
            }
        });
        let _ = sender.send(batch);
        drop(sender);
        (stitched, writer.join())
    });
    let written = written.map_err(|_| anyhow::anyhow!("the output thread failed"))?;
    let (read, pipeline) = stitched?;
    written?;
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let feed_findings = pipeline.feed_findings();
    if !args.json {
        writeln!(out, "{}", style::out(Role::Quiet, &shown.render()))?;
        for finding in &feed_findings {
            writeln!(out, "{}", style::out(Role::Finding, &finding_line(finding)))?;
        }
    } else {
        for finding in &feed_findings {
            eprintln!("callstitch: media feed: {}", finding_line(finding));
        }
    }
    out.flush()?;
    if let (0, Some(uuid), Some(interaction)) = (shown.shown, args.call_uuid.as_deref(), link_named) {
        let label = style::err(Role::Warning, "callstitch:");
        eprintln!(
            "{label} {uuid} is the Inter-Site Link id of interaction {interaction}, not a CallUUID: use --islink {uuid}"
        );
    }
    input::require_events(&read)
}

/// The output thread: writes each interaction it is given, as text or a JSON line, then
/// flushes; the first write that fails is the result (the rest are taken and dropped, so
/// that the pipeline never waits on a dead output).
fn write_interactions(args: &TraceArgs, batches: Receiver<Vec<(Interaction, Recording)>>) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut failed: Option<io::Error> = None;
    for (interaction, recording) in batches.into_iter().flatten() {
        if failed.is_some() {
            continue;
        }
        let text = if args.json {
            json_line(&TraceDocument::new(interaction, recording))
        } else {
            format!("{}{}", human(&interaction), human_recording(&recording))
        };
        if let Err(error) = writeln!(out, "{text}") {
            failed = Some(error);
        }
    }
    match failed {
        Some(error) => Err(error),
        None => out.flush(),
    }
}

#[derive(Debug, Default)]
struct Tally {
    seen: u64,
    shown: u64,
    complete: u64,
    segments: u64,
    multi_site: u64,
}

impl Tally {
    fn count(&mut self, interaction: &Interaction) {
        self.shown += 1;
        self.segments += interaction.segments.len() as u64;
        if interaction.complete {
            self.complete += 1;
        }
        if interaction.sites.len() > 1 {
            self.multi_site += 1;
        }
    }

    fn render(&self) -> String {
        format!(
            "{} interactions shown of {} ({} complete, {} across sites), {} calls",
            self.shown, self.seen, self.complete, self.multi_site, self.segments
        )
    }
}

/// One interaction with its recording as one line of `trace --json` (docs/trace-json.md).
pub fn json_line(document: &TraceDocument) -> String {
    document.to_sorted_json().unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
}

/// One finding on one line: rule, where, what, evidence.
pub fn finding_line(finding: &Finding) -> String {
    let mut text = format!("{} {}", finding.rule.label(), finding.message);
    if !finding.segments.is_empty() {
        let _ = write!(text, " [calls {}]", finding.segments.join(", "));
    }
    if !finding.files.is_empty() {
        let _ = write!(text, " [files {}]", finding.files.join(", "));
    }
    if !finding.evidence.is_empty() {
        let _ = write!(text, " ({})", finding.evidence.join("; "));
    }
    text
}

/// The readable view of a recording: its files, who is heard, its findings.
pub fn human_recording(recording: &Recording) -> String {
    let mut text = String::new();
    if recording.media_files.is_empty() && recording.findings.is_empty() {
        return text;
    }
    let _ = writeln!(text, "  recording {}", recording.recording_id);
    for file in &recording.media_files {
        let heard: Vec<&str> = file.heard.iter().map(|party| party.dn.as_str()).collect();
        let _ = writeln!(
            text,
            "    {} {} {} {} side  {} → {}  [{}]  heard {}",
            file.site,
            file.call_uuid,
            file.recorded_dn,
            file.side.label(),
            file.start,
            file.stop.as_deref().unwrap_or("?"),
            serde_json::to_value(file.provenance)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            heard.join(", ")
        );
    }
    for finding in &recording.findings {
        let _ = writeln!(
            text,
            "    {}",
            style::out(Role::Finding, &format!("finding {}", finding_line(finding)))
        );
    }
    text
}

/// The readable view: one block per interaction.
pub fn human(interaction: &Interaction) -> String {
    let mut text = String::new();
    let time =
        |time: Option<callstitch_tlib::Timestamp>| time.map_or("?".to_string(), |time| time.to_string());
    let revision = match interaction.revision {
        0 => String::new(),
        revision => format!(" (revision {revision})"),
    };
    let heading = format!("interaction {}{revision}", interaction.interaction_id);
    let linking = word(&interaction.linking);
    let linking = match linking.as_str() {
        "timed-out" | "waiting" => style::out(Role::Warning, &linking),
        _ => linking,
    };
    let _ = writeln!(
        text,
        "{}  {} (linking {linking}, calls {})  {} → {}",
        style::out(Role::Heading, &heading),
        word(&interaction.state),
        word(&interaction.calls),
        time(interaction.start),
        time(interaction.end),
    );
    if let Some(site) = &interaction.current_site {
        let _ = writeln!(text, "  the customer is at {site} since {}", time(interaction.current_since));
    }
    let released = &interaction.released_by;
    let _ = writeln!(
        text,
        "  outcome {}, released by {} ({}) [{}]{}",
        style::outcome(&word(&interaction.outcome)),
        released.dn.as_deref().unwrap_or("-"),
        word(&released.who),
        word(&released.provenance),
        released.site.as_deref().map(|site| format!(" at {site}")).unwrap_or_default()
    );
    for (index, segment) in interaction.segments.iter().enumerate() {
        let location =
            segment.location.as_deref().map(|location| format!(" ({location})")).unwrap_or_default();
        let _ = writeln!(
            text,
            "  {}. {}{location}  {}  {}  conn {}  {}{}  {}",
            index + 1,
            segment.site,
            segment.key,
            word(&segment.role),
            segment.conn_ids.join(","),
            segment.model.as_ref().map_or_else(|| "live".to_string(), word),
            if segment.conformant { String::new() } else { style::out(Role::Warning, " (deviates)") },
            style::outcome(&word(&segment.outcome))
        );
        for party in &segment.parties {
            let _ = writeln!(
                text,
                "       {} {} {} {} released {}{} [{}]",
                party.dn,
                word(&party.kind),
                party.role.as_deref().unwrap_or("-"),
                word(&party.final_state),
                word(&party.released_by),
                party.released_by_dn.as_deref().map(|dn| format!(" by {dn}")).unwrap_or_default(),
                word(&party.provenance)
            );
        }
    }
    for link in &interaction.links {
        let _ = writeln!(
            text,
            "  {} {}: {}/{} → {}/{}{}{}",
            word(&link.evidence),
            link.islink.as_deref().unwrap_or(""),
            link.from.site,
            link.from.key,
            link.to.site,
            link.to.key,
            if link.consistent { String::new() } else { style::out(Role::Bad, "  INCONSISTENT") },
            link.note.as_deref().map(|note| format!("  ({note})")).unwrap_or_default()
        );
    }
    for offset in &interaction.clock_offsets {
        let _ = writeln!(
            text,
            "  clock: {} is {:+.1} ms from {} ({}, {} links)",
            offset.site,
            offset.offset_ms,
            offset.relative_to,
            word(&offset.method),
            offset.links
        );
    }
    if !interaction.unpaired_links.is_empty() {
        let unpaired = format!("unpaired links: {}", interaction.unpaired_links.join(", "));
        let _ = writeln!(text, "  {}", style::out(Role::Warning, &unpaired));
    }
    for note in &interaction.notes {
        let _ = writeln!(text, "  {} {note}", style::out(Role::Warning, "note:"));
    }
    text
}
