//! Snapshots: the engine's whole state in memory as bytes, and back.
//!
//! A service that must survive a crash stores a snapshot now and then together with the
//! position of the last event it includes; on restart it restores the snapshot and replays
//! the events after it. For that to give exactly the output of a run that never stopped, the
//! snapshot holds everything that affects future output: every slot of the call table (with
//! its generation and free list, so slots are reused in the same order), the timers, each
//! site's lookup tables and duplicate ring, the counters and event time. The configuration is
//! not in it: it comes from the service's configuration at start.
//!
//! The format is JSON (self-describing: several types skip empty fields) in an envelope that
//! names the format and its version; another version gives [`SnapshotError::Version`], after
//! which the service replays from the start. Maps are written as sorted lists, so the same
//! state always gives the same bytes. This module also holds what the other crates' snapshots
//! share: the envelope, the error, and the mapping of `&'static str` labels back to the
//! tables that produced them.

use std::sync::Arc;

use callstitch_tlib::{CallUuid, ConnId, DnRole, Text, Timestamp};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::call::{via, Call, CallPointer};
use crate::clock::SiteClock;
use crate::config::EngineConfig;
use crate::engine::{Engine, EngineStats, Site, Slot};
use crate::event_ref::EventRef;
use crate::model::RELEASE_OUTCOMES;
use crate::party::{Party, PartyKind, ReleaseEvidence};
use crate::release::{CallCandidate, CallVerdict, Confidence, Ender, PartyVerdict, Provenance};
use crate::state::{Exit, PartyState, StateSpan, StateTimes};
use crate::window::DuplicateWindow;

/// The format name of an engine snapshot.
pub const ENGINE_FORMAT: &str = "callstitch-engine";
/// The version of the engine snapshot this build writes and reads.
pub const ENGINE_VERSION: u32 = 2;

/// Why a snapshot could not be written or restored. Never a panic: bytes from outside are
/// checked before they become state.
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// Written by another version: replay from the start instead.
    #[error("snapshot version {found} of {format}, this build reads version {expected}")]
    Version { format: String, found: u64, expected: u32 },
    /// A snapshot of something else (an engine's where a stitcher's is wanted, ...).
    #[error("snapshot of {found}, expected {expected}")]
    Format { found: String, expected: String },
    /// Not a snapshot (not JSON, or fields missing or of the wrong type).
    #[error("snapshot cannot be read: {0}")]
    Decode(#[source] serde_json::Error),
    /// Readable, but its parts do not fit together (an index out of range, ...).
    #[error("snapshot is inconsistent: {0}")]
    Invalid(String),
    /// The state could not be written (a time stamp out of the printable range).
    #[error("snapshot cannot be written: {0}")]
    Encode(#[source] serde_json::Error),
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    format: &'a str,
    version: u32,
    body: &'a T,
}

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u64,
}

#[derive(Deserialize)]
struct EnvelopeIn<T> {
    body: T,
}

/// Writes `body` as a snapshot of `format`, version `version`.
pub fn encode<T: Serialize>(format: &str, version: u32, body: &T) -> Result<Vec<u8>, SnapshotError> {
    serde_json::to_vec(&EnvelopeOut { format, version, body }).map_err(SnapshotError::Encode)
}

/// Reads a snapshot written by [`encode`] with the same format and version.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], format: &str, version: u32) -> Result<T, SnapshotError> {
    let header: Header = serde_json::from_slice(bytes).map_err(SnapshotError::Decode)?;
    if header.format != format {
        return Err(SnapshotError::Format { found: header.format, expected: format.to_string() });
    }
    if header.version != u64::from(version) {
        return Err(SnapshotError::Version {
            format: header.format,
            found: header.version,
            expected: version,
        });
    }
    let envelope: EnvelopeIn<T> = serde_json::from_slice(bytes).map_err(SnapshotError::Decode)?;
    Ok(envelope.body)
}

/// Fails with [`SnapshotError::Invalid`] unless `ok`.
pub fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), SnapshotError> {
    if ok {
        Ok(())
    } else {
        Err(SnapshotError::Invalid(what()))
    }
}

// ---------------------------------------------------------------------------------------
// Labels

/// A label in a snapshot that none of its table's is (a snapshot of another build).
#[derive(Debug, Error)]
#[error("unknown label {found:?}")]
pub(crate) struct UnknownLabel {
    found: String,
}

