//! The customer's journey as one picture: every site of the interaction on ONE time axis
//! (each site's clock corrected by the offsets the links measured, trace JSON
//! `clock_offsets`), a band per site, a bar per state of each party (queued, routing,
//! ringing, dialing, talking, held, busy) from the trace's party `spans`, the hand-offs
//! between sites, the media files as bars, who released marked, and the durations written
//! out (total, time to answer, queued, ringing, talk, hold, hand-offs).
//!
//! A trace without `spans` (written before they existed) still draws: each call as a bar
//! from its start to its end. Pure and deterministic; every text from the input is
//! escaped; texts are placed where they fit (a bar too short for its words has them in its
//! tooltip only). Drawn `width` pixels wide (default [`DEFAULT_WIDTH`]) with a viewBox, so
//! that it scales.

use callstitch_engine::ReleasedBy;
use callstitch_link::{word, SegmentParty, SegmentReport};
use callstitch_pipeline::TraceDocument;
use callstitch_tlib::Timestamp;

use crate::layout::{band_sites, clock_offsets, hops, Hop};
use crate::svg::{Anchor, Style, Svg};
use crate::text;

/// The width drawn unless told otherwise: fits a 1400 px window.
pub const DEFAULT_WIDTH: u32 = 1360;
/// Narrowest and widest widths drawn; others are taken as the nearest.
pub const MIN_WIDTH: u32 = 640;
pub const MAX_WIDTH: u32 = 2400;

const MARGIN: i64 = 12;
const LABEL_W: i64 = 230;
const SITE_ROW_H: i64 = 30;
const BAR_H: i64 = 14;
const AXIS_H: i64 = 26;
/// At most this many parties and files per site get a row; the rest are counted.
const MAX_ROWS_PER_SITE: usize = 24;

const STYLE: &str = concat!(
    crate::svg::base_style!(),
    ".grid{stroke:#dde2e8;stroke-width:1}.axis{stroke:#8792a2;stroke-width:1}\
.call{fill:#8792a2}.st-queued{fill:#e0a030}.st-routing{fill:#b88be0}.st-ringing{fill:#7fb3e6}\
.st-dialing{fill:#a9c7e8}.st-talking{fill:#3f9a52}.st-held{fill:#e07b39}.st-busy{fill:#a0a0a0}\
.st-other{fill:#c3cad4}.rec-agent{fill:#2e7d32;fill-opacity:0.75}.rec-customer{fill:#1565c0;fill-opacity:0.75}\
.rec-call{fill:#6d6d6d;fill-opacity:0.75}.finding{fill:none;stroke:#c00000;stroke-width:2;stroke-dasharray:3 2}\
.release{fill:#9b1c1c}.link{stroke:#6a3d9a;stroke-width:2;stroke-dasharray:6 3;fill:none}.badge{fill:#6a3d9a}\
.bt{font-size:11px;fill:#ffffff}.btd{font-size:11px;fill:#1d2733}"
);

/// The journey of `trace`, [`DEFAULT_WIDTH`] pixels wide.
pub fn render(trace: &TraceDocument) -> String {
    render_at(trace, DEFAULT_WIDTH)
}

/// The journey of `trace`, `width` pixels wide (within [`MIN_WIDTH`]..=[`MAX_WIDTH`]).
pub fn render_at(trace: &TraceDocument, width: u32) -> String {
    let width = i64::from(width.clamp(MIN_WIDTH, MAX_WIDTH));
    let journey = Journey::read(trace);
    draw(trace, &journey, width)
}

/// What a party's state is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Queued,
    Routing,
    Ringing,
    Dialing,
    Talking,
    Held,
    Busy,
    Other,
}

impl Phase {
    /// The engine's PartyState names (kebab case) as phases.
    pub fn of(state: &str) -> Phase {
        match state {
            "queued" => Phase::Queued,
            "routing" => Phase::Routing,
            "alerting" | "ringing" => Phase::Ringing,
            "initiated" | "dialing" => Phase::Dialing,
            "connected" | "established" | "talking" => Phase::Talking,
            "held" | "held-dialing" => Phase::Held,
            "busy" => Phase::Busy,
            _ => Phase::Other,
        }
    }

