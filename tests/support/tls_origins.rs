//! TLS origins for the integration tests, on `127.0.0.1:0`: a working HTTPS/1.1 origin
//! ([`TlsOrigin`]) that records what each handshake carried, and raw ports that misbehave
//! during the handshake ([`RawTlsOrigin`]): close, reset, stay silent, send an alert, answer
//! as a TLS 1.0 server or with bytes that are not TLS.
//!
//! As in `support/origins.rs`, every constructor binds before it returns (the kernel queues
//! connections, so no test waits for readiness), dropping an origin aborts its accept loop and
//! every connection task, and tests wait for events with the `*_seen` methods, never a sleep.
//!
//! A plain HTTP origin on the "TLS port" is simply `origins::Origin::ok(..)`. Certificates come
//! from `support/pki.rs`. This module does not start the edge or judge its answers.

#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls::server::{Acceptor, ResolvesServerCertUsingSni};
use rustls::sign::CertifiedKey;
use rustls::{ProtocolVersion, ServerConfig, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::LazyConfigAcceptor;

use super::bind_loopback;
use super::origins::{MAX_REQUEST_HEAD_BYTES, ORIGIN_SERVER, RecordedRequest};
use super::pki::Identity;

/// The body [`TlsOrigin`] answers with unless told otherwise.
pub const TLS_ORIGIN_BODY: &str = "tls origin";

/// Bytes that are not TLS: the first byte is no TLS content type.
pub const NOT_TLS: &[u8] = b"\x00\x00garbage bytes, not a TLS record\r\n";

/// TLS alert description `handshake_failure` (RFC 8446, 6.2).
pub const HANDSHAKE_FAILURE: u8 = 40;
/// TLS alert description `protocol_version` (RFC 8446, 6.2).
pub const PROTOCOL_VERSION: u8 = 70;
/// TLS alert description `unrecognized_name` (RFC 8446, 6.2).
pub const UNRECOGNIZED_NAME: u8 = 112;

/// The TLS record content type of handshake messages.
const HANDSHAKE_RECORD: u8 = 0x16;

/// The largest TLS record a client may send (2^14 plus expansion), in bytes.
const MAX_RECORD_BYTES: usize = 18 * 1024;

/// A list of things an origin saw, and how many, shared between its tasks and the test.
#[derive(Debug)]
struct Recorded<T> {
    items: Mutex<Vec<T>>,
    seen: watch::Sender<usize>,
}

impl<T: Clone> Recorded<T> {
    fn new() -> Self {
        Recorded {
            items: Mutex::new(Vec::new()),
            seen: watch::Sender::new(0),
        }
    }

    fn push(&self, item: T) {
        self.items
            .lock()
            .expect("no origin task panics while holding the log")
            .push(item);
        self.seen.send_modify(|n| *n += 1);
    }

    fn all(&self) -> Vec<T> {
        self.items
            .lock()
            .expect("no origin task panics while holding the log")
            .clone()
    }

    fn count(&self) -> usize {
        *self.seen.borrow()
    }

    async fn wait_for(&self, n: usize) {
        let mut seen = self.seen.subscribe();
        seen.wait_for(|&count| count >= n)
            .await
            .expect("the log outlives the origin handle");
    }
}

/// One completed TLS handshake, as the origin saw it.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// The SNI the ClientHello carried (`None`: no SNI extension).
    pub sni: Option<String>,
    /// The negotiated protocol version.
    pub version: ProtocolVersion,
    /// The negotiated ALPN protocol, if any.
    pub alpn: Option<Vec<u8>>,
}

/// Which TLS versions a [`TlsOrigin`] accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsVersions {
    /// TLS 1.2 and TLS 1.3.
    #[default]
    Both,
    /// TLS 1.2 only.
    Tls12Only,
    /// TLS 1.3 only.
    Tls13Only,
}

