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

/// The words JSON and the text reports give the engine's enums are the ones docs/check-json.md
/// and docs/release.md document (a few pinned here, so a renamed label is caught), and every
/// value of every one reads back from its JSON name.
#[test]
fn enum_labels_are_the_documented_json_names() {
    use callstitch_engine::{
        CallModel, DeviationKind, EndReason, EnderKind, Exit, Feature, InferenceKind, Outcome, PartyKind,
        PartyState, Provenance, ReleasedBy,
    };
    fn json<T: serde::Serialize>(value: T) -> String {
        serde_json::to_value(value).unwrap().as_str().unwrap().to_string()
    }
    assert_eq!(json(Provenance::CtrlPartyCall), "ctrl-party.call");
    assert_eq!(json(ReleasedBy::Itself), "self");
    assert_eq!(json(EnderKind::Customer), "customer");
    assert_eq!(json(PartyState::HeldDialing), "held-dialing");
    assert_eq!(json(Exit::LeftByTransfer), "left-by-transfer");
    assert_eq!(json(PartyKind::RoutingPoint), "routing-point");
    assert_eq!(json(EndReason::EndOfInput), "end-of-input");
    assert_eq!(json(DeviationKind::ConsultMainNotFound), "consult-main-not-found");
    assert_eq!(json(InferenceKind::ClosedByCallDeleted), "closed-by-call-deleted");
    assert_eq!(json(CallModel::RoutingRouteQueue), "routing-route-queue");
    assert_eq!(json(Feature::TwoStepTransferAfterAnswer), "two-step-transfer-after-answer");
    assert_eq!(json(Outcome::AbandonedInQueue), "abandoned-in-queue");

    fn round_trip<T>(values: &[T])
    where
        T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Display + std::fmt::Debug + PartialEq,
    {
        for value in values {
            let text = serde_json::to_string(value).unwrap();
            assert_eq!(text, format!("\"{value}\""));
            assert_eq!(&serde_json::from_str::<T>(&text).unwrap(), value);
        }
        assert!(serde_json::from_str::<T>("\"no-such-label\"").is_err());
    }
    round_trip(&Provenance::ALL);
    round_trip(&ReleasedBy::ALL);
    round_trip(&EnderKind::ALL);
    round_trip(&PartyState::ALL);
    round_trip(&Exit::ALL);
    round_trip(&PartyKind::ALL);
    round_trip(&EndReason::ALL);
    round_trip(&DeviationKind::ALL);
    round_trip(&InferenceKind::ALL);
    round_trip(&CallModel::ALL);
    round_trip(&Feature::ALL);
    round_trip(&Outcome::ALL);
}
