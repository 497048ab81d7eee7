//! How one T-Library event is drawn: an arrow between two parties (ringing from the
//! caller, dialing to the callee, diverted or routed to a destination) or a mark on one
//! party's lane (established, held, retrieved, queued, released and by whom, ...), with the
//! words that say what happened, and which call of the interaction it belongs to.

use callstitch_tlib::{Event, Message, ReleasingParty};

use callstitch_engine::ReleasedBy;
use callstitch_link::SegmentReport;
use callstitch_pipeline::TraceDocument;

use crate::view::names;

/// What a row shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// From one party to another of the same site.
    Arrow { from: String, to: String },
    /// On one party's lane (`None`: the call itself, an event with no DN).
    Mark { dn: Option<String> },
}

/// One event, ready to place.
#[derive(Debug, Clone)]
pub struct Step {
    /// Index of its call in the interaction's segments.
    pub segment: usize,
    /// Index of the event in the events given to the renderer.
    pub index: usize,
    /// Where the event was read (`file:line`), or for an event that came as JSON with no line
    /// its server sequence number (`seq:N`), when known: names it in the picture
    /// (`data-source`) whatever the order the events were given in.
    pub source: Option<String>,
    pub site: String,
    /// The site's own clock, microseconds (UTC as the server logged it).
    pub time: Option<i64>,
    pub shape: Shape,
    pub label: String,
    /// A release: drawn in the release style.
    pub release: bool,
    /// How its mark or arrow is coloured: `mark`, `talk`, `hold`, `queue`, `release`.
    pub tone: &'static str,
    /// Inter-Site Link ids the event carries.
    pub islinks: Vec<String>,
    /// Everything about the event, for its tooltip.
    pub detail: String,
}

/// The call of the interaction an event belongs to: by (site, CallUUID) when the event has
/// one, else by (site, ConnID), choosing the call whose life holds the event when a ConnID
/// repeats. `None` for an event of no call of the interaction.
pub fn segment_of(trace: &TraceDocument, event: &Event) -> Option<usize> {
    let site = event.site.as_str();
    let segments = &trace.interaction.segments;
    let at_site = |segment: &&SegmentReport| segment.site == site;
    if let Some(uuid) = &event.call_uuid {
        return segments.iter().position(|segment| at_site(&segment) && names(segment, uuid.as_str()));
    }
    let conn = event.conn_id.filter(|conn| !conn.is_null())?.to_string();
    let candidates: Vec<usize> = (0..segments.len())
        .filter(|index| {
            let segment = &segments[*index];
            at_site(&segment) && segment.conn_ids.contains(&conn)
        })
        .collect();
    let time = event.time();
    let within = candidates.iter().copied().find(|index| {
        let segment = &segments[*index];
        match (time, segment.start, segment.end) {
            (Some(time), Some(start), Some(end)) => start <= time && time <= end,
            _ => false,
        }
    });
    within.or_else(|| candidates.first().copied())
}

