//! Draws a laid-out page: heading, site bands with their lanes, one row per event, the
//! Inter-Site Link connectors, the media-file bars, and the footer that says in words who
//! released the interaction, how its calls are linked, its recording and findings.

use std::collections::BTreeMap;

use callstitch_tlib::Timestamp;

use crate::events::Shape;
use crate::layout::{
    Band, LaneKey, Layout, Row, BAND_GAP, BAND_TOP, CHAR_W, LANE_HEAD_TOP, LANE_W, MARGIN, ROW_H,
};
use crate::svg::{clip, Anchor, Style, Svg};
use crate::view::{CandidateView, LinkView, MediaFileView, TraceView};
use crate::MAX_HEIGHT;

const LINE_H: i64 = 17;
const MIN_WIDTH: i64 = 960;
/// Footer entries per section before "… and N more".
const MAX_SEGMENT_LINES: usize = 12;
const MAX_LINK_LINES: usize = 12;
const MAX_FILE_LINES: usize = 16;
const MAX_FINDING_LINES: usize = 16;
const MAX_NOTE_LINES: usize = 6;
/// Lines a finding's message may wrap to.
const FINDING_WRAP: usize = 3;

/// One line of the footer.
struct Line {
    style: Style,
    text: String,
    tooltip: Option<String>,
}

impl Line {
    fn new(style: Style, text: String) -> Line {
        Line { style, text, tooltip: None }
    }
}

/// The whole page as SVG text.
pub fn draw(trace: &TraceView, layout: &Layout) -> String {
    let width = (layout.content_width + MARGIN).max(MIN_WIDTH);
    let columns = ((width - 2 * MARGIN) / CHAR_W).max(40) as usize;
    let footer = footer(trace, layout, columns);
    let footer_top = layout.rows_bottom + 40;
    let height = (footer_top + footer.len() as i64 * LINE_H + MARGIN).min(MAX_HEIGHT);
    let mut svg = Svg::open(width, height, &title(trace, layout), &description(trace, layout));
    heading(&mut svg, trace, layout, columns);
    for (index, band) in layout.bands.iter().enumerate() {
        draw_band(&mut svg, trace, layout, index, band);
    }
    for row in &layout.rows {
        draw_row(&mut svg, &layout.bands[row.band], row);
    }
    let mut label_bottoms: BTreeMap<i64, i64> = BTreeMap::new();
    for link in &trace.links {
        draw_link(&mut svg, trace, layout, link, &mut label_bottoms);
    }
    draw_media(&mut svg, trace, layout);
    let mut y = footer_top;
    for line in footer {
        if let Some(tooltip) = &line.tooltip {
            svg.group("note", tooltip);
        }
        svg.text(MARGIN, y, line.style, Anchor::Start, &line.text);
        if line.tooltip.is_some() {
            svg.end_group();
        }
        y += LINE_H;
    }
    svg.finish()
}

fn title(trace: &TraceView, layout: &Layout) -> String {
    format!("Interaction {}: ladder diagram, page {} of {}", trace.interaction_id, layout.page, layout.pages)
}

fn verdict(trace: &TraceView) -> String {
    let released = &trace.released_by;
    let who = if released.who.is_empty() { "unknown" } else { released.who.as_str() };
    let mut text = match &released.dn {
        Some(dn) => format!("released by {dn} ({who})"),
        None => format!("released by {who}"),
    };
    if let Some(site) = &released.site {
        text.push_str(&format!(" at {site}"));
    }
    if !released.provenance.is_empty() {
        text.push_str(&format!(" [{}]", released.provenance));
    }
    if released.conflict {
        text.push_str(" (conflicting evidence)");
    }
    if let Some(candidate) = &released.candidate {
        text.push_str(&format!("; {}", candidate_text(candidate)));
    }
    text
}

/// `candidate 3020 (agent) at SIP_BLR [inferred-order, low]`: a guess, said as one.
fn candidate_text(candidate: &CandidateView) -> String {
    let who = if candidate.who.is_empty() { "unknown" } else { candidate.who.as_str() };
    let mut text = match &candidate.dn {
        Some(dn) => format!("candidate {dn} ({who})"),
        None => format!("candidate {who}"),
    };
    if let Some(site) = &candidate.site {
        text.push_str(&format!(" at {site}"));
    }
    text.push_str(&format!(" [{}, {}]", candidate.provenance, candidate.confidence));
    text
}

