//! callstitch-ladder: the ladder diagram of one customer interaction, as SVG.
//!
//! Input: the interaction document ([`TraceDocument`], what `callstitch trace --json` prints:
//! docs/trace-json.md, with its `recording`), and the raw T-Library events of its calls (any order, every site).
//! Output: one SVG page, drawn the way contact-center engineers draw a call: a band per site
//! (left to right in the interaction's segment order), a lane per party under it, time
//! downward on each site's own clock; events as arrows between parties or marks on a lane;
//! Inter-Site Links as connectors between the bands; every media file as a bar beside the
//! lane it recorded, findings marked with an icon and words; who released it at the end.
//!
//! Pure and deterministic: the same input gives the same bytes; every text from the input is
//! escaped. A large interaction is cut into pages ([`LadderOptions`]) so that no page is
//! taller than [`MAX_HEIGHT`]. See docs/ladder.md.

mod draw;
pub mod events;
pub mod layout;
#[cfg(test)]
#[path = "../tests/it/common/minimal.rs"]
mod minimal;
pub mod svg;
pub mod text;
pub mod timeline;
pub mod view;

use callstitch_pipeline::{DocumentError, TraceDocument};
use callstitch_tlib::Event;

/// Rows (events) per page unless told otherwise.
pub const DEFAULT_PER_PAGE: usize = 150;
/// The most rows a page may hold; a larger `per_page` is taken as this.
pub const MAX_PER_PAGE: usize = 300;
/// No page is taller than this, in pixels.
pub const MAX_HEIGHT: i64 = 10_000;

/// Which page to draw, and how many events a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LadderOptions {
    /// 1-based.
    pub page: usize,
    /// Events per page, 1 to [`MAX_PER_PAGE`].
    pub per_page: usize,
}

impl Default for LadderOptions {
    fn default() -> Self {
        LadderOptions { page: 1, per_page: DEFAULT_PER_PAGE }
    }
}

/// One drawn page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    pub svg: String,
    pub page: usize,
    pub pages: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LadderError {
    #[error("the interaction is not trace JSON (docs/trace-json.md): {0}")]
    Trace(#[from] DocumentError),
    #[error("page {page} does not exist: the ladder has {pages} page(s)")]
    PageOutOfRange { page: usize, pages: usize },
}

/// Draws a page of the ladder of an interaction document (what `callstitch trace --json`
/// prints, the store keeps) with the events of its calls.
pub fn render(
    trace: &TraceDocument,
    events: &[Event],
    options: &LadderOptions,
) -> Result<Ladder, LadderError> {
    let per_page = options.per_page.clamp(1, MAX_PER_PAGE);
    let probe = layout::layout(trace, events, 1, per_page);
    if options.page == 0 || options.page > probe.pages {
        return Err(LadderError::PageOutOfRange { page: options.page, pages: probe.pages });
    }
    let page = if options.page == 1 { probe } else { layout::layout(trace, events, options.page, per_page) };
    let (page_number, pages) = (page.page, page.pages);
    Ok(Ladder { svg: draw::draw(trace, page), page: page_number, pages })
}

/// Draws a page of the ladder of one `callstitch trace --json` object read as JSON with the
/// events of its calls; an object that is not an interaction document is an error that
/// names the field that does not fit.
pub fn render_json(
    trace: &serde_json::Value,
    events: &[Event],
    options: &LadderOptions,
) -> Result<Ladder, LadderError> {
    render(&TraceDocument::from_value(trace.clone())?, events, options)
}
