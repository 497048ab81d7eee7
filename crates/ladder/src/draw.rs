//! Draws a laid-out page: heading, site bands with their lane headers, one row per event
//! (elapsed time, call and site clock, the event's words in the label column, its arrow or
//! mark in the lanes), one row per hop between sites with its connector, the media-file
//! bars, and the footer that says in words who released the interaction, its calls, hops,
//! recording and findings. Every text is placed where it fits: long texts wrap, and a text
//! cut after its last allowed line has its full words in a tooltip.

use std::collections::BTreeMap;

use callstitch_engine::CallModel;
use callstitch_link::EndedByCandidate;
use callstitch_pipeline::TraceDocument;
use callstitch_recording::{MediaFile, RecordedSide};
use callstitch_tlib::Timestamp;

use crate::events::Shape;
use crate::layout::{
    place_heads, Band, Hop, LaneKey, Layout, Row, RowKind, ELAPSED_W, GUTTER, LINE_H, MARGIN, SMALL_LINE_H,
    SMALL_PX,
};
use crate::svg::{Anchor, Style, Svg};
use crate::text;
use callstitch_link::word;

use crate::view::names;
use crate::MAX_HEIGHT;

const FOOTER_LINE_H: i64 = 16;
/// Footer entries per section before "… and N more".
const MAX_SEGMENT_LINES: usize = 12;
const MAX_HOP_LINES: usize = 12;
const MAX_FILE_LINES: usize = 16;
const MAX_FINDING_LINES: usize = 16;
const MAX_NOTE_LINES: usize = 6;
/// Lines a footer entry, a finding, a heading line may wrap to.
const ENTRY_WRAP: usize = 2;
const FINDING_WRAP: usize = 3;
/// Lines of quiet parties in a band header.
const QUIET_LINES: usize = 3;

/// One line of text to place, with the full text when it was cut.
struct Line {
    style: Style,
    text: String,
    tooltip: Option<String>,
}

/// `text` wrapped to `px` pixels in at most `max` lines of `style`.
fn wrapped(style: Style, text: &str, px: i64, max: usize) -> Vec<Line> {
    let (lines, cut) = text::wrap(text, text::chars_in(px, style.px()), max);
    let tooltip = cut.then(|| text.to_string());
    lines.into_iter().map(|line| Line { style, text: line, tooltip: tooltip.clone() }).collect()
}

fn write_lines(svg: &mut Svg, x: i64, mut y: i64, lines: &[Line], line_h: i64) -> i64 {
    for line in lines {
        if let Some(tooltip) = &line.tooltip {
            svg.group("note", &[], tooltip);
        }
        svg.text(x, y, line.style, Anchor::Start, &line.text);
        if line.tooltip.is_some() {
            svg.end_group();
        }
        y += line_h;
    }
    y
}

/// The whole page as SVG text.
pub fn draw(trace: &TraceDocument, mut layout: Layout) -> String {
    let width = layout.width;
    let columns = width - 2 * MARGIN;
    let titles = wrapped(Style::Title, &title(trace, &layout), columns, ENTRY_WRAP);
    let heading = heading_lines(trace, &layout, columns);
    let heading_top = 26 + titles.len() as i64 * 20;
    layout.band_top = heading_top - 12 + heading.len() as i64 * 15;
    let band_heads: Vec<BandHead> = layout.bands.iter().map(|band| band_head(trace, &layout, band)).collect();
    let heads_height = band_heads.iter().map(|head| head.height).max().unwrap_or(0);
    layout.heads_top = layout.band_top + heads_height + 6;
    let heads_top = layout.heads_top;
    let tiers = place_heads(&mut layout, heads_top);
    layout.rows_top = layout.heads_top + tiers + 12;
    for row in &mut layout.rows {
        row.top += layout.rows_top;
        row.y += layout.rows_top;
    }
    layout.rows_bottom = layout.rows.last().map_or(layout.rows_top + 24, |row| row.top + row.height);
    let footer = footer(trace, &layout, columns);
    let footer_top = layout.rows_bottom + 34;
    let height = (footer_top + footer.len() as i64 * FOOTER_LINE_H + MARGIN).min(MAX_HEIGHT);
    let mut svg = Svg::open(width, height, "ladder", &title(trace, &layout), &description(trace, &layout));
    write_lines(&mut svg, MARGIN, 26, &titles, 20);
    write_lines(&mut svg, MARGIN, heading_top, &heading, 15);
    for (band, head) in layout.bands.iter().zip(&band_heads) {
        svg.rect(
            band.x,
            layout.band_top,
            band.width,
            layout.rows_bottom + 6 - layout.band_top,
            &band_class(band),
        );
        draw_band_head(&mut svg, &layout, band, head);
    }
    draw_stripes(&mut svg, &layout);
    draw_columns_head(&mut svg, &layout);
    for band in &layout.bands {
        draw_lanes(&mut svg, &layout, band);
    }
    draw_media(&mut svg, trace, &layout);
    for row in &layout.rows {
        match &row.kind {
            RowKind::Event { band, .. } => draw_event(&mut svg, &layout, &layout.bands[*band], row),
            RowKind::Hop { hop, from_x, to_x } => {
                draw_hop(&mut svg, trace, &layout, &layout.hops[*hop], row, (*from_x, *to_x))
            }
        }
    }
    write_lines(&mut svg, MARGIN, footer_top, &footer, FOOTER_LINE_H);
    svg.finish()
}

