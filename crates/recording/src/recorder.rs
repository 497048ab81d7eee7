//! The recording of one interaction: media files matched to its segments (recording.md
//! §3.3), or inferred from the event stream's signals when there is no feed (§4–§5), grouped
//! under one recording id (§2.6), with who is heard on each file and the findings of §6.
//!
//! The feed is taken whole ([`Recorder::new`]) or file by file as it comes
//! ([`Recorder::add_media`], [`Recorder::add_feed_line`]). Memory follows what can still be
//! needed: [`Recorder::prune`] drops a claimed file once every interaction that claimed it is
//! past revision ([`Retention::after_interaction`] after its end), and an unclaimed one
//! [`Retention::max_age`] after it stopped, as an orphan (P2).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use callstitch_engine::Exit;
use callstitch_link::segment::SegmentParty;
use callstitch_link::snapshot::{decode, encode};
use callstitch_link::{EvidenceKind, Interaction, PartyKind, SegmentReport, SegmentRole, SnapshotError};
use callstitch_tlib::{Text, Timestamp};
use serde::{Deserialize, Serialize};

use crate::feed::{take_line, FeedError, FeedFile, FeedSink, MediaFeed, RecordedSide};
use crate::finding::{Finding, Rule};
use crate::signals::{Retention, Signals, Trigger, TriggerKind};

/// A second, in microseconds.
pub const SECOND: i64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecorderConfig {
    /// How far a file's times may stray from its call's before it counts (clocks of the
    /// recording server and of the switch differ), in microseconds.
    pub tolerance: i64,
    /// How long feed files stay in memory (see [`Recorder::prune`]).
    pub retention: Retention,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig { tolerance: 5 * SECOND, retention: Retention::default() }
    }
}

/// What [`Recorder::add_media`] did with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaUpdate {
    /// A new file (a stop before its start is dropped).
    Added,
    /// A file already held got its stop.
    Stopped,
    /// A file already held, nothing new.
    Unchanged,
    /// A file already held under this media id says otherwise about this field (another
    /// call, site, DN, side or start): the file held is kept as it is.
    Conflicting(&'static str),
}

/// A feed file in memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct HeldFile {
    file: FeedFile,
    claimed: bool,
    /// Event time until which an interaction that claimed it may be revised.
    keep_until: Option<i64>,
}

/// Where a media file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// The recording-side media feed: the file exists.
    MediaFeed,
    /// Inferred from the event stream's signals: the file is expected, not seen.
    Inferred,
}

/// A party heard on a file, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heard {
    pub dn: Text,
    /// `customer` or `agent`.
    pub kind: &'static str,
    pub site: Text,
    pub from: String,
    pub until: String,
}

/// One media file of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaFile {
    pub media_id: String,
    pub site: String,
    pub call_uuid: String,
    pub recorded_dn: String,
    pub side: RecordedSide,
    pub start: String,
    pub stop: Option<String>,
    pub provenance: Provenance,
    /// The segment it was recorded on, `site/key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// The rule that tied it to the segment (`call-uuid`, `media-id-prefix`, or for an
    /// inferred file the signal: `gsip-rec-fn`, `route-record`, `private-record-start`).
    pub matched_by: &'static str,
    pub heard: Vec<Heard>,
    /// The feed line of its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The recording id the archive gave it, if the feed says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_id: Option<String>,
    #[serde(skip)]
    pub start_at: Timestamp,
    #[serde(skip)]
    pub stop_at: Option<Timestamp>,
}

/// Every media file of one interaction under one recording id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recording {
    /// The interaction root's CallUUID (its key when it has none).
    pub recording_id: String,
    /// Recording ids the archive already gave these files (feed `recording_id`), when they
    /// differ from `recording_id`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub interaction_id: String,
    pub media_files: Vec<MediaFile>,
    pub findings: Vec<Finding>,
}

/// A segment with its times parsed.
struct Seg<'a> {
    name: String,
    report: &'a SegmentReport,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    /// For a consultation merged into a main call: that call (its parties carry on there).
    survivor: Option<&'a SegmentReport>,
}

