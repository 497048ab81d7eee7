//! One SIP message as SIP Server logs it: a `Sending`/`Received` line, the start line, the
//! headers up to a blank line, then a body (SDP) up to the next clocked line.
//!
//! Only what tells a call's story is kept: the method or status, the Call-ID, the CSeq
//! method, the users of the Request-URI, From, To and Refer-To, whether To has a tag, the
//! Reason header and X-Genesys-CallUUID. Headers may use their compact forms (RFC 3261
//! §7.3.3) and any case.

use crate::bytes::split_around;
use crate::Text;

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartLine {
    Request { method: Text, uri_user: Option<Text> },
    Response { status: u16, text: Text },
}

/// A SIP message, as far as the reader needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SipMessage {
    /// Sent by SIP Server (`>>>>>`), as opposed to received by it (`<<<<<`).
    pub outgoing: bool,
    /// The line of the `Sending` / `Received` line.
    pub line: u64,
    pub clock: i64,
    pub start: Option<StartLine>,
    pub call_id: Option<Text>,
    pub cseq_method: Option<Text>,
    pub from_user: Option<Text>,
    pub to_user: Option<Text>,
    pub to_tag: bool,
    pub refer_to_user: Option<Text>,
    pub reason: Option<Text>,
    pub genesys_call_uuid: Option<Text>,
}

/// Where in a message the next line belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    StartLine,
    Headers,
    Body,
}

/// A message being read, line by line.
#[derive(Debug)]
pub(crate) struct MessageBuilder {
    pub message: SipMessage,
    pub phase: Phase,
    /// The text was not all UTF-8 (kept with U+FFFD).
    pub lossy: bool,
}

impl MessageBuilder {
    pub fn new(outgoing: bool, line: u64, clock: i64) -> MessageBuilder {
        let message = SipMessage {
            outgoing,
            line,
            clock,
            start: None,
            call_id: None,
            cseq_method: None,
            from_user: None,
            to_user: None,
            to_tag: false,
            refer_to_user: None,
            reason: None,
            genesys_call_uuid: None,
        };
        MessageBuilder { message, phase: Phase::StartLine, lossy: false }
    }

    /// Takes one line of the message (not its `Sending`/`Received` line, not a clocked line).
    pub fn feed(&mut self, line: &[u8]) {
        match self.phase {
            Phase::StartLine => {
                if line.trim_ascii().is_empty() {
                    return;
                }
                self.message.start = start_line(line, &mut self.lossy);
                self.phase = Phase::Headers;
            }
            Phase::Headers if line.trim_ascii().is_empty() => self.phase = Phase::Body,
            Phase::Headers => self.header(line),
            Phase::Body => {}
        }
    }

    fn header(&mut self, line: &[u8]) {
        let Some((name, value)) = memchr::memchr(b':', line).and_then(|colon| split_around(line, colon, 1))
        else {
            return;
        };
        let (name, value) = (name.trim_ascii(), value.trim_ascii());
        let message = &mut self.message;
        let lossy = &mut self.lossy;
        match canonical_name(name) {
            Some(Header::CallId) => message.call_id = Some(text(value, lossy)),
            Some(Header::CSeq) => {
                let method = value.rsplit(|byte| *byte == b' ').next().unwrap_or_default();
                message.cseq_method = Some(text(method, lossy));
            }
            Some(Header::From) => message.from_user = uri_user(value).map(|user| text(user, lossy)),
            Some(Header::To) => {
                message.to_user = uri_user(value).map(|user| text(user, lossy));
                message.to_tag = has_tag(value);
            }
            Some(Header::ReferTo) => message.refer_to_user = uri_user(value).map(|user| text(user, lossy)),
            Some(Header::Reason) if message.reason.is_none() => message.reason = Some(text(value, lossy)),
            Some(Header::GenesysCallUuid) => message.genesys_call_uuid = Some(text(value, lossy)),
            _ => {}
        }
    }

    pub fn finish(self) -> SipMessage {
        self.message
    }
}

enum Header {
    CallId,
    CSeq,
    From,
    To,
    ReferTo,
    Reason,
    GenesysCallUuid,
}

fn canonical_name(name: &[u8]) -> Option<Header> {
    let is = |long: &str| name.eq_ignore_ascii_case(long.as_bytes());
    Some(match name {
        _ if is("Call-ID") || is("i") => Header::CallId,
        _ if is("CSeq") => Header::CSeq,
        _ if is("From") || is("f") => Header::From,
        _ if is("To") || is("t") => Header::To,
        _ if is("Refer-To") || is("r") => Header::ReferTo,
        _ if is("Reason") => Header::Reason,
        _ if is("X-Genesys-CallUUID") => Header::GenesysCallUuid,
        _ => return None,
    })
}

