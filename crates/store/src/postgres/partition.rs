//! Day partitions of `event_blocks` and `calls`: declarative range partitions on `day_us`
//! (a block's last event time when every event of it has a time; a call's last event time,
//! or its first), one a UTC day, named after it (`event_blocks_2012_10_29`); a row without a
//! day goes to the table's `_undated` partition (which says so in a CHECK, so that a new
//! day's partition is made without reading it).
//!
//! A commit makes the partitions its rows need inside its own transaction, and the store
//! remembers them once the commit went through ([`Known`]); retention drops a partition
//! whole when every row of it is prunable ([`before`]).

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use jiff::civil::Date;
use tokio_postgres::{GenericClient, Transaction};

use crate::error::StoreError;

/// A UTC day in microseconds.
const DAY_US: i64 = 86_400_000_000;

/// The partitioned tables.
pub const TABLES: [&str; 2] = ["event_blocks", "calls"];

/// A day's partition: its table and its day (days since 1970-01-01).
pub type Part = (&'static str, i64);

/// The partitions known to exist.
#[derive(Debug, Default)]
pub struct Known {
    parts: BTreeSet<Part>,
}

fn date_of(day: i64) -> Option<Date> {
    let epoch = jiff::civil::date(1970, 1, 1);
    epoch.checked_add(jiff::Span::new().try_days(day).ok()?).ok()
}

/// The partition of `table` for `day`, e.g. `event_blocks_2012_10_29`.
fn name(table: &str, day: i64) -> Option<String> {
    date_of(day).map(|date| format!("{table}_{}", date.strftime("%Y_%m_%d")))
}

/// The day of a partition named by [`name`].
fn day_of(table: &str, partition: &str) -> Option<i64> {
    let date = partition.strip_prefix(table)?.strip_prefix('_')?;
    let date = Date::strptime("%Y_%m_%d", date).ok()?;
    let days = jiff::civil::date(1970, 1, 1).until(date).ok()?.get_days();
    Some(i64::from(days))
}

/// The partition key of a row whose time is `time_us`: the time itself when its day has a
/// partition name (years 1 to 9999), `None` (undated) otherwise.
pub fn key(time_us: Option<i64>) -> Option<i64> {
    time_us.filter(|time| name("t", time.div_euclid(DAY_US)).is_some())
}

/// The day of a partition key.
pub fn day(key: i64) -> i64 {
    key.div_euclid(DAY_US)
}

impl Known {
    /// The day partitions the database holds.
    pub async fn load(client: &impl GenericClient) -> Result<Known, StoreError> {
        let mut parts = BTreeSet::new();
        for table in TABLES {
            parts.extend(partitions(client, table).await?.into_iter().map(|(_, day)| (table, day)));
        }
        Ok(Known { parts })
    }
}

/// The day partitions of `table`: name and day.
async fn partitions(client: &impl GenericClient, table: &str) -> Result<Vec<(String, i64)>, StoreError> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
              WHERE i.inhparent = $1::text::regclass",
            &[&table],
        )
        .await?;
    let mut found = Vec::new();
    for row in rows {
        let partition: String = row.try_get(0)?;
        if let Some(day) = day_of(table, &partition) {
            found.push((partition, day));
        }
    }
    Ok(found)
}

/// Makes the partitions of `table` for the days of `keys` that are not known yet, in
/// `transaction`; the ones it made (to remember once the transaction committed).
pub async fn ensure(
    transaction: &Transaction<'_>,
    known: &Mutex<Known>,
    table: &'static str,
    keys: impl Iterator<Item = Option<i64>>,
) -> Result<Vec<Part>, StoreError> {
    let days: BTreeSet<i64> = keys.flatten().map(day).collect();
    let missing: Vec<i64> = {
        let known = known.lock().unwrap_or_else(PoisonError::into_inner);
        days.into_iter().filter(|day| !known.parts.contains(&(table, *day))).collect()
    };
    let mut made = Vec::new();
    for day in missing {
        let Some(partition) = name(table, day) else { continue };
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS \"{partition}\" PARTITION OF {table} FOR VALUES FROM ({}) TO ({})",
            day * DAY_US,
            (day + 1) * DAY_US
        );
        transaction.batch_execute(&sql).await?;
        made.push((table, day));
    }
    Ok(made)
}

/// Remembers partitions a committed transaction made.
pub fn remember(known: &Mutex<Known>, made: Vec<Part>) {
    known.lock().unwrap_or_else(PoisonError::into_inner).parts.extend(made);
}

/// Forgets partitions a committed transaction dropped.
pub fn forget(known: &Mutex<Known>, dropped: &[Part]) {
    let mut known = known.lock().unwrap_or_else(PoisonError::into_inner);
    for part in dropped {
        known.parts.remove(part);
    }
}

/// The partitions of `table` whose every row is before `before_us` (their day ends by
/// then): name and day.
pub async fn before(
    transaction: &Transaction<'_>,
    table: &str,
    before_us: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut found = partitions(transaction, table).await?;
    found.retain(|(_, day)| (day + 1).checked_mul(DAY_US).is_some_and(|end| end <= before_us));
    found.sort_by_key(|(_, day)| *day);
    Ok(found)
}

/// Drops a partition of `table` found by [`before`].
pub async fn drop_partition(transaction: &Transaction<'_>, partition: &str) -> Result<(), StoreError> {
    transaction.batch_execute(&format!("DROP TABLE \"{partition}\"")).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_named_by_its_date_and_read_back() {
        let day = day(1_351_521_660_540_480);
        assert_eq!(name("calls", day).as_deref(), Some("calls_2012_10_29"));
        assert_eq!(day_of("calls", "calls_2012_10_29"), Some(day));
        assert_eq!(day_of("calls", "calls_undated"), None);
        assert_eq!(day_of("calls", "event_blocks_2012_10_29"), None);
        assert_eq!(name("calls", -1).as_deref(), Some("calls_1969_12_31"));
        assert_eq!(key(Some(i64::MAX)), None, "beyond year 9999: undated");
        assert_eq!(key(None), None);
    }
}
