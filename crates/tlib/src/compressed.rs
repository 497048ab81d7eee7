//! Compressed logs: rotated T-Server / SIP Server logs are usually archived as gzip
//! (`.log.gz`) or zstd (`.log.zst`). [`Compression::sniff`] tells an archive by its first
//! bytes (its magic number, never its name alone), and [`decompress`] gives the log inside
//! as plain bytes, every gzip member of a file in turn and every zstd frame.
//!
//! A corrupt or truncated archive is an [`io::Error`] (kind `InvalidData`, or
//! `UnexpectedEof` when it ends too soon) whose text names the archive's kind and how many
//! bytes of log came out before it: the events before the damage are read, the rest is lost,
//! and the reader never panics on garbage (fuzzed: `fuzz/fuzz_targets/read_compressed.rs`).
//! Archives of kinds callstitch does not read (bzip2, xz, zip, lz4) are named by
//! [`unsupported_archive`], so a tool can say "decompress it first" instead of "no events".

use std::fmt;
use std::io::{self, Cursor, Read};

/// The first bytes of a gzip member (RFC 1952).
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// The first bytes of a zstd frame (RFC 8878).
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// Bytes [`sniff_and_decompress`] looks at to tell an archive.
pub const MAGIC_BYTES: usize = 4;

/// How a log file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    /// The compression the first bytes of a file show, if any.
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(GZIP_MAGIC) {
            Some(Compression::Gzip)
        } else if head.starts_with(ZSTD_MAGIC) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    /// The compression a file name suggests (`.gz`, `.zst`): which files of a directory to
    /// look at. What a file holds is told by [`Compression::sniff`].
    pub fn from_name(name: &str) -> Option<Compression> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".gz") {
            Some(Compression::Gzip)
        } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    /// How a tool names it.
    pub fn label(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A file name without its compression extension (`TS1.log.gz` → `TS1.log`): what names the
/// site of an archive whose header does not.
pub fn plain_name(name: &str) -> &str {
    match Compression::from_name(name) {
        Some(_) => name.rsplit_once('.').map_or(name, |(plain, _)| plain),
        None => name,
    }
}

/// Whether a file in a directory of logs is a log to read: `*.log`, or a compressed log —
/// `*.log.gz`, `*.log.zst`, and rotated copies archived as `*.log.1.gz`, `*.log-20260202.gz`.
pub fn is_log_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".log") {
        return true;
    }
    let Some(plain) =
        Compression::from_name(&lower).and_then(|_| lower.rsplit_once('.')).map(|(stem, _)| stem)
    else {
        return false;
    };
    plain.ends_with(".log") || plain.contains(".log.") || plain.contains(".log-")
}

/// The kind of an archive callstitch cannot read, from its first bytes.
pub fn unsupported_archive(head: &[u8]) -> Option<&'static str> {
    const KINDS: &[(&[u8], &str)] = &[
        (b"BZh", "a bzip2 archive"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "an xz archive"),
        (b"PK\x03\x04", "a zip archive"),
        (&[0x04, 0x22, 0x4d, 0x18], "an lz4 archive"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    ];
    KINDS.iter().find(|(magic, _)| head.starts_with(magic)).map(|(_, kind)| *kind)
}

/// The log inside an archive, as plain bytes. Errors of the archive come out of `read` as
/// [`io::Error`]s that say what is wrong with it (see the module documentation).
pub fn decompress<'a, R: Read + Send + 'a>(
    compression: Compression,
    input: R,
) -> io::Result<Box<dyn Read + Send + 'a>> {
    let inner: Box<dyn Read + Send + 'a> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
    };
    Ok(Box::new(Decompressed { inner, compression, out: 0, failed: None }))
}

/// Looks at the first bytes of `input` and gives the log it holds: decompressed when it is a
/// gzip or zstd archive, else the input as it is (the bytes looked at are given again).
pub fn sniff_and_decompress<'a, R: Read + Send + 'a>(
    mut input: R,
) -> io::Result<(Box<dyn Read + Send + 'a>, Option<Compression>)> {
    let mut head = Vec::with_capacity(MAGIC_BYTES);
    (&mut input).take(MAGIC_BYTES as u64).read_to_end(&mut head)?;
    let compression = Compression::sniff(&head);
    let whole = Cursor::new(head).chain(input);
    match compression {
        Some(compression) => Ok((decompress(compression, whole)?, Some(compression))),
        None => Ok((Box::new(whole), None)),
    }
}

/// A decoder whose errors say which archive went wrong, and after how much log. Past damage
/// it is never read again: every later read gives the same error (a caller that looked
/// ahead and put the bytes back meets it again where the log stops).
struct Decompressed<'a> {
    inner: Box<dyn Read + Send + 'a>,
    compression: Compression,
    /// Bytes of log given so far.
    out: u64,
    failed: Option<(io::ErrorKind, String)>,
}

