//! Judging the bytes a visitor received on a connection that carried one request: a whole
//! HTTP/1.1 response, a valid response cut short (the edge aborted it), nothing at all, or
//! bytes no HTTP/1.1 client could read, which is always the edge's bug.
//!
//! The body's length follows RFC 9112 section 6.3 for the response to a GET: none for 1xx,
//! 204 and 304; chunked when the last transfer coding is chunked; `content-length` bytes when
//! that is set; otherwise everything up to the close.

/// The most header lines read in one response head.
const MAX_HEADERS: usize = 256;

/// What the visitor got.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// The connection ended before a single byte.
    Nothing,
    /// A whole response: its final status (interim 1xx heads skipped), whether it carried
    /// `cf-ray`, and edgecase's `cf-edgecase-cause` when it explains an answer it made.
    Complete {
        /// The final status code.
        status: u16,
        /// Whether a `cf-ray` header was there.
        cf_ray: bool,
        /// The `cf-edgecase-cause` header's value, if any.
        cause: Option<String>,
    },
    /// A valid beginning of a response, cut off by the close: the edge's abort.
    CutShort {
        /// The final status, when its head was complete.
        status: Option<u16>,
    },
}

/// Why the bytes cannot be an HTTP/1.1 response to one request.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

/// The framing of a response body.
enum Framing {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// Judges `bytes`, everything received on a connection that sent one request (not HEAD).
pub fn judge(bytes: &[u8]) -> Result<Reply, Malformed> {
    if bytes.is_empty() {
        return Ok(Reply::Nothing);
    }
    let mut rest = bytes;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(rest) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(Reply::CutShort { status: None }),
            Err(e) => return Err(Malformed(format!("response head: {e}"))),
        };
        let status = response
            .code
            .ok_or_else(|| Malformed("a complete head without a status".to_owned()))?;
        if !(100..=599).contains(&status) {
            return Err(Malformed(format!("status {status}")));
        }
        let cf_ray = response
            .headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("cf-ray"));
        let cause = response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("cf-edgecase-cause"))
            .map(|h| String::from_utf8_lossy(h.value).into_owned());
        let framing = framing(status, response.headers)?;
        rest = &rest[head_len..];
        if (100..200).contains(&status) {
            if status == 101 {
                return Err(Malformed(
                    "101 Switching Protocols to a plain GET".to_owned(),
                ));
            }
            continue;
        }
        let body_end = match framing {
            Framing::None => Some(0),
            Framing::Length(length) => match usize::try_from(length) {
                Ok(length) if length <= rest.len() => Some(length),
                _ => None,
            },
            Framing::Chunked => chunked_len(rest)?,
            Framing::UntilClose => Some(rest.len()),
        };
        return match body_end {
            None => Ok(Reply::CutShort {
                status: Some(status),
            }),
            Some(end) if end < rest.len() => Err(Malformed(format!(
                "{} bytes after a complete {status} response",
                rest.len() - end
            ))),
            Some(_) => Ok(Reply::Complete {
                status,
                cf_ray,
                cause,
            }),
        };
    }
}

/// How the body after a head with `status` and `headers` is delimited.
fn framing(status: u16, headers: &[httparse::Header<'_>]) -> Result<Framing, Malformed> {
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::None);
    }
    let mut codings = Vec::new();
    let mut lengths = Vec::new();
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            codings.extend(
                text(header)?
                    .split(',')
                    .map(|c| c.trim().to_ascii_lowercase()),
            );
        } else if header.name.eq_ignore_ascii_case("content-length") {
            lengths.extend(text(header)?.split(',').map(|l| l.trim().to_owned()));
        }
    }
    if !codings.is_empty() {
        if !lengths.is_empty() {
            return Err(Malformed(
                "both transfer-encoding and content-length".to_owned(),
            ));
        }
        return Ok(match codings.last().map(String::as_str) {
            Some("chunked") => Framing::Chunked,
            _ => Framing::UntilClose,
        });
    }
    let Some(first) = lengths.first() else {
        return Ok(Framing::UntilClose);
    };
    if lengths.iter().any(|l| l != first) {
        return Err(Malformed(format!("differing content-length {lengths:?}")));
    }
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Malformed(format!("content-length {first:?}")));
    }
    first
        .parse()
        .map(Framing::Length)
        .map_err(|_| Malformed(format!("content-length {first:?}")))
}

