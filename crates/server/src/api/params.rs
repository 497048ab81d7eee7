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

/// A search parameter that cannot be read: which parameter, what was given, and (the
/// variant, worded in its message) what it takes. The messages are the 400 answers' and
/// the search page's (docs/api.md, "Search parameters").
#[derive(Debug, thiserror::Error)]
pub enum ParamError {
    #[error(
        "{name}={given:?} is not a time: write RFC 3339 (2012-10-29T14:41:00Z), or a UTC date \
         and time (2012-10-29T14:41) or date (2012-10-29), from year 0000 to 9999"
    )]
    Time { name: String, given: String },
    #[error("{name}={given:?} is not a ConnID: a ConnID is up to 16 hex digits (009a021843038407)")]
    ConnId { name: String, given: String },
    #[error("{name}={given:?} is not true or false (yes or no)")]
    YesNo { name: String, given: String },
    #[error("limit={given} is not 1 to {most}; page through more with the cursor")]
    Limit { given: String, most: usize },
    #[error("state {given:?} is not live, settling, complete or empty")]
    State { given: String },
    #[error("outcome {given:?} is not an outcome: one of {}", OUTCOMES.join(", "))]
    Outcome { given: String },
    #[error(
        "cursor={given:?} is damaged: pass the next_cursor of the previous page unchanged, or start again from the newest"
    )]
    Cursor {
        given: String,
        #[source]
        source: StoreError,
    },
    #[error("format={given:?} is not json, html or csv")]
    Format { given: String },
    #[error("search kind {given:?} is not one of {}", kind_names())]
    Kind { given: String },
    /// `q` read as `kind` and the parameter of that kind name different ids.
    #[error("q={given:?} as {kind} and {kind}={own:?} disagree: give one")]
    Disagree { kind: String, given: String, own: String },
}

impl ParamError {
    /// The parameter at fault.
    pub fn name(&self) -> &str {
        match self {
            ParamError::Time { name, .. }
            | ParamError::ConnId { name, .. }
            | ParamError::YesNo { name, .. } => name,
            ParamError::Limit { .. } => "limit",
            ParamError::State { .. } => "state",
            ParamError::Outcome { .. } => "outcome",
            ParamError::Cursor { .. } => "cursor",
            ParamError::Format { .. } => "format",
            ParamError::Kind { .. } => "kind",
            ParamError::Disagree { .. } => "q",
        }
    }

    /// The value given, trimmed.
    pub fn given(&self) -> &str {
        match self {
            ParamError::Time { given, .. }
            | ParamError::ConnId { given, .. }
            | ParamError::YesNo { given, .. }
            | ParamError::Limit { given, .. }
            | ParamError::State { given }
            | ParamError::Outcome { given }
            | ParamError::Cursor { given, .. }
            | ParamError::Format { given }
            | ParamError::Kind { given }
            | ParamError::Disagree { given, .. } => given,
        }
    }
}

fn kind_names() -> String {
    KINDS.iter().map(|(kind, _)| *kind).collect::<Vec<_>>().join(", ")
}

/// A time: RFC 3339 (`2012-10-29T14:41:00Z`, any offset), or a UTC date and time without
/// an offset (`2012-10-29T14:41`, `2012-10-29 14:41:00`, what a `datetime-local` input
/// sends), or a UTC date (its midnight). Returns UTC µs, from year 0000 to 9999.
pub fn parse_time(name: &str, value: &str) -> Result<Option<i64>, ParamError> {
    let Some(text) = given(value) else { return Ok(None) };
    if let Some(timestamp) = callstitch_tlib::Timestamp::parse_rfc3339(&text) {
        return Ok(Some(timestamp.0));
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok().or_else(|| {
        text.parse::<jiff::civil::Date>().ok().map(|date| date.to_datetime(jiff::civil::Time::midnight()))
    });
    let utc = civil
        .filter(|civil| civil.year() >= 0)
        .and_then(|civil| civil.to_zoned(jiff::tz::TimeZone::UTC).ok());
    match utc {
        Some(utc) => Ok(Some(utc.timestamp().as_microsecond())),
        None => Err(ParamError::Time { name: name.to_string(), given: text }),
    }
}

/// A ConnID as stored, or why it is not one.
pub fn parse_conn_id(name: &str, text: &str) -> Result<String, ParamError> {
    conn_id(text).ok_or_else(|| ParamError::ConnId { name: name.to_string(), given: text.to_string() })
}

/// A yes/no parameter: `true`, `yes`, `false`, `no` (any case).
fn parse_bool(name: &str, value: &str) -> Result<Option<bool>, ParamError> {
    let Some(text) = given(value) else { return Ok(None) };
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" => Ok(Some(true)),
        "false" | "no" => Ok(Some(false)),
        _ => Err(ParamError::YesNo { name: name.to_string(), given: text }),
    }
}

