//! [`Scanned`]: watches the bytes a visitor sends on an HTTP/1.x connection and notes, for each
//! request head in order, whether it carried both `Content-Length` and `Transfer-Encoding`.
//!
//! hyper drops the `Content-Length` of such a request before edgecase sees it (and closes the
//! connection after the response), but Cloudflare answers it 400, as a smuggling attempt. The
//! scanner follows the framing the way the parser does (a fixed-length body, chunks and
//! trailers), so its n-th head is hyper's n-th request. It reads only what hyper reads, keeps
//! a few bytes per line, and stops at anything it does not understand (h2's preface, a line
//! over its cap), after which it notes nothing more.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The most of a line kept to read a header's name and value.
const KEPT: usize = 64;
/// A line longer than this stops the scanner (hyper refuses such a head anyway).
const MAX_LINE: usize = 1024 * 1024;

/// Marks (in its extensions) a request whose head had both `Content-Length` and
/// `Transfer-Encoding`.
#[derive(Clone, Copy, Debug)]
pub struct AmbiguousFraming;

/// What the scanner noted: how many request heads went by, and which one (there is at most
/// one: hyper closes the connection after it) had both framing headers.
#[derive(Debug)]
pub struct Heads {
    seen: AtomicUsize,
    ambiguous: AtomicUsize,
}

impl Default for Heads {
    fn default() -> Self {
        Heads {
            seen: AtomicUsize::new(0),
            ambiguous: AtomicUsize::new(usize::MAX),
        }
    }
}

impl Heads {
    /// Whether head `index` (0 for the connection's first request) had both `Content-Length`
    /// and `Transfer-Encoding`.
    pub fn ambiguous(&self, index: usize) -> bool {
        self.ambiguous.load(Ordering::Acquire) == index
    }

    fn note(&self, ambiguous: bool) {
        let index = self.seen.fetch_add(1, Ordering::AcqRel);
        if ambiguous {
            self.ambiguous.store(index, Ordering::Release);
        }
    }

    #[cfg(test)]
    fn noted(&self) -> Vec<bool> {
        (0..self.seen.load(Ordering::Acquire))
            .map(|i| self.ambiguous(i))
            .collect()
    }
}

/// Where the scanner is in the byte stream.
#[derive(Debug)]
enum State {
    /// In a request head; `seen_line` once the request line is in.
    Head {
        seen_line: bool,
        length: Option<u64>,
        chunked: bool,
    },
    /// In a body of this many more bytes.
    Fixed(u64),
    /// In a chunk-size line.
    ChunkSize,
    /// In chunk data of this many more bytes, then its CRLF.
    ChunkData(u64),
    /// In the line end after chunk data.
    ChunkEnd,
    /// In the trailer section after the last chunk.
    Trailers,
    /// Lost or done: notes nothing more.
    Stopped,
}

const NEW_HEAD: State = State::Head {
    seen_line: false,
    length: None,
    chunked: false,
};

/// The scanner's state across reads.
#[derive(Debug)]
struct Scanner {
    state: State,
    /// The start of the current line (at most [`KEPT`] bytes) and its full length.
    line: Vec<u8>,
    line_len: usize,
    heads: Arc<Heads>,
}

impl Scanner {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match self.state {
                State::Stopped => return,
                State::Fixed(left) | State::ChunkData(left) => {
                    let take = (bytes.len() as u64).min(left) as usize;
                    bytes = &bytes[take..];
                    let left = left - take as u64;
                    self.state = match (&self.state, left) {
                        (State::Fixed(_), 0) => NEW_HEAD,
                        (State::Fixed(_), left) => State::Fixed(left),
                        (_, 0) => State::ChunkEnd,
                        (_, left) => State::ChunkData(left),
                    };
                }
                _ => {
                    let end = bytes.iter().position(|&b| b == b'\n');
                    let (part, rest) = match end {
                        Some(i) => (&bytes[..i], &bytes[i + 1..]),
                        None => (bytes, &[][..]),
                    };
                    let room = KEPT.saturating_sub(self.line.len());
                    self.line.extend_from_slice(&part[..part.len().min(room)]);
                    self.line_len += part.len();
                    bytes = rest;
                    if self.line_len > MAX_LINE {
                        self.state = State::Stopped;
                    } else if end.is_some() {
                        self.end_line();
                        self.line.clear();
                        self.line_len = 0;
                    }
                }
            }
        }
    }

    /// A whole line (without its LF) is in `self.line`.
    fn end_line(&mut self) {
        let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
        let blank = line.is_empty() && self.line_len <= 1;
        self.state = match std::mem::replace(&mut self.state, State::Stopped) {
            State::Head {
                seen_line: false, ..
            } if blank => NEW_HEAD,
            State::Head {
                seen_line: false, ..
            } if line.starts_with(b"PRI * HTTP/2") => State::Stopped,
            State::Head {
                seen_line: false, ..
            } => State::Head {
                seen_line: true,
                length: None,
                chunked: false,
            },
            State::Head {
                length, chunked, ..
            } if blank => {
                let ambiguous = length.is_some() && chunked;
                self.heads.note(ambiguous);
                match (ambiguous, chunked, length) {
                    // hyper closes after such a request: nothing more to follow.
                    (true, _, _) => State::Stopped,
                    (_, true, _) => State::ChunkSize,
                    (_, _, Some(0) | None) => NEW_HEAD,
                    (_, _, Some(n)) => State::Fixed(n),
                }
            }
            State::Head {
                seen_line,
                mut length,
                mut chunked,
            } => {
                let (name, value) = match line.iter().position(|&b| b == b':') {
                    Some(i) => (&line[..i], line[i + 1..].trim_ascii()),
                    None => (line, &[][..]),
                };
                if name.eq_ignore_ascii_case(b"content-length") {
                    match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
                        Some(n) => length = Some(n),
                        // hyper refuses it; the connection ends there.
                        None => return self.state = State::Stopped,
                    }
                } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                    chunked = true;
                }
                State::Head {
                    seen_line,
                    length,
                    chunked,
                }
            }
            State::ChunkSize => {
                let hex = line
                    .split(|&b| b == b';')
                    .next()
                    .unwrap_or(&[])
                    .trim_ascii();
                let size = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u64::from_str_radix(h, 16).ok());
                match size {
                    Some(0) => State::Trailers,
                    Some(n) => State::ChunkData(n),
                    None => State::Stopped,
                }
            }
            State::ChunkEnd => State::ChunkSize,
            State::Trailers if blank => NEW_HEAD,
            State::Trailers => State::Trailers,
            other => other,
        };
    }
}

