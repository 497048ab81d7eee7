//! The media feed a recorder holds: files taken whole or as they come, indexed by the
//! CallUUID their media id names, pruned once no interaction can claim them (recording.md
//! §3.3), and the recorder's snapshot.

use super::*;

/// The state of a [`Recorder`] in a snapshot: maps as sorted lists. Taken by
/// [`Recorder::state`] and encoded by [`RecorderState::encode`], possibly on another thread.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecorderState {
    config: RecorderConfig,
    has_feed: bool,
    files: Vec<(u64, HeldFile)>,
    next_file: u64,
    feed_errors: Vec<(u64, String)>,
    archive_owner: Vec<(String, (String, i64))>,
}

impl RecorderState {
    /// The bytes of [`Recorder::snapshot`].
    pub fn encode(&self) -> Result<Vec<u8>, SnapshotError> {
        encode(RECORDER_FORMAT, RECORDER_VERSION, self)
    }
}

impl Recorder {
    /// then on). A file already held (same media id) only gains the stop it lacked: its start
    /// posted again keeps the stop known, and one that names another call (or site, DN, side,
    /// start) is refused as [`MediaUpdate::Conflicting`], the first kept.
    pub fn add_media(&mut self, mut file: FeedFile) -> MediaUpdate {
        self.has_feed = true;
        if let Some(held) = self.file_mut(&file.media_id) {
            if let Some(field) = conflicting_field(held, &file) {
                return MediaUpdate::Conflicting(field);
            }
            return match file.stop.filter(|stop| held.stop.is_none() && *stop >= held.start) {
                Some(stop) => {
                    held.stop = Some(stop);
                    MediaUpdate::Stopped
                }
                None => MediaUpdate::Unchanged,
            };
        }
        file.stop = file.stop.filter(|stop| *stop >= file.start);
        self.hold(HeldFile { file, claimed: false, keep_until: None });
        MediaUpdate::Added
    }

    /// Takes one line of the media feed (docs/recording.md) as it comes: a start, a stop, or
    /// both. A bad line is refused with the same error reading the whole feed gives.
    pub fn add_feed_line(&mut self, text: &str, line: u64) -> Result<(), FeedError> {
        self.has_feed = true;
        if text.trim().is_empty() {
            return Ok(());
        }
        take_line(text, line, self)
    }

    pub(super) fn hold(&mut self, held: HeldFile) -> u64 {
        let position = self.next_file;
        self.next_file += 1;
        self.index_file(position, &held.file);
        self.files.insert(position, held);
        position
    }

    fn index_file(&mut self, position: u64, file: &FeedFile) {
        self.by_media_id.insert(file.media_id.clone(), position);
        self.index.entry(file.call_uuid.clone()).or_default().push(position);
        let prefix = media_prefix(&file.media_id);
        if prefix != file.call_uuid {
            self.index.entry(prefix.to_string()).or_default().push(position);
        }
    }

    fn unindex_file(&mut self, position: u64, file: &FeedFile) {
        if self.by_media_id.get(&file.media_id) == Some(&position) {
            self.by_media_id.remove(&file.media_id);
        }
        for key in [file.call_uuid.as_str(), media_prefix(&file.media_id)] {
            if let Some(positions) = self.index.get_mut(key) {
                positions.retain(|known| *known != position);
                if positions.is_empty() {
                    self.index.remove(key);
                }
            }
        }
    }

    /// Drops what can no longer be needed at event time `now`: claimed files whose
    /// interactions are past revision, and unclaimed files [`Retention::max_age`] after they
    /// stopped, which are returned as orphan findings (P2), as [`Recorder::feed_findings`]
    /// would give them.
    pub fn prune(&mut self, now: Timestamp) -> Vec<Finding> {
        let now = now.0;
        let max_age = self.config.retention.max_age;
        let gone: Vec<u64> = self
            .files
            .iter()
            .filter(|(_, held)| match held.keep_until {
                Some(until) => until < now,
                None => {
                    let last = held.file.stop.unwrap_or(held.file.start).0;
                    !held.claimed && last.saturating_add(max_age) < now
                }
            })
            .map(|(position, _)| *position)
            .collect();
        let mut orphans = Vec::new();
        for position in gone {
            let Some(held) = self.files.remove(&position) else { continue };
            self.unindex_file(position, &held.file);
            if !held.claimed {
                orphans.push(orphan(&held.file));
            }
        }
        self.archive_owner.retain(|_, (_, until)| *until >= now);
        orphans
    }

    /// The recorder as bytes (with its configuration): restoring them gives a recorder that
    /// goes on exactly as this one would.
    pub fn snapshot(&self) -> Result<Vec<u8>, SnapshotError> {
        self.state().encode()
    }

    /// The recorder's state, owned: [`RecorderState::encode`] gives [`Recorder::snapshot`]'s
    /// bytes.
    pub fn state(&self) -> RecorderState {
        let mut archive_owner: Vec<(String, (String, i64))> =
            self.archive_owner.iter().map(|(id, owner)| (id.clone(), owner.clone())).collect();
        archive_owner.sort();
        RecorderState {
            config: self.config.clone(),
            has_feed: self.has_feed,
            files: self.files.iter().map(|(position, held)| (*position, held.clone())).collect(),
            next_file: self.next_file,
            feed_errors: self.feed_errors.clone(),
            archive_owner,
        }
    }

    /// The recorder a [`Recorder::snapshot`] was taken of.
    pub fn restore(bytes: &[u8]) -> Result<Recorder, SnapshotError> {
        let state: RecorderState = decode(bytes, RECORDER_FORMAT, RECORDER_VERSION)?;
        let mut recorder = Recorder {
            config: state.config,
            has_feed: state.has_feed,
            next_file: state.next_file,
            feed_errors: state.feed_errors,
            archive_owner: state.archive_owner.into_iter().collect(),
            ..Recorder::default()
        };
        for (position, held) in state.files {
            if position >= recorder.next_file || recorder.files.contains_key(&position) {
                return Err(SnapshotError::Invalid(format!("feed file {position} out of order")));
            }
            recorder.index_file(position, &held.file);
            recorder.files.insert(position, held);
        }
        Ok(recorder)
    }
}

/// The first field in which two feed objects of one media id disagree about the file.
fn conflicting_field(held: &FeedFile, posted: &FeedFile) -> Option<&'static str> {
    [
        ("call_uuid", held.call_uuid != posted.call_uuid),
        ("site", held.site != posted.site),
        ("recorded_dn", held.recorded_dn != posted.recorded_dn),
        ("side", held.side != posted.side),
        ("start", held.start != posted.start),
    ]
    .into_iter()
    .find_map(|(field, differs)| differs.then_some(field))
}

/// P2 for a feed file no interaction claimed.
pub(super) fn orphan(file: &FeedFile) -> Finding {
    Finding {
        rule: Rule::P2,
        interaction_id: None,
        segments: Vec::new(),
        files: vec![file.media_id.clone()],
        message: format!(
            "media file of call {} at {} matches no call of the input",
            file.call_uuid, file.site
        ),
        evidence: vec![format!("feed line {}", file.line)],
    }
}
