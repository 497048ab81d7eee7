//! A search as CSV (RFC 4180): one row per interaction in the order of the search, written
//! page by page as the store answers, so a filter matching millions of interactions never
//! sits in memory whole. The search page links to the same answer (`/?…&format=csv`).

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use callstitch_store::{Cursor, InteractionQuery, Store, StoreError, Summary};
use callstitch_tlib::Timestamp;
use tokio_stream::wrappers::ReceiverStream;

use super::App;
use crate::mask::mask_summary;

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

/// Seconds from start to end (so far, while live), when both are known.
pub fn duration_s(summary: &Summary) -> Option<f64> {
    summary.duration_us().map(|micros| micros as f64 / 1e6)
}

/// One CSV line (CRLF-terminated) for a row of the search list.
pub fn line(summary: &Summary) -> String {
    let time = |micros: Option<i64>| micros.map(|micros| Timestamp(micros).to_string()).unwrap_or_default();
    let text = |text: &Option<String>| text.clone().unwrap_or_default();
    let values = [
        summary.interaction_id.clone(),
        time((summary.start_us != 0).then_some(summary.start_us)),
        time(summary.end_us),
        duration_s(summary).map(|seconds| format!("{seconds:.3}")).unwrap_or_default(),
        summary.state.clone(),
        text(&summary.current_site),
        summary.sites.join(" "),
        summary.call_uuids.len().to_string(),
        summary.call_uuids.join(" "),
        summary.parties.join(" "),
        text(&summary.ani),
        text(&summary.dnis),
        summary.outcome.clone(),
        summary.released_by.clone(),
        text(&summary.released_by_dn),
        summary.media_files.to_string(),
        summary.findings.to_string(),
        summary.linking.clone(),
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
        page.items.iter_mut().for_each(mask_summary);
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
        let summary = Summary {
            interaction_id: "a1".into(),
            start_us: 1_351_521_660_000_000,
            end_us: Some(1_351_521_750_500_000),
            sites: vec!["A".into(), "B".into()],
            call_uuids: vec!["U1".into(), "U2".into()],
            parties: vec!["7001".into(), "x,y".into()],
            outcome: "answered".into(),
            released_by: "customer".into(),
            released_by_dn: Some("+1555".into()),
            media_files: 1,
            linking: "complete".into(),
            state: "complete".into(),
            ..Summary::default()
        };
        let text = line(&summary);
        assert!(text.ends_with("\r\n"));
        assert_eq!(text.trim_end().split(',').count(), COLUMNS.len() + 1, "one quoted comma: {text}");
        assert!(text.starts_with(
            "a1,2012-10-29T14:41:00.000000Z,2012-10-29T14:42:30.500000Z,90.500,complete,,A B,2,U1 U2,\"7001 x,y\","
        ));
        assert!(text.ends_with(",answered,customer,+1555,1,0,complete\r\n"), "{text}");
    }
}
