//! Ray IDs: the `cf-ray` value that ties a visitor's response, the origin's request, the error
//! page and the log line together. This module owns their format and generation, not where
//! they are written. The first 32 bits are Cloudflare's clock ([`clock`]), the last 32 a
//! per-request sequence.

pub mod clock;

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A Cloudflare data-centre code: three uppercase ASCII letters (IATA), e.g. `CDG`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Colo([u8; 3]);

/// Why a string is not a [`Colo`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be three uppercase letters (an IATA code such as \"CDG\"), not {0:?}")]
pub struct InvalidColo(pub String);

impl Colo {
    /// The colo edgecase uses when none is configured: Paris, whose article this project follows.
    pub const DEFAULT: Colo = Colo(*b"CDG");

    /// The code as text, e.g. `"CDG"`.
    pub fn as_str(&self) -> &str {
        // Invariant: only `FromStr` and `DEFAULT` build a Colo, both with ASCII uppercase bytes.
        std::str::from_utf8(&self.0).expect("colo bytes are ASCII")
    }
}

impl FromStr for Colo {
    type Err = InvalidColo;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Colo([a, b, c])),
            _ => Err(InvalidColo(s.to_owned())),
        }
    }
}

impl fmt::Display for Colo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Colo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Colo({})", self.as_str())
    }
}

/// One request's ray ID: 16 lowercase hex digits and the colo, shown as `230b030023ae2822-CDG`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RayId {
    id: u64,
    colo: Colo,
}

impl RayId {
    /// A ray ID from its parts (tests and replays; live traffic uses [`RayGenerator`]).
    pub fn new(id: u64, colo: Colo) -> Self {
        RayId { id, colo }
    }

    /// The numeric part.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The data centre part.
    pub fn colo(&self) -> Colo {
        self.colo
    }

    /// The 16 hex digits alone, as the error page footer shows them.
    pub fn hex(&self) -> RayHex {
        RayHex(self.id)
    }
}

impl RayId {
    /// `230b030023ae2822-SJC` as bytes, without the formatting machinery (it is written into
    /// two headers of every request).
    pub fn to_bytes(&self) -> [u8; 20] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 20];
        for (i, slot) in out[..16].iter_mut().enumerate() {
            *slot = HEX[((self.id >> (60 - 4 * i)) & 0xf) as usize];
        }
        out[16] = b'-';
        out[17..].copy_from_slice(&self.colo.0);
        out
    }

    /// The ray as a header value (`cf-ray`).
    pub fn header_value(&self) -> http::HeaderValue {
        // Hex digits, a dash and three uppercase letters: always a valid header value.
        http::HeaderValue::from_bytes(&self.to_bytes()).expect("a ray ID is header text")
    }
}

impl fmt::Display for RayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes();
        // Invariant: `to_bytes` writes ASCII only.
        f.write_str(std::str::from_utf8(&bytes).expect("a ray ID is ASCII"))
    }
}

impl fmt::Debug for RayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RayId({self})")
    }
}

/// The hex half of a [`RayId`], formatted without allocating.
#[derive(Clone, Copy)]
pub struct RayHex(u64);

impl fmt::Display for RayHex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// Hands out ray IDs shaped like Cloudflare's: the first 32 bits are [`clock::ticks`] of when
/// the ray was made, the last 32 a bijective 32-bit mix of `seed + n` for the n-th ray.
///
/// Two rays of one process can only be equal if they were made within the same clock tick
/// (0.16 s) and 2^32 rays apart, which never happens; two processes (with random seeds) share
/// a ray with probability 2^-32 per pair of rays made in the same tick.
///
/// A seeded generator (`[edge] ray_seed`) must give the same rays at every run, so it does not
/// read the wall clock: its clock part is always that of [`SEEDED_CLOCK_UNIX_SECONDS`]
/// (2026-01-01 00:00:00 UTC, prefix `9b6dc390`), and only the last 32 bits, fixed by the seed,
/// vary. Its rays repeat after 2^32 of them.
pub struct RayGenerator {
    seed: u64,
    counter: AtomicU64,
    /// The clock part of every ray (seeded generators); `None`: read the wall clock.
    fixed_clock: Option<u32>,
}

