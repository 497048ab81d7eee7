//! The byte source a followed file's reader reads from: the open file, read sequentially,
//! that pauses (`WouldBlock`) at the end of what is written instead of ending, so the log
//! reader keeps its place; it ends only once the file is drained. It also hashes the file's
//! first bytes as they pass (the [`Fingerprint`]) and can stop at a cap (the resume offset).

use std::fs::{File, Metadata};
use std::io::{self, Read};

use crate::position::Fingerprint;

pub(crate) struct FileSource {
    file: File,
    /// Bytes handed to the reader so far (the file is read from byte 0, in order).
    pub read: u64,
    /// Do not read past this offset (pause there).
    pub cap: Option<u64>,
    /// The file will not grow any more: its end is the end of the input.
    pub ended: bool,
    pub fingerprint: Fingerprint,
}

impl FileSource {
    pub fn new(file: File) -> FileSource {
        FileSource { file, read: 0, cap: None, ended: false, fingerprint: Fingerprint::default() }
    }

    pub fn metadata(&self) -> io::Result<Metadata> {
        self.file.metadata()
    }
}

impl Read for FileSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = match self.cap {
            Some(cap) if self.read >= cap => return Err(io::ErrorKind::WouldBlock.into()),
            Some(cap) => buf.len().min(usize::try_from(cap - self.read).unwrap_or(usize::MAX)),
            None => buf.len(),
        };
        let count = self.file.read(&mut buf[..want])?;
        if count == 0 {
            if self.ended {
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.fingerprint.extend(&buf[..count]);
        self.read += count as u64;
        Ok(count)
    }
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

/// Reads the first `len` bytes of the open file without moving its read position.
#[cfg(unix)]
pub(crate) fn head_of(file: &FileSource, len: usize) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut head = vec![0; len];
    let mut filled = 0;
    while filled < len {
        let count = file.file.read_at(&mut head[filled..], filled as u64)?;
        if count == 0 {
            break;
        }
        filled += count;
    }
    head.truncate(filled);
    Ok(head)
}
