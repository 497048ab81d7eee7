//! Consistency findings: where a recording is missing, unexplained or wrong, each with the
//! rule of recording.md §6 behind it and the evidence.

use serde::{Deserialize, Serialize};

callstitch_tlib::labelled_enum! {
    /// The problems of recording.md §6, plus problems of the feed itself.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum Rule {
        /// Recording not continued after a multi-site (REFER) transfer.
        P1 => "P1",
        /// Orphan media file: matches no call, or only one whose life does not contain it.
        P2 => "P2",
        /// Recording lost around a failed or cancelled transfer: the recorded party stayed on
        /// the call after its file ended, and no file covers the rest.
        P3 => "P3",
        /// Agent recording running past the agent's departure (R2).
        P4 => "P4",
        /// Expected recording missing: a trigger with no file.
        P5 => "P5",
        /// Grouping disagrees with linking.
        P6 => "P6",
        /// GSIP_REC_FN prefix is not the call's CallUUID.
        P7 => "P7",
        /// Duplicate recording: overlapping files of the same call, DN and side.
        P8 => "P8",
        /// Recording of a call that never connected.
        P9 => "P9",
        /// Recording outlives the call.
        P10 => "P10",
        /// A line of the media feed that could not be taken.
        Feed => "feed",
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    /// The interaction it is about (absent for a file that matches none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
    /// Segments, as `site/key`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    /// Media ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    pub message: String,
    /// What shows it: times, triggers (`site seq message`), feed lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::RecordedSide;

    /// The rule and side names of docs/recording.md §5–6, as the text report, the API and the
    /// pages show them.
    #[test]
    fn rule_and_side_labels_are_the_documented_names() {
        assert_eq!(Rule::ALL.map(Rule::label)[..3], ["P1", "P2", "P3"]);
        assert_eq!(Rule::P10.label(), "P10");
        assert_eq!(Rule::Feed.label(), "feed");
        assert_eq!(serde_json::to_value(Rule::Feed).ok(), Some(serde_json::json!("feed")));
        assert_eq!(RecordedSide::ALL.map(RecordedSide::label), ["agent", "customer", "call"]);
        assert_eq!(serde_json::to_value(RecordedSide::Customer).ok(), Some(serde_json::json!("customer")));
    }
}
