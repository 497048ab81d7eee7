//! The raw events of the interaction page: one collapsible block per call, and in it one
//! collapsible line per event (time, message, ThisDN, OtherDN, ConnID, file:line) that opens
//! on a click or a tap to every attribute of the event under its T-Library name, its user
//! data, extensions and reasons (nested lists as nested tables), its Inter-Site Links and
//! the attributes the reader kept raw. Server-rendered `<details>`: no script needed; the
//! page's small script only opens an event when its row of the ladder is clicked.
//!
//! Each stored line is decoded once into an [`Event`] ([`StoredLine`]), and the summary and
//! the attributes read its typed fields, each shown as the text of its JSON form
//! (docs/event-json.md). A stored line that is not an event is listed all the same, read from
//! its JSON form, where any field this page does not know is shown under its JSON name.

use callstitch_tlib::json::event_from_json;
use callstitch_tlib::kv::{KvList, Value as KvValue};
use callstitch_tlib::{CallUuid, ConnId, Context, DnRole, Event, LinkRole, Text, Timestamp};
use serde_json::Value;

use super::super::html::{esc, short_time, text, time, url_encode};

/// Most raw events listed in the page for one call; the rest are in events.log.
pub const MAX_SHOWN_EVENTS: usize = 500;

/// One call of the interaction with its raw events (in store order).
pub struct CallEvents {
    pub site: String,
    pub key: String,
    pub call_uuid: String,
    pub events: Vec<StoredLine>,
}

/// One stored event of a call, decoded once when it is read from the store.
pub struct StoredLine {
    /// The store's sequence number of the event.
    pub seq: u64,
    pub form: LineForm,
}

/// What a stored line decoded to.
// Nearly every stored line is an event: boxing it would cost an allocation per event to
// save space only on the rare line that is not one.
#[allow(clippy::large_enum_variant)]
pub enum LineForm {
    /// An event (docs/event-json.md), as the store always writes.
    Event(Event),
    /// A line that is not an event: its JSON, or `{"unreadable": line}` for a line that is not
    /// JSON at all. It is still listed, but not drawn in the ladder nor written to events.log.
    NotAnEvent(Value),
}

impl LineForm {
    /// Decodes a stored line (docs/event-json.md).
    pub fn decode(line: &str) -> LineForm {
        match event_from_json(line) {
            Ok(event) => LineForm::Event(event),
            Err(_) => LineForm::NotAnEvent(
                serde_json::from_str(line).unwrap_or_else(|_| serde_json::json!({ "unreadable": line })),
            ),
        }
    }

    /// The line's JSON form: the event's (which is what the store holds), or the line's own.
    pub fn to_json(&self) -> Result<Value, serde_json::Error> {
        match self {
            LineForm::Event(event) => serde_json::to_value(event),
            LineForm::NotAnEvent(json) => Ok(json.clone()),
        }
    }

    /// The form a JSON form decodes to (after masking changed its texts).
    pub fn from_json(json: Value) -> LineForm {
        match event_from_json(&json.to_string()) {
            Ok(event) => LineForm::Event(event),
            Err(_) => LineForm::NotAnEvent(json),
        }
    }
}

impl StoredLine {
    /// Decodes a stored line once.
    pub fn decode(seq: u64, line: &str) -> Self {
        StoredLine { seq, form: LineForm::decode(line) }
    }

    /// The event, unless the line is not one.
    pub fn event(&self) -> Option<&Event> {
        match &self.form {
            LineForm::Event(event) => Some(event),
            LineForm::NotAnEvent(_) => None,
        }
    }
}

