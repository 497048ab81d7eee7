//! Which files an input names now, and what each file is: the site it belongs to and when
//! its segment started (from its header, as `callstitch parse` orders rotated segments).
//! A directory's logs are its `*.log` files and its compressed logs (`*.log.gz`,
//! `*.log.1.gz`, `*.log.zst`, ...), classed by the header of the log inside.

use std::io;
use std::path::{Path, PathBuf};

use callstitch_tlib::file_header::{log_stem, FileHeader};

use crate::config::FollowInput;
use crate::position::read_log_head;
use crate::source::{file_id, FileId};

/// Bytes looked at to find a file's header.
const HEAD_BYTES: usize = 64 << 10;

/// A file an input names.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub path: PathBuf,
    pub id: Option<FileId>,
    /// A regular file (not a FIFO, a socket, a device or a directory, which are never opened:
    /// opening a FIFO would wait for a writer).
    pub regular: bool,
}

impl Found {
    fn new(path: PathBuf, metadata: &std::fs::Metadata) -> Found {
        Found { path, id: file_id(metadata), regular: metadata.is_file() }
    }
}

/// The files of an input now: the file itself, or the directory's `*.log` entries. A missing
/// file is no file; a missing directory is an error.
/// `stat` is the result of `stat` on the input's path (the caller needed it already).
pub(crate) fn list(input: &FollowInput, stat: io::Result<std::fs::Metadata>) -> io::Result<Vec<Found>> {
    match stat {
        Ok(metadata) if metadata.is_dir() => list_dir(&input.path),
        Ok(metadata) => Ok(vec![Found::new(input.path.clone(), &metadata)]),
        Err(error) if error.kind() == io::ErrorKind::NotFound && !is_dir_input(input) => Ok(Vec::new()),
        Err(error) => Err(error),
    }
}

/// A path given with a trailing separator is meant as a directory.
fn is_dir_input(input: &FollowInput) -> bool {
    input.path.as_os_str().to_string_lossy().ends_with(['/', '\\'])
}

fn list_dir(dir: &Path) -> io::Result<Vec<Found>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_log = path
            .file_name()
            .is_some_and(|name| callstitch_tlib::compressed::is_log_name(&name.to_string_lossy()));
        if !is_log {
            continue;
        }
        let Ok(metadata) = std::fs::metadata(&path) else { continue };
        files.push(Found::new(path, &metadata));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Rotated copies of `path` beside it (`app.log.1`, `app.log-20260202`): where a followed
/// file renamed away may be found after a restart.
pub(crate) fn rotated_copies(path: &Path) -> Vec<Found> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return Vec::new() };
    let name = name.to_string_lossy();
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut copies: Vec<Found> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            let other = entry.file_name();
            let other = other.to_string_lossy();
            other.len() > name.len() && other.starts_with(name.as_ref())
        })
        .filter_map(|entry| {
            let metadata = std::fs::metadata(entry.path()).ok()?;
            metadata.is_file().then(|| Found::new(entry.path(), &metadata))
        })
        .collect();
    copies.sort_by(|a, b| a.path.cmp(&b.path));
    copies
}

/// Where a file renamed away from `path` went: the rotated copy beside it that is the same
/// file (device and inode).
pub(crate) fn renamed_to(path: &Path, id: FileId) -> Option<PathBuf> {
    rotated_copies(path).into_iter().find(|copy| copy.id == Some(id)).map(|copy| copy.path)
}

/// What a file is: its site and the start time of its segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Class {
    pub site: String,
    /// The header's `Local time` (ISO text: orders as time).
    pub started: Option<String>,
}

/// Reads the start of a file to class it; `None` while its header may still be incomplete
/// (unless `settled`: the file has stopped growing, take what is there).
pub(crate) fn classify(path: &Path, name: Option<&str>, settled: bool) -> io::Result<Option<Class>> {
    let head = read_log_head(path, HEAD_BYTES)?;
    if head.is_empty() || !(settled || header_done(&head)) {
        return Ok(None);
    }
    Ok(Some(class_of(path, name, &head)))
}

/// The class of a file that can no longer be read by name.
pub(crate) fn class_by_name(path: &Path, name: Option<&str>) -> Class {
    class_of(path, name, b"")
}

fn class_of(path: &Path, name: Option<&str>, head: &[u8]) -> Class {
    let header = FileHeader::read(head);
    let site = name.map(str::to_string).or(header.application).or_else(|| log_stem(path));
    let started = header.local_time.filter(|value| is_iso_time(value));
    Class { site: site.unwrap_or_else(|| "unknown".to_string()), started }
}

/// `YYYY-MM-DDTHH:MM:SS...`: a start time that orders as text (not one cut short).
fn is_iso_time(value: &str) -> bool {
    let shape = b"dddd-dd-ddTdd:dd:dd";
    value.len() >= shape.len()
        && value.bytes().zip(shape).all(|(byte, want)| match want {
            b'd' => byte.is_ascii_digit(),
            other => byte == *other,
        })
}

/// The header block is over: a complete line that is blank or starts an event, or the head
/// is full.
fn header_done(head: &[u8]) -> bool {
    if head.len() >= HEAD_BYTES {
        return true;
    }
    let complete = match head.iter().rposition(|byte| *byte == b'\n') {
        Some(last) => head.get(..last).unwrap_or(head),
        None => return false,
    };
    complete.split(|byte| *byte == b'\n').any(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.iter().all(u8::is_ascii_whitespace) || line.starts_with(b"@")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_is_done_at_its_blank_line_or_first_event() {
        assert!(!header_done(b"Application name: TS1\nLocal time: 2026"));
        assert!(!header_done(b"Application name: TS1\n"));
        assert!(header_done(b"Application name: TS1\n\n"));
        assert!(header_done(b"@09:00:00.0000 [0] 8.1 distribute_event: message EventRinging\n"));
    }

    #[test]
    fn the_class_comes_from_the_name_the_header_or_the_stem() {
        let head = b"Application name: SIP_P\r\nLocal time:       2026-02-02T13:54:59.852\r\n\r\n";
        let class = class_of(Path::new("/x/a.log"), None, head);
        assert_eq!(class.site, "SIP_P");
        assert_eq!(class.started.as_deref(), Some("2026-02-02T13:54:59.852"));
        assert_eq!(class_of(Path::new("/x/a.log"), Some("TS"), head).site, "TS");
        assert_eq!(class_of(Path::new("/x/a.log"), None, b"noise\n").site, "a");
    }
}
