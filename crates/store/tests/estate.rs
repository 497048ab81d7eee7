//! The workers' side of the PostgreSQL store ([`EstateDb`], docs/scale.md): a site is owned
//! by one connection at a time and freed with it; a step of a site is one transaction, fenced
//! by the news position its writer last saw; raw events are numbered in commit order. On a
//! fresh database of the test server (skipped without one unless
//! `CALLSTITCH_REQUIRE_POSTGRES=1`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use callstitch_pipeline::split::SiteItem;
use callstitch_store::postgres::scratch::{self, Scratch};
use callstitch_store::{
    decode_news, encode_news, EstateDb, EventRecord, PostgresOptions, PostgresStore, SiteCommit, StoreError,
};
use callstitch_tlib::{Event, Message};

async fn database(label: &str) -> Option<Scratch> {
    if !scratch::available_for_tests().await {
        return None;
    }
    Some(Scratch::new(label).await.expect("scratch database"))
}

fn event(site: &str, n: u32) -> EventRecord {
    let mut event = Event::new(Message::EventRinging, site);
    event.seq = Some(u64::from(n));
    EventRecord::new(0, &event, Some(1))
}

fn step(site: &str, after_news: i64, events: u32, worker: &str) -> SiteCommit {
    let items = vec![SiteItem::Moved { time: 5, wall: 6, calls: Vec::new(), clock: Some(5) }];
    SiteCommit {
        site: site.to_string(),
        after_news,
        events: (0..events).map(|n| event(site, n)).collect(),
        news: encode_news(&items).expect("encoded"),
        news_items: 1,
        first_seq: 1,
        last_seq: u64::from(events),
        stream_seq: u64::from(events),
        engine: vec![1, 2, 3],
        worker: worker.to_string(),
        written_us: 7,
        ..SiteCommit::default()
    }
}

