//! What the SIP layer says ended a call, or a party's part in it: the first BYE, CANCEL,
//! final error response or REFER in the call's dialogs, or SIP Server ending it itself.
//!
//! The SIP-layer reader ([`crate::siplog`]) writes it into the Extensions of the
//! EventCallPartyDeleted and EventCallDeleted it rebuilds, under `sip-end*` keys, so that it
//! travels in the JSON-lines form like any other attribute; [`Event::sip_end`] reads it back
//! typed. The engine's release ladder reads it as its `sip` rung.

use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::kv::{KvList, Value};
use crate::Text;

/// The Extensions keys of a [`SipEnd`].
pub mod key {
    pub const KIND: &str = "sip-end";
    pub const BY: &str = "sip-end-by";
    pub const DETAIL: &str = "sip-end-detail";
    pub const REASON: &str = "sip-end-reason";
    pub const CALL_ID: &str = "sip-end-call-id";
}

crate::labelled_enum! {
    /// The SIP signal that ended it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SipEndKind {
        /// A party's endpoint sent BYE: it hung up.
        Bye => "bye",
        /// A party's endpoint sent CANCEL: the caller gave up before the answer.
        Cancel => "cancel",
        /// A party's endpoint answered the INVITE with a final error (403, 404, 480, 603, ...):
        /// it declined or could not take the call.
        Rejected => "rejected",
        /// A final 486 Busy Here or 600 Busy Everywhere.
        Busy => "busy",
        /// A party's endpoint sent REFER: it transferred the call away (and left it).
        Refer => "refer",
        /// SIP Server ended it after one of its timers ran out (a dialog event `*TIMEOUT*`).
        Timeout => "timeout",
        /// SIP Server ended it while it handled a client's request (`$+CTI:SIP:RELEASE_CALL`).
        Request => "request",
        /// SIP Server sent the first BYE or CANCEL for a reason its log does not give.
        Cleared => "cleared",
    }
    /// The name the Extensions and JSON give it.
    pub fn label;
}

impl SipEndKind {
    pub fn parse(text: &str) -> Option<SipEndKind> {
        SipEndKind::from_label(text)
    }

    /// Sent by a party's endpoint (as opposed to SIP Server on its own).
    pub fn is_from_party(self) -> bool {
        matches!(
            self,
            SipEndKind::Bye
                | SipEndKind::Cancel
                | SipEndKind::Rejected
                | SipEndKind::Busy
                | SipEndKind::Refer
        )
    }
}

/// The SIP evidence of who ended a call or a party's part in it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SipEnd {
    pub kind: SipEndKind,
    /// The DN whose endpoint sent it; absent when SIP Server ended it itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Text>,
    /// The status line of a final error response (`403 Forbidden`), the dialog event of a
    /// timeout (`CONNECTED_TIMEOUT_CT`), or the request being handled (`RELEASE_CALL`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Text>,
    /// The SIP Reason header, as sent (`Q.850;cause=21`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text>,
    /// The SIP Call-ID of the dialog it happened on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<Text>,
}

impl SipEnd {
    /// Appends it to an Extensions list under the `sip-end*` keys.
    pub fn write_to(&self, extensions: &mut KvList) {
        extensions.push(key::KIND, Value::Str(Text::from(self.kind.label())));
        let optional = [
            (key::BY, &self.by),
            (key::DETAIL, &self.detail),
            (key::REASON, &self.reason),
            (key::CALL_ID, &self.call_id),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                extensions.push(name, Value::Str(value.clone()));
            }
        }
    }

    /// Reads it from an Extensions list; `None` without a known `sip-end` kind.
    fn read_from(extensions: &KvList) -> Option<SipEnd> {
        let kind = SipEndKind::parse(&extensions.get(key::KIND)?.as_text()?)?;
        let text = |name: &str| {
            let value = extensions.get(name)?.as_text()?;
            Some(Text::from(value.as_ref()))
        };
        Some(SipEnd {
            kind,
            by: text(key::BY).filter(|by| !by.is_empty()),
            detail: text(key::DETAIL),
            reason: text(key::REASON),
            call_id: text(key::CALL_ID),
        })
    }
}

impl Event {
    /// The SIP end evidence of the event's Extensions, if it has one.
    pub fn sip_end(&self) -> Option<SipEnd> {
        SipEnd::read_from(self.extensions.as_ref()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[test]
    fn sip_end_round_trips_through_extensions() {
        let end = SipEnd {
            kind: SipEndKind::Rejected,
            by: Some(Text::from("1002")),
            detail: Some(Text::from("403 Forbidden")),
            reason: Some(Text::from("Q.850;cause=21")),
            call_id: Some(Text::from("640476ED-4@192.168.210.81")),
        };
        let mut event = Event::new(Message::EventCallDeleted, "SIP_P");
        let mut extensions = KvList::new();
        end.write_to(&mut extensions);
        event.extensions = Some(extensions);
        assert_eq!(event.sip_end(), Some(end));
    }

    #[test]
    fn an_unknown_kind_is_no_evidence() {
        let mut extensions = KvList::new();
        extensions.push(key::KIND, Value::Str(Text::from("shrug")));
        assert_eq!(SipEnd::read_from(&extensions), None);
        for kind in SipEndKind::ALL {
            assert_eq!(SipEndKind::parse(kind.label()), Some(kind));
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.label());
        }
    }
}
