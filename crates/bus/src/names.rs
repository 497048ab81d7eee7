//! What things are called on the bus: a site's stream and subject, and each message's id.
//! Everything is under a prefix ([`DEFAULT_PREFIX`]; [`crate::BusOptions::prefix`]): site
//! `north` has the subject `callstitch.events.north` and the stream `CALLSTITCH_EVENTS_north`.
//!
//! A site name is free text (a T-Server's Application name, or `NAME=` on the command line);
//! stream names and subject tokens allow much less (no `.`, `*`, `>`, white space or path
//! separators). [`SiteToken`] writes a site name with only ASCII letters, digits and `-`, and
//! `_XX` (two upper-case hex digits) for every other byte, `_` itself included (and `_` alone
//! for the empty name): the mapping is one to one, so two sites never share a stream, and it reads back ([`SiteToken::site`]).

use std::fmt;

use callstitch_follow::Fingerprint;

/// The prefix of every subject, stream and bucket unless told otherwise: two estates (or a
/// test) sharing one NATS server use two prefixes.
pub const DEFAULT_PREFIX: &str = "callstitch";

/// A site name written as a NATS token. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteToken(String);

impl SiteToken {
    pub fn new(site: &str) -> SiteToken {
        if site.is_empty() {
            // A token is never empty (a subject cannot end in a dot); `_` alone is no byte.
            return SiteToken("_".to_string());
        }
        let mut token = String::with_capacity(site.len());
        for byte in site.bytes() {
            if byte.is_ascii_alphanumeric() || byte == b'-' {
                token.push(char::from(byte));
            } else {
                token.push('_');
                token.push_str(&format!("{byte:02X}"));
            }
        }
        SiteToken(token)
    }

    /// The site name again, or `None` for a token [`SiteToken::new`] does not write.
    pub fn site(token: &str) -> Option<String> {
        match token {
            "" => return None,
            "_" => return Some(String::new()),
            _ => {}
        }
        let mut bytes = Vec::with_capacity(token.len());
        let mut rest = token.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            if first != b'_' {
                if !(first.is_ascii_alphanumeric() || first == b'-') {
                    return None;
                }
                bytes.push(first);
                rest = tail;
                continue;
            }
            let (hex, tail) = tail.split_at_checked(2)?;
            let hex = std::str::from_utf8(hex).ok()?;
            if hex.bytes().any(|digit| digit.is_ascii_lowercase()) {
                return None;
            }
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
            rest = tail;
        }
        String::from_utf8(bytes).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The site's subject: `<prefix>.events.<token>`.
    pub fn subject(&self, prefix: &str) -> String {
        format!("{prefix}.events.{}", self.0)
    }

    /// The site's stream: `<PREFIX>_EVENTS_<token>`.
    pub fn stream(&self, prefix: &str) -> String {
        format!("{}_EVENTS_{}", prefix.to_ascii_uppercase(), self.0)
    }
}

impl fmt::Display for SiteToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// The id JetStream drops repeats by (`Nats-Msg-Id`): the event's file by its fingerprint and
/// the byte offset just after its block. Unique within a site's stream; the same event read
/// again from the same file gets the same id.
pub fn message_id(fingerprint: &Fingerprint, end_offset: u64) -> String {
    format!("{:016x}.{}.{end_offset}", fingerprint.hash, fingerprint.len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_names_are_kept_and_the_rest_is_written_in_hex() {
        assert_eq!(SiteToken::new("SIPS-North2").as_str(), "SIPS-North2");
        assert_eq!(SiteToken::new("a.b c_d").as_str(), "a_2Eb_20c_5Fd");
        assert_eq!(SiteToken::new("Zürich").as_str(), "Z_C3_BCrich");
        assert_eq!(SiteToken::new("north").subject(DEFAULT_PREFIX), "callstitch.events.north");
        assert_eq!(SiteToken::new("north").stream(DEFAULT_PREFIX), "CALLSTITCH_EVENTS_north");
    }

    #[test]
    fn tokens_that_were_not_written_by_new_do_not_read_back() {
        for token in ["a.b", "_2e", "_2", "", "a b", "_ZZ"] {
            assert_eq!(SiteToken::site(token), None, "{token}");
        }
    }

    proptest! {
        /// One site, one stream: the token reads back to the name, and holds nothing NATS
        /// refuses in a stream name or a subject token.
        #[test]
        fn every_site_name_has_its_own_valid_token(site in "\\PC{0,24}") {
            let token = SiteToken::new(&site);
            prop_assert_eq!(SiteToken::site(token.as_str()), Some(site.clone()));
            prop_assert!(token.as_str().bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
        }
    }
}
