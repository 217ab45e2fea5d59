//! The origin side: resolving, connecting, pooling and exchanging with the origin, each phase
//! under its own timeout and classified where it fails (see [`crate::failure`]).
//!
//! [`OriginClient::forward`] is the one entry point: a request in, the origin's response head
//! (with a streaming body) or an [`OriginFailure`] out.

pub mod body;
pub mod connect;
pub mod exchange;
pub mod io;
pub mod pool;
pub mod resolve;
pub mod stall;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use tracing::debug;

use crate::config::{Config, Target};
use crate::failure::OriginFailure;
use body::{OriginBody, RequestBody};
use exchange::{exchange, is_stale_connection};
use io::{HeadMeter, OriginIo};
use pool::{Conn, Pool, PoolKey};
use resolve::Resolver;

/// The most headers accepted in one origin response head. hyper's default (100) would turn
/// a legitimate head of many short headers into a 520 that Cloudflare would not give; the
/// byte limit (`limits.origin_header_bytes`) is the real bound.
const MAX_ORIGIN_HEADERS: usize = 1024;

/// The origin's answer, ready to stream to the visitor.
pub struct Forwarded {
    /// The response head and its streaming body.
    pub response: Response<OriginBody>,
    /// Facts about the exchange, for the log line.
    pub facts: ExchangeFacts,
}

/// What the log line tells about one exchange with the origin.
#[derive(Clone, Copy, Debug)]
pub struct ExchangeFacts {
    /// The origin's socket address.
    pub peer: SocketAddr,
    /// Whether a pooled connection carried the request.
    pub reused: bool,
    /// Resolution plus TCP handshake, when a new connection was opened.
    pub connect: Option<Duration>,
    /// Whether the request went a second time after a stale pooled connection.
    pub retried: bool,
}

/// Forwards requests to origins, pooling connections.
#[derive(Clone)]
pub struct OriginClient {
    pool: Pool,
    resolver: Arc<Resolver>,
    head_limit: usize,
}

impl OriginClient {
    /// A client for the origins of `config`.
    pub fn new(config: &Config) -> Self {
        OriginClient {
            pool: Pool::new(),
            resolver: Arc::new(Resolver::new(&config.dns)),
            head_limit: config.limits.origin_header_bytes,
        }
    }

    /// How many idle origin connections are pooled.
    pub fn idle_connections(&self) -> usize {
        self.pool.idle_count()
    }

    /// Sends `request` to `target`'s origin and returns its response head.
    ///
    /// A bodiless idempotent request that fails on a pooled connection the origin had already
    /// closed goes once more on a new connection, so a stale keep-alive never shows as a 520.
    pub async fn forward(
        &self,
        target: &Target<'_>,
        request: Request<RequestBody>,
    ) -> Result<Forwarded, OriginFailure> {
        let timeouts = &target.timeouts;
        let key = PoolKey {
            address: target.address.clone(),
            ack: timeouts.ack,
            write: timeouts.write,
        };
        let (mut conn, connect) = match self.pool.checkout(&key) {
            Some(conn) => (conn, None),
            None => self.open(&key, target).await?,
        };
        let replay = (conn.reused && is_replayable(&request)).then(|| copy_head(&request));
        let mut retried = false;
        let response = match exchange(&mut conn, request, timeouts, self.head_limit).await {
            Err(failure) if is_stale_connection(&failure) && replay.is_some() => {
                debug!(
                    cause = failure.tag(),
                    "pooled origin connection was stale; retrying"
                );
                retried = true;
                let (fresh, _) = self.open(&key, target).await?;
                conn = fresh;
                let replay = replay.expect("checked is_some above");
                exchange(&mut conn, replay, timeouts, self.head_limit).await?
            }
            outcome => outcome?,
        };
        let facts = ExchangeFacts {
            peer: conn.peer,
            reused: conn.reused,
            connect,
            retried,
        };
        let response = response
            .map(|incoming| OriginBody::new(incoming, timeouts.read, conn, self.pool.clone()));
        Ok(Forwarded { response, facts })
    }

    /// Resolves, connects and handshakes a new connection for `key`.
    async fn open(
        &self,
        key: &PoolKey,
        target: &Target<'_>,
    ) -> Result<(Conn, Option<Duration>), OriginFailure> {
        let started = Instant::now();
        let timeouts = &target.timeouts;
        let addrs = self
            .resolver
            .resolve(&key.address, timeouts.connect)
            .await?;
        let stream = connect::connect(&addrs, timeouts.connect, timeouts.ack).await?;
        let peer = stream.peer_addr().map_err(OriginFailure::Internal)?;
        let meter = Arc::new(HeadMeter::default());
        let io = OriginIo::new(stream, meter.clone(), self.head_limit, timeouts.write);
        let mut builder = http1::Builder::new();
        builder
            .max_headers(MAX_ORIGIN_HEADERS)
            .max_buf_size(self.head_limit.max(64 * 1024) + 8 * 1024);
        let (sender, connection) = builder
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| OriginFailure::Internal(std::io::Error::other(e)))?;
        tokio::spawn(async move {
            // The connection's own errors reach the exchange through `send_request`.
            let _ = connection.await;
        });
        Ok((
            Conn::new(sender, meter, peer, key.clone()),
            Some(started.elapsed()),
        ))
    }
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
