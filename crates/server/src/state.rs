//! What the ingest loop and the HTTP API share: the metrics, the live stream of interaction
//! changes, and where the ingest loop is (recovering, running, degraded, stopped), from which
//! `/healthz` and the refusals of HTTP ingest are made.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callstitch_store::{Operation, StoreHealth};
use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};

use crate::metrics::Metrics;

/// How long after a store read failed `/healthz` still says so.
pub const READ_FAILURE_SHOWN_S: u64 = 60;

/// What a refused ingest request is told to wait before it tries again.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

/// How long an ingest request that arrives while the service recovers waits for the
/// recovery to end before it is refused (a start without much to replay ends well within it).
pub const RECOVERY_GRACE: Duration = Duration::from_secs(2);

/// One change of the live stream (`GET /v1/stream`).
#[derive(Debug, Clone)]
pub struct StreamItem {
    /// `created` (first written, linking still waiting), `updated` (a later revision) or
    /// `completed` (written complete).
    pub kind: &'static str,
    pub id: String,
    /// The search-result row of the interaction.
    pub summary: Value,
}

/// Where the ingest loop is.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestState {
    /// Replaying the stored events after the last snapshot, at a start.
    Recovering {
        replayed: u64,
        total: u64,
    },
    Running,
    /// The store refuses writes for a reason that can pass (a full disk, a lock, a read-only
    /// file): what was read is held and retried, nothing new is taken.
    Degraded {
        reason: String,
        since: Instant,
    },
    /// The loop ended on an error it cannot get past.
    Stopped {
        reason: String,
    },
}

/// An ingest request refused before it was taken: why, and when to try again.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub reason: String,
    pub retry_after: Option<Duration>,
}

impl Refusal {
    pub fn new(reason: impl Into<String>, retry_after: Option<Duration>) -> Refusal {
        Refusal { reason: reason.into(), retry_after }
    }
}

/// What `/healthz` answers: 200 only when `ok`.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub ok: bool,
    pub body: Value,
}

pub struct Shared {
    pub metrics: Metrics,
    pub stream: broadcast::Sender<StreamItem>,
    ingest: watch::Sender<IngestState>,
    /// How the bus is doing when the service reads one (`serve --nats`).
    pub bus: BusStatus,
}

/// A bus unreachable for this long makes /healthz say `degraded`.
pub const BUS_UNREACHABLE_DEGRADED: Duration = Duration::from_secs(30);

/// What the bus source last met, shared with /healthz: nothing until the service reads a bus.
#[derive(Debug, Clone, Default)]
pub struct BusStatus(Arc<Mutex<Option<BusHealth>>>);

/// See [`BusStatus`].
#[derive(Debug, Clone)]
pub struct BusHealth {
    pub url: String,
    /// The site streams being read.
    pub sites: usize,
    /// Why the bus cannot be reached, and since when (`None`: it answers).
    pub unreachable: Option<(String, Instant)>,
}

impl BusStatus {
    /// The service reads the bus at `url`.
    pub fn start(&self, url: &str) {
        *self.lock() = Some(BusHealth { url: url.to_string(), sites: 0, unreachable: None });
    }

    /// The bus answered; `sites` streams are read.
    pub fn reached(&self, sites: usize) {
        if let Some(health) = self.lock().as_mut() {
            health.sites = sites;
            health.unreachable = None;
        }
    }

    /// The bus did not answer: since the first failure of this outage.
    pub fn unreachable(&self, error: &str) {
        if let Some(health) = self.lock().as_mut() {
            let since = health.unreachable.as_ref().map_or_else(Instant::now, |(_, since)| *since);
            health.unreachable = Some((error.to_string(), since));
        }
    }

    pub fn get(&self) -> Option<BusHealth> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<BusHealth>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for Shared {
    fn default() -> Self {
        Shared::new()
    }
}

impl Shared {
    pub fn new() -> Shared {
        let (stream, _) = broadcast::channel(4096);
        Shared {
            metrics: Metrics::new(),
            stream,
            ingest: watch::Sender::new(IngestState::Running),
            bus: BusStatus::default(),
        }
    }

    pub fn ingest_state(&self) -> IngestState {
        self.ingest.borrow().clone()
    }

