//! A generated mixed workload for the engine's benchmark and memory test: many calls of the
//! documented models (internal, ACD, routing, outbound, queue abandons, two-step transfers
//! with their consultations, call-based monitoring), interleaved as a busy server logs them.
//! Deterministic: the same arguments give the same events.

#![allow(dead_code)]

use callstitch_tlib::{
    CallState, CallType, CallUuid, ConnId, DnRole, Event, KvList, Message, Text, Timestamp, Value,
};

/// A tiny linear congruential generator, so the workload needs no dependency and is stable.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

struct Builder {
    site: Text,
    conn: ConnId,
    uuid: CallUuid,
    call_type: CallType,
}

impl Builder {
    fn event(&self, message: Message, this: &str, other: &str) -> Event {
        let mut event = Event::new(message, "");
        event.site = self.site.clone();
        event.conn_id = Some(self.conn);
        event.call_uuid = Some(self.uuid.clone());
        event.call_type = Some(self.call_type.clone());
        event.this_dn = Some(Text::from(this));
        event.other_dn = Some(Text::from(other));
        event
    }

    fn role(mut event: Event, this: DnRole, other: DnRole) -> Event {
        event.this_dn_role = Some(this);
        event.other_dn_role = Some(other);
        event
    }

    fn released(&self, this: &str, other: &str, local: bool) -> Event {
        let mut event = self.event(Message::EventReleased, this, other);
        event.call_state = Some(CallState::Ok);
        let mut extensions = KvList::new();
        extensions.push("ReleasingParty", Value::Str(Text::from(if local { "1 Local" } else { "2 Remote" })));
        event.extensions = Some(extensions);
        event
    }
}

fn uuid(n: u64) -> CallUuid {
    CallUuid(Text::from(format!("00RP30KH7088L1IC08GB82LA{n:08X}")))
}

