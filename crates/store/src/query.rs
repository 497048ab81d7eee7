//! The interaction search: its filters, its page and the opaque cursor between pages.

use serde::Serialize;

use crate::error::StoreError;

/// Filters of `GET /v1/interactions`; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InteractionQuery {
    /// A segment with this CallUUID (or call key).
    pub call_uuid: Option<String>,
    /// A segment that had this ConnID (16 lowercase hex digits).
    pub conn_id: Option<String>,
    /// A party DN, the ANI or the DNIS.
    pub dn: Option<String>,
    /// An Inter-Site Link id among its links.
    pub islink: Option<String>,
    /// A segment on this site.
    pub site: Option<String>,
    /// Started at or after (UTC µs).
    pub from_us: Option<i64>,
    /// Started before (UTC µs).
    pub to_us: Option<i64>,
    pub outcome: Option<String>,
    /// `customer`, `agent`, `system`, `unknown`, or the DN that released it.
    pub released_by: Option<String>,
    pub has_findings: Option<bool>,
    pub complete: Option<bool>,
    /// `live`, `settling` or `complete`.
    pub state: Option<String>,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

/// Where the previous page ended: newest first by start time, then by id.
/// Hex digits of an interaction id (`callstitch_link::interaction_id`).
const INTERACTION_ID_DIGITS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub start_us: i64,
    pub id: String,
}

impl Cursor {
    /// `<start µs>.<id>`: URL-safe as it is (ids are hex).
    pub fn encode(&self) -> String {
        format!("{}.{}", self.start_us, self.id)
    }

    /// Reads what [`Cursor::encode`] wrote: a decimal start and an interaction id, which is
    /// 16 lowercase hex digits (anything else is no cursor of this service).
    pub fn decode(text: &str) -> Result<Cursor, StoreError> {
        let bad = || StoreError::BadCursor(text.to_string());
        let (start, id) = text.split_once('.').ok_or_else(bad)?;
        let start_us = start.parse().map_err(|_| bad())?;
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        let id_ok = id.len() == INTERACTION_ID_DIGITS && id.bytes().all(lower_hex);
        if !id_ok {
            return Err(bad());
        }
        Ok(Cursor { start_us, id: id.to_string() })
    }
}

/// One page of interaction summaries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page {
    pub items: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_tampering() {
        let cursor = Cursor { start_us: 1_351_521_660_540_480, id: "8800f70a5c563897".to_string() };
        assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        let before_1970 = Cursor { start_us: -1, id: "8800f70a5c563897".to_string() };
        assert_eq!(Cursor::decode(&before_1970.encode()).ok(), Some(before_1970));
        for bad in ["", "12", "x.abc", "12.", "12.a'b", "12.a b", "12.zzzz", "12.9F0A11", "12.9f0a1g"] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// Interaction ids are 16 hex digits: a shorter or longer id is no cursor of this
    /// service (the adversarial run's `0.0` and `-1.abc` were taken as cursors).
    #[test]
    fn a_cursor_whose_id_is_not_sixteen_hex_digits_is_refused() {
        for bad in ["0.0", "-1.abc", "12.8800f70a5c56389", "12.8800f70a5c5638970", "12.9f0a11"] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?} accepted");
        }
    }
}
