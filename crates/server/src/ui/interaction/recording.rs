//! The recording section of the interaction page: the recording id, every media file (site,
//! recorded DN, side, start, stop, length, where it came from, who is heard) and the
//! findings.
//!
//! The store keeps the recording twice: inside the interaction document (`recording`, the
//! shape of docs/trace-json.md: `recording_id`, `media_files` with `media_id`, `recorded_dn`,
//! ...) and as the GIR metadata (`id`, `mediaFiles` with `mediaId`, `parameters.recordDN`,
//! ...; docs/recording.md). The page reads the document's, and falls back on the GIR shape
//! for a document that has none, so neither shape reads as "not recorded".

use serde_json::{json, Value};

use super::super::html::{esc, items, text, time};
use super::journey::{duration_text, micros_of};

/// The recording as the page shows it: the document's `recording`, or the GIR metadata read
/// into the same shape.
pub fn recording_of(doc: &Value, gir: &Value) -> Value {
    match doc.get("recording") {
        Some(recording) if recording.get("media_files").is_some() => recording.clone(),
        _ => from_gir(gir),
    }
}

/// GIR `recording.json` (docs/recording.md) in the document's shape.
fn from_gir(gir: &Value) -> Value {
    let files: Vec<Value> = items(gir, "mediaFiles")
        .iter()
        .map(|file| {
            let parameters = file.get("parameters").unwrap_or(&Value::Null);
            let heard: Vec<Value> = items(parameters, "heard")
                .iter()
                .map(|party| match party {
                    Value::String(dn) => json!({"dn": dn}),
                    other => other.clone(),
                })
                .collect();
            json!({
                "media_id": text(file, "mediaId"),
                "call_uuid": text(file, "callUUID"),
                "site": text(parameters, "site"),
                "recorded_dn": text(parameters, "recordDN"),
                "side": text(parameters, "side"),
                "start": text(file, "startTime"),
                "stop": file.get("stopTime").cloned().unwrap_or(Value::Null),
                "provenance": text(parameters, "provenance"),
                "heard": heard,
            })
        })
        .collect();
    let id = match text(gir, "recording_id") {
        "" => text(gir, "id"),
        id => id,
    };
    json!({
        "recording_id": id,
        "media_files": files,
        "findings": gir.get("findings").cloned().unwrap_or_else(|| json!([])),
    })
}

/// `<section>` with the recording id, the media files and the findings.
pub fn recording_section(recording: &Value) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"recording-heading\">\n<h2 id=\"recording-heading\">Recording</h2>\n",
    );
    let files = items(recording, "media_files");
    let id = text(recording, "recording_id");
    let count = match files.len() {
        0 => "no media file".to_string(),
        1 => "1 media file".to_string(),
        n => format!("{n} media files"),
    };
    if id.is_empty() {
        out.push_str(&format!("<p>{count}.</p>\n"));
    } else {
        out.push_str(&format!("<p>Recording id <span class=\"mono\">{}</span>: {count}.</p>\n", esc(id)));
    }
    if files.is_empty() {
        out.push_str("<p>No media file: this interaction was not recorded, or no recording was seen.</p>\n");
    } else {
        out.push_str(&files_table(files));
    }
    out.push_str(&findings_html(items(recording, "findings")));
    out.push_str("</section>\n");
    out
}

fn files_table(files: &[Value]) -> String {
    let mut out = String::from(
        "<div class=\"table-wrap\"><table class=\"media\"><thead><tr><th scope=\"col\">#</th>\
         <th scope=\"col\">Media id</th><th scope=\"col\">Site</th><th scope=\"col\">Recorded DN</th>\
         <th scope=\"col\">Side</th><th scope=\"col\">Start</th><th scope=\"col\">Stop</th>\
         <th scope=\"col\">Length</th><th scope=\"col\">From</th><th scope=\"col\">Heard</th></tr></thead><tbody>\n",
    );
    for (index, file) in files.iter().enumerate() {
        let heard: Vec<String> = items(file, "heard")
            .iter()
            .map(|heard| match text(heard, "kind") {
                "" => text(heard, "dn").to_string(),
                kind => format!("{} ({kind})", text(heard, "dn")),
            })
            .collect();
        let (stop, length) = match text(file, "stop") {
            "" => ("<span class=\"muted\">never stopped</span>".to_string(), String::new()),
            stop => {
                let length = match (micros_of(text(file, "start")), micros_of(stop)) {
                    (Some(start), Some(stop)) if stop >= start => duration_text((stop - start) / 1000),
                    _ => String::new(),
                };
                (time(stop), length)
            }
        };
        out.push_str(&format!(
            "<tr><th scope=\"row\" data-label=\"#\">REC {number}</th>\
             <td data-label=\"Media id\" class=\"mono wrap\">{media}</td><td data-label=\"Site\">{site}</td>\
             <td data-label=\"Recorded DN\" class=\"mono\">{dn}</td><td data-label=\"Side\">{side}</td>\
             <td data-label=\"Start\">{start}</td><td data-label=\"Stop\">{stop}</td>\
             <td data-label=\"Length\">{length}</td><td data-label=\"From\">{from}</td>\
             <td data-label=\"Heard\">{heard}</td></tr>\n",
            number = index + 1,
            media = esc(text(file, "media_id")),
            site = esc(text(file, "site")),
            dn = esc(text(file, "recorded_dn")),
            side = esc(text(file, "side")),
            start = time(text(file, "start")),
            length = esc(&length),
            from = esc(text(file, "provenance")),
            heard = esc(&heard.join(", ")),
        ));
    }
    out.push_str("</tbody></table></div>\n");
    out
}

fn findings_html(findings: &[Value]) -> String {
    if findings.is_empty() {
        return "<p>Findings: none.</p>\n".to_string();
    }
    let mut out = format!("<h3>⚠ {} finding(s)</h3>\n<ul class=\"findings\">", findings.len());
    for finding in findings {
        out.push_str(&format!(
            "<li><strong>{}</strong> {}</li>",
            esc(text(finding, "rule")),
            esc(text(finding, "message"))
        ));
    }
    out.push_str("</ul>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gir_recording_reads_into_the_document_shape() {
        let gir = json!({"id": "U1", "mediaFiles": [{"callUUID": "U1", "mediaId": "m<1>", "startTime": "2026-02-02T08:00:00Z",
            "stopTime": "2026-02-02T08:01:30.500Z", "parameters": {"recordDN": "1016", "side": "agent", "site": "SIP_LON",
            "provenance": "media-feed", "heard": [{"dn": "1016", "kind": "agent"}]}}], "findings": []});
        let recording = recording_of(&json!({}), &gir);
        assert_eq!(recording["recording_id"], "U1");
        assert_eq!(recording["media_files"][0]["recorded_dn"], "1016");
        let html = recording_section(&recording);
        assert!(html.contains("m&lt;1&gt;") && html.contains("1 min 30 s"), "{html}");
        assert!(html.contains("Recording id <span class=\"mono\">U1</span>: 1 media file."), "{html}");
    }

    #[test]
    fn the_document_recording_wins_over_the_gir_copy() {
        let doc = json!({"recording": {"recording_id": "D", "media_files": [], "findings": []}});
        let gir = json!({"id": "G", "mediaFiles": [{"mediaId": "g"}]});
        assert_eq!(recording_of(&doc, &gir)["recording_id"], "D");
    }
}
