//! The `check` report: the JSON object per call has the fields docs/check-json.md documents,
//! the table row says the same in one line, and the summary counts models, conformance and
//! deviations by kind.

use crate::common;

use callstitch_engine::{CallReport, Summary};

const DOCUMENTED_CALL_FIELDS: &[&str] = &[
    "site",
    "key",
    "call_uuid",
    "conn_ids",
    "call_type",
    "first_time",
    "last_time",
    "model",
    "model_name",
    "features",
    "conformant",
    "deviations",
    "inferences",
    "outcome",
    "release",
    "parties",
    "complete",
    "end_reason",
    "events",
];

#[test]
fn call_report_json_has_the_documented_fields() {
    let call = common::single("m02_acd.log");
    let report = CallReport::from_call(&call);
    let line = report.to_json_line();
    if std::env::var_os("PRINT_EXAMPLE").is_some() {
        println!("{line}");
    }
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    let object = json.as_object().unwrap();
    for field in DOCUMENTED_CALL_FIELDS {
        assert!(object.contains_key(*field), "missing {field}");
    }
    let documented =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/check-json.md"))
            .unwrap_or_default();
    for field in object.keys() {
        assert!(documented.is_empty() || documented.contains(&format!("`{field}`")), "{field} is documented");
    }
    assert_eq!(json["model"], "acd");
    assert_eq!(json["model_name"], "Internal/Inbound Call to ACD");
    assert_eq!(json["outcome"], "answered");
    assert_eq!(json["release"]["provenance"], "releasing-party");
    assert_eq!(json["release"]["ended_by"]["dn"], "7003");
    assert_eq!(json["parties"][1]["exit"], "diverted");
    assert_eq!(json["parties"][1]["queued_ms"], 12000);
    assert!(!line.contains("null,") && !line.contains(":null"), "absent fields are left out");
}

#[test]
fn table_row_and_summary() {
    let mut summary = Summary::default();
    let mut rows = Vec::new();
    for name in
        ["m01_internal.log", "m02_acd.log", "m02_acd_p1.log", "t05_missing_required.log", "r6_conflict.log"]
    {
        let (calls, stats) = common::run(name);
        for call in &calls {
            summary.add(call);
            rows.push(CallReport::from_call(call).table_row());
        }
        summary.set_engine_stats(&stats);
    }
    assert!(rows[1].contains("acd") && rows[1].contains("yes") && rows[1].contains("answered"));
    assert!(rows[3].contains(" no ") && rows[3].contains("missing-event"), "{}", rows[3]);
    assert!(CallReport::table_header().starts_with("SITE"));
    assert_eq!(summary.calls, 5);
    assert_eq!(summary.conformant, 4);
    assert!((summary.conformance_rate() - 0.8).abs() < 1e-9);
    assert_eq!(summary.models.get("internal-inbound"), Some(&3));
    assert_eq!(summary.models.get("acd"), Some(&2));
    assert_eq!(summary.deviations.get("missing-event"), Some(&1));
    assert_eq!(summary.release_conflicts, 1);
    let text = summary.render_text();
    assert!(text.contains("conformant: 4 (80.0%)"), "{text}");
    assert!(text.contains("missing-event"));
    assert!(text.contains("Internal/Inbound Call to ACD"));
    serde_json::to_string(&summary).unwrap();
}

/// Every `label()` is the name serde writes, so text reports and JSON never disagree.
#[test]
fn labels_are_the_json_names() {
    use callstitch_engine::{EnderKind, Exit, PartyState, ReleasedBy};
    fn json<T: serde::Serialize>(value: T) -> String {
        serde_json::to_value(value).unwrap().as_str().unwrap().to_string()
    }
    for kind in [
        EnderKind::Customer,
        EnderKind::Agent,
        EnderKind::System,
        EnderKind::Application,
        EnderKind::Network,
        EnderKind::Unknown,
    ] {
        assert_eq!(kind.label(), json(kind));
    }
    for by in [ReleasedBy::Itself, ReleasedBy::Other, ReleasedBy::Unknown] {
        assert_eq!(by.label(), json(by));
    }
    for exit in [
        Exit::Released,
        Exit::Abandoned,
        Exit::Diverted,
        Exit::Routed,
        Exit::LeftByTransfer,
        Exit::LeftByConference,
        Exit::RemovedFromConference,
        Exit::Moved,
        Exit::StillActive,
        Exit::Unknown,
    ] {
        assert_eq!(exit.label(), json(exit));
    }
    for state in [
        PartyState::Null,
        PartyState::Initiated,
        PartyState::Dialing,
        PartyState::HeldDialing,
        PartyState::Queued,
        PartyState::Routing,
        PartyState::Alerting,
        PartyState::Busy,
        PartyState::Connected,
        PartyState::Held,
    ] {
        assert_eq!(state.label(), json(state));
    }
}
