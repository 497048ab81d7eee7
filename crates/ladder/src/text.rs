//! How wide a text is and how it breaks into lines, so that every label is placed where it
//! fits instead of being cut.
//!
//! Widths are estimated as characters × font size × 0.6, a bound for the monospace fonts
//! of the stylesheet (DejaVu Sans Mono and its stand-ins are 0.60 em wide); the pictures are
//! laid out with it and their tests check it.

/// The width of one character as a share of the font size.
pub const CHAR_EM: f64 = 0.6;

/// The width of `text` at `font_px`, in pixels, rounded up.
pub fn width(text: &str, font_px: f64) -> i64 {
    (text.chars().count() as f64 * font_px * CHAR_EM).ceil() as i64
}

/// How many characters fit in `px` at `font_px` (at least one).
pub fn chars_in(px: i64, font_px: f64) -> usize {
    ((px as f64) / (font_px * CHAR_EM)).floor().max(1.0) as usize
}

/// Breaks `text` into lines of at most `columns` characters: at spaces where it can, inside
/// a word longer than a line where it must. At most `max_lines` lines; when more would be
/// needed the last line ends in `…` and the second value is true (the caller then gives
/// the full text as a tooltip).
pub fn wrap(text: &str, columns: usize, max_lines: usize) -> (Vec<String>, bool) {
    let columns = columns.max(2);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        let used = current.chars().count();
        if used > 0 && used + 1 + word.len() <= columns {
            current.push(' ');
            current.extend(word.iter());
            continue;
        }
        if used > 0 {
            lines.push(std::mem::take(&mut current));
        }
        while word.len() > columns {
            let rest = word.split_off(columns);
            lines.push(word.iter().collect());
            word = rest;
        }
        current = word.iter().collect();
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    let max_lines = max_lines.max(1);
    if lines.len() <= max_lines {
        return (lines, false);
    }
    lines.truncate(max_lines);
    if let Some(last) = lines.last_mut() {
        let mut kept: Vec<char> = last.chars().collect();
        kept.truncate(columns - 1);
        *last = kept.into_iter().collect::<String>() + "…";
    }
    (lines, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_breaks_at_spaces_and_inside_long_words_and_marks_a_cut() {
        assert_eq!(wrap("a bb ccc dddd", 6, 9), (vec!["a bb".into(), "ccc".into(), "dddd".into()], false));
        assert_eq!(wrap("+15554649025", 5, 9).0, ["+1555", "46490", "25"]);
        assert_eq!(wrap("a bb ccc dddd", 6, 2), (vec!["a bb".into(), "ccc…".into()], true));
        assert_eq!(wrap("", 6, 2).0, [""]);
    }

    #[test]
    fn widths_are_characters_times_font_size_times_point_six() {
        assert_eq!(width("released", 12.0), 58);
        assert_eq!(chars_in(72, 12.0), 10);
    }
}
