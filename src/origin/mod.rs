//! The origin side: resolving, connecting, pooling and exchanging with the origin, each phase
//! under its own timeout and classified where it fails (see [`crate::failure`]).
//!
//! [`OriginClient::forward`] is the one entry point: a request in, the origin's response head
//! (with a streaming body) or an [`OriginFailure`] out.

pub mod ack;
pub mod automatic;
pub mod body;
pub mod connect;
pub mod exchange;
pub mod h1;
pub mod handshake;
pub mod io;
pub mod pool;
pub mod resolve;
pub mod slicer;
pub mod stall;
pub mod upload;

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Method, Request, Response};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tracing::debug;

use crate::config::{Config, OriginAddress, OriginScheme, OriginTimeouts, Target};
use crate::emulation::LinkFaults;
use crate::failure::OriginFailure;
use crate::record::ExchangeFacts;
use crate::record::connections::OpenConnection;
use crate::tls::trust::OriginTls;
use ack::{AckClock, SocketFd};
use body::{OriginBody, RequestBody, Shaping};
use exchange::{exchange, is_stale_connection};
use h1::{Connection, OriginStream, Upgraded};
use handshake::{OriginTlsStream, TlsTarget};
use io::{Cut, OriginIo};
use pool::{Conn, Pool, PoolKey};
use prometheus_client::metrics::gauge::Gauge;
use resolve::Resolver;

/// The origin's answer, ready to stream to the visitor.
pub struct Forwarded {
    /// The response head and its streaming body.
    pub response: Response<OriginBody>,
    /// The connection, after a `101 Switching Protocols` to an upgrade.
    pub upgraded: Option<Upgraded>,
}

/// Forwards requests to origins, pooling connections.
#[derive(Clone)]
pub struct OriginClient {
    pool: Pool,
    resolver: Arc<Resolver>,
    tls: OriginTls,
    head_limit: usize,
    open: Option<Gauge>,
}

/// What the visitor's side of a request decides about the way to the origin.
#[derive(Clone, Copy, Debug)]
pub struct Visitor<'a> {
    /// Whether the visitor came over HTTPS (Full and Full (strict) follow the visitor).
    pub https: bool,
    /// The Host the visitor asked for (no port): the default SNI.
    pub host: &'a str,
    /// A WebSocket upgrade: a new connection of its own, never pooled, never replayed.
    pub upgrade: bool,
}

impl OriginClient {
    /// A client for the origins of `config`.
    pub fn new(config: &Config) -> Self {
        OriginClient {
            pool: Pool::with_limits(config.pool),
            resolver: Arc::new(Resolver::new(&config.dns)),
            tls: config.origin.trust.tls.clone(),
            head_limit: config.limits.origin_header_bytes,
            open: None,
        }
    }

    /// The same client, counting its open connections on `gauge`.
    pub fn counting_open(mut self, gauge: Gauge) -> Self {
        self.open = Some(gauge);
        self
    }

    /// How many idle origin connections are pooled.
    pub fn idle_connections(&self) -> usize {
        self.pool.idle_count()
    }

