//! [`ExchangeFacts`]: what the origin side learnt about one exchange (address, handshakes,
//! timings), as plain facts. The origin fills them in; the observers read them.

use std::net::SocketAddr;
use std::time::Duration;

/// What happened on the way to the origin, filled in as each phase ends, so a failure keeps
/// what was learnt before it (the address a 522 was trying, the handshake time of a 524).
/// Every field is empty when the origin was never contacted.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ExchangeFacts {
    /// The origin's socket address: the one connected to, or the last one tried.
    pub peer: Option<SocketAddr>,
    /// Whether a pooled connection carried the request.
    pub reused: bool,
    /// Name resolution, when a new connection needed it (0 for a literal IP).
    pub dns: Option<Duration>,
    /// The TCP handshake, when a new connection was opened (or attempted).
    pub connect: Option<Duration>,
    /// The TLS handshake, when a new TLS connection was opened (or attempted).
    pub tls_handshake: Option<Duration>,
    /// The TLS version negotiated with the origin (`TLSv1.3`).
    pub tls_protocol: Option<&'static str>,
    /// From handing the request to the connection to the last byte of it being handed over.
    pub send: Option<Duration>,
    /// From the request being sent to the response head.
    pub wait: Option<Duration>,
    /// Whether the request went a second time after a stale pooled connection.
    pub retried: bool,
}