/// Interim responses (`103 Early Hints`) waiting to go to an HTTP/1.1 visitor ahead of the
/// final response. hyper's server cannot send a 1xx of its own choosing, so they are written
/// under it, at the stream: hyper writes nothing while the request's service runs, and flushes
/// the stream whenever its connection task is woken, which [`Interim::send`] does.
#[derive(Debug, Default)]
pub struct Interim {
    pending: std::sync::Mutex<(Vec<u8>, Option<std::task::Waker>)>,
}

impl Interim {
    /// Queues `head` (a whole `HTTP/1.1 1xx` head, blank line included) for the visitor.
    pub fn send(&self, head: &[u8]) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.0.extend_from_slice(head);
        if let Some(waker) = pending.1.take() {
            waker.wake();
        }
    }

    /// Writes what is queued to `inner`; ready once nothing is left.
    fn drain<S: AsyncWrite + Unpin>(
        &self,
        inner: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.1 = Some(cx.waker().clone());
        while !pending.0.is_empty() {
            match Pin::new(&mut *inner).poll_write(cx, &pending.0) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    pending.0.drain(..n);
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// A visitor stream whose incoming bytes go through the scanner on their way to hyper, and
/// whose outgoing side can carry [`Interim`] responses ahead of hyper's.
pub struct Scanned<S> {
    inner: S,
    scanner: Scanner,
    interim: Arc<Interim>,
}

impl<S> Scanned<S> {
    /// Wraps `inner`; what it notes goes to `heads`, and what `interim` queues goes out first.
    pub fn new(inner: S, heads: Arc<Heads>, interim: Arc<Interim>) -> Self {
        Scanned {
            inner,
            interim,
            scanner: Scanner {
                state: NEW_HEAD,
                line: Vec::new(),
                line_len: 0,
                heads,
            },
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Scanned<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.scanner.feed(&buf.filled()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Scanned<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.interim.drain(&mut this.inner, cx))?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.interim.drain(&mut this.inner, cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.interim.drain(&mut this.inner, cx))?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Vec<bool> {
        let heads = Arc::new(Heads::default());
        let mut scanner = Scanner {
            state: NEW_HEAD,
            line: Vec::new(),
            line_len: 0,
            heads: heads.clone(),
        };
        for chunk in chunks {
            scanner.feed(chunk);
        }
        heads.noted()
    }

    #[test]
    fn heads_are_noted_in_order_across_bodies() {
        let stream = b"GET /a HTTP/1.1\r\nhost: x\r\n\r\n\
            POST /b HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello\
            POST /c HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n\
            POST /d HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(scan(&[stream]), [false, false, false, true]);
        // The same bytes one at a time.
        let single: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(scan(&single), [false, false, false, true]);
    }

    #[test]
    fn a_body_that_looks_like_a_head_is_not_a_head() {
        let body = b"GET /x HTTP/1.1\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n";
        let mut stream =
            format!("POST /a HTTP/1.1\r\ncontent-length: {}\r\n\r\n", body.len()).into_bytes();
        stream.extend_from_slice(body);
        stream.extend_from_slice(b"GET /b HTTP/1.1\r\n\r\n");
        assert_eq!(scan(&[&stream]), [false, false]);
    }

    #[test]
    fn h2_and_nonsense_stop_the_scanner() {
        assert!(scan(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"]).is_empty());
        let bad = b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert_eq!(scan(&[bad]), [false]);
    }
}
