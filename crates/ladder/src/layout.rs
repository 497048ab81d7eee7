//! Where everything goes. From left to right: the elapsed time (on one axis, corrected by
//! the clock offsets the links revealed), each event's call and time on its site's own
//! clock, the words of the event (a label column: text never stands in the lanes), then a
//! band per site with a lane per party. One row per event, time downward, rows of all sites
//! interleaved on the corrected axis.
//!
//! The bands are ordered so that the calls handed from site to site sit side by side; each
//! hop between sites is one row of its own with one connector, drawn across the gutter
//! between the two bands only (a hop between bands that cannot be neighbours leaves its
//! band and enters the other one through numbered stubs, never across a third site). Lane
//! widths are computed from the width available ([`MAX_WIDTH`]), and lane headers that do
//! not fit their lane are set on further tiers instead of being cut. Rows are cut into
//! pages of `per_page` events.

use std::collections::BTreeSet;

use callstitch_tlib::Event;

use crate::events::{segment_of, step, Shape, Step};
use crate::text;
use callstitch_link::LinkReport;
use callstitch_pipeline::TraceDocument;

use crate::view::names;

/// The widest picture, in pixels: it fits a 1400 px window.
pub const MAX_WIDTH: i64 = 1360;
pub const MARGIN: i64 = 12;
/// Font sizes (px) of the stylesheet's classes.
pub const TITLE_PX: f64 = 16.0;
pub const HEAD_PX: f64 = 13.0;
pub const LABEL_PX: f64 = 12.0;
pub const SMALL_PX: f64 = 11.0;
/// Line height of the label column and of headers.
pub const LINE_H: i64 = 15;
pub const SMALL_LINE_H: i64 = 14;
/// The elapsed-time column ("+12:05.3") and the call-and-clock column ("#12 14:41:00.495").
pub const ELAPSED_W: i64 = 62;
pub const CLOCK_W: i64 = 114;
/// Room between bands (and before the first, after the last) for hop connectors.
pub const GUTTER: i64 = 30;
pub const LANE_MIN: i64 = 46;
pub const LANE_MAX: i64 = 140;
pub const LABEL_MIN: i64 = 220;
/// The label column does not grow past this: longer labels wrap.
pub const LABEL_MAX: i64 = 460;
/// Labels wrap to at most this many lines (then `…`, the full text in the tooltip).
pub const LABEL_LINES: usize = 3;
/// Hop labels (with their link ids) wrap to at most this many lines.
pub const HOP_LINES: usize = 5;
/// Lanes drawn per band; further DNs share one "other DNs" lane.
pub const MAX_LANES_PER_BAND: usize = 12;
/// The narrowest band, and the widest a band is made for its header alone.
pub const BAND_MIN: i64 = 110;
pub const BAND_HEAD_MAX: i64 = 240;
/// At most this many sites are ordered by trying every order.
const ORDER_SEARCH_MAX: usize = 7;

/// Which lane a party is drawn on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LaneKey {
    Dn(String),
    /// The call itself: events that name no DN.
    Call,
    /// DNs past the cap of lanes per band.
    Overflow,
}

/// Lines of a header and the box they take.
#[derive(Debug, Clone, Default)]
pub struct HeadBox {
    /// (text, is the title) in order.
    pub lines: Vec<(String, bool)>,
    /// Left edge of the text (anchored at its start).
    pub left: i64,
    pub width: i64,
    /// Tier (0 = highest) and the top of its lines.
    pub tier: usize,
    pub top: i64,
}

#[derive(Debug, Clone)]
pub struct Lane {
    pub key: LaneKey,
    pub x: i64,
    /// DN (or "call", "other DNs").
    pub title: String,
    /// Kind, agent and queue: customer, agent A1, queue, route point, ...
    pub subtitle: String,
    /// The subtitle with the DN role, for the tooltip.
    pub detail: String,
    pub head: HeadBox,
}

#[derive(Debug, Clone)]
pub struct Band {
    pub site: String,
    pub x: i64,
    pub width: i64,
    pub lanes: Vec<Lane>,
    /// Parties of the site's calls with no event on this page: named in the header only.
    pub quiet: Vec<(String, String)>,
    /// The site's clock minus the reference site's, in microseconds, when known.
    pub offset_us: Option<i64>,
    /// Colour slot, from the site's place among the interaction's sites.
    pub colour: usize,
}

impl Band {
    /// The lane of a DN on this band (the overflow lane for DNs without their own).
    pub fn lane(&self, dn: Option<&str>) -> Option<&Lane> {
        let key = dn.map_or(LaneKey::Call, |dn| LaneKey::Dn(dn.to_string()));
        self.lanes
            .iter()
            .find(|lane| lane.key == key)
            .or_else(|| self.lanes.iter().find(|lane| lane.key == LaneKey::Overflow && dn.is_some()))
    }
}

