//! A small SVG writer: elements with integer coordinates, and the escaping of every text
//! that comes from the input (DNs, user data, site names are input, never markup).

use std::fmt::Write as _;

/// Escapes text for one line of SVG: XML content and attribute values, with tabs and line
/// breaks as spaces. Characters XML 1.0 forbids (control characters other than tab, newline
/// and carriage return) become U+FFFD.
pub fn escape(text: &str) -> String {
    escape_with(text, false)
}

/// Escapes text for HTML (or XML) element content and quoted attribute values, keeping tabs
/// and line breaks: the one escaping the web pages use too, so a page and the ladder inside
/// it escape alike.
pub fn escape_markup(text: &str) -> String {
    escape_with(text, true)
}

fn escape_with(text: &str, keep_breaks: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if keep_breaks => out.push(c),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// 16 px bold: the picture's title.
    Title,
    /// 13 px bold: a site.
    Header,
    /// 12 px bold: a lane's DN.
    LaneTitle,
    /// 11 px: secondary text.
    Small,
    /// 12 px: an event's words.
    Label,
    /// 12 px dark red: a release.
    Release,
    /// 12 px purple: a hop between sites.
    Hop,
    /// 11 px grey: times.
    Time,
    /// 12 px bold dark red: a warning.
    Warn,
    /// 10 px bold white: a number in a badge.
    Badge,
}

impl Style {
    pub fn class(self) -> &'static str {
        match self {
            Style::Title => "t",
            Style::Header => "h",
            Style::LaneTitle => "lt",
            Style::Small => "s",
            Style::Label => "l",
            Style::Release => "lr",
            Style::Hop => "lh",
            Style::Time => "tm",
            Style::Warn => "w",
            Style::Badge => "bd",
        }
    }

    /// The font size of the class, in pixels.
    pub fn px(self) -> f64 {
        match self {
            Style::Title => 16.0,
            Style::Header => 13.0,
            Style::LaneTitle | Style::Label | Style::Release | Style::Hop | Style::Warn => 12.0,
            Style::Small | Style::Time => 11.0,
            Style::Badge => 10.0,
        }
    }
}

/// Where a text is anchored.
#[derive(Debug, Clone, Copy)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// The document being written.
#[derive(Debug, Default)]
pub struct Svg {
    out: String,
}

/// Calm colours: ink #1d2733, site tints, navy arrows, teal routing, purple hops, green
/// talk, amber hold, dark red release.
/// The text classes and the site tints the ladder and the timeline share, so the two
/// pictures on one page read alike.
macro_rules! base_style {
    () => {
        "text{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace;fill:#1d2733}\
.t{font-size:16px;font-weight:bold}.h{font-size:13px;font-weight:bold}.lt{font-size:12px;font-weight:bold}\
.s{font-size:11px;fill:#4a5563}.l{font-size:12px}.lr{font-size:12px;fill:#9b1c1c}\
.lh{font-size:12px;fill:#5b3a8c;font-weight:bold}.tm{font-size:11px;fill:#5f6b7a}\
.w{font-size:12px;fill:#9b1c1c;font-weight:bold}.bd{font-size:10px;font-weight:bold;fill:#ffffff}\
.band{stroke-width:1}.b0{fill:#f2f6fc;stroke:#9fb3d1}.b1{fill:#f1f8f2;stroke:#9cc3a3}\
.b2{fill:#fbf5ec;stroke:#d5b98c}.b3{fill:#f5f1fa;stroke:#b9a5d6}.b4{fill:#eef7f7;stroke:#92c2c2}\
.b5{fill:#fbf0f2;stroke:#d5a0aa}"
    };
}
pub(crate) use base_style;