fn band_class(band: &Band) -> String {
    format!("band b{}", band.colour % 6)
}

fn title(trace: &TraceDocument, layout: &Layout) -> String {
    format!(
        "Interaction {}: ladder diagram, page {} of {}",
        trace.interaction.interaction_id, layout.page, layout.pages
    )
}

fn verdict(trace: &TraceDocument) -> String {
    let released = &trace.interaction.released_by;
    let who = or_unknown(&word(&released.who)).to_string();
    let mut text = match &released.dn {
        Some(dn) => format!("released by {dn} ({who})"),
        None => format!("released by {who}"),
    };
    if let Some(site) = &released.site {
        text.push_str(&format!(" at {site}"));
    }
    text.push_str(&format!(" [{}]", released.provenance));
    if released.conflict {
        text.push_str(" (conflicting evidence)");
    }
    if let Some(candidate) = &released.candidate {
        text.push_str(&format!("; {}", candidate_text(candidate)));
    }
    text
}

/// `candidate 3020 (agent) at SIP_BLR [inferred-order, low]`: a guess, said as one.
fn candidate_text(candidate: &EndedByCandidate) -> String {
    let who = or_unknown(&word(&candidate.who)).to_string();
    let mut text = match &candidate.dn {
        Some(dn) => format!("candidate {dn} ({who})"),
        None => format!("candidate {who}"),
    };
    if let Some(site) = &candidate.site {
        text.push_str(&format!(" at {site}"));
    }
    text.push_str(&format!(" [{}, {}]", candidate.provenance, word(&candidate.confidence)));
    text
}

fn description(trace: &TraceDocument, layout: &Layout) -> String {
    let sites: Vec<&str> = layout.bands.iter().map(|band| band.site.as_str()).collect();
    let paginated = if layout.pages > 1 { ", paginated" } else { "" };
    format!(
        "Ladder diagram of interaction {}: {} call(s) at sites {}. Time runs downward on one axis corrected \
         by the measured clock offsets; each event also shows its site's own clock. Outcome {}, {}. Page {} \
         of {}{paginated}.",
        trace.interaction.interaction_id,
        trace.interaction.segments.len(),
        sites.join(", "),
        trace.interaction.outcome,
        verdict(trace),
        layout.page,
        layout.pages
    )
}

/// A time as the document's JSON writes it (RFC 3339, the site's own clock), or `?`.
fn time_or_unknown(time: Option<Timestamp>) -> String {
    time.map_or_else(|| "?".to_string(), |time| time.to_string())
}

fn or_unknown(text: &str) -> &str {
    if text.is_empty() {
        "unknown"
    } else {
        text
    }
}

