//! Writes events in the T-Server log format, so that [`super::LogReader`] reads them back
//! as the same events.
//!
//! The simulator and the tests write logs with it. What the format cannot express is
//! documented on [`LogWriter::write_event`].

use std::io::{self, Write};

use crate::attrs::{Typed, TYPED};
use crate::enums::{Coded, Context};
use crate::event::{Event, IsLink, RawAttribute};
use crate::ids::LocalTime;
use crate::kv::{KvList, Value};
use crate::tlog::header::Header;
use crate::Text;

/// Extra indentation, in tabs, of the pairs of a nested list (the seed's layout).
const NESTED_INDENT: usize = 3;

/// Writes a log: headers, then event blocks separated by blank lines.
pub struct LogWriter<W> {
    out: W,
    /// Lines written so far.
    lines: u64,
}

impl<W: Write> LogWriter<W> {
    pub fn new(out: W) -> LogWriter<W> {
        LogWriter { out, lines: 0 }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// The output written to.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    fn line(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        Ok(())
    }

    /// Writes text that is not an event (other server output), counting its lines.
    pub fn write_raw(&mut self, text: &[u8]) -> io::Result<()> {
        self.out.write_all(text)?;
        self.lines += memchr::memchr_iter(b'\n', text).count() as u64;
        Ok(())
    }

    /// Writes a header block (and the blank line after it).
    pub fn write_header(&mut self, header: &Header) -> io::Result<()> {
        let text_rows = [
            ("Application name", &header.application_name),
            ("Application type", &header.application_type),
            ("Host name", &header.host_name),
            ("Time zone", &header.time_zone),
        ];
        for (key, value) in text_rows {
            if let Some(value) = value {
                self.line(&format!("{key}: {}", one_line(value)))?;
            }
        }
        for (key, value) in [("UTC time", header.utc_time), ("Local time", header.local_time)] {
            if let Some(value) = value {
                self.line(&format!("{key}: {}", value.clock_text()))?;
            }
        }
        if let Some(file) = &header.file {
            self.line(&format!("File: {}", one_line(file)))?;
        }
        self.line("")
    }

    /// Writes one event block and the blank line after it; returns the line number (1-based)
    /// of the block's first line, which is what the reader reports as the event's line.
    ///
    /// The format cannot express: an `@` event line without a clock (such an event of a
    /// logged context is written as a bare `message` line, losing the context), a request
    /// sent with no peer, line breaks inside values (written as spaces), and the `incomplete`
    /// flag (a written block is whole).
    pub fn write_event(&mut self, event: &Event) -> io::Result<u64> {
        let first_line = self.write_event_line(event)?;
        for typed in TYPED {
            self.write_typed(event, *typed)?;
        }
        for RawAttribute { name, value } in &event.other {
            self.write_attribute(name, value)?;
        }
        self.line("")?;
        Ok(first_line)
    }

    fn write_event_line(&mut self, event: &Event) -> io::Result<u64> {
        let name = event.message.name();
        let peer = event.peer.as_deref().map(one_line).unwrap_or_default();
        if event.context == Context::RequestReceived {
            let clock = match &event.clock {
                Some(clock @ LocalTime { date: Some(_), .. }) => format!("{} ", clock.clock_text()),
                _ => String::new(),
            };
            self.line(format!("{clock}Trc 04541 {name} received from {peer}").trim_end())?;
            self.line(&format!("message {name}"))?;
            return Ok(self.lines);
        }
        let Some(clock) = &event.clock else {
            match event.context {
                Context::RequestSent => self.line(&format!("request to {peer} message {name}"))?,
                _ => self.line(&format!("message {name}"))?,
            }
            return Ok(self.lines);
        };
        let clock = LocalTime { date: None, ..*clock }.clock_text();
        let bracket = if event.bsync { "BSYNC" } else { "0" };
        let version =
            event.server_version.as_deref().map(|v| format!("{} ", one_line(v))).unwrap_or_default();
        let context = match &event.context {
            Context::RequestSent => format!("request to {peer} "),
            Context::Unspecified => String::new(),
            other => format!("{}: ", one_line(other.as_str())),
        };
        self.line(&format!("@{clock} [{bracket}] {version}{context}message {name}"))?;
        Ok(self.lines)
    }

