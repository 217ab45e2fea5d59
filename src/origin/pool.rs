//! [`Pool`]: idle keep-alive connections to origins, reused across requests.
//!
//! A connection is keyed by everything baked into it at connect time (address, ack and write
//! timeouts), handed out newest first, and dropped once idle for longer than `[origin]
//! idle_timeout` (Cloudflare's 900 s window by default) or once the origin closed it; at most
//! `[origin] max_idle` are kept per key. The pool never blocks a request: no idle connection
//! means a new one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::{OriginAddress, PoolLimits};
use crate::origin::h1::Connection;
use crate::origin::handshake::TlsTarget;

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
    /// The HTTP/1.1 connection itself.
    pub wire: Connection,
    /// The origin's socket address.
    pub peer: SocketAddr,
    /// Whether this connection already carried a request before this one.
    pub reused: bool,
    key: PoolKey,
}

impl Conn {
    /// A connection fresh from the handshake.
    pub fn new(wire: Connection, peer: SocketAddr, key: PoolKey) -> Self {
        Conn {
            wire,
            peer,
            reused: false,
            key,
        }
    }
}

/// The longest wait between two looks at the idle connections.
const SWEEP: Duration = Duration::from_secs(1);

struct Idle {
    conn: Conn,
    since: Instant,
}

/// Idle connections by key. Cheap to clone (shared).
#[derive(Clone)]
pub struct Pool {
    idle: Arc<Mutex<HashMap<PoolKey, Vec<Idle>>>>,
    limits: PoolLimits,
}

impl Default for Pool {
    fn default() -> Self {
        Pool::with_limits(PoolLimits::default())
    }
}

impl Pool {
    /// An empty pool.
    pub fn new() -> Self {
        Pool::default()
    }

    /// An empty pool keeping at most `limits.max_idle` idle connections per origin, each for
    /// at most `limits.idle_timeout`. When a runtime is running, a background sweep closes
    /// connections that outlive the timeout even if their origin is never asked for again; it
    /// stops when the pool is dropped.
    pub fn with_limits(limits: PoolLimits) -> Self {
        let pool = Pool {
            idle: Arc::default(),
            limits,
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let idle = Arc::downgrade(&pool.idle);
            // Also the look for connections the origin closed while idle (no task watches
            // them), so at least once a second.
            let every = (limits.idle_timeout / 4).clamp(Duration::from_millis(10), SWEEP);
            runtime.spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let Some(idle) = idle.upgrade() else { return };
                    let now = Instant::now();
                    let mut idle = idle.lock().unwrap_or_else(|p| p.into_inner());
                    for list in idle.values_mut() {
                        list.retain_mut(|i| {
                            now - i.since <= limits.idle_timeout && i.conn.wire.is_open()
                        });
                    }
                    idle.retain(|_, list| !list.is_empty());
                }
            });
        }
        pool
    }

    /// The newest idle connection for `key` that is still open, marked as reused.
    pub fn checkout(&self, key: &PoolKey) -> Option<Conn> {
        let now = Instant::now();
        let mut idle = self.lock();
        let list = idle.get_mut(key)?;
        // Connections idle too long sit at the front (oldest first): drop them in one go.
        let fresh_from = list.partition_point(|i| now - i.since > self.limits.idle_timeout);
        list.drain(..fresh_from);
        while let Some(Idle { mut conn, .. }) = list.pop() {
            if conn.wire.is_open() {
                conn.reused = true;
                return Some(conn);
            }
        }
        None
    }

    /// Puts a connection whose exchange completed back for reuse.
    pub fn release(&self, mut conn: Conn) {
        if !conn.wire.is_reusable() {
            return;
        }
        conn.wire.idle();
        let mut idle = self.lock();
        match idle.get_mut(&conn.key) {
            Some(list) if list.len() >= self.limits.max_idle => {}
            Some(list) => list.push(Idle {
                conn,
                since: Instant::now(),
            }),
            None if self.limits.max_idle == 0 => {}
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
