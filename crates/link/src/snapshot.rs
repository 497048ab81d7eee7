//! Snapshots of the linker and of the [`Stitcher`] (engine and linker together).
//!
//! Everything in memory that affects future interactions is kept: segments, components with
//! their edges, versions and what was handed out (for revisions), the indexes with their
//! lists in order, pending waits, link sightings and call histories of live calls, the
//! schedule, the watermark, the counters and the site directory with what it learned. Hash
//! maps are written as lists sorted by key, so that the same state gives the same bytes. The
//! configurations are not in it. See `callstitch_engine::snapshot` for the envelope.

use std::cmp::Reverse;

pub use callstitch_engine::snapshot::{check, decode, encode, enum_label};
use callstitch_engine::{
    CallModel, CallPointer, CallVerdict, EndReason, Engine, EngineConfig, EngineState, Exit, Outcome,
    PartyKind, PartyState, Provenance, ReleasedBy, SnapshotError,
};
use callstitch_tlib::{CallUuid, ConnId, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::linker::{Component, LinkSightings, Linker, LinkerConfig, LinkerStats, Wanted};
use crate::segment::{CallHistory, LinkEnd, Segment, SegmentId, SegmentParty};
use crate::sites::SiteDirectory;
use crate::stitcher::Stitcher;

/// The format name of a linker snapshot.
pub const LINKER_FORMAT: &str = "callstitch-linker";
/// The format name of a stitcher snapshot.
pub const STITCHER_FORMAT: &str = "callstitch-stitcher";
/// The version of both formats this build writes and reads.
pub const LINK_VERSION: u32 = 1;

/// A party of a segment, every field, its labels as text.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartyRepr {
    dn: Text,
    kind: String,
    role: Option<Text>,
    final_state: String,
    exit: Option<String>,
    released_by: String,
    released_by_dn: Option<Text>,
    provenance: String,
    first_time: Option<Timestamp>,
    last_time: Option<Timestamp>,
    connected_time: Option<Timestamp>,
}

/// A segment, every field, its labels as text.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SegmentRepr {
    id: SegmentId,
    call_uuid: Option<CallUuid>,
    conn_ids: Vec<ConnId>,
    ani: Option<Text>,
    dnis: Option<Text>,
    model: String,
    conformant: bool,
    outcome: String,
    release: CallVerdict,
    parties: Vec<PartyRepr>,
    first_time: Option<Timestamp>,
    last_time: Option<Timestamp>,
    complete: bool,
    end_reason: EndReason,
    consult_of: Option<CallPointer>,
    merged_into: Option<CallPointer>,
    links: Vec<LinkEnd>,
    history: CallHistory,
}

fn party_repr(party: &SegmentParty) -> PartyRepr {
    PartyRepr {
        dn: party.dn.clone(),
        kind: party.kind.to_string(),
        role: party.role.clone(),
        final_state: party.final_state.to_string(),
        exit: party.exit.map(str::to_string),
        released_by: party.released_by.to_string(),
        released_by_dn: party.released_by_dn.clone(),
        provenance: party.provenance.to_string(),
        first_time: party.first_time,
        last_time: party.last_time,
        connected_time: party.connected_time,
    }
}

fn party_from(repr: PartyRepr) -> Result<SegmentParty, String> {
    Ok(SegmentParty {
        dn: repr.dn,
        kind: enum_label(&repr.kind, PartyKind::label)?,
        role: repr.role,
        final_state: enum_label(&repr.final_state, PartyState::label)?,
        exit: repr.exit.map(|exit| enum_label(&exit, Exit::label)).transpose()?,
        released_by: enum_label(&repr.released_by, ReleasedBy::label)?,
        released_by_dn: repr.released_by_dn,
        provenance: enum_label(&repr.provenance, Provenance::label)?,
        first_time: repr.first_time,
        last_time: repr.last_time,
        connected_time: repr.connected_time,
    })
}

