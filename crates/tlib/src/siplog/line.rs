//! The line shapes of a SIP Server log that the SIP-layer reader uses, read without state.
//!
//! A SIP Server line starts with its local clock, `HH:MM:SS.mmm`, then `: ` (most lines) or
//! a space (`SIPCONN(...)` and `SIPPARTY(...)` traces). [`split_clock`] takes the clock off;
//! [`classify`] says what the rest is. Everything else a SIP Server writes (SDP, option
//! dumps, resolver errors, transaction traces) is [`SipLine::Other`].

use crate::bytes::{split_around, split_once};
use crate::ids::{parse_decimal_u64, LocalTime};

/// What one clocked line of a SIP Server log says, as far as the reader is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SipLine<'a> {
    /// `$*:SIP:CTI:CALL_CREATED:1`: a change of SIP Server's call model, with its running
    /// counter.
    Marker { name: &'a [u8], counter: Option<u64> },
    /// `$+CTI:SIP:MAKE_CALL:15:99`: SIP Server starts handling a client's request.
    RequestOpen { name: &'a [u8] },
    /// `$-CTI:SIP:MAKE_CALL:15:1660`: it is done with it.
    RequestClose,
    /// `$+NET:SIP::0:0`: SIP Server starts handling what came in from the network.
    UnitStart,
    /// `Sending  [0,UDP] 612 bytes to 192.168.210.81:5090 >>>>>` (outgoing) or
    /// `SIPTR: Received [0,UDP] 492 bytes from 192.168.210.81:5090 <<<<<`: a SIP message
    /// follows on the next lines.
    MessageStart { outgoing: bool, peer: &'a [u8] },
    /// `CID:CUUID><SIP Call-ID>:<CallUUID>:`.
    CallUuid { call_id: &'a [u8], call_uuid: &'a [u8] },
    /// `SIPCALL(16777217): add party '1003'`.
    AddParty { call: u64, dn: &'a [u8] },
    /// `SIPCALL(16777217): delete party '1003'`.
    DeleteParty { call: u64, dn: &'a [u8] },
    /// `CALLSTATE: empty, delete the call 16777217`.
    CallEmpty { call: u64 },
    /// Any other line naming a SIP Server call: `SIPCALL(n): ...`, `DialPlan: ... callId n`.
    CallMention { call: u64 },
    /// `SIPPARTY(1003): ChangePartyState: new=1`.
    PartyState { dn: &'a [u8], code: u64 },
    /// `SIPPARTY(1002): Set Origination Info DN - 1003 ; Location - SIP_Switch for party 1002`.
    Origination { dn: &'a [u8], origin: &'a [u8], location: &'a [u8] },
    /// Any other `SIPPARTY(dn)` or `SIPCONN(dn)` trace: the party being worked on.
    PartyMention { dn: &'a [u8] },
    /// `SipDialog: event CONNECTED_TIMEOUT_CT, t=29, ...`: the next `CID:CUUID>` line names
    /// the dialog.
    DialogEvent { name: &'a [u8] },
    /// Anything else.
    Other,
}

/// Splits `HH:MM:SS.mmm: rest` (or `HH:MM:SS.mmm rest`) into the clock (microseconds of the
/// day) and the rest.
pub(crate) fn split_clock(line: &[u8]) -> Option<(i64, &[u8])> {
    let [first, _, b':', ..] = line else { return None };
    if line.len() < 8 || !first.is_ascii_digit() {
        return None;
    }
    let end = line.iter().position(|byte| *byte == b' ').unwrap_or(line.len());
    let (token, rest) = line.split_at_checked(end)?;
    let token = token.strip_suffix(b":").unwrap_or(token);
    let micros = LocalTime::parse_clock(token)?;
    Some((micros, rest.get(1..).unwrap_or_default()))
}

/// What the rest of a clocked line is.
pub(crate) fn classify(rest: &[u8]) -> SipLine<'_> {
    match rest.first() {
        Some(b'$') => marker(rest),
        Some(b'S') => s_line(rest),
        Some(b'C') => c_line(rest),
        Some(b'D') => dial_plan(rest),
        _ => None,
    }
    .unwrap_or(SipLine::Other)
}

fn marker(rest: &[u8]) -> Option<SipLine<'_>> {
    if let Some(body) = rest.strip_prefix(b"$*:SIP:CTI:") {
        let (name, counter) = match memchr::memchr(b':', body).and_then(|colon| split_around(body, colon, 1))
        {
            Some((name, counter)) => (name, parse_decimal_u64(counter.trim_ascii())),
            None => (body.trim_ascii(), None),
        };
        return (!name.is_empty()).then_some(SipLine::Marker { name, counter });
    }
    if let Some(body) = rest.strip_prefix(b"$+CTI:SIP:") {
        let name = memchr::memchr(b':', body).and_then(|end| body.get(..end)).unwrap_or(body);
        return Some(SipLine::RequestOpen { name });
    }
    if rest.starts_with(b"$+NET:") {
        return Some(SipLine::UnitStart);
    }
    rest.starts_with(b"$-CTI:SIP:").then_some(SipLine::RequestClose)
}

fn s_line(rest: &[u8]) -> Option<SipLine<'_>> {
    if let Some(body) = rest.strip_prefix(b"Sending  [") {
        return message_start(body, true, b" bytes to ");
    }
    if let Some(body) = rest.strip_prefix(b"SIPTR: Received [") {
        return message_start(body, false, b" bytes from ");
    }
    if let Some(body) = rest.strip_prefix(b"SIPCALL(") {
        return sip_call(body);
    }
    if let Some(body) = rest.strip_prefix(b"SIPPARTY(") {
        return sip_party(body);
    }
    if let Some(body) = rest.strip_prefix(b"SIPCONN(") {
        let (dn, _) = parenthesised(body)?;
        return Some(SipLine::PartyMention { dn });
    }
    let name = rest.strip_prefix(b"SipDialog: event ")?;
    let name = name.split(|byte| *byte == b',' || *byte == b' ').next()?;
    Some(SipLine::DialogEvent { name })
}

fn message_start<'a>(body: &'a [u8], outgoing: bool, to_or_from: &[u8]) -> Option<SipLine<'a>> {
    let (_, peer) = split_once(body, to_or_from)?;
    let peer = peer.split(|byte| *byte == b' ').next()?;
    Some(SipLine::MessageStart { outgoing, peer })
}

fn sip_call(body: &[u8]) -> Option<SipLine<'_>> {
    let (id, rest) = parenthesised(body)?;
    let call = parse_decimal_u64(id)?;
    let rest = rest.strip_prefix(b": ").unwrap_or(rest);
    if let Some(dn) = rest.strip_prefix(b"add party ").and_then(quoted) {
        return Some(SipLine::AddParty { call, dn });
    }
    if let Some(dn) = rest.strip_prefix(b"delete party ").and_then(quoted) {
        return Some(SipLine::DeleteParty { call, dn });
    }
    Some(SipLine::CallMention { call })
}

fn sip_party(body: &[u8]) -> Option<SipLine<'_>> {
    let (dn, rest) = parenthesised(body)?;
    let rest = rest.strip_prefix(b": ").unwrap_or(rest);
    if let Some(code) = rest.strip_prefix(b"ChangePartyState: new=") {
        let digits = code.split(|byte| !byte.is_ascii_digit()).next().unwrap_or_default();
        return Some(match parse_decimal_u64(digits) {
            Some(code) => SipLine::PartyState { dn, code },
            None => SipLine::PartyMention { dn },
        });
    }
    if let Some(info) = rest.strip_prefix(b"Set Origination Info DN - ") {
        let (origin, location) = split_once(info, b" ; Location - ")?;
        let location = split_once(location, b" for party ").map_or(location, |(location, _)| location);
        return Some(SipLine::Origination {
            dn,
            origin: origin.trim_ascii(),
            location: location.trim_ascii(),
        });
    }
    Some(SipLine::PartyMention { dn })
}

fn c_line(rest: &[u8]) -> Option<SipLine<'_>> {
    if let Some(body) = rest.strip_prefix(b"CID:CUUID>") {
        let body = body.trim_ascii();
        let body = body.strip_suffix(b":").unwrap_or(body);
        let (call_id, call_uuid) = split_around(body, memchr::memrchr(b':', body)?, 1)?;
        if call_id.is_empty() || call_uuid.is_empty() {
            return None;
        }
        return Some(SipLine::CallUuid { call_id, call_uuid });
    }
    let id = rest.strip_prefix(b"CALLSTATE: empty, delete the call ")?;
    Some(SipLine::CallEmpty { call: parse_decimal_u64(id.trim_ascii())? })
}

