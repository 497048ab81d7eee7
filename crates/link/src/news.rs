//! The engine's news of calls as data: what [`callstitch_engine::CallSink`] is told (a call
//! opened, showed evidence, finished), owned and serializable, so that the engine of a site
//! and the linker can run apart (issue 14: a worker runs the engine of its sites and stores
//! this news; the linker takes it back from the store). [`Recorder`] is the engine's sink that
//! writes the news down; [`Linker::take`] gives the linker one piece of it exactly as the
//! engine would have told it.
//!
//! A call's [`CallHandle`] is the serial number its engine gave it: an engine for one site
//! numbers its own calls, so news from several engines must be renumbered into the numbers
//! one engine for every site would have given ([`CallNews::renumber`]) before the linker
//! takes it (crates/pipeline, `split`, does both).

use callstitch_engine::{
    CallHandle, CallPointer, CallSink, Evidence, FinishedCall, OpenedCall, TransferHistory,
};
use callstitch_tlib::{CallUuid, ConnId, IsLink, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::linker::Linker;
use crate::segment::CallEnding;

/// One piece of news of one call, owned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "news")]
pub enum CallNews {
    /// The call started ([`OpenedCall`]; its site is the news' site).
    Opened {
        handle: CallHandle,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_uuid: Option<CallUuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn_id: Option<ConnId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        time: Option<Timestamp>,
        clock: i64,
    },
    /// The call showed linking evidence ([`Evidence`]).
    Evidence { handle: CallHandle, evidence: EvidenceNews },
    /// The call finished.
    Finished(Box<CallEnding>),
}

/// [`Evidence`], owned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceNews {
    CallUuid(CallUuid),
    ConnId(ConnId),
    Link(IsLink, Option<Timestamp>),
    ConsultOf { pointer: CallPointer, main: Option<CallHandle> },
    MergedInto { pointer: CallPointer, survivor: Option<CallHandle> },
    History(TransferHistory),
}

impl EvidenceNews {
    /// The evidence as the engine tells it.
    pub fn of(evidence: Evidence<'_>) -> EvidenceNews {
        match evidence {
            Evidence::CallUuid(uuid) => EvidenceNews::CallUuid(uuid.clone()),
            Evidence::ConnId(conn) => EvidenceNews::ConnId(conn),
            Evidence::Link(link, seen) => EvidenceNews::Link(link.clone(), seen),
            Evidence::ConsultOf { pointer, main } => {
                EvidenceNews::ConsultOf { pointer: pointer.clone(), main }
            }
            Evidence::MergedInto { pointer, survivor } => {
                EvidenceNews::MergedInto { pointer: pointer.clone(), survivor }
            }
            Evidence::History(history) => EvidenceNews::History(history.clone()),
        }
    }

    /// Borrowed, as [`Linker::evidence`] takes it.
    pub fn as_evidence(&self) -> Evidence<'_> {
        match self {
            EvidenceNews::CallUuid(uuid) => Evidence::CallUuid(uuid),
            EvidenceNews::ConnId(conn) => Evidence::ConnId(*conn),
            EvidenceNews::Link(link, seen) => Evidence::Link(link, *seen),
            EvidenceNews::ConsultOf { pointer, main } => Evidence::ConsultOf { pointer, main: *main },
            EvidenceNews::MergedInto { pointer, survivor } => {
                Evidence::MergedInto { pointer, survivor: *survivor }
            }
            EvidenceNews::History(history) => Evidence::History(history),
        }
    }
}

impl CallNews {
    /// The call the news is about.
    pub fn handle(&self) -> CallHandle {
        match self {
            CallNews::Opened { handle, .. } | CallNews::Evidence { handle, .. } => *handle,
            CallNews::Finished(ending) => ending.handle,
        }
    }

    /// Every handle in the news (the call's, and the main call or survivor it names)
    /// replaced by `number(handle)`.
    pub fn renumber(&mut self, mut number: impl FnMut(CallHandle) -> CallHandle) {
        match self {
            CallNews::Opened { handle, .. } => *handle = number(*handle),
            CallNews::Evidence { handle, evidence } => {
                *handle = number(*handle);
                match evidence {
                    EvidenceNews::ConsultOf { main: Some(other), .. }
                    | EvidenceNews::MergedInto { survivor: Some(other), .. } => *other = number(*other),
                    _ => {}
                }
            }
            CallNews::Finished(ending) => ending.handle = number(ending.handle),
        }
    }
}

/// A [`CallSink`] that writes the engine's news down, in the order told; each finished call
/// is also kept whole (what a site's worker stores of its calls).
#[derive(Debug, Default)]
pub struct Recorder {
    pub news: Vec<CallNews>,
    pub finished: Vec<FinishedCall>,
}

impl CallSink for Recorder {
    fn opened(&mut self, call: OpenedCall<'_>) {
        self.news.push(CallNews::Opened {
            handle: call.handle,
            call_uuid: call.call_uuid.cloned(),
            conn_id: call.conn_id,
            time: call.time,
            clock: call.clock,
        });
    }

    fn evidence(&mut self, call: CallHandle, evidence: Evidence<'_>) {
        self.news.push(CallNews::Evidence { handle: call, evidence: EvidenceNews::of(evidence) });
    }

    fn finished(&mut self, call: FinishedCall) {
        self.news.push(CallNews::Finished(Box::new(CallEnding::copied(&call))));
        self.finished.push(call);
    }
}

impl Linker {
    /// Takes one piece of news of a call of `site`, as the engine would have told it.
    pub fn take(&mut self, site: &Text, news: CallNews) {
        match news {
            CallNews::Opened { handle, call_uuid, conn_id, time, clock } => {
                self.opened(OpenedCall { handle, site, call_uuid: call_uuid.as_ref(), conn_id, time, clock })
            }
            CallNews::Evidence { handle, evidence } => self.evidence(handle, evidence.as_evidence()),
            CallNews::Finished(ending) => {
                debug_assert_eq!(&ending.site, site, "a call's news comes from its own site");
                let clock = ending.clock;
                self.ended(*ending, clock);
            }
        }
    }
}
