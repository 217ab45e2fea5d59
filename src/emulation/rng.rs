//! [`Rng`]: the small seedable generator behind `percent`, latency jitter and toxicity, so a
//! run with `[emulation] seed` makes the same decisions in the same order. Not cryptographic.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// SplitMix64: one 64-bit state, a full-period sequence, good enough statistics for rolls.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator that gives the same sequence for the same `seed`.
    pub fn seeded(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A generator seeded from the process's randomness.
    pub fn random() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(u64::from(std::process::id()));
        Rng::seeded(hasher.finish())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A float uniformly in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        // The top 53 bits make every representable step equally likely.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether a roll of `percent` (0-100) succeeds: 0 never, 100 always.
    pub fn chance(&mut self, percent: f64) -> bool {
        self.unit() * 100.0 < percent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_bounds_hold() {
        let mut a = Rng::seeded(7);
        let mut b = Rng::seeded(7);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
        assert_ne!(Rng::seeded(8).next_u64(), first[0]);
        let mut rng = Rng::seeded(1);
        assert!((0..1000).all(|_| !rng.chance(0.0)));
        assert!((0..1000).all(|_| rng.chance(100.0)));
        let hits = (0..10_000).filter(|_| rng.chance(25.0)).count();
        assert!((2200..2800).contains(&hits), "{hits}");
    }
}
