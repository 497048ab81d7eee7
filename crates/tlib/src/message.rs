//! T-Library message types: every event and request of tlib-events.md §1, with its number.
//!
//! A log names a message; a binary feed numbers it. [`Message`] keeps both, and keeps any
//! name outside the table (vendor additions, ISCC messages) as [`Message::Other`].

use crate::code_enum::code_enum;
use crate::Text;

code_enum! {
    /// A T-Library message: a request (client to T-Server) or an event (T-Server to client).
    pub enum Message: u16 {
        RequestRegisterClient = 0, "RequestRegisterClient";
        RequestQueryServer = 1, "RequestQueryServer";
        RequestQueryAddress = 2, "RequestQueryAddress";
        RequestRegisterAddress = 3, "RequestRegisterAddress";
        RequestUnregisterAddress = 4, "RequestUnregisterAddress";
        RequestRegisterAll = 5, "RequestRegisterAll";
        RequestUnregisterAll = 6, "RequestUnregisterAll";
        RequestSetInputMask = 7, "RequestSetInputMask";
        RequestAgentLogin = 8, "RequestAgentLogin";
        RequestAgentLogout = 9, "RequestAgentLogout";
        RequestAgentReady = 10, "RequestAgentReady";
        RequestAgentNotReady = 11, "RequestAgentNotReady";
        RequestSetDNDOn = 12, "RequestSetDNDOn";
        RequestSetDNDOff = 13, "RequestSetDNDOff";
        RequestMakeCall = 14, "RequestMakeCall";
        RequestMakePredictiveCall = 15, "RequestMakePredictiveCall";
        RequestAnswerCall = 16, "RequestAnswerCall";
        RequestReleaseCall = 17, "RequestReleaseCall";
        RequestHoldCall = 18, "RequestHoldCall";
        RequestRetrieveCall = 19, "RequestRetrieveCall";
        RequestInitiateConference = 20, "RequestInitiateConference";
        RequestCompleteConference = 21, "RequestCompleteConference";
        RequestDeleteFromConference = 22, "RequestDeleteFromConference";
        RequestInitiateTransfer = 23, "RequestInitiateTransfer";
        RequestMuteTransfer = 24, "RequestMuteTransfer";
        RequestSingleStepTransfer = 25, "RequestSingleStepTransfer";
        RequestCompleteTransfer = 26, "RequestCompleteTransfer";
        RequestMergeCalls = 27, "RequestMergeCalls";
        RequestAlternateCall = 28, "RequestAlternateCall";
        RequestReconnectCall = 29, "RequestReconnectCall";
        RequestAttachUserData = 30, "RequestAttachUserData";
        RequestUpdateUserData = 31, "RequestUpdateUserData";
        RequestDeleteUserData = 32, "RequestDeleteUserData";
        RequestDeletePair = 33, "RequestDeletePair";
        RequestCallForwardSet = 34, "RequestCallForwardSet";
        RequestCallForwardCancel = 35, "RequestCallForwardCancel";
        RequestRouteCall = 36, "RequestRouteCall";
        RequestGiveMusicTreatment = 37, "RequestGiveMusicTreatment";
        RequestGiveSilenceTreatment = 38, "RequestGiveSilenceTreatment";
        RequestGiveRingBackTreatment = 39, "RequestGiveRingBackTreatment";
        RequestLoginMailBox = 40, "RequestLoginMailBox";
        RequestLogoutMailBox = 41, "RequestLogoutMailBox";
        RequestOpenVoiceFile = 42, "RequestOpenVoiceFile";
        RequestCloseVoiceFile = 43, "RequestCloseVoiceFile";
        RequestPlayVoiceFile = 44, "RequestPlayVoiceFile";
        RequestCollectDigits = 45, "RequestCollectDigits";
        RequestSetMessageWaitingOn = 46, "RequestSetMessageWaitingOn";
        RequestSetMessageWaitingOff = 47, "RequestSetMessageWaitingOff";
        RequestDistributeUserEvent = 48, "RequestDistributeUserEvent";
        RequestDistributeEvent = 49, "RequestDistributeEvent";
        EventServerConnected = 50, "EventServerConnected";
        EventServerDisconnected = 51, "EventServerDisconnected";
        EventError = 52, "EventError";
        EventRegistered = 53, "EventRegistered";
        EventUnregistered = 54, "EventUnregistered";
        EventRegisteredAll = 55, "EventRegisteredAll";
        EventUnregisteredAll = 56, "EventUnregisteredAll";
        EventQueued = 57, "EventQueued";
        EventDiverted = 58, "EventDiverted";
        EventAbandoned = 59, "EventAbandoned";
        EventRinging = 60, "EventRinging";
        EventDialing = 61, "EventDialing";
        EventNetworkReached = 62, "EventNetworkReached";
        EventDestinationBusy = 63, "EventDestinationBusy";
        EventEstablished = 64, "EventEstablished";
        EventReleased = 65, "EventReleased";
        EventHeld = 66, "EventHeld";
        EventRetrieved = 67, "EventRetrieved";
        EventPartyChanged = 68, "EventPartyChanged";
        EventPartyAdded = 69, "EventPartyAdded";
        EventPartyDeleted = 70, "EventPartyDeleted";
        EventRouteRequest = 71, "EventRouteRequest";
        EventRouteUsed = 72, "EventRouteUsed";
        EventAgentLogin = 73, "EventAgentLogin";
        EventAgentLogout = 74, "EventAgentLogout";
        EventAgentReady = 75, "EventAgentReady";
        EventAgentNotReady = 76, "EventAgentNotReady";
        EventDNDOn = 77, "EventDNDOn";
        EventDNDOff = 78, "EventDNDOff";
        EventMailBoxLogin = 79, "EventMailBoxLogin";
        EventMailBoxLogout = 80, "EventMailBoxLogout";
        EventVoiceFileOpened = 81, "EventVoiceFileOpened";
        EventVoiceFileClosed = 82, "EventVoiceFileClosed";
        EventVoiceFileEndPlay = 83, "EventVoiceFileEndPlay";
        EventDigitsCollected = 84, "EventDigitsCollected";
        EventAttachedDataChanged = 85, "EventAttachedDataChanged";
        EventOffHook = 86, "EventOffHook";
        EventOnHook = 87, "EventOnHook";
        EventForwardSet = 88, "EventForwardSet";
        EventForwardCancel = 89, "EventForwardCancel";
        EventMessageWaitingOn = 90, "EventMessageWaitingOn";
        EventMessageWaitingOff = 91, "EventMessageWaitingOff";
        EventAddressInfo = 92, "EventAddressInfo";
        EventServerInfo = 93, "EventServerInfo";
        EventLinkDisconnected = 94, "EventLinkDisconnected";
        EventLinkConnected = 95, "EventLinkConnected";
        EventUserEvent = 96, "EventUserEvent";
        RequestSendDTMF = 97, "RequestSendDTMF";
        EventDTMFSent = 98, "EventDTMFSent";
        EventResourceAllocated = 99, "EventResourceAllocated";
        EventResourceFreed = 100, "EventResourceFreed";
        EventRemoteConnectionSuccess = 101, "EventRemoteConnectionSuccess";
        EventRemoteConnectionFailed = 102, "EventRemoteConnectionFailed";
        RequestRedirectCall = 103, "RequestRedirectCall";
        RequestListenDisconnect = 104, "RequestListenDisconnect";
        RequestListenReconnect = 105, "RequestListenReconnect";
        EventListenDisconnected = 106, "EventListenDisconnected";
        EventListenReconnected = 107, "EventListenReconnected";
        RequestQueryCall = 108, "RequestQueryCall";
        EventPartyInfo = 109, "EventPartyInfo";
        RequestClearCall = 110, "RequestClearCall";
        RequestSetCallInfo = 111, "RequestSetCallInfo";
        EventCallInfoChanged = 112, "EventCallInfoChanged";
        RequestApplyTreatment = 113, "RequestApplyTreatment";
        EventTreatmentApplied = 114, "EventTreatmentApplied";
        EventTreatmentNotApplied = 115, "EventTreatmentNotApplied";
        EventTreatmentEnd = 116, "EventTreatmentEnd";
        EventHardwareError = 117, "EventHardwareError";
        EventAgentAfterCallWork = 118, "EventAgentAfterCallWork";
        EventTreatmentRequired = 119, "EventTreatmentRequired";
        RequestSingleStepConference = 120, "RequestSingleStepConference";
        RequestQuerySwitch = 121, "RequestQuerySwitch";
        EventSwitchInfo = 122, "EventSwitchInfo";
        RequestGetAccessNumber = 123, "RequestGetAccessNumber";
        RequestCancelReqGetAccessNumber = 124, "RequestCancelReqGetAccessNumber";
        EventAnswerAccessNumber = 125, "EventAnswerAccessNumber";
        EventReqGetAccessNumberCanceled = 126, "EventReqGetAccessNumberCanceled";
        RequestReserveAgent = 127, "RequestReserveAgent";
        EventAgentReserved = 128, "EventAgentReserved";
        RequestReserveAgentAndGetAccessNumber = 129, "RequestReserveAgentAndGetAccessNumber";
        RequestAgentSetIdleReason = 130, "RequestAgentSetIdleReason";
        EventAgentIdleReasonSet = 131, "EventAgentIdleReasonSet";
        EventRestoreConnection = 132, "EventRestoreConnection";
        EventPrimaryChanged = 133, "EventPrimaryChanged";
        RequestLostBackupConnection = 134, "RequestLostBackupConnection";
        RequestSetDNInfo = 135, "RequestSetDNInfo";
        RequestQueryLocation = 136, "RequestQueryLocation";
        EventLocationInfo = 137, "EventLocationInfo";
        EventACK = 138, "EventACK";
        RequestMonitorNextCall = 139, "RequestMonitorNextCall";
        RequestCancelMonitoring = 140, "RequestCancelMonitoring";
        EventMonitoringNextCall = 141, "EventMonitoringNextCall";
        EventMonitoringCancelled = 142, "EventMonitoringCancelled";
        RequestSetMuteOn = 143, "RequestSetMuteOn";
        RequestSetMuteOff = 144, "RequestSetMuteOff";
        EventMuteOn = 145, "EventMuteOn";
        EventMuteOff = 146, "EventMuteOff";
        EventDNOutOfService = 147, "EventDNOutOfService";
        EventDNBackInService = 148, "EventDNBackInService";
        RequestPrivateService = 149, "RequestPrivateService";
        EventPrivateInfo = 150, "EventPrivateInfo";
        EventBridged = 151, "EventBridged";
        EventQueueLogout = 152, "EventQueueLogout";
        EventReserved1 = 153, "EventReserved_1";
        EventReserved2 = 154, "EventReserved_2";
        EventReserved3 = 155, "EventReserved_3";
        EventReserved4 = 156, "EventReserved_4";
        EventReserved5 = 157, "EventReserved_5";
        EventReserved6 = 158, "EventReserved_6";
        EventReserved7 = 159, "EventReserved_7";
        EventCallCreated = 160, "EventCallCreated";
        EventCallDataChanged = 161, "EventCallDataChanged";
        EventCallDeleted = 162, "EventCallDeleted";
        EventCallPartyAdded = 163, "EventCallPartyAdded";
        EventCallPartyState = 164, "EventCallPartyState";
        EventCallPartyMoved = 165, "EventCallPartyMoved";
        EventCallPartyDeleted = 166, "EventCallPartyDeleted";
        RequestStartCallMonitoring = 167, "RequestStartCallMonitoring";
        RequestStopCallMonitoring = 168, "RequestStopCallMonitoring";
        RequestSendReturnReceipt = 169, "RequestSendReturnReceipt";
        EventReturnReceipt = 170, "EventReturnReceipt";
        RequestNetworkConsult = 171, "RequestNetworkConsult";
        RequestNetworkAlternate = 172, "RequestNetworkAlternate";
        RequestNetworkTransfer = 173, "RequestNetworkTransfer";
        RequestNetworkMerge = 174, "RequestNetworkMerge";
        RequestNetworkReconnect = 175, "RequestNetworkReconnect";
        RequestNetworkSingleStepTransfer = 176, "RequestNetworkSingleStepTransfer";
        RequestNetworkPrivateService = 177, "RequestNetworkPrivateService";
        EventNetworkCallStatus = 178, "EventNetworkCallStatus";
        EventNetworkPrivateInfo = 179, "EventNetworkPrivateInfo";
        RequestTransactionMonitoring = 180, "RequestTransactionMonitoring";
        EventTransactionStatus = 181, "EventTransactionStatus";
        EventResourceInfo = 182, "EventResourceInfo";
    }
    unknown: Other(Text);
}

