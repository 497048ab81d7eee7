//! `GET /`: the search page. One box takes a CallUUID, ConnID, DN (ANI/DNIS too) or
//! Inter-Site Link id; filters narrow by site, start time, outcome, who released and
//! findings. A free-text search runs one store query per kind of id the text could be and
//! merges the pages (same order, same cursor), so the store needs no free-text index.
//! Results are one row per interaction linking to `/i/{id}`, older pages by cursor; on the
//! first page new interactions arrive live (`/ui/assets/ui.js`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use callstitch_store::{Cursor, InteractionQuery, Page as StorePage, Store, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::html::{esc, html, released_by, text, texts, time, url_encode, Page};
use crate::api::App;
use crate::mask::mask_all;

/// Interactions per page.
pub const PAGE_SIZE: usize = 50;

/// The search form, as the query string carries it; empty means not set.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct SearchForm {
    pub q: String,
    /// `any` (default), `call_uuid`, `conn_id`, `dn`, `islink`.
    pub kind: String,
    pub site: String,
    pub from: String,
    pub to: String,
    pub outcome: String,
    pub released_by: String,
    /// `yes`, `no` or empty.
    pub findings: String,
    /// `live`, `settling`, `complete` or empty.
    pub state: String,
    pub cursor: String,
}

/// The kinds of id the search box takes, as the form's select names them.
const KINDS: &[(&str, &str)] = &[
    ("any", "any id"),
    ("call_uuid", "CallUUID"),
    ("conn_id", "ConnID"),
    ("dn", "DN, ANI or DNIS"),
    ("islink", "Inter-Site Link id"),
];

