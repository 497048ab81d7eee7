//! One fixture per Basic Call Model of seed 001 and per interruption point of its abnormal
//! flows (call-models.md §1–9). Each asserts the model, conformance, outcome and every
//! party's exit and final state, as the seed tables give them.

use crate::common;

use callstitch_engine::{CallModel as M, Exit as X, Outcome as O, PartyState};
use common::{expect, single};

#[test]
fn internal_call_answered_and_released() {
    let call = single("m01_internal.log");
    expect(&call, M::InternalInbound, true, O::Answered, &[("7001", X::Released), ("7002", X::Released)]);
    assert!(call.call_uuid.is_none(), "an older T-Server: no CallUUID, keyed by ConnID");
    assert!(call.key.starts_with("~006e02a600000001-"));
    let b = call.party("7002").unwrap();
    assert_eq!(b.times.ringing_us, 4_000_000);
    assert_eq!(b.times.talking_us, 60_000_000);
}

#[test]
fn internal_call_point_1_caller_gives_up_while_dialing() {
    let call = single("m01_internal_p1.log");
    expect(&call, M::InternalInbound, true, O::ReleasedWhileDialing, &[("7001", X::Released)]);
}

#[test]
fn internal_call_point_2_destination_busy() {
    let call = single("m01_internal_p2.log");
    expect(&call, M::InternalInbound, true, O::DestinationBusy, &[("7001", X::Released)]);
}

#[test]
fn internal_call_point_3_caller_hangs_up_while_b_rings() {
    let call = single("m01_internal_p3.log");
    expect(
        &call,
        M::InternalInbound,
        true,
        O::AbandonedWhileRinging,
        &[("7001", X::Released), ("7002", X::Abandoned)],
    );
}

#[test]
fn acd_call_answered_by_the_agent() {
    let call = single("m02_acd.log");
    expect(
        &call,
        M::Acd,
        true,
        O::Answered,
        &[("7001", X::Released), ("8000", X::Diverted), ("7003", X::Released)],
    );
    let agent = call.party("7003").unwrap();
    assert_eq!(agent.queue.as_deref(), Some("8000"), "ThisQueue says which queue delivered the call");
    assert_eq!(call.party("8000").unwrap().times.queued_us, 12_000_000);
}

#[test]
fn acd_call_point_1_abandoned_in_queue() {
    let call = single("m02_acd_p1.log");
    expect(&call, M::Acd, true, O::AbandonedInQueue, &[("7001", X::Released), ("8000", X::Abandoned)]);
}

#[test]
fn acd_call_point_2_abandoned_after_diversion() {
    let call = single("m02_acd_p2.log");
    expect(&call, M::Acd, true, O::AbandonedAfterRouting, &[("7001", X::Released), ("8000", X::Diverted)]);
}

#[test]
fn acd_call_point_3_abandoned_while_agent_rings() {
    let call = single("m02_acd_p3.log");
    expect(
        &call,
        M::Acd,
        true,
        O::AbandonedWhileRinging,
        &[("7001", X::Released), ("8000", X::Diverted), ("7003", X::Abandoned)],
    );
}

#[test]
fn multiple_acds_answered() {
    let call = single("m03_multi_acd.log");
    expect(
        &call,
        M::MultipleAcds,
        true,
        O::Answered,
        &[("7001", X::Released), ("8000", X::Diverted), ("8001", X::Diverted), ("7004", X::Released)],
    );
}

#[test]
fn multiple_acds_point_1_is_seen_as_one_acd() {
    // At * the call was queued at B only: nothing in the stream shows the second group, so
    // the invariant core is that of §1.3.
    let call = single("m03_multi_acd_p1.log");
    expect(&call, M::Acd, true, O::AbandonedInQueue, &[("7001", X::Released), ("8000", X::Abandoned)]);
}

#[test]
fn multiple_acds_point_2_abandoned_in_both_queues() {
    let call = single("m03_multi_acd_p2.log");
    expect(
        &call,
        M::MultipleAcds,
        true,
        O::AbandonedInQueue,
        &[("7001", X::Released), ("8000", X::Abandoned), ("8001", X::Abandoned)],
    );
}

#[test]
fn multiple_acds_point_3_abandoned_after_diversion() {
    let call = single("m03_multi_acd_p3.log");
    expect(
        &call,
        M::MultipleAcds,
        true,
        O::AbandonedAfterRouting,
        &[("7001", X::Released), ("8000", X::Diverted), ("8001", X::Diverted)],
    );
}

#[test]
fn multiple_acds_point_3b_abandoned_while_d_rings_with_another_queue() {
    let call = single("m03_multi_acd_p3b.log");
    expect(
        &call,
        M::MultipleAcds,
        true,
        O::AbandonedWhileRinging,
        &[("7001", X::Released), ("8000", X::Diverted), ("8001", X::Diverted), ("7004", X::Abandoned)],
    );
    assert_eq!(call.party("7004").unwrap().queue.as_deref(), Some("8000"), "first ThisQueue kept");
}

#[test]
fn parking_answered_after_pickup() {
    let call = single("m04_parking.log");
    expect(&call, M::Parking, true, O::Answered, &[("7001", X::Released), ("7002", X::Released)]);
    let a = call.party("7001").unwrap();
    assert!(a.history.iter().any(|event| event.message.name() == "EventDestinationBusy"));
    assert_eq!(call.party("7002").unwrap().times.queued_us, 29_000_000, "parked, then picked up");
}

#[test]
fn parking_point_1_abandoned_while_parked() {
    let call = single("m04_parking_p1.log");
    expect(&call, M::Parking, true, O::AbandonedInQueue, &[("7001", X::Released), ("7002", X::Abandoned)]);
}

