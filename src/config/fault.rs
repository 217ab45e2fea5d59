//! Fault rules as data. [`FaultSpec`] is one rule as a user writes it, in a `[[fault]]` table,
//! as JSON through the control API, or with the builder methods in Rust: this module owns its
//! keys and their (de)serialization. [`FaultSpec::compile`] (in `check`) checks every key and
//! builds the checked rule, a [`Fault`] (in `rule`): plain data that emulation applies to
//! requests and the origin side acts on.

mod check;
pub mod rule;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{format_duration, parse_duration};
pub use rule::{Action, EDGE_STATUSES, EMULATED_STATUSES, Fault, LinkFaults, Matcher, Slice};

/// One fault rule: what it matches (every key given must match) and its one action.
///
/// ```
/// use std::time::Duration;
/// use edgecase::FaultSpec;
///
/// // The next request to /checkout is a 524 after exactly 2 s.
/// let rule = FaultSpec::status(524)
///     .path_prefix("/checkout")
///     .delay(Duration::from_secs(2))
///     .count(1);
/// assert!(rule.compile().is_ok());
/// // A rule has exactly one action.
/// assert!(FaultSpec::refuse().delay(Duration::from_secs(1)).compile().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSpec {
    /// Matches this Host only (no port, any case, a trailing dot ignored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Matches normalized paths starting with this ([`crate::normalize::path`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Matches this method only (any case).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Matches requests carrying this header (with this value, when one is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMatch>,
    /// Applies to this share of the matching requests, 0 to 100, rolled per request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// Applies to the next N matching requests, then expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Expires this long after the rule was added (the `for` key).
    #[serde(rename = "for", with = "text_duration")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lasting: Option<Duration>,
    /// Action: answer what edgecase answers for this failure (520-527, 530, 500, 502-504).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// With `status = 530` (default 1016), or with the status Cloudflare sends the error with
    /// (`status = 403` with 1020, 429 with 1015): the 1xxx error shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    /// With `status` or `edge`: when to answer (default: the time the real failure takes).
    #[serde(with = "text_duration", skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// Action: Cloudflare's own error, 500 (branded) or 502, 503, 504 (unbranded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge: Option<u16>,
    /// Link action: hold the origin's response head back this long.
    #[serde(with = "text_duration", skip_serializing_if = "Option::is_none")]
    pub latency: Option<Duration>,
    /// With `latency`: add up to this much, either way, at random.
    #[serde(with = "text_duration", skip_serializing_if = "Option::is_none")]
    pub jitter: Option<Duration>,
    /// Link action: do not connect; act as if the origin refused (521).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refuse: Option<bool>,
    /// Link action: act as an unanswered SYN (522 after `timeouts.connect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blackhole: Option<bool>,
    /// Link action: reset the origin connection after this many bytes of its response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset_after_bytes: Option<u64>,
    /// Link action: deliver the response body at this many bytes per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<u64>,
    /// Link action: the origin connection closes before the response head (520).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_before_headers: Option<bool>,
    /// Link action: the end of the response body comes this much later.
    #[serde(with = "text_duration", skip_serializing_if = "Option::is_none")]
    pub slow_close: Option<Duration>,
}

/// Equality is total for the specs a config holds: `percent` was checked to be a number
/// between 0 and 100, never NaN.
impl Eq for FaultSpec {}

/// `header = "name=value"` (value compared exactly) or `header = "name"` (present at all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderMatch {
    /// The header's name, lowercase.
    pub name: String,
    /// The value it must have; `None`: any value.
    pub value: Option<String>,
}

/// Why a spec cannot be a rule: the key at fault and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SpecProblem {
    /// The key, e.g. `status`.
    pub key: &'static str,
    /// What is wrong, in a sentence without the key.
    pub message: String,
}

impl FaultSpec {
    /// Emulates the failure that `status` stands for (520-527, 530, 500, 502, 503, 504).
    pub fn status(status: u16) -> Self {
        FaultSpec {
            status: Some(status),
            ..FaultSpec::default()
        }
    }

    /// Serves Cloudflare's own error: 500, 502, 503 or 504.
    pub fn edge(status: u16) -> Self {
        FaultSpec {
            edge: Some(status),
            ..FaultSpec::default()
        }
    }

    /// Holds the origin's response head back by `latency`.
    pub fn latency(latency: Duration) -> Self {
        FaultSpec {
            latency: Some(latency),
            ..FaultSpec::default()
        }
    }