impl Message {
    /// The message name as it appears in logs.
    pub fn name(&self) -> &str {
        match self {
            Message::Other(name) => name.as_str(),
            known => known.known_name().unwrap_or_default(),
        }
    }

    /// The T-Library number (TMessageType), when the message is documented.
    pub fn number(&self) -> Option<u16> {
        self.known_code()
    }

    /// Reads a message name; a name outside the table is kept as [`Message::Other`].
    pub fn from_name(name: &str) -> Message {
        Message::from_known_name(name.as_bytes()).unwrap_or_else(|| Message::Other(Text::from(name)))
    }

    /// True for requests (client to server), by name, so unknown requests count too.
    pub fn is_request(&self) -> bool {
        self.name().starts_with("Request")
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_follow_the_tlib_table() {
        assert_eq!(Message::from_name("EventRinging"), Message::EventRinging);
        assert_eq!(Message::EventRinging.number(), Some(60));
        assert_eq!(Message::EventCallDataChanged.number(), Some(161));
        assert_eq!(Message::RequestMakeCall.number(), Some(14));
        assert_eq!(Message::EventACK.number(), Some(138));
        assert_eq!(Message::from_name("EventReserved_3").number(), Some(155));
        assert_eq!(Message::EventReserved3.name(), "EventReserved_3");
        assert_eq!(Message::from_known_code(182), Some(Message::EventResourceInfo));
    }

    #[test]
    fn every_number_from_0_to_182_is_named_once() {
        let mut numbers: Vec<u16> = Message::ALL.iter().filter_map(Message::number).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (0..=182).collect::<Vec<u16>>());
        for message in Message::ALL {
            assert_eq!(&Message::from_name(message.name()), message);
        }
    }

    #[test]
    fn unknown_names_are_kept() {
        let message = Message::from_name("ISCCEventCallDataXfer");
        assert_eq!(message, Message::Other(Text::from("ISCCEventCallDataXfer")));
        assert_eq!(message.name(), "ISCCEventCallDataXfer");
        assert_eq!(message.number(), None);
    }
}
