//! A lookup from exact names to values, made for the reader's hot path.
//!
//! Every event line names a message and every attribute line an attribute; both lookups run
//! millions of times a second. A name is hashed from its length and its last eight bytes
//! (one load: T-Library names share their first bytes, `Attribute…`, `Event…`, and differ at
//! the end) with a multiplier chosen when the index is built so that no two names share a
//! slot. A lookup is then one multiply, one slot and one comparison done in 8-byte words, with
//! no call; open addressing stays as the fallback should no multiplier separate the names.

pub(crate) struct NameIndex<T> {
    entries: Vec<Entry<T>>,
    /// Entry index plus one; 0 is an empty slot.
    slots: Vec<u16>,
    /// The hash multiplier (odd), chosen at build time.
    seed: u64,
    /// 64 minus the number of slot bits.
    shift: u32,
}

struct Entry<T> {
    name: &'static [u8],
    /// The name's last eight bytes ([`tail`]), compared before the rest of it.
    tail: u64,
    value: T,
}

/// Multipliers tried before settling for probing.
const SEED_TRIES: u64 = 256;
/// Sets up to this many names get a table sparse enough (8 slots a name) for a multiplier
/// that separates them all to be found in a few tries; larger ones (the message names) probe.
const PERFECT_UP_TO: usize = 64;

impl<T> NameIndex<T> {
    // Every slot index is below `size`, the length of `slots`: `slot_of` keeps a product's top
    // `64 - shift` bits (`size` is `1 << (64 - shift)`) and probing wraps with `mask`.
    #[allow(clippy::indexing_slicing)]
    pub(crate) fn new(rows: impl IntoIterator<Item = (&'static str, T)>) -> NameIndex<T> {
        let entries: Vec<Entry<T>> = rows
            .into_iter()
            .map(|(name, value)| Entry { name: name.as_bytes(), tail: tail(name.as_bytes()), value })
            .collect();
        debug_assert!(entries.len() < usize::from(u16::MAX), "entry indexes fit a slot");
        let perfect = entries.len() <= PERFECT_UP_TO;
        let spread = if perfect { 8 } else { 4 };
        let size = (entries.len() * spread).next_power_of_two().max(16);
        let shift = 64 - size.trailing_zeros();
        let keys: Vec<u64> = entries.iter().map(|entry| key(entry.tail, entry.name.len())).collect();
        let tries = if perfect { SEED_TRIES } else { 0 };
        let seed = (0..tries)
            .map(seed_of)
            .find(|seed| separates(&keys, *seed, shift, size))
            .unwrap_or_else(|| seed_of(0));
        let mut slots = vec![0_u16; size];
        let mask = size - 1;
        for (index, key) in keys.iter().enumerate() {
            let mut slot = slot_of(*key, seed, shift);
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = index as u16 + 1;
        }
        NameIndex { entries, slots, seed, shift }
    }

    /// True when every name sits in its own home slot (a lookup is one probe).
    #[cfg(test)]
    pub(crate) fn is_perfect(&self) -> bool {
        self.entries.iter().enumerate().all(|(index, entry)| {
            let home = slot_of(key(entry.tail, entry.name.len()), self.seed, self.shift);
            usize::from(self.slots[home]) == index + 1
        })
    }

    #[inline(always)]
    pub(crate) fn get(&self, name: &[u8]) -> Option<&T> {
        let tail = tail(name);
        let mask = self.slots.len() - 1;
        let mut slot = slot_of(key(tail, name.len()), self.seed, self.shift);
        loop {
            let index = usize::from(*self.slots.get(slot)?).checked_sub(1)?;
            let entry = self.entries.get(index)?;
            if entry.tail == tail && entry.name.len() == name.len() && same_head(entry.name, name) {
                return Some(&entry.value);
            }
            slot = (slot + 1) & mask;
        }
    }
}

/// The multiplier of attempt `attempt` (odd, well mixed).
fn seed_of(attempt: u64) -> u64 {
    0x9E37_79B9_7F4A_7C15_u64.wrapping_add(attempt.wrapping_mul(0xD1B5_4A32_D192_ED03)) | 1
}

/// True when `seed` gives every key its own slot.
fn separates(keys: &[u64], seed: u64, shift: u32, size: usize) -> bool {
    let mut taken = vec![false; size];
    keys.iter().all(|key| {
        taken.get_mut(slot_of(*key, seed, shift)).is_some_and(|taken| !std::mem::replace(taken, true))
    })
}

#[inline(always)]
fn slot_of(key: u64, seed: u64, shift: u32) -> usize {
    (key.wrapping_mul(seed) >> shift) as usize
}

/// The tail and the length mixed into one word.
#[inline(always)]
fn key(tail: u64, length: usize) -> u64 {
    tail ^ (length as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F).rotate_left(31)
}

/// The last eight bytes as a word; a shorter name's bytes, all of them (so that two names of
/// one length under eight bytes have the same tail only when they are the same).
#[inline(always)]
fn tail(name: &[u8]) -> u64 {
    match name.len().checked_sub(8) {
        Some(start) => word(name, start),
        None => name.iter().fold(0_u64, |word, byte| word << 8 | u64::from(*byte)),
    }
}

/// The eight bytes of `bytes` from `at` (there are at least eight) as a word.
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8).and_then(|eight| <[u8; 8]>::try_from(eight).ok()) {
        Some(eight) => u64::from_le_bytes(eight),
        None => 0,
    }
}

/// For two names of one length with the same [`tail`]: true when the bytes before the tail
/// are the same too, compared a word at a time (a call to memcmp costs more than a name).
#[inline(always)]
fn same_head(a: &[u8], b: &[u8]) -> bool {
    let Some(head) = a.len().checked_sub(8) else { return true };
    let mut at = 0;
    while at < head {
        // The last word may reach into the tail, which is known to be equal.
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exact_names_only() {
        let index =
            NameIndex::new([("EventRinging", 1), ("EventReleased", 2), ("EventRingingX", 3), ("A", 4)]);
        assert_eq!(index.get(b"EventRinging"), Some(&1));
        assert_eq!(index.get(b"EventReleased"), Some(&2));
        assert_eq!(index.get(b"EventRingingX"), Some(&3));
        assert_eq!(index.get(b"A"), Some(&4));
        assert_eq!(index.get(b"EventRingin"), None);
        assert_eq!(index.get(b"EventRingimg"), None);
        assert_eq!(index.get(b"EventRinging "), None);
        assert_eq!(index.get(b"FventRinging"), None);
        assert_eq!(index.get(b""), None);
        assert_eq!(index.get(b"a very long name that no entry has"), None);
    }

    #[test]
    fn names_differing_only_in_the_middle_are_told_apart() {
        // Same length and same last eight bytes: the key collides, the comparison decides.
        let index = NameIndex::new([("AttributeAConnIDxx", 1), ("AttributeBConnIDxx", 2)]);
        assert_eq!(index.get(b"AttributeAConnIDxx"), Some(&1));
        assert_eq!(index.get(b"AttributeBConnIDxx"), Some(&2));
        assert_eq!(index.get(b"AttributeCConnIDxx"), None);
    }

    #[test]
    fn many_similar_names_all_resolve() {
        let names: Vec<&'static str> =
            (0..300).map(|index| &*Box::leak(format!("AttributeName{index:03}").into_boxed_str())).collect();
        let index = NameIndex::new(names.iter().enumerate().map(|(position, name)| (*name, position)));
        for (position, name) in names.iter().enumerate() {
            assert_eq!(index.get(name.as_bytes()), Some(&position));
        }
        assert_eq!(index.get(b"AttributeName300"), None);
    }
}
