//! Workers that share the estate (issue 14, docs/scale.md): the tables a `callstitch worker`
//! writes and the linker (`callstitch serve --workers`) reads, beside the store's own.
//!
//! - **Ownership**: a worker owns a site while its connection holds the site's session
//!   advisory lock ([`SITE_LOCK_CLASS`], the site name hashed by the server). The lock goes
//!   with the connection, however the worker ends; every write of a site goes through the
//!   connection that holds its lock, so a worker that lost its lock (its connection) cannot
//!   write for the site any more.
//! - **One transaction per step of a site** ([`EstateDb::commit`]): the raw events as blocks
//!   (numbered from `estate_seq`, whose row lock orders the workers' commits, so that event
//!   numbers grow in commit order as the live stream reads them), the finished calls, the
//!   engine's news as one compressed row of `estate_news` (numbered per site from 1), the
//!   messages that were no events (`estate_problems`), and the site's stream position and
//!   engine state (`estate_sites`). The site's row is read under a row lock and its news
//!   position must be the one the worker last wrote: a second writer is refused
//!   ([`StoreError::Fenced`]), whatever the locks say.
//! - **The linker** reads each site's news after the position it committed
//!   ([`PostgresStore::estate_news`]) and deletes what it has committed
//!   ([`PostgresStore::forget_news`]).

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio_postgres::{Client, Config, NoTls};

use callstitch_pipeline::split::SiteItem;

use super::partition::{self, Known};
use super::{redacted, schema, PostgresStore};
use crate::compact::{pack, unpack};
use crate::error::StoreError;
use crate::record::{CallRecord, EventRecord};

/// The first key of a site's advisory lock (two-key form): "cs" and "si" in ASCII.
pub const SITE_LOCK_CLASS: i32 = 0x6373_7369;

/// What a site's owner stored last: where to go on from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteState {
    /// The stream sequence of the last message taken (0: none).
    pub stream_seq: u64,
    /// The position of the last news row written (0: none).
    pub news_pos: i64,
    /// The worker's state of the site (its engine and clock), as it wrote it.
    pub engine: Option<Vec<u8>>,
}

/// One step of one site, committed in one transaction ([`EstateDb::commit`]).
#[derive(Debug, Default)]
pub struct SiteCommit {
    pub site: String,
    /// The news position the worker last wrote (its [`SiteState::news_pos`]).
    pub after_news: i64,
    /// The raw events taken, in stream order; their `seq` is given here.
    pub events: Vec<EventRecord>,
    pub calls: Vec<CallRecord>,
    /// The engine's news of this step, encoded (empty: no news row).
    pub news: Vec<u8>,
    /// How many items `news` holds.
    pub news_items: u32,
    /// The stream sequences this step covers (first and last message).
    pub first_seq: u64,
    pub last_seq: u64,
    /// Messages that were no events: their sequence and what was wrong.
    pub problems: Vec<(u64, String)>,
    /// The stream sequence of the last message taken.
    pub stream_seq: u64,
    /// The site's state after the step.
    pub engine: Vec<u8>,
    /// Who writes (the worker's name).
    pub worker: String,
    /// Wall time of the commit (UTC µs).
    pub written_us: i64,
    /// The site is read from its log files and they are not read to their end yet.
    pub reading: bool,
}

/// How far a site's owner has come: the last news row it wrote and the stream sequence of
/// the last message it took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SiteProgress {
    pub news_pos: i64,
    pub stream_seq: u64,
    /// Its owner reads its log files and has not reached their end ([`EstateDb::reading`]).
    pub reading: bool,
}

/// One row of a site's news, as the linker reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsRow {
    pub site: String,
    pub pos: i64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub data: Vec<u8>,
}

/// A step's news as stored: one JSON line per item, compressed (zstd).
pub fn encode_news(items: &[SiteItem]) -> Result<Vec<u8>, StoreError> {
    let mut text = Vec::with_capacity(items.len() * 256);
    for item in items {
        serde_json::to_writer(&mut text, item)
            .map_err(|source| StoreError::BadDocument { what: "site news", source })?;
        text.push(b'\n');
    }
    pack(&text)
}

/// The items of a stored news row ([`encode_news`]).
pub fn decode_news(data: &[u8]) -> Result<Vec<SiteItem>, StoreError> {
    let text = unpack("site news", data)?;
    text.split(|byte| *byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_slice(line)
                .map_err(|source| StoreError::BadDocument { what: "site news", source })
        })
        .collect()
}

/// A worker's connection to the database: it holds the locks of the sites it owns and
/// writes for them. See the module documentation.
pub struct EstateDb {
    client: Client,
    name: String,
    known: Mutex<Known>,
}

