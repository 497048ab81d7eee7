//! A search as CSV (RFC 4180): one row per interaction in the order of the search, written
//! page by page as the store answers, so a filter matching millions of interactions never
//! sits in memory whole. The search page links to the same answer (`/?…&format=csv`).

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use callstitch_store::{Cursor, InteractionQuery, Store, StoreError};
use serde_json::Value;
use tokio_stream::wrappers::ReceiverStream;

use super::App;
use crate::mask::mask_all;

/// The columns, in order.
pub const COLUMNS: &[&str] = &[
    "interaction_id",
    "start",
    "end",
    "duration_s",
    "state",
    "current_site",
    "sites",
    "calls",
    "call_uuids",
    "parties",
    "ani",
    "dnis",
    "outcome",
    "released_by",
    "released_by_dn",
    "media_files",
    "findings",
    "linking",
];

/// Rows read from the store at a time.
const ROWS_PER_READ: usize = callstitch_store::sqlite::MAX_PAGE;

/// One field, quoted when it holds a comma, a quote or a line break (RFC 4180), and with a
/// leading `'` when a spreadsheet would take it for a formula (`=`, `@`, a tab, a carriage
/// return, or `+`/`-` followed by anything but a number: `+15551234567` stays as it is).
pub fn field(text: &str) -> String {
    let formula = match text.as_bytes().first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => !text[1..].bytes().all(|b| b.is_ascii_digit() || b" .()-".contains(&b)),
        _ => false,
    };
    let text = if formula { format!("'{text}") } else { text.to_string() };
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn string(summary: &Value, key: &str) -> String {
    match summary.get(key) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::Bool(flag)) => flag.to_string(),
        _ => String::new(),
    }
}

fn joined(summary: &Value, key: &str) -> String {
    let items = summary.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")
}

/// Seconds from start to end (so far, while live), when both are known.
pub fn duration_s(summary: &Value) -> Option<f64> {
    let micros = |key: &str| {
        summary
            .get(key)
            .and_then(Value::as_str)?
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|time| time.as_microsecond())
    };
    Some((micros("end")? - micros("start")?) as f64 / 1e6)
}

/// One CSV line (CRLF-terminated) for a row of the search list.
pub fn line(summary: &Value) -> String {
    let released = summary.get("released_by").cloned().unwrap_or(Value::Null);
    let values = [
        string(summary, "interaction_id"),
        string(summary, "start"),
        string(summary, "end"),
        duration_s(summary).map(|seconds| format!("{seconds:.3}")).unwrap_or_default(),
        string(summary, "state"),
        string(summary, "current_site"),
        joined(summary, "sites"),
        string(summary, "calls"),
        joined(summary, "call_uuids"),
        joined(summary, "parties"),
        string(summary, "ani"),
        string(summary, "dnis"),
        string(summary, "outcome"),
        string(&released, "who"),
        string(&released, "dn"),
        string(summary, "media_files"),
        string(summary, "findings"),
        string(summary, "linking"),
    ];
    let mut out = values.iter().map(|value| field(value)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

/// The CSV answer of a search: every interaction it matches from its cursor on (at most
/// `cap` when given), written as the store pages through them. A store failure midway cuts
/// the answer off (the client sees a broken transfer, not a short file that looks whole).
pub fn csv<S: Store>(app: App<S>, query: InteractionQuery, cap: Option<usize>) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, StoreError>>(2);
    tokio::spawn(async move {
        let header = format!("{}\r\n", COLUMNS.join(","));
        if sender.send(Ok(Bytes::from(header))).await.is_err() {
            return;
        }
        let mut left = cap.unwrap_or(usize::MAX);
        let mut query = InteractionQuery { limit: ROWS_PER_READ.min(left), ..query };
        while left > 0 {
            let chunk = match next_rows(&app, &mut query, &mut left).await {
                Ok(Some(chunk)) => Ok(Bytes::from(chunk)),
                Ok(None) => return,
                Err(error) => {
                    tracing::error!(%error, "store, during a CSV export");
                    Err(error)
                }
            };
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    let mut response = Body::from_stream(ReceiverStream::new(receiver)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8; header=present"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"interactions.csv\""),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The next page's lines, moving the cursor on; `None` when nothing is left.
async fn next_rows<S: Store>(
    app: &App<S>,
    query: &mut InteractionQuery,
    left: &mut usize,
) -> Result<Option<String>, StoreError> {
    query.limit = ROWS_PER_READ.min(*left);
    let mut page = app.store.interactions(query.clone()).await?;
    if page.items.is_empty() {
        return Ok(None);
    }
    if app.mask_numbers {
        page.items.iter_mut().for_each(|item| mask_all(&mut [item]));
    }
    *left = left.saturating_sub(page.items.len());
    let text: String = page.items.iter().map(line).collect();
    match page.next_cursor {
        Some(next) => query.cursor = Some(Cursor::decode(&next)?),
        None => *left = 0,
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says_and_formulas_are_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(field("+15551234567"), "+15551234567", "a phone number stays a number");
        assert_eq!(field("-12.5"), "-12.5");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
    }

    #[test]
    fn a_line_has_every_column_and_the_duration() {
        let summary = json!({"interaction_id": "a1", "start": "2012-10-29T14:41:00Z", "end": "2012-10-29T14:42:30.5Z",
                             "sites": ["A", "B"], "calls": 2, "call_uuids": ["U1", "U2"], "parties": ["7001", "x,y"],
                             "outcome": "answered", "released_by": {"who": "customer", "dn": "+1555"},
                             "media_files": 1, "findings": 0, "linking": "complete", "state": "complete"});
        let text = line(&summary);
        assert!(text.ends_with("\r\n"));
        assert_eq!(text.trim_end().split(',').count(), COLUMNS.len() + 1, "one quoted comma: {text}");
        assert!(text.starts_with(
            "a1,2012-10-29T14:41:00Z,2012-10-29T14:42:30.5Z,90.500,complete,,A B,2,U1 U2,\"7001 x,y\","
        ));
    }
}
