//! How long the recording signals of a call stay once its interaction is handed out
//! complete: for the whole time the linker can still revise it, counted from when it was
//! handed out, not from its end (an interaction whose call lost its end is handed out an
//! idle timeout after its last event, and a revision then must still find its files).

use callstitch_link::{Lifecycle, SiteDirectory};
use callstitch_recording::{Retention, Signals};
use callstitch_tlib::{CallUuid, ConnId, Context, Event, KvList, Message, Text, Timestamp, Value};

const SECOND: i64 = 1_000_000;
const T0: i64 = 1_770_019_200 * SECOND;

fn event(message: Message, uuid: &str, conn: u64, at: i64) -> Event {
    let mut event = Event::new(message, "SIP1");
    event.context = Context::DistributeCallPartyEvent;
    event.timestamp = Some(Timestamp(at));
    event.call_uuid = Some(CallUuid::new(uuid));
    event.conn_id = Some(ConnId(conn));
    event.this_dn = Some(Text::from("1001"));
    event
}

fn retention() -> Retention {
    Retention {
        after_interaction: 100 * SECOND,
        after_reopenable: 100 * SECOND,
        max_age: 86_400 * SECOND,
        every: SECOND,
    }
}

#[test]
fn signals_stay_for_the_revision_grace_from_when_the_interaction_was_handed_out() {
    let mut recorded = event(Message::EventAttachedDataChanged, "U1", 0x42, T0 + SECOND);
    let mut data = KvList::new();
    data.push("GSIP_REC_FN", Value::Str(Text::from("U1_2026-02-02_08-00-01-00000000-00000042-00000001")));
    recorded.user_data = Some(data);
    let call = [
        event(Message::EventCallCreated, "U1", 0x42, T0),
        recorded,
        event(Message::EventCallDeleted, "U1", 0x42, T0 + 10 * SECOND),
    ];
    let interaction = callstitch_link::stitch(&call, SiteDirectory::new(["SIP1"]))
        .into_iter()
        .next()
        .expect("one interaction");
    assert_eq!(interaction.state, Lifecycle::Complete);
    let mut signals = Signals::with_retention(None, retention());
    for event in &call {
        signals.observe(event);
    }
    // The interaction is handed out complete 1,000 s after its end (it waited).
    let handed_out = T0 + 1_010 * SECOND;
    signals.observe(&event(Message::EventCallCreated, "OTHER", 0x43, handed_out));
    signals.forget_interaction(&interaction);
    let files = |signals: &Signals| signals.for_call("SIP1", "U1", &[]).len();
    signals.observe(&event(Message::EventCallCreated, "OTHER-2", 0x44, handed_out + 99 * SECOND));
    assert_eq!(files(&signals), 1, "within the grace after it was handed out");
    signals.observe(&event(Message::EventCallCreated, "OTHER-3", 0x45, handed_out + 102 * SECOND));
    assert_eq!(files(&signals), 0, "gone once the grace is over");
}
