//! The stored documents (an interaction's trace JSON with its recording, a call's report),
//! one zstd frame per row: they are a few KB of repetitive JSON each and most of what the
//! database held before (schema 5 stored them as text).

use std::cell::RefCell;

use crate::error::StoreError;

/// zstd's level 3: most of the gain at a fraction of the time of higher levels.
const LEVEL: i32 = 3;

thread_local! {
    /// One compression context per writing thread, kept: making one costs as much as
    /// compressing a small document.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// `text` as one zstd frame (with its size, so that reading allocates once).
pub fn pack(text: &[u8]) -> Result<Vec<u8>, StoreError> {
    let packed = COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = match cell.as_mut() {
            Some(compressor) => compressor,
            None => cell.insert(zstd::bulk::Compressor::new(LEVEL)?),
        };
        compressor.compress(text)
    });
    packed.map_err(|source| StoreError::Compression { what: "compressing", source })
}

/// What [`pack`] packed.
pub fn unpack(what: &'static str, packed: &[u8]) -> Result<Vec<u8>, StoreError> {
    zstd::stream::decode_all(packed).map_err(|source| StoreError::Compression { what, source })
}

/// What [`pack`] packed, parsed as JSON.
pub fn unpack_json(what: &'static str, packed: &[u8]) -> Result<serde_json::Value, StoreError> {
    let text = unpack(what, packed)?;
    serde_json::from_slice(&text).map_err(|source| StoreError::BadDocument { what, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_document_unpacks_to_the_same_bytes_and_corrupt_bytes_are_an_error() {
        let text = br#"{"interaction_id":"0123456789abcdef","segments":[]}"#.repeat(20);
        let packed = pack(&text).expect("pack");
        assert!(packed.len() < text.len() / 4, "{} of {}", packed.len(), text.len());
        assert_eq!(unpack("test", &packed).expect("unpack"), text);
        assert!(matches!(unpack("test", b"not zstd"), Err(StoreError::Compression { .. })));
    }
}
