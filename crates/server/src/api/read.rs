//! The read side of the API: the interaction search with its filters and cursor (as JSON,
//! as CSV, and its counts), one interaction, one recording, one call with its raw events,
//! and the metrics.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use callstitch_store::{Store, Summary, Tally};
use serde_json::{json, Value};

use super::params::{check_site, Format, Search, SearchParams};
use super::{export, ApiError, App};
use crate::mask::{mask_all, mask_summary};

/// Most raw events returned for one call.
const MAX_CALL_EVENTS: usize = 10_000;

/// A search's parameters read, checked and turned into a store query, or the 400 naming
/// every problem (docs/api.md, "Search parameters").
pub async fn search_of<S: Store>(
    app: &App<S>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<(SearchParams, Search), ApiError> {
    let Query(params) = params.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let search = params.search().map_err(|problems| ApiError::bad_request(problems.join("; ")))?;
    if let Some(problem) = check_site(app, &search.query).await? {
        return Err(ApiError::bad_request(problem));
    }
    Ok((params, search))
}

/// `GET /v1/interactions`: one page of the search as JSON, or (`format=csv`) all of it as CSV.
pub async fn list<S: Store>(
    State(app): State<App<S>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (params, search) = search_of(&app, params).await?;
    if search.format == Format::Csv {
        return Ok(export::csv(app.clone(), search.query, cap(&params)));
    }
    let page = app.store.interactions(search.query).await?;
    let mut items = page.items;
    if app.mask_numbers {
        items.iter_mut().for_each(mask_summary);
    }
    let items: Vec<Value> = items.iter().map(Summary::render).collect();
    Ok(Json(json!({"items": items, "next_cursor": page.next_cursor})).into_response())
}

/// A `limit` given to a CSV export caps its rows (without one, it has every row).
pub fn cap(params: &SearchParams) -> Option<usize> {
    params.limit.trim().parse().ok()
}

/// `GET /v1/interactions.csv`: the search as CSV, whatever `format` says.
pub async fn list_csv<S: Store>(
    State(app): State<App<S>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (params, search) = search_of(&app, params).await?;
    Ok(export::csv(app.clone(), search.query, cap(&params)))
}

/// The counts of a tally as JSON: overall, by outcome, by site (and outcome).
pub fn tally_json(tally: &Tally) -> Value {
    let by_outcome: Vec<Value> = tally
        .by_outcome
        .iter()
        .map(|(outcome, count)| {
            json!({"outcome": outcome, "interactions": count.interactions, "mean_duration_s": count.mean_duration_s()})
        })
        .collect();
    let by_site: Vec<Value> = tally
        .by_site
        .iter()
        .map(|(site, count)| json!({"site": site, "interactions": count.interactions, "by_outcome": count.by_outcome}))
        .collect();
    json!({
        "interactions": tally.interactions,
        "mean_duration_s": tally.mean_duration_s(),
        "by_outcome": by_outcome,
        "by_site": by_site,
    })
}

/// `GET /v1/counts`: what every interaction the search matches adds up to.
pub async fn counts<S: Store>(
    State(app): State<App<S>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let (_, search) = search_of(&app, params).await?;
    let tally = app.store.tally(search.query, app.edge.request_timeout).await?;
    Ok(Json(tally_json(&tally)))
}

pub async fn interaction<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(stored) = app.store.interaction(&id).await? else {
        return Err(ApiError::not_found(format!("no interaction, recording or CallUUID {id}")));
    };
    let mut doc = stored.doc.to_value().map_err(|error| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("interaction {}: {error}", stored.id))
    })?;
    if app.mask_numbers {
        mask_all(&mut [&mut doc]);
    }
    let mut response = Json(doc).into_response();
    if stored.asked_as.is_some() || stored.id != id {
        // An id the interaction had before late evidence changed its root, or a CallUUID or
        // recording id of it: answered, and the interaction's own id is said.
        if let Ok(location) = HeaderValue::from_str(&format!("/v1/interactions/{}", stored.id)) {
            response.headers_mut().insert(header::CONTENT_LOCATION, location);
        }
    }
    Ok(response)
}

pub async fn recording<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let Some(mut recording) = app.store.recording(&id).await? else {
        return Err(ApiError::not_found(format!("no recording, interaction or CallUUID {id}")));
    };
    if app.mask_numbers {
        mask_all(&mut [&mut recording]);
    }
    Ok(Json(recording))
}

pub async fn call<S: Store>(
    State(app): State<App<S>>,
    Path((site, call_uuid)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let calls = app.store.calls(&site, &call_uuid).await?;
    let stored_events = app.store.call_events(&site, &call_uuid, MAX_CALL_EVENTS).await?;
    if calls.is_empty() && stored_events.is_empty() {
        return Err(ApiError::not_found(format!("no call {call_uuid} on site {site}")));
    }
    let mut events: Vec<Value> = stored_events
        .iter()
        .map(|event| {
            let mut doc =
                serde_json::from_str(&event.doc).unwrap_or_else(|_| json!({"unreadable": event.doc}));
            if let Some(object) = doc.as_object_mut() {
                object.insert("seq".to_string(), json!(event.seq));
            }
            doc
        })
        .collect();
    let mut calls: Vec<Value> = calls
        .into_iter()
        .map(|call| json!({"interaction_id": call.interaction_id, "report": call.report}))
        .collect();
    // Still in progress when it has events but no report yet.
    let in_progress = calls.is_empty();
    let mut body = json!({"site": site, "call_uuid": call_uuid, "in_progress": in_progress});
    if app.mask_numbers {
        let mut all: Vec<&mut Value> = calls.iter_mut().chain(events.iter_mut()).collect();
        mask_all(&mut all);
    }
    body["calls"] = Value::Array(calls);
    body["events"] = Value::Array(events);
    Ok(Json(body))
}

/// What the store holds and what the service has in memory.
pub async fn status<S: Store>(State(app): State<App<S>>) -> Result<Json<Value>, ApiError> {
    let counts = app.store.counts().await?;
    let metrics = &app.shared.metrics;
    Ok(Json(json!({
        "stored": {
            "events": counts.events,
            "calls": counts.calls,
            "interactions": counts.interactions,
            "complete_interactions": counts.complete_interactions,
            "media_files": counts.media_files,
        },
        "in_memory": {
            "calls_in_progress": metrics.calls_in_progress.get(),
            "calls_waiting_for_their_interaction": metrics.segments_waiting.get(),
        },
        "ingest_alive": app.shared.ingest_alive(),
    })))
}

pub async fn metrics<S: Store>(State(app): State<App<S>>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], app.shared.metrics.render()).into_response()
}
