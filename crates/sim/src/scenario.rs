//! The scenario mix: which kinds of customer interactions the simulator produces, how often,
//! and the steps shared by them (how a caller starts and ends a call, how a call reaches an
//! agent, how an agent hands it to another site).
//!
//! The flows themselves are in [`crate::flows`]; docs/simulator.md lists the mix.

use callstitch_tlib::{DnRole, Text};

use crate::center::ContactCenter;
use crate::flow::{Flow, Leave, Seg};
use crate::flows;

/// One kind of interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    InboundAgent,
    InternalCall,
    Acd,
    MultipleAcds,
    Parking,
    RouteQueue,
    Routing,
    RoutingOutbound,
    Outbound,
    WhileOnHold,
    HoldRetrieve,
    SingleStepTransfer,
    TwoStepTransfer,
    SingleStepConference,
    TwoStepConference,
    IsccTransfer,
    SipReinvite,
    SipRefer,
    ReturnTrip,
    MultiSiteConsultTransfer,
    MultiSiteConference,
    MidCall,
}

/// The mix: each scenario with its weight (out of the sum of weights).
pub const MIX: [(Scenario, u32); 22] = [
    (Scenario::InboundAgent, 8),
    (Scenario::InternalCall, 5),
    (Scenario::Acd, 9),
    (Scenario::MultipleAcds, 3),
    (Scenario::Parking, 2),
    (Scenario::RouteQueue, 6),
    (Scenario::Routing, 8),
    (Scenario::RoutingOutbound, 3),
    (Scenario::Outbound, 4),
    (Scenario::WhileOnHold, 2),
    (Scenario::HoldRetrieve, 4),
    (Scenario::SingleStepTransfer, 5),
    (Scenario::TwoStepTransfer, 6),
    (Scenario::SingleStepConference, 3),
    (Scenario::TwoStepConference, 3),
    (Scenario::IsccTransfer, 8),
    (Scenario::SipReinvite, 4),
    (Scenario::SipRefer, 4),
    (Scenario::ReturnTrip, 5),
    (Scenario::MultiSiteConsultTransfer, 4),
    (Scenario::MultiSiteConference, 3),
    (Scenario::MidCall, 2),
];

impl Scenario {
    /// The scenario's name in the truth file.
    pub fn slug(self) -> &'static str {
        match self {
            Scenario::InboundAgent => "inbound-agent",
            Scenario::InternalCall => "internal-call",
            Scenario::Acd => "acd",
            Scenario::MultipleAcds => "multiple-acds",
            Scenario::Parking => "parking",
            Scenario::RouteQueue => "routing-route-queue",
            Scenario::Routing => "routing",
            Scenario::RoutingOutbound => "routing-outbound",
            Scenario::Outbound => "outbound",
            Scenario::WhileOnHold => "while-on-hold",
            Scenario::HoldRetrieve => "hold-retrieve",
            Scenario::SingleStepTransfer => "single-step-transfer",
            Scenario::TwoStepTransfer => "two-step-transfer",
            Scenario::SingleStepConference => "single-step-conference",
            Scenario::TwoStepConference => "two-step-conference",
            Scenario::IsccTransfer => "iscc-transfer",
            Scenario::SipReinvite => "sip-reinvite-transfer",
            Scenario::SipRefer => "sip-refer-transfer",
            Scenario::ReturnTrip => "return-trip",
            Scenario::MultiSiteConsultTransfer => "multi-site-consult-transfer",
            Scenario::MultiSiteConference => "multi-site-conference",
            Scenario::MidCall => "mid-call",
        }
    }

    /// Whether the estate has the sites this scenario needs.
    pub fn feasible(self, center: &ContactCenter) -> bool {
        let sites = center.sites.len();
        match self {
            Scenario::IsccTransfer | Scenario::MultiSiteConsultTransfer => sites >= 2,
            Scenario::ReturnTrip => sites >= 2 && !center.tserver_sites().is_empty(),
            Scenario::SipReinvite | Scenario::SipRefer => center.sip_sites().len() >= 2,
            Scenario::MultiSiteConference => sites >= 3,
            _ => true,
        }
    }

    /// Plays the scenario; the call comes in at (or starts from) `home`.
    pub fn play(self, flow: &mut Flow<'_>, home: usize) {
        match self {
            Scenario::InboundAgent => flows::basic::inbound_agent(flow, home),
            Scenario::InternalCall => flows::basic::internal_call(flow, home),
            Scenario::Acd => flows::basic::acd(flow, home),
            Scenario::MultipleAcds => flows::basic::multiple_acds(flow, home),
            Scenario::Parking => flows::basic::parking(flow, home),
            Scenario::RouteQueue => flows::basic::route_queue(flow, home),
            Scenario::Routing => flows::basic::routing(flow, home),
            Scenario::RoutingOutbound => flows::basic::routing_outbound(flow, home),
            Scenario::Outbound => flows::basic::outbound(flow, home),
            Scenario::WhileOnHold => flows::basic::while_on_hold(flow, home),
            Scenario::HoldRetrieve => flows::transfer::hold_retrieve(flow, home),
            Scenario::SingleStepTransfer => flows::transfer::single_step_transfer(flow, home),
            Scenario::TwoStepTransfer => flows::transfer::two_step_transfer(flow, home),
            Scenario::SingleStepConference => flows::transfer::single_step_conference(flow, home),
            Scenario::TwoStepConference => flows::transfer::two_step_conference(flow, home),
            Scenario::IsccTransfer => flows::multi_site::iscc_transfer(flow, home),
            Scenario::SipReinvite => flows::multi_site::sip_transfer(flow, home, true),
            Scenario::SipRefer => flows::multi_site::sip_transfer(flow, home, false),
            Scenario::ReturnTrip => flows::multi_site::return_trip(flow, home),
            Scenario::MultiSiteConsultTransfer => flows::multi_site::consult_transfer(flow, home),
            Scenario::MultiSiteConference => flows::multi_site::conference(flow, home),
            Scenario::MidCall => flows::basic::mid_call(flow, home),
        }
    }
}

