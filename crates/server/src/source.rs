//! Where the ingest loop's events come from, and how far each source was consumed.
//!
//! A [`Source`] is read by the loop (the followed log files today, a message bus later): it
//! hands out the events ready now without waiting, each saying itself where it came from
//! (its site, and its file and line for a log), and keeps a typed checkpoint of how far it
//! was consumed. The loop commits every source's checkpoint with the events it covers, in
//! the store's positions ([`Checkpoints`]: one section per source, named by
//! [`SourceCheckpoint::SECTION`]), and gives it back to the source at a restart. The loop
//! holds its sources as [`AnySource`]s and knows nothing else of them: a new kind of source
//! is a new [`Source`] and its section, opened where the loop starts
//! ([`crate::ingest::IngestLoop::recover`]), not a change to how the loop reads and commits.
//!
//! `POST /v1/events` and `/v1/media` are not sources of this kind: each request is answered
//! once its events are committed and a client whose request failed sends it again, so there
//! is nothing to resume from. A one-shot import drives the loop itself; its checkpoint
//! ([`ImportMark`]) is a section like the others.

pub mod bus;
pub mod follow;

use callstitch_follow::Position;
use callstitch_tlib::Event;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use bus::{BusCheckpoint, BusGauges, BusInput, BusSource};
pub use follow::FollowSource;

/// A source's own record of how far it was consumed: stored in the positions under its
/// section, committed with the events it covers, given back at a restart.
pub trait SourceCheckpoint: Serialize + DeserializeOwned + Default {
    /// Its section in the stored positions. A value that serializes to `null` (an
    /// `Option`'s `None`) leaves no section.
    const SECTION: &'static str;
}

/// The followed files' positions: where each file goes on, by its fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FollowCheckpoint(pub Vec<Position>);

impl SourceCheckpoint for FollowCheckpoint {
    const SECTION: &'static str = "follow";
}

/// How far an import got: its inputs (path and size of every file, in order) and how many
/// events of their time-merged stream were taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportMark {
    pub inputs: Vec<(String, u64)>,
    pub consumed: u64,
    pub finished: bool,
}

/// The last one-shot import, if there was one.
impl SourceCheckpoint for Option<ImportMark> {
    const SECTION: &'static str = "import";
}

/// The store's positions: every source's checkpoint, by section. A section that no source
/// of this run claims (the followed files' positions while an import runs) is written back
/// as it was read, so that no run forgets another's.
///
/// The stored form is one JSON object, `{"follow": [...], "import": {...}}`: what the
/// positions have always held, so a database written before the sections were typed
/// restores as it did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoints {
    sections: Map<String, Value>,
}

impl Checkpoints {
    /// The positions as stored (`None`: nothing committed yet). Unreadable positions are
    /// said and taken as none: every source starts afresh (files from their start).
    pub fn restore(stored: Option<&str>) -> Checkpoints {
        let Some(text) = stored else { return Checkpoints::default() };
        match serde_json::from_str(text) {
            Ok(sections) => Checkpoints { sections },
            Err(error) => {
                tracing::warn!(%error, "stored positions unreadable; files are read from the start");
                Checkpoints::default()
            }
        }
    }

    /// The checkpoint of section `C::SECTION`; its default when there is none, or when it
    /// cannot be read (said: that source starts afresh).
    pub fn get<C: SourceCheckpoint>(&self) -> C {
        let Some(section) = self.sections.get(C::SECTION) else { return C::default() };
        C::deserialize(section).unwrap_or_else(|error| {
            tracing::warn!(%error, section = C::SECTION, "stored positions unreadable; files are read from the start");
            C::default()
        })
    }

    /// Sets the section of `checkpoint`'s kind.
    pub fn set<C: SourceCheckpoint>(&mut self, checkpoint: &C) -> Result<(), serde_json::Error> {
        match serde_json::to_value(checkpoint)? {
            Value::Null => self.sections.remove(C::SECTION),
            value => self.sections.insert(C::SECTION.to_string(), value),
        };
        Ok(())
    }

    /// The stored form.
    pub fn to_text(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&self.sections)
    }
}

/// Something a source met that it did not hand out as an event (an unreadable file, a line
/// it skipped): logged and counted by the loop, never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    /// What the source is, for the log line ("log input").
    pub source: &'static str,
    /// The label of `callstitch_problems_total`.
    pub kind: &'static str,
    pub message: String,
}

/// A source the ingest loop reads. See the module documentation.
pub trait Source: Send {
    type Checkpoint: SourceCheckpoint;

    /// Appends to `out` at most `most` events that are ready now, in the order they go into
    /// the pipeline. Never waits.
    fn poll(&mut self, most: usize, out: &mut Vec<Event>);

    /// How far it was consumed, as of every event it handed out (and none it holds back):
    /// committed with those events.
    fn checkpoint(&self) -> Self::Checkpoint;

    /// Behind on a backlog (at start, after downtime): its sites are not quiet, their events
    /// are on their way, so the loop does not move their time on with the wall clock.
    fn catching_up(&self) -> bool {
        false
    }

    /// What it met since the last call.
    fn take_problems(&mut self) -> Vec<SourceProblem> {
        Vec::new()
    }
}

/// A [`Source`] as the loop holds it, whatever its checkpoint's type.
pub trait AnySource: Send {
    /// [`Source::poll`].
    fn poll(&mut self, most: usize, out: &mut Vec<Event>);
    /// Writes its checkpoint into its section of `checkpoints`.
    fn checkpoint_into(&self, checkpoints: &mut Checkpoints) -> Result<(), serde_json::Error>;
    /// [`Source::catching_up`].
    fn catching_up(&self) -> bool;
    /// [`Source::take_problems`].
    fn take_problems(&mut self) -> Vec<SourceProblem>;
}

impl<T: Source> AnySource for T {
    fn poll(&mut self, most: usize, out: &mut Vec<Event>) {
        Source::poll(self, most, out);
    }

    fn checkpoint_into(&self, checkpoints: &mut Checkpoints) -> Result<(), serde_json::Error> {
        checkpoints.set(&self.checkpoint())
    }

    fn catching_up(&self) -> bool {
        Source::catching_up(self)
    }

    fn take_problems(&mut self) -> Vec<SourceProblem> {
        Source::take_problems(self)
    }
}

#[cfg(test)]
mod tests;
