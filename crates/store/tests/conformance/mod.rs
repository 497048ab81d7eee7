//! The store's conformance suite, which every backend passes: what the pipeline writes for
//! the seed's two-site call comes back through every filter, pages cover everything once,
//! replaced ids keep answering, recovery returns what was committed, retention deletes whole
//! interactions.
//!
//! Each test is generic over a [`Backend`]; [`conformance_suite!`] instantiates every one of
//! them as a `#[tokio::test]` for a backend (tests/backends.rs).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use std::path::{Path, PathBuf};

use callstitch_link::{stitch, Interaction, SiteDirectory};
use callstitch_recording::{recording_metadata, Recorder, RecorderConfig, Recording, Signals};
use callstitch_store::{Batch, EventRecord, InteractionQuery, InteractionRecord, Snapshot, Store};
use callstitch_tlib::tlog::{LogReader, ReaderOptions};
use callstitch_tlib::Event;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/seed-islink").join(name)
}

fn seed_events() -> Vec<Event> {
    let mut events = Vec::new();
    for name in ["SIPServer1.log", "Tserver2.log"] {
        let reader = LogReader::open(&fixture(name), ReaderOptions::default()).expect("fixture opens");
        events.extend(reader.map(|event| event.expect("fixture reads")));
    }
    events.sort_by_key(|event| event.time().map(|time| time.0));
    events
}

/// The seed's interactions, each with its recording as the pipeline builds it.
fn seed_interactions(events: &[Event]) -> Vec<(Interaction, Recording)> {
    let interactions = stitch(events, SiteDirectory::new(["SIPServer1", "Tserver2"]));
    let mut signals = Signals::new(None);
    events.iter().for_each(|event| signals.observe(event));
    let mut recorder = Recorder::new(RecorderConfig::default(), None);
    interactions
        .into_iter()
        .map(|interaction| {
            let recording = recorder.recording(&interaction, &signals);
            (interaction, recording)
        })
        .collect()
}

fn seed_records(events: &[Event]) -> Vec<InteractionRecord> {
    seed_interactions(events)
        .iter()
        .map(|(interaction, recording)| InteractionRecord::new(interaction, recording))
        .collect()
}

/// The seed's recording metadata as the pipeline built it on ingest before it was rendered
/// on read.
fn seed_recordings(events: &[Event]) -> Vec<serde_json::Value> {
    seed_interactions(events)
        .iter()
        .map(|(interaction, recording)| {
            recording_metadata(recording, interaction).to_value().expect("encodes")
        })
        .collect()
}

/// A store under test: how to make an empty one, and open it again.
pub trait Backend {
    type Store: Store;
    /// Where one test's store keeps its data while the test runs (a temporary directory, a
    /// database of a server), empty; dropped at the end of the test.
    type Place;

    /// Whether the backend can be tested here (a server it needs is reachable); a test
    /// that cannot is skipped, saying so.
    fn available() -> impl std::future::Future<Output = bool> {
        async { true }
    }

    fn place() -> impl std::future::Future<Output = Self::Place>;

    /// The store at `place`: a fresh one, or what an earlier one committed there (a restart).
    fn open(place: &Self::Place) -> impl std::future::Future<Output = Self::Store>;
}

/// Every test of the suite, each a `#[tokio::test]` on `$backend`: the one line a backend's
/// test file adds (with its [`Backend`]).
macro_rules! conformance_suite {
    ($backend:ty) => {
        conformance_suite!(
            $backend;
            every_filter_finds_the_seed_interaction_and_a_wrong_value_finds_nothing,
            documents_and_calls_come_back_as_written,
            pages_cover_every_interaction_once_newest_first,
            a_replaced_id_answers_with_the_interaction_that_replaced_it,
            an_interaction_holding_a_call_of_another_stored_one_replaces_it_without_being_told,
            recovery_returns_the_last_committed_checkpoint,
            retention_deletes_whole_interactions_and_covered_events_only,
            an_islink_that_never_paired_is_found_by_its_id,
            an_interaction_is_found_by_the_call_uuid_or_recording_id_of_its_calls,
            the_counts_of_a_filter_are_what_its_rows_add_up_to,
            the_sites_of_the_stored_calls_are_listed_once_each,
            a_store_closed_at_exit_reopens_with_everything_committed,
        );
    };
    ($backend:ty; $($test:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $test() {
                if !<$backend as $crate::conformance::Backend>::available().await {
                    return;
                }
                $crate::conformance::$test::<$backend>().await
            }
        )+
    };
}

fn ids(page: &callstitch_store::Page) -> Vec<String> {
    page.items.iter().map(|item| item.interaction_id.clone()).collect()
}

