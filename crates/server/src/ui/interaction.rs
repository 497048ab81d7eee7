//! `GET /i/{id}`: one interaction, answering "what happened to this customer". At the top
//! the journey: the figures (time to answer, talk, hold, queue, ring, transfers, total) and
//! the timeline across sites ([`journey`]); the facts and downloads; the ladder diagram
//! inline (one page of it, `?page=N`); the parties with their times ([`parties`]); the
//! calls and the links between them; the recording ([`recording`]); each call's raw events,
//! every one opening to all its attributes ([`events`]); the linker's notes.
//!
//! The downloads: `/i/{id}.json` (the interaction document), `/i/{id}/recording.json` and
//! `/i/{id}/events.log` (the raw events written back as a T-Server log excerpt with a header
//! per site, [`log`]). An id a later revision replaced still answers, saying which
//! interaction it is now part of. With `mask_numbers`, the customer's numbers are masked in
//! the page and in every download.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use callstitch_ladder::{LadderError, LadderOptions};
use callstitch_store::{Store, StoreError};
use callstitch_tlib::json::event_from_json;
use callstitch_tlib::Event;
use serde::Deserialize;
use serde_json::{json, Value};

use super::html::{error_page, esc, html, items, released_by, secure, text, texts, time, url_encode, Page};
use crate::api::App;
use crate::mask::mask_all;

mod events;
pub mod journey;
mod log;
mod parties;
mod recording;
#[cfg(test)]
mod tests;

use events::{events_section, CallEvents};

/// Most raw events read for one call (as the API's `/v1/calls`).
const MAX_CALL_EVENTS: usize = 10_000;
/// An interaction read from the store, masked when the service masks numbers.
struct Loaded {
    id: String,
    asked_as: Option<String>,
    doc: Value,
    recording: Value,
    calls: Vec<CallEvents>,
}

async fn load<S: Store>(app: &App<S>, id: &str, with_events: bool) -> Result<Option<Loaded>, StoreError> {
    let Some(stored) = app.store.interaction(id).await? else { return Ok(None) };
    let mut calls = Vec::new();
    if with_events {
        for segment in items(&stored.doc, "segments") {
            let (site, key) = (text(segment, "site"), text(segment, "key"));
            let events = app.store.call_events(site, key, MAX_CALL_EVENTS).await?;
            let events = events
                .into_iter()
                .map(|event| {
                    (
                        event.seq,
                        serde_json::from_str(&event.doc).unwrap_or_else(|_| json!({"unreadable": event.doc})),
                    )
                })
                .collect();
            calls.push(CallEvents {
                site: site.to_string(),
                key: key.to_string(),
                call_uuid: text(segment, "call_uuid").to_string(),
                events,
            });
        }
    }
    let mut loaded = Loaded {
        id: stored.id,
        asked_as: stored.asked_as,
        doc: stored.doc,
        recording: stored.recording,
        calls,
    };
    if app.mask_numbers {
        let mut all: Vec<&mut Value> = vec![&mut loaded.doc, &mut loaded.recording];
        all.extend(loaded.calls.iter_mut().flat_map(|call| call.events.iter_mut().map(|(_, event)| event)));
        mask_all(&mut all);
    }
    Ok(Some(loaded))
}

/// The interaction's events, each once (a ConnID's events may belong to two calls), in store
/// order, as typed events with their site and store sequence number; and how many could not
/// be read back.
fn typed_events(calls: &[CallEvents]) -> (Vec<(u64, String, Event)>, usize) {
    let mut all: Vec<(u64, &Value)> =
        calls.iter().flat_map(|call| call.events.iter().map(|(seq, doc)| (*seq, doc))).collect();
    all.sort_by_key(|(seq, _)| *seq);
    all.dedup_by_key(|(seq, _)| *seq);
    let mut unreadable = 0;
    let mut events = Vec::with_capacity(all.len());
    for (seq, doc) in all {
        match event_from_json(&doc.to_string()) {
            Ok(event) => events.push((seq, text(doc, "site").to_string(), event)),
            Err(_) => unreadable += 1,
        }
    }
    (events, unreadable)
}

/// The sites in the order the calls visit them, each once.
fn site_order(calls: &[CallEvents]) -> Vec<&str> {
    let mut sites: Vec<&str> = Vec::new();
    for call in calls {
        if !sites.contains(&call.site.as_str()) {
            sites.push(&call.site);
        }
    }
    sites
}

