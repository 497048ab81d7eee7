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

use std::collections::BTreeMap;
use std::sync::Arc;

use callstitch_link::{Interaction, Lifecycle, LinkerConfig, SnapshotError};
use callstitch_tlib::{ConnId, Event, Message, Text, Timestamp, SECOND};
use rustc_hash::{FxHashMap, FxHashSet};
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
    /// Nested, so that a call is found by borrowed names (asked for every segment of every
    /// interaction handed out).
    /// Each call's signals shared with a snapshot's capture, copied only when they change
    /// while the capture is held.
    by_call: BTreeMap<Text, BTreeMap<String, Arc<CallSignals>>>,
    /// GSIP_REC_FN values already kept, per site (user data repeats on every event, so this
    /// is asked on most events: looked up by borrowed name, with Fx hashing. The names come
    /// from the logs read or the events posted; a sender who crafted colliding names would
    /// only slow its own site's lookups, and a log reader trusts its logs anyway).
    seen_names: FxHashMap<Text, FxHashSet<String>>,
    /// The deployment's own "being recorded" user-data key (seed 002 workaround).
    marker_key: Option<String>,
    retention: Retention,
    /// Event time: the latest seen (i64::MIN before any).
    now: i64,
    next_prune: i64,
}

/// The state of [`Signals`] in a snapshot: maps as sorted lists. Taken by
/// [`Signals::state`] (a copy of the maps as they are) and encoded by
/// [`SignalsState::encode`], possibly on another thread, which also does the flattening and
/// sorting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignalsState {
    #[serde(with = "by_call_list")]
    by_call: BTreeMap<Text, BTreeMap<String, Arc<CallSignals>>>,
    #[serde(with = "seen_names_list")]
    seen_names: FxHashMap<Text, FxHashSet<String>>,
    marker_key: Option<String>,
    retention: Retention,
    now: i64,
    next_prune: i64,
}

/// `by_call` as the list of ((site, call), signals) in order.
mod by_call_list {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use callstitch_tlib::Text;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::CallSignals;

    type ByCall = BTreeMap<Text, BTreeMap<String, Arc<CallSignals>>>;

    pub fn serialize<S: Serializer>(by_call: &ByCall, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            by_call.iter().flat_map(|(site, calls)| calls.iter().map(move |(key, call)| ((site, key), call))),
        )
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ByCall, D::Error> {
        let list = Vec::<((Text, String), CallSignals)>::deserialize(deserializer)?;
        Ok(list.into_iter().fold(BTreeMap::new(), |mut by_call, ((site, key), call)| {
            by_call.entry(site).or_insert_with(BTreeMap::new).insert(key, Arc::new(call));
            by_call
        }))
    }
}

/// `seen_names` as the sorted list of (site, name).
mod seen_names_list {
    use callstitch_tlib::Text;
    use rustc_hash::{FxHashMap, FxHashSet};
    use serde::{Deserialize, Deserializer, Serializer};

    type SeenNames = FxHashMap<Text, FxHashSet<String>>;

    pub fn serialize<S: Serializer>(seen: &SeenNames, serializer: S) -> Result<S::Ok, S::Error> {
        let mut names: Vec<(&Text, &String)> =
            seen.iter().flat_map(|(site, names)| names.iter().map(move |name| (site, name))).collect();
        names.sort_unstable();
        serializer.collect_seq(names)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SeenNames, D::Error> {
        let list = Vec::<(Text, String)>::deserialize(deserializer)?;
        Ok(list.into_iter().fold(FxHashMap::default(), |mut seen, (site, name)| {
            seen.entry(site).or_insert_with(FxHashSet::default).insert(name);
            seen
        }))
    }
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
        self.by_call.values().map(BTreeMap::len).sum()
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
        let mut conn_key = String::new();
        for segment in &interaction.segments {
            let Some(calls) = self.by_call.get_mut(segment.site.as_str()) else { continue };
            let key = segment.call_uuid.as_deref().unwrap_or(&segment.key);
            let keep = |call: Option<&mut Arc<CallSignals>>| {
                if let Some(call) = call {
                    let call = Arc::make_mut(call);
                    call.keep_until = Some(call.keep_until.map_or(until, |known| known.max(until)));
                }
            };
            keep(calls.get_mut(key));
            for conn in &segment.conn_ids {
                keep(calls.get_mut(conn_key_into(&mut conn_key, conn)));
            }
        }
    }