    /// Sends `request` to `target`'s origin and returns its response head.
    ///
    /// A bodiless idempotent request that fails on a pooled connection the origin had already
    /// closed goes once more on a new connection, so a stale keep-alive never shows as a 520.
    ///
    /// `link` is what a fault rule does to this request's origin link (nothing, usually):
    /// `refuse` and `blackhole` never connect; a cut link is always a new connection, never
    /// pooled; latency and body shaping apply on top of the real exchange. A faulted request
    /// is never retried, so the fault shows.
    pub async fn forward(
        &self,
        target: &Target<'_>,
        visitor: Visitor<'_>,
        request: Request<RequestBody>,
        link: &LinkFaults,
        facts: &mut ExchangeFacts,
    ) -> Result<Forwarded, OriginFailure> {
        let timeouts = &target.timeouts;
        if link.refuse {
            let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
            return Err(OriginFailure::Refused(refused));
        }
        if link.blackhole {
            tokio::time::sleep(timeouts.connect).await;
            return Err(OriginFailure::ConnectTimeout {
                after: timeouts.connect,
            });
        }
        let key = pool_key(target, visitor);
        let pooled = !link.alters_connection() && !visitor.upgrade;
        // `open` (resolve, connect, TLS) is boxed: inline, its largest state would stay in
        // this future for as long as the request waits on the origin.
        let mut conn = match pooled.then(|| self.pool.checkout(&key)).flatten() {
            Some(conn) => {
                facts.peer = Some(conn.peer);
                facts.reused = true;
                conn
            }
            None => Box::pin(self.open(&key, target, link, facts)).await?,
        };
        let replay =
            (conn.reused && link.is_empty() && !visitor.upgrade && is_replayable(&request))
                .then(|| copy_head(&request));
        let head_limit = self.head_limit;
        let latency = link.latency;
        let response =
            match exchange(&mut conn, request, timeouts, head_limit, latency, facts).await {
                Err(failure) if is_stale_connection(&failure) && replay.is_some() => {
                    debug!(
                        cause = failure.tag(),
                        "pooled origin connection was stale; retrying"
                    );
                    facts.retried = true;
                    facts.reused = false;
                    conn = Box::pin(self.open(&key, target, link, facts)).await?;
                    let replay = replay.expect("checked is_some above");
                    exchange(&mut conn, replay, timeouts, head_limit, None, facts).await?
                }
                outcome => outcome?,
            };
        if response.status() == http::StatusCode::SWITCHING_PROTOCOLS {
            let upgraded = Some(conn.wire.into_upgraded());
            let response = response.map(|_| OriginBody::empty(timeouts.read));
            return Ok(Forwarded { response, upgraded });
        }
        let pool = pooled.then(|| self.pool.clone());
        let shaping = link
            .shapes_body()
            .then(|| Shaping::new(link.bandwidth, link.slow_close, link.slice));
        let response = response
            .map(|decoder| OriginBody::new(decoder, timeouts.read, conn, pool).shaped(shaping));
        Ok(Forwarded {
            response,
            upgraded: None,
        })
    }

    /// Resolves, connects and handshakes (TLS, then HTTP/1.1) a new connection for `key`,
    /// noting each phase's time in `facts` as it ends. `edgecase diagnose` walks the same
    /// phases one by one ([`OriginClient::resolve`], [`OriginClient::connect`],
    /// [`OriginClient::secure`], [`OriginClient::start_http`]), so the two cannot disagree.
    async fn open(
        &self,
        key: &PoolKey,
        target: &Target<'_>,
        link: &LinkFaults,
        facts: &mut ExchangeFacts,
    ) -> Result<Conn, OriginFailure> {
        let timeouts = &target.timeouts;
        let started = Instant::now();
        let addrs = self.resolve(key, timeouts).await;
        facts.dns = Some(started.elapsed());
        let (addrs, _source) = addrs?;
        let started = Instant::now();
        let stream = self.connect(&addrs, timeouts, &mut facts.peer).await;
        facts.connect = Some(started.elapsed());
        let stream = stream?;
        let peer = stream.peer_addr().map_err(OriginFailure::Internal)?;
        facts.peer = Some(peer);
        let fd = ack::socket_fd(&stream);
        let Some(tls) = &key.tls else {
            return self.start_http(stream, fd, peer, key, target, link).await;
        };
        let started = Instant::now();
        let stream = self.secure(stream, tls, timeouts).await;
        facts.tls_handshake = Some(started.elapsed());
        let stream = stream?;
        facts.tls_protocol = stream
            .get_ref()
            .1
            .protocol_version()
            .map(crate::tls::version_name);
        self.start_http(stream, fd, peer, key, target, link).await
    }

    /// Every address `key`'s origin resolves to, and where the answer came from; a system
    /// lookup is bounded by `timeouts.connect`. Fails with 530/1016.
    pub async fn resolve(
        &self,
        key: &PoolKey,
        timeouts: &OriginTimeouts,
    ) -> Result<(Vec<SocketAddr>, resolve::Source), OriginFailure> {
        self.resolver
            .resolve_from(&key.address, timeouts.connect)
            .await
    }