/// The scalar fields of an event's JSON form in the order shown, with the name a T-Server
/// log gives them (or a description for what the reader adds).
const FIELDS: &[(&str, &str)] = &[
    ("message", "Message"),
    ("site", "Site"),
    ("provenance", "Read from"),
    ("context", "Context"),
    ("peer", "Peer"),
    ("server_version", "Server version"),
    ("bsync", "Backup-sync copy"),
    ("incomplete", "Incomplete block"),
    ("clock", "Clock (local, as logged)"),
    ("log_time", "Log time (UTC)"),
    ("timestamp", "AttributeTimeStamp"),
    ("seq", "AttributeEventSequenceNumber"),
    ("reference_id", "AttributeReferenceID"),
    ("call_uuid", "AttributeCallUUID"),
    ("orig_call_uuid", "AttributeOrigCallUUID"),
    ("ref_call_uuid", "AttributeRefCallUUID"),
    ("conn_id", "AttributeConnID"),
    ("previous_conn_id", "AttributePreviousConnID"),
    ("transfer_conn_id", "AttributeTransferConnID"),
    ("conference_conn_id", "AttributeConferenceConnID"),
    ("original_conn_id", "AttributeOriginalConnID"),
    ("first_transfer_conn_id", "AttributeFirstTransferConnID"),
    ("last_transfer_conn_id", "AttributeLastTransferConnID"),
    ("call_type", "AttributeCallType"),
    ("call_state", "AttributeCallState"),
    ("this_dn", "AttributeThisDN"),
    ("this_dn_role", "AttributeThisDNRole"),
    ("this_queue", "AttributeThisQueue"),
    ("other_dn", "AttributeOtherDN"),
    ("other_dn_role", "AttributeOtherDNRole"),
    ("other_queue", "AttributeOtherQueue"),
    ("third_party_dn", "AttributeThirdPartyDN"),
    ("third_party_dn_role", "AttributeThirdPartyDNRole"),
    ("third_party_queue", "AttributeThirdPartyQueue"),
    ("dn", "AttributeDN"),
    ("party_state", "AttributePartyState"),
    ("ctrl_party", "AttributeCtrlParty"),
    ("ani", "AttributeANI"),
    ("dnis", "AttributeDNIS"),
    ("first_transfer_home_location", "AttributeFirstTransferHomeLocation"),
    ("first_transfer_orig_dn", "AttributeFirstTransferOrigDN"),
    ("last_transfer_home_location", "AttributeLastTransferHomeLocation"),
    ("last_transfer_orig_dn", "AttributeLastTransferOrigDN"),
];

/// Key-value lists, each its own table.
const LISTS: &[(&str, &str)] = &[
    ("user_data", "AttributeUserData"),
    ("extensions", "AttributeExtensions"),
    ("reason", "AttributeReason"),
];

/// Fields shown elsewhere (the summary line, the lists).
const SHOWN_APART: &[&str] = &["file", "line", "is_links", "other", "user_data", "extensions", "reason"];

/// A JSON value of an attribute in words: strings as they are, `{"bare": x}` as x,
/// `{"other": x}` (an undocumented context) as x.
fn plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(map) if map.len() == 1 => map.values().next().map_or_else(String::new, plain),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A key-value list (`[[key, value], ...]`, values maybe lists again) as a table.
fn kv_table(list: &[Value]) -> String {
    if list.is_empty() {
        return "<span class=\"muted\">(empty list)</span>".to_string();
    }
    let mut out = String::from("<table class=\"kv\"><tbody>");
    for pair in list {
        let (key, value) = match pair.as_array().map(Vec::as_slice) {
            Some([key, value]) => (plain(key), value),
            _ => (String::new(), pair),
        };
        let value = match value {
            Value::Array(inner) => kv_table(inner),
            other => format!("<span class=\"mono\">{}</span>", esc(&plain(other))),
        };
        out.push_str(&format!("<tr><th scope=\"row\">{}</th><td>{value}</td></tr>", esc(&key)));
    }
    out.push_str("</tbody></table>");
    out
}

fn row(out: &mut String, name: &str, value_html: &str) {
    out.push_str(&format!("<tr><th scope=\"row\">{}</th><td>{value_html}</td></tr>", esc(name)));
}

fn pair(out: &mut String, name: &str, value: &str) {
    out.push_str(&format!("<div><dt>{}</dt><dd class=\"mono\">{}</dd></div>", esc(name), esc(value)));
}