fn not_found(id: &str, signed_in: bool) -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "No such interaction",
        &format!("There is no interaction {id}, nor one that replaced it. Search by a CallUUID, ConnID, DN or IS-Link id instead."),
        signed_in,
    )
}

fn store_failed(error: &StoreError, signed_in: bool) -> Response {
    tracing::error!(%error, "store");
    error_page(StatusCode::SERVICE_UNAVAILABLE, "The store failed", &error.to_string(), signed_in)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageParams {
    page: String,
}

/// `/i/{id}` (the page) and `/i/{id}.json` (the interaction document).
pub async fn page_or_json<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
    params: Result<Query<PageParams>, QueryRejection>,
) -> Response {
    if let Some(id) = id.strip_suffix(".json") {
        return interaction_json(&app, id).await;
    }
    let signed_in = !app.tokens.is_empty();
    let page_number = match params {
        Ok(Query(PageParams { page })) if page.trim().is_empty() => 1,
        Ok(Query(PageParams { page })) => match page.trim().parse::<usize>() {
            Ok(number) if number >= 1 => number,
            _ => return bad_page(&page, signed_in),
        },
        Err(rejection) => return bad_page(&rejection.body_text(), signed_in),
    };
    match load(&app, &id, true).await {
        Ok(Some(loaded)) => render(&loaded, page_number, signed_in),
        Ok(None) => not_found(&id, signed_in),
        Err(error) => store_failed(&error, signed_in),
    }
}

fn bad_page(page: &str, signed_in: bool) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "Bad page number",
        &format!("page={page:?} is not a page number (1, 2, …)."),
        signed_in,
    )
}

fn download(content_type: &'static str, filename: &str, body: String) -> Response {
    let safe: String =
        filename.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    let mut response =
        ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    secure(response)
}

async fn interaction_json<S: Store>(app: &App<S>, id: &str) -> Response {
    let signed_in = !app.tokens.is_empty();
    match load(app, id, false).await {
        Ok(Some(loaded)) => {
            let body = serde_json::to_string_pretty(&loaded.doc).unwrap_or_default();
            download("application/json", &format!("{}.json", loaded.id), body)
        }
        Ok(None) => not_found(id, signed_in),
        Err(error) => store_failed(&error, signed_in),
    }
}

/// `/i/{id}/recording.json`.
pub async fn recording_json<S: Store>(State(app): State<App<S>>, Path(id): Path<String>) -> Response {
    let signed_in = !app.tokens.is_empty();
    match load(&app, &id, false).await {
        Ok(Some(loaded)) => {
            let body = serde_json::to_string_pretty(&loaded.recording).unwrap_or_default();
            download("application/json", &format!("{}-recording.json", loaded.id), body)
        }
        Ok(None) => not_found(&id, signed_in),
        Err(error) => store_failed(&error, signed_in),
    }
}

/// `/i/{id}/events.log`.
pub async fn events_log<S: Store>(State(app): State<App<S>>, Path(id): Path<String>) -> Response {
    let signed_in = !app.tokens.is_empty();
    match load(&app, &id, true).await {
        Ok(Some(loaded)) => match excerpt(&loaded.calls) {
            Ok(text) => download("text/plain; charset=utf-8", &format!("{}-events.log", loaded.id), text),
            Err(error) => error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Cannot write the log",
                &error.to_string(),
                signed_in,
            ),
        },
        Ok(None) => not_found(&id, signed_in),
        Err(error) => store_failed(&error, signed_in),
    }
}

fn excerpt(calls: &[CallEvents]) -> std::io::Result<String> {
    let (events, _) = typed_events(calls);
    let events: Vec<(String, Event)> = events.into_iter().map(|(_, site, event)| (site, event)).collect();
    log::log_excerpt(&site_order(calls), &events)
}