/// A hop: the calls of two sites joined by links (every link between the same two calls is
/// one hop, its evidence listed).
#[derive(Debug, Clone)]
pub struct Hop {
    pub number: usize,
    pub from_segment: usize,
    pub to_segment: usize,
    pub from_band: usize,
    pub to_band: usize,
    /// Inter-Site Link ids, in the order of the links.
    pub islinks: Vec<String>,
    /// Evidence kinds, each once.
    pub evidence: Vec<String>,
    pub consistent: bool,
    pub notes: Vec<String>,
}

/// What a row shows.
#[derive(Debug, Clone)]
pub enum RowKind {
    Event { band: usize, step: Step },
    Hop { hop: usize, from_x: Option<i64>, to_x: Option<i64> },
}

/// One row on the page.
#[derive(Debug, Clone)]
pub struct Row {
    pub kind: RowKind,
    /// Corrected time (reference clock), microseconds.
    pub corrected: Option<i64>,
    pub top: i64,
    pub height: i64,
    /// Where its arrow or mark is drawn: the middle of its first text line.
    pub y: i64,
    pub lines: Vec<String>,
    /// The label did not fit its lines: the tooltip has it all.
    pub cut: bool,
}

/// One page of the picture.
#[derive(Debug, Clone)]
pub struct Layout {
    pub width: i64,
    pub bands: Vec<Band>,
    pub hops: Vec<Hop>,
    pub rows: Vec<Row>,
    pub page: usize,
    pub pages: usize,
    pub total_rows: usize,
    /// Index (0-based, over all event rows) of this page's first event row.
    pub first_row: usize,
    /// Corrected time of the interaction's first event: elapsed times count from it.
    pub origin: Option<i64>,
    pub label_x: i64,
    pub label_w: i64,
    pub lane_w: i64,
    pub band_top: i64,
    /// Where the lane headers begin, and the rows.
    pub heads_top: i64,
    pub rows_top: i64,
    pub rows_bottom: i64,
}

impl Layout {
    /// Left and right edges of the band area (gutters included).
    pub fn band_area(&self) -> (i64, i64) {
        (self.label_x + self.label_w, self.width - MARGIN)
    }
}

/// The steps of the interaction's events (sites are the bands' sites), each site's in the
/// order of its own clock (then its sequence numbers), then interleaved by the clocks
/// corrected by `offsets` (per band, microseconds), then by band. Each with its corrected
/// time.
pub fn ordered_steps(
    trace: &TraceDocument,
    events: &[Event],
    sites: &[String],
    offsets: &[Option<i64>],
) -> Vec<(usize, Option<i64>, Step)> {
    let mut placed: Vec<(i64, usize, u64, usize, Step)> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let Some(band) = sites.iter().position(|site| site == event.site.as_str()) else { continue };
        let Some(segment) = segment_of(trace, event) else { continue };
        let Some(step) = step(trace, segment, index, event) else { continue };
        let offset = offsets.get(band).copied().flatten().unwrap_or(0);
        let corrected = step.time.map_or(i64::MIN, |time| time.saturating_sub(offset));
        placed.push((corrected, band, event.seq.unwrap_or(u64::MAX), index, step));
    }
    placed.sort_by(|a, b| (a.0, a.1, a.2, &a.4.detail, a.3).cmp(&(b.0, b.1, b.2, &b.4.detail, b.3)));
    placed
        .into_iter()
        .map(|(corrected, band, _, _, step)| (band, (corrected != i64::MIN).then_some(corrected), step))
        .collect()
}

/// The sites: each once, in the order of the interaction's segments.
pub fn band_sites(trace: &TraceDocument) -> Vec<String> {
    let mut sites: Vec<String> = Vec::new();
    let interaction = &trace.interaction;
    let named = interaction.segments.iter().map(|segment| &segment.site).chain(interaction.sites.iter());
    for site in named {
        if !sites.iter().any(|known| known == site.as_str()) {
            sites.push(site.to_string());
        }
    }
    sites
}

/// Each site's clock minus the first site's, in microseconds, following the offsets the
/// links revealed from site to site; `None` where no chain of links reaches.
pub fn clock_offsets(trace: &TraceDocument, sites: &[String]) -> Vec<Option<i64>> {
    let mut known: Vec<Option<f64>> = vec![None; sites.len()];
    if let Some(first) = known.first_mut() {
        *first = Some(0.0);
    }
    let position = |site: &str| sites.iter().position(|name| name == site);
    for _ in 0..sites.len() {
        for offset in &trace.interaction.clock_offsets {
            let (Some(site), Some(base)) = (position(&offset.site), position(&offset.relative_to)) else {
                continue;
            };
            if !offset.offset_ms.is_finite() {
                continue;
            }
            match (known[site], known[base]) {
                (None, Some(base_ms)) => known[site] = Some(base_ms + offset.offset_ms),
                (Some(site_ms), None) => known[base] = Some(site_ms - offset.offset_ms),
                _ => {}
            }
        }
    }
    known.into_iter().map(|ms| ms.map(|ms| (ms * 1000.0).round() as i64)).collect()
}

