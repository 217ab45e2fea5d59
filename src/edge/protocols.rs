//! Which HTTP a visitor speaks, and the hyper connection that serves it. edgecase tells
//! HTTP/1.x from h2 itself, by peeking at the first bytes (plain) or by ALPN (TLS), and hands
//! the stream to hyper's HTTP/1.1 or h2 server directly.
//!
//! hyper-util's `auto` server does the same by reading the first 24 bytes and replaying them
//! to hyper, but hyper's first read then gets only those 24 bytes, and its second one doubles
//! the 8 KiB read buffer to 16 KiB: 8 KiB more for every visitor connection, idle or held.
//!
//! Shutdown is edgecase's own too ([`Closing`]): hyper-util's graceful watcher does not take an
//! HTTP/1.1 connection with upgrades (WebSockets).

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::config::VisitorLimits;

/// The client connection preface every h2 connection starts with (RFC 9113 §3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How long to wait first for more of a preface that arrived in pieces (rare: clients send it
/// in one write); each wait doubles, up to [`PREFACE_PIECES_MAX_WAIT`].
const PREFACE_PIECES_WAIT: Duration = Duration::from_millis(1);
/// The longest wait between two looks at a preface still in pieces: a visitor that sends "PR"
/// and stops costs a few wake-ups a second until `client_header_timeout`, not a thousand.
const PREFACE_PIECES_MAX_WAIT: Duration = Duration::from_millis(100);

/// The two protocols a visitor connection may speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.0 or HTTP/1.1.
    Http1,
    /// h2 (h2c on the plain port).
    Http2,
}

impl Protocol {
    /// What the first bytes of a connection say; `None` while they could still be either
    /// (a prefix of the h2 preface shorter than its first four bytes).
    pub fn of_first_bytes(bytes: &[u8]) -> Option<Protocol> {
        let n = bytes.len().min(H2_PREFACE.len());
        if bytes[..n] != H2_PREFACE[..n] {
            return Some(Protocol::Http1);
        }
        // "PRI " is no HTTP/1.1 method a server would serve: four bytes decide.
        (n >= 4).then_some(Protocol::Http2)
    }

    /// Waits for a plain visitor's first bytes and reads the protocol from them, without
    /// consuming anything. `Ok(None)`: the visitor closed without sending a byte.
    pub async fn sniff(stream: &TcpStream) -> io::Result<Option<Protocol>> {
        let mut first = [0u8; 24];
        let mut wait = PREFACE_PIECES_WAIT;
        loop {
            let n = stream.peek(&mut first).await?;
            if n == 0 {
                return Ok(None);
            }
            if let Some(protocol) = Protocol::of_first_bytes(&first[..n]) {
                return Ok(Some(protocol));
            }
            // A visitor that closed its side after a prefix of the preface sends no more, so it
            // is not h2: HTTP/1.1 reads what came, as it would any request cut short. (Found by
            // the `visitor_request` fuzz target: "P" and a FIN waited out the header timeout.)
            if stream.ready(Interest::READABLE).await?.is_read_closed() {
                return Ok(Some(Protocol::Http1));
            }
            // The same bytes would be peeked again at once: give the rest time to arrive.
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(PREFACE_PIECES_MAX_WAIT);
        }
    }
}

/// The hyper servers every visitor connection is built from.
#[derive(Clone, Debug)]
pub struct Servers {
    /// HTTP/1.1: `[limits] client_header_timeout` and a read buffer large enough for a head
    /// one byte over `request_header_bytes` (so edgecase, not hyper, answers it as Cloudflare
    /// does).
    pub http1: http1::Builder,
    /// h2: the stream limit and hyper's rapid-reset guards (CVE-2023-44487).
    pub http2: http2::Builder<TokioExecutor>,
}

impl Servers {
    /// The servers for `limits`.
    pub fn new(limits: &VisitorLimits) -> Self {
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(limits.client_header_timeout)
            .max_buf_size((limits.request_header_bytes + HEAD_BUFFER_SLACK).max(MIN_READ_BUFFER));
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.h2_max_concurrent_streams)
            .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
            .max_local_error_reset_streams(H2_MAX_LOCAL_ERROR_RESETS)
            .max_header_list_size(
                u32::try_from(limits.request_header_bytes + HEAD_BUFFER_SLACK).unwrap_or(u32::MAX),
            );
        Servers { http1, http2 }
    }
}