fn render(loaded: &Loaded, page_number: usize, signed_in: bool) -> Response {
    let id = &loaded.id;
    let (events, unreadable) = typed_events(&loaded.calls);
    let seqs: Vec<u64> = events.iter().map(|(seq, _, _)| *seq).collect();
    let plain: Vec<Event> = events.into_iter().map(|(_, _, event)| event).collect();
    let options = LadderOptions { page: page_number, ..LadderOptions::default() };
    let ladder = match callstitch_ladder::render(&loaded.doc, &plain, &options) {
        Ok(ladder) => Ok(ladder),
        Err(LadderError::PageOutOfRange { page, pages }) => {
            return error_page(
                StatusCode::NOT_FOUND,
                "No such ladder page",
                &format!("The ladder of interaction {id} has {pages} page(s); there is no page {page}."),
                signed_in,
            )
        }
        Err(error) => Err(error.to_string()),
    };
    let mut page = Page::new(format!("Interaction {id}"))
        .signed_in(signed_in)
        .with_page_script("/ui/assets/interaction.js");
    page.push(&format!("<h1>Interaction <span class=\"id\">{}</span></h1>\n", esc(id)));
    if let Some(asked) = &loaded.asked_as {
        page.push(&format!(
            "<p class=\"message notice\" role=\"status\">Interaction {} is now part of interaction \
             <a href=\"/i/{}\">{}</a>: later evidence joined its calls to this one.</p>\n",
            esc(asked),
            url_encode(id),
            esc(id)
        ));
    }
    let recording = recording::recording_of(&loaded.doc, &loaded.recording);
    let ladder_index = |seq: u64| seqs.binary_search(&seq).ok();
    page.push(&journey::journey_section(&loaded.doc));
    page.push(&facts(&loaded.doc));
    page.push(&downloads(id));
    page.push(&ladder_section(id, ladder, unreadable));
    page.push(&parties::parties_section(&loaded.doc));
    page.push(&segments_section(&loaded.doc));
    page.push(&links_section(&loaded.doc));
    page.push(&recording::recording_section(&recording));
    page.push(&events_section(id, &loaded.calls, &ladder_index));
    page.push(&notes_section(&loaded.doc));
    html(StatusCode::OK, page.finish())
}

fn fact(out: &mut String, name: &str, value_html: &str) {
    if !value_html.is_empty() {
        out.push_str(&format!("<div><dt>{name}</dt><dd>{value_html}</dd></div>"));
    }
}

fn facts(doc: &Value) -> String {
    let mut out = String::from("<dl class=\"facts\">");
    let state = match text(doc, "state") {
        "live" => format!(
            "<span class=\"badge now-live\">live</span> the customer is at {} since {} (what is known so far)",
            esc(text(doc, "current_site")),
            time(text(doc, "current_since"))
        ),
        "settling" => "<span class=\"badge\">settling</span> every call ended; waiting for late evidence".to_string(),
        other => esc(other),
    };
    fact(&mut out, "State", &state);
    fact(&mut out, "Start", &time(text(doc, "start")));
    fact(&mut out, "End", &time(text(doc, "end")));
    fact(&mut out, "Sites visited", &esc(&texts(doc, "sites").join(" → ")));
    fact(&mut out, "Calls", &items(doc, "segments").len().to_string());
    fact(&mut out, "Outcome", &esc(text(doc, "outcome")));
    let released = doc.get("released_by").unwrap_or(&Value::Null);
    let mut released_text = released_by(released);
    if !text(released, "site").is_empty() {
        released_text.push_str(&format!(" at {}", text(released, "site")));
    }
    if !text(released, "provenance").is_empty() {
        released_text.push_str(&format!(" [{}]", text(released, "provenance")));
    }
    fact(&mut out, "Released by", &esc(&released_text));
    fact(&mut out, "ANI", &esc(text(doc, "ani")));
    fact(&mut out, "DNIS", &esc(text(doc, "dnis")));
    let open = if doc.get("complete").and_then(Value::as_bool) == Some(false) { ", still open" } else { "" };
    fact(&mut out, "Linking", &esc(&format!("{}{open}", text(doc, "linking"))));
    fact(&mut out, "Calls' ends", &esc(text(doc, "calls")));
    let revision =
        doc.get("revision").and_then(Value::as_u64).map(|revision| revision.to_string()).unwrap_or_default();
    fact(&mut out, "Revision", &esc(&revision));
    fact(&mut out, "Replaces", &esc(&texts(doc, "replaces").join(", ")));
    let recording_id = doc.get("recording").map(|recording| text(recording, "recording_id")).unwrap_or("");
    fact(&mut out, "Recording id", &esc(recording_id));
    out.push_str("</dl>\n");
    out
}