/// A framing header's value as text: other headers may carry any obs-text, but these must
/// be ASCII to mean anything.
fn text<'h>(header: &httparse::Header<'h>) -> Result<&'h str, Malformed> {
    std::str::from_utf8(header.value).map_err(|_| Malformed(format!("{} is not text", header.name)))
}

/// The length of the chunked body at the start of `body` (trailers included), `None` when
/// it is cut short.
fn chunked_len(body: &[u8]) -> Result<Option<usize>, Malformed> {
    let mut at = 0;
    loop {
        let (size_len, size) = match httparse::parse_chunk_size(&body[at..]) {
            Ok(httparse::Status::Complete(parsed)) => parsed,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err(Malformed(format!("chunk size at body byte {at}"))),
        };
        at += size_len;
        if size == 0 {
            let mut trailers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            return match httparse::parse_headers(&body[at..], &mut trailers) {
                Ok(httparse::Status::Complete((len, _))) => Ok(Some(at + len)),
                Ok(httparse::Status::Partial) => Ok(None),
                Err(e) => Err(Malformed(format!("trailers: {e}"))),
            };
        }
        let Some(end) = usize::try_from(size).ok().and_then(|s| at.checked_add(s)) else {
            return Ok(None);
        };
        if body.len() < end + 2 {
            return Ok(None);
        }
        if &body[end..end + 2] != b"\r\n" {
            return Err(Malformed(format!(
                "no CRLF after the chunk ending at {end}"
            )));
        }
        at = end + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_delimited_response_is_complete_and_one_byte_less_is_cut_short() {
        let whole = b"HTTP/1.1 520 \r\ncf-ray: 1-CDG\r\ncontent-length: 3\r\n\r\nabc";
        assert_eq!(
            judge(whole),
            Ok(Reply::Complete {
                status: 520,
                cf_ray: true,
                cause: None
            })
        );
        assert_eq!(
            judge(&whole[..whole.len() - 1]),
            Ok(Reply::CutShort { status: Some(520) })
        );
        assert_eq!(judge(&whole[..10]), Ok(Reply::CutShort { status: None }));
    }

    #[test]
    fn chunked_bodies_end_at_the_last_chunk_and_its_trailers() {
        let whole = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(
            judge(whole),
            Ok(Reply::Complete {
                status: 200,
                cf_ray: false,
                cause: None
            })
        );
        let cut = &whole[..whole.len() - 2];
        assert_eq!(judge(cut), Ok(Reply::CutShort { status: Some(200) }));
        let bad = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcX\r\n";
        assert!(judge(bad).is_err());
    }

    #[test]
    fn interim_heads_are_skipped_and_bytes_after_the_response_are_malformed() {
        let early = b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n\
            HTTP/1.1 204 \r\ncf-edgecase-cause: test\r\n\r\n";
        assert_eq!(
            judge(early),
            Ok(Reply::Complete {
                status: 204,
                cf_ray: false,
                cause: Some("test".to_owned())
            })
        );
        let extra = b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nab";
        assert_eq!(
            judge(extra),
            Err(Malformed(
                "1 bytes after a complete 200 response".to_owned()
            ))
        );
    }

    #[test]
    fn nothing_and_garbage_are_told_apart() {
        assert_eq!(judge(b""), Ok(Reply::Nothing));
        assert!(judge(b"\x00\x01garbage\r\n\r\n").is_err());
        let two_lengths = b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\na";
        assert!(judge(two_lengths).is_err());
        let obs_text = b"HTTP/1.1 200 OK\r\nx-name: caf\xe9\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            judge(obs_text),
            Ok(Reply::Complete {
                status: 200,
                cf_ray: false,
                cause: None
            })
        );
    }
}
