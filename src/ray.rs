//! Ray IDs: the `cf-ray` value that ties a visitor's response, the origin's request, the error
//! page and the log line together. This module owns their format and generation, not where
//! they are written.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Hands out ray IDs that never repeat within a process and are unpredictable across processes.
///
/// Each ID is a bijective 64-bit mix of `seed + n`, so two requests of one process can only
/// share an ID after 2^64 requests, and two processes (with random seeds) collide with
/// negligible probability.
pub struct RayGenerator {
    seed: u64,
    counter: AtomicU64,
}

impl RayGenerator {
    /// A generator seeded from the operating system's randomness.
    pub fn random() -> Self {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(u64::from(std::process::id()));
        Self::seeded(hasher.finish())
    }

    /// A generator whose sequence is fixed by `seed` (reproducible runs). The seed is mixed
    /// first, so neighbouring seeds (42, 43) give unrelated sequences rather than the same one
    /// shifted by one.
    pub fn seeded(seed: u64) -> Self {
        RayGenerator {
            seed: mix(seed ^ SEED_SALT),
            counter: AtomicU64::new(0),
        }
    }

    /// A number identifying this generator (the trace's `fl`), without using up a ray ID:
    /// the first request of a seeded run still gets the sequence's first ID.
    pub fn instance_id(&self) -> u64 {
        mix(!self.seed)
    }

    /// The next ray ID, for a request handled in `colo`.
    pub fn next(&self, colo: Colo) -> RayId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        RayId::new(mix(self.seed.wrapping_add(n)), colo)
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
}