/// Every attribute of one stored event, as the body of its `<details>`: the scalar fields
/// from its JSON form, the lists (Inter-Site Links, user data, extensions, reasons, raw
/// attributes) from the typed event, or from the JSON form of a line that is not an event.
fn attributes_html(line: &StoredLine) -> String {
    let mut out = String::from("<div class=\"ev-body\"><dl class=\"attrs\">");
    match &line.form {
        LineForm::Event(event) => scalars_html(&mut out, event),
        LineForm::NotAnEvent(json) => json_scalars_html(&mut out, json),
    }
    out.push_str("</dl><table class=\"attrs\"><tbody>");
    match &line.form {
        LineForm::Event(event) => lists_html(&mut out, event),
        LineForm::NotAnEvent(json) => json_lists_html(&mut out, json),
    }
    out.push_str("</tbody></table></div>");
    out.replace("<table class=\"attrs\"><tbody></tbody></table>", "")
}

/// The typed event's scalar fields in [`FIELDS`] order (every field of an event is in
/// [`FIELDS`] or [`SHOWN_APART`]).
fn scalars_html(out: &mut String, event: &Event) {
    for (key, name) in FIELDS {
        if let Some(shown) = field_text(event, key) {
            pair(out, name, &shown);
        }
    }
}

/// The text of the typed event's scalar field `key` (its JSON name) as the page shows it:
/// the text of its JSON form, times shortened; `None` when the JSON form leaves it out.
fn field_text(event: &Event, key: &str) -> Option<String> {
    let text = |value: &Option<Text>| value.as_ref().map(ToString::to_string);
    let conn = |value: &Option<ConnId>| value.map(|conn| conn.to_string());
    let uuid = |value: &Option<CallUuid>| value.as_ref().map(|uuid| uuid.as_str().to_string());
    let role = |value: &Option<DnRole>| value.as_ref().map(ToString::to_string);
    let when = |value: Option<Timestamp>| value.map(|time| short_time(&time.to_string()));
    match key {
        "message" => Some(event.message.name().to_string()),
        "site" => Some(event.site.to_string()),
        "provenance" => (!event.provenance.is_t_library()).then(|| event.provenance.label().to_string()),
        "context" => match &event.context {
            Context::Unspecified => None,
            Context::Other(other) => Some(other.to_string()),
            documented => documented.json_name().map(str::to_string),
        },
        "peer" => text(&event.peer),
        "server_version" => text(&event.server_version),
        "bsync" => event.bsync.then(|| true.to_string()),
        "incomplete" => event.incomplete.then(|| true.to_string()),
        "clock" => event.clock.map(|clock| clock.clock_text()),
        "log_time" => when(event.log_time),
        "timestamp" => when(event.timestamp),
        "seq" => event.seq.map(|seq| seq.to_string()),
        "reference_id" => event.reference_id.map(|id| id.to_string()),
        "call_uuid" => uuid(&event.call_uuid),
        "orig_call_uuid" => uuid(&event.orig_call_uuid),
        "ref_call_uuid" => uuid(&event.ref_call_uuid),
        "conn_id" => conn(&event.conn_id),
        "previous_conn_id" => conn(&event.previous_conn_id),
        "transfer_conn_id" => conn(&event.transfer_conn_id),
        "conference_conn_id" => conn(&event.conference_conn_id),
        "original_conn_id" => conn(&event.original_conn_id),
        "first_transfer_conn_id" => conn(&event.first_transfer_conn_id),
        "last_transfer_conn_id" => conn(&event.last_transfer_conn_id),
        "call_type" => event.call_type.as_ref().map(ToString::to_string),
        "call_state" => event.call_state.as_ref().map(ToString::to_string),
        "this_dn" => text(&event.this_dn),
        "this_dn_role" => role(&event.this_dn_role),
        "this_queue" => text(&event.this_queue),
        "other_dn" => text(&event.other_dn),
        "other_dn_role" => role(&event.other_dn_role),
        "other_queue" => text(&event.other_queue),
        "third_party_dn" => text(&event.third_party_dn),
        "third_party_dn_role" => role(&event.third_party_dn_role),
        "third_party_queue" => text(&event.third_party_queue),
        "dn" => text(&event.dn),
        "party_state" => event.party_state.map(|state| state.0.to_string()),
        "ctrl_party" => text(&event.ctrl_party),
        "ani" => text(&event.ani),
        "dnis" => text(&event.dnis),
        "first_transfer_home_location" => text(&event.first_transfer_home_location),
        "first_transfer_orig_dn" => text(&event.first_transfer_orig_dn),
        "last_transfer_home_location" => text(&event.last_transfer_home_location),
        "last_transfer_orig_dn" => text(&event.last_transfer_orig_dn),
        _ => None,
    }
}