fn downloads(id: &str) -> String {
    let id = url_encode(id);
    format!(
        "<nav class=\"downloads\" aria-label=\"Downloads\"><h2 class=\"visually-hidden\">Downloads</h2><ul>\
         <li><a href=\"/i/{id}.json\" download>Interaction JSON</a></li>\
         <li><a href=\"/i/{id}/recording.json\" download>Recording JSON</a></li>\
         <li><a href=\"/i/{id}/events.log\" download>Raw events as a T-Server log</a></li></ul></nav>\n"
    )
}

fn pager(id: &str, page: usize, pages: usize) -> String {
    if pages <= 1 {
        return String::new();
    }
    let link = |number: usize, label: &str, rel: &str| {
        format!("<a href=\"/i/{}?page={number}#ladder\"{rel}>{label}</a>", url_encode(id))
    };
    let mut out =
        format!("<nav class=\"pager\" aria-label=\"Ladder pages\"><span>Page {page} of {pages}</span> ");
    if page > 1 {
        out.push_str(&link(1, "First", ""));
        out.push(' ');
        out.push_str(&link(page - 1, "Previous", " rel=\"prev\""));
        out.push(' ');
    }
    if page < pages {
        out.push_str(&link(page + 1, "Next", " rel=\"next\""));
        out.push(' ');
        out.push_str(&link(pages, "Last", ""));
    }
    out.push_str(&format!(
        "<form method=\"get\" action=\"/i/{}\" class=\"jump\"><label>Go to page \
         <input name=\"page\" type=\"number\" min=\"1\" max=\"{pages}\" value=\"{page}\"></label>\
         <button type=\"submit\">Go</button></form></nav>\n",
        url_encode(id)
    ));
    out
}

fn ladder_section(id: &str, ladder: Result<callstitch_ladder::Ladder, String>, unreadable: usize) -> String {
    let mut out = String::from(
        "<section id=\"ladder\" aria-labelledby=\"ladder-heading\">\n<h2 id=\"ladder-heading\">Ladder</h2>\n",
    );
    match ladder {
        Ok(ladder) => {
            let pager = pager(id, ladder.page, ladder.pages);
            out.push_str(&pager);
            let label = format!("Ladder diagram, page {} of {}", ladder.page, ladder.pages);
            out.push_str(&journey::picture_box("ladder", &label, &ladder.svg));
            out.push_str(&pager);
        }
        Err(error) => {
            out.push_str(&format!(
                "<p class=\"message error\">The ladder cannot be drawn: {}</p>\n",
                esc(&error)
            ));
        }
    }
    if unreadable > 0 {
        out.push_str(&format!(
            "<p class=\"muted\">{unreadable} stored event(s) could not be read back and are not drawn.</p>\n"
        ));
    }
    out.push_str("</section>\n");
    out
}

fn segments_section(doc: &Value) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"calls-heading\">\n<h2 id=\"calls-heading\">Calls</h2>\n<div class=\"table-wrap\">\
         <table class=\"segments\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Site</th>\
         <th scope=\"col\">CallUUID</th><th scope=\"col\">ConnIDs</th><th scope=\"col\">Role</th>\
         <th scope=\"col\">Model</th><th scope=\"col\">Outcome</th><th scope=\"col\">Ended by</th>\
         <th scope=\"col\">Start</th><th scope=\"col\">End</th></tr></thead><tbody>\n",
    );
    for (index, segment) in items(doc, "segments").iter().enumerate() {
        let number = index + 1;
        let uuid = match text(segment, "call_uuid") {
            "" => text(segment, "key"),
            uuid => uuid,
        };
        let location = text(segment, "location");
        let site = if location.is_empty() {
            esc(text(segment, "site"))
        } else {
            format!("{}<br><span class=\"muted\">{}</span>", esc(text(segment, "site")), esc(location))
        };
        let conformant = match segment.get("conformant").and_then(Value::as_bool) {
            Some(false) => " (deviates)",
            _ => "",
        };
        let ended = if segment.get("live").and_then(Value::as_bool) == Some(true) {
            " <span class=\"badge now-live\">live</span>"
        } else if segment.get("ended").and_then(Value::as_bool) == Some(false) {
            " (end not seen)"
        } else {
            ""
        };
        out.push_str(&format!(
            "<tr><th scope=\"row\" data-label=\"#\"><a href=\"#call-{number}\">#{number}</a></th>\
             <td data-label=\"Site\">{site}</td><td data-label=\"CallUUID\" class=\"mono\">{uuid}</td>\
             <td data-label=\"ConnIDs\" class=\"mono\">{conn}</td><td data-label=\"Role\">{role}</td>\
             <td data-label=\"Model\">{model}{conformant}</td><td data-label=\"Outcome\">{outcome}</td>\
             <td data-label=\"Ended by\">{ended_by}</td><td data-label=\"Start\">{start}</td>\
             <td data-label=\"End\">{end}{ended}</td></tr>\n",
            uuid = esc(uuid),
            conn = esc(&texts(segment, "conn_ids").join(", ")),
            role = esc(text(segment, "role")),
            model = model_html(segment),
            outcome = esc(text(segment, "outcome")),
            ended_by = ended_by_html(segment),
            start = time(text(segment, "start")),
            end = time(text(segment, "end")),
        ));
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    out
}

