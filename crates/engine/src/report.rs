//! What `callstitch check` prints: one report per finished call (a JSON object or a table
//! row) and a summary of the run. docs/check-json.md documents every field.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use callstitch_tlib::{CallType, CallUuid, ConnId, DnRole, EventProvenance, SipEnd, Text, Timestamp};
use serde::Serialize;

use crate::call::CallPointer;
use crate::deviation::{Deviation, DeviationKind};
use crate::engine::EngineStats;
use crate::finished::{EndReason, FinishedCall};
use crate::model::{CallModel, Feature, Outcome};
use crate::party::{Party, PartyKind};
use crate::release::{CallVerdict, PartyVerdict};
use crate::state::{Exit, PartyState};

/// One party in a call report.
#[derive(Debug, Clone, Serialize)]
pub struct PartyReport {
    pub dn: Text,
    pub kind: PartyKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<DnRole>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Text>,
    pub final_state: PartyState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exit_inferred: bool,
    pub dialing_ms: i64,
    pub ringing_ms: i64,
    pub queued_ms: i64,
    pub talking_ms: i64,
    pub held_ms: i64,
    pub events: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<PartyVerdict>,
}

impl PartyReport {
    fn from_party(party: &Party) -> PartyReport {
        let times = &party.times;
        PartyReport {
            dn: party.dn.clone(),
            kind: party.kind,
            role: party.role.clone(),
            queue: party.queue.clone(),
            final_state: party.state,
            exit: party.exit,
            exit_inferred: party.exit_inferred,
            dialing_ms: times.dialing_us / 1000,
            ringing_ms: times.ringing_us / 1000,
            queued_ms: times.queued_us / 1000,
            talking_ms: times.talking_us / 1000,
            held_ms: times.held_us / 1000,
            events: party.history.len(),
            release: party.verdict.clone(),
        }
    }
}

/// One finished call as `callstitch check` reports it (one JSON line with `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    pub site: Text,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_uuid: Option<CallUuid>,
    pub conn_ids: Vec<ConnId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_type: Option<CallType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Timestamp>,
    pub model: CallModel,
    pub model_name: &'static str,
    pub features: Vec<Feature>,
    pub conformant: bool,
    pub deviations: Vec<Deviation>,
    pub inferences: usize,
    pub outcome: Outcome,
    pub release: CallVerdict,
    /// `sip-layer` for a call rebuilt from the SIP layer; left out for T-Library calls.
    #[serde(skip_serializing_if = "EventProvenance::is_t_library")]
    pub provenance: EventProvenance,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_end: Option<SipEnd>,
    pub parties: Vec<PartyReport>,
    pub complete: bool,
    pub end_reason: EndReason,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consult_of: Option<CallPointer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<CallPointer>,
    pub events: u32,
}

impl CallReport {
    pub fn from_call(call: &FinishedCall) -> CallReport {
        CallReport {
            site: call.site.clone(),
            key: call.key.clone(),
            call_uuid: call.call_uuid.clone(),
            conn_ids: call.conn_ids.clone(),
            call_type: call.call_type.clone(),
            first_time: call.first_time,
            last_time: call.last_time,
            model: call.model,
            model_name: call.model.name(),
            features: call.features.clone(),
            conformant: call.conformant,
            deviations: call.deviations.clone(),
            inferences: call.inferences.len(),
            outcome: call.outcome,
            release: call.release.clone(),
            provenance: call.provenance,
            sip_end: call.sip_end.clone(),
            parties: call.parties.iter().map(PartyReport::from_party).collect(),
            complete: call.complete,
            end_reason: call.end_reason,
            uncertain: call.uncertain,
            consult_of: call.consult_of.clone(),
            merged_into: call.merged_into.clone(),
            events: call.event_count,
        }
    }

    /// The JSON line `check --json` prints.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| format!("{{\"error\":\"{error}\"}}"))
    }

    /// The header of the table [`CallReport::table_row`] fills.
    pub fn table_header() -> String {
        format!(
            "{:<12} {:<34} {:<20} {:<4} {:<24} {:<26} {}",
            "SITE", "CALL", "MODEL", "OK", "OUTCOME", "ENDED BY", "DEVIATIONS"
        )
    }

    /// One line per call: site, key, model, conformance, outcome, who ended it (with
    /// provenance, or the candidate of an unknown verdict with a `?`), deviation kinds.
    pub fn table_row(&self) -> String {
        let ok = if self.conformant { "yes" } else { "no" };
        let ender = &self.release.ended_by;
        let ended_by = match &self.release.candidate {
            Some(candidate) => format!(
                "unknown (?{}:{} [{}])",
                candidate.ended_by.dn.as_deref().unwrap_or("-"),
                candidate.ended_by.kind.label(),
                candidate.provenance.label()
            ),
            None => format!(
                "{}:{} [{}]",
                ender.dn.as_deref().unwrap_or("-"),
                ender.kind.label(),
                self.release.provenance.label()
            ),
        };
        let mut deviations: Vec<&str> =
            self.deviations.iter().map(|deviation| deviation.kind.label()).collect();
        deviations.dedup();
        let outcome = if self.complete {
            self.outcome.slug().to_string()
        } else {
            format!("{} (incomplete)", self.outcome.slug())
        };
        format!(
            "{:<12} {:<34} {:<20} {:<4} {:<24} {:<26} {}",
            self.site,
            self.key,
            self.model.slug(),
            ok,
            outcome,
            ended_by,
            if deviations.is_empty() { "-".to_string() } else { deviations.join(",") }
        )
    }
}

