//! One module per subcommand.

pub mod check;
pub mod collect;
pub mod collect_report;
pub mod demo;
pub mod events;
pub mod import;
pub mod ladder;
pub mod parse;
pub mod recording;
pub mod serve;
pub mod simulate;
pub mod trace;
pub mod verify;
pub mod worker;
