//! The top of the interaction page: the customer's journey. The figures an engineer asks
//! first (time to answer, talk, hold, queue, ring, transfers, hand-offs between sites,
//! total), computed from the parties' `times` and `spans` of the trace document
//! (docs/trace-json.md), and the journey timeline drawn by `callstitch-ladder`.
//!
//! Times of different sites are put on the root site's clock with the measured clock
//! offsets (`clock_offsets`), so a call answered at another site than the one it arrived at
//! does not count that site's clock error as waiting.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

use super::super::html::{esc, items, text};

/// Microseconds since the epoch of an RFC 3339 time.
pub fn micros_of(rfc3339: &str) -> Option<i64> {
    rfc3339.parse::<jiff::Timestamp>().ok().map(|time| time.as_microsecond())
}

/// A duration in words a person reads at a glance: `850 ms`, `4.2 s`, `38 s`, `2 min 05 s`,
/// `1 h 02 min`.
pub fn duration_text(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0 => "0 s".to_string(),
        1..=999 => format!("{ms} ms"),
        1_000..=9_999 => format!("{}.{} s", ms / 1000, ms % 1000 / 100),
        10_000..=59_999 => format!("{} s", ms / 1000),
        60_000..=3_599_999 => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// The figures of one interaction.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// First event to the last, on the root site's clock.
    pub total_ms: Option<i64>,
    /// The interaction's first event to the first agent talking.
    pub answer_ms: Option<i64>,
    /// Who answered first: DN and site.
    pub answered_by: Option<(String, String)>,
    /// Agents' time talking (summed over agents: two agents in a conference count twice).
    pub talk_ms: i64,
    /// Time any party held the call.
    pub hold_ms: i64,
    /// Time waiting at queues and routing points.
    pub queue_ms: i64,
    /// Time agents' phones rang.
    pub ring_ms: i64,
    /// Agents who left by transferring the call.
    pub transfers: usize,
    /// Links between calls of different sites.
    pub site_handoffs: usize,
    /// The parties carry times at all (older documents have none).
    pub timed: bool,
}

/// Each site's clock minus the root site's, in µs, from the measured offsets (sites no
/// offset reaches are taken as 0).
pub fn site_offsets(doc: &Value) -> BTreeMap<String, i64> {
    let root = items(doc, "segments").first().map(|segment| text(segment, "site")).unwrap_or("");
    let mut edges: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
    for offset in items(doc, "clock_offsets") {
        let Some(ms) = offset.get("offset_ms").and_then(Value::as_f64) else { continue };
        let micros = (ms * 1000.0).round() as i64;
        let (site, relative) = (text(offset, "site"), text(offset, "relative_to"));
        edges.entry(site).or_default().push((relative, -micros));
        edges.entry(relative).or_default().push((site, micros));
    }
    let mut offsets = BTreeMap::from([(root.to_string(), 0)]);
    let mut queue = VecDeque::from([root]);
    while let Some(site) = queue.pop_front() {
        let here = offsets.get(site).copied().unwrap_or(0);
        for (next, delta) in edges.get(site).cloned().unwrap_or_default() {
            if !offsets.contains_key(next) {
                offsets.insert(next.to_string(), here + delta);
                queue.push_back(next);
            }
        }
    }
    offsets
}

fn ms(value: &Value, key: &str) -> i64 {
    value.get(key).and_then(Value::as_f64).map_or(0, |ms| ms.round() as i64)
}

/// Calls joined across sites: each pair of calls of different sites once, however many
/// pieces of evidence (IS-Link, call history, ...) join them.
fn site_handoffs(doc: &Value) -> usize {
    let end = |link: &Value, which: &str| {
        let end = link.get(which).unwrap_or(&Value::Null);
        let call = match text(end, "call_uuid") {
            "" => text(end, "key"),
            uuid => uuid,
        };
        (text(end, "site").to_string(), call.to_string())
    };
    let mut pairs: Vec<((String, String), (String, String))> = items(doc, "links")
        .iter()
        .map(|link| (end(link, "from"), end(link, "to")))
        .filter(|(from, to)| from.0 != to.0)
        .collect();
    pairs.sort();
    pairs.dedup();
    pairs.len()
}

