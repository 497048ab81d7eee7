//! The store against what the real pipeline makes of a simulated estate: every API answer is
//! what it was when the documents were built on ingest (the recording metadata and the
//! search summary are now rendered on read), and the reporting schema (docs/reporting.md)
//! answers a report writer's SQL with what the pipeline's typed output says.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test panics on its own set-up, not on input")]

#[path = "../src/testdata/simulated.rs"]
mod simulated;

use std::collections::BTreeMap;

use callstitch_link::{word, Interaction};
use callstitch_recording::{recording_metadata, Recording};
use callstitch_store::{
    Batch, CallRecord, InteractionQuery, InteractionRecord, SqliteOptions, SqliteStore, Store, TraceDocument,
};
use rusqlite::Connection;
use serde_json::{json, Value};
use simulated::Simulated;

/// The search list's row as the store built it on ingest before it was rendered on read.
fn summary_built_on_ingest(interaction: &Interaction, recording: &Recording) -> Value {
    let mut parties: Vec<String> = interaction
        .segments
        .iter()
        .flat_map(|segment| segment.parties.iter().map(|party| party.dn.to_string()))
        .collect();
    parties.sort_unstable();
    parties.dedup();
    let call_uuids: Vec<&str> = interaction
        .segments
        .iter()
        .map(|segment| segment.call_uuid.as_deref().unwrap_or(&segment.key))
        .collect();
    json!({
        "interaction_id": interaction.interaction_id,
        "revision": interaction.revision,
        "replaces": interaction.replaces,
        "start": interaction.start,
        "end": interaction.end,
        "complete": interaction.complete,
        "state": interaction.state,
        "current_site": interaction.current_site,
        "current_since": interaction.current_since,
        "linking": interaction.linking,
        "sites": interaction.sites,
        "calls": interaction.segments.len(),
        "call_uuids": call_uuids,
        "parties": parties,
        "ani": interaction.ani,
        "dnis": interaction.dnis,
        "outcome": word(&interaction.outcome),
        "released_by": {"who": word(&interaction.released_by.who), "dn": interaction.released_by.dn},
        "recording_id": recording.recording_id,
        "recorded": !recording.media_files.is_empty(),
        "media_files": recording.media_files.len(),
        "findings": recording.findings.len(),
    })
}

struct Written {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    /// A report writer's connection to the same file.
    sql: Connection,
    last: BTreeMap<String, (Interaction, Recording)>,
}

/// The pipeline's calls and interactions as one batch, as the service writes them.
fn batch_of(simulated: &Simulated) -> Batch {
    Batch {
        calls: simulated.calls.iter().map(CallRecord::new).collect(),
        interactions: simulated
            .handed_out
            .iter()
            .map(|(interaction, recording)| InteractionRecord::new(interaction, recording))
            .collect(),
        ..Batch::default()
    }
}

/// The pipeline's output written as the service writes it.
async fn written(interactions: u64, seed: u64) -> Written {
    let simulated = Simulated::run(interactions, 4, seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path, SqliteOptions::default()).expect("store opens");
    let batch = batch_of(&simulated);
    store.commit(batch.into()).await.expect("commit");
    let sql = Connection::open(&path).expect("a second connection");
    Written { _dir: dir, store, sql, last: simulated.last_revisions() }
}

