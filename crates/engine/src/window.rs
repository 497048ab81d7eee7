//! One site's duplicate window: the (sequence number, message) of about its last `len` events,
//! kept at `seq % len`, so that a `[BSYNC]` copy or an overlapping HA log's event that comes
//! again within the window is recognised.
//!
//! The window is a ring of `len` entries (a power of two), but it costs what the site has sent,
//! not `len` entries up front: site names come from the events, so anyone who may post events
//! can name new sites. While few entries are used they are kept by position in a hash map
//! (tens of bytes each); once a quarter of the ring is used, the ring is allocated whole, at
//! most four times what those entries cost. Which position an event takes, and what it
//! replaces, is the same either way: only unused positions are left out.

use crate::hash::FxHashMap;

/// An empty entry (no event has this sequence number and message key together).
const NO_EVENT: (u64, u32) = (u64::MAX, u32::MAX);

/// The used entries of the ring.
#[derive(Debug, Clone)]
enum Entries {
    /// By position, while few are used.
    Sparse(FxHashMap<usize, (u64, u32)>),
    /// The whole ring, at `seq % len`; [`NO_EVENT`] where unused.
    Dense(Box<[(u64, u32)]>),
}

/// See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct DuplicateWindow {
    /// Entries in the ring: 0 before the site's first numbered event, else a power of two.
    len: usize,
    entries: Entries,
}

impl Default for DuplicateWindow {
    fn default() -> Self {
        DuplicateWindow { len: 0, entries: Entries::Sparse(FxHashMap::default()) }
    }
}

impl DuplicateWindow {
    /// An empty ring of `len` entries (0, or a power of two: see [`Self::for_window`]).
    pub(crate) fn with_len(len: usize) -> DuplicateWindow {
        debug_assert!(len == 0 || len.is_power_of_two());
        DuplicateWindow { len, ..DuplicateWindow::default() }
    }

    /// An empty ring remembering about `window` events (rounded up to a power of two).
    pub(crate) fn for_window(window: usize) -> DuplicateWindow {
        DuplicateWindow::with_len(window.max(1).next_power_of_two())
    }

    /// Entries in the ring (0 before the site's first numbered event).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether `(seq, key)` is at its place in the ring; it is put there either way.
    pub(crate) fn seen_before(&mut self, seq: u64, key: u32) -> bool {
        let position = (seq as usize) & (self.len - 1);
        let seen = match &mut self.entries {
            Entries::Dense(ring) => std::mem::replace(&mut ring[position], (seq, key)) == (seq, key),
            Entries::Sparse(used) => used.insert(position, (seq, key)) == Some((seq, key)),
        };
        self.densify_when_full();
        seen
    }

    /// Puts `(seq, key)` at `position` (restoring a snapshot, whose positions are checked
    /// before); a position past the ring is left out.
    pub(crate) fn put(&mut self, position: usize, seq: u64, key: u32) {
        if position >= self.len {
            return;
        }
        match &mut self.entries {
            Entries::Dense(ring) => ring[position] = (seq, key),
            Entries::Sparse(used) => {
                used.insert(position, (seq, key));
            }
        }
        self.densify_when_full();
    }

    /// (position, sequence number, message key) of every used entry, by position.
    pub(crate) fn entries(&self) -> Vec<(usize, u64, u32)> {
        match &self.entries {
            Entries::Dense(ring) => ring
                .iter()
                .enumerate()
                .filter(|(_, entry)| **entry != NO_EVENT)
                .map(|(position, (seq, key))| (position, *seq, *key))
                .collect(),
            Entries::Sparse(used) => {
                let mut entries: Vec<_> =
                    used.iter().map(|(position, (seq, key))| (*position, *seq, *key)).collect();
                entries.sort_unstable();
                entries
            }
        }
    }

    /// Allocates the whole ring once a quarter of it is used.
    fn densify_when_full(&mut self) {
        let Entries::Sparse(used) = &self.entries else { return };
        if used.len() * 4 < self.len {
            return;
        }
        let mut ring = vec![NO_EVENT; self.len].into_boxed_slice();
        for (position, entry) in used {
            ring[*position] = *entry;
        }
        self.entries = Entries::Dense(ring);
    }
}

#[cfg(test)]
mod tests {
    use super::{DuplicateWindow, Entries};

    fn is_dense(window: &DuplicateWindow) -> bool {
        matches!(window.entries, Entries::Dense(_))
    }

    #[test]
    fn an_event_is_seen_again_until_another_takes_its_place() {
        let mut window = DuplicateWindow::for_window(1000);
        assert_eq!(window.len(), 1024);
        assert!(!window.seen_before(5, 1));
        assert!(window.seen_before(5, 1));
        assert!(!window.seen_before(5, 2), "same number, another message");
        assert!(!window.seen_before(5 + 1024, 2), "a number a whole ring later takes the place");
        assert!(!window.seen_before(5, 2));
        assert_eq!(window.entries(), vec![(5, 5, 2)]);
    }

    #[test]
    fn the_whole_ring_is_allocated_only_once_a_quarter_is_used() {
        let mut window = DuplicateWindow::for_window(16_384);
        for seq in 0..4_095 {
            assert!(!window.seen_before(seq, 7));
        }
        assert!(!is_dense(&window), "{} of 16384 used", window.entries().len());
        assert!(!window.seen_before(4_095, 7));
        assert!(is_dense(&window));
        assert_eq!(window.entries().len(), 4_096);
    }

    #[test]
    fn what_was_seen_before_the_ring_was_allocated_is_still_seen() {
        let mut window = DuplicateWindow::for_window(64);
        let mut whole = [None; 64];
        for n in 0..200u64 {
            let (seq, key) = ((n * 37) % 97, (n % 3) as u32);
            let position = seq as usize % 64;
            let expected = whole[position] == Some((seq, key));
            whole[position] = Some((seq, key));
            assert_eq!(window.seen_before(seq, key), expected, "event {n}: seq {seq}");
        }
        assert!(is_dense(&window));
        let used: Vec<_> = whole
            .iter()
            .enumerate()
            .filter_map(|(position, entry)| entry.map(|(seq, key)| (position, seq, key)))
            .collect();
        assert_eq!(window.entries(), used);
    }

    #[test]
    fn a_ring_shorter_than_four_entries_is_allocated_at_its_first_event() {
        let mut window = DuplicateWindow::for_window(3);
        assert_eq!(window.len(), 4);
        assert!(!window.seen_before(9, 0));
        assert!(is_dense(&window));
        assert!(window.seen_before(9, 0));
        window.put(4, 0, 0);
        window.put(3, 3, 0);
        assert_eq!(window.entries(), vec![(1, 9, 0), (3, 3, 0)]);
    }
}
