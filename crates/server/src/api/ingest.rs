//! The ingest side of the API: `POST /v1/events` (JSON lines of docs/event-json.md) and
//! `POST /v1/media` (the media feed of docs/recording.md).
//!
//! A request is all or nothing: every line is checked first, and one bad line refuses the
//! whole request with a 400 that names the line and the field. A request that is accepted
//! is answered only once it is committed to the store, so a 200 means stored.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use callstitch_recording::{read_feed, FeedFile};
use callstitch_store::{MediaRecord, Store};
use callstitch_tlib::json::event_from_json;
use callstitch_tlib::Event;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::{ApiError, App};
use crate::ingest::{Accepted, NotStored, Reply, Request};
use crate::metrics::SourceLabels;

fn body_text(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if stalled(&rejection) {
            return ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "the request body stalled for longer than http.body_timeout_s; nothing of it was stored",
            );
        }
        let status = rejection.status();
        let reason = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "the request body is larger than ingest.max_body_bytes; send fewer lines per request".to_string()
        } else {
            rejection.body_text()
        };
        ApiError::new(status, reason)
    })
}

/// Whether reading the body failed because it sent nothing for the body timeout.
fn stalled(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

fn utf8(body: &Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|error| {
        let line = body[..error.valid_up_to()].iter().filter(|byte| **byte == b'\n').count() as u64 + 1;
        ApiError { line: Some(line), ..ApiError::bad_request(format!("line {line}: not UTF-8")) }
    })
}

/// Every line of the body as an event, or the first line that is not one.
pub fn parse_events(text: &str) -> Result<Vec<Event>, ApiError> {
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let line_no = index as u64 + 1;
        let event = event_from_json(line).map_err(|error| ApiError {
            line: Some(line_no),
            ..ApiError::bad_request(format!("line {line_no}: {error}; nothing of this request was stored"))
        })?;
        events.push(event);
    }
    if events.is_empty() {
        return Err(ApiError::bad_request("no events in the body (JSON lines, docs/event-json.md)"));
    }
    Ok(events)
}

async fn submit<S: Store>(
    app: &App<S>,
    source: &str,
    request: impl FnOnce(Reply) -> Request,
) -> Result<Json<Accepted>, ApiError> {
    let (reply, answer) = oneshot::channel();
    // Still recovering (after a grace), or the store refuses writes: refused, not queued.
    let offered = match app.shared.ingest_refusal_after(crate::state::RECOVERY_GRACE).await {
        Some(refusal) => Err(refusal),
        None => app.ingress.offer(request(reply)),
    };
    if let Err(refusal) = offered {
        app.shared.metrics.rejected.get_or_create(&SourceLabels { source: source.to_string() }).inc();
        return Err(ApiError::unavailable(refusal));
    }
    answered(answer.await)
}

/// The HTTP answer to what the ingest loop said (nothing: it stopped with the request).
fn answered(
    answer: Result<Result<Accepted, NotStored>, oneshot::error::RecvError>,
) -> Result<Json<Accepted>, ApiError> {
    match answer {
        Ok(Ok(accepted)) => Ok(Json(accepted)),
        Ok(Err(not_stored)) => Err(ApiError::unavailable(not_stored.into())),
        Err(_) => {
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the ingest loop stopped before storing it"))
        }
    }
}

fn refused<S: Store>(app: &App<S>, source: &str, error: ApiError) -> ApiError {
    app.shared.metrics.rejected.get_or_create(&SourceLabels { source: source.to_string() }).inc();
    error
}

pub async fn events<S: Store>(
    State(app): State<App<S>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Accepted>, ApiError> {
    let body = body_text(body).map_err(|error| refused(&app, "events", error))?;
    let events = utf8(&body).and_then(parse_events).map_err(|error| refused(&app, "events", error))?;
    submit(&app, "events", |reply| Request::Events { events, reply }).await
}

/// The stored rows of media files of the feed.
pub(crate) fn media_records(files: &[FeedFile]) -> Vec<MediaRecord> {
    files
        .iter()
        .map(|file| MediaRecord {
            media_id: file.media_id.clone(),
            site: file.site.clone(),
            call_uuid: file.call_uuid.clone(),
            doc: media_doc(file),
        })
        .collect()
}

/// The stored form of a media file: the feed object it came from.
fn media_doc(file: &FeedFile) -> Value {
    json!({
        "type": "media",
        "media_id": file.media_id,
        "site": file.site,
        "call_uuid": file.call_uuid,
        "recorded_dn": file.recorded_dn,
        "side": file.side,
        "start": file.start.to_string(),
        "stop": file.stop.map(|stop| stop.to_string()),
        "recording_id": file.archive_id,
    })
}

pub async fn media<S: Store>(
    State(app): State<App<S>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Accepted>, ApiError> {
    let body = body_text(body).map_err(|error| refused(&app, "media", error))?;
    let text = utf8(&body).map_err(|error| refused(&app, "media", error))?;
    let feed = read_feed(text.as_bytes()).map_err(|error| ApiError::bad_request(error.to_string()))?;
    if let Some(first) = feed.errors.first() {
        let error = ApiError {
            line: Some(first.line()),
            ..ApiError::bad_request(format!("{first}; nothing of this request was stored"))
        };
        return Err(refused(&app, "media", error));
    }
    if feed.files.is_empty() {
        return Err(refused(
            &app,
            "media",
            ApiError::bad_request("no media objects in the body (docs/recording.md)"),
        ));
    }
    let records = media_records(&feed.files);
    let files = feed.files;
    submit(&app, "media", |reply| Request::Media { files, records, reply }).await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::ingest::IngestError;
    use crate::state::Refusal;

    fn answer_to(not_stored: NotStored) -> ApiError {
        answered(Ok(Err(not_stored))).expect_err("an error answer")
    }

    /// The typed reply keeps the HTTP answers as they were: a 503 with the same words, and
    /// a time to retry only for a refusal that will pass.
    #[test]
    fn a_request_not_stored_is_answered_503_with_its_reason_and_cause() {
        let refused = answer_to(NotStored::Refused(Refusal::new(
            "store unavailable: disk full; retry later",
            Some(Duration::from_secs(5)),
        )));
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.reason, "store unavailable: disk full; retry later");
        assert_eq!(refused.retry_after, Some(Duration::from_secs(5)));

        let not_json = callstitch_tlib::json::event_from_json("not JSON").expect_err("not an event");
        let expected = format!("not stored: stored event 7 cannot be read back: {not_json}");
        let cause = IngestError::StoredEvent { seq: 7, source: not_json };
        let failed = answer_to(NotStored::Commit(Arc::new(cause)));
        assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(failed.reason, expected);
        assert_eq!(failed.retry_after, None);

        let unwritable = serde_json::from_str::<u8>("x").expect_err("a JSON error");
        let media = answer_to(NotStored::MediaNotKept(unwritable));
        assert!(
            media.reason.starts_with("the media files cannot be kept for a restart: expected value"),
            "{}",
            media.reason
        );
    }

    #[test]
    fn a_request_the_loop_dropped_is_answered_503_stopped() {
        let (reply, answer) = oneshot::channel::<Result<Accepted, NotStored>>();
        drop(reply);
        let stopped = answered(answer.blocking_recv()).expect_err("an error answer");
        assert_eq!(stopped.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(stopped.reason, "the ingest loop stopped before storing it");
    }
}
