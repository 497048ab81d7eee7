//! The recording-side media feed: JSON lines, one object per media file event
//! (docs/recording.md). A start object names the file; a stop may come on the same object or
//! on a later one with the same `media_id`. Every bad line becomes a [`FeedError`] naming its
//! line, and the rest of the feed is kept.

// Outside input is read here: an index is checked, or says why it is in range
// (docs/architecture.md, "Rules the code keeps").
#![warn(clippy::indexing_slicing)]

use std::collections::HashMap;
use std::io::BufRead;

use callstitch_tlib::Timestamp;
use serde::{Deserialize, Serialize};
use thiserror::Error;

callstitch_tlib::labelled_enum! {
    /// Whose side of the connection a file records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum RecordedSide {
        /// The agent's side (agent or DN recording).
        Agent => "agent",
        /// The customer's side (trunk recording, a routing point recording the caller).
        Customer => "customer",
        /// The whole call, side not known.
        Call => "call",
    }
}

/// One media file as the feed gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedFile {
    pub media_id: String,
    /// The site whose recording server wrote it.
    pub site: String,
    pub call_uuid: String,
    pub recorded_dn: String,
    pub side: RecordedSide,
    pub start: Timestamp,
    pub stop: Option<Timestamp>,
    /// The line of its start object.
    pub line: u64,
    /// The recording id the archive already gave it (`recording_id`), if the feed says.
    pub archive_id: Option<String>,
}

/// A line of the feed that could not be taken as it is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeedError {
    #[error("line {line}: not a media object: {message}")]
    Json { line: u64, message: String },
    #[error("line {line}: type {found:?} is not \"media\"")]
    UnknownType { line: u64, found: String },
    #[error("line {line}: {field} is missing")]
    Missing { line: u64, field: &'static str },
    #[error("line {line}: {field} {value:?} is not an RFC 3339 time")]
    BadTime { line: u64, field: &'static str, value: String },
    #[error("line {line}: stop for media {media_id} without a start")]
    StopWithoutStart { line: u64, media_id: String },
    #[error("line {line}: media {media_id} started again (first on line {first})")]
    DuplicateStart { line: u64, media_id: String, first: u64 },
    #[error("line {line}: media {media_id} stopped again")]
    DuplicateStop { line: u64, media_id: String },
    #[error(
        "line {line}: media {media_id} stops at {stop} before it starts at {start}; the stop is dropped"
    )]
    StopBeforeStart { line: u64, media_id: String, start: String, stop: String },
}

impl FeedError {
    pub fn line(&self) -> u64 {
        match self {
            FeedError::Json { line, .. }
            | FeedError::UnknownType { line, .. }
            | FeedError::Missing { line, .. }
            | FeedError::BadTime { line, .. }
            | FeedError::StopWithoutStart { line, .. }
            | FeedError::DuplicateStart { line, .. }
            | FeedError::DuplicateStop { line, .. }
            | FeedError::StopBeforeStart { line, .. } => *line,
        }
    }
}

/// The whole feed: its files in the order they started, and what was wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaFeed {
    pub files: Vec<FeedFile>,
    pub errors: Vec<FeedError>,
}

#[derive(Debug, Deserialize)]
struct RawMedia {
    #[serde(rename = "type")]
    kind: String,
    site: Option<String>,
    call_uuid: Option<String>,
    media_id: Option<String>,
    recorded_dn: Option<String>,
    side: Option<RecordedSide>,
    start: Option<String>,
    stop: Option<String>,
    recording_id: Option<String>,
}

/// Where the lines of a feed go: a [`MediaFeed`] being read, or a recorder taking files as
/// they come.
pub(crate) trait FeedSink {
    /// The held file with this media id.
    fn file_mut(&mut self, media_id: &str) -> Option<&mut FeedFile>;
    /// Takes a new file.
    fn add(&mut self, file: FeedFile);
}

/// A feed being read.
struct Reading {
    feed: MediaFeed,
    by_id: HashMap<String, usize>,
}

impl FeedSink for Reading {
    fn file_mut(&mut self, media_id: &str) -> Option<&mut FeedFile> {
        let index = *self.by_id.get(media_id)?;
        self.feed.files.get_mut(index)
    }

