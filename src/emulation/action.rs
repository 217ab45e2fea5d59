//! What a checked rule is: its [`Matcher`] and its [`Action`], and what an emulated status
//! turns into ([`emulated_failure`]): the very [`OriginFailure`] the real fault would have
//! produced, so the page, headers and log line cannot differ.

use std::io;
use std::time::Duration;

use http::{HeaderMap, HeaderName, Method};

use crate::config::OriginTimeouts;
use crate::failure::{
    CertificateFailure, CertificateReason, HandshakeFailure, OriginFailure, Unknown,
};

/// The statuses `status = N` emulates.
pub const EMULATED_STATUSES: [u16; 13] = [
    500, 502, 503, 504, 520, 521, 522, 523, 524, 525, 526, 527, 530,
];

/// The statuses `edge = N` serves: Cloudflare's own errors.
pub const EDGE_STATUSES: [u16; 4] = [500, 502, 503, 504];

/// Railgun's LAN timeout when Railgun is not enabled: its `lan.timeout` default.
pub const DEFAULT_LAN_TIMEOUT: Duration = Duration::from_secs(30);

/// A checked rule, without its bookkeeping (id, count left, expiry).
#[derive(Clone, Debug)]
pub struct Fault {
    /// Which requests it applies to.
    pub matcher: Matcher,
    /// What it does to them.
    pub action: Action,
    /// How many matching requests it applies to; `None`: no limit.
    pub count: Option<u64>,
    /// How long it lives once added; `None`: until removed.
    pub lasting: Option<Duration>,
}

/// The match half of a rule: every key set must match.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    /// Lowercase host, no port, no trailing dot.
    pub host: Option<String>,
    /// Path prefix (starts with `/`, in normal form), matched against the normalized path.
    pub path_prefix: Option<String>,
    /// The method.
    pub method: Option<Method>,
    /// A header, and the exact value it must have if any.
    pub header: Option<(HeaderName, Option<String>)>,
    /// The share of matching requests it applies to, 0-100 (rolled by the rules' RNG).
    pub percent: Option<f64>,
}

/// The request facts a rule is matched against.
#[derive(Clone, Copy, Debug)]
pub struct RequestFacts<'a> {
    /// The host as rules see it: lowercase, no port, no trailing dot
    /// ([`crate::normalize::host`]).
    pub host: &'a str,
    /// The path as rules see it, without the query ([`crate::normalize::path`]).
    pub path: &'a str,
    /// The method.
    pub method: &'a Method,
    /// The request headers.
    pub headers: &'a HeaderMap,
}

impl Matcher {
    /// Whether every key but `percent` matches.
    pub fn matches(&self, request: &RequestFacts<'_>) -> bool {
        self.host.as_deref().is_none_or(|host| host == request.host)
            && self
                .path_prefix
                .as_deref()
                .is_none_or(|prefix| request.path.starts_with(prefix))
            && self.method.as_ref().is_none_or(|m| m == request.method)
            && self.header.as_ref().is_none_or(|(name, value)| {
                let mut values = request.headers.get_all(name).iter();
                match value {
                    None => values.next().is_some(),
                    Some(want) => values.any(|v| v.as_bytes() == want.as_bytes()),
                }
            })
    }
}

/// What a rule does to a request it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer what edgecase answers for this status's failure, after `delay` (default: the
    /// time the real failure takes). `code` is the 1xxx error of a 530, or of the status
    /// Cloudflare sends that error with (403 for 1020).
    Status {
        /// The status, one of [`EMULATED_STATUSES`].
        status: u16,
        /// With 530 (1016 by default), or with the error's own status: the 1xxx error.
        code: Option<u16>,
        /// When to answer.
        delay: Option<Duration>,
    },
    /// Cloudflare's own error, after `delay` (default 0).
    Edge {
        /// One of [`EDGE_STATUSES`].
        status: u16,
        /// When to answer.
        delay: Option<Duration>,
    },
    /// Act on the real origin link; the real classification decides the answer.
    Link(LinkFaults),
}

