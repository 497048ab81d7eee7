//! Recording signals of the event stream (recording.md §4): the file name SIP Server
//! attaches as `GSIP_REC_FN`, RequestRouteCall with the `record` extension, and
//! RequestPrivateService `GSIP_RECORD_START`. They are kept per site and call, so that
//! recordings can be inferred when no media feed exists and checked against one when it does.
//!
//! Memory follows calls in progress: a call's signals go once the interaction holding it can
//! no longer be revised ([`Signals::forget_interaction`] marks it, [`Retention`] says how
//! long after the interaction's end that is), or, for a call no interaction ever named, a
//! long age after its last signal. Pruning runs on event time, so it is deterministic and a
//! restored snapshot prunes exactly as the original would have.

use std::collections::{BTreeMap, HashSet};

use callstitch_link::{Interaction, Lifecycle, LinkerConfig, SnapshotError};
use callstitch_tlib::{Event, Message, Text, Timestamp, SECOND};
use serde::{Deserialize, Serialize};

/// What kind of signal a trigger is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub site: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_id: Option<String>,
    /// The DN whose side is to be recorded, when the signal says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The message that carried it.
    pub message: String,
    #[serde(flatten)]
    pub kind: TriggerKind,
}

/// How long signals stay in memory, in microseconds of event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// After the last interaction handed out with a call (from the later of its end and the
    /// event time it was handed out at), its signals stay this long: longer than the linker
    /// can hand that interaction out again.
    pub after_interaction: i64,
    /// Signals of a call no interaction was handed out with go this long after their last.
    pub max_age: i64,
    /// Signals of an interaction the linker keeps for late evidence (it may come back: an
    /// unpaired link, a hand-off, a lost end) stay this long after its end.
    #[serde(default = "default_after_reopenable")]
    pub after_reopenable: i64,
    /// Pruning runs when event time has moved on this much since the last time.
    pub every: i64,
}

/// Snapshots written before the field existed: two days.
fn default_after_reopenable() -> i64 {
    2 * 24 * 3_600 * SECOND
}

impl Retention {
    /// How long after its end what an interaction used is kept: longer for one the linker
    /// keeps for late evidence.
    pub fn keep_after(&self, interaction: &Interaction) -> i64 {
        if interaction.reopenable {
            self.after_reopenable.max(self.after_interaction)
        } else {
            self.after_interaction
        }
    }

    /// Longer than the longest a linker with `config` waits before it hands out an
    /// interaction complete (linger or link timeout), plus its revision grace, plus a minute.
    pub fn for_linker(config: &LinkerConfig) -> Retention {
        let wait = config.linger.max(config.link_timeout);
        Retention {
            after_interaction: wait.saturating_add(config.revision_grace).saturating_add(60 * SECOND),
            after_reopenable: config.archive_horizon.saturating_add(60 * SECOND),
            max_age: 24 * 3_600 * SECOND,
            every: 60 * SECOND,
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Retention::for_linker(&LinkerConfig::default())
    }
}

/// What is kept of one call.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CallSignals {
    /// Triggers in the order seen.
    triggers: Vec<Trigger>,
    /// GSIP_REC_FN values first kept for this call (they leave with it).
    names: Vec<String>,
    /// The call carried the deployment's marker key.
    marked: bool,
    /// Event time of its latest signal.
    last_seen: i64,
    /// Set by [`Signals::forget_interaction`]: kept until this event time.
    keep_until: Option<i64>,
}

impl CallSignals {
    fn expires(&self, retention: &Retention) -> i64 {
        self.keep_until.unwrap_or_else(|| self.last_seen.saturating_add(retention.max_age))
    }
}

/// The signals seen so far, by site and then CallUUID or ConnID.
#[derive(Debug, Default)]
pub struct Signals {
    /// (site, CallUUID or `conn:<ConnID>`) → what the call signalled.
    by_call: BTreeMap<(Text, String), CallSignals>,
    /// GSIP_REC_FN values already kept, per site (user data repeats on every event).
    seen_names: HashSet<(Text, String)>,
    /// The deployment's own "being recorded" user-data key (seed 002 workaround).
    marker_key: Option<String>,
    retention: Retention,
    /// Event time: the latest seen (i64::MIN before any).
    now: i64,
    next_prune: i64,
}