/// The step of event number `index` (of the events given) of call `segment`; `None` for
/// what the picture leaves out (requests, backup-sync copies).
pub fn step(trace: &TraceDocument, segment: usize, index: usize, event: &Event) -> Option<Step> {
    if event.bsync || event.message.is_request() {
        return None;
    }
    let this = event.this_dn.as_deref().or(event.dn.as_deref()).filter(|dn| !dn.is_empty());
    let other = event.other_dn.as_deref().filter(|dn| !dn.is_empty() && Some(*dn) != this);
    let third = event.third_party_dn.as_deref().filter(|dn| !dn.is_empty() && Some(*dn) != this);
    let (verb, direction) = words(trace, segment, event, this, other);
    let shape = match (direction, this) {
        (Direction::FromOther, Some(this)) => match other {
            Some(other) => Shape::Arrow { from: other.to_string(), to: this.to_string() },
            None => Shape::Mark { dn: Some(this.to_string()) },
        },
        (Direction::ToOther, Some(this)) => match other {
            Some(other) => Shape::Arrow { from: this.to_string(), to: other.to_string() },
            None => Shape::Mark { dn: Some(this.to_string()) },
        },
        (Direction::ToThird, Some(this)) => match third {
            Some(third) => Shape::Arrow { from: this.to_string(), to: third.to_string() },
            None => Shape::Mark { dn: Some(this.to_string()) },
        },
        _ => Shape::Mark { dn: this.map(str::to_string) },
    };
    let label = match &shape {
        Shape::Arrow { from, to } => format!("{from} → {to} {verb}"),
        Shape::Mark { dn: Some(dn) } => format!("{dn} {verb}"),
        Shape::Mark { dn: None } => verb,
    };
    let label = match (direction, &shape) {
        (Direction::ToThird, Shape::Mark { .. }) => format!("{label} (destination not logged)"),
        _ => label,
    };
    Some(Step {
        segment,
        index,
        source: source_of(event),
        site: event.site.to_string(),
        time: event.time().map(|time| time.0),
        shape,
        label,
        release: matches!(
            event.message,
            Message::EventReleased | Message::EventAbandoned | Message::EventCallPartyDeleted
        ),
        tone: tone(&event.message),
        islinks: event.is_links.iter().flatten().map(|link| link.id.to_string()).collect(),
        detail: detail(event),
    })
}

/// The colour of an event's mark: talking, on hold, queued or routed, released, other.
/// `file:line` of a logged event, `seq:N` of one that came as JSON with its sequence
/// number: what names its row (`data-source`, with `data-site`) so a page can find it.
pub fn source_of(event: &Event) -> Option<String> {
    match (event.line, event.seq) {
        (Some(line), _) => Some(format!("{}:{line}", event.file.as_deref().unwrap_or("line"))),
        (None, Some(seq)) => Some(format!("seq:{seq}")),
        (None, None) => None,
    }
}

fn tone(message: &Message) -> &'static str {
    match message {
        Message::EventEstablished | Message::EventRetrieved => "talk",
        Message::EventHeld => "hold",
        Message::EventQueued
        | Message::EventDiverted
        | Message::EventRouteRequest
        | Message::EventRouteUsed => "queue",
        Message::EventReleased
        | Message::EventAbandoned
        | Message::EventCallPartyDeleted
        | Message::EventCallDeleted => "release",
        _ => "mark",
    }
}

/// Which way an event points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// From OtherDN to ThisDN (the call arrives at ThisDN).
    FromOther,
    /// From ThisDN to OtherDN (ThisDN calls OtherDN).
    ToOther,
    /// From ThisDN to ThirdPartyDN: a queue or routing point sends the call to its
    /// destination (tlib-events.md §1.1: EventDiverted, EventRouteUsed).
    ToThird,
    Here,
}

/// The words for an event, and which way it points.
fn words(
    trace: &TraceDocument,
    segment: usize,
    event: &Event,
    this: Option<&str>,
    other: Option<&str>,
) -> (String, Direction) {
    let queue = event.this_queue.as_deref().filter(|queue| !queue.is_empty() && Some(*queue) != this);
    match &event.message {
        Message::EventRinging => ("ringing".to_string(), Direction::FromOther),
        Message::EventDialing => ("dialing".to_string(), Direction::ToOther),
        Message::EventNetworkReached => ("network reached".to_string(), Direction::ToOther),
        Message::EventDiverted => ("diverted".to_string(), Direction::ToThird),
        Message::EventRouteUsed => ("routed".to_string(), Direction::ToThird),
        Message::EventQueued => match queue {
            Some(queue) => (format!("queued at {queue}"), Direction::FromOther),
            None => ("queued".to_string(), Direction::FromOther),
        },
        Message::EventEstablished => ("established".to_string(), Direction::Here),
        Message::EventHeld => ("held".to_string(), Direction::Here),
        Message::EventRetrieved => ("retrieved".to_string(), Direction::Here),
        Message::EventRouteRequest => ("route request".to_string(), Direction::Here),
        Message::EventDestinationBusy => ("busy".to_string(), Direction::Here),
        Message::EventAbandoned => ("abandoned".to_string(), Direction::Here),
        Message::EventPartyChanged => (with_other("party changed", other), Direction::Here),
        Message::EventPartyAdded => (with_other("party added", other), Direction::Here),
        Message::EventPartyDeleted => (with_other("party deleted", other), Direction::Here),
        Message::EventReleased => (released(trace, segment, event, this, other), Direction::Here),
        Message::EventCallPartyDeleted => (by_ctrl("left", event), Direction::Here),
        Message::EventCallDeleted => (by_ctrl("call deleted", event), Direction::Here),
        other_message => (short_name(other_message.name()), Direction::Here),
    }
}

