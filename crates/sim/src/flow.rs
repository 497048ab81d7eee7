//! Building one interaction: the segments (calls) it creates on the sites, the T-Library
//! events each server distributes for them, and the truth that goes with them.
//!
//! The scenarios ([`crate::scenario`]) describe a flow step by step with the helpers here
//! (`dialing`, `ringing`, `released`, `hop_islink`, ...). Each helper writes the event as the
//! call models (call-models.md) give it, keeps the truth of the parties up to date, applies
//! the site's release reporting (release.md) and follows recordings (recording.md).

use callstitch_tlib::{
    CallState, CallType, CallUuid, ConnId, Context, DnRole, Event, IsLink, KvList, LinkRole, Message, Text,
    Value,
};

use crate::center::{ContactCenter, ReleaseTracking};
use crate::ids::Ids;
use crate::rng::Rng;
use crate::truth::{Interaction, Link, MediaFile, Party, ReleasedBy, Segment, SegmentRef};

/// One event of the interaction, at true (simulated) UTC time, for one site.
#[derive(Debug, Clone)]
pub struct Timed {
    /// True UTC microseconds; the site's clock skew is applied when it is written.
    pub time: i64,
    pub site: usize,
    pub event: Event,
}

/// A handle on a segment of the interaction being built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seg(usize);

/// How a party leaves with EventReleased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    /// It hung up (ReleasingParty `1 Local`).
    HungUp,
    /// The other side hung up (`2 Remote`).
    ByOther,
    /// It left by completing a transfer (CallState Transferred, `1 Local`).
    Transferred,
    /// It left a consultation that became a conference (CallState Conferenced).
    Conferenced,
}

/// What a consultation points to its main call with (tlib-events.md §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsultFor {
    Transfer,
    Conference,
    Plain,
}

#[derive(Debug, Clone)]
struct PartyDraft {
    dn: Text,
    role: &'static str,
    exit: Option<&'static str>,
    released_by: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct SegDraft {
    site: usize,
    uuid: CallUuid,
    conn: ConnId,
    conns: Vec<ConnId>,
    call_type: CallType,
    ani: Option<Text>,
    dnis: Option<Text>,
    parties: Vec<PartyDraft>,
    outcome: &'static str,
    links: Vec<IsLink>,
    consult: Option<(ConnId, ConsultFor, CallUuid)>,
    created: bool,
    dn_seen: bool,
    deleted: bool,
    /// When EventCallDeleted was written: from then on the server may hand its ConnID out
    /// again.
    deleted_at: Option<i64>,
    /// Set on a destination of an ISCC transfer: written on its first events.
    history: Option<History>,
    /// The strongest release evidence written on the segment so far.
    evidence: &'static str,
    /// The customer, when the site reports it as a party through call monitoring.
    customer: Option<Text>,
    /// The PartyState the call-based view last gave each DN (hold while dialing is
    /// Held+Dialing, call-models.md §19).
    party_states: Vec<(Text, u32)>,
    customer_connected: bool,
    /// The log begins after the call was set up: no EventCallCreated, no set-up events.
    mid_call: bool,
}

#[derive(Debug, Clone)]
struct History {
    last_conn: ConnId,
    last_location: Text,
    last_dn: Text,
    first_conn: ConnId,
    first_location: Text,
    first_dn: Text,
}

#[derive(Debug, Clone)]
struct MediaDraft {
    site: usize,
    uuid: CallUuid,
    conn: ConnId,
    dn: Text,
    side: &'static str,
    media_id: String,
    start: i64,
    stop: Option<(i64, &'static str)>,
}

/// The knobs that shape an interaction beyond its scenario (docs/simulator.md, "What broke
/// the linker"). The default is the classic simulator: no long calls, half of T-Server hops
/// keep the ConnID (a flow scripted with [`Flow::new`] plays as it always did).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shapes {
    /// Conversations that last [`LONG_TALK_SECS`], per thousand. At 0 no draw is made, so a
    /// flow draws exactly what it drew before long calls existed.
    pub long_calls_per_mille: u64,
    /// Hops to or from a T-Server that keep the ConnID of the sending call, in percent.
    pub keep_conn_percent: u64,
}

impl Default for Shapes {
    fn default() -> Self {
        Shapes { long_calls_per_mille: 0, keep_conn_percent: 50 }
    }
}

/// How long a long conversation lasts, in seconds: from the linker's default link timeout
/// (600 s) to half an hour, so the call on a receiving site outlasts that timeout.
pub const LONG_TALK_SECS: (i64, i64) = (600, 1_800);

/// The builder of one interaction.
pub struct Flow<'a> {
    pub center: &'a ContactCenter,
    pub rng: &'a mut Rng,
    ids: &'a mut Ids,
    /// The simulated time of the next event (true UTC microseconds).
    pub now: i64,
    events: Vec<Timed>,
    segs: Vec<SegDraft>,
    links: Vec<Link>,
    media: Vec<MediaDraft>,
    released_by: Option<ReleasedBy>,
    first_hop: Option<(ConnId, Text, Text)>,
    pub shapes: Shapes,
    /// Call-based party events that go right after the DN event just written (written with
    /// the next event, so that the DN event can still be changed: [`Flow::mark_last`]).
    pending: Vec<(Seg, Event)>,
    /// Who caused the release being written (CtrlParty of its EventCallPartyDeleted).
    ctrl_hint: Option<Text>,
}

const MICROS_PER_MS: i64 = 1_000;

