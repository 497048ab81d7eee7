//! The T-Server / SIP Server log format: the streaming reader, the writer, headers, value
//! shapes and the problems a noisy file gives (tlog-format.md).

pub(crate) mod clock;
pub mod header;
pub mod problem;
pub mod reader;
pub(crate) mod scan;
pub(crate) mod shape;
pub mod writer;

pub use header::Header;
pub use problem::{ParseStats, Problem, ProblemKind};
pub use reader::{LogReader, ReaderOptions};
pub use writer::LogWriter;

#[cfg(test)]
mod pause_tests;