/// The events of call number `n` (and of its consultation, for transfers), in order.
fn script(n: u64, site: &Text) -> Vec<Event> {
    use DnRole::{Destination as Dest, Origination as Orig};
    let a = format!("7{:03}", n % 500);
    let b = format!("6{:03}", (n * 7) % 500);
    let c = format!("5{:03}", (n * 13) % 500);
    let customer = format!("+1555{:07}", n % 10_000_000);
    let main = Builder {
        site: site.clone(),
        conn: ConnId(0x006e_0000_0000_0000 | (n * 2)),
        uuid: uuid(n * 2),
        call_type: CallType::Internal,
    };
    let mut events = Vec::with_capacity(16);
    match n % 8 {
        0 | 1 => {
            // §1 internal call, answered and released.
            events.push(Builder::role(main.event(Message::EventDialing, &a, &b), Orig, Dest));
            events.push(Builder::role(main.event(Message::EventRinging, &b, &a), Dest, Orig));
            events.push(main.event(Message::EventEstablished, &a, &b));
            events.push(main.event(Message::EventEstablished, &b, &a));
            events.push(main.released(&a, &b, true));
            events.push(main.released(&b, &a, false));
        }
        2 => {
            // §2 inbound call to an ACD group, answered by an agent.
            let main = Builder { call_type: CallType::Inbound, ..main };
            let mut queued = Builder::role(main.event(Message::EventQueued, "8000", &customer), Dest, Orig);
            queued.this_queue = Some(Text::from("8000"));
            events.push(queued);
            let mut diverted = main.event(Message::EventDiverted, "8000", &customer);
            diverted.third_party_dn = Some(Text::from(b.as_str()));
            events.push(diverted);
            let mut ringing = Builder::role(main.event(Message::EventRinging, &b, &customer), Dest, Orig);
            ringing.this_queue = Some(Text::from("8000"));
            events.push(ringing);
            events.push(main.event(Message::EventEstablished, &b, &customer));
            events.push(main.released(&b, &customer, false));
        }
        3 => {
            // §6 routing, answered.
            events.push(Builder::role(main.event(Message::EventDialing, &a, "9000"), Orig, Dest));
            events.push(Builder::role(main.event(Message::EventRouteRequest, "9000", &a), Dest, Orig));
            let mut used = main.event(Message::EventRouteUsed, "9000", &a);
            used.third_party_dn = Some(Text::from(c.as_str()));
            events.push(used);
            events.push(Builder::role(main.event(Message::EventRinging, &c, &a), Dest, Orig));
            events.push(main.event(Message::EventEstablished, &a, &c));
            events.push(main.event(Message::EventEstablished, &c, &a));
            events.push(main.released(&c, &a, true));
            events.push(main.released(&a, &c, false));
        }
        4 => {
            // §8 outbound call.
            let main = Builder { call_type: CallType::Outbound, ..main };
            events.push(Builder::role(main.event(Message::EventDialing, &a, &customer), Orig, Dest));
            events.push(main.event(Message::EventNetworkReached, &a, &customer));
            events.push(main.event(Message::EventEstablished, &a, &customer));
            events.push(main.released(&a, &customer, false));
        }
        5 => {
            // §2 abandoned in queue.
            let main = Builder { call_type: CallType::Inbound, ..main };
            events.push(Builder::role(main.event(Message::EventQueued, "8001", &customer), Dest, Orig));
            events.push(main.event(Message::EventAbandoned, "8001", &customer));
        }
        6 => {
            // §12.2 two-step transfer: consultation on its own ConnID, merged into the main call.
            let consult = Builder {
                site: site.clone(),
                conn: ConnId(main.conn.0 + 1),
                uuid: uuid(n * 2 + 1),
                call_type: CallType::Consult,
            };
            events.push(Builder::role(main.event(Message::EventDialing, &a, &b), Orig, Dest));
            events.push(Builder::role(main.event(Message::EventRinging, &b, &a), Dest, Orig));
            events.push(main.event(Message::EventEstablished, &a, &b));
            events.push(main.event(Message::EventEstablished, &b, &a));
            events.push(main.event(Message::EventHeld, &b, &a));
            let mut dialing = Builder::role(consult.event(Message::EventDialing, &b, &c), Orig, Dest);
            dialing.transfer_conn_id = Some(main.conn);
            events.push(dialing);
            let mut ringing = Builder::role(consult.event(Message::EventRinging, &c, &b), Dest, Orig);
            ringing.previous_conn_id = Some(main.conn);
            events.push(ringing);
            events.push(consult.event(Message::EventEstablished, &c, &b));
            events.push(consult.event(Message::EventEstablished, &b, &c));
            let mut released = consult.released(&b, &c, true);
            released.call_state = Some(CallState::Transferred);
            events.push(released);
            let mut released = main.released(&b, &a, true);
            released.call_state = Some(CallState::Transferred);
            events.push(released);
            let mut changed = main.event(Message::EventPartyChanged, &c, &a);
            changed.previous_conn_id = Some(consult.conn);
            changed.call_state = Some(CallState::Transferred);
            changed.third_party_dn_role = Some(DnRole::TransferredBy);
            events.push(changed);
            events.push(main.released(&a, &c, true));
            events.push(main.released(&c, &a, false));
        }
        _ => {
            // §17 call-based view of an inbound call.
            let main = Builder { call_type: CallType::Inbound, ..main };
            events.push(main.event(Message::EventCallCreated, "", ""));
            for (dn, state) in [(customer.as_str(), 0xC), (b.as_str(), 0xA), (b.as_str(), 0xC)] {
                let message = if state == 0xA || dn == customer {
                    Message::EventCallPartyAdded
                } else {
                    Message::EventCallPartyState
                };
                let mut event = main.event(message, "", "");
                event.this_dn = None;
                event.other_dn = None;
                event.dn = Some(Text::from(dn));
                event.party_state = Some(callstitch_tlib::PartyState(state));
                events.push(event);
            }
            for dn in [b.as_str(), customer.as_str()] {
                let mut event = main.event(Message::EventCallPartyDeleted, "", "");
                event.this_dn = None;
                event.other_dn = None;
                event.dn = Some(Text::from(dn));
                event.ctrl_party = Some(Text::from(customer.as_str()));
                events.push(event);
            }
            let mut deleted = main.event(Message::EventCallDeleted, "", "");
            deleted.this_dn = None;
            deleted.other_dn = None;
            deleted.ctrl_party = Some(Text::from(customer.as_str()));
            events.push(deleted);
        }
    }
    events
}

/// About `total` events of calls on two sites, `concurrency` calls in progress at a time,
/// interleaved pseudo-randomly; 2 ms of event time per event.
pub fn generate(total: usize, concurrency: usize) -> Vec<Event> {
    let sites = [Text::from("SIPServer1"), Text::from("Tserver2")];
    let mut rng = Lcg(0x5eed);
    let mut next_call = 0u64;
    let mut active: Vec<std::collections::VecDeque<Event>> = Vec::with_capacity(concurrency);
    let mut out = Vec::with_capacity(total + 32);
    let mut seq = [0x1000u64, 0x1000u64];
    let mut time = 1_770_000_000_000_000i64;
    while out.len() < total {
        while active.len() < concurrency {
            let site = &sites[(next_call % 2) as usize];
            active.push(script(next_call, site).into());
            next_call += 1;
        }
        let pick = (rng.next() as usize) % active.len();
        let Some(mut event) = active[pick].pop_front() else { continue };
        if active[pick].is_empty() {
            active.swap_remove(pick);
        }
        let site_index = usize::from(event.site != sites[0]);
        seq[site_index] += 1;
        event.seq = Some(seq[site_index]);
        time += 2_000;
        event.timestamp = Some(Timestamp(time));
        out.push(event);
    }
    out
}