fn with_other(verb: &str, other: Option<&str>) -> String {
    other.map_or_else(|| verb.to_string(), |other| format!("{verb}: {other}"))
}

fn by_ctrl(verb: &str, event: &Event) -> String {
    match event.ctrl_party.as_deref().filter(|dn| !dn.is_empty()) {
        Some(ctrl) => format!("{verb} by {ctrl}"),
        None => verb.to_string(),
    }
}

/// "released by X": ReleasingParty first (Local: ThisDN, Remote: OtherDN), else the
/// engine's verdict for this party in the trace.
fn released(
    trace: &TraceDocument,
    segment: usize,
    event: &Event,
    this: Option<&str>,
    other: Option<&str>,
) -> String {
    let by = match event.releasing_party().map(|(party, _)| party) {
        Some(ReleasingParty::Local) => this.map(str::to_string),
        Some(ReleasingParty::Remote) => Some(other.map_or_else(|| "remote".to_string(), str::to_string)),
        _ => None,
    };
    let by = by.or_else(|| {
        let party = trace
            .interaction
            .segments
            .get(segment)?
            .parties
            .iter()
            .find(|party| Some(party.dn.as_str()) == this)?;
        match party.released_by {
            ReleasedBy::Itself => Some(party.dn.to_string()),
            _ => party.released_by_dn.as_ref().map(|dn| dn.to_string()),
        }
    });
    by.map_or_else(|| "released".to_string(), |by| format!("released by {by}"))
}

/// `EventCallDataChanged` → `call data changed`.
fn short_name(name: &str) -> String {
    let bare = name.strip_prefix("Event").unwrap_or(name);
    let mut out = String::with_capacity(bare.len() + 4);
    for (index, c) in bare.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    if out.is_empty() {
        name.to_string()
    } else {
        out
    }
}

