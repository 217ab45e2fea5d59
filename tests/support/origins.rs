//! Scripted origins for the integration tests: each one misbehaves in one real way, at the socket
//! level, on `127.0.0.1:0`.
//!
//! Every constructor binds (and, where the behaviour needs it, listens) before it returns, so the
//! kernel queues connections and no test waits for readiness. An [`Origin`] keeps its sockets and
//! tasks alive until it is dropped; dropping it aborts the accept loop and every connection task.
//!
//! What an origin saw is recorded: accepted connections, and the request heads it read
//! ([`RecordedRequest`]). Tests wait for those events with [`Origin::request_seen`] and
//! [`Origin::connections_seen`], never with a sleep.
//!
//! This module does not start the edge and does not judge its answers; see `support/mod.rs` and
//! `support/visitor.rs`.

#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{
    HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri, Version,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// The `Server` header the HTTP origins send, so tests can check that the edge replaces it.
pub const ORIGIN_SERVER: &str = "test-origin";

/// The longest request head the raw origins read before giving up on a connection, in bytes.
pub const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

/// `SO_RCVBUF` of [`Origin::never_reads`]'s listener, in bytes (the kernel doubles it).
pub const NEVER_READS_RCVBUF_BYTES: u32 = 4096;

/// The `content-length` [`Origin::slow_body`] announces, in bytes.
pub const SLOW_BODY_LENGTH: usize = 1000;

/// Headers sent by [`Origin::ok`], [`Origin::status`] and [`Origin::delayed`].
const DEFAULT_HEADERS: &[(&str, &str)] = &[
    ("content-type", "text/plain; charset=utf-8"),
    ("server", ORIGIN_SERVER),
];

/// One request head as an origin read it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The request method.
    pub method: Method,
    /// The request target as sent (origin-form `/path?query` over HTTP/1.1).
    pub uri: Uri,
    /// The protocol version of the request line (or HTTP/2).
    pub version: Version,
    /// Every header field, in order, repeated names kept.
    pub headers: HeaderMap,
    /// The request body, for the HTTP origins that read it whole ([`Origin::ok`],
    /// [`Origin::status`], [`Origin::with_headers`], [`Origin::delayed`]); empty elsewhere.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The value of header `name` as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What an origin saw, shared between its tasks and the test.
#[derive(Debug)]
struct Log {
    requests: Mutex<Vec<RecordedRequest>>,
    /// How many requests have been recorded.
    requests_seen: watch::Sender<usize>,
    /// How many TCP connections have been accepted.
    connections: watch::Sender<usize>,
}

impl Log {
    fn new() -> Arc<Self> {
        Arc::new(Log {
            requests: Mutex::new(Vec::new()),
            requests_seen: watch::Sender::new(0),
            connections: watch::Sender::new(0),
        })
    }

    fn record(&self, request: RecordedRequest) {
        self.requests
            .lock()
            .expect("no origin task panics while holding the log")
            .push(request);
        self.requests_seen.send_modify(|n| *n += 1);
    }

    /// Records a raw request head if it parses; a head that does not parse is not counted.
    fn record_head(&self, head: &[u8]) -> Option<RecordedRequest> {
        let request = parse_request_head(head)?;
        self.record(request.clone());
        Some(request)
    }
}

/// A scripted origin listening (or deliberately not listening) on `127.0.0.1`.
///
/// Dropping it aborts its tasks and closes its sockets.
#[derive(Debug)]
pub struct Origin {
    addr: SocketAddr,
    log: Arc<Log>,
    /// The accept loop; it owns the connection tasks, so aborting it ends them too.
    task: Option<JoinHandle<()>>,
    /// Sockets kept open for the origin's lifetime (the unlistened port, the blackhole's
    /// listener and the connection filling its queue).
    _held: Vec<Socket>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Origin {
    /// Where the origin is (or is not) listening.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request recorded so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log
            .requests
            .lock()
            .expect("no origin task panics while holding the log")
            .clone()
    }