/// Who started the call: an outside customer (no events of its own) or an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Customer(Text),
    Agent(Text),
}

impl Caller {
    pub fn dn(&self) -> &str {
        match self {
            Caller::Customer(dn) | Caller::Agent(dn) => dn,
        }
    }

    /// The release verdict's kind for this caller.
    pub fn who(&self) -> &'static str {
        match self {
            Caller::Customer(_) => "customer",
            Caller::Agent(_) => "agent",
        }
    }

    pub fn is_agent(&self) -> bool {
        matches!(self, Caller::Agent(_))
    }
}

// --- numbers -----------------------------------------------------------------------------

/// A customer's phone number.
fn customer_number(flow: &mut Flow<'_>) -> Text {
    Text::from(format!("+1555{:07}", flow.rng.below(10_000_000)))
}

/// An outside number an agent dials.
pub fn outside_number(flow: &mut Flow<'_>) -> Text {
    Text::from(format!("+44207{:06}", flow.rng.below(1_000_000)))
}

/// The service number customers dial for `site`.
fn service_number(site: usize) -> Text {
    Text::from(format!("800555{:04}", 1000 + site))
}

/// A random agent of `site`, different from every DN in `not`.
pub fn agent(flow: &mut Flow<'_>, site: usize, not: &[&str]) -> Text {
    let agents = &flow.center.sites[site].agents;
    for _ in 0..64 {
        let index = flow.rng.below(agents.len() as u64) as usize;
        let candidate = &flow.center.sites[site].agents[index];
        if !not.contains(&candidate.as_str()) {
            return candidate.clone();
        }
    }
    agents.iter().find(|agent| !not.contains(&agent.as_str())).cloned().unwrap_or_default()
}

pub fn queue(flow: &mut Flow<'_>, site: usize, not: &[&str]) -> Text {
    let queues = flow.center.sites[site].queues.clone();
    let free: Vec<&Text> = queues.iter().filter(|queue| !not.contains(&queue.as_str())).collect();
    flow.rng.pick(&free).map(|queue| (*queue).clone()).unwrap_or_default()
}

pub fn routing_point(flow: &mut Flow<'_>, site: usize) -> Text {
    let points = flow.center.sites[site].routing_points.clone();
    flow.rng.pick(&points).cloned().unwrap_or_default()
}

/// A site other than every one in `not`, if there is one.
pub fn other_site(flow: &mut Flow<'_>, not: &[usize], filter: impl Fn(usize) -> bool) -> Option<usize> {
    let candidates: Vec<usize> =
        (0..flow.center.sites.len()).filter(|site| !not.contains(site) && filter(*site)).collect();
    flow.rng.pick(&candidates).copied()
}

// --- shared steps ------------------------------------------------------------------------

/// A new call from `caller` on `site`: inbound from a customer, or internal from an agent.
pub fn start_call(flow: &mut Flow<'_>, site: usize, caller: &Caller) -> Seg {
    match caller {
        Caller::Customer(number) => flow.inbound_call(site, number, &service_number(site)),
        Caller::Agent(_) => flow.new_call(site, callstitch_tlib::CallType::Internal, None, None),
    }
}

