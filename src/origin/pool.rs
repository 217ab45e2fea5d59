//! [`Pool`]: idle keep-alive connections to origins, reused across requests.
//!
//! A connection is keyed by everything baked into it at connect time (address, ack and write
//! timeouts), handed out newest first, and dropped once idle for longer than
//! [`ORIGIN_IDLE_TIMEOUT`] or once the origin closed it. The pool never blocks a request: no
//! idle connection means a new one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::client::conn::http1::SendRequest;
use tokio::time::Instant;

use crate::config::OriginAddress;
use crate::origin::body::RequestBody;
use crate::origin::handshake::TlsTarget;
use crate::origin::io::HeadMeter;

/// How long an idle origin connection is kept for reuse: Cloudflare's 900 s origin idle window.
pub const ORIGIN_IDLE_TIMEOUT: Duration = Duration::from_secs(900);

/// The most idle connections kept per origin key; more are closed on release.
pub const MAX_IDLE_PER_ORIGIN: usize = 512;

/// What makes two connections interchangeable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolKey {
    /// The configured origin, before resolution (a name is re-resolved per connection), with
    /// the TLS port when the connection is TLS.
    pub address: OriginAddress,
    /// The TLS name and validation, for a TLS connection (boxed: plain connections, the
    /// common case, stay small).
    pub tls: Option<Box<TlsTarget>>,
    /// The TCP_USER_TIMEOUT set on the socket.
    pub ack: Duration,
    /// The write-stall timeout baked into the connection's IO.
    pub write: Duration,
}

/// One HTTP/1.1 connection to an origin, idle or in use.
pub struct Conn {
    /// Sends requests on the connection.
    pub sender: SendRequest<RequestBody>,
    /// The response-head meter shared with the connection's IO.
    pub meter: Arc<HeadMeter>,
    /// The origin's socket address.
    pub peer: SocketAddr,
    /// Whether this connection already carried a request before this one.
    pub reused: bool,
    key: PoolKey,
}

impl Conn {
    /// A connection fresh from the handshake.
    pub fn new(
        sender: SendRequest<RequestBody>,
        meter: Arc<HeadMeter>,
        peer: SocketAddr,
        key: PoolKey,
    ) -> Self {
        Conn {
            sender,
            meter,
            peer,
            reused: false,
            key,
        }
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// Idle connections by key. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Pool {
    idle: Arc<Mutex<HashMap<PoolKey, Vec<Idle>>>>,
}

impl Pool {
    /// An empty pool.
    pub fn new() -> Self {
        Pool::default()
    }

    /// The newest idle connection for `key` that is still open, marked as reused.
    pub fn checkout(&self, key: &PoolKey) -> Option<Conn> {
        let now = Instant::now();
        let mut idle = self.lock();
        let list = idle.get_mut(key)?;
        // Connections idle too long sit at the front (oldest first): drop them in one go.
        let fresh_from = list.partition_point(|i| now - i.since > ORIGIN_IDLE_TIMEOUT);
        list.drain(..fresh_from);
        while let Some(Idle { mut conn, .. }) = list.pop() {
            if !conn.sender.is_closed() {
                conn.reused = true;
                return Some(conn);
            }
        }
        None
    }

    /// Puts a connection whose exchange completed back for reuse.
    pub fn release(&self, conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        match idle.get_mut(&conn.key) {
            Some(list) if list.len() >= MAX_IDLE_PER_ORIGIN => {}
            Some(list) => list.push(Idle {
                conn,
                since: Instant::now(),
            }),
            None => {
                let key = conn.key.clone();
                let since = Instant::now();
                idle.insert(key, vec![Idle { conn, since }]);
            }
        }
    }

    /// How many idle connections the pool holds, for all keys.
    pub fn idle_count(&self) -> usize {
        self.lock().values().map(Vec::len).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PoolKey, Vec<Idle>>> {
        // A panic while holding this lock cannot leave the map inconsistent (every operation
        // is a single push, pop or drain), so a poisoned lock is still usable.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