fn dial_plan(rest: &[u8]) -> Option<SipLine<'_>> {
    let body = rest.strip_prefix(b"DialPlan: ")?;
    let (_, after) = split_once(body, b"callId ")?;
    let digits = after.split(|byte| !byte.is_ascii_digit()).next()?;
    Some(SipLine::CallMention { call: parse_decimal_u64(digits)? })
}

/// `name) rest` after an opening parenthesis: the name and what follows the `)`.
fn parenthesised(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let (name, rest) = split_around(body, memchr::memchr(b')', body)?, 1)?;
    (!name.is_empty()).then_some((name, rest))
}

/// `'text'` at the start of `body`.
fn quoted(body: &[u8]) -> Option<&[u8]> {
    let inner = body.strip_prefix(b"'")?;
    inner.get(..memchr::memchr(b'\'', inner)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> SipLine<'_> {
        let (_, rest) = split_clock(text.as_bytes()).expect("clocked");
        classify(rest)
    }

    #[test]
    fn the_fixture_shapes_are_read() {
        assert_eq!(
            line("13:56:06.078: $*:SIP:CTI:CALL_CREATED:1"),
            SipLine::Marker { name: b"CALL_CREATED", counter: Some(1) }
        );
        assert_eq!(
            line("13:56:06.077: $+CTI:SIP:MAKE_CALL:15:99"),
            SipLine::RequestOpen { name: b"MAKE_CALL" }
        );
        assert_eq!(line("13:56:06.079: $-CTI:SIP:MAKE_CALL:15:1660"), SipLine::RequestClose);
        assert_eq!(line("13:54:59.873: $+CTI:PRM:START:1:564"), SipLine::Other);
        assert_eq!(
            line("13:56:06.078: Sending  [0,UDP] 612 bytes to 192.168.210.81:5090 >>>>>"),
            SipLine::MessageStart { outgoing: true, peer: b"192.168.210.81:5090" }
        );
        assert_eq!(
            line("13:56:06.081: SIPTR: Received [0,UDP] 492 bytes from 192.168.210.54:5061 <<<<<"),
            SipLine::MessageStart { outgoing: false, peer: b"192.168.210.54:5061" }
        );
        assert_eq!(
            line("13:56:06.079: CID:CUUID>640476ED-F320-46F0-975D-6290F4CB29F6-3@192.168.210.81:TTL7J9EM750GP936CFL0EOACN8000001:"),
            SipLine::CallUuid {
                call_id: b"640476ED-F320-46F0-975D-6290F4CB29F6-3@192.168.210.81",
                call_uuid: b"TTL7J9EM750GP936CFL0EOACN8000001"
            }
        );
        assert_eq!(
            line("13:56:06.078: SIPCALL(16777217): add party '1003'"),
            SipLine::AddParty { call: 16777217, dn: b"1003" }
        );
        assert_eq!(
            line("13:56:06.113: SIPCALL(16777217): delete party '1002'"),
            SipLine::DeleteParty { call: 16777217, dn: b"1002" }
        );
        assert_eq!(
            line("13:56:06.113: CALLSTATE: empty, delete the call 16777217"),
            SipLine::CallEmpty { call: 16777217 }
        );
        assert_eq!(
            line("13:56:06.077: DialPlan: clear flag 0x100, callId 16777217"),
            SipLine::CallMention { call: 16777217 }
        );
        assert_eq!(
            line("13:56:06.079 SIPPARTY(1003): ChangePartyState: new=1"),
            SipLine::PartyState { dn: b"1003", code: 1 }
        );
        assert_eq!(
            line("13:56:06.078 SIPPARTY(1002): Set Origination Info DN - 1003 ; Location - SIP_Switch for party 1002"),
            SipLine::Origination { dn: b"1002", origin: b"1003", location: b"SIP_Switch" }
        );
        assert_eq!(
            line("13:56:06.078 SIPCONN(1003): set monitor 00000000d1945980"),
            SipLine::PartyMention { dn: b"1003" }
        );
        assert_eq!(
            line("14:04:55.382: SipDialog: event CONNECTED_TIMEOUT_CT, t=29, s=7, r=5"),
            SipLine::DialogEvent { name: b"CONNECTED_TIMEOUT_CT" }
        );
        assert_eq!(line("13:56:06.112: CALLSTATE(a:2,d:0,i:0,e:0,r:0,o:0)"), SipLine::Other);
    }

    #[test]
    fn broken_shapes_are_other_lines_not_panics() {
        for text in [
            "13:56:06.078: $*:SIP:CTI:",
            "13:56:06.078: SIPCALL(abc): add party '1003'",
            "13:56:06.078: CID:CUUID>:",
            "13:56:06.078: CID:CUUID>nocolon",
            "13:56:06.078: SIPPARTY(): ChangePartyState: new=1",
            "13:56:06.078: Sending  [0,UDP] 612 bytes",
            "13:56:06.078: CALLSTATE: empty, delete the call x",
        ] {
            assert_eq!(line(text), SipLine::Other, "{text}");
        }
        assert_eq!(
            line("13:56:06.078: SIPCALL(16777217): add party '1003"),
            SipLine::CallMention { call: 16777217 },
            "a cut party name still names the call"
        );
        assert_eq!(split_clock(b"13:56"), None);
        assert_eq!(split_clock(b"99:56:06.078: x"), None);
        assert_eq!(split_clock(b"13:56:06.078"), Some((50_166_078_000, &b""[..])));
    }
}
