//! What went wrong while following, and the counters of everything the follower did.
//!
//! Nothing here stops the follower: a problem is kept (up to a limit) for
//! [`crate::Follower::take_problems`] and counted in [`FollowStats`], and following goes on.

use std::collections::BTreeMap;
use std::path::PathBuf;

use callstitch_tlib::tlog::{Problem, ProblemKind};

/// One problem met while following.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowProblem {
    /// The log reader could not read something (with file and line).
    #[error("{0}")]
    Parse(Problem),
    /// A file or directory could not be listed, opened or read.
    #[error("{}: cannot read: {error}", path.display())]
    Unreadable { path: PathBuf, error: String },
    /// A followed file was deleted: what was written before was drained.
    #[error("{}: deleted while followed; read to its end", path.display())]
    Vanished { path: PathBuf },
    /// A followed file shrank below what was read, or its first bytes changed: followed
    /// again from byte `from` (0: new content, as after a copytruncate; otherwise the file was
    /// cut short, and what it still holds before `from` was handed out already).
    #[error("{}: truncated; following it from byte {from}", path.display())]
    Truncated { path: PathBuf, from: u64 },
    /// A position given at start names a file that is not there any more.
    #[error("{}: the file of this position (offset {offset}) is gone; dropped", path.display())]
    PositionLost { path: PathBuf, offset: u64 },
}

/// Counters since the follower started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowStats {
    pub events: u64,
    pub parse_problems: BTreeMap<ProblemKind, u64>,
    pub unreadable: u64,
    pub vanished: u64,
    pub truncated: u64,
    /// Followed paths renamed away and replaced (logrotate), and files drained because a
    /// newer segment of their site appeared.
    pub rotated: u64,
    pub files_finished: u64,
    pub positions_resumed: u64,
    pub positions_lost: u64,
    /// Bytes read again (events skipped) to resume files at their positions.
    pub resumed_bytes: u64,
    /// Compressed logs (gzip, zstd) read to their end.
    pub archives_read: u64,
    /// Compressed logs not read because their log was read already (the file they were
    /// compressed from, or another copy): same first bytes once decompressed.
    pub archives_already_read: u64,
    /// Compressed logs that turned out corrupt or truncated (also an `Unreadable` problem):
    /// the events before the damage were handed out, the rest of the file is skipped.
    pub archives_damaged: u64,
    /// Problems counted but not kept (over `max_kept_problems`).
    pub problems_not_kept: u64,
}

/// Where problems go: kept up to a limit, always counted.
#[derive(Debug)]
pub(crate) struct Problems {
    pub kept: Vec<FollowProblem>,
    pub stats: FollowStats,
    pub max_kept: usize,
}

impl Problems {
    pub fn new(max_kept: usize) -> Problems {
        Problems { kept: Vec::new(), stats: FollowStats::default(), max_kept }
    }

    pub fn push(&mut self, problem: FollowProblem) {
        let stats = &mut self.stats;
        match &problem {
            FollowProblem::Parse(parse) => *stats.parse_problems.entry(parse.kind).or_default() += 1,
            FollowProblem::Unreadable { .. } => stats.unreadable += 1,
            FollowProblem::Vanished { .. } => stats.vanished += 1,
            FollowProblem::Truncated { .. } => stats.truncated += 1,
            FollowProblem::PositionLost { .. } => stats.positions_lost += 1,
        }
        if self.kept.len() < self.max_kept {
            self.kept.push(problem);
        } else {
            stats.problems_not_kept += 1;
        }
    }
}