fn rows<T>(sql: &Connection, query: &str, map: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>) -> Vec<T> {
    sql.prepare(query)
        .expect("prepare")
        .query_map([], map)
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// Every stored document decodes into the typed document and encodes again to the JSON the
/// API served when it answered with the stored text, and to the very line `trace --json`
/// prints for the interaction (keys in alphabetical order at every level), across a
/// simulated estate with recordings, findings, consultations and live revisions.
#[tokio::test]
async fn a_stored_document_decodes_and_re_encodes_to_the_same_json() {
    let written = written(300, 11).await;
    let mut recorded = 0;
    for (id, (interaction, recording)) in &written.last {
        let stored = written.store.interaction(id).await.expect("read").expect("stored");
        let record = InteractionRecord::new(interaction, recording);
        let as_stored: Value = serde_json::from_str(&record.doc).expect("the stored text is JSON");
        let served = stored.doc.to_sorted_json().expect("the document encodes");
        assert_eq!(served, serde_json::to_string(&as_stored).expect("JSON"), "{id}: as the stored text");
        let printed = TraceDocument::new(interaction.clone(), recording.clone());
        assert_eq!(served, printed.to_sorted_json().expect("encodes"), "{id}: as trace --json prints it");
        recorded += usize::from(!recording.media_files.is_empty());
    }
    assert!(recorded > 0, "some documents hold media files");
}

/// Every interaction's document, recording metadata and summary read back are the JSON the
/// API gave when all three were built on ingest.
#[tokio::test]
async fn documents_recordings_and_summaries_read_back_as_built_on_ingest() {
    let written = written(120, 11).await;
    let mut summaries = BTreeMap::new();
    let mut query = InteractionQuery { limit: 1000, ..InteractionQuery::default() };
    loop {
        let page = written.store.interactions(query.clone()).await.expect("page");
        for item in page.items {
            summaries.insert(item.interaction_id.clone(), item.render());
        }
        let Some(next) = page.next_cursor else { break };
        query.cursor = Some(callstitch_store::Cursor::decode(&next).expect("cursor"));
    }
    assert_eq!(summaries.len(), written.last.len(), "one row per interaction standing");
    let mut media_files = 0;
    for (id, (interaction, recording)) in &written.last {
        let stored = written.store.interaction(id).await.expect("read").expect("stored");
        let record = InteractionRecord::new(interaction, recording);
        let doc = stored.doc.to_value().expect("the document encodes");
        assert_eq!(doc, serde_json::from_str::<Value>(&record.doc).expect("doc"), "{id}");
        let metadata = recording_metadata(recording, interaction).to_value().expect("the metadata encodes");
        assert_eq!(stored.recording, metadata, "{id}: the recording of the interaction");
        let by_recording_id = written.store.recording(&recording.recording_id).await.expect("read");
        assert_eq!(by_recording_id.as_ref(), Some(&metadata), "{id}: by its recording id");
        assert_eq!(summaries[id], summary_built_on_ingest(interaction, recording), "{id}: its summary");
        media_files += recording.media_files.len();
    }
    assert!(media_files > 0, "the simulated feed's files are matched: the recordings are not all empty");
}

/// Abandoned in queue, per site and hour: the calls whose outcome says so, by the hour their
/// call started on its site.
#[tokio::test]
async fn abandoned_in_queue_per_site_per_hour_is_what_the_pipeline_said() {
    let written = written(300, 12).await;
    let found: BTreeMap<(String, Option<String>), i64> = rows(
        &written.sql,
        "SELECT site, strftime('%Y-%m-%dT%H', start_us / 1000000, 'unixepoch') AS hour, COUNT(*)
           FROM report_segments WHERE outcome = 'abandoned-in-queue' GROUP BY site, hour",
        |row| Ok(((row.get(0)?, row.get(1)?), row.get(2)?)),
    )
    .into_iter()
    .collect();
    let mut expected: BTreeMap<(String, Option<String>), i64> = BTreeMap::new();
    for (interaction, _) in written.last.values() {
        for segment in &interaction.segments {
            if word(&segment.outcome) == "abandoned-in-queue" {
                let hour = segment.start.map(|start| start.to_string()[..13].to_string());
                *expected.entry((segment.site.to_string(), hour)).or_default() += 1;
            }
        }
    }
    assert!(!expected.is_empty(), "the simulated estate has calls abandoned in queue");
    assert_eq!(found, expected);
}

/// Average talk time per agent: the agents' parties, by AttributeAgentID where their events
/// carried one and by site and DN where not (the simulator logs no agent ids), with the time
/// the engine counted them connected.
#[tokio::test]
async fn average_talk_time_per_agent_is_what_the_pipeline_counted() {
    let written = written(300, 13).await;
    let found: BTreeMap<String, (i64, i64, f64)> = rows(
        &written.sql,
        "SELECT COALESCE(agent_id, site || '/' || dn) AS agent, COUNT(*), SUM(talking_ms), AVG(talking_ms)
           FROM report_parties WHERE kind = 'agent' GROUP BY agent",
        |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?, row.get(3)?))),
    )
    .into_iter()
    .collect();
    let mut expected: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (interaction, _) in written.last.values() {
        for segment in &interaction.segments {
            for party in segment.parties.iter().filter(|party| word(&party.kind) == "agent") {
                let agent = match &party.agent_id {
                    Some(agent) => agent.to_string(),
                    None => format!("{}/{}", segment.site, party.dn),
                };
                let entry = expected.entry(agent).or_default();
                entry.0 += 1;
                entry.1 += party.times.talking_ms;
            }
        }
    }
    assert!(expected.len() > 1, "the simulated estate has agents");
    assert!(expected.values().any(|(_, talking)| *talking > 0), "who talk");
    assert_eq!(found.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>());
    for (agent, (count, talking)) in &expected {
        let (found_count, found_talking, average) = found[agent];
        assert_eq!((found_count, found_talking), (*count, *talking), "{agent}");
        assert!((average - *talking as f64 / *count as f64).abs() < 1e-6, "{agent}");
    }
}

