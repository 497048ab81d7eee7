//! Who released: per-party and per-call verdicts by the derivation ladder of release.md §3.
//!
//! Every rung that has an answer is computed; the first one decides, its label is the
//! provenance, and a disagreeing rung of high or medium confidence sets `conflict`. All the
//! evidence (the events each rung read) is kept.

use callstitch_tlib::{CallState, ReleasingParty, Text};
use serde::{Deserialize, Serialize};

use crate::call::Call;
use crate::event_ref::EventRef;
use crate::model::{is_originator, Outcome};
use crate::party::{Party, PartyKind};
use crate::state::Exit;

/// Which rung of the ladder decided a verdict (release.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Provenance {
    #[serde(rename = "ctrl-party.call")]
    CtrlPartyCall,
    #[serde(rename = "ctrl-party.party")]
    CtrlPartyParty,
    #[serde(rename = "releasing-party")]
    ReleasingParty,
    #[serde(rename = "deleted-by")]
    DeletedBy,
    #[serde(rename = "request")]
    Request,
    #[serde(rename = "call-state")]
    CallState,
    #[serde(rename = "abandon-pattern")]
    AbandonPattern,
    #[serde(rename = "inferred-order")]
    InferredOrder,
    /// The SIP signal that ended a SIP-layer call (crate::sip_release).
    #[serde(rename = "sip")]
    Sip,
    #[serde(rename = "unknown")]
    Unknown,
}

impl Provenance {
    pub fn label(self) -> &'static str {
        match self {
            Provenance::CtrlPartyCall => "ctrl-party.call",
            Provenance::CtrlPartyParty => "ctrl-party.party",
            Provenance::ReleasingParty => "releasing-party",
            Provenance::DeletedBy => "deleted-by",
            Provenance::Request => "request",
            Provenance::CallState => "call-state",
            Provenance::AbandonPattern => "abandon-pattern",
            Provenance::InferredOrder => "inferred-order",
            Provenance::Sip => "sip",
            Provenance::Unknown => "unknown",
        }
    }

    /// Reported by the switch (rungs 1–4) as opposed to worked out by the engine.
    pub fn is_reported(self) -> bool {
        matches!(
            self,
            Provenance::CtrlPartyCall
                | Provenance::CtrlPartyParty
                | Provenance::ReleasingParty
                | Provenance::DeletedBy
        )
    }

    pub fn confidence(self) -> Confidence {
        match self {
            Provenance::CtrlPartyCall
            | Provenance::CtrlPartyParty
            | Provenance::ReleasingParty
            | Provenance::DeletedBy => Confidence::High,
            Provenance::Request | Provenance::CallState | Provenance::AbandonPattern => Confidence::Medium,
            Provenance::InferredOrder => Confidence::Low,
            Provenance::Sip => Confidence::Medium,
            Provenance::Unknown => Confidence::None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    High,
    Medium,
    Low,
    None,
}

/// Relative to the party: it released itself, the other side did, or nobody can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleasedBy {
    #[serde(rename = "self")]
    Itself,
    Other,
    Unknown,
}

/// How one party left, and who made it leave (release.md §6, per party).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyVerdict {
    pub released_by: ReleasedBy,
    /// The other party, when `released_by` is `other` and it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Text>,
    /// ReleasingParty exactly as reported (`2 Remote`), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub releasing_party_raw: Option<Text>,
    pub provenance: Provenance,
    pub confidence: Confidence,
    pub conflict: bool,
    /// False for a party that left by transfer or conference: it did not end the call.
    pub counts_for_call: bool,
    pub evidence: Vec<EventRef>,
}

/// What kind of endpoint ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnderKind {
    /// The customer: an external / unmonitored party, or an inbound call's originator.
    Customer,
    /// A monitored internal DN.
    Agent,
    /// A queue, ACD group or routing point.
    System,
    /// A client application (RequestClearCall).
    Application,
    /// The switch or the network (CallState Cleared / Dropped).
    Network,
    Unknown,
}

impl EnderKind {
    /// The name JSON gives it.
    pub fn label(self) -> &'static str {
        match self {
            EnderKind::Customer => "customer",
            EnderKind::Agent => "agent",
            EnderKind::System => "system",
            EnderKind::Application => "application",
            EnderKind::Network => "network",
            EnderKind::Unknown => "unknown",
        }
    }
}

impl ReleasedBy {
    /// The name JSON gives it.
    pub fn label(self) -> &'static str {
        match self {
            ReleasedBy::Itself => "self",
            ReleasedBy::Other => "other",
            ReleasedBy::Unknown => "unknown",
        }
    }
}

/// Who ended the call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ender {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<Text>,
    pub kind: EnderKind,
    /// False when a CtrlParty value matched no party of the call (kept raw in `dn`).
    pub resolved: bool,
}

