//! The interaction search in SQL, for every backend: the `WHERE` clause of a query with its
//! values (`?` placeholders, which a backend that numbers its parameters renumbers with
//! [`numbered`]), the page's statement and how its rows become a [`Page`] with its cursor, the
//! statements that count a search ([`Tally`]), and how a stored document is read back.
//!
//! The tables these statements read have the same names and columns in every backend
//! (docs/reporting.md shows the views over them).

use serde_json::Value;

use crate::compact::{unpack, unpack_json};
use crate::error::StoreError;
use crate::query::{Count, Cursor, InteractionQuery, Page, Tally};
use crate::record::{render_recording, PartyEventTimes, Summary};
use crate::TraceDocument;

/// The most rows one page returns, whatever the caller asks.
pub const MAX_PAGE: usize = 1000;

/// A value bound to a `?` of a search statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// The conditions of a search: a `WHERE` clause and its values.
#[derive(Debug, Clone)]
pub struct Filter {
    pub sql: String,
    pub values: Vec<Param>,
}

/// Interactions holding a call with this CallUUID or call key. A key is the CallUUID, or
/// `~<ConnID>-<n>` for a call without one: only such a text is looked up by key (the
/// segments are indexed by site and key, not by key alone).
pub fn by_call_uuid(text: &str) -> (String, usize) {
    if text.starts_with('~') {
        let sql = "SELECT interaction_id FROM segments WHERE call_uuid = ? \
                   UNION SELECT interaction_id FROM segments WHERE key = ?";
        (sql.to_string(), 2)
    } else {
        ("SELECT interaction_id FROM segments WHERE call_uuid = ?".to_string(), 1)
    }
}

/// Interactions with this Inter-Site Link id: paired (`links`), or with one end only (the
/// interaction's unpaired links, and the links its finished calls took part in).
const BY_ISLINK: &str = "SELECT interaction_id FROM links WHERE islink = ? \
     UNION SELECT interaction_id FROM interaction_islinks WHERE islink = ? \
     UNION SELECT s.interaction_id FROM call_islinks c JOIN segments s ON s.site = c.site AND s.key = c.key \
           WHERE c.islink = ?";
const BY_DN: &str = "SELECT interaction_id FROM interaction_dns WHERE dn = ?";
const BY_CONN_ID: &str = "SELECT interaction_id FROM interaction_conn_ids WHERE conn_id = ?";

impl Filter {
    fn new() -> Filter {
        Filter { sql: "1 = 1".to_string(), values: Vec::new() }
    }

    pub fn add(&mut self, clause: &str, values: impl IntoIterator<Item = Param>) {
        self.sql.push_str(" AND ");
        self.sql.push_str(clause);
        self.values.extend(values);
    }

    fn text(&mut self, value: &Option<String>, clause: &str, times: usize) {
        if let Some(value) = value {
            self.add(clause, std::iter::repeat_n(Param::Text(value.clone()), times));
        }
    }

    /// `i.id IN (<ids>)`, each `?` of `ids` bound to `value`.
    fn ids(&mut self, value: &Option<String>, ids: &str, times: usize) {
        self.text(value, &format!("i.id IN ({ids})"), times);
    }

    /// Every condition of `query` but its cursor and limit.
    pub fn of(query: &InteractionQuery) -> Filter {
        let mut filter = Filter::new();
        if let Some(uuid) = &query.call_uuid {
            let (sql, times) = by_call_uuid(uuid);
            filter.ids(&query.call_uuid, &sql, times);
        }
        filter.ids(&query.conn_id, BY_CONN_ID, 1);
        filter.ids(&query.dn, BY_DN, 1);
        filter.ids(&query.islink, BY_ISLINK, 3);
        if let Some(text) = &query.any_id {
            filter.any_id(text);
        }
        filter.text(&query.site, "i.id IN (SELECT interaction_id FROM segments WHERE site = ?)", 1);
        filter.text(&query.outcome, "i.outcome = ?", 1);
        filter.text(&query.state, "i.state = ?", 1);
        filter.text(&query.released_by, "(i.released_by = ? OR i.released_by_dn = ?)", 2);
        if let Some(from) = query.from_us {
            filter.add("i.start_us >= ?", [Param::Int(from)]);
        }
        if let Some(to) = query.to_us {
            filter.add("i.start_us < ?", [Param::Int(to)]);
        }
        if let Some(has) = query.has_findings {
            filter.add(if has { "i.findings > 0" } else { "i.findings = 0" }, []);
        }
        if let Some(complete) = query.complete {
            filter.add("i.complete = ?", [Param::Bool(complete)]);
        }
        filter
    }

