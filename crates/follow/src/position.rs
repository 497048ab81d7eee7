//! What identifies a followed file and how far it was consumed: the [`Fingerprint`] of its
//! first bytes (it survives a rename, so a rotated file is still recognised) and the
//! [`Position`] the caller commits with the events it took.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use callstitch_tlib::compressed::{self, Compression};
use serde::{Deserialize, Serialize};

/// How many leading bytes of a file its fingerprint covers at most (the header block and
/// more: two segments of one server differ in their header's times).
pub const FINGERPRINT_BYTES: u32 = 1024;

/// A hash (64-bit FNV-1a, stable across versions) of a file's first `len` bytes; of a
/// compressed file (gzip, zstd), of the log's first bytes once decompressed, so that a log
/// and its archive have the same fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Bytes hashed: the file's first `len` bytes (fewer than [`FINGERPRINT_BYTES`] while
    /// the file is shorter).
    pub len: u32,
    /// The hash, as 16 hex digits in JSON (fits any store's text column).
    #[serde(with = "hex_u64")]
    pub hash: u64,
}

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint { len: 0, hash: callstitch_tlib::fnv::OFFSET }
    }
}

impl Fingerprint {
    /// The fingerprint of the start of `bytes`.
    pub fn of_prefix(bytes: &[u8]) -> Fingerprint {
        let mut fingerprint = Fingerprint::default();
        fingerprint.extend(bytes);
        fingerprint
    }

    /// Hashes the bytes that follow the ones already hashed, up to [`FINGERPRINT_BYTES`].
    pub fn extend(&mut self, bytes: &[u8]) {
        let room = FINGERPRINT_BYTES.saturating_sub(self.len) as usize;
        let taken = bytes.get(..bytes.len().min(room)).unwrap_or(bytes);
        self.hash = callstitch_tlib::fnv::extend(self.hash, taken);
        self.len += taken.len() as u32;
    }

    /// True when the file at `path` (decompressed, when it is an archive) starts with the
    /// bytes this fingerprint hashed.
    pub fn matches_file(&self, path: &Path) -> bool {
        match read_log_head(path, self.len as usize) {
            Ok(head) => head.len() == self.len as usize && Fingerprint::of_prefix(&head) == *self,
            Err(_) => false,
        }
    }
}

/// The first `len` bytes of a file (fewer when it is shorter).
pub(crate) fn read_head(path: &Path, len: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(len);
    File::open(path)?.take(len as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// How a file is compressed, from its first bytes (`None`: a plain file).
pub(crate) fn archive_kind(path: &Path) -> io::Result<Option<Compression>> {
    Ok(Compression::sniff(&read_head(path, compressed::MAGIC_BYTES)?))
}

/// The first `len` bytes of the log a file holds: decompressed when it is an archive (what
/// a damaged archive gives before its damage).
pub(crate) fn read_log_head(path: &Path, len: usize) -> io::Result<Vec<u8>> {
    let (input, compression) = compressed::sniff_and_decompress(File::open(path)?)?;
    let mut head = Vec::with_capacity(len);
    match input.take(len as u64).read_to_end(&mut head) {
        Err(_) if compression.is_some() => Ok(head),
        done => done.map(|_| head),
    }
}

/// How far one file was consumed: give these back to [`crate::Follower::new`] after a
/// restart to continue exactly after the last event handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Where the file was last seen.
    pub path: PathBuf,
    /// What identifies the file wherever it is now.
    pub fingerprint: Fingerprint,
    /// The byte offset just after the last event handed out (0: none yet).
    pub offset: u64,
    /// The file was read to its end and closed (rotated away or followed by a newer
    /// segment): after a restart it is not read again.
    pub finished: bool,
}

mod hex_u64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{value:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        u64::from_str_radix(&text, 16).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_grows_with_the_file_up_to_its_limit() {
        let bytes = vec![b'x'; 3000];
        let mut growing = Fingerprint::of_prefix(&bytes[..10]);
        assert_eq!(growing.len, 10);
        growing.extend(&bytes[10..2000]);
        assert_eq!(growing, Fingerprint::of_prefix(&bytes));
        assert_eq!(growing.len, FINGERPRINT_BYTES);
        assert_ne!(Fingerprint::of_prefix(b"abc"), Fingerprint::of_prefix(b"abd"));
    }

    #[test]
    fn a_position_round_trips_through_json_with_a_hex_hash() {
        let position = Position {
            path: PathBuf::from("/logs/TS1.log"),
            fingerprint: Fingerprint::of_prefix(b"Application name: TS1\n"),
            offset: 4242,
            finished: false,
        };
        let json = serde_json::to_string(&position).unwrap_or_default();
        assert!(json.contains(&format!("\"hash\":\"{:016x}\"", position.fingerprint.hash)), "{json}");
        let back: Position = serde_json::from_str(&json).unwrap_or_else(|error| panic!("{error}: {json}"));
        assert_eq!(back, position);
    }
}