/// Who ended the call (release.md §6, per call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallVerdict {
    pub ended_by: Ender,
    /// completed, abandoned, rejected, failed-busy, handed-off, unknown.
    pub outcome: &'static str,
    /// AttributeCtrlParty of EventCallDeleted as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctrl_party_raw: Option<Text>,
    pub provenance: Provenance,
    pub confidence: Confidence,
    pub conflict: bool,
    pub evidence: Vec<EventRef>,
}

/// Who released, before it is turned into a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Releaser {
    Dn(Text),
    /// The other side of `Text`, whose DN nobody reported.
    OtherOf(Text),
    Application,
    Network,
}

/// One rung's answer; its evidence borrows the call's events (at most two per rung).
#[derive(Debug, Clone)]
pub(crate) struct Answer<'a> {
    releaser: Releaser,
    provenance: Provenance,
    evidence: [Option<&'a EventRef>; 2],
    conflict: bool,
}

impl<'a> Answer<'a> {
    pub(crate) fn new(
        releaser: Releaser,
        provenance: Provenance,
        evidence: [Option<&'a EventRef>; 2],
    ) -> Answer<'a> {
        Answer { releaser, provenance, evidence, conflict: false }
    }

    /// Adds a second piece of evidence (a rung reads at most two events).
    fn add(&mut self, event: Option<&'a EventRef>) {
        if self.evidence[0].is_none() {
            self.evidence[0] = event;
        } else if self.evidence[1].is_none() {
            self.evidence[1] = event;
        }
    }
}

/// Takes the first answer, flags disagreement with any other answer of medium confidence or
/// better, and collects all evidence (each event once).
fn decide(answers: Vec<Answer<'_>>) -> Option<(Answer<'_>, bool, Vec<EventRef>)> {
    let first = answers.first()?;
    let conflict = first.conflict
        || answers.iter().skip(1).any(|other| {
            other.provenance.confidence() <= Confidence::Medium && other.releaser != first.releaser
        });
    let mut evidence: Vec<&EventRef> = Vec::with_capacity(4);
    for item in answers.iter().flat_map(|answer| answer.evidence.iter().flatten()) {
        if !evidence.iter().any(|known| known.same_event(item)) {
            evidence.push(item);
        }
    }
    let evidence = evidence.into_iter().cloned().collect();
    let first = answers.into_iter().next()?;
    Some((first, conflict, evidence))
}

/// The parties whose release ended the call: the last two that left by release or abandon.
fn closers(call: &Call) -> Vec<&Party> {
    let mut closers: Vec<&Party> =
        call.parties.iter().filter(|party| party.exit.is_some_and(Exit::is_release)).collect();
    closers.sort_by_key(|party| party.evidence.close_order);
    let skip = closers.len().saturating_sub(2);
    closers.split_off(skip)
}

/// The DN on the other side of `party`: its closing event's OtherDN, else the other closer.
fn other_side(call: &Call, party: &Party, closers: &[&Party]) -> Releaser {
    if let Some(other) = &party.evidence.close_other_dn {
        return Releaser::Dn(other.clone());
    }
    if let Some(other) = closers.iter().find(|other| other.dn != party.dn) {
        return Releaser::Dn(other.dn.clone());
    }
    if let Some(other) = call.other_dns.iter().find(|dn| **dn != party.dn) {
        return Releaser::Dn(other.clone());
    }
    Releaser::OtherOf(party.dn.clone())
}

/// The caller: the originating party, else the OtherDN of an abandon.
fn caller(call: &Call, abandoned: &Party) -> Releaser {
    if let Some(origin) = call.parties.iter().find(|party| is_originator(call, party)) {
        return Releaser::Dn(origin.dn.clone());
    }
    if let Some(other) = &abandoned.evidence.close_other_dn {
        return Releaser::Dn(other.clone());
    }
    Releaser::OtherOf(abandoned.dn.clone())
}

fn close_ref(party: &Party) -> [Option<&EventRef>; 2] {
    [party.evidence.close_event.as_ref(), None]
}

fn one(event: &EventRef) -> [Option<&EventRef>; 2] {
    [Some(event), None]
}

fn releasing_party_answer(call: &Call, party: &Party, closers: &[&Party]) -> Option<Releaser> {
    match party.evidence.releasing_party.as_ref()?.0 {
        ReleasingParty::Local => Some(Releaser::Dn(party.dn.clone())),
        ReleasingParty::Remote => Some(other_side(call, party, closers)),
        ReleasingParty::Unknown => None,
    }
}