    /// Drops the signals whose time is over (runs from [`Signals::observe`] as event time
    /// moves on; call it on a tick when no event comes).
    pub fn prune(&mut self, now: Timestamp) {
        self.now = self.now.max(now.0);
        let (now, retention) = (self.now, self.retention);
        let mut gone = Vec::new();
        for (site, calls) in &mut self.by_call {
            calls.retain(|_, call| {
                if call.last_seen == i64::MIN {
                    Arc::make_mut(call).last_seen = now; // signalled before any event had a time
                }
                let keep = call.expires(&retention) >= now;
                if !keep {
                    gone.extend(call.names.iter().map(|name| (site.clone(), name.clone())));
                }
                keep
            });
        }
        self.by_call.retain(|_, calls| !calls.is_empty());
        for (site, name) in gone {
            if let Some(names) = self.seen_names.get_mut(&site) {
                names.remove(&name);
                if names.is_empty() {
                    self.seen_names.remove(&site);
                }
            }
        }
        self.next_prune = now.saturating_add(retention.every.max(1));
    }

    /// The signals as bytes: restoring them gives signals that go on exactly as these would.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        self.state().encode()
    }

    /// The signals' state, owned: [`SignalsState::encode`] gives [`Signals::snapshot`]'s bytes.
    pub fn state(&self) -> SignalsState {
        SignalsState {
            by_call: self.by_call.clone(),
            seen_names: self.seen_names.clone(),
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
            by_call: state.by_call,
            seen_names: state.seen_names,
            marker_key: state.marker_key,
            retention: state.retention,
            now: state.now,
            next_prune: state.next_prune,
        })
    }

    /// Looks at one event for recording signals.
    pub fn observe(&mut self, event: &Event) {
        self.observe_time(event.time());
        if !self.may_signal(event) {
            return;
        }
        if let Some(signals) = EventSignals::of(event, self.marker_key.as_deref()) {
            self.take(&event.site, event.time(), &signals);
        }
    }

    /// False when [`Signals::take`] would keep nothing of the event: no file name it has not
    /// seen, no marker, no request that signals. User data repeats on every event of a call,
    /// so most events are passed here without taking their signals apart (no allocation).
    fn may_signal(&self, event: &Event) -> bool {
        if matches!(event.message, Message::RequestRouteCall | Message::RequestPrivateService) {
            return true;
        }
        let Some(user_data) = &event.user_data else { return false };
        let seen = self.seen_names.get(&event.site);
        let new_name = user_data.iter().filter(|pair| pair.key == "GSIP_REC_FN").any(|pair| {
            pair.value
                .as_text()
                .is_some_and(|value| !value.is_empty() && !seen.is_some_and(|names| names.contains(&*value)))
        });
        let marked = self.marker_key.as_deref().is_some_and(|key| user_data.get_ignore_case(key).is_some());
        new_name || marked
    }

    /// Event time moved on to `time` (an event's, when it has one): what is over is pruned.
    /// The first half of [`Signals::observe`], for signals taken apart from their events.
    pub fn observe_time(&mut self, time: Option<Timestamp>) {
        if let Some(time) = time {
            self.now = self.now.max(time.0);
            if self.now >= self.next_prune {
                self.prune(Timestamp(self.now));
            }
        }
    }

    /// Takes the signals of an event of `site` at `time` ([`EventSignals::of`] it, with this
    /// deployment's marker key). The second half of [`Signals::observe`], after
    /// [`Signals::observe_time`].
    pub fn take(&mut self, site: &Text, time: Option<Timestamp>, signals: &EventSignals) {
        let Some(key) = signals.key() else { return };
        let call_uuid = signals.call_uuid.as_deref();
        for value in &signals.file_names {
            if self.seen_names.get(site).is_some_and(|names| names.contains(value)) {
                continue;
            }
            self.seen_names.entry(site.clone()).or_default().insert(value.clone());
            let kind = TriggerKind::FileName { value: value.clone() };
            let trigger = trigger(site, time, signals, signals.this_dn.clone(), kind);
            // The name and its trigger on the call, found once.
            let call = self.call_mut(site, key.clone());
            call.names.push(value.clone());
            call.triggers.push(trigger);
        }
        if let (true, Some(uuid)) = (signals.marked, call_uuid) {
            self.call_mut(site, uuid.to_string()).marked = true;
        }
        if let Some(value) = &signals.route_record {
            let kind = TriggerKind::RouteRecord { value: value.clone() };
            self.push(site, time, signals, key.clone(), signals.other_dn.clone(), kind);
        }
        if let Some(record) = &signals.private_start {
            let dn = if record == "source" { signals.this_dn.clone() } else { None };
            self.push(site, time, signals, key, dn, TriggerKind::PrivateStart { record: record.clone() });
        }
    }

    /// A call's entry, created if new; a signal for a call whose interaction was forgotten
    /// revives it (it is kept by age again until it is forgotten again).
    fn call_mut(&mut self, site: &Text, key: String) -> &mut CallSignals {
        let now = self.now;
        let call = Arc::make_mut(self.by_call.entry(site.clone()).or_default().entry(key).or_default());
        call.last_seen = now;
        call.keep_until = None;
        call
    }

    fn push(
        &mut self,
        site: &Text,
        time: Option<Timestamp>,
        signals: &EventSignals,
        key: String,
        dn: Option<Text>,
        kind: TriggerKind,
    ) {
        let trigger = trigger(site, time, signals, dn, kind);
        self.call_mut(site, key).triggers.push(trigger);
    }

    /// The triggers of a call on `site`, found by its CallUUID (or key) and its ConnIDs.
    pub fn for_call(&self, site: &str, key: &str, conn_ids: &[String]) -> Vec<&Trigger> {
        let Some(calls) = self.by_call.get(site) else { return Vec::new() };
        let triggers = |key: &str| calls.get(key).into_iter().flat_map(|call| call.triggers.iter());
        let mut found: Vec<&Trigger> = triggers(key).collect();
        let mut conn_key = String::new();
        for conn in conn_ids {
            found.extend(triggers(conn_key_into(&mut conn_key, conn)));
        }
        found
    }

    /// True when the call carried the deployment's "being recorded" marker key.
    pub fn marked(&self, site: &str, key: &str) -> bool {
        self.by_call.get(site).and_then(|calls| calls.get(key)).is_some_and(|call| call.marked)
    }
}