/// What is done to the origin link of one request. Several can stack (Toxiproxy toxics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkFaults {
    /// Hold the response head back this long (jitter already applied once decided).
    pub latency: Option<Duration>,
    /// Up to this much more or less latency, drawn per request.
    pub jitter: Duration,
    /// Do not connect: refused.
    pub refuse: bool,
    /// Do not connect: an unanswered SYN.
    pub blackhole: bool,
    /// Reset after this many bytes of the origin's response.
    pub reset_after_bytes: Option<u64>,
    /// Deliver the response body at this many bytes per second.
    pub bandwidth: Option<u64>,
    /// Close the connection before the response head.
    pub close_before_headers: bool,
    /// Delay the end of the response body.
    pub slow_close: Option<Duration>,
    /// Deliver the response body in pieces (Toxiproxy's downstream `slicer`).
    pub slice: Option<Slice>,
    /// Send the request body to the origin in pieces (Toxiproxy's upstream `slicer`).
    pub upstream_slice: Option<Slice>,
}

/// Pieces of about `average` bytes, give or take `variation`, `delay` apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    /// The average piece, in bytes (at least 1).
    pub average: u64,
    /// How far a piece's size may stray from `average`, in bytes.
    pub variation: u64,
    /// The pause after each piece.
    pub delay: Duration,
}

impl LinkFaults {
    /// Whether nothing at all is done.
    pub fn is_empty(&self) -> bool {
        *self == LinkFaults::default()
    }

    /// Whether the connection itself is altered, so it must be new and never pooled.
    pub fn alters_connection(&self) -> bool {
        self.reset_after_bytes.is_some() || self.close_before_headers
    }

    /// Whether the response body is shaped (throttled, sliced or its end delayed).
    pub fn shapes_body(&self) -> bool {
        self.bandwidth.is_some() || self.slow_close.is_some() || self.slice.is_some()
    }

    /// `other` added on top: latencies add up, the smallest reset and bandwidth win, flags or.
    pub fn stack(&mut self, other: &LinkFaults) {
        let add = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        let min = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.latency = add(self.latency, other.latency);
        self.jitter += other.jitter;
        self.refuse |= other.refuse;
        self.blackhole |= other.blackhole;
        self.reset_after_bytes = min(self.reset_after_bytes, other.reset_after_bytes);
        self.bandwidth = min(self.bandwidth, other.bandwidth);
        self.close_before_headers |= other.close_before_headers;
        self.slow_close = add(self.slow_close, other.slow_close);
        self.slice = self.slice.or(other.slice);
        self.upstream_slice = self.upstream_slice.or(other.upstream_slice);
    }
}

/// How long the real failure behind `status` takes: the connect timeout for 522, the read
/// timeout for 524, the LAN timeout for 527, nothing for the others (they fail at once).
pub fn default_delay(
    status: u16,
    timeouts: &OriginTimeouts,
    lan_timeout: Option<Duration>,
) -> Duration {
    match status {
        522 => timeouts.connect,
        524 => timeouts.read,
        527 => lan_timeout.unwrap_or(DEFAULT_LAN_TIMEOUT),
        _ => Duration::ZERO,
    }
}

/// The failure the real fault behind an emulated status produces.
pub fn emulated_failure(
    status: u16,
    code: Option<u16>,
    timeouts: &OriginTimeouts,
    lan_timeout: Option<Duration>,
) -> OriginFailure {
    let emulated = || io::Error::other("emulated by a fault rule");
    if let Some(code) = code
        && status != 530
    {
        // A 1xxx error with its own status (403 for 1020); the rule's check allowed the pair.
        return OriginFailure::Numbered { status, code };
    }
    match status {
        520 => OriginFailure::Unknown(Unknown::EmptyReply),
        521 => OriginFailure::Refused(io::Error::from(io::ErrorKind::ConnectionRefused)),
        522 => OriginFailure::ConnectTimeout {
            after: timeouts.connect,
        },
        523 => OriginFailure::Unreachable(io::Error::from(io::ErrorKind::HostUnreachable)),
        524 => OriginFailure::ReadTimeout {
            after: timeouts.read,
        },
        525 => OriginFailure::TlsHandshake(HandshakeFailure::Other(emulated())),
        526 => OriginFailure::InvalidCertificate(CertificateFailure {
            reason: CertificateReason::Untrusted,
            detail: rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        }),
        527 => OriginFailure::Railgun(Box::new(OriginFailure::ReadTimeout {
            after: lan_timeout.unwrap_or(DEFAULT_LAN_TIMEOUT),
        })),
        530 => OriginFailure::numbered(code.unwrap_or(1016)),
        502 | 504 => OriginFailure::Gateway { status },
        503 => OriginFailure::Edge { status },
        _ => OriginFailure::Internal(emulated()),
    }
}

/// The failure behind `edge = status`: Cloudflare's own.
pub fn edge_failure(status: u16) -> OriginFailure {
    OriginFailure::Edge { status }
}
