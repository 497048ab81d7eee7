//! Throughput of the engine alone: events already parsed and in memory, one core.
//!
//! `cargo bench -p callstitch-engine --bench engine` reports events per second
//! ("thrpt", in elements/s). The target is at least 2 million events/s.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a bench panics on its own set-up, not on input")]

use callstitch_engine::{Engine, EngineConfig};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[path = "workload.rs"]
mod workload;

fn engine_throughput(c: &mut Criterion) {
    let events = workload::generate(400_000, 200);
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_secs(1));
    group.measurement_time(std::time::Duration::from_secs(4));
    group.bench_function("mixed_workload_400k_events", |bench| {
        bench.iter(|| {
            let mut engine = Engine::new(EngineConfig::default());
            let mut finished = 0usize;
            for event in &events {
                engine.apply(event, &mut |_| finished += 1);
            }
            engine.finish(&mut |_| finished += 1);
            finished
        })
    });
    group.finish();
}

criterion_group!(benches, engine_throughput);
criterion_main!(benches);
