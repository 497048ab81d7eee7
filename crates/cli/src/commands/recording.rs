//! `callstitch recording ID`: the recording metadata of one interaction, in the shape of
//! GIR's recording.json (docs/recording.md), from the logs of every site and, with
//! --media, the recording-side media feed.

use std::cell::RefCell;
use std::io::{self, Write};

use anyhow::{bail, Result};
use callstitch_engine::config::SECOND;
use callstitch_engine::EngineConfig;
use callstitch_link::{Interaction, LinkerConfig, Stitcher};
use callstitch_recording::{recording_metadata, Signals};
use clap::Args;

use crate::commands::parse::ReadArgs;
use crate::commands::trace::{recorder, site_directory};
use crate::input;

#[derive(Debug, Args)]
pub struct RecordingArgs {
    /// The interaction id, the recording id (the root call's CallUUID), or any CallUUID of
    /// the interaction.
    #[arg(value_name = "ID")]
    pub id: String,

    /// Log or JSON-lines files, directories or - for standard input, of every site.
    #[arg(required = true, value_name = "[NAME=]PATH")]
    pub paths: Vec<String>,

    /// The recording-side media feed (JSON lines). Without it, recordings are inferred.
    #[arg(long, value_name = "PATH")]
    pub media: Option<std::path::PathBuf>,

    /// The deployment's own "being recorded" user-data key.
    #[arg(long, value_name = "KEY")]
    pub record_marker: Option<String>,

    /// Seconds of event time to wait for the other end of an Inter-Site Link.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub link_timeout: u32,

    #[command(flatten)]
    pub read: ReadArgs,
}

fn names(interaction: &Interaction, id: &str) -> bool {
    interaction.interaction_id == id
        || interaction.replaces.iter().any(|old| old == id)
        || interaction
            .segments
            .iter()
            .any(|segment| segment.call_uuid.as_deref() == Some(id) || segment.key == id)
}

pub fn run(args: &RecordingArgs) -> Result<()> {
    let sources = input::resolve(&args.paths)?;
    let mut recorder = recorder(args.media.as_deref())?;
    let signals = RefCell::new(Signals::new(args.record_marker.clone()));
    let linker =
        LinkerConfig { link_timeout: i64::from(args.link_timeout) * SECOND, ..LinkerConfig::default() };
    let mut stitcher = Stitcher::new(EngineConfig::default(), linker, site_directory(&sources));
    let mut found: Option<serde_json::Value> = None;
    let mut keep = |interaction: Interaction| {
        if names(&interaction, &args.id) {
            let recording = recorder.recording(&interaction, &signals.borrow());
            found = Some(recording_metadata(&recording, &interaction));
        }
    };
    let read = input::read_events_by_time(&sources, &args.read.options(), |event| {
        signals.borrow_mut().observe(&event);
        stitcher.push(&event, &mut |_| {}, &mut keep);
        Ok(())
    })?;
    stitcher.finish(&mut |_| {}, &mut keep);
    input::require_events(&read)?;
    let Some(metadata) = found else { bail!("no interaction or recording {} in the input", args.id) };
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &metadata)?;
    writeln!(out)?;
    Ok(())
}
