//! The service's connections: accepted up to a cap (the rest wait in the kernel's listen
//! queue, holding no file of this process), each served by hyper's HTTP/1 with a header
//! timeout that closes half-open requests and idle kept-alive connections alike, and given
//! a bounded grace to finish at shutdown (a live stream never finishes by itself).
//!
//! The request-level limits (request and body timeouts, body size, Host and Origin) are
//! layers of the router ([`crate::api::router`]).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::config::HttpConfig;

/// How long connections still open at shutdown (live streams, slow answers) may take.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What the connection loop needs of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Open connections at most.
    pub max_connections: usize,
    /// Headers must arrive within this of the connection opening or of the last answer.
    pub header_timeout: Duration,
}

impl ConnectionLimits {
    /// The configured limits, the connection cap lowered to half the open-file limit (the
    /// other half is the store's, the followed logs' and the runtime's) when that is smaller.
    pub fn new(http: &HttpConfig, open_files: Option<u64>) -> ConnectionLimits {
        let room = open_files.map_or(usize::MAX, |limit| usize::try_from(limit / 2).unwrap_or(usize::MAX));
        let max_connections = http.max_connections.min(room).max(1);
        if max_connections < http.max_connections {
            tracing::warn!(
                configured = http.max_connections,
                open_files,
                max_connections,
                "http.max_connections lowered to half the open-file limit"
            );
        }
        ConnectionLimits { max_connections, header_timeout: Duration::from_secs(http.header_timeout_s) }
    }
}

/// Raises the soft open-file limit to the hard one; the soft limit then in force, if known.
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft)
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open connections
/// finish for a short grace.
pub async fn serve_connections(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let Some((stream, remote, permit)) = accepted else { continue };
        let service = router.clone().map_request(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(remote));
            request
        });
        let connection =
            graceful.watch(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %remote, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::info!("connections still open after the shutdown grace are dropped");
    }
}

/// The next connection, once there is room for it.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    let permit = Arc::clone(permits).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, remote)) => Some((stream, remote, permit)),
        Err(error) => {
            accept_failed(error).await;
            None
        }
    }
}

/// A connection that broke before it was taken is the client's business; anything else
/// (out of files) is logged and waited out, so the loop does not spin.
async fn accept_failed(error: io::Error) {
    let client_side = matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    );
    if !client_side {
        tracing::error!(%error, "cannot accept a connection");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_half_the_open_files_to_the_rest() {
        let http = HttpConfig { max_connections: 512, ..HttpConfig::default() };
        assert_eq!(ConnectionLimits::new(&http, Some(256)).max_connections, 128);
        assert_eq!(ConnectionLimits::new(&http, Some(1 << 20)).max_connections, 512);
        assert_eq!(ConnectionLimits::new(&http, None).max_connections, 512);
        assert_eq!(ConnectionLimits::new(&http, Some(1)).max_connections, 1);
    }
}
