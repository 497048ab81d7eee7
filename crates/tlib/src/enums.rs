//! The coded enumerations of tlib-events.md §3 that the event model types.
//!
//! Codes outside the documented tables are kept (`Other(code)`), never rejected: vendors and
//! versions add values. In JSON a documented value is written by name and any other value by
//! number; both forms are read back.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::code_enum::code_enum;
use crate::Text;

code_enum! {
    /// AttributeCallState: the outcome or status qualifier of the call at this event (§3.1).
    pub enum CallState: i64 {
        Ok = 0, "Ok";
        Transferred = 1, "Transferred";
        Conferenced = 2, "Conferenced";
        GeneralError = 3, "GeneralError";
        SystemError = 4, "SystemError";
        RemoteRelease = 5, "RemoteRelease";
        Busy = 6, "Busy";
        NoAnswer = 7, "NoAnswer";
        SitDetected = 8, "SitDetected";
        AnsweringMachineDetected = 9, "AnsweringMachineDetected";
        AllTrunksBusy = 10, "AllTrunksBusy";
        SitInvalidNum = 11, "SitInvalidNum";
        SitVacant = 12, "SitVacant";
        SitIntercept = 13, "SitIntercept";
        SitUnknown = 14, "SitUnknown";
        SitNoCircuit = 15, "SitNoCircuit";
        SitReorder = 16, "SitReorder";
        FaxDetected = 17, "FaxDetected";
        QueueFull = 18, "QueueFull";
        Cleared = 19, "Cleared";
        Overflowed = 20, "Overflowed";
        Abandoned = 21, "Abandoned";
        Redirected = 22, "Redirected";
        Forwarded = 23, "Forwarded";
        Consult = 24, "Consult";
        PickedUp = 25, "PickedUp";
        Dropped = 26, "Dropped";
        DroppedNoAnswer = 27, "DroppedNoAnswer";
        Unknown = 28, "Unknown";
        Covered = 29, "Covered";
        ConverseOn = 30, "ConverseOn";
        Bridged = 31, "Bridged";
        Deafened = 49, "Deafened";
        Held = 50, "Held";
    }
    unknown: Other(i64);
}

code_enum! {
    /// ThisDNRole / OtherDNRole / ThirdPartyDNRole: the role of a DN in the call (§3.2).
    pub enum DnRole: i64 {
        Unknown = 0, "Unknown";
        Origination = 1, "Origination";
        Destination = 2, "Destination";
        ConferenceMember = 3, "ConferenceMember";
        NewParty = 4, "NewParty";
        AddedBy = 5, "AddedBy";
        DeletedBy = 6, "DeletedBy";
        TransferredBy = 7, "TransferredBy";
        DeletedParty = 8, "DeletedParty";
        ConferencedBy = 9, "ConferencedBy";
        Observer = 10, "Observer";
    }
    unknown: Other(i64);
}

code_enum! {
    /// AttributeCallType (§3.3).
    pub enum CallType: i64 {
        Unknown = 0, "Unknown";
        Internal = 1, "Internal";
        Inbound = 2, "Inbound";
        Outbound = 3, "Outbound";
        Consult = 4, "Consult";
    }
    unknown: Other(i64);
}

/// The code every coded enumeration of the model has, documented or not.
pub trait Coded: Sized {
    /// The numeric code.
    fn code(&self) -> i64;
    /// The value for a numeric code; codes outside the table are kept.
    fn from_code(code: i64) -> Self;
    /// The documented name, if the value is documented.
    fn name(&self) -> Option<&'static str>;
    /// The value with this documented name, if any.
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! impl_coded {
    ($ty:ident) => {
        impl Coded for $ty {
            fn code(&self) -> i64 {
                match self {
                    $ty::Other(code) => *code,
                    known => known.known_code().unwrap_or_default(),
                }
            }
            fn from_code(code: i64) -> Self {
                $ty::from_known_code(code).unwrap_or($ty::Other(code))
            }
            fn name(&self) -> Option<&'static str> {
                self.known_name()
            }
            fn from_name(name: &str) -> Option<Self> {
                $ty::from_known_name(name.as_bytes())
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_coded(self, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserialize_coded(deserializer)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{}", self.code()),
                }
            }
        }
    };
}

