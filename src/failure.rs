//! [`OriginFailure`]: why the origin did not give us a response we can forward.
//!
//! The code that detects a failure builds the variant on the spot, with its facts attached;
//! this module only maps variants to what the visitor sees (status) and to the stable log tag;
//! which page a failure gets is the pages module's mapping. It never inspects error messages.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

mod tls;

pub use tls::{CertificateFailure, CertificateReason, HandshakeFailure};

/// Why the origin did not give us a response we can forward.
#[derive(Debug)]
pub enum OriginFailure {
    /// The origin answered, but nothing forwardable (520).
    Unknown(Unknown),
    /// The TCP connection was refused or reset while connecting (521).
    Refused(io::Error),
    /// No TCP handshake within `timeouts.connect` (522).
    ConnectTimeout {
        /// The connect timeout in force.
        after: Duration,
    },
    /// Request bytes stayed unacknowledged by the origin's TCP for `timeouts.ack` (522).
    AckTimeout {
        /// The ack timeout in force.
        after: Duration,
    },
    /// No route to the origin: network or host unreachable (523).
    Unreachable(io::Error),
    /// Request sent, no complete response head within `timeouts.read` (524).
    ReadTimeout {
        /// The read timeout in force.
        after: Duration,
    },
    /// A write to the origin made no progress for `timeouts.write` (524).
    WriteTimeout {
        /// The write timeout in force.
        after: Duration,
    },
    /// The TLS handshake with the origin failed (525).
    TlsHandshake(HandshakeFailure),
    /// The origin's certificate is not valid for the name, in a mode that checks it (526).
    InvalidCertificate(CertificateFailure),
    /// The origin's host name did not resolve (530 with error 1016).
    Dns(DnsFailure),
    /// The origin itself answered 502 or 504: Cloudflare replaces it with its branded page.
    Gateway {
        /// The origin's status, 502 or 504.
        status: u16,
    },
    /// The visitor's request body broke off or was malformed (400).
    VisitorBody(hyper::Error),
    /// The visitor's body grew past `[limits] request_body_bytes` while it streamed (413).
    BodyTooLarge {
        /// The limit.
        limit: u64,
    },
    /// edgecase itself failed, e.g. it could not open a socket (500).
    Internal(io::Error),
    /// Cloudflare's own error, served by a fault rule: 500 (branded, the Cloudflare hop
    /// failing) or 502, 503, 504 (the unbranded page).
    Edge {
        /// 500, 502, 503 or 504.
        status: u16,
    },
    /// A 1xxx error other than a real DNS failure (a fault rule's `code`), sent with 530 or
    /// with the status Cloudflare sends that error with (403 for the 1020 block).
    Numbered {
        /// The HTTP status, e.g. 530 or 403.
        status: u16,
        /// The 1xxx error shown, e.g. 1033.
        code: u16,
    },
    /// With Railgun enabled, a failure on the link between the listener and the origin (527).
    Railgun(Box<OriginFailure>),
}

/// The ways an origin can answer without giving a usable response head (all 520).
#[derive(Debug)]
pub enum Unknown {
    /// The connection closed before a single byte of response.
    EmptyReply,
    /// The connection closed after part of the response head.
    ClosedMidHead {
        /// How many bytes of head had arrived.
        received: usize,
    },
    /// The connection was reset (RST) before a complete response head.
    Reset(io::Error),
    /// The status line or headers could not be parsed, or a framing header cannot be honoured.
    MalformedHead(Malformed),
    /// The status line parsed but its status makes no sense here: 600 or more (HTTP defines
    /// 100-599), or 101 Switching Protocols to a request that asked for no upgrade.
    BadStatus {
        /// The status the origin sent.
        status: u16,
    },
    /// The response head carried both `Content-Length` and `Transfer-Encoding`: its framing
    /// is ambiguous, an error the edge does not forward (RFC 9112 6.3).
    AmbiguousFraming,
    /// The response header block grew past `limits.origin_header_bytes`.
    HeadersTooLarge {
        /// The limit in force, in bytes.
        limit: usize,
    },
}