fn description(trace: &TraceView, layout: &Layout) -> String {
    let sites: Vec<&str> = layout.bands.iter().map(|band| band.site.as_str()).collect();
    let paginated = if layout.pages > 1 { ", paginated" } else { "" };
    format!(
        "Ladder diagram of interaction {}: {} call(s) at sites {}. Time runs downward, each site on its own \
         clock. Outcome {}, {}. Page {} of {}{paginated}.",
        trace.interaction_id,
        trace.segments.len(),
        sites.join(", "),
        or_unknown(&trace.outcome),
        verdict(trace),
        layout.page,
        layout.pages
    )
}

fn or_unknown(text: &str) -> &str {
    if text.is_empty() {
        "unknown"
    } else {
        text
    }
}

fn heading(svg: &mut Svg, trace: &TraceView, layout: &Layout, columns: usize) {
    svg.text(MARGIN, 26, Style::Title, Anchor::Start, &title(trace, layout));
    let path: Vec<&str> = trace.segments.iter().map(|segment| segment.site.as_str()).collect();
    let calls = format!(
        "{} call{}: {}; {} to {}",
        trace.segments.len(),
        if trace.segments.len() == 1 { "" } else { "s" },
        path.join(" → "),
        trace.start.as_deref().unwrap_or("?"),
        trace.end.as_deref().unwrap_or("?"),
    );
    let state = format!(
        "linking {}; calls {}; outcome {}; {}",
        or_unknown(&trace.linking),
        or_unknown(&trace.calls),
        or_unknown(&trace.outcome),
        verdict(trace)
    );
    svg.text(MARGIN, 46, Style::Small, Anchor::Start, &clip(&calls, columns));
    svg.text(MARGIN, 62, Style::Small, Anchor::Start, &clip(&state, columns));
    svg.text(MARGIN, 80, Style::Small, Anchor::Start, &page_line(layout));
}

fn page_line(layout: &Layout) -> String {
    if layout.total_rows == 0 {
        return "No events of its calls were given: lanes from the trace only.".to_string();
    }
    let (first, last) = (layout.first_row + 1, layout.first_row + layout.rows.len());
    if layout.pages > 1 {
        format!(
            "Paginated: page {} of {}, events {first}–{last} of {}. Other pages: --page N (LadderOptions page).",
            layout.page, layout.pages, layout.total_rows
        )
    } else {
        format!("All {} events on one page (page 1 of 1).", layout.total_rows)
    }
}

/// The band's clock: its offset to a site it is linked with, as the trace measured it, and
/// how it was measured.
fn clock_text(trace: &TraceView, band: &Band, index: usize) -> (String, String) {
    let direct = trace.clock_offsets.iter().find_map(|offset| {
        if offset.site == band.site {
            Some((offset.offset_ms, &offset.relative_to, offset))
        } else if offset.relative_to == band.site {
            Some((-offset.offset_ms, &offset.site, offset))
        } else {
            None
        }
    });
    match direct {
        Some((ms, other, offset)) => (
            format!("clock {ms:+.1} ms vs {other}"),
            format!("({}, {} links)", or_unknown(&offset.method), offset.links),
        ),
        None if index == 0 => ("clock: own".to_string(), "(no offset measured)".to_string()),
        None => ("clock: offset unknown".to_string(), "(no link measured it)".to_string()),
    }
}

