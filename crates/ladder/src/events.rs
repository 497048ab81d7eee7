//! How one T-Library event is drawn: an arrow between two parties (ringing from the
//! caller, dialing to the callee, diverted or routed to a destination) or a mark on one
//! party's lane (established, held, retrieved, queued, released and by whom, ...), with the
//! words that say what happened, and which call of the interaction it belongs to.

use callstitch_tlib::{Event, Message, ReleasingParty};

use crate::view::{SegmentView, TraceView};

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
    pub site: String,
    /// The site's own clock, microseconds (UTC as the server logged it).
    pub time: Option<i64>,
    pub shape: Shape,
    pub label: String,
    /// A release: drawn in the release style.
    pub release: bool,
    /// Inter-Site Link ids the event carries.
    pub islinks: Vec<String>,
    /// Everything about the event, for its tooltip.
    pub detail: String,
}

/// The call of the interaction an event belongs to: by (site, CallUUID) when the event has
/// one, else by (site, ConnID), choosing the call whose life holds the event when a ConnID
/// repeats. `None` for an event of no call of the interaction.
pub fn segment_of(trace: &TraceView, event: &Event) -> Option<usize> {
    let site = event.site.as_str();
    let at_site = |segment: &&SegmentView| segment.site == site;
    if let Some(uuid) = &event.call_uuid {
        return trace.segments.iter().position(|segment| at_site(&segment) && segment.names(uuid.as_str()));
    }
    let conn = event.conn_id.filter(|conn| !conn.is_null())?.to_string();
    let candidates: Vec<usize> = (0..trace.segments.len())
        .filter(|index| {
            let segment = &trace.segments[*index];
            at_site(&segment) && segment.conn_ids.contains(&conn)
        })
        .collect();
    let time = event.time().map(|time| time.to_string());
    let within = candidates.iter().copied().find(|index| {
        let segment = &trace.segments[*index];
        match (&time, &segment.start, &segment.end) {
            (Some(time), Some(start), Some(end)) => start <= time && time <= end,
            _ => false,
        }
    });
    within.or_else(|| candidates.first().copied())
}

/// The step of an event of call `segment`; `None` for what the picture leaves out
/// (requests, backup-sync copies).
pub fn step(trace: &TraceView, segment: usize, event: &Event) -> Option<Step> {
    if event.bsync || event.message.is_request() {
        return None;
    }
    let this = event.this_dn.as_deref().or(event.dn.as_deref()).filter(|dn| !dn.is_empty());
    let other = event.other_dn.as_deref().filter(|dn| !dn.is_empty() && Some(*dn) != this);
    let (label, direction) = words(trace, segment, event, this, other);
    let shape = match (direction, this, other) {
        (Direction::FromOther, Some(this), Some(other)) => {
            Shape::Arrow { from: other.to_string(), to: this.to_string() }
        }
        (Direction::ToOther, Some(this), Some(other)) => {
            Shape::Arrow { from: this.to_string(), to: other.to_string() }
        }
        _ => Shape::Mark { dn: this.map(str::to_string) },
    };
    Some(Step {
        segment,
        site: event.site.to_string(),
        time: event.time().map(|time| time.0),
        shape,
        label,
        release: matches!(
            event.message,
            Message::EventReleased | Message::EventAbandoned | Message::EventCallPartyDeleted
        ),
        islinks: event.is_links.iter().flatten().map(|link| link.id.to_string()).collect(),
        detail: detail(event),
    })
}

/// Which way an event points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    FromOther,
    ToOther,
    Here,
}

/// The words for an event, and which way it points.
fn words(
    trace: &TraceView,
    segment: usize,
    event: &Event,
    this: Option<&str>,
    other: Option<&str>,
) -> (String, Direction) {
    let to_other = |verb: &str| match other {
        Some(other) => (format!("{verb} → {other}"), Direction::ToOther),
        None => (verb.to_string(), Direction::Here),
    };
    match &event.message {
        Message::EventRinging => ("ringing".to_string(), Direction::FromOther),
        Message::EventDialing => ("dialing".to_string(), Direction::ToOther),
        Message::EventNetworkReached => ("network reached".to_string(), Direction::ToOther),
        Message::EventDiverted => to_other("diverted"),
        Message::EventRouteUsed => to_other("routed"),
        Message::EventEstablished => ("established".to_string(), Direction::Here),
        Message::EventHeld => ("held".to_string(), Direction::Here),
        Message::EventRetrieved => ("retrieved".to_string(), Direction::Here),
        Message::EventQueued => ("queued".to_string(), Direction::Here),
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
    trace: &TraceView,
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
        let party =
            trace.segments.get(segment)?.parties.iter().find(|party| Some(party.dn.as_str()) == this)?;
        match party.released_by.as_str() {
            "self" => Some(party.dn.clone()),
            _ => party.released_by_dn.clone(),
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

    fn trace() -> TraceView {
        serde_json::from_str(
            r#"{"segments":[{"site":"S","key":"U1","call_uuid":"U1","conn_ids":["0000000000000001"],
               "parties":[{"dn":"7002","released_by":"other","released_by_dn":"7001"}]}]}"#,
        )
        .unwrap_or_default()
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
        let step = step(&trace, 0, &ringing).unwrap_or_else(|| panic!("drawn"));
        assert_eq!(step.shape, Shape::Arrow { from: "7001".into(), to: "7002".into() });
        assert_eq!(step.label, "ringing");
    }

    #[test]
    fn a_release_names_who_released_from_releasing_party_or_the_verdict() {
        let trace = trace();
        let mut remote = event(Message::EventReleased, "7003", Some("7001"));
        let mut extensions = KvList::new();
        extensions.push("ReleasingParty", Value::Str(Text::from("2 Remote")));
        remote.extensions = Some(extensions);
        assert_eq!(step(&trace, 0, &remote).map(|s| s.label), Some("released by 7001".to_string()));
        let plain = event(Message::EventReleased, "7002", None);
        let drawn = step(&trace, 0, &plain).unwrap_or_else(|| panic!("drawn"));
        assert_eq!(drawn.label, "released by 7001");
        assert!(drawn.release);
    }

    #[test]
    fn events_of_other_calls_and_requests_are_left_out() {
        let trace = trace();
        let mut stranger = event(Message::EventRinging, "7002", None);
        stranger.call_uuid = Some(CallUuid::new("OTHER"));
        assert_eq!(segment_of(&trace, &stranger), None);
        let request = event(Message::RequestMakeCall, "7002", None);
        assert!(step(&trace, 0, &request).is_none());
        assert_eq!(short_name("EventCallDataChanged"), "call data changed");
    }
}
