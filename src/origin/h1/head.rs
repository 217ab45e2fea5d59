//! Response heads: where one ends, what it says (parsed with `httparse`), and how its body is
//! framed (RFC 9112 §6.3). Nothing here reads a socket; [`super::connection`] feeds it bytes.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, Version};

/// The fewest bytes a header line is assumed to take when sizing the header count from the
/// byte limit: 16 KiB of origin headers (classic) allows 256 header fields, enough for a head
/// at the limit made of cookies; a head of more, shorter lines is a 520 (too large).
///
/// Cloudflare's bound is bytes only (`limits.origin_header_bytes`); `httparse` needs a count.
const MIN_HEADER_LINE_BYTES: usize = 64;
/// The fewest header fields an origin head may have, whatever the byte limit.
const MIN_ORIGIN_HEADERS: usize = 100;
/// The most header fields in one origin head, whatever the byte limit.
pub const MAX_ORIGIN_HEADERS: usize = 1024;

/// How many header fields an origin head of at most `head_limit` bytes may carry.
pub fn max_origin_headers(head_limit: usize) -> usize {
    (head_limit / MIN_HEADER_LINE_BYTES).clamp(MIN_ORIGIN_HEADERS, MAX_ORIGIN_HEADERS)
}

/// A parsed response head.
#[derive(Debug)]
pub struct ResponseHead {
    /// The status, 100-999 (what HTTP allows past that is the exchange's to judge).
    pub status: StatusCode,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// The header fields, in the order received, names lowercased.
    pub headers: HeaderMap,
}

/// Why a response head is refused (each a 520).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadError {
    /// More bytes, or more fields, than the limit allows.
    TooLarge,
    /// Bytes that are not an HTTP/1.x response head, or a framing header that cannot be
    /// honoured; the words say which.
    Malformed(&'static str),
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.3 ¶3).
    AmbiguousFraming,
}

/// How the body after a head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body at all.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// The chunked transfer coding.
    Chunked,
    /// Everything until the origin closes the connection.
    Close,
}

/// Where the head that starts `buf` ends (just past its blank line), searching from byte
/// `from` on (what an earlier call already searched, so a trickled head is scanned once).
///
/// A line may end in CRLF or a bare LF: `httparse` accepts both (RFC 9112 §2.2 lets a
/// recipient take a bare LF as a line end), so the search does too, or a head `httparse`
/// would read could never be found complete.
pub fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(2);
    let mut at = start;
    while let Some(offset) = buf.get(at..)?.iter().position(|&b| b == b'\n') {
        let lf = at + offset;
        match buf.get(lf + 1) {
            Some(b'\n') => return Some(lf + 2),
            Some(b'\r') if buf.get(lf + 2) == Some(&b'\n') => return Some(lf + 3),
            Some(b'\r') => {}
            Some(_) => {}
            // The LF is the last byte so far: the next read may complete the blank line.
            None => return None,
        }
        at = lf + 1;
    }
    None
}

/// Parses the head at the start of `buf` (known to hold a blank line), splitting it off: the
/// bytes after it stay in `buf`. `None` when `httparse` still wants more: the blank line found
/// was one of the empty lines before the status line, which `httparse` skips (RFC 9112 §2.2
/// lets a recipient ignore them). Those lines are taken off `buf` then, so the caller searches
/// for the head's end again from the status line and never finds the same blank line twice.
///
/// Header values are slices of the head's own bytes, not copies: one allocation per head.
pub fn parse(buf: &mut BytesMut, max_headers: usize) -> Result<Option<ResponseHead>, HeadError> {
    let mut fields = [const { std::mem::MaybeUninit::uninit() }; MAX_ORIGIN_HEADERS];
    let fields = &mut fields[..max_headers.min(MAX_ORIGIN_HEADERS)];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        fields,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            let _ = buf.split_to(leading_blank_lines(buf));
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::TooLarge),
        Err(e) => return Err(HeadError::Malformed(syntax(e))),
    };
    let version = match response.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Err(HeadError::Malformed("not an HTTP/1.x version")),
    };
    let status = response
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(HeadError::Malformed("invalid status code"))?;
    let base = buf.as_ptr() as usize;
    let mut named: Vec<(HeaderName, Range<usize>)> = Vec::with_capacity(response.headers.len());
    for field in response.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| HeadError::Malformed("invalid header name"))?;
        // Every value is a slice of `buf`'s first `len` bytes; an empty one may point
        // anywhere, and is read as empty.
        let start = (field.value.as_ptr() as usize).wrapping_sub(base);
        let range = if field.value.is_empty() || start + field.value.len() > len {
            0..0
        } else {
            start..start + field.value.len()
        };
        named.push((name, range));
    }
    let head: Bytes = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(named.len());
    for (name, range) in named {
        let value = HeaderValue::from_maybe_shared(head.slice(range))
            .map_err(|_| HeadError::Malformed("invalid header value"))?;
        headers.append(name, value);
    }
    Ok(Some(ResponseHead {
        status,
        version,
        headers,
    }))
}

