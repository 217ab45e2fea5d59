//! [`OriginIo`]: the origin socket as hyper sees it, with two watches kept on the bytes.
//!
//! - It counts response-head bytes as they arrive and fails the read once the head grows past
//!   `limits.origin_header_bytes` (a read-buffer cap is not a header limit: an origin trickling
//!   an endless head must get its 520 as soon as it crosses the limit).
//! - It times writes: a write that makes no progress for `timeouts.write` fails with
//!   [`WriteStalled`].
//! - It keeps `timeouts.ack` on time ([`AckClock`]): request bytes unacknowledged that long
//!   fail the connection as the kernel's TCP_USER_TIMEOUT would, only without its lateness.
//!
//! It does not classify anything; `origin::exchange` reads these markers back out of hyper's
//! errors.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::origin::ack::AckClock;
use crate::origin::stall::StallTimer;

/// Marker error: the response head grew past the limit.
#[derive(Debug, thiserror::Error)]
#[error("response head over {limit} bytes")]
pub struct HeadTooLarge {
    /// The limit, in bytes.
    pub limit: usize,
}

/// Marker error: a write made no progress for the write timeout.
#[derive(Debug, thiserror::Error)]
#[error("write to the origin made no progress for {after:?}")]
pub struct WriteStalled {
    /// The write timeout in force.
    pub after: Duration,
}

/// A fault rule's cut of the origin link (`emulation`): the connection reads as closed before
/// the response head, or is reset after a number of response bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Reads see the end of the stream at once.
    Eof,
    /// Reads deliver this many more bytes, then fail as a reset.
    ResetAfter(u64),
}

/// What the exchange and the IO wrapper share about the current response head.
#[derive(Debug, Default)]
pub struct HeadMeter {
    /// Set by the exchange before each request: the next bytes read start a new head.
    rearm: AtomicBool,
    /// Head bytes seen since the last rearm (published by the reader).
    seen: AtomicUsize,
}

impl HeadMeter {
    /// Marks the start of a new request: the next bytes read start a response head.
    pub fn rearm(&self) {
        self.seen.store(0, Ordering::Relaxed);
        self.rearm.store(true, Ordering::Release);
    }

    /// How many response-head bytes arrived since the last [`HeadMeter::rearm`].
    pub fn seen(&self) -> usize {
        self.seen.load(Ordering::Relaxed)
    }
}

/// Where the reader is in the response stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reading a head: counting bytes and looking for the blank line.
    Head,
    /// Past the head: bytes are body, not counted.
    Body,
}

const BLANK_LINE: u32 = u32::from_be_bytes(*b"\r\n\r\n");

/// The origin socket with the head meter and the write-stall timer.
#[derive(Debug)]
pub struct OriginIo<S> {
    inner: S,
    meter: Arc<HeadMeter>,
    head_limit: usize,
    phase: Phase,
    /// Head bytes counted since the request was sent (interim 1xx heads included).
    head_bytes: usize,
    /// Bytes of the current head alone, to place `status_line` bytes.
    this_head: usize,
    /// The last four bytes seen, to find the blank line across reads.
    tail: u32,
    /// The first bytes of the current head: "HTTP/1.1 1" marks an interim 1xx response.
    status_line: [u8; 12],
    /// Fires when a pending write has made no progress for the write timeout.
    stall: StallTimer,
    /// A fault rule's cut, if any.
    cut: Option<Cut>,
    /// Whether request bytes went out: a cut acts on the response, so only after that.
    wrote: bool,
    /// `timeouts.ack`, on time.
    ack: AckClock,
}

impl<S> OriginIo<S> {
    /// Wraps `inner`, counting heads against `head_limit` bytes and timing write stalls.
    pub fn new(
        inner: S,
        meter: Arc<HeadMeter>,
        head_limit: usize,
        write_timeout: Duration,
    ) -> Self {
        OriginIo {
            inner,
            meter,
            head_limit,
            phase: Phase::Head,
            head_bytes: 0,
            this_head: 0,
            tail: 0,
            status_line: [0; 12],
            stall: StallTimer::new(write_timeout),
            cut: None,
            wrote: false,
            ack: AckClock::new(None, Duration::MAX),
        }
    }

