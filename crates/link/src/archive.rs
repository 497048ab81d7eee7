//! Late evidence for interactions the live linker already forgot.
//!
//! Live, a complete interaction leaves memory once its revision grace has passed. Most can
//! take no more evidence: every link paired, nothing handed on. Those that could (a link whose
//! other end never came, a call that handed the customer on to somewhere unseen) are kept as
//! bytes, indexed by what could still join them: the unpaired link ids, and the CallUUID and
//! (site, ConnID) of the call that handed on. When a later call shows one of those (a site
//! whose logs arrive hours late, a post-mortem link), the interaction comes back whole and the
//! linker goes on as if it had never left; its next hand-out is a revision that replaces what
//! was written. An archived interaction is dropped [`LinkerConfig::archive_horizon`] of
//! estate time after it completed.
//!
//! Reading input whose sites are not named up front (JSON lines, standard input), a site
//! not seen yet can still bring evidence for any interaction: there every complete
//! interaction is archived rather than handed out, indexed by all its CallUUIDs and
//! (site, ConnID)s as well, and all are handed out when the input ends. Reading named sites,
//! nothing is archived: an interaction that could still take evidence waits for the other
//! site's time.
//!
//! [`LinkerConfig::archive_horizon`]: crate::LinkerConfig::archive_horizon

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use callstitch_tlib::{CallUuid, ConnId, Text};
use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};

use crate::linker::{Component, Linker};
use crate::segment::Segment;

/// What could still join an archived interaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum OpenEnd {
    Link(Text),
    Uuid(CallUuid),
    Conn(Text, ConnId),
    /// An ISCC destination whose origin, on a site not seen when it was decided, was not
    /// found: opened by a call of that site showing the ConnID.
    IsccOrigin(Text, ConnId),
}

/// One forgotten interaction, as it was.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Forgotten {
    segments: Vec<(u64, Arc<Segment>)>,
    component: Component,
}

/// The archive: forgotten interactions as their JSON text, by number, and what opens them
/// (ordered maps, so that a snapshot of the same archive is the same bytes). The index is not
/// written (a JSON map takes no structured key): it is built again from the entries when read.
/// The text is written into a snapshot as a string: as bytes, JSON writes each one as a
/// number (four characters a byte), which made the archive most of a busy linker's snapshot.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "StoredArchive")]
pub(crate) struct Archive {
    next: u64,
    entries: BTreeMap<u64, (String, Vec<OpenEnd>)>,
    #[serde(skip_serializing)]
    index: BTreeMap<OpenEnd, Vec<u64>>,
    /// (estate time to drop it at, entry).
    expiry: BTreeSet<(i64, u64)>,
}

/// An archive as a snapshot holds it: without its index.
#[derive(Deserialize)]
struct StoredArchive {
    next: u64,
    entries: BTreeMap<u64, (StoredText, Vec<OpenEnd>)>,
    expiry: BTreeSet<(i64, u64)>,
}

/// A forgotten interaction's text as a snapshot holds it: a string, or (snapshots written
/// before it was one) a list of bytes.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredText {
    Text(String),
    Bytes(Vec<u8>),
}

impl From<StoredText> for String {
    fn from(stored: StoredText) -> String {
        match stored {
            StoredText::Text(text) => text,
            // Not UTF-8 only if damaged: the interaction then cannot come back, as before.
            StoredText::Bytes(bytes) => String::from_utf8(bytes).unwrap_or_default(),
        }
    }
}

impl From<StoredArchive> for Archive {
    fn from(stored: StoredArchive) -> Archive {
        let mut index: BTreeMap<OpenEnd, Vec<u64>> = BTreeMap::new();
        for (entry, (_, ends)) in &stored.entries {
            for end in ends {
                index.entry(end.clone()).or_default().push(*entry);
            }
        }
        let entries =
            stored.entries.into_iter().map(|(entry, (text, ends))| (entry, (text.into(), ends))).collect();
        Archive { next: stored.next, entries, index, expiry: stored.expiry }
    }
}

