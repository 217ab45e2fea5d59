//! Which requests analytics keeps: a deterministic sample decided on the ray's numeric id, so
//! the same request is kept or not whatever else happens. This module does not count anything.

/// 2^64 as a float: `sample × 2^64` is the threshold a mixed key must stay under.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// Keeps a fraction of keys: those whose [`mix`] falls under a threshold.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sampler {
    /// The fraction kept, clamped to (0, 1].
    rate: f64,
    /// Keys whose mix is below this are kept; `None` keeps every key.
    threshold: Option<u64>,
}

impl Sampler {
    /// A sampler keeping the fraction `rate`. The config validates `0 < rate <= 1`; here
    /// anything above 1 keeps everything, NaN is taken as 1, and zero or less keeps nothing
    /// (the smallest positive rate, whose threshold rounds to zero).
    pub(super) fn new(rate: f64) -> Sampler {
        let rate = if rate.is_nan() {
            1.0
        } else {
            rate.clamp(f64::MIN_POSITIVE, 1.0)
        };
        let threshold = if rate >= 1.0 {
            None
        } else {
            // Below 2^64 since rate < 1; `as` saturates anyway.
            Some((rate * TWO_POW_64) as u64)
        };
        Sampler { rate, threshold }
    }

    /// The fraction kept.
    pub(super) fn rate(&self) -> f64 {
        self.rate
    }

    /// Whether the request with this key is kept.
    pub(super) fn keeps(&self, key: u64) -> bool {
        match self.threshold {
            None => true,
            Some(threshold) => mix(key) < threshold,
        }
    }
}

/// SplitMix64's output step: spreads consecutive or patterned keys (ray ids from a counter)
/// evenly over the whole u64 range.
pub(super) fn mix(key: u64) -> u64 {
    let mut z = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