#[tokio::test]
async fn a_site_is_owned_by_one_connection_at_a_time_and_freed_with_it() {
    let Some(database) = database("estateown").await else { return };
    let first = EstateDb::connect(&database.url(), "callstitch-worker/a").await.expect("connects");
    let second = EstateDb::connect(&database.url(), "callstitch-worker/b").await.expect("connects");
    assert!(first.claim("TS1").await.unwrap());
    assert!(!second.claim("TS1").await.unwrap(), "owned by the first");
    assert!(second.claim("SIP1").await.unwrap(), "another site is free");
    assert_eq!(second.workers("callstitch-worker/").await.unwrap(), 2);
    drop(first);
    let start = Instant::now();
    while !second.claim("TS1").await.unwrap() {
        assert!(start.elapsed() < Duration::from_secs(10), "the site was never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_step_of_a_writer_that_did_not_see_the_last_one_is_refused_whole() {
    let Some(database) = database("estatefence").await else { return };
    let mut first = EstateDb::connect(&database.url(), "callstitch-worker/a").await.expect("connects");
    let mut second = EstateDb::connect(&database.url(), "callstitch-worker/b").await.expect("connects");
    assert_eq!(first.commit(&mut step("TS1", 0, 3, "a")).await.unwrap(), 1);
    let refused = second.commit(&mut step("TS1", 0, 5, "b")).await;
    assert!(matches!(refused, Err(StoreError::Fenced { expected: 0, found: 1, .. })), "{refused:?}");
    let state = first.site_state("TS1").await.unwrap();
    assert_eq!((state.stream_seq, state.news_pos, state.engine.as_deref()), (3, 1, Some(&[1_u8, 2, 3][..])));
    let store = PostgresStore::open(PostgresOptions::new(database.url())).await.expect("opens");
    let counts = callstitch_store::Store::counts(&store).await.unwrap();
    assert_eq!(counts.events, 3, "nothing of the refused step is stored");
    assert_eq!(second.commit(&mut step("TS1", 1, 2, "b")).await.unwrap(), 2, "a writer that saw it goes on");
}

#[tokio::test]
async fn events_are_numbered_in_commit_order_and_news_reads_back_after_a_position() {
    let Some(database) = database("estateorder").await else { return };
    let mut first = EstateDb::connect(&database.url(), "callstitch-worker/a").await.expect("connects");
    let mut second = EstateDb::connect(&database.url(), "callstitch-worker/b").await.expect("connects");
    let mut a = step("TS1", 0, 4, "a");
    first.commit(&mut a).await.unwrap();
    let mut b = step("SIP1", 0, 2, "b");
    second.commit(&mut b).await.unwrap();
    let mut c = step("TS1", 1, 3, "a");
    first.commit(&mut c).await.unwrap();
    let seqs: Vec<u64> =
        [&a, &b, &c].iter().flat_map(|step| step.events.iter().map(|event| event.seq)).collect();
    assert_eq!(seqs, (1..=9).collect::<Vec<u64>>());

    let store = PostgresStore::open(PostgresOptions::new(database.url())).await.expect("opens");
    let sites = store.estate_sites().await.unwrap();
    assert_eq!(sites["TS1"].news_pos, 2);
    assert_eq!(sites["SIP1"].stream_seq, 2);
    let after = BTreeMap::from([("TS1".to_string(), 1)]);
    let rows = store.estate_news(&sites, &after, 10).await.unwrap();
    let found: Vec<(&str, i64)> = rows.iter().map(|row| (row.site.as_str(), row.pos)).collect();
    assert_eq!(found, [("SIP1", 1), ("TS1", 2)]);
    assert_eq!(decode_news(&rows[0].data).unwrap().len(), 1);
    store.forget_news(&BTreeMap::from([("TS1".to_string(), 2)])).await.unwrap();
    let rows = store.estate_news(&sites, &BTreeMap::new(), 10).await.unwrap();
    assert_eq!(
        rows.iter().map(|row| row.site.as_str()).collect::<Vec<_>>(),
        ["SIP1"],
        "TS1's rows are forgotten"
    );
}

/// A site backfilled from its log files says so from when it is taken until a step says its
/// files are read to their end: the linker holds the estate for it meanwhile.
#[tokio::test]
async fn a_site_read_from_its_logs_is_reading_until_a_step_says_they_are_read() {
    let Some(database) = database("estatereading").await else { return };
    let mut worker = EstateDb::connect(&database.url(), "callstitch-worker/a").await.expect("connects");
    let store = PostgresStore::open(PostgresOptions::new(database.url())).await.expect("opens");
    assert!(worker.claim("TS1").await.unwrap());
    worker.reading("TS1").await.unwrap();
    assert!(store.estate_sites().await.unwrap()["TS1"].reading, "taken: reading");
    let mut first = SiteCommit { reading: true, ..step("TS1", 0, 3, "a") };
    worker.commit(&mut first).await.unwrap();
    let sites = store.estate_sites().await.unwrap();
    assert!(sites["TS1"].reading, "a step part-way through the files: {:?}", sites["TS1"]);
    let mut last = SiteCommit { reading: false, ..step("TS1", 1, 2, "a") };
    worker.commit(&mut last).await.unwrap();
    assert!(!store.estate_sites().await.unwrap()["TS1"].reading, "the files read to their end");
    worker.reading("TS1").await.unwrap();
    let sites = store.estate_sites().await.unwrap();
    assert!(sites["TS1"].reading, "taken again");
    assert_eq!((sites["TS1"].news_pos, sites["TS1"].stream_seq), (2, 2), "the position is kept");

    // A backfill's sites that nobody has written yet hold the linker before they are taken;
    // one already written is left as it is.
    let mut done = SiteCommit { reading: false, ..step("TS1", 2, 1, "a") };
    worker.commit(&mut done).await.unwrap();
    worker.expect_reading(&["TS1".to_string(), "SIP1".to_string()]).await.unwrap();
    let sites = store.estate_sites().await.unwrap();
    assert!(!sites["TS1"].reading, "written, and read to its end: {:?}", sites["TS1"]);
    assert!(sites["SIP1"].reading, "not taken yet: {:?}", sites["SIP1"]);
    assert_eq!((sites["SIP1"].news_pos, sites["SIP1"].stream_seq), (0, 0));
}

/// Workers and the linker started together on a fresh database each make its schema: they
/// do it one after the other, and every one of them opens it (a worker and the linker
/// started at once once failed on `CREATE TABLE IF NOT EXISTS`, a duplicate catalog key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_opening_a_fresh_database_at_once_all_open_it() {
    for round in 0..3 {
        let Some(database) = database(&format!("estatefresh{round}")).await else { return };
        let tasks: Vec<_> = (0..6)
            .map(|index| {
                let url = database.url();
                tokio::spawn(async move {
                    EstateDb::connect(&url, &format!("callstitch-worker/fresh{index}")).await.err()
                })
            })
            .collect();
        let mut refused = Vec::new();
        for task in tasks {
            if let Some(error) = task.await.expect("the task ends") {
                refused.push(error.to_string());
            }
        }
        assert!(refused.is_empty(), "round {round}: {refused:?}");
    }
}
