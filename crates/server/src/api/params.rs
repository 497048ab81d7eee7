//! The one vocabulary of the interaction search, read by the same code for the API
//! (`/v1/interactions`, `/v1/interactions.csv`, `/v1/counts`) and the search page (`/`):
//! the same parameter names, the same values, the same times, the same errors
//! (docs/api.md, "Search parameters").
//!
//! Older spellings are still taken: the page's `findings=yes|no` is `has_findings`, and
//! every yes/no parameter takes `true`, `false`, `yes` or `no`. An empty parameter (what an
//! HTML form sends for an empty field) is no filter; a parameter this service does not
//! know is a 400, on the page as in the API.

use callstitch_link::Lifecycle;
use callstitch_store::{conn_id, Cursor, InteractionQuery, Store, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::App;

/// Rows per page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;

/// The interaction outcomes (the engine's `Outcome`, as stored).
pub const OUTCOMES: &[&str] = &[
    "answered",
    "transferred",
    "conferenced",
    "abandoned-in-queue",
    "abandoned-while-ringing",
    "abandoned-after-routing",
    "abandoned-consultation",
    "rejected",
    "destination-busy",
    "released-while-dialing",
    "routed",
    "cleared",
    "in-progress",
    "unknown",
];

/// The kinds of id the free-text `q` can be read as, with the words the page shows.
pub const KINDS: &[(&str, &str)] = &[
    ("any", "any id"),
    ("call_uuid", "CallUUID"),
    ("conn_id", "ConnID"),
    ("dn", "DN, ANI or DNIS"),
    ("islink", "Inter-Site Link id"),
];

/// The query string of a search, as given: every value a string, empty when not given.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchParams {
    /// Any id: read as `kind` says (`any`: every kind the text could be).
    pub q: String,
    /// `any` (default), `call_uuid`, `conn_id`, `dn` or `islink`.
    pub kind: String,
    pub call_uuid: String,
    pub conn_id: String,
    pub dn: String,
    pub islink: String,
    pub site: String,
    pub from: String,
    pub to: String,
    pub outcome: String,
    pub released_by: String,
    /// `true`/`yes` or `false`/`no`; the page once called it `findings`.
    #[serde(alias = "findings")]
    pub has_findings: String,
    pub complete: String,
    /// `live`, `settling` or `complete`.
    pub state: String,
    pub limit: String,
    pub cursor: String,
    /// `json` (the API's default), `html` (the page's) or `csv`.
    pub format: String,
}

/// What a search answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The API's JSON page, or the search page: whichever was asked.
    Native,
    Csv,
}

/// A search read from its parameters: the store query, and the answer's format.
#[derive(Debug, Clone)]
pub struct Search {
    pub query: InteractionQuery,
    pub format: Format,
}

fn given(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// A time: RFC 3339 (`2012-10-29T14:41:00Z`, any offset), or a UTC date and time without
/// an offset (`2012-10-29T14:41`, `2012-10-29 14:41:00`, what a `datetime-local` input
/// sends), or a UTC date (its midnight). Returns UTC µs, from year 0000 to 9999.
pub fn parse_time(name: &str, value: &str) -> Result<Option<i64>, String> {
    let Some(text) = given(value) else { return Ok(None) };
    let bad = || {
        format!(
            "{name}={text:?} is not a time: write RFC 3339 (2012-10-29T14:41:00Z), or a UTC date \
             and time (2012-10-29T14:41) or date (2012-10-29), from year 0000 to 9999"
        )
    };
    if let Some(timestamp) = callstitch_tlib::Timestamp::parse_rfc3339(&text) {
        return Ok(Some(timestamp.0));
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok().or_else(|| {
        text.parse::<jiff::civil::Date>().ok().map(|date| date.to_datetime(jiff::civil::Time::midnight()))
    });
    let Some(civil) = civil.filter(|civil| civil.year() >= 0) else { return Err(bad()) };
    let utc = civil.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| bad())?;
    Ok(Some(utc.timestamp().as_microsecond()))
}

/// A ConnID as stored, or why it is not one.
pub fn parse_conn_id(name: &str, text: &str) -> Result<String, String> {
    conn_id(text).ok_or_else(|| {
        format!("{name}={text:?} is not a ConnID: a ConnID is up to 16 hex digits (009a021843038407)")
    })
}

/// A yes/no parameter: `true`, `yes`, `false`, `no` (any case).
fn parse_bool(name: &str, value: &str) -> Result<Option<bool>, String> {
    let Some(text) = given(value) else { return Ok(None) };
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(Some(true)),
        "false" | "no" => Ok(Some(false)),
        _ => Err(format!("{name}={text:?} is not true or false (yes or no)")),
    }
}

fn parse_limit(value: &str) -> Result<usize, String> {
    let Some(text) = given(value) else { return Ok(DEFAULT_LIMIT) };
    let most = callstitch_store::sqlite::MAX_PAGE;
    match text.parse::<usize>() {
        Ok(limit) if (1..=most).contains(&limit) => Ok(limit),
        _ => Err(format!("limit={text} is not 1 to {most}; page through more with the cursor")),
    }
}