/// The segment index of one end of a link.
fn segment_index(trace: &TraceDocument, site: &str, key: &str) -> Option<usize> {
    trace.interaction.segments.iter().position(|segment| segment.site == site && names(segment, key))
}

/// The hops between sites (links within one site are not hops), each pair of calls once,
/// in the order of their first link.
pub fn hops(trace: &TraceDocument, sites: &[String]) -> Vec<Hop> {
    let mut hops: Vec<Hop> = Vec::new();
    for link in &trace.interaction.links {
        let (Some(from), Some(to)) = (
            segment_index(trace, &link.from.site, &link.from.key),
            segment_index(trace, &link.to.site, &link.to.key),
        ) else {
            continue;
        };
        let (Some(from_band), Some(to_band)) = (
            sites.iter().position(|site| *site == link.from.site),
            sites.iter().position(|site| *site == link.to.site),
        ) else {
            continue;
        };
        if from_band == to_band {
            continue;
        }
        let same = |hop: &&mut Hop| {
            (hop.from_segment, hop.to_segment) == (from, to)
                || (hop.from_segment, hop.to_segment) == (to, from)
        };
        let hop = match hops.iter_mut().find(same) {
            Some(hop) => hop,
            None => {
                hops.push(Hop {
                    number: hops.len() + 1,
                    from_segment: from,
                    to_segment: to,
                    from_band,
                    to_band,
                    islinks: Vec::new(),
                    evidence: Vec::new(),
                    consistent: true,
                    notes: Vec::new(),
                });
                let last = hops.len() - 1;
                &mut hops[last]
            }
        };
        add_evidence(hop, link);
    }
    hops
}

fn add_evidence(hop: &mut Hop, link: &LinkReport) {
    let evidence = link.evidence.label().to_string();
    if !hop.evidence.contains(&evidence) {
        hop.evidence.push(evidence);
    }
    if let Some(id) = &link.islink {
        if !hop.islinks.iter().any(|known| known == id.as_str()) {
            hop.islinks.push(id.to_string());
        }
    }
    hop.consistent &= link.consistent;
    if let Some(note) = &link.note {
        hop.notes.push(note.clone());
    }
}

/// The order of the bands: the one that puts the most hops between neighbours; among
/// those, the closest to the order of the calls. `order[k]` is the site index of the k-th band.
pub fn band_order(sites: usize, hops: &[Hop]) -> Vec<usize> {
    let identity: Vec<usize> = (0..sites).collect();
    if sites <= 2 || sites > ORDER_SEARCH_MAX {
        return identity;
    }
    let apart = |order: &[usize]| {
        hops.iter()
            .filter(|hop| {
                let position = |site: usize| order.iter().position(|&s| s == site).unwrap_or(0);
                position(hop.from_band).abs_diff(position(hop.to_band)) > 1
            })
            .count()
    };
    let mut best = identity.clone();
    let mut best_apart = apart(&identity);
    let mut order = identity;
    while next_permutation(&mut order) {
        let count = apart(&order);
        if count < best_apart {
            best_apart = count;
            best.clone_from(&order);
        }
    }
    best
}

/// The next permutation in lexicographic order; false after the last.
fn next_permutation(order: &mut [usize]) -> bool {
    let Some(pivot) = (1..order.len()).rev().find(|&i| order[i - 1] < order[i]) else { return false };
    let swap = (pivot..order.len()).rev().find(|&j| order[j] > order[pivot - 1]).unwrap_or(pivot);
    order.swap(pivot - 1, swap);
    order[pivot..].reverse();
    true
}

/// What a lane is called: the DN, and its kind, role, agent and queue from the trace's
/// parties (the interaction's ANI is the customer).
fn lane_names(trace: &TraceDocument, site: &str, key: &LaneKey) -> (String, String, String) {
    let dn = match key {
        LaneKey::Call => return ("call".into(), "call events".into(), "events that name no DN".into()),
        LaneKey::Overflow => return ("other DNs".into(), "more parties".into(), "more parties".into()),
        LaneKey::Dn(dn) => dn,
    };
    (dn.clone(), party_brief(trace, site, dn), party_subtitle(trace, site, dn))
}

/// `agent, destination, agent A1, via 7001`.
pub fn party_subtitle(trace: &TraceDocument, site: &str, dn: &str) -> String {
    party_words(trace, site, dn, true)
}

