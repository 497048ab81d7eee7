//! The operations endpoints of a process that serves no API (a collector; docs/scale.md):
//! `GET /metrics` (Prometheus text) and `GET /healthz` (JSON, 200 when healthy, 503 when
//! not), on an address of its own. The process says what they hold through a [`RoleReport`];
//! this module only serves it, with the same connection limits as the service.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::http::{serve_connections, ConnectionLimits};

/// What a process's operations endpoints show.
pub trait RoleReport: Send + Sync + 'static {
    /// Every metric, in Prometheus' text format.
    fn metrics(&self) -> String;
    /// Whether the process does its job now, and what a person looking needs to know.
    fn health(&self) -> (bool, serde_json::Value);
}

/// Serves `report` on `listener` until `shutdown` completes.
pub async fn serve_role(
    listener: TcpListener,
    report: Arc<dyn RoleReport>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let router =
        Router::new().route("/metrics", get(metrics)).route("/healthz", get(healthz)).with_state(report);
    let limits = ConnectionLimits { max_connections: 64, header_timeout: Duration::from_secs(10) };
    serve_connections(listener, router, limits, shutdown).await;
}

async fn metrics(State(report): State<Arc<dyn RoleReport>>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], report.metrics()).into_response()
}

async fn healthz(State(report): State<Arc<dyn RoleReport>>) -> Response {
    let (healthy, body) = report.health();
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}
