//! The service's side of the pipeline: the one composition every command runs
//! ([`callstitch_pipeline::Pipeline`]), configured from the service's settings, and the sink
//! that turns what it hands out into rows for the store. No I/O: the ingest loop decides
//! what is read and when it is stored.

use callstitch_engine::config::SECOND;
use callstitch_engine::{EngineConfig, FinishedCall};
use callstitch_link::{Interaction, LinkerConfig, LiveClock, SiteDirectory};
use callstitch_pipeline::TraceDocument;
use callstitch_recording::Recording;
use callstitch_store::{CallRecord, InteractionRecord};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

pub use callstitch_pipeline::{Pipeline, SnapshotError};

/// What one or more events settled: rows for the store. An interaction handed out several
/// times in one batch (live: each change) is written once, as it stands last, at the place of
/// its last hand-out; a row it replaces goes from the batch (written after it, a replaced row
/// would come back).
#[derive(Debug, Default)]
pub struct Settled {
    pub calls: Vec<CallRecord>,
    /// Hand-outs in order; `None` where a later one took the place.
    interactions: Vec<Option<HandedOut>>,
    /// Interaction id → its place in `interactions`.
    places: HashMap<String, usize>,
}

impl Settled {
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.places.is_empty()
    }

    /// The rows: calls and interactions.
    pub fn into_rows(self) -> (Vec<CallRecord>, Vec<InteractionRecord>) {
        let (calls, interactions) = self.into_parts();
        (calls, interactions.into_iter().map(HandedOut::into_record).collect())
    }

    /// The calls' rows, and the interactions handed out, their rows not built yet.
    pub fn into_parts(self) -> (Vec<CallRecord>, Vec<HandedOut>) {
        (self.calls, self.interactions.into_iter().flatten().collect())
    }
}

/// An interaction as handed out, its row built only when it is written (a live one handed out
/// again before that is not built twice).
#[derive(Debug)]
pub struct HandedOut {
    document: TraceDocument,
    /// Its row is new under its id (this hand-out's or an earlier one's since it was written).
    first: bool,
    /// The ids it replaces, this hand-out's and those of earlier ones not written.
    replaces: Vec<String>,
}

impl HandedOut {
    fn new(interaction: Interaction, recording: Recording) -> HandedOut {
        let first = interaction.first_under_id;
        let replaces = interaction.replaces.clone();
        HandedOut { document: TraceDocument::new(interaction, recording), first, replaces }
    }

    fn id(&self) -> &str {
        &self.document.interaction.interaction_id
    }

    /// Takes `earlier`, a hand-out of the same interaction not written, into this one: its
    /// `first` and the ids it replaced.
    fn merge_earlier(&mut self, earlier: HandedOut) {
        self.first |= earlier.first;
        for id in earlier.replaces {
            if !self.replaces.contains(&id) && id != self.id() {
                self.replaces.push(id);
            }
        }
    }

    /// Its row.
    pub fn into_record(self) -> InteractionRecord {
        let mut record = InteractionRecord::of(&self.document);
        record.first = self.first;
        record.replaces = self.replaces;
        record
    }
}

/// Live interactions handed out and not written yet, in the order they began to wait, each
/// once as it stands last: one handed out again keeps its place (and how long it has waited),
/// one replaced while it waits leaves the queue. A commit takes a few from the front and every
/// one that has waited too long ([`Unwritten::take`]), so a burst is neither written in one
/// long commit at once nor starved behind newer changes.
#[derive(Debug, Default)]
pub struct Unwritten {
    /// In order of their first hand-out since they were last written; `None` where one left.
    waiting: VecDeque<Option<Waiting>>,
    /// Interaction id → its place: `taken` + its index in `waiting`.
    places: HashMap<String, usize>,
    /// Places taken from the front so far.
    taken: usize,
}

#[derive(Debug)]
struct Waiting {
    since: Instant,
    handed_out: HandedOut,
}

impl Unwritten {
    /// How many interactions wait.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The place after the last one waiting now: a later [`Unwritten::written_before`] with
    /// it says whether every one waiting now has been taken since.
    pub fn end(&self) -> usize {
        self.taken + self.waiting.len()
    }

