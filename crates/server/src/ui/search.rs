//! `GET /`: the search page. One box takes a CallUUID, ConnID, DN (ANI/DNIS too) or
//! Inter-Site Link id; filters narrow by site, start time, outcome, who released, findings
//! and state. The parameters are the API's, read by the same code
//! ([`crate::api::params`]): a search URL of the page works on `/v1/interactions` and back.
//!
//! The page shows what the filter adds up to (interactions by outcome and by site, with
//! their mean duration), a CSV download of the whole filter (`format=csv`, the API's CSV),
//! and the results in start order, newest first, one row per interaction linking to
//! `/i/{id}`, older pages by cursor. On the first page new interactions arrive live
//! (`/ui/assets/ui.js`), each put at its place by start time.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use callstitch_store::{Page as StorePage, Store, StoreError, Summary, Tally};
use callstitch_tlib::Timestamp;

use super::html::{esc, html, time, url_encode, Page};
use crate::api::params::{check_site, live_filters, Format, SearchParams, KINDS, OUTCOMES};
use crate::api::App;
use crate::mask::mask_summary;

/// Interactions per page when the search does not say (`limit`).
pub const PAGE_SIZE: usize = crate::api::params::DEFAULT_LIMIT;

/// The search page's own styles (served after `ui.css` as one stylesheet).
pub const CSS: &str = r#"
/* Search page: counts of the filter, durations. */
section.counts { margin: .4rem 0 1rem; }
section.counts .summary { margin: .2rem 0 .6rem; }
.count-tables { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: flex-start; }
.count-tables .table-wrap { flex: 1 1 20rem; max-width: 44rem; }
table.counts { font-size: .92rem; }
table.counts td.n, table.counts th.n { text-align: right; font-variant-numeric: tabular-nums; }
table.counts ul.by-outcome { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .1rem .9rem; }
td.duration { white-space: nowrap; font-variant-numeric: tabular-nums; }
.exports { display: flex; flex-wrap: wrap; gap: .5rem 1.2rem; margin: .4rem 0; }
"#;

/// The longest the page spends counting its filter: past it, the page says to narrow the
/// search and shows the rows without the counts.
pub const COUNT_BUDGET: std::time::Duration = std::time::Duration::from_millis(1500);

/// What a search found: the page of rows, and (first page only) what the filter adds up to,
/// or why it was not counted.
pub struct Found {
    pub page: StorePage,
    pub tally: Option<Result<Tally, StoreError>>,
}

/// Runs the search of `params`: the page of rows and, on the first page, the counts.
async fn find<S: Store>(
    app: &App<S>,
    params: &SearchParams,
) -> Result<Result<Found, Vec<String>>, StoreError> {
    let search = match params.search() {
        Ok(search) => search,
        Err(problems) => return Ok(Err(problems)),
    };
    if let Some(problem) = check_site(app, &search.query).await? {
        return Ok(Err(vec![problem]));
    }
    // The rows and the counts are read at once, each on a reader of its own.
    let first_page = search.query.cursor.is_none();
    let counting = async {
        match first_page {
            true => Some(app.store.tally(search.query.clone(), COUNT_BUDGET).await),
            false => None,
        }
    };
    let (page, tally) = tokio::join!(app.store.interactions(search.query.clone()), counting);
    let mut page = page?;
    if app.mask_numbers {
        page.items.iter_mut().for_each(mask_summary);
    }
    let tally = match tally {
        None => None,
        Some(Ok(tally)) => Some(Ok(tally)),
        Some(Err(error @ StoreError::TooBroad { .. })) => Some(Err(error)),
        Some(Err(error)) => return Err(error),
    };
    Ok(Ok(Found { page, tally }))
}

pub async fn page<S: Store>(
    State(app): State<App<S>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Response {
    let signed_in = !app.tokens.is_empty();
    let params = match params {
        Ok(Query(params)) => params,
        Err(rejection) => {
            let problems = vec![format!("The search was not understood: {}", rejection.body_text())];
            return render(&SearchParams::default(), Err(problems), &[], signed_in);
        }
    };
    if let Ok(search) = params.search() {
        if search.format == Format::Csv {
            return csv(&app, &params).await;
        }
    }
    let sites = known_sites(&app).await;
    match find(&app, &params).await {
        Ok(found) => render(&params, found, &sites, signed_in),
        Err(error) => store_failed(&error, signed_in),
    }
}

/// The CSV of the search (the API's answer, behind the page's sign-in).
async fn csv<S: Store>(app: &App<S>, params: &SearchParams) -> Response {
    let signed_in = !app.tokens.is_empty();
    match crate::api::read::search_of(app, Ok(Query(params.clone()))).await {
        Ok((params, search)) => {
            crate::api::export::csv(app.clone(), search.query, crate::api::read::cap(&params))
        }
        Err(error) if error.status == StatusCode::BAD_REQUEST => {
            render(params, Err(vec![error.reason]), &known_sites(app).await, signed_in)
        }
        Err(error) => super::html::error_page(error.status, "The store failed", &error.reason, signed_in),
    }
}

fn store_failed(error: &StoreError, signed_in: bool) -> Response {
    tracing::error!(%error, "store");
    super::html::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The store failed",
        &error.to_string(),
        signed_in,
    )
}