    fn word(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Routing => "routing",
            Phase::Ringing => "ringing",
            Phase::Dialing => "dialing",
            Phase::Talking => "talk",
            Phase::Held => "held",
            Phase::Busy => "busy",
            Phase::Other => "other",
        }
    }

    fn class(self) -> &'static str {
        match self {
            Phase::Queued => "st-queued",
            Phase::Routing => "st-routing",
            Phase::Ringing => "st-ringing",
            Phase::Dialing => "st-dialing",
            Phase::Talking => "st-talking",
            Phase::Held => "st-held",
            Phase::Busy => "st-busy",
            Phase::Other => "st-other",
        }
    }

    /// Dark text reads better on the light bars.
    fn text_style(self) -> &'static str {
        match self {
            Phase::Talking | Phase::Held | Phase::Routing => "bt",
            _ => "btd",
        }
    }
}

/// One bar: a phase of a party, on the corrected axis (microseconds).
#[derive(Debug, Clone)]
pub struct Bar {
    pub phase: Phase,
    pub start: i64,
    pub end: i64,
    /// The span's state as the engine named it.
    pub state: String,
}

/// A party of a site, with its bars.
#[derive(Debug, Clone)]
pub struct PartyRow {
    pub dn: String,
    pub subtitle: String,
    pub bars: Vec<Bar>,
    /// It released its call (the engine's verdict, or the interaction's).
    pub released: bool,
}

/// A media file on the corrected axis.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub name: String,
    pub side: String,
    pub start: i64,
    pub end: Option<i64>,
    pub rules: Vec<String>,
    pub tooltip: String,
}

/// A site of the journey.
#[derive(Debug, Clone)]
pub struct SiteRow {
    pub site: String,
    pub offset_us: Option<i64>,
    /// Each call at the site: number, start, end (corrected).
    pub calls: Vec<(usize, Option<i64>, Option<i64>)>,
    pub parties: Vec<PartyRow>,
    pub files: Vec<FileRow>,
    /// Parties and files past the cap.
    pub more: usize,
}

/// The journey, read from the trace.
#[derive(Debug, Clone)]
pub struct Journey {
    pub sites: Vec<SiteRow>,
    pub hops: Vec<Hop>,
    /// First and last instant drawn (corrected).
    pub span: Option<(i64, i64)>,
    pub totals: Totals,
}

/// The durations written out, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub total: Option<i64>,
    pub to_answer: Option<i64>,
    pub queued: i64,
    pub ringing: i64,
    pub talk: i64,
    pub hold: i64,
    pub hand_offs: usize,
}

/// A media file's time, as its text says (RFC 3339, the site's own clock).
fn parse(time: Option<&str>) -> Option<i64> {
    time.and_then(Timestamp::parse_rfc3339).map(|time| time.0)
}

fn micros(time: Option<Timestamp>) -> Option<i64> {
    time.map(|time| time.0)
}

impl Journey {
    /// Reads the journey of a trace: its sites in the order of its calls.
    pub fn read(trace: &TraceDocument) -> Journey {
        let names = band_sites(trace);
        let offsets = clock_offsets(trace, &names);
        let mut sites: Vec<SiteRow> =
            names.iter().zip(&offsets).map(|(site, offset)| site_row(trace, site, *offset)).collect();
        mark_release(trace, &mut sites);
        let hops = hops(trace, &names);
        let mut instants: Vec<i64> = Vec::new();
        for site in &sites {
            for (_, start, end) in &site.calls {
                instants.extend(start.iter().chain(end.iter()));
            }
            for party in &site.parties {
                instants.extend(party.bars.iter().flat_map(|bar| [bar.start, bar.end]));
            }
            for file in &site.files {
                instants.extend(std::iter::once(file.start).chain(file.end));
            }
        }
        let span = instants.iter().min().zip(instants.iter().max()).map(|(a, b)| (*a, *b));
        let totals = totals(trace, &sites, span, hops.len());
        Journey { sites, hops, span, totals }
    }
}

