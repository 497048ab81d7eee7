//! A segment: one call on one site, as the linker keeps it, from its first event on.
//!
//! A segment opens when the engine tells of a call's first event and gathers linking
//! evidence as the engine tells it (Inter-Site Link ends with the time each was first seen,
//! CallUUID, ConnIDs, consultation and merge pointers, ISCC history). When the call ends, the
//! engine's finished call adds what an interaction reports of it (model, outcome, parties,
//! who released it). Two engine calls of one (site, CallUUID) are one segment: a server's
//! CallUUID is unique, so the second is the same call (a late EventCallDeleted after the
//! engine closed the call, duplicated input).

use callstitch_engine::{
    CallHandle, CallModel, CallPointer, CallVerdict, EndReason, Exit, FinishedCall, Outcome, Party,
    PartyKind, PartyState, Provenance, ReleasedBy, StateSpan, StateTimes, TransferHistory,
};
use callstitch_tlib::{CallUuid, ConnId, EventProvenance, IsLink, LinkRole, SipEnd, Text, Timestamp};
use serde::{Deserialize, Serialize};

/// (site, key): the key is the CallUUID, or the engine's `~<ConnID>-<n>` for servers that
/// send none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SegmentId {
    pub site: Text,
    pub key: String,
}

/// One end of an Inter-Site Link on a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkEnd {
    pub id: Text,
    pub role: Option<LinkRole>,
    /// The other server, `<application>@<switch>`.
    pub location: Option<Text>,
    /// When this server first reported the link (its own clock).
    pub first_seen: Option<Timestamp>,
}

impl LinkEnd {
    fn from_link(link: &IsLink, first_seen: Option<Timestamp>) -> LinkEnd {
        LinkEnd {
            id: link.id.clone(),
            role: link.direction_role.clone(),
            location: link.location_name.clone(),
            first_seen,
        }
    }
}

/// A party as an interaction reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentParty {
    pub dn: Text,
    pub kind: PartyKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Text>,
    pub final_state: PartyState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
    /// `self`, `other` or `unknown`, with the provenance of that verdict.
    pub released_by: ReleasedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_by_dn: Option<Text>,
    pub provenance: Provenance,
    /// ThisQueue of its first event that gave one: the queue that delivered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<Text>,
    /// AttributeAgentID its events carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Text>,
    /// Time in each state, in milliseconds of its site's clock.
    #[serde(default)]
    pub times: PartyTimes,
    /// The same time as stretches in time order, for the journey timeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<PartySpan>,
    /// The party's first event on the call (recording uses it to say who is heard on a
    /// media file; not in the interaction JSON).
    #[serde(default, skip_serializing)]
    pub first_time: Option<Timestamp>,
    /// The party's last event on the call (its release, or the end of input).
    #[serde(default, skip_serializing)]
    pub last_time: Option<Timestamp>,
    /// When it was first connected (EventEstablished, EventRetrieved, EventPartyChanged or
    /// EventPartyAdded); `None` when it never was (rang and left).
    #[serde(default, skip_serializing)]
    pub connected_time: Option<Timestamp>,
}

/// Time a party spent in each state of the call, in milliseconds (docs/trace-json.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartyTimes {
    /// Initiated, dialing or busy: the originator's set-up.
    pub dialing_ms: i64,
    /// Alerting.
    pub ringing_ms: i64,
    /// Queued or at a routing point.
    pub queued_ms: i64,
    /// Connected.
    pub talking_ms: i64,
    /// Held.
    pub held_ms: i64,
}

impl From<&StateTimes> for PartyTimes {
    fn from(times: &StateTimes) -> PartyTimes {
        PartyTimes {
            dialing_ms: times.dialing_us / 1000,
            ringing_ms: times.ringing_us / 1000,
            queued_ms: times.queued_us / 1000,
            talking_ms: times.talking_us / 1000,
            held_ms: times.held_us / 1000,
        }
    }
}

/// One stretch of a party in one state, on its site's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartySpan {
    pub state: PartyState,
    pub start: Timestamp,
    pub end: Timestamp,
    /// The party was still in this state when its call's events ended (a live or cut call):
    /// `end` is the call's last event, not a state change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
}