/// `agent A1, via 7001`: what a header has room for (the role goes in its tooltip).
pub fn party_brief(trace: &TraceDocument, site: &str, dn: &str) -> String {
    party_words(trace, site, dn, false)
}

fn party_words(trace: &TraceDocument, site: &str, dn: &str, with_role: bool) -> String {
    let party = trace
        .interaction
        .segments
        .iter()
        .filter(|segment| segment.site == site)
        .flat_map(|segment| segment.parties.iter())
        .find(|party| party.dn == dn);
    let is_customer = trace.interaction.ani.as_deref() == Some(dn);
    let kind = match party.map(|party| party.kind.label()) {
        _ if is_customer => "customer".to_string(),
        Some("routing-point") => "route point".to_string(),
        None => "party".to_string(),
        Some(kind) => kind.to_string(),
    };
    let agent = party.and_then(|party| party.agent_id.as_deref()).filter(|id| !id.is_empty());
    let mut parts = match agent {
        Some(agent) if kind == "agent" => vec![format!("agent {agent}")],
        Some(agent) => vec![kind, format!("agent {agent}")],
        None => vec![kind],
    };
    if let Some(role) =
        party.and_then(|party| party.role.as_deref()).filter(|role| with_role && !role.is_empty())
    {
        parts.push(role.to_ascii_lowercase());
    }
    if let Some(queue) = party.and_then(|party| party.queue.as_deref()).filter(|queue| *queue != dn) {
        parts.push(format!("via {queue}"));
    }
    parts.join(", ")
}

fn add_key(keys: &mut Vec<LaneKey>, key: LaneKey) {
    if !keys.contains(&key) {
        keys.push(key);
    }
}

/// The lanes of a band: the DNs its events on this page use (in the order the parties
/// joined, then as the events name them), and the DNs its recordings recorded; the call
/// lane first (when an event names no DN) and the customer next. At most `cap`, the rest
/// on one lane.
fn lane_keys(trace: &TraceDocument, site: &str, steps: &[&Step], cap: usize) -> Vec<LaneKey> {
    let mut used: Vec<LaneKey> = Vec::new();
    for step in steps {
        match &step.shape {
            Shape::Arrow { from, to } => {
                add_key(&mut used, LaneKey::Dn(from.clone()));
                add_key(&mut used, LaneKey::Dn(to.clone()));
            }
            Shape::Mark { dn: Some(dn) } => add_key(&mut used, LaneKey::Dn(dn.clone())),
            Shape::Mark { dn: None } => add_key(&mut used, LaneKey::Call),
        }
    }
    let files = trace.recording.iter().flat_map(|recording| recording.media_files.iter());
    for file in files.filter(|file| file.site == site && !file.recorded_dn.is_empty()) {
        if !steps.is_empty() {
            add_key(&mut used, LaneKey::Dn(file.recorded_dn.clone()));
        }
    }
    let mut keys: Vec<LaneKey> = Vec::new();
    for segment in trace.interaction.segments.iter().filter(|segment| segment.site == site) {
        for party in &segment.parties {
            let key = LaneKey::Dn(party.dn.to_string());
            if used.contains(&key) {
                add_key(&mut keys, key);
            }
        }
    }
    for key in used {
        add_key(&mut keys, key);
    }
    let customer = trace.interaction.ani.as_deref();
    keys.sort_by_key(|key| match key {
        LaneKey::Call => 0,
        LaneKey::Dn(dn) if Some(dn.as_str()) == customer => 1,
        _ => 2,
    });
    if keys.is_empty() {
        keys.push(LaneKey::Call);
    }
    if keys.len() > cap {
        keys.truncate(cap.saturating_sub(1).max(1));
        keys.push(LaneKey::Overflow);
    }
    keys
}

/// Parties of the site's calls that have no lane on this page.
fn quiet_parties(trace: &TraceDocument, site: &str, keys: &[LaneKey]) -> Vec<(String, String)> {
    let mut quiet: Vec<(String, String)> = Vec::new();
    for segment in trace.interaction.segments.iter().filter(|segment| segment.site == site) {
        for party in segment.parties.iter().filter(|party| !party.dn.is_empty()) {
            let has_lane = keys.contains(&LaneKey::Dn(party.dn.to_string()));
            if !has_lane && !quiet.iter().any(|(dn, _)| dn.as_str() == party.dn.as_str()) {
                quiet.push((party.dn.to_string(), party_subtitle(trace, site, &party.dn)));
            }
        }
    }
    quiet
}

/// The narrowest a band may be for its header (`site NAME`), within limits.
fn band_head_width(site: &str) -> i64 {
    (text::width(&format!("site {site}"), HEAD_PX) + 16).clamp(BAND_MIN, BAND_HEAD_MAX)
}