/// PartyState values of the call-based view (tlib-events.md §3.6).
const QUEUED: u32 = 0x9;
const ALERTING: u32 = 0xA;
const CONNECTED: u32 = 0xC;
const HELD: u32 = 0xE;
const ROUTING: u32 = 0x800;
const DIALING_BIT: u32 = 0x1_0000;
/// Connected+Dialing: the originator of a call being set up.
const DIALING: u32 = CONNECTED | DIALING_BIT;
const MICROS_PER_SECOND: i64 = 1_000_000;

impl<'a> Flow<'a> {
    pub fn new(center: &'a ContactCenter, rng: &'a mut Rng, ids: &'a mut Ids, now: i64) -> Flow<'a> {
        Flow {
            center,
            rng,
            ids,
            now,
            events: Vec::new(),
            segs: Vec::new(),
            links: Vec::new(),
            media: Vec::new(),
            released_by: None,
            first_hop: None,
            shapes: Shapes::default(),
            pending: Vec::new(),
            ctrl_hint: None,
        }
    }

    /// The same builder with other [`Shapes`].
    pub fn with_shapes(mut self, shapes: Shapes) -> Flow<'a> {
        self.shapes = shapes;
        self
    }

    // --- time -------------------------------------------------------------------------

    /// Lets `low..=high` seconds of simulated time pass (talking, ringing, queueing).
    pub fn wait(&mut self, low: i64, high: i64) {
        self.now += self.rng.between(low * MICROS_PER_SECOND, high * MICROS_PER_SECOND);
    }

    /// Lets a conversation go on: `low..=high` seconds, or, for the share of long calls,
    /// [`LONG_TALK_SECS`].
    pub fn talk(&mut self, low: i64, high: i64) {
        let long = self.shapes.long_calls_per_mille;
        if long > 0 && self.rng.per_mille(long) {
            self.wait(LONG_TALK_SECS.0, LONG_TALK_SECS.1);
        } else {
            self.wait(low, high);
        }
    }

    /// Lets `low..=high` milliseconds pass.
    pub fn wait_ms(&mut self, low: i64, high: i64) {
        self.now += self.rng.between(low * MICROS_PER_MS, high * MICROS_PER_MS);
    }

    // --- segments -----------------------------------------------------------------------

    /// A new call on `site`: a new CallUUID unless one is `kept` (SIP Server to SIP
    /// Server), a new ConnID unless one is `kept` (ISCC may copy the origin's).
    pub fn new_call(
        &mut self,
        site: usize,
        call_type: CallType,
        kept_uuid: Option<CallUuid>,
        kept_conn: Option<ConnId>,
    ) -> Seg {
        let prefix = self.center.sites[site].uuid_prefix.clone();
        let uuid = kept_uuid.unwrap_or_else(|| self.ids.call_uuid(&prefix));
        let conn = kept_conn.unwrap_or_else(|| self.ids.conn_id(site, self.now, self.rng));
        self.segs.push(SegDraft {
            site,
            uuid,
            conn,
            conns: vec![conn],
            call_type,
            ani: None,
            dnis: None,
            parties: Vec::new(),
            outcome: "unknown",
            links: Vec::new(),
            consult: None,
            created: false,
            dn_seen: false,
            deleted: false,
            deleted_at: None,
            history: None,
            evidence: "none",
            customer: None,
            party_states: Vec::new(),
            customer_connected: false,
            mid_call: false,
        });
        Seg(self.segs.len() - 1)
    }

    /// An inbound customer call on `site` from `ani` to the service number `dnis`.
    pub fn inbound_call(&mut self, site: usize, ani: &str, dnis: &str) -> Seg {
        let seg = self.new_call(site, CallType::Inbound, None, None);
        self.segs[seg.0].ani = Some(Text::from(ani));
        self.segs[seg.0].dnis = Some(Text::from(dnis));
        seg
    }

    /// A consultation call from `main` (same site), pointing back to it.
    pub fn consultation(&mut self, main: Seg, purpose: ConsultFor) -> Seg {
        let site = self.segs[main.0].site;
        let main_conn = self.segs[main.0].conn;
        let main_uuid = self.segs[main.0].uuid.clone();
        let seg = self.new_call(site, CallType::Consult, None, None);
        self.segs[seg.0].consult = Some((main_conn, purpose, main_uuid));
        let link = Link {
            islink: None,
            kind: "consultation".to_string(),
            from: self.seg_ref(main),
            to: self.seg_ref(seg),
        };
        self.links.push(link);
        seg
    }

    pub fn site_of(&self, seg: Seg) -> usize {
        self.segs[seg.0].site
    }

    pub fn set_outcome(&mut self, seg: Seg, outcome: &'static str) {
        self.segs[seg.0].outcome = outcome;
    }

    /// The site's log (and its call monitoring) begins after `seg` was set up: its first
    /// events are whatever comes next (EventHeld, EventRetrieved, ...), with no
    /// EventCallCreated and no set-up events before them (call-models.md §18.3).
    pub fn joined_mid_call(&mut self, seg: Seg) {
        self.segs[seg.0].created = true;
        self.segs[seg.0].mid_call = true;
    }

    fn seg_ref(&self, seg: Seg) -> SegmentRef {
        let draft = &self.segs[seg.0];
        SegmentRef {
            site: self.center.sites[draft.site].application.clone(),
            call_uuid: draft.uuid.to_string(),
        }
    }

    // --- the event itself -------------------------------------------------------------

    fn push(&mut self, seg: Seg, event: Event) -> &mut Event {
        for (pending_seg, pending) in std::mem::take(&mut self.pending) {
            self.push_now(pending_seg, pending);
        }
        self.push_now(seg, event)
    }