async fn seeded<B: Backend>() -> (B::Place, B::Store, Vec<InteractionRecord>) {
    let dir = B::place().await;
    let store = B::open(&dir).await;
    let events = seed_events();
    let mut records = seed_records(&events);
    // The seed's blocks carry no party events: give the interaction a customer to find by DN.
    records[0].parties.push(callstitch_store::record::PartyRow {
        segment: 0,
        dn: "+14155550123".into(),
        kind: "external".into(),
        role: None,
        final_state: "released".into(),
        released_by: "self".into(),
        released_by_dn: None,
        provenance: "ctrl-party.call".into(),
        ..Default::default()
    });
    let batch = Batch {
        events: events
            .iter()
            .enumerate()
            .map(|(index, event)| EventRecord::new(index as u64 + 1, event, None))
            .collect(),
        interactions: records.clone(),
        positions: Some("[\"p\"]".to_string()),
        ..Batch::default()
    };
    store.commit(batch.into()).await.expect("commit");
    (dir, store, records)
}

fn query() -> InteractionQuery {
    InteractionQuery { limit: 50, ..InteractionQuery::default() }
}

pub async fn every_filter_finds_the_seed_interaction_and_a_wrong_value_finds_nothing<B: Backend>() {
    let (_dir, store, records) = seeded::<B>().await;
    assert_eq!(records.len(), 1, "the seed is one interaction across two sites");
    let record = &records[0];
    let first_uuid = record.segments[0].call_uuid.clone();
    let islink = record.links.iter().find_map(|link| link.islink.clone());
    assert!(first_uuid.is_some() && islink.is_some(), "seed has CallUUIDs and an IS-Link");
    let party = record.parties[0].dn.clone();
    let conn = record.conn_ids[0].clone();
    let cases: Vec<(&str, InteractionQuery, InteractionQuery)> = vec![
        (
            "call_uuid",
            InteractionQuery { call_uuid: first_uuid.clone(), ..query() },
            InteractionQuery { call_uuid: Some("nope".into()), ..query() },
        ),
        (
            "islink",
            InteractionQuery { islink: islink.clone(), ..query() },
            InteractionQuery { islink: Some("nope".into()), ..query() },
        ),
        (
            "site",
            InteractionQuery { site: Some("Tserver2".into()), ..query() },
            InteractionQuery { site: Some("TS9".into()), ..query() },
        ),
        (
            "conn_id",
            InteractionQuery { conn_id: Some(conn.clone()), ..query() },
            InteractionQuery { conn_id: Some("0000000000000001".into()), ..query() },
        ),
        (
            "dn",
            InteractionQuery { dn: Some(party.clone()), ..query() },
            InteractionQuery { dn: Some("no-such-dn".into()), ..query() },
        ),
        (
            "outcome",
            InteractionQuery { outcome: Some(record.outcome.clone()), ..query() },
            InteractionQuery { outcome: Some("no-outcome".into()), ..query() },
        ),
        (
            "released_by",
            InteractionQuery { released_by: Some(record.released_by.clone()), ..query() },
            InteractionQuery { released_by: Some("martian".into()), ..query() },
        ),
        (
            "time range",
            InteractionQuery { from_us: Some(record.start_us), to_us: Some(record.start_us + 1), ..query() },
            InteractionQuery { from_us: Some(record.start_us + 1), ..query() },
        ),
        (
            "has_findings",
            InteractionQuery { has_findings: Some(!record.findings.is_empty()), ..query() },
            InteractionQuery { has_findings: Some(record.findings.is_empty()), ..query() },
        ),
    ];
    for (name, hit, miss) in cases {
        let found = store.interactions(hit).await.expect("query");
        assert_eq!(ids(&found), vec![record.id.clone()], "{name} finds it");
        let none = store.interactions(miss).await.expect("query");
        assert!(none.items.is_empty(), "{name} with another value finds nothing");
    }
}

