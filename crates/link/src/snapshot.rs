//! Snapshots of the linker and of the [`Stitcher`] (engine and linker together).
//!
//! Everything in memory that affects future interactions is kept: segments (live and ended),
//! the engine calls they stand for, components with their edges, versions and what was
//! handed out (for revisions), the indexes with their lists in order, undecided ISCC origins,
//! the schedule, the estate's clocks, the counters and the site directory with what it
//! learned. Hash maps are written as lists sorted by key, so that the same state gives the
//! same bytes. The configurations are not in it. See `callstitch_engine::snapshot` for the
//! envelope.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use callstitch_engine::snapshot::{check, decode, encode};
use callstitch_engine::{CallHandle, Engine, EngineConfig, EngineState, SnapshotError};
use callstitch_tlib::{CallUuid, ConnId, Text};
use serde::{Deserialize, Serialize};

use crate::archive::Archive;
use crate::clocks::EstateClocks;
use crate::linker::{Component, Linker, LinkerConfig, LinkerStats};
use crate::segment::{Segment, SegmentId};
use crate::sites::SiteDirectory;
use crate::stitcher::Stitcher;

/// The format name of a linker snapshot.
pub const LINKER_FORMAT: &str = "callstitch-linker";
/// The format name of a stitcher snapshot.
pub const STITCHER_FORMAT: &str = "callstitch-stitcher";
/// The version of both formats this build writes and reads.
pub const LINK_VERSION: u32 = 2;

/// The whole state of a [`Linker`], without its configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkerState {
    sites: SiteDirectory,
    clocks: EstateClocks,
    next_serial: u64,
    segments: Vec<(u64, Arc<Segment>)>,
    handles: Vec<(CallHandle, u64)>,
    by_id: Vec<(SegmentId, u64)>,
    component_of: Vec<(u64, u64)>,
    components: Vec<(u64, Component)>,
    by_link: Vec<(Text, Vec<u64>)>,
    by_uuid: Vec<(CallUuid, Vec<u64>)>,
    by_site_conn: Vec<((Text, ConnId), Vec<u64>)>,
    pending_iscc: BTreeSet<u64>,
    iscc_queue: BTreeMap<Text, BTreeSet<(i64, u64)>>,
    /// ISCC destinations waiting for their origin's site to come (absent before it existed).
    #[serde(default)]
    awaiting_origin: Vec<((Text, ConnId), BTreeSet<SegmentId>)>,
    /// (estate time, component, version), sorted.
    due: Vec<(i64, u64, u64)>,
    parked: BTreeSet<u64>,
    dirty: BTreeSet<u64>,
    archive: Archive,
    stats: LinkerStats,
}

impl LinkerState {
    /// The bytes of [`Linker::snapshot`] for this state.
    pub fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        encode(LINKER_FORMAT, LINK_VERSION, self)
    }
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
        let mut due: Vec<(i64, u64, u64)> = self.due.iter().map(|entry| entry.0).collect();
        due.sort_unstable();
        LinkerState {
            sites: self.sites.clone(),
            clocks: self.clocks.clone(),
            next_serial: self.next_serial,
            segments: sorted(&self.segments),
            handles: sorted(&self.handles),
            by_id: sorted(&self.by_id),
            component_of: sorted(&self.component_of),
            components: sorted(&self.components),
            by_link: sorted(&self.by_link),
            by_uuid: sorted(&self.by_uuid),
            by_site_conn: sorted(&self.by_site_conn),
            pending_iscc: self.pending_iscc.clone(),
            iscc_queue: self.iscc_queue.clone(),
            awaiting_origin: sorted(&self.awaiting_origin),
            due,
            parked: self.parked.clone(),
            dirty: self.dirty.clone(),
            archive: self.archive.clone(),
            stats: self.stats.clone(),
        }
    }

    /// A linker that goes on exactly where the one that gave `state` was.
    pub fn from_state(state: LinkerState, config: LinkerConfig) -> Result<Linker, SnapshotError> {
        validate(&state)?;
        let mut linker = Linker::new(config, state.sites);
        linker.clocks = state.clocks;
        linker.next_serial = state.next_serial;
        linker.segments = state.segments.into_iter().collect();
        linker.handles = state.handles.into_iter().collect();
        linker.by_id = state.by_id.into_iter().collect();
        linker.component_of = state.component_of.into_iter().collect();
        linker.components = state.components.into_iter().collect();
        linker.by_link = state.by_link.into_iter().collect();
        linker.by_uuid = state.by_uuid.into_iter().collect();
        linker.by_site_conn = state.by_site_conn.into_iter().collect();
        linker.pending_iscc = state.pending_iscc;
        *linker.iscc_queue_mut() = state.iscc_queue;
        linker.awaiting_origin = state.awaiting_origin.into_iter().collect();
        linker.due = state.due.into_iter().map(Reverse).collect();
        linker.parked = state.parked;
        linker.dirty = state.dirty;
        linker.archive = state.archive;
        linker.stats = state.stats;
        Ok(linker)
    }

    /// The linker's state as bytes.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        self.state().encode()
    }

    /// The linker a [`Linker::snapshot`] was taken of, with this configuration.
    pub fn restore(bytes: &[u8], config: LinkerConfig) -> Result<Linker, SnapshotError> {
        Linker::from_state(decode(bytes, LINKER_FORMAT, LINK_VERSION)?, config)
    }
}

/// Every segment a component, handle or index names is held, every component a segment
/// points to.
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
    for (handle, serial) in &state.handles {
        check(segments.contains(serial), || format!("call {} names unknown segment {serial}", handle.0))?;
    }
    for serial in state.pending_iscc.iter() {
        check(segments.contains(serial), || format!("pending ISCC names unknown segment {serial}"))?;
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
}

impl StitcherState {
    /// The bytes of [`Stitcher::snapshot`]: the state's encoding, which can run on another
    /// thread than the one that took the state.
    pub fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        encode(STITCHER_FORMAT, LINK_VERSION, self)
    }
}

impl Stitcher {
    /// The stitcher's state, for a snapshot that embeds it (the service's, with recordings).
    pub fn state(&self) -> StitcherState {
        StitcherState { engine: self.engine.state(), linker: self.linker.state() }
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
        })
    }

    /// Everything in memory that affects future output, as bytes: restoring them and going
    /// on with the events after the last one pushed gives exactly what an uninterrupted run
    /// gives. The same state always gives the same bytes.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        self.state().encode()
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
