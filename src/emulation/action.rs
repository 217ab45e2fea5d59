//! A rule applied: whether its [`Matcher`] matches a request ([`applies`]), and what an
//! emulated status turns into ([`emulated_failure`]): the very [`OriginFailure`] the real
//! fault would have produced, so the page, headers and log line cannot differ.

use std::io;
use std::time::Duration;

use http::{HeaderMap, Method};

use crate::config::fault::Matcher;
use crate::config::{DEFAULT_LAN_TIMEOUT, OriginTimeouts};
use crate::failure::{
    CertificateFailure, CertificateReason, HandshakeFailure, OriginFailure, Unknown,
};

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

/// Whether every key of `matcher` but `percent` matches `request`.
pub fn applies(matcher: &Matcher, request: &RequestFacts<'_>) -> bool {
    matcher
        .host
        .as_deref()
        .is_none_or(|host| host == request.host)
        && matcher
            .path_prefix
            .as_deref()
            .is_none_or(|prefix| request.path.starts_with(prefix))
        && matcher.method.as_ref().is_none_or(|m| m == request.method)
        && matcher.header.as_ref().is_none_or(|(name, value)| {
            let mut values = request.headers.get_all(name).iter();
            match value {
                None => values.next().is_some(),
                Some(want) => values.any(|v| v.as_bytes() == want.as_bytes()),
            }
        })
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