fn heading_lines(trace: &TraceDocument, layout: &Layout, columns: i64) -> Vec<Line> {
    let interaction = &trace.interaction;
    let path: Vec<String> = interaction
        .segments
        .iter()
        .enumerate()
        .map(|(index, segment)| format!("#{} {}", index + 1, segment.site))
        .collect();
    let calls = format!(
        "{} call{}: {}; {} to {}",
        interaction.segments.len(),
        if interaction.segments.len() == 1 { "" } else { "s" },
        path.join(" → "),
        time_or_unknown(interaction.start),
        time_or_unknown(interaction.end),
    );
    let state = format!(
        "linking {}; calls {}; outcome {}; {}",
        interaction.linking,
        or_unknown(&word(&interaction.calls)),
        interaction.outcome,
        verdict(trace)
    );
    let mut lines = wrapped(Style::Small, &calls, columns, ENTRY_WRAP);
    lines.extend(wrapped(Style::Small, &state, columns, ENTRY_WRAP));
    lines.extend(wrapped(Style::Small, &page_line(layout), columns, ENTRY_WRAP));
    lines
}

fn page_line(layout: &Layout) -> String {
    if layout.total_rows == 0 {
        return "No events of its calls were given: lanes from the trace only.".to_string();
    }
    let events = layout.rows.iter().filter(|row| matches!(row.kind, RowKind::Event { .. })).count();
    let (first, last) = (layout.first_row + 1, layout.first_row + events);
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
fn clock_text(trace: &TraceDocument, band: &Band) -> (String, String) {
    let direct = trace.interaction.clock_offsets.iter().find_map(|offset| {
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
            format!("measured {}, {} links", or_unknown(&word(&offset.method)), offset.links),
        ),
        None if band.offset_us == Some(0) => {
            ("clock: reference".to_string(), "no offset measured".to_string())
        }
        None => ("clock: offset unknown".to_string(), "no link measured it".to_string()),
    }
}

/// A band's header, laid out: its lines and the quiet parties' names.
struct BandHead {
    lines: Vec<Line>,
    /// (x, line, dn, tooltip) of each quiet party's name.
    quiet: Vec<(i64, usize, String, String)>,
    quiet_top: usize,
    height: i64,
    tooltip: String,
}

fn band_head(trace: &TraceDocument, layout: &Layout, band: &Band) -> BandHead {
    let inner = band.width - 12;
    let small = inner;
    let mut lines = wrapped(Style::Header, &format!("site {}", band.site), inner, 2);
    let segments = &trace.interaction.segments;
    let calls: Vec<String> = segments
        .iter()
        .enumerate()
        .filter(|(_, segment)| segment.site == band.site)
        .map(|(number, segment)| format!("#{} {}", number + 1, or_unknown(&word(&segment.role))))
        .collect();
    lines.extend(wrapped(Style::Small, &format!("calls {}", calls.join(", ")), small, 2));
    let (offset, method) = clock_text(trace, band);
    lines.extend(wrapped(Style::Small, &offset, small, 2));
    let location =
        segments.iter().filter(|segment| segment.site == band.site).find_map(|s| s.location.clone());
    let tooltip = format!(
        "site {}{}; {offset} ({method})",
        band.site,
        location.map(|location| format!(" ({location})")).unwrap_or_default()
    );
    let quiet_top = lines.len();
    let quiet = quiet_names(layout, band, inner);
    let quiet_lines = quiet.iter().map(|(_, line, ..)| line + 1).max().unwrap_or(0);
    let height = 20 + (quiet_top + quiet_lines).saturating_sub(1) as i64 * SMALL_LINE_H + 8;
    BandHead { lines, quiet, quiet_top, height, tooltip }
}

/// The quiet parties' names, flowed over at most [`QUIET_LINES`] lines after "no events:".
fn quiet_names(layout: &Layout, band: &Band, inner: i64) -> Vec<(i64, usize, String, String)> {
    let mut placed = Vec::new();
    if band.quiet.is_empty() {
        return placed;
    }
    let left = band.x + 6;
    let mut x = left + text::width("no events: ", SMALL_PX);
    let mut line = 0;
    for (index, (dn, subtitle)) in band.quiet.iter().enumerate() {
        let tooltip = format!("{dn} at {}: {subtitle}, no events on page {}", band.site, layout.page);
        let name = text::wrap(dn, text::chars_in(inner, SMALL_PX), 1).0.join("");
        let width = text::width(&name, SMALL_PX);
        if x > left && x + width > band.x + band.width - 6 {
            line += 1;
            x = left;
        }
        if line >= QUIET_LINES {
            let rest: Vec<&str> = band.quiet[index..].iter().map(|(dn, _)| dn.as_str()).collect();
            let more = format!("+{} more", rest.len());
            let last = placed.last_mut();
            if let Some((_, _, text, tooltip)) = last {
                *text = more;
                *tooltip = format!("no events on this page: {}", rest.join(", "));
            }
            break;
        }
        placed.push((x, line, name, tooltip));
        x += width + text::width(" ", SMALL_PX);
    }
    placed
}

fn draw_band_head(svg: &mut Svg, layout: &Layout, band: &Band, head: &BandHead) {
    svg.group("site-head", &[("site", &band.site)], &head.tooltip);
    let mut y = layout.band_top + 20;
    for (index, line) in head.lines.iter().enumerate() {
        svg.text(band.x + 6, y, line.style, Anchor::Start, &line.text);
        if index + 1 < head.lines.len() {
            y += if line.style == Style::Header { 17 } else { SMALL_LINE_H };
        }
    }
    svg.end_group();
    if head.quiet.is_empty() {
        return;
    }
    let quiet_y = layout.band_top + 20 + head.quiet_top as i64 * SMALL_LINE_H;
    svg.text(band.x + 6, quiet_y, Style::Small, Anchor::Start, "no events:");
    for (x, line, name, tooltip) in &head.quiet {
        svg.group("lane-head quiet", &[("site", &band.site)], tooltip);
        svg.text(*x, quiet_y + *line as i64 * SMALL_LINE_H, Style::Small, Anchor::Start, name);
        svg.end_group();
    }
}

/// Every other row lightly shaded, so that a label and its arrow read as one line.
fn draw_stripes(svg: &mut Svg, layout: &Layout) {
    for (index, row) in layout.rows.iter().enumerate() {
        if index % 2 == 1 {
            svg.rect(MARGIN, row.top, layout.width - 2 * MARGIN, row.height, "stripe");
        }
    }
}

fn draw_columns_head(svg: &mut Svg, layout: &Layout) {
    let y = layout.rows_top - 8;
    svg.text(MARGIN + ELAPSED_W - 8, y, Style::Small, Anchor::End, "elapsed");
    svg.text(MARGIN + ELAPSED_W, y, Style::Small, Anchor::Start, "call, site clock");
    svg.text(layout.label_x + 10, y, Style::Small, Anchor::Start, "event");
}

fn draw_lanes(svg: &mut Svg, layout: &Layout, band: &Band) {
    let rows = rows_of(layout, band);
    for lane in &band.lanes {
        let tooltip = format!("{} at {}: {}", lane.title, band.site, lane.detail);
        svg.group("lane-head", &[("site", &band.site)], &tooltip);
        let mut y = lane.head.top + 11;
        for (line, is_title) in &lane.head.lines {
            let style = if *is_title { Style::LaneTitle } else { Style::Small };
            svg.text(lane.head.left, y, style, Anchor::Start, line);
            y += SMALL_LINE_H;
        }
        svg.end_group();
        let below = lane.head.top + lane.head.lines.len() as i64 * SMALL_LINE_H + 2;
        svg.line((lane.x, below), (lane.x, layout.rows_top), "leader", &[], None);
        let data = [("site", band.site.as_str()), ("dn", lane.title.as_str())];
        svg.line((lane.x, layout.rows_top), (lane.x, layout.rows_bottom), "lane", &data, None);
        // Solid while the party takes part: from its first event to its last.
        let used: Vec<i64> =
            rows.iter().filter(|row| touches(band, row, &lane.key)).map(|row| row.y).collect();
        if let (Some(first), Some(last)) = (used.first(), used.last()) {
            if last > first {
                svg.line((lane.x, *first), (lane.x, *last), "life", &[], None);
            }
        }
    }
}

fn rows_of<'a>(layout: &'a Layout, band: &Band) -> Vec<&'a Row> {
    let index = layout.bands.iter().position(|other| other.site == band.site);
    layout
        .rows
        .iter()
        .filter(|row| matches!(row.kind, RowKind::Event { band, .. } if Some(band) == index))
        .collect()
}

