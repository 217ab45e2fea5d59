//! Whether a visitor's request may go on at all: the checks Cloudflare's front line makes
//! before anything reaches an origin (REFERENCE.md §1 "Other codes", §6 limits). A refused
//! request gets Cloudflare's answer and never touches a socket to any origin.
//!
//! hyper's parser already refuses what it cannot frame (bad chunk sizes, obs-fold, bare CR,
//! differing Content-Lengths, a Transfer-Encoding not ending in chunked) with its own 400; what
//! it accepts but Cloudflare refuses is checked here, including a head with both
//! Content-Length and Transfer-Encoding, which hyper hides (`super::framing` notes it).

use http::header::{self, HeaderMap};
use http::{Method, Request, Version};

use crate::config::{Profile, VisitorLimits};
use crate::edge::framing::AmbiguousFraming;
use crate::pages::PageKind;

/// `X-Forwarded-For` longer than this is refused with error 1000.
const MAX_FORWARDED_FOR: usize = 100;

/// Why a request is refused, and the page it gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The page (and so the status).
    pub kind: PageKind,
    /// The log cause.
    pub cause: &'static str,
    /// The request's framing cannot be trusted: the connection is closed after the answer,
    /// since nothing more read from it could be.
    pub closes: bool,
}

impl Refusal {
    fn unbranded(status: u16, cause: &'static str) -> Self {
        Refusal {
            kind: PageKind::Unbranded { status },
            cause,
            closes: false,
        }
    }

    /// A refusal under RFC 9112's framing rules: `visitor_framing:<rule>`, connection closed.
    fn framing(status: u16, cause: &'static str) -> Self {
        debug_assert!(cause.starts_with(VISITOR_FRAMING));
        Refusal {
            closes: true,
            ..Refusal::unbranded(status, cause)
        }
    }
}

/// The first reason to refuse `request` (`host` is the Host asked for, lowercase without
/// port), or `None` to let it through. Only the head is looked at.
pub fn check<B>(
    request: &Request<B>,
    host: &str,
    limits: &VisitorLimits,
    profile: Profile,
) -> Option<Refusal> {
    let parts = Head {
        method: request.method(),
        uri: request.uri(),
        version: request.version(),
        headers: request.headers(),
    };
    let parts = &parts;
    if *parts.method == Method::CONNECT {
        return Some(Refusal::unbranded(405, "connect_refused"));
    }
    if let Some(refusal) = framing(parts) {
        return Some(refusal);
    }
    let target_len = target_len(parts);
    if target_len > limits.url_bytes {
        return Some(Refusal::unbranded(414, "url_too_long"));
    }
    if head_too_large(parts, target_len, limits) {
        return Some(match profile {
            Profile::Classic => Refusal {
                kind: PageKind::HeaderTooLarge,
                cause: "request_header_too_large",
                closes: false,
            },
            Profile::Current => Refusal::unbranded(413, "request_header_too_large"),
        });
    }
    if names_another_host(parts, host) {
        return Some(Refusal::unbranded(400, "absolute_form_other_host"));
    }
    let headers = parts.headers;
    // hyper keeps only one of the two headers, so the head is checked as it was sent.
    let both = request.extensions().get::<AmbiguousFraming>().is_some()
        || (headers.contains_key(header::CONTENT_LENGTH)
            && headers.contains_key(header::TRANSFER_ENCODING));
    if both {
        // RFC 9112 6.3: the server must close the connection after answering.
        return Some(Refusal {
            closes: true,
            ..Refusal::unbranded(400, "ambiguous_framing")
        });
    }
    if forged_identity(headers) {
        return Some(Refusal {
            kind: PageKind::Numbered {
                status: 403,
                code: 1000,
            },
            cause: "forged_identity",
            closes: false,
        });
    }
    if declared_length(headers).is_some_and(|length| length > limits.request_body_bytes) {
        return Some(Refusal::unbranded(413, "request_body_too_large"));
    }
    None
}

/// The prefix of every framing refusal's cause: `visitor_framing:<rule>`.
pub const VISITOR_FRAMING: &str = "visitor_framing";

