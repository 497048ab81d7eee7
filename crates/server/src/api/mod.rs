//! The HTTP API (docs/api.md, and the OpenAPI document served at `/openapi.json`): the
//! router, the bearer-token scopes, and the one JSON shape of every error.

mod ingest;
mod read;
pub(crate) mod stream;

/// The reading of a `POST /v1/events` body (for the fuzz target of the ingest bodies).
pub use ingest::parse_events;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use callstitch_store::{Store, StoreError};
use serde_json::json;

use crate::config::{Scope, Token};
use crate::ingest::Ingress;
use crate::state::Shared;

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
}

impl ApiError {
    pub fn new(status: StatusCode, reason: impl Into<String>) -> ApiError {
        ApiError { status, reason: reason.into(), line: None }
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
        response
    }
}

/// The token a request presents, checked for `scope`. Without configured tokens the API is
/// open (the config refuses that on anything but loopback).
fn authorize(tokens: &[Token], request: &Request, scope: Scope) -> Result<(), ApiError> {
    if tokens.is_empty() {
        return Ok(());
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
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

async fn require_read<S: Store>(State(app): State<App<S>>, request: Request, next: Next) -> Response {
    match authorize(&app.tokens, &request, Scope::Read) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

async fn require_ingest<S: Store>(State(app): State<App<S>>, request: Request, next: Next) -> Response {
    match authorize(&app.tokens, &request, Scope::Ingest) {
        Ok(()) => next.run(request).await,
        Err(error) => {
            app.shared
                .metrics
                .rejected
                .get_or_create(&crate::metrics::SourceLabels { source: "auth".to_string() })
                .inc();
            // Read the body (up to the limit) before answering: a client still sending it
            // would otherwise see the connection break instead of the 401 or 403.
            let _ = axum::body::to_bytes(request.into_body(), app.max_body_bytes).await;
            error.into_response()
        }
    }
}

async fn healthz<S: Store>(State(app): State<App<S>>) -> Response {
    if app.shared.ingest_alive() {
        Json(json!({"status": "ok"})).into_response()
    } else {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the ingest loop stopped; see the service log")
            .into_response()
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; GET /openapi.json lists them")
}

/// The whole API.
pub fn router<S: Store>(app: App<S>) -> Router {
    let read = Router::new()
        .route("/v1/interactions", get(read::list::<S>))
        .route("/v1/interactions/{id}", get(read::interaction::<S>))
        .route("/v1/recordings/{id}", get(read::recording::<S>))
        .route("/v1/calls/{site}/{call_uuid}", get(read::call::<S>))
        .route("/v1/stream", get(stream::stream::<S>))
        .route("/metrics", get(read::metrics::<S>))
        .route("/v1/status", get(read::status::<S>))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_read::<S>));
    let ingest = Router::new()
        .route("/v1/events", post(ingest::events::<S>))
        .route("/v1/media", post(ingest::media::<S>))
        .route_layer(middleware::from_fn_with_state(app.clone(), require_ingest::<S>))
        .layer(DefaultBodyLimit::max(app.max_body_bytes));
    Router::new()
        .route("/healthz", get(healthz::<S>))
        .route("/openapi.json", get(openapi))
        .merge(read)
        .merge(ingest)
        .merge(crate::ui::router(app.clone()))
        .fallback(not_found)
        .with_state(app)
}