/// Whether an event row draws on the lane `key`.
fn touches(band: &Band, row: &Row, key: &LaneKey) -> bool {
    let RowKind::Event { step, .. } = &row.kind else { return false };
    let on = |dn: Option<&str>| band.lane(dn).is_some_and(|lane| lane.key == *key);
    match &step.shape {
        Shape::Arrow { from, to } => on(Some(from)) || on(Some(to)),
        Shape::Mark { dn } => on(dn.as_deref()),
    }
}

/// `HH:MM:SS.mmm` of a time on a site's clock.
fn clock(time: Option<i64>) -> String {
    let text = time.map(|micros| Timestamp(micros).to_string()).unwrap_or_default();
    text.get(11..23).map_or_else(|| "--:--:--.---".to_string(), str::to_string)
}

/// `+m:ss.s` (or `+h:mm:ss`) since the interaction's first event, on the corrected axis.
pub fn elapsed(micros: i64) -> String {
    let tenths = micros.max(0) / 100_000;
    let (seconds, tenth) = (tenths / 10, tenths % 10);
    let (minutes, second) = (seconds / 60, seconds % 60);
    if minutes >= 60 {
        format!("+{}:{:02}:{second:02}", minutes / 60, minutes % 60)
    } else {
        format!("+{minutes}:{second:02}.{tenth}")
    }
}