/// Outcomes offered in the filter's list (the engine's outcome names; others may be typed).
const OUTCOMES: &[&str] = &[
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

fn set(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// A time of the form: RFC 3339, or what a `datetime-local` input sends (taken as UTC), or
/// a date (its midnight UTC). Returns UTC µs.
pub fn parse_time(name: &str, value: &str) -> Result<Option<i64>, String> {
    let Some(text) = set(value) else { return Ok(None) };
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Ok(Some(timestamp.as_microsecond()));
    }
    let civil = text.parse::<jiff::civil::DateTime>().ok().or_else(|| {
        text.parse::<jiff::civil::Date>().ok().map(|date| date.to_datetime(jiff::civil::Time::midnight()))
    });
    let utc = civil.and_then(|civil| civil.to_zoned(jiff::tz::TimeZone::UTC).ok());
    match utc {
        Some(zoned) => Ok(Some(zoned.timestamp().as_microsecond())),
        None => Err(format!("{name} {text:?} is not a time: write it like 2012-10-29T14:41:00Z (UTC)")),
    }
}

/// A ConnID as the store keeps it (16 lowercase hex digits), or why it is not one.
pub fn parse_conn_id(text: &str) -> Result<String, String> {
    let valid = !text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if valid {
        Ok(format!("{:0>16}", text.to_ascii_lowercase()))
    } else {
        Err(format!("{text:?} is not a ConnID: a ConnID is up to 16 hex digits (009a021843038407)"))
    }
}

impl SearchForm {
    fn kind(&self) -> &str {
        match self.kind.trim() {
            "" => "any",
            kind => kind,
        }
    }

    /// The filters every query of this search shares.
    fn base(&self) -> Result<InteractionQuery, Vec<String>> {
        let mut problems = Vec::new();
        let from_us = parse_time("From", &self.from).unwrap_or_else(|problem| {
            problems.push(problem);
            None
        });
        let to_us = parse_time("To", &self.to).unwrap_or_else(|problem| {
            problems.push(problem);
            None
        });
        let has_findings = match self.findings.trim() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            other => {
                problems.push(format!("findings {other:?} is not yes, no or empty"));
                None
            }
        };
        let state = match self.state.trim() {
            "" => None,
            state @ ("live" | "settling" | "complete") => Some(state.to_string()),
            other => {
                problems.push(format!("state {other:?} is not live, settling, complete or empty"));
                None
            }
        };
        let cursor = match set(&self.cursor) {
            None => None,
            Some(text) => Cursor::decode(&text).map(Some).unwrap_or_else(|_| {
                problems.push("the page link (cursor) is damaged: start again from the newest".to_string());
                None
            }),
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(InteractionQuery {
            site: set(&self.site),
            from_us,
            to_us,
            outcome: set(&self.outcome),
            released_by: set(&self.released_by),
            has_findings,
            state,
            limit: PAGE_SIZE,
            cursor,
            ..InteractionQuery::default()
        })
    }

    /// The store queries this search runs: one, or one per kind of id for a free text.
    pub fn queries(&self) -> Result<Vec<InteractionQuery>, Vec<String>> {
        let base = self.base()?;
        let Some(q) = set(&self.q) else { return Ok(vec![base]) };
        let with = |field: fn(&mut InteractionQuery, String), value: String| {
            let mut query = base.clone();
            field(&mut query, value);
            query
        };
        let call_uuid = |query: &mut InteractionQuery, value| query.call_uuid = Some(value);
        let dn = |query: &mut InteractionQuery, value| query.dn = Some(value);
        let islink = |query: &mut InteractionQuery, value| query.islink = Some(value);
        let conn_id = |query: &mut InteractionQuery, value| query.conn_id = Some(value);
        match self.kind() {
            "call_uuid" => Ok(vec![with(call_uuid, q)]),
            "dn" => Ok(vec![with(dn, q)]),
            "islink" => Ok(vec![with(islink, q)]),
            "conn_id" => {
                parse_conn_id(&q).map(|conn| vec![with(conn_id, conn)]).map_err(|problem| vec![problem])
            }
            "any" => {
                let mut queries =
                    vec![with(call_uuid, q.clone()), with(dn, q.clone()), with(islink, q.clone())];
                if let Ok(conn) = parse_conn_id(&q) {
                    queries.push(with(conn_id, conn));
                }
                Ok(queries)
            }
            other => {
                Err(vec![format!("search kind {other:?} is not one of any, call_uuid, conn_id, dn, islink")])
            }
        }
    }

    /// The query string of this search with another cursor.
    fn link(&self, cursor: Option<&str>) -> String {
        let pairs = [
            ("q", self.q.as_str()),
            ("kind", self.kind.as_str()),
            ("site", self.site.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
            ("outcome", self.outcome.as_str()),
            ("released_by", self.released_by.as_str()),
            ("findings", self.findings.as_str()),
            ("state", self.state.as_str()),
            ("cursor", cursor.unwrap_or("")),
        ];
        let query: Vec<String> = pairs
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(key, value)| format!("{key}={}", url_encode(value.trim())))
            .collect();
        format!("/?{}", query.join("&"))
    }
}

/// Where a summary sorts: the store's order (start µs, then id, newest first).
fn sort_key(summary: &Value) -> (i64, String) {
    let start = text(summary, "start").parse::<jiff::Timestamp>().map_or(0, |time| time.as_microsecond());
    (start, text(summary, "interaction_id").to_string())
}

/// Runs the queries and merges their pages into one, newest first, without repeats.
pub async fn run<S: Store>(store: &S, queries: Vec<InteractionQuery>) -> Result<StorePage, StoreError> {
    let limit = queries.first().map_or(PAGE_SIZE, |query| query.limit);
    let mut queries = queries;
    if queries.len() == 1 {
        if let Some(query) = queries.pop() {
            return store.interactions(query).await;
        }
    }
    let mut merged: Vec<Value> = Vec::new();
    let mut more = false;
    for query in queries {
        let page = store.interactions(query).await?;
        more |= page.next_cursor.is_some();
        merged.extend(page.items);
    }
    merged.sort_by_key(|summary| std::cmp::Reverse(sort_key(summary)));
    merged.dedup_by(|a, b| text(a, "interaction_id") == text(b, "interaction_id"));
    more |= merged.len() > limit;
    merged.truncate(limit);
    let next_cursor = more
        .then(|| merged.last().map(sort_key))
        .flatten()
        .map(|(start_us, id)| Cursor { start_us, id }.encode());
    Ok(StorePage { items: merged, next_cursor })
}

pub async fn page<S: Store>(
    State(app): State<App<S>>,
    form: Result<Query<SearchForm>, QueryRejection>,
) -> Response {
    let signed_in = !app.tokens.is_empty();
    let form = match form {
        Ok(Query(form)) => form,
        Err(rejection) => {
            let problems = vec![format!("The search was not understood: {}", rejection.body_text())];
            return render(&SearchForm::default(), Err(problems), signed_in);
        }
    };
    let queries = match form.queries() {
        Ok(queries) => queries,
        Err(problems) => return render(&form, Err(problems), signed_in),
    };
    match run(&app.store, queries).await {
        Ok(mut page) => {
            if app.mask_numbers {
                page.items.iter_mut().for_each(|item| mask_all(&mut [item]));
            }
            render(&form, Ok(page), signed_in)
        }
        Err(StoreError::BadCursor(_)) => {
            render(&form, Err(vec!["the page link (cursor) is damaged".into()]), signed_in)
        }
        Err(error) => {
            tracing::error!(%error, "store");
            super::html::error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The store failed",
                &error.to_string(),
                signed_in,
            )
        }
    }
}

