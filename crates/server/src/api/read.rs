//! The read side of the API: the interaction search with its filters and cursor, one
//! interaction, one recording, one call with its raw events, and the metrics.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use callstitch_link::Lifecycle;
use callstitch_store::{Cursor, InteractionQuery, Store};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{ApiError, App};
use crate::mask::mask_all;

/// Most raw events returned for one call.
const MAX_CALL_EVENTS: usize = 10_000;

/// The query string of `GET /v1/interactions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    call_uuid: Option<String>,
    conn_id: Option<String>,
    dn: Option<String>,
    islink: Option<String>,
    site: Option<String>,
    /// RFC 3339: started at or after.
    from: Option<String>,
    /// RFC 3339: started before.
    to: Option<String>,
    outcome: Option<String>,
    released_by: Option<String>,
    has_findings: Option<bool>,
    complete: Option<bool>,
    /// `live`, `settling` or `complete`.
    state: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// The lifecycle filter: one of the three states, or a 400 that lists them.
fn state_param(value: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(text) = value else { return Ok(None) };
    if Lifecycle::ALL.iter().any(|state| state.label() == text) {
        return Ok(Some(text));
    }
    Err(ApiError::bad_request(format!("state={text:?} is not one of live, settling, complete")))
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(text) = value else { return Ok(None) };
    let timestamp = callstitch_tlib::Timestamp::parse_rfc3339(text).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{name}={text:?} is not an RFC 3339 time from 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z \
             (e.g. 2012-10-29T14:41:00Z)"
        ))
    })?;
    Ok(Some(timestamp.0))
}

/// ConnIDs are stored as 16 lowercase hex digits; accept any case and fewer digits.
fn conn_id_param(value: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(text) = value else { return Ok(None) };
    let valid = !text.is_empty() && text.len() <= 16 && text.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(ApiError::bad_request(format!("conn_id={text:?} is not a ConnID (up to 16 hex digits)")));
    }
    Ok(Some(format!("{:0>16}", text.to_ascii_lowercase())))
}

/// The page size: 1 to 1000 (the store's most), 50 when not given.
fn limit_param(value: Option<usize>) -> Result<usize, ApiError> {
    match value {
        None => Ok(50),
        Some(limit @ 1..=callstitch_store::sqlite::MAX_PAGE) => Ok(limit),
        Some(limit) => Err(ApiError::bad_request(format!(
            "limit={limit} is not 1 to {}; page through more with the cursor",
            callstitch_store::sqlite::MAX_PAGE
        ))),
    }
}

/// An empty parameter (`?cursor=`, what an HTML form sends for an empty field) is no filter.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.is_empty())
}

impl ListParams {
    fn query(self) -> Result<InteractionQuery, ApiError> {
        let cursor = given(self.cursor).as_deref().map(Cursor::decode).transpose()?;
        Ok(InteractionQuery {
            from_us: time_param("from", given(self.from).as_deref())?,
            to_us: time_param("to", given(self.to).as_deref())?,
            conn_id: conn_id_param(given(self.conn_id))?,
            call_uuid: given(self.call_uuid),
            dn: given(self.dn),
            islink: given(self.islink),
            site: given(self.site),
            outcome: given(self.outcome),
            released_by: given(self.released_by),
            has_findings: self.has_findings,
            complete: self.complete,
            state: state_param(given(self.state))?,
            limit: limit_param(self.limit)?,
            cursor,
        })
    }
}

pub async fn list<S: Store>(
    State(app): State<App<S>>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(params) = params.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let page = app.store.interactions(params.query()?).await?;
    let mut items = page.items;
    if app.mask_numbers {
        for item in &mut items {
            mask_all(&mut [item]);
        }
    }
    Ok(Json(json!({"items": items, "next_cursor": page.next_cursor})))
}

pub async fn interaction<S: Store>(
    State(app): State<App<S>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(stored) = app.store.interaction(&id).await? else {
        return Err(ApiError::not_found(format!("no interaction {id}")));
    };
    let mut doc = stored.doc;
    if app.mask_numbers {
        mask_all(&mut [&mut doc]);
    }
    let mut response = Json(doc).into_response();
    if stored.asked_as.is_some() {
        // An id the interaction had before late evidence changed its root: still answered,
        // and the current id is said.
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