/// The configured sites and those of stored calls, for the site field's suggestions.
async fn known_sites<S: Store>(app: &App<S>) -> Vec<String> {
    let mut sites = app.sites.clone();
    sites.extend(app.store.sites().await.unwrap_or_default());
    sites.sort();
    sites.dedup();
    sites
}

/// The page: the form, then the problems (400) or the counts and results (200).
fn render(
    params: &SearchParams,
    found: Result<Found, Vec<String>>,
    sites: &[String],
    signed_in: bool,
) -> Response {
    let mut page = Page::new("Search interactions").with_query(&params.q).with_script().signed_in(signed_in);
    page.push("<h1>Interactions</h1>\n");
    page.push(&form_html(params, sites));
    match found {
        Err(problems) => {
            page.push("<div class=\"message error\" role=\"alert\"><p><strong>The search cannot run:</strong></p><ul>");
            for problem in problems {
                page.push(&format!("<li>{}</li>", esc(&problem)));
            }
            page.push("</ul></div>\n");
            html(StatusCode::BAD_REQUEST, page.finish())
        }
        Ok(found) => {
            match &found.tally {
                Some(Ok(tally)) => page.push(&counts_html(params, tally)),
                Some(Err(too_broad)) => page.push(&format!(
                    "<section class=\"counts\" aria-labelledby=\"counts-heading\">\n<h2 id=\"counts-heading\">Counts for this search</h2>\n\
                     <p class=\"message notice\" role=\"status\">Not counted: {}. <a href=\"{}\" download>Download all as CSV</a></p>\n</section>\n",
                    esc(&too_broad.to_string()),
                    esc(&params.link("/", None, Some("csv")))
                )),
                None => {}
            }
            page.push(&results_html(params, &found.page));
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

fn select(id: &str, label: &str, current: &str, options: &[(&str, &str)]) -> String {
    let mut out =
        format!("<div class=\"field\"><label for=\"{id}\">{label}</label><select id=\"{id}\" name=\"{id}\">");
    for (value, words) in options {
        let selected = if current.trim() == *value { " selected" } else { "" };
        out.push_str(&format!("<option value=\"{}\"{selected}>{}</option>", esc(value), esc(words)));
    }
    out.push_str("</select></div>\n");
    out
}

/// A yes/no parameter as the form's select shows it (`findings=yes` is `true`).
fn yes_no(value: &str) -> &'static str {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => "true",
        "false" | "no" => "false",
        _ => "",
    }
}

fn form_html(params: &SearchParams, sites: &[String]) -> String {
    let mut out = String::from("<form method=\"get\" action=\"/\" class=\"search\" role=\"search\">\n");
    out.push_str(&format!(
        "<div class=\"field wide\"><label for=\"q\">CallUUID, ConnID, DN, ANI/DNIS or Inter-Site Link id</label>\
         <input id=\"q\" name=\"q\" type=\"search\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\"></div>\n",
        esc(&params.q)
    ));
    out.push_str(&select("kind", "Search in", params.kind(), KINDS));
    out.push_str("<fieldset class=\"filters\"><legend>Filters</legend>\n");
    out.push_str(&input("site", "Site", &params.site, "text", " list=\"sites\""));
    out.push_str("<datalist id=\"sites\">");
    for site in sites {
        out.push_str(&format!("<option value=\"{}\">", esc(site)));
    }
    out.push_str("</datalist>\n");
    let time_hint = " placeholder=\"2026-02-02T08:00Z\"";
    out.push_str(&input("from", "Started from (UTC)", &params.from, "text", time_hint));
    out.push_str(&input("to", "Started before (UTC)", &params.to, "text", time_hint));
    let mut outcomes: Vec<(&str, &str)> = vec![("", "any")];
    outcomes.extend(OUTCOMES.iter().map(|outcome| (*outcome, *outcome)));
    out.push_str(&select("outcome", "Outcome", &params.outcome, &outcomes));
    out.push_str(&input(
        "released_by",
        "Released by (customer, agent, system, unknown or a DN)",
        &params.released_by,
        "text",
        " list=\"releasers\"",
    ));
    out.push_str("<datalist id=\"releasers\"><option value=\"customer\"><option value=\"agent\"><option value=\"system\"><option value=\"unknown\"></datalist>\n");
    out.push_str(&select(
        "has_findings",
        "Recording findings",
        yes_no(&params.has_findings),
        &[("", "either"), ("true", "with findings"), ("false", "without findings")],
    ));
    out.push_str(&select(
        "state",
        "State",
        &params.state,
        &[
            ("", "any"),
            ("live", "live: a call is up now"),
            ("settling", "settling"),
            ("complete", "complete"),
        ],
    ));
    out.push_str("</fieldset>\n");
    // Parameters of the API the form has no field for: kept when the form is sent again.
    for (name, value) in [
        ("call_uuid", &params.call_uuid),
        ("conn_id", &params.conn_id),
        ("dn", &params.dn),
        ("islink", &params.islink),
        ("complete", &params.complete),
        ("limit", &params.limit),
    ] {
        if !value.trim().is_empty() {
            out.push_str(&format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
                esc(value.trim())
            ));
        }
    }
    out.push_str(
        "<div class=\"actions\"><button type=\"submit\">Search</button> <a href=\"/\">Clear</a></div>\n</form>\n",
    );
    out
}

