//! Which reader a file needs, from its first bytes: T-Library event records, the SIP layer
//! of a SIP Server log that has none, JSON lines, or nothing callstitch can read.
//!
//! The decision counts its evidence in the head of the input ([`SNIFF_BYTES`]) and keeps the
//! counts, so that a tool can say what it chose and why. T-Library records win over SIP-layer
//! evidence: a SIP Server log with both is read by the T-Library reader, which skips the SIP
//! traffic as other server output. A SIP-layer file that shows T-Library records only after
//! its head is read as SIP layer; the SIP-layer reader counts the records it skips
//! (`tlib-record-skipped`), so the mistake is visible.

use std::fmt;

/// How much of an input the detection reads: enough for a SIP Server's start-up dump and
/// the first calls after it.
pub const SNIFF_BYTES: usize = 1 << 20;

/// The reader an input needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
    /// T-Library event or request records: [`crate::tlog::LogReader`].
    TLibrary,
    /// No T-Library records, but SIP Server CTI markers, CallUUID lines or SIP messages:
    /// [`crate::siplog::SipLogReader`].
    SipLayer,
    /// One JSON object per line: [`crate::json::JsonLinesReader`].
    JsonLines,
    /// None of these.
    Unreadable,
}

impl InputFormat {
    /// How a tool names the choice.
    pub fn label(self) -> &'static str {
        match self {
            InputFormat::TLibrary => "T-Library events",
            InputFormat::SipLayer => "SIP layer only",
            InputFormat::JsonLines => "JSON lines",
            InputFormat::Unreadable => "nothing callstitch can read",
        }
    }

    /// The machine name (JSON).
    pub fn slug(self) -> &'static str {
        match self {
            InputFormat::TLibrary => "t-library",
            InputFormat::SipLayer => "sip-layer",
            InputFormat::JsonLines => "json-lines",
            InputFormat::Unreadable => "unreadable",
        }
    }
}

/// The decision and the evidence it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    pub format: InputFormat,
    /// `@... message EventX` event lines, `message RequestX` lines and `Trc 04541` request
    /// traces.
    pub tlib_records: u64,
    /// `$*:SIP:CTI:` markers of SIP Server's call model (CALL_CREATED, PARTY_STATE_CHANGED, ...).
    pub cti_markers: u64,
    /// `CID:CUUID>` lines (a SIP dialog's Call-ID and its CallUUID).
    pub call_uuid_lines: u64,
    /// SIP messages sent or received (`Sending  [..] >>>>>`, `SIPTR: Received [..] <<<<<`).
    pub sip_messages: u64,
    /// Lines and bytes examined.
    pub lines: u64,
    pub bytes: u64,
    /// The whole input was examined (it is shorter than the head).
    pub whole: bool,
}

impl Detection {
    fn sip_evidence(&self) -> u64 {
        self.cti_markers + self.call_uuid_lines + self.sip_messages
    }
}

impl fmt::Display for Detection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let span = if self.whole {
            "in the whole input".to_string()
        } else {
            format!("in its first {} KiB", self.bytes / 1024)
        };
        match self.format {
            InputFormat::JsonLines => write!(f, "{}", self.format.label()),
            InputFormat::TLibrary => {
                write!(f, "{} ({} T-Library event records {span})", self.format.label(), self.tlib_records)
            }
            InputFormat::SipLayer | InputFormat::Unreadable => write!(
                f,
                "{} (no T-Library event records; {} SIP Server CTI markers, {} CallUUID lines, {} SIP messages {span})",
                self.format.label(),
                self.cti_markers,
                self.call_uuid_lines,
                self.sip_messages
            ),
        }
    }
}

