//! Builds the event streams of linker tests: calls on sites as a call-monitoring client
//! sees them (EventCallCreated, EventCallDataChanged with Inter-Site Links, EventCallDeleted),
//! with per-site sequence numbers and clocks.
#![allow(dead_code)]

pub mod generator;

use callstitch_tlib::{CallUuid, ConnId, Context, Event, IsLink, KvList, LinkRole, Message, Text, Timestamp};

pub const SECOND: i64 = 1_000_000;
/// 2026-02-02T08:00:00Z.
pub const T0: i64 = 1_770_019_200 * SECOND;

/// One site's event stream.
pub struct Site {
    pub name: &'static str,
    pub location: String,
    seq: u64,
    pub events: Vec<Event>,
    /// Added to every time stamp this site writes: its clock's error.
    pub skew: i64,
}

impl Site {
    pub fn new(name: &'static str, switch: &str) -> Site {
        Site { name, location: format!("{name}@{switch}"), seq: 0x1000, events: Vec::new(), skew: 0 }
    }

    fn event(&mut self, message: Message, uuid: &str, conn: u64, at: i64) -> Event {
        self.seq += 1;
        let mut event = Event::new(message, self.name);
        event.context = Context::DistributeCallPartyEvent;
        event.seq = Some(self.seq);
        event.timestamp = Some(Timestamp(at + self.skew));
        event.call_uuid = Some(CallUuid::new(uuid));
        event.conn_id = Some(ConnId(conn));
        event
    }

    pub fn created(&mut self, uuid: &str, conn: u64, at: i64) {
        let event = self.event(Message::EventCallCreated, uuid, conn, at);
        self.events.push(event);
    }

    /// EventCallDataChanged with the call's whole ISLinkList (each snapshot lists all).
    pub fn links(&mut self, uuid: &str, conn: u64, at: i64, links: &[(&str, LinkRole, &str)]) {
        let mut event = self.event(Message::EventCallDataChanged, uuid, conn, at);
        event.is_links = Some(
            links
                .iter()
                .map(|(id, role, location)| IsLink {
                    id: Text::from(*id),
                    location_name: Some(Text::from(*location)),
                    direction_role: Some(role.clone()),
                    extra: KvList::new(),
                })
                .collect(),
        );
        self.events.push(event);
    }

    pub fn deleted(&mut self, uuid: &str, conn: u64, at: i64) {
        let event = self.event(Message::EventCallDeleted, uuid, conn, at);
        self.events.push(event);
    }

    /// EventCallDeleted of a call merged into `survivor` (RefCallUUID).
    pub fn merged(&mut self, uuid: &str, conn: u64, at: i64, survivor: &str) {
        let mut event = self.event(Message::EventCallDeleted, uuid, conn, at);
        event.ref_call_uuid = Some(CallUuid::new(survivor));
        self.events.push(event);
    }

    /// EventCallCreated of a consultation made from `main` (OrigCallUUID).
    pub fn consultation(&mut self, uuid: &str, conn: u64, at: i64, main: &str) {
        let mut event = self.event(Message::EventCallCreated, uuid, conn, at);
        event.orig_call_uuid = Some(CallUuid::new(main));
        event.call_type = Some(callstitch_tlib::CallType::Consult);
        self.events.push(event);
    }

    /// A whole call: created, its links reported, deleted.
    pub fn call(&mut self, uuid: &str, conn: u64, start: i64, end: i64, links: &[(&str, LinkRole, &str)]) {
        self.created(uuid, conn, start);
        if !links.is_empty() {
            self.links(uuid, conn, start + SECOND / 10, links);
        }
        self.deleted(uuid, conn, end);
    }
}

/// The sites' streams merged by time (as the CLI reads them).
pub fn merged(sites: &[&Site]) -> Vec<Event> {
    let mut all: Vec<Event> = sites.iter().flat_map(|site| site.events.iter().cloned()).collect();
    all.sort_by_key(|event| event.timestamp.map(|time| time.0));
    all
}

/// The sites' streams one after the other.
pub fn concatenated(sites: &[&Site]) -> Vec<Event> {
    sites.iter().flat_map(|site| site.events.iter().cloned()).collect()
}

/// (site, key) of each segment of an interaction, in order.
pub fn segments(interaction: &callstitch_link::Interaction) -> Vec<(String, String)> {
    interaction.segments.iter().map(|segment| (segment.site.to_string(), segment.key.clone())).collect()
}

pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(site, key)| (site.to_string(), key.to_string())).collect()
}