/// `1 h 02 min`, `3 min 05 s`, `42 s`, `3.2 s`.
pub fn duration_text(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    if seconds < 10.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    match whole {
        0..60 => format!("{whole} s"),
        60..3600 => format!("{} min {:02} s", whole / 60, whole % 60),
        _ => format!("{} h {:02} min", whole / 3600, whole / 60 % 60),
    }
}

fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return String::new();
    }
    format!("{:.0} %", part as f64 * 100.0 / whole as f64)
}

/// What the filter adds up to: overall, by outcome and by site, each count a link to the
/// search narrowed to it.
fn counts_html(params: &SearchParams, tally: &Tally) -> String {
    let narrowed = |site: Option<&str>, outcome: Option<&str>| {
        let mut narrowed = params.clone();
        if let Some(site) = site {
            narrowed.site = site.to_string();
        }
        if let Some(outcome) = outcome {
            narrowed.outcome = outcome.to_string();
        }
        esc(&narrowed.link("/", None, None))
    };
    let mut out = String::from(
        "<section class=\"counts\" aria-labelledby=\"counts-heading\">\n<h2 id=\"counts-heading\">Counts for this search</h2>\n",
    );
    let mean =
        tally.mean_duration_s().map(|seconds| format!(", lasting {} on average", duration_text(seconds)));
    out.push_str(&format!(
        "<p class=\"summary\">{} matched{}, as the page was loaded. A multi-site interaction counts once under each site it visited.</p>\n",
        count_text(tally.interactions as usize),
        mean.unwrap_or_default()
    ));
    if tally.interactions == 0 {
        out.push_str("</section>\n");
        return out;
    }
    out.push_str(&format!(
        "<div class=\"exports\"><a href=\"{}\" download>Download all {} as CSV</a></div>\n",
        esc(&params.link("/", None, Some("csv"))),
        tally.interactions
    ));
    out.push_str(
        "<div class=\"count-tables\">\n<div class=\"table-wrap\"><table class=\"counts by-outcome\">\
                  <caption>By outcome</caption><thead><tr><th scope=\"col\">Outcome</th>\
                  <th scope=\"col\" class=\"n\">Interactions</th><th scope=\"col\" class=\"n\">Share</th>\
                  <th scope=\"col\" class=\"n\">Mean duration</th></tr></thead><tbody>\n",
    );
    for (outcome, count) in &tally.by_outcome {
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td class=\"n\"><a href=\"{}\">{}</a></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            esc(outcome),
            narrowed(None, Some(outcome)),
            count.interactions,
            share(count.interactions, tally.interactions),
            count.mean_duration_s().map(duration_text).unwrap_or_else(|| "unknown".to_string()),
        ));
    }
    out.push_str("</tbody></table></div>\n<div class=\"table-wrap\"><table class=\"counts by-site\">\
                  <caption>By site</caption><thead><tr><th scope=\"col\">Site</th>\
                  <th scope=\"col\" class=\"n\">Interactions</th><th scope=\"col\">By outcome</th></tr></thead><tbody>\n");
    for (site, count) in &tally.by_site {
        let outcomes: String = count
            .by_outcome
            .iter()
            .map(|(outcome, n)| {
                format!(
                    "<li><a href=\"{}\">{} {}</a></li>",
                    narrowed(Some(site), Some(outcome)),
                    n,
                    esc(outcome)
                )
            })
            .collect();
        out.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td class=\"n\"><a href=\"{}\">{}</a></td><td><ul class=\"by-outcome\">{outcomes}</ul></td></tr>\n",
            esc(site),
            narrowed(Some(site), None),
            count.interactions,
        ));
    }
    out.push_str("</tbody></table></div>\n</div>\n</section>\n");
    out
}