fn draw_band(svg: &mut Svg, trace: &TraceView, layout: &Layout, index: usize, band: &Band) {
    let chars = (band.width / CHAR_W - 2).max(8) as usize;
    svg.rect(band.x, BAND_TOP, band.width, layout.rows_bottom + 8 - BAND_TOP, "band");
    svg.text(
        band.x + 8,
        BAND_TOP + 18,
        Style::Header,
        Anchor::Start,
        &clip(&format!("site {}", band.site), chars),
    );
    let location =
        trace.segments.iter().filter(|segment| segment.site == band.site).find_map(|s| s.location.as_ref());
    if let Some(location) = location {
        svg.text(band.x + 8, BAND_TOP + 34, Style::Small, Anchor::Start, &clip(location, chars));
    }
    let (offset, method) = clock_text(trace, band, index);
    svg.text(band.x + 8, BAND_TOP + 50, Style::Small, Anchor::Start, &clip(&offset, chars));
    svg.text(band.x + 8, BAND_TOP + 66, Style::Small, Anchor::Start, &clip(&method, chars));
    let calls: Vec<String> = trace
        .segments
        .iter()
        .enumerate()
        .filter(|(_, segment)| segment.site == band.site)
        .map(|(number, segment)| format!("#{} {}", number + 1, or_unknown(&segment.role)))
        .collect();
    svg.text(
        band.x + 8,
        BAND_TOP + 82,
        Style::Small,
        Anchor::Start,
        &clip(&format!("calls {}", calls.join(", ")), chars),
    );
    svg.text(band.x + 8, LANE_HEAD_TOP + 14, Style::Small, Anchor::Start, "call, time");
    svg.text(band.x + 8, LANE_HEAD_TOP + 28, Style::Small, Anchor::Start, "(site clock)");
    for lane in &band.lanes {
        svg.group("lane-head", &format!("{} at {}: {}", lane.title, band.site, lane.subtitle));
        svg.text(lane.x - 16, LANE_HEAD_TOP + 14, Style::Header, Anchor::Start, &clip(&lane.title, 15));
        svg.text(lane.x - 16, LANE_HEAD_TOP + 28, Style::Small, Anchor::Start, &clip(&lane.subtitle, 20));
        svg.end_group();
        svg.line((lane.x, LANE_HEAD_TOP + 34), (lane.x, layout.rows_bottom), "lane", None);
    }
}

/// `HH:MM:SS.mmm` of a time on a site's clock.
fn clock(time: Option<i64>) -> String {
    let text = time.map(|micros| Timestamp(micros).to_string()).unwrap_or_default();
    text.get(11..23).map_or_else(|| "--:--:--.---".to_string(), str::to_string)
}

fn draw_row(svg: &mut Svg, band: &Band, row: &Row) {
    let step = &row.step;
    svg.group("event", &format!("{}: {}", step.label, step.detail));
    let time = format!("#{} {}", step.segment + 1, clock(step.time));
    svg.text(band.x + 6, row.y + 4, Style::Time, Anchor::Start, &time);
    let arrow = match &step.shape {
        Shape::Arrow { from, to } => match (band.lane(Some(from)), band.lane(Some(to))) {
            (Some(from), Some(to)) if from.x != to.x => Some((from.x, to.x)),
            _ => None,
        },
        Shape::Mark { .. } => None,
    };
    if let Some((from, to)) = arrow {
        svg.line((from, row.y), (to, row.y), "arrow", Some("arrowhead"));
        let span = ((from - to).abs() / CHAR_W).max(6) as usize;
        svg.text((from + to) / 2, row.y - 4, Style::Label, Anchor::Middle, &clip(&step.label, span));
    } else {
        draw_mark(svg, band, row);
    }
    svg.end_group();
}

fn draw_mark(svg: &mut Svg, band: &Band, row: &Row) {
    let step = &row.step;
    let dn = match &step.shape {
        Shape::Mark { dn } => dn.as_deref(),
        Shape::Arrow { to, .. } => Some(to.as_str()),
    };
    let Some(lane) = band.lane(dn) else { return };
    let class = if step.release { "release" } else { "mark" };
    svg.circle(lane.x, row.y, 4, class);
    let label = match (&lane.key, dn) {
        (LaneKey::Overflow, Some(dn)) => format!("{dn}: {}", step.label),
        _ => step.label.clone(),
    };
    let chars = ((LANE_W - 14) / CHAR_W) as usize;
    svg.text(lane.x + 8, row.y + 4, Style::Label, Anchor::Start, &clip(&label, chars));
}

/// The band and call of one end of a link.
fn end_of(trace: &TraceView, layout: &Layout, site: &str, key: &str) -> Option<(usize, usize)> {
    let band = layout.bands.iter().position(|band| band.site == site)?;
    let segment = trace.segments.iter().position(|segment| segment.site == site && segment.names(key))?;
    Some((band, segment))
}

/// The row of a call on this page that carries the link id; else its last (`last`) or
/// first row.
fn link_row(layout: &Layout, segment: usize, islink: Option<&str>, last: bool) -> Option<i64> {
    let rows: Vec<&Row> = layout.rows.iter().filter(|row| row.step.segment == segment).collect();
    let carrying =
        islink.and_then(|id| rows.iter().find(|row| row.step.islinks.iter().any(|link| link == id)));
    let fallback = if last { rows.last() } else { rows.first() };
    carrying.or(fallback).map(|row| row.y)
}