    fn push_now(&mut self, seg: Seg, mut event: Event) -> &mut Event {
        let site = self.segs[seg.0].site;
        event.site = Text::from(self.center.sites[site].application.as_str());
        self.events.push(Timed { time: self.now, site, event });
        self.now += self.rng.between(2 * MICROS_PER_MS, 40 * MICROS_PER_MS);
        let last = self.events.len() - 1;
        &mut self.events[last].event
    }

    /// A call-based event of `seg` (context `distribute call/party event`).
    fn call_event(&mut self, seg: Seg, message: Message) -> &mut Event {
        if !self.segs[seg.0].created && message != Message::EventCallCreated {
            self.call_created(seg);
        }
        let draft = &self.segs[seg.0];
        let mut event = Event::new(message, "");
        event.context = Context::DistributeCallPartyEvent;
        event.conn_id = Some(draft.conn);
        event.call_uuid = Some(draft.uuid.clone());
        self.push(seg, event)
    }

    fn call_created(&mut self, seg: Seg) {
        self.segs[seg.0].created = true;
        let draft = self.segs[seg.0].clone();
        let event = self.call_event(seg, Message::EventCallCreated);
        event.call_type = Some(draft.call_type.clone());
        event.ani = draft.ani;
        event.dnis = draft.dnis;
        if let Some((_, _, main_uuid)) = draft.consult {
            event.orig_call_uuid = Some(main_uuid);
        }
    }

    /// A DN event of `seg` about `this` (with its role), seen against `other`.
    fn dn_event(
        &mut self,
        seg: Seg,
        message: Message,
        this: &str,
        this_role: DnRole,
        other: Option<(&str, DnRole)>,
    ) -> &mut Event {
        if !self.segs[seg.0].created {
            self.call_created(seg);
        }
        let first_dn_event = !self.segs[seg.0].dn_seen;
        self.segs[seg.0].dn_seen = true;
        let draft = &self.segs[seg.0];
        let mut event = Event::new(message, "");
        event.context = Context::DistributeEvent;
        event.conn_id = Some(draft.conn);
        event.call_uuid = Some(draft.uuid.clone());
        event.call_type = Some(draft.call_type.clone());
        event.this_dn = Some(Text::from(this));
        event.this_dn_role = Some(this_role);
        if let Some((other, role)) = other {
            event.other_dn = Some(Text::from(other));
            event.other_dn_role = Some(role);
        }
        if let Some((main_conn, _, _)) = &draft.consult {
            let main_conn = *main_conn;
            event.previous_conn_id = Some(main_conn);
        }
        if first_dn_event {
            event.ani = draft.ani.clone();
            event.dnis = draft.dnis.clone();
            if let Some(history) = &draft.history {
                write_history(&mut event, history);
            }
        }
        let other = event.other_dn.clone();
        let message = event.message.clone();
        self.push(seg, event);
        let index = self.events.len() - 1;
        let ctrl_hint = self.ctrl_hint.take();
        if self.center.sites[self.segs[seg.0].site].call_party_events {
            self.ctrl_hint = ctrl_hint;
            if first_dn_event {
                self.customer_joins(seg);
            }
            self.party_view(seg, &message, this, other.as_deref());
        }
        &mut self.events[index].event
    }

    // --- the call-based view of the parties (call-models.md §17) ------------------------

    /// A call-based party event of `seg` about `dn`, written after the DN event.
    fn party_event(&mut self, seg: Seg, message: Message, dn: &str, state: Option<u32>, ctrl: Option<Text>) {
        let draft = &self.segs[seg.0];
        let mut event = Event::new(message, "");
        event.context = Context::DistributeCallPartyEvent;
        event.conn_id = Some(draft.conn);
        event.call_uuid = Some(draft.uuid.clone());
        event.dn = Some(Text::from(dn));
        event.party_state = state.map(callstitch_tlib::PartyState);
        event.ctrl_party = ctrl;
        self.pending.push((seg, event));
    }

    /// The counterpart of a DN event in the call-based view (best-known mapping of §17):
    /// the party joins with its state, is connected or held, or leaves (CtrlParty: who
    /// caused it, where the site reports it).
    fn party_view(&mut self, seg: Seg, message: &Message, this: &str, other: Option<&str>) {
        let ctrl_hint = self.ctrl_hint.take();
        let was =
            self.segs[seg.0].party_states.iter().rev().find(|(dn, _)| dn == this).map(|(_, state)| *state);
        let dialing = was.is_some_and(|state| state & 0x1_0000 != 0);
        let (message, state) = match message {
            Message::EventDialing => (Message::EventCallPartyAdded, Some(DIALING)),
            Message::EventRinging => (Message::EventCallPartyAdded, Some(ALERTING)),
            Message::EventQueued => (Message::EventCallPartyAdded, Some(QUEUED)),
            Message::EventRouteRequest => (Message::EventCallPartyAdded, Some(QUEUED | ROUTING)),
            // The far end answered a party that holds while dialing: it stays held (§9).
            Message::EventEstablished if was == Some(HELD | DIALING_BIT) => {
                (Message::EventCallPartyState, Some(HELD))
            }
            Message::EventEstablished => (Message::EventCallPartyState, Some(CONNECTED)),
            Message::EventRetrieved if dialing => (Message::EventCallPartyState, Some(DIALING)),
            Message::EventRetrieved => (Message::EventCallPartyState, Some(CONNECTED)),
            Message::EventHeld if dialing => (Message::EventCallPartyState, Some(HELD | DIALING_BIT)),
            Message::EventHeld => (Message::EventCallPartyState, Some(HELD)),
            Message::EventDiverted | Message::EventRouteUsed => (Message::EventCallPartyDeleted, None),
            Message::EventReleased | Message::EventAbandoned => (Message::EventCallPartyDeleted, None),
            _ => return,
        };
        let ctrl = match message {
            Message::EventCallPartyDeleted if ctrl_hint.is_some() => self.reported_ctrl(seg, ctrl_hint),
            _ => None,
        };
        if let Some(state) = state {
            self.segs[seg.0].party_states.push((Text::from(this), state));
        }
        self.party_event(seg, message.clone(), this, state, ctrl);
        if state == Some(CONNECTED) {
            self.customer_connects(seg, other);
        }
    }

