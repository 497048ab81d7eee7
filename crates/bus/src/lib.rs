//! callstitch-bus: NATS JetStream as the estate's event log, for when one machine is not
//! enough (docs/scale.md).
//!
//! - Every site has a stream of its own ([`names`]): `CALLSTITCH_EVENTS_<site>` with the one
//!   subject `callstitch.events.<site>` (under another prefix if told). A message is one event as its JSON line
//!   (docs/event-json.md), with the id `Nats-Msg-Id` made of its file's fingerprint and byte
//!   offset ([`names::message_id`]), so JetStream drops a repeat.
//! - [`SiteStream::publish`] keeps the stream in the site's log order, exactly once: each
//!   message says which stream sequence must be the last before it
//!   (`Nats-Expected-Last-Sequence`), so when one is refused every later one is refused too
//!   (nothing lands out of order), and a second publisher of the same site is refused instead
//!   of interleaving.
//! - A collector's [`Checkpoint`] (the follower's positions and each site's last sequence) is
//!   kept in a key-value bucket; after a crash the events the stream has beyond it are read
//!   again and skipped, checked against the stream ([`SiteStream::message`]).
//! - [`SiteReader`] reads a site's stream back from any sequence as typed events; a message
//!   that is not a valid event is a [`BusItem::Problem`] with its sequence, never a stop.

pub mod checkpoint;
pub mod collector;
pub mod names;
pub mod reader;
pub mod stream;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use tokio::sync::OnceCell;
use tokio_stream::StreamExt;

pub use checkpoint::Checkpoint;
pub use collector::{Collector, StepReport};
pub use names::SiteToken;
pub use reader::{follow_site, BusItem, SiteReader, TakesReads};
pub use stream::{Outgoing, SiteStream};

/// What can go wrong on the bus. Every variant names the site or bucket it concerns.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to NATS at {url} (is nats-server running there with JetStream, -js?)")]
    Connect {
        url: String,
        #[source]
        source: async_nats::ConnectError,
    },
    #[error("the prefix {prefix:?} is not a NATS name: use ASCII letters, digits, - and _")]
    BadPrefix { prefix: String },
    #[error("JetStream refused to {action} for site {site:?}: {message}")]
    Stream { site: String, action: &'static str, message: String },
    #[error("the checkpoint stream {stream:?}: {message}")]
    Checkpoint { stream: String, message: String },
    #[error("the checkpoint {subject:?} is not readable")]
    BadCheckpoint {
        subject: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "site {site:?}: the stream's sequence {got} is not the {expected} this publisher expected \
         (another collector publishes this site, or the stream was changed); it reads the stream again"
    )]
    OutOfStep { site: String, expected: u64, got: u64 },
    #[error(
        "site {site:?}: the stream ends at sequence {stream}, before this collector's checkpoint \
         ({checkpoint}): it was purged or recreated; delete the checkpoint {key:?} to publish the \
         logs again from their start"
    )]
    StreamBehind { site: String, stream: u64, checkpoint: u64, key: String },
    #[error(
        "site {site:?}: the event read again for sequence {seq} is not the one the stream holds \
         (the logs changed under the checkpoint); nothing more is published for this site"
    )]
    Diverged { site: String, seq: u64 },
}

impl BusError {
    /// The collector cannot go on with this by waiting and trying again: the logs or the
    /// streams changed under its checkpoint, or the checkpoint is unreadable.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            BusError::Diverged { .. } | BusError::StreamBehind { .. } | BusError::BadCheckpoint { .. }
        )
    }
}

/// How streams are made.
#[derive(Debug, Clone)]
pub struct BusOptions {
    /// How long JetStream remembers message ids to drop repeats.
    pub duplicate_window: Duration,
    /// Events older than this leave the streams (`None`: kept until removed by hand).
    pub max_age: Option<Duration>,
    /// Publishes awaiting their acknowledgement at once, per site.
    pub in_flight: usize,
    /// What every subject, stream and bucket name starts with ([`names::DEFAULT_PREFIX`]):
    /// ASCII letters, digits, `-` and `_`.
    pub prefix: String,
}