/// The label of a link, in lines of at most 16 characters (the width of the gap between
/// bands): "IS-Link", its id, its evidence.
fn link_label(link: &LinkView) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(id) = link.islink.as_deref() {
        lines.push("IS-Link".to_string());
        let chars: Vec<char> = id.chars().collect();
        let chunks: Vec<String> = chars.chunks(16).map(|chunk| chunk.iter().collect()).collect();
        let cut = chunks.len() > 3;
        lines.extend(chunks.into_iter().take(3));
        if cut {
            if let Some(last) = lines.last_mut() {
                *last = clip(&format!("{last}…"), 16);
            }
        }
    }
    lines.push(clip(or_unknown(&link.evidence), 16));
    if !link.consistent {
        lines.push("⚠ inconsistent".to_string());
    }
    lines
}

/// A connector between the bands of the two calls of a link (links within one site, a
/// consultation or a merge, are listed in the footer only).
/// `label_bottoms`: per gap, the bottom of the last label drawn there, so that labels of
/// links arriving close together stack instead of covering each other.
fn draw_link(
    svg: &mut Svg,
    trace: &TraceView,
    layout: &Layout,
    link: &LinkView,
    label_bottoms: &mut BTreeMap<i64, i64>,
) {
    let (Some((from_band, from_seg)), Some((to_band, to_seg))) = (
        end_of(trace, layout, &link.from.site, &link.from.key),
        end_of(trace, layout, &link.to.site, &link.to.key),
    ) else {
        return;
    };
    if from_band == to_band {
        return;
    }
    let islink = link.islink.as_deref();
    let (y1, y2) = match (link_row(layout, from_seg, islink, true), link_row(layout, to_seg, islink, false)) {
        (Some(y1), Some(y2)) => (y1, y2),
        (Some(y), None) | (None, Some(y)) => (y, y),
        (None, None) => return,
    };
    let tooltip = format!(
        "{} ({}{}): #{} {} {} → #{} {} {}{}",
        islink.map_or_else(|| "link".to_string(), |id| format!("IS-Link {id}")),
        or_unknown(&link.evidence),
        if link.consistent { "" } else { ", inconsistent" },
        from_seg + 1,
        link.from.site,
        link.from.key,
        to_seg + 1,
        link.to.site,
        link.to.key,
        link.note.as_deref().map(|note| format!("; {note}")).unwrap_or_default()
    );
    svg.group("islink", &tooltip);
    let (from, to) = (&layout.bands[from_band], &layout.bands[to_band]);
    let (x1, x2) = if to_band > from_band { (from.x + from.width, to.x) } else { (from.x, to.x + to.width) };
    svg.line((x1, y1), (x2, y2), "link", Some("linkhead"));
    // The label stands in the gap next to the band the link arrives at.
    let gap_x = if to_band > from_band { to.x - BAND_GAP / 2 } else { to.x + to.width + BAND_GAP / 2 };
    let lines = link_label(link);
    let height = lines.len() as i64 * 13 + 6;
    let below_last = label_bottoms.get(&gap_x).map_or(LANE_HEAD_TOP, |bottom| bottom + 4);
    let top = (y2 - height / 2).max(LANE_HEAD_TOP).max(below_last);
    label_bottoms.insert(gap_x, top + height);
    svg.rect(gap_x - 60, top, 120, height, "lbg");
    for (index, line) in lines.iter().enumerate() {
        let style = if index == 0 { Style::Label } else { Style::Small };
        svg.text(gap_x, top + 13 + index as i64 * 13, style, Anchor::Middle, line);
    }
    svg.end_group();
}

/// The findings (rules) that name each media file.
fn findings_by_file(trace: &TraceView) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for finding in trace.recording.iter().flat_map(|recording| recording.findings.iter()) {
        for file in &finding.files {
            map.entry(file.as_str()).or_default().push(finding.rule.as_str());
        }
    }
    map
}

fn side_class(side: &str) -> &'static str {
    match side {
        "agent" => "rec-agent",
        "customer" => "rec-customer",
        _ => "rec-call",
    }
}