/// Looks at the head of an input. `whole` says the head is all of it.
pub fn detect(head: &[u8], whole: bool) -> Detection {
    let mut detection = Detection {
        format: InputFormat::Unreadable,
        tlib_records: 0,
        cti_markers: 0,
        call_uuid_lines: 0,
        sip_messages: 0,
        lines: 0,
        bytes: head.len() as u64,
        whole,
    };
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{') {
        detection.format = InputFormat::JsonLines;
        return detection;
    }
    for line in body.split(|byte| *byte == b'\n') {
        detection.lines += 1;
        count_line(line, &mut detection);
    }
    if !whole && head.last() != Some(&b'\n') {
        detection.lines = detection.lines.saturating_sub(1);
    }
    detection.format = if detection.tlib_records > 0 {
        InputFormat::TLibrary
    } else if detection.sip_evidence() > 0 {
        InputFormat::SipLayer
    } else {
        InputFormat::Unreadable
    };
    detection
}

fn count_line(line: &[u8], detection: &mut Detection) {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if is_tlib_record(line) {
        detection.tlib_records += 1;
        return;
    }
    // SIP Server lines start with their clock, `HH:MM:SS.mmm: `; the marker follows.
    let Some(rest) = line.get(12..) else { return };
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    if rest.starts_with(b"$*:SIP:CTI:") {
        detection.cti_markers += 1;
    } else if rest.starts_with(b"CID:CUUID>") {
        detection.call_uuid_lines += 1;
    } else if rest.starts_with(b"SIPTR: Received [") || rest.starts_with(b"Sending  [") {
        detection.sip_messages += 1;
    }
}

/// A T-Library event line, request line or request trace.
pub(crate) fn is_tlib_record(line: &[u8]) -> bool {
    if line.starts_with(b"message Event") || line.starts_with(b"message Request") {
        return true;
    }
    if line.first() == Some(&b'@') {
        return memchr::memmem::find(line, b" message Event").is_some()
            || memchr::memmem::find(line, b" message Request").is_some()
            || memchr::memmem::find(line, b" message ISCC").is_some();
    }
    memchr::memmem::find(line, b"Trc 04541 ").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_library_records_win_over_sip_traffic() {
        let log = b"Application name: SIP_P\n\
            13:56:06.078: $*:SIP:CTI:CALL_CREATED:1\n\
            @13:56:06.0780 [0] 8.1.103.74 distribute_event: message EventDialing\n\
            \tAttributeThisDN\t'1003'\n";
        let detection = detect(log, true);
        assert_eq!(detection.format, InputFormat::TLibrary);
        assert_eq!((detection.tlib_records, detection.cti_markers), (1, 1));
    }

    #[test]
    fn sip_server_markers_without_records_are_the_sip_layer() {
        let log = b"13:56:06.078: $*:SIP:CTI:CALL_CREATED:1\n\
            13:56:06.079: CID:CUUID>6404-3@192.168.210.81:TTL7J9EM750GP936CFL0EOACN8000001:\n\
            13:56:06.081: SIPTR: Received [0,UDP] 492 bytes from 192.168.210.81:5090 <<<<<\n\
            SIP/2.0 180 Ringing\n";
        let detection = detect(log, true);
        assert_eq!(detection.format, InputFormat::SipLayer);
        assert_eq!((detection.cti_markers, detection.call_uuid_lines, detection.sip_messages), (1, 1, 1));
        assert!(detection
            .to_string()
            .starts_with("SIP layer only (no T-Library event records; 1 SIP Server CTI markers"));
    }

    #[test]
    fn json_lines_and_nothing() {
        assert_eq!(
            detect(b"\xEF\xBB\xBF  {\"message\":\"EventRinging\"}\n", true).format,
            InputFormat::JsonLines
        );
        assert_eq!(detect(b"hello\nworld\n", true).format, InputFormat::Unreadable);
        assert_eq!(detect(b"", true).format, InputFormat::Unreadable);
        assert_eq!(
            detect(b"2026-02-02T13:56:06.078 Trc 04541 RequestMakeCall received from [16]\n", true).format,
            InputFormat::TLibrary
        );
    }
}