/// The width a band's header takes on one line each (`calls ...`, `clock ...`), within
/// limits: a band is made this wide when there is room.
fn band_head_roomy(trace: &TraceDocument, site: &str, offset: Option<i64>) -> i64 {
    let calls = trace.interaction.segments.iter().filter(|segment| segment.site == site).count();
    let calls = text::width(&"#1 root, ".repeat(calls), SMALL_PX) + text::width("calls ", SMALL_PX);
    let other = trace
        .interaction
        .clock_offsets
        .iter()
        .find_map(|offset| {
            (offset.site == site)
                .then_some(&offset.relative_to)
                .or((offset.relative_to == site).then_some(&offset.site))
        })
        .map_or(0, |other| text::width(&format!("clock -0000.0 ms vs {other}"), SMALL_PX));
    let clock = if offset.is_some() { other } else { text::width("clock: offset unknown", SMALL_PX) };
    (calls.max(clock) + 16).clamp(BAND_MIN, BAND_HEAD_MAX)
}

/// Lane width and label column width for bands of `lanes` lanes (and header widths
/// `heads`) and labels that want `label_need` px; `None` when the lanes do not fit even at
/// their narrowest.
fn fit_columns(lanes: &[usize], heads: &[i64], label_need: i64) -> Option<(i64, i64)> {
    let fixed = 2 * MARGIN + ELAPSED_W + CLOCK_W + (lanes.len() as i64 + 1) * GUTTER;
    let available = MAX_WIDTH - fixed;
    let bands = |lane_w: i64| -> i64 {
        lanes.iter().zip(heads).map(|(count, head)| (*count as i64 * lane_w).max(*head)).sum()
    };
    let comfortable = label_need.min(320);
    let mut lane_w = LANE_MAX;
    while lane_w >= LANE_MIN {
        let room = available - bands(lane_w);
        if room >= comfortable {
            return Some((lane_w, room.min(label_need)));
        }
        lane_w -= 2;
    }
    let room = available - bands(LANE_MIN);
    (room >= LABEL_MIN).then_some((LANE_MIN, room))
}

/// Lays out page `page` (1-based) of `pages`, `per_page` event rows each.
pub fn layout(trace: &TraceDocument, events: &[Event], page: usize, per_page: usize) -> Layout {
    let first_sites = band_sites(trace);
    let first_hops = hops(trace, &first_sites);
    let order = band_order(first_sites.len(), &first_hops);
    let sites: Vec<String> = order.iter().map(|&index| first_sites[index].clone()).collect();
    let offsets = clock_offsets(trace, &first_sites);
    let offsets: Vec<Option<i64>> = order.iter().map(|&index| offsets[index]).collect();
    let hops = hops(trace, &sites);
    let all = ordered_steps(trace, events, &sites, &offsets);
    let origin = all.iter().find_map(|(_, corrected, _)| *corrected);
    let pages = all.len().div_ceil(per_page).max(1);
    let first_row = (page.saturating_sub(1) * per_page).min(all.len());
    let on_page: Vec<(usize, Option<i64>, Step)> =
        all.iter().skip(first_row).take(per_page).cloned().collect();
    let label_need = on_page
        .iter()
        .map(|(_, _, step)| text::width(&step.label, LABEL_PX))
        .chain(hops.iter().map(|hop| text::width(&hop_label(trace, &sites, hop), LABEL_PX) / 3 + 30))
        .max()
        .unwrap_or(0)
        + 16;
    let label_need = label_need.clamp(LABEL_MIN, LABEL_MAX);
    let least: Vec<i64> = sites.iter().map(|site| band_head_width(site)).collect();
    let roomy: Vec<i64> = sites
        .iter()
        .enumerate()
        .map(|(index, site)| band_head_roomy(trace, site, offsets[index]).max(least[index]))
        .collect();
    let mut cap = MAX_LANES_PER_BAND;
    let mut heads = least.clone();
    let (keys, (lane_w, label_w)) = loop {
        let keys: Vec<Vec<LaneKey>> = sites
            .iter()
            .enumerate()
            .map(|(index, site)| {
                let steps: Vec<&Step> =
                    on_page.iter().filter(|(band, _, _)| *band == index).map(|(_, _, step)| step).collect();
                lane_keys(trace, site, &steps, cap)
            })
            .collect();
        let counts: Vec<usize> = keys.iter().map(Vec::len).collect();
        if let Some(fit) = fit_columns(&counts, &roomy, label_need).filter(|(lane_w, _)| *lane_w >= 96) {
            heads.clone_from(&roomy);
            break (keys, fit);
        }
        match fit_columns(&counts, &least, label_need) {
            Some(fit) => break (keys, fit),
            None if cap > 2 => cap -= 1,
            None => break (keys, (LANE_MIN, LABEL_MIN)),
        }
    };
    let label_x = MARGIN + ELAPSED_W + CLOCK_W;
    let mut x = label_x + label_w + GUTTER;
    let mut bands = Vec::with_capacity(sites.len());
    for (index, (site, keys)) in sites.iter().zip(keys).enumerate() {
        let width = (keys.len() as i64 * lane_w).max(heads[index]);
        let first_lane = x + (width - keys.len() as i64 * lane_w) / 2 + lane_w / 2;
        let quiet = quiet_parties(trace, site, &keys);
        let lanes = keys
            .into_iter()
            .enumerate()
            .map(|(slot, key)| {
                let (title, subtitle, detail) = lane_names(trace, site, &key);
                Lane {
                    key,
                    x: first_lane + slot as i64 * lane_w,
                    title,
                    subtitle,
                    detail,
                    head: HeadBox::default(),
                }
            })
            .collect();
        let colour = first_sites.iter().position(|name| name == site).unwrap_or(index);
        bands.push(Band { site: site.clone(), x, width, lanes, quiet, offset_us: offsets[index], colour });
        x += width + GUTTER;
    }
    let width = x + MARGIN;
    let mut layout = Layout {
        width,
        bands,
        hops,
        rows: Vec::new(),
        page,
        pages,
        total_rows: all.len(),
        first_row,
        origin,
        label_x,
        label_w,
        lane_w,
        band_top: 0,
        heads_top: 0,
        rows_top: 0,
        rows_bottom: 0,
    };
    layout.rows = rows(trace, &layout, &all, first_row, &on_page);
    layout
}

