//! The typed attributes: one table from log name to [`Event`] field, shared by the log
//! reader and the log writer so that the two cannot drift apart.
//!
//! Each row names the attribute as logs print it, the shape its value takes, and how to
//! reach the field. The writer emits typed attributes in table order.

use crate::enums::{CallState, CallType, DnRole, PartyState};
use crate::event::{Event, IsLink};
use crate::ids::{CallUuid, ConnId, Timestamp};
use crate::kv::KvList;
use crate::name_index::NameIndex;
use crate::Text;

/// How to reach one optional field of an event.
pub(crate) struct Field<T: 'static> {
    pub name: &'static str,
    pub get: fn(&Event) -> &Option<T>,
    pub slot: fn(&mut Event) -> &mut Option<T>,
}

/// A typed attribute and the shape of its value.
#[derive(Clone, Copy)]
pub(crate) enum Typed {
    /// 16 hex digits.
    ConnId(&'static Field<ConnId>),
    /// A quoted string that names a call.
    CallUuid(&'static Field<CallUuid>),
    /// A quoted string.
    Text(&'static Field<Text>),
    /// A bare decimal role code.
    Role(&'static Field<DnRole>),
    /// The hex event sequence number.
    HexCounter(&'static Field<u64>),
    /// A bare decimal unsigned number.
    Decimal(&'static Field<u64>),
    /// 8 hex digits of seconds and 8 of microseconds.
    Timestamp(&'static Field<Timestamp>),
    CallType(&'static Field<CallType>),
    CallState(&'static Field<CallState>),
    PartyState(&'static Field<PartyState>),
    /// A key-value list.
    List(&'static Field<KvList>),
    /// The Inter-Site Link list: a key-value list of key-value lists.
    IsLinks(&'static Field<Vec<IsLink>>),
}

impl Typed {
    pub fn name(self) -> &'static str {
        match self {
            Typed::ConnId(field) => field.name,
            Typed::CallUuid(field) => field.name,
            Typed::Text(field) => field.name,
            Typed::Role(field) => field.name,
            Typed::HexCounter(field) => field.name,
            Typed::Decimal(field) => field.name,
            Typed::Timestamp(field) => field.name,
            Typed::CallType(field) => field.name,
            Typed::CallState(field) => field.name,
            Typed::PartyState(field) => field.name,
            Typed::List(field) => field.name,
            Typed::IsLinks(field) => field.name,
        }
    }

    /// True when the event already holds a value for this attribute.
    pub fn is_set(self, event: &Event) -> bool {
        match self {
            Typed::ConnId(field) => (field.get)(event).is_some(),
            Typed::CallUuid(field) => (field.get)(event).is_some(),
            Typed::Text(field) => (field.get)(event).is_some(),
            Typed::Role(field) => (field.get)(event).is_some(),
            Typed::HexCounter(field) => (field.get)(event).is_some(),
            Typed::Decimal(field) => (field.get)(event).is_some(),
            Typed::Timestamp(field) => (field.get)(event).is_some(),
            Typed::CallType(field) => (field.get)(event).is_some(),
            Typed::CallState(field) => (field.get)(event).is_some(),
            Typed::PartyState(field) => (field.get)(event).is_some(),
            Typed::List(field) => (field.get)(event).is_some(),
            Typed::IsLinks(field) => (field.get)(event).is_some(),
        }
    }
}

macro_rules! field {
    ($name:literal, $field:ident) => {
        Field { name: $name, get: |event| &event.$field, slot: |event| &mut event.$field }
    };
}

static SEQ: Field<u64> = field!("AttributeEventSequenceNumber", seq);
static TIME_STAMP: Field<Timestamp> = field!("AttributeTimeStamp", timestamp);
static REFERENCE_ID: Field<u64> = field!("AttributeReferenceID", reference_id);
static CALL_TYPE: Field<CallType> = field!("AttributeCallType", call_type);
static CALL_STATE: Field<CallState> = field!("AttributeCallState", call_state);
static CONN_ID: Field<ConnId> = field!("AttributeConnID", conn_id);
static PREVIOUS_CONN_ID: Field<ConnId> = field!("AttributePreviousConnID", previous_conn_id);
static TRANSFER_CONN_ID: Field<ConnId> = field!("AttributeTransferConnID", transfer_conn_id);
static CONFERENCE_CONN_ID: Field<ConnId> = field!("AttributeConferenceConnID", conference_conn_id);
static ORIGINAL_CONN_ID: Field<ConnId> = field!("AttributeOriginalConnID", original_conn_id);
static FIRST_TRANSFER_CONN_ID: Field<ConnId> = field!("AttributeFirstTransferConnID", first_transfer_conn_id);
static LAST_TRANSFER_CONN_ID: Field<ConnId> = field!("AttributeLastTransferConnID", last_transfer_conn_id);
static CALL_UUID: Field<CallUuid> = field!("AttributeCallUUID", call_uuid);
static ORIG_CALL_UUID: Field<CallUuid> = field!("AttributeOrigCallUUID", orig_call_uuid);
static REF_CALL_UUID: Field<CallUuid> = field!("AttributeRefCallUUID", ref_call_uuid);
static THIS_DN: Field<Text> = field!("AttributeThisDN", this_dn);
static THIS_QUEUE: Field<Text> = field!("AttributeThisQueue", this_queue);
static THIS_DN_ROLE: Field<DnRole> = field!("AttributeThisDNRole", this_dn_role);
static OTHER_DN: Field<Text> = field!("AttributeOtherDN", other_dn);
static OTHER_QUEUE: Field<Text> = field!("AttributeOtherQueue", other_queue);
static OTHER_DN_ROLE: Field<DnRole> = field!("AttributeOtherDNRole", other_dn_role);
static THIRD_PARTY_DN: Field<Text> = field!("AttributeThirdPartyDN", third_party_dn);
static THIRD_PARTY_QUEUE: Field<Text> = field!("AttributeThirdPartyQueue", third_party_queue);
static THIRD_PARTY_DN_ROLE: Field<DnRole> = field!("AttributeThirdPartyDNRole", third_party_dn_role);
static DN: Field<Text> = field!("AttributeDN", dn);
static PARTY_STATE: Field<PartyState> = field!("AttributePartyState", party_state);
static CTRL_PARTY: Field<Text> = field!("AttributeCtrlParty", ctrl_party);
static ANI: Field<Text> = field!("AttributeANI", ani);
static DNIS: Field<Text> = field!("AttributeDNIS", dnis);
static FIRST_TRANSFER_HOME_LOCATION: Field<Text> =
    field!("AttributeFirstTransferHomeLocation", first_transfer_home_location);
static FIRST_TRANSFER_ORIG_DN: Field<Text> = field!("AttributeFirstTransferOrigDN", first_transfer_orig_dn);
static LAST_TRANSFER_HOME_LOCATION: Field<Text> =
    field!("AttributeLastTransferHomeLocation", last_transfer_home_location);
static LAST_TRANSFER_ORIG_DN: Field<Text> = field!("AttributeLastTransferOrigDN", last_transfer_orig_dn);
static USER_DATA: Field<KvList> = field!("AttributeUserData", user_data);
static EXTENSIONS: Field<KvList> = field!("AttributeExtensions", extensions);
static REASON: Field<KvList> = field!("AttributeReason", reason);
static IS_LINKS: Field<Vec<IsLink>> = field!("AttributeISLinkList", is_links);

/// Every typed attribute, in the order the writer emits them.
pub(crate) static TYPED: &[Typed] = &[
    Typed::HexCounter(&SEQ),
    Typed::Timestamp(&TIME_STAMP),
    Typed::Decimal(&REFERENCE_ID),
    Typed::CallState(&CALL_STATE),
    Typed::CallType(&CALL_TYPE),
    Typed::ConnId(&CONN_ID),
    Typed::ConnId(&PREVIOUS_CONN_ID),
    Typed::ConnId(&TRANSFER_CONN_ID),
    Typed::ConnId(&CONFERENCE_CONN_ID),
    Typed::ConnId(&ORIGINAL_CONN_ID),
    Typed::ConnId(&FIRST_TRANSFER_CONN_ID),
    Typed::ConnId(&LAST_TRANSFER_CONN_ID),
    Typed::CallUuid(&CALL_UUID),
    Typed::CallUuid(&ORIG_CALL_UUID),
    Typed::CallUuid(&REF_CALL_UUID),
    Typed::Text(&THIS_DN),
    Typed::Role(&THIS_DN_ROLE),
    Typed::Text(&THIS_QUEUE),
    Typed::Text(&OTHER_DN),
    Typed::Role(&OTHER_DN_ROLE),
    Typed::Text(&OTHER_QUEUE),
    Typed::Text(&THIRD_PARTY_DN),
    Typed::Role(&THIRD_PARTY_DN_ROLE),
    Typed::Text(&THIRD_PARTY_QUEUE),
    Typed::Text(&DN),
    Typed::PartyState(&PARTY_STATE),
    Typed::Text(&CTRL_PARTY),
    Typed::Text(&ANI),
    Typed::Text(&DNIS),
    Typed::Text(&FIRST_TRANSFER_HOME_LOCATION),
    Typed::Text(&FIRST_TRANSFER_ORIG_DN),
    Typed::Text(&LAST_TRANSFER_HOME_LOCATION),
    Typed::Text(&LAST_TRANSFER_ORIG_DN),
    Typed::List(&USER_DATA),
    Typed::List(&EXTENSIONS),
    Typed::List(&REASON),
    Typed::IsLinks(&IS_LINKS),
];

/// The typed attribute with this exact log name, if any (runs for every attribute line).
#[inline]
pub(crate) fn lookup(name: &[u8]) -> Option<Typed> {
    index().get(name).copied()
}

fn index() -> &'static NameIndex<Typed> {
    static INDEX: std::sync::OnceLock<NameIndex<Typed>> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| NameIndex::new(TYPED.iter().map(|typed| (typed.name(), *typed))))
}

/// True when `name` is a typed attribute (tests use it to generate only raw names).
pub fn is_typed_attribute(name: &str) -> bool {
    lookup(name.as_bytes()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_typed_name_is_found_and_unique() {
        for typed in TYPED {
            let found = lookup(typed.name().as_bytes()).expect("found");
            assert_eq!(found.name(), typed.name());
        }
        let mut names: Vec<&str> = TYPED.iter().map(|typed| typed.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TYPED.len());
        assert!(lookup(b"AttributeNotAThing").is_none());
    }

    #[test]
    fn every_typed_name_is_found_in_one_probe() {
        assert!(index().is_perfect());
    }
}
