//! A small SVG writer: elements with integer coordinates, and the escaping of every text
//! that comes from the input (DNs, user data, site names are input, never markup).

use std::fmt::Write as _;

/// Escapes text for XML content and attribute values. Characters XML 1.0 forbids (control
/// characters other than tab, newline and carriage return) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Cuts `text` to at most `max` characters, ending in `…` when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Text styles (CSS classes of the stylesheet in [`Svg::open`]).
#[derive(Debug, Clone, Copy)]
pub enum Style {
    Title,
    Header,
    Small,
    Label,
    Time,
    Warn,
}

impl Style {
    fn class(self) -> &'static str {
        match self {
            Style::Title => "t",
            Style::Header => "h",
            Style::Small => "s",
            Style::Label => "l",
            Style::Time => "tm",
            Style::Warn => "w",
        }
    }
}

/// Where a text is anchored.
#[derive(Debug, Clone, Copy)]
pub enum Anchor {
    Start,
    Middle,
}

/// The document being written.
#[derive(Debug, Default)]
pub struct Svg {
    out: String,
}

const STYLE: &str = "text{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;fill:#111}\
.t{font-size:16px;font-weight:bold}.h{font-size:13px;font-weight:bold}.s{font-size:11px;fill:#333}\
.l{font-size:11px}.tm{font-size:11px;fill:#444}.w{font-size:11px;fill:#a00000;font-weight:bold}\
.band{fill:#f4f6fa;stroke:#8a94a6}.lane{stroke:#b8c0cc;stroke-width:1}\
.arrow{stroke:#1f3d7a;stroke-width:1.5}.mark{fill:#1f3d7a}.release{fill:#7a1f1f}\
.link{stroke:#6a3d9a;stroke-width:2.5;stroke-dasharray:8 4;fill:none}\
.lbg{fill:#ffffff;stroke:#6a3d9a;stroke-width:0.8}\
.rec-agent{fill:#2e7d32}.rec-customer{fill:#1565c0}.rec-call{fill:#6d6d6d}\
.finding{fill:none;stroke:#c00000;stroke-width:2;stroke-dasharray:3 2}";

impl Svg {
    /// Starts the document with its accessible title and description.
    pub fn open(width: i64, height: i64, title: &str, desc: &str) -> Svg {
        let mut svg = Svg::default();
        let _ = write!(
            svg.out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"ladder-title ladder-desc\">\n\
             <title id=\"ladder-title\">{}</title>\n<desc id=\"ladder-desc\">{}</desc>\n\
             <style>{STYLE}</style>\n\
             <defs><marker id=\"arrowhead\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
             markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1f3d7a\"/></marker>\
             <marker id=\"linkhead\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" \
             markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#6a3d9a\"/></marker></defs>\n\
             <rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n",
            escape(title),
            escape(desc)
        );
        svg
    }

    /// Opens a group with a tooltip title (the full text of a clipped label).
    pub fn group(&mut self, class: &str, tooltip: &str) {
        let _ = writeln!(self.out, "<g class=\"{class}\"><title>{}</title>", escape(tooltip));
    }

    pub fn end_group(&mut self) {
        self.out.push_str("</g>\n");
    }

    pub fn text(&mut self, x: i64, y: i64, style: Style, anchor: Anchor, text: &str) {
        let anchor = match anchor {
            Anchor::Start => "",
            Anchor::Middle => " text-anchor=\"middle\"",
        };
        let _ = writeln!(
            self.out,
            "<text x=\"{x}\" y=\"{y}\" class=\"{}\"{anchor}>{}</text>",
            style.class(),
            escape(text)
        );
    }

    pub fn rect(&mut self, x: i64, y: i64, width: i64, height: i64, class: &str) {
        let _ = writeln!(
            self.out,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{height}\" class=\"{class}\"/>"
        );
    }

    /// A line; `marker` names an arrowhead for its end.
    pub fn line(&mut self, from: (i64, i64), to: (i64, i64), class: &str, marker: Option<&str>) {
        let marker = marker.map(|name| format!(" marker-end=\"url(#{name})\"")).unwrap_or_default();
        let _ = writeln!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"{class}\"{marker}/>",
            from.0, from.1, to.0, to.1
        );
    }

    /// A path (`d` is built from numbers only, never from input).
    pub fn path(&mut self, d: &str, class: &str, marker: Option<&str>) {
        let marker = marker.map(|name| format!(" marker-end=\"url(#{name})\"")).unwrap_or_default();
        let _ = writeln!(self.out, "<path d=\"{d}\" class=\"{class}\"{marker}/>");
    }

    pub fn circle(&mut self, x: i64, y: i64, r: i64, class: &str) {
        let _ = writeln!(self.out, "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" class=\"{class}\"/>");
    }

    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>\n");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_input_is_escaped_and_control_characters_replaced() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&apos;");
        assert_eq!(escape("a\u{1}b\tc"), "a\u{FFFD}b c");
    }

    #[test]
    fn clipping_keeps_short_text_and_marks_cut_text() {
        assert_eq!(clip("7001", 8), "7001");
        assert_eq!(clip("0123456789", 5), "0123…");
    }
}
