//! The HTTP API (docs/api.md, and the OpenAPI document served at `/openapi.json`): the
//! router with its limits, the bearer-token scopes, and the one JSON shape of every error.

pub mod edge;
pub mod export;
mod ingest;
pub mod params;
pub(crate) mod read;
pub(crate) mod stream;

#[cfg(test)]
pub(crate) use ingest::media_records;
/// The reading of a `POST /v1/events` body (for the fuzz target of the ingest bodies).
pub use ingest::parse_events;

use std::sync::Arc;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{BoxError, Json, Router};
use callstitch_store::{Store, StoreError};
use serde_json::json;
use tower::ServiceBuilder;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;

pub use self::edge::Edge;
use crate::config::{Scope, Token};
use crate::ingest::Ingress;
use crate::metrics::SourceLabels;
use crate::state::Shared;
use crate::ui::auth::SignInThrottle;

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// What every handler can reach.
pub struct AppInner<S> {
    pub store: S,
    pub ingress: Ingress,
    pub shared: Arc<Shared>,
    pub tokens: Vec<Token>,
    pub mask_numbers: bool,
    pub max_body_bytes: usize,
    /// Host and Origin checks and the request timeouts.
    pub edge: Edge,
    /// Failed sign-ins per client address.
    pub sign_ins: SignInThrottle,
    /// The configured sites (`[[site]]`): a search may name them before any call of theirs
    /// is stored.
    pub sites: Vec<String>,
}

pub struct App<S> {
    inner: Arc<AppInner<S>>,
}

impl<S> Clone for App<S> {
    fn clone(&self) -> Self {
        App { inner: Arc::clone(&self.inner) }
    }
}

impl<S> std::ops::Deref for App<S> {
    type Target = AppInner<S>;
    fn deref(&self) -> &AppInner<S> {
        &self.inner
    }
}

impl<S> App<S> {
    pub fn new(inner: AppInner<S>) -> App<S> {
        App { inner: Arc::new(inner) }
    }
}

/// A refused or failed request: its status and a JSON body saying why.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason: String,
    /// The line of the request body that failed, for ingest requests.
    pub line: Option<u64>,
    /// When to try again (`Retry-After`), for a refusal that will pass.
    pub retry_after: Option<std::time::Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> ApiError {
        ApiError { status, reason: reason.into(), line: None, retry_after: None }
    }

    /// 503 for an ingest request the service cannot take now.
    pub fn unavailable(refusal: crate::state::Refusal) -> ApiError {
        ApiError {
            retry_after: refusal.retry_after,
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, refusal.reason)
        }
    }

    pub fn bad_request(reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, reason)
    }

    pub fn not_found(reason: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, reason)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::BadCursor(_) => ApiError::bad_request(error.to_string()),
            StoreError::TooBroad { .. } => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
            _ => {
                tracing::error!(%error, "store");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("the store failed: {error}"))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.status.canonical_reason().unwrap_or("error").to_ascii_lowercase().replace(' ', "-");
        let mut body = json!({"error": code, "status": self.status.as_u16(), "reason": self.reason});
        if let Some(line) = self.line {
            body["line"] = json!(line);
        }
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(after) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs().max(1)));
        }
        response
    }
}

/// The credentials of an `Authorization: Bearer <token>` header; the scheme's case does not
/// matter (RFC 7235).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim_start();
    let (scheme, credentials) = value.split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| credentials.trim())
}

/// The token a request presents, checked for `scope`. Without configured tokens the API is
/// open (the config refuses that on anything but loopback).
fn authorize(tokens: &[Token], request: &Request, scope: Scope) -> Result<(), ApiError> {
    if tokens.is_empty() {
        return Ok(());
    }
    let Some(presented) = bearer(request.headers()) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this API needs a bearer token (Authorization: Bearer …)",
        ));
    };
    let Some(token) =
        tokens.iter().find(|token| constant_time_eq(token.secret.as_bytes(), presented.as_bytes()))
    else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the bearer token is not one of the configured tokens",
        ));
    };
    if !token.scopes.contains(&scope) {
        let wanted = match scope {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("token {:?} lacks the {wanted} scope", token.name),
        ));
    }
    Ok(())
}

