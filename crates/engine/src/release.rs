//! Who released: per-party and per-call verdicts by the derivation ladder of release.md §3.
//!
//! The ladder is a table ([`CALL_LADDER`], [`PARTY_LADDER`]): one row per rung, its
//! provenance and the function that reads its evidence; a new rung is a new row. Every rung
//! that has an answer is computed; the first one of high or medium confidence decides, its
//! label is the provenance, and a disagreeing rung of high or medium confidence sets
//! `conflict`. A rung of low confidence (the order of the releases) never decides: when it is
//! all there is, the verdict is `unknown` and names its answer as a `candidate`, with the
//! reason and a low confidence. All the evidence (the events each rung read) is kept.

use callstitch_tlib::{CallState, ReleasingParty, Text};
use serde::{Deserialize, Serialize};

use crate::call::Call;
use crate::event_ref::EventRef;
use crate::model::{is_originator, Outcome};
use crate::party::{Party, PartyKind};
use crate::state::Exit;

callstitch_tlib::labelled_enum! {
    /// Which rung of the ladder decided a verdict (release.md §3).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Provenance {
        CtrlPartyCall => "ctrl-party.call",
        CtrlPartyParty => "ctrl-party.party",
        ReleasingParty => "releasing-party",
        DeletedBy => "deleted-by",
        Request => "request",
        CallState => "call-state",
        AbandonPattern => "abandon-pattern",
        InferredOrder => "inferred-order",
        /// The SIP signal that ended a SIP-layer call (crate::sip_release).
        Sip => "sip",
        Unknown => "unknown",
    }
}

impl Provenance {
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

callstitch_tlib::labelled_enum! {
    /// Relative to the party: it released itself, the other side did, or nobody can tell.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ReleasedBy {
        Itself => "self",
        Other => "other",
        Unknown => "unknown",
    }
    /// The name JSON gives it.
    pub fn label;
}

/// A guess the evidence does not support enough to be a verdict: what the low rung says, and
/// why it cannot decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyCandidate {
    pub released_by: ReleasedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Text>,
    pub provenance: Provenance,
    pub confidence: Confidence,
    pub reason: String,
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
    /// False for a party that left by transfer or conference, or left a conference that went
    /// on without it: it did not end the call.
    pub counts_for_call: bool,
    pub evidence: Vec<EventRef>,
    /// When `released_by` is `unknown` but a low rung had an answer: that answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<PartyCandidate>,
}

callstitch_tlib::labelled_enum! {
    /// What kind of endpoint ended the call.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum EnderKind {
        /// The customer: an external / unmonitored party, or an inbound call's originator.
        Customer => "customer",
        /// A monitored internal DN.
        Agent => "agent",
        /// A queue, ACD group or routing point.
        System => "system",
        /// A client application (RequestClearCall).
        Application => "application",
        /// The switch or the network (CallState Cleared / Dropped).
        Network => "network",
        Unknown => "unknown",
    }
    /// The name JSON gives it.
    pub fn label;
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

/// A guess about who ended the call that the evidence does not support enough to be a
/// verdict: what the low rung says, and why it cannot decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCandidate {
    pub ended_by: Ender,
    pub provenance: Provenance,
    pub confidence: Confidence,
    pub reason: String,
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
    /// When `ended_by` is `unknown` but a low rung had an answer: that answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<CallCandidate>,
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

/// What one rung read: its answer and the events it read (at most two).
#[derive(Debug, Clone)]
pub(crate) struct Reading<'a> {
    releaser: Releaser,
    evidence: [Option<&'a EventRef>; 2],
    /// The rung's own pieces of evidence disagree (both parties say `2 Remote`).
    conflict: bool,
}