impl_coded!(CallState);
impl_coded!(DnRole);
impl_coded!(CallType);

fn serialize_coded<T: Coded, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    match value.name() {
        Some(name) => serializer.serialize_str(name),
        None => serializer.serialize_i64(value.code()),
    }
}

fn deserialize_coded<'de, T: Coded, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NameOrCode {
        Code(i64),
        Name(String),
    }
    match NameOrCode::deserialize(deserializer)? {
        NameOrCode::Code(code) => Ok(T::from_code(code)),
        NameOrCode::Name(name) => T::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown name {name:?}: use a documented name or the numeric code"
            ))
        }),
    }
}

/// AttributePartyState of call-based events: a bit field (§3.6). Unknown bits are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PartyState(pub u32);

/// The telephony state held in the low four bits of [`PartyState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Telephony {
    Null,
    Initiated,
    Queued,
    Alerting,
    Busy,
    Connected,
    CpDetect,
    Held,
    Failed,
    /// A value of the low four bits that the table does not name.
    Other(u8),
}

impl PartyState {
    pub const NO_LISTEN: u32 = 0x10;
    pub const NO_TALK: u32 = 0x20;
    pub const BRIDGED: u32 = 0x40;
    pub const AUDIT: u32 = 0x80;
    pub const TREATMENT_REQ: u32 = 0x100;
    pub const TREATMENT: u32 = 0x200;
    pub const ROUTING: u32 = 0x800;
    pub const DIALING: u32 = 0x10000;
    pub const UNCERTAIN: u32 = 0x20000;

    /// The telephony state (mask 0x000F).
    pub fn telephony(self) -> Telephony {
        match (self.0 & 0xF) as u8 {
            0x0 => Telephony::Null,
            0x1 => Telephony::Initiated,
            0x9 => Telephony::Queued,
            0xA => Telephony::Alerting,
            0xB => Telephony::Busy,
            0xC => Telephony::Connected,
            0xD => Telephony::CpDetect,
            0xE => Telephony::Held,
            0xF => Telephony::Failed,
            other => Telephony::Other(other),
        }
    }

    /// True when every bit of `flag` is set.
    pub fn has(self, flag: u32) -> bool {
        self.0 & flag == flag
    }
}

/// The `ReleasingParty` value of EventReleased / EventAbandoned Extensions (§3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReleasingParty {
    /// `1 Local`: ThisDN asked for the release.
    Local,
    /// `2 Remote`: the other party asked for it.
    Remote,
    /// `3 Unknown`, or a value that could not be read.
    Unknown,
}

impl ReleasingParty {
    /// Reads a ReleasingParty value as logs print it: `'2 Remote'`, `'2'`, `2`, `'Remote'`,
    /// any case and spacing. The leading number wins if there is one; anything else is
    /// `Unknown` (release.md §1.1). The caller keeps the raw text.
    pub fn parse(raw: &str) -> ReleasingParty {
        let text = raw.trim();
        let digits: &str = &text[..text.bytes().take_while(u8::is_ascii_digit).count()];
        match digits {
            "1" => return ReleasingParty::Local,
            "2" => return ReleasingParty::Remote,
            "3" => return ReleasingParty::Unknown,
            "" => {}
            _ => return ReleasingParty::Unknown,
        }
        let word = text.trim_start_matches(|c: char| c.is_ascii_digit() || c.is_whitespace());
        if word.eq_ignore_ascii_case("local") {
            ReleasingParty::Local
        } else if word.eq_ignore_ascii_case("remote") {
            ReleasingParty::Remote
        } else {
            ReleasingParty::Unknown
        }
    }
}

