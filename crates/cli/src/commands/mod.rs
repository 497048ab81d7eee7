//! One module per subcommand.

pub mod check;
pub mod parse;
pub mod recording;
pub mod simulate;
pub mod trace;
pub mod verify;