impl<'a> Reading<'a> {
    pub(crate) fn new(releaser: Releaser, evidence: [Option<&'a EventRef>; 2]) -> Reading<'a> {
        Reading { releaser, evidence, conflict: false }
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

/// One rung's answer, labelled with the rung.
#[derive(Debug, Clone)]
struct Answer<'a> {
    provenance: Provenance,
    reading: Reading<'a>,
}

/// What the rungs read: the call and the parties whose release ended it.
pub(crate) struct Ladder<'a> {
    pub(crate) call: &'a Call,
    closers: Vec<&'a Party>,
}

impl<'a> Ladder<'a> {
    /// The ladder of `call`, shared by its call verdict and its party verdicts.
    pub(crate) fn new(call: &'a Call) -> Ladder<'a> {
        Ladder { call, closers: closers(call) }
    }
}

/// A rung of the call verdict: its reading of the call, if it has one.
type CallRung = for<'a> fn(&Ladder<'a>) -> Option<Reading<'a>>;
/// A rung of a party verdict.
type PartyRung = for<'a> fn(&Ladder<'a>, &'a Party) -> Option<Reading<'a>>;

/// The ladder of the call verdict (release.md §3), highest rung first.
const CALL_LADDER: &[(Provenance, CallRung); 8] = &[
    (Provenance::CtrlPartyCall, call_ctrl_party_call),
    (Provenance::CtrlPartyParty, call_ctrl_party_party),
    (Provenance::ReleasingParty, call_releasing_party),
    (Provenance::Request, call_request),
    (Provenance::CallState, call_call_state),
    (Provenance::AbandonPattern, call_abandon_pattern),
    (Provenance::Sip, crate::sip_release::call_reading),
    (Provenance::InferredOrder, call_inferred_order),
];

/// The ladder of a party verdict, highest rung first.
const PARTY_LADDER: &[(Provenance, PartyRung); 8] = &[
    (Provenance::CtrlPartyParty, party_ctrl_party),
    (Provenance::ReleasingParty, party_releasing_party),
    (Provenance::DeletedBy, party_deleted_by),
    (Provenance::Request, party_request),
    (Provenance::CallState, party_call_state),
    (Provenance::AbandonPattern, party_abandon_pattern),
    (Provenance::Sip, crate::sip_release::party_reading),
    (Provenance::InferredOrder, party_inferred_order),
];

/// What the ladder concluded.
struct Decision<'a> {
    /// The deciding answer, or `None` when no rung of high or medium confidence answered.
    verdict: Option<Answer<'a>>,
    /// The low rung's answer when nothing decided.
    candidate: Option<Answer<'a>>,
    conflict: bool,
    evidence: Vec<EventRef>,
}

/// Every rung's answer, in the ladder's order (`None` where a rung had none): both ladders
/// have eight rungs, so the answers live on the stack.
type Answers<'a> = [Option<Answer<'a>>; 8];

/// The first answer of high or medium confidence decides; another of high or medium
/// confidence that disagrees sets `conflict`; a low one is only a candidate. Evidence of every
/// answer is kept (each event once).
fn decide<'a>(mut answers: Answers<'a>) -> Decision<'a> {
    let decides = |answer: &Answer<'_>| answer.provenance.confidence() <= Confidence::Medium;
    // At most two events a rung: sixteen slots hold every answer's evidence.
    let mut seen: [Option<&EventRef>; 16] = [None; 16];
    let mut count = 0;
    for item in answers.iter().flatten().flat_map(|answer| answer.reading.evidence.iter().flatten()) {
        let known = seen.iter().take(count).flatten().any(|known| known.same_event(item));
        if !known {
            if let Some(slot) = seen.get_mut(count) {
                *slot = Some(item);
                count += 1;
            }
        }
    }
    let evidence = seen.iter().take(count).flatten().map(|event| (*event).clone()).collect();
    let position = answers.iter().position(|answer| answer.as_ref().is_some_and(decides));
    let conflict =
        position.and_then(|position| answers.get(position)).and_then(Option::as_ref).is_some_and(|first| {
            first.reading.conflict
                || answers
                    .iter()
                    .flatten()
                    .any(|other| decides(other) && other.reading.releaser != first.reading.releaser)
        });
    match position {
        Some(position) => Decision {
            verdict: answers.get_mut(position).and_then(Option::take),
            candidate: None,
            conflict,
            evidence,
        },
        None => {
            let candidate = answers.iter_mut().find_map(Option::take);
            Decision { verdict: None, candidate, conflict: false, evidence }
        }
    }
}

/// The parties whose release ended the call: the last two that left by release or abandon,
/// not counting those that left a conference that went on without them.
fn closers(call: &Call) -> Vec<&Party> {
    let mut closers: Vec<&Party> = call
        .parties
        .iter()
        .filter(|party| party.exit.is_some_and(Exit::is_release) && !party.left_conference())
        .collect();
    closers.sort_by_key(|party| party.evidence.close_order);
    let skip = closers.len().saturating_sub(2);
    closers.split_off(skip)
}