impl Default for BusOptions {
    fn default() -> Self {
        BusOptions {
            duplicate_window: Duration::from_secs(120),
            max_age: None,
            in_flight: 512,
            prefix: names::DEFAULT_PREFIX.to_string(),
        }
    }
}

/// A connection to JetStream. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    jetstream: jetstream::Context,
    options: BusOptions,
    /// The checkpoints' stream, found or made at its first use.
    checkpoint_stream: Arc<OnceCell<jetstream::stream::Stream>>,
}

impl Bus {
    /// Connects to the NATS server at `url` (`nats://host:port`).
    pub async fn connect(url: &str, options: BusOptions) -> Result<Bus, BusError> {
        let prefix_ok = !options.prefix.is_empty()
            && options
                .prefix
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !prefix_ok {
            return Err(BusError::BadPrefix { prefix: options.prefix });
        }
        let client = async_nats::connect(url)
            .await
            .map_err(|source| BusError::Connect { url: url.to_string(), source })?;
        Ok(Bus { jetstream: jetstream::new(client), options, checkpoint_stream: Arc::default() })
    }

    pub fn options(&self) -> &BusOptions {
        &self.options
    }

    /// The stream of collectors' checkpoints: `<PREFIX>_COLLECTORS`.
    pub fn checkpoint_stream_name(&self) -> String {
        format!("{}_COLLECTORS", self.options.prefix.to_ascii_uppercase())
    }

    /// The sites that have a stream under this prefix, by name, in order.
    pub async fn sites(&self) -> Result<Vec<String>, BusError> {
        let head = format!("{}_EVENTS_", self.options.prefix.to_ascii_uppercase());
        let refused = |error: &dyn std::fmt::Display| BusError::Stream {
            site: String::new(),
            action: "list the site streams",
            message: error.to_string(),
        };
        let mut names = self.jetstream.stream_names();
        let mut sites = Vec::new();
        while let Some(name) = names.next().await {
            let name = name.map_err(|error| refused(&error))?;
            if let Some(site) = name.strip_prefix(&head).and_then(SiteToken::site) {
                sites.push(site);
            }
        }
        sites.sort();
        Ok(sites)
    }

    /// The sequence of the last message of `site`'s stream (0: empty), without making it.
    pub async fn last_sequence(&self, site: &str) -> Result<u64, BusError> {
        let refused = |action, error: &dyn std::fmt::Display| BusError::Stream {
            site: site.to_string(),
            action,
            message: error.to_string(),
        };
        let mut stream = self
            .jetstream
            .get_stream(SiteToken::new(site).stream(&self.options.prefix))
            .await
            .map_err(|error| refused("find the stream", &error))?;
        let info = stream.info().await.map_err(|error| refused("describe the stream", &error))?;
        Ok(info.state.last_sequence)
    }

    /// Deletes a site's stream with every event in it (for an operator, and tests).
    pub async fn delete_site_stream(&self, site: &str) -> Result<(), BusError> {
        let stream = SiteToken::new(site).stream(&self.options.prefix);
        self.jetstream.delete_stream(stream).await.map(|_| ()).map_err(|error| BusError::Stream {
            site: site.to_string(),
            action: "delete the stream",
            message: error.to_string(),
        })
    }

    /// Deletes every collector's checkpoint: they publish their logs again from the start.
    pub async fn delete_checkpoints(&self) -> Result<(), BusError> {
        let stream = self.checkpoint_stream_name();
        self.jetstream
            .delete_stream(stream.clone())
            .await
            .map(|_| ())
            .map_err(|error| BusError::Checkpoint { stream, message: error.to_string() })
    }

    pub(crate) fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }
}
