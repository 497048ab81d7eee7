//! The web UI of `callstitch serve` (docs/ui.md): server-rendered HTML pages over the store,
//! no JavaScript build step, a little plain JS only for live rows.
//!
//! | path | what |
//! |---|---|
//! | `GET /` | search ([`search`]); `/?…&format=csv` its CSV |
//! | `GET /i/{id}` | one interaction with its ladder ([`interaction`]); `/i/{id}.json`, `/i/{id}/recording.json`, `/i/{id}/events.log` |
//! | `GET /ui/stream` | the live stream of `/v1/stream` for the pages (the cookie authenticates it) |
//! | `GET, POST /login`, `POST /logout` | the read-token cookie ([`auth`]) |
//! | `GET /ui/assets/ui.css`, `/ui/assets/ui.js`, `/ui/assets/interaction.js` | the stylesheet, the live-rows script, the interaction page's script |

pub mod auth;
pub mod html;
pub mod interaction;
pub mod search;
#[cfg(test)]
mod tests;

use std::convert::Infallible;

use axum::error_handling::HandleErrorLayer;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{BoxError, Router};
use callstitch_store::Store;
use tokio_stream::Stream;
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::api::App;

/// The stylesheet.
pub const CSS: &str = include_str!("../../assets/ui.css");
/// The stylesheet served: [`CSS`], then the search page's own ([`search::CSS`]).
static STYLESHEET: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("{CSS}{}", search::CSS));
/// The live-rows script of the search page.
pub const JS: &str = include_str!("../../assets/ui.js");
/// The interaction page's script (a ladder row opens its event).
pub const INTERACTION_JS: &str = include_str!("../../assets/interaction.js");

/// A page still unwritten after the request timeout: the error page, 503.
async fn timed_out(_elapsed: BoxError) -> Response {
    html::error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Too slow",
        "The page took longer than this service allows (http.request_timeout_s). Narrow the search or retry.",
        false,
    )
}

/// The UI's routes, to be merged into the API router (which adds the state). Every answer
/// forbids framing and opening it from another site's window; pages are cut after the
/// request timeout, the live stream is not.
pub fn router<S: Store>(app: App<S>) -> Router<App<S>> {
    let timeout =
        ServiceBuilder::new().layer(HandleErrorLayer::new(timed_out)).timeout(app.edge.request_timeout);
    let pages = Router::new()
        .route("/", get(search::page::<S>))
        .route("/i/{id}", get(interaction::page_or_json::<S>))
        .route("/i/{id}/recording.json", get(interaction::recording_json::<S>))
        .route("/i/{id}/events.log", get(interaction::events_log::<S>))
        .route_layer(middleware::from_fn_with_state(app.clone(), auth::require_read::<S>))
        .layer(timeout);
    let live = Router::new()
        .route("/ui/stream", get(stream::<S>))
        .route_layer(middleware::from_fn_with_state(app, auth::require_read::<S>));
    Router::new()
        .route("/login", get(auth::form::<S>).post(auth::login::<S>))
        .route("/logout", post(auth::logout))
        .route("/ui/assets/ui.css", get(css))
        .route("/ui/assets/ui.js", get(js))
        .route("/ui/assets/interaction.js", get(interaction_js))
        .merge(pages)
        .merge(live)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response =
        ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET.as_str())
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

async fn interaction_js() -> Response {
    asset("text/javascript; charset=utf-8", INTERACTION_JS)
}

/// The same events as `/v1/stream` (`created`, `updated`, `completed`, `lagged`), for
/// pages: a browser's EventSource cannot send the bearer header `/v1/stream` wants.
async fn stream<S: Store>(State(app): State<App<S>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    crate::api::stream::live(&app)
}