/// What was wrong with a malformed response head, in words (`invalid header name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub &'static str);

/// Why a name did not resolve.
#[derive(Debug)]
pub struct DnsFailure {
    /// The name that was looked up.
    pub name: String,
    /// What the resolver said.
    pub cause: DnsCause,
}

/// What went wrong while resolving.
#[derive(Debug)]
pub enum DnsCause {
    /// The system resolver failed (no such name, no answer).
    Lookup(io::Error),
    /// The name returned no address.
    NoAddress,
    /// `[dns] system = false` and the name is not in `[dns] hosts`.
    NotInStaticHosts,
    /// The resolver did not answer within the connect timeout.
    Timeout {
        /// The timeout in force.
        after: Duration,
    },
    /// A fault rule's `status = 530`.
    Emulated,
}

impl OriginFailure {
    /// The HTTP status the visitor gets.
    pub fn status(&self) -> u16 {
        // Exhaustive on purpose: a new variant does not compile until it is mapped.
        match self {
            Self::Unknown(_) => 520,
            Self::Refused(_) => 521,
            Self::ConnectTimeout { .. } | Self::AckTimeout { .. } => 522,
            Self::Unreachable(_) => 523,
            Self::ReadTimeout { .. } | Self::WriteTimeout { .. } => 524,
            Self::TlsHandshake(_) => 525,
            Self::InvalidCertificate(_) => 526,
            Self::Dns(_) => 530,
            Self::Gateway { status } => *status,
            Self::VisitorBody(_) => 400,
            Self::BodyTooLarge { .. } => 413,
            Self::Internal(_) => 500,
            Self::Edge { status } => *status,
            Self::Numbered { status, .. } => *status,
            Self::Railgun(_) => 527,
        }
    }

    /// What the edge makes of an origin's answer with `status`: the origin's own 502 or 504
    /// is replaced by Cloudflare's branded page ([`OriginFailure::Gateway`]); every other
    /// status passes through (`None`).
    pub fn of_origin_status(status: u16) -> Option<Self> {
        matches!(status, 502 | 504).then_some(Self::Gateway { status })
    }

    /// A 530 with the 1xxx error `code`; 1016 is the DNS failure itself.
    pub fn numbered(code: u16) -> Self {
        match code {
            1016 => Self::Dns(DnsFailure {
                name: String::new(),
                cause: DnsCause::Emulated,
            }),
            code => Self::Numbered { status: 530, code },
        }
    }

    /// Whether this failure happened on the link to the origin (what Railgun's listener would
    /// report as 527): every 520-526 cause, but not DNS, the origin's own 502/504, the
    /// visitor's body or edgecase itself.
    pub fn is_origin_link(&self) -> bool {
        matches!(
            self,
            Self::Unknown(_)
                | Self::Refused(_)
                | Self::ConnectTimeout { .. }
                | Self::AckTimeout { .. }
                | Self::Unreachable(_)
                | Self::ReadTimeout { .. }
                | Self::WriteTimeout { .. }
                | Self::TlsHandshake(_)
                | Self::InvalidCertificate(_)
        )
    }

    /// A stable snake_case tag for logs and dashboards.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::Unknown(unknown) => unknown.tag(),
            Self::Refused(_) => "refused",
            Self::ConnectTimeout { .. } => "connect_timeout",
            Self::AckTimeout { .. } => "ack_timeout",
            Self::Unreachable(_) => "unreachable",
            Self::ReadTimeout { .. } => "read_timeout",
            Self::WriteTimeout { .. } => "write_timeout",
            Self::TlsHandshake(handshake) => handshake.tag(),
            Self::InvalidCertificate(certificate) => certificate.reason.tag(),
            Self::Dns(_) => "dns_error",
            Self::Gateway { status: 502 } => "origin_502",
            Self::Gateway { .. } => "origin_504",
            Self::VisitorBody(_) => "visitor_body",
            Self::BodyTooLarge { .. } => "request_body_too_large",
            Self::Internal(_) => "internal",
            Self::Edge { status: 500 } => "edge_500",
            Self::Edge { status: 502 } => "edge_502",
            Self::Edge { status: 503 } => "edge_503",
            Self::Edge { .. } => "edge_504",
            Self::Numbered { code, .. } => numbered_tag(*code),
            Self::Railgun(inner) => railgun_tag(inner),
        }
    }
}