    fn write_typed(&mut self, event: &Event, typed: Typed) -> io::Result<()> {
        let name = typed.name();
        let value = match typed {
            Typed::ConnId(field) => (field.get)(event).map(|id| id.to_string()),
            Typed::CallUuid(field) => (field.get)(event).as_ref().map(|uuid| quoted(uuid.as_str())),
            Typed::Text(field) => (field.get)(event).as_ref().map(|text| quoted(text)),
            Typed::Role(field) => (field.get)(event).as_ref().map(|role| role.code().to_string()),
            Typed::HexCounter(field) => (field.get)(event).map(|value| format!("{value:016x}")),
            Typed::Decimal(field) => (field.get)(event).map(|value| value.to_string()),
            Typed::Timestamp(field) => {
                (field.get)(event).map(|stamp| stamp.to_tlib_hex().unwrap_or_else(|| stamp.to_string()))
            }
            Typed::CallType(field) => (field.get)(event).as_ref().map(|value| value.code().to_string()),
            Typed::CallState(field) => (field.get)(event).as_ref().map(|value| value.code().to_string()),
            Typed::PartyState(field) => (field.get)(event).map(|state| state.0.to_string()),
            Typed::List(field) => {
                if let Some(list) = (field.get)(event) {
                    self.write_list_attribute(name, list)?;
                }
                return Ok(());
            }
            Typed::IsLinks(field) => {
                if let Some(links) = (field.get)(event) {
                    self.write_list_attribute(name, &links_as_list(links))?;
                }
                return Ok(());
            }
        };
        match value {
            Some(value) => self.line(&format!("\t{name}\t{value}")),
            None => Ok(()),
        }
    }

    fn write_attribute(&mut self, name: &str, value: &Value) -> io::Result<()> {
        match value {
            Value::List(list) => self.write_list_attribute(name, list),
            scalar => self.line(&format!("\t{}\t{}", one_line(name), scalar_text(scalar))),
        }
    }

    fn write_list_attribute(&mut self, name: &str, list: &KvList) -> io::Result<()> {
        let count = list.len().min(usize::from(u16::MAX));
        let size = encoded_size(list);
        self.line(&format!(
            "\t{}\t[{size}] {:02x} {:02x} 00 00..",
            one_line(name),
            count >> 8,
            count & 0xff
        ))?;
        self.write_pairs(list, 2)
    }

    fn write_pairs(&mut self, list: &KvList, indent: usize) -> io::Result<()> {
        for pair in list.iter() {
            let mut text = "\t".repeat(indent);
            text.push_str(&quoted(&pair.key));
            text.push('\t');
            self.write_pair_value(text, &pair.value, indent)?;
        }
        Ok(())
    }

    /// Finishes a pair line that already holds its indentation and key.
    fn write_pair_value(&mut self, mut text: String, value: &Value, indent: usize) -> io::Result<()> {
        let Value::List(inner) = value else {
            text.push_str(&scalar_text(value));
            return self.line(&text);
        };
        text.push_str("(list)");
        // The seed puts a nested list's first pair on the opening line; a first pair that is
        // itself a list goes on its own line so that the indentation stays unambiguous.
        match inner.0.first() {
            Some(first) if !matches!(first.value, Value::List(_)) => {
                text.push(' ');
                text.push_str(&quoted(&first.key));
                text.push('\t');
                text.push_str(&scalar_text(&first.value));
                self.line(&text)?;
                self.write_pairs(
                    &KvList(inner.0.get(1..).unwrap_or_default().to_vec()),
                    indent + NESTED_INDENT,
                )
            }
            _ => {
                self.line(&text)?;
                self.write_pairs(inner, indent + NESTED_INDENT)
            }
        }
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Str(text) => quoted(text),
        Value::Int(number) => number.to_string(),
        Value::Bare(text) => one_line(text).into_owned(),
        Value::List(_) => String::from("(list)"),
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", one_line(text))
}

fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\n', '\r']) {
        std::borrow::Cow::Owned(text.replace(['\n', '\r'], " "))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A rough byte size of the list's T-Library encoding, for the `[n]` of its header line
/// (readers do not use it).
fn encoded_size(list: &KvList) -> usize {
    4 + list
        .iter()
        .map(|pair| {
            let value = match &pair.value {
                Value::List(inner) => encoded_size(inner),
                other => scalar_text(other).len(),
            };
            pair.key.len() + value + 6
        })
        .sum::<usize>()
}

/// The ISLinkList as the key-value list a log prints.
pub(crate) fn links_as_list(links: &[IsLink]) -> KvList {
    let mut list = KvList::new();
    for link in links {
        let mut fields = KvList::new();
        if let Some(location) = &link.location_name {
            fields.push("location-name", Value::Str(location.clone()));
        }
        if let Some(role) = &link.direction_role {
            fields.push("direction-role", Value::Str(Text::from(role.as_str())));
        }
        fields.0.extend(link.extra.0.iter().cloned());
        list.push(&link.id, Value::List(fields));
    }
    list
}