/// The state of [`Signals`] in a snapshot: maps as sorted lists. Taken by
/// [`Signals::state`] and encoded by [`SignalsState::encode`], possibly on another thread.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignalsState {
    by_call: Vec<((Text, String), CallSignals)>,
    seen_names: Vec<(Text, String)>,
    marker_key: Option<String>,
    retention: Retention,
    now: i64,
    next_prune: i64,
}

impl SignalsState {
    /// The bytes of [`Signals::snapshot`].
    pub fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        callstitch_link::snapshot::encode(SIGNALS_FORMAT, SIGNALS_VERSION, self)
    }
}

/// The format name of a signals snapshot.
pub const SIGNALS_FORMAT: &str = "callstitch-signals";
/// The version of the signals snapshot this build writes and reads.
pub const SIGNALS_VERSION: u32 = 1;

impl Signals {
    pub fn new(marker_key: Option<String>) -> Signals {
        Signals::with_retention(marker_key, Retention::default())
    }

    /// Signals kept as long as `retention` says (see [`Retention::for_linker`]).
    pub fn with_retention(marker_key: Option<String>, retention: Retention) -> Signals {
        Signals { marker_key, retention, now: i64::MIN, next_prune: i64::MIN, ..Signals::default() }
    }

    /// Calls whose signals are in memory.
    pub fn calls_in_memory(&self) -> usize {
        self.by_call.len()
    }

    /// The interaction was handed out (its recording built): once it is complete, its calls'
    /// signals stay until it can no longer be revised, then go. Call it for every revision; a
    /// live or settling interaction keeps its signals.
    pub fn forget_interaction(&mut self, interaction: &Interaction) {
        if interaction.state != Lifecycle::Complete {
            return;
        }
        // From the later of its end and now: an interaction handed out complete long after
        // its end (a lost end closed by the idle timeout, a link that waited) can still be
        // revised for the whole grace from here.
        let from = interaction.end.map_or(self.now, |end| end.0.max(self.now));
        let until = from.saturating_add(self.retention.keep_after(interaction));
        for segment in &interaction.segments {
            let key = segment.call_uuid.as_deref().unwrap_or(&segment.key);
            let keys = std::iter::once(key.to_string())
                .chain(segment.conn_ids.iter().map(|conn| format!("conn:{conn}")));
            for key in keys {
                if let Some(call) = self.by_call.get_mut(&(segment.site.clone(), key)) {
                    call.keep_until = Some(call.keep_until.map_or(until, |known| known.max(until)));
                }
            }
        }
    }

    /// Drops the signals whose time is over (runs from [`Signals::observe`] as event time
    /// moves on; call it on a tick when no event comes).
    pub fn prune(&mut self, now: Timestamp) {
        self.now = self.now.max(now.0);
        let (now, retention) = (self.now, self.retention);
        let mut gone = Vec::new();
        self.by_call.retain(|(site, _), call| {
            if call.last_seen == i64::MIN {
                call.last_seen = now; // signalled before any event had a time
            }
            let keep = call.expires(&retention) >= now;
            if !keep {
                gone.extend(call.names.drain(..).map(|name| (site.clone(), name)));
            }
            keep
        });
        for (site, name) in gone {
            self.seen_names.remove(&(site, name));
        }
        self.next_prune = now.saturating_add(retention.every.max(1));
    }

