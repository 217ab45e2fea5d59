//! Cloudflare's ray clock: the first 32 bits of a real ray ID grow with time, about 6.25 per
//! second. This module owns the fitted line from an instant to those 32 bits; it does not make
//! ray IDs (that is [`super::RayGenerator`]).
//!
//! # The fit
//!
//! Least squares, linear in seconds since the Unix epoch (`hi32 = a·t + b`), over the ray IDs
//! of four real Cloudflare responses whose time is known. Each line: prefix, time (UTC), where
//! it was seen, the line's value there, and the residual (prefix minus line) in counts and in
//! seconds of the clock.
//!
//! - `4ee02a55`, 2019-06-28 (the day only; taken as 12:00:00), one of issue 18's captures:
//!   `4ee027d0`, +645 (+103 s).
//! - `96be4b14`, 2025-08-08 10:22 (the minute only; taken as 10:22:30), the 522 page of August
//!   2025 quoted in issue 18: `96be5c83`, -4463 (-714 s).
//! - `a23c92d5`, 2026-07-31 12:23:38 (its `date` header), an HTTP/2 522 from
//!   api.cloudflare.com whose headers were pasted into a public session log: `a23c8cb4`,
//!   +1569 (+251 s).
//! - `a3479b79`, 2026-09-01 22:10:50 (the page's own time), a 521 page for eth.llamarpc.com
//!   pasted into a public evaluation log: `a34792ab`, +2254 (+361 s).
//!
//! The fit gives `a = 6.2497998244` per second and `b = -8437144275.73`, used here rounded to
//! [`TICKS_PER_SECOND`] and [`TICKS_AT_EPOCH`] (the residuals above are the rounded line's).
//! The count was zero on 2012-10-11 20:12:01 UTC and passes 2^32 on 2034-07-22 17:44:59 UTC,
//! where it wraps (as 32 bits must). Every capture is within 12 minutes of the line: within
//! the slack of their own times, the 2019 one being known to the day only.

use std::time::{SystemTime, UNIX_EPOCH};

/// Counts per second: the fitted slope `a`.
pub const TICKS_PER_SECOND: f64 = 6.249_799_824;

/// The count at the Unix epoch: the fitted intercept `b` (negative: the count started in 2012).
pub const TICKS_AT_EPOCH: f64 = -8_437_144_275.7;

/// 2^32: the clock's 32 bits wrap here.
const WRAP: f64 = 4_294_967_296.0;

/// The first 32 bits of a ray ID made at `at`, as Cloudflare's clock would have them.
pub fn ticks(at: SystemTime) -> u32 {
    let seconds = match at.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    };
    let count = (TICKS_PER_SECOND * seconds + TICKS_AT_EPOCH).floor();
    // In [0, 2^32) after `rem_euclid`, so the cast neither truncates nor saturates.
    count.rem_euclid(WRAP) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(unix_seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix_seconds)
    }

    /// The four captures of the fit: their times map close to their prefixes.
    #[test]
    fn the_captures_times_map_to_their_prefixes() {
        for (unix_seconds, prefix) in [
            (1_561_723_200, 0x4ee0_2a55_u32), // 2019-06-28 12:00:00
            (1_754_648_550, 0x96be_4b14),     // 2025-08-08 10:22:30
            (1_785_500_618, 0xa23c_92d5),     // 2026-07-31 12:23:38
            (1_788_300_650, 0xa347_9b79),     // 2026-09-01 22:10:50
        ] {
            let fitted = ticks(at(unix_seconds));
            let residual = i64::from(prefix) - i64::from(fitted);
            // 5000 counts: 13 minutes of Cloudflare's clock.
            assert!(
                residual.abs() < 5_000,
                "{prefix:08x} at {unix_seconds}: fitted {fitted:08x}, residual {residual}"
            );
        }
    }

    #[test]
    fn the_clock_grows_about_six_and_a_quarter_per_second_and_wraps() {
        let start = at(1_788_300_650);
        let later = start + Duration::from_secs(1_000);
        assert!((6_249..=6_250).contains(&(ticks(later) - ticks(start))));
        // Its zero, on 2012-10-11 20:12:01 UTC, and the wrap on 2034-07-22 17:44:59 UTC.
        assert_eq!(ticks(at(1_349_986_321)), u32::MAX - 4);
        assert_eq!(ticks(at(1_349_986_322)), 1);
        assert_eq!(ticks(at(2_037_203_099)), u32::MAX - 2);
        assert_eq!(ticks(at(2_037_203_100)), 4);
        assert!(
            ticks(UNIX_EPOCH) > 0,
            "before 2012 it wraps too, never panics"
        );
    }
}