pub async fn documents_and_calls_come_back_as_written<B: Backend>() {
    let (_dir, store, records) = seeded::<B>().await;
    let record = &records[0];
    let stored = store.interaction(&record.id).await.expect("read").expect("present");
    assert_eq!(
        stored.doc.to_value().expect("JSON"),
        serde_json::from_str::<serde_json::Value>(&record.doc).expect("JSON")
    );
    assert_eq!(
        stored.doc.recording.as_ref().map(|recording| recording.recording_id.as_str()),
        Some(record.recording_id.as_str())
    );
    let recording = seed_recordings(&seed_events()).remove(0);
    assert_eq!(store.recording(&record.recording_id).await.expect("read"), Some(recording.clone()));
    let uuid = record.segments[0].call_uuid.clone().unwrap_or_default();
    assert_eq!(store.recording(&uuid).await.expect("read"), Some(recording), "by any CallUUID");
    let site = record.segments[0].site.clone();
    let events = store.call_events(&site, &uuid, 100).await.expect("events");
    assert!(!events.is_empty(), "the call's raw events are stored");
    for event in &events {
        let parsed = callstitch_tlib::json::event_from_json(&event.doc).expect("stored event reads back");
        assert_eq!(parsed.call_uuid.as_ref().map(|u| u.as_str()), Some(uuid.as_str()));
        assert_eq!(parsed.site.as_str(), site);
    }
    assert!(store.interaction("0000").await.expect("read").is_none());
}

pub async fn pages_cover_every_interaction_once_newest_first<B: Backend>() {
    let (_dir, store, records) = seeded::<B>().await;
    let template = records[0].clone();
    let mut batch = Batch::default();
    for index in 0..23 {
        let mut record = template.clone();
        record.id = format!("{index:016x}");
        // Some share a start time: the id breaks the tie.
        record.start_us = 1_000_000 * (index / 3);
        // Calls of their own (a call belongs to one interaction).
        for segment in &mut record.segments {
            segment.key = format!("{}-{index}", segment.key);
        }
        batch.interactions.push(record);
    }
    store.commit(batch.into()).await.expect("commit");
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .interactions(InteractionQuery {
                limit: 5,
                cursor: cursor.clone(),
                ..InteractionQuery::default()
            })
            .await
            .expect("page");
        assert!(page.items.len() <= 5);
        seen.extend(ids(&page));
        match page.next_cursor {
            Some(next) => cursor = Some(callstitch_store::Cursor::decode(&next).expect("cursor")),
            None => break,
        }
    }
    assert_eq!(seen.len(), 24, "23 synthetic and the seed's");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 24, "no interaction twice");
    assert_eq!(seen[0], template.id, "the seed (2012) is the newest");
    assert_eq!(seen[1], "0000000000000016", "then the latest synthetic start, highest id first");
}

pub async fn a_replaced_id_answers_with_the_interaction_that_replaced_it<B: Backend>() {
    let (_dir, store, records) = seeded::<B>().await;
    let mut revised = records[0].clone();
    let old_id = revised.id.clone();
    revised.id = "beef".to_string();
    revised.revision = 1;
    revised.replaces = vec![old_id.clone()];
    store
        .commit(Batch { interactions: vec![revised.clone()], ..Batch::default() }.into())
        .await
        .expect("commit");
    let stored = store.interaction(&old_id).await.expect("read").expect("old id answers");
    assert_eq!(stored.id, "beef");
    assert_eq!(stored.asked_as.as_deref(), Some(old_id.as_str()));
    let all = store.interactions(query()).await.expect("list");
    assert_eq!(ids(&all), vec!["beef".to_string()], "the replaced row is gone");
}

/// Regression: a replay after a crash can write an interaction under its final id without the
/// ids a first run wrote it under (they were written after the snapshot it restored); the row
/// written under an earlier id stayed as a second interaction holding the same calls. A call
/// belongs to one interaction: the new row replaces any other that holds one of its calls.
pub async fn an_interaction_holding_a_call_of_another_stored_one_replaces_it_without_being_told<
    B: Backend,
>() {
    let (_dir, store, records) = seeded::<B>().await;
    let mut rewritten = records[0].clone();
    let earlier = rewritten.id.clone();
    rewritten.id = "cafe".to_string();
    assert!(rewritten.replaces.is_empty());
    store.commit(Batch { interactions: vec![rewritten], ..Batch::default() }.into()).await.expect("commit");
    let all = store.interactions(query()).await.expect("list");
    assert_eq!(ids(&all), vec!["cafe".to_string()], "one interaction holds the calls");
    let stored = store.interaction(&earlier).await.expect("read").expect("the earlier id answers");
    assert_eq!((stored.id.as_str(), stored.asked_as.as_deref()), ("cafe", Some(earlier.as_str())));
}

pub async fn recovery_returns_the_last_committed_checkpoint<B: Backend>() {
    let (dir, store, _) = seeded::<B>().await;
    let snapshot = Snapshot { seq: 3, state: vec![1, 2, 3], media_posts: 0 };
    store
        .commit(Batch { snapshot: Some(snapshot.clone()), ..Batch::default() }.into())
        .await
        .expect("commit");
    drop(store);
    let reopened = B::open(&dir).await;
    let recovery = reopened.recover().await.expect("recover");
    assert_eq!(recovery.snapshot, Some(snapshot));
    assert_eq!(recovery.positions.as_deref(), Some("[\"p\"]"));
    let stored = reopened.events_after(0, usize::MAX >> 1).await.expect("events");
    assert_eq!(recovery.next_seq, stored.len() as u64 + 1);
    let after = reopened.events_after(1, 2).await.expect("events");
    assert_eq!(after.iter().map(|event| event.seq).collect::<Vec<_>>(), vec![2, 3]);
}