    /// Every interaction that waited before `end` (an earlier [`Unwritten::end`]) was taken
    /// (or left, replaced). One handed out again keeps its place, so it counts as waiting
    /// from before.
    pub fn written_before(&self, end: usize) -> bool {
        self.taken >= end
    }

    /// Queues `handed_out`, handed out at `now`.
    pub fn hand_out(&mut self, handed_out: HandedOut, now: Instant) {
        for id in &handed_out.replaces {
            if id == handed_out.id() {
                continue;
            }
            if let Some(place) = self.places.remove(id) {
                self.waiting[place - self.taken] = None;
            }
        }
        match self.places.get(handed_out.id()) {
            Some(&place) => {
                let slot = &mut self.waiting[place - self.taken];
                if let Some(waiting) = slot {
                    let earlier = std::mem::replace(&mut waiting.handed_out, handed_out);
                    waiting.handed_out.merge_earlier(earlier);
                }
            }
            None => {
                self.places.insert(handed_out.id().to_string(), self.taken + self.waiting.len());
                self.waiting.push_back(Some(Waiting { since: now, handed_out }));
            }
        }
        debug_assert!(self.places.len() <= self.waiting.len());
    }

    /// Takes the first `most` that wait, and after them every one waiting since `waited_from`
    /// or earlier; in order.
    pub fn take(&mut self, most: usize, waited_from: Instant) -> Vec<InteractionRecord> {
        let mut taken = Vec::new();
        while let Some(front) = self.waiting.front() {
            let take = match front {
                None => true,
                Some(waiting) => taken.len() < most || waiting.since <= waited_from,
            };
            if !take {
                break;
            }
            self.taken += 1;
            if let Some(Some(waiting)) = self.waiting.pop_front() {
                self.places.remove(waiting.handed_out.id());
                taken.push(waiting.handed_out.into_record());
            }
        }
        debug_assert!(self.places.values().all(|place| *place >= self.taken));
        taken
    }

    /// Takes every one that waits.
    pub fn take_all(&mut self) -> Vec<InteractionRecord> {
        self.places.clear();
        self.taken += self.waiting.len();
        self.waiting.drain(..).flatten().map(|waiting| waiting.handed_out.into_record()).collect()
    }
}

impl callstitch_pipeline::Sink for Settled {
    fn call(&mut self, call: &FinishedCall) {
        self.calls.push(CallRecord::new(call));
    }

    fn interaction(&mut self, interaction: Interaction, recording: Recording) {
        let mut handed_out = HandedOut::new(interaction, recording);
        if let Some(earlier) =
            self.places.remove(handed_out.id()).and_then(|place| self.interactions[place].take())
        {
            handed_out.merge_earlier(earlier);
        }
        for id in &handed_out.replaces {
            if let Some(place) = self.places.remove(id) {
                self.interactions[place] = None;
            }
        }
        self.places.insert(handed_out.id().to_string(), self.interactions.len());
        self.interactions.push(Some(handed_out));
    }
}

/// How the pipeline is built (the part of the service config it needs).
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub sites: Vec<String>,
    pub link_timeout_s: u32,
    pub linger_s: u32,
    /// A site that sent nothing for this long (wall seconds) stops holding the estate's time
    /// back (docs/serve.md, "Clocks").
    pub site_idle_s: u32,
    pub call_idle_timeout_s: u32,
    pub record_marker: Option<String>,
    /// A live service (interactions written as they change) rather than a one-shot import.
    pub live: bool,
}

impl PipelineConfig {
    /// The pipeline's configuration.
    pub fn build(&self) -> callstitch_pipeline::PipelineConfig {
        let engine = EngineConfig {
            idle_timeout: i64::from(self.call_idle_timeout_s) * SECOND,
            ..EngineConfig::default()
        };
        let linker = LinkerConfig {
            link_timeout: i64::from(self.link_timeout_s) * SECOND,
            linger: i64::from(self.linger_s) * SECOND,
            live: self.live.then(|| LiveClock { idle_after: i64::from(self.site_idle_s) * SECOND }),
            ..LinkerConfig::default()
        };
        callstitch_pipeline::PipelineConfig::new(engine, linker, self.record_marker.clone())
    }

    /// The monitored sites.
    pub fn directory(&self) -> SiteDirectory {
        SiteDirectory::new(self.sites.iter().map(String::as_str))
    }

