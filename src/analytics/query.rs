//! What a reader asks analytics for: a time [`Range`] and optionally one status, parsed from the
//! URL query string of `GET /analytics` and `GET /analytics.json`. This module does not read the
//! store.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// How far back a report looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Range {
    /// The last 5 minutes, in 10-second buckets: `5m`.
    #[serde(rename = "5m")]
    FiveMinutes,
    /// The last hour, in 1-minute buckets: `1h`.
    #[default]
    #[serde(rename = "1h")]
    Hour,
    /// The last 24 hours, in 15-minute buckets: `24h`.
    #[serde(rename = "24h")]
    Day,
}

impl Range {
    /// Every range, shortest first (the order of the page's selector).
    pub const ALL: [Range; 3] = [Range::FiveMinutes, Range::Hour, Range::Day];

    /// The query-string form: `5m`, `1h` or `24h`.
    pub fn as_str(self) -> &'static str {
        match self {
            Range::FiveMinutes => "5m",
            Range::Hour => "1h",
            Range::Day => "24h",
        }
    }

    /// How the page's selector names it: `Last 5 minutes`.
    pub fn label(self) -> &'static str {
        match self {
            Range::FiveMinutes => "Last 5 minutes",
            Range::Hour => "Last hour",
            Range::Day => "Last 24 hours",
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Range {
    type Err = String;

    /// `5m`, `1h` or `24h`; anything else is an error naming the accepted values.
    fn from_str(text: &str) -> Result<Range, String> {
        Range::ALL
            .into_iter()
            .find(|range| range.as_str() == text)
            .ok_or_else(|| format!("range: {} is not one of 5m, 1h, 24h", quoted(text)))
    }
}

/// A report request: the range, and the status whose top tables to show.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Query {
    /// How far back to look.
    pub range: Range,
    /// The status to detail (top URLs, origin IPs, colos), if any.
    pub status: Option<u16>,
}

impl Query {
    /// Parses an URL query string: `range=5m&status=522` (either key optional, empty ok; a key
    /// with an empty value counts as absent, and the last of a repeated key wins). Unknown keys
    /// or bad values -> Err(message naming the key and the accepted values).
    pub fn from_query_string(query: &str) -> Result<Query, String> {
        let mut parsed = Query::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "range" if value.is_empty() => parsed.range = Range::default(),
                "range" => parsed.range = value.parse()?,
                "status" if value.is_empty() => parsed.status = None,
                "status" => parsed.status = Some(parse_status(value)?),
                _ => {
                    return Err(format!(
                        "unknown key {}: the accepted keys are range (5m, 1h, 24h) and \
                         status (100-599)",
                        quoted(key)
                    ));
                }
            }
        }
        Ok(parsed)
    }

    /// The query string that asks for this again (`range=5m&status=522`), for links.
    pub fn to_query_string(&self) -> String {
        match self.status {
            Some(status) => format!("range={}&status={status}", self.range),
            None => format!("range={}", self.range),
        }
    }
}

/// An HTTP status 100-599.
fn parse_status(value: &str) -> Result<u16, String> {
    value
        .parse::<u16>()
        .ok()
        .filter(|status| (100..=599).contains(status))
        .ok_or_else(|| format!("status: {} is not an HTTP status (100-599)", quoted(value)))
}

/// `text` in double quotes for an error message, cut at 40 characters: it comes from the URL.
fn quoted(text: &str) -> String {
    const SHOWN_CHARS: usize = 40;
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((end, _)) => format!("\"{}…\"", &text[..end]),
        None => format!("\"{text}\""),
    }
}