fn results_html(params: &SearchParams, results: &StorePage) -> String {
    let search = params.search().ok();
    let first_page = params.cursor.trim().is_empty();
    let mut out = String::from("<section aria-labelledby=\"results-heading\">\n");
    let older = if first_page { "" } else { " (older)" };
    out.push_str(&format!("<h2 id=\"results-heading\">Results{older}</h2>\n"));
    let filters = search.as_ref().and_then(|search| live_filters(&search.query));
    let (live, filters) = match filters {
        Some(filters) => ("on", filters.to_string()),
        None => ("off", "{}".to_string()),
    };
    out.push_str(&format!(
        "<p id=\"live-status\" class=\"muted\" role=\"status\" aria-live=\"polite\">{} shown, newest start first{}.</p>\n",
        count_text(results.items.len()),
        if live == "on" { "; new interactions appear at their place by start time as they are written" } else { "" }
    ));
    if !first_page {
        out.push_str(&format!(
            "<div class=\"exports\"><a href=\"{}\" download>Download all as CSV</a></div>\n",
            esc(&params.link("/", None, Some("csv")))
        ));
    }
    out.push_str(&format!(
        "<div class=\"table-wrap\"><table id=\"results\" class=\"results\" data-live=\"{live}\" \
         data-stream=\"/ui/stream\" data-filters=\"{}\" data-more=\"{}\">\n<caption class=\"visually-hidden\">Interactions, newest start first</caption>\n\
         <thead><tr><th scope=\"col\">Interaction</th><th scope=\"col\">Start</th><th scope=\"col\">Duration</th>\
         <th scope=\"col\">Now</th><th scope=\"col\">Sites visited</th>\
         <th scope=\"col\">Parties</th><th scope=\"col\">Outcome</th><th scope=\"col\">Released by</th>\
         <th scope=\"col\">Recorded</th><th scope=\"col\">Findings</th></tr></thead>\n<tbody>\n",
        esc(&filters),
        if results.next_cursor.is_some() { "yes" } else { "no" }
    ));
    if results.items.is_empty() {
        out.push_str("<tr class=\"empty\"><td colspan=\"10\">No interaction matches.</td></tr>\n");
    }
    for summary in &results.items {
        out.push_str(&row(summary));
    }
    out.push_str("</tbody></table></div>\n<nav class=\"pager\" aria-label=\"Result pages\">");
    if !first_page {
        out.push_str(&format!("<a href=\"{}\">Newest</a> ", esc(&params.link("/", None, None))));
    }
    if let Some(next) = &results.next_cursor {
        out.push_str(&format!(
            "<a rel=\"next\" class=\"older\" href=\"{}\">Older interactions</a>",
            esc(&params.link("/", Some(next), None))
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

/// A time of the row as RFC 3339 (empty when unknown).
fn time_text(micros: Option<i64>) -> String {
    micros.map(|micros| Timestamp(micros).to_string()).unwrap_or_default()
}

/// The row's start as RFC 3339 (empty when unknown: a start of 0).
fn start_text(summary: &Summary) -> String {
    time_text((summary.start_us != 0).then_some(summary.start_us))
}

/// The duration cell: start to end; while live (no end yet), start to now "so far" (the
/// page's script keeps counting).
fn duration_cell(summary: &Summary) -> String {
    if summary.state == "live" {
        if summary.start_us == 0 {
            return "<span class=\"muted\">unknown</span>".into();
        }
        let seconds = (jiff::Timestamp::now().as_microsecond() - summary.start_us) as f64 / 1e6;
        return format!(
            "<time class=\"elapsed\" datetime=\"{}\">{} so far</time>",
            esc(&start_text(summary)),
            duration_text(seconds)
        );
    }
    match crate::api::export::duration_s(summary) {
        None => "<span class=\"muted\">unknown</span>".to_string(),
        Some(seconds) => duration_text(seconds),
    }
}

/// Who released it, in words: `customer (+15551234567)`.
fn released_text(summary: &Summary) -> String {
    match (summary.released_by.as_str(), summary.released_by_dn.as_deref().unwrap_or("")) {
        ("", "") => "unknown".to_string(),
        (who, "") => who.to_string(),
        ("", dn) => dn.to_string(),
        (who, dn) => format!("{who} ({dn})"),
    }
}

/// One result row (ui.js builds the same for live rows).
pub fn row(summary: &Summary) -> String {
    let id = summary.interaction_id.as_str();
    let parties = summary.parties.join(", ");
    let mut numbers = Vec::new();
    if let Some(ani) = summary.ani.as_deref().filter(|ani| !ani.is_empty()) {
        numbers.push(format!("ANI {ani}"));
    }
    if let Some(dnis) = summary.dnis.as_deref().filter(|dnis| !dnis.is_empty()) {
        numbers.push(format!("DNIS {dnis}"));
    }
    let mut outcome = esc(&summary.outcome);
    if !summary.complete {
        outcome.push_str(" <span class=\"badge\">linking still open</span>");
    }
    let recorded = match summary.media_files {
        0 => "no".to_string(),
        1 => "yes, 1 file".to_string(),
        n => format!("yes, {n} files"),
    };
    let findings = match summary.findings {
        0 => "none".to_string(),
        1 => "<span class=\"warn\">⚠ 1 finding</span>".to_string(),
        n => format!("<span class=\"warn\">⚠ {n} findings</span>"),
    };
    format!(
        "<tr id=\"row-{idattr}\" data-id=\"{idattr}\" data-start=\"{start_us}\"><th scope=\"row\" data-label=\"Interaction\">\
         <a class=\"open\" href=\"/i/{href}\">{idtext}</a></th>\
         <td data-label=\"Start\">{start}</td><td data-label=\"Duration\" class=\"duration\">{duration}</td>\
         <td data-label=\"Now\">{now}</td>\
         <td data-label=\"Sites visited\">{sites}</td>\
         <td data-label=\"Parties\">{parties}{numbers}</td><td data-label=\"Outcome\">{outcome}</td>\
         <td data-label=\"Released by\">{released}</td><td data-label=\"Recorded\">{recorded}</td>\
         <td data-label=\"Findings\">{findings}</td></tr>\n",
        idattr = esc(id),
        start_us = summary.start_us,
        href = url_encode(id),
        idtext = esc(id),
        start = time(&start_text(summary)),
        duration = duration_cell(summary),
        now = now_cell(summary),
        sites = esc(&summary.sites.join(" → ")),
        parties = esc(&parties),
        numbers = if numbers.is_empty() {
            String::new()
        } else {
            format!("<br><span class=\"muted\">{}</span>", esc(&numbers.join(", ")))
        },
        released = esc(&released_text(summary)),
    )
}

/// Where the interaction is now: live at a site since a time (the page's script counts the
/// minutes), settling, or complete.
fn now_cell(summary: &Summary) -> String {
    match summary.state.as_str() {
        "live" => {
            let since = time_text(summary.current_since_us);
            format!(
                "<span class=\"badge now-live\">live</span> at {} <time class=\"since\" datetime=\"{}\">since {}</time>",
                esc(summary.current_site.as_deref().unwrap_or("")),
                esc(&since),
                esc(&since)
            )
        }
        "settling" => "<span class=\"badge\">settling</span>".to_string(),
        "" | "complete" => "complete".to_string(),
        other => esc(other),
    }
}

/// The summaries' ids, for tests.
#[cfg(test)]
pub fn ids(page: &StorePage) -> Vec<String> {
    page.items.iter().map(|item| item.interaction_id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration_text(3.24), "3.2 s");
        assert_eq!(duration_text(42.4), "42 s");
        assert_eq!(duration_text(185.0), "3 min 05 s");
        assert_eq!(duration_text(3720.0), "1 h 02 min");
        assert_eq!(duration_text(-1.0), "0.0 s");
    }

    #[test]
    fn a_counts_link_narrows_the_search_to_its_site_and_outcome() {
        let params = SearchParams { from: "2026-12-05".into(), ..SearchParams::default() };
        let mut tally = Tally::default();
        tally.add("abandoned-in-queue", &["SIP_LON"], Some(1_000_000));
        let html = counts_html(&params, &tally);
        assert!(html.contains("href=\"/?site=SIP_LON&amp;from=2026-12-05&amp;outcome=abandoned-in-queue\">1 abandoned-in-queue</a>"), "{html}");
        assert!(html.contains("href=\"/?from=2026-12-05&amp;format=csv\" download"), "{html}");
    }
}