/// `conn:<ConnID>` (the key of a call without a CallUUID), written into `buffer`.
fn conn_key_into<'a>(buffer: &'a mut String, conn: &str) -> &'a str {
    buffer.clear();
    buffer.push_str("conn:");
    buffer.push_str(conn);
    buffer
}

/// The recording signals one event carries, taken from it whole: what [`Signals::observe`]
/// keeps of an event, owned and serializable, so that signals can be read where the event is
/// (a site's worker) and kept where interactions are built (issue 14). Which file names are
/// new is decided when they are taken ([`Signals::take`]): every `GSIP_REC_FN` value of the
/// event is here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSignals {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conn_id: Option<ConnId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub this_dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_dn: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The event's message name.
    pub message: String,
    /// `GSIP_REC_FN` values of its user data (not empty), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_names: Vec<String>,
    /// Its user data carried the deployment's marker key (and it has a CallUUID).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub marked: bool,
    /// RequestRouteCall with extension `record` (`destination` or `source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_record: Option<String>,
    /// RequestPrivateService `GSIP_RECORD_START`: its `record` extension (`source` when none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_start: Option<String>,
}

impl EventSignals {
    /// The signals of `event`, with the deployment's marker key; `None` when it carries none
    /// or names no call (neither CallUUID nor ConnID).
    pub fn of(event: &Event, marker_key: Option<&str>) -> Option<EventSignals> {
        let call_uuid = event.call_uuid.as_ref().map(|uuid| uuid.as_str());
        if call_uuid.is_none() && event.conn_id.is_none() {
            return None;
        }
        let mut signals = EventSignals::default();
        if let Some(user_data) = &event.user_data {
            // Every pair: a call recorded on two sides carries two names under the same key.
            let names = user_data.iter().filter(|pair| pair.key == "GSIP_REC_FN");
            for value in names.filter_map(|pair| pair.value.as_text()) {
                if !value.is_empty() {
                    signals.file_names.push(value.to_string());
                }
            }
            if let (Some(key), Some(_)) = (marker_key, call_uuid) {
                signals.marked = user_data.get_ignore_case(key).is_some();
            }
        }
        match event.message {
            Message::RequestRouteCall => {
                let record = event
                    .extensions
                    .as_ref()
                    .and_then(|ext| ext.get_ignore_case("record"))
                    .and_then(|value| value.as_text().map(|text| text.to_string()));
                signals.route_record = record.filter(|value| value == "destination" || value == "source");
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
                    signals.private_start = Some(record);
                }
            }
            _ => {}
        }
        if signals.file_names.is_empty()
            && !signals.marked
            && signals.route_record.is_none()
            && signals.private_start.is_none()
        {
            return None;
        }
        signals.call_uuid = call_uuid.map(str::to_string);
        signals.conn_id = event.conn_id;
        signals.this_dn = event.this_dn.clone();
        signals.other_dn = event.other_dn.clone();
        signals.seq = event.seq;
        signals.message = event.message.name().to_string();
        Some(signals)
    }

    /// The key the call's signals are kept under: its CallUUID, else `conn:<ConnID>`.
    fn key(&self) -> Option<String> {
        match (&self.call_uuid, self.conn_id) {
            (Some(uuid), _) => Some(uuid.clone()),
            (None, Some(conn)) => Some(format!("conn:{conn}")),
            (None, None) => None,
        }
    }
}

/// The trigger an event's signals make on `site`.
fn trigger(
    site: &Text,
    time: Option<Timestamp>,
    signals: &EventSignals,
    dn: Option<Text>,
    kind: TriggerKind,
) -> Trigger {
    Trigger {
        site: site.clone(),
        call_uuid: signals.call_uuid.clone(),
        conn_id: signals.conn_id.map(|conn| conn.to_string()),
        dn,
        time,
        seq: signals.seq,
        message: signals.message.clone(),
        kind,
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
