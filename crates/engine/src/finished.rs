//! A finished call: what the engine hands on when a call leaves memory. It carries
//! everything the report, the importer and the cross-site linker need.

use callstitch_tlib::{CallType, CallUuid, ConnId, EventProvenance, IsLink, SipEnd, Text, Timestamp};
use serde::Serialize;

use crate::call::{Call, CallPointer};
use crate::config::DnPlan;
use crate::deviation::{Deviation, DeviationKind, Inference, InferenceKind};
use crate::event_ref::EventRef;
use crate::model::{self, CallModel, Feature, Outcome};
use crate::news::{CallHandle, TransferHistory};
use crate::party::Party;
use crate::release::{self, CallVerdict};
use crate::state::{Exit, PartyState};

callstitch_tlib::labelled_enum! {
    /// Why the call left memory.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum EndReason {
        /// Every party left by release or abandon.
        Released => "released",
        /// EventCallDeleted.
        CallDeleted => "call-deleted",
        /// Merged into another call (consultation completed).
        Merged => "merged",
        /// The last party passed the call on (routed, diverted, transferred away) and nobody
        /// joined within the hand-off grace.
        HandedOff => "handed-off",
        /// No event within the idle timeout: the end was lost. Incomplete.
        IdleTimeout => "idle-timeout",
        /// The input ended with the call still live. Incomplete.
        EndOfInput => "end-of-input",
    }
}

impl EndReason {
    fn is_complete(self) -> bool {
        !matches!(self, EndReason::IdleTimeout | EndReason::EndOfInput)
    }
}

/// A call that has left the engine.
#[derive(Debug, Clone, Serialize)]
pub struct FinishedCall {
    /// The handle its news was told under ([`crate::news`]).
    #[serde(skip)]
    pub handle: CallHandle,
    /// Its site's clock when it finished (µs; [`crate::clock`]): what waits after the end of
    /// the call are counted from, whatever the call's own time stamps say.
    #[serde(skip)]
    pub clock: i64,
    pub site: Text,
    /// The server's CallUUID, when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<CallUuid>,
    /// The call's key on its site: the CallUUID, or `~<first ConnID>-<serial>` when the server
    /// never sent one.
    pub key: String,
    /// Every ConnID the call had, in the order seen.
    pub conn_ids: Vec<ConnId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ani: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnis: Option<Text>,
    pub model: CallModel,
    pub features: Vec<Feature>,
    /// No deviation was recorded.
    pub conformant: bool,
    pub deviations: Vec<Deviation>,
    pub inferences: Vec<Inference>,
    pub outcome: Outcome,
    pub release: CallVerdict,
    /// `sip-layer` when the call was rebuilt from the SIP layer of a SIP Server log (its
    /// events had no T-Library records): no IS-Link or T-Library attribute can be expected
    /// of it. Left out of JSON for T-Library calls.
    #[serde(skip_serializing_if = "EventProvenance::is_t_library")]
    pub provenance: EventProvenance,
    /// What the SIP layer says ended the call (SIP-layer calls): the signal, who sent it, the
    /// status or timer, the Reason header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_end: Option<SipEnd>,
    pub parties: Vec<Party>,
    /// OtherDNs named by the call's events that never had events of their own.
    pub other_dns: Vec<Text>,
    pub complete: bool,
    pub end_reason: EndReason,
    /// CTI link loss touched the call.
    pub uncertain: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Timestamp>,
    pub event_count: u32,
    /// For a consultation: the main call it was made from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consult_of: Option<CallPointer>,
    /// For a call merged into another (two-step completion, RefCallUUID): the survivor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<CallPointer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orig_call_uuid: Option<CallUuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ref_call_uuid: Option<CallUuid>,
    /// Inter-Site Links seen on the call (union of every ISLinkList snapshot).
    pub is_links: Vec<IsLink>,
    /// ISCC call history, when the call came from another site that way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<TransferHistory>,
    /// Events about the call that moved no party, in server sequence order.
    pub call_events: Vec<EventRef>,
}

impl FinishedCall {
    /// Deviations counted by kind.
    pub fn deviation_kinds(&self) -> Vec<(DeviationKind, usize)> {
        let mut kinds: Vec<(DeviationKind, usize)> = Vec::new();
        for deviation in &self.deviations {
            match kinds.iter_mut().find(|(kind, _)| *kind == deviation.kind) {
                Some((_, count)) => *count += 1,
                None => kinds.push((deviation.kind, 1)),
            }
        }
        kinds.sort();
        kinds
    }

    /// The last party instance of `dn`.
    pub fn party(&self, dn: &str) -> Option<&Party> {
        self.parties.iter().rev().find(|party| party.dn == dn)
    }
}