    fn add(&mut self, file: FeedFile) {
        self.by_id.insert(file.media_id.clone(), self.feed.files.len());
        self.feed.files.push(file);
    }
}

/// Reads a feed. Only an I/O error stops it; every bad line is kept as a [`FeedError`].
pub fn read_feed(reader: impl BufRead) -> std::io::Result<MediaFeed> {
    let mut reading = Reading { feed: MediaFeed::default(), by_id: HashMap::new() };
    for (index, line) in reader.lines().enumerate() {
        let line_no = index as u64 + 1;
        let text = line?;
        if text.trim().is_empty() {
            continue;
        }
        if let Err(error) = take_line(&text, line_no, &mut reading) {
            reading.feed.errors.push(error);
        }
    }
    Ok(reading.feed)
}

/// Takes one line of a feed into `sink`.
pub(crate) fn take_line(text: &str, line: u64, sink: &mut impl FeedSink) -> Result<(), FeedError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let raw: RawMedia = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| FeedError::Json { line, message: error.to_string() })?;
    if raw.kind != "media" {
        return Err(FeedError::UnknownType { line, found: raw.kind });
    }
    let media_id =
        raw.media_id.filter(|id| !id.is_empty()).ok_or(FeedError::Missing { line, field: "media_id" })?;
    let stop = match raw.stop.as_deref() {
        Some(value) => Some(Timestamp::parse_rfc3339(value).ok_or_else(|| FeedError::BadTime {
            line,
            field: "stop",
            value: value.to_string(),
        })?),
        None => None,
    };
    let Some(start_text) = raw.start else {
        // A stop object for a file started earlier.
        let Some(file) = sink.file_mut(&media_id) else {
            return Err(FeedError::StopWithoutStart { line, media_id });
        };
        let Some(stop) = stop else { return Err(FeedError::Missing { line, field: "stop" }) };
        if file.stop.is_some() {
            return Err(FeedError::DuplicateStop { line, media_id });
        }
        return set_stop(file, stop, line);
    };
    let start = Timestamp::parse_rfc3339(&start_text).ok_or_else(|| FeedError::BadTime {
        line,
        field: "start",
        value: start_text.clone(),
    })?;
    if let Some(first) = sink.file_mut(&media_id) {
        return Err(FeedError::DuplicateStart { line, media_id, first: first.line });
    }
    let site = raw.site.ok_or(FeedError::Missing { line, field: "site" })?;
    let call_uuid = raw.call_uuid.ok_or(FeedError::Missing { line, field: "call_uuid" })?;
    let recorded_dn = raw.recorded_dn.ok_or(FeedError::Missing { line, field: "recorded_dn" })?;
    let side = raw.side.ok_or(FeedError::Missing { line, field: "side" })?;
    let archive_id = raw.recording_id.filter(|id| !id.is_empty());
    let mut file =
        FeedFile { media_id, site, call_uuid, recorded_dn, side, start, stop: None, line, archive_id };
    // The file is kept even when its stop is refused.
    let stopped = match stop {
        Some(stop) => set_stop(&mut file, stop, line),
        None => Ok(()),
    };
    sink.add(file);
    stopped
}

fn set_stop(file: &mut FeedFile, stop: Timestamp, line: u64) -> Result<(), FeedError> {
    if stop < file.start {
        return Err(FeedError::StopBeforeStart {
            line,
            media_id: file.media_id.clone(),
            start: file.start.to_string(),
            stop: stop.to_string(),
        });
    }
    file.stop = Some(stop);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_and_stop_on_two_lines() {
        let text = concat!(
            r#"{"type":"media","site":"S1","call_uuid":"U1","media_id":"U1_a","recorded_dn":"1001","side":"agent","start":"2026-01-01T10:00:00Z","stop":null}"#,
            "\n\n",
            r#"{"type":"media","media_id":"U1_a","stop":"2026-01-01T10:01:00Z"}"#,
            "\n"
        );
        let feed = read_feed(text.as_bytes()).unwrap_or_default();
        assert!(feed.errors.is_empty(), "{:?}", feed.errors);
        assert_eq!(feed.files.len(), 1);
        assert_eq!(feed.files[0].stop, Timestamp::parse_rfc3339("2026-01-01T10:01:00Z"));
        assert_eq!(feed.files[0].side, RecordedSide::Agent);
    }
}