impl From<&StateSpan> for PartySpan {
    fn from(span: &StateSpan) -> PartySpan {
        PartySpan { state: span.state, start: span.start, end: span.end, open: false }
    }
}

/// What the engine said of a segment's call when it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentEnd {
    pub model: CallModel,
    pub conformant: bool,
    pub outcome: Outcome,
    pub release: CallVerdict,
    /// In a snapshot with their times, which the interaction JSON leaves out.
    #[serde(with = "stored_parties")]
    pub parties: Vec<SegmentParty>,
    /// The call's end was seen (not an idle timeout or the end of input).
    pub complete: bool,
    pub end_reason: EndReason,
    /// What the call was read from: T-Library events, or only the SIP layer of a SIP Server
    /// log (no Inter-Site Links, no ISCC history there).
    #[serde(default)]
    pub provenance: EventProvenance,
    /// How the SIP layer says the call ended (SIP-layer calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_end: Option<SipEnd>,
}

/// What the linker takes of a finished engine call: its identity and linking evidence, and
/// its end as an interaction reports it. Owned and serializable, so that the engine and the
/// linker can run apart (a site's worker sends it; crates/pipeline, `split`): the parts of a
/// [`FinishedCall`] that only the engine reads (state bookkeeping of its parties) are not in
/// it, the spans they give are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallEnding {
    /// The handle its news was told under.
    pub handle: CallHandle,
    /// Its site's clock when it finished (µs).
    pub clock: i64,
    pub site: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<CallUuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conn_ids: Vec<ConnId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub is_links: Vec<IsLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnis: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consult_of: Option<CallPointer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<CallPointer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<TransferHistory>,
    pub end: SegmentEnd,
}

impl CallEnding {
    /// The ending of `call`.
    pub fn of(call: FinishedCall) -> CallEnding {
        let parties = segment_parties(&call);
        let end = SegmentEnd {
            model: call.model,
            conformant: call.conformant,
            outcome: call.outcome,
            release: call.release,
            parties,
            complete: call.complete,
            end_reason: call.end_reason,
            provenance: call.provenance,
            sip_end: call.sip_end,
        };
        CallEnding {
            handle: call.handle,
            clock: call.clock,
            site: call.site,
            call_uuid: call.call_uuid,
            conn_ids: call.conn_ids,
            is_links: call.is_links,
            first_time: call.first_time,
            last_time: call.last_time,
            ani: call.ani,
            dnis: call.dnis,
            consult_of: call.consult_of,
            merged_into: call.merged_into,
            history: call.history,
            end,
        }
    }

    /// [`CallEnding::of`] a call that stays with the caller.
    pub fn copied(call: &FinishedCall) -> CallEnding {
        CallEnding {
            handle: call.handle,
            clock: call.clock,
            site: call.site.clone(),
            call_uuid: call.call_uuid.clone(),
            conn_ids: call.conn_ids.clone(),
            is_links: call.is_links.clone(),
            first_time: call.first_time,
            last_time: call.last_time,
            ani: call.ani.clone(),
            dnis: call.dnis.clone(),
            consult_of: call.consult_of.clone(),
            merged_into: call.merged_into.clone(),
            history: call.history.clone(),
            end: SegmentEnd {
                model: call.model,
                conformant: call.conformant,
                outcome: call.outcome,
                release: call.release.clone(),
                parties: segment_parties(call),
                complete: call.complete,
                end_reason: call.end_reason,
                provenance: call.provenance,
                sip_end: call.sip_end.clone(),
            },
        }
    }
}

/// A finished call's parties as an interaction reports them.
fn segment_parties(call: &FinishedCall) -> Vec<SegmentParty> {
    call.parties.iter().map(|party| segment_party(party, call.last_time)).collect()
}