/// The DN on the other side of `party`: its closing event's OtherDN, else the other closer.
fn other_side(ladder: &Ladder<'_>, party: &Party) -> Releaser {
    if let Some(other) = &party.evidence.close_other_dn {
        return Releaser::Dn(other.clone());
    }
    if let Some(other) = ladder.closers.iter().find(|other| other.dn != party.dn) {
        return Releaser::Dn(other.dn.clone());
    }
    if let Some(other) = ladder.call.other_dns.iter().find(|dn| **dn != party.dn) {
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

fn releasing_party_answer(ladder: &Ladder<'_>, party: &Party) -> Option<Releaser> {
    match party.evidence.releasing_party.as_ref()?.0 {
        ReleasingParty::Local => Some(Releaser::Dn(party.dn.clone())),
        ReleasingParty::Remote => Some(other_side(ladder, party)),
        ReleasingParty::Unknown => None,
    }
}

fn call_state_answer(ladder: &Ladder<'_>, party: &Party) -> Option<Releaser> {
    match party.evidence.close_call_state.as_ref()? {
        CallState::RemoteRelease => Some(other_side(ladder, party)),
        CallState::Abandoned => Some(caller(ladder.call, party)),
        CallState::Cleared | CallState::Dropped | CallState::DroppedNoAnswer => Some(Releaser::Network),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Per call

/// The call-level verdict.
pub(crate) fn call_verdict(ladder: &Ladder<'_>, outcome: Outcome) -> CallVerdict {
    let call = ladder.call;
    let answers: Answers<'_> = std::array::from_fn(|index| {
        let (provenance, rung) = CALL_LADDER.get(index)?;
        rung(ladder).map(|reading| Answer { provenance: *provenance, reading })
    });
    let decision = decide(answers);
    let candidate = decision.candidate.map(|answer| CallCandidate {
        ended_by: ender(call, &answer.reading.releaser),
        provenance: answer.provenance,
        confidence: answer.provenance.confidence(),
        reason: call_reason(ladder, &answer),
    });
    let (ended_by, provenance) = match &decision.verdict {
        Some(answer) => (ender(call, &answer.reading.releaser), answer.provenance),
        None => (Ender { dn: None, kind: EnderKind::Unknown, resolved: false }, Provenance::Unknown),
    };
    CallVerdict {
        ended_by,
        outcome: outcome.release_outcome(),
        ctrl_party_raw: call.ctrl_party.as_ref().map(|(raw, _)| raw.clone()),
        provenance,
        confidence: provenance.confidence(),
        conflict: decision.conflict,
        evidence: decision.evidence,
        candidate,
    }
}

/// Rung 1: CtrlParty on EventCallDeleted.
fn call_ctrl_party_call<'a>(ladder: &Ladder<'a>) -> Option<Reading<'a>> {
    let (ctrl, event) = ladder.call.ctrl_party.as_ref()?;
    Some(Reading::new(Releaser::Dn(ctrl.clone()), one(event)))
}

/// Rung 2: CtrlParty on the EventCallPartyDeleted of the parties that ended the call; two
/// that name different parties are a conflict.
fn call_ctrl_party_party<'a>(ladder: &Ladder<'a>) -> Option<Reading<'a>> {
    let mut deleted = ladder.closers.iter().filter_map(|party| party.evidence.ctrl_party.as_deref());
    let (first_ctrl, first_event) = deleted.next()?;
    let mut reading = Reading::new(Releaser::Dn(first_ctrl.clone()), one(first_event));
    for (ctrl, event) in deleted {
        reading.add(Some(event));
        reading.conflict |= ctrl != first_ctrl;
    }
    Some(reading)
}

/// Rung 3: ReleasingParty of the closers' EventReleased / EventAbandoned; two that disagree
/// are a conflict.
fn call_releasing_party<'a>(ladder: &Ladder<'a>) -> Option<Reading<'a>> {
    let mut reading: Option<Reading<'a>> = None;
    for party in &ladder.closers {
        let Some(releaser) = releasing_party_answer(ladder, party) else { continue };
        match &mut reading {
            None => reading = Some(Reading::new(releaser, close_ref(party))),
            Some(first) => {
                first.add(party.evidence.close_event.as_ref());
                first.conflict |= first.releaser != releaser;
            }
        }
    }
    reading
}