#[test]
fn parking_point_1_abandoned_after_pickup() {
    let call = single("m04_parking_p1b.log");
    expect(
        &call,
        M::Parking,
        true,
        O::AbandonedWhileRinging,
        &[("7001", X::Released), ("7002", X::Abandoned)],
    );
}

#[test]
fn route_queue_answered() {
    let call = single("m05_route_queue.log");
    expect(
        &call,
        M::RoutingRouteQueue,
        true,
        O::Answered,
        &[("7001", X::Released), ("9000", X::Routed), ("7003", X::Released)],
    );
}

#[test]
fn route_queue_points_1_and_2_abandoned_at_the_routing_point() {
    let call = single("m05_route_queue_p1.log");
    expect(
        &call,
        M::RoutingRouteQueue,
        true,
        O::AbandonedInQueue,
        &[("7001", X::Released), ("9000", X::Abandoned)],
    );
}

#[test]
fn route_queue_point_3_abandoned_after_diversion() {
    let call = single("m05_route_queue_p3.log");
    expect(
        &call,
        M::RoutingRouteQueue,
        true,
        O::AbandonedAfterRouting,
        &[("7001", X::Released), ("9000", X::Routed)],
    );
}

#[test]
fn route_queue_point_4_abandoned_while_c_rings() {
    let call = single("m05_route_queue_p4.log");
    expect(
        &call,
        M::RoutingRouteQueue,
        true,
        O::AbandonedWhileRinging,
        &[("7001", X::Released), ("9000", X::Routed), ("7003", X::Abandoned)],
    );
}

#[test]
fn routing_answered() {
    let call = single("m06_routing.log");
    expect(
        &call,
        M::Routing,
        true,
        O::Answered,
        &[("7001", X::Released), ("9000", X::Routed), ("7003", X::Released)],
    );
}

#[test]
fn routing_point_1_abandoned_at_the_routing_point() {
    let call = single("m06_routing_p1.log");
    expect(&call, M::Routing, true, O::AbandonedInQueue, &[("7001", X::Released), ("9000", X::Abandoned)]);
}

#[test]
fn routing_point_2_abandon_then_event_error_is_expected() {
    let call = single("m06_routing_p2.log");
    expect(&call, M::Routing, true, O::AbandonedInQueue, &[("7001", X::Released), ("9000", X::Abandoned)]);
    assert!(
        call.call_events.iter().any(|event| event.message.name() == "EventError"),
        "the EventError for the route request is kept on the call, not a deviation"
    );
}

#[test]
fn routing_point_3_abandoned_after_routing() {
    let call = single("m06_routing_p3.log");
    expect(&call, M::Routing, true, O::AbandonedAfterRouting, &[("7001", X::Released), ("9000", X::Routed)]);
}

#[test]
fn routing_point_3b_abandoned_while_c_rings() {
    let call = single("m06_routing_p3b.log");
    expect(
        &call,
        M::Routing,
        true,
        O::AbandonedWhileRinging,
        &[("7001", X::Released), ("9000", X::Routed), ("7003", X::Abandoned)],
    );
}

#[test]
fn routing_outbound_answered_by_an_external_party() {
    let call = single("m07_routing_outbound.log");
    expect(&call, M::RoutingOutbound, true, O::Answered, &[("7001", X::Released), ("9000", X::Routed)]);
    assert_eq!(
        call.release.ended_by.dn.as_deref(),
        Some("+15551230000"),
        "2 Remote names the external party"
    );
}

#[test]
fn routing_outbound_point_1_is_seen_as_routing() {
    // At * the call never left the routing point: the outbound part is not in the stream.
    let call = single("m07_routing_outbound_p1.log");
    expect(&call, M::Routing, true, O::AbandonedInQueue, &[("7001", X::Released), ("9000", X::Abandoned)]);
}

#[test]
fn routing_outbound_point_2_abandoned_while_c_rings() {
    let call = single("m07_routing_outbound_p2.log");
    expect(
        &call,
        M::RoutingOutbound,
        true,
        O::AbandonedWhileRinging,
        &[("7001", X::Released), ("9000", X::Routed), ("7003", X::Abandoned)],
    );
}

#[test]
fn outbound_answered() {
    let call = single("m08_outbound.log");
    expect(&call, M::Outbound, true, O::Answered, &[("7001", X::Released)]);
}

#[test]
fn outbound_point_1_given_up_before_network() {
    let call = single("m08_outbound_p1.log");
    expect(&call, M::Outbound, true, O::ReleasedWhileDialing, &[("7001", X::Released)]);
}

#[test]
fn outbound_point_2_destination_busy() {
    let call = single("m08_outbound_p2.log");
    expect(&call, M::Outbound, true, O::DestinationBusy, &[("7001", X::Released)]);
}

#[test]
fn outbound_point_3_given_up_after_network_reached() {
    let call = single("m08_outbound_p3.log");
    expect(&call, M::Outbound, true, O::ReleasedWhileDialing, &[("7001", X::Released)]);
}

#[test]
fn while_on_hold_answer_keeps_the_holder_held() {
    let call = single("m09_while_on_hold.log");
    expect(&call, M::WhileOnHold, true, O::Answered, &[("7001", X::Released), ("7002", X::Released)]);
    let a = call.party("7001").unwrap();
    assert_eq!(a.times.held_us, 8_000_000, "held from the hold (2 s) to the retrieve (10 s)");
    assert_eq!(a.times.talking_us, 50_000_000);
    assert_eq!(a.state, PartyState::Null);
}
