//! [`Connection`]: one HTTP/1.1 connection to an origin, driven by the request that uses it
//! (no task, channel or queue of its own): the visitor's request future writes the request
//! and reads the head ([`Connection::poll_head`]), then the response body polls the rest
//! ([`Connection::poll_body`]), writing any request body left as it goes.
//!
//! The read buffer is sized to need: a connection waiting for a head reads into the stack
//! first, so a request held on a silent origin holds no read buffer, and an idle pooled
//! connection keeps none either.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker, ready};

use bytes::{BufMut, Bytes, BytesMut};
use http::StatusCode;
use http_body::Frame;
use tokio::io::{AsyncRead, ReadBuf};

use super::decode::{BodyError, Decoded, Decoder};
use super::head::{self, HeadError, ResponseHead};
use super::request::{Upload, UploadError};
use super::stream::OriginStream;
use super::upgraded::Upgraded;
use crate::origin::io::{OriginIo, WriteStalled};
use crate::record::connections::OpenConnection;

/// The first read of a head, into the stack.
const FIRST_READ: usize = 2048;
/// A body read's buffer: this to start, growing up to [`MAX_BODY_READ`] while reads fill it.
const BODY_READ: usize = 8 * 1024;
const MAX_BODY_READ: usize = 64 * 1024;
/// Room kept past the head limit, so the read that crosses it can be seen to.
const HEAD_SLACK: usize = 1024;

/// Why no response head came.
#[derive(Debug)]
pub enum HeadFailure {
    /// The request could not be written (the visitor's body, a write stall, an ack timeout).
    Upload(UploadError),
    /// The origin socket failed while the head was awaited.
    Io(io::Error),
    /// The origin closed the connection.
    Closed,
    /// The head broke a rule.
    Head(HeadError),
}

/// An interim response's status and fields, for whoever passes 103s on.
pub type InterimHandler<'a> = &'a mut (dyn FnMut(StatusCode, &http::HeaderMap) + Send);

/// One HTTP/1.1 connection to an origin.
pub struct Connection {
    io: OriginIo<OriginStream>,
    /// Bytes read and not yet used.
    buf: BytesMut,
    /// The request still being written, if any.
    upload: Option<Upload>,
    /// A write that failed while a response could still come (the origin may answer, then
    /// close, before reading the whole request): reported if no head comes.
    write_error: Option<io::Error>,
    /// Head bytes since the request was sent (interim heads included).
    head_bytes: usize,
    /// How much of `buf` was already searched for the end of the head.
    scanned: usize,
    /// The next body read's size.
    read_size: usize,
    /// Whether the connection may carry another request once this response is read.
    reusable: bool,
    /// Counts the connection open for as long as it lives.
    _open: Option<OpenConnection>,
}

impl Connection {
    /// HTTP/1.1 on `io`, counted on `open`.
    pub fn new(io: OriginIo<OriginStream>, open: Option<OpenConnection>) -> Self {
        Connection {
            io,
            buf: BytesMut::new(),
            upload: None,
            write_error: None,
            head_bytes: 0,
            scanned: 0,
            read_size: BODY_READ,
            reusable: true,
            _open: open,
        }
    }

    /// Response-head bytes received for the current request.
    pub fn head_bytes(&self) -> usize {
        self.head_bytes
    }

    /// Starts a request: its head (and what is ready of its body) goes out on the next poll.
    pub fn start(&mut self, upload: Upload) {
        self.head_bytes = 0;
        self.scanned = 0;
        self.write_error = None;
        self.upload = Some(upload);
    }

    /// Writes the request: ready once all of it is written, or with what stops it.
    pub fn poll_upload(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), UploadError>> {
        let Some(upload) = self.upload.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let outcome = ready!(upload.poll_write(cx, &mut self.io));
        self.upload = None;
        if outcome.is_err() {
            self.reusable = false;
        }
        Poll::Ready(outcome)
    }

    /// Whether the request is wholly written.
    pub fn is_uploaded(&self) -> bool {
        self.upload.is_none()
    }