/// The label of a hop row.
pub fn hop_label(trace: &TraceDocument, sites: &[String], hop: &Hop) -> String {
    let end = |segment: usize, band: usize| {
        format!("#{} {}", segment + 1, sites.get(band).map_or("?", String::as_str))
    };
    let _ = trace;
    let mut text = format!(
        "hop {}: {} → {}",
        hop.number,
        end(hop.from_segment, hop.from_band),
        end(hop.to_segment, hop.to_band)
    );
    for id in &hop.islinks {
        text.push_str(&format!(", IS-Link {id}"));
    }
    text.push_str(&format!(" ({})", hop.evidence.join(", ")));
    if !hop.consistent {
        text.push_str(" ⚠ inconsistent");
    }
    text
}

/// Where a hop's row goes: before the event of its receiving call that carries one of its
/// link ids (else that call's first event), or after its sending call's carrying (else
/// last) event; as an index into all rows, and whether it goes before that row.
fn hop_anchor(all: &[(usize, Option<i64>, Step)], hop: &Hop) -> Option<(usize, bool)> {
    let carries = |step: &Step| step.islinks.iter().any(|id| hop.islinks.contains(id));
    let of = |segment: usize| all.iter().enumerate().filter(move |(_, (_, _, step))| step.segment == segment);
    let to = of(hop.to_segment).find(|(_, (_, _, step))| carries(step)).or_else(|| of(hop.to_segment).next());
    if let Some((index, _)) = to {
        return Some((index, true));
    }
    let from = of(hop.from_segment).rfind(|(_, (_, _, step))| carries(step));
    from.or_else(|| of(hop.from_segment).next_back()).map(|(index, _)| (index, false))
}

/// The x of the lane an end of a hop touches: the lane of its call's event that carries
/// the link id (else its first or last event on the page with a lane).
fn hop_end_x(
    band: &Band,
    rows: &[(usize, Option<i64>, Step)],
    segment: usize,
    hop: &Hop,
    last: bool,
) -> Option<i64> {
    let lane_of = |step: &Step| -> Option<i64> {
        let dn = match &step.shape {
            Shape::Arrow { to, .. } => Some(to.as_str()),
            Shape::Mark { dn } => dn.as_deref(),
        };
        band.lane(dn).map(|lane| lane.x)
    };
    let of: Vec<&Step> =
        rows.iter().filter(|(_, _, step)| step.segment == segment).map(|(_, _, s)| s).collect();
    let carrying = of.iter().find(|step| step.islinks.iter().any(|id| hop.islinks.contains(id)));
    let fallback = if last { of.last() } else { of.first() };
    carrying.or(fallback).and_then(|step| lane_of(step))
}