impl EstateDb {
    /// Connects to `url` as `application_name` (which names the worker to operators and to
    /// [`EstateDb::workers`]) and brings the schema up to date.
    pub async fn connect(url: &str, application_name: &str) -> Result<EstateDb, StoreError> {
        let name = redacted(url);
        let mut config: Config = url.parse().map_err(|error: tokio_postgres::Error| StoreError::BadUrl {
            url: name.clone(),
            detail: error.to_string(),
        })?;
        config.application_name(application_name);
        config.connect_timeout(std::time::Duration::from_secs(10));
        let (mut client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|error| StoreError::Connect { url: name.clone(), detail: error.to_string() })?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a worker's PostgreSQL connection ended");
            }
        });
        schema::migrate(&mut client).await?;
        let known = partition::Known::load(&client).await?;
        Ok(EstateDb { client, name, known: Mutex::new(known) })
    }

    /// The database's URL without its password.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The connection is gone (the server went away or ended it): every lock went with it.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Takes `site` when no other worker owns it: true when this connection now holds it.
    pub async fn claim(&self, site: &str) -> Result<bool, StoreError> {
        let row = self
            .client
            .query_one("SELECT pg_try_advisory_lock($1, hashtext($2))", &[&SITE_LOCK_CLASS, &site])
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Lets `site` go (a worker that stops cleanly, or gives a site to a newcomer).
    pub async fn release(&self, site: &str) -> Result<(), StoreError> {
        self.client
            .execute("SELECT pg_advisory_unlock($1, hashtext($2))", &[&SITE_LOCK_CLASS, &site])
            .await?;
        Ok(())
    }

    /// `site`, just taken, is read from its log files: until a step says they are read to
    /// their end, it holds the linker (a backfill's site has no stream to say how much is
    /// left).
    pub async fn reading(&self, site: &str) -> Result<(), StoreError> {
        self.client
            .execute(
                "INSERT INTO estate_sites (site, reading) VALUES ($1, true)
                 ON CONFLICT (site) DO UPDATE SET reading = true",
                &[&site],
            )
            .await?;
        Ok(())
    }

    /// A backfill's `sites` will be read from their log files: those no worker has written
    /// yet hold the linker from now on, before their owner takes them (workers that start
    /// together take their sites a moment apart). Sites already written are left as they are.
    pub async fn expect_reading(&self, sites: &[String]) -> Result<(), StoreError> {
        self.client
            .execute(
                "INSERT INTO estate_sites (site, reading) SELECT unnest($1::text[]), true
                 ON CONFLICT (site) DO NOTHING",
                &[&sites],
            )
            .await?;
        Ok(())
    }

    /// How many workers are connected: connections named `<prefix>…`.
    pub async fn workers(&self, prefix: &str) -> Result<u64, StoreError> {
        let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let row = self
            .client
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE $1",
                &[&pattern],
            )
            .await?;
        Ok(row.try_get::<_, i64>(0)?.max(0) as u64)
    }

    /// What the site's owner stored last (a site never written: the default).
    pub async fn site_state(&self, site: &str) -> Result<SiteState, StoreError> {
        let row = self
            .client
            .query_opt("SELECT stream_seq, news_pos, engine FROM estate_sites WHERE site = $1", &[&site])
            .await?;
        let Some(row) = row else { return Ok(SiteState::default()) };
        Ok(SiteState {
            stream_seq: row.try_get::<_, i64>(0)?.max(0) as u64,
            news_pos: row.try_get(1)?,
            engine: row.try_get(2)?,
        })
    }

    /// Commits one step of a site in one transaction (module documentation); the news
    /// position it wrote.
    pub async fn commit(&mut self, step: &mut SiteCommit) -> Result<i64, StoreError> {
        let transaction = self.client.transaction().await?;
        transaction
            .execute(
                "INSERT INTO estate_sites (site) VALUES ($1) ON CONFLICT (site) DO NOTHING",
                &[&step.site],
            )
            .await?;
        let stored: i64 = transaction
            .query_one("SELECT news_pos FROM estate_sites WHERE site = $1 FOR UPDATE", &[&step.site])
            .await?
            .try_get(0)?;
        if stored != step.after_news {
            return Err(StoreError::Fenced {
                site: step.site.clone(),
                expected: step.after_news,
                found: stored,
            });
        }
        let made = if step.events.is_empty() {
            Vec::new()
        } else {
            let count = step.events.len() as i64;
            let first: i64 = transaction
                .query_one(
                    "UPDATE estate_seq SET next = next + $1 WHERE id = 1 RETURNING next - $1",
                    &[&count],
                )
                .await?
                .try_get(0)?;
            for (offset, event) in step.events.iter_mut().enumerate() {
                event.seq = (first + offset as i64) as u64;
            }
            super::blocks::insert(&transaction, &self.known, &step.events).await?
        };
        let mut made = made;
        made.extend(super::write::insert_calls(&transaction, &self.known, &step.calls).await?);
        let mut news_pos = stored;
        if !step.news.is_empty() {
            news_pos += 1;
            transaction
                .execute(
                    "INSERT INTO estate_news (site, pos, first_seq, last_seq, items, data) VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        &step.site,
                        &news_pos,
                        &(step.first_seq as i64),
                        &(step.last_seq as i64),
                        &(step.news_items as i32),
                        &step.news,
                    ],
                )
                .await?;
        }
        for (seq, problem) in &step.problems {
            transaction
                .execute(
                    "INSERT INTO estate_problems (site, stream_seq, problem) VALUES ($1, $2, $3)
                     ON CONFLICT (site, stream_seq) DO NOTHING",
                    &[&step.site, &(*seq as i64), problem],
                )
                .await?;
        }
        transaction
            .execute(
                "UPDATE estate_sites SET stream_seq = $2, news_pos = $3, engine = $4, worker = $5, written_us = $6,
                        reading = $7
                  WHERE site = $1",
                &[
                    &step.site,
                    &(step.stream_seq as i64),
                    &news_pos,
                    &step.engine,
                    &step.worker,
                    &step.written_us,
                    &step.reading,
                ],
            )
            .await?;
        transaction.commit().await?;
        partition::remember(&self.known, made);
        Ok(news_pos)
    }
}

