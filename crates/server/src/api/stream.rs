//! `GET /v1/stream`: server-sent events, one per interaction written (`created`, `updated`,
//! `completed`), its search-result row as data. A client too slow to keep up gets a `lagged`
//! event saying how many it missed, and goes on.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use callstitch_store::Store;
use serde_json::json;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use super::App;
use crate::mask::mask_all;
use crate::state::StreamItem;

pub async fn stream<S: Store>(
    State(app): State<App<S>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    live(&app)
}

/// The live stream of interaction changes, masked as configured (also the web UI's).
pub fn live<S: Store>(app: &App<S>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mask = app.mask_numbers;
    let items =
        BroadcastStream::new(app.shared.stream.subscribe()).map(move |item| Ok(sse_event(item, mask)));
    Sse::new(items).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn sse_event(item: Result<StreamItem, BroadcastStreamRecvError>, mask: bool) -> Event {
    match item {
        Ok(StreamItem { kind, id, mut summary }) => {
            if mask {
                mask_all(&mut [&mut summary]);
            }
            Event::default().event(kind).id(id).data(summary.to_string())
        }
        Err(BroadcastStreamRecvError::Lagged(missed)) => {
            Event::default().event("lagged").data(json!({"missed": missed}).to_string())
        }
    }
}