/// The one of `labels` that `text` is.
fn find_label(text: &str, labels: &[&'static str]) -> Result<&'static str, UnknownLabel> {
    labels
        .iter()
        .find(|label| **label == text)
        .copied()
        .ok_or_else(|| UnknownLabel { found: text.to_string() })
}

/// [`CallPointer`] as read, before its `via` is mapped back to [`via::ALL`].
#[derive(Deserialize)]
pub(crate) struct CallPointerRepr {
    #[serde(default)]
    conn_id: Option<ConnId>,
    #[serde(default)]
    call_uuid: Option<CallUuid>,
    via: String,
}

impl TryFrom<CallPointerRepr> for CallPointer {
    type Error = UnknownLabel;

    fn try_from(repr: CallPointerRepr) -> Result<CallPointer, UnknownLabel> {
        let via = find_label(&repr.via, &via::ALL)?;
        Ok(CallPointer { conn_id: repr.conn_id, call_uuid: repr.call_uuid, via })
    }
}

/// [`CallVerdict`] as read, before its `outcome` is mapped back to [`RELEASE_OUTCOMES`].
#[derive(Deserialize)]
pub(crate) struct CallVerdictRepr {
    ended_by: Ender,
    outcome: String,
    #[serde(default)]
    ctrl_party_raw: Option<Text>,
    provenance: Provenance,
    confidence: Confidence,
    conflict: bool,
    evidence: Vec<EventRef>,
    #[serde(default)]
    candidate: Option<CallCandidate>,
}

/// Deserialize through a mirror type `$repr` that converts with `TryFrom` (a derive would
/// ask `'de: 'static` of the `&'static str` fields).
macro_rules! deserialize_via {
    ($ty:ty, $repr:ty) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$repr>::deserialize(deserializer)
                    .and_then(|repr| <$ty>::try_from(repr).map_err(D::Error::custom))
            }
        }
    };
}

deserialize_via!(CallPointer, CallPointerRepr);
deserialize_via!(CallVerdict, CallVerdictRepr);

impl TryFrom<CallVerdictRepr> for CallVerdict {
    type Error = UnknownLabel;