/// How a [`TlsOrigin`] serves.
#[derive(Clone, Debug)]
pub struct TlsOptions {
    /// The protocol versions it accepts.
    pub versions: TlsVersions,
    /// When set, the certificate is served only to a ClientHello with exactly this SNI (a
    /// rustls SNI resolver knowing one name); any other SNI, or none, gets no certificate and
    /// rustls aborts the handshake with the alert `access_denied`.
    pub only_sni: Option<String>,
    /// The body of every `200` answer.
    pub body: &'static str,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            versions: TlsVersions::Both,
            only_sni: None,
            body: TLS_ORIGIN_BODY,
        }
    }
}

/// A port on 127.0.0.1 whose accept loop counts each connection and hands it to a task that
/// records what it saw in a log `L`; the loop is aborted when the port is dropped. Its two
/// kinds are [`TlsOrigin`] and [`RawTlsOrigin`].
#[derive(Debug)]
pub struct RecordingPort<L> {
    addr: SocketAddr,
    connections: Arc<Recorded<SocketAddr>>,
    log: Arc<L>,
    task: Option<JoinHandle<()>>,
}

impl<L> Drop for RecordingPort<L> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl<L: Send + Sync + 'static> RecordingPort<L> {
    /// Accepts on `listener`, recording each peer, and runs `handle` on every connection with
    /// the shared `log`.
    fn serve<H, Fut>(listener: TcpListener, log: L, handle: H) -> Self
    where
        H: Fn(TcpStream, Arc<L>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let connections = Arc::new(Recorded::new());
        let log = Arc::new(log);
        let (task_connections, task_log) = (connections.clone(), log.clone());
        let task = spawn_accept_loop(listener, move |stream, peer| {
            task_connections.push(peer);
            handle(stream, task_log.clone())
        });
        RecordingPort {
            addr,
            connections,
            log,
            task: Some(task),
        }
    }

    /// Where the port listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port number (for `tls_port`).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many TCP connections it has accepted.
    pub fn connections(&self) -> usize {
        self.connections.count()
    }

    /// Resolves once at least `n` TCP connections have been accepted.
    pub async fn connections_seen(&self, n: usize) {
        self.connections.wait_for(n).await;
    }
}

/// What a [`TlsOrigin`] saw (its connections aside: the [`RecordingPort`] counts those).
#[derive(Debug)]
pub struct TlsLog {
    /// The SNI of every ClientHello read, completed handshake or not.
    hellos: Recorded<Option<String>>,
    handshakes: Recorded<Handshake>,
    /// Why each failed handshake failed (rustls' error, for messages only).
    failed: Recorded<String>,
    /// The first bytes of each connection that did not start with a TLS handshake record.
    plain: Recorded<Vec<u8>>,
    requests: Recorded<RecordedRequest>,
}

/// An HTTPS origin: HTTP/1.1 over rustls (ALPN `http/1.1`), answering every request `200`
/// with [`TlsOptions::body`] and recording connections, handshakes and requests.
///
/// A connection whose first byte is not a TLS handshake record (a plain HTTP request) is
/// recorded in [`TlsOrigin::plain_requests`] and closed without a byte in answer.
pub type TlsOrigin = RecordingPort<TlsLog>;

impl RecordingPort<TlsLog> {
    /// Serves `identity` for any SNI, TLS 1.2 and 1.3, answering [`TLS_ORIGIN_BODY`].
    pub async fn ok(identity: &Identity) -> TlsOrigin {
        TlsOrigin::with_options(identity, TlsOptions::default()).await
    }

    /// Serves `identity` as `options` say.
    pub async fn with_options(identity: &Identity, options: TlsOptions) -> TlsOrigin {
        let (listener, _) = bind_loopback().await;
        TlsOrigin::on(listener, identity, options)
    }

    /// Serves `identity` as `options` say on `listener` (an address chosen beforehand).
    pub fn on(listener: TcpListener, identity: &Identity, options: TlsOptions) -> TlsOrigin {
        let config = server_config(identity, &options);
        let log = TlsLog {
            hellos: Recorded::new(),
            handshakes: Recorded::new(),
            failed: Recorded::new(),
            plain: Recorded::new(),
            requests: Recorded::new(),
        };
        let body = options.body;
        RecordingPort::serve(listener, log, move |stream, log| {
            serve_tls(stream, log, config.clone(), body)
        })
    }

