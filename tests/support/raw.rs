//! Raw-socket helpers for the hostile-visitor tests: a [`RecordingOrigin`] that keeps every byte
//! it receives and frames requests itself, a [`RawVisitor`] that writes exact bytes and reads
//! one response at a time, and [`TomlConfig`], the test config built from TOML text so that keys
//! the `Config` struct has no field for yet still reach the parser.
//!
//! This module does not judge the edge's answers (the test files do) and does not start the
//! edge (see `support/mod.rs`).

#![allow(dead_code)]

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use edgecase::config::Config;

use super::visitor::{RawEnd, RawOutcome};
use super::{ACK_MS, CONNECT_MS, READ_MS, WRITE_MS, bind_loopback};

/// The longest request head the recording origin reads, in bytes: far above any limit the
/// tests configure, so the origin never refuses what the edge forwards.
pub const ORIGIN_HEAD_LIMIT_BYTES: usize = 1024 * 1024;

/// The body of the recording origin's answer.
pub const ORIGIN_BODY: &str = "ok";

/// The test config of [`super::test_config`] (static DNS, test timeouts, no access log) as
/// TOML text, with a profile, `[limits]` keys and `[dns] hosts` entries added.
#[derive(Clone, Debug)]
pub struct TomlConfig {
    origin: SocketAddr,
    profile: Option<String>,
    limits: Vec<String>,
    hosts: Vec<(String, String)>,
}

impl TomlConfig {
    /// The plain test config forwarding to `origin`.
    pub fn new(origin: SocketAddr) -> Self {
        TomlConfig {
            origin,
            profile: None,
            limits: Vec::new(),
            hosts: Vec::new(),
        }
    }

    /// Sets `[timeouts] profile` (`"classic"` or `"current"`).
    pub fn profile(mut self, name: &str) -> Self {
        self.profile = Some(name.to_owned());
        self
    }

    /// Adds one `[limits]` line, e.g. `request_header_bytes = 2048`.
    pub fn limit(mut self, line: &str) -> Self {
        self.limits.push(line.to_owned());
        self
    }

    /// Adds a `[dns] hosts` entry: `name` resolves to `ip`.
    pub fn host(mut self, name: &str, ip: &str) -> Self {
        self.hosts.push((name.to_owned(), ip.to_owned()));
        self
    }

    /// The config file's text.
    pub fn text(&self) -> String {
        let origin = self.origin;
        let profile = self
            .profile
            .as_ref()
            .map(|name| format!("profile = \"{name}\"\n"))
            .unwrap_or_default();
        let limits: String = self.limits.iter().map(|line| format!("{line}\n")).collect();
        let hosts = self
            .hosts
            .iter()
            .map(|(name, ip)| format!("\"{name}\" = \"{ip}\""))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "[edge]\nlisten = \"127.0.0.1:0\"\nshutdown_grace = \"2s\"\n\
             [origin]\naddress = \"{origin}\"\n\
             [timeouts]\n{profile}connect = \"{CONNECT_MS}ms\"\nack = \"{ACK_MS}ms\"\n\
             write = \"{WRITE_MS}ms\"\nread = \"{READ_MS}ms\"\n\
             [limits]\n{limits}\
             [dns]\nsystem = false\nhosts = {{ {hosts} }}\n\
             [log]\naccess = \"off\"\n"
        )
    }

    /// Parses [`TomlConfig::text`]; panics with the config's problems if it is refused.
    #[track_caller]
    pub fn build(&self) -> Config {
        let text = self.text();
        match Config::from_toml_str(&text) {
            Ok(config) => config,
            Err(error) => panic!("the test config was refused: {error}\n--- config ---\n{text}"),
        }
    }
}

/// One request as the recording origin framed it.
#[derive(Clone, Debug)]
pub struct OriginRequest {
    /// The method of the request line.
    pub method: String,
    /// The request-target as sent.
    pub target: String,
    /// Every header line in order (repeated names kept), names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked when it came chunked.
    pub body: Vec<u8>,
    /// Whether the body came with `transfer-encoding: chunked`.
    pub chunked: bool,
}

