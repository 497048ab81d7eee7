//! Where a followed file that changed under the reader was cut: the first byte at which the
//! file differs from what was read of it, as far as that is remembered (its first bytes and
//! the last [`TAIL_BYTES`] read), moved to where the line written after the cut begins.
//!
//! A file that shrank and was written on before the follower looked again holds the old
//! bytes up to the cut, then the new ones; the new ones must be read and the old ones not
//! again. Writers append whole lines, so the new bytes start a line: when the first
//! differing byte is inside a line, either the cut was there (the old line was cut, and the
//! bytes there start a new line: `@`, a tab, or a time) or the new line began earlier with the
//! same bytes as the old one (the cut is at the start of that line).

use std::io;

use crate::source::{FileSource, TAIL_BYTES};

/// How far back a line's start is looked for.
const LINE_BACK: u64 = 4096;

/// Bytes enough to tell whether they start a line ([`starts_a_line`]).
pub(crate) const LINE_START_BYTES: usize = 10;

/// Whether `bytes` start a line of a T-Server or SIP Server log: an event line (`@`), an
/// attribute line (a tab), a trace line (`HH:MM:SS` or `YYYY-MM-DD`). `None` while there are
/// too few bytes to tell.
pub(crate) fn starts_a_line(bytes: &[u8]) -> Option<bool> {
    let first = *bytes.first()?;
    if first == b'@' || first == b'\t' {
        return Some(true);
    }
    if !first.is_ascii_digit() {
        return Some(false);
    }
    let shape = |pattern: &[u8]| {
        bytes.iter().zip(pattern).all(|(byte, want)| match want {
            b'd' => byte.is_ascii_digit(),
            other => byte == other,
        })
    };
    let time = shape(b"dd:dd:dd");
    let date = shape(b"dddd-dd-dd");
    if !(time || date) {
        return Some(false);
    }
    let needed = if date { 10 } else { 8 };
    (bytes.len() >= needed).then_some(true)
}

/// The offset up to which the file still holds what was read of it, when it shrank below what
/// was read or its remembered bytes changed; `None` when it did neither.
pub(crate) fn find_cut(source: &FileSource, size: u64) -> io::Result<Option<u64>> {
    let read = source.file_read();
    let cut = match first_difference(source, size)? {
        Difference::At(at) => line_cut(source, at)?,
        Difference::None if size < read => size,
        Difference::None => return Ok(None),
        // Cut before the remembered end, somewhere not remembered: the file is taken as cut
        // at its size (nothing written after the cut yet), or where it surely differs.
        Difference::Unknown => size.min(tail_start(source)),
    };
    Ok(Some(cut))
}

/// The last bytes read are still there (cheap: a few bytes, looked at as the file grows).
pub(crate) fn tail_end_unchanged(source: &FileSource) -> bool {
    let len = source.tail.len().min(64);
    let read = source.file_read();
    match source.bytes_at(read - len as u64, len) {
        Ok(bytes) => bytes.iter().eq(source.tail.iter().skip(source.tail.len() - len)),
        Err(_) => true,
    }
}

enum Difference {
    /// The file holds what is remembered of it, up to its size.
    None,
    /// The first byte that differs.
    At(u64),
    /// It differs from somewhere before what is remembered of its end.
    Unknown,
}

fn tail_start(source: &FileSource) -> u64 {
    source.file_read() - source.tail.len() as u64
}

fn first_difference(source: &FileSource, size: u64) -> io::Result<Difference> {
    let end = size.min(source.file_read());
    let head_len = source.head.len().min(usize::try_from(end).unwrap_or(usize::MAX));
    let head = source.bytes_at(0, head_len)?;
    if let Some(at) = mismatch(head.iter(), source.head.iter().take(head_len), head_len) {
        return Ok(Difference::At(at as u64));
    }
    let tail_start = tail_start(source);
    let head_end = source.head.len() as u64;
    if end <= tail_start {
        return Ok(if end <= head_end { Difference::None } else { Difference::Unknown });
    }
    let len = usize::try_from(end - tail_start).unwrap_or(usize::MAX).min(TAIL_BYTES);
    let current = source.bytes_at(tail_start, len)?;
    Ok(match mismatch(current.iter(), source.tail.iter(), len) {
        Some(0) if tail_start > head_end => Difference::Unknown,
        Some(at) => Difference::At(tail_start + at as u64),
        None => Difference::None,
    })
}

/// Where `now` (the file's bytes, maybe fewer than `len`) first differs from `then`.
fn mismatch<'a>(
    now: impl ExactSizeIterator<Item = &'a u8>,
    then: impl Iterator<Item = &'a u8>,
    len: usize,
) -> Option<usize> {
    let short = now.len();
    let differ = now.zip(then).position(|(a, b)| a != b);
    differ.or((short < len).then_some(short))
}

/// The cut for a first difference at `at`: `at` itself when it starts a line or begins one
/// written after a cut inside the old line ([`starts_a_line`]); else the start of its line (a
/// new line that began as the old one did).
fn line_cut(source: &FileSource, at: u64) -> io::Result<u64> {
    if at == 0 {
        return Ok(0);
    }
    let back = at.min(LINE_BACK);
    let bytes = source.bytes_at(at - back, back as usize + LINE_START_BYTES)?;
    let (before, here) = bytes.split_at((back as usize).min(bytes.len()));
    let starts = starts_a_line(here).unwrap_or(false);
    if before.last() == Some(&b'\n') || starts {
        return Ok(at);
    }
    Ok(match before.iter().rposition(|byte| *byte == b'\n') {
        Some(newline) => at - back + newline as u64 + 1,
        None if back == at => 0,
        None => at,
    })
}