fn segment_repr(segment: &Segment) -> SegmentRepr {
    SegmentRepr {
        id: segment.id.clone(),
        call_uuid: segment.call_uuid.clone(),
        conn_ids: segment.conn_ids.clone(),
        ani: segment.ani.clone(),
        dnis: segment.dnis.clone(),
        model: segment.model.to_string(),
        conformant: segment.conformant,
        outcome: segment.outcome.to_string(),
        release: segment.release.clone(),
        parties: segment.parties.iter().map(party_repr).collect(),
        first_time: segment.first_time,
        last_time: segment.last_time,
        complete: segment.complete,
        end_reason: segment.end_reason,
        consult_of: segment.consult_of.clone(),
        merged_into: segment.merged_into.clone(),
        links: segment.links.clone(),
        history: segment.history.clone(),
    }
}

fn segment_from(repr: SegmentRepr) -> Result<Segment, SnapshotError> {
    let invalid =
        |error: String| SnapshotError::Invalid(format!("segment {}/{}: {error}", repr.id.site, repr.id.key));
    let model = enum_label(&repr.model, CallModel::slug).map_err(invalid)?;
    let outcome = enum_label(&repr.outcome, Outcome::slug).map_err(invalid)?;
    let parties =
        repr.parties.iter().cloned().map(party_from).collect::<Result<Vec<_>, _>>().map_err(invalid)?;
    Ok(Segment {
        id: repr.id,
        call_uuid: repr.call_uuid,
        conn_ids: repr.conn_ids,
        ani: repr.ani,
        dnis: repr.dnis,
        model,
        conformant: repr.conformant,
        outcome,
        release: repr.release,
        parties,
        first_time: repr.first_time,
        last_time: repr.last_time,
        complete: repr.complete,
        end_reason: repr.end_reason,
        consult_of: repr.consult_of,
        merged_into: repr.merged_into,
        links: repr.links,
        history: repr.history,
    })
}

/// The whole state of a [`Linker`], without its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkerState {
    sites: SiteDirectory,
    next_serial: u64,
    segments: Vec<(u64, SegmentRepr)>,
    by_id: Vec<(SegmentId, u64)>,
    component_of: Vec<(u64, u64)>,
    components: Vec<(u64, Component)>,
    by_link: Vec<(Text, Vec<u64>)>,
    by_uuid: Vec<(CallUuid, Vec<u64>)>,
    by_site_conn: Vec<((Text, ConnId), Vec<u64>)>,
    waiting: Vec<(Wanted, Vec<u64>)>,
    observed_links: Vec<((Text, CallUuid), LinkSightings)>,
    observed_history: Vec<((Text, CallUuid), CallHistory)>,
    /// (deadline, component, version), sorted.
    due: Vec<(i64, u64, u64)>,
    watermark: i64,
    stats: LinkerStats,
    forgotten: u64,
}

/// A map's entries as a list sorted by key.
fn sorted<'a, K: Ord + Clone + 'a, V: Clone + 'a>(
    map: impl IntoIterator<Item = (&'a K, &'a V)>,
) -> Vec<(K, V)> {
    let mut entries: Vec<(K, V)> = map.into_iter().map(|(key, value)| (key.clone(), value.clone())).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries
}

impl Linker {
    /// The linker's state, for a snapshot that embeds it.
    pub fn state(&self) -> LinkerState {
        let mut segments: Vec<(u64, SegmentRepr)> =
            self.segments.iter().map(|(serial, segment)| (*serial, segment_repr(segment))).collect();
        segments.sort_by_key(|(serial, _)| *serial);
        let mut due: Vec<(i64, u64, u64)> = self.due.iter().map(|entry| entry.0).collect();
        due.sort_unstable();
        LinkerState {
            sites: self.sites.clone(),
            next_serial: self.next_serial,
            segments,
            by_id: sorted(&self.by_id),
            component_of: sorted(&self.component_of),
            components: sorted(&self.components),
            by_link: sorted(&self.by_link),
            by_uuid: sorted(&self.by_uuid),
            by_site_conn: sorted(&self.by_site_conn),
            waiting: sorted(&self.waiting),
            observed_links: sorted(&self.observed_links),
            observed_history: sorted(&self.observed_history),
            due,
            watermark: self.watermark,
            stats: self.stats.clone(),
            forgotten: self.forgotten,
        }
    }