/// The page: the form, then the problems (400) or the results (200).
fn render(form: &SearchForm, result: Result<StorePage, Vec<String>>, signed_in: bool) -> Response {
    let mut page = Page::new("Search interactions").with_query(&form.q).with_script().signed_in(signed_in);
    page.push("<h1>Interactions</h1>\n");
    page.push(&form_html(form));
    match result {
        Err(problems) => {
            page.push("<div class=\"message error\" role=\"alert\"><p><strong>The search cannot run:</strong></p><ul>");
            for problem in problems {
                page.push(&format!("<li>{}</li>", esc(&problem)));
            }
            page.push("</ul></div>\n");
            html(StatusCode::BAD_REQUEST, page.finish())
        }
        Ok(results) => {
            page.push(&results_html(form, &results));
            html(StatusCode::OK, page.finish())
        }
    }
}

fn input(id: &str, label: &str, value: &str, kind: &str, extra: &str) -> String {
    format!(
        "<div class=\"field\"><label for=\"{id}\">{label}</label>\
         <input id=\"{id}\" name=\"{id}\" type=\"{kind}\" value=\"{}\"{extra}></div>",
        esc(value)
    )
}

fn form_html(form: &SearchForm) -> String {
    let mut out = String::from("<form method=\"get\" action=\"/\" class=\"search\" role=\"search\">\n");
    out.push_str(&format!(
        "<div class=\"field wide\"><label for=\"q\">CallUUID, ConnID, DN, ANI/DNIS or Inter-Site Link id</label>\
         <input id=\"q\" name=\"q\" type=\"search\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\"></div>\n",
        esc(&form.q)
    ));
    out.push_str(
        "<div class=\"field\"><label for=\"kind\">Search in</label><select id=\"kind\" name=\"kind\">",
    );
    for (value, label) in KINDS {
        let selected = if form.kind() == *value { " selected" } else { "" };
        out.push_str(&format!("<option value=\"{value}\"{selected}>{label}</option>"));
    }
    out.push_str("</select></div>\n<fieldset class=\"filters\"><legend>Filters</legend>\n");
    out.push_str(&input("site", "Site", &form.site, "text", ""));
    out.push_str(&input(
        "from",
        "Started from (UTC)",
        &form.from,
        "text",
        " placeholder=\"YYYY-MM-DDTHH:MM:SSZ\"",
    ));
    out.push_str(&input(
        "to",
        "Started before (UTC)",
        &form.to,
        "text",
        " placeholder=\"YYYY-MM-DDTHH:MM:SSZ\"",
    ));
    out.push_str(&input("outcome", "Outcome", &form.outcome, "text", " list=\"outcomes\""));
    out.push_str("<datalist id=\"outcomes\">");
    for outcome in OUTCOMES {
        out.push_str(&format!("<option value=\"{outcome}\">"));
    }
    out.push_str("</datalist>\n");
    out.push_str(&input(
        "released_by",
        "Released by (customer, agent, system, unknown or a DN)",
        &form.released_by,
        "text",
        " list=\"releasers\"",
    ));
    out.push_str("<datalist id=\"releasers\"><option value=\"customer\"><option value=\"agent\"><option value=\"system\"><option value=\"unknown\"></datalist>\n");
    out.push_str("<div class=\"field\"><label for=\"findings\">Recording findings</label><select id=\"findings\" name=\"findings\">");
    for (value, label) in [("", "either"), ("yes", "with findings"), ("no", "without findings")] {
        let selected = if form.findings.trim() == value { " selected" } else { "" };
        out.push_str(&format!("<option value=\"{value}\"{selected}>{label}</option>"));
    }
    out.push_str("</select></div>\n");
    out.push_str(
        "<div class=\"field\"><label for=\"state\">State</label><select id=\"state\" name=\"state\">",
    );
    for (value, label) in
        [("", "any"), ("live", "live: a call is up now"), ("settling", "settling"), ("complete", "complete")]
    {
        let selected = if form.state.trim() == value { " selected" } else { "" };
        out.push_str(&format!("<option value=\"{value}\"{selected}>{label}</option>"));
    }
    out.push_str(
        "</select></div>\n</fieldset>\n<div class=\"actions\"><button type=\"submit\">Search</button> \
                  <a href=\"/\">Clear</a></div>\n</form>\n",
    );
    out
}