    /// The most recent recorded request.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.log
            .requests
            .lock()
            .expect("no origin task panics while holding the log")
            .last()
            .cloned()
    }

    /// How many TCP connections the origin has accepted.
    pub fn connections(&self) -> usize {
        *self.log.connections.borrow()
    }

    /// Resolves once the origin has recorded at least one request. The HTTP origins record a
    /// request once its body has been read (except [`Origin::echo_body`]: at its head); the raw
    /// ones as soon as its head has arrived.
    pub async fn request_seen(&self) {
        self.requests_seen(1).await;
    }

    /// Resolves once the origin has recorded at least `n` request heads.
    pub async fn requests_seen(&self, n: usize) {
        let mut seen = self.log.requests_seen.subscribe();
        seen.wait_for(|&count| count >= n)
            .await
            .expect("the log outlives the origin handle");
    }

    /// Resolves once the origin has accepted at least `n` TCP connections.
    pub async fn connections_seen(&self, n: usize) {
        let mut seen = self.log.connections.subscribe();
        seen.wait_for(|&count| count >= n)
            .await
            .expect("the log outlives the origin handle");
    }

    /// A working HTTP/1.1 origin (h2c with prior knowledge too) answering every request with
    /// `200` and `body`, keep-alive on. Reads and records each request with its body.
    pub async fn ok(body: &'static str) -> Origin {
        Self::with_headers(200, DEFAULT_HEADERS, body).await
    }

    /// As [`Origin::ok`], answering `code` (an origin 502/504, a 404 or 503 to pass through).
    pub async fn status(code: u16, body: &'static str) -> Origin {
        Self::with_headers(code, DEFAULT_HEADERS, body).await
    }

    /// As [`Origin::ok`], answering `code` with exactly these headers (plus hyper's `date` and
    /// `content-length`).
    pub async fn with_headers(
        code: u16,
        headers: &'static [(&'static str, &'static str)],
        body: &'static str,
    ) -> Origin {
        let canned = Canned::new(code, headers, body, None);
        Self::serve(move |stream, log| serve_canned(stream, log, canned.clone())).await
    }

    /// As [`Origin::ok`], answering only `delay` after the request body has been read.
    pub async fn delayed(delay: Duration, body: &'static str) -> Origin {
        let canned = Canned::new(200, DEFAULT_HEADERS, body, Some(delay));
        Self::serve(move |stream, log| serve_canned(stream, log, canned.clone())).await
    }

    /// Answers `200` and streams the request body back as it arrives (chunked), to test
    /// streaming uploads. Records the head as soon as it arrives (body left empty).
    pub async fn echo_body() -> Origin {
        Self::serve(serve_echo).await
    }

    /// A port bound on `127.0.0.1` that never listens: a connect is refused at once (RST).
    ///
    /// The socket stays bound while the origin lives, so the port cannot be handed out again.
    pub async fn refusing() -> Origin {
        let socket = loopback_socket();
        let addr = local_addr(&socket);
        Origin {
            addr,
            log: Log::new(),
            task: None,
            _held: vec![socket],
        }
    }

    /// A listener (Linux) with `listen(0)` that never accepts and whose accept queue is already
    /// full: further SYNs are dropped, so a connect hangs in `SYN_SENT` until it times out.
    ///
    /// With a backlog of 0 the kernel queues one connection; this constructor makes that one
    /// itself and returns only once the kernel reports it queued (`TCP_INFO` on the listener).
    pub async fn blackhole() -> Origin {
        let listener = loopback_socket();
        listener.listen(0).expect("listen(0) on a fresh socket");
        let addr = local_addr(&listener);
        let filler = TcpStream::connect(addr)
            .await
            .expect("the first connection to an empty queue completes");
        let filler = filler.into_std().expect("deregister the filler connection");
        let mut queued = accept_queue_len(&listener).expect("TCP_INFO on the listener");
        // The handshake's last ACK may still be in the loopback backlog; yield until the kernel
        // has moved the connection to the accept queue.
        for _ in 0..100_000 {
            if queued >= 1 {
                break;
            }
            tokio::task::yield_now().await;
            queued = accept_queue_len(&listener).expect("TCP_INFO on the listener");
        }
        assert!(queued >= 1, "the blackhole's accept queue did not fill");
        Origin {
            addr,
            log: Log::new(),
            task: None,
            _held: vec![listener, Socket::from(filler)],
        }
    }

    /// As [`Origin::ok`], listening on exactly `addr` (another loopback address such as
    /// `127.0.0.2`, port 0 or a given port), for a name that resolves to several addresses.
    pub async fn ok_at(addr: SocketAddr, body: &'static str) -> io::Result<Origin> {
        let listener = TcpListener::bind(addr).await?;
        let canned = Canned::new(200, DEFAULT_HEADERS, body, None);
        Ok(Self::serve_on(listener, move |stream, log| {
            serve_canned(stream, log, canned.clone())
        }))
    }

    /// As [`Origin::refusing`], bound on exactly `addr` (never listening). Fails when `addr`
    /// is taken.
    pub fn refusing_at(addr: SocketAddr) -> io::Result<Origin> {
        let domain = Domain::for_address(addr);
        let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        socket.bind(&SockAddr::from(addr))?;
        Ok(Origin {
            addr,
            log: Log::new(),
            task: None,
            _held: vec![socket],
        })
    }

    /// Accepts, reads and records the request head, then never answers. It keeps reading (and
    /// discarding) whatever follows, so the connection stays open until the peer closes it.
    pub async fn silent() -> Origin {
        Self::serve(|mut stream, log| async move {
            let mut buf = Vec::new();
            if let Some(head) = read_head(&mut stream, &mut buf).await {
                log.record_head(&head);
                drain(&mut stream).await;
            }
        })
        .await
    }

    /// Accepts and never reads a byte, holding the connection open. The listener's `SO_RCVBUF`
    /// is [`NEVER_READS_RCVBUF_BYTES`] (set before listen, inherited by accepted sockets), so a
    /// large request fills the window quickly and the sender's writes stall at zero window.
    ///
    /// Nothing is recorded but the connection: wait with [`Origin::connections_seen`].
    pub async fn never_reads() -> Origin {
        let socket = TcpSocket::new_v4().expect("a TCP socket");
        socket
            .set_recv_buffer_size(NEVER_READS_RCVBUF_BYTES)
            .expect("set SO_RCVBUF before listen");
        socket.bind(loopback_any_port()).expect("bind 127.0.0.1:0");
        let listener = socket.listen(1024).expect("listen");
        Self::serve_on(listener, |stream, _log| async move {
            let _held = stream;
            std::future::pending::<()>().await;
        })
    }

    /// Accepts, reads and records the request head, then closes cleanly (FIN) without sending
    /// a byte. It keeps draining what the peer sends until the peer closes, so the close is
    /// never turned into a reset by unread data.
    pub async fn hangs_up() -> Origin {
        Self::serve(|mut stream, log| async move {
            let mut buf = Vec::new();
            if let Some(head) = read_head(&mut stream, &mut buf).await {
                log.record_head(&head);
                close_cleanly(stream).await;
            }
        })
        .await
    }

    /// Accepts, reads and records the request head, then resets the connection (`SO_LINGER` 0,
    /// then close: RST) without sending a byte.
    pub async fn resets() -> Origin {
        Self::serve(|mut stream, log| async move {
            let mut buf = Vec::new();
            if let Some(head) = read_head(&mut stream, &mut buf).await {
                log.record_head(&head);
                reset(stream);
            }
        })
        .await
    }

    /// Reads and records the request head, writes exactly `bytes`, then closes cleanly (FIN).
    /// See [`raw_headers_of_size`], [`raw_cookies_of_size`], [`GARBAGE`],
    /// [`MALFORMED_STATUS_LINE`] and [`TRUNCATED_HEAD`].
    pub async fn raw(bytes: Vec<u8>) -> Origin {
        let bytes = Bytes::from(bytes);
        Self::serve(move |mut stream, log| {
            let bytes = bytes.clone();
            async move {
                let mut buf = Vec::new();
                if let Some(head) = read_head(&mut stream, &mut buf).await {
                    log.record_head(&head);
                    if stream.write_all(&bytes).await.is_ok() {
                        close_cleanly(stream).await;
                    }
                }
            }
        })
        .await
    }

    /// Reads and records the request head, sends a `200` head announcing
    /// `content-length: 1000` ([`SLOW_BODY_LENGTH`]) and the `first` part of the body, then:
    /// with `then_stall`, never sends another byte and keeps the connection open (mid-body read
    /// timeout); without, closes cleanly (FIN) short of the announced length.
    pub async fn slow_body(first: &'static [u8], then_stall: bool) -> Origin {
        Self::serve(move |mut stream, log| async move {
            if !answer_short(&mut stream, &log, first).await {
                return;
            }
            if then_stall {
                drain(&mut stream).await;
            } else {
                close_cleanly(stream).await;
            }
        })
        .await
    }

    /// As [`Origin::slow_body`], but after the `first` part of the body, resets the connection
    /// (`SO_LINGER` 0, then close: RST) short of the announced length.
    pub async fn resets_mid_body(first: &'static [u8]) -> Origin {
        Self::serve(move |mut stream, log| async move {
            if answer_short(&mut stream, &log, first).await {
                reset(stream);
            }
        })
        .await
    }

    /// A keep-alive origin that answers the first request on each connection (`200`,
    /// `content-length`, `connection: keep-alive`, body [`SECOND_REQUEST_DROPPED_BODY`]) and,
    /// on the second request on that connection, reads and records it, then closes cleanly
    /// without a byte: a pooled keep-alive connection the origin has just closed.
    ///
    /// The first request's body is drained by `content-length` (chunked bodies are not read).
    pub async fn second_request_dropped() -> Origin {
        Self::serve(|mut stream, log| async move {
            let mut buf = Vec::new();
            let Some(head) = read_head(&mut stream, &mut buf).await else {
                return;
            };
            let first = log.record_head(&head);
            let body_len = first
                .as_ref()
                .and_then(|r| r.header("content-length"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if !skip_bytes(&mut stream, &mut buf, body_len).await {
                return;
            }
            let body = SECOND_REQUEST_DROPPED_BODY;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nserver: {ORIGIN_SERVER}\r\n\
                 connection: keep-alive\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(response.as_bytes()).await.is_err() {
                return;
            }
            let Some(head) = read_head(&mut stream, &mut buf).await else {
                return;
            };
            log.record_head(&head);
            close_cleanly(stream).await;
        })
        .await
    }

    /// Binds `127.0.0.1:0` and runs `handle` for every accepted connection.
    async fn serve<H, Fut>(handle: H) -> Origin
    where
        H: Fn(TcpStream, Arc<Log>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind(loopback_any_port())
            .await
            .expect("bind 127.0.0.1:0");
        Self::serve_on(listener, handle)
    }

    /// Runs the accept loop on an already listening `listener`.
    fn serve_on<H, Fut>(listener: TcpListener, handle: H) -> Origin
    where
        H: Fn(TcpStream, Arc<Log>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let log = Log::new();
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            // Owned by the accept loop: aborting the loop drops the set, which aborts these.
            let mut connections = JoinSet::new();
            loop {
                match listener.accept().await {
                    Ok((stream, _peer)) => {
                        task_log.connections.send_modify(|n| *n += 1);
                        connections.spawn(handle(stream, task_log.clone()));
                    }
                    Err(_) => tokio::task::yield_now().await,
                }
                while connections.try_join_next().is_some() {}
            }
        });
        Origin {
            addr,
            log,
            task: Some(task),
            _held: Vec::new(),
        }
    }
}

