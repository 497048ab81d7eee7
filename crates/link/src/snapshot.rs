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
use rustc_hash::FxHashMap as HashMap;
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
    #[serde(with = "sorted_list")]
    segments: HashMap<u64, Arc<Segment>>,
    #[serde(with = "sorted_list")]
    handles: HashMap<CallHandle, u64>,
    #[serde(with = "sorted_list")]
    by_id: HashMap<SegmentId, u64>,
    #[serde(with = "sorted_list")]
    component_of: HashMap<u64, u64>,
    #[serde(with = "sorted_list")]
    components: HashMap<u64, Component>,
    #[serde(with = "sorted_list")]
    by_link: HashMap<Text, Vec<u64>>,
    #[serde(with = "sorted_list")]
    by_uuid: HashMap<CallUuid, Vec<u64>>,
    #[serde(with = "sorted_list")]
    by_site_conn: HashMap<(Text, ConnId), Vec<u64>>,
    pending_iscc: BTreeSet<u64>,
    iscc_queue: BTreeMap<Text, BTreeSet<(i64, u64)>>,
    /// ISCC destinations waiting for their origin's site to come (absent before it existed).
    #[serde(default, with = "ordered_list")]
    awaiting_origin: BTreeMap<(Text, ConnId), BTreeSet<SegmentId>>,
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

/// A hash map written as the list of its entries sorted by key (the same state, the same
/// bytes). The state holds the map as the linker does, so that the capture on the ingest
/// thread is a copy and the sorting is left to the encoding, on another thread.
mod sorted_list {
    use std::hash::{BuildHasher, Hash};

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K, V, H, S>(
        map: &std::collections::HashMap<K, V, H>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        K: Serialize + Ord,
        V: Serialize,
        S: Serializer,
    {
        let mut entries: Vec<(&K, &V)> = map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        serializer.collect_seq(entries)
    }

    pub fn deserialize<'de, K, V, H, D>(
        deserializer: D,
    ) -> Result<std::collections::HashMap<K, V, H>, D::Error>
    where
        K: Deserialize<'de> + Eq + Hash,
        V: Deserialize<'de>,
        H: BuildHasher + Default,
        D: Deserializer<'de>,
    {
        super::from_list(deserializer)
    }
}

/// A map read from the list of its entries, as [`sorted_list`] and [`ordered_list`] write it.
fn from_list<'de, K, V, M, D>(deserializer: D) -> Result<M, D::Error>
where
    K: Deserialize<'de>,
    V: Deserialize<'de>,
    M: FromIterator<(K, V)>,
    D: serde::Deserializer<'de>,
{
    Ok(Vec::<(K, V)>::deserialize(deserializer)?.into_iter().collect())
}

/// An ordered map written as the list of its entries, as [`sorted_list`] writes a hash map.
mod ordered_list {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        super::from_list(deserializer)
    }
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
            segments: self.segments.clone(),
            handles: self.handles.clone(),
            by_id: self.by_id.clone(),
            component_of: self.component_of.clone(),
            components: self.components.clone(),
            by_link: self.by_link.clone(),
            by_uuid: self.by_uuid.clone(),
            by_site_conn: self.by_site_conn.clone(),
            pending_iscc: self.pending_iscc.clone(),
            iscc_queue: self.iscc_queue.clone(),
            awaiting_origin: self.awaiting_origin.clone(),
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
        linker.segments = state.segments;
        linker.handles = state.handles;
        linker.by_id = state.by_id;
        linker.component_of = state.component_of;
        linker.components = state.components;
        linker.by_link = state.by_link;
        linker.by_uuid = state.by_uuid;
        linker.by_site_conn = state.by_site_conn;
        linker.pending_iscc = state.pending_iscc;
        *linker.iscc_queue_mut() = state.iscc_queue;
        linker.awaiting_origin = state.awaiting_origin;
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
    let segments: std::collections::BTreeSet<u64> = state.segments.keys().copied().collect();
    let components: std::collections::BTreeSet<u64> = state.components.keys().copied().collect();
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