    /// CtrlParty as `seg`'s site writes it: only with full release reporting, and left out
    /// now and then, as when T-Server cannot tell (release.md §1.2).
    fn reported_ctrl(&mut self, seg: Seg, releaser: Option<Text>) -> Option<Text> {
        let site = self.segs[seg.0].site;
        match self.center.sites[site].release_tracking {
            ReleaseTracking::Full if !self.rng.percent(8) => releaser,
            _ => None,
        }
    }

    /// The customer of an inbound call joins its call-based view when the call first
    /// shows (it dialled: Connected+Dialing); a call the log joined mid-call has no such
    /// event.
    fn customer_joins(&mut self, seg: Seg) {
        let draft = &self.segs[seg.0];
        if draft.mid_call || draft.call_type != CallType::Inbound {
            return;
        }
        let Some(customer) = draft.ani.clone() else { return };
        self.segs[seg.0].customer = Some(customer.clone());
        self.join(seg, &customer, DnRole::Origination);
        self.party_event(seg, Message::EventCallPartyAdded, &customer, Some(DIALING), None);
    }

    /// Someone answered the customer: it is connected.
    fn customer_connects(&mut self, seg: Seg, other: Option<&str>) {
        let draft = &self.segs[seg.0];
        let Some(customer) = draft.customer.clone().filter(|customer| Some(customer.as_str()) == other)
        else {
            return;
        };
        if draft.customer_connected {
            return;
        }
        self.segs[seg.0].customer_connected = true;
        self.party_event(seg, Message::EventCallPartyState, &customer, Some(CONNECTED), None);
    }

    /// The customer's leg of `seg` ends with the call: EventCallPartyDeleted, caused by
    /// `releaser` (the truth says who, when the flow knows).
    fn customer_leaves(&mut self, seg: Seg, releaser: Option<&str>) {
        let Some(customer) = self.segs[seg.0].customer.clone() else { return };
        let on_the_call =
            self.segs[seg.0].parties.iter().any(|party| party.dn == customer && party.exit.is_none());
        if !on_the_call {
            return;
        }
        let released_by = releaser.map(|releaser| if releaser == customer { "self" } else { "other" });
        self.leave(seg, &customer, "released", released_by);
        let ctrl = self.reported_ctrl(seg, releaser.map(Text::from));
        self.party_event(seg, Message::EventCallPartyDeleted, &customer, None, ctrl);
    }

    // --- parties (truth) ----------------------------------------------------------------

    fn join(&mut self, seg: Seg, dn: &str, role: DnRole) {
        let parties = &mut self.segs[seg.0].parties;
        if parties.iter().any(|party| party.dn == dn && party.exit.is_none()) {
            return;
        }
        let role = role_name(role);
        parties.push(PartyDraft { dn: Text::from(dn), role, exit: None, released_by: None });
    }

    fn leave(&mut self, seg: Seg, dn: &str, exit: &'static str, released_by: Option<&'static str>) {
        let parties = &mut self.segs[seg.0].parties;
        if let Some(party) = parties.iter_mut().rev().find(|party| party.dn == dn && party.exit.is_none()) {
            party.exit = Some(exit);
            party.released_by = released_by;
        }
    }

    // --- call-progress events (call-models.md) ------------------------------------------

    pub fn dialing(&mut self, seg: Seg, this: &str, other: &str) {
        self.join(seg, this, DnRole::Origination);
        let consult = self.segs[seg.0].consult.clone();
        let event = self.dn_event(
            seg,
            Message::EventDialing,
            this,
            DnRole::Origination,
            Some((other, DnRole::Destination)),
        );
        match consult {
            Some((main, ConsultFor::Transfer, _)) => event.transfer_conn_id = Some(main),
            Some((main, ConsultFor::Conference, _)) => event.conference_conn_id = Some(main),
            _ => {}
        }
    }

    pub fn ringing(&mut self, seg: Seg, this: &str, other: &str, queue: Option<&str>) {
        self.join(seg, this, DnRole::Destination);
        let event = self.dn_event(
            seg,
            Message::EventRinging,
            this,
            DnRole::Destination,
            Some((other, DnRole::Origination)),
        );
        event.call_state = Some(CallState::Ok);
        event.this_queue = queue.map(Text::from);
    }

    /// EventRinging of a party a transfer or conference brought in (ThirdPartyDN = who).
    pub fn ringing_by(&mut self, seg: Seg, this: &str, other: &str, by: &str, by_role: DnRole) {
        self.ringing(seg, this, other, None);
        if let Some(event) = self.last_event() {
            event.third_party_dn = Some(Text::from(by));
            event.third_party_dn_role = Some(by_role);
        }
    }

    pub fn queued(&mut self, seg: Seg, queue: &str, other: &str) {
        self.join(seg, queue, DnRole::Destination);
        let event = self.dn_event(
            seg,
            Message::EventQueued,
            queue,
            DnRole::Destination,
            Some((other, DnRole::Origination)),
        );
        event.this_queue = Some(Text::from(queue));
    }