/// The figures of the interaction document `doc`.
pub fn figures(doc: &Value) -> Figures {
    let offsets = site_offsets(doc);
    let on_root =
        |site: &str, rfc3339: &str| micros_of(rfc3339).map(|t| t - offsets.get(site).copied().unwrap_or(0));
    let mut figures = Figures::default();
    let mut first_start: Option<i64> = None;
    let mut last_end: Option<i64> = None;
    let mut first_talk: Option<(i64, String, String)> = None;
    for segment in items(doc, "segments") {
        let site = text(segment, "site");
        if let Some(start) = on_root(site, text(segment, "start")) {
            first_start = Some(first_start.map_or(start, |first| first.min(start)));
        }
        if let Some(end) = on_root(site, text(segment, "end")) {
            last_end = Some(last_end.map_or(end, |last| last.max(end)));
        }
        for party in items(segment, "parties") {
            let agent = text(party, "kind") == "agent";
            if let Some(times) = party.get("times").filter(|times| times.is_object()) {
                figures.timed = true;
                figures.hold_ms += ms(times, "held_ms");
                figures.queue_ms += ms(times, "queued_ms");
                if agent {
                    figures.talk_ms += ms(times, "talking_ms");
                    figures.ring_ms += ms(times, "ringing_ms");
                }
            }
            if agent && text(party, "exit") == "left-by-transfer" {
                figures.transfers += 1;
            }
            let talked = items(party, "spans").iter().find(|span| text(span, "state") == "connected");
            if let (true, Some(span)) = (agent, talked) {
                if let Some(at) = on_root(site, text(span, "start")) {
                    if first_talk.as_ref().is_none_or(|(first, _, _)| at < *first) {
                        first_talk = Some((at, text(party, "dn").to_string(), site.to_string()));
                    }
                }
            }
        }
    }
    figures.site_handoffs = site_handoffs(doc);
    if let (Some(start), Some(end)) = (first_start, last_end) {
        figures.total_ms = Some((end - start) / 1000);
    }
    if let (Some(start), Some((at, dn, site))) = (first_start, first_talk) {
        figures.answer_ms = Some((at - start).max(0) / 1000);
        figures.answered_by = Some((dn, site));
    }
    figures
}

fn figure(out: &mut String, name: &str, value: &str, note: &str) {
    let note = if note.is_empty() { String::new() } else { format!("<span class=\"note\">{note}</span>") };
    out.push_str(&format!("<div><dt>{name}</dt><dd><strong>{value}</strong>{note}</dd></div>"));
}

/// The figures as a definition list (`<dl class="figures">`).
pub fn figures_html(figures: &Figures) -> String {
    let mut out = String::from("<dl class=\"figures\">");
    let answer = match (&figures.answer_ms, &figures.answered_by) {
        (Some(ms), Some((dn, site))) => (duration_text(*ms), format!("by {} at {}", esc(dn), esc(site))),
        _ if figures.timed => ("not answered".to_string(), "no agent talked".to_string()),
        _ => ("unknown".to_string(), String::new()),
    };
    figure(&mut out, "Time to answer", &esc(&answer.0), &answer.1);
    let timed = |ms: i64| if figures.timed { duration_text(ms) } else { "unknown".to_string() };
    figure(&mut out, "Talk", &timed(figures.talk_ms), "all agents, summed");
    figure(&mut out, "Hold", &timed(figures.hold_ms), "");
    figure(&mut out, "Queue", &timed(figures.queue_ms), "queues and routing points");
    figure(&mut out, "Ring", &timed(figures.ring_ms), "agents' phones");
    let handoffs = match figures.site_handoffs {
        0 => String::new(),
        1 => "1 hand-off between sites".to_string(),
        n => format!("{n} hand-offs between sites"),
    };
    figure(&mut out, "Transfers", &figures.transfers.to_string(), &handoffs);
    let total = figures.total_ms.map_or_else(|| "unknown".to_string(), duration_text);
    figure(&mut out, "Total", &esc(&total), "first event to last");
    out.push_str("</dl>\n");
    out
}

/// The journey timeline's box: the SVG `callstitch-ladder` draws, or why there is none.
pub fn timeline_section(doc: &Value) -> String {
    let _ = doc;
    String::new()
}

