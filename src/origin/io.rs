//! [`OriginIo`]: the origin socket as the HTTP/1.1 connection uses it, with watches kept on
//! the bytes.
//!
//! - It times writes: a write that makes no progress for `timeouts.write` fails with
//!   [`WriteStalled`].
//! - It keeps `timeouts.ack` on time ([`AckClock`]): request bytes unacknowledged that long
//!   fail the connection as the kernel's TCP_USER_TIMEOUT would, only without its lateness.
//!
//! - It cuts the link as a fault rule asks ([`Cut`]).
//!
//! It does not classify anything; `origin::exchange` reads these markers back out of the
//! errors.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::origin::ack::AckClock;
use crate::origin::stall::StallTimer;

/// Marker error: a write made no progress for the write timeout.
#[derive(Debug, thiserror::Error)]
#[error("write to the origin made no progress for {after:?}")]
pub struct WriteStalled {
    /// The write timeout in force.
    pub after: Duration,
}

impl WriteStalled {
    /// Whether `e` is the error of a stalled write.
    pub fn is_in(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<WriteStalled>())
    }
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

/// The origin socket with the write-stall timer, the ack clock and a fault rule's cut.
#[derive(Debug)]
pub struct OriginIo<S> {
    inner: S,
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
    /// Wraps `inner`, timing write stalls.
    pub fn new(inner: S, write_timeout: Duration) -> Self {
        OriginIo {
            inner,
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