/// The call model, and where the call was read from when that is not T-Library events.
fn model_html(segment: &Value) -> String {
    let mut out = esc(text(segment, "model"));
    if text(segment, "provenance") == "sip-layer" {
        out.push_str(
            " <span class=\"badge\" title=\"rebuilt from the SIP messages of a SIP Server log that has no \
             T-Library event records\">SIP layer</span>",
        );
    }
    out
}

/// Who ended the call, with the SIP signal that ended it for a SIP-layer call.
fn ended_by_html(segment: &Value) -> String {
    let mut out = esc(&released_by(segment.get("ended_by").unwrap_or(&Value::Null)));
    if let Some(end) = segment.get("sip_end") {
        let mut signal = text(end, "kind").to_uppercase();
        for (key, prefix) in [("by", " from "), ("detail", ", "), ("reason", ", ")] {
            if !text(end, key).is_empty() {
                signal.push_str(prefix);
                signal.push_str(text(end, key));
            }
        }
        out.push_str(&format!("<br><span class=\"muted\">SIP: {}</span>", esc(&signal)));
    }
    out
}

fn links_section(doc: &Value) -> String {
    let links = items(doc, "links");
    let mut out = String::from("<section aria-labelledby=\"links-heading\">\n<h2 id=\"links-heading\">Links between the calls</h2>\n");
    if links.is_empty() {
        out.push_str("<p class=\"muted\">None: the interaction is one call.</p>\n</section>\n");
        return out;
    }
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"links\"><thead><tr><th scope=\"col\">Evidence</th>\
         <th scope=\"col\">IS-Link id</th><th scope=\"col\">From</th><th scope=\"col\">To</th>\
         <th scope=\"col\">Consistent</th></tr></thead><tbody>\n",
    );
    let end = |value: Option<&Value>| {
        let value = value.unwrap_or(&Value::Null);
        let uuid = match text(value, "call_uuid") {
            "" => text(value, "key"),
            uuid => uuid,
        };
        format!("{} {}", text(value, "site"), uuid)
    };
    for link in links {
        let consistent = match link.get("consistent").and_then(Value::as_bool) {
            Some(false) => format!("<span class=\"warn\">⚠ no</span> {}", esc(text(link, "note"))),
            _ => "yes".to_string(),
        };
        out.push_str(&format!(
            "<tr><td data-label=\"Evidence\">{}</td><td data-label=\"IS-Link id\" class=\"mono\">{}</td>\
             <td data-label=\"From\" class=\"mono\">{}</td><td data-label=\"To\" class=\"mono\">{}</td>\
             <td data-label=\"Consistent\">{consistent}</td></tr>\n",
            esc(text(link, "evidence")),
            esc(text(link, "islink")),
            esc(&end(link.get("from"))),
            esc(&end(link.get("to"))),
        ));
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    out
}

fn notes_section(doc: &Value) -> String {
    let notes = texts(doc, "notes");
    if notes.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section class=\"notes\" aria-labelledby=\"notes-heading\">\n<h2 id=\"notes-heading\">Notes</h2>\n<ul>",
    );
    for note in notes {
        out.push_str(&format!("<li>{}</li>", esc(note)));
    }
    out.push_str("</ul>\n</section>\n");
    out
}