/// RFC 9112's rules for what frames and names a request, where hyper lets more through:
/// the transfer codings (all `Transfer-Encoding` fields together, RFC 9110 5.3) must be exactly
/// one `chunked`, an HTTP/1.1 request has exactly one valid `Host` (3.2), and an h2 request's
/// `host`, if any, is its `:authority` (RFC 9113 8.3.1).
fn framing(parts: &Head<'_>) -> Option<Refusal> {
    let headers = parts.headers;
    if parts.version == Version::HTTP_2 {
        let (Some(authority), Some(host)) = (parts.uri.authority(), headers.get(header::HOST))
        else {
            return None;
        };
        let agree = host
            .as_bytes()
            .eq_ignore_ascii_case(authority.as_str().as_bytes());
        return (!agree).then(|| Refusal::framing(400, "visitor_framing:host_not_authority"));
    }
    let mut fields = headers.get_all(header::TRANSFER_ENCODING).iter().peekable();
    if fields.peek().is_some() {
        if parts.version != Version::HTTP_11 {
            return Some(Refusal::framing(400, "visitor_framing:te_on_http_1_0"));
        }
        let mut chunked = 0;
        for coding in fields
            .flat_map(|value| value.as_bytes().split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|coding| !coding.is_empty())
        {
            if !coding.eq_ignore_ascii_case(b"chunked") {
                // gzip, deflate, compress, identity or anything else: not implemented here.
                return Some(Refusal::framing(501, "visitor_framing:te_unknown_coding"));
            }
            chunked += 1;
        }
        match chunked {
            1 => {}
            // An empty field, or only commas: no coding at all.
            0 => return Some(Refusal::framing(400, "visitor_framing:te_empty")),
            _ => return Some(Refusal::framing(400, "visitor_framing:te_chunked_repeated")),
        }
    }
    let mut hosts = headers.get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if parts.version == Version::HTTP_11 => {
            Some(Refusal::framing(400, "visitor_framing:host_missing"))
        }
        (Some(_), Some(_)) => Some(Refusal::framing(400, "visitor_framing:host_repeated")),
        (Some(host), None) if !is_host_and_port(host.as_bytes()) => {
            Some(Refusal::framing(400, "visitor_framing:host_invalid"))
        }
        _ => None,
    }
}

/// Whether `value` is `host[:port]`: a name of letters, digits, `-`, `.`, `_`, `~`, an IPv4
/// address, or a bracketed IPv6 literal; then at most a port of digits. No userinfo, path,
/// query, backslash, list or space.
fn is_host_and_port(value: &[u8]) -> bool {
    let (host, port) = match value.strip_prefix(b"[") {
        Some(rest) => match rest.iter().position(|&b| b == b']') {
            Some(end) => {
                let literal = &rest[..end];
                let ok = !literal.is_empty()
                    && literal
                        .iter()
                        .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
                if !ok {
                    return false;
                }
                (&rest[..end], &rest[end + 1..])
            }
            None => return false,
        },
        None => match value.iter().position(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &[][..]),
        },
    };
    let port_ok = match port.strip_prefix(b":") {
        Some(digits) => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
        None => port.is_empty(),
    };
    let name_ok = !host.is_empty()
        && (value.starts_with(b"[")
            || host
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')));
    port_ok && name_ok
}

/// The parts of a request head the checks read.
struct Head<'a> {
    method: &'a Method,
    uri: &'a http::Uri,
    version: Version,
    headers: &'a HeaderMap,
}

/// The request-target's length as the visitor sent it (origin-form: path and query;
/// absolute-form: the whole URI).
fn target_len(parts: &Head<'_>) -> usize {
    let uri = parts.uri;
    match (uri.scheme(), parts.version) {
        (Some(_), Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11) => {
            // scheme "://" authority path-and-query
            uri.scheme_str().map_or(0, str::len)
                + 3
                + uri.authority().map_or(0, |a| a.as_str().len())
                + uri.path_and_query().map_or(1, |pq| pq.as_str().len())
        }
        _ => uri.path_and_query().map_or(1, |pq| pq.as_str().len()),
    }
}

/// Whether the head is over the total limit, or one header line over the per-line limit. The
/// head is counted as HTTP/1.1 writes it: request line, each `name: value` line, the blank line.
fn head_too_large(parts: &Head<'_>, target_len: usize, limits: &VisitorLimits) -> bool {
    // "METHOD SP target SP HTTP/1.1 CRLF"
    let mut total = parts.method.as_str().len() + 1 + target_len + 1 + 8 + 2;
    for (name, value) in parts.headers {
        let line = name.as_str().len() + 2 + value.len();
        if line > limits.request_header_field_bytes {
            return true;
        }
        total += line + 2;
    }
    total + 2 > limits.request_header_bytes
}

/// An absolute-form request-target (HTTP/1.x) whose host is not the Host header's: edgecase
/// is not an open proxy. (h2's `:authority` is the host itself.)
fn names_another_host(parts: &Head<'_>, host: &str) -> bool {
    if !matches!(
        parts.version,
        Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11
    ) {
        return false;
    }
    // Both keep an IPv6 literal's brackets: `[::1]`.
    parts
        .uri
        .host()
        .is_some_and(|named| !named.eq_ignore_ascii_case(host))
}

/// A request that carries identity only the edge may set: its own `CF-Connecting-IP`, two
/// `X-Forwarded-For` headers, or one over 100 characters (Cloudflare's error 1000).
fn forged_identity(headers: &HeaderMap) -> bool {
    if headers.contains_key("cf-connecting-ip") {
        return true;
    }
    let mut forwarded = headers.get_all("x-forwarded-for").iter();
    match (forwarded.next(), forwarded.next()) {
        (Some(_), Some(_)) => true,
        (Some(one), None) => one.len() > MAX_FORWARDED_FOR,
        _ => false,
    }
}

/// The body length the visitor declared, if any (hyper has already refused differing values).
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;