/// The body [`Origin::second_request_dropped`] sends to each first request.
pub const SECOND_REQUEST_DROPPED_BODY: &str = "first";

/// Bytes that are not HTTP at all.
pub const GARBAGE: &[u8] = b"\x16\x03\x01\x00\xa5garbage, not HTTP\r\n\r\n";

/// A response whose status line is malformed (no status code), with a well-formed rest.
pub const MALFORMED_STATUS_LINE: &[u8] =
    b"HTTP/1.1 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";

/// A response head cut off before its blank line (then the origin closes).
pub const TRUNCATED_HEAD: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/pl";

/// The body sent after the head built by [`raw_headers_of_size`] and [`raw_cookies_of_size`].
pub const SIZED_HEAD_BODY: &[u8] = b"ok";

/// A valid `200` response whose head (status line through the blank line, both included) is
/// exactly `n` bytes, padded by one big `x-fill` header; then the body [`SIZED_HEAD_BODY`].
///
/// Panics if `n` is below the smallest such head.
pub fn raw_headers_of_size(n: usize) -> Vec<u8> {
    let prefix = sized_head_prefix();
    let fixed = prefix.len() + "x-fill: \r\n\r\n".len();
    assert!(
        n > fixed,
        "a head of {n} bytes is too small: at least {} bytes",
        fixed + 1
    );
    let mut head = prefix.into_bytes();
    head.extend_from_slice(b"x-fill: ");
    head.resize(n - 4, b'a');
    head.extend_from_slice(b"\r\n\r\n");
    finish_sized(head, n)
}

