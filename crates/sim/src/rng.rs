//! The simulator's random numbers: a small, fixed algorithm (SplitMix64 seeding a
//! xoshiro256**), so that one seed gives the same output on every build and platform.
//!
//! Only integer arithmetic is used: no floating point reaches a decision, so no libm
//! difference between platforms can change a byte of output.

/// A seeded generator (xoshiro256**, seeded through SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator for `seed`; every seed (0 included) gives a usable state.
    pub fn new(seed: u64) -> Rng {
        let mut mix = seed;
        let mut state = [0_u64; 4];
        for slot in &mut state {
            *slot = splitmix64(&mut mix);
        }
        Rng { state }
    }

    fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = &mut self.state;
        let result = s1.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = *s1 << 17;
        *s2 ^= *s0;
        *s3 ^= *s1;
        *s1 ^= *s2;
        *s0 ^= *s3;
        *s2 ^= t;
        *s3 = s3.rotate_left(45);
        result
    }

    /// A number in `0..bound` (`0` when `bound` is 0), without modulo bias worth noting.
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A number in `low..=high` (`low` when the range is empty).
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        low + self.below((high - low) as u64 + 1) as i64
    }

    /// True with probability `percent` / 100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// True with probability `per_mille` / 1000.
    pub fn per_mille(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// One element of a non-empty slice (the first for an empty range is impossible, so a
    /// caller passes a non-empty slice; an empty one gives `None`).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// An index chosen by integer weights; `None` when every weight is 0.
    pub fn weighted(&mut self, weights: &[u32]) -> Option<usize> {
        let total: u64 = weights.iter().map(|weight| u64::from(*weight)).sum();
        if total == 0 {
            return None;
        }
        let mut ticket = self.below(total);
        for (index, weight) in weights.iter().enumerate() {
            let weight = u64::from(*weight);
            if ticket < weight {
                return Some(index);
            }
            ticket -= weight;
        }
        None
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_algorithm_is_fixed() {
        // Pinned values: a change here changes every generated file.
        let mut rng = Rng::new(42);
        let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        let mut again = Rng::new(42);
        assert_eq!(first, (0..3).map(|_| again.next_u64()).collect::<Vec<_>>());
        assert_ne!(first[0], first[1]);
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn bounded_draws_stay_in_range() {
        let mut rng = Rng::new(7);
        for _ in 0..10_000 {
            assert!(rng.below(13) < 13);
            let value = rng.between(-5, 5);
            assert!((-5..=5).contains(&value));
        }
        assert_eq!(rng.below(0), 0);
        assert_eq!(rng.between(3, 3), 3);
    }

    #[test]
    fn weights_choose_in_proportion() {
        let mut rng = Rng::new(9);
        let mut counts = [0_u32; 3];
        for _ in 0..30_000 {
            counts[rng.weighted(&[1, 0, 2]).unwrap_or(1)] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((9_000..11_000).contains(&counts[0]), "{counts:?}");
        assert_eq!(rng.weighted(&[0, 0]), None);
    }
}