/// The tooltip: message, site, time, ids, DNs, where it was read.
fn detail(event: &Event) -> String {
    let mut parts = vec![format!("{} at {}", event.message.name(), event.site)];
    if let Some(time) = event.time() {
        parts.push(time.to_string());
    }
    if let Some(uuid) = &event.call_uuid {
        parts.push(format!("CallUUID {uuid}"));
    }
    if let Some(conn) = event.conn_id {
        parts.push(format!("ConnID {conn}"));
    }
    for (name, value) in [
        ("ThisDN", &event.this_dn),
        ("DN", &event.dn),
        ("OtherDN", &event.other_dn),
        ("ThirdPartyDN", &event.third_party_dn),
    ] {
        if let Some(value) = value {
            parts.push(format!("{name} {value}"));
        }
    }
    if let Some(links) = &event.is_links {
        for link in links {
            parts.push(format!("IS-Link {}", link.id));
        }
    }
    if let Some(line) = event.line {
        parts.push(format!("{}:{line}", event.file.as_deref().unwrap_or("line")));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use callstitch_tlib::{CallUuid, KvList, Text, Value};

    fn trace() -> TraceDocument {
        crate::minimal::document(serde_json::json!({"segments":[{"site":"S","key":"U1","call_uuid":"U1",
            "conn_ids":["0000000000000001"],
            "parties":[{"dn":"7002","released_by":"other","released_by_dn":"7001"}]}]}))
    }

    fn event(message: Message, this: &str, other: Option<&str>) -> Event {
        let mut event = Event::new(message, "S");
        event.call_uuid = Some(CallUuid::new("U1"));
        event.this_dn = Some(Text::from(this));
        event.other_dn = other.map(Text::from);
        event
    }

    #[test]
    fn ringing_is_an_arrow_from_the_caller_to_the_ringing_party() {
        let trace = trace();
        let ringing = event(Message::EventRinging, "7002", Some("7001"));
        assert_eq!(segment_of(&trace, &ringing), Some(0));
        let step = step(&trace, 0, 0, &ringing).unwrap_or_else(|| panic!("drawn"));
        assert_eq!(step.shape, Shape::Arrow { from: "7001".into(), to: "7002".into() });
        assert_eq!(step.label, "7001 → 7002 ringing");
    }

    #[test]
    fn a_release_names_who_released_from_releasing_party_or_the_verdict() {
        let trace = trace();
        let mut remote = event(Message::EventReleased, "7003", Some("7001"));
        let mut extensions = KvList::new();
        extensions.push("ReleasingParty", Value::Str(Text::from("2 Remote")));
        remote.extensions = Some(extensions);
        assert_eq!(step(&trace, 0, 0, &remote).map(|s| s.label), Some("7003 released by 7001".to_string()));
        let plain = event(Message::EventReleased, "7002", None);
        let drawn = step(&trace, 0, 0, &plain).unwrap_or_else(|| panic!("drawn"));
        assert_eq!(drawn.label, "7002 released by 7001");
        assert!(drawn.release);
    }

    /// Issue 16 point 2: "routed → X" and "diverted → X" named the caller (OtherDN); the
    /// destination is ThirdPartyDN (tlib-events.md §1.1).
    #[test]
    fn routing_and_diversion_point_from_the_queue_to_the_third_party_destination() {
        let trace = trace();
        for (message, verb) in [(Message::EventRouteUsed, "routed"), (Message::EventDiverted, "diverted")] {
            let mut routed = event(message, "2601", Some("+15554649025"));
            routed.third_party_dn = Some(Text::from("1016"));
            let drawn = step(&trace, 0, 0, &routed).unwrap_or_else(|| panic!("drawn"));
            assert_eq!(drawn.shape, Shape::Arrow { from: "2601".into(), to: "1016".into() });
            assert_eq!(drawn.label, format!("2601 → 1016 {verb}"));
            routed.third_party_dn = None;
            let unknown = step(&trace, 0, 0, &routed).unwrap_or_else(|| panic!("drawn"));
            assert_eq!(unknown.shape, Shape::Mark { dn: Some("2601".into()) }, "never at the caller");
            assert_eq!(unknown.label, format!("2601 {verb} (destination not logged)"));
        }
    }

    #[test]
    fn a_queued_call_arrives_from_the_caller_at_the_queue() {
        let trace = trace();
        let mut queued = event(Message::EventQueued, "7001", Some("+15554649025"));
        queued.this_queue = Some(Text::from("7001"));
        let drawn = step(&trace, 0, 0, &queued).unwrap_or_else(|| panic!("drawn"));
        assert_eq!(drawn.shape, Shape::Arrow { from: "+15554649025".into(), to: "7001".into() });
        assert_eq!(drawn.label, "+15554649025 → 7001 queued");
    }

    #[test]
    fn events_of_other_calls_and_requests_are_left_out() {
        let trace = trace();
        let mut stranger = event(Message::EventRinging, "7002", None);
        stranger.call_uuid = Some(CallUuid::new("OTHER"));
        assert_eq!(segment_of(&trace, &stranger), None);
        let request = event(Message::RequestMakeCall, "7002", None);
        assert!(step(&trace, 0, 0, &request).is_none());
        assert_eq!(short_name("EventCallDataChanged"), "call data changed");
    }
}