impl OriginRequest {
    /// The first value of header `name` (lowercase), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_value(&self.headers, name)
    }

    /// Every value of header `name` (lowercase), one per line, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        every_value(&self.headers, name)
    }
}

/// The first value of header `name` among `headers` (lowercased names, in wire order).
fn first_value<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Every value of header `name` among `headers` (lowercased names, in wire order).
fn every_value<'h>(headers: &'h [(String, String)], name: &str) -> Vec<&'h str> {
    headers
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// What the recording origin saw, shared between its tasks and the test.
#[derive(Debug)]
struct Seen {
    /// Every byte received, one entry per accepted connection, in accept order.
    bytes: Mutex<Vec<Vec<u8>>>,
    /// Every request framed completely (head and whole body), in arrival order.
    requests: Mutex<Vec<OriginRequest>>,
    /// How many requests have been framed completely.
    requests_seen: watch::Sender<usize>,
}

impl Seen {
    fn bytes(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        self.bytes
            .lock()
            .expect("no origin task panics while holding the byte log")
    }

    fn requests(&self) -> std::sync::MutexGuard<'_, Vec<OriginRequest>> {
        self.requests
            .lock()
            .expect("no origin task panics while holding the request log")
    }
}

/// An HTTP/1.1 origin on `127.0.0.1:0` written over raw sockets: it records every byte of every
/// connection, frames requests itself (content-length or chunked) and answers each complete one
/// with `200` and [`ORIGIN_BODY`], keeping the connection alive. A request it cannot frame ends
/// the connection; its bytes stay recorded.
///
/// Also serves as the "evil" listener a test checks nobody connected to. Dropping it aborts its
/// tasks and closes its sockets.
#[derive(Debug)]
pub struct RecordingOrigin {
    addr: SocketAddr,
    seen: Arc<Seen>,
    task: JoinHandle<()>,
}

impl Drop for RecordingOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RecordingOrigin {
    /// Answers `200`, `content-length`, body [`ORIGIN_BODY`].
    pub async fn start() -> RecordingOrigin {
        Self::answering("").await
    }

    /// As [`RecordingOrigin::start`], with `extra` (whole header lines, each ending in CRLF)
    /// in the response head.
    pub async fn answering(extra: &str) -> RecordingOrigin {
        let (listener, addr) = bind_loopback().await;
        let response: Arc<[u8]> = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n{extra}\r\n\
             {ORIGIN_BODY}",
            ORIGIN_BODY.len()
        )
        .into_bytes()
        .into();
        let seen = Arc::new(Seen {
            bytes: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            requests_seen: watch::Sender::new(0),
        });
        let task_seen = seen.clone();
        let task = tokio::spawn(async move {
            // Owned by the accept loop: aborting the loop drops the set, which aborts these.
            let mut connections = JoinSet::new();
            loop {
                if let Ok((stream, _peer)) = listener.accept().await {
                    let index = {
                        let mut bytes = task_seen.bytes();
                        bytes.push(Vec::new());
                        bytes.len() - 1
                    };
                    let link = OriginLink {
                        stream,
                        buf: Vec::new(),
                        index,
                        seen: task_seen.clone(),
                    };
                    connections.spawn(link.serve(response.clone()));
                } else {
                    tokio::task::yield_now().await;
                }
                while connections.try_join_next().is_some() {}
            }
        });
        RecordingOrigin { addr, seen, task }
    }

    /// Where the origin listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listener's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many connections the origin has accepted.
    pub fn connections(&self) -> usize {
        self.seen.bytes().len()
    }

    /// Every byte received, one entry per connection, in accept order.
    pub fn bytes(&self) -> Vec<Vec<u8>> {
        self.seen.bytes().clone()
    }

    /// How many bytes arrived, over all connections.
    pub fn total_bytes(&self) -> usize {
        self.seen.bytes().iter().map(Vec::len).sum()
    }

    /// Every byte received, all connections concatenated in accept order.
    pub fn all_bytes(&self) -> Vec<u8> {
        self.seen.bytes().concat()
    }

    /// Every request framed completely so far, in arrival order.
    pub fn requests(&self) -> Vec<OriginRequest> {
        self.seen.requests().clone()
    }

    /// Resolves once at least `n` requests have been framed completely.
    pub async fn requests_seen(&self, n: usize) {
        let mut seen = self.seen.requests_seen.subscribe();
        seen.wait_for(|&count| count >= n)
            .await
            .expect("the log outlives the origin handle");
    }

    /// Asserts the origin was never contacted: no connection, not a byte.
    #[track_caller]
    pub fn assert_untouched(&self) {
        let bytes = self.all_bytes();
        assert_eq!(
            self.connections(),
            0,
            "the origin was contacted; it received: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        assert!(bytes.is_empty());
    }
}

