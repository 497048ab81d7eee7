//! Where everything goes: a band per site (in the interaction's segment order), a lane per
//! party under its band, one row per event, time downward. Each site's events keep the
//! order of its own clock; sites are interleaved by their clocks corrected with the offsets
//! the links revealed (trace JSON `clock_offsets`), so a hand-off reads left to right at
//! about the same height. Rows are cut into pages of `per_page`.

use std::collections::BTreeSet;

use callstitch_tlib::Event;

use crate::events::{segment_of, step, Shape, Step};
use crate::view::TraceView;

/// Geometry, in pixels.
pub const MARGIN: i64 = 16;
pub const GUTTER: i64 = 104;
pub const LANE_W: i64 = 150;
/// Room between bands for the link connectors and their labels (16 characters wide).
pub const BAND_GAP: i64 = 136;
pub const ROW_H: i64 = 24;
pub const BAND_TOP: i64 = 92;
pub const LANE_HEAD_TOP: i64 = BAND_TOP + 100;
pub const ROWS_TOP: i64 = LANE_HEAD_TOP + 44;
/// Width of one character of the monospace labels at 11px, rounded up.
pub const CHAR_W: i64 = 7;
/// Lanes drawn per band; further DNs share one "other DNs" lane.
pub const MAX_LANES_PER_BAND: usize = 12;
/// The narrowest band: room for its header.
pub const MIN_BAND_W: i64 = 280;

/// Which lane a party is drawn on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LaneKey {
    Dn(String),
    /// The call itself: events that name no DN.
    Call,
    /// DNs past [`MAX_LANES_PER_BAND`].
    Overflow,
}

#[derive(Debug, Clone)]
pub struct Lane {
    pub key: LaneKey,
    pub x: i64,
    /// DN (or "call", "other DNs").
    pub title: String,
    /// Kind and role: customer, agent, queue, route point, ...
    pub subtitle: String,
}

#[derive(Debug, Clone)]
pub struct Band {
    pub site: String,
    pub x: i64,
    pub width: i64,
    pub lanes: Vec<Lane>,
    /// The site's clock minus the reference site's, in microseconds, when known.
    pub offset_us: Option<i64>,
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

/// One event placed on the page.
#[derive(Debug, Clone)]
pub struct Row {
    pub step: Step,
    pub band: usize,
    pub y: i64,
}

/// One page of the picture.
#[derive(Debug, Clone)]
pub struct Layout {
    pub bands: Vec<Band>,
    pub rows: Vec<Row>,
    pub page: usize,
    pub pages: usize,
    pub total_rows: usize,
    /// Index (0-based, over all rows) of this page's first row.
    pub first_row: usize,
    /// Right edge of the last band.
    pub content_width: i64,
    pub rows_bottom: i64,
}

/// The steps of the interaction's events (sites are the bands' sites), each site's in the
/// order of its own clock (then its sequence numbers), then interleaved by the clocks
/// corrected by `offsets` (per band, microseconds), then by band.
pub fn ordered_steps(
    trace: &TraceView,
    events: &[Event],
    sites: &[String],
    offsets: &[Option<i64>],
) -> Vec<(usize, Step)> {
    let mut placed: Vec<(i64, usize, u64, usize, Step)> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let Some(band) = sites.iter().position(|site| site == event.site.as_str()) else { continue };
        let Some(segment) = segment_of(trace, event) else { continue };
        let Some(step) = step(trace, segment, event) else { continue };
        let offset = offsets.get(band).copied().flatten().unwrap_or(0);
        let corrected = step.time.map_or(i64::MIN, |time| time.saturating_sub(offset));
        placed.push((corrected, band, event.seq.unwrap_or(u64::MAX), index, step));
    }
    placed.sort_by_key(|a| (a.0, a.1, a.2, a.3));
    placed.into_iter().map(|(_, band, _, _, step)| (band, step)).collect()
}