/// The `direction-role` of an Inter-Site Link end.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkRole {
    /// This server sent the call out over the link.
    Source,
    /// This server received the call over the link.
    Target,
    /// Any other text, kept.
    Other(Text),
}

impl Serialize for LinkRole {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LinkRole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(LinkRole::parse(&text))
    }
}

impl LinkRole {
    /// Reads a direction-role value (case-insensitive for the two documented words).
    pub fn parse(text: &str) -> LinkRole {
        if text.eq_ignore_ascii_case("source") {
            LinkRole::Source
        } else if text.eq_ignore_ascii_case("target") {
            LinkRole::Target
        } else {
            LinkRole::Other(Text::from(text))
        }
    }

    /// The text a log prints for this role.
    pub fn as_str(&self) -> &str {
        match self {
            LinkRole::Source => "source",
            LinkRole::Target => "target",
            LinkRole::Other(text) => text.as_str(),
        }
    }
}

crate::labelled_enum! {
    /// Which layer of a server's log an event was read from.
    ///
    /// T-Library events are the server's own account of a call; `sip-layer` events are rebuilt
    /// by [`crate::siplog::SipLogReader`] from a SIP Server log that has no T-Library event
    /// records (its CTI markers, party traces and SIP messages). Everything downstream keeps the
    /// mark, so a verdict drawn from them says where it came from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum EventProvenance {
        /// A T-Library event or request record (a log block, a JSON line, a live feed).
        #[default]
        TLibrary => "t-library",
        /// Rebuilt from the SIP layer of a SIP Server log.
        SipLayer => "sip-layer",
    }
    /// The name JSON gives it.
    pub fn label;
}

impl EventProvenance {
    pub fn is_t_library(&self) -> bool {
        *self == EventProvenance::TLibrary
    }
}

/// Where in the server a block was logged: the text before `: message` on an event line,
/// or how a request line introduced it.
///
/// JSON: the documented contexts are strings (`"distribute_event"`, ...); any other text is
/// `{"other": text}`, so that no printed text can be mistaken for a documented context.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Context {
    /// `distribute_event`: DN-based events.
    DistributeEvent,
    /// `distribute call/party event`: call-based events (160–166).
    DistributeCallPartyEvent,
    /// `send_to_client`: replies such as EventACK and EventError.
    SendToClient,
    /// `Trc 04541 RequestX received from ...` followed by `message RequestX`.
    RequestReceived,
    /// `request to <server> message RequestX` (router logs).
    RequestSent,
    /// A block with no recognisable context (e.g. a bare `message X` line).
    Unspecified,
    /// Any other context text, kept.
    Other(Text),
}

const CONTEXT_NAMES: [(&str, Context); 6] = [
    ("distribute_event", Context::DistributeEvent),
    ("distribute_call_party_event", Context::DistributeCallPartyEvent),
    ("send_to_client", Context::SendToClient),
    ("request_received", Context::RequestReceived),
    ("request_sent", Context::RequestSent),
    ("unspecified", Context::Unspecified),
];

impl Serialize for Context {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Context::Other(text) = self {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry("other", text.as_str())?;
            return map.end();
        }
        serializer.serialize_str(self.json_name().unwrap_or("unspecified"))
    }
}

impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Name(String),
            Other { other: Text },
        }
        match Form::deserialize(deserializer)? {
            Form::Other { other } => Ok(Context::Other(other)),
            Form::Name(name) => CONTEXT_NAMES
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, context)| context.clone())
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown context {name:?}: use a documented one or {{\"other\": text}}"
                    ))
                }),
        }
    }
}