    /// Acts as a refused connection without connecting.
    pub fn refuse() -> Self {
        FaultSpec {
            refuse: Some(true),
            ..FaultSpec::default()
        }
    }

    /// Acts as an unanswered SYN.
    pub fn blackhole() -> Self {
        FaultSpec {
            blackhole: Some(true),
            ..FaultSpec::default()
        }
    }

    /// Resets the origin connection after `bytes` of its response.
    pub fn reset_after_bytes(bytes: u64) -> Self {
        FaultSpec {
            reset_after_bytes: Some(bytes),
            ..FaultSpec::default()
        }
    }

    /// Throttles the response body to `bytes_per_second`.
    pub fn bandwidth(bytes_per_second: u64) -> Self {
        FaultSpec {
            bandwidth: Some(bytes_per_second),
            ..FaultSpec::default()
        }
    }

    /// Closes the origin connection before the response head.
    pub fn close_before_headers() -> Self {
        FaultSpec {
            close_before_headers: Some(true),
            ..FaultSpec::default()
        }
    }

    /// Delays the end of the response body by `delay`.
    pub fn slow_close(delay: Duration) -> Self {
        FaultSpec {
            slow_close: Some(delay),
            ..FaultSpec::default()
        }
    }

    /// With `status(530)`, or with the error's own status (`status(403).code(1020)`): the 1xxx
    /// error to show.
    pub fn code(mut self, code: u16) -> Self {
        self.code = Some(code);
        self
    }

    /// With `status` or `edge`: answer after `delay`.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// With `latency`: up to this much more or less, at random.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = Some(jitter);
        self
    }

    /// Matches this Host only (any case; port and trailing dot ignored).
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    /// Matches requests whose normalized path starts with `prefix` (`/admin/` takes
    /// `/%61dmin/x`; see [`crate::normalize::path`]).
    pub fn path_prefix(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_owned());
        self
    }

    /// Matches this method only.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }

    /// Matches requests whose header `name` is `value`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.header = Some(HeaderMatch {
            name: name.to_ascii_lowercase(),
            value: Some(value.to_owned()),
        });
        self
    }

    /// Applies to `percent` % of matching requests.
    pub fn percent(mut self, percent: f64) -> Self {
        self.percent = Some(percent);
        self
    }

    /// Applies to the next `count` matching requests only.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// Expires `lasting` after it is added (the `for` key).
    pub fn lasting(mut self, lasting: Duration) -> Self {
        self.lasting = Some(lasting);
        self
    }
}

impl fmt::Display for HeaderMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{}={value}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl Serialize for HeaderMatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HeaderMatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let (name, value) = match text.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (text.as_str(), None),
        };
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(serde::de::Error::custom(format!(
                "{text:?} is not a header match: write \"name=value\" or \"name\""
            )));
        }
        Ok(HeaderMatch { name, value })
    }
}

/// Durations as the config writes them (`"2s"`, `"250ms"`), in TOML and JSON alike.
mod text_duration {
    use super::*;

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_str(&format_duration(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Option<Duration>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration with its unit, like \"2s\" or \"250ms\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_duration(v).map(Some).map_err(E::custom)
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_with_durations_as_text() {
        let spec: FaultSpec = serde_json::from_str(
            r#"{"path_prefix":"/checkout","status":524,"delay":"2s","count":1,"for":"5m",
               "header":"x-test=1"}"#,
        )
        .unwrap();
        assert_eq!(spec.delay, Some(Duration::from_secs(2)));
        assert_eq!(spec.lasting, Some(Duration::from_secs(300)));
        assert_eq!(spec.header.as_ref().unwrap().value.as_deref(), Some("1"));
        let back = serde_json::to_value(&spec).unwrap();
        assert_eq!(back["delay"], "2s");
        assert_eq!(back["for"], "5m");
        assert_eq!(back["header"], "x-test=1");
        assert!(back.get("edge").is_none());
        assert!(spec.compile().is_ok());
    }

    #[test]
    fn unknown_keys_and_bad_durations_name_the_key() {
        let err = serde_json::from_str::<FaultSpec>(r#"{"stauts":524}"#).unwrap_err();
        assert!(err.to_string().contains("stauts"), "{err}");
        let err = serde_json::from_str::<FaultSpec>(r#"{"status":524,"delay":"2"}"#).unwrap_err();
        assert!(err.to_string().contains("not a duration"), "{err}");
    }
}