/// The scalar fields of a stored line that is not an event, from its JSON form, in
/// [`FIELDS`] order, then any field this page does not know under its JSON name.
fn json_scalars_html(out: &mut String, event: &Value) {
    for (key, name) in FIELDS {
        if let Some(value) = event.get(*key).filter(|value| !value.is_null()) {
            let shown = match (*key, value) {
                ("log_time" | "timestamp", Value::String(stamp)) => short_time(stamp),
                _ => plain(value),
            };
            pair(out, name, &shown);
        }
    }
    if let Some(map) = event.as_object() {
        let known = |key: &str| FIELDS.iter().any(|(field, _)| *field == key) || SHOWN_APART.contains(&key);
        for (key, value) in map.iter().filter(|(key, _)| !known(key)) {
            pair(out, key, &plain(value));
        }
    }
}

/// One Inter-Site Link's row: `id · direction-role · location-name`, then its other keys.
fn link_row(out: &mut String, id: &str, role: &str, location: &str, extra: String) {
    let mut words = vec![id];
    words.extend([role, location].into_iter().filter(|word| !word.is_empty()));
    row(
        out,
        "AttributeISLinkList",
        &format!("<span class=\"mono\">{}</span>{extra}", esc(&words.join(" · "))),
    );
}

/// The typed event's lists, each its own row.
fn lists_html(out: &mut String, event: &Event) {
    for link in event.is_links.iter().flatten() {
        let extra = if link.extra.is_empty() { String::new() } else { typed_kv_table(&link.extra) };
        let role = link.direction_role.as_ref().map_or("", LinkRole::as_str);
        link_row(out, &link.id, role, link.location_name.as_deref().unwrap_or_default(), extra);
    }
    for (list, name) in
        [(&event.user_data, LISTS[0].1), (&event.extensions, LISTS[1].1), (&event.reason, LISTS[2].1)]
    {
        if let Some(list) = list {
            row(out, name, &typed_kv_table(list));
        }
    }
    for attribute in &event.other {
        row(out, &attribute.name, &kv_value_html(&attribute.value));
    }
}

/// A value of a list: a nested list as a table, any other value as its text.
fn kv_value_html(value: &KvValue) -> String {
    match value {
        KvValue::List(inner) => typed_kv_table(inner),
        other => format!("<span class=\"mono\">{}</span>", esc(&other.as_text().unwrap_or_default())),
    }
}

/// A typed key-value list as a table.
fn typed_kv_table(list: &KvList) -> String {
    if list.is_empty() {
        return "<span class=\"muted\">(empty list)</span>".to_string();
    }
    let mut out = String::from("<table class=\"kv\"><tbody>");
    for pair in list.iter() {
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            esc(&pair.key),
            kv_value_html(&pair.value)
        ));
    }
    out.push_str("</tbody></table>");
    out
}

/// The lists of a stored line that is not an event, read from its JSON form.
fn json_lists_html(out: &mut String, event: &Value) {
    for link in event.get("is_links").and_then(Value::as_array).into_iter().flatten() {
        let extra =
            link.get("extra").and_then(Value::as_array).map(|extra| kv_table(extra)).unwrap_or_default();
        link_row(out, text(link, "id"), text(link, "direction_role"), text(link, "location_name"), extra);
    }
    for (key, name) in LISTS {
        if let Some(list) = event.get(*key).and_then(Value::as_array) {
            row(out, name, &kv_table(list));
        }
    }
    for attribute in event.get("other").and_then(Value::as_array).into_iter().flatten() {
        let value = match attribute.get("value") {
            Some(Value::Array(list)) => kv_table(list),
            Some(value) => format!("<span class=\"mono\">{}</span>", esc(&plain(value))),
            None => String::new(),
        };
        row(out, text(attribute, "name"), &value);
    }
}