/// A caller for a call on `site`: mostly customers, an agent in `agent_percent` of calls.
pub fn pick_caller(flow: &mut Flow<'_>, site: usize, agent_percent: u64) -> Caller {
    if flow.rng.percent(agent_percent) {
        Caller::Agent(agent(flow, site, &[]))
    } else {
        Caller::Customer(customer_number(flow))
    }
}

/// The caller dials `dest` (an agent's caller gets EventDialing; a customer none).
pub fn caller_dials(flow: &mut Flow<'_>, seg: Seg, caller: &Caller, dest: &str) {
    if let Caller::Agent(dn) = caller {
        flow.dialing(seg, dn, dest);
    }
}

/// The caller hangs up while `other` is on the call (events only for an agent caller).
fn caller_hangs_up(flow: &mut Flow<'_>, seg: Seg, caller: &Caller, other: &str) {
    if let Caller::Agent(dn) = caller {
        flow.released(seg, dn, DnRole::Origination, Some(other), Leave::HungUp);
    }
}

/// `agent` answers the call from `caller`; the agent's recording starts.
pub fn answer(flow: &mut Flow<'_>, seg: Seg, caller: &Caller, agent: &str) {
    if let Caller::Agent(dn) = caller {
        flow.established(seg, dn, DnRole::Origination, agent);
    }
    flow.established(seg, agent, DnRole::Destination, caller.dn());
    if flow.rng.percent(30) {
        let case = format!("C-2026-{:06}", flow.rng.below(1_000_000));
        let segment = ["gold", "silver", "bronze"][flow.rng.below(3) as usize].to_string();
        flow.attach_data(
            seg,
            agent,
            &[("CaseID", case), ("CustomerSegment", segment), ("Language", "en-US".to_string())],
        );
    }
    flow.start_recording(seg, agent, "agent", agent);
    if let Caller::Customer(number) = caller {
        flow.start_recording(seg, number, "customer", agent);
    }
}

/// The conversation between `caller` and `agent` ends: one of them hangs up, the call is
/// deleted, and the interaction's releaser is recorded.
pub fn end_conversation(flow: &mut Flow<'_>, seg: Seg, caller: &Caller, agent: &str) {
    flow.talk(20, 400);
    let site = flow.site_of(seg);
    let caller_ends = flow.rng.percent(60);
    if caller_ends {
        caller_hangs_up(flow, seg, caller, agent);
        flow.released(seg, agent, DnRole::Destination, Some(caller.dn()), Leave::ByOther);
    } else {
        flow.released(seg, agent, DnRole::Destination, Some(caller.dn()), Leave::HungUp);
        if let Caller::Agent(dn) = caller {
            flow.released(seg, dn, DnRole::Origination, Some(agent), Leave::ByOther);
        }
    }
    flow.stop_recording(site, caller.dn(), "call-end");
    let (releaser, who) =
        if caller_ends { (caller.dn().to_string(), caller.who()) } else { (agent.to_string(), "agent") };
    flow.call_deleted(seg, Some(&releaser), None);
    flow.ended_by(seg, &releaser, who);
}

/// The caller gives up while `holder` (a ringing agent, a queue or a routing point) has the
/// call: the caller's release (agent callers) and the holder's EventAbandoned.
pub fn caller_abandons(flow: &mut Flow<'_>, seg: Seg, caller: &Caller, holder: &str, queue: Option<&str>) {
    caller_hangs_up(flow, seg, caller, holder);
    flow.abandoned(seg, holder, caller.dn(), queue);
    flow.call_deleted(seg, Some(caller.dn()), None);
    flow.ended_by(seg, caller.dn(), caller.who());
}

/// A call arriving at `site` from elsewhere reaches an agent: through the External Routing
/// Point on a T-Server (route request, route used), directly on a SIP Server. Returns the
/// agent, who has answered.
pub fn arrive_at_agent(flow: &mut Flow<'_>, seg: Seg, site: usize, from: &str) -> Text {
    let agent = agent(flow, site, &[]);
    if !flow.center.sites[site].is_sip() {
        let point = flow.center.sites[site].external_routing_point.clone();
        flow.route_request(seg, &point, from);
        flow.wait_ms(100, 900);
        flow.route_used(seg, &point, from, &agent);
    }
    flow.ringing(seg, &agent, from, None);
    flow.wait(2, 12);
    flow.established(seg, &agent, DnRole::Destination, from);
    flow.start_recording(seg, &agent, "agent", &agent);
    agent
}