/// One call on one site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub id: SegmentId,
    pub call_uuid: Option<CallUuid>,
    pub conn_ids: Vec<ConnId>,
    pub ani: Option<Text>,
    pub dnis: Option<Text>,
    pub first_time: Option<Timestamp>,
    /// The last event time (known once the call ended).
    pub last_time: Option<Timestamp>,
    pub links: Vec<LinkEnd>,
    pub history: Option<TransferHistory>,
    pub consult_of: Option<CallPointer>,
    pub merged_into: Option<CallPointer>,
    /// Engine calls of this segment still live (usually 0 or 1).
    pub live_calls: u32,
    /// When the segment's last engine call ended (µs): its last event time, or its site's
    /// clock at the finish if that is earlier (an event time the clock did not believe).
    /// What waits after the end are counted from. `i64::MIN` while live.
    pub ended_clock: i64,
    /// The site's clock when the segment opened (µs).
    pub opened_clock: i64,
    /// Known once an engine call of the segment finished.
    pub end: Option<SegmentEnd>,
}

impl Segment {
    /// A segment for a call that just opened.
    pub fn opened(
        id: SegmentId,
        call_uuid: Option<CallUuid>,
        time: Option<Timestamp>,
        clock: i64,
    ) -> Segment {
        Segment {
            id,
            call_uuid,
            conn_ids: Vec::new(),
            ani: None,
            dnis: None,
            first_time: time,
            last_time: None,
            links: Vec::new(),
            history: None,
            consult_of: None,
            merged_into: None,
            live_calls: 1,
            ended_clock: i64::MIN,
            opened_clock: clock,
            end: None,
        }
    }

    pub fn is_live(&self) -> bool {
        self.live_calls > 0
    }

    /// Adds a ConnID; false when it was known.
    pub fn add_conn(&mut self, conn: ConnId) -> bool {
        if conn.is_null() || self.conn_ids.contains(&conn) {
            return false;
        }
        self.conn_ids.push(conn);
        true
    }

    /// Adds a link end; false when the id was known (its first sighting stays the earliest).
    pub fn add_link(&mut self, link: &IsLink, seen: Option<Timestamp>) -> bool {
        if let Some(known) = self.links.iter_mut().find(|known| known.id == link.id) {
            known.first_seen = min_time(known.first_seen, seen);
            return false;
        }
        self.links.push(LinkEnd::from_link(link, seen));
        self.links.sort_by(|a, b| a.id.cmp(&b.id));
        true
    }

    /// Takes the end of one of the segment's engine calls; `clock` is its site's clock when
    /// it finished (µs).
    pub fn finish(&mut self, call: CallEnding, clock: i64) {
        self.live_calls = self.live_calls.saturating_sub(1);
        // The call's own last time, unless its site's clock does not believe it (then the
        // clock's time when the call finished).
        let ended = call.last_time.map_or(clock, |last| last.0.min(clock));
        self.ended_clock = self.ended_clock.max(ended);
        for conn in &call.conn_ids {
            self.add_conn(*conn);
        }
        for link in &call.is_links {
            self.add_link(link, None);
        }
        self.first_time = min_time(self.first_time, call.first_time);
        self.last_time = self.last_time.max(call.last_time);
        self.ani = self.ani.take().or(call.ani);
        self.dnis = self.dnis.take().or(call.dnis);
        self.consult_of = self.consult_of.take().or(call.consult_of);
        self.merged_into = self.merged_into.take().or(call.merged_into);
        if self.history.is_none() {
            self.history = call.history;
        }
        self.end = Some(match self.end.take() {
            None => call.end,
            Some(known) => merge_ends(known, call.end),
        });
    }

    /// Folds in what an earlier record of the same call knew (an archived interaction
    /// brought back after the call showed more events): its links, ConnIDs, times, pointers,
    /// history and its end's parties.
    pub fn absorb(&mut self, earlier: Segment) {
        debug_assert_eq!(self.id, earlier.id, "the same call");
        for conn in &earlier.conn_ids {
            self.add_conn(*conn);
        }
        for end in earlier.links {
            match self.links.iter_mut().find(|known| known.id == end.id) {
                Some(known) => known.first_seen = min_time(known.first_seen, end.first_seen),
                None => self.links.push(end),
            }
        }
        self.links.sort_by(|a, b| a.id.cmp(&b.id));
        self.first_time = min_time(self.first_time, earlier.first_time);
        self.last_time = self.last_time.max(earlier.last_time);
        self.call_uuid = self.call_uuid.take().or(earlier.call_uuid);
        self.ani = earlier.ani.or(self.ani.take());
        self.dnis = earlier.dnis.or(self.dnis.take());
        self.consult_of = earlier.consult_of.or(self.consult_of.take());
        self.merged_into = self.merged_into.take().or(earlier.merged_into);
        self.history = earlier.history.or(self.history.take());
        self.live_calls += earlier.live_calls;
        self.ended_clock = self.ended_clock.max(earlier.ended_clock);
        self.opened_clock = self.opened_clock.min(earlier.opened_clock);
        self.end = match (earlier.end, self.end.take()) {
            (Some(first), Some(later)) => Some(merge_ends(first, later)),
            (first, later) => first.or(later),
        };
    }

