//! Plain values that settings take, defined here so the config names no module above it:
//! the access log's format, timestamps and destination, and a status filter (`522` or `5xx`).
//! The modules that act on a setting import its value from here.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// `[log] format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `key=value` pairs after a timestamp.
    #[default]
    Text,
    /// One Logpush-style JSON object per line.
    Json,
}

/// `[log] timestamps`: how the JSON form writes `EdgeStartTimestamp` and
/// `EdgeEndTimestamp`, with Logpush's `timestamp_format` names (its default is `unixnano`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timestamps {
    /// Nanoseconds since the Unix epoch, an integer.
    #[default]
    UnixNano,
    /// Seconds since the Unix epoch, an integer.
    Unix,
    /// RFC 3339 text to the millisecond.
    Rfc3339,
}

/// Where `[log] access` sends its lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Standard output (the default).
    Stdout,
    /// No access log.
    Off,
    /// Appended to this file, created if missing.
    File(PathBuf),
}

/// An empty `[log] access` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be \"stdout\", \"off\" or a file path, not empty")]
pub struct EmptyAccess;

impl FromStr for Access {
    type Err = EmptyAccess;

    /// `stdout` and `off` exactly (lowercase); any other non-blank text is a file path (write
    /// `./stdout` for a file of that name).
    fn from_str(text: &str) -> Result<Access, EmptyAccess> {
        match text {
            "stdout" => Ok(Access::Stdout),
            "off" => Ok(Access::Off),
            _ if text.trim().is_empty() => Err(EmptyAccess),
            path => Ok(Access::File(PathBuf::from(path))),
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Stdout => f.write_str("stdout"),
            Access::Off => f.write_str("off"),
            Access::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A `status=` filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this status.
    Exact(u16),
    /// This class: 5 for `5xx`.
    Class(u16),
}

impl FromStr for StatusFilter {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("status: {text:?} is not a status (522) or a class (5xx)");
        match text.as_bytes() {
            [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => {
                Ok(StatusFilter::Class(u16::from(d - b'0')))
            }
            _ => match text.parse::<u16>() {
                Ok(status) if (100..=999).contains(&status) => Ok(StatusFilter::Exact(status)),
                _ => Err(bad()),
            },
        }
    }
}

impl StatusFilter {
    /// Whether `status` passes the filter.
    pub fn admits(self, status: u16) -> bool {
        match self {
            StatusFilter::Exact(want) => status == want,
            StatusFilter::Class(class) => status / 100 == class,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_parses_stdout_off_and_paths() {
        assert_eq!("stdout".parse(), Ok(Access::Stdout));
        assert_eq!("off".parse(), Ok(Access::Off));
        assert_eq!(
            "/var/log/edgecase.log".parse(),
            Ok(Access::File(PathBuf::from("/var/log/edgecase.log")))
        );
        assert_eq!(
            "./stdout".parse(),
            Ok(Access::File(PathBuf::from("./stdout")))
        );
        assert_eq!("Stdout".parse(), Ok(Access::File(PathBuf::from("Stdout"))));
        assert_eq!("".parse::<Access>(), Err(EmptyAccess));
        assert_eq!("  ".parse::<Access>(), Err(EmptyAccess));
        assert_eq!(
            EmptyAccess.to_string(),
            "must be \"stdout\", \"off\" or a file path, not empty"
        );
        assert_eq!(Access::Stdout.to_string(), "stdout");
        assert_eq!(
            Access::File(PathBuf::from("/tmp/x.log")).to_string(),
            "/tmp/x.log"
        );
    }

    #[test]
    fn status_filters_parse_exact_statuses_and_classes() {
        assert_eq!("522".parse(), Ok(StatusFilter::Exact(522)));
        assert_eq!("5xx".parse(), Ok(StatusFilter::Class(5)));
        assert!("6xx".parse::<StatusFilter>().is_err());
        assert!("99".parse::<StatusFilter>().is_err());
        assert!(StatusFilter::Class(5).admits(524));
        assert!(!StatusFilter::Exact(522).admits(524));
    }
}