fn parse_limit(value: &str) -> Result<usize, ParamError> {
    let Some(text) = given(value) else { return Ok(DEFAULT_LIMIT) };
    let most = callstitch_store::sqlite::MAX_PAGE;
    match text.parse::<usize>() {
        Ok(limit) if (1..=most).contains(&limit) => Ok(limit),
        _ => Err(ParamError::Limit { given: text, most }),
    }
}

fn parse_state(value: &str) -> Result<Option<String>, ParamError> {
    let Some(text) = given(value) else { return Ok(None) };
    if Lifecycle::ALL.iter().any(|state| state.label() == text) {
        return Ok(Some(text));
    }
    Err(ParamError::State { given: text })
}

fn parse_outcome(value: &str) -> Result<Option<String>, ParamError> {
    let Some(text) = given(value) else { return Ok(None) };
    if OUTCOMES.contains(&text.as_str()) {
        return Ok(Some(text));
    }
    Err(ParamError::Outcome { given: text })
}

fn parse_cursor(value: &str) -> Result<Option<Cursor>, ParamError> {
    let Some(text) = given(value) else { return Ok(None) };
    match Cursor::decode(&text) {
        Ok(cursor) => Ok(Some(cursor)),
        Err(source) => Err(ParamError::Cursor { given: text, source }),
    }
}

fn parse_format(value: &str) -> Result<Format, ParamError> {
    match given(value).as_deref() {
        None | Some("json") | Some("html") => Ok(Format::Native),
        Some("csv") => Ok(Format::Csv),
        Some(other) => Err(ParamError::Format { given: other.to_string() }),
    }
}

/// Collects the problems of every parameter, so that one answer names them all.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn take<T: Default>(&mut self, result: Result<T, ParamError>) -> T {
        result.unwrap_or_else(|problem| {
            self.0.push(problem.to_string());
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
    fn read_q(&self, q: String, query: &mut InteractionQuery) -> Result<(), ParamError> {
        let (slot, value) = match self.kind() {
            "any" => {
                query.any_id = Some(q);
                return Ok(());
            }
            "call_uuid" => (&mut query.call_uuid, q),
            "dn" => (&mut query.dn, q),
            "islink" => (&mut query.islink, q),
            "conn_id" => (&mut query.conn_id, parse_conn_id("q", &q)?),
            other => return Err(ParamError::Kind { given: other.to_string() }),
        };
        match slot {
            Some(own) if *own != value => {
                Err(ParamError::Disagree { kind: self.kind().to_string(), given: value, own: own.clone() })
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
    /// Each problem names its parameter and the value given; a damaged cursor keeps the
    /// store's reason as its cause. The words are the 400 answers' (pinned above).
    #[test]
    fn a_bad_parameter_is_a_typed_error_naming_the_parameter_and_what_was_given() {
        let mut with_dn_2 = InteractionQuery { dn: Some("2".to_string()), ..InteractionQuery::default() };
        let cases: [(Result<(), ParamError>, &str, &str); 6] = [
            (parse_time("to", " yesterday ").map(drop), "to", "yesterday"),
            (parse_conn_id("q", "xyz").map(drop), "q", "xyz"),
            (parse_bool("complete", "maybe").map(drop), "complete", "maybe"),
            (parse_limit("0").map(drop), "limit", "0"),
            (parse_cursor("1.x").map(drop), "cursor", "1.x"),
            (params("q=1&kind=dn").read_q("1".to_string(), &mut with_dn_2).map(drop), "q", "1"),
        ];
        for (result, name, given) in cases {
            let error = result.expect_err(name);
            assert_eq!((error.name(), error.given()), (name, given), "{error}");
            assert!(error.to_string().contains(given), "{error}");
        }
        let cursor = parse_cursor("1.x").expect_err("damaged");
        let cause = std::error::Error::source(&cursor).expect("the store's reason");
        assert!(cause.to_string().starts_with("bad cursor"), "{cause}");
        assert_eq!(
            parse_conn_id("conn_id", "xyz").expect_err("not a ConnID").to_string(),
            "conn_id=\"xyz\" is not a ConnID: a ConnID is up to 16 hex digits (009a021843038407)"
        );
    }
}