fn parse_state(value: &str) -> Result<Option<String>, String> {
    let Some(text) = given(value) else { return Ok(None) };
    if Lifecycle::ALL.iter().any(|state| state.label() == text) {
        return Ok(Some(text));
    }
    Err(format!("state {text:?} is not live, settling, complete or empty"))
}

fn parse_outcome(value: &str) -> Result<Option<String>, String> {
    let Some(text) = given(value) else { return Ok(None) };
    if OUTCOMES.contains(&text.as_str()) {
        return Ok(Some(text));
    }
    Err(format!("outcome {text:?} is not an outcome: one of {}", OUTCOMES.join(", ")))
}

fn parse_cursor(value: &str) -> Result<Option<Cursor>, String> {
    let Some(text) = given(value) else { return Ok(None) };
    Cursor::decode(&text).map(Some).map_err(|_| {
        format!("cursor={text:?} is damaged: pass the next_cursor of the previous page unchanged, or start again from the newest")
    })
}

fn parse_format(value: &str) -> Result<Format, String> {
    match given(value).as_deref() {
        None | Some("json") | Some("html") => Ok(Format::Native),
        Some("csv") => Ok(Format::Csv),
        Some(other) => Err(format!("format={other:?} is not json, html or csv")),
    }
}

/// Collects the problems of every parameter, so that one answer names them all.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn take<T: Default>(&mut self, result: Result<T, String>) -> T {
        result.unwrap_or_else(|problem| {
            self.0.push(problem);
            T::default()
        })
    }
}

impl SearchParams {
    /// The kind `q` is read as (`any` when not given).
    pub fn kind(&self) -> &str {
        match self.kind.trim() {
            "" => "any",
            kind => kind,
        }
    }

    /// The search these parameters ask for, or every problem with them.
    pub fn search(&self) -> Result<Search, Vec<String>> {
        let mut problems = Problems::default();
        let mut query = InteractionQuery {
            call_uuid: given(&self.call_uuid),
            conn_id: problems
                .take(given(&self.conn_id).map(|text| parse_conn_id("conn_id", &text)).transpose()),
            dn: given(&self.dn),
            islink: given(&self.islink),
            site: given(&self.site),
            from_us: problems.take(parse_time("from", &self.from)),
            to_us: problems.take(parse_time("to", &self.to)),
            outcome: problems.take(parse_outcome(&self.outcome)),
            released_by: given(&self.released_by),
            has_findings: problems.take(parse_bool("has_findings", &self.has_findings)),
            complete: problems.take(parse_bool("complete", &self.complete)),
            state: problems.take(parse_state(&self.state)),
            limit: problems.take(parse_limit(&self.limit)),
            cursor: problems.take(parse_cursor(&self.cursor)),
            ..InteractionQuery::default()
        };
        let format = problems.take(parse_format(&self.format).map(Some)).unwrap_or(Format::Native);
        if let Some(q) = given(&self.q) {
            problems.take(self.read_q(q, &mut query));
        }
        if problems.0.is_empty() {
            Ok(Search { query, format })
        } else {
            Err(problems.0)
        }
    }

    /// Puts the free text where its kind says; a kind already given by its own parameter
    /// with another value is a conflict.
    fn read_q(&self, q: String, query: &mut InteractionQuery) -> Result<(), String> {
        let (slot, value) = match self.kind() {
            "any" => {
                query.any_id = Some(q);
                return Ok(());
            }
            "call_uuid" => (&mut query.call_uuid, q),
            "dn" => (&mut query.dn, q),
            "islink" => (&mut query.islink, q),
            "conn_id" => (&mut query.conn_id, parse_conn_id("q", &q)?),
            other => {
                let kinds: Vec<&str> = KINDS.iter().map(|(kind, _)| *kind).collect();
                return Err(format!("search kind {other:?} is not one of {}", kinds.join(", ")));
            }
        };
        match slot {
            Some(own) if *own != value => {
                Err(format!("q={value:?} as {} and {}={own:?} disagree: give one", self.kind(), self.kind()))
            }
            _ => {
                *slot = Some(value);
                Ok(())
            }
        }
    }

    /// The query string of these parameters with another cursor (and no format): the link
    /// to another page of the same search.
    pub fn link(&self, path: &str, cursor: Option<&str>, format: Option<&str>) -> String {
        let pairs = [
            ("q", self.q.as_str()),
            ("kind", self.kind.as_str()),
            ("call_uuid", self.call_uuid.as_str()),
            ("conn_id", self.conn_id.as_str()),
            ("dn", self.dn.as_str()),
            ("islink", self.islink.as_str()),
            ("site", self.site.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("outcome", self.outcome.as_str()),
            ("released_by", self.released_by.as_str()),
            ("has_findings", self.has_findings.as_str()),
            ("complete", self.complete.as_str()),
            ("state", self.state.as_str()),
            ("limit", self.limit.as_str()),
            ("cursor", cursor.unwrap_or("")),
            ("format", format.unwrap_or("")),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(key, value)| format!("{key}={}", crate::ui::html::url_encode(value.trim())))
            .collect();
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", query.join("&"))
        }
    }
}