    /// A CallUUID (or call key), a DN, an Inter-Site Link id or, when the text is one, a ConnID.
    fn any_id(&mut self, text: &str) {
        let (uuid_sql, uuid_times) = by_call_uuid(text);
        let mut sql = format!("{uuid_sql} UNION {BY_DN} UNION {BY_ISLINK}");
        let mut values = vec![Param::Text(text.to_string()); uuid_times + 1 + 3];
        if let Some(conn) = crate::query::conn_id(text) {
            sql.push_str(" UNION ");
            sql.push_str(BY_CONN_ID);
            values.push(Param::Text(conn));
        }
        self.add(&format!("i.id IN ({sql})"), values);
    }
}

/// `sql` with its `?` placeholders numbered `$1`, `$2`, … (PostgreSQL's). The statements of
/// this module hold no `?` in a literal.
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    for (number, part) in sql.split('?').enumerate() {
        if number > 0 {
            out.push('$');
            out.push_str(&number.to_string());
        }
        out.push_str(part);
    }
    out
}

/// The statement of one page of `query` and its values (one row more than the page, to
/// tell whether another follows).
pub fn page_statement(query: &InteractionQuery) -> (String, Vec<Param>) {
    let mut filter = Filter::of(query);
    if let Some(Cursor { start_us, id }) = &query.cursor {
        // A row value, not `start_us < ? OR (start_us = ? AND id < ?)`: the index scan starts
        // at the cursor instead of reading every newer row before it, so a page deep into a
        // large search (a CSV export's thousandth) costs what the first did.
        filter.add("(i.start_us, i.id) < (?, ?)", [Param::Int(*start_us), Param::Text(id.clone())]);
    }
    let limit = query.limit.clamp(1, MAX_PAGE);
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM interactions i WHERE {} ORDER BY i.start_us DESC, i.id DESC LIMIT ?",
        filter.sql
    );
    filter.values.push(Param::Int(limit as i64 + 1));
    (sql, filter.values)
}

/// What the search list's row is rendered from: the interaction's columns, lists as JSON
/// (its segments' CallUUIDs and its parties' DNs are lists of their own: gathered from the
/// child rows for every row of a page, they tripled the time a page took).
pub const SUMMARY_COLUMNS: &str = "i.start_us, i.id, i.revision, i.replaces, i.end_us, i.complete, i.state,
    i.current_site, i.current_since_us, i.linking, i.sites, i.ani, i.dnis, i.outcome, i.released_by,
    i.released_by_dn, i.recording_id, i.media_files, i.findings, i.call_uuids, i.party_dns";

/// One row of [`SUMMARY_COLUMNS`] as a backend reads it (list columns as JSON text, NULL:
/// empty).
#[derive(Debug, Clone, Default)]
pub struct SummaryRow {
    pub start_us: i64,
    pub id: String,
    pub revision: i64,
    pub replaces: Option<String>,
    pub end_us: Option<i64>,
    pub complete: bool,
    pub state: String,
    pub current_site: Option<String>,
    pub current_since_us: Option<i64>,
    pub linking: Option<String>,
    pub sites: Option<String>,
    pub ani: Option<String>,
    pub dnis: Option<String>,
    pub outcome: String,
    pub released_by: String,
    pub released_by_dn: Option<String>,
    pub recording_id: String,
    pub media_files: i64,
    pub findings: i64,
    pub call_uuids: Option<String>,
    pub party_dns: Option<String>,
}

/// A JSON list column (NULL: empty).
fn text_list(text: Option<String>) -> Result<Vec<String>, StoreError> {
    text.map_or(Ok(Vec::new()), |text| {
        serde_json::from_str(&text).map_err(|source| StoreError::BadDocument { what: "summary list", source })
    })
}

impl SummaryRow {
    /// The search list's row; a list column that is no JSON list is a bad document.
    pub fn into_summary(self) -> Result<Summary, StoreError> {
        Ok(Summary {
            interaction_id: self.id,
            revision: u32::try_from(self.revision).unwrap_or(u32::MAX),
            replaces: text_list(self.replaces)?,
            start_us: self.start_us,
            end_us: self.end_us,
            complete: self.complete,
            state: self.state,
            current_site: self.current_site,
            current_since_us: self.current_since_us,
            linking: self.linking.unwrap_or_default(),
            sites: text_list(self.sites)?,
            call_uuids: text_list(self.call_uuids)?,
            parties: text_list(self.party_dns)?,
            ani: self.ani,
            dnis: self.dnis,
            outcome: self.outcome,
            released_by: self.released_by,
            released_by_dn: self.released_by_dn,
            recording_id: self.recording_id,
            media_files: usize::try_from(self.media_files).unwrap_or(0),
            findings: usize::try_from(self.findings).unwrap_or(0),
        })
    }
}

