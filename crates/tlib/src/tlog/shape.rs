//! The value shapes of tlog-format.md "Attribute values", read from raw line bytes.
//!
//! Quotes may be ASCII (`'`, `"`) or typographic (‘ ’ “ ”), and a lone `”` stands for an
//! empty string. A value string runs to the *last* quote on the line, so apostrophes inside
//! it survive; a key runs to the first closing quote followed by white space or `(`.

/// The length of the quote character starting at `bytes[0]`, if it is one.
pub(crate) fn quote_len(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [b'\'' | b'"', ..] => Some(1),
        [0xE2, 0x80, 0x98 | 0x99 | 0x9C | 0x9D, ..] => Some(3),
        _ => None,
    }
}

/// The length of a quote character that ends `bytes`, if any.
fn trailing_quote_len(bytes: &[u8]) -> Option<usize> {
    match bytes {
        [.., b'\'' | b'"'] => Some(1),
        [.., 0xE2, 0x80, 0x98 | 0x99 | 0x9C | 0x9D] => Some(3),
        _ => None,
    }
}

/// Bytes of leading spaces and tabs.
pub(crate) fn indent_of(line: &[u8]) -> usize {
    line.iter().take_while(|b| **b == b' ' || **b == b'\t').count()
}

/// `bytes` without its leading spaces and tabs.
pub(crate) fn trim_start(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

/// `bytes` without its trailing spaces and tabs.
pub(crate) fn trim_end(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// Splits off the first white-space-delimited token; the rest has its leading white space
/// removed.
pub(crate) fn split_token(bytes: &[u8]) -> (&[u8], &[u8]) {
    let end = crate::tlog::scan::find_gap(bytes).unwrap_or(bytes.len());
    let (token, rest) = bytes.split_at_checked(end).unwrap_or((bytes, &[]));
    (token, trim_start(rest))
}

/// A scalar or list opener, as found after an attribute name or a pair key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shape<'a> {
    /// A quoted string's content.
    Str(&'a [u8]),
    /// An opening quote with no closing one: the text after the opener.
    Unterminated(&'a [u8]),
    /// Unquoted text (numbers, hex, words), or quoted text followed by more text.
    Bare(&'a [u8]),
    /// `[n] 00 02 ..`: a key-value list whose pairs follow on the next lines. `declared` is
    /// the pair count of its first two bytes, when printed.
    ListHeader { declared: Option<u16> },
    /// `(list)`: a nested list; `first` is what follows on the same line (its first pair).
    NestedList { first: &'a [u8] },
}

/// Reads a value (already trimmed at the start).
pub(crate) fn value_shape(value: &[u8]) -> Shape<'_> {
    let value = trim_end(value);
    if let Some(opener) = quote_len(value) {
        return quoted_to_last(value, opener);
    }
    if let Some(rest) = value.strip_prefix(b"(list)") {
        return Shape::NestedList { first: trim_start(rest) };
    }
    if let Some(declared) = list_header(value) {
        return Shape::ListHeader { declared };
    }
    Shape::Bare(value)
}

fn quoted_to_last(value: &[u8], opener: usize) -> Shape<'_> {
    let inner = value.get(opener..).unwrap_or_default();
    // The text between the quotes; none when the closer is the opener itself.
    let content = trailing_quote_len(value).and_then(|closer| inner.get(..inner.len().checked_sub(closer)?));
    match content {
        Some(content) => Shape::Str(content),
        // A lone typographic closing quote is how word processors print ''.
        None if value == "”".as_bytes() || value == "“".as_bytes() => Shape::Str(&[]),
        None => {
            let has_closer =
                (0..inner.len()).filter_map(|i| inner.get(i..)).any(|rest| quote_len(rest).is_some());
            if has_closer {
                Shape::Bare(value)
            } else {
                Shape::Unterminated(inner)
            }
        }
    }
}

/// `[108] 00 01 03 00..` → `Some(Some(1))`; `[108]` alone → `Some(None)`; not a header → `None`.
fn list_header(value: &[u8]) -> Option<Option<u16>> {
    let rest = value.strip_prefix(b"[")?;
    let (count, after) = crate::bytes::split_around(rest, rest.iter().position(|b| *b == b']')?, 1)?;
    if count.is_empty() || !count.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut bytes = after
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|token| !token.is_empty())
        .map(|token| token.strip_suffix(b"..").unwrap_or(token));
    let high = bytes.next().and_then(hex_byte);
    let low = bytes.next().and_then(hex_byte);
    Some(match (high, low) {
        (Some(high), Some(low)) => Some(u16::from(high) << 8 | u16::from(low)),
        _ => None,
    })
}

fn hex_byte(token: &[u8]) -> Option<u8> {
    if token.len() != 2 {
        return None;
    }
    crate::ids::parse_hex_u64(token).map(|value| value as u8)
}

/// Reads a pair key (`'key'` followed by white space, `(` or the end of the line) and
/// returns it with the rest of the line, trimmed at the start.
pub(crate) fn pair_key(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let opener = quote_len(line)?;
    let mut index = opener;
    while let Some(rest @ [_, ..]) = line.get(index..) {
        if let Some(closer) = quote_len(rest) {
            let after = rest.get(closer..).unwrap_or_default();
            if matches!(after.first(), None | Some(b' ' | b'\t' | b'(')) {
                return Some((line.get(opener..index)?, trim_start(after)));
            }
            index += closer;
        } else {
            index += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_run_to_the_last_quote_of_any_kind() {
        assert_eq!(value_shape(b"'7001'"), Shape::Str(b"7001"));
        assert_eq!(value_shape(b"''"), Shape::Str(b""));
        assert_eq!(value_shape(b"'O'Brien'  "), Shape::Str(b"O'Brien"));
        assert_eq!(value_shape("‘2 Remote’".as_bytes()), Shape::Str(b"2 Remote"));
        assert_eq!(value_shape("“2 Remote”".as_bytes()), Shape::Str(b"2 Remote"));
        assert_eq!(value_shape("”".as_bytes()), Shape::Str(b""));
        assert_eq!(value_shape(b"\"2214\""), Shape::Str(b"2214"));
    }

    #[test]
    fn cut_and_odd_strings_are_told_apart() {
        assert_eq!(value_shape(b"'00RP30KH70"), Shape::Unterminated(b"00RP30KH70"));
        assert_eq!(value_shape(b"'"), Shape::Unterminated(b""));
        assert_eq!(value_shape(b"'abc' tail"), Shape::Bare(b"'abc' tail"));
    }

    #[test]
    fn list_headers_give_the_declared_pair_count() {
        assert_eq!(value_shape(b"[108] 00 01 03 00.."), Shape::ListHeader { declared: Some(1) });
        assert_eq!(value_shape(b"[214] 00 02 03 00.."), Shape::ListHeader { declared: Some(2) });
        assert_eq!(value_shape(b"[9]"), Shape::ListHeader { declared: None });
        assert_eq!(value_shape(b"[abc] 00"), Shape::Bare(b"[abc] 00"));
        assert_eq!(value_shape(b"(list) 'k'\t'v'"), Shape::NestedList { first: b"'k'\t'v'" });
        assert_eq!(value_shape(b"(list)"), Shape::NestedList { first: b"" });
    }

    #[test]
    fn keys_end_at_a_quote_before_space_or_paren() {
        assert_eq!(
            pair_key(b"'ReleasingParty'\t'2 Remote'"),
            Some((&b"ReleasingParty"[..], &b"'2 Remote'"[..]))
        );
        assert_eq!(pair_key(b"'RRequestedSkills'(list)"), Some((&b"RRequestedSkills"[..], &b"(list)"[..])));
        assert_eq!(
            pair_key("‘location-name’ ‘X’".as_bytes()),
            Some((&b"location-name"[..], "‘X’".as_bytes()))
        );
        assert_eq!(pair_key(b"'it's' 1"), Some((&b"it's"[..], &b"1"[..])));
        assert_eq!(pair_key(b"'cut"), None);
    }
}
