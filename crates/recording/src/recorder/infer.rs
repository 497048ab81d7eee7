//! Recording inferred from the event stream's signals when the feed has no file (§4–§5), and
//! P5: a file the signals call for that the feed does not have.

use super::*;

/// The files the signals say should exist (§5), and the segments that had a trigger.
pub(super) fn infer(
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
            // Most interactions have one file: room for one (a media file is large, and the
            // four a first push makes room for cost the allocator more than the file).
            if files.capacity() == 0 {
                files.reserve_exact(1);
            }
            files.push(MediaFile {
                media_id,
                site: seg.report.site.as_str().to_owned(),
                call_uuid: key.to_string(),
                recorded_dn: dn.to_string(),
                side,
                start: time_text(start),
                stop: stop.map(time_text),
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
pub(super) fn missing(
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