    pub fn diverted(&mut self, seg: Seg, queue: &str, other: &str, to: &str) {
        self.leave(seg, queue, "diverted", None);
        let event = self.dn_event(
            seg,
            Message::EventDiverted,
            queue,
            DnRole::Destination,
            Some((other, DnRole::Origination)),
        );
        event.this_queue = Some(Text::from(queue));
        event.third_party_dn = Some(Text::from(to));
        event.third_party_dn_role = Some(DnRole::Destination);
    }

    pub fn route_request(&mut self, seg: Seg, point: &str, other: &str) {
        self.join(seg, point, DnRole::Destination);
        let event = self.dn_event(
            seg,
            Message::EventRouteRequest,
            point,
            DnRole::Destination,
            Some((other, DnRole::Origination)),
        );
        event.this_queue = Some(Text::from(point));
    }

    pub fn route_used(&mut self, seg: Seg, point: &str, other: &str, to: &str) {
        self.leave(seg, point, "routed", None);
        let event = self.dn_event(
            seg,
            Message::EventRouteUsed,
            point,
            DnRole::Destination,
            Some((other, DnRole::Origination)),
        );
        event.third_party_dn = Some(Text::from(to));
        event.third_party_dn_role = Some(DnRole::Destination);
        event.call_state = Some(CallState::Ok);
    }

    pub fn established(&mut self, seg: Seg, this: &str, role: DnRole, other: &str) {
        self.join(seg, this, role.clone());
        let other_role = if role == DnRole::Origination { DnRole::Destination } else { DnRole::Origination };
        self.dn_event(seg, Message::EventEstablished, this, role, Some((other, other_role)));
    }

    pub fn network_reached(&mut self, seg: Seg, this: &str, other: &str) {
        self.dn_event(
            seg,
            Message::EventNetworkReached,
            this,
            DnRole::Origination,
            Some((other, DnRole::Destination)),
        );
    }

    pub fn destination_busy(&mut self, seg: Seg, this: &str, other: &str, state: CallState) {
        let event = self.dn_event(
            seg,
            Message::EventDestinationBusy,
            this,
            DnRole::Origination,
            Some((other, DnRole::Destination)),
        );
        event.call_state = Some(state);
    }

    pub fn held(&mut self, seg: Seg, this: &str, role: DnRole, other: &str) {
        self.join(seg, this, role.clone());
        let event = self.dn_event(seg, Message::EventHeld, this, role, Some((other, DnRole::Unknown)));
        event.other_dn_role = None;
    }

    pub fn retrieved(&mut self, seg: Seg, this: &str, role: DnRole, other: &str) {
        let event = self.dn_event(seg, Message::EventRetrieved, this, role, Some((other, DnRole::Unknown)));
        event.other_dn_role = None;
        event.call_state = Some(CallState::Ok);
    }

    /// EventReleased for `this`; the truth records how it left and who caused it.
    pub fn released(&mut self, seg: Seg, this: &str, role: DnRole, other: Option<&str>, leave: Leave) {
        let (exit, by, state) = match leave {
            Leave::HungUp => ("released", "self", CallState::Ok),
            Leave::ByOther => ("released", "other", CallState::Ok),
            Leave::Transferred => ("left-by-transfer", "self", CallState::Transferred),
            Leave::Conferenced => ("left-by-conference", "self", CallState::Conferenced),
        };
        self.leave(seg, this, exit, Some(by));
        let site = self.segs[seg.0].site;
        // R1: the recording ends when the recorded DN leaves the call, not when it leaves a
        // consultation and goes back to the customer it holds.
        let still_on_a_call = self.segs.iter().any(|draft| {
            draft.site == site
                && !draft.deleted
                && draft.parties.iter().any(|party| party.dn == this && party.exit.is_none())
        });
        if !still_on_a_call {
            self.stop_recording(site, this, "left");
        }
        let local = leave != Leave::ByOther;
        self.ctrl_hint = Some(Text::from(if local { this } else { other.unwrap_or(this) }));
        let written = self.releasing_party(site, if local { "1 Local" } else { "2 Remote" });
        let event =
            self.dn_event(seg, Message::EventReleased, this, role, other.map(|dn| (dn, DnRole::Unknown)));
        event.other_dn_role = None;
        event.call_state = Some(state);
        if let Some(value) = &written {
            let mut extensions = KvList::new();
            extensions.push("ReleasingParty", Value::Str(Text::from(value.as_str())));
            event.extensions = Some(extensions);
        }
        let counts = matches!(leave, Leave::HungUp | Leave::ByOther);
        if counts && written.as_deref().is_some_and(|value| value != "3 Unknown") {
            self.segs[seg.0].evidence = "releasing-party";
        }
    }

    /// EventAbandoned for the ringing or queued `this`: the caller gave up.
    pub fn abandoned(&mut self, seg: Seg, this: &str, other: &str, queue: Option<&str>) {
        self.leave(seg, this, "abandoned", Some("other"));
        let site = self.segs[seg.0].site;
        self.ctrl_hint = Some(Text::from(other));
        let written = self.releasing_party(site, "2 Remote");
        let event = self.dn_event(
            seg,
            Message::EventAbandoned,
            this,
            DnRole::Destination,
            Some((other, DnRole::Origination)),
        );
        event.call_state = Some(CallState::Ok);
        event.this_queue = queue.map(Text::from);
        if let Some(value) = &written {
            let mut extensions = KvList::new();
            extensions.push("ReleasingParty", Value::Str(Text::from(value.as_str())));
            event.extensions = Some(extensions);
        }
        let draft = &mut self.segs[seg.0];
        if draft.evidence == "none" {
            draft.evidence = "abandon-pattern";
        }
    }