    /// The same, with request bytes left unacknowledged for `clock`'s limit failing the
    /// connection (an `io::ErrorKind::TimedOut`, as TCP_USER_TIMEOUT's own).
    pub fn with_ack_clock(mut self, clock: AckClock) -> Self {
        self.ack = clock;
        self
    }

    /// The same, with the link cut as a fault rule asks.
    pub fn with_cut(mut self, cut: Option<Cut>) -> Self {
        self.cut = cut;
        self
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Counts freshly read `bytes`; fails once the head is over the limit.
    fn count_head(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if self.meter.rearm.swap(false, Ordering::Acquire) {
            self.phase = Phase::Head;
            self.head_bytes = 0;
            self.start_next_head();
        }
        while self.phase == Phase::Head && !bytes.is_empty() {
            let mut consumed = bytes.len();
            for (i, &byte) in bytes.iter().enumerate() {
                if let Some(slot) = self.status_line.get_mut(self.this_head + i) {
                    *slot = byte;
                }
                self.tail = (self.tail << 8) | u32::from(byte);
                if self.tail == BLANK_LINE {
                    consumed = i + 1;
                    break;
                }
            }
            self.head_bytes += consumed;
            self.this_head += consumed;
            self.meter.seen.store(self.head_bytes, Ordering::Relaxed);
            if self.head_bytes > self.head_limit {
                let limit = self.head_limit;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    HeadTooLarge { limit },
                ));
            }
            if self.tail == BLANK_LINE {
                if self.is_interim() {
                    // A 1xx head (not 101) is followed by the real one, which keeps counting
                    // towards the same limit.
                    self.start_next_head();
                } else {
                    self.phase = Phase::Body;
                }
            }
            bytes = &bytes[consumed..];
        }
        Ok(())
    }

    fn start_next_head(&mut self) {
        self.this_head = 0;
        self.tail = 0;
        self.status_line = [0; 12];
    }

    /// Whether the head just completed is an interim 1xx response other than 101.
    fn is_interim(&self) -> bool {
        let line = &self.status_line;
        line.starts_with(b"HTTP/1.") && line[9] == b'1' && &line[9..12] != b"101"
    }

    /// Maps the inner write's outcome through the stall timer.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match outcome {
            Poll::Pending => {
                if self.ack.poll_expired(cx).is_ready() {
                    return Poll::Ready(Err(unacknowledged()));
                }
                ready!(self.stall.poll_stalled(cx));
                let after = self.stall.limit();
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    WriteStalled { after },
                )))
            }
            done => {
                self.stall.progress();
                if let Poll::Ready(Ok(n @ 1..)) = done {
                    self.wrote = true;
                    self.ack.wrote(n);
                }
                done
            }
        }
    }
}

/// The error of request bytes unacknowledged for `timeouts.ack`: the kind TCP_USER_TIMEOUT's
/// gives, so both are classified alike.
fn unacknowledged() -> io::Error {
    io::Error::from(io::ErrorKind::TimedOut)
}

impl<S: AsyncRead + Unpin> AsyncRead for OriginIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.ack.poll_expired(cx).is_ready() {
            return Poll::Ready(Err(unacknowledged()));
        }
        match this.cut.filter(|_| this.wrote) {
            Some(Cut::Eof) => return Poll::Ready(Ok(())),
            Some(Cut::ResetAfter(0)) => {
                return Poll::Ready(Err(io::Error::from(io::ErrorKind::ConnectionReset)));
            }
            _ => {}
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if let Some(Cut::ResetAfter(left)) = &mut this.cut {
            let got = (buf.filled().len() - before) as u64;
            if got >= *left {
                // Keep only the bytes before the reset point; the next read fails.
                let keep = usize::try_from(*left).unwrap_or(usize::MAX);
                buf.set_filled(before + keep);
                *left = 0;
            } else {
                *left -= got;
            }
        }
        if this.phase == Phase::Head || this.meter.rearm.load(Ordering::Relaxed) {
            this.count_head(&buf.filled()[before..])?;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for OriginIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(cx, outcome)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let outcome = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
