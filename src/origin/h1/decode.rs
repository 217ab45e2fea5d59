//! [`Decoder`]: a response body taken out of the bytes read from the origin, as frames, by
//! its framing: a length, the chunked coding (extensions ignored, trailers passed on), or the
//! close of the connection. Nothing here reads a socket; [`super::connection`] feeds it.

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use http_body::{Frame, SizeHint};

use super::head::BodyFraming;

/// The longest chunk-size line accepted, extensions included. RFC 9112 §7.1.1 sets no limit
/// and lets a recipient ignore extensions; a line without end is an origin to stop reading.
const MAX_SIZE_LINE: usize = 4096;

/// The most trailer fields in one trailer section.
const MAX_TRAILERS: usize = 100;

/// What the decoder made of the bytes it has.
#[derive(Debug)]
pub enum Decoded {
    /// A frame for the visitor.
    Frame(Frame<Bytes>),
    /// More bytes are needed.
    More,
    /// The body is over.
    End,
}

/// Why a body cannot be read to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The bytes break the chunked coding.
    #[error("invalid chunked body: {0}")]
    Chunked(&'static str),
    /// The connection closed before the body's announced end.
    #[error("the origin closed the connection before the end of the body")]
    CutShort,
}

/// Takes one response body out of the connection's bytes.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    /// The most bytes the trailer section may take (the head limit).
    trailer_limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// This many bytes of body left (a length, or the current chunk).
    Length { left: u64, chunked: bool },
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Expecting the CRLF that ends a chunk's data.
    ChunkEnd,
    /// After the last chunk: trailer fields, then a blank line.
    Trailers,
    /// Until the connection closes.
    Close,
    /// Over.
    Done,
}

impl Decoder {
    /// A decoder for a body framed as `framing`; trailers may take `trailer_limit` bytes.
    pub fn new(framing: BodyFraming, trailer_limit: usize) -> Self {
        let state = match framing {
            BodyFraming::Empty | BodyFraming::Length(0) => State::Done,
            BodyFraming::Length(left) => State::Length {
                left,
                chunked: false,
            },
            BodyFraming::Chunked => State::ChunkSize,
            BodyFraming::Close => State::Close,
        };
        Decoder {
            state,
            trailer_limit,
        }
    }

    /// Whether the body is over.
    pub fn is_end(&self) -> bool {
        self.state == State::Done
    }

    /// The body's size, when a length gives it.
    pub fn size_hint(&self) -> SizeHint {
        match self.state {
            State::Done => SizeHint::with_exact(0),
            State::Length {
                left,
                chunked: false,
            } => SizeHint::with_exact(left),
            _ => SizeHint::default(),
        }
    }

    /// How many bytes the next read should make room for, at most `most`.
    pub fn wants(&self, most: usize) -> usize {
        match self.state {
            State::Length { left, .. } => usize::try_from(left).unwrap_or(usize::MAX).min(most),
            _ => most,
        }
    }

    /// The next frame from `buf`, taking what it uses.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, BodyError> {
        loop {
            match self.state {
                State::Done => return Ok(Decoded::End),
                State::Close => {
                    if buf.is_empty() {
                        return Ok(Decoded::More);
                    }
                    return Ok(Decoded::Frame(Frame::data(buf.split().freeze())));
                }
                State::Length { left, chunked } => {
                    if buf.is_empty() {
                        return Ok(Decoded::More);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let data = buf.split_to(take).freeze();
                    let left = left - take as u64;
                    self.state = match (left, chunked) {
                        (0, false) => State::Done,
                        (0, true) => State::ChunkEnd,
                        (left, chunked) => State::Length { left, chunked },
                    };
                    return Ok(Decoded::Frame(Frame::data(data)));
                }
                State::ChunkEnd => {
                    // RFC 9112 §7.1: chunk data ends in CRLF. A bare LF is not taken here:
                    // a body whose framing two readers could see differently is refused.
                    match buf.get(..2) {
                        None if buf.first().is_none_or(|&b| b == b'\r') => {
                            return Ok(Decoded::More);
                        }
                        Some(b"\r\n") => {
                            buf.advance(2);
                            self.state = State::ChunkSize;
                        }
                        _ => return Err(BodyError::Chunked("chunk data not followed by CRLF")),
                    }
                }
                State::ChunkSize => {
                    let Some(size) = chunk_size(buf)? else {
                        return Ok(Decoded::More);
                    };
                    self.state = match size {
                        0 => State::Trailers,
                        left => State::Length {
                            left,
                            chunked: true,
                        },
                    };
                }
                State::Trailers => {
                    let Some(trailers) = trailers(buf, self.trailer_limit)? else {
                        return Ok(Decoded::More);
                    };
                    self.state = State::Done;
                    if !trailers.is_empty() {
                        return Ok(Decoded::Frame(Frame::trailers(trailers)));
                    }
                }
            }
        }
    }

