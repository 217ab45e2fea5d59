//! [`Upload`]: a request on its way to the origin, its head written by edgecase and its body
//! framed by a length or the chunked coding. Bytes wait in a short queue and go out in one
//! vectored write where the socket takes them: a bodiless request is one write, and a body
//! frame already there when the head goes out shares the head's write.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http::header::{self, HeaderMap};
use http::request::Parts;
use http_body::Body;
use tokio::io::AsyncWrite;

use crate::origin::upload::{BodyError, RequestBody};

/// How many queued bytes are gathered from the body before writing.
const GATHER: usize = 64 * 1024;
/// The most pieces handed to one vectored write.
const MAX_SLICES: usize = 16;

/// Why a request could not be written.
#[derive(Debug)]
pub enum UploadError {
    /// The visitor's body failed, or grew past the limit.
    Visitor(BodyError),
    /// The origin socket failed.
    Io(io::Error),
}

/// How the request body goes to the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body.
    None,
    /// `Content-Length`: this many bytes left.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A request being written.
pub struct Upload {
    body: Option<RequestBody>,
    framing: Framing,
    queue: VecDeque<Bytes>,
    queued: usize,
    /// Whether the last bytes are queued (the body ended, the last chunk written).
    ended: bool,
}

impl Upload {
    /// The request of `parts` and `body`, its head queued.
    ///
    /// The body's framing (RFC 9112 §6): a `Content-Length` the request carries is kept (the
    /// visitor side checked it against the body); a body of a size known in advance gets
    /// one; any other body is sent chunked (the visitor's own `Transfer-Encoding` is
    /// hop-by-hop and was removed); a request without a body gets neither, as hyper sends it.
    pub fn new(parts: &Parts, body: RequestBody) -> Self {
        let headers = &parts.headers;
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let (framing, added) = match length {
            Some(length) => (Framing::Length(length), None),
            None if body.is_end_stream() => (Framing::None, None),
            None => match body.size_hint().exact() {
                Some(exact) => (Framing::Length(exact), Some(Added::Length(exact))),
                None => (Framing::Chunked, Some(Added::Chunked)),
            },
        };
        let head = encode_head(parts, headers, added);
        let mut queue = VecDeque::with_capacity(4);
        let queued = head.len();
        queue.push_back(head);
        let ended = framing == Framing::None || framing == Framing::Length(0);
        Upload {
            body: (!ended).then_some(body),
            framing,
            queue,
            queued,
            ended,
        }
    }

    /// Writes what it can to `io`: ready once the whole request is written and flushed.
    pub fn poll_write<W: AsyncWrite + Unpin>(
        &mut self,
        cx: &mut Context<'_>,
        io: &mut W,
    ) -> Poll<Result<(), UploadError>> {
        loop {
            self.gather(cx)?;
            if self.queue.is_empty() {
                if !self.ended {
                    // Waiting on the visitor's body (its task is woken by it).
                    return Poll::Pending;
                }
                ready!(Pin::new(&mut *io).poll_flush(cx)).map_err(UploadError::Io)?;
                return Poll::Ready(Ok(()));
            }
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut count = 0;
            for (slot, part) in slices.iter_mut().zip(self.queue.iter()) {
                *slot = IoSlice::new(part);
                count += 1;
            }
            let written = ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices[..count]))
                .map_err(UploadError::Io)?;
            if written == 0 {
                return Poll::Ready(Err(UploadError::Io(io::ErrorKind::WriteZero.into())));
            }
            self.advance(written);
        }
    }

    /// Queues the body frames that are ready, up to [`GATHER`] bytes.
    fn gather(&mut self, cx: &mut Context<'_>) -> Result<(), UploadError> {
        while self.queued < GATHER {
            let Some(body) = self.body.as_mut() else {
                return Ok(());
            };
            let frame = match Pin::new(body).poll_frame(cx) {
                Poll::Pending => return Ok(()),
                Poll::Ready(frame) => frame,
            };
            match frame {
                Some(Err(e)) => return Err(UploadError::Visitor(e)),
                None => self.end(None)?,
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.data(data)?,
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.end(Some(trailers))?;
                        }
                    }
                },
            }
        }
        Ok(())
    }

    fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.queued += bytes.len();
            self.queue.push_back(bytes);
        }
    }

    fn data(&mut self, data: Bytes) -> Result<(), UploadError> {
        if data.is_empty() {
            // An empty chunk would end a chunked body: nothing to send.
            return Ok(());
        }
        match &mut self.framing {
            Framing::Length(left) => {
                let len = data.len() as u64;
                if len > *left {
                    return Err(framing_error("the request body is longer than its length"));
                }
                *left -= len;
                let done = *left == 0;
                self.push(data);
                if done {
                    self.ended = true;
                    self.body = None;
                }
            }
            Framing::Chunked => {
                self.push(Bytes::from(format!("{:x}\r\n", data.len())));
                self.push(data);
                self.push(Bytes::from_static(b"\r\n"));
            }
            Framing::None => return Err(framing_error("a body on a bodiless request")),
        }
        Ok(())
    }

    /// The body is over (with its trailers, if any).
    fn end(&mut self, trailers: Option<HeaderMap>) -> Result<(), UploadError> {
        self.body = None;
        self.ended = true;
        match self.framing {
            Framing::Chunked => {
                let mut last = b"0\r\n".to_vec();
                for (name, value) in trailers.iter().flatten() {
                    last.extend_from_slice(name.as_str().as_bytes());
                    last.extend_from_slice(b": ");
                    last.extend_from_slice(value.as_bytes());
                    last.extend_from_slice(b"\r\n");
                }
                last.extend_from_slice(b"\r\n");
                self.push(Bytes::from(last));
                Ok(())
            }
            // Trailers cannot follow a body framed by its length; they are dropped, as
            // RFC 9110 §6.5.1 allows a proxy that cannot forward them.
            Framing::Length(0) | Framing::None => Ok(()),
            Framing::Length(_) => Err(framing_error("the request body is shorter than its length")),
        }
    }

    fn advance(&mut self, mut written: usize) {
        self.queued -= written;
        while written > 0 {
            let Some(front) = self.queue.front_mut() else {
                return;
            };
            if written >= front.len() {
                written -= front.len();
                self.queue.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }
}

fn framing_error(what: &'static str) -> UploadError {
    UploadError::Visitor(Box::new(io::Error::new(io::ErrorKind::InvalidData, what)))
}

/// A framing header edgecase adds to the request.
#[derive(Debug, Clone, Copy)]
enum Added {
    Length(u64),
    Chunked,
}

/// The request line and header fields, as bytes: origin-form target, HTTP/1.1, the fields in
/// their order, names as `http` keeps them (lowercase), then the framing header added.
fn encode_head(parts: &Parts, headers: &HeaderMap, added: Option<Added>) -> Bytes {
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let fields: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    let mut head = Vec::with_capacity(parts.method.as_str().len() + target.len() + fields + 64);
    head.extend_from_slice(parts.method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    match added {
        Some(Added::Length(length)) => {
            head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
        }
        Some(Added::Chunked) => head.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        None => {}
    }
    head.extend_from_slice(b"\r\n");
    Bytes::from(head)
}
