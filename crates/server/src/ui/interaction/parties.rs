//! The parties table of the interaction page: every party of every call, with what the
//! events say of it (kind, the agent logged in on it, the queue that delivered the call to
//! it) and the time it spent ringing, queued, talking and on hold.

use serde_json::Value;

use super::super::html::{esc, items, text};
use super::journey::duration_text;

/// The kind of a party in words.
fn kind_text(kind: &str) -> &str {
    match kind {
        "external" => "customer",
        "routing-point" => "routing point",
        "" => "party",
        other => other,
    }
}

/// How a party left the call, and who released it.
fn left_text(party: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    let exit = text(party, "exit");
    if !exit.is_empty() {
        parts.push(exit.replace('-', " "));
    }
    match (text(party, "released_by"), text(party, "released_by_dn")) {
        ("self", _) => parts.push("released it".to_string()),
        ("other", "") => parts.push("released by the other side".to_string()),
        ("other", dn) => parts.push(format!("released by {dn}")),
        _ => {}
    }
    parts.join(", ")
}

/// A cell of milliseconds from `times`, empty when zero or absent.
fn time_cell(party: &Value, key: &str, label: &str) -> String {
    let ms = party.get("times").and_then(|times| times.get(key)).and_then(Value::as_f64).unwrap_or(0.0);
    let shown = if ms >= 1.0 { duration_text(ms.round() as i64) } else { String::new() };
    format!("<td data-label=\"{label}\" class=\"num\">{}</td>", esc(&shown))
}

/// `<section>` "Parties".
pub fn parties_section(doc: &Value) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"parties-heading\">\n<h2 id=\"parties-heading\">Parties</h2>\n\
         <div class=\"table-wrap\"><table class=\"parties-table\"><thead><tr><th scope=\"col\">Call</th>\
         <th scope=\"col\">Site</th><th scope=\"col\">DN</th><th scope=\"col\">Kind</th>\
         <th scope=\"col\">Agent id</th><th scope=\"col\">Queue</th><th scope=\"col\" class=\"num\">Ring</th>\
         <th scope=\"col\" class=\"num\">Queued</th><th scope=\"col\" class=\"num\">Talk</th>\
         <th scope=\"col\" class=\"num\">Hold</th><th scope=\"col\">Left</th></tr></thead><tbody>\n",
    );
    let mut any = false;
    for (index, segment) in items(doc, "segments").iter().enumerate() {
        let number = index + 1;
        for party in items(segment, "parties") {
            any = true;
            let kind = kind_text(text(party, "kind"));
            let role = match text(party, "role") {
                "" => String::new(),
                role => format!(" <span class=\"muted\">{}</span>", esc(role)),
            };
            out.push_str(&format!(
                "<tr class=\"kind-{kind_class}\"><td data-label=\"Call\"><a href=\"#call-{number}\">#{number}</a></td>\
                 <td data-label=\"Site\">{site}</td><th scope=\"row\" data-label=\"DN\" class=\"mono\">{dn}</th>\
                 <td data-label=\"Kind\">{kind}{role}</td><td data-label=\"Agent id\">{agent}</td>\
                 <td data-label=\"Queue\" class=\"mono\">{queue}</td>{ring}{queued}{talk}{hold}\
                 <td data-label=\"Left\">{left}</td></tr>\n",
                kind_class = esc(&kind.replace(' ', "-")),
                site = esc(text(segment, "site")),
                dn = esc(text(party, "dn")),
                kind = esc(kind),
                agent = esc(text(party, "agent_id")),
                queue = esc(text(party, "queue")),
                ring = time_cell(party, "ringing_ms", "Ring"),
                queued = time_cell(party, "queued_ms", "Queued"),
                talk = time_cell(party, "talking_ms", "Talk"),
                hold = time_cell(party, "held_ms", "Hold"),
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
        let html = parties_section(&doc);
        assert!(html.contains("Ann&lt;b&gt;") && html.contains("S&lt;1&gt;"), "{html}");
        assert!(html.contains("<td data-label=\"Ring\" class=\"num\">4.2 s</td>"), "{html}");
        assert!(html.contains("<td data-label=\"Talk\" class=\"num\">1 min 05 s</td>"), "{html}");
        assert!(html.contains("<td data-label=\"Queued\" class=\"num\">12.0 s</td>"), "{html}");
        assert!(html.contains("left by transfer, released it"), "{html}");
        assert!(html.contains("<td data-label=\"Queue\" class=\"mono\">7001</td>"), "{html}");
    }
}