impl Context {
    /// The name JSON gives a documented context (`"distribute_call_party_event"`); `None` for
    /// [`Context::Other`], whose JSON form is `{"other": text}`.
    pub fn json_name(&self) -> Option<&'static str> {
        CONTEXT_NAMES.iter().find(|(_, context)| context == self).map(|(name, _)| *name)
    }

    /// Reads the context text of an `@` event line.
    pub fn parse(text: &str) -> Context {
        match text {
            "distribute_event" => Context::DistributeEvent,
            "distribute call/party event" => Context::DistributeCallPartyEvent,
            "send_to_client" => Context::SendToClient,
            "" => Context::Unspecified,
            other => Context::Other(Text::from(other)),
        }
    }

    /// The text a log prints for this context on an `@` event line.
    pub fn as_str(&self) -> &str {
        match self {
            Context::DistributeEvent => "distribute_event",
            Context::DistributeCallPartyEvent => "distribute call/party event",
            Context::SendToClient => "send_to_client",
            Context::RequestReceived => "request_received",
            Context::RequestSent => "request_sent",
            Context::Unspecified => "",
            Context::Other(text) => text.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_are_kept_not_rejected() {
        assert_eq!(CallState::from_code(22), CallState::Redirected);
        assert_eq!(CallState::from_code(77), CallState::Other(77));
        assert_eq!(CallState::Other(77).code(), 77);
        assert_eq!(DnRole::from_code(8), DnRole::DeletedParty);
        assert_eq!(CallType::from_code(4), CallType::Consult);
    }

    #[test]
    fn coded_values_serialise_by_name_and_read_names_or_codes() {
        assert_eq!(serde_json::to_string(&CallState::Redirected).unwrap(), "\"Redirected\"");
        assert_eq!(serde_json::to_string(&CallState::Other(77)).unwrap(), "77");
        assert_eq!(serde_json::from_str::<DnRole>("\"Destination\"").unwrap(), DnRole::Destination);
        assert_eq!(serde_json::from_str::<DnRole>("2").unwrap(), DnRole::Destination);
        assert!(serde_json::from_str::<DnRole>("\"Nonsense\"").is_err());
    }

    #[test]
    fn releasing_party_reads_every_printed_variant() {
        for raw in ["2 Remote", "2", " 2  remote ", "Remote", "remote", "REMOTE"] {
            assert_eq!(ReleasingParty::parse(raw), ReleasingParty::Remote, "{raw:?}");
        }
        assert_eq!(ReleasingParty::parse("1 Local"), ReleasingParty::Local);
        assert_eq!(ReleasingParty::parse("3 Unknown"), ReleasingParty::Unknown);
        assert_eq!(ReleasingParty::parse("7"), ReleasingParty::Unknown);
        assert_eq!(ReleasingParty::parse("sideways"), ReleasingParty::Unknown);
    }

    #[test]
    fn other_context_texts_cannot_pass_for_documented_ones() {
        let printed = Context::parse("distribute_call_party_event");
        assert_eq!(printed, Context::Other(Text::from("distribute_call_party_event")));
        let json = serde_json::to_string(&printed).unwrap();
        assert_eq!(json, r#"{"other":"distribute_call_party_event"}"#);
        assert_eq!(serde_json::from_str::<Context>(&json).unwrap(), printed);
        let known = serde_json::to_string(&Context::DistributeCallPartyEvent).unwrap();
        assert_eq!(known, r#""distribute_call_party_event""#);
        assert_eq!(serde_json::from_str::<Context>(&known).unwrap(), Context::DistributeCallPartyEvent);
        assert!(serde_json::from_str::<Context>(r#""made_up""#).is_err());
    }

    #[test]
    fn party_state_decodes_masks_and_keeps_bits() {
        let caller = PartyState(0x1000C);
        assert_eq!(caller.telephony(), Telephony::Connected);
        assert!(caller.has(PartyState::DIALING));
        assert!(!caller.has(PartyState::UNCERTAIN));
        assert_eq!(PartyState(0x809).telephony(), Telephony::Queued);
        assert_eq!(PartyState(0x3).telephony(), Telephony::Other(3));
    }
}
