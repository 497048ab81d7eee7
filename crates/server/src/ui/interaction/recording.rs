//! The recording section of the interaction page: the recording id, every media file (site,
//! recorded DN, side, start, stop, length, where it came from, who is heard) and the
//! findings.
//!
//! The store keeps the recording twice: inside the interaction document (its typed
//! [`RecordingDocument`], docs/trace-json.md) and as the GIR metadata (`id`, `mediaFiles`
//! with `mediaId`, `parameters.recordDN`, ...; docs/recording.md). The page shows the
//! document's, and falls back on the GIR shape for a document that has none, so neither
//! reads as "not recorded". (The page once read the document's files under the GIR's
//! spelling and showed every recorded interaction as not recorded.)

use callstitch_link::word;
use callstitch_store::{RecordingDocument, TraceDocument};
use serde_json::Value;

use super::super::html::{esc, items, text, time};
use super::journey::{duration_text, micros_of};

/// The recording as the panel shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Panel {
    pub recording_id: String,
    pub files: Vec<PanelFile>,
    /// Each finding's rule and message.
    pub findings: Vec<(String, String)>,
}

/// One media file as the panel shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PanelFile {
    pub media_id: String,
    pub site: String,
    pub recorded_dn: String,
    pub side: String,
    pub start: String,
    pub stop: Option<String>,
    pub provenance: String,
    /// Each party heard: DN and kind.
    pub heard: Vec<(String, String)>,
}

/// The recording as the panel shows it: the document's, or the GIR metadata's when the
/// document has none.
pub fn recording_of(doc: &TraceDocument, gir: &Value) -> Panel {
    match &doc.recording {
        Some(recording) => from_document(recording),
        None => from_gir(gir),
    }
}

fn from_document(recording: &RecordingDocument) -> Panel {
    let files = recording
        .media_files
        .iter()
        .map(|file| PanelFile {
            media_id: file.media_id.clone(),
            site: file.site.clone(),
            recorded_dn: file.recorded_dn.clone(),
            side: file.side.label().to_string(),
            start: file.start.clone(),
            stop: file.stop.clone(),
            provenance: word(&file.provenance),
            heard: file.heard.iter().map(|heard| (heard.dn.to_string(), heard.kind.to_string())).collect(),
        })
        .collect();
    let findings = recording
        .findings
        .iter()
        .map(|finding| (finding.rule.label().to_string(), finding.message.clone()))
        .collect();
    Panel { recording_id: recording.recording_id.clone(), files, findings }
}

/// GIR `recording.json` (docs/recording.md) read into the panel.
fn from_gir(gir: &Value) -> Panel {
    let files = items(gir, "mediaFiles")
        .iter()
        .map(|file| {
            let parameters = file.get("parameters").unwrap_or(&Value::Null);
            let heard = items(parameters, "heard")
                .iter()
                .map(|party| match party {
                    Value::String(dn) => (dn.clone(), String::new()),
                    other => (text(other, "dn").to_string(), text(other, "kind").to_string()),
                })
                .collect();
            PanelFile {
                media_id: text(file, "mediaId").to_string(),
                site: text(parameters, "site").to_string(),
                recorded_dn: text(parameters, "recordDN").to_string(),
                side: text(parameters, "side").to_string(),
                start: text(file, "startTime").to_string(),
                stop: file.get("stopTime").and_then(Value::as_str).map(str::to_string),
                provenance: text(parameters, "provenance").to_string(),
                heard,
            }
        })
        .collect();
    let findings = items(gir, "findings")
        .iter()
        .map(|finding| (text(finding, "rule").to_string(), text(finding, "message").to_string()))
        .collect();
    Panel { recording_id: text(gir, "id").to_string(), files, findings }
}

/// `<section>` with the recording id, the media files and the findings.
pub fn recording_section(recording: &Panel) -> String {
    let mut out = String::from(
        "<section aria-labelledby=\"recording-heading\">\n<h2 id=\"recording-heading\">Recording</h2>\n",
    );
    let files = &recording.files;
    let id = recording.recording_id.as_str();
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
    out.push_str(&findings_html(&recording.findings));
    out.push_str("</section>\n");
    out
}

