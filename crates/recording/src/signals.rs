//! Recording signals of the event stream (recording.md §4): the file name SIP Server
//! attaches as `GSIP_REC_FN`, RequestRouteCall with the `record` extension, and
//! RequestPrivateService `GSIP_RECORD_START`. They are kept per site and call, so that
//! recordings can be inferred when no media feed exists and checked against one when it does.

use std::collections::{BTreeMap, HashSet};

use callstitch_tlib::{Event, Message, Text, Timestamp};
use serde::Serialize;

/// What kind of signal a trigger is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum TriggerKind {
    /// `GSIP_REC_FN` in the call's user data: the file SIP Server named.
    FileName { value: String },
    /// RequestRouteCall with extension `record` = `destination` (or `source` in older
    /// deployments): record the routed call's destination.
    RouteRecord { value: String },
    /// RequestPrivateService `GSIP_RECORD_START` for ThisDN's connection.
    PrivateStart { record: String },
}

/// One recording signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub site: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conn_id: Option<String>,
    /// The DN whose side is to be recorded, when the signal says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dn: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The message that carried it.
    pub message: String,
    #[serde(flatten)]
    pub kind: TriggerKind,
}

/// The signals seen so far, by site and then CallUUID or ConnID.
#[derive(Debug, Default)]
pub struct Signals {
    /// (site, CallUUID or `conn:<ConnID>`) → triggers in the order seen.
    by_call: BTreeMap<(Text, String), Vec<Trigger>>,
    /// GSIP_REC_FN values already kept, per site (user data repeats on every event).
    seen_names: HashSet<(Text, String)>,
    /// The deployment's own "being recorded" user-data key (seed 002 workaround).
    marker_key: Option<String>,
    /// (site, CallUUID) of calls that carried the marker key.
    marked: HashSet<(Text, String)>,
}

impl Signals {
    pub fn new(marker_key: Option<String>) -> Signals {
        Signals { marker_key, ..Signals::default() }
    }

    /// Looks at one event for recording signals.
    pub fn observe(&mut self, event: &Event) {
        let call_uuid = event.call_uuid.as_ref().map(|uuid| uuid.as_str().to_string());
        if let Some(user_data) = &event.user_data {
            // Every pair: a call recorded on two sides carries two names under the same key.
            let names = user_data.iter().filter(|pair| pair.key == "GSIP_REC_FN");
            for value in names.filter_map(|pair| pair.value.as_text()) {
                let value = value.to_string();
                if !value.is_empty() && self.seen_names.insert((event.site.clone(), value.clone())) {
                    let dn = event.this_dn.clone();
                    self.push(event, call_uuid.clone(), dn, TriggerKind::FileName { value });
                }
            }
            if let (Some(key), Some(uuid)) = (&self.marker_key, &call_uuid) {
                if user_data.get_ignore_case(key).is_some() {
                    self.marked.insert((event.site.clone(), uuid.clone()));
                }
            }
        }
        match event.message {
            Message::RequestRouteCall => {
                let record = event
                    .extensions
                    .as_ref()
                    .and_then(|ext| ext.get_ignore_case("record"))
                    .and_then(|value| value.as_text().map(|text| text.to_string()));
                if let Some(value) = record.filter(|value| value == "destination" || value == "source") {
                    let dn = event.other_dn.clone();
                    self.push(event, call_uuid, dn, TriggerKind::RouteRecord { value });
                }
            }
            Message::RequestPrivateService => {
                let starts = event.other.iter().any(|attribute| {
                    attribute.name.contains("PrivateMsgID")
                        && attribute.value.as_text().is_some_and(|text| text.contains("GSIP_RECORD_START"))
                });
                if starts {
                    let record = event
                        .extensions
                        .as_ref()
                        .and_then(|ext| ext.get_ignore_case("record"))
                        .and_then(|value| value.as_text().map(|text| text.to_string()))
                        .unwrap_or_else(|| "source".to_string());
                    let dn = if record == "source" { event.this_dn.clone() } else { None };
                    self.push(event, call_uuid, dn, TriggerKind::PrivateStart { record });
                }
            }
            _ => {}
        }
    }