/// The page of the rows [`page_statement`] read (one more than `limit` when another page
/// follows).
pub fn page(rows: Vec<Summary>, limit: usize) -> Page {
    let limit = limit.clamp(1, MAX_PAGE);
    let next_cursor = (rows.len() > limit)
        .then(|| {
            rows.get(limit - 1).map(|summary| {
                Cursor { start_us: summary.start_us, id: summary.interaction_id.clone() }.encode()
            })
        })
        .flatten();
    let items = rows.into_iter().take(limit).collect();
    Page { items, next_cursor }
}

/// The duration of an interaction row in µs, when its start and end are known (a start of 0
/// is unknown, as in the summary).
const DURATION: &str = "CASE WHEN i.end_us IS NOT NULL AND i.start_us <> 0 THEN i.end_us - i.start_us END";

/// The statements that count what `filter` matches, both taking its values: by outcome
/// (outcome, interactions, summed duration, timed interactions), then by site (site,
/// outcome, interactions: an interaction once under each site its calls were on).
pub fn tally_statements(filter: &Filter) -> (String, String) {
    let by_outcome = format!(
        "SELECT i.outcome, COUNT(*), CAST(COALESCE(SUM({DURATION}), 0) AS BIGINT), COUNT({DURATION})
           FROM interactions i WHERE {} GROUP BY i.outcome",
        filter.sql
    );
    let by_site = format!(
        "SELECT s.site, i.outcome, COUNT(DISTINCT i.id)
           FROM interactions i JOIN segments s ON s.interaction_id = i.id
          WHERE {} GROUP BY s.site, i.outcome",
        filter.sql
    );
    (by_outcome, by_site)
}

/// Counts one row of the first of [`tally_statements`].
pub fn add_outcome(tally: &mut Tally, outcome: String, interactions: i64, duration_us: i64, timed: i64) {
    let count = Count { interactions: interactions as u64, duration_us, timed: timed as u64 };
    tally.interactions += count.interactions;
    tally.duration_us += duration_us;
    tally.timed += count.timed;
    tally.by_outcome.insert(outcome, count);
}

/// Counts one row of the second of [`tally_statements`].
pub fn add_site(tally: &mut Tally, site: String, outcome: String, interactions: i64) {
    let count = tally.by_site.entry(site).or_default();
    count.interactions += interactions as u64;
    count.by_outcome.insert(outcome, interactions as u64);
}

/// The statement finding the interaction that holds a call with this CallUUID (or call
/// key), or with this recording id, and how many `?` it has (each bound to the id).
pub fn holder_statement(id: &str) -> (String, usize) {
    let (by_call, times) = by_call_uuid(id);
    let sql = format!(
        "SELECT interaction_id FROM ({by_call}) AS held UNION ALL SELECT id FROM interactions WHERE recording_id = ? LIMIT 1"
    );
    (sql, times + 1)
}

/// The statement finding the interaction a recording belongs to, by recording id,
/// interaction id or CallUUID; each `?` bound to the id.
pub const RECORDING_HOLDER: &str = "SELECT id FROM interactions WHERE recording_id = ? OR id = ?
     UNION ALL
     SELECT s.interaction_id FROM segments s WHERE s.call_uuid = ?
     LIMIT 1";

/// A stored interaction document (compressed).
pub fn document(doc_z: &[u8]) -> Result<TraceDocument, StoreError> {
    serde_json::from_slice(&unpack("interaction", doc_z)?)
        .map_err(|source| StoreError::BadDocument { what: "interaction", source })
}

/// An interaction's recording metadata: as stored (compressed) by a build before it was
/// rendered on read, or rendered from the document and its parties' first and last events.
pub fn recording_of(
    doc: &TraceDocument,
    recording_z: Option<&[u8]>,
    party_times: impl FnOnce() -> Result<PartyEventTimes, StoreError>,
) -> Result<Value, StoreError> {
    match recording_z {
        Some(recording) => unpack_json("recording", recording),
        None => render_recording(doc, &party_times()?)
            .map_err(|source| StoreError::BadDocument { what: "recording", source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(numbered("a = ? AND (b, c) < (?, ?) LIMIT ?"), "a = $1 AND (b, c) < ($2, $3) LIMIT $4");
        assert_eq!(numbered("no placeholder"), "no placeholder");
        let (sql, values) = page_statement(&InteractionQuery {
            any_id: Some("9a0218".into()),
            limit: 5,
            ..InteractionQuery::default()
        });
        assert_eq!(numbered(&sql).matches('$').count(), values.len());
    }
}