    /// The SNI of every ClientHello read so far, in order (`None`: no SNI).
    pub fn hello_snis(&self) -> Vec<Option<String>> {
        self.log.hellos.all()
    }

    /// Every completed TLS handshake so far, in order.
    pub fn handshakes(&self) -> Vec<Handshake> {
        self.log.handshakes.all()
    }

    /// Why each failed handshake failed, as rustls put it (for failure messages).
    pub fn failed_handshakes(&self) -> Vec<String> {
        self.log.failed.all()
    }

    /// The first bytes of every connection that did not start with a TLS record.
    pub fn plain_requests(&self) -> Vec<Vec<u8>> {
        self.log.plain.all()
    }

    /// Every request served over TLS so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.requests.all()
    }

    /// The most recent request served over TLS.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.log.requests.all().pop()
    }

    /// Resolves once at least `n` ClientHellos have been read.
    pub async fn hellos_seen(&self, n: usize) {
        self.log.hellos.wait_for(n).await;
    }

    /// Resolves once at least `n` handshakes have completed.
    pub async fn handshakes_seen(&self, n: usize) {
        self.log.handshakes.wait_for(n).await;
    }

    /// Resolves once at least `n` handshakes have failed.
    pub async fn failed_handshakes_seen(&self, n: usize) {
        self.log.failed.wait_for(n).await;
    }

    /// Resolves once at least `n` connections have started with something other than TLS.
    pub async fn plain_requests_seen(&self, n: usize) {
        self.log.plain.wait_for(n).await;
    }

    /// Resolves once at least `n` requests have been served over TLS.
    pub async fn requests_seen(&self, n: usize) {
        self.log.requests.wait_for(n).await;
    }
}

