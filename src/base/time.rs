//! The crate's clock formats: a [`SystemTime`] shown as `2024-09-05 16:16:38 UTC` (the page
//! timestamp), as an HTTP-date (`Thu, 05 Sep 2024 16:16:38 GMT`), or as RFC 3339 to the second
//! (`2024-09-05T16:16:38Z`, the structured errors' `timestamp`) or to the millisecond (logs, HAR).
//! The calendar is the `time` crate's; this module only lays out its fields, and it does not
//! decide which instant anything shows.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::UtcDateTime;

/// The short names HTTP-dates use, indexed by `Weekday::number_days_from_sunday`.
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
/// The short names HTTP-dates use, indexed by the month's number minus one.
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

/// An instant shown as an RFC 3339 UTC date-time to the millisecond, as logs and HAR files
/// write it: `2024-09-05T16:16:38.123Z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rfc3339Millis(pub SystemTime);

impl fmt::Display for UtcTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = utc(self.0);
        write!(f, "{} {} UTC", Day(t), Clock(t))
    }
}

impl fmt::Display for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = utc(self.0);
        write!(
            f,
            "{}, {:02} {} {:04} {} GMT",
            WEEKDAYS[usize::from(t.weekday().number_days_from_sunday())],
            t.day(),
            MONTHS[usize::from(u8::from(t.month()) - 1)],
            t.year(),
            Clock(t)
        )
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = utc(self.0);
        write!(f, "{}T{}Z", Day(t), Clock(t))
    }
}

impl fmt::Display for Rfc3339Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = utc(self.0);
        write!(f, "{}T{}.{:03}Z", Day(t), Clock(t), t.millisecond())
    }
}

/// The calendar day of a broken-down instant: `YYYY-MM-DD`.
struct Day(UtcDateTime);

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            t.year(),
            u8::from(t.month()),
            t.day()
        )
    }
}

/// The time of day of a broken-down instant, to the second: `HH:MM:SS`.
struct Clock(UtcDateTime);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(f, "{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
    }
}

/// `at` broken down in UTC. The fields floor, so an instant before 1970 lands in the second
/// (and millisecond) it belongs to, and fractions are dropped rather than rounded, as on the
/// pages. An instant outside the `time` crate's years (±9999) shows as the nearest one it has,
/// rather than panicking as `UtcDateTime::from(SystemTime)` would: a certificate or a clock
/// may say anything.
fn utc(at: SystemTime) -> UtcDateTime {
    let nanos = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    };
    UtcDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(if nanos < 0 {
        UtcDateTime::MIN
    } else {
        UtcDateTime::MAX
    })
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
    fn dates_match_a_day_by_day_walk() {
        // Walk forward from 1970-01-01 for ~450 years with a naive calendar and compare.
        let (mut y, mut m, mut d) = (1970i64, 1u8, 1u8);
        for days in 0..165_000 {
            assert_eq!(
                UtcTimestamp(at(days * 86_400)).to_string(),
                format!("{y:04}-{m:02}-{d:02} 00:00:00 UTC"),
                "day {days}"
            );
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

    #[test]
    fn a_leap_day_before_the_epoch() {
        // 1968-02-29 12:34:56 UTC is -58,015,504 s; 1900 is not a leap year.
        let t = UNIX_EPOCH - Duration::from_secs(58_015_504);
        assert_eq!(UtcTimestamp(t).to_string(), "1968-02-29 12:34:56 UTC");
        assert_eq!(HttpDate(t).to_string(), "Thu, 29 Feb 1968 12:34:56 GMT");
        assert_eq!(
            Rfc3339(UNIX_EPOCH - Duration::from_secs(2_203_891_200)).to_string(),
            "1900-03-01T00:00:00Z"
        );
    }

    #[test]
    fn millis_before_the_epoch_count_from_the_second_they_belong_to() {
        let t = UNIX_EPOCH - Duration::from_millis(250);
        assert_eq!(Rfc3339Millis(t).to_string(), "1969-12-31T23:59:59.750Z");
        assert_eq!(
            Rfc3339Millis(at(1_725_552_998) + Duration::from_millis(7)).to_string(),
            "2024-09-05T16:16:38.007Z"
        );
    }

    #[test]
    fn instants_beyond_the_calendar_show_its_last_second() {
        // About 12,700 years after 1970: past the `time` crate's 9999.
        let far = at(400_000_000_000);
        assert_eq!(Rfc3339(far).to_string(), "9999-12-31T23:59:59Z");
    }
}
