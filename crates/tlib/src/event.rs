//! The typed T-Library event: one block of a log, one JSON line, one message of a live feed.
//!
//! The attributes the engine reasons about are typed fields; every other attribute is kept in
//! [`Event::other`] by name and raw value, in log order, so nothing of the input is lost.
//! Each event also says where it came from (site, file, line) and how it was logged.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::enums::{
    CallState, CallType, Context, DnRole, EventProvenance, LinkRole, PartyState, ReleasingParty,
};
use crate::ids::{CallUuid, ConnId, LocalTime, Timestamp};
use crate::kv::{KvList, Value};
use crate::message::Message;
use crate::Text;

/// One end of an Inter-Site Link, as listed in AttributeISLinkList.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsLink {
    /// The link id (same 32-character form as a CallUUID, but its own namespace).
    pub id: Text,
    /// `location-name`: the remote T-Server as `<application>@<switch>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_name: Option<Text>,
    /// `direction-role`: `source` (this server sent the call) or `target` (it received it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction_role: Option<LinkRole>,
    /// Any other keys of the link's list, kept in order.
    #[serde(default, skip_serializing_if = "KvList::is_empty")]
    pub extra: KvList,
}

/// An attribute the model does not type (or a repeated or unreadable typed one), kept raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAttribute {
    pub name: Text,
    pub value: Value,
}

/// A T-Library event or request.
///
/// Optional fields are `None` when the attribute was absent; `Some("")` is the empty string
/// `''`. See docs/event-json.md for the JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The message name (and, through it, its T-Library number).
    #[serde(with = "message_name")]
    pub message: Message,

    // --- where it came from ---
    /// The site (T-Server) that reported the event.
    pub site: Text,
    /// The file it was read from, if it came from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
    /// The 1-based line of the block's first line in that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The layer of the log it was read from: a T-Library record (the default, left out of
    /// JSON) or rebuilt from the SIP layer.
    #[serde(default, skip_serializing_if = "EventProvenance::is_t_library")]
    pub provenance: EventProvenance,

    // --- how it was logged ---
    #[serde(default = "unspecified", skip_serializing_if = "is_unspecified")]
    pub context: Context,
    /// The requesting client of a received request, or the server a request was sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Text>,
    /// The server version printed on the event line (`8.1.001.05`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<Text>,
    /// A `[BSYNC]` block: the backup-sync copy of an event, not a new one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub bsync: bool,
    /// The block was cut (end of file, crash): what is here is all there was.
    #[serde(default, skip_serializing_if = "is_false")]
    pub incomplete: bool,
    /// The local clock of the log line as printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<LocalTime>,
    /// The log line's clock in UTC, when the file header gave the date and offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_time: Option<Timestamp>,

    // --- identity and time ---
    /// AttributeEventSequenceNumber: the server's own order of its events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// AttributeTimeStamp, UTC on the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_id: Option<ConnId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_conn_id: Option<ConnId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_conn_id: Option<ConnId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_conn_id: Option<ConnId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_conn_id: Option<ConnId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_transfer_conn_id: Option<ConnId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transfer_conn_id: Option<ConnId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<CallUuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orig_call_uuid: Option<CallUuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_call_uuid: Option<CallUuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_state: Option<CallState>,

    // --- parties ---
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub this_dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub this_queue: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub this_dn_role: Option<DnRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_queue: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_dn_role: Option<DnRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_queue: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub third_party_dn_role: Option<DnRole>,
    /// AttributeDN: the party of a call-based party event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party_state: Option<PartyState>,
    /// AttributeCtrlParty: who caused the change (the release initiator on deletions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctrl_party: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ani: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnis: Option<Text>,

    // --- multi-site call history ---
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_transfer_home_location: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_transfer_orig_dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transfer_home_location: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transfer_orig_dn: Option<Text>,

    // --- lists ---
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<KvList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<KvList>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<KvList>,
    /// AttributeISLinkList, typed. `Some(vec![])` is an empty list that was present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_links: Option<Vec<IsLink>>,

    /// Every other attribute, in log order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<RawAttribute>,
}