fn corrected(time: Option<i64>, offset: Option<i64>) -> Option<i64> {
    time.map(|time| time.saturating_sub(offset.unwrap_or(0)))
}

fn site_row(trace: &TraceDocument, site: &str, offset: Option<i64>) -> SiteRow {
    let mut calls = Vec::new();
    let mut parties: Vec<PartyRow> = Vec::new();
    let segments = &trace.interaction.segments;
    let at_site = segments.iter().filter(|segment| segment.site == site).count();
    for (number, segment) in segments.iter().enumerate().filter(|(_, segment)| segment.site == site) {
        let (start, end) = (micros(segment.start), micros(segment.end));
        calls.push((number + 1, corrected(start, offset), corrected(end, offset)));
        // A row per party of each call: a DN in two calls of a site (a consultation) has
        // overlapping states.
        for party in segment.parties.iter().filter(|party| !party.dn.is_empty()) {
            let mut subtitle = crate::layout::party_subtitle(trace, site, &party.dn);
            if at_site > 1 {
                subtitle.push_str(&format!(", call #{}", number + 1));
            }
            parties.push(PartyRow {
                dn: party.dn.to_string(),
                subtitle,
                bars: bars(party, segment, offset),
                released: party.released_by == ReleasedBy::Itself,
            });
        }
    }
    for party in &mut parties {
        party.bars.sort_by_key(|bar| (bar.start, bar.end));
    }
    let files = file_rows(trace, site, offset);
    let total = parties.len() + files.len();
    let more = total.saturating_sub(MAX_ROWS_PER_SITE);
    parties.truncate(MAX_ROWS_PER_SITE);
    let files_kept = MAX_ROWS_PER_SITE.saturating_sub(parties.len());
    let files = files.into_iter().take(files_kept).collect();
    SiteRow { site: site.to_string(), offset_us: offset, calls, parties, files, more }
}

/// A party's bars from its spans; without spans, one bar for its call's life.
fn bars(party: &SegmentParty, segment: &SegmentReport, offset: Option<i64>) -> Vec<Bar> {
    let mut bars: Vec<Bar> = party
        .spans
        .iter()
        .filter_map(|span| {
            let start = corrected(Some(span.start.0), offset)?;
            let end = corrected(Some(span.end.0), offset).unwrap_or(start).max(start);
            let state = if span.open {
                format!("{} (still so when the call's events ended)", span.state)
            } else {
                span.state.label().to_string()
            };
            Some(Bar { phase: Phase::of(span.state.label()), start, end, state })
        })
        .collect();
    if party.spans.is_empty() {
        let start = corrected(micros(segment.start), offset);
        let end = corrected(micros(segment.end), offset);
        if let (Some(start), Some(end)) = (start, end) {
            let state = "in the call (this trace has no state spans)".to_string();
            bars.push(Bar { phase: Phase::Other, start, end: end.max(start), state });
        }
    }
    bars
}

fn file_rows(trace: &TraceDocument, site: &str, offset: Option<i64>) -> Vec<FileRow> {
    let Some(recording) = &trace.recording else { return Vec::new() };
    recording
        .media_files
        .iter()
        .enumerate()
        .filter(|(_, file)| file.site == site)
        .filter_map(|(number, file)| {
            let start = corrected(parse(Some(&file.start)), offset)?;
            let end = corrected(parse(file.stop.as_deref()), offset);
            let rules: Vec<String> = recording
                .findings
                .iter()
                .filter(|finding| finding.files.contains(&file.media_id))
                .map(|finding| finding.rule.label().to_string())
                .collect();
            let name = if rules.is_empty() {
                format!("REC {}", number + 1)
            } else {
                format!("⚠ REC {} {}", number + 1, rules.join(","))
            };
            let tooltip = format!(
                "{name}: {} {} ({} side), {} to {}, {}",
                file.site,
                file.recorded_dn,
                file.side,
                file.start,
                file.stop.as_deref().unwrap_or("(no stop)"),
                file.media_id
            );
            Some(FileRow {
                name: format!("{name} {}", file.recorded_dn),
                side: file.side.label().to_string(),
                start,
                end,
                rules,
                tooltip,
            })
        })
        .collect()
}