impl Seg<'_> {
    fn names(&self, uuid: &str) -> bool {
        self.report.call_uuid.as_deref() == Some(uuid) || self.report.key == uuid
    }

    fn contains(&self, time: Timestamp, tolerance: i64) -> bool {
        self.start.is_none_or(|start| time.0 >= start.0 - tolerance)
            && self.end.is_none_or(|end| time.0 <= end.0 + tolerance)
    }

    /// The party on this call, or on the call this one merged into (the later of the two).
    fn party(&self, dn: &str) -> Option<&SegmentParty> {
        let here = self.report.parties.iter().find(|party| party.dn == dn);
        let there = self.survivor.and_then(|survivor| survivor.parties.iter().find(|party| party.dn == dn));
        match (here, there) {
            (Some(here), Some(there)) if there.last_time > here.last_time => Some(there),
            (here, there) => here.or(there),
        }
    }
}

/// Builds recordings: holds the media feed (if any) and which of its files were claimed.
#[derive(Debug, Default)]
pub struct Recorder {
    config: RecorderConfig,
    has_feed: bool,
    /// Feed files by arrival number (the feed's order).
    files: BTreeMap<u64, HeldFile>,
    next_file: u64,
    by_media_id: HashMap<String, u64>,
    /// CallUUID (and media-id prefix) → feed files.
    index: HashMap<String, Vec<u64>>,
    /// (line, message) of the bad lines of the feed given to [`Recorder::new`].
    feed_errors: Vec<(u64, String)>,
    /// Archive recording id → the recording id that first grouped its files (P6), and until
    /// when an interaction with it may be revised.
    archive_owner: HashMap<String, (String, i64)>,
}

/// The state of a [`Recorder`] in a snapshot: maps as sorted lists.
#[derive(Serialize, Deserialize)]
struct RecorderState {
    config: RecorderConfig,
    has_feed: bool,
    files: Vec<(u64, HeldFile)>,
    next_file: u64,
    feed_errors: Vec<(u64, String)>,
    archive_owner: Vec<(String, (String, i64))>,
}

/// The format name of a recorder snapshot.
pub const RECORDER_FORMAT: &str = "callstitch-recorder";
/// The version of the recorder snapshot this build writes and reads.
pub const RECORDER_VERSION: u32 = 1;

impl FeedSink for Recorder {
    fn file_mut(&mut self, media_id: &str) -> Option<&mut FeedFile> {
        let position = self.by_media_id.get(media_id)?;
        self.files.get_mut(position).map(|held| &mut held.file)
    }

    fn add(&mut self, file: FeedFile) {
        self.hold(HeldFile { file, claimed: false, keep_until: None });
    }
}

impl Recorder {
    /// A recorder; without a feed, recordings are inferred from the signals.
    pub fn new(config: RecorderConfig, feed: Option<MediaFeed>) -> Recorder {
        let mut recorder = Recorder { config, has_feed: feed.is_some(), ..Recorder::default() };
        if let Some(feed) = feed {
            recorder.feed_errors =
                feed.errors.iter().map(|error| (error.line(), error.to_string())).collect();
            for file in feed.files {
                recorder.hold(HeldFile { file, claimed: false, keep_until: None });
            }
        }
        recorder
    }

    pub fn has_feed(&self) -> bool {
        self.has_feed
    }

    /// Feed files in memory.
    pub fn files_in_memory(&self) -> usize {
        self.files.len()
    }

    /// Takes one media file of a feed that comes over time (the recorder has a feed from
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