    /// Start time for ordering ties: first time, else the end of time.
    pub fn start_key(&self) -> i64 {
        self.first_time.map_or(i64::MAX, |time| time.0)
    }

    /// The call ended by handing the customer on (REFER, routing, a transfer away) with no
    /// party after.
    pub fn handed_off(&self) -> bool {
        self.end.as_ref().is_some_and(|end| end.end_reason == EndReason::HandedOff)
    }

    /// The call was read from the SIP layer of a SIP Server log only.
    pub fn sip_layer(&self) -> bool {
        self.end.as_ref().is_some_and(|end| end.provenance == EventProvenance::SipLayer)
    }

    /// The segment's parties (none known while it is live).
    pub fn parties(&self) -> &[SegmentParty] {
        self.end.as_ref().map_or(&[], |end| end.parties.as_slice())
    }
}

/// Two finished calls of one segment: the first call's verdicts stand, the second adds what
/// the first did not see.
fn merge_ends(mut known: SegmentEnd, other: SegmentEnd) -> SegmentEnd {
    for party in other.parties {
        if !known.parties.contains(&party) {
            known.parties.push(party);
        }
    }
    known.complete |= other.complete;
    known
}

fn min_time(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn segment_party(party: &Party, call_end: Option<Timestamp>) -> SegmentParty {
    let verdict = party.verdict.as_ref();
    let mut spans: Vec<PartySpan> = party.spans.iter().map(PartySpan::from).collect();
    if let Some(open) = party.open_span(call_end) {
        spans.push(PartySpan { open: true, ..PartySpan::from(&open) });
    }
    SegmentParty {
        dn: party.dn.clone(),
        kind: party.kind,
        role: party.role.as_ref().map(|role| match role.known_name() {
            Some(name) => Text::from(name),
            None => Text::from(role.to_string()),
        }),
        final_state: party.state,
        exit: party.exit,
        released_by: verdict.map_or(ReleasedBy::Unknown, |verdict| verdict.released_by),
        released_by_dn: verdict.and_then(|verdict| verdict.by.clone()),
        provenance: verdict.map_or(Provenance::Unknown, |verdict| verdict.provenance),
        queue: party.queue.clone(),
        agent_id: party.agent_id.clone(),
        times: PartyTimes::from(&party.times),
        spans,
        first_time: party.first_time,
        last_time: party.last_time,
        connected_time: party.connected_time,
    }
}

/// Parties in a snapshot: every field, the times the interaction JSON leaves out included.
mod stored_parties {
    use super::*;
    use serde::{Deserializer, Serializer};

    #[derive(Serialize, Deserialize)]
    struct StoredParty {
        #[serde(flatten)]
        party: SegmentParty,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        first_time: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_time: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connected_time: Option<Timestamp>,
    }

    pub fn serialize<S: Serializer>(parties: &[SegmentParty], serializer: S) -> Result<S::Ok, S::Error> {
        let stored: Vec<StoredParty> = parties
            .iter()
            .map(|party| StoredParty {
                party: party.clone(),
                first_time: party.first_time,
                last_time: party.last_time,
                connected_time: party.connected_time,
            })
            .collect();
        stored.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<SegmentParty>, D::Error> {
        let stored = Vec::<StoredParty>::deserialize(deserializer)?;
        Ok(stored
            .into_iter()
            .map(|stored| SegmentParty {
                first_time: stored.first_time,
                last_time: stored.last_time,
                connected_time: stored.connected_time,
                ..stored.party
            })
            .collect())
    }
}
