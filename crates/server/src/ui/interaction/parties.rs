//! The parties table of the interaction page: every party of every call, with what the
//! events say of it (kind, the agent logged in on it, the queue that delivered the call to
//! it) and the time it spent ringing, queued, talking and on hold.

use callstitch_engine::ReleasedBy;
use callstitch_link::segment::SegmentParty;
use callstitch_link::{Interaction, PartyKind};

use super::super::html::esc;
use super::journey::duration_text;

/// The kind of a party in words.
fn kind_text(kind: PartyKind) -> &'static str {
    match kind {
        PartyKind::External => "customer",
        PartyKind::RoutingPoint => "routing point",
        other => other.label(),
    }
}

/// How a party left the call, and who released it.
fn left_text(party: &SegmentParty) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(exit) = party.exit {
        parts.push(exit.label().replace('-', " "));
    }
    match (party.released_by, party.released_by_dn.as_deref()) {
        (ReleasedBy::Itself, _) => parts.push("released it".to_string()),
        (ReleasedBy::Other, None | Some("")) => parts.push("released by the other side".to_string()),
        (ReleasedBy::Other, Some(dn)) => parts.push(format!("released by {dn}")),
        (ReleasedBy::Unknown, _) => {}
    }
    parts.join(", ")
}

/// A cell of milliseconds, empty when zero.
fn time_cell(ms: i64, label: &str) -> String {
    let shown = if ms >= 1 { duration_text(ms) } else { String::new() };
    format!("<td data-label=\"{label}\" class=\"num\">{}</td>", esc(&shown))
}

/// `<section>` "Parties".
pub fn parties_section(doc: &Interaction) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"parties-heading\">\n<h2 id=\"parties-heading\">Parties</h2>\n\
         <div class=\"table-wrap\"><table class=\"parties-table\"><thead><tr><th scope=\"col\">Call</th>\
         <th scope=\"col\">Site</th><th scope=\"col\">DN</th><th scope=\"col\">Kind</th>\
         <th scope=\"col\">Agent id</th><th scope=\"col\">Queue</th><th scope=\"col\" class=\"num\">Ring</th>\
         <th scope=\"col\" class=\"num\">Queued</th><th scope=\"col\" class=\"num\">Talk</th>\
         <th scope=\"col\" class=\"num\">Hold</th><th scope=\"col\">Left</th></tr></thead><tbody>\n",
    );
    let mut any = false;
    for (index, segment) in doc.segments.iter().enumerate() {
        let number = index + 1;
        for party in &segment.parties {
            any = true;
            let kind = kind_text(party.kind);
            let role = match party.role.as_deref() {
                None | Some("") => String::new(),
                Some(role) => format!(" <span class=\"muted\">{}</span>", esc(role)),
            };
            let times = &party.times;
            out.push_str(&format!(
                "<tr class=\"kind-{kind_class}\"><td data-label=\"Call\"><a href=\"#call-{number}\">#{number}</a></td>\
                 <td data-label=\"Site\">{site}</td><th scope=\"row\" data-label=\"DN\" class=\"mono\">{dn}</th>\
                 <td data-label=\"Kind\">{kind}{role}</td><td data-label=\"Agent id\">{agent}</td>\
                 <td data-label=\"Queue\" class=\"mono\">{queue}</td>{ring}{queued}{talk}{hold}\
                 <td data-label=\"Left\">{left}</td></tr>\n",
                kind_class = esc(&kind.replace(' ', "-")),
                site = esc(&segment.site),
                dn = esc(&party.dn),
                kind = esc(kind),
                agent = esc(party.agent_id.as_deref().unwrap_or("")),
                queue = esc(party.queue.as_deref().unwrap_or("")),
                ring = time_cell(times.ringing_ms, "Ring"),
                queued = time_cell(times.queued_ms, "Queued"),
                talk = time_cell(times.talking_ms, "Talk"),
                hold = time_cell(times.held_ms, "Hold"),
                left = esc(&left_text(party)),
            ));
        }
    }
    if !any {
        return "<section aria-labelledby=\"parties-heading\">\n<h2 id=\"parties-heading\">Parties</h2>\n\
                <p class=\"muted\">No party was seen.</p>\n</section>\n"
            .to_string();
    }
    out.push_str("</tbody></table></div>\n</section>\n");
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parties_show_agent_queue_and_times_escaped() {
        let doc = json!({"segments": [{"site": "S<1>", "parties": [
            {"dn": "1016", "kind": "agent", "agent_id": "Ann<b>", "queue": "7001", "exit": "left-by-transfer",
             "released_by": "self", "times": {"ringing_ms": 4200, "queued_ms": 0, "talking_ms": 65000, "held_ms": 0}},
            {"dn": "7001", "kind": "queue", "exit": "diverted", "times": {"queued_ms": 12000}},
        ]}]});
        let html = parties_section(&crate::ui::interaction::test_document(doc).interaction);
        assert!(html.contains("Ann&lt;b&gt;") && html.contains("S&lt;1&gt;"), "{html}");
        assert!(html.contains("<td data-label=\"Ring\" class=\"num\">4.2 s</td>"), "{html}");
        assert!(html.contains("<td data-label=\"Talk\" class=\"num\">1 min 05 s</td>"), "{html}");
        assert!(html.contains("<td data-label=\"Queued\" class=\"num\">12.0 s</td>"), "{html}");
        assert!(html.contains("left by transfer, released it"), "{html}");
        assert!(html.contains("<td data-label=\"Queue\" class=\"mono\">7001</td>"), "{html}");
    }
}
