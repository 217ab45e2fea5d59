//! A checked fault rule: which requests it matches ([`Matcher`]) and the one thing it does
//! ([`Action`]): answer an emulated status, answer Cloudflare's own error, or act on the
//! origin link ([`LinkFaults`], which Toxiproxy's toxics build too). Plain data: emulation
//! decides which rule applies, the edge and the origin side act on the decision.

use std::time::Duration;

use http::{HeaderName, Method};

/// The statuses `status = N` emulates.
pub const EMULATED_STATUSES: [u16; 13] = [
    500, 502, 503, 504, 520, 521, 522, 523, 524, 525, 526, 527, 530,
];

/// The statuses `edge = N` serves: Cloudflare's own errors.
pub const EDGE_STATUSES: [u16; 4] = [500, 502, 503, 504];

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
