//! The PostgreSQL read path: recovery, replay, the interaction search (its SQL is
//! [`crate::search`]'s, numbered) with its counts, and the lookups of one interaction,
//! recording or call.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::blocks;
use crate::block::ConnSpan;
use crate::compact::unpack_json;
use crate::error::StoreError;
use crate::query::{InteractionQuery, Page, Tally};
use crate::record::{MediaPost, PartyEventTimes, Snapshot, Summary};
use crate::search::{self, numbered, Filter, Param, SummaryRow};
use crate::{Recovery, StoreCounts, StoredCall, StoredEvent, StoredInteraction, TraceDocument};

pub async fn recover(client: &impl GenericClient) -> Result<Recovery, StoreError> {
    let positions: Option<String> =
        client.query_one("SELECT positions FROM checkpoint WHERE id = 1", &[]).await?.try_get(0)?;
    let snapshot =
        match client.query_opt("SELECT seq, state, media_posts FROM snapshot WHERE id = 1", &[]).await? {
            Some(row) => Some(Snapshot {
                seq: row.try_get::<_, i64>(0)? as u64,
                state: row.try_get(1)?,
                media_posts: row.try_get::<_, i64>(2)? as u64,
            }),
            None => None,
        };
    let last = blocks::last_seq(client).await?;
    // After a prune every event may be gone: never hand out a number already used.
    let floor = snapshot.as_ref().map_or(0, |snapshot| snapshot.seq);
    let next_seq = last.unwrap_or(0).max(floor) + 1;
    Ok(Recovery { next_seq, snapshot, positions })
}

pub async fn media_posts_after(
    client: &impl GenericClient,
    after: u64,
    limit: usize,
) -> Result<Vec<MediaPost>, StoreError> {
    let rows = client
        .query(
            "SELECT ordinal, after_seq, files FROM media_posts WHERE ordinal > $1 ORDER BY ordinal LIMIT $2",
            &[&(after as i64), &(limit.min(i64::MAX as usize) as i64)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(MediaPost {
                ordinal: row.try_get::<_, i64>(0)? as u64,
                after_seq: row.try_get::<_, i64>(1)? as u64,
                files: row.try_get(2)?,
            })
        })
        .collect()
}

/// A search value as PostgreSQL binds it.
fn bound(params: &[Param]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|param| -> Box<dyn ToSql + Sync + Send> {
            match param {
                Param::Text(text) => Box::new(text.clone()),
                Param::Int(number) => Box::new(*number),
                Param::Bool(flag) => Box::new(*flag),
            }
        })
        .collect()
}

async fn query(client: &impl GenericClient, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
    let values = bound(params);
    let refs: Vec<&(dyn ToSql + Sync)> =
        values.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect();
    Ok(client.query(&numbered(sql), &refs).await?)
}

fn summary_row(row: &Row) -> Result<Summary, StoreError> {
    SummaryRow {
        start_us: row.try_get(0)?,
        id: row.try_get(1)?,
        revision: row.try_get(2)?,
        replaces: row.try_get(3)?,
        end_us: row.try_get(4)?,
        complete: row.try_get(5)?,
        state: row.try_get(6)?,
        current_site: row.try_get(7)?,
        current_since_us: row.try_get(8)?,
        linking: row.try_get(9)?,
        sites: row.try_get(10)?,
        ani: row.try_get(11)?,
        dnis: row.try_get(12)?,
        outcome: row.try_get(13)?,
        released_by: row.try_get(14)?,
        released_by_dn: row.try_get(15)?,
        recording_id: row.try_get(16)?,
        media_files: row.try_get(17)?,
        findings: row.try_get(18)?,
        call_uuids: row.try_get(19)?,
        party_dns: row.try_get(20)?,
    }
    .into_summary()
}

pub async fn interactions(
    client: &impl GenericClient,
    query_: &InteractionQuery,
) -> Result<Page, StoreError> {
    let (sql, values) = search::page_statement(query_);
    let rows = query(client, &sql, &values).await?;
    let rows: Vec<Summary> = rows.iter().map(summary_row).collect::<Result<_, _>>()?;
    Ok(search::page(rows, query_.limit))
}

/// PostgreSQL's `query_canceled`, which `statement_timeout` raises.
const CANCELED: &str = "57014";

/// What every interaction `query_` matches adds up to, counted in the database; refused as
/// [`StoreError::TooBroad`] when the counting takes longer than `budget` (the statements
/// run under a `statement_timeout` of what is left of it).
pub async fn tally(
    client: &impl GenericClient,
    query_: &InteractionQuery,
    budget: Duration,
) -> Result<Tally, StoreError> {
    let started = Instant::now();
    let counted = count(client, query_, started, budget).await;
    let reset = client.batch_execute("RESET statement_timeout").await;
    let too_broad = StoreError::TooBroad { budget_ms: budget.as_millis() as u64 };
    match counted {
        Err(StoreError::Postgres(error)) if error.code().is_some_and(|code| code.code() == CANCELED) => {
            Err(too_broad)
        }
        Err(error) => Err(error),
        Ok(tally) => {
            reset?;
            Ok(tally)
        }
    }
}