impl Archive {
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries `end` opens.
    pub(crate) fn opened_by(&self, end: &OpenEnd) -> Vec<u64> {
        self.index.get(end).cloned().unwrap_or_default()
    }

    /// What opens `entry` (none when it is not held).
    pub(crate) fn ends_of(&self, entry: u64) -> &[OpenEnd] {
        self.entries.get(&entry).map_or(&[], |(_, ends)| ends.as_slice())
    }

    /// Every entry, oldest first.
    pub(crate) fn all(&self) -> Vec<u64> {
        self.entries.keys().copied().collect()
    }

    fn remove(&mut self, entry: u64) -> Option<String> {
        let (bytes, ends) = self.entries.remove(&entry)?;
        for end in ends {
            if let Some(entries) = self.index.get_mut(&end) {
                entries.retain(|known| *known != entry);
                if entries.is_empty() {
                    self.index.remove(&end);
                }
            }
        }
        Some(bytes)
    }
}

impl Linker {
    /// What of a component could still take evidence: its unpaired links; when its last
    /// call handed the customer on, that call's CallUUID and ConnIDs; and the CallUUID of every
    /// call whose end was lost (an idle timeout: more of its events may still come).
    pub(crate) fn open_ends(&self, component: &Component) -> Vec<OpenEnd> {
        let mut ends: Vec<OpenEnd> =
            self.lone_link_ends(component, false).into_iter().map(OpenEnd::Link).collect();
        if let Some(serial) = self.hand_off_segment(component) {
            if let Some(segment) = self.segments.get(&serial) {
                ends.extend(segment.call_uuid.clone().map(OpenEnd::Uuid));
                let site = &segment.id.site;
                ends.extend(segment.conn_ids.iter().map(|conn| OpenEnd::Conn(site.clone(), *conn)));
            }
        }
        for serial in &component.segments {
            let Some(segment) = self.segments.get(serial) else { continue };
            let lost_end = segment.end.as_ref().is_some_and(|end| !end.complete);
            if let (true, Some(uuid)) = (lost_end, &segment.call_uuid) {
                ends.push(OpenEnd::Uuid(uuid.clone()));
            }
            let awaited = self.awaiting_origin.iter().filter(|(_, ids)| ids.contains(&segment.id));
            ends.extend(awaited.map(|((site, conn), _)| OpenEnd::IsccOrigin(site.clone(), *conn)));
        }
        ends.sort();
        ends.dedup();
        ends
    }

    /// Reading input of sites not named up front: a site not seen yet may still bring
    /// evidence for any interaction, so complete ones are archived until the input ends.
    pub(crate) fn archives_everything(&self) -> bool {
        self.config.live.is_none() && self.sites.is_empty()
    }

    /// Live, a named site has sent nothing yet (its collector starts late, its logs are held
    /// back): when it comes, any of its calls may join an interaction already forgotten, by a
    /// CallUUID kept between SIP Servers or by ISCC call history naming a ConnID. Until every
    /// named site has been seen, forgotten interactions are therefore archived indexed by all
    /// their CallUUIDs and (site, ConnID)s, for [`crate::LinkerConfig::archive_horizon`].
    pub(crate) fn awaits_unseen_site(&self) -> bool {
        self.config.live.is_some()
            && self.sites.known().iter().any(|site| !self.clocks().get(site).is_some_and(|time| time.seen()))
    }

