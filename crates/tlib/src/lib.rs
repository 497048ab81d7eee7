//! callstitch-tlib: Genesys T-Library events as typed data, read from T-Server / SIP Server
//! log files and from JSON lines, and written back to both.
//!
//! - [`Event`] is one T-Library event or request, with its typed attributes, everything else
//!   kept raw, and where it came from ([`event`], [`message`], [`enums`], [`ids`], [`kv`]).
//! - [`tlog::LogReader`] streams events out of log files of any size and any noise;
//!   [`tlog::LogWriter`] writes them back in the same format.
//! - [`json`] is the JSON-lines form that `callstitch parse` prints and live feeds send.
//! - [`compressed`] reads gzip and zstd archives of logs (rotated logs are usually compressed).
//! - [`siplog::SipLogReader`] rebuilds the same events from the SIP layer of a SIP Server log
//!   that has no T-Library event records; [`detect`] tells, from a file's first bytes, which
//!   reader it needs.

// Outside input is read here: an index is checked, or says why it is in range
// (docs/architecture.md, "Rules the code keeps").
#![warn(clippy::indexing_slicing)]

mod attrs;
mod bytes;
mod code_enum;
pub mod compressed;
pub mod detect;
pub mod enums;
pub mod event;
pub mod file_header;
pub mod fnv;
pub mod ids;
pub mod json;
pub mod kv;
pub mod labels;
pub mod message;
mod name_index;
pub mod sip_end;
pub mod siplog;
pub mod tlog;

/// Short text (DNs, ids, names): stored inline up to 24 bytes, so most values do not allocate.
pub type Text = compact_str::CompactString;

pub use attrs::is_typed_attribute;
pub use enums::{
    CallState, CallType, Coded, Context, DnRole, EventProvenance, LinkRole, PartyState, ReleasingParty,
    Telephony,
};
pub use event::{Event, IsLink, RawAttribute};
pub use ids::{CallUuid, ConnId, LocalTime, LogDate, Timestamp, SECOND};
pub use kv::{KvList, KvPair, Value};
pub use message::Message;
pub use sip_end::{SipEnd, SipEndKind};