pub async fn retention_deletes_whole_interactions_and_covered_events_only<B: Backend>() {
    let (_dir, store, records) = seeded::<B>().await;
    let total = store.counts().await.expect("counts").events;
    // Nothing is older than 2000.
    let kept = store.prune(946_684_800_000_000).await.expect("prune");
    assert_eq!(kept, callstitch_store::Pruned::default());
    // Everything is older than 2030, but no snapshot covers the events yet: they stay.
    let pruned = store.prune(1_893_456_000_000_000).await.expect("prune");
    assert_eq!(pruned.interactions, 1);
    assert_eq!(pruned.events, 0, "events after the last snapshot are needed by a restart");
    assert!(store.interaction(&records[0].id).await.expect("read").is_none());
    store
        .commit(
            Batch {
                snapshot: Some(Snapshot { seq: total, state: vec![], media_posts: 0 }),
                ..Batch::default()
            }
            .into(),
        )
        .await
        .expect("commit");
    let pruned = store.prune(1_893_456_000_000_000).await.expect("prune");
    assert_eq!(pruned.events, total);
    assert_eq!(store.recover().await.expect("recover").next_seq, total + 1, "numbers are never reused");
}

/// Item 6 of issue 16: an Inter-Site Link id whose other end never came could not be
/// searched (only paired links were indexed). Here the seed's SIPServer1 log alone: its
/// links wait for Tserver2's ends forever; and a finished call's link to a site no log
/// covers.
pub async fn an_islink_that_never_paired_is_found_by_its_id<B: Backend>() {
    let dir = B::place().await;
    let store = B::open(&dir).await;
    let events: Vec<Event> =
        seed_events().into_iter().filter(|event| event.site.as_str() == "SIPServer1").collect();
    let mut records = seed_records(&events);
    assert_eq!(records.len(), 1);
    let lone = records[0].unpaired_links.clone();
    assert!(!lone.is_empty() && records[0].links.is_empty(), "one site's ends only: {lone:?}");
    // A link the calls took part in that the interaction does not list (one to a site off
    // the estate), known from its finished call.
    let segment = records[0].segments[0].clone();
    let call = callstitch_store::CallRecord {
        site: segment.site.clone(),
        key: segment.key.clone(),
        call_uuid: segment.call_uuid.clone(),
        conn_ids: Vec::new(),
        first_us: None,
        last_us: None,
        model: "basic".into(),
        outcome: "answered".into(),
        conformant: true,
        released_by: "customer".into(),
        released_by_dn: None,
        islinks: vec!["00OFFESTATE00000000000000000001".into()],
        report: "{}".into(),
    };
    records[0].unpaired_links.truncate(1);
    store
        .commit(Batch { calls: vec![call], interactions: records.clone(), ..Batch::default() }.into())
        .await
        .expect("commit");
    let id = records[0].id.clone();
    for link in [lone[0].as_str(), "00OFFESTATE00000000000000000001"] {
        let by_islink = store.interactions(InteractionQuery { islink: Some(link.into()), ..query() }).await;
        assert_eq!(ids(&by_islink.expect("query")), vec![id.clone()], "islink={link}");
        let by_any = store.interactions(InteractionQuery { any_id: Some(link.into()), ..query() }).await;
        assert_eq!(ids(&by_any.expect("query")), vec![id.clone()], "any id {link}");
    }
    let none = store.interactions(InteractionQuery { islink: Some("00NOSUCHLINK".into()), ..query() }).await;
    assert!(none.expect("query").items.is_empty());
    // Once the calls are pruned, their link ends go with them.
    store.prune(i64::MAX).await.expect("prune");
    let gone = store
        .interactions(InteractionQuery { islink: Some("00OFFESTATE00000000000000000001".into()), ..query() })
        .await;
    assert!(gone.expect("query").items.is_empty());
}