const STYLE: &str = concat!(
    base_style!(),
    ".c0{fill:#4f74b3}.c1{fill:#4b9a5a}.c2{fill:#c08a2e}.c3{fill:#7d5bb0}\
.c4{fill:#3c9a9a}.c5{fill:#b5546a}.stripe{fill:#1d2733;fill-opacity:0.035}\
.hit{fill:#ffffff;fill-opacity:0}.event:hover .hit,.islink:hover .hit{fill:#ffe9a8;fill-opacity:0.45}\
.lane{stroke:#c3cad4;stroke-width:1;stroke-dasharray:2 3}.life{stroke:#8792a2;stroke-width:1.5}\
.leader{stroke:#c3cad4;stroke-width:1}\
.arrow{stroke:#1f3d7a;stroke-width:1.5}.route{stroke:#16756e;stroke-width:1.5}\
.mark{fill:#1f3d7a}.talk{fill:#2e7d32}.hold{fill:#ffffff;stroke:#c27c0e;stroke-width:2}\
.release{fill:#9b1c1c}.queue{fill:#16756e}\
.link{stroke:#6a3d9a;stroke-width:2.5;stroke-dasharray:7 4;fill:none}.badge{fill:#6a3d9a}\
.rec-agent{fill:#2e7d32;fill-opacity:0.75}.rec-customer{fill:#1565c0;fill-opacity:0.75}\
.rec-call{fill:#6d6d6d;fill-opacity:0.75}\
.finding{fill:none;stroke:#c00000;stroke-width:2;stroke-dasharray:3 2}"
);

impl Svg {
    /// Starts the document with its accessible title and description; `id` prefixes the
    /// ids of the title, the description and the markers (two pictures on one page).
    pub fn open(width: i64, height: i64, id: &str, title: &str, desc: &str) -> Svg {
        Svg::open_with(width, height, id, title, desc, STYLE)
    }

    /// [`Svg::open`] with another stylesheet.
    pub fn open_with(width: i64, height: i64, id: &str, title: &str, desc: &str, style: &str) -> Svg {
        let mut svg = Svg::default();
        let marker = |name: &str, colour: &str| {
            format!(
                "<marker id=\"{id}-{name}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
                 markerHeight=\"8\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\">\
                 <path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker>"
            )
        };
        let _ = write!(
            svg.out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\">\n\
             <title id=\"{id}-title\">{}</title>\n<desc id=\"{id}-desc\">{}</desc>\n\
             <style>{style}</style>\n<defs>{}{}{}</defs>\n\
             <rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n",
            escape(title),
            escape(desc),
            marker("arrowhead", "#1f3d7a"),
            marker("routehead", "#16756e"),
            marker("linkhead", "#6a3d9a"),
        );
        svg
    }

    /// Opens a group with a tooltip title and data attributes (values are escaped).
    pub fn group(&mut self, class: &str, data: &[(&str, &str)], tooltip: &str) {
        let mut attributes = String::new();
        for (name, value) in data {
            let _ = write!(attributes, " data-{name}=\"{}\"", escape(value));
        }
        let _ = writeln!(self.out, "<g class=\"{class}\"{attributes}><title>{}</title>", escape(tooltip));
    }

    pub fn end_group(&mut self) {
        self.out.push_str("</g>\n");
    }

    pub fn text(&mut self, x: i64, y: i64, style: Style, anchor: Anchor, text: &str) {
        let anchor = match anchor {
            Anchor::Start => "",
            Anchor::Middle => " text-anchor=\"middle\"",
            Anchor::End => " text-anchor=\"end\"",
        };
        let _ = writeln!(
            self.out,
            "<text x=\"{x}\" y=\"{y}\" class=\"{}\"{anchor}>{}</text>",
            style.class(),
            escape(text)
        );
    }

    /// A text of a class outside [`Style`] (the timeline's bar words), anchored at its start.
    pub fn text_class(&mut self, x: i64, y: i64, class: &str, text: &str) {
        let _ = writeln!(self.out, "<text x=\"{x}\" y=\"{y}\" class=\"{class}\">{}</text>", escape(text));
    }

    pub fn rect(&mut self, x: i64, y: i64, width: i64, height: i64, class: &str) {
        let _ = writeln!(
            self.out,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{width}\" height=\"{height}\" class=\"{class}\"/>"
        );
    }

    /// A line with data attributes; `marker` names an arrowhead for its end.
    pub fn line(
        &mut self,
        from: (i64, i64),
        to: (i64, i64),
        class: &str,
        data: &[(&str, &str)],
        marker: Option<&str>,
    ) {
        let marker = marker.map(|name| format!(" marker-end=\"url(#{name})\"")).unwrap_or_default();
        let mut attributes = String::new();
        for (name, value) in data {
            let _ = write!(attributes, " data-{name}=\"{}\"", escape(value));
        }
        let _ = writeln!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"{class}\"{attributes}{marker}/>",
            from.0, from.1, to.0, to.1
        );
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