/// Interactions that went through more than two sites.
#[tokio::test]
async fn interactions_with_more_than_two_sites_are_those_the_linker_gave_three_or_more() {
    let written = written(300, 14).await;
    let found: Vec<String> = rows(
        &written.sql,
        "SELECT interaction_id FROM report_interactions WHERE site_count > 2 ORDER BY interaction_id",
        |row| row.get(0),
    );
    let expected: Vec<String> = written
        .last
        .iter()
        .filter(|(_, (interaction, _))| interaction.sites.len() > 2)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(!expected.is_empty(), "the simulated estate has interactions across three sites");
    assert_eq!(found, expected);
    let media: i64 = rows(&written.sql, "SELECT COUNT(*) FROM report_media_files", |row| row.get(0))[0];
    let findings: i64 = rows(&written.sql, "SELECT COUNT(*) FROM report_findings", |row| row.get(0))[0];
    let (files, found_findings) = written.last.values().fold((0, 0), |(files, findings), (_, recording)| {
        (files + recording.media_files.len() as i64, findings + recording.findings.len() as i64)
    });
    assert_eq!((media, findings), (files, found_findings), "the recordings' media files and findings");
}

/// The rows of a query as text (NULL: `None`), from SQLite.
fn sqlite_text(sql: &Connection, query: &str) -> Vec<Vec<Option<String>>> {
    let mut statement = sql.prepare(query).expect("prepare");
    let columns = statement.column_count();
    statement
        .query_map([], |row| {
            (0..columns)
                .map(|index| {
                    Ok(match row.get::<_, rusqlite::types::Value>(index)? {
                        rusqlite::types::Value::Null => None,
                        rusqlite::types::Value::Integer(number) => Some(number.to_string()),
                        rusqlite::types::Value::Real(number) => Some(number.to_string()),
                        rusqlite::types::Value::Text(text) => Some(text),
                        rusqlite::types::Value::Blob(bytes) => Some(format!("{bytes:?}")),
                    })
                })
                .collect()
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// The rows of a query as text (NULL: `None`), from PostgreSQL.
async fn postgres_text(client: &tokio_postgres::Client, query: &str) -> Vec<Vec<Option<String>>> {
    let messages = client.simple_query(query).await.expect("query");
    messages
        .iter()
        .filter_map(|message| match message {
            tokio_postgres::SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|index| row.get(index).map(str::to_string)).collect())
            }
            _ => None,
        })
        .collect()
}

/// The reporting views of docs/reporting.md read the same rows from PostgreSQL as from
/// SQLite after the same commit of a simulated estate: a report writer's SQL over the views
/// gives the same answers on either backend (the views' names, columns and values agree).
#[tokio::test]
async fn the_reporting_views_read_the_same_rows_in_postgresql_as_in_sqlite() {
    use callstitch_store::postgres::scratch::{self, Scratch};
    if !scratch::available_for_tests().await {
        return;
    }
    let written = written(200, 15).await;
    let database = Scratch::new("reporting").await.expect("the test database is made");
    let store = callstitch_store::PostgresStore::open(callstitch_store::PostgresOptions::new(database.url()))
        .await
        .expect("store opens");
    let simulated = Simulated::run(200, 4, 15);
    let batch = batch_of(&simulated);
    store.commit(batch.into()).await.expect("commit");
    let client = database.client().await.expect("connect");
    for query in [
        "SELECT * FROM report_interactions ORDER BY interaction_id",
        "SELECT * FROM report_segments ORDER BY interaction_id, ord",
        "SELECT * FROM report_parties ORDER BY interaction_id, ord",
        "SELECT * FROM report_calls ORDER BY site, key, first_us, outcome",
        "SELECT * FROM report_links ORDER BY interaction_id, ord",
        "SELECT * FROM report_findings ORDER BY interaction_id, ord",
        "SELECT * FROM report_media_files ORDER BY interaction_id, ord",
        "SELECT interaction_id FROM report_interactions WHERE site_count > 2 ORDER BY interaction_id",
        "SELECT COALESCE(agent_id, site || '/' || dn) AS agent, COUNT(*), SUM(talking_ms)
           FROM report_parties WHERE kind = 'agent' GROUP BY agent ORDER BY agent",
    ] {
        let (from_sqlite, from_postgres) =
            (sqlite_text(&written.sql, query), postgres_text(&client, query).await);
        assert!(!from_sqlite.is_empty(), "{query}: no rows");
        assert_eq!(from_postgres.len(), from_sqlite.len(), "{query}");
        for (postgres, sqlite) in from_postgres.iter().zip(&from_sqlite) {
            assert_eq!(postgres, sqlite, "{query}");
        }
    }
}
