//! The duration syntax of the config file: `"15s"`, `"250ms"`, `"1m30s"`, `"1h2m3s500ms"`.
//! This module owns reading that text (and a bare TOML number, so it can be refused with a
//! helpful message); which durations a key accepts is decided by `validate`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The units, largest first, with their length in milliseconds. A duration names each unit at
/// most once, in this order.
const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

/// A duration as written in the file, not yet parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RawDuration {
    /// A TOML string, e.g. `"15s"`.
    Text(String),
    /// A bare TOML number (`read = 15`), kept as written so the problem can quote it.
    Number(String),
}

impl RawDuration {
    /// The duration, or why the text is not one.
    pub(crate) fn parse(&self) -> Result<Duration, DurationError> {
        match self {
            RawDuration::Text(text) => parse(text),
            RawDuration::Number(text) => Err(DurationError {
                text: text.clone(),
                fault: Fault::BareNumber,
            }),
        }
    }
}

impl fmt::Display for RawDuration {
    /// As written: `"15s"` quoted, a bare number not.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawDuration::Text(text) => write!(f, "{text:?}"),
            RawDuration::Number(text) => f.write_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawDurationVisitor)
    }
}

struct RawDurationVisitor;

impl Visitor<'_> for RawDurationVisitor {
    type Value = RawDuration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration with its unit, like \"15s\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawDuration, E> {
        Ok(RawDuration::Text(v.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawDuration, E> {
        Ok(RawDuration::Number(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawDuration, E> {
        Ok(RawDuration::Number(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawDuration, E> {
        Ok(RawDuration::Number(v.to_string()))
    }
}

/// Why a value is not a duration. Displays as a whole problem sentence quoting the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DurationError {
    text: String,
    fault: Fault,
}

/// What exactly is wrong, for the hint after the common sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fault {
    /// A bare TOML number, not a string.
    BareNumber,
    Empty,
    /// Digits not followed by a unit: `"15"`, `"1m30"`.
    NoUnit,
    Negative,
    Fraction,
    Spaces,
    UnknownUnit(String),
    /// Units out of order or repeated: `"30s1m"`, `"1s1s"`.
    Order,
    /// Anything else: `"s"`, `"+1s"`, `"1µs"`.
    Malformed,
    /// More milliseconds than a u64 holds.
    TooLarge,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hint = match &self.fault {
            Fault::TooLarge => return write!(f, "{:?} is too long to be a duration", self.text),
            Fault::BareNumber => {
                write!(f, "{} is not a duration", self.text)?;
                ""
            }
            fault => {
                write!(f, "{:?} is not a duration", self.text)?;
                match fault {
                    Fault::Negative => " (a duration cannot be negative)",
                    Fault::Fraction => " (whole numbers only: \"1s500ms\", not \"1.5s\")",
                    Fault::Spaces => " (without spaces)",
                    Fault::UnknownUnit(_) => " (the units are h, m, s and ms)",
                    Fault::Order => " (largest unit first, each unit once)",
                    Fault::BareNumber
                    | Fault::Empty
                    | Fault::NoUnit
                    | Fault::Malformed
                    | Fault::TooLarge => "",
                }
            }
        };
        write!(
            f,
            "; write it with a unit, like \"15s\", \"250ms\" or \"1m30s\"{hint}"
        )
    }
}

/// Parses `"15s"`, `"250ms"`, `"1m30s"`, `"1h2m3s500ms"`: whole numbers, each followed by one of
/// `h`, `m`, `s`, `ms`, largest unit first, no spaces, no sign.
/// `d` in the same syntax, to the millisecond, largest unit first: `"1m30s"`, `"250ms"`, `"0ms"`.
pub(crate) fn format(d: Duration) -> String {
    let mut left = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if left == 0 {
        return "0ms".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        if left >= size {
            out.push_str(&(left / size).to_string());
            out.push_str(unit);
            left %= size;
        }
    }
    out
}

pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
    let fail = |fault| {
        Err(DurationError {
            text: text.to_owned(),
            fault,
        })
    };
    if text.is_empty() {
        return fail(Fault::Empty);
    }
    if text.starts_with('-') {
        return fail(Fault::Negative);
    }
    if text.contains(char::is_whitespace) {
        return fail(Fault::Spaces);
    }
    if text.contains('.') {
        return fail(Fault::Fraction);
    }
    let mut rest = text;
    let mut millis: u64 = 0;
    let mut previous_unit: Option<usize> = None;
    while !rest.is_empty() {
        // Digits and unit letters are ASCII, so these byte counts fall on char boundaries.
        let digit_count = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (digits, after) = rest.split_at(digit_count);
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        if digits.is_empty() {
            return fail(Fault::Malformed);
        }
        if unit.is_empty() {
            return fail(if after.is_empty() {
                Fault::NoUnit
            } else {
                Fault::Malformed
            });
        }
        let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return fail(Fault::UnknownUnit(unit.to_owned()));
        };
        if previous_unit.is_some_and(|previous| index <= previous) {
            return fail(Fault::Order);
        }
        // `digits` is all ASCII digits, so the only way to fail is overflow.
        let Some(total) = digits
            .parse::<u64>()
            .ok()
            .and_then(|value| value.checked_mul(UNITS[index].1))
            .and_then(|value| value.checked_add(millis))
        else {
            return fail(Fault::TooLarge);
        };
        millis = total;
        previous_unit = Some(index);
        rest = after;
    }
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_duration_accepts_each_form() {
        let cases = [
            ("15s", Duration::from_secs(15)),
            ("250ms", Duration::from_millis(250)),
            ("1m30s", Duration::from_secs(90)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1h2m3s500ms", Duration::from_millis(3_723_500)),
            ("1h500ms", Duration::from_millis(3_600_500)),
            ("0s", Duration::ZERO),
            ("007s", Duration::from_secs(7)),
            ("6000s", Duration::from_secs(6000)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn config_duration_rejects_each_bad_form_with_its_hint() {
        let common = "; write it with a unit, like \"15s\", \"250ms\" or \"1m30s\"";
        let cases = [
            ("15", ""),
            ("", ""),
            ("1m30", ""),
            ("s", ""),
            ("+1s", ""),
            ("1µs", ""),
            ("-1s", " (a duration cannot be negative)"),
            ("1.5s", " (whole numbers only: \"1s500ms\", not \"1.5s\")"),
            ("1 s", " (without spaces)"),
            (" 1s", " (without spaces)"),
            ("15sec", " (the units are h, m, s and ms)"),
            ("15S", " (the units are h, m, s and ms)"),
            ("1d", " (the units are h, m, s and ms)"),
            ("30s1m", " (largest unit first, each unit once)"),
            ("1s1s", " (largest unit first, each unit once)"),
        ];
        for (text, hint) in cases {
            let error = parse(text).expect_err(text);
            assert_eq!(
                error.to_string(),
                format!("{text:?} is not a duration{common}{hint}")
            );
        }
    }

    #[test]
    fn config_duration_overflow_is_too_long_not_a_panic() {
        for text in [
            "99999999999999999999s",
            "18446744073709551615h",
            "5124095576030431h1m",
        ] {
            let error = parse(text).expect_err(text);
            assert_eq!(
                error.to_string(),
                format!("{text:?} is too long to be a duration")
            );
        }
    }

    #[test]
    fn config_duration_bare_number_is_refused_unquoted() {
        let error = RawDuration::Number("15".into())
            .parse()
            .expect_err("a number");
        assert_eq!(
            error.to_string(),
            "15 is not a duration; write it with a unit, like \"15s\", \"250ms\" or \"1m30s\""
        );
    }
}
