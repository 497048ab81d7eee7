//! callstitch-engine: the per-site call engine. Events in, finished calls out.
//!
//! From the event stream of one or more T-Servers the engine keeps every call (keyed by site
//! and CallUUID, or by live ConnID when the server sends no CallUUID) and every party on it,
//! recognises which documented call model each call follows (call-models.md), records where it
//! deviates, classifies its outcome and says who released it (release.md). It is pure and
//! deterministic: no I/O, no clock (time is event time), no randomness.
//!
//! ```no_run
//! use callstitch_engine::{Engine, EngineConfig, Summary, CallReport};
//! use callstitch_tlib::tlog::{LogReader, ReaderOptions};
//!
//! # fn main() -> std::io::Result<()> {
//! let mut engine = Engine::new(EngineConfig::default());
//! let mut summary = Summary::default();
//! let mut on_call = |call: callstitch_engine::FinishedCall| {
//!     let report = CallReport::from_call(&call);
//!     println!("{}", report.table_row());
//!     summary.add(&call);
//! };
//! for event in LogReader::open("SIPServer1.log".as_ref(), ReaderOptions::default())? {
//!     engine.apply(&event?, &mut on_call);
//! }
//! engine.finish(&mut on_call);
//! summary.set_engine_stats(engine.stats());
//! print!("{}", summary.render_text());
//! # Ok(())
//! # }
//! ```

mod call;
pub mod clock;
pub mod config;
pub mod deviation;
pub mod engine;
pub mod event_ref;
pub mod finished;
mod hash;
pub mod model;
pub mod news;
pub mod party;
pub mod release;
pub mod report;
mod sip_release;
pub mod snapshot;
pub mod state;
mod transition;
mod window;

pub use call::{via, CallPointer, MergeHow};
pub use clock::{ClockConfig, SiteClock};
pub use config::{DnPlan, EngineConfig};
pub use deviation::{Deviation, DeviationKind, Inference, InferenceKind};
pub use engine::{Engine, EngineStats};
pub use event_ref::EventRef;
pub use finished::{EndReason, FinishedCall};
pub use model::{CallModel, Feature, Outcome};
pub use news::{CallHandle, CallSink, Evidence, OnFinished, OpenedCall, TransferHistory};
pub use party::{Party, PartyKind};
pub use release::{
    CallCandidate, CallVerdict, Confidence, Ender, EnderKind, PartyCandidate, PartyVerdict, Provenance,
    ReleasedBy,
};
pub use report::{CallReport, Summary};
pub use snapshot::{EngineState, SnapshotError};
pub use state::{Exit, PartyState, StateSpan, StateTimes};