fn call_state_answer(call: &Call, party: &Party, closers: &[&Party]) -> Option<Releaser> {
    match party.evidence.close_call_state.as_ref()? {
        CallState::RemoteRelease => Some(other_side(call, party, closers)),
        CallState::Abandoned => Some(caller(call, party)),
        CallState::Cleared | CallState::Dropped | CallState::DroppedNoAnswer => Some(Releaser::Network),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Per call

/// The call-level verdict.
pub(crate) fn call_verdict(call: &Call, outcome: Outcome) -> CallVerdict {
    let closers = closers(call);
    let mut answers = Vec::new();
    if let Some((ctrl, event)) = &call.ctrl_party {
        answers.push(Answer::new(Releaser::Dn(ctrl.clone()), Provenance::CtrlPartyCall, one(event)));
    }
    answers.extend(ctrl_party_party_answer(call));
    answers.extend(releasing_party_call_answer(call, &closers));
    answers.extend(request_call_answer(call, &closers));
    for party in &closers {
        if let Some(releaser) = call_state_answer(call, party, &closers) {
            answers.push(Answer::new(releaser, Provenance::CallState, close_ref(party)));
            break;
        }
    }
    if let Some(abandoned) = closers.iter().find(|party| party.exit == Some(Exit::Abandoned)) {
        let mut answer = Answer::new(caller(call, abandoned), Provenance::AbandonPattern, [None, None]);
        for party in &closers {
            answer.add(party.evidence.close_event.as_ref());
        }
        answers.push(answer);
    }
    if let Some(first) = closers.first().filter(|_| !call.sip_layer) {
        answers.push(Answer::new(
            Releaser::Dn(first.dn.clone()),
            Provenance::InferredOrder,
            close_ref(first),
        ));
    }
    answers.extend(crate::sip_release::call_answer(call));
    let ctrl_party_raw = call.ctrl_party.as_ref().map(|(raw, _)| raw.clone());
    let Some((answer, conflict, evidence)) = decide(answers) else {
        return CallVerdict {
            ended_by: Ender { dn: None, kind: EnderKind::Unknown, resolved: false },
            outcome: outcome.release_outcome(),
            ctrl_party_raw,
            provenance: Provenance::Unknown,
            confidence: Confidence::None,
            conflict: false,
            evidence: Vec::new(),
        };
    };
    CallVerdict {
        ended_by: ender(call, &answer.releaser),
        outcome: outcome.release_outcome(),
        ctrl_party_raw,
        provenance: answer.provenance,
        confidence: answer.provenance.confidence(),
        conflict,
        evidence,
    }
}

/// Rung 2: CtrlParty on the EventCallPartyDeleted of the last parties.
fn ctrl_party_party_answer(call: &Call) -> Option<Answer<'_>> {
    let mut deleted: Vec<&Party> =
        call.parties.iter().filter(|party| party.evidence.ctrl_party.is_some()).collect();
    deleted.sort_by_key(|party| party.evidence.close_order);
    let last_two = &deleted[deleted.len().saturating_sub(2)..];
    let (first_ctrl, first_event) = last_two.first()?.evidence.ctrl_party.as_deref()?;
    let mut answer =
        Answer::new(Releaser::Dn(first_ctrl.clone()), Provenance::CtrlPartyParty, one(first_event));
    for party in last_two.iter().skip(1) {
        let Some((ctrl, event)) = party.evidence.ctrl_party.as_deref() else { continue };
        answer.add(Some(event));
        answer.conflict |= ctrl != first_ctrl;
    }
    Some(answer)
}

/// Rung 3: ReleasingParty of the closers' EventReleased / EventAbandoned.
fn releasing_party_call_answer<'a>(call: &Call, closers: &[&'a Party]) -> Option<Answer<'a>> {
    let mut answer: Option<Answer> = None;
    for party in closers {
        let Some(releaser) = releasing_party_answer(call, party, closers) else { continue };
        match &mut answer {
            None => answer = Some(Answer::new(releaser, Provenance::ReleasingParty, close_ref(party))),
            Some(first) => {
                first.add(party.evidence.close_event.as_ref());
                first.conflict |= first.releaser != releaser;
            }
        }
    }
    answer
}

