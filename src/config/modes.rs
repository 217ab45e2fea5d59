//! The named choices of the config file: the SSL mode (`origin.ssl`) and the timeout profile
//! (`timeouts.profile`). This module owns their words and what each profile's defaults are;
//! which modes a build accepts is decided in `validate`.

use std::fmt;
use std::str::FromStr;

use super::{
    CURRENT_CONNECT_TIMEOUT, CURRENT_ORIGIN_HEADER_BYTES, CURRENT_READ_TIMEOUT,
    DEFAULT_ACK_TIMEOUT, DEFAULT_CONNECT_TIMEOUT, DEFAULT_ORIGIN_HEADER_BYTES,
    DEFAULT_READ_TIMEOUT, DEFAULT_WRITE_TIMEOUT, OriginTimeouts,
};

/// Cloudflare's SSL/TLS encryption mode, edge to origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SslMode {
    /// No HTTPS anywhere: plain HTTP to the origin.
    Off,
    /// Visitors may use HTTPS; the origin is always reached over plain HTTP. Never 525/526.
    Flexible,
    /// TLS to the origin when the visitor used HTTPS, certificate not checked; 525 on a failed
    /// handshake.
    Full,
    /// As [`SslMode::Full`], and the certificate must be valid for the name; 526 if not.
    FullStrict,
    /// TLS to the origin whatever the visitor used, validated as [`SslMode::FullStrict`].
    Strict,
    /// Cloudflare's default since 2024 (Automatic SSL/TLS): the edge probes each origin and
    /// host name and uses the most secure of [`SslMode::FullStrict`], [`SslMode::Full`] and
    /// [`SslMode::Flexible`] it supports, and only ever moves up. The edge replaces it by the
    /// chosen mode before asking [`SslMode::to_origin`].
    Automatic,
}

impl SslMode {
    /// Every mode, in the order the config documentation lists them.
    pub const ALL: [SslMode; 6] = [
        SslMode::Automatic,
        SslMode::Off,
        SslMode::Flexible,
        SslMode::Full,
        SslMode::FullStrict,
        SslMode::Strict,
    ];

    /// How the edge reaches the origin for a visitor who came over HTTPS (`true`) or HTTP:
    ///
    /// | mode | HTTP visitor | HTTPS visitor |
    /// |---|---|---|
    /// | off, flexible | plain | plain |
    /// | full | plain | TLS, any certificate |
    /// | full_strict | plain | TLS, validated |
    /// | strict | TLS, validated | TLS, validated |
    ///
    /// (Off also redirects HTTPS visitors to HTTP; the edge does that before asking.)
    /// Automatic, not yet decided, is taken as Flexible: plain, the mode it starts from.
    pub fn to_origin(self, visitor_https: bool) -> OriginScheme {
        match (self, visitor_https) {
            (SslMode::Off | SslMode::Flexible | SslMode::Automatic, _)
            | (SslMode::Full | SslMode::FullStrict, false) => OriginScheme::Plain,
            (SslMode::Full, true) => OriginScheme::Tls { validate: false },
            (SslMode::FullStrict, true) | (SslMode::Strict, _) => {
                OriginScheme::Tls { validate: true }
            }
        }
    }

    /// The word used in the config file: `automatic`, `off`, `flexible`, `full`,
    /// `full_strict`, `strict`.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Automatic => "automatic",
            SslMode::Off => "off",
            SslMode::Flexible => "flexible",
            SslMode::Full => "full",
            SslMode::FullStrict => "full_strict",
            SslMode::Strict => "strict",
        }
    }

    /// How secure the mode is towards the origin, for Automatic's "only ever up":
    /// flexible < full < full_strict (strict, which also secures HTTP visitors, above them).
    /// Off and an undecided Automatic rank lowest.
    pub fn rank(self) -> u8 {
        match self {
            SslMode::Off | SslMode::Automatic => 0,
            SslMode::Flexible => 1,
            SslMode::Full => 2,
            SslMode::FullStrict => 3,
            SslMode::Strict => 4,
        }
    }
}

/// The SSL mode a request went with: the configured one, and for Automatic the mode chosen
/// for its origin and host name (`None` while undecided). Shown as `full`, or
/// `automatic:full_strict`, or `automatic` before the first probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SslInForce {
    /// The mode from the config (`[origin] ssl` or the route's).
    pub configured: SslMode,
    /// What Automatic chose; `None` for other modes and before the first probe.
    pub chosen: Option<SslMode>,
}

impl SslInForce {
    /// The mode the request really used: the chosen one, else the configured one.
    pub fn effective(self) -> SslMode {
        self.chosen.unwrap_or(self.configured)
    }
}

impl fmt::Display for SslInForce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.chosen {
            Some(chosen) if self.configured == SslMode::Automatic => {
                write!(f, "automatic:{chosen}")
            }
            _ => f.write_str(self.configured.as_str()),
        }
    }
}

/// How one request reaches the origin, by [`SslMode::to_origin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OriginScheme {
    /// Plain HTTP to the origin's address.
    Plain,
    /// TLS to the origin's TLS port.
    Tls {
        /// Whether the certificate must be valid (526 if not).
        validate: bool,
    },
}

/// Why a word is not an [`SslMode`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not an SSL mode; choose one of \"automatic\" (the default), \"off\", \
     \"flexible\", \"full\", \"full_strict\" or \"strict\""
)]
pub struct UnknownSslMode(pub String);

impl FromStr for SslMode {
    type Err = UnknownSslMode;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        SslMode::ALL
            .into_iter()
            .find(|mode| mode.as_str() == word)
            .ok_or_else(|| UnknownSslMode(word.to_owned()))
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which era of Cloudflare's published limits supplies the defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// The seed article's values: connect 15 s, read 100 s, 16 KB of origin headers.
    #[default]
    Classic,
    /// Cloudflare's 2026 values: connect 19 s, read 125 s, 128 KB of origin headers.
    Current,
}

impl Profile {
    /// The word used in the config file: `classic` or `current`.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Classic => "classic",
            Profile::Current => "current",
        }
    }

    /// This profile's origin timeouts (ack and write are the same in both).
    pub const fn timeouts(self) -> OriginTimeouts {
        let (connect, read) = match self {
            Profile::Classic => (DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT),
            Profile::Current => (CURRENT_CONNECT_TIMEOUT, CURRENT_READ_TIMEOUT),
        };
        OriginTimeouts {
            connect,
            ack: DEFAULT_ACK_TIMEOUT,
            write: DEFAULT_WRITE_TIMEOUT,
            read,
        }
    }

    /// This profile's limit on the origin's response head, in bytes.
    pub const fn origin_header_bytes(self) -> usize {
        match self {
            Profile::Classic => DEFAULT_ORIGIN_HEADER_BYTES,
            Profile::Current => CURRENT_ORIGIN_HEADER_BYTES,
        }
    }
}

/// Why a word is not a [`Profile`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a profile; choose \"classic\" or \"current\"")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(word: &str) -> Result<Self, Self::Err> {
        [Profile::Classic, Profile::Current]
            .into_iter()
            .find(|profile| profile.as_str() == word)
            .ok_or_else(|| UnknownProfile(word.to_owned()))
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