impl PostgresStore {
    /// The sites workers have written: how far each site's owner has come.
    pub async fn estate_sites(&self) -> Result<BTreeMap<String, SiteProgress>, StoreError> {
        Self::read(&self.inner, async |client| {
            let rows = client
                .query("SELECT site, news_pos, stream_seq, reading FROM estate_sites ORDER BY site", &[])
                .await?;
            rows.iter()
                .map(|row| {
                    let progress = SiteProgress {
                        news_pos: row.try_get(1)?,
                        stream_seq: row.try_get::<_, i64>(2)?.max(0) as u64,
                        reading: row.try_get(3)?,
                    };
                    Ok((row.try_get(0)?, progress))
                })
                .collect()
        })
        .await
    }

    /// Each site's news rows after its position in `after` (a site not in it: from its
    /// first), at most `most` rows a site, in order.
    pub async fn estate_news(
        &self,
        sites: &BTreeMap<String, SiteProgress>,
        after: &BTreeMap<String, i64>,
        most: i64,
    ) -> Result<Vec<NewsRow>, StoreError> {
        Self::read(&self.inner, async |client| {
            let statement = client
                .prepare(
                    "SELECT pos, first_seq, last_seq, data FROM estate_news WHERE site = $1 AND pos > $2
                      ORDER BY pos LIMIT $3",
                )
                .await?;
            let mut news = Vec::new();
            for (site, progress) in sites {
                let from = after.get(site.as_str()).copied().unwrap_or(0);
                if progress.news_pos <= from {
                    continue;
                }
                for row in client.query(&statement, &[&site.as_str(), &from, &most]).await? {
                    news.push(NewsRow {
                        site: site.clone(),
                        pos: row.try_get(0)?,
                        first_seq: row.try_get::<_, i64>(1)?.max(0) as u64,
                        last_seq: row.try_get::<_, i64>(2)?.max(0) as u64,
                        data: row.try_get(3)?,
                    });
                }
            }
            Ok(news)
        })
        .await
    }

    /// Deletes the news the linker has committed it took (each site's rows up to its position
    /// in `taken`): they are never read again.
    pub async fn forget_news(&self, taken: &BTreeMap<String, i64>) -> Result<(), StoreError> {
        let (sites, positions): (Vec<&str>, Vec<i64>) =
            taken.iter().map(|(site, pos)| (site.as_str(), *pos)).unzip();
        Self::read(&self.inner, async |client| {
            client
                .execute(
                    "DELETE FROM estate_news n USING unnest($1::text[], $2::bigint[]) AS t(site, pos)
                      WHERE n.site = t.site AND n.pos <= t.pos",
                    &[&sites, &positions],
                )
                .await?;
            Ok(())
        })
        .await
    }

    /// The messages workers found were no events, per site: (stream sequence, problem).
    pub async fn estate_problems(&self) -> Result<Vec<(String, u64, String)>, StoreError> {
        Self::read(&self.inner, async |client| {
            let rows = client
                .query("SELECT site, stream_seq, problem FROM estate_problems ORDER BY site, stream_seq", &[])
                .await?;
            rows.iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get::<_, i64>(1)?.max(0) as u64, row.try_get(2)?)))
                .collect()
        })
        .await
    }
}
