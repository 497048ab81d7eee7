//! What the HTTP edge refuses before a handler runs, and how: a foreign `Host` or `Origin`
//! when no tokens are configured (DNS rebinding, cross-site pages), an ingest body that is
//! too large by its `Content-Length` or not JSON by its `Content-Type`. A refused request's
//! body is never buffered: a small one is drained and thrown away so the connection can be
//! reused, a large one is left unread and the connection closed after the answer.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use callstitch_store::Store;
use tokio_stream::StreamExt;

use super::{ApiError, App};
use crate::config::{HttpConfig, ServiceConfig};

/// The most of a refused body read (and thrown away) to keep its connection usable.
const DRAIN_BYTES: u64 = 1 << 20;
/// The longest a refused body is drained.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// The media types an ingest body may declare: JSON lines, under any of their names, or JSON.
const JSON_TYPES: [&str; 6] = [
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/jsonlines",
    "application/x-jsonlines",
    "application/json",
];

/// The edge's policy, fixed at start.
#[derive(Debug, Clone)]
pub struct Edge {
    /// No tokens are configured: only the allowed hosts and same-origin requests are served.
    pub open: bool,
    /// The `Host` values answered when open (lowercase).
    pub allowed_hosts: Vec<String>,
    /// A read or page request unanswered after this is answered 503.
    pub request_timeout: Duration,
    /// An ingest body that sends nothing for this long is refused.
    pub body_timeout: Duration,
}

impl Default for Edge {
    /// Tokens' business (no Host or Origin check), the default timeouts.
    fn default() -> Self {
        let http = HttpConfig::default();
        Edge {
            open: false,
            allowed_hosts: Vec::new(),
            request_timeout: Duration::from_secs(http.request_timeout_s),
            body_timeout: Duration::from_secs(http.body_timeout_s),
        }
    }
}

impl Edge {
    /// The policy of a service with `config` listening on `address`.
    pub fn new(config: &ServiceConfig, address: SocketAddr) -> Edge {
        let port = address.port();
        let mut hosts = vec![
            address.to_string(),
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ];
        if port == 80 {
            hosts.extend(["localhost", "127.0.0.1", "[::1]"].map(String::from));
        }
        hosts.extend(config.http.allowed_hosts.iter().cloned());
        Edge {
            open: config.tokens.is_empty(),
            allowed_hosts: hosts.into_iter().map(|host| host.to_ascii_lowercase()).collect(),
            request_timeout: Duration::from_secs(config.http.request_timeout_s),
            body_timeout: Duration::from_secs(config.http.body_timeout_s),
        }
    }

    fn allows_host(&self, host: &str) -> bool {
        self.allowed_hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(host))
    }

    /// Whether an open service answers a request with these headers: its `Host` one of the
    /// allowed (a request without one is no browser's), its `Origin`, if any, its own.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if !self.open {
            return Ok(());
        }
        let host = match headers.get(header::HOST) {
            None => None,
            Some(value) => {
                Some(value.to_str().ok().filter(|host| self.allows_host(host)).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::MISDIRECTED_REQUEST,
                        "this service has no tokens and answers only its own address as Host \
                     (add the name to http.allowed_hosts)",
                    )
                })?)
            }
        };
        let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
        let authority = origin
            .to_str()
            .ok()
            .and_then(|origin| origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")));
        let same_origin = match (authority, host) {
            (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host),
            (Some(authority), None) => self.allows_host(authority),
            (None, _) => false,
        };
        if same_origin {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this service has no tokens and answers no request from another origin",
            ))
        }
    }
}

/// The middleware of every route: [`Edge::check`].
pub async fn same_host_and_origin<S: Store>(
    State(app): State<App<S>>,
    request: Request,
    next: Next,
) -> Response {
    match app.edge.check(request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => refuse(request, error.into_response()).await,
    }
}

/// The declared body length, if any.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// The middleware of the ingest routes: a body declared larger than the limit is refused at
/// once (413), before any of it is read.
pub async fn refuse_oversized<S: Store>(State(app): State<App<S>>, request: Request, next: Next) -> Response {
    match content_length(request.headers()) {
        Some(length) if length > app.max_body_bytes as u64 => {
            let reason = format!(
                "the request body ({length} bytes) is larger than ingest.max_body_bytes ({}); send fewer lines \
                 per request",
                app.max_body_bytes
            );
            let error = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, reason);
            app.shared.metrics.rejected.get_or_create(&source_label(request.uri().path())).inc();
            refuse(request, error.into_response()).await
        }
        _ => next.run(request).await,
    }
}