    /// The ReleasingParty value `site` writes for `value`, if it reports one: `3 Unknown`
    /// now and then, as a server that cannot tell does.
    fn releasing_party(&mut self, site: usize, value: &str) -> Option<String> {
        match self.center.sites[site].release_tracking {
            ReleaseTracking::None => None,
            _ if self.rng.percent(4) => Some("3 Unknown".to_string()),
            _ => Some(value.to_string()),
        }
    }

    /// EventPartyChanged: `this` is now on `seg` (the surviving call) after a transfer or
    /// conference by `by`; `from` is the consultation it came from, if it did.
    pub fn party_changed(
        &mut self,
        seg: Seg,
        this: &str,
        other: Option<&str>,
        by: &str,
        from: Option<Seg>,
        state: CallState,
    ) {
        if let Some(from) = from {
            self.leave(from, this, "moved", None);
            self.join(seg, this, DnRole::Destination);
        }
        let previous = from.map(|from| self.segs[from.0].conn);
        let role = if from.is_some() { DnRole::Destination } else { DnRole::Origination };
        let third_role =
            if state == CallState::Conferenced { DnRole::ConferencedBy } else { DnRole::TransferredBy };
        let event =
            self.dn_event(seg, Message::EventPartyChanged, this, role, other.map(|dn| (dn, DnRole::Unknown)));
        event.other_dn_role = None;
        event.previous_conn_id = previous;
        event.third_party_dn = Some(Text::from(by));
        event.third_party_dn_role = Some(third_role);
        event.call_state = Some(state);
    }

    /// EventPartyAdded to `this`: `added` joined its call, added by `by`.
    pub fn party_added(&mut self, seg: Seg, this: &str, added: &str, by: &str) {
        let event = self.dn_event(
            seg,
            Message::EventPartyAdded,
            this,
            DnRole::ConferenceMember,
            Some((added, DnRole::NewParty)),
        );
        event.third_party_dn = Some(Text::from(by));
        event.third_party_dn_role = Some(DnRole::AddedBy);
        event.call_state = Some(CallState::Conferenced);
    }

    /// EventPartyDeleted to `this`: `deleted` left its conference, removed by `by`.
    pub fn party_deleted(&mut self, seg: Seg, this: &str, deleted: &str, by: &str, remaining: usize) {
        let event = self.dn_event(
            seg,
            Message::EventPartyDeleted,
            this,
            DnRole::ConferenceMember,
            Some((deleted, DnRole::DeletedParty)),
        );
        event.third_party_dn = Some(Text::from(by));
        event.third_party_dn_role = Some(DnRole::DeletedBy);
        event.call_state = Some(if remaining >= 3 { CallState::Conferenced } else { CallState::Ok });
    }

    /// Marks `dn` as removed from the conference on `seg` by `by` (its own EventReleased
    /// follows with ReleasingParty `2 Remote`).
    pub fn removed(&mut self, seg: Seg, dn: &str, by: &str) {
        let role = self.role_on(seg, dn);
        self.released(seg, dn, role, Some(by), Leave::ByOther);
        self.leave_override(seg, dn, "removed-from-conference");
    }

    fn leave_override(&mut self, seg: Seg, dn: &str, exit: &'static str) {
        if let Some(party) = self.segs[seg.0].parties.iter_mut().rev().find(|party| party.dn == dn) {
            party.exit = Some(exit);
        }
    }

    fn role_on(&self, seg: Seg, dn: &str) -> DnRole {
        match self.segs[seg.0].parties.iter().rev().find(|party| party.dn == dn).map(|party| party.role) {
            Some("Origination") => DnRole::Origination,
            _ => DnRole::Destination,
        }
    }

    /// EventAttachedDataChanged on `this` with `pairs` of user data.
    pub fn attach_data(&mut self, seg: Seg, this: &str, pairs: &[(&str, String)]) {
        let mut data = KvList::new();
        for (key, value) in pairs {
            data.push(key, Value::Str(Text::from(value.as_str())));
        }
        let role = self.role_on(seg, this);
        let event = self.dn_event(seg, Message::EventAttachedDataChanged, this, role, None);
        event.user_data = Some(data);
    }

    /// EventError for a request that came too late (call-models.md §6 `**`).
    pub fn route_error(&mut self, seg: Seg, point: &str) {
        let event = self.dn_event(seg, Message::EventError, point, DnRole::Destination, None);
        event.context = Context::SendToClient;
        event.this_dn_role = None;
        event.reference_id = Some(4_294_967_295);
        event.other.push(callstitch_tlib::RawAttribute {
            name: Text::from("AttributeErrorCode"),
            value: Value::Int(96),
        });
    }

    fn last_event(&mut self) -> Option<&mut Event> {
        self.events.last_mut().map(|timed| &mut timed.event)
    }

    /// Changes the event just written (an optional attribute some switches add or omit).
    pub fn mark_last(&mut self, change: impl FnOnce(&mut Event)) {
        if let Some(event) = self.last_event() {
            change(event);
        }
    }

    /// The links reported on `merged` now belong to `survivor` (a merge moves them,
    /// multi-site.md §1.3): the truth's link edges start from the survivor.
    pub fn move_links(&mut self, merged: Seg, survivor: Seg) {
        let from = self.seg_ref(merged);
        let to = self.seg_ref(survivor);
        for link in self.links.iter_mut().filter(|link| link.kind == "islink" && link.from == from) {
            link.from = to.clone();
        }
    }

    // --- ending --------------------------------------------------------------------------