/// `INVITE sip:1003@192.168.210.81:5090 SIP/2.0` or `SIP/2.0 403 Forbidden`.
fn start_line(line: &[u8], lossy: &mut bool) -> Option<StartLine> {
    let line = line.trim_ascii();
    if let Some(rest) = line.strip_prefix(b"SIP/2.0 ") {
        let digits = rest.split(|byte| !byte.is_ascii_digit()).next().unwrap_or_default();
        let status = std::str::from_utf8(digits).ok()?.parse::<u16>().ok()?;
        return Some(StartLine::Response { status, text: text(rest, lossy) });
    }
    let (method, target) = split_around(line, memchr::memchr(b' ', line)?, 1)?;
    if method.is_empty() || !method.iter().all(|byte| byte.is_ascii_uppercase() || *byte == b'-') {
        return None;
    }
    let uri_user = uri_user(target).map(|user| text(user, lossy));
    Some(StartLine::Request { method: text(method, lossy), uri_user })
}

/// The user part of the first SIP URI in a header value or Request-URI:
/// `"Agent" <sip:1002@host>;tag=x` → `1002`; `sip:192.168.210.54:5061` → none.
pub(crate) fn uri_user(value: &[u8]) -> Option<&[u8]> {
    let start = ["sip:", "sips:", "tel:"]
        .iter()
        .filter_map(|scheme| find_ignore_case(value, scheme.as_bytes()).map(|at| at + scheme.len()))
        .min()?;
    let (before, rest) = value.split_at_checked(start)?;
    let uri = rest.split(|byte| matches!(byte, b'>' | b';' | b' ' | b',' | b'?')).next()?;
    let user = match memchr::memchr(b'@', uri) {
        Some(at) => uri.get(..at)?,
        None if before.ends_with(b"tel:") => uri,
        None => return None,
    };
    (!user.is_empty()).then_some(user)
}

/// A `;tag=` parameter outside the URI's angle brackets.
fn has_tag(value: &[u8]) -> bool {
    let params = memchr::memchr(b'>', value).and_then(|close| value.get(close..)).unwrap_or(value);
    find_ignore_case(params, b";tag=").is_some()
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window.eq_ignore_ascii_case(needle))
}

fn text(bytes: &[u8], lossy: &mut bool) -> Text {
    match std::str::from_utf8(bytes) {
        Ok(text) => Text::from(text),
        Err(_) => {
            *lossy = true;
            Text::from(String::from_utf8_lossy(bytes).as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> SipMessage {
        let mut builder = MessageBuilder::new(false, 1, 0);
        for line in lines {
            builder.feed(line.as_bytes());
        }
        builder.finish()
    }

    #[test]
    fn a_rejection_gives_status_reason_and_users() {
        let message = read(&[
            "SIP/2.0 403 Forbidden",
            "Call-ID: 640476ED-F320-46F0-975D-6290F4CB29F6-4@192.168.210.81",
            "From: <sip:1003@192.168.210.81>;tag=A2BB77D7-EABF-4274-8BD4-6D98F1BD8715-7",
            "To: <sip:1002@192.168.210.81>;tag=e8b8ae22-eb36-4e65-90cd-abd725832248",
            "CSeq: 1 INVITE",
            "Reason: Q.850;cause=21",
            "P-Asserted-Identity: \"Agent 1002\" <sip:1002@192.168.210.81>",
            "",
        ]);
        assert_eq!(
            message.start,
            Some(StartLine::Response { status: 403, text: Text::from("403 Forbidden") })
        );
        assert_eq!(message.call_id.as_deref(), Some("640476ED-F320-46F0-975D-6290F4CB29F6-4@192.168.210.81"));
        assert_eq!(message.cseq_method.as_deref(), Some("INVITE"));
        assert_eq!((message.from_user.as_deref(), message.to_user.as_deref()), (Some("1003"), Some("1002")));
        assert!(message.to_tag);
        assert_eq!(message.reason.as_deref(), Some("Q.850;cause=21"));
    }

    #[test]
    fn a_request_gives_method_uri_user_and_genesys_call_uuid() {
        let message = read(&[
            "INVITE sip:1003@192.168.210.81:5090 SIP/2.0",
            "f: sip:1002@192.168.210.81;tag=A2BB77D7-6",
            "t: sip:1003@192.168.210.81:5060",
            "i: 640476ED-3@192.168.210.81",
            "x-genesys-calluuid: TTL7J9EM750GP936CFL0EOACN8000001",
            "",
            "v=0",
        ]);
        assert_eq!(
            message.start,
            Some(StartLine::Request { method: Text::from("INVITE"), uri_user: Some(Text::from("1003")) })
        );
        assert!(!message.to_tag);
        assert_eq!(message.genesys_call_uuid.as_deref(), Some("TTL7J9EM750GP936CFL0EOACN8000001"));
    }

    #[test]
    fn uri_users() {
        assert_eq!(uri_user(b"\"Agent 1002\" <sip:1002@192.168.210.81>;tag=x"), Some(&b"1002"[..]));
        assert_eq!(uri_user(b"sip:192.168.210.54:5061"), None);
        assert_eq!(uri_user(b"<tel:+14155550100>"), Some(&b"+14155550100"[..]));
        assert_eq!(uri_user(b"<SIP:5000@sips.example>"), Some(&b"5000"[..]));
        assert_eq!(uri_user(b"nothing here"), None);
        assert_eq!(uri_user(b"sip:@host"), None);
    }
}