/// The middleware of the ingest routes: the body must say it is JSON lines or JSON (a page
/// of another site can post `text/plain` without asking; 415).
pub async fn require_json_body<S: Store>(
    State(app): State<App<S>>,
    request: Request,
    next: Next,
) -> Response {
    let media_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    if media_type.as_deref().is_some_and(|media_type| JSON_TYPES.contains(&media_type)) {
        return next.run(request).await;
    }
    let error = ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!(
            "Content-Type {} is not JSON lines: send Content-Type: application/x-ndjson",
            media_type.as_deref().map_or("(none)".to_string(), |media_type| format!("{media_type:?}"))
        ),
    );
    app.shared.metrics.rejected.get_or_create(&source_label(request.uri().path())).inc();
    refuse(request, error.into_response()).await
}

/// The `rejected_requests` source of an ingest path.
fn source_label(path: &str) -> crate::metrics::SourceLabels {
    let source = if path.ends_with("/media") { "media" } else { "events" };
    crate::metrics::SourceLabels { source: source.to_string() }
}

/// Answers a refused request without buffering its body: a small body is read and thrown
/// away, so the client sees the answer and may reuse the connection; a large or endless one
/// is left unread and the connection is closed after the answer.
pub async fn refuse(request: Request, mut response: Response) -> Response {
    let declared = content_length(request.headers());
    let drained = match declared {
        Some(0) => true,
        Some(length) if length > DRAIN_BYTES => false,
        _ => drain(request.into_body()).await,
    };
    if !drained {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads a body to its end and throws it away, if it ends within [`DRAIN_BYTES`] and
/// [`DRAIN_TIME`].
async fn drain(body: Body) -> bool {
    let mut chunks = body.into_data_stream();
    let read_all = async {
        let mut seen = 0u64;
        while let Some(chunk) = chunks.next().await {
            let Ok(chunk) = chunk else { return false };
            seen += chunk.len() as u64;
            if seen > DRAIN_BYTES {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIME, read_all).await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_edge() -> Edge {
        let config = ServiceConfig::default();
        Edge::new(&config, SocketAddr::from(([127, 0, 0, 1], 7878)))
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn an_open_service_answers_its_own_names_only() {
        let edge = open_edge();
        for host in ["127.0.0.1:7878", "localhost:7878", "LOCALHOST:7878", "[::1]:7878"] {
            assert!(edge.check(&headers(&[(header::HOST, host)])).is_ok(), "{host}");
        }
        for host in ["evil.example:7878", "localhost", "127.0.0.1:7879", "localhost.evil.example:7878"] {
            let refused = edge.check(&headers(&[(header::HOST, host)])).map_err(|error| error.status);
            assert_eq!(refused, Err(StatusCode::MISDIRECTED_REQUEST), "{host}");
        }
        assert!(edge.check(&HeaderMap::new()).is_ok(), "no Host: no browser");
    }

    #[test]
    fn an_open_service_refuses_other_origins() {
        let edge = open_edge();
        let host = (header::HOST, "localhost:7878");
        for origin in ["http://localhost:7878", "https://LOCALHOST:7878"] {
            assert!(edge.check(&headers(&[host.clone(), (header::ORIGIN, origin)])).is_ok(), "{origin}");
        }
        for origin in ["http://evil.example", "null", "http://127.0.0.1:7878", "file://", "localhost:7878"] {
            let refused =
                edge.check(&headers(&[host.clone(), (header::ORIGIN, origin)])).map_err(|error| error.status);
            assert_eq!(refused, Err(StatusCode::FORBIDDEN), "{origin}");
        }
    }

    #[test]
    fn with_tokens_host_and_origin_are_the_tokens_business() {
        let edge = Edge { open: false, ..open_edge() };
        let foreign = headers(&[(header::HOST, "evil.example"), (header::ORIGIN, "http://evil.example")]);
        assert!(edge.check(&foreign).is_ok());
    }
}