    /// A TCP connection to the first of `addrs` that accepts, within `timeouts.connect` in
    /// all; `tried` hears of every attempt. Fails with 521, 522 or 523.
    pub async fn connect(
        &self,
        addrs: &[SocketAddr],
        timeouts: &OriginTimeouts,
        tried: &mut impl connect::Attempts,
    ) -> Result<TcpStream, OriginFailure> {
        connect::connect(addrs, timeouts.connect, timeouts.ack, tried).await
    }

    /// TLS on `stream` as `tls` says (name, validation), within `timeouts.connect` of the TCP
    /// connection. Fails with 525 or 526.
    pub async fn secure(
        &self,
        stream: TcpStream,
        tls: &TlsTarget,
        timeouts: &OriginTimeouts,
    ) -> Result<OriginTlsStream, OriginFailure> {
        let config = self.tls.config(tls.validate).clone();
        handshake::handshake(stream, tls, config, timeouts.connect).await
    }

    /// The largest response head accepted, in bytes (`limits.origin_header_bytes`).
    pub fn head_limit(&self) -> usize {
        self.head_limit
    }

    /// Starts HTTP/1.1 on an open connection (plain or TLS), with the write and ack clocks
    /// and `link`'s cut in its IO.
    pub async fn start_http(
        &self,
        stream: impl Into<OriginStream>,
        fd: Option<SocketFd>,
        peer: SocketAddr,
        key: &PoolKey,
        target: &Target<'_>,
        link: &LinkFaults,
    ) -> Result<Conn, OriginFailure> {
        let io = OriginIo::new(stream.into(), target.timeouts.write)
            .with_cut(cut_of(link))
            .with_ack_clock(AckClock::new(fd, target.timeouts.ack));
        let open = self.open.as_ref().map(OpenConnection::new);
        Ok(Conn::new(Connection::new(io, open), peer, key.clone()))
    }
}

/// The cut a fault rule makes in a new connection, if any.
fn cut_of(link: &LinkFaults) -> Option<Cut> {
    if link.close_before_headers {
        Some(Cut::Eof)
    } else {
        link.reset_after_bytes.map(Cut::ResetAfter)
    }
}

/// The pool key of a request to `target`: plain to the address, or TLS to the TLS port with
/// the SNI (`target.sni`, else the visitor's Host, else the origin's host name).
pub fn pool_key(target: &Target<'_>, visitor: Visitor<'_>) -> PoolKey {
    let timeouts = &target.timeouts;
    let (address, tls) = match target.ssl.to_origin(visitor.https) {
        OriginScheme::Plain => (target.address.clone(), None),
        OriginScheme::Tls { validate } => {
            let address = OriginAddress {
                host: target.address.host.clone(),
                port: target.tls_port.unwrap_or(target.address.port),
            };
            let name = server_name(target.sni, visitor.host, &target.address.host);
            (address, Some(Box::new(TlsTarget { name, validate })))
        }
    };
    PoolKey {
        address,
        tls,
        ack: timeouts.ack,
        write: timeouts.write,
    }
}

/// The first of `sni`, `host` and `fallback` that is a valid server name (brackets of an IPv6
/// literal removed).
pub(crate) fn server_name(sni: Option<&str>, host: &str, fallback: &str) -> ServerName<'static> {
    let bare = |name: &str| {
        name.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned()
    };
    [sni, Some(host), Some(fallback)]
        .into_iter()
        .flatten()
        .filter(|name| !name.is_empty())
        .find_map(|name| ServerName::try_from(bare(name)).ok())
        // An origin address is a valid host name or IP by construction; this is only a guard.
        .unwrap_or_else(|| ServerName::try_from("localhost").expect("a valid name"))
}

/// Whether a request may be sent again: idempotent (RFC 9110 §9.2.2) and without a body
/// (a streamed body cannot be replayed).
fn is_replayable(request: &Request<RequestBody>) -> bool {
    use http_body::Body;
    let idempotent = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    );
    idempotent && request.body().is_end_stream()
}

/// A bodiless copy of `request`'s head, to replay it.
fn copy_head(request: &Request<RequestBody>) -> Request<RequestBody> {
    let mut copy = Request::new(RequestBody::empty());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}
