//! The customer's state on each call of a simulated estate: on a call that was answered
//! (then maybe transferred or conferenced) the customer was in the conversation, so it has
//! a connected stretch and talk time, even where the server never reported the customer's
//! own state change (an unmonitored caller on a trunk, a call that came from another site);
//! on an abandoned call it never was connected.

use crate::common;

use callstitch_engine::{Outcome, PartyKind, PartyState};
use callstitch_sim::SimConfig;

#[test]
fn the_customer_of_an_answered_call_is_connected_and_of_an_abandoned_one_never() {
    let config = SimConfig { interactions: Some(600), sites: 4, seed: 8, ..SimConfig::default() };
    let found = common::stitch(&common::generate(&config));

    let (mut answered, mut abandoned) = (0, 0);
    for segment in found.iter().flat_map(|interaction| interaction.segments.iter()) {
        for customer in segment.parties.iter().filter(|party| party.kind == PartyKind::External) {
            let connected = customer.spans.iter().any(|span| span.state == PartyState::Connected);
            let what = format!("{} {} {:?}: {customer:?}", segment.site, segment.key, segment.outcome);
            match segment.outcome {
                Outcome::Answered | Outcome::Transferred | Outcome::Conferenced => {
                    answered += 1;
                    assert!(connected && customer.times.talking_ms > 0, "answered, never connected: {what}");
                }
                Outcome::AbandonedInQueue | Outcome::AbandonedWhileRinging => {
                    abandoned += 1;
                    assert!(!connected && customer.times.talking_ms == 0, "abandoned, yet connected: {what}");
                }
                _ => {}
            }
        }
    }
    assert!(
        answered > 300 && abandoned > 10,
        "the estate has both: {answered} answered, {abandoned} abandoned"
    );
}