/// The instant a seeded generator's rays carry in their first 32 bits, in seconds since the Unix
/// epoch: 2026-01-01 00:00:00 UTC.
pub const SEEDED_CLOCK_UNIX_SECONDS: u64 = 1_767_225_600;

impl RayGenerator {
    /// A generator seeded from the operating system's randomness, on the wall clock.
    pub fn random() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(u64::from(std::process::id()));
        RayGenerator {
            fixed_clock: None,
            ..Self::seeded(hasher.finish())
        }
    }

    /// A generator whose sequence is fixed by `seed` (reproducible runs), its clock stopped at
    /// [`SEEDED_CLOCK_UNIX_SECONDS`]. The seed is mixed first, so neighbouring seeds (42, 43)
    /// give unrelated sequences rather than the same one shifted by one.
    pub fn seeded(seed: u64) -> Self {
        RayGenerator {
            seed: mix(seed ^ SEED_SALT),
            counter: AtomicU64::new(0),
            fixed_clock: Some(clock::ticks(
                UNIX_EPOCH + Duration::from_secs(SEEDED_CLOCK_UNIX_SECONDS),
            )),
        }
    }

    /// A number identifying this generator (the trace's `fl`), without using up a ray ID:
    /// the first request of a seeded run still gets the sequence's first ID.
    pub fn instance_id(&self) -> u64 {
        mix(!self.seed)
    }

    /// The next ray ID, for a request handled in `colo` now.
    pub fn next(&self, colo: Colo) -> RayId {
        self.next_at(colo, SystemTime::now())
    }

    /// The next ray ID, for a request handled in `colo` that arrived `at` (a seeded generator
    /// ignores `at`).
    pub fn next_at(&self, colo: Colo, at: SystemTime) -> RayId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let clock = self.fixed_clock.unwrap_or_else(|| clock::ticks(at));
        // The low halves: the sequence wraps after 2^32 rays, by which time the clock has moved.
        let sequence = mix32((self.seed as u32).wrapping_add(n as u32));
        RayId::new(u64::from(clock) << 32 | u64::from(sequence), colo)
    }
}

/// Keeps a seeded sequence apart from the plain mix of small numbers.
const SEED_SALT: u64 = 0x6564_6765_6361_7365; // "edgecase"

