//! The arrival process and the interactions it produces: customer calls arrive over
//! simulated time at the configured rate, each at a site and with a scenario drawn from the
//! mix, and each is played into events and truth.
//!
//! Every interaction draws from its own generator (seeded from the run seed and its
//! number), so the same seed gives the same interactions whatever else changes.

use crate::center::ContactCenter;
use crate::config::SimConfig;
use crate::flow::{Flow, Shapes, Timed};
use crate::ids::Ids;
use crate::rng::Rng;
use crate::scenario::{Scenario, MIX};
use crate::truth::Interaction;

/// One generated interaction: its truth and its events (in generation order).
#[derive(Debug, Clone)]
pub struct Generated {
    pub truth: Interaction,
    pub events: Vec<Timed>,
    /// When the customer's call arrived (true UTC microseconds); no event is earlier.
    pub arrival: i64,
    pub scenario: Scenario,
}

/// Produces the interactions of a run, in arrival order.
pub struct Generator {
    center: ContactCenter,
    ids: Ids,
    arrivals: Rng,
    seed: u64,
    next_arrival: i64,
    produced: u64,
    limit: Option<u64>,
    end: Option<i64>,
    mean_gap: i64,
    weights: Vec<u32>,
    shapes: Shapes,
}

impl Generator {
    /// A generator for `config`, starting at `start` (true UTC microseconds).
    pub fn new(config: &SimConfig, start: i64, live: bool) -> Generator {
        let center = ContactCenter::for_config(config.sites, config.seed, config.skew_max_micros);
        let weights = config
            .weights()
            .iter()
            .map(|(scenario, weight)| if scenario.feasible(&center) { *weight } else { 0 })
            .collect();
        let limit = match (config.interactions, config.duration_secs, live) {
            (None, None, false) => Some(crate::config::DEFAULT_INTERACTIONS),
            (count, _, _) => count,
        };
        Generator {
            ids: Ids::new(center.sites.len(), config.conn_reuse_per_mille)
                .with_reuse_after(config.conn_reuse_after_secs.saturating_mul(1_000_000) as i64),
            center,
            arrivals: Rng::new(config.seed ^ 0xA44_1FA1),
            seed: config.seed,
            next_arrival: start,
            produced: 0,
            limit,
            end: config.duration_secs.map(|seconds| start + seconds as i64 * 1_000_000),
            mean_gap: config.mean_gap_micros(),
            weights,
            shapes: config.shapes(),
        }
    }

    pub fn center(&self) -> &ContactCenter {
        &self.center
    }

    /// The next interaction, or `None` once the count or the duration is reached.
    pub fn next_interaction(&mut self) -> Option<Generated> {
        if self.limit.is_some_and(|limit| self.produced >= limit) {
            return None;
        }
        let arrival = self.next_arrival;
        if self.end.is_some_and(|end| arrival >= end) {
            return None;
        }
        // Triangular gaps with the configured mean (integer arithmetic only).
        let gap = (self.arrivals.below(self.mean_gap as u64 * 2)
            + self.arrivals.below(self.mean_gap as u64 * 2))
            / 2;
        self.next_arrival += gap.max(1) as i64;
        let mut rng = Rng::new(self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ self.produced);
        self.produced += 1;
        let scenario = MIX[rng.weighted(&self.weights).unwrap_or(0)].0;
        let home = rng.below(self.center.sites.len() as u64) as usize;
        let mut flow = Flow::new(&self.center, &mut rng, &mut self.ids, arrival).with_shapes(self.shapes);
        scenario.play(&mut flow, home);
        let (truth, events) = flow.finish(scenario.slug());
        Some(Generated { truth, events, arrival, scenario })
    }

    /// Interactions produced so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }
}
