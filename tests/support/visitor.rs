//! The visitor's side of the integration tests: requests to the edge over real loopback sockets,
//! and the time guard every await in a test sits in.
//!
//! Each request opens a fresh connection (HTTP/1.1, or h2c with prior knowledge), so one test's
//! connection state never leaks into another request. [`raw_exchange`] speaks bytes, to check how
//! a response ended (clean EOF or reset) when HTTP parsing would hide it.
//!
//! This module does not start the edge or any origin; see `support/mod.rs` and
//! `support/origins.rs`.

#![allow(dead_code)]

use std::borrow::Cow;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri, Version, header};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Awaits `fut`, panicking with the caller's location if it takes longer than `limit`.
///
/// Every await on the edge or an origin in a test goes through this (or
/// [`still_pending_after`]), so a regression fails fast and says where.
#[track_caller]
pub fn within<F: IntoFuture>(limit: Duration, fut: F) -> impl Future<Output = F::Output> {
    let caller = Location::caller();
    async move {
        match tokio::time::timeout(limit, fut).await {
            Ok(output) => output,
            Err(_) => panic!("{caller}: did not complete within {limit:?}"),
        }
    }
}

/// Polls `fut` for `limit` and panics (with the caller's location) if it completes: for "the
/// connect hangs", "no byte arrives".
#[track_caller]
pub fn still_pending_after<F: IntoFuture>(limit: Duration, fut: F) -> impl Future<Output = ()> {
    let caller = Location::caller();
    async move {
        if tokio::time::timeout(limit, fut).await.is_ok() {
            panic!("{caller}: completed within {limit:?}, expected it to still be pending");
        }
    }
}

/// A response read to its end (or to the error that cut its body short).
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The protocol version the response came in.
    pub version: Version,
    /// Every header field.
    pub headers: HeaderMap,
    /// The body bytes received (all of them when `body_error` is `None`).
    pub body: Bytes,
    /// Why the body ended early (aborted mid-body), if it did.
    pub body_error: Option<hyper::Error>,
    /// From just before the request was sent (connection already open) until the head arrived.
    pub elapsed: Duration,
}

impl Response {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Every header field.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The value of header `name` as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// A response whose body has not been read yet, from [`send_streaming`].
#[derive(Debug)]
pub struct StreamingResponse {
    /// The head, with the body still on the wire.
    pub response: http::Response<Incoming>,
    /// From just before the request was sent (connection already open) until the head arrived.
    pub elapsed: Duration,
}

/// Why a request got no response head.
#[derive(Debug)]
pub enum VisitorError {
    /// The TCP connect failed.
    Connect(io::Error),
    /// The HTTP handshake on the new connection failed (h2c preface).
    Handshake(hyper::Error),
    /// The request was sent, or tried, and no response head came back.
    Request(hyper::Error),
}

impl fmt::Display for VisitorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connect(_) => f.write_str("visitor could not connect"),
            Self::Handshake(_) => f.write_str("visitor handshake failed"),
            Self::Request(_) => f.write_str("visitor got no response head"),
        }
    }
}

impl StdError for VisitorError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Connect(e) => Some(e),
            Self::Handshake(e) | Self::Request(e) => Some(e),
        }
    }
}

/// `GET path` on a fresh HTTP/1.1 connection, `Host` set to `addr`. Panics if no head arrives.
pub async fn get(addr: SocketAddr, path: &str) -> Response {
    send(addr, empty_request(path, None)).await
}

/// `GET path` on a fresh HTTP/1.1 connection with `Host: host`. Panics if no head arrives.
pub async fn get_with_host(addr: SocketAddr, host: &str, path: &str) -> Response {
    send(addr, empty_request(path, Some(host))).await
}

