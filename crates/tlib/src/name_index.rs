//! A lookup from exact names to values, made for the reader's hot path.
//!
//! Every event line names a message and every attribute line an attribute; both lookups run
//! millions of times a second. Names are hashed from their length and four of their bytes
//! into an open-addressed table a few times larger than the name set, so a lookup is a hash,
//! usually one probe and one comparison.

pub(crate) struct NameIndex<T> {
    entries: Vec<(&'static [u8], T)>,
    /// Entry index plus one; 0 is an empty slot.
    slots: Vec<u16>,
    mask: usize,
}

impl<T> NameIndex<T> {
    pub(crate) fn new(rows: impl IntoIterator<Item = (&'static str, T)>) -> NameIndex<T> {
        let entries: Vec<(&'static [u8], T)> =
            rows.into_iter().map(|(name, value)| (name.as_bytes(), value)).collect();
        debug_assert!(entries.len() < usize::from(u16::MAX), "entry indexes fit a slot");
        let size = (entries.len() * 4).next_power_of_two().max(16);
        let mut slots = vec![0_u16; size];
        let mask = size - 1;
        for (index, (name, _)) in entries.iter().enumerate() {
            let mut slot = hash(name) & mask;
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = index as u16 + 1;
        }
        NameIndex { entries, slots, mask }
    }

    pub(crate) fn get(&self, name: &[u8]) -> Option<&T> {
        let mut slot = hash(name) & self.mask;
        loop {
            let index = usize::from(self.slots[slot]).checked_sub(1)?;
            let (candidate, value) = &self.entries[index];
            if *candidate == name {
                return Some(value);
            }
            slot = (slot + 1) & self.mask;
        }
    }
}

/// Length, first, middle and last two bytes: enough to spread T-Library names.
fn hash(name: &[u8]) -> usize {
    let length = name.len();
    let byte = |index: usize| name.get(index).copied().unwrap_or(0) as u32;
    let mixed = (length as u32).wrapping_mul(0x9E37_79B1)
        ^ byte(length / 2).wrapping_mul(0x85EB_CA77)
        ^ byte(length.wrapping_sub(1)).wrapping_mul(0xC2B2_AE3D)
        ^ byte(length.wrapping_sub(2)).wrapping_mul(0x27D4_EB2F)
        ^ byte(9).wrapping_mul(0x1656_67B1);
    (mixed ^ (mixed >> 15)) as usize
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
        assert_eq!(index.get(b""), None);
        assert_eq!(index.get(b"a very long name that no entry has"), None);
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