/// Marks the party that released the interaction (the trace's verdict) as released too.
fn mark_release(trace: &TraceDocument, sites: &mut [SiteRow]) {
    let released = &trace.interaction.released_by;
    let Some(dn) = &released.dn else { return };
    for site in sites.iter_mut().filter(|site| released.site.as_ref().is_none_or(|name| *name == site.site)) {
        for party in site.parties.iter_mut().filter(|party| party.dn == dn.as_str()) {
            party.released = true;
        }
    }
}

/// The total length of the union of intervals.
fn union_length(mut intervals: Vec<(i64, i64)>) -> i64 {
    intervals.sort_unstable();
    let mut total = 0;
    let mut current: Option<(i64, i64)> = None;
    for (start, end) in intervals {
        current = match current {
            Some((a, b)) if start <= b => Some((a, b.max(end))),
            Some((a, b)) => {
                total += b - a;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(0, |(a, b)| b - a)
}

fn totals(trace: &TraceDocument, sites: &[SiteRow], span: Option<(i64, i64)>, hand_offs: usize) -> Totals {
    let bars = || {
        sites.iter().flat_map(|site| {
            site.parties.iter().flat_map(|party| party.bars.iter().map(move |bar| (party, bar)))
        })
    };
    let of = |phases: &[Phase]| {
        union_length(
            bars()
                .filter(|(_, bar)| phases.contains(&bar.phase))
                .map(|(_, bar)| (bar.start, bar.end))
                .collect(),
        )
    };
    let customer = trace.interaction.ani.as_deref();
    let answered = bars()
        .filter(|(party, bar)| bar.phase == Phase::Talking && Some(party.dn.as_str()) != customer)
        .map(|(_, bar)| bar.start)
        .min();
    Totals {
        total: span.map(|(start, end)| end - start),
        to_answer: answered.zip(span).map(|(answer, (start, _))| answer - start),
        queued: of(&[Phase::Queued, Phase::Routing]),
        ringing: of(&[Phase::Ringing]),
        talk: of(&[Phase::Talking]),
        hold: of(&[Phase::Held]),
        hand_offs,
    }
}

/// `42.0 s`, `3:55.5`, `1:02:03`.
pub fn duration(micros: i64) -> String {
    let tenths = micros.max(0) / 100_000;
    let seconds = tenths / 10;
    if seconds < 60 {
        format!("{seconds}.{} s", tenths % 10)
    } else if seconds < 3600 {
        format!("{}:{:02}.{}", seconds / 60, seconds % 60, tenths % 10)
    } else {
        format!("{}:{:02}:{:02}", seconds / 3600, (seconds / 60) % 60, seconds % 60)
    }
}

/// The durations in words.
pub fn summary(trace: &TraceDocument, totals: &Totals) -> String {
    let mut parts = Vec::new();
    if let Some(total) = totals.total {
        parts.push(format!("total {}", duration(total)));
    }
    let spans = trace
        .interaction
        .segments
        .iter()
        .flat_map(|segment| segment.parties.iter())
        .any(|party| !party.spans.is_empty());
    if !spans {
        parts.push(
            "queue, ring, talk and hold times unknown (no party state spans in this trace)".to_string(),
        );
    }
    let answer = match totals.to_answer {
        Some(answer) => format!("time to answer {}", duration(answer)),
        None => "not answered".to_string(),
    };
    if spans {
        parts.push(answer);
        parts.push(format!("queued {}", duration(totals.queued)));
        parts.push(format!("ringing {}", duration(totals.ringing)));
        parts.push(format!("talk {}", duration(totals.talk)));
        parts.push(format!("hold {}", duration(totals.hold)));
    }
    parts.push(format!(
        "{} hand-off{} between sites",
        totals.hand_offs,
        if totals.hand_offs == 1 { "" } else { "s" }
    ));
    let released = &trace.interaction.released_by;
    let who = word(&released.who);
    parts.push(match (&released.dn, &released.site) {
        (Some(dn), Some(site)) => format!("released by {dn} ({who}) at {site}"),
        (Some(dn), None) => format!("released by {dn} ({who})"),
        _ => format!("released by {who}"),
    });
    parts.join(" · ")
}

/// Maps corrected time to x.
struct Axis {
    start: i64,
    length: i64,
    left: i64,
    width: i64,
}

impl Axis {
    fn x(&self, time: i64) -> i64 {
        let share = (time - self.start) as f64 / self.length.max(1) as f64;
        self.left + (share.clamp(0.0, 1.0) * self.width as f64).round() as i64
    }
}

/// A tick step (microseconds) that leaves at least `min_px` between ticks.
fn tick_step(length: i64, width: i64, min_px: i64) -> i64 {
    const STEPS_S: [i64; 16] =
        [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200];
    let ticks = (width / min_px).max(1);
    STEPS_S
        .iter()
        .map(|seconds| seconds * 1_000_000)
        .find(|step| length / step <= ticks)
        .unwrap_or(86_400_000_000)
}

fn tick_label(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    if seconds >= 3600 {
        format!("+{}:{:02}:{:02}", seconds / 3600, (seconds / 60) % 60, seconds % 60)
    } else {
        format!("+{}:{:02}", seconds / 60, seconds % 60)
    }
}

fn draw(trace: &TraceDocument, journey: &Journey, width: i64) -> String {
    let inner = width - 2 * MARGIN;
    let title = format!("Customer journey of interaction {}", trace.interaction.interaction_id);
    let (titles, _) = text::wrap(&title, text::chars_in(inner, 16.0), 2);
    let words = summary(trace, &journey.totals);
    let (summary_lines, _) = text::wrap(&words, text::chars_in(inner, 12.0), 4);
    let axis_top = 26 + titles.len() as i64 * 20 + summary_lines.len() as i64 * 16;
    let plot_left = MARGIN + LABEL_W;
    let plot_right = width - MARGIN - 24;
    let (start, end) = journey.span.unwrap_or((0, 0));
    let axis =
        Axis { start, length: (end - start).max(1_000_000), left: plot_left, width: plot_right - plot_left };
    let rows = site_heights(journey);
    let body_top = axis_top + AXIS_H;
    let body_height: i64 = rows.iter().map(|(height, _)| height + 8).sum();
    let legend_top = body_top + body_height + 10;
    let hop_lines: Vec<String> = journey.hops.iter().map(|hop| hop_line(trace, journey, hop)).collect();
    let hop_wrapped: Vec<Vec<String>> =
        hop_lines.iter().map(|line| text::wrap(line, text::chars_in(inner, 11.0), 2).0).collect();
    let legend_h = legend_height(width);
    let height = legend_top
        + legend_h
        + 6
        + hop_wrapped.iter().map(|lines| lines.len() as i64 * 15).sum::<i64>()
        + MARGIN;
    let description = format!("Timeline of interaction {}: {}.", trace.interaction.interaction_id, words);
    let mut svg = Svg::open_with(width, height, "timeline", &title, &description, STYLE);
    let mut y = 26;
    for line in &titles {
        svg.text(MARGIN, y, Style::Title, Anchor::Start, line);
        y += 20;
    }
    y -= 2;
    for line in &summary_lines {
        svg.text(MARGIN, y, Style::Label, Anchor::Start, line);
        y += 16;
    }
    let mut top = body_top;
    for (site_height, colour) in &rows {
        svg.rect(MARGIN, top, width - 2 * MARGIN, *site_height, &format!("band b{}", colour % 6));
        top += site_height + 8;
    }
    draw_axis(&mut svg, &axis, axis_top, legend_top - 6, journey.span.is_some());
    let mut top = body_top;
    let mut band_tops = Vec::new();
    for (site, (site_height, _)) in journey.sites.iter().zip(&rows) {
        band_tops.push((top, top + site_height));
        draw_site(&mut svg, &axis, site, top);
        top += site_height + 8;
    }
    for hop in &journey.hops {
        draw_hand_off(&mut svg, trace, journey, &axis, hop, &band_tops);
    }
    draw_legend(&mut svg, legend_top, width);
    let mut y = legend_top + legend_h + 6 + 11;
    for lines in &hop_wrapped {
        for line in lines {
            svg.text(MARGIN, y, Style::Small, Anchor::Start, line);
            y += 15;
        }
    }
    svg.finish()
}

/// Height of each site's band and its colour slot.
fn site_heights(journey: &Journey) -> Vec<(i64, usize)> {
    journey
        .sites
        .iter()
        .enumerate()
        .map(|(index, site)| {
            let parties: i64 = site.parties.iter().map(party_height).sum();
            let rows = parties + site.files.len() as i64 * 22;
            let more = if site.more > 0 { 18 } else { 0 };
            (head_height(site) + rows + more + 4, index)
        })
        .collect()
}

/// A party's row: its DN and up to two lines of what it is.
fn party_height(party: &PartyRow) -> i64 {
    13 + party_subtitle_lines(party).len() as i64 * 13 + 8
}

fn party_subtitle_lines(party: &PartyRow) -> Vec<String> {
    text::wrap(&party.subtitle, text::chars_in(LABEL_W - 16, 11.0), 2).0
}

fn draw_axis(svg: &mut Svg, axis: &Axis, top: i64, bottom: i64, known: bool) {
    if !known {
        svg.text(
            axis.left,
            top + 14,
            Style::Small,
            Anchor::Start,
            "No times in this trace: nothing to place.",
        );
        return;
    }
    let label_w = text::width("+00:00:00", 11.0) + 16;
    let step = tick_step(axis.length, axis.width, label_w);
    let mut tick = 0;
    while tick <= axis.length {
        let x = axis.x(axis.start + tick);
        svg.line((x, top + 16), (x, bottom), "grid", &[], None);
        svg.text(x, top + 12, Style::Time, Anchor::Middle, &tick_label(tick));
        tick += step;
    }
    svg.line((axis.left, top + 18), (axis.left + axis.width, top + 18), "axis", &[], None);
}

/// A site's header lines: its name (up to two lines) and its clock and calls.
fn site_head(site: &SiteRow) -> (Vec<String>, Vec<String>) {
    let clock = clock_words(site.offset_us);
    let calls: Vec<String> = site.calls.iter().map(|(number, ..)| format!("#{number}")).collect();
    let (name, _) = text::wrap(&format!("site {}", site.site), text::chars_in(LABEL_W - 10, 13.0), 2);
    let (small, _) =
        text::wrap(&format!("{clock}, calls {}", calls.join(" ")), text::chars_in(LABEL_W - 10, 11.0), 2);
    (name, small)
}

fn clock_words(offset: Option<i64>) -> String {
    match offset {
        Some(0) => "reference clock".to_string(),
        Some(offset) => format!("clock {:+.1} ms", offset as f64 / 1000.0),
        None => "clock offset unknown".to_string(),
    }
}

/// The height of a site's header.
fn head_height(site: &SiteRow) -> i64 {
    let (name, small) = site_head(site);
    (name.len() as i64 * 15 + small.len() as i64 * 13 + 6).max(SITE_ROW_H)
}

fn draw_site(svg: &mut Svg, axis: &Axis, site: &SiteRow, top: i64) {
    let clock = clock_words(site.offset_us);
    let calls: Vec<String> = site.calls.iter().map(|(number, ..)| format!("#{number}")).collect();
    let tooltip = format!("site {} ({clock}); calls {}", site.site, calls.join(", "));
    svg.group("site", &[("site", &site.site)], &tooltip);
    let (name, small) = site_head(site);
    let mut y = top + 14;
    for line in &name {
        svg.text(MARGIN + 6, y, Style::Header, Anchor::Start, line);
        y += 15;
    }
    for line in &small {
        svg.text(MARGIN + 6, y - 3, Style::Small, Anchor::Start, line);
        y += 13;
    }
    for (_, start, end) in &site.calls {
        if let (Some(start), Some(end)) = (start, end) {
            let (x1, x2) = (axis.x(*start), axis.x(*end));
            svg.rect(x1, top + 12, (x2 - x1).max(2), 4, "call");
        }
    }
    svg.end_group();
    let mut y = top + head_height(site);
    for party in &site.parties {
        draw_party(svg, axis, site, party, y);
        y += party_height(party);
    }
    for file in &site.files {
        draw_file(svg, axis, file, y);
        y += 22;
    }
    if site.more > 0 {
        let text = format!("… and {} more parties or files (see the ladder)", site.more);
        svg.text(MARGIN + 6, y + 12, Style::Small, Anchor::Start, &text);
    }
}

fn draw_party(svg: &mut Svg, axis: &Axis, site: &SiteRow, party: &PartyRow, top: i64) {
    let columns = text::chars_in(LABEL_W - 16, 12.0);
    let (title, _) = text::wrap(&party.dn, columns, 1);
    let tooltip = format!("{} at {}: {}", party.dn, site.site, party.subtitle);
    svg.group("party", &[("site", &site.site), ("dn", &party.dn)], &tooltip);
    svg.text(MARGIN + 14, top + 13, Style::LaneTitle, Anchor::Start, &title.join(""));
    for (index, line) in party_subtitle_lines(party).iter().enumerate() {
        svg.text(MARGIN + 14, top + 26 + index as i64 * 13, Style::Small, Anchor::Start, line);
    }
    svg.end_group();
    let bar_top = top + 8;
    for bar in &party.bars {
        let (x1, x2) = (axis.x(bar.start), axis.x(bar.end));
        let width = (x2 - x1).max(2);
        let words = format!("{} {}", bar.phase.word(), duration(bar.end - bar.start));
        let tooltip =
            format!("{} {}: {} ({})", party.dn, bar.state, duration(bar.end - bar.start), bar.phase.word());
        let state = bar.state.split(' ').next().unwrap_or_default();
        svg.group("state", &[("state", state)], &tooltip);
        svg.rect(x1, bar_top, width, BAR_H, bar.phase.class());
        if text::width(&words, 11.0) + 8 <= width {
            svg.text_class(x1 + 4, bar_top + 11, bar.phase.text_style(), &words);
        }
        svg.end_group();
    }
    let last = party.bars.iter().map(|bar| bar.end).max();
    if let (true, Some(last)) = (party.released, last) {
        let x = axis.x(last);
        svg.group("released", &[("dn", &party.dn)], &format!("{} released the call", party.dn));
        svg.rect(x + 2, bar_top + 2, 10, 10, "release");
        let words = "released";
        if x + 16 + text::width(words, 12.0) <= axis.left + axis.width + 12 {
            svg.text(x + 16, bar_top + 11, Style::Release, Anchor::Start, words);
        }
        svg.end_group();
    }
}

fn draw_file(svg: &mut Svg, axis: &Axis, file: &FileRow, top: i64) {
    let style = if file.rules.is_empty() { Style::Small } else { Style::Warn };
    svg.group("media", &[], &file.tooltip);
    let (name, _) = text::wrap(&file.name, text::chars_in(LABEL_W - 16, style.px()), 1);
    svg.text(MARGIN + 14, top + 14, style, Anchor::Start, &name.join(""));
    let x1 = axis.x(file.start);
    let x2 = file.end.map_or(axis.left + axis.width, |end| axis.x(end));
    let class = match file.side.as_str() {
        "agent" => "rec-agent",
        "customer" => "rec-customer",
        _ => "rec-call",
    };
    svg.rect(x1, top + 5, (x2 - x1).max(2), 10, class);
    if !file.rules.is_empty() {
        svg.rect(x1 - 2, top + 3, (x2 - x1).max(2) + 4, 14, "finding");
    }
    svg.end_group();
}

/// The words of a hand-off: when, from which call to which, on what evidence.
fn hop_line(trace: &TraceDocument, journey: &Journey, hop: &Hop) -> String {
    let site = |band: usize| journey.sites.get(band).map_or("?", |site| site.site.as_str());
    let when = hand_off_time(trace, journey, hop)
        .zip(journey.span)
        .map(|(time, (start, _))| format!(" at {}", crate::draw::elapsed(time - start)))
        .unwrap_or_default();
    format!(
        "hand-off {}{when}: #{} {} → #{} {} ({}){}",
        hop.number,
        hop.from_segment + 1,
        site(hop.from_band),
        hop.to_segment + 1,
        site(hop.to_band),
        hop.evidence.join(", "),
        if hop.consistent { "" } else { " ⚠ inconsistent" }
    )
}

/// When a hand-off happened: its receiving call's start (corrected).
fn hand_off_time(trace: &TraceDocument, journey: &Journey, hop: &Hop) -> Option<i64> {
    let segment = trace.interaction.segments.get(hop.to_segment)?;
    let offset = journey.sites.get(hop.to_band)?.offset_us;
    corrected(micros(segment.start), offset)
}

fn draw_hand_off(
    svg: &mut Svg,
    trace: &TraceDocument,
    journey: &Journey,
    axis: &Axis,
    hop: &Hop,
    bands: &[(i64, i64)],
) {
    let Some(time) = hand_off_time(trace, journey, hop) else { return };
    let (Some(from), Some(to)) = (bands.get(hop.from_band), bands.get(hop.to_band)) else { return };
    let x = axis.x(time);
    let (y1, y2) = if hop.to_band > hop.from_band { (from.0 + 8, to.0 + 8) } else { (from.1 - 8, to.1 - 8) };
    svg.group("hand-off", &[("hop", &hop.number.to_string())], &hop_line(trace, journey, hop));
    let sites = journey.sites.get(hop.from_band).zip(journey.sites.get(hop.to_band));
    let sites = sites.map(|(from, to)| format!("{} {}", from.site, to.site)).unwrap_or_default();
    svg.line((x, y1), (x, y2), "link", &[("sites", &sites)], Some("timeline-linkhead"));
    svg.circle(x, y1, 8, "badge");
    svg.text(x, y1 + 4, Style::Badge, Anchor::Middle, &hop.number.to_string());
    svg.end_group();
}

/// The legend's entries (swatch class, swatch width, words) placed in lines within `width`:
/// (x, line) of each.
fn legend(width: i64) -> Vec<(i64, i64, &'static str, i64, &'static str)> {
    let mut entries: Vec<(&'static str, i64, &'static str)> = [
        Phase::Queued,
        Phase::Routing,
        Phase::Ringing,
        Phase::Dialing,
        Phase::Talking,
        Phase::Held,
        Phase::Busy,
    ]
    .into_iter()
    .map(|phase| (phase.class(), 14, phase.word()))
    .collect();
    entries.push(("release", 10, "released"));
    entries.push(("rec-agent", 14, "recording"));
    let mut placed = Vec::new();
    let (mut x, mut line) = (MARGIN, 0);
    for (class, swatch, words) in entries {
        let entry = swatch + 4 + text::width(words, 11.0);
        if x > MARGIN && x + entry > width - MARGIN {
            line += 1;
            x = MARGIN;
        }
        placed.push((x, line, class, swatch, words));
        x += entry + 16;
    }
    placed
}

fn legend_height(width: i64) -> i64 {
    legend(width).iter().map(|(_, line, ..)| line + 1).max().unwrap_or(1) * 18
}

fn draw_legend(svg: &mut Svg, top: i64, width: i64) {
    for (x, line, class, swatch, words) in legend(width) {
        let y = top + line * 18;
        svg.rect(x, y + 4, swatch, 10, class);
        svg.text(x + swatch + 4, y + 13, Style::Small, Anchor::Start, words);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_seconds_minutes_and_hours() {
        assert_eq!(duration(42_049_000), "42.0 s");
        assert_eq!(duration(235_500_000), "3:55.5");
        assert_eq!(duration(3_723_000_000), "1:02:03");
    }

    #[test]
    fn overlapping_intervals_count_once() {
        assert_eq!(union_length(vec![(0, 10), (5, 15), (20, 30)]), 25);
        assert_eq!(union_length(Vec::new()), 0);
    }

    #[test]
    fn ticks_leave_room_for_their_labels() {
        assert_eq!(tick_step(300_000_000, 1000, 100), 30_000_000);
        assert_eq!(tick_step(5_000_000, 1000, 100), 1_000_000);
    }
}