/// Sends `request` on a fresh HTTP/1.1 connection and reads the whole response. `Host` is set
/// to `addr` when the request has none. Panics if no head arrives (see [`try_send`]).
pub async fn send<B>(addr: SocketAddr, request: Request<B>) -> Response
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    match try_send(addr, request).await {
        Ok(response) => response,
        Err(error) => panic!("expected a response head from {addr}: {error}: {error:?}"),
    }
}

/// As [`send`], returning why no head arrived instead of panicking.
pub async fn try_send<B>(addr: SocketAddr, request: Request<B>) -> Result<Response, VisitorError>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let streaming = send_streaming(addr, request).await?;
    Ok(read_whole(streaming).await)
}

/// Sends `request` on a fresh HTTP/1.1 connection and returns once the head has arrived, with
/// the body left to read (frame by frame, to test streaming). `Host` as in [`send`].
pub async fn send_streaming<B>(
    addr: SocketAddr,
    mut request: Request<B>,
) -> Result<StreamingResponse, VisitorError>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    if !request.headers().contains_key(header::HOST) {
        let host = HeaderValue::from_str(&addr.to_string()).expect("a socket address is ASCII");
        request.headers_mut().insert(header::HOST, host);
    }
    let stream = TcpStream::connect(addr)
        .await
        .map_err(VisitorError::Connect)?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(VisitorError::Handshake)?;
    drive(connection);
    let (response, elapsed) = timed(sender.send_request(request)).await;
    let response = response.map_err(VisitorError::Request)?;
    Ok(StreamingResponse { response, elapsed })
}

/// `GET path` over h2c with prior knowledge on a fresh connection, `:authority` set to `addr`.
/// Panics if no head arrives.
pub async fn get_h2(addr: SocketAddr, path: &str) -> Response {
    match try_send_h2(addr, empty_request(path, None)).await {
        Ok(response) => response,
        Err(error) => panic!("expected an h2 response head from {addr}: {error}: {error:?}"),
    }
}

/// Sends `request` over h2c with prior knowledge on a fresh connection and reads the whole
/// response. An origin-form URI gets scheme `http` and the authority of its `Host` header (which
/// is then removed), or of `addr`.
pub async fn try_send_h2<B>(
    addr: SocketAddr,
    mut request: Request<B>,
) -> Result<Response, VisitorError>
where
    B: Body + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    as_h2(&mut request, "http", || addr.to_string());
    let stream = TcpStream::connect(addr)
        .await
        .map_err(VisitorError::Connect)?;
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(VisitorError::Handshake)?;
    drive(connection);
    let (response, elapsed) = timed(sender.send_request(request)).await;
    let response = response.map_err(VisitorError::Request)?;
    Ok(whole_response(response, elapsed).await)
}

/// Rewrites an origin-form `request` for h2: an absolute `scheme` URI whose authority is the
/// request's `Host` header (then removed) or else `default_authority()`, version HTTP/2.
pub fn as_h2<B>(
    request: &mut Request<B>,
    scheme: &str,
    default_authority: impl FnOnce() -> String,
) {
    if request.uri().scheme().is_none() {
        let authority = match request.headers_mut().remove(header::HOST) {
            Some(host) => host
                .to_str()
                .expect("a Host header a test wrote is ASCII")
                .to_owned(),
            None => default_authority(),
        };
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        *request.uri_mut() = Uri::builder()
            .scheme(scheme)
            .authority(authority)
            .path_and_query(path)
            .build()
            .expect("scheme, authority and path make a URI");
    }
    *request.version_mut() = Version::HTTP_2;
}

/// Drives a client `connection` in the background. Its error, if any, is the one
/// `send_request` or the body reports.
pub fn drive<C>(connection: C)
where
    C: IntoFuture + Send + 'static,
    C::IntoFuture: Send,
    C::Output: Send,
{
    tokio::spawn(async move {
        let _ = connection.await;
    });
}

/// Awaits `sending` (a request sent, its head awaited), and how long that took.
pub async fn timed<F: Future>(sending: F) -> (F::Output, Duration) {
    let started = Instant::now();
    let output = sending.await;
    (output, started.elapsed())
}