/// Builds the finished call: closes what is still open, classifies, judges the release.
pub(crate) fn finish(mut call: Call, reason: EndReason, now: i64, plan: &DnPlan) -> FinishedCall {
    let reason = settle_reason(&call, reason);
    close_remaining(&mut call, reason, now);
    call.settle_kinds(plan);
    call.mark_conference_leavers();
    check_consultation(&mut call);
    for party in &mut call.parties {
        sort_by_seq(&mut party.history);
    }
    sort_by_seq(&mut call.call_events);
    let complete = reason.is_complete();
    let model = model::recognise(&call);
    let features = model::features(&call);
    let outcome = model::outcome(&call, &features, complete);
    let ladder = release::Ladder::new(&call);
    let release = release::call_verdict(&ladder, outcome);
    let verdicts = release::party_verdicts(&ladder);
    let sip_end = crate::sip_release::call_end(&call).map(|(end, _)| end.clone());
    let provenance = if call.sip_layer { EventProvenance::SipLayer } else { EventProvenance::TLibrary };
    for (party, verdict) in call.parties.iter_mut().zip(verdicts) {
        party.verdict = verdict;
    }
    let key = match &call.uuid {
        Some(uuid) => uuid.as_str().to_owned(),
        None => {
            format!("~{}-{}", call.conn_ids.first().map(ConnId::to_string).unwrap_or_default(), call.serial)
        }
    };
    FinishedCall {
        handle: CallHandle(call.serial),
        clock: now,
        site: call.site,
        call_uuid: call.uuid,
        key,
        conn_ids: call.conn_ids,
        call_type: call.call_type,
        ani: call.ani,
        dnis: call.dnis,
        model,
        features,
        conformant: call.deviations.is_empty(),
        deviations: call.deviations,
        inferences: call.inferences,
        outcome,
        release,
        provenance,
        sip_end,
        other_dns: call.other_dns,
        complete,
        end_reason: reason,
        uncertain: call.uncertain,
        first_time: call.first_time,
        last_time: call.last_time,
        event_count: call.event_count,
        consult_of: call.consult_of,
        merged_into: call.merged_into,
        orig_call_uuid: call.orig_call_uuid,
        ref_call_uuid: call.ref_call_uuid,
        is_links: call.is_links,
        history: call.history,
        call_events: call.call_events,
        parties: call.parties,
    }
}

/// A quiet call's end reason follows from how its last parties left.
fn settle_reason(call: &Call, reason: EndReason) -> EndReason {
    if reason != EndReason::Released {
        return reason;
    }
    if call.merged_into.is_some() {
        return EndReason::Merged;
    }
    if call.deleted.is_some() {
        return EndReason::CallDeleted;
    }
    let last_exit =
        call.parties.iter().max_by_key(|party| party.evidence.close_order).and_then(|party| party.exit);
    if last_exit.is_some_and(Exit::is_handoff) {
        return EndReason::HandedOff;
    }
    EndReason::Released
}

/// Parties still on the call: closed by EventCallDeleted, or still active (incomplete).
fn close_remaining(call: &mut Call, reason: EndReason, now: i64) {
    let at = call.last_time.map(|time| time.0).or(Some(now));
    let deleted = call.deleted.clone();
    let mut closed_by_delete = Vec::new();
    // A party that never reached a live state (a call-based party added with a null or
    // unknown PartyState) has no exit of its own.
    for party in call.parties.iter_mut().filter(|party| !party.is_live() && party.exit.is_none()) {
        party.exit = Some(Exit::Unknown);
        party.exit_inferred = true;
    }
    for party in call.parties.iter_mut().filter(|party| party.is_live()) {
        if reason.is_complete() {
            party.close(Exit::Unknown, at, true);
            closed_by_delete.push(party.dn.clone());
            continue;
        }
        let state = party.state;
        party.set_state(state, at);
        party.exit = Some(Exit::StillActive);
        debug_assert!(party.state != PartyState::Null);
    }
    let Some(event) = deleted else { return };
    for dn in closed_by_delete {
        call.inferences.push(Inference {
            kind: InferenceKind::ClosedByCallDeleted,
            party: Some(dn),
            event: event.clone(),
            detail: "still live at EventCallDeleted: closed by it".to_string(),
        });
    }
}

/// A consultation that a party left "Transferred"/"Conferenced" but that never merged.
fn check_consultation(call: &mut Call) {
    if !model::is_consultation(call) || call.merged_into.is_some() {
        return;
    }
    let left = call
        .parties
        .iter()
        .find(|party| matches!(party.exit, Some(Exit::LeftByTransfer) | Some(Exit::LeftByConference)));
    let Some(party) = left else { return };
    let Some(event) = party.evidence.close_event.clone() else { return };
    let dn = party.dn.clone();
    call.deviations.push(Deviation {
        kind: DeviationKind::TransferWithoutCompletion,
        event,
        party: Some(dn),
        expected: "the consulted party moved to the main call (EventPartyChanged / EventCallPartyMoved)"
            .to_string(),
        seen: "a completion release with no party moved and no RefCallUUID".to_string(),
        assumed: "the consultation ended on its own".to_string(),
    });
}

/// Server sequence order; events without a number keep their place after the numbered ones
/// that came before them (a stable sort on the last known number).
fn sort_by_seq(events: &mut [EventRef]) {
    let sorted = events.windows(2).all(|pair| match (pair[0].seq, pair[1].seq) {
        (Some(a), Some(b)) => a <= b,
        _ => true,
    });
    if sorted {
        return;
    }
    let mut last = 0;
    let mut keyed: Vec<(u64, EventRef)> = events
        .iter()
        .map(|event| {
            last = event.seq.unwrap_or(last);
            (last, event.clone())
        })
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    for (slot, (_, event)) in events.iter_mut().zip(keyed) {
        *slot = event;
    }
}