    /// EventCallDeleted for `seg`: CtrlParty = `releaser` where the site reports it (left
    /// out now and then, as when T-Server cannot tell), RefCallUUID = the survivor of a merge.
    pub fn call_deleted(&mut self, seg: Seg, releaser: Option<&str>, merged_into: Option<Seg>) {
        if self.segs[seg.0].deleted {
            return;
        }
        self.customer_leaves(seg, releaser);
        self.segs[seg.0].deleted = true;
        self.segs[seg.0].deleted_at = Some(self.now);
        let site = self.segs[seg.0].site;
        let ctrl = match (self.center.sites[site].release_tracking, releaser) {
            (ReleaseTracking::Full, Some(dn)) if !self.rng.percent(8) => Some(Text::from(dn)),
            _ => None,
        };
        let ref_uuid = merged_into.map(|survivor| self.segs[survivor.0].uuid.clone());
        if ctrl.is_some() {
            self.segs[seg.0].evidence = "ctrl-party.call";
        }
        let event = self.call_event(seg, Message::EventCallDeleted);
        event.ctrl_party = ctrl;
        event.ref_call_uuid = ref_uuid;
    }

    /// Records who ended the interaction: `dn` on `seg`'s site, of kind `who` (customer,
    /// agent, system); the provenance is the best evidence `seg`'s events carry.
    pub fn ended_by(&mut self, seg: Seg, dn: &str, who: &str) {
        let draft = &self.segs[seg.0];
        self.released_by = Some(ReleasedBy {
            dn: Some(dn.to_string()),
            site: Some(self.center.sites[draft.site].application.clone()),
            who: who.to_string(),
            provenance: draft.evidence.to_string(),
            candidate: None,
        });
    }

    // --- multi-site hops (multi-site.md) ---------------------------------------------------

    /// The call on `from` goes to site `to_site` over an Inter-Site Link, sent by `by`:
    /// EventCallDataChanged with the link on both ends (source here, target there, the
    /// target logged after a short network delay) and ISCC call history on the target.
    /// Returns the new segment on the target site.
    pub fn hop_islink(&mut self, from: Seg, to_site: usize, by: &str, keep_conn: bool) -> Seg {
        let from_site = self.segs[from.0].site;
        let keep_uuid = self.center.sites[from_site].is_sip() && self.center.sites[to_site].is_sip();
        let uuid = keep_uuid.then(|| self.segs[from.0].uuid.clone());
        let conn = keep_conn.then_some(self.segs[from.0].conn);
        let link_id = self.ids.link_id();
        let from_conn = self.segs[from.0].conn;
        let from_location = Text::from(self.center.sites[from_site].application.as_str());
        let first = self.first_hop.get_or_insert((from_conn, from_location.clone(), Text::from(by))).clone();
        let to_location = self.center.sites[to_site].location();
        self.add_link(from, &link_id, &to_location, LinkRole::Source, Some(from_conn));
        self.wait_ms(15, 120);
        let to = self.new_call(to_site, CallType::Inbound, uuid, conn);
        self.segs[to.0].ani = self.segs[from.0].ani.clone();
        self.segs[to.0].dnis = self.segs[from.0].dnis.clone();
        self.segs[to.0].history = Some(History {
            last_conn: from_conn,
            last_location: from_location,
            last_dn: Text::from(by),
            first_conn: first.0,
            first_location: first.1,
            first_dn: first.2,
        });
        let back_location = self.center.sites[from_site].location();
        self.add_link(to, &link_id, &back_location, LinkRole::Target, None);
        let kind = "islink".to_string();
        self.links.push(Link {
            islink: Some(link_id.to_string()),
            kind,
            from: self.seg_ref(from),
            to: self.seg_ref(to),
        });
        to
    }

    /// A SIP Server to SIP Server transfer by REFER: the second server sees a new incoming
    /// call that keeps the CallUUID; no Inter-Site Link is reported.
    pub fn hop_refer(&mut self, from: Seg, to_site: usize) -> Seg {
        self.wait_ms(20, 150);
        let uuid = self.segs[from.0].uuid.clone();
        let to = self.new_call(to_site, CallType::Inbound, Some(uuid), None);
        self.segs[to.0].ani = self.segs[from.0].ani.clone();
        self.segs[to.0].dnis = self.segs[from.0].dnis.clone();
        let link = Link {
            islink: None,
            kind: "call-uuid".to_string(),
            from: self.seg_ref(from),
            to: self.seg_ref(to),
        };
        self.links.push(link);
        to
    }

    /// Adds a link to `seg`'s list and reports the whole list (EventCallDataChanged).
    fn add_link(&mut self, seg: Seg, id: &str, location: &str, role: LinkRole, own_history: Option<ConnId>) {
        self.segs[seg.0].links.push(IsLink {
            id: Text::from(id),
            location_name: Some(Text::from(location)),
            direction_role: Some(role),
            extra: KvList::new(),
        });
        let links = self.segs[seg.0].links.clone();
        let history = self.segs[seg.0].history.clone();
        let event = self.call_event(seg, Message::EventCallDataChanged);
        event.is_links = Some(links);
        if let Some(conn) = own_history {
            event.first_transfer_conn_id = Some(conn);
            event.last_transfer_conn_id = Some(conn);
        }
        if let Some(history) = &history {
            write_history(event, history);
        }
    }

    // --- recording (recording.md) ---------------------------------------------------------

