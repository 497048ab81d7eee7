//! The HTML every page shares: escaping, the page frame (head, skip link, header with the
//! search box, main, footer), the responses with their security headers, the error pages,
//! and small readers of the JSON documents the pages show.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// What a page may load: its own CSS and JS; the ladder's inline `<style>` needs
/// `'unsafe-inline'` for styles only. No inline script runs.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Escapes text for HTML element content and quoted attribute values: the ladder's
/// escaping, so the page and the SVG inside it escape alike.
pub use callstitch_ladder::svg::escape_markup as esc;

/// Percent-encodes a query-string or path value (everything but unreserved characters).
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// A page being written: its title and body, framed by [`Page::finish`].
pub struct Page {
    title: String,
    /// The search box value shown in the header.
    query: String,
    pub body: String,
    /// Loads the live-update script.
    script: bool,
    /// Another script of this service the page loads (deferred), e.g. the interaction page's.
    page_script: Option<&'static str>,
    /// Shows the sign-out button (tokens are configured).
    signed_in: bool,
}

impl Page {
    pub fn new(title: impl Into<String>) -> Page {
        Page {
            title: title.into(),
            query: String::new(),
            body: String::new(),
            script: false,
            page_script: None,
            signed_in: false,
        }
    }

    pub fn with_query(mut self, query: &str) -> Page {
        self.query = query.to_string();
        self
    }

    pub fn with_script(mut self) -> Page {
        self.script = true;
        self
    }

    /// Loads the script at `src` (a path of this service: the CSP allows no other).
    pub fn with_page_script(mut self, src: &'static str) -> Page {
        self.page_script = Some(src);
        self
    }

    pub fn signed_in(mut self, signed_in: bool) -> Page {
        self.signed_in = signed_in;
        self
    }

    /// Appends raw (already escaped) HTML.
    pub fn push(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// The whole document.
    pub fn finish(self) -> String {
        let mut script = if self.script {
            "<script src=\"/ui/assets/ui.js\" defer></script>\n".to_string()
        } else {
            String::new()
        };
        if let Some(src) = self.page_script {
            script.push_str(&format!("<script src=\"{}\" defer></script>\n", esc(src)));
        }
        let sign_out = if self.signed_in {
            "<form method=\"post\" action=\"/logout\" class=\"sign-out\"><button type=\"submit\">Sign out</button></form>"
        } else {
            ""
        };
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title} · callstitch</title>\n<link rel=\"stylesheet\" href=\"/ui/assets/ui.css\">\n{script}</head>\n\
             <body>\n<a class=\"skip\" href=\"#main\">Skip to content</a>\n\
             <header class=\"top\"><a class=\"brand\" href=\"/\">callstitch</a>\n\
             <form class=\"quick-search\" method=\"get\" action=\"/\" role=\"search\">\
             <label for=\"top-q\" class=\"visually-hidden\">Search interactions</label>\
             <input id=\"top-q\" name=\"q\" type=\"search\" value=\"{query}\" placeholder=\"CallUUID, ConnID, DN, IS-Link id\">\
             <button type=\"submit\">Search</button></form>{sign_out}</header>\n\
             <main id=\"main\" tabindex=\"-1\">\n{body}</main>\n\
             <footer class=\"bottom\"><p>callstitch · <a href=\"/openapi.json\">API</a></p></footer>\n</body>\n</html>\n",
            title = esc(&self.title),
            query = esc(&self.query),
            body = self.body,
        )
    }
}

/// Adds the headers every UI response carries.
pub fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An HTML response.
pub fn html(status: StatusCode, document: String) -> Response {
    let response =
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], document)
            .into_response();
    secure(response)
}

/// The search form of the error pages.
pub fn search_box(value: &str) -> String {
    format!(
        "<form method=\"get\" action=\"/\" role=\"search\" class=\"search-again\">\
         <label for=\"again-q\">Search for a CallUUID, ConnID, DN, ANI/DNIS or Inter-Site Link id</label>\
         <div class=\"row\"><input id=\"again-q\" name=\"q\" type=\"search\" value=\"{}\">\
         <button type=\"submit\">Search</button></div></form>\n",
        esc(value)
    )
}

/// A page saying what went wrong, with a search box.
pub fn error_page(status: StatusCode, heading: &str, message: &str, signed_in: bool) -> Response {
    let mut page = Page::new(heading).signed_in(signed_in);
    page.push(&format!(
        "<h1>{}</h1>\n<p class=\"message error\" role=\"alert\">{}</p>\n{}",
        esc(heading),
        esc(message),
        search_box("")
    ));
    html(status, page.finish())
}

/// The text of a string member, or "".
pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The items of an array member.
pub fn items<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// An RFC 3339 UTC time shown as `2012-10-29 14:41:00.495 UTC` in a `<time>` element.
pub fn time(rfc3339: &str) -> String {
    if rfc3339.is_empty() {
        return "<span class=\"muted\">unknown</span>".to_string();
    }
    format!("<time datetime=\"{}\">{}</time>", esc(rfc3339), esc(&short_time(rfc3339)))
}

/// `2012-10-29T14:41:00.495558Z` → `2012-10-29 14:41:00.495 UTC`; other text as it is.
pub fn short_time(rfc3339: &str) -> String {
    let Some(stripped) = rfc3339.strip_suffix('Z') else { return rfc3339.to_string() };
    let (date_time, fraction) = stripped.split_once('.').unwrap_or((stripped, ""));
    let millis: String = fraction.chars().take(3).collect();
    let date_time = date_time.replacen('T', " ", 1);
    if millis.is_empty() {
        format!("{date_time} UTC")
    } else {
        format!("{date_time}.{millis} UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
        assert_eq!(
            esc("line 1\nline 2\u{1}"),
            "line 1\nline 2\u{FFFD}",
            "breaks kept, control characters replaced"
        );
        assert_eq!(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn times_are_shortened_to_milliseconds() {
        assert_eq!(short_time("2012-10-29T14:41:00.495558Z"), "2012-10-29 14:41:00.495 UTC");
        assert_eq!(short_time("2012-10-29T14:41:00Z"), "2012-10-29 14:41:00 UTC");
        assert_eq!(short_time("soon"), "soon");
    }
}
