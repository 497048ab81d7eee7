//! A reference to one input event: where it came from and what it was, without its body.
//!
//! Party histories, deviations and release evidence point at events with these, so a finished
//! call says exactly which lines of which log made it what it is.

use std::sync::Arc;

use callstitch_tlib::{Event, Message, Text, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// (site, sequence number, message), plus time and file position when known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    pub site: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(serialize_with = "message_name", deserialize_with = "message_from_name")]
    pub message: Message,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl EventRef {
    pub fn of(event: &Event) -> EventRef {
        EventRef {
            site: event.site.clone(),
            seq: event.seq,
            message: event.message.clone(),
            time: event.time(),
            file: event.file.clone(),
            line: event.line,
        }
    }

    /// True when both refer to the same input event (cheap: no string comparison unless the
    /// numbers agree).
    pub fn same_event(&self, other: &EventRef) -> bool {
        self.seq == other.seq
            && self.line == other.line
            && self.time == other.time
            && self.message == other.message
            && self.site == other.site
    }

    /// `site seq message` (and `file:line` when known), for text reports.
    pub fn describe(&self) -> String {
        let seq = self.seq.map(|seq| format!(" #{seq}")).unwrap_or_default();
        let place = match (&self.file, self.line) {
            (Some(file), Some(line)) => format!(" ({file}:{line})"),
            (None, Some(line)) => format!(" (line {line})"),
            _ => String::new(),
        };
        format!("{}{} {}{}", self.site, seq, self.message, place)
    }
}

fn message_name<S: Serializer>(message: &Message, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(message.name())
}

fn message_from_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Message, D::Error> {
    let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
    Ok(Message::from_name(&name))
}