/// As [`raw_headers_of_size`], padded with many `set-cookie` headers of about 100 bytes each
/// (the usual way real origins cross the limit).
pub fn raw_cookies_of_size(n: usize) -> Vec<u8> {
    const COOKIE_LINE: usize = 100;
    let prefix = sized_head_prefix();
    // The smallest cookie line: "set-cookie: c0=v\r\n".
    let smallest = "set-cookie: c0=v\r\n".len();
    assert!(
        n >= prefix.len() + smallest + 2,
        "a head of {n} bytes is too small: at least {} bytes",
        prefix.len() + smallest + 2
    );
    let mut head = prefix.into_bytes();
    let mut remaining = n - head.len() - 2;
    let mut index = 0;
    while remaining > 0 {
        let name = format!("set-cookie: c{index}=");
        // Take a full line unless what would be left could not hold a line of its own (the
        // margin of 4 allows for the next index having one more digit).
        let line_len = if remaining >= COOKIE_LINE + name.len() + 4 {
            COOKIE_LINE
        } else {
            remaining
        };
        let value_len = line_len - name.len() - 2;
        head.extend_from_slice(name.as_bytes());
        head.resize(head.len() + value_len, b'v');
        head.extend_from_slice(b"\r\n");
        remaining -= line_len;
        index += 1;
    }
    head.extend_from_slice(b"\r\n");
    finish_sized(head, n)
}