/// Rung 5: RequestClearCall (the application cleared the call), or a closer's own
/// RequestReleaseCall.
fn call_request<'a>(ladder: &Ladder<'a>) -> Option<Reading<'a>> {
    if let Some(event) = &ladder.call.clear_request {
        return Some(Reading::new(Releaser::Application, one(event)));
    }
    ladder.closers.iter().find_map(|party| {
        let (requester, event) = party.evidence.request.as_deref()?;
        Some(Reading::new(Releaser::Dn(requester.clone()), one(event)))
    })
}

/// Rung 6: CallState of the first closer whose release event has a telling one.
fn call_call_state<'a>(ladder: &Ladder<'a>) -> Option<Reading<'a>> {
    ladder
        .closers
        .iter()
        .find_map(|party| Some(Reading::new(call_state_answer(ladder, party)?, close_ref(party))))
}

/// Rung 7: an EventAbandoned among the closers: the caller gave up.
fn call_abandon_pattern<'a>(ladder: &Ladder<'a>) -> Option<Reading<'a>> {
    let abandoned = ladder.closers.iter().find(|party| party.exit == Some(Exit::Abandoned))?;
    let mut reading = Reading::new(caller(ladder.call, abandoned), [None, None]);
    for party in &ladder.closers {
        reading.add(party.evidence.close_event.as_ref());
    }
    Some(reading)
}

/// Rung 8: the first of the closers in the server's order. Low: a candidate, never a verdict;
/// not made for a SIP-layer call, whose releases come in SIP Server's clean-up order.
fn call_inferred_order<'a>(ladder: &Ladder<'a>) -> Option<Reading<'a>> {
    if ladder.call.sip_layer {
        return None;
    }
    let first = ladder.closers.first()?;
    Some(Reading::new(Releaser::Dn(first.dn.clone()), close_ref(first)))
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
    if let Some(index) = call.other_dns.iter().position(|other| other == dn) {
        // Named only as OtherDN: the customer or one of ours when something says so, else
        // a DN nothing tells about (an agent at another site looks the same).
        let kind = match call.other_kinds.get(index).copied().flatten() {
            Some(PartyKind::External) => EnderKind::Customer,
            Some(_) => EnderKind::Agent,
            None => EnderKind::Unknown,
        };
        return Ender { dn: Some(dn.clone()), kind, resolved: true };
    }
    Ender { dn: Some(dn.clone()), kind: EnderKind::Unknown, resolved: false }
}

// ---------------------------------------------------------------------------------------
// Why a candidate is only a candidate

/// What the call's release events did not say (the reason a low rung is all there is).
fn missing_evidence(out: &mut String, parties: &[&Party]) {
    let raw = parties.iter().find_map(|party| party.evidence.releasing_party.as_ref().map(|(_, raw)| raw));
    match raw {
        Some(raw) => {
            out.push_str("no CtrlParty, ReleasingParty '");
            out.push_str(raw);
            out.push('\'');
        }
        None => out.push_str("no CtrlParty, no ReleasingParty"),
    }
}

/// `#123 EventReleased of 7001 at SIPServer1`, or as much of it as is known.
fn describe_close(out: &mut String, party: &Party) {
    let Some(event) = &party.evidence.close_event else {
        out.push_str("the release of ");
        out.push_str(&party.dn);
        return;
    };
    if let Some(seq) = event.seq {
        out.push('#');
        push_number(out, seq);
        out.push(' ');
    }
    out.push_str(event.message.name());
    out.push_str(" of ");
    out.push_str(&party.dn);
    out.push_str(" at ");
    out.push_str(&event.site);
}

/// `number` in decimal, as `Display` writes it, without going through `fmt`.
fn push_number(out: &mut String, mut number: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        if let Some(slot) = digits.get_mut(start) {
            *slot = b'0' + (number % 10) as u8;
        }
        number /= 10;
        if number == 0 || start == 0 {
            break;
        }
    }
    for digit in digits.iter().skip(start) {
        out.push(char::from(*digit));
    }
}

const ORDER_IS_NOT_EVIDENCE: &str =
    "the events of one step may arrive in any order, so the order does not say who released";