/// SplitMix64's finaliser: a bijection on u64 that spreads consecutive inputs across all bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Chris Wellons' `lowbias32`: a bijection on u32 (xor-shifts and odd multipliers) that spreads
/// consecutive inputs across all bits, so consecutive rays do not look consecutive.
fn mix32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ray_id_is_sixteen_hex_digits_dash_colo() {
        let ray = RayId::new(0x230b_0300_23ae_2822, "SJC".parse().unwrap());
        assert_eq!(ray.to_string(), "230b030023ae2822-SJC");
        assert_eq!(
            RayId::new(1, Colo::DEFAULT).to_string(),
            "0000000000000001-CDG"
        );
        assert_eq!(ray.hex().to_string(), "230b030023ae2822");
    }

    #[test]
    fn the_fast_form_matches_hex_formatting_for_any_id() {
        let colo: Colo = "LHR".parse().unwrap();
        for id in [
            0,
            1,
            0xf,
            0x10,
            u64::MAX,
            0x8000_0000_0000_0000,
            0x0123_4567_89ab_cdef,
        ] {
            let ray = RayId::new(id, colo);
            assert_eq!(ray.to_string(), format!("{id:016x}-LHR"));
            assert_eq!(ray.header_value(), format!("{id:016x}-LHR").as_str());
        }
    }

    #[test]
    fn colo_rejects_anything_but_three_uppercase_letters() {
        for bad in ["", "cdg", "CD", "CDGX", "C1G", "ÉCD"] {
            assert!(bad.parse::<Colo>().is_err(), "{bad:?} was accepted");
        }
        assert_eq!("LHR".parse::<Colo>().unwrap().as_str(), "LHR");
    }

    #[test]
    fn generated_ids_do_not_repeat_and_seed_fixes_the_sequence() {
        let generator = RayGenerator::random();
        let ids: HashSet<u64> = (0..100_000)
            .map(|_| generator.next(Colo::DEFAULT).id())
            .collect();
        assert_eq!(ids.len(), 100_000);

        let a = RayGenerator::seeded(7);
        let b = RayGenerator::seeded(7);
        for _ in 0..10 {
            assert_eq!(a.next(Colo::DEFAULT), b.next(Colo::DEFAULT));
        }
        assert_ne!(
            RayGenerator::random().next(Colo::DEFAULT),
            generator.next(Colo::DEFAULT)
        );
        // Neighbouring seeds are unrelated, not the same sequence shifted by one.
        let next = RayGenerator::seeded(8);
        let seven: HashSet<u64> = (0..1000).map(|_| a.next(Colo::DEFAULT).id()).collect();
        assert!((0..1000).all(|_| !seven.contains(&next.next(Colo::DEFAULT).id())));
    }

    #[test]
    fn the_first_32_bits_are_cloudflares_clock_of_the_arrival() {
        let generator = RayGenerator::random();
        // 2026-09-01 22:10:50 UTC, when Cloudflare answered with ray a3479b798e7ef260.
        let at = UNIX_EPOCH + Duration::from_secs(1_788_300_650);
        let ray = generator.next_at(Colo::DEFAULT, at);
        assert_eq!(ray.id() >> 32, u64::from(clock::ticks(at)));
        assert!(ray.to_string().starts_with("a3479"), "{ray}");

        let before = clock::ticks(SystemTime::now());
        let now = generator.next(Colo::DEFAULT).id() >> 32;
        let after = clock::ticks(SystemTime::now());
        assert!((u64::from(before)..=u64::from(after)).contains(&now));
    }

    #[test]
    fn rays_of_the_same_instant_differ_in_their_last_32_bits() {
        let generator = RayGenerator::random();
        let at = UNIX_EPOCH + Duration::from_secs(1_785_500_618);
        let rays: HashSet<u64> = (0..10_000)
            .map(|_| generator.next_at(Colo::DEFAULT, at).id())
            .collect();
        assert_eq!(rays.len(), 10_000);
        assert!(rays.iter().all(|id| id >> 32 == 0xa23c_8cb4));
        // Not a visible counter: consecutive rays differ in many bits.
        let first = generator.next_at(Colo::DEFAULT, at).id() as u32;
        let second = generator.next_at(Colo::DEFAULT, at).id() as u32;
        assert!(
            (first ^ second).count_ones() > 4,
            "{first:08x} {second:08x}"
        );
    }

    #[test]
    fn seeded_rays_are_reproducible_whatever_the_time() {
        let one = RayGenerator::seeded(42);
        let other = RayGenerator::seeded(42);
        let early = UNIX_EPOCH + Duration::from_secs(1_561_723_200);
        for _ in 0..100 {
            let ray = one.next(Colo::DEFAULT);
            assert_eq!(ray, other.next_at(Colo::DEFAULT, early));
            // The clock part is that of 2026-01-01 00:00:00 UTC.
            assert_eq!(ray.id() >> 32, 0x9b6d_c390, "{ray}");
        }
        assert_eq!(
            RayGenerator::seeded(42).instance_id(),
            RayGenerator::seeded(42).instance_id()
        );
    }

    #[test]
    fn the_32_bit_mix_is_a_bijection_on_a_sample() {
        let outputs: HashSet<u32> = (0..1_000_000u32).map(mix32).collect();
        assert_eq!(outputs.len(), 1_000_000);
    }
}
