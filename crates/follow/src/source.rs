//! The byte source a followed file's reader reads from: the open file, read sequentially,
//! that pauses (`WouldBlock`) at the end of what is written instead of ending, so the log
//! reader keeps its place; it ends only once the file is drained. It also hashes the file's
//! first bytes as they pass (the [`Fingerprint`]), keeps them (to tell a file cut short from
//! new content), can stop at a cap (the resume offset), and can end the line a file was cut
//! inside of, so that what was appended after the cut starts a line of its own.
//!
//! An archive (a gzip or zstd file) is read through its decoder: offsets, the fingerprint
//! and the kept bytes are those of the log inside; it never grows, so its end is the end.

use std::collections::VecDeque;
use std::fs::{File, Metadata};
use std::io::{self, Read, Seek};

use callstitch_tlib::compressed::{self, Compression};

use crate::cut::{starts_a_line, LINE_START_BYTES};
use crate::position::{Fingerprint, FINGERPRINT_BYTES};

/// How many of the last bytes read from a file are remembered, to find where a file that
/// shrank was cut when more was written after the cut before it was seen.
pub(crate) const TAIL_BYTES: usize = 64 << 10;

pub(crate) struct FileSource {
    file: File,
    /// An archive's decoder: its log is read through it (from a second handle of `file`).
    decoded: Option<Box<dyn Read + Send>>,
    /// Bytes handed to the reader so far (the file is read from byte 0, in order), the line
    /// end given at `cut_at` included.
    pub read: u64,
    /// Do not read past this offset (pause there).
    pub cap: Option<u64>,
    /// The file will not grow any more: its end is the end of the input.
    pub ended: bool,
    pub fingerprint: Fingerprint,
    /// The file's first bytes as read (up to [`FINGERPRINT_BYTES`]).
    pub head: Vec<u8>,
    /// The last bytes of the file read (up to [`TAIL_BYTES`]), ending at `file_read()`.
    pub tail: VecDeque<u8>,
    /// The file was cut short inside a line: what is written after the cut starts a line of
    /// its own (a line end is handed to the reader there) when it looks like a line's start.
    cut: CutLine,
}

/// The line a file was cut inside of, and whether a line end was handed to the reader there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CutLine {
    None,
    /// At this offset, not reached yet (or what follows is not there yet).
    Pending(u64),
    /// A line end was handed to the reader at this offset.
    Ended(u64),
}

impl FileSource {
    pub fn new(file: File, cut_at: Option<u64>) -> FileSource {
        FileSource {
            file,
            decoded: None,
            read: 0,
            cap: None,
            ended: false,
            fingerprint: Fingerprint::default(),
            head: Vec::new(),
            tail: VecDeque::new(),
            cut: cut_at.map_or(CutLine::None, CutLine::Pending),
        }
    }

    /// An archive, read decompressed to its end.
    pub fn archive(file: File, compression: Compression) -> io::Result<FileSource> {
        let decoder = compressed::decompress(compression, file.try_clone()?)?;
        let mut source = FileSource::new(file, None);
        source.decoded = Some(decoder);
        source.ended = true;
        Ok(source)
    }

    pub fn is_archive(&self) -> bool {
        self.decoded.is_some()
    }

    pub fn metadata(&self) -> io::Result<Metadata> {
        self.file.metadata()
    }

    /// The file offset of an offset in what the reader was handed (they differ by the line
    /// end given at a cut, after it).
    pub fn file_offset(&self, reader_offset: u64) -> u64 {
        match self.cut {
            CutLine::Ended(cut) if reader_offset > cut => reader_offset - 1,
            _ => reader_offset,
        }
    }

    /// Bytes of the file read so far.
    pub fn file_read(&self) -> u64 {
        self.file_offset(self.read)
    }

    /// The same open file, to be read again from its start (this source is done with).
    pub fn reopen(&self) -> io::Result<File> {
        let mut file = self.file.try_clone()?;
        file.seek(io::SeekFrom::Start(0))?;
        Ok(file)
    }

    /// True when the file's byte just before `size` is not a line end.
    pub fn cut_inside_a_line(&self, size: u64) -> bool {
        cut_inside_a_line(&self.file, size)
    }

    /// `len` bytes of the file from `offset` (fewer at its end), without moving the position.
    pub fn bytes_at(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        bytes_at(&self.file, offset, len)
    }

    /// Whether what follows a cut at `cut` starts a line (`None`: not known yet).
    fn after_the_cut(&self, cut: u64) -> io::Result<Option<bool>> {
        let next = bytes_at(&self.file, cut, LINE_START_BYTES)?;
        Ok(match starts_a_line(&next) {
            None if self.ended => Some(false),
            known => known,
        })
    }