    fn try_from(repr: CallVerdictRepr) -> Result<CallVerdict, UnknownLabel> {
        Ok(CallVerdict {
            ended_by: repr.ended_by,
            outcome: find_label(&repr.outcome, &RELEASE_OUTCOMES)?,
            ctrl_party_raw: repr.ctrl_party_raw,
            provenance: repr.provenance,
            confidence: repr.confidence,
            conflict: repr.conflict,
            evidence: repr.evidence,
            candidate: repr.candidate,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Parties: the public serde form of a party is the report's, without its working fields

/// Every field of a party, for the snapshot.
#[derive(Serialize, Deserialize)]
struct PartyRepr {
    dn: Text,
    kind: PartyKind,
    role: Option<DnRole>,
    queue: Option<Text>,
    state: PartyState,
    exit: Option<Exit>,
    exit_inferred: bool,
    uncertain: bool,
    times: StateTimes,
    #[serde(default)]
    spans: Vec<StateSpan>,
    #[serde(default)]
    spans_truncated: bool,
    #[serde(default)]
    agent_id: Option<Text>,
    first_time: Option<Timestamp>,
    last_time: Option<Timestamp>,
    #[serde(default)]
    connected_time: Option<Timestamp>,
    moved_from: Option<ConnId>,
    moved_to: Option<ConnId>,
    history: Vec<EventRef>,
    verdict: Option<PartyVerdict>,
    seen: u32,
    since: Option<i64>,
    #[serde(default)]
    counted: Option<i64>,
    evidence: ReleaseEvidence,
    delivered_at: Option<i64>,
    closed_by_own_event: bool,
    moved_in_state: Option<PartyState>,
}

impl From<&Party> for PartyRepr {
    fn from(party: &Party) -> PartyRepr {
        let party = party.clone();
        PartyRepr {
            dn: party.dn,
            kind: party.kind,
            role: party.role,
            queue: party.queue,
            state: party.state,
            exit: party.exit,
            exit_inferred: party.exit_inferred,
            uncertain: party.uncertain,
            times: party.times,
            spans: party.spans,
            spans_truncated: party.spans_truncated,
            agent_id: party.agent_id,
            first_time: party.first_time,
            last_time: party.last_time,
            connected_time: party.connected_time,
            moved_from: party.moved_from,
            moved_to: party.moved_to,
            history: party.history,
            verdict: party.verdict,
            seen: party.seen,
            since: party.since,
            counted: party.counted,
            evidence: party.evidence,
            delivered_at: party.delivered_at,
            closed_by_own_event: party.closed_by_own_event,
            moved_in_state: party.moved_in_state,
        }
    }
}

impl From<PartyRepr> for Party {
    fn from(repr: PartyRepr) -> Party {
        Party {
            dn: repr.dn,
            kind: repr.kind,
            role: repr.role,
            queue: repr.queue,
            state: repr.state,
            exit: repr.exit,
            exit_inferred: repr.exit_inferred,
            uncertain: repr.uncertain,
            times: repr.times,
            spans: repr.spans,
            spans_truncated: repr.spans_truncated,
            agent_id: repr.agent_id,
            first_time: repr.first_time,
            last_time: repr.last_time,
            connected_time: repr.connected_time,
            moved_from: repr.moved_from,
            moved_to: repr.moved_to,
            history: repr.history,
            verdict: repr.verdict,
            seen: repr.seen,
            since: repr.since,
            counted: repr.counted,
            evidence: repr.evidence,
            delivered_at: repr.delivered_at,
            closed_by_own_event: repr.closed_by_own_event,
            moved_in_state: repr.moved_in_state,
        }
    }
}

/// `#[serde(with)]` for a call's parties in the snapshot.
pub(crate) mod parties {
    use super::*;

    pub fn serialize<S: Serializer>(parties: &[Party], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(parties.iter().map(PartyRepr::from))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Party>, D::Error> {
        let reprs = Vec::<PartyRepr>::deserialize(deserializer)?;
        Ok(reprs.into_iter().map(Party::from).collect())
    }
}

// ---------------------------------------------------------------------------------------
// The engine

/// One site: its lookup tables as sorted lists, its duplicate ring as its used entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SiteState {
    name: Text,
    by_uuid: Vec<(CallUuid, u32)>,
    by_conn: Vec<(ConnId, u32)>,
    /// Length of the duplicate ring (0 before the site's first numbered event).
    ring: usize,
    /// (position, sequence number, message key) of every used ring entry.
    seen: Vec<(usize, u64, u32)>,
    clock: SiteClock,
    /// (deadline, slot, generation), sorted.
    timers: Vec<(i64, u32, u32)>,
    next_sweep: i64,
}

/// One slot of the call table.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SlotState {
    site: u32,
    generation: u32,
    call: Option<Arc<Call>>,
}

/// The whole state of an [`Engine`], without its configuration: what [`Engine::snapshot`]
/// writes. Other crates embed it in their own snapshots.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineState {
    sites: Vec<SiteState>,
    last_site: usize,
    slots: Vec<SlotState>,
    free: Vec<u32>,
    serial: u64,
    order: u64,
    stats: EngineStats,
}

impl Engine {
    /// The engine's state, for a snapshot that embeds it.
    pub fn state(&self) -> EngineState {
        EngineState {
            sites: self.sites.iter().map(site_state).collect(),
            last_site: self.last_site,
            slots: self
                .slots
                .iter()
                .map(|slot| SlotState {
                    site: slot.site,
                    generation: slot.generation,
                    call: slot.call.clone(),
                })
                .collect(),
            free: self.free.clone(),
            serial: self.serial,
            order: self.order,
            stats: self.stats.clone(),
        }
    }

    /// An engine that goes on exactly where the one that gave `state` was.
    pub fn from_state(state: EngineState, config: EngineConfig) -> Result<Engine, SnapshotError> {
        validate(&state)?;
        let live = state.slots.iter().filter(|slot| slot.call.is_some()).count();
        let mut engine = Engine::new(config);
        engine.sites = state.sites.into_iter().map(site_from).collect();
        for (index, site) in engine.sites.iter().enumerate() {
            // The first of a name wins, as a scan would find it.
            engine.site_positions.entry(site.name.clone()).or_insert(index);
        }
        engine.last_site = state.last_site;
        engine.slots = state
            .slots
            .into_iter()
            .map(|slot| Slot { call: slot.call, site: slot.site, generation: slot.generation })
            .collect();
        engine.free = state.free;
        engine.live = live;
        engine.serial = state.serial;
        engine.order = state.order;
        engine.stats = state.stats;
        Ok(engine)
    }

    /// The engine's state as bytes (see the module documentation).
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        encode(ENGINE_FORMAT, ENGINE_VERSION, &self.state())
    }

    /// The engine a [`Engine::snapshot`] was taken of, with this configuration.
    pub fn restore(bytes: &[u8], config: EngineConfig) -> Result<Engine, SnapshotError> {
        Engine::from_state(decode(bytes, ENGINE_FORMAT, ENGINE_VERSION)?, config)
    }
}

fn site_state(site: &Site) -> SiteState {
    let mut by_uuid: Vec<(CallUuid, u32)> =
        site.by_uuid.iter().map(|(uuid, slot)| (uuid.clone(), *slot)).collect();
    by_uuid.sort_unstable();
    let mut by_conn: Vec<(ConnId, u32)> = site.by_conn.iter().map(|(conn, slot)| (*conn, *slot)).collect();
    by_conn.sort_unstable();
    let seen = site.seen.entries();
    let mut timers: Vec<(i64, u32, u32)> = site.timers.iter().map(|timer| timer.0).collect();
    timers.sort_unstable();
    SiteState {
        name: site.name.clone(),
        by_uuid,
        by_conn,
        ring: site.seen.len(),
        seen,
        clock: site.clock.clone(),
        timers,
        next_sweep: site.next_sweep,
    }
}

fn site_from(state: SiteState) -> Site {
    let mut site = Site::new(state.name);
    site.by_uuid = state.by_uuid.into_iter().collect();
    site.by_conn = state.by_conn.into_iter().collect();
    site.seen = DuplicateWindow::with_len(state.ring);
    for (position, seq, key) in state.seen {
        site.seen.put(position, seq, key);
    }
    site.clock = state.clock;
    site.timers = state.timers.into_iter().map(std::cmp::Reverse).collect();
    site.next_sweep = state.next_sweep;
    site
}

/// Every index in the state points where the engine expects it to.
fn validate(state: &EngineState) -> Result<(), SnapshotError> {
    let slots = state.slots.len();
    let sites = state.sites.len();
    for (index, slot) in state.slots.iter().enumerate() {
        check((slot.site as usize) < sites, || format!("slot {index} names site {} of {sites}", slot.site))?;
    }
    let mut freed = vec![false; slots];
    for slot in &state.free {
        let index = *slot as usize;
        check(index < slots, || format!("free slot {index} of {slots}"))?;
        check(state.slots[index].call.is_none(), || format!("free slot {index} holds a call"))?;
        check(!freed[index], || format!("slot {index} is free twice"))?;
        freed[index] = true;
    }
    for site in &state.sites {
        let indexed =
            site.by_uuid.iter().map(|(_, slot)| slot).chain(site.by_conn.iter().map(|(_, slot)| slot));
        for slot in indexed {
            check((*slot as usize) < slots, || format!("site {} indexes slot {slot} of {slots}", site.name))?;
        }
        check(site.ring == 0 || site.ring.is_power_of_two(), || {
            format!("site {} has a duplicate ring of {}", site.name, site.ring)
        })?;
        for (position, _, _) in &site.seen {
            check(*position < site.ring, || format!("site {} ring entry {position}", site.name))?;
        }
        for (_, slot, _) in &site.timers {
            check((*slot as usize) < slots, || format!("site {} times slot {slot} of {slots}", site.name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outcome;

    #[test]
    fn every_outcome_maps_to_a_release_outcome_a_snapshot_reads_back() {
        for outcome in Outcome::ALL {
            assert!(RELEASE_OUTCOMES.contains(&outcome.release_outcome()), "{outcome:?}");
        }
    }

    #[test]
    fn pointers_and_verdicts_read_back_with_their_static_labels() {
        for via in via::ALL {
            let pointer = CallPointer { conn_id: Some(ConnId(0x42)), call_uuid: None, via };
            let text = serde_json::to_string(&pointer).expect("json");
            assert_eq!(serde_json::from_str::<CallPointer>(&text).ok(), Some(pointer));
        }
        let unknown = r#"{"via":"Telepathy"}"#;
        assert!(serde_json::from_str::<CallPointer>(unknown).is_err());
    }
}