    /// The connection closed: the end of a close-delimited body, an error for any other.
    pub fn at_eof(&mut self) -> Result<(), BodyError> {
        match self.state {
            State::Close | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(BodyError::CutShort),
        }
    }
}

/// Takes a chunk-size line (`1a2b;ext=1\r\n`) off `buf`: its size, or `None` until the
/// whole line is there.
///
/// The size is 1 to 16 hex digits (a u64). Spaces or tabs may follow it before an extension
/// or the line end (what senders write in practice, and hyper accepts); extensions are
/// ignored (RFC 9112 §7.1.1). The line must end in CRLF.
fn chunk_size(buf: &mut BytesMut) -> Result<Option<u64>, BodyError> {
    let window = &buf[..buf.len().min(MAX_SIZE_LINE)];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        if buf.len() >= MAX_SIZE_LINE {
            return Err(BodyError::Chunked("chunk-size line too long"));
        }
        return Ok(None);
    };
    let line = &window[..lf];
    let Some(line) = line.strip_suffix(b"\r") else {
        return Err(BodyError::Chunked("chunk-size line not ended by CRLF"));
    };
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(BodyError::Chunked("missing chunk size"));
    }
    if digits > 16 {
        return Err(BodyError::Chunked("chunk size too large"));
    }
    let rest = line[digits..].trim_ascii_start();
    if !(rest.is_empty() || rest.starts_with(b";")) || line[digits..].contains(&b'\r') {
        return Err(BodyError::Chunked("invalid chunk-size line"));
    }
    let size = line[..digits]
        .iter()
        .fold(0u64, |size, &d| (size << 4) | u64::from(hex_value(d)));
    buf.advance(lf + 1);
    Ok(Some(size))
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// Takes the trailer section (fields, then a blank line) off `buf`: the fields, or `None`
/// until the whole section is there.
fn trailers(buf: &mut BytesMut, limit: usize) -> Result<Option<HeaderMap>, BodyError> {
    if buf.starts_with(b"\r\n") {
        buf.advance(2);
        return Ok(Some(HeaderMap::new()));
    }
    if buf.len() < 2 && buf.first().is_none_or(|&b| b == b'\r') {
        return Ok(None);
    }
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > limit {
            return Err(BodyError::Chunked("trailer section too large"));
        }
        return Ok(None);
    };
    let mut fields = [httparse::EMPTY_HEADER; MAX_TRAILERS];
    let section = &buf[..end + 4];
    let parsed = match httparse::parse_headers(section, &mut fields) {
        Ok(httparse::Status::Complete((_, parsed))) => parsed,
        _ => return Err(BodyError::Chunked("invalid trailer section")),
    };
    let mut map = HeaderMap::with_capacity(parsed.len());
    for field in parsed {
        let name = HeaderName::from_bytes(field.name.as_bytes());
        let value = HeaderValue::from_bytes(field.value);
        let (Ok(name), Ok(value)) = (name, value) else {
            return Err(BodyError::Chunked("invalid trailer field"));
        };
        map.append(name, value);
    }
    buf.advance(end + 4);
    Ok(Some(map))
}
