//! [`AckClock`]: `timeouts.ack` kept on time. The kernel's own guard (TCP_USER_TIMEOUT, set in
//! `connect`) is checked on its retransmission and zero-window-probe timers, which back off
//! from 200 ms: against an origin that stops reading, it fired 270-420 ms after a 1 s timeout.
//! This clock looks at the socket itself when the timeout is due, so the 522 comes on time;
//! TCP_USER_TIMEOUT stays as the backstop (and the guard where this clock cannot look).
//!
//! The clock starts with the first request bytes handed to the kernel. When it is due, it asks
//! the kernel how many bytes are still unacknowledged (`SIOCOUTQ`):
//! - none: everything was acknowledged; the clock stops until the next write;
//! - some, and the origin acknowledged nothing since the clock started, or its window is
//!   closed (bytes wait to be sent and none are in flight): the request fails. A window that
//!   closed after some progress counts from the clock's start, where the kernel would count
//!   from its first probe; Cloudflare's "did not acknowledge the request" reads the same;
//! - some, but acknowledgements moved on (a large upload on a slow link): the clock starts
//!   again from now.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// The raw socket under the origin stream (TLS included), where the kernel can be asked.
#[cfg(target_os = "linux")]
pub type SocketFd = std::os::fd::RawFd;
/// The raw socket under the origin stream; unused where the clock cannot look.
#[cfg(not(target_os = "linux"))]
pub type SocketFd = i32;

/// The socket under a connection, for [`AckClock::new`]: `None` where the clock cannot look
/// (off Linux). The stream that owns it must outlive the clock: both live in one `OriginIo`.
pub fn socket_fd(stream: &tokio::net::TcpStream) -> Option<SocketFd> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        Some(stream.as_raw_fd())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = stream;
        None
    }
}

/// Fires once request bytes have stayed unacknowledged for the ack timeout.
#[derive(Debug)]
pub struct AckClock {
    /// The socket to ask; `None` leaves the ack timeout to the kernel alone.
    fd: Option<SocketFd>,
    limit: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    running: bool,
    /// Bytes handed to the kernel so far.
    written: u64,
    /// Bytes acknowledged when the clock (re)started: `written` minus the unacknowledged.
    acked_at_start: u64,
}

impl AckClock {
    /// A clock on `fd` allowing `limit` without acknowledgement. The caller keeps `fd` open
    /// for as long as the clock lives (it owns the stream the clock watches).
    pub fn new(fd: Option<SocketFd>, limit: Duration) -> Self {
        AckClock {
            fd,
            limit,
            sleep: None,
            running: false,
            written: 0,
            acked_at_start: 0,
        }
    }

    /// `n` more bytes went to the kernel: starts the clock if it is not running.
    pub fn wrote(&mut self, n: usize) {
        if self.fd.is_none() {
            return;
        }
        self.written += n as u64;
        if self.running {
            return;
        }
        // A stopped clock saw everything acknowledged (or nothing written yet), and every
        // write since would have started it: all bytes before these `n` are acknowledged, so
        // starting costs no system call.
        self.running = true;
        self.acked_at_start = self.written - n as u64;
        let deadline = Instant::now() + self.limit;
        match &mut self.sleep {
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }

    /// Ready once bytes have gone unacknowledged for the limit; pending otherwise (with the
    /// task woken when the clock is next due).
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let (Some(fd), true) = (self.fd, self.running) else {
            return Poll::Pending;
        };
        loop {
            let Some(sleep) = self.sleep.as_mut() else {
                return Poll::Pending;
            };
            ready!(sleep.as_mut().poll(cx));
            let Some(state) = socket_state(fd) else {
                // The kernel cannot tell: leave it to TCP_USER_TIMEOUT.
                self.running = false;
                return Poll::Pending;
            };
            if state.unacked == 0 {
                self.running = false;
                return Poll::Pending;
            }
            let acked = self.written.saturating_sub(state.unacked);
            if acked == self.acked_at_start || state.window_closed() {
                return Poll::Ready(());
            }
            self.acked_at_start = acked;
            let deadline = Instant::now() + self.limit;
            sleep.as_mut().reset(deadline);
        }
    }
}

/// What the kernel says about the sending side of a socket.
#[derive(Clone, Copy, Debug)]
struct SocketState {
    /// Bytes written but not yet acknowledged (sent or not).
    unacked: u64,
    /// Bytes written but not yet sent.
    unsent: u64,
}

impl SocketState {
    /// Bytes wait to be sent and none are in flight: the peer's window is closed.
    fn window_closed(&self) -> bool {
        self.unsent > 0 && self.unacked <= self.unsent
    }
}

#[cfg(target_os = "linux")]
fn socket_state(fd: SocketFd) -> Option<SocketState> {
    /// Bytes in the send queue not yet sent (Linux's SIOCOUTQNSD).
    const SIOCOUTQNSD: libc::Ioctl = 0x894B;
    let queued = |request: libc::Ioctl| {
        let mut bytes: libc::c_int = 0;
        // SAFETY: both requests write one c_int through the pointer, which points at a live
        // local; `fd` is a socket the caller keeps open.
        let rc = unsafe { libc::ioctl(fd, request, &mut bytes) };
        (rc == 0).then(|| u64::try_from(bytes).unwrap_or(0))
    };
    Some(SocketState {
        // SIOCOUTQ: written but not yet acknowledged.
        unacked: queued(libc::TIOCOUTQ)?,
        unsent: queued(SIOCOUTQNSD)?,
    })
}

#[cfg(not(target_os = "linux"))]
fn socket_state(_fd: SocketFd) -> Option<SocketState> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_closed_when_bytes_wait_and_none_are_in_flight() {
        let state = |unacked, unsent| SocketState { unacked, unsent };
        assert!(state(1000, 1000).window_closed());
        assert!(!state(1000, 400).window_closed(), "600 bytes in flight");
        assert!(!state(0, 0).window_closed());
        assert!(!state(500, 0).window_closed(), "all sent, awaiting acks");
    }

    #[tokio::test]
    async fn a_clock_without_a_socket_never_fires() {
        let mut clock = AckClock::new(None, Duration::from_millis(1));
        clock.wrote(100);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let fired = std::future::poll_fn(|cx| Poll::Ready(clock.poll_expired(cx))).await;
        assert!(fired.is_pending());
    }
}