/// What the live script needs to keep only the arriving rows this search would show.
fn live_filters(form: &SearchForm) -> Option<Value> {
    let live = form.cursor.trim().is_empty() && matches!(form.kind(), "any" | "call_uuid" | "dn");
    if !live {
        return None;
    }
    Some(json!({
        "q": form.q.trim(),
        "kind": form.kind(),
        "site": form.site.trim(),
        "outcome": form.outcome.trim(),
        "released_by": form.released_by.trim(),
        "findings": form.findings.trim(),
        "state": form.state.trim(),
        "from_us": parse_time("from", &form.from).ok().flatten(),
        "to_us": parse_time("to", &form.to).ok().flatten(),
    }))
}

fn results_html(form: &SearchForm, results: &StorePage) -> String {
    let mut out = String::from("<section aria-labelledby=\"results-heading\">\n");
    let older = if form.cursor.trim().is_empty() { "" } else { " (older)" };
    out.push_str(&format!("<h2 id=\"results-heading\">Results{older}</h2>\n"));
    let (live, filters) = match live_filters(form) {
        Some(filters) => ("on", filters.to_string()),
        None => ("off", "{}".to_string()),
    };
    out.push_str(&format!(
        "<p id=\"live-status\" class=\"muted\" role=\"status\" aria-live=\"polite\">{} shown{}.</p>\n",
        count_text(results.items.len()),
        if live == "on" { "; new interactions appear at the top as they are written" } else { "" }
    ));
    out.push_str(&format!(
        "<div class=\"table-wrap\"><table id=\"results\" class=\"results\" data-live=\"{live}\" \
         data-stream=\"/ui/stream\" data-filters=\"{}\">\n<caption class=\"visually-hidden\">Interactions, newest first</caption>\n\
         <thead><tr><th scope=\"col\">Interaction</th><th scope=\"col\">Start</th><th scope=\"col\">Now</th>\
         <th scope=\"col\">Sites visited</th>\
         <th scope=\"col\">Parties</th><th scope=\"col\">Outcome</th><th scope=\"col\">Released by</th>\
         <th scope=\"col\">Recorded</th><th scope=\"col\">Findings</th></tr></thead>\n<tbody>\n",
        esc(&filters)
    ));
    if results.items.is_empty() {
        out.push_str("<tr class=\"empty\"><td colspan=\"9\">No interaction matches.</td></tr>\n");
    }
    for summary in &results.items {
        out.push_str(&row(summary));
    }
    out.push_str("</tbody></table></div>\n<nav class=\"pager\" aria-label=\"Result pages\">");
    if !form.cursor.trim().is_empty() {
        out.push_str(&format!("<a href=\"{}\">Newest</a> ", esc(&form.link(None))));
    }
    if let Some(next) = &results.next_cursor {
        out.push_str(&format!(
            "<a rel=\"next\" class=\"older\" href=\"{}\">Older interactions</a>",
            esc(&form.link(Some(next)))
        ));
    }
    out.push_str("</nav>\n</section>\n");
    out
}