/// Compares secrets without an early exit that would tell an attacker how much matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Counts a request refused in `source` (`rejected_requests`).
fn count_rejected<S>(app: &App<S>, source: &str) {
    app.shared.metrics.rejected.get_or_create(&SourceLabels { source: source.to_string() }).inc();
}

async fn require_read<S: Store>(State(app): State<App<S>>, request: Request, next: Next) -> Response {
    match authorize(&app.tokens, &request, Scope::Read) {
        Ok(()) => next.run(request).await,
        Err(error) => {
            count_rejected(&app, "auth-read");
            error.into_response()
        }
    }
}

async fn require_ingest<S: Store>(State(app): State<App<S>>, request: Request, next: Next) -> Response {
    match authorize(&app.tokens, &request, Scope::Ingest) {
        Ok(()) => next.run(request).await,
        Err(error) => {
            count_rejected(&app, "auth");
            // The body of a refused request is not buffered (edge::refuse).
            edge::refuse(request, error.into_response()).await
        }
    }
}

/// 200 `{"status": "ok"}` only while ingest runs and the store answers; otherwise 503 with
/// `recovering`, `degraded` or `failed` and the reason (crate::state::Shared::health).
async fn healthz<S: Store>(State(app): State<App<S>>) -> Response {
    let health = app.shared.health(&app.store.health());
    let status = if health.ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(health.body)).into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// A path no route takes: the JSON 404 under `/v1/` and for a client that asks for JSON
/// (and not HTML); otherwise (a browser's mistyped address) the HTML 404 page with a search
/// box.
async fn not_found(request: Request) -> Response {
    let path = request.uri().path();
    let accept = request.headers().get(header::ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or("");
    let wants_json = accept.contains("json") && !accept.contains("text/html");
    if path.starts_with("/v1/") || path == "/v1" || wants_json {
        return ApiError::not_found("no such endpoint; GET /openapi.json lists them").into_response();
    }
    crate::ui::html::error_page(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address. Search for an interaction, or open one at /i/{id}; the JSON API is under /v1/ (GET /openapi.json lists it).",
        false,
    )
}

/// A request still unanswered after `limit`: 503 with the JSON error.
async fn timed_out(_elapsed: BoxError) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the request took longer than http.request_timeout_s; narrow it or retry",
    )
}

/// The whole API. Reads and pages are cut after the request timeout; the live streams are
/// not, nor is an ingest request waiting for its commit (its body is bounded in size and in
/// how long it may stall instead).
pub fn router<S: Store>(app: App<S>) -> Router {
    let timeout =
        ServiceBuilder::new().layer(HandleErrorLayer::new(timed_out)).timeout(app.edge.request_timeout);
    let read = Router::new()
        .route("/v1/interactions", get(read::list::<S>))
        .route("/v1/interactions.csv", get(read::list_csv::<S>))
        .route("/v1/counts", get(read::counts::<S>))
        .route("/v1/interactions/{id}", get(read::interaction::<S>))
        .route("/v1/recordings/{id}", get(read::recording::<S>))
        .route("/v1/calls/{site}/{call_uuid}", get(read::call::<S>))
        .route("/metrics", get(read::metrics::<S>))
        .route("/v1/status", get(read::status::<S>))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_read::<S>))
        .layer(timeout);
    let live = Router::new()
        .route("/v1/stream", get(stream::stream::<S>))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_read::<S>));
    let ingest = Router::new()
        .route("/v1/events", post(ingest::events::<S>))
        .route("/v1/media", post(ingest::media::<S>))
        .route_layer(middleware::from_fn_with_state(app.clone(), edge::require_json_body::<S>))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_ingest::<S>))
        .route_layer(middleware::from_fn_with_state(app.clone(), edge::refuse_oversized::<S>))
        .layer(RequestBodyTimeoutLayer::new(app.edge.body_timeout))
        .layer(DefaultBodyLimit::max(app.max_body_bytes));
    Router::new()
        .route("/healthz", get(healthz::<S>))
        .route("/openapi.json", get(openapi))
        .merge(read)
        .merge(live)
        .merge(ingest)
        .merge(crate::ui::router(app.clone()))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), edge::same_host_and_origin::<S>))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(app)
}