    fn hold(&mut self, held: HeldFile) -> u64 {
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
        let mut archive_owner: Vec<(String, (String, i64))> =
            self.archive_owner.iter().map(|(id, owner)| (id.clone(), owner.clone())).collect();
        archive_owner.sort();
        let state = RecorderState {
            config: self.config.clone(),
            has_feed: self.has_feed,
            files: self.files.iter().map(|(position, held)| (*position, held.clone())).collect(),
            next_file: self.next_file,
            feed_errors: self.feed_errors.clone(),
            archive_owner,
        };
        encode(RECORDER_FORMAT, RECORDER_VERSION, &state)
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

    /// The recording of one interaction (again for each revision).
    pub fn recording(&mut self, interaction: &Interaction, signals: &Signals) -> Recording {
        let tolerance = self.config.tolerance;
        let segs: Vec<Seg<'_>> = interaction
            .segments
            .iter()
            .enumerate()
            .map(|(index, report)| {
                // A merged consultation stands right after the call it merged into.
                let survivor = (report.role == SegmentRole::Merged)
                    .then(|| {
                        interaction.segments[..index]
                            .iter()
                            .rev()
                            .find(|main| main.site == report.site && main.role.is_main())
                    })
                    .flatten();
                let end = report.end.max(survivor.and_then(|main| main.end));
                Seg {
                    name: format!("{}/{}", report.site, report.key),
                    report,
                    start: report.start,
                    end,
                    survivor,
                }
            })
            .collect();
        let recording_id = segs
            .first()
            .map(|seg| seg.report.call_uuid.clone().unwrap_or_else(|| seg.report.key.clone()))
            .unwrap_or_default();
        let mut findings = Vec::new();
        let (inferred, trigger_segs) = infer(&segs, signals, interaction, &mut findings);
        let keep_until =
            interaction_end(interaction).saturating_add(self.config.retention.keep_after(interaction));
        let mut files = if self.has_feed {
            let found = self.match_feed(&segs, interaction, &mut findings);
            for position in found.iter().map(|(position, _)| *position) {
                if let Some(held) = self.files.get_mut(&position) {
                    held.claimed = true;
                    held.keep_until = Some(held.keep_until.map_or(keep_until, |known| known.max(keep_until)));
                }
            }
            let files: Vec<MediaFile> = found.into_iter().map(|(_, file)| file).collect();
            missing(&inferred, &files, interaction, &mut findings);
            files
        } else {
            inferred
        };
        for file in &mut files {
            file.heard = heard(file, &segs, interaction);
        }
        files.sort_by(|a, b| (a.start_at, &a.media_id).cmp(&(b.start_at, &b.media_id)));
        check_files(&files, &segs, interaction, tolerance, &mut findings);
        refer_gaps(&files, &segs, &trigger_segs, signals, interaction, tolerance, &mut findings);
        let aliases = self.archive_grouping(&recording_id, &files, interaction, keep_until, &mut findings);
        Recording {
            recording_id,
            aliases,
            interaction_id: interaction.interaction_id.clone(),
            media_files: files,
            findings,
        }
    }

    /// P6: the archive's grouping against the interaction's. Returns the archive ids.
    fn archive_grouping(
        &mut self,
        recording_id: &str,
        files: &[MediaFile],
        interaction: &Interaction,
        keep_until: i64,
        findings: &mut Vec<Finding>,
    ) -> Vec<String> {
        let ids: BTreeSet<&str> = files.iter().filter_map(|file| file.archive_id.as_deref()).collect();
        if ids.len() > 1 {
            findings.push(finding(
                Rule::P6,
                interaction,
                Vec::new(),
                files
                    .iter()
                    .filter(|file| file.archive_id.is_some())
                    .map(|file| file.media_id.clone())
                    .collect(),
                format!(
                    "the files of one interaction sit under {} archive recording ids: {}",
                    ids.len(),
                    ids.iter().copied().collect::<Vec<_>>().join(", ")
                ),
                Vec::new(),
            ));
        }
        for id in &ids {
            let (owner, until) = self
                .archive_owner
                .entry(id.to_string())
                .or_insert_with(|| (recording_id.to_string(), keep_until));
            *until = (*until).max(keep_until);
            if owner != recording_id {
                findings.push(finding(
                    Rule::P6,
                    interaction,
                    Vec::new(),
                    files
                        .iter()
                        .filter(|file| file.archive_id.as_deref() == Some(*id))
                        .map(|file| file.media_id.clone())
                        .collect(),
                    format!("archive recording id {id} also holds files of recording {owner}, which is not linked to this one"),
                    Vec::new(),
                ));
            }
        }
        ids.into_iter().filter(|id| *id != recording_id).map(str::to_string).collect()
    }

    fn match_feed(
        &self,
        segs: &[Seg<'_>],
        interaction: &Interaction,
        findings: &mut Vec<Finding>,
    ) -> Vec<(u64, MediaFile)> {
        let tolerance = self.config.tolerance;
        let mut positions = BTreeSet::new();
        for seg in segs {
            for key in [seg.report.call_uuid.as_deref(), Some(seg.report.key.as_str())].into_iter().flatten()
            {
                positions.extend(self.index.get(key).into_iter().flatten().copied());
            }
        }
        let mut found = Vec::new();
        for position in positions {
            let Some(HeldFile { file, .. }) = self.files.get(&position) else { continue };
            let (mut candidates, matched_by): (Vec<&Seg<'_>>, &'static str) =
                (segs.iter().filter(|seg| seg.names(&file.call_uuid)).collect(), "call-uuid");
            let matched_by = if candidates.is_empty() {
                candidates = segs.iter().filter(|seg| seg.names(media_prefix(&file.media_id))).collect();
                "media-id-prefix"
            } else {
                matched_by
            };
            let inside = |seg: &&Seg<'_>| seg.contains(file.start, tolerance);
            let chosen = candidates
                .iter()
                .find(|seg| seg.report.site == file.site.as_str() && inside(seg))
                .or_else(|| candidates.iter().find(|seg| inside(seg)))
                .or_else(|| candidates.iter().find(|seg| seg.report.site == file.site.as_str()))
                .or(candidates.first());
            let Some(seg) = chosen else { continue };
            if seg.report.site != file.site.as_str() && !seg.contains(file.start, tolerance) {
                // Most likely the file of a segment not linked yet: a later revision, or the
                // orphan check at the end, will say.
                continue;
            }
            let media = feed_media(file, seg, matched_by);
            if !seg.contains(file.start, tolerance) {
                findings.push(finding(
                    Rule::P2,
                    interaction,
                    vec![seg.name.clone()],
                    vec![file.media_id.clone()],
                    format!("media file starts at {} outside its call", file.start),
                    vec![times_of(seg), format!("feed line {}", file.line)],
                ));
            } else if let (Some(stop), Some(end)) = (file.stop, seg.end) {
                if stop.0 > end.0 + tolerance {
                    findings.push(finding(
                        Rule::P10,
                        interaction,
                        vec![seg.name.clone()],
                        vec![file.media_id.clone()],
                        format!("media file stops at {stop}, after its call ended at {end}"),
                        vec![times_of(seg), format!("feed line {}", file.line)],
                    ));
                }
            }
            found.push((position, media));
        }
        found
    }

    /// Findings about the feed itself: its bad lines, and its files that no interaction
    /// claimed (orphans, P2). Ask once the input has ended.
    pub fn feed_findings(&self) -> Vec<Finding> {
        if !self.has_feed {
            return Vec::new();
        }
        let mut findings: Vec<Finding> = self
            .feed_errors
            .iter()
            .map(|(line, message)| Finding {
                rule: Rule::Feed,
                interaction_id: None,
                segments: Vec::new(),
                files: Vec::new(),
                message: message.clone(),
                evidence: vec![format!("feed line {line}")],
            })
            .collect();
        findings.extend(self.files.values().filter(|held| !held.claimed).map(|held| orphan(&held.file)));
        findings
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
fn orphan(file: &FeedFile) -> Finding {
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

/// The interaction's end (its latest call's last event), as event time.
fn interaction_end(interaction: &Interaction) -> i64 {
    interaction.end.map_or(i64::MIN, |end| end.0)
}

/// The CallUUID a media id or GSIP_REC_FN starts with: the text before the first `_`.
pub fn media_prefix(media_id: &str) -> &str {
    media_id.split('_').next().unwrap_or(media_id)
}

fn feed_media(file: &FeedFile, seg: &Seg<'_>, matched_by: &'static str) -> MediaFile {
    MediaFile {
        media_id: file.media_id.clone(),
        site: file.site.clone(),
        call_uuid: file.call_uuid.clone(),
        recorded_dn: file.recorded_dn.clone(),
        side: file.side,
        start: file.start.to_string(),
        stop: file.stop.map(|stop| stop.to_string()),
        provenance: Provenance::MediaFeed,
        segment: Some(seg.name.clone()),
        matched_by,
        heard: Vec::new(),
        line: Some(file.line),
        archive_id: file.archive_id.clone(),
        start_at: file.start,
        stop_at: file.stop,
    }
}

fn finding(
    rule: Rule,
    interaction: &Interaction,
    segments: Vec<String>,
    files: Vec<String>,
    message: String,
    evidence: Vec<String>,
) -> Finding {
    Finding {
        rule,
        interaction_id: Some(interaction.interaction_id.clone()),
        segments,
        files,
        message,
        evidence,
    }
}

fn times_of(seg: &Seg<'_>) -> String {
    format!(
        "{} from {} to {}",
        seg.name,
        seg.start.map_or("?".to_string(), |time| time.to_string()),
        seg.end.map_or("?".to_string(), |time| time.to_string())
    )
}

fn trigger_evidence(trigger: &Trigger) -> String {
    format!(
        "{} {} {}{}",
        trigger.site,
        trigger.seq.map_or("-".to_string(), |seq| format!("{seq:x}")),
        trigger.message,
        trigger.time.map(|time| format!(" at {time}")).unwrap_or_default()
    )
}

fn side_of(party: Option<&SegmentParty>) -> RecordedSide {
    match party.map(|party| party.kind) {
        Some(PartyKind::Agent) => RecordedSide::Agent,
        Some(PartyKind::External) => RecordedSide::Customer,
        _ => RecordedSide::Call,
    }
}

/// The files the signals say should exist (§5), and the segments that had a trigger.
fn infer(
    segs: &[Seg<'_>],
    signals: &Signals,
    interaction: &Interaction,
    findings: &mut Vec<Finding>,
) -> (Vec<MediaFile>, BTreeSet<usize>) {
    let mut files: Vec<MediaFile> = Vec::new();
    let mut with_trigger = BTreeSet::new();
    for (index, seg) in segs.iter().enumerate() {
        let key = seg.report.call_uuid.as_deref().unwrap_or(&seg.report.key);
        let triggers = signals.for_call(&seg.report.site, key, &seg.report.conn_ids);
        for trigger in triggers {
            let (media_id, matched_by) = match &trigger.kind {
                TriggerKind::FileName { value } => {
                    let prefix = media_prefix(value);
                    if !seg.names(prefix) {
                        // User data travels: a name attached at a linked segment is only a
                        // linking hint; one naming no segment of the interaction is suspect.
                        if !segs.iter().any(|other| other.names(prefix)) {
                            findings.push(finding(
                                Rule::P7,
                                interaction,
                                vec![seg.name.clone()],
                                vec![value.clone()],
                                format!("GSIP_REC_FN names call {prefix}, not this call or a linked one"),
                                vec![trigger_evidence(trigger)],
                            ));
                        }
                        continue;
                    }
                    (value.clone(), "gsip-rec-fn")
                }
                TriggerKind::RouteRecord { .. } => (String::new(), "route-record"),
                TriggerKind::PrivateStart { .. } => (String::new(), "private-record-start"),
            };
            let Some(dn) = trigger.dn.as_deref() else { continue };
            let party = seg.party(dn);
            let start = match (trigger.time, party.and_then(|party| party.first_time)) {
                (Some(time), Some(first)) if matches!(trigger.kind, TriggerKind::RouteRecord { .. }) => {
                    time.max(first)
                }
                (Some(time), _) => time,
                (None, Some(first)) => first,
                (None, None) => continue,
            };
            let stop = party.and_then(|party| party.last_time).or(seg.end).filter(|stop| *stop >= start);
            let concurrent = files.iter().any(|file| {
                file.segment.as_deref() == Some(seg.name.as_str())
                    && file.recorded_dn == dn
                    && stop.is_none_or(|stop| file.start_at <= stop)
                    && file.stop_at.is_none_or(|other| other >= start)
            });
            // Two requests for one DN's side are one file; two file names are two files, the
            // second of another side (SIP Server attaches both names on the same DN).
            if concurrent && media_id.is_empty() {
                continue;
            }
            if !media_id.is_empty() && files.iter().any(|file| file.media_id == media_id) {
                continue;
            }
            let side = if concurrent { RecordedSide::Call } else { side_of(party) };
            with_trigger.insert(index);
            let media_id = if media_id.is_empty() {
                format!("inferred:{}:{}:{}", seg.name, dn, files.len() + 1)
            } else {
                media_id
            };
            files.push(MediaFile {
                media_id,
                site: seg.report.site.to_string(),
                call_uuid: key.to_string(),
                recorded_dn: dn.to_string(),
                side,
                start: start.to_string(),
                stop: stop.map(|stop| stop.to_string()),
                provenance: Provenance::Inferred,
                segment: Some(seg.name.clone()),
                matched_by,
                heard: Vec::new(),
                line: None,
                archive_id: None,
                start_at: start,
                stop_at: stop,
            });
        }
    }
    (files, with_trigger)
}

/// P5: a file the signals call for that the feed does not have.
fn missing(
    inferred: &[MediaFile],
    actual: &[MediaFile],
    interaction: &Interaction,
    findings: &mut Vec<Finding>,
) {
    for expected in inferred {
        let found = actual.iter().any(|file| {
            if expected.matched_by == "gsip-rec-fn" {
                file.media_id == expected.media_id || file.media_id.starts_with(&expected.media_id)
            } else {
                file.segment == expected.segment && file.recorded_dn == expected.recorded_dn
            }
        });
        if !found {
            findings.push(finding(
                Rule::P5,
                interaction,
                expected.segment.iter().cloned().collect(),
                vec![expected.media_id.clone()],
                format!(
                    "{} asked for a recording of {} from {}, and the feed has no such file",
                    expected.matched_by, expected.recorded_dn, expected.start
                ),
                Vec::new(),
            ));
        }
    }
}

/// Who is heard on a file: every person (not a queue or routing point) connected on a
/// segment of the file's conversation while the file runs, from when they were connected
/// until they left. The conversation is the file's segment and every segment joined to it by
/// the interaction's evidence; a segment reached through a consultation or a merge is only
/// heard once that consultation has ended (completed into the main call), so a held
/// customer is not heard on the consultation's file, nor the consulted agent on the main
/// call's file before completion. The customer, when the logs give it no events of its own,
/// is the interaction's ANI, counted on every main call (root or hop) for that call's life.
fn heard(file: &MediaFile, segs: &[Seg<'_>], interaction: &Interaction) -> Vec<Heard> {
    let customer = interaction.ani.as_deref();
    let file_end = file.stop_at.or_else(|| segs.iter().filter_map(|seg| seg.end).max());
    let gates = gates(file, segs, interaction);
    let mut heard: Vec<(Timestamp, Timestamp, Heard)> = Vec::new();
    let mut add = |dn: &Text, kind: &'static str, site: &Text, first: Timestamp, last: Timestamp| {
        let from = first.max(file.start_at);
        let until = file_end.map_or(last, |end| last.min(end));
        // Less than a second together is the jitter of a hand-over, not a conversation.
        if until.0 - from.0 < SECOND && dn.as_str() != file.recorded_dn {
            return;
        }
        if until <= from {
            return;
        }
        if let Some(known) = heard.iter_mut().find(|(_, _, known)| known.dn == *dn) {
            known.0 = known.0.min(from);
            known.1 = known.1.max(until);
            return;
        }
        let party =
            Heard { dn: dn.clone(), kind, site: site.clone(), from: String::new(), until: String::new() };
        heard.push((from, until, party));
    };
    for (seg, gate) in segs.iter().zip(&gates) {
        let Some(gate) = *gate else { continue };
        let mut customer_seen = false;
        for party in &seg.report.parties {
            customer_seen |= Some(party.dn.as_str()) == customer;
            if party.kind.is_system() {
                continue;
            }
            let connected = party.connected_time.or_else(|| unreported_connection(party));
            let (Some(first), Some(last)) = (connected, party.last_time.or(seg.end)) else {
                continue;
            };
            add(&party.dn, heard_kind(party), &seg.report.site, first.max(gate), last);
        }
        if let (Some(customer), false, true) = (customer, customer_seen, seg.report.role.is_main()) {
            if let (Some(start), Some(end)) = (seg.start, seg.end) {
                let start = customer_joins(seg, segs, interaction).map_or(start, |joins| joins.max(start));
                add(&Text::from(customer), "customer", &seg.report.site, start.max(gate), end);
            }
        }
    }
    // The recorded side is on its own file from its start.
    if let Some(recorded) = heard.iter_mut().find(|(_, _, party)| party.dn == file.recorded_dn.as_str()) {
        recorded.0 = file.start_at;
    }
    heard.sort_by(|a, b| (a.0, &a.2.dn).cmp(&(b.0, &b.2.dn)));
    heard
        .into_iter()
        .map(|(from, until, mut party)| {
            party.from = from.to_string();
            party.until = until.to_string();
            party
        })
        .collect()
}

/// The customer's connection when the segment does not report one: a customer seen through
/// call monitoring (EventCallParty*, which the segment's connected time does not read) is on
/// the conversation from its first event, as the interaction's ANI is on a main call for the
/// call's life; one that abandoned never was.
fn unreported_connection(party: &SegmentParty) -> Option<Timestamp> {
    (party.kind == PartyKind::External && party.exit != Some(Exit::Abandoned))
        .then_some(party.first_time)
        .flatten()
}

/// `customer` for the customer (an external party), else the party's kind.
fn heard_kind(party: &SegmentParty) -> &'static str {
    match party.kind {
        PartyKind::External => "customer",
        kind => kind.label(),
    }
}

/// For each segment, from when the file's conversation includes it (`None`: never).
fn gates(file: &MediaFile, segs: &[Seg<'_>], interaction: &Interaction) -> Vec<Option<Timestamp>> {
    let index_of =
        |site: &str, key: &str| segs.iter().position(|seg| seg.report.site == site && seg.report.key == key);
    let mut gates: Vec<Option<Timestamp>> = segs
        .iter()
        .map(|seg| (Some(&seg.name) == file.segment.as_ref()).then_some(Timestamp(i64::MIN)))
        .collect();
    let edges: Vec<(usize, usize, bool)> = interaction
        .links
        .iter()
        .filter_map(|link| {
            let from = index_of(&link.from.site, &link.from.key)?;
            let to = index_of(&link.to.site, &link.to.key)?;
            Some((from, to, matches!(link.evidence, EvidenceKind::Consultation | EvidenceKind::Merge)))
        })
        .collect();
    for _ in 0..segs.len() {
        let mut changed = false;
        for &(a, b, gated) in &edges {
            for (here, there) in [(a, b), (b, a)] {
                let Some(gate) = gates[here] else { continue };
                // Through a consultation or a merge: once the consultation side has ended.
                let consult = if segs[a].report.role.is_main() { b } else { a };
                let ended = segs[consult].report.end;
                let opens = if gated { ended.map_or(gate, |end| end.max(gate)) } else { gate };
                if gates[there].is_none_or(|known| opens < known) {
                    gates[there] = Some(opens);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    gates
}

/// A segment reached from a consultation (a multi-site consult transfer or two-step
/// conference) has the consultation's parties first; the customer joins when the
/// consultation completes, i.e. when it ends (merged into its main call).
fn customer_joins(seg: &Seg<'_>, segs: &[Seg<'_>], interaction: &Interaction) -> Option<Timestamp> {
    interaction
        .links
        .iter()
        .filter(|link| {
            link.to.site == seg.report.site && link.to.key == seg.report.key && link.from.site != link.to.site
        })
        .filter_map(|link| {
            segs.iter().find(|from| {
                from.report.site == link.from.site
                    && from.report.key == link.from.key
                    && !from.report.role.is_main()
            })
        })
        .filter_map(|from| from.report.end)
        .min()
}

/// P3, P4 and P8 on the files themselves.
fn check_files(
    files: &[MediaFile],
    segs: &[Seg<'_>],
    interaction: &Interaction,
    tolerance: i64,
    findings: &mut Vec<Finding>,
) {
    for (index, file) in files.iter().enumerate() {
        let Some(seg) = segs.iter().find(|seg| Some(&seg.name) == file.segment.as_ref()) else { continue };
        if !seg.contains(file.start_at, tolerance) {
            continue; // already P2: its times say nothing about the party
        }
        let party = seg.party(&file.recorded_dn);
        let never_connected = |report: &SegmentReport| {
            report
                .parties
                .iter()
                .filter(|party| party.dn == file.recorded_dn.as_str())
                .all(|party| party.connected_time.is_none())
        };
        if file.side == RecordedSide::Agent
            && party.is_some()
            && never_connected(seg.report)
            && seg.survivor.is_none_or(never_connected)
        {
            findings.push(finding(
                Rule::P9,
                interaction,
                vec![seg.name.clone()],
                vec![file.media_id.clone()],
                format!("agent recording of {}, who never connected on this call", file.recorded_dn),
                vec![times_of(seg)],
            ));
        }
        if let (Some(stop), Some(last)) = (file.stop_at, party.and_then(|party| party.last_time)) {
            let covered_after = files.iter().any(|other| {
                other.segment == file.segment
                    && other.recorded_dn == file.recorded_dn
                    && other.start_at >= stop
                    && other.start_at.0 <= stop.0 + tolerance
            });
            if last.0 > stop.0 + tolerance && !covered_after {
                findings.push(finding(
                    Rule::P3,
                    interaction,
                    vec![seg.name.clone()],
                    vec![file.media_id.clone()],
                    format!(
                        "recording of {} ended at {stop} but {} stayed on the call until {last}, unrecorded",
                        file.recorded_dn, file.recorded_dn
                    ),
                    vec![times_of(seg)],
                ));
            }
            if file.side == RecordedSide::Agent && stop.0 > last.0 + tolerance {
                findings.push(finding(
                    Rule::P4,
                    interaction,
                    vec![seg.name.clone()],
                    vec![file.media_id.clone()],
                    format!(
                        "agent recording of {} runs until {stop}, after the agent left at {last}",
                        file.recorded_dn
                    ),
                    vec![times_of(seg)],
                ));
            }
        }
        for other in &files[index + 1..] {
            if other.segment != file.segment
                || other.recorded_dn != file.recorded_dn
                || other.side != file.side
            {
                continue;
            }
            let overlap_end = match (file.stop_at, other.stop_at) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => Timestamp(i64::MAX),
            };
            let overlap_start = file.start_at.max(other.start_at);
            if overlap_end.0 > overlap_start.0 + tolerance {
                findings.push(finding(
                    Rule::P8,
                    interaction,
                    vec![seg.name.clone()],
                    vec![file.media_id.clone(), other.media_id.clone()],
                    format!(
                        "two {} recordings of {} on the same call overlap from {overlap_start}",
                        file.side.label(),
                        file.recorded_dn
                    ),
                    Vec::new(),
                ));
            }
        }
    }
}

/// P1: a segment recorded on the customer side (or carrying the deployment's recording
/// marker) that left the call by REFER (it ended while the next site's segment went on),
/// followed by a segment with no file and no trigger.
fn refer_gaps(
    files: &[MediaFile],
    segs: &[Seg<'_>],
    triggered: &BTreeSet<usize>,
    signals: &Signals,
    interaction: &Interaction,
    tolerance: i64,
    findings: &mut Vec<Finding>,
) {
    let recorded = |index: usize| {
        files.iter().any(|file| file.segment.as_deref() == Some(segs[index].name.as_str()))
            || triggered.contains(&index)
    };
    for (index, seg) in segs.iter().enumerate() {
        let customer_file = files.iter().find(|file| {
            file.segment.as_deref() == Some(seg.name.as_str())
                && matches!(file.side, RecordedSide::Customer | RecordedSide::Call)
        });
        let key = seg.report.call_uuid.as_deref().unwrap_or(&seg.report.key);
        let marked = signals.marked(&seg.report.site, key);
        if customer_file.is_none() && !(marked && recorded(index)) {
            continue;
        }
        let Some(end) = seg.end else { continue };
        let next = segs
            .iter()
            .enumerate()
            .skip(index + 1)
            .find(|(_, later)| later.report.site != seg.report.site && later.report.role.is_main());
        let Some((next_index, later)) = next else { continue };
        let Some(later_end) = later.end else { continue };
        if later_end.0 <= end.0 + tolerance || recorded(next_index) {
            continue; // re-INVITE: the first site stays in the path and keeps recording
        }
        let why = if customer_file.is_some() { "customer-side recording" } else { "the recording marker" };
        findings.push(finding(
            Rule::P1,
            interaction,
            vec![seg.name.clone(), later.name.clone()],
            customer_file.map(|file| vec![file.media_id.clone()]).unwrap_or_default(),
            format!(
                "{} recorded with {why}, left the call at {end} (REFER-type departure), and {} went on unrecorded until {later_end}",
                seg.name, later.name
            ),
            vec![times_of(seg), times_of(later)],
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(call_uuid: &str, stop: Option<i64>) -> FeedFile {
        FeedFile {
            media_id: "U1_a".to_string(),
            site: "S1".to_string(),
            call_uuid: call_uuid.to_string(),
            recorded_dn: "1001".to_string(),
            side: RecordedSide::Agent,
            start: Timestamp(10 * SECOND),
            stop: stop.map(Timestamp),
            line: 1,
            archive_id: None,
        }
    }

    #[test]
    fn a_start_posted_again_keeps_the_stop_and_one_naming_another_call_is_refused() {
        let mut recorder = Recorder::new(RecorderConfig::default(), None);
        assert_eq!(recorder.add_media(file("U1", Some(20 * SECOND))), MediaUpdate::Added);
        assert_eq!(recorder.add_media(file("U1", None)), MediaUpdate::Unchanged);
        assert_eq!(recorder.add_media(file("U2", Some(30 * SECOND))), MediaUpdate::Conflicting("call_uuid"));
        let held = recorder.file_mut("U1_a").map(|held| (held.call_uuid.clone(), held.stop));
        assert_eq!(held, Some(("U1".to_string(), Some(Timestamp(20 * SECOND)))));
    }
}
