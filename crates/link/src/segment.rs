//! A segment: one call on one site, as the linker keeps it.
//!
//! Built from the engine's finished call plus what the linker observed on the event stream
//! while the call was live (when each Inter-Site Link end was first seen, the ISCC call
//! history). It keeps what an interaction reports and what linking needs, not the events.

use callstitch_engine::{CallPointer, CallVerdict, EndReason, FinishedCall, Party};
use callstitch_tlib::{CallUuid, ConnId, LinkRole, Message, Text, Timestamp};
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

/// ISCC CallHistory of a call that arrived by ISCC: where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallHistory {
    pub last_transfer_conn_id: Option<ConnId>,
    pub last_transfer_home_location: Option<Text>,
    pub last_transfer_orig_dn: Option<Text>,
}

/// A party as an interaction reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentParty {
    pub dn: Text,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Text>,
    pub final_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<&'static str>,
    /// `self`, `other` or `unknown`, with the provenance of that verdict.
    pub released_by: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_by_dn: Option<Text>,
    pub provenance: &'static str,
    /// The party's first event on the call (not in the JSON: recording uses it to say who
    /// is heard on a media file).
    #[serde(skip)]
    pub first_time: Option<Timestamp>,
    /// The party's last event on the call (its release, or the end of input).
    #[serde(skip)]
    pub last_time: Option<Timestamp>,
    /// When it was first connected (EventEstablished, EventRetrieved, EventPartyChanged or
    /// EventPartyAdded); `None` when it never was (rang and left). Not in the JSON.
    #[serde(skip)]
    pub connected_time: Option<Timestamp>,
}

/// One call on one site.
#[derive(Debug, Clone)]
pub struct Segment {
    pub id: SegmentId,
    pub call_uuid: Option<CallUuid>,
    pub conn_ids: Vec<ConnId>,
    pub ani: Option<Text>,
    pub dnis: Option<Text>,
    pub model: &'static str,
    pub conformant: bool,
    pub outcome: &'static str,
    pub release: CallVerdict,
    pub parties: Vec<SegmentParty>,
    pub first_time: Option<Timestamp>,
    pub last_time: Option<Timestamp>,
    pub complete: bool,
    pub end_reason: EndReason,
    pub consult_of: Option<CallPointer>,
    pub merged_into: Option<CallPointer>,
    pub links: Vec<LinkEnd>,
    pub history: CallHistory,
}

impl Segment {
    /// The segment of a finished call, with the link times and call history observed.
    pub fn from_call(
        call: FinishedCall,
        seen: Vec<(Text, Option<Timestamp>)>,
        history: CallHistory,
    ) -> Segment {
        let links = call
            .is_links
            .iter()
            .map(|link| LinkEnd {
                id: link.id.clone(),
                role: link.direction_role.clone(),
                location: link.location_name.clone(),
                first_seen: seen.iter().find(|(id, _)| *id == link.id).and_then(|(_, time)| *time),
            })
            .collect();
        let parties = call.parties.iter().map(segment_party).collect();
        Segment {
            id: SegmentId { site: call.site.clone(), key: call.key.clone() },
            call_uuid: call.call_uuid,
            conn_ids: call.conn_ids,
            ani: call.ani,
            dnis: call.dnis,
            model: call.model.slug(),
            conformant: call.conformant,
            outcome: call.outcome.slug(),
            release: call.release,
            parties,
            first_time: call.first_time,
            last_time: call.last_time,
            complete: call.complete,
            end_reason: call.end_reason,
            consult_of: call.consult_of,
            merged_into: call.merged_into,
            links,
            history,
        }
    }

    /// Folds a second finished call of the same (site, CallUUID) into this one: a server's
    /// CallUUID is unique, so both are the same call (duplicated input, a call closed by
    /// timeout whose events went on).
    pub fn absorb(&mut self, other: Segment) {
        debug_assert_eq!(self.id, other.id);
        for conn in other.conn_ids {
            if !self.conn_ids.contains(&conn) {
                self.conn_ids.push(conn);
            }
        }
        for party in other.parties {
            if !self.parties.contains(&party) {
                self.parties.push(party);
            }
        }
        for link in other.links {
            match self.links.iter_mut().find(|known| known.id == link.id) {
                Some(known) => known.first_seen = min_time(known.first_seen, link.first_seen),
                None => self.links.push(link),
            }
        }
        self.links.sort_by(|a, b| a.id.cmp(&b.id));
        self.first_time = min_time(self.first_time, other.first_time);
        self.last_time = self.last_time.max(other.last_time);
        self.complete = self.complete || other.complete;
        self.ani = self.ani.take().or(other.ani);
        self.dnis = self.dnis.take().or(other.dnis);
        self.consult_of = self.consult_of.take().or(other.consult_of);
        self.merged_into = self.merged_into.take().or(other.merged_into);
        if self.history.last_transfer_home_location.is_none() {
            self.history = other.history;
        }
    }

    /// Start time for ordering ties: first time, else the end of time.
    pub fn start_key(&self) -> i64 {
        self.first_time.map_or(i64::MAX, |time| time.0)
    }
}

fn min_time(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn segment_party(party: &Party) -> SegmentParty {
    let verdict = party.verdict.as_ref();
    SegmentParty {
        dn: party.dn.clone(),
        kind: party.kind.label(),
        role: party.role.as_ref().map(|role| match role.known_name() {
            Some(name) => Text::from(name),
            None => Text::from(role.to_string()),
        }),
        final_state: party.state.label(),
        exit: party.exit.map(|exit| exit.label()),
        released_by: verdict.map_or("unknown", |verdict| verdict.released_by.label()),
        released_by_dn: verdict.and_then(|verdict| verdict.by.clone()),
        provenance: verdict.map_or("unknown", |verdict| verdict.provenance.label()),
        first_time: party.first_time,
        last_time: party.last_time,
        connected_time: party
            .history
            .iter()
            .find(|event| {
                matches!(
                    event.message,
                    Message::EventEstablished
                        | Message::EventRetrieved
                        | Message::EventPartyChanged
                        | Message::EventPartyAdded
                )
            })
            .and_then(|event| event.time),
    }
}