/// Item 6 of issue 16: `/v1/interactions/{id}` refused a CallUUID that `/v1/recordings/{id}`
/// took. The store finds the interaction by any CallUUID of its calls and by its recording
/// id, as it finds the recording.
pub async fn an_interaction_is_found_by_the_call_uuid_or_recording_id_of_its_calls<B: Backend>() {
    let (_dir, store, records) = seeded::<B>().await;
    let record = &records[0];
    let mut asked: Vec<String> =
        record.segments.iter().filter_map(|segment| segment.call_uuid.clone()).collect();
    asked.push(record.recording_id.clone());
    assert!(asked.len() >= 3);
    for id in asked {
        let stored = store.interaction(&id).await.expect("read");
        let stored = stored.unwrap_or_else(|| panic!("{id} finds no interaction"));
        assert_eq!((stored.id.as_str(), stored.asked_as), (record.id.as_str(), None), "{id}");
        assert_eq!(stored.doc.interaction.interaction_id, record.id);
    }
    assert!(store.interaction("00NOSUCHUUID").await.expect("read").is_none());
}

/// The seed's record as `count` interactions of their own, with outcomes, sites, starts and
/// durations that vary.
fn varied(template: &InteractionRecord, count: usize) -> Vec<InteractionRecord> {
    let outcomes = ["answered", "abandoned-in-queue", "transferred"];
    (0..count)
        .map(|index| {
            let mut record = template.clone();
            record.id = format!("{index:016x}");
            record.outcome = outcomes[index % 3].to_string();
            record.start_us = 1_700_000_000_000_000 + 60_000_000 * (index as i64 % 7);
            record.end_us = (index % 5 != 0).then(|| record.start_us + 1_000_000 * index as i64);
            let site = format!("S{}", index % 4);
            for segment in &mut record.segments {
                segment.key = format!("{}-{index}", segment.key);
                segment.call_uuid = Some(segment.key.clone());
            }
            record.segments[0].site = site.clone();
            record.sites = record.segments.iter().map(|segment| segment.site.clone()).collect();
            record
        })
        .collect()
}

/// The counts the database makes of a filter are what its rows add up to.
pub async fn the_counts_of_a_filter_are_what_its_rows_add_up_to<B: Backend>() {
    let (_dir, store, records) = seeded::<B>().await;
    let rows = varied(&records[0], 40);
    store.commit(Batch { interactions: rows, ..Batch::default() }.into()).await.expect("commit");
    let filters = [
        query(),
        InteractionQuery { site: Some("S1".into()), ..query() },
        InteractionQuery { outcome: Some("abandoned-in-queue".into()), ..query() },
        InteractionQuery { site: Some("Tserver2".into()), from_us: Some(1_700_000_120_000_000), ..query() },
        InteractionQuery { site: Some("nowhere".into()), ..query() },
    ];
    for filter in filters {
        let counted = store.tally(filter.clone(), std::time::Duration::from_secs(600)).await.expect("tally");
        let mut added = callstitch_store::Tally::default();
        let mut page_query = InteractionQuery { limit: 7, ..filter.clone() };
        loop {
            let page = store.interactions(page_query.clone()).await.expect("page");
            page.items.iter().for_each(|summary| added.add_summary(summary));
            let Some(next) = page.next_cursor else { break };
            page_query.cursor = Some(callstitch_store::Cursor::decode(&next).expect("cursor"));
        }
        assert_eq!(counted, added, "{filter:?}");
    }
    let all = store.tally(query(), std::time::Duration::from_secs(600)).await.expect("tally");
    assert_eq!(all.interactions, 41);
    assert_eq!(all.by_site["S1"].by_outcome["abandoned-in-queue"], 4, "indexes 1, 13, 25 and 37");
}

pub async fn the_sites_of_the_stored_calls_are_listed_once_each<B: Backend>() {
    let (_dir, store, records) = seeded::<B>().await;
    store
        .commit(Batch { interactions: varied(&records[0], 9), ..Batch::default() }.into())
        .await
        .expect("commit");
    let sites = store.sites().await.expect("sites");
    assert_eq!(sites, ["S0", "S1", "S2", "S3", "SIPServer1", "Tserver2"]);
}

/// `Store::close`, at a clean exit after the last commit, loses nothing: the next start finds
/// every event, the positions and the interactions as committed.
pub async fn a_store_closed_at_exit_reopens_with_everything_committed<B: Backend>() {
    let (dir, store, records) = seeded::<B>().await;
    let events = store.counts().await.expect("counts").events;
    assert!(store.close().await.expect("closed"), "nothing in the way");
    drop(store);
    let reopened = B::open(&dir).await;
    let recovery = reopened.recover().await.expect("recover");
    assert_eq!(recovery.next_seq, events + 1);
    assert_eq!(recovery.positions.as_deref(), Some("[\"p\"]"));
    assert!(reopened.interaction(&records[0].id).await.expect("read").is_some());
}