/// The page's vertical span of a file on its band: from the first row at or after its
/// start to the last row at or before its stop.
fn media_span(layout: &Layout, band: usize, file: &MediaFileView) -> Option<(i64, i64)> {
    let start = Timestamp::parse_rfc3339(&file.start)?.0;
    let stop = match &file.stop {
        Some(stop) => Some(Timestamp::parse_rfc3339(stop)?.0),
        None => None,
    };
    let rows: Vec<&Row> = layout.rows.iter().filter(|row| row.band == band).collect();
    let top = rows.iter().find(|row| row.step.time.is_some_and(|time| time >= start))?.y - ROW_H / 2 + 2;
    let bottom = match stop {
        Some(stop) => {
            rows.iter().rev().find(|row| row.step.time.is_some_and(|time| time <= stop))?.y + ROW_H / 2 - 2
        }
        None => layout.rows_bottom - 2,
    };
    Some((top, bottom.max(top + 6)))
}

fn draw_media(svg: &mut Svg, trace: &TraceView, layout: &Layout) {
    let Some(recording) = &trace.recording else { return };
    let findings = findings_by_file(trace);
    let mut slots: BTreeMap<(usize, i64), i64> = BTreeMap::new();
    for (number, file) in recording.media_files.iter().enumerate() {
        let Some(band_index) = layout.bands.iter().position(|band| band.site == file.site) else { continue };
        let Some(lane) = layout.bands[band_index].lane(Some(&file.recorded_dn)) else { continue };
        let Some((top, bottom)) = media_span(layout, band_index, file) else { continue };
        let slot = slots.entry((band_index, lane.x)).or_insert(0);
        let x = lane.x - 12 - (*slot % 4) * 8;
        *slot += 1;
        let rules = findings.get(file.media_id.as_str()).cloned().unwrap_or_default();
        svg.group("media", &media_text(number, file, &rules));
        svg.rect(x - 3, top, 6, bottom - top, side_class(&file.side));
        let name = format!("REC {}", number + 1);
        if rules.is_empty() {
            svg.text(x, top - 2, Style::Small, Anchor::Middle, &name);
        } else {
            svg.rect(x - 5, top - 2, 10, bottom - top + 4, "finding");
            svg.text(x, top - 2, Style::Warn, Anchor::Middle, &format!("⚠ {name} {}", rules.join(",")));
        }
        svg.end_group();
    }
}

fn media_text(number: usize, file: &MediaFileView, rules: &[&str]) -> String {
    let mut text = format!(
        "REC {}: {} {} ({} side) {} to {} [{}] {}",
        number + 1,
        file.site,
        file.recorded_dn,
        or_unknown(&file.side),
        clock(Timestamp::parse_rfc3339(&file.start).map(|time| time.0)),
        file.stop
            .as_deref()
            .and_then(Timestamp::parse_rfc3339)
            .map_or_else(|| "(no stop)".to_string(), |t| clock(Some(t.0))),
        or_unknown(&file.provenance),
        file.media_id
    );
    if !rules.is_empty() {
        text.push_str(&format!("  ⚠ finding {}", rules.join(", ")));
    }
    text
}

/// `items` as lines, at most `max`, then "… and N more".
fn capped<T>(items: &[T], max: usize, line: impl Fn(usize, &T) -> Line) -> Vec<Line> {
    let mut lines: Vec<Line> =
        items.iter().take(max).enumerate().map(|(index, item)| line(index, item)).collect();
    if items.len() > max {
        lines.push(Line::new(Style::Small, format!("  … and {} more", items.len() - max)));
    }
    lines
}

/// Splits `text` into lines of at most `width` characters, at most `max` lines.
fn wrap(text: &str, width: usize, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max {
        lines.truncate(max);
        if let Some(last) = lines.last_mut() {
            last.push_str(" …");
        }
    }
    lines.into_iter().map(|line| clip(&line, width)).collect()
}