/// What an event's summary line shows: read from the typed event, or from the JSON form of a
/// stored line that is not an event.
struct Summary {
    /// AttributeTimeStamp, else the log time (RFC 3339 UTC), else "".
    when: String,
    message: String,
    /// ThisDN, else AttributeDN.
    this_dn: String,
    other_dn: String,
    conn_id: String,
    site: String,
    file: String,
    line: Option<u64>,
    seq: Option<u64>,
}

impl Summary {
    fn of(line: &StoredLine) -> Summary {
        match &line.form {
            LineForm::Event(event) => Summary::of_event(event),
            LineForm::NotAnEvent(json) => Summary::of_json(json),
        }
    }

    fn of_event(event: &Event) -> Summary {
        let text = |value: Option<&Text>| value.map_or_else(String::new, ToString::to_string);
        let this_dn = event.this_dn.as_ref().filter(|dn| !dn.is_empty()).or(event.dn.as_ref());
        Summary {
            when: event.timestamp.or(event.log_time).map(|time| time.to_string()).unwrap_or_default(),
            message: event.message.name().to_string(),
            this_dn: text(this_dn),
            other_dn: text(event.other_dn.as_ref()),
            conn_id: event.conn_id.map(|conn| conn.to_string()).unwrap_or_default(),
            site: event.site.to_string(),
            file: event.file.as_deref().unwrap_or_default().to_string(),
            line: event.line,
            seq: event.seq,
        }
    }

    fn of_json(json: &Value) -> Summary {
        let first = |keys: &[&str]| {
            keys.iter()
                .map(|key| text(json, key))
                .find(|value| !value.is_empty())
                .unwrap_or_default()
                .to_string()
        };
        Summary {
            when: first(&["timestamp", "log_time"]),
            message: first(&["message"]),
            this_dn: first(&["this_dn", "dn"]),
            other_dn: first(&["other_dn"]),
            conn_id: first(&["conn_id"]),
            site: first(&["site"]),
            file: first(&["file"]),
            line: json.get("line").and_then(Value::as_u64),
            seq: json.get("seq").and_then(Value::as_u64),
        }
    }

    /// Where the event was read: `file:line`, or "" when it came over HTTP.
    fn place(&self) -> String {
        let line = self.line.map(|line| format!(":{line}")).unwrap_or_default();
        if line.is_empty() && self.file.is_empty() {
            return String::new();
        }
        format!("{}{line}", self.file)
    }

    /// `file:line` shown as the file's name and line, the whole path in its tooltip.
    fn place_html(&self) -> String {
        let place = self.place();
        if place.is_empty() {
            return String::new();
        }
        let file = self.file.as_str();
        let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let short = place.replacen(file, name, 1);
        format!("<span title=\"{}\">{}</span>", esc(&place), esc(&short))
    }

    /// How the ladder names the event's row: its site and `file:line`, or `seq:N` for an
    /// event that came as JSON (callstitch_ladder::events::source_of).
    fn source(&self) -> Option<String> {
        match (self.line, self.seq) {
            (Some(line), _) if self.file.is_empty() => Some(format!("line:{line}")),
            (Some(line), _) => Some(format!("{}:{line}", self.file)),
            (None, Some(seq)) => Some(format!("seq:{seq}")),
            (None, None) => None,
        }
    }
}

/// One summary cell, labelled for the phone layout (the label is hidden on wide screens,
/// where the column heads say it).
fn cell(class: &str, label: &str, value_html: &str) -> String {
    if value_html.is_empty() {
        return format!("<span class=\"{class}\"></span>");
    }
    format!("<span class=\"{class}\"><span class=\"lbl\">{label} </span>{value_html}</span>")
}