/// The rustls config for `identity` under `options`, ALPN `http/1.1`.
fn server_config(identity: &Identity, options: &TlsOptions) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static SupportedProtocolVersion] = match options.versions {
        TlsVersions::Both => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersions::Tls12Only => &[&rustls::version::TLS12],
        TlsVersions::Tls13Only => &[&rustls::version::TLS13],
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("ring supports TLS 1.2 and 1.3")
        .with_no_client_auth();
    let mut config = match &options.only_sni {
        None => builder
            .with_single_cert(identity.chain.clone(), identity.key())
            .expect("a certificate made by rcgen and its own key"),
        Some(name) => {
            let key = CertifiedKey::from_der(identity.chain.clone(), identity.key(), &provider)
                .expect("a certificate made by rcgen and its own key");
            let mut resolver = ResolvesServerCertUsingSni::new();
            resolver
                .add(name, key)
                .expect("the only SNI is a name the certificate holds");
            builder.with_cert_resolver(Arc::new(resolver))
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// One connection of a [`TlsOrigin`]: TLS handshake, then HTTP/1.1 keep-alive.
async fn serve_tls(
    stream: TcpStream,
    log: Arc<TlsLog>,
    config: Arc<ServerConfig>,
    body: &'static str,
) {
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1..) if first[0] == HANDSHAKE_RECORD => {}
        Ok(1..) => return record_plain(stream, &log).await,
        Ok(0) | Err(_) => return,
    }
    let start = match LazyConfigAcceptor::new(Acceptor::default(), stream).await {
        Ok(start) => start,
        Err(error) => return log.failed.push(format!("reading the ClientHello: {error}")),
    };
    let sni = start.client_hello().server_name().map(str::to_owned);
    log.hellos.push(sni.clone());
    let tls = match start.into_stream(config).await {
        Ok(tls) => tls,
        Err(error) => return log.failed.push(error.to_string()),
    };
    let connection = tls.get_ref().1;
    log.handshakes.push(Handshake {
        sni,
        version: connection
            .protocol_version()
            .expect("a completed handshake has a version"),
        alpn: connection.alpn_protocol().map(<[u8]>::to_vec),
    });
    let body = Bytes::copy_from_slice(body.as_bytes());
    let service = service_fn(move |request: Request<Incoming>| {
        let log = log.clone();
        let body = body.clone();
        async move {
            let (parts, incoming) = request.into_parts();
            let received = match incoming.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => Bytes::new(),
            };
            log.requests.push(RecordedRequest {
                method: parts.method,
                uri: parts.uri,
                version: parts.version,
                headers: parts.headers,
                body: received,
            });
            let mut response = Response::new(Full::new(body));
            let headers = response.headers_mut();
            headers.insert("server", HeaderValue::from_static(ORIGIN_SERVER));
            headers.insert(
                "content-type",
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            Ok::<_, Infallible>(response)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// Reads what a non-TLS peer sent (up to a request head), records it, closes cleanly.
async fn record_plain(mut stream: TcpStream, log: &TlsLog) {
    let mut bytes = Vec::new();
    while !bytes.windows(4).any(|w| w == b"\r\n\r\n") && bytes.len() < MAX_REQUEST_HEAD_BYTES {
        match stream.read_buf(&mut bytes).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    log.plain.push(bytes);
    close_cleanly(stream).await;
}

/// What a [`RawTlsOrigin`] does once it has read the ClientHello.
#[derive(Clone, Debug)]
enum AfterHello {
    /// Close cleanly (FIN).
    Close,
    /// Reset (`SO_LINGER` 0, then close: RST).
    Reset,
    /// Say nothing, keep the connection open.
    Silent,
    /// Write these bytes, then keep reading until the peer closes.
    Answer(Arc<[u8]>),
}

/// What a [`RawTlsOrigin`] saw (its connections aside: the [`RecordingPort`] counts those).
#[derive(Debug)]
pub struct RawLog {
    /// The first record of each connection, header included.
    first_records: Recorded<Vec<u8>>,
}

/// A port that reads the client's first TLS record (the ClientHello) and then misbehaves in
/// one way. Records connections and those first records.
pub type RawTlsOrigin = RecordingPort<RawLog>;

impl RecordingPort<RawLog> {
    /// Reads the ClientHello, then closes cleanly (FIN) without a byte.
    pub async fn closes_after_hello() -> RawTlsOrigin {
        RawTlsOrigin::start(AfterHello::Close).await
    }

    /// Reads the ClientHello, then resets the connection (RST) without a byte.
    pub async fn resets_after_hello() -> RawTlsOrigin {
        RawTlsOrigin::start(AfterHello::Reset).await
    }

    /// Accepts and reads the ClientHello, then never sends a byte, holding the connection open.
    pub async fn silent() -> RawTlsOrigin {
        RawTlsOrigin::start(AfterHello::Silent).await
    }

    /// Reads the ClientHello, answers exactly `bytes`, then keeps reading until the peer closes.
    pub async fn answers(bytes: &[u8]) -> RawTlsOrigin {
        RawTlsOrigin::start(AfterHello::Answer(Arc::from(bytes))).await
    }

    /// Answers the ClientHello with a fatal alert whose description is `description`.
    pub async fn alert(description: u8) -> RawTlsOrigin {
        RawTlsOrigin::answers(&alert_record(description)).await
    }

    /// Answers the ClientHello as a server that only speaks TLS 1.0 would: a TLS 1.0
    /// ServerHello ([`tls10_server_hello`]).
    pub async fn tls10_only() -> RawTlsOrigin {
        RawTlsOrigin::answers(&tls10_server_hello()).await
    }

    /// Answers the ClientHello with bytes that are not TLS ([`NOT_TLS`]).
    pub async fn garbage() -> RawTlsOrigin {
        RawTlsOrigin::answers(NOT_TLS).await
    }

    async fn start(after: AfterHello) -> RawTlsOrigin {
        let (listener, _) = bind_loopback().await;
        let log = RawLog {
            first_records: Recorded::new(),
        };
        RecordingPort::serve(listener, log, move |stream, log| {
            misbehave(stream, log, after.clone())
        })
    }

    /// The first record (header included) read on each connection so far.
    pub fn first_records(&self) -> Vec<Vec<u8>> {
        self.log.first_records.all()
    }

    /// Resolves once at least `n` first records have been read.
    pub async fn hellos_seen(&self, n: usize) {
        self.log.first_records.wait_for(n).await;
    }
}

/// Whether `record` is a TLS handshake record holding a ClientHello.
pub fn is_client_hello(record: &[u8]) -> bool {
    record.len() > 5 && record[0] == HANDSHAKE_RECORD && record[1] == 3 && record[5] == 1
}

/// One connection of a [`RawTlsOrigin`].
async fn misbehave(mut stream: TcpStream, log: Arc<RawLog>, after: AfterHello) {
    let Some(record) = read_record(&mut stream).await else {
        return;
    };
    log.first_records.push(record);
    match after {
        AfterHello::Close => close_cleanly(stream).await,
        AfterHello::Reset => {
            if stream.set_zero_linger().is_ok() {
                drop(stream);
            }
        }
        AfterHello::Silent => drain(&mut stream).await,
        AfterHello::Answer(bytes) => {
            if stream.write_all(&bytes).await.is_ok() {
                drain(&mut stream).await;
            }
        }
    }
}

/// Reads one TLS record (5-byte header, then its length), or, when the peer's bytes are not a
/// TLS record header, whatever the first read brought. `None` if the peer closed first.
async fn read_record(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut record = Vec::new();
    loop {
        match stream.read_buf(&mut record).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        if record[0] != HANDSHAKE_RECORD {
            return Some(record);
        }
        if record.len() >= 5 {
            let length = usize::from(u16::from_be_bytes([record[3], record[4]]));
            if record.len() >= 5 + length || length > MAX_RECORD_BYTES {
                return Some(record);
            }
        }
    }
}

/// A fatal TLS alert record (TLS 1.2 record version) with `description`.
pub fn alert_record(description: u8) -> Vec<u8> {
    vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]
}

/// A ServerHello as a TLS 1.0-only server sends it: record and `legacy_version` 0x0301, no
/// `supported_versions` extension (no extension at all), cipher suite
/// `TLS_RSA_WITH_AES_128_CBC_SHA`, null compression.
pub fn tls10_server_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x01];
    body.extend((0u8..32).map(|i| i.wrapping_mul(37).wrapping_add(11)));
    body.push(0); // empty session id
    body.extend([0x00, 0x2f]); // TLS_RSA_WITH_AES_128_CBC_SHA
    body.push(0); // null compression
    let mut handshake = vec![0x02]; // ServerHello
    let len = u32::try_from(body.len()).expect("a short message");
    handshake.extend(&len.to_be_bytes()[1..]);
    handshake.extend(body);
    let mut record = vec![HANDSHAKE_RECORD, 0x03, 0x01];
    let len = u16::try_from(handshake.len()).expect("a short record");
    record.extend(len.to_be_bytes());
    record.extend(handshake);
    record
}

/// Accepts on `listener` forever, running `handle` per connection in a set the loop owns
/// (aborting the loop aborts them).
fn spawn_accept_loop<H, Fut>(listener: TcpListener, handle: H) -> JoinHandle<()>
where
    H: Fn(TcpStream, SocketAddr) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    connections.spawn(handle(stream, peer));
                }
                Err(_) => tokio::task::yield_now().await,
            }
            while connections.try_join_next().is_some() {}
        }
    })
}

/// Reads and discards until the peer closes (or the connection fails).
async fn drain(stream: &mut TcpStream) {
    let mut scratch = [0u8; 8192];
    while let Ok(1..) = stream.read(&mut scratch).await {}
}

/// Sends FIN, then drains until the peer closes: closing with unread data would send RST.
async fn close_cleanly(mut stream: TcpStream) {
    if stream.shutdown().await.is_ok() {
        drain(&mut stream).await;
    }
}