    /// The signals as bytes: restoring them gives signals that go on exactly as these would.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        self.state().encode()
    }

    /// The signals' state, owned: [`SignalsState::encode`] gives [`Signals::snapshot`]'s bytes.
    pub fn state(&self) -> SignalsState {
        let mut seen_names: Vec<(Text, String)> = self.seen_names.iter().cloned().collect();
        seen_names.sort();
        SignalsState {
            by_call: self.by_call.iter().map(|(key, call)| (key.clone(), call.clone())).collect(),
            seen_names,
            marker_key: self.marker_key.clone(),
            retention: self.retention,
            now: self.now,
            next_prune: self.next_prune,
        }
    }

    /// The signals a [`Signals::snapshot`] was taken of (with their marker key and retention).
    pub fn restore(bytes: &[u8]) -> Result<Signals, SnapshotError> {
        let state: SignalsState = callstitch_link::snapshot::decode(bytes, SIGNALS_FORMAT, SIGNALS_VERSION)?;
        Ok(Signals {
            by_call: state.by_call.into_iter().collect(),
            seen_names: state.seen_names.into_iter().collect(),
            marker_key: state.marker_key,
            retention: state.retention,
            now: state.now,
            next_prune: state.next_prune,
        })
    }

    /// Looks at one event for recording signals.
    pub fn observe(&mut self, event: &Event) {
        if let Some(time) = event.time() {
            self.now = self.now.max(time.0);
            if self.now >= self.next_prune {
                self.prune(Timestamp(self.now));
            }
        }
        let call_uuid = event.call_uuid.as_ref().map(|uuid| uuid.as_str().to_string());
        if let Some(user_data) = &event.user_data {
            // Every pair: a call recorded on two sides carries two names under the same key.
            let names = user_data.iter().filter(|pair| pair.key == "GSIP_REC_FN");
            for value in names.filter_map(|pair| pair.value.as_text()) {
                let value = value.to_string();
                let Some(key) = trigger_key(event, call_uuid.as_deref()) else { continue };
                if !value.is_empty() && self.seen_names.insert((event.site.clone(), value.clone())) {
                    self.call_mut(event, key).names.push(value.clone());
                    let dn = event.this_dn.clone();
                    self.push(event, call_uuid.clone(), dn, TriggerKind::FileName { value });
                }
            }
            if let (Some(key), Some(uuid)) = (&self.marker_key, &call_uuid) {
                if user_data.get_ignore_case(key).is_some() {
                    let uuid = uuid.clone();
                    self.call_mut(event, uuid).marked = true;
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

    /// A call's entry, created if new; a signal for a call whose interaction was forgotten
    /// revives it (it is kept by age again until it is forgotten again).
    fn call_mut(&mut self, event: &Event, key: String) -> &mut CallSignals {
        let now = self.now;
        let call = self.by_call.entry((event.site.clone(), key)).or_default();
        call.last_seen = now;
        call.keep_until = None;
        call
    }

    fn push(&mut self, event: &Event, call_uuid: Option<String>, dn: Option<Text>, kind: TriggerKind) {
        let conn_id = event.conn_id.map(|conn| conn.to_string());
        let Some(key) = trigger_key(event, call_uuid.as_deref()) else { return };
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
        self.call_mut(event, key).triggers.push(trigger);
    }

    /// The triggers of a call on `site`, found by its CallUUID (or key) and its ConnIDs.
    pub fn for_call(&self, site: &str, key: &str, conn_ids: &[String]) -> Vec<&Trigger> {
        let triggers = |key: String| {
            self.by_call.get(&(Text::from(site), key)).into_iter().flat_map(|call| call.triggers.iter())
        };
        let mut found: Vec<&Trigger> = triggers(key.to_string()).collect();
        for conn in conn_ids {
            found.extend(triggers(format!("conn:{conn}")));
        }
        found
    }

    /// True when the call carried the deployment's "being recorded" marker key.
    pub fn marked(&self, site: &str, key: &str) -> bool {
        self.by_call.get(&(Text::from(site), key.to_string())).is_some_and(|call| call.marked)
    }
}

/// The key a call's signals are kept under: its CallUUID, else `conn:<ConnID>`. A signal on
/// an event with neither is about no call and is not kept (nor is its file name marked seen).
fn trigger_key(event: &Event, call_uuid: Option<&str>) -> Option<String> {
    match (call_uuid, event.conn_id) {
        (Some(uuid), _) => Some(uuid.to_string()),
        (None, Some(conn)) => Some(format!("conn:{conn}")),
        (None, None) => None,
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