/// The time of day of an RFC 3339 UTC time (`08:00:00.374`) in a `<time>` element whose
/// tooltip and `datetime` carry the whole time (the call's heading says the day).
fn clock_html(rfc3339: &str) -> String {
    let full = short_time(rfc3339);
    match full.split_once(' ') {
        Some((_, rest)) if rfc3339.ends_with('Z') => format!(
            "<time datetime=\"{}\" title=\"{}\">{}</time>",
            esc(rfc3339),
            esc(&full),
            esc(rest.trim_end_matches(" UTC"))
        ),
        _ => time(rfc3339),
    }
}

/// One stored event as a `<details>` line. `index` is its place among the events the
/// ladder was drawn from (`data-index`), so a click on its ladder row can open it.
fn event_html(call: usize, index: Option<usize>, line: &StoredLine) -> String {
    let summary = Summary::of(line);
    let mut data = index.map(|index| format!(" data-index=\"{index}\"")).unwrap_or_default();
    if let Some(source) = summary.source() {
        data.push_str(&format!(" data-site=\"{}\" data-source=\"{}\"", esc(&summary.site), esc(&source)));
    }
    let cells = [
        cell("c-time", "Time", &clock_html(&summary.when)),
        cell("c-msg", "Message", &esc(&summary.message)),
        cell("c-dn mono", "ThisDN", &esc(&summary.this_dn)),
        cell("c-dn mono", "OtherDN", &esc(&summary.other_dn)),
        cell("c-conn mono", "ConnID", &esc(&summary.conn_id)),
        cell("c-where mono", "Where", &summary.place_html()),
    ]
    .concat();
    format!(
        "<li><details class=\"ev\" id=\"ev-{call}-{}\"{data}><summary>{cells}</summary>{}</details></li>\n",
        line.seq,
        attributes_html(line)
    )
}

