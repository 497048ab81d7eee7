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
use callstitch_link::{word, EndedBy, Interaction, Lifecycle, SegmentRef, SegmentReport};
use callstitch_store::TraceDocument;
use callstitch_store::{Store, StoreError};
use callstitch_tlib::{Event, EventProvenance, Timestamp};
use serde::Deserialize;
#[cfg(test)]
use serde_json::json;
use serde_json::Value;

use super::html::{error_page, esc, html, secure, time, url_encode, Page};
use crate::api::App;
use crate::mask::mask_all;

mod events;
pub mod journey;
mod log;
mod parties;
mod recording;
#[cfg(test)]
mod tests;

/// A document for the page's unit tests: `partial` (a hand-written part of a
/// `trace --json` object) with every field it leaves out filled with a plain value, so that
/// it reads as the typed document the store hands out.
#[cfg(test)]
pub(crate) fn test_document(partial: Value) -> TraceDocument {
    let ended_by = json!({"who": "unknown", "provenance": "unknown", "conflict": false});
    let party = json!({"dn": "", "kind": "agent", "final_state": "null", "released_by": "unknown",
                       "provenance": "unknown"});
    let segment = json!({"site": "", "key": "", "conn_ids": [], "role": "root", "conformant": true,
                         "outcome": "answered", "parties": [], "ended_by": ended_by, "ended": true});
    let reference = json!({"site": "", "key": ""});
    let link = json!({"evidence": "islink", "from": reference, "to": reference, "consistent": true});
    let recording = json!({"recording_id": "", "media_files": [], "findings": []});
    let interaction = json!({"interaction_id": "", "revision": 0, "state": "complete", "complete": true,
        "linking": "complete", "calls": "ended", "sites": [], "segments": [], "links": [], "outcome": "answered",
        "released_by": ended_by, "recording": recording});
    let mut doc = partial;
    fill(&mut doc, &interaction);
    fill(&mut doc["recording"], &recording);
    fill(&mut doc["released_by"], &ended_by);
    for segment_value in doc["segments"].as_array_mut().into_iter().flatten() {
        fill(segment_value, &segment);
        fill(&mut segment_value["ended_by"], &ended_by);
        if segment_value["key"] == "" && segment_value["call_uuid"].is_string() {
            segment_value["key"] = segment_value["call_uuid"].clone();
        }
        for party_value in segment_value["parties"].as_array_mut().into_iter().flatten() {
            fill(party_value, &party);
        }
    }
    for link_value in doc["links"].as_array_mut().into_iter().flatten() {
        fill(link_value, &link);
        for end in ["from", "to"] {
            fill(&mut link_value[end], &reference);
            if link_value[end]["key"] == "" && link_value[end]["call_uuid"].is_string() {
                link_value[end]["key"] = link_value[end]["call_uuid"].clone();
            }
        }
    }
    TraceDocument::from_value(doc).unwrap_or_else(|error| panic!("a test document: {error}"))
}

/// Adds every member of `defaults` that `value` lacks.
#[cfg(test)]
fn fill(value: &mut Value, defaults: &Value) {
    if let (Some(object), Some(defaults)) = (value.as_object_mut(), defaults.as_object()) {
        for (key, default) in defaults {
            object.entry(key.clone()).or_insert_with(|| default.clone());
        }
    }
}

use events::{events_section, CallEvents, LineForm, StoredLine};

/// Most raw events read for one call (as the API's `/v1/calls`).
const MAX_CALL_EVENTS: usize = 10_000;
/// An interaction read from the store, masked when the service masks numbers.
struct Loaded {
    id: String,
    asked_as: Option<String>,
    doc: TraceDocument,
    /// The recording metadata (GIR `recording.json`).
    recording: Value,
    calls: Vec<CallEvents>,
}