/// One accepted origin connection: its unconsumed bytes and where it records them.
struct OriginLink {
    stream: TcpStream,
    buf: Vec<u8>,
    index: usize,
    seen: Arc<Seen>,
}

impl OriginLink {
    /// Frames and answers requests until the peer closes or sends something unframeable, then
    /// keeps recording whatever else arrives.
    async fn serve(mut self, response: Arc<[u8]>) {
        while let Some(request) = self.request().await {
            self.seen.requests().push(request);
            self.seen.requests_seen.send_modify(|n| *n += 1);
            if self.stream.write_all(&response).await.is_err() {
                return;
            }
        }
        while self.fill().await {}
    }

    /// Reads more bytes into the buffer, recording them. `false` on EOF or error.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                if let Some(log) = self.seen.bytes().get_mut(self.index) {
                    log.extend_from_slice(&chunk[..n]);
                }
                true
            }
        }
    }

    /// Takes one CRLF-terminated line off the buffer (CRLF removed).
    async fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                let line = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
                return Some(line);
            }
            if self.buf.len() > ORIGIN_HEAD_LIMIT_BYTES || !self.fill().await {
                return None;
            }
        }
    }

    /// Takes exactly `n` bytes off the buffer.
    async fn exactly(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    /// The next complete request, or `None` if the connection ended or the bytes do not frame.
    async fn request(&mut self) -> Option<OriginRequest> {
        let request_line = self.line().await?;
        let request_line = String::from_utf8(request_line).ok()?;
        let mut parts = request_line.split(' ');
        let method = parts.next()?.to_owned();
        let target = parts.next()?.to_owned();
        let mut headers = Vec::new();
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let line = String::from_utf8(line).ok()?;
            let (name, value) = line.split_once(':')?;
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut request = OriginRequest {
            method,
            target,
            headers,
            body: Vec::new(),
            chunked: false,
        };
        if let Some(coding) = request.header("transfer-encoding") {
            if !coding.eq_ignore_ascii_case("chunked") {
                return None;
            }
            request.chunked = true;
            request.body = self.chunked_body().await?;
        } else if let Some(length) = request.header("content-length") {
            let length = length.parse::<usize>().ok()?;
            request.body = self.exactly(length).await?;
        }
        Some(request)
    }

    /// A chunked body, de-chunked; trailers are read and dropped.
    async fn chunked_body(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.line().await?;
            let line = std::str::from_utf8(&line).ok()?;
            let size = line.split(';').next()?.trim();
            let size = usize::from_str_radix(size, 16).ok()?;
            if size == 0 {
                while !self.line().await?.is_empty() {}
                return Some(body);
            }
            body.extend(self.exactly(size).await?);
            if !self.line().await?.is_empty() {
                return None;
            }
        }
    }
}

/// A response as read off a raw connection.
#[derive(Clone, Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// The head as text (status line through the blank line).
    pub head: String,
    /// Every header line in order (repeated names kept), names lowercased, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The first value of header `name` (lowercase), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        first_value(&self.headers, name)
    }

    /// Every value of header `name` (lowercase), one per line, in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        every_value(&self.headers, name)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A visitor connection that writes exact bytes and reads responses one at a time.