fn unspecified() -> Context {
    Context::Unspecified
}

fn is_unspecified(context: &Context) -> bool {
    *context == Context::Unspecified
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

mod message_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::message::Message;

    pub fn serialize<S: Serializer>(message: &Message, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(message.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Message, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if name.is_empty() {
            return Err(serde::de::Error::custom("message name is empty"));
        }
        Ok(Message::from_name(&name))
    }
}

impl Event {
    /// An event of `message` at `site` with no attributes.
    pub fn new(message: Message, site: &str) -> Event {
        Event {
            message,
            site: Text::from(site),
            file: None,
            line: None,
            provenance: EventProvenance::TLibrary,
            context: Context::Unspecified,
            peer: None,
            server_version: None,
            bsync: false,
            incomplete: false,
            clock: None,
            log_time: None,
            seq: None,
            timestamp: None,
            reference_id: None,
            conn_id: None,
            previous_conn_id: None,
            transfer_conn_id: None,
            conference_conn_id: None,
            original_conn_id: None,
            first_transfer_conn_id: None,
            last_transfer_conn_id: None,
            call_uuid: None,
            orig_call_uuid: None,
            ref_call_uuid: None,
            call_type: None,
            call_state: None,
            this_dn: None,
            this_queue: None,
            this_dn_role: None,
            other_dn: None,
            other_queue: None,
            other_dn_role: None,
            third_party_dn: None,
            third_party_queue: None,
            third_party_dn_role: None,
            dn: None,
            party_state: None,
            ctrl_party: None,
            ani: None,
            dnis: None,
            first_transfer_home_location: None,
            first_transfer_orig_dn: None,
            last_transfer_home_location: None,
            last_transfer_orig_dn: None,
            user_data: None,
            extensions: None,
            reason: None,
            is_links: None,
            other: Vec::new(),
        }
    }

    /// Makes this event a fresh `message` at `site` with no attributes, keeping the
    /// allocation of its raw-attribute list (the reader refills one event per block).
    pub fn reset(&mut self, message: Message, site: Text) {
        self.clear();
        self.message = message;
        self.site = site;
        self.file = None;
    }

    /// [`Event::reset`] for the log reader: the site and file are copied only when they
    /// changed (the file is shared, and sharing it again costs two atomic operations).
    pub(crate) fn refill(&mut self, message: Message, site: &Text, file: &Option<Arc<str>>) {
        self.clear();
        self.message = message;
        if self.site != *site {
            self.site.clone_from(site);
        }
        let same_file = match (&self.file, file) {
            (Some(mine), Some(theirs)) => Arc::ptr_eq(mine, theirs),
            (None, None) => true,
            _ => false,
        };
        if !same_file {
            self.file.clone_from(file);
        }
    }

    /// Empties every field but the message, site and file, in place: a fresh event costs a
    /// 1 KB copy per block, this only the fields' own drops. The pattern names every field,
    /// so a new field cannot be forgotten here.
    fn clear(&mut self) {
        let Event {
            message: _,
            site: _,
            file: _,
            line,
            provenance,
            context,
            peer,
            server_version,
            bsync,
            incomplete,
            clock,
            log_time,
            seq,
            timestamp,
            reference_id,
            conn_id,
            previous_conn_id,
            transfer_conn_id,
            conference_conn_id,
            original_conn_id,
            first_transfer_conn_id,
            last_transfer_conn_id,
            call_uuid,
            orig_call_uuid,
            ref_call_uuid,
            call_type,
            call_state,
            this_dn,
            this_queue,
            this_dn_role,
            other_dn,
            other_queue,
            other_dn_role,
            third_party_dn,
            third_party_queue,
            third_party_dn_role,
            dn,
            party_state,
            ctrl_party,
            ani,
            dnis,
            first_transfer_home_location,
            first_transfer_orig_dn,
            last_transfer_home_location,
            last_transfer_orig_dn,
            user_data,
            extensions,
            reason,
            is_links,
            other,
        } = self;
        *line = None;
        *provenance = EventProvenance::TLibrary;
        *context = Context::Unspecified;
        *bsync = false;
        *incomplete = false;
        *clock = None;
        *log_time = None;
        *seq = None;
        *timestamp = None;
        *reference_id = None;
        *call_type = None;
        *call_state = None;
        *this_dn_role = None;
        *other_dn_role = None;
        *third_party_dn_role = None;
        *party_state = None;
        for conn in [
            conn_id,
            previous_conn_id,
            transfer_conn_id,
            conference_conn_id,
            original_conn_id,
            first_transfer_conn_id,
            last_transfer_conn_id,
        ] {
            *conn = None;
        }
        for uuid in [call_uuid, orig_call_uuid, ref_call_uuid] {
            *uuid = None;
        }
        for text in [
            peer,
            server_version,
            this_dn,
            this_queue,
            other_dn,
            other_queue,
            third_party_dn,
            third_party_queue,
            dn,
            ctrl_party,
            ani,
            dnis,
            first_transfer_home_location,
            first_transfer_orig_dn,
            last_transfer_home_location,
            last_transfer_orig_dn,
        ] {
            *text = None;
        }
        for list in [user_data, extensions, reason] {
            *list = None;
        }
        *is_links = None;
        other.clear();
    }

    /// The ReleasingParty of the Extensions, read per release.md §1.1, with its raw text.
    pub fn releasing_party(&self) -> Option<(ReleasingParty, std::borrow::Cow<'_, str>)> {
        let value = self.extensions.as_ref()?.get_ignore_case("ReleasingParty")?;
        let raw = value.as_text()?;
        Some((ReleasingParty::parse(&raw), raw))
    }

    /// A raw (untyped) attribute by exact name.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.other.iter().find(|attribute| attribute.name == name).map(|attribute| &attribute.value)
    }

    /// The best time for display: the server's time stamp, else the log line's clock.
    pub fn time(&self) -> Option<Timestamp> {
        self.timestamp.or(self.log_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releasing_party_is_read_from_extensions() {
        let mut event = Event::new(Message::EventReleased, "S");
        assert_eq!(event.releasing_party(), None);
        let mut extensions = KvList::new();
        extensions.push("ReleasingParty", Value::Str(Text::from("2 Remote")));
        event.extensions = Some(extensions);
        let (party, raw) = event.releasing_party().unwrap();
        assert_eq!(party, ReleasingParty::Remote);
        assert_eq!(raw, "2 Remote");
    }

    #[test]
    fn reset_and_refill_leave_a_fresh_event() {
        let json = r#"{"message":"EventRinging","site":"S","file":"a.log","line":7,"context":"distribute_event",
            "peer":"p","server_version":"8.1","bsync":true,"incomplete":true,"seq":3,"conn_id":"0000000000000001",
            "call_uuid":"U","this_dn":"7001","this_dn_role":2,"party_state":4,"ani":"1","user_data":[["k","v"]],
            "is_links":[],"other":[{"name":"AttributeCallID","value":1}]}"#;
        let full: Event = serde_json::from_str(json).unwrap();
        let mut reset = full.clone();
        reset.reset(Message::EventReleased, Text::from("T"));
        assert_eq!(reset, Event::new(Message::EventReleased, "T"));
        let mut refilled = full;
        let file: Option<Arc<str>> = Some(Arc::from("b.log"));
        refilled.refill(Message::EventReleased, &Text::from("T"), &file);
        let mut expected = Event::new(Message::EventReleased, "T");
        expected.file = file;
        assert_eq!(refilled, expected);
    }

    #[test]
    fn json_rejects_unknown_fields_and_names_them() {
        let error = serde_json::from_str::<Event>(r#"{"message":"EventRinging","site":"S","colour":1}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("colour"), "{error}");
    }
}
