//! A collector's checkpoint: how far its follower read every file, and the stream sequence
//! each site had reached with those positions. Kept as JSON in a JetStream key-value bucket
//! under the collector's name, written after every acknowledged batch.
//!
//! The checkpoint may lag the streams (a crash between the acknowledgements and the write):
//! the collector then reads the events in between again and skips them, checking the last one
//! against the stream. It is never ahead of them: it is written only after the events it
//! covers are stored.

use std::collections::BTreeMap;

use async_nats::jetstream::stream::{Config, LastRawMessageErrorKind, StorageType, Stream};
use bytes::Bytes;
use callstitch_follow::Position;
use serde::{Deserialize, Serialize};

use crate::names::SiteToken;
use crate::{Bus, BusError};

/// See the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The follower's positions (docs/serve.md: the same form `serve` commits).
    pub positions: Vec<Position>,
    /// For each site, the sequence of its stream's last event these positions include.
    pub sites: BTreeMap<String, u64>,
}

impl Bus {
    /// The stream of checkpoints, found or made at its first use.
    async fn checkpoints(&self) -> Result<&Stream, BusError> {
        self.checkpoint_stream.get_or_try_init(|| self.open_checkpoints()).await
    }

    async fn open_checkpoints(&self) -> Result<Stream, BusError> {
        let config = Config {
            name: self.checkpoint_stream_name(),
            subjects: vec![format!("{}.collectors.*", self.options().prefix)],
            storage: StorageType::File,
            max_messages_per_subject: 1,
            description: Some(
                "callstitch collectors: follower positions and the sequence each site reached".into(),
            ),
            ..Config::default()
        };
        self.jetstream().get_or_create_stream(config).await.map_err(|error| self.checkpoint_error(&error))
    }

    pub(crate) fn checkpoint_subject(&self, name: &str) -> String {
        format!("{}.collectors.{}", self.options().prefix, SiteToken::new(name))
    }

    fn checkpoint_error(&self, error: &dyn std::fmt::Display) -> BusError {
        BusError::Checkpoint { stream: self.checkpoint_stream_name(), message: error.to_string() }
    }

    /// The checkpoint of the collector `name`, if it wrote one.
    pub async fn load_checkpoint(&self, name: &str) -> Result<Option<Checkpoint>, BusError> {
        let subject = self.checkpoint_subject(name);
        let stream = self.checkpoints().await?;
        let message = match stream.get_last_raw_message_by_subject(&subject).await {
            Ok(message) => message,
            Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => return Ok(None),
            Err(error) => return Err(self.checkpoint_error(&format!("reading {subject}: {error}"))),
        };
        serde_json::from_slice(&message.payload)
            .map(Some)
            .map_err(|source| BusError::BadCheckpoint { subject, source })
    }

    /// Replaces the checkpoint of the collector `name` (the stream keeps one per collector).
    pub async fn save_checkpoint(&self, name: &str, checkpoint: &Checkpoint) -> Result<(), BusError> {
        let subject = self.checkpoint_subject(name);
        self.checkpoints().await?;
        let failed =
            |error: &dyn std::fmt::Display| self.checkpoint_error(&format!("writing {subject}: {error}"));
        let value = serde_json::to_vec(checkpoint).map_err(|error| failed(&error))?;
        let ack = self
            .jetstream()
            .publish(subject.clone(), Bytes::from(value))
            .await
            .map_err(|error| failed(&error))?;
        ack.await.map_err(|error| failed(&error))?;
        Ok(())
    }
}