fn footer(trace: &TraceView, layout: &Layout, columns: usize) -> Vec<Line> {
    let fit = |text: String| clip(&text, columns);
    let mut lines = vec![Line::new(Style::Header, fit(format!("Release verdict: {}", verdict(trace))))];
    lines.extend(capped(&trace.segments, MAX_SEGMENT_LINES, |index, segment| {
        let ended = &segment.ended_by;
        let who = match &ended.dn {
            Some(dn) => format!("{dn} ({})", or_unknown(&ended.who)),
            None => or_unknown(&ended.who).to_string(),
        };
        Line::new(
            Style::Label,
            fit(format!(
                "  #{} {} {} {}: {}, {}{}; ended by {who} [{}]{}{}",
                index + 1,
                segment.site,
                or_unknown(&segment.role),
                segment.key,
                or_unknown(&segment.model),
                or_unknown(&segment.outcome),
                if segment.conformant { "" } else { " (deviates)" },
                or_unknown(&ended.provenance),
                ended
                    .candidate
                    .as_ref()
                    .map(|candidate| format!("; {}", candidate_text(candidate)))
                    .unwrap_or_default(),
                if segment.ended { "" } else { "; end not seen" }
            )),
        )
    }));
    lines.extend(link_lines(trace, &fit));
    lines.extend(recording_lines(trace, columns));
    if !trace.notes.is_empty() {
        lines.push(Line::new(Style::Header, "Notes".to_string()));
        lines.extend(capped(&trace.notes, MAX_NOTE_LINES, |_, note| {
            Line::new(Style::Small, fit(format!("  {note}")))
        }));
    }
    if layout.pages > 1 {
        lines.push(Line::new(Style::Header, page_line(layout)));
    }
    lines
}

fn link_lines(trace: &TraceView, fit: &impl Fn(String) -> String) -> Vec<Line> {
    if trace.links.is_empty() {
        return Vec::new();
    }
    let position = |site: &str, key: &str| {
        trace
            .segments
            .iter()
            .position(|segment| segment.site == site && segment.names(key))
            .map_or_else(|| "?".to_string(), |index| format!("#{}", index + 1))
    };
    let mut lines = vec![Line::new(Style::Header, "Links between the calls".to_string())];
    lines.extend(capped(&trace.links, MAX_LINK_LINES, |_, link| {
        Line::new(
            Style::Label,
            fit(format!(
                "  {} {} → {} {}: {}{}{}",
                position(&link.from.site, &link.from.key),
                link.from.site,
                position(&link.to.site, &link.to.key),
                link.to.site,
                or_unknown(&link.evidence),
                link.islink.as_deref().map(|id| format!(" IS-Link {id}")).unwrap_or_default(),
                if link.consistent { "" } else { " ⚠ inconsistent" }
            )),
        )
    }));
    lines
}

fn recording_lines(trace: &TraceView, columns: usize) -> Vec<Line> {
    let Some(recording) = &trace.recording else { return Vec::new() };
    if recording.media_files.is_empty() && recording.findings.is_empty() {
        return vec![Line::new(
            Style::Small,
            format!("Recording {}: no media files", recording.recording_id),
        )];
    }
    let findings = findings_by_file(trace);
    let mut lines = vec![Line::new(
        Style::Header,
        clip(
            &format!(
                "Recording {}: {} media files (bars: green agent side, blue customer side, grey call)",
                recording.recording_id,
                recording.media_files.len()
            ),
            columns,
        ),
    )];
    lines.extend(capped(&recording.media_files, MAX_FILE_LINES, |index, file| {
        let rules = findings.get(file.media_id.as_str()).cloned().unwrap_or_default();
        let style = if rules.is_empty() { Style::Label } else { Style::Warn };
        let marker = if rules.is_empty() { "  " } else { "⚠ " };
        let text = media_text(index, file, &rules);
        Line { style, text: clip(&format!("{marker}{text}"), columns), tooltip: Some(text) }
    }));
    let mut finding_lines = Vec::new();
    for finding in recording.findings.iter().take(MAX_FINDING_LINES) {
        let text = format!("⚠ finding {}: {}", finding.rule, finding.message);
        for (index, part) in wrap(&text, columns.saturating_sub(4), FINDING_WRAP).into_iter().enumerate() {
            let part = if index == 0 { part } else { format!("    {part}") };
            finding_lines.push(Line { style: Style::Warn, text: part, tooltip: Some(text.clone()) });
        }
    }
    if recording.findings.len() > MAX_FINDING_LINES {
        let more = recording.findings.len() - MAX_FINDING_LINES;
        finding_lines.push(Line::new(Style::Warn, format!("⚠ … and {more} more findings")));
    }
    lines.extend(finding_lines);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_words_and_caps_lines() {
        assert_eq!(wrap("a bb ccc dddd", 6, 3), ["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("a bb ccc dddd", 6, 2), ["a bb", "ccc …"]);
    }

    #[test]
    fn clock_shows_the_time_of_day_to_the_millisecond() {
        let time = Timestamp::parse_rfc3339("2012-10-29T14:41:00.540480Z").map(|time| time.0);
        assert_eq!(clock(time), "14:41:00.540");
        assert_eq!(clock(None), "--:--:--.---");
    }
}