/// Rung 5: RequestClearCall, or a closer's own RequestReleaseCall.
fn request_call_answer<'a>(call: &'a Call, closers: &[&'a Party]) -> Option<Answer<'a>> {
    if let Some(event) = &call.clear_request {
        return Some(Answer::new(Releaser::Application, Provenance::Request, one(event)));
    }
    closers.iter().find_map(|party| {
        let (requester, event) = party.evidence.request.as_deref()?;
        Some(Answer::new(Releaser::Dn(requester.clone()), Provenance::Request, one(event)))
    })
}

fn ender(call: &Call, releaser: &Releaser) -> Ender {
    match releaser {
        Releaser::Application => Ender { dn: None, kind: EnderKind::Application, resolved: true },
        Releaser::Network => Ender { dn: None, kind: EnderKind::Network, resolved: true },
        Releaser::OtherOf(_) => Ender { dn: None, kind: EnderKind::Unknown, resolved: false },
        Releaser::Dn(dn) => ender_for_dn(call, dn),
    }
}

fn ender_for_dn(call: &Call, dn: &Text) -> Ender {
    if let Some(party) = call.parties.iter().rev().find(|party| party.dn == *dn) {
        let kind = match party.kind {
            PartyKind::Agent => EnderKind::Agent,
            PartyKind::Queue | PartyKind::RoutingPoint => EnderKind::System,
            PartyKind::External => EnderKind::Customer,
        };
        return Ender { dn: Some(dn.clone()), kind, resolved: true };
    }
    if call.other_dns.contains(dn) {
        return Ender { dn: Some(dn.clone()), kind: EnderKind::Customer, resolved: true };
    }
    Ender { dn: Some(dn.clone()), kind: EnderKind::Unknown, resolved: false }
}

// ---------------------------------------------------------------------------------------
// Per party

/// The verdict for one party; `None` for parties that did not leave by a release, an
/// abandon, a transfer or a conference (diverted, routed, moved, still on the call).
pub(crate) fn party_verdicts(call: &Call) -> Vec<Option<PartyVerdict>> {
    let closers = closers(call);
    call.parties.iter().map(|party| party_verdict(call, party, &closers)).collect()
}

fn party_verdict(call: &Call, party: &Party, closers: &[&Party]) -> Option<PartyVerdict> {
    let exit = party.exit?;
    let relevant = exit.is_release()
        || matches!(exit, Exit::LeftByTransfer | Exit::LeftByConference | Exit::RemovedFromConference);
    if !relevant {
        return None;
    }
    let answers = party_answers(call, party, closers);
    let releasing_party_raw = party.evidence.releasing_party.as_ref().map(|(_, raw)| raw.clone());
    let counts_for_call = exit.is_release();
    let Some((answer, conflict, evidence)) = decide(answers) else {
        return Some(PartyVerdict {
            released_by: ReleasedBy::Unknown,
            by: None,
            releasing_party_raw,
            provenance: Provenance::Unknown,
            confidence: Confidence::None,
            conflict: false,
            counts_for_call,
            evidence: party.evidence.close_event.iter().cloned().collect(),
        });
    };
    let (released_by, by) = relative(party, &answer.releaser);
    Some(PartyVerdict {
        released_by,
        by,
        releasing_party_raw,
        provenance: answer.provenance,
        confidence: answer.provenance.confidence(),
        conflict,
        counts_for_call,
        evidence,
    })
}

fn party_answers<'a>(call: &'a Call, party: &'a Party, closers: &[&'a Party]) -> Vec<Answer<'a>> {
    let mut answers = Vec::new();
    let evidence = &party.evidence;
    if let Some((ctrl, event)) = evidence.ctrl_party.as_deref() {
        answers.push(Answer::new(Releaser::Dn(ctrl.clone()), Provenance::CtrlPartyParty, one(event)));
    }
    if let Some(releaser) = releasing_party_answer(call, party, closers) {
        answers.push(Answer::new(releaser, Provenance::ReleasingParty, close_ref(party)));
    }
    if let Some((by, event)) = evidence.deleted_by.as_deref() {
        answers.push(Answer::new(Releaser::Dn(by.clone()), Provenance::DeletedBy, one(event)));
    }
    if let Some((requester, event)) = evidence.request.as_deref() {
        answers.push(Answer::new(Releaser::Dn(requester.clone()), Provenance::Request, one(event)));
    }
    if let Some(releaser) = call_state_answer(call, party, closers) {
        answers.push(Answer::new(releaser, Provenance::CallState, close_ref(party)));
    }
    if party.exit == Some(Exit::Abandoned) {
        answers.push(Answer::new(caller(call, party), Provenance::AbandonPattern, close_ref(party)));
    }
    if let Some(first) =
        closers.first().filter(|_| !call.sip_layer && closers.iter().any(|closer| closer.dn == party.dn))
    {
        let mut answer =
            Answer::new(Releaser::Dn(first.dn.clone()), Provenance::InferredOrder, close_ref(first));
        if first.dn != party.dn {
            answer.add(party.evidence.close_event.as_ref());
        }
        answers.push(answer);
    }
    answers.extend(crate::sip_release::party_answer(call, party));
    answers
}

fn relative(party: &Party, releaser: &Releaser) -> (ReleasedBy, Option<Text>) {
    match releaser {
        Releaser::Dn(dn) if *dn == party.dn => (ReleasedBy::Itself, None),
        Releaser::Dn(dn) => (ReleasedBy::Other, Some(dn.clone())),
        Releaser::OtherOf(_) => (ReleasedBy::Other, None),
        Releaser::Application | Releaser::Network => (ReleasedBy::Other, None),
    }
}