/// `<section>` "Raw events". `ladder_index` gives each stored event's place among the
/// events the ladder was drawn from.
pub fn events_section(id: &str, calls: &[CallEvents], ladder_index: &dyn Fn(u64) -> Option<usize>) -> String {
    let mut out = String::from(
        "<section id=\"events\" aria-labelledby=\"events-heading\">\n<h2 id=\"events-heading\">Raw events</h2>\n",
    );
    out.push_str(&format!(
        "<p>Every call's T-Library events as stored; open an event (or click its row in the ladder) for all \
         its attributes, user data and extensions. All of them as a log: \
         <a href=\"/i/{}/events.log\" download>events.log</a>.</p>\n",
        url_encode(id)
    ));
    for (index, call) in calls.iter().enumerate() {
        let number = index + 1;
        let name = if call.call_uuid.is_empty() { &call.key } else { &call.call_uuid };
        let day = call
            .events
            .iter()
            .map(|line| Summary::of(line).when)
            .find(|stamp| stamp.len() >= 10)
            .map(|stamp| format!(" (times UTC, {})", &stamp[..10]))
            .unwrap_or_default();
        out.push_str(&format!(
            "<details id=\"call-{number}\"><summary>Call #{number} at {} <span class=\"mono\">{}</span>: {} event(s){}</summary>\n",
            esc(&call.site),
            esc(name),
            call.events.len(),
            esc(&day)
        ));
        out.push_str(
            "<div class=\"ev-head\" aria-hidden=\"true\"><span class=\"c-time\">Time</span><span class=\"c-msg\">Message</span>\
             <span class=\"c-dn\">ThisDN</span><span class=\"c-dn\">OtherDN</span><span class=\"c-conn\">ConnID</span>\
             <span class=\"c-where\">Where</span></div>\n<ol class=\"events\">\n",
        );
        for line in call.events.iter().take(MAX_SHOWN_EVENTS) {
            out.push_str(&event_html(number, ladder_index(line.seq), line));
        }
        out.push_str("</ol>\n");
        if call.events.len() > MAX_SHOWN_EVENTS {
            out.push_str(&format!(
                "<p class=\"muted\">The first {MAX_SHOWN_EVENTS} of {} are listed; events.log has them all.</p>\n",
                call.events.len()
            ));
        }
        out.push_str("</details>\n");
    }
    out.push_str("</section>\n");
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_attribute_user_data_extension_and_reason_is_shown_escaped() {
        let event = json!({
            "message": "EventReleased", "site": "S", "file": "s.log", "line": 42, "this_dn": "7002",
            "conn_id": "009a021843038407", "call_state": "Transferred", "third_party_dn": "<x>",
            "user_data": [["Case", [["id", "C-<1>"], ["prio", 5]]], ["RRequestedSkills", []], ["Code", {"bare": "007"}]],
            "extensions": [["ReleasingParty", "2 Remote"]], "reason": [["Why", "busy"]],
            "is_links": [{"id": "IS1", "location_name": "SIP@Switch", "direction_role": "source"}],
            "other": [{"name": "AttributeAgentID", "value": "Ann"}], "future_field": "kept",
        });
        let html = attributes_html(&StoredLine::decode(1, &event.to_string()));
        for expected in [
            "<dt>AttributeThirdPartyDN</dt><dd class=\"mono\">&lt;x&gt;</dd>",
            "<dt>AttributeCallState</dt><dd class=\"mono\">Transferred</dd>",
            "<th scope=\"row\">AttributeUserData</th><td><table class=\"kv\"><tbody><tr><th scope=\"row\">Case</th><td><table class=\"kv\">",
            "<th scope=\"row\">id</th><td><span class=\"mono\">C-&lt;1&gt;</span>",
            "<th scope=\"row\">Code</th><td><span class=\"mono\">007</span>",
            "(empty list)",
            "<th scope=\"row\">ReleasingParty</th><td><span class=\"mono\">2 Remote</span>",
            "<th scope=\"row\">Why</th>",
            "IS1 · source · SIP@Switch",
            "<th scope=\"row\">AttributeAgentID</th><td><span class=\"mono\">Ann</span>",
            "<dt>future_field</dt><dd class=\"mono\">kept</dd>",
        ] {
            assert!(html.contains(expected), "{expected} in {html}");
        }
        assert!(!html.contains("<x>") && !html.contains("C-<1>"));
        let line = event_html(1, Some(3), &StoredLine::decode(9, &event.to_string()));
        assert!(
            line.contains("id=\"ev-1-9\" data-index=\"3\" data-site=\"S\" data-source=\"s.log:42\""),
            "{line}"
        );
        assert!(line.contains("<span title=\"s.log:42\">s.log:42</span>"), "{line}");
        let deep = json!({"message": "EventRinging", "site": "S", "file": "/var/log/ts/S.log", "line": 7});
        let deep = StoredLine::decode(1, &deep.to_string());
        assert!(deep.event().is_some(), "a typed event");
        assert!(event_html(1, None, &deep).contains("<span title=\"/var/log/ts/S.log:7\">S.log:7</span>"));
        assert!(
            event_html(1, None, &deep).contains("<span class=\"c-dn mono\"></span>"),
            "an empty cell has no label"
        );
    }

    /// Every attribute read from the typed event renders exactly as it did from the event's
    /// JSON form (as the store holds it), so every field of an event is one the page names.
    #[test]
    fn typed_attributes_render_as_their_json_form_did() {
        let event = r#"{
            "message": "EventPartyChanged", "site": "S<1>", "file": "/l/s.log", "line": 42, "provenance": "sip-layer",
            "context": {"other": "odd <context>"}, "peer": "URS", "server_version": "8.1.001.05", "bsync": true,
            "incomplete": true, "clock": "09:41:00.5404", "log_time": "2012-10-29T14:41:00.540400Z",
            "seq": 812, "timestamp": "2012-10-29T14:41:00.495558Z", "reference_id": 7,
            "conn_id": "009a021843038407", "previous_conn_id": "009a021843038408", "transfer_conn_id": "009a021843038409",
            "conference_conn_id": "009a02184303840a", "original_conn_id": "009a02184303840b",
            "first_transfer_conn_id": "009a02184303840c", "last_transfer_conn_id": "009a02184303840d",
            "call_uuid": "00RP30KH7088L1IC08GB82LAES000317", "orig_call_uuid": "U2", "ref_call_uuid": "U3",
            "call_type": 9, "call_state": "Transferred", "this_dn": "7002", "this_queue": "8001", "this_dn_role": "Destination",
            "other_dn": "+14155550123", "other_queue": "8002", "other_dn_role": 99, "third_party_dn": "<x>",
            "third_party_queue": "8003", "third_party_dn_role": "Origination", "dn": "7003", "party_state": 65548,
            "ctrl_party": "7004", "ani": "+14155550123", "dnis": "8005551000",
            "first_transfer_home_location": "SIP@A", "first_transfer_orig_dn": "7005",
            "last_transfer_home_location": "SIP@B", "last_transfer_orig_dn": "7006",
            "user_data": [["Case", [["id", "C-<1>"], ["prio", 5], ["n", -1]]], ["Empty", []], ["Code", {"bare": "007"}]],
            "extensions": [["ReleasingParty", "2 Remote"]], "reason": [],
            "is_links": [{"id": "IS1", "location_name": "SIP@Switch", "direction_role": "source",
                          "extra": [["k", {"bare": "v<"}]]}, {"id": "", "direction_role": "target"}],
            "other": [{"name": "AttributeAgentID", "value": "Ann"}, {"name": "AttributeX<", "value": [["a", 1]]}]
        }"#;
        let typed = event_from_json(event).expect("an event");
        let stored = serde_json::to_string(&typed).expect("JSON");
        let typed = StoredLine::decode(1, &stored);
        assert!(typed.event().is_some(), "a typed event");
        let untyped = StoredLine { seq: 1, form: LineForm::NotAnEvent(typed.form.to_json().expect("JSON")) };
        let html = attributes_html(&typed);
        assert_eq!(html, attributes_html(&untyped));
        for expected in
            ["<dt>Context</dt><dd class=\"mono\">odd &lt;context&gt;</dd>", "<dt>Incomplete block</dt>"]
        {
            assert!(html.contains(expected), "{expected} in {html}");
        }
        assert_eq!(event_html(1, Some(2), &typed), event_html(1, Some(2), &untyped));
    }

    /// The lists read from the typed event render exactly as they did from its JSON form.
    #[test]
    fn typed_lists_render_as_their_json_form_did() {
        let event = json!({
            "message": "EventReleased", "site": "S", "file": "s.log", "line": 42, "this_dn": "7002",
            "user_data": [["Case", [["id", "C-<1>"], ["prio", 5], ["n", -1]]], ["Empty", []], ["Code", {"bare": "007"}]],
            "extensions": [["ReleasingParty", "2 Remote"]], "reason": [],
            "is_links": [{"id": "IS1", "location_name": "SIP@Switch", "direction_role": "source",
                          "extra": [["k", {"bare": "v<"}]]}, {"id": "", "direction_role": "target"}],
            "other": [{"name": "AttributeAgentID", "value": "Ann"}, {"name": "AttributeX<", "value": [["a", 1]]}],
        });
        let typed = StoredLine::decode(1, &event.to_string());
        assert!(typed.event().is_some(), "a typed event");
        let untyped = StoredLine { seq: 1, form: LineForm::NotAnEvent(event) };
        assert_eq!(attributes_html(&typed), attributes_html(&untyped));
        assert_eq!(event_html(1, Some(2), &typed), event_html(1, Some(2), &untyped));
    }

    /// An event posted as JSON has no `file:line`: its ladder row and its line are named by
    /// its sequence number, as `callstitch_ladder::events::source_of` names the row.
    #[test]
    fn an_event_that_came_as_json_is_named_by_its_sequence_number_like_its_ladder_row() {
        let posted = json!({"message": "EventRinging", "site": "S", "seq": 812, "this_dn": "7001"});
        let line = event_html(1, Some(0), &StoredLine::decode(1, &posted.to_string()));
        let typed = callstitch_tlib::json::event_from_json(&posted.to_string()).expect("an event");
        let row = callstitch_ladder::events::source_of(&typed).expect("a name for its row");
        assert!(line.contains(&format!("data-site=\"S\" data-source=\"{row}\"")), "{row} in {line}");
    }
}
