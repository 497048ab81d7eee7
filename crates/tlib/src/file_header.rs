//! What the start of a log file says of it before any event: the header's `Application name`
//! and `Local time` (a byte-order mark and CRLF line ends allowed), and the file's own name
//! without its log and compression extensions. The CLI's inputs and the follower name and
//! order files by these.

use std::path::Path;

use crate::compressed;

/// The header lines of a file that name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileHeader {
    /// `Application name:`: the server, which is the site unless told otherwise.
    pub application: Option<String>,
    /// `Local time:` as written: when the file was started, on the server's clock.
    pub local_time: Option<String>,
}

impl FileHeader {
    /// Reads the header lines from the start of a file; a line missing or blank is `None`.
    pub fn read(head: &[u8]) -> FileHeader {
        let text = String::from_utf8_lossy(head);
        let text = text.trim_start_matches('\u{feff}');
        let value = |key: &str| {
            text.lines()
                .find_map(|line| line.trim_end_matches('\r').strip_prefix(key))
                .map(|value| value.trim().to_string())
                .filter(|value| !value.is_empty())
        };
        FileHeader { application: value("Application name:"), local_time: value("Local time:") }
    }
}

/// The file name without its extensions of log and compression (`TS1.log.gz` → `TS1`).
pub fn log_stem(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    Path::new(compressed::plain_name(&name)).file_stem().map(|stem| stem.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_server_and_its_start_through_a_bom_and_crlf() {
        let header = FileHeader::read(
            b"\xEF\xBB\xBFApplication name: SIP_P\r\nLocal time:       2026-02-02T13:54:59.852\r\n",
        );
        assert_eq!(header.application.as_deref(), Some("SIP_P"));
        assert_eq!(header.local_time.as_deref(), Some("2026-02-02T13:54:59.852"));
        assert_eq!(FileHeader::read(b"Application name:   \n"), FileHeader::default(), "blank is none");
    }

    #[test]
    fn the_stem_drops_log_and_compression_extensions() {
        assert_eq!(log_stem(Path::new("/logs/TS1.log.gz")).as_deref(), Some("TS1"));
        assert_eq!(log_stem(Path::new("/logs/TS1.20260202.log")).as_deref(), Some("TS1.20260202"));
    }
}
