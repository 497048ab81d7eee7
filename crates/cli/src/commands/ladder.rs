//! `callstitch ladder`: the ladder diagram (SVG) of one interaction, from the logs of every
//! site (docs/ladder.md). The inputs are read twice: once through the engine and the linker,
//! as `callstitch trace` reads them, to find the interaction; once more to keep the raw
//! events of its calls, which the picture draws.

use std::collections::HashSet;

use anyhow::Result;
use callstitch_ladder::{LadderError, LadderOptions};
use callstitch_link::Interaction;
use callstitch_pipeline::TraceDocument;
use callstitch_tlib::Event;
use clap::Args;

use crate::commands::parse::ReadArgs;
use crate::commands::trace::{stitch_interactions, StitchArgs};
use crate::input::{self, ReadOptions, UsageError};

#[derive(Debug, Args)]
#[command(override_usage = "callstitch ladder [OPTIONS] <ID> <[NAME=]PATH>...\n       \
    callstitch ladder [OPTIONS] --call-uuid <UUID> <[NAME=]PATH>...")]
pub struct LadderArgs {
    /// The interaction by any CallUUID of its calls (then every positional argument is a
    /// path). Without it the first positional argument is the interaction id (or a
    /// CallUUID, or an id it was printed under before).
    #[arg(long, value_name = "UUID", value_parser = crate::validate::call_uuid)]
    pub call_uuid: Option<String>,

    /// The page to draw (1-based); a large interaction is cut into pages of --per-page
    /// events.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = crate::validate::page)]
    pub page: usize,

    /// Events per page (at most 300).
    #[arg(long, default_value_t = callstitch_ladder::DEFAULT_PER_PAGE, value_name = "N", value_parser = crate::validate::per_page)]
    pub per_page: usize,

    /// Write the SVG to this file (created only once the ladder is drawn: a failure leaves
    /// no empty file behind, as `> FILE` would) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub stitch: StitchArgs,
}

/// What names the interaction.
enum Wanted {
    /// Interaction id, earlier id, or CallUUID.
    Id(String),
    CallUuid(String),
}

impl Wanted {
    fn names(&self, interaction: &Interaction) -> bool {
        let segment_named = |id: &str| {
            interaction
                .segments
                .iter()
                .any(|segment| segment.call_uuid.as_deref() == Some(id) || segment.key == id)
        };
        match self {
            Wanted::Id(id) => {
                interaction.interaction_id == *id
                    || interaction.replaces.iter().any(|old| old == id)
                    || segment_named(id)
            }
            Wanted::CallUuid(uuid) => segment_named(uuid),
        }
    }

    fn text(&self) -> String {
        match self {
            Wanted::Id(id) => format!("interaction {id}"),
            Wanted::CallUuid(uuid) => format!("interaction with CallUUID {uuid}"),
        }
    }
}

/// Splits the positional arguments into what names the interaction and the inputs.
fn split(args: &LadderArgs) -> Result<(Wanted, StitchArgs)> {
    let mut paths = args.stitch.paths.clone();
    let wanted = match &args.call_uuid {
        Some(uuid) => Wanted::CallUuid(uuid.clone()),
        None => {
            if paths.len() < 2 {
                return Err(UsageError(
                    "give the interaction id (or --call-uuid UUID) and then the logs: callstitch ladder ID [NAME=]PATH..."
                        .to_string(),
                )
                .into());
            }
            let id = paths.remove(0);
            crate::validate::interaction_ref(&id)
                .map_err(|why| UsageError(format!("invalid interaction {id:?}: {why}")))?;
            Wanted::Id(id)
        }
    };
    if paths.iter().any(|path| path == "-" || path.ends_with("=-")) {
        return Err(UsageError(
            "ladder reads its inputs twice: give files or directories, not standard input".to_string(),
        )
        .into());
    }
    let stitch = &args.stitch;
    let read = ReadArgs {
        max_problems: stitch.read.max_problems,
        quiet: stitch.read.quiet,
        no_progress: stitch.read.no_progress,
        reader: stitch.read.reader,
    };
    let stitch = StitchArgs {
        paths,
        link_timeout: stitch.link_timeout,
        media: stitch.media.clone(),
        record_marker: stitch.record_marker.clone(),
        read,
    };
    Ok((wanted, stitch))
}

/// The (site, CallUUID or key) and (site, ConnID) pairs of the interaction's calls.
struct Calls {
    uuids: HashSet<(String, String)>,
    conn_ids: HashSet<(String, String)>,
}

impl Calls {
    fn of(interaction: &Interaction) -> Calls {
        let mut calls = Calls { uuids: HashSet::new(), conn_ids: HashSet::new() };
        for segment in &interaction.segments {
            let site = segment.site.to_string();
            calls.uuids.insert((site.clone(), segment.key.clone()));
            if let Some(uuid) = &segment.call_uuid {
                calls.uuids.insert((site.clone(), uuid.clone()));
            }
            for conn in &segment.conn_ids {
                calls.conn_ids.insert((site.clone(), conn.clone()));
            }
        }
        calls
    }

    fn holds(&self, event: &Event) -> bool {
        let site = event.site.to_string();
        let by_uuid = event
            .call_uuid
            .as_ref()
            .is_some_and(|uuid| self.uuids.contains(&(site.clone(), uuid.to_string())));
        by_uuid || event.conn_id.is_some_and(|conn| self.conn_ids.contains(&(site, conn.to_string())))
    }
}

pub fn run(args: &LadderArgs) -> Result<()> {
    let (wanted, stitch) = split(args)?;
    let mut found: Option<(TraceDocument, Calls)> = None;
    let (read, _) = stitch_interactions(&stitch, |interaction, recording| {
        if wanted.names(&interaction) {
            let calls = Calls::of(&interaction);
            found = Some((TraceDocument::new(interaction, recording), calls));
        }
    })?;
    input::require_events(&read)?;
    let Some((trace, calls)) = found else {
        return Err(UsageError(format!(
            "no {} in the input (callstitch trace lists the interactions and their CallUUIDs)",
            wanted.text()
        ))
        .into());
    };
    let events = events_of(&stitch, &calls)?;
    let options = LadderOptions { page: args.page, per_page: args.per_page };
    let ladder = callstitch_ladder::render(&trace, &events, &options).map_err(|error| match error {
        LadderError::PageOutOfRange { .. } => anyhow::Error::from(UsageError(error.to_string())),
        other => other.into(),
    })?;
    crate::output::write_whole(args.output.as_deref(), ladder.svg.as_bytes())
}

/// Second pass: the raw events of the interaction's calls. Problems were reported by the
/// first pass.
fn events_of(stitch: &StitchArgs, calls: &Calls) -> Result<Vec<Event>> {
    let sources = input::resolve(&stitch.paths)?;
    let options = ReadOptions { quiet: true, progress: false, ..stitch.read.options() };
    let mut events = Vec::new();
    input::read_events(&sources, &options, |event| {
        if calls.holds(&event) {
            events.push(event);
        }
        Ok(())
    })?;
    Ok(events)
}