impl Read for Decompressed<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        match self.inner.read(buf) {
            Ok(count) => {
                self.out += count as u64;
                Ok(count)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Err(error),
            Err(error) => {
                let (kind, message) = self.damaged(&error);
                self.failed = Some((kind, message.clone()));
                Err(io::Error::new(kind, message))
            }
        }
    }
}

impl Decompressed<'_> {
    fn damaged(&self, error: &io::Error) -> (io::ErrorKind, String) {
        let (kind, what) = match error.kind() {
            io::ErrorKind::UnexpectedEof => (io::ErrorKind::UnexpectedEof, "truncated"),
            _ => (io::ErrorKind::InvalidData, "corrupt"),
        };
        let message = format!(
            "{what} {} archive: the log stops after {} bytes ({error}); the rest of this file is lost",
            self.compression, self.out
        );
        (kind, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    const LOG: &[u8] = b"Application name: TS1\n\n@10:00:00.0000 [0] 8.1 distribute_event: message EventRinging\n\tAttributeThisDN\t'7001'\n";

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn read_all(bytes: Vec<u8>) -> (io::Result<Vec<u8>>, Option<Compression>) {
        let (mut reader, compression) = sniff_and_decompress(Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        (reader.read_to_end(&mut out).map(|_| out), compression)
    }

    #[test]
    fn gzip_and_zstd_are_told_by_their_first_bytes_and_give_the_log_back() {
        let (out, compression) = read_all(gzip(LOG));
        assert_eq!((out.unwrap(), compression), (LOG.to_vec(), Some(Compression::Gzip)));
        let (out, compression) = read_all(zstd::encode_all(LOG, 3).unwrap());
        assert_eq!((out.unwrap(), compression), (LOG.to_vec(), Some(Compression::Zstd)));
        let (out, compression) = read_all(LOG.to_vec());
        assert_eq!((out.unwrap(), compression), (LOG.to_vec(), None));
    }

    #[test]
    fn every_gzip_member_is_read_as_gzip_concatenates_them() {
        let mut two = gzip(&LOG[..30]);
        two.extend(gzip(&LOG[30..]));
        assert_eq!(read_all(two).0.unwrap(), LOG);
    }

    #[test]
    fn a_truncated_archive_is_an_error_that_says_so_after_the_log_before_it() {
        for archive in [gzip(&LOG.repeat(50)), zstd::encode_all(&LOG.repeat(50)[..], 3).unwrap()] {
            let cut = archive[..archive.len() - 9].to_vec();
            let (out, _) = read_all(cut);
            let error = out.expect_err("a cut archive is an error");
            assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{error}");
            assert!(error.to_string().contains("truncated"), "{error}");
        }
    }

    #[test]
    fn a_corrupt_archive_is_an_error_not_a_panic() {
        let mut archive = gzip(&LOG.repeat(50));
        for byte in &mut archive[12..40] {
            *byte ^= 0x5a;
        }
        let error = read_all(archive).0.expect_err("corrupt");
        assert!(error.to_string().contains("gzip archive"), "{error}");
        let mut bad_zstd = ZSTD_MAGIC.to_vec();
        bad_zstd.extend_from_slice(b"garbage garbage garbage");
        assert!(read_all(bad_zstd).0.is_err());
    }

    #[test]
    fn other_archives_are_named() {
        assert_eq!(unsupported_archive(b"BZh91AY&SY"), Some("a bzip2 archive"));
        assert_eq!(unsupported_archive(b"\xfd7zXZ\x00\x00"), Some("an xz archive"));
        assert_eq!(unsupported_archive(LOG), None);
    }

    #[test]
    fn names_suggest_and_magic_decides() {
        assert_eq!(Compression::from_name("TS1.20260202.log.GZ"), Some(Compression::Gzip));
        assert_eq!(Compression::from_name("TS1.log.zst"), Some(Compression::Zstd));
        assert_eq!(Compression::from_name("TS1.log"), None);
        assert_eq!(Compression::sniff(b"\x1f"), None, "one byte is not a gzip header");
        assert_eq!((plain_name("TS1.log.gz"), plain_name("TS1.log")), ("TS1.log", "TS1.log"));
        assert!(is_log_name("TS1.log") && is_log_name("TS1.20260202_101010.log.gz"));
        assert!(is_log_name("app.log.1.gz") && is_log_name("app.log-20260202.zst"));
        assert!(!is_log_name("truth.jsonl.gz") && !is_log_name("app.log.1") && !is_log_name("x.gz"));
    }

    proptest::proptest! {
        #[test]
        fn garbage_after_a_magic_number_never_panics(
            zstd_frame in proptest::bool::ANY,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
        ) {
            let mut bytes = if zstd_frame { ZSTD_MAGIC.to_vec() } else { GZIP_MAGIC.to_vec() };
            bytes.extend(body);
            let _ = read_all(bytes);
        }
    }
}