    pub fn set_ingest_state(&self, state: IngestState) {
        self.ingest.send_replace(state);
    }

    /// [`Self::ingest_refusal`], after waiting up to `grace` for a recovery to end.
    pub async fn ingest_refusal_after(&self, grace: Duration) -> Option<Refusal> {
        let mut state = self.ingest.subscribe();
        let recovered = state.wait_for(|state| !matches!(state, IngestState::Recovering { .. }));
        // Timed out: still recovering, refused below.
        let _ = tokio::time::timeout(grace, recovered).await;
        self.ingest_refusal()
    }

    pub fn ingest_alive(&self) -> bool {
        !matches!(self.ingest_state(), IngestState::Stopped { .. })
    }

    /// Why an ingest request would not be taken now, if it would not.
    pub fn ingest_refusal(&self) -> Option<Refusal> {
        match self.ingest_state() {
            IngestState::Running => None,
            IngestState::Stopped { reason } => {
                Some(Refusal::new(format!("the ingest loop stopped: {reason}; see the service log"), None))
            }
            IngestState::Degraded { reason, .. } => {
                Some(Refusal::new(format!("store unavailable: {reason}; retry later"), Some(RETRY_AFTER)))
            }
            IngestState::Recovering { replayed, total } => Some(Refusal::new(
                format!("recovering: replaying stored events ({replayed} of {total}); retry later"),
                Some(RETRY_AFTER),
            )),
        }
    }

    /// `/healthz`: the ingest loop's state, and the failures the store saw (readers' too).
    pub fn health(&self, store: &StoreHealth) -> Health {
        let damaged = store.corrupt.as_ref().map(|detail| {
            format!(
                "the database is damaged ({detail}); restore it from a backup, or move it aside and \
                 re-import the logs (callstitch import), then restart"
            )
        });
        let (status, reason, extra) = match (self.ingest_state(), damaged) {
            (IngestState::Stopped { reason }, damaged) => {
                let advice = damaged.unwrap_or_else(|| "see the service log".to_string());
                ("failed", format!("the ingest loop stopped: {reason}; {advice}"), json!({}))
            }
            (_, Some(damaged)) => ("degraded", damaged, json!({})),
            (IngestState::Recovering { replayed, total }, None) => (
                "recovering",
                format!(
                    "recovering: restoring the last snapshot and replaying the stored events after it \
                     ({replayed} of {total}); reads answer what is stored, ingest waits"
                ),
                json!({"replayed": replayed, "total": total}),
            ),
            (IngestState::Degraded { reason, since }, None) => (
                "degraded",
                format!("the store cannot write: {reason}"),
                json!({"since_s": since.elapsed().as_secs()}),
            ),
            (IngestState::Running, None) => match store.recent(Operation::Read, READ_FAILURE_SHOWN_S) {
                Some(failure) => (
                    "degraded",
                    format!(
                        "a store read failed {} s ago: {}; {}",
                        failure.seconds_ago,
                        failure.error,
                        failure.kind.advice()
                    ),
                    json!({}),
                ),
                None => return self.bus_health(json!({"status": "ok", "store": store})),
            },
        };
        let mut body = json!({"status": status, "reason": reason, "store": store});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        Health { ok: false, body }
    }