async fn count(
    client: &impl GenericClient,
    query_: &InteractionQuery,
    started: Instant,
    budget: Duration,
) -> Result<Tally, StoreError> {
    let filter = Filter::of(query_);
    let (by_outcome, by_site) = search::tally_statements(&filter);
    let mut tally = Tally::default();
    // What is left of the budget, 1 ms at least (0 would be no limit): the server cancels a
    // statement past it.
    let left = |started: Instant| budget.saturating_sub(started.elapsed()).as_millis().max(1);
    client.batch_execute(&format!("SET statement_timeout = {}", left(started))).await?;
    for row in query(client, &by_outcome, &filter.values).await? {
        search::add_outcome(&mut tally, row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
    }
    client.batch_execute(&format!("SET statement_timeout = {}", left(started))).await?;
    for row in query(client, &by_site, &filter.values).await? {
        search::add_site(&mut tally, row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    }
    Ok(tally)
}

/// The most sites [`sites`] lists.
const MAX_SITES: i64 = 10_000;

/// The distinct sites of the stored calls, skipping through the (site, key) index from one
/// site to the next rather than reading every call.
pub async fn sites(client: &impl GenericClient) -> Result<Vec<String>, StoreError> {
    let rows = client
        .query(
            "WITH RECURSIVE next(site) AS (
                 SELECT MIN(site) FROM segments
                 UNION ALL
                 SELECT (SELECT MIN(site) FROM segments WHERE site > next.site) FROM next WHERE next.site IS NOT NULL
             )
             SELECT site FROM next WHERE site IS NOT NULL LIMIT $1",
            &[&MAX_SITES],
        )
        .await?;
    Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?)
}

/// The live id for `id`: the interaction that replaced it, if one did.
async fn resolve(client: &impl GenericClient, id: &str) -> Result<Option<String>, StoreError> {
    let row = client.query_opt("SELECT id FROM aliases WHERE old_id = $1", &[&id]).await?;
    Ok(row.map(|row| row.try_get(0)).transpose()?)
}

async fn first_id(
    client: &impl GenericClient,
    sql: &str,
    id: &str,
    times: usize,
) -> Result<Option<String>, StoreError> {
    let rows = query(client, sql, &vec![Param::Text(id.to_string()); times]).await?;
    Ok(rows.first().map(|row| row.try_get(0)).transpose()?)
}

pub async fn interaction(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<StoredInteraction>, StoreError> {
    let alias = resolve(client, id).await?;
    let mut live = alias.clone().unwrap_or_else(|| id.to_string());
    let mut found = documents(client, &live).await?;
    if found.is_none() {
        let (sql, times) = search::holder_statement(id);
        let Some(holder) = first_id(client, &sql, id, times).await? else { return Ok(None) };
        found = documents(client, &holder).await?;
        live = holder;
    }
    let Some((doc, recording)) = found else { return Ok(None) };
    Ok(Some(StoredInteraction { id: live, asked_as: alias.map(|_| id.to_string()), doc, recording }))
}

/// An interaction's document and its recording metadata, rendered from the document and the
/// parties' first and last events.
async fn documents(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<(TraceDocument, Value)>, StoreError> {
    let Some(row) = client.query_opt("SELECT doc_z FROM interactions WHERE id = $1", &[&id]).await? else {
        return Ok(None);
    };
    let doc = search::document(row.try_get(0)?)?;
    let rows = client
        .query("SELECT first_us, last_us FROM parties WHERE interaction_id = $1 ORDER BY ord", &[&id])
        .await?;
    let times: PartyEventTimes =
        rows.iter().map(|row| Ok((row.try_get(0)?, row.try_get(1)?))).collect::<Result<_, StoreError>>()?;
    let recording = search::recording_of(&doc, None, || Ok(times))?;
    Ok(Some((doc, recording)))
}

pub async fn recording(client: &impl GenericClient, id: &str) -> Result<Option<Value>, StoreError> {
    let live = resolve(client, id).await?.unwrap_or_else(|| id.to_string());
    let Some(holder) = first_id(client, search::RECORDING_HOLDER, &live, 3).await? else { return Ok(None) };
    Ok(documents(client, &holder).await?.map(|(_, recording)| recording))
}

pub async fn calls(
    client: &impl GenericClient,
    site: &str,
    key: &str,
) -> Result<Vec<StoredCall>, StoreError> {
    let rows = client
        .query(
            "SELECT c.report_z,
                    (SELECT s.interaction_id FROM segments s WHERE s.site = c.site AND s.key = c.key LIMIT 1)
               FROM calls c WHERE c.site = $1 AND (c.key = $2 OR c.call_uuid = $2) ORDER BY c.id",
            &[&site, &key],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredCall { report: unpack_json("call", row.try_get(0)?)?, interaction_id: row.try_get(1)? })
        })
        .collect()
}

pub async fn call_events(
    client: &impl GenericClient,
    site: &str,
    key: &str,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    // The call's ConnIDs and time span, from its stored report(s), for events without CallUUID.
    let rows = client
        .query(
            "SELECT conn_ids, first_us, last_us FROM calls WHERE site = $1 AND (key = $2 OR call_uuid = $2)",
            &[&site, &key],
        )
        .await?;
    let mut spans = Vec::new();
    for row in rows {
        spans.extend(ConnSpan::of_call(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)?);
    }
    blocks::call_events(client, site, key, &spans, limit).await
}

pub async fn counts(client: &impl GenericClient) -> Result<StoreCounts, StoreError> {
    let row = client
        .query_one(
            "SELECT (SELECT COUNT(*) FROM calls), (SELECT COUNT(*) FROM interactions),
                    (SELECT COUNT(*) FROM interactions WHERE complete), (SELECT COUNT(*) FROM media_files)",
            &[],
        )
        .await?;
    let count = |index: usize| -> Result<u64, StoreError> { Ok(row.try_get::<_, i64>(index)? as u64) };
    Ok(StoreCounts {
        // The highest sequence number rather than a count: the same until a prune.
        events: blocks::last_seq(client).await?.unwrap_or(0),
        calls: count(0)?,
        interactions: count(1)?,
        complete_interactions: count(2)?,
        media_files: count(3)?,
    })
}