fn row_times(svg: &mut Svg, layout: &Layout, row: &Row, call: Option<String>) {
    let baseline = row.top + 4 + 11;
    if let (Some(corrected), Some(origin)) = (row.corrected, layout.origin) {
        svg.text(MARGIN + ELAPSED_W - 8, baseline, Style::Time, Anchor::End, &elapsed(corrected - origin));
    }
    if let Some(call) = call {
        svg.text(MARGIN + ELAPSED_W, baseline, Style::Time, Anchor::Start, &call);
    }
}

fn row_label(svg: &mut Svg, layout: &Layout, row: &Row, style: Style) {
    let mut y = row.top + 4 + 11;
    for line in &row.lines {
        svg.text(layout.label_x + 10, y, style, Anchor::Start, line);
        y += LINE_H;
    }
}

fn draw_event(svg: &mut Svg, layout: &Layout, band: &Band, row: &Row) {
    let RowKind::Event { step, .. } = &row.kind else { return };
    let tooltip = format!("{}: {}", step.label, step.detail);
    let mut data = vec![("site", band.site.as_str())];
    if let Some(source) = &step.source {
        data.push(("source", source.as_str()));
    }
    svg.group("event", &data, &tooltip);
    svg.rect(MARGIN, row.top, layout.width - 2 * MARGIN, row.height, "hit");
    svg.rect(layout.label_x, row.top + 3, 4, row.height - 6, &format!("c{}", band.colour % 6));
    row_times(svg, layout, row, Some(format!("#{} {}", step.segment + 1, clock(step.time))));
    let style = if step.release { Style::Release } else { Style::Label };
    row_label(svg, layout, row, style);
    let arrow = match &step.shape {
        Shape::Arrow { from, to } => match (band.lane(Some(from)), band.lane(Some(to))) {
            (Some(from), Some(to)) if from.x != to.x => Some((from.x, to.x)),
            _ => None,
        },
        Shape::Mark { .. } => None,
    };
    match arrow {
        Some((from, to)) => {
            let (class, head) =
                if step.tone == "queue" { ("route", "routehead") } else { ("arrow", "arrowhead") };
            let (from_dn, to_dn) = match &step.shape {
                Shape::Arrow { from, to } => (from.as_str(), to.as_str()),
                Shape::Mark { .. } => ("", ""),
            };
            let data = [("from", from_dn), ("to", to_dn)];
            svg.circle(from, row.y, 3, "mark");
            svg.line((from, row.y), (to, row.y), class, &data, Some(&format!("ladder-{head}")));
        }
        None => draw_mark(svg, band, row),
    }
    svg.end_group();
}

fn draw_mark(svg: &mut Svg, band: &Band, row: &Row) {
    let RowKind::Event { step, .. } = &row.kind else { return };
    let dn = match &step.shape {
        Shape::Mark { dn } => dn.as_deref(),
        Shape::Arrow { to, .. } => Some(to.as_str()),
    };
    let Some(lane) = band.lane(dn) else { return };
    match step.tone {
        "release" => svg.rect(lane.x - 4, row.y - 4, 8, 8, "release"),
        "hold" => svg.circle(lane.x, row.y, 4, "hold"),
        tone => svg.circle(lane.x, row.y, 4, tone),
    }
}