fn sized_head_prefix() -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n",
        SIZED_HEAD_BODY.len()
    )
}

fn finish_sized(mut head: Vec<u8>, n: usize) -> Vec<u8> {
    assert_eq!(head.len(), n, "sized head built to the wrong length");
    head.extend_from_slice(SIZED_HEAD_BODY);
    head
}

/// One canned HTTP answer.
#[derive(Clone, Debug)]
struct Canned {
    status: StatusCode,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    delay: Option<Duration>,
}

impl Canned {
    fn new(
        code: u16,
        headers: &'static [(&'static str, &'static str)],
        body: &'static str,
        delay: Option<Duration>,
    ) -> Arc<Self> {
        let status = StatusCode::from_u16(code).expect("a valid status code");
        Arc::new(Canned {
            status,
            headers,
            body,
            delay,
        })
    }

    fn response(&self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from_static(self.body.as_bytes())));
        *response.status_mut() = self.status;
        for (name, value) in self.headers {
            response.headers_mut().append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        response
    }
}

/// Serves one connection with hyper (HTTP/1.1 keep-alive, or h2c with prior knowledge).
async fn serve_canned(stream: TcpStream, log: Arc<Log>, canned: Arc<Canned>) {
    let service = service_fn(move |request: Request<Incoming>| {
        let log = log.clone();
        let canned = canned.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => Bytes::new(),
            };
            log.record(RecordedRequest {
                method: parts.method,
                uri: parts.uri,
                version: parts.version,
                headers: parts.headers,
                body,
            });
            if let Some(delay) = canned.delay {
                tokio::time::sleep(delay).await;
            }
            Ok::<_, Infallible>(canned.response())
        }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Serves one connection with hyper, streaming each request body back as the response body.
async fn serve_echo(stream: TcpStream, log: Arc<Log>) {
    let service = service_fn(move |request: Request<Incoming>| {
        let log = log.clone();
        async move {
            let (parts, body) = request.into_parts();
            log.record(RecordedRequest {
                method: parts.method,
                uri: parts.uri,
                version: parts.version,
                headers: parts.headers,
                body: Bytes::new(),
            });
            let mut response = Response::new(body);
            response
                .headers_mut()
                .insert("server", HeaderValue::from_static(ORIGIN_SERVER));
            Ok::<_, Infallible>(response)
        }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Reads until a blank line ends a request head and returns the head (blank line included),
/// leaving any bytes after it in `buf`. `None` on EOF, error, or a head over
/// [`MAX_REQUEST_HEAD_BYTES`].
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some(std::mem::replace(buf, rest));
        }
        if buf.len() > MAX_REQUEST_HEAD_BYTES {
            return None;
        }
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Consumes `n` body bytes, first from `buf`, then from `stream`. `false` if the stream ended.
async fn skip_bytes(stream: &mut TcpStream, buf: &mut Vec<u8>, n: usize) -> bool {
    let buffered = n.min(buf.len());
    buf.drain(..buffered);
    let mut left = n - buffered;
    let mut scratch = [0u8; 8192];
    while left > 0 {
        let want = left.min(scratch.len());
        match stream.read(&mut scratch[..want]).await {
            Ok(0) | Err(_) => return false,
            Ok(read) => left -= read,
        }
    }
    true
}

/// Reads and discards until the peer closes (or the connection fails).
async fn drain(stream: &mut TcpStream) {
    let mut scratch = [0u8; 8192];
    while let Ok(1..) = stream.read(&mut scratch).await {}
}

/// Reads and records a request head, then sends a `200` head announcing
/// `content-length: 1000` ([`SLOW_BODY_LENGTH`]) and `first`, the start of that body. False
/// when no head came or the write failed.
async fn answer_short(stream: &mut TcpStream, log: &Log, first: &[u8]) -> bool {
    assert!(
        first.len() < SLOW_BODY_LENGTH,
        "the first part must be short of the body"
    );
    let mut buf = Vec::new();
    let Some(head) = read_head(stream, &mut buf).await else {
        return false;
    };
    log.record_head(&head);
    let mut response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nserver: {ORIGIN_SERVER}\r\n\
         content-length: {SLOW_BODY_LENGTH}\r\n\r\n"
    )
    .into_bytes();
    response.extend_from_slice(first);
    stream.write_all(&response).await.is_ok()
}

/// Sends FIN, then drains until the peer closes: closing with unread data would send RST.
async fn close_cleanly(mut stream: TcpStream) {
    if stream.shutdown().await.is_ok() {
        drain(&mut stream).await;
    }
}

/// Closes with `SO_LINGER` 0, which makes the kernel send RST instead of FIN.
fn reset(stream: TcpStream) {
    if stream.set_zero_linger().is_ok() {
        drop(stream);
    }
}

/// Parses a request head (request line and header fields) as the raw origins read it.
fn parse_request_head(head: &[u8]) -> Option<RecordedRequest> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = Method::from_bytes(request_line.next()?.as_bytes()).ok()?;
    let uri = request_line.next()?.parse::<Uri>().ok()?;
    let version = match request_line.next()? {
        "HTTP/1.0" => Version::HTTP_10,
        "HTTP/1.1" => Version::HTTP_11,
        _ => return None,
    };
    let mut headers = HeaderMap::new();
    for line in lines.take_while(|line| !line.is_empty()) {
        let (name, value) = line.split_once(':')?;
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_str(value.trim()).ok()?,
        );
    }
    Some(RecordedRequest {
        method,
        uri,
        version,
        headers,
        body: Bytes::new(),
    })
}

fn loopback_any_port() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
}

/// A TCP socket bound to `127.0.0.1:0`, not listening.
fn loopback_socket() -> Socket {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).expect("a socket");
    socket
        .bind(&SockAddr::from(loopback_any_port()))
        .expect("bind 127.0.0.1:0");
    socket
}

fn local_addr(socket: &Socket) -> SocketAddr {
    socket
        .local_addr()
        .expect("a bound socket has an address")
        .as_socket()
        .expect("an IPv4 address")
}

/// How many connections wait in a listening socket's accept queue (Linux `TCP_INFO`: for a
/// listener, `tcpi_unacked` is the accept queue length and `tcpi_sacked` its limit).
pub fn accept_queue_len(listener: &Socket) -> io::Result<u32> {
    // SAFETY: tcp_info is plain old data; all zeroes is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: the fd is a live socket owned by `listener`; `info` and `len` describe a
    // writable buffer of the stated size.
    let rc = unsafe {
        libc::getsockopt(
            listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(info.tcpi_unacked)
    } else {
        Err(io::Error::last_os_error())
    }
}
