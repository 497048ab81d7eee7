//! callstitch-recording: the recordings of whole customer interactions.
//!
//! Contact centers record at the site where the recorded party is, so a call that crossed
//! switches leaves several media files on several recording servers, each under its own
//! CallUUID. This crate takes the interactions of `callstitch-link`, the recording-side media
//! feed ([`feed`]) and the recording signals of the event stream ([`signals`]), and gives each
//! interaction one [`Recording`]: its media files under one recording id, who is heard on each
//! file, and [`Finding`]s where recording is missing or unexplained (recording.md §6).
//! Pure and deterministic: no I/O except reading a feed from a `BufRead`.

pub mod feed;
pub mod finding;
pub mod metadata;
pub mod recorder;
pub mod signals;
mod time_text;

pub use feed::{read_feed, FeedError, FeedFile, MediaFeed, RecordedSide};
pub use finding::{Finding, Rule};
pub use metadata::{recording_metadata, FileParameters, HistoryEvent, MetadataFile, RecordingMetadata};
pub use recorder::{
    Heard, MediaFile, MediaUpdate, Provenance, Recorder, RecorderConfig, RecorderState, Recording,
};
pub use signals::{EventSignals, Retention, Signals, SignalsState, Trigger, TriggerKind};