/// The tag of a 530 with error `code`: `error_1033` and so on.
fn numbered_tag(code: u16) -> &'static str {
    macro_rules! tags {
        ($($code:literal),*) => {
            match code {
                $($code => concat!("error_", stringify!($code)),)*
                _ => "error_1xxx",
            }
        };
    }
    tags!(
        1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
        1015, 1016, 1018, 1019, 1020, 1023, 1025, 1033, 1034, 1035, 1036, 1037, 1038, 1101, 1102,
        1104, 1106, 1200, 1205
    )
}

/// The tag of a failure behind Railgun's listener: `railgun_` and the inner cause.
fn railgun_tag(inner: &OriginFailure) -> &'static str {
    match inner {
        OriginFailure::Unknown(Unknown::EmptyReply) => "railgun_empty_reply",
        OriginFailure::Unknown(Unknown::ClosedMidHead { .. }) => "railgun_closed_mid_head",
        OriginFailure::Unknown(Unknown::Reset(_)) => "railgun_reset",
        OriginFailure::Unknown(
            Unknown::MalformedHead(_) | Unknown::BadStatus { .. } | Unknown::AmbiguousFraming,
        ) => "railgun_malformed_head",
        OriginFailure::Unknown(Unknown::HeadersTooLarge { .. }) => "railgun_headers_too_large",
        OriginFailure::Refused(_) => "railgun_refused",
        OriginFailure::ConnectTimeout { .. } => "railgun_connect_timeout",
        OriginFailure::AckTimeout { .. } => "railgun_ack_timeout",
        OriginFailure::Unreachable(_) => "railgun_unreachable",
        OriginFailure::ReadTimeout { .. } => "railgun_read_timeout",
        OriginFailure::WriteTimeout { .. } => "railgun_write_timeout",
        OriginFailure::TlsHandshake(_) => "railgun_tls_handshake",
        OriginFailure::InvalidCertificate(_) => "railgun_tls_certificate",
        _ => "railgun_error",
    }
}

impl Unknown {
    /// A stable snake_case tag for logs and dashboards.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::EmptyReply => "empty_reply",
            Self::ClosedMidHead { .. } => "closed_mid_head",
            Self::Reset(_) => "reset",
            Self::MalformedHead(_) => "malformed_head",
            Self::BadStatus { .. } => "bad_status",
            Self::AmbiguousFraming => "ambiguous_origin_framing",
            Self::HeadersTooLarge { .. } => "headers_too_large",
        }
    }
}

impl fmt::Display for OriginFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(unknown) => write!(f, "origin gave no usable response: {unknown}"),
            Self::Refused(_) => f.write_str("origin refused the connection"),
            Self::ConnectTimeout { after } => {
                write!(f, "no TCP handshake with the origin within {after:?}")
            }
            Self::AckTimeout { after } => {
                write!(
                    f,
                    "origin did not acknowledge request data within {after:?}"
                )
            }
            Self::Unreachable(_) => f.write_str("origin is unreachable"),
            Self::ReadTimeout { after } => {
                write!(f, "origin sent no response head within {after:?}")
            }
            Self::WriteTimeout { after } => {
                write!(f, "origin took no request data for {after:?}")
            }
            Self::TlsHandshake(handshake) => {
                write!(f, "TLS handshake with the origin failed: {handshake}")
            }
            Self::InvalidCertificate(certificate) => certificate.fmt(f),
            Self::Dns(dns) => write!(f, "origin name {:?} did not resolve", dns.name),
            Self::Gateway { status } => write!(f, "origin answered {status}"),
            Self::VisitorBody(_) => f.write_str("visitor's request body failed"),
            Self::BodyTooLarge { limit } => write!(f, "request body over {limit} bytes"),
            Self::Internal(_) => f.write_str("edgecase failed internally"),
            Self::Edge { status } => write!(f, "Cloudflare-side {status} (fault rule)"),
            Self::Numbered { code, .. } => write!(f, "error {code} (fault rule)"),
            Self::Railgun(inner) => write!(f, "Railgun listener to origin: {inner}"),
        }
    }
}

