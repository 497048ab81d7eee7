//! Memory follows the calls in progress, not the calls seen: on a long generated stream the
//! number of calls in memory stays bounded, and every call is finished and handed on.

use callstitch_engine::{Engine, EngineConfig, Outcome};

use crate::workload;

#[test]
fn live_calls_stay_bounded_on_a_long_stream() {
    let events = workload::generate(300_000, 100);
    let mut engine = Engine::new(EngineConfig::default());
    let mut finished = 0u64;
    let mut conformant = 0u64;
    let mut answered = 0u64;
    let mut max_live = 0usize;
    for (index, event) in events.iter().enumerate() {
        engine.apply(event, &mut |call| {
            finished += 1;
            conformant += u64::from(call.conformant);
            answered += u64::from(call.outcome != Outcome::AbandonedInQueue);
        });
        if index % 1000 == 0 {
            max_live = max_live.max(engine.live_calls());
        }
    }
    let before_finish = finished;
    engine.finish(&mut |_| finished += 1);
    let stats = engine.stats().clone();
    assert!(
        before_finish > 30_000,
        "calls leave memory as they end: {before_finish} finished before finish()"
    );
    // 100 calls in progress, plus those lingering for trailing events (2 s of event time at
    // 2 ms per event is ~1000 events, i.e. ~150 ended calls).
    assert!(stats.peak_live_calls < 400, "peak {} calls in memory", stats.peak_live_calls);
    assert!(max_live < 400);
    assert_eq!(stats.calls_started, stats.calls_finished);
    assert_eq!(engine.live_calls(), 0);
    assert_eq!(conformant, before_finish, "the generated models all conform");
    assert!(answered > 0);
}
