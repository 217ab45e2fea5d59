//! Calendar formatting for error pages: a [`SystemTime`] shown as `2024-09-05 16:16:38 UTC` (the
//! page timestamp), as an HTTP-date (`Thu, 05 Sep 2024 16:16:38 GMT`) or as RFC 3339
//! (`2024-09-05T16:16:38Z`, the structured errors' `timestamp`). This module owns the
//! civil-from-days conversion (no date crate); it does not decide which instant a page shows.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: i64 = 86_400;

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An instant shown the way error pages show it: `YYYY-MM-DD HH:MM:SS UTC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTimestamp(pub SystemTime);

/// An instant shown as an HTTP-date (RFC 9110 IMF-fixdate): `Thu, 05 Sep 2024 16:16:38 GMT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpDate(pub SystemTime);

/// An instant shown as an RFC 3339 UTC date-time to the second: `2024-09-05T16:16:38Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rfc3339(pub SystemTime);

impl fmt::Display for UtcTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = Civil::from_system_time(self.0);
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

impl fmt::Display for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = Civil::from_system_time(self.0);
        write!(
            f,
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            WEEKDAYS[usize::from(c.weekday)],
            c.day,
            MONTHS[usize::from(c.month - 1)],
            c.year,
            c.hour,
            c.minute,
            c.second
        )
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = Civil::from_system_time(self.0);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

/// An instant shown as an RFC 3339 UTC date-time to the millisecond, as logs and HAR files
/// write it: `2024-09-05T16:16:38.123Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rfc3339Millis(pub SystemTime);

impl fmt::Display for Rfc3339Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = Civil::from_system_time(self.0);
        let millis = self
            .0
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_millis());
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        )
    }
}

/// A broken-down UTC time, to the second (fractions are dropped, as on the pages).
struct Civil {
    year: i64,
    /// 1..=12
    month: u8,
    /// 1..=31
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    /// 0 = Sunday .. 6 = Saturday
    weekday: u8,
}

impl Civil {
    fn from_system_time(at: SystemTime) -> Civil {
        // Whole seconds, rounded towards the past so that instants before 1970 still land in
        // the second they belong to.
        let secs = match at.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => {
                let before = before.duration();
                let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                if before.subsec_nanos() > 0 {
                    -whole.saturating_add(1)
                } else {
                    -whole
                }
            }
        };
        Civil::from_unix_seconds(secs)
    }

    fn from_unix_seconds(secs: i64) -> Civil {
        let days = secs.div_euclid(SECONDS_PER_DAY);
        let of_day = secs.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            // All three are below 60 (or 24) after rem_euclid, so the narrowing is exact.
            hour: (of_day / 3600) as u8,
            minute: (of_day / 60 % 60) as u8,
            second: (of_day % 60) as u8,
            // 1970-01-01 was a Thursday (4).
            weekday: (days + 4).rem_euclid(7) as u8,
        }
    }
}

/// The proleptic Gregorian date `days` days after 1970-01-01, as (year, month 1..=12, day).
///
/// Counts in 400-year eras starting on 1 March, so the leap day falls at the end of each
/// computational year and needs no special case (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    // Shift the epoch from 1970-01-01 to 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // 0..=146_096
    // 0..=399; the corrections undo the leap days counted so far in the era.
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    // 0..=365, counted from 1 March.
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // 0..=11, March = 0
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1; // 1..=31
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // month is 1..=12 and day 1..=31 by construction.
    (year, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn known_instant_formats_as_page_timestamp_and_http_date() {
        assert_eq!(
            UtcTimestamp(at(1_725_552_998)).to_string(),
            "2024-09-05 16:16:38 UTC"
        );
        assert_eq!(
            HttpDate(at(1_725_552_998)).to_string(),
            "Thu, 05 Sep 2024 16:16:38 GMT"
        );
        assert_eq!(
            UtcTimestamp(UNIX_EPOCH).to_string(),
            "1970-01-01 00:00:00 UTC"
        );
        assert_eq!(
            HttpDate(UNIX_EPOCH).to_string(),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            HttpDate(at(784_111_777)).to_string(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn fractions_of_a_second_are_dropped() {
        let t = at(1_725_552_998) + Duration::from_millis(999);
        assert_eq!(UtcTimestamp(t).to_string(), "2024-09-05 16:16:38 UTC");
        assert_eq!(Rfc3339(t).to_string(), "2024-09-05T16:16:38Z");
    }

    #[test]
    fn rfc3339_is_utc_to_the_second() {
        assert_eq!(
            Rfc3339(at(1_725_552_998)).to_string(),
            "2024-09-05T16:16:38Z"
        );
        assert_eq!(Rfc3339(UNIX_EPOCH).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Rfc3339(at(1_704_067_199)).to_string(),
            "2023-12-31T23:59:59Z"
        );
    }

    #[test]
    fn leap_days_and_century_rules() {
        // 2024-02-29 00:00:00 (leap year), then the day after.
        assert_eq!(
            UtcTimestamp(at(1_709_164_800)).to_string(),
            "2024-02-29 00:00:00 UTC"
        );
        assert_eq!(
            UtcTimestamp(at(1_709_251_200)).to_string(),
            "2024-03-01 00:00:00 UTC"
        );
        // 2000 is a leap year (divisible by 400).
        assert_eq!(
            UtcTimestamp(at(951_782_400)).to_string(),
            "2000-02-29 00:00:00 UTC"
        );
        // 2100 is not (divisible by 100 only): 28 February is followed by 1 March.
        assert_eq!(
            UtcTimestamp(at(4_107_456_000)).to_string(),
            "2100-02-28 00:00:00 UTC"
        );
        assert_eq!(
            UtcTimestamp(at(4_107_542_400)).to_string(),
            "2100-03-01 00:00:00 UTC"
        );
        // 2023 is not a leap year; last second of the year.
        assert_eq!(
            UtcTimestamp(at(1_704_067_199)).to_string(),
            "2023-12-31 23:59:59 UTC"
        );
        assert_eq!(
            HttpDate(at(1_704_067_200)).to_string(),
            "Mon, 01 Jan 2024 00:00:00 GMT"
        );
    }

    #[test]
    fn instants_before_the_epoch_round_towards_the_past() {
        let t = UNIX_EPOCH - Duration::from_millis(500);
        assert_eq!(UtcTimestamp(t).to_string(), "1969-12-31 23:59:59 UTC");
        assert_eq!(
            HttpDate(UNIX_EPOCH - Duration::from_secs(1)).to_string(),
            "Wed, 31 Dec 1969 23:59:59 GMT"
        );
    }

    #[test]
    fn civil_from_days_matches_a_day_by_day_walk() {
        // Walk forward from 1970-01-01 for ~450 years with a naive calendar and compare.
        let (mut y, mut m, mut d) = (1970i64, 1u8, 1u8);
        for days in 0..165_000 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }
}
