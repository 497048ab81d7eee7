//! Splitting a line's bytes where a search found something, without an index that could
//! panic: the readers find a byte or a word, then take what is before and after it.

/// What is before `bytes[at..at + len]` and what is after it; `None` when that span is not
/// all inside `bytes`.
#[inline(always)]
pub(crate) fn split_around(bytes: &[u8], at: usize, len: usize) -> Option<(&[u8], &[u8])> {
    let (before, rest) = bytes.split_at_checked(at)?;
    Some((before, rest.get(len..)?))
}

/// What is before the first `needle` in `bytes` and what is after it.
pub(crate) fn split_once<'a>(bytes: &'a [u8], needle: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    split_around(bytes, memchr::memmem::find(bytes, needle)?, needle.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_around_drops_the_span_and_refuses_one_past_the_end() {
        assert_eq!(split_around(b"key:value", 3, 1), Some((&b"key"[..], &b"value"[..])));
        assert_eq!(split_around(b"key:", 3, 1), Some((&b"key"[..], &b""[..])));
        assert_eq!(split_around(b"key", 3, 1), None);
        assert_eq!(split_around(b"key", 4, 0), None);
    }

    #[test]
    fn split_once_splits_at_the_first_needle() {
        assert_eq!(split_once(b"a ; b ; c", b" ; "), Some((&b"a"[..], &b"b ; c"[..])));
        assert_eq!(split_once(b"abc", b" ; "), None);
    }
}
