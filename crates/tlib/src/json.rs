//! The JSON-lines form of events: one [`Event`] object per line (docs/event-json.md).
//!
//! This is what `callstitch parse` prints and what live feeds send. Reading it back gives the
//! identical event. A bad line is an error that names its line and the field at fault; the
//! lines after it keep flowing.

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::sync::Arc;

use crate::event::Event;

/// Writes one event as a JSON line.
pub fn write_json_line<W: Write>(out: &mut W, event: &Event) -> io::Result<()> {
    serde_json::to_writer(&mut *out, event).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

/// Reads one event from a JSON text, naming the field at fault on error.
pub fn event_from_json(text: &str) -> Result<Event, EventJsonError> {
    // Nearly every line is an event: read it without keeping the path of the field being
    // read (that costs about a fifth of the reading), and read a line that is not one again
    // with it, to name the field at fault. Both readings accept the same lines.
    if let Ok(event) = serde_json::from_str(text) {
        return Ok(event);
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let event: Event = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let source = error.into_inner();
        if path == "." || path.is_empty() {
            EventJsonError::Malformed(source)
        } else {
            EventJsonError::Field { path, source }
        }
    })?;
    deserializer.end().map_err(EventJsonError::Trailing)?;
    Ok(event)
}

/// Why a JSON text is not an event (docs/event-json.md). The message is the one a bad line
/// is reported with; the cause is serde's error.
#[derive(Debug, thiserror::Error)]
pub enum EventJsonError {
    /// A field of the event (its path, e.g. `conn_id` or `sip.via[0]`) is of the wrong type
    /// or out of its range.
    #[error("field `{path}`: {source}")]
    Field {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    /// Not JSON, not an object, or a field missing from the event itself (serde's message
    /// names it).
    #[error("{0}")]
    Malformed(#[source] serde_json::Error),
    /// An event followed by more than white space.
    #[error("trailing text after the event: {0}")]
    Trailing(#[source] serde_json::Error),
}

impl EventJsonError {
    /// The path of the field at fault, when one field is.
    pub fn field(&self) -> Option<&str> {
        match self {
            EventJsonError::Field { path, .. } => Some(path),
            EventJsonError::Malformed(_) | EventJsonError::Trailing(_) => None,
        }
    }
}

/// Two errors are the same when they say the same thing (serde's error has no equality), so
/// that a result can be compared with an expected one.
impl PartialEq for EventJsonError {
    fn eq(&self, other: &EventJsonError) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other) && self.to_string() == other.to_string()
    }
}

/// A JSON line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonLineError {
    pub file: Option<Arc<str>>,
    pub line: u64,
    pub message: String,
}

impl fmt::Display for JsonLineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.as_deref().unwrap_or("<input>");
        write!(f, "{file}:{}: {}", self.line, self.message)
    }
}

impl std::error::Error for JsonLineError {}

/// One item of a JSON-lines read: an event, or a line that was not one.
pub type JsonLine = Result<Event, JsonLineError>;

/// Reads JSON lines; blank lines are skipped, bad lines are reported and passed over.
pub struct JsonLinesReader<R> {
    input: R,
    file: Option<Arc<str>>,
    line: u64,
    max_line_bytes: usize,
    buf: Vec<u8>,
    /// Bytes consumed so far.
    pub bytes_read: u64,
}

impl<R: BufRead> JsonLinesReader<R> {
    pub fn new(input: R, file: Option<Arc<str>>) -> Self {
        JsonLinesReader { input, file, line: 0, max_line_bytes: 16 << 20, buf: Vec::new(), bytes_read: 0 }
    }

    fn error(&self, message: String) -> JsonLineError {
        JsonLineError { file: self.file.clone(), line: self.line, message }
    }

    /// The next event or bad line; `Ok(None)` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<JsonLine>> {
        loop {
            self.buf.clear();
            let limit = self.max_line_bytes as u64 + 1;
            let count = (&mut self.input).take(limit).read_until(b'\n', &mut self.buf)?;
            if count == 0 {
                return Ok(None);
            }
            self.line += 1;
            self.bytes_read += count as u64;
            if self.buf.last() != Some(&b'\n') && count as u64 == limit {
                let skipped = self.skip_rest_of_line()?;
                let total = count as u64 + skipped;
                return Ok(Some(
                    Err(self.error(format!("line of {total} bytes is over the limit; skipped"))),
                ));
            }
            let text = match std::str::from_utf8(&self.buf) {
                Ok(text) => text.trim(),
                Err(error) => return Ok(Some(Err(self.error(format!("not UTF-8: {error}"))))),
            };
            if text.is_empty() {
                continue;
            }
            return Ok(Some(event_from_json(text).map_err(|error| self.error(error.to_string()))));
        }
    }

    fn skip_rest_of_line(&mut self) -> io::Result<u64> {
        let mut skipped = 0;
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                return Ok(skipped);
            }
            match memchr::memchr(b'\n', available) {
                Some(newline) => {
                    self.input.consume(newline + 1);
                    self.bytes_read += newline as u64 + 1;
                    return Ok(skipped + newline as u64 + 1);
                }
                None => {
                    let length = available.len();
                    self.input.consume(length);
                    self.bytes_read += length as u64;
                    skipped += length as u64;
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for JsonLinesReader<R> {
    type Item = io::Result<JsonLine>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_line().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_names_its_line_and_field_and_the_rest_flows() {
        let input = "{\"message\":\"EventRinging\",\"site\":\"S\"}\n\n{\"message\":\"EventRinging\",\"site\":\"S\",\"conn_id\":\"xyz\"}\nnot json\n{\"message\":\"EventReleased\",\"site\":\"S\"}\n";
        let results: Vec<JsonLine> = JsonLinesReader::new(input.as_bytes(), Some(Arc::from("feed.jsonl")))
            .map(|item| item.unwrap())
            .collect();
        assert_eq!(results.len(), 4);
        assert!(results[0].is_ok());
        let error = results[1].as_ref().unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.to_string().starts_with("feed.jsonl:3: field `conn_id`"), "{error}");
        assert_eq!(results[2].as_ref().unwrap_err().line, 4);
        assert_eq!(results[3].as_ref().unwrap().message.name(), "EventReleased");
    }
    #[test]
    fn an_event_that_is_not_one_says_which_field_and_keeps_serdes_error_as_its_cause() {
        let field = event_from_json("{\"message\":\"EventRinging\",\"site\":\"S\",\"conn_id\":\"xyz\"}")
            .expect_err("a ConnID is 16 hex digits");
        assert_eq!(field.field(), Some("conn_id"));
        assert!(field.to_string().starts_with("field `conn_id`: "), "{field}");
        let malformed = event_from_json("not json").expect_err("not JSON");
        assert!(matches!(malformed, EventJsonError::Malformed(_)), "{malformed:?}");
        let trailing =
            event_from_json("{\"message\":\"EventRinging\",\"site\":\"S\"} x").expect_err("trailing");
        assert!(trailing.to_string().starts_with("trailing text after the event: "), "{trailing}");
        for error in [&field, &malformed, &trailing] {
            let cause = std::error::Error::source(error).expect("serde's error is the cause");
            assert!(cause.is::<serde_json::Error>(), "{cause:?}");
        }
    }
}