    fn note_read(&mut self, bytes: &[u8]) {
        self.fingerprint.extend(bytes);
        let room = (FINGERPRINT_BYTES as usize).saturating_sub(self.head.len());
        self.head.extend_from_slice(bytes.get(..room).unwrap_or(bytes));
        let tail_from = bytes.len().saturating_sub(TAIL_BYTES);
        self.tail.extend(bytes.get(tail_from..).unwrap_or_default());
        let excess = self.tail.len().saturating_sub(TAIL_BYTES);
        self.tail.drain(..excess);
    }
}

impl Read for FileSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut want = match self.cap {
            Some(cap) if self.read >= cap => return Err(io::ErrorKind::WouldBlock.into()),
            Some(cap) => buf.len().min(usize::try_from(cap - self.read).unwrap_or(usize::MAX)),
            None => buf.len(),
        };
        if let Some(decoder) = self.decoded.as_mut() {
            let count = decoder.read(prefix_mut(buf, want))?;
            self.note_read(buf.get(..count).unwrap_or_default());
            self.read += count as u64;
            return Ok(count);
        }
        if let CutLine::Pending(cut) = self.cut {
            if let (true, Some(first)) = (self.read == cut && want > 0, buf.first_mut()) {
                match self.after_the_cut(cut)? {
                    Some(true) => {
                        *first = b'\n';
                        self.cut = CutLine::Ended(cut);
                        self.read += 1;
                        return Ok(1);
                    }
                    Some(false) => self.cut = CutLine::None,
                    None => return Err(io::ErrorKind::WouldBlock.into()),
                }
            } else {
                want = want.min(usize::try_from(cut.saturating_sub(self.read)).unwrap_or(usize::MAX));
            }
        }
        let count = self.file.read(prefix_mut(buf, want))?;
        if count == 0 {
            if self.ended {
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.note_read(buf.get(..count).unwrap_or_default());
        self.read += count as u64;
        Ok(count)
    }
}

/// True when the file's byte just before `size` is not a line end: a cut at `size` falls
/// inside a line.
pub(crate) fn cut_inside_a_line(file: &File, size: u64) -> bool {
    match size.checked_sub(1).map(|last| bytes_at(file, last, 1)) {
        Some(Ok(last)) => last.first().is_some_and(|byte| *byte != b'\n'),
        _ => false,
    }
}

/// How an open file is compressed, from its first bytes (`None`: plain, or unreadable).
pub(crate) fn archive_of(file: &File) -> Option<Compression> {
    bytes_at(file, 0, compressed::MAGIC_BYTES).ok().and_then(|head| Compression::sniff(&head))
}

/// Which file a path names (device and inode), to see a path renamed away and replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    device: u64,
    inode: u64,
}

#[cfg(unix)]
pub(crate) fn file_id(metadata: &Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId { device: metadata.dev(), inode: metadata.ino() })
}

/// Without inodes, a replaced path is only seen when the file shrinks (as a truncation).
#[cfg(not(unix))]
pub(crate) fn file_id(_metadata: &Metadata) -> Option<FileId> {
    None
}

/// True when the open file has no name left (deleted, not renamed).
#[cfg(unix)]
pub(crate) fn is_unlinked(metadata: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    metadata.nlink() == 0
}

#[cfg(not(unix))]
pub(crate) fn is_unlinked(_metadata: &Metadata) -> bool {
    true
}

/// The first `len` bytes of `buf` (all of it when it is shorter).
fn prefix_mut(buf: &mut [u8], len: usize) -> &mut [u8] {
    let len = len.min(buf.len());
    buf.get_mut(..len).unwrap_or_default()
}

/// Reads the first `len` bytes of the open file without moving its read position.
pub(crate) fn head_of(file: &FileSource, len: usize) -> io::Result<Vec<u8>> {
    file.bytes_at(0, len)
}

/// `len` bytes of `file` from `offset` (fewer at its end), without moving its position.
fn bytes_at(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0; len];
    let mut filled = 0;
    while filled < len {
        let Some(rest) = bytes.get_mut(filled..) else { break };
        let count = read_at(file, rest, offset + filled as u64)?;
        if count == 0 {
            break;
        }
        filled += count;
    }
    bytes.truncate(filled);
    Ok(bytes)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(not(any(unix, windows)))]
fn read_at(_file: &File, _buf: &mut [u8], _offset: u64) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}