fn count_text(count: usize) -> String {
    match count {
        0 => "No interaction".to_string(),
        1 => "1 interaction".to_string(),
        _ => format!("{count} interactions"),
    }
}

/// One result row (ui.js builds the same for live rows).
pub fn row(summary: &Value) -> String {
    let id = text(summary, "interaction_id");
    let parties = texts(summary, "parties").join(", ");
    let mut numbers = Vec::new();
    if !text(summary, "ani").is_empty() {
        numbers.push(format!("ANI {}", text(summary, "ani")));
    }
    if !text(summary, "dnis").is_empty() {
        numbers.push(format!("DNIS {}", text(summary, "dnis")));
    }
    let mut outcome = esc(text(summary, "outcome"));
    if summary.get("complete").and_then(Value::as_bool) == Some(false) {
        outcome.push_str(" <span class=\"badge\">linking still open</span>");
    }
    let media = summary.get("media_files").and_then(Value::as_u64).unwrap_or(0);
    let recorded = match media {
        0 => "no".to_string(),
        1 => "yes, 1 file".to_string(),
        n => format!("yes, {n} files"),
    };
    let findings = match summary.get("findings").and_then(Value::as_u64).unwrap_or(0) {
        0 => "none".to_string(),
        1 => "<span class=\"warn\">⚠ 1 finding</span>".to_string(),
        n => format!("<span class=\"warn\">⚠ {n} findings</span>"),
    };
    format!(
        "<tr id=\"row-{idattr}\" data-id=\"{idattr}\"><th scope=\"row\" data-label=\"Interaction\">\
         <a class=\"open\" href=\"/i/{href}\">{idtext}</a></th>\
         <td data-label=\"Start\">{start}</td><td data-label=\"Now\">{now}</td>\
         <td data-label=\"Sites visited\">{sites}</td>\
         <td data-label=\"Parties\">{parties}{numbers}</td><td data-label=\"Outcome\">{outcome}</td>\
         <td data-label=\"Released by\">{released}</td><td data-label=\"Recorded\">{recorded}</td>\
         <td data-label=\"Findings\">{findings}</td></tr>\n",
        idattr = esc(id),
        href = url_encode(id),
        idtext = esc(id),
        start = time(text(summary, "start")),
        now = now_cell(summary),
        sites = esc(&texts(summary, "sites").join(" → ")),
        parties = esc(&parties),
        numbers = if numbers.is_empty() {
            String::new()
        } else {
            format!("<br><span class=\"muted\">{}</span>", esc(&numbers.join(", ")))
        },
        released = esc(&released_by(summary.get("released_by").unwrap_or(&Value::Null))),
    )
}

/// Where the interaction is now: live at a site since a time (the page's script counts the
/// minutes), settling, or complete.
fn now_cell(summary: &Value) -> String {
    match text(summary, "state") {
        "live" => format!(
            "<span class=\"badge now-live\">live</span> at {} <time class=\"since\" datetime=\"{}\">since {}</time>",
            esc(text(summary, "current_site")),
            esc(text(summary, "current_since")),
            esc(text(summary, "current_since"))
        ),
        "settling" => "<span class=\"badge\">settling</span>".to_string(),
        "" | "complete" => "complete".to_string(),
        other => esc(other),
    }
}

/// The summaries' ids, for tests.
#[cfg(test)]
pub fn ids(page: &StorePage) -> Vec<String> {
    page.items.iter().map(|item| text(item, "interaction_id").to_string()).collect()
}
