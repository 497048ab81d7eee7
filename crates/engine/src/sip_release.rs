//! The `sip` rung of the release ladder (docs/engine.md): who ended a call rebuilt from the
//! SIP layer of a SIP Server log, from the first SIP signal that ended it.
//!
//! The SIP-layer reader writes that signal ([`SipEnd`]) into the EventCallPartyDeleted and
//! EventCallDeleted it rebuilds: a BYE, CANCEL, REFER or final error response sent by a
//! party's endpoint names that party; SIP Server sending the first BYE or CANCEL itself is the
//! network (after one of its timers, or for a reason the log does not give) or a client
//! application (while it handled a client's request). The rung ranks below every T-Library
//! rung; the engine's own guess, `inferred-order`, is not made for SIP-layer calls, whose
//! PARTY_DELETED markers come in SIP Server's clean-up order, not in the order of release.

use callstitch_tlib::{SipEnd, SipEndKind};

use crate::call::Call;
use crate::event_ref::EventRef;
use crate::party::Party;
use crate::release::{Ladder, Reading, Releaser};

/// The releaser a SIP end names; `None` when a party's endpoint sent it but its DN is unknown.
fn releaser(end: &SipEnd) -> Option<Releaser> {
    if end.kind.is_from_party() {
        return end.by.clone().map(Releaser::Dn);
    }
    Some(match end.kind {
        SipEndKind::Request => Releaser::Application,
        _ => Releaser::Network,
    })
}

fn reading<'a>((end, event): &'a (SipEnd, EventRef)) -> Option<Reading<'a>> {
    Some(Reading::new(releaser(end)?, [Some(event), None]))
}

/// The call's SIP end: its EventCallDeleted's, else that of the party that left last.
pub(crate) fn call_end(call: &Call) -> Option<&(SipEnd, EventRef)> {
    if let Some(end) = call.sip_end.as_deref() {
        return Some(end);
    }
    call.parties
        .iter()
        .filter(|party| party.evidence.sip_end.is_some())
        .max_by_key(|party| party.evidence.close_order)
        .and_then(|party| party.evidence.sip_end.as_deref())
}

/// The call verdict's `sip` rung (a row of release::CALL_LADDER).
pub(crate) fn call_reading<'a>(ladder: &Ladder<'a>) -> Option<Reading<'a>> {
    reading(call_end(ladder.call)?)
}

/// A party verdict's `sip` rung: what ended its own part, else what ended the call.
pub(crate) fn party_reading<'a>(ladder: &Ladder<'a>, party: &'a Party) -> Option<Reading<'a>> {
    reading(party.evidence.sip_end.as_deref().or_else(|| call_end(ladder.call))?)
}
