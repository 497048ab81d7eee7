//! What to follow and how: [`FollowConfig`] and its [`FollowInput`]s (`[NAME=]PATH`, as on
//! the command line: a file, or a directory whose `*.log` files are followed, new ones
//! included).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// One thing to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowInput {
    /// The site of every file of this input (`NAME=`); `None`: each file's header
    /// Application name, else its file stem.
    pub site: Option<String>,
    /// A file (followed by name across rotations) or a directory (its `*.log` files).
    pub path: PathBuf,
}

impl FollowInput {
    /// Reads `[NAME=]PATH` as the CLI does: a whole argument naming an existing path is a
    /// path even if it holds `=`; a NAME has no path separator.
    pub fn parse(argument: &str) -> FollowInput {
        let whole = FollowInput { site: None, path: PathBuf::from(argument) };
        if Path::new(argument).exists() {
            return whole;
        }
        match argument.split_once('=') {
            Some((name, path)) if !name.is_empty() && !name.contains(['/', '\\']) => {
                FollowInput { site: Some(name.to_string()), path: PathBuf::from(path) }
            }
            _ => whole,
        }
    }
}

/// How the follower reads.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    pub inputs: Vec<FollowInput>,
    /// A block at the end of a file is complete once the file has not grown for this long
    /// (and its last line has its newline); a rotated-away file is drained after it.
    pub settle: Duration,
    /// Lines longer than this are skipped and reported (memory stays bounded).
    pub max_line_bytes: usize,
    /// Directories are listed again when their modification time changes, and at least
    /// this often (file systems with coarse times).
    pub rescan: Duration,
    /// Problems kept for [`crate::Follower::take_problems`]; later ones are only counted.
    pub max_kept_problems: usize,
    /// Events re-read (and skipped) per poll while resuming a file at its position, so that
    /// one poll stays short on a large file (20,000 events: about 10 MB, 40 ms).
    pub max_skipped_per_poll: usize,
    /// A compressed log (gzip, zstd) is read once it has not changed for this long: the
    /// compressor (logrotate, a cron job) writes it in steps and it must be whole.
    pub archive_settle: Duration,
}

impl FollowConfig {
    pub fn new(inputs: Vec<FollowInput>) -> FollowConfig {
        FollowConfig {
            inputs,
            settle: Duration::from_millis(10),
            max_line_bytes: 16 << 20,
            rescan: Duration::from_secs(1),
            max_kept_problems: 10_000,
            max_skipped_per_poll: 20_000,
            archive_settle: Duration::from_secs(2),
        }
    }
}

impl Default for FollowConfig {
    fn default() -> Self {
        FollowConfig::new(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_prefix_names_the_site() {
        assert_eq!(FollowInput::parse("TS2=/nowhere/logs").site.as_deref(), Some("TS2"));
        assert_eq!(FollowInput::parse("TS2=/nowhere/logs").path, PathBuf::from("/nowhere/logs"));
        assert_eq!(FollowInput::parse("/nowhere/a=b.log").site, None);
        assert_eq!(FollowInput::parse("=x").path, PathBuf::from("=x"));
    }
}
