//! What the engine tells its listener about calls while they are live.
//!
//! The cross-site linker must know of a call from its first event, and of every piece of
//! linking evidence the moment an event shows it, not only when the call ends: a customer's
//! call on the receiving site can outlast any timeout after the sending call ended. The
//! engine therefore reports three kinds of news through a [`CallSink`]: a call opened, a call
//! showed evidence, a call finished. Each live call is named by its [`CallHandle`], the
//! engine-wide serial number it was created with, which stays the same when the call later
//! learns its CallUUID.

use callstitch_tlib::{CallUuid, ConnId, IsLink, Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::call::CallPointer;
use crate::finished::FinishedCall;

/// A live call, by the serial number the engine created it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CallHandle(pub u64);

/// A call that has just started.
#[derive(Debug, Clone, Copy)]
pub struct OpenedCall<'a> {
    pub handle: CallHandle,
    pub site: &'a Text,
    pub call_uuid: Option<&'a CallUuid>,
    pub conn_id: Option<ConnId>,
    /// The first event's time.
    pub time: Option<Timestamp>,
    /// The site's clock when it opened (µs; see [`crate::clock`]).
    pub clock: i64,
}

/// ISCC call history of a call that arrived from another site: where it came from
/// (multi-site.md §4.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferHistory {
    pub last_transfer_conn_id: Option<ConnId>,
    pub last_transfer_home_location: Option<Text>,
    pub last_transfer_orig_dn: Option<Text>,
}

/// One piece of linking evidence seen on a live call.
#[derive(Debug, Clone)]
pub enum Evidence<'a> {
    /// The call learned its CallUUID (it started with a ConnID only).
    CallUuid(&'a CallUuid),
    /// Another ConnID of the call.
    ConnId(ConnId),
    /// An Inter-Site Link end, with the time of the event that first showed it.
    Link(&'a IsLink, Option<Timestamp>),
    /// The call is a consultation of another call of its site; `main` names that call when
    /// the engine holds it.
    ConsultOf { pointer: &'a CallPointer, main: Option<CallHandle> },
    /// The call was merged into another call of its site (transfer or conference
    /// completion); `survivor` names it when the engine holds it.
    MergedInto { pointer: &'a CallPointer, survivor: Option<CallHandle> },
    /// The call came from another site by ISCC.
    History(&'a TransferHistory),
}

/// Where the engine's news goes. Only [`CallSink::finished`] is required: a listener that
/// wants finished calls only (`callstitch check`) passes a closure through [`OnFinished`].
pub trait CallSink {
    fn opened(&mut self, _call: OpenedCall<'_>) {}
    fn evidence(&mut self, _call: CallHandle, _evidence: Evidence<'_>) {}
    fn finished(&mut self, call: FinishedCall);
}

/// A [`CallSink`] that hands finished calls to a closure and ignores the rest.
pub struct OnFinished<F>(pub F);

impl<F: FnMut(FinishedCall)> CallSink for OnFinished<F> {
    fn finished(&mut self, call: FinishedCall) {
        (self.0)(call)
    }
}

/// What of a live call has been told already (so that only news is told).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Told {
    pub opened: bool,
    pub uuid: bool,
    pub conn_ids: usize,
    pub links: usize,
    pub consult: bool,
    pub merged: bool,
    pub history: bool,
}