/// A hop between the bands of two sites: one connector in its own row, between
/// neighbouring bands straight across the gutter; otherwise out of its band and into the
/// other through numbered stubs in their gutters, so it never crosses a third site.
fn draw_hop(
    svg: &mut Svg,
    trace: &TraceDocument,
    layout: &Layout,
    hop: &Hop,
    row: &Row,
    ends: (Option<i64>, Option<i64>),
) {
    let (from, to) = (&layout.bands[hop.from_band], &layout.bands[hop.to_band]);
    let segment_key =
        |index: usize| trace.interaction.segments.get(index).map_or("?", |segment| segment.key.as_str());
    let mut tooltip = format!(
        "{} [{} {} → {} {}]",
        row.lines.join(" "),
        from.site,
        segment_key(hop.from_segment),
        to.site,
        segment_key(hop.to_segment)
    );
    if row.cut {
        tooltip = format!(
            "{} [{}]",
            crate::layout::hop_label(trace, &sites(layout), hop),
            segment_key(hop.to_segment)
        );
    }
    for note in &hop.notes {
        tooltip.push_str(&format!("; {note}"));
    }
    let data =
        [("hop", hop.number.to_string()), ("from-site", from.site.clone()), ("to-site", to.site.clone())];
    let data: Vec<(&str, &str)> = data.iter().map(|(name, value)| (*name, value.as_str())).collect();
    svg.group("islink", &data, &tooltip);
    svg.rect(MARGIN, row.top, layout.width - 2 * MARGIN, row.height, "hit");
    row_times(svg, layout, row, Some(format!("hop {}", hop.number)));
    row_label(svg, layout, row, Style::Hop);
    let rightward = hop.to_band > hop.from_band;
    let (exit, entry) = if rightward { (from.x + from.width, to.x) } else { (from.x, to.x + to.width) };
    let start = ends.0.unwrap_or(exit);
    let end = ends.1.unwrap_or(entry);
    let sites = [("sites", format!("{} {}", from.site, to.site))];
    let sites: Vec<(&str, &str)> = sites.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let head = Some("ladder-linkhead");
    if hop.from_band.abs_diff(hop.to_band) == 1 {
        svg.line((start, row.y), (end, row.y), "link", &sites, head);
    } else {
        let half = GUTTER / 2;
        let (exit_badge, entry_badge) =
            if rightward { (exit + half, entry - half) } else { (exit - half, entry + half) };
        let toward = |badge: i64, side: i64| if side > badge { badge + 9 } else { badge - 9 };
        svg.line((start, row.y), (toward(exit_badge, start), row.y), "link", &sites, None);
        svg.line((toward(entry_badge, end), row.y), (end, row.y), "link", &sites, head);
        for badge in [exit_badge, entry_badge] {
            svg.circle(badge, row.y, 8, "badge");
            svg.text(badge, row.y + 4, Style::Badge, Anchor::Middle, &hop.number.to_string());
        }
    }
    svg.end_group();
}

fn sites(layout: &Layout) -> Vec<String> {
    layout.bands.iter().map(|band| band.site.clone()).collect()
}

/// The findings (rules) that name each media file.
fn findings_by_file(trace: &TraceDocument) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for finding in trace.recording.iter().flat_map(|recording| recording.findings.iter()) {
        for file in &finding.files {
            map.entry(file.as_str()).or_default().push(finding.rule.label());
        }
    }
    map
}

fn side_class(side: RecordedSide) -> &'static str {
    match side {
        RecordedSide::Agent => "rec-agent",
        RecordedSide::Customer => "rec-customer",
        RecordedSide::Call => "rec-call",
    }
}