    /// An ok `body` with the bus's state when one is read: `degraded` once it has been
    /// unreachable for [`BUS_UNREACHABLE_DEGRADED`] (stored data is still answered; the sites'
    /// events wait in their streams).
    fn bus_health(&self, mut body: Value) -> Health {
        let Some(bus) = self.bus.get() else { return Health { ok: true, body } };
        let down = bus.unreachable.as_ref().map(|(error, since)| (error, since.elapsed()));
        let state = match &down {
            None => json!({"url": bus.url, "connected": true, "sites": bus.sites}),
            Some((error, for_)) => json!({
                "url": bus.url, "connected": false, "sites": bus.sites, "error": error, "since_s": for_.as_secs()
            }),
        };
        let degraded = down.as_ref().filter(|(_, for_)| *for_ >= BUS_UNREACHABLE_DEGRADED);
        if let Some(object) = body.as_object_mut() {
            object.insert("bus".to_string(), state);
            if let Some((error, for_)) = degraded {
                object.insert("status".to_string(), json!("degraded"));
                let reason = format!(
                    "the bus at {} has not answered for {} s ({error}); stored interactions are answered, \
                     the sites' events wait in their streams",
                    bus.url,
                    for_.as_secs()
                );
                object.insert("reason".to_string(), json!(reason));
            }
        }
        Health { ok: degraded.is_none(), body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callstitch_store::{FailureKind, StoreFailure};

    fn failure(operation: Operation, kind: FailureKind, seconds_ago: u64) -> StoreHealth {
        StoreHealth {
            read_failures: 1,
            last_failure: Some(StoreFailure {
                operation,
                kind,
                error: "database: database disk image is malformed".to_string(),
                seconds_ago,
            }),
            ..StoreHealth::default()
        }
    }

    #[test]
    fn healthz_says_how_the_bus_is_and_is_degraded_once_it_has_been_unreachable_a_while() {
        let shared = Shared::new();
        assert!(shared.health(&StoreHealth::default()).body.get("bus").is_none(), "no bus read");
        shared.bus.start("nats://bus:4222");
        shared.bus.reached(3);
        let health = shared.health(&StoreHealth::default());
        assert!(health.ok);
        assert_eq!(health.body["bus"], json!({"url": "nats://bus:4222", "connected": true, "sites": 3}));

        shared.bus.unreachable("connection refused");
        let health = shared.health(&StoreHealth::default());
        assert!(health.ok, "a short outage is waited out: {}", health.body);
        assert_eq!(health.body["bus"]["connected"], false);

        let long_ago = Instant::now().checked_sub(BUS_UNREACHABLE_DEGRADED + Duration::from_secs(1));
        if let (Some(since), Some(bus)) = (long_ago, shared.bus.lock().as_mut()) {
            bus.unreachable = Some(("connection refused".to_string(), since));
        }
        let health = shared.health(&StoreHealth::default());
        assert_eq!((health.ok, health.body["status"].as_str()), (false, Some("degraded")), "{}", health.body);
        assert!(health.body["reason"].as_str().is_some_and(|reason| reason.contains("nats://bus:4222")));

        shared.bus.reached(3);
        assert!(shared.health(&StoreHealth::default()).ok, "back");
    }

    #[test]
    fn healthz_is_ok_only_when_ingest_runs_and_the_store_answers() {
        let shared = Shared::new();
        assert!(shared.health(&StoreHealth::default()).ok);
        assert!(shared.ingest_refusal().is_none());

        let recent = failure(Operation::Read, FailureKind::Io, 3);
        let health = shared.health(&recent);
        assert_eq!((health.ok, health.body["status"].as_str()), (false, Some("degraded")), "{}", health.body);
        assert!(shared.health(&failure(Operation::Read, FailureKind::Io, 600)).ok, "an old failure is past");

        let damaged = StoreHealth { corrupt: Some("malformed".to_string()), ..StoreHealth::default() };
        let health = shared.health(&damaged);
        assert!(!health.ok && health.body["reason"].as_str().is_some_and(|reason| reason.contains("backup")));

        shared.set_ingest_state(IngestState::Recovering { replayed: 10, total: 40 });
        let health = shared.health(&StoreHealth::default());
        assert_eq!(health.body["status"], "recovering");
        assert_eq!((health.body["replayed"].as_u64(), health.body["total"].as_u64()), (Some(10), Some(40)));
        assert!(shared.ingest_refusal().is_some_and(|refusal| refusal.retry_after.is_some()));

        let reason = "database or disk is full; free space".to_string();
        shared.set_ingest_state(IngestState::Degraded { reason, since: Instant::now() });
        let health = shared.health(&StoreHealth::default());
        assert_eq!(health.body["status"], "degraded");
        let refusal = shared.ingest_refusal().expect("refused while degraded");
        assert!(refusal.reason.starts_with("store unavailable: database or disk is full"), "{refusal:?}");

        shared.set_ingest_state(IngestState::Stopped { reason: "boom".to_string() });
        assert_eq!(shared.health(&StoreHealth::default()).body["status"], "failed");
        assert!(!shared.ingest_alive());
    }
}