    /// Keeps a component that leaves memory as bytes, when something could still join it.
    pub(crate) fn archive(&mut self, component: &Component, completed: i64) {
        let everything = self.archives_everything() || self.awaits_unseen_site();
        if !everything && self.config.live.is_none() {
            // Reading input with every site named: nothing is archived (the ends below
            // would not be looked at).
            return;
        }
        let mut ends = self.open_ends(component);
        if everything {
            for serial in &component.segments {
                let Some(segment) = self.segments.get(serial) else { continue };
                ends.extend(segment.call_uuid.clone().map(OpenEnd::Uuid));
                let site = &segment.id.site;
                ends.extend(segment.conn_ids.iter().map(|conn| OpenEnd::Conn(site.clone(), *conn)));
            }
            ends.sort();
            ends.dedup();
        } else if ends.is_empty() {
            return;
        }
        let segments: Vec<(u64, Arc<Segment>)> = component
            .segments
            .iter()
            .filter_map(|serial| self.segments.get(serial).map(|segment| (*serial, segment.clone())))
            .collect();
        let forgotten = Forgotten { segments, component: component.clone() };
        let Ok(text) = serde_json::to_string(&forgotten) else { return };
        let archive = &mut self.archive;
        let entry = archive.next;
        archive.next += 1;
        for end in &ends {
            archive.index.entry(end.clone()).or_default().push(entry);
        }
        archive.entries.insert(entry, (text, ends));
        if self.config.live.is_some() {
            let until = completed.saturating_add(self.config.archive_horizon);
            archive.expiry.insert((until, entry));
        }
        self.stats.archived += 1;
    }

    /// Archived ISCC destinations that left the archive for good: each of `keys` keeps only
    /// the destinations still in memory, unless another archived interaction waits on it too.
    fn forget_awaiting(&mut self, keys: &[(Text, ConnId)]) {
        for key in keys {
            if !self.archive.opened_by(&OpenEnd::IsccOrigin(key.0.clone(), key.1)).is_empty() {
                continue;
            }
            let Some(ids) = self.awaiting_origin.get_mut(key) else { continue };
            ids.retain(|id| self.by_id.contains_key(id));
            if ids.is_empty() {
                self.awaiting_origin.remove(key);
            }
        }
    }

    /// Drops archived interactions whose horizon passed.
    pub(crate) fn expire_archive(&mut self, now: i64) {
        while let Some((until, entry)) = self.archive.expiry.first().copied() {
            if until > now {
                break;
            }
            self.archive.expiry.pop_first();
            let awaited: Vec<(Text, ConnId)> = self
                .archive
                .ends_of(entry)
                .iter()
                .filter_map(|end| match end {
                    OpenEnd::IsccOrigin(site, conn) => Some((site.clone(), *conn)),
                    _ => None,
                })
                .collect();
            self.archive.remove(entry);
            self.forget_awaiting(&awaited);
        }
    }

    /// Brings back the archived interactions `end` opens: their segments get new serials,
    /// their components are whole again and have news.
    pub(crate) fn revive(&mut self, end: &OpenEnd) {
        for entry in self.archive.opened_by(end) {
            self.revive_entry(entry);
        }
    }

    /// Brings back every archived interaction (the input ended).
    pub(crate) fn revive_all(&mut self) {
        for entry in self.archive.all() {
            self.revive_entry(entry);
        }
    }

    fn revive_entry(&mut self, entry: u64) -> bool {
        let Some(text) = self.archive.remove(entry) else { return false };
        let Ok(forgotten) = serde_json::from_str::<Forgotten>(&text) else { return false };
        self.stats.revived += 1;
        let mut serials: HashMap<u64, u64> = HashMap::default();
        for (old, segment) in forgotten.segments {
            let segment = Arc::unwrap_or_clone(segment);
            let serial = match self.by_id.get(&segment.id).copied() {
                // The same call came back meanwhile (more events of it): one segment, with
                // what the archived one knew.
                Some(known) => {
                    if let Some(held) = self.segments.get_mut(&known).map(Arc::make_mut) {
                        held.absorb(segment);
                    }
                    known
                }
                None => self.insert(segment),
            };
            serials.insert(old, serial);
        }
        let mut component = forgotten.component;
        let remap = |serial: &mut u64| {
            if let Some(new) = serials.get(serial) {
                *serial = *new;
            }
        };
        component.segments.iter_mut().for_each(remap);
        for edge in &mut component.edges {
            remap(&mut edge.from);
            remap(&mut edge.to);
        }
        self.restore_component(component);
        true
    }
}