/// The page's vertical span of a file on its band: from the first row at or after its
/// start to the last row at or before its stop (site clock).
fn media_span(layout: &Layout, band: &Band, file: &MediaFile) -> Option<(i64, i64)> {
    let start = Timestamp::parse_rfc3339(&file.start)?.0;
    let stop = match &file.stop {
        Some(stop) => Some(Timestamp::parse_rfc3339(stop)?.0),
        None => None,
    };
    let rows = rows_of(layout, band);
    let time = |row: &&Row| match &row.kind {
        RowKind::Event { step, .. } => step.time,
        RowKind::Hop { .. } => None,
    };
    let top = rows.iter().find(|row| time(row).is_some_and(|time| time >= start))?.y - 6;
    let bottom = match stop {
        Some(stop) => rows.iter().rev().find(|row| time(row).is_some_and(|time| time <= stop))?.y + 6,
        None => layout.rows_bottom - 2,
    };
    Some((top, bottom.max(top + 8)))
}

fn draw_media(svg: &mut Svg, trace: &TraceDocument, layout: &Layout) {
    let Some(recording) = &trace.recording else { return };
    let findings = findings_by_file(trace);
    let mut slots: BTreeMap<(usize, i64), i64> = BTreeMap::new();
    for (number, file) in recording.media_files.iter().enumerate() {
        let Some(band_index) = layout.bands.iter().position(|band| band.site == file.site) else { continue };
        let band = &layout.bands[band_index];
        let Some(lane) = band.lane(Some(&file.recorded_dn)) else { continue };
        let Some((top, bottom)) = media_span(layout, band, file) else { continue };
        let slot = slots.entry((band_index, lane.x)).or_insert(0);
        let x = lane.x - 11 - (*slot % 3) * 7;
        *slot += 1;
        let rules = findings.get(file.media_id.as_str()).cloned().unwrap_or_default();
        svg.group("media", &[("media", &file.media_id)], &media_text(number, file, &rules));
        svg.rect(x, top, 5, bottom - top, side_class(file.side));
        if !rules.is_empty() {
            svg.rect(x - 2, top - 2, 9, bottom - top + 4, "finding");
        }
        svg.end_group();
    }
}

fn media_text(number: usize, file: &MediaFile, rules: &[&str]) -> String {
    let name = if rules.is_empty() {
        format!("REC {}", number + 1)
    } else {
        format!("⚠ REC {} {}", number + 1, rules.join(","))
    };
    format!(
        "{name}: {} {} ({} side) {} to {} [{}] {}",
        file.site,
        file.recorded_dn,
        file.side,
        clock(Timestamp::parse_rfc3339(&file.start).map(|time| time.0)),
        file.stop
            .as_deref()
            .and_then(Timestamp::parse_rfc3339)
            .map_or_else(|| "(no stop)".to_string(), |t| clock(Some(t.0))),
        or_unknown(&word(&file.provenance)),
        file.media_id
    )
}

/// `items` as wrapped lines, at most `max` items, then "… and N more".
fn capped<T>(
    items: &[T],
    max: usize,
    columns: i64,
    line: impl Fn(usize, &T) -> (Style, String),
) -> Vec<Line> {
    let mut lines = Vec::new();
    for (index, item) in items.iter().take(max).enumerate() {
        let (style, text) = line(index, item);
        lines.extend(wrapped(style, &text, columns, ENTRY_WRAP));
    }
    if items.len() > max {
        lines.push(Line {
            style: Style::Small,
            text: format!("  … and {} more", items.len() - max),
            tooltip: None,
        });
    }
    lines
}

fn header(text: String, columns: i64) -> Vec<Line> {
    wrapped(Style::Header, &text, columns, ENTRY_WRAP)
}

fn footer(trace: &TraceDocument, layout: &Layout, columns: i64) -> Vec<Line> {
    let mut lines = header(format!("Release verdict: {}", verdict(trace)), columns);
    lines.extend(capped(&trace.interaction.segments, MAX_SEGMENT_LINES, columns, |index, segment| {
        let ended = &segment.ended_by;
        let who = match &ended.dn {
            Some(dn) => format!("{dn} ({})", or_unknown(&word(&ended.who))),
            None => or_unknown(&word(&ended.who)).to_string(),
        };
        let text = format!(
            "#{} {} {} {}: {}, {}{}; ended by {who} [{}]{}{}",
            index + 1,
            segment.site,
            or_unknown(&word(&segment.role)),
            segment.key,
            segment.model.map_or("unknown", CallModel::slug),
            segment.outcome,
            if segment.conformant { "" } else { " (deviates)" },
            ended.provenance,
            ended
                .candidate
                .as_ref()
                .map(|candidate| format!("; {}", candidate_text(candidate)))
                .unwrap_or_default(),
            if segment.ended { "" } else { "; end not seen" }
        );
        (Style::Small, text)
    }));
    lines.extend(link_lines(trace, layout, columns));
    lines.extend(recording_lines(trace, columns));
    if !trace.interaction.notes.is_empty() {
        lines.extend(header("Notes".to_string(), columns));
        lines.extend(capped(&trace.interaction.notes, MAX_NOTE_LINES, columns, |_, note| {
            (Style::Small, note.clone())
        }));
    }
    let key = "Key: ● event, ● answered (green), ○ held (amber), ■ released (red); teal arrow: queued or \
               routed; purple dashed: hop between sites; bars beside a lane: recordings.";
    lines.extend(wrapped(Style::Small, key, columns, ENTRY_WRAP));
    if layout.pages > 1 {
        lines.extend(header(page_line(layout), columns));
    }
    lines
}