#[derive(Debug)]
pub struct RawVisitor {
    stream: TcpStream,
    /// Bytes read and not yet taken by a response.
    buf: Vec<u8>,
    /// Set once a read hit EOF or an error.
    ended: Option<RawEnd>,
}

impl RawVisitor {
    /// Connects to `addr`; panics if the connect fails.
    pub async fn connect(addr: SocketAddr) -> RawVisitor {
        let stream = TcpStream::connect(addr)
            .await
            .unwrap_or_else(|error| panic!("expected to connect to {addr}: {error}"));
        RawVisitor {
            stream,
            buf: Vec::new(),
            ended: None,
        }
    }

    /// Writes `bytes`. A failed write is not reported: the read that follows tells how the
    /// connection ended.
    pub async fn send(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// Reads more bytes into the buffer; `false` once the connection has ended.
    async fn fill(&mut self) -> bool {
        if self.ended.is_some() {
            return false;
        }
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => {
                self.ended = Some(RawEnd::CleanEof);
                false
            }
            Ok(_) => true,
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                self.ended = Some(RawEnd::Reset);
                false
            }
            Err(error) => {
                self.ended = Some(RawEnd::Error(error));
                false
            }
        }
    }

    /// Reads one whole response (skipping `100 Continue`), or `None` if the connection ended
    /// before one arrived. The body is framed by `transfer-encoding: chunked`, by
    /// `content-length`, or by the end of the connection.
    pub async fn response(&mut self) -> Option<RawResponse> {
        loop {
            let response = self.one_response().await?;
            if response.status != 100 {
                return Some(response);
            }
        }
    }

    async fn one_response(&mut self) -> Option<RawResponse> {
        let end = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break end + 4;
            }
            if !self.fill().await {
                return None;
            }
        };
        let head_bytes: Vec<u8> = self.buf.drain(..end).collect();
        let head = String::from_utf8_lossy(&head_bytes).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()?
            .strip_prefix("HTTP/1.")?
            .get(2..5)?
            .parse::<u16>()
            .ok()?;
        let headers: Vec<(String, String)> = lines
            .filter(|line| !line.is_empty())
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let mut response = RawResponse {
            status,
            head,
            headers,
            body: Vec::new(),
        };
        if (100..200).contains(&status) || status == 204 || status == 304 {
            return Some(response);
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|coding| coding.to_ascii_lowercase().ends_with("chunked"));
        let length = response
            .header("content-length")
            .and_then(|length| length.parse::<usize>().ok());
        response.body = if chunked {
            self.chunked_body().await?
        } else if let Some(length) = length {
            self.exactly(length).await?
        } else {
            while self.fill().await {}
            std::mem::take(&mut self.buf)
        };
        Some(response)
    }

    async fn exactly(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            if !self.fill().await {
                return None;
            }
        }
        Some(self.buf.drain(..n).collect())
    }

    async fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                let line = self.buf[..end].to_vec();
                self.buf.drain(..end + 2);
                return Some(line);
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    async fn chunked_body(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line = self.line().await?;
            let line = std::str::from_utf8(&line).ok()?;
            let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                while !self.line().await?.is_empty() {}
                return Some(body);
            }
            body.extend(self.exactly(size).await?);
            self.line().await?;
        }
    }

    /// Reads until the connection ends; returns the bytes that came before the end (beyond
    /// any already taken by [`RawVisitor::response`]) and how it ended.
    pub async fn closed(mut self) -> RawOutcome {
        while self.fill().await {}
        RawOutcome {
            bytes: std::mem::take(&mut self.buf),
            end: self.ended.take().unwrap_or(RawEnd::CleanEof),
        }
    }
}

/// Connects to `addr`, writes `request` and reads one response; panics if none arrives.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut visitor = RawVisitor::connect(addr).await;
    visitor.send(request).await;
    match visitor.response().await {
        Some(response) => response,
        None => panic!(
            "expected a response to {:?}",
            String::from_utf8_lossy(request)
        ),
    }
}

/// Where `needle` first occurs in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the soft limit now in force.
pub fn raise_fd_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit that keeps the hard limit as it was.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Ok(limit.rlim_cur)
}