    /// Writes what is left of the request, then reads the response head, passing interim
    /// heads to `interim` and skipping them. At most `limit` head bytes in all, and
    /// `max_headers` fields a head.
    pub fn poll_head(
        &mut self,
        cx: &mut Context<'_>,
        limit: usize,
        max_headers: usize,
        interim: InterimHandler<'_>,
    ) -> Poll<Result<ResponseHead, HeadFailure>> {
        if self.upload.is_some() {
            match self.poll_upload(cx) {
                Poll::Ready(Err(UploadError::Io(e))) if !is_fatal(&e) => {
                    // The origin may have answered and closed: read what it said.
                    self.write_error = Some(e);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(HeadFailure::Upload(e))),
                _ => {}
            }
        }
        loop {
            if let Some(end) = head::head_end(&self.buf, self.scanned) {
                let counted = self.head_bytes + end;
                if counted > limit {
                    self.head_bytes = counted;
                    return Poll::Ready(Err(HeadFailure::Head(HeadError::TooLarge)));
                }
                let before = self.buf.len();
                match head::parse(&mut self.buf, max_headers) {
                    Err(e) => {
                        self.head_bytes = counted;
                        self.reusable = false;
                        return Poll::Ready(Err(HeadFailure::Head(e)));
                    }
                    // Blank lines before the status line, which `parse` took off: they count
                    // toward the head's bytes, and the search starts again at the status line.
                    // Should nothing have been taken off, search on past this blank line, so
                    // the loop always moves on (a hostile origin must not make it spin).
                    Ok(None) => {
                        let dropped = before - self.buf.len();
                        self.head_bytes += dropped;
                        self.scanned = if dropped == 0 { end + 2 } else { 0 };
                    }
                    Ok(Some(head)) => {
                        self.head_bytes += before - self.buf.len();
                        self.scanned = 0;
                        if !head.is_interim() {
                            return Poll::Ready(Ok(head));
                        }
                        interim(head.status, &head.headers);
                    }
                }
                continue;
            }
            self.scanned = self.buf.len();
            if self.head_bytes + self.buf.len() > limit {
                self.head_bytes += self.buf.len();
                return Poll::Ready(Err(HeadFailure::Head(HeadError::TooLarge)));
            }
            let room = (limit + HEAD_SLACK).saturating_sub(self.head_bytes + self.buf.len());
            let read = ready!(self.poll_read(cx, room.max(1)));
            match read {
                Ok(0) => {
                    self.head_bytes += self.buf.len();
                    self.reusable = false;
                    let failure = match self.write_error.take() {
                        Some(e) if self.head_bytes == 0 => HeadFailure::Io(e),
                        _ => HeadFailure::Closed,
                    };
                    return Poll::Ready(Err(failure));
                }
                Ok(_) => {}
                Err(e) => {
                    self.head_bytes += self.buf.len();
                    self.reusable = false;
                    return Poll::Ready(Err(HeadFailure::Io(e)));
                }
            }
        }
    }

    /// The next frame of the response body, writing any request body left on the way.
    pub fn poll_body(
        &mut self,
        cx: &mut Context<'_>,
        decoder: &mut Decoder,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyFault>>> {
        if self.upload.is_some() {
            // Done, failed or waiting: the response comes anyway, and a failed upload already
            // made the connection unfit for reuse.
            let _ = self.poll_upload(cx);
        }
        loop {
            match decoder.decode(&mut self.buf) {
                Err(e) => {
                    self.reusable = false;
                    return Poll::Ready(Some(Err(BodyFault::Framing(e))));
                }
                Ok(Decoded::Frame(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(Decoded::End) => return Poll::Ready(None),
                Ok(Decoded::More) => {}
            }
            let want = decoder.wants(self.read_size);
            match ready!(self.poll_read(cx, want.max(1))) {
                Ok(0) => {
                    self.reusable = false;
                    return match decoder.at_eof() {
                        Ok(()) => Poll::Ready(None),
                        Err(e) => Poll::Ready(Some(Err(BodyFault::Framing(e)))),
                    };
                }
                Ok(n) => {
                    if n >= self.read_size {
                        self.read_size = (self.read_size * 2).min(MAX_BODY_READ);
                    }
                }
                Err(e) => {
                    self.reusable = false;
                    return Poll::Ready(Some(Err(BodyFault::Io(e))));
                }
            }
        }
    }

    /// Reads at most `want` more bytes into the buffer: how many (0 at the end of stream).
    fn poll_read(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<usize>> {
        if self.buf.capacity() == 0 {
            // Nothing buffered: read into the stack, so a wait holds no buffer.
            let mut stack = [0u8; FIRST_READ];
            let mut read = ReadBuf::new(&mut stack[..want.min(FIRST_READ)]);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut read))?;
            self.buf.extend_from_slice(read.filled());
            return Poll::Ready(Ok(read.filled().len()));
        }
        self.buf.reserve(want);
        let before = self.buf.len();
        let mut limited = (&mut self.buf).limit(want);
        ready!(tokio_util::io::poll_read_buf(
            Pin::new(&mut self.io),
            cx,
            &mut limited
        ))?;
        Poll::Ready(Ok(self.buf.len() - before))
    }

    /// Marks the connection unfit for another request.
    pub fn close_after(&mut self) {
        self.reusable = false;
    }

    /// Whether the connection may carry another request now: the response was read to its
    /// end, the request wholly written, and nothing more arrived.
    pub fn is_reusable(&self) -> bool {
        self.reusable && self.upload.is_none() && self.buf.is_empty()
    }

    /// Frees the read buffer of an idle connection.
    pub fn idle(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
        }
        self.read_size = BODY_READ;
    }

    /// Whether an idle connection is still open: the origin neither closed it nor sent
    /// anything unasked (either makes it unusable). Looks without waiting.
    pub fn is_open(&mut self) -> bool {
        if !self.is_reusable() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut probe = [0u8; 1];
        let mut read = ReadBuf::new(&mut probe);
        let open = Pin::new(&mut self.io)
            .poll_read(&mut cx, &mut read)
            .is_pending();
        if !open {
            self.reusable = false;
        }
        open
    }

    /// The connection after a `101 Switching Protocols`: its socket, and the bytes already
    /// read past the head.
    pub fn into_upgraded(self) -> Upgraded {
        Upgraded::new(self.io, self.buf.freeze(), self._open)
    }
}

/// Why a response body broke off.
#[derive(Debug, thiserror::Error)]
pub enum BodyFault {
    /// The bytes break the body's framing, or the connection closed before its end.
    #[error(transparent)]
    Framing(BodyError),
    /// The origin socket failed.
    #[error(transparent)]
    Io(io::Error),
}

/// A write failure that ends the exchange at once, whatever the origin might still say:
/// a write stalled for the write timeout, or bytes unacknowledged for the ack timeout.
fn is_fatal(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::TimedOut || WriteStalled::is_in(e)
}
