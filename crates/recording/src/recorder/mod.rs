//! The recording of one interaction: media files matched to its segments (recording.md
//! §3.3), or inferred from the event stream's signals when there is no feed (§4–§5), grouped
//! under one recording id (§2.6), with who is heard on each file and the findings of §6.
//!
//! The feed is taken whole ([`Recorder::new`]) or file by file as it comes
//! ([`Recorder::add_media`], [`Recorder::add_feed_line`]). Memory follows what can still be
//! needed: [`Recorder::prune`] drops a claimed file once every interaction that claimed it is
//! past revision ([`Retention::after_interaction`] after its end), and an unclaimed one
//! [`Retention::max_age`] after it stopped, as an orphan (P2).
//!
//! By concern: this module matches feed files to segments and puts a recording together;
//! `holding` keeps the feed (index, pruning, snapshot), `infer` the files the signals call
//! for, `heard` who is heard on a file, `checks` the findings on the files.

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
use crate::time_text::time_text;

mod checks;
mod heard;
mod holding;
mod infer;
mod stored;

use checks::{check_files, refer_gaps};
use heard::heard;
use holding::orphan;
use infer::{infer, missing};

/// A second, in microseconds.
pub use callstitch_tlib::SECOND;
pub use holding::RecorderState;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provenance {
    /// The recording-side media feed: the file exists.
    MediaFeed,
    /// Inferred from the event stream's signals: the file is expected, not seen.
    Inferred,
}

/// A party heard on a file, and for how long.
/// Read back from its JSON as `stored` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heard {
    pub dn: Text,
    /// `customer` or `agent`.
    pub kind: &'static str,
    pub site: Text,
    pub from: String,
    pub until: String,
}

/// One media file of a recording. Read back from its JSON, its times are taken from the
/// `start` and `stop` texts it was written with.
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// The interaction root's CallUUID (its key when it has none).
    pub recording_id: String,
    /// Recording ids the archive already gave these files (feed `recording_id`), when they
    /// differ from `recording_id`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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
}

impl Recorder {
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
        // A P6 finding on the files whose archive id `archived` accepts.
        let p6 = |archived: &dyn Fn(Option<&str>) -> bool, message: String| {
            let media: Vec<String> = files
                .iter()
                .filter(|file| archived(file.archive_id.as_deref()))
                .map(|file| file.media_id.clone())
                .collect();
            finding(Rule::P6, interaction, Vec::new(), media, message, Vec::new())
        };
        if ids.len() > 1 {
            let message = format!(
                "the files of one interaction sit under {} archive recording ids: {}",
                ids.len(),
                ids.iter().copied().collect::<Vec<_>>().join(", ")
            );
            findings.push(p6(&|archive_id| archive_id.is_some(), message));
        }
        for id in &ids {
            let (owner, until) = self
                .archive_owner
                .entry(id.to_string())
                .or_insert_with(|| (recording_id.to_string(), keep_until));
            *until = (*until).max(keep_until);
            if owner != recording_id {
                let message =
                    format!("archive recording id {id} also holds files of recording {owner}, which is not linked to this one");
                findings.push(p6(&|archive_id| archive_id == Some(*id), message));
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
        start: time_text(file.start),
        stop: file.stop.map(time_text),
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