/// How many bytes of empty lines (CRLF or bare LF) `buf` starts with.
fn leading_blank_lines(buf: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match &buf[at..] {
            [b'\r', b'\n', ..] => at += 2,
            [b'\n', ..] => at += 1,
            _ => return at,
        }
    }
}

/// `httparse`'s complaint in words.
fn syntax(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Token => "invalid token",
        httparse::Error::Version => "invalid HTTP version",
        httparse::Error::TooManyHeaders => "too many header fields",
    }
}

impl ResponseHead {
    /// An interim response (1xx) other than 101, followed by the real one (RFC 9110 §15.2).
    pub fn is_interim(&self) -> bool {
        self.status.is_informational() && self.status != StatusCode::SWITCHING_PROTOCOLS
    }

    /// How the body after this head is delimited, for a response to a `HEAD` request when
    /// `to_head` (RFC 9112 §6.3, rule by rule).
    pub fn framing(&self, to_head: bool) -> Result<BodyFraming, HeadError> {
        let te = self.headers.contains_key(header::TRANSFER_ENCODING);
        let lengths = self.headers.get_all(header::CONTENT_LENGTH);
        let has_length = lengths.iter().next().is_some();
        // ¶3: both is an error the edge does not forward, whatever the status: forwarding
        // either would announce a framing the other contradicts. Checked first, as before.
        if te && has_length {
            return Err(HeadError::AmbiguousFraming);
        }
        // ¶1: a response to HEAD, any 1xx, 204 and 304 end at their head, whatever they say.
        let status = self.status.as_u16();
        if to_head || self.status.is_informational() || status == 204 || status == 304 {
            return Ok(BodyFraming::Empty);
        }
        if te {
            return chunked_only(&self.headers).map(|()| BodyFraming::Chunked);
        }
        if has_length {
            return content_length(lengths.iter()).map(BodyFraming::Length);
        }
        // ¶8: neither header: the body runs to the close of the connection.
        Ok(BodyFraming::Close)
    }

    /// Whether the origin keeps the connection open after this response: HTTP/1.1 unless it
    /// says `Connection: close`, HTTP/1.0 only when it says `keep-alive` (RFC 9112 §9.3).
    pub fn keeps_alive(&self) -> bool {
        let says = |token: &str| {
            self.headers
                .get_all(header::CONNECTION)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        match self.version {
            Version::HTTP_11 => !says("close"),
            _ => says("keep-alive"),
        }
    }
}

/// Accepts a `Transfer-Encoding` of exactly `chunked`, in one field or several.
///
/// RFC 9112 §6.3 ¶4 lets a response whose final coding is not chunked run to the close,
/// and one with chunked before other codings be decoded as chunked. Neither is forwarded:
/// edgecase would hand the visitor codings it never decoded nor announced (nginx, the
/// lineage of Cloudflare's edge, also answers such an upstream with a 502), so any other
/// coding, a repeated `chunked` or an empty list is a malformed head, a 520.
fn chunked_only(headers: &HeaderMap) -> Result<(), HeadError> {
    let mut codings = headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|c| !c.is_empty());
    match (codings.next(), codings.next()) {
        (Some(only), None) if only.eq_ignore_ascii_case(b"chunked") => Ok(()),
        _ => Err(HeadError::Malformed("transfer-encoding other than chunked")),
    }
}

/// The one length `Content-Length` gives: one field of digits only.
///
/// RFC 9110 §8.6 lets a recipient accept a list or repeated fields of one same value as that
/// value; edgecase does not: two lengths where one belongs are what request smuggling is
/// made of, and a proxy that picks one for the origin may disagree with the next hop. So a
/// repeated field, a list, a sign or spaces inside, or a length past u64 is a 520.
fn content_length<'a>(mut fields: impl Iterator<Item = &'a HeaderValue>) -> Result<u64, HeadError> {
    let (Some(only), None) = (fields.next(), fields.next()) else {
        return Err(HeadError::Malformed("more than one content-length"));
    };
    let digits = only.as_bytes().trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(HeadError::Malformed("content-length is not a number"));
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse().ok())
        .ok_or(HeadError::Malformed("content-length is too large"))
}
