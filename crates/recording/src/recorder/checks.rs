//! Findings on the files themselves (P3, P4, P8) and recording lost after a REFER (P1).

use super::*;

/// P3, P4 and P8 on the files themselves.
pub(super) fn check_files(
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
pub(super) fn refer_gaps(
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
