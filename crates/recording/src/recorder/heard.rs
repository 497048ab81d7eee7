//! Who is heard on a media file: the parties connected on its conversation while it runs.

use super::*;

/// Who is heard on a file: every person (not a queue or routing point) connected on a
/// segment of the file's conversation while the file runs, from when they were connected
/// until they left. The conversation is the file's segment and every segment joined to it by
/// the interaction's evidence; a segment reached through a consultation or a merge is only
/// heard once that consultation has ended (completed into the main call), so a held
/// customer is not heard on the consultation's file, nor the consulted agent on the main
/// call's file before completion. The customer, when the logs give it no events of its own,
/// is the interaction's ANI, counted on every main call (root or hop) for that call's life.
pub(super) fn heard(file: &MediaFile, segs: &[Seg<'_>], interaction: &Interaction) -> Vec<Heard> {
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
            party.from = time_text(from);
            party.until = time_text(until);
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