impl fmt::Display for Unknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyReply => f.write_str("connection closed without a response"),
            Self::ClosedMidHead { received } => {
                write!(
                    f,
                    "connection closed after {received} bytes of response head"
                )
            }
            Self::Reset(_) => f.write_str("connection reset before a complete response head"),
            Self::MalformedHead(_) => f.write_str("malformed response head"),
            Self::BadStatus { status } => write!(f, "response status {status} makes no sense here"),
            Self::AmbiguousFraming => {
                f.write_str("response head has both Content-Length and Transfer-Encoding")
            }
            Self::HeadersTooLarge { limit } => {
                write!(f, "response header block over {limit} bytes")
            }
        }
    }
}

impl fmt::Display for DnsCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lookup(_) => f.write_str("lookup failed"),
            Self::NoAddress => f.write_str("no address in the answer"),
            Self::NotInStaticHosts => f.write_str("not in [dns] hosts and [dns] system = false"),
            Self::Timeout { after } => write!(f, "no answer within {after:?}"),
            Self::Emulated => f.write_str("emulated by a fault rule"),
        }
    }
}

impl StdError for OriginFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Unknown(unknown) => Some(unknown),
            Self::Refused(e) | Self::Unreachable(e) | Self::Internal(e) => Some(e),
            Self::Dns(dns) => match &dns.cause {
                DnsCause::Lookup(e) => Some(e),
                _ => None,
            },
            Self::VisitorBody(e) => Some(e),
            Self::Railgun(inner) => Some(inner.as_ref()),
            Self::TlsHandshake(handshake) => Some(handshake),
            Self::InvalidCertificate(certificate) => certificate.source(),
            Self::ConnectTimeout { .. }
            | Self::AckTimeout { .. }
            | Self::ReadTimeout { .. }
            | Self::WriteTimeout { .. }
            | Self::Gateway { .. }
            | Self::Edge { .. }
            | Self::BodyTooLarge { .. }
            | Self::Numbered { .. } => None,
        }
    }
}

impl StdError for Unknown {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Reset(e) => Some(e),
            Self::MalformedHead(e) => Some(e),
            Self::EmptyReply
            | Self::ClosedMidHead { .. }
            | Self::HeadersTooLarge { .. }
            | Self::AmbiguousFraming
            | Self::BadStatus { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_maps_to_cloudflares_status_and_tag() {
        let io = || io::Error::from(io::ErrorKind::ConnectionRefused);
        let after = Duration::from_secs(1);
        let cases: Vec<(OriginFailure, u16, &str)> = vec![
            (
                OriginFailure::Unknown(Unknown::EmptyReply),
                520,
                "empty_reply",
            ),
            (OriginFailure::Refused(io()), 521, "refused"),
            (
                OriginFailure::ConnectTimeout { after },
                522,
                "connect_timeout",
            ),
            (OriginFailure::AckTimeout { after }, 522, "ack_timeout"),
            (OriginFailure::Unreachable(io()), 523, "unreachable"),
            (OriginFailure::ReadTimeout { after }, 524, "read_timeout"),
            (OriginFailure::WriteTimeout { after }, 524, "write_timeout"),
            (OriginFailure::Gateway { status: 502 }, 502, "origin_502"),
            (OriginFailure::Gateway { status: 504 }, 504, "origin_504"),
            (OriginFailure::Internal(io()), 500, "internal"),
        ];
        for (failure, status, tag) in cases {
            assert_eq!(failure.status(), status, "{failure}");
            assert_eq!(failure.tag(), tag);
        }
    }

    #[test]
    fn dns_failure_is_530_with_error_1016() {
        let failure = OriginFailure::Dns(DnsFailure {
            name: "nowhere.test".into(),
            cause: DnsCause::NotInStaticHosts,
        });
        assert_eq!(failure.status(), 530);
        assert_eq!(failure.tag(), "dns_error");
    }
}