/// Reads `body` to its end; returns the bytes received and the error that ended it early, if
/// one did.
pub async fn read_body(mut body: Incoming) -> (Bytes, Option<hyper::Error>) {
    let mut received = BytesMut::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    received.extend_from_slice(data);
                }
            }
            Err(error) => return (received.freeze(), Some(error)),
        }
    }
    (received.freeze(), None)
}

async fn read_whole(streaming: StreamingResponse) -> Response {
    whole_response(streaming.response, streaming.elapsed).await
}

/// `response` with its body read to the end (see [`read_body`]); `elapsed` is how long its
/// head took.
pub async fn whole_response(response: http::Response<Incoming>, elapsed: Duration) -> Response {
    let (parts, body) = response.into_parts();
    let (body, body_error) = read_body(body).await;
    Response {
        status: parts.status,
        version: parts.version,
        headers: parts.headers,
        body,
        body_error,
        elapsed,
    }
}

fn empty_request(path: &str, host: Option<&str>) -> Request<Empty<Bytes>> {
    let mut builder = Request::get(path);
    if let Some(host) = host {
        builder = builder.header(header::HOST, host);
    }
    builder
        .body(Empty::new())
        .expect("a test path makes a valid request")
}

/// A request body the test feeds chunk by chunk; it ends when the sender is dropped.
#[derive(Debug)]
pub struct ChannelBody {
    chunks: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// A streaming request body (sent chunked) and the sender that feeds it; drop the sender to end
/// the body.
pub fn streaming_body() -> (mpsc::Sender<Bytes>, ChannelBody) {
    let (sender, chunks) = mpsc::channel(16);
    (sender, ChannelBody { chunks })
}

/// How a raw exchange ended.
#[derive(Debug)]
pub enum RawEnd {
    /// The peer closed cleanly (FIN): read returned 0.
    CleanEof,
    /// The peer reset the connection (RST).
    Reset,
    /// Any other read error.
    Error(io::Error),
}

/// What came back on a raw connection.
#[derive(Debug)]
pub struct RawOutcome {
    /// Every byte read before the end.
    pub bytes: Vec<u8>,
    /// How the connection ended.
    pub end: RawEnd,
}

impl RawOutcome {
    /// Whether the connection ended with a clean EOF (not a reset or error).
    pub fn is_clean_eof(&self) -> bool {
        matches!(self.end, RawEnd::CleanEof)
    }

    /// The response head (status line through the blank line), if a whole one arrived.
    pub fn head(&self) -> Option<&[u8]> {
        let end = self.bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
        Some(&self.bytes[..end + 4])
    }

    /// The bytes after the head (all bytes if no whole head arrived).
    pub fn body(&self) -> &[u8] {
        let head = self.head().map_or(0, <[u8]>::len);
        &self.bytes[head..]
    }

    /// The status code of the first status line, if it parses.
    pub fn status(&self) -> Option<u16> {
        let line = self.bytes.split(|&b| b == b'\n').next()?;
        let code = line.strip_prefix(b"HTTP/1.")?.get(2..5)?;
        std::str::from_utf8(code).ok()?.parse().ok()
    }
}

/// Connects to `addr`, writes `request` as is and reads until EOF or error. The request should
/// carry `connection: close` when a whole response is expected, or the read waits on a
/// keep-alive connection (wrap the call in [`within`]). A failed write is not reported: the read
/// that follows tells how the connection ended.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> RawOutcome {
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|error| panic!("expected to connect to {addr}: {error}"));
    let _ = stream.write_all(request).await;
    let mut bytes = Vec::new();
    let end = loop {
        match stream.read_buf(&mut bytes).await {
            Ok(0) => break RawEnd::CleanEof,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => break RawEnd::Reset,
            Err(error) => break RawEnd::Error(error),
        }
    };
    RawOutcome { bytes, end }
}