    fn push(&mut self, event: &Event, call_uuid: Option<String>, dn: Option<Text>, kind: TriggerKind) {
        let conn_id = event.conn_id.map(|conn| conn.to_string());
        let key = match (&call_uuid, &conn_id) {
            (Some(uuid), _) => uuid.clone(),
            (None, Some(conn)) => format!("conn:{conn}"),
            (None, None) => return,
        };
        let trigger = Trigger {
            site: event.site.clone(),
            call_uuid,
            conn_id,
            dn,
            time: event.time(),
            seq: event.seq,
            message: event.message.name().to_string(),
            kind,
        };
        self.by_call.entry((event.site.clone(), key)).or_default().push(trigger);
    }

    /// The triggers of a call on `site`, found by its CallUUID (or key) and its ConnIDs.
    pub fn for_call(&self, site: &str, key: &str, conn_ids: &[String]) -> Vec<&Trigger> {
        let mut found: Vec<&Trigger> =
            self.by_call.get(&(Text::from(site), key.to_string())).into_iter().flatten().collect();
        for conn in conn_ids {
            found.extend(self.by_call.get(&(Text::from(site), format!("conn:{conn}"))).into_iter().flatten());
        }
        found
    }

    /// True when the call carried the deployment's "being recorded" marker key.
    pub fn marked(&self, site: &str, key: &str) -> bool {
        self.marked.contains(&(Text::from(site), key.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use callstitch_tlib::{CallUuid, ConnId, KvList, RawAttribute, Value};

    use super::*;

    fn event(message: Message, uuid: Option<&str>) -> Event {
        let mut event = Event::new(message, "SIP1");
        event.call_uuid = uuid.map(CallUuid::new);
        event.conn_id = Some(ConnId(0x42));
        event.timestamp = Some(Timestamp(1_000_000));
        event.seq = Some(7);
        event
    }

    #[test]
    fn file_names_are_kept_once_per_value() {
        let mut signals = Signals::new(None);
        let mut named = event(Message::EventAttachedDataChanged, Some("U1"));
        named.this_dn = Some(Text::from("1001"));
        let mut data = KvList::new();
        data.push("GSIP_REC_FN", Value::Str(Text::from("U1_2026-01-01_10-00-00-00000000-00000042-00000001")));
        named.user_data = Some(data);
        signals.observe(&named);
        signals.observe(&named);
        let found = signals.for_call("SIP1", "U1", &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].dn.as_deref(), Some("1001"));
        assert!(matches!(&found[0].kind, TriggerKind::FileName { value } if value.starts_with("U1_")));
    }

    #[test]
    fn route_record_and_private_record_start_are_triggers_found_by_conn_id() {
        let mut signals = Signals::new(None);
        let mut route = event(Message::RequestRouteCall, None);
        route.other_dn = Some(Text::from("2002"));
        let mut extensions = KvList::new();
        extensions.push("record", Value::Str(Text::from("destination")));
        route.extensions = Some(extensions);
        signals.observe(&route);
        let mut private = event(Message::RequestPrivateService, None);
        private.this_dn = Some(Text::from("3003"));
        private.other.push(RawAttribute {
            name: Text::from("AttributePrivateMsgID"),
            value: Value::Bare(Text::from("GSIP_RECORD_START")),
        });
        signals.observe(&private);
        let mut unrelated = event(Message::RequestRouteCall, None);
        unrelated.other_dn = Some(Text::from("4004"));
        signals.observe(&unrelated);
        let found = signals.for_call("SIP1", "UNKNOWN", &["0000000000000042".to_string()]);
        let dns: Vec<Option<&str>> = found.iter().map(|trigger| trigger.dn.as_deref()).collect();
        assert_eq!(dns, [Some("2002"), Some("3003")]);
        assert!(matches!(&found[1].kind, TriggerKind::PrivateStart { record } if record == "source"));
    }

    #[test]
    fn the_record_marker_key_marks_the_call() {
        let mut signals = Signals::new(Some("BeingRecorded".to_string()));
        let mut marked = event(Message::EventAttachedDataChanged, Some("U9"));
        let mut data = KvList::new();
        data.push("beingrecorded", Value::Str(Text::from("yes")));
        marked.user_data = Some(data);
        signals.observe(&marked);
        assert!(signals.marked("SIP1", "U9"));
        assert!(!signals.marked("SIP1", "U8"));
    }
}