/// The sites of the bands: each site once, in the order of the interaction's segments.
pub fn band_sites(trace: &TraceView) -> Vec<String> {
    let mut sites: Vec<String> = Vec::new();
    let named = trace.segments.iter().map(|segment| &segment.site).chain(trace.sites.iter());
    for site in named {
        if !sites.contains(site) {
            sites.push(site.clone());
        }
    }
    sites
}

/// Each site's clock minus the first band's, in microseconds, following the offsets the
/// links revealed from site to site; `None` where no chain of links reaches.
pub fn clock_offsets(trace: &TraceView, sites: &[String]) -> Vec<Option<i64>> {
    let mut known: Vec<Option<f64>> = vec![None; sites.len()];
    if let Some(first) = known.first_mut() {
        *first = Some(0.0);
    }
    let position = |site: &str| sites.iter().position(|name| name == site);
    for _ in 0..sites.len() {
        for offset in &trace.clock_offsets {
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

/// What a lane is called: the DN, and its kind and role from the trace's parties (the
/// interaction's ANI is the customer).
fn lane_names(trace: &TraceView, site: &str, key: &LaneKey) -> (String, String) {
    let dn = match key {
        LaneKey::Call => return ("call".to_string(), "events of the call".to_string()),
        LaneKey::Overflow => return ("other DNs".to_string(), "more parties".to_string()),
        LaneKey::Dn(dn) => dn,
    };
    let party = trace
        .segments
        .iter()
        .filter(|segment| segment.site == site)
        .flat_map(|segment| segment.parties.iter())
        .find(|party| &party.dn == dn);
    let is_customer = trace.ani.as_deref() == Some(dn.as_str());
    let kind = match party.map(|party| party.kind.as_str()) {
        _ if is_customer => "customer".to_string(),
        Some("routing-point") => "route point".to_string(),
        Some("") | None => "party".to_string(),
        Some(kind) => kind.to_string(),
    };
    let subtitle = match party.and_then(|party| party.role.as_deref()).filter(|role| !role.is_empty()) {
        Some(role) => format!("{kind} · {}", role.to_ascii_lowercase()),
        None => kind,
    };
    (dn.clone(), subtitle)
}

/// The lanes a band would have with every DN: the parties of its calls, then the DNs of its
/// events, then the DNs its recordings recorded; the call lane when an event names no DN.
/// The call lane comes first and the customer (the ANI) next.
fn all_lane_keys(trace: &TraceView, site: &str, steps: &[&Step]) -> Vec<LaneKey> {
    let mut keys: Vec<LaneKey> = Vec::new();
    let mut add = |key: LaneKey| {
        if !keys.contains(&key) {
            keys.push(key);
        }
    };
    for segment in trace.segments.iter().filter(|segment| segment.site == site) {
        for party in segment.parties.iter().filter(|party| !party.dn.is_empty()) {
            add(LaneKey::Dn(party.dn.clone()));
        }
    }
    for step in steps {
        match &step.shape {
            Shape::Arrow { from, to } => {
                add(LaneKey::Dn(from.clone()));
                add(LaneKey::Dn(to.clone()));
            }
            Shape::Mark { dn: Some(dn) } => add(LaneKey::Dn(dn.clone())),
            Shape::Mark { dn: None } => add(LaneKey::Call),
        }
    }
    let files = trace.recording.iter().flat_map(|recording| recording.media_files.iter());
    for file in files.filter(|file| file.site == site && !file.recorded_dn.is_empty()) {
        add(LaneKey::Dn(file.recorded_dn.clone()));
    }
    // The call's own lane first, then the customer, then everyone else as they came.
    let customer = trace.ani.as_deref();
    keys.sort_by_key(|key| match key {
        LaneKey::Call => 0,
        LaneKey::Dn(dn) if Some(dn.as_str()) == customer => 1,
        _ => 2,
    });
    keys
}

/// The band's lanes on this page: every lane on a single page; on a paginated picture only
/// those this page's events use. At most [`MAX_LANES_PER_BAND`], the rest on one lane.
fn page_lane_keys(all: Vec<LaneKey>, used: &BTreeSet<LaneKey>, paginated: bool) -> Vec<LaneKey> {
    let mut keys: Vec<LaneKey> = all.into_iter().filter(|key| !paginated || used.contains(key)).collect();
    if keys.is_empty() {
        keys.push(LaneKey::Call);
    }
    if keys.len() > MAX_LANES_PER_BAND {
        keys.truncate(MAX_LANES_PER_BAND - 1);
        keys.push(LaneKey::Overflow);
    }
    keys
}

fn used_keys(steps: &[&Step]) -> BTreeSet<LaneKey> {
    let mut used = BTreeSet::new();
    for step in steps {
        match &step.shape {
            Shape::Arrow { from, to } => {
                used.insert(LaneKey::Dn(from.clone()));
                used.insert(LaneKey::Dn(to.clone()));
            }
            Shape::Mark { dn } => {
                used.insert(dn.clone().map_or(LaneKey::Call, LaneKey::Dn));
            }
        }
    }
    used
}

/// Lays out page `page` (1-based) of `pages`, `per_page` rows each.
pub fn layout(trace: &TraceView, events: &[Event], page: usize, per_page: usize) -> Layout {
    let sites = band_sites(trace);
    let offsets = clock_offsets(trace, &sites);
    let all = ordered_steps(trace, events, &sites, &offsets);
    let pages = all.len().div_ceil(per_page).max(1);
    let first_row = (page.saturating_sub(1) * per_page).min(all.len());
    let on_page: Vec<(usize, Step)> = all.iter().skip(first_row).take(per_page).cloned().collect();
    let mut bands = Vec::with_capacity(sites.len());
    let mut x = MARGIN;
    for (index, site) in sites.iter().enumerate() {
        let site_steps: Vec<&Step> =
            all.iter().filter(|(band, _)| *band == index).map(|(_, step)| step).collect();
        let page_steps: Vec<&Step> =
            on_page.iter().filter(|(band, _)| *band == index).map(|(_, step)| step).collect();
        let keys =
            page_lane_keys(all_lane_keys(trace, site, &site_steps), &used_keys(&page_steps), pages > 1);
        let lanes: Vec<Lane> = keys
            .into_iter()
            .enumerate()
            .map(|(slot, key)| {
                let (title, subtitle) = lane_names(trace, site, &key);
                Lane { key, x: x + GUTTER + slot as i64 * LANE_W + 24, title, subtitle }
            })
            .collect();
        let width = (GUTTER + lanes.len() as i64 * LANE_W).max(MIN_BAND_W);
        bands.push(Band { site: site.clone(), x, width, lanes, offset_us: offsets[index] });
        x += width + BAND_GAP;
    }
    let rows: Vec<Row> = on_page
        .into_iter()
        .enumerate()
        .map(|(index, (band, step))| Row { step, band, y: ROWS_TOP + index as i64 * ROW_H + ROW_H / 2 })
        .collect();
    let rows_bottom = ROWS_TOP + (rows.len().max(1) as i64) * ROW_H;
    Layout {
        content_width: x - BAND_GAP,
        bands,
        rows,
        page,
        pages,
        total_rows: all.len(),
        first_row,
        rows_bottom,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_follow_the_links_from_site_to_site() {
        let trace: TraceView = serde_json::from_str(
            r#"{"clock_offsets":[{"site":"A","relative_to":"B","offset_ms":-267.088},
                                 {"site":"C","relative_to":"B","offset_ms":10}]}"#,
        )
        .unwrap_or_default();
        let sites = ["A".to_string(), "B".to_string(), "C".to_string(), "D".to_string()];
        assert_eq!(clock_offsets(&trace, &sites), [Some(0), Some(267_088), Some(277_088), None]);
    }

    #[test]
    fn lanes_past_the_cap_share_one_lane() {
        let all: Vec<LaneKey> = (0..20).map(|n| LaneKey::Dn(n.to_string())).collect();
        let keys = page_lane_keys(all, &BTreeSet::new(), false);
        assert_eq!(keys.len(), MAX_LANES_PER_BAND);
        assert_eq!(keys.last(), Some(&LaneKey::Overflow));
    }
}