/// Totals over the calls of a run, for the end of `check`'s output.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub calls: u64,
    pub conformant: u64,
    pub complete: u64,
    /// Calls per model (slug).
    pub models: BTreeMap<&'static str, u64>,
    /// Conformant calls per model (slug).
    pub models_conformant: BTreeMap<&'static str, u64>,
    pub outcomes: BTreeMap<&'static str, u64>,
    pub features: BTreeMap<&'static str, u64>,
    /// Deviations by kind (each deviation counted).
    pub deviations: BTreeMap<&'static str, u64>,
    /// Who ended the calls, by provenance label.
    pub release_provenance: BTreeMap<&'static str, u64>,
    pub release_conflicts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineStats>,
}

impl Summary {
    pub fn add(&mut self, call: &FinishedCall) {
        self.calls += 1;
        let model = call.model.slug();
        *self.models.entry(model).or_default() += 1;
        if call.conformant {
            self.conformant += 1;
            *self.models_conformant.entry(model).or_default() += 1;
        }
        if call.complete {
            self.complete += 1;
        }
        *self.outcomes.entry(call.outcome.slug()).or_default() += 1;
        for feature in &call.features {
            *self.features.entry(feature.slug()).or_default() += 1;
        }
        for deviation in &call.deviations {
            *self.deviations.entry(deviation.kind.label()).or_default() += 1;
        }
        *self.release_provenance.entry(call.release.provenance.label()).or_default() += 1;
        if call.release.conflict {
            self.release_conflicts += 1;
        }
    }

    pub fn set_engine_stats(&mut self, stats: &EngineStats) {
        self.engine = Some(stats.clone());
    }

    /// Conformant calls over all calls (1.0 when there are none).
    pub fn conformance_rate(&self) -> f64 {
        if self.calls == 0 {
            return 1.0;
        }
        self.conformant as f64 / self.calls as f64
    }

    /// The summary as text for a terminal.
    pub fn render_text(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "calls: {}  conformant: {} ({:.1}%)  complete: {}",
            self.calls,
            self.conformant,
            self.conformance_rate() * 100.0,
            self.complete
        );
        let _ = writeln!(text, "calls per model:");
        for model in CallModel::ALL {
            let Some(count) = self.models.get(model.slug()) else { continue };
            let ok = self.models_conformant.get(model.slug()).copied().unwrap_or(0);
            let _ =
                writeln!(text, "  {:<8} {:<20} conformant {:<8} {}", count, model.slug(), ok, model.name());
        }
        write_counts(&mut text, "outcomes", &self.outcomes);
        write_counts(&mut text, "features", &self.features);
        write_counts(&mut text, "deviations by kind", &self.deviations);
        write_counts(&mut text, "who ended the call, by provenance", &self.release_provenance);
        if self.release_conflicts > 0 {
            let _ = writeln!(text, "release verdicts with conflicting evidence: {}", self.release_conflicts);
        }
        if let Some(stats) = &self.engine {
            let _ = writeln!(
                text,
                "events: {}  duplicates dropped: {}  not for a call: {}  unplaced: {}  incomplete calls: {}  peak calls in memory: {}",
                stats.events, stats.duplicates, stats.not_for_a_call, stats.unplaced, stats.calls_incomplete, stats.peak_live_calls
            );
        }
        text
    }
}

fn write_counts(text: &mut String, title: &str, counts: &BTreeMap<&'static str, u64>) {
    if counts.is_empty() {
        return;
    }
    let _ = writeln!(text, "{title}:");
    for (name, count) in counts {
        let _ = writeln!(text, "  {count:<8} {name}");
    }
}

/// Every deviation kind, for documentation and exhaustive summaries.
pub fn deviation_kinds() -> [DeviationKind; 9] {
    [
        DeviationKind::UnexpectedEvent,
        DeviationKind::UnknownParty,
        DeviationKind::MissingEvent,
        DeviationKind::MissingAttribute,
        DeviationKind::AbandonWithoutAlerting,
        DeviationKind::LocalAbandon,
        DeviationKind::EventAfterExit,
        DeviationKind::ConsultMainNotFound,
        DeviationKind::TransferWithoutCompletion,
    ]
}