    /// A fresh pipeline.
    pub fn pipeline(&self) -> Pipeline {
        Pipeline::new(&self.build(), self.directory(), None)
    }

    /// The pipeline of a snapshot.
    pub fn restore(&self, bytes: &[u8]) -> Result<Pipeline, SnapshotError> {
        Pipeline::restore(bytes, &self.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callstitch_pipeline::Sink;
    use std::time::Duration;

    fn handed_out(id: &str, revision: u32, replaces: &[&str], state: &str) -> (Interaction, Recording) {
        let json = serde_json::json!({
            "interaction_id": id, "revision": revision, "replaces": replaces, "state": state,
            "complete": false, "linking": "waiting", "calls": "active", "sites": ["A"],
            "segments": [], "links": [], "outcome": "in-progress",
            "released_by": {"who": "unknown", "provenance": "unknown", "conflict": false},
        });
        let interaction: Interaction = serde_json::from_value(json).expect("an interaction");
        let recording = Recording {
            recording_id: id.to_string(),
            aliases: Vec::new(),
            interaction_id: id.to_string(),
            media_files: Vec::new(),
            findings: Vec::new(),
        };
        (interaction, recording)
    }

    /// Regression: an interaction handed out again in a batch kept the place of its first
    /// hand-out, so a row it replaced, handed out in between, was written after it and came
    /// back as a stale live row (found by the crash test's settle check).
    #[test]
    fn a_replaced_interaction_handed_out_earlier_in_the_batch_is_not_written_after_its_replacement() {
        let mut settled = Settled::default();
        for (id, revision, replaces, state) in [
            ("joined", 3, vec![], "live"),
            ("alone", 1, vec![], "live"),
            ("joined", 4, vec!["alone"], "live"),
        ] {
            let (interaction, recording) = handed_out(id, revision, &replaces, state);
            settled.interaction(interaction, recording);
        }
        let (_, rows) = settled.into_rows();
        assert_eq!(ids(&rows), [("joined", 4)]);
        assert!(!rows[0].first, "revision 3 was not its first hand-out");
        assert_eq!(rows[0].replaces, ["alone"]);
    }

    fn record(id: &str, revision: u32, replaces: &[&str]) -> HandedOut {
        let (interaction, recording) = handed_out(id, revision, replaces, "live");
        HandedOut::new(interaction, recording)
    }

    fn ids(records: &[InteractionRecord]) -> Vec<(&str, u32)> {
        records.iter().map(|record| (record.id.as_str(), record.revision)).collect()
    }

    /// The queue of interactions waiting to be written, taken a few at a time: in the order
    /// they began to wait, each once as it stands last, and a row replaced while it waits
    /// goes from the queue.
    #[test]
    fn interactions_taken_a_few_at_a_time_keep_their_place_and_their_latest_hand_out() {
        let start = Instant::now();
        let mut queue = Unwritten::default();
        for id in ["a", "b", "c", "d"] {
            queue.hand_out(record(id, 1, &[]), start);
        }
        let first = queue.take(2, start - Duration::from_secs(1));
        assert_eq!(ids(&first), [("a", 1), ("b", 1)]);
        assert_eq!(queue.len(), 2);
        queue.hand_out(record("e", 1, &["d"]), start);
        queue.hand_out(record("c", 2, &[]), start);
        queue.hand_out(record("a", 2, &[]), start);
        let rest = queue.take_all();
        assert_eq!(
            ids(&rest),
            [("c", 2), ("e", 1), ("a", 2)],
            "d was replaced while it waited; c kept its place"
        );
        assert!(queue.is_empty());
        assert!(queue.take(5, start).is_empty());
    }

    /// Regression (the adversarial run's SSE phase): 40,000 calls posted at once waited a
    /// hundred a commit, and the interactions after them waited minutes. Those that waited
    /// too long go with the next commit, however many.
    #[test]
    fn interactions_that_waited_too_long_go_with_the_next_commit_however_many() {
        let start = Instant::now();
        let later = start + Duration::from_secs(2);
        let mut queue = Unwritten::default();
        for n in 0..50 {
            queue.hand_out(record(&format!("burst{n}"), 1, &[]), start);
        }
        queue.hand_out(record("burst7", 2, &[]), later);
        queue.hand_out(record("new", 1, &[]), later);
        let taken = queue.take(3, start + Duration::from_secs(1));
        assert_eq!(taken.len(), 50, "every one of the burst, changed since or not, and no more");
        assert_eq!(taken[7].revision, 2);
        assert_eq!(ids(&queue.take(3, start)), [("new", 1)]);
    }

    /// A hand-out whose `first` was set when it began to wait stays first (it creates the row)
    /// and keeps the ids its earlier hand-outs replaced.
    #[test]
    fn an_interaction_handed_out_again_while_it_waits_keeps_first_and_replaces() {
        let start = Instant::now();
        let mut queue = Unwritten::default();
        let mut first = record("x", 1, &["gone"]);
        first.first = true;
        queue.hand_out(first, start);
        queue.hand_out(record("x", 2, &[]), start);
        let taken = queue.take_all();
        assert_eq!((taken[0].revision, taken[0].first), (2, true));
        assert_eq!(taken[0].replaces, ["gone"]);
    }

    proptest::proptest! {
        /// Whatever the hand-outs and takes: each id is written in increasing revisions, the
        /// last written is its last hand-out (unless replaced after it), a replaced id is not
        /// written after the one replacing it, and none waits past the age limit. And a
        /// snapshot's barrier ([`Unwritten::end`] at its capture) is passed exactly when every
        /// interaction waiting then has been written or replaced since.
        #[test]
        fn the_queue_writes_every_interaction_as_it_stands_last(
            steps in proptest::collection::vec((0u8..6, proptest::option::of(0u8..6), 0usize..4, proptest::bool::ANY, proptest::bool::ANY), 1..60),
        ) {
            let start = Instant::now();
            let mut queue = Unwritten::default();
            let mut last_handed: HashMap<String, u32> = HashMap::new();
            let mut written: HashMap<String, u32> = HashMap::new();
            let mut replaced_by: HashMap<String, String> = HashMap::new();
            let limit = 3u64;
            let mut waiting: std::collections::HashSet<String> = std::collections::HashSet::new();
            let mut barrier: Option<(usize, std::collections::HashSet<String>)> = None;
            for (tick, (id, replaces, most, take, capture)) in steps.into_iter().enumerate() {
                let now = start + Duration::from_secs(tick as u64);
                let id = format!("i{id}");
                let replaces: Vec<String> = replaces.map(|r| format!("i{r}")).into_iter().filter(|r| *r != id).collect();
                let revision = tick as u32 + 1;
                let replaced: Vec<&str> = replaces.iter().map(String::as_str).collect();
                queue.hand_out(record(&id, revision, &replaced), now);
                last_handed.insert(id.clone(), revision);
                replaced_by.remove(&id);
                waiting.insert(id.clone());
                for old in &replaces {
                    last_handed.remove(old);
                    replaced_by.insert(old.clone(), id.clone());
                    waiting.remove(old);
                    if let Some((_, before)) = &mut barrier {
                        before.remove(old);
                    }
                }
                if capture {
                    barrier = Some((queue.end(), waiting.clone()));
                }
                if take {
                    let deadline = now.checked_sub(Duration::from_secs(limit)).unwrap_or(start);
                    for record in queue.take(most, deadline) {
                        proptest::prop_assert!(written.get(&record.id).is_none_or(|before| *before < record.revision));
                        proptest::prop_assert!(!replaced_by.contains_key(&record.id), "{} written after it was replaced", record.id);
                        written.insert(record.id.clone(), record.revision);
                        waiting.remove(&record.id);
                        if let Some((_, before)) = &mut barrier {
                            before.remove(&record.id);
                        }
                    }
                    proptest::prop_assert!(queue.waiting.iter().flatten().all(|waiting| waiting.since > deadline));
                    if let Some((end, before)) = &barrier {
                        proptest::prop_assert_eq!(queue.written_before(*end), before.is_empty(), "still waiting from before: {:?}", before);
                    }
                }
            }
            for record in queue.take_all() {
                written.insert(record.id.clone(), record.revision);
            }
            for (id, revision) in &last_handed {
                proptest::prop_assert_eq!(written.get(id), Some(revision));
            }
        }
    }
}