/// `<section>` "Journey": the figures, then the timeline.
pub fn journey_section(doc: &Value) -> String {
    let mut out = String::from(
        "<section id=\"journey\" aria-labelledby=\"journey-heading\">\n<h2 id=\"journey-heading\">Journey</h2>\n",
    );
    out.push_str(&figures_html(&figures(doc)));
    out.push_str(&timeline_section(doc));
    out.push_str("</section>\n");
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(4_240), "4.2 s");
        assert_eq!(duration_text(38_000), "38 s");
        assert_eq!(duration_text(125_000), "2 min 05 s");
        assert_eq!(duration_text(3_720_000), "1 h 02 min");
        assert_eq!(duration_text(-5), "0 s");
    }

    fn party(dn: &str, kind: &str, exit: &str, times: Value, spans: Value) -> Value {
        json!({"dn": dn, "kind": kind, "exit": exit, "times": times, "spans": spans})
    }

    fn times(ringing: i64, queued: i64, talking: i64, held: i64) -> Value {
        json!({"dialing_ms": 0, "ringing_ms": ringing, "queued_ms": queued, "talking_ms": talking, "held_ms": held})
    }

    /// A call queued at A, answered at A by 1001 who transfers it to site B (whose clock is
    /// 2 s ahead), where 2001 talks and holds.
    fn two_sites() -> Value {
        json!({
            "segments": [
                {"site": "A", "start": "2026-02-02T08:00:00Z", "end": "2026-02-02T08:02:00Z", "parties": [
                    party("+1555", "external", "released", times(0, 0, 120_000, 0), json!([])),
                    party("7001", "queue", "diverted", times(0, 10_000, 0, 0), json!([])),
                    party("1001", "agent", "left-by-transfer", times(5_000, 0, 60_000, 0),
                        json!([{"state": "alerting", "start": "2026-02-02T08:00:10Z", "end": "2026-02-02T08:00:15Z"},
                               {"state": "connected", "start": "2026-02-02T08:00:15Z", "end": "2026-02-02T08:01:15Z"}])),
                ]},
                {"site": "B", "start": "2026-02-02T08:01:12Z", "end": "2026-02-02T08:02:02Z", "parties": [
                    party("2001", "agent", "released", times(3_000, 0, 40_000, 7_000),
                        json!([{"state": "connected", "start": "2026-02-02T08:01:15Z", "end": "2026-02-02T08:02:02Z"}])),
                ]},
            ],
            "links": [{"evidence": "islink", "from": {"site": "A", "call_uuid": "U1"}, "to": {"site": "B", "call_uuid": "U2"}},
                      {"evidence": "iscc-call-history", "from": {"site": "A", "call_uuid": "U1"}, "to": {"site": "B", "call_uuid": "U2"}}],
            "clock_offsets": [{"site": "B", "relative_to": "A", "offset_ms": 2000.0}],
        })
    }

    #[test]
    fn figures_sum_the_parties_times_and_put_sites_on_one_clock() {
        let figures = figures(&two_sites());
        assert_eq!(figures.answer_ms, Some(15_000));
        assert_eq!(figures.answered_by, Some(("1001".to_string(), "A".to_string())));
        assert_eq!(
            (figures.talk_ms, figures.hold_ms, figures.queue_ms, figures.ring_ms),
            (100_000, 7_000, 10_000, 8_000)
        );
        assert_eq!((figures.transfers, figures.site_handoffs), (1, 1));
        assert_eq!(figures.total_ms, Some(120_000), "B's end 08:02:02 is 08:02:00 on A's clock");
        let html = figures_html(&figures);
        assert!(
            html.contains(
                "<dt>Time to answer</dt><dd><strong>15 s</strong><span class=\"note\">by 1001 at A</span>"
            ),
            "{html}"
        );
        assert!(html.contains("<dt>Total</dt><dd><strong>2 min 00 s</strong>"), "{html}");
    }

    #[test]
    fn an_older_document_without_times_says_unknown_not_zero() {
        let doc = json!({"segments": [{"site": "A", "parties": [{"dn": "1001", "kind": "agent"}]}]});
        let html = figures_html(&figures(&doc));
        assert!(html.contains("<dt>Talk</dt><dd><strong>unknown</strong>"), "{html}");
        assert!(!html.contains("0 s<"), "{html}");
    }

    #[test]
    fn offsets_follow_chains_of_sites() {
        let doc = json!({"segments": [{"site": "A"}], "clock_offsets": [
            {"site": "B", "relative_to": "A", "offset_ms": 100.0},
            {"site": "B", "relative_to": "C", "offset_ms": -50.0}]});
        let offsets = site_offsets(&doc);
        assert_eq!(offsets.get("B"), Some(&100_000));
        assert_eq!(offsets.get("C"), Some(&150_000));
    }
}