/// Read buffer beyond `request_header_bytes`: heads up to this much over the limit are read
/// whole and refused by edgecase with Cloudflare's answer; longer ones hit hyper's own 431.
const HEAD_BUFFER_SLACK: usize = 64 * 1024;
/// hyper's smallest allowed HTTP/1.1 read buffer.
const MIN_READ_BUFFER: usize = 8 * 1024;
/// Streams an h2 visitor may reset before the server accepted them, before the connection is
/// closed (the rapid-reset guard; hyper's default).
const H2_MAX_PENDING_RESETS: usize = 20;
/// Streams the server may reset because of the visitor's protocol errors, per connection.
const H2_MAX_LOCAL_ERROR_RESETS: usize = 1024;

/// The edge's shutdown as every connection sees it: once it is announced, each connection
/// finishes the requests it has and closes (HTTP/1.1 after the response in flight, h2 with a
/// GOAWAY).
#[derive(Clone, Debug)]
pub struct Closing(watch::Receiver<bool>);

/// Announces the shutdown to every [`Closing`].
#[derive(Debug)]
pub struct CloseAll(watch::Sender<bool>);

impl CloseAll {
    /// A new announcer and the first of its receivers.
    pub fn new() -> (CloseAll, Closing) {
        let (tx, rx) = watch::channel(false);
        (CloseAll(tx), Closing(rx))
    }

    /// Tells every connection to finish up.
    pub fn announce(&self) {
        self.0.send_replace(true);
    }
}

impl Closing {
    /// Runs `step` (waiting for a visitor's first bytes, its TLS handshake) unless the
    /// shutdown is announced first: `None` then, and the connection is simply dropped, since
    /// it has no request yet.
    pub async fn unless_closing<T>(&mut self, step: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            outcome = step => Some(outcome),
            _ = self.0.wait_for(|closing| *closing) => None,
        }
    }

    /// Drives `connection` to its end; once the shutdown is announced, calls `finish_up` on
    /// it (hyper's `graceful_shutdown`) and lets it end by itself.
    pub async fn serve<C, E>(mut self, connection: C, finish_up: fn(Pin<&mut C>))
    where
        C: Future<Output = Result<(), E>>,
    {
        let mut connection = pin!(connection);
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = self.0.wait_for(|closing| *closing) => finish_up(connection.as_mut()),
        }
        let _ = connection.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_tell_the_protocol() {
        assert_eq!(
            Protocol::of_first_bytes(b"GET / HTTP/1.1\r\n"),
            Some(Protocol::Http1)
        );
        assert_eq!(Protocol::of_first_bytes(b"POST"), Some(Protocol::Http1));
        assert_eq!(
            Protocol::of_first_bytes(b"P"),
            None,
            "could still be the preface"
        );
        assert_eq!(Protocol::of_first_bytes(b"PR"), None);
        assert_eq!(Protocol::of_first_bytes(b"PRI "), Some(Protocol::Http2));
        assert_eq!(Protocol::of_first_bytes(H2_PREFACE), Some(Protocol::Http2));
        assert_eq!(Protocol::of_first_bytes(b"PRO"), Some(Protocol::Http1));
        assert_eq!(
            Protocol::of_first_bytes(b"\x16\x03\x01"),
            Some(Protocol::Http1)
        );
    }

    #[tokio::test]
    async fn a_preface_in_pieces_is_waited_for() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"PR").await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
            stream.write_all(&H2_PREFACE[2..]).await.unwrap();
            stream
        });
        let (server, _) = listener.accept().await.unwrap();
        let protocol = tokio::time::timeout(Duration::from_secs(5), Protocol::sniff(&server));
        assert_eq!(protocol.await.unwrap().unwrap(), Some(Protocol::Http2));
        drop(client.await.unwrap());
    }

    #[tokio::test]
    async fn a_visitor_that_closes_at_once_is_no_protocol() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(TcpStream::connect(addr).await.unwrap());
        let (server, _) = listener.accept().await.unwrap();
        assert_eq!(Protocol::sniff(&server).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_connection_without_a_request_yet_is_dropped_at_shutdown() {
        let (close_all, mut closing) = CloseAll::new();
        close_all.announce();
        let step = closing.unless_closing(std::future::pending::<()>());
        let outcome = tokio::time::timeout(Duration::from_secs(5), step).await;
        assert_eq!(outcome.expect("not held until the step ends"), None);
    }
}