    /// A linker that goes on exactly where the one that gave `state` was.
    pub fn from_state(state: LinkerState, config: LinkerConfig) -> Result<Linker, SnapshotError> {
        validate(&state)?;
        let mut linker = Linker::new(config, state.sites);
        linker.next_serial = state.next_serial;
        for (serial, repr) in state.segments {
            linker.segments.insert(serial, segment_from(repr)?);
        }
        linker.by_id = state.by_id.into_iter().collect();
        linker.component_of = state.component_of.into_iter().collect();
        linker.components = state.components.into_iter().collect();
        linker.by_link = state.by_link.into_iter().collect();
        linker.by_uuid = state.by_uuid.into_iter().collect();
        linker.by_site_conn = state.by_site_conn.into_iter().collect();
        linker.waiting = state.waiting.into_iter().collect();
        linker.observed_links = state.observed_links.into_iter().collect();
        linker.observed_history = state.observed_history.into_iter().collect();
        linker.due = state.due.into_iter().map(Reverse).collect();
        linker.watermark = state.watermark;
        linker.stats = state.stats;
        linker.forgotten = state.forgotten;
        Ok(linker)
    }

    /// The linker's state as bytes.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        encode(LINKER_FORMAT, LINK_VERSION, &self.state())
    }

    /// The linker a [`Linker::snapshot`] was taken of, with this configuration.
    pub fn restore(bytes: &[u8], config: LinkerConfig) -> Result<Linker, SnapshotError> {
        Linker::from_state(decode(bytes, LINKER_FORMAT, LINK_VERSION)?, config)
    }
}

/// Every segment a component or index names is held, every component a segment points to.
fn validate(state: &LinkerState) -> Result<(), SnapshotError> {
    let segments: std::collections::BTreeSet<u64> =
        state.segments.iter().map(|(serial, _)| *serial).collect();
    let components: std::collections::BTreeSet<u64> = state.components.iter().map(|(id, _)| *id).collect();
    for (id, component) in &state.components {
        check(!component.segments.is_empty(), || format!("component {id} is empty"))?;
        for serial in &component.segments {
            check(segments.contains(serial), || format!("component {id} holds unknown segment {serial}"))?;
        }
    }
    for (serial, component) in &state.component_of {
        check(segments.contains(serial), || format!("unknown segment {serial} has a component"))?;
        check(components.contains(component), || {
            format!("segment {serial} in unknown component {component}")
        })?;
    }
    for (id, serial) in &state.by_id {
        check(segments.contains(serial), || {
            format!("{}/{} names unknown segment {serial}", id.site, id.key)
        })?;
    }
    for serial in &segments {
        check(*serial < state.next_serial, || format!("segment {serial} beyond the next serial"))?;
    }
    Ok(())
}

/// The whole state of a [`Stitcher`], without its configurations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StitcherState {
    engine: EngineState,
    linker: LinkerState,
    newest: Option<i64>,
}

impl Stitcher {
    /// The stitcher's state, for a snapshot that embeds it (the service's, with recordings).
    pub fn state(&self) -> StitcherState {
        StitcherState { engine: self.engine.state(), linker: self.linker.state(), newest: self.newest }
    }

    /// A stitcher that goes on exactly where the one that gave `state` was.
    pub fn from_state(
        state: StitcherState,
        engine: EngineConfig,
        linker: LinkerConfig,
    ) -> Result<Stitcher, SnapshotError> {
        Ok(Stitcher {
            engine: Engine::from_state(state.engine, engine)?,
            linker: Linker::from_state(state.linker, linker)?,
            newest: state.newest,
            clock_margin: crate::stitcher::CLOCK_MARGIN,
        })
    }

    /// Everything in memory that affects future output, as bytes: restoring them and going
    /// on with the events after the last one pushed gives exactly what an uninterrupted run
    /// gives. The same state always gives the same bytes.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        encode(STITCHER_FORMAT, LINK_VERSION, &self.state())
    }

    /// The stitcher a [`Stitcher::snapshot`] was taken of, with these configurations (they
    /// are not part of the snapshot). A snapshot of another version is
    /// [`SnapshotError::Version`]: replay from the start instead.
    pub fn restore(
        bytes: &[u8],
        engine: EngineConfig,
        linker: LinkerConfig,
    ) -> Result<Stitcher, SnapshotError> {
        Stitcher::from_state(decode(bytes, STITCHER_FORMAT, LINK_VERSION)?, engine, linker)
    }
}
