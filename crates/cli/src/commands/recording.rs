//! `callstitch recording ID`: the recording metadata of one interaction, in the shape of
//! GIR's recording.json (docs/recording.md), from the logs of every site and, with
//! --media, the recording-side media feed.

use std::io::{self, Write};

use anyhow::{bail, Result};
use callstitch_link::Interaction;
use callstitch_recording::recording_metadata;
use clap::Args;

use crate::commands::trace::{stitch_interactions, StitchArgs};
use crate::input;

#[derive(Debug, Args)]
pub struct RecordingArgs {
    /// The interaction id, the recording id (the root call's CallUUID), or any CallUUID of
    /// the interaction.
    #[arg(value_name = "ID", value_parser = crate::validate::interaction_ref)]
    pub id: String,

    #[command(flatten)]
    pub stitch: StitchArgs,
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
    let mut found = None;
    let (read, _) = stitch_interactions(&args.stitch, |interaction, recording| {
        if names(&interaction, &args.id) {
            found = Some(recording_metadata(&recording, &interaction));
        }
    })?;
    input::require_events(&read)?;
    let Some(metadata) = found else { bail!("no interaction or recording {} in the input", args.id) };
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &metadata.to_value()?).map_err(io::Error::from)?;
    writeln!(out)?;
    Ok(())
}
