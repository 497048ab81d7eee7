//! Byte searches for the short spans of a log line, eight bytes at a time in plain integer
//! arithmetic (no unsafe, no SIMD).
//!
//! The reader searches every line for its newline and every attribute line for the white
//! space after its name: spans of 10 to 40 bytes. `memchr` is built for long haystacks; on a
//! span this short its dispatch and set-up cost more than the search (measured with
//! callgrind at about 60 instructions a call, against about 30 here). A search that has not
//! found its byte in the first [`SHORT`] bytes hands the rest to `memchr`.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;
/// Bytes searched a word at a time before `memchr` takes over.
const SHORT: usize = 64;

/// A mask with the high bit set in the lowest zero byte of `word` (and maybe in bytes above
/// it, never below): the classic "has zero byte" test.
#[inline(always)]
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

/// The first byte of `haystack` that `marks` marks (a mask of the high bits of the bytes of
/// an eight-byte word, lowest byte first), as a scan of its bytes in order would find it.
#[inline(always)]
fn find(haystack: &[u8], marks: impl Fn(u64) -> u64, wanted: impl Fn(u8) -> bool) -> Option<usize> {
    let mut words = haystack.chunks_exact(8);
    for (index, chunk) in words.by_ref().enumerate() {
        let mut eight = [0_u8; 8];
        eight.copy_from_slice(chunk);
        let found = marks(u64::from_le_bytes(eight));
        if found != 0 {
            return Some(index * 8 + (found.trailing_zeros() / 8) as usize);
        }
    }
    let checked = haystack.len() - words.remainder().len();
    words.remainder().iter().position(|byte| wanted(*byte)).map(|found| checked + found)
}

/// The first `byte` in `haystack`, as `memchr::memchr` finds it.
#[inline(always)]
pub(crate) fn find_byte(byte: u8, haystack: &[u8]) -> Option<usize> {
    let pattern = ONES * u64::from(byte);
    if let Some((short, rest)) = haystack.split_at_checked(SHORT) {
        if let Some(found) = find(short, |word| zero_bytes(word ^ pattern), |b| b == byte) {
            return Some(found);
        }
        return memchr::memchr(byte, rest).map(|found| SHORT + found);
    }
    find(haystack, |word| zero_bytes(word ^ pattern), |b| b == byte)
}

/// The first tab or space in `haystack`, as `memchr::memchr2(b'\t', b' ', ..)` finds it.
#[inline(always)]
pub(crate) fn find_gap(haystack: &[u8]) -> Option<usize> {
    let marks = |word: u64| {
        zero_bytes(word ^ (ONES * u64::from(b'\t'))) | zero_bytes(word ^ (ONES * u64::from(b' ')))
    };
    let wanted = |byte: u8| matches!(byte, b'\t' | b' ');
    if let Some((short, rest)) = haystack.split_at_checked(SHORT) {
        if let Some(found) = find(short, marks, wanted) {
            return Some(found);
        }
        return memchr::memchr2(b'\t', b' ', rest).map(|found| SHORT + found);
    }
    find(haystack, marks, wanted)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Bytes drawn mostly from the ones searched for and their neighbours (a borrow in the
    /// word arithmetic could mark the wrong byte), at every length around the word size.
    fn haystacks() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            Just(b'\n'),
            Just(b'\t'),
            Just(b' '),
            Just(0x0B_u8),
            Just(0x21_u8),
            Just(0x00_u8),
            Just(0x80_u8),
            Just(0xFF_u8),
            any::<u8>(),
        ];
        prop::collection::vec(byte, 0..150)
    }

    proptest! {
        #[test]
        fn find_byte_finds_what_memchr_finds(haystack in haystacks()) {
            prop_assert_eq!(find_byte(b'\n', &haystack), memchr::memchr(b'\n', &haystack));
            prop_assert_eq!(find_byte(0x00, &haystack), memchr::memchr(0x00, &haystack));
            prop_assert_eq!(find_byte(0x80, &haystack), memchr::memchr(0x80, &haystack));
        }

        #[test]
        fn find_gap_finds_what_memchr2_finds(haystack in haystacks()) {
            prop_assert_eq!(find_gap(&haystack), memchr::memchr2(b'\t', b' ', &haystack));
        }
    }

    #[test]
    fn a_byte_past_the_short_span_is_found() {
        let mut long = vec![b'x'; 200];
        long[150] = b'\n';
        long[170] = b' ';
        assert_eq!(find_byte(b'\n', &long), Some(150));
        assert_eq!(find_gap(&long), Some(170));
        assert_eq!(find_byte(b'\n', &long[151..]), None);
    }
}