/// The rows of the page, positioned from y = 0 (the drawing moves them under the headers).
fn rows(
    trace: &TraceDocument,
    layout: &Layout,
    all: &[(usize, Option<i64>, Step)],
    first_row: usize,
    on_page: &[(usize, Option<i64>, Step)],
) -> Vec<Row> {
    let sites: Vec<String> = layout.bands.iter().map(|band| band.site.clone()).collect();
    let mut before: Vec<Vec<usize>> = vec![Vec::new(); on_page.len()];
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); on_page.len()];
    for (number, hop) in layout.hops.iter().enumerate() {
        let Some((index, is_before)) = hop_anchor(all, hop) else { continue };
        let Some(local) = index.checked_sub(first_row).filter(|local| *local < on_page.len()) else {
            continue;
        };
        if is_before {
            before[local].push(number);
        } else {
            after[local].push(number);
        }
    }
    let columns = text::chars_in(layout.label_w - 14, LABEL_PX);
    let mut out = Vec::new();
    let hop_row = |number: usize, corrected: Option<i64>| {
        let hop = &layout.hops[number];
        let from_x = hop_end_x(&layout.bands[hop.from_band], on_page, hop.from_segment, hop, true);
        let to_x = hop_end_x(&layout.bands[hop.to_band], on_page, hop.to_segment, hop, false);
        let (lines, cut) = text::wrap(&hop_label(trace, &sites, hop), columns, HOP_LINES);
        Row {
            kind: RowKind::Hop { hop: number, from_x, to_x },
            corrected,
            top: 0,
            height: 0,
            y: 0,
            lines,
            cut,
        }
    };
    for (local, (band, corrected, step)) in on_page.iter().enumerate() {
        for number in &before[local] {
            out.push(hop_row(*number, *corrected));
        }
        let (lines, cut) = text::wrap(&step.label, columns, LABEL_LINES);
        out.push(Row {
            kind: RowKind::Event { band: *band, step: step.clone() },
            corrected: *corrected,
            top: 0,
            height: 0,
            y: 0,
            lines,
            cut,
        });
        for number in &after[local] {
            out.push(hop_row(*number, *corrected));
        }
    }
    let mut top = 0;
    for row in &mut out {
        row.top = top;
        row.height = row.lines.len() as i64 * LINE_H + 8;
        row.y = top + 4 + LINE_H / 2 + 1;
        top += row.height;
    }
    out
}

/// Sets the lane headers of every band in tiers so that no two overlap and no header
/// covers the line that leads another lane's header down to its lane; returns the height
/// of the tiers. The boxes' tops are relative to `top`.
pub fn place_heads(layout: &mut Layout, top: i64) -> i64 {
    let (area_left, area_right) = layout.band_area();
    let lane_w = layout.lane_w;
    let mut placed: Vec<(usize, i64, i64, i64)> = Vec::new(); // (tier, left, right, lane x)
    for band in &mut layout.bands {
        for lane in &mut band.lanes {
            lane.head = head_box(lane, lane_w, area_left, area_right, &placed);
            placed.push((lane.head.tier, lane.head.left, lane.head.left + lane.head.width, lane.x));
        }
    }
    let tiers = placed.iter().map(|(tier, ..)| tier + 1).max().unwrap_or(0);
    let mut heights = vec![0i64; tiers];
    for band in &layout.bands {
        for lane in &band.lanes {
            let height = lane.head.lines.len() as i64 * SMALL_LINE_H;
            heights[lane.head.tier] = heights[lane.head.tier].max(height);
        }
    }
    let mut tops = Vec::with_capacity(tiers);
    let mut y = top;
    for height in &heights {
        tops.push(y);
        y += height + 6;
    }
    for band in &mut layout.bands {
        for lane in &mut band.lanes {
            lane.head.top = tops[lane.head.tier];
        }
    }
    y - top
}

/// The header of one lane: on the first tier where it covers nothing, within its lane
/// when its words fit there, else up to two lanes wide.
fn head_box(
    lane: &Lane,
    lane_w: i64,
    area_left: i64,
    area_right: i64,
    placed: &[(usize, i64, i64, i64)],
) -> HeadBox {
    let wide = (2 * lane_w - 8).min(area_right - area_left);
    let narrow = lane_w - 6;
    let fits = |tier: usize, left: i64, right: i64, x: i64| {
        placed.iter().all(|&(other_tier, other_left, other_right, other_x)| {
            let apart = right + 6 <= other_left || other_right + 6 <= left;
            let same_tier_ok = other_tier != tier || apart;
            // A lane's leader runs from its header down through the tiers below it.
            let my_leader_clear = other_tier <= tier || !(other_left - 2..other_right + 2).contains(&x);
            let their_leader_clear = other_tier >= tier || !(left - 2..right + 2).contains(&other_x);
            same_tier_ok && my_leader_clear && their_leader_clear
        })
    };
    // Widths at which the DN stays on one line and no word of the subtitle is broken or cut.
    let whole = |px: i64| {
        let title = text::width(&lane.title, LABEL_PX) <= px;
        let words = lane.subtitle.split_whitespace().all(|word| text::width(word, SMALL_PX) <= px);
        let lines = text::wrap(&lane.subtitle, text::chars_in(px, SMALL_PX), 3);
        title && words && !lines.1
    };
    let widths: Vec<i64> = [narrow, wide, 3 * lane_w - 8, 4 * lane_w - 8]
        .into_iter()
        .map(|px| px.min(area_right - area_left))
        .collect();
    let mut candidates: Vec<i64> = widths.iter().copied().filter(|px| whole(*px)).collect();
    if candidates.is_empty() {
        candidates.push(widths[widths.len() - 1]);
    }
    for tier in 0..6 {
        for px in &candidates {
            let lines = head_lines(lane, *px);
            let width = lines.iter().map(|(line, title)| line_width(line, *title)).max().unwrap_or(0);
            // Centred on the lane, else reaching right from it, else reaching left.
            for left in [lane.x - width / 2, lane.x - 4, lane.x + 4 - width] {
                let left = left.clamp(area_left + 2, (area_right - 2 - width).max(area_left + 2));
                if fits(tier, left, left + width, lane.x) {
                    return HeadBox { lines, left, width, tier, top: 0 };
                }
            }
        }
    }
    let tiers = placed.iter().map(|(tier, ..)| tier + 1).max().unwrap_or(0);
    let lines = head_lines(lane, narrow);
    let width = lines.iter().map(|(line, title)| line_width(line, *title)).max().unwrap_or(0);
    HeadBox { lines, left: lane.x - width / 2, width, tier: tiers.max(6), top: 0 }
}

