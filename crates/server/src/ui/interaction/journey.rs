//! The top of the interaction page: the customer's journey. The figures an engineer asks
//! first (time to answer and who answered, talk, hold, queue, ring, transfers, hand-offs
//! between sites, total) written out, then the journey timeline `callstitch-ladder` draws:
//! every site on one time axis corrected by the measured clock offsets, a bar per state of
//! each party from the parties' `spans` (docs/trace-json.md), the hand-offs, the media
//! files, who released.
//!
//! The durations are the timeline's own ([`callstitch_ladder::timeline::Totals`]: each the
//! time during which any party was in that state, on the corrected axis), so the figures
//! and the picture never disagree; who answered and the transfers are read here.

use callstitch_engine::Exit;
use callstitch_ladder::timeline::{Journey, Phase};
use callstitch_link::{Interaction, PartyKind};
use callstitch_store::TraceDocument;

use super::super::html::esc;

/// Microseconds since the epoch of an RFC 3339 time.
pub fn micros_of(rfc3339: &str) -> Option<i64> {
    rfc3339.parse::<jiff::Timestamp>().ok().map(|time| time.as_microsecond())
}

/// A duration in words a person reads at a glance: `850 ms`, `4.2 s`, `38.0 s`, `2 min 05 s`,
/// `1 h 02 min` (tenths cut, not rounded, as the timeline writes them).
pub fn duration_text(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0 => "0 s".to_string(),
        1..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{}.{} s", ms / 1000, ms % 1000 / 100),
        60_000..=3_599_999 => format!("{} min {:02} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {:02} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// The figures of one interaction, in milliseconds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// The journey's first instant to its last.
    pub total_ms: Option<i64>,
    /// The journey's first instant to the first party other than the customer talking.
    pub answer_ms: Option<i64>,
    /// Who answered first: DN and site.
    pub answered_by: Option<(String, String)>,
    /// Time someone talked.
    pub talk_ms: i64,
    /// Time someone held the call.
    pub hold_ms: i64,
    /// Time the call waited at queues and routing points.
    pub queue_ms: i64,
    /// Time a phone rang.
    pub ring_ms: i64,
    /// Agents who left by transferring the call.
    pub transfers: usize,
    /// Hand-offs between sites.
    pub site_handoffs: usize,
    /// The parties carry state spans (older documents have none: the times are unknown).
    pub timed: bool,
}

/// The first party other than the customer to talk: DN and site.
fn answered_by(journey: &Journey, customer: Option<&str>) -> Option<(String, String)> {
    journey
        .sites
        .iter()
        .flat_map(|site| site.parties.iter().map(move |party| (site, party)))
        .filter(|(_, party)| Some(party.dn.as_str()) != customer)
        .flat_map(|(site, party)| {
            party
                .bars
                .iter()
                .filter(|bar| bar.phase == Phase::Talking)
                .map(move |bar| (bar.start, site, party))
        })
        .min_by_key(|(start, _, _)| *start)
        .map(|(_, site, party)| (party.dn.clone(), site.site.clone()))
}

/// The figures of the interaction `doc` (the interaction of `document`).
pub fn figures(doc: &Interaction, document: &TraceDocument) -> Figures {
    let journey = Journey::read(document);
    let totals = &journey.totals;
    let ms = |micros: i64| micros / 1000;
    let transfers = doc
        .segments
        .iter()
        .flat_map(|segment| &segment.parties)
        .filter(|party| party.kind == PartyKind::Agent && party.exit == Some(Exit::LeftByTransfer))
        .count();
    Figures {
        total_ms: totals.total.map(ms),
        answer_ms: totals.to_answer.map(ms),
        answered_by: answered_by(&journey, doc.ani.as_deref()),
        talk_ms: ms(totals.talk),
        hold_ms: ms(totals.hold),
        queue_ms: ms(totals.queued),
        ring_ms: ms(totals.ringing),
        transfers,
        site_handoffs: totals.hand_offs,
        timed: doc.segments.iter().flat_map(|segment| &segment.parties).any(|party| !party.spans.is_empty()),
    }
}

fn figure(out: &mut String, name: &str, value: &str, note: &str) {
    let note = if note.is_empty() { String::new() } else { format!("<span class=\"note\">{note}</span>") };
    out.push_str(&format!("<div><dt>{name}</dt><dd><strong>{value}</strong>{note}</dd></div>"));
}

/// The figures as a definition list (`<dl class="figures">`).
pub fn figures_html(figures: &Figures) -> String {
    let mut out = String::from("<dl class=\"figures\">");
    let answer = match (figures.timed, &figures.answer_ms, &figures.answered_by) {
        (false, _, _) => ("unknown".to_string(), String::new()),
        (true, Some(ms), Some((dn, site))) => {
            (duration_text(*ms), format!("by {} at {}", esc(dn), esc(site)))
        }
        (true, Some(ms), None) => (duration_text(*ms), String::new()),
        (true, None, _) => ("not answered".to_string(), "no one but the customer talked".to_string()),
    };
    figure(&mut out, "Time to answer", &esc(&answer.0), &answer.1);
    let timed = |ms: i64| if figures.timed { duration_text(ms) } else { "unknown".to_string() };
    figure(&mut out, "Talk", &timed(figures.talk_ms), "someone talking");
    figure(&mut out, "Hold", &timed(figures.hold_ms), "someone holding");
    figure(&mut out, "Queue", &timed(figures.queue_ms), "queues and routing points");
    figure(&mut out, "Ring", &timed(figures.ring_ms), "a phone ringing");
    let handoffs = match figures.site_handoffs {
        0 => "no hand-off between sites".to_string(),
        1 => "1 hand-off between sites".to_string(),
        n => format!("{n} hand-offs between sites"),
    };
    figure(&mut out, "Transfers", &figures.transfers.to_string(), &handoffs);
    let total = figures.total_ms.map_or_else(|| "unknown".to_string(), duration_text);
    figure(&mut out, "Total", &esc(&total), "on one clock across sites");
    out.push_str("</dl>\n");
    out
}

/// The natural width of an SVG (its `width` attribute), for the box that scales it.
pub fn svg_width(svg: &str) -> Option<u32> {
    let head = &svg[..svg.find('>').unwrap_or(svg.len())];
    let rest = head.split(" width=\"").nth(1)?;
    rest.split('"').next()?.parse().ok()
}

/// A box holding a drawn SVG: it scales the picture down a little to fit (to 85 % of its
/// width, where the texts stay legible) and scrolls it sideways below that (phones).
pub fn picture_box(class: &str, label: &str, svg: &str) -> String {
    let width = svg_width(svg).map(|width| format!(" style=\"--w:{width}px\"")).unwrap_or_default();
    format!(
        "<div class=\"{class} picture\"{width} role=\"region\" tabindex=\"0\" aria-label=\"{}\">\n{svg}</div>\n",
        esc(label)
    )
}

/// The journey timeline (`callstitch_ladder::timeline`) in its box.
pub fn timeline_section(document: &TraceDocument) -> String {
    let svg = callstitch_ladder::timeline::render(document);
    picture_box("timeline", "Journey timeline", &svg)
}

/// `<section>` "Journey": the figures, then the timeline.
pub fn journey_section(doc: &TraceDocument) -> String {
    let mut out = String::from(
        "<section id=\"journey\" aria-labelledby=\"journey-heading\">\n<h2 id=\"journey-heading\">Journey</h2>\n",
    );
    out.push_str(&figures_html(&figures(&doc.interaction, doc)));
    out.push_str(&timeline_section(doc));
    out.push_str("</section>\n");
    out
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration_text(850), "850 ms");
        assert_eq!(duration_text(4_240), "4.2 s");
        assert_eq!(duration_text(38_060), "38.0 s");
        assert_eq!(duration_text(125_000), "2 min 05 s");
        assert_eq!(duration_text(3_720_000), "1 h 02 min");
        assert_eq!(duration_text(-5), "0 s");
    }

    fn span(state: &str, start: &str, end: &str) -> Value {
        json!({"state": state, "start": format!("2026-02-02T08:{start}Z"), "end": format!("2026-02-02T08:{end}Z")})
    }

    /// A call queued at A's queue 7001 for 10 s, ringing 1001 for 5 s, answered at A by 1001
    /// who transfers it to site B (whose clock is 2 s ahead of A's), where 2001 talks, holds
    /// 7 s and releases.
    fn two_sites() -> Value {
        json!({
            "ani": "+1555",
            "segments": [
                {"site": "A", "key": "U1", "call_uuid": "U1", "start": "2026-02-02T08:00:00Z", "end": "2026-02-02T08:01:15Z", "parties": [
                    {"dn": "+1555", "kind": "external", "exit": "released",
                     "spans": [span("dialing", "00:00", "00:15"), span("connected", "00:15", "01:15")]},
                    {"dn": "7001", "kind": "queue", "exit": "diverted", "spans": [span("queued", "00:00", "00:10")]},
                    {"dn": "1001", "kind": "agent", "exit": "left-by-transfer",
                     "spans": [span("alerting", "00:10", "00:15"), span("connected", "00:15", "01:15")]},
                ]},
                {"site": "B", "key": "U2", "call_uuid": "U2", "start": "2026-02-02T08:01:17Z", "end": "2026-02-02T08:02:02Z", "parties": [
                    {"dn": "2001", "kind": "agent", "exit": "released",
                     "spans": [span("connected", "01:17", "01:50"), span("held", "01:50", "01:57"), span("connected", "01:57", "02:02")]},
                ]},
            ],
            "links": [{"evidence": "islink", "from": {"site": "A", "key": "U1", "call_uuid": "U1"}, "to": {"site": "B", "key": "U2", "call_uuid": "U2"}},
                      {"evidence": "iscc-call-history", "from": {"site": "A", "key": "U1", "call_uuid": "U1"}, "to": {"site": "B", "key": "U2", "call_uuid": "U2"}}],
            "clock_offsets": [{"site": "B", "relative_to": "A", "offset_ms": 2000.0, "links": 1, "method": "one-way"}],
        })
    }

    fn read(doc: &Value) -> Figures {
        let document = crate::ui::interaction::test_document(doc.clone());
        figures(&document.interaction, &document)
    }

    #[test]
    fn figures_are_the_timelines_on_one_clock_with_who_answered_and_transfers() {
        let figures = read(&two_sites());
        assert_eq!(figures.answer_ms, Some(15_000));
        assert_eq!(figures.answered_by, Some(("1001".to_string(), "A".to_string())));
        assert_eq!((figures.queue_ms, figures.ring_ms, figures.hold_ms), (10_000, 5_000, 7_000));
        assert_eq!(
            figures.talk_ms, 98_000,
            "talk from 08:00:15 to 08:01:48 and 08:01:55 to 08:02:00 on A's clock"
        );
        assert_eq!((figures.transfers, figures.site_handoffs), (1, 1), "one hop, two pieces of evidence");
        assert_eq!(figures.total_ms, Some(120_000), "B's end 08:02:02 is 08:02:00 on A's clock");
        let html = figures_html(&figures);
        assert!(
            html.contains(
                "<dt>Time to answer</dt><dd><strong>15.0 s</strong><span class=\"note\">by 1001 at A</span>"
            ),
            "{html}"
        );
        assert!(html.contains("<dt>Total</dt><dd><strong>2 min 00 s</strong>"), "{html}");
        assert!(html.contains(
            "<dt>Transfers</dt><dd><strong>1</strong><span class=\"note\">1 hand-off between sites"
        ));
    }

    #[test]
    fn an_older_document_without_spans_says_unknown_not_zero() {
        let doc = json!({"segments": [{"site": "A", "parties": [{"dn": "1001", "kind": "agent"}]}]});
        let html = figures_html(&read(&doc));
        assert!(html.contains("<dt>Talk</dt><dd><strong>unknown</strong>"), "{html}");
        assert!(html.contains("<dt>Time to answer</dt><dd><strong>unknown</strong>"), "{html}");
        assert!(!html.contains("0 s<"), "{html}");
    }

    #[test]
    fn the_timeline_box_knows_its_pictures_width() {
        let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1360\" height=\"400\" viewBox=\"0 0 1360 400\"></svg>";
        assert_eq!(svg_width(svg), Some(1360));
        let html = picture_box("timeline", "Journey <timeline>", svg);
        assert!(
            html.starts_with("<div class=\"timeline picture\" style=\"--w:1360px\" role=\"region\""),
            "{html}"
        );
        assert!(html.contains("aria-label=\"Journey &lt;timeline&gt;\""), "{html}");
    }
}