/// The site filter names a site this service knows: a configured one, or one a stored
/// call was on. Otherwise the problem, naming the known sites.
pub async fn check_site<S: Store>(
    app: &App<S>,
    query: &InteractionQuery,
) -> Result<Option<String>, StoreError> {
    let Some(site) = &query.site else { return Ok(None) };
    if app.sites.iter().any(|known| known == site) {
        return Ok(None);
    }
    let stored = app.store.sites().await?;
    if stored.contains(site) {
        return Ok(None);
    }
    let mut known: Vec<&str> = app.sites.iter().chain(&stored).map(String::as_str).collect();
    known.sort_unstable();
    known.dedup();
    let known = if known.is_empty() { "none yet".to_string() } else { known.join(", ") };
    Ok(Some(format!(
        "site {site:?} is unknown: it is not configured and no stored call was on it (known sites: {known})"
    )))
}

/// What the page's live script needs to keep only the arriving rows this search shows; none
/// when it cannot tell (a ConnID or IS-Link id, an older page).
pub fn live_filters(query: &InteractionQuery) -> Option<Value> {
    let live = query.cursor.is_none() && query.conn_id.is_none() && query.islink.is_none();
    live.then(|| {
        json!({
            "any_id": query.any_id,
            "call_uuid": query.call_uuid,
            "dn": query.dn,
            "site": query.site,
            "outcome": query.outcome,
            "released_by": query.released_by,
            "has_findings": query.has_findings,
            "complete": query.complete,
            "state": query.state,
            "from_us": query.from_us,
            "to_us": query.to_us,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> SearchParams {
        serde_urlencoded_like(query)
    }

    /// The parameters as axum's `Query` reads them.
    fn serde_urlencoded_like(query: &str) -> SearchParams {
        let uri: axum::http::Uri = format!("/?{query}").parse().expect("uri");
        axum::extract::Query::<SearchParams>::try_from_uri(&uri).expect("parameters").0
    }

    #[test]
    fn every_outcome_listed_is_one_the_engine_writes() {
        for outcome in OUTCOMES {
            let parsed: Result<callstitch_engine::Outcome, _> = serde_json::from_value(json!(outcome));
            assert_eq!(parsed.map(|outcome| outcome.slug()).ok(), Some(*outcome));
        }
    }

    #[test]
    fn the_pages_old_spellings_and_the_apis_mean_the_same_search() {
        let pairs = [
            ("findings=yes", "has_findings=true"),
            ("findings=no", "has_findings=false"),
            ("has_findings=YES", "has_findings=true"),
            ("complete=yes", "complete=true"),
            ("from=2026-12-05", "from=2026-12-05T00:00:00Z"),
            ("from=2026-12-05T08:30", "from=2026-12-05T08:30:00Z"),
            ("to=2026-12-05%2008:30:00", "to=2026-12-05T09:30:00%2B01:00"),
            ("q=9A0218&kind=conn_id", "conn_id=00000000009a0218"),
            ("q=7001&kind=dn", "dn=7001"),
        ];
        for (old, new) in pairs {
            let (old_search, new_search) = (params(old).search(), params(new).search());
            assert_eq!(
                old_search.map(|search| search.query).ok(),
                new_search.map(|search| search.query).ok(),
                "{old} vs {new}"
            );
        }
    }

    #[test]
    fn every_problem_of_a_search_is_named_at_once() {
        let problems =
            params("from=yesterday&outcome=bogus&limit=0&state=gone&has_findings=maybe&format=xml")
                .search()
                .err()
                .unwrap_or_default();
        let text = problems.join("\n");
        for says in [
            "from=\"yesterday\" is not a time",
            "outcome \"bogus\"",
            "limit=0",
            "state \"gone\"",
            "has_findings=\"maybe\"",
            "format=\"xml\"",
        ] {
            assert!(text.contains(says), "{says} in {text}");
        }
        assert!(text.contains("abandoned-in-queue"), "the outcomes are listed: {text}");
    }

    #[test]
    fn a_free_text_id_and_its_own_parameter_must_agree() {
        assert!(params("q=7001&kind=dn&dn=7001").search().is_ok());
        assert!(params("q=7001&kind=dn&dn=7002").search().is_err());
        assert_eq!(
            params("q=abc").search().ok().and_then(|search| search.query.any_id).as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn a_link_keeps_every_filter_and_swaps_the_cursor() {
        let form = params("q=a%20b&site=S&has_findings=yes&cursor=1.0000000000000000");
        assert_eq!(
            form.link("/", Some("2.ffffffffffffffff"), None),
            "/?q=a%20b&site=S&has_findings=yes&cursor=2.ffffffffffffffff"
        );
        assert_eq!(
            form.link("/v1/interactions.csv", None, None),
            "/v1/interactions.csv?q=a%20b&site=S&has_findings=yes"
        );
        assert_eq!(SearchParams::default().link("/", None, Some("csv")), "/?format=csv");
    }
}