/// `<what is missing>; <first close> came first ... but <why order is no evidence>`.
fn order_reason(missing: &[&Party], first: &Party) -> String {
    let mut out = String::with_capacity(256);
    missing_evidence(&mut out, missing);
    out.push_str("; ");
    describe_close(&mut out, first);
    out.push_str(" came first of the last releases in the server's sequence, but ");
    out.push_str(ORDER_IS_NOT_EVIDENCE);
    out
}

fn call_reason(ladder: &Ladder<'_>, answer: &Answer<'_>) -> String {
    debug_assert_eq!(answer.provenance, Provenance::InferredOrder, "the only low rung");
    let Some(first) = ladder.closers.first() else {
        return format!("{}: no evidence", answer.provenance.label());
    };
    order_reason(&ladder.closers, first)
}

fn party_reason(ladder: &Ladder<'_>, party: &Party, answer: &Answer<'_>) -> String {
    debug_assert_eq!(answer.provenance, Provenance::InferredOrder, "the only low rung");
    let first = ladder.closers.first().copied().unwrap_or(party);
    order_reason(&[party], first)
}

// ---------------------------------------------------------------------------------------
// Per party

/// The verdict for one party; `None` for parties that did not leave by a release, an
/// abandon, a transfer or a conference (diverted, routed, moved, still on the call).
pub(crate) fn party_verdicts(ladder: &Ladder<'_>) -> Vec<Option<PartyVerdict>> {
    ladder.call.parties.iter().map(|party| party_verdict(ladder, party)).collect()
}

fn party_verdict<'a>(ladder: &Ladder<'a>, party: &'a Party) -> Option<PartyVerdict> {
    let exit = party.exit?;
    let relevant = exit.is_release()
        || matches!(exit, Exit::LeftByTransfer | Exit::LeftByConference | Exit::RemovedFromConference);
    if !relevant {
        return None;
    }
    let answers: Answers<'a> = std::array::from_fn(|index| {
        let (provenance, rung) = PARTY_LADDER.get(index)?;
        rung(ladder, party).map(|reading| Answer { provenance: *provenance, reading })
    });
    let decision = decide(answers);
    let candidate = decision.candidate.map(|answer| {
        let (released_by, by) = relative(party, &answer.reading.releaser);
        PartyCandidate {
            released_by,
            by,
            provenance: answer.provenance,
            confidence: answer.provenance.confidence(),
            reason: party_reason(ladder, party, &answer),
        }
    });
    let (released_by, by, provenance) = match &decision.verdict {
        Some(answer) => {
            let (released_by, by) = relative(party, &answer.reading.releaser);
            (released_by, by, answer.provenance)
        }
        None => (ReleasedBy::Unknown, None, Provenance::Unknown),
    };
    let mut evidence = decision.evidence;
    if evidence.is_empty() {
        evidence.extend(party.evidence.close_event.iter().cloned());
    }
    Some(PartyVerdict {
        released_by,
        by,
        releasing_party_raw: party.evidence.releasing_party.as_ref().map(|(_, raw)| raw.clone()),
        provenance,
        confidence: provenance.confidence(),
        conflict: decision.conflict,
        counts_for_call: exit.is_release() && !party.left_conference(),
        evidence,
        candidate,
    })
}

/// Rung 2: CtrlParty of its EventCallPartyDeleted.
fn party_ctrl_party<'a>(_: &Ladder<'a>, party: &'a Party) -> Option<Reading<'a>> {
    let (ctrl, event) = party.evidence.ctrl_party.as_deref()?;
    Some(Reading::new(Releaser::Dn(ctrl.clone()), one(event)))
}

/// Rung 3: its own ReleasingParty.
fn party_releasing_party<'a>(ladder: &Ladder<'a>, party: &'a Party) -> Option<Reading<'a>> {
    Some(Reading::new(releasing_party_answer(ladder, party)?, close_ref(party)))
}

/// Rung 4: ThirdPartyDN (DeletedBy) of an EventPartyDeleted naming it.
fn party_deleted_by<'a>(_: &Ladder<'a>, party: &'a Party) -> Option<Reading<'a>> {
    let (by, event) = party.evidence.deleted_by.as_deref()?;
    Some(Reading::new(Releaser::Dn(by.clone()), one(event)))
}