fn line_width(line: &str, title: bool) -> i64 {
    text::width(line, if title { LABEL_PX } else { SMALL_PX })
}

/// The title (DN, broken inside if it must) and subtitle (at most two lines) of a lane
/// header within `px`.
fn head_lines(lane: &Lane, px: i64) -> Vec<(String, bool)> {
    let (titles, _) = text::wrap(&lane.title, text::chars_in(px, LABEL_PX), 3);
    let (subtitles, _) = text::wrap(&lane.subtitle, text::chars_in(px, SMALL_PX), 3);
    titles
        .into_iter()
        .map(|line| (line, true))
        .chain(subtitles.into_iter().map(|line| (line, false)))
        .collect()
}

/// The site indices used by the page's event rows.
pub fn used_bands(layout: &Layout) -> BTreeSet<usize> {
    layout
        .rows
        .iter()
        .filter_map(|row| match row.kind {
            RowKind::Event { band, .. } => Some(band),
            RowKind::Hop { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_the_links_from_site_to_site() {
        let trace = crate::minimal::document(serde_json::json!(
            {"clock_offsets":[{"site":"A","relative_to":"B","offset_ms":-267.088},
                              {"site":"C","relative_to":"B","offset_ms":10}]}
        ));
        let sites = ["A".to_string(), "B".to_string(), "C".to_string(), "D".to_string()];
        assert_eq!(clock_offsets(&trace, &sites), [Some(0), Some(267_088), Some(277_088), None]);
    }

    fn hop(from_band: usize, to_band: usize) -> Hop {
        Hop {
            number: 1,
            from_segment: from_band,
            to_segment: to_band,
            from_band,
            to_band,
            islinks: Vec::new(),
            evidence: Vec::new(),
            consistent: true,
            notes: Vec::new(),
        }
    }

    /// Issue 16 point 3: a hop from the first to the third site ran through the middle
    /// site's lanes. A hub site (calls to two others) goes in the middle.
    #[test]
    fn bands_are_ordered_so_that_hops_join_neighbours() {
        assert_eq!(band_order(3, &[hop(0, 1), hop(0, 2)]), [1, 0, 2]);
        assert_eq!(band_order(3, &[hop(0, 1), hop(1, 2)]), [0, 1, 2], "a chain keeps the order of the calls");
        assert_eq!(band_order(4, &[hop(0, 2), hop(2, 1), hop(1, 3)]), [0, 2, 1, 3]);
    }

    #[test]
    fn permutations_are_all_visited_in_order() {
        let mut order = vec![0, 1, 2];
        let mut seen = vec![order.clone()];
        while next_permutation(&mut order) {
            seen.push(order.clone());
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(seen[1], [0, 2, 1]);
    }

    #[test]
    fn lanes_past_the_cap_share_one_lane() {
        let steps: Vec<Step> = (0..20)
            .map(|n| Step {
                segment: 0,
                index: n,
                source: None,
                site: "S".into(),
                time: None,
                shape: Shape::Mark { dn: Some(n.to_string()) },
                label: String::new(),
                release: false,
                tone: "mark",
                islinks: Vec::new(),
                detail: String::new(),
            })
            .collect();
        let refs: Vec<&Step> = steps.iter().collect();
        let keys =
            lane_keys(&crate::minimal::document(serde_json::json!({})), "S", &refs, MAX_LANES_PER_BAND);
        assert_eq!(keys.len(), MAX_LANES_PER_BAND);
        assert_eq!(keys.last(), Some(&LaneKey::Overflow));
    }
}