async fn load<S: Store>(app: &App<S>, id: &str, with_events: bool) -> Result<Option<Loaded>, StoreError> {
    let Some(stored) = app.store.interaction(id).await? else { return Ok(None) };
    let mut calls = Vec::new();
    if with_events {
        for segment in &stored.doc.interaction.segments {
            let (site, key) = (segment.site.as_str(), segment.key.as_str());
            let events = app.store.call_events(site, key, MAX_CALL_EVENTS).await?;
            let events = events.iter().map(|stored| StoredLine::decode(stored.seq, &stored.doc)).collect();
            calls.push(CallEvents {
                site: site.to_string(),
                key: key.to_string(),
                call_uuid: segment.call_uuid.clone().unwrap_or_default(),
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
        mask(&mut loaded).map_err(|source| StoreError::BadDocument { what: "interaction", source })?;
    }
    Ok(Some(loaded))
}

/// Masks the customer's numbers in the document, the recording metadata and the raw events
/// together (they share their numbers): each is masked in its JSON form (for an event, the
/// form the store holds) and read back.
fn mask(loaded: &mut Loaded) -> Result<(), serde_json::Error> {
    let mut doc = loaded.doc.to_value()?;
    let lines: Vec<&mut StoredLine> =
        loaded.calls.iter_mut().flat_map(|call| call.events.iter_mut()).collect();
    let mut forms = lines.iter().map(|line| line.form.to_json()).collect::<Result<Vec<Value>, _>>()?;
    let mut all: Vec<&mut Value> = vec![&mut doc, &mut loaded.recording];
    all.extend(forms.iter_mut());
    mask_all(&mut all);
    loaded.doc = TraceDocument::from_value(doc).map_err(|error| error.source)?;
    for (line, form) in lines.into_iter().zip(forms) {
        line.form = LineForm::from_json(form);
    }
    Ok(())
}

/// The interaction's events, each once (a ConnID's events may belong to two calls), in store
/// order, with their store sequence numbers; and how many stored lines are not events.
fn typed_events(calls: &[CallEvents]) -> (Vec<(u64, &Event)>, usize) {
    let mut all: Vec<&StoredLine> = calls.iter().flat_map(|call| call.events.iter()).collect();
    all.sort_by_key(|line| line.seq);
    all.dedup_by_key(|line| line.seq);
    let events: Vec<(u64, &Event)> =
        all.iter().filter_map(|line| line.event().map(|event| (line.seq, event))).collect();
    let unreadable = all.len() - events.len();
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
            let body =
                loaded.doc.to_value().and_then(|doc| serde_json::to_string_pretty(&doc)).unwrap_or_default();
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
    let events: Vec<&Event> = events.into_iter().map(|(_, event)| event).collect();
    log::log_excerpt(&site_order(calls), &events)
}

fn render(loaded: &Loaded, page_number: usize, signed_in: bool) -> Response {
    let id = &loaded.id;
    let (events, unreadable) = typed_events(&loaded.calls);
    let seqs: Vec<u64> = events.iter().map(|(seq, _)| *seq).collect();
    let plain: Vec<Event> = events.into_iter().map(|(_, event)| event.clone()).collect();
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
    let interaction = &loaded.doc.interaction;
    page.push(&journey::journey_section(&loaded.doc));
    page.push(&facts(&loaded.doc));
    page.push(&downloads(id));
    page.push(&ladder_section(id, ladder, unreadable));
    page.push(&parties::parties_section(interaction));
    page.push(&segments_section(interaction));
    page.push(&links_section(interaction));
    page.push(&recording::recording_section(&recording));
    page.push(&events_section(id, &loaded.calls, &ladder_index));
    page.push(&notes_section(interaction));
    html(StatusCode::OK, page.finish())
}

fn fact(out: &mut String, name: &str, value_html: &str) {
    if !value_html.is_empty() {
        out.push_str(&format!("<div><dt>{name}</dt><dd>{value_html}</dd></div>"));
    }
}

/// A time as the page shows it (unknown when there is none).
fn time_of(stamp: Option<Timestamp>) -> String {
    time(&stamp.map(|stamp| stamp.to_string()).unwrap_or_default())
}

/// Who ended a call or the interaction, in words: `customer (+15551234567)`.
fn ended_by_words(ended_by: &EndedBy) -> String {
    let who = word(&ended_by.who);
    match ended_by.dn.as_deref() {
        None | Some("") => who,
        Some(dn) => format!("{who} ({dn})"),
    }
}

fn facts(document: &TraceDocument) -> String {
    let doc = &document.interaction;
    let mut out = String::from("<dl class=\"facts\">");
    let state = match doc.state {
        Lifecycle::Live => format!(
            "<span class=\"badge now-live\">live</span> the customer is at {} since {} (what is known so far)",
            esc(doc.current_site.as_deref().unwrap_or("")),
            time_of(doc.current_since)
        ),
        Lifecycle::Settling => {
            "<span class=\"badge\">settling</span> every call ended; waiting for late evidence".to_string()
        }
        other => esc(other.label()),
    };
    fact(&mut out, "State", &state);
    fact(&mut out, "Start", &time_of(doc.start));
    fact(&mut out, "End", &time_of(doc.end));
    let sites: Vec<&str> = doc.sites.iter().map(|site| site.as_str()).collect();
    fact(&mut out, "Sites visited", &esc(&sites.join(" → ")));
    fact(&mut out, "Calls", &doc.segments.len().to_string());
    fact(&mut out, "Outcome", &esc(&word(&doc.outcome)));
    let released = &doc.released_by;
    let mut released_text = ended_by_words(released);
    if let Some(site) = released.site.as_deref().filter(|site| !site.is_empty()) {
        released_text.push_str(&format!(" at {site}"));
    }
    released_text.push_str(&format!(" [{}]", word(&released.provenance)));
    fact(&mut out, "Released by", &esc(&released_text));
    fact(&mut out, "ANI", &esc(doc.ani.as_deref().unwrap_or("")));
    fact(&mut out, "DNIS", &esc(doc.dnis.as_deref().unwrap_or("")));
    let open = if doc.complete { "" } else { ", still open" };
    fact(&mut out, "Linking", &esc(&format!("{}{open}", doc.linking.label())));
    fact(&mut out, "Calls' ends", &esc(&word(&doc.calls)));
    fact(&mut out, "Revision", &esc(&doc.revision.to_string()));
    fact(&mut out, "Replaces", &esc(&doc.replaces.join(", ")));
    let recording_id = document.recording.as_ref().map_or("", |recording| recording.recording_id.as_str());
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

fn segments_section(doc: &Interaction) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"calls-heading\">\n<h2 id=\"calls-heading\">Calls</h2>\n<div class=\"table-wrap\">\
         <table class=\"segments\"><thead><tr><th scope=\"col\">#</th><th scope=\"col\">Site</th>\
         <th scope=\"col\">CallUUID</th><th scope=\"col\">ConnIDs</th><th scope=\"col\">Role</th>\
         <th scope=\"col\">Model</th><th scope=\"col\">Outcome</th><th scope=\"col\">Ended by</th>\
         <th scope=\"col\">Start</th><th scope=\"col\">End</th></tr></thead><tbody>\n",
    );
    for (index, segment) in doc.segments.iter().enumerate() {
        let number = index + 1;
        let uuid = segment.call_uuid.as_deref().unwrap_or(&segment.key);
        let site = match segment.location.as_deref() {
            None | Some("") => esc(&segment.site),
            Some(location) => {
                format!("{}<br><span class=\"muted\">{}</span>", esc(&segment.site), esc(location))
            }
        };
        let conformant = if segment.conformant { "" } else { " (deviates)" };
        let ended = if segment.live {
            " <span class=\"badge now-live\">live</span>"
        } else if !segment.ended {
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
            conn = esc(&segment.conn_ids.join(", ")),
            role = esc(&word(&segment.role)),
            model = model_html(segment),
            outcome = esc(&word(&segment.outcome)),
            ended_by = ended_by_html(segment),
            start = time_of(segment.start),
            end = time_of(segment.end),
        ));
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    out
}

/// The call model, and where the call was read from when that is not T-Library events.
fn model_html(segment: &SegmentReport) -> String {
    let mut out = esc(&segment.model.as_ref().map(word).unwrap_or_default());
    if segment.provenance == EventProvenance::SipLayer {
        out.push_str(
            " <span class=\"badge\" title=\"rebuilt from the SIP messages of a SIP Server log that has no \
             T-Library event records\">SIP layer</span>",
        );
    }
    out
}

/// Who ended the call, with the SIP signal that ended it for a SIP-layer call.
fn ended_by_html(segment: &SegmentReport) -> String {
    let mut out = esc(&ended_by_words(&segment.ended_by));
    if let Some(end) = &segment.sip_end {
        let mut signal = end.kind.label().to_uppercase();
        for (part, prefix) in [(&end.by, " from "), (&end.detail, ", "), (&end.reason, ", ")] {
            if let Some(part) = part.as_deref().filter(|part| !part.is_empty()) {
                signal.push_str(prefix);
                signal.push_str(part);
            }
        }
        out.push_str(&format!("<br><span class=\"muted\">SIP: {}</span>", esc(&signal)));
    }
    out
}

fn links_section(doc: &Interaction) -> String {
    let links = &doc.links;
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
    let end = |end: &SegmentRef| format!("{} {}", end.site, end.call_uuid.as_deref().unwrap_or(&end.key));
    for link in links {
        let consistent = if link.consistent {
            "yes".to_string()
        } else {
            format!("<span class=\"warn\">⚠ no</span> {}", esc(link.note.as_deref().unwrap_or("")))
        };
        out.push_str(&format!(
            "<tr><td data-label=\"Evidence\">{}</td><td data-label=\"IS-Link id\" class=\"mono\">{}</td>\
             <td data-label=\"From\" class=\"mono\">{}</td><td data-label=\"To\" class=\"mono\">{}</td>\
             <td data-label=\"Consistent\">{consistent}</td></tr>\n",
            esc(&word(&link.evidence)),
            esc(link.islink.as_deref().unwrap_or("")),
            esc(&end(&link.from)),
            esc(&end(&link.to)),
        ));
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    out
}

fn notes_section(doc: &Interaction) -> String {
    if doc.notes.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "<section class=\"notes\" aria-labelledby=\"notes-heading\">\n<h2 id=\"notes-heading\">Notes</h2>\n<ul>",
    );
    for note in &doc.notes {
        out.push_str(&format!("<li>{}</li>", esc(note)));
    }
    out.push_str("</ul>\n</section>\n");
    out
}