/// Rung 5: its own RequestReleaseCall, or a RequestDeleteFromConference naming it; for a
/// party that ended the call, RequestClearCall (the application) or the other closer's
/// RequestReleaseCall.
fn party_request<'a>(ladder: &Ladder<'a>, party: &'a Party) -> Option<Reading<'a>> {
    if let Some((requester, event)) = party.evidence.request.as_deref() {
        return Some(Reading::new(Releaser::Dn(requester.clone()), one(event)));
    }
    if !ladder.closers.iter().any(|closer| std::ptr::eq(*closer, party)) {
        return None;
    }
    call_request(ladder)
}

/// Rung 6: CallState of its release event.
fn party_call_state<'a>(ladder: &Ladder<'a>, party: &'a Party) -> Option<Reading<'a>> {
    Some(Reading::new(call_state_answer(ladder, party)?, close_ref(party)))
}

/// Rung 7: its EventAbandoned: the caller gave up.
fn party_abandon_pattern<'a>(ladder: &Ladder<'a>, party: &'a Party) -> Option<Reading<'a>> {
    (party.exit == Some(Exit::Abandoned)).then(|| Reading::new(caller(ladder.call, party), close_ref(party)))
}

/// Rung 8: for one of the closers, the first closer released. Low: a candidate only.
fn party_inferred_order<'a>(ladder: &Ladder<'a>, party: &'a Party) -> Option<Reading<'a>> {
    if ladder.call.sip_layer || !ladder.closers.iter().any(|closer| closer.dn == party.dn) {
        return None;
    }
    let first = ladder.closers.first()?;
    let mut reading = Reading::new(Releaser::Dn(first.dn.clone()), close_ref(first));
    if first.dn != party.dn {
        reading.add(party.evidence.close_event.as_ref());
    }
    Some(reading)
}

fn relative(party: &Party, releaser: &Releaser) -> (ReleasedBy, Option<Text>) {
    match releaser {
        Releaser::Dn(dn) if *dn == party.dn => (ReleasedBy::Itself, None),
        Releaser::Dn(dn) => (ReleasedBy::Other, Some(dn.clone())),
        Releaser::OtherOf(_) => (ReleasedBy::Other, None),
        Releaser::Application | Releaser::Network => (ReleasedBy::Other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_number_writes_what_display_writes() {
        for number in [0, 1, 9, 10, 99, 100, 12_345, 4_294_967_296, u64::MAX - 1, u64::MAX] {
            let mut out = String::from("x");
            push_number(&mut out, number);
            assert_eq!(out, format!("x{number}"));
        }
    }

    #[test]
    fn each_rung_has_the_confidence_of_release_md() {
        use Provenance as P;
        let table = [
            (P::CtrlPartyCall, Confidence::High),
            (P::CtrlPartyParty, Confidence::High),
            (P::ReleasingParty, Confidence::High),
            (P::DeletedBy, Confidence::High),
            (P::Request, Confidence::Medium),
            (P::CallState, Confidence::Medium),
            (P::AbandonPattern, Confidence::Medium),
            (P::InferredOrder, Confidence::Low),
            (P::Sip, Confidence::Medium),
            (P::Unknown, Confidence::None),
        ];
        for (provenance, confidence) in table {
            assert_eq!(provenance.confidence(), confidence, "{provenance:?}");
        }
    }

    #[test]
    fn the_ladders_run_in_the_order_of_release_md_and_confidence_never_rises_down_them() {
        let call: Vec<Provenance> = CALL_LADDER.iter().map(|(provenance, _)| *provenance).collect();
        let party: Vec<Provenance> = PARTY_LADDER.iter().map(|(provenance, _)| *provenance).collect();
        for ladder in [call, party] {
            let t_library: Vec<Provenance> =
                ladder.iter().copied().filter(|provenance| *provenance != Provenance::Sip).collect();
            assert!(t_library.windows(2).all(|pair| pair[0] < pair[1]), "{ladder:?}");
            assert!(ladder.windows(2).all(|pair| pair[0].confidence() <= pair[1].confidence()), "{ladder:?}");
            let sip = ladder.iter().position(|provenance| *provenance == Provenance::Sip);
            assert_eq!(sip, Some(ladder.len() - 2), "the SIP rung ranks below every T-Library rung");
            assert_eq!(ladder.last(), Some(&Provenance::InferredOrder), "the low rung comes last");
        }
    }
}