    /// Starts recording `dn` (side `agent` or `customer`) on `seg`, if `seg`'s site records
    /// that side; attaches GSIP_REC_FN to the call as SIP Server does.
    pub fn start_recording(&mut self, seg: Seg, dn: &str, side: &'static str, attach_on: &str) {
        let site = self.segs[seg.0].site;
        let records = match side {
            "agent" => self.center.sites[site].records_agents,
            _ => self.center.sites[site].records_customer,
        };
        if !records || self.media.iter().any(|file| file.site == site && file.dn == dn && file.stop.is_none())
        {
            return;
        }
        let uuid = self.segs[seg.0].uuid.clone();
        let conn = self.segs[seg.0].conn;
        let media_id = media_id(&uuid, conn, self.now, self.media.len() as u64 + 1);
        self.media.push(MediaDraft {
            site,
            uuid,
            conn,
            dn: Text::from(dn),
            side,
            media_id: media_id.clone(),
            start: self.now,
            stop: None,
        });
        self.attach_data(seg, attach_on, &[("GSIP_REC_FN", media_id)]);
    }

    /// Ends the open recording of `dn` on `site` (R1: the recorded side left).
    pub fn stop_recording(&mut self, site: usize, dn: &str, why: &'static str) {
        let now = self.now;
        for file in
            self.media.iter_mut().filter(|file| file.site == site && file.dn == dn && file.stop.is_none())
        {
            file.stop = Some((now, why));
        }
    }

    // --- the result -------------------------------------------------------------------------

    /// The events (in generation order) and the truth; each call's ConnIDs are free for reuse
    /// from the call's end on its server (a server knows nothing of the interaction's other
    /// calls, so a ConnID kept across a hop can come back while the call it was kept for talks).
    pub fn finish(mut self, scenario: &str) -> (Interaction, Vec<Timed>) {
        for (seg, pending) in std::mem::take(&mut self.pending) {
            self.push_now(seg, pending);
        }
        let end = self.events.iter().map(|timed| timed.time).max().unwrap_or(self.now);
        for draft in &self.segs {
            for conn in &draft.conns {
                self.ids.retire(draft.site, *conn, draft.deleted_at.unwrap_or(end));
            }
        }
        let segments: Vec<Segment> = self.segs.iter().map(|draft| self.segment_truth(draft)).collect();
        let media = self.media.iter().map(|file| self.media_truth(file, end)).collect();
        let root = segments.first().map(|segment| format!("{}:{}", segment.site, segment.call_uuid));
        let interaction = Interaction {
            interaction_id: root.unwrap_or_default(),
            complete: true,
            segments,
            links: self.links,
            released_by: self.released_by,
            scenario: Some(scenario.to_string()),
            media,
        };
        (interaction, self.events)
    }

    fn segment_truth(&self, draft: &SegDraft) -> Segment {
        Segment {
            site: self.center.sites[draft.site].application.clone(),
            call_uuid: draft.uuid.to_string(),
            conn_ids: draft.conns.iter().map(|conn| conn.to_string()).collect(),
            parties: draft
                .parties
                .iter()
                .map(|party| Party {
                    dn: party.dn.to_string(),
                    role: Some(party.role.to_string()),
                    final_state: None,
                    released_by: party.released_by.map(str::to_string),
                    exit: party.exit.map(str::to_string),
                })
                .collect(),
            outcome: Some(draft.outcome.to_string()),
            consultation: draft.consult.is_some(),
        }
    }

    fn media_truth(&self, file: &MediaDraft, end: i64) -> MediaFile {
        let (stop, why) = file.stop.unwrap_or((end, "call-end"));
        let call = self.segs.iter().find(|draft| draft.site == file.site && draft.uuid == file.uuid);
        let customer = call
            .filter(|draft| draft.consult.is_none() && draft.call_type == CallType::Inbound)
            .and_then(|draft| draft.ani.as_ref())
            .filter(|customer| **customer != file.dn);
        let heard = std::iter::once(file.dn.to_string()).chain(customer.map(Text::to_string)).collect();
        MediaFile {
            site: self.center.sites[file.site].application.clone(),
            call_uuid: file.uuid.to_string(),
            conn_id: file.conn.to_string(),
            recorded_dn: file.dn.to_string(),
            recorded_side: file.side.to_string(),
            media_id: file.media_id.clone(),
            start: callstitch_tlib::Timestamp(file.start).to_string(),
            stop: callstitch_tlib::Timestamp(stop).to_string(),
            ended_by: why.to_string(),
            heard,
        }
    }
}

fn write_history(event: &mut Event, history: &History) {
    event.first_transfer_conn_id = Some(history.first_conn);
    event.first_transfer_home_location = Some(history.first_location.clone());
    event.first_transfer_orig_dn = Some(history.first_dn.clone());
    event.last_transfer_conn_id = Some(history.last_conn);
    event.last_transfer_home_location = Some(history.last_location.clone());
    event.last_transfer_orig_dn = Some(history.last_dn.clone());
}

fn role_name(role: DnRole) -> &'static str {
    match role {
        DnRole::Origination => "Origination",
        DnRole::Destination => "Destination",
        DnRole::ConferenceMember => "ConferenceMember",
        _ => "Unknown",
    }
}

/// The GIR media id: `<CallUUID>_<YYYY-MM-DD>_<HH-MM-SS>-<8 hex>-<8 hex>-<8 digits>`.
fn media_id(uuid: &CallUuid, conn: ConnId, now: i64, serial: u64) -> String {
    let stamp = callstitch_tlib::Timestamp(now).to_string();
    let date = stamp.get(..10).unwrap_or("1970-01-01");
    let time = stamp.get(11..19).unwrap_or("00:00:00").replace(':', "-");
    format!("{uuid}_{date}_{time}-{:08X}-{:08X}-{serial:08}", conn.0 >> 32, conn.0 & 0xFFFF_FFFF)
}
