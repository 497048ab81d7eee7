//! callstitch-follow: follows T-Server / SIP Server log files as they are written, like
//! `tail -F`, and says exactly how far each file was consumed, so that a service that
//! commits events and positions together continues after a crash with no event lost and
//! none twice.
//!
//! - [`Follower::poll`] reads what is new in every followed file (files named, and the
//!   `*.log` files of directories, new ones included), never waiting: it hands out events
//!   whose blocks are complete, the older segments of a site before the newer ones.
//! - [`Follower::positions`] gives, for every file, its [`Fingerprint`] (its first bytes:
//!   it survives renames) and the byte offset just after the last event handed out; give
//!   them back to [`Follower::new`] after a restart.
//! - Rotation (new segments, rename and copytruncate) and deletion lose nothing that was
//!   written; problems are kept and counted ([`Follower::take_problems`], [`FollowStats`]),
//!   never fatal.
//! - Compressed logs (`*.log.gz`, `*.log.zst`, rotated copies such as `*.log.1.gz`; told by
//!   their first bytes) are read decompressed, once: an archive whose log was read already
//!   (the file it was compressed from, followed before) is told by its fingerprint, taken of
//!   the decompressed bytes as for a plain file, and skipped; one never seen is read in full.
//!   The fingerprints of files read and forgotten are kept (the last
//!   [`REMEMBERED_FILES`]) among the positions, so this holds across restarts.
//!
//! A synchronous library: the caller runs it on a thread and polls in a loop (sleeping a
//! few milliseconds when a poll says there is nothing more). How long a file has been quiet
//! and how old it is are read from a [`callstitch_clock::Clock`] ([`Follower::with_clock`];
//! the system's by default).

// Outside input is read here: an index is checked, or says why it is in range
// (docs/architecture.md, "Rules the code keeps").
#![warn(clippy::indexing_slicing)]

mod config;
mod cut;
mod discover;
mod follower;
mod position;
mod problem;
mod source;
mod tracked;

use callstitch_tlib::Event;

pub use config::{FollowConfig, FollowInput};
pub use follower::{Follower, SiteRead, REMEMBERED_FILES};
pub use position::{Fingerprint, Position, FINGERPRINT_BYTES};
pub use problem::{FollowProblem, FollowStats};

/// An event handed out by [`Follower::poll`].
#[derive(Debug, Clone, PartialEq)]
pub struct FollowedEvent {
    /// The event, with its site and `file:line` as the log reader gives them.
    pub event: Event,
    /// Which file it came from (a number of this follower's, stable while it runs).
    pub file: u64,
    /// The byte offset in its file where the events after the previous one handed out begin
    /// (what a position must say to read this event again).
    pub start_offset: u64,
    /// The byte offset in its file just after the event's block.
    pub end_offset: u64,
    /// Its file's fingerprint when the event was handed out (what identifies the file in a
    /// message id; it stops growing at [`FINGERPRINT_BYTES`]).
    pub fingerprint: Fingerprint,
}

/// What one [`Follower::poll`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Events handed out by this poll.
    pub events: usize,
    /// More is ready at once (the poll stopped at `max_events`, or a resume is under way):
    /// poll again without sleeping.
    pub more: bool,
    /// Problems waiting in [`Follower::take_problems`].
    pub problems: usize,
}