fn files_table(files: &[PanelFile]) -> String {
    let mut out = String::from(
        "<div class=\"table-wrap\"><table class=\"media\"><thead><tr><th scope=\"col\">#</th>\
         <th scope=\"col\">Media id</th><th scope=\"col\">Site</th><th scope=\"col\">Recorded DN</th>\
         <th scope=\"col\">Side</th><th scope=\"col\">Start</th><th scope=\"col\">Stop</th>\
         <th scope=\"col\">Length</th><th scope=\"col\">From</th><th scope=\"col\">Heard</th></tr></thead><tbody>\n",
    );
    for (index, file) in files.iter().enumerate() {
        let heard: Vec<String> = file
            .heard
            .iter()
            .map(|(dn, kind)| if kind.is_empty() { dn.clone() } else { format!("{dn} ({kind})") })
            .collect();
        let (stop, length) = match file.stop.as_deref().filter(|stop| !stop.is_empty()) {
            None => ("<span class=\"muted\">never stopped</span>".to_string(), String::new()),
            Some(stop) => {
                let length = match (micros_of(&file.start), micros_of(stop)) {
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
            media = esc(&file.media_id),
            site = esc(&file.site),
            dn = esc(&file.recorded_dn),
            side = esc(&file.side),
            start = time(&file.start),
            length = esc(&length),
            from = esc(&file.provenance),
            heard = esc(&heard.join(", ")),
        ));
    }
    out.push_str("</tbody></table></div>\n");
    out
}

fn findings_html(findings: &[(String, String)]) -> String {
    if findings.is_empty() {
        return "<p>Findings: none.</p>\n".to_string();
    }
    let mut out = format!("<h3>⚠ {} finding(s)</h3>\n<ul class=\"findings\">", findings.len());
    for (rule, message) in findings {
        out.push_str(&format!("<li><strong>{}</strong> {}</li>", esc(rule), esc(message)));
    }
    out.push_str("</ul>\n");
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ui::interaction::test_document;

    #[test]
    fn a_gir_recording_reads_into_the_panel() {
        let gir = json!({"id": "U1", "mediaFiles": [{"callUUID": "U1", "mediaId": "m<1>", "startTime": "2026-02-02T08:00:00Z",
            "stopTime": "2026-02-02T08:01:30.500Z", "parameters": {"recordDN": "1016", "side": "agent", "site": "SIP_LON",
            "provenance": "media-feed", "heard": [{"dn": "1016", "kind": "agent"}]}}], "findings": []});
        let mut doc = test_document(json!({}));
        doc.recording = None;
        let recording = recording_of(&doc, &gir);
        assert_eq!(recording.recording_id, "U1");
        assert_eq!(recording.files[0].recorded_dn, "1016");
        let html = recording_section(&recording);
        assert!(html.contains("m&lt;1&gt;") && html.contains("1 min 30 s"), "{html}");
        assert!(html.contains("Recording id <span class=\"mono\">U1</span>: 1 media file."), "{html}");
    }

    /// The defect: the panel read the document's files under the GIR spelling
    /// (`media_files` against `mediaFiles`) and called every recorded interaction not
    /// recorded. The document's own files are shown, whatever the GIR copy holds.
    #[test]
    fn the_recording_panel_shows_the_documents_media_files() {
        let doc = test_document(json!({"recording": {"recording_id": "D", "findings": [], "media_files": [
            {"media_id": "doc-file", "site": "SIP_LON", "call_uuid": "U1", "recorded_dn": "1016", "side": "agent",
             "start": "2026-02-02T08:00:00.000000Z", "stop": "2026-02-02T08:00:10.000000Z", "provenance": "media-feed",
             "matched_by": "call-uuid", "heard": []}]}}));
        let gir = json!({"id": "G", "mediaFiles": []});
        let panel = recording_of(&doc, &gir);
        assert_eq!(panel.recording_id, "D");
        let html = recording_section(&panel);
        assert!(html.contains("doc-file") && html.contains("1 media file"), "{html}");
        assert!(!html.contains("No media file"), "{html}");
    }
}