fn link_lines(trace: &TraceDocument, layout: &Layout, columns: i64) -> Vec<Line> {
    let interaction = &trace.interaction;
    if interaction.links.is_empty() {
        return Vec::new();
    }
    let position = |site: &str, key: &str| {
        interaction
            .segments
            .iter()
            .position(|segment| segment.site == site && names(segment, key))
            .map_or_else(|| "?".to_string(), |index| format!("#{}", index + 1))
    };
    let mut lines = header("Links between the calls".to_string(), columns);
    let sites = sites(layout);
    lines.extend(capped(&layout.hops, MAX_HOP_LINES, columns, |_, hop| {
        (Style::Small, crate::layout::hop_label(trace, &sites, hop))
    }));
    let within: Vec<_> = interaction.links.iter().filter(|link| link.from.site == link.to.site).collect();
    lines.extend(capped(&within, MAX_HOP_LINES, columns, |_, link| {
        let text = format!(
            "within {}: {} → {} ({}){}",
            link.from.site,
            position(&link.from.site, &link.from.key),
            position(&link.to.site, &link.to.key),
            link.evidence,
            if link.consistent { "" } else { " ⚠ inconsistent" }
        );
        (Style::Small, text)
    }));
    lines
}

fn recording_lines(trace: &TraceDocument, columns: i64) -> Vec<Line> {
    let Some(recording) = &trace.recording else { return Vec::new() };
    if recording.media_files.is_empty() && recording.findings.is_empty() {
        let text = format!("Recording {}: no media files", recording.recording_id);
        return wrapped(Style::Small, &text, columns, ENTRY_WRAP);
    }
    let findings = findings_by_file(trace);
    let mut lines = header(
        format!(
            "Recording {}: {} media files (bars: green agent side, blue customer side, grey call)",
            recording.recording_id,
            recording.media_files.len()
        ),
        columns,
    );
    lines.extend(capped(&recording.media_files, MAX_FILE_LINES, columns, |index, file| {
        let rules = findings.get(file.media_id.as_str()).cloned().unwrap_or_default();
        let style = if rules.is_empty() { Style::Small } else { Style::Warn };
        (style, media_text(index, file, &rules))
    }));
    for finding in recording.findings.iter().take(MAX_FINDING_LINES) {
        let text = format!("⚠ finding {}: {}", finding.rule, finding.message);
        lines.extend(wrapped(Style::Warn, &text, columns, FINDING_WRAP));
    }
    if recording.findings.len() > MAX_FINDING_LINES {
        let more = recording.findings.len() - MAX_FINDING_LINES;
        lines.push(Line {
            style: Style::Warn, text: format!("⚠ … and {more} more findings"), tooltip: None
        });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_shows_the_time_of_day_to_the_millisecond() {
        let time = Timestamp::parse_rfc3339("2012-10-29T14:41:00.540480Z").map(|time| time.0);
        assert_eq!(clock(time), "14:41:00.540");
        assert_eq!(clock(None), "--:--:--.---");
    }

    #[test]
    fn elapsed_time_reads_in_minutes_and_hours() {
        assert_eq!(elapsed(0), "+0:00.0");
        assert_eq!(elapsed(83_456_000), "+1:23.4");
        assert_eq!(elapsed(3_723_000_000), "+1:02:03");
    }
}
